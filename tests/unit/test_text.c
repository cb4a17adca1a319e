/*
 * test_text.c - the username rule in C (component/text.c): what it lets
 * through, what it refuses and that the reason names the rule, never the
 * value.  The same cases run against the database in
 * tests/store/test_username.c.  Then the cuts and excerpts of any text,
 * which never split a character, and XML 1.0's characters and names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cmocka.h needs the headers above (stdarg, stddef, setjmp) */
#include <cmocka.h>

#include "text.h"

static void assert_ok(const char *s)
{
    const char *why = "unset";

    if (!text_username_ok(s, &why))
        fail_msg("refused (%s): %s", why, s);
    assert_null(why);
}

static void assert_refused(const char *s, const char *want)
{
    const char *why = NULL;

    if (text_username_ok(s, &why))
        fail_msg("accepted: %s", s);
    assert_non_null(why);
    assert_string_equal(why, want);
    /* the reason never quotes the value */
    if (s && strlen(s) >= 4)
        assert_null(strstr(why, s));
}

static void test_accepted(void **state)
{
    (void)state;
    assert_ok("bill");
    assert_ok("Bill Smith");               /* space inside */
    assert_ok("\xc3\x89mile");             /* Émile */
    assert_ok("\xef\xbd\x82\xef\xbd\x89"); /* fullwidth ｂｉ */
    assert_ok("a\xe3\x80\x80"              /* U+3000 inside */
              "b");
    assert_ok("\xf0\x9f\x98\x80"); /* U+1F600, 4 bytes */
    assert_ok("x\xe2\x80\x8a"
              "y");            /* U+200A hair space inside */
    assert_ok("\xef\xbf\xbd"); /* U+FFFD is a character */
    assert_true(text_username_ok("x", NULL));
}

static void test_empty(void **state)
{
    (void)state;
    assert_refused("", "is empty");
    assert_refused(NULL, "is empty");
}

