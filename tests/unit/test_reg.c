/*
 * test_reg.c - the XEP-0077 decisions, against the in-memory store: what a
 * get shows, what a set stores, which error each refusal gets, and that
 * every request is answered exactly once.
 */
#include "testutil.h"

#include <poll.h>

#include "fake_store.h"
#include "fixture.h"
#include "log.h"
#include "reg.h"
#include "secret.h"
#include "sync_env.h"

/* tests/fixtures/contests.conf and accounts.conf (JIDs contests.example,
 * accounts.example), loaded by main() */
static struct conf contests, accounts;

static xmpp_ctx_t *ctx;
static struct tu_sink sink;

static int setup(void **state)
{
    (void)state;
    ctx = xmpp_ctx_new(NULL, NULL);
    fake_store_reset();
    tu_sink_init(&sink);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_sink_clear(&sink);
    fake_store_reset();
    xmpp_ctx_free(ctx);
    return 0;
}

/* Sends <iq type=TYPE from=FROM><query xmlns='jabber:iq:register'>INNER
 * </query></iq> to a reg for conf; returns the one reply. */
static const char *ask(const struct conf *conf, const char *type,
                       const char *from, const char *inner)
{
    char xml[8192];
    xmpp_stanza_t *iq;
    struct reg *reg = reg_new(conf, fake_store(), &sync_env);
    struct iq_req *req;

    tu_sink_clear(&sink);
    snprintf(xml, sizeof(xml),
             "<iq type='%s' id='r1' from='%s' to='%s'>"
             "<query xmlns='jabber:iq:register'>%s</query></iq>",
             type, from, conf->component.jid, inner);
    iq = tu_parse(ctx, xml);
    req = iq_req_new(iq, conf->component.jid, &sink.sink);
    reg_handle(reg, req);
    xmpp_stanza_release(iq);
    reg_free(reg);
    return tu_only_reply(&sink);
}

#define JULIET "juliet@capulet.example/balcony"
#define SEED_FORM                                                              \
    "<x xmlns='jabber:x:data' type='submit'>"                                  \
    "<field type='hidden' var='FORM_TYPE'><value>jabber:iq:register</value>"   \
    "</field><field var='first'><value>Juliet</value></field>"                 \
    "<field var='last'><value>Capulet</value></field>"                         \
    "<field var='email'><value>juliet@capulet.com</value></field>"             \
    "<field var='x-gender'><value>F</value></field></x>"

static void test_get_form_only(void **state)
{
    const char *r;

    (void)state;
    r = ask(&contests, "get", JULIET, "");
    assert_contains(r, "type=\"result\"");
    assert_contains(r, "from=\"contests.example\"");
    assert_contains(r, "to=\"" JULIET "\"");
    assert_contains(r, "<instructions>Use the enclosed form");
    assert_contains(r, "<x type=\"form\" xmlns=\"jabber:x:data\">");
    assert_contains(r, "<title>Contest Registration</title>");
    assert_contains(r, "type=\"list-single\" var=\"x-gender\"");
    /* x-gender has no iq:register element: no legacy fields (XEP-0077 6) */
    assert_not_contains(r, "<first/>");
    assert_not_contains(r, "<registered/>");
}

static void test_get_legacy_and_form(void **state)
{
    const char *r;

    (void)state;
    r = ask(&accounts, "get", "bill@shakespeare.example/globe", "");
    assert_contains(r, "<instructions>Choose a username and password for "
                       "use with this service. Please also provide your "
                       "email address.</instructions><username/><password/>"
                       "<email/>");
    assert_contains(r, "<x type=\"form\" xmlns=\"jabber:x:data\">");
    /* the form does not repeat the query's instructions (section 6) */
    assert_contains(r, "<title>Account Registration</title><field "
                       "type=\"hidden\" var=\"FORM_TYPE\">");
}

static void test_register_then_registered(void **state)
{
    const char *r;

    (void)state;
    r = ask(&contests, "set", JULIET, SEED_FORM);
    /* an empty result (XEP-0077 example 5) */
    assert_string_equal(r,
                        "<iq from=\"contests.example\" id=\"r1\" to=\"" JULIET
                        "\" type=\"result\"/>");
    assert_string_equal(
        fake_store_fields("contests.example", "juliet@capulet.example"),
        "first=Juliet;last=Capulet;email=juliet@capulet.com;"
        "x-gender=F;");
    assert_null(
        fake_store_username("contests.example", "juliet@capulet.example"));
    r = ask(&contests, "get", "juliet@capulet.example/other", "");
    assert_contains(r, "<registered/><instructions>You are registered.");
    assert_not_contains(r, "<first>"); /* form only, as in the blank get */
    assert_not_contains(r, "special contests"); /* no sign-up text */
    assert_contains(r, "<required/><value>Capulet</value>");
    assert_contains(r, "<value>F</value><option");
    /* an update from the same JID: still one row, new values */
    r = ask(&contests, "set", JULIET,
            "<x xmlns='jabber:x:data' type='submit'>"
            "<field var='first'><value>Jules</value></field>"
            "<field var='last'><value>Capulet</value></field>"
            "<field var='email'><value>j@c.example</value></field></x>");
    assert_contains(r, "type=\"result\"");
    assert_int_equal(fake_store_count(), 1);
    assert_contains(
        fake_store_fields("contests.example", "juliet@capulet.example"),
        "first=Jules;");
}

static void test_legacy_register_hashes_password(void **state)
{
    const char *r, *hash;

    (void)state;
    r = ask(&accounts, "set", "bill@shakespeare.example/globe",
            "<username>bill</username><password>Calliope</password>"
            "<email>bard@shakespeare.lit</email>");
    assert_string_equal(r, "<iq from=\"accounts.example\" id=\"r1\" "
                           "to=\"bill@shakespeare.example/globe\" "
                           "type=\"result\"/>");
    hash = fake_store_password_hash("accounts.example",
                                    "bill@shakespeare.example");
    assert_non_null(hash);
    assert_memory_equal(hash, "$2a$04$", 7);
    assert_true(secret_verify("Calliope", hash));
    assert_not_contains(
        fake_store_fields("accounts.example", "bill@shakespeare.example"),
        "Calliope");
    assert_string_equal(
        fake_store_username("accounts.example", "bill@shakespeare.example"),
        "bill");
    r = ask(&accounts, "get", "bill@shakespeare.example/globe", "");
    assert_contains(r, "<registered/>");
    assert_contains(r, "<username>bill</username>");
    assert_contains(r, "<password/>");
    assert_not_contains(r, "Calliope");
    assert_not_contains(r, "$2a$");
}

