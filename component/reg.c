/*
 * reg.c - XEP-0077 In-Band Registration: get, register, update, cancel.
 *
 * Protocol decisions only: what the request asks, whether it is valid, what
 * to store and which reply (with its RFC 6120 condition and legacy code) it
 * gets.  Storage is asked through store.h and answers through a callback
 * carrying the operation, so the flow does not care when it completes.
 * Never logs or echoes a password or a text-private value.
 */
#include "reg.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "secret.h"

/* The elements of the jabber:iq:register schema that carry user data
 * (XEP-0077 section 14; <key/>, <instructions/>, <registered/> and
 * <remove/> are not data). */
static const char *const legacy_fields[] = {
    "username", "nick", "password", "name",  "first", "last",
    "email",    "address", "city",  "state", "zip",   "phone",
    "url",      "date",  "misc",    "text",
};

#define NLEGACY (sizeof(legacy_fields) / sizeof(legacy_fields[0]))

#define TEXT_FORM_ONLY "Use the enclosed form to register."
#define TEXT_LEGACY "Choose a username and password to register."
#define TEXT_REGISTERED                                                      \
    "You are registered. Submit the form again to update your "             \
    "registration, or send <remove/> to cancel it."
#define TEXT_UNAVAILABLE                                                     \
    "The registration database is unavailable; please try again later."

struct reg {
    const struct conf *conf;
    struct store *store;
    struct form_def def;
    bool all_legacy; /* every field has a jabber:iq:register element */
};

/* One request in progress, carried through the store's callbacks. */
struct op {
    struct reg *reg;
    struct iq_req *req;
    char *bare;          /* the requester's bare JID */
    struct form_data data;
    xmpp_stanza_t *query; /* borrowed from req */
};

bool reg_is_legacy_field(const char *var)
{
    for (size_t i = 0; i < NLEGACY; i++)
        if (strcmp(var, legacy_fields[i]) == 0)
            return true;
    return false;
}

struct reg *reg_new(const struct conf *conf, struct store *store)
{
    struct reg *reg = calloc(1, sizeof(*reg));

    if (!reg)
        return NULL;
    reg->conf = conf;
    reg->store = store;
    reg->def = (struct form_def){
        .form_type = REG_NS,
        .title = conf->registration.title,
        .instructions = conf->registration.instructions,
        .fields = conf->registration.fields,
        .nfields = conf->registration.nfields,
    };
    reg->all_legacy = true;
    for (size_t i = 0; i < reg->def.nfields; i++) {
        const struct form_field_def *f = &reg->def.fields[i];
        if (f->type == FORM_FIXED || f->type == FORM_HIDDEN)
            continue;
        if (!reg_is_legacy_field(f->var) || form_type_is_multi(f->type))
            reg->all_legacy = false;
    }
    return reg;
}

void reg_free(struct reg *reg)
{
    free(reg);
}

/* ---- small stanza helpers --------------------------------------------- */

static xmpp_stanza_t *elem(xmpp_ctx_t *ctx, const char *name, const char *ns)
{
    xmpp_stanza_t *e = xmpp_stanza_new(ctx);

    xmpp_stanza_set_name(e, name);
    if (ns)
        xmpp_stanza_set_ns(e, ns);
    return e;
}

/* Appends <name>text</name> (empty when text is NULL) to parent. */
static void add_child_text(xmpp_stanza_t *parent, const char *name,
                           const char *text)
{
    xmpp_ctx_t *ctx = xmpp_stanza_get_context(parent);
    xmpp_stanza_t *e = elem(ctx, name, NULL);

    if (text && *text) {
        xmpp_stanza_t *t = xmpp_stanza_new(ctx);
        xmpp_stanza_set_text(t, text);
        xmpp_stanza_add_child(e, t);
        xmpp_stanza_release(t);
    }
    xmpp_stanza_add_child(parent, e);
    xmpp_stanza_release(e);
}

static void add_child(xmpp_stanza_t *parent, xmpp_stanza_t *child)
{
    if (child) {
        xmpp_stanza_add_child(parent, child);
        xmpp_stanza_release(child);
    }
}

static bool tag_is(xmpp_stanza_t *e, const char *name, const char *ns)
{
    const char *n, *s;

    if (!xmpp_stanza_is_tag(e) || !(n = xmpp_stanza_get_name(e)))
        return false;
    if (strcmp(n, name) != 0)
        return false;
    s = xmpp_stanza_get_ns(e);
    return !ns || (s && strcmp(s, ns) == 0);
}

/* ---- operations -------------------------------------------------------- */

