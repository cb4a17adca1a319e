/*
 * test_store_invites.c - invitations (sql/013) through store.c and by plain
 * SQL, against a real PostgreSQL: a token stored only as its SHA-256; a
 * registration with a token uses it in its own transaction (and only a
 * creation does: a conflict, an update, a refused username use nothing);
 * unknown, expired, revoked, used-up and wrongly bound tokens; required
 * invitations; the <preauth/> binding (the expiry checked at the bind,
 * not again); the events invite_created, invite_redeemed, invite_revoked
 * and their NOTIFY; the admin view; and a single-use token raced by two
 * JIDs through two connections: exactly one registers.
 *
 * Needs REGISTRAR_TEST_ADMIN_CONNINFO (tests/store/run.sh).
 */
#include <libpq-fe.h>
#include <pthread.h>
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

#define SVC "svc.example"
#define TOKEN1 "tok1-AAAAAAAAAAAAAAAAAAAAAAAA"
#define TOKEN2 "tok2-BBBBBBBBBBBBBBBBBBBBBBBB"

static char dbname[64];
static char conninfo[1024];
static const char *admin;
static PGconn *db;
static struct store *store;

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
    snprintf(dbname, sizeof(dbname), "registrar_invites_%d", (int)getpid());
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

static int clean(void **state)
{
    (void)state;
    pgtest_exec(db, "BEGIN;"
                    " SELECT set_config('registrar.maintenance', 'on', true);"
                    " TRUNCATE registrations, registration_events,"
                    "   registration_invites CASCADE;"
                    " COMMIT");
    return 0;
}

/* ---- the store's answers ---------------------------------------------------
 */

struct made {
    int calls;
    enum store_status st;
    char id[32], token[128], expires[64];
};

static void on_made(void *arg, enum store_status st,
                    const struct store_table *t)
{
    struct made *m = arg;

    m->calls++;
    m->st = st;
    if (st != STORE_OK || !t || t->nrows != 1)
        return;
    snprintf(m->id, sizeof(m->id), "%s", store_table_cell(t, 0, 0));
    snprintf(m->token, sizeof(m->token), "%s", store_table_cell(t, 0, 1));
    snprintf(m->expires, sizeof(m->expires), "%s",
             store_table_cell(t, 0, 2) ? store_table_cell(t, 0, 2) : "");
}

/* An invitation of SVC; token NULL: made by the database. */
static struct made create(const char *token, unsigned long ttl_s,
                          unsigned max_uses, const char *bound,
                          const char *state)
{
    struct made m = {0};
    struct store_invite inv = {.service = SVC,
                               .token = token,
                               .ttl_s = ttl_s,
                               .max_uses = max_uses,
                               .bound_to = bound,
                               .initial_state = state,
                               .label = "for tests",
                               .origin = {.iq_id = "c1", .actor = "admin@x"}};

    store_invite_create(store, &inv, on_made, &m);
    assert_int_equal(m.calls, 1);
    assert_int_equal(m.st, STORE_OK);
    return m;
}

/* The state the last put that created a registration said it started
 * in (store_put.started). */
static enum store_state started;

static enum store_status put_on(struct store *s, const char *jid,
                                const char *user, const char *token,
                                bool required)
{
    struct got g = {0};
    struct form_data d = {0};
    struct store_put p = {.service = SVC,
                          .jid = jid,
                          .username = user,
                          .fields = &d,
                          .initial_state = STORE_STATE_ACTIVE,
                          .origin = {.iq_id = "r1"},
                          .invite = true,
                          .invite_token = token,
                          .invite_required = required,
                          .started = &started};

    assert_true(form_data_add(&d, "first", "x"));
    store_put(s, &p, on_put, &g);
    form_data_clear(&d);
    assert_int_equal(g.calls, 1);
    return g.st;
}

static enum store_status put(const char *jid, const char *user,
                             const char *token, bool required)
{
    return put_on(store, jid, user, token, required);
}

