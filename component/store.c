/*
 * store.c - registrations in PostgreSQL through libpq.
 *
 * The only file that includes libpq-fe.h.  Parameters only, prepared once
 * per connection; conflicts are decided by the unique index, never by a
 * SELECT first.  Knows nothing of XMPP.  Never logs a parameter value
 * (they may be hashes or personal data); logs SQL states and server
 * messages.
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
 * What one operation can cause never fails another: registrar_put_outcome
 * (sql/008) returns a conflict or a refused username as its outcome
 * instead of raising it.  Any other error aborts the transaction: the
 * failing operation gets it, the others go back to the head of the queue
 * (an error of the transaction itself: each alone).  Statements are
 * idempotent, so after a broken connection the operations in flight are
 * sent once more on a new one.
 *
 * Reconnects after any failure, one attempt at a time, with capped,
 * jittered back-off while the database is unreachable (operations in
 * between are answered STORE_UNAVAILABLE at once).  Every wait on the
 * server is bounded (connect timeout, a client deadline above
 * statement_timeout) and cut short by store_interrupt().
 *
 * Writes call the functions of sql/005-008: the event of each change
 * (registration_events, with the stanza id and the admin's JID of struct
 * store_origin) is written by a trigger in the same transaction.
 *
 * Migrations run on a connection of their own, blocking: at start-up, or
 * on the migrator worker of store_attach when start-up could not.
 */
#include "store.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "form.h"
#include "log.h"
#include "migrations.h"

/* pg_advisory_lock key for migrations: "registra" in ASCII. */
#define MIGRATE_LOCK_KEY "7454127761211159137"

/* After a failed connect, the first delay before the next attempt and its
 * cap; each delay is half fixed, half random, and doubles. */
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 10000
/* The session's statement_timeout, and the client's own deadline on every
 * transaction: a little more, for a server that never answers at all. */
#define STATEMENT_TIMEOUT_S 5
#define CLIENT_DEADLINE_S (STATEMENT_TIMEOUT_S + 2)
/* connect_timeout unless the conninfo says otherwise (0 is not "forever"
 * here: every connect is bounded). */
#define CONNECT_TIMEOUT_S 5
#define STR_(x) #x
#define STR(x) STR_(x)
#define STATEMENT_TIMEOUT_STR STR(STATEMENT_TIMEOUT_S)
#define CONNECT_TIMEOUT_STR STR(CONNECT_TIMEOUT_S)
#define QUEUE_MAX_DEFAULT 256
/* Operations per transaction: a put opens a subtransaction (its EXCEPTION
 * block), and PostgreSQL keeps 64 of them per transaction in shared memory
 * before snapshots get slower for every session. */
#define BATCH_MAX 60
/* How often one operation is sent again after a failure not its own. */
#define RESEND_MAX 2
/* While waiting without a loop (not attached): the longest poll. */
#define TICK_MS 200

/* ---- the statements ------------------------------------------------------ */

/* In the order of statements[]. */
enum job_kind {
    JOB_GET,
    JOB_PUT,
    JOB_REMOVE,
    JOB_SET_PASSWORD,
    JOB_SET_STATE,
    JOB_UNBAN,
    JOB_COUNT,
    JOB_LIST,
    /* not a job: the check sent after a write that went again with its
     * first COMMIT unanswered (struct job.in_doubt) */
    STMT_DONE_BEFORE,
};

/* Writes go through the functions of sql/005-008, which hand the stanza id
 * and the admin's JID to the trigger that logs the event in the same
 * transaction. */
static const struct {
    const char *name;
    const char *sql;
    int nparams;
} statements[] = {
    {"registrar_get",
     "SELECT r.username, r.password_hash, f.key, f.value,"
     /* the claim names the row by the one username rule of sql/003;
      * no claim, no key computed (ICU: the costly part of a read) */
     "       CASE WHEN $3::text IS NULL THEN false"
     "       ELSE coalesce(registrar_username_key($3) IN ("
     "           registrar_username_key(r.username),"
     "           registrar_username_key(r.jid),"
     "           CASE WHEN r.username IS NULL AND strpos(r.jid, '@') > 0"
     "                THEN registrar_username_key(split_part(r.jid, '@', 1))"
     "           END), false) END AS claim_matches,"
     "       r.state, r.disabled_reason"
     "  FROM registrations r"
     "  LEFT JOIN LATERAL ("
     "    SELECT e.key, v.value, v.n"
     "      FROM jsonb_each(r.fields) e"
     "     CROSS JOIN LATERAL jsonb_array_elements_text("
     "         CASE jsonb_typeof(e.value) WHEN 'array' THEN e.value"
     "              ELSE jsonb_build_array(e.value) END)"
     "           WITH ORDINALITY v(value, n)) f ON true"
     " WHERE r.service = $1 AND r.jid = $2"
     " ORDER BY f.key, f.n",
     3},
    /* service, jid, username, fields, hash, state, consents, iq_id, actor,
     * keep -> created, updated, disabled, banned, conflict or invalid; the
     * reason of disabled and banned */
    {"registrar_put",
     "SELECT outcome, reason FROM registrar_put_checked($1, $2, $3,"
     " $4::jsonb, $5, $6, $7::jsonb, $8, $9, $10::text[])",
     10},
    /* service, jid, iq_id, actor -> found */
    {"registrar_remove", "SELECT registrar_remove($1, $2, $3, $4)", 4},
    /* service, jid, hash, iq_id, actor -> found */
    {"registrar_set_password",
     "SELECT registrar_set_password($1, $2, $3, $4, $5)", 5},
    /* service, jid, state, from, iq_id, actor, reason -> found */
    {"registrar_set_state",
     "SELECT registrar_set_state_from($1, $2, $3, $4, $5, $6, $7)", 7},
    /* service, jid, iq_id, actor -> found */
    {"registrar_unban", "SELECT registrar_unban($1, $2, $3, $4)", 4},
    /* service, state (NULL: any) */
    {"registrar_count",
     "SELECT count(*) FROM registrations"
     " WHERE service = $1 AND ($2::text IS NULL OR state = $2)",
     2},
    /* service, state (NULL: any), max (NULL: no limit); byte order */
    {"registrar_list",
     "SELECT jid FROM registrations"
     " WHERE service = $1 AND ($2::text IS NULL OR state = $2)"
     " ORDER BY jid COLLATE \"C\" LIMIT $3::bigint",
     3},
    /* service, jid, event, iq_id: a write of this request committed
     * before (its event is there); the window bounds the look back */
    {"registrar_done_before",
     "SELECT EXISTS (SELECT 1 FROM registration_events"
     " WHERE jid = $2 AND service = $1 AND event = $3 AND iq_id = $4"
     "   AND at > now() - interval '10 minutes')",
     4},
};

#define NSTATEMENTS (sizeof(statements) / sizeof(statements[0]))

_Static_assert(NSTATEMENTS == STMT_DONE_BEFORE + 1,
               "one statement per job kind, in order");

#define JOB_PARAMS_MAX 10

/* One operation, from its call to its callback. */
struct job {
    struct job *next; /* in the queue */
    enum job_kind kind;
    char *p[JOB_PARAMS_MAX]; /* owned copies of the statement's parameters */
    int np;
    store_get_cb get_cb;
    store_done_cb done_cb;
    store_count_cb count_cb;
    store_list_cb list_cb;
    store_put_cb put_cb;
    void *arg;
    enum store_status st;
    bool created;
    char *reason; /* JOB_PUT: the reason of disabled or banned; owned */
    /* sent again after a connection lost with its COMMIT unanswered: it
     * may have committed, so its event is looked for (done_before) and the
     * answer is the first attempt's */
    bool in_doubt;
    bool done_before;
    bool alone;       /* goes in a transaction of its own */
    unsigned resends; /* sent again after failures not its own */
    struct store_record rec;
    unsigned long count;
    char **jids; /* JOB_LIST: owned, njids of them */
    size_t njids;
};

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
    bool check;    /* the done_before check of job, not its statement */
    bool answered; /* its result came (the next NULL moves on) */
};

