/*
 * conf.c - reads the configuration file with libconfuse into struct conf.
 *
 * The only file that includes confuse.h.  Every check that can be made
 * without the network is made here, each problem reported as
 * "FILE:LINE: reason"; nothing here connects anywhere or logs secrets.
 */
#include "conf.h"
#include "text.h"

#include <confuse.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The load in progress: libconfuse callbacks carry no user pointer, and a
 * load is single-threaded and not re-entrant. */
static struct {
    FILE *err;
    const char *path;
    int problems;
    bool titled; /* the file's services are titled component sections */
} load;

static void report(int line, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void report(int line, const char *fmt, ...)
{
    va_list ap;

    load.problems++;
    if (!load.err)
        return;
    if (line > 0)
        fprintf(load.err, "%s:%d: ", load.path, line);
    else
        fprintf(load.err, "%s: ", load.path);
    va_start(ap, fmt);
    vfprintf(load.err, fmt, ap);
    va_end(ap);
    fputc('\n', load.err);
}

static void on_confuse_error(cfg_t *cfg, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void on_confuse_error(cfg_t *cfg, const char *fmt, va_list ap)
{
    char msg[512];

    text_vformat(msg, sizeof(msg), fmt, ap);
    report(cfg ? cfg->line : 0, "%s", msg);
}

/* ---- choices ------------------------------------------------------------ */

static const char *const mode_names[] = {"form", "redirect", NULL};
static const char *const pwchange_names[] = {"legacy", "form", "off", NULL};
static const char *const remove_names[] = {"plain", "form", "off", NULL};
static const char *const state_names[] = {"active", "pending", NULL};

/* Index of v in names (NULL-terminated), or -1. */
static int choice(const char *v, const char *const *names)
{
    for (int i = 0; v && names[i]; i++)
        if (strcmp(v, names[i]) == 0)
            return i;
    return -1;
}

static void check_choice(cfg_t *cfg, const char *opt, const char *const *names)
{
    const char *v = cfg_getstr(cfg, opt);

    if (choice(v, names) < 0) {
        char all[128] = "";
        for (int i = 0; names[i]; i++) {
            strcat(all, i ? ", " : "");
            strcat(all, names[i]);
        }
        report(cfg->line, "registration: %s '%s' is not one of %s", opt,
               v ? v : "", all);
    }
}

/* ---- per-option checks, run by libconfuse as each option is read ------ */

static int check_port(cfg_t *cfg, cfg_opt_t *opt)
{
    long v = cfg_opt_getnint(opt, cfg_opt_size(opt) - 1);

    if (v < 1 || v > 65535)
        report(cfg->line, "%s: %ld is not a TCP port (1-65535)",
               cfg_opt_name(opt), v);
    return 0;
}

static int check_positive_ms(cfg_t *cfg, cfg_opt_t *opt)
{
    long v = cfg_opt_getnint(opt, cfg_opt_size(opt) - 1);

    if (v < 1 || v > 3600000)
        report(cfg->line, "%s: %ld is out of range (1-3600000 ms)",
               cfg_opt_name(opt), v);
    return 0;
}

static int check_seconds(cfg_t *cfg, cfg_opt_t *opt)
{
    long v = cfg_opt_getnint(opt, cfg_opt_size(opt) - 1);

    if (v < 1 || v > 3600)
        report(cfg->line, "%s: %ld is out of range (1-3600 s)",
               cfg_opt_name(opt), v);
    return 0;
}

static int check_level(cfg_t *cfg, cfg_opt_t *opt)
{
    enum log_level level;
    const char *v = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);

    if (!v || !log_level_parse(v, &level))
        report(cfg->line, "level: '%s' is not one of error, warn, info, debug",
               v ? v : "");
    return 0;
}

static int check_field_type(cfg_t *cfg, cfg_opt_t *opt)
{
    enum form_field_type t;
    const char *v = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);

    if (!v || !form_type_parse(v, &t))
        report(cfg->line,
               "type: '%s' is not a XEP-0004 field type (text-single, "
               "text-private, text-multi, list-single, list-multi, "
               "jid-single, jid-multi, boolean, fixed, hidden)",
               v ? v : "");
    return 0;
}

static int check_hash_cost(cfg_t *cfg, cfg_opt_t *opt)
{
    long v = cfg_opt_getnint(opt, cfg_opt_size(opt) - 1);

    if (v < 4 || v > 15)
        report(cfg->line, "hash_cost: %ld is out of range (4-15)", v);
    return 0;
}

static int check_limit(cfg_t *cfg, cfg_opt_t *opt)
{
    long v = cfg_opt_getnint(opt, cfg_opt_size(opt) - 1);

    if (v < 0 || v > 1000000)
        report(cfg->line, "%s: %ld is out of range (0-1000000)",
               cfg_opt_name(opt), v);
    return 0;
}

static int check_limits(cfg_t *cfg, cfg_opt_t *opt)
{
    cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);

    long per_jid = cfg_getint(sec, "inflight_per_jid");
    long total = cfg_getint(sec, "inflight_total");

    if (per_jid && total && per_jid > total)
        report(cfg->line, "limits: inflight_per_jid is larger than "
                          "inflight_total");
    return 0;
}

static int check_max_length(cfg_t *cfg, cfg_opt_t *opt)
{
    long v = cfg_opt_getnint(opt, cfg_opt_size(opt) - 1);

    if (v < 1 || v > FORM_LIMIT_MAX_LENGTH)
        report(cfg->line, "max_length: %ld is out of range (1-%d)", v,
               FORM_LIMIT_MAX_LENGTH);
    return 0;
}

/* ---- per-section checks, run when a section closes -------------------- */

