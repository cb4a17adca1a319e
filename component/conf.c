/*
 * conf.c - reads the configuration file with libconfuse into struct conf.
 *
 * The only file that includes confuse.h.  Every check that can be made
 * without the network is made here, each problem reported as
 * "FILE:LINE: reason"; nothing here connects anywhere or logs secrets.
 *
 * Every option is one row of the table `options` below: its section, name,
 * type, place in struct conf (offsetof), default, range and whether a
 * reload may change it.  From the table come libconfuse's option arrays,
 * the range checks, the copies into struct conf, their freeing, the
 * options a reload keeps (conf_keep_restart_options) and the listing that
 * tests/unit/conf_docs.sh holds registrar.conf(5) and the example
 * registrar.conf against (conf_options_print).  To add an option: a row
 * here, a field in conf.h, an entry in registrar.conf.5 and a line in
 * deploy/registrar.conf.  What a row cannot say is written out below the
 * table: checks across options (check_component, check_registration,
 * check_limits) and the few values worked out from others (a titled
 * service's JID, secret_file, disco's name, local_domains).
 */
#include "conf.h"
#include "text.h"

#include <confuse.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

/* In the order of their enums (conf.h). */
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

/* Enums whose names another module knows (log.c, form_values.c). */
static bool parse_level(const char *v, int *out)
{
    enum log_level level;

    if (!v || !log_level_parse(v, &level))
        return false;
    *out = (int)level;
    return true;
}

static bool parse_field_type(const char *v, int *out)
{
    enum form_field_type type;

    if (!v || !form_type_parse(v, &type))
        return false;
    *out = (int)type;
    return true;
}

/* An enum option is stored as an int. */
_Static_assert(sizeof(enum conf_mode) == sizeof(int) &&
                   sizeof(enum conf_password_change) == sizeof(int) &&
                   sizeof(enum conf_remove) == sizeof(int) &&
                   sizeof(enum conf_initial_state) == sizeof(int) &&
                   sizeof(enum log_level) == sizeof(int) &&
                   sizeof(enum form_field_type) == sizeof(int),
               "enum options are stored as int");

/* The checks the table names, defined below it. */
static int check_component(cfg_t *cfg, cfg_opt_t *opt);
static int check_registration(cfg_t *cfg, cfg_opt_t *opt);
static int check_limits(cfg_t *cfg, cfg_opt_t *opt);
static int check_level(cfg_t *cfg, cfg_opt_t *opt);
static int check_field_type(cfg_t *cfg, cfg_opt_t *opt);

/* ---- the sections ------------------------------------------------------- */

enum section {
    SEC_COMPONENT,
    SEC_DATABASE,
    SEC_DISCO,
    SEC_REGISTRATION,
    SEC_FIELD,
    SEC_OPTION,
    SEC_LIMITS,
    SEC_LOG,
    NSECTIONS,
    SEC_ROOT = NSECTIONS, /* the file itself */
};

/* Where each section is and what it holds.  The options of the sections
 * at the top level are stored in struct conf; a field's in its struct
 * form_field_def, an option's in its struct form_option.  In the titled
 * form, the per-service sections are inside each 'component "JID" { }'
 * (and refused at the top level); database and log stay shared. */
static const struct section_def {
    const char *name;
    enum section parent;
    const char *path; /* for cfg_set_validate_func, in the untitled form */
    bool per_service;
    int flags;                     /* libconfuse's */
    cfg_validate_callback_t check; /* when the section closes */
} sections[NSECTIONS] = {
    [SEC_COMPONENT] = {"component", SEC_ROOT, "component", false, CFGF_NONE,
                       check_component},
    [SEC_DATABASE] = {"database", SEC_ROOT, "database", false, CFGF_NONE, NULL},
    [SEC_DISCO] = {"disco", SEC_ROOT, "disco", true, CFGF_NONE, NULL},
    [SEC_REGISTRATION] = {"registration", SEC_ROOT, "registration", true,
                          CFGF_NONE, check_registration},
    [SEC_FIELD] = {"field", SEC_REGISTRATION, "registration|field", true,
                   CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES, NULL},
    [SEC_OPTION] = {"option", SEC_FIELD, "registration|field|option", true,
                    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES, NULL},
    [SEC_LIMITS] = {"limits", SEC_ROOT, "limits", true, CFGF_NONE,
                    check_limits},
    [SEC_LOG] = {"log", SEC_ROOT, "log", false, CFGF_NONE, NULL},
};

