/*
 * reg_challenge.h - XEP-0158 challenges of In-Band Registration
 * (reg_challenge.c): the get's form carries one when the service's rule
 * (challenge.h) asks for it, and a new registration, whatever its path
 * (the form, the legacy elements, the ad-hoc command), is written only
 * after the right answer to a challenge issued to its bare JID.  For reg*.c
 * only (reg_types.h), and the builder for the unit tests.
 */
#ifndef REGISTRAR_REG_CHALLENGE_H
#define REGISTRAR_REG_CHALLENGE_H

#include <stdbool.h>
#include <strophe.h>

#include "lang.h"
#include "reg_types.h"

/* The form's fields (XEP-0158 section 7, FORM_TYPE jabber:iq:register). */
#define REG_CHALLENGE_FIELD "challenge"
#define REG_CHALLENGE_QA "qa"
#define REG_CHALLENGE_OCR "ocr"
#define REG_NS_BOB "urn:xmpp:bob"
#define REG_NS_MEDIA "urn:xmpp:media-element"

/* The texts are lang.h's catalog's (translated by a lang "TAG" { texts
 * { challenge_* } }): the error <text/>s as iq.c sends them, the label of
 * 'ocr' and the sentence before the query's <instructions/> here. */
#define REG_TEXT_CHALLENGE_REQUIRED                                            \
    lang_text_english(LANG_TEXT_challenge_required)

/* Whether the service's challenges are on (challenge { mode } not off). */
bool reg_challenge_on(const struct reg *reg);

/* Appends to the form x (borrowed) the hidden fields 'challenge' (id),
 * 'from' (the service's JID) and 'sid' (the get's id; NULL: none) and the
 * field 'qa' labelled with question, required. */
void reg_challenge_add_fields(xmpp_ctx_t *ctx, xmpp_stanza_t *x, const char *id,
                              const char *from, const char *sid,
                              const char *question);

/* An image challenge instead of a question: the hidden fields as above,
 * the field 'ocr' with a XEP-0221 <media/> of width x height whose <uri/>
 * is cid:CID (and fallback, when not NULL, a second one), required; and
 * in the query q (borrowed) the PNG as XEP-0231 <data/> (max-age 0: it is
 * ephemeral) and, with fallback, a XEP-0066 <x xmlns='jabber:x:oob'/>.
 * label: the field's (the catalog's challenge_image_label, translated). */
void reg_challenge_add_image(xmpp_ctx_t *ctx, xmpp_stanza_t *q,
                             xmpp_stanza_t *x, const char *id, const char *from,
                             const char *sid, const char *cid, unsigned width,
                             unsigned height, const unsigned char *png,
                             size_t len, const char *fallback,
                             const char *label);

/* Whether the service's challenges are images (BoB gets answered). */
bool reg_challenge_images(const struct reg *reg);

/* XEP-0231: a get of <data xmlns='urn:xmpp:bob' cid='...'/> answered with
 * the PNG of a live image challenge (any instance's), else
 * item-not-found.  Takes op. */
void reg_challenge_bob(struct op *op);

/* A get's reply q (a <query/> for a requester not registered; taken):
 * sent as it is when no challenge is required, else with a challenge
 * issued to op's bare JID added to its form; resource-constraint while
 * the JID is locked out.  Ends op. */
void reg_challenge_reply(struct op *op, xmpp_stanza_t *q);

/* Takes the challenge's answer out of op->data (fields 'challenge', 'qa',
 * 'sid', 'from') into op; false when out of memory (answered). */
bool reg_challenge_take(struct op *op);

/* A new registration: when the rule asks for a challenge, next(op) runs
 * only after op's answer was checked right (single use, bound to the JID,
 * in time); else op is answered not-acceptable (no answer, a wrong,
 * expired, replayed or another JID's one: the next get issues a new
 * challenge) or resource-constraint (locked out).  Takes op. */
void reg_challenge_gate(struct op *op, void (*next)(struct op *op));

#endif
