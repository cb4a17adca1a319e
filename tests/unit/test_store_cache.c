/*
 * test_store_cache.c - the registered gets' cache (store_cache.c), driven
 * by hand as store_listen.c drives it from the connection: lookups and
 * fills, the cap and the least recently used, write-through, the
 * notifications of others and the reads of the log that follow them, a
 * read older than a change kept out, events gone from the log, a lost
 * connection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cmocka.h needs the headers above (stdarg, stddef, setjmp) */
#include <cmocka.h>

#include "store_cache.h"

#define SVC "svc.example"

/* A registration of jid with a username, a list field and a reason. */
static void rec_of(struct store_record *r, const char *jid, const char *user)
{
    *r = (struct store_record){.state = STORE_STATE_DISABLED};
    r->service = strdup(SVC);
    r->jid = strdup(jid);
    r->username = user ? strdup(user) : NULL;
    r->password_hash = strdup("$2a$10$notkeptnotkeptnotkeptnotkeptnotkeptnotk");
    r->disabled_reason = strdup("spam");
    assert_true(form_data_add(&r->fields, "email", "a@b.example"));
    assert_true(form_data_add(&r->fields, "tags", "x"));
    assert_true(form_data_add(&r->fields, "tags", "y"));
    assert_non_null(form_data_entry(&r->fields, "empty")); /* no value */
}

/* A cache of cap entries for SVC, usable (its first read done: the log
 * ends at tip). */
static struct store_cache *new_cache(unsigned cap, long long tip)
{
    struct store_cache *c = store_cache_new();
    long long after;
    bool is_tip;

    assert_non_null(c);
    assert_true(store_cache_service(c, SVC, cap, NULL));
    assert_true(store_cache_read_wanted(c, &after, &is_tip));
    assert_true(is_tip); /* nothing cached */
    store_cache_read_sent(c, true);
    store_cache_read_row(c, NULL, NULL, tip);
    store_cache_read_done(c, 1);
    assert_false(store_cache_read_wanted(c, &after, &is_tip));
    return c;
}

static enum store_cache_look look(struct store_cache *c, const char *jid,
                                  enum store_status *st,
                                  struct store_cache_ticket *t)
{
    struct store_record r = {0};
    enum store_cache_look l = store_cache_get(c, SVC, jid, st, &r, t);

    if (l == STORE_CACHE_HIT && *st == STORE_OK) {
        assert_string_equal(r.jid, jid);
        assert_null(r.password_hash);
    }
    store_record_clear(&r);
    return l;
}

/* A miss of jid read as a registration, kept. */
static void read_in(struct store_cache *c, const char *jid)
{
    struct store_record r;
    struct store_cache_ticket t;
    enum store_status st;

    assert_int_equal(look(c, jid, &st, &t), STORE_CACHE_MISS);
    rec_of(&r, jid, NULL);
    store_cache_fill(c, SVC, jid, &t, STORE_OK, &r);
    store_record_clear(&r);
}

static bool cached(struct store_cache *c, const char *jid)
{
    struct store_cache_ticket t;
    enum store_status st;

    return look(c, jid, &st, &t) == STORE_CACHE_HIT;
}

static struct store_cache_figures figures(struct store_cache *c)
{
    struct store_cache_figures f;

    assert_true(store_cache_figures(c, SVC, &f));
    return f;
}

static void notify(struct store_cache *c, long long id, int count)
{
    char payload[64];

    snprintf(payload, sizeof(payload), "{\"id\": %lld, \"count\": %d}", id,
             count);
    store_cache_notified(c, payload);
}

/* The read the cache wants, from after, with rows (jid NULL: the end). */
static void read_log(struct store_cache *c, long long after_want,
                     const char *const *jids, const long long *ids, size_t n)
{
    long long after;
    bool tip;

    assert_true(store_cache_read_wanted(c, &after, &tip));
    assert_false(tip);
    assert_int_equal(after, after_want);
    store_cache_read_sent(c, false);
    for (size_t i = 0; i < n; i++)
        store_cache_read_row(c, SVC, jids[i], ids[i]);
    store_cache_read_done(c, n);
}

