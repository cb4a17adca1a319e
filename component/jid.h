/*
 * jid.h - JIDs compared as the XMPP servers compare them.
 *
 * A JID's parts are normalised by the stringprep profiles of RFC 6122
 * (what Prosody and ejabberd apply): the local part by nodeprep, the
 * domain by nameprep (and one trailing dot dropped), the resource by
 * resourceprep, each 1 to 1023 bytes once prepared, with unassigned code
 * points allowed as the servers allow them.  So "ÉLODIE@LocalHost/Desk"
 * and "élodie@localhost/Desk" are one account.  The only file that
 * includes libidn's stringprep.h.  Pure: no XMPP, no I/O, never logs.
 */
#ifndef REGISTRAR_JID_H
#define REGISTRAR_JID_H

#include <stdbool.h>

/* The most bytes of one prepared part (RFC 6122 section 2.1). */
#define JID_PART_MAX 1023

enum jid_status {
    JID_OK,
    JID_INVALID, /* not a JID: an empty or overlong part, a character a
                  * profile prohibits, invalid UTF-8, two '@' */
    JID_NOMEM,
};

/* The bare JID of jid ("local@domain" or "domain"; a resource is checked
 * and dropped) with every part prepared, in *out (caller frees; NULL
 * unless JID_OK).  Idempotent: a JID a server sent comes back unchanged. */
enum jid_status jid_normal_bare(const char *jid, char **out);
/* The same, every part through stringprep (jid_normal_bare takes a JID
 * of plain ASCII parts as it is): for the tests that compare the two. */
enum jid_status jid_normal_bare_prepped(const char *jid, char **out);

/* The domain of jid ("local@domain/resource", "domain", ...), prepared,
 * in *out (caller frees; NULL unless JID_OK).  The local part and the
 * resource are not checked. */
enum jid_status jid_normal_domain(const char *jid, char **out);

/* A sentence for an admin saying what is wrong with a JID of status st
 * (never NULL; static). */
const char *jid_status_text(enum jid_status st);

#endif
