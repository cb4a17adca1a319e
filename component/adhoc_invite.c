/*
 * adhoc_invite.c - the invitation commands of the service's admins
 * (registrar#create-invite, registrar#list-invites,
 * registrar#revoke-invite), listed and run only while the service's
 * invitations are on (adhoc.c checks).  A new token is made here
 * (secret_token: getrandom(2), 144 bits, base64url), shown once in the
 * result, which follows XEP-0401's invitation form (FORM_TYPE
 * urn:xmpp:invite#invitation: uri, landing-url, expire, plus token and
 * id), and stored by the database as its SHA-256 only.  Each change
 * carries its origin (the iq id, the admin as actor): its event
 * (invite_created, invite_revoked) is the store's.  Never logs a token.
 */
#include "adhoc_invite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adhoc_defs.h"
#include "form.h"
#include "jid.h"
#include "log.h"
#include "secret.h"
#include "text.h"
#include "xml.h"

#define NS_INVITATION "urn:xmpp:invite#invitation"
#define FORM_TYPE_INVITE "urn:registrar:invite"
/* list-invites: the newest ones, at most */
#define INVITE_LIST_MAX 100
/* list-invites' reply beyond its lines: the iq, command and form
 * elements, the field and the note (generous) */
#define INVITE_LIST_OVERHEAD 2048

const struct cmd adhoc_invite_cmds[] = {
    {.node = ADHOC_NODE_CREATE_INVITE,
     .name = "Create an Invitation",
     .kind = KIND_INVITE,
     .admin = true,
     .invite = INVITE_CREATE,
     .title = "Creating an Invitation",
     .instructions = "Fill out this form to create an invitation to register "
                     "with this service. Its token is shown once."},
    {.node = ADHOC_NODE_LIST_INVITES,
     .name = "List Invitations",
     .kind = KIND_INVITE,
     .admin = true,
     .invite = INVITE_LIST,
     .var = "invites",
     .label = "The invitations, newest first"},
    {.node = ADHOC_NODE_REVOKE_INVITE,
     .name = "Revoke an Invitation",
     .kind = KIND_INVITE,
     .admin = true,
     .invite = INVITE_REVOKE,
     .title = "Revoking an Invitation",
     .instructions = "Fill out this form to revoke an invitation (its id: "
                     "see list-invites)."},
};

const size_t adhoc_invite_ncmds =
    sizeof(adhoc_invite_cmds) / sizeof(adhoc_invite_cmds[0]);

/* ---- forms -----------------------------------------------------------------
 */

static struct form_option state_options[] = {
    {(char *)"active", (char *)"Active"},
    {(char *)"pending", (char *)"Pending (an admin or the backend activates)"},
};

static struct form_field_def create_fields[] = {
    {.var = (char *)"max_uses",
     .type = FORM_TEXT_SINGLE,
     .label = (char *)"How many registrations it allows (0: unlimited)",
     .max_length = 9},
    {.var = (char *)"expires",
     .type = FORM_TEXT_SINGLE,
     .label = (char *)"Valid for (30m, 12h, 7d, 2w)",
     .max_length = 16},
    {.var = (char *)"bound_to",
     .type = FORM_JID_SINGLE,
     .label = (char *)"Only for this JID or domain (empty: anyone)",
     .max_length = 3071},
    {.var = (char *)"initial_state",
     .type = FORM_LIST_SINGLE,
     .label = (char *)"State of the registration (empty: the service's)",
     .max_length = 16,
     .options = state_options,
     .noptions = sizeof(state_options) / sizeof(state_options[0])},
    {.var = (char *)"label",
     .type = FORM_TEXT_SINGLE,
     .label = (char *)"Label (for the admins)",
     .max_length = 256},
    {.var = (char *)"fields",
     .type = FORM_TEXT_MULTI,
     .label = (char *)"Values for registration fields left out, one "
                      "var=value per line",
     .max_length = 1024},
};

