/*
 * policy.c - the access policy of conf_registration applied to a bare JID.
 *
 * Pure and allocation-free.  The order: a blocked JID is refused whatever
 * its domain; then allowed_domains, when set, is the whole list of
 * domains ("*" for any); when empty, only the local domains may register
 * (a component never sees IPs, and users of other servers arrive over
 * s2s: refused unless an operator allows their domain).
 */
#include "policy.h"

#include <fnmatch.h>
#include <string.h>
#include <strings.h>

static bool in_list(const struct conf_list *l, const char *domain)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i], "*") == 0 ||
            strcasecmp(l->items[i], domain) == 0)
            return true;
    return false;
}

enum policy_verdict policy_check(const struct conf_registration *r,
                                 const char *bare_jid, const char **why)
{
    const char *at = strchr(bare_jid, '@');
    const char *domain = at ? at + 1 : bare_jid;
    const char *dummy;

    if (!why)
        why = &dummy;
    for (size_t i = 0; i < r->blocked_jids.n; i++) {
        if (fnmatch(r->blocked_jids.items[i], bare_jid, FNM_CASEFOLD) == 0) {
            *why = "Access denied by service policy: this address may not "
                   "register.";
            return POLICY_BLOCKED;
        }
    }
    if (r->allowed_domains.n) {
        if (in_list(&r->allowed_domains, domain))
            return POLICY_ALLOW;
        *why = "Access denied by service policy: registrations from this "
               "domain are not accepted.";
        return POLICY_DOMAIN;
    }
    if (in_list(&r->local_domains, domain))
        return POLICY_ALLOW;
    *why = "Access denied by service policy: registrations from other "
           "servers are not accepted.";
    return POLICY_REMOTE;
}