/* ---- the table of options ----------------------------------------------- */

enum type {
    TYPE_STR,  /* char *, NULL when neither given nor defaulted */
    TYPE_UINT, /* unsigned, min to max */
    TYPE_SIZE, /* size_t, min to max */
    TYPE_BOOL, /* bool */
    TYPE_LIST, /* struct conf_list of strings, empty by default */
    TYPE_ENUM, /* int: the index of the value in choices, or parse's */
};

#define NOT_STORED SIZE_MAX /* read, and used by hand (secret_file) */

struct option {
    const char *name;
    enum section section;
    enum type type;
    size_t offset;   /* in the section's struct (see sections), or NOT_STORED */
    const char *def; /* TYPE_STR and TYPE_ENUM; NULL: none */
    long num;        /* TYPE_UINT, TYPE_SIZE, TYPE_BOOL: the default */
    long min, max;   /* TYPE_UINT, TYPE_SIZE */
    /* out of range: "NAME: V is not WHAT (MIN-MAX)" when what is given,
     * else "NAME: V is out of range (MIN-MAX[ UNIT])" */
    const char *what, *unit;
    const char *const *choices;         /* TYPE_ENUM; checked as its
                                         * section closes (check_choices) */
    bool (*parse)(const char *, int *); /* TYPE_ENUM without choices */
    cfg_validate_callback_t check;      /* as it is read (odd ones) */
    bool restart; /* read at start-up only: a reload keeps it */
    bool derived; /* when not given, worked out from others (copy_conf) */
};

#define CONF(member) offsetof(struct conf, member)
#define FIELD(member) offsetof(struct form_field_def, member)
#define OPTION(member) offsetof(struct form_option, member)
#define RANGE(lo, hi) .min = lo, .max = hi
#define LIMIT RANGE(0, 1000000) /* a limit: 0 lifts it */
#define RESTART .restart = true
#define RELOAD .restart = false

#define ROW(t, sec, nm, at, ...)                                               \
    {                                                                          \
        .name = nm, .section = SEC_##sec, .type = TYPE_##t, .offset = at,      \
        __VA_ARGS__                                                            \
    }
#define ROW_STR(sec, nm, at, dflt, ...)                                        \
    ROW(STR, sec, nm, at, .def = dflt, __VA_ARGS__)
#define ROW_UINT(sec, nm, at, dflt, ...)                                       \
    ROW(UINT, sec, nm, at, .num = dflt, __VA_ARGS__)
#define ROW_SIZE(sec, nm, at, dflt, ...)                                       \
    ROW(SIZE, sec, nm, at, .num = dflt, __VA_ARGS__)
#define ROW_BOOL(sec, nm, at, dflt, ...)                                       \
    ROW(BOOL, sec, nm, at, .num = dflt, __VA_ARGS__)
#define ROW_LIST(sec, nm, at, ...) ROW(LIST, sec, nm, at, __VA_ARGS__)
#define ROW_ENUM(sec, nm, at, dflt, ...)                                       \
    ROW(ENUM, sec, nm, at, .def = dflt, __VA_ARGS__)

/* In file order within each section (the order of the listing and of the
 * restart warnings). */
