/* test_validate.c - XEP-0122: datatypes (validate.c), the regex subset and
 * PCRE2 (pattern.c), a field's rules (form_rules.c), and the <validate/>
 * a form carries and the one refusal listing every problem (form.c). */
#include "testutil.h"

#include <time.h>

#include "form.h"
#include "form_rules.h"
#include "pattern.h"
#include "text.h"
#include "validate.h"

static xmpp_ctx_t *ctx;

static int setup(void **state);
static int teardown(void **state);

static int setup(void **state)
{
    (void)state;
    ctx = xmpp_ctx_new(NULL, NULL);
    return ctx ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    xmpp_ctx_free(ctx);
    return 0;
}

static void yes(enum validate_datatype dt, const char *const *v)
{
    for (; *v; v++)
        if (!validate_value(dt, *v))
            fail_msg("%s should accept '%s'", validate_datatype_name(dt), *v);
}

static void no(enum validate_datatype dt, const char *const *v)
{
    for (; *v; v++)
        if (validate_value(dt, *v))
            fail_msg("%s should refuse '%s'", validate_datatype_name(dt), *v);
}

#define YES(dt, ...) yes(dt, (const char *const[]){__VA_ARGS__, NULL})
#define NO(dt, ...) no(dt, (const char *const[]){__VA_ARGS__, NULL})

static void test_datatype_names(void **state)
{
    static const char *const names[] = {
        "xs:string", "xs:integer", "xs:int",    "xs:long",    "xs:short",
        "xs:byte",   "xs:decimal", "xs:double", "xs:date",    "xs:dateTime",
        "xs:time",   "xs:boolean", "xs:anyURI", "xs:language"};
    enum validate_datatype dt;

    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        assert_true(validate_datatype_parse(names[i], &dt));
        assert_string_equal(validate_datatype_name(dt), names[i]);
    }
    assert_false(validate_datatype_parse("xs:datetime", &dt));
    assert_false(validate_datatype_parse("integer", &dt));
    assert_false(validate_datatype_parse("x:custom", &dt));
    assert_false(validate_datatype_parse(NULL, &dt));
    assert_false(validate_datatype_ordered(VALIDATE_STRING));
    assert_false(validate_datatype_ordered(VALIDATE_BOOLEAN));
    assert_false(validate_datatype_ordered(VALIDATE_ANYURI));
    assert_true(validate_datatype_ordered(VALIDATE_DATE));
    assert_true(validate_datatype_ordered(VALIDATE_BYTE));
}

static void test_integers(void **state)
{
    (void)state;
    YES(VALIDATE_INTEGER, "0", "-0", "+7", "007",
        "123456789012345678901234567890123456789", "-99999999999999999999");
    NO(VALIDATE_INTEGER, "", "+", "-", "1.0", "1e3", " 1", "1 ", "0x10", "1_0",
       "١٢"); /* Arabic-Indic digits */
    YES(VALIDATE_INT, "2147483647", "-2147483648", "+0002147483647");
    NO(VALIDATE_INT, "2147483648", "-2147483649", "99999999999999999999");
    YES(VALIDATE_LONG, "9223372036854775807", "-9223372036854775808");
    NO(VALIDATE_LONG, "9223372036854775808", "-9223372036854775809",
       "18446744073709551616");
    YES(VALIDATE_SHORT, "32767", "-32768");
    NO(VALIDATE_SHORT, "32768", "-32769");
    YES(VALIDATE_BYTE, "127", "-128", "000127");
    NO(VALIDATE_BYTE, "128", "-129", "256");
}

