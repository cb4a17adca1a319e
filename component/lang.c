/*
 * lang.c - a service's texts in the user's language: BCP 47 shape, RFC
 * 4647 lookup, the catalog of translatable texts and translated form
 * definitions (lang.h).  Pure: no I/O.
 */
#include "lang.h"
#include "conf.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *key, *english;
} catalog[LANG_NTEXTS] = {
#define LANG_TEXT_ROW(k, en) [LANG_TEXT_##k] = {#k, en},
    LANG_TEXTS(LANG_TEXT_ROW)
#undef LANG_TEXT_ROW
};

const char *lang_text_key(enum lang_text t)
{
    return (unsigned)t < LANG_NTEXTS ? catalog[t].key : NULL;
}

const char *lang_text_english(enum lang_text t)
{
    return (unsigned)t < LANG_NTEXTS ? catalog[t].english : NULL;
}

/* ---- BCP 47 ------------------------------------------------------------- */

/* The subtags of a tag, lower-cased, split at '-'. */
#define MAX_SUBTAGS 32
struct subtags {
    char buf[LANG_TAG_MAX + 1];
    const char *s[MAX_SUBTAGS];
    size_t len[MAX_SUBTAGS];
    size_t n;
};

static bool split(const char *tag, struct subtags *st)
{
    size_t len = tag ? strlen(tag) : 0;
    char *p;

    if (len == 0 || len > LANG_TAG_MAX)
        return false;
    for (size_t i = 0; i <= len; i++)
        st->buf[i] = (char)tolower((unsigned char)tag[i]);
    st->n = 0;
    for (p = st->buf;;) {
        char *dash = strchr(p, '-');
        size_t l = dash ? (size_t)(dash - p) : strlen(p);

        if (l == 0 || l > 8 || st->n == MAX_SUBTAGS)
            return false;
        for (size_t i = 0; i < l; i++)
            if (!isalnum((unsigned char)p[i]))
                return false;
        st->s[st->n] = p;
        st->len[st->n++] = l;
        if (!dash)
            return true;
        p = dash + 1;
    }
}

static bool all(const char *s, size_t len, int (*is)(int))
{
    for (size_t i = 0; i < len; i++)
        if (!is((unsigned char)s[i]))
            return false;
    return true;
}

/* x-... : "x" and one or more 1-8 alphanumerics (split checked those). */
static bool privateuse_at(const struct subtags *st, size_t i)
{
    return st->len[i] == 1 && st->s[i][0] == 'x' && i + 1 < st->n;
}

bool lang_tag_valid(const char *tag)
{
    struct subtags st;
    size_t i = 0;
    char seen[36] = {0}; /* singletons used */

    if (!split(tag, &st))
        return false;
    if (privateuse_at(&st, 0))
        return true;
    /* language: 2-3 letters (+ up to three 3-letter extlangs), or 4-8 */
    if (!all(st.s[0], st.len[0], isalpha) || st.len[0] < 2)
        return false;
    if (st.len[0] <= 3)
        for (i = 1;
             i < st.n && i <= 3 && st.len[i] == 3 && all(st.s[i], 3, isalpha);
             i++)
            ;
    else
        i = 1;
    if (i < st.n && st.len[i] == 4 && all(st.s[i], 4, isalpha))
        i++; /* script */
    if (i < st.n && ((st.len[i] == 2 && all(st.s[i], 2, isalpha)) ||
                     (st.len[i] == 3 && all(st.s[i], 3, isdigit))))
        i++;                /* region */
    for (; i < st.n; i++) { /* variants: 5-8 alnum, or digit + 3 alnum */
        bool variant = st.len[i] >= 5 ||
                       (st.len[i] == 4 && isdigit((unsigned char)st.s[i][0]));

        if (!variant)
            break;
        for (size_t k = i - 1; k > 0; k--) /* a variant once */
            if (st.len[k] == st.len[i] &&
                memcmp(st.s[k], st.s[i], st.len[i]) == 0)
                return false;
    }
    while (i < st.n && st.len[i] == 1 && st.s[i][0] != 'x') {
        size_t k = i + 1;
        int c = st.s[i][0];
        int slot = isdigit(c) ? c - '0' : 10 + c - 'a';

        if (seen[slot]++) /* each singleton once */
            return false;
        while (k < st.n && st.len[k] >= 2)
            k++;
        if (k == i + 1) /* an extension needs a subtag */
            return false;
        i = k;
    }
    if (i < st.n && privateuse_at(&st, i))
        return true;
    return i == st.n;
}

