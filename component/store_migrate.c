/*
 * store_migrate.c - the store's schema: the numbered migrations of sql/
 * (migrations.h), sql/roles.sql, the @schema@ each names, what the role
 * may do to the schema, and the migrator worker.
 *
 * Migrations run on a connection of their own, blocking, under an advisory
 * lock (one migrator at a time), each in a transaction with its record in
 * registrar_schema_migrations: at start-up (store_prepare), for --migrate
 * (store_migrate), or on the migrator worker of store_attach when
 * start-up could not.
 */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "migrations.h"
#include "worker.h"

/* pg_advisory_lock key for migrations: "registra" in ASCII. */
#define MIGRATE_LOCK_KEY "7454127761211159137"

int store_schema_version(void)
{
    return nmigrations ? migrations[nmigrations - 1].version : 0;
}

/* The version the database is at; -1 on failure. */
static int current_version(struct store *s, PGconn *conn)
{
    PGresult *res = store_conn_query(s, conn,
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
    if (!store_conn_exec(s, conn, "BEGIN", "BEGIN"))
        goto fail;
    if (!store_conn_exec(s, conn, text, name))
        goto rollback;
    if (version > 0) {
        res = store_conn_query(s, conn,
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
    if (!store_conn_exec(s, conn, "COMMIT", "COMMIT"))
        goto fail;
    free(text);
    if (version > 0)
        log_info("store", "applied migration %s (schema version %d)", name,
                 version);
    return true;
rollback:
    store_conn_exec(s, conn, "ROLLBACK", "ROLLBACK");
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
    PGresult *res = store_conn_query(
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
    PGconn *conn = store_conn_open_blocking(s, why, wl);
    struct role_facts f = {0};
    int have = 0;

    if (!conn)
        return STORE_UNAVAILABLE;
    if (!store_conn_exec(s, conn, "SET client_min_messages = warning", "SET") ||
        !store_conn_exec(s, conn,
                         "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")",
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
                  "(doc/operating.md \"Database set-up and roles\"), then "
                  "start registrar again",
                  have, store_schema_version(), f.user);
        goto out;
    }
    if (!daemon && have < store_schema_version() && f.has_table && !f.owner) {
        log_error("store",
                  "the role %s may not migrate this schema (version %d, this "
                  "registrar needs %d): its tables belong to another role; "
                  "run --migrate --database CONNINFO as the superuser "
                  "(doc/operating.md \"Database set-up and roles\")",
                  f.user, have, store_schema_version());
        goto out;
    }
    if (!f.has_table &&
        !store_conn_exec(s, conn,
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
                 "CREATEROLE role to separate them (doc/operating.md "
                 "\"Database set-up and roles\")",
                 f.user);
    }
    if (daemon && f.owner)
        log_warn("store",
                 "registrar's role %s owns its tables, or their schema, or "
                 "is a superuser: it could rewrite the audit trail "
                 "(registration_events), grant itself anything and drop "
                 "tables; give them to registrar_owner with  registrar "
                 "--migrate --database CONNINFO  as a superuser and log in "
                 "as a role granted only registrar_service "
                 "(doc/operating.md \"Moving a deployment of before "
                 "migration 010\")",
                 f.user);
    st = STORE_OK;
out:
    if (PQstatus(conn) != CONNECTION_OK || atomic_load(&s->interrupted)) {
        store_conn_error(conn, why, wl);
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
        store_conn_up(s);
    } else if (st == STORE_UNAVAILABLE) {
        if (atomic_load(&s->interrupted))
            log_info("store", "migration abandoned: stopping");
        else
            store_conn_down(s, why);
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

/* ---- --check-config --connect ------------------------------------------- */

/* What registrar's statements (store_sql.c) read and run, as sql/roles.sql
 * grants them to registrar_service: each missing right is named. */
static const char check_rights_sql[] =
    "SELECT coalesce(string_agg(x.priv || ' on ' || CASE x.priv"
    "         WHEN 'EXECUTE' THEN split_part(x.obj, '(', 1) || '()'"
    "         ELSE x.obj END, ', '"
    "                           ORDER BY x.n), '')"
    "  FROM (VALUES"
    "    (1, 'SELECT', 'registrations'),"
    "    (2, 'SELECT', 'registration_events'),"
    "    (3, 'SELECT', 'registration_bans'),"
    "    (4, 'SELECT', 'registrar_schema_migrations'),"
    "    (5, 'EXECUTE', 'registrar_put_event(text, text, text, jsonb, text,"
    " text, jsonb, text, text, text[])'),"
    "    (6, 'EXECUTE', 'registrar_remove_event(text, text, text, text)'),"
    "    (7, 'EXECUTE', 'registrar_set_password_event(text, text, text, text,"
    " text)'),"
    "    (8, 'EXECUTE', 'registrar_set_state_event(text, text, text, text,"
    " text, text, text)'),"
    "    (9, 'EXECUTE', 'registrar_unban_event(text, text, text, text)'),"
    "    (10, 'EXECUTE', 'registrar_username_key(text)'),"
    "    (11, 'EXECUTE', 'registrar_claim_state_changes(text, integer)'),"
    "    (12, 'EXECUTE', 'registrar_put_invite_event(text, text, text, jsonb,"
    " text, text, jsonb, text, text, text[], text, boolean)'),"
    "    (13, 'EXECUTE', 'registrar_invite_create(text, text, interval,"
    " integer, text, text, jsonb, text, text, text)'),"
    "    (14, 'EXECUTE', 'registrar_invite_revoke(text, bigint, text, text)'),"
    "    (15, 'EXECUTE', 'registrar_invite_bind(text, text, text, interval)'),"
    "    (16, 'EXECUTE', 'registrar_invite_prefill(text, text)'),"
    "    (17, 'SELECT', 'registration_invites_admin'),"
    "    (18, 'EXECUTE', 'registrar_challenge_issue(text, text, interval,"
    " text[], bytea, text)'),"
    "    (19, 'EXECUTE', 'registrar_challenge_check(text, text, text, text,"
    " integer, interval)'),"
    "    (20, 'EXECUTE', 'registrar_challenge_status(text, text, interval)'),"
    "    (21, 'EXECUTE', 'registrar_challenge_image(text, text)')"
    "  ) AS x(n, priv, obj)"
    " WHERE coalesce(NOT CASE x.priv"
    "         WHEN 'SELECT' THEN has_table_privilege(to_regclass(x.obj),"
    "                                                'SELECT')"
    "         ELSE has_function_privilege(to_regprocedure(x.obj),"
    "                                     'EXECUTE') END, true)";

/* The schema's version when the role may read it (-1 otherwise). */
static int check_version(struct store *s, PGconn *conn)
{
    PGresult *res = store_conn_query(
        s, conn,
        "SELECT has_table_privilege('registrar_schema_migrations', 'SELECT')",
        0, NULL);
    bool may = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
               PQgetvalue(res, 0, 0)[0] == 't';

    PQclear(res);
    return may ? current_version(s, conn) : -1;
}

enum store_status store_check(struct store *s, struct store_check *c)
{
    enum store_status st = STORE_ERROR;
    struct role_facts f = {0};
    PGconn *conn;
    PGresult *res;

    memset(c, 0, sizeof(*c));
    c->schema = -1;
    if (!(conn = store_conn_open_blocking(s, c->why, sizeof(c->why))))
        return STORE_UNAVAILABLE;
    snprintf(c->where, sizeof(c->where), "%s on %s:%s as %s", PQdb(conn),
             PQhost(conn), PQport(conn), PQuser(conn));
    if (!store_conn_exec(s, conn, "SET client_min_messages = warning", "SET") ||
        !role_facts(s, conn, &f))
        goto out;
    snprintf(c->user, sizeof(c->user), "%s", f.user);
    c->owner = f.owner;
    c->separated = f.separated;
    c->schema = f.has_table ? check_version(s, conn) : 0;
    /* unread (-1): the role may not read the version; its rights say */
    if (c->schema == store_schema_version() || c->schema < 0) {
        res = store_conn_query(s, conn, check_rights_sql, 0, NULL);
        if ((c->rights_read =
                 PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1))
            snprintf(c->missing, sizeof(c->missing), "%s",
                     PQgetvalue(res, 0, 0));
        else
            log_error("store", "cannot read the role's rights: %s",
                      PQerrorMessage(conn));
        PQclear(res);
    }
    st = STORE_OK;
out:
    if (PQstatus(conn) != CONNECTION_OK) {
        store_conn_error(conn, c->why, sizeof(c->why));
        st = STORE_UNAVAILABLE;
    }
    PQfinish(conn);
    return st;
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
        store_conn_up(s);
    } else if (!atomic_load(&s->interrupted)) {
        /* unreachable, or a schema it must not serve on: try again later */
        store_conn_down(s, m->st == STORE_UNAVAILABLE
                               ? m->why
                               : "the schema migration failed");
    }
    free(m);
}

/* The schema could not be migrated at start-up: once the back-off allows,
 * not attached now (blocking), attached on the migrator. */
void store_migrate_later(struct store *s)
{
    struct migration_job *m;

    if (s->migrating || (s->down && store_now() < s->retry_at))
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