static void test_decimals_and_doubles(void **state)
{
    int c;

    (void)state;
    YES(VALIDATE_DECIMAL, "1", "1.", ".5", "-0.50", "+12.340",
        "12345678901234567890.12345678901234567890");
    NO(VALIDATE_DECIMAL, ".", "", "1.2.3", "1e5", "1,5", "INF", "- 1");
    YES(VALIDATE_DOUBLE, "1", "1.5e10", "-1E-3", ".5e+2", "INF", "-INF", "NaN",
        "1e400");
    NO(VALIDATE_DOUBLE, "e5", "1e", "1e+", "inf", "nan", "0x1p3", "1.5f",
       "infinity");
    assert_true(validate_compare(VALIDATE_DECIMAL, "1.50", "1.5", &c));
    assert_int_equal(c, 0);
    assert_true(validate_compare(VALIDATE_DECIMAL, "-0", "0.000", &c));
    assert_int_equal(c, 0);
    assert_true(validate_compare(VALIDATE_DECIMAL, "-2.5", "-2.45", &c));
    assert_true(c < 0);
    assert_true(validate_compare(VALIDATE_DECIMAL, "10", "9.999", &c));
    assert_true(c > 0);
    assert_true(validate_compare(VALIDATE_INTEGER,
                                 "100000000000000000000000000000",
                                 "99999999999999999999999999999", &c));
    assert_true(c > 0);
    assert_true(validate_compare(VALIDATE_INTEGER, "-10", "-9", &c));
    assert_true(c < 0);
    assert_true(validate_compare(VALIDATE_DOUBLE, "1e3", "999.5", &c));
    assert_true(c > 0);
    assert_true(validate_compare(VALIDATE_DOUBLE, "-INF", "-1e308", &c));
    assert_true(c < 0);
    /* NaN is in no range */
    assert_false(validate_compare(VALIDATE_DOUBLE, "NaN", "0", &c));
    assert_false(validate_compare(VALIDATE_STRING, "a", "b", &c));
    assert_false(validate_compare(VALIDATE_INTEGER, "1", "x", &c));
}

static void test_dates_and_times(void **state)
{
    int c;

    (void)state;
    YES(VALIDATE_DATE, "2024-02-29", "2000-02-29", "2023-12-31", "1970-01-01Z",
        "2023-06-01+14:00", "2023-06-01-05:30", "-0044-03-15", "12024-01-01",
        "123456789-12-31", "0001-01-01");
    NO(VALIDATE_DATE, "2023-02-29", "1900-02-29", "2100-02-29", "2023-04-31",
       "2023-13-01", "2023-00-10", "2023-01-00", "0000-01-01", "023-01-01",
       "02023-01-01", "2023-1-01", "2023-01-01T00:00:00", "2023-06-01+14:01",
       "2023-06-01+15:00", "2023-06-01 ", "2023/06/01", "2023-06-01z",
       "99999999999999999999-01-01", "1234567890-01-01");
    YES(VALIDATE_TIME, "00:00:00", "23:59:59", "12:30:00.5", "12:30:00.123Z",
        "08:00:00-07:00");
    NO(VALIDATE_TIME, "24:00:00", "23:60:00", "23:59:60", "1:00:00", "12:00",
       "12:00:00.", "12:00:00+1:00");
    YES(VALIDATE_DATETIME, "2003-10-06T11:22:00-07:00", "2024-02-29T23:59:59Z",
        "2024-02-29T00:00:00.000001");
    NO(VALIDATE_DATETIME, "2003-10-06 11:22:00", "2003-10-06T11:22",
       "2023-02-29T00:00:00", "2003-10-06", "T11:22:00");
    /* leap days of the years around 2000 */
    assert_true(
        validate_compare(VALIDATE_DATE, "2024-02-29", "2024-03-01", &c));
    assert_true(c < 0);
    assert_true(
        validate_compare(VALIDATE_DATE, "1999-12-31", "2000-01-01", &c));
    assert_true(c < 0);
    assert_true(
        validate_compare(VALIDATE_DATE, "-0001-12-31", "0001-01-01", &c));
    assert_true(c < 0);
    /* a date's zone is ignored: its day compares */
    assert_true(
        validate_compare(VALIDATE_DATE, "2024-01-01+10:00", "2024-01-01Z", &c));
    assert_int_equal(c, 0);
    /* instants: 11:22-07:00 is 18:22Z */
    assert_true(validate_compare(VALIDATE_DATETIME, "2003-10-06T11:22:00-07:00",
                                 "2003-10-06T18:22:00Z", &c));
    assert_int_equal(c, 0);
    assert_true(validate_compare(VALIDATE_DATETIME, "2003-10-06T23:30:00-01:00",
                                 "2003-10-07T00:00:00Z", &c));
    assert_true(c > 0);
    assert_true(
        validate_compare(VALIDATE_TIME, "12:00:00.5", "12:00:00.25", &c));
    assert_true(c > 0);
}

