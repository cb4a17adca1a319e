/*
 * template.h - the texts of the messages to users (messages { } of
 * registrar.conf(5)): a template names values as {service}, {jid},
 * {username}, {state} and {reason}; "{{" is a literal '{' and "}}" a
 * literal '}'.  Plain C: no XMPP, no configuration file; conf.c checks
 * the templates as it loads them, messages.c expands them.
 *
 * Only these five values exist: a template cannot name a field of the
 * registration, let alone a private one.
 */
#ifndef REGISTRAR_TEMPLATE_H
#define REGISTRAR_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

/* The most bytes an expanded message has (its body); longer ones are cut
 * between two characters. */
#define TEMPLATE_BODY_MAX 4096
/* The most characters of one value a message quotes (a reason has at most
 * 1024). */
#define TEMPLATE_VALUE_CHARS 1024

/* What the placeholders stand for; each borrowed, NULL: "" (a
 * registration without a username, a change without a reason). */
struct template_values {
    const char *service;  /* the service's JID */
    const char *jid;      /* the user's bare JID */
    const char *username; /* the registration's username */
    const char *state;    /* "active", "pending" or "disabled" */
    const char *reason;   /* a disable's reason */
};

/* True when tmpl (not NULL) is a template: every '{' opens "{{" or one of
 * the five placeholders.  Otherwise false with why (whylen bytes) saying
 * what is wrong, quoting at most a few characters of it. */
bool template_check(const char *tmpl, char *why, size_t whylen);

/* tmpl (checked by template_check; anything else is copied as it is)
 * with the values in place, into out (size > 0 bytes, NUL-terminated),
 * cut between two characters when longer.  Each value is quoted as
 * text_excerpt() quotes untrusted text (at most TEMPLATE_VALUE_CHARS
 * characters; a character XML refuses becomes '?').  True when the whole
 * text fitted. */
bool template_expand(char *out, size_t size, const char *tmpl,
                     const struct template_values *v);

#endif