static bool str_blank(const char *s)
{
    return !s || !*s;
}

/* Both forms: the untitled 'component { jid = ... }' and each titled
 * 'component "JID" { ... }' (whose JID is its title, and whose messages
 * name it). */
static int check_component(cfg_t *cfg, cfg_opt_t *opt)
{
    cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
    const char *jid = load.titled ? cfg_title(sec) : cfg_getstr(sec, "jid");
    char what[320] = "component";

    if (load.titled) {
        char quoted[TEXT_EXCERPT_SIZE(64)];

        snprintf(what, sizeof(what), "component \"%s\"",
                 text_excerpt(quoted, sizeof(quoted), jid, 64));
        if (cfg_getstr(sec, "jid"))
            report(cfg->line,
                   "%s: 'jid' is the section's title here: remove it", what);
    }
    if (str_blank(jid))
        report(cfg->line, "%s: 'jid' is required", what);
    else if (strchr(jid, '@') || strchr(jid, '/') || !form_jid_valid(jid))
        report(cfg->line, "%s: jid '%s' is not a domain JID", what, jid);
    if (str_blank(cfg_getstr(sec, "server")))
        report(cfg->line, "%s: 'server' must not be empty", what);
    if (str_blank(cfg_getstr(sec, "secret")) ==
        str_blank(cfg_getstr(sec, "secret_file")))
        report(cfg->line, "%s: give exactly one of 'secret' and 'secret_file'",
               what);
    if (cfg_getint(sec, "reconnect_min_ms") >
        cfg_getint(sec, "reconnect_max_ms"))
        report(cfg->line,
               "%s: reconnect_min_ms is larger than reconnect_max_ms", what);
    return 0;
}

/* In the titled form, registration, limits and disco belong to a
 * service: one at the top level is a mistake, not a default. */
static int refuse_top_section(cfg_t *cfg, cfg_opt_t *opt)
{
    report(cfg->line,
           "%s: with titled 'component \"JID\" { }' sections, each "
           "service's %s section goes inside its component section",
           cfg_opt_name(opt), cfg_opt_name(opt));
    return 0;
}

/* A var is a short token without white space. */
static bool var_ok(const char *var)
{
    if (str_blank(var) || strlen(var) > 64)
        return false;
    for (const char *p = var; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '"' || *p == '<' || *p == '>' ||
            *p == '&' || *p == '\'')
            return false;
    return true;
}

static void check_field(cfg_t *field)
{
    const char *var = cfg_title(field);
    const char *type_name = cfg_getstr(field, "type");
    enum form_field_type type = FORM_TEXT_SINGLE;
    unsigned noptions = cfg_size(field, "option");

    if (!var_ok(var)) {
        report(field->line,
               "field \"%s\": a var must be 1-64 characters "
               "without spaces, quotes or <>&",
               var ? var : "");
        return;
    }
    if (strcmp(var, "FORM_TYPE") == 0) {
        report(field->line, "field \"FORM_TYPE\" is reserved");
        return;
    }
    if (!type_name || !form_type_parse(type_name, &type))
        return; /* already reported by check_field_type */
    if ((type == FORM_LIST_SINGLE || type == FORM_LIST_MULTI) && noptions == 0)
        report(field->line, "field \"%s\": a %s field needs options", var,
               type_name);
    if (noptions && type != FORM_LIST_SINGLE && type != FORM_LIST_MULTI)
        report(field->line, "field \"%s\": only list fields take options", var);
    if ((type == FORM_FIXED || type == FORM_HIDDEN) &&
        str_blank(cfg_getstr(field, "value")))
        report(field->line, "field \"%s\": a %s field needs a value", var,
               type_name);
    if (strcmp(var, "username") == 0 && type != FORM_TEXT_SINGLE)
        report(field->line, "field \"username\" must be text-single");
    if (strcmp(var, "password") == 0 && type != FORM_TEXT_PRIVATE)
        report(field->line, "field \"password\" must be text-private");
    if (cfg_getstr(field, "consent")) {
        if (type != FORM_BOOLEAN)
            report(field->line,
                   "field \"%s\": a consent must be a boolean field", var);
        if (str_blank(cfg_getstr(field, "consent")) ||
            strlen(cfg_getstr(field, "consent")) > 64)
            report(field->line,
                   "field \"%s\": consent must name a version (1-64 "
                   "characters)",
                   var);
    }
}

/* Each entry of opt must be a bare JID (user@domain). */
static void check_bare_jids(cfg_t *cfg, cfg_t *sec, const char *opt)
{
    for (unsigned i = 0; i < cfg_size(sec, opt); i++) {
        const char *j = cfg_getnstr(sec, opt, i);
        if (!strchr(j, '@') || strchr(j, '/') || !form_jid_valid(j))
            report(cfg->line, "registration: %s: '%s' is not a bare JID", opt,
                   j);
    }
}

/* Each proof var must name a registration field, once. */
static void check_proof(cfg_t *cfg, cfg_t *sec, const char *opt,
                        bool password_ok)
{
    unsigned n = cfg_size(sec, opt);

    if (n > FORM_MAX_FIELDS)
        report(cfg->line, "registration: %s names more than %d fields", opt,
               FORM_MAX_FIELDS);
    for (unsigned i = 0; i < n; i++) {
        const char *var = cfg_getnstr(sec, opt, i);
        bool dup = false;

        for (unsigned k = 0; k < i && !dup; k++)
            dup = strcmp(var, cfg_getnstr(sec, opt, k)) == 0;
        if (dup)
            report(cfg->line, "registration: %s names '%s' twice", opt, var);
        else if (!cfg_gettsec(sec, "field", var))
            report(cfg->line,
                   "registration: %s names '%s', which is not "
                   "a registration field",
                   opt, var);
        else if (!password_ok && strcmp(var, "password") == 0)
            report(cfg->line,
                   "registration: %s cannot name 'password' "
                   "(the old password is always asked)",
                   opt);
    }
}

