/*
 * store_sql.c - the store's statements: one entry per operation of
 * store.h (its name, SQL and parameters, what its result means, which
 * callback answers it) beside the public function that encodes its
 * parameters, and what a failed result means.
 *
 * Parameters only, prepared once per connection (store.c); conflicts are
 * decided by the unique index, never by a SELECT first.  Knows nothing of
 * XMPP.  Never logs a parameter value (they may be hashes or personal
 * data); logs SQL states and server messages.
 *
 * Writes call the functions of sql/012 (registrar_*_event): the event of
 * each change (registration_events, with the stanza id and the admin's JID
 * of struct store_origin) is written in the same transaction, and every
 * write returns its id as its last column (NULL when it wrote none), read
 * into struct job's event_id.  What one operation can cause never fails
 * another: registrar_put_event returns a conflict or a refused username as
 * its outcome instead of raising it.
 *
 * A new operation: its declaration in store.h; here, a section (decode,
 * answer, the struct store_op, the public function) and its line in
 * store_sql_ops[]; and its in-memory behaviour in tests/unit/fake_store.c.
 */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_cache.h"

/* ---- what results and failures mean ------------------------------------- */

enum store_status store_sql_failure(PGconn *conn, const PGresult *res,
                                    const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary, *cons;
    enum store_status st = STORE_ERROR;

    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        st = STORE_UNAVAILABLE;
    } else if (state) {
        if (strcmp(state, "23505") == 0)
            return STORE_CONFLICT; /* unique_violation: expected */
        /* insufficient_privilege: the role lacks a grant (logged) */
        if (strcmp(state, "42501") == 0)
            st = STORE_DENIED;
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
              primary ? primary
              : conn  ? PQerrorMessage(conn)
                      : "no connection");
    return st;
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

/* A write's last column (sql/012): the id of the event it wrote, into
 * j->event_id; 0 when NULL (it wrote none). */
static void decode_event_id(struct job *j, const PGresult *res)
{
    int col = PQnfields(res) - 1;

    j->event_id = 0;
    if (PQntuples(res) == 1 && col > 0 && !PQgetisnull(res, 0, col))
        j->event_id = strtoll(PQgetvalue(res, 0, col), NULL, 10);
}

/* A write's (done, event_id): STORE_NOT_FOUND when not done. */
static void decode_found(struct job *j, const PGresult *res)
{
    if (!returned_true(res))
        j->st = STORE_NOT_FOUND;
    decode_event_id(j, res);
}

/* A write's (done, event_id), done NULL when the row's state refused it. */
static void decode_found_allowed(struct job *j, const PGresult *res)
{
    if (returned_null(res))
        j->st = STORE_NOT_ALLOWED;
    else if (!returned_true(res))
        j->st = STORE_NOT_FOUND;
    decode_event_id(j, res);
}

static void answer_done(struct job *j)
{
    ((store_done_cb)j->cb)(j->arg, j->st, j->created);
}

/* ---- encoding: the jsonb and text[] parameters of a put ----------------- */

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

/* What b holds, or NULL (freed) when out of memory. */
static char *buf_take(struct buf *b)
{
    if (b->oom) {
        free(b->s);
        return NULL;
    }
    return b->s;
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
 * when several); registrar_get decodes it.  Caller frees; NULL when out
 * of memory. */
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
    return buf_take(&b);
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
    return buf_take(&b);
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
    return buf_take(&b);
}

/* Queues op with params (an array) for cb; false when out of memory. */
#define RUN(s, op, params, cb, arg)                                            \
    store_run((s), (op), (params), (int)(sizeof(params) / sizeof(*(params))),  \
              (store_fn)(cb), (arg))

/* ---- get ------------------------------------------------------------------
 */

static void get_decode(struct job *j, const PGresult *res)
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

static void get_answer(struct job *j)
{
    ((store_get_cb)j->cb)(j->arg, j->st, j->st == STORE_OK ? &j->rec : NULL);
}

/* service, jid, claim -> the row, a row per field value */
static const struct store_op op_get = {
    .name = "registrar_get",
    .sql =
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
    .nparams = 3,
    .decode = get_decode,
    .answer = get_answer,
};

void store_get(struct store *s, const char *service, const char *jid,
               const char *claim, store_get_cb cb, void *arg)
{
    const char *params[] = {service, jid, claim};

    if (!RUN(s, &op_get, params, cb, arg))
        cb(arg, STORE_ERROR, NULL);
}

/* ---- put ------------------------------------------------------------------
 */

static void put_decode(struct job *j, const PGresult *res)
{
    const char *v = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "";

    if (strcmp(v, "created") == 0) {
        int col = PQfnumber(res, "state");

        j->created = true;
        /* the invitation's put says the state it created (sql/013); the
         * plain put's is the one it was given */
        if (!state_of(col >= 0 && !PQgetisnull(res, 0, col)
                          ? PQgetvalue(res, 0, col)
                      : j->p[5] ? j->p[5]
                                : "active",
                      &j->started))
            j->started = STORE_STATE_ACTIVE;
    } else if (strcmp(v, "updated") == 0)
        j->created = false;
    else if (strcmp(v, "disabled") == 0)
        j->st = STORE_NOT_ALLOWED;
    else if (strcmp(v, "banned") == 0)
        j->st = STORE_BANNED;
    else if (strcmp(v, "conflict") == 0)
        j->st = STORE_CONFLICT;
    else if (strcmp(v, "invalid") == 0)
        j->st = STORE_INVALID;
    else if (strcmp(v, "invite_invalid") == 0)
        j->st = STORE_BAD_INVITE;
    else if (strcmp(v, "invite_required") == 0)
        j->st = STORE_NO_INVITE;
    else
        j->st = STORE_ERROR;
    if (j->st == STORE_INVALID)
        log_debug("store", "the username rule refused a username");
    if ((j->st == STORE_NOT_ALLOWED || j->st == STORE_BANNED) &&
        PQnfields(res) > 1 && !PQgetisnull(res, 0, 1)) {
        bool oom = false;
        j->reason = dup_field(res, 0, 1, &oom);
    }
    decode_event_id(j, res);
}

