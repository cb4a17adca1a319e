/*
 * test_stats.c - the counters and their exposition (stats.c), the
 * requests counted where they end (iq.c) with the kind each flow of reg
 * gives them, the loop's reports (monitor.c: the stats line, STATUS=,
 * the registrations by state from the in-memory store), and the endpoint
 * (metrics.c): its answers, and libmicrohttpd serving them on a unix
 * socket, started, scraped while the counters move, and joined.
 */
#include "testutil.h"

#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "fake_store.h"
#include "fixture.h"
#include "iq.h"
#include "metrics.h"
#include "monitor.h"
#include "reg.h"
#include "stats.h"
#include "sync_env.h"
#include "version.h"

/* tests/fixtures/accounts.conf (JID accounts.example), notices to
 * ops@example, loaded by main() */
static struct conf accounts;
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

/* Two services, one with a JID that needs escaping in a label. */
static struct stats *two_services(void)
{
    static struct conf b = {.component.jid = "we\"ird\\jid"};
    static struct conf a = {.next = &b, .component.jid = "a.example"};
    struct stats *s = stats_new(&a);

    assert_non_null(s);
    return s;
}

static char *render(const struct stats *s)
{
    size_t len = 0;
    char *t = stats_render(s, &len);

    assert_non_null(t);
    assert_int_equal(strlen(t), len);
    return t;
}

/* The value of the sample series (the line's start up to its value);
 * fails when there is none. */
static double value(const char *text, const char *series)
{
    size_t n = strlen(series);

    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    fail_msg("no series %s in:\n%s", series, text);
    return -1;
}

static bool has_series(const char *text, const char *series)
{
    char line[512];

    snprintf(line, sizeof(line), "\n%s ", series);
    return strstr(text, line) != NULL;
}

/* ---- stats.c ------------------------------------------------------------- */

