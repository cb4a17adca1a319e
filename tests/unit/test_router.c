/*
 * test_router.c - routing: disco, ping, version, unknown namespaces, iq
 * shapes; exactly one reply per get/set and none to result/error.
 */
#include "testutil.h"

#include "fake_store.h"
#include "fixture.h"
#include "router.h"
#include "sync_env.h"

/* tests/fixtures/contests.conf (JID contests.example), loaded by main() */
static struct conf conf;

static xmpp_ctx_t *ctx;
static struct tu_sink sink;
static struct reg *reg;
static struct router *router;

static int setup(void **state)
{
    (void)state;
    ctx = xmpp_ctx_new(NULL, NULL);
    fake_store_reset();
    reg = reg_new(&conf, fake_store(), &sync_env);
    router = router_new(&conf, reg);
    tu_sink_init(&sink);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_sink_clear(&sink);
    router_free(router);
    reg_free(reg);
    xmpp_ctx_free(ctx);
    return 0;
}

/* Routes xml; returns how many stanzas were sent. */
static int route(const char *xml)
{
    xmpp_stanza_t *st = tu_parse(ctx, xml);

    tu_sink_clear(&sink);
    router_stanza(router, st, &sink.sink);
    xmpp_stanza_release(st);
    return sink.nsent;
}

#define FROM "from='juliet@capulet.example/balcony' to='contests.example'"

static void test_disco_info(void **state)
{
    const char *r;

    (void)state;
    assert_int_equal(route("<iq type='get' id='d1' " FROM "><query xmlns="
                           "'http://jabber.org/protocol/disco#info'/></iq>"),
                     1);
    r = sink.sent[0];
    assert_contains(r, "from=\"contests.example\"");
    assert_contains(r, "<identity category=\"component\" name=\"Contest "
                       "Registration\" type=\"generic\"/>");
    assert_contains(r, "var=\"http://jabber.org/protocol/disco#info\"");
    assert_contains(r, "var=\"jabber:iq:register\"");
    assert_contains(r, "var=\"urn:xmpp:ping\"");
    assert_contains(r, "var=\"jabber:iq:version\"");
    assert_not_contains(r, "jabber:x:data");
    assert_int_equal(route("<iq type='get' id='d2' " FROM "><query xmlns="
                           "'http://jabber.org/protocol/disco#info' "
                           "node='x'/></iq>"),
                     1);
    assert_contains(sink.sent[0], "<item-not-found");
}

static void test_ping_version_items(void **state)
{
    (void)state;
    assert_int_equal(route("<iq type='get' id='p1' " FROM
                           "><ping xmlns='urn:xmpp:ping'/>"
                           "</iq>"),
                     1);
    assert_contains(sink.sent[0], "type=\"result\"");
    assert_contains(sink.sent[0], "id=\"p1\"");
    assert_int_equal(route("<iq type='get' id='v1' " FROM "><query xmlns="
                           "'jabber:iq:version'/></iq>"),
                     1);
    assert_contains(sink.sent[0], "<name>registrar</name><version>");
    assert_int_equal(route("<iq type='get' id='i1' " FROM "><query xmlns="
                           "'http://jabber.org/protocol/disco#items'/></iq>"),
                     1);
    assert_contains(sink.sent[0], "type=\"result\"");
}

static void test_unknown_namespace(void **state)
{
    (void)state;
    assert_int_equal(route("<iq type='get' id='u1' " FROM "><query xmlns="
                           "'urn:example:nope'/></iq>"),
                     1);
    assert_contains(sink.sent[0],
                    "<error code=\"503\" type=\"cancel\">"
                    "<service-unavailable xmlns=\"urn:ietf:params:xml:ns:"
                    "xmpp-stanzas\"/></error>");
    /* a set of a get-only namespace */
    assert_int_equal(route("<iq type='set' id='u2' " FROM
                           "><ping xmlns='urn:xmpp:ping'/>"
                           "</iq>"),
                     1);
    assert_contains(sink.sent[0], "service-unavailable");
}

static void test_shapes(void **state)
{
    (void)state;
    /* no child, two children */
    assert_int_equal(route("<iq type='get' id='s1' " FROM "/>"), 1);
    assert_contains(sink.sent[0], "code=\"400\"");
    assert_int_equal(route("<iq type='get' id='s2' " FROM "><ping xmlns="
                           "'urn:xmpp:ping'/><ping xmlns='urn:xmpp:ping'/>"
                           "</iq>"),
                     1);
    assert_contains(sink.sent[0], "bad-request");
    /* no id: still answered once */
    assert_int_equal(
        route("<iq type='get' " FROM "><ping xmlns='urn:xmpp:ping'/></iq>"), 1);
    /* bad type */
    assert_int_equal(route("<iq type='nope' id='s3' " FROM
                           "><ping xmlns='urn:xmpp:ping'/>"
                           "</iq>"),
                     1);
    assert_contains(sink.sent[0], "bad-request");
    /* result and error are never answered; neither are message/presence */
    assert_int_equal(route("<iq type='result' id='s4' " FROM "/>"), 0);
    assert_int_equal(route("<iq type='error' id='s5' " FROM "/>"), 0);
    assert_int_equal(route("<message " FROM "><body>hi</body></message>"), 0);
    assert_int_equal(route("<presence " FROM "/>"), 0);
}

static void test_register_reaches_reg(void **state)
{
    (void)state;
    assert_int_equal(route("<iq type='get' id='g1' " FROM "><query xmlns="
                           "'jabber:iq:register'/></iq>"),
                     1);
    assert_contains(sink.sent[0], "jabber:x:data");
    assert_int_equal(route("<iq type='set' id='g2' " FROM "><query xmlns="
                           "'jabber:iq:register'><first>J</first><last>C</last>"
                           "<email>j@c</email></query>"
                           "</iq>"),
                     1);
    assert_contains(sink.sent[0], "type=\"result\"");
    assert_int_equal(fake_store_count(), 1);
}

static void test_reply_without_to_uses_own_jid(void **state)
{
    (void)state;
    assert_int_equal(route("<iq type='get' id='t1' from='a@b/c'><ping "
                           "xmlns='urn:xmpp:ping'/></iq>"),
                     1);
    assert_contains(sink.sent[0], "from=\"contests.example\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_disco_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ping_version_items, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unknown_namespace, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_reaches_reg, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reply_without_to_uses_own_jid,
                                        setup, teardown),
    };
    conf = fixture_conf("contests", NULL);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