static void test_boolean_uri_language(void **state)
{
    (void)state;
    YES(VALIDATE_BOOLEAN, "true", "false", "1", "0");
    NO(VALIDATE_BOOLEAN, "TRUE", "yes", "", "2");
    YES(VALIDATE_ANYURI, "https://example.org/", "http://a.b:8080/p?q=1#f",
        "mailto:juliet@capulet.lit", "xmpp:romeo@montague.lit?message",
        "urn:isbn:0451450523", "http://[2001:db8::1]:80/", "https://user@h/",
        "https://exämple.org/päth", "http://h/%20a", "file:///etc/hosts");
    NO(VALIDATE_ANYURI, "", "example.org", "/relative", "1http://x", "http://",
       "http://:80/", "http://h:8a/", "http://h/a b", "http://h/%2",
       "http://h/%zz", "http://h/#a#b", "http://h/<x>", "ht tp://h",
       "http://[]/");
    YES(VALIDATE_LANGUAGE, "en", "pt-BR", "zh-Hant-TW", "x-klingon", "de-1996",
        "abcdefgh-12345678");
    NO(VALIDATE_LANGUAGE, "", "-en", "en-", "en--US", "abcdefghi", "en_US",
       "1en", "en-123456789", "fr ");
    YES(VALIDATE_STRING, "", "anything at all", "日本語");
}

/* ---- regex: the subset and PCRE2 ---------------------------------------- */

static void test_regex_subset(void **state)
{
    static const char *const good[] = {
        "[a-z]+",     "([0-9]{3})-([0-9]{2})-([0-9]{4})",
        "a|b|(c|d)*", "\\d{1,3}(\\.\\d{1,3}){3}",
        "[^\\s@]+",   "\\p{Lu}\\p{Ll}*",
        "x{2,}",      "\\$\\^\\{\\}",
        "[a^$]",      ".?",
        NULL};
    static const struct {
        const char *p;
        size_t offset;
    } bad[] = {
        {"^abc", 0},   {"abc$", 3},  {"(?i)abc", 0}, {"(a)\\1", 3},
        {"a*?", 2},    {"a++", 2},   {"\\bword", 0}, {"[a-z-[aeiou]]", 5},
        {"*a", 0},     {"a{x}", 1},  {"(ab", 3},     {"ab)", 2},
        {"[abc", 0},   {"a]", 1},    {"\\x41", 0},   {"[[:alpha:]]", 1},
        {"a||{2}", 3}, {"\\p{}", 0}, {"a{1,2", 1},   {"[]", 0},
    };
    size_t off;
    const char *why;

    (void)state;
    for (const char *const *g = good; *g; g++)
        if (!validate_regex_subset(*g, &off, &why))
            fail_msg("'%s' refused at %zu: %s", *g, off, why);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        if (validate_regex_subset(bad[i].p, &off, &why))
            fail_msg("'%s' accepted", bad[i].p);
        assert_non_null(why);
        if (off != bad[i].offset)
            fail_msg("'%s': offset %zu, not %zu (%s)", bad[i].p, off,
                     bad[i].offset, why);
    }
}

