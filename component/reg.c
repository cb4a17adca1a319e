/*
 * reg.c - XEP-0077 In-Band Registration: get, register, update, cancel
 * (plain or with proof), password change (legacy or form), redirection,
 * access policy and rate limits.
 *
 * Protocol decisions only: what the request asks, whether it is allowed
 * and valid, what to store and which reply it gets (RFC 6120 condition and
 * legacy code).  Storage is asked through store.h and bcrypt runs through
 * env->offload, both answering through callbacks that carry the operation,
 * so no flow cares when they complete.  Never logs or echoes a password or
 * a text-private value.
 */
#include "reg.h"

#include <stdlib.h>
#include <string.h>

#include "limit.h"
#include "log.h"
#include "policy.h"
#include "secret.h"
#include "text.h"
#include "xml.h"

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
#define TEXT_NOT_REGISTERED "You are not registered with this service."

#define INFLIGHT_SLOTS 256

struct jid_count {
    struct jid_count *next;
    unsigned n;
    char jid[];
};

struct reg {
    const struct conf *conf;
    struct store *store;
    struct reg_env env;
    struct limiter *limiter;
    struct form_def def;
    bool all_legacy;   /* every field has a jabber:iq:register element */
    bool has_password; /* the form has a "password" field */
    bool has_username;
    /* the jabber:iq:register:changepassword and :cancel forms */
    struct form_field_def *pw_fields, *cancel_fields;
    struct form_def pw_def, cancel_def;
    /* a legacy password change is validated as a form of these two */
    struct form_field_def legacy_pw_fields[2];
    struct form_def legacy_pw_def;
    unsigned inflight; /* ops not yet done */
    /* requests in flight per bare JID (entries with n > 0 only) */
    struct jid_count *by_jid[INFLIGHT_SLOTS];
    /* refusals over the in-flight caps, logged once a second */
    unsigned capped;
    double capped_logged_at;
};

/* One bcrypt step for the field var, done off the loop: verify plain
 * against hash, or (hash NULL) make a hash of plain into out.  var is
 * borrowed from the form definitions, plain and hash from the op, which
 * the loop does not change while the job runs. */
struct task {
    const char *var;
    const char *plain;
    const char *hash;
    char out[SECRET_HASH_MAX];
    enum secret_check check; /* for a verification */
    bool ok;                 /* hashed, or verified as a match */
};

/* One request in progress, carried through the callbacks. */
struct op {
    struct reg *reg;
    struct iq_req *req;
    char *bare;           /* the requester's bare JID */
    xmpp_stanza_t *query; /* borrowed from req */
    char *claim;          /* the username given, trimmed, or NULL */
    struct form_data data;
    bool legacy;          /* data came as iq:register elements */
    bool registered;
    struct store_record rec; /* what is on file, when registered */
    struct task *tasks;      /* sized by what the request needs */
    size_t ntasks;
    bool tasks_oom;
    unsigned cost; /* bcrypt cost, copied for the worker thread */
    void (*after)(struct op *op); /* continues once the tasks are done */
    bool proof_failed; /* a proof compared in clear did not match */
    bool secret_changed; /* an update sets a secret other than on file */
    char problem[64];    /* why the legacy elements were refused */
    char password_hash[SECRET_HASH_MAX];
    bool has_password_hash;
};

bool reg_is_legacy_field(const char *var)
{
    for (size_t i = 0; i < NLEGACY; i++)
        if (strcmp(var, legacy_fields[i]) == 0)
            return true;
    return false;
}

/* ---- set-up ------------------------------------------------------------ */

/* A required copy of the registration field var (strings borrowed). */
static struct form_field_def proof_field(const struct reg *reg,
                                         const char *var)
{
    struct form_field_def f = *form_def_find(&reg->def, var);

    f.required = true;
    return f;
}

static bool build_side_forms(struct reg *reg)
{
    const struct conf_registration *r = &reg->conf->registration;
    size_t n = 0;

    reg->pw_fields = calloc(3 + r->password_change_proof.n,
                            sizeof(*reg->pw_fields));
    reg->cancel_fields =
        calloc(2 + r->remove_proof.n, sizeof(*reg->cancel_fields));
    if (!reg->pw_fields || !reg->cancel_fields)
        return false;
    reg->pw_fields[n++] = (struct form_field_def){
        .var = "username", .type = FORM_TEXT_SINGLE, .label = "Username",
        .required = true};
    reg->pw_fields[n++] = (struct form_field_def){
        .var = "old_password", .type = FORM_TEXT_PRIVATE,
        .label = "Old Password", .required = true};
    reg->pw_fields[n++] = (struct form_field_def){
        .var = "password", .type = FORM_TEXT_PRIVATE,
        .label = "New Password", .required = true};
    for (size_t i = 0; i < r->password_change_proof.n; i++)
        reg->pw_fields[n++] =
            proof_field(reg, r->password_change_proof.items[i]);
    reg->pw_def = (struct form_def){
        .form_type = REG_NS_CHANGEPASSWORD,
        .title = "Password Change",
        .instructions = "Use this form to change your password.",
        .fields = reg->pw_fields,
        .nfields = n,
    };
    n = 0;
    if (reg->has_username)
        reg->cancel_fields[n++] = proof_field(reg, "username");
    if (reg->has_password)
        reg->cancel_fields[n++] = proof_field(reg, "password");
    for (size_t i = 0; i < r->remove_proof.n; i++) {
        const char *var = r->remove_proof.items[i];
        if (!form_def_find(&(struct form_def){.fields = reg->cancel_fields,
                                               .nfields = n},
                           var))
            reg->cancel_fields[n++] = proof_field(reg, var);
    }
    reg->cancel_def = (struct form_def){
        .form_type = REG_NS_CANCEL,
        .title = "Cancel Registration",
        .instructions = "Use this form to cancel your registration.",
        .fields = reg->cancel_fields,
        .nfields = n,
    };
    return true;
}

