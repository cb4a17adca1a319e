/*
 * store.c - registrations in PostgreSQL through libpq.
 *
 * The only file that includes libpq-fe.h.  Parameters only, prepared once
 * per connection; conflicts are decided by the unique index, never by a
 * SELECT first.  Reconnects after any connection failure, one attempt at a
 * time, with capped, jittered back-off while the database is unreachable
 * (jobs in between are answered STORE_UNAVAILABLE without an attempt).
 * Every wait on the server is bounded (connect timeout, a client deadline
 * above statement_timeout) and cut short by store_interrupt().  Knows
 * nothing of XMPP.  Never logs a parameter value (they may be hashes or
 * personal data); logs SQL states and server messages.
 *
 * Writes call the functions of sql/005 (registrar_put, registrar_remove,
 * registrar_set_password, registrar_set_state): one round trip each, the
 * event of the change (registration_events, with the stanza id and the
 * admin's JID of struct store_origin) written by a trigger in the same
 * transaction, and one NOTIFY registrar at its commit.
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

#include "log.h"
#include "migrations.h"

/* pg_advisory_lock key for migrations: "registra" in ASCII. */
#define MIGRATE_LOCK_KEY "7454127761211159137"

/* After a failed connect, the first delay before the next attempt and its
 * cap; each delay is half fixed, half random, and doubles. */
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 10000
/* The session's statement_timeout, and the client's own deadline on every
 * statement: a little more, for a server that never answers at all. */
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

struct store {
    char *conninfo;
    struct worker *worker; /* where statements run: own, or the caller's */
    struct worker *own;    /* an inline worker, until store_set_worker */
    PGconn *conn;
    bool prepared; /* this connection has the statements */
    bool migrated; /* the schema was brought up to date */
    /* The connection's thread only: */
    bool down;           /* the last attempt failed (logged once) */
    unsigned backoff_ms; /* the delay after the next failure */
    double retry_at;     /* no attempt before this (monotonic seconds) */
    double down_since;
    unsigned seed; /* for the jitter */
    /* Any thread: */
    int wake_fd; /* eventfd, readable once interrupted */
    atomic_bool interrupted;
    /* The loop thread only: */
    unsigned queued;    /* jobs submitted to the worker and not done */
    unsigned queue_max; /* more than this: STORE_UNAVAILABLE at once */
    bool full;          /* logged as full */
};

/* The statements, in the order of enum job_kind (below).  Writes go
 * through the functions of sql/005, which hand the stanza id and the
 * admin's JID to the trigger that logs the event in the same transaction. */
