/*
 * policy.h - who may register: allowed domains, blocked JIDs, and
 * registrations from other servers.  Pure: strings in, verdict out.
 */
#ifndef REGISTRAR_POLICY_H
#define REGISTRAR_POLICY_H

#include "conf.h"

enum policy_verdict {
    POLICY_ALLOW = 0,
    POLICY_BLOCKED, /* matches a blocked_jids pattern */
    POLICY_DOMAIN,  /* domain not in allowed_domains */
    POLICY_REMOTE,  /* another server's user, not allowed */
};

/* Checks bare_jid against r.  *why (may be NULL) gets a sentence for the
 * user, static storage. */
enum policy_verdict policy_check(const struct conf_registration *r,
                                 const char *bare_jid, const char **why);

#endif
