/*
 * store_conn.c - the store's connection to PostgreSQL: connecting,
 * several hosts with a deadline each, back-off, the session's settings,
 * and the blocking waits of migrations and of a store not attached.
 *
 * Reconnects after any failure, one attempt at a time, with capped,
 * jittered back-off while the database is unreachable (operations in
 * between are answered STORE_UNAVAILABLE at once, by store.c).  Every wait
 * on the server is bounded (connect timeout, a client deadline above
 * statement_timeout) and cut short by store_interrupt().
 *
 * Knows no statement and no operation: what goes over the connection is
 * store.c's (the pipeline) and store_migrate.c's (blocking).
 */
#include "store_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* After a failed connect, the first delay before the next attempt and its
 * cap; each delay is half fixed, half random, and doubles. */
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 10000
/* connect_timeout unless the conninfo says otherwise (0 is not "forever"
 * here: every connect is bounded). */
#define CONNECT_TIMEOUT_S 5
#define STR_(x) #x
#define STR(x) STR_(x)
#define CONNECT_TIMEOUT_STR STR(CONNECT_TIMEOUT_S)

double store_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_notice(void *arg, const char *message)
{
    (void)arg;
    log_info("store", "postgres: %s", message);
}

/* ---- connection state: down with back-off, or up ----------------------- */

