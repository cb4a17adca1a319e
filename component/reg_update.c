/*
 * reg_update.c - a set of registration data: register, or update the
 * registration on file; and the one policy for secrets: an update that
 * would change the password or any text-private value is a password
 * change, whatever its shape, and password_change decides it.
 *
 * Secrets are hashed (or checked against the hashes on file) on the
 * hashing worker; the record is written only with hashes.  A set without
 * secrets is written without reading first (needs_no_read).  The reply is
 * sent after the store has committed.
 */
#include "reg_update.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "messages.h"
#include "reg_account.h"
#include "reg_challenge.h"
#include "reg_op.h"
#include "reg_reply.h"
#include "text.h"

/* A refused registration: the error echoes the legacy elements sent,
 * secrets blanked (XEP-0077 examples 7 and 8).  Ends op. */
static void fail_echo(struct op *op, enum iq_error e, const char *text)
{
    xmpp_stanza_t *echo = reg_reply_echo(op->reg, op->query);

    iq_req_error(op->req, e, text, echo);
    if (echo)
        xmpp_stanza_release(echo);
    reg_op_done(op);
}

/* A new registration: a <message type='normal'/> to each notify_jids
 * entry (the admin_notice template, or the fixed text), then the welcome
 * to the user when the service has one (messages.h); neither ever
 * carries a private value. */
static void send_notices(struct op *op)
{
    const struct conf *conf = op->reg->conf;
    const struct conf_list *to = &conf->registration.notify_jids;
    xmpp_ctx_t *ctx = iq_req_ctx(op->req);
    struct template_values v = {
        .service = reg_op_service(op),
        .jid = op->bare,
        .username = form_data_first(&op->data, "username"),
        /* as the database created it (an invitation's state included) */
        .state = store_state_name(op->started),
    };
    char body[TEMPLATE_BODY_MAX];
    const char *welcome;
    xmpp_stanza_t *m;

    if (to->n > 0) {
        messages_notice_body(body, sizeof(body), conf, &v);
        for (size_t i = 0; i < to->n; i++) {
            if (!(m = messages_stanza(ctx, v.service, to->items[i], body)))
                continue;
            iq_req_send(op->req, m);
            xmpp_stanza_release(m);
            stats_notice_sent(op->reg->stats);
        }
        log_info("reg", "told %zu JID(s) of the registration of %s (id=%s)",
                 to->n, op->bare, reg_op_id(op));
    }
    /* in the request's language (lang.h): its translation's welcome */
    welcome = op->tr && op->tr->messages.welcome ? op->tr->messages.welcome
                                                 : conf->messages.welcome;
    if (!welcome)
        return;
    template_expand(body, sizeof(body), welcome, &v);
    if (!(m = messages_stanza(ctx, v.service, op->bare, body)))
        return;
    if (iq_req_reply_lang(op->req))
        xmpp_stanza_set_attribute(m, "xml:lang", iq_req_reply_lang(op->req));
    iq_req_send(op->req, m);
    xmpp_stanza_release(m);
    stats_message_sent(op->reg->stats, STATS_MESSAGE_WELCOME);
    log_info("reg", "welcomed %s to %s (%s; id=%s)", op->bare, v.service,
             v.state, reg_op_id(op));
}

