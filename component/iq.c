/*
 * iq.c - the one-reply guard for IQ requests and XMPP error building.
 *
 * Builds replies with 'from' set (ejabberd drops replies without it, and
 * libstrophe's xmpp_stanza_reply() sets none), and logs every error
 * answered, in one place: a client can send bad requests at will, so each
 * condition's errors are logged once a second at most (see log_answered).  A
 * relayed request's answer is handed over typed instead (iq.h), under the same
 * guard.  No connection, no policy.
 */
#include "iq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lang.h"
#include "limiter.h"
#include "log.h"

static const struct {
    const char *condition;
    int code;
    const char *type;
} errors[] = {
    /* conditions and legacy codes: RFC 6120 section 8.3.3, XEP-0086 */
    [IQ_BAD_REQUEST] = {"bad-request", 400, "modify"},
    [IQ_CONFLICT] = {"conflict", 409, "cancel"},
    [IQ_FEATURE_NOT_IMPLEMENTED] = {"feature-not-implemented", 501, "cancel"},
    [IQ_FORBIDDEN] = {"forbidden", 403, "auth"},
    [IQ_INTERNAL_SERVER_ERROR] = {"internal-server-error", 500, "wait"},
    [IQ_ITEM_NOT_FOUND] = {"item-not-found", 404, "cancel"},
    [IQ_NOT_ACCEPTABLE] = {"not-acceptable", 406, "modify"},
    [IQ_NOT_ALLOWED] = {"not-allowed", 405, "cancel"},
    [IQ_NOT_AUTHORIZED] = {"not-authorized", 401, "auth"},
    [IQ_POLICY_VIOLATION] = {"policy-violation", 0, "wait"},
    [IQ_REGISTRATION_REQUIRED] = {"registration-required", 407, "auth"},
    [IQ_RESOURCE_CONSTRAINT] = {"resource-constraint", 500, "wait"},
    [IQ_SERVICE_UNAVAILABLE] = {"service-unavailable", 503, "cancel"},
    [IQ_UNEXPECTED_REQUEST] = {"unexpected-request", 400, "wait"},
};

struct iq_req {
    xmpp_stanza_t *iq;
    char *self;
    struct iq_sink sink;   /* the wire */
    struct iq_relay relay; /* where the answer goes, when relayed */
    bool relayed;
    bool answered;
    /* where its end is counted (iq_req_count_as), and its outcome: NULL
     * for a result, else the error's condition */
    struct stats_service *stats;
    enum stats_kind kind;
    const char *outcome;
    /* the language of the replies (iq_req_set_lang), "" when unsaid, and
     * the translations of the error texts (borrowed), NULL: none */
    char lang[LANG_TAG_MAX + 1];
    const char *const *texts;
};

/* ---- errors answered, logged once a second per condition -------------- */

#define NERRORS (sizeof(errors) / sizeof(errors[0]))
#define ANSWERED_LOG_S 1.0

/* One tally per condition, for the process (the loop's thread only). */
static struct limiter_tally answered[NERRORS];

static double monotonic_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double (*answered_now)(void) = monotonic_now;

void iq_log_clock(double (*now)(void))
{
    answered_now = now ? now : monotonic_now;
}

void iq_log_flush(void)
{
    double now = answered_now();
    unsigned long n;

    for (size_t e = 0; e < NERRORS; e++)
        if (answered[e].pending &&
            limiter_tally_due(&answered[e], now, ANSWERED_LOG_S, &n))
            log_info("iq",
                     "answered %s %lu time(s) since the last report (%lu in "
                     "all)",
                     errors[e].condition, n, answered[e].total);
}

struct iq_req *iq_req_new(xmpp_stanza_t *iq, const char *self,
                          const struct iq_sink *sink)
{
    struct iq_req *req = calloc(1, sizeof(*req));

    if (!req)
        return NULL;
    if (!(req->self = strdup(self))) {
        free(req);
        return NULL;
    }
    req->iq = xmpp_stanza_clone(iq);
    req->sink = *sink;
    return req;
}

