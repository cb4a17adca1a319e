/*
 * adhoc.c - XEP-0050 ad-hoc commands: the service's set-up, the command
 * list in disco, and the dispatch of each command request: who may run
 * what, the access policy and the rate limits of a new session, the
 * XEP-0050 actions and session ids; then the stage of the command
 * (adhoc_register.c, adhoc_admin.c) in its session (adhoc_session.c).
 * The top of the module: none of those calls back.  Session floods,
 * prepared JIDs and the size of a list: see adhoc.h.
 */
#include "adhoc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adhoc_admin.h"
#include "adhoc_invite.h"
#include "adhoc_register.h"
#include "adhoc_session.h"
#include "form.h"
#include "jid.h"
#include "limiter.h"
#include "policy.h"
#include "xml.h"

#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"

/* ---- the commands ------------------------------------------------------ */

/* The i-th command, in the order disco lists them; NULL past the last. */
static const struct cmd *cmd_at(size_t i)
{
    if (i == 0)
        return &adhoc_register_cmd;
    if (i - 1 < adhoc_admin_ncmds)
        return &adhoc_admin_cmds[i - 1];
    i -= 1 + adhoc_admin_ncmds;
    return i < adhoc_invite_ncmds ? &adhoc_invite_cmds[i] : NULL;
}

static const struct cmd *cmd_find(const char *node)
{
    const struct cmd *cmd;

    for (size_t i = 0; node && (cmd = cmd_at(i)); i++)
        if (strcmp(cmd->node, node) == 0)
            return cmd;
    return NULL;
}

/* ---- the service --------------------------------------------------------- */

/* The rate limits of executes: limits' per-JID and per-domain buckets,
 * no service bucket (adhoc.h).  NULL when out of memory. */
static struct limiter *execute_limiter(const struct conf *conf)
{
    struct conf_limits l = conf->limits;

    l.global_burst = 0;
    l.global_per_minute = 0;
    return limiter_new(&l, &conf->registration.local_domains);
}

struct adhoc *adhoc_new(const struct conf *conf, struct reg *reg,
                        struct store *store, const struct adhoc_env *env)
{
    struct adhoc *a = calloc(1, sizeof(*a));

    if (!a)
        return NULL;
    a->conf = conf;
    a->reg = reg;
    a->store = store;
    a->now = env->now;
    if (!(a->limiter = execute_limiter(conf))) {
        free(a);
        return NULL;
    }
    return a;
}

void adhoc_set(struct adhoc *a, const struct conf *conf, struct reg *reg)
{
    struct limiter *lim = execute_limiter(conf);

    a->conf = conf;
    a->reg = reg;
    if (lim) { /* the new rates, buckets full; out of memory: the old */
        limiter_free(a->limiter);
        a->limiter = lim;
    }
}

void adhoc_free(struct adhoc *a)
{
    if (!a)
        return;
    adhoc_sessions_free(a);
    limiter_free(a->limiter);
    free(a);
}

unsigned adhoc_sessions(const struct adhoc *a)
{
    return a->nsessions;
}

unsigned long adhoc_sessions_evicted(const struct adhoc *a)
{
    return a->tallies[TALLY_EVICTED].total;
}

bool adhoc_is_admin(const struct conf *conf, const char *bare)
{
    const struct conf_list *l = &conf->registration.admins;
    char *mine = NULL, *theirs;
    bool found = false;

    if (!bare)
        return false;
    if (jid_normal_bare(bare, &mine) != JID_OK)
        mine = NULL;
    for (size_t i = 0; !found && i < l->n; i++) {
        if (strcasecmp(l->items[i], bare) == 0) {
            found = true;
        } else if (mine && jid_normal_bare(l->items[i], &theirs) == JID_OK) {
            found = strcmp(theirs, mine) == 0;
            free(theirs);
        }
    }
    free(mine);
    return found;
}

/* ---- dispatch ------------------------------------------------------------ */

static const char *const actions[] = {"execute", "cancel", "prev", "next",
                                      "complete"};

static bool action_known(const char *action)
{
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
        if (!strcmp(actions[i], action))
            return true;
    return false;
}

/* The bare JID of from, prepared as the servers prepare it (jid.h; what a
 * server sends is unchanged), or as sent when stringprep refuses it;
 * NULL without one.  Caller frees. */
static char *bare_of(xmpp_ctx_t *ctx, const char *from)
{
    char *b, *copy;

    if (from && jid_normal_bare(from, &copy) == JID_OK)
        return copy;
    if (!from || !(b = xmpp_jid_bare(ctx, from)))
        return NULL;
    copy = strdup(b);
    xmpp_free(ctx, b);
    return copy;
}

/* A new session's first request (action execute). */
static void start(struct run *run, xmpp_stanza_t *x)
{
    switch (run->cmd->kind) {
    case KIND_REGISTER:
        adhoc_register_stage(run, x);
        break;
    case KIND_COUNT:
        adhoc_admin_count(run);
        break;
    case KIND_LIST:
    case KIND_ACCOUNTS:
        /* a first request that carries the submitted form completes */
        if (x)
            adhoc_admin_submit(run, x);
        else
            adhoc_admin_ask_form(run);
        break;
    case KIND_INVITE:
        if (x)
            adhoc_invite_submit(run, x);
        else
            adhoc_invite_start(run);
        break;
    }
}

