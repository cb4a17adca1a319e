/*
 * main.c - arguments, start-up, signals, reload and exit codes.
 *
 * Wires conf, store, worker, reg, router and component together and gets
 * out of the way.  Exits before the event loop are the only place to die;
 * a reload that fails keeps what runs.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "component.h"
#include "conf.h"
#include "log.h"
#include "messages.h"
#include "metrics.h"
#include "monitor.h"
#include "reg.h"
#include "router.h"
#include "stats.h"
#include "store.h"
#include "text.h"
#include "version.h"
#include "worker.h"

#define EXIT_USAGE 64    /* EX_USAGE */
#define EXIT_SOFTWARE 70 /* EX_SOFTWARE */
#define EXIT_TEMPFAIL 75 /* EX_TEMPFAIL: database not reachable */
/* --check-config --connect, beside 75, COMPONENT_EXIT_REFUSED (77) and
 * CONF_EXIT_INVALID (78): EX_UNAVAILABLE, the XMPP server cannot be
 * reached; EX_PROTOCOL, the database is not ready for this registrar (its
 * schema's version, the role's rights). */
#define EXIT_UNAVAILABLE 69
#define EXIT_NOT_READY 76
#define MAX_RETIRED 64
/* Bounds on queued work: bcrypt jobs (each tens of ms of CPU; past this,
 * a request is answered 'try again later' at once; split in one share per
 * service, worker.h, so that one service's flood cannot refuse another's
 * password sets: 64 / N each, at least 1) and database
 * operations.  A request holds at most one database operation at a time
 * and the in-flight caps (limits, 1024 per service by default) bound the
 * requests: the store's bound is a backstop above them, not the queue
 * that decides (its operations go out 60 to a transaction). */
#define HASH_QUEUE_MAX 64
/* challenge images (image_cmd, up to its timeout each): two at a time,
 * at most this many waiting (challenge_image.h) */
#define IMAGE_QUEUE_MAX 16
#define DB_QUEUE_MAX 4096
/* Once stopping, how long the transaction in flight may still take before
 * it is abandoned (and every queued operation answered 'try again
 * later'). */
#define STOP_GRACE_S 2.0

static volatile sig_atomic_t stop_requested, reload_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    if (stop_requested)
        _exit(1); /* a second signal: leave at once */
    stop_requested = 1;
}

static void on_hup(int sig)
{
    (void)sig;
    reload_requested = 1;
}

/* Everything that runs, and what a reload left behind.  One store and
 * one pair of workers for the process; per service (in the order of the
 * boot configuration's chain, see conf.h) a reg and a router, and one
 * connection in comp. */
struct app {
    const char *path;
    bool verbose;
    struct conf *boot; /* the first chain: the component keeps using it */
    struct conf *conf; /* the current chain */
    size_t nservices;
    struct store *store;
    struct worker *worker; /* bcrypt */
    struct worker *imager; /* challenge images (image_cmd) */
    struct worker *db;     /* a schema migration start-up could not do */
    double stop_seen;      /* when the stop was first noticed; 0: not yet */
    struct reg_env env;
    struct reg **regs;       /* [nservices] */
    struct router **routers; /* [nservices] */
    /* counters (for the process's life), the metrics endpoint (NULL: off)
     * and the loop's reports (stats line, STATUS=) */
    struct stats *stats;
    struct metrics *metrics;
    struct monitor *monitor;
    struct messages *messages; /* to users: the state changes */
    struct component *comp;
    /* the regs replaced by a reload live until their requests are
     * answered, and their chain with them */
    struct {
        struct reg **regs; /* [nservices] */
        struct conf *conf;
    } retired[MAX_RETIRED];
    size_t nretired;
};

/* component_wakeup glue for the hashing worker. */
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

/* component_wakeup glue for the store. */
static int watch_store(void *ctx, short *events)
{
    struct app *a = ctx;

    return store_watch(a->store, events);
}

static void store_ready(void *ctx)
{
    struct app *a = ctx;

    store_on_ready(a->store);
}

static void store_after(void *ctx)
{
    struct app *a = ctx;

    store_turn(a->store);
}

/* While stopping, the component waits for the store to finish what it
 * holds, with the stream still open.  Past STOP_GRACE_S the store is
 * interrupted: a database that never answers cannot hold the stop, and
 * every request in hand or queued is still answered 'try again later'. */