/* <username/> + <password/>: the registration's own definitions of the
 * two fields (required), so that a legacy change is held to the same
 * rules as a form: length, control characters, bcrypt's 72 bytes. */
static void build_legacy_password_form(struct reg *reg)
{
    const struct form_field_def *user = form_def_find(&reg->def, "username");
    const struct form_field_def *pw = form_def_find(&reg->def, "password");

    reg->legacy_pw_fields[0] =
        user ? *user
             : (struct form_field_def){.var = "username",
                                       .type = FORM_TEXT_SINGLE};
    reg->legacy_pw_fields[1] =
        pw ? *pw
           : (struct form_field_def){.var = "password",
                                     .type = FORM_TEXT_PRIVATE};
    reg->legacy_pw_fields[0].required = true;
    reg->legacy_pw_fields[1].required = true;
    reg->legacy_pw_def = (struct form_def){
        .fields = reg->legacy_pw_fields,
        .nfields = 2,
    };
}

struct reg *reg_new(const struct conf *conf, struct store *store,
                    const struct reg_env *env)
{
    struct reg *reg = calloc(1, sizeof(*reg));

    if (!reg)
        return NULL;
    reg->conf = conf;
    reg->store = store;
    reg->env = *env;
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
    reg->has_password = form_def_find(&reg->def, "password") != NULL;
    reg->has_username = form_def_find(&reg->def, "username") != NULL;
    build_legacy_password_form(reg);
    reg->limiter =
        limiter_new(&conf->limits, &conf->registration.local_domains);
    if (!reg->limiter || !build_side_forms(reg)) {
        reg_free(reg);
        return NULL;
    }
    return reg;
}

unsigned reg_inflight(const struct reg *reg)
{
    return reg->inflight;
}

void reg_free(struct reg *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < INFLIGHT_SLOTS; i++) {
        struct jid_count *e = reg->by_jid[i];
        while (e) {
            struct jid_count *next = e->next;
            free(e);
            e = next;
        }
    }
    limiter_free(reg->limiter);
    free(reg->pw_fields);
    free(reg->cancel_fields);
    free(reg);
}

/* ---- small stanza helpers --------------------------------------------- */

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

/* <x xmlns='jabber:x:oob'><url>URL</url></x> (XEP-0066). */
static xmpp_stanza_t *oob(xmpp_ctx_t *ctx, const char *url)
{
    xmpp_stanza_t *x = xml_elem(ctx, "x", REG_NS_OOB);

    xml_add_text(x, "url", url);
    return x;
}

/* <query xmlns='jabber:iq:register'> holding form (taken). */
static xmpp_stanza_t *query_with(xmpp_ctx_t *ctx, xmpp_stanza_t *form)
{
    xmpp_stanza_t *q = xml_elem(ctx, "query", REG_NS);

    xml_add(q, form);
    return q;
}

/* ---- requests in flight ------------------------------------------------ */

static unsigned jid_hash(const char *s)
{
    unsigned h = 2166136261u; /* FNV-1a */

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % INFLIGHT_SLOTS;
}

/* The link that holds jid's entry, or the NULL link at its chain's end. */
static struct jid_count **jid_link(struct reg *reg, const char *jid)
{
    struct jid_count **l = &reg->by_jid[jid_hash(jid)];

    while (*l && strcmp((*l)->jid, jid) != 0)
        l = &(*l)->next;
    return l;
}

/* Counts a request of bare in flight.  False when a cap is reached (or
 * out of memory); *which names the cap. */
static bool inflight_take(struct reg *reg, const char *bare,
                          const char **which)
{
    const struct conf_limits *l = &reg->conf->limits;
    struct jid_count **link = jid_link(reg, bare), *e = *link;
    size_t len;

    if (l->inflight_total && reg->inflight >= l->inflight_total) {
        *which = "service";
        return false;
    }
    if (e && l->inflight_per_jid && e->n >= l->inflight_per_jid) {
        *which = "per-JID";
        return false;
    }
    if (!e) {
        len = strlen(bare) + 1;
        if (!(e = malloc(sizeof(*e) + len))) {
            *which = "memory";
            return false;
        }
        memcpy(e->jid, bare, len);
        e->n = 0;
        e->next = NULL;
        *link = e;
    }
    e->n++;
    reg->inflight++;
    return true;
}

static void inflight_release(struct reg *reg, const char *bare)
{
    struct jid_count **link = jid_link(reg, bare), *e = *link;

    reg->inflight--;
    if (e && --e->n == 0) {
        *link = e->next;
        free(e);
    }
}

/* Answers a request over a cap at once: resource-constraint, type wait.
 * Refusals are counted and logged at most once a second. */
static void refuse_over_cap(struct reg *reg, struct iq_req *req,
                            const char *bare, const char *which)
{
    double now = reg->env.now();
    const char *id = iq_req_id(req);
    char text[160];

    reg->capped++;
    if (reg->capped == 1 || now - reg->capped_logged_at >= 1.0) {
        log_warn("reg", "in-flight cap (%s) reached: %u request(s) refused "
                        "since the last report, latest from %s (id=%s)",
                 which, reg->capped, bare, id ? id : "");
        reg->capped = 0;
        reg->capped_logged_at = now;
    }
    snprintf(text, sizeof(text),
             "Too many requests in progress (%s limit); wait for the "
             "answers and try again.",
             which);
    iq_req_error(req, IQ_RESOURCE_CONSTRAINT, text, NULL);
    iq_req_done(req);
}

/* ---- operations -------------------------------------------------------- */

/* The bare JID of the request's sender, or NULL.  Caller frees. */
static char *bare_of(struct iq_req *req)
{
    const char *from = iq_req_from(req);
    char *bare, *copy;

    if (!from || !(bare = xmpp_jid_bare(iq_req_ctx(req), from)))
        return NULL;
    copy = strdup(bare);
    xmpp_free(iq_req_ctx(req), bare);
    return copy;
}

