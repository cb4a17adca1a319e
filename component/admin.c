/*
 * admin.c - `registrar admin`: the command line of the people who
 * administer registrations, as ejabberdctl and prosodyctl are the
 * servers'.  Argument parsing, the commands as one dispatch table (as
 * PgBouncer's admin.c), and their output: a table for people, JSON for
 * scripts (--json).
 *
 * It runs a store that is never attached: every operation answers before
 * it returns (store.h, "Until attached"), so a command is a call and its
 * callback, which prints what the store lends it.  Changes go through the
 * store's operations, so through the SQL functions of the XEP-0133
 * commands (adhoc_admin.c), with the same from-states (activate: from
 * pending; reenable: from disabled, or else the JID's ban lifted; disable
 * and delete: from any state) and the operating-system user as the actor
 * (admin_actor()): each is an event.  Which database role may do what is
 * the database's to decide (doc/backend.md): a refusal (STORE_DENIED) is
 * exit 76 and a sentence naming the role to grant.  No SQL, no XMPP; the
 * values it prints are the database's, shown with every control, format
 * or bidi character as '?' (text_excerpt) in tables.
 */
#include "admin.h"

#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "form_values.h"
#include "jid.h"
#include "log.h"
#include "secret.h"
#include "store.h"
#include "text.h"

/* A disable's reason, in characters (the database's CHECK). */
#define ADMIN_REASON_MAX 1024
#define ADMIN_ACTOR_MAX 300

/* Which options a command takes besides the common ones. */
enum {
    TAKES_STATE = 1 << 0,
    TAKES_REASON = 1 << 1,
    TAKES_SINCE = 1 << 2,
    TAKES_JID = 1 << 3,
    TAKES_LIMIT = 1 << 4,
    TAKES_INVITE = 1 << 5, /* --uses, --expires, --for, --label */
};

/* Which service a command acts on. */
enum scope {
    SCOPE_SERVICE, /* one: --service, or the configuration's only one */
    SCOPE_ALL,     /* every service of the database (a person's data) */
};

struct admin;

struct admin_cmd {
    const char *name;
    const char *args; /* for the usage text */
    const char *help;
    bool jid_arg;   /* takes one JID */
    unsigned takes; /* TAKES_* */
    enum scope scope;
    const char *needs; /* the roles that may, for a refusal (42501) */
    int (*run)(struct admin *a);
};

/* One run of `registrar admin`. */
struct admin {
    const struct admin_cmd *cmd;
    bool json;
    const char *service; /* the service acted on (borrowed), or NULL */
    char *jid;           /* the command's JID, prepared; owned */
    char *filter_jid;    /* events --jid, prepared; owned */
    const char *state;   /* list --state, as given */
    const char *reason;  /* disable --reason */
    /* invite-create: --uses, --expires (seconds), --for, --label, --state;
     * invite-revoke: the id */
    unsigned uses;
    unsigned long ttl_s;
    char *bound_to; /* prepared; owned */
    const char *label;
    const char *landing_url; /* the configuration's, or NULL */
    unsigned long long invite_id;
    unsigned long long since;
    unsigned limit;
    char actor[ADMIN_ACTOR_MAX];
    struct store *store;
    /* the answer of the operation in hand */
    bool answered;
    enum store_status st;
};

/* ---- output ---------------------------------------------------------------
 */