void store_conn_down(struct store *s, const char *why)
{
    unsigned delay = s->backoff_ms ? s->backoff_ms : BACKOFF_MIN_MS;
    unsigned wait_ms = delay / 2 + (unsigned)rand_r(&s->seed) % (delay / 2 + 1);

    s->retry_at = store_now() + wait_ms / 1000.0;
    s->backoff_ms = delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay * 2;
    if (!s->down) {
        s->down = true;
        s->down_since = store_now();
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

void store_conn_up(struct store *s)
{
    if (s->down)
        log_info("store", "database reachable again after %.1f s",
                 store_now() - s->down_since);
    s->down = false;
    s->backoff_ms = 0;
    s->retry_at = 0;
}

void store_conn_close(struct store *s)
{
    if (s->conn) {
        PQfinish(s->conn);
        s->conn = NULL;
    }
    s->cs = CONN_NONE;
    s->want_write = false;
    s->prepared = false;
    s->need_rollback = false;
    store_listen_closed(s); /* the cache is not kept across connections */
    s->closed_since_watch = true;
}

/* ---- blocking waits: migrations, and the store until attached ----------- */

enum store_wait store_conn_wait(struct store *s, int sock, short events,
                                double deadline, int ms_max)
{
    for (;;) {
        struct pollfd p[2] = {{.fd = s->wake_fd, .events = POLLIN},
                              {.fd = sock, .events = events}};
        int ms = ms_max, n;

        if (atomic_load(&s->interrupted))
            return STORE_WAIT_INTERRUPTED;
        if (deadline > 0) {
            double left = deadline - store_now();
            if (left <= 0)
                return STORE_WAIT_TIMEOUT;
            if (ms < 0 || left * 1000 + 1 < ms)
                ms = (int)(left * 1000) + 1;
        }
        n = poll(p, sock >= 0 ? 2 : 1, ms);
        if (n < 0 && errno != EINTR)
            return STORE_WAIT_READY; /* let libpq find out what is wrong */
        if (n > 0 && p[0].revents)
            return STORE_WAIT_INTERRUPTED; /* never read: stays readable */
        if (n > 0 && p[1].revents)
            return STORE_WAIT_READY;
        if (n == 0 && ms_max >= 0)
            return STORE_WAIT_TIMEOUT;
    }
}

/* Waits for what was sent on conn (blocking mode), with no deadline but
 * store_interrupt().  As store_conn_query(). */
static PGresult *collect(struct store *s, PGconn *conn)
{
    PGresult *res = NULL, *r;

    for (;;) {
        while (PQisBusy(conn)) {
            if (store_conn_wait(s, PQsocket(conn), POLLIN, 0, -1) !=
                    STORE_WAIT_READY ||
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

PGresult *store_conn_query(struct store *s, PGconn *conn, const char *sql,
                           int nparams, const char *const *params)
{
    int sent = params ? PQsendQueryParams(conn, sql, nparams, NULL, params,
                                          NULL, NULL, 0)
                      : PQsendQuery(conn, sql);

    return sent ? collect(s, conn) : NULL;
}

bool store_conn_exec(struct store *s, PGconn *conn, const char *sql,
                     const char *what)
{
    PGresult *res = store_conn_query(s, conn, sql, 0, NULL);
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

void store_conn_error(PGconn *conn, char *why, size_t whylen)
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

PGconn *store_conn_open_blocking(struct store *s, char *why, size_t whylen)
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
        store_conn_error(NULL, why, whylen);
        return NULL;
    }
    timeout = connect_timeout(conn);
    deadline = store_now() + timeout;
    while (ps != PGRES_POLLING_OK) {
        enum store_wait ws;

        if (ps == PGRES_POLLING_FAILED || PQstatus(conn) == CONNECTION_BAD ||
            PQsocket(conn) < 0) {
            store_conn_error(conn, why, whylen);
            PQfinish(conn);
            return NULL;
        }
        ws = store_conn_wait(s, PQsocket(conn),
                             ps == PGRES_POLLING_READING ? POLLIN : POLLOUT,
                             deadline, -1);
        if (ws == STORE_WAIT_TIMEOUT &&
            skip + host_tried(conn) + 1 < host_count(s->conninfo)) {
            log_warn("store",
                     "no answer from %s:%s within %d s (connect timeout): "
                     "trying the next host",
                     PQhost(conn), PQport(conn), timeout);
            skip += host_tried(conn) + 1;
            PQfinish(conn);
            goto next_host;
        }
        if (ws != STORE_WAIT_READY) {
            if (ws == STORE_WAIT_INTERRUPTED)
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

/* ---- the connection, driven without blocking ----------------------------- */

void store_conn_start(struct store *s)
{
    char why[512];

    s->conn = start_conn(s, s->host_skip);
    if (!s->conn || PQstatus(s->conn) == CONNECTION_BAD) {
        store_conn_error(s->conn, why, sizeof(why));
        store_conn_close(s);
        s->host_skip = 0;
        store_conn_down(s, why);
        return;
    }
    s->cs = CONN_CONNECTING;
    s->polling = PGRES_POLLING_WRITING;
    s->timeout_s = connect_timeout(s->conn);
    s->deadline = store_now() + s->timeout_s;
}

bool store_conn_next_host(struct store *s)
{
    unsigned next = s->host_skip + host_tried(s->conn) + 1;

    if (next >= host_count(s->conninfo))
        return false;
    log_warn("store",
             "no answer from %s:%s within %d s (connect timeout): "
             "trying the next host",
             PQhost(s->conn), PQport(s->conn), s->timeout_s);
    store_conn_close(s);
    s->host_skip = next;
    store_conn_start(s);
    return true;
}

/* The session settings: every statement bounded, so that a lock or a
 * stuck server turns into an answer instead of a hang. %u: the statement
 * timeout in seconds.
 * enable_seqscan off: every statement of registrar finds its rows by an
 * index (a registration by its key, the log by its id), but a plan made
 * while registrations is a few pages (a new deployment, or one emptied)
 * scans it, and the session keeps that plan (its prepared statements,
 * and the write functions' plans, made in this session) while a burst
 * of sign-ups grows the table: each write then read every row, until an
 * ANALYZE (up to a minute of autovacuum) replans it.  Measured in the
 * benchmark's direct mode on a table emptied and then filled by 8000
 * registrations: 862 instead of 4807 registrations a second, 1.1 ms of
 * the backend's CPU each instead of 0.17.  Where no index serves, a scan
 * is still made. */
static const char session_settings[] =
    "SELECT set_config('client_min_messages', 'warning', false),"
    "       set_config('statement_timeout', '%us', false),"
    "       set_config('lock_timeout', '3s', false),"
    "       set_config('idle_in_transaction_session_timeout', '10s', false),"
    "       set_config('enable_seqscan', 'off', false)";

void store_conn_step(struct store *s)
{
    char why[512];

    s->polling = PQconnectPoll(s->conn);
    if (s->polling == PGRES_POLLING_FAILED || PQsocket(s->conn) < 0) {
        store_conn_error(s->conn, why, sizeof(why));
        store_conn_close(s);
        s->host_skip = 0;
        store_conn_down(s, why);
        return;
    }
    if (s->polling != PGRES_POLLING_OK)
        return;
    if (PQsetnonblocking(s->conn, 1) != 0 || !PQenterPipelineMode(s->conn)) {
        store_broken(s, "entering pipeline mode");
        return;
    }
    PQsetNoticeProcessor(s->conn, on_notice, NULL);
    s->nslots = s->cur = 0;
    s->failed = -1;
    s->commit_slot = -1;
    s->committed = false;
    char settings[sizeof(session_settings) + 16];

    snprintf(settings, sizeof(settings), session_settings,
             s->statement_timeout_s);
    /* committed before the first transaction: the cache's first read of
     * the log comes after it, so no notification falls between */
    if (!store_send_sql(s, "session settings", settings) ||
        (store_listen_wanted(s) &&
         !store_send_sql(s, "LISTEN", "LISTEN registrar")) ||
        !PQpipelineSync(s->conn) || !store_flush(s)) {
        store_broken(s, "sending the session settings");
        return;
    }
    s->cs = CONN_SETUP;
    s->timeout_s = store_client_deadline(s);
    s->deadline = store_now() + s->timeout_s;
}

void store_conn_setup_done(struct store *s, bool refused)
{
    if (refused) {
        store_conn_close(s);
        store_conn_down(s, "the session settings were refused");
        return;
    }
    s->cs = CONN_READY;
    s->host_skip = 0;
    s->listening = store_listen_wanted(s);
    log_info("store", "connected to database %s on %s:%s as %s", PQdb(s->conn),
             PQhost(s->conn), PQport(s->conn), PQuser(s->conn));
    store_conn_up(s);
    store_listen_connected(s);
}

enum store_status store_connect(struct store *s)
{
    if (s->conn && PQstatus(s->conn) == CONNECTION_OK &&
        s->cs != CONN_CONNECTING && s->cs != CONN_SETUP)
        return STORE_OK;
    store_conn_close(s);
    if (atomic_load(&s->interrupted))
        return STORE_UNAVAILABLE;
    store_conn_start(s);
    while (s->cs == CONN_CONNECTING || s->cs == CONN_SETUP) {
        short events = 0;
        int fd = store_watch(s, &events);
        enum store_wait ws = store_conn_wait(s, fd, events, s->deadline, -1);

        if (ws == STORE_WAIT_INTERRUPTED) {
            log_info("store", "connect abandoned: stopping");
            store_conn_close(s);
        } else if (ws == STORE_WAIT_TIMEOUT) {
            store_give_up(s);
        } else {
            store_on_ready(s);
        }
    }
    return s->cs == CONN_READY ? STORE_OK : STORE_UNAVAILABLE;
}
