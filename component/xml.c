/*
 * xml.c - stanza-building helpers shared by form, iq, reg and router.
 * Building, and wiping secrets; see xml.h.
 */
#include "xml.h"

#include <string.h>

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
