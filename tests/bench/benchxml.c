/*
 * benchxml.c - the stream splitter, attribute look-up, SHA-1 and base64
 * that the benchmark's XMPP programs share (benchxml.h).
 */
#include "benchxml.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- buffers ------------------------------------------------------------ */

static bool reserve(struct bx_buf *b, size_t more)
{
    size_t cap = b->cap ? b->cap : 4096;
    char *p;

    if (b->len + more + 1 <= b->cap)
        return true;
    while (cap < b->len + more + 1)
        cap *= 2;
    if (!(p = realloc(b->data, cap)))
        return false;
    b->data = p;
    b->cap = cap;
    return true;
}

bool bx_buf_add(struct bx_buf *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return false;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return true;
}

bool bx_buf_printf(struct bx_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (int round = 0; round < 2; round++) {
        size_t room = b->cap > b->len ? b->cap - b->len : 0;
        va_start(ap, fmt);
        n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0)
            return false;
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return true;
        }
        if (!reserve(b, (size_t)n + 1))
            return false;
    }
    return false;
}

void bx_buf_consume(struct bx_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void bx_buf_free(struct bx_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

/* ---- the stream splitter ------------------------------------------------ */

bool bx_stream_feed(struct bx_stream *s, const char *p, size_t n)
{
    return bx_buf_add(&s->in, p, n);
}

/* Drops the bytes no event needs any more (only when the caller holds no
 * pointer into the buffer: before returning BX_NONE). */
static void compact(struct bx_stream *s)
{
    size_t keep = s->depth >= 2 ? s->start : s->scan;

    if (keep == 0)
        return;
    bx_buf_consume(&s->in, keep);
    s->scan -= keep;
    if (s->depth >= 2)
        s->start -= keep;
}

enum bx_event bx_stream_next(struct bx_stream *s, const char **text,
                             size_t *len)
{
    for (;;) {
        const char *b = s->in.data;
        size_t n = s->in.len, i = s->scan, j;
        char q = 0;
        bool selfclose;

        while (i < n && b[i] != '<')
            i++;
        if (i >= n) {
            s->scan = i;
            compact(s);
            return BX_NONE;
        }
        for (j = i + 1; j < n; j++) {
            if (q) {
                if (b[j] == q)
                    q = 0;
            } else if (b[j] == '"' || b[j] == '\'') {
                q = b[j];
            } else if (b[j] == '>') {
                break;
            }
        }
        if (j >= n) {
            s->scan = i;
            compact(s);
            return BX_NONE;
        }
        s->scan = j + 1;
        if (b[i + 1] == '?' || b[i + 1] == '!')
            continue; /* the XML declaration */
        if (b[i + 1] == '/') {
            if (s->depth <= 1) {
                s->depth = 0;
                return BX_END;
            }
            if (--s->depth == 1) {
                *text = b + s->start;
                *len = j + 1 - s->start;
                return BX_STANZA;
            }
            continue;
        }
        selfclose = b[j - 1] == '/';
        if (s->depth == 0) {
            s->depth = 1;
            *text = b + i;
            *len = j + 1 - i;
            return BX_HEADER;
        }
        if (s->depth == 1) {
            if (selfclose) {
                *text = b + i;
                *len = j + 1 - i;
                return BX_STANZA;
            }
            s->start = i;
            s->depth = 2;
            continue;
        }
        if (!selfclose)
            s->depth++;
    }
}

void bx_stream_reset(struct bx_stream *s)
{
    s->in.len = 0;
    s->scan = s->start = 0;
    s->depth = 0;
}

void bx_stream_free(struct bx_stream *s)
{
    bx_buf_free(&s->in);
    memset(s, 0, sizeof(*s));
}

/* ---- elements ----------------------------------------------------------- */

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

const char *bx_attr(const char *text, size_t len, const char *name,
                    size_t *vlen)
{
    size_t i = 1, nlen = strlen(name);

    while (i < len && !is_space(text[i]) && text[i] != '>' && text[i] != '/')
        i++;
    for (;;) {
        size_t a, alen;
        char q;
        while (i < len && is_space(text[i]))
            i++;
        if (i >= len || text[i] == '>' || text[i] == '/')
            return NULL;
        a = i;
        while (i < len && text[i] != '=' && !is_space(text[i]))
            i++;
        alen = i - a;
        while (i < len && (is_space(text[i]) || text[i] == '='))
            i++;
        if (i >= len || (text[i] != '\'' && text[i] != '"'))
            return NULL;
        q = text[i++];
        size_t v = i;
        while (i < len && text[i] != q)
            i++;
        if (i >= len)
            return NULL;
        if (alen == nlen && memcmp(text + a, name, nlen) == 0) {
            *vlen = i - v;
            return text + v;
        }
        i++;
    }
}

bool bx_is(const char *text, size_t len, const char *name)
{
    size_t n = strlen(name);

    return len > n + 1 && text[0] == '<' && memcmp(text + 1, name, n) == 0 &&
           (is_space(text[n + 1]) || text[n + 1] == '>' || text[n + 1] == '/');
}

const char *bx_inner(const char *text, size_t len, size_t *clen)
{
    size_t i, e;
    char q = 0;

    for (i = 1; i < len; i++) {
        if (q) {
            if (text[i] == q)
                q = 0;
        } else if (text[i] == '"' || text[i] == '\'') {
            q = text[i];
        } else if (text[i] == '>') {
            break;
        }
    }
    if (i >= len || text[i - 1] == '/') {
        *clen = 0;
        return text + len;
    }
    for (e = len; e > i + 1; e--)
        if (text[e - 1] == '<' && e < len && text[e] == '/')
            break;
    *clen = e > i + 1 ? e - 1 - (i + 1) : 0;
    return text + i + 1;
}

/* ---- SHA-1 (FIPS 180-1), for the XEP-0114 handshake ---------------------- */

static uint32_t rol(uint32_t x, int n)
{
    return (x << n) | (x >> (32 - n));
}

static void sha1_block(uint32_t h[5], const unsigned char *p)
{
    uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];

    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 |
               (uint32_t)p[4 * t + 2] << 8 | p[4 * t + 3];
    for (int t = 16; t < 80; t++)
        w[t] = rol(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
    for (int t = 0; t < 80; t++) {
        uint32_t f, k;
        if (t < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999;
        } else if (t < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1;
        } else if (t < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDC;
        } else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6;
        }
        uint32_t tmp = rol(a, 5) + f + e + k + w[t];
        e = d;
        d = c;
        c = rol(b, 30);
        b = a;
        a = tmp;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void bx_sha1_hex(const void *data, size_t len, char hex[41])
{
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476,
                     0xC3D2E1F0};
    const unsigned char *p = data;
    unsigned char last[128] = {0};
    size_t full = len / 64 * 64, rest = len - full, tail;
    uint64_t bits = (uint64_t)len * 8;

    for (size_t i = 0; i < full; i += 64)
        sha1_block(h, p + i);
    memcpy(last, p + full, rest);
    last[rest] = 0x80;
    tail = rest + 9 <= 64 ? 64 : 128;
    for (int i = 0; i < 8; i++)
        last[tail - 1 - i] = (unsigned char)(bits >> (8 * i));
    sha1_block(h, last);
    if (tail == 128)
        sha1_block(h, last + 64);
    for (int i = 0; i < 5; i++)
        snprintf(hex + 8 * i, 9, "%08x", h[i]);
}

void bx_base64(const void *data, size_t len, char *out)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = data;
    size_t o = 0;

    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = i + 1 < len ? tab[v >> 6 & 63] : '=';
        out[o++] = i + 2 < len ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

uint64_t bx_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
