/*
 * text.c - the only file that includes ICU's headers.  The username rule
 * of sql/003_username_rule.sql in C: a strict UTF-8 decoder of our own,
 * and for what Unicode says (general categories, noncharacters,
 * White_Space, NFKC, case mapping) ICU, whose case mapping the database's
 * registrar_username_key() uses ("und-x-icu"); no Unicode table is kept
 * here.  sql/003 writes its classes out for Unicode 15.0, ICU 72's
 * version; PostgreSQL 15's normalize() has tables of its own (Unicode
 * 14.0).  tests/store/test_username.c requires the same verdict from both
 * on every code point.  With the same decoder: cutting and quoting text
 * at character boundaries, and XML 1.0's Char and Name (XML's own
 * productions).  No I/O: ICU's data is built into libicudata.
 */
#include "text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

struct range {
    uint32_t lo, hi;
};

static bool in(uint32_t c, const struct range *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (c >= r[i].lo && c <= r[i].hi)
            return true;
    return false;
}

#define IN(c, table) in((c), (table), sizeof(table) / sizeof((table)[0]))

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

/* ---- the username rule --------------------------------------------------- */

#define WHITE_ENDS "begins or ends with white space"

/* The rule c breaks wherever it stands, or NULL: a control (Cc) or format
 * (Cf) character, a line or paragraph separator (Zl, Zp: U+2028, U+2029),
 * a noncharacter.  Also what an excerpt shows as '?'. */
static const char *hidden(uint32_t c)
{
    switch (u_charType((UChar32)c)) {
    case U_CONTROL_CHAR:
        return "contains a control character";
    case U_FORMAT_CHAR:
        return "contains an invisible format character";
    case U_LINE_SEPARATOR:
    case U_PARAGRAPH_SEPARATOR:
        return "contains a line or paragraph separator";
    default:
        break;
    }
    if (u_hasBinaryProperty((UChar32)c, UCHAR_NONCHARACTER_CODE_POINT))
        return "contains a noncharacter";
    return NULL;
}

static bool white_space(UChar32 c)
{
    return u_hasBinaryProperty(c, UCHAR_WHITE_SPACE);
}

/* The steps of registrar_username_key(): normalize(lower(upper(normalize(
 * u, NFKC))), NFKC), upper and lower as PostgreSQL's ICU collation "und"
 * maps case. */
enum step { STEP_NFKC, STEP_UPPER, STEP_LOWER };

static int32_t run_step(enum step step, const UChar *src, int32_t len,
                        UChar *dest, int32_t cap, UErrorCode *err)
{
    switch (step) {
    case STEP_NFKC:
        return unorm2_normalize(unorm2_getNFKCInstance(err), src, len, dest,
                                cap, err);
    case STEP_UPPER:
        return u_strToUpper(dest, cap, src, len, "und", err);
    case STEP_LOWER:
        return u_strToLower(dest, cap, src, len, "und", err);
    }
    *err = U_ILLEGAL_ARGUMENT_ERROR;
    return 0;
}

/* step applied to src (len units): a new string of *n units (caller
 * frees), or NULL when out of memory. */
static UChar *apply(enum step step, const UChar *src, int32_t len, int32_t *n)
{
    int32_t cap = len + 16; /* enough unless the step makes it longer */

    for (int tries = 0; tries < 2; tries++) {
        UErrorCode err = U_ZERO_ERROR;
        UChar *dest = malloc((size_t)cap * sizeof(*dest));

        if (!dest)
            return NULL;
        *n = run_step(step, src, len, dest, cap, &err);
        if (U_SUCCESS(err))
            return dest;
        free(dest);
        if (err != U_BUFFER_OVERFLOW_ERROR)
            return NULL;
        cap = *n; /* the size ICU asks for */
    }
    return NULL;
}

/* s (UTF-8) as its comparison key in UTF-16: NFKC, case folded by upper
 * then lower case, NFKC again; *n its length.  Caller frees.  NULL when s
 * is not UTF-8, too long for ICU, or memory runs out. */