static const struct option options[] = {
    /* component: in the titled form jid is the section's title */
    ROW_STR(COMPONENT, "jid", CONF(component.jid), NULL, RESTART),
    ROW_STR(COMPONENT, "server", CONF(component.server), "127.0.0.1", RESTART),
    ROW_UINT(COMPONENT, "port", CONF(component.port), 5347, RANGE(1, 65535),
             RESTART, .what = "a TCP port"),
    ROW_STR(COMPONENT, "secret", CONF(component.secret), NULL, RESTART),
    /* its first line becomes component.secret (copy_conf) */
    ROW_STR(COMPONENT, "secret_file", NOT_STORED, NULL, RESTART),
    ROW_UINT(COMPONENT, "reconnect_min_ms", CONF(component.reconnect_min_ms),
             500, RANGE(1, 3600000), RESTART, .unit = "ms"),
    ROW_UINT(COMPONENT, "reconnect_max_ms", CONF(component.reconnect_max_ms),
             30000, RANGE(1, 3600000), RESTART, .unit = "ms"),
    ROW_UINT(COMPONENT, "keepalive_s", CONF(component.keepalive_s), 60,
             RANGE(1, 3600), RESTART, .unit = "s"),
    ROW_UINT(COMPONENT, "keepalive_timeout_s",
             CONF(component.keepalive_timeout_s), 20, RANGE(1, 3600), RESTART,
             .unit = "s"),

    ROW_STR(DATABASE, "conninfo", CONF(database.conninfo), "", RESTART),
    ROW_UINT(DATABASE, "statement_timeout_s",
             CONF(database.statement_timeout_s), 5, RANGE(1, 3600), RESTART,
             .unit = "s"),

    ROW_STR(DISCO, "category", CONF(disco.category), "component", RELOAD),
    ROW_STR(DISCO, "type", CONF(disco.type), "generic", RELOAD),
    /* none: the registration's title, else "registrar" (copy_conf) */
    ROW_STR(DISCO, "name", CONF(disco.name), NULL, RELOAD),

    ROW_STR(REGISTRATION, "title", CONF(registration.title), NULL, RELOAD),
    ROW_STR(REGISTRATION, "instructions", CONF(registration.instructions), NULL,
            RELOAD),
    ROW_ENUM(REGISTRATION, "mode", CONF(registration.mode), "form", RELOAD,
             .choices = mode_names),
    ROW_STR(REGISTRATION, "url", CONF(registration.url), NULL, RELOAD),
    ROW_ENUM(REGISTRATION, "password_change",
             CONF(registration.password_change), "legacy", RELOAD,
             .choices = pwchange_names),
    ROW_LIST(REGISTRATION, "password_change_proof",
             CONF(registration.password_change_proof), RELOAD),
    ROW_ENUM(REGISTRATION, "remove", CONF(registration.remove), "plain", RELOAD,
             .choices = remove_names),
    ROW_LIST(REGISTRATION, "remove_proof", CONF(registration.remove_proof),
             RELOAD),
    ROW_UINT(REGISTRATION, "hash_cost", CONF(registration.hash_cost), 10,
             RANGE(4, 15), RELOAD),
    ROW_LIST(REGISTRATION, "allowed_domains",
             CONF(registration.allowed_domains), RELOAD),
    ROW_LIST(REGISTRATION, "local_domains", CONF(registration.local_domains),
             RELOAD, .derived = true), /* the component's parent domain */
    ROW_LIST(REGISTRATION, "blocked_jids", CONF(registration.blocked_jids),
             RELOAD),
    ROW_ENUM(REGISTRATION, "initial_state", CONF(registration.initial_state),
             "active", RELOAD, .choices = state_names),
    ROW_LIST(REGISTRATION, "admins", CONF(registration.admins), RELOAD),
    ROW_LIST(REGISTRATION, "notify_jids", CONF(registration.notify_jids),
             RELOAD),

    /* field "VAR" { }: the title is its var */
    ROW_ENUM(FIELD, "type", FIELD(type), "text-single", RELOAD,
             .parse = parse_field_type, .check = check_field_type),
    ROW_STR(FIELD, "label", FIELD(label), NULL, RELOAD),
    ROW_STR(FIELD, "desc", FIELD(desc), NULL, RELOAD),
    ROW_STR(FIELD, "value", FIELD(value), NULL, RELOAD),
    ROW_BOOL(FIELD, "required", FIELD(required), false, RELOAD),
    ROW_SIZE(FIELD, "max_length", FIELD(max_length), FORM_DEFAULT_MAX_LENGTH,
             RANGE(1, FORM_LIMIT_MAX_LENGTH), RELOAD),
    ROW_STR(FIELD, "consent", FIELD(consent), NULL, RELOAD),

    /* option "VALUE" { } of a list field: the title is its value */
    ROW_STR(OPTION, "label", OPTION(label), NULL, RELOAD),

    ROW_UINT(LIMITS, "jid_burst", CONF(limits.jid_burst), 5, LIMIT, RELOAD),
    ROW_UINT(LIMITS, "jid_per_minute", CONF(limits.jid_per_minute), 10, LIMIT,
             RELOAD),
    ROW_UINT(LIMITS, "domain_burst", CONF(limits.domain_burst), 50, LIMIT,
             RELOAD),
    ROW_UINT(LIMITS, "domain_per_minute", CONF(limits.domain_per_minute), 120,
             LIMIT, RELOAD),
    ROW_UINT(LIMITS, "global_burst", CONF(limits.global_burst), 200, LIMIT,
             RELOAD),
    ROW_UINT(LIMITS, "global_per_minute", CONF(limits.global_per_minute), 1200,
             LIMIT, RELOAD),
    ROW_UINT(LIMITS, "inflight_per_jid", CONF(limits.inflight_per_jid), 8,
             LIMIT, RELOAD),
    ROW_UINT(LIMITS, "inflight_total", CONF(limits.inflight_total), 1024, LIMIT,
             RELOAD),

    ROW_ENUM(LOG, "level", CONF(log_level), "info", RELOAD,
             .parse = parse_level, .check = check_level),
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

/* ---- what comes from the table ------------------------------------------ */

/* The row of option name in the section called section, or NULL. */
static const struct option *option_row(const char *section, const char *name)
{
    for (size_t i = 0; i < NOPTIONS; i++)
        if (strcmp(sections[options[i].section].name, section) == 0 &&
            strcmp(options[i].name, name) == 0)
            return &options[i];
    return NULL;
}

/* The one range check, run by libconfuse as a number is read. */
static int check_range(cfg_t *cfg, cfg_opt_t *opt)
{
    const struct option *o = option_row(cfg_name(cfg), cfg_opt_name(opt));
    long v = cfg_opt_getnint(opt, cfg_opt_size(opt) - 1);

    if (!o || (v >= o->min && v <= o->max))
        return 0;
    if (o->what)
        report(cfg->line, "%s: %ld is not %s (%ld-%ld)", o->name, v, o->what,
               o->min, o->max);
    else
        report(cfg->line, "%s: %ld is out of range (%ld-%ld%s%s)", o->name, v,
               o->min, o->max, o->unit ? " " : "", o->unit ? o->unit : "");
    return 0;
}

/* names joined with ", " into buf. */
static const char *choices_text(const char *const *names, char *buf,
                                size_t size)
{
    size_t len = 0;

    buf[0] = '\0';
    for (int i = 0; names[i] && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "",
                                names[i]);
    return buf;
}

/* The choice options of section s hold one of their choices; run when the
 * section sec closes, with its other checks. */
static void check_choices(cfg_t *sec, enum section s)
{
    char all[256];

    for (size_t i = 0; i < NOPTIONS; i++) {
        const struct option *o = &options[i];
        const char *v;

        if (o->section != s || !o->choices)
            continue;
        v = cfg_getstr(sec, o->name);
        if (choice(v, o->choices) < 0)
            report(sec->line, "%s: %s '%s' is not one of %s", sections[s].name,
                   o->name, v ? v : "",
                   choices_text(o->choices, all, sizeof(all)));
    }
}

/* When a section closes: its choice options, for a section without a check
 * of its own (check_registration calls check_choices itself, among the
 * registration's other checks). */
static int check_section_choices(cfg_t *cfg, cfg_opt_t *opt)
{
    (void)cfg;
    for (enum section s = 0; s < NSECTIONS; s++)
        if (strcmp(sections[s].name, cfg_opt_name(opt)) == 0)
            check_choices(cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1), s);
    return 0;
}