/* ---- tests ----------------------------------------------------------------
 */

static void test_off_and_first_read(void **state)
{
    struct store_cache *c = store_cache_new();
    struct store_record r = {0};
    struct store_cache_ticket t;
    enum store_status st;
    struct store_cache_figures f;

    (void)state;
    assert_false(store_cache_on(c));
    assert_int_equal(store_cache_get(c, SVC, "a@x", &st, &r, &t),
                     STORE_CACHE_OFF);
    assert_true(store_cache_service(c, "other.example", 0, NULL));
    assert_false(store_cache_on(c));
    assert_true(store_cache_service(c, SVC, 10, NULL));
    assert_true(store_cache_on(c));
    assert_int_equal(store_cache_get(c, "other.example", "a@x", &st, &r, &t),
                     STORE_CACHE_OFF);
    /* before the first read of the log, nothing is answered, nor kept
     * from a read issued then */
    assert_int_equal(look(c, "a@x", &st, &t), STORE_CACHE_MISS);
    assert_false(figures(c).usable);
    store_cache_free(c);

    c = new_cache(10, 50);
    f = figures(c);
    assert_true(f.usable);
    assert_int_equal(f.applied, 50);
    assert_int_equal(f.horizon, 50);
    store_cache_free(c);
}

/* What a hit answers is what was read (but the hash); a registration
 * that is not there is kept too. */
static void test_hit_is_the_read(void **state)
{
    struct store_cache *c = new_cache(10, 1);
    struct store_record r, got = {0};
    struct store_cache_ticket t;
    enum store_status st;

    (void)state;
    assert_int_equal(look(c, "a@x", &st, &t), STORE_CACHE_MISS);
    rec_of(&r, "a@x", "Alice");
    store_cache_fill(c, SVC, "a@x", &t, STORE_OK, &r);
    assert_int_equal(store_cache_get(c, SVC, "a@x", &st, &got, &t),
                     STORE_CACHE_HIT);
    assert_int_equal(st, STORE_OK);
    assert_string_equal(got.service, SVC);
    assert_string_equal(got.username, "Alice");
    assert_null(got.password_hash);
    assert_false(got.claim_matches);
    assert_int_equal(got.state, STORE_STATE_DISABLED);
    assert_string_equal(got.disabled_reason, "spam");
    assert_int_equal(got.fields.n, 3);
    assert_string_equal(form_data_first(&got.fields, "email"), "a@b.example");
    assert_int_equal(form_data_get(&got.fields, "tags")->nvalues, 2);
    assert_string_equal(form_data_get(&got.fields, "tags")->values[1], "y");
    assert_int_equal(form_data_get(&got.fields, "empty")->nvalues, 0);
    store_record_clear(&got);
    store_record_clear(&r);

    assert_int_equal(look(c, "nobody@x", &st, &t), STORE_CACHE_MISS);
    store_cache_fill(c, SVC, "nobody@x", &t, STORE_NOT_FOUND, NULL);
    assert_int_equal(look(c, "nobody@x", &st, &t), STORE_CACHE_HIT);
    assert_int_equal(st, STORE_NOT_FOUND);
    /* a failed read keeps nothing */
    assert_int_equal(look(c, "err@x", &st, &t), STORE_CACHE_MISS);
    store_cache_fill(c, SVC, "err@x", &t, STORE_UNAVAILABLE, NULL);
    assert_int_equal(look(c, "err@x", &st, &t), STORE_CACHE_MISS);
    assert_int_equal(figures(c).entries, 2);
    assert_int_equal(figures(c).hits, 2);
    assert_int_equal(figures(c).misses, 4);
    store_cache_free(c);
}

/* At most cap entries, the least recently used out; a smaller cap evicts
 * down to it; the bytes follow. */
