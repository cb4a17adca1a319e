/*
 * iq.h - one IQ request and its one reply.
 *
 * An iq_req wraps an incoming iq get/set until it is answered: exactly one
 * result or error is sent, from the address the request was sent to, and
 * iq_req_done() answers internal-server-error for a request that a bug left
 * unanswered.  Errors carry the RFC 6120 condition and the legacy code of
 * XEP-0086.  No connection here: replies go to an iq_sink.
 *
 * A request may also be made on behalf of another (iq_req_relay: a stage
 * of an ad-hoc command handed to reg as the jabber:iq:register iq reg
 * serves): its one answer goes, typed, to an iq_relay instead of the wire,
 * under the same guard, and the other request answers its own requester
 * with it.  What such a request sends besides its answer (iq_req_send: a
 * notice) still goes out on the wire.
 */
#ifndef REGISTRAR_IQ_H
#define REGISTRAR_IQ_H

#include <stdbool.h>
#include <strophe.h>

#include "stats.h"

#define IQ_NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"

enum iq_error {
    IQ_BAD_REQUEST,
    IQ_CONFLICT,
    IQ_FEATURE_NOT_IMPLEMENTED,
    IQ_FORBIDDEN,
    IQ_INTERNAL_SERVER_ERROR,
    IQ_ITEM_NOT_FOUND,
    IQ_NOT_ACCEPTABLE,
    IQ_NOT_ALLOWED,
    IQ_NOT_AUTHORIZED,
    IQ_POLICY_VIOLATION,
    IQ_REGISTRATION_REQUIRED,
    IQ_RESOURCE_CONSTRAINT,
    IQ_SERVICE_UNAVAILABLE,
    IQ_UNEXPECTED_REQUEST,
};

/* Where replies go.  send borrows the stanza. */
struct iq_sink {
    void (*send)(void *arg, xmpp_stanza_t *stanza);
    void *arg;
};

/* An error as a relayed request answers it; everything borrowed for the
 * call. */
struct iq_relay_error {
    enum iq_error condition;
    const char *type;    /* never NULL: the condition's usual one unless
                          * the answer gave another */
    const char *text;    /* NULL: none */
    const char *lang;    /* the language of text and of the request's
                          * replies (iq_req_set_lang), NULL: unsaid */
    xmpp_stanza_t *echo; /* what goes before the <error/>, or NULL */
    /* the application-specific condition <app_name xmlns=app_ns/>, or
     * both NULL */
    const char *app_ns, *app_name;
};

/* Where the answer of a relayed request goes (iq_req_relay).  Exactly one
 * of result and error is called, once, by the answer (or by iq_req_done()
 * with internal-server-error when a flow forgot it); nothing of it goes on
 * the wire, and iq.c logs no error of it: the caller answers, and logs,
 * its own request. */
struct iq_relay {
    /* The result: payload borrowed, NULL for an empty result. */
    void (*result)(void *arg, xmpp_stanza_t *payload);
    void (*error)(void *arg, const struct iq_relay_error *error);
    /* Called once by iq_req_done(), after the request is freed: nothing
     * more comes from it (may be NULL).  A caller whose state must live as
     * long as the request (stanzas it sends may follow its answer) ends
     * here. */
    void (*done)(void *arg);
    void *arg;
};

struct iq_req;

/* Wraps iq (a reference is taken) sent to us; self is our JID, used as
 * 'from' when the request has no 'to'.  sink is copied.  NULL when out of
 * memory.  Caller owns the result and must end it with iq_req_done(). */
struct iq_req *iq_req_new(xmpp_stanza_t *iq, const char *self,
                          const struct iq_sink *sink);

/* A request of type ("get" or "set") for payload (a reference is taken:
 * its handler may wipe what it carried), made on behalf of outer (which
 * is not changed): the same requester, id and addressee.  Its answer goes
 * to relay (copied); anything else it sends (iq_req_send) goes to outer's
 * sink, on the wire.  Outer may be ended first.  NULL when out of memory.
 * Caller owns the result and must end it with iq_req_done(). */