static void put_answer(struct job *j)
{
    if (j->st == STORE_OK && j->created && j->started_out)
        *j->started_out = j->started;
    ((store_put_cb)j->cb)(j->arg, j->st, j->created, j->reason);
}

/* service, jid, username, fields, hash, state, consents, iq_id, actor,
 * keep -> created, updated, disabled, banned, conflict or invalid; the
 * reason of disabled and banned; the event's id */
static const struct store_op op_put = {
    .name = "registrar_put",
    .sql = "SELECT outcome, reason, event_id FROM registrar_put_event($1, $2,"
           " $3, $4::jsonb, $5, $6, $7::jsonb, $8, $9, $10::text[])",
    .nparams = 10,
    .decode = put_decode,
    .answer = put_answer,
    .event = "registered", /* a creation's */
    .iq_param = 7,
    .event_created = true,
};

/* The same with an invitation (sql/013): ..., token (NULL: the JID's
 * binding), required -> the outcomes above, invite_invalid or
 * invite_required.  No write-through: a creation writes two events (the
 * registration's, then invite_redeemed), and the entry is dropped. */
static const struct store_op op_put_invite = {
    .name = "registrar_put_invite",
    .sql = "SELECT outcome, reason, state, event_id FROM "
           "registrar_put_invite_event("
           "$1, $2, $3, $4::jsonb, $5, $6, $7::jsonb, $8, $9, $10::text[],"
           " $11, $12::boolean)",
    .nparams = 12,
    .decode = put_decode,
    .answer = put_answer,
    .event = "registered",
    .iq_param = 7,
    .event_created = true,
};

/* The row put writes as registrar_get reads it back (fields_json's
 * rules: a list without values is no field, a single field without one
 * is ""), for the cache's write-through; NULL when the service has no
 * cache, when out of memory, or when the row cannot be foreseen (a
 * single field of several values: the database refuses it). */
static struct store_cache_image *put_image(const struct store *s,
                                           const struct store_put *put)
{
    const struct form_def *def = put->def;
    const struct form_data *data = put->fields;
    struct store_cache_image *img;
    bool ok;

    if (!s->cache || !store_cache_has(s->cache, put->service) ||
        !(img = calloc(1, sizeof(*img))))
        return NULL;
    img->state = put->initial_state;
    ok = !put->username || (img->username = strdup(put->username));
    for (size_t i = 0; ok && data && i < data->n; i++) {
        const struct form_value *v = &data->items[i];
        const struct form_field_def *f =
            def ? form_def_find(def, v->var) : NULL;
        bool array = f ? form_type_is_multi(f->type) : v->nvalues != 1;
        struct form_value *to;

        if (array && v->nvalues == 0)
            continue;
        if (!array && v->nvalues > 1) {
            ok = false;
            break;
        }
        ok = (to = form_data_entry(&img->fields, v->var)) != NULL;
        if (ok && v->nvalues == 0)
            ok = form_value_append(to, "");
        for (size_t k = 0; ok && k < v->nvalues; k++)
            ok = form_value_append(to, v->values[k]);
    }
    /* keep_array's vars */
    for (size_t i = 0; ok && def && i < def->nfields; i++) {
        const struct form_field_def *f = &def->fields[i];
        char **grown;

        if (f->type != FORM_TEXT_PRIVATE || strcmp(f->var, "password") == 0)
            continue;
        ok = (grown = realloc(img->keep, (img->nkeep + 1) * sizeof(*grown))) &&
             (img->keep = grown, grown[img->nkeep] = strdup(f->var)) &&
             ++img->nkeep;
    }
    if (!ok) {
        store_cache_image_free(img);
        return NULL;
    }
    return img;
}

void store_put(struct store *s, const struct store_put *put, store_put_cb cb,
               void *arg)
{
    struct form_data none = {0};
    char *json = fields_json(put->def, put->fields ? put->fields : &none);
    char *consents = consents_json(put->consents, put->nconsents);
    char *keep = keep_array(put->def);
    const char *params[] = {
        put->service,       put->jid,
        put->username,      json,
        put->password_hash, store_state_name(put->initial_state),
        consents,           put->origin.iq_id,
        put->origin.actor,  keep,
        put->invite_token,  put->invite_required ? "true" : "false"};
    bool ok = json && consents && keep;

    if (ok && put->invite)
        ok = store_run_image(s, &op_put_invite, params, 12, (store_fn)cb, arg,
                             NULL, put->started);
    else if (ok)
        ok = store_run_image(s, &op_put, params, 10, (store_fn)cb, arg,
                             put_image(s, put), put->started);
    if (!ok)
        cb(arg, STORE_ERROR, false, NULL);
    /* the job has its own copy; the values may include hashes */
    if (json)
        explicit_bzero(json, strlen(json));
    free(json);
    free(consents);
    free(keep);
}

/* ---- remove ---------------------------------------------------------------
 */

/* service, jid, iq_id, actor -> found; the event's id */
static const struct store_op op_remove = {
    .name = "registrar_remove",
    .sql = "SELECT done, event_id FROM registrar_remove_event($1, $2, $3, $4)",
    .nparams = 4,
    .decode = decode_found,
    .answer = answer_done,
    .event = "removed",
    .iq_param = 2,
    .event_removed = true,
};

void store_remove(struct store *s, const char *service, const char *jid,
                  const struct store_origin *origin, store_done_cb cb,
                  void *arg)
{
    const char *params[] = {service, jid, origin ? origin->iq_id : NULL,
                            origin ? origin->actor : NULL};

    if (!RUN(s, &op_remove, params, cb, arg))
        cb(arg, STORE_ERROR, false);
}

/* ---- set_password ---------------------------------------------------------
 */

/* service, jid, hash, iq_id, actor -> found (NULL: disabled); the event's
 * id */