/* Takes bare (may be NULL: then nothing is counted in flight). */
static struct op *op_new(struct reg *reg, struct iq_req *req, char *bare)
{
    struct op *op = calloc(1, sizeof(*op));

    if (!op)
        return NULL;
    op->reg = reg;
    op->req = req;
    op->query = iq_req_payload(req);
    op->bare = bare;
    op->cost = reg->conf->registration.hash_cost;
    if (!op->cost)
        op->cost = SECRET_DEFAULT_COST;
    return op;
}

static void tasks_clear(struct op *op)
{
    if (op->tasks)
        explicit_bzero(op->tasks, op->ntasks * sizeof(*op->tasks));
    free(op->tasks);
    op->tasks = NULL;
    op->ntasks = 0;
    op->tasks_oom = false;
}

/* Overwrites the text of e and its descendants: the request's own copy of
 * any password it carried.  libstrophe owns the buffers and frees them
 * later; nothing reads them after the request is answered. */
static void wipe_texts(xmpp_stanza_t *e)
{
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(e); c;
         c = xmpp_stanza_get_next(c)) {
        if (xmpp_stanza_is_text(c)) {
            char *t = (char *)xmpp_stanza_get_text_ptr(c);
            if (t)
                explicit_bzero(t, strlen(t));
        } else {
            wipe_texts(c);
        }
    }
}

/* Ends op and its request (answering it if a bug left it unanswered). */
static void op_done(struct op *op)
{
    if (op->bare)
        inflight_release(op->reg, op->bare);
    if (op->query)
        wipe_texts(op->query); /* before the request's reference goes */
    iq_req_done(op->req);
    form_data_clear(&op->data); /* wipes every value */
    store_record_clear(&op->rec);
    tasks_clear(op);
    explicit_bzero(op->password_hash, sizeof(op->password_hash));
    free(op->claim);
    free(op->bare);
    free(op);
}

static const char *op_id(const struct op *op)
{
    const char *id = iq_req_id(op->req);
    return id ? id : "";
}

static const char *service(const struct op *op)
{
    return op->reg->conf->component.jid;
}

/* Sends an error and ends op. */
static void fail(struct op *op, enum iq_error e, const char *text)
{
    log_info("reg", "answered %s to %s (id=%s): %s", iq_error_condition(e),
             op->bare ? op->bare : "(no sender)", op_id(op),
             text ? text : "");
    iq_req_error(op->req, e, text, NULL);
    op_done(op);
}

static void fail_unavailable(struct op *op)
{
    fail(op, IQ_INTERNAL_SERVER_ERROR, TEXT_UNAVAILABLE);
}

/* Keeps a copy of what the store returned (borrowed) in op->rec. */
static bool keep_record(struct op *op, const struct store_record *rec)
{
    struct store_record *r = &op->rec;

    r->username = rec->username ? strdup(rec->username) : NULL;
    r->password_hash = rec->password_hash ? strdup(rec->password_hash)
                                          : NULL;
    r->claim_matches = rec->claim_matches;
    if ((rec->username && !r->username) ||
        (rec->password_hash && !r->password_hash))
        return false;
    for (size_t i = 0; i < rec->fields.n; i++)
        for (size_t j = 0; j < rec->fields.items[i].nvalues; j++)
            if (!form_data_add(&r->fields, rec->fields.items[i].var,
                               rec->fields.items[i].values[j]))
                return false;
    op->registered = true;
    return true;
}

/* Keeps the registration on file in op; false (answered) when there is
 * none or the store failed. */
static bool keep_registered(struct op *op, enum store_status st,
                            const struct store_record *rec)
{
    if (st == STORE_NOT_FOUND) {
        fail(op, IQ_REGISTRATION_REQUIRED, TEXT_NOT_REGISTERED);
        return false;
    }
    if (st != STORE_OK || !keep_record(op, rec)) {
        fail_unavailable(op);
        return false;
    }
    return true;
}

/* ---- bcrypt off the loop ----------------------------------------------- */

/* Queues a bcrypt step for var: verify plain against hash, or make a hash
 * of plain when hash is NULL. */
static void add_task(struct op *op, const char *var, const char *plain,
                     const char *hash)
{
    struct task *t = realloc(op->tasks, (op->ntasks + 1) * sizeof(*t));

    if (!t) {
        op->tasks_oom = true;
        return;
    }
    op->tasks = t;
    t[op->ntasks++] = (struct task){.var = var, .plain = plain, .hash = hash};
}

/* On a worker thread: touches the op's tasks and cost only. */
static void tasks_work(void *arg)
{
    struct op *op = arg;

    for (size_t i = 0; i < op->ntasks; i++) {
        struct task *t = &op->tasks[i];
        if (t->hash) {
            t->check = secret_check(t->plain, t->hash);
            t->ok = t->check == SECRET_MATCH;
        } else {
            t->ok = secret_hash(t->plain, op->cost, t->out);
        }
    }
}

static void tasks_done(void *arg)
{
    struct op *op = arg;

    for (size_t i = 0; i < op->ntasks; i++) {
        if (op->tasks[i].hash && op->tasks[i].check == SECRET_BAD_HASH) {
            log_warn("reg", "the stored %s of %s is not a $2a$ bcrypt hash "
                            "of cost %d-%d: treated as a mismatch (id=%s)",
                     op->tasks[i].var, op->bare, SECRET_MIN_COST,
                     SECRET_MAX_COST, op_id(op));
            break;
        }
    }
    op->after(op);
}