struct iq_req *iq_req_relay(const struct iq_req *outer, const char *type,
                            xmpp_stanza_t *payload,
                            const struct iq_relay *relay);

/* Accessors; everything borrowed from the request. */
xmpp_ctx_t *iq_req_ctx(const struct iq_req *req);
const char *iq_req_id(const struct iq_req *req);
const char *iq_req_from(const struct iq_req *req);
/* The address the request was sent to (what replies come from), or self
 * when it had no 'to'. */
const char *iq_req_to(const struct iq_req *req);
const char *iq_req_type(const struct iq_req *req);
/* The single child element of a get/set, or NULL. */
xmpp_stanza_t *iq_req_payload(const struct iq_req *req);

/* The request's xml:lang (RFC 6120 8.1.5: the server stamps the stream's
 * on a stanza without one), NULL when it has none.  Borrowed. */
const char *iq_req_lang(const struct iq_req *req);
/* The language of the replies from now on: each carries xml:lang=tag (a
 * copy; NULL or "": none, as by default), its error <text/> too, the text
 * translated by texts (borrowed, LANG_NTEXTS entries: lang.h's
 * lang_translate; NULL: as given) when it is in the catalog. */
void iq_req_set_lang(struct iq_req *req, const char *tag,
                     const char *const *texts);
/* The tag set by iq_req_set_lang, NULL when none.  Borrowed. */
const char *iq_req_reply_lang(const struct iq_req *req);

/* Sends a result carrying payload (borrowed; NULL for an empty result). */
void iq_req_result(struct iq_req *req, xmpp_stanza_t *payload);
/* Sends an error; text (may be NULL) goes in <text xml:lang='en'/>, echo
 * (borrowed, may be NULL) is copied in before the <error/>. */
void iq_req_error(struct iq_req *req, enum iq_error e, const char *text,
                  xmpp_stanza_t *echo);
/* The same, with the error type given (NULL: the condition's usual one),
 * as XEP-0077 does for its forms (not-authorized of type modify). */
void iq_req_error_as(struct iq_req *req, enum iq_error e, const char *type,
                     const char *text, xmpp_stanza_t *echo);
/* The same, with an application-specific condition <app_name
 * xmlns=app_ns/> after the text (XEP-0050's <bad-action/>, ...); app_ns
 * or app_name NULL: none. */
void iq_req_error_app(struct iq_req *req, enum iq_error e, const char *type,
                      const char *text, xmpp_stanza_t *echo, const char *app_ns,
                      const char *app_name);
/* Sends another stanza (a message the request causes: stanza borrowed)
 * through the request's sink; not a reply.  Only before the reply: a sink
 * may take the reply as the end of the request. */
void iq_req_send(struct iq_req *req, xmpp_stanza_t *stanza);

/* When req ends, counts it in svc (stats.h) as a request of kind, with
 * its answer's outcome: ok, or the condition of the error (the
 * internal-server-error of a request left unanswered included).  Called
 * again, the kind changes (a set found to be an update).  svc is
 * borrowed and must outlive req; NULL: not counted. */
void iq_req_count_as(struct iq_req *req, struct stats_service *svc,
                     enum stats_kind kind);

/* Ends the request (answering internal-server-error if nothing was sent)
 * and frees it; then a relay's done.  NULL is allowed. */
void iq_req_done(struct iq_req *req);

/* The errors answered are logged once a second at most per condition
 * (iq.c): iq_log_flush() writes the counts held back that are due (the
 * loop calls it every turn); iq_log_clock() sets the clock (monotonic
 * seconds; NULL: CLOCK_MONOTONIC), for tests.  The loop's thread only. */
void iq_log_flush(void);
void iq_log_clock(double (*now)(void));

#endif
