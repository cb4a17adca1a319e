/*
 * worker.h - runs slow CPU work (bcrypt) off the event loop.
 *
 * work() runs on a worker thread and must touch nothing but its own arg
 * (no stanzas, no libstrophe, no store).  done() runs later on the loop
 * thread, from worker_drain(), when worker_fd() is readable.
 */
#ifndef REGISTRAR_WORKER_H
#define REGISTRAR_WORKER_H

#include <stdbool.h>

struct worker;

/* nthreads >= 1.  Caller owns the result (worker_free).  NULL on failure. */
struct worker *worker_new(unsigned nthreads);

/* Refuses new work from now on, lets the threads finish what is queued and
 * joins them.  The done()s still due run at the next worker_drain(). */
void worker_close(struct worker *w);

/* Closes (if not yet), runs every done() still due (on the calling
 * thread), frees. */
void worker_free(struct worker *w);

/* Queues work(arg) then done(arg).  False when out of memory or closed
 * (nothing is queued and neither function will run). */
bool worker_submit(struct worker *w, void (*work)(void *arg),
                   void (*done)(void *arg), void *arg);

/* A file descriptor that is readable while finished jobs wait. */
int worker_fd(const struct worker *w);

/* Runs done() of every finished job, on the calling (loop) thread. */
void worker_drain(struct worker *w);

/* Jobs submitted whose done() has not run yet. */
unsigned worker_pending(const struct worker *w);

#endif
