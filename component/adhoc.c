/*
 * adhoc.c - XEP-0050 ad-hoc commands: sessions, the command list in
 * disco, the XEP-0133 admin commands on the registrations of the service,
 * and jabber:iq:register as a command.
 *
 * The registration command is reg's own flow: each stage becomes a
 * synthetic jabber:iq:register get or set (the submitted form inside)
 * handed to reg_handle() with a sink of ours, which turns reg's one
 * reply into the command's (a form to fill, 'completed', or the same
 * error), so validation, errors and the stored row are XEP-0077's.
 * Admin commands ask the store, one JID at a time, each change carrying
 * its origin.  Never logs a submitted value other than the JIDs an admin
 * acts on.
 */
#include "adhoc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "form.h"
#include "log.h"
#include "policy.h"
#include "xml.h"

#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"
#define NS_OOB "jabber:x:oob"

/* ---- the commands ------------------------------------------------------ */

enum kind {
    KIND_REGISTER, /* jabber:iq:register through reg */
    KIND_COUNT,    /* one stage: a number */
    KIND_LIST,     /* max_items, then the JIDs */
    KIND_ACCOUNTS, /* accountjids, then a change to each */
};

enum act { ACT_NONE, ACT_DISABLE, ACT_REENABLE, ACT_DELETE, ACT_ACTIVATE };

struct cmd {
    const char *node, *name;
    enum kind kind;
    bool admin;
    bool by_state; /* count/list: only registrations in state */
    enum store_state state;
    const char *var, *label;          /* count/list: the result field */
    const char *title, *instructions; /* the form of the first stage */
    const char *jids_label;           /* accounts: the accountjids label */
    enum act act;
    const char *done; /* accounts: what was done, for the note */
};

#define ADMIN(x) ADHOC_NS_ADMIN "#" x