static const struct store_op op_set_password = {
    .name = "registrar_set_password",
    .sql = "SELECT done, event_id"
           "  FROM registrar_set_password_event($1, $2, $3, $4, $5)",
    .nparams = 5,
    .decode = decode_found_allowed,
    .answer = answer_done,
    .event = "password_changed",
    .iq_param = 3,
};

void store_set_password(struct store *s, const char *service, const char *jid,
                        const char *hash, const struct store_origin *origin,
                        store_done_cb cb, void *arg)
{
    const char *params[] = {service, jid, hash, origin ? origin->iq_id : NULL,
                            origin ? origin->actor : NULL};

    if (!RUN(s, &op_set_password, params, cb, arg))
        cb(arg, STORE_ERROR, false);
}

/* ---- set_state ------------------------------------------------------------
 */

/* service, jid, state, from, iq_id, actor, reason -> found (NULL: in
 * another state than from); the event's id */
static const struct store_op op_set_state = {
    .name = "registrar_set_state",
    .sql = "SELECT done, event_id"
           "  FROM registrar_set_state_event($1, $2, $3, $4, $5, $6, $7)",
    .nparams = 7,
    .decode = decode_found_allowed,
    .answer = answer_done,
    .event = "state_changed",
    .iq_param = 4,
};

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

    if (!RUN(s, &op_set_state, params, cb, arg))
        cb(arg, STORE_ERROR, false);
}

/* ---- unban ----------------------------------------------------------------
 */

/* service, jid, iq_id, actor -> found; the event's id */
static const struct store_op op_unban = {
    .name = "registrar_unban",
    .sql = "SELECT done, event_id FROM registrar_unban_event($1, $2, $3, $4)",
    .nparams = 4,
    .decode = decode_found,
    .answer = answer_done,
    .event = "ban_lifted",
    .iq_param = 2,
};

void store_unban(struct store *s, const char *service, const char *jid,
                 const struct store_origin *origin, store_done_cb cb, void *arg)
{
    const char *params[] = {service, jid, origin ? origin->iq_id : NULL,
                            origin ? origin->actor : NULL};

    if (!RUN(s, &op_unban, params, cb, arg))
        cb(arg, STORE_ERROR, false);
}

/* ---- count ----------------------------------------------------------------
 */

static void count_decode(struct job *j, const PGresult *res)
{
    j->count =
        PQntuples(res) == 1 ? strtoul(PQgetvalue(res, 0, 0), NULL, 10) : 0;
}

static void count_answer(struct job *j)
{
    ((store_count_cb)j->cb)(j->arg, j->st, j->st == STORE_OK ? j->count : 0);
}

/* service, state (NULL: any) */
static const struct store_op op_count = {
    .name = "registrar_count",
    .sql = "SELECT count(*) FROM registrations"
           " WHERE service = $1 AND ($2::text IS NULL OR state = $2)",
    .nparams = 2,
    .decode = count_decode,
    .answer = count_answer,
};

void store_count(struct store *s, const char *service,
                 const enum store_state *state, store_count_cb cb, void *arg)
{
    const char *params[] = {service, state ? store_state_name(*state) : NULL};

    if (!RUN(s, &op_count, params, cb, arg))
        cb(arg, STORE_ERROR, 0);
}

/* ---- list -----------------------------------------------------------------
 */

static void list_decode(struct job *j, const PGresult *res)
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

static void list_answer(struct job *j)
{
    bool ok = j->st == STORE_OK;

    ((store_list_cb)j->cb)(j->arg, j->st, ok ? j->jids : NULL,
                           ok ? j->njids : 0);
}

/* service, state (NULL: any), max (NULL: no limit); byte order */
static const struct store_op op_list = {
    .name = "registrar_list",
    .sql = "SELECT jid FROM registrations"
           " WHERE service = $1 AND ($2::text IS NULL OR state = $2)"
           " ORDER BY jid COLLATE \"C\" LIMIT $3::bigint",
    .nparams = 3,
    .decode = list_decode,
    .answer = list_answer,
};

void store_list(struct store *s, const char *service,
                const enum store_state *state, unsigned max, store_list_cb cb,
                void *arg)
{
    char limit[16];
    const char *params[] = {service, state ? store_state_name(*state) : NULL,
                            max ? limit : NULL};

    snprintf(limit, sizeof(limit), "%u", max);
    if (!RUN(s, &op_list, params, cb, arg))
        cb(arg, STORE_ERROR, NULL, 0);
}

/* ---- bans: list and count ------------------------------------------------
 */

/* service, max (NULL: no limit); byte order */
static const struct store_op op_list_bans = {
    .name = "registrar_list_bans",
    .sql = "SELECT jid FROM registration_bans WHERE service = $1"
           " ORDER BY jid COLLATE \"C\" LIMIT $2::bigint",
    .nparams = 2,
    .decode = list_decode,
    .answer = list_answer,
};

void store_list_bans(struct store *s, const char *service, unsigned max,
                     store_list_cb cb, void *arg)
{
    char limit[16];
    const char *params[] = {service, max ? limit : NULL};

    snprintf(limit, sizeof(limit), "%u", max);
    if (!RUN(s, &op_list_bans, params, cb, arg))
        cb(arg, STORE_ERROR, NULL, 0);
}

/* service */
static const struct store_op op_count_bans = {
    .name = "registrar_count_bans",
    .sql = "SELECT count(*) FROM registration_bans WHERE service = $1",
    .nparams = 1,
    .decode = count_decode,
    .answer = count_answer,
};

void store_count_bans(struct store *s, const char *service, store_count_cb cb,
                      void *arg)
{
    const char *params[] = {service};

    if (!RUN(s, &op_count_bans, params, cb, arg))
        cb(arg, STORE_ERROR, 0);
}

/* ---- admin reads and erasure: rows for people and scripts ----------------
 */

/* Every column of the result but the last is a cell; the last is the row
 * as JSON (the statements end in to_json(t)::text).  Into j->jids, as
 * struct store_table lays them out after the column names: the names, then
 * each row's cells and JSON; j->count holds the number of columns. */
