/*
 * fake_store.c - an in-memory store.h for the unit tests of the XEP-0077
 * logic: same contract (callbacks after the "commit", case-insensitive
 * username uniqueness per service, the record handed to the get
 * callback), the values kept as they came, plus a switch that makes every
 * call answer STORE_UNAVAILABLE.  Unit tests only.
 *
 * Only the operations are faked: the store's plain values (status and
 * state names, store_record_clear) are the real ones of
 * component/store_values.c, which the tests link (registrar_util).
 */
#include "fake_store.h"

#include "challenge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* rows: enough for a list over the size of a reply (test_adhoc.c) */
#define FAKE_MAX 1100

struct row {
    bool used;
    char *service, *jid, *username, *password_hash;
    struct form_data fields;
    char *view; /* fake_store_fields(): "var=value;" for each value */
    enum store_state state;
    char *disabled_reason;
};

/* A JID banned from a service (as sql/010's registration_bans). */
struct ban {
    bool used;
    char *service, *jid, *reason;
};

/* An invitation (as sql/013's registration_invites, the token kept in
 * clear: a test's), and a JID's <preauth/> binding to one. */
#define FAKE_INVITES 64

struct invite {
    bool used;
    char *service, *token, *bound_to, *state, *label;
    unsigned max_uses, uses; /* max_uses 0: unlimited */
    bool revoked, expired;
    char *bound_jid; /* the JID of its binding, NULL: none */
    struct form_data fields;
};

/* A state change to active or disabled (as sql/014 claims them). */
struct change {
    char *service, *jid, *reason;
    enum store_state state;
    bool claimed;
};

#define FAKE_CHANGES 64

/* A challenge (as sql/015's, the answers kept folded in clear: a test's),
 * and a JID's failures. */
#define FAKE_CHALLENGES 64

struct challenge {
    bool used, answered, expired;
    char id[40];
    char *service, *jid;
    char *answers[CHALLENGE_MAX_ANSWERS];
    size_t nanswers;
    unsigned char *png; /* an image challenge's */
    size_t png_len;
    char *cid;
};

struct failures {
    char *service, *jid;
    unsigned n;
    bool locked, failed;
};

struct store {
    struct invite invites[FAKE_INVITES];
    unsigned long long invite_seq;
    struct row rows[FAKE_MAX];
    struct ban bans[FAKE_MAX];
    struct change changes[FAKE_CHANGES];
    size_t nchanges;
    struct challenge challenges[FAKE_CHALLENGES];
    unsigned challenge_seq;
    struct failures failures[FAKE_CHALLENGES];
    unsigned long signups_last_minute;
    /* fake_store_remove_before_put: the next put's row goes first */
    bool remove_before_put;
    store_notify_cb notify_cb;
    void *notify_arg;
    bool down;
    char last_iq_id[128], last_actor[128]; /* of the last change */
    size_t last_nconsents;                 /* of the last put */
};

static struct store the_store;

static void note_origin(struct store *s, const struct store_origin *o)
{
    snprintf(s->last_iq_id, sizeof(s->last_iq_id), "%s",
             o && o->iq_id ? o->iq_id : "");
    snprintf(s->last_actor, sizeof(s->last_actor), "%s",
             o && o->actor ? o->actor : "");
}

const char *fake_store_last_iq_id(void)
{
    return the_store.last_iq_id;
}

size_t fake_store_last_nconsents(void)
{
    return the_store.last_nconsents;
}

const char *fake_store_last_actor(void)
{
    return the_store.last_actor;
}

struct store *fake_store(void)
{
    return &the_store;
}

void fake_store_set_down(bool down)
{
    the_store.down = down;
}

static void row_free(struct row *r)
{
    free(r->service);
    free(r->jid);
    free(r->username);
    free(r->password_hash);
    form_data_clear(&r->fields);
    free(r->view);
    free(r->disabled_reason);
    memset(r, 0, sizeof(*r));
}

static void ban_free(struct ban *b)
{
    free(b->service);
    free(b->jid);
    free(b->reason);
    memset(b, 0, sizeof(*b));
}

void fake_store_reset(void)
{
    for (int i = 0; i < FAKE_MAX; i++) {
        row_free(&the_store.rows[i]);
        ban_free(&the_store.bans[i]);
    }
    for (int i = 0; i < FAKE_INVITES; i++) {
        struct invite *v = &the_store.invites[i];
        free(v->service);
        free(v->token);
        free(v->bound_to);
        free(v->state);
        free(v->label);
        free(v->bound_jid);
        form_data_clear(&v->fields);
        memset(v, 0, sizeof(*v));
    }
    the_store.invite_seq = 0;
    for (size_t i = 0; i < the_store.nchanges; i++) {
        free(the_store.changes[i].service);
        free(the_store.changes[i].jid);
        free(the_store.changes[i].reason);
    }
    the_store.nchanges = 0;
    for (int i = 0; i < FAKE_CHALLENGES; i++) {
        struct challenge *c = &the_store.challenges[i];
        struct failures *f = &the_store.failures[i];
        free(c->service);
        free(c->jid);
        for (size_t k = 0; k < c->nanswers; k++)
            free(c->answers[k]);
        free(c->png);
        free(c->cid);
        memset(c, 0, sizeof(*c));
        free(f->service);
        free(f->jid);
        memset(f, 0, sizeof(*f));
    }
    the_store.challenge_seq = 0;
    the_store.signups_last_minute = 0;
    the_store.notify_cb = NULL;
    the_store.down = false;
}

