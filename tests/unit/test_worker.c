/* test_worker.c - the thread pool: work off the calling thread, done()
 * on it after the eventfd fires, and nothing lost at shutdown. */
#include "testutil.h"

#include <poll.h>
#include <pthread.h>

#include "worker.h"

struct job {
    pthread_t worked_on;
    int done_calls;
};

static void work(void *arg)
{
    struct job *j = arg;

    j->worked_on = pthread_self();
}

static void done(void *arg)
{
    struct job *j = arg;

    j->done_calls++;
}

static void test_round_trip(void **state)
{
    struct worker *w = worker_new(2);
    struct job jobs[50] = {{0}};
    int finished = 0;

    (void)state;
    for (int i = 0; i < 50; i++)
        assert_true(worker_submit(w, work, done, &jobs[i]));
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
    struct worker *w = worker_new(1);
    struct job jobs[10] = {{0}};

    (void)state;
    for (int i = 0; i < 10; i++)
        worker_submit(w, work, done, &jobs[i]);
    worker_free(w);
    for (int i = 0; i < 10; i++)
        assert_int_equal(jobs[i].done_calls, 1);
}

static void test_closed_refuses(void **state)
{
    struct worker *w = worker_new(1);
    struct job j = {0};

    (void)state;
    assert_true(worker_submit(w, work, done, &j));
    worker_close(w); /* the queued job still runs */
    assert_false(worker_submit(w, work, done, &j));
    worker_drain(w);
    assert_int_equal(j.done_calls, 1);
    assert_int_equal(worker_pending(w), 0);
    worker_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_free_runs_what_is_left),
        cmocka_unit_test(test_closed_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