static void test_cap_and_lru(void **state)
{
    struct store_cache *c = new_cache(3, 1);
    struct store_cache_figures f;

    (void)state;
    read_in(c, "a@x");
    read_in(c, "b@x");
    read_in(c, "c@x");
    assert_true(cached(c, "a@x")); /* a used: b is now the oldest */
    read_in(c, "d@x");
    f = figures(c);
    assert_int_equal(f.entries, 3);
    assert_int_equal(f.evicted_capacity, 1);
    assert_false(cached(c, "b@x"));
    assert_true(cached(c, "a@x"));
    assert_true(cached(c, "c@x"));
    assert_true(cached(c, "d@x"));
    assert_true(f.bytes > 3 * 100);
    /* 10000 more through a cache of 3 */
    for (int i = 0; i < 10000; i++) {
        char jid[32];
        snprintf(jid, sizeof(jid), "u%d@x", i);
        read_in(c, jid);
    }
    f = figures(c);
    assert_int_equal(f.entries, 3);
    assert_int_equal(f.evicted_capacity, 10001);
    assert_true(cached(c, "u9999@x"));
    assert_true(store_cache_service(c, SVC, 1, NULL));
    f = figures(c);
    assert_int_equal(f.entries, 1);
    assert_true(cached(c, "u9999@x")); /* the most recent stays */
    store_cache_free(c);
}

/* A write of this instance drops its entry at once; the next read is
 * kept, with the write's event as its version. */
static void test_write_through(void **state)
{
    struct store_cache *c = new_cache(10, 100);

    (void)state;
    read_in(c, "a@x");
    read_in(c, "b@x");
    store_cache_wrote(c, SVC, "a@x", 101);
    store_cache_committed(c, 101, 1);
    assert_false(cached(c, "a@x"));
    assert_true(cached(c, "b@x"));
    assert_int_equal(figures(c).evicted_changed, 1);
    assert_int_equal(figures(c).horizon, 101);
    read_in(c, "a@x");
    assert_true(cached(c, "a@x"));
    /* its own notification: nothing to read, the log applied to it */
    notify(c, 101, 1);
    assert_true(figures(c).usable);
    assert_int_equal(figures(c).applied, 101);
    assert_true(cached(c, "a@x"));
    /* a write whose event is not known: its notification is read */
    store_cache_wrote(c, SVC, "b@x", 0);
    store_cache_committed(c, 0, 0);
    notify(c, 102, 1);
    assert_false(figures(c).usable);
    read_log(c, 101, (const char *[]){"b@x"}, (long long[]){102}, 1);
    assert_true(figures(c).usable);
    assert_true(cached(c, "a@x"));
    store_cache_free(c);
}

/* An image of a put: username, email, and "secret" kept by an update. */
static struct store_cache_image *image(const char *user, const char *email)
{
    struct store_cache_image *img = calloc(1, sizeof(*img));

    assert_non_null(img);
    img->username = user ? strdup(user) : NULL;
    img->state = STORE_STATE_PENDING;
    assert_true(form_data_add(&img->fields, "email", email));
    img->keep = calloc(1, sizeof(char *));
    img->keep[0] = strdup("secret");
    img->nkeep = 1;
    return img;
}

/* Write-through: this instance's put or removal, committed, leaves the
 * entry a read would now fill, and the next get is a hit with it. */