static struct ban *find_ban(const char *service, const char *jid)
{
    for (int i = 0; i < FAKE_MAX; i++) {
        struct ban *b = &the_store.bans[i];
        if (b->used && !strcmp(b->service, service) && !strcmp(b->jid, jid))
            return b;
    }
    return NULL;
}

bool fake_store_banned(const char *service, const char *jid)
{
    return find_ban(service, jid) != NULL;
}

static struct row *find(const char *service, const char *jid)
{
    for (int i = 0; i < FAKE_MAX; i++) {
        struct row *r = &the_store.rows[i];
        if (r->used && !strcmp(r->service, service) && !strcmp(r->jid, jid))
            return r;
    }
    return NULL;
}

const char *fake_store_fields(const char *service, const char *jid)
{
    struct row *r = find(service, jid);
    size_t len = 0;
    FILE *f;

    if (!r)
        return NULL;
    free(r->view);
    r->view = NULL;
    f = open_memstream(&r->view, &len);
    for (size_t i = 0; i < r->fields.n; i++)
        for (size_t j = 0; j < r->fields.items[i].nvalues; j++)
            fprintf(f, "%s=%s;", r->fields.items[i].var,
                    r->fields.items[i].values[j]);
    fclose(f);
    return r->view;
}

/* dst = a copy of src (dst empty before). */
static void copy_data(struct form_data *dst, const struct form_data *src)
{
    for (size_t i = 0; i < src->n; i++) {
        struct form_value *v = form_data_entry(dst, src->items[i].var);
        for (size_t j = 0; v && j < src->items[i].nvalues; j++)
            form_value_append(v, src->items[i].values[j]);
    }
}

const char *fake_store_password_hash(const char *service, const char *jid)
{
    struct row *r = find(service, jid);
    return r ? r->password_hash : NULL;
}

const char *fake_store_username(const char *service, const char *jid)
{
    struct row *r = find(service, jid);
    return r ? r->username : NULL;
}

int fake_store_count(void)
{
    int n = 0;
    for (int i = 0; i < FAKE_MAX; i++)
        n += the_store.rows[i].used;
    return n;
}

static char *dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* The database's username rule, approximated for ASCII test data. */
static bool claim_matches(const struct row *r, const char *claim)
{
    const char *at = strchr(r->jid, '@');

    if (!claim)
        return false;
    if (r->username && strcasecmp(claim, r->username) == 0)
        return true;
    if (strcasecmp(claim, r->jid) == 0)
        return true;
    return !r->username && at && strlen(claim) == (size_t)(at - r->jid) &&
           strncasecmp(claim, r->jid, (size_t)(at - r->jid)) == 0;
}

void store_get(struct store *s, const char *service, const char *jid,
               const char *claim, store_get_cb cb, void *arg)
{
    struct row *r;
    struct store_record rec = {0};

    if (s->down) {
        cb(arg, STORE_UNAVAILABLE, NULL);
        return;
    }
    if (!(r = find(service, jid))) {
        cb(arg, STORE_NOT_FOUND, NULL);
        return;
    }
    rec.service = dup(r->service);
    rec.jid = dup(r->jid);
    rec.username = dup(r->username);
    rec.password_hash = dup(r->password_hash);
    copy_data(&rec.fields, &r->fields);
    rec.state = r->state;
    rec.disabled_reason =
        r->state == STORE_STATE_DISABLED ? dup(r->disabled_reason) : NULL;
    rec.claim_matches = claim_matches(r, claim);
    cb(arg, STORE_OK, &rec);
    store_record_clear(&rec);
}

/* No cache here (its own unit test is test_store_cache.c): a cached get
 * is a get without a claim, for a reply only. */
bool store_set_cache(struct store *s, const char *service, unsigned entries)
{
    (void)s;
    (void)service;
    (void)entries;
    return true;
}

struct cached_get {
    store_get_cb cb;
    void *arg;
};

static void on_cached_get(void *arg, enum store_status st,
                          struct store_record *rec)
{
    struct cached_get *g = arg;

    if (rec) { /* as the real one: no hash in a reply's record */
        free(rec->password_hash);
        rec->password_hash = NULL;
    }
    g->cb(g->arg, st, rec);
}

void store_get_cached(struct store *s, const char *service, const char *jid,
                      store_get_cb cb, void *arg)
{
    struct cached_get g = {cb, arg};

    store_get(s, service, jid, NULL, on_cached_get, &g);
}

/* ---- invitations (as sql/013) ------------------------------------------- */

static struct invite *invite_by_token(const char *service, const char *token)
{
    for (int i = 0; i < FAKE_INVITES; i++) {
        struct invite *v = &the_store.invites[i];
        if (v->used && !strcmp(v->service, service) && !strcmp(v->token, token))
            return v;
    }
    return NULL;
}

static struct invite *invite_bound(const char *service, const char *jid)
{
    for (int i = 0; i < FAKE_INVITES; i++) {
        struct invite *v = &the_store.invites[i];
        if (v->used && v->bound_jid && !strcmp(v->service, service) &&
            !strcmp(v->bound_jid, jid))
            return v;
    }
    return NULL;
}

static bool invite_usable(const struct invite *v, const char *jid, bool expiry)
{
    const char *at = strchr(jid, '@');

    return v && !v->revoked && (!v->max_uses || v->uses < v->max_uses) &&
           (!expiry || !v->expired) &&
           (!v->bound_to || !strcmp(v->bound_to, jid) ||
            (!strchr(v->bound_to, '@') && at && !strcmp(v->bound_to, at + 1)));
}