static bool domain_ok(const char *d)
{
    return d && *d && !strchr(d, '@') && !strchr(d, '/') && form_jid_valid(d);
}

static void check_policy(cfg_t *cfg, cfg_t *sec)
{
    const char *url = cfg_getstr(sec, "url");

    check_choice(sec, "mode", mode_names);
    check_choice(sec, "password_change", pwchange_names);
    check_choice(sec, "remove", remove_names);
    check_choice(sec, "initial_state", state_names);
    check_bare_jids(cfg, sec, "admins");
    check_bare_jids(cfg, sec, "notify_jids");
    if (url && strncmp(url, "https://", 8) != 0 &&
        strncmp(url, "http://", 7) != 0)
        report(cfg->line, "registration: url '%s' is not an http(s) URL", url);
    if (choice(cfg_getstr(sec, "mode"), mode_names) == CONF_MODE_REDIRECT &&
        !url)
        report(cfg->line, "registration: mode \"redirect\" needs a url");
    check_proof(cfg, sec, "password_change_proof", false);
    check_proof(cfg, sec, "remove_proof", true);
    if (choice(cfg_getstr(sec, "remove"), remove_names) == CONF_REMOVE_FORM &&
        !cfg_gettsec(sec, "field", "username") &&
        !cfg_gettsec(sec, "field", "password") &&
        cfg_size(sec, "remove_proof") == 0)
        report(cfg->line, "registration: remove = \"form\" needs a proof: "
                          "a username or password field, or remove_proof");
    for (unsigned i = 0; i < cfg_size(sec, "allowed_domains"); i++) {
        const char *d = cfg_getnstr(sec, "allowed_domains", i);
        if (strcmp(d, "*") != 0 && !domain_ok(d))
            report(cfg->line,
                   "registration: allowed_domains: '%s' is not "
                   "a domain (or \"*\")",
                   d);
    }
    for (unsigned i = 0; i < cfg_size(sec, "local_domains"); i++)
        if (!domain_ok(cfg_getnstr(sec, "local_domains", i)))
            report(cfg->line,
                   "registration: local_domains: '%s' is not a "
                   "domain",
                   cfg_getnstr(sec, "local_domains", i));
    for (unsigned i = 0; i < cfg_size(sec, "blocked_jids"); i++)
        if (str_blank(cfg_getnstr(sec, "blocked_jids", i)))
            report(cfg->line, "registration: blocked_jids: empty pattern");
}

static int check_registration(cfg_t *cfg, cfg_opt_t *opt)
{
    cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
    unsigned n = cfg_size(sec, "field");

    if (n == 0)
        report(cfg->line, "registration: at least one field is required");
    if (n > FORM_MAX_FIELDS)
        report(cfg->line, "registration: more than %d fields", FORM_MAX_FIELDS);
    for (unsigned i = 0; i < n; i++)
        check_field(cfg_getnsec(sec, "field", i));
    check_policy(cfg, sec);
    return 0;
}

/* ---- the table of options --------------------------------------------- */

static cfg_opt_t option_opts[] = {
    CFG_STR("label", NULL, CFGF_NONE),
    CFG_END(),
};

