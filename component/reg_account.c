/*
 * reg_account.c - changes to an existing registration: cancel (plain
 * <remove/>, or the jabber:iq:register:cancel form with a proof) and
 * password change (legacy <username/>+<password/>, or the
 * jabber:iq:register:changepassword form with the old password and
 * proofs), under the service's remove and password_change settings.
 *
 * Whether a claimed username is the requester's own is the database's
 * answer (store_record.claim_matches), never a comparison here.  Errors
 * of a password change echo nothing of the request (XEP-0077 3.3).
 */
#include "reg_account.h"

#include <string.h>

#include "log.h"
#include "reg_op.h"
#include "reg_reply.h"
#include "text.h"

#define REG_TEXT_DISABLED                                                      \
    "Your registration is disabled: it cannot be updated, nor its password "   \
    "changed; you may cancel it."
#define REG_TEXT_BANNED                                                        \
    "This address may not register with this service again: its "              \
    "registration was disabled and then cancelled."

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
            reg_op_add_task(op, var, given, stored);
        } else {
            ok &= strcmp(given, stored) == 0;
        }
    }
    return ok;
}

static void on_removed(void *arg, enum store_status st, bool created)
{
    struct op *op = arg;

    (void)created;
    if (st == STORE_OK) {
        log_info("reg", "%s cancelled the registration with %s (id=%s)",
                 op->bare, reg_op_service(op), reg_op_id(op));
        iq_req_result(op->req, NULL);
        reg_op_done(op);
    } else if (st == STORE_NOT_FOUND) {
        reg_op_fail(op, IQ_REGISTRATION_REQUIRED, REG_TEXT_NOT_REGISTERED);
    } else {
        reg_op_fail_unavailable(op);
    }
}

/* The reason an admin gave, after text, character-safe. */
static void fail_with_reason(struct op *op, enum iq_error e, const char *text,
                             const char *reason)
{
    char buf[1536];

    if (reason && *reason)
        text_format(buf, sizeof(buf), "%s Reason: %s", text, reason);
    else
        text_format(buf, sizeof(buf), "%s", text);
    reg_op_fail(op, e, buf);
}

void reg_account_fail_disabled(struct op *op, const char *reason)
{
    fail_with_reason(op, IQ_NOT_ALLOWED, REG_TEXT_DISABLED, reason);
}

void reg_account_fail_banned(struct op *op, const char *reason)
{
    fail_with_reason(op, IQ_FORBIDDEN, REG_TEXT_BANNED, reason);
}

/* remove = "form": a bare <remove/> is answered with the cancel form. */
static void on_get_for_remove(void *arg, enum store_status st,
                              struct store_record *rec)
{
    struct op *op = arg;
    xmpp_ctx_t *ctx = iq_req_ctx(op->req);
    xmpp_stanza_t *q;

    (void)rec;
    if (st == STORE_NOT_FOUND) {
        reg_op_fail(op, IQ_REGISTRATION_REQUIRED, REG_TEXT_NOT_REGISTERED);
        return;
    }
    if (st != STORE_OK) {
        reg_op_fail_unavailable(op);
        return;
    }
    q = reg_reply_cancel_form(op->reg, ctx, op->tr);
    iq_req_error(op->req, IQ_NOT_ALLOWED,
                 "Submit the enclosed form to cancel your registration.", q);
    xmpp_stanza_release(q);
    reg_op_done(op);
}

static void after_cancel_proof(struct op *op)
{
    if (!reg_op_tasks_ok(op)) {
        reg_op_fail(op, IQ_FORBIDDEN,
                    "The proof given does not match the registration.");
        return;
    }
    store_remove(op->reg->store, reg_op_service(op), op->bare,
                 &(struct store_origin){.iq_id = reg_op_id(op)}, on_removed,
                 op);
}

/* A submitted jabber:iq:register:cancel form. */
static void on_get_for_cancel_form(void *arg, enum store_status st,
                                   struct store_record *rec)
{
    struct op *op = arg;
    struct form_problem problem = {{0}};
    enum form_status fs;
    bool ok;

    if (!reg_op_keep_registered(op, st, rec))
        return;
    fs = form_validate(&op->reg->cancel_def, &op->data, false, &problem);
    if (fs != FORM_OK) {
        reg_op_fail(op, IQ_BAD_REQUEST, problem.text);
        return;
    }
    ok = check_proof_fields(op, &op->reg->cancel_def);
    if (op->reg->has_username)
        ok &= op->rec.claim_matches;
    if (op->reg->has_password) {
        if (op->rec.password_hash)
            reg_op_add_task(op, "password",
                            form_data_first(&op->data, "password"),
                            op->rec.password_hash);
        else
            ok = false;
    }
    op->proof_failed = !ok;
    reg_op_run_tasks(op, after_cancel_proof);
}

static void on_password_set(void *arg, enum store_status st, bool created)
{
    struct op *op = arg;

    (void)created;
    if (st == STORE_OK) {
        log_info("reg", "%s changed the password with %s (id=%s)", op->bare,
                 reg_op_service(op), reg_op_id(op));
        iq_req_result(op->req, NULL);
        reg_op_done(op);
    } else if (st == STORE_NOT_FOUND) {
        reg_op_fail(op, IQ_REGISTRATION_REQUIRED, REG_TEXT_NOT_REGISTERED);
    } else if (st == STORE_NOT_ALLOWED) { /* disabled meanwhile */
        reg_account_fail_disabled(op, NULL);
    } else {
        reg_op_fail_unavailable(op);
    }
}

