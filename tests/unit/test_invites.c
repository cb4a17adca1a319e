/*
 * test_invites.c - invitations (issue 20.1) in reg, router and adhoc,
 * against the in-memory store: the preauth field of the form (and its
 * instructions when invitations are required), a registration with a
 * token by the form, the ad-hoc registration command and a <preauth/>
 * first; the refusals (forbidden without one, item-not-found for a token
 * that is unknown, expired, revoked, used up or bound to another JID),
 * what a refused registration leaves unused, the admins' commands
 * (create-invite's XEP-0401 result, list-invites, revoke-invite), disco,
 * and that nothing of it shows while invitations are off.
 */
#include "testutil.h"

#include <poll.h>

#include "adhoc.h"
#include "fake_store.h"
#include "fixture.h"
#include "log.h"
#include "router.h"
#include "sync_env.h"

#define SERVICE "accounts.example"
#define ADMIN_JID "boss@example"
#define ADMIN_FULL ADMIN_JID "/desk"
#define TOKEN "tok-AAAAAAAAAAAAAAAAAAAAAAAA"
#define NODE_CREATE "registrar#create-invite"
#define NODE_LIST "registrar#list-invites"
#define NODE_REVOKE "registrar#revoke-invite"

/* tests/fixtures/accounts.conf with an admin; the invitations of each
 * test set in setup */
static struct conf base, conf;

static xmpp_ctx_t *ctx;
static struct tu_sink sink;
static struct reg *reg;
static struct adhoc *adhoc;
static struct router *router;

static double test_now(void)
{
    return 100.0;
}

static void start(enum conf_invites_mode mode)
{
    const struct adhoc_env env = {.now = test_now};

    conf = base;
    conf.invites.mode = mode;
    conf.invites.landing_url = (char *)"https://invite.example/#{token}";
    reg = reg_new(&conf, fake_store(), &sync_env);
    adhoc = adhoc_new(&conf, reg, fake_store(), &env);
    router = router_new(&conf, reg);
    assert_non_null(router);
}

static int setup_required(void **state)
{
    (void)state;
    ctx = xmpp_ctx_new(NULL, NULL);
    fake_store_reset();
    tu_sink_init(&sink);
    start(CONF_INVITES_REQUIRED);
    return 0;
}

static int setup_optional(void **state)
{
    setup_required(state);
    router_free(router);
    adhoc_free(adhoc);
    reg_free(reg);
    start(CONF_INVITES_OPTIONAL);
    return 0;
}

static int setup_off(void **state)
{
    setup_required(state);
    router_free(router);
    adhoc_free(adhoc);
    reg_free(reg);
    start(CONF_INVITES_OFF);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_sink_clear(&sink);
    router_free(router);
    adhoc_free(adhoc);
    reg_free(reg);
    fake_store_reset();
    xmpp_ctx_free(ctx);
    return 0;
}

/* Routes xml through the router; returns the one reply. */
static const char *route(const char *xml)
{
    xmpp_stanza_t *st = tu_parse(ctx, xml);

    tu_sink_clear(&sink);
    router_stanza(router, st, &sink.sink);
    xmpp_stanza_release(st);
    return tu_only_reply(&sink);
}

static const char *reg_set(const char *from, const char *inner)
{
    char xml[4096];

    snprintf(xml, sizeof(xml),
             "<iq type='set' id='r1' from='%s' to='" SERVICE "'>"
             "<query xmlns='jabber:iq:register'>%s</query></iq>",
             from, inner);
    return route(xml);
}

/* The registration form with username, password, email and preauth. */
static const char *reg_form(const char *from, const char *user,
                            const char *token)
{
    char inner[2048], pre[512] = "";

    if (token)
        snprintf(pre, sizeof(pre),
                 "<field var='preauth'><value>%s</value></field>", token);
    snprintf(inner, sizeof(inner),
             "<x xmlns='jabber:x:data' type='submit'>"
             "<field var='FORM_TYPE'><value>jabber:iq:register</value></field>"
             "<field var='username'><value>%s</value></field>"
             "<field var='password'><value>secret-pw</value></field>"
             "<field var='email'><value>%s@mail.example</value></field>%s"
             "</x>",
             user, user, pre);
    return reg_set(from, inner);
}

