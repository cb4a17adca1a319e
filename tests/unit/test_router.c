/*
 * test_router.c - routing: disco, ping, version, unknown namespaces, iq
 * shapes; exactly one reply per get/set and none to result/error; the
 * 'to' of each stanza (the service, a node of it, another domain).
 */
#include "testutil.h"

#include <unistd.h>

#include "fake_store.h"
#include "fixture.h"
#include "log.h"
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

/* A server that delivers another component's stanza on this stream (the
 * finding: to='b.localhost' on contests' stream was answered from
 * b.localhost and the row landed in contests): nothing is answered, no
 * row is written, the stanza is counted, and a flood of them makes one log
 * line a second with the count. */
static void test_other_domain_dropped(void **state)
{
    struct tu_capture cap;
    char *log;

    (void)state;
    assert_int_equal(route("<iq type='set' id='o1' from='juliet@capulet."
                           "example/balcony' to='b.example'><query xmlns="
                           "'jabber:iq:register'><first>J</first><last>C"
                           "</last><email>j@c</email></query></iq>"),
                     0);
    assert_int_equal(fake_store_count(), 0);
    assert_int_equal(router_misaddressed(router), 1);
    /* every kind of stanza, and domains that only look alike */
    assert_int_equal(route("<iq type='get' id='o2' from='a@b/c' "
                           "to='contests.example.evil'><ping xmlns="
                           "'urn:xmpp:ping'/></iq>"),
                     0);
    assert_int_equal(route("<iq type='get' id='o3' from='a@b/c' "
                           "to='xcontests.example/r'><ping xmlns="
                           "'urn:xmpp:ping'/></iq>"),
                     0);
    assert_int_equal(route("<iq type='get' id='o4' from='a@b/c' "
                           "to='contests.example@b.example'><ping xmlns="
                           "'urn:xmpp:ping'/></iq>"),
                     0);
    assert_int_equal(route("<message from='a@b/c' to='b.example'><body>x"
                           "</body></message>"),
                     0);
    assert_int_equal(route("<presence from='a@b/c' to='n@b.example'/>"), 0);
    assert_int_equal(router_misaddressed(router), 6);

    log_set_level(LOG_LEVEL_INFO);
    tu_capture_start(&cap);
    for (int i = 0; i < 1000; i++)
        route("<iq type='get' id='f' from='a@b/c' to='b.example'><ping "
              "xmlns='urn:xmpp:ping'/></iq>");
    usleep(1100 * 1000);
    /* a stanza served a second later writes the count held back */
    assert_int_equal(route("<iq type='get' id='o5' " FROM "><ping xmlns="
                           "'urn:xmpp:ping'/></iq>"),
                     1);
    log = tu_capture_end(&cap);
    assert_int_equal(router_misaddressed(router), 1006);
    printf("1000 misaddressed stanzas, log lines: %d\n",
           tu_lines_with(log, "for another domain dropped"));
    assert_true(tu_lines_with(log, "for another domain dropped") <= 2);
    assert_contains(log, "(1006 in all)");
    assert_not_contains(log, "answered");
    free(log);
}

/* What the service serves: its JID in any case, with a trailing dot or a
 * resource (the reply comes from the address asked); a node of it is no
 * entity (service-unavailable, from that node); a stanza without 'to'. */
static void test_service_addresses(void **state)
{
    (void)state;
    assert_int_equal(route("<iq type='get' id='a1' from='a@b/c' "
                           "to='CONTESTS.Example'><ping xmlns="
                           "'urn:xmpp:ping'/></iq>"),
                     1);
    assert_contains(sink.sent[0], "from=\"CONTESTS.Example\"");
    assert_contains(sink.sent[0], "type=\"result\"");
    assert_int_equal(route("<iq type='get' id='a2' from='a@b/c' "
                           "to='contests.example.'><ping xmlns="
                           "'urn:xmpp:ping'/></iq>"),
                     1);
    assert_contains(sink.sent[0], "type=\"result\"");
    assert_int_equal(route("<iq type='get' id='a3' from='a@b/c' "
                           "to='contests.example/desk'><ping xmlns="
                           "'urn:xmpp:ping'/></iq>"),
                     1);
    assert_contains(sink.sent[0], "from=\"contests.example/desk\"");
    assert_contains(sink.sent[0], "type=\"result\"");
    assert_int_equal(route("<iq type='set' id='a4' from='a@b/c' "
                           "to='bot@Contests.example'><query xmlns="
                           "'jabber:iq:register'><first>J</first><last>C"
                           "</last><email>j@c</email></query></iq>"),
                     1);
    assert_contains(sink.sent[0], "from=\"bot@Contests.example\"");
    assert_contains(sink.sent[0], "<service-unavailable");
    assert_int_equal(fake_store_count(), 0);
    assert_int_equal(route("<iq type='get' id='a5' from='a@b/c' "
                           "to='bot@contests.example/r'><ping xmlns="
                           "'urn:xmpp:ping'/></iq>"),
                     1);
    assert_contains(sink.sent[0], "<service-unavailable");
    assert_int_equal(route("<iq type='result' id='a6' from='a@b/c' "
                           "to='bot@contests.example'/>"),
                     0);
    assert_int_equal(router_misaddressed(router), 0);
}

/* A service JID beyond ASCII is compared after nameprep. */
static void test_idn_service(void **state)
{
    struct conf c = conf;
    struct router *r2;
    xmpp_stanza_t *st;

    (void)state;
    c.component.jid = (char *)"b\xc3\xbc"
                              "cher.example"; /* bücher */
    r2 = router_new(&c, reg);
    assert_non_null(r2);
    st = tu_parse(ctx, "<iq type='get' id='i1' from='a@b/c' "
                       "to='B\xc3\x9c"
                       "CHER.example'><ping xmlns='urn:xmpp:ping'/></iq>");
    tu_sink_clear(&sink);
    router_stanza(r2, st, &sink.sink);
    xmpp_stanza_release(st);
    assert_int_equal(sink.nsent, 1);
    assert_contains(sink.sent[0], "type=\"result\"");
    st = tu_parse(ctx, "<iq type='get' id='i2' from='a@b/c' "
                       "to='bucher.example'><ping xmlns='urn:xmpp:ping'/>"
                       "</iq>");
    tu_sink_clear(&sink);
    router_stanza(r2, st, &sink.sink);
    xmpp_stanza_release(st);
    assert_int_equal(sink.nsent, 0);
    assert_int_equal(router_misaddressed(r2), 1);
    router_free(r2);
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
        cmocka_unit_test_setup_teardown(test_other_domain_dropped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_service_addresses, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_idn_service, setup, teardown),
    };
    conf = fixture_conf("contests", NULL);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