static enum store_status bind_invite(const char *token, const char *jid)
{
    struct got g = {0};

    store_invite_bind(store, SVC, token, jid, 3600, on_done, &g);
    assert_int_equal(g.calls, 1);
    return g.st;
}

static enum store_status revoke_invite(const char *id)
{
    struct got g = {0};
    struct store_origin o = {.iq_id = "v1", .actor = "admin@x"};

    store_invite_revoke(store, SVC, strtoull(id, NULL, 10), &o, on_done, &g);
    assert_int_equal(g.calls, 1);
    return g.st;
}

static enum store_state state_of(const char *jid)
{
    struct got g = {0};

    store_get(store, SVC, jid, NULL, on_get, &g);
    assert_int_equal(g.st, STORE_OK);
    return g.state;
}

/* ---- tests
 * -------------------------------------------------------------------- */

static void test_token_stored_as_hash(void **state)
{
    struct made m = create(TOKEN1, 3600, 1, NULL, NULL);
    struct made n = create(NULL, 0, 0, NULL, NULL);

    (void)state;
    assert_string_equal(m.token, TOKEN1);
    assert_true(m.expires[0] != '\0');
    /* made by the database: 43 characters of base64url */
    assert_int_equal(strlen(n.token), 43);
    assert_true(strspn(n.token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
                                "tuvwxyz0123456789-_") == 43);
    assert_string_equal(n.expires, "");
    /* only the SHA-256 is stored, nowhere the token */
    assert_scalar("SELECT count(*) FROM registration_invites"
                  " WHERE token_hash = sha256('" TOKEN1 "')",
                  "1");
    assert_scalar("SELECT count(*) FROM registration_invites i"
                  " WHERE i::text LIKE '%tok1-%'",
                  "0");
    assert_scalar("SELECT count(*) FROM registration_events"
                  " WHERE detail::text LIKE '%tok1-%'",
                  "0");
    /* a token under 128 bits is refused */
    {
        struct made s = {0};
        struct store_invite inv = {.service = SVC, .token = "short"};

        store_invite_create(store, &inv, on_made, &s);
        assert_int_not_equal(s.st, STORE_OK);
    }
}

static void test_redeem_single_use(void **state)
{
    struct made m = create(TOKEN1, 3600, 1, NULL, "pending");

    (void)state;
    assert_int_equal(put("a@x", "alice", TOKEN1, true), STORE_OK);
    /* the invitation's initial state wins over the put's, and the put
     * says so (the welcome message names it) */
    assert_int_equal(state_of("a@x"), STORE_STATE_PENDING);
    assert_int_equal(started, STORE_STATE_PENDING);
    assert_scalar("SELECT uses FROM registration_invites", "1");
    assert_scalar("SELECT jid FROM registration_invite_redemptions", "a@x");
    /* used up: another JID cannot */
    assert_int_equal(put("b@x", "bob", TOKEN1, false), STORE_BAD_INVITE);
    assert_scalar("SELECT count(*) FROM registrations WHERE jid = 'b@x'", "0");
    /* an update of a@x needs none, and uses none (a token given is
     * still checked) */
    assert_int_equal(put("a@x", "alice", NULL, true), STORE_OK);
    assert_int_equal(put("a@x", "alice", TOKEN1, true), STORE_BAD_INVITE);
    assert_scalar("SELECT state FROM registration_invites_admin", "used");
    assert_scalar("SELECT jsonb_array_length(redemptions)"
                  "  FROM registration_invites_admin",
                  "1");
    (void)m;
}

