/*
 * test_messages.c - the claim of the state changes to tell users of
 * (sql/014, store_claim_state_changes), against a real PostgreSQL: a
 * service's first claim starts at the log's end; each change to active or
 * disabled, whoever made it (registrar's admin write, a backend's plain
 * SQL), is returned once, with the username and the reason, in id order,
 * at most max at a time; pending and no-op changes are not; a claim that
 * finds the cursor held returns nothing at once (no wait); claims racing
 * on several connections while changes are written return every change
 * exactly once between them; registrar's role may claim, PUBLIC may not.
 *
 * Needs REGISTRAR_TEST_ADMIN_CONNINFO (tests/store/run.sh).
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* cmocka.h needs the headers above (stdarg, stddef, setjmp) */
#include <cmocka.h>

#include "pgtest.h"
#include "store.h"
#include "store_got.h"

#define SVC "svc.example"

static char dbname[64];
static char conninfo[1024];
static const char *admin;
static PGconn *db; /* the test's own connection to the test database */
static struct store *store;

static int setup(void **state)
{
    (void)state;
    admin = getenv("REGISTRAR_TEST_ADMIN_CONNINFO");
    if (!admin) {
        fprintf(stderr, "REGISTRAR_TEST_ADMIN_CONNINFO is not set\n");
        return -1;
    }
    snprintf(dbname, sizeof(dbname), "registrar_messages_%d", (int)getpid());
    pgtest_create_db(admin, dbname, "C", conninfo, sizeof(conninfo));
    db = pgtest_connect(conninfo);
    store = store_new(conninfo);
    if (store_migrate(store) != STORE_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    store_close(store);
    PQfinish(db);
    pgtest_drop_db(admin, dbname);
    return 0;
}

/* Each test starts with no registration, no event, no cursor. */
static int clean(void **state)
{
    (void)state;
    pgtest_exec(db, "BEGIN;"
                    " SELECT set_config('registrar.maintenance', 'on', true);"
                    " TRUNCATE registrations, registration_events,"
                    "          registrar_message_cursors;"
                    " COMMIT");
    return 0;
}

/* ---- what a claim answered ----------------------------------------------- */

#define CLAIM_MAX 64

struct claimed {
    int calls;
    enum store_status st;
    size_t n;
    long long id[CLAIM_MAX];
    char jid[CLAIM_MAX][64], username[CLAIM_MAX][64], reason[CLAIM_MAX][64];
    enum store_state state[CLAIM_MAX];
};

static void on_claim(void *arg, enum store_status st,
                     const struct store_state_change *c, size_t n)
{
    struct claimed *g = arg;

    g->calls++;
    g->st = st;
    g->n = n;
    assert_true(n <= CLAIM_MAX);
    for (size_t i = 0; i < n; i++) {
        g->id[i] = c[i].event_id;
        snprintf(g->jid[i], sizeof(g->jid[i]), "%s", c[i].jid);
        snprintf(g->username[i], sizeof(g->username[i]), "%s",
                 c[i].username ? c[i].username : "(none)");
        snprintf(g->reason[i], sizeof(g->reason[i]), "%s",
                 c[i].reason ? c[i].reason : "(none)");
        g->state[i] = c[i].state;
    }
}

static void claim(unsigned max, struct claimed *g)
{
    memset(g, 0, sizeof(*g));
    store_claim_state_changes(store, SVC, max, on_claim, g);
    assert_int_equal(g->calls, 1);
    assert_int_equal(g->st, STORE_OK);
}

static void add(const char *jid, const char *username, const char *state)
{
    char sql[512];

    snprintf(sql, sizeof(sql),
             "INSERT INTO registrations (service, jid, username, fields,"
             " state) VALUES ('" SVC "', '%s', %s%s%s, '{}', '%s')",
             jid, username ? "'" : "", username ? username : "NULL",
             username ? "'" : "", state);
    pgtest_exec(db, sql);
}

/* registrar's own write of a state (an admin's command) */
static void set_state(const char *jid, enum store_state st, const char *reason)
{
    struct got g = {0};
    struct store_origin o = {.actor = "admin@example.org", .reason = reason};

    store_set_state(store, SVC, jid, st, NULL, &o, on_done, &g);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.st, STORE_OK);
}

/* ---- the tests ----------------------------------------------------------- */

/* The first claim makes the cursor at the log's end: what happened before
 * is never told. */
