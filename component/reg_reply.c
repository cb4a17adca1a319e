/*
 * reg_reply.c - the <query xmlns='jabber:iq:register'/> a reply carries:
 * the blank form, <registered/> with the values on file, redirection, the
 * changepassword and cancel forms, and the secret-free echo of a refused
 * request (XEP-0077 sections 3, 5, 6 and 8); and the elements of the
 * jabber:iq:register schema, which the dispatcher reads a legacy request
 * by.
 *
 * Pure builders: stanzas out, no request, no store, no log.  Never puts a
 * password, a text-private value or a hash in what it builds.
 */
#include "reg_reply.h"

#include <stdio.h>
#include <string.h>

#include "reg_ns.h"
#include "text.h"
#include "xml.h"

#define TEXT_FORM_ONLY "Use the enclosed form to register."
#define TEXT_LEGACY "Choose a username and password to register."
#define TEXT_PENDING                                                           \
    "You are registered; your registration is pending until the service "      \
    "activates it. Submit the form again to update it, or send <remove/> "     \
    "to cancel it."
#define TEXT_DISABLED                                                          \
    "You are registered, but your registration is disabled: it cannot be "     \
    "updated. Send <remove/> to cancel it."
#define TEXT_REGISTERED                                                        \
    "You are registered. Submit the form again to update your "                \
    "registration, or send <remove/> to cancel it."

/* The elements of the jabber:iq:register schema that carry user data
 * (XEP-0077 section 14; <key/>, <instructions/>, <registered/> and
 * <remove/> are not data). */
static const char *const legacy_fields[] = {
    "username", "nick",    "password", "name",  "first", "last",
    "email",    "address", "city",     "state", "zip",   "phone",
    "url",      "date",    "misc",     "text",
};

#define NLEGACY (sizeof(legacy_fields) / sizeof(legacy_fields[0]))

bool reg_reply_is_legacy_field(const char *var)
{
    for (size_t i = 0; i < NLEGACY; i++)
        if (strcmp(var, legacy_fields[i]) == 0)
            return true;
    return false;
}

/* <x xmlns='jabber:x:oob'><url>URL</url></x> (XEP-0066). */
static xmpp_stanza_t *oob(xmpp_ctx_t *ctx, const char *url)
{
    xmpp_stanza_t *x = xml_elem(ctx, "x", REG_NS_OOB);

    xml_add_text(x, "url", url);
    return x;
}

/* <query xmlns='jabber:iq:register'> holding form (taken). */
static xmpp_stanza_t *reg_reply_query(xmpp_ctx_t *ctx, xmpp_stanza_t *form)
{
    xmpp_stanza_t *q = xml_elem(ctx, "query", REG_NS);

    xml_add(q, form);
    return q;
}

/* A copy of a legacy element, without the xmlns the parser repeats on it
 * (it inherits the query's).  Caller owns it. */
static xmpp_stanza_t *copy_without_ns(xmpp_stanza_t *e)
{
    xmpp_stanza_t *copy = xmpp_stanza_copy(e);
    const char *ns = copy ? xmpp_stanza_get_ns(copy) : NULL;

    if (ns && strcmp(ns, REG_NS) == 0)
        xmpp_stanza_del_attribute(copy, "xmlns");
    return copy;
}

/* XEP-0077 examples 7 and 8. */
xmpp_stanza_t *reg_reply_echo(const struct reg *reg, xmpp_stanza_t *query)
{
    xmpp_stanza_t *copy =
        xml_elem(xmpp_stanza_get_context(query), "query", REG_NS);

    for (xmpp_stanza_t *c = xmpp_stanza_get_children(query); c;
         c = xmpp_stanza_get_next(c)) {
        const char *name =
            xmpp_stanza_is_tag(c) ? xmpp_stanza_get_name(c) : NULL;
        const struct form_field_def *f;

        if (!name || !reg_reply_is_legacy_field(name))
            continue;
        f = form_def_find(&reg->def, name);
        if (strcmp(name, "password") == 0 ||
            (f && f->type == FORM_TEXT_PRIVATE))
            xml_add_text(copy, name, NULL);
        else
            xml_add(copy, copy_without_ns(c));
    }
    if (!xmpp_stanza_get_children(copy)) {
        xmpp_stanza_release(copy);
        return NULL;
    }
    return copy;
}

