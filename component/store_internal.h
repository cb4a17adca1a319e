/*
 * store_internal.h - what the store's files share; nothing outside
 * component/store*.c includes it.
 *
 * The store is four files, one per rate of change (as libpq keeps
 * fe-connect.c apart from fe-exec.c):
 *   store.c         the API, the queue, the pipeline and its transactions,
 *                   the loop's side;
 *   store_sql.c     the statements: one entry per operation (name, SQL,
 *                   parameters, what the result means, which callback)
 *                   and the public function that encodes its parameters;
 *   store_conn.c    connecting (several hosts, a deadline each), back-off,
 *                   the session, blocking waits;
 *   store_migrate.c the migrations and sql/roles.sql, the migrator worker;
 *   store_listen.c  the cache of registered gets on the connection: LISTEN,
 *                   the notifications (and store_set_notify's callback),
 *                   the read of the event log, the cached get and its
 *                   write-through.
 * and store_values.c, the plain values of store.h (no libpq: the unit
 * tests' fake store links it).
 *
 * Everything here runs on the thread that owns the store, except what says
 * "any thread".
 */
#ifndef REGISTRAR_STORE_INTERNAL_H
#define REGISTRAR_STORE_INTERNAL_H

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "store.h"

/* The session's statement_timeout unless store_set_statement_timeout()
 * says otherwise; the client's own deadline on every transaction is a
 * little more (store_client_deadline), for a server that never answers at
 * all. */
#define STORE_STATEMENT_TIMEOUT_S 5
#define STORE_CLIENT_DEADLINE_EXTRA_S 2

/* The most connections of their own for the cached gets' reads. */
#define STORE_READERS_MAX 8

/* The most parameters a statement takes. */
#define STORE_PARAMS_MAX 12

/* ---- operations (store_sql.c) and their jobs (store.c) ------------------ */

struct job;
struct store_cache_image; /* store_cache.h */

/* Any callback of store.h, stored as this and called back (by the
 * operation's answer) as its own type. */
typedef void (*store_fn)(void);

/* One prepared statement: an operation of store.h, or the check of a
 * write sent again (store_sql_check). */
struct store_op {
    const char *name; /* the prepared statement's */
    const char *sql;
    int nparams;
    /* What its result means, into j (status and results); on the loop.
     * NULL: nothing to read. */
    void (*decode)(struct job *j, const PGresult *res);
    /* Calls j's callback (j->cb, of the operation's type) with j's status
     * and results; they are freed after it returns. */
    void (*answer)(struct job *j);
    /* A write: the event it leaves (registration_events.event) and the
     * index of the stanza id among its parameters; NULL: writes none.
     * event_created: that event, found, means the first attempt created
     * the row (see store_sql_check). */
    const char *event;
    int iq_param;
    bool event_created;
    /* done (STORE_OK), it leaves no row of (service, jid): the cache's
     * write-through */
    bool event_removed;
};

/* Every statement, in the order they are prepared on a new connection. */
extern const struct store_op *const store_sql_ops[];
extern const size_t store_sql_nops;
/* The check sent after a write that went again with its first COMMIT
 * unanswered (job.in_doubt): its result goes into that write's job. */
extern const struct store_op store_sql_check;
#define STORE_CHECK_NPARAMS 4

/* One operation, from its call to its callback. */
struct job {
    struct job *next; /* in the queue */
    const struct store_op *op;
    char *p[STORE_PARAMS_MAX]; /* owned copies of the parameters */
    int np;
    store_fn cb; /* the caller's, of op's type */
    void *arg;
    enum store_status st;
    /* results, as op->decode leaves them (freed with the job) */
    bool created;
    char *reason; /* a put's: the reason of disabled or banned; owned */
    struct store_record rec;
    unsigned long count;
    unsigned long states[STORE_NSTATES]; /* count_states: per state */
    char **jids;                         /* owned, njids of them */
    size_t njids;
    /* a write's: the id of the event it wrote (registration_events.id),
     * as its decoder read it; 0: none written, or not known (the cache
     * then takes the commit's notification for another's) */
    long long event_id;
    /* sent again after a connection lost with its COMMIT unanswered: it
     * may have committed, so its event is looked for (done_before) and the
     * answer is the first attempt's */
    bool in_doubt;
    bool done_before;
    bool alone;       /* goes in a transaction of its own */
    unsigned resends; /* sent again after failures not its own */
    /* a put's row as a read would return it, for the cache's
     * write-through (NULL: none, the entry is dropped); owned */
    struct store_cache_image *image;
    /* a put's: where the state a creation starts in goes (borrowed from
     * the caller until its callback; NULL: nowhere), and that state */
    enum store_state *started_out;
    enum store_state started;
};