/* Runs the tasks off the loop, then after(op) on it. */
static void run_tasks(struct op *op, void (*after)(struct op *))
{
    struct reg *reg = op->reg;

    op->after = after;
    if (op->tasks_oom) {
        fail(op, IQ_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    if (op->ntasks == 0) {
        after(op);
        return;
    }
    if (!reg->env.offload(reg->env.offload_ctx, tasks_work, tasks_done, op)) {
        log_error("reg", "cannot queue hashing for %s (id=%s)", op->bare,
                  op_id(op));
        fail(op, IQ_INTERNAL_SERVER_ERROR, NULL);
    }
}

static bool tasks_ok(const struct op *op)
{
    bool ok = !op->proof_failed;

    for (size_t i = 0; i < op->ntasks; i++)
        ok &= op->tasks[i].ok;
    return ok;
}

/* The hash made for var, or NULL. */
static const char *task_hash(const struct op *op, const char *var)
{
    for (size_t i = 0; i < op->ntasks; i++)
        if (!op->tasks[i].hash && op->tasks[i].ok &&
            strcmp(op->tasks[i].var, var) == 0)
            return op->tasks[i].out;
    return NULL;
}

/* ---- what a get shows -------------------------------------------------- */

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
 * out.  NULL when nothing is worth echoing.  Caller owns it. */
static xmpp_stanza_t *echo_without_secrets(const struct reg *reg,
                                           xmpp_stanza_t *query)
{
    xmpp_stanza_t *copy = xml_elem(xmpp_stanza_get_context(query), "query",
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
            xml_add_text(copy, name, NULL);
        else
            xml_add(copy, copy_without_ns(c));
    }
    if (!xmpp_stanza_get_children(copy)) {
        xmpp_stanza_release(copy);
        return NULL;
    }
    return copy;
}

/* The blank query for an unregistered requester (XEP-0077 section 6). */
static xmpp_stanza_t *query_blank(const struct reg *reg, xmpp_ctx_t *ctx)
{
    xmpp_stanza_t *q = xml_elem(ctx, "query", REG_NS);
    const char *url = reg->conf->registration.url;

    if (reg->all_legacy) {
        /* form + iq:register fields, for legacy clients */
        xml_add_text(q, "instructions", reg->def.instructions
                                              ? reg->def.instructions
                                              : TEXT_LEGACY);
        for (size_t i = 0; i < reg->def.nfields; i++) {
            const struct form_field_def *f = &reg->def.fields[i];
            if (f->type != FORM_FIXED && f->type != FORM_HIDDEN)
                xml_add_text(q, f->var, NULL);
        }
    } else if (url) {
        /* form + iq:register instructions + x:oob URL */
        char text[1024];
        snprintf(text, sizeof(text),
                 TEXT_FORM_ONLY " If your client does not support data "
                                "forms, visit %s",
                 url);
        xml_add_text(q, "instructions", text);
    } else {
        /* form + iq:register instructions */
        xml_add_text(q, "instructions", TEXT_FORM_ONLY);
    }
    xml_add(q, form_build(ctx, &reg->def, "form", NULL));
    if (url)
        xml_add(q, oob(ctx, url));
    return q;
}

/* Redirection (XEP-0077 section 5): instructions and a URL only. */
static xmpp_stanza_t *query_redirect(const struct reg *reg, xmpp_ctx_t *ctx)
{
    xmpp_stanza_t *q = xml_elem(ctx, "query", REG_NS);
    char text[1024];

    snprintf(text, sizeof(text), "To register, visit %s",
             reg->conf->registration.url);
    xml_add_text(q, "instructions", text);
    xml_add(q, oob(ctx, reg->conf->registration.url));
    return q;
}

/* The query for a registered requester: <registered/>, the values on file
 * (never a password) and a pre-filled form. */
static xmpp_stanza_t *query_registered(const struct reg *reg,
                                       xmpp_ctx_t *ctx,
                                       const struct store_record *rec)
{
    xmpp_stanza_t *q = xml_elem(ctx, "query", REG_NS);

    xml_add(q, xml_elem(ctx, "registered", NULL));
    xml_add_text(q, "instructions", TEXT_REGISTERED);
    /* legacy elements as in the blank query: only when every field has
     * one (XEP-0077 section 6) */
    for (size_t i = 0; reg->all_legacy && i < reg->def.nfields; i++) {
        const struct form_field_def *f = &reg->def.fields[i];
        if (!reg_is_legacy_field(f->var) || form_type_is_multi(f->type))
            continue;
        if (f->type == FORM_TEXT_PRIVATE)
            xml_add_text(q, f->var, NULL);
        else
            xml_add_text(q, f->var, form_data_first(&rec->fields, f->var));
    }
    xml_add(q, form_build(ctx, &reg->def, "form", &rec->fields));
    return q;
}

static void on_get(void *arg, enum store_status st,
                   const struct store_record *rec)
{
    struct op *op = arg;
    xmpp_ctx_t *ctx = iq_req_ctx(op->req);
    xmpp_stanza_t *q;

    if (st == STORE_OK)
        q = query_registered(op->reg, ctx, rec);
    else if (st == STORE_NOT_FOUND)
        q = query_blank(op->reg, ctx);
    else {
        fail_unavailable(op);
        return;
    }
    iq_req_result(op->req, q);
    xmpp_stanza_release(q);
    op_done(op);
}

/* ---- proofs: username, password, repeated fields ----------------------- */

/* Queues a check of each proof field of def (other than username and
 * passwords) against the registration on file.  Values in clear are
 * compared here; hashed (text-private) ones by a task.  False when a
 * clear value differs or nothing is on file to compare with. */
static bool check_proof_fields(struct op *op, const struct form_def *def)
{
    bool ok = true;

    for (size_t i = 0; i < def->nfields; i++) {
        const char *var = def->fields[i].var;
        const char *given = form_data_first(&op->data, var);
        const char *stored = form_data_first(&op->rec.fields, var);

        if (!strcmp(var, "username") || !strcmp(var, "password") ||
            !strcmp(var, "old_password"))
            continue;
        if (!given || !stored) {
            ok = false;
        } else if (def->fields[i].type == FORM_TEXT_PRIVATE) {
            add_task(op, var, given, stored);
        } else {
            ok &= strcmp(given, stored) == 0;
        }
    }
    return ok;
}

/* ---- cancel ------------------------------------------------------------ */

static void on_removed(void *arg, enum store_status st, bool created)
{
    struct op *op = arg;

    (void)created;
    if (st == STORE_OK) {
        log_info("reg", "%s cancelled the registration with %s (id=%s)",
                 op->bare, service(op), op_id(op));
        iq_req_result(op->req, NULL);
        op_done(op);
    } else if (st == STORE_NOT_FOUND) {
        fail(op, IQ_REGISTRATION_REQUIRED, TEXT_NOT_REGISTERED);
    } else {
        fail_unavailable(op);
    }
}

/* remove = "form": a bare <remove/> is answered with the cancel form. */
static void on_get_for_remove(void *arg, enum store_status st,
                              const struct store_record *rec)
{
    struct op *op = arg;
    xmpp_ctx_t *ctx = iq_req_ctx(op->req);
    xmpp_stanza_t *q;

    (void)rec;
    if (st == STORE_NOT_FOUND) {
        fail(op, IQ_REGISTRATION_REQUIRED, TEXT_NOT_REGISTERED);
        return;
    }
    if (st != STORE_OK) {
        fail_unavailable(op);
        return;
    }
    q = query_with(ctx, form_build(ctx, &op->reg->cancel_def, "form", NULL));
    iq_req_error(op->req, IQ_NOT_ALLOWED,
                 "Submit the enclosed form to cancel your registration.", q);
    xmpp_stanza_release(q);
    op_done(op);
}

static void after_cancel_proof(struct op *op)
{
    if (!tasks_ok(op)) {
        log_info("reg", "refused cancellation from %s (id=%s): wrong proof",
                 op->bare, op_id(op));
        fail(op, IQ_FORBIDDEN,
             "The proof given does not match the registration.");
        return;
    }
    store_remove(op->reg->store, service(op), op->bare, on_removed, op);
}

/* A submitted jabber:iq:register:cancel form. */
static void on_get_for_cancel_form(void *arg, enum store_status st,
                                   const struct store_record *rec)
{
    struct op *op = arg;
    struct form_problem problem = {{0}};
    enum form_status fs;
    bool ok;

    if (!keep_registered(op, st, rec))
        return;
    fs = form_validate(&op->reg->cancel_def, &op->data, false, &problem);
    if (fs != FORM_OK) {
        fail(op, IQ_BAD_REQUEST, problem.text);
        return;
    }
    ok = check_proof_fields(op, &op->reg->cancel_def);
    if (op->reg->has_username)
        ok &= op->rec.claim_matches;
    if (op->reg->has_password) {
        if (op->rec.password_hash)
            add_task(op, "password", form_data_first(&op->data, "password"),
                     op->rec.password_hash);
        else
            ok = false;
    }
    op->proof_failed = !ok;
    run_tasks(op, after_cancel_proof);
}

/* ---- password change ----------------------------------------------------- */

static void on_password_set(void *arg, enum store_status st, bool created)
{
    struct op *op = arg;

    (void)created;
    if (st == STORE_OK) {
        log_info("reg", "%s changed the password with %s (id=%s)", op->bare,
                 service(op), op_id(op));
        iq_req_result(op->req, NULL);
        op_done(op);
    } else if (st == STORE_NOT_FOUND) {
        fail(op, IQ_REGISTRATION_REQUIRED, TEXT_NOT_REGISTERED);
    } else {
        fail_unavailable(op);
    }
}

/* After the tasks: every proof verified, and the new password hashed. */
static void after_password_tasks(struct op *op)
{
    const char *hash = task_hash(op, "password");

    if (!tasks_ok(op) || !hash) {
        log_info("reg", "refused password change from %s (id=%s): wrong "
                        "old password or proof",
                 op->bare, op_id(op));
        iq_req_error_as(op->req, IQ_NOT_AUTHORIZED, "modify",
                        "The old password or a proof does not match.",
                        NULL);
        op_done(op);
        return;
    }
    store_set_password(op->reg->store, service(op), op->bare, hash,
                       on_password_set, op);
}

/* Answers a legacy request with the changepassword form (XEP-0077 3.3). */
static void ask_password_form(struct op *op)
{
    xmpp_ctx_t *ctx = iq_req_ctx(op->req);
    xmpp_stanza_t *q =
        query_with(ctx, form_build(ctx, &op->reg->pw_def, "form", NULL));

    iq_req_error_as(op->req, IQ_NOT_AUTHORIZED, "modify",
                    "Submit the enclosed form to change your password.", q);
    xmpp_stanza_release(q);
    op_done(op);
}

/* Checks common to both kinds of change; false when answered. */
static bool password_change_allowed(struct op *op)
{
    if (op->reg->conf->registration.password_change == CONF_PWCHANGE_OFF) {
        fail(op, IQ_NOT_ALLOWED,
             "This service does not allow password changes.");
        return false;
    }
    if (!op->reg->has_password) {
        fail(op, IQ_NOT_ALLOWED, "This service keeps no password.");
        return false;
    }
    return true;
}

/* Refuses the request for not naming the requester's own account. */
static void refuse_not_own(struct op *op)
{
    log_info("reg", "refused password change from %s (id=%s): not its "
                    "username",
             op->bare, op_id(op));
    iq_req_error_as(op->req, IQ_NOT_AUTHORIZED, "modify",
                    "You can only change the password of your own account.",
                    NULL);
    op_done(op);
}

/* <username/> + <password/> from a registered JID (XEP-0077 3.3), held to
 * the rules of the registration form.  Errors never echo the request. */
static void legacy_password_change(struct op *op)
{
    const char *pw = form_data_first(&op->data, "password");
    struct form_problem problem = {{0}};
    enum form_status fs;
    bool blank = true;

    if (!password_change_allowed(op))
        return;
    if (op->reg->conf->registration.password_change == CONF_PWCHANGE_FORM) {
        ask_password_form(op);
        return;
    }
    for (const char *p = pw; p && *p; p++)
        blank &= *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r';
    if (blank) {
        fail(op, IQ_NOT_ACCEPTABLE,
             "The new password must not be empty; the old one is kept.");
        return;
    }
    fs = form_validate(&op->reg->legacy_pw_def, &op->data, false, &problem);
    if (fs != FORM_OK) {
        fail(op, fs == FORM_BAD_REQUEST ? IQ_BAD_REQUEST : IQ_NOT_ACCEPTABLE,
             problem.text);
        return;
    }
    if (!op->rec.claim_matches) {
        refuse_not_own(op);
        return;
    }
    add_task(op, "password", form_data_first(&op->data, "password"), NULL);
    run_tasks(op, after_password_tasks);
}

/* A submitted jabber:iq:register:changepassword form. */
static void on_get_for_password_form(void *arg, enum store_status st,
                                     const struct store_record *rec)
{
    struct op *op = arg;
    struct form_problem problem = {{0}};
    enum form_status fs;
    bool ok;

    if (!keep_registered(op, st, rec))
        return;
    if (!password_change_allowed(op))
        return;
    fs = form_validate(&op->reg->pw_def, &op->data, false, &problem);
    if (fs != FORM_OK) {
        fail(op, fs == FORM_BAD_REQUEST ? IQ_BAD_REQUEST : IQ_NOT_ACCEPTABLE,
             problem.text);
        return;
    }
    if (!op->rec.claim_matches) {
        refuse_not_own(op);
        return;
    }
    ok = check_proof_fields(op, &op->reg->pw_def) && op->rec.password_hash;
    if (op->rec.password_hash)
        add_task(op, "old_password",
                 form_data_first(&op->data, "old_password"),
                 op->rec.password_hash);
    op->proof_failed = !ok;
    add_task(op, "password", form_data_first(&op->data, "password"), NULL);
    run_tasks(op, after_password_tasks);
}

/* ---- register or update ------------------------------------------------ */

static void on_put(void *arg, enum store_status st, bool created)
{
    struct op *op = arg;
    xmpp_stanza_t *echo;

    switch (st) {
    case STORE_OK:
        log_info("reg", "%s %s with %s (id=%s)", op->bare,
                 created ? "registered" : "updated the registration",
                 service(op), op_id(op));
        iq_req_result(op->req, NULL);
        break;
    case STORE_INVALID: /* the database's username rule */
        echo = echo_without_secrets(op->reg, op->query);
        log_info("reg", "refused registration from %s (id=%s): the "
                        "database refused the username",
                 op->bare, op_id(op));
        iq_req_error(op->req, IQ_NOT_ACCEPTABLE,
                     "The username is not acceptable: it must not be "
                     "empty, begin or end with white space, or contain "
                     "control or invisible characters.",
                     echo);
        if (echo)
            xmpp_stanza_release(echo);
        break;
    case STORE_CONFLICT:
        echo = echo_without_secrets(op->reg, op->query);
        log_info("reg", "%s asked for a username that is taken (id=%s)",
                 op->bare, op_id(op));
        iq_req_error(op->req, IQ_CONFLICT, "That username is already taken.",
                     echo);
        if (echo)
            xmpp_stanza_release(echo);
        break;
    default:
        iq_req_error(op->req, IQ_INTERNAL_SERVER_ERROR, TEXT_UNAVAILABLE,
                     NULL);
    }
    op_done(op);
}

/* After hashing: the secrets in op->data are replaced by their hashes (the
 * password goes to its own column), secrets left out of an update keep
 * their stored hash, and the registration is written. */
static void after_register_tasks(struct op *op)
{
    const struct form_def *def = &op->reg->def;
    char *json;

    if (!tasks_ok(op)) {
        log_error("reg", "cannot hash a secret for %s (id=%s)", op->bare,
                  op_id(op));
        fail(op, IQ_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    for (size_t i = 0; i < def->nfields; i++) {
        const struct form_field_def *f = &def->fields[i];
        bool is_password = strcmp(f->var, "password") == 0;
        const char *h, *kept;

        if (f->type != FORM_TEXT_PRIVATE)
            continue;
        if (form_data_get(&op->data, f->var)) {
            if (!(h = task_hash(op, f->var))) {
                fail(op, IQ_INTERNAL_SERVER_ERROR, NULL);
                return;
            }
            form_data_remove(&op->data, f->var); /* wipes the clear text */
            if (is_password) {
                strcpy(op->password_hash, h);
                op->has_password_hash = true;
            } else if (!form_data_add(&op->data, f->var, h)) {
                fail(op, IQ_INTERNAL_SERVER_ERROR, NULL);
                return;
            }
        } else if (!is_password &&
                   (kept = form_data_first(&op->rec.fields, f->var)) &&
                   !form_data_add(&op->data, f->var, kept)) {
            fail(op, IQ_INTERNAL_SERVER_ERROR, NULL);
            return;
        }
    }
    if (!(json = form_data_to_json(def, &op->data))) {
        fail(op, IQ_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    struct store_put put = {
        .service = service(op),
        .jid = op->bare,
        .username = form_data_first(&op->data, "username"),
        .fields_json = json,
        .password_hash = op->has_password_hash ? op->password_hash : NULL,
    };
    store_put(op->reg->store, &put, on_put, op);
    free(json);
}

/* Queues a hash of every secret (text-private value) left in op->data. */
static void hash_secrets(struct op *op)
{
    const struct form_def *def = &op->reg->def;

    for (size_t i = 0; i < def->nfields; i++) {
        const char *v = form_data_first(&op->data, def->fields[i].var);
        if (def->fields[i].type == FORM_TEXT_PRIVATE && v)
            add_task(op, def->fields[i].var, v, NULL);
    }
}

/* The hash on file for the secret var, or NULL. */
static const char *stored_secret(const struct op *op, const char *var)
{
    if (strcmp(var, "password") == 0)
        return op->rec.password_hash;
    return form_data_first(&op->rec.fields, var);
}

/* After comparing an update's secrets with those on file: a secret given
 * again unchanged is no change (it keeps its stored hash); any other is a
 * secret change, whatever the shape of the set, and password_change
 * decides: "off" refuses, "form" asks for the changepassword form,
 * "legacy" lets it through.  Nothing is stored when refused. */
static void after_secret_checks(struct op *op)
{
    const char *unchanged[FORM_MAX_FIELDS];
    size_t nunchanged = 0;

    for (size_t i = 0; i < op->ntasks; i++) {
        if (!op->tasks[i].ok)
            op->secret_changed = true;
        else if (nunchanged < FORM_MAX_FIELDS)
            unchanged[nunchanged++] = op->tasks[i].var;
    }
    if (op->secret_changed) {
        switch (op->reg->conf->registration.password_change) {
        case CONF_PWCHANGE_OFF:
            log_info("reg", "refused update from %s (id=%s): it changes a "
                            "password or private field",
                     op->bare, op_id(op));
            fail(op, IQ_NOT_ALLOWED,
                 "This service does not allow changing the password or "
                 "another private field; nothing was changed.");
            return;
        case CONF_PWCHANGE_FORM:
            if (!op->reg->has_password) {
                fail(op, IQ_NOT_ALLOWED,
                     "This service does not allow changing a private "
                     "field; nothing was changed.");
                return;
            }
            log_info("reg", "update from %s (id=%s) changes a secret: "
                            "asked for the changepassword form",
                     op->bare, op_id(op));
            ask_password_form(op);
            return;
        case CONF_PWCHANGE_LEGACY:
            break;
        }
    }
    tasks_clear(op);
    for (size_t i = 0; i < nunchanged; i++)
        form_data_remove(&op->data, unchanged[i]);
    hash_secrets(op);
    run_tasks(op, after_register_tasks);
}

/* An update: compares each secret given with the hash on file. */
static void check_secret_changes(struct op *op)
{
    const struct form_def *def = &op->reg->def;

    for (size_t i = 0; i < def->nfields; i++) {
        const struct form_field_def *f = &def->fields[i];
        const char *v = form_data_first(&op->data, f->var);
        const char *stored;

        if (f->type != FORM_TEXT_PRIVATE || !v)
            continue;
        if ((stored = stored_secret(op, f->var)))
            add_task(op, f->var, v, stored);
        else
            op->secret_changed = true; /* a secret where none was */
    }
    run_tasks(op, after_secret_checks);
}

/* The username chosen, if any, follows the rule of text.h (the database
 * has the last word); false when refused (answered, echoing the request
 * without secrets). */
static bool username_acceptable(struct op *op)
{
    const char *name = form_data_first(&op->data, "username");
    const char *why;
    char text[160];
    xmpp_stanza_t *echo;

    if (!name || text_username_ok(name, &why))
        return true;
    snprintf(text, sizeof(text), "The username %s.", why);
    log_info("reg", "refused registration from %s (id=%s): %s", op->bare,
             op_id(op), text);
    echo = echo_without_secrets(op->reg, op->query);
    iq_req_error(op->req, IQ_NOT_ACCEPTABLE, text, echo);
    if (echo)
        xmpp_stanza_release(echo);
    op_done(op);
    return false;
}

/* Only <username/> and <password/>: XEP-0077 3.3, a password change. */
static bool is_password_change(const struct op *op)
{
    return op->legacy && op->data.n == 2 &&
           form_data_get(&op->data, "username") &&
           form_data_get(&op->data, "password");
}

static void on_get_for_set(void *arg, enum store_status st,
                           const struct store_record *rec)
{
    struct op *op = arg;
    const struct form_def *def = &op->reg->def;
    struct form_problem problem = {{0}};
    enum form_status fs;

    if ((st != STORE_OK && st != STORE_NOT_FOUND) ||
        (st == STORE_OK && !keep_record(op, rec))) {
        fail_unavailable(op);
        return;
    }
    if (op->registered && is_password_change(op)) {
        legacy_password_change(op);
        return;
    }
    fs = form_validate(def, &op->data, op->registered, &problem);
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
    if (!username_acceptable(op))
        return;
    if (op->registered) {
        check_secret_changes(op);
        return;
    }
    hash_secrets(op);
    run_tasks(op, after_register_tasks);
}

/* ---- dispatch ---------------------------------------------------------- */

/* Reads the legacy iq:register elements of the query into op->data. */
static bool read_legacy(struct op *op)
{
    xmpp_ctx_t *ctx = iq_req_ctx(op->req);
    bool any = false;

    op->legacy = true;
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(op->query); c;
         c = xmpp_stanza_get_next(c)) {
        const char *name = xmpp_stanza_is_tag(c) ? xmpp_stanza_get_name(c)
                                                 : NULL;
        char *text;
        bool ok;

        if (!name || !reg_is_legacy_field(name))
            continue;
        if (form_data_get(&op->data, name)) {
            /* the same element twice: refused as a form field given
             * twice is, before any more of it is copied */
            snprintf(op->problem, sizeof(op->problem),
                     "<%s/> given twice", name);
            return false;
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

/* Keeps the username the request gives (first value, trimmed as form
 * validation trims it) for the store to compare with the one on file: the
 * database, not C, decides whether it is the requester's own.  False when
 * out of memory (answered). */
static bool set_claim(struct op *op)
{
    const char *name = form_data_first(&op->data, "username");
    size_t len;

    if (!name)
        return true;
    while (*name == ' ' || (*name >= '\t' && *name <= '\r'))
        name++;
    len = strlen(name);
    while (len && (name[len - 1] == ' ' ||
                   (name[len - 1] >= '\t' && name[len - 1] <= '\r')))
        len--;
    if (!(op->claim = strndup(name, len))) {
        fail(op, IQ_INTERNAL_SERVER_ERROR, NULL);
        return false;
    }
    return true;
}

static void handle_remove(struct op *op, size_t nchildren)
{
    switch (op->reg->conf->registration.remove) {
    case CONF_REMOVE_OFF:
        fail(op, IQ_NOT_ALLOWED,
             "This service does not allow cancelling in-band.");
        return;
    case CONF_REMOVE_FORM:
        if (nchildren != 1)
            break;
        store_get(op->reg->store, service(op), op->bare, NULL, on_get_for_remove,
                  op);
        return;
    case CONF_REMOVE_PLAIN:
        if (nchildren != 1)
            break;
        store_remove(op->reg->store, service(op), op->bare, on_removed, op);
        return;
    }
    fail(op, IQ_BAD_REQUEST, "<remove/> must be the only child of <query/>.");
}

static void handle_form(struct op *op, xmpp_stanza_t *x)
{
    struct form_problem problem = {{0}};
    const struct conf_registration *r = &op->reg->conf->registration;

    switch (form_parse(x, &op->data, &problem)) {
    case FORM_OK:
        break;
    case FORM_CANCEL: /* the user gave up: nothing changes */
        iq_req_result(op->req, NULL);
        op_done(op);
        return;
    default:
        fail(op, IQ_BAD_REQUEST, problem.text);
        return;
    }
    if (!set_claim(op))
        return;
    if (op->data.form_type && !strcmp(op->data.form_type, REG_NS_CANCEL)) {
        if (r->remove == CONF_REMOVE_OFF)
            fail(op, IQ_NOT_ALLOWED,
                 "This service does not allow cancelling in-band.");
        else
            store_get(op->reg->store, service(op), op->bare, op->claim,
                      on_get_for_cancel_form, op);
        return;
    }
    if (op->data.form_type &&
        !strcmp(op->data.form_type, REG_NS_CHANGEPASSWORD)) {
        store_get(op->reg->store, service(op), op->bare, op->claim,
                  on_get_for_password_form, op);
        return;
    }
    store_get(op->reg->store, service(op), op->bare, op->claim,
              on_get_for_set, op);
}

static void handle_set(struct op *op)
{
    xmpp_stanza_t *x = NULL, *remove = NULL;
    size_t nchildren = 0;

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
        handle_remove(op, nchildren);
    } else if (x) {
        /* XEP-0077 section 7: the form takes precedence over legacy
         * fields sent beside it. */
        handle_form(op, x);
    } else if (!read_legacy(op)) {
        fail(op, IQ_BAD_REQUEST,
             op->problem[0] ? op->problem
                            : "No registration data: submit the form or the "
                              "fields.");
    } else if (set_claim(op)) {
        store_get(op->reg->store, service(op), op->bare, op->claim,
                  on_get_for_set, op);
    }
}

/* Policy and rate limits; false when the request was answered. */
static bool admitted(struct op *op, bool is_set)
{
    struct reg *reg = op->reg;
    const char *why, *which;
    double retry;
    char text[160];

    if (policy_check(&reg->conf->registration, op->bare, &why) !=
        POLICY_ALLOW) {
        log_info("reg", "refused %s from %s (id=%s): access policy",
                 is_set ? "set" : "get", op->bare, op_id(op));
        fail(op, IQ_FORBIDDEN, why);
        return false;
    }
    if (is_set && reg->conf->registration.mode == CONF_MODE_REDIRECT) {
        snprintf(text, sizeof(text), "Register at %s",
                 reg->conf->registration.url);
        fail(op, IQ_NOT_ALLOWED, text);
        return false;
    }
    if (is_set &&
        !limiter_take(reg->limiter, op->bare, reg->env.now(), &which,
                      &retry)) {
        log_warn("reg", "rate limit (%s) reached by %s (id=%s)", which,
                 op->bare, op_id(op));
        snprintf(text, sizeof(text),
                 "Too many registration requests (%s limit); try again in "
                 "%.0f seconds.",
                 which, retry < 1 ? 1 : retry + 0.5);
        fail(op, IQ_POLICY_VIOLATION, text);
        return false;
    }
    return true;
}

void reg_handle(struct reg *reg, struct iq_req *req)
{
    bool is_set = strcmp(iq_req_type(req), "set") == 0;
    char *bare = bare_of(req);
    const char *which;
    struct op *op;

    if (bare && !inflight_take(reg, bare, &which)) {
        refuse_over_cap(reg, req, bare, which);
        free(bare);
        return;
    }
    if (!(op = op_new(reg, req, bare))) {
        if (bare)
            inflight_release(reg, bare);
        free(bare);
        iq_req_error(req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        iq_req_done(req);
        return;
    }
    if (!op->bare || !op->query) {
        fail(op, IQ_BAD_REQUEST, "The request has no sender.");
        return;
    }
    if (!admitted(op, is_set))
        return;
    if (is_set) {
        handle_set(op);
    } else if (reg->conf->registration.mode == CONF_MODE_REDIRECT) {
        xmpp_stanza_t *q = query_redirect(reg, iq_req_ctx(req));
        iq_req_result(req, q);
        xmpp_stanza_release(q);
        op_done(op);
    } else {
        store_get(reg->store, service(op), op->bare, NULL, on_get, op);
    }
}
