/*
 * text.c - the username rule in C: a strict UTF-8 decoder and the code
 * point classes of Unicode 15.0 that sql/003_username_rule.sql refuses,
 * written out as ranges so that nothing depends on the locale or on a
 * library.  Keep the two lists equal.
 */
#include "text.h"

#include <stddef.h>
#include <stdint.h>

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
