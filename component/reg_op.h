/*
 * reg_op.h - the life of one XEP-0077 request (reg_op.c): admission
 * against the in-flight caps, errors, the record on file, bcrypt steps on
 * the hashing worker.  For reg's files only (reg_types.h).
 */
#ifndef REGISTRAR_REG_OP_H
#define REGISTRAR_REG_OP_H

#include "reg_types.h"

#define REG_TEXT_UNAVAILABLE                                                   \
    "The registration database is unavailable; please try again later."
#define REG_TEXT_NOT_REGISTERED "You are not registered with this service."

/* The translation for req's xml:lang into *tr (NULL: the untranslated
 * texts; lang.h's lang_select), and req's replies set to say their
 * language when the service has translations.  Returns tr.  reg_op_start
 * does it for its op. */
const struct conf_lang **reg_op_lang(const struct reg *reg, struct iq_req *req,
                                     const struct conf_lang **tr);

/* Takes req: an op for it, counted in flight; or NULL when req was
 * answered already (over an in-flight cap, or out of memory). */
struct op *reg_op_start(struct reg *reg, struct iq_req *req);
/* Ends op and its request (answering internal-server-error if nothing was
 * sent) and frees it. */
void reg_op_done(struct op *op);
const char *reg_op_id(const struct op *op);
/* What the request turned out to ask (stats.h), for its count when it
 * ends: reg_op_start() says get or register (by the iq's type); a flow
 * that knows better says so. */
void reg_op_kind(struct op *op, enum stats_kind kind);
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
/* Takes op's sender's tokens from the service's rate limits (limiter.h):
 * true when there were some; else answers policy-violation naming the
 * limit and when to try again (counted in the stats) and returns false.
 * For every request that writes: a set, a get that issues a challenge. */
bool reg_op_rate_admitted(struct op *op);
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

#endif