static void test_conflict(void **state)
{
    const char *r;

    (void)state;
    ask(&accounts, "set", "bill@shakespeare.example/globe",
        "<username>bill</username><password>Calliope</password>"
        "<email>bard@shakespeare.lit</email>");
    r = ask(&accounts, "set", "billg@bigcompany.example/x",
            "<username>Bill</username><password>m1cro$oft</password>"
            "<email>billg@bigcompany.com</email>");
    assert_contains(r, "type=\"error\"");
    assert_contains(r, "<error code=\"409\" type=\"cancel\"><conflict "
                       "xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/>");
    /* the query is echoed as in XEP-0077, but never the password */
    assert_contains(r, "<username>Bill</username><password/>");
    assert_not_contains(r, "m1cro$oft");
    assert_int_equal(fake_store_count(), 1);
}

static void test_not_acceptable(void **state)
{
    const char *r;

    (void)state;
    r = ask(&accounts, "set", "bill@shakespeare.example/globe",
            "<username>bill</username><password>Calliope</password>");
    assert_contains(r, "<error code=\"406\" type=\"modify\"><not-acceptable");
    assert_contains(r, "field 'email' is required");
    r = ask(&accounts, "set", "bill@shakespeare.example/globe",
            "<username>bill</username><password/><email>b@s</email>");
    assert_contains(r, "code=\"406\"");
    assert_contains(r, "'password' is required");
    r = ask(&contests, "set", JULIET,
            "<x xmlns='jabber:x:data' type='submit'>"
            "<field var='first'><value>J</value></field>"
            "<field var='last'><value>C</value></field>"
            "<field var='email'><value>j@c</value></field>"
            "<field var='x-gender'><value>Q</value></field></x>");
    assert_contains(r, "code=\"406\"");
    assert_contains(r, "x-gender");
    assert_int_equal(fake_store_count(), 0);
}

static void test_bad_requests(void **state)
{
    const char *r;

    (void)state;
    r = ask(&contests, "set", JULIET,
            "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'>"
            "<value>urn:wrong</value></field></x>");
    assert_contains(r, "<error code=\"400\" type=\"modify\"><bad-request");
    r = ask(&contests, "set", JULIET, "<x xmlns='jabber:x:data' type='form'/>");
    assert_contains(r, "code=\"400\"");
    r = ask(&contests, "set", JULIET, "");
    assert_contains(r, "code=\"400\"");
    r = ask(&contests, "set", JULIET, "<remove/><username>x</username>");
    assert_contains(r, "code=\"400\"");
    assert_int_equal(fake_store_count(), 0);
}

static void test_cancel_form_changes_nothing(void **state)
{
    const char *r;

    (void)state;
    r = ask(&contests, "set", JULIET,
            "<x xmlns='jabber:x:data' type='cancel'/>");
    assert_contains(r, "type=\"result\"");
    assert_int_equal(fake_store_count(), 0);
}

static void test_form_wins_over_legacy(void **state)
{
    const char *r;

    (void)state;
    r = ask(&contests, "set", JULIET, "<first>Legacy</first>" SEED_FORM);
    assert_contains(r, "type=\"result\"");
    assert_contains(
        fake_store_fields("contests.example", "juliet@capulet.example"),
        "first=Juliet;");
}

static void test_remove(void **state)
{
    const char *r;

    (void)state;
    r = ask(&contests, "set", JULIET, "<remove/>");
    assert_contains(r, "<error code=\"407\" type=\"auth\">"
                       "<registration-required");
    ask(&contests, "set", JULIET, SEED_FORM);
    assert_int_equal(fake_store_count(), 1);
    r = ask(&contests, "set", JULIET, "<remove/>");
    assert_contains(r, "type=\"result\"");
    assert_int_equal(fake_store_count(), 0);
}

static void test_database_down_answers_wait(void **state)
{
    const char *r;

    (void)state;
    fake_store_set_down(true);
    r = ask(&contests, "get", JULIET, "");
    assert_contains(r, "<error code=\"500\" type=\"wait\">"
                       "<internal-server-error");
    r = ask(&contests, "set", JULIET, SEED_FORM);
    assert_contains(r, "type=\"wait\"");
    r = ask(&contests, "set", JULIET, "<remove/>");
    assert_contains(r, "type=\"wait\"");
    fake_store_set_down(false);
    assert_int_equal(fake_store_count(), 0);
}

static void test_idempotent_retry(void **state)
{
    const char *r;

    (void)state;
    ask(&contests, "set", JULIET, SEED_FORM);
    r = ask(&contests, "set", JULIET, SEED_FORM);
    assert_contains(r, "type=\"result\"");
    assert_int_equal(fake_store_count(), 1);
}

/* ---- password change, cancel, redirect, policy, limits (XEP-0077 3.2,
 * 3.3, 5; issue "the rest of XEP-0077") ---- */

#define BILL "bill@shakespeare.example/globe"
#define BILL_BARE "bill@shakespeare.example"

static void register_bill(const struct conf *conf)
{
    const char *r = ask(conf, "set", BILL,
                        "<username>bill</username><password>theglobe"
                        "</password><email>bard@shakespeare.lit</email>");
    assert_contains(r, "type=\"result\"");
}

static void test_legacy_password_change(void **state)
{
    const char *r, *before;
    char *old;

    (void)state;
    register_bill(&accounts);
    old = strdup(fake_store_password_hash("accounts.example", BILL_BARE));
    /* the seed's change1 */
    r = ask(&accounts, "set", BILL,
            "<username>bill</username><password>newpass</password>");
    assert_contains(r, "type=\"result\"");
    assert_true(secret_verify(
        "newpass", fake_store_password_hash("accounts.example", BILL_BARE)));
    /* the email on file is untouched */
    assert_contains(fake_store_fields("accounts.example", BILL_BARE),
                    "bard@shakespeare.lit");
    free(old);

    /* another user's name: 401, nothing changed, nothing echoed */
    before = fake_store_password_hash("accounts.example", BILL_BARE);
    old = strdup(before);
    r = ask(&accounts, "set", BILL,
            "<username>juliet</username><password>stolen</password>");
    assert_contains(r, "<error code=\"401\" type=\"modify\">"
                       "<not-authorized");
    assert_not_contains(r, "stolen");
    assert_not_contains(r, "<query");
    assert_string_equal(fake_store_password_hash("accounts.example", BILL_BARE),
                        old);
    /* an empty password never clears the stored one */
    r = ask(&accounts, "set", BILL, "<username>bill</username><password/>");
    assert_contains(r, "code=\"406\"");
    r = ask(&accounts, "set", BILL,
            "<username>bill</username><password>  </password>");
    assert_contains(r, "code=\"406\"");
    assert_string_equal(fake_store_password_hash("accounts.example", BILL_BARE),
                        old);
    free(old);
}

static void test_password_change_modes(void **state)
{
    struct conf c = accounts;
    const char *r;

    (void)state;
    register_bill(&c);
    c.registration.password_change = CONF_PWCHANGE_OFF;
    r = ask(&c, "set", BILL,
            "<username>bill</username><password>newpass</password>");
    assert_contains(r, "<error code=\"405\" type=\"cancel\"><not-allowed");
    c.registration.password_change = CONF_PWCHANGE_FORM;
    r = ask(&c, "set", BILL,
            "<username>bill</username><password>newpass</password>");
    /* XEP-0077 example 21: the form comes with not-authorized/modify */
    assert_contains(r, "<query xmlns=\"jabber:iq:register\"><x type=\"form\" "
                       "xmlns=\"jabber:x:data\"><title>Password Change"
                       "</title>");
    assert_contains(r, "<value>jabber:iq:register:changepassword</value>");
    assert_contains(r, "var=\"old_password\"");
    assert_contains(r, "<error code=\"401\" type=\"modify\">");
    assert_true(secret_verify(
        "theglobe", fake_store_password_hash("accounts.example", BILL_BARE)));
}

