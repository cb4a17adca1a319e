/*
 * stats.c - the counters and gauges of stats.h, their Prometheus text
 * exposition, the process_* metrics read from /proc/self, and the stats
 * line.
 *
 * One writer (the event loop), any number of readers (the metrics
 * thread): every value is an atomic written with relaxed order.  A
 * histogram keeps a count per bucket (not cumulative): a reader loads
 * each once and adds them up, so the buckets it shows never decrease
 * along le and its _count is its +Inf bucket, whatever the writer does
 * meanwhile.  No lock anywhere.
 */
#include "stats.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include "text.h"
#include "version.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the names of the labels ------------------------------------------- */

static const char *const kind_names[STATS_NKINDS] = {
    [STATS_GET] = "get",       [STATS_REGISTER] = "register",
    [STATS_UPDATE] = "update", [STATS_PASSWORD_CHANGE] = "password_change",
    [STATS_REMOVE] = "remove", [STATS_COMMAND] = "command",
};

static const char *const refusal_names[STATS_NREFUSALS] = {
    [STATS_REFUSED_JID_RATE] = "jid_rate",
    [STATS_REFUSED_DOMAIN_RATE] = "domain_rate",
    [STATS_REFUSED_SERVICE_RATE] = "service_rate",
    [STATS_REFUSED_JID_INFLIGHT] = "jid_inflight",
    [STATS_REFUSED_SERVICE_INFLIGHT] = "service_inflight",
    [STATS_REFUSED_HASHING_QUEUE] = "hashing_queue",
    [STATS_REFUSED_MEMORY] = "memory",
    [STATS_REFUSED_COMMAND_RATE] = "command_rate",
    [STATS_REFUSED_COMMAND_SESSIONS] = "command_sessions",
};

static const char *const message_names[STATS_NMESSAGES] = {
    [STATS_MESSAGE_WELCOME] = "welcome",
    [STATS_MESSAGE_ACTIVATED] = "activated",
    [STATS_MESSAGE_DISABLED] = "disabled",
};

static const char *const cache_drop_names[STATS_NCACHE_DROPS] = {
    [STATS_CACHE_CAPACITY] = "capacity",
    [STATS_CACHE_CHANGED] = "changed",
    [STATS_CACHE_RESET] = "reset",
};

static const char *const txn_names[STATS_NTXN] = {
    [STATS_TXN_COMMIT] = "commit",
    [STATS_TXN_ERROR] = "error",
    [STATS_TXN_LOST] = "lost",
};

/* "ok", the stanza error conditions of RFC 6120 section 8.3.3, "other"
 * (last): a bounded set of label values, whatever a reply carries. */
static const char *const outcome_names[] = {
    "ok",
    "bad-request",
    "conflict",
    "feature-not-implemented",
    "forbidden",
    "gone",
    "internal-server-error",
    "item-not-found",
    "jid-malformed",
    "not-acceptable",
    "not-allowed",
    "not-authorized",
    "policy-violation",
    "recipient-unavailable",
    "redirect",
    "registration-required",
    "remote-server-not-found",
    "remote-server-timeout",
    "resource-constraint",
    "service-unavailable",
    "subscription-required",
    "undefined-condition",
    "unexpected-request",
    "other",
};
#define NOUTCOMES N(outcome_names)

/* Upper bounds of the buckets (+Inf after the last). */
static const double duration_bounds[] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
/* a transaction holds at most 60 operations (store.c's BATCH_MAX) */
static const double ops_bounds[] = {1, 2, 4, 8, 16, 32, 60};

/* ---- the counters ------------------------------------------------------ */

typedef _Atomic uint64_t counter;
typedef _Atomic int64_t level;

