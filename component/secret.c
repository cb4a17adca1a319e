/*
 * secret.c - bcrypt ($2a$) hashing and constant-time verification through
 * libxcrypt.  See secret.h for why $2a$.  Must not log or keep secrets.
 */
#include "secret.h"

#include <crypt.h>
#include <stdlib.h>
#include <string.h>

bool secret_hash(const char *plain, unsigned cost, char out[SECRET_HASH_MAX])
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data *cd;
    const char *h;
    bool ok = false;

    /* NULL entropy: libxcrypt reads the kernel's random source itself. */
    if (!crypt_gensalt_rn("$2a$", cost, NULL, 0, salt, sizeof(salt)))
        return false;
    if (!(cd = calloc(1, sizeof(*cd))))
        return false;
    h = crypt_rn(plain, salt, cd, sizeof(*cd));
    if (h && h[0] == '$' && strlen(h) < SECRET_HASH_MAX) {
        strcpy(out, h);
        ok = true;
    }
    explicit_bzero(cd, sizeof(*cd));
    free(cd);
    return ok;
}

bool secret_verify(const char *plain, const char *hash)
{
    struct crypt_data *cd;
    const char *h;
    size_t len;
    unsigned char diff = 0;

    if (!plain || !hash || hash[0] != '$')
        return false;
    if (!(cd = calloc(1, sizeof(*cd))))
        return false;
    h = crypt_rn(plain, hash, cd, sizeof(*cd));
    len = strlen(hash);
    if (!h || h[0] != '$' || strlen(h) != len) {
        diff = 1;
    } else {
        for (size_t i = 0; i < len; i++)
            diff |= (unsigned char)(h[i] ^ hash[i]);
    }
    explicit_bzero(cd, sizeof(*cd));
    free(cd);
    return diff == 0;
}

void secret_wipe(char *s)
{
    if (s)
        explicit_bzero(s, strlen(s));
}