static void test_pattern_whole_value(void **state)
{
    char why[256];
    size_t off;
    struct pattern *p = pattern_compile("([0-9]{3})-([0-9]{2})-([0-9]{4})", why,
                                        sizeof(why), &off);

    (void)state;
    assert_non_null(p);
    assert_int_equal(pattern_match(p, "123-12-1234"), PATTERN_MATCH);
    /* XML Schema anchors: a match inside the value is not enough */
    assert_int_equal(pattern_match(p, "x123-12-1234"), PATTERN_NO_MATCH);
    assert_int_equal(pattern_match(p, "123-12-12345"), PATTERN_NO_MATCH);
    assert_int_equal(pattern_match(p, "123-12-1234\n"), PATTERN_NO_MATCH);
    pattern_free(p);
    /* alternation is anchored as a whole */
    p = pattern_compile("ab|cd", why, sizeof(why), &off);
    assert_non_null(p);
    assert_int_equal(pattern_match(p, "abd"), PATTERN_NO_MATCH);
    assert_int_equal(pattern_match(p, "acd"), PATTERN_NO_MATCH);
    assert_int_equal(pattern_match(p, "cd"), PATTERN_MATCH);
    pattern_free(p);
    pattern_free(NULL);
}

static void test_pattern_utf8(void **state)
{
    char why[256];
    size_t off;
    struct pattern *p =
        pattern_compile("\\p{Lu}\\w{2}.", why, sizeof(why), &off);

    (void)state;
    assert_non_null(p);
    /* one character each, not one byte: É, ï, ß, 日 */
    assert_int_equal(pattern_match(p, "Éïß日"), PATTERN_MATCH);
    assert_int_equal(pattern_match(p, "éïß日"), PATTERN_NO_MATCH);
    /* not UTF-8: an error, not a match */
    assert_int_equal(pattern_match(p, "A\xff\xfe!"), PATTERN_ERROR);
    pattern_free(p);
    p = pattern_compile("\\d+", why, sizeof(why), &off);
    assert_int_equal(pattern_match(p, "١٢٣"), PATTERN_MATCH); /* Unicode Nd */
    pattern_free(p);
}

static void test_pattern_compile_errors(void **state)
{
    char why[256];
    size_t off = 99;

    (void)state;
    /* the subset's refusal, with its offset */
    assert_null(pattern_compile("ab$", why, sizeof(why), &off));
    assert_int_equal(off, 2);
    assert_string_not_equal(why, "");
    /* PCRE2's own: a range out of order, a bad property */
    assert_null(pattern_compile("[z-a]", why, sizeof(why), &off));
    assert_contains(why, "range out of order");
    assert_int_equal(off, 3);
    assert_null(pattern_compile("\\p{Nonsense}", why, sizeof(why), &off));
    assert_contains(why, "property");
    assert_null(pattern_compile("a{3,1}", why, sizeof(why), &off));
    assert_contains(why, "out of order");
}

/* Catastrophic backtracking: stopped by the match limit, quickly. */
static void test_pattern_match_limit(void **state)
{
    char why[256], s[64];
    size_t off;
    struct pattern *p = pattern_compile("(a|aa)+", why, sizeof(why), &off);
    struct timespec t0, t1;

    (void)state;
    assert_non_null(p);
    memset(s, 'a', 50);
    strcpy(s + 50, "!");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(pattern_match(p, s), PATTERN_LIMIT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 2);
    s[50] = '\0';
    assert_int_equal(pattern_match(p, "aaaa"), PATTERN_MATCH);
    pattern_free(p);
}

/* ---- a field's rules --------------------------------------------------- */

struct reported {
    char text[8][512];
    enum form_rules_key key[8];
    size_t n;
};

static void collect(void *arg, enum form_rules_key key, size_t index,
                    const char *text)
{
    struct reported *r = arg;

    (void)index;
    if (r->n < 8) {
        r->key[r->n] = key;
        snprintf(r->text[r->n], sizeof(r->text[0]), "%s", text);
    }
    r->n++;
}

static size_t rules(const struct form_field_def *f, struct reported *r)
{
    *r = (struct reported){.n = 0};
    (void)form_rules_check(f, collect, r);
    return r->n;
}

