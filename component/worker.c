/*
 * worker.c - a small thread pool: a bounded queue of jobs in, a queue of
 * finished jobs out, and an eventfd that tells the loop when to drain.
 * Knows nothing of what the jobs do; counts them per owner for the
 * shares (worker.h).
 */
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"

struct job {
    struct job *next;
    struct owner *owner; /* NULL: submitted without an owner */
    void (*work)(void *);
    void (*done)(void *);
    void (*drop)(void *); /* NULL: never dropped */
    void *arg;
};

struct queue {
    struct job *head, *tail;
};

/* An owner with jobs pending (loop thread only); dropped at 0. */
struct owner {
    struct owner *next;
    const void *key;
    unsigned pending;
};

struct worker {
    pthread_mutex_t lock;
    pthread_cond_t more;
    struct queue todo, finished;
    bool stopping;
    bool joined;
    unsigned pending;     /* loop thread only */
    unsigned max_pending; /* 0: no limit */
    unsigned shares;      /* max_pending is split in this many (>= 1) */
    struct owner *owners; /* loop thread only */
    int efd;
    unsigned nthreads;
    pthread_t threads[];
};

static void push(struct queue *q, struct job *j)
{
    j->next = NULL;
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
}

static struct job *pop_all(struct queue *q)
{
    struct job *j = q->head;

    q->head = q->tail = NULL;
    return j;
}

static void *run(void *arg)
{
    struct worker *w = arg;
    uint64_t one = 1;

    pthread_mutex_lock(&w->lock);
    for (;;) {
        struct job *j;

        while (!w->todo.head && !w->stopping)
            pthread_cond_wait(&w->more, &w->lock);
        if (!w->todo.head)
            break; /* stopping and nothing left */
        j = w->todo.head;
        w->todo.head = j->next;
        if (!w->todo.head)
            w->todo.tail = NULL;
        pthread_mutex_unlock(&w->lock);
        j->work(j->arg);
        pthread_mutex_lock(&w->lock);
        push(&w->finished, j);
        while (write(w->efd, &one, sizeof(one)) < 0 && errno == EINTR)
            ;
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

struct worker *worker_new(unsigned nthreads, unsigned max_pending)
{
    struct worker *w;

    w = calloc(1, sizeof(*w) + nthreads * sizeof(pthread_t));
    if (!w)
        return NULL;
    w->max_pending = max_pending;
    w->shares = 1;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->more, NULL);
    w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->efd < 0) {
        free(w);
        return NULL;
    }
    for (; w->nthreads < nthreads; w->nthreads++) {
        if (pthread_create(&w->threads[w->nthreads], NULL, run, w) != 0) {
            log_error("worker", "cannot start a worker thread");
            worker_free(w);
            return NULL;
        }
    }
    return w;
}

static void free_list(struct job *j)
{
    while (j) {
        struct job *next = j->next;
        free(j);
        j = next;
    }
}

/* Takes the queued jobs that have a drop() out of todo; keeps the order
 * of the others.  Called with the lock held. */
static struct job *take_droppable(struct queue *todo)
{
    struct queue keep = {0}, dropped = {0};
    struct job *j = pop_all(todo);

    while (j) {
        struct job *next = j->next;
        push(j->drop ? &dropped : &keep, j);
        j = next;
    }
    *todo = keep;
    return dropped.head;
}

