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
#include <libpq-fe.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "secret.h"
#include "store.h"

static char dbname[64];
static char conninfo[1024];
static const char *admin;
static PGconn *db; /* the test's own connection to the test database */

static PGconn *connect_or_fail(const char *ci)
{
    PGconn *c = PQconnectdb(ci);

    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("cannot connect (%s): %s", ci, PQerrorMessage(c));
    return c;
}

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);

    if (PQresultStatus(r) != PGRES_COMMAND_OK &&
        PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

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

#define assert_scalar(sql, want)                                            \
    do {                                                                    \
        char *got_ = scalar(sql, 0, NULL);                                  \
        assert_string_equal(got_, want);                                    \
        free(got_);                                                         \
    } while (0)

static int setup(void **state)
{
    PGconn *a;
    char sql[256];

    (void)state;
    admin = getenv("REGISTRAR_TEST_ADMIN_CONNINFO");
    if (!admin) {
        fprintf(stderr, "REGISTRAR_TEST_ADMIN_CONNINFO is not set\n");
        return -1;
    }
    snprintf(dbname, sizeof(dbname), "registrar_test_%d", (int)getpid());
    a = connect_or_fail(admin);
    snprintf(sql, sizeof(sql),
             "CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8' "
             "LC_COLLATE 'C' LC_CTYPE 'C'",
             dbname);
    exec_ok(a, sql);
    PQfinish(a);
    snprintf(conninfo, sizeof(conninfo), "%s dbname=%s", admin, dbname);
    db = connect_or_fail(conninfo);
    exec_ok(db, "CREATE EXTENSION IF NOT EXISTS pgcrypto");
    return 0;
}

static int teardown(void **state)
{
    PGconn *a;
    char sql[128];

    (void)state;
    PQfinish(db);
    a = connect_or_fail(admin);
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)",
             dbname);
    exec_ok(a, sql);
    PQfinish(a);
    return 0;
}

/* ---- callbacks that record what the store answered --------------------- */

struct got {
    int calls;
    enum store_status st;
    bool created;
    char fields[1024];
    char username[128];
    char hash[128];
};

static void on_done(void *arg, enum store_status st, bool created)
{
    struct got *g = arg;

    g->calls++;
    g->st = st;
    g->created = created;
}

static void on_get(void *arg, enum store_status st,
                   const struct store_record *rec)
{
    struct got *g = arg;

    g->calls++;
    g->st = st;
    g->fields[0] = g->username[0] = g->hash[0] = '\0';
    if (!rec)
        return;
    snprintf(g->username, sizeof(g->username), "%s",
             rec->username ? rec->username : "(null)");
    snprintf(g->hash, sizeof(g->hash), "%s",
             rec->password_hash ? rec->password_hash : "(null)");
    for (size_t i = 0; i < rec->fields.n; i++)
        for (size_t j = 0; j < rec->fields.items[i].nvalues; j++) {
            size_t len = strlen(g->fields);
            snprintf(g->fields + len, sizeof(g->fields) - len, "%s=%s;",
                     rec->fields.items[i].var,
                     rec->fields.items[i].values[j]);
        }
}

static struct store *new_migrated(void)
{
    struct store *s = store_new(conninfo);

    assert_non_null(s);
    assert_int_equal(store_migrate(s), STORE_OK);
    exec_ok(db, "TRUNCATE registrations");
    return s;
}

static enum store_status put(struct store *s, const char *jid,
                             const char *username, const char *json,
                             const char *hash, bool *created)
{
    struct got g = {0};
    struct store_put p = {"svc.example", jid, username, json, hash};

    store_put(s, &p, on_done, &g);
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
        db,
        "SELECT string_agg(line, E'\\n' ORDER BY line) FROM ("
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
        "   FROM registrar_schema_migrations) t");
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
    assert_scalar("SELECT count(*) FROM registrar_schema_migrations",
                  "2");
    free(got);
    free(want);
    store_close(s);
}

static void test_newer_schema_refused(void **state)
{
    struct store *s = new_migrated();

    (void)state;
    exec_ok(db, "INSERT INTO registrar_schema_migrations (version, name)"
                " VALUES (999, '999_future.sql')");
    assert_int_equal(store_migrate(s), STORE_ERROR);
    exec_ok(db, "DELETE FROM registrar_schema_migrations"
                " WHERE version = 999");
    store_close(s);
}

