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
 * acts on.  Session floods, prepared JIDs and the size of a list: see
 * adhoc.h.
 */
#include "adhoc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "form.h"
#include "jid.h"
#include "limiter.h"
#include "log.h"
#include "policy.h"
#include "text.h"
#include "xml.h"

#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"
#define NS_OOB "jabber:x:oob"
/* Refusals and evictions: one log line per kind and interval at most. */
#define TALLY_INTERVAL_S 1.0

/* ---- the commands ------------------------------------------------------ */

enum kind {
    KIND_REGISTER, /* jabber:iq:register through reg */
    KIND_COUNT,    /* one stage: a number */
    KIND_LIST,     /* max_items, then the JIDs */
    KIND_ACCOUNTS, /* accountjids, then a change to each */
};

enum act { ACT_NONE, ACT_DISABLE, ACT_REENABLE, ACT_DELETE, ACT_ACTIVATE };

/* A disable's reason, in bytes (the database takes 1024 characters). */
#define ADHOC_REASON_MAX 1024

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

/* What comes in floods (adhoc.h), counted and logged once a second. */
enum tally {
    TALLY_RATE,    /* an execute over a rate limit */
    TALLY_FULL,    /* an execute refused: no session could be freed */
    TALLY_EVICTED, /* a session ended to make room for another JID's */
    NTALLIES
};

static const char *const tally_what[NTALLIES] = {
    [TALLY_RATE] = "command execute(s) refused over a rate limit",
    [TALLY_FULL] = "command execute(s) refused with every session slot "
                   "taken",
    [TALLY_EVICTED] = "idle session(s) ended to make room for another "
                      "JID's",
};

struct adhoc {
    const struct conf *conf;
    struct reg *reg;
    struct store *store;
    struct adhoc_env env;
    struct limiter *limiter; /* executes (adhoc.h) */
    struct session *sessions;
    unsigned nsessions; /* all of them */
    unsigned nusers;    /* those of non-admins, capped */
    unsigned long counter;
    struct limiter_tally tallies[NTALLIES];
};

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
    a->env = *env;
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

/* Counts one event of kind k (bare: the JID it is about); see adhoc.h. */
static void tally(struct adhoc *a, enum tally k, const char *bare)
{
    unsigned long n;

    if (limiter_tally_add(&a->tallies[k], a->env.now(), TALLY_INTERVAL_S, &n))
        log_warn("adhoc",
                 "%s: %lu %s since the last report, latest %s (%lu in all)",
                 a->conf->component.jid, n, tally_what[k], bare,
                 a->tallies[k].total);
}

