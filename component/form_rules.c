/*
 * form_rules.c - XEP-0122 rules of a field: checked at load, applied to
 * values (see form_rules.h).
 */
#include "form_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern.h"
#include "text.h"
#include "validate.h"

static enum validate_datatype datatype_of(const struct form_field_def *f)
{
    enum validate_datatype dt = VALIDATE_STRING;

    if (f->datatype)
        (void)validate_datatype_parse(f->datatype, &dt);
    return dt;
}

bool form_rules_any(const struct form_field_def *f)
{
    return f->datatype || f->range_min || f->range_max || f->regex ||
           f->list_min || f->list_max;
}

static bool text_field(enum form_field_type t)
{
    return t == FORM_TEXT_SINGLE || t == FORM_TEXT_PRIVATE;
}

bool form_rules_check(const struct form_field_def *f, form_rules_report report,
                      void *arg)
{
    enum validate_datatype dt = VALIDATE_STRING;
    bool ok = true;
    char msg[512];
    int cmp;

#define PROBLEM(key, index, ...)                                               \
    do {                                                                       \
        text_format(msg, sizeof(msg), __VA_ARGS__);                            \
        report(arg, key, index, msg);                                          \
        ok = false;                                                            \
    } while (0)

    if (!form_rules_any(f))
        return true;
    if (f->type == FORM_FIXED || f->type == FORM_HIDDEN) {
        PROBLEM(FORM_RULES_TYPE, 0,
                "a %s field is not submitted: it takes no datatype, range, "
                "regex or list range",
                form_type_name(f->type));
        return false;
    }
    if (f->datatype) {
        if (!validate_datatype_parse(f->datatype, &dt)) {
            PROBLEM(FORM_RULES_DATATYPE, 0,
                    "datatype '%s' is not one of XEP-0122's (xs:string, "
                    "xs:integer, xs:int, xs:long, xs:short, xs:byte, "
                    "xs:decimal, xs:double, xs:date, xs:dateTime, xs:time, "
                    "xs:boolean, xs:anyURI, xs:language)",
                    f->datatype);
            return false;
        }
        if (f->type == FORM_JID_SINGLE || f->type == FORM_JID_MULTI)
            PROBLEM(FORM_RULES_DATATYPE, 0,
                    "a %s field takes no datatype (its values are JIDs; "
                    "XEP-0122 5.7)",
                    form_type_name(f->type));
        else if (f->type == FORM_BOOLEAN && dt != VALIDATE_BOOLEAN)
            PROBLEM(FORM_RULES_DATATYPE, 0,
                    "a boolean field takes only datatype xs:boolean");
        for (size_t i = 0; i < f->noptions; i++)
            if (!validate_value(dt, f->options[i].value))
                PROBLEM(FORM_RULES_OPTION, i, "option '%s' is not %s (%s)",
                        f->options[i].value, validate_datatype_noun(dt),
                        f->datatype);
    }
    if (f->range_min || f->range_max) {
        if (!text_field(f->type))
            PROBLEM(FORM_RULES_TYPE, 0,
                    "a range goes only on a text-single or text-private "
                    "field (XEP-0122 5.7)");
        if (!validate_datatype_ordered(dt)) {
            PROBLEM(f->range_min ? FORM_RULES_RANGE_MIN : FORM_RULES_RANGE_MAX,
                    0,
                    "a range needs an ordered datatype (a number, date or "
                    "time; XEP-0122 5.8), not %s",
                    validate_datatype_name(dt));
        } else {
            bool lo = !f->range_min || validate_value(dt, f->range_min);
            bool hi = !f->range_max || validate_value(dt, f->range_max);
            if (!lo)
                PROBLEM(FORM_RULES_RANGE_MIN, 0, "range_min '%s' is not %s",
                        f->range_min, validate_datatype_noun(dt));
            if (!hi)
                PROBLEM(FORM_RULES_RANGE_MAX, 0, "range_max '%s' is not %s",
                        f->range_max, validate_datatype_noun(dt));
            if (lo && hi && f->range_min && f->range_max &&
                (!validate_compare(dt, f->range_min, f->range_max, &cmp) ||
                 cmp > 0))
                PROBLEM(FORM_RULES_RANGE_MAX, 0,
                        "range_max '%s' is below range_min '%s'", f->range_max,
                        f->range_min);
        }
    }
    if (f->regex) {
        char why[256];
        size_t offset = 0;
        struct pattern *p;

        if (!text_field(f->type))
            PROBLEM(FORM_RULES_TYPE, 0,
                    "a regex goes only on a text-single or text-private "
                    "field (XEP-0122 5.7)");
        if (f->range_min || f->range_max)
            PROBLEM(FORM_RULES_REGEX, 0,
                    "a field takes a range or a regex, not both (XEP-0122 "
                    "3.2: one validation method)");
        if (!(p = pattern_compile(f->regex, why, sizeof(why), &offset)))
            PROBLEM(FORM_RULES_REGEX, 0, "regex: %s at offset %zu", why,
                    offset);
        pattern_free(p);
    }
    if (f->list_min || f->list_max) {
        if (!form_type_is_multi(f->type))
            PROBLEM(f->list_min ? FORM_RULES_LIST_MIN : FORM_RULES_LIST_MAX, 0,
                    "a list range goes only on a -multi field");
        if (f->list_min && f->list_max && f->list_min > f->list_max)
            PROBLEM(FORM_RULES_LIST_MAX, 0,
                    "list_max %zu is below list_min %zu", f->list_max,
                    f->list_min);
    }
#undef PROBLEM
    return ok;
}