static void test_first_claim_starts_at_end(void **state)
{
    struct claimed g;

    (void)state;
    add("old@example.org", "old", "pending");
    pgtest_exec(db, "UPDATE registrations SET state = 'active'"
                    " WHERE jid = 'old@example.org'");
    claim(10, &g);
    assert_int_equal(g.n, 0);
    {
        char *tip =
            pgtest_scalar(db, "SELECT max(id) FROM registration_events");
        char *cur = pgtest_scalar(db, "SELECT last_id FROM "
                                      "registrar_message_cursors WHERE "
                                      "service = '" SVC "'");
        assert_string_equal(cur, tip);
        free(tip);
        free(cur);
    }
    claim(10, &g);
    assert_int_equal(g.n, 0);
}

/* Every writer's changes, once each, in id order, with username and
 * reason; pending, a no-op state write and other services' are not. */
static void test_changes_once(void **state)
{
    struct claimed g;

    (void)state;
    claim(10, &g); /* the cursor */
    add("a@example.org", "alice", "pending");
    add("b@example.org", NULL, "active");
    add("c@example.org", "carol", "active");
    pgtest_exec(db, "INSERT INTO registrations (service, jid, fields, state)"
                    " VALUES ('other.example', 'a@example.org', '{}',"
                    " 'pending')");
    set_state("a@example.org", STORE_STATE_ACTIVE, NULL);  /* admin */
    set_state("c@example.org", STORE_STATE_ACTIVE, NULL);  /* no-op */
    set_state("c@example.org", STORE_STATE_PENDING, NULL); /* pending */
    pgtest_exec(db, "UPDATE registrations SET state = 'disabled',"
                    " disabled_reason = 'spam' WHERE service = '" SVC "'"
                    " AND jid = 'b@example.org'"); /* a backend's SQL */
    pgtest_exec(db, "UPDATE registrations SET state = 'active'"
                    " WHERE service = 'other.example'");
    claim(10, &g);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.jid[0], "a@example.org");
    assert_int_equal(g.state[0], STORE_STATE_ACTIVE);
    assert_string_equal(g.username[0], "alice");
    assert_string_equal(g.reason[0], "(none)");
    assert_string_equal(g.jid[1], "b@example.org");
    assert_int_equal(g.state[1], STORE_STATE_DISABLED);
    assert_string_equal(g.username[1], "(none)");
    assert_string_equal(g.reason[1], "spam");
    assert_true(g.id[0] < g.id[1]);
    claim(10, &g);
    assert_int_equal(g.n, 0);
    /* registrar's admin disable carries its reason too */
    set_state("c@example.org", STORE_STATE_DISABLED, "abuse");
    claim(10, &g);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.reason[0], "abuse");
    assert_int_equal(g.state[0], STORE_STATE_DISABLED);
}

/* At most max at a time; the next claim goes on from there. */
static void test_batches(void **state)
{
    struct claimed g;
    long long last;

    (void)state;
    claim(10, &g);
    add("a@example.org", "a", "pending");
    add("b@example.org", "b", "pending");
    add("c@example.org", "c", "pending");
    pgtest_exec(db, "UPDATE registrations SET state = 'active'");
    claim(2, &g);
    assert_int_equal(g.n, 2);
    last = g.id[1];
    claim(2, &g);
    assert_int_equal(g.n, 1);
    assert_true(g.id[0] > last);
    claim(2, &g);
    assert_int_equal(g.n, 0);
}

/* A claim that finds the cursor held by another's open transaction
 * returns nothing at once; the holder's commit decides. */
static void test_held_cursor_skipped(void **state)
{
    struct claimed g;
    PGconn *other = pgtest_connect(conninfo);
    char *n;

    (void)state;
    claim(10, &g);
    add("a@example.org", "a", "pending");
    pgtest_exec(db, "UPDATE registrations SET state = 'active'");
    pgtest_exec(other, "BEGIN");
    n = pgtest_scalar(other, "SELECT count(*) FROM "
                             "registrar_claim_state_changes('" SVC "', 10)");
    assert_string_equal(n, "1");
    free(n);
    claim(10, &g); /* does not wait */
    assert_int_equal(g.n, 0);
    pgtest_exec(other, "ROLLBACK"); /* never told: the next claim has it */
    claim(10, &g);
    assert_int_equal(g.n, 1);
    PQfinish(other);
}

/* ---- the race: claimers on several connections, a writer ---------------- */

