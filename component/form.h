/*
 * form.h - XEP-0004 data forms: definitions, building, parsing, validation.
 *
 * Pure protocol logic: builds and reads libstrophe stanzas but does no I/O,
 * never touches a connection and knows nothing of storage or XEP-0077.
 */
#ifndef REGISTRAR_FORM_H
#define REGISTRAR_FORM_H

#include <stdbool.h>
#include <stddef.h>
#include <strophe.h>

#define FORM_NS "jabber:x:data"
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
    char *label;      /* may be NULL */
    char *desc;       /* may be NULL */
    char *value;      /* fixed/hidden value, may be NULL */
    bool required;
    size_t max_length; /* bytes per value */
    struct form_option *options;
    size_t noptions;
};

/* A form definition; every pointer is borrowed from its owner. */
struct form_def {
    const char *form_type; /* FORM_TYPE value, e.g. "jabber:iq:register" */
    const char *title;     /* may be NULL */
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

enum form_status {
    FORM_OK = 0,
    FORM_CANCEL,         /* a form of type 'cancel' was submitted */
    FORM_BAD_REQUEST,    /* malformed: wrong type, duplicates, too many */
    FORM_NOT_ACCEPTABLE, /* well formed, but values refused */
};

/* Why a form was refused: a sentence naming the field where one is at
 * fault.  Never contains a submitted value. */
struct form_problem {
    char text[256];
};

const char *form_type_name(enum form_field_type type);
bool form_type_parse(const char *name, enum form_field_type *out);
/* True for the -multi types, whose values are lists. */
bool form_type_is_multi(enum form_field_type type);

const struct form_field_def *form_def_find(const struct form_def *def,
                                           const char *var);

/* Builds <x xmlns='jabber:x:data' type=TYPE/> ("form" or "result") from
 * def; with prefill, puts its values in (never those of text-private
 * fields).  Caller owns the result (xmpp_stanza_release). */
xmpp_stanza_t *form_build(xmpp_ctx_t *ctx, const struct form_def *def,
                          const char *type, const struct form_data *prefill);

/* Reads a submitted <x xmlns='jabber:x:data'/> (borrowed) into out, which
 * the caller must form_data_clear() whatever the result.  FORM_CANCEL for
 * type 'cancel'; FORM_BAD_REQUEST for any type but 'submit', a field
 * without var, a var given twice, more than FORM_MAX_FIELDS fields, or
 * more than FORM_MAX_VALUES values in one field. */
enum form_status form_parse(xmpp_stanza_t *x, struct form_data *out,
                            struct form_problem *problem);

/* Checks data against def, and normalises it in place: drops unknown vars,
 * fixed fields and FORM_TYPE, trims text, canonicalises booleans.  With
 * keep_private, a missing text-private field is allowed (an update keeps
 * the stored secret).  FORM_BAD_REQUEST: wrong FORM_TYPE, several values
 * for a single-value field.  FORM_NOT_ACCEPTABLE: required field missing
 * or blank, value too long (text-private: over FORM_PRIVATE_MAX_BYTES
 * whatever max_length says), not among the options, bad JID or boolean,
 * control characters. */
enum form_status form_validate(const struct form_def *def,
                               struct form_data *data, bool keep_private,
                               struct form_problem *problem);

/* Appends one value to var in data (creating the entry).  Copies both
 * strings.  False when out of memory. */
bool form_data_add(struct form_data *data, const char *var,
                   const char *value);
const struct form_value *form_data_get(const struct form_data *data,
                                       const char *var);
/* First value of var, or NULL.  Borrowed from data. */
const char *form_data_first(const struct form_data *data, const char *var);
/* Removes var from data, freeing its values. */
void form_data_remove(struct form_data *data, const char *var);
void form_data_clear(struct form_data *data);

/* JSON object var -> value (or array of values for -multi fields in def;
 * vars not in def become strings when single, arrays when several).
 * Caller owns the result (free()); NULL when out of memory. */
char *form_data_to_json(const struct form_def *def,
                        const struct form_data *data);

/* True when s is a syntactically valid bare or full JID (RFC 7622 shape:
 * lengths, no whitespace or forbidden characters). */
bool form_jid_valid(const char *s);

#endif
