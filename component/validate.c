/*
 * validate.c - XEP-0122 datatypes: lexical checks, comparisons, and the
 * XML Schema regular expression subset (see validate.h).  Pure C.
 */
#include "validate.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    const char *noun;
    const char *min, *max; /* the type's own bounds, NULL: none */
    bool ordered;
} types[] = {
    [VALIDATE_STRING] = {"xs:string", "text", NULL, NULL, false},
    [VALIDATE_INTEGER] = {"xs:integer", "an integer", NULL, NULL, true},
    [VALIDATE_INT] = {"xs:int", "an integer from -2147483648 to 2147483647",
                      "-2147483648", "2147483647", true},
    [VALIDATE_LONG] = {"xs:long",
                       "an integer from -9223372036854775808 to "
                       "9223372036854775807",
                       "-9223372036854775808", "9223372036854775807", true},
    [VALIDATE_SHORT] = {"xs:short", "an integer from -32768 to 32767", "-32768",
                        "32767", true},
    [VALIDATE_BYTE] = {"xs:byte", "an integer from -128 to 127", "-128", "127",
                       true},
    [VALIDATE_DECIMAL] = {"xs:decimal", "a decimal number", NULL, NULL, true},
    [VALIDATE_DOUBLE] = {"xs:double", "a number", NULL, NULL, true},
    [VALIDATE_DATE] = {"xs:date", "a date (YYYY-MM-DD)", NULL, NULL, true},
    [VALIDATE_DATETIME] = {"xs:dateTime",
                           "a date and time (YYYY-MM-DDThh:mm:ss)", NULL, NULL,
                           true},
    [VALIDATE_TIME] = {"xs:time", "a time (hh:mm:ss)", NULL, NULL, true},
    [VALIDATE_BOOLEAN] = {"xs:boolean", "true or false", NULL, NULL, false},
    [VALIDATE_ANYURI] = {"xs:anyURI", "a URI (like https://example.org/)", NULL,
                         NULL, false},
    [VALIDATE_LANGUAGE] = {"xs:language", "a language tag (like en or pt-BR)",
                           NULL, NULL, false},
};

#define NTYPES (sizeof(types) / sizeof(types[0]))

bool validate_datatype_parse(const char *name, enum validate_datatype *out)
{
    for (size_t i = 0; name && i < NTYPES; i++)
        if (strcmp(name, types[i].name) == 0) {
            *out = (enum validate_datatype)i;
            return true;
        }
    return false;
}

const char *validate_datatype_name(enum validate_datatype dt)
{
    return (size_t)dt < NTYPES ? types[dt].name : "xs:string";
}

const char *validate_datatype_noun(enum validate_datatype dt)
{
    return (size_t)dt < NTYPES ? types[dt].noun : "text";
}

