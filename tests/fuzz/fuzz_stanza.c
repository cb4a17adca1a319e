/*
 * fuzz_stanza.c - libFuzzer target over the stanza -> router -> XEP-0077
 * -> form -> validation path, against the in-memory store.
 *
 * Input: one XML stanza.  The first byte picks the service (data form
 * only, or legacy account fields with every policy switched on and a
 * notice of each new registration).  Beyond the sanitizers' checks, it
 * asserts the protocol invariants: an iq get or set gets exactly one
 * reply, anything else none, nor a stanza for another domain (which
 * router_misaddressed counts); and every stanza sent, as the router made
 * it (before component.c's send-point check, which would hide a bug), is
 * well-formed XML in valid UTF-8: its text (xmpp_stanza_to_text) holds
 * only characters XML allows and parses again, and xml_check() passes.
 * Issue 16: an error text or a notice cut inside a UTF-8 character made
 * the server close the component's stream.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strophe.h>

#include "fake_store.h"
#include "fixture.h"
#include "log.h"
#include "router.h"
#include "text.h"
#include "worker.h"
#include "xml.h"

/* tests/fixtures/contests.conf and accounts.conf (JIDs contests.example,
 * accounts.example), with more field types and every policy switched on
 * here; loaded on the first run */
#define FUZZ_CONTESTS                                                          \
    "    url = \"https://contests.example/\"\n"                                \
    "    field \"friends\" { type = \"jid-multi\" }\n"                         \
    "    field \"news\" { type = \"boolean\" }\n"                              \
    "    field \"bio\" { type = \"text-multi\" }\n"                            \
    "    field \"pin\" { type = \"text-private\" }\n"
#define FUZZ_ACCOUNTS                                                          \
    "    blocked_jids = {\"*@blocked.example\"}\n"                             \
    "    password_change = \"form\"\n"                                         \
    "    password_change_proof = {\"email\"}\n"                                \
    "    remove = \"form\"\n"                                                  \
    "    notify_jids = {\"ops@example.org\"}\n"
static struct conf confs[2];

static int sent; /* iq replies (a new registration's notice is a message) */

/* The sink: counts the replies, and aborts on any stanza that is not
 * well-formed. */
static void check_and_count(void *arg, xmpp_stanza_t *st)
{
    xmpp_ctx_t *ctx = xmpp_stanza_get_context(st);
    const char *name = xmpp_stanza_get_name(st);
    const char *why = xml_check(st);
    char *text = NULL;
    size_t len = 0;
    xmpp_stanza_t *again = NULL;

    (void)arg;
    if (name && !strcmp(name, "iq"))
        sent++;
    if (xmpp_stanza_to_text(st, &text, &len) != XMPP_EOK || !text) {
        fprintf(stderr, "a stanza sent cannot be written as text\n");
        abort();
    }
    if (strlen(text) != len || !text_xml_chars_ok(text) ||
        !(again = xmpp_stanza_new_from_string(ctx, text)) || why) {
        fprintf(stderr,
                "a stanza sent is not well-formed XML in UTF-8 (%s; "
                "%zu bytes, %s):\n%s\n",
                why ? why : "its text", len,
                again ? "parses again" : "does not parse again", text);
        abort();
    }
    xmpp_stanza_release(again);
    xmpp_free(ctx, text);
}

static double fixed_now(void)
{
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static xmpp_ctx_t *ctx;
    static struct reg *regs[2];
    static struct router *routers[2];
    static unsigned runs;
    static struct reg_env env = {.now = fixed_now};
    const struct iq_sink sink = {.send = check_and_count};
    xmpp_stanza_t *st;
    char *text;
    int which;
    unsigned long misaddressed;

    if (!ctx) {
        log_set_level(LOG_LEVEL_ERROR);
        ctx = xmpp_ctx_new(NULL, NULL);
        confs[0] = fixture_conf("contests", FUZZ_CONTESTS);
        confs[1] = fixture_conf("accounts", FUZZ_ACCOUNTS);
        /* the invitations' paths too: the form's preauth field, <preauth/> */
        confs[1].invites.mode = CONF_INVITES_OPTIONAL;
        env.hasher = worker_new(0, 0); /* inline: bcrypt runs at once */
        for (int i = 0; i < 2; i++) {
            regs[i] = reg_new(&confs[i], fake_store(), &env);
            routers[i] = router_new(&confs[i], regs[i]);
        }
    }
    if (size < 1)
        return 0;
    which = data[0] & 1;
    text = strndup((const char *)data + 1, size - 1);
    if (!text)
        return 0;
    if (++runs % 64 == 0)
        fake_store_reset();
    st = xmpp_stanza_new_from_string(ctx, text);
    free(text);
    if (!st)
        return 0;
    sent = 0;
    misaddressed = router_misaddressed(routers[which]);
    router_stanza(routers[which], st, &sink);
    {
        const char *name = xmpp_stanza_get_name(st);
        const char *type = xmpp_stanza_get_type(st);
        bool asks = name && !strcmp(name, "iq") && type &&
                    (!strcmp(type, "get") || !strcmp(type, "set"));
        bool is_iq_answer = name && !strcmp(name, "iq") && type &&
                            (!strcmp(type, "result") || !strcmp(type, "error"));
        /* to another domain: dropped, never answered (router.h) */
        bool elsewhere = router_misaddressed(routers[which]) != misaddressed;
        if ((asks && !elsewhere && sent != 1) ||
            ((elsewhere || is_iq_answer) && sent != 0)) {
            fprintf(stderr, "invariant broken: %d replies%s\n", sent,
                    elsewhere ? " to a stanza for another domain" : "");
            abort();
        }
    }
    xmpp_stanza_release(st);
    return 0;
}
