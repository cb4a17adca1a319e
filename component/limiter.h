/*
 * limiter.h - token-bucket rate limits for registration sets: per bare JID,
 * per remote domain and for the whole service.  Pure: the caller passes
 * the time, so tests need no clock.
 *
 * The domain bucket applies only to domains other than the local ones:
 * users of the attached server are authenticated accounts, each held by
 * its own JID bucket (and the service bucket), so a few of them cannot
 * lock the rest of their domain out; a remote server can mint JIDs at
 * will, so its whole domain shares one bucket.
 *
 * Beside them, a tally: a count of refusals (or any event that comes in
 * floods) reported at most once per interval, so that a flood costs one
 * log line a second, with its count, and no count is lost.
 */
#ifndef REGISTRAR_LIMITER_H
#define REGISTRAR_LIMITER_H

#include <stdbool.h>

#include "conf.h"

struct limiter;

/* l and local_domains (may be NULL: no local domain) are copied.  Caller
 * owns the result (limiter_free).  NULL when out of memory. */
struct limiter *limiter_new(const struct conf_limits *l,
                            const struct conf_list *local_domains);
void limiter_free(struct limiter *lim);

/* Takes one token from each bucket that bare_jid and its domain (when
 * not local) draw on at time now (seconds, monotonic).  False when any bucket
 * is empty (then none is charged); *which (may be NULL) names it: "jid",
 * "domain" or "service", and *retry_s says when a token will be back. */
bool limiter_take(struct limiter *lim, const char *bare_jid, double now,
                  const char **which, double *retry_s);

/* How many per-JID and per-domain buckets are held (tests, metrics). */
unsigned limiter_size(const struct limiter *lim);

/* Events of one kind, reported at most once per interval: the first of a
 * quiet spell at once, those that follow within the interval counted
 * and reported together once it has passed, at the next event or the
 * next limiter_tally_due().  Zero-initialised: nothing reported yet. */
struct limiter_tally {
    unsigned long pending; /* counted, not yet reported */
    unsigned long total;   /* every event since the start */
    double reported_at;    /* when the last report was due */
    bool reported;         /* reported_at is set */
};

/* Counts one event at now (seconds, monotonic).  True when a report is
 * due now: *count (not NULL) gets the events it covers (this one
 * included), which are no longer pending. */
bool limiter_tally_add(struct limiter_tally *t, double now, double interval,
                       unsigned long *count);

/* True when events are pending and interval has passed since the last
 * report: *count gets them, as above.  For a caller that sees time pass
 * without events (the next request, a periodic call). */
bool limiter_tally_due(struct limiter_tally *t, double now, double interval,
                       unsigned long *count);

#endif
