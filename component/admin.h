/*
 * admin.h - `registrar admin`: the administrators' command line.
 *
 * list, show, activate, disable, reenable, delete, export, forget, events
 * and stats on the registrations in registrar's database, as ejabberdctl
 * and prosodyctl are the servers'.  Changes go through the store's
 * operations, so through the SQL functions of the XEP-0133 commands
 * (adhoc_admin.c), with the operating-system user as the actor.  No
 * libstrophe, no libpq: conf and store only.
 */
#ifndef REGISTRAR_ADMIN_H
#define REGISTRAR_ADMIN_H

#include <stddef.h>

/* Exit codes of `registrar admin` (besides 0, 64 usage and 78 an invalid
 * configuration, as the daemon's); registrar(8) lists them. */
#define ADMIN_EXIT_NOT_FOUND 1   /* no such registration, ban, or data */
#define ADMIN_EXIT_WRONG_STATE 2 /* not in the state the command changes */
#define ADMIN_EXIT_USAGE 64      /* EX_USAGE */
#define ADMIN_EXIT_DATABASE                                                    \
    70                         /* EX_SOFTWARE: the database refused or         \
                                * failed (message logged above) */
#define ADMIN_EXIT_TEMPFAIL 75 /* EX_TEMPFAIL: unreachable, timed out */
#define ADMIN_EXIT_DENIED 76   /* the role lacks a grant (as --connect's) */

/* The actor of the events an admin's command writes: "os:" and the name
 * of the user who logged in (the kernel's audit login uid, which su and
 * sudo keep), or of the real uid when there is no login uid; "os:#UID"
 * when the uid has no name.  Never an XMPP admin's actor: those are bare
 * JIDs with an '@', whose local part has no ':'.  Into out (size bytes),
 * cut when longer. */
void admin_actor(char *out, size_t size);

/* `registrar admin ARGS...`: argv[0] is "admin", the rest its options, a
 * command and its arguments.  Prints to stdout (tables, or JSON with
 * --json) and stderr (problems); returns the exit code. */
int admin_main(int argc, char **argv);

#endif