static void on_put(void *arg, enum store_status st, bool created,
                   const char *reason)
{
    struct op *op = arg;

    /* no read first (needs_no_read): the write tells an update */
    if ((st == STORE_OK && !created) || st == STORE_NOT_ALLOWED)
        reg_op_kind(op, STATS_UPDATE);
    switch (st) {
    case STORE_OK:
        log_info("reg", "%s %s with %s (id=%s)", op->bare,
                 created ? "registered" : "updated the registration",
                 reg_op_service(op), reg_op_id(op));
        /* notices and welcome first: the reply is the last stanza of the
         * request */
        if (created)
            send_notices(op);
        iq_req_result(op->req, NULL);
        reg_op_done(op);
        return;
    case STORE_NOT_ALLOWED: /* disabled (meanwhile, or unread) */
        reg_account_fail_disabled(op, reason);
        return;
    case STORE_BANNED: /* its user cancelled a disabled registration */
        /* debug: a banned user may try at will (iq.c logs the answers,
         * aggregated) */
        log_debug("reg", "%s may not register again with %s (banned; id=%s)",
                  op->bare, reg_op_service(op), reg_op_id(op));
        reg_account_fail_banned(op, reason);
        return;
    case STORE_INVALID: /* the database's username rule */
        fail_echo(op, IQ_NOT_ACCEPTABLE,
                  "The username is not acceptable: it must not be empty, "
                  "begin or end with white space, or contain control or "
                  "invisible characters.");
        return;
    case STORE_CONFLICT:
        fail_echo(op, IQ_CONFLICT, "That username is already taken.");
        return;
    case STORE_BAD_INVITE: /* XEP-0445's answer to a bad token */
        log_debug("reg", "%s gave %s no usable invitation (id=%s)", op->bare,
                  reg_op_service(op), reg_op_id(op));
        reg_op_fail(op, IQ_ITEM_NOT_FOUND, REG_TEXT_INVITE_INVALID);
        return;
    case STORE_NO_INVITE:
        if (op->update_only) { /* removed since it was read */
            log_debug("reg",
                      "%s's update of %s found no registration: a new one "
                      "needs a challenge (id=%s)",
                      op->bare, reg_op_service(op), reg_op_id(op));
            reg_op_fail(op, IQ_NOT_ACCEPTABLE, REG_TEXT_CHALLENGE_REQUIRED);
            return;
        }
        log_debug("reg",
                  "%s may not register with %s without an invitation "
                  "(id=%s)",
                  op->bare, reg_op_service(op), reg_op_id(op));
        reg_op_fail(op, IQ_FORBIDDEN, REG_TEXT_INVITE_REQUIRED);
        return;
    default:
        reg_op_fail_unavailable(op);
    }
}

/* After hashing: the secrets in op->data are replaced by their hashes (the
 * password goes to its own column), secrets left out of an update keep
 * their stored hash, and the registration is written. */