/* store.c: a job of op with copies of params[0..np) (NULL entries
 * allowed), queued; not attached, answered before this returns.  False
 * (nothing queued, cb not called) when out of memory or np is not
 * op->nparams: the caller answers STORE_ERROR. */
bool store_run(struct store *s, const struct store_op *op,
               const char *const *params, int np, store_fn cb, void *arg);
/* store_run with the image of a put (takes it, NULL: none) and where its
 * creation's state goes (borrowed, NULL: nowhere). */
bool store_run_image(struct store *s, const struct store_op *op,
                     const char *const *params, int np, store_fn cb, void *arg,
                     struct store_cache_image *image,
                     enum store_state *started);

/* store_sql.c: a failed result (NULL: none) of conn as a status, logged
 * (the SQL state and the primary message, never a DETAIL). */
enum store_status store_sql_failure(PGconn *conn, const PGresult *res,
                                    const char *what);
/* The parameters of store_sql_check for j; false when j needs none (not a
 * write, or no stanza id to look for).  Borrowed from j. */
bool store_sql_check_params(const struct job *j,
                            const char *params[STORE_CHECK_NPARAMS]);

/* ---- the store ------------------------------------------------------------
 */

/* What the connection is doing. */
enum conn_state {
    CONN_NONE,       /* no connection */
    CONN_CONNECTING, /* PQconnectPoll in progress */
    CONN_SETUP,      /* the session settings in flight */
    CONN_READY,      /* idle */
    CONN_BUSY,       /* a transaction in flight */
};

/* One command of the pipeline in flight, in the order sent. */
struct slot {
    struct job *job; /* NULL: BEGIN, COMMIT, a setting, a PREPARE */
    const char *what;
    bool check;    /* the store_sql_check of job, not its statement */
    bool events;   /* the cache's read of the event log (store_listen.c) */
    bool answered; /* its result came (the next NULL moves on) */
};

struct store {
    char *conninfo;
    unsigned statement_timeout_s; /* the session's statement_timeout */
    /* store.c: the queue, and the pipeline in flight */
    bool attached; /* on the caller's loop (store_attach) */
    struct job *head, *tail;
    unsigned queued;    /* submitted and not answered, in flight included */
    unsigned queue_max; /* more than this: STORE_UNAVAILABLE at once */
    bool full;          /* logged as full */
    struct slot *slots; /* nslots_max of them */
    unsigned nslots_max, nslots, cur;
    unsigned nprepare;    /* slots before this one: ROLLBACK, PREPAREs */
    int failed;           /* the slot whose result was an error; -1: none */
    int commit_slot;      /* the COMMIT's slot; -1: none (setup) */
    bool committed;       /* the COMMIT was answered: the jobs are done */
    PGresult *failed_res; /* that result */
    bool prepared;        /* this connection has the statements */
    bool need_rollback;   /* the last transaction failed and is still open */
    /* what is counted (stats.h): the transaction in flight (its start and
     * operations), the connections made, the state last told */
    struct stats *stats; /* borrowed; NULL: nothing counted */
    double sent_at;
    unsigned sent_ops;
    unsigned long connects;
    bool told, told_down;
    /* store_conn.c: the connection */
    PGconn *conn;
    enum conn_state cs;
    PostgresPollingStatusType polling; /* while CONN_CONNECTING */
    bool want_write;                   /* libpq has output it could not send */
    double deadline;    /* while connecting or in flight: give up after */
    int timeout_s;      /* the wait that deadline stands for, for the log */
    unsigned host_skip; /* the next connect starts at this host */
    /* store_conn.c: back-off */
    bool down;           /* the last attempt failed (logged once) */
    unsigned backoff_ms; /* the delay after the next failure */
    double retry_at;     /* no attempt before this (monotonic seconds) */
    double down_since;
    unsigned seed; /* for the jitter */
    /* store_listen.c: the cache of registered gets (NULL: none), and
     * whether this connection LISTENs on registrar */
    struct store_cache *cache;
    bool listening;
    /* store_listen.c: told of each notification and each new connection
     * (store_set_notify; NULL: none) */
    store_notify_cb notify_cb;
    void *notify_arg;
    /* store.c: connections of their own for the cached gets' reads
     * (store_set_readers), each a store of its own (reader: publishes no
     * gauge, never migrates), watched with this one through one epoll set
     * (epfd, -1: none), made again whenever a socket may have changed:
     * each connection's socket and events as last watched, whether it
     * was connecting, whether it was closed since */
    struct store **readers;
    unsigned nreaders;
    bool reader;
    int epfd;
    int watched_fd;
    short watched_events;
    bool watched_connecting, closed_since_watch;
    /* store_migrate.c */
    struct worker *migrator; /* borrowed; NULL: none */
    bool migrated;           /* the schema was brought up to date */
    bool migrating;          /* on the migrator, now */
    /* any thread: */
    int wake_fd; /* eventfd, readable once interrupted */
    atomic_bool interrupted;
};

