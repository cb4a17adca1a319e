/*
 * test_reg_reply.c - the queries XEP-0077 replies carry, built directly
 * (reg_reply.c): the blank form with and without legacy elements,
 * <registered/> with the values on file and never a secret, redirection,
 * the changepassword and cancel forms, and the secret-free echo; and that
 * no answer says a text twice (one <instructions/> where the query's
 * speaks for the form).
 */
#include "testutil.h"

#include "fake_store.h"
#include "fixture.h"
#include "reg_reply.h"
#include "sync_env.h"

static struct conf contests, accounts, invites;
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

/* How many times needle occurs in haystack. */
static int occurrences(const char *haystack, const char *needle)
{
    int n = 0;

    for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

#define ACCOUNTS_TEXT                                                          \
    "Choose a username and password for use with this service. Please "        \
    "also provide your email address."
#define ACCOUNTS_FIELDS                                                        \
    "<field type=\"hidden\" var=\"FORM_TYPE\"><value>jabber:iq:register"       \
    "</value></field><field label=\"Username\" type=\"text-single\" "          \
    "var=\"username\"><required/>%s</field><field label=\"Password\" "         \
    "type=\"text-private\" var=\"password\"><required/></field><field "        \
    "label=\"Email Address\" type=\"text-single\" var=\"email\"><required/>"   \
    "%s</field>"

static void test_blank(void **state)
{
    struct reg *reg = reg_new(&contests, fake_store(), &sync_env);
    char *t = text_of(reg_reply_blank(reg, ctx, NULL));

    (void)state;
    assert_contains(t, "<query xmlns=\"jabber:iq:register\"><instructions>"
                       "Use the enclosed form to register.</instructions>"
                       "<x type=\"form\" xmlns=\"jabber:x:data\">");
    /* a field without a jabber:iq:register element: no legacy elements */
    assert_not_contains(t, "<first/>");
    free(t);
    reg_free(reg);
    reg = reg_new(&accounts, fake_store(), &sync_env);
    t = text_of(reg_reply_blank(reg, ctx, NULL));
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
    t = text_of(reg_reply_registered(reg, ctx, &rec, NULL));
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

/* Every field a jabber:iq:register element (XEP-0077 section 6, "x:data
 * form + iq:register fields"): the configured instructions once, as the
 * query's <instructions/>; the form has its title and fields only. */
static void test_blank_legacy_shape(void **state)
{
    struct reg *reg = reg_new(&accounts, fake_store(), &sync_env);
    char *t = text_of(reg_reply_blank(reg, ctx, NULL));
    char want[2048];

    (void)state;
    snprintf(want, sizeof(want),
             "<query xmlns=\"jabber:iq:register\"><instructions>" ACCOUNTS_TEXT
             "</instructions><username/><password/><email/><x type=\"form\" "
             "xmlns=\"jabber:x:data\"><title>Account "
             "Registration</title>" ACCOUNTS_FIELDS "</x></query>",
             "", "");
    assert_string_equal(t, want);
    free(t);
    reg_free(reg);
}

/* Form only ("x:data form + iq:register instructions", with the x:oob URL
 * when there is one): two different texts, each once: the query's for
 * clients without data forms, the configured ones in the form. */
static void test_blank_form_only_texts(void **state)
{
    struct conf c = contests;
    struct reg *reg = reg_new(&c, fake_store(), &sync_env);
    char *t = text_of(reg_reply_blank(reg, ctx, NULL));

    (void)state;
    assert_int_equal(occurrences(t, "<instructions>"), 2);
    assert_int_equal(occurrences(t, "special contests"), 1);
    assert_contains(t, "<x type=\"form\" xmlns=\"jabber:x:data\"><title>"
                       "Contest Registration</title><instructions>Please "
                       "provide the following information to sign up for "
                       "our special contests!</instructions><field ");
    free(t);
    reg_free(reg);
    c.registration.url = "https://contests.example/signup";
    reg = reg_new(&c, fake_store(), &sync_env);
    t = text_of(reg_reply_blank(reg, ctx, NULL));
    assert_contains(t, "<query xmlns=\"jabber:iq:register\"><instructions>"
                       "Use the enclosed form to register. If your client "
                       "does not support data forms, visit "
                       "https://contests.example/signup</instructions><x "
                       "type=\"form\"");
    assert_int_equal(occurrences(t, "special contests"), 1);
    assert_contains(t, "</x><x xmlns=\"jabber:x:oob\"><url>"
                       "https://contests.example/signup</url></x></query>");
    free(t);
    reg_free(reg);
}

/* Registered (XEP-0077 section 3.1): <registered/>, one <instructions/>
 * saying so, the values on file (an empty <password/>), and the form
 * pre-filled with its title and no sign-up instructions. */
static void test_registered_shape(void **state)
{
    struct reg *reg = reg_new(&accounts, fake_store(), &sync_env);
    struct store_record rec = {.username = "bill"};
    char *t;
    char want[2048];

    (void)state;
    form_data_add(&rec.fields, "username", "bill");
    form_data_add(&rec.fields, "email", "bard@shakespeare.lit");
    t = text_of(reg_reply_registered(reg, ctx, &rec, NULL));
    snprintf(want, sizeof(want),
             "<query xmlns=\"jabber:iq:register\"><registered/><instructions>"
             "You are registered. Submit the form again to update your "
             "registration, or send &lt;remove/&gt; to cancel it."
             "</instructions><username>bill</username><password/><email>"
             "bard@shakespeare.lit</email><x type=\"form\" "
             "xmlns=\"jabber:x:data\"><title>Account "
             "Registration</title>" ACCOUNTS_FIELDS "</x></query>",
             "<value>bill</value>", "<value>bard@shakespeare.lit</value>");
    assert_string_equal(t, want);
    free(t);
    form_data_clear(&rec.fields);
    reg_free(reg);

    /* form only: the same, without legacy elements */
    reg = reg_new(&contests, fake_store(), &sync_env);
    rec = (struct store_record){.state = STORE_STATE_PENDING};
    form_data_add(&rec.fields, "first", "Juliet");
    t = text_of(reg_reply_registered(reg, ctx, &rec, NULL));
    assert_int_equal(occurrences(t, "<instructions>"), 1);
    assert_contains(t, "<registered/><instructions>You are registered; your "
                       "registration is pending");
    assert_contains(t, "</instructions><x type=\"form\" xmlns=\"jabber:x:data"
                       "\"><title>Contest Registration</title><field "
                       "type=\"hidden\"");
    assert_not_contains(t, "special contests");
    assert_contains(t, "var=\"first\"><required/><value>Juliet</value>");
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
    t = text_of(reg_reply_redirect(reg, ctx, NULL));
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
    char *t = text_of(reg_reply_password_form(reg, ctx, NULL));

    (void)state;
    assert_contains(t, "<value>jabber:iq:register:changepassword</value>");
    assert_contains(t, "label=\"Old Password\" type=\"text-private\" "
                       "var=\"old_password\"><required/>");
    free(t);
    t = text_of(reg_reply_cancel_form(reg, ctx, NULL));
    assert_contains(t, "<value>jabber:iq:register:cancel</value>");
    assert_contains(t, "var=\"username\"><required/>");
    assert_contains(t, "var=\"password\"><required/>");
    free(t);
    reg_free(reg);
}

/* A translation (lang.h): the blank query, the registered one and the
 * side forms in its language; vars, types and values as they are. */
static void test_translated(void **state)
{
    struct reg *reg = reg_new(&accounts, fake_store(), &sync_env);
    struct conf_lang_field fields[] = {
        {.var = "username", .label = "Nom d'utilisateur"},
        {.var = "password", .label = "Mot de passe", .desc = "Secret"},
    };
    struct conf_lang fr = {.tag = "fr",
                           .title = "Inscription",
                           .instructions = "Choisissez un nom.",
                           .fields = fields,
                           .nfields = 2};
    struct store_record rec = {.username = "bill",
                               .state = STORE_STATE_PENDING};
    char *t;

    (void)state;
    fr.texts[LANG_TEXT_pending] = "Vous êtes inscrit, en attente.";
    fr.texts[LANG_TEXT_password_change_title] = "Changer de mot de passe";
    fr.texts[LANG_TEXT_cancel_instructions] = "Pour annuler.";
    t = text_of(reg_reply_blank(reg, ctx, &fr));
    /* legacy elements: the query's instructions are the form's, in French */
    assert_contains(t, "<instructions>Choisissez un nom.</instructions>");
    assert_contains(t, "<title>Inscription</title>");
    assert_contains(t, "label=\"Nom d&apos;utilisateur\" type=\"text-single\" "
                       "var=\"username\"");
    assert_contains(t, "<desc>Secret</desc>");
    assert_contains(t, "label=\"Email Address\""); /* not translated */
    free(t);
    assert_true(form_data_add(&rec.fields, "username", "bill"));
    t = text_of(reg_reply_registered(reg, ctx, &rec, &fr));
    assert_contains(t, "<instructions>Vous êtes inscrit, en attente."
                       "</instructions>");
    assert_contains(t, "var=\"username\"><required/><value>bill</value>");
    free(t);
    form_data_clear(&rec.fields);
    t = text_of(reg_reply_password_form(reg, ctx, &fr));
    assert_contains(t, "<title>Changer de mot de passe</title>");
    /* untranslated key: the English text */
    assert_contains(t, "<instructions>Use this form to change your "
                       "password.</instructions>");
    free(t);
    t = text_of(reg_reply_cancel_form(reg, ctx, &fr));
    assert_contains(t, "<title>Cancel Registration</title>");
    assert_contains(t, "<instructions>Pour annuler.</instructions>");
    assert_contains(t, "label=\"Mot de passe\"");
    free(t);
    reg_free(reg);
}

/* Invitations required: the instructions say so, in the translation's
 * language, before the translation's own. */
static void test_translated_invitation(void **state)
{
    struct reg *reg = reg_new(&invites, fake_store(), &sync_env);
    struct conf_lang fr = {.tag = "fr", .instructions = "Choisissez un nom."};
    char *t;

    (void)state;
    fr.texts[LANG_TEXT_by_invitation] = "Sur invitation seulement.";
    t = text_of(reg_reply_blank(reg, ctx, &fr));
    assert_contains(t, "<instructions>Sur invitation seulement. Choisissez "
                       "un nom.</instructions>");
    assert_int_equal(occurrences(t, "<instructions>"), 1);
    free(t);
    t = text_of(reg_reply_blank(reg, ctx, NULL));
    assert_contains(t, "<instructions>Registration with this service is by "
                       "invitation: enter your invitation token in the "
                       "field 'preauth'. Choose a username");
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
        cmocka_unit_test_setup_teardown(test_blank_legacy_shape, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_blank_form_only_texts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_registered_shows_no_secret, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_registered_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_side_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_translated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_translated_invitation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_echo_blanks_secrets, setup,
                                        teardown),
    };

    contests = fixture_conf("contests", NULL);
    accounts = fixture_conf("accounts", NULL);
    invites = fixture_conf("invites", NULL);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
