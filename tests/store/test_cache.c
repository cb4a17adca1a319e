/*
 * test_cache.c - the cache of registered gets (store_get_cached) on an
 * attached store against a real PostgreSQL: hits and misses, this store's
 * writes seen at once, a change by plain SQL and by another store (another
 * instance) seen once its notification has arrived, the window between
 * such a commit and the first get that sees it (measured and printed), a
 * forgotten JID, a lost connection that empties it, and gets racing
 * writes of the same keys that never leave a stale entry.
 *
 * Needs REGISTRAR_TEST_ADMIN_CONNINFO (tests/store/run.sh).  Makes its own
 * database and drops it.  Reads the cache's figures through the store's
 * internals (store_internal.h).
 */
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* cmocka.h needs the headers above (stdarg, stddef, setjmp) */
#include <cmocka.h>

#include "pgtest.h"
#include "store.h"
#include "store_cache.h"
#include "store_got.h"
#include "store_internal.h"

#define SVC "svc.example"

static char dbname[64];
static char conninfo[1024];
static const char *admin;
static PGconn *db; /* the test's own connection: plain SQL */

static int setup(void **state)
{
    struct store *s;

    (void)state;
    admin = getenv("REGISTRAR_TEST_ADMIN_CONNINFO");
    if (!admin) {
        fprintf(stderr, "REGISTRAR_TEST_ADMIN_CONNINFO is not set\n");
        return -1;
    }
    snprintf(dbname, sizeof(dbname), "registrar_cache_%d", (int)getpid());
    pgtest_create_db(admin, dbname, "C", conninfo, sizeof(conninfo));
    db = pgtest_connect(conninfo);
    s = store_new(conninfo);
    if (!s || store_migrate(s) != STORE_OK)
        return -1;
    store_close(s);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    PQfinish(db);
    pgtest_drop_db(admin, dbname);
    return 0;
}

static double mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One turn of the daemon's loop: what the server sent (within ms), then
 * what was queued goes out. */
static void turn(struct store *s, int ms)
{
    short ev = 0;
    int fd = store_watch(s, &ev);
    struct pollfd p = {.fd = fd, .events = ev};

    if (poll(&p, fd >= 0 ? 1 : 0, ms) > 0)
        store_on_ready(s);
    store_turn(s);
}

/* Turns until every operation is answered (at most 10 s). */
static void run_loop(struct store *s)
{
    double until = mono() + 10;

    store_turn(s);
    while (store_busy(s) && mono() < until)
        turn(s, 50);
    assert_false(store_busy(s));
}

/* Turns for ms: notifications arrive, reads of the log go out with
 * whatever is queued. */
static void idle(struct store *s, int ms)
{
    double until = mono() + ms / 1000.0;

    while (mono() < until)
        turn(s, 5);
    run_loop(s);
}

/* A store attached with a cache of cap entries and readers connections
 * of its own for the gets. */
static struct store *new_reading(unsigned cap, unsigned readers)
{
    struct store *s = store_new(conninfo);

    assert_non_null(s);
    assert_int_equal(store_prepare(s), STORE_OK);
    assert_true(store_set_cache(s, SVC, cap));
    store_attach(s, NULL, 0);
    assert_true(store_set_readers(s, readers));
    return s;
}

static struct store *new_cached(unsigned cap)
{
    return new_reading(cap, 0);
}

static struct store_cache_figures figures(struct store *s)
{
    struct store_cache_figures f;

    assert_true(store_cache_figures(s->cache, SVC, &f));
    return f;
}

/* A cached get of jid: true when it was answered at once (a hit). */
static bool get(struct store *s, const char *jid, struct got *g)
{
    memset(g, 0, sizeof(*g));
    store_get_cached(s, SVC, jid, on_get, g);
    if (g->calls == 1)
        return true;
    run_loop(s);
    assert_int_equal(g->calls, 1);
    return false;
}

/* Registers jid (through s) with field note=value. */
static void put_note(struct store *s, const char *jid, const char *value)
{
    struct got g = {0};
    struct form_data d = {0};
    struct store_put p = {.service = SVC, .jid = jid, .fields = &d};

    assert_true(form_data_add(&d, "note", value));
    store_put(s, &p, on_put, &g);
    run_loop(s);
    form_data_clear(&d);
    assert_int_equal(g.st, STORE_OK);
}