/* A request naming an open session (action execute or complete). */
static void submit(struct run *run, xmpp_stanza_t *x)
{
    if (!x) {
        adhoc_fail_cmd(run, IQ_BAD_REQUEST, NULL, "bad-payload",
                       "Submit the command's form.");
        adhoc_run_release(run, false);
        adhoc_run_done(run);
    } else if (run->cmd->kind == KIND_REGISTER) {
        adhoc_register_stage(run, x);
    } else if (run->cmd->kind == KIND_INVITE) {
        adhoc_invite_submit(run, x);
    } else {
        adhoc_admin_submit(run, x);
    }
}

void adhoc_command(struct adhoc *a, struct iq_req *req)
{
    xmpp_stanza_t *command = iq_req_payload(req);
    const char *node = xmpp_stanza_get_attribute(command, "node");
    const char *action = xmpp_stanza_get_attribute(command, "action");
    const char *sid = xmpp_stanza_get_attribute(command, "sessionid");
    const char *from = iq_req_from(req);
    xmpp_stanza_t *x = adhoc_child_ns(command, "x", FORM_NS);
    struct run *run = calloc(1, sizeof(*run));
    const char *why = NULL;
    struct session *s;
    double retry;
    bool admin;

    iq_req_count_as(req, reg_stats(a->reg), STATS_COMMAND);
    adhoc_sessions_sweep(a);
    adhoc_tally_flush(a);
    if (!run) {
        iq_req_error(req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        adhoc_req_end(req);
        return;
    }
    run->adhoc = a;
    run->req = req;
    run->cmd = cmd_find(node);
    if (run->cmd && run->cmd->invite &&
        a->conf->invites.mode == CONF_INVITES_OFF)
        run->cmd = NULL; /* no invitations: no such command */
    run->bare = bare_of(iq_req_ctx(req), from);
    run->service = strdup(a->conf->component.jid);
    admin = run->bare && adhoc_is_admin(a->conf, run->bare);
    if (!action)
        action = "execute";
    if (!run->service) {
        iq_req_error(req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
    } else if (strcmp(iq_req_type(req), "set") != 0) {
        iq_req_error(req, IQ_BAD_REQUEST, "A command is an iq of type set.",
                     NULL);
    } else if (!run->bare) {
        iq_req_error(req, IQ_BAD_REQUEST, "The request has no sender.", NULL);
    } else if (!run->cmd) {
        iq_req_error(req, IQ_ITEM_NOT_FOUND, "No such command.", NULL);
    } else if (run->cmd->admin && !admin) {
        /* XEP-0050 section 4.6: forbidden, type cancel */
        iq_req_error_as(req, IQ_FORBIDDEN, "cancel",
                        "This command is for the service's administrators.",
                        NULL);
    } else if (!action_known(action)) {
        adhoc_fail_cmd(run, IQ_BAD_REQUEST, NULL, "malformed-action", NULL);
    } else if (!sid) {
        /* a new session */
        if (strcmp(action, "execute") != 0) {
            adhoc_fail_cmd(run, IQ_BAD_REQUEST, NULL, "bad-action",
                           "A command starts with action 'execute'.");
        } else if (run->cmd->kind == KIND_REGISTER &&
                   policy_check(&a->conf->registration, run->bare, &why) !=
                       POLICY_ALLOW) {
            /* as reg would answer, before taking a session */
            iq_req_error(req, IQ_FORBIDDEN, why, NULL);
        } else if (!admin && !limiter_take(a->limiter, run->bare, a->now(),
                                           &why, &retry)) {
            /* as reg answers a registration set over a limit */
            char text[160];

            adhoc_tally(a, TALLY_RATE, run->bare);
            snprintf(text, sizeof(text),
                     "Too many command requests (%s limit); try again in "
                     "%.0f seconds.",
                     why, retry < 1 ? 1 : retry + 0.5);
            iq_req_error(req, IQ_POLICY_VIOLATION, text, NULL);
        } else if (!(s = adhoc_session_new(a, run->cmd, from, run->bare, admin,
                                           &why))) {
            if (why)
                iq_req_error(req, IQ_RESOURCE_CONSTRAINT, why, NULL);
            else
                iq_req_error(req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        } else {
            adhoc_run_attach(run, s);
            start(run, x); /* takes run */
            return;
        }
    } else if (!(s = adhoc_session_find(a, sid))) {
        adhoc_fail_cmd(run, IQ_NOT_ALLOWED, "cancel", "session-expired",
                       "This command session has ended or expired.");
    } else if (strcmp(s->owner, from) != 0 || s->cmd != run->cmd) {
        adhoc_fail_cmd(run, IQ_BAD_REQUEST, NULL, "bad-sessionid",
                       "This session belongs to another requester or command.");
    } else if (!strcmp(action, "cancel")) {
        /* XEP-0050 section 3.4: cancel is always allowed.  A request in
         * flight keeps its run and gets its own answer, without the
         * session. */
        xmpp_stanza_t *c = adhoc_command_elem(run, s->id, "canceled");
        adhoc_reply_command(run, c);
        if (s->run) {
            s->run->s = NULL;
            s->run->canceled = true;
        }
        adhoc_session_end(a, s);
    } else if (s->busy) {
        adhoc_fail_cmd(run, IQ_BAD_REQUEST, NULL, "bad-sessionid",
                       "A request of this session is still in progress.");
    } else if (!strcmp(action, "prev") || !strcmp(action, "next")) {
        s->expires = a->now() + s->ttl;
        adhoc_fail_cmd(run, IQ_BAD_REQUEST, NULL, "bad-action",
                       "This stage offers only 'complete'.");
    } else {
        adhoc_run_attach(run, s);
        submit(run, x); /* takes run */
        return;
    }
    adhoc_req_end(req);
    adhoc_run_free(run);
}

/* ---- disco --------------------------------------------------------------- */

static bool may_run(struct adhoc *a, const struct cmd *cmd, const char *bare)
{
    if (cmd->invite && a->conf->invites.mode == CONF_INVITES_OFF)
        return false;
    return !cmd->admin || adhoc_is_admin(a->conf, bare);
}

static void add_identity(xmpp_stanza_t *q, const char *type, const char *name)
{
    xmpp_stanza_t *id = xml_elem(xmpp_stanza_get_context(q), "identity", NULL);

    if (!id)
        return;
    xmpp_stanza_set_attribute(id, "category", "automation");
    xmpp_stanza_set_attribute(id, "type", type);
    if (name)
        xmpp_stanza_set_attribute(id, "name", name);
    xml_add(q, id);
}

static void add_feature(xmpp_stanza_t *q, const char *var)
{
    xmpp_stanza_t *f = xml_elem(xmpp_stanza_get_context(q), "feature", NULL);

    if (!f)
        return;
    xmpp_stanza_set_attribute(f, "var", var);
    xml_add(q, f);
}

/* disco#info and #items of node: the command list (ADHOC_NS, *cmd NULL)
 * or a command (*cmd); the query element to fill (caller releases), with
 * the requester's bare JID in *bare (caller frees); NULL when node is
 * neither (*known false: not answered) or when it was answered already
 * (forbidden to this requester, XEP-0050 section 2.2; out of memory). */
static xmpp_stanza_t *disco_query(struct adhoc *a, struct iq_req *req,
                                  const char *node, const char *ns,
                                  const struct cmd **cmd, char **bare,
                                  bool *known)
{
    xmpp_stanza_t *q;

    *cmd = cmd_find(node);
    *known = *cmd || strcmp(node, ADHOC_NS) == 0;
    *bare = NULL;
    if (!*known)
        return NULL;
    *bare = bare_of(iq_req_ctx(req), iq_req_from(req));
    if (*cmd && !may_run(a, *cmd, *bare)) {
        iq_req_error_as(req, IQ_FORBIDDEN, "cancel", NULL, NULL);
        return NULL;
    }
    if (!(q = xml_elem(iq_req_ctx(req), "query", ns))) {
        iq_req_error(req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        return NULL;
    }
    xmpp_stanza_set_attribute(q, "node", node);
    return q;
}

bool adhoc_disco_info(struct adhoc *a, struct iq_req *req, const char *node)
{
    const struct cmd *cmd;
    char *bare;
    bool known;
    xmpp_stanza_t *q =
        disco_query(a, req, node, NS_DISCO_INFO, &cmd, &bare, &known);

    free(bare);
    if (!q)
        return known;
    if (cmd) {
        add_identity(q, "command-node", cmd->name);
        add_feature(q, ADHOC_NS);
        add_feature(q, FORM_NS);
    } else {
        add_identity(q, "command-list", "Commands");
    }
    iq_req_result(req, q);
    xmpp_stanza_release(q);
    return true;
}

bool adhoc_disco_items(struct adhoc *a, struct iq_req *req, const char *node)
{
    const struct cmd *cmd;
    char *bare;
    bool known;
    xmpp_stanza_t *q =
        disco_query(a, req, node, NS_DISCO_ITEMS, &cmd, &bare, &known);

    if (!q) {
        free(bare);
        return known;
    }
    /* the list: what the requester may run; a command node: no items */
    for (size_t i = 0; !cmd && cmd_at(i); i++) {
        const struct cmd *each = cmd_at(i);
        xmpp_stanza_t *item;
        if (!may_run(a, each, bare))
            continue;
        if (!(item = xml_elem(iq_req_ctx(req), "item", NULL)))
            continue;
        xmpp_stanza_set_attribute(item, "jid", a->conf->component.jid);
        xmpp_stanza_set_attribute(item, "node", each->node);
        xmpp_stanza_set_attribute(item, "name", each->name);
        xml_add(q, item);
    }
    free(bare);
    iq_req_result(req, q);
    xmpp_stanza_release(q);
    return true;
}
