/*
 * xml.h - small helpers to build stanzas with libstrophe's stanza API.
 *
 * Building, wiping what a stanza carried, and checking that a stanza can
 * be written as well-formed XML: no parsing, no I/O, no connection.
 * Out-of-memory leaves the element out (libstrophe's own convention for
 * these calls).
 */
#ifndef REGISTRAR_XML_H
#define REGISTRAR_XML_H

#include <stddef.h>
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

/* Whether e (borrowed) and everything below it can be written as
 * well-formed XML.  libstrophe escapes & < > " in texts and attribute
 * values but writes names, and the bytes of any value, as they are: so
 * every element and attribute name must be an XML Name, and every
 * attribute value and text valid UTF-8 made of characters XML allows
 * (text.h).  NULL when e is fine; otherwise a static text naming the
 * kind of part at fault (e.g. "a text"), never its content. */
const char *xml_check(xmpp_stanza_t *e);

/* Bytes text (may be NULL: 0) takes in a serialised stanza at most, each
 * character libstrophe may escape counted as its longest entity: for
 * replies that must stay under a size (adhoc.h's ADHOC_REPLY_MAX). */
size_t xml_escaped_len(const char *text);

#endif
