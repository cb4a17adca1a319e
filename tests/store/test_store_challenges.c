/*
 * test_store_challenges.c - challenges (sql/015) through store.c, against
 * a real PostgreSQL: the answers stored only as salted SHA-256; a
 * challenge is single use (right or wrong), bound to the JID it was issued
 * to (another JID's check neither passes nor uses it), expires; several
 * accepted answers; failures counted per JID, the max_failures-th locking
 * it out, a right answer clearing the count; the status the 'risk' rule
 * reads (lockout, recent failure, the sign-ups of the last minute);
 * registrar_forget_jid forgetting a JID's challenges and failures.
 *
 * Needs REGISTRAR_TEST_ADMIN_CONNINFO (tests/store/run.sh).
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

#define SVC "svc.example"

static char dbname[64];
static char conninfo[1024];
static const char *admin;
static PGconn *db;
static struct store *store;
/* failures before a lockout (test_failures_lock_out sets 3) */
static unsigned max_failures;

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
    snprintf(dbname, sizeof(dbname), "registrar_challenges_%d", (int)getpid());
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
                    "   registration_challenges,"
                    "   registration_challenge_failures;"
                    " COMMIT");
    max_failures = 10;
    return 0;
}

/* ---- the store's answers ---------------------------------------------- */

struct issued {
    int calls;
    enum store_status st;
    char id[64];
};

static void on_issued(void *arg, enum store_status st, const char *id)
{
    struct issued *i = arg;

    i->calls++;
    i->st = st;
    snprintf(i->id, sizeof(i->id), "%s", id ? id : "");
}

struct checked {
    int calls;
    enum store_status st;
    enum store_challenge outcome;
};

static void on_checked(void *arg, enum store_status st,
                       enum store_challenge outcome)
{
    struct checked *c = arg;

    c->calls++;
    c->st = st;
    c->outcome = outcome;
}

struct status {
    int calls;
    enum store_status st;
    struct store_challenge_status cs;
};

static void on_status(void *arg, enum store_status st,
                      const struct store_challenge_status *cs)
{
    struct status *s = arg;

    s->calls++;
    s->st = st;
    if (cs)
        s->cs = *cs;
}

/* A challenge of SVC for jid accepting "paris" and "lutetia". */
static struct issued issue(const char *jid, unsigned long ttl_s)
{
    static const char *const answers[] = {"paris", "lutetia"};
    struct issued i = {0};

    store_challenge_issue(store, SVC, jid, ttl_s, answers, 2, NULL, on_issued,
                          &i);
    assert_int_equal(i.calls, 1);
    assert_int_equal(i.st, STORE_OK);
    assert_int_equal(strlen(i.id), 32);
    return i;
}

static enum store_challenge check(const char *jid, const char *id,
                                  const char *answer)
{
    struct checked c = {0};

    store_challenge_check(store, SVC, jid, id, answer, max_failures, 600,
                          on_checked, &c);
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.st, STORE_OK);
    return c.outcome;
}

static struct store_challenge_status status(const char *jid)
{
    struct status s = {0};

    store_challenge_status(store, SVC, jid, 600, on_status, &s);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.st, STORE_OK);
    return s.cs;
}

/* ---- the tests ------------------------------------------------------------
 */

static void test_answers_only_as_salted_hashes(void **state)
{
    struct issued a = issue("a@x", 120), b = issue("b@x", 120);
    char sql[512];

    (void)state;
    assert_string_not_equal(a.id, b.id);
    /* no column of any row holds an answer */
    assert_scalar("SELECT count(*) FROM registration_challenges c"
                  " WHERE c::text ILIKE '%paris%'"
                  "    OR c::text ILIKE '%lutetia%'",
                  "0");
    snprintf(sql, sizeof(sql),
             "SELECT answer_hashes[1] = sha256(convert_to('%s' || ':paris',"
             " 'UTF8')) FROM registration_challenges WHERE id = '%s'",
             a.id, a.id);
    assert_scalar(sql, "t");
    /* salted: the same answer hashes differently in each challenge */
    assert_scalar("SELECT count(DISTINCT answer_hashes[1])"
                  "  FROM registration_challenges",
                  "2");
}

static void test_single_use(void **state)
{
    struct issued a = issue("a@x", 120), b = issue("a@x", 120);

    (void)state;
    assert_int_equal(check("a@x", a.id, "paris"), STORE_CHALLENGE_OK);
    assert_int_equal(check("a@x", a.id, "paris"), STORE_CHALLENGE_USED);
    /* a wrong answer uses it too */
    assert_int_equal(check("a@x", b.id, "rome"), STORE_CHALLENGE_WRONG);
    assert_int_equal(check("a@x", b.id, "paris"), STORE_CHALLENGE_USED);
}

