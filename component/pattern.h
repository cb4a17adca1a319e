/*
 * pattern.h - XML Schema regular expressions (XEP-0122 <regex/>) compiled
 * and matched by PCRE2, which pattern.c alone includes.
 *
 * A pattern matches the whole value (XML Schema anchors every pattern):
 * compiled in UTF mode with Unicode properties for \d \w \s, anchored at
 * both ends.  A match runs under a match limit and a depth limit, so a
 * pattern that backtracks catastrophically gives PATTERN_LIMIT, never a
 * hang.  Thread-safe once compiled (each match has its own match data).
 */
#ifndef REGISTRAR_PATTERN_H
#define REGISTRAR_PATTERN_H

#include <stdbool.h>
#include <stddef.h>

/* PCRE2's match and depth limits for one value. */
#define PATTERN_MATCH_LIMIT 100000
#define PATTERN_DEPTH_LIMIT 1000

struct pattern;

enum pattern_result {
    PATTERN_MATCH,
    PATTERN_NO_MATCH,
    PATTERN_LIMIT, /* the match or depth limit stopped it */
    PATTERN_ERROR, /* invalid UTF-8, out of memory */
};

/* Compiles source (UTF-8; checked with validate_regex_subset() first).
 * NULL on error, with a message (validate.h's or PCRE2's) and the offset
 * in source, in bytes, written to why (size bytes) and *offset.  Caller
 * owns the result: pattern_free(). */
struct pattern *pattern_compile(const char *source, char *why, size_t size,
                                size_t *offset);

/* Matches the whole of s (UTF-8) against p. */
enum pattern_result pattern_match(const struct pattern *p, const char *s);

/* NULL is fine. */
void pattern_free(struct pattern *p);

#endif