/* libconfuse's option arrays, made again from the table at each load (the
 * form decides where a service's sections go).  Each section's array is
 * made once (a service's sections are shared by component "JID" and, to
 * be refused, the top level), so: each row once, each section a
 * subsection at most twice, and an end per array. */
static cfg_opt_t confuse_opts[NOPTIONS + 3 * NSECTIONS + 1];
static size_t confuse_used;
static cfg_opt_t *confuse_made[NSECTIONS];

static void confuse_add(cfg_opt_t opt)
{
    if (confuse_used == sizeof(confuse_opts) / sizeof(confuse_opts[0]))
        abort(); /* the bound above is wrong */
    confuse_opts[confuse_used++] = opt;
}

static cfg_opt_t confuse_opt(const struct option *o)
{
    switch (o->type) {
    case TYPE_UINT:
    case TYPE_SIZE:
        return (cfg_opt_t)CFG_INT(o->name, o->num, CFGF_NONE);
    case TYPE_BOOL:
        return (cfg_opt_t)CFG_BOOL(o->name, o->num ? cfg_true : cfg_false,
                                   CFGF_NONE);
    case TYPE_LIST:
        return (cfg_opt_t)CFG_STR_LIST(o->name, "{}", CFGF_NONE);
    case TYPE_STR:
    case TYPE_ENUM:
        break;
    }
    return (cfg_opt_t)CFG_STR(o->name, o->def, CFGF_NONE);
}

