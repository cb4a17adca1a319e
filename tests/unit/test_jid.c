/*
 * test_jid.c - jid.c: bare JIDs and domains prepared as the servers
 * prepare them (nodeprep, nameprep, resourceprep), the JIDs a server
 * sends left unchanged, and what is not a JID refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jid.h"

static void expect_bare(const char *in, const char *want)
{
    char *out = NULL;
    enum jid_status st = jid_normal_bare(in, &out);

    if (st != JID_OK)
        fail_msg("jid_normal_bare(\"%s\"): status %d, want \"%s\"", in, (int)st,
                 want);
    assert_string_equal(out, want);
    free(out);
}

static void expect_invalid(const char *in)
{
    char *out = (char *)"untouched";

    if (jid_normal_bare(in, &out) != JID_INVALID)
        fail_msg("jid_normal_bare(\"%s\") is not refused", in);
    assert_null(out);
}

static void test_ascii_case(void **state)
{
    (void)state;
    expect_bare("Juliet@Capulet.Example", "juliet@capulet.example");
    expect_bare("juliet@capulet.example/Balcony", "juliet@capulet.example");
    expect_bare("CAPULET.EXAMPLE", "capulet.example");
    expect_bare("capulet.example/Res", "capulet.example");
    /* a trailing dot is not part of the domain */
    expect_bare("juliet@capulet.example.", "juliet@capulet.example");
}

static void test_unicode(void **state)
{
    (void)state;
    /* the finding: É is lower-cased by nodeprep */
    expect_bare("\xc3\x89LODIE@localhost", "\xc3\xa9lodie@localhost");
    /* a decomposed e + combining acute is composed (NFKC) */
    expect_bare("e\xcc\x81lodie@localhost", "\xc3\xa9lodie@localhost");
    /* German sharp s is case-folded to "ss" (RFC 3454 table B.2) */
    expect_bare("Stra\xc3\x9f"
                "e@localhost",
                "strasse@localhost");
    /* fullwidth Latin letters are mapped (NFKC) in the domain */
    expect_bare("a@\xef\xbd\x8c\xef\xbd\x8f\xef\xbd\x83"
                "al",
                "a@local");
    /* the soft hyphen maps to nothing (table B.1) */
    expect_bare("ju\xc2\xadliet@localhost", "juliet@localhost");
    /* a JID already prepared (what a server sends) is left as it is */
    expect_bare("\xc3\xa9lodie@localhost/\xc3\x89", "\xc3\xa9lodie@localhost");
}

static void test_invalid(void **state)
{
    char big[1100];

    (void)state;
    expect_invalid("");
    expect_invalid("@localhost");
    expect_invalid("juliet@");
    expect_invalid("juliet@localhost/");
    expect_invalid("a@b@localhost");
    /* nodeprep prohibits these in a local part */
    expect_invalid("ju\"liet@localhost");
    expect_invalid("ju&liet@localhost");
    expect_invalid("ju'liet@localhost");
    expect_invalid("ju:liet@localhost");
    expect_invalid("ju<liet@localhost");
    expect_invalid("ju liet@localhost");
    /* not UTF-8: a lone continuation byte, an overlong '/' */
    expect_invalid("ju\x80liet@localhost");
    expect_invalid("ju\xc0\xafliet@localhost");
    /* a part over 1023 bytes; 1023 is fine */
    memset(big, 'a', 1024);
    strcpy(big + 1024, "@localhost");
    expect_invalid(big);
    strcpy(big + 1023, "@localhost");
    {
        char *out = NULL;
        assert_int_equal(jid_normal_bare(big, &out), JID_OK);
        assert_int_equal(strlen(out), 1023 + 10);
        free(out);
    }
    memcpy(big, "a@", 2);
    memset(big + 2, 'b', 1024);
    big[2 + 1024] = '\0';
    expect_invalid(big);
    assert_non_null(strstr(jid_status_text(JID_INVALID), "not a valid JID"));
}

static void test_domain(void **state)
{
    char *out = NULL;

    (void)state;
    assert_int_equal(jid_normal_domain("Node@Contests.Example/r", &out),
                     JID_OK);
    assert_string_equal(out, "contests.example");
    free(out);
    assert_int_equal(jid_normal_domain("CONTESTS.example.", &out), JID_OK);
    assert_string_equal(out, "contests.example");
    free(out);
    assert_int_equal(jid_normal_domain("n@", &out), JID_INVALID);
    assert_null(out);
}

/* The ASCII fast path says what stringprep says: every ASCII byte in
 * each part, part lengths at the limit, random JIDs of ASCII. */
static void same(const char *jid)
{
    char *a = NULL, *b = NULL;
    enum jid_status sa = jid_normal_bare(jid, &a);
    enum jid_status sb = jid_normal_bare_prepped(jid, &b);

    if (sa != sb || (a && b && strcmp(a, b) != 0) || (!a) != (!b))
        fail_msg("%s: %d %s against stringprep's %d %s", jid, sa, a ? a : "-",
                 sb, b ? b : "-");
    free(a);
    free(b);
}

static void test_fast_path_is_stringprep(void **state)
{
    char jid[3200];
    unsigned seed = 7;

    (void)state;
    for (int c = 1; c < 128; c++) {
        snprintf(jid, sizeof(jid), "a%cb@ex.example/r", c);
        same(jid);
        snprintf(jid, sizeof(jid), "ab@e%cx.example/r", c);
        same(jid);
        snprintf(jid, sizeof(jid), "ab@ex.example/r%cs", c);
        same(jid);
        snprintf(jid, sizeof(jid), "%c@x.example", c);
        same(jid);
        snprintf(jid, sizeof(jid), "x.example%c", c);
        same(jid);
    }
    for (int len = 1021; len <= 1025; len++) {
        memset(jid, 'a', (size_t)len);
        strcpy(jid + len, "@x.example/r");
        same(jid);
        strcpy(jid, "u@");
        memset(jid + 2, 'b', (size_t)len);
        jid[2 + len] = '\0';
        same(jid);
        strcpy(jid, "u@x/");
        memset(jid + 4, 'c', (size_t)len);
        jid[4 + len] = '\0';
        same(jid);
    }
    same("u@x.example.");
    same("u@x.example/");
    same("@x.example");
    same("u@");
    same("");
    for (int i = 0; i < 200000; i++) {
        int n = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 24;

        for (int k = 0; k < n; k++) {
            static const char pick[] = "aZ0.-_+@/@/ !~\"&'<>:\x7f\x01";
            seed = seed * 1103515245u + 12345u;
            jid[k] = pick[(seed >> 16) % (sizeof(pick) - 1)];
        }
        jid[n] = '\0';
        same(jid);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ascii_case),
        cmocka_unit_test(test_unicode),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_domain),
        cmocka_unit_test(test_fast_path_is_stringprep),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