/* Characters of UTF-8 text (its bytes that start one). */
static size_t width_of(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* A cell as a terminal may show it: '?' for every control, format, bidi
 * or invalid byte (text_excerpt); NULL: "".  Caller frees; NULL when out of
 * memory. */
static char *shown(const char *cell)
{
    size_t len = cell ? strlen(cell) : 0;
    char *out = malloc(len + 1);

    if (out)
        text_excerpt(out, len + 1, cell ? cell : "", len);
    return out;
}

static void print_upper(const char *s)
{
    for (; *s; s++)
        putchar(*s >= 'a' && *s <= 'z' ? *s - 'a' + 'A' : *s);
}

/* The rows of t as aligned columns under their names, then "(N what)". */
static bool print_table(const struct store_table *t, const char *one,
                        const char *many)
{
    size_t *width = calloc(t->ncols ? t->ncols : 1, sizeof(*width));
    char **cells = calloc(t->nrows * t->ncols + 1, sizeof(*cells));
    bool ok = width && cells;

    for (size_t c = 0; ok && c < t->ncols; c++)
        width[c] = width_of(t->names[c]);
    for (size_t r = 0; ok && r < t->nrows; r++)
        for (size_t c = 0; ok && c < t->ncols; c++) {
            char **cell = &cells[r * t->ncols + c];
            size_t w;

            ok = (*cell = shown(store_table_cell(t, r, c))) != NULL;
            if (ok && (w = width_of(*cell)) > width[c])
                width[c] = w;
        }
    for (size_t r = 0; ok && r <= t->nrows; r++) {
        /* row 0: the names; no padding after the last cell that shows */
        char *const *row = r ? &cells[(r - 1) * t->ncols] : t->names;
        size_t last = t->ncols;

        while (last > 1 && !*row[last - 1])
            last--;
        for (size_t c = 0; c < last; c++) {
            if (r)
                fputs(row[c], stdout);
            else
                print_upper(row[c]);
            if (c + 1 < last)
                printf("%*s", (int)(width[c] - width_of(row[c])) + 2, "");
        }
        putchar('\n');
    }
    if (ok)
        printf("(%zu %s)\n", t->nrows, t->nrows == 1 ? one : many);
    for (size_t i = 0; cells && i < t->nrows * t->ncols; i++)
        free(cells[i]);
    free(cells);
    free(width);
    return ok;
}

/* The one row of t as "name  value" lines. */
static bool print_record(const struct store_table *t)
{
    size_t w = 0;

    for (size_t c = 0; c < t->ncols; c++)
        if (width_of(t->names[c]) > w)
            w = width_of(t->names[c]);
    for (size_t c = 0; t->nrows && c < t->ncols; c++) {
        char *v = shown(store_table_cell(t, 0, c));

        if (!v)
            return false;
        printf("%s%*s  %s\n", t->names[c], (int)(w - width_of(t->names[c])), "",
               v);
        free(v);
    }
    return true;
}

/* The rows of t as one JSON array, a row per line. */
static void print_json_rows(const struct store_table *t)
{
    if (t->nrows == 0) {
        puts("[]");
        return;
    }
    for (size_t r = 0; r < t->nrows; r++)
        printf("%s%s", r ? ",\n " : "[", store_table_json(t, r));
    puts("]");
}

/* s as a JSON string. */
static void print_json_string(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

/* ---- answers ----------------------------------------------------------- */

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;

    fputs("registrar admin: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* The exit code of a status other than OK, NOT_FOUND and NOT_ALLOWED
 * (the commands word those), with its sentence. */
static int exit_of(const struct admin *a, enum store_status st)
{
    switch (st) {
    case STORE_DENIED:
        fail("permission denied: %s needs a role granted %s", a->cmd->name,
             a->cmd->needs);
        return ADMIN_EXIT_DENIED;
    case STORE_UNAVAILABLE:
        fail("the database is unreachable or did not answer in time (see "
             "above): try again");
        return ADMIN_EXIT_TEMPFAIL;
    default:
        fail("%s failed: the database answered %s (see above)", a->cmd->name,
             store_status_name(st));
        return ADMIN_EXIT_DATABASE;
    }
}

static int not_registered(const struct admin *a)
{
    fail("no registration of %s with %s", a->jid, a->service);
    return ADMIN_EXIT_NOT_FOUND;
}

/* ---- the commands ------------------------------------------------------ */

/* The callbacks of a table: what is lent is printed before they return. */
enum shape {
    SHAPE_ROWS,   /* a table, or a JSON array */
    SHAPE_RECORD, /* name and value lines, or the JSON object */
    SHAPE_JSON,   /* the JSON of the one row (a document), either way */
};

struct table_req {
    struct admin *a;
    enum shape shape;
    const char *one, *many;
};

static void on_table(void *arg, enum store_status st,
                     const struct store_table *t)
{
    struct table_req *q = arg;
    struct admin *a = q->a;
    bool ok = true;

    a->answered = true;
    a->st = st;
    if (st != STORE_OK)
        return;
    if (q->shape == SHAPE_ROWS && a->json)
        print_json_rows(t);
    else if (q->shape == SHAPE_ROWS)
        ok = print_table(t, q->one, q->many);
    else if (t->nrows && (a->json || q->shape == SHAPE_JSON))
        puts(store_table_json(t, 0));
    else
        ok = print_record(t);
    if (!ok) {
        fail("out of memory");
        a->st = STORE_ERROR;
    }
}

/* Whether the operation just called answered: the store is not attached,
 * so it must have (store.h). */
static int answered(struct admin *a)
{
    if (!a->answered) {
        fail("BUG: the store did not answer before returning");
        return ADMIN_EXIT_DATABASE;
    }
    return 0;
}

static int cmd_list(struct admin *a)
{
    struct table_req q = {a, SHAPE_ROWS, "registration", "registrations"};
    enum store_state state = STORE_STATE_ACTIVE;
    bool by_state = a->state && strcmp(a->state, "banned") != 0;

    if (by_state) {
        if (!strcmp(a->state, "active"))
            state = STORE_STATE_ACTIVE;
        else if (!strcmp(a->state, "pending"))
            state = STORE_STATE_PENDING;
        else
            state = STORE_STATE_DISABLED;
    }
    if (a->state && !by_state) {
        q.one = "ban";
        q.many = "bans";
        store_bans(a->store, a->service, on_table, &q);
    } else {
        store_registrations(a->store, a->service, by_state ? &state : NULL,
                            on_table, &q);
    }
    if (answered(a))
        return ADMIN_EXIT_DATABASE;
    return a->st == STORE_OK ? 0 : exit_of(a, a->st);
}

static int cmd_show(struct admin *a)
{
    struct table_req q = {a, SHAPE_RECORD, NULL, NULL};

    store_registration(a->store, a->service, a->jid, on_table, &q);
    if (answered(a))
        return ADMIN_EXIT_DATABASE;
    return a->st == STORE_OK          ? 0
           : a->st == STORE_NOT_FOUND ? not_registered(a)
                                      : exit_of(a, a->st);
}

static int cmd_events(struct admin *a)
{
    struct table_req q = {a, SHAPE_ROWS, "event", "events"};

    store_events_since(a->store, a->service, a->filter_jid, a->since, a->limit,
                       on_table, &q);
    if (answered(a))
        return ADMIN_EXIT_DATABASE;
    return a->st == STORE_OK ? 0 : exit_of(a, a->st);
}

static int cmd_stats(struct admin *a)
{
    struct table_req q = {a, SHAPE_RECORD, NULL, NULL};

    store_stats(a->store, a->service, on_table, &q);
    if (answered(a))
        return ADMIN_EXIT_DATABASE;
    return a->st == STORE_OK ? 0 : exit_of(a, a->st);
}

static int cmd_export(struct admin *a)
{
    struct table_req q = {a, SHAPE_JSON, NULL, NULL};

    store_export(a->store, a->jid, on_table, &q);
    if (answered(a))
        return ADMIN_EXIT_DATABASE;
    if (a->st == STORE_NOT_FOUND) {
        fail("nothing is stored about %s (no registration, ban or event in "
             "any service)",
             a->jid);
        return ADMIN_EXIT_NOT_FOUND;
    }
    return a->st == STORE_OK ? 0 : exit_of(a, a->st);
}

/* forget's one row: what it deleted. */
static void on_forgotten(void *arg, enum store_status st,
                         const struct store_table *t)
{
    struct admin *a = arg;

    a->answered = true;
    a->st = st;
    if (st != STORE_OK)
        return;
    if (t->nrows != 1 || t->ncols < 3) {
        a->st = STORE_ERROR; /* not store_forget's row */
        return;
    }
    if (a->json) {
        puts(store_table_json(t, 0));
        return;
    }
    /* the columns of store_forget: registrations, bans, events */
    printf("forgot %s in every service: deleted %s registration(s), %s "
           "ban(s), %s event(s)\n",
           a->jid, store_table_cell(t, 0, 0), store_table_cell(t, 0, 1),
           store_table_cell(t, 0, 2));
}

static int cmd_forget(struct admin *a)
{
    store_forget(a->store, a->jid, on_forgotten, a);
    if (answered(a))
        return ADMIN_EXIT_DATABASE;
    if (a->st == STORE_NOT_FOUND) {
        fail("nothing is stored about %s (no registration, ban or event in "
             "any service): nothing to forget",
             a->jid);
        return ADMIN_EXIT_NOT_FOUND;
    }
    return a->st == STORE_OK ? 0 : exit_of(a, a->st);
}

/* ---- invitations (sql/013) ------------------------------------------------
 */

static void on_invite(void *arg, enum store_status st,
                      const struct store_table *t)
{
    struct admin *a = arg;
    const char *token, *expires, *id;
    char uri[3200], landing[2048] = "";
    const char *at;

    a->answered = true;
    a->st = st;
    if (st != STORE_OK)
        return;
    if (t->nrows != 1 || t->ncols < 3) {
        a->st = STORE_ERROR;
        return;
    }
    id = store_table_cell(t, 0, 0);
    token = store_table_cell(t, 0, 1);
    expires = store_table_cell(t, 0, 2);
    snprintf(uri, sizeof(uri), "xmpp:%s?register;preauth=%s", a->service,
             token);
    if (a->landing_url && (at = strstr(a->landing_url, "{token}")))
        text_format(landing, sizeof(landing), "%.*s%s%s",
                    (int)(at - a->landing_url), a->landing_url, token,
                    at + strlen("{token}"));
    if (a->json) {
        fputs("{\"id\": ", stdout);
        fputs(id, stdout);
        fputs(", \"service\": ", stdout);
        print_json_string(a->service);
        fputs(", \"token\": ", stdout);
        print_json_string(token);
        fputs(", \"uri\": ", stdout);
        print_json_string(uri);
        fputs(", \"landing_url\": ", stdout);
        if (*landing)
            print_json_string(landing);
        else
            fputs("null", stdout);
        fputs(", \"expires\": ", stdout);
        if (expires)
            print_json_string(expires);
        else
            fputs("null", stdout);
        puts("}");
        return;
    }
    printf("id           %s\n"
           "token        %s   (shown once: only its hash is stored)\n"
           "uri          %s\n",
           id, token, uri);
    if (*landing)
        printf("landing_url  %s\n", landing);
    printf("expires      %s\n", expires ? expires : "never");
}

static int cmd_invite_create(struct admin *a)
{
    char token[SECRET_TOKEN_SIZE];
    struct store_invite inv = {
        .service = a->service,
        .token = token,
        .ttl_s = a->ttl_s,
        .max_uses = a->uses,
        .bound_to = a->bound_to,
        .initial_state = a->state,
        .label = a->label,
        .origin = {.actor = a->actor},
    };

    if (!secret_token(token)) {
        fail("no randomness for the token (getrandom)");
        return ADMIN_EXIT_DATABASE;
    }
    store_invite_create(a->store, &inv, on_invite, a);
    explicit_bzero(token, sizeof(token));
    if (answered(a))
        return ADMIN_EXIT_DATABASE;
    return a->st == STORE_OK ? 0 : exit_of(a, a->st);
}

static int cmd_invite_list(struct admin *a)
{
    struct table_req q = {a, SHAPE_ROWS, "invitation", "invitations"};

    store_invite_list(a->store, a->service, a->limit, on_table, &q);
    if (answered(a))
        return ADMIN_EXIT_DATABASE;
    return a->st == STORE_OK ? 0 : exit_of(a, a->st);
}

static void on_done(void *arg, enum store_status st, bool created);

static int cmd_invite_revoke(struct admin *a)
{
    struct store_origin origin = {.actor = a->actor};

    store_invite_revoke(a->store, a->service, a->invite_id, &origin, on_done,
                        a);
    if (answered(a))
        return ADMIN_EXIT_DATABASE;
    if (a->st == STORE_NOT_FOUND) {
        fail("no invitation %llu of %s, or revoked already", a->invite_id,
             a->service);
        return ADMIN_EXIT_NOT_FOUND;
    }
    if (a->st != STORE_OK)
        return exit_of(a, a->st);
    if (a->json)
        printf("{\"command\": \"invite-revoke\", \"id\": %llu, "
               "\"result\": \"revoked\"}\n",
               a->invite_id);
    else
        printf("revoked invitation %llu of %s (actor %s)\n", a->invite_id,
               a->service, a->actor);
    return 0;
}

/* ---- changes: each an event with the actor ----------------------------- */

static void on_done(void *arg, enum store_status st, bool created)
{
    struct admin *a = arg;

    (void)created;
    a->answered = true;
    a->st = st;
}

/* What a change did, said to people or scripts. */
static int changed(const struct admin *a, const char *result,
                   const char *sentence)
{
    if (a->json) {
        fputs("{\"command\": ", stdout);
        print_json_string(a->cmd->name);
        fputs(", \"service\": ", stdout);
        print_json_string(a->service);
        fputs(", \"jid\": ", stdout);
        print_json_string(a->jid);
        fputs(", \"result\": ", stdout);
        print_json_string(result);
        fputs(", \"actor\": ", stdout);
        print_json_string(a->actor);
        puts("}");
    } else {
        printf("%s %s with %s (actor %s)\n", sentence, a->jid, a->service,
               a->actor);
    }
    return 0;
}

/* Sets the state from *from (NULL: any); the answer in a. */
static int set_state(struct admin *a, enum store_state to,
                     const enum store_state *from)
{
    struct store_origin origin = {.actor = a->actor, .reason = a->reason};

    a->answered = false;
    store_set_state(a->store, a->service, a->jid, to, from, &origin, on_done,
                    a);
    return answered(a);
}

static int cmd_activate(struct admin *a)
{
    enum store_state from = STORE_STATE_PENDING;

    if (set_state(a, STORE_STATE_ACTIVE, &from))
        return ADMIN_EXIT_DATABASE;
    switch (a->st) {
    case STORE_OK:
        return changed(a, "activated", "activated");
    case STORE_NOT_FOUND:
        return not_registered(a);
    case STORE_NOT_ALLOWED:
        fail("the registration of %s with %s is not pending: left as it is",
             a->jid, a->service);
        return ADMIN_EXIT_WRONG_STATE;
    default:
        return exit_of(a, a->st);
    }
}

static int cmd_disable(struct admin *a)
{
    if (set_state(a, STORE_STATE_DISABLED, NULL))
        return ADMIN_EXIT_DATABASE;
    switch (a->st) {
    case STORE_OK:
        return changed(a, "disabled", "disabled");
    case STORE_NOT_FOUND:
        return not_registered(a);
    default:
        return exit_of(a, a->st);
    }
}

static int cmd_reenable(struct admin *a)
{
    enum store_state from = STORE_STATE_DISABLED;
    struct store_origin origin = {.actor = a->actor};

    if (set_state(a, STORE_STATE_ACTIVE, &from))
        return ADMIN_EXIT_DATABASE;
    switch (a->st) {
    case STORE_OK:
        return changed(a, "reenabled", "re-enabled");
    case STORE_NOT_FOUND:
        /* no registration: its user may have cancelled it while it was
         * disabled, which left a ban; re-enabling lifts it (as the
         * reenable-user command does) */
        a->answered = false;
        store_unban(a->store, a->service, a->jid, &origin, on_done, a);
        if (answered(a))
            return ADMIN_EXIT_DATABASE;
        if (a->st == STORE_OK)
            return changed(a, "ban_lifted",
                           "lifted the ban (they may register again) of");
        if (a->st != STORE_NOT_FOUND)
            return exit_of(a, a->st);
        fail("no registration of %s with %s, and no ban", a->jid, a->service);
        return ADMIN_EXIT_NOT_FOUND;
    case STORE_NOT_ALLOWED:
        fail("the registration of %s with %s is not disabled: left as it is",
             a->jid, a->service);
        return ADMIN_EXIT_WRONG_STATE;
    default:
        return exit_of(a, a->st);
    }
}

static int cmd_delete(struct admin *a)
{
    struct store_origin origin = {.actor = a->actor};

    /* with an actor: deleted, nobody banned (an admin's delete-user) */
    a->answered = false;
    store_remove(a->store, a->service, a->jid, &origin, on_done, a);
    if (answered(a))
        return ADMIN_EXIT_DATABASE;
    switch (a->st) {
    case STORE_OK:
        return changed(a, "deleted", "deleted the registration of");
    case STORE_NOT_FOUND:
        return not_registered(a);
    default:
        return exit_of(a, a->st);
    }
}

/* The roles that may, for the sentence of a refusal (doc/backend.md,
 * "Database roles"). */
#define NEEDS_READ                                                             \
    "registrar_service or registrar_backend (registrar_admin includes it): "   \
    "the configuration's conninfo, or --database CONNINFO with such a role"
#define NEEDS_VIEW                                                             \
    "registrar_service or registrar_reader (registrar_backend and "            \
    "registrar_admin include it): the configuration's conninfo, or "           \
    "--database CONNINFO with such a role"
#define NEEDS_WRITE                                                            \
    "registrar_service: run it with the configuration's conninfo "             \
    "(registrar's own role) instead of --database, or GRANT "                  \
    "registrar_service TO your role"
#define NEEDS_ADMIN                                                            \
    "registrar_admin: use --database CONNINFO with such a role (e.g. your "    \
    "own: GRANT registrar_admin TO it)"

static const struct admin_cmd admin_cmds[] = {
    {"list", "[--state active|pending|disabled|banned]",
     "the service's registrations, or its bans", false, TAKES_STATE,
     SCOPE_SERVICE, NEEDS_READ, cmd_list},
    {"show", "JID", "one registration, without any hash", true, 0,
     SCOPE_SERVICE, NEEDS_VIEW, cmd_show},
    {"activate", "JID", "a pending registration becomes active", true, 0,
     SCOPE_SERVICE, NEEDS_WRITE, cmd_activate},
    {"disable", "JID [--reason R]", "disables it; R is shown to its user", true,
     TAKES_REASON, SCOPE_SERVICE, NEEDS_WRITE, cmd_disable},
    {"reenable", "JID",
     "a disabled one becomes active; with no\n"
     "registration, the JID's ban is lifted",
     true, 0, SCOPE_SERVICE, NEEDS_WRITE, cmd_reenable},
    {"delete", "JID", "deletes the registration (bans nobody)", true, 0,
     SCOPE_SERVICE, NEEDS_WRITE, cmd_delete},
    {"export", "JID", "all that is stored about JID, as JSON", true, 0,
     SCOPE_ALL, NEEDS_VIEW, cmd_export},
    {"forget", "JID", "erases JID: registrations, bans, events", true, 0,
     SCOPE_ALL, NEEDS_ADMIN, cmd_forget},
    {"events", "[--since ID] [--jid JID] [--limit N]",
     "the service's events after ID, oldest first", false,
     TAKES_SINCE | TAKES_JID | TAKES_LIMIT, SCOPE_SERVICE, NEEDS_VIEW,
     cmd_events},
    {"stats", "", "registrations by state, and bans", false, 0, SCOPE_SERVICE,
     NEEDS_READ, cmd_stats},
    {"invite-create", "[OPTIONS]",
     "a new invitation, its token shown once:\n"
     "--uses N (0: unlimited; default 1),\n"
     "--expires DURATION (30m, 12h, 7d, 2w;\n"
     "default the service's default_ttl),\n"
     "--for JID|DOMAIN, --state active|pending,\n"
     "--label TEXT",
     false, TAKES_INVITE | TAKES_STATE, SCOPE_SERVICE, NEEDS_WRITE,
     cmd_invite_create},
    {"invite-list", "[--limit N]", "the invitations, newest first", false,
     TAKES_LIMIT, SCOPE_SERVICE, NEEDS_READ, cmd_invite_list},
    {"invite-revoke", "ID", "revokes invitation ID", false, 0, SCOPE_SERVICE,
     NEEDS_WRITE, cmd_invite_revoke},
};

#define ADMIN_NCMDS (sizeof(admin_cmds) / sizeof(admin_cmds[0]))

static void usage(FILE *out)
{
    fputs("Usage: registrar admin [--config FILE] [--database CONNINFO]\n"
          "                       [--service JID] [--json] [-v] COMMAND "
          "[ARGS]\n"
          "Administer the registrations in registrar's database.\n"
          "\n"
          "Commands:\n",
          out);
    for (size_t i = 0; i < ADMIN_NCMDS; i++) {
        char head[64];

        snprintf(head, sizeof(head), "%s %s", admin_cmds[i].name,
                 admin_cmds[i].args);
        if (strlen(head) > 26)
            fprintf(out, "  %s\n  %-26s  ", head, "");
        else
            fprintf(out, "  %-26s  ", head);
        /* a help's second line under its first */
        for (const char *p = admin_cmds[i].help; *p; p++) {
            if (*p == '\n')
                fprintf(out, "\n%30s", "");
            else
                fputc(*p, out);
        }
        fputc('\n', out);
    }
    fprintf(out,
            "\n"
            "Options:\n"
            "  -c, --config FILE           its conninfo and its services\n"
            "      --database CONNINFO     connect with CONNINFO instead (a "
            "role of\n"
            "                              your own); --config is then "
            "optional\n"
            "      --service JID           the service acted on: needed when "
            "FILE\n"
            "                              has several, or without --config\n"
            "      --json                  print JSON, for scripts\n"
            "  -v, --verbose               log at debug level\n"
            "  -h, --help                  print this help and exit\n"
            "\n"
            "A change is an event whose actor is \"os:\" and your "
            "operating-system\n"
            "user (the one who logged in, through su and sudo).\n"
            "Exit codes: 0 done, %d no such registration (or nothing "
            "stored),\n"
            "%d not in the state the command changes, %d usage, %d database "
            "error,\n"
            "%d database unreachable, %d the database role lacks a right, %d "
            "invalid\n"
            "configuration.\n",
            ADMIN_EXIT_NOT_FOUND, ADMIN_EXIT_WRONG_STATE, ADMIN_EXIT_USAGE,
            ADMIN_EXIT_DATABASE, ADMIN_EXIT_TEMPFAIL, ADMIN_EXIT_DENIED,
            CONF_EXIT_INVALID);
}

/* ---- the actor ----------------------------------------------------------- */

/* The kernel's audit login uid (pam_loginuid), kept through su and sudo and
 * not changed by the user's own processes; false when unset. */
static bool login_uid(uid_t *uid)
{
    FILE *f = fopen("/proc/self/loginuid", "r");
    unsigned long v;
    bool ok;

    if (!f)
        return false;
    ok = fscanf(f, "%lu", &v) == 1 && v != 4294967295UL;
    fclose(f);
    if (ok)
        *uid = (uid_t)v;
    return ok;
}

void admin_actor(char *out, size_t size)
{
    uid_t uid;
    struct passwd pw, *found = NULL;
    char buf[4096];

    if (!login_uid(&uid))
        uid = getuid();
    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) == 0 && found &&
        found->pw_name && *found->pw_name)
        text_format(out, size, "os:%s", found->pw_name);
    else
        text_format(out, size, "os:#%lu", (unsigned long)uid);
}

/* ---- arguments ----------------------------------------------------------- */

static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("registrar admin: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'registrar admin --help'.\n", stderr);
    return ADMIN_EXIT_USAGE;
}

