/*
 * test_roles.c - the SQL contract against hostile database roles
 * (sql/010_contract.sql, sql/roles.sql), on a real PostgreSQL.
 *
 * Needs REGISTRAR_TEST_ADMIN_CONNINFO (a superuser of a throwaway
 * cluster, tests/harness/pg.sh).  Each run makes a database and login
 * roles of its own (names carry the pid) and drops them.  The schema is
 * migrated as the superuser, as an operator runs registrar --migrate; the
 * daemon's store logs in as a role granted registrar_service only.
 *
 * The attacks of the security review, each repeated here: a role with
 * UPDATE (state) that plants a temporary registration_events with a
 * trigger (nothing may run as the owner); registrar's own role that tries
 * to rewrite the audit trail; a role that sets registrar.* to forge an
 * event's origin and silence its notification; a disabled user who
 * removes and registers again.  Plus: every SECURITY DEFINER function has
 * its search_path pinned; a deployment whose daemon owns everything keeps
 * working, and moves to the separated roles.
 */
#include <libpq-fe.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* cmocka.h needs the headers above (stdarg, stddef, setjmp) */
#include <cmocka.h>

#include "pgtest.h"
#include "store.h"
#include "store_got.h"

static const char *admin;
static char dbname[64], conninfo[1024]; /* the superuser's, on the db */
static char daemon_role[64], backend_role[64], attacker_role[64],
    admin_role[64], reader_role[64];
static PGconn *db; /* superuser */

/* conninfo as role (trust authentication: no password). */
static void as_role(char *out, size_t len, const char *base, const char *role)
{
    if ((size_t)snprintf(out, len, "%s user=%s", base, role) >= len)
        fail_msg("conninfo too long");
}

static PGconn *connect_as(const char *role)
{
    char ci[1400];

    as_role(ci, sizeof(ci), conninfo, role);
    return pgtest_connect(ci);
}

/* The SQLSTATE of sql on c, which must fail; caller frees. */
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

#define assert_fails_with(c, sql, want)                                        \
    do {                                                                       \
        char *st_ = exec_fails(c, sql);                                        \
        if (strcmp(st_, want) != 0)                                            \
            fail_msg("%s: SQLSTATE %s, want %s", sql, st_, want);              \
        free(st_);                                                             \
    } while (0)

#define assert_scalar_on(c, sql, want)                                         \
    do {                                                                       \
        char *got_ = pgtest_scalar(c, sql);                                    \
        if (strcmp(got_, want) != 0)                                           \
            fail_msg("%s\n got: %s\nwant: %s", sql, got_, want);               \
        free(got_);                                                            \
    } while (0)
#define assert_scalar(sql, want) assert_scalar_on(db, sql, want)

