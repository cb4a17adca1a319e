/*
 * stats.h - the process's counters and gauges: what the metrics endpoint
 * (metrics.c) serves and the periodic stats line (monitor.c) sums up.
 *
 * Written on the event loop, read from any thread without a lock: every
 * value is a C11 atomic, written with relaxed stores and increments (each
 * is a count or a level of its own, and a scrape needs no snapshot across
 * them), so a reader never makes the loop wait and the loop never waits
 * for a reader.  The services and their JIDs are fixed by stats_new() (a
 * reload cannot add or remove one), so a reader walks them without a lock
 * too.
 *
 * Per service (the component JID: bounded by the configuration), the
 * requests by kind and outcome, the refusals by reason, the levels (in
 * flight, hashing queue, ad-hoc sessions, the link), notices, and the
 * registrations by state as last read; per process, the database's state,
 * its queue and its transactions.  No JID of a user is ever kept.
 *
 * Every writer takes NULL (stats not kept, as in the unit tests of other
 * modules): nothing is counted.  Pure, but for stats_render(), which
 * reads /proc/self for the process_* metrics.
 */
#ifndef REGISTRAR_STATS_H
#define REGISTRAR_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf.h"
#include "store.h"

/* What a request asked: the label kind of registrar_requests_total. */
enum stats_kind {
    STATS_GET,             /* jabber:iq:register get */
    STATS_REGISTER,        /* a set of registration data, not (known to
                            * be) an update */
    STATS_UPDATE,          /* the same, of a registration on file */
    STATS_PASSWORD_CHANGE, /* legacy or jabber:iq:register:changepassword */
    STATS_REMOVE,          /* <remove/> or the cancel form */
    STATS_COMMAND,         /* an ad-hoc command request (XEP-0050) */
    STATS_NKINDS
};

/* Why a request was refused before any work was done for it: the label
 * reason of registrar_refusals_total. */
enum stats_refusal {
    STATS_REFUSED_JID_RATE,         /* rate limit: the JID's bucket */
    STATS_REFUSED_DOMAIN_RATE,      /* the remote domain's bucket */
    STATS_REFUSED_SERVICE_RATE,     /* the service's bucket */
    STATS_REFUSED_JID_INFLIGHT,     /* in-flight cap per bare JID */
    STATS_REFUSED_SERVICE_INFLIGHT, /* in-flight cap of the service */
    STATS_REFUSED_HASHING_QUEUE,    /* the service's share of the hashing
                                     * queue full (or stopping) */
    STATS_REFUSED_MEMORY,           /* no memory to take the request */
    STATS_REFUSED_COMMAND_RATE,     /* an ad-hoc execute over a rate */
    STATS_REFUSED_COMMAND_SESSIONS, /* no ad-hoc session could be had */
    STATS_NREFUSALS
};

/* How a transaction of the store ended. */
enum stats_txn {
    STATS_TXN_COMMIT, /* committed */
    STATS_TXN_ERROR,  /* an error rolled it back */
    STATS_TXN_LOST,   /* the connection broke or the server went silent
                       * with it in flight */
    STATS_NTXN
};

/* Messages to users (messages.c): the label kind of
 * registrar_messages_sent_total. */
enum stats_message {
    STATS_MESSAGE_WELCOME,   /* after a registration */
    STATS_MESSAGE_ACTIVATED, /* the registration became active */
    STATS_MESSAGE_DISABLED,  /* it became disabled */
    STATS_NMESSAGES
};

/* Why entries left a service's cache of registered gets (store_cache.h):
 * the label reason of registrar_cache_evictions_total. */
enum stats_cache_drop {
    STATS_CACHE_CAPACITY, /* the least recently used, over the cap */
    STATS_CACHE_CHANGED,  /* its registration changed (a write, an event) */
    STATS_CACHE_RESET,    /* emptied: the database's connection lost, an
                           * event gone from the log */
    STATS_NCACHE_DROPS
};

struct stats;
struct stats_service;

/* The stats of the services of the chain from conf (JIDs copied; the
 * chain is not kept).  Caller owns the result (stats_free).  NULL when
 * out of memory. */
struct stats *stats_new(const struct conf *services);
void stats_free(struct stats *s);

/* The service whose component JID is jid (compared case-insensitively),
 * or NULL (s NULL, or no such service).  Borrowed from s. */
