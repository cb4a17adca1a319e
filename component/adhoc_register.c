/*
 * adhoc_register.c - jabber:iq:register as an ad-hoc command, for
 * everyone: reg's own flow.  Each stage is handed to reg_handle() as a
 * jabber:iq:register get or set (the submitted form inside) relayed to
 * the command's request (iq_req_relay), and reg's one answer, typed,
 * becomes the command's: a form to fill, 'completed', or the same error;
 * so validation, errors and the stored row are XEP-0077's.  What reg sends
 * besides (the notices of a new registration) goes out on the wire.
 */
#include "adhoc_register.h"

#include <string.h>

#include "form.h"
#include "reg.h"
#include "xml.h"

#define NS_OOB "jabber:x:oob"

const struct cmd adhoc_register_cmd = {
    .node = REG_NS, .name = "Register", .kind = KIND_REGISTER};

/* reg's answer to the get: the form to fill (a registered requester's
 * pre-filled), or, with no form (a redirection), the instructions and URL
 * as the outcome.  q: reg's <query/> (borrowed), or NULL. */
static void forward_form(struct run *run, xmpp_stanza_t *q)
{
    xmpp_stanza_t *x = q ? adhoc_child_ns(q, "x", FORM_NS) : NULL;
    xmpp_stanza_t *c;
    char *instructions;

    xmpp_stanza_t *oob = q ? adhoc_child_ns(q, "x", NS_OOB) : NULL;
    xmpp_stanza_t *instr = q ? adhoc_child_ns(q, "instructions", NULL) : NULL;

    if (x) {
        c = adhoc_command_elem(run, run->sid, "executing");
        if (c) {
            adhoc_add_actions_complete(c);
            xml_add(c, xmpp_stanza_copy(x));
            if (oob) /* a web sign-up page beside the form */
                xml_add(c, xmpp_stanza_copy(oob));
            if (adhoc_child_ns(q, "registered", NULL))
                adhoc_add_note(
                    c, "info",
                    "You are registered: submitting the form updates "
                    "your registration.");
        }
        adhoc_reply_command(run, c);
        adhoc_run_release(run, false);
        return;
    }
    c = adhoc_command_elem(run, run->sid, "completed");
    if (c) {
        instructions = instr ? xmpp_stanza_get_text(instr) : NULL;
        if (instructions) {
            adhoc_add_note(c, "info", instructions);
            xmpp_free(iq_req_ctx(run->req), instructions);
        }
        if (oob)
            xml_add(c, xmpp_stanza_copy(oob));
    }
    adhoc_reply_command(run, c);
    adhoc_run_release(run, true);
}

/* reg's result (payload borrowed: its <query/>, or NULL for a set's
 * empty result) answers the command. */
static void on_reg_result(void *arg, xmpp_stanza_t *payload)
{
    struct run *run = arg;
    const char *name = payload ? xmpp_stanza_get_name(payload) : NULL;
    const char *ns = payload ? xmpp_stanza_get_ns(payload) : NULL;
    xmpp_stanza_t *c;

    if (run->canceled && !run->submit) {
        /* the form of a session canceled meanwhile: nothing to fill */
        adhoc_reply_command(run, adhoc_command_elem(run, run->sid, "canceled"));
    } else if (!run->submit) {
        forward_form(run,
                     name && ns && !strcmp(name, "query") && !strcmp(ns, REG_NS)
                         ? payload
                         : NULL);
    } else {
        /* done, even when canceled meanwhile: the registration is made */
        c = adhoc_command_elem(run, run->sid, "completed");
        if (c)
            adhoc_add_note(c, "info", "Registered.");
        adhoc_reply_command(run, c);
        adhoc_run_release(run, true);
    }
}

/* reg's error answers the command as it is (condition, type, text), with
 * what reg put before it (a form to submit instead, the fields sent
 * back). */
static void on_reg_error(void *arg, const struct iq_relay_error *err)
{
    struct run *run = arg;

    if (err->lang) /* reg's text is in the requester's language */
        iq_req_set_lang(run->req, err->lang, NULL);
    iq_req_error_app(run->req, err->condition, err->type, err->text, err->echo,
                     err->app_ns, err->app_name);
    /* a form to correct (type modify) may be submitted again */
    adhoc_run_release(run, strcmp(err->type, "modify") != 0);
}

/* reg has ended the relayed request: nothing more comes from it (its
 * notices to notify_jids, sent before its answer, went out on the wire). */
static void on_reg_done(void *arg)
{
    adhoc_run_done(arg);
}

/* Hands a jabber:iq:register get (x NULL) or set of x (borrowed) to reg,
 * as a request relayed to this one: the command is answered from
 * on_reg_result or on_reg_error, and the run ends in on_reg_done. */
void adhoc_register_stage(struct run *run, xmpp_stanza_t *x)
{
    xmpp_ctx_t *ctx = iq_req_ctx(run->req);
    const struct iq_relay relay = {.result = on_reg_result,
                                   .error = on_reg_error,
                                   .done = on_reg_done,
                                   .arg = run};
    xmpp_stanza_t *q = xml_elem(ctx, "query", REG_NS);
    xmpp_stanza_t *copy = x ? xmpp_stanza_copy(x) : NULL;
    struct iq_req *sub = NULL;

    run->submit = x != NULL;
    if (q && (!x || copy)) {
        if (copy) {
            const char *t = xmpp_stanza_get_type(copy);
            /* XEP-0050 section 4.4.1: a form of type cancel counts as
             * submit */
            if (t && !strcmp(t, "cancel"))
                xmpp_stanza_set_type(copy, "submit");
            xmpp_stanza_add_child(q, copy);
        }
        sub = iq_req_relay(run->req, x ? "set" : "get", q, &relay);
    }
    if (copy)
        xmpp_stanza_release(copy);
    if (q)
        xmpp_stanza_release(q);
    if (!sub) {
        iq_req_error(run->req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        adhoc_run_done(run);
        return;
    }
    reg_handle(run->adhoc->reg, sub); /* takes sub */
}
