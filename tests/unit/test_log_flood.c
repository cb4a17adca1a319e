/*
 * test_log_flood.c - errors a client can cause at will are logged once a
 * second per condition (iq.c): the first of a quiet second as it is, with
 * its requester and id; those that follow within the second counted and
 * written together, with the latest requester and the count in all, at
 * the next error or at iq_log_flush() (the loop's every turn); another
 * condition has its own count; at debug level every error still has its
 * line.  Every request is still answered, once.
 */
#include "testutil.h"

#include "log.h"

static xmpp_ctx_t *ctx;
static double clock_now;

static double fake_now(void)
{
    return clock_now;
}

/* An iq get from user N, taken at clock_now, answered with condition e
 * at answered_at (0: at once). */
static void answer_at(struct tu_sink *sink, int n, enum iq_error e,
                      double answered_at)
{
    char xml[256];
    xmpp_stanza_t *iq;
    struct iq_req *req;

    snprintf(xml, sizeof(xml),
             "<iq type='get' id='q%d' from='u%d@example/r' "
             "to='c.example'><query xmlns='jabber:iq:register'/></iq>",
             n, n);
    iq = tu_parse(ctx, xml);
    req = iq_req_new(iq, "c.example", &sink->sink);
    assert_non_null(req);
    if (answered_at > 0)
        clock_now = answered_at;
    iq_req_error(req, e, "The form is missing.", NULL);
    iq_req_done(req);
    xmpp_stanza_release(iq);
}

static void answer(struct tu_sink *sink, int n, enum iq_error e)
{
    answer_at(sink, n, e, 0);
}

static void test_errors_aggregated(void **state)
{
    struct tu_capture cap;
    struct tu_sink sink;
    char *log;
    int sent = 0;

    (void)state;
    clock_now = 1000.0; /* a quiet spell before */
    iq_log_clock(fake_now);
    log_set_level(LOG_LEVEL_INFO);
    tu_capture_start(&cap);
    for (int i = 0; i < 50; i++) { /* 50 in half a second */
        clock_now = 1000.0 + i * 0.01;
        tu_sink_init(&sink);
        answer(&sink, i, IQ_BAD_REQUEST);
        sent += sink.nsent;
        tu_sink_clear(&sink);
    }
    clock_now = 1000.7; /* another condition: its own first line */
    tu_sink_init(&sink);
    answer(&sink, 100, IQ_ITEM_NOT_FOUND);
    tu_sink_clear(&sink);
    /* taken within the second, answered after it (the store's answer):
     * the 49 held back and this one, with its requester */
    clock_now = 1000.9;
    tu_sink_init(&sink);
    answer_at(&sink, 50, IQ_BAD_REQUEST, 1001.2);
    tu_sink_clear(&sink);
    clock_now = 1001.5; /* held back; then the loop's turn writes it */
    tu_sink_init(&sink);
    answer(&sink, 51, IQ_BAD_REQUEST);
    tu_sink_clear(&sink);
    iq_log_flush(); /* not due yet */
    clock_now = 1002.3;
    iq_log_flush();
    iq_log_flush(); /* nothing more */
    log = tu_capture_end(&cap);
    assert_int_equal(sent, 50); /* each answered, once */
    assert_int_equal(tu_lines_with(log, "answered bad-request"), 3);
    assert_int_equal(tu_lines_with(log, "answered item-not-found"), 1);
    assert_contains(log, "info  iq: answered bad-request (modify) to "
                         "u0@example/r (id=q0): The form is missing.\n");
    assert_contains(log, "info  iq: answered item-not-found (cancel) to "
                         "u100@example/r (id=q100): The form is missing.\n");
    assert_contains(log, "info  iq: answered bad-request (modify) 50 time(s) "
                         "since the last report, latest to u50@example/r "
                         "(id=q50): The form is missing. (51 in all)\n");
    assert_contains(log, "info  iq: answered bad-request 1 time(s) since the "
                         "last report (52 in all)\n");
    free(log);

    /* at debug level, every error still has its line */
    clock_now = 1010.0;
    log_set_level(LOG_LEVEL_DEBUG);
    tu_capture_start(&cap);
    for (int i = 0; i < 5; i++) {
        tu_sink_init(&sink);
        answer(&sink, 200 + i, IQ_BAD_REQUEST);
        tu_sink_clear(&sink);
    }
    log = tu_capture_end(&cap);
    assert_int_equal(tu_lines_with(log, "answered bad-request (modify) to"), 5);
    assert_int_equal(tu_lines_with(log, "debug iq: answered bad-request"), 4);
    free(log);
    log_set_level(LOG_LEVEL_INFO);
    iq_log_clock(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors_aggregated),
    };
    int rc;

    xmpp_initialize();
    ctx = xmpp_ctx_new(NULL, NULL);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    xmpp_ctx_free(ctx);
    xmpp_shutdown();
    return rc;
}