static struct form_field_def revoke_fields[] = {
    {.var = (char *)"id",
     .type = FORM_TEXT_SINGLE,
     .label = (char *)"The invitation's id",
     .required = true,
     .max_length = 20},
};

static struct form_def stage_form(const struct cmd *cmd)
{
    bool create = cmd->invite == INVITE_CREATE;

    return (struct form_def){
        .form_type = FORM_TYPE_INVITE,
        .title = cmd->title,
        .instructions = cmd->instructions,
        .fields = create ? create_fields : revoke_fields,
        .nfields = create ? sizeof(create_fields) / sizeof(create_fields[0])
                          : sizeof(revoke_fields) / sizeof(revoke_fields[0]),
    };
}

static void ask_form(struct run *run)
{
    struct form_def def = stage_form(run->cmd);
    struct form_data prefill = {0};
    xmpp_stanza_t *c = adhoc_command_elem(run, run->sid, "executing");

    if (run->cmd->invite == INVITE_CREATE &&
        (!form_data_add(&prefill, "max_uses", "1") ||
         !form_data_add(&prefill, "expires",
                        run->adhoc->conf->invites.default_ttl))) {
        if (c)
            xmpp_stanza_release(c);
        c = NULL;
    }
    if (c) {
        adhoc_add_actions_complete(c);
        xml_add(c, form_build(iq_req_ctx(run->req), &def, "form", &prefill));
    }
    form_data_clear(&prefill);
    adhoc_reply_command(run, c);
    adhoc_run_release(run, false);
    adhoc_run_done(run);
}

/* A submission refused: the admin may send it again. */
static void refuse(struct run *run, const char *text)
{
    adhoc_fail_cmd(run, IQ_BAD_REQUEST, NULL, "bad-payload", text);
    adhoc_run_release(run, false);
    adhoc_run_done(run);
}

/* ---- create
 * ------------------------------------------------------------------ */

/* "{token}" of the landing URL replaced by token, into out. */
static bool landing_url(const char *tmpl, const char *token, char *out,
                        size_t size)
{
    const char *at = strstr(tmpl, "{token}");

    return at && text_format(out, size, "%.*s%s%s", (int)(at - tmpl), tmpl,
                             token, at + strlen("{token}"));
}

static void on_created(void *arg, enum store_status st,
                       const struct store_table *t)
{
    struct run *run = arg;
    struct form_field_def fields[5];
    struct form_def def = {.form_type = NS_INVITATION};
    size_t n = 0;
    const char *id = NULL, *expire = NULL;
    xmpp_stanza_t *c;

    if (st != STORE_OK || !t || t->nrows != 1 || t->ncols < 3) {
        log_warn("adhoc", "%s by %s (id=%s): no invitation made (%s)",
                 run->cmd->node, run->bare,
                 iq_req_id(run->req) ? iq_req_id(run->req) : "",
                 store_status_name(st));
        if (st == STORE_UNAVAILABLE || st == STORE_ERROR)
            adhoc_fail_unavailable(run);
        else
            iq_req_error(run->req, IQ_NOT_ACCEPTABLE,
                         "The database refused the invitation.", NULL);
        adhoc_run_done(run);
        return;
    }
    id = store_table_cell(t, 0, 0);
    expire = store_table_cell(t, 0, 2);
    /* run->list holds token, uri and landing-url (adhoc_invite_submit) */
    if ((expire && !form_data_add(&run->list, "expire", expire)) ||
        !form_data_add(&run->list, "id", id ? id : "")) {
        iq_req_error(run->req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        adhoc_run_done(run);
        return;
    }
    fields[n++] = (struct form_field_def){
        .var = (char *)"uri",
        .type = FORM_TEXT_SINGLE,
        .label = (char *)"The invitation (an xmpp: URI)"};
    if (form_data_get(&run->list, "landing-url"))
        fields[n++] = (struct form_field_def){
            .var = (char *)"landing-url",
            .type = FORM_TEXT_SINGLE,
            .label = (char *)"The invitation's web page"};
    if (expire)
        fields[n++] = (struct form_field_def){.var = (char *)"expire",
                                              .type = FORM_TEXT_SINGLE,
                                              .label = (char *)"Expires"};
    fields[n++] =
        (struct form_field_def){.var = (char *)"token",
                                .type = FORM_TEXT_SINGLE,
                                .label = (char *)"The token (shown once)"};
    fields[n++] = (struct form_field_def){
        .var = (char *)"id",
        .type = FORM_TEXT_SINGLE,
        .label = (char *)"The invitation's id (to revoke it)"};
    def.fields = fields;
    def.nfields = n;
    log_info("adhoc", "%s by %s (id=%s): invitation %s of %s made",
             run->cmd->node, run->bare,
             iq_req_id(run->req) ? iq_req_id(run->req) : "", id, run->service);
    c = adhoc_command_elem(run, run->s ? run->s->id : NULL, "completed");
    if (c)
        xml_add(c,
                form_build(iq_req_ctx(run->req), &def, "result", &run->list));
    adhoc_reply_command(run, c);
    adhoc_run_done(run);
}

/* max_uses: digits; false when not. */
static bool read_uses(const char *v, unsigned *out)
{
    unsigned long n = 0;

    if (!v || !*v) {
        *out = 1;
        return true;
    }
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        n = n * 10 + (unsigned long)(*p - '0');
        if (n > 1000000000UL)
            return false;
    }
    *out = (unsigned)n;
    return true;
}