static bool db_busy(void *ctx)
{
    struct app *a = ctx;

    if (stop_requested) {
        double now = monotonic_seconds();

        if (a->stop_seen == 0)
            a->stop_seen = now;
        else if (now - a->stop_seen > STOP_GRACE_S)
            store_interrupt(a->store);
    }
    return store_busy(a->store) || worker_pending(a->db) > 0;
}

/* component_wakeup glue for the messages to users: before the store's,
 * so that a claim goes out in the same turn. */
static void messages_after(void *ctx)
{
    struct app *a = ctx;

    messages_turn(a->messages);
}

/* The messages' services: conf's chain (in the order of the running
 * ones), each on its connection; the store tells them of its
 * notifications once one wants state changes (a reload that turns them
 * on: from the store's next connection, the poll meanwhile). */
static void messages_wire(struct app *a, struct conf *const *confs)
{
    for (size_t i = 0; i < a->nservices; i++)
        messages_set_service(a->messages, i, confs[i], component_ctx(a->comp),
                             component_sink(a->comp, i));
    if (messages_listening(a->messages))
        store_set_notify(a->store, messages_notified, a->messages);
}

/* component_wakeup glue for the monitor, and its STATUS= part. */
static void monitor_after(void *ctx)
{
    struct app *a = ctx;

    monitor_turn(a->monitor);
}

static void db_status(void *ctx, const char *text)
{
    struct app *a = ctx;

    if (a->comp)
        component_status_note(a->comp, text);
}

static void free_regs(struct reg **regs, size_t n)
{
    for (size_t i = 0; regs && i < n; i++)
        reg_free(regs[i]);
    free(regs);
}

/* Frees retired regs with nothing in flight (all of them when force). */
static void free_retired(struct app *a, bool force)
{
    size_t kept = 0;

    for (size_t i = 0; i < a->nretired; i++) {
        unsigned inflight = 0;

        for (size_t s = 0; s < a->nservices; s++)
            inflight += reg_inflight(a->retired[i].regs[s]);
        if (force || inflight == 0) {
            free_regs(a->retired[i].regs, a->nservices);
            if (a->retired[i].conf != a->boot)
                conf_free(a->retired[i].conf);
        } else {
            a->retired[kept++] = a->retired[i];
        }
    }
    a->nretired = kept;
}

/* The services of a reloaded chain, in the order of the running ones
 * (matched by JID; a lone service matches the lone running one whatever
 * its JID, which is then kept as a restart-only option).  False, with a
 * log line, when the reload adds or removes services. */
static bool match_services(const struct app *a, struct conf *next,
                           struct conf **out)
{
    const struct conf *s = a->boot;
    bool ok = conf_services(next) == a->nservices;

    if (ok && a->nservices == 1) {
        out[0] = next;
        return true;
    }
    for (size_t i = 0; ok && i < a->nservices; i++, s = s->next)
        ok = (out[i] = conf_service(next, s->component.jid)) != NULL;
    if (!ok) {
        char running[512] = "", wanted[512] = "";
        size_t len = 0;

        /* cut between characters when the lists are too long */
        for (s = a->boot; s && len + 1 < sizeof(running); s = s->next) {
            text_format(running + len, sizeof(running) - len, "%s%s",
                        s == a->boot ? "" : ", ", s->component.jid);
            len += strlen(running + len);
        }
        len = 0;
        for (s = next; s && len + 1 < sizeof(wanted); s = s->next) {
            text_format(wanted + len, sizeof(wanted) - len, "%s%s",
                        s == next ? "" : ", ", s->component.jid);
            len += strlen(wanted + len);
        }
        log_error("main",
                  "reload refused: %s names the services %s, the running "
                  "ones are %s: adding or removing a service needs a "
                  "restart; keeping the running configuration",
                  a->path, wanted, running);
    }
    return ok;
}