static cfg_opt_t field_opts[] = {
    CFG_STR("type", "text-single", CFGF_NONE),
    CFG_STR("label", NULL, CFGF_NONE),
    CFG_STR("desc", NULL, CFGF_NONE),
    CFG_STR("value", NULL, CFGF_NONE),
    CFG_BOOL("required", cfg_false, CFGF_NONE),
    CFG_INT("max_length", FORM_DEFAULT_MAX_LENGTH, CFGF_NONE),
    CFG_STR("consent", NULL, CFGF_NONE),
    CFG_SEC("option", option_opts,
            CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
    CFG_END(),
};

static cfg_opt_t registration_opts[] = {
    CFG_STR("title", NULL, CFGF_NONE),
    CFG_STR("instructions", NULL, CFGF_NONE),
    CFG_STR("mode", "form", CFGF_NONE),
    CFG_STR("url", NULL, CFGF_NONE),
    CFG_STR("password_change", "legacy", CFGF_NONE),
    CFG_STR_LIST("password_change_proof", "{}", CFGF_NONE),
    CFG_STR("remove", "plain", CFGF_NONE),
    CFG_STR_LIST("remove_proof", "{}", CFGF_NONE),
    CFG_INT("hash_cost", 10, CFGF_NONE),
    CFG_STR_LIST("allowed_domains", "{}", CFGF_NONE),
    CFG_STR_LIST("local_domains", "{}", CFGF_NONE),
    CFG_STR_LIST("blocked_jids", "{}", CFGF_NONE),
    CFG_STR("initial_state", "active", CFGF_NONE),
    CFG_STR_LIST("admins", "{}", CFGF_NONE),
    CFG_STR_LIST("notify_jids", "{}", CFGF_NONE),
    CFG_SEC("field", field_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
    CFG_END(),
};

/* The connection options of a component section, in both forms. */
#define COMPONENT_CONNECTION_OPTS                                              \
    CFG_STR("jid", NULL, CFGF_NONE),                                           \
        CFG_STR("server", "127.0.0.1", CFGF_NONE),                             \
        CFG_INT("port", 5347, CFGF_NONE), CFG_STR("secret", NULL, CFGF_NONE),  \
        CFG_STR("secret_file", NULL, CFGF_NONE),                               \
        CFG_INT("reconnect_min_ms", 500, CFGF_NONE),                           \
        CFG_INT("reconnect_max_ms", 30000, CFGF_NONE),                         \
        CFG_INT("keepalive_s", 60, CFGF_NONE),                                 \
        CFG_INT("keepalive_timeout_s", 20, CFGF_NONE)

static cfg_opt_t component_opts[] = {
    COMPONENT_CONNECTION_OPTS,
    CFG_END(),
};

static cfg_opt_t database_opts[] = {
    CFG_STR("conninfo", "", CFGF_NONE),
    CFG_END(),
};

static cfg_opt_t disco_opts[] = {
    CFG_STR("category", "component", CFGF_NONE),
    CFG_STR("type", "generic", CFGF_NONE),
    CFG_STR("name", NULL, CFGF_NONE),
    CFG_END(),
};

static cfg_opt_t limits_opts[] = {
    CFG_INT("jid_burst", 5, CFGF_NONE),
    CFG_INT("jid_per_minute", 10, CFGF_NONE),
    CFG_INT("domain_burst", 50, CFGF_NONE),
    CFG_INT("domain_per_minute", 120, CFGF_NONE),
    CFG_INT("global_burst", 200, CFGF_NONE),
    CFG_INT("global_per_minute", 1200, CFGF_NONE),
    CFG_INT("inflight_per_jid", 8, CFGF_NONE),
    CFG_INT("inflight_total", 1024, CFGF_NONE),
    CFG_END(),
};

static cfg_opt_t log_opts[] = {
    CFG_STR("level", "info", CFGF_NONE),
    CFG_END(),
};

/* The untitled form (the seed's): one service, its registration, limits
 * and disco at the top level. */
static cfg_opt_t root_opts[] = {
    CFG_SEC("component", component_opts, CFGF_NONE),
    CFG_SEC("database", database_opts, CFGF_NONE),
    CFG_SEC("disco", disco_opts, CFGF_NONE),
    CFG_SEC("registration", registration_opts, CFGF_NONE),
    CFG_SEC("limits", limits_opts, CFGF_NONE),
    CFG_SEC("log", log_opts, CFGF_NONE),
    CFG_END(),
};

/* The titled form: one 'component "JID" { }' per service, each holding
 * its own registration, limits and disco; database and log shared.  The
 * top-level registration, limits and disco are there only to be refused
 * with a clear reason.  JIDs are checked unique (case-insensitively) by
 * check_services, not by libconfuse. */
static cfg_opt_t service_opts[] = {
    COMPONENT_CONNECTION_OPTS,
    CFG_SEC("disco", disco_opts, CFGF_NONE),
    CFG_SEC("registration", registration_opts, CFGF_NONE),
    CFG_SEC("limits", limits_opts, CFGF_NONE),
    CFG_END(),
};

static cfg_opt_t titled_root_opts[] = {
    CFG_SEC("component", service_opts, CFGF_MULTI | CFGF_TITLE),
    CFG_SEC("database", database_opts, CFGF_NONE),
    CFG_SEC("log", log_opts, CFGF_NONE),
    CFG_SEC("disco", disco_opts, CFGF_NONE),
    CFG_SEC("registration", registration_opts, CFGF_NONE),
    CFG_SEC("limits", limits_opts, CFGF_NONE),
    CFG_END(),
};

/* Options read once, at start-up (the connection to the XMPP server and
 * the database are opened with them): a reload keeps their running
 * values and says so.  Every other option takes effect on reload. */
enum restart_kind { RESTART_STR, RESTART_UINT };

static const struct {
    const char *name;
    enum restart_kind kind;
    size_t offset;
} restart_only[] = {
    {"component.jid", RESTART_STR, offsetof(struct conf, component.jid)},
    {"component.server", RESTART_STR, offsetof(struct conf, component.server)},
    {"component.port", RESTART_UINT, offsetof(struct conf, component.port)},
    {"component.secret", RESTART_STR, offsetof(struct conf, component.secret)},
    {"component.reconnect_min_ms", RESTART_UINT,
     offsetof(struct conf, component.reconnect_min_ms)},
    {"component.reconnect_max_ms", RESTART_UINT,
     offsetof(struct conf, component.reconnect_max_ms)},
    {"component.keepalive_s", RESTART_UINT,
     offsetof(struct conf, component.keepalive_s)},
    {"component.keepalive_timeout_s", RESTART_UINT,
     offsetof(struct conf, component.keepalive_timeout_s)},
    {"database.conninfo", RESTART_STR,
     offsetof(struct conf, database.conninfo)},
};

bool conf_keep_restart_options(struct conf *next, const struct conf *running)
{
    bool ok = true;

    for (size_t i = 0; i < sizeof(restart_only) / sizeof(restart_only[0]);
         i++) {
        char *n = (char *)next + restart_only[i].offset;
        const char *r = (const char *)running + restart_only[i].offset;
        bool changed;

        if (restart_only[i].kind == RESTART_UINT) {
            changed = *(unsigned *)n != *(const unsigned *)r;
            *(unsigned *)n = *(const unsigned *)r;
        } else {
            char **ns = (char **)n;
            const char *rs = *(char *const *)r;
            changed = strcmp(*ns ? *ns : "", rs ? rs : "") != 0;
            if (*ns)
                explicit_bzero(*ns, strlen(*ns)); /* may be a secret */
            free(*ns);
            *ns = rs ? strdup(rs) : NULL;
            ok &= !rs || *ns;
        }
        if (changed)
            log_warn("conf",
                     "reload: %s of %s cannot change without a restart; "
                     "keeping the running value",
                     restart_only[i].name,
                     running->component.jid ? running->component.jid : "");
    }
    return ok;
}

/* Reads the component secret from path: the first line, which must not
 * be empty, from a file that others cannot read and that nobody but its
 * owner can write (whoever can write it chooses the secret).  read(2) into
 * a buffer of ours, wiped before returning, so that no stdio buffer keeps
 * a copy.  NULL (reported at line) when it cannot be used; the caller
 * owns the result and wipes it before freeing it (conf_free). */
static char *read_secret_file(const char *path, int line)
{
    struct stat st;
    char buf[1024];
    size_t len = 0;
    ssize_t got;
    char *secret = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd < 0 || fstat(fd, &st) != 0) {
        report(line, "secret_file %s: %s", path, strerror(errno));
        goto out;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        report(line,
               "secret_file %s is writable by %s (mode %04o): "
               "chmod go-w it",
               path, st.st_mode & S_IWOTH ? "every user" : "its group",
               (unsigned)(st.st_mode & 07777));
        goto out;
    }
    if (st.st_mode & S_IROTH) {
        report(line,
               "secret_file %s is readable by every user (mode %04o): "
               "chmod o-rwx it",
               path, (unsigned)(st.st_mode & 07777));
        goto out;
    }
    while (len < sizeof(buf) - 1 && !memchr(buf, '\n', len)) {
        got = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            report(line, "secret_file %s: %s", path, strerror(errno));
            goto out;
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    buf[len] = '\0';
    len = strcspn(buf, "\r\n");
    buf[len] = '\0';
    if (len == 0) {
        report(line, "secret_file %s is empty", path);
        goto out;
    }
    if (!(secret = strdup(buf)))
        report(line, "secret_file %s: out of memory", path);
out:
    explicit_bzero(buf, sizeof(buf));
    if (fd >= 0)
        close(fd);
    return secret;
}

/* ---- copying into struct conf ----------------------------------------- */

/* strdup that tolerates NULL; sets *oom on failure. */
static char *dup_or_null(const char *s, bool *oom)
{
    char *d;

    if (!s)
        return NULL;
    if (!(d = strdup(s)))
        *oom = true;
    return d;
}

static bool copy_field(cfg_t *sec, struct form_field_def *f)
{
    bool oom = false;
    unsigned n = cfg_size(sec, "option");

    f->var = dup_or_null(cfg_title(sec), &oom);
    form_type_parse(cfg_getstr(sec, "type"), &f->type);
    f->label = dup_or_null(cfg_getstr(sec, "label"), &oom);
    f->desc = dup_or_null(cfg_getstr(sec, "desc"), &oom);
    f->value = dup_or_null(cfg_getstr(sec, "value"), &oom);
    f->required = cfg_getbool(sec, "required");
    f->max_length = (size_t)cfg_getint(sec, "max_length");
    f->consent = dup_or_null(cfg_getstr(sec, "consent"), &oom);
    if (f->consent)
        f->required = true; /* a consent must be given */
    if (n) {
        f->options = calloc(n, sizeof(*f->options));
        if (!f->options)
            return false;
        f->noptions = n;
        for (unsigned i = 0; i < n; i++) {
            cfg_t *o = cfg_getnsec(sec, "option", i);
            f->options[i].value = dup_or_null(cfg_title(o), &oom);
            f->options[i].label = dup_or_null(cfg_getstr(o, "label"), &oom);
        }
    }
    return !oom;
}

static bool copy_list(cfg_t *sec, const char *opt, struct conf_list *l)
{
    unsigned n = cfg_size(sec, opt);
    bool oom = false;

    if (n == 0)
        return true;
    if (!(l->items = calloc(n, sizeof(char *))))
        return false;
    l->n = n;
    for (unsigned i = 0; i < n; i++)
        l->items[i] = dup_or_null(cfg_getnstr(sec, opt, i), &oom);
    return !oom;
}

/* The domain the component is a subdomain of: "example" for
 * "contests.example"; the JID itself when it has no dot. */
static bool default_local_domain(const char *jid, struct conf_list *l)
{
    const char *dot = strchr(jid, '.');

    if (!(l->items = calloc(1, sizeof(char *))))
        return false;
    l->n = 1;
    l->items[0] = strdup(dot ? dot + 1 : jid);
    return l->items[0] != NULL;
}

static bool copy_registration(cfg_t *reg, struct conf *c)
{
    struct conf_registration *r = &c->registration;
    bool oom = false;

    r->mode = (enum conf_mode)choice(cfg_getstr(reg, "mode"), mode_names);
    r->url = dup_or_null(cfg_getstr(reg, "url"), &oom);
    r->password_change = (enum conf_password_change)choice(
        cfg_getstr(reg, "password_change"), pwchange_names);
    r->remove =
        (enum conf_remove)choice(cfg_getstr(reg, "remove"), remove_names);
    r->initial_state = (enum conf_initial_state)choice(
        cfg_getstr(reg, "initial_state"), state_names);
    r->hash_cost = (unsigned)cfg_getint(reg, "hash_cost");
    if (oom ||
        !copy_list(reg, "password_change_proof", &r->password_change_proof) ||
        !copy_list(reg, "remove_proof", &r->remove_proof) ||
        !copy_list(reg, "allowed_domains", &r->allowed_domains) ||
        !copy_list(reg, "local_domains", &r->local_domains) ||
        !copy_list(reg, "blocked_jids", &r->blocked_jids) ||
        !copy_list(reg, "admins", &r->admins) ||
        !copy_list(reg, "notify_jids", &r->notify_jids))
        return false;
    if (r->local_domains.n == 0 &&
        !default_local_domain(c->component.jid, &r->local_domains))
        return false;
    return true;
}

static void copy_limits(cfg_t *sec, struct conf_limits *l)
{
    l->jid_burst = (unsigned)cfg_getint(sec, "jid_burst");
    l->jid_per_minute = (unsigned)cfg_getint(sec, "jid_per_minute");
    l->domain_burst = (unsigned)cfg_getint(sec, "domain_burst");
    l->domain_per_minute = (unsigned)cfg_getint(sec, "domain_per_minute");
    l->global_burst = (unsigned)cfg_getint(sec, "global_burst");
    l->global_per_minute = (unsigned)cfg_getint(sec, "global_per_minute");
    l->inflight_per_jid = (unsigned)cfg_getint(sec, "inflight_per_jid");
    l->inflight_total = (unsigned)cfg_getint(sec, "inflight_total");
}

/* One service: comp is its component section (at line, for messages),
 * svc the section holding its disco, registration and limits (the top
 * level in the untitled form, comp itself in the titled one); database and
 * log come from the top level, cfg. */
static bool copy_conf(cfg_t *cfg, cfg_t *comp, int line, cfg_t *svc,
                      struct conf *c)
{
    bool oom = false;
    cfg_t *db = cfg_getsec(cfg, "database");
    cfg_t *disco = cfg_getsec(svc, "disco");
    cfg_t *reg = cfg_getsec(svc, "registration");
    cfg_t *log = cfg_getsec(cfg, "log");
    unsigned nfields = cfg_size(reg, "field");
    const char *name;

    c->component.jid = dup_or_null(
        load.titled ? cfg_title(comp) : cfg_getstr(comp, "jid"), &oom);
    c->component.server = dup_or_null(cfg_getstr(comp, "server"), &oom);
    c->component.port = (unsigned)cfg_getint(comp, "port");
    if (cfg_getstr(comp, "secret_file")) {
        c->component.secret =
            read_secret_file(cfg_getstr(comp, "secret_file"), line);
        if (!c->component.secret)
            return false;
    } else {
        char *secret = cfg_getstr(comp, "secret");
        struct stat st;

        c->component.secret = dup_or_null(secret, &oom);
        /* libconfuse's copy goes when the cfg does: wipe it now. */
        if (secret)
            explicit_bzero(secret, strlen(secret));
        /* A warning in the log, not a problem: the file stays valid. */
        if (stat(load.path, &st) == 0 && (st.st_mode & S_IROTH))
            log_warn("conf",
                     "%s:%d: the inline 'secret' is in a file readable by "
                     "every user (mode %04o): chmod o-rwx it, or use "
                     "secret_file",
                     load.path, line, (unsigned)(st.st_mode & 07777));
    }
    c->component.reconnect_min_ms =
        (unsigned)cfg_getint(comp, "reconnect_min_ms");
    c->component.reconnect_max_ms =
        (unsigned)cfg_getint(comp, "reconnect_max_ms");
    c->component.keepalive_s = (unsigned)cfg_getint(comp, "keepalive_s");
    c->component.keepalive_timeout_s =
        (unsigned)cfg_getint(comp, "keepalive_timeout_s");
    c->database.conninfo = dup_or_null(cfg_getstr(db, "conninfo"), &oom);
    c->disco.category = dup_or_null(cfg_getstr(disco, "category"), &oom);
    c->disco.type = dup_or_null(cfg_getstr(disco, "type"), &oom);
    name = cfg_getstr(disco, "name");
    if (!name)
        name = cfg_getstr(reg, "title");
    c->disco.name = dup_or_null(name ? name : "registrar", &oom);
    c->registration.title = dup_or_null(cfg_getstr(reg, "title"), &oom);
    c->registration.instructions =
        dup_or_null(cfg_getstr(reg, "instructions"), &oom);
    log_level_parse(cfg_getstr(log, "level"), &c->log_level);
    copy_limits(cfg_getsec(svc, "limits"), &c->limits);
    if (oom || !copy_registration(reg, c))
        return false;
    c->registration.fields = calloc(nfields, sizeof(struct form_field_def));
    if (!c->registration.fields)
        return false;
    c->registration.nfields = nfields;
    for (unsigned i = 0; i < nfields; i++)
        if (!copy_field(cfg_getnsec(reg, "field", i),
                        &c->registration.fields[i]))
            return false;
    return true;
}

/* ---- the two forms ---------------------------------------------------- */

/* Where the file's top-level 'component' sections are: the line of its
 * first titled one ('component "JID" {') and of its first untitled one
 * ('component {'), 0 when none; the lines of the titled ones, in order
 * (at most SCAN_MAX_TITLED kept).  A scan of libconfuse's syntax that
 * knows just enough (comments, quoted strings, braces) to tell the form
 * before parsing: the parse proper reports every syntax error. */
#define SCAN_MAX_TITLED 256
struct scan {
    int titled, untitled;
    int lines[SCAN_MAX_TITLED];
    size_t n;
};

enum token { TOK_EOF, TOK_WORD, TOK_STRING, TOK_OPEN, TOK_CLOSE, TOK_OTHER };

/* The next token of *p (line counted in *line); a word's text in
 * word (truncated to size). */
static enum token next_token(const char **p, int *line, char *word, size_t size)
{
    const char *s = *p;
    enum token t;

    for (;;) {
        if (*s == '\n')
            (*line)++;
        if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') {
            s++;
        } else if (*s == '#' || (s[0] == '/' && s[1] == '/')) {
            while (*s && *s != '\n')
                s++;
        } else if (s[0] == '/' && s[1] == '*') {
            for (s += 2; *s && !(s[0] == '*' && s[1] == '/'); s++)
                if (*s == '\n')
                    (*line)++;
            s += *s ? 2 : 0;
        } else {
            break;
        }
    }
    if (!*s) {
        t = TOK_EOF;
    } else if (*s == '"' || *s == '\'') {
        char q = *s++;
        while (*s && *s != q) {
            if (*s == '\\' && s[1])
                s++;
            if (*s == '\n')
                (*line)++;
            s++;
        }
        s += *s ? 1 : 0;
        t = TOK_STRING;
    } else if (*s == '{' || *s == '}') {
        t = *s++ == '{' ? TOK_OPEN : TOK_CLOSE;
    } else if (strchr("(),=+:", *s)) {
        s++;
        t = TOK_OTHER;
    } else {
        size_t n = 0;
        while (*s && !strchr(" \t\r\n\"'{}(),=+:#", *s) &&
               !(s[0] == '/' && (s[1] == '/' || s[1] == '*'))) {
            if (n + 1 < size)
                word[n++] = *s;
            s++;
        }
        word[n] = '\0';
        t = TOK_WORD;
    }
    *p = s;
    return t;
}

static void scan_form(const char *text, struct scan *scan)
{
    const char *p = text;
    int line = 1, depth = 0, at = 0;
    bool after_component = false;
    char word[32];
    enum token t;

    memset(scan, 0, sizeof(*scan));
    while ((t = next_token(&p, &line, word, sizeof(word))) != TOK_EOF) {
        if (after_component && t == TOK_OPEN && !scan->untitled)
            scan->untitled = at;
        if (after_component && (t == TOK_STRING || t == TOK_WORD)) {
            if (!scan->titled)
                scan->titled = at;
            if (scan->n < SCAN_MAX_TITLED)
                scan->lines[scan->n++] = at;
        }
        after_component =
            depth == 0 && t == TOK_WORD && strcmp(word, "component") == 0;
        at = line;
        if (t == TOK_OPEN)
            depth++;
        else if (t == TOK_CLOSE && depth > 0)
            depth--;
    }
}

/* The whole file in a new NUL-terminated buffer (caller frees), or NULL
 * (reported). */
static char *read_text(FILE *fp)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    char buf[4096];
    size_t got;

    if (!out) {
        report(0, "out of memory");
        return NULL;
    }
    while ((got = fread(buf, 1, sizeof(buf), fp)) > 0)
        fwrite(buf, 1, got, out);
    if (ferror(fp) || fclose(out) != 0) {
        report(0, "cannot read: %s", strerror(errno));
        free(text);
        return NULL;
    }
    return text;
}