static void test_put_through(void **state)
{
    struct store_cache *c = new_cache(10, 100);
    struct store_cache_image *img;
    struct store_record r, got = {0};
    struct store_cache_ticket t, early;
    enum store_status st;

    (void)state;
    /* a creation: the image, in the state it was created in */
    img = image("Alice", "a1@example");
    store_cache_put_through(c, SVC, "a@x", 101, true, img);
    store_cache_image_free(img);
    store_cache_committed(c, 101, 1);
    assert_int_equal(store_cache_get(c, SVC, "a@x", &st, &got, &t),
                     STORE_CACHE_HIT);
    assert_int_equal(st, STORE_OK);
    assert_string_equal(got.username, "Alice");
    assert_int_equal(got.state, STORE_STATE_PENDING);
    assert_string_equal(form_data_first(&got.fields, "email"), "a1@example");
    assert_int_equal(got.fields.n, 1);
    store_record_clear(&got);

    /* an update of a cached row: its fields over the entry's state, the
     * kept field from the entry; a read issued before it keeps nothing */
    assert_int_equal(look(c, "b@x", &st, &early), STORE_CACHE_MISS);
    rec_of(&r, "b@x", "Bob"); /* disabled, "spam": the entry's state */
    assert_true(form_data_add(&r.fields, "secret", "$hash$"));
    store_cache_fill(c, SVC, "b@x", &early, STORE_OK, &r);
    store_record_clear(&r);
    assert_int_equal(look(c, "b@x", &st, &early), STORE_CACHE_HIT);
    assert_int_equal(look(c, "z@x", &st, &early), STORE_CACHE_MISS);
    img = image(NULL, "b2@example");
    store_cache_put_through(c, SVC, "b@x", 102, false, img);
    store_cache_image_free(img);
    store_cache_committed(c, 102, 1);
    assert_int_equal(store_cache_get(c, SVC, "b@x", &st, &got, &t),
                     STORE_CACHE_HIT);
    assert_null(got.username);
    assert_int_equal(got.state, STORE_STATE_DISABLED);
    assert_string_equal(got.disabled_reason, "spam");
    assert_string_equal(form_data_first(&got.fields, "email"), "b2@example");
    assert_string_equal(form_data_first(&got.fields, "secret"), "$hash$");
    assert_null(form_data_get(&got.fields, "tags")); /* replaced */
    assert_int_equal(got.fields.n, 2);
    store_record_clear(&got);
    assert_int_equal(figures(c).evicted_changed, 0);
    /* an update that changed nothing (no event): the entry stands */
    img = image("ignored", "ignored@example");
    store_cache_put_through(c, SVC, "b@x", 0, false, img);
    store_cache_image_free(img);
    assert_int_equal(store_cache_get(c, SVC, "b@x", &st, &got, &t),
                     STORE_CACHE_HIT);
    assert_string_equal(form_data_first(&got.fields, "email"), "b2@example");
    store_record_clear(&got);
    /* an update of a key not cached: nothing to build on, still a miss */
    img = image(NULL, "c@example");
    store_cache_put_through(c, SVC, "c@x", 103, false, img);
    store_cache_image_free(img);
    store_cache_committed(c, 103, 1);
    assert_int_equal(look(c, "c@x", &st, &t), STORE_CACHE_MISS);
    /* a removal: "no registration", a hit */
    store_cache_removed(c, SVC, "a@x", 104);
    store_cache_committed(c, 104, 1);
    assert_int_equal(look(c, "a@x", &st, &t), STORE_CACHE_HIT);
    assert_int_equal(st, STORE_NOT_FOUND);
    /* the notifications are this instance's own: nothing to read */
    for (long long id = 101; id <= 104; id++)
        notify(c, id, 1);
    assert_true(figures(c).usable);
    assert_int_equal(figures(c).applied, 104);
    assert_true(cached(c, "b@x"));
    store_cache_free(c);
}

/* An update's entry keeps the version of the entry it was built on: a
 * change of another to the key, committed before it and not yet applied
 * (its notification late), drops it when the log is read; a creation's
 * entry, the row new, survives its own key's older events. */
