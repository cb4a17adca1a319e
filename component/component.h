/*
 * component.h - the XEP-0114 connections to the XMPP server.
 *
 * component.c is the only owner of the libstrophe context and connections:
 * one connection per service of the configuration, each with its own
 * connect, handshake and reconnect with capped jittered back-off, and one
 * event loop for all of them and the workers.  Stanzas that arrive on a
 * service's connection go to that service's router; it decides nothing
 * about them.
 */
#ifndef REGISTRAR_COMPONENT_H
#define REGISTRAR_COMPONENT_H

#include <signal.h>

#include "conf.h"
#include "router.h"

/* Exit code when the server refuses our secret (sysexits.h EX_NOPERM). */
#define COMPONENT_EXIT_REFUSED 77

struct component;

/* Another source of events for the loop (a worker, the store): when fd is
 * readable, on_ready(arg) runs on the loop; busy(arg) tells whether work
 * is still in hand (a stop waits for it, boundedly).  A source whose
 * socket changes gives watch() instead of fd (fd -1): before each wait,
 * the socket to watch (-1: none) and its events; on_ready(arg) runs when
 * it has one of them.  after(arg), when given, runs at the end of every
 * turn of the loop (at least every 200 ms), once libstrophe has handled
 * what arrived: the place to send what the stanzas queued. */
struct component_wakeup {
    int fd;
    int (*watch)(void *arg, short *events);
    void (*on_ready)(void *arg);
    void (*after)(void *arg);
    bool (*busy)(void *arg);
    void *arg;
};

#define COMPONENT_MAX_WAKEUPS 8

/* One connection per service of the chain services (conf_load's first,
 * see conf.h), whose stanzas go to routers[i] for the i-th service; its
 * connection options (server, port, secret, back-off, keepalive) are read
 * from services, for good.  services, its chain and the routers are
 * borrowed and must outlive the component; the n wakeups are copied.
 * Caller owns the result (component_free).  NULL when libstrophe cannot
 * start, or when n is over COMPONENT_MAX_WAKEUPS (logged: a wakeup left
 * out would never run). */
struct component *component_new(const struct conf *services,
                                struct router *const *routers,
                                const struct component_wakeup *wakeups,
                                size_t n);
void component_free(struct component *c);

/* The context every stanza of c is made with, and the sink of the i-th
 * service's connection (what requests cause goes there too: sent while
 * attached, dropped and counted otherwise); both borrowed from c.  NULL
 * sink when there is no i-th service.  For what a service sends of its
 * own accord (messages.h). */
xmpp_ctx_t *component_ctx(struct component *c);
const struct iq_sink *component_sink(struct component *c, size_t i);

struct stats;
/* Counts each connection's link (attached or not, reconnects) in the
 * block of stats (stats.h; borrowed, must outlive c) of its JID. */
void component_set_stats(struct component *c, struct stats *stats);

/* note (copied; NULL or "": none) goes after the connections' part of
 * STATUS=, "; " between (the database's state, from main.c); STATUS= is
 * sent again at once. */
void component_status_note(struct component *c, const char *note);

/* What the loop watches besides the network: flags set by signal
 * handlers. */
struct component_control {
    volatile sig_atomic_t *stop;   /* non-zero: finish and leave */
    volatile sig_atomic_t *reload; /* non-zero: on_reload(arg), then 0 */
    void (*on_reload)(void *arg);
    void *arg;
};

/* Runs until *stop becomes non-zero (then finishes the work in hand,
 * boundedly, and closes every stream cleanly) or the server refuses the
 * handshake of any service (then closes the others' streams).  Each
 * service reconnects on its own.  Tells systemd READY=1 once every
 * service is attached (the first time), STATUS= on each state change
 * (with several services: those not attached, and why, then those
 * attached), and WATCHDOG=1 when asked to.  Returns the process exit
 * code: 0, or COMPONENT_EXIT_REFUSED. */
int component_run(struct component *c, const struct component_control *ctl);

/* --check-config --connect: one connection to service's server, the
 * XEP-0114 handshake with its secret, then a clean close; nothing is sent
 * or routed.  Waits at most the service's keepalive_timeout_s for the
 * handshake (then 2 s for the close).  A context of its own: not while a
 * component of this process runs.  why (whylen) gets what happened, in
 * words: the server that accepted, or why not.  OK also when the server
 * took the secret but refused a second connection for the JID (Prosody's
 * conflict: a registrar is attached already). */
enum component_probe {
    COMPONENT_PROBE_OK,
    COMPONENT_PROBE_REFUSED,     /* the secret: COMPONENT_EXIT_REFUSED */
    COMPONENT_PROBE_UNREACHABLE, /* no connection, no handshake, a stream
                                  * error */
};
enum component_probe component_handshake(const struct conf *service, char *why,
                                         size_t whylen);

/* The keepalive ping (XEP-0199) and its answer.  The id of our pings is
 * "registrar-ping-TOKEN-N": TOKEN is random per connection, so that no
 * user can guess it, and only an iq result or error with exactly that id
 * is taken as the answer (and not routed): a user's get or set never is.
 *
 * component_ping_token writes 32 random hex digits and a NUL to out (size
 * at least 33); false when the kernel gives no randomness.
 * component_is_ping_reply: ping_id is the id of the ping out, NULL when
 * none; name, type and id are the stanza's (each may be NULL). */
bool component_ping_token(char *out, size_t size);
bool component_is_ping_reply(const char *ping_id, const char *name,
                             const char *type, const char *id);

/* The send point's check, which every stanza passes before it leaves
 * (borrowed): what to send instead, or NULL to send nothing.  A stanza
 * that xml_check() (xml.h) finds well-formed is returned as it is (a new
 * reference).  One that is not would make the server close the stream,
 * losing every answer in flight: it is a bug, logged as "BUG" with jid
 * (ours), its name, type, id and to (quoted: text_excerpt), never its
 * content, and never sent as it is.  An iq result or error becomes a
 * minimal internal-server-error iq with the same id, to and from, so
 * that the request it answers still gets its one reply; anything else
 * is dropped.  Caller releases what it gets. */
xmpp_stanza_t *component_outgoing(const char *jid, xmpp_stanza_t *stanza);

#endif
