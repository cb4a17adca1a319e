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
/* Large enough for any bcrypt hash (60 bytes) and its NUL. */
#define SECRET_HASH_MAX 128

/* Hashes plain with a fresh random salt into out (SECRET_HASH_MAX bytes).
 * False when the random source or libcrypt fails. */
bool secret_hash(const char *plain, unsigned cost, char out[SECRET_HASH_MAX]);

/* True when plain matches hash; compares in constant time. */
bool secret_verify(const char *plain, const char *hash);

/* Overwrites s with zeros (a compiler may not drop it). */
void secret_wipe(char *s);

#endif
