/*
 * test_username.c - the one username rule (sql/003_username_rule.sql)
 * through the store, in two databases this test creates in the throwaway
 * cluster: one whose locale is C (where lower() folds ASCII only) and one
 * with C.UTF-8.  Case variants and fullwidth forms are one name (the
 * unique index says STORE_CONFLICT), a claim names its registration by the
 * same key (claim_matches), and names the rule refuses are STORE_INVALID.
 *
 * Needs REGISTRAR_TEST_ADMIN_CONNINFO: a superuser connection to the
 * throwaway cluster (tests/harness/pg.sh, through run.sh).
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
#include "text.h"

#define SVC "svc.example"
#define EMILE_UPPER "\xc3\x89mile" /* Émile */
#define EMILE_LOWER "\xc3\xa9mile" /* émile */
#define EMILE_CAPS "\xc3\x89MILE"  /* ÉMILE */
#define BILL_FULLWIDTH                                                         \
    "\xef\xbd\x82\xef\xbd\x89\xef\xbd\x8c\xef\xbd\x8c" /* ｂｉｌｌ */

/* One database of the cluster, made for this run with a given locale. */
struct db {
    const char *locale;
    char name[64];
    char conninfo[1024];
    PGconn *conn; /* the test's own connection */
    struct store *store;
};

static const char *admin;

static void assert_scalar(PGconn *c, const char *sql, const char *want)
{
    PGresult *r = PQexec(c, sql);

    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    if (strcmp(PQgetvalue(r, 0, 0), want) != 0)
        fail_msg("%s: got \"%s\", want \"%s\"", sql, PQgetvalue(r, 0, 0), want);
    PQclear(r);
}

static int group_setup(void **state, const char *locale)
{
    struct db *d = calloc(1, sizeof(*d));

    admin = getenv("REGISTRAR_TEST_ADMIN_CONNINFO");
    if (!admin || !d) {
        fprintf(stderr, "REGISTRAR_TEST_ADMIN_CONNINFO is not set\n");
        free(d);
        return -1;
    }
    d->locale = locale;
    snprintf(d->name, sizeof(d->name), "registrar_username_%d_%s",
             (int)getpid(), strcmp(locale, "C") == 0 ? "c" : "c_utf8");
    pgtest_create_db(admin, d->name, locale, d->conninfo, sizeof(d->conninfo));
    d->conn = pgtest_connect(d->conninfo);
    d->store = store_new(d->conninfo);
    if (!d->store || store_migrate(d->store) != STORE_OK) {
        fprintf(stderr, "cannot migrate %s\n", d->name);
        return -1;
    }
    *state = d;
    return 0;
}

static int setup_c(void **state)
{
    return group_setup(state, "C");
}

static int setup_c_utf8(void **state)
{
    return group_setup(state, "C.UTF-8");
}

static int group_teardown(void **state)
{
    struct db *d = *state;

    store_close(d->store);
    PQfinish(d->conn);
    pgtest_drop_db(admin, d->name);
    free(d);
    return 0;
}

/* Each test starts from an empty table. */
static int empty_table(void **state)
{
    struct db *d = *state;

    pgtest_exec(d->conn, "TRUNCATE registrations");
    return 0;
}

/* ---- the store, synchronously (no worker: callbacks run inline) -------- */

struct got {
    int calls;
    enum store_status st;
    bool claim_matches;
};

static void on_done(void *arg, enum store_status st, bool created)
{
    struct got *g = arg;

    (void)created;
    g->calls++;
    g->st = st;
}

static void on_put(void *arg, enum store_status st, bool created,
                   const char *reason)
{
    on_done(arg, st, created);
    (void)reason;
}

static void on_get(void *arg, enum store_status st, struct store_record *rec)
{
    struct got *g = arg;

    g->calls++;
    g->st = st;
    g->claim_matches = rec && rec->claim_matches;
}