struct stats_service *stats_service(struct stats *s, const char *jid);

/* ---- per service, on the loop (svc may be NULL) ------------------------ */

/* A request answered: outcome is NULL or "ok" for a result, else the
 * condition of the error (a name stats does not know counts as
 * "other"). */
void stats_request(struct stats_service *svc, enum stats_kind kind,
                   const char *outcome);
void stats_refused(struct stats_service *svc, enum stats_refusal why);
/* Requests taken and not yet answered: delta +1 or -1; the cap (0:
 * none). */
void stats_inflight(struct stats_service *svc, int delta);
void stats_set_inflight_max(struct stats_service *svc, unsigned max);
/* Jobs of the service on the hashing worker: delta +1 or -1; its share
 * of the queue (0: no bound). */
void stats_hashing(struct stats_service *svc, int delta);
void stats_set_hashing_max(struct stats_service *svc, unsigned max);
/* The link to the XMPP server: attached (every attach after the first
 * counts as a reconnect), or not. */
void stats_xmpp_attached(struct stats_service *svc);
void stats_xmpp_detached(struct stats_service *svc);
/* A message sent to a notify_jids entry. */
void stats_notice_sent(struct stats_service *svc);
/* A message of kind sent to a user (messages.c). */
void stats_message_sent(struct stats_service *svc, enum stats_message kind);
/* Ad-hoc command sessions open. */
void stats_set_sessions(struct stats_service *svc, unsigned n);
/* The registrations of the service in state, as the database said. */
void stats_set_registrations(struct stats_service *svc, enum store_state state,
                             unsigned long n);

/* The cache of registered gets: a lookup answered from it (hit) or not
 * (miss: read from the database); n entries dropped for why; its entries
 * and its cap (limits.cache_entries). */
void stats_cache_lookup(struct stats_service *svc, bool hit);
void stats_cache_dropped(struct stats_service *svc, enum stats_cache_drop why,
                         unsigned n);
void stats_cache_entries(struct stats_service *svc, unsigned n, unsigned max);

/* ---- the process, on the loop (s may be NULL) -------------------------- */

/* The database: reachable, or not since down_since (wall clock). */
void stats_db_state(struct stats *s, bool up, time_t down_since);
/* A connection to the database made after the first one. */
void stats_db_reconnected(struct stats *s);
/* The store's queue: operations submitted and not answered, and its
 * bound; an operation refused at once because it was full. */
void stats_db_queue(struct stats *s, unsigned depth, unsigned max);
void stats_db_queue_refused(struct stats *s);
/* A transaction that ended as how, after seconds in flight, with ops
 * operations (the histograms take committed and failed ones; a lost one
 * is only counted). */
void stats_transaction(struct stats *s, enum stats_txn how, double seconds,
                       unsigned ops);

/* ---- reading, from any thread ------------------------------------------ */

/* The Prometheus text exposition format (version 0.0.4) of everything,
 * the process_* metrics from /proc/self included.  Caller frees the text
 * (*len bytes, NUL-terminated).  NULL when out of memory. */
char *stats_render(const struct stats *s, size_t *len);

/* Sums over the services, for the stats line. */
struct stats_totals {
    uint64_t requests, errors; /* answered; with an error */
    uint64_t refusals;         /* of every reason, the store's queue's too */
    int64_t inflight;
    uint64_t transactions; /* every end */
    double txn_seconds;    /* committed and failed ones */
    uint64_t txn_ops, txn_timed;
    size_t services, attached;
    bool db_up;
    time_t db_down_since;
};
void stats_totals(const struct stats *s, struct stats_totals *t);
/* Only the database's fields of t (db_up, db_down_since), the rest 0: two
 * loads, for a caller that looks every turn of the loop. */
void stats_db_totals(const struct stats *s, struct stats_totals *t);

/* The stats line (PgBouncer's "stats: ...", logged by the module
 * "stats"): the rates between prev and now, seconds apart, and the levels
 * of now, into buf (cut between characters when too small). */
void stats_line(char *buf, size_t size, const struct stats_totals *prev,
                const struct stats_totals *now, double seconds);

/* The database's part of systemd's STATUS=: "database up" or "database
 * unreachable since 2024-05-01 12:00:00 UTC". */
void stats_db_status(char *buf, size_t size, const struct stats_totals *t);

#endif