static void after_register_tasks(struct op *op)
{
    const struct form_def *def = &op->reg->def;

    if (!reg_op_tasks_ok(op)) {
        log_error("reg", "cannot hash a secret for %s (id=%s)", op->bare,
                  reg_op_id(op));
        reg_op_fail(op, IQ_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    for (size_t i = 0; i < def->nfields; i++) {
        const struct form_field_def *f = &def->fields[i];
        bool is_password = strcmp(f->var, "password") == 0;
        const char *h, *kept;

        if (f->type != FORM_TEXT_PRIVATE)
            continue;
        if (form_data_get(&op->data, f->var)) {
            if (!(h = reg_op_task_hash(op, f->var))) {
                reg_op_fail(op, IQ_INTERNAL_SERVER_ERROR, NULL);
                return;
            }
            form_data_remove(&op->data, f->var); /* wipes the clear text */
            if (is_password) {
                strcpy(op->password_hash, h);
                op->has_password_hash = true;
            } else if (!form_data_add(&op->data, f->var, h)) {
                reg_op_fail(op, IQ_INTERNAL_SERVER_ERROR, NULL);
                return;
            }
        } else if (!is_password &&
                   (kept = form_data_first(&op->rec.fields, f->var)) &&
                   !form_data_add(&op->data, f->var, kept)) {
            reg_op_fail(op, IQ_INTERNAL_SERVER_ERROR, NULL);
            return;
        }
    }
    struct store_consent consents[FORM_MAX_FIELDS];
    size_t nconsents = 0;

    for (size_t i = 0; i < def->nfields && nconsents < FORM_MAX_FIELDS; i++)
        if (def->fields[i].consent)
            consents[nconsents++] = (struct store_consent){
                .var = def->fields[i].var, .version = def->fields[i].consent};
    struct store_put put = {
        .service = reg_op_service(op),
        .jid = op->bare,
        .username = form_data_first(&op->data, "username"),
        .def = def,
        .fields = &op->data,
        .password_hash = op->has_password_hash ? op->password_hash : NULL,
        .initial_state =
            op->reg->conf->registration.initial_state == CONF_STATE_PENDING
                ? STORE_STATE_PENDING
                : STORE_STATE_ACTIVE,
        .consents = consents,
        .nconsents = nconsents,
        .origin = {.iq_id = reg_op_id(op)},
        /* the token is checked, and used, by the write itself */
        .invite = op->reg->conf->invites.mode != CONF_INVITES_OFF,
        .invite_token = op->invite_token,
        .invite_required = op->reg->conf->invites.mode == CONF_INVITES_REQUIRED,
        .started = &op->started,
    };
    /* An update passes no challenge: it must stay one.  Were the
     * registration removed since it was read, the write would create one
     * unchallenged; the invitations' rule refuses, in the write's own
     * transaction, a creation without an invitation (bound by <preauth/>
     * or given): STORE_NO_INVITE, answered as a missing challenge. */
    if (op->registered && reg_challenge_on(op->reg)) {
        put.invite = true;
        put.invite_required = true;
        op->update_only = true;
    }
    op->started = put.initial_state;
    store_put(op->reg->store, &put, on_put, op);
}

/* Queues a hash of every secret (text-private value) left in op->data. */
static void hash_secrets(struct op *op)
{
    const struct form_def *def = &op->reg->def;

    for (size_t i = 0; i < def->nfields; i++) {
        const char *v = form_data_first(&op->data, def->fields[i].var);
        if (def->fields[i].type == FORM_TEXT_PRIVATE && v)
            reg_op_add_task(op, def->fields[i].var, v, NULL);
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
            reg_op_fail(op, IQ_NOT_ALLOWED,
                        "This service does not allow changing the password or "
                        "another private field; nothing was changed.");
            return;
        case CONF_PWCHANGE_FORM:
            if (!op->reg->has_password) {
                reg_op_fail(op, IQ_NOT_ALLOWED,
                            "This service does not allow changing a private "
                            "field; nothing was changed.");
                return;
            }
            log_debug("reg",
                      "update from %s (id=%s) changes a secret: "
                      "asked for the changepassword form",
                      op->bare, reg_op_id(op));
            reg_account_ask_password_form(op);
            return;
        case CONF_PWCHANGE_LEGACY:
            break;
        }
    }
    reg_op_tasks_clear(op);
    for (size_t i = 0; i < nunchanged; i++)
        form_data_remove(&op->data, unchanged[i]);
    hash_secrets(op);
    reg_op_run_tasks(op, after_register_tasks);
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
            reg_op_add_task(op, f->var, v, stored);
        else
            op->secret_changed = true; /* a secret where none was */
    }
    reg_op_run_tasks(op, after_secret_checks);
}

/* The username chosen, if any, follows the rule of text.h (the database
 * has the last word); false when refused (answered, echoing the request
 * without secrets). */
static bool username_acceptable(struct op *op)
{
    const char *name = form_data_first(&op->data, "username");
    const char *why;
    char text[160];

    if (!name || text_username_ok(name, &why))
        return true;
    snprintf(text, sizeof(text), "The username %s.", why);
    fail_echo(op, IQ_NOT_ACCEPTABLE, text);
    return false;
}

/* Every consent field is true (XEP-0004 boolean, canonicalised to "1" by
 * validation); false when answered, naming the field. */
static bool consents_given(struct op *op)
{
    const struct form_def *def = &op->reg->def;
    char text[160];

    for (size_t i = 0; i < def->nfields; i++) {
        const struct form_field_def *f = &def->fields[i];
        const char *v = form_data_first(&op->data, f->var);

        if (!f->consent || (v && strcmp(v, "1") == 0))
            continue;
        text_format(text, sizeof(text),
                    "field '%s' is a consent and must be accepted (true)",
                    f->var);
        fail_echo(op, IQ_NOT_ACCEPTABLE, text);
        return false;
    }
    return true;
}

/* Only <username/> and <password/>: XEP-0077 3.3, a password change. */
static bool is_password_change(const struct op *op)
{
    return op->legacy && op->data.n == 2 &&
           form_data_get(&op->data, "username") &&
           form_data_get(&op->data, "password");
}

/* A new registration, its challenge passed (or none asked): its secrets
 * hashed, then the write. */