/* Is k a subsection of s (SEC_ROOT: the file) in this form? */
static bool subsection(enum section k, enum section s, bool titled)
{
    if (titled && s == SEC_COMPONENT)
        return sections[k].parent == SEC_ROOT && sections[k].per_service;
    return sections[k].parent == s;
}

/* The array of section s (SEC_ROOT: the file): its rows, its subsections,
 * the end. */
static cfg_opt_t *confuse_section(enum section s, bool titled)
{
    cfg_opt_t *sub[NSECTIONS];
    enum section subs[NSECTIONS];
    size_t nsub = 0, start;

    for (enum section k = 0; k < NSECTIONS; k++)
        if (subsection(k, s, titled)) {
            if (!confuse_made[k])
                confuse_made[k] = confuse_section(k, titled);
            subs[nsub] = k;
            sub[nsub++] = confuse_made[k];
        }
    start = confuse_used;
    for (size_t i = 0; i < NOPTIONS; i++)
        if (options[i].section == s)
            confuse_add(confuse_opt(&options[i]));
    for (size_t i = 0; i < nsub; i++) {
        int flags = titled && subs[i] == SEC_COMPONENT
                        ? CFGF_MULTI | CFGF_TITLE
                        : sections[subs[i]].flags;

        confuse_add((cfg_opt_t)CFG_SEC(sections[subs[i]].name, sub[i], flags));
    }
    confuse_add((cfg_opt_t)CFG_END());
    return &confuse_opts[start];
}

/* The options of a file in the untitled or the titled form. */
static cfg_opt_t *confuse_options(bool titled)
{
    confuse_used = 0;
    memset(confuse_made, 0, sizeof(confuse_made));
    return confuse_section(SEC_ROOT, titled);
}

/* cfg_set_validate_func for option name (NULL: the section itself) of
 * section s, where s is in this form. */
static void validate(cfg_t *cfg, enum section s, const char *name,
                     cfg_validate_callback_t f)
{
    char path[128];

    snprintf(path, sizeof(path), "%s%s%s%s",
             load.titled && sections[s].per_service ? "component|" : "",
             sections[s].path, name ? "|" : "", name ? name : "");
    cfg_set_validate_func(cfg, path, f);
}

/* The checks run as options and sections are read: the range of every
 * number, an odd option's own check, a section's checks as it closes; in
 * the titled form, a service's section at the top level is refused. */
static int refuse_top_section(cfg_t *cfg, cfg_opt_t *opt);

static void set_validators(cfg_t *cfg)
{
    cfg_set_error_function(cfg, on_confuse_error);
    for (size_t i = 0; i < NOPTIONS; i++) {
        const struct option *o = &options[i];

        if (o->check)
            validate(cfg, o->section, o->name, o->check);
        else if (o->type == TYPE_UINT || o->type == TYPE_SIZE)
            validate(cfg, o->section, o->name, check_range);
    }
    for (size_t i = 0; i < NOPTIONS; i++)
        if (options[i].choices && !sections[options[i].section].check)
            validate(cfg, options[i].section, NULL, check_section_choices);
    for (enum section s = 0; s < NSECTIONS; s++) {
        if (sections[s].check)
            validate(cfg, s, NULL, sections[s].check);
        if (load.titled && sections[s].per_service &&
            sections[s].parent == SEC_ROOT)
            cfg_set_validate_func(cfg, sections[s].name, refuse_top_section);
    }
}

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

