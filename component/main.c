/*
 * main.c - arguments, start-up, signals and exit codes.
 *
 * Wires conf, store, reg, router and component together and gets out of
 * the way; exits before the event loop are the only place to die.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "component.h"
#include "conf.h"
#include "log.h"
#include "reg.h"
#include "router.h"
#include "store.h"
#include "version.h"
#include "worker.h"

#define EXIT_USAGE 64   /* EX_USAGE */
#define EXIT_SOFTWARE 70 /* EX_SOFTWARE */
#define EXIT_TEMPFAIL 75 /* EX_TEMPFAIL: database not reachable */

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    if (stop_requested)
        _exit(1); /* a second signal: leave at once */
    stop_requested = 1;
}

/* reg_env and component_wakeup glue for the hashing worker. */
static bool offload(void *ctx, void (*work)(void *), void (*done)(void *),
                    void *arg)
{
    return worker_submit(ctx, work, done, arg);
}

static void drain(void *ctx)
{
    worker_drain(ctx);
}

static bool worker_busy(void *ctx)
{
    return worker_pending(ctx) > 0;
}

static double monotonic_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: registrar --config FILE [options]\n"
            "XEP-0077 In-Band Registration as an XEP-0114 component,\n"
            "with registrations kept in PostgreSQL.\n"
            "\n"
            "  -c, --config FILE   configuration file (required)\n"
            "      --check-config  validate FILE, print every problem as\n"
            "                      FILE:LINE: reason; exit 0, or %d\n"
            "      --migrate       bring the database schema up to date and "
            "exit\n"
            "  -v, --verbose       log at debug level\n"
            "      --version       print the version and exit\n"
            "  -h, --help          print this help and exit\n"
            "\n"
            "Exit codes: 0 stopped cleanly, 1 failure, %d refused by the "
            "server\n(wrong secret), %d invalid configuration, %d usage.\n",
            CONF_EXIT_INVALID, 77, CONF_EXIT_INVALID, EXIT_USAGE);
}

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

int main(int argc, char **argv)
{
    enum { OPT_CHECK = 256, OPT_MIGRATE, OPT_VERSION };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, OPT_CHECK},
        {"migrate", no_argument, NULL, OPT_MIGRATE},
        {"verbose", no_argument, NULL, 'v'},
        {"version", no_argument, NULL, OPT_VERSION},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    bool check = false, migrate_only = false, verbose = false;
    struct conf *conf = NULL;
    struct store *store = NULL;
    struct reg *reg = NULL;
    struct router *router = NULL;
    struct component *comp = NULL;
    struct worker *worker = NULL;
    enum store_status st;
    int opt, rc = 1;

    while ((opt = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case OPT_CHECK:
            check = true;
            break;
        case OPT_MIGRATE:
            migrate_only = true;
            break;
        case 'v':
            verbose = true;
            break;
        case OPT_VERSION:
            printf("registrar %s (schema %d)\n", REGISTRAR_VERSION,
                   store_schema_version());
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "registrar: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!path) {
        fprintf(stderr, "registrar: --config FILE is required\n");
        usage(stderr);
        return EXIT_USAGE;
    }

    conf = conf_load(path, stderr);
    if (check) {
        if (conf)
            printf("%s: OK\n", path);
        conf_free(conf);
        return conf ? 0 : CONF_EXIT_INVALID;
    }
    if (!conf)
        return CONF_EXIT_INVALID;
    log_set_level(verbose ? LOG_DEBUG : conf->log_level);
    log_info("main", "registrar %s starting for %s", REGISTRAR_VERSION,
             conf->component.jid);

    store = store_new(conf->database.conninfo);
    if (!store)
        goto out;
    st = store_migrate(store);
    if (migrate_only) {
        rc = st == STORE_OK ? 0 : st == STORE_UNAVAILABLE ? EXIT_TEMPFAIL : 1;
        goto out;
    }
    if (st == STORE_ERROR)
        goto out; /* a broken or newer schema: never serve on it */
    if (st == STORE_UNAVAILABLE)
        log_warn("main", "database unavailable at start-up: registrations "
                         "will be answered 'try again later' until it is "
                         "back");

    install_signals();
    /* bcrypt takes tens of ms: two threads keep it off the event loop. */
    worker = worker_new(2);
    if (!worker) {
        rc = EXIT_SOFTWARE;
        goto out;
    }
    struct reg_env env = {.offload = offload,
                          .offload_ctx = worker,
                          .now = monotonic_seconds};
    struct component_wakeup wakeup = {.fd = worker_fd(worker),
                                      .on_ready = drain,
                                      .busy = worker_busy,
                                      .arg = worker};
    reg = reg_new(conf, store, &env);
    router = reg ? router_new(conf, reg) : NULL;
    comp = router ? component_new(conf, router, &wakeup) : NULL;
    if (!comp) {
        rc = EXIT_SOFTWARE;
        goto out;
    }
    rc = component_run(comp, &stop_requested);
    log_info("main", "registrar stopped (exit %d)", rc);
out:
    worker_free(worker); /* its last done()s still use reg and comp */
    component_free(comp);
    router_free(router);
    reg_free(reg);
    store_close(store);
    conf_free(conf);
    return rc;
}
