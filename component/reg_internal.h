/*
 * reg_internal.h - what the files of the XEP-0077 module share, and only
 * they: the service (struct reg), one request in progress (struct op) and
 * the helpers every flow uses.  Not for use outside reg*.c and their unit
 * tests.
 *
 *   reg.c          set-up, dispatch, get
 *   reg_op.c       a request's life: admission (in-flight caps), errors,
 *                  the record on file, bcrypt steps on the hashing worker
 *   reg_update.c   register or update, and the secret-change policy
 *   reg_account.c  account changes: password change, cancel, proofs
 *   reg_reply.c    the queries a reply carries (pure builders)
 *
 * Ownership: a flow takes its op and ends it exactly once, with
 * reg_op_done() or one of the reg_op_fail*() calls, which answer the
 * request if nothing else did.
 */
#ifndef REGISTRAR_REG_INTERNAL_H
#define REGISTRAR_REG_INTERNAL_H

#include "limiter.h"
#include "reg.h"
#include "secret.h"

#define REG_TEXT_UNAVAILABLE                                                   \
    "The registration database is unavailable; please try again later."
#define REG_TEXT_NOT_REGISTERED "You are not registered with this service."
#define REG_TEXT_DISABLED                                                      \
    "Your registration is disabled: it cannot be updated, nor its password "   \
    "changed; you may cancel it."
#define REG_TEXT_BANNED                                                        \
    "This address may not register with this service again: its "              \
    "registration was disabled and then cancelled."

#define REG_INFLIGHT_SLOTS 256

/* The refusals that come in floods, each logged at most once a second
 * per kind with its count (reg_op.c). */
enum reg_refusal {
    REG_REFUSED_PER_JID, /* the in-flight cap per bare JID */
    REG_REFUSED_SERVICE, /* the in-flight cap of the service */
    REG_REFUSED_MEMORY,  /* no memory to count a request in flight */
    REG_REFUSED_RATE,    /* a rate limit (reg.c: policy-violation) */
    REG_REFUSED_HASHING, /* the service's share of the hashing queue is
                          * full, or the worker is stopping */
    REG_REFUSED_KINDS
};

struct reg_jid_count {
    struct reg_jid_count *next;
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
    struct reg_jid_count *by_jid[REG_INFLIGHT_SLOTS];
    /* refusals, per kind, logged once a second (reg_op.c) */
    struct limiter_tally refused[REG_REFUSED_KINDS];
};

/* One bcrypt step for the field var, done on the hashing worker: verify
 * plain against hash, or (hash NULL) make a hash of plain into out.  var
 * is borrowed from the form definitions, plain and hash from the op, which
 * the loop does not change while the job runs. */
struct reg_task {
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
    bool legacy; /* data came as iq:register elements */
    bool registered;
    struct store_record rec; /* what is on file, when registered */
    struct reg_task *tasks;  /* sized by what the request needs */
    size_t ntasks;
    bool tasks_oom;
    bool tasks_dropped; /* the worker stopped before running them */
    unsigned cost;      /* bcrypt cost, copied for the worker thread */
    void (*after)(struct op *op); /* continues once the tasks are done */
    bool proof_failed;            /* a proof compared in clear did not match */
    bool secret_changed; /* an update sets a secret other than on file */
    char problem[64];    /* why the legacy elements were refused */
    char password_hash[SECRET_HASH_MAX];
    bool has_password_hash;
};

/* ---- reg_op.c ------------------------------------------------------------ */

/* Takes req: an op for it, counted in flight; or NULL when req was
 * answered already (over an in-flight cap, or out of memory). */
struct op *reg_op_start(struct reg *reg, struct iq_req *req);
/* Ends op and its request (answering internal-server-error if nothing was
 * sent) and frees it. */
void reg_op_done(struct op *op);
const char *reg_op_id(const struct op *op);
/* The component JID: the service the registration belongs to. */
const char *reg_op_service(const struct op *op);
/* Sends an error (logged where the iq is answered) and ends op.  A
 * policy-violation (a rate limit) is counted as a refusal
 * (REG_REFUSED_RATE, logged once a second). */