static enum store_status put(struct db *d, const char *jid,
                             const char *username)
{
    struct got g = {0};
    struct store_put p = {.service = SVC, .jid = jid, .username = username};

    store_put(d->store, &p, on_put, &g);
    assert_int_equal(g.calls, 1);
    return g.st;
}

/* Whether claim names the registration of jid. */
static bool claims(struct db *d, const char *jid, const char *claim)
{
    struct got g = {0};

    store_get(d->store, SVC, jid, claim, on_get, &g);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.st, STORE_OK);
    return g.claim_matches;
}

/* ---- tests ------------------------------------------------------------- */

/* The database is what the test asked for, and its own lower() shows why
 * the rule cannot rely on it; the functions are what an index needs. */
static void test_database(void **state)
{
    struct db *d = *state;
    char want[64];

    assert_scalar(d->conn, "SHOW lc_ctype", d->locale);
    snprintf(want, sizeof(want), "%s",
             strcmp(d->locale, "C") == 0 ? EMILE_UPPER : EMILE_LOWER);
    assert_scalar(d->conn, "SELECT lower('" EMILE_UPPER "')", want);
    assert_scalar(d->conn,
                  "SELECT string_agg(format('%s %s %s %s', proname,"
                  "       provolatile, proparallel, proisstrict), ', '"
                  "       ORDER BY proname)"
                  "  FROM pg_proc WHERE proname LIKE 'registrar_username_%'",
                  "registrar_username_key i s t, "
                  "registrar_username_valid i s t");
    assert_scalar(d->conn, "SELECT registrar_username_key('" EMILE_CAPS "')",
                  EMILE_LOWER);
    assert_scalar(d->conn,
                  "SELECT convalidated FROM pg_constraint"
                  " WHERE conname = 'registrations_username_valid'",
                  "t");
}

static void test_case_variants(void **state)
{
    struct db *d = *state;

    assert_int_equal(put(d, "emile@a.example", EMILE_UPPER), STORE_OK);
    assert_int_equal(put(d, "other@a.example", EMILE_LOWER), STORE_CONFLICT);
    assert_int_equal(put(d, "other@a.example", EMILE_CAPS), STORE_CONFLICT);
    assert_true(claims(d, "emile@a.example", EMILE_LOWER));
    assert_true(claims(d, "emile@a.example", EMILE_CAPS));
    assert_true(claims(d, "emile@a.example", EMILE_UPPER));
    assert_false(claims(d, "emile@a.example", "emile")); /* accent counts */
    assert_false(claims(d, "emile@a.example", NULL));
    /* the owner may change the case of its own name */
    assert_int_equal(put(d, "emile@a.example", EMILE_CAPS), STORE_OK);
    /* full case folding: "ß" is "ss", a final sigma is a sigma */
    assert_int_equal(put(d, "a@a.example",
                         "Stra\xc3\x9f"
                         "e"),
                     STORE_OK);
    assert_int_equal(put(d, "b@a.example", "STRASSE"), STORE_CONFLICT);
    assert_int_equal(put(d, "c@a.example", "\xce\x9f\xce\x94\xce\x9f\xce\xa3"),
                     STORE_OK); /* ΟΔΟΣ */
    assert_int_equal(put(d, "d@a.example", "\xce\xbf\xce\xb4\xce\xbf\xcf\x83"),
                     STORE_CONFLICT); /* οδοσ */
}

static void test_fullwidth(void **state)
{
    struct db *d = *state;

    assert_int_equal(put(d, "bill@a.example", "bill"), STORE_OK);
    assert_int_equal(put(d, "other@a.example", BILL_FULLWIDTH), STORE_CONFLICT);
    assert_true(claims(d, "bill@a.example", BILL_FULLWIDTH));
    assert_true(claims(d, "bill@a.example", "BILL"));
    /* fullwidth capitals too: "ＢＩＬＬ" */
    assert_int_equal(put(d, "other@a.example",
                         "\xef\xbc\xa2\xef\xbc\xa9\xef\xbc\xac\xef\xbc\xac"),
                     STORE_CONFLICT);
}

