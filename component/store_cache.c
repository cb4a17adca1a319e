/*
 * store_cache.c - the registered gets' cache (store_cache.h): per service
 * a hash table of entries on a list from the most to the least recently
 * used, and, for every service, the event log's bookkeeping (horizon,
 * applied, the notifications not yet read, the marks of changed keys).
 *
 * An entry is one allocation: its JID, username, disabled reason and
 * field values packed after it.  No password hash is kept (a registered
 * get does not show one); the hashes of other text-private fields are in
 * the fields as the database holds them.
 */
#include "store_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "stats.h"

/* The marks of changed keys: a generation per slot, by the key's hash. */
#define NMARKS 4096
/* Commits of this instance remembered, to know their notifications. */
#define NOWN 64
/* Notifications of others waiting for the log's read; past this, the
 * read that follows empties the cache instead of checking each. */
#define NPENDING 256
/* Ids of the rows the reads returned, the latest, to check the
 * notifications that arrive after the read that had their rows. */
#define NSEEN 4096

struct entry {
    struct entry *hnext;       /* in its bucket */
    struct entry *prev, *next; /* prev: more recently used */
    long long version;         /* every event up to it is reflected */
    uint32_t hash;             /* of the JID */
    bool found;                /* false: no registration */
    enum store_state state;
    size_t size;                         /* the allocation's */
    const char *jid, *username, *reason; /* into data; NULL: none */
    unsigned nitems;                     /* fields, packed after them */
    const char *fields;
    char data[];
};

struct svc {
    char *service;
    unsigned cap, n;
    struct entry **buckets;
    size_t nbuckets; /* a power of 2; 0: none yet */
    struct entry *mru, *lru;
    struct stats_service *stats;
    struct store_cache_figures fig; /* the counters (entries, cap, bytes
                                     * kept in n, cap and bytes here) */
};

struct own {
    long long max_id;
    unsigned n;
};

struct store_cache {
    struct svc *svcs;
    size_t nsvcs;
    long long horizon, applied;
    /* every entry reflects every event up to it, and fills issued before
     * it were refused (a read of the log's end) */
    long long tip_floor;
    uint64_t gen, reset_gen;
    uint64_t marks[NMARKS];
    struct own own[NOWN];
    unsigned nown; /* written so far; the ring holds the last NOWN */
    long long pending[NPENDING];
    unsigned npending;
    bool overflow; /* notifications dropped from pending */
    bool resync;   /* a new connection: the log must be read */
    /* the read in flight */
    bool reading, reading_tip, reading_resync;
    unsigned reading_npending;
    long long reading_max;
    bool reading_gone;
    /* the rows read, sorted: seen[(seen_at + i) % NSEEN], i < nseen */
    long long seen[NSEEN];
    unsigned seen_at, nseen;
};

/* ---- hashing and the marks ---------------------------------------------- */

