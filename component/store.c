/*
 * store.c - registrations in PostgreSQL through libpq: the API, the queue,
 * the pipeline and its transactions, the loop's side.
 *
 * The store is four files (store_internal.h says which does what): the
 * statements are store_sql.c's, the connection store_conn.c's, the
 * migrations store_migrate.c's.  This one runs operations without knowing
 * any: a job holds its statement (struct store_op) and its parameters.
 * Knows nothing of XMPP.
 *
 * One connection, non-blocking, in pipeline mode.  Operations wait in a
 * queue; whenever the connection is free, everything queued (up to
 * BATCH_MAX) goes out at once as one transaction: BEGIN, a statement per
 * operation, COMMIT, Sync, in one write.  The answers are kept until the
 * COMMIT's, then every callback runs: so registrations that arrive
 * together share one round trip, one commit, one WAL flush and one
 * NOTIFY, and each is still answered only after its own commit.  While a
 * transaction is in flight the next one gathers in the queue.
 *
 * What one operation can cause never fails another (store_sql.c).  Any
 * other error aborts the transaction: the failing operation gets it, the
 * others go back to the head of the queue (an error of the transaction
 * itself: each alone).  Statements are idempotent, so after a broken
 * connection the operations in flight are sent once more on a new one.
 */
#include "store_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "stats.h"
#include "store_cache.h"

#define QUEUE_MAX_DEFAULT 256
/* Operations per transaction: a put opens a subtransaction (its EXCEPTION
 * block), and PostgreSQL keeps 64 of them per transaction in shared memory
 * before snapshots get slower for every session. */
#define BATCH_MAX 60
/* How often one operation is sent again after a failure not its own. */
#define RESEND_MAX 2
/* While waiting without a loop (not attached): the longest poll. */
#define TICK_MS 200

struct store *store_new(const char *conninfo)
{
    struct store *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->queue_max = QUEUE_MAX_DEFAULT;
    s->statement_timeout_s = STORE_STATEMENT_TIMEOUT_S;
    s->failed = -1;
    s->epfd = -1;
    s->seed =
        (unsigned)time(NULL) ^ (unsigned)getpid() ^ (unsigned)(uintptr_t)s;
    atomic_init(&s->interrupted, false);
    /* besides the jobs (and a check for each in doubt): settings or
     * prepares, ROLLBACK, BEGIN, COMMIT */
    s->nslots_max = (unsigned)(2 * BATCH_MAX + store_sql_nops + 4);
    s->slots = calloc(s->nslots_max, sizeof(*s->slots));
    s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->wake_fd < 0 || !s->slots ||
        !(s->conninfo = strdup(conninfo ? conninfo : ""))) {
        if (s->wake_fd >= 0)
            close(s->wake_fd);
        free(s->slots);
        free(s);
        return NULL;
    }
    return s;
}

static void fail_all(struct store *s);

void store_close(struct store *s)
{
    if (!s)
        return;
    store_interrupt(s);
    while (s->head || s->nslots)
        fail_all(s); /* nothing is left unanswered */
    for (unsigned i = 0; i < s->nreaders; i++)
        store_close(s->readers[i]); /* their gets fill s's cache */
    free(s->readers);
    if (s->epfd >= 0)
        close(s->epfd);
    store_conn_close(s);
    store_cache_free(s->cache);
    close(s->wake_fd);
    free(s->slots);
    free(s->conninfo);
    free(s);
}