struct stats_service {
    char *jid;
    counter requests[STATS_NKINDS][NOUTCOMES];
    counter refusals[STATS_NREFUSALS];
    level inflight, inflight_max;
    level hashing, hashing_max;
    level xmpp_up;
    counter xmpp_attaches; /* every attach; reconnects: all but the first */
    counter notices;
    counter messages[STATS_NMESSAGES];
    level sessions;
    level registrations[STORE_NSTATES]; /* -1: not read yet */
    counter cache_hits, cache_misses;
    counter cache_drops[STATS_NCACHE_DROPS];
    level cache_entries, cache_max;
};

struct histogram {
    counter buckets[16]; /* per bucket, not cumulative; the last: +Inf */
    counter sum;         /* in the histogram's unit (ns for durations) */
};

struct stats {
    struct stats_service *svc;
    size_t n;
    level db_up, db_down_since;
    counter db_reconnects;
    level db_queue, db_queue_max;
    counter db_queue_refusals;
    counter txns[STATS_NTXN];
    struct histogram duration, ops;
};

_Static_assert(N(duration_bounds) < 16 && N(ops_bounds) < 16,
               "a histogram has room for 15 bounds and +Inf");

struct stats *stats_new(const struct conf *services)
{
    struct stats *s = calloc(1, sizeof(*s));
    size_t n = 0;

    if (!s)
        return NULL;
    for (const struct conf *c = services; c; c = c->next)
        n++;
    if (n && !(s->svc = calloc(n, sizeof(*s->svc)))) {
        free(s);
        return NULL;
    }
    for (const struct conf *c = services; c; c = c->next) {
        struct stats_service *v = &s->svc[s->n++];

        if (!(v->jid = strdup(c->component.jid))) {
            stats_free(s);
            return NULL;
        }
        for (size_t k = 0; k < STORE_NSTATES; k++)
            atomic_init(&v->registrations[k], -1);
    }
    atomic_init(&s->db_up, 1);
    return s;
}

void stats_free(struct stats *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->svc[i].jid);
    free(s->svc);
    free(s);
}

struct stats_service *stats_service(struct stats *s, const char *jid)
{
    for (size_t i = 0; s && jid && i < s->n; i++)
        if (strcasecmp(s->svc[i].jid, jid) == 0)
            return &s->svc[i];
    return NULL;
}