static void test_refusals_use_nothing(void **state)
{
    (void)state;
    create(TOKEN1, 3600, 1, NULL, NULL);
    assert_int_equal(put("a@x", "alice", NULL, false), STORE_OK);
    /* the username is alice's: a conflict, the token unused */
    assert_int_equal(put("b@x", "alice", TOKEN1, true), STORE_CONFLICT);
    /* the username rule refuses it: unused */
    assert_int_equal(put("b@x", " bad", TOKEN1, true), STORE_INVALID);
    assert_scalar("SELECT uses FROM registration_invites", "0");
    assert_scalar("SELECT count(*) FROM registration_events"
                  " WHERE event = 'invite_redeemed'",
                  "0");
    assert_int_equal(put("b@x", "bob", TOKEN1, true), STORE_OK);
    assert_scalar("SELECT uses FROM registration_invites", "1");
}

static void test_unusable_tokens(void **state)
{
    struct made r;

    (void)state;
    /* unknown */
    assert_int_equal(put("a@x", "a", "no-such-token-AAAAAAAAAAAA", false),
                     STORE_BAD_INVITE);
    /* expired */
    create(TOKEN1, 3600, 0, NULL, NULL);
    pgtest_exec(db, "UPDATE registration_invites"
                    " SET expires_at = now() - interval '1 s'");
    assert_int_equal(put("a@x", "a", TOKEN1, false), STORE_BAD_INVITE);
    assert_int_equal(bind_invite(TOKEN1, "a@x"), STORE_BAD_INVITE);
    /* revoked */
    r = create(TOKEN2, 3600, 0, NULL, NULL);
    assert_int_equal(revoke_invite(r.id), STORE_OK);
    assert_int_equal(revoke_invite(r.id), STORE_NOT_FOUND); /* already */
    assert_int_equal(put("a@x", "a", TOKEN2, false), STORE_BAD_INVITE);
    /* another service's */
    assert_int_equal(revoke_invite("999999"), STORE_NOT_FOUND);
    assert_scalar("SELECT count(*) FROM registrations", "0");
}

static void test_bound_tokens(void **state)
{
    (void)state;
    create(TOKEN1, 3600, 0, "a@x", NULL);
    create(TOKEN2, 3600, 0, "y.example", NULL);
    assert_int_equal(put("b@x", "b", TOKEN1, false), STORE_BAD_INVITE);
    assert_int_equal(put("a@x", "a", TOKEN1, false), STORE_OK);
    assert_int_equal(put("c@x", "c", TOKEN2, false), STORE_BAD_INVITE);
    assert_int_equal(put("c@y.example", "c", TOKEN2, false), STORE_OK);
    assert_int_equal(put("d@y.example", "d", TOKEN2, false), STORE_OK);
    assert_scalar("SELECT uses FROM registration_invites"
                  " WHERE bound_to = 'y.example'",
                  "2");
}

static void test_required(void **state)
{
    (void)state;
    assert_int_equal(put("a@x", "a", NULL, true), STORE_NO_INVITE);
    assert_int_equal(put("a@x", "a", NULL, false), STORE_OK);
    /* registered: an update needs none */
    assert_int_equal(put("a@x", "a2", NULL, true), STORE_OK);
    assert_scalar("SELECT count(*) FROM registrations", "1");
}

/* registrar_forget_jid (013's) takes a JID's redemptions and bindings
 * with it, and its name off the invitations it made. */
static void test_forget_covers_invitations(void **state)
{
    (void)state;
    create(TOKEN1, 3600, 0, NULL, NULL);
    create(TOKEN2, 3600, 0, NULL, NULL);
    assert_int_equal(put("a@x", "alice", TOKEN1, true), STORE_OK);
    assert_int_equal(put("b@x", "bob", TOKEN1, true), STORE_OK);
    assert_int_equal(bind_invite(TOKEN2, "a@x"), STORE_OK);
    pgtest_exec(db, "UPDATE registration_invites SET creator = 'a@x'");
    pgtest_exec(db, "SELECT registrar_forget_jid('a@x')");
    assert_scalar("SELECT count(*) FROM registration_invite_redemptions"
                  " WHERE jid = 'a@x'",
                  "0");
    assert_scalar("SELECT count(*) FROM registration_invite_bindings"
                  " WHERE jid = 'a@x'",
                  "0");
    assert_scalar("SELECT count(*) FROM registration_invites"
                  " WHERE creator = 'a@x'",
                  "0");
    /* another's stays */
    assert_scalar("SELECT count(*) FROM registration_invite_redemptions"
                  " WHERE jid = 'b@x'",
                  "1");
}

