/* test_worker.c - the thread pool: work off the calling thread, done()
 * on it after the eventfd fires, a bound on jobs in hand and its shares
 * per owner, and at shutdown nothing lost: queued jobs with a drop() are
 * dropped (drop() then done()), the others still run. */
#include "testutil.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "worker.h"

struct job {
    pthread_t worked_on;
    int work_calls;
    int drop_calls;
    int done_calls;
    bool dropped_before_done; /* what done() saw */
};

static void work(void *arg)
{
    struct job *j = arg;

    j->worked_on = pthread_self();
    j->work_calls++;
}

static void done(void *arg)
{
    struct job *j = arg;

    j->dropped_before_done = j->drop_calls > 0;
    j->done_calls++;
}

static void drop(void *arg)
{
    struct job *j = arg;

    j->drop_calls++;
}

static void test_round_trip(void **state)
{
    struct worker *w = worker_new(2, 0);
    struct job jobs[50] = {{0}};
    int finished = 0;

    (void)state;
    for (int i = 0; i < 50; i++)
        assert_true(worker_submit(w, work, done, NULL, &jobs[i]));
    assert_int_equal(worker_pending(w), 50);
    while (worker_pending(w) > 0) {
        struct pollfd p = {.fd = worker_fd(w), .events = POLLIN};
        assert_int_equal(poll(&p, 1, 5000), 1); /* the eventfd wakes us */
        worker_drain(w);
    }
    for (int i = 0; i < 50; i++) {
        assert_int_equal(jobs[i].done_calls, 1);
        assert_false(pthread_equal(jobs[i].worked_on, pthread_self()));
        finished++;
    }
    assert_int_equal(finished, 50);
    worker_free(w);
}

static void test_free_runs_what_is_left(void **state)
{
    struct worker *w = worker_new(1, 0);
    struct job jobs[10] = {{0}};

    (void)state;
    for (int i = 0; i < 10; i++)
        worker_submit(w, work, done, NULL, &jobs[i]);
    worker_free(w);
    for (int i = 0; i < 10; i++)
        assert_int_equal(jobs[i].done_calls, 1);
}

static void test_closed_refuses(void **state)
{
    struct worker *w = worker_new(1, 0);
    struct job j = {0};

    (void)state;
    assert_true(worker_submit(w, work, done, NULL, &j));
    worker_close(w); /* the queued job still runs: it has no drop() */
    assert_false(worker_submit(w, work, done, drop, &j));
    worker_drain(w);
    assert_int_equal(j.work_calls, 1);
    assert_int_equal(j.done_calls, 1);
    assert_int_equal(worker_pending(w), 0);
    worker_free(w);
}

/* A job that holds the only thread until released. */
static atomic_bool release, blocking;

static void block(void *arg)
{
    (void)arg;
    atomic_store(&blocking, true);
    while (!atomic_load(&release))
        usleep(1000);
}

static void nothing(void *arg)
{
    (void)arg;
}

static void start_blocker(struct worker *w)
{
    atomic_store(&release, false);
    atomic_store(&blocking, false);
    assert_true(worker_submit(w, block, nothing, NULL, NULL));
    while (!atomic_load(&blocking))
        usleep(1000);
}

static void test_bound(void **state)
{
    struct worker *w = worker_new(1, 4);
    struct job jobs[5] = {{0}};

    (void)state;
    start_blocker(w); /* counts: submitted, done() not run */
    for (int i = 0; i < 3; i++)
        assert_true(worker_submit(w, work, done, NULL, &jobs[i]));
    assert_true(worker_full(w));
    assert_false(worker_submit(w, work, done, NULL, &jobs[3]));
    assert_int_equal(worker_pending(w), 4);
    atomic_store(&release, true);
    /* finished but not drained still counts: the bound is on memory */
    while (worker_pending(w) > 0) {
        struct pollfd p = {.fd = worker_fd(w), .events = POLLIN};
        assert_int_equal(poll(&p, 1, 5000), 1);
        worker_drain(w);
    }
    assert_false(worker_full(w));
    assert_true(worker_submit(w, work, done, NULL, &jobs[4]));
    worker_free(w);
    for (int i = 0; i < 5; i++)
        assert_int_equal(jobs[i].done_calls, i == 3 ? 0 : 1);
    assert_int_equal(jobs[3].work_calls, 0);
}

static void *release_later(void *arg)
{
    (void)arg;
    usleep(100 * 1000);
    atomic_store(&release, true);
    return NULL;
}

