/*
 * jid.c - JID normalisation through libidn's stringprep (RFC 6122
 * nodeprep, nameprep, resourceprep).  The only file that includes
 * stringprep.h.
 */
#include "jid.h"

#include <stdlib.h>
#include <string.h>
#include <stringprep.h>

/* stringprep() works in place in a buffer of this size: one part of at
 * most JID_PART_MAX bytes and its NUL; a longer result does not fit and
 * is refused (STRINGPREP_TOO_SMALL_BUFFER), as it should be. */
#define PART_BUF (JID_PART_MAX + 1)

/* True when s[0..len) is well-formed UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF) without a NUL. */
static bool utf8_ok(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        unsigned cp;

        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            n = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            n = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 3, cp = c & 0x07;
        else
            return false;
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

/* Prepares s[0..len) with profile into buf (PART_BUF bytes); false when
 * it is empty, not UTF-8, prohibited by the profile or too long. */
static bool prep(const char *s, size_t len, const Stringprep_profile *profile,
                 char buf[PART_BUF])
{
    if (len == 0 || len > JID_PART_MAX || !utf8_ok((const void *)s, len))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (stringprep(buf, PART_BUF, 0, profile) != STRINGPREP_OK)
        return false;
    return buf[0] != '\0'; /* a part that maps to nothing */
}

/* Splits jid into its parts: local (may be absent: *llen 0 and *local
 * NULL), domain, resource (absent: NULL).  RFC 7622 section 3.1: the
 * resource starts at the first '/', the local part ends at the first '@'
 * before it. */
static void split(const char *jid, const char **local, size_t *llen,
                  const char **domain, size_t *dlen, const char **resource)
{
    const char *slash = strchr(jid, '/');
    size_t barelen = slash ? (size_t)(slash - jid) : strlen(jid);
    const char *at = memchr(jid, '@', barelen);

    *resource = slash ? slash + 1 : NULL;
    if (at) {
        *local = jid;
        *llen = (size_t)(at - jid);
        *domain = at + 1;
        *dlen = barelen - *llen - 1;
    } else {
        *local = NULL;
        *llen = 0;
        *domain = jid;
        *dlen = barelen;
    }
}

/* The domain part d[0..len) prepared into buf; a trailing dot is not
 * part of the name (RFC 7622 section 3.2). */
static bool prep_domain(const char *d, size_t len, char buf[PART_BUF])
{
    if (len > 1 && d[len - 1] == '.')
        len--;
    if (memchr(d, '@', len))
        return false;
    return prep(d, len, stringprep_nameprep, buf);
}

enum jid_status jid_normal_domain(const char *jid, char **out)
{
    const char *local, *domain, *resource;
    size_t llen, dlen;
    char buf[PART_BUF];

    *out = NULL;
    split(jid, &local, &llen, &domain, &dlen, &resource);
    if (!prep_domain(domain, dlen, buf))
        return JID_INVALID;
    return (*out = strdup(buf)) ? JID_OK : JID_NOMEM;
}

/* Whether s[0..len) is 1 to JID_PART_MAX bytes of ASCII that the part's
 * profile leaves as they are: local (nodeprep) lower-case letters,
 * digits and "-._+"; domain (nameprep) lower-case letters, digits, '-'
 * and '.', not ending with one; resource (resourceprep) any printable
 * but the space.  What it refuses goes to stringprep. */
static bool plain(const char *s, size_t len, char part)
{
    if (len == 0 || len > JID_PART_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (part == 'r') {
            if (c < 0x21 || c > 0x7e)
                return false;
        } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '.' ||
                     (part == 'l' && (c == '_' || c == '+')))) {
            return false;
        }
    }
    return part != 'd' || s[len - 1] != '.';
}

enum jid_status jid_normal_bare(const char *jid, char **out)
{
    const char *local, *domain, *resource;
    size_t llen, dlen;

    /* the common case, a JID as a server sends it: every part of it
     * plain ASCII that stringprep would leave unchanged (a tenth of a
     * registered get's CPU went to libidn) */
    split(jid, &local, &llen, &domain, &dlen, &resource);
    if ((!local || plain(local, llen, 'l')) && plain(domain, dlen, 'd') &&
        (!resource || plain(resource, strlen(resource), 'r'))) {
        size_t n = (local ? llen + 1 : 0) + dlen;

        if (!(*out = malloc(n + 1)))
            return JID_NOMEM;
        memcpy(*out, jid, n);
        (*out)[n] = '\0';
        return JID_OK;
    }
    return jid_normal_bare_prepped(jid, out);
}

enum jid_status jid_normal_bare_prepped(const char *jid, char **out)
{
    const char *local, *domain, *resource;
    size_t llen, dlen, n;
    char lbuf[PART_BUF], dbuf[PART_BUF], rbuf[PART_BUF];

    *out = NULL;
    split(jid, &local, &llen, &domain, &dlen, &resource);
    if (local && !prep(local, llen, stringprep_xmpp_nodeprep, lbuf))
        return JID_INVALID;
    if (!prep_domain(domain, dlen, dbuf))
        return JID_INVALID;
    if (resource &&
        !prep(resource, strlen(resource), stringprep_xmpp_resourceprep, rbuf))
        return JID_INVALID;
    n = (local ? strlen(lbuf) + 1 : 0) + strlen(dbuf) + 1;
    if (!(*out = malloc(n)))
        return JID_NOMEM;
    if (local)
        strcat(strcat(strcpy(*out, lbuf), "@"), dbuf);
    else
        strcpy(*out, dbuf);
    return JID_OK;
}

const char *jid_status_text(enum jid_status st)
{
    switch (st) {
    case JID_OK:
        return "valid";
    case JID_NOMEM:
        return "out of memory";
    case JID_INVALID:
        break;
    }
    return "not a valid JID (RFC 6122: an empty or overlong part, or a "
           "character it does not allow)";
}