static void sqlf(PGconn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sqlf(PGconn *c, const char *fmt, ...)
{
    char sql[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    pgtest_exec(c, sql);
}

static int setup(void **state)
{
    int pid = (int)getpid();

    (void)state;
    admin = getenv("REGISTRAR_TEST_ADMIN_CONNINFO");
    if (!admin) {
        fprintf(stderr, "REGISTRAR_TEST_ADMIN_CONNINFO is not set\n");
        return -1;
    }
    snprintf(dbname, sizeof(dbname), "registrar_roles_%d", pid);
    snprintf(daemon_role, sizeof(daemon_role), "daemon_%d", pid);
    snprintf(backend_role, sizeof(backend_role), "backend_%d", pid);
    snprintf(attacker_role, sizeof(attacker_role), "attacker_%d", pid);
    snprintf(admin_role, sizeof(admin_role), "admin_%d", pid);
    snprintf(reader_role, sizeof(reader_role), "reader_%d", pid);
    pgtest_create_db(admin, dbname, "C", conninfo, sizeof(conninfo));
    db = pgtest_connect(conninfo);
    pgtest_exec(db, "CREATE EXTENSION IF NOT EXISTS pgcrypto");
    {
        /* registrar --migrate, as the superuser */
        struct store *s = store_new(conninfo);

        if (store_migrate(s) != STORE_OK)
            return -1;
        store_close(s);
    }
    /* the login roles of an operator's deployment */
    sqlf(db, "CREATE ROLE %s LOGIN IN ROLE registrar_service", daemon_role);
    sqlf(db, "CREATE ROLE %s LOGIN IN ROLE registrar_backend", backend_role);
    sqlf(db, "CREATE ROLE %s LOGIN IN ROLE registrar_admin", admin_role);
    sqlf(db, "CREATE ROLE %s LOGIN IN ROLE registrar_reader", reader_role);
    /* the review's: only what a backend needs to change a state */
    sqlf(db, "CREATE ROLE %s LOGIN", attacker_role);
    sqlf(db,
         "GRANT SELECT (service, jid, state), UPDATE (state)"
         " ON registrations TO %s",
         attacker_role);
    return 0;
}

static int teardown(void **state)
{
    const char *roles[] = {daemon_role, backend_role, attacker_role, admin_role,
                           reader_role};

    (void)state;
    PQfinish(db);
    pgtest_drop_db(admin, dbname);
    {
        PGconn *a = pgtest_connect(admin);
        for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
            sqlf(a, "DROP ROLE IF EXISTS %s", roles[i]);
        PQfinish(a);
    }
    return 0;
}

/* Each test starts with no registration, ban nor event. */
static int clean(void **state)
{
    (void)state;
    pgtest_exec(db, "BEGIN;"
                    " SELECT set_config('registrar.maintenance', 'on', true);"
                    " TRUNCATE registrations, registration_bans,"
                    "          registration_events;"
                    " COMMIT");
    return 0;
}

/* A registration with a password hash, as registrar writes it. */
static void victim(const char *jid)
{
    sqlf(db,
         "SELECT registrar_put_checked('svc.example', '%s', NULL,"
         " '{\"first\": \"V\"}', crypt('secret', gen_salt('bf', 4)),"
         " 'active', NULL, 'iq-v', NULL, NULL)",
         jid);
    pgtest_exec(db, "UPDATE registrations SET password_hash ="
                    " replace(password_hash, '$2b$', '$2a$')"
                    " WHERE password_hash LIKE '$2b$%'");
}

static enum store_status put(struct store *s, const char *jid, struct got *g);

/* ---- 1. nothing a role can put in its path runs as the owner ---------- */

static void test_temp_table_hijack(void **state)
{
    PGconn *a = connect_as(attacker_role);
    char sql[512];

    (void)state;
    victim("victim@a.example");
    /* the review's attack: a temporary registration_events, with a
     * trigger that reads every hash and grants its role everything */
    pgtest_exec(a, "CREATE TEMP TABLE loot (h text)");
    pgtest_exec(a, "CREATE TEMP TABLE registration_events (service text,"
                   " jid text, event text, iq_id text, detail jsonb)");
    pgtest_exec(
        a, "CREATE FUNCTION pg_temp.steal() RETURNS trigger"
           " LANGUAGE plpgsql AS $$ BEGIN"
           " INSERT INTO pg_temp.loot"
           "  SELECT password_hash FROM public.registrations;"
           " EXECUTE 'GRANT ALL ON public.registrations,"
           "  public.registration_events TO ' || quote_ident(session_user);"
           " RETURN NULL; END $$");
    /* so that the owner, running the event trigger, may write into it */
    pgtest_exec(a, "GRANT ALL ON pg_temp.registration_events, pg_temp.loot"
                   " TO PUBLIC");
    pgtest_exec(a, "CREATE TRIGGER steal AFTER INSERT ON"
                   " pg_temp.registration_events FOR EACH ROW"
                   " EXECUTE FUNCTION pg_temp.steal()");
    pgtest_exec(a, "UPDATE public.registrations SET state = 'disabled'"
                   " WHERE jid = 'victim@a.example'");
    /* its trigger never ran: no hash read, nothing granted */
    assert_scalar_on(a, "SELECT count(*) FROM pg_temp.loot", "0");
    assert_scalar_on(a, "SELECT count(*) FROM pg_temp.registration_events",
                     "0");
    snprintf(sql, sizeof(sql),
             "SELECT has_table_privilege('%s', 'registrations', 'SELECT')"
             " OR has_table_privilege('%s', 'registration_events',"
             " 'DELETE') OR has_column_privilege('%s', 'registrations',"
             " 'password_hash', 'SELECT')",
             attacker_role, attacker_role, attacker_role);
    assert_scalar(sql, "f");
    assert_fails_with(a, "SELECT password_hash FROM public.registrations",
                      "42501");
    /* the change itself is logged, in the real table, as the role's */
    snprintf(sql, sizeof(sql),
             "SELECT event || ' ' || (detail->>'db_user') FROM"
             " registration_events WHERE jid = 'victim@a.example'"
             " ORDER BY id DESC LIMIT 1");
    {
        char want[128];
        snprintf(want, sizeof(want), "state_changed %s", attacker_role);
        assert_scalar(sql, want);
    }
    printf("temporary registration_events with a trigger: 0 hashes read, "
           "0 privileges gained, the event in public.registration_events\n");
    PQfinish(a);
}

/* sql/012: a trigger function is no function a role may put in a trigger
 * of its own.  010 left EXECUTE on the SECURITY DEFINER event function to
 * PUBLIC: a temporary table shaped like registrations, with a trigger
 * running registrations_event('registrar'), wrote an event of the role's
 * choosing (any JID, a forged actor and iq_id) into the real log, as the
 * owner.  Refused now; and were EXECUTE granted again, both definer
 * functions refuse to run for another table. */
static void test_trigger_function_hijack(void **state)
{
    static const char *const fns[] = {
        "public.registrations_event('registrar')",
        "public.registrations_event_owner('registrar')",
        "public.registration_events_notify()",
    };
    PGconn *a = connect_as(attacker_role);
    char sql[512];

    (void)state;
    pgtest_exec(a, "CREATE TEMP TABLE fake (service text, jid text,"
                   " username text, fields jsonb, password_hash text,"
                   " created_at timestamptz, updated_at timestamptz,"
                   " state text, consents jsonb, disabled_at timestamptz,"
                   " disabled_by text, disabled_reason text, id bigint,"
                   " event text, iq_id text, detail jsonb, at timestamptz)");
    pgtest_exec(a, "SELECT set_config('registrar.op', 'put', false),"
                   " set_config('registrar.actor', 'boss@forged', false),"
                   " set_config('registrar.iq_id', 'forged', false)");
    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        snprintf(sql, sizeof(sql),
                 "CREATE TRIGGER t%zu AFTER INSERT ON fake FOR EACH ROW"
                 " EXECUTE FUNCTION %s",
                 i, fns[i]);
        assert_fails_with(a, sql, "42501");
    }
    /* EXECUTE granted back by mistake: the definer functions still refuse
     * a table that is not theirs */
    sqlf(db,
         "GRANT EXECUTE ON FUNCTION registrations_event(),"
         " registration_events_notify() TO %s",
         attacker_role);
    pgtest_exec(a, "CREATE TRIGGER t0 AFTER INSERT ON fake FOR EACH ROW"
                   " EXECUTE FUNCTION public.registrations_event('registrar')");
    assert_fails_with(a,
                      "INSERT INTO fake (service, jid, fields, state,"
                      " consents) VALUES ('svc.example', 'victim@x', '{}',"
                      " 'active', '{}')",
                      "42501");
    pgtest_exec(a, "DROP TRIGGER t0 ON fake");
    pgtest_exec(a, "CREATE TRIGGER t1 AFTER INSERT ON fake FOR EACH ROW"
                   " EXECUTE FUNCTION public.registration_events_notify()");
    assert_fails_with(a,
                      "INSERT INTO fake (service, jid, fields, state,"
                      " consents) VALUES ('svc.example', 'victim@x', '{}',"
                      " 'active', '{}')",
                      "42501");
    sqlf(db,
         "REVOKE EXECUTE ON FUNCTION registrations_event(),"
         " registration_events_notify() FROM %s",
         attacker_role);
    assert_scalar("SELECT count(*) FROM registration_events", "0");
    printf("a trigger of a role's own table running the event functions: "
           "refused (no EXECUTE; and each checks its table)\n");
    PQfinish(a);
}

/* sql/012: the event triggers tell the owner's statements by the owner's
 * name, written into their WHEN; registrar_trust_owner() writes it again
 * when the tables change hands (sql/roles.sql runs it after moving them),
 * and registrar's writes keep their origin on either side. */
static void test_trust_follows_owner(void **state)
{
    char ci[1400], role[64], want[128];
    struct store *s;
    struct got g;

    (void)state;
    snprintf(role, sizeof(role), "newowner_%d", (int)getpid());
    assert_scalar("SELECT pg_get_triggerdef(oid) LIKE"
                  " '%CURRENT_USER = ''registrar_owner''::name%'"
                  " FROM pg_trigger WHERE tgname = 'registrations_event'",
                  "t");
    assert_scalar("SELECT registrar_trust_owner()", "f"); /* bound */
    as_role(ci, sizeof(ci), conninfo, daemon_role);
    s = store_new(ci);
    assert_int_equal(put(s, "own1@a.example", &g), STORE_OK);
    /* another owner (with registrar_owner's rights on the other tables):
     * until bound, its functions' writes are recorded as plain SQL's */
    sqlf(db, "CREATE ROLE %s NOLOGIN IN ROLE registrar_owner", role);
    sqlf(db, "ALTER TABLE registrations OWNER TO %s", role);
    sqlf(db,
         "ALTER FUNCTION registrar_put_event(text, text, text, jsonb, text,"
         " text, jsonb, text, text, text[]) OWNER TO %s",
         role);
    assert_int_equal(put(s, "own2@a.example", &g), STORE_OK);
    snprintf(want, sizeof(want), "- %s", daemon_role);
    assert_scalar("SELECT coalesce(iq_id, '-') || ' ' || (detail->>'db_user')"
                  " FROM registration_events WHERE jid = 'own2@a.example'",
                  want);
    assert_scalar("SELECT registrar_trust_owner()", "t");
    assert_int_equal(put(s, "own3@a.example", &g), STORE_OK);
    assert_scalar("SELECT iq_id || ' ' || (detail ? 'db_user')::text"
                  " FROM registration_events WHERE jid = 'own3@a.example'",
                  "reg false");
    /* and back, as roles.sql leaves it */
    pgtest_exec(db, "ALTER TABLE registrations OWNER TO registrar_owner");
    pgtest_exec(db, "ALTER FUNCTION registrar_put_event(text, text, text,"
                    " jsonb, text, text, jsonb, text, text, text[])"
                    " OWNER TO registrar_owner");
    assert_scalar("SELECT registrar_trust_owner()", "t");
    assert_int_equal(put(s, "own4@a.example", &g), STORE_OK);
    assert_scalar("SELECT string_agg(jid || ' ' || coalesce(iq_id, '-'), ','"
                  "                  ORDER BY id)"
                  " FROM registration_events WHERE jid LIKE 'own%'",
                  "own1@a.example reg,own2@a.example -,"
                  "own3@a.example reg,own4@a.example reg");
    store_close(s);
    sqlf(db, "DROP ROLE %s", role);
}

/* Every SECURITY DEFINER function of the schema pins its search_path to
 * pg_catalog, pg_temp (pg_temp last) or to nothing. */
static void test_definer_search_path(void **state)
{
    PGresult *r =
        PQexec(db, "SELECT p.oid::regprocedure, coalesce(array_to_string("
                   "        p.proconfig, ' '), '(none)')"
                   "  FROM pg_proc p"
                   " WHERE p.prosecdef"
                   "   AND p.pronamespace = 'public'::regnamespace"
                   " ORDER BY 1::text");
    int bad = 0, n;

    (void)state;
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    n = PQntuples(r);
    assert_true(n > 0);
    for (int i = 0; i < n; i++) {
        const char *cfg = PQgetvalue(r, i, 1);
        bool ok = strcmp(cfg, "search_path=pg_catalog, pg_temp") == 0 ||
                  strcmp(cfg, "search_path=\"\"") == 0;

        printf("%-4s %s %s\n", ok ? "ok" : "BAD", PQgetvalue(r, i, 0), cfg);
        bad += !ok;
    }
    PQclear(r);
    printf("%d SECURITY DEFINER function(s), %d without a pinned "
           "search_path\n",
           n, bad);
    assert_int_equal(bad, 0);
}

/* ---- 2a. registrar's own role cannot rewrite the audit trail ----------- */

static void test_daemon_cannot_rewrite_events(void **state)
{
    PGconn *d = connect_as(daemon_role);
    PGresult *r;
    char sql[512];

    (void)state;
    victim("v2@a.example");
    /* a GRANT by a role that holds nothing grants nothing */
    sqlf(d, "GRANT DELETE ON registration_events TO %s", daemon_role);
    snprintf(sql, sizeof(sql),
             "SELECT has_table_privilege('%s', 'registration_events',"
             " 'DELETE') OR has_table_privilege('%s',"
             " 'registration_events', 'INSERT') OR has_table_privilege("
             "'%s', 'registrations', 'UPDATE')",
             daemon_role, daemon_role, daemon_role);
    assert_scalar(sql, "f");
    pgtest_exec(d, "SET registrar.maintenance = 'on'");
    assert_fails_with(d, "DELETE FROM registration_events", "42501");
    assert_fails_with(d, "TRUNCATE registration_events", "42501");
    assert_fails_with(d,
                      "ALTER TABLE registration_events DISABLE TRIGGER"
                      " registration_events_append_only",
                      "42501");
    assert_fails_with(d,
                      "INSERT INTO registration_events (service, jid, event,"
                      " detail) VALUES ('svc.example', 'v2@a.example',"
                      " 'state_changed', '{\"actor\": \"adm@a.example\"}')",
                      "42501");
    assert_fails_with(d, "UPDATE registrations SET state = 'active'", "42501");
    assert_fails_with(d, "DROP TABLE registration_events", "42501");
    assert_fails_with(d, "SELECT registrar_forget_jid('v2@a.example')",
                      "42501");
    assert_fails_with(d, "SELECT registrar_purge_events('0')", "42501");
    assert_scalar("SELECT count(*) FROM registration_events"
                  " WHERE jid = 'v2@a.example'",
                  "1");
    /* what it is for: its write functions, naming the admin who acted */
    r = PQexec(d, "SELECT outcome FROM registrar_put_checked('svc.example',"
                  " 'v3@a.example', NULL, '{}', NULL, 'active', NULL,"
                  " 'iq-3', NULL, NULL)");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "created");
    PQclear(r);
    pgtest_exec(d, "SELECT registrar_set_state_from('svc.example',"
                   " 'v3@a.example', 'disabled', NULL, 'cmd-3',"
                   " 'adm@a.example', 'spam')");
    assert_scalar("SELECT iq_id || ' ' || (detail->>'actor') || ' '"
                  " || (detail->>'reason') FROM registration_events"
                  " WHERE jid = 'v3@a.example' AND event = 'state_changed'",
                  "cmd-3 adm@a.example spam");
    printf("registrar's role: GRANT, DELETE, TRUNCATE, DISABLE TRIGGER, "
           "INSERT, UPDATE, DROP, forget, purge all refused\n");
    PQfinish(d);
}

