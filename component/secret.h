/*
 * secret.h - password and text-private value hashing.
 *
 * bcrypt in the "$2a$" form (libxcrypt), because PostgreSQL's pgcrypto
 * crypt() verifies exactly that form: a third-party backend can check a
 * password in SQL with  password_hash = crypt($1, password_hash).
 * Pure CPU work, no I/O but the kernel's random source; never logs.
 */
#ifndef REGISTRAR_SECRET_H
#define REGISTRAR_SECRET_H

#include <stdbool.h>

#define SECRET_DEFAULT_COST 10
/* The costs this daemon writes (registration.hash_cost); a stored hash of
 * any other cost is not one of ours and never matches. */
#define SECRET_MIN_COST 4
#define SECRET_MAX_COST 15
/* bcrypt reads this many bytes of a secret and ignores the rest: longer
 * secrets are refused, never silently truncated. */
#define SECRET_MAX_BYTES 72
/* Large enough for any bcrypt hash (60 bytes) and its NUL. */
#define SECRET_HASH_MAX 128

enum secret_check {
    SECRET_MATCH,
    SECRET_MISMATCH,
    SECRET_BAD_HASH, /* not a $2a$ hash of cost SECRET_MIN_COST..MAX_COST:
                      * treated as a mismatch; worth a log line */
};

/* Hashes plain with a fresh random salt into out (SECRET_HASH_MAX bytes).
 * False when the random source or libcrypt fails, or plain is longer than
 * SECRET_MAX_BYTES. */
bool secret_hash(const char *plain, unsigned cost, char out[SECRET_HASH_MAX]);

/* Checks plain against a stored hash, comparing in constant time.  Only
 * a well-formed $2a$ hash of cost SECRET_MIN_COST..SECRET_MAX_COST can
 * match; a plain longer than SECRET_MAX_BYTES never does. */
enum secret_check secret_check(const char *plain, const char *hash);

/* secret_check() == SECRET_MATCH. */
bool secret_verify(const char *plain, const char *hash);

/* True when hash has the shape this daemon writes: "$2a$", a two-digit
 * cost in SECRET_MIN_COST..SECRET_MAX_COST, "$" and 53 characters of
 * bcrypt's base64. */
bool secret_hash_ok(const char *hash);

/* Overwrites s with zeros (a compiler may not drop it). */
void secret_wipe(char *s);

/* An invitation token (sql/013): SECRET_TOKEN_BYTES random bytes of
 * getrandom(2) (144 bits) in base64url without padding, into out.  False
 * when the kernel gives no randomness (nothing written). */
#define SECRET_TOKEN_BYTES 18
#define SECRET_TOKEN_SIZE (SECRET_TOKEN_BYTES / 3 * 4 + 1)
bool secret_token(char out[SECRET_TOKEN_SIZE]);

#endif
