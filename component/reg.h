/*
 * reg.h - XEP-0077 In-Band Registration for one service.
 *
 * Decides what a jabber:iq:register get or set means (form, registered,
 * register, update, cancel), validates against the configured form, asks
 * the store and maps its outcome to one reply.  No libpq, no connection:
 * replies go through the iq_req, data through store.h.
 */
#ifndef REGISTRAR_REG_H
#define REGISTRAR_REG_H

#include "conf.h"
#include "iq.h"
#include "store.h"

#define REG_NS "jabber:iq:register"

struct reg;

/* conf and store are borrowed and must outlive the reg.  Caller owns the
 * result (reg_free).  NULL when out of memory. */
struct reg *reg_new(const struct conf *conf, struct store *store);
void reg_free(struct reg *reg);

/* Handles an iq get/set whose payload is <query xmlns='jabber:iq:register'/>.
 * Takes req: answers it exactly once and ends it, now or when the store
 * calls back. */
void reg_handle(struct reg *reg, struct iq_req *req);

/* True when var is one of the elements of the jabber:iq:register schema
 * (username, password, email, ...). */
bool reg_is_legacy_field(const char *var);

#endif