/* The daemon's store runs on registrar_service alone, and refuses a schema
 * behind it that it does not own (saying what to run). */
static void test_daemon_store_least_privilege(void **state)
{
    char ci[1400];
    struct store *s;

    (void)state;
    as_role(ci, sizeof(ci), conninfo, daemon_role);
    s = store_new(ci);
    assert_int_equal(store_prepare(s), STORE_OK);
    store_close(s);
    /* a schema behind the binary: the daemon does not touch it */
    pgtest_exec(db, "DELETE FROM registrar_schema_migrations"
                    " WHERE version = (SELECT max(version)"
                    "                    FROM registrar_schema_migrations)");
    s = store_new(ci);
    assert_int_equal(store_prepare(s), STORE_ERROR);
    store_close(s);
    sqlf(db,
         "INSERT INTO registrar_schema_migrations (version, name)"
         " VALUES (%d, 'back')",
         store_schema_version());
    s = store_new(ci);
    assert_int_equal(store_prepare(s), STORE_OK);
    store_close(s);
}

/* ---- 2b. an event's origin comes only from registrar's functions -------- */

static void test_forged_origin(void **state)
{
    PGconn *b = connect_as(backend_role), *l = pgtest_connect(conninfo);
    PGnotify *n = NULL;
    char want[256], *id;

    (void)state;
    victim("v4@a.example");
    pgtest_exec(l, "LISTEN registrar");
    /* every setting the trigger and the notification read, forged */
    pgtest_exec(b, "SELECT set_config('registrar.actor', 'adm@a.example',"
                   " false), set_config('registrar.iq_id', 'forged', false),"
                   " set_config('registrar.op', 'set_state', false),"
                   " set_config('registrar.events_count', '99', false),"
                   " set_config('registrar.events_last', '999999', false)");
    pgtest_exec(b, "UPDATE registrations SET state = 'disabled'"
                   " WHERE jid = 'v4@a.example'");
    snprintf(want, sizeof(want), "(null) null %s", backend_role);
    assert_scalar("SELECT coalesce(iq_id, '(null)') || ' ' ||"
                  " coalesce(detail->>'actor', 'null') || ' ' ||"
                  " (detail->>'db_user') FROM registration_events"
                  " WHERE jid = 'v4@a.example' AND event = 'state_changed'",
                  want);
    /* and its commit notified, with the true id */
    for (int i = 0; i < 50 && !n; i++) {
        usleep(20000);
        PQconsumeInput(l);
        n = PQnotifies(l);
    }
    assert_non_null(n);
    id = pgtest_scalar(db, "SELECT max(id) FROM registration_events");
    snprintf(want, sizeof(want), "\"id\": %s,", id);
    if (!strstr(n->extra, want))
        fail_msg("payload %s does not carry %s", n->extra, want);
    printf("forged registrar.* settings: event by %s, no actor, no iq_id; "
           "notified: %s\n",
           backend_role, n->extra);
    free(id);
    PQfreemem(n);
    PQfinish(l);
    PQfinish(b);
}