/* A JID given on the command line, prepared as the servers prepare it
 * (jid.h): the form registrations are stored in.  Into *out (caller
 * frees). */
static int take_jid(const char *given, const char *what, char **out)
{
    char quoted[TEXT_EXCERPT_SIZE(TEXT_EXCERPT_CHARS)];

    switch (jid_normal_bare(given, out)) {
    case JID_OK:
        return 0;
    case JID_NOMEM:
        fail("out of memory");
        return ADMIN_EXIT_DATABASE;
    default:
        return usage_error(
            "%s '%s': %s", what,
            text_excerpt(quoted, sizeof(quoted), given, TEXT_EXCERPT_CHARS),
            jid_status_text(JID_INVALID));
    }
}

static bool parse_number(const char *s, unsigned long long max,
                         unsigned long long *out)
{
    char *end;

    if (!*s || *s < '0' || *s > '9')
        return false;
    *out = strtoull(s, &end, 10);
    return !*end && *out <= max;
}

/* Which service the command acts on: --service, which FILE must have, or
 * FILE's only one.  0, or the exit code. */
static int pick_service(struct admin *a, struct conf *conf, const char *service)
{
    const struct conf *s;

    if (a->cmd->scope == SCOPE_ALL) {
        if (service)
            return usage_error("%s acts on every service of the database: "
                               "--service does not apply",
                               a->cmd->name);
        return 0;
    }
    if (!conf) {
        if (!service)
            return usage_error("%s needs --service JID without --config",
                               a->cmd->name);
        a->service = service;
        return 0;
    }
    if (service) {
        if (!(s = conf_service(conf, service)))
            return usage_error("%s has no service %s", conf->path, service);
        a->service = s->component.jid;
        return 0;
    }
    if (conf_services(conf) > 1) {
        fprintf(stderr,
                "registrar admin: %s has %zu services: say which with "
                "--service JID, one of:",
                conf->path, conf_services(conf));
        for (s = conf; s; s = s->next)
            fprintf(stderr, " %s", s->component.jid);
        fputc('\n', stderr);
        return ADMIN_EXIT_USAGE;
    }
    a->service = conf->component.jid;
    return 0;
}