static void on_reload(void *arg)
{
    struct app *a = arg;
    struct conf *next, **matched = NULL;
    struct reg **regs = NULL;
    const struct conf *run = a->boot;

    log_info("main", "SIGHUP: reloading %s", a->path);
    free_retired(a, false);
    if (a->nretired == MAX_RETIRED) {
        log_error("main",
                  "reload refused: %d older configurations still "
                  "have requests in flight",
                  MAX_RETIRED);
        return;
    }
    next = conf_load_logged(a->path); /* problems: FILE:LINE: reason */
    if (!next) {
        log_error("main",
                  "reload of %s failed: keeping the running "
                  "configuration",
                  a->path);
        return;
    }
    matched = calloc(a->nservices, sizeof(*matched));
    regs = calloc(a->nservices, sizeof(*regs));
    if (!matched || !regs) {
        log_error("main", "reload failed: out of memory");
        goto fail;
    }
    if (!match_services(a, next, matched))
        goto fail;
    for (size_t i = 0; i < a->nservices; i++, run = run->next) {
        if (!conf_keep_restart_options(matched[i], run) ||
            !(regs[i] = reg_new(matched[i], a->store, &a->env))) {
            log_error("main", "reload failed: out of memory");
            goto fail;
        }
    }
    a->retired[a->nretired].regs = a->regs;
    a->retired[a->nretired].conf = a->conf;
    a->nretired++;
    a->regs = regs;
    a->conf = next;
    for (size_t i = 0; i < a->nservices; i++)
        router_set(a->routers[i], matched[i], regs[i]);
    messages_wire(a, matched);
    free(matched);
    log_set_level(a->verbose ? LOG_LEVEL_DEBUG : next->log_level);
    monitor_set_interval(a->monitor, next->log_stats_interval_s);
    free_retired(a, false);
    log_info("main", "reloaded %s", a->path);
    return;
fail:
    free_regs(regs, a->nservices);
    free(matched);
    conf_free(next);
}

static void usage(FILE *out)
{
    fprintf(
        out,
        "Usage: registrar --config FILE [options]\n"
        "       registrar admin [--config FILE] [--database CONNINFO] COMMAND "
        "...\n"
        "XEP-0077 In-Band Registration as an XEP-0114 component,\n"
        "with registrations kept in PostgreSQL.  'registrar admin --help'\n"
        "lists the administrators' commands (list, show, activate, disable,\n"
        "reenable, delete, export, forget, events, stats).\n"
        "\n"
        "  -c, --config FILE   configuration file (required, but with\n"
        "                      --migrate --database)\n"
        "      --check-config  validate FILE, print every problem as\n"
        "                      FILE:LINE: reason; exit 0, or %d\n"
        "      --connect       with --check-config: also connect to the\n"
        "                      database (schema, the role's rights) and\n"
        "                      to the XMPP server (the handshake, then\n"
        "                      leave); one line per check, ok or FAIL\n"
        "      --migrate       bring the database schema up to date, apply\n"
        "                      the database roles when the role may\n"
        "                      create roles, and exit\n"
        "      --database CONNINFO\n"
        "                      with --migrate: connect with CONNINFO (a\n"
        "                      role that may own the schema, e.g. the\n"
        "                      superuser) instead of FILE's conninfo\n"
        "  -v, --verbose       log at debug level\n"
        "      --version       print the version and exit\n"
        "  -h, --help          print this help and exit\n"
        "\n"
        "Signals: SIGHUP reloads FILE; SIGTERM/SIGINT finish the work in\n"
        "hand and stop (a second one stops at once).\n"
        "Exit codes: 0 stopped cleanly, 1 failure, 64 usage, 75 database\n"
        "unreachable (--migrate), %d refused by the server (wrong "
        "secret),\n%d invalid configuration.\n"
        "--check-config --connect: the first failed check's: %d database\n"
        "unreachable, %d database not ready (schema version, the role's\n"
        "rights), %d XMPP server unreachable, %d secret refused; 0 when\n"
        "all are ok (a warning included).\n",
        CONF_EXIT_INVALID, COMPONENT_EXIT_REFUSED, CONF_EXIT_INVALID,
        EXIT_TEMPFAIL, EXIT_NOT_READY, EXIT_UNAVAILABLE,
        COMPONENT_EXIT_REFUSED);
}

/* --check-config: FILE's problems on stderr as conf_load writes them (each
 * with its priority under journald: ExecStartPre=); NULL when invalid. */
static struct conf *check_load(const char *path)
{
    char *text = NULL, *line, *save = NULL;
    size_t len = 0;
    FILE *err = open_memstream(&text, &len);
    struct conf *c;

    if (!err)
        return conf_load(path, stderr);
    c = conf_load(path, err);
    fclose(err);
    for (line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save))
        log_plain(LOG_LEVEL_ERROR, line);
    free(text);
    return c;
}

/* One check's line on stdout: "NAME: ok: ...", "NAME: warn: ...",
 * "NAME: FAIL: ..." or "NAME: skipped: ...". */
static void check_line(const char *name, const char *status, const char *fmt,
                       ...) __attribute__((format(printf, 3, 4)));