static void test_close_drops_queued(void **state)
{
    pthread_t releaser;
    struct worker *w = worker_new(1, 0);
    struct job dropped[20] = {{0}}, kept = {0};

    (void)state;
    start_blocker(w); /* in hand: not dropped, finishes */
    for (int i = 0; i < 10; i++)
        assert_true(worker_submit(w, work, done, drop, &dropped[i]));
    assert_true(worker_submit(w, work, done, NULL, &kept));
    for (int i = 10; i < 20; i++)
        assert_true(worker_submit(w, work, done, drop, &dropped[i]));
    /* released while worker_close waits for the job in hand */
    assert_int_equal(pthread_create(&releaser, NULL, release_later, NULL), 0);
    worker_close(w);
    pthread_join(releaser, NULL);
    /* nothing runs on the loop thread before the drain */
    for (int i = 0; i < 20; i++)
        assert_int_equal(dropped[i].done_calls, 0);
    {
        struct pollfd p = {.fd = worker_fd(w), .events = POLLIN};
        assert_int_equal(poll(&p, 1, 0), 1); /* the loop is told */
    }
    worker_drain(w);
    assert_int_equal(worker_pending(w), 0);
    for (int i = 0; i < 20; i++) {
        /* the job in hand held the thread until close: none started */
        assert_int_equal(dropped[i].work_calls, 0);
        assert_int_equal(dropped[i].drop_calls, 1);
        assert_int_equal(dropped[i].done_calls, 1);
        assert_true(dropped[i].dropped_before_done);
    }
    assert_int_equal(kept.work_calls, 1);
    assert_int_equal(kept.drop_calls, 0);
    assert_int_equal(kept.done_calls, 1);
    worker_free(w);
}

static void drain_all(struct worker *w)
{
    while (worker_pending(w) > 0) {
        struct pollfd p = {.fd = worker_fd(w), .events = POLLIN};
        assert_int_equal(poll(&p, 1, 5000), 1);
        worker_drain(w);
    }
}

/* Two owners share a bound of 5: 2 each (5 / 2), however hard one
 * pushes; a job done gives its owner's room back; one share is the whole
 * bound; more shares than room still leaves each owner one. */
static void test_shares(void **state)
{
    struct worker *w = worker_new(1, 5);
    struct job jobs[16] = {{0}};
    int a, b, n = 0;
    const char *owner_a = "a", *owner_b = "b";

    (void)state;
    assert_int_equal(worker_share(w), 5);
    worker_set_shares(w, 2);
    assert_int_equal(worker_share(w), 2);
    for (a = 0; a < 6; a++)
        if (!worker_submit_for(w, owner_a, work, done, NULL, &jobs[n]))
            break;
        else
            n++;
    assert_int_equal(a, 2); /* a's flood: 2 taken, the rest refused */
    assert_true(worker_full_for(w, owner_a));
    assert_false(worker_full_for(w, owner_b));
    assert_false(worker_full(w));
    for (b = 0; b < 6; b++)
        if (!worker_submit_for(w, owner_b, work, done, NULL, &jobs[n]))
            break;
        else
            n++;
    assert_int_equal(b, 2);
    assert_int_equal(worker_pending_for(w, owner_a), 2);
    assert_int_equal(worker_pending_for(w, owner_b), 2);
    /* a job without an owner takes what is left of the whole */
    assert_true(worker_submit(w, work, done, NULL, &jobs[n++]));
    assert_true(worker_full(w));
    assert_false(worker_submit(w, work, done, NULL, &jobs[n]));
    drain_all(w);
    assert_int_equal(worker_pending_for(w, owner_a), 0);
    assert_false(worker_full_for(w, owner_a));
    for (int i = 0; i < n; i++)
        assert_int_equal(jobs[i].done_calls, 1);

    /* 5 shares of 5, 9 shares of 5: one each */
    worker_set_shares(w, 9);
    assert_int_equal(worker_share(w), 1);
    assert_true(worker_submit_for(w, owner_a, work, done, NULL, &jobs[0]));
    assert_false(worker_submit_for(w, owner_a, work, done, NULL, &jobs[1]));
    assert_true(worker_submit_for(w, owner_b, work, done, NULL, &jobs[1]));
    drain_all(w);
    /* no bound: no share either */
    worker_free(w);
    w = worker_new(1, 0);
    worker_set_shares(w, 2);
    assert_int_equal(worker_share(w), 0);
    for (int i = 0; i < 16; i++)
        assert_true(worker_submit_for(w, owner_a, work, done, NULL, &jobs[i]));
    drain_all(w);
    worker_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_free_runs_what_is_left),
        cmocka_unit_test(test_closed_refuses),
        cmocka_unit_test(test_bound),
        cmocka_unit_test(test_close_drops_queued),
        cmocka_unit_test(test_shares),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
