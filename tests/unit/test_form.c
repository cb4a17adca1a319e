/* test_form.c - XEP-0004 form building, parsing, validation and JSON. */
#include "testutil.h"

#include "form.h"
#include "text.h"

static struct form_option gender[] = {{"M", "Male"}, {"F", "Female"}};
static struct form_field_def fields[] = {
    {.var = "first",
     .type = FORM_TEXT_SINGLE,
     .label = "Given Name",
     .required = true},
    {.var = "email",
     .type = FORM_TEXT_SINGLE,
     .label = "Email Address",
     .required = true},
    {.var = "x-gender",
     .type = FORM_LIST_SINGLE,
     .label = "Gender",
     .options = gender,
     .noptions = 2},
    {.var = "password", .type = FORM_TEXT_PRIVATE, .required = true},
    {.var = "buddy", .type = FORM_JID_SINGLE},
    {.var = "tags", .type = FORM_TEXT_MULTI},
    {.var = "news", .type = FORM_BOOLEAN},
    {.var = "short", .type = FORM_TEXT_SINGLE, .max_length = 5},
};
static const struct form_def def = {
    .form_type = "jabber:iq:register",
    .title = "Contest Registration",
    .instructions = "Fill it in",
    .fields = fields,
    .nfields = sizeof(fields) / sizeof(fields[0]),
};

static xmpp_ctx_t *ctx;

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

/* Parses a <x type='submit'/> made of the given field XML. */
static enum form_status parse(const char *type, const char *inner,
                              struct form_data *out, struct form_problem *p)
{
    char xml[8192];
    xmpp_stanza_t *x;
    enum form_status st;

    snprintf(xml, sizeof(xml), "<x xmlns='jabber:x:data' type='%s'>%s</x>",
             type, inner);
    x = tu_parse(ctx, xml);
    st = form_parse(x, out, p);
    xmpp_stanza_release(x);
    return st;
}

#define GOOD                                                                   \
    "<field var='FORM_TYPE'><value>jabber:iq:register</value></field>"         \
    "<field var='first'><value> Juliet </value></field>"                       \
    "<field var='email'><value>juliet@capulet.com</value></field>"             \
    "<field var='password'><value> pw with spaces </value></field>"

/* Parses and validates; returns the validation status. */
static enum form_status check(const char *inner, bool keep_private,
                              struct form_data *d, struct form_problem *p)
{
    enum form_status st = parse("submit", inner, d, p);

    if (st != FORM_OK)
        return st;
    return form_validate(&def, d, keep_private, p);
}

static void test_build(void **state)
{
    xmpp_stanza_t *x = form_build(ctx, &def, "form", NULL);
    char *t = tu_text(x);

    (void)state;
    assert_contains(t, "<x type=\"form\" xmlns=\"jabber:x:data\">");
    assert_contains(t, "<title>Contest Registration</title>");
    assert_contains(t, "<instructions>Fill it in</instructions>");
    assert_contains(t, "<field type=\"hidden\" var=\"FORM_TYPE\"><value>"
                       "jabber:iq:register</value></field>");
    assert_contains(t, "<field label=\"Given Name\" type=\"text-single\" "
                       "var=\"first\"><required/></field>");
    assert_contains(t, "<option label=\"Male\"><value>M</value></option>");
    assert_contains(t, "<option label=\"Female\"><value>F</value></option>");
    assert_contains(t, "type=\"text-private\" var=\"password\"");
    free(t);
    xmpp_stanza_release(x);
}

static void test_build_prefill_hides_private(void **state)
{
    struct form_data d = {0};
    xmpp_stanza_t *x;
    char *t;

    (void)state;
    form_data_add(&d, "first", "Juliet");
    form_data_add(&d, "password", "$2a$10$hash");
    x = form_build(ctx, &def, "form", &d);
    t = tu_text(x);
    assert_contains(t, "<required/><value>Juliet</value>");
    assert_not_contains(t, "$2a$");
    free(t);
    xmpp_stanza_release(x);
    form_data_clear(&d);
}

static void test_parse_and_validate_good(void **state)
{
    struct form_data d;
    struct form_problem p;

    (void)state;
    assert_int_equal(check(GOOD "<field var='x-unknown'><value>1</value>"
                                "</field><field var='news'><value>true"
                                "</value></field>",
                           false, &d, &p),
                     FORM_OK);
    assert_string_equal(form_data_first(&d, "first"), "Juliet"); /* trimmed */
    assert_string_equal(form_data_first(&d, "password"), " pw with spaces ");
    assert_string_equal(form_data_first(&d, "news"), "1");
    assert_null(form_data_get(&d, "x-unknown")); /* ignored */
    assert_null(form_data_get(&d, "FORM_TYPE"));
    form_data_clear(&d);
}

