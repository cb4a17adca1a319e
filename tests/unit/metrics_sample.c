/*
 * metrics_sample.c - prints the metrics of a process with every series
 * there is (two services, every kind, outcome and reason counted, every
 * level set, transactions of every end, a database down), as GET /metrics
 * serves them: tests/unit/promtool_check.sh holds it to Prometheus'
 * format and naming rules with promtool check metrics.
 */
#include <stdio.h>
#include <stdlib.h>

#include "stats.h"

int main(void)
{
    static struct conf b = {.component.jid = "news.example"};
    static struct conf a = {.next = &b, .component.jid = "quiz.example"};
    static const char *const outcomes[] = {
        NULL,
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
        "no-such-condition",
    };
    struct stats *s = stats_new(&a);
    char *text;
    size_t len;

    if (!s)
        return 1;
    for (const struct conf *c = &a; c; c = c->next) {
        struct stats_service *v = stats_service(s, c->component.jid);

        for (int k = 0; k < STATS_NKINDS; k++)
            for (size_t o = 0; o < sizeof(outcomes) / sizeof(*outcomes); o++)
                stats_request(v, (enum stats_kind)k, outcomes[o]);
        for (int r = 0; r < STATS_NREFUSALS; r++)
            stats_refused(v, (enum stats_refusal)r);
        stats_inflight(v, 3);
        stats_set_inflight_max(v, 1024);
        stats_hashing(v, 2);
        stats_set_hashing_max(v, 32);
        stats_xmpp_attached(v);
        stats_xmpp_attached(v);
        stats_notice_sent(v);
        for (int m = 0; m < STATS_NMESSAGES; m++)
            stats_message_sent(v, (enum stats_message)m);
        stats_set_sessions(v, 4);
        for (int st = 0; st < STORE_NSTATES; st++)
            stats_set_registrations(v, (enum store_state)st, 10u + st);
        stats_cache_lookup(v, true);
        stats_cache_lookup(v, false);
        for (int d = 0; d < STATS_NCACHE_DROPS; d++)
            stats_cache_dropped(v, (enum stats_cache_drop)d, 2);
        stats_cache_entries(v, 5, 10000);
    }
    stats_db_state(s, false, 1700000000);
    stats_db_reconnected(s);
    stats_db_queue(s, 5, 4096);
    stats_db_queue_refused(s);
    stats_transaction(s, STATS_TXN_COMMIT, 0.0042, 7);
    stats_transaction(s, STATS_TXN_ERROR, 1.5, 60);
    stats_transaction(s, STATS_TXN_LOST, 7, 1);
    if (!(text = stats_render(s, &len)))
        return 1;
    fwrite(text, 1, len, stdout);
    free(text);
    stats_free(s);
    return 0;
}
