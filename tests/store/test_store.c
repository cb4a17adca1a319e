/*
 * test_store.c - store.c against a real PostgreSQL.
 *
 * Needs REGISTRAR_TEST_ADMIN_CONNINFO: a superuser connection to a
 * throwaway cluster (tests/harness/pg.sh).  Every run makes its own
 * database and drops it.  Walks the migration chain and compares the
 * catalog with expected_schema.txt; checks that the unique index decides
 * username conflicts (case and Unicode width), that passwords are only
 * stored as hashes pgcrypto can verify, notifications, and reconnects.
 */
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* cmocka.h needs the headers above (stdarg, stddef, setjmp) */
#include <cmocka.h>

#include "pgtest.h"
#include "secret.h"
#include "store.h"
#include "store_got.h"

static char dbname[64];
static char conninfo[1024];
static const char *admin;
static PGconn *db; /* the test's own connection to the test database */

/* First column of the first row of sql, as a new string. */
static char *scalar(const char *sql, int nparams, const char *const *params)
{
    PGresult *r = PQexecParams(db, sql, nparams, NULL, params, NULL, NULL, 0);
    char *out;

    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1)
        fail_msg("%s: %s", sql, PQerrorMessage(db));
    out = strdup(PQgetisnull(r, 0, 0) ? "(null)" : PQgetvalue(r, 0, 0));
    PQclear(r);
    return out;
}

#define assert_scalar(sql, want)                                               \
    do {                                                                       \
        char *got_ = scalar(sql, 0, NULL);                                     \
        assert_string_equal(got_, want);                                       \
        free(got_);                                                            \
    } while (0)

static int setup(void **state)
{
    (void)state;
    admin = getenv("REGISTRAR_TEST_ADMIN_CONNINFO");
    if (!admin) {
        fprintf(stderr, "REGISTRAR_TEST_ADMIN_CONNINFO is not set\n");
        return -1;
    }
    snprintf(dbname, sizeof(dbname), "registrar_test_%d", (int)getpid());
    pgtest_create_db(admin, dbname, "C", conninfo, sizeof(conninfo));
    db = pgtest_connect(conninfo);
    pgtest_exec(db, "CREATE EXTENSION IF NOT EXISTS pgcrypto");
    return 0;
}

static int teardown(void **state)
{

    (void)state;
    PQfinish(db);
    pgtest_drop_db(admin, dbname);
    return 0;
}

/* ---- callbacks that record what the store answered --------------------- */

static struct store *new_migrated(void)
{
    struct store *s = store_new(conninfo);

    assert_non_null(s);
    assert_int_equal(store_migrate(s), STORE_OK);
    pgtest_exec(db, "TRUNCATE registrations");
    return s;
}

/* "tags" is a list field: its values are stored as a JSON array. */
static const struct form_field_def test_fields[] = {
    {.var = "tags", .type = FORM_TEXT_MULTI},
};
static const struct form_def test_def = {.fields = test_fields, .nfields = 1};

/* Values from "var=value;var=value;" (no escapes; one var may repeat). */
static void data_of(struct form_data *d, const char *spec)
{
    char *copy = strdup(spec), *save = NULL;

    for (char *t = strtok_r(copy, ";", &save); t;
         t = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(t, '=');
        *eq = '\0';
        assert_true(form_data_add(d, t, eq + 1));
    }
    free(copy);
}

static enum store_status put(struct store *s, const char *jid,
                             const char *username, const char *fields,
                             const char *hash, bool *created)
{
    struct got g = {0};
    struct form_data d = {0};
    struct store_put p = {.service = "svc.example",
                          .jid = jid,
                          .username = username,
                          .def = &test_def,
                          .fields = &d,
                          .password_hash = hash};

    data_of(&d, fields);

    store_put(s, &p, on_put, &g);
    form_data_clear(&d);
    assert_int_equal(g.calls, 1);
    if (created)
        *created = g.created;
    return g.st;
}

/* ---- tests ------------------------------------------------------------- */