/* The cache in use: its first read of the log done. */
static void warm(struct store *s, const char *jid)
{
    struct got g;

    get(s, jid, &g); /* the first transaction reads the log's end */
    get(s, jid, &g); /* read again: kept */
    assert_true(get(s, jid, &g));
}

/* Plain SQL on the test's connection, autocommitted. */
#define sql(fmt, arg)                                                          \
    do {                                                                       \
        char q_[512];                                                          \
        snprintf(q_, sizeof(q_), fmt, arg);                                    \
        pgtest_exec(db, q_);                                                   \
    } while (0)

static void sort(double *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int k = i; k > 0 && v[k - 1] > v[k]; k--) {
            double t = v[k];
            v[k] = v[k - 1];
            v[k - 1] = t;
        }
}

/* ---- tests --------------------------------------------------------------- */

/* Hits and misses; a get through the cache carries no hash; this store's
 * writes (a creation, an update, a removal) are seen by the next get,
 * before any notification, and without a read: written through. */
static void test_own_writes_seen_at_once(void **state)
{
    struct store *s = new_cached(100);
    struct got g;
    struct store_cache_figures f;

    (void)state;
    pgtest_exec(db, "TRUNCATE registrations");
    /* the first transaction reads where the log ends (before the put,
     * whose entry is then written through), the put's own notification
     * is known for its own (sql/012's event ids): the first get is
     * answered from the cache */
    put_note(s, "a@x.example", "one");
    idle(s, 50);
    assert_true(get(s, "a@x.example", &g));
    assert_int_equal(g.st, STORE_OK);
    assert_string_equal(g.fields, "note=one;");
    assert_string_equal(g.hash, "(null)");
    /* not registered: kept too */
    assert_false(get(s, "nobody@x.example", &g));
    assert_true(get(s, "nobody@x.example", &g));
    assert_int_equal(g.st, STORE_NOT_FOUND);

    /* write-through: the entry is what the write left, no read */
    put_note(s, "a@x.example", "two");
    assert_true(get(s, "a@x.example", &g));
    assert_string_equal(g.fields, "note=two;");
    put_note(s, "nobody@x.example", "new"); /* a creation */
    assert_true(get(s, "nobody@x.example", &g));
    assert_int_equal(g.st, STORE_OK);
    assert_string_equal(g.fields, "note=new;");
    /* a removal: not registered, from the cache */
    {
        struct got r = {0};

        store_remove(s, SVC, "nobody@x.example", &(struct store_origin){0},
                     on_done, &r);
        run_loop(s);
        assert_int_equal(r.st, STORE_OK);
    }
    assert_true(get(s, "nobody@x.example", &g));
    assert_int_equal(g.st, STORE_NOT_FOUND);
    put_note(s, "nobody@x.example", "new");
    assert_true(get(s, "nobody@x.example", &g));
    assert_string_equal(g.fields, "note=new;");
    /* the same as a read of the database */
    memset(&g, 0, sizeof(g));
    store_get(s, SVC, "a@x.example", NULL, on_get, &g);
    run_loop(s);
    assert_string_equal(g.fields, "note=two;");
    idle(s, 100); /* the writes' notifications: this store's own, nothing
                   * to read, the entries stay */
    assert_true(get(s, "a@x.example", &g));
    assert_string_equal(g.fields, "note=two;");
    assert_true(get(s, "nobody@x.example", &g));
    f = figures(s);
    printf("own writes: %u entries, %llu hits, %llu misses, applied %lld, "
           "horizon %lld\n",
           f.entries, (unsigned long long)f.hits, (unsigned long long)f.misses,
           f.applied, f.horizon);
    assert_true(f.usable);
    assert_int_equal(f.applied, f.horizon); /* no read was needed */
    store_close(s);
}

/* A change by plain SQL and one by another store: a get that follows the
 * notification's arrival sees it; the window from the commit to the
 * first get that sees it, with a get every turn of a busy loop. */