static void test_render(void **state)
{
    struct stats *s = two_services();
    struct stats_service *a = stats_service(s, "A.EXAMPLE"), *w;
    char *t;

    (void)state;
    w = stats_service(s, "we\"ird\\jid");
    assert_non_null(a);
    assert_non_null(w);
    assert_null(stats_service(s, "c.example"));
    assert_null(stats_service(NULL, "a.example"));
    for (int i = 0; i < 3; i++)
        stats_request(a, STATS_REGISTER, NULL);
    stats_request(a, STATS_REGISTER, "ok");
    stats_request(a, STATS_REGISTER, "conflict");
    stats_request(a, STATS_GET, "no-such-condition");
    stats_request(NULL, STATS_GET, NULL); /* not kept: nothing */
    stats_refused(a, STATS_REFUSED_DOMAIN_RATE);
    stats_refused(a, STATS_REFUSED_DOMAIN_RATE);
    stats_refused(w, STATS_REFUSED_HASHING_QUEUE);
    stats_inflight(a, 1);
    stats_inflight(a, 1);
    stats_inflight(a, -1);
    stats_set_inflight_max(a, 1024);
    stats_hashing(a, 1);
    stats_set_hashing_max(a, 32);
    stats_xmpp_attached(a);
    stats_xmpp_detached(a);
    stats_xmpp_attached(a);
    stats_xmpp_attached(w);
    stats_xmpp_detached(w);
    stats_notice_sent(a);
    stats_set_sessions(a, 7);
    stats_set_registrations(a, STORE_STATE_PENDING, 12);
    stats_db_state(s, false, 10);
    stats_db_reconnected(s);
    stats_db_queue(s, 3, 4096);
    stats_db_queue_refused(s);
    stats_transaction(s, STATS_TXN_COMMIT, 0.003, 5);
    stats_transaction(s, STATS_TXN_ERROR, 0.2, 1);
    stats_transaction(s, STATS_TXN_LOST, 9, 60);
    t = render(s);

    assert_contains(t, "# HELP registrar_requests_total ");
    assert_contains(t, "# TYPE registrar_requests_total counter\n");
    assert_int_equal(value(t, "registrar_requests_total{service=\"a.example\","
                              "kind=\"register\",outcome=\"ok\"}"),
                     4);
    assert_int_equal(value(t, "registrar_requests_total{service=\"a.example\","
                              "kind=\"register\",outcome=\"conflict\"}"),
                     1);
    assert_int_equal(value(t, "registrar_requests_total{service=\"a.example\","
                              "kind=\"get\",outcome=\"other\"}"),
                     1);
    /* ok of every kind from the start, an error once it happened */
    assert_int_equal(value(t, "registrar_requests_total{service=\"a.example\","
                              "kind=\"command\",outcome=\"ok\"}"),
                     0);
    assert_false(has_series(t, "registrar_requests_total{service=\"a.example\","
                               "kind=\"get\",outcome=\"conflict\"}"));
    /* the label escaped */
    assert_int_equal(value(t, "registrar_refusals_total{service=\"we\\\"ird\\\\"
                              "jid\",reason=\"hashing_queue\"}"),
                     1);
    assert_int_equal(value(t, "registrar_refusals_total{service=\"a.example\","
                              "reason=\"domain_rate\"}"),
                     2);
    assert_int_equal(value(t, "registrar_refusals_total{service=\"a.example\","
                              "reason=\"command_sessions\"}"),
                     0);
    assert_int_equal(
        value(t, "registrar_requests_in_flight{service=\"a.example\"}"), 1);
    assert_int_equal(
        value(t, "registrar_requests_in_flight_max{service=\"a.example\"}"),
        1024);
    assert_int_equal(
        value(t, "registrar_hashing_queue_jobs{service=\"a.example\"}"), 1);
    assert_int_equal(
        value(t, "registrar_hashing_queue_max_jobs{service=\"a.example\"}"),
        32);
    assert_int_equal(value(t, "registrar_xmpp_up{service=\"a.example\"}"), 1);
    assert_int_equal(
        value(t, "registrar_xmpp_up{service=\"we\\\"ird\\\\jid\"}"), 0);
    assert_int_equal(
        value(t, "registrar_xmpp_reconnects_total{service=\"a.example\"}"), 1);
    assert_int_equal(
        value(t,
              "registrar_xmpp_reconnects_total{service=\"we\\\"ird\\\\jid\"}"),
        0);
    assert_int_equal(
        value(t, "registrar_notices_sent_total{service=\"a.example\"}"), 1);
    assert_int_equal(
        value(t, "registrar_adhoc_sessions{service=\"a.example\"}"), 7);
    assert_int_equal(value(t, "registrar_registrations{service=\"a.example\","
                              "state=\"pending\"}"),
                     12);
    /* a state not read yet is not shown */
    assert_false(has_series(t, "registrar_registrations{service="
                               "\"a.example\",state=\"active\"}"));
    assert_int_equal(value(t, "registrar_db_up"), 0);
    assert_int_equal(value(t, "registrar_db_reconnects_total"), 1);
    assert_int_equal(value(t, "registrar_db_queue_operations"), 3);
    assert_int_equal(value(t, "registrar_db_queue_max_operations"), 4096);
    assert_int_equal(value(t, "registrar_db_queue_refusals_total"), 1);
    assert_int_equal(
        value(t, "registrar_db_transactions_total{outcome=\"commit\"}"), 1);
    assert_int_equal(
        value(t, "registrar_db_transactions_total{outcome=\"error\"}"), 1);
    assert_int_equal(
        value(t, "registrar_db_transactions_total{outcome=\"lost\"}"), 1);
    /* the histograms: cumulative, the lost transaction not in them */
    assert_contains(t, "# TYPE registrar_db_transaction_duration_seconds "
                       "histogram\n");
    assert_int_equal(value(t, "registrar_db_transaction_duration_seconds_"
                              "bucket{le=\"0.001\"}"),
                     0);
    assert_int_equal(value(t, "registrar_db_transaction_duration_seconds_"
                              "bucket{le=\"0.005\"}"),
                     1);
    assert_int_equal(value(t, "registrar_db_transaction_duration_seconds_"
                              "bucket{le=\"0.25\"}"),
                     2);
    assert_int_equal(value(t, "registrar_db_transaction_duration_seconds_"
                              "bucket{le=\"+Inf\"}"),
                     2);
    assert_int_equal(
        value(t, "registrar_db_transaction_duration_seconds_count"), 2);
    assert_float_equal(
        value(t, "registrar_db_transaction_duration_seconds_sum"), 0.203, 1e-9);
    assert_int_equal(
        value(t, "registrar_db_transaction_operations_bucket{le=\"1\"}"), 1);
    assert_int_equal(
        value(t, "registrar_db_transaction_operations_bucket{le=\"4\"}"), 1);
    assert_int_equal(
        value(t, "registrar_db_transaction_operations_bucket{le=\"8\"}"), 2);
    assert_int_equal(value(t, "registrar_db_transaction_operations_sum"), 6);
    assert_int_equal(
        value(t, "registrar_build_info{version=\"" REGISTRAR_VERSION "\"}"), 1);
    /* the process, from /proc/self */
    assert_true(value(t, "process_cpu_seconds_total") >= 0);
    assert_true(value(t, "process_resident_memory_bytes") > 1e5);
    assert_true(value(t, "process_virtual_memory_bytes") >
                value(t, "process_resident_memory_bytes"));
    assert_true(value(t, "process_start_time_seconds") > 1.6e9);
    /* started less than a minute ago (by /proc/self/stat's ticks) */
    assert_true(value(t, "process_start_time_seconds") <=
                (double)time(NULL) + 1);
    assert_true(value(t, "process_start_time_seconds") >
                (double)time(NULL) - 60);
    assert_true(value(t, "process_open_fds") >= 3);
    assert_true(value(t, "process_max_fds") >= value(t, "process_open_fds"));
    /* one HELP and one TYPE per family, the TYPE right after its HELP */
    for (const char *p = strstr(t, "# TYPE "); p;
         p = strstr(p + 1, "# TYPE ")) {
        char name[128], again[160];
        sscanf(p + 7, "%127s", name);
        snprintf(again, sizeof(again), "# TYPE %s ", name);
        assert_null(strstr(p + 1, again));
        snprintf(again, sizeof(again), "# HELP %s ", name);
        assert_non_null(strstr(t, again));
    }
    free(t);
    stats_free(s);
}

