/*
 * validate.h - XEP-0122 datatypes of form values: which datatypes there
 * are, whether a value is of one, how two values of one compare, and the
 * XML Schema regular expressions registrar accepts.
 *
 * Pure: no XML, no I/O, no allocation, no locale (XEP-0122 5.3: formats
 * are locale-independent).  The regular expressions themselves are
 * matched by pattern.c (PCRE2); this file only checks that a pattern keeps
 * to the subset whose meaning is the same in XML Schema and in PCRE2.
 */
#ifndef REGISTRAR_VALIDATE_H
#define REGISTRAR_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

enum validate_datatype {
    VALIDATE_STRING, /* xs:string: the default */
    VALIDATE_INTEGER,
    VALIDATE_INT,
    VALIDATE_LONG,
    VALIDATE_SHORT,
    VALIDATE_BYTE,
    VALIDATE_DECIMAL,
    VALIDATE_DOUBLE,
    VALIDATE_DATE,
    VALIDATE_DATETIME,
    VALIDATE_TIME,
    VALIDATE_BOOLEAN,
    VALIDATE_ANYURI,
    VALIDATE_LANGUAGE,
};

/* "xs:integer" etc.; false for a name XEP-0122's list does not hold. */
bool validate_datatype_parse(const char *name, enum validate_datatype *out);
const char *validate_datatype_name(enum validate_datatype dt);
/* What a value of dt is, to follow "must be": "an integer from -128 to
 * 127", "a date (YYYY-MM-DD)".  Static text. */
const char *validate_datatype_noun(enum validate_datatype dt);
/* True when dt's values are ordered (numbers, dates, times): XEP-0122 5.8,
 * <range/> only with datatypes of finite quantities. */
bool validate_datatype_ordered(enum validate_datatype dt);

/* True when s (UTF-8, already trimmed) is a lexical value of dt:
 * - integers: [+-]?[0-9]+, within the type's bounds (xs:integer has none);
 * - xs:decimal: [+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+);
 * - xs:double: a decimal with an optional exponent, INF, -INF, NaN;
 * - xs:date: -?YYYY-MM-DD (year of 4 to 9 digits without a leading
 *   zero, not 0000; days of the month, 29 February in leap years) and an
 *   optional time zone (Z or +hh:mm / -hh:mm, up to 14:00);
 * - xs:dateTime: a date, T, a time; xs:time: hh:mm:ss(.s+)? and an
 *   optional time zone (hours 00-23: 24:00:00 is refused);
 * - xs:boolean: true, false, 1, 0;
 * - xs:anyURI: an absolute URI of RFC 3986's shape: a scheme, ':', then
 *   characters of RFC 3986 or above U+007F (an IRI), %XX escapes, at most
 *   one '#', after "//" a host (empty only before a path: file:///x)
 *   and a numeric port;
 * - xs:language: [a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*;
 * - xs:string: anything. */
bool validate_value(enum validate_datatype dt, const char *s);

/* Compares a and b, both valid values of an ordered dt: *cmp < 0, 0, > 0.
 * Numbers compare by value (any number of digits; 1.50 equals 1.5), dates
 * by their day (a time zone is ignored), times and dateTimes by instant
 * (no time zone: UTC).  False when either is not a value of dt, or is NaN
 * (which no range holds). */
bool validate_compare(enum validate_datatype dt, const char *a, const char *b,
                      int *cmp);

/* The subset of XML Schema regular expressions (XSD Part 2, appendix F)
 * registrar accepts: characters; '.'; classes [..] and [^..] with ranges;
 * the escapes \n \r \t \\ \| \. \- \^ \? \* \+ \{ \} \( \) \[ \] \$
 * \d \D \s \S \w \W \p{..} \P{..} (in Unicode's terms); groups (..);
 * alternation |; the quantifiers ? * + {n} {n,} {n,m}.  Refused, because
 * PCRE2 would read them differently from XML Schema (or XML Schema has
 * no such thing): '^' and '$' outside a class (literals in XML Schema,
 * anchors in PCRE2: the whole value must match anyway), '(?', lazy and
 * possessive quantifiers, back references and every other escape, class
 * subtraction "-[".  False with *offset (bytes into pattern) and *why (a
 * static text) when pattern strays from the subset. */
bool validate_regex_subset(const char *pattern, size_t *offset,
                           const char **why);

#endif