struct iq_req *iq_req_relay(const struct iq_req *outer, const char *type,
                            xmpp_stanza_t *payload,
                            const struct iq_relay *relay)
{
    xmpp_stanza_t *iq = xmpp_stanza_new(iq_req_ctx(outer));
    struct iq_req *req = NULL;

    if (!iq || xmpp_stanza_set_name(iq, "iq") != XMPP_EOK ||
        xmpp_stanza_set_type(iq, type) != XMPP_EOK ||
        (iq_req_id(outer) &&
         xmpp_stanza_set_id(iq, iq_req_id(outer)) != XMPP_EOK) ||
        (iq_req_from(outer) &&
         xmpp_stanza_set_from(iq, iq_req_from(outer)) != XMPP_EOK) ||
        xmpp_stanza_set_to(iq, iq_req_to(outer)) != XMPP_EOK ||
        /* the requester's language goes with it (lang.h) */
        (iq_req_lang(outer) &&
         xmpp_stanza_set_attribute(iq, "xml:lang", iq_req_lang(outer)) !=
             XMPP_EOK) ||
        xmpp_stanza_add_child(iq, payload) != XMPP_EOK)
        goto out;
    if (!(req = iq_req_new(iq, outer->self, &outer->sink)))
        goto out;
    req->relay = *relay;
    req->relayed = true;
out:
    if (iq)
        xmpp_stanza_release(iq);
    return req;
}

xmpp_ctx_t *iq_req_ctx(const struct iq_req *req)
{
    return xmpp_stanza_get_context(req->iq);
}

const char *iq_req_id(const struct iq_req *req)
{
    return xmpp_stanza_get_id(req->iq);
}

const char *iq_req_from(const struct iq_req *req)
{
    return xmpp_stanza_get_from(req->iq);
}

const char *iq_req_to(const struct iq_req *req)
{
    const char *to = xmpp_stanza_get_to(req->iq);

    return to ? to : req->self;
}

const char *iq_req_type(const struct iq_req *req)
{
    return xmpp_stanza_get_type(req->iq);
}

const char *iq_req_lang(const struct iq_req *req)
{
    /* libstrophe's parser drops the xml prefix: xml:lang reads as lang */
    const char *l = xmpp_stanza_get_attribute(req->iq, "xml:lang");

    return l ? l : xmpp_stanza_get_attribute(req->iq, "lang");
}

void iq_req_set_lang(struct iq_req *req, const char *tag,
                     const char *const *texts)
{
    snprintf(req->lang, sizeof(req->lang), "%s",
             tag && strlen(tag) <= LANG_TAG_MAX ? tag : "");
    req->texts = texts;
}

const char *iq_req_reply_lang(const struct iq_req *req)
{
    return req->lang[0] ? req->lang : NULL;
}

xmpp_stanza_t *iq_req_payload(const struct iq_req *req)
{
    xmpp_stanza_t *found = NULL;

    for (xmpp_stanza_t *c = xmpp_stanza_get_children(req->iq); c;
         c = xmpp_stanza_get_next(c)) {
        if (!xmpp_stanza_is_tag(c))
            continue;
        if (found)
            return NULL; /* more than one */
        found = c;
    }
    return found;
}

/* A reply skeleton: type, id, to = the requester, from = us. */
static xmpp_stanza_t *reply_new(struct iq_req *req, const char *type)
{
    xmpp_ctx_t *ctx = iq_req_ctx(req);
    xmpp_stanza_t *r = xmpp_stanza_new(ctx);
    const char *from = xmpp_stanza_get_from(req->iq);
    const char *id = xmpp_stanza_get_id(req->iq);

    if (!r)
        return NULL;
    xmpp_stanza_set_name(r, "iq");
    xmpp_stanza_set_type(r, type);
    if (id)
        xmpp_stanza_set_id(r, id);
    if (from)
        xmpp_stanza_set_to(r, from);
    xmpp_stanza_set_from(r, iq_req_to(req));
    if (req->lang[0])
        xmpp_stanza_set_attribute(r, "xml:lang", req->lang);
    return r;
}

