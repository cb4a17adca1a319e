/*
 * text.h - UTF-8 text we did not write: what a requester may choose as a
 * username, how any text is cut or quoted without splitting a character,
 * and what XML allows.  Pure: no I/O, no locale; Unicode's classes and
 * NFKC come from ICU, which text.c alone includes.
 *
 * The username is checked in C before anything is stored, so that a
 * refusal is a not-acceptable answer with a reason rather than a database
 * error.
 * The same rule is the CHECK registrations_username_valid of
 * sql/003_username_rule.sql, which has the last word; its written-out
 * classes are those of the Unicode version of the linked ICU (ICU 72:
 * Unicode 15.0), and tests/store/test_username.c requires both to give
 * the same verdict on every code point.  Usernames are never compared
 * here: equality is the database's registrar_username_key().
 */
#ifndef REGISTRAR_TEXT_H
#define REGISTRAR_TEXT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* True when s (NUL-terminated; NULL counts as empty) may be a username:
 * valid UTF-8 (no overlong forms, no surrogates), not empty, no control
 * (Cc) or format (Cf) character, no noncharacter, no line or paragraph
 * separator, no white space of any kind (White_Space) at either end, nor
 * at either end of its comparison key (registrar_username_key(): NFKC,
 * case mapped, NFKC; a spacing accent such as U+00A8 is a space and a
 * combining mark in NFKC).  Otherwise false, and *why (may be NULL) is a
 * static text naming the rule broken, never the value, to follow "the
 * username ...": e.g. "begins or ends with white space".  Allocates and
 * frees its working copies; out of memory, the key's check is left to the
 * database.  Thread-safe. */
bool text_username_ok(const char *s, const char **why);

/* ---- cutting and quoting: every cut falls between two characters ---- */

/* How many of the first len bytes of s (all readable) to keep so that no
 * UTF-8 character is cut in two: len, or less by the bytes of a sequence
 * whose first byte announces more bytes than len leaves it.  Pass
 * len = min(strlen(s), max) to cut s to at most max bytes.  Text that is
 * not UTF-8 is never cut further back than that one sequence. */
size_t text_cut(const char *s, size_t len);

/* vsnprintf(3) into buf (size > 0 bytes), except that a text too long for
 * buf is cut at a character boundary (text_cut) rather than inside a
 * character.  True when the whole text fitted. */
bool text_vformat(char *buf, size_t size, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
bool text_format(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* How many characters of untrusted text an error text may quote. */
#define TEXT_EXCERPT_CHARS 32
/* Room for an excerpt of n characters: 4 bytes each, "..." and a NUL. */
#define TEXT_EXCERPT_SIZE(n) (4 * (size_t)(n) + 4)

/* A short excerpt of untrusted text s (NULL: "") to quote in an error text
 * or a log line: its first max_chars characters at most, and "..." when
 * there is more; a byte that is not part of valid UTF-8 and a control,
 * format (Cf), noncharacter or line/paragraph separator code point are
 * each written as '?' (no newline, no bidi override, nothing XML
 * refuses).  Written to out (size bytes; TEXT_EXCERPT_SIZE(max_chars) is
 * always enough, less ends the excerpt sooner, with "..."); returns out. */
const char *text_excerpt(char *out, size_t size, const char *s,
                         size_t max_chars);

/* ---- what XML 1.0 allows (libstrophe escapes & < > " but checks
 * nothing else) ---- */

/* True when s (NUL-terminated, not NULL) is valid UTF-8 made only of
 * characters XML 1.0 allows in text and attribute values (Char: tab, LF,
 * CR, U+0020-U+D7FF, U+E000-U+FFFD, U+10000-U+10FFFF). */
bool text_xml_chars_ok(const char *s);

/* True when s (not NULL) is an XML 1.0 Name (fifth edition), colons
 * allowed: what may follow '<' or stand before '=' in a tag. */
bool text_xml_name_ok(const char *s);

/* A duration: digits and a unit (s, m, h, d, w; none: seconds), 1 s to 10
 * years ("7d", "12h"); into *seconds.  False when s is not one. */
bool text_duration_parse(const char *s, unsigned long *seconds);

/* s (UTF-8) folded for comparing answers (challenge.h): NFKC, case
 * mapped as registrar_username_key() maps it, White_Space trimmed and each
 * inner run of it one space; into out (size bytes).  False when s is not
 * UTF-8, is over 4096 bytes, or out is too small (out is then ""). */
bool text_fold(const char *s, char *out, size_t size);

#endif