static void add(counter *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static void set(level *l, int64_t v)
{
    atomic_store_explicit(l, v, memory_order_relaxed);
}

static void move(level *l, int64_t delta)
{
    atomic_fetch_add_explicit(l, delta, memory_order_relaxed);
}

static uint64_t get(const counter *c)
{
    return atomic_load_explicit((counter *)c, memory_order_relaxed);
}

static int64_t val(const level *l)
{
    return atomic_load_explicit((level *)l, memory_order_relaxed);
}

/* ---- per service ----------------------------------------------------- */

static size_t outcome_index(const char *outcome)
{
    if (!outcome)
        return 0;
    for (size_t i = 0; i < NOUTCOMES - 1; i++)
        if (strcmp(outcome_names[i], outcome) == 0)
            return i;
    return NOUTCOMES - 1;
}

void stats_request(struct stats_service *svc, enum stats_kind kind,
                   const char *outcome)
{
    if (svc && kind < STATS_NKINDS)
        add(&svc->requests[kind][outcome_index(outcome)], 1);
}

void stats_refused(struct stats_service *svc, enum stats_refusal why)
{
    if (svc && why < STATS_NREFUSALS)
        add(&svc->refusals[why], 1);
}

void stats_inflight(struct stats_service *svc, int delta)
{
    if (svc)
        move(&svc->inflight, delta);
}

void stats_set_inflight_max(struct stats_service *svc, unsigned max)
{
    if (svc)
        set(&svc->inflight_max, max);
}

void stats_hashing(struct stats_service *svc, int delta)
{
    if (svc)
        move(&svc->hashing, delta);
}

void stats_set_hashing_max(struct stats_service *svc, unsigned max)
{
    if (svc)
        set(&svc->hashing_max, max);
}

void stats_xmpp_attached(struct stats_service *svc)
{
    if (!svc)
        return;
    set(&svc->xmpp_up, 1);
    add(&svc->xmpp_attaches, 1);
}

void stats_xmpp_detached(struct stats_service *svc)
{
    if (svc)
        set(&svc->xmpp_up, 0);
}

void stats_notice_sent(struct stats_service *svc)
{
    if (svc)
        add(&svc->notices, 1);
}

void stats_message_sent(struct stats_service *svc, enum stats_message kind)
{
    if (svc && kind < STATS_NMESSAGES)
        add(&svc->messages[kind], 1);
}

void stats_set_sessions(struct stats_service *svc, unsigned n)
{
    if (svc)
        set(&svc->sessions, n);
}

void stats_set_registrations(struct stats_service *svc, enum store_state state,
                             unsigned long n)
{
    if (svc && (size_t)state < STORE_NSTATES)
        set(&svc->registrations[state], (int64_t)n);
}

void stats_cache_lookup(struct stats_service *svc, bool hit)
{
    if (svc)
        add(hit ? &svc->cache_hits : &svc->cache_misses, 1);
}

void stats_cache_dropped(struct stats_service *svc, enum stats_cache_drop why,
                         unsigned n)
{
    if (svc && why < STATS_NCACHE_DROPS)
        add(&svc->cache_drops[why], n);
}

void stats_cache_entries(struct stats_service *svc, unsigned n, unsigned max)
{
    if (!svc)
        return;
    set(&svc->cache_entries, n);
    set(&svc->cache_max, max);
}

/* ---- the process ------------------------------------------------------- */

void stats_db_state(struct stats *s, bool up, time_t down_since)
{
    if (!s)
        return;
    set(&s->db_down_since, up ? 0 : (int64_t)down_since);
    set(&s->db_up, up);
}

void stats_db_reconnected(struct stats *s)
{
    if (s)
        add(&s->db_reconnects, 1);
}

void stats_db_queue(struct stats *s, unsigned depth, unsigned max)
{
    if (!s)
        return;
    set(&s->db_queue, depth);
    set(&s->db_queue_max, max);
}

void stats_db_queue_refused(struct stats *s)
{
    if (s)
        add(&s->db_queue_refusals, 1);
}

/* unit: what one of h->sum stands for (1e-9: ns) */
static void observe(struct histogram *h, const double *bounds, size_t n,
                    double unit, double v)
{
    size_t i = 0;

    while (i < n && v > bounds[i])
        i++;
    add(&h->sum, (uint64_t)(v / unit + 0.5));
    add(&h->buckets[i], 1);
}

void stats_transaction(struct stats *s, enum stats_txn how, double seconds,
                       unsigned ops)
{
    if (!s || how >= STATS_NTXN)
        return;
    if (how != STATS_TXN_LOST) {
        observe(&s->duration, duration_bounds, N(duration_bounds), 1e-9,
                seconds < 0 ? 0 : seconds);
        observe(&s->ops, ops_bounds, N(ops_bounds), 1, ops);
    }
    add(&s->txns[how], 1);
}

/* ---- the text exposition ----------------------------------------------- */

struct out {
    char *s;
    size_t len, cap;
    bool oom;
};

static void put(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (o->oom)
        return;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(o->s + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->oom = true;
            return;
        }
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = o->cap * 2 + (size_t)n;
        char *p = realloc(o->s, cap);
        if (!p) {
            o->oom = true;
            return;
        }
        o->s = p;
        o->cap = cap;
    }
}

/* A family's HELP and TYPE lines. */
static void family(struct out *o, const char *name, const char *type,
                   const char *help)
{
    put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: \, " and newline escaped (a JID has none of them as
 * servers prepare it, but a configuration may say anything). */
static void put_label(struct out *o, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            put(o, "\\%c", *v);
        else if (*v == '\n')
            put(o, "\\n");
        else
            put(o, "%c", *v);
    }
}

