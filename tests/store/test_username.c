/*
 * test_username.c - the one username rule (sql/003_username_rule.sql)
 * through the store, in two databases this test creates in the throwaway
 * cluster: one whose locale is C (where lower() folds ASCII only) and one
 * with C.UTF-8.  Case variants and fullwidth forms are one name (the
 * unique index says STORE_CONFLICT), a claim names its registration by the
 * same key (claim_matches), and names the rule refuses are STORE_INVALID.
 * The C rule (text_username_ok, ICU) and the database's
 * (registrar_username_valid) give the same verdict on a list of tricky
 * names and on every code point alone, first, last and inside a name.
 *
 * Needs REGISTRAR_TEST_ADMIN_CONNINFO: a superuser connection to the
 * throwaway cluster (tests/harness/pg.sh, through run.sh).
 */
#include <libpq-fe.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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
 * ones first. */
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
    assert_false(text_username_ok("\xc2\xa8"
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

/* ---- the C rule and the database's give the same verdict ------------- */

/* The database's verdict on s: registrar_username_valid(s), a parameter
 * as the store sends it.  Text that is not UTF-8 never reaches the
 * function: the server refuses it (22021), which is a refusal too. */
static bool db_valid(struct db *d, const char *s)
{
    PGresult *r = PQexecParams(d->conn, "SELECT registrar_username_valid($1)",
                               1, NULL, &s, NULL, NULL, 0);
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    bool valid = false;

    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        valid = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    else if (!state || strcmp(state, "22021") != 0)
        fail_msg("registrar_username_valid: %s", PQerrorMessage(d->conn));
    PQclear(r);
    return valid;
}

/* s as UTF-8 in out (room for 4 bytes each and a NUL): code points up to
 * a 0 or n of them.  Returns the end. */
static char *utf8(char *out, const uint32_t *s, size_t n)
{
    for (size_t i = 0; i < n && s[i]; i++) {
        uint32_t c = s[i];

        if (c < 0x80) {
            *out++ = (char)c;
        } else if (c < 0x800) {
            *out++ = (char)(0xC0 | c >> 6);
            *out++ = (char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            *out++ = (char)(0xE0 | c >> 12);
            *out++ = (char)(0x80 | (c >> 6 & 0x3F));
            *out++ = (char)(0x80 | (c & 0x3F));
        } else {
            *out++ = (char)(0xF0 | c >> 18);
            *out++ = (char)(0x80 | (c >> 12 & 0x3F));
            *out++ = (char)(0x80 | (c >> 6 & 0x3F));
            *out++ = (char)(0x80 | (c & 0x3F));
        }
    }
    *out = '\0';
    return out;
}

/* Code points where the two rules could part, each tried alone, first,
 * last and inside a name: the classes and their neighbours, characters new
 * in Unicode 15.0 and later ones (unassigned in 15.0), case mappings that
 * change the length, spacing accents that NFKC makes white space. */
static const uint32_t tricky_points[] = {
    /* Cc, Zl, Zp, noncharacters, and their neighbours */
    0x01, '\t', '\n', 0x1F, ' ', 0x7F, 0x80, 0x85, 0x9F, 0x2028, 0x2029, 0xFDCF,
    0xFDD0, 0xFDEF, 0xFDF0, 0xFFFD, 0xFFFE, 0xFFFF, 0x1FFFE, 0x10FFFD, 0x10FFFF,
    /* Cf (U+13439..1343F since Unicode 15.0), U+2065 and U+E0080
     * unassigned */
    0xAD, 0x600, 0x605, 0x61C, 0x6DD, 0x70F, 0x890, 0x891, 0x8E2, 0x180E,
    0x200B, 0x200D, 0x200F, 0x202A, 0x202E, 0x2060, 0x2064, 0x2065, 0x2066,
    0x206F, 0xFEFF, 0xFFF9, 0xFFFB, 0x110BD, 0x110CD, 0x13430, 0x13439, 0x1343F,
    0x1BCA0, 0x1BCA3, 0x1D173, 0x1D17A, 0xE0001, 0xE0020, 0xE007F, 0xE0080,
    /* invisible, not Cf: U+FE0F and U+034F (Mn), Hangul fillers (Lo) */
    0xFE0F, 0x34F, 0x115F, 0x3164, 0xFFA0,
    /* White_Space */
    0xA0, 0x1680, 0x2000, 0x200A, 0x202F, 0x205F, 0x3000,
    /* white space in NFKC: spacing accents, Arabic isolated forms */
    0xA8, 0xAF, 0xB4, 0xB8, 0x2D8, 0x37A, 0x384, 0x1FBD, 0x1FBE, 0x2017, 0x203E,
    0x309B, 0xFC5E, 0xFE49, 0xFE70, 0xFFE3,
    /* new in Unicode 15.0: U+13440 (Mn), Kawi, a Cyrillic modifier
     * (NFKC: U+0430), an emoji, CJK extension H */
    0x13440, 0x11F04, 0x1E030, 0x1F6DC, 0x31350,
    /* new in Unicode 15.1 and 16.0 */
    0x2FFC, 0x31EF, 0x1CC00, 0x13460, 0x1E5D0,
    /* case: ß, ǅ, İ (lower is 2), ŉ (upper is 2), ﬀ, ᾳ, U+0345; U+0301;
     * an emoji */
    0xDF, 0x1C5, 0x130, 0x149, 0xFB00, 0x1FB3, 0x345, 0x301, 0x1F600};

/* Whole names: plain, case variants, fullwidth, emoji sequences (U+200D
 * is Cf), two spacing accents, empty. */
static const uint32_t tricky_names[][12] = {
    {'B', 'i', 'l', 'l', ' ', 'S', 'm', 'i', 't', 'h'},
    {'a', ' ', ' ', 'b'},
    {'S', 't', 'r', 'a', 0xDF, 'e'},
    {0x39F, 0x394, 0x39F, 0x3A3},
    {0x130, 's', 't', 'a', 'n', 'b', 'u', 'l'},
    {'e', 0x301},
    {0xFF42, 0xFF49},
    {0x1F1EB, 0x1F1F7},
    {0x1F469, 0x200D, 0x1F4BB},
    {0xA8, 0xA8},
    {0}};

/* Not UTF-8: the server refuses it before the function. */
static const char *const not_utf8[] = {
    "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "ok\xff", "a\xc3",
};

/* Whether C and the database agree on s; fails the test otherwise. */
static bool same_verdict(struct db *d, const char *s, const char *what,
                         size_t i)
{
    bool c = text_username_ok(s, NULL);
    char q[TEXT_EXCERPT_SIZE(TEXT_EXCERPT_CHARS)];

    if (c != db_valid(d, s))
        fail_msg("%s[%zu] \"%s\": C %s, the database %s", what, i,
                 text_excerpt(q, sizeof(q), s, TEXT_EXCERPT_CHARS),
                 c ? "accepts" : "refuses", c ? "refuses" : "accepts");
    return c;
}

/* Bits of the positions in which code point c is refused. */
enum { ALONE = 1, FIRST = 2, LAST = 4, INSIDE = 8 };

/* c alone, first, last and inside a name: at[k] for the bit 1 << k. */
static void positions(uint32_t c, uint32_t out[4][3])
{
    const uint32_t in[4][3] = {{c}, {c, 'a'}, {'a', c}, {'a', c, 'a'}};

    memcpy(out, in, sizeof(in));
}

static void test_same_verdict_list(void **state)
{
    struct db *d = *state;
    size_t n = 0, refused = 0;
    uint32_t at[4][3];
    char name[4 * 1000 + 1], *p = name;

    for (size_t i = 0; i < sizeof(tricky_points) / sizeof(*tricky_points);
         i++) {
        positions(tricky_points[i], at);
        for (int k = 0; k < 4; k++, n++) {
            utf8(name, at[k], 3);
            refused += !same_verdict(d, name, "tricky_points", i);
        }
    }
    for (size_t i = 0; i < sizeof(tricky_names) / sizeof(*tricky_names);
         i++, n++) {
        utf8(name, tricky_names[i], 12);
        refused += !same_verdict(d, name, "tricky_names", i);
    }
    for (size_t i = 0; i < sizeof(not_utf8) / sizeof(*not_utf8); i++, n++)
        refused += !same_verdict(d, not_utf8[i], "not_utf8", i);
    /* and a long name: 1,000 é */
    for (int i = 0; i < 1000; i++)
        p = utf8(p, (const uint32_t[]){0xE9}, 1);
    assert_true(same_verdict(d, name, "long", 0));
    printf("[ %-8s ] %zu names: the same verdict in C and in the database "
           "(%zu refused)\n",
           d->locale, n + 1, refused);
}

static int c_refusals(uint32_t c)
{
    uint32_t at[4][3];
    char s[16];
    int bits = 0;

    positions(c, at);
    for (int k = 0; k < 4; k++) {
        utf8(s, at[k], 3);
        if (!text_username_ok(s, NULL))
            bits |= 1 << k;
    }
    return bits;
}

/* Every code point but NUL and the surrogates, alone, first, last and
 * inside a name: the database lists those it refuses somewhere, and C
 * must refuse exactly these, in exactly these positions.  A Unicode
 * version of ICU other than sql/003's would fail here.  Once, in the
 * C.UTF-8 database (about 4.4 million calls of the SQL function): the
 * rule reads no locale, as the list above shows in both. */
static void test_same_verdict_every_code_point(void **state)
{
    struct db *d = *state;
    PGresult *r;
    int rows, row = 0, differ = 0, n[16] = {0};
    uint32_t points = 0;

    if (strcmp(d->locale, "C.UTF-8") != 0)
        skip();
    r = PQexec(
        d->conn,
        "SELECT cp, (NOT registrar_username_valid(chr(cp)))::int"
        "         | ((NOT registrar_username_valid(chr(cp) || 'a'))::int << 1)"
        "         | ((NOT registrar_username_valid('a' || chr(cp)))::int << 2)"
        "         | ((NOT registrar_username_valid('a' || chr(cp) || 'a'))"
        "            ::int << 3)" /* | and << bind alike in SQL */
        "  FROM generate_series(1, 1114111) cp"
        " WHERE cp NOT BETWEEN 55296 AND 57343"
        "   AND NOT (registrar_username_valid(chr(cp))"
        "            AND registrar_username_valid(chr(cp) || 'a')"
        "            AND registrar_username_valid('a' || chr(cp))"
        "            AND registrar_username_valid('a' || chr(cp) || 'a'))"
        " ORDER BY cp");

    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s", PQerrorMessage(d->conn));
    rows = PQntuples(r);
    for (uint32_t c = 1; c <= 0x10FFFF; c++) {
        int want = 0, got;

        if (c >= 0xD800 && c <= 0xDFFF)
            continue;
        points++;
        if (row < rows && strtoul(PQgetvalue(r, row, 0), NULL, 10) == c)
            want = atoi(PQgetvalue(r, row++, 1));
        got = c_refusals(c);
        if (got != want && differ++ < 20)
            fprintf(stderr,
                    "U+%04X: refused alone/first/last/inside: C %d%d%d%d, "
                    "database %d%d%d%d\n",
                    (unsigned)c, !!(got & ALONE), !!(got & FIRST),
                    !!(got & LAST), !!(got & INSIDE), !!(want & ALONE),
                    !!(want & FIRST), !!(want & LAST), !!(want & INSIDE));
        for (int bit = ALONE; bit <= INSIDE; bit <<= 1)
            n[bit] += !!(got & bit);
    }
    PQclear(r);
    assert_int_equal(row, rows);
    if (differ)
        fail_msg("%d code points judged differently (the first 20 above)",
                 differ);
    printf("[ %-8s ] %u code points x 4 positions (%u names): the same "
           "verdict in C and in the database; refused somewhere %d, alone "
           "%d, first %d, last %d, inside %d\n",
           d->locale, points, 4 * points, rows, n[ALONE], n[FIRST], n[LAST],
           n[INSIDE]);
}

#define T(f) cmocka_unit_test_setup(f, empty_table)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_database),          T(test_case_variants),
        T(test_fullwidth),         T(test_refused),
        T(test_different_names),   T(test_claims_by_jid),
        T(test_same_verdict_list), T(test_same_verdict_every_code_point),
    };
    int failed = 0;

    failed +=
        cmocka_run_group_tests_name("locale C", tests, setup_c, group_teardown);
    failed += cmocka_run_group_tests_name("locale C.UTF-8", tests, setup_c_utf8,
                                          group_teardown);
    return failed;
}