static void check_line(const char *name, const char *status, const char *fmt,
                       ...)
{
    char text[1024];
    va_list ap;

    va_start(ap, fmt);
    text_vformat(text, sizeof(text), fmt, ap);
    va_end(ap);
    printf("%s: %s: %s\n", name, status, text);
    fflush(stdout);
}

/* rc keeps the first failure's code. */
static void failed(int *rc, int code)
{
    if (*rc == 0)
        *rc = code;
}

/* The database's checks of --check-config --connect. */
static void check_database(const struct conf *conf, int *rc)
{
    struct store *store = store_new(conf->database.conninfo);
    struct store_check *c = calloc(1, sizeof(*c));
    int want = store_schema_version();
    enum store_status st;

    if (!store || !c) {
        check_line("database", "FAIL", "out of memory");
        failed(rc, 1);
        goto out;
    }
    store_set_statement_timeout(store, conf->database.statement_timeout_s);
    st = store_check(store, c);
    if (st == STORE_UNAVAILABLE) {
        check_line("database", "FAIL", "cannot connect: %s", c->why);
        check_line("schema", "skipped", "no database");
        failed(rc, EXIT_TEMPFAIL);
        goto out;
    }
    check_line("database", "ok", "connected to %s", c->where);
    if (st != STORE_OK) {
        check_line("schema", "FAIL",
                   "cannot read what the role may do "
                   "(logged above)");
        failed(rc, EXIT_NOT_READY);
        goto out;
    }
    if (c->schema == want)
        check_line("schema", "ok", "version %d, this registrar's", want);
    else if (c->schema == 0)
        check_line("schema", "FAIL",
                   "no registrar schema in the role's search_path: run "
                   "registrar --migrate --database CONNINFO as the superuser "
                   "(doc/operating.md \"Database set-up and roles\")");
    else if (c->schema < 0)
        check_line("schema", "FAIL",
                   "cannot read its version: %s may not read "
                   "registrar_schema_migrations (see rights)",
                   c->user);
    else if (c->schema < want)
        check_line("schema", "FAIL",
                   "version %d, this registrar needs %d: run registrar "
                   "--migrate --database CONNINFO as the superuser",
                   c->schema, want);
    else
        check_line("schema", "FAIL",
                   "version %d, newer than this registrar's (%d): upgrade "
                   "registrar",
                   c->schema, want);
    if (c->schema != want)
        failed(rc, EXIT_NOT_READY);
    if (!c->rights_read) {
        check_line("rights", "skipped", "the schema is not this registrar's");
    } else if (c->missing[0]) {
        check_line("rights", "FAIL",
                   "%s lacks %s: GRANT registrar_service TO %s", c->user,
                   c->missing, c->user);
        failed(rc, EXIT_NOT_READY);
    } else {
        check_line("rights", "ok",
                   "%s may read registrations and run registrar's write "
                   "functions (registrar_service's rights)",
                   c->user);
    }
    if (c->owner)
        check_line("owner", "warn",
                   "%s owns registrar's tables, or their schema, or is a "
                   "superuser: it could rewrite the audit trail; give them "
                   "to registrar_owner (registrar --migrate --database "
                   "CONNINFO as the superuser) and log in as a role granted "
                   "only registrar_service",
                   c->user);
    else
        check_line("owner", "ok", "%s owns none of registrar's tables%s",
                   c->user, c->separated ? " (registrar_owner does)" : "");
out:
    free(c);
    store_close(store);
}

/* --check-config --connect, once FILE is valid: the database, then each
 * service's XMPP handshake.  The exit code (see usage). */
static int check_connect(const struct conf *conf)
{
    int rc = 0;

    check_database(conf, &rc);
    for (const struct conf *s = conf; s; s = s->next) {
        char name[320], why[512];
        enum component_probe p = component_handshake(s, why, sizeof(why));

        text_format(name, sizeof(name), "xmpp %s", s->component.jid);
        check_line(name, p == COMPONENT_PROBE_OK ? "ok" : "FAIL", "%s", why);
        if (p == COMPONENT_PROBE_REFUSED)
            failed(&rc, COMPONENT_EXIT_REFUSED);
        else if (p != COMPONENT_PROBE_OK)
            failed(&rc, EXIT_UNAVAILABLE);
    }
    return rc;
}

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    /* no SA_RESTART: a signal cuts poll() short */
    sa.sa_handler = on_stop_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