/* name{service="JID"[,extra]} */
static void put_service(struct out *o, const char *name,
                        const struct stats_service *v)
{
    put(o, "%s{service=\"", name);
    put_label(o, v->jid);
    put(o, "\"");
}

static void put_level(struct out *o, const char *name,
                      const struct stats_service *v, const level *l)
{
    put_service(o, name, v);
    put(o, "} %" PRId64 "\n", val(l));
}

static void put_count(struct out *o, const char *name,
                      const struct stats_service *v, const counter *c)
{
    put_service(o, name, v);
    put(o, "} %" PRIu64 "\n", get(c));
}

static void put_histogram(struct out *o, const char *name,
                          const struct histogram *h, const double *bounds,
                          size_t n, double unit)
{
    uint64_t cum = 0;

    for (size_t i = 0; i <= n; i++) {
        cum += get(&h->buckets[i]);
        if (i < n)
            put(o, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name, bounds[i], cum);
        else
            put(o, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cum);
    }
    put(o, "%s_sum %.9g\n%s_count %" PRIu64 "\n", name,
        (double)get(&h->sum) * unit, name, cum);
}

static void render_services(struct out *o, const struct stats *s)
{
    family(o, "registrar_requests_total", "counter",
           "Requests answered, by kind and outcome (ok, or the XMPP error "
           "condition).");
    for (size_t i = 0; i < s->n; i++)
        for (size_t k = 0; k < STATS_NKINDS; k++)
            for (size_t x = 0; x < NOUTCOMES; x++) {
                uint64_t c = get(&s->svc[i].requests[k][x]);
                if (x && !c)
                    continue; /* an error outcome once it happened */
                put_service(o, "registrar_requests_total", &s->svc[i]);
                put(o, ",kind=\"%s\",outcome=\"%s\"} %" PRIu64 "\n",
                    kind_names[k], outcome_names[x], c);
            }
    family(o, "registrar_refusals_total", "counter",
           "Requests refused at once, by reason: a rate bucket, an "
           "in-flight cap, a full queue.");
    for (size_t i = 0; i < s->n; i++)
        for (size_t r = 0; r < STATS_NREFUSALS; r++) {
            put_service(o, "registrar_refusals_total", &s->svc[i]);
            put(o, ",reason=\"%s\"} %" PRIu64 "\n", refusal_names[r],
                get(&s->svc[i].refusals[r]));
        }
    static const struct {
        const char *name, *help;
        size_t at;
        bool counter;
    } plain[] = {
        {"registrar_requests_in_flight", "Requests taken and not yet answered.",
         offsetof(struct stats_service, inflight), false},
        {"registrar_requests_in_flight_max",
         "The cap on requests in flight (limits.inflight_total; 0: none).",
         offsetof(struct stats_service, inflight_max), false},
        {"registrar_hashing_queue_jobs",
         "bcrypt jobs of the service queued or running on the hashing "
         "threads.",
         offsetof(struct stats_service, hashing), false},
        {"registrar_hashing_queue_max_jobs",
         "The service's share of the hashing queue.",
         offsetof(struct stats_service, hashing_max), false},
        {"registrar_xmpp_up", "1 while attached to the XMPP server.",
         offsetof(struct stats_service, xmpp_up), false},
        {"registrar_notices_sent_total",
         "Messages sent to notify_jids about new registrations.",
         offsetof(struct stats_service, notices), true},
        {"registrar_adhoc_sessions", "Ad-hoc command sessions open.",
         offsetof(struct stats_service, sessions), false},
        {"registrar_cache_hits_total",
         "Registered gets answered from the cache.",
         offsetof(struct stats_service, cache_hits), true},
        {"registrar_cache_misses_total",
         "Registered gets the cache could not answer (read from the "
         "database).",
         offsetof(struct stats_service, cache_misses), true},
        {"registrar_cache_entries", "Entries in the cache of registered gets.",
         offsetof(struct stats_service, cache_entries), false},
        {"registrar_cache_max_entries",
         "The cap on the cache's entries (limits.cache_entries; 0: no "
         "cache).",
         offsetof(struct stats_service, cache_max), false},
    };
    for (size_t p = 0; p < N(plain); p++) {
        family(o, plain[p].name, plain[p].counter ? "counter" : "gauge",
               plain[p].help);
        for (size_t i = 0; i < s->n; i++) {
            const char *base = (const char *)&s->svc[i] + plain[p].at;
            if (plain[p].counter)
                put_count(o, plain[p].name, &s->svc[i],
                          (const counter *)(const void *)base);
            else
                put_level(o, plain[p].name, &s->svc[i],
                          (const level *)(const void *)base);
        }
    }
    family(o, "registrar_messages_sent_total", "counter",
           "Messages sent to users, by kind: welcome (after a "
           "registration), activated, disabled (a state change).");
    for (size_t i = 0; i < s->n; i++)
        for (size_t k = 0; k < STATS_NMESSAGES; k++) {
            put_service(o, "registrar_messages_sent_total", &s->svc[i]);
            put(o, ",kind=\"%s\"} %" PRIu64 "\n", message_names[k],
                get(&s->svc[i].messages[k]));
        }
    family(o, "registrar_cache_evictions_total", "counter",
           "Entries that left the cache, by reason: capacity (least "
           "recently used), changed (its registration), reset (emptied).");
    for (size_t i = 0; i < s->n; i++)
        for (size_t r = 0; r < STATS_NCACHE_DROPS; r++) {
            put_service(o, "registrar_cache_evictions_total", &s->svc[i]);
            put(o, ",reason=\"%s\"} %" PRIu64 "\n", cache_drop_names[r],
                get(&s->svc[i].cache_drops[r]));
        }
    family(o, "registrar_xmpp_reconnects_total", "counter",
           "Attaches to the XMPP server after the first.");
    for (size_t i = 0; i < s->n; i++) {
        uint64_t n = get(&s->svc[i].xmpp_attaches);
        put_service(o, "registrar_xmpp_reconnects_total", &s->svc[i]);
        put(o, "} %" PRIu64 "\n", n ? n - 1 : 0);
    }
    family(o, "registrar_registrations", "gauge",
           "Registrations by state, as last read from the database (every "
           "few seconds).");
    for (size_t i = 0; i < s->n; i++)
        for (size_t k = 0; k < STORE_NSTATES; k++) {
            int64_t n = val(&s->svc[i].registrations[k]);
            if (n < 0)
                continue; /* not read yet */
            put_service(o, "registrar_registrations", &s->svc[i]);
            put(o, ",state=\"%s\"} %" PRId64 "\n",
                store_state_name((enum store_state)k), n);
        }
}

