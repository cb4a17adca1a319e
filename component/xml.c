/*
 * xml.c - stanza-building helpers shared by form, iq, reg and router.
 * Building, wiping secrets, and the well-formedness check of what leaves
 * (component.c's send point); see xml.h.
 */
#include "xml.h"

#include <stdlib.h>
#include <string.h>

#include "text.h"

xmpp_stanza_t *xml_elem(xmpp_ctx_t *ctx, const char *name, const char *ns)
{
    xmpp_stanza_t *e = xmpp_stanza_new(ctx);

    if (!e)
        return NULL;
    if (xmpp_stanza_set_name(e, name) != XMPP_EOK ||
        (ns && xmpp_stanza_set_ns(e, ns) != XMPP_EOK)) {
        xmpp_stanza_release(e);
        return NULL;
    }
    return e;
}

void xml_add(xmpp_stanza_t *parent, xmpp_stanza_t *child)
{
    if (child) {
        xmpp_stanza_add_child(parent, child);
        xmpp_stanza_release(child);
    }
}

void xml_add_text(xmpp_stanza_t *parent, const char *name, const char *text)
{
    xmpp_ctx_t *ctx = xmpp_stanza_get_context(parent);
    xmpp_stanza_t *e = xml_elem(ctx, name, NULL);

    if (!e)
        return;
    if (text && *text) {
        xmpp_stanza_t *t = xmpp_stanza_new(ctx);
        if (t && xmpp_stanza_set_text(t, text) == XMPP_EOK)
            xmpp_stanza_add_child(e, t);
        if (t)
            xmpp_stanza_release(t);
    }
    xml_add(parent, e);
}

void xml_wipe_texts(xmpp_stanza_t *e)
{
    for (xmpp_stanza_t *c = e ? xmpp_stanza_get_children(e) : NULL; c;
         c = xmpp_stanza_get_next(c)) {
        if (xmpp_stanza_is_text(c)) {
            char *t = (char *)xmpp_stanza_get_text_ptr(c);
            if (t)
                explicit_bzero(t, strlen(t));
        } else {
            xml_wipe_texts(c);
        }
    }
}

/* The attributes of e: names and values. */
static const char *check_attributes(xmpp_stanza_t *e)
{
    const char *small[32], **attrs = small;
    int count = xmpp_stanza_get_attribute_count(e), n;
    const char *why = NULL;

    if (count <= 0)
        return NULL;
    if ((size_t)count * 2 > sizeof(small) / sizeof(small[0]) &&
        !(attrs = calloc((size_t)count * 2, sizeof(*attrs))))
        return "an element (no memory to check its attributes)";
    n = xmpp_stanza_get_attributes(e, attrs, count * 2);
    for (int i = 0; i + 1 < n && !why; i += 2) {
        if (!attrs[i] || !text_xml_name_ok(attrs[i]))
            why = "an attribute name";
        else if (!attrs[i + 1] || !text_xml_chars_ok(attrs[i + 1]))
            why = "an attribute value";
    }
    if (attrs != small)
        free(attrs);
    return why;
}

const char *xml_check(xmpp_stanza_t *e)
{
    const char *why;

    if (xmpp_stanza_is_text(e)) {
        const char *t = xmpp_stanza_get_text_ptr(e);
        return t && text_xml_chars_ok(t) ? NULL : "a text";
    }
    if (!xmpp_stanza_is_tag(e))
        return "a node that is neither an element nor a text";
    if (!xmpp_stanza_get_name(e) || !text_xml_name_ok(xmpp_stanza_get_name(e)))
        return "an element name";
    if ((why = check_attributes(e)))
        return why;
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(e); c;
         c = xmpp_stanza_get_next(c))
        if ((why = xml_check(c)))
            return why;
    return NULL;
}

size_t xml_escaped_len(const char *s)
{
    size_t n = 0;

    for (; s && *s; s++)
        n += *s == '&'                 ? 5
             : *s == '<' || *s == '>'  ? 4
             : *s == '"' || *s == '\'' ? 6
                                       : 1;
    return n;
}