void reg_op_fail(struct op *op, enum iq_error e, const char *text);
/* The same, with the error type given (NULL: the condition's usual one). */
void reg_op_fail_as(struct op *op, enum iq_error e, const char *type,
                    const char *text);
/* internal-server-error, type wait: the database is unavailable. */
void reg_op_fail_unavailable(struct op *op);
/* Takes what the store returned (moved, leaving *rec empty) into op->rec
 * and sets op->registered. */
void reg_op_keep_record(struct op *op, struct store_record *rec);
/* The same for a flow that needs a registration: false (answered) when
 * there is none or the store failed. */
bool reg_op_keep_registered(struct op *op, enum store_status st,
                            struct store_record *rec);

/* True when the service's share of the hashing queue (worker.h: shares)
 * is full: then op has been answered 'try again later' and ended, the
 * refusal counted.  A flow that will hash checks it before its database
 * read. */
bool reg_op_hashing_refused(struct op *op);

/* Queues a bcrypt step for var (see struct reg_task). */
void reg_op_add_task(struct op *op, const char *var, const char *plain,
                     const char *hash);
/* Runs the tasks on the hashing worker, then after(op) on the loop; a
 * worker that is full (the service's share: reg is the owner of its
 * jobs) or stopping answers 'try again later' instead. */
void reg_op_run_tasks(struct op *op, void (*after)(struct op *));
/* Every task succeeded (hashed, or verified as a match) and no proof
 * compared in clear failed. */
bool reg_op_tasks_ok(const struct op *op);
/* The hash made for var, or NULL. */
const char *reg_op_task_hash(const struct op *op, const char *var);
void reg_op_tasks_clear(struct op *op);

/* ---- reg_reply.c: pure builders; the caller owns what they return ------ */

/* What an unregistered requester gets (XEP-0077 section 6). */
xmpp_stanza_t *reg_reply_blank(const struct reg *reg, xmpp_ctx_t *ctx);
/* Redirection (section 5): instructions and a URL only. */
xmpp_stanza_t *reg_reply_redirect(const struct reg *reg, xmpp_ctx_t *ctx);
/* <registered/>, the values on file (never a secret), the form
 * pre-filled. */
xmpp_stanza_t *reg_reply_registered(const struct reg *reg, xmpp_ctx_t *ctx,
                                    const struct store_record *rec);
/* The query with the changepassword or the cancel form. */
xmpp_stanza_t *reg_reply_password_form(const struct reg *reg, xmpp_ctx_t *ctx);
xmpp_stanza_t *reg_reply_cancel_form(const struct reg *reg, xmpp_ctx_t *ctx);
/* A copy of a submitted query (borrowed) for echoing in an error: legacy
 * elements copied, secrets sent back empty, a data form left out; NULL
 * when nothing is worth echoing. */
xmpp_stanza_t *reg_reply_echo(const struct reg *reg, xmpp_stanza_t *query);

/* ---- reg_update.c -------------------------------------------------------- */

/* A set of registration data (form or legacy elements) in op->data: looks
 * up the registration, then registers or updates.  Takes op. */
void reg_update_set(struct op *op);

/* ---- reg_account.c ------------------------------------------------------- */

/* Moderation's answers, with the admin's reason (NULL: none) quoted
 * character-safe.  A disabled registration refuses a change: not-allowed
 * (405); a banned JID (its user cancelled a disabled registration) may not
 * register again: forbidden (403, auth).  End op. */
void reg_fail_disabled(struct op *op, const char *reason);
void reg_fail_banned(struct op *op, const char *reason);

/* <remove/> (the only child when nchildren is 1).  Takes op. */
void reg_account_remove(struct op *op, size_t nchildren);
/* A submitted jabber:iq:register:cancel form in op->data.  Takes op. */
void reg_account_cancel_form(struct op *op);
/* A submitted jabber:iq:register:changepassword form.  Takes op. */
void reg_account_password_form(struct op *op);
/* <username/> + <password/> from a registered JID (op->rec on file).
 * Takes op. */
void reg_account_legacy_password(struct op *op);
/* Answers with the changepassword form (not-authorized, modify) and ends
 * op. */
void reg_account_ask_password_form(struct op *op);

#endif