bool validate_datatype_ordered(enum validate_datatype dt)
{
    return (size_t)dt < NTYPES && types[dt].ordered;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* ---- numbers: compared as decimal strings, any length ----------------- */

/* A decimal split into sign, integer digits (no leading zeros) and
 * fraction digits (no trailing zeros); zero is positive. */
struct dec {
    bool neg;
    const char *ip;
    size_t ni;
    const char *fp;
    size_t nf;
};

static bool dec_parse(const char *s, bool integer, struct dec *d)
{
    const char *p = s;

    *d = (struct dec){0};
    if (*p == '+' || *p == '-')
        d->neg = *p++ == '-';
    d->ip = p;
    while (is_digit(*p))
        p++;
    d->ni = (size_t)(p - d->ip);
    if (!integer && *p == '.') {
        d->fp = ++p;
        while (is_digit(*p))
            p++;
        d->nf = (size_t)(p - d->fp);
    }
    if (*p || d->ni + d->nf == 0)
        return false;
    while (d->ni && *d->ip == '0')
        d->ip++, d->ni--;
    while (d->nf && d->fp[d->nf - 1] == '0')
        d->nf--;
    if (d->ni == 0 && d->nf == 0)
        d->neg = false;
    return true;
}

static int dec_cmp(const struct dec *a, const struct dec *b)
{
    int mag = 0;

    if (a->neg != b->neg)
        return a->neg ? -1 : 1;
    if (a->ni != b->ni) {
        mag = a->ni < b->ni ? -1 : 1;
    } else {
        int c = a->ni ? memcmp(a->ip, b->ip, a->ni) : 0;
        for (size_t i = 0; c == 0 && i < a->nf && i < b->nf; i++)
            c = a->fp[i] - b->fp[i];
        if (c == 0 && a->nf != b->nf)
            c = a->nf < b->nf ? -1 : 1;
        mag = c < 0 ? -1 : c > 0;
    }
    return a->neg ? -mag : mag;
}

static bool integer_ok(enum validate_datatype dt, const char *s)
{
    struct dec v, lo, hi;

    if (!dec_parse(s, true, &v))
        return false;
    if (!types[dt].min)
        return true;
    (void)dec_parse(types[dt].min, true, &lo);
    (void)dec_parse(types[dt].max, true, &hi);
    return dec_cmp(&v, &lo) >= 0 && dec_cmp(&v, &hi) <= 0;
}

/* xs:double: the decimal part as in xs:decimal, then [eE][+-]?[0-9]+. */
static bool double_parse(const char *s, double *out)
{
    const char *p = s;
    char *end;

    if (!strcmp(s, "INF") || !strcmp(s, "+INF")) {
        *out = INFINITY;
        return true;
    }
    if (!strcmp(s, "-INF")) {
        *out = -INFINITY;
        return true;
    }
    if (!strcmp(s, "NaN")) {
        *out = NAN;
        return true;
    }
    if (*p == '+' || *p == '-')
        p++;
    {
        bool digits = false;
        while (is_digit(*p))
            p++, digits = true;
        if (*p == '.')
            for (p++; is_digit(*p); p++)
                digits = true;
        if (!digits)
            return false;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!is_digit(*p))
            return false;
        while (is_digit(*p))
            p++;
    }
    if (*p)
        return false;
    *out = strtod(s, &end); /* C locale: registrar never calls setlocale */
    return *end == '\0';
}

/* ---- dates and times ---------------------------------------------------- */

struct instant {
    long long year;
    int month, day, hour, min, sec;
    long nanos;
    bool has_tz;
    int tz_min; /* offset east of UTC */
};

static int two(const char *p)
{
    return (p[0] - '0') * 10 + (p[1] - '0');
}

static bool leap(long long y)
{
    /* XML Schema 1.0's years: no year 0, so -1 is 1 BCE (leap like 0) */
    long long a = y < 0 ? y + 1 : y;
    return (a % 4 == 0 && a % 100 != 0) || a % 400 == 0;
}