static void table_decode(struct job *j, const PGresult *res)
{
    size_t k = (size_t)PQnfields(res), rows = (size_t)PQntuples(res);
    bool oom = false;

    if (k < 1) {
        j->st = STORE_ERROR;
        return;
    }
    if (!(j->jids = calloc(k * (rows + 1), sizeof(*j->jids)))) {
        j->st = STORE_ERROR;
        return;
    }
    j->njids = k * (rows + 1);
    j->count = k;
    for (size_t c = 0; c + 1 < k && !oom; c++)
        oom = !(j->jids[c] = strdup(PQfname(res, (int)c)));
    for (size_t r = 0; r < rows && !oom; r++)
        for (size_t c = 0; c < k; c++)
            j->jids[k * (r + 1) + c] = dup_field(res, (int)r, (int)c, &oom);
    if (oom) {
        log_error("store", "out of memory reading %s", j->op->name);
        j->st = STORE_ERROR;
    }
}

/* The same, and STORE_NOT_FOUND when there is no row. */
static void table_decode_found(struct job *j, const PGresult *res)
{
    if (PQntuples(res) == 0)
        j->st = STORE_NOT_FOUND;
    else
        table_decode(j, res);
}

static void table_answer(struct job *j)
{
    size_t k = (size_t)j->count;
    struct store_table t = {0};

    if (j->st == STORE_OK && k > 0 && j->jids) {
        t = (struct store_table){.nrows = j->njids / k - 1,
                                 .ncols = k - 1,
                                 .names = j->jids,
                                 .rows = j->jids + k};
    } else if (j->st == STORE_OK) {
        j->st = STORE_ERROR; /* nothing decoded */
    }
    ((store_table_cb)j->cb)(j->arg, j->st, j->st == STORE_OK ? &t : NULL);
}

/* service, state (NULL: any); byte order */
static const struct store_op op_registrations = {
    .name = "registrar_admin_registrations",
    .sql = "SELECT t.*, to_json(t)::text FROM ("
           "  SELECT jid, state, username,"
           "         date_trunc('second', created_at) AS created_at,"
           "         disabled_reason"
           "    FROM registrations"
           "   WHERE service = $1::text"
           "     AND ($2::text IS NULL OR state = $2::text)) t"
           " ORDER BY t.jid COLLATE \"C\"",
    .nparams = 2,
    .decode = table_decode,
    .answer = table_answer,
};

void store_registrations(struct store *s, const char *service,
                         const enum store_state *state, store_table_cb cb,
                         void *arg)
{
    const char *params[] = {service, state ? store_state_name(*state) : NULL};

    if (!RUN(s, &op_registrations, params, cb, arg))
        cb(arg, STORE_ERROR, NULL);
}

/* service; byte order */
static const struct store_op op_bans = {
    .name = "registrar_admin_bans",
    .sql = "SELECT t.*, to_json(t)::text FROM ("
           "  SELECT jid, date_trunc('second', since) AS since, actor, reason"
           "    FROM registration_bans WHERE service = $1::text) t"
           " ORDER BY t.jid COLLATE \"C\"",
    .nparams = 1,
    .decode = table_decode,
    .answer = table_answer,
};

void store_bans(struct store *s, const char *service, store_table_cb cb,
                void *arg)
{
    const char *params[] = {service};

    if (!RUN(s, &op_bans, params, cb, arg))
        cb(arg, STORE_ERROR, NULL);
}

/* service, jid: one row of registrations_admin (no hash of any kind) */
static const struct store_op op_registration = {
    .name = "registrar_admin_registration",
    .sql = "SELECT t.*, to_json(t)::text FROM ("
           "  SELECT service, jid, username, state, fields, has_password,"
           "         consents, date_trunc('second', created_at) AS created_at,"
           "         date_trunc('second', updated_at) AS updated_at,"
           "         date_trunc('second', disabled_at) AS disabled_at,"
           "         disabled_by, disabled_reason"
           "    FROM registrations_admin"
           "   WHERE service = $1::text AND jid = $2::text) t",
    .nparams = 2,
    .decode = table_decode_found,
    .answer = table_answer,
};

void store_registration(struct store *s, const char *service, const char *jid,
                        store_table_cb cb, void *arg)
{
    const char *params[] = {service, jid};

    if (!RUN(s, &op_registration, params, cb, arg))
        cb(arg, STORE_ERROR, NULL);
}

/* after id, service (NULL: any), jid (NULL: any), max (NULL: no limit) */
static const struct store_op op_events_since = {
    .name = "registrar_admin_events",
    .sql = "SELECT t.*, to_json(t)::text FROM ("
           "  SELECT id, date_trunc('second', at) AS at, service, jid, event,"
           "         iq_id, detail"
           "    FROM registration_events"
           "   WHERE id > $1::bigint"
           "     AND ($2::text IS NULL OR service = $2::text)"
           "     AND ($3::text IS NULL OR jid = $3::text)"
           "   ORDER BY id LIMIT $4::bigint) t"
           " ORDER BY t.id",
    .nparams = 4,
    .decode = table_decode,
    .answer = table_answer,
};

void store_events_since(struct store *s, const char *service, const char *jid,
                        unsigned long long after_id, unsigned max,
                        store_table_cb cb, void *arg)
{
    char after[24], limit[16];
    const char *params[] = {after, service, jid, max ? limit : NULL};

    snprintf(after, sizeof(after), "%llu", after_id);
    snprintf(limit, sizeof(limit), "%u", max);
    if (!RUN(s, &op_events_since, params, cb, arg))
        cb(arg, STORE_ERROR, NULL);
}

/* jid: sql/admin/export_jid.sql's document, with the bans; no row when
 * nothing is stored */
