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

#endif