/* The guard: true for the first answer of req (now answered, with
 * outcome: NULL for a result, else the error's condition), false (logged)
 * for any other. */
static bool first_answer(struct iq_req *req, const char *outcome)
{
    if (req->answered) {
        log_error("iq", "BUG: second reply to iq id=%s from %s dropped",
                  iq_req_id(req) ? iq_req_id(req) : "",
                  iq_req_from(req) ? iq_req_from(req) : "");
        return false;
    }
    req->answered = true;
    req->outcome = outcome;
    return true;
}

static void send_once(struct iq_req *req, xmpp_stanza_t *reply,
                      const char *outcome)
{
    if (first_answer(req, outcome))
        req->sink.send(req->sink.arg, reply);
}

void iq_req_result(struct iq_req *req, xmpp_stanza_t *payload)
{
    xmpp_stanza_t *r;

    if (req->relayed) {
        if (first_answer(req, NULL))
            req->relay.result(req->relay.arg, payload);
        return;
    }
    r = reply_new(req, "result");

    if (!r)
        return;
    if (payload)
        xmpp_stanza_add_child(r, payload);
    send_once(req, r, NULL);
    xmpp_stanza_release(r);
}

/* A standalone <error/> (type NULL: the usual one); caller owns it. */
static xmpp_stanza_t *error_element(xmpp_ctx_t *ctx, enum iq_error e,
                                    const char *type, const char *text,
                                    const char *lang)
{
    xmpp_stanza_t *err = xmpp_stanza_new(ctx);
    xmpp_stanza_t *cond = xmpp_stanza_new(ctx);
    char code[8];

    xmpp_stanza_set_name(err, "error");
    xmpp_stanza_set_type(err, type ? type : errors[e].type);
    if (errors[e].code) {
        snprintf(code, sizeof(code), "%d", errors[e].code);
        xmpp_stanza_set_attribute(err, "code", code);
    }
    xmpp_stanza_set_name(cond, errors[e].condition);
    xmpp_stanza_set_ns(cond, IQ_NS_STANZAS);
    xmpp_stanza_add_child(err, cond);
    xmpp_stanza_release(cond);
    if (text && *text) {
        xmpp_stanza_t *t = xmpp_stanza_new(ctx);
        xmpp_stanza_t *body = xmpp_stanza_new(ctx);
        xmpp_stanza_set_name(t, "text");
        xmpp_stanza_set_ns(t, IQ_NS_STANZAS);
        xmpp_stanza_set_attribute(t, "xml:lang", lang && *lang ? lang : "en");
        xmpp_stanza_set_text(body, text);
        xmpp_stanza_add_child(t, body);
        xmpp_stanza_release(body);
        xmpp_stanza_add_child(err, t);
        xmpp_stanza_release(t);
    }
    return err;
}

/* Every error answered is logged here, and only here: a line with the
 * condition, type, requester, id and text (texts name fields, never
 * values), at debug level always.  At info: the first error of a
 * condition after a quiet second at once, as it is; those that follow
 * within the second are counted, and written together with the latest
 * one's requester once the second has passed (at the next error of the
 * condition, or the loop's next turn: iq_log_flush), so a client sending
 * bad requests at will costs a line a second per condition.  Refusals
 * over an in-flight cap or a share of the hashing queue
 * (resource-constraint) and over a rate limit (policy-violation) are
 * counted by reg and adhoc instead, per kind: debug level only here. */