static const char *preauth(const char *from, const char *token)
{
    char xml[1024];

    snprintf(xml, sizeof(xml),
             "<iq type='set' id='p1' from='%s' to='" SERVICE "'>"
             "<preauth xmlns='urn:xmpp:pars:0' token='%s'/></iq>",
             from, token);
    return route(xml);
}

static const char *command(const char *from, const char *node,
                           const char *inner)
{
    char xml[4096];

    snprintf(xml, sizeof(xml),
             "<iq type='set' id='c1' from='%s' to='" SERVICE "'>"
             "<command xmlns='http://jabber.org/protocol/commands' "
             "node='%s' action='execute'>%s</command></iq>",
             from, node, inner ? inner : "");
    return route(xml);
}

/* An invitation made by the admin's command (its form submitted at
 * once); its token into token. */
static void create_invite(const char *fields, char *token, size_t size)
{
    char inner[2048];
    const char *r, *p;
    size_t len;

    snprintf(inner, sizeof(inner),
             "<x xmlns='jabber:x:data' type='submit'>%s</x>",
             fields ? fields : "");
    r = command(ADMIN_FULL, NODE_CREATE, inner);
    assert_contains(r, "status=\"completed\"");
    p = strstr(r, "preauth=");
    assert_non_null(p);
    p += strlen("preauth=");
    len = strcspn(p, "<");
    assert_true(len < size);
    memcpy(token, p, len);
    token[len] = '\0';
}

#define ITEM_NOT_FOUND                                                         \
    "<error code=\"404\" type=\"cancel\"><item-not-found "                     \
    "xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/>"
#define FORBIDDEN                                                              \
    "<error code=\"403\" type=\"auth\"><forbidden "                            \
    "xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/>"

/* ---- the form, disco --------------------------------------------------- */