static void test_rules_at_load(void **state)
{
    struct form_option opts[] = {{"1", NULL}, {"two", NULL}};
    struct reported r;

    (void)state;
    assert_int_equal(rules(&(struct form_field_def){.var = "a",
                                                    .type = FORM_TEXT_SINGLE,
                                                    .datatype = "xs:integer",
                                                    .range_min = "13",
                                                    .range_max = "120"},
                           &r),
                     0);
    assert_int_equal(
        rules(&(struct form_field_def){.var = "a", .type = FORM_TEXT_SINGLE},
              &r),
        0);
    /* unknown datatype */
    assert_int_equal(rules(&(struct form_field_def){.var = "a",
                                                    .type = FORM_TEXT_SINGLE,
                                                    .datatype = "xs:number"},
                           &r),
                     1);
    assert_int_equal(r.key[0], FORM_RULES_DATATYPE);
    assert_contains(r.text[0], "not one of XEP-0122's");
    /* ends that do not parse, and max below min */
    assert_int_equal(rules(&(struct form_field_def){.var = "a",
                                                    .type = FORM_TEXT_SINGLE,
                                                    .datatype = "xs:date",
                                                    .range_min = "2023-02-29",
                                                    .range_max = "soon"},
                           &r),
                     2);
    assert_int_equal(r.key[0], FORM_RULES_RANGE_MIN);
    assert_int_equal(r.key[1], FORM_RULES_RANGE_MAX);
    assert_int_equal(rules(&(struct form_field_def){.var = "a",
                                                    .type = FORM_TEXT_SINGLE,
                                                    .datatype = "xs:byte",
                                                    .range_min = "10",
                                                    .range_max = "9"},
                           &r),
                     1);
    assert_contains(r.text[0], "below range_min");
    assert_int_equal(rules(&(struct form_field_def){.var = "a",
                                                    .type = FORM_TEXT_SINGLE,
                                                    .datatype = "xs:byte",
                                                    .range_max = "300"},
                           &r),
                     1);
    /* a range on xs:string (XEP-0122 5.8), and a range with a regex */
    assert_int_equal(rules(&(struct form_field_def){.var = "a",
                                                    .type = FORM_TEXT_SINGLE,
                                                    .range_min = "a"},
                           &r),
                     1);
    assert_contains(r.text[0], "ordered datatype");
    assert_int_equal(rules(&(struct form_field_def){.var = "a",
                                                    .type = FORM_TEXT_SINGLE,
                                                    .datatype = "xs:int",
                                                    .range_min = "1",
                                                    .regex = "[0-9]+"},
                           &r),
                     1);
    assert_contains(r.text[0], "not both");
    /* field types */
    assert_int_equal(rules(&(struct form_field_def){.var = "a",
                                                    .type = FORM_JID_SINGLE,
                                                    .datatype = "xs:string"},
                           &r),
                     1);
    assert_int_equal(rules(&(struct form_field_def){.var = "a",
                                                    .type = FORM_BOOLEAN,
                                                    .datatype = "xs:integer"},
                           &r),
                     1);
    assert_int_equal(rules(&(struct form_field_def){.var = "a",
                                                    .type = FORM_HIDDEN,
                                                    .regex = "x"},
                           &r),
                     1);
    assert_int_equal(rules(&(struct form_field_def){.var = "a",
                                                    .type = FORM_TEXT_MULTI,
                                                    .regex = "x"},
                           &r),
                     1);
    assert_int_equal(rules(&(struct form_field_def){.var = "a",
                                                    .type = FORM_TEXT_SINGLE,
                                                    .list_min = 1},
                           &r),
                     1);
    assert_int_equal(rules(&(struct form_field_def){.var = "a",
                                                    .type = FORM_LIST_MULTI,
                                                    .list_min = 3,
                                                    .list_max = 2,
                                                    .options = opts,
                                                    .noptions = 2},
                           &r),
                     1);
    assert_contains(r.text[0], "list_max 2 is below list_min 3");
    /* every option must be a value of the datatype */
    assert_int_equal(rules(&(struct form_field_def){.var = "a",
                                                    .type = FORM_LIST_SINGLE,
                                                    .datatype = "xs:integer",
                                                    .options = opts,
                                                    .noptions = 2},
                           &r),
                     1);
    assert_int_equal(r.key[0], FORM_RULES_OPTION);
    assert_contains(r.text[0], "option 'two' is not an integer");
    /* a regex PCRE2 refuses: its message and offset */
    assert_int_equal(rules(&(struct form_field_def){.var = "a",
                                                    .type = FORM_TEXT_SINGLE,
                                                    .regex = "[z-a]"},
                           &r),
                     1);
    assert_contains(r.text[0], "range out of order");
    assert_contains(r.text[0], "at offset 3");
}

