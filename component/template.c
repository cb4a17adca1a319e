/*
 * template.c - the templates of the messages to users: checked once (at
 * load), expanded for each message.  No allocation: the text goes into
 * the caller's buffer, cut between characters when it is full.
 */
#include "template.h"

#include <stdio.h>
#include <string.h>

#include "text.h"

static const char *const names[] = {"service", "jid", "username", "state",
                                    "reason"};
#define NNAMES (sizeof(names) / sizeof(names[0]))

/* The placeholder that p (just after a '{') opens: its index, and *len
 * the bytes up to and with its '}'; -1 when none. */
static int placeholder(const char *p, size_t *len)
{
    for (size_t i = 0; i < NNAMES; i++) {
        size_t n = strlen(names[i]);

        if (strncmp(p, names[i], n) == 0 && p[n] == '}') {
            *len = n + 1;
            return (int)i;
        }
    }
    return -1;
}

bool template_check(const char *tmpl, char *why, size_t whylen)
{
    for (const char *p = tmpl; *p; p++) {
        char quoted[TEXT_EXCERPT_SIZE(16)];
        size_t len;

        if (*p == '{' && p[1] == '{') {
            p++;
            continue;
        }
        if (*p != '{')
            continue;
        if (placeholder(p + 1, &len) >= 0) {
            p += len;
            continue;
        }
        text_excerpt(quoted, sizeof(quoted), p, 16);
        snprintf(why, whylen,
                 "unknown placeholder at '%s' (known: {service}, {jid}, "
                 "{username}, {state}, {reason}; '{{' for a '{')",
                 quoted);
        return false;
    }
    return true;
}

/* Appends len bytes of s to out (used of size), cut between characters
 * when full; false when it did not all fit. */
static bool append(char *out, size_t size, size_t *used, const char *s,
                   size_t len)
{
    size_t room = size - 1 - *used;
    bool fits = len <= room;

    if (!fits)
        len = text_cut(s, room);
    memcpy(out + *used, s, len);
    *used += len;
    out[*used] = '\0';
    return fits;
}

bool template_expand(char *out, size_t size, const char *tmpl,
                     const struct template_values *v)
{
    const char *values[NNAMES] = {v->service, v->jid, v->username, v->state,
                                  v->reason};
    size_t used = 0;
    bool whole = true;

    out[0] = '\0';
    for (const char *p = tmpl; *p && whole;) {
        size_t len;
        int k;

        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            whole = append(out, size, &used, p, 1);
            p += 2;
        } else if (*p == '{' && (k = placeholder(p + 1, &len)) >= 0) {
            char value[TEXT_EXCERPT_SIZE(TEMPLATE_VALUE_CHARS)];

            text_excerpt(value, sizeof(value), values[k] ? values[k] : "",
                         TEMPLATE_VALUE_CHARS);
            whole = append(out, size, &used, value, strlen(value));
            p += 1 + len;
        } else {
            len = strcspn(p + 1, "{}") + 1;
            whole = append(out, size, &used, p, len);
            p += len;
        }
    }
    return whole;
}