#define PW_FORM(user, old, new)                                                \
    "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>"    \
    "jabber:iq:register:changepassword</value></field><field "                 \
    "var='username'><value>" user "</value></field><field "                    \
    "var='old_password'><value>" old "</value></field><field "                 \
    "var='password'><value>" new "</value></field></x>"

static void test_password_change_form(void **state)
{
    struct conf c = accounts;
    const char *r;

    (void)state;
    c.registration.password_change = CONF_PWCHANGE_FORM;
    r = ask(&c, "set", BILL, PW_FORM("bill", "theglobe", "groundlings"));
    assert_contains(r, "<registration-required");
    register_bill(&c);
    r = ask(&c, "set", BILL, PW_FORM("bill", "wrong", "groundlings"));
    assert_contains(r, "<error code=\"401\" type=\"modify\">"
                       "<not-authorized");
    assert_not_contains(r, "groundlings");
    assert_true(secret_verify(
        "theglobe", fake_store_password_hash("accounts.example", BILL_BARE)));
    r = ask(&c, "set", BILL, PW_FORM("juliet", "theglobe", "groundlings"));
    assert_contains(r, "<not-authorized");
    /* the seed's change2: the bare JID is accepted as the username */
    r = ask(&c, "set", BILL, PW_FORM(BILL_BARE, "theglobe", "groundlings"));
    assert_contains(r, "type=\"result\"");
    assert_true(
        secret_verify("groundlings",
                      fake_store_password_hash("accounts.example", BILL_BARE)));
    r = ask(&c, "set", BILL, PW_FORM("bill", "groundlings", ""));
    assert_contains(r, "code=\"406\"");
}

static void test_password_change_with_proof(void **state)
{
    static struct form_field_def fields[] = {
        {.var = "username", .type = FORM_TEXT_SINGLE, .required = true},
        {.var = "password", .type = FORM_TEXT_PRIVATE, .required = true},
        {.var = "x-mmn",
         .type = FORM_TEXT_SINGLE,
         .label = "Mother's Maiden "
                  "Name"},
    };
    static char *proof[] = {"x-mmn"};
    struct conf c = accounts;
    const char *r;

    (void)state;
    c.registration.fields = fields;
    c.registration.nfields = 3;
    c.registration.password_change = CONF_PWCHANGE_FORM;
    c.registration.password_change_proof = (struct conf_list){proof, 1};
    r = ask(&c, "set", BILL,
            "<x xmlns='jabber:x:data' type='submit'><field var='username'>"
            "<value>bill</value></field><field var='password'><value>"
            "theglobe</value></field><field var='x-mmn'><value>Throckmorton"
            "</value></field></x>");
    assert_contains(r, "type=\"result\"");
    r = ask(&c, "set", BILL, "<username>bill</username><password>x</password>");
    assert_contains(r,
                    "label=\"Mother&apos;s Maiden Name\" type=\"text-single\" "
                    "var=\"x-mmn\"><required/>");
    r = ask(&c, "set", BILL,
            "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'>"
            "<value>jabber:iq:register:changepassword</value></field>"
            "<field var='username'><value>bill</value></field>"
            "<field var='old_password'><value>theglobe</value></field>"
            "<field var='password'><value>new</value></field>"
            "<field var='x-mmn'><value>Capulet</value></field></x>");
    assert_contains(r, "<not-authorized");
    r = ask(&c, "set", BILL,
            "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'>"
            "<value>jabber:iq:register:changepassword</value></field>"
            "<field var='username'><value>bill</value></field>"
            "<field var='old_password'><value>theglobe</value></field>"
            "<field var='password'><value>new</value></field>"
            "<field var='x-mmn'><value>Throckmorton</value></field></x>");
    assert_contains(r, "type=\"result\"");
}

#define CANCEL_FORM(user, pw)                                                  \
    "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>"    \
    "jabber:iq:register:cancel</value></field><field var='username'>"          \
    "<value>" user "</value></field><field var='password'><value>" pw          \
    "</value></field></x>"

static void test_cancel_modes(void **state)
{
    struct conf c = accounts;
    const char *r;

    (void)state;
    register_bill(&c);
    c.registration.remove = CONF_REMOVE_OFF;
    r = ask(&c, "set", BILL, "<remove/>");
    assert_contains(r, "<error code=\"405\" type=\"cancel\"><not-allowed");
    assert_int_equal(fake_store_count(), 1);
    c.registration.remove = CONF_REMOVE_FORM;
    r = ask(&c, "set", BILL, "<remove/>");
    /* XEP-0077 example 15: the cancel form comes with not-allowed */
    assert_contains(r, "<value>jabber:iq:register:cancel</value>");
    assert_contains(r, "<title>Cancel Registration</title>");
    assert_contains(r, "<error code=\"405\" type=\"cancel\">");
    assert_int_equal(fake_store_count(), 1);
    r = ask(&c, "set", BILL, CANCEL_FORM("bill", "wrong"));
    assert_contains(r, "<error code=\"403\" type=\"auth\"><forbidden");
    assert_int_equal(fake_store_count(), 1);
    r = ask(&c, "set", BILL, CANCEL_FORM("juliet", "theglobe"));
    assert_contains(r, "<forbidden");
    r = ask(&c, "set", BILL, CANCEL_FORM("bill", "theglobe"));
    assert_contains(r, "type=\"result\"");
    assert_int_equal(fake_store_count(), 0);
    r = ask(&c, "set", BILL, "<remove/>");
    assert_contains(r, "<registration-required");
}

static void test_redirect_and_oob(void **state)
{
    struct conf c = contests;
    const char *r;

    (void)state;
    c.registration.url = "https://contests.example/signup";
    r = ask(&c, "get", JULIET, "");
    assert_contains(r, "visit https://contests.example/signup");
    assert_contains(r, "</x><x xmlns=\"jabber:x:oob\"><url>https://"
                       "contests.example/signup</url></x>");
    c.registration.mode = CONF_MODE_REDIRECT;
    r = ask(&c, "get", JULIET, "");
    assert_contains(r, "<query xmlns=\"jabber:iq:register\"><instructions>"
                       "To register, visit https://contests.example/signup"
                       "</instructions><x xmlns=\"jabber:x:oob\">");
    assert_not_contains(r, "jabber:x:data");
    r = ask(&c, "set", JULIET, SEED_FORM);
    assert_contains(r, "<error code=\"405\" type=\"cancel\"><not-allowed");
    assert_int_equal(fake_store_count(), 0);
}