static void test_rules_values(void **state)
{
    char why[256];
    struct form_field_def age = {.var = "age",
                                 .type = FORM_TEXT_SINGLE,
                                 .datatype = "xs:integer",
                                 .range_min = "13",
                                 .range_max = "120"};
    struct form_field_def after = {.var = "d",
                                   .type = FORM_TEXT_SINGLE,
                                   .datatype = "xs:date",
                                   .range_min = "2000-01-01"};
    struct form_field_def tags = {
        .var = "t", .type = FORM_LIST_MULTI, .list_min = 1, .list_max = 3};

    (void)state;
    assert_true(form_rules_value(&age, "13", why, sizeof(why)));
    assert_true(form_rules_value(&age, "120", why, sizeof(why)));
    assert_true(form_rules_value(&age, "+0042", why, sizeof(why)));
    assert_false(form_rules_value(&age, "12", why, sizeof(why)));
    assert_string_equal(why, "must be an integer from 13 to 120");
    assert_false(form_rules_value(&age, "121", why, sizeof(why)));
    assert_false(
        form_rules_value(&age, "99999999999999999999999", why, sizeof(why)));
    /* a text-multi line keeps its spaces: XML Schema collapses them for
     * every datatype but xs:string */
    assert_true(form_rules_value(&age, " 42\t", why, sizeof(why)));
    assert_false(form_rules_value(&age, "4 2", why, sizeof(why)));
    assert_false(form_rules_value(&age, "forty", why, sizeof(why)));
    assert_string_equal(why, "must be an integer");
    assert_true(form_rules_value(&after, "2000-01-01", why, sizeof(why)));
    assert_false(form_rules_value(&after, "1999-12-31", why, sizeof(why)));
    assert_string_equal(why, "must be a date (YYYY-MM-DD) of at least "
                             "2000-01-01");
    assert_true(form_rules_count(&tags, 1, why, sizeof(why)));
    assert_true(form_rules_count(&tags, 3, why, sizeof(why)));
    assert_false(form_rules_count(&tags, 4, why, sizeof(why)));
    assert_string_equal(why, "must have from 1 to 3 values");
    tags.list_min = 0;
    assert_false(form_rules_count(&tags, 4, why, sizeof(why)));
    assert_string_equal(why, "must have at most 3 values");
}

/* ---- the form: <validate/> as built, one refusal for every problem ---- */

static struct form_option colours[] = {
    {"red", NULL}, {"green", NULL}, {"blue", NULL}};
static struct form_field_def vfields[] = {
    {.var = "username", .type = FORM_TEXT_SINGLE, .required = true},
    {.var = "age",
     .type = FORM_TEXT_SINGLE,
     .label = "Age",
     .datatype = "xs:integer",
     .range_min = "13",
     .range_max = "120"},
    {.var = "nick", .type = FORM_TEXT_SINGLE, .regex = "[a-z]{3,8}"},
    {.var = "site", .type = FORM_TEXT_SINGLE, .datatype = "xs:anyURI"},
    {.var = "colours",
     .type = FORM_LIST_MULTI,
     .options = colours,
     .noptions = 3,
     .list_min = 1,
     .list_max = 2},
    {.var = "plain", .type = FORM_TEXT_SINGLE, .label = "Plain"},
};
static const struct form_def vdef = {
    .form_type = "jabber:iq:register",
    .fields = vfields,
    .nfields = sizeof(vfields) / sizeof(vfields[0]),
};

