/*
 * test_events.c - states, consents and the event log (sql/005, sql/006)
 * through store.c and by plain SQL, against a real PostgreSQL, and the
 * queries of sql/admin/ run by psql.
 *
 * Needs REGISTRAR_TEST_ADMIN_CONNINFO: a superuser connection to a
 * throwaway cluster (tests/harness/pg.sh, through run.sh).  Makes its own
 * database and drops it.  Checks: one event per change with its iq_id,
 * actor and a detail that holds no secret; a state set by SQL read back by
 * store_get; one NOTIFY per commit; event ids in commit order across
 * connections (a reader of "id > $last" misses and repeats nothing while
 * writers race); the append-only rule; every view and query of sql/admin.
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* cmocka.h needs the headers above (stdarg, stddef, setjmp) */
#include <cmocka.h>

#include "pgtest.h"
#include "store.h"
#include "store_got.h"

#define SVC "svc.example"
#define HASH1 "$2a$04$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"
#define HASH2 "$2a$04$bbcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"

static char dbname[64];
static char conninfo[1024];
static const char *admin;
static PGconn *db; /* the test's own connection to the test database */
static struct store *store;

/* The SQLSTATE sql fails with; fails the test when it succeeds. */
static char *exec_fails(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    char *state;

    if (PQresultStatus(r) != PGRES_FATAL_ERROR)
        fail_msg("%s: succeeded, must fail", sql);
    state = strdup(PQresultErrorField(r, PG_DIAG_SQLSTATE));
    PQclear(r);
    return state;
}

