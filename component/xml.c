/*
 * xml.c - stanza-building helpers shared by form, iq, reg and router.
 * Building only; see xml.h.
 */
#include "xml.h"

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
