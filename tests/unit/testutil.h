/*
 * testutil.h - helpers shared by the unit tests: a libstrophe context
 * without a connection, stanzas from XML text, and a sink that records
 * every reply sent.
 */
#ifndef REGISTRAR_TESTUTIL_H
#define REGISTRAR_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strophe.h>
#include <unistd.h>

/* cmocka.h needs the headers above (stdarg, stddef, setjmp) */
#include <cmocka.h>

#include "iq.h"

/* ---- canonical XML text: attributes sorted by name, so that tests do not
 * depend on libstrophe's hash order ---- */

struct tu_buf {
    char *s;
    size_t len;
    FILE *f;
};

static inline void tu_escape(FILE *f, const char *s, bool attr)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs(attr ? "&quot;" : "\"", f);
            break;
        case '\'':
            fputs(attr ? "&apos;" : "'", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

static inline int tu_cmp_attr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static inline void tu_canon_to(FILE *f, xmpp_stanza_t *st)
{
    const char *attrs[64];
    const char *pairs[32][2];
    int n;

    if (xmpp_stanza_is_text(st)) {
        tu_escape(f, xmpp_stanza_get_text_ptr(st), false);
        return;
    }
    n = xmpp_stanza_get_attributes(st, attrs, 64) / 2;
    for (int i = 0; i < n; i++) {
        pairs[i][0] = attrs[2 * i];
        pairs[i][1] = attrs[2 * i + 1];
    }
    qsort(pairs, (size_t)n, sizeof(pairs[0]), tu_cmp_attr);
    fprintf(f, "<%s", xmpp_stanza_get_name(st));
    for (int i = 0; i < n; i++) {
        fprintf(f, " %s=\"", pairs[i][0]);
        tu_escape(f, pairs[i][1], true);
        fputc('"', f);
    }
    if (!xmpp_stanza_get_children(st)) {
        fputs("/>", f);
        return;
    }
    fputc('>', f);
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(st); c;
         c = xmpp_stanza_get_next(c))
        tu_canon_to(f, c);
    fprintf(f, "</%s>", xmpp_stanza_get_name(st));
}

/* Canonical text of st; caller frees. */
static inline char *tu_canon(xmpp_stanza_t *st)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    tu_canon_to(f, st);
    fclose(f);
    return out;
}

#define TU_MAX_SENT 8

struct tu_sink {
    struct iq_sink sink;
    char *sent[TU_MAX_SENT]; /* XML text of each stanza sent */
    int nsent;
};

static inline void tu_record(void *arg, xmpp_stanza_t *st)
{
    struct tu_sink *s = arg;

    assert_true(s->nsent < TU_MAX_SENT);
    s->sent[s->nsent++] = tu_canon(st);
}

static inline void tu_sink_init(struct tu_sink *s)
{
    memset(s, 0, sizeof(*s));
    s->sink.send = tu_record;
    s->sink.arg = s;
}

static inline void tu_sink_clear(struct tu_sink *s)
{
    for (int i = 0; i < s->nsent; i++)
        free(s->sent[i]);
    tu_sink_init(s);
}

/* The one reply sent; fails unless exactly one was. */
static inline const char *tu_only_reply(const struct tu_sink *s)
{
    assert_int_equal(s->nsent, 1);
    return s->sent[0];
}

#define assert_contains(hay, needle)                                           \
    do {                                                                       \
        const char *h_ = (hay), *n_ = (needle);                                \
        if (!strstr(h_, n_))                                                   \
            fail_msg("expected \"%s\" in:\n%s", n_, h_);                       \
    } while (0)

#define assert_not_contains(hay, needle)                                       \
    do {                                                                       \
        const char *h_ = (hay), *n_ = (needle);                                \
        if (strstr(h_, n_))                                                    \
            fail_msg("did not expect \"%s\" in:\n%s", n_, h_);                 \
    } while (0)

static inline xmpp_stanza_t *tu_parse(xmpp_ctx_t *ctx, const char *xml)
{
    xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, xml);

    if (!st)
        fail_msg("cannot parse test XML: %s", xml);
    return st;
}

static inline char *tu_text(xmpp_stanza_t *st)
{
    return tu_canon(st);
}

/* ---- the log (stderr) captured into a temporary file ---- */

struct tu_capture {
    int fd, saved;
};

static inline void tu_capture_start(struct tu_capture *c)
{
    char path[] = "/tmp/registrar-unit-log.XXXXXX";

    c->fd = mkstemp(path);
    assert_true(c->fd >= 0);
    unlink(path);
    fflush(stderr);
    c->saved = dup(2);
    assert_true(c->saved >= 0);
    dup2(c->fd, 2);
}

/* Ends the capture: what was logged (caller frees). */
static inline char *tu_capture_end(struct tu_capture *c)
{
    off_t n;
    char *text;

    fflush(stderr);
    dup2(c->saved, 2);
    close(c->saved);
    n = lseek(c->fd, 0, SEEK_END);
    text = calloc(1, (size_t)n + 1);
    assert_non_null(text);
    assert_int_equal(pread(c->fd, text, (size_t)n, 0), n);
    close(c->fd);
    return text;
}

/* How many lines of text contain needle. */
static inline int tu_lines_with(const char *text, const char *needle)
{
    int n = 0;

    for (const char *l = text; l && *l;) {
        const char *end = strchr(l, '\n');
        size_t len = end ? (size_t)(end - l) : strlen(l);
        const char *hit = strstr(l, needle);

        n += hit && hit < l + len;
        l = end ? end + 1 : NULL;
    }
    return n;
}

#endif