void store_put(struct store *s, const struct store_put *put, store_put_cb cb,
               void *arg)
{
    struct row *r;
    struct ban *b;
    struct invite *inv = NULL;
    bool created = false;

    if (s->down) {
        cb(arg, STORE_UNAVAILABLE, false, NULL);
        return;
    }
    if (s->remove_before_put) { /* a removal committed since the read */
        s->remove_before_put = false;
        if ((r = find(put->service, put->jid)))
            row_free(r);
    }
    if ((b = find_ban(put->service, put->jid))) { /* as sql/010 */
        cb(arg, STORE_BANNED, false, b->reason);
        return;
    }
    for (int i = 0; put->username && i < FAKE_MAX; i++) {
        struct row *o = &s->rows[i];
        if (o->used && o->username && !strcmp(o->service, put->service) &&
            strcmp(o->jid, put->jid) != 0 &&
            strcasecmp(o->username, put->username) == 0) {
            cb(arg, STORE_CONFLICT, false, NULL);
            return;
        }
    }
    if (put->invite) { /* as sql/013 */
        inv = put->invite_token
                  ? invite_by_token(put->service, put->invite_token)
                  : invite_bound(put->service, put->jid);
        if (put->invite_token && !invite_usable(inv, put->jid, true)) {
            cb(arg, STORE_BAD_INVITE, false, NULL);
            return;
        }
        if (!invite_usable(inv, put->jid, false) ||
            find(put->service, put->jid))
            inv = NULL;
        if (!inv && put->invite_required && !find(put->service, put->jid)) {
            cb(arg, STORE_NO_INVITE, false, NULL);
            return;
        }
    }
    if ((r = find(put->service, put->jid)) &&
        r->state == STORE_STATE_DISABLED) { /* as sql/007 */
        cb(arg, STORE_NOT_ALLOWED, false, r->disabled_reason);
        return;
    }
    if (!(r = find(put->service, put->jid))) {
        for (int i = 0; i < FAKE_MAX && !r; i++)
            if (!s->rows[i].used)
                r = &s->rows[i];
        if (!r) { /* full: like a database that cannot take more */
            cb(arg, STORE_UNAVAILABLE, false, NULL);
            return;
        }
        r->used = true;
        r->service = dup(put->service);
        r->jid = dup(put->jid);
        r->state = put->initial_state;
        if (inv && inv->state)
            r->state = !strcmp(inv->state, "pending") ? STORE_STATE_PENDING
                                                      : STORE_STATE_ACTIVE;
        if (inv) {
            inv->uses++;
            free(inv->bound_jid);
            inv->bound_jid = NULL;
        }
        created = true;
    }
    free(r->username);
    r->username = dup(put->username);
    {
        /* as sql/008: an update keeps the private values it does not
         * hold */
        struct form_data old = r->fields;

        r->fields = (struct form_data){0};
        if (put->fields)
            copy_data(&r->fields, put->fields);
        for (size_t i = 0; put->def && i < put->def->nfields; i++) {
            const struct form_field_def *f = &put->def->fields[i];
            const char *kept = form_data_first(&old, f->var);

            if (f->type == FORM_TEXT_PRIVATE &&
                strcmp(f->var, "password") != 0 && kept &&
                !(put->fields && form_data_get(put->fields, f->var)))
                form_data_add(&r->fields, f->var, kept);
        }
        form_data_clear(&old);
    }
    if (put->password_hash) {
        free(r->password_hash);
        r->password_hash = dup(put->password_hash);
    }
    note_origin(s, &put->origin);
    s->last_nconsents = put->nconsents;
    if (created && put->started)
        *put->started = r->state;
    cb(arg, STORE_OK, created, NULL);
}

void store_set_password(struct store *s, const char *service, const char *jid,
                        const char *hash, const struct store_origin *origin,
                        store_done_cb cb, void *arg)
{
    note_origin(s, origin);
    struct row *r;

    if (s->down) {
        cb(arg, STORE_UNAVAILABLE, false);
        return;
    }
    if (!(r = find(service, jid))) {
        cb(arg, STORE_NOT_FOUND, false);
        return;
    }
    if (r->state == STORE_STATE_DISABLED) { /* as sql/007 */
        cb(arg, STORE_NOT_ALLOWED, false);
        return;
    }
    free(r->password_hash);
    r->password_hash = dup(hash);
    cb(arg, STORE_OK, false);
}

void store_remove(struct store *s, const char *service, const char *jid,
                  const struct store_origin *origin, store_done_cb cb,
                  void *arg)
{
    note_origin(s, origin);
    struct row *r;

    if (s->down) {
        cb(arg, STORE_UNAVAILABLE, false);
        return;
    }
    if (!(r = find(service, jid))) {
        cb(arg, STORE_NOT_FOUND, false);
        return;
    }
    if (r->state == STORE_STATE_DISABLED && !(origin && origin->actor)) {
        /* the user's own removal of a disabled registration: a ban */
        for (int i = 0; i < FAKE_MAX; i++) {
            struct ban *b = &s->bans[i];
            if (!b->used) {
                b->used = true;
                b->service = dup(service);
                b->jid = dup(jid);
                b->reason = dup(r->disabled_reason);
                break;
            }
        }
    }
    row_free(r);
    cb(arg, STORE_OK, false);
}

void store_unban(struct store *s, const char *service, const char *jid,
                 const struct store_origin *origin, store_done_cb cb, void *arg)
{
    struct ban *b;

    if (s->down) {
        cb(arg, STORE_UNAVAILABLE, false);
        return;
    }
    if (!(b = find_ban(service, jid))) {
        cb(arg, STORE_NOT_FOUND, false);
        return;
    }
    note_origin(s, origin);
    ban_free(b);
    cb(arg, STORE_OK, false);
}

int fake_store_state(const char *service, const char *jid)
{
    struct row *r = find(service, jid);
    return r ? (int)r->state : -1;
}

