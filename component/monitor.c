/*
 * monitor.c - the loop's reports of itself (monitor.h): the stats line,
 * the database's part of STATUS=, the registrations by state.
 *
 * The stats line sums up the interval since the last one: requests,
 * errors (refusals included: they are answered with an error) and
 * refusals per second, requests in flight, transactions per second with
 * their mean time and size, and the state of the database and of the
 * links; the rates come from the counters of stats.h, so a line costs no
 * bookkeeping on the requests' path.
 */
#include "monitor.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

/* One service's count of registrations, in flight or not. */
struct reading {
    struct monitor *m;
    struct stats_service *svc;
    const char *jid; /* borrowed from the boot chain */
};

struct monitor {
    struct monitor_env env;
    unsigned interval;
    double line_at; /* when the last line's interval began */
    struct stats_totals last;
    char db[160]; /* the database's part of STATUS= last told */
    bool read_states;
    double read_at;   /* the next read, not before */
    size_t pending;   /* counts asked, not answered yet */
    bool unavailable; /* the last reading failed (logged once) */
    struct reading *readings;
    size_t nreadings;
};

struct monitor *monitor_new(const struct monitor_env *env)
{
    struct monitor *m = calloc(1, sizeof(*m));
    size_t n = 0;

    if (!m)
        return NULL;
    m->env = *env;
    for (const struct conf *c = env->services; c; c = c->next)
        n++;
    if (n && !(m->readings = calloc(n, sizeof(*m->readings)))) {
        free(m);
        return NULL;
    }
    for (const struct conf *c = env->services; c; c = c->next)
        m->readings[m->nreadings++] =
            (struct reading){.m = m,
                             .svc = stats_service(env->stats, c->component.jid),
                             .jid = c->component.jid};
    m->line_at = env->now();
    stats_totals(env->stats, &m->last);
    return m;
}

void monitor_free(struct monitor *m)
{
    if (!m)
        return;
    if (m->pending)
        log_error("monitor", "BUG: freed with %zu count(s) pending",
                  m->pending);
    free(m->readings);
    free(m);
}

void monitor_set_interval(struct monitor *m, unsigned seconds)
{
    if (seconds != m->interval) {
        m->interval = seconds;
        m->line_at = m->env.now();
        stats_totals(m->env.stats, &m->last);
    }
}

void monitor_read_states(struct monitor *m, bool on)
{
    m->read_states = on;
}

static void on_states(void *arg, enum store_status st,
                      const unsigned long *counts)
{
    struct reading *r = arg;
    struct monitor *m = r->m;

    m->pending--;
    if (st != STORE_OK) {
        /* the last values stay: the metrics say how old they may be */
        if (!m->unavailable)
            log_info("monitor",
                     "cannot read the registrations of %s by state (%s): "
                     "the metrics keep the last values read",
                     r->jid, store_status_name(st));
        m->unavailable = true;
        return;
    }
    m->unavailable = false;
    for (size_t k = 0; k < STORE_NSTATES; k++)
        stats_set_registrations(r->svc, (enum store_state)k, counts[k]);
}

static void read_states(struct monitor *m, double now)
{
    if (!m->read_states || m->pending || now < m->read_at)
        return;
    m->read_at = now + MONITOR_STATES_S;
    m->pending = m->nreadings; /* an unattached store answers at once */
    for (size_t i = 0; i < m->nreadings; i++)
        store_count_states(m->env.store, m->readings[i].jid, on_states,
                           &m->readings[i]);
}

void monitor_turn(struct monitor *m)
{
    double now = m->env.now();
    struct stats_totals t;
    char text[sizeof(m->db)];

    stats_db_totals(m->env.stats, &t);
    stats_db_status(text, sizeof(text), &t);
    if (strcmp(text, m->db) != 0) {
        memcpy(m->db, text, sizeof(m->db));
        if (m->env.db_status)
            m->env.db_status(m->env.arg, m->db);
    }
    if (m->interval && now - m->line_at >= m->interval) {
        char line[512];

        stats_totals(m->env.stats, &t);
        stats_line(line, sizeof(line), &m->last, &t, now - m->line_at);
        log_info("stats", "%s", line);
        m->last = t;
        m->line_at = now;
    }
    read_states(m, now);
}