/* XML Schema's whiteSpace facet: every datatype but xs:string collapses,
 * so white space at either end is not part of the value checked (the
 * value stored is left as it is).  A copy without it, or NULL when value
 * has none (or out of memory: then value is checked as it is). */
static char *collapsed(enum validate_datatype dt, const char *value)
{
    size_t len = strlen(value), start = 0;

    if (dt == VALIDATE_STRING)
        return NULL;
    while (start < len && strchr(" \t\r\n", value[start]))
        start++;
    while (len > start && strchr(" \t\r\n", value[len - 1]))
        len--;
    if (start == 0 && len == strlen(value))
        return NULL;
    return strndup(value + start, len - start);
}

static bool value_ok(const struct form_field_def *f, enum validate_datatype dt,
                     const char *value, char *why, size_t size);

bool form_rules_value(const struct form_field_def *f, const char *value,
                      char *why, size_t size)
{
    enum validate_datatype dt = datatype_of(f);
    char *trimmed = collapsed(dt, value);
    bool ok = value_ok(f, dt, trimmed ? trimmed : value, why, size);

    free(trimmed);
    return ok;
}

static bool value_ok(const struct form_field_def *f, enum validate_datatype dt,
                     const char *value, char *why, size_t size)
{
    const char *noun = validate_datatype_noun(dt);
    char excerpt[TEXT_EXCERPT_SIZE(TEXT_EXCERPT_CHARS)];
    int cmp;

    if (!validate_value(dt, value)) {
        text_format(why, size, "must be %s", noun);
        return false;
    }
    if ((f->range_min &&
         (!validate_compare(dt, value, f->range_min, &cmp) || cmp < 0)) ||
        (f->range_max &&
         (!validate_compare(dt, value, f->range_max, &cmp) || cmp > 0))) {
        if (f->range_min && f->range_max)
            text_format(why, size, "must be %s from %s to %s", noun,
                        f->range_min, f->range_max);
        else if (f->range_min)
            text_format(why, size, "must be %s of at least %s", noun,
                        f->range_min);
        else
            text_format(why, size, "must be %s of at most %s", noun,
                        f->range_max);
        return false;
    }
    if (f->pattern) {
        switch (pattern_match(f->pattern, value)) {
        case PATTERN_MATCH:
            break;
        case PATTERN_NO_MATCH:
            text_format(why, size, "must match the pattern %s",
                        text_excerpt(excerpt, sizeof(excerpt), f->regex,
                                     TEXT_EXCERPT_CHARS));
            return false;
        case PATTERN_LIMIT:
            text_format(why, size,
                        "could not be checked against its pattern (the "
                        "match limit was reached): try a shorter value");
            return false;
        case PATTERN_ERROR:
            text_format(why, size,
                        "could not be checked against its pattern (not "
                        "UTF-8?)");
            return false;
        }
    }
    return true;
}

bool form_rules_count(const struct form_field_def *f, size_t n, char *why,
                      size_t size)
{
    if ((f->list_min && n < f->list_min) || (f->list_max && n > f->list_max)) {
        if (f->list_min && f->list_max)
            text_format(why, size, "must have from %zu to %zu values",
                        f->list_min, f->list_max);
        else if (f->list_min)
            text_format(why, size, "must have at least %zu value%s",
                        f->list_min, f->list_min == 1 ? "" : "s");
        else
            text_format(why, size, "must have at most %zu value%s", f->list_max,
                        f->list_max == 1 ? "" : "s");
        return false;
    }
    return true;
}