static const struct store_op op_export = {
    .name = "registrar_admin_export",
    .sql = "WITH r AS (SELECT count(*) AS n, coalesce(jsonb_agg("
           "                 to_jsonb(a) - 'jid' ORDER BY a.service),"
           "               '[]'::jsonb) AS doc"
           "            FROM registrations_admin a WHERE a.jid = $1::text),"
           "     b AS (SELECT count(*) AS n, coalesce(jsonb_agg("
           "                 to_jsonb(x) - 'jid' ORDER BY x.service),"
           "               '[]'::jsonb) AS doc"
           "            FROM registration_bans x WHERE x.jid = $1::text),"
           "     e AS (SELECT count(*) AS n, coalesce(jsonb_agg("
           "                 to_jsonb(v) - 'jid' ORDER BY v.id),"
           "               '[]'::jsonb) AS doc"
           "            FROM registration_events v WHERE v.jid = $1::text)"
           " SELECT r.n AS registrations, b.n AS bans, e.n AS events,"
           "        jsonb_pretty(jsonb_build_object("
           "            'jid', $1::text, 'exported_at', now(),"
           "            'registrations', r.doc, 'bans', b.doc,"
           "            'events', e.doc))"
           "   FROM r, b, e WHERE r.n + b.n + e.n > 0",
    .nparams = 1,
    .decode = table_decode_found,
    .answer = table_answer,
};

void store_export(struct store *s, const char *jid, store_table_cb cb,
                  void *arg)
{
    const char *params[] = {jid};

    if (!RUN(s, &op_export, params, cb, arg))
        cb(arg, STORE_ERROR, NULL);
}

/* jid: registrar_forget_jid (sql/010, registrar_admin); no row when there
 * was nothing */
static const struct store_op op_forget = {
    .name = "registrar_admin_forget",
    .sql = "SELECT t.*, to_json(t)::text"
           "  FROM registrar_forget_jid($1::text) t"
           " WHERE t.registrations + t.bans + t.events > 0",
    .nparams = 1,
    .decode = table_decode_found,
    .answer = table_answer,
};

void store_forget(struct store *s, const char *jid, store_table_cb cb,
                  void *arg)
{
    const char *params[] = {jid};

    if (!RUN(s, &op_forget, params, cb, arg))
        cb(arg, STORE_ERROR, NULL);
}

/* service: counts by state and bans */
static const struct store_op op_stats = {
    .name = "registrar_admin_stats",
    .sql = "SELECT t.*, to_json(t)::text FROM ("
           "  SELECT $1::text AS service, count(*) AS registrations,"
           "         count(*) FILTER (WHERE state = 'active') AS active,"
           "         count(*) FILTER (WHERE state = 'pending') AS pending,"
           "         count(*) FILTER (WHERE state = 'disabled') AS disabled,"
           "         (SELECT count(*) FROM registration_bans"
           "           WHERE service = $1::text) AS banned,"
           "         date_trunc('second', min(created_at)"
           "             FILTER (WHERE state = 'pending')) AS oldest_pending"
           "    FROM registrations WHERE service = $1::text) t",
    .nparams = 1,
    .decode = table_decode,
    .answer = table_answer,
};

void store_stats(struct store *s, const char *service, store_table_cb cb,
                 void *arg)
{
    const char *params[] = {service};

    if (!RUN(s, &op_stats, params, cb, arg))
        cb(arg, STORE_ERROR, NULL);
}

/* ---- count_states (the metrics) -------------------------------------------
 */

static void states_decode(struct job *j, const PGresult *res)
{
    enum store_state state;

    for (int i = 0; i < PQntuples(res); i++)
        if (state_of(PQgetvalue(res, i, 0), &state))
            j->states[state] = strtoul(PQgetvalue(res, i, 1), NULL, 10);
}

static void states_answer(struct job *j)
{
    static const unsigned long none[STORE_NSTATES];

    ((store_states_cb)j->cb)(j->arg, j->st,
                             j->st == STORE_OK ? j->states : none);
}

/* service -> a row per state it has: state, count */
static const struct store_op op_count_states = {
    .name = "registrar_count_states",
    .sql = "SELECT state, count(*) FROM registrations WHERE service = $1"
           " GROUP BY state",
    .nparams = 1,
    .decode = states_decode,
    .answer = states_answer,
};

void store_count_states(struct store *s, const char *service,
                        store_states_cb cb, void *arg)
{
    static const unsigned long none[STORE_NSTATES];
    const char *params[] = {service};

    if (!RUN(s, &op_count_states, params, cb, arg))
        cb(arg, STORE_ERROR, none);
}

/* ---- the check of a write sent again --------------------------------------
 */

/* When the write's event is there, the first attempt committed, and the
 * answer is that attempt's (a registration created, a removal done...),
 * not the second's, its event's id included.  Read into the write's job,
 * after its own result. */
static void check_decode(struct job *j, const PGresult *res)
{
    j->done_before = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0);
    if (!j->done_before)
        return;
    j->event_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    log_info("store",
             "a %s sent again after a lost connection had "
             "committed the first time: answered as then",
             j->op->name);
    j->st = STORE_OK;
    if (j->op->event_created) {
        j->created = true;
        free(j->reason);
        j->reason = NULL;
    }
}

/* service, jid, event, iq_id: the id of the event of this request when a
 * write of it committed before (NULL: none); the window bounds the look
 * back */
const struct store_op store_sql_check = {
    .name = "registrar_done_before",
    .sql = "SELECT max(id) FROM registration_events"
           " WHERE jid = $2 AND service = $1 AND event = $3 AND iq_id = $4"
           "   AND at > now() - interval '10 minutes'",
    .nparams = STORE_CHECK_NPARAMS,
    .decode = check_decode,
};

bool store_sql_check_params(const struct job *j,
                            const char *params[STORE_CHECK_NPARAMS])
{
    const struct store_op *op = j->op;

    /* every write takes service and jid first */
    if (!op->event || !j->p[op->iq_param])
        return false;
    params[0] = j->p[0];
    params[1] = j->p[1];
    params[2] = op->event;
    params[3] = j->p[op->iq_param];
    return true;
}

/* ---- messages to users: the claim of state changes (sql/014) ------------
 */

#define CLAIM_COLS 5 /* event_id, jid, username, state, reason */