static struct op *op_new(struct reg *reg, struct iq_req *req)
{
    struct op *op = calloc(1, sizeof(*op));
    const char *from = iq_req_from(req);

    if (!op)
        return NULL;
    op->reg = reg;
    op->req = req;
    op->query = iq_req_payload(req);
    if (from) {
        char *bare = xmpp_jid_bare(iq_req_ctx(req), from);
        op->bare = bare ? strdup(bare) : NULL;
        if (bare)
            xmpp_free(iq_req_ctx(req), bare);
    }
    return op;
}

/* Ends op and its request (which must have been answered). */
static void op_done(struct op *op)
{
    iq_req_done(op->req);
    form_data_clear(&op->data);
    free(op->bare);
    free(op);
}

static const char *op_id(const struct op *op)
{
    const char *id = iq_req_id(op->req);
    return id ? id : "";
}

static void reply_unavailable(struct op *op)
{
    iq_req_error(op->req, IQ_INTERNAL_SERVER_ERROR, TEXT_UNAVAILABLE, NULL);
}

/* A copy of a legacy element, without the xmlns the parser repeats on it
 * (it inherits the query's).  Caller owns it. */
static xmpp_stanza_t *copy_without_ns(xmpp_stanza_t *e)
{
    xmpp_stanza_t *copy = xmpp_stanza_copy(e);
    const char *ns = copy ? xmpp_stanza_get_ns(copy) : NULL;

    if (ns && strcmp(ns, REG_NS) == 0)
        xmpp_stanza_del_attribute(copy, "xmlns");
    return copy;
}

/* A copy of the submitted query without any secret in it, for echoing in
 * an error (XEP-0077 examples 7 and 8): legacy elements are copied, a
 * password or text-private element is sent back empty, a data form is left
 * out.  Caller owns it. */
static xmpp_stanza_t *echo_without_secrets(const struct reg *reg,
                                           xmpp_stanza_t *query)
{
    xmpp_stanza_t *copy = elem(xmpp_stanza_get_context(query), "query",
                               REG_NS);

    for (xmpp_stanza_t *c = xmpp_stanza_get_children(query); c;
         c = xmpp_stanza_get_next(c)) {
        const char *name = xmpp_stanza_is_tag(c) ? xmpp_stanza_get_name(c)
                                                 : NULL;
        const struct form_field_def *f;

        if (!name || !reg_is_legacy_field(name))
            continue;
        f = form_def_find(&reg->def, name);
        if (strcmp(name, "password") == 0 ||
            (f && f->type == FORM_TEXT_PRIVATE))
            add_child_text(copy, name, NULL);
        else
            add_child(copy, copy_without_ns(c));
    }
    if (!xmpp_stanza_get_children(copy)) {
        xmpp_stanza_release(copy); /* nothing worth echoing */
        return NULL;
    }
    return copy;
}

/* The blank query for an unregistered requester. */
static xmpp_stanza_t *query_blank(const struct reg *reg, xmpp_ctx_t *ctx)
{
    xmpp_stanza_t *q = elem(ctx, "query", REG_NS);
    const char *instr = reg->def.instructions ? reg->def.instructions
                                              : TEXT_LEGACY;

    if (reg->all_legacy) {
        /* XEP-0077 section 6: form + iq:register fields for legacy
         * clients, when every field has an iq:register element. */
        add_child_text(q, "instructions", instr);
        for (size_t i = 0; i < reg->def.nfields; i++) {
            const struct form_field_def *f = &reg->def.fields[i];
            if (f->type != FORM_FIXED && f->type != FORM_HIDDEN)
                add_child_text(q, f->var, NULL);
        }
    } else {
        /* form + iq:register instructions only */
        add_child_text(q, "instructions", TEXT_FORM_ONLY);
    }
    add_child(q, form_build(ctx, &reg->def, "form", NULL));
    return q;
}

/* The query for a registered requester: <registered/>, the values on file
 * (never a password) and a pre-filled form. */
static xmpp_stanza_t *query_registered(const struct reg *reg,
                                       xmpp_ctx_t *ctx,
                                       const struct store_record *rec)
{
    xmpp_stanza_t *q = elem(ctx, "query", REG_NS);

    add_child(q, elem(ctx, "registered", NULL));
    add_child_text(q, "instructions", TEXT_REGISTERED);
    for (size_t i = 0; i < reg->def.nfields; i++) {
        const struct form_field_def *f = &reg->def.fields[i];
        if (!reg_is_legacy_field(f->var) || form_type_is_multi(f->type))
            continue;
        if (f->type == FORM_TEXT_PRIVATE)
            add_child_text(q, f->var, NULL);
        else
            add_child_text(q, f->var, form_data_first(&rec->fields, f->var));
    }
    add_child(q, form_build(ctx, &reg->def, "form", &rec->fields));
    return q;
}