/* The catalog as text: what admins' SQL may rely on. */
static char *catalog(void)
{
    PGresult *r = PQexec(
        db, "SELECT string_agg(line, E'\\n' ORDER BY line) FROM ("
            " SELECT 'column ' || table_name || '.' || column_name || ' ' ||"
            "        data_type || CASE is_nullable WHEN 'NO' THEN ' not null'"
            "        ELSE '' END AS line"
            "   FROM information_schema.columns WHERE table_schema = 'public'"
            " UNION ALL SELECT 'index ' || indexname || ': ' || indexdef"
            "   FROM pg_indexes WHERE schemaname = 'public'"
            " UNION ALL SELECT 'constraint ' || conname || ': ' ||"
            "        pg_get_constraintdef(oid) FROM pg_constraint"
            "  WHERE connamespace = 'public'::regnamespace"
            " UNION ALL SELECT 'trigger ' || tgname || ' on ' ||"
            "        tgrelid::regclass FROM pg_trigger WHERE NOT tgisinternal"
            " UNION ALL SELECT 'migration ' || version || ' ' || name"
            "   FROM registrar_schema_migrations"
            /* functions of ours (not pgcrypto's) */
            " UNION ALL SELECT 'function ' || p.oid::regprocedure ||"
            "        ' returns ' || p.prorettype::regtype ||"
            "        CASE WHEN p.prosecdef THEN ' security definer'"
            "        ELSE '' END || coalesce(' ' || array_to_string("
            "        p.proconfig, ' '), '') FROM pg_proc p"
            "  WHERE p.pronamespace = 'public'::regnamespace"
            "    AND NOT EXISTS (SELECT 1 FROM pg_depend d"
            "                     WHERE d.objid = p.oid AND d.deptype = 'e')"
            /* what the owner (the migrating role) may do where it is
             * restricted: the event log is append-only */
            " UNION ALL SELECT 'owner may ' || string_agg(a.privilege_type,"
            "        ',' ORDER BY a.privilege_type) || ' on ' ||"
            "        c.oid::regclass FROM pg_class c,"
            "        aclexplode(c.relacl) a"
            "  WHERE c.relnamespace = 'public'::regnamespace"
            "    AND c.relacl IS NOT NULL AND a.grantee = c.relowner"
            "  GROUP BY c.oid"
            /* the roles of sql/roles.sql: who owns what, who may what */
            " UNION ALL SELECT 'owner ' || c.oid::regclass || ' '"
            "        || pg_get_userbyid(c.relowner) FROM pg_class c"
            "  WHERE c.relnamespace = 'public'::regnamespace"
            "    AND c.relkind IN ('r', 'v', 'S')"
            " UNION ALL SELECT 'owner ' || p.oid::regprocedure || ' '"
            "        || pg_get_userbyid(p.proowner) FROM pg_proc p"
            "  WHERE p.pronamespace = 'public'::regnamespace"
            "    AND NOT EXISTS (SELECT 1 FROM pg_depend d"
            "                     WHERE d.objid = p.oid AND d.deptype = 'e')"
            " UNION ALL SELECT 'grant ' || CASE a.grantee WHEN 0 THEN"
            "        'PUBLIC' ELSE pg_get_userbyid(a.grantee) END || ' '"
            "        || string_agg(a.privilege_type, ',' ORDER BY"
            "        a.privilege_type) || ' on ' || c.oid::regclass"
            "   FROM pg_class c, aclexplode(c.relacl) a"
            "  WHERE c.relnamespace = 'public'::regnamespace"
            "    AND a.grantee <> c.relowner"
            "  GROUP BY a.grantee, c.oid"
            " UNION ALL SELECT 'grant ' || CASE a.grantee WHEN 0 THEN"
            "        'PUBLIC' ELSE pg_get_userbyid(a.grantee) END || ' '"
            "        || string_agg(a.privilege_type, ',' ORDER BY"
            "        a.privilege_type) || ' on ' || c.oid::regclass || '.'"
            "        || att.attname"
            "   FROM pg_class c JOIN pg_attribute att ON att.attrelid = c.oid,"
            "        aclexplode(att.attacl) a"
            "  WHERE c.relnamespace = 'public'::regnamespace"
            "  GROUP BY a.grantee, c.oid, att.attname"
            " UNION ALL SELECT 'grant ' || CASE a.grantee WHEN 0 THEN"
            "        'PUBLIC' ELSE pg_get_userbyid(a.grantee) END || ' '"
            "        || a.privilege_type || ' on ' || p.oid::regprocedure"
            "   FROM pg_proc p, aclexplode(p.proacl) a"
            "  WHERE p.pronamespace = 'public'::regnamespace"
            "    AND a.grantee <> p.proowner"
            "    AND NOT EXISTS (SELECT 1 FROM pg_depend d"
            "                     WHERE d.objid = p.oid AND d.deptype = 'e')"
            ") t");
    char *out;

    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("catalog: %s", PQerrorMessage(db));
    out = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return out;
}

static void test_migration_chain(void **state)
{
    struct store *s = store_new(conninfo);
    char *got, *want = NULL, path[512];
    size_t len = 0;
    FILE *f;

    (void)state;
    assert_int_equal(store_migrate(s), STORE_OK);
    got = catalog();
    snprintf(path, sizeof(path), "%s/expected_schema.txt", TEST_DIR);
    if (getenv("REGISTRAR_UPDATE_EXPECTED")) {
        f = fopen(path, "w");
        fprintf(f, "%s\n", got);
        fclose(f);
    }
    f = fopen(path, "r");
    assert_non_null(f);
    assert_true(getdelim(&want, &len, '\0', f) > 0);
    fclose(f);
    want[strcspn(want, "\0")] = '\0';
    if (want[strlen(want) - 1] == '\n')
        want[strlen(want) - 1] = '\0';
    if (strcmp(got, want) != 0)
        fail_msg("catalog differs from %s (REGISTRAR_UPDATE_EXPECTED=1 "
                 "rewrites it):\n%s",
                 path, got);
    /* a second run changes nothing */
    assert_int_equal(store_migrate(s), STORE_OK);
    snprintf(path, sizeof(path), "%d", store_schema_version());
    assert_scalar("SELECT count(*) FROM registrar_schema_migrations", path);
    free(got);
    free(want);
    store_close(s);
}

static void test_newer_schema_refused(void **state)
{
    struct store *s = new_migrated();

    (void)state;
    pgtest_exec(db, "INSERT INTO registrar_schema_migrations (version, name)"
                    " VALUES (999, '999_future.sql')");
    assert_int_equal(store_migrate(s), STORE_ERROR);
    pgtest_exec(db, "DELETE FROM registrar_schema_migrations"
                    " WHERE version = 999");
    store_close(s);
}