static void test_access_policy(void **state)
{
    static char *local[] = {"capulet.example"};
    static char *blocked[] = {"tybalt@*"};
    struct conf c = contests;
    const char *r;

    (void)state;
    c.registration.allowed_domains = (struct conf_list){0};
    c.registration.local_domains = (struct conf_list){local, 1};
    c.registration.blocked_jids = (struct conf_list){blocked, 1};
    r = ask(&c, "get", "romeo@montague.example/x", "");
    assert_contains(r, "<error code=\"403\" type=\"auth\"><forbidden");
    assert_contains(r, "other servers");
    assert_not_contains(r, "jabber:x:data"); /* no form that would fail */
    r = ask(&c, "set", "romeo@montague.example/x", SEED_FORM);
    assert_contains(r, "<forbidden");
    r = ask(&c, "set", "tybalt@capulet.example/x", SEED_FORM);
    assert_contains(r, "<forbidden");
    assert_int_equal(fake_store_count(), 0);
    r = ask(&c, "set", JULIET, SEED_FORM);
    assert_contains(r, "type=\"result\"");
}

static void test_rate_limit(void **state)
{
    struct conf c = contests;
    const char *r;

    (void)state;
    c.limits = (struct conf_limits){.jid_burst = 2, .jid_per_minute = 6};
    /* the reg (and its buckets) lives for one ask() in this file, so
     * drive one reg directly */
    struct reg *reg = reg_new(&c, fake_store(), &sync_env);
    for (int i = 0; i < 4; i++) {
        char xml[2048];
        snprintf(xml, sizeof(xml),
                 "<iq type='set' id='r%d' from='" JULIET "' to='x'><query "
                 "xmlns='jabber:iq:register'>" SEED_FORM "</query></iq>",
                 i);
        if (i == 3)
            sync_clock += 11; /* one token back */
        xmpp_stanza_t *iq = tu_parse(ctx, xml);
        tu_sink_clear(&sink);
        reg_handle(reg, iq_req_new(iq, "contests.example", &sink.sink));
        xmpp_stanza_release(iq);
        r = tu_only_reply(&sink);
        if (i == 2) {
            assert_contains(r, "<error type=\"wait\"><policy-violation");
            assert_contains(r, "try again in 10 seconds");
        } else {
            assert_contains(r, "type=\"result\"");
        }
    }
    reg_free(reg);
}

/* ---- account safety: no update changes a secret behind the policy ----- */

static struct form_field_def pin_fields[] = {
    {.var = "username", .type = FORM_TEXT_SINGLE, .required = true},
    {.var = "password", .type = FORM_TEXT_PRIVATE, .required = true},
    {.var = "pin", .type = FORM_TEXT_PRIVATE},
    {.var = "email", .type = FORM_TEXT_SINGLE},
};

/* The shapes of an update that carries a new password.  Each also sets a
 * new email, which must not be stored when the change is refused. */
#define UPD_LEGACY(pw)                                                         \
    "<username>bill</username><password>" pw "</password>"                     \
    "<email>new@shakespeare.lit</email>"
#define UPD_FORM(pw)                                                           \
    "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>"    \
    "jabber:iq:register</value></field><field var='username'><value>bill"      \
    "</value></field><field var='password'><value>" pw "</value></field>"      \
    "<field var='email'><value>new@shakespeare.lit</value></field></x>"
#define UPD_BOTH(pw)                                                           \
    "<username>bill</username><password>theglobe</password>" UPD_FORM(pw)

static const char *const update_shapes[] = {
    UPD_LEGACY("stolen"), UPD_FORM("stolen"), UPD_BOTH("stolen")};
static const char *const same_shapes[] = {
    UPD_LEGACY("theglobe"), UPD_FORM("theglobe"), UPD_BOTH("theglobe")};

static void test_secret_change_every_shape(void **state)
{
    static const enum conf_password_change modes[] = {
        CONF_PWCHANGE_OFF, CONF_PWCHANGE_FORM, CONF_PWCHANGE_LEGACY};
    struct conf c = accounts;

    (void)state;
    for (size_t m = 0; m < 3; m++) {
        for (size_t i = 0; i < 3; i++) {
            char *old;
            const char *r;

            fake_store_reset();
            c.registration.password_change = CONF_PWCHANGE_LEGACY;
            register_bill(&c);
            old =
                strdup(fake_store_password_hash("accounts.example", BILL_BARE));
            c.registration.password_change = modes[m];
            r = ask(&c, "set", BILL, update_shapes[i]);
            assert_not_contains(r, "stolen");
            switch (modes[m]) {
            case CONF_PWCHANGE_OFF:
                assert_contains(r, "<error code=\"405\" type=\"cancel\">"
                                   "<not-allowed");
                assert_contains(r, "nothing was changed");
                break;
            case CONF_PWCHANGE_FORM:
                assert_contains(r, "<error code=\"401\" type=\"modify\">"
                                   "<not-authorized");
                assert_contains(
                    r, "<value>jabber:iq:register:changepassword</value>");
                assert_contains(r, "var=\"old_password\"");
                break;
            case CONF_PWCHANGE_LEGACY:
                assert_contains(r, "type=\"result\"");
                break;
            }
            if (modes[m] == CONF_PWCHANGE_LEGACY) {
                assert_true(secret_verify(
                    "stolen",
                    fake_store_password_hash("accounts.example", BILL_BARE)));
                assert_contains(
                    fake_store_fields("accounts.example", BILL_BARE),
                    "new@shakespeare.lit");
            } else {
                /* nothing stored, not even the other fields */
                assert_string_equal(
                    fake_store_password_hash("accounts.example", BILL_BARE),
                    old);
                assert_contains(
                    fake_store_fields("accounts.example", BILL_BARE),
                    "bard@shakespeare.lit");
            }
            free(old);
        }
    }
}

/* Clients resend the whole form: the stored secret given again is no
 * change, whatever the mode, and the other fields are updated. */
static void test_secret_repeated_is_no_change(void **state)
{
    static const enum conf_password_change modes[] = {CONF_PWCHANGE_OFF,
                                                      CONF_PWCHANGE_FORM};
    struct conf c = accounts;

    (void)state;
    for (size_t m = 0; m < 2; m++) {
        for (size_t i = 0; i < 3; i++) {
            char *old;
            const char *r;

            fake_store_reset();
            c.registration.password_change = CONF_PWCHANGE_LEGACY;
            register_bill(&c);
            old =
                strdup(fake_store_password_hash("accounts.example", BILL_BARE));
            c.registration.password_change = modes[m];
            r = ask(&c, "set", BILL, same_shapes[i]);
            assert_contains(r, "type=\"result\"");
            /* the hash is the one on file, not a new salt */
            assert_string_equal(
                fake_store_password_hash("accounts.example", BILL_BARE), old);
            assert_contains(fake_store_fields("accounts.example", BILL_BARE),
                            "new@shakespeare.lit");
            free(old);
        }
    }
}

