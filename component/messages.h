/*
 * messages.h - the messages a service sends to its users and admins
 * (messages { } of registrar.conf(5), templates of template.h): each a
 * <message type='normal'/> from the service's JID with a <body/>, never
 * carrying a private value (a template names only {service}, {jid},
 * {username}, {state} and {reason}).
 *
 *   welcome       to the user, by the instance that took the
 *                 registration, before the iq's result (the reply is the
 *                 last stanza of a request: reg_update.c);
 *   admin_notice  to each notify_jids entry, the same moment; without a
 *                 template, the fixed text of before;
 *   activated,    to the user when the registration's state becomes
 *   disabled      active or disabled, whoever changed it: read from the
 *                 event log (store_claim_state_changes, sql/014), each
 *                 change claimed by one instance only and sent after the
 *                 claim committed: at most once (a message that finds the
 *                 stream down is not sent again).
 *
 * The state changes are looked for when the store says a commit was
 * notified (messages_notified: its payload, {"id", "count"}, names no
 * event, so every commit that wrote events counts), when its connection
 * is made, and every
 * MESSAGES_POLL_S seconds; one claim of at most MESSAGES_BATCH changes
 * per service at a time, MESSAGES_GAP_S apart at least, from the loop
 * (messages_turn), never waiting.
 * No connection here: stanzas go to each service's iq_sink.
 */
#ifndef REGISTRAR_MESSAGES_H
#define REGISTRAR_MESSAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <strophe.h>

#include "conf.h"
#include "iq.h"
#include "stats.h"
#include "store.h"
#include "template.h"

/* The state changes one claim takes at most, the poll's period, and the
 * least time between two claims of a service (a flood of commits, each
 * notified, costs at most 10 claims a second). */
#define MESSAGES_BATCH 100
#define MESSAGES_POLL_S 5.0
#define MESSAGES_GAP_S 0.1

/* A <message type='normal'/> from from to to with body (all borrowed);
 * NULL when out of memory.  Caller releases it. */
xmpp_stanza_t *messages_stanza(xmpp_ctx_t *ctx, const char *from,
                               const char *to, const char *body);

/* The admins' notice of a new registration: the service's admin_notice
 * template, or without one the fixed text ("New registration with
 * SERVICE: JID (username NAME), STATE").  Into out (size bytes), cut between
 * characters. */
void messages_notice_body(char *out, size_t size, const struct conf *conf,
                          const struct template_values *v);

/* Whether the service sends state-change messages (activated or
 * disabled has a template). */
bool messages_state_wanted(const struct conf *conf);

struct messages;

/* For n services; store borrowed (must outlive it), stats (NULL: none)
 * where the counters go.  now() gives monotonic seconds.  Caller owns
 * the result (messages_free); NULL when out of memory. */
struct messages *messages_new(struct store *store, struct stats *stats,
                              size_t n, double (*now)(void));
void messages_free(struct messages *m);

/* Service i is conf (borrowed until the next call or messages_free: a
 * reload gives the new one); its stanzas are made with ctx and go to sink
 * (both borrowed, NULL: none yet, nothing claimed). */
void messages_set_service(struct messages *m, size_t i, const struct conf *conf,
                          xmpp_ctx_t *ctx, const struct iq_sink *sink);

/* Whether some service sends state-change messages (then the store must
 * tell of its notifications: store_set_notify with messages_notified). */
bool messages_listening(const struct messages *m);

/* store_notify_cb: a commit was notified (payload NULL: a connection was
 * made); the next turn claims for every service. */
void messages_notified(void *m, const char *payload);

/* At every turn of the loop: sends the claims due. */
void messages_turn(struct messages *m);

/* Claims in flight. */
bool messages_busy(const struct messages *m);

#endif