/* Into j->jids, CLAIM_COLS a row. */
static void claim_decode(struct job *j, const PGresult *res)
{
    size_t rows = (size_t)PQntuples(res);
    bool oom = false;

    if (PQnfields(res) != CLAIM_COLS) {
        j->st = STORE_ERROR;
        return;
    }
    if (rows == 0)
        return;
    if (!(j->jids = calloc(rows * CLAIM_COLS, sizeof(*j->jids)))) {
        j->st = STORE_ERROR;
        return;
    }
    j->njids = rows * CLAIM_COLS;
    for (size_t r = 0; r < rows && !oom; r++)
        for (size_t c = 0; c < CLAIM_COLS; c++)
            j->jids[r * CLAIM_COLS + c] = dup_field(res, (int)r, (int)c, &oom);
    if (oom) {
        log_error("store", "out of memory reading %s", j->op->name);
        j->st = STORE_ERROR;
    }
}

static void claim_answer(struct job *j)
{
    size_t rows = j->st == STORE_OK ? j->njids / CLAIM_COLS : 0, n = 0;
    struct store_state_change *c = NULL;

    if (rows && !(c = calloc(rows, sizeof(*c))))
        j->st = STORE_ERROR;
    for (size_t r = 0; c && r < rows; r++) {
        char *const *f = &j->jids[r * CLAIM_COLS];
        enum store_state state;

        /* the function returns only these; anything else is skipped */
        if (!f[0] || !f[1] || !f[3] || !state_of(f[3], &state) ||
            state == STORE_STATE_PENDING)
            continue;
        c[n++] = (struct store_state_change){
            .event_id = strtoll(f[0], NULL, 10),
            .jid = f[1],
            .username = f[2],
            .state = state,
            .reason = f[4],
        };
    }
    ((store_changes_cb)j->cb)(j->arg, j->st, j->st == STORE_OK ? c : NULL,
                              j->st == STORE_OK ? n : 0);
    free(c);
}

/* service, max */
static const struct store_op op_claim_state_changes = {
    .name = "registrar_claim_state_changes",
    .sql = "SELECT event_id, jid, username, state, reason"
           "  FROM registrar_claim_state_changes($1::text, $2::integer)",
    .nparams = 2,
    .decode = claim_decode,
    .answer = claim_answer,
};

void store_claim_state_changes(struct store *s, const char *service,
                               unsigned max, store_changes_cb cb, void *arg)
{
    char limit[16];
    const char *params[] = {service, limit};

    snprintf(limit, sizeof(limit), "%u", max ? max : 1);
    if (!RUN(s, &op_claim_state_changes, params, cb, arg))
        cb(arg, STORE_ERROR, NULL, 0);
}

/* ---- the catalogue --------------------------------------------------------
 */

/* ---- invitations (sql/013) ----------------------------------------------
 */

/* service, token, ttl (seconds; NULL: never), max_uses (NULL: unlimited),
 * bound_to, state, fields, label, actor, iq_id -> id, token, expires_at,
 * event_id.  Not a write of registrations: no event for the cache to
 * know (its notification reads the log), and no check when sent again
 * (a second attempt with the same token is a conflict). */
static const struct store_op op_invite_create = {
    .name = "registrar_invite_create",
    .sql = "SELECT t.*, to_json(t)::text FROM ("
           "  SELECT c.id, c.token,"
           "         to_char(c.expires_at AT TIME ZONE 'UTC',"
           "                 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS expires_at,"
           "         c.event_id"
           "    FROM registrar_invite_create($1, $2,"
           "         make_interval(secs => $3::bigint), $4::integer, $5, $6,"
           "         $7::jsonb, $8, $9, $10) c) t",
    .nparams = 10,
    .decode = table_decode_found,
    .answer = table_answer,
};

void store_invite_create(struct store *s, const struct store_invite *inv,
                         store_table_cb cb, void *arg)
{
    char ttl[32], uses[32];
    char *json = inv->fields ? fields_json(NULL, inv->fields) : NULL;
    const char *params[] = {inv->service,
                            inv->token,
                            inv->ttl_s ? ttl : NULL,
                            inv->max_uses ? uses : NULL,
                            inv->bound_to,
                            inv->initial_state,
                            json,
                            inv->label,
                            inv->origin.actor,
                            inv->origin.iq_id};

    snprintf(ttl, sizeof(ttl), "%lu", inv->ttl_s);
    snprintf(uses, sizeof(uses), "%u", inv->max_uses);
    if ((inv->fields && !json) || !RUN(s, &op_invite_create, params, cb, arg))
        cb(arg, STORE_ERROR, NULL);
    free(json);
}

/* service, max (NULL: no limit) */
static const struct store_op op_invite_list = {
    .name = "registrar_invite_list",
    .sql = "SELECT t.*, to_json(t)::text FROM ("
           "  SELECT id, label, creator,"
           "         date_trunc('second', created_at) AS created_at,"
           "         date_trunc('second', expires_at) AS expires_at,"
           "         max_uses, uses, bound_to, initial_state, state,"
           /* the newest 10 only (store.h): an unlimited invitation's
            * list grows without bound (uses counts them all) */
           "         (SELECT coalesce(jsonb_agg(e ORDER BY n), '[]')"
           "            FROM jsonb_array_elements(redemptions)"
           "                 WITH ORDINALITY AS a(e, n)"
           "           WHERE n > jsonb_array_length(redemptions) - 10)"
           "         AS redemptions"
           "    FROM registration_invites_admin"
           "   WHERE service = $1::text"
           "   ORDER BY id DESC LIMIT $2::bigint) t",
    .nparams = 2,
    .decode = table_decode,
    .answer = table_answer,
};

void store_invite_list(struct store *s, const char *service, unsigned max,
                       store_table_cb cb, void *arg)
{
    char lim[32];
    const char *params[] = {service, max ? lim : NULL};

    snprintf(lim, sizeof(lim), "%u", max);
    if (!RUN(s, &op_invite_list, params, cb, arg))
        cb(arg, STORE_ERROR, NULL);
}

