/*
 * form.c - XEP-0004 data forms: build, parse, validate, encode as JSON.
 *
 * Pure: libstrophe stanzas in and out, no connection, no storage, no
 * XEP-0077 policy.  Error texts name fields, never submitted values; a
 * var or type the requester chose is quoted only as text_excerpt() makes
 * it (short, whole characters), and every text is cut, if it must be,
 * between two characters (text_vformat): a cut inside a UTF-8 sequence
 * makes the reply not well-formed, and the server closes the stream.
 */
#include "form.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form_rules.h"
#include "text.h"
#include "xml.h"

static void problem_set(struct form_problem *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void problem_set(struct form_problem *p, const char *fmt, ...)
{
    va_list ap;

    if (!p)
        return;
    va_start(ap, fmt);
    (void)text_vformat(p->text, sizeof(p->text), fmt, ap);
    va_end(ap);
}

/* ---- building ---------------------------------------------------------- */

/* XEP-0122's <validate/>: one method (range, regex, or basic), then the
 * list range. */
static void build_validate(xmpp_stanza_t *field, const struct form_field_def *f)
{
    xmpp_ctx_t *ctx = xmpp_stanza_get_context(field);
    xmpp_stanza_t *v = xml_elem(ctx, "validate", FORM_VALIDATE_NS), *m;
    char n[32];

    if (!v)
        return;
    xmpp_stanza_set_attribute(v, "datatype",
                              f->datatype ? f->datatype : "xs:string");
    if (f->range_min || f->range_max) {
        if ((m = xml_elem(ctx, "range", NULL))) {
            if (f->range_min)
                xmpp_stanza_set_attribute(m, "min", f->range_min);
            if (f->range_max)
                xmpp_stanza_set_attribute(m, "max", f->range_max);
            xml_add(v, m);
        }
    } else if (f->regex) {
        xml_add_text(v, "regex", f->regex);
    } else {
        xml_add(v, xml_elem(ctx, "basic", NULL));
    }
    if ((f->list_min || f->list_max) &&
        (m = xml_elem(ctx, "list-range", NULL))) {
        if (f->list_min) {
            snprintf(n, sizeof(n), "%zu", f->list_min);
            xmpp_stanza_set_attribute(m, "min", n);
        }
        if (f->list_max) {
            snprintf(n, sizeof(n), "%zu", f->list_max);
            xmpp_stanza_set_attribute(m, "max", n);
        }
        xml_add(v, m);
    }
    xml_add(field, v);
}

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
    if (form_rules_any(f))
        build_validate(field, f);
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
    char quoted[TEXT_EXCERPT_SIZE(TEXT_EXCERPT_CHARS)];

    *out = (struct form_data){0};
    if (type && strcmp(type, "cancel") == 0)
        return FORM_CANCEL;
    if (!type || strcmp(type, "submit") != 0) {
        problem_set(problem, "a form of type '%s' cannot be submitted",
                    type ? text_excerpt(quoted, sizeof(quoted), type,
                                        TEXT_EXCERPT_CHARS)
                         : "(none)");
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
        if (form_data_find(out, var)) {
            problem_set(
                problem, "field '%s' submitted twice",
                text_excerpt(quoted, sizeof(quoted), var, TEXT_EXCERPT_CHARS));
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
        if (!(entry = form_data_entry(out, var)))
            return FORM_BAD_REQUEST;
        for (xmpp_stanza_t *v = xmpp_stanza_get_children(f); v;
             v = xmpp_stanza_get_next(v)) {
            char *text;
            bool ok;

            if (!is_named(v, "value"))
                continue;
            if (entry->nvalues == FORM_MAX_VALUES) {
                problem_set(problem, "field '%s' has more than %d values",
                            text_excerpt(quoted, sizeof(quoted), var,
                                         TEXT_EXCERPT_CHARS),
                            FORM_MAX_VALUES);
                return FORM_BAD_REQUEST;
            }
            text = xmpp_stanza_get_text(v);
            ok = form_value_append(entry, text ? text : "");
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
            problem_set(problem, "field '%s' is longer than %zu bytes", f->var,
                        max);
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
        if (form_has_control(val, f->type == FORM_TEXT_MULTI)) {
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

/* The problems of one submission (not-acceptable ones): the first
 * FORM_MAX_PROBLEMS texts, and how many there were. */
struct problems {
    char text[FORM_MAX_PROBLEMS][FORM_PROBLEM_SIZE];
    size_t n;
};

static void problems_add(struct problems *ps, const char *text)
{
    if (ps->n < FORM_MAX_PROBLEMS)
        (void)text_format(ps->text[ps->n], sizeof(ps->text[0]), "%s", text);
    ps->n++;
}

/* One problem: its own text; several: "N problems: A; B; and K more". */
static void problems_write(const struct problems *ps,
                           struct form_problem *problem)
{
    size_t shown = ps->n < FORM_MAX_PROBLEMS ? ps->n : FORM_MAX_PROBLEMS;
    size_t len;

    if (!problem)
        return;
    if (ps->n == 1) {
        problem_set(problem, "%s", ps->text[0]);
        return;
    }
    problem_set(problem, "%zu problems: ", ps->n);
    for (size_t i = 0; i < shown; i++) {
        len = strlen(problem->text);
        (void)text_format(problem->text + len, sizeof(problem->text) - len,
                          "%s%s", i ? "; " : "", ps->text[i]);
    }
    if (ps->n > shown) {
        len = strlen(problem->text);
        (void)text_format(problem->text + len, sizeof(problem->text) - len,
                          "; and %zu more", ps->n - shown);
    }
}

/* The XEP-0122 rules of f on the values of v (checked by check_values):
 * the first value that breaks one, then the list range; each problem
 * names the field by its label, else its var. */
static void check_rules(const struct form_field_def *f,
                        const struct form_value *v, struct problems *ps)
{
    const char *name = f->label ? f->label : f->var;
    char why[192], text[FORM_PROBLEM_SIZE];
    size_t n = 0;
    bool bad = false;

    for (size_t i = 0; i < v->nvalues; i++) {
        if (is_blank(v->values[i]))
            continue;
        n++;
        if (!bad && f->type != FORM_BOOLEAN &&
            !form_rules_value(f, v->values[i], why, sizeof(why))) {
            (void)text_format(text, sizeof(text), "%s: %s", name, why);
            problems_add(ps, text);
            bad = true;
        }
    }
    if (n && form_type_is_multi(f->type) &&
        !form_rules_count(f, n, why, sizeof(why))) {
        (void)text_format(text, sizeof(text), "%s: %s", name, why);
        problems_add(ps, text);
    }
}

enum form_status form_validate(const struct form_def *def,
                               struct form_data *data, bool keep_private,
                               struct form_problem *problem)
{
    struct problems ps = {.n = 0};
    struct form_problem one = {{0}};
    enum form_status st;

    if (data->form_type && def->form_type &&
        strcmp(data->form_type, def->form_type) != 0) {
        problem_set(problem, "FORM_TYPE must be '%s'", def->form_type);
        return FORM_BAD_REQUEST;
    }
    /* Drop what the definition does not ask for. */
    for (size_t i = 0; i < data->n;) {
        const struct form_field_def *f = form_def_find(def, data->items[i].var);
        if (!f || f->type == FORM_FIXED || f->type == FORM_HIDDEN) {
            form_data_remove(data, data->items[i].var);
            continue;
        }
        i++;
    }
    /* Every field, so that a refusal lists every problem; a malformed
     * submission (bad-request) is answered at its first. */
    for (size_t i = 0; i < def->nfields; i++) {
        const struct form_field_def *f = &def->fields[i];
        struct form_value *v = form_data_find(data, f->var);

        if (f->type == FORM_FIXED || f->type == FORM_HIDDEN)
            continue;
        if (v && (st = check_values(f, v, &one)) != FORM_OK) {
            if (st != FORM_NOT_ACCEPTABLE) {
                problem_set(problem, "%s", one.text);
                return st;
            }
            problems_add(&ps, one.text);
            continue;
        }
        if (v && form_rules_any(f))
            check_rules(f, v, &ps);
        if (values_blank(v)) {
            if (v)
                form_data_remove(data, f->var);
            if (f->required &&
                !(keep_private && f->type == FORM_TEXT_PRIVATE && !v)) {
                (void)text_format(one.text, sizeof(one.text),
                                  "field '%s' is required", f->var);
                problems_add(&ps, one.text);
            }
        }
    }
    if (ps.n) {
        problems_write(&ps, problem);
        return FORM_NOT_ACCEPTABLE;
    }
    return FORM_OK;
}
