/*
 * conf.h - the configuration: one validated, immutable struct.
 *
 * conf.c is the only file that includes confuse.h.  A struct conf is built
 * once by conf_load() and never changed; a reload builds a new one.
 */
#ifndef REGISTRAR_CONF_H
#define REGISTRAR_CONF_H

#include <stdbool.h>
#include <stdio.h>

#include "form.h"
#include "log.h"

/* Exit code for an invalid configuration (sysexits.h EX_CONFIG). */
#define CONF_EXIT_INVALID 78

struct conf_component {
    char *jid;    /* the component's domain, e.g. "contests.example" */
    char *server; /* host of the XMPP server's component port */
    unsigned port;
    char *secret;
    unsigned reconnect_min_ms; /* first back-off delay */
    unsigned reconnect_max_ms; /* back-off cap */
};

struct conf_database {
    char *conninfo; /* libpq connection string; may be "" (PG* env) */
};

struct conf_disco {
    char *category; /* XEP-0030 identity */
    char *type;
    char *name;
};

struct conf_registration {
    char *title;
    char *instructions;
    struct form_field_def *fields;
    size_t nfields;
};

struct conf {
    char *path;
    struct conf_component component;
    struct conf_database database;
    struct conf_disco disco;
    struct conf_registration registration;
    enum log_level log_level;
};

/* Reads and validates path.  Every problem is written to err (may be NULL)
 * as "FILE:LINE: reason".  Returns a new conf that the caller owns
 * (conf_free), or NULL when the file is unreadable or invalid. */
struct conf *conf_load(const char *path, FILE *err);

void conf_free(struct conf *conf);

#endif