static void test_utf8(void **state)
{
    const char *bad[] = {
        "\x80",             /* lone continuation */
        "\xc3",             /* truncated */
        "\xc3x",            /* truncated before ASCII */
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong, 3 bytes */
        "\xf0\x80\x80\xaf", /* overlong, 4 bytes */
        "\xed\xa0\x80",     /* surrogate U+D800 */
        "\xed\xbf\xbf",     /* surrogate U+DFFF */
        "\xf4\x90\x80\x80", /* U+110000 */
        "\xf5\x80\x80\x80", /* past U+10FFFF */
        "\xfe",
        "ok\xff",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_refused(bad[i], "is not valid UTF-8");
}

static void test_controls(void **state)
{
    (void)state;
    assert_refused("a\x01z", "contains a control character");
    assert_refused("a\x1fz", "contains a control character");
    assert_refused("a\x7fz", "contains a control character");
    assert_refused("a\tz", "contains a control character");
    assert_refused("a\nz", "contains a control character");
    assert_refused("a\xc2\x80z", "contains a control character");
    assert_refused("a\xc2\x85z", "contains a control character"); /* NEL */
    assert_refused("a\xc2\x9fz", "contains a control character");
    /* a control at an end is still a control */
    assert_refused("\tbill", "contains a control character");
}

static void test_format(void **state)
{
    const char *bad[] = {
        "a\xc2\xad"
        "b", /* U+00AD soft hyphen */
        "a\xd8\x80"
        "b", /* U+0600 */
        "a\xd8\x9c"
        "b", /* U+061C Arabic letter mark */
        "a\xe1\xa0\x8e"
        "b", /* U+180E */
        "a\xe2\x80\x8b"
        "b", /* U+200B ZWSP */
        "a\xe2\x80\x8c"
        "b", /* U+200C ZWNJ */
        "a\xe2\x80\x8d"
        "b", /* U+200D ZWJ */
        "a\xe2\x80\x8f"
        "b", /* U+200F RLM */
        "a\xe2\x80\xae"
        "b", /* U+202E RLO */
        "a\xe2\x81\xa0"
        "b", /* U+2060 word joiner */
        "a\xe2\x81\xa4"
        "b", /* U+2064 */
        "a\xe2\x81\xa6"
        "b", /* U+2066 LRI */
        "a\xe2\x81\xaf"
        "b", /* U+206F */
        "\xef\xbb\xbf"
        "bill", /* U+FEFF BOM */
        "a\xef\xbf\xb9"
        "b", /* U+FFF9 */
        "a\xef\xbf\xbb"
        "b", /* U+FFFB */
        "a\xf0\x91\x82\xbd"
        "b", /* U+110BD */
        "a\xf0\x93\x90\xbf"
        "b", /* U+1343F, Cf since Unicode 15 */
        "a\xf0\x9d\x85\xb3"
        "b", /* U+1D173 */
        "a\xf3\xa0\x80\x81"
        "b", /* U+E0001 language tag */
        "a\xf3\xa0\x80\xa0"
        "b", /* U+E0020 tag space */
        "a\xf3\xa0\x81\xbf"
        "b", /* U+E007F cancel tag */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_refused(bad[i], "contains an invisible format character");
    /* neighbours of the ranges are not format characters */
    assert_ok("a\xe2\x80\x90"
              "b"); /* U+2010 hyphen */
    assert_ok("a\xe2\x81\xa5"
              "b"); /* U+2065, unassigned */
    assert_ok("a\xf3\xa0\x82\x80"
              "b"); /* U+E0080 */
}

static void test_noncharacters(void **state)
{
    (void)state;
    assert_refused("a\xef\xb7\x90", "contains a noncharacter");     /* FDD0 */
    assert_refused("a\xef\xb7\xaf", "contains a noncharacter");     /* FDEF */
    assert_refused("a\xef\xbf\xbe", "contains a noncharacter");     /* FFFE */
    assert_refused("a\xef\xbf\xbf", "contains a noncharacter");     /* FFFF */
    assert_refused("a\xf0\x9f\xbf\xbe", "contains a noncharacter"); /* 1FFFE */
    assert_refused("a\xf4\x8f\xbf\xbf", "contains a noncharacter"); /* 10FFFF */
    assert_ok("a\xef\xb7\xb0");                                     /* U+FDF0 */
}

static void test_white_space_at_the_ends(void **state)
{
    const char *bad[] = {
        " bill",
        "bill ",
        " ",
        "\xc2\xa0"
        "bill", /* U+00A0 */
        "bill\xc2\xa0",
        "\xe1\x9a\x80"
        "bill", /* U+1680 */
        "\xe2\x80\x80"
        "bill",             /* U+2000 */
        "bill\xe2\x80\x8a", /* U+200A */
        "\xe2\x80\xaf"
        "bill",             /* U+202F */
        "bill\xe2\x81\x9f", /* U+205F */
        "\xe3\x80\x80"
        "bill", /* U+3000 ideographic space */
        "bill\xe3\x80\x80",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_refused(bad[i], "begins or ends with white space");
}

/* White space at an end of the NFKC form, as sql/003 checks the key: a
 * spacing accent is U+0020 and a combining mark in NFKC.  After a letter
 * the form ends with the mark, which is no white space. */
static void test_nfkc_white_space(void **state)
{
    const char *bad[] = {
        "\xc2\xa8"
        "bill", /* U+00A8 DIAERESIS */
        "\xc2\xb4"
        "bill", /* U+00B4 ACUTE ACCENT */
        "\xe2\x80\xbe"
        "bill", /* U+203E OVERLINE */
        "\xe3\x82\x9b"
        "bill", /* U+309B KATAKANA-HIRAGANA VOICED SOUND MARK */
        "\xef\xb9\xb0"
        "bill",         /* U+FE70 ARABIC FATHATAN ISOLATED FORM */
        "\xef\xbf\xa3", /* U+FFE3 FULLWIDTH MACRON, alone */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_refused(bad[i], "begins or ends with a character that is "
                               "white space in NFKC form (such as a spacing "
                               "accent)");
    assert_ok("bill\xc2\xa8"); /* ends with U+0308 in NFKC */
    assert_ok("a\xc2\xa8"
              "b");
    assert_ok("\xe1\xbe\xbe"
              "bill"); /* U+1FBE is U+03B9 in NFKC, a letter */
}

static void test_separators(void **state)
{
    (void)state;
    assert_refused("a\xe2\x80\xa8"
                   "b",
                   "contains a line or paragraph separator"); /* U+2028 */
    assert_refused("a\xe2\x80\xa9"
                   "b",
                   "contains a line or paragraph separator"); /* U+2029 */
}

/* ---- cutting and quoting --------------------------------------------- */

#define E_ACUTE "\xc3\xa9"      /* é, 2 bytes */
#define EURO "\xe2\x82\xac"     /* €, 3 bytes */
#define GRIN "\xf0\x9f\x98\x80" /* U+1F600, 4 bytes */

static void test_cut(void **state)
{
    const char *s = "a" E_ACUTE EURO GRIN "z";

    (void)state;
    assert_int_equal(text_cut("abc", 3), 3);
    assert_int_equal(text_cut("abc", 2), 2);
    assert_int_equal(text_cut("", 0), 0);
    assert_int_equal(text_cut(s, 0), 0);
    assert_int_equal(text_cut(s, 1), 1);
    assert_int_equal(text_cut(s, 2), 1); /* inside é */
    assert_int_equal(text_cut(s, 3), 3);
    assert_int_equal(text_cut(s, 4), 3); /* inside € */
    assert_int_equal(text_cut(s, 5), 3);
    assert_int_equal(text_cut(s, 6), 6);
    for (size_t n = 7; n < 10; n++) /* inside the 4-byte one */
        assert_int_equal(text_cut(s, n), 6);
    assert_int_equal(text_cut(s, 10), 10);
    assert_int_equal(text_cut(s, 11), 11);
    /* not UTF-8: nothing to keep whole, nothing cut */
    assert_int_equal(text_cut("\x80\x80\x80\x80", 4), 4);
    assert_int_equal(text_cut("ab\xff", 3), 3);
    /* every cut of valid text is valid text */
    for (size_t n = 0; n <= strlen(s); n++) {
        char buf[32];
        size_t keep = text_cut(s, n);
        assert_true(keep <= n && n - keep < 4);
        memcpy(buf, s, keep);
        buf[keep] = '\0';
        assert_true(text_xml_chars_ok(buf));
    }
}

static void test_format_cuts_between_characters(void **state)
{
    char buf[8];

    (void)state;
    assert_true(text_format(buf, sizeof(buf), "%s", "abc"));
    assert_string_equal(buf, "abc");
    assert_true(text_format(buf, sizeof(buf), "%s", "abcdefg"));
    assert_false(text_format(buf, sizeof(buf), "%s", "abcdefgh"));
    assert_string_equal(buf, "abcdefg");
    /* snprintf would keep "abcdef\xc3": half a character */
    assert_false(text_format(buf, sizeof(buf), "abcdef%s", E_ACUTE));
    assert_string_equal(buf, "abcdef");
    assert_false(text_format(buf, sizeof(buf), "abcde%s", EURO "x"));
    assert_string_equal(buf, "abcde");
    assert_false(
        text_format(buf, sizeof(buf), "%s", E_ACUTE E_ACUTE E_ACUTE E_ACUTE));
    assert_string_equal(buf, E_ACUTE E_ACUTE E_ACUTE);
}

/* The admin notice of a new registration (reg_update.c builds it into
 * 1024 bytes): a username of 967 (and 968) bytes of é overflows it, and
 * one of the two puts the cut inside an é.  Cut by text_format, the
 * notice is valid UTF-8 and as long as it can be; cut by snprintf, as it
 * was, it ends in half a character. */
static void test_long_username_notice(void **state)
{
    char user[1100], body[1024], *full = NULL;
    bool snprintf_broke_one = false;

    (void)state;
    for (int odd = 0; odd < 2; odd++) {
        size_t n = 0;
        if (odd)
            user[n++] = 'x';
        while (n + 2 <= 967)
            n += (size_t)sprintf(user + n, E_ACUTE);
        assert_int_equal(n, odd ? 967 : 966);
        for (int more = 0; more < 2; more++) {
            if (more)
                n += (size_t)sprintf(user + n, E_ACUTE);
            user[n] = '\0';
            assert_true(text_username_ok(user, NULL));
            assert_true(asprintf(&full,
                                 "New registration with %s: %s (username "
                                 "%s)",
                                 "desk.example", "d06@localhost", user) > 0);
            assert_false(text_format(body, sizeof(body),
                                     "New registration with %s: %s "
                                     "(username %s)",
                                     "desk.example", "d06@localhost", user));
            assert_true(text_xml_chars_ok(body));
            assert_true(strlen(body) >= sizeof(body) - 4);
            assert_memory_equal(body, full, strlen(body));
            snprintf(body, sizeof(body), "%s", full);
            if (!text_xml_chars_ok(body))
                snprintf_broke_one = true;
            free(full);
        }
    }
    assert_true(snprintf_broke_one); /* the bug this guards against */
}

static void assert_excerpt(const char *s, size_t max, const char *want)
{
    char out[TEXT_EXCERPT_SIZE(TEXT_EXCERPT_CHARS)];

    assert_ptr_equal(text_excerpt(out, sizeof(out), s, max), out);
    assert_string_equal(out, want);
    assert_true(text_xml_chars_ok(out));
}

static void test_excerpt(void **state)
{
    char var[128], want[128], big[512], out[TEXT_EXCERPT_SIZE(4)];

    (void)state;
    assert_excerpt("first", 32, "first");
    assert_excerpt("", 32, "");
    assert_excerpt(NULL, 32, "");
    assert_excerpt("abcdef", 3, "abc...");
    assert_excerpt("abc", 3, "abc");
    assert_excerpt("abc", 0, "...");
    /* the attack: 63 ASCII bytes and an é; 32 characters, whole */
    memset(var, 'A', 63);
    strcpy(var + 63, E_ACUTE);
    memset(want, 'A', 32);
    strcpy(want + 32, "...");
    assert_excerpt(var, 32, want);
    assert_excerpt(E_ACUTE EURO GRIN "z", 3, E_ACUTE EURO GRIN "...");
    assert_excerpt(E_ACUTE EURO GRIN, 3, E_ACUTE EURO GRIN);
    /* characters, not bytes: 40 é give 32 é */
    big[0] = '\0';
    for (int i = 0; i < 40; i++)
        strcat(big, E_ACUTE);
    want[0] = '\0';
    for (int i = 0; i < 32; i++)
        strcat(want, E_ACUTE);
    strcat(want, "...");
    assert_excerpt(big, 32, want);
    /* what would break or disguise the text around it is '?' */
    assert_excerpt("a\nb\tc\x01", 32, "a?b?c?");
    assert_excerpt("a\xe2\x80\xae"
                   "b",
                   32, "a?b"); /* RLO */
    assert_excerpt("a\xef\xbf\xbe"
                   "b",
                   32, "a?b"); /* U+FFFE */
    assert_excerpt("a\xe2\x80\xa8"
                   "b",
                   32, "a?b"); /* U+2028 */
    /* and every byte that is not UTF-8 */
    assert_excerpt("a\xc3", 32, "a?");
    assert_excerpt("\xc3(\xff\xed\xa0\x80", 32, "?(????");
    /* a small buffer ends sooner, still whole, still marked */
    assert_string_equal(text_excerpt(out, 8, "abcdefghij", 32), "abcd...");
    assert_string_equal(text_excerpt(out, 8, E_ACUTE E_ACUTE E_ACUTE, 32),
                        E_ACUTE E_ACUTE E_ACUTE);
    assert_string_equal(
        text_excerpt(out, 8, E_ACUTE E_ACUTE E_ACUTE E_ACUTE, 32),
        E_ACUTE E_ACUTE "...");
    assert_string_equal(text_excerpt(out, 8, "abcdefg", 32), "abcdefg");
    assert_string_equal(text_excerpt(out, 3, "abcdefg", 32), "..");
    assert_string_equal(text_excerpt(out, 1, "abcdefg", 32), "");
    /* the size the header promises is enough for 4-byte characters */
    assert_string_equal(
        text_excerpt(out, sizeof(out), GRIN GRIN GRIN GRIN GRIN, 4),
        GRIN GRIN GRIN GRIN "...");
}

/* ---- XML 1.0 --------------------------------------------------------- */

static void test_xml_chars(void **state)
{
    const char *good[] = {
        "",
        "plain text",
        "tab\tnl\ncr\r",
        E_ACUTE EURO GRIN,
        "<&>\"'",               /* libstrophe escapes these */
        "\x7f\xc2\x80\xc2\x9f", /* C1 and DEL: allowed by XML 1.0 */
        "\xef\xbf\xbd",         /* U+FFFD */
        "\xee\x80\x80",         /* U+E000 */
        "\xf4\x8f\xbf\xbf",     /* U+10FFFF */
    };
    const char *bad[] = {
        "\x01",
        "a\013b", /* VT */
        "a\x0c",
        "\x1b[31m",
        "a\xc3",            /* half an é: the bug of issue 16 */
        "\xc3(",            /* truncated */
        "\x80",             /* lone continuation */
        "\xc0\xaf",         /* overlong */
        "\xed\xa0\x80",     /* surrogate */
        "\xef\xbf\xbe",     /* U+FFFE */
        "\xef\xbf\xbf",     /* U+FFFF */
        "\xf4\x90\x80\x80", /* past U+10FFFF */
        "\xff",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!text_xml_chars_ok(good[i]))
            fail_msg("refused good text #%zu", i);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (text_xml_chars_ok(bad[i]))
            fail_msg("accepted bad text #%zu", i);
}

static void test_xml_names(void **state)
{
    const char *good[] = {"iq",
                          "xml:lang",
                          "internal-server-error",
                          "a.b",
                          "_x",
                          "x1",
                          "\xc3\xa9t\xc3\xa9",
                          "a\302\267b" /* U+00B7 inside */};
    const char *bad[] = {"",    "1a",    "-a",       ".a",       "a b", "a>",
                         "a/",  "a=b",   "a\"",      "a'",       "a&",  "<a",
                         "a\t", "a\xc3", "\xc2\xb7", "a\xc3\x97" /* × */};

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!text_xml_name_ok(good[i]))
            fail_msg("refused good name %s", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (text_xml_name_ok(bad[i]))
            fail_msg("accepted bad name #%zu", i);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_controls),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_noncharacters),
        cmocka_unit_test(test_white_space_at_the_ends),
        cmocka_unit_test(test_separators),
        cmocka_unit_test(test_nfkc_white_space),
        cmocka_unit_test(test_cut),
        cmocka_unit_test(test_format_cuts_between_characters),
        cmocka_unit_test(test_long_username_notice),
        cmocka_unit_test(test_excerpt),
        cmocka_unit_test(test_xml_chars),
        cmocka_unit_test(test_xml_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