static void test_put_through_after_others(void **state)
{
    struct store_cache *c = new_cache(10, 100);
    struct store_cache_image *img;

    (void)state;
    read_in(c, "a@x"); /* version 100 */
    /* another changed a (101, the state say); this instance's update of
     * a (102) is answered before 101's notification is read */
    img = image(NULL, "mine@example");
    store_cache_put_through(c, SVC, "a@x", 102, false, img);
    store_cache_image_free(img);
    store_cache_committed(c, 102, 1);
    assert_true(cached(c, "a@x")); /* nothing known of 101 yet */
    notify(c, 101, 1);
    assert_false(cached(c, "a@x")); /* unusable until the log is read */
    read_log(c, 100, (const char *[]){"a@x", "a@x"}, (long long[]){101, 102},
             2);
    assert_true(figures(c).usable);
    assert_false(cached(c, "a@x"));
    /* a creation at 105 after a removal of another at 103 */
    img = image(NULL, "new@example");
    store_cache_put_through(c, SVC, "n@x", 105, true, img);
    store_cache_image_free(img);
    store_cache_committed(c, 105, 1);
    notify(c, 103, 1);
    read_log(c, 102, (const char *[]){"n@x", "n@x"}, (long long[]){103, 105},
             2);
    assert_true(cached(c, "n@x"));
    store_cache_free(c);
}

/* A read issued before a change of its key was applied is not kept:
 * a write of this instance, or a row of the log. */
static void test_read_older_than_a_change(void **state)
{
    struct store_cache *c = new_cache(10, 10);
    struct store_record r;
    struct store_cache_ticket ta, tb;
    enum store_status st;

    (void)state;
    assert_int_equal(look(c, "a@x", &st, &ta), STORE_CACHE_MISS);
    assert_int_equal(look(c, "b@x", &st, &tb), STORE_CACHE_MISS);
    store_cache_wrote(c, SVC, "a@x", 11); /* committed meanwhile */
    rec_of(&r, "a@x", "stale");
    store_cache_fill(c, SVC, "a@x", &ta, STORE_OK, &r);
    store_record_clear(&r);
    assert_false(cached(c, "a@x"));
    /* another key's read is kept */
    store_cache_fill(c, SVC, "b@x", &tb, STORE_NOT_FOUND, NULL);
    assert_true(cached(c, "b@x"));

    /* another's change of a, read from the log while a's read is out */
    assert_int_equal(look(c, "a@x", &st, &ta), STORE_CACHE_MISS);
    notify(c, 12, 1);
    read_log(c, 10, (const char *[]){"a@x"}, (long long[]){12}, 1);
    rec_of(&r, "a@x", "stale");
    store_cache_fill(c, SVC, "a@x", &ta, STORE_OK, &r);
    store_record_clear(&r);
    assert_false(cached(c, "a@x"));
    /* issued after: kept */
    read_in(c, "a@x");
    assert_true(cached(c, "a@x"));

    /* two reads of c out, the second after a write of another key: the
     * older answer, coming last, does not replace the newer */
    struct store_record got = {0};
    struct store_cache_ticket t1, t2;
    assert_int_equal(look(c, "c@x", &st, &t1), STORE_CACHE_MISS);
    store_cache_wrote(c, SVC, "b@x", 13);
    assert_int_equal(look(c, "c@x", &st, &t2), STORE_CACHE_MISS);
    assert_true(t2.horizon > t1.horizon);
    rec_of(&r, "c@x", "newer");
    store_cache_fill(c, SVC, "c@x", &t2, STORE_OK, &r);
    store_record_clear(&r);
    rec_of(&r, "c@x", "older");
    store_cache_fill(c, SVC, "c@x", &t1, STORE_OK, &r);
    store_record_clear(&r);
    assert_int_equal(store_cache_get(c, SVC, "c@x", &st, &got, &t1),
                     STORE_CACHE_HIT);
    assert_string_equal(got.username, "newer");
    store_record_clear(&got);
    store_cache_free(c);
}

/* Another's change: from its notification on, no answer from the cache
 * until the log is read; then only the changed keys are gone, and this
 * instance's own events in the log drop nothing fresh. */
