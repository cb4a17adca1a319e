/*
 * test_messages.c - the messages to users: templates (template.c), the
 * admins' notice, and the state changes told from the store's claims
 * (messages.c) against the in-memory store: each once, to the bare JID, from
 * the service, as the service's templates say; none for a kind without a
 * template, none when nothing was notified and no poll is due.
 */
#include "testutil.h"

#include "fake_store.h"
#include "fixture.h"
#include "messages.h"
#include "stats.h"
#include "template.h"

static struct conf accounts; /* tests/fixtures/accounts.conf */
static xmpp_ctx_t *ctx;
static struct tu_sink sink;
static double clock_s = 100.0;

static double now(void)
{
    return clock_s;
}

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

/* ---- templates ---------------------------------------------------------- */

static void test_template_check(void **state)
{
    char why[256];

    (void)state;
    assert_true(template_check("", why, sizeof(why)));
    assert_true(template_check("plain } text", why, sizeof(why)));
    assert_true(template_check("{service}{jid}{username}{state}{reason}", why,
                               sizeof(why)));
    assert_true(template_check("{{literal}} {{", why, sizeof(why)));
    assert_false(template_check("{password}", why, sizeof(why)));
    assert_contains(why, "unknown placeholder at '{password}'");
    assert_false(template_check("a {", why, sizeof(why)));
    assert_false(template_check("{jid", why, sizeof(why)));
    assert_false(template_check("{ jid}", why, sizeof(why)));
    assert_false(template_check("{JID}", why, sizeof(why)));
}

static void test_template_expand(void **state)
{
    struct template_values v = {.service = "svc.example",
                                .jid = "u@example.org",
                                .username = "ü",
                                .state = "disabled",
                                .reason = "spam\nagain"};
    char out[TEMPLATE_BODY_MAX], small[8];

    (void)state;
    assert_true(template_expand(out, sizeof(out),
                                "{service}|{jid}|{username}|{state}|{reason}|"
                                "{{x}}|}",
                                &v));
    /* a control character of a value becomes '?' */
    assert_string_equal(out, "svc.example|u@example.org|ü|disabled|"
                             "spam?again|{x}|}");
    v.username = NULL;
    v.reason = NULL;
    assert_true(
        template_expand(out, sizeof(out), "[{username}][{reason}]", &v));
    assert_string_equal(out, "[][]");
    /* cut between two characters: "ab" then "ü" (2 bytes) ... */
    v.username = "üüüü";
    assert_false(template_expand(small, sizeof(small), "ab{username}", &v));
    assert_string_equal(small, "abüü"); /* 6 bytes, a 7th would split */
}

/* The admins' notice: the fixed text of before, or the template. */
static void test_notice_body(void **state)
{
    struct conf c = accounts;
    struct template_values v = {.service = "accounts.example",
                                .jid = "u@example.org",
                                .username = "u",
                                .state = "pending"};
    char out[512];

    (void)state;
    messages_notice_body(out, sizeof(out), &c, &v);
    assert_string_equal(out, "New registration with accounts.example: "
                             "u@example.org (username u), pending");
    v.username = NULL;
    messages_notice_body(out, sizeof(out), &c, &v);
    assert_string_equal(
        out, "New registration with accounts.example: u@example.org, pending");
    c.messages.admin_notice = "{jid}: {state}";
    messages_notice_body(out, sizeof(out), &c, &v);
    assert_string_equal(out, "u@example.org: pending");
}

/* ---- state changes ------------------------------------------------------ */

static void ignore_done(void *arg, enum store_status st, bool created)
{
    (void)arg;
    (void)created;
    assert_int_equal(st, STORE_OK);
}

static void ignore_put(void *arg, enum store_status st, bool created,
                       const char *reason)
{
    (void)arg;
    (void)created;
    (void)reason;
    assert_int_equal(st, STORE_OK);
}

static void add_user(const char *jid, const char *username,
                     enum store_state state)
{
    struct form_data fields = {0};
    struct store_put put = {.service = "accounts.example",
                            .jid = jid,
                            .username = username,
                            .fields = &fields,
                            .initial_state = state};

    store_put(fake_store(), &put, ignore_put, NULL);
}

static void set_state(const char *jid, enum store_state state,
                      const char *reason)
{
    struct store_origin o = {.actor = "admin@example.org", .reason = reason};

    store_set_state(fake_store(), "accounts.example", jid, state, NULL, &o,
                    ignore_done, NULL);
}

/* Activated and disabled told once each, from the service to the bare JID,
 * with the reason; pending is no message; two claims MESSAGES_GAP_S apart
 * at least; nothing sent again on the next notification or poll. */
