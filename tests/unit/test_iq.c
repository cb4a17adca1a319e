/*
 * test_iq.c - the one-reply guard (iq.c) for a relayed request: its answer
 * reaches the relay typed and never the wire, once; a request a flow left
 * unanswered is answered internal-server-error there too; what it sends
 * besides goes out on the wire, even after the request it was made for
 * has ended; done comes last, once.
 */
#include "testutil.h"

#include "log.h"

static xmpp_ctx_t *ctx;

/* What the relay was given. */
struct seen {
    int results, errors, dones;
    char *payload; /* canonical text, or NULL */
    enum iq_error condition;
    char *type, *text, *echo, *app_ns, *app_name;
    bool answered_before_done;
};

static void on_result(void *arg, xmpp_stanza_t *payload)
{
    struct seen *s = arg;

    s->results++;
    s->payload = payload ? tu_canon(payload) : NULL;
}

static void on_error(void *arg, const struct iq_relay_error *err)
{
    struct seen *s = arg;

    s->errors++;
    s->condition = err->condition;
    s->type = strdup(err->type);
    s->text = err->text ? strdup(err->text) : NULL;
    s->echo = err->echo ? tu_canon(err->echo) : NULL;
    s->app_ns = err->app_ns ? strdup(err->app_ns) : NULL;
    s->app_name = err->app_name ? strdup(err->app_name) : NULL;
}

static void on_done(void *arg)
{
    struct seen *s = arg;

    s->dones++;
    s->answered_before_done = s->results + s->errors == 1;
}

static void seen_clear(struct seen *s)
{
    free(s->payload);
    free(s->type);
    free(s->text);
    free(s->echo);
    free(s->app_ns);
    free(s->app_name);
    memset(s, 0, sizeof(*s));
}

static struct iq_relay relay_of(struct seen *s)
{
    return (struct iq_relay){
        .result = on_result, .error = on_error, .done = on_done, .arg = s};
}

/* A command request to the service, as the router makes it. */
static struct iq_req *outer_new(struct tu_sink *sink)
{
    xmpp_stanza_t *iq = tu_parse(
        ctx, "<iq type='set' id='c1' from='alice@example.org/phone' "
             "to='reg.example.org'><command "
             "xmlns='http://jabber.org/protocol/commands' node='n'/></iq>");
    struct iq_req *req;

    tu_sink_init(sink);
    req = iq_req_new(iq, "reg.example.org", &sink->sink);
    xmpp_stanza_release(iq);
    assert_non_null(req);
    return req;
}

static struct iq_req *relay_new(struct iq_req *outer, const char *type,
                                struct seen *s)
{
    xmpp_stanza_t *q =
        tu_parse(ctx, "<query xmlns='jabber:iq:register'><username>a</username>"
                      "</query>");
    const struct iq_relay relay = relay_of(s);
    struct iq_req *req = iq_req_relay(outer, type, q, &relay);

    xmpp_stanza_release(q);
    assert_non_null(req);
    return req;
}