static void test_others_change(void **state)
{
    struct store_cache *c = new_cache(10, 200);
    struct store_cache_ticket t;
    enum store_status st;
    long long after;
    bool tip;

    (void)state;
    read_in(c, "a@x");
    read_in(c, "b@x");
    read_in(c, "c@x");
    /* this instance writes a (event 201) and reads it again */
    store_cache_wrote(c, SVC, "a@x", 201);
    store_cache_committed(c, 201, 1);
    read_in(c, "a@x");
    /* another instance changes b (202) */
    notify(c, 202, 1);
    assert_int_equal(look(c, "c@x", &st, &t), STORE_CACHE_MISS);
    assert_true(t.horizon >= 202); /* a read now sees 202 */
    assert_true(store_cache_read_wanted(c, &after, &tip));
    assert_false(tip);
    assert_int_equal(after, 200);
    store_cache_read_sent(c, false);
    assert_false(store_cache_read_wanted(c, &after, &tip)); /* in flight */
    /* the log has this instance's 201 and the other's 202 */
    store_cache_read_row(c, SVC, "a@x", 201);
    store_cache_read_row(c, SVC, "b@x", 202);
    store_cache_read_done(c, 2);
    assert_true(figures(c).usable);
    assert_int_equal(figures(c).applied, 202);
    assert_true(cached(c, "a@x")); /* fresh: its version is 201 */
    assert_false(cached(c, "b@x"));
    assert_true(cached(c, "c@x"));
    /* the notification of 202 arrives after the read that had its row:
     * nothing more */
    notify(c, 202, 1);
    assert_true(figures(c).usable);
    assert_true(cached(c, "c@x"));
    /* a notification that comes while a read is in flight waits for
     * the next read */
    notify(c, 204, 1);
    assert_true(store_cache_read_wanted(c, &after, &tip));
    store_cache_read_sent(c, false);
    notify(c, 205, 1);
    store_cache_read_row(c, SVC, "c@x", 204);
    store_cache_read_done(c, 1);
    assert_false(figures(c).usable);
    assert_false(cached(c, "a@x"));
    read_log(c, 204, (const char *[]){"a@x"}, (long long[]){205}, 1);
    assert_true(figures(c).usable);
    assert_false(cached(c, "a@x"));
    assert_int_equal(figures(c).evicted_reset, 0);
    store_cache_free(c);
}

/* An event notified and gone from the log (a forget deletes the events
 * it wrote, a purge old ones): nothing says which key changed, so
 * everything goes. */
static void test_event_gone(void **state)
{
    struct store_cache *c = new_cache(10, 300);

    (void)state;
    read_in(c, "a@x");
    read_in(c, "b@x");
    notify(c, 301, 1); /* a forget of a: its event deleted */
    read_log(c, 300, NULL, NULL, 0);
    assert_true(figures(c).usable);
    assert_int_equal(figures(c).entries, 0);
    assert_int_equal(figures(c).evicted_reset, 2);

    /* gone, and read past by a read for another's later change */
    read_in(c, "a@x");
    read_in(c, "b@x");
    notify(c, 305, 1);
    read_log(c, 301, (const char *[]){"b@x"}, (long long[]){305}, 1);
    assert_true(cached(c, "a@x"));
    notify(c, 303, 1); /* late, and not in the log */
    assert_int_equal(figures(c).entries, 0);
    store_cache_free(c);
}

/* A read cut at its limit: the notifications above it wait for the
 * next. */
static void test_read_in_parts(void **state)
{
    struct store_cache *c = new_cache(10, 0);
    const char **jids = calloc(STORE_CACHE_READ_MAX, sizeof(*jids));
    long long *ids = calloc(STORE_CACHE_READ_MAX, sizeof(*ids));

    (void)state;
    read_in(c, "a@x");
    for (int i = 0; i < STORE_CACHE_READ_MAX; i++) {
        jids[i] = "z@x";
        ids[i] = i + 1;
    }
    notify(c, 1500, 1);
    read_log(c, 0, jids, ids, STORE_CACHE_READ_MAX);
    assert_false(figures(c).usable);
    assert_false(cached(c, "a@x"));
    read_log(c, STORE_CACHE_READ_MAX, (const char *[]){"a@x"},
             (long long[]){1500}, 1);
    assert_true(figures(c).usable);
    assert_int_equal(figures(c).applied, 1500);
    assert_int_equal(figures(c).evicted_reset, 0);
    free(jids);
    free(ids);
    store_cache_free(c);
}

