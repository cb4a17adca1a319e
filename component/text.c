/*
 * text.c - the username rule in C: a strict UTF-8 decoder and the code
 * point classes of Unicode 15.0 that sql/003_username_rule.sql refuses,
 * written out as ranges so that nothing depends on the locale or on a
 * library.  Keep the two lists equal.  With the same decoder: cutting and
 * quoting text at character boundaries, and XML 1.0's Char and Name.
 */
#include "text.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct range {
    uint32_t lo, hi;
};

/* General category Cc. */
static const struct range controls[] = {
    {0x0000, 0x001F},
    {0x007F, 0x009F},
};

/* General category Cf, Unicode 15.0 (ICU 72's u_charType). */
static const struct range formats[] = {
    {0x00AD, 0x00AD},   {0x0600, 0x0605},   {0x061C, 0x061C},
    {0x06DD, 0x06DD},   {0x070F, 0x070F},   {0x0890, 0x0891},
    {0x08E2, 0x08E2},   {0x180E, 0x180E},   {0x200B, 0x200F},
    {0x202A, 0x202E},   {0x2060, 0x2064},   {0x2066, 0x206F},
    {0xFEFF, 0xFEFF},   {0xFFF9, 0xFFFB},   {0x110BD, 0x110BD},
    {0x110CD, 0x110CD}, {0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3},
    {0x1D173, 0x1D17A}, {0xE0001, 0xE0001}, {0xE0020, 0xE007F},
};

/* The White_Space property: Zs, Zl, Zp and the spacing controls. */
static const struct range spaces[] = {
    {0x0009, 0x000D}, {0x0020, 0x0020}, {0x0085, 0x0085}, {0x00A0, 0x00A0},
    {0x1680, 0x1680}, {0x2000, 0x200A}, {0x2028, 0x2029}, {0x202F, 0x202F},
    {0x205F, 0x205F}, {0x3000, 0x3000},
};

static bool in(uint32_t c, const struct range *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (c >= r[i].lo && c <= r[i].hi)
            return true;
    return false;
}

#define IN(c, table) in((c), (table), sizeof(table) / sizeof((table)[0]))

/* U+FDD0..U+FDEF and the last two code points of every plane. */
static bool noncharacter(uint32_t c)
{
    return (c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE;
}

/* Decodes the code point at *p and advances *p; false on anything that is
 * not well-formed UTF-8 (RFC 3629: shortest form, no surrogates, at most
 * U+10FFFF). */
static bool next(const unsigned char **p, uint32_t *out)
{
    const unsigned char *s = *p;
    uint32_t c = s[0], min;
    int n;

    if (c < 0x80) {
        n = 0;
        min = 0;
    } else if (c >= 0xC2 && c <= 0xDF) {
        n = 1;
        min = 0x80;
        c &= 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 2;
        min = 0x800;
        c &= 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 3;
        min = 0x10000;
        c &= 0x07;
    } else {
        return false;
    }
    for (int i = 1; i <= n; i++) {
        if ((s[i] & 0xC0) != 0x80) /* also stops at the NUL */
            return false;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return false;
    *out = c;
    *p = s + n + 1;
    return true;
}

static bool refuse(const char **why, const char *text)
{
    if (why)
        *why = text;
    return false;
}

bool text_username_ok(const char *s, const char **why)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t c = 0;
    bool first = true;

    if (!s || !*s)
        return refuse(why, "is empty");
    while (*p) {
        if (!next(&p, &c))
            return refuse(why, "is not valid UTF-8");
        if (IN(c, controls))
            return refuse(why, "contains a control character");
        if (IN(c, formats))
            return refuse(why, "contains an invisible format character");
        if (noncharacter(c))
            return refuse(why, "contains a noncharacter");
        if (c == 0x2028 || c == 0x2029)
            return refuse(why, "contains a line or paragraph separator");
        if (first && IN(c, spaces))
            return refuse(why, "begins or ends with white space");
        first = false;
    }
    /* c is the last code point */
    if (IN(c, spaces))
        return refuse(why, "begins or ends with white space");
    if (why)
        *why = NULL;
    return true;
}

/* ---- cutting and quoting ------------------------------------------------ */

/* The length a sequence announces by its first byte; 0 for a byte that
 * cannot start one (a continuation byte, or never valid). */
static size_t announced(unsigned char b)
{
    if (b < 0x80)
        return 1;
    if (b >= 0xC2 && b <= 0xDF)
        return 2;
    if (b >= 0xE0 && b <= 0xEF)
        return 3;
    if (b >= 0xF0 && b <= 0xF4)
        return 4;
    return 0;
}

size_t text_cut(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t start = len;

    /* back over at most three continuation bytes to their first byte */
    while (start > 0 && len - start < 3 && (p[start - 1] & 0xC0) == 0x80)
        start--;
    if (start == 0)
        return len;
    start--; /* p[start] begins the last sequence, if anything does */
    if (announced(p[start]) > len - start)
        return start; /* it ends beyond len: leave it out whole */
    return len;
}

bool text_vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
    int n = vsnprintf(buf, size, fmt, ap);

    if (n < 0) {
        buf[0] = '\0';
        return false;
    }
    if ((size_t)n < size)
        return true;
    buf[text_cut(buf, size - 1)] = '\0';
    return false;
}

