/*
 * test_component.c - the keepalive ping's id and how its answer is told
 * apart from a user's iq, and the check of everything sent
 * (component_outgoing): component.c's only pure parts; the connection
 * itself is exercised by the end-to-end and fault suites.
 */
#include "testutil.h"

#include "component.h"
#include "fake_store.h"
#include "fixture.h"
#include "reg.h"
#include "sync_env.h"
#include "text.h"
#include "xml.h"

static void test_ping_token_random(void **state)
{
    char a[33], b[33], small[32];

    (void)state;
    assert_true(component_ping_token(a, sizeof(a)));
    assert_true(component_ping_token(b, sizeof(b)));
    assert_int_equal(strlen(a), 32);
    assert_int_equal(strspn(a, "0123456789abcdef"), 32);
    assert_string_not_equal(a, b); /* 128 random bits each */
    assert_false(component_ping_token(small, sizeof(small)));
}

static void test_ping_reply_only_result_or_error(void **state)
{
    const char *id = "registrar-ping-0123456789abcdef0123456789abcdef-1";

    (void)state;
    assert_true(component_is_ping_reply(id, "iq", "result", id));
    assert_true(component_is_ping_reply(id, "iq", "error", id));
    /* a user's request with the same id is routed, never swallowed */
    assert_false(component_is_ping_reply(id, "iq", "get", id));
    assert_false(component_is_ping_reply(id, "iq", "set", id));
    assert_false(component_is_ping_reply(id, "message", "error", id));
    /* today's guessable ids, and no ping out */
    assert_false(
        component_is_ping_reply(id, "iq", "result", "registrar-ping-1"));
    assert_false(component_is_ping_reply(NULL, "iq", "result", id));
    assert_false(component_is_ping_reply(id, "iq", NULL, id));
    assert_false(component_is_ping_reply(id, "iq", "result", NULL));
}

/* ---- the send point's check ------------------------------------------ */

#define HALF_E "\xc3" /* the first byte of an é, alone */

static xmpp_ctx_t *ctx;

static int setup(void **state)
{
    (void)state;
    ctx = xmpp_ctx_new(NULL, NULL);
    fake_store_reset();
    return ctx ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    fake_store_reset();
    xmpp_ctx_free(ctx);
    return 0;
}

/* An iq reply as iq.c builds one, with an error text given as bytes. */
static xmpp_stanza_t *error_reply(const char *id, const char *text)
{
    xmpp_stanza_t *iq = tu_parse(
        ctx, "<iq type='error' to='juliet@capulet.example/balcony' "
             "from='contests.example'><error type='modify' code='400'>"
             "<bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
             "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' "
             "xml:lang='en'>placeholder</text></error></iq>");
    xmpp_stanza_t *t = xmpp_stanza_get_child_by_name(
        xmpp_stanza_get_child_by_name(iq, "error"), "text");

    if (id)
        xmpp_stanza_set_id(iq, id);
    xmpp_stanza_set_text(xmpp_stanza_get_children(t), text);
    return iq;
}

/* What component_outgoing makes of st (released here), as canonical
 * text; NULL when nothing is sent. */
static char *outgoing(xmpp_stanza_t *st)
{
    xmpp_stanza_t *out = component_outgoing("contests.example", st);
    char *text = NULL;

    if (out) {
        assert_null(xml_check(out));
        text = tu_canon(out);
        xmpp_stanza_release(out);
    }
    xmpp_stanza_release(st);
    return text;
}

static void test_outgoing_passes_normal_text(void **state)
{
    xmpp_stanza_t *st = error_reply(
        "r1", "field 'AAAA\xc3\xa9' submitted twice <&> \"quoted\" \t\n");
    xmpp_stanza_t *out;

    (void)state;
    assert_null(xml_check(st));
    out = component_outgoing("contests.example", st);
    assert_ptr_equal(out, st); /* as it is: a new reference */
    xmpp_stanza_release(out);
    xmpp_stanza_release(st);
}

static const char internal_error[] =
    "<iq from=\"contests.example\" id=\"r1\" "
    "to=\"juliet@capulet.example/balcony\" type=\"error\">"
    "<error code=\"500\" type=\"wait\"><internal-server-error "
    "xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/></error></iq>";

/* A reply with half a character, or a character XML forbids, is never
 * sent as it is: the request gets internal-server-error instead, with
 * the same id, to and from. */
static void test_outgoing_replaces_a_broken_reply(void **state)
{
    static const char *const bad[] = {
        "field 'AAAA" HALF_E "' submitted twice",
        "a\x01z",
        "escape \x1b[31m",
        "\xef\xbf\xbe",
        "\xed\xa0\x80",
    };
    char *text;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        text = outgoing(error_reply("r1", bad[i]));
        assert_non_null(text);
        assert_string_equal(text, internal_error);
        free(text);
    }
    /* a result whose payload carries an attribute value, or an element
     * name, that XML refuses */
    {
        xmpp_stanza_t *iq =
            tu_parse(ctx, "<iq type='result' id='r1' from='contests.example' "
                          "to='juliet@capulet.example/balcony'><query "
                          "xmlns='jabber:iq:register'><x/></query></iq>");
        xmpp_stanza_t *x =
            xmpp_stanza_get_child_by_name(xmpp_stanza_get_children(iq), "x");
        xmpp_stanza_set_attribute(x, "var", "A" HALF_E);
        text = outgoing(iq);
        assert_string_equal(text, internal_error);
        free(text);
        iq = tu_parse(ctx, "<iq type='result' id='r1' from='contests.example' "
                           "to='juliet@capulet.example/balcony'><query "
                           "xmlns='jabber:iq:register'><x/></query></iq>");
        x = xmpp_stanza_get_child_by_name(xmpp_stanza_get_children(iq), "x");
        xmpp_stanza_set_name(x, "x y='1'");
        text = outgoing(iq);
        assert_string_equal(text, internal_error);
        free(text);
    }
}