/* Besides the jobs (and a check for each in doubt): settings or prepares,
 * ROLLBACK, BEGIN, COMMIT. */
#define SLOTS_MAX (2 * BATCH_MAX + NSTATEMENTS + 4)

struct store {
    char *conninfo;
    bool attached;           /* on the caller's loop (store_attach) */
    struct worker *migrator; /* borrowed; NULL: none */
    PGconn *conn;
    enum conn_state cs;
    PostgresPollingStatusType polling; /* while CONN_CONNECTING */
    bool want_write;                   /* libpq has output it could not send */
    bool prepared;                     /* this connection has the statements */
    bool need_rollback; /* the last transaction failed and is still open */
    double deadline;    /* while connecting or in flight: give up after */
    int timeout_s;      /* the wait that deadline stands for, for the log */
    bool migrated;      /* the schema was brought up to date */
    bool migrating;     /* on the migrator, now */
    /* back-off */
    bool down;           /* the last attempt failed (logged once) */
    unsigned backoff_ms; /* the delay after the next failure */
    double retry_at;     /* no attempt before this (monotonic seconds) */
    double down_since;
    unsigned seed; /* for the jitter */
    /* any thread: */
    int wake_fd; /* eventfd, readable once interrupted */
    atomic_bool interrupted;
    /* the queue, and the pipeline in flight */
    struct job *head, *tail;
    unsigned queued;    /* submitted and not answered, in flight included */
    unsigned queue_max; /* more than this: STORE_UNAVAILABLE at once */
    bool full;          /* logged as full */
    struct slot slots[SLOTS_MAX];
    unsigned nslots, cur;
    unsigned nprepare;    /* slots before this one: ROLLBACK, PREPAREs */
    int failed;           /* the slot whose result was an error; -1: none */
    int commit_slot;      /* the COMMIT's slot; -1: none (setup) */
    unsigned host_skip;   /* the next connect starts at this host */
    bool committed;       /* the COMMIT was answered: the jobs are done */
    PGresult *failed_res; /* that result */
};
const char *store_status_name(enum store_status st)
{
    switch (st) {
    case STORE_OK:
        return "ok";
    case STORE_NOT_FOUND:
        return "not-found";
    case STORE_CONFLICT:
        return "conflict";
    case STORE_UNAVAILABLE:
        return "unavailable";
    case STORE_INVALID:
        return "invalid";
    case STORE_NOT_ALLOWED:
        return "not-allowed";
    case STORE_BANNED:
        return "banned";
    case STORE_ERROR:
        break;
    }
    return "error";
}

const char *store_state_name(enum store_state state)
{
    switch (state) {
    case STORE_STATE_PENDING:
        return "pending";
    case STORE_STATE_DISABLED:
        return "disabled";
    case STORE_STATE_ACTIVE:
        break;
    }
    return "active";
}

/* registrations.state as the enum; false when unknown. */
static bool state_of(const char *text, enum store_state *state)
{
    static const enum store_state all[] = {
        STORE_STATE_ACTIVE, STORE_STATE_PENDING, STORE_STATE_DISABLED};

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (strcmp(text, store_state_name(all[i])) == 0) {
            *state = all[i];
            return true;
        }
    return false;
}

int store_schema_version(void)
{
    return nmigrations ? migrations[nmigrations - 1].version : 0;
}

static void on_notice(void *arg, const char *message)
{
    (void)arg;
    log_info("store", "postgres: %s", message);
}

struct store *store_new(const char *conninfo)
{
    struct store *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->queue_max = QUEUE_MAX_DEFAULT;
    s->failed = -1;
    s->seed =
        (unsigned)time(NULL) ^ (unsigned)getpid() ^ (unsigned)(uintptr_t)s;
    atomic_init(&s->interrupted, false);
    s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->wake_fd < 0 || !(s->conninfo = strdup(conninfo ? conninfo : ""))) {
        if (s->wake_fd >= 0)
            close(s->wake_fd);
        free(s);
        return NULL;
    }
    return s;
}

static void disconnect(struct store *s)
{
    if (s->conn) {
        PQfinish(s->conn);
        s->conn = NULL;
    }
    s->cs = CONN_NONE;
    s->want_write = false;
    s->prepared = false;
    s->need_rollback = false;
}

static void fail_all(struct store *s);

void store_close(struct store *s)
{
    if (!s)
        return;
    store_interrupt(s);
    while (s->head || s->nslots)
        fail_all(s); /* nothing is left unanswered */
    disconnect(s);
    close(s->wake_fd);
    free(s->conninfo);
    free(s);
}