/* Any text-private value is a secret: a PIN counts like the password. */
static void test_private_field_change(void **state)
{
    struct conf c = accounts;
    const char *r;
    char *fields;

    (void)state;
    c.registration.fields = pin_fields;
    c.registration.nfields = 4;
    r = ask(&c, "set", BILL,
            "<x xmlns='jabber:x:data' type='submit'><field var='username'>"
            "<value>bill</value></field><field var='password'><value>"
            "theglobe</value></field><field var='pin'><value>1234</value>"
            "</field></x>");
    assert_contains(r, "type=\"result\"");
    fields = strdup(fake_store_fields("accounts.example", BILL_BARE));
    c.registration.password_change = CONF_PWCHANGE_OFF;
    /* a new PIN, the password left out: refused */
    r = ask(&c, "set", BILL,
            "<x xmlns='jabber:x:data' type='submit'><field var='username'>"
            "<value>bill</value></field><field var='pin'><value>9999"
            "</value></field><field var='email'><value>e@x.example</value>"
            "</field></x>");
    assert_contains(r, "<not-allowed");
    assert_string_equal(fake_store_fields("accounts.example", BILL_BARE),
                        fields);
    /* the same PIN again, with an email: accepted, PIN hash kept */
    r = ask(&c, "set", BILL,
            "<x xmlns='jabber:x:data' type='submit'><field var='username'>"
            "<value>bill</value></field><field var='pin'><value>1234"
            "</value></field><field var='email'><value>e@x.example</value>"
            "</field></x>");
    assert_contains(r, "type=\"result\"");
    assert_contains(fake_store_fields("accounts.example", BILL_BARE),
                    "e@x.example");
    /* the PIN's stored hash is the same string as before */
    assert_non_null(strstr(fields, "pin=$2a$04$"));
    assert_non_null(strstr(fake_store_fields("accounts.example", BILL_BARE),
                           strstr(fields, "pin=$2a$04$")));
    free(fields);
}

/* With password_change off and remove = "form", the cancel form refuses a
 * password that an update tried to set behind the policy. */
static void test_cancel_refuses_value_never_set(void **state)
{
    struct conf c = accounts;
    const char *r;

    (void)state;
    register_bill(&c);
    c.registration.password_change = CONF_PWCHANGE_OFF;
    c.registration.remove = CONF_REMOVE_FORM;
    r = ask(&c, "set", BILL, UPD_FORM("stolen"));
    assert_contains(r, "<not-allowed");
    r = ask(&c, "set", BILL, CANCEL_FORM("bill", "stolen"));
    assert_contains(r, "<error code=\"403\" type=\"auth\"><forbidden");
    assert_int_equal(fake_store_count(), 1);
    r = ask(&c, "set", BILL, CANCEL_FORM("bill", "theglobe"));
    assert_contains(r, "type=\"result\"");
    assert_int_equal(fake_store_count(), 0);
}

/* ---- bcrypt's 72 bytes, and the legacy change held to the form's rules */

#define PW72                                                                   \
    "123456789012345678901234567890123456789012345678901234567890"             \
    "123456789012"

static void test_secret_over_72_bytes(void **state)
{
    struct conf c = accounts;
    const char *r;
    char *old;

    (void)state;
    r = ask(&c, "set", BILL,
            "<username>bill</username><password>" PW72 "3</password>"
            "<email>bard@shakespeare.lit</email>");
    assert_contains(r, "<error code=\"406\" type=\"modify\"><not-acceptable");
    assert_contains(r, "field 'password' is longer than 72 bytes");
    assert_int_equal(fake_store_count(), 0);
    r = ask(&c, "set", BILL,
            "<username>bill</username><password>" PW72 "</password>"
            "<email>bard@shakespeare.lit</email>");
    assert_contains(r, "type=\"result\"");
    assert_true(secret_verify(
        PW72, fake_store_password_hash("accounts.example", BILL_BARE)));
    old = strdup(fake_store_password_hash("accounts.example", BILL_BARE));
    /* the legacy change: 406 (not 401), for length and control chars */
    r = ask(&c, "set", BILL,
            "<username>bill</username><password>" PW72 "3</password>");
    assert_contains(r, "<error code=\"406\" type=\"modify\"><not-acceptable");
    assert_contains(r, "72 bytes");
    r = ask(&c, "set", BILL,
            "<username>bill</username><password>a&#x7f;b</password>");
    assert_contains(r, "<error code=\"406\"");
    assert_contains(r, "control characters");
    /* the changepassword form */
    c.registration.password_change = CONF_PWCHANGE_FORM;
    r = ask(&c, "set", BILL, PW_FORM("bill", PW72, PW72 "3"));
    assert_contains(r, "<error code=\"406\"");
    assert_string_equal(fake_store_password_hash("accounts.example", BILL_BARE),
                        old);
    free(old);
}

/* ---- in-flight caps ------------------------------------------------------ */

/* A hashing worker whose finished jobs wait until the test drains them:
 * requests stay in flight meanwhile. */
static void drain_all(struct worker *w)
{
    while (worker_pending(w) > 0) {
        struct pollfd p = {.fd = worker_fd(w), .events = POLLIN};
        assert_true(poll(&p, 1, 5000) == 1);
        worker_drain(w);
    }
}

/* Sends one request to reg; the reply, if one was sent at once, is in
 * sink. */
static void send_to(struct reg *reg, const struct conf *conf, const char *type,
                    const char *from, const char *inner)
{
    char xml[2048];
    xmpp_stanza_t *iq;

    snprintf(xml, sizeof(xml),
             "<iq type='%s' id='c%d' from='%s' to='%s'>"
             "<query xmlns='jabber:iq:register'>%s</query></iq>",
             type, sink.nsent, from, conf->component.jid, inner);
    iq = tu_parse(ctx, xml);
    reg_handle(reg, iq_req_new(iq, conf->component.jid, &sink.sink));
    xmpp_stanza_release(iq);
}

#define REG_USER(u)                                                            \
    "<username>" u "</username><password>pw</password><email>e@x.example"      \
    "</email>"

static void test_inflight_caps(void **state)
{
    struct conf c = accounts;
    struct reg_env env = sync_env;
    struct worker *hasher = worker_new(1, 0);
    struct reg *reg;

    (void)state;
    c.limits.inflight_per_jid = 2;
    c.limits.inflight_total = 3;
    env.hasher = hasher;
    reg = reg_new(&c, fake_store(), &env);
    tu_sink_clear(&sink);
    send_to(reg, &c, "set", BILL, REG_USER("bill"));
    send_to(reg, &c, "set", BILL, REG_USER("bill"));
    assert_int_equal(sink.nsent, 0);
    assert_int_equal(reg_inflight(reg), 2);
    /* bill's third request, a get as well: over the per-JID cap */
    send_to(reg, &c, "set", BILL, REG_USER("bill"));
    send_to(reg, &c, "get", BILL, "");
    assert_int_equal(sink.nsent, 2);
    for (int i = 0; i < 2; i++) {
        assert_contains(sink.sent[i], "<error code=\"500\" type=\"wait\">"
                                      "<resource-constraint");
        assert_contains(sink.sent[i], "per-JID");
    }
    /* another user: one more fits, then the service cap */
    send_to(reg, &c, "set", JULIET, REG_USER("juliet"));
    assert_int_equal(sink.nsent, 2);
    send_to(reg, &c, "get", "romeo@montague.example/x", "");
    assert_int_equal(sink.nsent, 3);
    assert_contains(sink.sent[2], "<resource-constraint");
    assert_contains(sink.sent[2], "service");
    assert_int_equal(reg_inflight(reg), 3);
    /* once answered, requests are taken again */
    drain_all(hasher);
    assert_int_equal(reg_inflight(reg), 0);
    assert_int_equal(sink.nsent, 6);
    send_to(reg, &c, "get", BILL, "");
    assert_int_equal(sink.nsent, 7);
    assert_contains(sink.sent[6], "<registered/>");
    reg_free(reg);
    worker_free(hasher);
}