static void test_line_and_status(void **state)
{
    struct stats *s = two_services();
    struct stats_service *a = stats_service(s, "a.example");
    struct stats_totals before, after;
    char line[512], status[160];

    (void)state;
    stats_totals(s, &before);
    stats_db_status(status, sizeof(status), &before);
    assert_string_equal(status, "database up");
    for (int i = 0; i < 20; i++)
        stats_request(a, STATS_GET, NULL);
    for (int i = 0; i < 10; i++)
        stats_request(a, STATS_REGISTER, "resource-constraint");
    stats_refused(a, STATS_REFUSED_SERVICE_INFLIGHT);
    stats_inflight(a, 1);
    stats_inflight(a, 1);
    stats_xmpp_attached(a);
    stats_transaction(s, STATS_TXN_COMMIT, 0.004, 6);
    stats_transaction(s, STATS_TXN_COMMIT, 0.002, 2);
    stats_db_state(s, false, 1700000000);
    stats_totals(s, &after);
    assert_int_equal(after.requests, 30);
    assert_int_equal(after.errors, 10);
    stats_line(line, sizeof(line), &before, &after, 10);
    assert_string_equal(line, "3.0 req/s, 1.0 err/s, 0.1 refused/s, 2 in "
                              "flight, 0.2 xact/s (avg 3.0 ms, 4.0 ops), "
                              "database unreachable since 2023-11-14 "
                              "22:13:20 UTC, xmpp 1/2 attached");
    stats_db_status(status, sizeof(status), &after);
    assert_string_equal(status,
                        "database unreachable since 2023-11-14 22:13:20 UTC");
    /* a quiet interval */
    stats_line(line, sizeof(line), &after, &after, 60);
    assert_contains(line, "0.0 req/s, 0.0 err/s, 0.0 refused/s, 2 in flight, "
                          "0.0 xact/s (avg 0.0 ms, 0.0 ops)");
    stats_free(s);
}

/* A writer on this thread, readers on another: every scrape shows its
 * histogram cumulative with its _count equal to the +Inf bucket. */
struct reader {
    const struct stats *s;
    int scrapes;
    bool stop;
    pthread_mutex_t lock; /* the test's own, around stop only */
};

