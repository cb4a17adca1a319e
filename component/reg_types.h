/*
 * reg_types.h - what the files of the XEP-0077 module share, and only
 * they: the service (struct reg), one request in progress (struct op) and
 * one bcrypt step (struct reg_task).  Not for use outside reg*.c and
 * their unit tests.
 *
 * The files, from the top down; each calls only files below it, through
 * their headers, and none includes reg.h:
 *
 *   reg.c          set-up, dispatch, get (reg.h: the module's face)
 *   reg_update.c   register or update, and the secret-change policy
 *   reg_account.c  account changes: password change, cancel, proofs
 *   reg_reply.c    the queries a reply carries (pure builders), and the
 *                  elements of the jabber:iq:register schema
 *   reg_op.c       a request's life: admission (in-flight caps), errors,
 *                  the record on file, bcrypt steps on the hashing worker
 *
 * Ownership: a flow takes its op and ends it exactly once, with
 * reg_op_done() or one of the reg_op_fail*() calls (reg_op.h), which
 * answer the request if nothing else did.
 */
#ifndef REGISTRAR_REG_TYPES_H
#define REGISTRAR_REG_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <strophe.h>

#include "conf.h"
#include "form.h"
#include "iq.h"
#include "limiter.h"
#include "secret.h"
#include "stats.h"
#include "store.h"
#include "worker.h"

#define REG_INFLIGHT_SLOTS 256

/* Invitations: the field of the form, and the answers. */
#define REG_FIELD_PREAUTH "preauth"
#define REG_TEXT_BY_INVITATION                                                 \
    "Registration with this service is by invitation: enter your "             \
    "invitation token in the field 'preauth'."
#define REG_TEXT_INVITE_REQUIRED                                               \
    "Registration with this service is by invitation only: give a valid "      \
    "invitation token (the form's field 'preauth', or a <preauth/> first)."
#define REG_TEXT_INVITE_INVALID "The provided token is invalid or expired."

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
    /* reg.h's struct reg_env, copied: where bcrypt runs (borrowed), and
     * monotonic seconds for the rate limits */
    struct worker *hasher;
    struct worker *imager; /* reg_env's: challenge images, or NULL */
    double (*now)(void);
    struct stats_service *stats; /* the service's counters, or NULL */
    struct limiter *limiter;
    struct form_def def;
    /* The form shown to a requester not registered: def, or with
     * invitations (conf invites) def's fields plus "preauth" (last),
     * required when they are, and instructions that say so.  A
     * submitted preauth is taken out of the data before def validates it
     * (reg_update.c). */
    struct form_def form_def;
    struct form_field_def *form_fields; /* NULL: invitations off */
    char *form_instructions;
    /* The form of a requester whose <preauth/> bound an invitation: def's
     * fields and "preauth" never required, def's instructions. */
    struct form_def bound_def;
    struct form_field_def *bound_fields;
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
    /* failed image commands since the last line about them, and when
     * that was (reg_challenge.c: one line a minute) */
    unsigned image_failures;
    double image_failure_logged;
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
    char *invite_token;   /* the preauth field's value, or NULL */
    /* a creation's state, as the database made it (store_put.started) */
    enum store_state started;
    struct form_data data;
    /* the translation of the request's language (lang_select), NULL:
     * the untranslated texts */
    const struct conf_lang *tr;
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
    /* challenges (reg_challenge.c): the answer a set gives (taken out of
     * data), the reply a get holds while its challenge is issued, and
     * what a set does once its challenge is passed */
    char *challenge_id, *challenge_answer;
    unsigned char *challenge_png; /* an image challenge's, being issued */
    size_t challenge_png_len;
    char challenge_cid[96];
    xmpp_stanza_t *challenge_reply;
    const struct challenge_qa *challenge_qa;
    void (*challenge_next)(struct op *op);
    /* the write may update, never create (reg_update.c: an update with
     * challenges on) */
    bool update_only;
};

#endif