static void test_put_get_remove(void **state)
{
    struct store *s = new_migrated();
    struct got g = {0};
    bool created;

    (void)state;
    assert_int_equal(put(s, "juliet@capulet.example", NULL,
                         "first=Ju\"li\\et\n\x01;tags=a;tags=b;x=;", NULL,
                         &created),
                     STORE_OK);
    assert_true(created);
    store_get(s, "svc.example", "juliet@capulet.example", NULL, on_get, &g);
    assert_int_equal(g.st, STORE_OK);
    assert_string_equal(g.username, "(null)");
    /* quotes, backslashes, newlines and C0 controls survive the JSON */
    assert_string_equal(g.fields, "first=Ju\"li\\et\n\x01;tags=a;tags=b;x=;");
    assert_scalar("SELECT jsonb_typeof(fields->'tags') || ' ' ||"
                  "       jsonb_typeof(fields->'x')"
                  "  FROM registrations",
                  "array string");
    /* an update: same row, created_at kept, updated_at moved */
    assert_int_equal(
        put(s, "juliet@capulet.example", NULL, "first=Jules;", NULL, &created),
        STORE_OK);
    assert_false(created);
    assert_scalar("SELECT count(*) || ' ' || (updated_at > created_at)"
                  "  FROM registrations GROUP BY updated_at, created_at",
                  "1 true");
    /* other service, same JID: not found */
    store_get(s, "other.example", "juliet@capulet.example", NULL, on_get, &g);
    assert_int_equal(g.st, STORE_NOT_FOUND);
    g.calls = 0;
    store_remove(s, "svc.example", "juliet@capulet.example", NULL, on_done, &g);
    assert_int_equal(g.st, STORE_OK);
    store_remove(s, "svc.example", "juliet@capulet.example", NULL, on_done, &g);
    assert_int_equal(g.st, STORE_NOT_FOUND);
    assert_int_equal(g.calls, 2);
    store_close(s);
}

static void test_username_conflicts(void **state)
{
    struct store *s = new_migrated();

    (void)state;
    assert_int_equal(put(s, "bill@a.example", "bill", "", NULL, NULL),
                     STORE_OK);
    assert_int_equal(put(s, "other@a.example", "Bill", "", NULL, NULL),
                     STORE_CONFLICT);
    /* fullwidth "ｂｉｌｌ" normalises (NFKC) to "bill" */
    assert_int_equal(put(s, "other@a.example",
                         "\xef\xbd\x82\xef\xbd\x89\xef\xbd\x8c\xef\xbd\x8c", "",
                         NULL, NULL),
                     STORE_CONFLICT);
    /* the owner may send it again (idempotent), others may pick another */
    assert_int_equal(put(s, "bill@a.example", "BILL", "", NULL, NULL),
                     STORE_OK);
    assert_int_equal(put(s, "other@a.example", "bill2", "", NULL, NULL),
                     STORE_OK);
    assert_scalar("SELECT string_agg(username, ',' ORDER BY username)"
                  "  FROM registrations",
                  "BILL,bill2");
    store_close(s);
}

static void test_password_hash(void **state)
{
    struct store *s = new_migrated();
    char hash[SECRET_HASH_MAX];
    struct got g = {0};
    const char *params[] = {"Calliope"};
    char *ok;

    (void)state;
    assert_true(secret_hash("Calliope", 4, hash));
    assert_int_equal(put(s, "bill@a.example", "bill", "", hash, NULL),
                     STORE_OK);
    /* a third party verifies it in SQL alone */
    ok = scalar("SELECT password_hash = crypt($1, password_hash)"
                "  FROM registrations WHERE username = 'bill'",
                1, params);
    assert_string_equal(ok, "t");
    free(ok);
    /* an update without a password keeps the hash */
    assert_int_equal(put(s, "bill@a.example", "bill", "e=x;", NULL, NULL),
                     STORE_OK);
    store_get(s, "svc.example", "bill@a.example", NULL, on_get, &g);
    assert_string_equal(g.hash, hash);
    /* clear text is refused by the table itself (a bug of ours, not the
     * requester's: an error, not "invalid") */
    assert_int_equal(put(s, "eve@a.example", "eve", "", "Calliope", NULL),
                     STORE_ERROR);
    store_close(s);
}

static void test_notify(void **state)
{
    struct store *s = new_migrated();
    PGconn *l = pgtest_connect(conninfo);
    PGnotify *n;
    int tries = 0;
    char *id, want[256];

    (void)state;
    pgtest_exec(l, "LISTEN registrar");
    assert_int_equal(put(s, "juliet@capulet.example", NULL, "", NULL, NULL),
                     STORE_OK);
    while (!(n = PQnotifies(l)) && tries++ < 50) {
        usleep(20000);
        PQconsumeInput(l);
    }
    assert_non_null(n);
    assert_string_equal(n->relname, "registrar");
    /* sql/010: one per commit, ids and counts only (any role may
     * LISTEN: the rows are read with the reader's rights) */
    id = scalar("SELECT max(id) FROM registration_events", 0, NULL);
    snprintf(want, sizeof(want), "{\"id\": %s, \"count\": 1}", id);
    assert_string_equal(n->extra, want);
    free(id);
    PQfreemem(n);
    PQfinish(l);
    store_close(s);
}

