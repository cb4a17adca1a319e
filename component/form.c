/*
 * form.c - XEP-0004 data forms: build, parse, validate, encode as JSON.
 *
 * Pure: libstrophe stanzas in and out, no connection, no storage, no
 * XEP-0077 policy.  Error texts name fields, never submitted values.
 */
#include "form.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xml.h"

static const char *const type_names[] = {
    [FORM_BOOLEAN] = "boolean",           [FORM_FIXED] = "fixed",
    [FORM_HIDDEN] = "hidden",             [FORM_JID_MULTI] = "jid-multi",
    [FORM_JID_SINGLE] = "jid-single",     [FORM_LIST_MULTI] = "list-multi",
    [FORM_LIST_SINGLE] = "list-single",   [FORM_TEXT_MULTI] = "text-multi",
    [FORM_TEXT_PRIVATE] = "text-private", [FORM_TEXT_SINGLE] = "text-single",
};

#define NTYPES (sizeof(type_names) / sizeof(type_names[0]))

const char *form_type_name(enum form_field_type type)
{
    return (unsigned)type < NTYPES ? type_names[type] : "text-single";
}

bool form_type_parse(const char *name, enum form_field_type *out)
{
    for (size_t i = 0; i < NTYPES; i++) {
        if (strcmp(name, type_names[i]) == 0) {
            *out = (enum form_field_type)i;
            return true;
        }
    }
    return false;
}

bool form_type_is_multi(enum form_field_type type)
{
    return type == FORM_JID_MULTI || type == FORM_LIST_MULTI ||
           type == FORM_TEXT_MULTI;
}

const struct form_field_def *form_def_find(const struct form_def *def,
                                           const char *var)
{
    for (size_t i = 0; i < def->nfields; i++)
        if (strcmp(def->fields[i].var, var) == 0)
            return &def->fields[i];
    return NULL;
}

