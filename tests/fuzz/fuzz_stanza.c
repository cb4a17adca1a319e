/*
 * fuzz_stanza.c - libFuzzer target over the stanza -> router -> XEP-0077
 * -> form -> validation path, against the in-memory store.
 *
 * Input: one XML stanza.  The first byte picks the service (data form
 * only, or legacy account fields with every policy switched on).  Beyond
 * the sanitizers' checks, it asserts the protocol invariant: an iq get or
 * set gets exactly one reply, anything else none.
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
#include "worker.h"

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
    "    remove = \"form\"\n"
static struct conf confs[2];

static int sent;

static void count(void *arg, xmpp_stanza_t *st)
{
    (void)arg;
    (void)st;
    sent++;
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
    const struct iq_sink sink = {.send = count};
    xmpp_stanza_t *st;
    char *text;
    int which;

    if (!ctx) {
        log_set_level(LOG_LEVEL_ERROR);
        ctx = xmpp_ctx_new(NULL, NULL);
        confs[0] = fixture_conf("contests", FUZZ_CONTESTS);
        confs[1] = fixture_conf("accounts", FUZZ_ACCOUNTS);
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
    router_stanza(routers[which], st, &sink);
    {
        const char *name = xmpp_stanza_get_name(st);
        const char *type = xmpp_stanza_get_type(st);
        bool asks = name && !strcmp(name, "iq") && type &&
                    (!strcmp(type, "get") || !strcmp(type, "set"));
        bool is_iq_answer = name && !strcmp(name, "iq") && type &&
                            (!strcmp(type, "result") || !strcmp(type, "error"));
        if ((asks && sent != 1) || (!asks && is_iq_answer && sent != 0)) {
            fprintf(stderr, "invariant broken: %d replies\n", sent);
            abort();
        }
    }
    xmpp_stanza_release(st);
    return 0;
}
