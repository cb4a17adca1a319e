/*
 * test_conf.c - configuration loading: the seed's files are accepted as
 * written, and bad files are refused with FILE:LINE: reason for every
 * problem.
 */
#include "testutil.h"

#include "conf.h"

/* Loads path; the problems printed go to *out (caller frees). */
static struct conf *load(const char *name, char **out)
{
    char path[512];
    size_t len = 0;
    FILE *err = open_memstream(out, &len);
    struct conf *c;

    snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR, name);
    c = conf_load(path, err);
    fclose(err);
    return c;
}

static void test_seed_contests(void **state)
{
    char *msgs;
    struct conf *c = load("contests.conf", &msgs);
    const struct form_field_def *g;

    (void)state;
    if (!c)
        fail_msg("refused: %s", msgs);
    assert_string_equal(msgs, "");
    assert_string_equal(c->component.jid, "contests.localhost");
    assert_string_equal(c->component.server, "127.0.0.1");
    assert_int_equal(c->component.port, 5347);
    assert_string_equal(c->component.secret, "s3cret");
    assert_string_equal(c->database.conninfo,
                        "host=127.0.0.1 port=5432 dbname=registrar "
                        "user=registrar");
    assert_string_equal(c->registration.title, "Contest Registration");
    assert_int_equal(c->registration.nfields, 4);
    assert_string_equal(c->registration.fields[0].var, "first");
    assert_string_equal(c->registration.fields[0].label, "Given Name");
    assert_true(c->registration.fields[0].required);
    g = &c->registration.fields[3];
    assert_string_equal(g->var, "x-gender");
    assert_int_equal(g->type, FORM_LIST_SINGLE);
    assert_false(g->required);
    assert_int_equal(g->noptions, 2);
    assert_string_equal(g->options[0].value, "M");
    assert_string_equal(g->options[0].label, "Male");
    assert_int_equal(c->log_level, LOG_INFO);
    /* defaults */
    assert_string_equal(c->disco.category, "component");
    assert_string_equal(c->disco.name, "Contest Registration");
    assert_int_equal(c->component.reconnect_max_ms, 30000);
    conf_free(c);
    free(msgs);
}

static void test_seed_accounts(void **state)
{
    char *msgs;
    struct conf *c = load("accounts.conf", &msgs);

    (void)state;
    if (!c)
        fail_msg("refused: %s", msgs);
    assert_int_equal(c->registration.nfields, 3);
    assert_int_equal(c->registration.fields[1].type, FORM_TEXT_PRIVATE);
    conf_free(c);
    free(msgs);
}

static void test_bad_reports_every_problem(void **state)
{
    char *msgs;
    struct conf *c = load("bad.conf", &msgs);

    (void)state;
    assert_null(c);
    assert_contains(msgs, "/bad.conf:3: port: 99999 is not a TCP port");
    assert_contains(msgs, "/bad.conf:4: component: 'secret' is required");
    assert_contains(msgs, "/bad.conf:6: type: 'text-singel' is not a "
                          "XEP-0004 field type");
    assert_contains(msgs, "field \"x-gender\": a list-single field needs "
                          "options");
    assert_contains(msgs, "field \"password\" must be text-private");
    assert_contains(msgs, "/bad.conf:13: level: 'loud' is not one of");
    free(msgs);
}

static void test_syntax_and_missing(void **state)
{
    char *msgs;
    struct conf *c = load("syntax.conf", &msgs);

    (void)state;
    assert_null(c);
    assert_contains(msgs, "/syntax.conf:4: no such option 'colour'");
    free(msgs);
    c = load("does-not-exist.conf", &msgs);
    assert_null(c);
    assert_contains(msgs, "does-not-exist.conf: cannot open: No such file");
    free(msgs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_contests),
        cmocka_unit_test(test_seed_accounts),
        cmocka_unit_test(test_bad_reports_every_problem),
        cmocka_unit_test(test_syntax_and_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