#define assert_scalar(sql, want)                                               \
    do {                                                                       \
        char *got_ = pgtest_scalar(db, sql);                                   \
        if (strcmp(got_, want) != 0)                                           \
            fail_msg("%s\n got: %s\nwant: %s", sql, got_, want);               \
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
    snprintf(dbname, sizeof(dbname), "registrar_events_%d", (int)getpid());
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

/* Each test starts with no registration and no event. */
static int clean(void **state)
{
    (void)state;
    pgtest_exec(db, "BEGIN;"
                    " SELECT set_config('registrar.maintenance', 'on', true);"
                    " TRUNCATE registrations, registration_events;"
                    " COMMIT");
    return 0;
}

/* ---- what the store answered -------------------------------------------- */

static enum store_status put(const char *jid, const char *first,
                             const char *hash, enum store_state initial,
                             const struct store_consent *consents,
                             size_t nconsents, const char *iq_id, bool *created)
{
    struct got g = {0};
    struct form_data d = {0};
    struct store_put p = {.service = SVC,
                          .jid = jid,
                          .fields = &d,
                          .password_hash = hash,
                          .initial_state = initial,
                          .consents = consents,
                          .nconsents = nconsents,
                          .origin = {.iq_id = iq_id}};

    assert_true(form_data_add(&d, "first", first));
    store_put(store, &p, on_put, &g);
    form_data_clear(&d);
    assert_int_equal(g.calls, 1);
    if (created)
        *created = g.created;
    return g.st;
}

static enum store_state state_of(const char *jid)
{
    struct got g = {0};

    store_get(store, SVC, jid, NULL, on_get, &g);
    assert_int_equal(g.st, STORE_OK);
    return g.state;
}

/* ---- events of each operation ------------------------------------------- */

static void test_events_through_store(void **state)
{
    const struct store_consent tos1[] = {{"tos", "v1"}};
    const struct store_consent tos2[] = {{"tos", "v2"}, {"news", "2024"}};
    const struct store_origin admin_origin = {.iq_id = "adm1",
                                              .actor = "boss@example"};
    const struct store_origin user_origin = {.iq_id = "rm1"};
    const enum store_state pending = STORE_STATE_PENDING;
    struct got g = {0};
    bool created;

    (void)state;
    assert_int_equal(put("ann@a.example", "Ann", HASH1, STORE_STATE_PENDING,
                         tos1, 1, "reg1", &created),
                     STORE_OK);
    assert_true(created);
    assert_int_equal(state_of("ann@a.example"), STORE_STATE_PENDING);
    assert_scalar("SELECT consents->'tos'->>'version' ||"
                  "       (consents->'tos'->>'at' IS NOT NULL)"
                  "  FROM registrations",
                  "v1true");
    /* the same version again: the time of the first consent is kept */
    pgtest_exec(db,
                "CREATE TEMP TABLE t AS SELECT consents FROM registrations");
    assert_int_equal(put("ann@a.example", "Anne", NULL, STORE_STATE_ACTIVE,
                         tos1, 1, "reg2", &created),
                     STORE_OK);
    assert_false(created);
    assert_scalar("SELECT r.consents = t.consents FROM registrations r, t",
                  "t");
    pgtest_exec(db, "DROP TABLE t");
    /* an update never changes the state */
    assert_int_equal(state_of("ann@a.example"), STORE_STATE_PENDING);
    /* a new version is recorded, and a new consent beside it */
    assert_int_equal(put("ann@a.example", "Anne", NULL, STORE_STATE_ACTIVE,
                         tos2, 2, "reg3", NULL),
                     STORE_OK);
    assert_scalar("SELECT (consents->'tos'->>'version') || ' ' ||"
                  "       (consents->'news'->>'version')"
                  "  FROM registrations",
                  "v2 2024");

    store_count(store, SVC, &pending, on_count, &g);
    assert_int_equal(g.st, STORE_OK);
    assert_int_equal(g.n, 1);
    store_set_state(store, SVC, "ann@a.example", STORE_STATE_ACTIVE, NULL,
                    &admin_origin, on_done, &g);
    assert_int_equal(g.st, STORE_OK);
    assert_int_equal(state_of("ann@a.example"), STORE_STATE_ACTIVE);
    store_count(store, SVC, &pending, on_count, &g);
    assert_int_equal(g.n, 0);
    store_count(store, SVC, NULL, on_count, &g);
    assert_int_equal(g.n, 1);
    store_set_state(store, SVC, "nobody@a.example", STORE_STATE_ACTIVE, NULL,
                    &admin_origin, on_done, &g);
    assert_int_equal(g.st, STORE_NOT_FOUND);
    /* sql/007: a state change from a state the row is not in is refused
     * (re-enable of an active one: nothing written), and a disabled row
     * takes no update and no password change, whatever registrar read
     * before */
    store_set_state(store, SVC, "ann@a.example", STORE_STATE_ACTIVE,
                    &(enum store_state){STORE_STATE_DISABLED}, &admin_origin,
                    on_done, &g);
    assert_int_equal(g.st, STORE_NOT_ALLOWED);
    pgtest_exec(db, "UPDATE registrations SET state = 'disabled'"
                    " WHERE jid = 'ann@a.example'");
    store_set_password(store, SVC, "ann@a.example", HASH2, NULL, on_done, &g);
    assert_int_equal(g.st, STORE_NOT_ALLOWED);
    {
        struct store_put p = {
            .service = SVC, .jid = "ann@a.example", .username = "ann"};
        store_put(store, &p, on_put, &g);
        assert_int_equal(g.st, STORE_NOT_ALLOWED);
    }
    assert_scalar("SELECT password_hash IS NULL OR password_hash <> '" HASH2
                  "' FROM registrations WHERE jid = 'ann@a.example'",
                  "t");
    store_set_state(store, SVC, "ann@a.example", STORE_STATE_ACTIVE,
                    &(enum store_state){STORE_STATE_DISABLED}, &admin_origin,
                    on_done, &g);
    assert_int_equal(g.st, STORE_OK);

    store_set_password(store, SVC, "ann@a.example", HASH2, NULL, on_done, &g);
    assert_int_equal(g.st, STORE_OK);
    store_remove(store, SVC, "ann@a.example", &user_origin, on_done, &g);
    assert_int_equal(g.st, STORE_OK);
    store_remove(store, SVC, "ann@a.example", &user_origin, on_done, &g);
    assert_int_equal(g.st, STORE_NOT_FOUND);

    assert_scalar(
        "SELECT string_agg(event || ' ' || coalesce(iq_id, '-') || ' ' ||"
        "                  detail::text, E'\\n' ORDER BY id)"
        "  FROM registration_events",
        "registered reg1 {\"state\": \"pending\", \"fields\": [\"first\"], "
        "\"consents\": [\"tos\"]}\n"
        "updated reg2 {\"changed\": [\"first\"]}\n"
        "updated reg3 {\"changed\": [], \"consents\": [\"news\", \"tos\"]}\n"
        "state_changed adm1 {\"to\": \"active\", \"from\": \"pending\", "
        "\"actor\": \"boss@example\"}\n"
        /* the refused writes left no event */
        "state_changed - {\"to\": \"disabled\", \"from\": \"active\", "
        "\"db_user\": \"postgres\"}\n"
        "state_changed adm1 {\"to\": \"active\", \"from\": \"disabled\", "
        "\"actor\": \"boss@example\"}\n"
        "password_changed - {}\n"
        "removed rm1 {\"state\": \"active\"}");
    /* never a hash, in any event */
    assert_scalar("SELECT count(*) FROM registration_events"
                  " WHERE registration_events::text LIKE '%$2a$%'",
                  "0");
}

/* store_list: JIDs in byte order, by state, at most max. */
static void test_count_and_list(void **state)
{
    const enum store_state active = STORE_STATE_ACTIVE;
    const enum store_state disabled = STORE_STATE_DISABLED;
    struct got g = {0};

    (void)state;
    assert_int_equal(
        put("b@x", "B", NULL, STORE_STATE_ACTIVE, NULL, 0, NULL, NULL),
        STORE_OK);
    assert_int_equal(
        put("a@x", "A", NULL, STORE_STATE_PENDING, NULL, 0, NULL, NULL),
        STORE_OK);
    assert_int_equal(
        put("C@x", "C", NULL, STORE_STATE_ACTIVE, NULL, 0, NULL, NULL),
        STORE_OK);
    store_list(store, SVC, NULL, 0, on_list, &g);
    assert_int_equal(g.st, STORE_OK);
    assert_string_equal(g.list, "C@x,a@x,b@x");
    store_list(store, SVC, &active, 0, on_list, &g);
    assert_string_equal(g.list, "C@x,b@x");
    store_list(store, SVC, NULL, 2, on_list, &g);
    assert_string_equal(g.list, "C@x,a@x");
    store_list(store, SVC, &disabled, 0, on_list, &g);
    assert_int_equal(g.st, STORE_OK);
    assert_string_equal(g.list, "");
    store_list(store, "other.example", NULL, 0, on_list, &g);
    assert_string_equal(g.list, "");
}

/* Changes made with plain SQL are events too (no iq_id; the database
 * role); a state set by SQL is what the next get reads. */
static void test_events_by_sql(void **state)
{
    (void)state;
    assert_int_equal(put("bob@a.example", "Bob", NULL, STORE_STATE_ACTIVE, NULL,
                         0, "r1", NULL),
                     STORE_OK);
    pgtest_exec(db, "UPDATE registrations SET state = 'disabled'"
                    " WHERE jid = 'bob@a.example'");
    assert_int_equal(state_of("bob@a.example"), STORE_STATE_DISABLED);
    /* the same again changes nothing: no event */
    pgtest_exec(db, "UPDATE registrations SET state = 'disabled'"
                    " WHERE jid = 'bob@a.example'");
    pgtest_exec(db, "UPDATE registrations SET fields = '{\"first\": \"Robert\","
                    " \"x\": \"1\"}', username = 'rob'");
    pgtest_exec(db, "INSERT INTO registrations (service, jid)"
                    " VALUES ('svc.example', 'sql@a.example')");
    pgtest_exec(db, "DELETE FROM registrations WHERE jid = 'sql@a.example'");
    assert_scalar(
        "SELECT string_agg(event || ' ' || coalesce(iq_id, '-') || ' ' ||"
        "                  (detail - 'db_user')::text || ' ' ||"
        "                  CASE WHEN detail ? 'db_user' THEN"
        "                  (detail->>'db_user' = session_user)::text"
        "                  ELSE '-' END,"
        "                  E'\\n' ORDER BY id)"
        "  FROM registration_events",
        "registered r1 {\"state\": \"active\", \"fields\": [\"first\"], "
        "\"consents\": []} -\n"
        "state_changed - {\"to\": \"disabled\", \"from\": \"active\"} "
        "true\n"
        "updated - {\"changed\": [\"first\", \"username\", \"x\"]} true\n"
        "registered - {\"state\": \"active\", \"fields\": [], "
        "\"consents\": []} true\n"
        "removed - {\"state\": \"active\"} true");
    /* a state the schema does not know is refused */
    free(exec_fails(db, "UPDATE registrations SET state = 'gone'"));
}

/* ---- notifications ------------------------------------------------------- */

/* How many notifications arrived on l within ms; the first max of them
 * into out (copies; caller frees). */
static int notifications(PGconn *l, int ms, char **out, int max)
{
    int n = 0;
    PGnotify *nt;

    for (int waited = 0; waited <= ms; waited += 20) {
        PQconsumeInput(l);
        while ((nt = PQnotifies(l))) {
            if (n < max)
                out[n] = strdup(nt->extra);
            n++;
            PQfreemem(nt);
        }
        usleep(20000);
    }
    return n;
}

static void test_one_notify_per_commit(void **state)
{
    PGconn *l = pgtest_connect(conninfo);
    char *got[16], want[512], *id;
    int n;

    (void)state;
    pgtest_exec(l, "LISTEN registrar");
    /* one event: its id and the count only (sql/010: any role may LISTEN,
     * so no JID goes out in a payload) */
    assert_int_equal(put("one@a.example", "One", NULL, STORE_STATE_ACTIVE, NULL,
                         0, "i1", NULL),
                     STORE_OK);
    n = notifications(l, 300, got, 16);
    assert_int_equal(n, 1);
    id = pgtest_scalar(db, "SELECT max(id) FROM registration_events");
    snprintf(want, sizeof(want), "{\"id\": %s, \"count\": 1}", id);
    assert_string_equal(got[0], want);
    free(got[0]);
    free(id);

    /* five rows by one SQL statement, then three statements in one
     * transaction: one notification per commit, with the highest id */
    for (int i = 0; i < 4; i++) {
        char jid[32];
        snprintf(jid, sizeof(jid), "m%d@a.example", i);
        assert_int_equal(
            put(jid, "M", NULL, STORE_STATE_ACTIVE, NULL, 0, NULL, NULL),
            STORE_OK);
    }
    n = notifications(l, 200, got, 16);
    assert_int_equal(n, 4);
    for (int i = 0; i < n; i++)
        free(got[i]);
    pgtest_exec(db, "UPDATE registrations SET state = 'disabled'");
    n = notifications(l, 300, got, 16);
    assert_int_equal(n, 1);
    id = pgtest_scalar(db, "SELECT max(id) FROM registration_events");
    snprintf(want, sizeof(want), "{\"id\": %s, \"count\": 5}", id);
    assert_string_equal(got[0], want);
    free(got[0]);
    free(id);
    pgtest_exec(db, "BEGIN;"
                    " UPDATE registrations SET state = 'active'"
                    "  WHERE jid = 'm0@a.example';"
                    " DELETE FROM registrations WHERE jid = 'm1@a.example';"
                    " INSERT INTO registrations (service, jid)"
                    "  VALUES ('svc.example', 'm9@a.example');"
                    " COMMIT");
    n = notifications(l, 300, got, 16);
    assert_int_equal(n, 1);
    id = pgtest_scalar(db, "SELECT max(id) FROM registration_events");
    snprintf(want, sizeof(want), "{\"id\": %s, \"count\": 3}", id);
    assert_string_equal(got[0], want);
    free(got[0]);
    free(id);
    /* a rolled back change notifies nothing */
    pgtest_exec(db, "BEGIN; UPDATE registrations SET state = 'pending';"
                    " ROLLBACK");
    assert_int_equal(notifications(l, 200, got, 16), 0);
    PQfinish(l);
}

/* sql/011: a write that changes nothing but updated_at is no event (nor a
 * notification), whoever made it; an admin's state command and a password
 * change always are. */
static void test_no_event_for_no_change(void **state)
{
    const struct store_consent tos1[] = {{"tos", "v1"}};
    const struct store_origin admin_origin = {.iq_id = "adm1",
                                              .actor = "boss@example"};
    PGconn *l = pgtest_connect(conninfo);
    char *got[4];
    struct got g = {0};

    (void)state;
    pgtest_exec(l, "LISTEN registrar");
    assert_int_equal(put("cy@a.example", "Cy", HASH1, STORE_STATE_PENDING, tos1,
                         1, "p1", NULL),
                     STORE_OK);
    assert_int_equal(notifications(l, 300, got, 4), 1);
    free(got[0]);
    /* the same form again (the same consent version, the password kept):
     * written (updated_at moves), no event, no notification */
    assert_int_equal(put("cy@a.example", "Cy", HASH1, STORE_STATE_ACTIVE, tos1,
                         1, "p2", NULL),
                     STORE_OK);
    assert_int_equal(put("cy@a.example", "Cy", NULL, STORE_STATE_ACTIVE, tos1,
                         1, "p3", NULL),
                     STORE_OK);
    assert_scalar("SELECT updated_at > created_at FROM registrations", "t");
    assert_int_equal(notifications(l, 300, got, 4), 0);
    /* plain SQL that touches updated_at, or sets what is there */
    pgtest_exec(db, "UPDATE registrations SET updated_at = now(),"
                    " state = 'pending', fields = '{\"first\": \"Cy\"}'");
    /* a change is still one */
    assert_int_equal(put("cy@a.example", "Cyril", NULL, STORE_STATE_ACTIVE,
                         tos1, 1, "p4", NULL),
                     STORE_OK);
    /* an admin's state command that finds the state it sets, and a
     * password set to the hash on file: events */
    store_set_state(store, SVC, "cy@a.example", STORE_STATE_PENDING, NULL,
                    &admin_origin, on_done, &g);
    assert_int_equal(g.st, STORE_OK);
    store_set_password(store, SVC, "cy@a.example", HASH1, NULL, on_done, &g);
    assert_int_equal(g.st, STORE_OK);
    assert_int_equal(notifications(l, 300, got, 4), 3);
    for (int i = 0; i < 3; i++)
        free(got[i]);
    assert_scalar(
        "SELECT string_agg(event || ' ' || coalesce(iq_id, '-') || ' ' ||"
        "                  detail::text, E'\\n' ORDER BY id)"
        "  FROM registration_events",
        "registered p1 {\"state\": \"pending\", \"fields\": [\"first\"], "
        "\"consents\": [\"tos\"]}\n"
        "updated p4 {\"changed\": [\"first\"]}\n"
        "state_changed adm1 {\"to\": \"pending\", \"from\": \"pending\", "
        "\"actor\": \"boss@example\"}\n"
        "password_changed - {}");
    PQfinish(l);
}

/* ---- sql/012: every write returns its event -------------------------------
 */

/* The id of the event each write function left, against the log: NULL
 * when it left none; the functions of 010 answer as they did. */
static void test_writes_return_event_id(void **state)
{
    (void)state;
    pgtest_exec(db, "DELETE FROM registration_bans");
    pgtest_exec(db, "CREATE TEMP TABLE ids (n int, id bigint)");
    /* a registration, the same again (no event), a change */
    pgtest_exec(db, "INSERT INTO ids SELECT 1, event_id FROM"
                    " registrar_put_event('svc.example', 'eve@a.example',"
                    " 'eve', '{\"first\": \"Eve\"}', NULL, 'active', '{}',"
                    " 'e1', NULL, '{}')");
    pgtest_exec(db, "INSERT INTO ids SELECT 2, event_id FROM"
                    " registrar_put_event('svc.example', 'eve@a.example',"
                    " 'eve', '{\"first\": \"Eve\"}', NULL, 'active', '{}',"
                    " 'e2', NULL, '{}')");
    pgtest_exec(db, "INSERT INTO ids SELECT 3, event_id FROM"
                    " registrar_put_event('svc.example', 'eve@a.example',"
                    " 'eve', '{\"first\": \"Evelyn\"}', NULL, 'active', '{}',"
                    " 'e3', NULL, '{}')");
    pgtest_exec(db, "INSERT INTO ids SELECT 4, event_id FROM"
                    " registrar_set_password_event('svc.example',"
                    " 'eve@a.example', '" HASH1 "', 'e4', NULL)");
    pgtest_exec(db, "INSERT INTO ids SELECT 5, event_id FROM"
                    " registrar_set_state_event('svc.example',"
                    " 'eve@a.example', 'disabled', NULL, 'e5',"
                    " 'boss@example', 'spam')");
    /* refused by the state: no event */
    pgtest_exec(db, "INSERT INTO ids SELECT 6, event_id FROM"
                    " registrar_put_event('svc.example', 'eve@a.example',"
                    " 'eve', '{}', NULL, 'active', '{}', 'e6', NULL, '{}')");
    pgtest_exec(db, "INSERT INTO ids SELECT 7, event_id FROM"
                    " registrar_remove_event('svc.example', 'eve@a.example',"
                    " 'e7', NULL)");
    pgtest_exec(db, "INSERT INTO ids SELECT 8, event_id FROM"
                    " registrar_unban_event('svc.example', 'eve@a.example',"
                    " 'e8', 'boss@example')");
    /* nothing to remove, nothing to lift */
    pgtest_exec(db, "INSERT INTO ids SELECT 9, event_id FROM"
                    " registrar_remove_event('svc.example', 'eve@a.example',"
                    " 'e9', NULL)");
    pgtest_exec(db, "INSERT INTO ids SELECT 10, event_id FROM"
                    " registrar_unban_event('svc.example', 'eve@a.example',"
                    " 'e10', NULL)");
    assert_scalar(
        "SELECT string_agg(ids.n || ' ' || coalesce(e.event || ' '"
        "                  || e.iq_id, '-'), ',' ORDER BY ids.n)"
        "  FROM ids LEFT JOIN registration_events e ON e.id = ids.id",
        "1 registered e1,2 -,3 updated e3,4 password_changed e4,"
        "5 state_changed e5,6 -,7 removed e7,8 ban_lifted e8,9 -,10 -");
    assert_scalar("SELECT count(*) FROM ids WHERE id IS NOT NULL", "6");
    assert_scalar("SELECT count(*) FROM registration_events", "6");
    /* the removal banned (the user's own, of a disabled registration) */
    assert_scalar("SELECT detail::text FROM registration_events"
                  " WHERE event = 'removed'",
                  "{\"state\": \"disabled\", \"banned\": true}");
    /* 010's interface, for registrar instances of before 012 */
    assert_scalar("SELECT outcome || coalesce(reason, '-') FROM"
                  " registrar_put_checked('svc.example', 'old@a.example',"
                  " NULL, '{}', NULL, 'active', NULL, 'o1', NULL, NULL)",
                  "created-");
    assert_scalar("SELECT registrar_set_state_from('svc.example',"
                  " 'old@a.example', 'active', 'pending', 'o2', 'b@x')",
                  "(null)"); /* in another state than the one expected */
    assert_scalar("SELECT registrar_set_password('svc.example',"
                  " 'old@a.example', '" HASH2 "', 'o3', NULL)",
                  "t");
    assert_scalar("SELECT registrar_remove('svc.example', 'old@a.example',"
                  " 'o4', NULL)",
                  "t");
    assert_scalar("SELECT registrar_remove('svc.example', 'old@a.example',"
                  " 'o5', NULL)",
                  "f");
    assert_scalar("SELECT registrar_unban('svc.example', 'eve@a.example',"
                  " 'o6', NULL)",
                  "f");
    assert_scalar("SELECT string_agg(event || ' ' || iq_id, ',' ORDER BY id)"
                  "  FROM registration_events WHERE jid = 'old@a.example'",
                  "registered o1,password_changed o3,removed o4");
    pgtest_exec(db, "DROP TABLE ids");
}

/* What registrar_put_event answers, and in what order, when the write is
 * refused: 010's (the ban, the state, the username rule, the username's
 * owner), though the username is now looked up instead of tried. */
static void test_put_outcome_order(void **state)
{
#define PUT(jid, user)                                                         \
    "SELECT outcome || ' ' || coalesce(reason, '-') || ' ' ||"                 \
    " CASE WHEN event_id IS NULL THEN '-' ELSE 'event' END"                    \
    "  FROM registrar_put_event('svc.example', '" jid "', " user               \
    ", '{}', NULL, 'active', '{}', 'q', NULL, '{}')"
    (void)state;
    pgtest_exec(db, "DELETE FROM registration_bans");
    assert_scalar(PUT("a@x", "'Ann'"), "created - event");
    assert_scalar(PUT("b@x", "'ANN'"), "conflict - -");
    assert_scalar(PUT("b@x", "' bob'"), "invalid - -");
    assert_scalar(PUT("b@x", "'bob'"), "created - event");
    assert_scalar(PUT("a@x", "'ann'"),
                  "updated - event");                  /* its own, recased */
    assert_scalar(PUT("a@x", "'ann'"), "updated - -"); /* the same */
    assert_scalar(PUT("a@x", "'Bob'"), "conflict - -");
    pgtest_exec(db, "SELECT registrar_set_state_event('svc.example', 'b@x',"
                    " 'disabled', NULL, 'q', 'boss@example', 'spam')");
    /* disabled before the username's rule or owner */
    assert_scalar(PUT("b@x", "' bob'"), "disabled spam -");
    assert_scalar(PUT("b@x", "'ann'"), "disabled spam -");
    pgtest_exec(db, "SELECT registrar_remove_event('svc.example', 'b@x', 'q',"
                    " NULL)");
    /* banned before anything */
    assert_scalar(PUT("b@x", "' bob'"), "banned spam -");
    assert_scalar(PUT("b@x", "'ann'"), "banned spam -");
    assert_scalar(PUT("b@x", "NULL"), "banned spam -");
    /* a row a ban did not stop (plain SQL): still banned */
    pgtest_exec(db, "INSERT INTO registrations (service, jid)"
                    " VALUES ('svc.example', 'b@x')");
    assert_scalar(PUT("b@x", "'ann'"), "banned spam -");
    /* the index and the CHECK still decide a plain write */
    free(exec_fails(db, "UPDATE registrations SET username = 'ANN'"
                        " WHERE jid = 'b@x'"));
    free(exec_fails(db, "UPDATE registrations SET username = ' x'"
                        " WHERE jid = 'b@x'"));
    assert_scalar("SELECT count(*) FROM registrations", "2");
#undef PUT
}

/* One notification per commit whoever wrote, with the count of the
 * commit's events: registrar's batch of writes, the row trigger's events
 * and a direct insert (registrar_unban) in one transaction. */
static void test_count_of_a_batch(void **state)
{
    PGconn *l = pgtest_connect(conninfo);
    char *got[4], want[128], *id;

    (void)state;
    pgtest_exec(db, "DELETE FROM registration_bans");
    pgtest_exec(l, "LISTEN registrar");
    pgtest_exec(db, "INSERT INTO registration_bans (service, jid)"
                    " VALUES ('svc.example', 'gone@a.example')");
    assert_int_equal(notifications(l, 300, got, 4), 0); /* no event */
    pgtest_exec(db, "BEGIN;"
                    " SELECT registrar_put_event('svc.example', 'n' || i"
                    "  || '@a.example', NULL, '{}', NULL, 'active', '{}',"
                    "  'b' || i, NULL, '{}') FROM generate_series(1, 10) i;"
                    " SELECT registrar_unban_event('svc.example',"
                    "  'gone@a.example', 'u', 'boss@example');"
                    " UPDATE registrations SET state = 'pending'"
                    "  WHERE jid IN ('n1@a.example', 'n2@a.example');"
                    " COMMIT");
    assert_int_equal(notifications(l, 300, got, 4), 1);
    id = pgtest_scalar(db, "SELECT max(id) FROM registration_events");
    snprintf(want, sizeof(want), "{\"id\": %s, \"count\": 13}", id);
    assert_string_equal(got[0], want);
    free(got[0]);
    free(id);
    PQfinish(l);
}

/* ---- commit order ----------------------------------------------------------
 */

/* A transaction that wrote events holds the event lock to its end: a
 * second writer waits (on the advisory lock), and its id comes after. */
static void test_second_writer_waits(void **state)
{
    PGconn *a = pgtest_connect(conninfo), *b = pgtest_connect(conninfo);
    PGresult *r;
    char *ida, *idb, *waiting;

    (void)state;
    pgtest_exec(db, "INSERT INTO registrations (service, jid) VALUES"
                    " ('svc.example', 'a@x'), ('svc.example', 'b@x')");
    pgtest_exec(a, "BEGIN");
    pgtest_exec(a,
                "UPDATE registrations SET state = 'pending' WHERE jid = 'a@x'");
    assert_true(PQsendQuery(b, "UPDATE registrations SET state = 'pending'"
                               " WHERE jid = 'b@x'"));
    usleep(300 * 1000);
    PQconsumeInput(b);
    assert_true(PQisBusy(b)); /* b waits */
    waiting = pgtest_scalar(db, "SELECT string_agg(locktype, ',') FROM pg_locks"
                                " WHERE NOT granted");
    assert_string_equal(waiting, "advisory");
    free(waiting);
    pgtest_exec(a, "COMMIT");
    while ((r = PQgetResult(b))) {
        assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
        PQclear(r);
    }
    ida = pgtest_scalar(db, "SELECT id FROM registration_events"
                            " WHERE jid = 'a@x' AND event = 'state_changed'");
    idb = pgtest_scalar(db, "SELECT id FROM registration_events"
                            " WHERE jid = 'b@x' AND event = 'state_changed'");
    assert_true(atol(ida) < atol(idb));
    free(ida);
    free(idb);
    PQfinish(a);
    PQfinish(b);
}

#define WRITERS 4
#define WRITES 150

static atomic_int writers_finished;

/* Writes WRITES single-row changes in transactions of 1-3 statements with
 * a random pause inside, on a connection of its own. */
static void *writer(void *arg)
{
    int w = (int)(intptr_t)arg;
    PGconn *c = pgtest_connect(conninfo);
    unsigned seed = (unsigned)w * 7919u + (unsigned)time(NULL);
    char sql[512];

    for (int i = 0; i < WRITES; i++) {
        int k = 1 + (int)(rand_r(&seed) % 3);
        pgtest_exec(c, "BEGIN");
        for (int s = 0; s < k; s++) {
            snprintf(sql, sizeof(sql),
                     "INSERT INTO registrations (service, jid, fields)"
                     " VALUES ('svc.example', 'w%d-%d@x', '{\"n\": \"%d\"}')"
                     " ON CONFLICT (service, jid) DO UPDATE"
                     " SET fields = EXCLUDED.fields",
                     w, i, s);
            pgtest_exec(c, sql);
        }
        if (rand_r(&seed) % 2)
            usleep((useconds_t)(rand_r(&seed) % 2000));
        pgtest_exec(c, "COMMIT");
    }
    PQfinish(c);
    atomic_fetch_add(&writers_finished, 1);
    return NULL;
}

/* A backend as doc/backend.md says: LISTEN registrar, and on each
 * notification read "id > $last".  With writers racing on their own
 * connections, it collects every event exactly once, in id order. */
static void test_listener_misses_nothing(void **state)
{
    PGconn *l = pgtest_connect(conninfo);
    pthread_t th[WRITERS];
    long last = 0, seen = 0, notes = 0;
    char *total, *got[1];
    const char *params[1];
    char lastbuf[32];

    (void)state;
    pgtest_exec(l, "LISTEN registrar");
    atomic_store(&writers_finished, 0);
    for (int i = 0; i < WRITERS; i++)
        assert_int_equal(
            pthread_create(&th[i], NULL, writer, (void *)(intptr_t)i), 0);
    for (;;) {
        /* seen before the read: then that read is the last one needed */
        bool done = atomic_load(&writers_finished) == WRITERS;
        int n = notifications(l, 20, got, 1);
        PGresult *r;

        if (n)
            free(got[0]);
        notes += n;
        snprintf(lastbuf, sizeof(lastbuf), "%ld", last);
        params[0] = lastbuf;
        r = PQexecParams(l,
                         "SELECT id FROM registration_events"
                         " WHERE id > $1::bigint ORDER BY id",
                         1, NULL, params, NULL, NULL, 0);
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        for (int i = 0; i < PQntuples(r); i++) {
            long id = atol(PQgetvalue(r, i, 0));
            assert_true(id > last);
            last = id;
            seen++;
        }
        PQclear(r);
        if (done)
            break;
    }
    for (int i = 0; i < WRITERS; i++)
        pthread_join(th[i], NULL);
    total = pgtest_scalar(db, "SELECT count(*) FROM registration_events");
    fprintf(stderr,
            "listener: %ld events read once each after %ld notifications, "
            "%s in the table\n",
            seen, notes, total);
    assert_int_equal(seen, atol(total));
    free(total);
    PQfinish(l);
}

/* ---- append-only -----------------------------------------------------------
 */

static void test_append_only(void **state)
{
    char *st;

    (void)state;
    pgtest_exec(db, "INSERT INTO registrations (service, jid)"
                    " VALUES ('svc.example', 'x@x')");
    st = exec_fails(db, "UPDATE registration_events SET event = 'updated'");
    assert_string_equal(st, "42501");
    free(st);
    st = exec_fails(db, "DELETE FROM registration_events");
    assert_string_equal(st, "42501");
    free(st);
    st = exec_fails(db, "TRUNCATE registration_events");
    assert_string_equal(st, "42501");
    free(st);
    /* even in maintenance, no UPDATE */
    st = exec_fails(db, "BEGIN; SELECT set_config('registrar.maintenance',"
                        " 'on', true); UPDATE registration_events"
                        " SET event = 'updated'");
    free(st);
    pgtest_exec(db, "ROLLBACK");
    assert_scalar("SELECT count(*) FROM registration_events", "1");
    /* the owner (registrar_owner, sql/roles.sql) may insert, read and
     * delete (its purge and erasure functions), never update or truncate */
    assert_scalar("SELECT string_agg(privilege_type, ',' ORDER BY"
                  "                  privilege_type)"
                  "  FROM aclexplode((SELECT relacl FROM pg_class"
                  "                    WHERE oid = 'registration_events'"
                  "                                ::regclass))"
                  " WHERE grantee = (SELECT relowner FROM pg_class"
                  "                   WHERE oid = 'registration_events'"
                  "                               ::regclass)",
                  "DELETE,INSERT,REFERENCES,SELECT,TRIGGER");
    /* maintenance set by the transaction: DELETE allowed */
    pgtest_exec(db, "BEGIN; SELECT set_config('registrar.maintenance', 'on',"
                    " true); DELETE FROM registration_events; COMMIT");
    assert_scalar("SELECT count(*) FROM registration_events", "0");
    /* and it was local to that transaction */
    pgtest_exec(db, "INSERT INTO registrations (service, jid)"
                    " VALUES ('svc.example', 'y@x')");
    st = exec_fails(db, "DELETE FROM registration_events");
    free(st);
}

/* ---- sql/admin/, run by psql ------------------------------------------------
 */

/* psql -f sql/admin/NAME with the variables of vars ("-v a=b -v c=d");
 * its output (-At: unaligned, tuples only) into out; its exit status. */
static int psql_admin(const char *name, const char *vars, char *out,
                      size_t size)
{
    char cmd[2048];
    size_t len = 0, n;
    FILE *p;

    snprintf(cmd, sizeof(cmd),
             "PGTZ=UTC psql -X -At -q -v ON_ERROR_STOP=1 -d '%s' %s "
             "-f '%s/../../sql/admin/%s' 2>&1",
             conninfo, vars, TEST_DIR, name);
    p = popen(cmd, "r");
    assert_non_null(p);
    while (len + 1 < size && (n = fread(out + len, 1, size - len - 1, p)) > 0)
        len += n;
    out[len] = '\0';
    return WEXITSTATUS(pclose(p));
}

#define assert_psql(name, vars, want)                                          \
    do {                                                                       \
        static char out_[65536];                                               \
        int rc_ = psql_admin(name, vars, out_, sizeof(out_));                  \
        if (rc_ != 0 || strcmp(out_, want) != 0)                               \
            fail_msg("sql/admin/%s %s: exit %d\n got: %s\nwant: %s", name,     \
                     vars, rc_, out_, want);                                   \
    } while (0)

static void test_admin_queries(void **state)
{
    static char out[65536];

    (void)state;
    /* ann: active, with a password and a PIN; bob: pending; cat: pending
     * in another service too; events of 40 days ago for dan */
    pgtest_exec(db, "CREATE EXTENSION IF NOT EXISTS pgcrypto");
    pgtest_exec(db, "INSERT INTO registrations (service, jid, username, fields,"
                    "  password_hash, state, created_at) VALUES"
                    " ('svc.example', 'ann@x', 'ann', jsonb_build_object('pin',"
                    "   crypt('1234', gen_salt('bf', 4)), 'email', 'ann@x'),"
                    "   crypt('Calliope', gen_salt('bf', 4)), 'active',"
                    "   '2024-01-01 10:00+00'),"
                    " ('svc.example', 'bob@x', 'bob', '{}', NULL, 'pending',"
                    "   '2024-01-02 10:00+00'),"
                    " ('svc.example', 'cat@x', NULL, '{}', NULL, 'pending',"
                    "   '2024-01-01 09:00+00'),"
                    " ('other.example', 'cat@x', NULL, '{}', NULL, 'active',"
                    "   '2024-01-01 09:00+00')");
    pgtest_exec(db, "INSERT INTO registration_events (service, jid, event, at)"
                    " VALUES ('svc.example', 'dan@x', 'registered',"
                    "         now() - interval '40 days'),"
                    "        ('svc.example', 'dan@x', 'removed',"
                    "         now() - interval '39 days')");
    pgtest_exec(db, "UPDATE registrations SET state = 'disabled'"
                    " WHERE jid = 'ann@x' AND service = 'svc.example'");
    pgtest_exec(db, "UPDATE registrations SET state = 'active'"
                    " WHERE jid = 'ann@x' AND service = 'svc.example'");

    /* views, through their queries; never a hash */
    assert_true(psql_admin("active.sql", "-v service=svc.example", out,
                           sizeof(out)) == 0);
    if (strncmp(out,
                "ann@x|ann|{\"pin\": true, \"email\": \"ann@x\"}|t|{}|"
                "2024-01-01 10:00:00+00|",
                strlen("ann@x|ann|{\"pin\": true, \"email\": \"ann@x\"}|t|{}|"
                       "2024-01-01 10:00:00+00|")) != 0 ||
        strchr(out, '\n') != out + strlen(out) - 1)
        fail_msg("active.sql: %s", out);
    assert_null(strstr(out, "$2"));
    assert_true(psql_admin("pending.sql", "-v service=svc.example", out,
                           sizeof(out)) == 0);
    /* oldest first */
    assert_true(strncmp(out, "cat@x|", 6) == 0);
    assert_non_null(strstr(out, "\nbob@x|bob|"));
    assert_true(psql_admin("signups_per_day.sql", "-v service=svc.example", out,
                           sizeof(out)) == 0);
    /* newest day first: today's three sign-ups, then dan's two days */
    assert_non_null(strstr(out, "|3|0\n"));
    assert_non_null(strstr(out, "|0|1\n"));
    assert_true(strstr(out, "|3|0\n") < strstr(out, "|0|1\n"));
    pgtest_exec(db, "SET TimeZone = 'UTC'");
    assert_scalar("SELECT string_agg(signups || '/' || removals, ','"
                  "                  ORDER BY day)"
                  "  FROM registration_signups_daily"
                  " WHERE service = 'svc.example'",
                  "1/0,0/1,3/0");
    assert_true(
        psql_admin("events_of_jid.sql", "-v jid=ann@x", out, sizeof(out)) == 0);
    assert_non_null(strstr(out, "|svc.example|registered|"));
    assert_non_null(strstr(out, "\"from\": \"active\""));
    assert_non_null(strstr(out, "\"to\": \"active\""));

    /* export: one JSON document, every service, no hash */
    assert_true(
        psql_admin("export_jid.sql", "-v jid=cat@x", out, sizeof(out)) == 0);
    {
        PGresult *r;
        const char *p[] = {out};
        r = PQexecParams(db,
                         "SELECT jsonb_array_length($1::jsonb->"
                         "'registrations') || ' ' || jsonb_array_length("
                         "$1::jsonb->'events') || ' ' || ($1::jsonb->>'jid')",
                         1, NULL, p, NULL, NULL, 0);
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        assert_string_equal(PQgetvalue(r, 0, 0), "2 2 cat@x");
        PQclear(r);
    }
    assert_true(
        psql_admin("export_jid.sql", "-v jid=ann@x", out, sizeof(out)) == 0);
    assert_null(strstr(out, "$2"));
    assert_non_null(strstr(out, "\"has_password\": true"));

    /* forget: registrations, bans and events, in every service */
    assert_psql("forget_jid.sql", "-v jid=cat@x", "2|0|4\n");
    assert_scalar("SELECT count(*) FROM registrations WHERE jid = 'cat@x'",
                  "0");
    assert_scalar("SELECT count(*) FROM registration_events"
                  " WHERE jid = 'cat@x'",
                  "0");
    assert_scalar("SELECT count(*) FROM registration_events"
                  " WHERE jid <> 'cat@x'",
                  "6");

    /* purge: only what is older than N days */
    assert_psql("purge_events.sql", "-v days=30", "2\n");
    assert_scalar("SELECT count(*) FROM registration_events"
                  " WHERE jid = 'dan@x'",
                  "0");
    assert_scalar("SELECT count(*) FROM registration_events", "4");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_events_through_store, clean),
        cmocka_unit_test_setup(test_count_and_list, clean),
        cmocka_unit_test_setup(test_events_by_sql, clean),
        cmocka_unit_test_setup(test_no_event_for_no_change, clean),
        cmocka_unit_test_setup(test_one_notify_per_commit, clean),
        cmocka_unit_test_setup(test_writes_return_event_id, clean),
        cmocka_unit_test_setup(test_put_outcome_order, clean),
        cmocka_unit_test_setup(test_count_of_a_batch, clean),
        cmocka_unit_test_setup(test_second_writer_waits, clean),
        cmocka_unit_test_setup(test_listener_misses_nothing, clean),
        cmocka_unit_test_setup(test_append_only, clean),
        cmocka_unit_test_setup(test_admin_queries, clean),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