/* A fixed text (lang.h's catalog) in tr's language, in buf. */
static const char *tx(const struct conf_lang *tr, const char *english,
                      char *buf, size_t size)
{
    return lang_translate(tr ? (const char *const *)tr->texts : NULL, english,
                          buf, size);
}

/* The instructions of the form shown (NULL: none) in tr's language: the
 * translation's; with invitations required (reg.c's form_instructions),
 * the invitation's sentence and the translation's, both translated. */
static const char *shown_instructions(const struct reg *reg,
                                      const struct form_def *shown,
                                      const struct conf_lang *tr, char *buf,
                                      size_t size)
{
    const char *own = reg->def.instructions;
    char by[512];

    if (!tr || !shown->instructions)
        return shown->instructions;
    if (reg->form_instructions &&
        shown->instructions == reg->form_instructions) {
        if (own && tr->instructions)
            own = tr->instructions;
        text_format(buf, size, "%s%s%s",
                    tx(tr, REG_TEXT_BY_INVITATION, by, sizeof(by)),
                    own ? " " : "", own ? own : "");
        return buf;
    }
    return tr->instructions ? tr->instructions : shown->instructions;
}

/* The registration form in tr's language, pre-filled with prefill when
 * given; with instructions (NULL: none: the query's own <instructions/>
 * speaks for it, so that no answer says a text twice).  NULL when out of
 * memory. */
static xmpp_stanza_t *reg_form(const struct form_def *shown, xmpp_ctx_t *ctx,
                               const struct form_data *prefill,
                               const char *instructions,
                               const struct conf_lang *tr)
{
    struct lang_form lf;
    xmpp_stanza_t *x;

    if (!lang_form_make(&lf, shown, tr))
        return NULL;
    lf.def.instructions = instructions;
    x = form_build(ctx, &lf.def, "form", prefill);
    lang_form_clear(&lf);
    return x;
}

/* shown: reg->form_def, or reg->bound_def (bound: prefill may be set). */
static xmpp_stanza_t *blank(const struct reg *reg, xmpp_ctx_t *ctx, bool bound,
                            const struct form_data *prefill,
                            const struct conf_lang *tr)
{
    char buf[1024], composed[1536];
    xmpp_stanza_t *q = xml_elem(ctx, "query", REG_NS);
    const char *url = reg->conf->registration.url;
    const struct form_def *shown = bound ? &reg->bound_def : &reg->form_def;
    const char *instructions =
        shown_instructions(reg, shown, tr, composed, sizeof(composed));

    if (reg->all_legacy) {
        /* form + iq:register fields (instructions plus fields, XEP-0077
         * section 6), for legacy clients: the configured instructions
         * are the query's, and the form does not repeat them */
        xml_add_text(q, "instructions",
                     shown->instructions
                         ? instructions
                         : tx(tr, TEXT_LEGACY, buf, sizeof(buf)));
        for (size_t i = 0; i < reg->def.nfields; i++) {
            const struct form_field_def *f = &reg->def.fields[i];
            if (f->type != FORM_FIXED && f->type != FORM_HIDDEN)
                xml_add_text(q, f->var, NULL);
        }
    } else if (reg->conf->invites.mode == CONF_INVITES_REQUIRED && !bound) {
        xml_add_text(q, "instructions",
                     tx(tr, REG_TEXT_BY_INVITATION, buf, sizeof(buf)));
    } else if (url) {
        /* form + iq:register instructions + x:oob URL */
        char text[1024];
        text_format(text, sizeof(text),
                    TEXT_FORM_ONLY " If your client does not support data "
                                   "forms, visit %s",
                    url);
        xml_add_text(q, "instructions", text);
    } else {
        /* form + iq:register instructions */
        xml_add_text(q, "instructions",
                     tx(tr, TEXT_FORM_ONLY, buf, sizeof(buf)));
    }
    /* form only: the query's instructions are the fallback for clients
     * without data forms (section 6), the configured ones the form's */
    /* with invitations, the form has their preauth field (reg.c) */
    xml_add(q, reg_form(shown, ctx, prefill,
                        reg->all_legacy ? NULL : instructions, tr));
    if (url)
        xml_add(q, oob(ctx, url));
    return q;
}