static void register_new(struct op *op)
{
    hash_secrets(op);
    reg_op_run_tasks(op, after_register_tasks);
}

/* The checks of every set, whatever path it took: the form, the username,
 * the consents; a new registration's challenge (reg_challenge.h); then
 * the secrets (an update's compared with those on file, a new
 * registration's hashed) and the write. */
static void check_and_write(struct op *op)
{
    const struct form_def *def = &op->reg->def;
    struct form_problem problem = {{0}};
    enum form_status fs;

    fs = form_validate(def, &op->data, op->registered, &problem);
    if (fs != FORM_OK) {
        fail_echo(op,
                  fs == FORM_BAD_REQUEST ? IQ_BAD_REQUEST : IQ_NOT_ACCEPTABLE,
                  problem.text);
        return;
    }
    if (!username_acceptable(op) || !consents_given(op))
        return;
    if (op->registered) {
        check_secret_changes(op);
        return;
    }
    reg_challenge_gate(op, register_new);
}

static void on_get_for_set(void *arg, enum store_status st,
                           struct store_record *rec)
{
    struct op *op = arg;

    if (st != STORE_OK && st != STORE_NOT_FOUND) {
        reg_op_fail_unavailable(op);
        return;
    }
    if (st == STORE_OK) {
        reg_op_kind(op, STATS_UPDATE);
        reg_op_keep_record(op, rec);
    }
    if (op->registered && op->rec.state == STORE_STATE_DISABLED) {
        reg_account_fail_disabled(op, op->rec.disabled_reason);
        return;
    }
    if (op->registered && is_password_change(op)) {
        reg_account_legacy_password(op);
        return;
    }
    check_and_write(op);
}

/* A set that needs nothing on file: no secret given (nothing to hash, and
 * no secret change to decide), and no private field required (so a new
 * registration and an update are validated alike).  It is written at
 * once, one round trip: the store keeps the private values on file
 * (store.h), and the database refuses a disabled registration
 * (STORE_NOT_ALLOWED) as the read would have. */
static bool needs_no_read(const struct op *op)
{
    const struct form_def *def = &op->reg->def;

    for (size_t i = 0; i < def->nfields; i++) {
        const struct form_field_def *f = &def->fields[i];

        if (f->type == FORM_TEXT_PRIVATE &&
            (f->required || form_data_get(&op->data, f->var)))
            return false;
    }
    return !is_password_change(op);
}

/* The invitation of a set (the form's preauth field; the ad-hoc command's
 * form too, which reg gets as a set) into op->invite_token, out of the
 * data: the one way every registration path gives one, and never a
 * registration field.  False when out of memory (answered). */
static bool take_invite_token(struct op *op)
{
    const char *v = form_data_first(&op->data, REG_FIELD_PREAUTH);
    size_t len;

    if (op->reg->conf->invites.mode == CONF_INVITES_OFF)
        return true; /* an unknown field: validation drops it */
    if (v) {
        while (*v == ' ' || (*v >= '\t' && *v <= '\r'))
            v++;
        len = strlen(v);
        while (len && (v[len - 1] == ' ' ||
                       (v[len - 1] >= '\t' && v[len - 1] <= '\r')))
            len--;
        if (len && !(op->invite_token = strndup(v, len))) {
            reg_op_fail(op, IQ_INTERNAL_SERVER_ERROR, NULL);
            return false;
        }
    }
    form_data_remove(&op->data, REG_FIELD_PREAUTH);
    return true;
}

void reg_update_set(struct op *op)
{
    if (!take_invite_token(op) || !reg_challenge_take(op))
        return;
    /* with challenges, a new registration must be told from an update
     * before the write: read first */
    if (needs_no_read(op) && !reg_challenge_on(op->reg)) {
        check_and_write(op);
        return;
    }
    /* secrets: the hashing worker will be needed; when the service's
     * share of its queue is full, refuse now rather than after a
     * database read (a flood of password registrations costs the
     * database nothing more) */
    if (reg_op_hashing_refused(op))
        return; /* the service's share is full: answered */
    store_get(op->reg->store, reg_op_service(op), op->bare, op->claim,
              on_get_for_set, op);
}
