/*
 * adhoc_admin.c - the XEP-0133 admin commands on the registrations of the
 * service (count, list, disable, re-enable, delete) and
 * registrar#activate-user, for the bare JIDs of registration.admins
 * (adhoc.c checks): the form of the first stage, then the store asked one
 * JID at a time, each change carrying its origin (the iq id, the admin as
 * actor, a disable's reason).  A list is cut to keep the reply under
 * ADHOC_REPLY_MAX; the JIDs an admin gives are prepared as the servers
 * prepare them (adhoc.h).  Never logs a submitted value other than the
 * JIDs an admin acts on.
 */
#include "adhoc_admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adhoc_defs.h"
#include "form.h"
#include "jid.h"
#include "log.h"
#include "text.h"
#include "xml.h"

/* A disable's reason, in bytes (the database takes 1024 characters). */
#define ADHOC_REASON_MAX 1024

#define ADMIN(x) ADHOC_NS_ADMIN "#" x

const struct cmd adhoc_admin_cmds[] = {
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
    {.node = "registrar#get-banned-users-list",
     .name = "Get List of Banned Users",
     .kind = KIND_LIST,
     .admin = true,
     .bans = true,
     .var = "banneduserjids",
     .label = "The JIDs that may not register again (they cancelled a "
              "disabled registration)",
     .title = "Requesting List of Banned Users",
     .instructions = "Fill out this form to request the JIDs banned from "
                     "this service; reenable-user lifts a ban."},
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

const size_t adhoc_admin_ncmds =
    sizeof(adhoc_admin_cmds) / sizeof(adhoc_admin_cmds[0]);

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
void adhoc_admin_ask_form(struct run *run)
{
    struct form_field_def field[2];
    struct form_def def = stage_form(run->cmd, field);
    xmpp_stanza_t *c = adhoc_command_elem(run, run->sid, "executing");

    if (c) {
        adhoc_add_actions_complete(c);
        xml_add(c, form_build(iq_req_ctx(run->req), &def, "form", NULL));
    }
    adhoc_reply_command(run, c);
    adhoc_run_release(run, false);
    adhoc_run_done(run);
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
        adhoc_command_elem(run, run->s ? run->s->id : NULL, "completed");

    if (c) {
        xml_add(c, form_build(iq_req_ctx(run->req), &def, "result", values));
        if (note)
            adhoc_add_note(c, note_type, note);
    }
    adhoc_reply_command(run, c);
}

/* ---- count and list ---------------------------------------------------- */

static void on_count(void *arg, enum store_status st, unsigned long n)
{
    struct run *run = arg;
    struct form_data data = {0};
    char num[32];

    if (st != STORE_OK) {
        adhoc_fail_unavailable(run);
    } else {
        snprintf(num, sizeof(num), "%lu", n);
        if (!form_data_add(&data, run->cmd->var, num))
            iq_req_error(run->req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        else
            reply_result_form(run, FORM_TEXT_SINGLE, &data, NULL, NULL);
        form_data_clear(&data);
    }
    adhoc_run_done(run);
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
        adhoc_command_elem(run, run->s ? run->s->id : NULL, "completed");
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
    return n + 128 + xml_escaped_len(iq_req_id(run->req)) +
           xml_escaped_len(iq_req_from(run->req)) +
           xml_escaped_len(iq_req_to(run->req)) + 512;
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
    adhoc_run_done(run);
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
        adhoc_fail_unavailable(run);
        adhoc_run_done(run);
        return;
    }
    if (!(v = form_data_entry(&run->list, run->cmd->var))) {
        iq_req_error(run->req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        adhoc_run_done(run);
        return;
    }
    /* as many as the reply's size allows: <value>JID</value> each */
    over = list_overhead(run); /* more than all: an id of 60 KiB... */
    room = over < ADHOC_REPLY_MAX ? ADHOC_REPLY_MAX - over : 0;
    for (run->shown = 0; run->shown < limit; run->shown++) {
        cost = strlen("<value></value>") + xml_escaped_len(jids[run->shown]);
        if (cost > room) {
            run->cut_by_size = true;
            break;
        }
        room -= cost;
        if (!form_value_append(v, jids[run->shown])) {
            iq_req_error(run->req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
            adhoc_run_done(run);
            return;
        }
    }
    run->fetched = n;
    if (n <= run->max) { /* the store gave every one */
        list_reply(run, n, true);
        return;
    }
    /* more than max_items: how many, for the note */
    if (run->cmd->bans)
        store_count_bans(run->adhoc->store, run->service, on_list_count, run);
    else
        store_count(run->adhoc->store, run->service,
                    run->cmd->by_state ? &run->cmd->state : NULL, on_list_count,
                    run);
}

void adhoc_admin_count(struct run *run)
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
        adhoc_add_note(c, type, text);
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
        adhoc_fail_unavailable(run);
        adhoc_run_done(run);
        return;
    }
    c = adhoc_command_elem(run, run->s ? run->s->id : NULL, "completed");
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
    adhoc_reply_command(run, c);
    adhoc_run_done(run);
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

void adhoc_admin_submit(struct run *run, xmpp_stanza_t *x)
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
        adhoc_fail_cmd(run, IQ_BAD_REQUEST, NULL, "bad-payload", problem.text);
        adhoc_run_release(run, false); /* the admin may submit again */
        adhoc_run_done(run);
        return;
    }
    if (run->cmd->kind == KIND_LIST) {
        max = form_data_first(&data, "max_items");
        run->max =
            !max || !strcmp(max, "none") ? ADHOC_LIST_MAX : (unsigned)atoi(max);
        form_data_clear(&data);
        /* one more than shown tells a truncated list */
        if (run->cmd->bans)
            store_list_bans(run->adhoc->store, run->service, run->max + 1,
                            on_list, run);
        else
            store_list(run->adhoc->store, run->service,
                       run->cmd->by_state ? &run->cmd->state : NULL,
                       run->max + 1, on_list, run);
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
        adhoc_fail_cmd(run, IQ_BAD_REQUEST, NULL, "bad-payload", text);
        adhoc_run_release(run, false); /* the admin may submit again */
        adhoc_run_done(run);
        return;
    }
    case JID_NOMEM:
        form_data_clear(&data);
        iq_req_error(run->req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        adhoc_run_done(run);
        return;
    }
    if (run->cmd->act == ACT_DISABLE &&
        (max = form_data_first(&data, "reason")) && *max &&
        !(run->reason = strdup(max))) {
        form_data_clear(&data);
        iq_req_error(run->req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        adhoc_run_done(run);
        return;
    }
    form_data_clear(&data);
    accounts_next(run);
}