static void *read_loop(void *arg)
{
    struct reader *r = arg;

    for (;;) {
        char *t;
        size_t len;
        double prev = 0, inf, count;
        bool stop;

        pthread_mutex_lock(&r->lock);
        stop = r->stop;
        pthread_mutex_unlock(&r->lock);
        if (stop && r->scrapes > 0)
            return NULL;
        if (!(t = stats_render(r->s, &len)))
            return (void *)1;
        for (const char *p = strstr(t, "duration_seconds_bucket{"); p;
             p = strstr(p + 1, "duration_seconds_bucket{")) {
            double v = strtod(strchr(p, ' ') + 1, NULL);
            if (v < prev) {
                free(t);
                return (void *)2;
            }
            prev = v;
        }
        inf = prev;
        count = strtod(strstr(t, "duration_seconds_count ") + 23, NULL);
        free(t);
        if (count != inf)
            return (void *)3;
        r->scrapes++;
    }
}

static void test_concurrent_scrapes(void **state)
{
    struct stats *s = two_services();
    struct stats_service *a = stats_service(s, "a.example");
    struct reader r = {.s = s};
    pthread_t th;
    void *rc;

    (void)state;
    pthread_mutex_init(&r.lock, NULL);
    assert_int_equal(pthread_create(&th, NULL, read_loop, &r), 0);
    for (int i = 0; i < 200000; i++) {
        stats_transaction(s, STATS_TXN_COMMIT, (i % 100) / 1000.0, 1 + i % 60);
        stats_request(a, STATS_REGISTER, NULL);
        stats_inflight(a, i % 2 ? -1 : 1);
    }
    pthread_mutex_lock(&r.lock);
    r.stop = true;
    pthread_mutex_unlock(&r.lock);
    assert_int_equal(pthread_join(th, &rc), 0);
    assert_null(rc);
    assert_true(r.scrapes > 0);
    pthread_mutex_destroy(&r.lock);
    stats_free(s);
}

/* ---- iq.c: every request counted once, where it ends ------------------- */

static struct iq_req *request(const char *type)
{
    char xml[256];
    xmpp_stanza_t *iq;
    struct iq_req *req;

    snprintf(xml, sizeof(xml),
             "<iq type='%s' id='i1' from='u@example/r' to='a.example'>"
             "<command xmlns='http://jabber.org/protocol/commands'/></iq>",
             type);
    iq = tu_parse(ctx, xml);
    req = iq_req_new(iq, "a.example", &sink.sink);
    xmpp_stanza_release(iq);
    return req;
}

static void test_outcomes_counted_by_iq(void **state)
{
    struct stats *s = two_services();
    struct stats_service *a = stats_service(s, "a.example");
    struct iq_req *req;
    char *t;

    (void)state;
    for (int e = IQ_BAD_REQUEST; e <= IQ_UNEXPECTED_REQUEST; e++) {
        req = request("set");
        iq_req_count_as(req, a, STATS_COMMAND);
        iq_req_error(req, (enum iq_error)e, NULL, NULL);
        iq_req_done(req);
        tu_sink_clear(&sink);
    }
    req = request("set");
    iq_req_count_as(req, a, STATS_GET);
    iq_req_count_as(req, a, STATS_UPDATE); /* the kind as it turned out */
    iq_req_result(req, NULL);
    iq_req_done(req);
    /* a request left unanswered: its internal-server-error counts */
    req = request("set");
    iq_req_count_as(req, a, STATS_REMOVE);
    iq_req_done(req);
    /* not counted */
    req = request("get");
    iq_req_result(req, NULL);
    iq_req_done(req);
    tu_sink_clear(&sink);
    t = render(s);
    static const char *const conditions[] = {
        "bad-request",
        "conflict",
        "feature-not-implemented",
        "forbidden",
        "internal-server-error",
        "item-not-found",
        "not-acceptable",
        "not-allowed",
        "not-authorized",
        "policy-violation",
        "registration-required",
        "resource-constraint",
        "service-unavailable",
        "unexpected-request",
    };
    for (size_t i = 0; i < sizeof(conditions) / sizeof(*conditions); i++) {
        char series[256];
        snprintf(series, sizeof(series),
                 "registrar_requests_total{service=\"a.example\","
                 "kind=\"command\",outcome=\"%s\"}",
                 conditions[i]);
        assert_int_equal(value(t, series), 1);
    }
    assert_not_contains(t, "outcome=\"other\"");
    assert_int_equal(value(t, "registrar_requests_total{service=\"a.example\","
                              "kind=\"update\",outcome=\"ok\"}"),
                     1);
    assert_int_equal(value(t, "registrar_requests_total{service=\"a.example\","
                              "kind=\"get\",outcome=\"ok\"}"),
                     0);
    assert_int_equal(value(t, "registrar_requests_total{service=\"a.example\","
                              "kind=\"remove\",outcome=\"internal-server-"
                              "error\"}"),
                     1);
    free(t);
    stats_free(s);
}