/* ---- RFC 4647 lookup ---------------------------------------------------- */

int lang_lookup(const char *range, const char *const *tags, size_t n)
{
    char r[LANG_TAG_MAX + 1];
    size_t len;

    if (!range || !*range || strcmp(range, "*") == 0 ||
        (len = strlen(range)) > LANG_TAG_MAX)
        return -1;
    memcpy(r, range, len + 1);
    for (;;) {
        char *dash;

        for (size_t i = 0; i < n; i++)
            if (tags[i] && strcasecmp(tags[i], r) == 0)
                return (int)i;
        if (!(dash = strrchr(r, '-')))
            return -1;
        *dash = '\0';
        /* a single-letter subtag is dropped with the one after it */
        if ((dash = strrchr(r, '-')) && strlen(dash + 1) == 1)
            *dash = '\0';
    }
}

/* ---- placeholders ------------------------------------------------------- */

#define MAX_HOLES 4

/* The placeholder at p ("{name}"): its name's length, 0 when none. */
static size_t hole_at(const char *p)
{
    size_t l = 0;

    if (*p != '{')
        return 0;
    while (p[1 + l] && (islower((unsigned char)p[1 + l]) || p[1 + l] == '_'))
        l++;
    return l && p[1 + l] == '}' ? l : 0;
}

bool lang_placeholders_ok(const char *english, const char *translation,
                          char *bad, size_t size)
{
    for (const char *p = translation; *p; p++) {
        size_t l = hole_at(p);
        bool found = false;

        if (!l)
            continue;
        for (const char *q = english; *q && !found; q++)
            found = hole_at(q) == l && memcmp(q, p, l + 2) == 0;
        if (!found) {
            snprintf(bad, size, "%.*s", (int)(l + 2), p);
            return false;
        }
        p += l + 1;
    }
    return true;
}

struct capture {
    const char *name; /* in the template: "{name}" */
    size_t name_len;
    const char *at; /* in the text */
    size_t len;
};

/* Does text match tpl, each placeholder matching one or more bytes?
 * What they matched in caps (at most MAX_HOLES). */
static bool match(const char *tpl, const char *text, struct capture *caps,
                  size_t ncaps)
{
    size_t l;

    for (; *tpl; tpl++, text++) {
        if ((l = hole_at(tpl))) {
            if (ncaps == MAX_HOLES)
                return false;
            /* the shortest match that lets the rest match */
            for (size_t k = 1; text[k - 1]; k++) {
                caps[ncaps] = (struct capture){tpl + 1, l, text, k};
                if (match(tpl + l + 2, text + k, caps, ncaps + 1))
                    return true;
            }
            return false;
        }
        if (*tpl != *text)
            return false;
    }
    if (*text)
        return false;
    for (size_t i = ncaps; i < MAX_HOLES; i++)
        caps[i].name = NULL;
    return true;
}

/* Appends len bytes of s to buf at *used, as many as fit. */
static void put(char *buf, size_t size, size_t *used, const char *s, size_t len)
{
    if (*used + len >= size)
        len = size - 1 - *used;
    memcpy(buf + *used, s, len);
    *used += len;
    buf[*used] = '\0';
}

/* A text cut at the end of buf: without a last character left incomplete. */
static void trim_partial(char *buf, size_t used)
{
    size_t start = used, need;
    unsigned char c;

    while (start > 0 && ((unsigned char)buf[start - 1] & 0xC0) == 0x80)
        start--;
    if (start == 0)
        return;
    c = (unsigned char)buf[--start];
    need = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (used - start < need)
        buf[start] = '\0';
}