static void test_others_change_seen_after_notification(void **state)
{
    struct store *s = new_cached(100), *other = new_cached(0);
    struct got g;
    enum { TRIALS = 200 };
    double window[TRIALS], notice[TRIALS], sum = 0;
    int stale_max = 0;
    char value[32];

    (void)state;
    pgtest_exec(db, "TRUNCATE registrations");
    put_note(s, "b@x.example", "v0");
    warm(s, "b@x.example");

    /* another instance disables it: seen once notified */
    store_set_state(
        other, SVC, "b@x.example", STORE_STATE_DISABLED, NULL,
        &(struct store_origin){.actor = "adm@x.example", .reason = "spam"},
        on_done, &g);
    run_loop(other);
    assert_int_equal(g.st, STORE_OK);
    idle(s, 100);
    assert_false(get(s, "b@x.example", &g));
    assert_int_equal(g.state, STORE_STATE_DISABLED);
    assert_string_equal(g.rec_reason, "spam");
    /* that get went out behind the read of the log that dropped b: issued
     * before the drop, it kept nothing; the next one is kept */
    assert_false(get(s, "b@x.example", &g));
    assert_true(get(s, "b@x.example", &g));
    assert_int_equal(g.state, STORE_STATE_DISABLED);
    sql("UPDATE registrations SET state = 'active' WHERE jid = '%s'",
        "b@x.example");

    /* the window, TRIALS times: a plain SQL UPDATE commits, then a get
     * each turn of a loop (poll on the store's socket, at most 1 ms)
     * until one answers the new value */
    for (int i = 0; i < TRIALS; i++) {
        double t0, t_miss = 0;
        int stale = 0;

        idle(s, 2);
        for (int k = 0; k < 4 && !get(s, "b@x.example", &g); k++)
            ; /* cached again */
        snprintf(value, sizeof(value), "v%d", i + 1);
        sql("UPDATE registrations SET fields = jsonb_build_object('note', "
            "'%s') WHERE jid = 'b@x.example'",
            value);
        t0 = mono();
        for (;;) {
            char want[40];
            double t = mono();

            snprintf(want, sizeof(want), "note=%s;", value);
            if (!get(s, "b@x.example", &g) && !t_miss)
                t_miss = t; /* the first get not answered from the cache */
            if (strcmp(g.fields, want) == 0)
                break;
            stale++;
            turn(s, 1); /* as the daemon: woken by what arrives */
            assert_true(mono() - t0 < 5);
        }
        window[i] = mono() - t0;
        notice[i] = t_miss - t0;
        sum += window[i];
        if (stale > stale_max)
            stale_max = stale;
    }
    sort(window, TRIALS);
    sort(notice, TRIALS);
    printf("plain SQL commit (its COMMIT answered) to the first get not "
           "answered from the cache, %d trials: min %.0f us, median %.0f us, "
           "p99 %.0f us, max %.0f us; to the first answer that has the "
           "change (that get's read): min %.0f us, median %.0f us, p99 "
           "%.0f us, max %.0f us, mean %.0f us; at most %d stale answers in "
           "between\n",
           TRIALS, notice[0] * 1e6, notice[TRIALS / 2] * 1e6,
           notice[TRIALS * 99 / 100] * 1e6, notice[TRIALS - 1] * 1e6,
           window[0] * 1e6, window[TRIALS / 2] * 1e6,
           window[TRIALS * 99 / 100] * 1e6, window[TRIALS - 1] * 1e6,
           sum / TRIALS * 1e6, stale_max);
    assert_true(window[TRIALS / 2] < 0.1);
    store_close(other);
    store_close(s);
}

/* A JID forgotten (registrar_forget_jid deletes the events it wrote): its
 * entry is not answered after the notification. */
static void test_forgotten(void **state)
{
    struct store *s = new_cached(100);
    struct got g;

    (void)state;
    pgtest_exec(db, "TRUNCATE registrations");
    put_note(s, "c@x.example", "x");
    put_note(s, "d@x.example", "x");
    warm(s, "c@x.example");
    get(s, "d@x.example", &g);
    assert_true(get(s, "d@x.example", &g));
    pgtest_exec(db, "SELECT registrar_forget_jid('c@x.example')");
    idle(s, 100);
    assert_false(get(s, "c@x.example", &g));
    assert_int_equal(g.st, STORE_NOT_FOUND);
    assert_true(figures(s).evicted_reset >= 2); /* gone: all emptied */
    store_close(s);
}