/* After the tasks: every proof verified, and the new password hashed. */
static void after_password_tasks(struct op *op)
{
    const char *hash = reg_op_task_hash(op, "password");

    if (!reg_op_tasks_ok(op) || !hash) {
        reg_op_fail_as(op, IQ_NOT_AUTHORIZED, "modify",
                       "The old password or a proof does not match.");
        return;
    }
    store_set_password(op->reg->store, reg_op_service(op), op->bare, hash,
                       &(struct store_origin){.iq_id = reg_op_id(op)},
                       on_password_set, op);
}

/* XEP-0077 section 3.3, example 21. */
void reg_account_ask_password_form(struct op *op)
{
    xmpp_stanza_t *q =
        reg_reply_password_form(op->reg, iq_req_ctx(op->req), op->tr);

    iq_req_error_as(op->req, IQ_NOT_AUTHORIZED, "modify",
                    "Submit the enclosed form to change your password.", q);
    xmpp_stanza_release(q);
    reg_op_done(op);
}

/* Checks common to both kinds of change; false when answered. */
static bool password_change_allowed(struct op *op)
{
    if (op->reg->conf->registration.password_change == CONF_PWCHANGE_OFF) {
        reg_op_fail(op, IQ_NOT_ALLOWED,
                    "This service does not allow password changes.");
        return false;
    }
    if (!op->reg->has_password) {
        reg_op_fail(op, IQ_NOT_ALLOWED, "This service keeps no password.");
        return false;
    }
    if (op->rec.state == STORE_STATE_DISABLED) {
        reg_account_fail_disabled(op, op->rec.disabled_reason);
        return false;
    }
    return true;
}

/* Refuses the request for not naming the requester's own account. */
static void refuse_not_own(struct op *op)
{
    reg_op_fail_as(op, IQ_NOT_AUTHORIZED, "modify",
                   "You can only change the password of your own account.");
}

/* A password change checked against def (the form's rules: bad-request or
 * not-acceptable), naming the requester's own account (not-authorized);
 * false when answered. */
static bool valid_and_own(struct op *op, const struct form_def *def)
{
    struct form_problem problem = {{0}};
    enum form_status fs = form_validate(def, &op->data, false, &problem);

    if (fs != FORM_OK) {
        reg_op_fail(op,
                    fs == FORM_BAD_REQUEST ? IQ_BAD_REQUEST : IQ_NOT_ACCEPTABLE,
                    problem.text);
        return false;
    }
    if (!op->rec.claim_matches) {
        refuse_not_own(op);
        return false;
    }
    return true;
}

/* Held to the rules of the registration form; errors never echo the
 * request (XEP-0077 section 3.3). */
void reg_account_legacy_password(struct op *op)
{
    const char *pw = form_data_first(&op->data, "password");
    bool blank = true;

    reg_op_kind(op, STATS_PASSWORD_CHANGE);
    if (!password_change_allowed(op))
        return;
    if (op->reg->conf->registration.password_change == CONF_PWCHANGE_FORM) {
        reg_account_ask_password_form(op);
        return;
    }
    for (const char *p = pw; p && *p; p++)
        blank &= *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r';
    if (blank) {
        reg_op_fail(op, IQ_NOT_ACCEPTABLE,
                    "The new password must not be empty; the old one is kept.");
        return;
    }
    if (!valid_and_own(op, &op->reg->legacy_pw_def))
        return;
    reg_op_add_task(op, "password", form_data_first(&op->data, "password"),
                    NULL);
    reg_op_run_tasks(op, after_password_tasks);
}

/* A submitted jabber:iq:register:changepassword form. */
static void on_get_for_password_form(void *arg, enum store_status st,
                                     struct store_record *rec)
{
    struct op *op = arg;
    bool ok;

    if (!reg_op_keep_registered(op, st, rec))
        return;
    if (!password_change_allowed(op))
        return;
    if (!valid_and_own(op, &op->reg->pw_def))
        return;
    ok = check_proof_fields(op, &op->reg->pw_def) && op->rec.password_hash;
    if (op->rec.password_hash)
        reg_op_add_task(op, "old_password",
                        form_data_first(&op->data, "old_password"),
                        op->rec.password_hash);
    op->proof_failed = !ok;
    reg_op_add_task(op, "password", form_data_first(&op->data, "password"),
                    NULL);
    reg_op_run_tasks(op, after_password_tasks);
}

void reg_account_remove(struct op *op, size_t nchildren)
{
    reg_op_kind(op, STATS_REMOVE);
    switch (op->reg->conf->registration.remove) {
    case CONF_REMOVE_OFF:
        reg_op_fail(op, IQ_NOT_ALLOWED,
                    "This service does not allow cancelling in-band.");
        return;
    case CONF_REMOVE_FORM:
        if (nchildren != 1)
            break;
        store_get(op->reg->store, reg_op_service(op), op->bare, NULL,
                  on_get_for_remove, op);
        return;
    case CONF_REMOVE_PLAIN:
        if (nchildren != 1)
            break;
        store_remove(op->reg->store, reg_op_service(op), op->bare,
                     &(struct store_origin){.iq_id = reg_op_id(op)}, on_removed,
                     op);
        return;
    }
    reg_op_fail(op, IQ_BAD_REQUEST,
                "<remove/> must be the only child of <query/>.");
}

void reg_account_cancel_form(struct op *op)
{
    reg_op_kind(op, STATS_REMOVE);
    if (op->reg->conf->registration.remove == CONF_REMOVE_OFF)
        reg_op_fail(op, IQ_NOT_ALLOWED,
                    "This service does not allow cancelling in-band.");
    else
        store_get(op->reg->store, reg_op_service(op), op->bare, op->claim,
                  on_get_for_cancel_form, op);
}

void reg_account_password_form(struct op *op)
{
    reg_op_kind(op, STATS_PASSWORD_CHANGE);
    store_get(op->reg->store, reg_op_service(op), op->bare, op->claim,
              on_get_for_password_form, op);
}