int admin_main(int argc, char **argv)
{
    enum {
        OPT_DATABASE = 256,
        OPT_SERVICE,
        OPT_JSON,
        OPT_STATE,
        OPT_REASON,
        OPT_SINCE,
        OPT_JID,
        OPT_LIMIT,
        OPT_USES,
        OPT_EXPIRES,
        OPT_FOR,
        OPT_LABEL,
    };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"database", required_argument, NULL, OPT_DATABASE},
        {"service", required_argument, NULL, OPT_SERVICE},
        {"json", no_argument, NULL, OPT_JSON},
        {"state", required_argument, NULL, OPT_STATE},
        {"reason", required_argument, NULL, OPT_REASON},
        {"since", required_argument, NULL, OPT_SINCE},
        {"jid", required_argument, NULL, OPT_JID},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"uses", required_argument, NULL, OPT_USES},
        {"expires", required_argument, NULL, OPT_EXPIRES},
        {"for", required_argument, NULL, OPT_FOR},
        {"label", required_argument, NULL, OPT_LABEL},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct admin a = {0};
    const char *config = NULL, *database = NULL, *service = NULL;
    const char *since = NULL, *jid_opt = NULL, *limit = NULL;
    const char *uses = NULL, *expires = NULL, *bound = NULL;
    struct conf *conf = NULL;
    unsigned takes = 0;
    bool verbose = false, id_arg;
    unsigned long long n;
    int opt, rc;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config = optarg;
            break;
        case OPT_DATABASE:
            database = optarg;
            break;
        case OPT_SERVICE:
            service = optarg;
            break;
        case OPT_JSON:
            a.json = true;
            break;
        case OPT_STATE:
            a.state = optarg;
            takes |= TAKES_STATE;
            break;
        case OPT_REASON:
            a.reason = *optarg ? optarg : NULL; /* "": none, as XMPP's */
            takes |= TAKES_REASON;
            break;
        case OPT_SINCE:
            since = optarg;
            takes |= TAKES_SINCE;
            break;
        case OPT_JID:
            jid_opt = optarg;
            takes |= TAKES_JID;
            break;
        case OPT_LIMIT:
            limit = optarg;
            takes |= TAKES_LIMIT;
            break;
        case OPT_USES:
            uses = optarg;
            takes |= TAKES_INVITE;
            break;
        case OPT_EXPIRES:
            expires = optarg;
            takes |= TAKES_INVITE;
            break;
        case OPT_FOR:
            bound = optarg;
            takes |= TAKES_INVITE;
            break;
        case OPT_LABEL:
            a.label = *optarg ? optarg : NULL;
            takes |= TAKES_INVITE;
            break;
        case 'v':
            verbose = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            return usage_error("unknown option or missing value");
        }
    }
    if (optind >= argc)
        return usage_error("no command given");
    for (size_t i = 0; i < ADMIN_NCMDS && !a.cmd; i++)
        if (!strcmp(argv[optind], admin_cmds[i].name))
            a.cmd = &admin_cmds[i];
    if (!a.cmd)
        return usage_error("unknown command '%s'", argv[optind]);
    optind++;
    /* invite-revoke takes an invitation's id */
    id_arg = a.cmd->run == cmd_invite_revoke;
    if (a.cmd->jid_arg && optind >= argc)
        return usage_error("%s needs a JID: %s %s", a.cmd->name, a.cmd->name,
                           a.cmd->args);
    if (id_arg && optind >= argc)
        return usage_error("%s needs an invitation id: %s %s", a.cmd->name,
                           a.cmd->name, a.cmd->args);
    if (argc - optind > (a.cmd->jid_arg || id_arg ? 1 : 0))
        return usage_error("%s: unexpected argument '%s'", a.cmd->name,
                           argv[optind + (a.cmd->jid_arg || id_arg ? 1 : 0)]);
    if (id_arg && (!parse_number(argv[optind], (unsigned long long)INT64_MAX,
                                 &a.invite_id) ||
                   a.invite_id == 0))
        return usage_error("%s %s: give an invitation's id (see invite-list)",
                           a.cmd->name, argv[optind]);
    if (takes & ~a.cmd->takes)
        return usage_error("%s takes no such option: %s %s", a.cmd->name,
                           a.cmd->name, a.cmd->args);
    if (!config && !database)
        return usage_error("--config FILE or --database CONNINFO is needed");

    /* the values, checked before anything connects */
    if (a.state && a.cmd->run == cmd_invite_create &&
        strcmp(a.state, "active") && strcmp(a.state, "pending"))
        return usage_error("--state %s: give active or pending", a.state);
    a.uses = 1;
    if (uses) {
        if (!parse_number(uses, 1000000000ULL, &n))
            return usage_error("--uses %s: give a number of uses (0: "
                               "unlimited)",
                               uses);
        a.uses = (unsigned)n;
    }
    if (expires && !text_duration_parse(expires, &a.ttl_s))
        return usage_error("--expires %s: give a duration (30m, 12h, 7d, 2w)",
                           expires);
    if (a.label &&
        (!text_xml_chars_ok(a.label) || form_has_control(a.label, false) ||
         width_of(a.label) > 256))
        return usage_error("--label: at most 256 characters of text, no "
                           "control characters");
    if (bound) {
        enum jid_status js = strchr(bound, '@')
                                 ? jid_normal_bare(bound, &a.bound_to)
                                 : jid_normal_domain(bound, &a.bound_to);
        if (js != JID_OK)
            return usage_error("--for %s: give a JID or a domain", bound);
    }
    if (a.state && strcmp(a.state, "active") && strcmp(a.state, "pending") &&
        strcmp(a.state, "disabled") && strcmp(a.state, "banned"))
        return usage_error("--state %s: give active, pending, disabled or "
                           "banned",
                           a.state);
    if (a.reason &&
        (!text_xml_chars_ok(a.reason) || form_has_control(a.reason, false) ||
         width_of(a.reason) > ADMIN_REASON_MAX))
        return usage_error("--reason: at most %d characters of text, no "
                           "control characters (it is shown to the user)",
                           ADMIN_REASON_MAX);
    if (since && !parse_number(since, (unsigned long long)INT64_MAX, &a.since))
        return usage_error("--since %s: give an event id (0 or more)", since);
    if (limit) {
        if (!parse_number(limit, 1000000000ULL, &n) || n == 0)
            return usage_error("--limit %s: give a number of events (1 or "
                               "more)",
                               limit);
        a.limit = (unsigned)n;
    }
    if (a.cmd->jid_arg && (rc = take_jid(argv[optind], "the JID", &a.jid)))
        goto out;
    if (jid_opt && (rc = take_jid(jid_opt, "--jid", &a.filter_jid)))
        goto out;

    log_set_level(verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN);
    if (config && !(conf = conf_load(config, stderr))) {
        rc = CONF_EXIT_INVALID;
        goto out;
    }
    if ((rc = pick_service(&a, conf, service)))
        goto out;
    /* invite-create: the service's defaults (without FILE: 7 days) */
    if (!expires)
        a.ttl_s = 7 * 86400;
    for (const struct conf *sv = conf; sv; sv = sv->next)
        if (a.service && !strcmp(sv->component.jid, a.service)) {
            if (!expires)
                a.ttl_s = sv->invites.default_ttl_s;
            a.landing_url = sv->invites.landing_url;
        }
    admin_actor(a.actor, sizeof(a.actor));

    if (!(a.store = store_new(database ? database : conf->database.conninfo))) {
        fail("out of memory");
        rc = ADMIN_EXIT_DATABASE;
        goto out;
    }
    if (conf)
        store_set_statement_timeout(a.store,
                                    conf->database.statement_timeout_s);
    /* the schema checked as the daemon's start does (it never serves on a
     * schema newer than itself, nor on one behind it that it may not
     * migrate) */
    switch (store_prepare(a.store)) {
    case STORE_OK:
        rc = a.cmd->run(&a);
        break;
    case STORE_UNAVAILABLE:
        fail("cannot reach the database (see above)");
        rc = ADMIN_EXIT_TEMPFAIL;
        break;
    default:
        fail("the database schema cannot be used by this registrar (see "
             "above)");
        rc = ADMIN_EXIT_DATABASE;
        break;
    }
out:
    if (fflush(stdout) != 0 && rc == 0) {
        perror("registrar admin: stdout");
        rc = ADMIN_EXIT_DATABASE;
    }
    store_close(a.store);
    conf_free(conf);
    free(a.jid);
    free(a.filter_jid);
    free(a.bound_to);
    return rc;
}