void store_interrupt(struct store *s)
{
    uint64_t one = 1;

    atomic_store(&s->interrupted, true);
    while (write(s->wake_fd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
/* ---- connection state: down with back-off, or up ----------------------- */

/* An attempt failed, or the server stopped answering: no new attempt
 * before a jittered delay.  Logged once per outage; later failures at
 * debug level. */
static void went_down(struct store *s, const char *why)
{
    unsigned delay = s->backoff_ms ? s->backoff_ms : BACKOFF_MIN_MS;
    unsigned wait_ms = delay / 2 + (unsigned)rand_r(&s->seed) % (delay / 2 + 1);

    s->retry_at = now_s() + wait_ms / 1000.0;
    s->backoff_ms = delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay * 2;
    if (!s->down) {
        s->down = true;
        s->down_since = now_s();
        log_warn("store",
                 "database unreachable: %s; answering 'try again "
                 "later' and retrying with back-off (%u ms up to "
                 "%u ms)",
                 why, wait_ms, BACKOFF_MAX_MS);
    } else {
        log_debug("store",
                  "database still unreachable: %s; next attempt "
                  "in %u ms",
                  why, wait_ms);
    }
}

static void came_up(struct store *s)
{
    if (s->down)
        log_info("store", "database reachable again after %.1f s",
                 now_s() - s->down_since);
    s->down = false;
    s->backoff_ms = 0;
    s->retry_at = 0;
}

/* ---- blocking waits: migrations, and the store until attached ----------- */

enum wait_status { WAIT_READY, WAIT_TIMEOUT, WAIT_INTERRUPTED };

/* Waits until sock (may be -1: none) has one of events, the deadline
 * passes (monotonic seconds; 0: none), ms_max passes (-1: no limit), or
 * store_interrupt() is called.  Any thread. */
static enum wait_status wait_socket(struct store *s, int sock, short events,
                                    double deadline, int ms_max)
{
    for (;;) {
        struct pollfd p[2] = {{.fd = s->wake_fd, .events = POLLIN},
                              {.fd = sock, .events = events}};
        int ms = ms_max, n;

        if (atomic_load(&s->interrupted))
            return WAIT_INTERRUPTED;
        if (deadline > 0) {
            double left = deadline - now_s();
            if (left <= 0)
                return WAIT_TIMEOUT;
            if (ms < 0 || left * 1000 + 1 < ms)
                ms = (int)(left * 1000) + 1;
        }
        n = poll(p, sock >= 0 ? 2 : 1, ms);
        if (n < 0 && errno != EINTR)
            return WAIT_READY; /* let libpq find out what is wrong */
        if (n > 0 && p[0].revents)
            return WAIT_INTERRUPTED; /* never read: stays readable */
        if (n > 0 && p[1].revents)
            return WAIT_READY;
        if (n == 0 && ms_max >= 0)
            return WAIT_TIMEOUT;
    }
}

/* Waits for what was sent on conn (blocking mode), with no deadline but
 * store_interrupt().  The first failed result, or else the last one; the
 * caller clears it.  NULL when the connection broke or was interrupted. */
static PGresult *collect(struct store *s, PGconn *conn)
{
    PGresult *res = NULL, *r;

    for (;;) {
        while (PQisBusy(conn)) {
            if (wait_socket(s, PQsocket(conn), POLLIN, 0, -1) != WAIT_READY ||
                !PQconsumeInput(conn)) {
                PQclear(res);
                return NULL;
            }
        }
        if (!(r = PQgetResult(conn)))
            break;
        if (res && PQresultStatus(res) == PGRES_FATAL_ERROR) {
            PQclear(r);
        } else {
            PQclear(res);
            res = r;
        }
    }
    return res;
}

/* Sends sql (several statements when params is NULL; else nparams text
 * parameters) on conn and waits.  As collect(). */
static PGresult *query(struct store *s, PGconn *conn, const char *sql,
                       int nparams, const char *const *params)
{
    int sent = params ? PQsendQueryParams(conn, sql, nparams, NULL, params,
                                          NULL, NULL, 0)
                      : PQsendQuery(conn, sql);

    return sent ? collect(s, conn) : NULL;
}

/* Runs a command without parameters; false (logged) on failure. */
static bool exec_simple(struct store *s, PGconn *conn, const char *sql,
                        const char *what)
{
    PGresult *res = query(s, conn, sql, 0, NULL);
    ExecStatusType rs = PQresultStatus(res);
    bool ok = rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK;

    if (!ok)
        log_error("store", "%s failed: %s", what,
                  atomic_load(&s->interrupted) ? "stopping"
                                               : PQerrorMessage(conn));
    PQclear(res);
    return ok;
}

/* The connect timeout in effect for conn: the conninfo's, at least 2 s
 * (as libpq), and never unbounded. */
static int connect_timeout(PGconn *conn)
{
    PQconninfoOption *opts = PQconninfo(conn);
    int t = CONNECT_TIMEOUT_S;

    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, "connect_timeout") == 0 && o->val)
            t = atoi(o->val);
    PQconninfoFree(opts);
    if (t <= 0)
        t = CONNECT_TIMEOUT_S;
    return t < 2 ? 2 : t;
}

/* ---- several hosts: one connect deadline per host ------------------------ */

/* libpq's non-blocking connect applies no connect_timeout per host: a
 * first host that never answers (rather than refusing) would hide the
 * others behind the attempt's one deadline.  So, when the deadline passes
 * on host i of a multi-host conninfo, the next attempt starts at host
 * i + 1, overriding host, hostaddr and port with the rest of their
 * lists. */

#define HOSTS_LEN 1024

/* The lists of the conninfo for key ("host", "hostaddr", "port"), from
 * entry skip on, into out ("" when the key is absent); how many entries
 * the whole list has. */
static unsigned host_list(const char *conninfo, const char *key, unsigned skip,
                          char *out, size_t len)
{
    PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
    unsigned n = 0;

    out[0] = '\0';
    for (PQconninfoOption *o = opts; o && o->keyword; o++) {
        const char *rest;

        if (strcmp(o->keyword, key) != 0 || !o->val || !*o->val)
            continue;
        rest = o->val;
        n = 1;
        for (const char *c = o->val; *c; c++)
            if (*c == ',' && n++ == skip) /* entry number skip starts */
                rest = c + 1;
        if (skip < n)
            snprintf(out, len, "%s", rest);
    }
    PQconninfoFree(opts);
    return n;
}

/* How many hosts the conninfo names (1 when one or none). */
static unsigned host_count(const char *conninfo)
{
    char buf[HOSTS_LEN];
    unsigned h = host_list(conninfo, "host", 0, buf, sizeof(buf));
    unsigned a = host_list(conninfo, "hostaddr", 0, buf, sizeof(buf));

    return h > a ? h : a ? a : 1;
}

/* Starts a connection on the operator's conninfo (which comes after our
 * defaults, so that its values win), from host number skip on.  NULL
 * only when out of memory. */
static PGconn *start_conn(const struct store *s, unsigned skip)
{
    char host[HOSTS_LEN], addr[HOSTS_LEN], port[HOSTS_LEN];
    const char *keys[7] = {"application_name", "connect_timeout", "dbname"};
    const char *vals[7] = {"registrar", CONNECT_TIMEOUT_STR, s->conninfo};
    int n = 3;

    if (skip > 0) {
        /* a list of one (a port for every host) is kept whole */
        if (host_list(s->conninfo, "host", skip, host, sizeof(host)) > 1) {
            keys[n] = "host";
            vals[n++] = host;
        }
        if (host_list(s->conninfo, "hostaddr", skip, addr, sizeof(addr)) > 1) {
            keys[n] = "hostaddr";
            vals[n++] = addr;
        }
        if (host_list(s->conninfo, "port", skip, port, sizeof(port)) > 1) {
            keys[n] = "port";
            vals[n++] = port;
        }
    }
    keys[n] = vals[n] = NULL;
    return PQconnectStartParams(keys, vals, 1);
}

/* Which host of the attempt (counted from the attempt's first) conn is
 * trying now. */
static unsigned host_tried(PGconn *conn)
{
    PQconninfoOption *opts = PQconninfo(conn);
    const char *now = PQhost(conn), *port = PQport(conn);
    char hosts[HOSTS_LEN] = "", ports[HOSTS_LEN] = "";
    unsigned i = 0;

    for (PQconninfoOption *o = opts; o && o->keyword; o++) {
        if (!o->val)
            continue;
        if (strcmp(o->keyword, "host") == 0 ||
            (strcmp(o->keyword, "hostaddr") == 0 && !hosts[0]))
            snprintf(hosts, sizeof(hosts), "%s", o->val);
        else if (strcmp(o->keyword, "port") == 0)
            snprintf(ports, sizeof(ports), "%s", o->val);
    }
    PQconninfoFree(opts);
    if (!now)
        return 0;
    /* the i-th entry of host (and of port, when it is a list) */
    for (char *h = hosts, *p = ports, *hs, *ps;; i++) {
        hs = strchr(h, ',');
        ps = strchr(p, ',');
        if (hs)
            *hs = '\0';
        if (ps)
            *ps = '\0';
        if (strcmp(h, now) == 0 && (!port || !*p || strcmp(p, port) == 0))
            return i;
        if (!hs)
            return 0;
        h = hs + 1;
        if (ps)
            p = ps + 1;
    }
}

/* conn's error message on one line, into why (whylen > 3). */
static void conn_error(PGconn *conn, char *why, size_t whylen)
{
    const char *m = conn ? PQerrorMessage(conn) : "out of memory";
    size_t o = 0;

    /* one line: libpq gives a line per host tried (and hint lines
     * indented with a tab): "; " between them, so that a multi-host
     * failure names every host's reason */
    for (; *m && o + 3 < whylen; m++) {
        if (*m == '\n') {
            while (m[1] == '\t' || m[1] == ' ')
                m++;
            if (m[1] && o > 0) {
                why[o++] = ';';
                why[o++] = ' ';
            }
        } else if (*m != '\t') {
            why[o++] = *m;
        }
    }
    why[o] = '\0';
}

/* A blocking connection for migrations, within the connect timeout, or
 * NULL with the reason in why.  Any thread. */
static PGconn *open_blocking(struct store *s, char *why, size_t whylen)
{
    unsigned skip = 0;
    PGconn *conn;
    PostgresPollingStatusType ps;
    double deadline;
    int timeout;

next_host:
    conn = start_conn(s, skip);
    ps = PGRES_POLLING_WRITING;
    if (!conn) {
        conn_error(NULL, why, whylen);
        return NULL;
    }
    timeout = connect_timeout(conn);
    deadline = now_s() + timeout;
    while (ps != PGRES_POLLING_OK) {
        enum wait_status ws;

        if (ps == PGRES_POLLING_FAILED || PQstatus(conn) == CONNECTION_BAD ||
            PQsocket(conn) < 0) {
            conn_error(conn, why, whylen);
            PQfinish(conn);
            return NULL;
        }
        ws = wait_socket(s, PQsocket(conn),
                         ps == PGRES_POLLING_READING ? POLLIN : POLLOUT,
                         deadline, -1);
        if (ws == WAIT_TIMEOUT &&
            skip + host_tried(conn) + 1 < host_count(s->conninfo)) {
            log_warn("store",
                     "no answer from %s:%s within %d s (connect timeout): "
                     "trying the next host",
                     PQhost(conn), PQport(conn), timeout);
            skip += host_tried(conn) + 1;
            PQfinish(conn);
            goto next_host;
        }
        if (ws != WAIT_READY) {
            if (ws == WAIT_INTERRUPTED)
                snprintf(why, whylen, "stopping");
            else
                snprintf(why, whylen, "no answer within %d s (connect timeout)",
                         timeout);
            PQfinish(conn);
            return NULL;
        }
        ps = PQconnectPoll(conn);
    }
    PQsetNoticeProcessor(conn, on_notice, NULL);
    return conn;
}

/* ---- failures ------------------------------------------------------------ */

/* Maps a failed result (NULL: none) to a status, logged. */
static enum store_status failure(struct store *s, const PGresult *res,
                                 const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary, *cons;
    enum store_status st = STORE_ERROR;

    if (!s->conn || PQstatus(s->conn) != CONNECTION_OK) {
        st = STORE_UNAVAILABLE;
    } else if (state) {
        if (strcmp(state, "23505") == 0)
            return STORE_CONFLICT; /* unique_violation: expected */
        /* check_violation of the username rule: a refused value, logged
         * (which constraint); any other CHECK is a bug of ours */
        if (strcmp(state, "23514") == 0 && res &&
            (cons = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME)) &&
            strcmp(cons, "registrations_username_valid") == 0)
            st = STORE_INVALID;
        /* connection exceptions, shutdowns, timeouts, lock waits,
         * serialization failures and deadlocks: try again later. */
        if (strncmp(state, "08", 2) == 0 || strncmp(state, "57", 2) == 0 ||
            strcmp(state, "55P03") == 0 || strncmp(state, "40", 2) == 0 ||
            strncmp(state, "53", 2) == 0)
            st = STORE_UNAVAILABLE;
    }
    /* The primary message only: DETAIL lines quote row values. */
    primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    log_error("store", "%s failed (%s): %s", what, state ? state : "no state",
              primary   ? primary
              : s->conn ? PQerrorMessage(s->conn)
                        : "no connection");
    return st;
}