/* cfg_set_validate_func for prefix + path. */
static void validate(cfg_t *cfg, const char *prefix, const char *path,
                     cfg_validate_callback_t f)
{
    char name[128];

    snprintf(name, sizeof(name), "%s%s", prefix, path);
    cfg_set_validate_func(cfg, name, f);
}

/* The checks run as options and sections are read.  A service's sections
 * are at the top level in the untitled form, in component "JID" in the
 * titled one. */
static void set_validators(cfg_t *cfg)
{
    const char *svc = load.titled ? "component|" : "";

    cfg_set_error_function(cfg, on_confuse_error);
    cfg_set_validate_func(cfg, "component|port", check_port);
    cfg_set_validate_func(cfg, "component|reconnect_min_ms", check_positive_ms);
    cfg_set_validate_func(cfg, "component|reconnect_max_ms", check_positive_ms);
    cfg_set_validate_func(cfg, "component|keepalive_s", check_seconds);
    cfg_set_validate_func(cfg, "component|keepalive_timeout_s", check_seconds);
    cfg_set_validate_func(cfg, "log|level", check_level);
    validate(cfg, svc, "registration|field|type", check_field_type);
    validate(cfg, svc, "registration|field|max_length", check_max_length);
    validate(cfg, svc, "registration|hash_cost", check_hash_cost);
    for (cfg_opt_t *o = limits_opts; o->name; o++) {
        char name[64];
        snprintf(name, sizeof(name), "limits|%s", o->name);
        validate(cfg, svc, name, check_limit);
    }
    validate(cfg, svc, "limits", check_limits);
    cfg_set_validate_func(cfg, "component", check_component);
    validate(cfg, svc, "registration", check_registration);
    if (load.titled) {
        cfg_set_validate_func(cfg, "registration", refuse_top_section);
        cfg_set_validate_func(cfg, "limits", refuse_top_section);
        cfg_set_validate_func(cfg, "disco", refuse_top_section);
    }
}