static void test_reconnects(void **state)
{
    struct store *s = new_migrated();
    struct got g = {0};

    (void)state;
    assert_int_equal(put(s, "a@a.example", NULL, "", NULL, NULL), STORE_OK);
    /* the server drops our session: the next call reconnects by itself */
    pgtest_exec(db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = 'registrar'"
                    "   AND datname = current_database()");
    store_get(s, "svc.example", "a@a.example", NULL, on_get, &g);
    assert_int_equal(g.st, STORE_OK);
    store_close(s);

    /* nobody listening: unavailable, quickly */
    s = store_new("host=127.0.0.1 port=1 dbname=x connect_timeout=2");
    store_get(s, "svc.example", "a@a.example", NULL, on_get, &g);
    assert_int_equal(g.st, STORE_UNAVAILABLE);
    assert_int_equal(store_migrate(s), STORE_UNAVAILABLE);
    store_close(s);
}

/* ---- bounded waits and back-off ----------------------------------------- */

static double mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A loopback port whose kernel accepts TCP connections (the backlog) and
 * nobody ever speaks: a wedged or black-holed server.  Caller closes fd. */
static int silent_server(int *fd)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(*fd >= 0);
    assert_int_equal(bind(*fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(*fd, 64), 0);
    assert_int_equal(getsockname(*fd, (struct sockaddr *)&a, &len), 0);
    return ntohs(a.sin_port);
}

/* The connect timeout bounds a server that accepts and never answers;
 * after that failure, operations answer at once without an attempt until
 * the back-off delay has passed; then one attempt again. */
static void test_backoff_fails_fast(void **state)
{
    char ci[256];
    int fd, port = silent_server(&fd);
    struct got g = {0};
    struct store *s;
    double t0, first, during, later;

    (void)state;
    snprintf(ci, sizeof(ci),
             "host=127.0.0.1 port=%d dbname=x connect_timeout=2 "
             "sslmode=disable gssencmode=disable",
             port);
    s = store_new(ci);
    t0 = mono();
    store_get(s, "svc.example", "a@a.example", NULL, on_get, &g);
    first = mono() - t0;
    assert_int_equal(g.st, STORE_UNAVAILABLE);
    assert_true(first >= 1.8 && first < 3.0);
    /* backing off: ten answers without a connect attempt */
    t0 = mono();
    for (int i = 0; i < 10; i++) {
        g.st = STORE_OK;
        store_get(s, "svc.example", "a@a.example", NULL, on_get, &g);
        assert_int_equal(g.st, STORE_UNAVAILABLE);
    }
    during = mono() - t0;
    assert_true(during < 0.1);
    /* the first delay is at most 250 ms: then a real attempt again */
    usleep(300 * 1000);
    t0 = mono();
    store_get(s, "svc.example", "a@a.example", NULL, on_get, &g);
    later = mono() - t0;
    assert_int_equal(g.st, STORE_UNAVAILABLE);
    assert_true(later >= 1.8);
    fprintf(stderr,
            "silent server: first attempt %.2f s, 10 answers while "
            "backing off %.4f s, next attempt %.2f s\n",
            first, during, later);
    store_close(s);
    close(fd);
}

static void *interrupt_later(void *arg)
{
    usleep(300 * 1000);
    store_interrupt(arg);
    return NULL;
}

/* store_interrupt cuts a connect in hand short, and every later one. */
static void test_interrupt(void **state)
{
    char ci[256];
    int fd, port = silent_server(&fd);
    struct store *s;
    pthread_t th;
    double t0, took;

    (void)state;
    snprintf(ci, sizeof(ci),
             "host=127.0.0.1 port=%d dbname=x connect_timeout=30 "
             "sslmode=disable gssencmode=disable",
             port);
    s = store_new(ci);
    assert_int_equal(pthread_create(&th, NULL, interrupt_later, s), 0);
    t0 = mono();
    assert_int_equal(store_connect(s), STORE_UNAVAILABLE);
    took = mono() - t0;
    pthread_join(th, NULL);
    assert_true(took < 2.0);
    t0 = mono();
    assert_int_equal(store_connect(s), STORE_UNAVAILABLE);
    assert_true(mono() - t0 < 0.1);
    fprintf(stderr, "connect interrupted after %.2f s\n", took);
    store_close(s);
    close(fd);
}

/* A server that stops answering mid-statement (its backend SIGSTOPped):
 * the statement is given up at the client deadline, not waited for. */