/* Refused by the CHECK whatever the C side says; text.c refuses the same
 * ones first, except names whose NFKC form begins with a space. */
static void test_refused(void **state)
{
    struct db *d = *state;
    const char *bad[] = {
        "\xe3\x80\x80"
        "bill",         /* leading U+3000 */
        "bill\xc2\xa0", /* trailing U+00A0 */
        "bi\xe2\x80\x8b"
        "ll", /* U+200B inside */
        "bi\xc2\xad"
        "ll",                   /* soft hyphen */
        "bill\xf3\xa0\x80\x81", /* language tag */
        "a\xef\xbf\xbe",        /* noncharacter */
        "a\tb",                 /* control */
        " ",
        "",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(put(d, "x@a.example", bad[i]), STORE_INVALID);
        assert_false(text_username_ok(bad[i], NULL));
    }
    /* U+00A8 DIAERESIS: NFKC makes it a space and a combining mark */
    assert_true(text_username_ok("\xc2\xa8"
                                 "bill",
                                 NULL));
    assert_int_equal(put(d, "x@a.example",
                         "\xc2\xa8"
                         "bill"),
                     STORE_INVALID);
    assert_scalar(d->conn, "SELECT count(*) FROM registrations", "0");
    /* a space inside is a name */
    assert_int_equal(put(d, "x@a.example", "Bill Smith"), STORE_OK);
}

static void test_different_names(void **state)
{
    struct db *d = *state;

    assert_int_equal(put(d, "alice@a.example", "alice"), STORE_OK);
    assert_int_equal(put(d, "bob@b.example", "bob"), STORE_OK);
    assert_int_equal(put(d, "emile@a.example", "Emile"), STORE_OK);
    assert_int_equal(put(d, "e2@a.example", EMILE_UPPER), STORE_OK);
    assert_int_equal(put(d, "none@a.example", NULL), STORE_OK);
    assert_int_equal(put(d, "none2@a.example", NULL), STORE_OK);
    assert_scalar(d->conn, "SELECT count(*) FROM registrations", "6");
    assert_false(claims(d, "alice@a.example", "bob"));
}

/* Without a username on file, the JID's local part is the name; the bare
 * JID always names its own registration. */
static void test_claims_by_jid(void **state)
{
    struct db *d = *state;

    assert_int_equal(put(d, EMILE_LOWER "@a.example", NULL), STORE_OK);
    assert_true(claims(d, EMILE_LOWER "@a.example", EMILE_CAPS));
    assert_true(claims(d, EMILE_LOWER "@a.example", EMILE_UPPER "@A.EXAMPLE"));
    assert_false(claims(d, EMILE_LOWER "@a.example", "a.example"));
    assert_false(claims(d, EMILE_LOWER "@a.example", "other"));
    /* with one on file, the local part is not a name */
    assert_int_equal(put(d, "juliet@a.example", "jules"), STORE_OK);
    assert_true(claims(d, "juliet@a.example", "JULES"));
    assert_false(claims(d, "juliet@a.example", "juliet"));
    assert_true(claims(d, "juliet@a.example", "Juliet@a.example"));
    /* a domain JID has no local part */
    assert_int_equal(put(d, "a.example", NULL), STORE_OK);
    assert_true(claims(d, "a.example", "A.example"));
    assert_false(claims(d, "a.example", "a"));
}

#define T(f) cmocka_unit_test_setup(f, empty_table)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_database), T(test_case_variants),   T(test_fullwidth),
        T(test_refused),  T(test_different_names), T(test_claims_by_jid),
    };
    int failed = 0;

    failed +=
        cmocka_run_group_tests_name("locale C", tests, setup_c, group_teardown);
    failed += cmocka_run_group_tests_name("locale C.UTF-8", tests, setup_c_utf8,
                                          group_teardown);
    return failed;
}