static const struct {
    const char *name;
    const char *sql;
    int nparams;
} statements[] = {
    {"registrar_get",
     "SELECT r.username, r.password_hash, f.key, f.value,"
     /* the claim names the row by the one username rule of sql/003 */
     "       coalesce(registrar_username_key($3) IN ("
     "           registrar_username_key(r.username),"
     "           registrar_username_key(r.jid),"
     "           CASE WHEN r.username IS NULL AND strpos(r.jid, '@') > 0"
     "                THEN registrar_username_key(split_part(r.jid, '@', 1))"
     "           END), false) AS claim_matches,"
     "       r.state"
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
    /* service, jid, username, fields, hash, state, consents, iq_id, actor
     * -> created */
    {"registrar_put",
     "SELECT registrar_put($1, $2, $3, $4::jsonb, $5, $6, $7::jsonb, $8, $9)",
     9},
    /* service, jid, iq_id, actor -> found */
    {"registrar_remove", "SELECT registrar_remove($1, $2, $3, $4)", 4},
    /* service, jid, hash, iq_id, actor -> found */
    {"registrar_set_password",
     "SELECT registrar_set_password($1, $2, $3, $4, $5)", 5},
    /* service, jid, state, iq_id, actor -> found */
    {"registrar_set_state",
     "SELECT registrar_set_state_from($1, $2, $3, $4, $5, $6)", 6},
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
    if (!(s->own = worker_new(0, 0))) {
        free(s);
        return NULL;
    }
    s->worker = s->own;
    s->seed =
        (unsigned)time(NULL) ^ (unsigned)getpid() ^ (unsigned)(uintptr_t)s;
    atomic_init(&s->interrupted, false);
    s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->wake_fd < 0 || !(s->conninfo = strdup(conninfo ? conninfo : ""))) {
        if (s->wake_fd >= 0)
            close(s->wake_fd);
        worker_free(s->own);
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
    s->prepared = false;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    disconnect(s);
    close(s->wake_fd);
    worker_free(s->own);
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

/* ---- bounded waits ----------------------------------------------------- */

enum wait_status { WAIT_READY, WAIT_TIMEOUT, WAIT_INTERRUPTED };

/* Waits until sock has one of events, the deadline passes (monotonic
 * seconds; 0: none) or store_interrupt() is called. */
static enum wait_status wait_socket(struct store *s, int sock, short events,
                                    double deadline)
{
    for (;;) {
        struct pollfd p[2] = {{.fd = sock, .events = events},
                              {.fd = s->wake_fd, .events = POLLIN}};
        int ms = -1, n;

        if (atomic_load(&s->interrupted))
            return WAIT_INTERRUPTED;
        if (deadline > 0) {
            double left = deadline - now_s();
            if (left <= 0)
                return WAIT_TIMEOUT;
            ms = (int)(left * 1000) + 1;
        }
        n = poll(p, 2, ms);
        if (n < 0 && errno != EINTR)
            return WAIT_READY; /* let libpq find out what is wrong */
        if (n > 0 && p[1].revents)
            return WAIT_INTERRUPTED; /* never read: stays readable */
        if (n > 0 && p[0].revents)
            return WAIT_READY;
    }
}

/* Gives up on the connection: the server did not answer in time, or we
 * are stopping.  Logged; the connection is dropped. */
static void give_up(struct store *s, enum wait_status ws, const char *what,
                    double timeout)
{
    char why[160];

    disconnect(s);
    if (ws == WAIT_INTERRUPTED) {
        log_info("store", "%s abandoned: stopping", what);
        return;
    }
    snprintf(why, sizeof(why), "no answer to %s within %.0f s", what, timeout);
    went_down(s, why);
}

/* Waits for what was sent on s->conn, at most timeout seconds (0: no
 * limit).  The first failed result, or else the last one; the caller
 * clears it.  NULL when the connection broke (s->conn is left for
 * PQerrorMessage) or was given up (s->conn is NULL, logged). */
static PGresult *collect(struct store *s, double timeout, const char *what)
{
    PGconn *conn = s->conn;
    double deadline = timeout > 0 ? now_s() + timeout : 0;
    PGresult *res = NULL, *r;
    enum wait_status ws;
    int f;

    while ((f = PQflush(conn)) == 1) {
        if ((ws = wait_socket(s, PQsocket(conn), POLLOUT | POLLIN, deadline)) !=
            WAIT_READY)
            goto gave_up;
        if (!PQconsumeInput(conn))
            goto broken;
    }
    if (f < 0)
        goto broken;
    for (;;) {
        while (PQisBusy(conn)) {
            if ((ws = wait_socket(s, PQsocket(conn), POLLIN, deadline)) !=
                WAIT_READY)
                goto gave_up;
            if (!PQconsumeInput(conn))
                goto broken;
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
broken: /* libpq marks the connection bad; run() retries once */
    PQclear(res);
    if (PQstatus(conn) == CONNECTION_OK) {
        log_error("store", "%s: %s", what, PQerrorMessage(conn));
        disconnect(s);
    }
    return NULL;
gave_up:
    PQclear(res);
    give_up(s, ws, what, timeout);
    return NULL;
}

/* Sends sql (several statements when params is NULL; else nparams text
 * parameters) and waits at most timeout seconds (0: no limit).  As
 * collect(). */
static PGresult *query(struct store *s, const char *sql, int nparams,
                       const char *const *params, double timeout,
                       const char *what)
{
    int sent;

    if (!s->conn)
        return NULL;
    sent = params ? PQsendQueryParams(s->conn, sql, nparams, NULL, params, NULL,
                                      NULL, 0)
                  : PQsendQuery(s->conn, sql);
    return sent ? collect(s, timeout, what) : NULL;
}

/* Runs a command without parameters, waiting at most timeout seconds (0:
 * no limit); false (logged) on failure. */
static bool exec_simple(struct store *s, const char *sql, const char *what,
                        double timeout)
{
    PGresult *res = query(s, sql, 0, NULL, timeout, what);
    ExecStatusType rs = PQresultStatus(res);
    bool ok = rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK;

    if (!ok && s->conn)
        log_error("store", "%s failed: %s", what, PQerrorMessage(s->conn));
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

/* Opens s->conn without blocking past the connect timeout.  False with a
 * reason in why (s->conn may be left for the caller to drop). */
static bool open_conn(struct store *s, char *why, size_t whylen)
{
    /* The operator's conninfo comes last so that its values win. */
    const char *keys[] = {"application_name", "connect_timeout", "dbname",
                          NULL};
    const char *vals[] = {"registrar", CONNECT_TIMEOUT_STR, s->conninfo, NULL};
    PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
    enum wait_status ws;
    int timeout;
    double deadline;

    s->conn = PQconnectStartParams(keys, vals, 1);
    if (!s->conn) {
        snprintf(why, whylen, "out of memory");
        return false;
    }
    timeout = connect_timeout(s->conn);
    deadline = now_s() + timeout;
    while (ps != PGRES_POLLING_OK) {
        if (ps == PGRES_POLLING_FAILED || PQstatus(s->conn) == CONNECTION_BAD ||
            PQsocket(s->conn) < 0) {
            snprintf(why, whylen, "%s", PQerrorMessage(s->conn));
            why[strcspn(why, "\n")] = '\0';
            return false;
        }
        ws = wait_socket(s, PQsocket(s->conn),
                         ps == PGRES_POLLING_READING ? POLLIN : POLLOUT,
                         deadline);
        if (ws != WAIT_READY) {
            snprintf(why, whylen, "no answer within %d s (connect timeout)",
                     timeout);
            return false;
        }
        ps = PQconnectPoll(s->conn);
    }
    return PQsetnonblocking(s->conn, 1) == 0;
}

enum store_status store_connect(struct store *s)
{
    char why[512];

    if (s->conn && PQstatus(s->conn) == CONNECTION_OK)
        return STORE_OK;
    disconnect(s);
    if (atomic_load(&s->interrupted))
        return STORE_UNAVAILABLE;
    if (!open_conn(s, why, sizeof(why))) {
        disconnect(s);
        if (atomic_load(&s->interrupted))
            log_info("store", "connect abandoned: stopping");
        else
            went_down(s, why);
        return STORE_UNAVAILABLE;
    }
    PQsetNoticeProcessor(s->conn, on_notice, NULL);
    /* Bound every statement, so that a lock or a stuck server turns into
     * an answer instead of a hang. */
    if (!exec_simple(s,
                     "SET client_min_messages = warning;"
                     " SET statement_timeout = '" STATEMENT_TIMEOUT_STR "s';"
                     " SET lock_timeout = '3s';"
                     " SET idle_in_transaction_session_timeout = '10s'",
                     "session settings", CLIENT_DEADLINE_S)) {
        if (s->conn) { /* not yet logged */
            snprintf(why, sizeof(why), "session settings refused");
            disconnect(s);
            went_down(s, why);
        }
        return STORE_UNAVAILABLE;
    }
    log_info("store", "connected to database %s on %s:%s as %s", PQdb(s->conn),
             PQhost(s->conn), PQport(s->conn), PQuser(s->conn));
    came_up(s);
    return STORE_OK;
}

/* Prepares the statements once per connection; they need the schema. */
static bool prepare_all(struct store *s)
{
    for (size_t i = 0; i < sizeof(statements) / sizeof(statements[0]); i++) {
        PGresult *res = NULL;
        bool ok;

        if (PQsendPrepare(s->conn, statements[i].name, statements[i].sql,
                          statements[i].nparams, NULL))
            res = collect(s, CLIENT_DEADLINE_S, statements[i].name);
        ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok && s->conn)
            log_error("store", "cannot prepare %s: %s", statements[i].name,
                      PQerrorMessage(s->conn));
        PQclear(res);
        if (!ok)
            return false;
    }
    return true;
}

/* A connection that is ready for the prepared statements, or NULL.  No
 * attempt while backing off or stopping.  The schema is migrated first if
 * that could not be done at start-up. */
static PGconn *ready(struct store *s)
{
    bool up = s->conn && PQstatus(s->conn) == CONNECTION_OK;

    if (!up &&
        (atomic_load(&s->interrupted) || (s->down && now_s() < s->retry_at)))
        return NULL;
    if (store_connect(s) != STORE_OK)
        return NULL;
    if (!s->migrated && store_migrate(s) != STORE_OK)
        return NULL;
    if (!s->prepared) {
        if (!prepare_all(s)) {
            disconnect(s);
            return NULL;
        }
        s->prepared = true;
    }
    return s->conn;
}

/* Maps a failed result to a status; drops a broken connection. */
static enum store_status failure(struct store *s, const PGresult *res,
                                 const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary, *cons;
    enum store_status st = STORE_ERROR;

    if (PQstatus(s->conn) != CONNECTION_OK) {
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
              primary ? primary : PQerrorMessage(s->conn));
    if (st == STORE_UNAVAILABLE)
        disconnect(s);
    return st;
}

/* Runs a prepared statement, waiting at most CLIENT_DEADLINE_S.  After a
 * connection failure, connects again and runs it once more: every
 * statement here is idempotent (a write whose commit was lost with the
 * connection is applied again: the same row, and at most a second event
 * in registration_events).  Not after a deadline: that server is given
 * time to come back (back-off). */
static PGresult *run(struct store *s, int idx, const char *const *params,
                     enum store_status *st)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        PGconn *conn = ready(s);
        PGresult *res = NULL;
        ExecStatusType rs;
        bool was_broken;

        if (!conn) {
            *st = STORE_UNAVAILABLE;
            return NULL;
        }
        if (PQsendQueryPrepared(conn, statements[idx].name,
                                statements[idx].nparams, params, NULL, NULL, 0))
            res = collect(s, CLIENT_DEADLINE_S, statements[idx].name);
        if (!s->conn) { /* given up: logged, backing off */
            *st = STORE_UNAVAILABLE;
            return NULL;
        }
        rs = PQresultStatus(res);
        if (rs == PGRES_TUPLES_OK || rs == PGRES_COMMAND_OK) {
            *st = STORE_OK;
            return res;
        }
        was_broken = PQstatus(conn) != CONNECTION_OK;
        *st = failure(s, res, statements[idx].name);
        PQclear(res);
        if (!was_broken)
            return NULL;
    }
    return NULL;
}

void store_record_clear(struct store_record *rec)
{
    free(rec->service);
    free(rec->jid);
    free(rec->username);
    free(rec->password_hash);
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

/* In the order of statements[]. */
enum job_kind {
    JOB_GET,
    JOB_PUT,
    JOB_REMOVE,
    JOB_SET_PASSWORD,
    JOB_SET_STATE,
    JOB_COUNT,
    JOB_LIST,
};

_Static_assert(sizeof(statements) / sizeof(statements[0]) == JOB_LIST + 1,
               "one statement per job kind, in order");

#define JOB_PARAMS_MAX 9

struct job {
    struct store *s;
    enum job_kind kind;
    char *p[JOB_PARAMS_MAX]; /* owned copies of the statement's parameters */
    int np;
    store_get_cb get_cb;
    store_done_cb done_cb;
    store_count_cb count_cb;
    store_list_cb list_cb;
    void *arg;
    enum store_status st;
    bool created;
    bool queued; /* counted in s->queued */
    struct store_record rec;
    unsigned long count;
    char **jids; /* JOB_LIST: owned, njids of them */
    size_t njids;
};

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

/* Runs the statement (on the worker thread, or inline). */
static void job_work(void *arg)
{
    struct job *j = arg;
    PGresult *res = run(j->s, (int)j->kind, (const char *const *)j->p, &j->st);

    if (!res)
        return;
    switch (j->kind) {
    case JOB_GET:
        read_record(j, res);
        break;
    case JOB_PUT:
        if (returned_null(res))
            j->st = STORE_NOT_ALLOWED;
        j->created = returned_true(res);
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
    }
    PQclear(res);
}

/* The worker was closed before the job ran: try again later. */
static void job_drop(void *arg)
{
    struct job *j = arg;

    j->st = STORE_UNAVAILABLE;
}

/* Answers the caller (on the loop thread) and frees the job. */
static void job_done(void *arg)
{
    struct job *j = arg;
    struct store *s = j->s;

    if (j->queued) {
        s->queued--;
        if (s->full && s->queued <= s->queue_max / 2) {
            log_info("store",
                     "statement queue down to %u: accepting work "
                     "again",
                     s->queued);
            s->full = false;
        }
    }

    switch (j->kind) {
    case JOB_GET:
        j->get_cb(j->arg, j->st, j->st == STORE_OK ? &j->rec : NULL);
        break;
    case JOB_COUNT:
        j->count_cb(j->arg, j->st, j->st == STORE_OK ? j->count : 0);
        break;
    case JOB_LIST:
        j->list_cb(j->arg, j->st, j->st == STORE_OK ? j->jids : NULL,
                   j->st == STORE_OK ? j->njids : 0);
        break;
    default:
        j->done_cb(j->arg, j->st, j->created);
        break;
    }
    store_record_clear(&j->rec);
    for (size_t i = 0; i < j->njids; i++)
        free(j->jids[i]);
    free(j->jids);
    for (int i = 0; i < j->np; i++) {
        if (j->p[i])
            explicit_bzero(j->p[i], strlen(j->p[i]));
        free(j->p[i]);
    }
    free(j);
}

/* A job with copies of params (NULL entries allowed); NULL when out of
 * memory. */
static struct job *job_new(struct store *s, enum job_kind kind,
                           const char *const *params, int np)
{
    struct job *j = calloc(1, sizeof(*j));

    if (!j)
        return NULL;
    j->s = s;
    j->kind = kind;
    j->np = np;
    for (int i = 0; i < np; i++) {
        if (params[i] && !(j->p[i] = strdup(params[i]))) {
            for (int k = 0; k < i; k++)
                free(j->p[k]);
            free(j);
            return NULL;
        }
    }
    return j;
}

/* Queues j on the worker (an inline one runs it now); a full queue, a
 * closed worker or no memory answer STORE_UNAVAILABLE at once. */
static void submit(struct store *s, struct job *j)
{
    if (s->queued >= s->queue_max) {
        if (!s->full)
            log_warn("store",
                     "%u statements queued: answering 'try again "
                     "later' until the database catches up",
                     s->queued);
        s->full = true;
        j->st = STORE_UNAVAILABLE;
        job_done(j);
        return;
    }
    /* counted before: an inline worker answers (and frees j) at once */
    j->queued = true;
    s->queued++;
    if (!worker_submit(s->worker, job_work, job_done, job_drop, j)) {
        j->st = STORE_UNAVAILABLE; /* shutting down, or out of memory */
        job_done(j);
    }
}

void store_set_worker(struct store *s, struct worker *w, unsigned queue_max)
{
    s->worker = w ? w : s->own;
    s->queue_max = queue_max ? queue_max : QUEUE_MAX_DEFAULT;
}

void store_get(struct store *s, const char *service, const char *jid,
               const char *claim, store_get_cb cb, void *arg)
{
    const char *params[] = {service, jid, claim};
    struct job *j = job_new(s, JOB_GET, params, 3);

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
    struct job *j = job_new(s, kind, params, np);

    if (!j) {
        cb(arg, STORE_ERROR, false);
        return;
    }
    j->done_cb = cb;
    j->arg = arg;
    submit(s, j);
}

/* The jsonb object var -> version of the consents given; caller frees;
 * NULL when out of memory. */
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

void store_put(struct store *s, const struct store_put *put, store_done_cb cb,
               void *arg)
{
    struct form_data none = {0};
    char *json = fields_json(put->def, put->fields ? put->fields : &none);
    char *consents = consents_json(put->consents, put->nconsents);
    const char *params[] = {
        put->service, put->jid,           put->username,
        json,         put->password_hash, store_state_name(put->initial_state),
        consents,     put->origin.iq_id,  put->origin.actor};

    if (json && consents)
        write_op(s, JOB_PUT, params, 9, cb, arg);
    else
        cb(arg, STORE_ERROR, false);
    /* the job has its own copy; the values may include hashes */
    if (json)
        explicit_bzero(json, strlen(json));
    free(json);
    free(consents);
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
    const char *params[] = {service,
                            jid,
                            store_state_name(state),
                            from ? store_state_name(*from) : NULL,
                            origin ? origin->iq_id : NULL,
                            origin ? origin->actor : NULL};

    write_op(s, JOB_SET_STATE, params, 6, cb, arg);
}

void store_count(struct store *s, const char *service,
                 const enum store_state *state, store_count_cb cb, void *arg)
{
    const char *params[] = {service, state ? store_state_name(*state) : NULL};
    struct job *j = job_new(s, JOB_COUNT, params, 2);

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
    if (!(j = job_new(s, JOB_LIST, params, 3))) {
        cb(arg, STORE_ERROR, NULL, 0);
        return;
    }
    j->list_cb = cb;
    j->arg = arg;
    submit(s, j);
}

/* ---- migrations -------------------------------------------------------- */

/* The version the database is at; -1 on failure. */
static int current_version(struct store *s)
{
    PGresult *res = query(s,
                          "SELECT coalesce(max(version), 0)"
                          "  FROM registrar_schema_migrations",
                          0, NULL, 0, "schema version");
    int v = -1;

    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        v = atoi(PQgetvalue(res, 0, 0));
    else
        log_error("store", "cannot read the schema version: %s",
                  PQerrorMessage(s->conn));
    PQclear(res);
    return v;
}

static bool apply(struct store *s, const struct migration *m)
{
    char version[16];
    const char *params[] = {version, m->name};
    PGresult *res;
    bool ok;

    snprintf(version, sizeof(version), "%d", m->version);
    if (!exec_simple(s, "BEGIN", "BEGIN", 0))
        return false;
    if (!exec_simple(s, m->sql, m->name, 0))
        goto rollback;
    res = query(s,
                "INSERT INTO registrar_schema_migrations"
                " (version, name) VALUES ($1::int, $2)",
                2, params, 0, "migration record");
    ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        log_error("store", "cannot record migration %s: %s", m->name,
                  PQerrorMessage(s->conn));
    PQclear(res);
    if (!ok)
        goto rollback;
    if (!exec_simple(s, "COMMIT", "COMMIT", 0))
        return false;
    log_info("store", "applied migration %s (schema version %d)", m->name,
             m->version);
    return true;
rollback:
    exec_simple(s, "ROLLBACK", "ROLLBACK", 0);
    return false;
}

enum store_status store_migrate(struct store *s)
{
    enum store_status st = STORE_ERROR;
    int have;

    if (store_connect(s) != STORE_OK)
        return STORE_UNAVAILABLE;
    /* The session timeouts would cut a long migration short. */
    if (!exec_simple(s, "SET statement_timeout = 0", "SET", 0))
        goto out_conn;
    if (!exec_simple(s, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")",
                     "migration lock", 0))
        goto out_conn;
    if (!exec_simple(s,
                     "CREATE TABLE IF NOT EXISTS registrar_schema_migrations"
                     " (version int PRIMARY KEY,"
                     "  name text NOT NULL,"
                     "  applied_at timestamptz NOT NULL DEFAULT now())",
                     "migration table", 0))
        goto out;
    if ((have = current_version(s)) < 0)
        goto out;
    if (have > store_schema_version()) {
        log_error("store",
                  "the database schema is at version %d, newer than this "
                  "registrar (%d): upgrade registrar",
                  have, store_schema_version());
        goto out;
    }
    for (size_t i = 0; i < nmigrations; i++)
        if (migrations[i].version > have && !apply(s, &migrations[i]))
            goto out;
    if (have == store_schema_version())
        log_info("store", "schema is up to date (version %d)", have);
    st = STORE_OK;
    s->migrated = true;
out:
    exec_simple(s, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")",
                "migration unlock", 0);
out_conn:
    if (PQstatus(s->conn) != CONNECTION_OK) {
        disconnect(s);
        return STORE_UNAVAILABLE;
    }
    exec_simple(s, "SET statement_timeout = '" STATEMENT_TIMEOUT_STR "s'",
                "SET", CLIENT_DEADLINE_S);
    return st;
}