static void problem_set(struct form_problem *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void problem_set(struct form_problem *p, const char *fmt, ...)
{
    va_list ap;

    if (!p)
        return;
    va_start(ap, fmt);
    vsnprintf(p->text, sizeof(p->text), fmt, ap);
    va_end(ap);
}

/* ---- building ---------------------------------------------------------- */

static void build_field(xmpp_stanza_t *x, const struct form_field_def *f,
                        const struct form_data *prefill)
{
    xmpp_ctx_t *ctx = xmpp_stanza_get_context(x);
    xmpp_stanza_t *field = xml_elem(ctx, "field", NULL);

    if (!field)
        return;
    xmpp_stanza_set_attribute(field, "type", form_type_name(f->type));
    xmpp_stanza_set_attribute(field, "var", f->var);
    if (f->label)
        xmpp_stanza_set_attribute(field, "label", f->label);
    if (f->desc)
        xml_add_text(field, "desc", f->desc);
    if (f->required)
        xml_add(field, xml_elem(ctx, "required", NULL));
    if (f->type == FORM_FIXED || f->type == FORM_HIDDEN) {
        if (f->value)
            xml_add_text(field, "value", f->value);
    } else if (prefill && f->type != FORM_TEXT_PRIVATE) {
        const struct form_value *v = form_data_get(prefill, f->var);
        for (size_t i = 0; v && i < v->nvalues; i++)
            xml_add_text(field, "value", v->values[i]);
    }
    for (size_t i = 0; i < f->noptions; i++) {
        xmpp_stanza_t *opt = xml_elem(ctx, "option", NULL);
        if (!opt)
            continue;
        if (f->options[i].label)
            xmpp_stanza_set_attribute(opt, "label", f->options[i].label);
        xml_add_text(opt, "value", f->options[i].value);
        xml_add(field, opt);
    }
    xml_add(x, field);
}

xmpp_stanza_t *form_build(xmpp_ctx_t *ctx, const struct form_def *def,
                          const char *type, const struct form_data *prefill)
{
    xmpp_stanza_t *x = xml_elem(ctx, "x", FORM_NS);
    struct form_field_def form_type = {
        .var = "FORM_TYPE",
        .type = FORM_HIDDEN,
        .value = (char *)def->form_type,
    };

    if (!x)
        return NULL;
    xmpp_stanza_set_type(x, type);
    if (def->title)
        xml_add_text(x, "title", def->title);
    if (def->instructions)
        xml_add_text(x, "instructions", def->instructions);
    if (def->form_type)
        build_field(x, &form_type, NULL);
    for (size_t i = 0; i < def->nfields; i++)
        build_field(x, &def->fields[i], prefill);
    return x;
}

/* ---- form_data --------------------------------------------------------- */

static struct form_value *data_find(const struct form_data *data,
                                    const char *var)
{
    for (size_t i = 0; i < data->n; i++)
        if (strcmp(data->items[i].var, var) == 0)
            return &data->items[i];
    return NULL;
}

const struct form_value *form_data_get(const struct form_data *data,
                                       const char *var)
{
    return data_find(data, var);
}

const char *form_data_first(const struct form_data *data, const char *var)
{
    const struct form_value *v = data_find(data, var);

    return v && v->nvalues ? v->values[0] : NULL;
}

/* Appends an empty entry for var; NULL when out of memory. */
static struct form_value *data_new_entry(struct form_data *data,
                                         const char *var)
{
    struct form_value *items;
    char *copy = strdup(var);

    if (!copy)
        return NULL;
    items = realloc(data->items, (data->n + 1) * sizeof(*items));
    if (!items) {
        free(copy);
        return NULL;
    }
    data->items = items;
    items[data->n] = (struct form_value){.var = copy};
    return &items[data->n++];
}

static bool value_append(struct form_value *v, const char *value)
{
    char **values;
    char *copy = strdup(value);

    if (!copy)
        return false;
    values = realloc(v->values, (v->nvalues + 1) * sizeof(*values));
    if (!values) {
        free(copy);
        return false;
    }
    v->values = values;
    values[v->nvalues++] = copy;
    return true;
}

bool form_data_add(struct form_data *data, const char *var, const char *value)
{
    struct form_value *v = data_find(data, var);

    if (!v && !(v = data_new_entry(data, var)))
        return false;
    return value_append(v, value);
}

/* Values may be secrets (text-private, passwords): wiped before freed. */
static void value_free(struct form_value *v)
{
    for (size_t i = 0; i < v->nvalues; i++) {
        explicit_bzero(v->values[i], strlen(v->values[i]));
        free(v->values[i]);
    }
    free(v->values);
    free(v->var);
}

void form_data_remove(struct form_data *data, const char *var)
{
    struct form_value *v = data_find(data, var);

    if (!v)
        return;
    value_free(v);
    size_t idx = (size_t)(v - data->items);
    memmove(v, v + 1, (data->n - idx - 1) * sizeof(*v));
    data->n--;
}

void form_data_clear(struct form_data *data)
{
    for (size_t i = 0; i < data->n; i++)
        value_free(&data->items[i]);
    free(data->items);
    free(data->form_type);
    *data = (struct form_data){0};
}

/* ---- parsing ----------------------------------------------------------- */

static bool is_named(xmpp_stanza_t *el, const char *name)
{
    const char *n = xmpp_stanza_is_tag(el) ? xmpp_stanza_get_name(el) : NULL;

    return n && strcmp(n, name) == 0;
}

enum form_status form_parse(xmpp_stanza_t *x, struct form_data *out,
                            struct form_problem *problem)
{
    xmpp_ctx_t *ctx = xmpp_stanza_get_context(x);
    const char *type = xmpp_stanza_get_type(x);
    size_t nfields = 0;

    *out = (struct form_data){0};
    if (type && strcmp(type, "cancel") == 0)
        return FORM_CANCEL;
    if (!type || strcmp(type, "submit") != 0) {
        problem_set(problem, "a form of type '%s' cannot be submitted",
                    type ? type : "(none)");
        return FORM_BAD_REQUEST;
    }
    for (xmpp_stanza_t *f = xmpp_stanza_get_children(x); f;
         f = xmpp_stanza_get_next(f)) {
        const char *var;
        struct form_value *entry;

        if (!is_named(f, "field"))
            continue;
        if (++nfields > FORM_MAX_FIELDS) {
            problem_set(problem, "more than %d fields submitted",
                        FORM_MAX_FIELDS);
            return FORM_BAD_REQUEST;
        }
        var = xmpp_stanza_get_attribute(f, "var");
        if (!var || !*var) {
            problem_set(problem, "a submitted field has no var");
            return FORM_BAD_REQUEST;
        }
        if (data_find(out, var)) {
            problem_set(problem, "field '%.64s' submitted twice", var);
            return FORM_BAD_REQUEST;
        }
        if (strcmp(var, "FORM_TYPE") == 0) {
            xmpp_stanza_t *v = xmpp_stanza_get_child_by_name(f, "value");
            char *text = v ? xmpp_stanza_get_text(v) : NULL;
            free(out->form_type);
            out->form_type = strdup(text ? text : "");
            if (text)
                xmpp_free(ctx, text);
            if (!out->form_type)
                return FORM_BAD_REQUEST;
            /* Keep an entry so that a second FORM_TYPE is a duplicate. */
        }
        if (!(entry = data_new_entry(out, var)))
            return FORM_BAD_REQUEST;
        for (xmpp_stanza_t *v = xmpp_stanza_get_children(f); v;
             v = xmpp_stanza_get_next(v)) {
            char *text;
            bool ok;

            if (!is_named(v, "value"))
                continue;
            if (entry->nvalues == FORM_MAX_VALUES) {
                problem_set(problem, "field '%.64s' has more than %d values",
                            var, FORM_MAX_VALUES);
                return FORM_BAD_REQUEST;
            }
            text = xmpp_stanza_get_text(v);
            ok = value_append(entry, text ? text : "");
            if (text) {
                explicit_bzero(text, strlen(text));
                xmpp_free(ctx, text);
            }
            if (!ok)
                return FORM_BAD_REQUEST;
        }
    }
    return FORM_OK;
}

/* ---- validation -------------------------------------------------------- */

/* Strips leading and trailing white space in place. */
static void trim(char *s)
{
    size_t len = strlen(s), start = 0;

    while (len > 0 && isspace((unsigned char)s[len - 1]))
        s[--len] = '\0';
    while (start < len && isspace((unsigned char)s[start]))
        start++;
    if (start)
        memmove(s, s + start, len - start + 1);
}

static bool is_blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

/* Control characters other than tab and newline (CR LF in multi-line
 * text) have no place in a registration value. */
static bool has_control(const char *s, bool multiline)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\t' || (multiline && (*p == '\n' || *p == '\r')))
            continue;
        if (*p < 0x20 || *p == 0x7f)
            return true;
        /* C1 controls, U+0080..U+009F, encoded as C2 80..C2 9F */
        if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
            return true;
    }
    return false;
}

