/*
 * test_adhoc.c - XEP-0050 ad-hoc commands against the in-memory store:
 * the command list in disco (what each requester may run), the XEP-0133
 * admin commands (forms, results, the store's rows, states and origins),
 * forbidden for non-admins, jabber:iq:register as a command (same form,
 * errors and row as XEP-0077, its notices forwarded, its password wiped),
 * and the sessions (cancel, in flight too, bad and expired ids, actions,
 * caps and the admins' reserve, expiry, the access policy, floods: rate
 * limits and the total shared fairly); admin JIDs prepared as the servers
 * prepare them; a list kept under the size of a reply; exactly one reply
 * per request.
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
#define USER_FULL "juliet@capulet.example/balcony"
#define NODE_ADMIN(x) "http://jabber.org/protocol/admin#" x

/* tests/fixtures/accounts.conf (JID accounts.example) with an admin */
static struct conf conf;

static xmpp_ctx_t *ctx;
static struct tu_sink sink;
static struct reg *reg;
static struct adhoc *adhoc;
static struct router *router;
static double clock_now = 100.0;

static double test_now(void)
{
    return clock_now;
}

static int setup(void **state)
{
    const struct adhoc_env env = {.now = test_now};

    (void)state;
    ctx = xmpp_ctx_new(NULL, NULL);
    fake_store_reset();
    reg = reg_new(&conf, fake_store(), &sync_env);
    adhoc = adhoc_new(&conf, reg, fake_store(), &env);
    router = router_new(&conf, reg);
    assert_non_null(adhoc);
    assert_non_null(router);
    tu_sink_init(&sink);
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

/* Hands xml (an iq with a <command/>) to adhoc, the sink cleared first;
 * returns the iq (the caller releases it). */
static xmpp_stanza_t *command_send(const char *xml)
{
    xmpp_stanza_t *st = tu_parse(ctx, xml);
    struct iq_req *req = iq_req_new(st, SERVICE, &sink.sink);

    tu_sink_clear(&sink);
    adhoc_command(adhoc, req);
    return st;
}

/* Hands xml (an iq with a <command/>) to adhoc; returns the one reply. */
static const char *command_xml(const char *xml)
{
    xmpp_stanza_release(command_send(xml));
    return tu_only_reply(&sink);
}

/* Sends <iq type='set' id=ID from=FROM><command node=NODE [action]
 * [sessionid]>INNER</command></iq>; returns it (the caller releases it),
 * whatever was sent in sink. */
static xmpp_stanza_t *command_keep(const char *from, const char *id,
                                   const char *node, const char *action,
                                   const char *sid, const char *inner)
{
    char xml[8192], attrs[512] = "";
    size_t n = 0;

    if (action)
        n += (size_t)snprintf(attrs + n, sizeof(attrs) - n, " action='%s'",
                              action);
    if (sid)
        snprintf(attrs + n, sizeof(attrs) - n, " sessionid='%s'", sid);
    snprintf(xml, sizeof(xml),
             "<iq type='set' id='%s' from='%s' to='" SERVICE "'>"
             "<command xmlns='http://jabber.org/protocol/commands' "
             "node='%s'%s>%s</command></iq>",
             id, from, node, attrs, inner ? inner : "");
    return command_send(xml);
}

/* The same; returns the one reply. */
static const char *command(const char *from, const char *id, const char *node,
                           const char *action, const char *sid,
                           const char *inner)
{
    xmpp_stanza_release(command_keep(from, id, node, action, sid, inner));
    return tu_only_reply(&sink);
}

/* How many stanzas sent start with prefix ("<iq", "<message"). */
static int sent_like(const char *prefix)
{
    int n = 0;

    for (int i = 0; i < sink.nsent; i++)
        n += strncmp(sink.sent[i], prefix, strlen(prefix)) == 0;
    return n;
}

/* The one sent stanza that starts with prefix. */
static const char *sent_one(const char *prefix)
{
    const char *found = NULL;

    for (int i = 0; i < sink.nsent; i++) {
        if (strncmp(sink.sent[i], prefix, strlen(prefix)) == 0) {
            assert_null(found);
            found = sink.sent[i];
        }
    }
    assert_non_null(found);
    return found;
}

/* The text of the <value/> of field var in the <x/> of the <command/> of
 * iq (borrowed; "" when it has none). */
static const char *field_text(xmpp_stanza_t *iq, const char *var)
{
    xmpp_stanza_t *c = xmpp_stanza_get_child_by_name(iq, "command");
    xmpp_stanza_t *x = c ? xmpp_stanza_get_child_by_name(c, "x") : NULL;

    assert_non_null(x);
    for (xmpp_stanza_t *f = xmpp_stanza_get_children(x); f;
         f = xmpp_stanza_get_next(f)) {
        const char *v =
            xmpp_stanza_is_tag(f) ? xmpp_stanza_get_attribute(f, "var") : NULL;
        xmpp_stanza_t *value, *t;
        if (!v || strcmp(v, var) != 0)
            continue;
        value = xmpp_stanza_get_child_by_name(f, "value");
        t = value ? xmpp_stanza_get_children(value) : NULL;
        assert_non_null(t);
        return xmpp_stanza_get_text_ptr(t);
    }
    fail_msg("no field %s", var);
    return NULL;
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

/* The sessionid of a reply (a static copy). */
static const char *sid_of(const char *reply)
{
    static char sid[64];
    const char *p = strstr(reply, "sessionid=\"");
    size_t len;

    assert_non_null(p);
    p += strlen("sessionid=\"");
    len = strcspn(p, "\"");
    assert_true(len < sizeof(sid));
    memcpy(sid, p, len);
    sid[len] = '\0';
    return sid;
}

static void noop_done(void *arg, enum store_status st, bool created,
                      const char *reason)
{
    (void)created;
    (void)reason;
    *(enum store_status *)arg = st;
}

/* A registration of jid in the service, in state. */
static void put_row(const char *jid, enum store_state state)
{
    enum store_status st = STORE_ERROR;
    struct store_put put = {
        .service = SERVICE, .jid = jid, .initial_state = state};

    store_put(fake_store(), &put, noop_done, &st);
    assert_int_equal(st, STORE_OK);
}

#define ACCOUNTS_FORM(user, pw)                                                \
    "<x xmlns='jabber:x:data' type='submit'>"                                  \
    "<field type='hidden' var='FORM_TYPE'><value>jabber:iq:register</value>"   \
    "</field><field var='username'><value>" user "</value></field>"            \
    "<field var='password'><value>" pw "</value></field>"                      \
    "<field var='email'><value>j@c.example</value></field></x>"

#define JIDS_FORM(values)                                                      \
    "<x xmlns='jabber:x:data' type='submit'>"                                  \
    "<field type='hidden' var='FORM_TYPE'>"                                    \
    "<value>http://jabber.org/protocol/admin</value></field>"                  \
    "<field var='accountjids'>" values "</field></x>"

/* ---- disco ------------------------------------------------------------- */

static void test_disco(void **state)
{
    const char *r;

    (void)state;
    r = route("<iq type='get' id='d1' from='" USER_FULL "' to='" SERVICE "'>"
              "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
    assert_contains(r, "var=\"http://jabber.org/protocol/commands\"");

    /* everyone: the registration command only */
    r = route("<iq type='get' id='d2' from='" USER_FULL "' to='" SERVICE "'>"
              "<query xmlns='http://jabber.org/protocol/disco#items' "
              "node='http://jabber.org/protocol/commands'/></iq>");
    assert_contains(r, "type=\"result\"");
    assert_contains(r, "node=\"http://jabber.org/protocol/commands\"");
    assert_contains(r, "<item jid=\"" SERVICE "\" name=\"Register\" "
                       "node=\"jabber:iq:register\"/>");
    assert_not_contains(r, "protocol/admin#");
    assert_not_contains(r, "activate-user");

    /* an admin: every command */
    r = route("<iq type='get' id='d3' from='" ADMIN_FULL "' to='" SERVICE "'>"
              "<query xmlns='http://jabber.org/protocol/disco#items' "
              "node='http://jabber.org/protocol/commands'/></iq>");
    assert_contains(r, "node=\"jabber:iq:register\"");
    assert_contains(r, "node=\"" NODE_ADMIN("get-registered-users-num") "\"");
    assert_contains(r, "node=\"" NODE_ADMIN("get-registered-users-list") "\"");
    assert_contains(r, "node=\"" NODE_ADMIN("get-disabled-users-num") "\"");
    assert_contains(r, "node=\"" NODE_ADMIN("get-disabled-users-list") "\"");
    assert_contains(r, "node=\"" NODE_ADMIN("disable-user") "\"");
    assert_contains(r, "node=\"" NODE_ADMIN("reenable-user") "\"");
    assert_contains(r, "node=\"" NODE_ADMIN("delete-user") "\"");
    assert_contains(r, "node=\"registrar#activate-user\"");

    /* a command node's info; an admin node is forbidden to others */
    r = route("<iq type='get' id='d4' from='" USER_FULL "' to='" SERVICE "'>"
              "<query xmlns='http://jabber.org/protocol/disco#info' "
              "node='jabber:iq:register'/></iq>");
    assert_contains(r, "<identity category=\"automation\" name=\"Register\" "
                       "type=\"command-node\"/>");
    assert_contains(r, "var=\"http://jabber.org/protocol/commands\"");
    assert_contains(r, "var=\"jabber:x:data\"");
    r = route("<iq type='get' id='d5' from='" USER_FULL "' to='" SERVICE "'>"
              "<query xmlns='http://jabber.org/protocol/disco#info' "
              "node='" NODE_ADMIN("delete-user") "'/></iq>");
    assert_contains(r, "<error code=\"403\" type=\"cancel\"><forbidden");
    r = route("<iq type='get' id='d6' from='" ADMIN_FULL "' to='" SERVICE "'>"
              "<query xmlns='http://jabber.org/protocol/disco#info' "
              "node='" NODE_ADMIN("delete-user") "'/></iq>");
    assert_contains(r, "type=\"command-node\"");
    r = route("<iq type='get' id='d7' from='" USER_FULL "' to='" SERVICE "'>"
              "<query xmlns='http://jabber.org/protocol/disco#info' "
              "node='http://jabber.org/protocol/commands'/></iq>");
    assert_contains(r, "type=\"command-list\"");
    /* other nodes: still item-not-found */
    r = route("<iq type='get' id='d8' from='" USER_FULL "' to='" SERVICE "'>"
              "<query xmlns='http://jabber.org/protocol/disco#items' "
              "node='nope'/></iq>");
    assert_contains(r, "item-not-found");
}

/* ---- jabber:iq:register as a command ------------------------------------- */

static void test_register_command(void **state)
{
    const char *r;
    char sid[64];

    (void)state;
    r = command(USER_FULL, "e1", "jabber:iq:register", "execute", NULL, NULL);
    assert_contains(r, "type=\"result\"");
    assert_contains(r, "status=\"executing\"");
    assert_contains(r, "<actions execute=\"complete\"><complete/></actions>");
    assert_contains(r, "<x type=\"form\" xmlns=\"jabber:x:data\">");
    assert_contains(r, "<value>jabber:iq:register</value>");
    assert_contains(r, "var=\"username\"");
    assert_contains(r, "var=\"password\"");
    snprintf(sid, sizeof(sid), "%s", sid_of(r));
    assert_int_equal(adhoc_sessions(adhoc), 1);

    /* the same validation and error as XEP-0077: the password is missing;
     * a form to correct keeps the session */
    r = command(USER_FULL, "e2", "jabber:iq:register", "complete", sid,
                "<x xmlns='jabber:x:data' type='submit'>"
                "<field var='username'><value>juliet</value></field>"
                "<field var='email'><value>j@c.example</value></field></x>");
    assert_contains(r, "type=\"error\"");
    assert_contains(r, "id=\"e2\"");
    assert_contains(r, "<not-acceptable");
    assert_contains(r, "password");
    assert_int_equal(fake_store_count(), 0);
    assert_int_equal(adhoc_sessions(adhoc), 1);

    r = command(USER_FULL, "e3", "jabber:iq:register", "complete", sid,
                ACCOUNTS_FORM("juliet", "s3cret-pw"));
    assert_contains(r, "type=\"result\"");
    assert_contains(r, "status=\"completed\"");
    assert_contains(r, "<note type=\"info\">");
    assert_int_equal(fake_store_count(), 1);
    assert_string_equal(fake_store_username(SERVICE, "juliet@capulet.example"),
                        "juliet");
    assert_non_null(
        fake_store_password_hash(SERVICE, "juliet@capulet.example"));
    assert_string_equal(fake_store_last_iq_id(), "e3");
    assert_int_equal(adhoc_sessions(adhoc), 0);
    /* the session is over */
    r = command(USER_FULL, "e4", "jabber:iq:register", "complete", sid,
                ACCOUNTS_FORM("juliet", "s3cret-pw"));
    assert_contains(r, "<not-allowed");
    assert_contains(r, "<session-expired "
                       "xmlns=\"http://jabber.org/protocol/commands\"/>");

    /* registered: the form comes pre-filled, with a note */
    r = command(USER_FULL, "e5", "jabber:iq:register", NULL, NULL, NULL);
    assert_contains(r, "status=\"executing\"");
    assert_contains(r, "<value>juliet</value>");
    assert_contains(r, "You are registered");
    assert_not_contains(r, "s3cret-pw");

    /* the same conflict as XEP-0077: another JID, the same username; a
     * first request carrying the form completes at once */
    r = command("romeo@montague.example/x", "e6", "jabber:iq:register",
                "execute", NULL, ACCOUNTS_FORM("JULIET", "other-pw"));
    assert_contains(r, "<conflict");
    assert_contains(r, "code=\"409\"");
    assert_int_equal(fake_store_count(), 1);
}

/* ---- admin commands ------------------------------------------------------ */

static void test_forbidden_to_others(void **state)
{
    const char *r;

    (void)state;
    put_row("a@example", STORE_STATE_ACTIVE);
    r = command(USER_FULL, "f1", NODE_ADMIN("get-registered-users-num"),
                "execute", NULL, NULL);
    assert_contains(r, "<error code=\"403\" type=\"cancel\"><forbidden");
    r = command(USER_FULL, "f2", NODE_ADMIN("delete-user"), "execute", NULL,
                JIDS_FORM("<value>a@example</value>"));
    assert_contains(r, "<forbidden");
    assert_int_equal(fake_store_count(), 1);
    assert_int_equal(adhoc_sessions(adhoc), 0);
}

static void test_counts(void **state)
{
    const char *r;

    (void)state;
    put_row("a@example", STORE_STATE_ACTIVE);
    put_row("b@example", STORE_STATE_DISABLED);
    put_row("c@example", STORE_STATE_PENDING);
    r = command(ADMIN_FULL, "n1", NODE_ADMIN("get-registered-users-num"),
                "execute", NULL, NULL);
    assert_contains(r, "status=\"completed\"");
    assert_contains(r, "sessionid=\"");
    assert_contains(r, "<x type=\"result\" xmlns=\"jabber:x:data\">"
                       "<field type=\"hidden\" var=\"FORM_TYPE\"><value>"
                       "http://jabber.org/protocol/admin</value></field>");
    assert_contains(r, "var=\"registeredusersnum\"><value>3</value>");
    r = command(ADMIN_FULL, "n2", NODE_ADMIN("get-disabled-users-num"), NULL,
                NULL, NULL);
    assert_contains(r, "var=\"disabledusersnum\"><value>1</value>");
    assert_int_equal(adhoc_sessions(adhoc), 0);

    fake_store_set_down(true);
    r = command(ADMIN_FULL, "n3", NODE_ADMIN("get-registered-users-num"),
                "execute", NULL, NULL);
    assert_contains(r, "<error code=\"500\" type=\"wait\">"
                       "<internal-server-error");
    assert_int_equal(adhoc_sessions(adhoc), 0);
}

static void test_lists(void **state)
{
    const char *r;
    char jid[64], sid[64];

    (void)state;
    for (int i = 0; i < 30; i++) {
        snprintf(jid, sizeof(jid), "u%02d@example", i);
        put_row(jid, i % 10 == 0 ? STORE_STATE_DISABLED : STORE_STATE_ACTIVE);
    }
    r = command(ADMIN_FULL, "l1", NODE_ADMIN("get-registered-users-list"),
                "execute", NULL, NULL);
    assert_contains(r, "status=\"executing\"");
    assert_contains(r, "<title>Requesting List of Registered Users</title>");
    assert_contains(r, "type=\"list-single\" var=\"max_items\"");
    assert_contains(r, "<option label=\"None\"><value>none</value></option>");
    snprintf(sid, sizeof(sid), "%s", sid_of(r));
    r = command(ADMIN_FULL, "l2", NODE_ADMIN("get-registered-users-list"),
                "complete", sid,
                "<x xmlns='jabber:x:data' type='submit'>"
                "<field type='hidden' var='FORM_TYPE'>"
                "<value>http://jabber.org/protocol/admin</value></field>"
                "<field var='max_items'><value>25</value></field></x>");
    assert_contains(r, "status=\"completed\"");
    assert_contains(r, "type=\"jid-multi\" var=\"registereduserjids\">"
                       "<value>u00@example</value><value>u01@example</value>");
    assert_contains(r, "<value>u24@example</value></field>");
    assert_not_contains(r, "u25@example");
    assert_contains(r, "<note type=\"warn\">The first 25 JIDs only");
    assert_int_equal(adhoc_sessions(adhoc), 0);

    /* disabled ones, max_items none; the form in the first request */
    r = command(ADMIN_FULL, "l3", NODE_ADMIN("get-disabled-users-list"),
                "execute", NULL,
                "<x xmlns='jabber:x:data' type='submit'>"
                "<field var='max_items'><value>none</value></field></x>");
    assert_contains(r, "var=\"disableduserjids\"><value>u00@example</value>"
                       "<value>u10@example</value><value>u20@example</value>"
                       "</field>");
    assert_not_contains(r, "<note");

    /* a max_items that is not offered */
    r = command(ADMIN_FULL, "l4", NODE_ADMIN("get-disabled-users-list"),
                "execute", NULL,
                "<x xmlns='jabber:x:data' type='submit'>"
                "<field var='max_items'><value>7</value></field></x>");
    assert_contains(r, "<bad-request");
    assert_contains(r, "<bad-payload "
                       "xmlns=\"http://jabber.org/protocol/commands\"/>");
}

static void test_disable_reenable_delete(void **state)
{
    const char *r;
    char sid[64];

    (void)state;
    put_row("a@example", STORE_STATE_ACTIVE);
    put_row("b@example", STORE_STATE_ACTIVE);

    r = command(ADMIN_FULL, "x1", NODE_ADMIN("disable-user"), "execute", NULL,
                NULL);
    assert_contains(r, "status=\"executing\"");
    assert_contains(r, "<actions execute=\"complete\"><complete/></actions>");
    assert_contains(r, "<title>Disabling a User</title>");
    assert_contains(r, "<field label=\"The Jabber ID(s) to disable\" "
                       "type=\"jid-multi\" var=\"accountjids\"><required/>");
    snprintf(sid, sizeof(sid), "%s", sid_of(r));

    /* a form without accountjids: bad-payload, the session goes on */
    r = command(ADMIN_FULL, "x2", NODE_ADMIN("disable-user"), "complete", sid,
                JIDS_FORM(""));
    assert_contains(r, "<bad-request");
    assert_contains(r, "<bad-payload");
    assert_int_equal(adhoc_sessions(adhoc), 1);

    /* a full JID counts as its bare JID; one JID is not registered */
    r = command(ADMIN_FULL, "x3", NODE_ADMIN("disable-user"), "complete", sid,
                JIDS_FORM("<value>A@Example/res</value>"
                          "<value>nobody@example</value>"));
    assert_contains(r, "status=\"completed\"");
    assert_contains(r, "<note type=\"info\">Disabled: a@example.</note>");
    assert_contains(r, "<note type=\"error\">Not registered with this "
                       "service: nobody@example.</note>");
    assert_int_equal(fake_store_state(SERVICE, "a@example"),
                     STORE_STATE_DISABLED);
    assert_int_equal(fake_store_state(SERVICE, "b@example"),
                     STORE_STATE_ACTIVE);
    assert_string_equal(fake_store_last_actor(), ADMIN_JID);
    assert_string_equal(fake_store_last_iq_id(), "x3");
    assert_int_equal(adhoc_sessions(adhoc), 0);

    /* re-enable: only a disabled registration */
    r = command(ADMIN_FULL, "x4", NODE_ADMIN("reenable-user"), "execute", NULL,
                JIDS_FORM("<value>a@example</value><value>b@example</value>"));
    assert_contains(r, "<note type=\"info\">Re-enabled: a@example.</note>");
    assert_contains(r, "<note type=\"error\">Not disabled, left as they are: "
                       "b@example.</note>");
    assert_int_equal(fake_store_state(SERVICE, "a@example"),
                     STORE_STATE_ACTIVE);

    /* delete */
    r = command(ADMIN_FULL, "x5", NODE_ADMIN("delete-user"), "execute", NULL,
                NULL);
    snprintf(sid, sizeof(sid), "%s", sid_of(r));
    r = command(ADMIN_FULL, "x6", NODE_ADMIN("delete-user"), NULL, sid,
                JIDS_FORM("<value>b@example</value>"));
    assert_contains(r, "<note type=\"info\">Deleted: b@example.</note>");
    assert_int_equal(fake_store_state(SERVICE, "b@example"), -1);
    assert_string_equal(fake_store_last_actor(), ADMIN_JID);
    assert_string_equal(fake_store_last_iq_id(), "x6");
    assert_int_equal(fake_store_count(), 1);

    /* the database down for every JID: an error, not a note */
    fake_store_set_down(true);
    r = command(ADMIN_FULL, "x7", NODE_ADMIN("delete-user"), "execute", NULL,
                JIDS_FORM("<value>a@example</value>"));
    assert_contains(r, "<internal-server-error");
    assert_int_equal(adhoc_sessions(adhoc), 0);
}

static void test_activate(void **state)
{
    const char *r;

    (void)state;
    put_row("p@example", STORE_STATE_PENDING);
    put_row("d@example", STORE_STATE_DISABLED);
    r = command(ADMIN_FULL, "a1", "registrar#activate-user", "execute", NULL,
                NULL);
    assert_contains(r, "<title>Activating a User</title>");
    r = command(ADMIN_FULL, "a2", "registrar#activate-user", "complete",
                sid_of(r),
                JIDS_FORM("<value>p@example</value><value>d@example</value>"));
    assert_contains(r, "<note type=\"info\">Activated: p@example.</note>");
    assert_contains(r, "Not pending, left as they are: d@example.");
    assert_int_equal(fake_store_state(SERVICE, "p@example"),
                     STORE_STATE_ACTIVE);
    assert_int_equal(fake_store_state(SERVICE, "d@example"),
                     STORE_STATE_DISABLED);
    assert_string_equal(fake_store_last_iq_id(), "a2");
}

/* ---- sessions ------------------------------------------------------------ */

static void test_session_errors(void **state)
{
    const char *r;
    char sid[64];

    (void)state;
    r = command(ADMIN_FULL, "s1", NODE_ADMIN("delete-user"), "execute", NULL,
                NULL);
    snprintf(sid, sizeof(sid), "%s", sid_of(r));

    /* another resource, another command: not this session */
    r = command(ADMIN_JID "/other", "s2", NODE_ADMIN("delete-user"), "complete",
                sid, JIDS_FORM("<value>a@example</value>"));
    assert_contains(r, "<bad-request");
    assert_contains(r, "<bad-sessionid");
    r = command(ADMIN_FULL, "s3", NODE_ADMIN("disable-user"), "complete", sid,
                JIDS_FORM("<value>a@example</value>"));
    assert_contains(r, "<bad-sessionid");
    /* actions not offered, and unknown ones */
    r = command(ADMIN_FULL, "s4", NODE_ADMIN("delete-user"), "next", sid, NULL);
    assert_contains(r, "<bad-action");
    r = command(ADMIN_FULL, "s5", NODE_ADMIN("delete-user"), "prev", sid, NULL);
    assert_contains(r, "<bad-action");
    r = command(ADMIN_FULL, "s6", NODE_ADMIN("delete-user"), "jump", sid, NULL);
    assert_contains(r, "<malformed-action");
    /* no form */
    r = command(ADMIN_FULL, "s7", NODE_ADMIN("delete-user"), "complete", sid,
                NULL);
    assert_contains(r, "<bad-payload");
    /* cancel ends it */
    assert_int_equal(adhoc_sessions(adhoc), 1);
    r = command(ADMIN_FULL, "s8", NODE_ADMIN("delete-user"), "cancel", sid,
                NULL);
    assert_contains(r, "type=\"result\"");
    assert_contains(r, "status=\"canceled\"");
    assert_int_equal(adhoc_sessions(adhoc), 0);
    r = command(ADMIN_FULL, "s9", NODE_ADMIN("delete-user"), "complete", sid,
                JIDS_FORM("<value>a@example</value>"));
    assert_contains(r, "<error code=\"405\" type=\"cancel\"><not-allowed");
    assert_contains(r, "<session-expired");

    /* a start must execute; unknown nodes; a get */
    r = command(ADMIN_FULL, "s10", NODE_ADMIN("delete-user"), "complete", NULL,
                JIDS_FORM("<value>a@example</value>"));
    assert_contains(r, "<bad-action");
    r = command(ADMIN_FULL, "s11", "urn:nope", "execute", NULL, NULL);
    assert_contains(r, "<error code=\"404\" type=\"cancel\"><item-not-found");
    r = command_xml("<iq type='get' id='s12' from='" ADMIN_FULL "'>"
                    "<command xmlns='http://jabber.org/protocol/commands' "
                    "node='jabber:iq:register'/></iq>");
    assert_contains(r, "<bad-request");
    assert_int_equal(adhoc_sessions(adhoc), 0);
}

static void test_session_caps_and_expiry(void **state)
{
    const char *r;
    char from[64], sid[64];

    (void)state;
    for (int i = 0; i < ADHOC_SESSIONS_PER_JID; i++) {
        r = command(USER_FULL, "c1", "jabber:iq:register", "execute", NULL,
                    NULL);
        assert_contains(r, "status=\"executing\"");
    }
    snprintf(sid, sizeof(sid), "%s", sid_of(r));
    r = command(USER_FULL, "c2", "jabber:iq:register", "execute", NULL, NULL);
    assert_contains(r, "<error code=\"500\" type=\"wait\">"
                       "<resource-constraint");
    /* another resource of the same account shares the cap */
    r = command("juliet@capulet.example/phone", "c3", "jabber:iq:register",
                "execute", NULL, NULL);
    assert_contains(r, "<resource-constraint");
    assert_int_equal(adhoc_sessions(adhoc), ADHOC_SESSIONS_PER_JID);

    /* unused sessions expire */
    clock_now += ADHOC_SESSION_TTL_S + 1;
    r = command(USER_FULL, "c4", "jabber:iq:register", "complete", sid,
                ACCOUNTS_FORM("juliet", "pw-pw-pw"));
    assert_contains(r, "<session-expired");
    assert_int_equal(adhoc_sessions(adhoc), 0);
    assert_int_equal(fake_store_count(), 0);

    /* the total cap: a newcomer takes the place of the least recently
     * used idle session among those who hold the most (one each here) */
    for (int i = 0; i < ADHOC_SESSIONS_MAX; i++) {
        snprintf(from, sizeof(from), "u%d@example/r", i);
        r = command(from, "c5", "jabber:iq:register", "execute", NULL, NULL);
        assert_contains(r, "status=\"executing\"");
        if (i == 0)
            snprintf(sid, sizeof(sid), "%s", sid_of(r));
    }
    r = command("last@example/r", "c6", "jabber:iq:register", "execute", NULL,
                NULL);
    assert_contains(r, "status=\"executing\"");
    assert_int_equal(adhoc_sessions(adhoc), ADHOC_SESSIONS_MAX);
    assert_int_equal(adhoc_sessions_evicted(adhoc), 1);
    r = command("u0@example/r", "c6a", "jabber:iq:register", "complete", sid,
                ACCOUNTS_FORM("u0", "pw-pw-pw"));
    assert_contains(r, "<session-expired");
    /* now everyone holds one, the newcomer too: a second is refused */
    r = command("last@example/phone", "c6b", "jabber:iq:register", "execute",
                NULL, NULL);
    assert_contains(r, "<resource-constraint");
    assert_contains(r, "Too many command sessions are open on this service");
    assert_int_equal(adhoc_sessions_evicted(adhoc), 1);
    clock_now += ADHOC_SESSION_TTL_S + 1;
    r = command("last@example/r", "c7", "jabber:iq:register", "execute", NULL,
                NULL);
    assert_contains(r, "status=\"executing\"");
    assert_int_equal(adhoc_sessions(adhoc), 1);
}

static void test_through_router(void **state)
{
    const char *r;

    (void)state;
    put_row("a@example", STORE_STATE_ACTIVE);
    r = route("<iq type='set' id='t1' from='" ADMIN_FULL "' to='" SERVICE "'>"
              "<command xmlns='http://jabber.org/protocol/commands' "
              "node='" NODE_ADMIN(
                  "get-registered-users-num") "' "
                                              "action='execute'/></iq>");
    assert_contains(r, "from=\"" SERVICE "\"");
    assert_contains(r, "var=\"registeredusersnum\"><value>1</value>");
    r = route("<iq type='set' id='t2' from='" USER_FULL "' to='" SERVICE "'>"
              "<command xmlns='http://jabber.org/protocol/commands' "
              "node='jabber:iq:register'/></iq>");
    assert_contains(r, "status=\"executing\"");
}

/* ---- review findings ------------------------------------------------------
 */

/* A registration through the command on a service with notify_jids: reg's
 * notices go out through the command's connection, the command gets
 * exactly one reply, and nothing touches the run once it has ended. */
static void test_register_notices(void **state)
{
    static char *ops[] = {(char *)"ops@example", (char *)"audit@example"};
    struct conf c = conf;
    struct reg *r2;
    const char *r;
    char sid[64];

    (void)state;
    c.registration.notify_jids = (struct conf_list){.items = ops, .n = 2};
    r2 = reg_new(&c, fake_store(), &sync_env);
    assert_non_null(r2);
    adhoc_set(adhoc, &c, r2);

    r = command(USER_FULL, "n1", "jabber:iq:register", "execute", NULL, NULL);
    assert_contains(r, "status=\"executing\"");
    snprintf(sid, sizeof(sid), "%s", sid_of(r));
    xmpp_stanza_release(command_keep(USER_FULL, "n2", "jabber:iq:register",
                                     "complete", sid,
                                     ACCOUNTS_FORM("juliet", "s3cret-pw")));
    assert_int_equal(sink.nsent, 3);
    assert_int_equal(sent_like("<iq"), 1);
    assert_int_equal(sent_like("<message"), 2);
    r = sent_one("<iq");
    assert_contains(r, "id=\"n2\"");
    assert_contains(r, "type=\"result\"");
    assert_contains(r, "status=\"completed\"");
    assert_contains(r, "Registered.");
    for (int i = 0; i < sink.nsent; i++) {
        if (strncmp(sink.sent[i], "<message", 8) != 0)
            continue;
        assert_contains(sink.sent[i], "from=\"" SERVICE "\"");
        assert_contains(sink.sent[i], "New registration with " SERVICE
                                      ": juliet@capulet.example");
        assert_not_contains(sink.sent[i], "s3cret-pw");
    }
    assert_true(strstr(sink.sent[0], "to=\"ops@example\"") ||
                strstr(sink.sent[1], "to=\"ops@example\"") ||
                strstr(sink.sent[2], "to=\"ops@example\""));
    assert_true(strstr(sink.sent[0], "to=\"audit@example\"") ||
                strstr(sink.sent[1], "to=\"audit@example\"") ||
                strstr(sink.sent[2], "to=\"audit@example\""));
    assert_int_equal(fake_store_count(), 1);
    assert_int_equal(adhoc_sessions(adhoc), 0);

    /* an update is no new registration: no notice */
    xmpp_stanza_release(command_keep(USER_FULL, "n3", "jabber:iq:register",
                                     "execute", NULL,
                                     ACCOUNTS_FORM("juliet", "s3cret-pw")));
    assert_int_equal(sink.nsent, 1);
    assert_contains(sink.sent[0], "status=\"completed\"");

    adhoc_set(adhoc, &conf, reg);
    reg_free(r2);
}

/* messages { welcome }: a registration through the command welcomes its
 * user (the bare JID) before the command's one answer, as the
 * jabber:iq:register set does. */
static void test_register_welcome(void **state)
{
    struct conf c = conf;
    struct reg *r2;
    const char *r;
    char sid[64];

    (void)state;
    c.messages.welcome = "Welcome to {service}, {username} ({state})";
    r2 = reg_new(&c, fake_store(), &sync_env);
    assert_non_null(r2);
    adhoc_set(adhoc, &c, r2);
    r = command(USER_FULL, "w1", "jabber:iq:register", "execute", NULL, NULL);
    snprintf(sid, sizeof(sid), "%s", sid_of(r));
    xmpp_stanza_release(command_keep(USER_FULL, "w2", "jabber:iq:register",
                                     "complete", sid,
                                     ACCOUNTS_FORM("juliet", "s3cret-pw")));
    assert_int_equal(sink.nsent, 2);
    assert_string_equal(sink.sent[0],
                        "<message from=\"" SERVICE "\" "
                        "to=\"juliet@capulet.example\" type=\"normal\">"
                        "<body>Welcome to " SERVICE ", juliet (active)"
                        "</body></message>");
    assert_contains(sink.sent[1], "status=\"completed\"");
    adhoc_set(adhoc, &conf, reg);
    reg_free(r2);
}

/* A table full of registration sessions (made-up JIDs) does not stop an
 * admin: theirs are outside the total cap. */
static void test_admin_reserve(void **state)
{
    const char *r;
    char from[64], sid[64];

    (void)state;
    put_row("a@example", STORE_STATE_ACTIVE);
    for (int i = 0; i < ADHOC_SESSIONS_MAX; i++) {
        snprintf(from, sizeof(from), "fake%d@example/r", i);
        r = command(from, "m1", "jabber:iq:register", "execute", NULL, NULL);
        assert_contains(r, "status=\"executing\"");
    }
    /* a newcomer takes the place of one of them (adhoc.h) */
    r = command("last@example/r", "m2", "jabber:iq:register", "execute", NULL,
                NULL);
    assert_contains(r, "status=\"executing\"");
    assert_int_equal(adhoc_sessions(adhoc), ADHOC_SESSIONS_MAX);

    /* an admin still runs commands, the registration one included */
    r = command(ADMIN_FULL, "m3", NODE_ADMIN("disable-user"), "execute", NULL,
                NULL);
    assert_contains(r, "status=\"executing\"");
    snprintf(sid, sizeof(sid), "%s", sid_of(r));
    r = command(ADMIN_FULL, "m4", "jabber:iq:register", "execute", NULL, NULL);
    assert_contains(r, "status=\"executing\"");
    assert_int_equal(adhoc_sessions(adhoc), ADHOC_SESSIONS_MAX + 2);
    r = command(ADMIN_FULL, "m5", NODE_ADMIN("disable-user"), "complete", sid,
                JIDS_FORM("<value>a@example</value>"));
    assert_contains(r, "<note type=\"info\">Disabled: a@example.</note>");
    assert_int_equal(fake_store_state(SERVICE, "a@example"),
                     STORE_STATE_DISABLED);
    /* and still within the per-JID cap */
    for (int i = 1; i < ADHOC_SESSIONS_PER_JID; i++) {
        r = command(ADMIN_FULL, "m6", NODE_ADMIN("delete-user"), "execute",
                    NULL, NULL);
        assert_contains(r, "status=\"executing\"");
    }
    r = command(ADMIN_FULL, "m7", NODE_ADMIN("delete-user"), "execute", NULL,
                NULL);
    assert_contains(r, "<resource-constraint");
    assert_contains(r, "You have too many command sessions");
    /* the others' table is still full, and last holds as many as anyone */
    r = command("last@example/r", "m8", "jabber:iq:register", "execute", NULL,
                NULL);
    assert_contains(r, "<resource-constraint");
}

/* The access policy is checked before a registration session is opened:
 * a blocked JID or another domain is forbidden, with the policy's
 * sentence, even when the table is full, and takes no session. */
static void test_register_policy(void **state)
{
    static char *allowed[] = {(char *)"capulet.example"};
    static char *blocked[] = {(char *)"blocked*@*"};
    struct conf c = conf;
    struct reg *r2;
    const char *r;
    char from[64];

    (void)state;
    c.registration.allowed_domains = (struct conf_list){allowed, 1};
    c.registration.blocked_jids = (struct conf_list){blocked, 1};
    r2 = reg_new(&c, fake_store(), &sync_env);
    assert_non_null(r2);
    adhoc_set(adhoc, &c, r2);

    r = command("blocked1@capulet.example/r", "p1", "jabber:iq:register",
                "execute", NULL, NULL);
    assert_contains(r, "<error code=\"403\" type=\"auth\"><forbidden");
    assert_contains(r, "Access denied by service policy");
    r = command("eve@elsewhere.example/r", "p2", "jabber:iq:register",
                "execute", NULL, ACCOUNTS_FORM("eve", "pw-pw-pw"));
    assert_contains(r, "<forbidden");
    assert_contains(r, "Access denied by service policy");
    assert_int_equal(adhoc_sessions(adhoc), 0);
    assert_int_equal(fake_store_count(), 0);

    /* fill the table: the policy answers first, and no session is taken */
    for (int i = 0; i < ADHOC_SESSIONS_MAX; i++) {
        snprintf(from, sizeof(from), "u%d@capulet.example/r", i);
        r = command(from, "p3", "jabber:iq:register", "execute", NULL, NULL);
        assert_contains(r, "status=\"executing\"");
    }
    r = command("eve@elsewhere.example/r", "p4", "jabber:iq:register",
                "execute", NULL, NULL);
    assert_contains(r, "<forbidden");
    assert_not_contains(r, "resource-constraint");
    r = command("blocked2@capulet.example/r", "p5", "jabber:iq:register",
                "execute", NULL, NULL);
    assert_contains(r, "<forbidden");
    assert_int_equal(adhoc_sessions(adhoc), ADHOC_SESSIONS_MAX);

    adhoc_set(adhoc, &conf, reg);
    reg_free(r2);
}

/* Registration sessions expire sooner than admin ones. */
static void test_register_ttl(void **state)
{
    const char *r;
    char usid[64], asid[64];

    (void)state;
    put_row("a@example", STORE_STATE_ACTIVE);
    r = command(USER_FULL, "t1", "jabber:iq:register", "execute", NULL, NULL);
    snprintf(usid, sizeof(usid), "%s", sid_of(r));
    r = command(ADMIN_FULL, "t2", NODE_ADMIN("disable-user"), "execute", NULL,
                NULL);
    snprintf(asid, sizeof(asid), "%s", sid_of(r));
    assert_int_equal(adhoc_sessions(adhoc), 2);
    assert_true(ADHOC_REGISTER_TTL_S < ADHOC_SESSION_TTL_S);

    clock_now += ADHOC_REGISTER_TTL_S + 1;
    r = command(USER_FULL, "t3", "jabber:iq:register", "complete", usid,
                ACCOUNTS_FORM("juliet", "pw-pw-pw"));
    assert_contains(r, "<session-expired");
    assert_int_equal(fake_store_count(), 1);
    assert_int_equal(adhoc_sessions(adhoc), 1);
    r = command(ADMIN_FULL, "t4", NODE_ADMIN("disable-user"), "complete", asid,
                JIDS_FORM("<value>a@example</value>"));
    assert_contains(r, "<note type=\"info\">Disabled: a@example.</note>");
    assert_int_equal(adhoc_sessions(adhoc), 0);
}

/* The password submitted in a command is wiped from the request once it
 * is answered: on success, and on an error that never reached reg. */
static void test_password_wiped(void **state)
{
    xmpp_stanza_t *iq;
    const char *r;

    (void)state;
    iq = command_keep(USER_FULL, "w1", "jabber:iq:register", "execute", NULL,
                      ACCOUNTS_FORM("juliet", "s3cret-pw"));
    r = tu_only_reply(&sink);
    assert_contains(r, "status=\"completed\"");
    assert_int_equal(fake_store_count(), 1);
    assert_string_equal(field_text(iq, "password"), "");
    assert_string_equal(field_text(iq, "username"), "");
    xmpp_stanza_release(iq);

    /* a session that does not exist: answered here, wiped too */
    iq = command_keep(USER_FULL, "w2", "jabber:iq:register", "complete",
                      "no-such-session", ACCOUNTS_FORM("juliet", "s3cret-pw"));
    r = tu_only_reply(&sink);
    assert_contains(r, "<session-expired");
    assert_string_equal(field_text(iq, "password"), "");
    xmpp_stanza_release(iq);
}

/* Cancel with a request in flight (bcrypt on a real thread): canceled at
 * once, the session gone; the request in flight still gets its one
 * answer later, without touching the session. */
static void test_cancel_in_flight(void **state)
{
    struct worker *w = worker_new(1, 0);
    const struct reg_env env = {.hasher = w, .now = sync_now};
    struct reg *r2 = reg_new(&conf, fake_store(), &env);
    struct pollfd pfd;
    const char *r;
    char sid[64];

    (void)state;
    assert_non_null(w);
    assert_non_null(r2);
    adhoc_set(adhoc, &conf, r2);
    r = command(USER_FULL, "i1", "jabber:iq:register", "execute", NULL, NULL);
    snprintf(sid, sizeof(sid), "%s", sid_of(r));
    xmpp_stanza_release(command_keep(USER_FULL, "i2", "jabber:iq:register",
                                     "complete", sid,
                                     ACCOUNTS_FORM("juliet", "s3cret-pw")));
    assert_int_equal(sink.nsent, 0); /* hashing */
    assert_int_equal(adhoc_sessions(adhoc), 1);

    /* another submission is still refused while one is in flight */
    r = command(USER_FULL, "i3", "jabber:iq:register", "complete", sid,
                ACCOUNTS_FORM("juliet", "s3cret-pw"));
    assert_contains(r, "<bad-sessionid");
    r = command(USER_FULL, "i4", "jabber:iq:register", "cancel", sid, NULL);
    assert_contains(r, "id=\"i4\"");
    assert_contains(r, "type=\"result\"");
    assert_contains(r, "status=\"canceled\"");
    assert_int_equal(adhoc_sessions(adhoc), 0);

    tu_sink_clear(&sink);
    while (worker_pending(w)) {
        pfd = (struct pollfd){.fd = worker_fd(w), .events = POLLIN};
        assert_true(poll(&pfd, 1, 10000) == 1);
        worker_drain(w);
    }
    r = tu_only_reply(&sink);
    assert_contains(r, "id=\"i2\"");
    assert_contains(r, "status=\"completed\"");
    assert_int_equal(fake_store_count(), 1);
    assert_int_equal(adhoc_sessions(adhoc), 0);
    r = command(USER_FULL, "i5", "jabber:iq:register", "complete", sid,
                ACCOUNTS_FORM("juliet", "s3cret-pw"));
    assert_contains(r, "<session-expired");

    adhoc_set(adhoc, &conf, reg);
    reg_free(r2);
    worker_free(w);
}

/* An error of reg that carries a payload before <error/> keeps it on the
 * command: under password_change "form", the changepassword form to
 * submit instead. */
static void test_error_keeps_payload(void **state)
{
    struct conf c = conf;
    struct reg *r2;
    const char *r;

    (void)state;
    c.registration.password_change = CONF_PWCHANGE_FORM;
    r2 = reg_new(&c, fake_store(), &sync_env);
    assert_non_null(r2);
    adhoc_set(adhoc, &c, r2);
    r = command(USER_FULL, "k1", "jabber:iq:register", "execute", NULL,
                ACCOUNTS_FORM("juliet", "s3cret-pw"));
    assert_contains(r, "status=\"completed\"");

    /* another password by the registration form: a password change */
    r = command(USER_FULL, "k2", "jabber:iq:register", "execute", NULL,
                ACCOUNTS_FORM("juliet", "other-pw"));
    assert_contains(r, "type=\"error\"");
    assert_contains(r, "<error code=\"401\" type=\"modify\"><not-authorized");
    assert_contains(r, "<query xmlns=\"jabber:iq:register\"><x type=\"form\" "
                       "xmlns=\"jabber:x:data\">");
    assert_contains(r, "<value>jabber:iq:register:changepassword</value>");
    assert_true(strstr(r, "<query") < strstr(r, "<error"));
    assert_not_contains(r, "other-pw");
    assert_not_contains(r, "s3cret-pw");
    /* type modify: the session stays for the form */
    assert_int_equal(adhoc_sessions(adhoc), 1);

    adhoc_set(adhoc, &conf, reg);
    reg_free(r2);
}

/* ---- issue 16 ------------------------------------------------------------
 */

/* The finding: 64 accounts executing the registration command 4 times
 * each held every session slot for two minutes.  Another JID's execute
 * still works (it takes the place of an idle session of a JID holding 4);
 * executes are charged to the per-JID rate (as registration sets are),
 * and the refusals make one log line a second. */
static void test_execute_flood(void **state)
{
    struct conf c = conf;
    struct tu_capture cap;
    const char *r;
    char from[64], *log;

    (void)state;
    c.limits.jid_burst = 5;
    c.limits.jid_per_minute = 10;
    adhoc_set(adhoc, &c, reg);
    for (int i = 0; i < 64; i++) {
        for (int k = 0; k < 4; k++) {
            snprintf(from, sizeof(from), "acct%d@example/r%d", i, k);
            r = command(from, "f1", "jabber:iq:register", "execute", NULL,
                        NULL);
            assert_contains(r, "status=\"executing\"");
        }
    }
    assert_int_equal(adhoc_sessions(adhoc), ADHOC_SESSIONS_MAX);
    r = command(USER_FULL, "f2", "jabber:iq:register", "execute", NULL, NULL);
    assert_contains(r, "status=\"executing\"");
    assert_int_equal(adhoc_sessions(adhoc), ADHOC_SESSIONS_MAX);
    assert_int_equal(adhoc_sessions_evicted(adhoc), 1);
    /* the flood's JIDs: at their own cap; the one that lost a session may
     * take one back, from another flood JID, never from juliet */
    r = command("acct1@example/x", "f3", "jabber:iq:register", "execute", NULL,
                NULL);
    assert_contains(r, "You have too many command sessions open");

    /* the rate: 5 at once, then one every 6 s, per JID */
    log_set_level(LOG_LEVEL_INFO);
    tu_capture_start(&cap);
    for (int i = 0; i < 5; i++) {
        r = command("romeo@montague.example/r", "f4", "jabber:iq:register",
                    "execute", NULL, NULL);
        assert_contains(r, "status=\"executing\"");
        r = command("romeo@montague.example/r", "f5", "jabber:iq:register",
                    "cancel", sid_of(r), NULL);
        assert_contains(r, "status=\"canceled\"");
    }
    for (int i = 0; i < 100; i++) {
        r = command("romeo@montague.example/r", "f6", "jabber:iq:register",
                    "execute", NULL, NULL);
        assert_contains(r, "<error type=\"wait\"><policy-violation");
        assert_contains(r, "Too many command requests (jid limit); try "
                           "again in 6 seconds.");
    }
    clock_now += 6;
    r = command("romeo@montague.example/r", "f7", "jabber:iq:register",
                "execute", NULL, NULL);
    assert_contains(r, "status=\"executing\"");
    log = tu_capture_end(&cap);
    printf("100 executes over the rate: %d log line(s)\n",
           tu_lines_with(log, "over a rate limit") +
               tu_lines_with(log, "policy-violation"));
    /* the first at once; the 99 that followed with the next execute */
    assert_int_equal(tu_lines_with(log, "over a rate limit"), 2);
    assert_contains(log, "accounts.example: 1 command execute(s) refused "
                         "over a rate limit since the last report, latest "
                         "romeo@montague.example (1 in all)");
    assert_contains(log, "accounts.example: 99 command execute(s) refused "
                         "over a rate limit since the last report (100 in "
                         "all)");
    assert_int_equal(tu_lines_with(log, "policy-violation"), 0);
    free(log);
    /* admins are not charged */
    for (int i = 0; i < 8; i++) {
        r = command(ADMIN_FULL, "f8", NODE_ADMIN("get-registered-users-num"),
                    "execute", NULL, NULL);
        assert_contains(r, "status=\"completed\"");
    }
    adhoc_set(adhoc, &conf, reg);
}

/* A flood of new JIDs (each at its rate) cannot keep others out either:
 * each newcomer takes the least recently used idle session. */
static void test_flood_of_jids(void **state)
{
    const char *r;
    char from[64];

    (void)state;
    for (int i = 0; i < 3 * ADHOC_SESSIONS_MAX; i++) {
        snprintf(from, sizeof(from), "mint%d@spam.example/r", i);
        r = command(from, "j1", "jabber:iq:register", "execute", NULL, NULL);
        assert_contains(r, "status=\"executing\"");
        clock_now += 0.01;
    }
    r = command(USER_FULL, "j2", "jabber:iq:register", "execute", NULL, NULL);
    assert_contains(r, "status=\"executing\"");
    assert_int_equal(adhoc_sessions(adhoc), ADHOC_SESSIONS_MAX);
    assert_int_equal(adhoc_sessions_evicted(adhoc), 2 * ADHOC_SESSIONS_MAX + 1);
}

/* The finding: an admin's JIDs were lower-cased for ASCII only
 * ("ÉLODIE@localhost" found nothing).  They are prepared as the servers
 * prepare them; a value that is not a JID is refused, naming it. */
static void test_admin_jids_prepared(void **state)
{
    const char *r;
    char sid[64];

    (void)state;
    put_row("\xc3\xa9lodie@localhost", STORE_STATE_ACTIVE); /* élodie */
    r = command(ADMIN_FULL, "e1", NODE_ADMIN("disable-user"), "execute", NULL,
                JIDS_FORM("<value>\xc3\x89LODIE@LocalHost/Phone</value>"));
    assert_contains(r, "status=\"completed\"");
    assert_contains(r, "<note type=\"info\">Disabled: \xc3\xa9lodie@localhost."
                       "</note>");
    assert_int_equal(fake_store_state(SERVICE, "\xc3\xa9lodie@localhost"),
                     STORE_STATE_DISABLED);
    /* decomposed é (e + U+0301) is the same JID */
    r = command(ADMIN_FULL, "e2", NODE_ADMIN("reenable-user"), "execute", NULL,
                JIDS_FORM("<value>e\xcc\x81lodie@localhost</value>"));
    assert_contains(r, "<note type=\"info\">Re-enabled: \xc3\xa9lodie@"
                       "localhost.</note>");

    /* not a JID (Hebrew alef between Latin letters: the bidi rule) */
    r = command(ADMIN_FULL, "e3", NODE_ADMIN("delete-user"), "execute", NULL,
                NULL);
    snprintf(sid, sizeof(sid), "%s", sid_of(r));
    r = command(ADMIN_FULL, "e4", NODE_ADMIN("delete-user"), "complete", sid,
                JIDS_FORM("<value>a@localhost</value>"
                          "<value>a\xd7\x90z@localhost</value>"));
    assert_contains(r, "<error code=\"400\" type=\"modify\"><bad-request");
    assert_contains(r, "<bad-payload xmlns=\"http://jabber.org/protocol/"
                       "commands\"/>");
    assert_contains(r, "Value 2 of field 'accountjids' is not a valid JID");
    assert_contains(r, "a\xd7\x90z@localhost");
    /* the form may be sent again */
    r = command(ADMIN_FULL, "e5", NODE_ADMIN("delete-user"), "complete", sid,
                JIDS_FORM("<value>\xc3\x89lodie@localhost</value>"));
    assert_contains(r, "<note type=\"info\">Deleted: \xc3\xa9lodie@"
                       "localhost.</note>");
    assert_int_equal(fake_store_count(), 0);

    /* an admin listed in another case is the admin */
    {
        static char *admins[] = {(char *)"Boss@Example"};
        struct conf c = conf;

        c.registration.admins = (struct conf_list){admins, 1};
        adhoc_set(adhoc, &c, reg);
        r = command(ADMIN_FULL, "e6", NODE_ADMIN("get-registered-users-num"),
                    "execute", NULL, NULL);
        assert_contains(r, "status=\"completed\"");
        adhoc_set(adhoc, &conf, reg);
    }
}

/* The finding: 1,000 long JIDs in one list reply went over the server's
 * stanza limit and the server dropped the component.  The reply stays
 * under ADHOC_REPLY_MAX and says how many were left out of how many. */
static void test_list_under_reply_max(void **state)
{
    const char *r;
    char jid[1100], note[256];
    int shown = 0;

    (void)state;
    for (int i = 0; i < 1001; i++) {
        memset(jid, 'x', 900);
        snprintf(jid + 900, sizeof(jid) - 900, "%04d@example", i);
        put_row(jid, STORE_STATE_ACTIVE);
    }
    r = command(ADMIN_FULL, "z1", NODE_ADMIN("get-registered-users-list"),
                "execute", NULL,
                "<x xmlns='jabber:x:data' type='submit'>"
                "<field var='max_items'><value>none</value></field></x>");
    for (const char *p = r; (p = strstr(p, "<value>x")); p++)
        shown++;
    printf("1001 JIDs of 911 bytes: a reply of %zu bytes, %d JIDs shown\n",
           strlen(r), shown);
    assert_true(strlen(r) <= ADHOC_REPLY_MAX);
    assert_true(shown > 50);
    assert_contains(r, "status=\"completed\"");
    assert_contains(r, "var=\"registereduserjids\">");
    snprintf(note, sizeof(note),
             "<note type=\"warn\">The first %d JIDs only: %d of 1001 left "
             "out, to keep the reply under 60 KiB",
             shown, 1001 - shown);
    assert_contains(r, note);

    /* a list that fits is whole, with no note */
    fake_store_reset();
    put_row("a@example", STORE_STATE_ACTIVE);
    r = command(ADMIN_FULL, "z2", NODE_ADMIN("get-registered-users-list"),
                "execute", NULL,
                "<x xmlns='jabber:x:data' type='submit'>"
                "<field var='max_items'><value>none</value></field></x>");
    assert_contains(r, "<value>a@example</value>");
    assert_not_contains(r, "<note");
}

/* Moderation: a disable's reason reaches the user; the user who cancels a
 * disabled registration is banned: the form, the legacy elements and the
 * registration command are all refused (403) with the reason; the
 * admin's reenable-user lifts the ban. */
static void test_disable_reason_and_ban(void **state)
{
    const char *r;
    char sid[64];

    (void)state;
    r = command(ADMIN_FULL, "b1", NODE_ADMIN("disable-user"), "execute", NULL,
                NULL);
    assert_contains(r, "<field label=\"Reason (shown to the user)\" "
                       "type=\"text-single\" var=\"reason\"/>");
    snprintf(sid, sizeof(sid), "%s", sid_of(r));
    r = command(USER_FULL, "b2", "jabber:iq:register", "execute", NULL, NULL);
    r = command(USER_FULL, "b3", "jabber:iq:register", "complete", sid_of(r),
                ACCOUNTS_FORM("juliet", "s3cret-pw"));
    assert_contains(r, "status=\"completed\"");
    r = command(ADMIN_FULL, "b4", NODE_ADMIN("disable-user"), "complete", sid,
                "<x xmlns='jabber:x:data' type='submit'>"
                "<field type='hidden' var='FORM_TYPE'>"
                "<value>http://jabber.org/protocol/admin</value></field>"
                "<field var='accountjids'><value>juliet@capulet.example"
                "</value></field><field var='reason'><value>Spam in the "
                "chat</value></field></x>");
    assert_contains(r, "Disabled: juliet@capulet.example.");
    /* the user sees why, on a get and on a refused update */
    r = route("<iq type='get' id='b5' from='" USER_FULL "' to='" SERVICE "'>"
              "<query xmlns='jabber:iq:register'/></iq>");
    assert_contains(r, "<registered/>");
    assert_contains(r, "Reason: Spam in the chat</instructions>");
    r = route("<iq type='set' id='b6' from='" USER_FULL "' to='" SERVICE "'>"
              "<query xmlns='jabber:iq:register'>" ACCOUNTS_FORM(
                  "juliet", "s3cret-pw") "</query></iq>");
    assert_contains(r, "<not-allowed");
    assert_contains(r, "Reason: Spam in the chat");
    /* the user cancels: gone, and banned */
    r = route("<iq type='set' id='b7' from='" USER_FULL "' to='" SERVICE "'>"
              "<query xmlns='jabber:iq:register'><remove/></query></iq>");
    assert_contains(r, "type=\"result\"");
    assert_int_equal(fake_store_state(SERVICE, "juliet@capulet.example"), -1);
    assert_true(fake_store_banned(SERVICE, "juliet@capulet.example"));
    /* every path of registration: 403, with the reason, nothing stored */
    r = route("<iq type='set' id='b8' from='" USER_FULL "' to='" SERVICE "'>"
              "<query xmlns='jabber:iq:register'>" ACCOUNTS_FORM(
                  "juliet", "s3cret-pw") "</query></iq>");
    assert_contains(r, "code=\"403\" type=\"auth\"><forbidden");
    assert_contains(r, "Reason: Spam in the chat");
    r = route("<iq type='set' id='b9' from='" USER_FULL "' to='" SERVICE "'>"
              "<query xmlns='jabber:iq:register'><username>juliet</username>"
              "<password>s3cret-pw</password><email>j@c.example</email>"
              "</query></iq>");
    assert_contains(r, "<forbidden");
    r = command(USER_FULL, "b10", "jabber:iq:register", "execute", NULL, NULL);
    r = command(USER_FULL, "b11", "jabber:iq:register", "complete", sid_of(r),
                ACCOUNTS_FORM("juliet", "s3cret-pw"));
    assert_contains(r, "<forbidden");
    assert_contains(r, "Reason: Spam in the chat");
    assert_int_equal(fake_store_state(SERVICE, "juliet@capulet.example"), -1);
    /* the admin sees who is banned */
    r = command(ADMIN_FULL, "b11l", "registrar#get-banned-users-list",
                "execute", NULL, NULL);
    r = command(ADMIN_FULL, "b11m", "registrar#get-banned-users-list",
                "complete", sid_of(r),
                "<x xmlns='jabber:x:data' type='submit'><field "
                "type='hidden' var='FORM_TYPE'><value>http://jabber.org/"
                "protocol/admin</value></field><field var='max_items'>"
                "<value>none</value></field></x>");
    assert_contains(r, "var=\"banneduserjids\"");
    assert_contains(r, "<value>juliet@capulet.example</value>");
    /* the admin's re-enable lifts the ban */
    r = command(ADMIN_FULL, "b12", NODE_ADMIN("reenable-user"), "execute", NULL,
                JIDS_FORM("<value>juliet@capulet.example</value>"));
    assert_contains(r, "<note type=\"info\">Ban lifted");
    assert_false(fake_store_banned(SERVICE, "juliet@capulet.example"));
    assert_string_equal(fake_store_last_actor(), ADMIN_JID);
    r = route("<iq type='set' id='b13' from='" USER_FULL "' to='" SERVICE "'>"
              "<query xmlns='jabber:iq:register'>" ACCOUNTS_FORM(
                  "juliet", "s3cret-pw") "</query></iq>");
    assert_contains(r, "type=\"result\"");
    assert_int_equal(fake_store_state(SERVICE, "juliet@capulet.example"),
                     STORE_STATE_ACTIVE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_disco, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forbidden_to_others, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disable_reenable_delete, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_activate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_caps_and_expiry, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_through_router, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_notices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_welcome, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin_reserve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_ttl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_password_wiped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_keeps_payload, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_execute_flood, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flood_of_jids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin_jids_prepared, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_disable_reason_and_ban, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_list_under_reply_max, setup,
                                        teardown),
    };
    conf = fixture_conf("accounts", "    admins = {\"" ADMIN_JID "\"}");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
