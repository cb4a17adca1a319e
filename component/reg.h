/*
 * reg.h - XEP-0077 In-Band Registration for one service.
 *
 * Decides what a jabber:iq:register get or set means (form, registered,
 * register, update, cancel), validates against the configured form, asks
 * the store and maps its outcome to one reply.  No libpq, no connection:
 * replies go through the iq_req, data through store.h, bcrypt through a
 * worker.  Split by flow over reg*.c (see reg_types.h); reg.c, the
 * dispatcher, stands above the flows.
 */
#ifndef REGISTRAR_REG_H
#define REGISTRAR_REG_H

#include "conf.h"
#include "form.h"
#include "iq.h"
#include "reg_ns.h"
#include "store.h"
#include "worker.h"

/* What reg needs from its surroundings. */
struct reg_env {
    /* Where bcrypt runs (borrowed; must outlive the reg): the threads of
     * the daemon, or an inline worker in tests. */
    struct worker *hasher;
    /* Where challenge images are drawn (image_cmd; borrowed, must outlive
     * the reg); NULL: none (an image challenge then fails closed). */
    struct worker *imager;
    /* Monotonic seconds, for the rate limits. */
    double (*now)(void);
    /* Where the service's requests are counted (borrowed; must outlive
     * the reg): its block is found by the component JID.  NULL: not
     * counted. */
    struct stats *stats;
};

struct reg;

/* conf and store are borrowed and must outlive the reg; env is copied.
 * Caller owns the result (reg_free).  NULL when out of memory. */
struct reg *reg_new(const struct conf *conf, struct store *store,
                    const struct reg_env *env);
void reg_free(struct reg *reg);

/* Handles an iq get/set whose payload is <query xmlns='jabber:iq:register'/>.
 * Takes req: answers it exactly once and ends it, now or when the store
 * calls back. */
void reg_handle(struct reg *reg, struct iq_req *req);

/* XEP-0231: an iq get of <data xmlns='urn:xmpp:bob' cid='...'/>, the
 * image of a challenge (reg_challenge.h); takes req.  reg_bob_on: whether
 * the service's challenges are images (disco's urn:xmpp:bob). */
void reg_bob(struct reg *reg, struct iq_req *req);
bool reg_bob_on(const struct reg *reg);

/* Handles an iq set whose payload is <preauth xmlns=REG_NS_PARS/>
 * (XEP-0445): with the service's invitations on, a valid token is bound
 * to the sender's bare JID for invites.preauth_ttl (a plain registration
 * from that JID then needs no token), answered with an empty result;
 * item-not-found (cancel) when the token is not a usable invitation;
 * service-unavailable when invitations are off.  Takes req as
 * reg_handle() does. */
void reg_preauth(struct reg *reg, struct iq_req *req);

/* Whether the service takes invitations (disco: REG_NS_PARS). */
bool reg_invites_on(const struct reg *reg);

/* Requests taken and not yet answered (a retired reg is freed at 0). */
unsigned reg_inflight(const struct reg *reg);

/* The store reg was made with (borrowed), for the admin commands of
 * adhoc.c, which share it. */
struct store *reg_store(const struct reg *reg);

/* The service's counters (stats.h; borrowed), or NULL when not counted:
 * for adhoc.c, whose commands are the same service's requests. */
struct stats_service *reg_stats(const struct reg *reg);

#endif