/* The options of section s, from sec into base (struct conf, or the
 * field's or option's struct).  False when out of memory. */
static bool copy_section(cfg_t *sec, enum section s, void *base)
{
    bool oom = false;

    for (size_t i = 0; i < NOPTIONS; i++) {
        const struct option *o = &options[i];
        void *at;
        int e = 0;

        if (o->section != s || o->offset == NOT_STORED)
            continue;
        at = (char *)base + o->offset; /* only a real offset (UBSan) */
        switch (o->type) {
        case TYPE_STR:
            *(char **)at = dup_or_null(cfg_getstr(sec, o->name), &oom);
            break;
        case TYPE_UINT:
            *(unsigned *)at = (unsigned)cfg_getint(sec, o->name);
            break;
        case TYPE_SIZE:
            *(size_t *)at = (size_t)cfg_getint(sec, o->name);
            break;
        case TYPE_BOOL:
            *(bool *)at = cfg_getbool(sec, o->name);
            break;
        case TYPE_LIST:
            oom |= !copy_list(sec, o->name, at);
            break;
        case TYPE_ENUM: /* valid: checked as it was read */
            if (o->choices)
                e = choice(cfg_getstr(sec, o->name), o->choices);
            else
                o->parse(cfg_getstr(sec, o->name), &e);
            *(int *)at = e;
            break;
        }
    }
    return !oom;
}

static void list_free(struct conf_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
}

/* Frees what copy_section(s) put in base.  Strings are wiped first: a
 * secret, a conninfo with a password, stay nowhere in freed memory. */
static void free_section(enum section s, void *base)
{
    for (size_t i = 0; i < NOPTIONS; i++) {
        const struct option *o = &options[i];
        void *at;

        if (o->section != s || o->offset == NOT_STORED)
            continue;
        at = (char *)base + o->offset;
        if (o->type == TYPE_LIST) {
            list_free(at);
        } else if (o->type == TYPE_STR) {
            char *str = *(char **)at;

            if (str)
                explicit_bzero(str, strlen(str));
            free(str);
        }
    }
}

/* The restart rows are in struct conf (top-level sections) and are not
 * lists: conf_docs.sh checks it on the listing. */
bool conf_keep_restart_options(struct conf *next, const struct conf *running)
{
    bool ok = true;

    for (size_t i = 0; i < NOPTIONS; i++) {
        const struct option *o = &options[i];
        char *n;
        const char *r;
        bool changed;

        if (!o->restart || o->offset == NOT_STORED ||
            sections[o->section].parent != SEC_ROOT || o->type == TYPE_LIST)
            continue;
        n = (char *)next + o->offset;
        r = (const char *)running + o->offset;
        if (o->type != TYPE_STR) { /* a number, a bool, an enum (int) */
            size_t size = o->type == TYPE_SIZE   ? sizeof(size_t)
                          : o->type == TYPE_BOOL ? sizeof(bool)
                                                 : sizeof(int);

            changed = memcmp(n, r, size) != 0;
            memcpy(n, r, size);
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
                     "reload: %s.%s of %s cannot change without a restart; "
                     "keeping the running value",
                     sections[o->section].name, o->name,
                     running->component.jid ? running->component.jid : "");
    }
    return ok;
}

void conf_options_print(FILE *out)
{
    static const char *const type_names[] = {
        [TYPE_STR] = "string",   [TYPE_UINT] = "integer",
        [TYPE_SIZE] = "integer", [TYPE_BOOL] = "boolean",
        [TYPE_LIST] = "list",    [TYPE_ENUM] = "choice",
    };

    for (size_t i = 0; i < NOPTIONS; i++) {
        const struct option *o = &options[i];
        char path[64], def[64] = "-", range[64] = "-", all[256] = "-";

        snprintf(path, sizeof(path), "%s", sections[o->section].path);
        for (char *p = path; (p = strchr(p, '|'));)
            *p = '.';
        if (o->type == TYPE_UINT || o->type == TYPE_SIZE) {
            snprintf(def, sizeof(def), "%ld", o->num);
            snprintf(range, sizeof(range), "%ld to %ld", o->min, o->max);
        } else if (o->type == TYPE_BOOL) {
            snprintf(def, sizeof(def), "%s", o->num ? "true" : "false");
        } else if (o->type == TYPE_LIST && !o->derived) {
            snprintf(def, sizeof(def), "{}");
        } else if (o->def) {
            snprintf(def, sizeof(def), "\"%s\"", o->def);
        }
        if (o->choices)
            choices_text(o->choices, all, sizeof(all));
        fprintf(out, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", path, o->name,
                type_names[o->type], def, range,
                o->restart ? "restart" : "reload", all);
    }
}