static void on_get(void *arg, enum store_status st,
                   const struct store_record *rec)
{
    struct op *op = arg;
    xmpp_ctx_t *ctx = iq_req_ctx(op->req);
    xmpp_stanza_t *q = NULL;

    switch (st) {
    case STORE_OK:
        q = query_registered(op->reg, ctx, rec);
        break;
    case STORE_NOT_FOUND:
        q = query_blank(op->reg, ctx);
        break;
    default:
        reply_unavailable(op);
        goto out;
    }
    iq_req_result(op->req, q);
    xmpp_stanza_release(q);
out:
    op_done(op);
}

/* ---- cancel ------------------------------------------------------------ */

static void on_removed(void *arg, enum store_status st, bool created)
{
    struct op *op = arg;

    (void)created;
    switch (st) {
    case STORE_OK:
        log_info("reg", "%s cancelled the registration with %s (id=%s)",
                 op->bare, op->reg->conf->component.jid, op_id(op));
        iq_req_result(op->req, NULL);
        break;
    case STORE_NOT_FOUND:
        iq_req_error(op->req, IQ_REGISTRATION_REQUIRED,
                     "You are not registered with this service.", NULL);
        break;
    default:
        reply_unavailable(op);
    }
    op_done(op);
}

static void handle_remove(struct op *op)
{
    store_remove(op->reg->store, op->reg->conf->component.jid, op->bare,
                 on_removed, op);
}

/* ---- register or update ------------------------------------------------ */

static void on_put(void *arg, enum store_status st, bool created)
{
    struct op *op = arg;

    switch (st) {
    case STORE_OK:
        log_info("reg", "%s %s with %s (id=%s)", op->bare,
                 created ? "registered" : "updated the registration",
                 op->reg->conf->component.jid, op_id(op));
        iq_req_result(op->req, NULL);
        break;
    case STORE_CONFLICT: {
        xmpp_stanza_t *echo = echo_without_secrets(op->reg, op->query);
        log_info("reg", "%s asked for a username that is taken (id=%s)",
                 op->bare, op_id(op));
        iq_req_error(op->req, IQ_CONFLICT, "That username is already taken.",
                     echo);
        if (echo)
            xmpp_stanza_release(echo);
        break;
    }
    default:
        reply_unavailable(op);
    }
    op_done(op);
}

/* Replaces every text-private value in data by its hash; on an update, a
 * private field left out keeps the stored hash.  The password field is
 * taken out of data into *password_hash.  False on a hashing failure. */
static bool hash_secrets(struct op *op, const struct store_record *stored,
                         char password_hash[SECRET_HASH_MAX],
                         bool *has_password)
{
    const struct form_def *def = &op->reg->def;

    *has_password = false;
    for (size_t i = 0; i < def->nfields; i++) {
        const struct form_field_def *f = &def->fields[i];
        const struct form_value *v = form_data_get(&op->data, f->var);
        char hash[SECRET_HASH_MAX];
        bool is_password = strcmp(f->var, "password") == 0;

        if (f->type != FORM_TEXT_PRIVATE)
            continue;
        if (!v || v->nvalues == 0) {
            const char *kept = stored && !is_password
                                   ? form_data_first(&stored->fields, f->var)
                                   : NULL;
            if (kept && !form_data_add(&op->data, f->var, kept))
                return false;
            continue;
        }
        if (!secret_hash(v->values[0], SECRET_DEFAULT_COST, hash))
            return false;
        secret_wipe(v->values[0]);
        form_data_remove(&op->data, f->var);
        if (is_password) {
            strcpy(password_hash, hash);
            *has_password = true;
        } else if (!form_data_add(&op->data, f->var, hash)) {
            return false;
        }
    }
    return true;
}

