/*
 * store_cache.h - the registered gets' cache: per service, what a read of
 * (service, bare JID) answered (a registration, or none), at most a
 * configured number of entries, the least recently used out first; kept
 * coherent with the event log (registration_events) through what the
 * store tells it.  Plain C: no libpq, no XMPP; store_notify.c drives it
 * from the store's connection, and the unit tests drive it by hand.
 *
 * Coherence rests on two numbers and one rule of the schema: event ids
 * are drawn under one lock held to the commit (doc/backend.md), so once
 * an event of id N is known committed, every event below N is committed
 * or gone, and visible to any read issued after.
 *   horizon  the highest event id known committed (this instance's
 *            writes, the notifications, the reads of the log): a read
 *            issued now sees every event up to it.  An entry holds the
 *            horizon of its read's issue as its version: it reflects
 *            every event up to it, and only a later event of its key
 *            drops it.
 *   applied  every event up to it was applied (its entry dropped).
 * A notification of a commit that is not this instance's own (known by
 * its id and count: store_cache_committed) leaves the cache unusable
 * (every lookup a miss) until the log has been read from applied past it;
 * so is a new connection until the read that follows it.  A read issued
 * before a change of its key was applied (a write of this instance
 * answered, or the log's row read) keeps nothing: every drop leaves a
 * mark on its key (a generation in a table of marks indexed by the key's
 * hash; a collision costs a fill, never a stale one).
 *
 * Everything runs on the thread that owns the store.
 */
#ifndef REGISTRAR_STORE_CACHE_H
#define REGISTRAR_STORE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Rows the read of the log asks for at a time (LIMIT). */
#define STORE_CACHE_READ_MAX 1000

struct store_cache;
struct stats_service;

/* An empty cache of no service.  Caller owns it (store_cache_free); NULL
 * when out of memory. */
struct store_cache *store_cache_new(void);
void store_cache_free(struct store_cache *c);

/* The service (copied) gets a cache of at most cap entries (0: none);
 * again for the same service: the new cap, the entries over it evicted.
 * svc (borrowed, NULL: none) is where its counters go (stats.h).  False
 * when out of memory (the service then has none). */
bool store_cache_service(struct store_cache *c, const char *service,
                         unsigned cap, struct stats_service *svc);

/* Whether some service has a cache (the store LISTENs only then). */
bool store_cache_on(const struct store_cache *c);

/* What a read carries from its issue to its answer. */
struct store_cache_ticket {
    uint64_t gen; /* the generation of marks at its issue */
    long long horizon;
};

enum store_cache_look {
    STORE_CACHE_OFF,  /* the service has no cache: read, keep nothing */
    STORE_CACHE_HIT,  /* *st and *rec answer */
    STORE_CACHE_MISS, /* read with *ticket, then store_cache_fill() */
};

/* Looks (service, jid) up.  On a hit, *st is STORE_OK with *rec a copy the
 * caller owns (store_record_clear; its password_hash is always NULL and
 * claim_matches false), or STORE_NOT_FOUND with *rec untouched.  On a
 * miss, *ticket is filled.  A hit or a miss is counted. */
enum store_cache_look store_cache_get(struct store_cache *c,
                                      const char *service, const char *jid,
                                      enum store_status *st,
                                      struct store_record *rec,
                                      struct store_cache_ticket *ticket);

/* The answer of a read issued with ticket: STORE_OK with rec (borrowed;
 * its password_hash is not kept), or STORE_NOT_FOUND, is kept unless a
 * change of the key (or an emptying) was applied since the ticket; any
 * other status keeps nothing. */
void store_cache_fill(struct store_cache *c, const char *service,
                      const char *jid, const struct store_cache_ticket *ticket,
                      enum store_status st, const struct store_record *rec);

/* A write of this instance to (service, jid) committed, or may have: its
 * entry goes.  event_id: the event it wrote (0: none or not known). */
void store_cache_wrote(struct store_cache *c, const char *service,
                       const char *jid, long long event_id);

/* Whether service has a cache (a put then carries an image). */
bool store_cache_has(const struct store_cache *c, const char *service);

/* What a put of this instance writes to its row, as registrar_get reads
 * it back (store_sql.c builds it from what it sends).  Owns everything. */
struct store_cache_image {
    char *username;          /* NULL: none */
    struct form_data fields; /* var -> values, as read back */
    enum store_state state;  /* a creation's (an update keeps the row's) */
    char **keep;             /* the vars an update keeps from the row when */
    size_t nkeep;            /* fields lacks them (store_put) */
};

/* Frees img and what it holds (NULL: nothing). */
void store_cache_image_free(struct store_cache_image *img);

/* Write-through: a put of this instance committed (not in doubt), a
 * creation or an update, its event event_id (0: it changed nothing).
 * A creation's entry is img (the row did not exist: it reflects every
 * event of its key up to event_id); an update's is img over the entry it
 * had (its state and the kept fields from there), which keeps that
 * entry's version: an event of another between the two, not yet applied,
 * still drops it.  No entry to build on (an update of a key not cached):
 * as store_cache_wrote.  img is borrowed. */
void store_cache_put_through(struct store_cache *c, const char *service,
                             const char *jid, long long event_id, bool created,
                             const struct store_cache_image *img);

/* Write-through of a removal of this instance that committed (not in
 * doubt) with event event_id: the entry says "no registration" as of it
 * (0: as store_cache_wrote). */
void store_cache_removed(struct store_cache *c, const char *service,
                         const char *jid, long long event_id);

/* A transaction of this instance committed with n events of its own
 * known, the highest max_id (n 0: none known): its notification is then
 * known for this instance's own. */
void store_cache_committed(struct store_cache *c, long long max_id, unsigned n);

/* A notification on the channel registrar, its payload as sent
 * ({"id": N, "count": C}).  One that cannot be read empties the cache. */
void store_cache_notified(struct store_cache *c, const char *payload);

/* Whether the log must be read before the cache answers again, and how:
 * the events after *after, in id order (tip false), or only where the log
 * ends (tip true: nothing cached to drop).  Then store_cache_read_sent()
 * when it went out; its rows through store_cache_read_row() (for a tip,
 * one row with service and jid NULL and the highest id, 0: none), then
 * store_cache_read_done() (rows: how many), or store_cache_read_failed()
 * when it failed (the cache is emptied), or store_cache_read_lost() when
 * it never ran (it is wanted again). */
bool store_cache_read_wanted(const struct store_cache *c, long long *after,
                             bool *tip);
void store_cache_read_sent(struct store_cache *c, bool tip);
void store_cache_read_row(struct store_cache *c, const char *service,
                          const char *jid, long long id);
void store_cache_read_done(struct store_cache *c, size_t rows);
void store_cache_read_failed(struct store_cache *c);
void store_cache_read_lost(struct store_cache *c);

/* The connection is gone (or was never made): every entry goes, and the
 * next connection reads the log before the cache answers. */
void store_cache_reset(struct store_cache *c);

/* ---- what it holds, for the tests and the docs ------------------------- */

struct store_cache_figures {
    unsigned entries, cap;
    uint64_t hits, misses;
    uint64_t evicted_capacity; /* least recently used, over the cap */
    uint64_t evicted_changed;  /* a change of the key applied */
    uint64_t evicted_reset;    /* emptied: a lost connection, a read that
                                * failed or found an event gone */
    size_t bytes;              /* the entries' allocations */
    long long horizon, applied;
    bool usable; /* nothing waits to be read from the log */
};

/* False when the service has no cache. */
bool store_cache_figures(const struct store_cache *c, const char *service,
                         struct store_cache_figures *f);

#endif