static uint32_t fnv(uint32_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

static uint32_t jid_hash(const char *jid)
{
    return fnv(2166136261u, jid);
}

static uint64_t *mark_of(struct store_cache *c, const char *service,
                         const char *jid)
{
    uint32_t h = fnv(fnv(2166136261u, service) * 16777619u, jid);

    return &c->marks[h % NMARKS];
}

static void mark(struct store_cache *c, const char *service, const char *jid)
{
    *mark_of(c, service, jid) = ++c->gen;
}

static void raise_horizon(struct store_cache *c, long long id)
{
    if (id > c->horizon)
        c->horizon = id;
}

/* ---- services ------------------------------------------------------------ */

struct store_cache *store_cache_new(void)
{
    struct store_cache *c = calloc(1, sizeof(*c));

    if (c)
        c->resync = true; /* nothing read yet */
    return c;
}

static struct svc *svc_of(const struct store_cache *c, const char *service)
{
    for (size_t i = 0; c && service && i < c->nsvcs; i++)
        if (strcmp(c->svcs[i].service, service) == 0)
            return &c->svcs[i];
    return NULL;
}

static void publish(struct svc *v)
{
    stats_cache_entries(v->stats, v->n, v->cap);
}

enum why {
    WHY_CAPACITY,
    WHY_CHANGED,
    WHY_RESET,
};

static void unlink_entry(struct svc *v, struct entry *e)
{
    struct entry **b = &v->buckets[e->hash & (v->nbuckets - 1)];

    while (*b != e)
        b = &(*b)->hnext;
    *b = e->hnext;
    if (e->prev)
        e->prev->next = e->next;
    else
        v->mru = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        v->lru = e->prev;
    v->n--;
    v->fig.bytes -= e->size;
}

/* Values may include hashes of private fields. */
static void entry_free(struct entry *e)
{
    explicit_bzero(e->data, e->size - sizeof(*e));
    free(e);
}

static void drop(struct svc *v, struct entry *e, enum why why)
{
    unlink_entry(v, e);
    entry_free(e);
    switch (why) {
    case WHY_CAPACITY:
        v->fig.evicted_capacity++;
        stats_cache_dropped(v->stats, STATS_CACHE_CAPACITY, 1);
        break;
    case WHY_CHANGED:
        v->fig.evicted_changed++;
        stats_cache_dropped(v->stats, STATS_CACHE_CHANGED, 1);
        break;
    case WHY_RESET:
        v->fig.evicted_reset++;
        stats_cache_dropped(v->stats, STATS_CACHE_RESET, 1);
        break;
    }
}

static void empty_svc(struct svc *v, enum why why)
{
    while (v->lru)
        drop(v, v->lru, why);
    publish(v);
}

static void svc_free(struct svc *v)
{
    empty_svc(v, WHY_RESET);
    free(v->buckets);
    free(v->service);
}

void store_cache_free(struct store_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nsvcs; i++)
        svc_free(&c->svcs[i]);
    free(c->svcs);
    free(c);
}

bool store_cache_service(struct store_cache *c, const char *service,
                         unsigned cap, struct stats_service *stats)
{
    struct svc *v = svc_of(c, service), *grown;

    if (!v) {
        if (!(grown = realloc(c->svcs, (c->nsvcs + 1) * sizeof(*grown))))
            return false;
        c->svcs = grown;
        v = &c->svcs[c->nsvcs];
        *v = (struct svc){0};
        if (!(v->service = strdup(service)))
            return false;
        c->nsvcs++;
    }
    v->cap = cap;
    v->stats = stats;
    while (v->n > cap)
        drop(v, v->lru, WHY_CAPACITY);
    publish(v);
    return true;
}

bool store_cache_on(const struct store_cache *c)
{
    for (size_t i = 0; c && i < c->nsvcs; i++)
        if (c->svcs[i].cap > 0)
            return true;
    return false;
}

/* ---- entries --------------------------------------------------------------
 */

static struct entry *find(const struct svc *v, const char *jid, uint32_t h)
{
    if (!v->nbuckets)
        return NULL;
    for (struct entry *e = v->buckets[h & (v->nbuckets - 1)]; e; e = e->hnext)
        if (e->hash == h && strcmp(e->jid, jid) == 0)
            return e;
    return NULL;
}

static void to_front(struct svc *v, struct entry *e)
{
    if (v->mru == e)
        return;
    /* unlink from the list (e is not first: e->prev is set) */
    e->prev->next = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        v->lru = e->prev;
    e->prev = NULL;
    e->next = v->mru;
    v->mru->prev = e;
    v->mru = e;
}

