/*
 * store_listen.c - the cache of registered gets (store_cache.h) on the
 * store's connection: LISTEN registrar with the session's settings, the
 * notifications read with everything else the server sends, the read of
 * the event log pipelined into the next transaction, the cached get, and
 * the write-through of this store's writes; and, for store_set_notify,
 * the same LISTEN telling its callback of each notification and of each
 * new connection.
 *
 * Nothing here waits or sends a transaction of its own: the read of the
 * log goes out first in the next transaction the queue sends (a get that
 * finds the cache unusable is queued, so it sends one), and until it is
 * answered every get is read from the database.  Knows no statement but
 * the read's, and nothing of XMPP.
 */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "stats.h"
#include "store_cache.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* The events after $1, in id order, as many as the cache reads at once;
 * or only where the log ends (nothing cached to drop). */
static const char read_sql[] =
    "SELECT service, jid, id FROM registration_events WHERE id > $1::bigint"
    " ORDER BY id LIMIT " STR(STORE_CACHE_READ_MAX);
static const char tip_sql[] =
    "SELECT NULL::text, NULL::text, coalesce(max(id), 0)"
    "  FROM registration_events";

bool store_set_cache(struct store *s, const char *service, unsigned entries)
{
    if (!s->cache && entries == 0)
        return true;
    if (!s->cache && !(s->cache = store_cache_new()))
        return false;
    return store_cache_service(s->cache, service, entries,
                               stats_service(s->stats, service));
}

bool store_listen_wanted(const struct store *s)
{
    return store_cache_on(s->cache) || s->notify_cb;
}

void store_set_notify(struct store *s, store_notify_cb cb, void *arg)
{
    s->notify_cb = cb;
    s->notify_arg = arg;
}

void store_listen_connected(struct store *s)
{
    if (s->notify_cb && s->listening)
        s->notify_cb(s->notify_arg, NULL);
}

bool store_listen_read_due(const struct store *s)
{
    long long after;
    bool tip;

    /* a connection made now LISTENs; one made before a cache was set
     * never reads (the cache stays unusable: every get a miss) */
    return (s->listening || s->cs == CONN_NONE) &&
           store_cache_read_wanted(s->cache, &after, &tip);
}

/* ---- the read of the log ---------------------------------------------------
 */

bool store_listen_send_read(struct store *s)
{
    long long after;
    bool tip;
    char param[24];
    const char *params[1] = {param};

    if (!s->listening || !store_cache_read_wanted(s->cache, &after, &tip))
        return true;
    snprintf(param, sizeof(param), "%lld", after);
    if (!PQsendQueryParams(s->conn, tip ? tip_sql : read_sql, tip ? 0 : 1, NULL,
                           tip ? NULL : params, NULL, NULL, 0))
        return false;
    s->slots[s->nslots++] = (struct slot){
        .what = "the cache's read of the event log", .events = true};
    store_cache_read_sent(s->cache, tip);
    log_debug("store", "the cache reads the event log %s %lld",
              tip ? "to its end from" : "after", after);
    return true;
}

void store_listen_read_result(struct store *s, const PGresult *res)
{
    int rows = PQntuples(res);

    for (int i = 0; i < rows; i++)
        store_cache_read_row(
            s->cache, PQgetisnull(res, i, 0) ? NULL : PQgetvalue(res, i, 0),
            PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1),
            strtoll(PQgetvalue(res, i, 2), NULL, 10));
    store_cache_read_done(s->cache, (size_t)rows);
}

void store_listen_read_ended(struct store *s, bool failed)
{
    if (!s->cache)
        return;
    if (failed) {
        log_warn("store", "the cache's read of the event log failed: the "
                          "cache is emptied");
        store_cache_read_failed(s->cache);
    } else {
        store_cache_read_lost(s->cache);
    }
}

/* ---- notifications, commits, writes, the connection ---------------------- */

void store_listen_drain(struct store *s)
{
    PGnotify *n;

    while (s->conn && (n = PQnotifies(s->conn))) {
        if (strcmp(n->relname, "registrar") == 0) {
            if (s->cache)
                store_cache_notified(s->cache, n->extra);
            if (s->notify_cb)
                s->notify_cb(s->notify_arg, n->extra);
        }
        PQfreemem(n);
    }
}