/* ---- jobs: answering ------------------------------------------------------
 */

static void job_clear_results(struct job *j)
{
    store_record_clear(&j->rec);
    for (size_t i = 0; i < j->njids; i++)
        free(j->jids[i]);
    free(j->jids);
    j->jids = NULL;
    j->njids = 0;
    j->count = 0;
    j->created = false;
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
        bool ok = j->st == STORE_OK;

        list = j->next;
        switch (j->kind) {
        case JOB_GET:
            j->get_cb(j->arg, j->st, ok ? &j->rec : NULL);
            break;
        case JOB_COUNT:
            j->count_cb(j->arg, j->st, ok ? j->count : 0);
            break;
        case JOB_LIST:
            j->list_cb(j->arg, j->st, ok ? j->jids : NULL, ok ? j->njids : 0);
            break;
        case JOB_PUT:
            j->put_cb(j->arg, j->st, j->created, j->reason);
            break;
        default:
            j->done_cb(j->arg, j->st, j->created);
            break;
        }
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

/* Everything submitted and not answered: STORE_UNAVAILABLE now. */
static void fail_all(struct store *s)
{
    struct job *list = take_pipeline(s), *q = take_queue(s), **t = &list;

    if (s->cs == CONN_BUSY || s->cs == CONN_SETUP)
        disconnect(s); /* the pipeline is not read to its end */
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

/* ---- the connection, driven without blocking ----------------------------- */

/* The connection broke, or a send failed: what was in flight is sent again
 * on a new connection (at most RESEND_MAX times).  A connection that broke
 * before it was set up counts as a failed attempt (back-off). */
static void broken(struct store *s, const char *what)
{
    char why[256];
    bool attempt = s->cs == CONN_CONNECTING || s->cs == CONN_SETUP;
    struct job *list = take_pipeline(s), *resend = NULL, *lost = NULL;
    bool committed = s->committed;
    /* the transaction was sent and its COMMIT not answered: the server
     * may have committed it */
    bool doubt = s->cs == CONN_BUSY;

    conn_error(s->conn, why, sizeof(why));
    disconnect(s);
    if (attempt) {
        went_down(s, why);
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

static void start_connect(struct store *s);

/* The server did not answer in time: that server gets time to come back
 * (back-off); what was in flight is answered STORE_UNAVAILABLE. */
static void give_up(struct store *s)
{
    char why[160];
    const char *what = s->cs == CONN_CONNECTING ? "the connection"
                       : s->cs == CONN_SETUP    ? "the session settings"
                                                : "a transaction";
    bool committed = s->committed;
    struct job *list;

    if (s->cs == CONN_CONNECTING) {
        unsigned next = s->host_skip + host_tried(s->conn) + 1;

        if (next < host_count(s->conninfo)) { /* the next host, now */
            log_warn("store",
                     "no answer from %s:%s within %d s (connect timeout): "
                     "trying the next host",
                     PQhost(s->conn), PQport(s->conn), s->timeout_s);
            disconnect(s);
            s->host_skip = next;
            start_connect(s);
            return;
        }
    }
    s->host_skip = 0;
    list = take_pipeline(s);
    snprintf(why, sizeof(why), "no answer to %s within %d s%s", what,
             s->timeout_s,
             s->cs == CONN_CONNECTING ? " (connect timeout)" : "");
    disconnect(s);
    went_down(s, why);
    if (!committed) /* else each has its result */
        set_status(list, STORE_UNAVAILABLE);
    answer_list(s, list);
}

static bool flush_out(struct store *s)
{
    int r = PQflush(s->conn);

    s->want_write = r == 1;
    return r >= 0;
}

/* Pipelines one command of no job (a setting, BEGIN, COMMIT...). */
static bool send_sql(struct store *s, const char *what, const char *sql)
{
    if (!PQsendQueryParams(s->conn, sql, 0, NULL, NULL, NULL, NULL, 0))
        return false;
    s->slots[s->nslots++] = (struct slot){.what = what};
    return true;
}

/* The event a write leaves, and where its stanza id is among its
 * parameters; false for a job that writes no event. */
static bool event_of(const struct job *j, const char **event, int *iq)
{
    switch (j->kind) {
    case JOB_PUT:
        *event = "registered";
        *iq = 7;
        return true;
    case JOB_REMOVE:
        *event = "removed";
        *iq = 2;
        return true;
    case JOB_SET_PASSWORD:
        *event = "password_changed";
        *iq = 3;
        return true;
    case JOB_SET_STATE:
        *event = "state_changed";
        *iq = 4;
        return true;
    case JOB_UNBAN:
        *event = "ban_lifted";
        *iq = 2;
        return true;
    default:
        return false;
    }
}

/* The job's statement; for a write in doubt with a stanza id, the check
 * of its event after it (in the same transaction). */
static bool send_job(struct store *s, struct job *j)
{
    const char *event;
    int iq;

    if (!PQsendQueryPrepared(s->conn, statements[j->kind].name,
                             statements[j->kind].nparams,
                             (const char *const *)j->p, NULL, NULL, 0))
        return false;
    s->slots[s->nslots++] =
        (struct slot){.job = j, .what = statements[j->kind].name};
    if (j->in_doubt && event_of(j, &event, &iq) && j->p[iq]) {
        const char *params[] = {j->p[0], j->p[1], event, j->p[iq]};

        if (!PQsendQueryPrepared(s->conn, statements[STMT_DONE_BEFORE].name, 4,
                                 params, NULL, NULL, 0))
            return false;
        s->slots[s->nslots++] = (struct slot){
            .job = j, .what = statements[STMT_DONE_BEFORE].name, .check = true};
    }
    return true;
}

static void start_connect(struct store *s)
{
    char why[512];

    s->conn = start_conn(s, s->host_skip);
    if (!s->conn || PQstatus(s->conn) == CONNECTION_BAD) {
        conn_error(s->conn, why, sizeof(why));
        disconnect(s);
        s->host_skip = 0;
        went_down(s, why);
        return;
    }
    s->cs = CONN_CONNECTING;
    s->polling = PGRES_POLLING_WRITING;
    s->timeout_s = connect_timeout(s->conn);
    s->deadline = now_s() + s->timeout_s;
}

/* The session settings: every statement bounded, so that a lock or a
 * stuck server turns into an answer instead of a hang. */
static const char session_settings[] =
    "SELECT set_config('client_min_messages', 'warning', false),"
    "       set_config('statement_timeout', '" STATEMENT_TIMEOUT_STR "s',"
    "                  false),"
    "       set_config('lock_timeout', '3s', false),"
    "       set_config('idle_in_transaction_session_timeout', '10s', false)";

static void connect_step(struct store *s)
{
    char why[512];

    s->polling = PQconnectPoll(s->conn);
    if (s->polling == PGRES_POLLING_FAILED || PQsocket(s->conn) < 0) {
        conn_error(s->conn, why, sizeof(why));
        disconnect(s);
        s->host_skip = 0;
        went_down(s, why);
        return;
    }
    if (s->polling != PGRES_POLLING_OK)
        return;
    if (PQsetnonblocking(s->conn, 1) != 0 || !PQenterPipelineMode(s->conn)) {
        broken(s, "entering pipeline mode");
        return;
    }
    PQsetNoticeProcessor(s->conn, on_notice, NULL);
    s->nslots = s->cur = 0;
    s->failed = -1;
    s->commit_slot = -1;
    s->committed = false;
    if (!send_sql(s, "session settings", session_settings) ||
        !PQpipelineSync(s->conn) || !flush_out(s)) {
        broken(s, "sending the session settings");
        return;
    }
    s->cs = CONN_SETUP;
    s->timeout_s = CLIENT_DEADLINE_S;
    s->deadline = now_s() + CLIENT_DEADLINE_S;
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
    if (s->need_rollback && !send_sql(s, "ROLLBACK", "ROLLBACK"))
        goto broke;
    s->nprepare = 0;
    for (size_t i = 0; !s->prepared && i < NSTATEMENTS; i++) {
        if (!PQsendPrepare(s->conn, statements[i].name, statements[i].sql,
                           statements[i].nparams, NULL))
            goto broke;
        s->slots[s->nslots++] = (struct slot){.what = statements[i].name};
        s->nprepare = s->nslots;
    }
    if (!send_sql(s, "BEGIN", "BEGIN"))
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
    if (!send_sql(s, "COMMIT", "COMMIT") || !PQpipelineSync(s->conn) ||
        !flush_out(s))
        goto broke;
    s->cs = CONN_BUSY;
    s->timeout_s = CLIENT_DEADLINE_S;
    s->deadline = now_s() + CLIENT_DEADLINE_S;
    log_debug("store", "sent a transaction of %u operation(s)", n);
    return;
broke:
    broken(s, "sending");
}

static void read_result(struct job *j, PGresult *res);
static void read_done_before(struct job *j, PGresult *res);

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

        st = failure(s, fres,
                     in_slot ? s->slots[failed].what : "the transaction");
        failed_job = in_slot ? s->slots[failed].job : NULL;
    }
    PQclear(fres);
    list = take_pipeline(s);
    if (setup) {
        if (failed >= 0) {
            disconnect(s);
            went_down(s, "the session settings were refused");
            return;
        }
        s->cs = CONN_READY;
        s->host_skip = 0;
        log_info("store", "connected to database %s on %s:%s as %s",
                 PQdb(s->conn), PQhost(s->conn), PQport(s->conn),
                 PQuser(s->conn));
        came_up(s);
        return;
    }
    if (nprepare && (failed < 0 || (unsigned)failed >= nprepare))
        s->prepared = true; /* a PREPARE outlives a failed transaction */
    if (failed < 0) {
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
            disconnect(s); /* a statement the schema does not take */
            went_down(s, "cannot prepare the statements");
        } else if (st == STORE_UNAVAILABLE) {
            disconnect(s);
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
        broken(s, "reading");
        return;
    }
    if (s->want_write && !flush_out(s)) {
        broken(s, "writing");
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
            if (s->failed < 0) {
                s->failed = (int)s->cur;
                s->failed_res = r;
                r = NULL;
            }
            break;
        case PGRES_PIPELINE_ABORTED:
            break;
        default:
            if (slot && slot->job && slot->check)
                read_done_before(slot->job, r);
            else if (slot && slot->job)
                read_result(slot->job, r);
            if (slot && (int)s->cur == s->commit_slot && s->failed < 0)
                s->committed = true;
            break;
        }
        if (slot)
            slot->answered = true;
        /* the deadline bounds a silence, not the whole transaction */
        s->deadline = now_s() + s->timeout_s;
        PQclear(r);
    }
    if (s->conn && PQstatus(s->conn) != CONNECTION_OK)
        broken(s, "reading");
}

/* ---- the loop's side ---------------------------------------------------- */

static void migrate_later(struct store *s);

int store_watch(struct store *s, short *events)
{
    if (!s->conn || s->cs == CONN_NONE)
        return -1;
    if (s->cs == CONN_CONNECTING)
        *events = s->polling == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    else
        *events = POLLIN | (s->want_write ? POLLOUT : 0);
    return PQsocket(s->conn);
}

void store_on_ready(struct store *s)
{
    if (s->cs == CONN_CONNECTING)
        connect_step(s);
    else if (s->conn)
        pump(s);
}

void store_turn(struct store *s)
{
    if (atomic_load(&s->interrupted)) {
        if (s->cs == CONN_BUSY || s->cs == CONN_SETUP ||
            s->cs == CONN_CONNECTING)
            log_info("store", "%s abandoned: stopping",
                     s->cs == CONN_BUSY ? "a transaction" : "a connection");
        fail_all(s);
        disconnect(s);
        return;
    }
    if (s->cs != CONN_NONE && s->cs != CONN_READY && now_s() > s->deadline)
        give_up(s);
    if (s->cs == CONN_READY && s->need_rollback && !s->head) {
        start_batch(s); /* ROLLBACK at once: no session idles in a failed
                         * transaction (idle_in_transaction timeout) */
        return;
    }
    if (!s->head)
        return;
    if (!s->migrated) {
        migrate_later(s);
        if (!s->migrated) {
            fail_queue(s, STORE_UNAVAILABLE);
            return;
        }
    }
    if (s->cs == CONN_NONE) {
        if (s->down && now_s() < s->retry_at) {
            fail_queue(s, STORE_UNAVAILABLE);
            return;
        }
        start_connect(s);
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
        fd = store_watch(s, &events);
        if (s->cs != CONN_NONE && s->cs != CONN_READY) {
            left = s->deadline - now_s();
            if (left * 1000 < ms)
                ms = left > 0 ? (int)(left * 1000) + 1 : 0;
        }
        if (wait_socket(s, fd, events, 0, ms) == WAIT_READY && fd >= 0)
            store_on_ready(s);
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

void store_attach(struct store *s, struct worker *migrator, unsigned queue_max)
{
    s->attached = true;
    s->migrator = migrator;
    s->queue_max = queue_max ? queue_max : QUEUE_MAX_DEFAULT;
}

enum store_status store_connect(struct store *s)
{
    if (s->conn && PQstatus(s->conn) == CONNECTION_OK &&
        s->cs != CONN_CONNECTING && s->cs != CONN_SETUP)
        return STORE_OK;
    disconnect(s);
    if (atomic_load(&s->interrupted))
        return STORE_UNAVAILABLE;
    start_connect(s);
    while (s->cs == CONN_CONNECTING || s->cs == CONN_SETUP) {
        short events = 0;
        int fd = store_watch(s, &events);
        enum wait_status ws = wait_socket(s, fd, events, s->deadline, -1);

        if (ws == WAIT_INTERRUPTED) {
            log_info("store", "connect abandoned: stopping");
            disconnect(s);
        } else if (ws == WAIT_TIMEOUT) {
            give_up(s);
        } else {
            store_on_ready(s);
        }
    }
    return s->cs == CONN_READY ? STORE_OK : STORE_UNAVAILABLE;
}
void store_record_clear(struct store_record *rec)
{
    free(rec->service);
    free(rec->jid);
    free(rec->username);
    free(rec->password_hash);
    free(rec->disabled_reason);
    form_data_clear(&rec->fields);
    *rec = (struct store_record){0};
}

static char *dup_field(const PGresult *res, int row, int col, bool *oom)
{
    char *d;

    if (PQgetisnull(res, row, col))
        return NULL;
    if (!(d = strdup(PQgetvalue(res, row, col))))
        *oom = true;
    return d;
}

/* ---- fields as JSON: the jsonb that registrar_get decodes ------------ */

struct buf {
    char *s;
    size_t len, cap;
    bool oom;
};

static void buf_put(struct buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

static void buf_json_string(struct buf *b, const char *s)
{
    buf_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"':
            buf_put(b, "\\\"", 2);
            break;
        case '\\':
            buf_put(b, "\\\\", 2);
            break;
        case '\n':
            buf_put(b, "\\n", 2);
            break;
        case '\r':
            buf_put(b, "\\r", 2);
            break;
        case '\t':
            buf_put(b, "\\t", 2);
            break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof(esc), "\\u%04x", *p);
                buf_str(b, esc);
            } else {
                buf_put(b, (const char *)p, 1);
            }
        }
    }
    buf_put(b, "\"", 1);
}