/* A lost connection empties the cache; the next connection LISTENs and
 * reads the log again. */
static void test_lost_connection_empties(void **state)
{
    struct store *s = new_cached(100);
    struct got g;

    (void)state;
    pgtest_exec(db, "TRUNCATE registrations");
    put_note(s, "e@x.example", "x");
    warm(s, "e@x.example");
    assert_true(figures(s).entries > 0);
    pgtest_exec(db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = 'registrar'"
                    "   AND datname = current_database()");
    for (int i = 0; i < 100 && s->conn; i++)
        turn(s, 20); /* the loop reads the end of the connection */
    assert_null(s->conn);
    assert_int_equal(figures(s).entries, 0);
    assert_false(figures(s).usable);
    assert_false(get(s, "e@x.example", &g)); /* reconnects */
    assert_int_equal(g.st, STORE_OK);
    assert_true(s->listening);
    warm(s, "e@x.example");
    /* and sees others' changes on the new connection */
    sql("UPDATE registrations SET fields = '{\"note\": \"after\"}' WHERE jid "
        "= '%s'",
        "e@x.example");
    idle(s, 100);
    assert_false(get(s, "e@x.example", &g));
    assert_string_equal(g.fields, "note=after;");
    store_close(s);
}

/* ---- races ----------------------------------------------------------------
 */

#define KEYS 8

static atomic_bool stop_writer;

/* Plain SQL UPDATEs of the keys, as fast as it can, on a connection of
 * its own. */
static void *writer(void *arg)
{
    PGconn *c = pgtest_connect(conninfo);
    unsigned n = 0;

    (void)arg;
    while (!atomic_load(&stop_writer)) {
        char q[256];

        snprintf(q, sizeof(q),
                 "UPDATE registrations SET fields = jsonb_build_object("
                 "'note', 'sql%u') WHERE jid = 'k%u@x.example'",
                 n, n % KEYS);
        pgtest_exec(c, q);
        n++;
    }
    PQfinish(c);
    return (void *)(uintptr_t)n;
}

/* Gets through the cache racing this store's writes and another
 * connection's, on the same keys: once both stop and the notifications
 * are in, every key the cache answers is what the database holds. */
static void race(unsigned readers)
{
    struct store *s = new_reading(KEYS / 2, readers); /* evictions too */
    pthread_t th;
    struct got g[KEYS];
    char jid[KEYS][32];
    void *writes;
    unsigned own = 0;
    double until;
    struct store_cache_figures f;

    pgtest_exec(db, "TRUNCATE registrations");
    for (int k = 0; k < KEYS; k++) {
        snprintf(jid[k], sizeof(jid[k]), "k%d@x.example", k);
        put_note(s, jid[k], "start");
    }
    warm(s, jid[0]);
    atomic_store(&stop_writer, false);
    assert_int_equal(pthread_create(&th, NULL, writer, NULL), 0);
    until = mono() + 3;
    for (unsigned i = 0; mono() < until; i++) {
        static struct got w;
        struct form_data d = {0};
        char v[32];
        int k = (int)(i % KEYS);

        /* a get of every key, and a write of one, in flight together */
        for (int j = 0; j < KEYS; j++) {
            memset(&g[j], 0, sizeof(g[j]));
            store_get_cached(s, SVC, jid[j], on_get, &g[j]);
        }
        if (i % 3 == 0) {
            snprintf(v, sizeof(v), "own%u", i);
            assert_true(form_data_add(&d, "note", v));
            store_put(s,
                      &(struct store_put){
                          .service = SVC, .jid = jid[k], .fields = &d},
                      on_put, &w);
            form_data_clear(&d);
            own++;
        }
        for (int j = 0; j < KEYS; j++) {
            memset(&g[j], 0, sizeof(g[j]));
            store_get_cached(s, SVC, jid[(j + k) % KEYS], on_get, &g[j]);
        }
        turn(s, 1);
    }
    atomic_store(&stop_writer, true);
    pthread_join(th, &writes);
    run_loop(s);
    idle(s, 300); /* the last notifications, and the read they ask for */
    for (int k = 0; k < KEYS; k++) {
        char q[320], *want, expect[320];

        get(s, jid[k], &g[k]);
        snprintf(q, sizeof(q),
                 "SELECT fields->>'note' FROM registrations WHERE jid = '%s'",
                 jid[k]);
        want = pgtest_scalar(db, q);
        snprintf(expect, sizeof(expect), "note=%s;", want);
        if (strcmp(g[k].fields, expect) != 0)
            fail_msg("%s: the cache answers %s, the database holds %s", jid[k],
                     g[k].fields, expect);
        free(want);
    }
    f = figures(s);
    printf("race (%u readers): %u plain SQL updates and %u own writes "
           "against the gets of %d keys (cap %d): %llu hits, %llu misses, "
           "evicted %llu capacity, %llu changed, %llu reset; no stale entry "
           "after\n",
           readers, (unsigned)(uintptr_t)writes, own, KEYS, KEYS / 2,
           (unsigned long long)f.hits, (unsigned long long)f.misses,
           (unsigned long long)f.evicted_capacity,
           (unsigned long long)f.evicted_changed,
           (unsigned long long)f.evicted_reset);
    store_close(s);
}

