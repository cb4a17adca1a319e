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
 */
#ifndef REGISTRAR_ADHOC_H
#define REGISTRAR_ADHOC_H

#include <stdbool.h>
#include <strophe.h>

#include "conf.h"
#include "iq.h"
#include "reg.h"
#include "store.h"

#define ADHOC_NS "http://jabber.org/protocol/commands"
#define ADHOC_NS_ADMIN "http://jabber.org/protocol/admin"
#define ADHOC_NODE_ACTIVATE "registrar#activate-user"

/* Sessions: per bare JID, in total (non-admins), and how long one lives
 * unused: an admin command's, a registration's. */
#define ADHOC_SESSIONS_PER_JID 4
#define ADHOC_SESSIONS_MAX 256
#define ADHOC_SESSION_TTL_S 600.0
#define ADHOC_REGISTER_TTL_S 120.0
/* The most JIDs a list command returns (max_items 'none' included). */
#define ADHOC_LIST_MAX 1000

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
 * case-insensitively). */
bool adhoc_is_admin(const struct conf *conf, const char *bare);

/* Sessions open (in flight included, admins' included). */
unsigned adhoc_sessions(const struct adhoc *adhoc);

#endif