/* What each group role reads: no hash of any kind but for registrar. */
static void test_group_roles(void **state)
{
    PGconn *r = connect_as(reader_role), *b = connect_as(backend_role),
           *a = connect_as(admin_role);

    (void)state;
    victim("v5@a.example");
    assert_scalar_on(r, "SELECT count(*) FROM registrations_admin", "1");
    assert_scalar_on(r, "SELECT count(*) FROM registration_events", "1");
    assert_fails_with(r, "SELECT * FROM registrations", "42501");
    assert_fails_with(b, "SELECT password_hash FROM registrations", "42501");
    assert_fails_with(b, "SELECT fields FROM registrations", "42501");
    assert_fails_with(b, "DELETE FROM registrations", "42501");
    pgtest_exec(b, "UPDATE registrations SET state = 'disabled',"
                   " disabled_reason = 'chargeback'"
                   " WHERE service = 'svc.example' AND jid = 'v5@a.example'");
    assert_scalar("SELECT disabled_reason || ' ' || (disabled_by IS NULL)"
                  " FROM registrations WHERE jid = 'v5@a.example'",
                  "chargeback true");
    assert_fails_with(b, "SELECT registrar_forget_jid('v5@a.example')",
                      "42501");
    assert_fails_with(
        b,
        "SELECT registrar_put_checked('svc.example', 'x@a.example', NULL,"
        " '{}', NULL, 'active', NULL, 'iq', 'adm@a.example', NULL)",
        "42501");
    /* the admin erases a JID everywhere, through the owner's function */
    assert_scalar_on(a,
                     "SELECT registrations || ' ' || events FROM"
                     " registrar_forget_jid('v5@a.example')",
                     "1 3");
    assert_scalar("SELECT count(*) FROM registration_events"
                  " WHERE jid = 'v5@a.example'",
                  "0");
    PQfinish(a);
    PQfinish(b);
    PQfinish(r);
}

