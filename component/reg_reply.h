/*
 * reg_reply.h - the <query xmlns='jabber:iq:register'/> a reply carries,
 * and the elements of the jabber:iq:register schema (reg_reply.c).  Pure
 * builders: the caller owns what they return.  For reg's files only
 * (reg_types.h) and their unit tests.
 */
#ifndef REGISTRAR_REG_REPLY_H
#define REGISTRAR_REG_REPLY_H

#include "reg_types.h"

/* True when var is one of the elements of the jabber:iq:register schema
 * that carry user data (username, password, email, ...). */
bool reg_reply_is_legacy_field(const char *var);

/* What an unregistered requester gets (XEP-0077 section 6): when every
 * field has a jabber:iq:register element, <instructions/> (the configured
 * ones), the empty elements and the form without instructions of its own;
 * otherwise a short <instructions/> and the form with the configured
 * ones.  The x:oob URL after it when one is configured. */
/* Each builder takes the requester's translation, tr (NULL: the
 * untranslated texts): the form's title, instructions and labels and the
 * query's <instructions/> in its language (lang.h); the values, vars and
 * options are the same in every language. */
xmpp_stanza_t *reg_reply_blank(const struct reg *reg, xmpp_ctx_t *ctx,
                               const struct conf_lang *tr);
/* The same for a requester whose <preauth/> bound an invitation (reg.c):
 * no token asked (the preauth field optional, no instructions saying that
 * registration is by invitation), the form pre-filled with prefill
 * (borrowed: the invitation's values). */
xmpp_stanza_t *reg_reply_blank_bound(const struct reg *reg, xmpp_ctx_t *ctx,
                                     const struct form_data *prefill,
                                     const struct conf_lang *tr);
/* Redirection (section 5): instructions and a URL only. */
xmpp_stanza_t *reg_reply_redirect(const struct reg *reg, xmpp_ctx_t *ctx,
                                  const struct conf_lang *tr);
/* <registered/>, <instructions/> saying so (section 3.1), the values on
 * file as legacy elements when the blank query has them (never a
 * secret), the form pre-filled, without instructions of its own. */
xmpp_stanza_t *reg_reply_registered(const struct reg *reg, xmpp_ctx_t *ctx,
                                    const struct store_record *rec,
                                    const struct conf_lang *tr);
/* The query with the changepassword or the cancel form. */
xmpp_stanza_t *reg_reply_password_form(const struct reg *reg, xmpp_ctx_t *ctx,
                                       const struct conf_lang *tr);
xmpp_stanza_t *reg_reply_cancel_form(const struct reg *reg, xmpp_ctx_t *ctx,
                                     const struct conf_lang *tr);
/* A copy of a submitted query (borrowed) for echoing in an error: legacy
 * elements copied, secrets sent back empty, a data form left out; NULL
 * when nothing is worth echoing. */
xmpp_stanza_t *reg_reply_echo(const struct reg *reg, xmpp_stanza_t *query);

#endif