/* ---- reg: the kind of each flow ------------------------------------------ */

/* One request to reg; its reply (and a notice before it, if any) in
 * sink. */
static void ask(struct reg *reg, const char *type, const char *from,
                const char *inner)
{
    char xml[4096];
    xmpp_stanza_t *iq;

    tu_sink_clear(&sink);
    snprintf(xml, sizeof(xml),
             "<iq type='%s' id='r1' from='%s' to='accounts.example'>"
             "<query xmlns='jabber:iq:register'>%s</query></iq>",
             type, from, inner);
    iq = tu_parse(ctx, xml);
    reg_handle(reg, iq_req_new(iq, "accounts.example", &sink.sink));
    xmpp_stanza_release(iq);
    assert_true(sink.nsent >= 1);
}

#define BILL "bill@shakespeare.example/globe"
#define ACCOUNT(user, pw, mail)                                                \
    "<username>" user "</username><password>" pw "</password><email>" mail     \
    "</email>"

static void test_reg_kinds(void **state)
{
    struct conf c = accounts;
    struct stats *s = stats_new(&c);
    struct reg_env env = sync_env;
    struct reg *reg;
    char *t;

    (void)state;
    c.next = NULL;
    c.limits.jid_per_minute = 1;
    c.limits.jid_burst = 4;
    env.stats = s;
    reg = reg_new(&c, fake_store(), &env);
    assert_non_null(reg);
    assert_non_null(reg_stats(reg));
    ask(reg, "get", BILL, "");
    ask(reg, "set", BILL, ACCOUNT("bill", "theglobe", "b@s.example"));
    assert_int_equal(sink.nsent, 2); /* the notice, then the result */
    ask(reg, "set", BILL, ACCOUNT("bill", "theglobe", "new@s.example"));
    ask(reg, "set", BILL, "<username>bill</username><password>p2</password>");
    assert_contains(sink.sent[0], "type=\"result\"");
    ask(reg, "set", "romeo@montague.example/x",
        ACCOUNT("Bill", "x", "r@m.example"));
    assert_contains(sink.sent[0], "<conflict");
    ask(reg, "set", BILL, "<remove/>");
    assert_contains(sink.sent[0], "type=\"result\"");
    /* bill's bucket (4) is empty: his next set is refused */
    ask(reg, "set", BILL, "<remove/>");
    assert_contains(sink.sent[0], "<policy-violation");
    t = render(s);
    static const struct {
        const char *kind, *outcome;
        int n;
    } want[] = {
        {"get", "ok", 1},
        {"register", "ok", 1},
        {"update", "ok", 1},
        {"password_change", "ok", 1},
        {"register", "conflict", 1},
        {"remove", "ok", 1},
        {"register", "policy-violation", 1},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++) {
        char series[256];
        snprintf(series, sizeof(series),
                 "registrar_requests_total{service=\"accounts.example\","
                 "kind=\"%s\",outcome=\"%s\"}",
                 want[i].kind, want[i].outcome);
        assert_int_equal(value(t, series), want[i].n);
    }
    assert_int_equal(value(t, "registrar_refusals_total{service=\"accounts."
                              "example\",reason=\"jid_rate\"}"),
                     1);
    assert_int_equal(
        value(t, "registrar_notices_sent_total{service=\"accounts.example\"}"),
        1);
    assert_int_equal(
        value(t, "registrar_requests_in_flight{service=\"accounts.example\"}"),
        0);
    assert_int_equal(
        value(t, "registrar_hashing_queue_jobs{service=\"accounts.example\"}"),
        0);
    assert_int_equal(value(t, "registrar_requests_in_flight_max{service="
                              "\"accounts.example\"}"),
                     c.limits.inflight_total);
    free(t);
    reg_free(reg);
    stats_free(s);
}