void worker_close(struct worker *w)
{
    struct job *dropped;
    uint64_t one = 1;

    if (w->joined)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    dropped = take_droppable(&w->todo);
    pthread_cond_broadcast(&w->more);
    pthread_mutex_unlock(&w->lock);
    while (dropped) {
        struct job *next = dropped->next;

        dropped->drop(dropped->arg);
        pthread_mutex_lock(&w->lock);
        push(&w->finished, dropped);
        pthread_mutex_unlock(&w->lock);
        dropped = next;
    }
    while (write(w->efd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
    for (unsigned i = 0; i < w->nthreads; i++)
        pthread_join(w->threads[i], NULL);
    w->joined = true;
}

void worker_free(struct worker *w)
{
    if (!w)
        return;
    worker_close(w);
    /* The threads finished every job: let each be answered and freed. */
    worker_drain(w);
    free_list(pop_all(&w->todo));
    while (w->owners) {
        struct owner *next = w->owners->next;
        free(w->owners);
        w->owners = next;
    }
    close(w->efd);
    pthread_cond_destroy(&w->more);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

static struct owner *owner_find(const struct worker *w, const void *key)
{
    for (struct owner *o = w->owners; o; o = o->next)
        if (o->key == key)
            return o;
    return NULL;
}

/* One job of o less; o is dropped at 0. */
static void owner_release(struct worker *w, struct owner *o)
{
    if (--o->pending > 0)
        return;
    for (struct owner **l = &w->owners; *l; l = &(*l)->next) {
        if (*l == o) {
            *l = o->next;
            free(o);
            return;
        }
    }
}

/* An owner with no job pending is dropped. */
static void owner_drop_idle(struct worker *w, struct owner *o)
{
    if (o && o->pending == 0) {
        o->pending = 1;
        owner_release(w, o);
    }
}

static bool submit(struct worker *w, bool has_owner, const void *key,
                   void (*work)(void *), void (*done)(void *),
                   void (*drop)(void *), void *arg)
{
    struct owner *o = NULL;
    struct job *j;

    if (has_owner ? worker_full_for(w, key) : worker_full(w))
        return false;
    if (!(j = malloc(sizeof(*j))))
        return false;
    *j = (struct job){.work = work, .done = done, .drop = drop, .arg = arg};
    if (w->nthreads == 0) {
        /* inline: the job runs now, on the caller's thread (nothing is
         * ever pending: no owner to count) */
        bool stopping;

        free(j);
        pthread_mutex_lock(&w->lock);
        stopping = w->stopping;
        pthread_mutex_unlock(&w->lock);
        if (stopping)
            return false;
        work(arg);
        done(arg);
        return true;
    }
    if (has_owner && !(o = owner_find(w, key))) {
        if (!(o = calloc(1, sizeof(*o)))) {
            free(j);
            return false;
        }
        o->key = key;
        o->next = w->owners;
        w->owners = o;
    }
    pthread_mutex_lock(&w->lock);
    if (w->stopping) {
        pthread_mutex_unlock(&w->lock);
        free(j);
        owner_drop_idle(w, o);
        return false;
    }
    if (o)
        o->pending++;
    j->owner = o;
    push(&w->todo, j);
    pthread_cond_signal(&w->more);
    pthread_mutex_unlock(&w->lock);
    w->pending++;
    return true;
}

bool worker_submit(struct worker *w, void (*work)(void *), void (*done)(void *),
                   void (*drop)(void *), void *arg)
{
    return submit(w, false, NULL, work, done, drop, arg);
}

bool worker_submit_for(struct worker *w, const void *owner,
                       void (*work)(void *), void (*done)(void *),
                       void (*drop)(void *), void *arg)
{
    return submit(w, true, owner, work, done, drop, arg);
}

void worker_set_shares(struct worker *w, unsigned n)
{
    w->shares = n ? n : 1;
}

unsigned worker_share(const struct worker *w)
{
    unsigned share = w->max_pending / w->shares;

    if (!w->max_pending)
        return 0;
    return share ? share : 1;
}

unsigned worker_pending_for(const struct worker *w, const void *owner)
{
    const struct owner *o = owner_find(w, owner);

    return o ? o->pending : 0;
}

bool worker_full_for(const struct worker *w, const void *owner)
{
    return worker_full(w) ||
           (w->max_pending && worker_pending_for(w, owner) >= worker_share(w));
}

int worker_fd(const struct worker *w)
{
    return w->efd;
}

void worker_drain(struct worker *w)
{
    uint64_t n;
    struct job *j;

    while (read(w->efd, &n, sizeof(n)) < 0 && errno == EINTR)
        ;
    pthread_mutex_lock(&w->lock);
    j = pop_all(&w->finished);
    pthread_mutex_unlock(&w->lock);
    while (j) {
        struct job *next = j->next;
        w->pending--;
        if (j->owner)
            owner_release(w, j->owner);
        j->done(j->arg);
        free(j);
        j = next;
    }
}

unsigned worker_pending(const struct worker *w)
{
    return w->pending;
}

bool worker_full(const struct worker *w)
{
    return w->max_pending && w->pending >= w->max_pending;
}
