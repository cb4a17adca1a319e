/*
 * limiter.c - token buckets keyed by bare JID and by remote domain, plus one
 * for the service.  Memory stays bounded: a bucket that has refilled is
 * the same as no bucket, so full buckets are dropped when the table grows.
 * And tallies: counts reported at most once per interval.
 */
#include "limiter.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NSLOTS 1024   /* hash chains */
#define SWEEP_AT 4096 /* entries before full buckets are dropped */

struct bucket {
    double tokens;
    double stamp; /* time of the last refill */
};

struct entry {
    struct entry *next;
    bool is_domain;
    struct bucket b;
    char key[];
};

struct limiter {
    struct conf_limits conf;
    char **local; /* the local domains: no domain bucket for them */
    size_t nlocal;
    struct bucket global;
    struct entry *slots[NSLOTS];
    unsigned count;
};

struct limiter *limiter_new(const struct conf_limits *l,
                            const struct conf_list *local_domains)
{
    struct limiter *lim = calloc(1, sizeof(*lim));
    size_t n = local_domains ? local_domains->n : 0;

    if (!lim)
        return NULL;
    lim->conf = *l;
    lim->global = (struct bucket){.tokens = l->global_burst, .stamp = -1};
    if (n && !(lim->local = calloc(n, sizeof(char *)))) {
        free(lim);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!(lim->local[lim->nlocal++] = strdup(local_domains->items[i]))) {
            limiter_free(lim);
            return NULL;
        }
    }
    return lim;
}

void limiter_free(struct limiter *lim)
{
    if (!lim)
        return;
    for (size_t i = 0; i < NSLOTS; i++) {
        struct entry *e = lim->slots[i];
        while (e) {
            struct entry *next = e->next;
            free(e);
            e = next;
        }
    }
    for (size_t i = 0; i < lim->nlocal; i++)
        free(lim->local[i]);
    free(lim->local);
    free(lim);
}

unsigned limiter_size(const struct limiter *lim)
{
    return lim->count;
}

static void refill(struct bucket *b, unsigned burst, unsigned per_minute,
                   double now)
{
    if (b->stamp < 0 || now < b->stamp) {
        b->stamp = now;
        return;
    }
    b->tokens += (now - b->stamp) * per_minute / 60.0;
    if (b->tokens > burst)
        b->tokens = burst;
    b->stamp = now;
}

static unsigned hash(const char *s, bool is_domain)
{
    unsigned h = is_domain ? 5381u : 33u;

    for (; *s; s++) /* JIDs compare case-insensitively here */
        h = h * 33u ^ (unsigned)(*s | 0x20);
    return h % NSLOTS;
}

/* Drops every bucket that has refilled completely by now. */
static void sweep(struct limiter *lim, double now)
{
    for (size_t i = 0; i < NSLOTS; i++) {
        struct entry **pp = &lim->slots[i];
        while (*pp) {
            struct entry *e = *pp;
            unsigned burst =
                e->is_domain ? lim->conf.domain_burst : lim->conf.jid_burst;
            unsigned rate = e->is_domain ? lim->conf.domain_per_minute
                                         : lim->conf.jid_per_minute;
            refill(&e->b, burst, rate, now);
            if (e->b.tokens >= burst) {
                *pp = e->next;
                free(e);
                lim->count--;
            } else {
                pp = &e->next;
            }
        }
    }
}

/* The bucket for key, created full.  NULL when out of memory. */
static struct bucket *find(struct limiter *lim, const char *key, bool is_domain,
                           unsigned burst, double now)
{
    unsigned h = hash(key, is_domain);
    struct entry *e;

    for (e = lim->slots[h]; e; e = e->next)
        if (e->is_domain == is_domain && strcasecmp(e->key, key) == 0)
            return &e->b;
    if (lim->count >= SWEEP_AT)
        sweep(lim, now);
    e = malloc(sizeof(*e) + strlen(key) + 1);
    if (!e)
        return NULL;
    strcpy(e->key, key);
    e->is_domain = is_domain;
    e->b = (struct bucket){.tokens = burst, .stamp = now};
    e->next = lim->slots[h];
    lim->slots[h] = e;
    lim->count++;
    return &e->b;
}

static bool is_local(const struct limiter *lim, const char *domain)
{
    for (size_t i = 0; i < lim->nlocal; i++)
        if (strcasecmp(lim->local[i], domain) == 0)
            return true;
    return false;
}

struct take {
    struct bucket *b;
    unsigned burst, rate;
    const char *name;
};

bool limiter_take(struct limiter *lim, const char *bare_jid, double now,
                  const char **which, double *retry_s)
{
    const struct conf_limits *c = &lim->conf;
    const char *at = strchr(bare_jid, '@');
    const char *domain = at ? at + 1 : bare_jid;
    struct take take[3];
    int n = 0;

    if (c->jid_per_minute)
        take[n++] = (struct take){find(lim, bare_jid, false, c->jid_burst, now),
                                  c->jid_burst, c->jid_per_minute, "jid"};
    if (c->domain_per_minute && !is_local(lim, domain))
        take[n++] =
            (struct take){find(lim, domain, true, c->domain_burst, now),
                          c->domain_burst, c->domain_per_minute, "domain"};
    if (c->global_per_minute)
        take[n++] = (struct take){&lim->global, c->global_burst,
                                  c->global_per_minute, "service"};
    for (int i = 0; i < n; i++) {
        if (!take[i].b)
            continue; /* out of memory: do not refuse for it */
        refill(take[i].b, take[i].burst, take[i].rate, now);
        if (take[i].b->tokens < 1.0) {
            if (which)
                *which = take[i].name;
            if (retry_s)
                *retry_s = (1.0 - take[i].b->tokens) * 60.0 / take[i].rate;
            return false;
        }
    }
    for (int i = 0; i < n; i++)
        if (take[i].b)
            take[i].b->tokens -= 1.0;
    return true;
}

/* ---- tallies ----------------------------------------------------------- */

bool limiter_tally_due(struct limiter_tally *t, double now, double interval,
                       unsigned long *count)
{
    if (!t->pending || (t->reported && now - t->reported_at < interval &&
                        now >= t->reported_at))
        return false;
    *count = t->pending;
    t->pending = 0;
    t->reported_at = now;
    t->reported = true;
    return true;
}

bool limiter_tally_add(struct limiter_tally *t, double now, double interval,
                       unsigned long *count)
{
    t->pending++;
    t->total++;
    return limiter_tally_due(t, now, interval, count);
}