void store_set_state(struct store *s, const char *service, const char *jid,
                     enum store_state state, const enum store_state *from,
                     const struct store_origin *origin, store_done_cb cb,
                     void *arg)
{
    struct row *r;

    if (s->down) {
        cb(arg, STORE_UNAVAILABLE, false);
        return;
    }
    if (!(r = find(service, jid))) {
        cb(arg, STORE_NOT_FOUND, false);
        return;
    }
    if (from && r->state != *from) {
        cb(arg, STORE_NOT_ALLOWED, false);
        return;
    }
    note_origin(s, origin);
    if (r->state != state && state != STORE_STATE_PENDING &&
        s->nchanges < FAKE_CHANGES)
        s->changes[s->nchanges++] =
            (struct change){.service = dup(service),
                            .jid = dup(jid),
                            .reason = state == STORE_STATE_DISABLED && origin
                                          ? dup(origin->reason)
                                          : NULL,
                            .state = state};
    r->state = state;
    free(r->disabled_reason);
    r->disabled_reason =
        state == STORE_STATE_DISABLED && origin ? dup(origin->reason) : NULL;
    cb(arg, STORE_OK, false);
    if (s->notify_cb) /* the commit's notification */
        s->notify_cb(s->notify_arg, "{\"id\": 1, \"count\": 1}");
}

/* The state changes of store_set_state not claimed yet, in order; at
 * most max. */
void store_claim_state_changes(struct store *s, const char *service,
                               unsigned max, store_changes_cb cb, void *arg)
{
    struct store_state_change c[FAKE_CHANGES];
    size_t n = 0;

    if (s->down) {
        cb(arg, STORE_UNAVAILABLE, NULL, 0);
        return;
    }
    for (size_t i = 0; i < s->nchanges && n < max; i++) {
        struct change *ch = &s->changes[i];
        struct row *r;

        if (ch->claimed || strcmp(ch->service, service) != 0)
            continue;
        ch->claimed = true;
        r = find(service, ch->jid);
        c[n++] = (struct store_state_change){.event_id = (long long)i + 1,
                                             .jid = ch->jid,
                                             .username = r ? r->username : NULL,
                                             .state = ch->state,
                                             .reason = ch->reason};
    }
    cb(arg, STORE_OK, c, n);
}

void store_set_notify(struct store *s, store_notify_cb cb, void *arg)
{
    s->notify_cb = cb;
    s->notify_arg = arg;
}

static bool row_in(const struct row *r, const char *service,
                   const enum store_state *state)
{
    return r->used && !strcmp(r->service, service) &&
           (!state || r->state == *state);
}

void store_count(struct store *s, const char *service,
                 const enum store_state *state, store_count_cb cb, void *arg)
{
    unsigned long n = 0;

    if (s->down) {
        cb(arg, STORE_UNAVAILABLE, 0);
        return;
    }
    for (int i = 0; i < FAKE_MAX; i++)
        n += row_in(&s->rows[i], service, state);
    cb(arg, STORE_OK, n);
}