static void on_get_for_set(void *arg, enum store_status st,
                           const struct store_record *rec)
{
    struct op *op = arg;
    struct form_problem problem = {{0}};
    enum form_status fs;
    char password_hash[SECRET_HASH_MAX];
    bool has_password;
    char *json;

    if (st != STORE_OK && st != STORE_NOT_FOUND) {
        reply_unavailable(op);
        op_done(op);
        return;
    }
    fs = form_validate(&op->reg->def, &op->data, st == STORE_OK, &problem);
    if (fs != FORM_OK) {
        xmpp_stanza_t *echo = echo_without_secrets(op->reg, op->query);
        log_info("reg", "refused registration from %s (id=%s): %s",
                 op->bare, op_id(op), problem.text);
        iq_req_error(op->req,
                     fs == FORM_BAD_REQUEST ? IQ_BAD_REQUEST
                                            : IQ_NOT_ACCEPTABLE,
                     problem.text, echo);
        if (echo)
            xmpp_stanza_release(echo);
        op_done(op);
        return;
    }
    if (!hash_secrets(op, rec, password_hash, &has_password)) {
        log_error("reg", "cannot hash a secret for %s (id=%s)", op->bare,
                  op_id(op));
        iq_req_error(op->req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        op_done(op);
        return;
    }
    json = form_data_to_json(&op->reg->def, &op->data);
    if (!json) {
        iq_req_error(op->req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        op_done(op);
        return;
    }
    struct store_put put = {
        .service = op->reg->conf->component.jid,
        .jid = op->bare,
        .username = form_data_first(&op->data, "username"),
        .fields_json = json,
        .password_hash = has_password ? password_hash : NULL,
    };
    store_put(op->reg->store, &put, on_put, op);
    explicit_bzero(password_hash, sizeof(password_hash));
    free(json);
}

/* Reads the legacy iq:register elements of the query into op->data. */
static bool read_legacy(struct op *op)
{
    xmpp_ctx_t *ctx = iq_req_ctx(op->req);
    bool any = false;

    for (xmpp_stanza_t *c = xmpp_stanza_get_children(op->query); c;
         c = xmpp_stanza_get_next(c)) {
        const char *name = xmpp_stanza_is_tag(c) ? xmpp_stanza_get_name(c)
                                                 : NULL;
        char *text;
        bool ok;

        if (!name || !reg_is_legacy_field(name))
            continue;
        if (form_data_get(&op->data, name)) {
            /* the same element twice: a single value is expected */
            form_data_add(&op->data, name, "");
            continue;
        }
        text = xmpp_stanza_get_text(c);
        ok = form_data_add(&op->data, name, text ? text : "");
        if (text) {
            secret_wipe(text);
            xmpp_free(ctx, text);
        }
        if (!ok)
            return false;
        any = true;
    }
    return any;
}

static void handle_set(struct op *op)
{
    xmpp_stanza_t *x = NULL, *remove = NULL;
    size_t nchildren = 0;
    struct form_problem problem = {{0}};

    for (xmpp_stanza_t *c = xmpp_stanza_get_children(op->query); c;
         c = xmpp_stanza_get_next(c)) {
        if (!xmpp_stanza_is_tag(c))
            continue;
        nchildren++;
        if (tag_is(c, "remove", NULL))
            remove = c;
        else if (tag_is(c, "x", FORM_NS) && !x)
            x = c;
    }
    if (remove) {
        if (nchildren != 1) {
            iq_req_error(op->req, IQ_BAD_REQUEST,
                         "<remove/> must be the only child of <query/>.",
                         NULL);
            op_done(op);
            return;
        }
        handle_remove(op);
        return;
    }
    if (x) {
        /* XEP-0077 section 7: the form takes precedence over legacy
         * fields sent beside it. */
        switch (form_parse(x, &op->data, &problem)) {
        case FORM_OK:
            break;
        case FORM_CANCEL:
            iq_req_result(op->req, NULL);
            op_done(op);
            return;
        default:
            iq_req_error(op->req, IQ_BAD_REQUEST, problem.text, NULL);
            op_done(op);
            return;
        }
    } else if (!read_legacy(op)) {
        iq_req_error(op->req, IQ_BAD_REQUEST,
                     "No registration data: submit the form or the fields.",
                     NULL);
        op_done(op);
        return;
    }
    store_get(op->reg->store, op->reg->conf->component.jid, op->bare,
              on_get_for_set, op);
}

void reg_handle(struct reg *reg, struct iq_req *req)
{
    const char *type = iq_req_type(req);
    struct op *op = op_new(reg, req);

    if (!op) {
        iq_req_error(req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        iq_req_done(req);
        return;
    }
    if (!op->bare || !op->query) {
        iq_req_error(req, IQ_BAD_REQUEST, "The request has no sender.",
                     NULL);
        op_done(op);
        return;
    }
    if (strcmp(type, "get") == 0)
        store_get(reg->store, reg->conf->component.jid, op->bare, on_get,
                  op);
    else
        handle_set(op);
}
