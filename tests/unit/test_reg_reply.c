/*
 * test_reg_reply.c - the queries XEP-0077 replies carry, built directly
 * (reg_reply.c): the blank form with and without legacy elements,
 * <registered/> with the values on file and never a secret, redirection,
 * the changepassword and cancel forms, and the secret-free echo.
 */
#include "testutil.h"

#include "fake_store.h"
#include "fixture.h"
#include "reg_reply.h"
#include "sync_env.h"

static struct conf contests, accounts;
static xmpp_ctx_t *ctx;

static int setup(void **state)
{
    (void)state;
    ctx = xmpp_ctx_new(NULL, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    xmpp_ctx_free(ctx);
    return 0;
}

/* The canonical text of q (released). */
static char *text_of(xmpp_stanza_t *q)
{
    char *t = tu_canon(q);

    xmpp_stanza_release(q);
    return t;
}

static void test_blank(void **state)
{
    struct reg *reg = reg_new(&contests, fake_store(), &sync_env);
    char *t = text_of(reg_reply_blank(reg, ctx));

    (void)state;
    assert_contains(t, "<query xmlns=\"jabber:iq:register\"><instructions>"
                       "Use the enclosed form to register.</instructions>"
                       "<x type=\"form\" xmlns=\"jabber:x:data\">");
    /* a field without a jabber:iq:register element: no legacy elements */
    assert_not_contains(t, "<first/>");
    free(t);
    reg_free(reg);
    reg = reg_new(&accounts, fake_store(), &sync_env);
    t = text_of(reg_reply_blank(reg, ctx));
    assert_contains(t, "<username/><password/><email/><x type=\"form\"");
    free(t);
    reg_free(reg);
}

static void test_registered_shows_no_secret(void **state)
{
    struct reg *reg = reg_new(&accounts, fake_store(), &sync_env);
    struct store_record rec = {
        .username = "bill",
        .password_hash =
            "$2a$04$kjh.kuSUE9EpaxgfPuo2VOQ6d2H0wWex/rR0go4a4zcYJqJLtQyVS",
    };
    char *t;

    (void)state;
    form_data_add(&rec.fields, "username", "bill");
    form_data_add(&rec.fields, "email", "bard@shakespeare.lit");
    t = text_of(reg_reply_registered(reg, ctx, &rec));
    assert_contains(t, "<query xmlns=\"jabber:iq:register\"><registered/>");
    assert_contains(t, "<username>bill</username><password/>"
                       "<email>bard@shakespeare.lit</email>");
    assert_contains(t, "var=\"email\"><required/><value>bard@shakespeare.lit"
                       "</value>");
    assert_not_contains(t, "$2a$");
    free(t);
    form_data_clear(&rec.fields);
    reg_free(reg);
}

static void test_redirect(void **state)
{
    struct conf c = contests;
    struct reg *reg;
    char *t;

    (void)state;
    c.registration.url = "https://contests.example/signup";
    reg = reg_new(&c, fake_store(), &sync_env);
    t = text_of(reg_reply_redirect(reg, ctx));
    assert_string_equal(
        t, "<query xmlns=\"jabber:iq:register\"><instructions>To register, "
           "visit https://contests.example/signup</instructions><x "
           "xmlns=\"jabber:x:oob\"><url>https://contests.example/signup"
           "</url></x></query>");
    free(t);
    reg_free(reg);
}

static void test_side_forms(void **state)
{
    struct reg *reg = reg_new(&accounts, fake_store(), &sync_env);
    char *t = text_of(reg_reply_password_form(reg, ctx));

    (void)state;
    assert_contains(t, "<value>jabber:iq:register:changepassword</value>");
    assert_contains(t, "label=\"Old Password\" type=\"text-private\" "
                       "var=\"old_password\"><required/>");
    free(t);
    t = text_of(reg_reply_cancel_form(reg, ctx));
    assert_contains(t, "<value>jabber:iq:register:cancel</value>");
    assert_contains(t, "var=\"username\"><required/>");
    assert_contains(t, "var=\"password\"><required/>");
    free(t);
    reg_free(reg);
}

static void test_echo_blanks_secrets(void **state)
{
    struct reg *reg = reg_new(&accounts, fake_store(), &sync_env);
    xmpp_stanza_t *q = tu_parse(
        ctx, "<query xmlns='jabber:iq:register'><username>bill</username>"
             "<password>Calliope</password><email>b@x.example</email>"
             "<x xmlns='jabber:x:data' type='submit'><field var='password'>"
             "<value>Calliope</value></field></x></query>");
    char *t = text_of(reg_reply_echo(reg, q));

    (void)state;
    assert_string_equal(t, "<query xmlns=\"jabber:iq:register\"><username>"
                           "bill</username><password/><email>b@x.example"
                           "</email></query>");
    xmpp_stanza_release(q);
    free(t);
    /* only a form: nothing worth echoing */
    q = tu_parse(ctx, "<query xmlns='jabber:iq:register'><x "
                      "xmlns='jabber:x:data' type='submit'/></query>");
    assert_null(reg_reply_echo(reg, q));
    xmpp_stanza_release(q);
    reg_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_blank, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registered_shows_no_secret, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_redirect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_side_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_echo_blanks_secrets, setup,
                                        teardown),
    };

    contests = fixture_conf("contests", NULL);
    accounts = fixture_conf("accounts", NULL);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
