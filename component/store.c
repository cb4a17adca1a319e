/*
 * store.c - registrations in PostgreSQL through libpq.
 *
 * The only file that includes libpq-fe.h.  Parameters only, prepared once
 * per connection; conflicts are decided by the unique index, never by a
 * SELECT first.  Reconnects after any connection failure.  Knows nothing of
 * XMPP.  Never logs a parameter value (they may be hashes or personal
 * data); logs SQL states and server messages.
 */
#include "store.h"

#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "migrations.h"

/* pg_advisory_lock key for migrations: "registra" in ASCII. */
#define MIGRATE_LOCK_KEY "7454127761211159137"

struct store {
    char *conninfo;
    struct worker *worker; /* where statements run; NULL: inline */
    PGconn *conn;
    bool prepared; /* this connection has the statements */
    bool migrated; /* the schema was brought up to date */
};

static const struct {
    const char *name;
    const char *sql;
    int nparams;
} statements[] = {
    {"registrar_get",
     "SELECT r.username, r.password_hash, f.key, f.value,"
     "       $3::text IS NOT NULL AND ("
     "           lower(normalize($3, NFKC)) = lower(normalize(r.username, NFKC))"
     "        OR lower($3) = lower(r.jid)"
     "        OR (r.username IS NULL"
     "            AND lower($3) = lower(split_part(r.jid, '@', 1))))"
     "       AS claim_matches"
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
    {"registrar_put",
     "INSERT INTO registrations AS r"
     "       (service, jid, username, fields, password_hash)"
     " VALUES ($1, $2, $3, $4::jsonb, $5)"
     " ON CONFLICT (service, jid) DO UPDATE SET"
     "       username = EXCLUDED.username,"
     "       fields = EXCLUDED.fields,"
     "       password_hash = COALESCE(EXCLUDED.password_hash,"
     "                                r.password_hash),"
     "       updated_at = now()"
     " RETURNING (xmax = 0) AS created",
     5},
    {"registrar_remove",
     "DELETE FROM registrations WHERE service = $1 AND jid = $2", 2},
    {"registrar_set_password",
     "UPDATE registrations SET password_hash = $3, updated_at = now()"
     " WHERE service = $1 AND jid = $2",
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
    case STORE_ERROR:
        break;
    }
    return "error";
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
    if (!(s->conninfo = strdup(conninfo ? conninfo : ""))) {
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
    free(s->conninfo);
    free(s);
}

/* Runs a command without parameters; false (logged) on failure. */
static bool exec_simple(PGconn *conn, const char *sql, const char *what)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType rs = PQresultStatus(res);
    bool ok = rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK;

    if (!ok)
        log_error("store", "%s failed: %s", what, PQerrorMessage(conn));
    PQclear(res);
    return ok;
}

enum store_status store_connect(struct store *s)
{
    /* The operator's conninfo comes last so that its values win. */
    const char *keys[] = {"application_name", "connect_timeout", "dbname",
                          NULL};
    const char *vals[] = {"registrar", "5", s->conninfo, NULL};

    if (s->conn && PQstatus(s->conn) == CONNECTION_OK)
        return STORE_OK;
    disconnect(s);
    s->conn = PQconnectdbParams(keys, vals, 1);
    if (!s->conn || PQstatus(s->conn) != CONNECTION_OK) {
        log_warn("store", "cannot connect to the database: %s",
                 s->conn ? PQerrorMessage(s->conn) : "out of memory");
        disconnect(s);
        return STORE_UNAVAILABLE;
    }
    PQsetNoticeProcessor(s->conn, on_notice, NULL);
    /* Bound every statement, so that a lock or a stuck server turns into
     * an answer instead of a hang. */
    if (!exec_simple(s->conn,
                     "SET client_min_messages = warning;"
                     " SET statement_timeout = '5s'; SET lock_timeout = '3s';"
                     " SET idle_in_transaction_session_timeout = '10s'",
                     "session settings"))
        goto fail;
    log_info("store", "connected to database %s on %s:%s as %s",
             PQdb(s->conn), PQhost(s->conn), PQport(s->conn),
             PQuser(s->conn));
    return STORE_OK;
fail:
    disconnect(s);
    return STORE_UNAVAILABLE;
}

/* Prepares the statements once per connection; they need the schema. */
static bool prepare_all(struct store *s)
{
    for (size_t i = 0; i < sizeof(statements) / sizeof(statements[0]); i++) {
        PGresult *res = PQprepare(s->conn, statements[i].name,
                                  statements[i].sql, statements[i].nparams,
                                  NULL);
        bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;

        if (!ok)
            log_error("store", "cannot prepare %s: %s", statements[i].name,
                      PQerrorMessage(s->conn));
        PQclear(res);
        if (!ok)
            return false;
    }
    return true;
}

/* A connection that is ready for the prepared statements, or NULL.  The
 * schema is migrated first if that could not be done at start-up. */
static PGconn *ready(struct store *s)
{
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
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
                            : NULL;
    const char *primary;
    enum store_status st = STORE_ERROR;

    if (PQstatus(s->conn) != CONNECTION_OK) {
        st = STORE_UNAVAILABLE;
    } else if (state) {
        if (strcmp(state, "23505") == 0)
            return STORE_CONFLICT; /* unique_violation: expected */
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

/* Runs a prepared statement.  After a connection failure, connects again
 * and runs it once more: every statement here is idempotent. */
static PGresult *run(struct store *s, int idx, const char *const *params,
                     enum store_status *st)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        PGconn *conn = ready(s);
        PGresult *res;
        ExecStatusType rs;
        bool was_broken;

        if (!conn) {
            *st = STORE_UNAVAILABLE;
            return NULL;
        }
        res = PQexecPrepared(conn, statements[idx].name,
                             statements[idx].nparams, params, NULL, NULL, 0);
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

/* ---- operations: a job each, run inline or on the store's worker ------ */

enum job_kind { JOB_GET, JOB_PUT, JOB_REMOVE, JOB_SET_PASSWORD };

struct job {
    struct store *s;
    enum job_kind kind;
    char *p[5]; /* owned copies of the statement's parameters */
    int np;
    store_get_cb get_cb;
    store_done_cb done_cb;
    void *arg;
    enum store_status st;
    bool created;
    struct store_record rec;
};

/* Statement index of each kind, in statements[]. */
static const int job_statement[] = {
    [JOB_GET] = 0, [JOB_PUT] = 1, [JOB_REMOVE] = 2, [JOB_SET_PASSWORD] = 3};

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

/* Runs the statement (on the worker thread, or inline). */
static void job_work(void *arg)
{
    struct job *j = arg;
    PGresult *res = run(j->s, job_statement[j->kind],
                        (const char *const *)j->p, &j->st);

    if (!res)
        return;
    switch (j->kind) {
    case JOB_GET:
        read_record(j, res);
        break;
    case JOB_PUT:
        if (PQntuples(res) == 1)
            j->created = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        break;
    case JOB_REMOVE:
    case JOB_SET_PASSWORD:
        if (strcmp(PQcmdTuples(res), "0") == 0)
            j->st = STORE_NOT_FOUND;
        break;
    }
    PQclear(res);
}

/* Answers the caller (on the loop thread) and frees the job. */
static void job_done(void *arg)
{
    struct job *j = arg;

    if (j->kind == JOB_GET)
        j->get_cb(j->arg, j->st, j->st == STORE_OK ? &j->rec : NULL);
    else
        j->done_cb(j->arg, j->st, j->created);
    store_record_clear(&j->rec);
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

static void submit(struct store *s, struct job *j)
{
    if (!s->worker) {
        job_work(j);
        job_done(j);
    } else if (!worker_submit(s->worker, job_work, job_done, j)) {
        j->st = STORE_UNAVAILABLE; /* shutting down, or out of memory */
        job_done(j);
    }
}

void store_set_worker(struct store *s, struct worker *w)
{
    s->worker = w;
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

/* The three writes differ only in kind and parameters. */
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

void store_put(struct store *s, const struct store_put *put,
               store_done_cb cb, void *arg)
{
    const char *params[] = {put->service, put->jid, put->username,
                            put->fields_json, put->password_hash};

    write_op(s, JOB_PUT, params, 5, cb, arg);
}

void store_remove(struct store *s, const char *service, const char *jid,
                  store_done_cb cb, void *arg)
{
    const char *params[] = {service, jid};

    write_op(s, JOB_REMOVE, params, 2, cb, arg);
}

void store_set_password(struct store *s, const char *service,
                        const char *jid, const char *hash, store_done_cb cb,
                        void *arg)
{
    const char *params[] = {service, jid, hash};

    write_op(s, JOB_SET_PASSWORD, params, 3, cb, arg);
}

/* ---- migrations -------------------------------------------------------- */

/* The version the database is at; -1 on failure. */
static int current_version(PGconn *conn)
{
    PGresult *res = PQexec(conn, "SELECT coalesce(max(version), 0)"
                                 "  FROM registrar_schema_migrations");
    int v = -1;

    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        v = atoi(PQgetvalue(res, 0, 0));
    else
        log_error("store", "cannot read the schema version: %s",
                  PQerrorMessage(conn));
    PQclear(res);
    return v;
}

static bool apply(PGconn *conn, const struct migration *m)
{
    char version[16];
    const char *params[] = {version, m->name};
    PGresult *res;
    bool ok;

    snprintf(version, sizeof(version), "%d", m->version);
    if (!exec_simple(conn, "BEGIN", "BEGIN"))
        return false;
    if (!exec_simple(conn, m->sql, m->name))
        goto rollback;
    res = PQexecParams(conn,
                       "INSERT INTO registrar_schema_migrations"
                       " (version, name) VALUES ($1::int, $2)",
                       2, NULL, params, NULL, NULL, 0);
    ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        log_error("store", "cannot record migration %s: %s", m->name,
                  PQerrorMessage(conn));
    PQclear(res);
    if (!ok)
        goto rollback;
    if (!exec_simple(conn, "COMMIT", "COMMIT"))
        return false;
    log_info("store", "applied migration %s (schema version %d)", m->name,
             m->version);
    return true;
rollback:
    exec_simple(conn, "ROLLBACK", "ROLLBACK");
    return false;
}

enum store_status store_migrate(struct store *s)
{
    enum store_status st = STORE_ERROR;
    int have;

    if (store_connect(s) != STORE_OK)
        return STORE_UNAVAILABLE;
    /* The session timeouts would cut a long migration short. */
    if (!exec_simple(s->conn, "SET statement_timeout = 0", "SET"))
        goto out_conn;
    if (!exec_simple(s->conn,
                     "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")",
                     "migration lock"))
        goto out_conn;
    if (!exec_simple(s->conn,
                     "CREATE TABLE IF NOT EXISTS registrar_schema_migrations"
                     " (version int PRIMARY KEY,"
                     "  name text NOT NULL,"
                     "  applied_at timestamptz NOT NULL DEFAULT now())",
                     "migration table"))
        goto out;
    if ((have = current_version(s->conn)) < 0)
        goto out;
    if (have > store_schema_version()) {
        log_error("store",
                  "the database schema is at version %d, newer than this "
                  "registrar (%d): upgrade registrar",
                  have, store_schema_version());
        goto out;
    }
    for (size_t i = 0; i < nmigrations; i++)
        if (migrations[i].version > have && !apply(s->conn, &migrations[i]))
            goto out;
    if (have == store_schema_version())
        log_info("store", "schema is up to date (version %d)", have);
    st = STORE_OK;
    s->migrated = true;
out:
    exec_simple(s->conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")",
                "migration unlock");
out_conn:
    if (PQstatus(s->conn) != CONNECTION_OK) {
        disconnect(s);
        return STORE_UNAVAILABLE;
    }
    exec_simple(s->conn, "SET statement_timeout = '5s'", "SET");
    return st;
}