static void test_put_get_remove(void **state)
{
    struct store *s = new_migrated();
    struct got g = {0};
    bool created;

    (void)state;
    assert_int_equal(
        put(s, "juliet@capulet.example", NULL,
            "{\"first\":\"Ju\\\"liet\",\"tags\":[\"a\",\"b\"],\"x\":\"\"}",
            NULL, &created),
        STORE_OK);
    assert_true(created);
    store_get(s, "svc.example", "juliet@capulet.example", NULL, on_get, &g);
    assert_int_equal(g.st, STORE_OK);
    assert_string_equal(g.username, "(null)");
    assert_string_equal(g.fields, "first=Ju\"liet;tags=a;tags=b;x=;");
    /* an update: same row, created_at kept, updated_at moved */
    assert_int_equal(put(s, "juliet@capulet.example", NULL,
                         "{\"first\":\"Jules\"}", NULL, &created),
                     STORE_OK);
    assert_false(created);
    assert_scalar("SELECT count(*) || ' ' || (updated_at > created_at)"
                  "  FROM registrations GROUP BY updated_at, created_at",
                  "1 true");
    /* other service, same JID: not found */
    store_get(s, "other.example", "juliet@capulet.example", NULL, on_get, &g);
    assert_int_equal(g.st, STORE_NOT_FOUND);
    g.calls = 0;
    store_remove(s, "svc.example", "juliet@capulet.example", on_done, &g);
    assert_int_equal(g.st, STORE_OK);
    store_remove(s, "svc.example", "juliet@capulet.example", on_done, &g);
    assert_int_equal(g.st, STORE_NOT_FOUND);
    assert_int_equal(g.calls, 2);
    store_close(s);
}

static void test_username_conflicts(void **state)
{
    struct store *s = new_migrated();

    (void)state;
    assert_int_equal(put(s, "bill@a.example", "bill", "{}", NULL, NULL),
                     STORE_OK);
    assert_int_equal(put(s, "other@a.example", "Bill", "{}", NULL, NULL),
                     STORE_CONFLICT);
    /* fullwidth "ｂｉｌｌ" normalises (NFKC) to "bill" */
    assert_int_equal(put(s, "other@a.example",
                         "\xef\xbd\x82\xef\xbd\x89\xef\xbd\x8c\xef\xbd\x8c",
                         "{}", NULL, NULL),
                     STORE_CONFLICT);
    /* the owner may send it again (idempotent), others may pick another */
    assert_int_equal(put(s, "bill@a.example", "BILL", "{}", NULL, NULL),
                     STORE_OK);
    assert_int_equal(put(s, "other@a.example", "bill2", "{}", NULL, NULL),
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
    assert_int_equal(put(s, "bill@a.example", "bill", "{}", hash, NULL),
                     STORE_OK);
    /* a third party verifies it in SQL alone */
    ok = scalar("SELECT password_hash = crypt($1, password_hash)"
                "  FROM registrations WHERE username = 'bill'",
                1, params);
    assert_string_equal(ok, "t");
    free(ok);
    /* an update without a password keeps the hash */
    assert_int_equal(put(s, "bill@a.example", "bill", "{\"e\":\"x\"}", NULL,
                         NULL),
                     STORE_OK);
    store_get(s, "svc.example", "bill@a.example", NULL, on_get, &g);
    assert_string_equal(g.hash, hash);
    /* clear text is refused by the table itself */
    assert_int_equal(put(s, "eve@a.example", "eve", "{}", "Calliope", NULL),
                     STORE_ERROR);
    store_close(s);
}

static void test_notify(void **state)
{
    struct store *s = new_migrated();
    PGconn *l = connect_or_fail(conninfo);
    PGnotify *n;
    int tries = 0;

    (void)state;
    exec_ok(l, "LISTEN registrar");
    assert_int_equal(put(s, "juliet@capulet.example", NULL, "{}", NULL, NULL),
                     STORE_OK);
    while (!(n = PQnotifies(l)) && tries++ < 50) {
        usleep(20000);
        PQconsumeInput(l);
    }
    assert_non_null(n);
    assert_string_equal(n->relname, "registrar");
    assert_string_equal(n->extra, "{\"op\" : \"insert\", \"service\" : "
                                  "\"svc.example\", \"jid\" : "
                                  "\"juliet@capulet.example\"}");
    PQfreemem(n);
    PQfinish(l);
    store_close(s);
}

static void test_reconnects(void **state)
{
    struct store *s = new_migrated();
    struct got g = {0};

    (void)state;
    assert_int_equal(put(s, "a@a.example", NULL, "{}", NULL, NULL), STORE_OK);
    /* the server drops our session: the next call reconnects by itself */
    exec_ok(db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
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
    };
    /* Each test cleans the table it used. */
    return cmocka_run_group_tests(tests, setup, teardown);
}