/* ---- 3. moderation that holds ------------------------------------------ */

static enum store_status put(struct store *s, const char *jid, struct got *g)
{
    struct store_put p = {
        .service = "svc.example", .jid = jid, .origin = {.iq_id = "reg"}};

    memset(g, 0, sizeof(*g));
    store_put(s, &p, on_put, g);
    assert_int_equal(g->calls, 1);
    return g->st;
}

static void test_disabled_user_stays_out(void **state)
{
    char ci[1400];
    struct store *s;
    struct got g;
    struct store_origin adm = {
        .iq_id = "cmd", .actor = "adm@a.example", .reason = "spam, twice"};
    struct store_origin user = {.iq_id = "rm"};

    (void)state;
    as_role(ci, sizeof(ci), conninfo, daemon_role);
    s = store_new(ci);
    assert_int_equal(put(s, "eve@a.example", &g), STORE_OK);
    memset(&g, 0, sizeof(g));
    store_set_state(s, "svc.example", "eve@a.example", STORE_STATE_DISABLED,
                    NULL, &adm, on_done, &g);
    assert_int_equal(g.st, STORE_OK);
    /* the reason reaches the user on a get and on a refused update */
    memset(&g, 0, sizeof(g));
    store_get(s, "svc.example", "eve@a.example", NULL, on_get, &g);
    assert_int_equal(g.state, STORE_STATE_DISABLED);
    assert_string_equal(g.rec_reason, "spam, twice");
    assert_int_equal(put(s, "eve@a.example", &g), STORE_NOT_ALLOWED);
    assert_string_equal(g.reason, "spam, twice");
    /* the user cancels: data erased, a ban kept */
    memset(&g, 0, sizeof(g));
    store_remove(s, "svc.example", "eve@a.example", &user, on_done, &g);
    assert_int_equal(g.st, STORE_OK);
    assert_scalar("SELECT count(*) FROM registrations", "0");
    assert_scalar("SELECT actor || ' / ' || reason FROM registration_bans"
                  " WHERE service = 'svc.example' AND jid = 'eve@a.example'",
                  "adm@a.example / spam, twice");
    assert_scalar("SELECT detail::text FROM registration_events"
                  " WHERE jid = 'eve@a.example' AND event = 'removed'",
                  "{\"state\": \"disabled\", \"banned\": true}");
    /* and may not come back, by any path (they all put) */
    assert_int_equal(put(s, "eve@a.example", &g), STORE_BANNED);
    assert_string_equal(g.reason, "spam, twice");
    assert_scalar("SELECT count(*) FROM registrations", "0");
    /* registrar's role reads the bans (the admins' list command) */
    {
        struct got lg = {0};

        store_list_bans(s, "svc.example", 0, on_list, &lg);
        assert_int_equal(lg.st, STORE_OK);
        assert_string_equal(lg.list, "eve@a.example");
        store_count_bans(s, "svc.example", on_count, &lg);
        assert_int_equal(lg.st, STORE_OK);
        assert_int_equal(lg.n, 1);
        store_list_bans(s, "other.example", 0, on_list, &lg);
        assert_string_equal(lg.list, "");
    }
    /* an admin lifts the ban (reenable-user): registered again */
    memset(&g, 0, sizeof(g));
    store_unban(s, "svc.example", "eve@a.example", &adm, on_done, &g);
    assert_int_equal(g.st, STORE_OK);
    assert_scalar("SELECT detail->>'actor' FROM registration_events"
                  " WHERE jid = 'eve@a.example' AND event = 'ban_lifted'",
                  "adm@a.example");
    memset(&g, 0, sizeof(g));
    store_unban(s, "svc.example", "eve@a.example", &adm, on_done, &g);
    assert_int_equal(g.st, STORE_NOT_FOUND);
    assert_int_equal(put(s, "eve@a.example", &g), STORE_OK);
    assert_true(g.created);
    /* an admin's delete-user of a disabled account deletes, no ban */
    memset(&g, 0, sizeof(g));
    store_set_state(s, "svc.example", "eve@a.example", STORE_STATE_DISABLED,
                    NULL, &adm, on_done, &g);
    store_remove(s, "svc.example", "eve@a.example", &adm, on_done, &g);
    assert_int_equal(g.st, STORE_OK);
    assert_scalar("SELECT count(*) FROM registration_bans", "0");
    /* a backend's plain SQL disable bans as well once the user leaves;
     * an admin role lifts it in SQL, recorded as its role */
    assert_int_equal(put(s, "eve@a.example", &g), STORE_OK);
    {
        PGconn *b = connect_as(backend_role), *a = connect_as(admin_role);
        char want[128];

        pgtest_exec(b, "UPDATE registrations SET state = 'disabled'"
                       " WHERE jid = 'eve@a.example'");
        memset(&g, 0, sizeof(g));
        store_remove(s, "svc.example", "eve@a.example", &user, on_done, &g);
        assert_scalar("SELECT count(*) FROM registration_bans", "1");
        assert_scalar_on(a,
                         "SELECT registrar_lift_ban('svc.example',"
                         " 'eve@a.example')",
                         "t");
        snprintf(want, sizeof(want), "%s", admin_role);
        assert_scalar("SELECT detail->>'db_user' FROM registration_events"
                      " WHERE event = 'ban_lifted' ORDER BY id DESC LIMIT 1",
                      want);
        PQfinish(a);
        PQfinish(b);
    }
    store_close(s);
}