/* The jsonb object of store_put.fields: var -> value, or an array for
 * -multi fields of def (vars not in def: a string when single, an array
 * when several).  Caller frees; NULL when out of memory. */
static char *fields_json(const struct form_def *def,
                         const struct form_data *data)
{
    struct buf b = {0};

    buf_str(&b, "{");
    for (size_t i = 0; i < data->n; i++) {
        const struct form_value *v = &data->items[i];
        const struct form_field_def *f =
            def ? form_def_find(def, v->var) : NULL;
        bool array = f ? form_type_is_multi(f->type) : v->nvalues != 1;

        if (i)
            buf_str(&b, ",");
        buf_json_string(&b, v->var);
        buf_str(&b, ":");
        if (array)
            buf_str(&b, "[");
        for (size_t j = 0; j < v->nvalues; j++) {
            if (j)
                buf_str(&b, ",");
            buf_json_string(&b, v->values[j]);
        }
        if (array)
            buf_str(&b, "]");
        else if (v->nvalues == 0)
            buf_str(&b, "\"\"");
    }
    buf_str(&b, "}");
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* ---- operations: a job each, run inline or on the store's worker ------ */
static void read_record(struct job *j, PGresult *res)
{
    int rows = PQntuples(res);
    bool oom = false;

    if (rows == 0) {
        j->st = STORE_NOT_FOUND;
        return;
    }
    j->rec.service = strdup(j->p[0]);
    j->rec.jid = strdup(j->p[1]);
    oom = !j->rec.service || !j->rec.jid;
    j->rec.username = dup_field(res, 0, 0, &oom);
    j->rec.password_hash = dup_field(res, 0, 1, &oom);
    j->rec.claim_matches = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
    if (!state_of(PQgetvalue(res, 0, 5), &j->rec.state)) {
        /* the CHECK of sql/005 knows no other: a newer schema */
        log_error("store", "unknown registration state");
        j->st = STORE_ERROR;
        return;
    }
    if (j->rec.state == STORE_STATE_DISABLED)
        j->rec.disabled_reason = dup_field(res, 0, 6, &oom);
    for (int i = 0; i < rows && !oom; i++) {
        if (PQgetisnull(res, i, 2))
            continue;
        if (!form_data_add(&j->rec.fields, PQgetvalue(res, i, 2),
                           PQgetvalue(res, i, 3)))
            oom = true;
    }
    if (oom) {
        log_error("store", "out of memory reading a registration");
        j->st = STORE_ERROR;
    }
}

static void read_list(struct job *j, PGresult *res)
{
    size_t rows = (size_t)PQntuples(res);

    if (rows == 0)
        return;
    if (!(j->jids = calloc(rows, sizeof(*j->jids)))) {
        j->st = STORE_ERROR;
        return;
    }
    for (size_t i = 0; i < rows; i++) {
        if (!(j->jids[i] = strdup(PQgetvalue(res, (int)i, 0)))) {
            log_error("store", "out of memory reading registrations");
            j->st = STORE_ERROR;
            return;
        }
        j->njids = i + 1;
    }
}

/* The boolean a write's function returned (sql/005). */
static bool returned_true(const PGresult *res)
{
    return PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
}

/* The write functions return NULL when the row's state refused it. */
static bool returned_null(const PGresult *res)
{
    return PQntuples(res) == 1 && PQgetisnull(res, 0, 0);
}

/* What a job's statement returned, into the job (on the loop). */
static void read_result(struct job *j, PGresult *res)
{
    const char *v;

    switch (j->kind) {
    case JOB_GET:
        read_record(j, res);
        break;
    case JOB_PUT:
        v = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "";
        if (strcmp(v, "created") == 0)
            j->created = true;
        else if (strcmp(v, "updated") == 0)
            j->created = false;
        else if (strcmp(v, "disabled") == 0)
            j->st = STORE_NOT_ALLOWED;
        else if (strcmp(v, "banned") == 0)
            j->st = STORE_BANNED;
        else if (strcmp(v, "conflict") == 0)
            j->st = STORE_CONFLICT;
        else if (strcmp(v, "invalid") == 0)
            j->st = STORE_INVALID;
        else
            j->st = STORE_ERROR;
        if (j->st == STORE_INVALID)
            log_info("store", "the username rule refused a username");
        if ((j->st == STORE_NOT_ALLOWED || j->st == STORE_BANNED) &&
            PQnfields(res) > 1 && !PQgetisnull(res, 0, 1)) {
            bool oom = false;
            j->reason = dup_field(res, 0, 1, &oom);
        }
        break;
    case JOB_SET_PASSWORD:
    case JOB_SET_STATE:
        if (returned_null(res)) {
            j->st = STORE_NOT_ALLOWED;
            break;
        }
        if (!returned_true(res))
            j->st = STORE_NOT_FOUND;
        break;
    case JOB_REMOVE:
    case JOB_UNBAN:
        if (!returned_true(res))
            j->st = STORE_NOT_FOUND;
        break;
    case JOB_COUNT:
        j->count =
            PQntuples(res) == 1 ? strtoul(PQgetvalue(res, 0, 0), NULL, 10) : 0;
        break;
    case JOB_LIST:
        read_list(j, res);
        break;
    case STMT_DONE_BEFORE:
        break;
    }
}

/* The check of a write in doubt (after its own result): when its event is
 * there, the first attempt committed, and the answer is that attempt's
 * (a registration created, a removal done...), not the second's. */
static void read_done_before(struct job *j, PGresult *res)
{
    j->done_before = returned_true(res);
    if (!j->done_before)
        return;
    log_info("store",
             "a %s sent again after a lost connection had "
             "committed the first time: answered as then",
             statements[j->kind].name);
    j->st = STORE_OK;
    if (j->kind == JOB_PUT) {
        j->created = true;
        free(j->reason);
        j->reason = NULL;
    }
}

/* A job with copies of params (NULL entries allowed); NULL when out of
 * memory. */
static struct job *job_new(enum job_kind kind, const char *const *params,
                           int np)
{
    struct job *j = calloc(1, sizeof(*j));

    if (!j)
        return NULL;
    j->kind = kind;
    j->np = np;
    for (int i = 0; i < np; i++) {
        if (params[i] && !(j->p[i] = strdup(params[i]))) {
            job_free(j);
            return NULL;
        }
    }
    return j;
}

void store_get(struct store *s, const char *service, const char *jid,
               const char *claim, store_get_cb cb, void *arg)
{
    const char *params[] = {service, jid, claim};
    struct job *j = job_new(JOB_GET, params, 3);

    if (!j) {
        cb(arg, STORE_ERROR, NULL);
        return;
    }
    j->get_cb = cb;
    j->arg = arg;
    submit(s, j);
}

/* The writes differ only in kind and parameters. */
static void write_op(struct store *s, enum job_kind kind,
                     const char *const *params, int np, store_done_cb cb,
                     void *arg)
{
    struct job *j = job_new(kind, params, np);

    if (!j) {
        cb(arg, STORE_ERROR, false);
        return;
    }
    j->done_cb = cb;
    j->arg = arg;
    submit(s, j);
}

static char *consents_json(const struct store_consent *c, size_t n)
{
    struct buf b = {0};

    buf_str(&b, "{");
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_str(&b, ",");
        buf_json_string(&b, c[i].var);
        buf_str(&b, ":");
        buf_json_string(&b, c[i].version ? c[i].version : "");
    }
    buf_str(&b, "}");
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* The text[] literal of the private vars an update keeps (see store.h);
 * caller frees; NULL when out of memory. */
static char *keep_array(const struct form_def *def)
{
    struct buf b = {0};
    bool first = true;

    buf_str(&b, "{");
    for (size_t i = 0; def && i < def->nfields; i++) {
        const struct form_field_def *f = &def->fields[i];

        if (f->type != FORM_TEXT_PRIVATE || strcmp(f->var, "password") == 0)
            continue;
        if (!first)
            buf_str(&b, ",");
        first = false;
        /* an array element in double quotes: \ and " escaped */
        buf_str(&b, "\"");
        for (const char *p = f->var; *p; p++) {
            if (*p == '"' || *p == '\\')
                buf_put(&b, "\\", 1);
            buf_put(&b, p, 1);
        }
        buf_str(&b, "\"");
    }
    buf_str(&b, "}");
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

void store_put(struct store *s, const struct store_put *put, store_put_cb cb,
               void *arg)
{
    struct form_data none = {0};
    char *json = fields_json(put->def, put->fields ? put->fields : &none);
    char *consents = consents_json(put->consents, put->nconsents);
    char *keep = keep_array(put->def);
    const char *params[] = {
        put->service, put->jid,           put->username,
        json,         put->password_hash, store_state_name(put->initial_state),
        consents,     put->origin.iq_id,  put->origin.actor,
        keep};

    struct job *j =
        json && consents && keep ? job_new(JOB_PUT, params, 10) : NULL;

    if (j) {
        j->put_cb = cb;
        j->arg = arg;
        submit(s, j);
    } else {
        cb(arg, STORE_ERROR, false, NULL);
    }
    /* the job has its own copy; the values may include hashes */
    if (json)
        explicit_bzero(json, strlen(json));
    free(json);
    free(consents);
    free(keep);
}

void store_remove(struct store *s, const char *service, const char *jid,
                  const struct store_origin *origin, store_done_cb cb,
                  void *arg)
{
    const char *params[] = {service, jid, origin ? origin->iq_id : NULL,
                            origin ? origin->actor : NULL};

    write_op(s, JOB_REMOVE, params, 4, cb, arg);
}

void store_set_password(struct store *s, const char *service, const char *jid,
                        const char *hash, const struct store_origin *origin,
                        store_done_cb cb, void *arg)
{
    const char *params[] = {service, jid, hash, origin ? origin->iq_id : NULL,
                            origin ? origin->actor : NULL};

    write_op(s, JOB_SET_PASSWORD, params, 5, cb, arg);
}

void store_set_state(struct store *s, const char *service, const char *jid,
                     enum store_state state, const enum store_state *from,
                     const struct store_origin *origin, store_done_cb cb,
                     void *arg)
{
    const char *params[] = {
        service,
        jid,
        store_state_name(state),
        from ? store_state_name(*from) : NULL,
        origin ? origin->iq_id : NULL,
        origin ? origin->actor : NULL,
        origin && state == STORE_STATE_DISABLED ? origin->reason : NULL};

    write_op(s, JOB_SET_STATE, params, 7, cb, arg);
}

void store_unban(struct store *s, const char *service, const char *jid,
                 const struct store_origin *origin, store_done_cb cb, void *arg)
{
    const char *params[] = {service, jid, origin ? origin->iq_id : NULL,
                            origin ? origin->actor : NULL};

    write_op(s, JOB_UNBAN, params, 4, cb, arg);
}

void store_count(struct store *s, const char *service,
                 const enum store_state *state, store_count_cb cb, void *arg)
{
    const char *params[] = {service, state ? store_state_name(*state) : NULL};
    struct job *j = job_new(JOB_COUNT, params, 2);

    if (!j) {
        cb(arg, STORE_ERROR, 0);
        return;
    }
    j->count_cb = cb;
    j->arg = arg;
    submit(s, j);
}

void store_list(struct store *s, const char *service,
                const enum store_state *state, unsigned max, store_list_cb cb,
                void *arg)
{
    char limit[16];
    const char *params[] = {service, state ? store_state_name(*state) : NULL,
                            max ? limit : NULL};
    struct job *j;

    snprintf(limit, sizeof(limit), "%u", max);
    if (!(j = job_new(JOB_LIST, params, 3))) {
        cb(arg, STORE_ERROR, NULL, 0);
        return;
    }
    j->list_cb = cb;
    j->arg = arg;
    submit(s, j);
}

/* ---- migrations -------------------------------------------------------- */

/* The version the database is at; -1 on failure. */
static int current_version(struct store *s, PGconn *conn)
{
    PGresult *res = query(s, conn,
                          "SELECT coalesce(max(version), 0)"
                          "  FROM registrar_schema_migrations",
                          0, NULL);
    int v = -1;

    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        v = atoi(PQgetvalue(res, 0, 0));
    else
        log_error("store", "cannot read the schema version: %s",
                  PQerrorMessage(conn));
    PQclear(res);
    return v;
}

/* sql with every "@schema@" replaced by schema; caller frees; NULL when
 * out of memory. */
static char *with_schema(const char *sql, const char *schema)
{
    static const char mark[] = "@schema@";
    size_t n = 0, len, slen = strlen(schema), mlen = sizeof(mark) - 1;
    const char *p, *q;
    char *out, *o;

    for (p = sql; (q = strstr(p, mark)); p = q + mlen)
        n++;
    len = strlen(sql) + n * slen - n * mlen;
    if (!(out = malloc(len + 1)))
        return NULL;
    for (p = sql, o = out; (q = strstr(p, mark)); p = q + mlen) {
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, schema, slen);
        o += slen;
    }
    strcpy(o, p);
    return out;
}

/* Runs sql (its @schema@ replaced) in a transaction; with version > 0,
 * records it as that migration.  False (logged) on failure: nothing of it
 * is kept. */
static bool apply(struct store *s, PGconn *conn, int version, const char *name,
                  const char *sql, const char *schema)
{
    char v[16];
    const char *params[] = {v, name};
    char *text = with_schema(sql, schema);
    PGresult *res;
    bool ok;

    snprintf(v, sizeof(v), "%d", version);
    if (!text) {
        log_error("store", "out of memory for %s", name);
        return false;
    }
    if (!exec_simple(s, conn, "BEGIN", "BEGIN"))
        goto fail;
    if (!exec_simple(s, conn, text, name))
        goto rollback;
    if (version > 0) {
        res = query(s, conn,
                    "INSERT INTO registrar_schema_migrations"
                    " (version, name) VALUES ($1::int, $2)",
                    2, params);
        ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok)
            log_error("store", "cannot record migration %s: %s", name,
                      PQerrorMessage(conn));
        PQclear(res);
        if (!ok)
            goto rollback;
    }
    if (!exec_simple(s, conn, "COMMIT", "COMMIT"))
        goto fail;
    free(text);
    if (version > 0)
        log_info("store", "applied migration %s (schema version %d)", name,
                 version);
    return true;
rollback:
    exec_simple(s, conn, "ROLLBACK", "ROLLBACK");
fail:
    free(text);
    return false;
}

