/*
 * bench_hash.c - what bcrypt costs, and what it would cost the event loop.
 *
 * Prints (1) the CPU time of one hash at each cost, and (2) side by side in
 * one run, the longest time a loop waiting in poll() goes unserved while
 * N registrations are hashed: inline on the loop, or on the worker
 * threads registrar uses.  A benchmark, not a test: it asserts nothing.
 *
 *   bench_hash [N=20] [COST=10]
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "secret.h"
#include "worker.h"

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct job {
    unsigned cost;
    char out[SECRET_HASH_MAX];
};

static void work(void *arg)
{
    struct job *j = arg;

    secret_hash("correct horse battery staple", j->cost, j->out);
}

static int done_count;

static void done(void *arg)
{
    (void)arg;
    done_count++;
}

/* The loop: wake every millisecond (as for a stanza) and note the longest
 * gap between two wake-ups, until n jobs are done. */
static double longest_gap_offloaded(struct worker *w, struct job *jobs, int n)
{
    double last = now_ms(), worst = 0;

    done_count = 0;
    for (int i = 0; i < n; i++)
        worker_submit(w, work, done, NULL, &jobs[i]);
    while (done_count < n) {
        struct pollfd p = {.fd = worker_fd(w), .events = POLLIN};
        poll(&p, 1, 1);
        if (p.revents & POLLIN)
            worker_drain(w);
        double t = now_ms();
        if (t - last > worst)
            worst = t - last;
        last = t;
    }
    return worst;
}

static double longest_gap_inline(struct job *jobs, int n)
{
    double last = now_ms(), worst = 0;

    for (int i = 0; i < n; i++) {
        work(&jobs[i]); /* the loop is stuck here */
        double t = now_ms();
        if (t - last > worst)
            worst = t - last;
        last = t;
    }
    return worst;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20;
    unsigned cost = argc > 2 ? (unsigned)atoi(argv[2]) : 10;
    struct job *jobs = calloc((size_t)n, sizeof(*jobs));
    struct worker *w = worker_new(2, 0);
    double t0, inline_total, offload_total, gap_inline, gap_offload;

    printf("bcrypt $2a$, CPU time of one hash:\n");
    for (unsigned c = 4; c <= 12; c += 2) {
        int reps = c <= 8 ? 40 : c <= 10 ? 10 : 3;
        struct job j = {.cost = c};
        t0 = now_ms();
        for (int i = 0; i < reps; i++)
            work(&j);
        printf("  cost %2u: %7.1f ms\n", c, (now_ms() - t0) / reps);
    }
    for (int i = 0; i < n; i++)
        jobs[i].cost = cost;

    t0 = now_ms();
    gap_inline = longest_gap_inline(jobs, n);
    inline_total = now_ms() - t0;
    t0 = now_ms();
    gap_offload = longest_gap_offloaded(w, jobs, n);
    offload_total = now_ms() - t0;

    printf("\n%d registrations hashed at cost %u, side by side:\n", n, cost);
    printf("  %-28s %10s %14s %16s\n", "", "all done", "stall/request",
           "stall/burst");
    /* Inline, a burst read at once blocks the loop for all of it. */
    printf("  %-28s %7.0f ms %11.1f ms %13.0f ms\n", "inline on the event loop",
           inline_total, gap_inline, inline_total);
    printf("  %-28s %7.0f ms %11.1f ms %13.1f ms\n",
           "on 2 worker threads (used)", offload_total, gap_offload,
           gap_offload);
    printf("  longest stall, inline / worker: %.0fx per request, %.0fx per "
           "burst\n",
           gap_offload > 0 ? gap_inline / gap_offload : 0,
           gap_offload > 0 ? inline_total / gap_offload : 0);
    worker_free(w);
    free(jobs);
    return 0;
}