static void render_db(struct out *o, const struct stats *s)
{
    family(o, "registrar_db_up", "gauge",
           "1 while the database is reachable (0 from a failed attempt to "
           "the next success).");
    put(o, "registrar_db_up %" PRId64 "\n", val(&s->db_up));
    family(o, "registrar_db_reconnects_total", "counter",
           "Connections to the database made after the first.");
    put(o, "registrar_db_reconnects_total %" PRIu64 "\n",
        get(&s->db_reconnects));
    family(o, "registrar_db_queue_operations", "gauge",
           "Store operations submitted and not answered yet.");
    put(o, "registrar_db_queue_operations %" PRId64 "\n", val(&s->db_queue));
    family(o, "registrar_db_queue_max_operations", "gauge",
           "The bound of the store's queue.");
    put(o, "registrar_db_queue_max_operations %" PRId64 "\n",
        val(&s->db_queue_max));
    family(o, "registrar_db_queue_refusals_total", "counter",
           "Store operations refused at once because its queue was full.");
    put(o, "registrar_db_queue_refusals_total %" PRIu64 "\n",
        get(&s->db_queue_refusals));
    family(o, "registrar_db_transactions_total", "counter",
           "Transactions of the store, by how they ended.");
    for (size_t t = 0; t < STATS_NTXN; t++)
        put(o, "registrar_db_transactions_total{outcome=\"%s\"} %" PRIu64 "\n",
            txn_names[t], get(&s->txns[t]));
    family(o, "registrar_db_transaction_duration_seconds", "histogram",
           "Time from a transaction's send to its end (committed or "
           "failed).");
    put_histogram(o, "registrar_db_transaction_duration_seconds", &s->duration,
                  duration_bounds, N(duration_bounds), 1e-9);
    family(o, "registrar_db_transaction_operations", "histogram",
           "Operations per transaction (committed or failed).");
    put_histogram(o, "registrar_db_transaction_operations", &s->ops, ops_bounds,
                  N(ops_bounds), 1);
}

