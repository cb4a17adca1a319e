/*
 * test_admin.c - `registrar admin` (admin.c) against the in-memory store,
 * in the process: the commands' output (tables and --json), exit codes,
 * the store's rows and the origin of each change (the actor os:USER), a
 * missing row, a ban lifted by reenable, an unreachable database, and
 * usage errors.  The real database: tests/store/test_admin.sh.
 */
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* cmocka.h needs the headers above (stdarg, stddef, setjmp) */
#include <cmocka.h>

#include "admin.h"
#include "fake_store.h"

#define SERVICE "accounts.example"

static char conf_path[] = "/tmp/registrar-admin-unit.XXXXXX";
static char out[65536];

/* admin_main on args (NULL-terminated, after "admin" and "-c FILE"), its
 * stdout in out; the exit code. */
static int run(const char *first, ...)
{
    char *argv[32] = {"admin", "-c", conf_path};
    int argc = 3, rc, saved;
    FILE *f = tmpfile();
    va_list ap;
    size_t n;

    va_start(ap, first);
    for (const char *a = first; a && argc < 31; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    assert_non_null(f);
    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    dup2(fileno(f), STDOUT_FILENO);
    rc = admin_main(argc, argv);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    rewind(f);
    n = fread(out, 1, sizeof(out) - 1, f);
    out[n] = '\0';
    fclose(f);
    return rc;
}

static void on_put(void *arg, enum store_status st, bool created,
                   const char *reason)
{
    (void)arg;
    (void)created;
    (void)reason;
    assert_int_equal(st, STORE_OK);
}

static void on_done(void *arg, enum store_status st, bool created)
{
    (void)arg;
    (void)created;
    assert_int_equal(st, STORE_OK);
}

static char actor[300];

static int setup(void **state)
{
    int fd = mkstemp(conf_path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

    (void)state;
    if (!f)
        return -1;
    fprintf(f,
            "component {\n jid = \"%s\"\n server = \"127.0.0.1\"\n"
            " port = 5347\n secret = \"s\"\n}\n"
            "database { conninfo = \"\" }\n",
            SERVICE);
    fclose(f);
    chmod(conf_path, 0600);
    admin_actor(actor, sizeof(actor));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(conf_path);
    return 0;
}

static int reset(void **state)
{
    struct form_data fields = {0};
    const char *jids[] = {"romeo@example.org", "juliet@example.org",
                          "nurse@example.org"};
    const enum store_state states[] = {STORE_STATE_PENDING, STORE_STATE_ACTIVE,
                                       STORE_STATE_PENDING};

    (void)state;
    fake_store_reset();
    form_data_add(&fields, "email", "x@example.org");
    for (int i = 0; i < 3; i++) {
        struct store_put p = {.service = SERVICE,
                              .jid = jids[i],
                              .username = i == 2 ? NULL : jids[i],
                              .fields = &fields,
                              .initial_state = states[i]};
        store_put(fake_store(), &p, on_put, NULL);
    }
    form_data_clear(&fields);
    return 0;
}

/* The actor: "os:" and the user (the login uid's when there is one). */
static void test_actor(void **state)
{
    FILE *f = fopen("/proc/self/loginuid", "r");
    unsigned long luid = 4294967295UL;
    struct passwd *pw;

    (void)state;
    if (f) {
        if (fscanf(f, "%lu", &luid) != 1)
            luid = 4294967295UL;
        fclose(f);
    }
    pw = getpwuid(luid != 4294967295UL ? (uid_t)luid : getuid());
    assert_non_null(pw);
    assert_int_equal(strncmp(actor, "os:", 3), 0);
    assert_string_equal(actor + 3, pw->pw_name);
    assert_null(strchr(actor, '@'));
}

static void test_list(void **state)
{
    (void)state;
    assert_int_equal(run("list", NULL), 0);
    /* JID order, the username column padded, the empty last cell not */
    assert_non_null(strstr(out, "JID                 STATE    USERNAME"));
    assert_non_null(strstr(out, "juliet@example.org  active   "
                                "juliet@example.org\n"));
    assert_true(strstr(out, "juliet@") < strstr(out, "nurse@"));
    assert_true(strstr(out, "nurse@") < strstr(out, "romeo@"));
    assert_non_null(strstr(out, "(3 registrations)\n"));

    assert_int_equal(run("list", "--state", "pending", "--json", NULL), 0);
    assert_non_null(strstr(out, "[{\"jid\": \"nurse@example.org\""));
    assert_non_null(strstr(out, ",\n {\"jid\": \"romeo@example.org\""));
    assert_null(strstr(out, "juliet"));
    assert_string_equal(out + strlen(out) - 3, "}]\n");

    assert_int_equal(run("list", "--state", "banned", NULL), 0);
    assert_non_null(strstr(out, "(0 bans)"));
}

static void test_show(void **state)
{
    (void)state;
    assert_int_equal(run("show", "Juliet@Example.org/desk", NULL), 0);
    assert_non_null(strstr(out, "jid              juliet@example.org\n"));
    assert_non_null(strstr(out, "fields           {\"email\": "));
    assert_int_equal(run("--json", "show", "juliet@example.org", NULL), 0);
    assert_non_null(strstr(out, "\"has_password\": false"));
    assert_int_equal(run("show", "nobody@example.org", NULL),
                     ADMIN_EXIT_NOT_FOUND);
    assert_string_equal(out, "");
}

static void test_changes(void **state)
{
    char want[800];

    (void)state;
    assert_int_equal(run("activate", "romeo@example.org", NULL), 0);
    snprintf(want, sizeof(want),
             "activated romeo@example.org with " SERVICE " (actor %s)\n",
             actor);
    assert_string_equal(out, want);
    assert_int_equal(fake_store_state(SERVICE, "romeo@example.org"),
                     STORE_STATE_ACTIVE);
    assert_string_equal(fake_store_last_actor(), actor);
    assert_string_equal(fake_store_last_iq_id(), "");
    assert_int_equal(run("activate", "romeo@example.org", NULL),
                     ADMIN_EXIT_WRONG_STATE);
    assert_int_equal(run("activate", "nobody@example.org", NULL),
                     ADMIN_EXIT_NOT_FOUND);

    assert_int_equal(
        run("--json", "disable", "nurse@example.org", "--reason", "why", NULL),
        0);
    snprintf(want, sizeof(want),
             "{\"command\": \"disable\", \"service\": \"" SERVICE
             "\", \"jid\": \"nurse@example.org\", \"result\": \"disabled\", "
             "\"actor\": \"%s\"}\n",
             actor);
    assert_string_equal(out, want);
    assert_int_equal(fake_store_state(SERVICE, "nurse@example.org"),
                     STORE_STATE_DISABLED);
    assert_int_equal(run("reenable", "juliet@example.org", NULL),
                     ADMIN_EXIT_WRONG_STATE);

    /* the user removes it while disabled: a ban, which reenable lifts */
    store_remove(fake_store(), SERVICE, "nurse@example.org", NULL, on_done,
                 NULL);
    assert_true(fake_store_banned(SERVICE, "nurse@example.org"));
    assert_int_equal(run("stats", "--json", NULL), 0);
    assert_non_null(strstr(out, "\"banned\": 1"));
    assert_int_equal(run("reenable", "nurse@example.org", NULL), 0);
    assert_non_null(strstr(out, "lifted the ban"));
    assert_false(fake_store_banned(SERVICE, "nurse@example.org"));
    assert_int_equal(run("reenable", "nurse@example.org", NULL),
                     ADMIN_EXIT_NOT_FOUND);

    assert_int_equal(run("delete", "juliet@example.org", NULL), 0);
    assert_int_equal(fake_store_state(SERVICE, "juliet@example.org"), -1);
    assert_false(fake_store_banned(SERVICE, "juliet@example.org"));
    assert_int_equal(run("delete", "juliet@example.org", NULL),
                     ADMIN_EXIT_NOT_FOUND);
}

static void test_export_forget_stats(void **state)
{
    (void)state;
    assert_int_equal(run("stats", NULL), 0);
    assert_non_null(strstr(out, "registrations   3\n"));
    assert_non_null(strstr(out, "pending         2\n"));
    assert_int_equal(run("export", "romeo@example.org", NULL), 0);
    assert_non_null(strstr(out, "\"jid\": \"romeo@example.org\""));
    assert_int_equal(run("forget", "romeo@example.org", NULL), 0);
    assert_string_equal(out, "forgot romeo@example.org in every service: "
                             "deleted 1 registration(s), 0 ban(s), 0 "
                             "event(s)\n");
    assert_int_equal(fake_store_state(SERVICE, "romeo@example.org"), -1);
    assert_int_equal(run("forget", "romeo@example.org", NULL),
                     ADMIN_EXIT_NOT_FOUND);
    assert_int_equal(run("export", "romeo@example.org", NULL),
                     ADMIN_EXIT_NOT_FOUND);
    assert_int_equal(run("events", "--json", NULL), 0);
    assert_string_equal(out, "[]\n");
}

static void test_unreachable_and_usage(void **state)
{
    (void)state;
    fake_store_set_down(true);
    assert_int_equal(run("list", NULL), ADMIN_EXIT_TEMPFAIL);
    fake_store_set_down(false);
    assert_int_equal(run(NULL), ADMIN_EXIT_USAGE);
    assert_int_equal(run("nonsense", NULL), ADMIN_EXIT_USAGE);
    assert_int_equal(run("show", NULL), ADMIN_EXIT_USAGE);
    assert_int_equal(run("show", "a@b", "c@d", NULL), ADMIN_EXIT_USAGE);
    assert_int_equal(run("stats", "--since", "3", NULL), ADMIN_EXIT_USAGE);
    assert_int_equal(run("events", "--since", "-1", NULL), ADMIN_EXIT_USAGE);
    assert_int_equal(run("events", "--limit", "0", NULL), ADMIN_EXIT_USAGE);
    assert_int_equal(run("disable", "a@b", "--reason", "a\nb", NULL),
                     ADMIN_EXIT_USAGE);
    assert_int_equal(run("--service", "x.example", "list", NULL),
                     ADMIN_EXIT_USAGE);
    assert_int_equal(run("list", "--state", "gone", NULL), ADMIN_EXIT_USAGE);
    assert_int_equal(fake_store_count(), 3); /* nothing changed */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_actor),
        cmocka_unit_test_setup(test_list, reset),
        cmocka_unit_test_setup(test_show, reset),
        cmocka_unit_test_setup(test_changes, reset),
        cmocka_unit_test_setup(test_export_forget_stats, reset),
        cmocka_unit_test_setup(test_unreachable_and_usage, reset),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
