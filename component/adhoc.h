/*
 * adhoc.h - XEP-0050 ad-hoc commands on the component JID.
 *
 * Two kinds of command, listed in disco (XEP-0030) to whoever may run
 * them: the registration itself, node jabber:iq:register, for everyone
 * (its form and its outcome are XEP-0077's, through reg.h); and, for the
 * bare JIDs of registration.admins only, the XEP-0133 commands on the
 * service's registrations (count, list, disable, re-enable, delete) plus
 * registrar#activate-user for pending ones.  Every admin change goes to
 * the store with its origin (the iq id, the admin as actor), which
 * writes it as an event.
 *
 * A command runs in a session (XEP-0050 sessionid, owned by the full JID
 * that started it): bounded per bare JID and, for non-admins, in total
 * (an admin's sessions are outside the total, so made-up JIDs cannot lock
 * the admins out), expired after ADHOC_REGISTER_TTL_S (registration) or
 * ADHOC_SESSION_TTL_S (admin commands) without a request.  The access
 * policy of reg (policy.h) is checked before a registration session is
 * opened.  Cancel is always allowed, even with a request in flight (which
 * still gets its own answer).  A command's payload is wiped once answered
 * (a password submitted for a registration).  Protocol only: data through
 * store.h, registration through reg_handle(), replies through iq_req; no
 * connection, no libpq.
 *
 * Floods of sessions (64 accounts executing the registration command 4
 * times each held every slot for two minutes):
 * - a non-admin's new session (an execute without a sessionid) is charged
 *   to rate limits of its own with the rates of limits (limiter.h): the
 *   per-JID bucket and, for a remote domain, the per-domain one; not the
 *   service bucket, which a flood of JIDs would empty for everyone.  Over
 *   a limit: policy-violation (wait), as reg answers a registration set.
 *   The stages that follow in a session are not charged here (a submit
 *   is charged by reg, as any registration set).
 * - the total is shared by max-min fairness: when it is reached, a new
 *   session of a JID holding k sessions takes the place of the least
 *   recently used idle session among the JIDs holding the most, provided
 *   they hold more than k (that session ends: its owner's next request is
 *   answered session-expired).  So one JID, or a few, cannot keep the
 *   others out: only when every JID holds as many as the newcomer (or
 *   every session is in flight) is it refused (resource-constraint).
 * Refusals and sessions ended for room are logged once a second per kind
 * with their count (limiter_tally).
 *
 * JIDs an admin gives (accountjids) are prepared as the servers prepare
 * them (jid.h: nodeprep, nameprep; "ÉLODIE@localhost" is
 * "élodie@localhost"); one that is not a JID refuses the submission
 * (bad-request, bad-payload, naming it) and the form may be sent again.
 * The requester's own bare JID is prepared the same way (a JID a server
 * sends is unchanged by it).
 *
 * A list (get-registered-users-list, get-disabled-users-list) is cut to
 * keep the serialised reply under ADHOC_REPLY_MAX bytes (a server drops a
 * component that sends a stanza over its limit: Prosody 512 KiB,
 * ejabberd's max_stanza_size), as well as at max_items: the JIDs shown
 * stay in XEP-0133's field (registereduserjids, disableduserjids) and a
 * note says how many were left out of how many (a count asked of the
 * store when the list was cut).
 *
 * The files, from the top down (each calls only files below it):
 *   adhoc.c           set-up, the command list, dispatch, disco
 *   adhoc_register.c  jabber:iq:register as a command, relayed to reg
 *   adhoc_admin.c     the XEP-0133 admin commands and activate-user
 *   adhoc_session.c   sessions (bounds, fairness, expiry), the request
 *                     running in one, and its answer (adhoc_session.h)
 * The namespaces and bounds are in adhoc_defs.h.
 */
#ifndef REGISTRAR_ADHOC_H
#define REGISTRAR_ADHOC_H

#include <stdbool.h>
#include <strophe.h>

#include "adhoc_defs.h"
#include "conf.h"
#include "iq.h"
#include "reg.h"
#include "store.h"

struct adhoc_env {
    double (*now)(void); /* monotonic seconds, for session expiry */
};

struct adhoc;

/* conf, reg and store are borrowed and must outlive the adhoc (see
 * adhoc_set); env is copied.  Caller owns the result (adhoc_free).  NULL
 * when out of memory. */
struct adhoc *adhoc_new(const struct conf *conf, struct reg *reg,
                        struct store *store, const struct adhoc_env *env);
/* Serves conf and reg (borrowed) from now on, after a reload; sessions
 * are kept (admin rights are checked again on every request). */
void adhoc_set(struct adhoc *adhoc, const struct conf *conf, struct reg *reg);
/* Frees the sessions.  Nothing may be in flight: call it once the store's
 * and the hashing worker's callbacks have all run. */
void adhoc_free(struct adhoc *adhoc);

/* Handles an iq whose payload is <command xmlns=ADHOC_NS/>.  Takes req:
 * answers it exactly once and ends it, now or when the store or reg calls
 * back. */
void adhoc_command(struct adhoc *adhoc, struct iq_req *req);

/* disco#info / disco#items of node (not NULL) for the requester of req:
 * answers req (without ending it) and returns true when node is the
 * command list or a command; false (nothing sent) for any other node. */
bool adhoc_disco_info(struct adhoc *adhoc, struct iq_req *req,
                      const char *node);
bool adhoc_disco_items(struct adhoc *adhoc, struct iq_req *req,
                       const char *node);

/* True when the bare JID is one of conf's registration.admins (compared
 * as prepared JIDs: jid.h, or case-insensitively when stringprep refuses
 * one). */
bool adhoc_is_admin(const struct conf *conf, const char *bare);

/* Sessions open (in flight included, admins' included). */
unsigned adhoc_sessions(const struct adhoc *adhoc);

/* Sessions ended to make room for another JID's (see above), since the
 * adhoc was made. */
unsigned long adhoc_sessions_evicted(const struct adhoc *adhoc);

#endif