static int setup_pattern(void **state)
{
    char why[256];
    size_t off;

    if (setup(state))
        return -1;
    vfields[2].pattern =
        pattern_compile(vfields[2].regex, why, sizeof(why), &off);
    return vfields[2].pattern ? 0 : -1;
}

static int teardown_pattern(void **state)
{
    (void)state;
    pattern_free(vfields[2].pattern);
    vfields[2].pattern = NULL;
    return teardown(state);
}

static void test_build_validate(void **state)
{
    xmpp_stanza_t *x = form_build(ctx, &vdef, "form", NULL);
    char *t = tu_text(x);

    (void)state;
    assert_contains(t, "<field label=\"Age\" type=\"text-single\" var=\"age\">"
                       "<validate datatype=\"xs:integer\" "
                       "xmlns=\"http://jabber.org/protocol/xdata-validate\">"
                       "<range max=\"120\" min=\"13\"/></validate></field>");
    assert_contains(t, "<field type=\"text-single\" var=\"nick\">"
                       "<validate datatype=\"xs:string\" "
                       "xmlns=\"http://jabber.org/protocol/xdata-validate\">"
                       "<regex>[a-z]{3,8}</regex></validate></field>");
    assert_contains(t, "<validate datatype=\"xs:anyURI\" "
                       "xmlns=\"http://jabber.org/protocol/xdata-validate\">"
                       "<basic/></validate>");
    /* the list range after the method, before the options */
    assert_contains(t, "<validate datatype=\"xs:string\" "
                       "xmlns=\"http://jabber.org/protocol/xdata-validate\">"
                       "<basic/><list-range max=\"2\" min=\"1\"/></validate>"
                       "<option><value>red</value></option>");
    /* a field without rules: no <validate/> */
    assert_contains(t, "<field label=\"Plain\" type=\"text-single\" "
                       "var=\"plain\"/>");
    assert_contains(t, "<field type=\"text-single\" var=\"username\">"
                       "<required/></field>");
    free(t);
    xmpp_stanza_release(x);
}

static enum form_status submit(const char *inner, struct form_problem *p,
                               struct form_data *d)
{
    char xml[4096];
    xmpp_stanza_t *x;
    enum form_status st;

    snprintf(xml, sizeof(xml),
             "<x xmlns='jabber:x:data' type='submit'>"
             "<field var='FORM_TYPE'><value>jabber:iq:register</value>"
             "</field>%s</x>",
             inner);
    x = tu_parse(ctx, xml);
    st = form_parse(x, d, p);
    xmpp_stanza_release(x);
    if (st == FORM_OK)
        st = form_validate(&vdef, d, false, p);
    return st;
}

static void test_validate_good(void **state)
{
    struct form_data d = {0};
    struct form_problem p = {{0}};

    (void)state;
    assert_int_equal(
        submit("<field var='username'><value>juliet</value></field>"
               "<field var='age'><value> 14 </value></field>"
               "<field var='nick'><value>jules</value></field>"
               "<field var='site'><value>https://capulet.lit/</value></field>"
               "<field var='colours'><value>red</value><value>blue</value>"
               "</field>",
               &p, &d),
        FORM_OK);
    assert_string_equal(form_data_first(&d, "age"), "14");
    form_data_clear(&d);
    /* optional fields left out or blank: no rule applies */
    assert_int_equal(
        submit("<field var='username'><value>juliet</value></field>"
               "<field var='age'><value> </value></field>",
               &p, &d),
        FORM_OK);
    form_data_clear(&d);
}

