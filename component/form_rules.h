/*
 * form_rules.h - the XEP-0122 rules of one form field (datatype, range,
 * regex, list range): checked together when the configuration is loaded,
 * and applied to submitted values.  Pure: no XML, no I/O; the datatypes
 * are validate.h's, the regular expressions pattern.h's.
 */
#ifndef REGISTRAR_FORM_RULES_H
#define REGISTRAR_FORM_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "form_values.h"

/* The keys of a field a problem is about (conf.c turns them into lines). */
enum form_rules_key {
    FORM_RULES_TYPE,
    FORM_RULES_DATATYPE,
    FORM_RULES_RANGE_MIN,
    FORM_RULES_RANGE_MAX,
    FORM_RULES_REGEX,
    FORM_RULES_LIST_MIN,
    FORM_RULES_LIST_MAX,
    FORM_RULES_OPTION, /* index: which option */
};

/* Called once per problem found: a sentence without the field's name. */
typedef void (*form_rules_report)(void *arg, enum form_rules_key key,
                                  size_t index, const char *text);

/* Checks the XEP-0122 keys of f (as read from the configuration; its
 * pattern is not looked at): a known datatype that suits the field's type
 * (none on fixed, hidden and jid fields; only xs:boolean on a boolean
 * field), every option a value of it; a range only with an ordered
 * datatype (XEP-0122 5.8) on a text-single or text-private field, its
 * ends values of the datatype, min <= max; a regex only on those fields
 * too, not with a range (XEP-0122 3.2: one method), that compiles; a list
 * range only on -multi fields, list_min <= list_max.  Reports every
 * problem; true when there was none. */
bool form_rules_check(const struct form_field_def *f, form_rules_report report,
                      void *arg);

/* True when f has any XEP-0122 rule (and its form carries <validate/>). */
bool form_rules_any(const struct form_field_def *f);

/* Checks one non-blank value of f against its datatype, range and regex
 * (white space at either end ignored but for xs:string: XML Schema's
 * whiteSpace facet).
 * False with a sentence to follow the field's name ("must be an integer
 * from 13 to 120") written to why (size bytes). */
bool form_rules_value(const struct form_field_def *f, const char *value,
                      char *why, size_t size);

/* Checks the number of non-blank values n of a -multi field against its
 * list range; false with a sentence as form_rules_value's. */
bool form_rules_count(const struct form_field_def *f, size_t n, char *why,
                      size_t size);

#endif