static void test_without_form_type_is_accepted(void **state)
{
    struct form_data d;
    struct form_problem p;

    (void)state;
    assert_int_equal(check("<field var='first'><value>J</value></field>"
                           "<field var='email'><value>j@c</value></field>"
                           "<field var='password'><value>x</value></field>",
                           false, &d, &p),
                     FORM_OK);
    form_data_clear(&d);
}

static void expect(const char *inner, enum form_status want,
                   const char *text_part)
{
    struct form_data d;
    struct form_problem p = {{0}};

    assert_int_equal(check(inner, false, &d, &p), want);
    if (text_part)
        assert_contains(p.text, text_part);
    form_data_clear(&d);
}

static void test_refusals(void **state)
{
    (void)state;
    /* required missing, empty, or only spaces */
    expect("<field var='email'><value>j@c</value></field>"
           "<field var='password'><value>x</value></field>",
           FORM_NOT_ACCEPTABLE, "'first' is required");
    expect(GOOD "<field var='first'><value/></field>", FORM_BAD_REQUEST,
           "'first' submitted twice");
    expect("<field var='first'><value>   </value></field>"
           "<field var='email'><value>j@c</value></field>"
           "<field var='password'><value>x</value></field>",
           FORM_NOT_ACCEPTABLE, "'first' is required");
    expect("<field var='first'><value>J</value></field>"
           "<field var='email'><value>j@c</value></field>"
           "<field var='password'/>",
           FORM_NOT_ACCEPTABLE, "'password' is required");
    /* wrong FORM_TYPE */
    expect("<field var='FORM_TYPE'><value>urn:other</value></field>",
           FORM_BAD_REQUEST, "FORM_TYPE");
    /* list value not among the options */
    expect(GOOD "<field var='x-gender'><value>Q</value></field>",
           FORM_NOT_ACCEPTABLE, "'x-gender'");
    /* two values in a single-value field */
    expect("<field var='first'><value>A</value><value>B</value></field>",
           FORM_BAD_REQUEST, "'first' takes a single value");
    /* too long */
    expect(GOOD "<field var='short'><value>123456</value></field>",
           FORM_NOT_ACCEPTABLE, "'short' is longer than 5");
    /* control characters */
    expect(GOOD "<field var='short'><value>a&#x7f;b</value></field>",
           FORM_NOT_ACCEPTABLE, "'short' contains control");
    /* bad JID, bad boolean */
    expect(GOOD "<field var='buddy'><value>a b@c</value></field>",
           FORM_NOT_ACCEPTABLE, "'buddy' is not a valid JID");
    expect(GOOD "<field var='news'><value>maybe</value></field>",
           FORM_NOT_ACCEPTABLE, "'news' must be a boolean");
}

/* bcrypt reads 72 bytes: a longer private value is refused, whatever
 * max_length allows; a -multi field takes at most FORM_MAX_VALUES. */
static void test_private_and_multi_caps(void **state)
{
    char inner[8192];
    size_t n;

    (void)state;
#define BASE                                                                   \
    "<field var='first'><value>J</value></field>"                              \
    "<field var='email'><value>j@c</value></field>"
    snprintf(inner, sizeof(inner),
             BASE "<field var='password'><value>%073d</value></field>", 0);
    expect(inner, FORM_NOT_ACCEPTABLE, "'password' is longer than 72 bytes");
    snprintf(inner, sizeof(inner),
             BASE "<field var='password'><value>%072d</value></field>", 0);
    expect(inner, FORM_OK, NULL);
    n = (size_t)snprintf(inner, sizeof(inner),
                         BASE "<field var='password'><value>x</value></field>"
                              "<field var='tags'>");
    for (int i = 0; i < FORM_MAX_VALUES; i++)
        n += (size_t)snprintf(inner + n, sizeof(inner) - n,
                              "<value>t%d</value>", i);
    snprintf(inner + n, sizeof(inner) - n, "</field>");
    expect(inner, FORM_OK, NULL);
    snprintf(inner + n, sizeof(inner) - n, "<value>one more</value></field>");
    expect(inner, FORM_BAD_REQUEST, "'tags' has more than 64 values");
#undef BASE
}