void store_listen_answered(struct store *s, const struct job *j)
{
    /* committed, and known to be this attempt's */
    bool sure = j->st == STORE_OK && !j->in_doubt;

    /* every write takes service and jid first */
    if (!s->cache || !j->op->event || j->np < 2)
        return;
    if (sure && j->image)
        store_cache_put_through(s->cache, j->p[0], j->p[1], j->event_id,
                                j->created, j->image);
    else if (sure && j->op->event_removed)
        store_cache_removed(s->cache, j->p[0], j->p[1], j->event_id);
    else
        store_cache_wrote(s->cache, j->p[0], j->p[1], j->event_id);
}

void store_listen_committed(struct store *s, const struct job *list)
{
    long long max_id = 0;
    unsigned n = 0;

    if (!s->cache)
        return;
    for (const struct job *j = list; j; j = j->next)
        if (j->op->event && j->event_id > 0) {
            n++;
            if (j->event_id > max_id)
                max_id = j->event_id;
        }
    store_cache_committed(s->cache, max_id, n);
}

void store_listen_closed(struct store *s)
{
    s->listening = false;
    if (s->cache)
        store_cache_reset(s->cache);
}

/* ---- the cached get ---------------------------------------------------------
 */

struct cached_get {
    struct store *s;
    store_get_cb cb;
    void *arg;
    struct store_cache_ticket ticket;
    char *service, *jid;
};

static void on_read(void *arg, enum store_status st, struct store_record *rec)
{
    struct cached_get *g = arg;

    if (g->s->cache)
        store_cache_fill(g->s->cache, g->service, g->jid, &g->ticket, st, rec);
    if (rec && rec->password_hash) { /* for a reply only */
        explicit_bzero(rec->password_hash, strlen(rec->password_hash));
        free(rec->password_hash);
        rec->password_hash = NULL;
    }
    g->cb(g->arg, st, rec);
    free(g->service);
    free(g->jid);
    free(g);
}

/* Where a get goes: the reader with the fewest operations in hand, or
 * the store's own connection when it has none. */
static struct store *reader(struct store *s)
{
    struct store *best = NULL;

    if (!s->attached)
        return s;
    for (unsigned i = 0; i < s->nreaders; i++)
        if (!best || s->readers[i]->queued < best->queued)
            best = s->readers[i];
    return best ? best : s;
}

/* What the server sent while the connection is idle (notifications, or
 * its end) is read now: a notification that arrived before this get is
 * seen by it.  False when the connection is broken (the loop finds out;
 * the cache is not used meanwhile). */
static bool read_idle(struct store *s)
{
    if (s->cs != CONN_READY)
        return true; /* in a transaction, the server holds notifications */
    if (!PQconsumeInput(s->conn))
        return false;
    store_listen_drain(s);
    return true;
}

void store_get_cached(struct store *s, const char *service, const char *jid,
                      store_get_cb cb, void *arg)
{
    struct store_record rec = {0};
    enum store_status st;
    struct store_cache_ticket ticket;
    struct cached_get *g;

    if (!s->attached || !s->cache || !service || !jid || !read_idle(s)) {
        store_get(reader(s), service, jid, NULL, cb, arg);
        return;
    }
    switch (store_cache_get(s->cache, service, jid, &st, &rec, &ticket)) {
    case STORE_CACHE_OFF:
        store_get(reader(s), service, jid, NULL, cb, arg);
        return;
    case STORE_CACHE_HIT:
        cb(arg, st, st == STORE_OK ? &rec : NULL);
        store_record_clear(&rec);
        return;
    case STORE_CACHE_MISS:
        break;
    }
    if (!(g = calloc(1, sizeof(*g))) || !(g->service = strdup(service)) ||
        !(g->jid = strdup(jid))) {
        if (g)
            free(g->service);
        free(g);
        cb(arg, STORE_ERROR, NULL);
        return;
    }
    *g = (struct cached_get){.s = s,
                             .cb = cb,
                             .arg = arg,
                             .ticket = ticket,
                             .service = g->service,
                             .jid = g->jid};
    /* the ticket was taken before this goes out, on whichever connection:
     * what any connection reads afterwards is at least that new */
    store_get(reader(s), service, jid, NULL, on_read, g);
}
