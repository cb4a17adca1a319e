/*
 * reg_account.h - changes to an existing registration: cancel and
 * password change, and moderation's refusals (reg_account.c).  For reg's
 * files only (reg_types.h).  Each call takes op and ends it.
 */
#ifndef REGISTRAR_REG_ACCOUNT_H
#define REGISTRAR_REG_ACCOUNT_H

#include "reg_types.h"

/* Moderation's answers, with the admin's reason (NULL: none) quoted
 * character-safe.  A disabled registration refuses a change: not-allowed
 * (405); a banned JID (its user cancelled a disabled registration) may not
 * register again: forbidden (403, auth). */
void reg_account_fail_disabled(struct op *op, const char *reason);
void reg_account_fail_banned(struct op *op, const char *reason);

/* <remove/> (the only child when nchildren is 1). */
void reg_account_remove(struct op *op, size_t nchildren);
/* A submitted jabber:iq:register:cancel form in op->data. */
void reg_account_cancel_form(struct op *op);
/* A submitted jabber:iq:register:changepassword form. */
void reg_account_password_form(struct op *op);
/* <username/> + <password/> from a registered JID (op->rec on file). */
void reg_account_legacy_password(struct op *op);
/* Answers with the changepassword form (not-authorized, modify). */
void reg_account_ask_password_form(struct op *op);

#endif