/* Who the connection's role is to the schema, read before migrating. */
struct role_facts {
    char user[128];
    char schema[256];  /* quote_ident(current_schema()) */
    bool has_table;    /* registrar_schema_migrations exists */
    bool owner;        /* superuser, or has the privileges of the owner of
                        * registrar's tables or of their schema */
    bool manage_roles; /* superuser or CREATEROLE: may apply roles.sql */
    bool separated;    /* the tables belong to registrar_owner */
};

static bool role_facts(struct store *s, PGconn *conn, struct role_facts *f)
{
    PGresult *res = query(
        s, conn,
        "SELECT current_user, quote_ident(current_schema()),"
        "       to_regclass('registrar_schema_migrations') IS NOT NULL,"
        "       r.rolsuper OR coalesce((SELECT pg_has_role(current_user,"
        "              c.relowner, 'USAGE') OR pg_has_role(current_user,"
        "              n.nspowner, 'USAGE')"
        "         FROM pg_class c JOIN pg_namespace n"
        "           ON n.oid = c.relnamespace"
        "        WHERE c.oid = to_regclass('registrar_schema_migrations')),"
        "       false),"
        "       r.rolsuper OR r.rolcreaterole,"
        "       coalesce((SELECT pg_get_userbyid(c.relowner)"
        "                     = 'registrar_owner' FROM pg_class c"
        "                  WHERE c.oid = to_regclass('registrations')),"
        "                false)"
        "  FROM pg_roles r WHERE r.rolname = current_user",
        0, NULL);
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
              !PQgetisnull(res, 0, 1);

    if (ok) {
        snprintf(f->user, sizeof(f->user), "%s", PQgetvalue(res, 0, 0));
        snprintf(f->schema, sizeof(f->schema), "%s", PQgetvalue(res, 0, 1));
        f->has_table = PQgetvalue(res, 0, 2)[0] == 't';
        f->owner = PQgetvalue(res, 0, 3)[0] == 't';
        f->manage_roles = PQgetvalue(res, 0, 4)[0] == 't';
        f->separated = PQgetvalue(res, 0, 5)[0] == 't';
    } else {
        log_error("store", "cannot read the role's rights: %s",
                  PQresultStatus(res) == PGRES_TUPLES_OK
                      ? "no schema in the search_path"
                      : PQerrorMessage(conn));
    }
    PQclear(res);
    return ok;
}