/* ---- process_*, from /proc/self ---------------------------------------- */

/* The fields of /proc/self/stat after the command (field 3 on); false
 * when unreadable. */
static bool proc_stat(unsigned long long *utime, unsigned long long *stime,
                      unsigned long long *start, unsigned long long *vsize,
                      long long *rss)
{
    char buf[1024], *p;
    FILE *f = fopen("/proc/self/stat", "re");
    size_t n;

    if (!f)
        return false;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    if (!(p = strrchr(buf, ')')))
        return false;
    /* 3 state ... 14 utime 15 stime ... 22 starttime 23 vsize 24 rss */
    return sscanf(p + 2,
                  "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
                  "%*d %*d %*d %*d %*d %*d %llu %llu %lld",
                  utime, stime, start, vsize, rss) == 5;
}

/* When the process started, in seconds since the epoch, from its start
 * in clock ticks since the boot (/proc/self/stat, on CLOCK_BOOTTIME since
 * Linux 5.3): not /proc/stat's btime, which a unit with ProcSubset=pid
 * (registrar.service) cannot read.  0 when unknown. */
static double start_time(unsigned long long start_ticks, long tick)
{
    struct timespec boot, now;

    if (clock_gettime(CLOCK_BOOTTIME, &boot) != 0 ||
        clock_gettime(CLOCK_REALTIME, &now) != 0)
        return 0;
    return (double)now.tv_sec + now.tv_nsec / 1e9 -
           ((double)boot.tv_sec + boot.tv_nsec / 1e9) +
           (double)start_ticks / (double)tick;
}

/* Descriptors open (the one reading the directory not counted); -1 when
 * unreadable. */
static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    long n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1;
}