/* Anything else that fails is not sent at all; nor is a reply whose own
 * id is broken (no reply could carry it). */
static void test_outgoing_drops_the_rest(void **state)
{
    xmpp_stanza_t *m = xmpp_message_new(ctx, "normal", "ops@example.org", NULL);

    (void)state;
    xmpp_stanza_set_from(m, "accounts.example");
    xmpp_message_set_body(m, "New registration: (username " HALF_E);
    assert_null(outgoing(m));
    m = xmpp_message_new(ctx, "normal", "ops@example.org", NULL);
    xmpp_message_set_body(m, "line\x0c");
    assert_null(outgoing(m));
    assert_null(outgoing(error_reply("r" HALF_E, "text")));
    /* our own get (the keepalive ping) */
    m = xmpp_iq_new(ctx, "get", "registrar-ping-1");
    xmpp_stanza_set_to(m, "example" HALF_E);
    assert_null(outgoing(m));
    /* a normal message goes as it is */
    m = xmpp_message_new(ctx, "normal", "ops@example.org", NULL);
    xmpp_message_set_body(m, "New registration: (username \xc3\xa9)");
    {
        char *text = outgoing(m);
        assert_non_null(text);
        assert_contains(text, "(username \xc3\xa9)");
        free(text);
    }
}

/* The sink of a connection: each stanza through component_outgoing, what
 * it lets go recorded. */
struct gate {
    struct tu_sink out;
    int refused; /* stanzas that failed the check */
};

static void through_gate(void *arg, xmpp_stanza_t *st)
{
    struct gate *g = arg;
    xmpp_stanza_t *out;

    if (xml_check(st))
        g->refused++;
    out = component_outgoing("accounts.example", st);
    if (out) {
        tu_record(&g->out, out);
        xmpp_stanza_release(out);
    }
}

/* Issue 16: a username of 967 (then 968) bytes of é in the admin notice
 * of a new registration (reg_update.c writes it into 1024 bytes: one of
 * the two lengths put its cut inside an é).  What leaves is well-formed:
 * the notice, valid UTF-8, and the registration's one reply, a result. */
static void test_long_username_notice_leaves_well_formed(void **state)
{
    /* loaded once, never freed (fixture.h) */
    static struct conf c;
    static bool loaded;
    char user[1000], xml[3000];

    (void)state;
    if (!loaded) {
        c = fixture_conf("accounts", "    notify_jids = {\"ops@example.org\"}");
        loaded = true;
    }
    for (size_t len = 967; len <= 968; len++) {
        struct gate g = {.refused = 0};
        struct reg *reg = reg_new(&c, fake_store(), &sync_env);
        xmpp_stanza_t *iq;
        size_t n = 0;
        int replies = 0;

        tu_sink_init(&g.out);
        g.out.sink.send = through_gate;
        g.out.sink.arg = &g;
        if (len % 2)
            user[n++] = 'x';
        while (n < len)
            n += (size_t)sprintf(user + n, "\xc3\xa9");
        user[n] = '\0';
        snprintf(xml, sizeof(xml),
                 "<iq type='set' id='n%zu' from='bill@shakespeare.example/g' "
                 "to='accounts.example'><query xmlns='jabber:iq:register'>"
                 "<username>%s</username><password>theglobe</password>"
                 "<email>b@x.example</email></query></iq>",
                 len, user);
        iq = tu_parse(ctx, xml);
        reg_handle(reg, iq_req_new(iq, "accounts.example", &g.out.sink));
        xmpp_stanza_release(iq);
        for (int i = 0; i < g.out.nsent; i++) {
            assert_true(text_xml_chars_ok(g.out.sent[i]));
            if (!strncmp(g.out.sent[i], "<iq ", 4)) {
                replies++;
                assert_contains(g.out.sent[i], "type=\"result\"");
            } else {
                assert_contains(g.out.sent[i], "New registration with");
            }
        }
        assert_int_equal(replies, 1);
        /* and the notice, cut (if it must be) between two characters,
         * passed the check and was sent */
        assert_int_equal(g.refused, 0);
        assert_int_equal(g.out.nsent, 2);
        assert_contains(g.out.sent[0], "(username ");
        tu_sink_clear(&g.out);
        reg_free(reg);
        fake_store_reset();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ping_token_random),
        cmocka_unit_test(test_ping_reply_only_result_or_error),
        cmocka_unit_test_setup_teardown(test_outgoing_passes_normal_text, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_outgoing_replaces_a_broken_reply,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_outgoing_drops_the_rest, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_long_username_notice_leaves_well_formed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
