/*
 * reg.c - XEP-0077 In-Band Registration: the service's set-up, and the
 * dispatch of each request: access policy, rate limits, get (and
 * redirection), then the flow a set asks for (reg_update.c,
 * reg_account.c).  The top of the module: it calls the flows, the reply
 * builders and the request's life (reg_op.c); none of them calls back.
 *
 * Protocol decisions only: what the request asks, whether it is allowed,
 * and which flow answers it.  Storage is asked through store.h and bcrypt
 * runs on a worker, both answering through callbacks that carry the
 * operation, so no flow cares when they complete.  Never logs or echoes a
 * password or a text-private value.
 */
#include "reg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limiter.h"
#include "log.h"
#include "policy.h"
#include "reg_account.h"
#include "reg_challenge.h"
#include "reg_op.h"
#include "reg_reply.h"
#include "reg_types.h"
#include "reg_update.h"
#include "secret.h"
#include "text.h"

/* A required copy of the registration field var (strings borrowed). */
static struct form_field_def proof_field(const struct reg *reg, const char *var)
{
    struct form_field_def f = *form_def_find(&reg->def, var);

    f.required = true;
    return f;
}

static bool build_side_forms(struct reg *reg)
{
    const struct conf_registration *r = &reg->conf->registration;
    size_t n = 0;

    reg->pw_fields =
        calloc(3 + r->password_change_proof.n, sizeof(*reg->pw_fields));
    reg->cancel_fields =
        calloc(2 + r->remove_proof.n, sizeof(*reg->cancel_fields));
    if (!reg->pw_fields || !reg->cancel_fields)
        return false;
    reg->pw_fields[n++] = (struct form_field_def){.var = "username",
                                                  .type = FORM_TEXT_SINGLE,
                                                  .label = "Username",
                                                  .required = true};
    reg->pw_fields[n++] = (struct form_field_def){.var = "old_password",
                                                  .type = FORM_TEXT_PRIVATE,
                                                  .label = "Old Password",
                                                  .required = true};
    reg->pw_fields[n++] = (struct form_field_def){.var = "password",
                                                  .type = FORM_TEXT_PRIVATE,
                                                  .label = "New Password",
                                                  .required = true};
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
        if (!form_def_find(
                &(struct form_def){.fields = reg->cancel_fields, .nfields = n},
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

/* With invitations on: the form shown to requesters not registered,
 * def's fields and "preauth" (last); its instructions say that
 * registration is by invitation when it is.  False when out of memory. */
static bool build_invite_form(struct reg *reg)
{
    const struct conf_invites *inv = &reg->conf->invites;
    bool required = inv->mode == CONF_INVITES_REQUIRED;
    size_t n = reg->def.nfields;
    const char *own = reg->def.instructions;
    size_t len;

    reg->form_def = reg->def;
    reg->bound_def = reg->def;
    if (inv->mode == CONF_INVITES_OFF)
        return true;
    if (!(reg->form_fields = calloc(n + 1, sizeof(*reg->form_fields))) ||
        !(reg->bound_fields = calloc(n + 1, sizeof(*reg->bound_fields))))
        return false;
    if (n)
        memcpy(reg->form_fields, reg->def.fields, n * sizeof(*reg->def.fields));
    reg->form_fields[n] = (struct form_field_def){
        .var = (char *)REG_FIELD_PREAUTH,
        .type = FORM_TEXT_SINGLE,
        .label = (char *)(required ? "Invitation token"
                                   : "Invitation token (if you have one)"),
        .required = required,
        .max_length = 256,
    };
    reg->form_def.fields = reg->form_fields;
    reg->form_def.nfields = n + 1;
    memcpy(reg->bound_fields, reg->form_fields,
           (n + 1) * sizeof(*reg->bound_fields));
    reg->bound_fields[n].required = false;
    reg->bound_fields[n].label = (char *)"Invitation token (accepted)";
    reg->bound_def.fields = reg->bound_fields;
    reg->bound_def.nfields = n + 1;
    if (!required)
        return true;
    len = strlen(REG_TEXT_BY_INVITATION) + (own ? strlen(own) + 1 : 0) + 1;
    if (!(reg->form_instructions = malloc(len)))
        return false;
    snprintf(reg->form_instructions, len, "%s%s%s", REG_TEXT_BY_INVITATION,
             own ? " " : "", own ? own : "");
    reg->form_def.instructions = reg->form_instructions;
    return true;
}

bool reg_invites_on(const struct reg *reg)
{
    return reg->conf->invites.mode != CONF_INVITES_OFF;
}

struct reg *reg_new(const struct conf *conf, struct store *store,
                    const struct reg_env *env)
{
    struct reg *reg = calloc(1, sizeof(*reg));

    if (!reg)
        return NULL;
    reg->conf = conf;
    reg->store = store;
    reg->hasher = env->hasher;
    reg->imager = env->imager;
    reg->now = env->now;
    /* the counters outlive every reg of the service (a reload's too) */
    reg->stats = stats_service(env->stats, conf->component.jid);
    stats_set_inflight_max(reg->stats, conf->limits.inflight_total);
    stats_set_hashing_max(reg->stats, worker_share(env->hasher));
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
        if (!reg_reply_is_legacy_field(f->var) || form_type_is_multi(f->type))
            reg->all_legacy = false;
    }
    reg->has_password = form_def_find(&reg->def, "password") != NULL;
    reg->has_username = form_def_find(&reg->def, "username") != NULL;
    build_legacy_password_form(reg);
    reg->limiter =
        limiter_new(&conf->limits, &conf->registration.local_domains);
    /* the same cap at every reload (a RESTART option): set once */
    if (!store_set_cache(store, conf->component.jid,
                         conf->limits.cache_entries))
        log_warn("reg", "%s: no memory for the cache of registered gets",
                 conf->component.jid);
    if (!reg->limiter || !build_side_forms(reg) || !build_invite_form(reg)) {
        reg_free(reg);
        return NULL;
    }
    return reg;
}

unsigned reg_inflight(const struct reg *reg)
{
    return reg->inflight;
}

struct store *reg_store(const struct reg *reg)
{
    return reg->store;
}

struct stats_service *reg_stats(const struct reg *reg)
{
    return reg->stats;
}

void reg_free(struct reg *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < REG_INFLIGHT_SLOTS; i++) {
        struct reg_jid_count *e = reg->by_jid[i];
        while (e) {
            struct reg_jid_count *next = e->next;
            free(e);
            e = next;
        }
    }
    limiter_free(reg->limiter);
    free(reg->pw_fields);
    free(reg->cancel_fields);
    free(reg->form_fields);
    free(reg->bound_fields);
    free(reg->form_instructions);
    free(reg);
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

/* The form of a requester not registered, with invitations on: when its
 * <preauth/> bound an invitation, one that asks no token, pre-filled with
 * the invitation's values; else (or when that cannot be read) the form. */
static void on_prefill(void *arg, enum store_status st,
                       struct store_record *rec)
{
    struct op *op = arg;
    xmpp_ctx_t *ctx = iq_req_ctx(op->req);
    xmpp_stanza_t *q =
        st == STORE_OK && rec
            ? reg_reply_blank_bound(op->reg, ctx, &rec->fields, op->tr)
            : reg_reply_blank(op->reg, ctx, op->tr);

    reg_challenge_reply(op, q); /* with a challenge when one is asked */
}

static void on_get(void *arg, enum store_status st, struct store_record *rec)
{
    struct op *op = arg;
    xmpp_ctx_t *ctx = iq_req_ctx(op->req);
    xmpp_stanza_t *q;

    if (st == STORE_NOT_FOUND && reg_invites_on(op->reg)) {
        store_invite_prefill(op->reg->store, reg_op_service(op), op->bare,
                             on_prefill, op);
        return;
    }
    if (st == STORE_OK)
        q = reg_reply_registered(op->reg, ctx, rec, op->tr);
    else if (st == STORE_NOT_FOUND) {
        /* with a challenge when one is asked */
        reg_challenge_reply(op, reg_reply_blank(op->reg, ctx, op->tr));
        return;
    } else {
        reg_op_fail_unavailable(op);
        return;
    }
    iq_req_result(op->req, q);
    xmpp_stanza_release(q);
    reg_op_done(op);
}

/* Reads the legacy iq:register elements of the query into op->data. */
static bool read_legacy(struct op *op)
{
    xmpp_ctx_t *ctx = iq_req_ctx(op->req);
    bool any = false;

    op->legacy = true;
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(op->query); c;
         c = xmpp_stanza_get_next(c)) {
        const char *name =
            xmpp_stanza_is_tag(c) ? xmpp_stanza_get_name(c) : NULL;
        char *text;
        bool ok;

        if (!name || !reg_reply_is_legacy_field(name))
            continue;
        if (form_data_get(&op->data, name)) {
            /* the same element twice: refused as a form field given
             * twice is, before any more of it is copied */
            snprintf(op->problem, sizeof(op->problem), "<%s/> given twice",
                     name);
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
        reg_op_fail(op, IQ_INTERNAL_SERVER_ERROR, NULL);
        return false;
    }
    return true;
}

static void handle_form(struct op *op, xmpp_stanza_t *x)
{
    struct form_problem problem = {{0}};
    const char *form_type;

    switch (form_parse(x, &op->data, &problem)) {
    case FORM_OK:
        break;
    case FORM_CANCEL: /* the user gave up: nothing changes */
        iq_req_result(op->req, NULL);
        reg_op_done(op);
        return;
    default:
        reg_op_fail(op, IQ_BAD_REQUEST, problem.text);
        return;
    }
    form_type = op->data.form_type;
    if (!set_claim(op))
        return;
    if (form_type && !strcmp(form_type, REG_NS_CANCEL))
        reg_account_cancel_form(op);
    else if (form_type && !strcmp(form_type, REG_NS_CHANGEPASSWORD))
        reg_account_password_form(op);
    else
        reg_update_set(op);
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
        reg_account_remove(op, nchildren);
    } else if (x) {
        /* XEP-0077 section 7: the form takes precedence over legacy
         * fields sent beside it. */
        handle_form(op, x);
    } else if (!read_legacy(op)) {
        reg_op_fail(op, IQ_BAD_REQUEST,
                    op->problem[0]
                        ? op->problem
                        : "No registration data: submit the form or the "
                          "fields.");
    } else if (set_claim(op)) {
        reg_update_set(op);
    }
}

/* Policy and rate limits; false when the request was answered. */
static bool admitted(struct op *op, bool is_set)
{
    struct reg *reg = op->reg;
    const char *why;
    char text[160];

    if (policy_check(&reg->conf->registration, op->bare, &why) !=
        POLICY_ALLOW) {
        reg_op_fail(op, IQ_FORBIDDEN, why);
        return false;
    }
    if (is_set && reg->conf->registration.mode == CONF_MODE_REDIRECT) {
        text_format(text, sizeof(text), "Register at %s",
                    reg->conf->registration.url);
        reg_op_fail(op, IQ_NOT_ALLOWED, text);
        return false;
    }
    return !is_set || reg_op_rate_admitted(op);
}

static void on_bound(void *arg, enum store_status st, bool created)
{
    struct op *op = arg;

    (void)created;
    switch (st) {
    case STORE_OK:
        log_info("reg",
                 "%s presented an invitation to %s (id=%s): bound "
                 "for %lu s",
                 op->bare, reg_op_service(op), reg_op_id(op),
                 op->reg->conf->invites.preauth_ttl_s);
        iq_req_result(op->req, NULL);
        reg_op_done(op);
        return;
    case STORE_BAD_INVITE:
        log_debug("reg", "%s presented no usable invitation to %s (id=%s)",
                  op->bare, reg_op_service(op), reg_op_id(op));
        reg_op_fail(op, IQ_ITEM_NOT_FOUND, REG_TEXT_INVITE_INVALID);
        return;
    default:
        reg_op_fail_unavailable(op);
    }
}

void reg_preauth(struct reg *reg, struct iq_req *req)
{
    struct op *op = reg_op_start(reg, req);
    xmpp_stanza_t *p = iq_req_payload(req);
    const char *token = p ? xmpp_stanza_get_attribute(p, "token") : NULL;

    if (!op)
        return; /* answered: over an in-flight cap */
    if (!op->bare) {
        reg_op_fail(op, IQ_BAD_REQUEST, "The request has no sender.");
        return;
    }
    if (strcmp(iq_req_type(req), "set") != 0 || !reg_invites_on(reg)) {
        reg_op_fail(op, IQ_SERVICE_UNAVAILABLE, NULL);
        return;
    }
    /* who may register, and the rate of registration sets: a token
     * guessed is a registration tried */
    if (!admitted(op, true))
        return;
    if (!token || !*token) {
        reg_op_fail(op, IQ_BAD_REQUEST, "The <preauth/> has no token.");
        return;
    }
    if (strlen(token) > 256) {
        reg_op_fail(op, IQ_ITEM_NOT_FOUND, REG_TEXT_INVITE_INVALID);
        return;
    }
    store_invite_bind(reg->store, reg_op_service(op), token, op->bare,
                      reg->conf->invites.preauth_ttl_s, on_bound, op);
}

bool reg_bob_on(const struct reg *reg)
{
    return reg_challenge_images(reg);
}

void reg_bob(struct reg *reg, struct iq_req *req)
{
    struct op *op = reg_op_start(reg, req);

    if (!op)
        return; /* answered: over an in-flight cap */
    reg_challenge_bob(op);
}

void reg_handle(struct reg *reg, struct iq_req *req)
{
    bool is_set = strcmp(iq_req_type(req), "set") == 0;
    struct op *op = reg_op_start(reg, req);

    if (!op)
        return; /* answered: over an in-flight cap */
    if (!op->bare || !op->query) {
        reg_op_fail(op, IQ_BAD_REQUEST, "The request has no sender.");
        return;
    }
    if (!admitted(op, is_set))
        return;
    if (is_set) {
        handle_set(op);
    } else if (reg->conf->registration.mode == CONF_MODE_REDIRECT) {
        xmpp_stanza_t *q = reg_reply_redirect(reg, iq_req_ctx(req), op->tr);
        iq_req_result(req, q);
        xmpp_stanza_release(q);
        reg_op_done(op);
    } else {
        /* a reply only: the cache may answer (store.h) */
        store_get_cached(reg->store, reg_op_service(op), op->bare, on_get, op);
    }
}