static int serve(struct app *a)
{
    struct component *comp = NULL;
    int rc = EXIT_SOFTWARE;
    bool made;

    /* bcrypt takes tens of ms: two threads keep it off the event loop;
     * the store runs on the loop without blocking, and a migration it
     * must still do gets a thread of its own */
    a->worker = worker_new(2, HASH_QUEUE_MAX);
    a->db = worker_new(1, 0);
    a->imager = worker_new(2, IMAGE_QUEUE_MAX);
    if (!a->worker || !a->db || !a->imager)
        goto out;
    worker_set_shares(a->imager, (unsigned)a->nservices);
    worker_set_shares(a->worker, (unsigned)a->nservices);
    store_attach(a->store, a->db, DB_QUEUE_MAX);
    if (!store_set_readers(a->store, a->conf->database.read_connections))
        goto out;
    a->env = (struct reg_env){.hasher = a->worker,
                              .imager = a->imager,
                              .now = monotonic_seconds,
                              .stats = a->stats};
    a->monitor = monitor_new(&(struct monitor_env){.stats = a->stats,
                                                   .store = a->store,
                                                   .services = a->boot,
                                                   .now = monotonic_seconds,
                                                   .db_status = db_status,
                                                   .arg = a});
    if (!a->monitor)
        goto out;
    monitor_set_interval(a->monitor, a->conf->log_stats_interval_s);
    if (a->boot->metrics.listen &&
        !(a->metrics = metrics_start(a->boot->metrics.listen, a->stats))) {
        rc = 1; /* logged: an endpoint asked for must be had */
        goto out;
    }
    monitor_read_states(a->monitor, a->metrics != NULL);
    struct component_wakeup wakeups[] = {
        {.fd = worker_fd(a->worker),
         .on_ready = drain,
         .busy = worker_busy,
         .arg = a->worker},
        {.fd = worker_fd(a->db), .on_ready = drain, .arg = a->db},
        {.fd = worker_fd(a->imager),
         .on_ready = drain,
         .busy = worker_busy,
         .arg = a->imager},
        {.fd = -1, .after = messages_after, .arg = a},
        {.fd = -1,
         .watch = watch_store,
         .on_ready = store_ready,
         .after = store_after,
         .busy = db_busy,
         .arg = a},
        {.fd = -1, .after = monitor_after, .arg = a},
    };
    struct component_control control = {.stop = &stop_requested,
                                        .reload = &reload_requested,
                                        .on_reload = on_reload,
                                        .arg = a};
    a->regs = calloc(a->nservices, sizeof(*a->regs));
    a->routers = calloc(a->nservices, sizeof(*a->routers));
    made = a->regs && a->routers;
    if (made) {
        size_t i = 0;
        for (struct conf *s = a->conf; made && s; s = s->next, i++) {
            a->regs[i] = reg_new(s, a->store, &a->env);
            a->routers[i] = a->regs[i] ? router_new(s, a->regs[i]) : NULL;
            made = a->routers[i] != NULL;
        }
    }
    made = made && (a->messages = messages_new(a->store, a->stats, a->nservices,
                                               monotonic_seconds));
    comp = made ? component_new(a->boot, a->routers, wakeups,
                                sizeof(wakeups) / sizeof(*wakeups))
                : NULL;
    if (comp) {
        struct conf **confs = calloc(a->nservices, sizeof(*confs));
        size_t i = 0;

        component_set_stats(comp, a->stats);
        a->comp = comp;
        for (struct conf *s = a->conf; confs && s; s = s->next)
            confs[i++] = s;
        if (confs) {
            messages_wire(a, confs);
            free(confs);
            rc = component_run(comp, &control);
        }
    }
out:
    /* Whatever is still in hand ends now.  The transaction in flight is
     * abandoned (a database that never answers cannot hold the stop) and
     * it and the queued operations answer 'try again later'; both workers
     * refuse new work, queued hashing is dropped and answers 'try again
     * later' too, and the last done()s answer and free their requests
     * while reg and comp still exist. */
    store_interrupt(a->store);
    store_turn(a->store); /* answers what it holds */
    if (a->db)
        worker_close(a->db);
    if (a->worker)
        worker_close(a->worker);
    if (a->imager)
        worker_close(a->imager); /* a command in hand runs to its timeout */
    if (a->worker)
        worker_drain(a->worker);
    if (a->imager)
        worker_drain(a->imager);
    if (a->db)
        worker_drain(a->db);
    store_turn(a->store); /* what the hashing's last done()s submitted */
    store_set_notify(a->store, NULL, NULL);
    messages_free(a->messages); /* the store answered its claims */
    a->messages = NULL;
    worker_free(a->worker);
    worker_free(a->imager);
    worker_free(a->db);
    a->comp = NULL;
    component_free(comp);
    metrics_stop(a->metrics); /* joined: nothing reads the stats now */
    monitor_free(a->monitor); /* the store answered its counts */
    for (size_t i = 0; a->routers && i < a->nservices; i++)
        router_free(a->routers[i]);
    free(a->routers);
    free_regs(a->regs, a->nservices);
    free_retired(a, true);
    return rc;
}