static void test_default_max_length(void **state)
{
    char *big = malloc(FORM_DEFAULT_MAX_LENGTH + 200);
    char *inner = malloc(FORM_DEFAULT_MAX_LENGTH + 400);

    (void)state;
    memset(big, 'a', FORM_DEFAULT_MAX_LENGTH + 1);
    big[FORM_DEFAULT_MAX_LENGTH + 1] = '\0';
    snprintf(inner, FORM_DEFAULT_MAX_LENGTH + 400,
             "<field var='first'><value>J</value></field>"
             "<field var='password'><value>x</value></field>"
             "<field var='email'><value>%s</value></field>",
             big);
    expect(inner, FORM_NOT_ACCEPTABLE, "'email' is longer than");
    free(big);
    free(inner);
}

static void test_parse_shape(void **state)
{
    struct form_data d;
    struct form_problem p;
    char many[FORM_MAX_FIELDS * 40 + 100] = "";

    (void)state;
    assert_int_equal(parse("cancel", "", &d, &p), FORM_CANCEL);
    form_data_clear(&d);
    assert_int_equal(parse("form", GOOD, &d, &p), FORM_BAD_REQUEST);
    form_data_clear(&d);
    assert_int_equal(parse("result", GOOD, &d, &p), FORM_BAD_REQUEST);
    form_data_clear(&d);
    assert_int_equal(parse("submit", "<field><value>x</value></field>", &d, &p),
                     FORM_BAD_REQUEST);
    form_data_clear(&d);
    for (int i = 0; i <= FORM_MAX_FIELDS; i++) {
        char f[40];
        snprintf(f, sizeof(f), "<field var='f%d'/>", i);
        strcat(many, f);
    }
    assert_int_equal(parse("submit", many, &d, &p), FORM_BAD_REQUEST);
    assert_contains(p.text, "more than 64 fields");
    form_data_clear(&d);
}

static void test_keep_private_on_update(void **state)
{
    struct form_data d;
    struct form_problem p;

    (void)state;
    assert_int_equal(check("<field var='first'><value>J</value></field>"
                           "<field var='email'><value>j@c</value></field>",
                           true, &d, &p),
                     FORM_OK);
    form_data_clear(&d);
    /* but an explicitly empty one is still refused */
    assert_int_equal(check("<field var='first'><value>J</value></field>"
                           "<field var='email'><value>j@c</value></field>"
                           "<field var='password'><value></value></field>",
                           true, &d, &p),
                     FORM_NOT_ACCEPTABLE);
    form_data_clear(&d);
}

static void test_jid(void **state)
{
    (void)state;
    assert_true(form_jid_valid("juliet@capulet.com"));
    assert_true(form_jid_valid("capulet.com"));
    assert_true(form_jid_valid("juliet@capulet.com/balcony with space"));
    assert_false(form_jid_valid(""));
    assert_false(form_jid_valid("@capulet.com"));
    assert_false(form_jid_valid("juliet@"));
    assert_false(form_jid_valid("jul iet@capulet.com"));
    assert_false(form_jid_valid("a@b@c"));
    assert_false(form_jid_valid("juliet@capulet.com/"));
    assert_false(form_jid_valid("juliet@.com"));
}

static void test_types(void **state)
{
    enum form_field_type t;

    (void)state;
    assert_true(form_type_parse("list-single", &t));
    assert_int_equal(t, FORM_LIST_SINGLE);
    assert_string_equal(form_type_name(FORM_JID_MULTI), "jid-multi");
    assert_false(form_type_parse("text-singel", &t));
    assert_true(form_type_is_multi(FORM_TEXT_MULTI));
    assert_false(form_type_is_multi(FORM_LIST_SINGLE));
}

#define E_ACUTE "\xc3\xa9" /* é, 2 bytes */

/* Issue 16: a var of 63 ASCII bytes and an é, given twice, was quoted as
 * its first 64 bytes ('%.64s'), half of the é included: the error text,
 * sent as it was, made the server close the component's stream.  Now
 * the var is quoted as a short excerpt of whole characters, whatever
 * its length and whichever characters it has. */
