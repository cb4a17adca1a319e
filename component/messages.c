/*
 * messages.c - the messages to users and admins (messages.h): their
 * stanzas and texts, and the state changes claimed from the store and
 * told to their users.  No connection (the sinks send), no SQL (the
 * store claims), no waiting: one claim per service in flight at a time.
 */
#include "messages.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "text.h"

xmpp_stanza_t *messages_stanza(xmpp_ctx_t *ctx, const char *from,
                               const char *to, const char *body)
{
    xmpp_stanza_t *m = xmpp_message_new(ctx, "normal", to, NULL);

    if (!m)
        return NULL;
    if (xmpp_stanza_set_from(m, from) != XMPP_EOK ||
        xmpp_message_set_body(m, body) != XMPP_EOK) {
        xmpp_stanza_release(m);
        return NULL;
    }
    return m;
}

void messages_notice_body(char *out, size_t size, const struct conf *conf,
                          const struct template_values *v)
{
    const char *user = v->username;

    if (conf->messages.admin_notice) {
        template_expand(out, size, conf->messages.admin_notice, v);
        return;
    }
    /* the state it starts in named (issue 20), as the template can */
    text_format(out, size, "New registration with %s: %s%s%s%s%s%s", v->service,
                v->jid, user ? " (username " : "", user ? user : "",
                user ? ")" : "", v->state ? ", " : "",
                v->state ? v->state : "");
}

bool messages_state_wanted(const struct conf *conf)
{
    return conf && (conf->messages.activated || conf->messages.disabled);
}

/* ---- the state changes -------------------------------------------------- */

struct service {
    struct messages *m;
    const struct conf *conf; /* borrowed; NULL: none yet */
    xmpp_ctx_t *ctx;
    const struct iq_sink *sink;
    struct stats_service *stats;
    bool failing;     /* the last claim failed (logged once) */
    bool due;         /* a notification came since the last claim went */
    bool inflight;    /* a claim is out */
    double next_poll; /* no claim asked for: one at this time anyway */
    double last;      /* when the last claim went */
};

struct messages {
    struct store *store;
    struct stats *stats;
    double (*now)(void);
    size_t n;
    struct service svc[];
};

struct messages *messages_new(struct store *store, struct stats *stats,
                              size_t n, double (*now)(void))
{
    struct messages *m = calloc(1, sizeof(*m) + n * sizeof(m->svc[0]));

    if (!m)
        return NULL;
    m->store = store;
    m->stats = stats;
    m->now = now;
    m->n = n;
    for (size_t i = 0; i < n; i++)
        m->svc[i] = (struct service){.m = m, .due = true};
    return m;
}

void messages_free(struct messages *m)
{
    free(m);
}

void messages_set_service(struct messages *m, size_t i, const struct conf *conf,
                          xmpp_ctx_t *ctx, const struct iq_sink *sink)
{
    struct service *s;

    if (!m || i >= m->n)
        return;
    s = &m->svc[i];
    if (!messages_state_wanted(s->conf) && messages_state_wanted(conf))
        s->due = true; /* turned on by a reload: look at once */
    s->conf = conf;
    s->ctx = ctx;
    s->sink = sink;
    s->stats = conf ? stats_service(m->stats, conf->component.jid) : NULL;
}

bool messages_listening(const struct messages *m)
{
    for (size_t i = 0; m && i < m->n; i++)
        if (messages_state_wanted(m->svc[i].conf))
            return true;
    return false;
}

void messages_notified(void *arg, const char *payload)
{
    struct messages *m = arg;

    (void)payload;
    for (size_t i = 0; i < m->n; i++)
        m->svc[i].due = true;
}

bool messages_busy(const struct messages *m)
{
    for (size_t i = 0; m && i < m->n; i++)
        if (m->svc[i].inflight)
            return true;
    return false;
}

/* Tells one change to its user, as the service's conf says now. */
static void tell(struct service *s, const struct store_state_change *c)
{
    bool active = c->state == STORE_STATE_ACTIVE;
    const char *tmpl =
        active ? s->conf->messages.activated : s->conf->messages.disabled;
    const char *jid = s->conf->component.jid;
    struct template_values v = {.service = jid,
                                .jid = c->jid,
                                .username = c->username,
                                .state = store_state_name(c->state),
                                .reason = c->reason};
    char body[TEMPLATE_BODY_MAX];
    xmpp_stanza_t *msg;

    if (!tmpl) { /* claimed, and not told: this kind is not configured */
        log_debug("messages", "%s: no %s message to send %s (event %lld)", jid,
                  active ? "activated" : "disabled", c->jid, c->event_id);
        return;
    }
    template_expand(body, sizeof(body), tmpl, &v);
    if (!(msg = messages_stanza(s->ctx, jid, c->jid, body))) {
        log_error("messages",
                  "%s: out of memory: the %s message to %s "
                  "(event %lld) is not sent",
                  jid, active ? "activated" : "disabled", c->jid, c->event_id);
        return;
    }
    s->sink->send(s->sink->arg, msg);
    xmpp_stanza_release(msg);
    stats_message_sent(s->stats, active ? STATS_MESSAGE_ACTIVATED
                                        : STATS_MESSAGE_DISABLED);
    log_info("messages",
             "told %s that its registration with %s is %s "
             "(event %lld)",
             c->jid, jid, store_state_name(c->state), c->event_id);
}

static void on_claim(void *arg, enum store_status st,
                     const struct store_state_change *changes, size_t n)
{
    struct service *s = arg;

    s->inflight = false;
    if (st != STORE_OK) {
        /* not claimed: the next poll tries again; logged once until a
         * claim works (the store logs each outage itself) */
        log_msg(s->failing ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN, "messages",
                "%s: the state changes to tell could not be claimed (%s): "
                "trying again every %.0f s",
                s->conf ? s->conf->component.jid : "?", store_status_name(st),
                MESSAGES_POLL_S);
        s->failing = true;
        return;
    }
    if (s->failing)
        log_info("messages",
                 "%s: the state changes to tell are claimed "
                 "again",
                 s->conf ? s->conf->component.jid : "?");
    s->failing = false;
    for (size_t i = 0; i < n && s->conf && s->sink && s->ctx; i++)
        tell(s, &changes[i]);
    if (n >= MESSAGES_BATCH)
        s->due = true; /* more may follow */
}

void messages_turn(struct messages *m)
{
    double now = m->now();

    for (size_t i = 0; i < m->n; i++) {
        struct service *s = &m->svc[i];

        if (s->inflight || !s->sink || !s->ctx ||
            !messages_state_wanted(s->conf))
            continue;
        if ((!s->due && now < s->next_poll) ||
            (s->last > 0 && now < s->last + MESSAGES_GAP_S))
            continue;
        s->due = false;
        s->inflight = true;
        s->last = now;
        s->next_poll = now + MESSAGES_POLL_S;
        store_claim_state_changes(m->store, s->conf->component.jid,
                                  MESSAGES_BATCH, on_claim, s);
    }
}