/* A lost connection empties it; reads issued before are not kept; the
 * next connection's read comes before any answer. */
static void test_reset(void **state)
{
    struct store_cache *c = new_cache(10, 400);
    struct store_record r;
    struct store_cache_ticket t;
    enum store_status st;
    long long after;
    bool tip;

    (void)state;
    read_in(c, "a@x");
    assert_int_equal(look(c, "b@x", &st, &t), STORE_CACHE_MISS);
    store_cache_reset(c);
    assert_int_equal(figures(c).entries, 0);
    assert_int_equal(figures(c).bytes, 0);
    assert_false(figures(c).usable);
    rec_of(&r, "b@x", NULL);
    store_cache_fill(c, SVC, "b@x", &t, STORE_OK, &r);
    store_record_clear(&r);
    assert_int_equal(figures(c).entries, 0);
    assert_true(store_cache_read_wanted(c, &after, &tip));
    assert_true(tip);
    /* a read issued before the new connection's read is not kept */
    assert_int_equal(look(c, "b@x", &st, &t), STORE_CACHE_MISS);
    store_cache_read_sent(c, true);
    store_cache_read_row(c, NULL, NULL, 420);
    store_cache_read_done(c, 1);
    rec_of(&r, "b@x", NULL);
    store_cache_fill(c, SVC, "b@x", &t, STORE_OK, &r);
    store_record_clear(&r);
    assert_false(cached(c, "b@x"));
    assert_true(figures(c).usable);
    assert_int_equal(figures(c).applied, 420);
    /* a late notification below the log's end read: nothing to do */
    read_in(c, "b@x");
    notify(c, 410, 1);
    assert_true(cached(c, "b@x"));
    store_cache_free(c);
}

/* A read that failed, a notification that cannot be read, more
 * notifications than are kept: everything goes, never a stale answer. */
static void test_failures_empty_it(void **state)
{
    struct store_cache *c = new_cache(10, 500);
    long long after;
    bool tip;

    (void)state;
    read_in(c, "a@x");
    notify(c, 501, 1);
    assert_true(store_cache_read_wanted(c, &after, &tip));
    store_cache_read_sent(c, false);
    store_cache_read_failed(c);
    assert_int_equal(figures(c).entries, 0);
    assert_true(figures(c).usable);

    read_in(c, "a@x");
    store_cache_notified(c, "{\"what\": 1}");
    assert_int_equal(figures(c).entries, 0);

    read_in(c, "a@x");
    notify(c, 600, 1);
    assert_true(store_cache_read_wanted(c, &after, &tip));
    store_cache_read_sent(c, false);
    store_cache_read_lost(c); /* its transaction failed before it ran */
    assert_true(store_cache_read_wanted(c, &after, &tip)); /* again */
    assert_int_equal(figures(c).entries, 1);
    for (int i = 0; i < 300; i++)
        notify(c, 601 + i, 1);
    read_log(c, 501, (const char *[]){"b@x"}, (long long[]){600}, 1);
    assert_int_equal(figures(c).entries, 0);
    assert_true(figures(c).usable);
    store_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_off_and_first_read),
        cmocka_unit_test(test_hit_is_the_read),
        cmocka_unit_test(test_cap_and_lru),
        cmocka_unit_test(test_write_through),
        cmocka_unit_test(test_put_through),
        cmocka_unit_test(test_put_through_after_others),
        cmocka_unit_test(test_read_older_than_a_change),
        cmocka_unit_test(test_others_change),
        cmocka_unit_test(test_event_gone),
        cmocka_unit_test(test_read_in_parts),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_failures_empty_it),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