static void render_process(struct out *o)
{
    unsigned long long utime, stime, start, vsize;
    long long rss;
    long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    long fds = open_fds();
    struct rlimit rl;

    if (tick > 0 && page > 0 &&
        proc_stat(&utime, &stime, &start, &vsize, &rss)) {
        family(o, "process_cpu_seconds_total", "counter",
               "Total user and system CPU time spent in seconds.");
        put(o, "process_cpu_seconds_total %.2f\n",
            (double)(utime + stime) / (double)tick);
        family(o, "process_resident_memory_bytes", "gauge",
               "Resident memory size in bytes.");
        put(o, "process_resident_memory_bytes %lld\n", rss * page);
        family(o, "process_virtual_memory_bytes", "gauge",
               "Virtual memory size in bytes.");
        put(o, "process_virtual_memory_bytes %llu\n", vsize);
        family(o, "process_start_time_seconds", "gauge",
               "Start time of the process since unix epoch in seconds.");
        put(o, "process_start_time_seconds %.2f\n", start_time(start, tick));
    }
    if (fds >= 0) {
        family(o, "process_open_fds", "gauge",
               "Number of open file descriptors.");
        put(o, "process_open_fds %ld\n", fds);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        family(o, "process_max_fds", "gauge",
               "Maximum number of open file descriptors.");
        put(o, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
    }
}

char *stats_render(const struct stats *s, size_t *len)
{
    struct out o = {.cap = 16384};

    if (!(o.s = malloc(o.cap)))
        return NULL;
    o.s[0] = '\0';
    family(&o, "registrar_build_info", "gauge",
           "The version of registrar running, as a label; always 1.");
    put(&o, "registrar_build_info{version=\"%s\"} 1\n", REGISTRAR_VERSION);
    render_services(&o, s);
    render_db(&o, s);
    render_process(&o);
    if (o.oom) {
        free(o.s);
        return NULL;
    }
    *len = o.len;
    return o.s;
}

/* ---- the stats line ---------------------------------------------------- */

void stats_totals(const struct stats *s, struct stats_totals *t)
{
    *t = (struct stats_totals){.services = s->n};
    for (size_t i = 0; i < s->n; i++) {
        const struct stats_service *v = &s->svc[i];

        for (size_t k = 0; k < STATS_NKINDS; k++)
            for (size_t x = 0; x < NOUTCOMES; x++) {
                uint64_t c = get(&v->requests[k][x]);
                t->requests += c;
                t->errors += x ? c : 0;
            }
        for (size_t r = 0; r < STATS_NREFUSALS; r++)
            t->refusals += get(&v->refusals[r]);
        t->inflight += val(&v->inflight);
        t->attached += val(&v->xmpp_up) != 0;
    }
    t->refusals += get(&s->db_queue_refusals);
    for (size_t x = 0; x < STATS_NTXN; x++)
        t->transactions += get(&s->txns[x]);
    t->txn_seconds = get(&s->duration.sum) / 1e9;
    t->txn_ops = get(&s->ops.sum);
    for (size_t i = 0; i < N(s->duration.buckets); i++)
        t->txn_timed += get(&s->duration.buckets[i]);
    t->db_up = val(&s->db_up) != 0;
    t->db_down_since = (time_t)val(&s->db_down_since);
}

void stats_db_totals(const struct stats *s, struct stats_totals *t)
{
    *t = (struct stats_totals){
        .db_up = val(&s->db_up) != 0,
        .db_down_since = (time_t)val(&s->db_down_since),
    };
}

static double per_s(uint64_t now, uint64_t prev, double seconds)
{
    return seconds > 0 && now >= prev ? (double)(now - prev) / seconds : 0;
}

void stats_db_status(char *buf, size_t size, const struct stats_totals *t)
{
    struct tm tm;
    char when[32];

    if (t->db_up) {
        text_format(buf, size, "database up");
        return;
    }
    if (!gmtime_r(&t->db_down_since, &tm) ||
        !strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf(when, sizeof(when), "(unknown)");
    text_format(buf, size, "database unreachable since %s", when);
}

void stats_line(char *buf, size_t size, const struct stats_totals *prev,
                const struct stats_totals *now, double seconds)
{
    uint64_t timed = now->txn_timed - prev->txn_timed;
    char db[96];

    stats_db_status(db, sizeof(db), now);
    text_format(
        buf, size,
        "%.1f req/s, %.1f err/s, %.1f refused/s, %" PRId64
        " in flight, %.1f xact/s (avg %.1f ms, %.1f ops), %s, xmpp %zu/%zu "
        "attached",
        per_s(now->requests, prev->requests, seconds),
        per_s(now->errors, prev->errors, seconds),
        per_s(now->refusals, prev->refusals, seconds), now->inflight,
        per_s(now->transactions, prev->transactions, seconds),
        timed ? (now->txn_seconds - prev->txn_seconds) * 1000 / (double)timed
              : 0,
        timed ? (double)(now->txn_ops - prev->txn_ops) / (double)timed : 0, db,
        now->attached, now->services);
}