static UChar *comparison_key(const char *s, int32_t *n)
{
    static const enum step steps[] = {STEP_NFKC, STEP_UPPER, STEP_LOWER,
                                      STEP_NFKC};
    size_t bytes = strlen(s);
    UErrorCode err = U_ZERO_ERROR;
    UChar *key, *mapped;

    if (bytes > INT32_MAX / 4)
        return NULL;
    if (!(key = malloc((bytes + 1) * sizeof(*key))))
        return NULL;
    u_strFromUTF8(key, (int32_t)bytes + 1, n, s, (int32_t)bytes, &err);
    if (U_FAILURE(err)) {
        free(key);
        return NULL;
    }
    for (size_t k = 0; k < sizeof(steps) / sizeof(*steps); k++) {
        mapped = apply(steps[k], key, *n, n);
        free(key);
        if (!(key = mapped))
            return NULL;
    }
    return key;
}

/* The rule s (valid UTF-8, not empty) breaks by its comparison key, or
 * NULL: the key is empty, or begins or ends with White_Space (U+00A8
 * DIAERESIS is U+0020 U+0308 in NFKC).  NULL too when ICU cannot run
 * (out of memory): the database decides then. */
static const char *key_refused(const char *s)
{
    const char *broken = NULL;
    UChar *key;
    int32_t n, i;
    UChar32 first, last;

    if (!(key = comparison_key(s, &n)))
        return NULL;
    if (n == 0) {
        broken = "is empty";
        goto out;
    }
    i = 0;
    U16_NEXT(key, i, n, first);
    i = n;
    U16_PREV(key, 0, i, last);
    if (white_space(first) || white_space(last))
        broken = "begins or ends with a character that is white space in "
                 "NFKC form (such as a spacing accent)";
out:
    free(key);
    return broken;
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
    const char *broken;
    uint32_t c = 0;
    bool first = true;

    if (!s || !*s)
        return refuse(why, "is empty");
    while (*p) {
        if (!next(&p, &c))
            return refuse(why, "is not valid UTF-8");
        if ((broken = hidden(c)))
            return refuse(why, broken);
        if (first && white_space((UChar32)c))
            return refuse(why, WHITE_ENDS);
        first = false;
    }
    /* c is the last code point */
    if (white_space((UChar32)c))
        return refuse(why, WHITE_ENDS);
    if ((broken = key_refused(s)))
        return refuse(why, broken);
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
 * the text around them (those the username rule refuses anywhere). */
static bool unquotable(uint32_t c)
{
    return hidden(c) != NULL;
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

bool text_duration_parse(const char *text, unsigned long *seconds)
{
    static const struct {
        char unit;
        unsigned long s;
    } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 604800}};
    const unsigned long max = 3650UL * 86400UL; /* ten years */
    unsigned long n = 0, mult = 1;
    const char *p = text;

    if (!p || *p < '0' || *p > '9')
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        n = n * 10 + (unsigned long)(*p - '0');
        if (n > max)
            return false;
    }
    if (*p) {
        bool known = false;

        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
            if (*p == units[i].unit) {
                mult = units[i].s;
                known = true;
            }
        if (!known || p[1])
            return false;
    }
    if (n == 0 || n * mult > max)
        return false;
    *seconds = n * mult;
    return true;
}

bool text_fold(const char *s, char *out, size_t size)
{
    UErrorCode err = U_ZERO_ERROR;
    UChar *key = NULL;
    int32_t n, i = 0, w = 0, got;
    bool space = false, ok = false;

    if (size == 0 || strlen(s) > 4096)
        return false;
    if (!(key = comparison_key(s, &n)))
        goto out;
    /* white space trimmed, each inner run one U+0020, in place */
    while (i < n) {
        UChar32 c;
        int32_t at = i;

        U16_NEXT(key, i, n, c);
        if (white_space(c)) {
            space = w > 0;
            continue;
        }
        if (space)
            key[w++] = 0x20;
        space = false;
        while (at < i)
            key[w++] = key[at++];
    }
    u_strToUTF8(out, (int32_t)(size > INT32_MAX ? INT32_MAX : size), &got, key,
                w, &err);
    ok = U_SUCCESS(err) && err != U_STRING_NOT_TERMINATED_WARNING &&
         (size_t)got < size;
out:
    free(key);
    if (!ok)
        out[0] = '\0';
    return ok;
}