static bool part_ok(const char *s, size_t len, const char *forbidden)
{
    if (len == 0 || len > 1023)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f || strchr(forbidden, c))
            return false;
    }
    return true;
}

bool form_jid_valid(const char *s)
{
    const char *at, *slash, *dom;
    size_t domlen;

    if (!s || strlen(s) > 3071)
        return false;
    slash = strchr(s, '/');
    at = strchr(s, '@');
    if (at && slash && at > slash)
        at = NULL; /* an '@' in the resource */
    dom = at ? at + 1 : s;
    domlen = slash ? (size_t)(slash - dom) : strlen(dom);
    if (at && !part_ok(s, (size_t)(at - s), "\"&'/:<>@"))
        return false;
    if (!part_ok(dom, domlen, "@/\"&'<>\\"))
        return false;
    if (dom[0] == '.' || dom[domlen - 1] == '.')
        return false;
    if (slash) {
        size_t rlen = strlen(slash + 1);
        if (rlen == 0 || rlen > 1023 || has_control(slash + 1, false))
            return false;
    }
    return true;
}

static bool option_ok(const struct form_field_def *f, const char *value)
{
    if (f->noptions == 0)
        return true;
    for (size_t i = 0; i < f->noptions; i++)
        if (strcmp(f->options[i].value, value) == 0)
            return true;
    return false;
}

/* Checks and normalises the values of one defined field. */
static enum form_status check_values(const struct form_field_def *f,
                                     struct form_value *v,
                                     struct form_problem *problem)
{
    size_t max = f->max_length ? f->max_length : FORM_DEFAULT_MAX_LENGTH;