static void test_validate_one_problem(void **state)
{
    struct form_data d = {0};
    struct form_problem p = {{0}};

    (void)state;
    assert_int_equal(
        submit("<field var='username'><value>juliet</value></field>"
               "<field var='age'><value>7</value></field>",
               &p, &d),
        FORM_NOT_ACCEPTABLE);
    assert_string_equal(p.text, "Age: must be an integer from 13 to 120");
    form_data_clear(&d);
    /* the existing texts keep their shape alone */
    assert_int_equal(
        submit("<field var='age'><value>20</value></field>", &p, &d),
        FORM_NOT_ACCEPTABLE);
    assert_string_equal(p.text, "field 'username' is required");
    form_data_clear(&d);
    /* the field without a label is named by its var */
    assert_int_equal(
        submit("<field var='username'><value>juliet</value></field>"
               "<field var='nick'><value>Jules!</value></field>",
               &p, &d),
        FORM_NOT_ACCEPTABLE);
    assert_string_equal(p.text, "nick: must match the pattern [a-z]{3,8}");
    form_data_clear(&d);
}

static void test_validate_every_problem(void **state)
{
    struct form_data d = {0};
    struct form_problem p = {{0}};

    (void)state;
    assert_int_equal(
        submit("<field var='age'><value>200</value></field>"
               "<field var='nick'><value>x</value></field>"
               "<field var='site'><value>not a uri</value></field>"
               "<field var='colours'><value>red</value><value>green</value>"
               "<value>blue</value></field>",
               &p, &d),
        FORM_NOT_ACCEPTABLE);
    assert_string_equal(p.text,
                        "5 problems: field 'username' is required; "
                        "Age: must be an integer from 13 to 120; "
                        "nick: must match the pattern [a-z]{3,8}; "
                        "site: must be a URI (like https://example.org/); "
                        "colours: must have from 1 to 2 values");
    form_data_clear(&d);
}

/* More problems than FORM_MAX_PROBLEMS: the first ones, then a count. */
static void test_validate_many_problems_bounded(void **state)
{
    struct form_field_def many[12];
    char vars[12][8];
    const struct form_def mdef = {.fields = many, .nfields = 12};
    struct form_data d = {0};
    struct form_problem p = {{0}};

    (void)state;
    for (int i = 0; i < 12; i++) {
        snprintf(vars[i], sizeof(vars[i]), "f%d", i);
        many[i] = (struct form_field_def){
            .var = vars[i], .type = FORM_TEXT_SINGLE, .required = true};
    }
    assert_int_equal(form_validate(&mdef, &d, false, &p), FORM_NOT_ACCEPTABLE);
    assert_true(strncmp(p.text, "12 problems: field 'f0' is required; ",
                        strlen("12 problems: field 'f0' is required; ")) == 0);
    assert_contains(p.text, "field 'f7' is required; and 4 more");
    assert_not_contains(p.text, "'f8'");
    assert_true(strlen(p.text) < sizeof(p.text));
    form_data_clear(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_datatype_names),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_decimals_and_doubles),
        cmocka_unit_test(test_dates_and_times),
        cmocka_unit_test(test_boolean_uri_language),
        cmocka_unit_test(test_regex_subset),
        cmocka_unit_test(test_pattern_whole_value),
        cmocka_unit_test(test_pattern_utf8),
        cmocka_unit_test(test_pattern_compile_errors),
        cmocka_unit_test(test_pattern_match_limit),
        cmocka_unit_test(test_rules_at_load),
        cmocka_unit_test(test_rules_values),
        cmocka_unit_test(test_build_validate),
        cmocka_unit_test(test_validate_good),
        cmocka_unit_test(test_validate_one_problem),
        cmocka_unit_test(test_validate_every_problem),
        cmocka_unit_test(test_validate_many_problems_bounded),
    };

    /* the pattern of vfields' nick is compiled for the whole group */
    return cmocka_run_group_tests(tests, setup_pattern, teardown_pattern);
}