static void test_statement_deadline(void **state)
{
    struct store *s = new_migrated();
    struct got g = {0};
    char *pid;
    double t0, took;

    (void)state;
    store_get(s, "svc.example", "a@a.example", NULL, on_get, &g);
    assert_int_equal(g.st, STORE_NOT_FOUND); /* connected */
    pid = scalar("SELECT pid FROM pg_stat_activity"
                 " WHERE application_name = 'registrar'"
                 "   AND datname = current_database()",
                 0, NULL);
    if (kill(atoi(pid), SIGSTOP) != 0) {
        free(pid);
        store_close(s);
        skip(); /* not allowed to signal the server's processes */
    }
    t0 = mono();
    store_get(s, "svc.example", "a@a.example", NULL, on_get, &g);
    took = mono() - t0;
    kill(atoi(pid), SIGCONT);
    free(pid);
    assert_int_equal(g.st, STORE_UNAVAILABLE);
    assert_true(took >= 6.5 && took < 8.5);
    /* backing off now: answered at once */
    t0 = mono();
    store_get(s, "svc.example", "a@a.example", NULL, on_get, &g);
    assert_int_equal(g.st, STORE_UNAVAILABLE);
    assert_true(mono() - t0 < 0.1);
    /* and back once the delay has passed */
    usleep(300 * 1000);
    store_get(s, "svc.example", "a@a.example", NULL, on_get, &g);
    assert_int_equal(g.st, STORE_NOT_FOUND);
    fprintf(stderr, "stopped backend: given up after %.2f s\n", took);
    store_close(s);

    /* database.statement_timeout_s = 1: the session's statement_timeout,
     * and the client's deadline 2 s above it */
    s = new_migrated();
    store_set_statement_timeout(s, 1);
    store_get(s, "svc.example", "a@a.example", NULL, on_get, &g);
    assert_int_equal(g.st, STORE_NOT_FOUND);
    pid = scalar("SELECT pid FROM pg_stat_activity"
                 " WHERE application_name = 'registrar'"
                 "   AND datname = current_database()",
                 0, NULL);
    kill(atoi(pid), SIGSTOP);
    t0 = mono();
    store_get(s, "svc.example", "a@a.example", NULL, on_get, &g);
    took = mono() - t0;
    kill(atoi(pid), SIGCONT);
    free(pid);
    assert_int_equal(g.st, STORE_UNAVAILABLE);
    assert_true(took >= 2.5 && took < 4.5);
    fprintf(stderr, "statement_timeout_s = 1: given up after %.2f s\n", took);
    store_close(s);
}

/* A multi-host conninfo whose first host accepts and never answers: the
 * connect deadline applies per host, so the second is reached, by the
 * blocking migration and by the store's own connection alike. */
static void test_multihost_skips_silent_host(void **state)
{
    PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
    const char *port = NULL;
    char ci[1400];
    int fd, silent = silent_server(&fd);
    struct got g = {0};
    struct store *s;
    double t0, took;

    (void)state;
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, "port") == 0 && o->val)
            port = o->val;
    assert_non_null(port);
    snprintf(ci, sizeof(ci),
             "%s host=127.0.0.1,127.0.0.1 port=%d,%s connect_timeout=2",
             conninfo, silent, port);
    PQconninfoFree(opts);
    s = store_new(ci);
    t0 = mono();
    assert_int_equal(store_migrate(s), STORE_OK);
    took = mono() - t0;
    assert_true(took >= 1.9 && took < 4);
    t0 = mono();
    store_get(s, "svc.example", "nobody@a.example", NULL, on_get, &g);
    assert_int_equal(g.st, STORE_NOT_FOUND);
    fprintf(stderr,
            "first host silent: migrated after %.2f s, answered after "
            "%.2f s\n",
            took, mono() - t0);
    store_close(s);
    close(fd);
}

/* ---- attached: transactions shared on a loop ---------------------------- */

/* Turns the loop's side of an attached store until every operation is
 * answered (at most 10 s). */
static void run_loop(struct store *s)
{
    double until = mono() + 10;

    store_turn(s);
    while (store_busy(s) && mono() < until) {
        short ev = 0;
        int fd = store_watch(s, &ev);
        struct pollfd p = {.fd = fd, .events = ev};

        if (poll(&p, fd >= 0 ? 1 : 0, 50) > 0)
            store_on_ready(s);
        store_turn(s);
    }
    assert_false(store_busy(s));
}

/* Notifications that arrived on l within 300 ms. */
static int count_notifications(PGconn *l)
{
    PGnotify *n;
    int count = 0;

    for (int i = 0; i < 15; i++) {
        usleep(20000);
        PQconsumeInput(l);
        while ((n = PQnotifies(l))) {
            count++;
            PQfreemem(n);
        }
    }
    return count;
}

#define NBATCH 40

/* Operations queued together go out as one transaction: one NOTIFY for
 * all of them, nobody answered before the commit; a username conflict, a
 * refused username and a statement error of one fail no other; an update
 * without secrets keeps the private values on file. */