static void test_state_changes_told_once(void **state)
{
    struct conf c = accounts;
    struct messages *m;

    (void)state;
    c.messages.activated = "{username}, your account at {service} is {state}";
    c.messages.disabled = "{jid} is {state}: {reason}";
    m = messages_new(fake_store(), NULL, 1, now);
    messages_set_service(m, 0, &c, ctx, &sink.sink);
    assert_true(messages_listening(m));
    store_set_notify(fake_store(), messages_notified, m);
    add_user("u@example.org", "u", STORE_STATE_PENDING);
    add_user("v@example.org", NULL, STORE_STATE_ACTIVE);
    messages_turn(m);
    assert_int_equal(sink.nsent, 0); /* nothing changed state yet */
    set_state("u@example.org", STORE_STATE_ACTIVE, NULL);
    set_state("v@example.org", STORE_STATE_DISABLED, "abuse");
    set_state("v@example.org", STORE_STATE_PENDING, NULL);
    messages_turn(m); /* notified, but within MESSAGES_GAP_S: waits */
    assert_int_equal(sink.nsent, 0);
    clock_s += MESSAGES_GAP_S;
    messages_turn(m);
    assert_false(messages_busy(m));
    assert_int_equal(sink.nsent, 2);
    assert_string_equal(sink.sent[0],
                        "<message from=\"accounts.example\" "
                        "to=\"u@example.org\" type=\"normal\"><body>u, your "
                        "account at accounts.example is active</body>"
                        "</message>");
    assert_string_equal(sink.sent[1],
                        "<message from=\"accounts.example\" "
                        "to=\"v@example.org\" type=\"normal\"><body>"
                        "v@example.org is disabled: abuse</body></message>");
    /* notified again, polled: nothing more */
    tu_sink_clear(&sink);
    messages_notified(m, NULL);
    messages_turn(m);
    clock_s += MESSAGES_POLL_S + 1;
    messages_turn(m);
    assert_int_equal(sink.nsent, 0);
    store_set_notify(fake_store(), NULL, NULL);
    messages_free(m);
}

/* Only activated configured: a disable is claimed and not told; without
 * a notification, the change waits for the poll. */
static void test_one_kind_and_poll(void **state)
{
    struct conf c = accounts;
    struct messages *m;

    (void)state;
    c.messages.activated = "on";
    m = messages_new(fake_store(), NULL, 1, now);
    messages_set_service(m, 0, &c, ctx, &sink.sink);
    add_user("u@example.org", "u", STORE_STATE_ACTIVE);
    messages_turn(m); /* the first claim */
    set_state("u@example.org", STORE_STATE_DISABLED, "x");
    set_state("u@example.org", STORE_STATE_ACTIVE, NULL);
    messages_turn(m); /* no notification (no store_set_notify): waits */
    assert_int_equal(sink.nsent, 0);
    clock_s += MESSAGES_POLL_S;
    messages_turn(m);
    assert_int_equal(sink.nsent, 1);
    assert_contains(sink.sent[0], "<body>on</body>");
    messages_free(m);
}

/* A service without state-change templates claims nothing; a reload that
 * adds one claims at the next turn. */
static void test_off_then_reloaded(void **state)
{
    struct conf c = accounts, on = accounts;
    struct messages *m;

    (void)state;
    c.messages.welcome = "hi"; /* not a state change */
    m = messages_new(fake_store(), NULL, 1, now);
    messages_set_service(m, 0, &c, ctx, &sink.sink);
    assert_false(messages_listening(m));
    add_user("u@example.org", "u", STORE_STATE_PENDING);
    set_state("u@example.org", STORE_STATE_ACTIVE, NULL);
    clock_s += 100;
    messages_turn(m);
    assert_int_equal(sink.nsent, 0);
    on.messages.activated = "active";
    messages_set_service(m, 0, &on, ctx, &sink.sink);
    assert_true(messages_listening(m));
    messages_turn(m);
    /* the fake store's claim returns what is unclaimed (sql/014 starts at
     * the log's end on the first claim) */
    assert_int_equal(sink.nsent, 1);
    messages_free(m);
}

/* Counted per kind in the metrics. */
static void test_counted(void **state)
{
    struct conf c = accounts;
    struct stats *stats = stats_new(&c);
    struct messages *m;
    char *text;
    size_t len = 0;

    (void)state;
    assert_non_null(stats);
    c.messages.disabled = "off";
    m = messages_new(fake_store(), stats, 1, now);
    messages_set_service(m, 0, &c, ctx, &sink.sink);
    add_user("u@example.org", "u", STORE_STATE_ACTIVE);
    set_state("u@example.org", STORE_STATE_DISABLED, NULL);
    messages_notified(m, NULL);
    messages_turn(m);
    assert_int_equal(sink.nsent, 1);
    assert_non_null(text = stats_render(stats, &len));
    assert_contains(text, "registrar_messages_sent_total{service=\""
                          "accounts.example\",kind=\"disabled\"} 1");
    assert_contains(text, "registrar_messages_sent_total{service=\""
                          "accounts.example\",kind=\"activated\"} 0");
    free(text);
    messages_free(m);
    stats_free(stats);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template_check),
        cmocka_unit_test(test_template_expand),
        cmocka_unit_test(test_notice_body),
        cmocka_unit_test_setup_teardown(test_state_changes_told_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_one_kind_and_poll, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_off_then_reloaded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_counted, setup, teardown),
    };
    accounts = fixture_conf("accounts", NULL);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