static void test_preauth_binding(void **state)
{
    (void)state;
    create(TOKEN1, 3600, 1, NULL, NULL);
    assert_int_equal(bind_invite("no-such-token-AAAAAAAAAAAA", "a@x"),
                     STORE_BAD_INVITE);
    assert_int_equal(bind_invite(TOKEN1, "a@x"), STORE_OK);
    /* binding uses nothing */
    assert_scalar("SELECT uses FROM registration_invites", "0");
    /* XEP-0445: the expiry was checked at the preauth, not again */
    pgtest_exec(db, "UPDATE registration_invites"
                    " SET expires_at = now() - interval '1 s'");
    /* another JID has no binding */
    assert_int_equal(put("b@x", "b", NULL, true), STORE_NO_INVITE);
    assert_int_equal(put("a@x", "a", NULL, true), STORE_OK);
    assert_scalar("SELECT uses FROM registration_invites", "1");
    assert_scalar("SELECT count(*) FROM registration_invite_bindings", "0");
    assert_scalar("SELECT detail->>'via' FROM registration_events"
                  " WHERE event = 'invite_redeemed'",
                  "preauth");
    /* a revoked invitation's binding goes with it */
    create(TOKEN2, 3600, 0, NULL, NULL);
    assert_int_equal(bind_invite(TOKEN2, "c@x"), STORE_OK);
    pgtest_exec(db, "SELECT registrar_invite_revoke('" SVC "',"
                    " (SELECT id FROM registration_invites"
                    "   WHERE token_hash = sha256('" TOKEN2 "')), NULL, NULL)");
    assert_int_equal(put("c@x", "c", NULL, true), STORE_NO_INVITE);
}

static void test_events_and_notify(void **state)
{
    PGconn *l = pgtest_connect(conninfo);
    PGnotify *n;
    struct made m;
    int notes = 0;

    (void)state;
    pgtest_exec(l, "LISTEN registrar");
    m = create(TOKEN1, 3600, 2, NULL, NULL);
    assert_int_equal(put("a@x", "a", TOKEN1, false), STORE_OK);
    assert_int_equal(revoke_invite(m.id), STORE_OK);
    assert_scalar("SELECT string_agg(event || ':' || jid || ':'"
                  "       || coalesce(iq_id, '') || ':'"
                  "       || coalesce(((detail->>'invite')::bigint"
                  "          = (SELECT id FROM registration_invites))::text,"
                  "          ''), ',' ORDER BY id)"
                  "  FROM registration_events",
                  "invite_created:admin@x:c1:true,"
                  "registered:a@x:r1:,"
                  "invite_redeemed:a@x:r1:true,"
                  "invite_revoked:admin@x:v1:true");
    /* one notification per commit: create, the registration (two
     * events), revoke */
    usleep(100000);
    PQconsumeInput(l);
    while ((n = PQnotifies(l))) {
        notes++;
        if (notes == 2)
            assert_non_null(strstr(n->extra, "\"count\": 2"));
        PQfreemem(n);
    }
    assert_int_equal(notes, 3);
    PQfinish(l);
    /* by SQL, for backends: a token made by the database, the session's
     * role as creator */
    assert_scalar("SELECT length(token) FROM registrar_invite_create("
                  "'" SVC "', NULL, interval '1 day', 1, NULL, NULL, NULL,"
                  " 'sql', NULL, NULL)",
                  "43");
    assert_scalar("SELECT detail ? 'db_user' FROM registration_events"
                  " ORDER BY id DESC LIMIT 1",
                  "t");
}

