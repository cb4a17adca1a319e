/*
 * adhoc_register.h - jabber:iq:register as an ad-hoc command
 * (adhoc_register.c).  For adhoc.c only (adhoc_session.h).
 */
#ifndef REGISTRAR_ADHOC_REGISTER_H
#define REGISTRAR_ADHOC_REGISTER_H

#include "adhoc_session.h"

/* The command, node jabber:iq:register, for everyone. */
extern const struct cmd adhoc_register_cmd;

/* A stage: the form (x NULL) or its submission x (borrowed), answered
 * with reg's own answer.  Takes run. */
void adhoc_register_stage(struct run *run, xmpp_stanza_t *x);

#endif