void store_interrupt(struct store *s)
{
    uint64_t one = 1;

    atomic_store(&s->interrupted, true);
    while (write(s->wake_fd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
    for (unsigned i = 0; i < s->nreaders; i++)
        store_interrupt(s->readers[i]);
}

/* ---- jobs: answering ---------------------------------------------------- */

static void job_clear_results(struct job *j)
{
    store_record_clear(&j->rec);
    for (size_t i = 0; i < j->njids; i++)
        free(j->jids[i]);
    free(j->jids);
    j->jids = NULL;
    j->njids = 0;
    j->count = 0;
    memset(j->states, 0, sizeof(j->states));
    j->created = false;
    j->event_id = 0;
    free(j->reason);
    j->reason = NULL;
    j->done_before = false;
    j->st = STORE_OK;
}

static void job_free(struct job *j)
{
    job_clear_results(j);
    for (int i = 0; i < j->np; i++) {
        if (j->p[i])
            explicit_bzero(j->p[i], strlen(j->p[i]));
        free(j->p[i]);
    }
    store_cache_image_free(j->image);
    free(j);
}

static void set_status(struct job *list, enum store_status st)
{
    for (struct job *j = list; j; j = j->next)
        j->st = st;
}

/* Calls back every job of list (in order, each with its status) and frees
 * them.  They are no longer counted before the first callback runs: a
 * callback may submit (and, not attached, wait for) another operation. */
static void answer_list(struct store *s, struct job *list)
{
    unsigned n = 0;

    for (struct job *j = list; j; j = j->next)
        n++;
    s->queued -= n;
    if (s->full && s->queued <= s->queue_max / 2) {
        log_info("store", "statement queue down to %u: accepting work again",
                 s->queued);
        s->full = false;
    }
    while (list) {
        struct job *j = list;

        list = j->next;
        store_listen_answered(s, j); /* before its caller hears of it */
        j->op->answer(j);
        job_free(j);
    }
}

/* Takes the jobs of the pipeline in flight, in the order sent. */
static struct job *take_pipeline(struct store *s)
{
    struct job *head = NULL, **tail = &head;

    for (unsigned i = 0; i < s->nslots; i++)
        if (s->slots[i].job && !s->slots[i].check) {
            *tail = s->slots[i].job;
            tail = &(*tail)->next;
        }
    *tail = NULL;
    s->nslots = s->cur = 0;
    s->failed = -1;
    s->committed = false;
    PQclear(s->failed_res);
    s->failed_res = NULL;
    return head;
}

static struct job *take_queue(struct store *s)
{
    struct job *head = s->head;

    s->head = s->tail = NULL;
    return head;
}

/* Puts list (in order) back at the head of the queue. */
static void requeue_front(struct store *s, struct job *list)
{
    struct job *last = list;

    if (!list)
        return;
    while (last->next)
        last = last->next;
    last->next = s->head;
    s->head = list;
    if (!s->tail)
        s->tail = last;
}

/* Splits jobs that failed for no fault of their own: sent again (each
 * alone when alone), or, when the failure counts (nobody else's known
 * error), answered STORE_UNAVAILABLE after RESEND_MAX of them. */
static void split_resend(struct job *list, bool alone, bool count,
                         struct job **resend, struct job **give_up_list)
{
    struct job **rt = resend, **gt = give_up_list;

    while (*rt)
        rt = &(*rt)->next;
    while (*gt)
        gt = &(*gt)->next;
    while (list) {
        struct job *j = list;

        list = j->next;
        j->next = NULL;
        if (!count || j->resends < RESEND_MAX) {
            j->resends += count;
            j->alone = j->alone || alone;
            job_clear_results(j);
            *rt = j;
            rt = &j->next;
        } else {
            j->st = STORE_UNAVAILABLE;
            *gt = j;
            gt = &j->next;
        }
    }
}

/* ---- what is counted (stats.h) ------------------------------------------ */

/* The transaction in flight ended as how (a ROLLBACK alone is not
 * counted). */
static void count_transaction(struct store *s, enum stats_txn how)
{
    if (s->sent_ops)
        stats_transaction(s->stats, how, store_now() - s->sent_at, s->sent_ops);
    s->sent_ops = 0;
}

/* The connection in flight (CONN_BUSY) is being dropped. */
static void count_dropped(struct store *s)
{
    if (s->cs == CONN_BUSY)
        count_transaction(s, s->committed ? STATS_TXN_COMMIT : STATS_TXN_LOST);
}

/* The database's state when it changed, and the queue. */
static void publish(struct store *s)
{
    if (!s->stats || s->reader)
        return;
    if (!s->told || s->told_down != s->down) {
        time_t since = time(NULL) - (time_t)(store_now() - s->down_since);

        stats_db_state(s->stats, !s->down, since);
        s->told = true;
        s->told_down = s->down;
    }
    stats_db_queue(s->stats, s->queued, s->queue_max);
}

void store_set_stats(struct store *s, struct stats *stats)
{
    s->stats = stats;
    s->told = false;
    publish(s);
}

/* Everything submitted and not answered: STORE_UNAVAILABLE now. */
static void fail_all(struct store *s)
{
    struct job *list, *q, **t;

    count_dropped(s);
    list = take_pipeline(s);
    q = take_queue(s);
    t = &list;

    if (s->cs == CONN_BUSY || s->cs == CONN_SETUP)
        store_conn_close(s); /* the pipeline is not read to its end */
    while (*t)
        t = &(*t)->next;
    *t = q;
    set_status(list, STORE_UNAVAILABLE);
    answer_list(s, list);
}

static void fail_queue(struct store *s, enum store_status st)
{
    struct job *list = take_queue(s);

    set_status(list, st);
    answer_list(s, list);
}

/* ---- the pipeline when the connection fails ---------------------------- */

/* The connection broke, or a send failed: what was in flight is sent again
 * on a new connection (at most RESEND_MAX times).  A connection that broke
 * before it was set up counts as a failed attempt (back-off). */
void store_broken(struct store *s, const char *what)
{
    char why[256];
    bool attempt = s->cs == CONN_CONNECTING || s->cs == CONN_SETUP;
    struct job *list, *resend = NULL, *lost = NULL;
    bool committed = s->committed;
    /* the transaction was sent and its COMMIT not answered: the server
     * may have committed it */
    bool doubt = s->cs == CONN_BUSY;

    count_dropped(s);
    list = take_pipeline(s);

    store_conn_error(s->conn, why, sizeof(why));
    store_conn_close(s);
    if (attempt) {
        store_conn_down(s, why);
    } else {
        log_warn("store", "connection to the database lost while %s: %s", what,
                 why);
    }
    if (committed) { /* the COMMIT was answered: each has its result */
        answer_list(s, list);
        return;
    }
    split_resend(list, false, true, &resend, &lost);
    for (struct job *j = resend; doubt && j; j = j->next)
        j->in_doubt = true;
    requeue_front(s, resend);
    answer_list(s, lost);
}

/* The server did not answer in time: that server gets time to come back
 * (back-off); what was in flight is answered STORE_UNAVAILABLE. */
void store_give_up(struct store *s)
{
    char why[160];
    const char *what = s->cs == CONN_CONNECTING ? "the connection"
                       : s->cs == CONN_SETUP    ? "the session settings"
                                                : "a transaction";
    bool committed = s->committed;
    struct job *list;

    if (s->cs == CONN_CONNECTING && store_conn_next_host(s))
        return; /* the next host, now */
    s->host_skip = 0;
    count_dropped(s);
    list = take_pipeline(s);
    snprintf(why, sizeof(why), "no answer to %s within %d s%s", what,
             s->timeout_s,
             s->cs == CONN_CONNECTING ? " (connect timeout)" : "");
    store_conn_close(s);
    store_conn_down(s, why);
    if (!committed) /* else each has its result */
        set_status(list, STORE_UNAVAILABLE);
    answer_list(s, list);
}

bool store_flush(struct store *s)
{
    int r = PQflush(s->conn);

    s->want_write = r == 1;
    return r >= 0;
}

bool store_send_sql(struct store *s, const char *what, const char *sql)
{
    if (!PQsendQueryParams(s->conn, sql, 0, NULL, NULL, NULL, NULL, 0))
        return false;
    s->slots[s->nslots++] = (struct slot){.what = what};
    return true;
}

/* The job's statement; for a write in doubt with a stanza id, the check
 * of its event after it (in the same transaction). */
static bool send_job(struct store *s, struct job *j)
{
    const char *params[STORE_CHECK_NPARAMS];

    if (!PQsendQueryPrepared(s->conn, j->op->name, j->op->nparams,
                             (const char *const *)j->p, NULL, NULL, 0))
        return false;
    s->slots[s->nslots++] = (struct slot){.job = j, .what = j->op->name};
    if (j->in_doubt && store_sql_check_params(j, params)) {
        if (!PQsendQueryPrepared(s->conn, store_sql_check.name,
                                 STORE_CHECK_NPARAMS, params, NULL, NULL, 0))
            return false;
        s->slots[s->nslots++] = (struct slot){
            .job = j, .what = store_sql_check.name, .check = true};
    }
    return true;
}

/* Sends what is queued as one transaction: a ROLLBACK after a failed one,
 * the statements to prepare on a new connection, BEGIN, one statement per
 * job (up to BATCH_MAX; a job that must go alone goes alone), COMMIT,
 * Sync: one write, one round trip. */
static void start_batch(struct store *s)
{
    unsigned n = 0;

    s->nslots = s->cur = 0;
    s->failed = -1;
    s->committed = false;
    if (s->need_rollback && !store_send_sql(s, "ROLLBACK", "ROLLBACK"))
        goto broke;
    s->nprepare = 0;
    for (size_t i = 0; !s->prepared && i < store_sql_nops; i++) {
        const struct store_op *op = store_sql_ops[i];

        if (!PQsendPrepare(s->conn, op->name, op->sql, op->nparams, NULL))
            goto broke;
        s->slots[s->nslots++] = (struct slot){.what = op->name};
        s->nprepare = s->nslots;
    }
    if (!store_send_sql(s, "BEGIN", "BEGIN") || !store_listen_send_read(s))
        goto broke;
    while (s->head && n < BATCH_MAX) {
        struct job *j = s->head;

        if (j->alone && n > 0)
            break;
        if (!send_job(s, j))
            goto broke;
        if (!(s->head = j->next))
            s->tail = NULL;
        j->next = NULL;
        n++;
        if (j->alone)
            break;
    }
    s->commit_slot = (int)s->nslots;
    if (!store_send_sql(s, "COMMIT", "COMMIT") || !PQpipelineSync(s->conn) ||
        !store_flush(s))
        goto broke;
    s->cs = CONN_BUSY;
    s->timeout_s = store_client_deadline(s);
    s->deadline = store_now() + s->timeout_s;
    s->sent_at = store_now();
    s->sent_ops = n;
    log_debug("store", "sent a transaction of %u operation(s)", n);
    return;
broke:
    store_broken(s, "sending");
}

/* The pipeline in flight reached its Sync: the transaction is over. */
static void finish(struct store *s)
{
    bool setup = s->cs == CONN_SETUP;
    int failed = s->failed;
    /* the slots up to nprepare are the statements to prepare */
    unsigned nprepare = setup ? 0 : s->nprepare, njobs = 0;
    PGresult *fres = s->failed_res;
    struct job *failed_job = NULL, *list, *resend = NULL, *ans = NULL;
    enum store_status st = STORE_OK;

    s->failed_res = NULL;
    for (unsigned i = 0; i < s->nslots; i++)
        if (s->slots[i].job && !s->slots[i].check)
            njobs++;
    if (failed >= 0 && s->committed) {
        /* an error after the COMMIT was answered (the server going away
         * before the Sync): the transaction stands, and so do its results */
        const char *m = PQresultErrorField(fres, PG_DIAG_MESSAGE_PRIMARY);

        log_warn("store", "error after a commit: %s", m ? m : "unknown");
        failed = -1;
        if (PQstatus(s->conn) != CONNECTION_OK)
            st = STORE_UNAVAILABLE; /* the connection goes, not the results */
    } else if (failed >= 0) {
        bool in_slot = (unsigned)failed < s->nslots;

        st = store_sql_failure(
            s->conn, fres, in_slot ? s->slots[failed].what : "the transaction");
        failed_job = in_slot ? s->slots[failed].job : NULL;
    }
    PQclear(fres);
    list = take_pipeline(s);
    if (setup) {
        store_conn_setup_done(s, failed >= 0);
        if (s->cs == CONN_READY && s->connects++ > 0)
            stats_db_reconnected(s->stats);
        return;
    }
    count_transaction(s, failed < 0 ? STATS_TXN_COMMIT : STATS_TXN_ERROR);
    if (nprepare && (failed < 0 || (unsigned)failed >= nprepare))
        s->prepared = true; /* a PREPARE outlives a failed transaction */
    if (failed < 0) {
        store_listen_committed(s, list);
        ans = list;
    } else {
        /* one job's own error: it gets it, the others go again (they are
         * fewer each time: not counted); an error of the transaction (a
         * PREPARE, BEGIN, COMMIT): each alone, counted */
        while (list) {
            struct job *j = list;

            list = j->next;
            j->next = NULL;
            if (j == failed_job || (!failed_job && njobs == 1)) {
                j->st = st;
                j->next = ans;
                ans = j;
            } else {
                split_resend(j, !failed_job, !failed_job, &resend, &ans);
            }
        }
    }
    if (s->conn) {
        if (failed >= 0 && (unsigned)failed < nprepare) {
            store_conn_close(s); /* a statement the schema does not take */
            store_conn_down(s, "cannot prepare the statements");
        } else if (st == STORE_UNAVAILABLE) {
            store_conn_close(s);
        } else {
            s->need_rollback = PQtransactionStatus(s->conn) == PQTRANS_INERROR;
            s->cs = CONN_READY;
        }
    }
    requeue_front(s, resend);
    answer_list(s, ans);
}

/* Reads what the server sent, and the results it completes. */
static void pump(struct store *s)
{
    if (!PQconsumeInput(s->conn)) {
        store_broken(s, "reading");
        return;
    }
    if (s->want_write && !store_flush(s)) {
        store_broken(s, "writing");
        return;
    }
    while (s->conn && (s->cs == CONN_SETUP || s->cs == CONN_BUSY) &&
           !PQisBusy(s->conn)) {
        PGresult *r = PQgetResult(s->conn);
        struct slot *slot = s->cur < s->nslots ? &s->slots[s->cur] : NULL;

        if (!r) { /* the end of one command's results */
            if (slot && slot->answered) {
                s->cur++;
                continue;
            }
            break;
        }
        switch (PQresultStatus(r)) {
        case PGRES_PIPELINE_SYNC:
            PQclear(r);
            finish(s);
            continue;
        case PGRES_FATAL_ERROR:
            if (slot && slot->events)
                store_listen_read_ended(s, true);
            if (s->failed < 0) {
                s->failed = (int)s->cur;
                s->failed_res = r;
                r = NULL;
            }
            break;
        case PGRES_PIPELINE_ABORTED:
            if (slot && slot->events)
                store_listen_read_ended(s, false);
            break;
        default:
            if (slot && slot->events)
                store_listen_read_result(s, r);
            if (slot && slot->job) {
                const struct store_op *op =
                    slot->check ? &store_sql_check : slot->job->op;

                if (op->decode)
                    op->decode(slot->job, r);
            }
            if (slot && (int)s->cur == s->commit_slot && s->failed < 0)
                s->committed = true;
            break;
        }
        if (slot)
            slot->answered = true;
        /* the deadline bounds a silence, not the whole transaction */
        s->deadline = store_now() + s->timeout_s;
        PQclear(r);
    }
    if (s->conn && PQstatus(s->conn) != CONNECTION_OK)
        store_broken(s, "reading");
    else
        store_listen_drain(s); /* after the answers they follow */
}

/* ---- the loop's side ---------------------------------------------------- */

/* One connection's socket and the events it waits for (-1: none). */
static int link_watch(struct store *s, short *events)
{
    if (!s->conn || s->cs == CONN_NONE)
        return -1;
    if (s->cs == CONN_CONNECTING)
        *events = s->polling == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    else
        *events = POLLIN | (s->want_write ? POLLOUT : 0);
    return PQsocket(s->conn);
}

static void link_ready(struct store *s)
{
    if (s->cs == CONN_CONNECTING)
        store_conn_step(s);
    else if (s->conn)
        pump(s);
}

/* Whether l's socket may not be the one watched: another number or
 * other events, a connection closed (its number may be another's now) or
 * connecting (libpq may replace its socket at any step). */
static bool link_moved(struct store *l, int fd, short ev)
{
    bool connecting = l->cs == CONN_CONNECTING;
    bool moved = fd != l->watched_fd || ev != l->watched_events || connecting ||
                 l->watched_connecting || l->closed_since_watch;

    l->watched_fd = fd;
    l->watched_events = ev;
    l->watched_connecting = connecting;
    l->closed_since_watch = false;
    return moved;
}

/* With readers: every connection's socket in one epoll set, made anew
 * whenever one may have moved (never amended: a number closed can come
 * back as another connection's).  When none can be made, the store's own
 * socket alone, and the readers' are looked at in store_turn() (at least
 * every 200 ms). */
static int watch_all(struct store *s, short *events)
{
    int fd[1 + STORE_READERS_MAX];
    short ev[1 + STORE_READERS_MAX];
    bool moved = s->epfd < 0;

    for (unsigned i = 0; i <= s->nreaders; i++) {
        struct store *l = i ? s->readers[i - 1] : s;

        ev[i] = 0;
        fd[i] = link_watch(l, &ev[i]);
        moved = link_moved(l, fd[i], ev[i]) || moved;
    }
    if (moved) {
        if (s->epfd >= 0)
            close(s->epfd);
        s->epfd = epoll_create1(EPOLL_CLOEXEC);
        for (unsigned i = 0; s->epfd >= 0 && i <= s->nreaders; i++) {
            struct epoll_event e = {.events = (ev[i] & POLLIN ? EPOLLIN : 0u) |
                                              (ev[i] & POLLOUT ? EPOLLOUT : 0u),
                                    .data.ptr = i ? s->readers[i - 1] : s};

            if (fd[i] >= 0 && epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd[i], &e))
                log_warn("store", "epoll_ctl: %s", strerror(errno));
        }
    }
    if (s->epfd < 0)
        return link_watch(s, events);
    *events = POLLIN;
    return s->epfd;
}

int store_watch(struct store *s, short *events)
{
    return s->nreaders ? watch_all(s, events) : link_watch(s, events);
}

void store_on_ready(struct store *s)
{
    struct epoll_event ev[1 + STORE_READERS_MAX];
    int n;

    if (!s->nreaders || s->epfd < 0) {
        link_ready(s);
        return;
    }
    n = epoll_wait(s->epfd, ev, (int)(1 + s->nreaders), 0);
    for (int i = 0; i < n; i++)
        link_ready(ev[i].data.ptr);
}

static void turn(struct store *s);

/* Without an epoll set: a reader's socket ready now (not waited for). */
static void poll_reader(struct store *r)
{
    short ev = 0;
    struct pollfd p = {.fd = link_watch(r, &ev)};

    p.events = ev;
    if (p.fd >= 0 && poll(&p, 1, 0) > 0)
        link_ready(r);
}

void store_turn(struct store *s)
{
    turn(s);
    for (unsigned i = 0; i < s->nreaders; i++) {
        if (s->epfd < 0)
            poll_reader(s->readers[i]);
        turn(s->readers[i]);
    }
    publish(s);
}

bool store_set_readers(struct store *s, unsigned n)
{
    if (n > STORE_READERS_MAX)
        n = STORE_READERS_MAX;
    if (s->nreaders || n == 0)
        return true; /* once */
    if (!(s->readers = calloc(n, sizeof(*s->readers))))
        return false;
    for (unsigned i = 0; i < n; i++) {
        struct store *r = store_new(s->conninfo);

        if (!r) {
            while (s->nreaders)
                store_close(s->readers[--s->nreaders]);
            free(s->readers);
            s->readers = NULL;
            return false;
        }
        r->reader = true;
        r->statement_timeout_s = s->statement_timeout_s;
        r->stats = s->stats; /* its transactions, not the gauges */
        r->migrated = true;  /* the store's own connection migrates */
        r->attached = true;
        r->queue_max = s->queue_max;
        s->readers[s->nreaders++] = r;
    }
    return true;
}

static void turn(struct store *s)
{
    if (atomic_load(&s->interrupted)) {
        if (s->cs == CONN_BUSY || s->cs == CONN_SETUP ||
            s->cs == CONN_CONNECTING)
            log_info("store", "%s abandoned: stopping",
                     s->cs == CONN_BUSY ? "a transaction" : "a connection");
        fail_all(s);
        store_conn_close(s);
        return;
    }
    if (s->cs != CONN_NONE && s->cs != CONN_READY && store_now() > s->deadline)
        store_give_up(s);
    if (s->cs == CONN_READY && s->need_rollback && !s->head) {
        start_batch(s); /* ROLLBACK at once: no session idles in a failed
                         * transaction (idle_in_transaction timeout) */
        return;
    }
    /* the gets go to the readers: the cache's read of the log may have
     * no operation to go out with */
    if (!s->head && !(s->nreaders && store_listen_read_due(s)))
        return;
    if (!s->migrated) {
        store_migrate_later(s);
        if (!s->migrated) {
            fail_queue(s, STORE_UNAVAILABLE);
            return;
        }
    }
    if (s->cs == CONN_NONE) {
        if (s->down && store_now() < s->retry_at) {
            fail_queue(s, STORE_UNAVAILABLE);
            return;
        }
        store_conn_start(s);
        if (s->cs == CONN_NONE) {
            fail_queue(s, STORE_UNAVAILABLE);
            return;
        }
    }
    if (s->cs == CONN_READY)
        start_batch(s);
}

bool store_busy(const struct store *s)
{
    for (unsigned i = 0; i < s->nreaders; i++)
        if (store_busy(s->readers[i]))
            return true;
    return s->queued > 0 || s->migrating;
}

/* Not attached: runs the loop's side here until nothing is left. */
static void drive(struct store *s)
{
    while (s->queued > 0) {
        short events = 0;
        int fd, ms = TICK_MS;
        double left;

        store_turn(s);
        if (s->queued == 0)
            break;
        fd = link_watch(s, &events);
        if (s->cs != CONN_NONE && s->cs != CONN_READY) {
            left = s->deadline - store_now();
            if (left * 1000 < ms)
                ms = left > 0 ? (int)(left * 1000) + 1 : 0;
        }
        if (store_conn_wait(s, fd, events, 0, ms) == STORE_WAIT_READY &&
            fd >= 0)
            link_ready(s);
    }
}

/* Queues j, or answers it at once (STORE_UNAVAILABLE) when the queue is
 * full; not attached, waits for its answer. */
static void submit(struct store *s, struct job *j)
{
    if (atomic_load(&s->interrupted)) { /* stopping: no new work */
        j->st = STORE_UNAVAILABLE;
        s->queued++; /* answer_list uncounts it */
        answer_list(s, j);
        return;
    }
    if (s->queued >= s->queue_max) {
        if (!s->full)
            log_warn("store",
                     "%u operations queued: answering 'try again later' "
                     "until the database catches up",
                     s->queued);
        s->full = true;
        stats_db_queue_refused(s->stats);
        j->st = STORE_UNAVAILABLE;
        s->queued++; /* answer_list uncounts it */
        answer_list(s, j);
        return;
    }
    s->queued++;
    j->next = NULL;
    if (s->tail)
        s->tail->next = j;
    else
        s->head = j;
    s->tail = j;
    if (!s->attached)
        drive(s);
}

void store_set_statement_timeout(struct store *s, unsigned seconds)
{
    s->statement_timeout_s = seconds ? seconds : STORE_STATEMENT_TIMEOUT_S;
}

void store_attach(struct store *s, struct worker *migrator, unsigned queue_max)
{
    s->attached = true;
    s->migrator = migrator;
    s->queue_max = queue_max ? queue_max : QUEUE_MAX_DEFAULT;
}

bool store_run(struct store *s, const struct store_op *op,
               const char *const *params, int np, store_fn cb, void *arg)
{
    return store_run_image(s, op, params, np, cb, arg, NULL, NULL);
}

bool store_run_image(struct store *s, const struct store_op *op,
                     const char *const *params, int np, store_fn cb, void *arg,
                     struct store_cache_image *image, enum store_state *started)
{
    struct job *j;

    if (np != op->nparams || np > STORE_PARAMS_MAX) {
        log_error("store", "BUG: %s takes %d parameters, given %d", op->name,
                  op->nparams, np);
        store_cache_image_free(image);
        return false;
    }
    if (!(j = calloc(1, sizeof(*j)))) {
        store_cache_image_free(image);
        return false;
    }
    j->op = op;
    j->image = image;
    j->started_out = started;
    j->np = np;
    for (int i = 0; i < np; i++) {
        if (params[i] && !(j->p[i] = strdup(params[i]))) {
            job_free(j);
            return false;
        }
    }
    j->cb = cb;
    j->arg = arg;
    submit(s, j);
    return true;
}