xmpp_stanza_t *reg_reply_blank(const struct reg *reg, xmpp_ctx_t *ctx,
                               const struct conf_lang *tr)
{
    return blank(reg, ctx, false, NULL, tr);
}

xmpp_stanza_t *reg_reply_blank_bound(const struct reg *reg, xmpp_ctx_t *ctx,
                                     const struct form_data *prefill,
                                     const struct conf_lang *tr)
{
    return blank(reg, ctx, true, prefill, tr);
}

xmpp_stanza_t *reg_reply_redirect(const struct reg *reg, xmpp_ctx_t *ctx,
                                  const struct conf_lang *tr)
{
    xmpp_stanza_t *q = xml_elem(ctx, "query", REG_NS);
    char text[1024], buf[1024];

    text_format(text, sizeof(text), "To register, visit %s",
                reg->conf->registration.url);
    xml_add_text(q, "instructions", tx(tr, text, buf, sizeof(buf)));
    xml_add(q, oob(ctx, reg->conf->registration.url));
    return q;
}

xmpp_stanza_t *reg_reply_registered(const struct reg *reg, xmpp_ctx_t *ctx,
                                    const struct store_record *rec,
                                    const struct conf_lang *tr)
{
    xmpp_stanza_t *q = xml_elem(ctx, "query", REG_NS);
    char text[1536], buf[1024];

    xml_add(q, xml_elem(ctx, "registered", NULL));
    if (rec->state == STORE_STATE_DISABLED && rec->disabled_reason &&
        *rec->disabled_reason)
        text_format(text, sizeof(text), "%s Reason: %s",
                    tx(tr, TEXT_DISABLED, buf, sizeof(buf)),
                    rec->disabled_reason);
    else
        text_format(text, sizeof(text), "%s",
                    tx(tr,
                       rec->state == STORE_STATE_PENDING    ? TEXT_PENDING
                       : rec->state == STORE_STATE_DISABLED ? TEXT_DISABLED
                                                            : TEXT_REGISTERED,
                       buf, sizeof(buf)));
    xml_add_text(q, "instructions", text);
    /* legacy elements as in the blank query: only when every field has
     * one (XEP-0077 section 6) */
    for (size_t i = 0; reg->all_legacy && i < reg->def.nfields; i++) {
        const struct form_field_def *f = &reg->def.fields[i];
        if (!reg_reply_is_legacy_field(f->var) || form_type_is_multi(f->type))
            continue;
        if (f->type == FORM_TEXT_PRIVATE)
            xml_add_text(q, f->var, NULL);
        else
            xml_add_text(q, f->var, form_data_first(&rec->fields, f->var));
    }
    /* one <instructions/>: the query's, which section 3.1 asks for and
     * which says the requester is registered; the form's sign-up text
     * would be a second, stale one */
    xml_add(q, reg_form(&reg->def, ctx, &rec->fields, NULL, tr));
    return q;
}

/* The changepassword or cancel form in tr's language: its fields' labels
 * the registration's translated ones, its title and instructions from
 * the catalog. */
static xmpp_stanza_t *account_form(const struct form_def *def, xmpp_ctx_t *ctx,
                                   const struct conf_lang *tr)
{
    struct lang_form lf;
    char title[256], instructions[1024];
    xmpp_stanza_t *x;

    if (!lang_form_make(&lf, def, tr))
        return reg_reply_query(ctx, NULL);
    lf.def.title = def->title ? tx(tr, def->title, title, sizeof(title)) : NULL;
    lf.def.instructions =
        def->instructions
            ? tx(tr, def->instructions, instructions, sizeof(instructions))
            : NULL;
    x = form_build(ctx, &lf.def, "form", NULL);
    lang_form_clear(&lf);
    return reg_reply_query(ctx, x);
}

xmpp_stanza_t *reg_reply_password_form(const struct reg *reg, xmpp_ctx_t *ctx,
                                       const struct conf_lang *tr)
{
    return account_form(&reg->pw_def, ctx, tr);
}

xmpp_stanza_t *reg_reply_cancel_form(const struct reg *reg, xmpp_ctx_t *ctx,
                                     const struct conf_lang *tr)
{
    return account_form(&reg->cancel_def, ctx, tr);
}