static const struct cmd cmds[] = {
    {.node = REG_NS, .name = "Register", .kind = KIND_REGISTER},
    {.node = ADMIN("get-registered-users-num"),
     .name = "Get Number of Registered Users",
     .kind = KIND_COUNT,
     .admin = true,
     .var = "registeredusersnum",
     .label = "The number of registered users"},
    {.node = ADMIN("get-disabled-users-num"),
     .name = "Get Number of Disabled Users",
     .kind = KIND_COUNT,
     .admin = true,
     .by_state = true,
     .state = STORE_STATE_DISABLED,
     .var = "disabledusersnum",
     .label = "The number of disabled users"},
    {.node = ADMIN("get-registered-users-list"),
     .name = "Get List of Registered Users",
     .kind = KIND_LIST,
     .admin = true,
     .var = "registereduserjids",
     .label = "The list of all users",
     .title = "Requesting List of Registered Users",
     .instructions = "Fill out this form to request the registered users "
                     "of this service."},
    {.node = ADMIN("get-disabled-users-list"),
     .name = "Get List of Disabled Users",
     .kind = KIND_LIST,
     .admin = true,
     .by_state = true,
     .state = STORE_STATE_DISABLED,
     .var = "disableduserjids",
     .label = "The list of all disabled users",
     .title = "Requesting List of Disabled Users",
     .instructions = "Fill out this form to request the disabled users "
                     "of this service."},
    {.node = ADMIN("disable-user"),
     .name = "Disable a User",
     .kind = KIND_ACCOUNTS,
     .admin = true,
     .title = "Disabling a User",
     .instructions = "Fill out this form to disable a user.",
     .jids_label = "The Jabber ID(s) to disable",
     .act = ACT_DISABLE,
     .done = "Disabled"},
    {.node = ADMIN("reenable-user"),
     .name = "Re-Enable a User",
     .kind = KIND_ACCOUNTS,
     .admin = true,
     .title = "Re-Enable a User",
     .instructions = "Fill out this form to re-enable a user.",
     .jids_label = "The Jabber ID(s) to re-enable",
     .act = ACT_REENABLE,
     .done = "Re-enabled"},
    {.node = ADMIN("delete-user"),
     .name = "Delete a User",
     .kind = KIND_ACCOUNTS,
     .admin = true,
     .title = "Deleting a User",
     .instructions = "Fill out this form to delete a user.",
     .jids_label = "The Jabber ID(s) to delete",
     .act = ACT_DELETE,
     .done = "Deleted"},
    {.node = ADHOC_NODE_ACTIVATE,
     .name = "Activate a Pending Registration",
     .kind = KIND_ACCOUNTS,
     .admin = true,
     .title = "Activating a User",
     .instructions = "Fill out this form to activate pending registrations.",
     .jids_label = "The Jabber ID(s) to activate",
     .act = ACT_ACTIVATE,
     .done = "Activated"},
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static const struct cmd *cmd_find(const char *node)
{
    for (size_t i = 0; node && i < NCMDS; i++)
        if (strcmp(cmds[i].node, node) == 0)
            return &cmds[i];
    return NULL;
}

/* ---- the service and its sessions -------------------------------------- */

struct run;

struct session {
    struct session *next;
    const struct cmd *cmd;
    char id[48];
    char *owner; /* the full JID that started it */
    char *bare;
    double expires;
    double ttl; /* how long it lives unused */
    bool admin; /* started by an admin: not under ADHOC_SESSIONS_MAX */
    bool busy;  /* a request of it is in flight: run */
    struct run *run;
};

struct adhoc {
    const struct conf *conf;
    struct reg *reg;
    struct store *store;
    struct adhoc_env env;
    struct session *sessions;
    unsigned nsessions; /* all of them */
    unsigned nusers;    /* those of non-admins, capped */
    unsigned long counter;
};

struct adhoc *adhoc_new(const struct conf *conf, struct reg *reg,
                        struct store *store, const struct adhoc_env *env)
{
    struct adhoc *a = calloc(1, sizeof(*a));

    if (!a)
        return NULL;
    a->conf = conf;
    a->reg = reg;
    a->store = store;
    a->env = *env;
    return a;
}

void adhoc_set(struct adhoc *a, const struct conf *conf, struct reg *reg)
{
    a->conf = conf;
    a->reg = reg;
}

static void session_free(struct session *s)
{
    free(s->owner);
    free(s->bare);
    free(s);
}

void adhoc_free(struct adhoc *a)
{
    if (!a)
        return;
    while (a->sessions) {
        struct session *next = a->sessions->next;
        session_free(a->sessions);
        a->sessions = next;
    }
    free(a);
}

unsigned adhoc_sessions(const struct adhoc *a)
{
    return a->nsessions;
}

bool adhoc_is_admin(const struct conf *conf, const char *bare)
{
    const struct conf_list *l = &conf->registration.admins;

    for (size_t i = 0; bare && i < l->n; i++)
        if (strcasecmp(l->items[i], bare) == 0)
            return true;
    return false;
}

/* Takes s out of the counts (the caller unlinks and frees it). */
static void session_uncount(struct adhoc *a, const struct session *s)
{
    a->nsessions--;
    if (!s->admin)
        a->nusers--;
}

static void session_end(struct adhoc *a, struct session *s)
{
    for (struct session **l = &a->sessions; *l; l = &(*l)->next) {
        if (*l == s) {
            *l = s->next;
            session_uncount(a, s);
            session_free(s);
            return;
        }
    }
}

/* Drops the sessions unused for their ttl (never one in flight). */
static void sweep(struct adhoc *a)
{
    double now = a->env.now();
    struct session **l = &a->sessions;

    while (*l) {
        struct session *s = *l;
        if (!s->busy && s->expires <= now) {
            *l = s->next;
            session_uncount(a, s);
            log_debug("adhoc", "session %s of %s expired", s->id, s->owner);
            session_free(s);
        } else {
            l = &s->next;
        }
    }
}

static struct session *session_find(struct adhoc *a, const char *id)
{
    for (struct session *s = a->sessions; s; s = s->next)
        if (strcmp(s->id, id) == 0)
            return s;
    return NULL;
}

/* A new session, or NULL with *why set (a cap) or NULL (out of memory).
 * An admin's sessions are not under the total cap, which anyone can fill
 * with made-up JIDs; they are bounded by the per-JID cap and the list of
 * admins. */
static struct session *session_new(struct adhoc *a, const struct cmd *cmd,
                                   const char *owner, const char *bare,
                                   bool admin, const char **why)
{
    unsigned mine = 0, rnd[2] = {0, 0};
    struct session *s;

    for (s = a->sessions; s; s = s->next)
        mine += strcmp(s->bare, bare) == 0;
    if (!admin && a->nusers >= ADHOC_SESSIONS_MAX) {
        *why = "Too many command sessions are open on this service; try "
               "again later.";
        return NULL;
    }
    if (mine >= ADHOC_SESSIONS_PER_JID) {
        *why = "You have too many command sessions open: complete or "
               "cancel one.";
        return NULL;
    }
    *why = NULL;
    if (!(s = calloc(1, sizeof(*s))) || !(s->owner = strdup(owner)) ||
        !(s->bare = strdup(bare))) {
        if (s)
            session_free(s);
        return NULL;
    }
    /* unique (the counter) and not guessable (the random part); a
     * session is bound to its owner's full JID anyway */
    if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
        rnd[0] = rnd[1] = 0;
    snprintf(s->id, sizeof(s->id), "%lx-%08x%08x", ++a->counter, rnd[0],
             rnd[1]);
    s->cmd = cmd;
    s->admin = admin;
    /* a registration takes a minute or two; an admin may take longer */
    s->ttl =
        cmd->kind == KIND_REGISTER ? ADHOC_REGISTER_TTL_S : ADHOC_SESSION_TTL_S;
    s->expires = a->env.now() + s->ttl;
    s->next = a->sessions;
    a->sessions = s;
    a->nsessions++;
    if (!admin)
        a->nusers++;
    return s;
}

/* ---- one command request in progress ----------------------------------- */

enum outcome { OUT_OK, OUT_NOT_FOUND, OUT_WRONG_STATE, OUT_FAILED };

struct run {
    struct adhoc *adhoc;
    struct iq_req *req;
    const struct cmd *cmd;
    struct session *s; /* NULL once released, or canceled under us */
    char sid[48];      /* its id, for the replies */
    bool canceled;     /* the session was canceled while this was in flight */
    bool answered;     /* register: reg's reply came (notices may follow) */
    char *bare;        /* the requester's */
    char *service;     /* the component JID, copied (a reload may free the
                        * conf while the store works) */
    bool submit;       /* register: the stage that submits */
    /* accounts: the JIDs, and what happened to each */
    char **jids;
    enum outcome *out;
    size_t n, i;
    unsigned max; /* list: at most this many */
};

static void run_free(struct run *run)
{
    for (size_t i = 0; i < run->n; i++)
        free(run->jids[i]);
    free(run->jids);
    free(run->out);
    free(run->bare);
    free(run->service);
    free(run);
}

/* The session s runs run's request from now on. */
static void run_attach(struct run *run, struct session *s)
{
    s->busy = true;
    s->run = run;
    run->s = s;
    snprintf(run->sid, sizeof(run->sid), "%s", s->id);
}

/* Ends the session (when the command is over) or lets it be used again. */
static void run_release(struct run *run, bool end)
{
    struct session *s = run->s;

    if (!s)
        return;
    s->run = NULL;
    if (end) {
        session_end(run->adhoc, s);
    } else {
        s->busy = false;
        s->expires = run->adhoc->env.now() + s->ttl;
    }
    run->s = NULL;
}

/* Ends a command request: wipes what its payload carried (a password
 * submitted to the registration command; nothing reads it once answered)
 * and ends it. */
static void req_end(struct iq_req *req)
{
    xml_wipe_texts(iq_req_payload(req));
    iq_req_done(req);
}

/* Ends the request and run (the session must have been released). */
static void run_done(struct run *run)
{
    run_release(run, true);
    req_end(run->req);
    run_free(run);
}

/* ---- replies ----------------------------------------------------------- */

/* <command xmlns node sessionid status/>; caller owns it. */
static xmpp_stanza_t *command_elem(struct run *run, const char *sessionid,
                                   const char *status)
{
    xmpp_stanza_t *c = xml_elem(iq_req_ctx(run->req), "command", ADHOC_NS);

    if (!c)
        return NULL;
    xmpp_stanza_set_attribute(c, "node", run->cmd->node);
    if (sessionid)
        xmpp_stanza_set_attribute(c, "sessionid", sessionid);
    xmpp_stanza_set_attribute(c, "status", status);
    return c;
}

static void add_note(xmpp_stanza_t *c, const char *type, const char *text)
{
    xmpp_ctx_t *ctx = xmpp_stanza_get_context(c);
    xmpp_stanza_t *n = xml_elem(ctx, "note", NULL);
    xmpp_stanza_t *t = xmpp_stanza_new(ctx);

    if (n && t && xmpp_stanza_set_text(t, text) == XMPP_EOK) {
        xmpp_stanza_set_attribute(n, "type", type);
        xmpp_stanza_add_child(n, t);
        xmpp_stanza_add_child(c, n);
    }
    if (t)
        xmpp_stanza_release(t);
    if (n)
        xmpp_stanza_release(n);
}

/* <actions execute='complete'><complete/></actions>: the one next step. */
static void add_actions_complete(xmpp_stanza_t *c)
{
    xmpp_ctx_t *ctx = xmpp_stanza_get_context(c);
    xmpp_stanza_t *act = xml_elem(ctx, "actions", NULL);

    if (!act)
        return;
    xmpp_stanza_set_attribute(act, "execute", "complete");
    xml_add(act, xml_elem(ctx, "complete", NULL));
    xml_add(c, act);
}

/* Answers with c (taken) as the result. */
static void reply_command(struct run *run, xmpp_stanza_t *c)
{
    if (!c) {
        iq_req_error(run->req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        return;
    }
    iq_req_result(run->req, c);
    xmpp_stanza_release(c);
}

/* An XEP-0050 error: condition, its usual type (NULL) or the one given,
 * and the specific <cmd:NAME/> (NULL: none). */
static void fail_cmd(struct run *run, enum iq_error e, const char *type,
                     const char *specific, const char *text)
{
    iq_req_error_app(run->req, e, type, text, NULL, specific ? ADHOC_NS : NULL,
                     specific);
}

static void fail_unavailable(struct run *run)
{
    iq_req_error(run->req, IQ_INTERNAL_SERVER_ERROR,
                 "The registration database is unavailable; please try "
                 "again later.",
                 NULL);
}

/* ---- admin forms --------------------------------------------------------- */

static struct form_option max_items_options[] = {
    {(char *)"25", (char *)"25"},     {(char *)"50", (char *)"50"},
    {(char *)"75", (char *)"75"},     {(char *)"100", (char *)"100"},
    {(char *)"150", (char *)"150"},   {(char *)"200", (char *)"200"},
    {(char *)"none", (char *)"None"},
};

/* The form of a list or accounts command's first stage (its fields in
 * fields[1], which the caller provides). */
static struct form_def stage_form(const struct cmd *cmd,
                                  struct form_field_def *field)
{
    if (cmd->kind == KIND_LIST) {
        *field = (struct form_field_def){
            .var = (char *)"max_items",
            .type = FORM_LIST_SINGLE,
            .label = (char *)"Maximum number of items to show",
            .max_length = 16,
            .options = max_items_options,
            .noptions =
                sizeof(max_items_options) / sizeof(max_items_options[0]),
        };
    } else {
        *field = (struct form_field_def){
            .var = (char *)"accountjids",
            .type = FORM_JID_MULTI,
            .label = (char *)cmd->jids_label,
            .required = true,
            .max_length = 3071, /* RFC 7622: a JID's three parts */
        };
    }
    return (struct form_def){
        .form_type = ADHOC_NS_ADMIN,
        .title = cmd->title,
        .instructions = cmd->instructions,
        .fields = field,
        .nfields = 1,
    };
}

/* The first stage of a list or accounts command: the form to fill. */
static void ask_form(struct run *run)
{
    struct form_field_def field;
    struct form_def def = stage_form(run->cmd, &field);
    xmpp_stanza_t *c = command_elem(run, run->sid, "executing");

    if (c) {
        add_actions_complete(c);
        xml_add(c, form_build(iq_req_ctx(run->req), &def, "form", NULL));
    }
    reply_command(run, c);
    run_release(run, false);
    run_done(run);
}

/* A completed command carrying a result form of one field. */
static void reply_result_form(struct run *run, enum form_field_type type,
                              const struct form_data *values,
                              const char *note_type, const char *note)
{
    struct form_field_def field = {
        .var = (char *)run->cmd->var,
        .type = type,
        .label = (char *)run->cmd->label,
    };
    struct form_def def = {
        .form_type = ADHOC_NS_ADMIN, .fields = &field, .nfields = 1};
    xmpp_stanza_t *c =
        command_elem(run, run->s ? run->s->id : NULL, "completed");

    if (c) {
        xml_add(c, form_build(iq_req_ctx(run->req), &def, "result", values));
        if (note)
            add_note(c, note_type, note);
    }
    reply_command(run, c);
}

/* ---- count and list ---------------------------------------------------- */

static void on_count(void *arg, enum store_status st, unsigned long n)
{
    struct run *run = arg;
    struct form_data data = {0};
    char num[32];

    if (st != STORE_OK) {
        fail_unavailable(run);
    } else {
        snprintf(num, sizeof(num), "%lu", n);
        if (!form_data_add(&data, run->cmd->var, num))
            iq_req_error(run->req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        else
            reply_result_form(run, FORM_TEXT_SINGLE, &data, NULL, NULL);
        form_data_clear(&data);
    }
    run_done(run);
}

static void on_list(void *arg, enum store_status st, char *const *jids,
                    size_t n)
{
    struct run *run = arg;
    struct form_data data = {0};
    struct form_value *v;
    char note[160];
    bool truncated = n > run->max;

    if (st != STORE_OK) {
        fail_unavailable(run);
        run_done(run);
        return;
    }
    if (truncated)
        n = run->max;
    if (!(v = form_data_entry(&data, run->cmd->var))) {
        iq_req_error(run->req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        run_done(run);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!form_value_append(v, jids[i])) {
            form_data_clear(&data);
            iq_req_error(run->req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
            run_done(run);
            return;
        }
    }
    snprintf(note, sizeof(note), "The first %u JIDs only: there are more.",
             run->max);
    reply_result_form(run, FORM_JID_MULTI, &data, "warn",
                      truncated ? note : NULL);
    form_data_clear(&data);
    run_done(run);
}

static void run_count(struct run *run)
{
    store_count(run->adhoc->store, run->service,
                run->cmd->by_state ? &run->cmd->state : NULL, on_count, run);
}

/* ---- account changes ----------------------------------------------------- */

static void accounts_next(struct run *run);

static enum outcome outcome_of(enum store_status st)
{
    return st == STORE_OK            ? OUT_OK
           : st == STORE_NOT_FOUND   ? OUT_NOT_FOUND
           : st == STORE_NOT_ALLOWED ? OUT_WRONG_STATE
                                     : OUT_FAILED;
}

static void on_changed(void *arg, enum store_status st, bool created)
{
    struct run *run = arg;

    (void)created;
    run->out[run->i++] = outcome_of(st);
    accounts_next(run);
}

static struct store_origin origin_of(struct run *run)
{
    return (struct store_origin){.iq_id = iq_req_id(run->req),
                                 .actor = run->bare};
}

/* Appends "HEAD: jid, jid." for the JIDs with outcome o; false when none. */
static bool list_outcome(FILE *f, const struct run *run, enum outcome o,
                         const char *head)
{
    bool any = false;

    for (size_t i = 0; i < run->n; i++) {
        if (run->out[i] != o)
            continue;
        fprintf(f, "%s%s", any ? ", " : head, run->jids[i]);
        any = true;
    }
    if (any)
        fputs(".", f);
    return any;
}

static void add_outcome_note(xmpp_stanza_t *c, const struct run *run,
                             enum outcome o, const char *type, const char *head)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    bool any;

    if (!f)
        return;
    any = list_outcome(f, run, o, head);
    if (fclose(f) == 0 && any)
        add_note(c, type, text);
    free(text);
}

static void accounts_finish(struct run *run)
{
    size_t count[4] = {0, 0, 0, 0};
    char head[64];
    xmpp_stanza_t *c;

    for (size_t i = 0; i < run->n; i++)
        count[run->out[i]]++;
    log_info("adhoc",
             "%s by %s (id=%s): %zu done, %zu not registered, %zu not in "
             "the state it changes, %zu failed",
             run->cmd->node, run->bare,
             iq_req_id(run->req) ? iq_req_id(run->req) : "", count[OUT_OK],
             count[OUT_NOT_FOUND], count[OUT_WRONG_STATE], count[OUT_FAILED]);
    if (count[OUT_FAILED] == run->n) {
        fail_unavailable(run);
        run_done(run);
        return;
    }
    c = command_elem(run, run->s ? run->s->id : NULL, "completed");
    if (c) {
        snprintf(head, sizeof(head), "%s: ", run->cmd->done);
        add_outcome_note(c, run, OUT_OK, "info", head);
        add_outcome_note(c, run, OUT_NOT_FOUND, "error",
                         "Not registered with this service: ");
        add_outcome_note(c, run, OUT_WRONG_STATE, "error",
                         run->cmd->act == ACT_REENABLE
                             ? "Not disabled, left as they are: "
                             : "Not pending, left as they are: ");
        add_outcome_note(c, run, OUT_FAILED, "error",
                         "Not done, the database is unavailable (try "
                         "again): ");
    }
    reply_command(run, c);
    run_done(run);
}

static void accounts_next(struct run *run)
{
    struct store_origin origin = origin_of(run);
    /* re-enable and activate change only a registration in the state they
     * undo, in the database itself (no read first): neither lifts the
     * other, even racing another admin or the backend */
    enum store_state from = run->cmd->act == ACT_REENABLE ? STORE_STATE_DISABLED
                                                          : STORE_STATE_PENDING;
    const char *jid;

    if (run->i == run->n) {
        accounts_finish(run);
        return;
    }
    jid = run->jids[run->i];
    switch (run->cmd->act) {
    case ACT_DISABLE:
        store_set_state(run->adhoc->store, run->service, jid,
                        STORE_STATE_DISABLED, NULL, &origin, on_changed, run);
        break;
    case ACT_DELETE:
        store_remove(run->adhoc->store, run->service, jid, &origin, on_changed,
                     run);
        break;
    case ACT_REENABLE:
    case ACT_ACTIVATE:
        store_set_state(run->adhoc->store, run->service, jid,
                        STORE_STATE_ACTIVE, &from, &origin, on_changed, run);
        break;
    case ACT_NONE:
        run->out[run->i++] = OUT_FAILED;
        accounts_next(run);
        break;
    }
}

/* The bare JID of jid, its local part and domain lower-cased as the
 * servers' nodeprep and nameprep do for ASCII (the JIDs on file come from
 * the server); NULL when out of memory. */
static char *normal_bare(const char *jid)
{
    size_t len = strcspn(jid, "/");
    char *out = strndup(jid, len);

    for (size_t i = 0; out && i < len; i++)
        if (out[i] >= 'A' && out[i] <= 'Z')
            out[i] = (char)(out[i] - 'A' + 'a');
    return out;
}

/* Takes the accountjids of data (validated) into run: bare, each once. */
static bool take_jids(struct run *run, const struct form_data *data)
{
    const struct form_value *v = form_data_get(data, "accountjids");

    if (!v || !v->nvalues)
        return false;
    run->jids = calloc(v->nvalues, sizeof(*run->jids));
    run->out = calloc(v->nvalues, sizeof(*run->out));
    if (!run->jids || !run->out)
        return false;
    for (size_t i = 0; i < v->nvalues; i++) {
        char *jid = normal_bare(v->values[i]);
        bool seen = false;

        if (!jid)
            return false;
        for (size_t j = 0; j < run->n && !seen; j++)
            seen = strcmp(run->jids[j], jid) == 0;
        if (seen)
            free(jid);
        else
            run->jids[run->n++] = jid;
    }
    return true;
}

/* ---- the submitted stage of list and accounts commands ------------------- */

static void admin_submit(struct run *run, xmpp_stanza_t *x)
{
    struct form_field_def field;
    struct form_def def = stage_form(run->cmd, &field);
    struct form_data data = {0};
    struct form_problem problem = {{0}};
    enum form_status st = form_parse(x, &data, &problem);
    const char *max;

    /* XEP-0050 section 4.4.1: a form of type cancel counts as submit */
    if (st == FORM_CANCEL) {
        xmpp_stanza_t *copy = xmpp_stanza_copy(x);
        st = FORM_BAD_REQUEST;
        if (copy) {
            xmpp_stanza_set_type(copy, "submit");
            st = form_parse(copy, &data, &problem);
            xmpp_stanza_release(copy);
        }
    }
    if (st == FORM_OK)
        st = form_validate(&def, &data, false, &problem);
    if (st != FORM_OK) {
        form_data_clear(&data);
        fail_cmd(run, IQ_BAD_REQUEST, NULL, "bad-payload", problem.text);
        run_release(run, false); /* the admin may submit again */
        run_done(run);
        return;
    }
    if (run->cmd->kind == KIND_LIST) {
        max = form_data_first(&data, "max_items");
        run->max =
            !max || !strcmp(max, "none") ? ADHOC_LIST_MAX : (unsigned)atoi(max);
        form_data_clear(&data);
        /* one more than shown tells a truncated list */
        store_list(run->adhoc->store, run->service,
                   run->cmd->by_state ? &run->cmd->state : NULL, run->max + 1,
                   on_list, run);
        return;
    }
    if (!take_jids(run, &data)) {
        form_data_clear(&data);
        iq_req_error(run->req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        run_done(run);
        return;
    }
    form_data_clear(&data);
    accounts_next(run);
}

/* ---- jabber:iq:register as a command ------------------------------------- */

/* The first element child of el named name in ns (NULL: any), or NULL. */
static xmpp_stanza_t *child_ns(xmpp_stanza_t *el, const char *name,
                               const char *ns)
{
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(el); c;
         c = xmpp_stanza_get_next(c)) {
        const char *n = xmpp_stanza_is_tag(c) ? xmpp_stanza_get_name(c) : NULL;
        const char *s = xmpp_stanza_get_ns(c);
        if (n && !strcmp(n, name) && (!ns || (s && !strcmp(s, ns))))
            return c;
    }
    return NULL;
}

/* Copies reg's <error/> (condition, type, text) onto the command, with
 * what reg put before it (a form to submit instead, the fields sent
 * back): iq.h's echo, one element. */
static void forward_error(struct run *run, xmpp_stanza_t *reply)
{
    xmpp_stanza_t *err = child_ns(reply, "error", NULL);
    xmpp_stanza_t *echo = NULL;
    enum iq_error e = IQ_INTERNAL_SERVER_ERROR;
    const char *type = err ? xmpp_stanza_get_type(err) : NULL;
    char *text = NULL;
    bool keep;

    for (xmpp_stanza_t *c = err ? xmpp_stanza_get_children(err) : NULL; c;
         c = xmpp_stanza_get_next(c)) {
        const char *n = xmpp_stanza_is_tag(c) ? xmpp_stanza_get_name(c) : NULL;
        const char *ns = xmpp_stanza_get_ns(c);
        if (!n || !ns || strcmp(ns, IQ_NS_STANZAS) != 0)
            continue;
        if (!strcmp(n, "text")) {
            if (!text)
                text = xmpp_stanza_get_text(c);
        } else {
            iq_error_parse(n, &e);
        }
    }
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(reply); c && c != err;
         c = xmpp_stanza_get_next(c)) {
        if (xmpp_stanza_is_tag(c)) {
            echo = c;
            break;
        }
    }
    iq_req_error_as(run->req, e, type, text, echo);
    if (text)
        xmpp_free(iq_req_ctx(run->req), text);
    /* a form to correct (type modify) may be submitted again */
    keep = type && !strcmp(type, "modify");
    run_release(run, !keep);
}

/* reg's answer to the get: the form to fill (a registered requester's
 * pre-filled), or, with no form (a redirection), the instructions and URL
 * as the outcome. */
static void forward_form(struct run *run, xmpp_stanza_t *reply)
{
    xmpp_stanza_t *q = child_ns(reply, "query", REG_NS);
    xmpp_stanza_t *x = q ? child_ns(q, "x", FORM_NS) : NULL;
    xmpp_stanza_t *c;
    char *instructions;

    xmpp_stanza_t *oob = q ? child_ns(q, "x", NS_OOB) : NULL;
    xmpp_stanza_t *instr = q ? child_ns(q, "instructions", NULL) : NULL;

    if (x) {
        c = command_elem(run, run->sid, "executing");
        if (c) {
            add_actions_complete(c);
            xml_add(c, xmpp_stanza_copy(x));
            if (oob) /* a web sign-up page beside the form */
                xml_add(c, xmpp_stanza_copy(oob));
            if (child_ns(q, "registered", NULL))
                add_note(c, "info",
                         "You are registered: submitting the form updates "
                         "your registration.");
        }
        reply_command(run, c);
        run_release(run, false);
        return;
    }
    c = command_elem(run, run->sid, "completed");
    if (c) {
        instructions = instr ? xmpp_stanza_get_text(instr) : NULL;
        if (instructions) {
            add_note(c, "info", instructions);
            xmpp_free(iq_req_ctx(run->req), instructions);
        }
        if (oob)
            xml_add(c, xmpp_stanza_copy(oob));
    }
    reply_command(run, c);
    run_release(run, true);
}

/* True when stanza is reg's reply to the synthetic request (an iq with
 * its id), not a stanza the request causes. */
static bool is_reg_reply(struct run *run, xmpp_stanza_t *stanza)
{
    const char *name = xmpp_stanza_get_name(stanza);
    const char *id = xmpp_stanza_get_id(stanza);
    const char *want = iq_req_id(run->req);

    if (!name || strcmp(name, "iq") != 0)
        return false;
    return id && want ? strcmp(id, want) == 0 : id == want;
}

/* The sink of the synthetic request (stanza borrowed): reg's one reply
 * answers the command; anything else (the notices of a new registration
 * to notify_jids, sent before or after the reply) goes out as it would
 * for a plain jabber:iq:register.  The run lives on until reg ends the
 * request (on_reg_done), so either order is safe. */
static void on_reg_reply(void *arg, xmpp_stanza_t *stanza)
{
    struct run *run = arg;
    const char *type = xmpp_stanza_get_type(stanza);
    xmpp_stanza_t *c;

    if (run->answered || !is_reg_reply(run, stanza)) {
        iq_req_send(run->req, stanza);
        return;
    }
    run->answered = true;
    if (!type || strcmp(type, "result") != 0) {
        forward_error(run, stanza);
    } else if (run->canceled && !run->submit) {
        /* the form of a session canceled meanwhile: nothing to fill */
        reply_command(run, command_elem(run, run->sid, "canceled"));
    } else if (!run->submit) {
        forward_form(run, stanza);
    } else {
        /* done, even when canceled meanwhile: the registration is made */
        c = command_elem(run, run->sid, "completed");
        if (c)
            add_note(c, "info", "Registered.");
        reply_command(run, c);
        run_release(run, true);
    }
}

/* reg has ended the synthetic request: nothing more comes from it. */
static void on_reg_done(void *arg)
{
    run_done(arg);
}

/* Hands a jabber:iq:register get (x NULL) or set of x (borrowed) to reg;
 * the command is answered from on_reg_reply, and the run ends in
 * on_reg_done. */
static void register_stage(struct run *run, xmpp_stanza_t *x)
{
    xmpp_ctx_t *ctx = iq_req_ctx(run->req);
    /* adhoc answers the command, and logs that answer */
    struct iq_sink sink = {
        .send = on_reg_reply, .arg = run, .relayed = true, .done = on_reg_done};
    xmpp_stanza_t *iq = xml_elem(ctx, "iq", NULL);
    xmpp_stanza_t *q = xml_elem(ctx, "query", REG_NS);
    xmpp_stanza_t *copy = x ? xmpp_stanza_copy(x) : NULL;
    struct iq_req *sub = NULL;

    run->submit = x != NULL;
    if (iq && q && (!x || copy)) {
        xmpp_stanza_set_type(iq, x ? "set" : "get");
        if (iq_req_id(run->req))
            xmpp_stanza_set_id(iq, iq_req_id(run->req));
        xmpp_stanza_set_from(iq, iq_req_from(run->req));
        xmpp_stanza_set_to(iq, run->service);
        if (copy) {
            const char *t = xmpp_stanza_get_type(copy);
            /* XEP-0050 section 4.4.1: a form of type cancel counts as
             * submit */
            if (t && !strcmp(t, "cancel"))
                xmpp_stanza_set_type(copy, "submit");
            xmpp_stanza_add_child(q, copy);
        }
        xmpp_stanza_add_child(iq, q);
        sub = iq_req_new(iq, run->service, &sink);
    }
    if (copy)
        xmpp_stanza_release(copy);
    if (q)
        xmpp_stanza_release(q);
    if (iq)
        xmpp_stanza_release(iq);
    if (!sub) {
        iq_req_error(run->req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        run_done(run);
        return;
    }
    reg_handle(run->adhoc->reg, sub); /* takes sub; calls on_reg_reply */
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

/* The bare JID of from, or NULL; caller frees. */
static char *bare_of(xmpp_ctx_t *ctx, const char *from)
{
    char *b, *copy;

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
        register_stage(run, x);
        break;
    case KIND_COUNT:
        run_count(run);
        break;
    case KIND_LIST:
    case KIND_ACCOUNTS:
        /* a first request that carries the submitted form completes */
        if (x)
            admin_submit(run, x);
        else
            ask_form(run);
        break;
    }
}

/* A request naming an open session (action execute or complete). */
static void submit(struct run *run, xmpp_stanza_t *x)
{
    if (!x) {
        fail_cmd(run, IQ_BAD_REQUEST, NULL, "bad-payload",
                 "Submit the command's form.");
        run_release(run, false);
        run_done(run);
    } else if (run->cmd->kind == KIND_REGISTER) {
        register_stage(run, x);
    } else {
        admin_submit(run, x);
    }
}

void adhoc_command(struct adhoc *a, struct iq_req *req)
{
    xmpp_stanza_t *command = iq_req_payload(req);
    const char *node = xmpp_stanza_get_attribute(command, "node");
    const char *action = xmpp_stanza_get_attribute(command, "action");
    const char *sid = xmpp_stanza_get_attribute(command, "sessionid");
    const char *from = iq_req_from(req);
    xmpp_stanza_t *x = child_ns(command, "x", FORM_NS);
    struct run *run = calloc(1, sizeof(*run));
    const char *why = NULL;
    struct session *s;
    bool admin;

    sweep(a);
    if (!run) {
        iq_req_error(req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        req_end(req);
        return;
    }
    run->adhoc = a;
    run->req = req;
    run->cmd = cmd_find(node);
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
        fail_cmd(run, IQ_BAD_REQUEST, NULL, "malformed-action", NULL);
    } else if (!sid) {
        /* a new session */
        if (strcmp(action, "execute") != 0) {
            fail_cmd(run, IQ_BAD_REQUEST, NULL, "bad-action",
                     "A command starts with action 'execute'.");
        } else if (run->cmd->kind == KIND_REGISTER &&
                   policy_check(&a->conf->registration, run->bare, &why) !=
                       POLICY_ALLOW) {
            /* as reg would answer, before taking a session */
            iq_req_error(req, IQ_FORBIDDEN, why, NULL);
        } else if (!(s = session_new(a, run->cmd, from, run->bare, admin,
                                     &why))) {
            if (why)
                iq_req_error(req, IQ_RESOURCE_CONSTRAINT, why, NULL);
            else
                iq_req_error(req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        } else {
            run_attach(run, s);
            start(run, x); /* takes run */
            return;
        }
    } else if (!(s = session_find(a, sid))) {
        fail_cmd(run, IQ_NOT_ALLOWED, "cancel", "session-expired",
                 "This command session has ended or expired.");
    } else if (strcmp(s->owner, from) != 0 || s->cmd != run->cmd) {
        fail_cmd(run, IQ_BAD_REQUEST, NULL, "bad-sessionid",
                 "This session belongs to another requester or command.");
    } else if (!strcmp(action, "cancel")) {
        /* XEP-0050 section 3.4: cancel is always allowed.  A request in
         * flight keeps its run and gets its own answer, without the
         * session. */
        xmpp_stanza_t *c = command_elem(run, s->id, "canceled");
        reply_command(run, c);
        if (s->run) {
            s->run->s = NULL;
            s->run->canceled = true;
        }
        session_end(a, s);
    } else if (s->busy) {
        fail_cmd(run, IQ_BAD_REQUEST, NULL, "bad-sessionid",
                 "A request of this session is still in progress.");
    } else if (!strcmp(action, "prev") || !strcmp(action, "next")) {
        s->expires = a->env.now() + s->ttl;
        fail_cmd(run, IQ_BAD_REQUEST, NULL, "bad-action",
                 "This stage offers only 'complete'.");
    } else {
        run_attach(run, s);
        submit(run, x); /* takes run */
        return;
    }
    req_end(req);
    run_free(run);
}

/* ---- disco --------------------------------------------------------------- */

static bool may_run(struct adhoc *a, const struct cmd *cmd, const char *bare)
{
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

bool adhoc_disco_info(struct adhoc *a, struct iq_req *req, const char *node)
{
    const struct cmd *cmd = cmd_find(node);
    char *bare;
    xmpp_stanza_t *q;

    if (!cmd && strcmp(node, ADHOC_NS) != 0)
        return false;
    bare = bare_of(iq_req_ctx(req), iq_req_from(req));
    if (cmd && !may_run(a, cmd, bare)) {
        /* XEP-0050 section 2.2: not available to the requester */
        iq_req_error_as(req, IQ_FORBIDDEN, "cancel", NULL, NULL);
        free(bare);
        return true;
    }
    free(bare);
    q = xml_elem(iq_req_ctx(req), "query", NS_DISCO_INFO);
    if (!q) {
        iq_req_error(req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        return true;
    }
    xmpp_stanza_set_attribute(q, "node", node);
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
    const struct cmd *cmd = cmd_find(node);
    char *bare;
    xmpp_stanza_t *q;

    if (!cmd && strcmp(node, ADHOC_NS) != 0)
        return false;
    bare = bare_of(iq_req_ctx(req), iq_req_from(req));
    if (cmd && !may_run(a, cmd, bare)) {
        iq_req_error_as(req, IQ_FORBIDDEN, "cancel", NULL, NULL);
        free(bare);
        return true;
    }
    q = xml_elem(iq_req_ctx(req), "query", NS_DISCO_ITEMS);
    if (!q) {
        free(bare);
        iq_req_error(req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        return true;
    }
    xmpp_stanza_set_attribute(q, "node", node);
    /* the list: what the requester may run; a command node: no items */
    for (size_t i = 0; !cmd && i < NCMDS; i++) {
        xmpp_stanza_t *item;
        if (!may_run(a, &cmds[i], bare))
            continue;
        if (!(item = xml_elem(iq_req_ctx(req), "item", NULL)))
            continue;
        xmpp_stanza_set_attribute(item, "jid", a->conf->component.jid);
        xmpp_stanza_set_attribute(item, "node", cmds[i].node);
        xmpp_stanza_set_attribute(item, "name", cmds[i].name);
        xml_add(q, item);
    }
    free(bare);
    iq_req_result(req, q);
    xmpp_stanza_release(q);
    return true;
}