/* Room for one more in the buckets (one entry per bucket on average). */
static bool grow(struct svc *v)
{
    size_t n = v->nbuckets ? v->nbuckets * 2 : 64;
    struct entry **b;

    if (v->n < v->nbuckets)
        return true;
    if (!(b = calloc(n, sizeof(*b))))
        return v->nbuckets > 0; /* keep the load higher */
    for (size_t i = 0; i < v->nbuckets; i++)
        for (struct entry *e = v->buckets[i], *next; e; e = next) {
            next = e->hnext;
            e->hnext = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    free(v->buckets);
    v->buckets = b;
    v->nbuckets = n;
    return true;
}

/* Appends s and its NUL at *at; returns where it went. */
static const char *pack(char **at, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = *at;

    memcpy(p, s, n);
    *at += n;
    return p;
}

/* A new entry of rec (NULL: no registration), not linked. */
static struct entry *entry_of(const char *jid, const struct store_record *rec)
{
    size_t size = sizeof(struct entry) + strlen(jid) + 1;
    struct entry *e;
    char *at;

    if (rec) {
        if (rec->username)
            size += strlen(rec->username) + 1;
        if (rec->disabled_reason)
            size += strlen(rec->disabled_reason) + 1;
        for (size_t i = 0; i < rec->fields.n; i++) {
            const struct form_value *fv = &rec->fields.items[i];

            /* the count of values, the var, the values */
            size += 2 + strlen(fv->var) + 1;
            for (size_t k = 0; k < fv->nvalues; k++)
                size += strlen(fv->values[k]) + 1;
        }
    }
    if (!(e = calloc(1, size)))
        return NULL;
    e->size = size;
    at = e->data;
    e->jid = pack(&at, jid);
    if (!rec)
        return e;
    e->found = true;
    e->state = rec->state;
    e->username = rec->username ? pack(&at, rec->username) : NULL;
    e->reason = rec->disabled_reason ? pack(&at, rec->disabled_reason) : NULL;
    e->fields = at;
    e->nitems = (unsigned)rec->fields.n;
    for (size_t i = 0; i < rec->fields.n; i++) {
        const struct form_value *fv = &rec->fields.items[i];
        unsigned char count[2] = {(unsigned char)(fv->nvalues >> 8),
                                  (unsigned char)fv->nvalues};

        memcpy(at, count, 2);
        at += 2;
        pack(&at, fv->var);
        for (size_t k = 0; k < fv->nvalues; k++)
            pack(&at, fv->values[k]);
    }
    return e;
}

/* *rec from e; false when out of memory (rec cleared). */
static bool record_of(const struct entry *e, const char *service,
                      struct store_record *rec)
{
    const char *at = e->fields;

    *rec = (struct store_record){.state = e->state};
    if (!(rec->service = strdup(service)) || !(rec->jid = strdup(e->jid)) ||
        (e->username && !(rec->username = strdup(e->username))) ||
        (e->reason && !(rec->disabled_reason = strdup(e->reason))))
        goto oom;
    for (unsigned i = 0; i < e->nitems; i++) {
        const unsigned char *count = (const unsigned char *)at;
        size_t nvalues = (size_t)count[0] << 8 | count[1];
        struct form_value *fv;

        at += 2;
        if (!(fv = form_data_entry(&rec->fields, at)))
            goto oom;
        at += strlen(at) + 1;
        for (size_t k = 0; k < nvalues; k++) {
            if (!form_value_append(fv, at))
                goto oom;
            at += strlen(at) + 1;
        }
    }
    return true;
oom:
    store_record_clear(rec);
    return false;
}

static bool usable(const struct store_cache *c)
{
    return !c->resync && c->npending == 0 && !c->overflow;
}

enum store_cache_look store_cache_get(struct store_cache *c,
                                      const char *service, const char *jid,
                                      enum store_status *st,
                                      struct store_record *rec,
                                      struct store_cache_ticket *ticket)
{
    struct svc *v = svc_of(c, service);
    struct entry *e;

    if (!v || v->cap == 0)
        return STORE_CACHE_OFF;
    if (usable(c) && (e = find(v, jid, jid_hash(jid)))) {
        if (!e->found || record_of(e, service, rec)) {
            to_front(v, e);
            *st = e->found ? STORE_OK : STORE_NOT_FOUND;
            v->fig.hits++;
            stats_cache_lookup(v->stats, true);
            return STORE_CACHE_HIT;
        }
    }
    *ticket = (struct store_cache_ticket){.gen = c->gen, .horizon = c->horizon};
    v->fig.misses++;
    stats_cache_lookup(v->stats, false);
    return STORE_CACHE_MISS;
}

static void insert(struct svc *v, struct entry *e);

void store_cache_fill(struct store_cache *c, const char *service,
                      const char *jid, const struct store_cache_ticket *ticket,
                      enum store_status st, const struct store_record *rec)
{
    struct svc *v = svc_of(c, service);
    uint32_t h = jid_hash(jid);
    struct entry *e, *old;

    if (!v || v->cap == 0 || (st != STORE_OK && st != STORE_NOT_FOUND) ||
        (st == STORE_OK && !rec))
        return;
    /* a change of the key, or an emptying, applied since the read's
     * issue: what it read may be older than that change */
    if (*mark_of(c, service, jid) > ticket->gen || c->reset_gen > ticket->gen)
        return;
    if (!grow(v) || !(e = entry_of(jid, st == STORE_OK ? rec : NULL)))
        return; /* out of memory: not kept */
    e->version = ticket->horizon;
    e->hash = h;
    if ((old = find(v, jid, h))) {
        if (old->version > e->version) { /* a newer read's */
            entry_free(e);
            return;
        }
        unlink_entry(v, old);
        entry_free(old);
    }
    insert(v, e);
}

/* e (its key not in v, the buckets grown for it) goes in first. */
static void insert(struct svc *v, struct entry *e)
{
    uint32_t h = e->hash;

    e->hnext = v->buckets[h & (v->nbuckets - 1)];
    v->buckets[h & (v->nbuckets - 1)] = e;
    e->next = v->mru;
    if (v->mru)
        v->mru->prev = e;
    v->mru = e;
    if (!v->lru)
        v->lru = e;
    v->n++;
    v->fig.bytes += e->size;
    while (v->n > v->cap)
        drop(v, v->lru, WHY_CAPACITY);
    publish(v);
}

/* The change of (service, jid) of event id (0: any) is applied: the
 * entry goes unless it reflects that event already. */
static void changed(struct store_cache *c, const char *service, const char *jid,
                    long long id)
{
    struct svc *v = svc_of(c, service);
    struct entry *e;

    mark(c, service, jid);
    if (v && (e = find(v, jid, jid_hash(jid))) &&
        (id == 0 || e->version < id)) {
        drop(v, e, WHY_CHANGED);
        publish(v);
    }
}

void store_cache_wrote(struct store_cache *c, const char *service,
                       const char *jid, long long event_id)
{
    if (!service || !jid)
        return;
    changed(c, service, jid, 0);
    raise_horizon(c, event_id);
}

bool store_cache_has(const struct store_cache *c, const char *service)
{
    const struct svc *v = svc_of(c, service);

    return v && v->cap > 0;
}

void store_cache_image_free(struct store_cache_image *img)
{
    if (!img)
        return;
    free(img->username);
    form_data_clear(&img->fields);
    for (size_t i = 0; i < img->nkeep; i++)
        free(img->keep[i]);
    free(img->keep);
    free(img);
}

/* Replaces (service, jid)'s entry by one of rec (NULL: no registration)
 * of version: reads issued before keep nothing (the mark).  Out of memory:
 * the entry goes. */
static void replace(struct store_cache *c, struct svc *v, const char *service,
                    const char *jid, const struct store_record *rec,
                    long long version)
{
    uint32_t h = jid_hash(jid);
    struct entry *e, *old;

    mark(c, service, jid);
    if ((old = find(v, jid, h))) {
        unlink_entry(v, old); /* replaced: not counted as evicted */
        entry_free(old);
    }
    if (!grow(v) || !(e = entry_of(jid, rec))) {
        publish(v);
        return;
    }
    e->version = version;
    e->hash = h;
    insert(v, e);
}

void store_cache_put_through(struct store_cache *c, const char *service,
                             const char *jid, long long event_id, bool created,
                             const struct store_cache_image *img)
{
    struct svc *v = svc_of(c, service);
    struct store_record was = {0}, now = {0};
    struct entry *old;
    long long version;
    bool ok = true;

    if (!service || !jid)
        return;
    if (!created && event_id == 0)
        return; /* nothing changed (011): what is cached stands */
    if (event_id <= 0 || !img || !v || v->cap == 0) {
        store_cache_wrote(c, service, jid, event_id);
        return;
    }
    old = find(v, jid, jid_hash(jid));
    if (created) {
        version = event_id;
        now.state = img->state;
    } else if (old && old->found && record_of(old, service, &was)) {
        version = old->version;
        now.state = was.state;
        now.disabled_reason = was.disabled_reason;
    } else {
        store_cache_wrote(c, service, jid, event_id);
        return;
    }
    now.username = img->username;
    /* img's fields (borrowed), then what an update keeps from the row */
    for (size_t i = 0; ok && i < img->fields.n; i++) {
        const struct form_value *fv = &img->fields.items[i];
        struct form_value *to = form_data_entry(&now.fields, fv->var);

        ok = to != NULL;
        for (size_t k = 0; ok && k < fv->nvalues; k++)
            ok = form_value_append(to, fv->values[k]);
    }
    for (size_t i = 0; ok && !created && i < img->nkeep; i++) {
        const struct form_value *kept =
            form_data_get(&was.fields, img->keep[i]);
        struct form_value *to;

        if (!kept || form_data_get(&img->fields, img->keep[i]))
            continue;
        ok = (to = form_data_entry(&now.fields, kept->var)) != NULL;
        for (size_t k = 0; ok && k < kept->nvalues; k++)
            ok = form_value_append(to, kept->values[k]);
    }
    if (ok)
        replace(c, v, service, jid, &now, version);
    else
        changed(c, service, jid, 0);
    raise_horizon(c, event_id);
    publish(v);
    now.username = NULL;
    now.disabled_reason = NULL;
    form_data_clear(&now.fields);
    store_record_clear(&was);
}

void store_cache_removed(struct store_cache *c, const char *service,
                         const char *jid, long long event_id)
{
    struct svc *v = svc_of(c, service);

    if (!service || !jid)
        return;
    if (event_id <= 0 || !v || v->cap == 0) {
        store_cache_wrote(c, service, jid, event_id);
        return;
    }
    replace(c, v, service, jid, NULL, event_id);
    raise_horizon(c, event_id);
    publish(v);
}

/* Every entry goes; fills issued before now are refused. */
static void empty_all(struct store_cache *c)
{
    c->reset_gen = ++c->gen;
    for (size_t i = 0; i < c->nsvcs; i++)
        empty_svc(&c->svcs[i], WHY_RESET);
}

void store_cache_reset(struct store_cache *c)
{
    empty_all(c);
    c->resync = true;
    c->npending = 0;
    c->overflow = false;
    c->reading = false;
    c->nseen = 0;
}

/* ---- this instance's commits and the notifications ---------------------- */

void store_cache_committed(struct store_cache *c, long long max_id, unsigned n)
{
    if (n == 0 || max_id <= 0)
        return;
    c->own[c->nown++ % NOWN] = (struct own){.max_id = max_id, .n = n};
    raise_horizon(c, max_id);
}

static bool own_commit(const struct store_cache *c, long long id,
                       unsigned long long count)
{
    unsigned have = c->nown < NOWN ? c->nown : NOWN;

    for (unsigned i = 0; i < have; i++)
        if (c->own[i].max_id == id && c->own[i].n == count)
            return true;
    return false;
}

/* The number after "key": in a JSON object of numbers; false when none. */
static bool json_number(const char *json, const char *key, long long *out)
{
    char quoted[16];
    const char *p;
    char *end;

    snprintf(quoted, sizeof(quoted), "\"%s\"", key);
    if (!(p = strstr(json, quoted)))
        return false;
    p += strlen(quoted);
    while (*p == ' ')
        p++;
    if (*p++ != ':')
        return false;
    *out = strtoll(p, &end, 10);
    return end != p;
}

/* Whether the read rows had id (binary search of the sorted ring). */
static bool seen(const struct store_cache *c, long long id)
{
    unsigned lo = 0, hi = c->nseen;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        long long v = c->seen[(c->seen_at + mid) % NSEEN];

        if (v == id)
            return true;
        if (v < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* An event of a commit of another that is already behind applied: its
 * row was read (or every entry is younger than it), or it is gone (a
 * forget, a purge): then nothing says which key it changed. */
static bool accounted(const struct store_cache *c, long long id)
{
    return id <= c->tip_floor || seen(c, id);
}

void store_cache_notified(struct store_cache *c, const char *payload)
{
    long long id, count;

    if (!payload || !json_number(payload, "id", &id) || id <= 0 ||
        !json_number(payload, "count", &count)) {
        log_warn("store", "a notification on registrar that cannot be read: "
                          "the cache is emptied");
        empty_all(c);
        return;
    }
    raise_horizon(c, id);
    if (count > 0 && own_commit(c, id, (unsigned long long)count)) {
        if (usable(c) && !c->reading && id > c->applied)
            c->applied = id; /* every event up to it was applied */
        return;
    }
    if (id <= c->applied) {
        if (!accounted(c, id)) {
            log_debug("store",
                      "event %lld notified and not in the log: "
                      "the cache is emptied",
                      id);
            empty_all(c);
        }
        return;
    }
    if (c->npending == NPENDING)
        c->overflow = true;
    else
        c->pending[c->npending++] = id;
}

/* ---- the read of the log --------------------------------------------------
 */

bool store_cache_read_wanted(const struct store_cache *c, long long *after,
                             bool *tip)
{
    size_t entries = 0;

    if (!store_cache_on(c) || c->reading || usable(c))
        return false;
    for (size_t i = 0; i < c->nsvcs; i++)
        entries += c->svcs[i].n;
    *after = c->applied;
    /* nothing cached: only where the log ends matters */
    *tip = entries == 0;
    return true;
}

void store_cache_read_sent(struct store_cache *c, bool tip)
{
    c->reading = true;
    c->reading_tip = tip;
    c->reading_resync = c->resync;
    c->reading_npending = c->npending;
    c->reading_max = c->applied;
    c->reading_gone = false;
}

static void remember(struct store_cache *c, long long id)
{
    if (c->nseen == NSEEN) {
        c->seen_at = (c->seen_at + 1) % NSEEN;
        c->nseen--;
    }
    c->seen[(c->seen_at + c->nseen) % NSEEN] = id;
    c->nseen++;
}

void store_cache_read_row(struct store_cache *c, const char *service,
                          const char *jid, long long id)
{
    if (!c->reading)
        return;
    if (c->reading_tip) {
        if (id > c->reading_max)
            c->reading_max = id;
        return;
    }
    if (id <= c->reading_max)
        return; /* ids come in order */
    c->reading_max = id;
    remember(c, id);
    if (service && jid)
        changed(c, service, jid, id);
}

/* Ends the read: the notifications it was sent for are settled, but those
 * above what it read when it was cut at its limit.  A complete read saw
 * the log to its end: every one of them was committed before it. */
static void settle(struct store_cache *c, bool complete)
{
    unsigned k = 0, n = c->reading_npending;

    for (unsigned i = 0; i < n; i++) {
        long long id = c->pending[i];

        if (!complete && id > c->reading_max) {
            c->pending[k++] = id; /* for the next read */
            continue;
        }
        if (!accounted(c, id))
            c->reading_gone = true;
        if (id > c->reading_max)
            c->reading_max = id;
    }
    memmove(&c->pending[k], &c->pending[n],
            (c->npending - n) * sizeof(c->pending[0]));
    c->npending -= n - k;
}

void store_cache_read_done(struct store_cache *c, size_t rows)
{
    bool complete = c->reading_tip || rows < STORE_CACHE_READ_MAX;
    bool overflow = c->overflow;

    if (!c->reading)
        return;
    c->reading = false;
    if (c->reading_tip) {
        /* nothing was cached when it was sent; what was filled since may
         * be older than the log's end, and nothing before it is read */
        empty_all(c);
        c->tip_floor = c->reading_max;
        c->nseen = 0;
    }
    settle(c, complete);
    if (c->reading_max > c->applied)
        c->applied = c->reading_max;
    raise_horizon(c, c->applied);
    if (complete) {
        if (c->reading_resync)
            c->resync = false;
        c->overflow = false;
    }
    if (c->reading_gone || (overflow && complete)) {
        log_debug("store", "a notified event is not in the log (forgotten "
                           "or purged): the cache is emptied");
        empty_all(c);
    }
}

void store_cache_read_failed(struct store_cache *c)
{
    if (!c->reading)
        return;
    c->reading = false;
    /* what it was for is unknown: nothing kept is trusted */
    empty_all(c);
    c->npending = 0;
    c->overflow = false;
    c->resync = false;
    c->nseen = 0;
    c->tip_floor = c->horizon;
    if (c->horizon > c->applied)
        c->applied = c->horizon;
}

void store_cache_read_lost(struct store_cache *c)
{
    c->reading = false;
}

/* ---- figures ------------------------------------------------------------- */

bool store_cache_figures(const struct store_cache *c, const char *service,
                         struct store_cache_figures *f)
{
    const struct svc *v = svc_of(c, service);

    if (!v || v->cap == 0)
        return false;
    *f = v->fig;
    f->entries = v->n;
    f->cap = v->cap;
    f->horizon = c->horizon;
    f->applied = c->applied;
    f->usable = usable(c);
    return true;
}