/* service, id, actor, iq_id -> done, event_id */
static const struct store_op op_invite_revoke = {
    .name = "registrar_invite_revoke",
    .sql = "SELECT done, event_id"
           "  FROM registrar_invite_revoke($1, $2::bigint, $3, $4)",
    .nparams = 4,
    .decode = decode_found,
    .answer = answer_done,
};

void store_invite_revoke(struct store *s, const char *service,
                         unsigned long long id,
                         const struct store_origin *origin, store_done_cb cb,
                         void *arg)
{
    char num[32];
    const char *params[] = {service, num, origin ? origin->actor : NULL,
                            origin ? origin->iq_id : NULL};

    snprintf(num, sizeof(num), "%llu", id);
    if (!RUN(s, &op_invite_revoke, params, cb, arg))
        cb(arg, STORE_ERROR, false);
}

static void prefill_decode(struct job *j, const PGresult *res)
{
    int rows = PQntuples(res);

    if (rows == 0) {
        j->st = STORE_NOT_FOUND;
        return;
    }
    for (int i = 0; i < rows; i++)
        if (!PQgetisnull(res, i, 0) &&
            !form_data_add(&j->rec.fields, PQgetvalue(res, i, 0),
                           PQgetvalue(res, i, 1))) {
            log_error("store", "out of memory reading an invitation");
            j->st = STORE_ERROR;
            return;
        }
}

/* service, jid -> a row per field value */
static const struct store_op op_invite_prefill = {
    .name = "registrar_invite_prefill",
    .sql = "SELECT key, value FROM registrar_invite_prefill($1, $2)",
    .nparams = 2,
    .decode = prefill_decode,
    .answer = get_answer,
};

void store_invite_prefill(struct store *s, const char *service, const char *jid,
                          store_get_cb cb, void *arg)
{
    const char *params[] = {service, jid};

    if (!RUN(s, &op_invite_prefill, params, cb, arg))
        cb(arg, STORE_ERROR, NULL);
}

static void bind_decode(struct job *j, const PGresult *res)
{
    if (!returned_true(res))
        j->st = STORE_BAD_INVITE;
}

/* service, token, jid, ttl (seconds) -> bound */
static const struct store_op op_invite_bind = {
    .name = "registrar_invite_bind",
    .sql = "SELECT registrar_invite_bind($1, $2, $3,"
           " make_interval(secs => $4::bigint))",
    .nparams = 4,
    .decode = bind_decode,
    .answer = answer_done,
};

void store_invite_bind(struct store *s, const char *service, const char *token,
                       const char *jid, unsigned long ttl_s, store_done_cb cb,
                       void *arg)
{
    char ttl[32];
    const char *params[] = {service, token, jid, ttl};

    snprintf(ttl, sizeof(ttl), "%lu", ttl_s);
    if (!RUN(s, &op_invite_bind, params, cb, arg))
        cb(arg, STORE_ERROR, false);
}

/* ---- challenges (sql/015) ------------------------------------------------ */

/* A text[] literal's element: in double quotes, \ and " escaped. */
static void buf_text_element(struct buf *b, const char *v)
{
    buf_str(b, "\"");
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\')
            buf_put(b, "\\", 1);
        buf_put(b, p, 1);
    }
    buf_str(b, "\"");
}

static void challenge_issue_decode(struct job *j, const PGresult *res)
{
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0) ||
        !(j->reason = strdup(PQgetvalue(res, 0, 0))))
        j->st = STORE_ERROR;
}

static void challenge_issue_answer(struct job *j)
{
    ((store_challenge_issue_cb)j->cb)(j->arg, j->st,
                                      j->st == STORE_OK ? j->reason : NULL);
}

/* service, jid, ttl (seconds), answers (text[]), image (bytea), cid ->
 * id */
static const struct store_op op_challenge_issue = {
    .name = "registrar_challenge_issue",
    .sql = "SELECT registrar_challenge_issue($1, $2,"
           " make_interval(secs => $3::bigint), $4::text[], $5::bytea, $6)",
    .nparams = 6,
    .decode = challenge_issue_decode,
    .answer = challenge_issue_answer,
};

void store_challenge_issue(struct store *s, const char *service,
                           const char *jid, unsigned long ttl_s,
                           const char *const *answers, size_t nanswers,
                           const struct store_challenge_image *image,
                           store_challenge_issue_cb cb, void *arg)
{
    static const char hex[] = "0123456789abcdef";
    char ttl[32];
    struct buf b = {0}, img = {0};
    char *arr, *png = NULL;

    snprintf(ttl, sizeof(ttl), "%lu", ttl_s);
    buf_put(&b, "{", 1);
    for (size_t i = 0; i < nanswers; i++) {
        if (i)
            buf_put(&b, ",", 1);
        buf_text_element(&b, answers[i]);
    }
    buf_put(&b, "}", 1);
    if (image) { /* bytea in hex, as text */
        buf_put(&img, "\\x", 2);
        for (size_t i = 0; i < image->len; i++) {
            char two[2] = {hex[image->png[i] >> 4], hex[image->png[i] & 15]};
            buf_put(&img, two, 2);
        }
        if (!(png = buf_take(&img))) {
            free(buf_take(&b));
            cb(arg, STORE_ERROR, NULL);
            return;
        }
    }
    if (!(arr = buf_take(&b))) {
        free(png);
        cb(arg, STORE_ERROR, NULL);
        return;
    }
    const char *params[] = {service, jid, ttl,
                            arr,     png, image ? image->cid : NULL};
    if (!RUN(s, &op_challenge_issue, params, cb, arg))
        cb(arg, STORE_ERROR, NULL);
    free(arr);
    free(png);
}