/* Titled form: every service has a registration section, and its JID
 * appears once (domains compare case-insensitively). */
static void check_services(cfg_t *cfg, const struct scan *scan)
{
    unsigned n = cfg_size(cfg, "component");

    for (unsigned i = 0; i < n; i++) {
        cfg_t *sec = cfg_getnsec(cfg, "component", i);
        cfg_t *reg = cfg_size(sec, "registration")
                         ? cfg_getsec(sec, "registration")
                         : NULL;

        /* libconfuse gives an absent section its defaults: no field */
        if (!reg || cfg_size(reg, "field") == 0)
            report(i < scan->n ? scan->lines[i] : sec->line,
                   "component \"%s\": missing section 'registration' "
                   "(with at least one field)",
                   cfg_title(sec) ? cfg_title(sec) : "");
    }
    for (unsigned i = 1; i < n; i++) {
        const char *jid = cfg_title(cfg_getnsec(cfg, "component", i));

        for (unsigned k = 0; k < i; k++) {
            cfg_t *other = cfg_getnsec(cfg, "component", k);

            if (jid && cfg_title(other) &&
                strcasecmp(jid, cfg_title(other)) == 0) {
                report(i < scan->n ? scan->lines[i]
                                   : cfg_getnsec(cfg, "component", i)->line,
                       "component \"%s\": a service with this JID is "
                       "already defined at line %d",
                       jid, k < scan->n ? scan->lines[k] : other->line);
                break;
            }
        }
    }
}