int main(int argc, char **argv)
{
    enum {
        OPT_CHECK = 256,
        OPT_MIGRATE,
        OPT_VERSION,
        OPT_DATABASE,
        OPT_CONNECT
    };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, OPT_CHECK},
        {"connect", no_argument, NULL, OPT_CONNECT},
        {"migrate", no_argument, NULL, OPT_MIGRATE},
        {"database", required_argument, NULL, OPT_DATABASE},
        {"verbose", no_argument, NULL, 'v'},
        {"version", no_argument, NULL, OPT_VERSION},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct app a = {0};
    bool check = false, connect = false, migrate_only = false;
    const char *database = NULL;
    enum store_status st;
    int opt, rc = 1;

    log_detect_journal(); /* each line with its priority under systemd */
    /* No core dump and no ptrace by other processes of our user: this
     * memory holds the component secret and passwords being hashed. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        log_warn("main", "cannot disable core dumps: %s", strerror(errno));
    /* registrar admin ...: the administrators' command line (admin.c) */
    if (argc > 1 && strcmp(argv[1], "admin") == 0)
        return admin_main(argc - 1, argv + 1);

    while ((opt = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            a.path = optarg;
            break;
        case OPT_CHECK:
            check = true;
            break;
        case OPT_CONNECT:
            connect = true;
            break;
        case OPT_MIGRATE:
            migrate_only = true;
            break;
        case OPT_DATABASE:
            database = optarg;
            break;
        case 'v':
            a.verbose = true;
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
    if (connect && !check) {
        fprintf(stderr, "registrar: --connect goes with --check-config\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    if (database && !migrate_only) {
        fprintf(stderr, "registrar: --database goes with --migrate\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    if (database && !a.path) {
        /* the owner's migration needs no configuration (nor its secret) */
        if (!(a.store = store_new(database)))
            return 1;
        st = store_migrate(a.store);
        store_close(a.store);
        return st == STORE_OK ? 0 : st == STORE_UNAVAILABLE ? EXIT_TEMPFAIL : 1;
    }
    if (!a.path) {
        fprintf(stderr, "registrar: --config FILE is required\n");
        usage(stderr);
        return EXIT_USAGE;
    }

    if (check) {
        /* what the checks log: warnings and errors (-v: everything) */
        log_set_level(a.verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN);
        if (!(a.conf = check_load(a.path)))
            return CONF_EXIT_INVALID;
        printf("%s: OK\n", a.path);
        fflush(stdout);
        rc = connect ? check_connect(a.conf) : 0;
        conf_free(a.conf);
        return rc;
    }
    a.boot = a.conf = conf_load_logged(a.path);
    if (!a.conf)
        return CONF_EXIT_INVALID;
    log_set_level(a.verbose ? LOG_LEVEL_DEBUG : a.conf->log_level);
    a.nservices = conf_services(a.conf);
    for (const struct conf *s = a.conf; s; s = s->next)
        log_info("main", "registrar %s starting for %s", REGISTRAR_VERSION,
                 s->component.jid);

    a.store = store_new(database ? database : a.conf->database.conninfo);
    if (!a.store || !(a.stats = stats_new(a.boot)))
        goto out;
    store_set_stats(a.store, a.stats);
    store_set_statement_timeout(a.store, a.conf->database.statement_timeout_s);
    st = migrate_only ? store_migrate(a.store) : store_prepare(a.store);
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
    rc = serve(&a);
    log_info("main", "registrar stopped (exit %d)", rc);
out:
    store_close(a.store);
    stats_free(a.stats); /* after the store, which counts into it */
    if (a.conf != a.boot)
        conf_free(a.conf);
    conf_free(a.boot);
    return rc;
}