static int setup(void **state)
{
    (void)state;
    log_set_level(LOG_LEVEL_ERROR);
    ctx = xmpp_ctx_new(NULL, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    xmpp_ctx_free(ctx);
    return 0;
}

/* The relayed request is outer's requester, id and addressee asking with
 * the payload given; its result reaches the relay, not the wire. */
static void test_result_relayed(void **state)
{
    struct tu_sink sink;
    struct seen s = {0};
    struct iq_req *outer = outer_new(&sink);
    struct iq_req *req = relay_new(outer, "get", &s);
    xmpp_stanza_t *q = tu_parse(ctx, "<query xmlns='jabber:iq:register'>"
                                     "<registered/></query>");

    (void)state;
    assert_string_equal(iq_req_type(req), "get");
    assert_string_equal(iq_req_id(req), "c1");
    assert_string_equal(iq_req_from(req), "alice@example.org/phone");
    assert_string_equal(iq_req_to(req), "reg.example.org");
    assert_string_equal(xmpp_stanza_get_ns(iq_req_payload(req)),
                        "jabber:iq:register");
    iq_req_result(req, q);
    xmpp_stanza_release(q);
    assert_int_equal(s.results, 1);
    assert_contains(s.payload, "<registered");
    assert_int_equal(s.dones, 0);
    iq_req_done(req);
    assert_int_equal(s.dones, 1);
    assert_true(s.answered_before_done);
    assert_int_equal(s.errors, 0);
    assert_int_equal(sink.nsent, 0); /* nothing on the wire */
    iq_req_result(outer, NULL);
    iq_req_done(outer);
    assert_int_equal(sink.nsent, 1);
    seen_clear(&s);
    tu_sink_clear(&sink);
}

/* An error reaches the relay typed: condition, type (the usual one when
 * none is given), text, echo and application condition. */
static void test_error_relayed(void **state)
{
    struct tu_sink sink;
    struct seen s = {0};
    struct iq_req *outer = outer_new(&sink);
    struct iq_req *req = relay_new(outer, "set", &s);
    xmpp_stanza_t *echo =
        tu_parse(ctx, "<query xmlns='jabber:iq:register'><x/></query>");

    (void)state;
    iq_req_error_app(req, IQ_NOT_AUTHORIZED, "modify", "Submit the form.", echo,
                     "urn:example", "oops");
    xmpp_stanza_release(echo);
    iq_req_done(req);
    assert_int_equal(s.errors, 1);
    assert_int_equal(s.condition, IQ_NOT_AUTHORIZED);
    assert_string_equal(s.type, "modify");
    assert_string_equal(s.text, "Submit the form.");
    assert_contains(s.echo, "<x ");
    assert_string_equal(s.app_ns, "urn:example");
    assert_string_equal(s.app_name, "oops");
    assert_int_equal(s.dones, 1);
    seen_clear(&s);

    req = relay_new(outer, "set", &s);
    iq_req_error(req, IQ_CONFLICT, NULL, NULL);
    iq_req_done(req);
    assert_int_equal(s.condition, IQ_CONFLICT);
    assert_string_equal(s.type, "cancel");
    assert_null(s.text);
    assert_null(s.echo);
    assert_null(s.app_ns);
    assert_null(s.app_name);
    assert_int_equal(sink.nsent, 0);
    seen_clear(&s);
    iq_req_done(outer); /* answered internal-server-error: the guard */
    assert_contains(tu_only_reply(&sink), "<internal-server-error");
    tu_sink_clear(&sink);
}

/* The guard: a second answer is dropped; a request left unanswered is
 * answered internal-server-error (to the relay), then done. */
static void test_guard_relayed(void **state)
{
    struct tu_sink sink;
    struct seen s = {0};
    struct iq_req *outer = outer_new(&sink);
    struct iq_req *req = relay_new(outer, "set", &s);

    (void)state;
    iq_req_result(req, NULL);
    iq_req_error(req, IQ_CONFLICT, NULL, NULL);
    iq_req_result(req, NULL);
    iq_req_done(req);
    assert_int_equal(s.results, 1);
    assert_null(s.payload);
    assert_int_equal(s.errors, 0);
    assert_int_equal(s.dones, 1);
    seen_clear(&s);

    req = relay_new(outer, "set", &s);
    iq_req_done(req); /* a flow forgot to answer */
    assert_int_equal(s.results, 0);
    assert_int_equal(s.errors, 1);
    assert_int_equal(s.condition, IQ_INTERNAL_SERVER_ERROR);
    assert_string_equal(s.type, "wait");
    assert_int_equal(s.dones, 1);
    assert_true(s.answered_before_done);
    assert_int_equal(sink.nsent, 0);
    seen_clear(&s);
    iq_req_result(outer, NULL);
    iq_req_done(outer);
    tu_sink_clear(&sink);
}

/* What a relayed request sends besides its answer (a notice) goes out on
 * outer's sink, even once outer has ended. */
static void test_send_goes_on_the_wire(void **state)
{
    struct tu_sink sink;
    struct seen s = {0};
    struct iq_req *outer = outer_new(&sink);
    struct iq_req *req = relay_new(outer, "set", &s);
    xmpp_stanza_t *m = tu_parse(ctx, "<message to='ops@example.org' "
                                     "type='normal'><body>hi</body>"
                                     "</message>");

    (void)state;
    iq_req_send(req, m);
    assert_int_equal(sink.nsent, 1);
    assert_contains(sink.sent[0], "<message");
    iq_req_result(outer, NULL);
    iq_req_done(outer);
    assert_int_equal(sink.nsent, 2);
    iq_req_send(req, m);
    assert_int_equal(sink.nsent, 3);
    assert_contains(sink.sent[2], "<body>hi</body>");
    xmpp_stanza_release(m);
    iq_req_result(req, NULL);
    iq_req_done(req);
    assert_int_equal(sink.nsent, 3);
    assert_int_equal(s.results, 1);
    assert_int_equal(s.dones, 1);
    seen_clear(&s);
    tu_sink_clear(&sink);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_result_relayed),
        cmocka_unit_test(test_error_relayed),
        cmocka_unit_test(test_guard_relayed),
        cmocka_unit_test(test_send_goes_on_the_wire),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