/* The services of the parsed file, in order, chained by next. */
static struct conf *copy_services(cfg_t *cfg, const char *path,
                                  const struct scan *scan)
{
    unsigned n = load.titled ? cfg_size(cfg, "component") : 1;
    struct conf *first = NULL, **tail = &first;

    for (unsigned i = 0; i < n; i++) {
        cfg_t *comp = cfg_getnsec(cfg, "component", i);
        int line = load.titled && i < scan->n ? scan->lines[i] : comp->line;
        struct conf *c = calloc(1, sizeof(*c));

        if (c)
            *tail = c;
        if (!c || !(c->path = strdup(path)) ||
            !copy_conf(cfg, comp, line, load.titled ? comp : cfg, c)) {
            if (load.problems == 0)
                report(0, "out of memory");
            conf_free(first);
            return NULL;
        }
        tail = &c->next;
    }
    return first;
}

struct conf *conf_load(const char *path, FILE *err)
{
    cfg_t *cfg = NULL;
    struct conf *c = NULL;
    struct scan *scan = NULL;
    char *text = NULL;
    FILE *fp;
    int rc;

    load.err = err;
    load.path = path;
    load.problems = 0;
    load.titled = false;

    /* Open it ourselves: libconfuse reports a missing file without why. */
    if (!(fp = fopen(path, "r"))) {
        report(0, "cannot open: %s", strerror(errno));
        return NULL;
    }
    text = read_text(fp);
    fclose(fp);
    if (!text)
        return NULL;
    if (!(scan = calloc(1, sizeof(*scan)))) {
        report(0, "out of memory");
        goto out;
    }
    scan_form(text, scan);
    if (scan->titled && scan->untitled) {
        report(scan->titled > scan->untitled ? scan->titled : scan->untitled,
               "the untitled 'component { jid = ... }' (line %d) and titled "
               "'component \"JID\" { }' sections (line %d) cannot be mixed: "
               "give one untitled service, or only titled ones",
               scan->untitled, scan->titled);
        goto out;
    }
    load.titled = scan->titled > 0;
    cfg = cfg_init(load.titled ? titled_root_opts : root_opts, CFGF_NONE);
    if (!cfg) {
        report(0, "out of memory");
        goto out;
    }
    set_validators(cfg);