static void test_several_answers(void **state)
{
    struct issued a = issue("a@x", 120);

    (void)state;
    assert_int_equal(check("a@x", a.id, "lutetia"), STORE_CHALLENGE_OK);
}

static void test_bound_to_its_jid(void **state)
{
    struct issued a = issue("a@x", 120);

    (void)state;
    assert_int_equal(check("b@x", a.id, "paris"), STORE_CHALLENGE_FOREIGN);
    /* not used by the other JID's try */
    assert_int_equal(check("a@x", a.id, "paris"), STORE_CHALLENGE_OK);
    /* another service's id is unknown */
    assert_int_equal(check("a@x", "0123456789abcdef0123456789abcdef", "paris"),
                     STORE_CHALLENGE_UNKNOWN);
}

static void test_expires(void **state)
{
    struct issued a = issue("a@x", 120);
    char sql[256];

    (void)state;
    snprintf(sql, sizeof(sql),
             "UPDATE registration_challenges SET expires_at = now()"
             " - interval '1 second' WHERE id = '%s'",
             a.id);
    pgtest_exec(db, sql);
    assert_int_equal(check("a@x", a.id, "paris"), STORE_CHALLENGE_EXPIRED);
    assert_int_equal(check("a@x", a.id, "paris"), STORE_CHALLENGE_USED);
}

static void test_failures_lock_out(void **state)
{
    struct issued a = issue("a@x", 120), b = issue("a@x", 120),
                  c = issue("a@x", 120), d = issue("a@x", 120);
    struct store_challenge_status cs;

    (void)state;
    max_failures = 3;
    cs = status("a@x");
    assert_int_equal(cs.locked_for_s, 0);
    assert_false(cs.failed_recently);
    assert_int_equal(check("a@x", a.id, "rome"), STORE_CHALLENGE_WRONG);
    cs = status("a@x");
    assert_true(cs.failed_recently);
    assert_int_equal(check("a@x", a.id, "paris"), STORE_CHALLENGE_USED);
    /* the third failure (max_failures 3) locks out for 600 s */
    assert_int_equal(check("a@x", b.id, "rome"), STORE_CHALLENGE_LOCKED);
    cs = status("a@x");
    assert_true(cs.locked_for_s > 590 && cs.locked_for_s <= 600);
    /* locked out: even the right answer is not checked (nor used) */
    assert_int_equal(check("a@x", c.id, "paris"), STORE_CHALLENGE_LOCKED);
    /* another JID is not */
    assert_int_equal(status("b@x").locked_for_s, 0);
    /* the lockout over, a right answer passes and clears the count */
    pgtest_exec(db, "UPDATE registration_challenge_failures"
                    "   SET locked_until = now() - interval '1 second'");
    assert_int_equal(check("a@x", c.id, "paris"), STORE_CHALLENGE_OK);
    assert_scalar("SELECT count(*) FROM registration_challenge_failures", "0");
    assert_int_equal(check("a@x", d.id, "rome"), STORE_CHALLENGE_WRONG);
}

static void test_signups_last_minute(void **state)
{
    struct got g = {0};
    struct form_data d = {0};
    struct store_put p = {.service = SVC,
                          .jid = "n1@x",
                          .username = "n1",
                          .fields = &d,
                          .initial_state = STORE_STATE_ACTIVE,
                          .origin = {.iq_id = "r1"}};

    (void)state;
    assert_int_equal(status("a@x").signups_last_minute, 0);
    store_put(store, &p, on_put, &g);
    p.jid = "n2@x";
    p.username = "n2";
    store_put(store, &p, on_put, &g);
    assert_int_equal(g.calls, 2);
    assert_int_equal(g.st, STORE_OK);
    assert_int_equal(status("a@x").signups_last_minute, 2);
    /* two minutes ago (the log is append-only: its triggers off, as the
     * superuser, for the test) */
    pgtest_exec(db, "BEGIN;"
                    " ALTER TABLE registration_events DISABLE TRIGGER USER;"
                    " UPDATE registration_events"
                    "    SET at = now() - interval '2 minutes';"
                    " ALTER TABLE registration_events ENABLE TRIGGER USER;"
                    " COMMIT");
    assert_int_equal(status("a@x").signups_last_minute, 0);
}

