/*
 * xml.h - small helpers to build stanzas with libstrophe's stanza API.
 *
 * Building only (and wiping what a stanza carried): no parsing, no I/O,
 * no connection.  Out-of-memory leaves
 * the element out (libstrophe's own convention for these calls).
 */
#ifndef REGISTRAR_XML_H
#define REGISTRAR_XML_H

#include <strophe.h>

/* A new <name xmlns=ns/> (ns may be NULL); caller owns it. */
xmpp_stanza_t *xml_elem(xmpp_ctx_t *ctx, const char *name, const char *ns);

/* Appends <name>text</name> to parent; an empty element when text is NULL
 * or "". */
void xml_add_text(xmpp_stanza_t *parent, const char *name, const char *text);

/* Appends child (may be NULL) to parent and drops the caller's reference:
 * takes child. */
void xml_add(xmpp_stanza_t *parent, xmpp_stanza_t *child);

/* Overwrites (explicit_bzero) the text of every text node below e: a
 * stanza's own copy of any secret it carried, once nothing reads it.  The
 * buffers stay libstrophe's (freed with the stanza). */
void xml_wipe_texts(xmpp_stanza_t *e);

#endif