/* Writes the counts held back that are due. */
static void tally_flush(struct adhoc *a)
{
    unsigned long n;

    for (int k = 0; k < NTALLIES; k++) {
        if (!a->tallies[k].pending ||
            !limiter_tally_due(&a->tallies[k], a->env.now(), TALLY_INTERVAL_S,
                               &n))
            continue;
        log_warn("adhoc", "%s: %lu %s since the last report (%lu in all)",
                 a->conf->component.jid, n, tally_what[k], a->tallies[k].total);
    }
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

static int by_bare(const void *x, const void *y)
{
    const struct session *const *p = x, *const *q = y;

    return strcmp((*p)->bare, (*q)->bare);
}

/* The session a JID holding mine sessions may take the place of, when the
 * non-admins' total is reached (adhoc.h: max-min fairness): the least
 * recently used idle one among the JIDs that hold the most, if they hold
 * more than mine; NULL when there is none. */
static struct session *room_for(struct adhoc *a, unsigned mine)
{
    struct session *v[ADHOC_SESSIONS_MAX], *best = NULL;
    size_t n = 0, i, j;
    unsigned most = 0;

    for (struct session *s = a->sessions; s && n < ADHOC_SESSIONS_MAX;
         s = s->next)
        if (!s->admin)
            v[n++] = s;
    qsort(v, n, sizeof(v[0]), by_bare);
    for (i = 0; i < n; i = j) {
        struct session *lru = NULL;
        unsigned held;

        for (j = i; j < n && strcmp(v[j]->bare, v[i]->bare) == 0; j++)
            if (!v[j]->busy && (!lru || v[j]->expires < lru->expires))
                lru = v[j]; /* expires: last use + the ttl, alike */
        held = (unsigned)(j - i);
        if (!lru || held <= mine)
            continue;
        if (held > most || (held == most && lru->expires < best->expires)) {
            most = held;
            best = lru;
        }
    }
    return best;
}

/* A new session, or NULL with *why set (a cap) or NULL (out of memory).
 * An admin's sessions are not under the total cap, which anyone can fill
 * with made-up JIDs; they are bounded by the per-JID cap and the list of
 * admins.  A non-admin's at the total may take the place of another JID's
 * idle session (room_for). */
static struct session *session_new(struct adhoc *a, const struct cmd *cmd,
                                   const char *owner, const char *bare,
                                   bool admin, const char **why)
{
    unsigned mine = 0, rnd[2] = {0, 0};
    struct session *s;

    for (s = a->sessions; s; s = s->next)
        mine += strcmp(s->bare, bare) == 0;
    if (mine >= ADHOC_SESSIONS_PER_JID) {
        *why = "You have too many command sessions open: complete or "
               "cancel one.";
        return NULL;
    }
    if (!admin && a->nusers >= ADHOC_SESSIONS_MAX) {
        struct session *victim = room_for(a, mine);

        if (!victim) {
            tally(a, TALLY_FULL, bare);
            *why = "Too many command sessions are open on this service; "
                   "try again later.";
            return NULL;
        }
        log_debug("adhoc", "session %s of %s ended to make room for %s",
                  victim->id, victim->owner, owner);
        tally(a, TALLY_EVICTED, victim->bare);
        session_end(a, victim);
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

/* OUT_UNBANNED: a re-enable that found no registration but a ban, and
 * lifted it. */
enum outcome {
    OUT_OK,
    OUT_NOT_FOUND,
    OUT_WRONG_STATE,
    OUT_FAILED,
    OUT_UNBANNED
};

struct run {
    struct adhoc *adhoc;
    struct iq_req *req;
    const struct cmd *cmd;
    struct session *s; /* NULL once released, or canceled under us */
    char sid[48];      /* its id, for the replies */
    bool canceled;     /* the session was canceled while this was in flight */
    char *bare;        /* the requester's */
    char *service;     /* the component JID, copied (a reload may free the
                        * conf while the store works) */
    bool submit;       /* register: the stage that submits */
    /* accounts: the JIDs, and what happened to each */
    char **jids;
    enum outcome *out;
    size_t n, i;
    char *reason; /* disable: the reason given, NULL: none */
    unsigned max; /* list: at most this many */
    /* list: the JIDs shown, how many the store gave, and whether the
     * reply's size cut them */
    struct form_data list;
    size_t shown, fetched;
    bool cut_by_size;
};

static void run_free(struct run *run)
{
    form_data_clear(&run->list);
    for (size_t i = 0; i < run->n; i++)
        free(run->jids[i]);
    free(run->jids);
    free(run->out);
    free(run->bare);
    free(run->service);
    free(run->reason);
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
                                  struct form_field_def field[2])
{
    size_t n = 1;

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
    if (cmd->act == ACT_DISABLE) /* beyond XEP-0133: why, for the user */
        field[n++] = (struct form_field_def){
            .var = (char *)"reason",
            .type = FORM_TEXT_SINGLE,
            .label = (char *)"Reason (shown to the user)",
            .max_length = ADHOC_REASON_MAX,
        };
    return (struct form_def){
        .form_type = ADHOC_NS_ADMIN,
        .title = cmd->title,
        .instructions = cmd->instructions,
        .fields = field,
        .nfields = n,
    };
}

/* The first stage of a list or accounts command: the form to fill. */
static void ask_form(struct run *run)
{
    struct form_field_def field[2];
    struct form_def def = stage_form(run->cmd, field);
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

/* Bytes text takes in the serialised reply at most (each character
 * libstrophe may escape counted as its longest entity). */
static size_t xml_len(const char *s)
{
    size_t n = 0;

    for (; s && *s; s++)
        n += *s == '&'                 ? 5
             : *s == '<' || *s == '>'  ? 4
             : *s == '"' || *s == '\'' ? 6
                                       : 1;
    return n;
}

/* What a list reply takes besides its values: the iq around the command
 * (its attributes), the command and the form with no value (measured),
 * and room for the note. */
static size_t list_overhead(struct run *run)
{
    struct form_field_def field = {.var = (char *)run->cmd->var,
                                   .type = FORM_JID_MULTI,
                                   .label = (char *)run->cmd->label};
    struct form_def def = {
        .form_type = ADHOC_NS_ADMIN, .fields = &field, .nfields = 1};
    xmpp_stanza_t *c =
        command_elem(run, run->s ? run->s->id : NULL, "completed");
    size_t len = 0, n = 4096; /* when it cannot be measured */
    char *text = NULL;

    if (c) {
        xml_add(c, form_build(iq_req_ctx(run->req), &def, "result", NULL));
        if (xmpp_stanza_to_text(c, &text, &len) == XMPP_EOK) {
            n = len;
            xmpp_free(iq_req_ctx(run->req), text);
        }
        xmpp_stanza_release(c);
    }
    /* <iq id='' type='result' to='' from='' xmlns='jabber:client'></iq>
     * and a note of at most 512 bytes */
    return n + 128 + xml_len(iq_req_id(run->req)) +
           xml_len(iq_req_from(run->req)) + xml_len(iq_req_to(run->req)) + 512;
}

/* Answers the list in run->list, with a note when JIDs were left out:
 * total is how many there are (as far as known). */
static void list_reply(struct run *run, unsigned long total, bool known)
{
    unsigned long left;
    char note[400];

    if (total < run->fetched)
        total = run->fetched; /* the count raced a registration */
    left = total - run->shown;
    if (run->cut_by_size)
        snprintf(note, sizeof(note),
                 "The first %zu JIDs only: %s%lu of %lu left out, to keep "
                 "the reply under %d KiB (ask for fewer with max_items, or "
                 "read them from the database).",
                 run->shown, known ? "" : "at least ", left, total,
                 ADHOC_REPLY_MAX / 1024);
    else
        snprintf(note, sizeof(note),
                 "The first %zu JIDs only: %s%lu of %lu left out "
                 "(max_items).",
                 run->shown, known ? "" : "at least ", left, total);
    reply_result_form(run, FORM_JID_MULTI, &run->list, "warn",
                      left ? note : NULL);
    run_done(run);
}

static void on_list_count(void *arg, enum store_status st, unsigned long n)
{
    struct run *run = arg;

    list_reply(run, st == STORE_OK ? n : run->fetched, st == STORE_OK);
}

static void on_list(void *arg, enum store_status st, char *const *jids,
                    size_t n)
{
    struct run *run = arg;
    struct form_value *v;
    size_t room, cost, over, limit = n > run->max ? run->max : n;

    if (st != STORE_OK) {
        fail_unavailable(run);
        run_done(run);
        return;
    }
    if (!(v = form_data_entry(&run->list, run->cmd->var))) {
        iq_req_error(run->req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        run_done(run);
        return;
    }
    /* as many as the reply's size allows: <value>JID</value> each */
    over = list_overhead(run); /* more than all: an id of 60 KiB... */
    room = over < ADHOC_REPLY_MAX ? ADHOC_REPLY_MAX - over : 0;
    for (run->shown = 0; run->shown < limit; run->shown++) {
        cost = strlen("<value></value>") + xml_len(jids[run->shown]);
        if (cost > room) {
            run->cut_by_size = true;
            break;
        }
        room -= cost;
        if (!form_value_append(v, jids[run->shown])) {
            iq_req_error(run->req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
            run_done(run);
            return;
        }
    }
    run->fetched = n;
    if (n <= run->max) { /* the store gave every one */
        list_reply(run, n, true);
        return;
    }
    /* more than max_items: how many, for the note */
    store_count(run->adhoc->store, run->service,
                run->cmd->by_state ? &run->cmd->state : NULL, on_list_count,
                run);
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

static struct store_origin origin_of(struct run *run)
{
    return (struct store_origin){.iq_id = iq_req_id(run->req),
                                 .actor = run->bare,
                                 .reason = run->reason};
}

static void on_unbanned(void *arg, enum store_status st, bool created)
{
    struct run *run = arg;

    (void)created;
    run->out[run->i++] = st == STORE_OK ? OUT_UNBANNED : outcome_of(st);
    accounts_next(run);
}

static void on_changed(void *arg, enum store_status st, bool created)
{
    struct run *run = arg;
    struct store_origin origin = origin_of(run);

    (void)created;
    if (st == STORE_NOT_FOUND && run->cmd->act == ACT_REENABLE) {
        /* no registration: its user may have cancelled it while it was
         * disabled, which left a ban; re-enabling lifts it */
        store_unban(run->adhoc->store, run->service, run->jids[run->i], &origin,
                    on_unbanned, run);
        return;
    }
    run->out[run->i++] = outcome_of(st);
    accounts_next(run);
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
    size_t count[5] = {0, 0, 0, 0, 0};
    char head[64];
    xmpp_stanza_t *c;

    for (size_t i = 0; i < run->n; i++)
        count[run->out[i]]++;
    log_info("adhoc",
             "%s by %s (id=%s): %zu done, %zu ban(s) lifted, %zu not "
             "registered, %zu not in the state it changes, %zu failed",
             run->cmd->node, run->bare,
             iq_req_id(run->req) ? iq_req_id(run->req) : "", count[OUT_OK],
             count[OUT_UNBANNED], count[OUT_NOT_FOUND], count[OUT_WRONG_STATE],
             count[OUT_FAILED]);
    if (count[OUT_FAILED] == run->n) {
        fail_unavailable(run);
        run_done(run);
        return;
    }
    c = command_elem(run, run->s ? run->s->id : NULL, "completed");
    if (c) {
        snprintf(head, sizeof(head), "%s: ", run->cmd->done);
        add_outcome_note(c, run, OUT_OK, "info", head);
        add_outcome_note(c, run, OUT_UNBANNED, "info",
                         "Ban lifted (the registration was cancelled while "
                         "disabled; they may register again): ");
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

/* Takes the accountjids of data (validated) into run: bare, prepared as
 * the servers prepare them (jid.h), each once.  JID_INVALID: *bad is the
 * index of the first value that is not a JID. */
static enum jid_status take_jids(struct run *run, const struct form_data *data,
                                 size_t *bad)
{
    const struct form_value *v = form_data_get(data, "accountjids");

    if (!v || !v->nvalues)
        return JID_NOMEM;
    run->jids = calloc(v->nvalues, sizeof(*run->jids));
    run->out = calloc(v->nvalues, sizeof(*run->out));
    if (!run->jids || !run->out)
        return JID_NOMEM;
    for (size_t i = 0; i < v->nvalues; i++) {
        char *jid;
        enum jid_status st = jid_normal_bare(v->values[i], &jid);
        bool seen = false;

        if (st != JID_OK) {
            *bad = i;
            return st;
        }
        for (size_t j = 0; j < run->n && !seen; j++)
            seen = strcmp(run->jids[j], jid) == 0;
        if (seen)
            free(jid);
        else
            run->jids[run->n++] = jid;
    }
    return JID_OK;
}

/* ---- the submitted stage of list and accounts commands ------------------- */

static void admin_submit(struct run *run, xmpp_stanza_t *x)
{
    struct form_field_def field[2];
    struct form_def def = stage_form(run->cmd, field);
    struct form_data data = {0};
    struct form_problem problem = {{0}};
    enum form_status st = form_parse(x, &data, &problem);
    const char *max;
    size_t bad = 0;

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
    switch (take_jids(run, &data, &bad)) {
    case JID_OK:
        break;
    case JID_INVALID: {
        const struct form_value *v = form_data_get(&data, "accountjids");
        char text[400], quoted[TEXT_EXCERPT_SIZE(TEXT_EXCERPT_CHARS)];

        snprintf(text, sizeof(text),
                 "Value %zu of field 'accountjids' is %s: %s", bad + 1,
                 jid_status_text(JID_INVALID),
                 text_excerpt(quoted, sizeof(quoted), v->values[bad],
                              TEXT_EXCERPT_CHARS));
        form_data_clear(&data);
        fail_cmd(run, IQ_BAD_REQUEST, NULL, "bad-payload", text);
        run_release(run, false); /* the admin may submit again */
        run_done(run);
        return;
    }
    case JID_NOMEM:
        form_data_clear(&data);
        iq_req_error(run->req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        run_done(run);
        return;
    }
    if (run->cmd->act == ACT_DISABLE &&
        (max = form_data_first(&data, "reason")) && *max &&
        !(run->reason = strdup(max))) {
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

/* reg's answer to the get: the form to fill (a registered requester's
 * pre-filled), or, with no form (a redirection), the instructions and URL
 * as the outcome.  q: reg's <query/> (borrowed), or NULL. */
static void forward_form(struct run *run, xmpp_stanza_t *q)
{
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
        reply_command(run, command_elem(run, run->sid, "canceled"));
    } else if (!run->submit) {
        forward_form(run,
                     name && ns && !strcmp(name, "query") && !strcmp(ns, REG_NS)
                         ? payload
                         : NULL);
    } else {
        /* done, even when canceled meanwhile: the registration is made */
        c = command_elem(run, run->sid, "completed");
        if (c)
            add_note(c, "info", "Registered.");
        reply_command(run, c);
        run_release(run, true);
    }
}

/* reg's error answers the command as it is (condition, type, text), with
 * what reg put before it (a form to submit instead, the fields sent
 * back). */
static void on_reg_error(void *arg, const struct iq_relay_error *err)
{
    struct run *run = arg;

    iq_req_error_app(run->req, err->condition, err->type, err->text, err->echo,
                     err->app_ns, err->app_name);
    /* a form to correct (type modify) may be submitted again */
    run_release(run, strcmp(err->type, "modify") != 0);
}

/* reg has ended the relayed request: nothing more comes from it (its
 * notices to notify_jids, sent before its answer, went out on the wire). */
static void on_reg_done(void *arg)
{
    run_done(arg);
}

/* Hands a jabber:iq:register get (x NULL) or set of x (borrowed) to reg,
 * as a request relayed to this one: the command is answered from
 * on_reg_result or on_reg_error, and the run ends in on_reg_done. */
static void register_stage(struct run *run, xmpp_stanza_t *x)
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
        run_done(run);
        return;
    }
    reg_handle(run->adhoc->reg, sub); /* takes sub */
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
    double retry;
    bool admin;

    sweep(a);
    tally_flush(a);
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
        } else if (!admin && !limiter_take(a->limiter, run->bare, a->env.now(),
                                           &why, &retry)) {
            /* as reg answers a registration set over a limit */
            char text[160];

            tally(a, TALLY_RATE, run->bare);
            snprintf(text, sizeof(text),
                     "Too many command requests (%s limit); try again in "
                     "%.0f seconds.",
                     why, retry < 1 ? 1 : retry + 0.5);
            iq_req_error(req, IQ_POLICY_VIOLATION, text, NULL);
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
