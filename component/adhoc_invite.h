/*
 * adhoc_invite.h - the invitation commands of the service's admins
 * (adhoc_invite.c): create, list and revoke.  For adhoc.c only
 * (adhoc_session.h).  Each stage takes its run.
 */
#ifndef REGISTRAR_ADHOC_INVITE_H
#define REGISTRAR_ADHOC_INVITE_H

#include "adhoc_session.h"

/* The commands, for the admins only, while the service's invitations are
 * on, in the order disco lists them. */
extern const struct cmd adhoc_invite_cmds[];
extern const size_t adhoc_invite_ncmds;

/* The first stage: create and revoke ask their form, list answers. */
void adhoc_invite_start(struct run *run);
/* A submission x (borrowed). */
void adhoc_invite_submit(struct run *run, xmpp_stanza_t *x);

#endif