static void test_bounded_per_jid(void **state)
{
    (void)state;
    for (int i = 0; i < 10; i++)
        issue("a@x", 120);
    assert_scalar("SELECT count(*) FROM registration_challenges"
                  " WHERE jid = 'a@x'",
                  "4");
    /* expired for over a minute: gone at the next issue */
    pgtest_exec(db, "UPDATE registration_challenges"
                    "   SET expires_at = now() - interval '2 minutes'");
    issue("b@x", 120);
    assert_scalar("SELECT count(*) FROM registration_challenges", "1");
}

struct image {
    int calls;
    enum store_status st;
    unsigned char png[64];
    size_t len;
    unsigned long ttl;
};

static void on_image(void *arg, enum store_status st, const unsigned char *png,
                     size_t len, unsigned long ttl)
{
    struct image *im = arg;

    im->calls++;
    im->st = st;
    im->len = len;
    im->ttl = ttl;
    if (png && len <= sizeof(im->png))
        memcpy(im->png, png, len);
}

static void test_image_for_bob(void **state)
{
    static const char *const answers[] = {"k7mx2p"};
    /* bytes of every value, a NUL and a backslash among them */
    const unsigned char png[] = {0x89, 'P', 'N', 'G', 0, '\\', 0xff, 0x7f};
    const struct store_challenge_image img = {
        .png = png, .len = sizeof(png), .cid = "sha1+abc@bob.xmpp.org"};
    struct issued i = {0};
    struct image im = {0};
    char sql[256];

    (void)state;
    store_challenge_issue(store, SVC, "a@x", 120, answers, 1, &img, on_issued,
                          &i);
    assert_int_equal(i.st, STORE_OK);
    store_challenge_image(store, SVC, "sha1+abc@bob.xmpp.org", on_image, &im);
    assert_int_equal(im.calls, 1);
    assert_int_equal(im.st, STORE_OK);
    assert_int_equal(im.len, sizeof(png));
    assert_memory_equal(im.png, png, sizeof(png));
    assert_true(im.ttl > 110 && im.ttl <= 120);
    /* another service's, an unknown cid: none */
    store_challenge_image(store, "other", "sha1+abc@bob.xmpp.org", on_image,
                          &im);
    assert_int_equal(im.st, STORE_NOT_FOUND);
    /* expired: none */
    snprintf(sql, sizeof(sql),
             "UPDATE registration_challenges SET expires_at = now()"
             " - interval '1 second' WHERE id = '%s'",
             i.id);
    pgtest_exec(db, sql);
    store_challenge_image(store, SVC, "sha1+abc@bob.xmpp.org", on_image, &im);
    assert_int_equal(im.st, STORE_NOT_FOUND);
    /* the answer of an image challenge is hashed like any */
    assert_scalar("SELECT count(*) FROM registration_challenges c"
                  " WHERE c::text ILIKE '%k7mx2p%'",
                  "0");
}

static void test_forget_covers_challenges(void **state)
{
    struct issued a = issue("a@x", 120);

    (void)state;
    issue("b@x", 120);
    assert_int_equal(check("a@x", a.id, "rome"), STORE_CHALLENGE_WRONG);
    pgtest_exec(db, "SELECT registrar_forget_jid('a@x')");
    assert_scalar("SELECT count(*) FROM registration_challenges"
                  " WHERE jid = 'a@x'",
                  "0");
    assert_scalar("SELECT count(*) FROM registration_challenge_failures", "0");
    assert_scalar("SELECT count(*) FROM registration_challenges", "1");
}

static void test_service_role_rights(void **state)
{
    (void)state;
    /* the daemon's role runs the functions and reads no table */
    assert_scalar("SELECT has_table_privilege('registrar_service',"
                  " 'registration_challenges', 'SELECT')",
                  "f");
    assert_scalar("SELECT has_function_privilege('registrar_service',"
                  " 'registrar_challenge_check(text, text, text, text,"
                  " integer, interval)', 'EXECUTE')",
                  "t");
    assert_scalar("SELECT has_function_privilege('public',"
                  " 'registrar_challenge_issue(text, text, interval,"
                  " text[], bytea, text)', 'EXECUTE')",
                  "f");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_answers_only_as_salted_hashes, clean),
        cmocka_unit_test_setup(test_single_use, clean),
        cmocka_unit_test_setup(test_several_answers, clean),
        cmocka_unit_test_setup(test_bound_to_its_jid, clean),
        cmocka_unit_test_setup(test_expires, clean),
        cmocka_unit_test_setup(test_failures_lock_out, clean),
        cmocka_unit_test_setup(test_signups_last_minute, clean),
        cmocka_unit_test_setup(test_bounded_per_jid, clean),
        cmocka_unit_test_setup(test_image_for_bob, clean),
        cmocka_unit_test_setup(test_forget_covers_challenges, clean),
        cmocka_unit_test_setup(test_service_role_rights, clean),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