/* The "var=value" lines of fields into out; false (with *bad, 1-based)
 * at a line without '=' or with an empty var. */
static bool read_prefill(const struct form_value *v, struct form_data *out,
                         size_t *bad)
{
    for (size_t i = 0; v && i < v->nvalues; i++) {
        const char *line = v->values[i], *eq = strchr(line, '=');
        char *var;
        bool ok;

        if (!*line)
            continue;
        if (!eq || eq == line) {
            *bad = i + 1;
            return false;
        }
        if (!(var = strndup(line, (size_t)(eq - line))))
            return false;
        ok = form_data_add(out, var, eq + 1);
        free(var);
        if (!ok)
            return false;
    }
    return true;
}

static void create(struct run *run, struct form_data *data)
{
    const struct conf_invites *conf = &run->adhoc->conf->invites;
    const char *bound = form_data_first(data, "bound_to");
    const char *state = form_data_first(data, "initial_state");
    const char *label = form_data_first(data, "label");
    const char *expires = form_data_first(data, "expires");
    struct form_data prefill = {0};
    char token[SECRET_TOKEN_SIZE], uri[3200], landing[2048], text[160];
    char *bound_norm = NULL;
    unsigned long ttl = conf->default_ttl_s;
    unsigned uses;
    size_t bad = 0;

    if (!read_uses(form_data_first(data, "max_uses"), &uses)) {
        refuse(run, "Field 'max_uses' is not a number (0: unlimited).");
        return;
    }
    if (expires && *expires && !text_duration_parse(expires, &ttl)) {
        refuse(run, "Field 'expires' is not a duration (30m, 12h, 7d, 2w).");
        return;
    }
    if (bound && *bound) {
        /* a domain, or a bare JID, prepared as the servers prepare them */
        enum jid_status js = strchr(bound, '@')
                                 ? jid_normal_bare(bound, &bound_norm)
                                 : jid_normal_domain(bound, &bound_norm);
        if (js != JID_OK) {
            refuse(run, "Field 'bound_to' is not a JID or a domain.");
            return;
        }
    }
    if (!read_prefill(form_data_get(data, "fields"), &prefill, &bad)) {
        form_data_clear(&prefill);
        free(bound_norm);
        if (!bad) {
            iq_req_error(run->req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
            adhoc_run_done(run);
            return;
        }
        snprintf(text, sizeof(text),
                 "Line %zu of field 'fields' is not var=value.", bad);
        refuse(run, text);
        return;
    }
    if (!secret_token(token)) {
        log_error("adhoc", "no randomness for an invitation token");
        form_data_clear(&prefill);
        free(bound_norm);
        iq_req_error(run->req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        adhoc_run_done(run);
        return;
    }
    /* XEP-0401/0445: the service's registration URI with the token */
    snprintf(uri, sizeof(uri), "xmpp:%s?register;preauth=%s", run->service,
             token);
    if (!form_data_add(&run->list, "uri", uri) ||
        !form_data_add(&run->list, "token", token) ||
        (conf->landing_url &&
         (!landing_url(conf->landing_url, token, landing, sizeof(landing)) ||
          !form_data_add(&run->list, "landing-url", landing)))) {
        form_data_clear(&prefill);
        free(bound_norm);
        iq_req_error(run->req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        adhoc_run_done(run);
        return;
    }
    struct store_invite inv = {
        .service = run->service,
        .token = token,
        .ttl_s = ttl,
        .max_uses = uses,
        .bound_to = bound_norm,
        .initial_state = state && *state ? state : NULL,
        .fields = prefill.n ? &prefill : NULL,
        .label = label && *label ? label : NULL,
        .origin = {.iq_id = iq_req_id(run->req), .actor = run->bare},
    };
    store_invite_create(run->adhoc->store, &inv, on_created, run);
    explicit_bzero(token, sizeof(token));
    explicit_bzero(uri, sizeof(uri));
    form_data_clear(&prefill);
    free(bound_norm);
}

/* ---- list -------------------------------------------------------------------
 */

static void on_list(void *arg, enum store_status st,
                    const struct store_table *t)
{
    struct run *run = arg;
    struct form_field_def field = {.var = (char *)run->cmd->var,
                                   .type = FORM_TEXT_MULTI,
                                   .label = (char *)run->cmd->label};
    struct form_def def = {
        .form_type = FORM_TYPE_INVITE, .fields = &field, .nfields = 1};
    struct form_value *v;
    xmpp_stanza_t *c;

    if (st != STORE_OK || !t) {
        adhoc_fail_unavailable(run);
        adhoc_run_done(run);
        return;
    }
    if (!(v = form_data_entry(&run->list, run->cmd->var))) {
        iq_req_error(run->req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        adhoc_run_done(run);
        return;
    }
    /* one line per invitation: its row as JSON (no token, no hash), as
     * many as keep the reply under ADHOC_REPLY_MAX (the envelope, the
     * form and the note: INVITE_LIST_OVERHEAD at most, the iq's own
     * attributes counted apart) */
    size_t shown, room = ADHOC_REPLY_MAX - INVITE_LIST_OVERHEAD, cost;
    size_t attrs = xml_escaped_len(iq_req_id(run->req)) +
                   xml_escaped_len(iq_req_from(run->req)) +
                   xml_escaped_len(iq_req_to(run->req));

    room = attrs < room ? room - attrs : 0;
    for (shown = 0; shown < t->nrows; shown++) {
        cost = strlen("<value></value>") +
               xml_escaped_len(store_table_json(t, shown));
        if (cost > room)
            break;
        room -= cost;
        if (!form_value_append(v, store_table_json(t, shown))) {
            iq_req_error(run->req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
            adhoc_run_done(run);
            return;
        }
    }
    c = adhoc_command_elem(run, run->s ? run->s->id : NULL, "completed");
    if (c) {
        char note[200];

        xml_add(c,
                form_build(iq_req_ctx(run->req), &def, "result", &run->list));
        if (t->nrows == 0)
            adhoc_add_note(c, "info", "No invitations.");
        else if (shown < t->nrows) {
            snprintf(note, sizeof(note),
                     "The newest %zu only, to keep the reply under %d KiB "
                     "(the rest: registrar admin invite-list, or the view "
                     "registration_invites_admin).",
                     shown, ADHOC_REPLY_MAX / 1024);
            adhoc_add_note(c, "warn", note);
        } else if (t->nrows == INVITE_LIST_MAX)
            adhoc_add_note(c, "warn",
                           "The newest 100 only (the rest: registrar admin "
                           "invite list, or the view "
                           "registration_invites_admin).");
    }
    adhoc_reply_command(run, c);
    adhoc_run_done(run);
}

/* ---- revoke -----------------------------------------------------------------
 */

static void on_revoked(void *arg, enum store_status st, bool created)
{
    struct run *run = arg;
    xmpp_stanza_t *c;

    (void)created;
    if (st != STORE_OK && st != STORE_NOT_FOUND) {
        adhoc_fail_unavailable(run);
        adhoc_run_done(run);
        return;
    }
    log_info("adhoc", "%s by %s (id=%s): invitation %s %s", run->cmd->node,
             run->bare, iq_req_id(run->req) ? iq_req_id(run->req) : "",
             run->reason, st == STORE_OK ? "revoked" : "not found");
    c = adhoc_command_elem(run, run->s ? run->s->id : NULL, "completed");
    if (c)
        adhoc_add_note(c, st == STORE_OK ? "info" : "error",
                       st == STORE_OK
                           ? "Revoked."
                           : "No such invitation, or revoked already.");
    adhoc_reply_command(run, c);
    adhoc_run_done(run);
}

static void revoke(struct run *run, struct form_data *data)
{
    const char *v = form_data_first(data, "id");
    unsigned long long id = 0;
    const struct store_origin origin = {.iq_id = iq_req_id(run->req),
                                        .actor = run->bare};

    for (const char *p = v; p && *p; p++) {
        if (*p < '0' || *p > '9' || id > 100000000000000ULL) {
            id = 0;
            break;
        }
        id = id * 10 + (unsigned long long)(*p - '0');
    }
    if (!id) {
        refuse(run, "Field 'id' is not an invitation's id.");
        return;
    }
    /* the id, for the log line (run->reason is freed with the run) */
    if (!(run->reason = strdup(v))) {
        iq_req_error(run->req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        adhoc_run_done(run);
        return;
    }
    store_invite_revoke(run->adhoc->store, run->service, id, &origin,
                        on_revoked, run);
}

/* ---- stages
 * ------------------------------------------------------------------ */

void adhoc_invite_start(struct run *run)
{
    if (run->cmd->invite == INVITE_LIST)
        store_invite_list(run->adhoc->store, run->service, INVITE_LIST_MAX,
                          on_list, run);
    else
        ask_form(run);
}

void adhoc_invite_submit(struct run *run, xmpp_stanza_t *x)
{
    struct form_def def = stage_form(run->cmd);
    struct form_data data = {0};
    struct form_problem problem = {{0}};
    enum form_status st;

    if (run->cmd->invite == INVITE_LIST) {
        adhoc_invite_start(run);
        return;
    }
    st = form_parse(x, &data, &problem);
    /* XEP-0050 section 4.4.1: a form of type cancel counts as submit */
    if (st == FORM_CANCEL) {
        xmpp_stanza_t *copy = xmpp_stanza_copy(x);
        st = FORM_BAD_REQUEST;
        if (copy) {
            form_data_clear(&data);
            xmpp_stanza_set_type(copy, "submit");
            st = form_parse(copy, &data, &problem);
            xmpp_stanza_release(copy);
        }
    }
    if (st == FORM_OK)
        st = form_validate(&def, &data, false, &problem);
    if (st != FORM_OK) {
        form_data_clear(&data);
        refuse(run, problem.text);
        return;
    }
    if (run->cmd->invite == INVITE_CREATE)
        create(run, &data);
    else
        revoke(run, &data);
    form_data_clear(&data);
}