static void test_get_says_by_invitation(void **state)
{
    const char *r;

    (void)state;
    r = route("<iq type='get' id='g1' from='a@x.example/r' to='" SERVICE "'>"
              "<query xmlns='jabber:iq:register'/></iq>");
    assert_contains(r, "<instructions>Registration with this service is by "
                       "invitation");
    assert_contains(r, "<field label=\"Invitation token\" type=\"text-single\" "
                       "var=\"preauth\"><required/></field></x>");
    /* no legacy element for it (not in XEP-0077's schema) */
    assert_not_contains(r, "<preauth/>");
    r = route("<iq type='get' id='d1' from='a@x.example/r' to='" SERVICE "'>"
              "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
    assert_contains(r, "<feature var=\"urn:xmpp:pars:0\"/>");
}

static void test_off_shows_nothing(void **state)
{
    const char *r;

    (void)state;
    r = route("<iq type='get' id='g1' from='a@x.example/r' to='" SERVICE "'>"
              "<query xmlns='jabber:iq:register'/></iq>");
    assert_not_contains(r, "preauth");
    r = route("<iq type='get' id='d1' from='a@x.example/r' to='" SERVICE "'>"
              "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
    assert_not_contains(r, "urn:xmpp:pars:0");
    r = preauth("a@x.example/r", TOKEN);
    assert_contains(r, "<service-unavailable");
    r = command(ADMIN_FULL, NODE_CREATE, NULL);
    assert_contains(r, "<item-not-found");
    /* a preauth field is an unknown field: dropped, registers */
    r = reg_form("a@x.example/r", "alice", TOKEN);
    assert_contains(r, "type=\"result\"");
    assert_not_contains(fake_store_fields(SERVICE, "a@x.example"), "preauth");
}

/* ---- redemption, by each path ------------------------------------------ */

static void test_form_token(void **state)
{
    char token[128];
    const char *r;

    (void)state;
    create_invite("<field var='max_uses'><value>1</value></field>", token,
                  sizeof(token));
    r = reg_form("a@x.example/r", "alice", token);
    assert_contains(r, "type=\"result\"");
    assert_int_equal(fake_store_invite_uses(token), 1);
    /* the token is no registration field */
    assert_not_contains(fake_store_fields(SERVICE, "a@x.example"), "preauth");
    assert_not_contains(fake_store_fields(SERVICE, "a@x.example"), token);
    /* used up */
    r = reg_form("b@x.example/r", "bob", token);
    assert_contains(r, ITEM_NOT_FOUND);
    assert_contains(r, "The provided token is invalid or expired.");
    /* registered: an update needs no token */
    r = reg_form("a@x.example/r", "alice", NULL);
    assert_contains(r, "type=\"result\"");
}

static void test_preauth_then_plain(void **state)
{
    char token[128];
    const char *r;

    (void)state;
    create_invite("<field var='fields'><value>email=carol@preset.example"
                  "</value></field>",
                  token, sizeof(token));
    r = preauth("c@x.example/r", "not-a-token-AAAAAAAAAAAAAA");
    assert_contains(r, ITEM_NOT_FOUND);
    r = preauth("c@x.example/r", token);
    assert_string_equal(r, "<iq from=\"" SERVICE "\" id=\"p1\" "
                           "to=\"c@x.example/r\" type=\"result\"/>");
    assert_int_equal(fake_store_invite_uses(token), 0);
    /* its form: pre-filled with the invitation's values */
    r = route("<iq type='get' id='g1' from='c@x.example/r' to='" SERVICE "'>"
              "<query xmlns='jabber:iq:register'/></iq>");
    assert_contains(r, "var=\"email\"><required/><value>carol@preset."
                       "example</value></field>");
    /* and asks no token */
    assert_contains(r, "<field label=\"Invitation token (accepted)\" "
                       "type=\"text-single\" var=\"preauth\"/></x>");
    assert_not_contains(r, "by invitation");
    /* another JID's: not */
    r = route("<iq type='get' id='g1' from='d@x.example/r' to='" SERVICE "'>"
              "<query xmlns='jabber:iq:register'/></iq>");
    assert_not_contains(r, "carol@preset.example");
    assert_contains(r, "by invitation");
    /* another JID: not bound */
    r = reg_set("d@x.example/r", "<username>dan</username>"
                                 "<password>pw-dan-1</password>"
                                 "<email>d@mail.example</email>");
    assert_contains(r, FORBIDDEN);
    assert_contains(r, "by invitation only");
    /* the bound JID, by legacy elements: no token needed */
    r = reg_set("c@x.example/r", "<username>carol</username>"
                                 "<password>pw-carol-1</password>"
                                 "<email>c@mail.example</email>");
    assert_contains(r, "type=\"result\"");
    assert_int_equal(fake_store_invite_uses(token), 1);
}

static void test_adhoc_register_with_token(void **state)
{
    char token[128], inner[1024];
    const char *r;

    (void)state;
    create_invite(NULL, token, sizeof(token));
    r = command("e@x.example/r", "jabber:iq:register", NULL);
    assert_contains(r, "var=\"preauth\"");
    snprintf(inner, sizeof(inner),
             "<x xmlns='jabber:x:data' type='submit'>"
             "<field var='username'><value>eve</value></field>"
             "<field var='password'><value>pw-eve-1</value></field>"
             "<field var='email'><value>e@mail.example</value></field>"
             "<field var='preauth'><value>%s</value></field></x>",
             token);
    r = command("e@x.example/r", "jabber:iq:register", inner);
    assert_contains(r, "status=\"completed\"");
    assert_int_equal(fake_store_invite_uses(token), 1);
    /* without a token: the command's error is reg's */
    r = command("f@x.example/r", "jabber:iq:register",
                "<x xmlns='jabber:x:data' type='submit'>"
                "<field var='username'><value>fay</value></field>"
                "<field var='password'><value>pw-fay-1</value></field>"
                "<field var='email'><value>f@mail.example</value></field>"
                "</x>");
    assert_contains(r, FORBIDDEN);
}

/* ---- refusals ------------------------------------------------------------ */

static void test_refused(void **state)
{
    char token[128], bound[128], revoked[128], inner[256];
    const char *r;

    (void)state;
    /* no token: forbidden, with a text */
    r = reg_form("a@x.example/r", "alice", NULL);
    assert_contains(r, FORBIDDEN);
    assert_contains(r, "<text xml:lang=\"en\" "
                       "xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\">"
                       "Registration with this service is by invitation "
                       "only");
    /* unknown */
    r = reg_form("a@x.example/r", "alice", "no-such-token-AAAAAAAAAAA");
    assert_contains(r, ITEM_NOT_FOUND);
    /* expired */
    create_invite(NULL, token, sizeof(token));
    fake_store_invite_expire(token);
    r = reg_form("a@x.example/r", "alice", token);
    assert_contains(r, ITEM_NOT_FOUND);
    r = preauth("a@x.example/r", token);
    assert_contains(r, ITEM_NOT_FOUND);
    /* bound to another JID */
    create_invite("<field var='bound_to'><value>z@x.example</value></field>",
                  bound, sizeof(bound));
    r = reg_form("a@x.example/r", "alice", bound);
    assert_contains(r, ITEM_NOT_FOUND);
    /* revoked (invitation 3) */
    create_invite(NULL, revoked, sizeof(revoked));
    snprintf(inner, sizeof(inner),
             "<x xmlns='jabber:x:data' type='submit'>"
             "<field var='id'><value>3</value></field></x>");
    r = command(ADMIN_FULL, NODE_REVOKE, inner);
    assert_contains(r, "Revoked.");
    r = command(ADMIN_FULL, NODE_REVOKE, inner);
    assert_contains(r, "No such invitation, or revoked already.");
    r = reg_form("a@x.example/r", "alice", revoked);
    assert_contains(r, ITEM_NOT_FOUND);
    assert_int_equal(fake_store_count(), 0);
}

static void test_failures_use_nothing(void **state)
{
    char token[128];
    const char *r;

    (void)state;
    create_invite(NULL, token, sizeof(token));
    /* invalid: a required field missing */
    r = reg_set("a@x.example/r",
                "<x xmlns='jabber:x:data' type='submit'>"
                "<field var='username'><value>alice</value></field></x>");
    assert_contains(r, "<not-acceptable");
    assert_int_equal(fake_store_invite_uses(token), 0);
    /* a conflict: alice is taken */
    create_invite("<field var='max_uses'><value>0</value></field>", token,
                  sizeof(token));
    assert_contains(reg_form("a@x.example/r", "alice", token),
                    "type=\"result\"");
    r = reg_form("b@x.example/r", "alice", token);
    assert_contains(r, "<conflict");
    assert_int_equal(fake_store_invite_uses(token), 1);
}

/* ---- the admins' commands ------------------------------------------------ */

static void test_create_result_and_list(void **state)
{
    const char *r;

    (void)state;
    r = command(ADMIN_FULL, NODE_CREATE, NULL);
    assert_contains(r, "status=\"executing\"");
    assert_contains(r, "var=\"max_uses\"");
    assert_contains(r, "<value>7d</value>");
    r = command(ADMIN_FULL, NODE_CREATE,
                "<x xmlns='jabber:x:data' type='submit'>"
                "<field var='label'><value>for Alice</value></field>"
                "<field var='bound_to'><value>X.Example</value></field>"
                "<field var='initial_state'><value>pending</value></field>"
                "</x>");
    assert_contains(r, "status=\"completed\"");
    assert_contains(r, "<x type=\"result\" xmlns=\"jabber:x:data\"><field "
                       "type=\"hidden\" var=\"FORM_TYPE\"><value>"
                       "urn:xmpp:invite#invitation</value></field>");
    assert_contains(r, "<value>xmpp:" SERVICE "?register;preauth=");
    assert_contains(r, "<value>https://invite.example/#");
    assert_contains(r, "var=\"expire\"");
    assert_contains(r, "var=\"token\"");
    /* not an admin */
    r = command("a@x.example/r", NODE_CREATE, NULL);
    assert_contains(r, "<forbidden");
    r = command(ADMIN_FULL, NODE_LIST, NULL);
    assert_contains(r, "status=\"completed\"");
    assert_contains(r, "\"state\": \"usable\"");
    assert_contains(r, "x.example");
    /* the bound domain was prepared */
    assert_not_contains(r, "X.Example");
    /* bad values: the form may be sent again */
    r = command(ADMIN_FULL, NODE_CREATE,
                "<x xmlns='jabber:x:data' type='submit'>"
                "<field var='expires'><value>soon</value></field></x>");
    assert_contains(r, "<bad-payload");
    r = command(ADMIN_FULL, NODE_CREATE,
                "<x xmlns='jabber:x:data' type='submit'>"
                "<field var='fields'><value>novalue</value></field></x>");
    assert_contains(r, "Line 1 of field 'fields' is not var=value.");
}

static void test_pending_by_invitation(void **state)
{
    char token[128];

    (void)state;
    create_invite("<field var='initial_state'><value>pending</value></field>",
                  token, sizeof(token));
    assert_contains(reg_form("p@x.example/r", "pat", token), "type=\"result\"");
    assert_int_equal(fake_store_state(SERVICE, "p@x.example"),
                     STORE_STATE_PENDING);
}

/* The welcome names the state the registration was created in: the
 * invitation's, not the service's (messages { welcome }, issue 20). */
static void test_welcome_names_the_invitations_state(void **state)
{
    char token[128], xml[2048];
    xmpp_stanza_t *st;

    (void)state;
    conf.messages.welcome = (char *)"Welcome, you are {state}.";
    create_invite("<field var='initial_state'><value>pending</value></field>",
                  token, sizeof(token));
    snprintf(xml, sizeof(xml),
             "<iq type='set' id='r1' from='w@x.example/r' to='" SERVICE "'>"
             "<query xmlns='jabber:iq:register'>"
             "<x xmlns='jabber:x:data' type='submit'>"
             "<field var='FORM_TYPE'><value>jabber:iq:register</value></field>"
             "<field var='username'><value>wen</value></field>"
             "<field var='password'><value>secret-pw</value></field>"
             "<field var='email'><value>w@mail.example</value></field>"
             "<field var='preauth'><value>%s</value></field>"
             "</x></query></iq>",
             token);
    st = tu_parse(ctx, xml);
    tu_sink_clear(&sink);
    router_stanza(router, st, &sink.sink);
    xmpp_stanza_release(st);
    assert_true(sink.nsent >= 2);
    assert_contains(sink.sent[sink.nsent - 2], "Welcome, you are pending.");
    assert_contains(sink.sent[sink.nsent - 1], "type=\"result\"");
    conf.messages.welcome = NULL;
}

static void test_optional(void **state)
{
    char token[128];
    const char *r;

    (void)state;
    r = route("<iq type='get' id='g1' from='a@x.example/r' to='" SERVICE "'>"
              "<query xmlns='jabber:iq:register'/></iq>");
    assert_contains(r, "<field label=\"Invitation token (if you have one)\" "
                       "type=\"text-single\" var=\"preauth\"/></x>");
    assert_not_contains(r, "by invitation");
    assert_contains(reg_form("a@x.example/r", "alice", NULL),
                    "type=\"result\"");
    create_invite(NULL, token, sizeof(token));
    assert_contains(reg_form("b@x.example/r", "bob", token), "type=\"result\"");
    assert_int_equal(fake_store_invite_uses(token), 1);
    /* a bad token is refused even where none is needed */
    assert_contains(reg_form("c@x.example/r", "cat", "bad-token-AAAAAAAAAAAAA"),
                    ITEM_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_says_by_invitation,
                                        setup_required, teardown),
        cmocka_unit_test_setup_teardown(test_off_shows_nothing, setup_off,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_form_token, setup_required,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_preauth_then_plain, setup_required,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_adhoc_register_with_token,
                                        setup_required, teardown),
        cmocka_unit_test_setup_teardown(test_refused, setup_required, teardown),
        cmocka_unit_test_setup_teardown(test_failures_use_nothing,
                                        setup_required, teardown),
        cmocka_unit_test_setup_teardown(test_create_result_and_list,
                                        setup_required, teardown),
        cmocka_unit_test_setup_teardown(test_pending_by_invitation,
                                        setup_required, teardown),
        cmocka_unit_test_setup_teardown(
            test_welcome_names_the_invitations_state, setup_optional, teardown),
        cmocka_unit_test_setup_teardown(test_optional, setup_optional,
                                        teardown),
    };

    log_set_level(LOG_LEVEL_ERROR);
    base = fixture_conf("accounts", "    admins = {\"" ADMIN_JID "\"}");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
