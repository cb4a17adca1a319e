/*
 * benchxml.h - what the benchmark's own XMPP programs share (loadgen.c,
 * echo_component.c): a stream splitter that cuts an XMPP stream into its
 * top-level stanzas without building a tree, attribute look-up on a
 * stanza's start tag, SHA-1 for the XEP-0114 handshake, a clock.
 *
 * Not a general XML parser: no comments, CDATA or DTDs (servers send none
 * on a stream), and values are returned as they appear (still escaped).
 * That is enough to route and time stanzas, and keeps the load generator
 * cheaper than the systems it measures.
 */
#ifndef BENCHXML_H
#define BENCHXML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer. */
struct bx_buf {
    char *data;
    size_t len, cap;
};

/* Appends n bytes; false when out of memory. */
bool bx_buf_add(struct bx_buf *b, const char *s, size_t n);
/* Appends a printf-formatted string; false when out of memory. */
bool bx_buf_printf(struct bx_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Drops the first n bytes. */
void bx_buf_consume(struct bx_buf *b, size_t n);
void bx_buf_free(struct bx_buf *b);

/* The stream splitter: feed it bytes with bx_stream_feed(), then take
 * events with bx_stream_next() until it returns BX_NONE. */
enum bx_event {
    BX_NONE,   /* need more bytes */
    BX_HEADER, /* the <stream:stream ...> start tag (tag = it) */
    BX_STANZA, /* a whole top-level element (tag, stanza) */
    BX_END,    /* </stream:stream> */
    BX_ERROR,  /* malformed input */
};

struct bx_stream {
    struct bx_buf in;
    size_t scan;  /* next byte to look at */
    size_t start; /* the current stanza's first byte, when depth >= 2 */
    int depth;    /* 0 before the header, 1 between stanzas */
};

/* Adds bytes read from the socket; false when out of memory. */
bool bx_stream_feed(struct bx_stream *s, const char *p, size_t n);
/* The next event.  For BX_HEADER and BX_STANZA, *text and *len are the
 * start tag (header) or the whole stanza; valid until the next call. */
enum bx_event bx_stream_next(struct bx_stream *s, const char **text,
                             size_t *len);
/* Forgets everything (a stream restart after SASL). */
void bx_stream_reset(struct bx_stream *s);
void bx_stream_free(struct bx_stream *s);

/* The value of attribute name on the element starting at text (its start
 * tag only), as written (not unescaped): *vlen set and a pointer into
 * text, or NULL when absent. */
const char *bx_attr(const char *text, size_t len, const char *name,
                    size_t *vlen);
/* True when the element's name (prefix included) is name. */
bool bx_is(const char *text, size_t len, const char *name);
/* The element's content: between its start tag and its end tag (empty for
 * <x/>).  *clen set. */
const char *bx_inner(const char *text, size_t len, size_t *clen);

/* SHA-1 of data, as 40 lowercase hex digits and a NUL in hex[41]. */
void bx_sha1_hex(const void *data, size_t len, char hex[41]);

/* Base64 of data into out (4 * ceil(len / 3) + 1 bytes). */
void bx_base64(const void *data, size_t len, char *out);

/* CLOCK_MONOTONIC in microseconds. */
uint64_t bx_now_us(void);

#endif