/* ---- floods: one log line a second per kind, shares of the hashing queue */

/* A sink for floods: counts the replies, keeps the last. */
struct count_sink {
    struct iq_sink sink;
    int n, refused; /* replies; resource-constraint or policy-violation */
    char *last;
};

static void count_send(void *arg, xmpp_stanza_t *st)
{
    struct count_sink *cs = arg;

    free(cs->last);
    cs->last = tu_canon(st);
    cs->n++;
    cs->refused += strstr(cs->last, "<resource-constraint") ||
                   strstr(cs->last, "<policy-violation");
}

static void count_init(struct count_sink *cs)
{
    *cs = (struct count_sink){.sink = {.send = count_send, .arg = cs}};
}

static void send_counted(struct reg *reg, const struct conf *conf,
                         const char *type, const char *from, const char *inner,
                         struct count_sink *cs)
{
    char xml[2048];
    xmpp_stanza_t *iq;

    snprintf(xml, sizeof(xml),
             "<iq type='%s' id='f%d' from='%s' to='%s'>"
             "<query xmlns='jabber:iq:register'>%s</query></iq>",
             type, cs->n, from, conf->component.jid, inner);
    iq = tu_parse(ctx, xml);
    reg_handle(reg, iq_req_new(iq, conf->component.jid, &cs->sink));
    xmpp_stanza_release(iq);
}

/* A client retrying at once: 2,000 refusals over the per-JID cap in one
 * second make one log line, not 2,000 (the finding); the next second's
 * line carries the count of the refusals held back, and a count left when
 * the refusals stop is written with the next request a second later. */
static void test_refusals_logged_once_a_second(void **state)
{
    struct conf c = accounts;
    struct reg_env env = sync_env;
    struct worker *hasher = worker_new(1, 0);
    struct count_sink cs;
    struct tu_capture cap;
    struct reg *reg;
    char *log;

    (void)state;
    c.limits.inflight_per_jid = 1;
    env.hasher = hasher;
    reg = reg_new(&c, fake_store(), &env);
    count_init(&cs);
    log_set_level(LOG_LEVEL_INFO);
    tu_capture_start(&cap);
    send_counted(reg, &c, "set", BILL, REG_USER("bill"), &cs); /* hashing */
    for (int i = 0; i < 2000; i++)
        send_counted(reg, &c, "get", BILL, "", &cs);
    assert_int_equal(cs.refused, 2000);
    sync_clock += 1.5;
    send_counted(reg, &c, "get", BILL, "", &cs);
    for (int i = 0; i < 5; i++)
        send_counted(reg, &c, "get", BILL, "", &cs);
    assert_int_equal(cs.refused, 2006);
    sync_clock += 1.5;
    send_counted(reg, &c, "get", JULIET, "", &cs); /* admitted */
    assert_int_equal(cs.n, 2007);
    assert_contains(cs.last, "type=\"result\"");
    log = tu_capture_end(&cap);
    printf("refusals: 2006, log lines about them: %d\n",
           tu_lines_with(log, "in-flight cap per JID"));
    assert_int_equal(tu_lines_with(log, "in-flight cap per JID"), 3);
    assert_contains(log, "accounts.example: 1 request(s) refused over the "
                         "in-flight cap per JID since the last report, "
                         "latest from " BILL_BARE " (id=f0) (1 in all)");
    assert_contains(log, ": 2000 request(s) refused over the in-flight cap "
                         "per JID since the last report, latest from " BILL_BARE
                         " (id=f2000) (2001 in all)");
    assert_contains(log, ": 5 request(s) refused over the in-flight cap per "
                         "JID since the last report (2006 in all)");
    free(log);
    drain_all(hasher);
    reg_free(reg);
    worker_free(hasher);
    free(cs.last);
}

/* Refusals over a rate limit: iq.c logs each at debug level only, reg
 * writes one line a second with the count (the finding: one info line
 * per refusal). */
static void test_rate_refusals_logged_once_a_second(void **state)
{
    struct conf c = contests;
    struct count_sink cs;
    struct tu_capture cap;
    struct reg *reg;
    char *log;

    (void)state;
    c.limits = (struct conf_limits){.jid_burst = 1, .jid_per_minute = 1};
    reg = reg_new(&c, fake_store(), &sync_env);
    count_init(&cs);
    log_set_level(LOG_LEVEL_INFO);
    tu_capture_start(&cap);
    for (int i = 0; i < 500; i++)
        send_counted(reg, &c, "set", JULIET, SEED_FORM, &cs);
    log = tu_capture_end(&cap);
    assert_int_equal(cs.n, 500);
    assert_int_equal(cs.refused, 499);
    printf("rate-limit refusals: 499, log lines: %d\n",
           tu_lines_with(log, "policy-violation") +
               tu_lines_with(log, "over a rate limit"));
    assert_int_equal(tu_lines_with(log, "policy-violation"), 0);
    assert_int_equal(tu_lines_with(log, "over a rate limit"), 1);
    free(log);
    reg_free(reg);
    free(cs.last);
}

/* Two services share one hashing queue of 4: each has 2.  A flood of
 * password registrations on one takes its own 2 and is refused past
 * them; the other's password registration still gets in (the finding:
 * one service's flood refused the other's password sets). */