static void log_answered(const struct iq_req *req, enum iq_error e,
                         const char *type, const char *text)
{
    const char *from = iq_req_from(req) ? iq_req_from(req) : "(no sender)";
    const char *id = iq_req_id(req) ? iq_req_id(req) : "";
    const char *colon = text && *text ? ": " : "";
    unsigned long n;

    if (e == IQ_RESOURCE_CONSTRAINT || e == IQ_POLICY_VIOLATION ||
        !limiter_tally_add(&answered[e], answered_now(), ANSWERED_LOG_S, &n))
        log_debug("iq", "answered %s (%s) to %s (id=%s)%s%s",
                  errors[e].condition, type, from, id, colon,
                  *colon ? text : "");
    else if (n == 1)
        log_info("iq", "answered %s (%s) to %s (id=%s)%s%s",
                 errors[e].condition, type, from, id, colon,
                 *colon ? text : "");
    else
        log_info("iq",
                 "answered %s (%s) %lu time(s) since the last report, latest "
                 "to %s (id=%s)%s%s (%lu in all)",
                 errors[e].condition, type, n, from, id, colon,
                 *colon ? text : "", answered[e].total);
}

void iq_req_error(struct iq_req *req, enum iq_error e, const char *text,
                  xmpp_stanza_t *echo)
{
    iq_req_error_as(req, e, NULL, text, echo);
}

void iq_req_error_as(struct iq_req *req, enum iq_error e, const char *type,
                     const char *text, xmpp_stanza_t *echo)
{
    iq_req_error_app(req, e, type, text, echo, NULL, NULL);
}

void iq_req_error_app(struct iq_req *req, enum iq_error e, const char *type,
                      const char *text, xmpp_stanza_t *echo, const char *app_ns,
                      const char *app_name)
{
    xmpp_stanza_t *r, *err;
    char translated[1024];
    /* the log keeps the English text, the requester gets its language */
    const char *shown =
        req->texts && text
            ? lang_translate(req->texts, text, translated, sizeof(translated))
            : text;

    if (req->relayed) {
        const struct iq_relay_error relayed = {
            .condition = e,
            .type = type ? type : errors[e].type,
            .text = shown,
            .lang = req->lang[0] ? req->lang : NULL,
            .echo = echo,
            .app_ns = app_ns && app_name ? app_ns : NULL,
            .app_name = app_ns && app_name ? app_name : NULL,
        };
        if (first_answer(req, errors[e].condition))
            req->relay.error(req->relay.arg, &relayed);
        return;
    }
    if (!(r = reply_new(req, "error")))
        return;
    if (echo) {
        xmpp_stanza_t *copy = xmpp_stanza_copy(echo);
        if (copy) {
            xmpp_stanza_add_child(r, copy);
            xmpp_stanza_release(copy);
        }
    }
    err = error_element(iq_req_ctx(req), e, type, shown, req->lang);
    if (app_ns && app_name) {
        xmpp_stanza_t *app = xmpp_stanza_new(iq_req_ctx(req));
        xmpp_stanza_set_name(app, app_name);
        xmpp_stanza_set_ns(app, app_ns);
        xmpp_stanza_add_child(err, app);
        xmpp_stanza_release(app);
    }
    xmpp_stanza_add_child(r, err);
    xmpp_stanza_release(err);
    if (!req->answered)
        log_answered(req, e, type ? type : errors[e].type, text);
    send_once(req, r, errors[e].condition);
    xmpp_stanza_release(r);
}

void iq_req_send(struct iq_req *req, xmpp_stanza_t *stanza)
{
    req->sink.send(req->sink.arg, stanza);
}

void iq_req_count_as(struct iq_req *req, struct stats_service *svc,
                     enum stats_kind kind)
{
    req->stats = svc;
    req->kind = kind;
}

void iq_req_done(struct iq_req *req)
{
    struct iq_relay relay;
    bool relayed;

    if (!req)
        return;
    if (!req->answered) {
        log_error("iq", "BUG: iq id=%s from %s was left unanswered",
                  iq_req_id(req) ? iq_req_id(req) : "",
                  iq_req_from(req) ? iq_req_from(req) : "");
        iq_req_error(req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
    }
    if (req->answered)
        stats_request(req->stats, req->kind, req->outcome);
    relay = req->relay;
    relayed = req->relayed;
    xmpp_stanza_release(req->iq);
    free(req->self);
    free(req);
    if (relayed && relay.done)
        relay.done(relay.arg);
}
