/*
 * test_text.c - the username rule in C (component/text.c): what it lets
 * through, what it refuses and that the reason names the rule, never the
 * value.  The same cases run against the database in
 * tests/store/test_username.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
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
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
