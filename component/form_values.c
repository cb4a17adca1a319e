/*
 * form_values.c - field definitions and values: lookups, copies, and the
 * checks on a plain string that need no form (control characters, JID
 * shape).  No XML, no I/O.  Values are wiped before they are freed: they
 * may be secrets.
 */
#include "form_values.h"

#include <stdlib.h>
#include <string.h>

static const char *const type_names[] = {
    [FORM_BOOLEAN] = "boolean",
    [FORM_FIXED] = "fixed",
    [FORM_HIDDEN] = "hidden",
    [FORM_JID_MULTI] = "jid-multi",
    [FORM_JID_SINGLE] = "jid-single",
    [FORM_LIST_MULTI] = "list-multi",
    [FORM_LIST_SINGLE] = "list-single",
    [FORM_TEXT_MULTI] = "text-multi",
    [FORM_TEXT_PRIVATE] = "text-private",
    [FORM_TEXT_SINGLE] = "text-single",
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

/* ---- form_data --------------------------------------------------------- */

struct form_value *form_data_find(const struct form_data *data, const char *var)
{
    for (size_t i = 0; i < data->n; i++)
        if (strcmp(data->items[i].var, var) == 0)
            return &data->items[i];
    return NULL;
}

const struct form_value *form_data_get(const struct form_data *data,
                                       const char *var)
{
    return form_data_find(data, var);
}

const char *form_data_first(const struct form_data *data, const char *var)
{
    const struct form_value *v = form_data_find(data, var);

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

struct form_value *form_data_entry(struct form_data *data, const char *var)
{
    struct form_value *v = form_data_find(data, var);

    return v ? v : data_new_entry(data, var);
}

bool form_value_append(struct form_value *v, const char *value)
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
    struct form_value *v = form_data_find(data, var);

    if (!v && !(v = data_new_entry(data, var)))
        return false;
    return form_value_append(v, value);
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
    struct form_value *v = form_data_find(data, var);

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

/* ---- plain strings ---------------------------------------------------- */

/* Control characters other than tab and newline (CR LF in multi-line
 * text) have no place in a registration value. */
bool form_has_control(const char *s, bool multiline)
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
        if (rlen == 0 || rlen > 1023 || form_has_control(slash + 1, false))
            return false;
    }
    return true;
}
