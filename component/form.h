/*
 * form.h - XEP-0004 data forms: definitions, building, parsing, validation.
 *
 * Pure protocol logic: builds and reads libstrophe stanzas but does no I/O,
 * never touches a connection and knows nothing of storage or XEP-0077.
 * The values themselves are form_values.h's, which knows no XML.
 */
#ifndef REGISTRAR_FORM_H
#define REGISTRAR_FORM_H

#include <stdbool.h>
#include <stddef.h>
#include <strophe.h>

#include "form_values.h"

#define FORM_NS "jabber:x:data"

enum form_status {
    FORM_OK = 0,
    FORM_CANCEL,         /* a form of type 'cancel' was submitted */
    FORM_BAD_REQUEST,    /* malformed: wrong type, duplicates, too many */
    FORM_NOT_ACCEPTABLE, /* well formed, but values refused */
};

/* Why a form was refused: a sentence naming the field where one is at
 * fault.  Never contains a submitted value. */
struct form_problem {
    char text[1024];
};

/* A refusal for several values lists at most this many problems, then
 * "and K more". */
#define FORM_MAX_PROBLEMS 8
/* Each problem's text is cut (between two characters) at this size. */
#define FORM_PROBLEM_SIZE 256
#define FORM_VALIDATE_NS "http://jabber.org/protocol/xdata-validate"

/* Builds <x xmlns='jabber:x:data' type=TYPE/> ("form" or "result") from
 * def; with prefill, puts its values in (never those of text-private
 * fields).  A field with XEP-0122 rules (form_rules.h) carries
 * <validate xmlns=FORM_VALIDATE_NS datatype=.../> after its <desc/> and
 * <required/>: <range/>, <regex/> or <basic/>, then <list-range/>.  Caller owns
 * the result (xmpp_stanza_release). */
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
 * control characters, a XEP-0122 rule broken (datatype, range, regex,
 * list range: form_rules.h).  Every field is checked: one problem keeps
 * its own text; several are listed in one text, "N problems: A; B; ...",
 * the first FORM_MAX_PROBLEMS of them then "and K more". */
enum form_status form_validate(const struct form_def *def,
                               struct form_data *data, bool keep_private,
                               struct form_problem *problem);

#endif