    free(cfg->filename);
    cfg->filename = strdup(path);
    cfg->line = 1;
    if (!(fp = fmemopen(text, strlen(text), "r"))) {
        report(0, "out of memory");
        goto out;
    }
    rc = cfg_parse_fp(cfg, fp);
    fclose(fp);
    if (rc != CFG_SUCCESS) {
        if (load.problems == 0)
            report(cfg->line, "syntax error");
        goto out;
    }
    if (cfg_size(cfg, "component") == 0 || (!scan->titled && !scan->untitled))
        report(cfg->line, "missing section 'component'");
    if (!load.titled && cfg_size(cfg, "registration") == 0)
        report(cfg->line, "missing section 'registration'");
    if (load.titled)
        check_services(cfg, scan);
    if (load.problems)
        goto out;
    c = copy_services(cfg, path, scan);
out:
    if (cfg)
        cfg_free(cfg);
    free(scan);
    if (text)
        explicit_bzero(text, strlen(text)); /* holds an inline secret */
    free(text);
    return c;
}

struct conf *conf_service(struct conf *conf, const char *jid)
{
    for (; conf; conf = conf->next)
        if (jid && conf->component.jid &&
            strcasecmp(conf->component.jid, jid) == 0)
            return conf;
    return NULL;
}

size_t conf_services(const struct conf *conf)
{
    size_t n = 0;

    for (; conf; conf = conf->next)
        n++;
    return n;
}

static void field_free(struct form_field_def *f)
{
    for (size_t i = 0; i < f->noptions; i++) {
        free(f->options[i].value);
        free(f->options[i].label);
    }
    free(f->options);
    free(f->var);
    free(f->label);
    free(f->desc);
    free(f->value);
    free(f->consent);
}

static void list_free(struct conf_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
}

/* One service of a chain. */
static void service_free(struct conf *c)
{
    list_free(&c->registration.password_change_proof);
    list_free(&c->registration.remove_proof);
    list_free(&c->registration.allowed_domains);
    list_free(&c->registration.local_domains);
    list_free(&c->registration.blocked_jids);
    list_free(&c->registration.admins);
    list_free(&c->registration.notify_jids);
    free(c->registration.url);
    for (size_t i = 0; i < c->registration.nfields; i++)
        field_free(&c->registration.fields[i]);
    free(c->registration.fields);
    free(c->registration.title);
    free(c->registration.instructions);
    free(c->component.jid);
    free(c->component.server);
    /* Do not leave secrets behind in freed memory (conninfo may hold a
     * password). */
    if (c->component.secret)
        explicit_bzero(c->component.secret, strlen(c->component.secret));
    free(c->component.secret);
    if (c->database.conninfo)
        explicit_bzero(c->database.conninfo, strlen(c->database.conninfo));
    free(c->database.conninfo);
    free(c->disco.category);
    free(c->disco.type);
    free(c->disco.name);
    free(c->path);
    free(c);
}

void conf_free(struct conf *c)
{
    while (c) {
        struct conf *next = c->next;

        service_free(c);
        c = next;
    }
}