void store_count_states(struct store *s, const char *service,
                        store_states_cb cb, void *arg)
{
    unsigned long counts[STORE_NSTATES] = {0};

    if (s->down) {
        cb(arg, STORE_UNAVAILABLE, counts);
        return;
    }
    for (int i = 0; i < FAKE_MAX; i++)
        if (row_in(&s->rows[i], service, NULL))
            counts[s->rows[i].state]++;
    cb(arg, STORE_OK, counts);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void store_list(struct store *s, const char *service,
                const enum store_state *state, unsigned max, store_list_cb cb,
                void *arg)
{
    char *jids[FAKE_MAX];
    size_t n = 0;

    if (s->down) {
        cb(arg, STORE_UNAVAILABLE, NULL, 0);
        return;
    }
    for (int i = 0; i < FAKE_MAX; i++)
        if (row_in(&s->rows[i], service, state))
            jids[n++] = s->rows[i].jid;
    qsort(jids, n, sizeof(jids[0]), cmp_str);
    if (max && n > max)
        n = max;
    cb(arg, STORE_OK, jids, n);
}

void store_list_bans(struct store *s, const char *service, unsigned max,
                     store_list_cb cb, void *arg)
{
    char *jids[FAKE_MAX];
    size_t n = 0;

    if (s->down) {
        cb(arg, STORE_UNAVAILABLE, NULL, 0);
        return;
    }
    for (int i = 0; i < FAKE_MAX; i++)
        if (s->bans[i].used && !strcmp(s->bans[i].service, service))
            jids[n++] = s->bans[i].jid;
    qsort(jids, n, sizeof(jids[0]), cmp_str);
    if (max && n > max)
        n = max;
    cb(arg, STORE_OK, jids, n);
}

void store_count_bans(struct store *s, const char *service, store_count_cb cb,
                      void *arg)
{
    unsigned long n = 0;

    if (s->down) {
        cb(arg, STORE_UNAVAILABLE, 0);
        return;
    }
    for (int i = 0; i < FAKE_MAX; i++)
        n += s->bans[i].used && !strcmp(s->bans[i].service, service);
    cb(arg, STORE_OK, n);
}

/* ---- the admin command line's (admin.c): tables ------------------------- */

/* A table as struct store_table lays it out: cells and the row's JSON,
 * built with open_memstream; times are not kept here (NULL). */
#define FAKE_TABLE_COLS 12

struct fake_table {
    size_t ncols, nrows, cap;
    char *names[FAKE_TABLE_COLS];
    char **rows; /* nrows * (ncols + 1) */
};

static void table_start(struct fake_table *t, const char *const *names,
                        size_t ncols)
{
    memset(t, 0, sizeof(*t));
    t->ncols = ncols;
    for (size_t c = 0; c < ncols; c++)
        t->names[c] = (char *)names[c];
}

static void json_str(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* Appends a row of ncols cells (borrowed); numbers[c]: cell c is a JSON
 * number or literal (true, a JSON object...), not a string. */
static void table_row(struct fake_table *t, const char *const *cells,
                      const bool *numbers)
{
    size_t k = t->ncols + 1, len = 0;
    char *json = NULL;
    FILE *f;

    if (t->nrows * k + k > t->cap) {
        t->cap = (t->nrows + 8) * k;
        t->rows = realloc(t->rows, t->cap * sizeof(*t->rows));
    }
    f = open_memstream(&json, &len);
    for (size_t c = 0; c < t->ncols; c++) {
        t->rows[t->nrows * k + c] = dup(cells[c]);
        fprintf(f, "%s\"%s\": ", c ? ", " : "{", t->names[c]);
        if (numbers && numbers[c] && cells[c])
            fputs(cells[c], f);
        else
            json_str(f, cells[c]);
    }
    fputs("}", f);
    fclose(f);
    t->rows[t->nrows * k + t->ncols] = json;
    t->nrows++;
}

static void table_answer(struct fake_table *t, store_table_cb cb, void *arg)
{
    struct store_table st = {.nrows = t->nrows,
                             .ncols = t->ncols,
                             .names = t->names,
                             .rows = t->rows};

    cb(arg, STORE_OK, &st);
    for (size_t i = 0; i < t->nrows * (t->ncols + 1); i++)
        free(t->rows[i]);
    free(t->rows);
}

static int cmp_rows(const void *a, const void *b)
{
    return strcmp((*(struct row *const *)a)->jid,
                  (*(struct row *const *)b)->jid);
}

void store_registrations(struct store *s, const char *service,
                         const enum store_state *state, store_table_cb cb,
                         void *arg)
{
    static const char *const names[] = {"jid", "state", "username",
                                        "created_at", "disabled_reason"};
    static struct row *rows[FAKE_MAX];
    struct fake_table t;
    size_t n = 0;

    if (s->down) {
        cb(arg, STORE_UNAVAILABLE, NULL);
        return;
    }
    for (int i = 0; i < FAKE_MAX; i++)
        if (row_in(&s->rows[i], service, state))
            rows[n++] = &s->rows[i];
    qsort(rows, n, sizeof(rows[0]), cmp_rows);
    table_start(&t, names, 5);
    for (size_t i = 0; i < n; i++) {
        const char *cells[] = {rows[i]->jid, store_state_name(rows[i]->state),
                               rows[i]->username, NULL,
                               rows[i]->disabled_reason};
        table_row(&t, cells, NULL);
    }
    table_answer(&t, cb, arg);
}

void store_bans(struct store *s, const char *service, store_table_cb cb,
                void *arg)
{
    static const char *const names[] = {"jid", "since", "actor", "reason"};
    struct fake_table t;

    if (s->down) {
        cb(arg, STORE_UNAVAILABLE, NULL);
        return;
    }
    table_start(&t, names, 4);
    for (int i = 0; i < FAKE_MAX; i++)
        if (s->bans[i].used && !strcmp(s->bans[i].service, service)) {
            const char *cells[] = {s->bans[i].jid, NULL, NULL,
                                   s->bans[i].reason};
            table_row(&t, cells, NULL);
        }
    table_answer(&t, cb, arg);
}

/* The fields of r as a JSON object (caller frees). */
static char *fields_json(const struct row *r)
{
    char *json = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&json, &len);

    fputs("{", f);
    for (size_t i = 0; i < r->fields.n; i++) {
        fputs(i ? ", " : "", f);
        json_str(f, r->fields.items[i].var);
        fputs(": ", f);
        json_str(f, r->fields.items[i].nvalues ? r->fields.items[i].values[0]
                                               : "");
    }
    fputs("}", f);
    fclose(f);
    return json;
}

void store_registration(struct store *s, const char *service, const char *jid,
                        store_table_cb cb, void *arg)
{
    static const char *const names[] = {
        "service",    "jid",          "username",    "state",
        "fields",     "has_password", "consents",    "created_at",
        "updated_at", "disabled_at",  "disabled_by", "disabled_reason"};
    static const bool numbers[] = {false, false, false, false, true,  true,
                                   true,  false, false, false, false, false};
    struct fake_table t;
    struct row *r;
    char *fields;

    if (s->down) {
        cb(arg, STORE_UNAVAILABLE, NULL);
        return;
    }
    if (!(r = find(service, jid))) {
        cb(arg, STORE_NOT_FOUND, NULL);
        return;
    }
    fields = fields_json(r);
    {
        const char *cells[] = {r->service,  r->jid,
                               r->username, store_state_name(r->state),
                               fields,      r->password_hash ? "true" : "false",
                               "{}",        NULL,
                               NULL,        NULL,
                               NULL,        r->disabled_reason};
        table_start(&t, names, 12);
        table_row(&t, cells, numbers);
    }
    free(fields);
    table_answer(&t, cb, arg);
}

/* The fake keeps no events: none after any id. */
void store_events_since(struct store *s, const char *service, const char *jid,
                        unsigned long long after_id, unsigned max,
                        store_table_cb cb, void *arg)
{
    static const char *const names[] = {"id",    "at",    "service", "jid",
                                        "event", "iq_id", "detail"};
    struct fake_table t;

    (void)service;
    (void)jid;
    (void)after_id;
    (void)max;
    if (s->down) {
        cb(arg, STORE_UNAVAILABLE, NULL);
        return;
    }
    table_start(&t, names, 7);
    table_answer(&t, cb, arg);
}

/* How many rows and bans of jid there are in every service. */
static void count_jid(struct store *s, const char *jid, unsigned long *rows,
                      unsigned long *bans)
{
    *rows = *bans = 0;
    for (int i = 0; i < FAKE_MAX; i++) {
        *rows += s->rows[i].used && !strcmp(s->rows[i].jid, jid);
        *bans += s->bans[i].used && !strcmp(s->bans[i].jid, jid);
    }
}

static void counts_row(struct fake_table *t, unsigned long rows,
                       unsigned long bans, const char *json)
{
    static const char *const names[] = {"registrations", "bans", "events"};
    static const bool numbers[] = {true, true, true};
    char r[24], b[24];
    const char *cells[] = {r, b, "0"};

    snprintf(r, sizeof(r), "%lu", rows);
    snprintf(b, sizeof(b), "%lu", bans);
    table_start(t, names, 3);
    table_row(t, cells, numbers);
    if (json) { /* the export's document instead of the counts */
        free(t->rows[3]);
        t->rows[3] = dup(json);
    }
}

void store_export(struct store *s, const char *jid, store_table_cb cb,
                  void *arg)
{
    struct fake_table t;
    unsigned long rows, bans;
    char *doc = NULL;
    size_t len = 0;
    FILE *f;

    if (s->down) {
        cb(arg, STORE_UNAVAILABLE, NULL);
        return;
    }
    count_jid(s, jid, &rows, &bans);
    if (!rows && !bans) {
        cb(arg, STORE_NOT_FOUND, NULL);
        return;
    }
    f = open_memstream(&doc, &len);
    fputs("{\"jid\": ", f);
    json_str(f, jid);
    fputs(", \"registrations\": [", f);
    for (int i = 0, n = 0; i < FAKE_MAX; i++)
        if (s->rows[i].used && !strcmp(s->rows[i].jid, jid)) {
            char *fields = fields_json(&s->rows[i]);

            fprintf(f, "%s{\"service\": ", n++ ? ", " : "");
            json_str(f, s->rows[i].service);
            fprintf(f, ", \"state\": \"%s\", \"fields\": %s}",
                    store_state_name(s->rows[i].state), fields);
            free(fields);
        }
    fputs("], \"bans\": [", f);
    for (int i = 0, n = 0; i < FAKE_MAX; i++)
        if (s->bans[i].used && !strcmp(s->bans[i].jid, jid)) {
            fprintf(f, "%s{\"service\": ", n++ ? ", " : "");
            json_str(f, s->bans[i].service);
            fputs("}", f);
        }
    fputs("], \"events\": []}", f);
    fclose(f);
    counts_row(&t, rows, bans, doc);
    free(doc);
    table_answer(&t, cb, arg);
}

void store_forget(struct store *s, const char *jid, store_table_cb cb,
                  void *arg)
{
    struct fake_table t;
    unsigned long rows, bans;

    if (s->down) {
        cb(arg, STORE_UNAVAILABLE, NULL);
        return;
    }
    count_jid(s, jid, &rows, &bans);
    if (!rows && !bans) {
        cb(arg, STORE_NOT_FOUND, NULL);
        return;
    }
    for (int i = 0; i < FAKE_MAX; i++) {
        if (s->rows[i].used && !strcmp(s->rows[i].jid, jid))
            row_free(&s->rows[i]);
        if (s->bans[i].used && !strcmp(s->bans[i].jid, jid))
            ban_free(&s->bans[i]);
    }
    counts_row(&t, rows, bans, NULL);
    table_answer(&t, cb, arg);
}

void store_stats(struct store *s, const char *service, store_table_cb cb,
                 void *arg)
{
    static const char *const names[] = {
        "service",  "registrations", "active",        "pending",
        "disabled", "banned",        "oldest_pending"};
    static const bool numbers[] = {false, true, true, true, true, true, false};
    unsigned long n[5] = {0};
    char text[5][24];
    struct fake_table t;

    if (s->down) {
        cb(arg, STORE_UNAVAILABLE, NULL);
        return;
    }
    for (int i = 0; i < FAKE_MAX; i++) {
        if (row_in(&s->rows[i], service, NULL)) {
            n[0]++;
            n[1] += s->rows[i].state == STORE_STATE_ACTIVE;
            n[2] += s->rows[i].state == STORE_STATE_PENDING;
            n[3] += s->rows[i].state == STORE_STATE_DISABLED;
        }
        n[4] += s->bans[i].used && !strcmp(s->bans[i].service, service);
    }
    for (int i = 0; i < 5; i++)
        snprintf(text[i], sizeof(text[i]), "%lu", n[i]);
    {
        const char *cells[] = {service, text[0], text[1], text[2],
                               text[3], text[4], NULL};
        table_start(&t, names, 7);
        table_row(&t, cells, numbers);
    }
    table_answer(&t, cb, arg);
}

/* ---- a store for the admin command line (admin.c) ----------------------- */

/* The one in-memory store, whatever the conninfo. */
struct store *store_new(const char *conninfo)
{
    (void)conninfo;
    return &the_store;
}

void store_close(struct store *s)
{
    (void)s;
}

void store_set_statement_timeout(struct store *s, unsigned seconds)
{
    (void)s;
    (void)seconds;
}

enum store_status store_prepare(struct store *s)
{
    return s->down ? STORE_UNAVAILABLE : STORE_OK;
}

/* ---- invitations (as sql/013) ------------------------------------------- */

void fake_store_invite_expire(const char *token)
{
    for (int i = 0; i < FAKE_INVITES; i++)
        if (the_store.invites[i].used &&
            !strcmp(the_store.invites[i].token, token))
            the_store.invites[i].expired = true;
}

unsigned fake_store_invite_uses(const char *token)
{
    for (int i = 0; i < FAKE_INVITES; i++)
        if (the_store.invites[i].used &&
            !strcmp(the_store.invites[i].token, token))
            return the_store.invites[i].uses;
    return 0;
}

void store_invite_create(struct store *s, const struct store_invite *in,
                         store_table_cb cb, void *arg)
{
    static const char *const names[] = {"id", "token", "expires_at",
                                        "event_id"};
    static const bool numbers[] = {true, false, false, true};
    struct fake_table t;
    struct invite *v = NULL;
    char id[32], made[64];
    const char *cells[4];

    if (s->down) {
        cb(arg, STORE_UNAVAILABLE, NULL);
        return;
    }
    for (int i = 0; i < FAKE_INVITES && !v; i++)
        if (!s->invites[i].used)
            v = &s->invites[i];
    if (!v) {
        cb(arg, STORE_UNAVAILABLE, NULL);
        return;
    }
    snprintf(id, sizeof(id), "%llu", ++s->invite_seq);
    snprintf(made, sizeof(made), "fake-token-made-by-the-store-%llu",
             s->invite_seq);
    *v = (struct invite){.used = true,
                         .service = dup(in->service),
                         .token = dup(in->token ? in->token : made),
                         .bound_to = dup(in->bound_to),
                         .state = dup(in->initial_state),
                         .label = dup(in->label),
                         .max_uses = in->max_uses};
    if (in->fields)
        copy_data(&v->fields, in->fields);
    note_origin(s, &in->origin);
    cells[0] = id;
    cells[1] = v->token;
    cells[2] = in->ttl_s ? "2030-01-01T00:00:00Z" : NULL;
    cells[3] = id;
    table_start(&t, names, 4);
    table_row(&t, cells, numbers);
    table_answer(&t, cb, arg);
}

void store_invite_list(struct store *s, const char *service, unsigned max,
                       store_table_cb cb, void *arg)
{
    static const char *const names[] = {"id",   "label", "max_uses",
                                        "uses", "state", "bound_to"};
    static const bool numbers[] = {true, false, true, true, false, false};
    struct fake_table t;
    unsigned n = 0;

    if (s->down) {
        cb(arg, STORE_UNAVAILABLE, NULL);
        return;
    }
    table_start(&t, names, 6);
    for (int i = FAKE_INVITES - 1; i >= 0 && (!max || n < max); i--) {
        struct invite *v = &s->invites[i];
        char id[32], mx[32], uses[32];
        const char *cells[6];

        if (!v->used || strcmp(v->service, service) != 0)
            continue;
        snprintf(id, sizeof(id), "%d", i + 1);
        snprintf(mx, sizeof(mx), "%u", v->max_uses);
        snprintf(uses, sizeof(uses), "%u", v->uses);
        cells[0] = id;
        cells[1] = v->label;
        cells[2] = v->max_uses ? mx : NULL;
        cells[3] = uses;
        cells[4] = v->revoked                              ? "revoked"
                   : v->max_uses && v->uses >= v->max_uses ? "used"
                   : v->expired                            ? "expired"
                                                           : "usable";
        cells[5] = v->bound_to;
        table_row(&t, cells, numbers);
        n++;
    }
    table_answer(&t, cb, arg);
}

void store_invite_revoke(struct store *s, const char *service,
                         unsigned long long id,
                         const struct store_origin *origin, store_done_cb cb,
                         void *arg)
{
    struct invite *v =
        id >= 1 && id <= FAKE_INVITES ? &s->invites[id - 1] : NULL;

    if (s->down) {
        cb(arg, STORE_UNAVAILABLE, false);
        return;
    }
    if (!v || !v->used || strcmp(v->service, service) != 0 || v->revoked) {
        cb(arg, STORE_NOT_FOUND, false);
        return;
    }
    v->revoked = true;
    free(v->bound_jid);
    v->bound_jid = NULL;
    note_origin(s, origin);
    cb(arg, STORE_OK, false);
}

void store_invite_bind(struct store *s, const char *service, const char *token,
                       const char *jid, unsigned long ttl_s, store_done_cb cb,
                       void *arg)
{
    struct invite *v = invite_by_token(service, token), *old;

    (void)ttl_s;
    if (s->down) {
        cb(arg, STORE_UNAVAILABLE, false);
        return;
    }
    if (!invite_usable(v, jid, true)) {
        cb(arg, STORE_BAD_INVITE, false);
        return;
    }
    if ((old = invite_bound(service, jid))) {
        free(old->bound_jid);
        old->bound_jid = NULL;
    }
    free(v->bound_jid);
    v->bound_jid = dup(jid);
    cb(arg, STORE_OK, false);
}

void store_invite_prefill(struct store *s, const char *service, const char *jid,
                          store_get_cb cb, void *arg)
{
    struct invite *v = invite_bound(service, jid);
    struct store_record rec = {0};

    if (s->down) {
        cb(arg, STORE_UNAVAILABLE, NULL);
        return;
    }
    if (!invite_usable(v, jid, false)) {
        cb(arg, STORE_NOT_FOUND, NULL);
        return;
    }
    copy_data(&rec.fields, &v->fields);
    cb(arg, STORE_OK, &rec);
    store_record_clear(&rec);
}

/* ---- challenges (sql/015's behaviour) ------------------------------------ */

static struct failures *failures_of(const char *service, const char *jid,
                                    bool make)
{
    for (int i = 0; i < FAKE_CHALLENGES; i++) {
        struct failures *f = &the_store.failures[i];
        if (f->service && !strcmp(f->service, service) && !strcmp(f->jid, jid))
            return f;
    }
    for (int i = 0; make && i < FAKE_CHALLENGES; i++) {
        struct failures *f = &the_store.failures[i];
        if (!f->service) {
            f->service = dup(service);
            f->jid = dup(jid);
            return f;
        }
    }
    return NULL;
}

void store_challenge_issue(struct store *s, const char *service,
                           const char *jid, unsigned long ttl_s,
                           const char *const *answers, size_t nanswers,
                           const struct store_challenge_image *image,
                           store_challenge_issue_cb cb, void *arg)
{
    struct challenge *c = NULL;

    (void)ttl_s;
    if (s->down) {
        cb(arg, STORE_UNAVAILABLE, NULL);
        return;
    }
    for (int i = 0; i < FAKE_CHALLENGES && !c; i++)
        if (!s->challenges[i].used)
            c = &s->challenges[i];
    if (!c || nanswers < 1 || nanswers > CHALLENGE_MAX_ANSWERS) {
        cb(arg, STORE_ERROR, NULL);
        return;
    }
    c->used = true;
    snprintf(c->id, sizeof(c->id), "c%u", ++s->challenge_seq);
    c->service = dup(service);
    c->jid = dup(jid);
    for (size_t i = 0; i < nanswers; i++)
        c->answers[i] = dup(answers[i]);
    c->nanswers = nanswers;
    if (image && (c->png = malloc(image->len ? image->len : 1))) {
        memcpy(c->png, image->png, image->len);
        c->png_len = image->len;
        c->cid = dup(image->cid);
    }
    cb(arg, STORE_OK, c->id);
}

void store_challenge_check(struct store *s, const char *service,
                           const char *jid, const char *id, const char *answer,
                           unsigned max_failures, unsigned long lockout_s,
                           store_challenge_check_cb cb, void *arg)
{
    struct failures *f = failures_of(service, jid, false);
    struct challenge *c = NULL;
    enum store_challenge out = STORE_CHALLENGE_UNKNOWN;

    (void)lockout_s;
    if (s->down) {
        cb(arg, STORE_UNAVAILABLE, STORE_CHALLENGE_UNKNOWN);
        return;
    }
    if (f && f->locked) {
        cb(arg, STORE_OK, STORE_CHALLENGE_LOCKED);
        return;
    }
    for (int i = 0; i < FAKE_CHALLENGES && !c; i++)
        if (s->challenges[i].used && !strcmp(s->challenges[i].id, id) &&
            !strcmp(s->challenges[i].service, service))
            c = &s->challenges[i];
    if (c && strcmp(c->jid, jid) != 0) {
        out = STORE_CHALLENGE_FOREIGN;
    } else if (c && c->answered) {
        out = STORE_CHALLENGE_USED;
    } else if (c) {
        c->answered = true;
        out = c->expired ? STORE_CHALLENGE_EXPIRED : STORE_CHALLENGE_WRONG;
        for (size_t i = 0; !c->expired && i < c->nanswers; i++)
            if (!strcmp(c->answers[i], answer))
                out = STORE_CHALLENGE_OK;
    }
    if (out == STORE_CHALLENGE_OK) {
        if (f)
            f->n = 0, f->failed = false;
    } else if ((f = failures_of(service, jid, true))) {
        f->failed = true;
        if (max_failures && ++f->n >= max_failures) {
            f->n = 0;
            f->locked = true;
            out = STORE_CHALLENGE_LOCKED;
        }
    }
    cb(arg, STORE_OK, out);
}

void store_challenge_status(struct store *s, const char *service,
                            const char *jid, unsigned long recent_s,
                            store_challenge_status_cb cb, void *arg)
{
    struct failures *f = failures_of(service, jid, false);
    struct store_challenge_status cs = {
        .locked_for_s = f && f->locked ? 60 : 0,
        .failed_recently = f && f->failed,
        .signups_last_minute = s->signups_last_minute,
    };

    (void)recent_s;
    if (s->down) {
        cb(arg, STORE_UNAVAILABLE, NULL);
        return;
    }
    cb(arg, STORE_OK, &cs);
}

void fake_store_challenges_expire(void)
{
    for (int i = 0; i < FAKE_CHALLENGES; i++)
        the_store.challenges[i].expired = true;
}

void fake_store_remove_before_put(void)
{
    the_store.remove_before_put = true;
}

void fake_store_set_signups(unsigned long n)
{
    the_store.signups_last_minute = n;
}

const char *fake_store_challenge_answer(const char *id)
{
    for (int i = 0; i < FAKE_CHALLENGES; i++)
        if (the_store.challenges[i].used &&
            !strcmp(the_store.challenges[i].id, id))
            return the_store.challenges[i].answers[0];
    return NULL;
}

void store_challenge_image(struct store *s, const char *service,
                           const char *cid, store_challenge_image_cb cb,
                           void *arg)
{
    if (s->down) {
        cb(arg, STORE_UNAVAILABLE, NULL, 0, 0);
        return;
    }
    for (int i = 0; i < FAKE_CHALLENGES; i++) {
        struct challenge *c = &s->challenges[i];
        if (c->used && c->cid && !c->expired && !strcmp(c->cid, cid) &&
            !strcmp(c->service, service)) {
            cb(arg, STORE_OK, c->png, c->png_len, 120);
            return;
        }
    }
    cb(arg, STORE_NOT_FOUND, NULL, 0, 0);
}