struct listed {
    int calls;
    enum store_status st;
    size_t rows;
    char json[2048];
};

static void on_listed(void *arg, enum store_status st,
                      const struct store_table *t)
{
    struct listed *l = arg;

    l->calls++;
    l->st = st;
    if (st != STORE_OK || !t)
        return;
    l->rows = t->nrows;
    for (size_t r = 0; r < t->nrows; r++) {
        size_t len = strlen(l->json);
        snprintf(l->json + len, sizeof(l->json) - len, "%s\n",
                 store_table_json(t, r));
    }
}

static void test_list(void **state)
{
    struct listed l = {0}, one = {0};

    (void)state;
    create(TOKEN1, 3600, 1, NULL, NULL);
    create(TOKEN2, 0, 0, "y.example", NULL);
    assert_int_equal(put("a@x", "a", TOKEN1, false), STORE_OK);
    store_invite_list(store, SVC, 0, on_listed, &l);
    assert_int_equal(l.calls, 1);
    assert_int_equal(l.st, STORE_OK);
    assert_int_equal(l.rows, 2);
    /* newest first; no token, no hash */
    assert_non_null(strstr(l.json, "\"usable\""));
    assert_non_null(strstr(l.json, "\"used\""));
    assert_true(strstr(l.json, "\"usable\"") < strstr(l.json, "\"used\""));
    assert_non_null(strstr(l.json, "\"jid\": \"a@x\""));
    assert_null(strstr(l.json, "tok1-"));
    assert_null(strstr(l.json, "token"));
    store_invite_list(store, SVC, 1, on_listed, &one);
    assert_int_equal(one.rows, 1);
    assert_scalar("SELECT string_agg(state || '/' || uses || '/'"
                  "       || coalesce(max_uses::text, '-'), ',' ORDER BY id)"
                  "  FROM registration_invites_admin",
                  "used/1/1,usable/0/-");
}

/* An unlimited invitation's list shows its newest 10 redemptions (uses
 * counts them all): a list reply stays bounded however often it is used. */
static void test_list_redemptions_bounded(void **state)
{
    struct listed l = {0};
    char jid[32], user[16];

    (void)state;
    create(TOKEN1, 3600, 0, NULL, NULL);
    for (int i = 1; i <= 12; i++) {
        snprintf(jid, sizeof(jid), "u%02d@x", i);
        snprintf(user, sizeof(user), "u%02d", i);
        assert_int_equal(put(jid, user, TOKEN1, false), STORE_OK);
    }
    store_invite_list(store, SVC, 0, on_listed, &l);
    assert_int_equal(l.st, STORE_OK);
    assert_int_equal(l.rows, 1);
    assert_non_null(strstr(l.json, "\"uses\":12"));
    /* the newest 10, oldest of them first: u03 .. u12 */
    assert_null(strstr(l.json, "u01@x"));
    assert_null(strstr(l.json, "u02@x"));
    assert_non_null(strstr(l.json, "u03@x"));
    assert_non_null(strstr(l.json, "u12@x"));
    assert_true(strstr(l.json, "u03@x") < strstr(l.json, "u12@x"));
    /* the view keeps every one */
    assert_scalar("SELECT jsonb_array_length(redemptions)"
                  "  FROM registration_invites_admin",
                  "12");
}