static void test_race_never_stale(void **state)
{
    (void)state;
    race(0);
}

/* The same with the gets on two connections of their own. */
static void test_race_never_stale_readers(void **state)
{
    (void)state;
    race(2);
}

/* ---- readers ---------------------------------------------------------------
 */

/* Backends of this database named registrar. */
static int backends(void)
{
    char *n = pgtest_scalar(db, "SELECT count(*) FROM pg_stat_activity"
                                " WHERE application_name = 'registrar'"
                                "   AND datname = current_database()");
    int v = atoi(n);

    free(n);
    return v;
}

/* With readers, the gets go out on them: a get that follows a write's
 * answer sees it; another's change is seen after its notification though
 * the store's own connection has nothing else to send; a reader's lost
 * connection does not empty the cache; with the cache off the gets still
 * go to the readers. */
static void test_readers(void **state)
{
    struct store *s = new_reading(100, 2);
    struct got g;
    char v[32], want[48];

    (void)state;
    pgtest_exec(db, "TRUNCATE registrations");
    put_note(s, "r@x.example", "v0");
    warm(s, "r@x.example");
    assert_false(get(s, "miss@x.example", &g)); /* a reader's */
    assert_true(s->readers[0]->conn || s->readers[1]->conn);
    for (int i = 1; i <= 100; i++) {
        snprintf(v, sizeof(v), "v%d", i);
        snprintf(want, sizeof(want), "note=%s;", v);
        put_note(s, "r@x.example", v);
        get(s, "r@x.example", &g);
        assert_string_equal(g.fields, want);
    }
    /* both readers connected, the store's own too */
    for (int i = 0; i < 20; i++) {
        char jid[32];
        snprintf(jid, sizeof(jid), "n%d@x.example", i);
        store_get_cached(s, SVC, jid, on_get, &g);
        store_get_cached(s, SVC, jid, on_get, &g);
    }
    run_loop(s);
    assert_non_null(s->readers[0]->conn);
    assert_non_null(s->readers[1]->conn);
    assert_int_equal(backends(), 3);

    warm(s, "r@x.example");
    sql("UPDATE registrations SET fields = '{\"note\": \"sql\"}' WHERE "
        "jid = '%s'",
        "r@x.example");
    idle(s, 100); /* notified; the read goes out alone */
    assert_true(figures(s).usable);
    assert_false(get(s, "r@x.example", &g));
    assert_string_equal(g.fields, "note=sql;");

    /* a reader's connection lost: its gets go again, the cache stays */
    warm(s, "r@x.example");
    pgtest_exec(db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = 'registrar'"
                    "   AND datname = current_database()"
                    "   AND pid <> (SELECT min(pid) FROM pg_stat_activity"
                    "   WHERE application_name = 'registrar'"
                    "     AND datname = current_database())");
    idle(s, 100);
    for (int i = 0; i < 10; i++) {
        char jid[32];
        snprintf(jid, sizeof(jid), "m%d@x.example", i);
        get(s, jid, &g);
        assert_int_equal(g.st, STORE_NOT_FOUND);
    }
    printf("readers: after two lost, %d backends, %u entries\n", backends(),
           figures(s).entries);
    store_close(s);

    /* no cache: the gets on the readers all the same */
    s = new_reading(0, 1);
    put_note(s, "r@x.example", "nocache");
    get(s, "r@x.example", &g);
    assert_string_equal(g.fields, "note=nocache;");
    assert_non_null(s->readers[0]->conn);
    store_close(s);
}