static void test_var_twice_quoted_whole(void **state)
{
    static const char *const tails[] = {E_ACUTE, "\xe2\x82\xac",
                                        "\xf0\x9f\x98\x80"};
    struct form_data d;
    struct form_problem p;
    char var[200], inner[600];

    (void)state;
    memset(var, 'A', 63);
    strcpy(var + 63, E_ACUTE);
    snprintf(inner, sizeof(inner), "<field var='%s'/><field var='%s'/>", var,
             var);
    assert_int_equal(parse("submit", inner, &d, &p), FORM_BAD_REQUEST);
    form_data_clear(&d);
    assert_true(text_xml_chars_ok(p.text));
    assert_string_equal(p.text, "field "
                                "'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA...' "
                                "submitted twice");
    /* every length, every width of the last character */
    for (size_t n = 0; n < 80; n++) {
        for (size_t t = 0; t < 3; t++) {
            memset(var, 'A', n);
            strcpy(var + n, tails[t]);
            snprintf(inner, sizeof(inner), "<field var='%s'/><field var='%s'/>",
                     var, var);
            memset(&p, 0x55, sizeof(p));
            assert_int_equal(parse("submit", inner, &d, &p), FORM_BAD_REQUEST);
            form_data_clear(&d);
            if (!text_xml_chars_ok(p.text))
                fail_msg("var of %zu bytes + %zu: not UTF-8: %s", n, t, p.text);
            assert_contains(p.text, "submitted twice");
            assert_true(strlen(p.text) < 64 + 4 * TEXT_EXCERPT_CHARS);
        }
    }
}

/* The same var with too many values, and a form type of any length: the
 * text quotes them whole, and briefly. */
static void test_var_and_type_quoted_briefly(void **state)
{
    struct form_data d;
    struct form_problem p;
    char var[100], type[700], inner[8192];
    size_t n;

    (void)state;
    memset(var, 'A', 63);
    strcpy(var + 63, E_ACUTE);
    n = (size_t)snprintf(inner, sizeof(inner), "<field var='%s'>", var);
    for (int i = 0; i <= FORM_MAX_VALUES; i++)
        n += (size_t)snprintf(inner + n, sizeof(inner) - n, "<value>v</value>");
    snprintf(inner + n, sizeof(inner) - n, "</field>");
    assert_int_equal(parse("submit", inner, &d, &p), FORM_BAD_REQUEST);
    form_data_clear(&d);
    assert_true(text_xml_chars_ok(p.text));
    assert_contains(p.text, "has more than 64 values");
    assert_not_contains(p.text, var);
    /* a type of 300 é: the text of 256 bytes used to end inside one */
    type[0] = '\0';
    for (int i = 0; i < 300; i++)
        strcat(type, E_ACUTE);
    assert_int_equal(parse(type, GOOD, &d, &p), FORM_BAD_REQUEST);
    form_data_clear(&d);
    assert_true(text_xml_chars_ok(p.text));
    assert_contains(p.text, "cannot be submitted");
    assert_not_contains(p.text, type);
}

/* A text built from the configuration (a field's var) is cut, when it
 * must be, between two characters. */
static void test_long_defined_var_cut_whole(void **state)
{
    char var[400] = "x";
    struct form_field_def f[] = {
        {.var = var, .type = FORM_TEXT_SINGLE, .required = true}};
    const struct form_def d1 = {.fields = f, .nfields = 1};
    struct form_data d = {0};
    struct form_problem p;

    (void)state;
    for (int i = 0; i < 150; i++)
        strcat(var, E_ACUTE); /* 301 bytes: over a problem's 256 */
    assert_int_equal(form_validate(&d1, &d, false, &p), FORM_NOT_ACCEPTABLE);
    assert_true(text_xml_chars_ok(p.text));
    assert_true(strlen(p.text) >= FORM_PROBLEM_SIZE - 4);
    assert_true(strlen(p.text) < FORM_PROBLEM_SIZE);
    form_data_clear(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build),
        cmocka_unit_test(test_build_prefill_hides_private),
        cmocka_unit_test(test_parse_and_validate_good),
        cmocka_unit_test(test_without_form_type_is_accepted),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_default_max_length),
        cmocka_unit_test(test_private_and_multi_caps),
        cmocka_unit_test(test_parse_shape),
        cmocka_unit_test(test_keep_private_on_update),
        cmocka_unit_test(test_jid),
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_var_twice_quoted_whole),
        cmocka_unit_test(test_var_and_type_quoted_briefly),
        cmocka_unit_test(test_long_defined_var_cut_whole),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
