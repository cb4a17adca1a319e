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
#include "log.h"
#include "router.h"

static struct form_option gender[] = {{"M", "Male"}, {"F", "Female"}};
static struct form_field_def contest_fields[] = {
    {.var = "first", .type = FORM_TEXT_SINGLE, .required = true},
    {.var = "email", .type = FORM_TEXT_SINGLE, .required = true,
     .max_length = 256},
    {.var = "x-gender", .type = FORM_LIST_SINGLE, .options = gender,
     .noptions = 2},
    {.var = "friends", .type = FORM_JID_MULTI},
    {.var = "news", .type = FORM_BOOLEAN},
    {.var = "bio", .type = FORM_TEXT_MULTI},
    {.var = "pin", .type = FORM_TEXT_PRIVATE},
};
static struct form_field_def account_fields[] = {
    {.var = "username", .type = FORM_TEXT_SINGLE, .required = true},
    {.var = "password", .type = FORM_TEXT_PRIVATE, .required = true},
    {.var = "email", .type = FORM_TEXT_SINGLE, .required = true},
};
static char *any[] = {"*"};
static char *proof[] = {"email"};
static char *blocked[] = {"*@blocked.example"};
static struct conf confs[2] = {
    {.component = {.jid = "contests.example"},
     .disco = {"component", "generic", "Contests"},
     .registration = {.title = "Contests", .fields = contest_fields,
                      .nfields = 7, .hash_cost = 4,
                      .allowed_domains = {any, 1},
                      .url = "https://contests.example/"}},
    {.component = {.jid = "accounts.example"},
     .disco = {"component", "generic", "Accounts"},
     .registration = {.fields = account_fields, .nfields = 3,
                      .hash_cost = 4, .allowed_domains = {any, 1},
                      .blocked_jids = {blocked, 1},
                      .password_change = CONF_PWCHANGE_FORM,
                      .password_change_proof = {proof, 1},
                      .remove = CONF_REMOVE_FORM}},
};

static int sent;

static void count(void *arg, xmpp_stanza_t *st)
{
    (void)arg;
    (void)st;
    sent++;
}

static bool now_offload(void *ctx, void (*work)(void *), void (*done)(void *),
                        void *arg)
{
    (void)ctx;
    work(arg);
    done(arg);
    return true;
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
    static const struct reg_env env = {.offload = now_offload,
                                       .now = fixed_now};
    const struct iq_sink sink = {.send = count};
    xmpp_stanza_t *st;
    char *text;
    int which;

    if (!ctx) {
        log_set_level(LOG_ERROR);
        ctx = xmpp_ctx_new(NULL, NULL);
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
