/*
 * secret.c - bcrypt ($2a$) hashing and constant-time verification through
 * libxcrypt.  See secret.h for why $2a$.  Must not log or keep secrets.
 */
#include "secret.h"

#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

bool secret_hash(const char *plain, unsigned cost, char out[SECRET_HASH_MAX])
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data *cd;
    const char *h;
    bool ok = false;

    if (!plain || strlen(plain) > SECRET_MAX_BYTES || cost < SECRET_MIN_COST ||
        cost > SECRET_MAX_COST)
        return false;
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

bool secret_hash_ok(const char *hash)
{
    static const char b64[] =
        "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned cost;

    if (!hash || strlen(hash) != 60 || strncmp(hash, "$2a$", 4) != 0 ||
        hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9' ||
        hash[6] != '$')
        return false;
    cost = (unsigned)(hash[4] - '0') * 10 + (unsigned)(hash[5] - '0');
    if (cost < SECRET_MIN_COST || cost > SECRET_MAX_COST)
        return false;
    return strspn(hash + 7, b64) == 53;
}

enum secret_check secret_check(const char *plain, const char *hash)
{
    struct crypt_data *cd;
    const char *h;
    size_t len;
    unsigned char diff = 0;

    if (!secret_hash_ok(hash))
        return SECRET_BAD_HASH;
    if (!plain || strlen(plain) > SECRET_MAX_BYTES)
        return SECRET_MISMATCH;
    if (!(cd = calloc(1, sizeof(*cd))))
        return SECRET_MISMATCH;
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
    return diff == 0 ? SECRET_MATCH : SECRET_MISMATCH;
}

bool secret_verify(const char *plain, const char *hash)
{
    return secret_check(plain, hash) == SECRET_MATCH;
}

void secret_wipe(char *s)
{
    if (s)
        explicit_bzero(s, strlen(s));
}

bool secret_token(char out[SECRET_TOKEN_SIZE])
{
    static const char b64url[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        "0123456789-_";
    unsigned char raw[SECRET_TOKEN_BYTES];
    size_t got = 0, o = 0;
    ssize_t n;

    while (got < sizeof(raw)) {
        n = getrandom(raw + got, sizeof(raw) - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof(raw); i += 3) {
        unsigned v =
            (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8 | raw[i + 2];
        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
        out[o++] = b64url[v >> 6 & 63];
        out[o++] = b64url[v & 63];
    }
    out[o] = '\0';
    explicit_bzero(raw, sizeof(raw));
    return true;
}
