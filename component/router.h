/*
 * router.h - what to do with each stanza that reaches the component.
 *
 * Checks to, type, id and payload, answers disco#info/#items, ping and
 * version itself, hands jabber:iq:register to reg and ad-hoc commands
 * (and their disco nodes) to adhoc, and guarantees every
 * iq get/set exactly one reply and never a reply to a result or error.
 * No connection: replies go to the iq_sink given.
 *
 * Addressing (XEP-0114: the server hands a component every stanza for its
 * domain, whatever the local part or resource): a stanza is served when
 * its 'to' is the service JID, with or without a resource, compared as
 * domains compare (case-insensitively, a trailing dot ignored, nameprep
 * for the rest), or when it has no 'to'.  To a local part of the domain
 * (node@service, with or without a resource): there is no such entity,
 * an iq get/set is answered service-unavailable (from that address, which
 * the service owns) and anything else ignored.  To any other domain (a
 * server that delivers another component's stanzas on this stream): never
 * answered, since the reply would speak for a JID this connection does
 * not serve; the stanza is dropped, counted (router_misaddressed) and
 * logged at most once a second with the count.
 */
#ifndef REGISTRAR_ROUTER_H
#define REGISTRAR_ROUTER_H

#include <strophe.h>

#include "conf.h"
#include "iq.h"
#include "reg.h"

#define ROUTER_NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define ROUTER_NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"
#define ROUTER_NS_PING "urn:xmpp:ping"
#define ROUTER_NS_VERSION "jabber:iq:version"

struct router;

/* conf and reg are borrowed and must outlive the router.  Caller owns the
 * result (router_free). */
struct router *router_new(const struct conf *conf, struct reg *reg);
void router_free(struct router *router);

/* Serves conf and reg (borrowed) from now on, after a reload. */
void router_set(struct router *router, const struct conf *conf,
                struct reg *reg);

/* Handles one stanza (borrowed).  Replies go to sink. */
void router_stanza(struct router *router, xmpp_stanza_t *stanza,
                   const struct iq_sink *sink);

/* Stanzas dropped since the router was made because their 'to' was
 * another domain (see above). */
unsigned long router_misaddressed(const struct router *router);

#endif