static int month_days(long long y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* -?YYYY-MM-DD; *p advanced. */
static bool date_part(const char **pp, struct instant *t)
{
    const char *p = *pp, *y0;
    bool neg = false;
    long long y = 0;

    if (*p == '-')
        neg = true, p++;
    y0 = p;
    while (is_digit(*p)) {
        if (p - y0 >= 9)
            return false; /* years of 9 digits at most: no overflow */
        y = y * 10 + (*p++ - '0');
    }
    if (p - y0 < 4 || (p - y0 > 4 && *y0 == '0') || y == 0)
        return false;
    if (p[0] != '-' || !is_digit(p[1]) || !is_digit(p[2]) || p[3] != '-' ||
        !is_digit(p[4]) || !is_digit(p[5]))
        return false;
    t->year = neg ? -y : y;
    t->month = two(p + 1);
    t->day = two(p + 4);
    if (t->month < 1 || t->month > 12 || t->day < 1 ||
        t->day > month_days(t->year, t->month))
        return false;
    *pp = p + 6;
    return true;
}

/* hh:mm:ss(.s+)? */
static bool time_part(const char **pp, struct instant *t)
{
    const char *p = *pp;
    long scale = 100000000;

    if (!is_digit(p[0]) || !is_digit(p[1]) || p[2] != ':' || !is_digit(p[3]) ||
        !is_digit(p[4]) || p[5] != ':' || !is_digit(p[6]) || !is_digit(p[7]))
        return false;
    t->hour = two(p);
    t->min = two(p + 3);
    t->sec = two(p + 6);
    if (t->hour > 23 || t->min > 59 || t->sec > 59)
        return false;
    p += 8;
    if (*p == '.') {
        if (!is_digit(*++p))
            return false;
        for (; is_digit(*p); p++, scale /= 10)
            t->nanos += (*p - '0') * scale;
    }
    *pp = p;
    return true;
}

/* (Z|[+-]hh:mm)?, then the end. */
static bool tz_part(const char *p, struct instant *t)
{
    if (*p == 'Z') {
        t->has_tz = true;
        return p[1] == '\0';
    }
    if (*p == '+' || *p == '-') {
        int h, m;
        if (!is_digit(p[1]) || !is_digit(p[2]) || p[3] != ':' ||
            !is_digit(p[4]) || !is_digit(p[5]) || p[6])
            return false;
        h = two(p + 1);
        m = two(p + 4);
        if (m > 59 || h > 14 || (h == 14 && m))
            return false;
        t->has_tz = true;
        t->tz_min = (*p == '-' ? -1 : 1) * (h * 60 + m);
        return true;
    }
    return *p == '\0';
}

static bool instant_parse(enum validate_datatype dt, const char *s,
                          struct instant *t)
{
    const char *p = s;

    *t = (struct instant){.year = 1970, .month = 1, .day = 1};
    if (dt == VALIDATE_DATE || dt == VALIDATE_DATETIME)
        if (!date_part(&p, t))
            return false;
    if (dt == VALIDATE_DATETIME && *p++ != 'T')
        return false;
    if (dt == VALIDATE_TIME || dt == VALIDATE_DATETIME)
        if (!time_part(&p, t))
            return false;
    return tz_part(p, t);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's). */
static long long days_from_civil(long long y, int m, int d)
{
    long long era, yoe, doy, doe;

    if (y < 0)
        y++; /* no year 0 in XML Schema 1.0 */
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int instant_cmp(enum validate_datatype dt, const struct instant *a,
                       const struct instant *b)
{
    long long sa, sb;

    sa = days_from_civil(a->year, a->month, a->day);
    sb = days_from_civil(b->year, b->month, b->day);
    if (dt != VALIDATE_DATE) {
        sa = sa * 86400 + a->hour * 3600 + a->min * 60 + a->sec -
             a->tz_min * 60LL;
        sb = sb * 86400 + b->hour * 3600 + b->min * 60 + b->sec -
             b->tz_min * 60LL;
    }
    if (sa != sb)
        return sa < sb ? -1 : 1;
    if (dt != VALIDATE_DATE && a->nanos != b->nanos)
        return a->nanos < b->nanos ? -1 : 1;
    return 0;
}

/* ---- URIs and language tags --------------------------------------------- */

static bool uri_char(unsigned char c)
{
    return c >= 0x80 || is_alpha((char)c) || is_digit((char)c) ||
           strchr("-._~:/?#[]@!$&'()*+,;=", c);
}

static bool uri_ok(const char *s)
{
    const char *p = s;
    bool fragment = false;

    if (!is_alpha(*p))
        return false;
    while (is_alpha(*p) || is_digit(*p) || *p == '+' || *p == '-' || *p == '.')
        p++;
    if (*p++ != ':')
        return false;
    for (const char *q = p; *q; q++) {
        if (*q == '%') {
            if (!is_hex(q[1]) || !is_hex(q[2]))
                return false;
            q += 2;
        } else if (*q == '#') {
            if (fragment)
                return false;
            fragment = true;
        } else if (!uri_char((unsigned char)*q)) {
            return false;
        }
    }
    if (p[0] == '/' && p[1] == '/') {
        const char *a = p + 2, *end = a + strcspn(a, "/?#");
        const char *host = a, *at, *colon;

        for (at = end; at > a && at[-1] != '@'; at--)
            ;
        if (at > a)
            host = at;
        if (*host == '[') {
            const char *close = memchr(host, ']', (size_t)(end - host));
            if (!close || close == host + 1)
                return false;
            colon = close + 1 < end ? close + 1 : NULL;
            if (colon && *colon != ':')
                return false;
        } else {
            colon = memchr(host, ':', (size_t)(end - host));
            /* no host: only "///path" (file:///etc/hosts) */
            if ((colon ? colon : end) == host &&
                (colon || host != a || *end != '/'))
                return false;
        }
        for (const char *q = colon ? colon + 1 : end; q < end; q++)
            if (!is_digit(*q))
                return false;
    }
    return true;
}

static bool language_ok(const char *s)
{
    size_t n = 0;
    bool first = true;

    for (const char *p = s;; p++) {
        if (*p == '-' || *p == '\0') {
            if (n == 0)
                return false;
            if (!*p)
                return true;
            n = 0;
            first = false;
            continue;
        }
        if (!(is_alpha(*p) || (!first && is_digit(*p))) || ++n > 8)
            return false;
    }
}

/* ---- the entry points --------------------------------------------------- */

bool validate_value(enum validate_datatype dt, const char *s)
{
    struct dec d;
    struct instant t;
    double x;

    switch (dt) {
    case VALIDATE_STRING:
        return true;
    case VALIDATE_INTEGER:
    case VALIDATE_INT:
    case VALIDATE_LONG:
    case VALIDATE_SHORT:
    case VALIDATE_BYTE:
        return integer_ok(dt, s);
    case VALIDATE_DECIMAL:
        return dec_parse(s, false, &d);
    case VALIDATE_DOUBLE:
        return double_parse(s, &x);
    case VALIDATE_DATE:
    case VALIDATE_DATETIME:
    case VALIDATE_TIME:
        return instant_parse(dt, s, &t);
    case VALIDATE_BOOLEAN:
        return !strcmp(s, "true") || !strcmp(s, "false") || !strcmp(s, "1") ||
               !strcmp(s, "0");
    case VALIDATE_ANYURI:
        return uri_ok(s);
    case VALIDATE_LANGUAGE:
        return language_ok(s);
    }
    return false;
}

bool validate_compare(enum validate_datatype dt, const char *a, const char *b,
                      int *cmp)
{
    struct dec da, db;
    struct instant ta, tb;
    double xa, xb;

    if (!validate_datatype_ordered(dt) || !validate_value(dt, a) ||
        !validate_value(dt, b))
        return false;
    switch (dt) {
    case VALIDATE_DOUBLE:
        (void)double_parse(a, &xa);
        (void)double_parse(b, &xb);
        if (isnan(xa) || isnan(xb))
            return false;
        *cmp = xa < xb ? -1 : xa > xb;
        return true;
    case VALIDATE_DATE:
    case VALIDATE_DATETIME:
    case VALIDATE_TIME:
        (void)instant_parse(dt, a, &ta);
        (void)instant_parse(dt, b, &tb);
        *cmp = instant_cmp(dt, &ta, &tb);
        return true;
    default:
        (void)dec_parse(a, dt != VALIDATE_DECIMAL, &da);
        (void)dec_parse(b, dt != VALIDATE_DECIMAL, &db);
        *cmp = dec_cmp(&da, &db);
        return true;
    }
}

/* ---- the regular expression subset ------------------------------------- */

static bool refuse(const char *pattern, const char *p, size_t *offset,
                   const char **why, const char *text)
{
    *offset = (size_t)(p - pattern);
    *why = text;
    return false;
}

/* An escape at p (p[0] == '\\'); *len its length.  in_class: [..]. */
static bool escape_ok(const char *p, size_t *len)
{
    if (p[1] && strchr("nrt\\|.-^?*+{}()[]$dDsSwW", p[1])) {
        *len = 2;
        return true;
    }
    if (p[1] == 'p' || p[1] == 'P') {
        const char *q = p + 2;
        if (*q++ != '{')
            return false;
        while (is_alpha(*q) || is_digit(*q) || *q == '-')
            q++;
        if (*q != '}' || q == p + 3)
            return false;
        *len = (size_t)(q + 1 - p);
        return true;
    }
    return false;
}

bool validate_regex_subset(const char *pattern, size_t *offset,
                           const char **why)
{
    const char *p = pattern;
    int depth = 0;
    bool quantifiable = false;

    while (*p) {
        size_t len = 1;

        switch (*p) {
        case '\\':
            if (!escape_ok(p, &len))
                return refuse(pattern, p, offset, why,
                              "an escape XML Schema and PCRE2 do not share");
            quantifiable = true;
            break;
        case '^':
        case '$':
            return refuse(pattern, p, offset, why,
                          "'^' and '$' are literals in XML Schema: the whole "
                          "value must match anyway (write \\^ or \\$ for the "
                          "character)");
        case '(':
            if (p[1] == '?')
                return refuse(pattern, p, offset, why,
                              "'(?' is not XML Schema");
            depth++;
            quantifiable = false;
            break;
        case ')':
            if (--depth < 0)
                return refuse(pattern, p, offset, why, "unmatched ')'");
            quantifiable = true;
            break;
        case '|':
            quantifiable = false;
            break;
        case '[': {
            const char *q = p + 1;
            if (*q == '^')
                q++;
            if (*q == ']')
                return refuse(pattern, p, offset, why, "empty class");
            for (; *q && *q != ']'; q++) {
                size_t elen;
                if (*q == '\\') {
                    if (!escape_ok(q, &elen))
                        return refuse(pattern, q, offset, why,
                                      "an escape XML Schema and PCRE2 do "
                                      "not share");
                    q += elen - 1;
                } else if (*q == '[') {
                    return refuse(pattern, q, offset, why,
                                  "'[' inside a class (class subtraction "
                                  "and POSIX classes are not supported; "
                                  "write \\[)");
                }
            }
            if (*q != ']')
                return refuse(pattern, p, offset, why, "unterminated class");
            len = (size_t)(q + 1 - p);
            quantifiable = true;
            break;
        }
        case '?':
        case '*':
        case '+':
        case '{':
            if (!quantifiable)
                return refuse(pattern, p, offset, why,
                              "a quantifier with nothing to repeat");
            if (*p == '{') {
                const char *q = p + 1;
                if (!is_digit(*q))
                    return refuse(pattern, p, offset, why,
                                  "'{' must start {n}, {n,} or {n,m} "
                                  "(write \\{ for the character)");
                while (is_digit(*q))
                    q++;
                if (*q == ',')
                    for (q++; is_digit(*q); q++)
                        ;
                if (*q != '}')
                    return refuse(pattern, p, offset, why,
                                  "'{' must start {n}, {n,} or {n,m}");
                len = (size_t)(q + 1 - p);
            }
            if (p[len] == '?' || p[len] == '+')
                return refuse(pattern, p + len, offset, why,
                              "lazy and possessive quantifiers are not "
                              "XML Schema");
            quantifiable = false;
            break;
        case '}':
        case ']':
            return refuse(pattern, p, offset, why,
                          "unescaped '}' or ']' (write \\} or \\])");
        default:
            quantifiable = true;
            break;
        }
        p += len;
    }
    if (depth)
        return refuse(pattern, p, offset, why, "unmatched '('");
    return true;
}