/* public.registrations' sequential scans so far (the test's snapshot
 * cleared first). */
static long long seq_scans(void)
{
    char *v;
    long long n;

    pgtest_exec(db, "SELECT pg_stat_clear_snapshot()");
    v = pgtest_scalar(db, "SELECT seq_scan FROM pg_stat_user_tables"
                          " WHERE relid = 'registrations'::regclass");
    n = atoll(v);
    free(v);
    return n;
}

/* A table of a few pages when the session plans (a new deployment): its
 * writes and reads still go by the key as a burst of sign-ups grows it
 * (store_conn.c: enable_seqscan), not by a scan of every row. */
static void test_no_scan_of_a_growing_table(void **state)
{
    struct store *s;
    struct got g;
    long long before, after;

    (void)state;
    pgtest_exec(db, "TRUNCATE registrations");
    pgtest_exec(db, "ANALYZE registrations");
    before = seq_scans();
    s = new_cached(0); /* every get read */
    for (int i = 0; i < 300; i++) {
        char jid[32];

        snprintf(jid, sizeof(jid), "grow%d@x.example", i);
        put_note(s, jid, "v");
        put_note(s, jid, "w"); /* an update */
        get(s, jid, &g);
        assert_string_equal(g.fields, "note=w;");
    }
    store_close(s); /* its backend's counters reported as it exits */
    for (int i = 0; i < 50 && (after = seq_scans()) == before; i++)
        usleep(20000);
    after = seq_scans();
    printf("600 writes and 300 reads of a table grown from empty: %lld "
           "sequential scans\n",
           after - before);
    /* not one per operation (900 before the setting): the few left are
     * the set-up's (store_prepare's checks, on a connection of its own) */
    assert_true(after - before < 50);
}

/* What a hit and a miss cost on this machine (printed). */
static void test_cost(void **state)
{
    struct store *s = new_cached(1000);
    struct got g;
    enum { N = 2000 };
    double t0, hit, miss;

    (void)state;
    pgtest_exec(db, "TRUNCATE registrations");
    put_note(s, "f@x.example", "x");
    warm(s, "f@x.example");
    t0 = mono();
    for (int i = 0; i < N; i++)
        assert_true(get(s, "f@x.example", &g));
    hit = (mono() - t0) / N;
    t0 = mono();
    for (int i = 0; i < N / 10; i++) {
        char jid[32];
        snprintf(jid, sizeof(jid), "none%d@x.example", i);
        assert_false(get(s, jid, &g));
    }
    miss = (mono() - t0) / (N / 10);
    printf("a hit: %.1f us; a miss alone (a transaction's round trip): "
           "%.0f us; %u entries, %zu bytes\n",
           hit * 1e6, miss * 1e6, figures(s).entries, figures(s).bytes);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_own_writes_seen_at_once),
        cmocka_unit_test(test_others_change_seen_after_notification),
        cmocka_unit_test(test_forgotten),
        cmocka_unit_test(test_lost_connection_empties),
        cmocka_unit_test(test_race_never_stale),
        cmocka_unit_test(test_race_never_stale_readers),
        cmocka_unit_test(test_readers),
        cmocka_unit_test(test_no_scan_of_a_growing_table),
        cmocka_unit_test(test_cost),
    };

    setvbuf(stdout, NULL, _IOLBF, 0);
    return cmocka_run_group_tests(tests, setup, teardown);
}