/* Migrates on a connection of its own; why gets the reason of
 * STORE_UNAVAILABLE.  As the daemon (daemon), a schema behind this binary
 * is migrated only when its role owns it (a deployment of before the
 * separated roles, warned about); otherwise the daemon refuses it and says
 * what to run.  As --migrate, migrates, then applies roles.sql when the
 * role may manage roles.  Touches nothing of s but what any thread may
 * (conninfo, the interrupt): runs on the migrator too. */
static enum store_status migrate_own(struct store *s, bool daemon, char *why,
                                     size_t wl)
{
    enum store_status st = STORE_ERROR;
    PGconn *conn = open_blocking(s, why, wl);
    struct role_facts f = {0};
    int have = 0;

    if (!conn)
        return STORE_UNAVAILABLE;
    if (!exec_simple(s, conn, "SET client_min_messages = warning", "SET") ||
        !exec_simple(s, conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")",
                     "migration lock") ||
        !role_facts(s, conn, &f))
        goto out;
    if (f.has_table && (have = current_version(s, conn)) < 0)
        goto out;
    if (have > store_schema_version()) {
        log_error("store",
                  "the database schema is at version %d, newer than this "
                  "registrar (%d): upgrade registrar",
                  have, store_schema_version());
        goto out;
    }
    if (daemon && have < store_schema_version() && f.has_table && !f.owner) {
        log_error("store",
                  "the database schema is at version %d and this registrar "
                  "needs %d; its role %s does not own the schema (separated "
                  "roles), so it does not migrate it: run  registrar "
                  "--migrate --database CONNINFO  with a role that may "
                  "(README \"Database roles\"), then start registrar again",
                  have, store_schema_version(), f.user);
        goto out;
    }
    if (!daemon && have < store_schema_version() && f.has_table && !f.owner) {
        log_error("store",
                  "the role %s may not migrate this schema (version %d, this "
                  "registrar needs %d): its tables belong to another role; "
                  "run --migrate --database CONNINFO as the superuser (README "
                  "\"Database roles\")",
                  f.user, have, store_schema_version());
        goto out;
    }
    if (!f.has_table &&
        !exec_simple(s, conn,
                     "CREATE TABLE registrar_schema_migrations"
                     " (version int PRIMARY KEY,"
                     "  name text NOT NULL,"
                     "  applied_at timestamptz NOT NULL DEFAULT now())",
                     "creating the migration table"))
        goto out;
    for (size_t i = 0; i < nmigrations; i++)
        if (migrations[i].version > have &&
            !apply(s, conn, migrations[i].version, migrations[i].name,
                   migrations[i].sql, f.schema))
            goto out;
    if (have == store_schema_version())
        log_info("store", "schema is up to date (version %d)", have);
    if (!daemon && f.manage_roles) {
        if (!apply(s, conn, 0, "sql/roles.sql", migration_roles, f.schema))
            goto out;
        log_info("store", "privileges applied (sql/roles.sql): tables "
                          "owned by registrar_owner; registrar's role needs "
                          "registrar_service");
    } else if (!daemon && !f.separated) {
        log_warn("store",
                 "the role %s may not create roles: the database roles "
                 "(sql/roles.sql) were not applied and registrar's tables "
                 "stay with their owner; run --migrate as a superuser or a "
                 "CREATEROLE role to separate them (README \"Database "
                 "roles\")",
                 f.user);
    }
    if (daemon && f.owner)
        log_warn("store",
                 "registrar's role %s owns its tables, or their schema, or "
                 "is a superuser: it could rewrite the audit trail "
                 "(registration_events), grant itself anything and drop "
                 "tables; give them to registrar_owner with  registrar "
                 "--migrate --database CONNINFO  as a superuser and log in "
                 "as a role granted only registrar_service (README "
                 "\"Database roles\")",
                 f.user);
    st = STORE_OK;
out:
    if (PQstatus(conn) != CONNECTION_OK || atomic_load(&s->interrupted)) {
        conn_error(conn, why, wl);
        st = STORE_UNAVAILABLE;
    }
    PQfinish(conn); /* ends the session: the advisory lock goes with it */
    return st;
}

