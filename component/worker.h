/*
 * worker.h - runs slow work (bcrypt, a schema migration) off the event loop.
 *
 * work() runs on a worker thread and must touch nothing but its own arg
 * (no stanzas, no libstrophe, no store).  done() runs later on the loop
 * thread, from worker_drain(), when worker_fd() is readable.
 *
 * A job may be given a drop() as well: when the worker is closed before
 * the job has started, drop(arg) runs instead of work(arg) (on the thread
 * that calls worker_close), and done(arg) follows as usual.  drop() only
 * records in arg that the work did not run (say, a "try again later"
 * status); done() is where the caller learns it.  A job without a drop()
 * is always run, even after worker_close.
 *
 * Shares: a worker bounded by max_pending may be split between owners
 * (the services of the process: an opaque key each) so that one owner's
 * flood cannot take the room another's jobs need.  With n shares, an
 * owner holds at most max(1, max_pending / n) jobs pending, and all of
 * them together at most max_pending: a plain partition, since a job
 * cannot be taken back once queued and room lent to a flooding owner
 * would be missing when the other's request comes.  Owners are counted
 * as they submit (a retired owner's jobs still count against the
 * total, not against its successor's share).
 */
#ifndef REGISTRAR_WORKER_H
#define REGISTRAR_WORKER_H

#include <stdbool.h>

struct worker;

/* nthreads threads; at most max_pending jobs submitted and not done (0:
 * no limit).  nthreads 0 makes an inline worker, for tests and the fuzzer:
 * worker_submit() runs work() then done() before it returns, on the
 * caller's thread (nothing to drain, nothing pending).  Caller owns the
 * result (worker_free).  NULL on failure. */
struct worker *worker_new(unsigned nthreads, unsigned max_pending);

/* Refuses new work from now on, drops every queued job that has a drop()
 * (see above), lets the threads finish the jobs in hand and the queued
 * ones without a drop(), and joins them.  The done()s still due run at
 * the next worker_drain().  A job in hand is not interrupted: whoever
 * can make it end sooner (store_interrupt) does so before calling this. */
void worker_close(struct worker *w);

/* Closes (if not yet), runs every done() still due (on the calling
 * thread), frees. */
void worker_free(struct worker *w);

/* Queues work(arg) then done(arg); drop may be NULL (never dropped).
 * False when the worker already holds max_pending jobs, is closed, or is
 * out of memory: nothing is queued and none of the functions will run. */
bool worker_submit(struct worker *w, void (*work)(void *arg),
                   void (*done)(void *arg), void (*drop)(void *arg), void *arg);

/* Splits max_pending into n shares (0 or 1: one, the whole; the
 * default).  Loop thread, any time: a smaller share refuses new jobs
 * until the owner's pending ones are done. */
void worker_set_shares(struct worker *w, unsigned n);

/* The share of one owner (max_pending 0: 0, no limit). */
unsigned worker_share(const struct worker *w);

/* worker_submit() on behalf of owner (a key, never dereferenced; NULL is
 * an owner like any other): also false when owner's share is full. */
bool worker_submit_for(struct worker *w, const void *owner,
                       void (*work)(void *arg), void (*done)(void *arg),
                       void (*drop)(void *arg), void *arg);

/* A file descriptor that is readable while finished jobs wait. */
int worker_fd(const struct worker *w);

/* Runs done() of every finished job, on the calling (loop) thread. */
void worker_drain(struct worker *w);

/* Jobs submitted whose done() has not run yet. */
unsigned worker_pending(const struct worker *w);

/* True when worker_submit would refuse for lack of room. */
bool worker_full(const struct worker *w);

/* Jobs of owner submitted whose done() has not run yet. */
unsigned worker_pending_for(const struct worker *w, const void *owner);

/* True when worker_submit_for(w, owner, ...) would refuse for lack of
 * room (the owner's share or the whole). */
bool worker_full_for(const struct worker *w, const void *owner);

#endif