/* ---- deployments of before 010 ----------------------------------------- */

/* A daemon role that owns its database and migrated it itself keeps
 * working (warned); --migrate as the superuser then moves everything to
 * registrar_owner, and the same role, granted registrar_service, runs on. */
static void test_legacy_owner_moves(void **state)
{
    char role[64], db2[64], ci_super[1200], ci_role[1400], sql[512];
    PGconn *a = pgtest_connect(admin), *c;
    struct store *s;

    (void)state;
    snprintf(role, sizeof(role), "legacy_%d", (int)getpid());
    snprintf(db2, sizeof(db2), "registrar_legacy_%d", (int)getpid());
    sqlf(a, "CREATE ROLE %s LOGIN", role);
    sqlf(a,
         "CREATE DATABASE %s OWNER %s TEMPLATE template0 ENCODING 'UTF8'"
         " LOCALE 'C'",
         db2, role);
    snprintf(ci_super, sizeof(ci_super), "%s dbname=%s", admin, db2);
    as_role(ci_role, sizeof(ci_role), ci_super, role);
    /* as before: registrar migrates with its own role, which may not
     * create roles: the tables stay its own */
    s = store_new(ci_role);
    assert_int_equal(store_migrate(s), STORE_OK);
    assert_int_equal(store_prepare(s), STORE_OK);
    store_close(s);
    c = pgtest_connect(ci_super);
    snprintf(sql, sizeof(sql),
             "SELECT pg_get_userbyid(relowner) = '%s' FROM pg_class"
             " WHERE oid = 'registration_events'::regclass",
             role);
    assert_scalar_on(c, sql, "t");
    /* the owner's functions work there too */
    assert_scalar_on(c, "SELECT events FROM registrar_forget_jid('x@y')", "0");
    /* the move: --migrate as the superuser, then the GRANT */
    s = store_new(ci_super);
    assert_int_equal(store_migrate(s), STORE_OK);
    store_close(s);
    assert_scalar_on(c,
                     "SELECT string_agg(DISTINCT pg_get_userbyid(relowner),"
                     " ',') FROM pg_class WHERE relnamespace ="
                     " 'public'::regnamespace AND relkind IN ('r', 'v')",
                     "registrar_owner");
    sqlf(c, "GRANT registrar_service TO %s", role);
    sqlf(c, "ALTER DATABASE %s OWNER TO postgres", db2);
    s = store_new(ci_role);
    assert_int_equal(store_prepare(s), STORE_OK);
    store_close(s);
    snprintf(sql, sizeof(sql),
             "SELECT has_table_privilege('%s', 'registration_events',"
             " 'DELETE')",
             role);
    assert_scalar_on(c, sql, "f");
    PQfinish(c);
    sqlf(a, "DROP DATABASE %s WITH (FORCE)", db2);
    sqlf(a, "DROP ROLE %s", role);
    PQfinish(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_temp_table_hijack, clean),
        cmocka_unit_test_setup(test_trigger_function_hijack, clean),
        cmocka_unit_test_setup(test_trust_follows_owner, clean),
        cmocka_unit_test_setup(test_definer_search_path, clean),
        cmocka_unit_test_setup(test_daemon_cannot_rewrite_events, clean),
        cmocka_unit_test_setup(test_daemon_store_least_privilege, clean),
        cmocka_unit_test_setup(test_forged_origin, clean),
        cmocka_unit_test_setup(test_group_roles, clean),
        cmocka_unit_test_setup(test_disabled_user_stays_out, clean),
        cmocka_unit_test_setup(test_legacy_owner_moves, clean),
    };
    const char *only = getenv("REGISTRAR_TEST_ONLY");

    if (only)
        cmocka_set_test_filter(only);
    return cmocka_run_group_tests(tests, setup, teardown);
}
