/*
 * text.h - what a requester may choose as a username, checked in C before
 * anything is stored, so that a refusal is a not-acceptable answer with a
 * reason rather than a database error.  Pure: no library, no locale.
 *
 * The same rule is the CHECK registrations_username_valid of
 * sql/003_username_rule.sql, which has the last word (it also refuses
 * names whose NFKC form begins or ends with white space, which needs
 * Unicode tables this file does not carry).  Usernames are never compared
 * here: equality is the database's registrar_username_key().
 */
#ifndef REGISTRAR_TEXT_H
#define REGISTRAR_TEXT_H

#include <stdbool.h>

/* True when s (NUL-terminated; NULL counts as empty) may be a username:
 * valid UTF-8 (no overlong forms, no surrogates), not empty, no control
 * (Cc) or format (Cf, Unicode 15.0) character, no noncharacter, no line
 * or paragraph separator, no white space of any kind (White_Space) at
 * either end.  Otherwise false, and *why (may be NULL) is a static text
 * naming the rule broken, never the value, to follow "the username ...":
 * e.g. "begins or ends with white space". */
bool text_username_ok(const char *s, const char **why);

#endif