#define RACE_CHANGES 300
#define RACE_CLAIMERS 3

struct claimer {
    int seen[RACE_CHANGES + 1]; /* by user number */
    volatile int *done;
};

static void *claimer_run(void *arg)
{
    struct claimer *c = arg;
    PGconn *conn = pgtest_connect(conninfo);
    bool last = false;

    for (;;) {
        bool was_done = *c->done;
        PGresult *r = PQexec(conn, "SELECT jid FROM "
                                   "registrar_claim_state_changes('" SVC "',"
                                   " 7)");

        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            fail_msg("claim: %s", PQerrorMessage(conn));
        for (int i = 0; i < PQntuples(r); i++) {
            int k = atoi(PQgetvalue(r, i, 0) + 1); /* uNNN@... */

            assert_true(k >= 1 && k <= RACE_CHANGES);
            c->seen[k]++;
        }
        PQclear(r);
        if (last)
            break;
        last = was_done; /* once more after the writer ended */
    }
    PQfinish(conn);
    return NULL;
}

static void test_race_exactly_once(void **state)
{
    struct claimed g;
    struct claimer cl[RACE_CLAIMERS] = {0};
    pthread_t t[RACE_CLAIMERS];
    volatile int done = 0;
    PGconn *w = pgtest_connect(conninfo);
    char sql[256];

    (void)state;
    claim(10, &g);
    for (int k = 1; k <= RACE_CHANGES; k++) {
        snprintf(sql, sizeof(sql), "u%d@example.org", k);
        add(sql, NULL, "pending");
    }
    for (int i = 0; i < RACE_CLAIMERS; i++) {
        cl[i].done = &done;
        assert_int_equal(pthread_create(&t[i], NULL, claimer_run, &cl[i]), 0);
    }
    for (int k = 1; k <= RACE_CHANGES; k++) {
        snprintf(sql, sizeof(sql),
                 "UPDATE registrations SET state = 'active' WHERE jid ="
                 " 'u%d@example.org'",
                 k);
        pgtest_exec(w, sql);
    }
    done = 1;
    for (int i = 0; i < RACE_CLAIMERS; i++)
        pthread_join(t[i], NULL);
    /* whatever a claimer skipped (the cursor held) is left for one more */
    do {
        claim(CLAIM_MAX, &g);
        for (size_t i = 0; i < g.n; i++)
            cl[0].seen[atoi(g.jid[i] + 1)]++;
    } while (g.n > 0);
    for (int k = 1; k <= RACE_CHANGES; k++) {
        int n = 0;

        for (int i = 0; i < RACE_CLAIMERS; i++)
            n += cl[i].seen[k];
        if (n != 1)
            fail_msg("u%d: claimed %d times", k, n);
    }
    PQfinish(w);
}

/* registrar's role may claim (sql/roles.sql); a role without it may not,
 * nor write the cursors. */
static void test_rights(void **state)
{
    char *v;

    (void)state;
    pgtest_exec(db, "DROP ROLE IF EXISTS msg_daemon, msg_nobody;"
                    " CREATE ROLE msg_daemon; CREATE ROLE msg_nobody;"
                    " GRANT registrar_service TO msg_daemon");
    pgtest_exec(db, "SET ROLE msg_daemon");
    v = pgtest_scalar(db, "SELECT count(*) FROM "
                          "registrar_claim_state_changes('" SVC "', 5)");
    free(v);
    pgtest_exec(db, "RESET ROLE");
    pgtest_exec(db, "SET ROLE msg_nobody");
    {
        PGresult *r = PQexec(db, "SELECT * FROM registrar_claim_state_changes("
                                 "'" SVC "', 5)");
        assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
        assert_string_equal(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42501");
        PQclear(r);
        r = PQexec(db, "UPDATE registrar_message_cursors SET last_id = 0");
        assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
        PQclear(r);
    }
    pgtest_exec(db, "RESET ROLE");
    pgtest_exec(db, "DROP ROLE msg_daemon, msg_nobody");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_first_claim_starts_at_end, clean),
        cmocka_unit_test_setup(test_changes_once, clean),
        cmocka_unit_test_setup(test_batches, clean),
        cmocka_unit_test_setup(test_held_cursor_skipped, clean),
        cmocka_unit_test_setup(test_race_exactly_once, clean),
        cmocka_unit_test_setup(test_rights, clean),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
