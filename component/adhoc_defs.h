/*
 * adhoc_defs.h - the namespaces and bounds of the XEP-0050 ad-hoc
 * commands (adhoc.h says what each bound is for): for adhoc's files,
 * which do not include adhoc.h (adhoc.c, the dispatcher, stands above
 * them), and through adhoc.h for everyone else.
 */
#ifndef REGISTRAR_ADHOC_DEFS_H
#define REGISTRAR_ADHOC_DEFS_H

#define ADHOC_NS "http://jabber.org/protocol/commands"
#define ADHOC_NS_ADMIN "http://jabber.org/protocol/admin"
#define ADHOC_NODE_ACTIVATE "registrar#activate-user"
#define ADHOC_NODE_CREATE_INVITE "registrar#create-invite"
#define ADHOC_NODE_LIST_INVITES "registrar#list-invites"
#define ADHOC_NODE_REVOKE_INVITE "registrar#revoke-invite"

/* Sessions: per bare JID, in total (non-admins), and how long one lives
 * unused: an admin command's, a registration's. */
#define ADHOC_SESSIONS_PER_JID 4
#define ADHOC_SESSIONS_MAX 256
#define ADHOC_SESSION_TTL_S 600.0
#define ADHOC_REGISTER_TTL_S 120.0
/* The most JIDs a list command returns (max_items 'none' included). */
#define ADHOC_LIST_MAX 1000
/* The most bytes of a list command's reply, serialised (iq included). */
#define ADHOC_REPLY_MAX (60 * 1024)

#endif