const char *lang_translate(const char *const *texts, const char *text,
                           char *buf, size_t size)
{
    struct capture caps[MAX_HOLES];

    if (!texts || !text || size == 0)
        return text;
    for (size_t t = 0; t < LANG_NTEXTS; t++) {
        size_t used = 0;

        if (!texts[t] || !match(catalog[t].english, text, caps, 0))
            continue;
        buf[0] = '\0';
        for (const char *p = texts[t]; *p;) {
            size_t l = hole_at(p);
            const struct capture *c = NULL;

            for (size_t i = 0; l && i < MAX_HOLES && caps[i].name && !c; i++)
                if (caps[i].name_len == l &&
                    memcmp(caps[i].name, p + 1, l) == 0)
                    c = &caps[i];
            if (c) {
                put(buf, size, &used, c->at, c->len);
                p += l + 2;
            } else {
                put(buf, size, &used, p, 1);
                p++;
            }
        }
        if (used == size - 1)
            trim_partial(buf, used);
        return buf;
    }
    return text;
}

/* ---- a service's translations ----------------------------------------- */

#define SELECT_MAX 64 /* tags looked up at once; more are not compared */

const struct conf_lang *lang_select(const struct conf *c, const char *range,
                                    const char **tag)
{
    const char *tags[SELECT_MAX + 1];
    size_t n = c->nlangs < SELECT_MAX ? c->nlangs : SELECT_MAX;
    int at;

    *tag = NULL;
    if (c->nlangs == 0)
        return NULL;
    for (size_t i = 0; i < n; i++)
        tags[i] = c->langs[i].tag;
    tags[n] = c->registration.default_lang; /* last: a translation wins */
    *tag = c->registration.default_lang;
    at = lang_lookup(range, tags, n + 1);
    if (at < 0 || (size_t)at == n)
        return NULL;
    *tag = c->langs[at].tag;
    return &c->langs[at];
}

/* ---- translated forms --------------------------------------------------- */

bool lang_form_make(struct lang_form *out, const struct form_def *in,
                    const struct conf_lang *tr)
{
    size_t nopts = 0, o = 0;

    memset(out, 0, sizeof(*out));
    out->def = *in;
    if (tr && tr->title)
        out->def.title = tr->title;
    if (tr && tr->instructions && in->instructions)
        out->def.instructions = tr->instructions;
    if (in->nfields == 0)
        return true;
    for (size_t i = 0; i < in->nfields; i++)
        nopts += in->fields[i].noptions;
    out->fields = calloc(in->nfields, sizeof(*out->fields));
    out->options = nopts ? calloc(nopts, sizeof(*out->options)) : NULL;
    if (!out->fields || (nopts && !out->options)) {
        lang_form_clear(out);
        return false;
    }
    for (size_t i = 0; i < in->nfields; i++) {
        const struct form_field_def *f = &in->fields[i];
        struct form_field_def *g = &out->fields[i];
        const struct conf_lang_field *ft = NULL;

        *g = *f;
        for (size_t k = 0; tr && k < tr->nfields && !ft; k++)
            if (strcmp(tr->fields[k].var, f->var) == 0)
                ft = &tr->fields[k];
        if (ft && ft->label)
            g->label = ft->label;
        if (ft && ft->desc)
            g->desc = ft->desc;
        if (!f->noptions)
            continue;
        g->options = &out->options[o];
        for (size_t k = 0; k < f->noptions; k++, o++) {
            out->options[o] = f->options[k];
            for (size_t j = 0; ft && j < ft->noptions; j++)
                if (strcmp(ft->options[j].value, f->options[k].value) == 0)
                    out->options[o].label = ft->options[j].label;
        }
    }
    out->def.fields = out->fields;
    return true;
}

void lang_form_clear(struct lang_form *f)
{
    free(f->fields);
    free(f->options);
    memset(f, 0, sizeof(*f));
}