static void test_prefill(void **state)
{
    struct form_data f = {0};
    struct made m = {0};
    struct got g = {0};
    struct store_invite inv = {.service = SVC,
                               .token = TOKEN1,
                               .ttl_s = 3600,
                               .max_uses = 1,
                               .fields = &f};

    (void)state;
    assert_true(form_data_add(&f, "email", "a@preset.example"));
    assert_true(form_data_add(&f, "team", "red"));
    assert_true(form_data_add(&f, "team", "blue"));
    store_invite_create(store, &inv, on_made, &m);
    form_data_clear(&f);
    assert_int_equal(m.st, STORE_OK);
    assert_scalar("SELECT fields FROM registration_invites",
                  "{\"team\": [\"red\", \"blue\"], "
                  "\"email\": \"a@preset.example\"}");
    /* no binding: nothing */
    store_invite_prefill(store, SVC, "a@x", on_get, &g);
    assert_int_equal(g.st, STORE_NOT_FOUND);
    assert_int_equal(bind_invite(TOKEN1, "a@x"), STORE_OK);
    g = (struct got){0};
    store_invite_prefill(store, SVC, "a@x", on_get, &g);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.st, STORE_OK);
    assert_string_equal(g.fields, "email=a@preset.example;team=red;"
                                  "team=blue;");
    /* the registration takes what it leaves out */
    assert_int_equal(put("a@x", "a", NULL, true), STORE_OK);
    assert_scalar("SELECT fields->>'email' FROM registrations",
                  "a@preset.example");
    /* used up: no longer */
    g = (struct got){0};
    store_invite_prefill(store, SVC, "a@x", on_get, &g);
    assert_int_equal(g.st, STORE_NOT_FOUND);
    /* bound to one without values: found, no values */
    create(TOKEN2, 3600, 1, NULL, NULL);
    assert_int_equal(bind_invite(TOKEN2, "b@x"), STORE_OK);
    g = (struct got){0};
    store_invite_prefill(store, SVC, "b@x", on_get, &g);
    assert_int_equal(g.st, STORE_OK);
    assert_string_equal(g.fields, "");
}

/* ---- the race: a single-use token, two JIDs, two connections
 * ------------------ */

struct racer {
    const char *jid, *user;
    struct store *s;
    enum store_status st;
};

static void *race(void *arg)
{
    struct racer *r = arg;

    r->st = put_on(r->s, r->jid, r->user, TOKEN1, true);
    return NULL;
}

static void test_single_use_race(void **state)
{
    (void)state;
    for (int round = 0; round < 20; round++) {
        struct racer a = {.jid = "a@x", .user = "a"};
        struct racer b = {.jid = "b@x", .user = "b"};
        pthread_t ta, tb;

        clean(NULL);
        create(TOKEN1, 3600, 1, NULL, NULL);
        a.s = store_new(conninfo);
        b.s = store_new(conninfo);
        assert_int_equal(store_connect(a.s), STORE_OK);
        assert_int_equal(store_connect(b.s), STORE_OK);
        pthread_create(&ta, NULL, race, &a);
        pthread_create(&tb, NULL, race, &b);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        store_close(a.s);
        store_close(b.s);
        /* exactly one registers; the other finds it used up */
        assert_true((a.st == STORE_OK && b.st == STORE_BAD_INVITE) ||
                    (b.st == STORE_OK && a.st == STORE_BAD_INVITE));
        assert_scalar("SELECT count(*) FROM registrations", "1");
        assert_scalar("SELECT uses FROM registration_invites", "1");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_token_stored_as_hash, clean),
        cmocka_unit_test_setup(test_redeem_single_use, clean),
        cmocka_unit_test_setup(test_refusals_use_nothing, clean),
        cmocka_unit_test_setup(test_unusable_tokens, clean),
        cmocka_unit_test_setup(test_bound_tokens, clean),
        cmocka_unit_test_setup(test_required, clean),
        cmocka_unit_test_setup(test_preauth_binding, clean),
        cmocka_unit_test_setup(test_forget_covers_invitations, clean),
        cmocka_unit_test_setup(test_events_and_notify, clean),
        cmocka_unit_test_setup(test_list, clean),
        cmocka_unit_test_setup(test_list_redemptions_bounded, clean),
        cmocka_unit_test_setup(test_prefill, clean),
        cmocka_unit_test_setup(test_single_use_race, clean),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
