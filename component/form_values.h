/*
 * form_values.h - the plain values of a registration form: field
 * definitions (type, options, limits) and the values submitted or on file.
 *
 * Knows no XML, no XMPP and no storage: conf, store and the protocol code
 * share these types without pulling in libstrophe.  Strings are UTF-8.
 */
#ifndef REGISTRAR_FORM_VALUES_H
#define REGISTRAR_FORM_VALUES_H

#include <stdbool.h>
#include <stddef.h>

/* Submissions with more fields than this are refused as bad-request. */
#define FORM_MAX_FIELDS 64
/* Values of one submitted field beyond this are refused as bad-request
 * (a -multi field takes a list; the list is bounded too). */
#define FORM_MAX_VALUES 64
/* text-private values are stored as bcrypt hashes, and bcrypt reads only
 * this many bytes: a longer value is refused, never truncated. */
#define FORM_PRIVATE_MAX_BYTES 72
/* Default cap on one value, in bytes, when a field sets none. */
#define FORM_DEFAULT_MAX_LENGTH 1024
/* Hard cap on max_length that a configuration may ask for. */
#define FORM_LIMIT_MAX_LENGTH 65536

struct pattern; /* pattern.h: a compiled XEP-0122 <regex/> */

enum form_field_type {
    FORM_BOOLEAN,
    FORM_FIXED,
    FORM_HIDDEN,
    FORM_JID_MULTI,
    FORM_JID_SINGLE,
    FORM_LIST_MULTI,
    FORM_LIST_SINGLE,
    FORM_TEXT_MULTI,
    FORM_TEXT_PRIVATE,
    FORM_TEXT_SINGLE,
};

struct form_option {
    char *value;
    char *label; /* may be NULL */
};

/* One field of a form definition (from the configuration). */
struct form_field_def {
    char *var;
    enum form_field_type type;
    char *label; /* may be NULL */
    char *desc;  /* may be NULL */
    char *value; /* fixed/hidden value, may be NULL */
    bool required;
    size_t max_length; /* bytes per value */
    char *consent;     /* a consent (boolean) field: the version of what is
                        * consented to; the value must be true; NULL: none */
    struct form_option *options;
    size_t noptions;
    /* XEP-0122 (validate.h), all optional; checked at load (conf.c) */
    char *datatype;  /* "xs:integer"...; NULL: none (xs:string) */
    char *range_min; /* <range min=/> in the datatype's terms, or NULL */
    char *range_max; /* <range max=/>, or NULL */
    char *regex;     /* <regex/>, XML Schema subset; NULL: none */
    struct pattern *pattern; /* regex compiled (owned by conf), or NULL */
    size_t list_min;         /* -multi fields: <list-range min=/>; 0: none */
    size_t list_max;         /* <list-range max=/>; 0: none */
};

/* A form definition; every pointer is borrowed from its owner. */
struct form_def {
    const char *form_type;    /* FORM_TYPE value, e.g. "jabber:iq:register" */
    const char *title;        /* may be NULL */
    const char *instructions; /* may be NULL */
    const struct form_field_def *fields;
    size_t nfields;
};

/* Values of one field: var plus zero or more values (all owned). */
struct form_value {
    char *var;
    char **values;
    size_t nvalues;
};

/* A set of submitted (or stored) values.  Owns everything it holds. */
struct form_data {
    struct form_value *items;
    size_t n;
    char *form_type; /* the FORM_TYPE submitted, NULL when none */
};

const char *form_type_name(enum form_field_type type);
bool form_type_parse(const char *name, enum form_field_type *out);
/* True for the -multi types, whose values are lists. */
bool form_type_is_multi(enum form_field_type type);

const struct form_field_def *form_def_find(const struct form_def *def,
                                           const char *var);

/* Appends one value to var in data (creating the entry).  Copies both
 * strings.  False when out of memory. */
bool form_data_add(struct form_data *data, const char *var, const char *value);
/* The entry of var (borrowed from data), or NULL. */
struct form_value *form_data_find(const struct form_data *data,
                                  const char *var);
/* The entry of var, created without values when missing; NULL when out
 * of memory. */
struct form_value *form_data_entry(struct form_data *data, const char *var);
/* Appends a copy of value to v; false when out of memory. */
bool form_value_append(struct form_value *v, const char *value);
const struct form_value *form_data_get(const struct form_data *data,
                                       const char *var);
/* First value of var, or NULL.  Borrowed from data. */
const char *form_data_first(const struct form_data *data, const char *var);
/* Removes var from data, wiping and freeing its values. */
void form_data_remove(struct form_data *data, const char *var);
/* Wipes and frees every value (they may be secrets). */
void form_data_clear(struct form_data *data);

/* Control characters other than tab (and CR, LF when multiline), C1
 * included: they have no place in a registration value. */
bool form_has_control(const char *s, bool multiline);

/* True when s is a syntactically valid bare or full JID (RFC 7622 shape:
 * lengths, no whitespace or forbidden characters). */
bool form_jid_valid(const char *s);

#endif