/* The client's deadline on a silence of the server, in seconds. */
static inline int store_client_deadline(const struct store *s)
{
    return (int)s->statement_timeout_s + STORE_CLIENT_DEADLINE_EXTRA_S;
}

/* ---- store.c: the pipeline, for the connection's side -------------------- */

/* The connection broke, or a send failed, while what. */
void store_broken(struct store *s, const char *what);
/* The server did not answer in time. */
void store_give_up(struct store *s);
/* Pipelines one command of no job (a setting, BEGIN, COMMIT...). */
bool store_send_sql(struct store *s, const char *what, const char *sql);
/* Sends what libpq holds; false when the connection broke. */
bool store_flush(struct store *s);

/* ---- store_conn.c ---------------------------------------------------------
 */

/* Monotonic seconds.  Any thread. */
double store_now(void);

/* An attempt failed, or the server stopped answering: no new attempt
 * before a jittered delay (logged once per outage).  And its end. */
void store_conn_down(struct store *s, const char *why);
void store_conn_up(struct store *s);

/* Closes the connection (nothing prepared, no transaction open). */
void store_conn_close(struct store *s);
/* Starts a non-blocking connect on the conninfo from host s->host_skip
 * on (CONN_CONNECTING), or goes down. */
void store_conn_start(struct store *s);
/* The socket is ready while CONN_CONNECTING: one step; once connected,
 * sends the session settings (CONN_SETUP). */
void store_conn_step(struct store *s);
/* The session settings were answered (refused: they failed). */
void store_conn_setup_done(struct store *s, bool refused);
/* The connect deadline passed: true when another host of the conninfo is
 * being tried now, false when none is left. */
bool store_conn_next_host(struct store *s);
/* conn's error message on one line, into why (whylen > 3). */
void store_conn_error(PGconn *conn, char *why, size_t whylen);

enum store_wait {
    STORE_WAIT_READY,
    STORE_WAIT_TIMEOUT,
    STORE_WAIT_INTERRUPTED
};
/* Waits until sock (may be -1: none) has one of events, the deadline
 * passes (monotonic seconds; 0: none), ms_max passes (-1: no limit), or
 * store_interrupt() is called.  Any thread. */
enum store_wait store_conn_wait(struct store *s, int sock, short events,
                                double deadline, int ms_max);

/* Blocking use, for migrations; any thread.  A connection of its own
 * within the connect timeout, or NULL with the reason in why. */
PGconn *store_conn_open_blocking(struct store *s, char *why, size_t whylen);
/* Sends sql (several statements when params is NULL; else nparams text
 * parameters) on conn and waits, with no deadline but store_interrupt().
 * The first failed result, or else the last one; the caller clears it.
 * NULL when the connection broke or was interrupted. */
PGresult *store_conn_query(struct store *s, PGconn *conn, const char *sql,
                           int nparams, const char *const *params);
/* Runs a command without parameters; false (logged) on failure. */
bool store_conn_exec(struct store *s, PGconn *conn, const char *sql,
                     const char *what);

/* ---- store_listen.c -------------------------------------------------------
 */

/* Whether a new connection must LISTEN (some service has a cache, or
 * store_set_notify gave a callback). */
bool store_listen_wanted(const struct store *s);
/* With readers, the gets do not go through this connection: whether it
 * must send a transaction (or connect) only for the cache's read of the
 * event log. */
bool store_listen_read_due(const struct store *s);
/* Pipelines the cache's read of the event log when it wants one (in the
 * transaction being sent, before its operations); false when the send
 * failed. */
bool store_listen_send_read(struct store *s);
/* That read's result (its rows), on the loop. */
void store_listen_read_result(struct store *s, const PGresult *res);
/* The transaction that carried the read ended without its result: the
 * read failed (failed), or never ran. */
void store_listen_read_ended(struct store *s, bool failed);
/* Hands the notifications libpq holds to the cache. */
void store_listen_drain(struct store *s);
/* j is being answered: a write's entry goes (write-through). */
void store_listen_answered(struct store *s, const struct job *j);
/* The transaction of the jobs of list (by next) committed. */
void store_listen_committed(struct store *s, const struct job *list);
/* The connection is made (its session settings, LISTEN included, done):
 * the notify callback hears of it. */
void store_listen_connected(struct store *s);
/* The connection is closed: the cache is emptied. */
void store_listen_closed(struct store *s);

/* ---- store_migrate.c ------------------------------------------------------
 */

/* The schema could not be migrated at start-up: once the back-off allows,
 * not attached now (blocking), attached on the migrator. */
void store_migrate_later(struct store *s);

#endif