static void test_attached_batches(void **state)
{
    struct store *s = new_migrated();
    PGconn *l = pgtest_connect(conninfo);
    static const struct form_field_def pin_fields[] = {
        {.var = "pin", .type = FORM_TEXT_PRIVATE},
        {.var = "tags", .type = FORM_TEXT_MULTI},
    };
    static const struct form_def pin_def = {.fields = pin_fields, .nfields = 2};
    struct got g[NBATCH + 4] = {{0}};
    char jid[NBATCH + 4][64], user[NBATCH + 4][32];
    struct form_data pin = {0}, none = {0};
    char *count;

    (void)state;
    assert_true(form_data_add(&pin, "pin", "$2b$04$hashofthepin"));
    pgtest_exec(l, "LISTEN registrar");
    store_attach(s, NULL, 0);
    for (int i = 0; i < NBATCH + 4; i++) {
        struct store_put p = {.service = "svc.example",
                              .jid = jid[i],
                              .username = user[i],
                              .def = &pin_def,
                              .fields = i == 0 ? &pin : &none};

        snprintf(jid[i], sizeof(jid[i]), "user%d@a.example", i);
        snprintf(user[i], sizeof(user[i]), "user%d", i);
        if (i == NBATCH) /* another's username */
            snprintf(user[i], sizeof(user[i]), "USER1");
        if (i == NBATCH + 1) /* the username rule refuses it */
            snprintf(user[i], sizeof(user[i]), " padded");
        if (i >= NBATCH + 2) /* the table refuses clear text: an error,
                              * twice: each its own, the others resent */
            p.password_hash = "clear text";
        store_put(s, &p, on_put, &g[i]);
        assert_int_equal(g[i].calls, 0); /* queued, not answered */
    }
    run_loop(s);
    for (int i = 0; i < NBATCH; i++) {
        assert_int_equal(g[i].calls, 1);
        assert_int_equal(g[i].st, STORE_OK);
        assert_true(g[i].created);
    }
    assert_int_equal(g[NBATCH].st, STORE_CONFLICT);
    assert_int_equal(g[NBATCH + 1].st, STORE_INVALID);
    assert_int_equal(g[NBATCH + 2].st, STORE_ERROR);
    assert_int_equal(g[NBATCH + 3].st, STORE_ERROR);
    for (int i = 0; i < NBATCH + 4; i++)
        assert_int_equal(g[i].calls, 1); /* each answered once */
    count = scalar("SELECT count(*) FROM registrations", 0, NULL);
    assert_string_equal(count, "40");
    free(count);
    /* each statement error sent the others again: three transactions
     * (BATCH_MAX 60 holds all 44), one committed, one notification */
    int n = count_notifications(l);
    fprintf(stderr, "%d registrations queued together: %d notification(s)\n",
            NBATCH, n);
    assert_true(n >= 1 && n <= 2);

    /* an update without the pin keeps the pin's hash on file */
    struct got u = {0}, r = {0};
    struct form_data tags = {0};
    assert_true(form_data_add(&tags, "tags", "x"));
    struct store_put up = {.service = "svc.example",
                           .jid = jid[0],
                           .username = user[0],
                           .def = &pin_def,
                           .fields = &tags};
    store_put(s, &up, on_put, &u);
    store_get(s, "svc.example", jid[0], NULL, on_get, &r);
    run_loop(s);
    assert_int_equal(u.st, STORE_OK);
    assert_false(u.created);
    assert_int_equal(r.st, STORE_OK);
    assert_string_equal(r.fields, "pin=$2b$04$hashofthepin;tags=x;");
    form_data_clear(&tags);
    form_data_clear(&pin);
    PQfinish(l);
    store_close(s);
}

/* A full queue answers at once; store_interrupt answers everything. */
/* Cuts the store's connection where a transaction was committed by the
 * server and its answer not read: the socket is replaced by one whose
 * peer is gone (the server sees the connection close; the store reads
 * nothing more of it).  Waits first until check (SQL on the test's own
 * connection) says "t": the commit is visible. */
static void cut_after_commit(struct store *s, const char *check)
{
    short ev = 0;
    int fd, sv[2];
    char *v = NULL;

    for (int i = 0; i < 200; i++) {
        free(v);
        v = scalar(check, 0, NULL);
        if (strcmp(v, "t") == 0)
            break;
        usleep(10000);
    }
    assert_string_equal(v, "t");
    free(v);
    fd = store_watch(s, &ev);
    assert_true(fd >= 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    close(sv[1]);
    assert_true(dup2(sv[0], fd) == fd);
    close(sv[0]);
}

/* A write whose COMMIT the server answered but the store never read is
 * sent again on a new connection: its answer is still the first
 * attempt's, which is what was committed (a registration "created", a
 * removal done, a re-enable done), not the second attempt's ("updated",
 * "not registered", "in another state"). */
static void test_resend_after_unread_commit(void **state)
{
    struct store *s = new_migrated();
    struct got g = {0}, r = {0};
    struct form_data d = {0};
    struct store_put p = {.service = "svc.example",
                          .jid = "doubt@a.example",
                          .username = "doubt",
                          .fields = &d,
                          .origin = {.iq_id = "reg-1"}};
    enum store_state disabled = STORE_STATE_DISABLED;
    char *n;

    (void)state;
    store_attach(s, NULL, 0);
    /* connected and prepared */
    store_get(s, "svc.example", "nobody@a.example", NULL, on_get, &r);
    run_loop(s);
    assert_int_equal(r.st, STORE_NOT_FOUND);

    store_put(s, &p, on_put, &g);
    store_turn(s); /* sent */
    cut_after_commit(s, "SELECT count(*) = 1 FROM registrations"
                        " WHERE jid = 'doubt@a.example'");
    run_loop(s);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.st, STORE_OK);
    assert_true(g.created); /* not "updated": it was created */
    assert_scalar("SELECT count(*) FROM registration_events"
                  " WHERE jid = 'doubt@a.example' AND event = 'registered'",
                  "1");

    /* an admin's disable, then its re-enable cut the same way */
    memset(&g, 0, sizeof(g));
    store_set_state(
        s, "svc.example", "doubt@a.example", STORE_STATE_DISABLED, NULL,
        &(struct store_origin){.iq_id = "cmd-1", .actor = "adm@a.example"},
        on_done, &g);
    run_loop(s);
    assert_int_equal(g.st, STORE_OK);
    memset(&g, 0, sizeof(g));
    store_set_state(
        s, "svc.example", "doubt@a.example", STORE_STATE_ACTIVE, &disabled,
        &(struct store_origin){.iq_id = "cmd-2", .actor = "adm@a.example"},
        on_done, &g);
    store_turn(s);
    cut_after_commit(s, "SELECT state = 'active' FROM registrations"
                        " WHERE jid = 'doubt@a.example'");
    run_loop(s);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.st, STORE_OK); /* not "in another state" */

    /* the user's removal */
    memset(&g, 0, sizeof(g));
    store_remove(s, "svc.example", "doubt@a.example",
                 &(struct store_origin){.iq_id = "rm-1"}, on_done, &g);
    store_turn(s);
    cut_after_commit(s, "SELECT count(*) = 0 FROM registrations"
                        " WHERE jid = 'doubt@a.example'");
    run_loop(s);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.st, STORE_OK); /* not "not registered" */
    n = scalar("SELECT count(*) FROM registration_events"
               " WHERE jid = 'doubt@a.example' AND event = 'removed'",
               0, NULL);
    assert_string_equal(n, "1");
    free(n);
    printf("three writes cut after their commit: answered as committed "
           "(created, re-enabled, removed)\n");
    store_close(s);
}