static void test_hashing_share_per_service(void **state)
{
    struct conf a = accounts, b = accounts;
    struct reg_env env = sync_env;
    struct worker *hasher = worker_new(1, 4);
    struct count_sink cs;
    struct tu_capture cap;
    struct reg *ra, *rb;
    char from[64], inner[256], *log;

    (void)state;
    worker_set_shares(hasher, 2); /* main.c: one share per service */
    b.component.jid = (char *)"other.example";
    env.hasher = hasher;
    ra = reg_new(&a, fake_store(), &env);
    rb = reg_new(&b, fake_store(), &env);
    count_init(&cs);
    log_set_level(LOG_LEVEL_INFO);
    tu_capture_start(&cap);
    for (int i = 0; i < 6; i++) {
        snprintf(from, sizeof(from), "u%d@x.example/r", i);
        snprintf(inner, sizeof(inner), REG_USER("u%d"), i);
        send_counted(ra, &a, "set", from, inner, &cs);
    }
    /* 2 hashing, 4 refused at once */
    assert_int_equal(cs.n, 4);
    assert_int_equal(cs.refused, 4);
    assert_int_equal(reg_inflight(ra), 2);
    send_counted(rb, &b, "set", "v@x.example/r", REG_USER("v"), &cs);
    assert_int_equal(cs.n, 4); /* taken: hashing */
    assert_int_equal(reg_inflight(rb), 1);
    drain_all(hasher);
    log = tu_capture_end(&cap);
    assert_int_equal(cs.n, 7);
    assert_int_equal(cs.refused, 4);
    assert_contains(cs.last, "type=\"result\"");
    assert_int_equal(fake_store_count(), 3);
    assert_non_null(fake_store_password_hash("other.example", "v@x.example"));
    assert_int_equal(tu_lines_with(log, "share of the hashing queue"), 1);
    assert_contains(log, "accounts.example: 1 request(s) refused with the "
                         "service's share of the hashing queue full");
    free(log);
    reg_free(ra);
    reg_free(rb);
    worker_free(hasher);
    free(cs.last);
}

/* Usernames with control, invisible format characters or white space at
 * either end (any kind) are refused with 406 before anything is stored. */
static void test_username_rule(void **state)
{
    static const char *const bad[] = {
        "\xe3\x80\x80"
        "bill", /* U+3000 IDEOGRAPHIC SPACE first */
        "bi\xe2\x80\x8b"
        "ll",           /* U+200B ZERO WIDTH SPACE */
        "bill\xc2\xa0", /* U+00A0 NO-BREAK SPACE last */
        "bi\xc2\xad"
        "ll", /* U+00AD SOFT HYPHEN */
    };
    char inner[512];
    const char *r;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(inner, sizeof(inner),
                 "<username>%s</username><password>theglobe</password>"
                 "<email>bard@shakespeare.lit</email>",
                 bad[i]);
        r = ask(&accounts, "set", BILL, inner);
        assert_contains(r, "<error code=\"406\" type=\"modify\">"
                           "<not-acceptable");
        assert_contains(r, "The username ");
        assert_not_contains(r, "theglobe");
        assert_int_equal(fake_store_count(), 0);
    }
    r = ask(&accounts, "set", BILL,
            "<username>\xc3\x89mile</username><password>theglobe</password>"
            "<email>bard@shakespeare.lit</email>");
    assert_contains(r, "type=\"result\"");
}

/* Once answered, the request's own copy of the password is wiped. */
static void test_request_secret_wiped(void **state)
{
    xmpp_stanza_t *iq, *pw;
    struct reg *reg = reg_new(&accounts, fake_store(), &sync_env);
    char *text;

    (void)state;
    tu_sink_clear(&sink);
    iq = tu_parse(ctx, "<iq type='set' id='w1' from='" BILL "' "
                       "to='accounts.example'><query "
                       "xmlns='jabber:iq:register'><username>bill</username>"
                       "<password>wipe-me-please</password><email>b@x.example"
                       "</email></query></iq>");
    reg_handle(reg, iq_req_new(iq, "accounts.example", &sink.sink));
    assert_contains(tu_only_reply(&sink), "type=\"result\"");
    pw = xmpp_stanza_get_child_by_name(
        xmpp_stanza_get_child_by_name(iq, "query"), "password");
    text = xmpp_stanza_get_text(pw);
    assert_true(text == NULL || text[0] == '\0');
    if (text)
        xmpp_free(ctx, text);
    xmpp_stanza_release(iq);
    reg_free(reg);
}

/* ---- states, consent, notices (the service behind the desk) ------------ */

static void ignore_done(void *arg, enum store_status st, bool created)
{
    (void)arg;
    assert_int_equal(st, STORE_OK);
    (void)created;
}

/* A pending registration is still registered (and says so); a disabled
 * one cannot be updated nor have its password changed, but can cancel. */
static void test_states(void **state)
{
    struct conf c = accounts;
    const char *r;

    (void)state;
    c.registration.initial_state = CONF_STATE_PENDING;
    register_bill(&c);
    assert_int_equal(fake_store_state("accounts.example", BILL_BARE),
                     STORE_STATE_PENDING);
    assert_string_equal(fake_store_last_iq_id(), "r1");
    r = ask(&c, "get", BILL, "");
    assert_contains(r, "<registered/>");
    assert_contains(r, "pending");
    /* the backend disables it (by SQL or an admin command) */
    store_set_state(fake_store(), "accounts.example", BILL_BARE,
                    STORE_STATE_DISABLED, NULL, NULL, ignore_done, NULL);
    r = ask(&c, "get", BILL, "");
    assert_contains(r, "<registered/>");
    assert_contains(r, "disabled");
    r = ask(&c, "set", BILL,
            "<username>bill</username><password>theglobe</password>"
            "<email>new@shakespeare.lit</email>");
    assert_contains(r, "<error code=\"405\" type=\"cancel\"><not-allowed");
    assert_contains(r, "disabled");
    assert_contains(fake_store_fields("accounts.example", BILL_BARE),
                    "bard@shakespeare.lit");
    r = ask(&c, "set", BILL,
            "<username>bill</username><password>newpass</password>");
    assert_contains(r, "<error code=\"405\" type=\"cancel\"><not-allowed");
    c.registration.password_change = CONF_PWCHANGE_FORM;
    r = ask(&c, "set", BILL, PW_FORM("bill", "theglobe", "groundlings"));
    assert_contains(r, "<not-allowed");
    assert_true(secret_verify(
        "theglobe", fake_store_password_hash("accounts.example", BILL_BARE)));
    r = ask(&c, "set", BILL, "<remove/>");
    assert_contains(r, "type=\"result\"");
    assert_int_equal(fake_store_count(), 0);
}

static void test_consent(void **state)
{
    static struct form_field_def fields[] = {
        {.var = "email", .type = FORM_TEXT_SINGLE, .required = true},
        {.var = "terms",
         .type = FORM_BOOLEAN,
         .label = "I accept the terms",
         .required = true,
         .consent = "2026-01"},
    };
    struct conf c = contests;
    const char *r;

    (void)state;
    c.registration.fields = fields;
    c.registration.nfields = 2;
#define TERMS(v)                                                               \
    "<x xmlns='jabber:x:data' type='submit'><field var='email'><value>"        \
    "j@c.example</value></field>" v "</x>"
    r = ask(&c, "set", JULIET, TERMS(""));
    assert_contains(r, "<error code=\"406\" type=\"modify\"><not-acceptable");
    assert_contains(r, "'terms'");
    r = ask(&c, "set", JULIET,
            TERMS("<field var='terms'><value>false</value></field>"));
    assert_contains(r, "<not-acceptable");
    assert_contains(r, "field 'terms' is a consent and must be accepted");
    assert_int_equal(fake_store_count(), 0);
    r = ask(&c, "set", JULIET,
            TERMS("<field var='terms'><value>true</value></field>"));
    assert_contains(r, "type=\"result\"");
    assert_int_equal(fake_store_last_nconsents(), 1);
#undef TERMS
}