bool text_format(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    bool whole;

    va_start(ap, fmt);
    whole = text_vformat(buf, size, fmt, ap);
    va_end(ap);
    return whole;
}

/* Characters an excerpt shows as '?': they would hide, reorder or break
 * the text around them. */
static bool unquotable(uint32_t c)
{
    return IN(c, controls) || IN(c, formats) || noncharacter(c) ||
           c == 0x2028 || c == 0x2029;
}

const char *text_excerpt(char *out, size_t size, const char *s,
                         size_t max_chars)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t len = 0, chars = 0, fits = 0; /* fits: "..." fits after it */
    bool more = false;

    if (size == 0)
        return out;
    while (*p) {
        const unsigned char *at = p;
        uint32_t c;
        size_t n;

        if (chars == max_chars) {
            more = true;
            break;
        }
        if (!next(&p, &c)) {
            p = at + 1; /* one '?' per byte that is not UTF-8 */
            c = 0;      /* a control: shown as '?' */
        }
        n = unquotable(c) ? 1 : (size_t)(p - at);
        if (len + n + 1 > size) {
            more = true;
            break;
        }
        if (unquotable(c))
            out[len] = '?';
        else
            memcpy(out + len, at, n);
        len += n;
        chars++;
        if (len + 4 <= size)
            fits = len;
    }
    if (!more) {
        out[len] = '\0';
        return out;
    }
    /* cut between two characters, where "..." fits after them */
    if (len + 4 > size)
        len = fits;
    if (len + 4 <= size) {
        memcpy(out + len, "...", 4);
    } else { /* a size below 4 bytes: what fits of "..." */
        for (len = 0; len + 1 < size; len++)
            out[len] = '.';
        out[len] = '\0';
    }
    return out;
}

/* ---- XML 1.0 ----------------------------------------------------------- */

static bool xml_char(uint32_t c)
{
    return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
           (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

bool text_xml_chars_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t c;

    while (*p)
        if (!next(&p, &c) || !xml_char(c))
            return false;
    return true;
}

/* XML 1.0 fifth edition, productions [4] and [4a]. */
static const struct range name_start[] = {
    {':', ':'},       {'A', 'Z'},       {'_', '_'},       {'a', 'z'},
    {0xC0, 0xD6},     {0xD8, 0xF6},     {0xF8, 0x2FF},    {0x370, 0x37D},
    {0x37F, 0x1FFF},  {0x200C, 0x200D}, {0x2070, 0x218F}, {0x2C00, 0x2FEF},
    {0x3001, 0xD7FF}, {0xF900, 0xFDCF}, {0xFDF0, 0xFFFD}, {0x10000, 0xEFFFF},
};
static const struct range name_more[] = {
    {'-', '-'},   {'.', '.'},     {'0', '9'},
    {0xB7, 0xB7}, {0x300, 0x36F}, {0x203F, 0x2040},
};

bool text_xml_name_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    bool first = true;
    uint32_t c;

    if (!*p)
        return false;
    while (*p) {
        if (!next(&p, &c))
            return false;
        if (!IN(c, name_start) && (first || !IN(c, name_more)))
            return false;
        first = false;
    }
    return true;
}