/* ---- the odd options' own checks, run as each is read --------------- */

static int check_level(cfg_t *cfg, cfg_opt_t *opt)
{
    int level;
    const char *v = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);

    if (!parse_level(v, &level))
        report(cfg->line, "level: '%s' is not one of error, warn, info, debug",
               v ? v : "");
    return 0;
}

static int check_field_type(cfg_t *cfg, cfg_opt_t *opt)
{
    int type;
    const char *v = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);

    if (!parse_field_type(v, &type))
        report(cfg->line,
               "type: '%s' is not a XEP-0004 field type (text-single, "
               "text-private, text-multi, list-single, list-multi, "
               "jid-single, jid-multi, boolean, fixed, hidden)",
               v ? v : "");
    return 0;
}

/* ---- checks across options, run when a section closes ----------------- */

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

    check_choices(sec, SEC_REGISTRATION);
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

/* ---- copying into struct conf: what the table cannot say --------------- */

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

/* A field "VAR" { } and its options "VALUE" { }. */
static bool copy_field(cfg_t *sec, struct form_field_def *f)
{
    bool oom = false;
    unsigned n = cfg_size(sec, "option");

    f->var = dup_or_null(cfg_title(sec), &oom);
    if (!copy_section(sec, SEC_FIELD, f))
        return false;
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
            oom |= !copy_section(o, SEC_OPTION, &f->options[i]);
        }
    }
    return !oom;
}

/* One service: comp is its component section (at line, for messages),
 * svc the section holding its disco, registration and limits (the top
 * level in the untitled form, comp itself in the titled one); database and
 * log come from the top level, cfg. */
static bool copy_conf(cfg_t *cfg, cfg_t *comp, int line, cfg_t *svc,
                      struct conf *c)
{
    bool oom = false;
    cfg_t *reg = cfg_getsec(svc, "registration");
    unsigned nfields = cfg_size(reg, "field");

    for (enum section s = 0; s < NSECTIONS; s++) {
        cfg_t *sec = s == SEC_COMPONENT ? comp
                     : sections[s].parent != SEC_ROOT
                         ? NULL /* a field's or an option's: copy_field */
                         : cfg_getsec(sections[s].per_service ? svc : cfg,
                                      sections[s].name);

        if (sec && !copy_section(sec, s, c))
            return false;
    }
    if (load.titled) { /* the title is the JID ('jid' is refused) */
        free(c->component.jid);
        c->component.jid = dup_or_null(cfg_title(comp), &oom);
    }
    if (cfg_getstr(comp, "secret_file")) { /* 'secret' is refused then */
        free(c->component.secret);
        c->component.secret =
            read_secret_file(cfg_getstr(comp, "secret_file"), line);
        if (!c->component.secret)
            return false;
    } else {
        char *secret = cfg_getstr(comp, "secret");
        struct stat st;

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
    if (!c->disco.name)
        c->disco.name = dup_or_null(
            c->registration.title ? c->registration.title : "registrar", &oom);
    if (oom || !c->component.jid ||
        (c->registration.local_domains.n == 0 &&
         !default_local_domain(c->component.jid,
                               &c->registration.local_domains)))
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
    cfg = cfg_init(confuse_options(load.titled), CFGF_NONE);
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
        free_section(SEC_OPTION, &f->options[i]);
    }
    free(f->options);
    free(f->var);
    free_section(SEC_FIELD, f);
}

/* One service of a chain. */
static void service_free(struct conf *c)
{
    for (enum section s = 0; s < NSECTIONS; s++)
        if (sections[s].parent == SEC_ROOT)
            free_section(s, c);
    for (size_t i = 0; i < c->registration.nfields; i++)
        field_free(&c->registration.fields[i]);
    free(c->registration.fields);
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