static void challenge_image_decode(struct job *j, const PGresult *res)
{
    size_t len = 0;
    unsigned char *png;

    if (PQntuples(res) == 0) {
        j->st = STORE_NOT_FOUND;
        return;
    }
    png = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 0), &len);
    if (!png) {
        j->st = STORE_ERROR;
        return;
    }
    /* the bytes in reason (owned, freed with the job), their length in
     * count, the ttl in states[0] */
    if ((j->reason = malloc(len ? len : 1)))
        memcpy(j->reason, png, len);
    PQfreemem(png);
    if (!j->reason) {
        j->st = STORE_ERROR;
        return;
    }
    j->count = len;
    j->states[0] = strtoul(PQgetvalue(res, 0, 1), NULL, 10);
}

static void challenge_image_answer(struct job *j)
{
    bool ok = j->st == STORE_OK;

    ((store_challenge_image_cb)j->cb)(
        j->arg, j->st, ok ? (const unsigned char *)j->reason : NULL,
        ok ? j->count : 0, ok ? j->states[0] : 0);
}

/* service, cid -> image, ttl */
static const struct store_op op_challenge_image = {
    .name = "registrar_challenge_image",
    .sql = "SELECT image, ttl FROM registrar_challenge_image($1, $2)",
    .nparams = 2,
    .decode = challenge_image_decode,
    .answer = challenge_image_answer,
};

void store_challenge_image(struct store *s, const char *service,
                           const char *cid, store_challenge_image_cb cb,
                           void *arg)
{
    const char *params[] = {service, cid};

    if (!RUN(s, &op_challenge_image, params, cb, arg))
        cb(arg, STORE_ERROR, NULL, 0, 0);
}

static void challenge_check_decode(struct job *j, const PGresult *res)
{
    static const char *const names[] = {[STORE_CHALLENGE_OK] = "ok",
                                        [STORE_CHALLENGE_WRONG] = "wrong",
                                        [STORE_CHALLENGE_EXPIRED] = "expired",
                                        [STORE_CHALLENGE_USED] = "used",
                                        [STORE_CHALLENGE_UNKNOWN] = "unknown",
                                        [STORE_CHALLENGE_FOREIGN] = "foreign",
                                        [STORE_CHALLENGE_LOCKED] = "locked"};

    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (strcmp(PQgetvalue(res, 0, 0), names[i]) == 0) {
                j->count = i;
                return;
            }
    j->st = STORE_ERROR;
}

static void challenge_check_answer(struct job *j)
{
    ((store_challenge_check_cb)j->cb)(j->arg, j->st,
                                      j->st == STORE_OK
                                          ? (enum store_challenge)j->count
                                          : STORE_CHALLENGE_UNKNOWN);
}

/* service, jid, id, answer, max_failures, lockout (seconds) -> outcome */
static const struct store_op op_challenge_check = {
    .name = "registrar_challenge_check",
    .sql = "SELECT registrar_challenge_check($1, $2, $3, $4, $5::integer,"
           " make_interval(secs => $6::bigint))",
    .nparams = 6,
    .decode = challenge_check_decode,
    .answer = challenge_check_answer,
};

void store_challenge_check(struct store *s, const char *service,
                           const char *jid, const char *id, const char *answer,
                           unsigned max_failures, unsigned long lockout_s,
                           store_challenge_check_cb cb, void *arg)
{
    char maxf[16], lockout[32];
    const char *params[] = {service, jid, id, answer, maxf, lockout};

    snprintf(maxf, sizeof(maxf), "%u", max_failures);
    snprintf(lockout, sizeof(lockout), "%lu", lockout_s);
    if (!RUN(s, &op_challenge_check, params, cb, arg))
        cb(arg, STORE_ERROR, STORE_CHALLENGE_UNKNOWN);
}

static void challenge_status_decode(struct job *j, const PGresult *res)
{
    if (PQntuples(res) != 1) {
        j->st = STORE_ERROR;
        return;
    }
    j->states[0] = strtoul(PQgetvalue(res, 0, 0), NULL, 10);
    j->states[1] = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    j->states[2] = strtoul(PQgetvalue(res, 0, 2), NULL, 10);
}

static void challenge_status_answer(struct job *j)
{
    struct store_challenge_status cs = {
        .locked_for_s = j->states[0],
        .failed_recently = j->states[1] != 0,
        .signups_last_minute = j->states[2],
    };

    ((store_challenge_status_cb)j->cb)(j->arg, j->st,
                                       j->st == STORE_OK ? &cs : NULL);
}

/* service, jid, recent (seconds) -> locked_for, failed_recently, signups */
static const struct store_op op_challenge_status = {
    .name = "registrar_challenge_status",
    .sql = "SELECT locked_for, failed_recently, signups_last_minute"
           " FROM registrar_challenge_status($1, $2,"
           " make_interval(secs => $3::bigint))",
    .nparams = 3,
    .decode = challenge_status_decode,
    .answer = challenge_status_answer,
};

void store_challenge_status(struct store *s, const char *service,
                            const char *jid, unsigned long recent_s,
                            store_challenge_status_cb cb, void *arg)
{
    char recent[32];
    const char *params[] = {service, jid, recent};

    snprintf(recent, sizeof(recent), "%lu", recent_s);
    if (!RUN(s, &op_challenge_status, params, cb, arg))
        cb(arg, STORE_ERROR, NULL);
}

const struct store_op *const store_sql_ops[] = {
    &op_get,
    &op_put,
    &op_put_invite,
    &op_invite_create,
    &op_invite_list,
    &op_invite_revoke,
    &op_invite_bind,
    &op_invite_prefill,
    &op_remove,
    &op_set_password,
    &op_set_state,
    &op_unban,
    &op_count,
    &op_list,
    &op_list_bans,
    &op_count_bans,
    &op_count_states, /* the metrics' */
    /* the admin command line's */
    &op_registrations,
    &op_bans,
    &op_registration,
    &op_events_since,
    &op_export,
    &op_forget,
    &op_stats,
    &op_claim_state_changes, /* messages to users */
    &op_challenge_issue,     /* challenges */
    &op_challenge_check,
    &op_challenge_status,
    &op_challenge_image,
    &store_sql_check,
};

const size_t store_sql_nops = sizeof(store_sql_ops) / sizeof(store_sql_ops[0]);
