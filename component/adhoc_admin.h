/*
 * adhoc_admin.h - the XEP-0133 admin commands on the service's
 * registrations, and registrar#activate-user (adhoc_admin.c).  For
 * adhoc.c only (adhoc_session.h).  Each stage takes its run.
 */
#ifndef REGISTRAR_ADHOC_ADMIN_H
#define REGISTRAR_ADHOC_ADMIN_H

#include "adhoc_session.h"

/* The commands, for the admins only, in the order disco lists them. */
extern const struct cmd adhoc_admin_cmds[];
extern const size_t adhoc_admin_ncmds;

/* A count command: its one stage. */
void adhoc_admin_count(struct run *run);
/* A list or accounts command's first stage: the form to fill. */
void adhoc_admin_ask_form(struct run *run);
/* Its submission x (borrowed). */
void adhoc_admin_submit(struct run *run, xmpp_stanza_t *x);

#endif