/* ---- monitor.c ----------------------------------------------------------- */

static char told[160];
static int ntold;

static void on_db_status(void *arg, const char *text)
{
    (void)arg;
    snprintf(told, sizeof(told), "%s", text);
    ntold++;
}

static void test_monitor(void **state)
{
    struct conf c = accounts;
    struct stats *s;
    struct reg_env env = sync_env;
    struct reg *reg;
    struct monitor *m;
    struct tu_capture cap;
    char *t, *log;

    (void)state;
    c.next = NULL;
    s = stats_new(&c);
    env.stats = s;
    reg = reg_new(&c, fake_store(), &env);
    ask(reg, "set", BILL, ACCOUNT("bill", "theglobe", "b@s.example"));
    ask(reg, "set", "romeo@montague.example/x",
        ACCOUNT("romeo", "x", "r@m.example"));
    m = monitor_new(&(struct monitor_env){.stats = s,
                                          .store = fake_store(),
                                          .services = &c,
                                          .now = sync_now,
                                          .db_status = on_db_status});
    assert_non_null(m);
    monitor_set_interval(m, 60);
    ntold = 0;
    /* off until the endpoint is on */
    monitor_turn(m);
    assert_int_equal(ntold, 1);
    assert_string_equal(told, "database up");
    t = render(s);
    assert_not_contains(t, "registrar_registrations{");
    free(t);
    monitor_read_states(m, true);
    monitor_turn(m);
    t = render(s);
    assert_int_equal(value(t, "registrar_registrations{service=\"accounts."
                              "example\",state=\"active\"}"),
                     2);
    assert_int_equal(value(t, "registrar_registrations{service=\"accounts."
                              "example\",state=\"disabled\"}"),
                     0);
    free(t);
    /* not again before MONITOR_STATES_S */
    ask(reg, "set", "juliet@capulet.example/x",
        ACCOUNT("juliet", "x", "j@c.example"));
    sync_clock += MONITOR_STATES_S / 2;
    monitor_turn(m);
    t = render(s);
    assert_int_equal(value(t, "registrar_registrations{service=\"accounts."
                              "example\",state=\"active\"}"),
                     2);
    free(t);
    sync_clock += MONITOR_STATES_S;
    monitor_turn(m);
    t = render(s);
    assert_int_equal(value(t, "registrar_registrations{service=\"accounts."
                              "example\",state=\"active\"}"),
                     3);
    free(t);
    /* the database's state: told once per change */
    assert_int_equal(ntold, 1);
    stats_db_state(s, false, 0);
    monitor_turn(m);
    monitor_turn(m);
    assert_int_equal(ntold, 2);
    assert_string_equal(told,
                        "database unreachable since 1970-01-01 00:00:00 UTC");
    /* unreadable: the values stay */
    fake_store_set_down(true);
    sync_clock += MONITOR_STATES_S;
    monitor_turn(m);
    fake_store_set_down(false);
    t = render(s);
    assert_int_equal(value(t, "registrar_registrations{service=\"accounts."
                              "example\",state=\"active\"}"),
                     3);
    free(t);
    /* the stats line, once the interval has passed */
    tu_capture_start(&cap);
    sync_clock += 60;
    monitor_turn(m);
    monitor_turn(m);
    log = tu_capture_end(&cap);
    /* one line, "<time> <level> stats: ..." */
    assert_contains(log, " stats: 0.0 req/s, 0.0 err/s, 0.0 refused/s, 0 in "
                         "flight, 0.0 xact/s");
    assert_contains(log, "database unreachable since 1970-01-01");
    assert_null(strstr(strstr(log, " stats: ") + 1, " stats: "));
    free(log);
    monitor_free(m);
    reg_free(reg);
    stats_free(s);
}

/* ---- metrics.c ----------------------------------------------------------- */

