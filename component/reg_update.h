/*
 * reg_update.h - a set of registration data: register, or update the
 * registration on file (reg_update.c).  For reg.c only (reg_types.h).
 */
#ifndef REGISTRAR_REG_UPDATE_H
#define REGISTRAR_REG_UPDATE_H

#include "reg_types.h"

/* A set of registration data (form or legacy elements) in op->data: looks
 * up the registration, then registers or updates.  Takes op. */
void reg_update_set(struct op *op);

#endif