    if (!form_type_is_multi(f->type) && v->nvalues > 1) {
        problem_set(problem, "field '%s' takes a single value", f->var);
        return FORM_BAD_REQUEST;
    }
    for (size_t i = 0; i < v->nvalues; i++) {
        char *val = v->values[i];

        if (f->type != FORM_TEXT_PRIVATE && f->type != FORM_TEXT_MULTI)
            trim(val);
        if (strlen(val) > max) {
            problem_set(problem, "field '%s' is longer than %zu bytes",
                        f->var, max);
            return FORM_NOT_ACCEPTABLE;
        }
        if (f->type == FORM_TEXT_PRIVATE &&
            strlen(val) > FORM_PRIVATE_MAX_BYTES) {
            problem_set(problem,
                        "field '%s' is longer than %d bytes (the most a "
                        "private value can hold: it is stored as a bcrypt "
                        "hash)",
                        f->var, FORM_PRIVATE_MAX_BYTES);
            return FORM_NOT_ACCEPTABLE;
        }
        if (has_control(val, f->type == FORM_TEXT_MULTI)) {
            problem_set(problem, "field '%s' contains control characters",
                        f->var);
            return FORM_NOT_ACCEPTABLE;
        }
        switch (f->type) {
        case FORM_BOOLEAN:
            if (!strcmp(val, "1") || !strcmp(val, "true")) {
                strcpy(val, "1");
            } else if (!strcmp(val, "0") || !strcmp(val, "false")) {
                strcpy(val, "0");
            } else {
                problem_set(problem, "field '%s' must be a boolean", f->var);
                return FORM_NOT_ACCEPTABLE;
            }
            break;
        case FORM_LIST_SINGLE:
        case FORM_LIST_MULTI:
            if (!option_ok(f, val)) {
                problem_set(problem,
                            "field '%s' has a value that is not one of its "
                            "options",
                            f->var);
                return FORM_NOT_ACCEPTABLE;
            }
            break;
        case FORM_JID_SINGLE:
        case FORM_JID_MULTI:
            if (!form_jid_valid(val)) {
                problem_set(problem, "field '%s' is not a valid JID", f->var);
                return FORM_NOT_ACCEPTABLE;
            }
            break;
        default:
            break;
        }
    }
    return FORM_OK;
}

/* True when v holds no value that is more than white space. */
static bool values_blank(const struct form_value *v)
{
    if (!v)
        return true;
    for (size_t i = 0; i < v->nvalues; i++)
        if (!is_blank(v->values[i]))
            return false;
    return true;
}

enum form_status form_validate(const struct form_def *def,
                               struct form_data *data, bool keep_private,
                               struct form_problem *problem)
{
    enum form_status st;

    if (data->form_type && def->form_type &&
        strcmp(data->form_type, def->form_type) != 0) {
        problem_set(problem, "FORM_TYPE must be '%s'", def->form_type);
        return FORM_BAD_REQUEST;
    }
    /* Drop what the definition does not ask for. */
    for (size_t i = 0; i < data->n;) {
        const struct form_field_def *f =
            form_def_find(def, data->items[i].var);
        if (!f || f->type == FORM_FIXED || f->type == FORM_HIDDEN) {
            form_data_remove(data, data->items[i].var);
            continue;
        }
        i++;
    }
    for (size_t i = 0; i < def->nfields; i++) {
        const struct form_field_def *f = &def->fields[i];
        struct form_value *v = data_find(data, f->var);

        if (f->type == FORM_FIXED || f->type == FORM_HIDDEN)
            continue;
        if (v && (st = check_values(f, v, problem)) != FORM_OK)
            return st;
        if (values_blank(v)) {
            if (v)
                form_data_remove(data, f->var);
            if (f->required &&
                !(keep_private && f->type == FORM_TEXT_PRIVATE && !v)) {
                problem_set(problem, "field '%s' is required", f->var);
                return FORM_NOT_ACCEPTABLE;
            }
        }
    }
    return FORM_OK;
}

/* ---- JSON -------------------------------------------------------------- */

struct buf {
    char *s;
    size_t len, cap;
    bool oom;
};

static void buf_put(struct buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

static void buf_json_string(struct buf *b, const char *s)
{
    buf_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"':
            buf_put(b, "\\\"", 2);
            break;
        case '\\':
            buf_put(b, "\\\\", 2);
            break;
        case '\n':
            buf_put(b, "\\n", 2);
            break;
        case '\r':
            buf_put(b, "\\r", 2);
            break;
        case '\t':
            buf_put(b, "\\t", 2);
            break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof(esc), "\\u%04x", *p);
                buf_str(b, esc);
            } else {
                buf_put(b, (const char *)p, 1);
            }
        }
    }
    buf_put(b, "\"", 1);
}

char *form_data_to_json(const struct form_def *def,
                        const struct form_data *data)
{
    struct buf b = {0};

    buf_str(&b, "{");
    for (size_t i = 0; i < data->n; i++) {
        const struct form_value *v = &data->items[i];
        const struct form_field_def *f = def ? form_def_find(def, v->var)
                                             : NULL;
        bool array = f ? form_type_is_multi(f->type) : v->nvalues != 1;

        if (i)
            buf_str(&b, ",");
        buf_json_string(&b, v->var);
        buf_str(&b, ":");
        if (array)
            buf_str(&b, "[");
        for (size_t j = 0; j < v->nvalues; j++) {
            if (j)
                buf_str(&b, ",");
            buf_json_string(&b, v->values[j]);
        }
        if (array)
            buf_str(&b, "]");
        else if (v->nvalues == 0)
            buf_str(&b, "\"\"");
    }
    buf_str(&b, "}");
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