static void test_attached_bounds(void **state)
{
    struct store *s = new_migrated();
    struct got g[6] = {{0}};

    (void)state;
    store_attach(s, NULL, 4);
    for (int i = 0; i < 6; i++)
        store_get(s, "svc.example", "a@a.example", NULL, on_get, &g[i]);
    assert_int_equal(g[4].calls, 1);
    assert_int_equal(g[4].st, STORE_UNAVAILABLE);
    assert_int_equal(g[5].st, STORE_UNAVAILABLE);
    assert_int_equal(g[0].calls, 0);
    store_turn(s); /* sent */
    store_interrupt(s);
    store_turn(s);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(g[i].calls, 1);
        assert_int_equal(g[i].st, STORE_UNAVAILABLE);
    }
    assert_false(store_busy(s));
    /* stopping: what a callback submits now is answered at once */
    struct got late = {0};
    store_get(s, "svc.example", "a@a.example", NULL, on_get, &late);
    assert_int_equal(late.calls, 1);
    assert_int_equal(late.st, STORE_UNAVAILABLE);
    assert_false(store_busy(s));
    store_close(s);
}

/* ---- no hash in what admins read (sql/004) ------------------------------ */

/* text with every `from` replaced by `to`; caller frees. */
static char *subst(const char *text, const char *from, const char *to)
{
    size_t n = 0, lf = strlen(from), lt = strlen(to);
    const char *p;
    char *out, *o;

    for (p = text; (p = strstr(p, from)); p += lf)
        n++;
    out = o = malloc(strlen(text) + n * lt + 1);
    assert_non_null(out);
    for (p = text; *p;) {
        if (strncmp(p, from, lf) == 0) {
            memcpy(o, to, lt);
            o += lt;
            p += lf;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

/* sql/queries/NAME without its psql meta-commands (lines starting with a
 * backslash); caller frees. */
static char *query_file(const char *name)
{
    char path[512], line[1024];
    size_t len = 0;
    char *out = NULL;
    FILE *f, *mem = open_memstream(&out, &len);

    snprintf(path, sizeof(path), "%s/../../sql/queries/%s", TEST_DIR, name);
    f = fopen(path, "r");
    if (!f)
        fail_msg("%s: cannot open", path);
    while (fgets(line, sizeof(line), f))
        if (line[0] != '\\')
            fputs(line, mem);
    fclose(f);
    fclose(mem);
    return out;
}

/* A text-private PIN is stored hashed; the admin view and the CSV export
 * show that it is set (true), never the hash, and no other hash either. */
static void test_admin_view_no_hashes(void **state)
{
    struct store *s = new_migrated();
    char *file, *sql, *csv = NULL, *buf;
    size_t len = 0;
    FILE *mem;
    PGresult *r;
    int n;

    (void)state;
    pgtest_exec(db, "INSERT INTO registrations (service, jid, username, fields,"
                    "  password_hash) VALUES ('svc.example', 'pin@a.example',"
                    "  'pin', jsonb_build_object('pin', crypt('1234',"
                    "  gen_salt('bf', 4)), 'email', 'p@a.example', 'codes',"
                    "  jsonb_build_array('x', crypt('99', gen_salt('bf', 4)))),"
                    "  crypt('Calliope', gen_salt('bf', 4)))");
    /* the table has the hashes: the view must not */
    assert_scalar("SELECT count(*) FROM registrations"
                  " WHERE registrations::text LIKE '%$2a$%'",
                  "1");
    assert_scalar("SELECT count(*) FROM registrations_admin"
                  " WHERE registrations_admin::text LIKE '%$2%'",
                  "0");
    assert_scalar("SELECT fields::text FROM registrations_admin",
                  "{\"pin\": true, \"codes\": [\"x\", true], "
                  "\"email\": \"p@a.example\"}");
    assert_scalar("SELECT has_password FROM registrations_admin", "t");

    file = query_file("export_csv.sql");
    sql = subst(file, ":'service'", "'svc.example'");
    r = PQexec(db, sql);
    assert_int_equal(PQresultStatus(r), PGRES_COPY_OUT);
    PQclear(r);
    mem = open_memstream(&csv, &len);
    while ((n = PQgetCopyData(db, &buf, 0)) > 0) {
        fwrite(buf, 1, (size_t)n, mem);
        PQfreemem(buf);
    }
    fclose(mem);
    while ((r = PQgetResult(db)))
        PQclear(r);
    assert_non_null(strstr(csv, "pin@a.example"));
    assert_non_null(strstr(csv, "\"\"pin\"\": true"));
    if (strstr(csv, "$2"))
        fail_msg("the CSV export shows a hash:\n%s", csv);
    free(csv);
    free(sql);
    free(file);
    store_close(s);
}

/* verify_password.sql run by psql: the password from the environment or
 * from stdin, never argv.  Prints what psql printed last ("t"/"f"). */
static void verify_with_psql(const char *username, const char *env_pw,
                             const char *stdin_pw, char *out, size_t size)
{
    char cmd[2048], line[256];
    FILE *p;

    snprintf(cmd, sizeof(cmd),
             "%s%s%s psql -X -At -v ON_ERROR_STOP=1 -d '%s' "
             "-v service=svc.example -v username='%s' "
             "-f '%s/../../sql/queries/verify_password.sql' 2>&1 %s%s%s",
             env_pw ? "REGISTRAR_PASSWORD='" : "env -u REGISTRAR_PASSWORD",
             env_pw ? env_pw : "", env_pw ? "'" : "", conninfo, username,
             TEST_DIR, stdin_pw ? "<<'EOF'\n" : "</dev/null",
             stdin_pw ? stdin_pw : "", stdin_pw ? "\nEOF\n" : "");
    p = popen(cmd, "r");
    assert_non_null(p);
    out[0] = '\0';
    while (fgets(line, sizeof(line), p)) {
        line[strcspn(line, "\n")] = '\0';
        /* \prompt prints "Password: " before the answer */
        snprintf(out, size, "%s",
                 strncmp(line, "Password: ", 10) ? line : line + 10);
    }
    pclose(p);
}

/* Runs verify_password.sql's query (psql variables filled in) and returns
 * how long it took, in seconds; *ok gets its answer. */
static double timed_verify(const char *username, const char *password, bool *ok)
{
    char *file = query_file("verify_password.sql");
    char *u = PQescapeLiteral(db, username, strlen(username));
    char *pw = PQescapeLiteral(db, password, strlen(password));
    char *a = subst(file, ":'service'", "'svc.example'");
    char *b = subst(a, ":'username'", u);
    char *sql = subst(b, ":'password'", pw);
    struct timespec t0, t1;
    PGresult *r;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = PQexec(db, sql);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("verify_password.sql: %s", PQerrorMessage(db));
    *ok = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    PQfreemem(u);
    PQfreemem(pw);
    free(sql);
    free(b);
    free(a);
    free(file);
    return (double)(t1.tv_sec - t0.tv_sec) +
           (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

static void test_verify_password_query(void **state)
{
    struct store *s = new_migrated();
    char out[256];
    double known = 1e9, unknown = 1e9, t;
    bool ok;

    (void)state;
    /* cost 10, as registrar stores by default (and as the dummy) */
    pgtest_exec(db, "INSERT INTO registrations (service, jid, username,"
                    "  password_hash) VALUES ('svc.example', 'bill@a.example',"
                    "  'Bill', crypt('Calliope', gen_salt('bf', 10)))");
    verify_with_psql("bill", "Calliope", NULL, out, sizeof(out));
    assert_string_equal(out, "t");
    verify_with_psql("BILL", "Calliope", NULL, out, sizeof(out));
    assert_string_equal(out, "t");
    verify_with_psql("bill", "calliope", NULL, out, sizeof(out));
    assert_string_equal(out, "f");
    verify_with_psql("nobody", "Calliope", NULL, out, sizeof(out));
    assert_string_equal(out, "f");
    verify_with_psql("bill", NULL, "Calliope", out, sizeof(out));
    assert_string_equal(out, "t");
    verify_with_psql("bill", NULL, "wrong", out, sizeof(out));
    assert_string_equal(out, "f");

    /* the same work for a username that does not exist: one bcrypt of
     * cost 10 either way (about 50 ms; a missing row alone: < 1 ms) */
    for (int i = 0; i < 3; i++) {
        t = timed_verify("bill", "wrong", &ok);
        assert_false(ok);
        known = t < known ? t : known;
        t = timed_verify("nobody", "wrong", &ok);
        assert_false(ok);
        unknown = t < unknown ? t : unknown;
    }
    if (unknown < known / 2)
        fail_msg("a missing username answers in %.1f ms, an existing one "
                 "in %.1f ms: the timing tells who is registered",
                 unknown * 1e3, known * 1e3);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migration_chain),
        cmocka_unit_test(test_newer_schema_refused),
        cmocka_unit_test(test_put_get_remove),
        cmocka_unit_test(test_username_conflicts),
        cmocka_unit_test(test_password_hash),
        cmocka_unit_test(test_notify),
        cmocka_unit_test(test_reconnects),
        cmocka_unit_test(test_backoff_fails_fast),
        cmocka_unit_test(test_interrupt),
        cmocka_unit_test(test_statement_deadline),
        cmocka_unit_test(test_multihost_skips_silent_host),
        cmocka_unit_test(test_attached_batches),
        cmocka_unit_test(test_attached_bounds),
        cmocka_unit_test(test_resend_after_unread_commit),
        cmocka_unit_test(test_admin_view_no_hashes),
        cmocka_unit_test(test_verify_password_query),
    };
    /* Each test cleans the table it used. */
    return cmocka_run_group_tests(tests, setup, teardown);
}