/* store_migrate and store_prepare. */
static enum store_status migrate_now(struct store *s, bool daemon)
{
    char why[512];
    enum store_status st;

    if (atomic_load(&s->interrupted))
        return STORE_UNAVAILABLE;
    st = migrate_own(s, daemon, why, sizeof(why));
    if (st == STORE_OK) {
        s->migrated = true;
        came_up(s);
    } else if (st == STORE_UNAVAILABLE) {
        if (atomic_load(&s->interrupted))
            log_info("store", "migration abandoned: stopping");
        else
            went_down(s, why);
    }
    return st;
}

enum store_status store_prepare(struct store *s)
{
    return migrate_now(s, true);
}

enum store_status store_migrate(struct store *s)
{
    return migrate_now(s, false);
}

/* A migration on the migrator (attached): the job and its outcome. */
struct migration_job {
    struct store *s;
    enum store_status st;
    char why[512];
};

static void migration_work(void *arg)
{
    struct migration_job *m = arg;

    m->st = migrate_own(m->s, true, m->why, sizeof(m->why));
}

static void migration_drop(void *arg)
{
    struct migration_job *m = arg;

    m->st = STORE_UNAVAILABLE;
    snprintf(m->why, sizeof(m->why), "stopping");
}

static void migration_done(void *arg)
{
    struct migration_job *m = arg;
    struct store *s = m->s;

    s->migrating = false;
    if (m->st == STORE_OK) {
        s->migrated = true;
        came_up(s);
    } else if (!atomic_load(&s->interrupted)) {
        /* unreachable, or a schema it must not serve on: try again later */
        went_down(s, m->st == STORE_UNAVAILABLE
                         ? m->why
                         : "the schema migration failed");
    }
    free(m);
}

/* The schema could not be migrated at start-up: once the back-off allows,
 * not attached now (blocking), attached on the migrator. */
static void migrate_later(struct store *s)
{
    struct migration_job *m;

    if (s->migrating || (s->down && now_s() < s->retry_at))
        return;
    if (!s->attached) {
        store_prepare(s);
        return;
    }
    if (!s->migrator || !(m = calloc(1, sizeof(*m))))
        return;
    m->s = s;
    s->migrating = true;
    if (!worker_submit(s->migrator, migration_work, migration_done,
                       migration_drop, m)) {
        s->migrating = false;
        free(m);
    }
}