/* Each new registration is told to notify_jids by a message naming the
 * service, the JID and its username, never a private value; an update is
 * not. */
static void test_notices(void **state)
{
    static char *ops[] = {"ops@example.org", "desk@example.org"};
    struct conf c = accounts;
    struct reg *reg;
    xmpp_stanza_t *iq;

    (void)state;
    c.registration.notify_jids = (struct conf_list){ops, 2};
    reg = reg_new(&c, fake_store(), &sync_env);
    tu_sink_clear(&sink);
    iq = tu_parse(ctx, "<iq type='set' id='n1' from='" BILL "' "
                       "to='accounts.example'><query "
                       "xmlns='jabber:iq:register'><username>bill</username>"
                       "<password>theglobe</password><email>b@x.example"
                       "</email></query></iq>");
    reg_handle(reg, iq_req_new(iq, "accounts.example", &sink.sink));
    xmpp_stanza_release(iq);
    /* the notices first, the reply last */
    assert_int_equal(sink.nsent, 3);
    assert_contains(sink.sent[2], "type=\"result\"");
    for (int i = 0; i < 2; i++) {
        assert_contains(sink.sent[i], "<message from=\"accounts.example\"");
        assert_contains(sink.sent[i], "type=\"normal\"");
        assert_contains(sink.sent[i],
                        "New registration with "
                        "accounts.example: " BILL_BARE " (username bill)");
        assert_not_contains(sink.sent[i], "theglobe");
    }
    assert_contains(sink.sent[0], "to=\"ops@example.org\"");
    assert_contains(sink.sent[1], "to=\"desk@example.org\"");
    /* an update is no new registration */
    tu_sink_clear(&sink);
    iq = tu_parse(ctx, "<iq type='set' id='n2' from='" BILL "' "
                       "to='accounts.example'><query "
                       "xmlns='jabber:iq:register'><username>bill</username>"
                       "<password>theglobe</password><email>c@x.example"
                       "</email></query></iq>");
    reg_handle(reg, iq_req_new(iq, "accounts.example", &sink.sink));
    xmpp_stanza_release(iq);
    assert_int_equal(sink.nsent, 1);
    reg_free(reg);
}

/* messages { welcome admin_notice }: the admins' notice as its template
 * says (the state named), then the welcome to the user's bare JID, then
 * the result; no private value in either; an update sends neither. */
static void test_welcome(void **state)
{
    static char *ops[] = {"ops@example.org"};
    struct conf c = accounts;
    struct reg *reg;
    xmpp_stanza_t *iq;

    (void)state;
    c.registration.notify_jids = (struct conf_list){ops, 1};
    c.registration.initial_state = CONF_STATE_PENDING;
    c.messages.welcome = "Welcome to {service}, {username} <{jid}>: {state}. "
                         "{{password}} {reason}.";
    c.messages.admin_notice = "{jid} ({username}) is {state} at {service}";
    reg = reg_new(&c, fake_store(), &sync_env);
    tu_sink_clear(&sink);
    iq = tu_parse(ctx, "<iq type='set' id='w1' from='" BILL "' "
                       "to='accounts.example'><query "
                       "xmlns='jabber:iq:register'><username>bill</username>"
                       "<password>theglobe</password><email>b@x.example"
                       "</email></query></iq>");
    reg_handle(reg, iq_req_new(iq, "accounts.example", &sink.sink));
    xmpp_stanza_release(iq);
    assert_int_equal(sink.nsent, 3);
    assert_string_equal(
        sink.sent[0], "<message from=\"accounts.example\" "
                      "to=\"ops@example.org\" type=\"normal\"><body>" BILL_BARE
                      " (bill) is pending at accounts.example</body>"
                      "</message>");
    assert_string_equal(sink.sent[1],
                        "<message from=\"accounts.example\" to=\"" BILL_BARE
                        "\" type=\"normal\"><body>Welcome to "
                        "accounts.example, bill &lt;" BILL_BARE
                        "&gt;: pending. {password} .</body></message>");
    assert_contains(sink.sent[2], "type=\"result\"");
    for (int i = 0; i < 3; i++)
        assert_not_contains(sink.sent[i], "theglobe");
    /* an update: no welcome, no notice */
    tu_sink_clear(&sink);
    iq = tu_parse(ctx, "<iq type='set' id='w2' from='" BILL "' "
                       "to='accounts.example'><query "
                       "xmlns='jabber:iq:register'><username>bill</username>"
                       "<password>theglobe</password><email>c@x.example"
                       "</email></query></iq>");
    reg_handle(reg, iq_req_new(iq, "accounts.example", &sink.sink));
    xmpp_stanza_release(iq);
    assert_int_equal(sink.nsent, 1);
    reg_free(reg);
}

/* Disabled while an update's secrets were hashed: the store refuses the
 * write (sql/007), and the answer is not-allowed. */
static void test_disabled_meanwhile(void **state)
{
    struct conf c = accounts;
    struct reg_env env = sync_env;
    struct worker *hasher = worker_new(1, 0);
    struct reg *reg;

    (void)state;
    register_bill(&c);
    env.hasher = hasher;
    reg = reg_new(&c, fake_store(), &env);
    tu_sink_clear(&sink);
    send_to(reg, &c, "set", BILL,
            "<username>bill</username><password>theglobe</password>"
            "<email>new@shakespeare.lit</email>");
    assert_int_equal(sink.nsent, 0); /* comparing the password on file */
    store_set_state(fake_store(), "accounts.example", BILL_BARE,
                    STORE_STATE_DISABLED, NULL, NULL, ignore_done, NULL);
    drain_all(hasher);
    assert_int_equal(sink.nsent, 1);
    assert_contains(sink.sent[0],
                    "<error code=\"405\" type=\"cancel\"><not-allowed");
    assert_contains(fake_store_fields("accounts.example", BILL_BARE),
                    "bard@shakespeare.lit");
    reg_free(reg);
    worker_free(hasher);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_form_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_legacy_and_form, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_register_then_registered, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_legacy_register_hashes_password,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_acceptable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_form_changes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_form_wins_over_legacy, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_database_down_answers_wait, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_idempotent_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_password_change, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_password_change_modes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_password_change_form, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_password_change_with_proof, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cancel_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirect_and_oob, setup, teardown),
        cmocka_unit_test_setup_teardown(test_access_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_change_every_shape, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_secret_repeated_is_no_change,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_private_field_change, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cancel_refuses_value_never_set,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_over_72_bytes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_inflight_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_logged_once_a_second,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_refusals_logged_once_a_second,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_hashing_share_per_service, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_username_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_states, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disabled_meanwhile, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_consent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_welcome, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_secret_wiped, setup,
                                        teardown),
    };
    contests = fixture_conf("contests", NULL);
    accounts = fixture_conf("accounts", NULL);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