static void test_answers(void **state)
{
    struct stats *s = two_services();
    const char *type;
    char *body;
    size_t len;

    (void)state;
    assert_int_equal(metrics_answer(s, "GET", "/metrics", &body, &len, &type),
                     200);
    assert_string_equal(type, "text/plain; version=0.0.4; charset=utf-8");
    assert_contains(body, "# TYPE registrar_requests_total counter");
    free(body);
    assert_int_equal(metrics_answer(s, "HEAD", "/metrics", &body, &len, &type),
                     200);
    free(body);
    assert_int_equal(metrics_answer(s, "POST", "/metrics", &body, &len, &type),
                     405);
    free(body);
    assert_int_equal(metrics_answer(s, "GET", "/other", &body, &len, &type),
                     404);
    assert_string_equal(type, "text/plain; charset=utf-8");
    free(body);
    assert_int_equal(metrics_answer(s, "GET", "/", &body, &len, &type), 200);
    assert_contains(body, "/metrics");
    free(body);
    stats_free(s);
}

/* The whole answer to request on the unix socket path. */
static char *fetch(const char *path, const char *request)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    char buf[4096];
    ssize_t n;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    assert_true(strlen(path) < sizeof(sa.sun_path));
    memcpy(sa.sun_path, path, strlen(path) + 1);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(write(fd, request, strlen(request)),
                     (ssize_t)strlen(request));
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        fwrite(buf, 1, (size_t)n, f);
    close(fd);
    fclose(f);
    return out;
}

static void test_served(void **state)
{
    struct stats *s = two_services();
    char dir[] = "/tmp/registrar-metrics.XXXXXX", path[128];
    struct metrics *m;
    struct stat st;
    char *r;
    int fd;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/metrics.sock", dir);
    /* a socket file left by an earlier run is replaced */
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        memcpy(sa.sun_path, path, strlen(path) + 1);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    }
    close(fd);
    m = metrics_start(path, s);
    assert_non_null(m);
    stats_request(stats_service(s, "a.example"), STATS_REGISTER, NULL);
    r = fetch(path, "GET /metrics HTTP/1.0\r\n\r\n");
    assert_contains(r, " 200 OK\r\n");
    assert_contains(r, "Content-Type: text/plain; version=0.0.4; "
                       "charset=utf-8\r\n");
    assert_contains(r, "registrar_requests_total{service=\"a.example\","
                       "kind=\"register\",outcome=\"ok\"} 1\n");
    assert_contains(r, "process_open_fds ");
    free(r);
    r = fetch(path, "DELETE /metrics HTTP/1.0\r\n\r\n");
    assert_contains(r, " 405 ");
    assert_contains(r, "Allow: GET, HEAD\r\n");
    free(r);
    r = fetch(path, "GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: "
                    "close\r\n\r\n");
    assert_contains(r, " 404 ");
    free(r);
    metrics_stop(m); /* its thread joined: ASan sees no leak */
    assert_int_equal(stat(path, &st), -1);
    rmdir(dir);
    /* an address that cannot be had */
    assert_null(metrics_start("127.0.0.1:notaport", s));
    assert_null(metrics_start("/nonexistent-dir/registrar.sock", s));
    stats_free(s);
}

static void test_served_tcp(void **state)
{
    struct stats *s = two_services();
    struct metrics *m, *again;

    (void)state;
    /* port 0: any free one; the loopback only */
    m = metrics_start("127.0.0.1:0", s);
    assert_non_null(m);
    metrics_stop(m);
    m = metrics_start("[::1]:0", s);
    if (m) /* a host without IPv6 cannot: nothing to test then */
        metrics_stop(m);
    /* a port taken: refused, logged */
    m = metrics_start("127.0.0.1:45321", s);
    if (m) {
        again = metrics_start("127.0.0.1:45321", s);
        assert_null(again);
        metrics_stop(m);
    }
    stats_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_line_and_status),
        cmocka_unit_test(test_concurrent_scrapes),
        cmocka_unit_test_setup_teardown(test_outcomes_counted_by_iq, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reg_kinds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_monitor, setup, teardown),
        cmocka_unit_test(test_answers),
        cmocka_unit_test(test_served),
        cmocka_unit_test(test_served_tcp),
    };
    accounts = fixture_conf("accounts", "    notify_jids = {\"ops@example\"}");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
