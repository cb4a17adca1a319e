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
#include "form_rules.h"
#include "pattern.h"
#include "template.h"
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

struct layout;

/* A problem of the file.  They are written once the load is over, in the
 * order of their lines (a file-wide one first): a mistake found by a
 * later parse (see conf_load) is not written after the others. */
struct problem {
    int line;     /* 0: the file's */
    unsigned seq; /* the order found, among a line's */
    int attempt;  /* the parse that found it */
    bool parse;   /* libconfuse's own error, which ended that parse */
    char *text;
};

/* The load in progress: libconfuse callbacks carry no user pointer, and a
 * load is single-threaded and not re-entrant. */
static struct {
    FILE *err;
    bool logged; /* problems to the log (error level), not to err */
    const char *path;
    int problems;
    bool titled; /* the file's services are titled component sections */
    const struct layout *layout; /* the file's statements, for lines */
    struct problem *found;
    size_t nfound, capfound;
    unsigned seq;
    int attempt;
    int parse_line;      /* libconfuse's error in this parse: its line */
    char parse_msg[512]; /* and its text, "" when none */
} load;

static void add_problem(int line, bool parse, const char *text)
{
    struct problem *p;

    load.problems++;
    if (load.nfound == load.capfound) {
        size_t cap = load.capfound ? load.capfound * 2 : 16;

        if (!(p = realloc(load.found, cap * sizeof(*p))))
            return; /* counted, not written */
        load.found = p;
        load.capfound = cap;
    }
    p = &load.found[load.nfound];
    *p = (struct problem){.line = line,
                          .seq = load.seq++,
                          .attempt = load.attempt,
                          .parse = parse,
                          .text = strdup(text)};
    if (p->text)
        load.nfound++;
}

static void report(int line, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void report(int line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    text_vformat(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    add_problem(line, false, msg);
}

static void on_confuse_error(cfg_t *cfg, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void on_confuse_error(cfg_t *cfg, const char *fmt, va_list ap)
{
    char msg[512];

    text_vformat(msg, sizeof(msg), fmt, ap);
    load.parse_line = cfg ? cfg->line : 0;
    snprintf(load.parse_msg, sizeof(load.parse_msg), "%s", msg);
    add_problem(load.parse_line, true, msg);
}

/* A parse that stopped, and was tried again without the statement it
 * stopped at: of what it found, only libconfuse's error stays (the
 * checks it ran are run again by the next parse). */
static void forget_attempt(int attempt)
{
    size_t kept = 0;

    for (size_t i = 0; i < load.nfound; i++) {
        struct problem *p = &load.found[i];

        if (p->attempt == attempt && !p->parse) {
            free(p->text);
            load.problems--;
        } else {
            load.found[kept++] = *p;
        }
    }
    load.nfound = kept;
}

static int problem_order(const void *a, const void *b)
{
    const struct problem *p = a, *q = b;

    if (p->line != q->line)
        return p->line < q->line ? -1 : 1;
    return p->seq < q->seq ? -1 : p->seq > q->seq;
}

/* Writes every problem found, "FILE:LINE: reason", in line order, to err
 * or to the log; then forgets them. */
static void write_problems(void)
{
    if (load.nfound) /* qsort's base must not be NULL */
        qsort(load.found, load.nfound, sizeof(*load.found), problem_order);
    for (size_t i = 0; i < load.nfound; i++) {
        const struct problem *p = &load.found[i];
        char where[32] = "";

        if (p->line > 0)
            snprintf(where, sizeof(where), ":%d", p->line);
        if (load.err)
            fprintf(load.err, "%s%s: %s\n", load.path, where, p->text);
        if (load.logged)
            log_error("conf", "%s%s: %s", load.path, where, p->text);
        free(p->text);
    }
    free(load.found);
    load.found = NULL;
    load.nfound = load.capfound = 0;
}

/* ---- the file as libconfuse reads it: tokens, statements, lines ------- */

/*
 * libconfuse 3.3 counts a one-line comment three times (its lexer adds a
 * line as the comment starts, as it ends and at its newline) and a block
 * comment once more than its lines: every line it reports after a comment
 * is wrong.  So libconfuse reads a copy of the file with its comments
 * overwritten by spaces (newlines kept), where its count is the file's.
 *
 * Besides, the file is read here once more, as libconfuse's lexer and
 * parser read it (src/lexer.l, cfg_parse_internal), into statements: an
 * option with its values, a section with its title and braces.  Each
 * statement knows its lines, which gives
 *  - the line of each option and of each value of a list, for the checks
 *    that run as a section closes (libconfuse's own line is then the
 *    closing brace's): a section's mistake names the option at fault;
 *  - the statement to take out when libconfuse stops at a mistake: it
 *    stops at the first unknown option or unreadable value, so the
 *    statement it names is overwritten with spaces, reported, and the file
 *    parsed again, until it parses (every mistake reported, see conf_load).
 * A syntax error (a brace, an equals sign or a quote missing) ends the
 * statements known here: nothing after it can be trusted to be read as
 * written, so it is the last problem reported.
 */

enum token {
    TOK_EOF,
    TOK_STR, /* a word, a quoted string, ${VAR} */
    TOK_OPEN,
    TOK_CLOSE,
    TOK_LPAREN,
    TOK_RPAREN,
    TOK_EQ,
    TOK_APPEND, /* += */
    TOK_COMMA,
};

struct lexer {
    char *p;    /* the next byte */
    int line;   /* its line */
    bool blank; /* overwrite comments with spaces (newlines kept) */
};

struct token_at {
    enum token t;
    const char *start, *end;
    int line; /* of its first byte */
};

/* The bytes [from, to) as spaces, newlines kept, when lx blanks. */
static void blank_out(const struct lexer *lx, char *from, const char *to)
{
    for (; lx->blank && from < to; from++)
        if (*from != '\n')
            *from = ' ';
}

/* Past the string that starts at s (its quote), lines counted. */
static char *skip_string(struct lexer *lx, char *s)
{
    char q = *s++;

    while (*s && *s != q) {
        char *env =
            q == '"' && s[0] == '$' && s[1] == '{' ? strchr(s, '}') : NULL;
        char *to = env ? env + 1 : s + (s[0] == '\\' && s[1] ? 2 : 1);

        for (; s < to; s++) /* ${VAR} spans anything up to its brace */
            lx->line += *s == '\n';
    }
    return *s ? s + 1 : s;
}

static enum token lex(struct lexer *lx, struct token_at *tk)
{
    char *s = lx->p, *e;
    enum token t = TOK_STR;

    for (;;) {
        if (*s == '\n') {
            lx->line++;
            s++;
        } else if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '*' ||
                   (*s == '+' && s[1] != '=')) {
            s++; /* white space, or what libconfuse skips */
        } else if (*s == '#' || (s[0] == '/' && s[1] == '/')) {
            for (e = s; *e && *e != '\n'; e++)
                ;
            blank_out(lx, s, e);
            s = e;
        } else if (s[0] == '/' && s[1] == '*') {
            for (e = s + 2; *e && !(e[0] == '*' && e[1] == '/'); e++)
                lx->line += *e == '\n';
            e += *e ? 2 : 0;
            blank_out(lx, s, e);
            s = e;
        } else {
            break;
        }
    }
    tk->start = s;
    tk->line = lx->line;
    if (!*s) {
        t = TOK_EOF;
    } else if (*s == '"' || *s == '\'') {
        s = skip_string(lx, s);
    } else if (s[0] == '$' && s[1] == '{' && (e = strchr(s, '}'))) {
        for (; s <= e; s++)
            lx->line += *s == '\n';
    } else if (s[0] == '+') {
        t = TOK_APPEND;
        s += 2;
    } else if (strchr("{}()=,", *s)) {
        static const enum token symbols[] = {TOK_OPEN,   TOK_CLOSE, TOK_LPAREN,
                                             TOK_RPAREN, TOK_EQ,    TOK_COMMA};
        t = symbols[strchr("{}()=,", *s) - "{}()=,"];
        s++;
    } else {
        while (*s && !strchr(" \t\r\n#\"'={}()+,*", *s))
            s++;
    }
    tk->t = t;
    tk->end = s;
    lx->p = s;
    return t;
}

/* One statement of the file. */
struct stmt {
    char *start, *end;    /* its bytes */
    int line, end_line;   /* of its name; of its last token (a section: its
                           * closing brace, 0 while open) */
    int parent;           /* the enclosing section's index, -1: the file */
    struct token_at name; /* an option's or a section's */
    struct token_at title;
    bool has_title, section, append; /* append: += */
    size_t value0, nvalues; /* its values' lines: layout.vlines[value0...] */
};

/* The statements of a file, in file order (a section before its own). */
struct layout {
    struct stmt *s;
    size_t n, cap;
    int *vlines;
    size_t nv, vcap;
    bool oom;
    int broken;   /* the line of the syntax error that ends it, 0: none */
    int unclosed; /* the section the end of the file left open, -1: none */
};

#define LAYOUT_MAX_DEPTH 32

static bool layout_grow(void **a, size_t *cap, size_t n, size_t size)
{
    void *b;

    if (n < *cap)
        return true;
    if (!(b = realloc(*a, (*cap ? *cap * 2 : 64) * size)))
        return false;
    *a = b;
    *cap = *cap ? *cap * 2 : 64;
    return true;
}

static bool add_value(struct layout *l, struct stmt *st, int line)
{
    if (!layout_grow((void **)&l->vlines, &l->vcap, l->nv, sizeof(int))) {
        l->oom = true;
        return false;
    }
    l->vlines[l->nv++] = line;
    st->nvalues++;
    return true;
}

static bool parse_body(struct layout *l, struct lexer *lx, int parent,
                       int depth, struct token_at *close);

/* Ends the layout at a syntax error at line (the statement in hand and
 * everything after it dropped from index on). */
static bool layout_break(struct layout *l, size_t index, int line)
{
    l->n = index;
    if (!l->broken)
        l->broken = line > 0 ? line : 1;
    return false;
}

/* The statement whose name is *name, and everything inside it. */
static bool parse_stmt(struct layout *l, struct lexer *lx,
                       const struct token_at *name, int parent, int depth)
{
    size_t i = l->n;
    struct token_at tk, close;
    struct stmt *st;
    enum token t;

    if (!layout_grow((void **)&l->s, &l->cap, l->n, sizeof(*l->s))) {
        l->oom = true;
        return false;
    }
    st = &l->s[l->n++];
    *st = (struct stmt){.start = (char *)name->start,
                        .line = name->line,
                        .parent = parent,
                        .name = *name,
                        .value0 = l->nv};
    t = lex(lx, &tk);
    if (t == TOK_EQ || t == TOK_APPEND) {
        l->s[i].append = t == TOK_APPEND;
        t = lex(lx, &tk);
        if (t == TOK_OPEN) { /* a list: { } or { V, V ... } */
            t = lex(lx, &tk);
            while (t == TOK_STR) {
                if (!add_value(l, &l->s[i], tk.line))
                    return false;
                t = lex(lx, &tk);
                if (t == TOK_COMMA)
                    t = lex(lx, &tk);
                else
                    break;
            }
            if (t != TOK_CLOSE)
                return layout_break(l, i, tk.line);
        } else if (t != TOK_STR || !add_value(l, &l->s[i], tk.line)) {
            return l->oom ? false : layout_break(l, i, tk.line);
        }
    } else if (t == TOK_LPAREN) { /* a function: ( ) or ( V, V ... ) */
        while ((t = lex(lx, &tk)) == TOK_STR && lex(lx, &tk) == TOK_COMMA)
            ;
        if (tk.t != TOK_RPAREN)
            return layout_break(l, i, tk.line);
    } else if (t == TOK_OPEN || t == TOK_STR) { /* a section */
        l->s[i].section = true;
        if (t == TOK_STR) {
            l->s[i].has_title = true;
            l->s[i].title = tk;
            if (lex(lx, &tk) != TOK_OPEN)
                return layout_break(l, i, tk.line);
        }
        if (depth >= LAYOUT_MAX_DEPTH)
            return layout_break(l, i, tk.line);
        if (!parse_body(l, lx, (int)i, depth + 1, &close))
            return false;
        tk = close;
    } else {
        return layout_break(l, i, tk.line);
    }
    l->s[i].end = (char *)tk.end;
    l->s[i].end_line = tk.line;
    return true;
}

/* Statements up to the closing brace (in *close) of a section, or to the
 * end of the file at depth 0. */
static bool parse_body(struct layout *l, struct lexer *lx, int parent,
                       int depth, struct token_at *close)
{
    struct token_at tk;

    for (;;) {
        switch (lex(lx, &tk)) {
        case TOK_EOF:
            if (depth == 0)
                return true;
            l->unclosed = parent;
            return layout_break(l, l->n, tk.line);
        case TOK_CLOSE:
            if (depth == 0)
                return layout_break(l, l->n, tk.line);
            *close = tk;
            return true;
        case TOK_STR:
            if (!parse_stmt(l, lx, &tk, parent, depth))
                return false;
            break;
        default:
            return layout_break(l, l->n, tk.line);
        }
    }
}

/* The statements of text (NUL-terminated); with blank, its comments are
 * overwritten with spaces first.  False when out of memory. */
static bool layout_read(struct layout *l, char *text, bool blank)
{
    struct lexer lx = {.p = text, .line = 1, .blank = blank};

    l->n = l->nv = 0;
    l->oom = false;
    l->broken = 0;
    l->unclosed = -1;
    parse_body(l, &lx, -1, 0, NULL);
    return !l->oom;
}

static void layout_free(struct layout *l)
{
    free(l->s);
    free(l->vlines);
    memset(l, 0, sizeof(*l));
}

/* The text of a token as libconfuse reads it, into buf: a word as it is,
 * a quoted string without its quotes.  NULL when that needs more than
 * taking the quotes away (an escape, ${VAR}): then it is not compared. */
static const char *token_text(const struct token_at *tk, char *buf, size_t size)
{
    const char *s = tk->start;
    size_t len = (size_t)(tk->end - tk->start);

    if (len && (*s == '"' || *s == '\'')) {
        s++;
        len -= len > 1 && tk->end[-1] == *tk->start ? 2 : 1;
    }
    if (len >= size || memchr(s, '\\', len) || memchr(s, '$', len))
        return NULL;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return buf;
}

/* Does token tk read as text (NULL: no token)?  A token that cannot be
 * compared matches anything. */
static bool token_is(const struct token_at *tk, bool present, const char *text)
{
    char buf[256];
    const char *t;

    if (!present || !text)
        return !present && !text;
    t = token_text(tk, buf, sizeof(buf));
    return !t || strcmp(t, text) == 0;
}

/* ---- lines for the checks ----------------------------------------------- */

/* The statement of section sec, once libconfuse has read it to its
 * closing brace (sec->line then holds that brace's line); -1 when
 * unknown. */
static int section_stmt(cfg_t *sec)
{
    const struct layout *l = load.layout;

    for (size_t i = 0; l && sec && i < l->n; i++) {
        const struct stmt *st = &l->s[i];

        if (st->section && st->end_line == sec->line &&
            token_is(&st->name, true, cfg_name(sec)) &&
            token_is(&st->title, st->has_title, cfg_title(sec)))
            return (int)i;
    }
    return -1;
}

/* The line of section sec's name ('registration {', 'field "x" {'); its
 * closing brace's when unknown. */
static int sec_line(cfg_t *sec)
{
    int i = section_stmt(sec);

    return i >= 0 ? load.layout->s[i].line : sec ? sec->line : 0;
}

/* The last statement of option name in section sec, or NULL. */
static const struct stmt *option_stmt(cfg_t *sec, const char *name)
{
    int p = section_stmt(sec);
    const struct stmt *found = NULL;

    if (p < 0) /* no option is top-level */
        return NULL;
    for (size_t i = (size_t)p + 1; i < load.layout->n; i++) {
        const struct stmt *st = &load.layout->s[i];

        if (st->parent == p && !st->section && token_is(&st->name, true, name))
            found = st;
    }
    return found;
}

/* The line where option name is given in section sec, 0 when it is not. */
static int given_line(cfg_t *sec, const char *name)
{
    const struct stmt *st = option_stmt(sec, name);

    return st ? st->line : 0;
}

/* The line of option name in sec: where it is given, else the section's. */
static int opt_line(cfg_t *sec, const char *name)
{
    int line = given_line(sec, name);

    return line ? line : sec_line(sec);
}

/* A mistake of two options together: the line of the later one given
 * (where the file became wrong), else the section's. */
static int pair_line(cfg_t *sec, const char *a, const char *b)
{
    int la = given_line(sec, a), lb = given_line(sec, b);

    return la > lb ? la : lb ? lb : sec_line(sec);
}

/* The line of value i of list option name in sec ('=' starts the list
 * again, '+=' adds to it); the option's line when unknown. */
static int value_line(cfg_t *sec, const char *name, unsigned i)
{
    const struct layout *l = load.layout;
    int p = section_stmt(sec);
    size_t from, k;
    bool any = false;

    if (p < 0) /* no option is top-level */
        return sec ? sec->line : 0;
    for (k = from = (size_t)p + 1; k < l->n; k++) {
        const struct stmt *st = &l->s[k];

        if (st->parent == p && !st->section &&
            token_is(&st->name, true, name) && (!any || !st->append)) {
            from = k; /* the list as it stands starts here */
            any = true;
        }
    }
    for (k = from; k < l->n; k++) {
        const struct stmt *st = &l->s[k];

        if (st->parent != p || st->section || !token_is(&st->name, true, name))
            continue;
        if (i < st->nvalues)
            return l->vlines[st->value0 + i];
        i -= (unsigned)st->nvalues;
    }
    return opt_line(sec, name);
}

/* ---- choices ------------------------------------------------------------ */

/* In the order of their enums (conf.h). */
static const char *const mode_names[] = {"form", "redirect", NULL};
static const char *const pwchange_names[] = {"legacy", "form", "off", NULL};
static const char *const remove_names[] = {"plain", "form", "off", NULL};
static const char *const state_names[] = {"active", "pending", NULL};
static const char *const invites_mode_names[] = {"off", "optional", "required",
                                                 NULL};
static const char *const challenge_mode_names[] = {"off", "always", "risk",
                                                   NULL};

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
                   sizeof(enum conf_invites_mode) == sizeof(int) &&
                   sizeof(enum challenge_mode) == sizeof(int) &&
                   sizeof(enum log_level) == sizeof(int) &&
                   sizeof(enum form_field_type) == sizeof(int),
               "enum options are stored as int");

/* The checks the table names, defined below it. */
static int check_component(cfg_t *cfg, cfg_opt_t *opt);
static int check_registration(cfg_t *cfg, cfg_opt_t *opt);
static int check_limits(cfg_t *cfg, cfg_opt_t *opt);
static int check_messages(cfg_t *cfg, cfg_opt_t *opt);
static int check_level(cfg_t *cfg, cfg_opt_t *opt);
static int check_field_type(cfg_t *cfg, cfg_opt_t *opt);
static int check_listen(cfg_t *cfg, cfg_opt_t *opt);
static int check_duration(cfg_t *cfg, cfg_opt_t *opt);
static int check_landing_url(cfg_t *cfg, cfg_opt_t *opt);
static int check_challenge(cfg_t *cfg, cfg_opt_t *opt);
static int check_image_cmd(cfg_t *cfg, cfg_opt_t *opt);
static int check_fallback_url(cfg_t *cfg, cfg_opt_t *opt);
static int check_lang(cfg_t *cfg, cfg_opt_t *opt);
static int check_lang_messages(cfg_t *cfg, cfg_opt_t *opt);
static int check_lang_tag(cfg_t *cfg, cfg_opt_t *opt);

/* ---- the sections ------------------------------------------------------- */

enum section {
    SEC_COMPONENT,
    SEC_DATABASE,
    SEC_DISCO,
    SEC_REGISTRATION,
    SEC_FIELD,
    SEC_OPTION,
    SEC_LIMITS,
    SEC_INVITES,
    SEC_MESSAGES,
    SEC_CHALLENGE,
    SEC_METRICS,
    SEC_LOG,
    SEC_LANG,          /* lang "TAG" { }: a translation (lang.h) */
    SEC_LANG_FIELD,    /* its field "VAR" { } */
    SEC_LANG_OPTION,   /* the field's option "VALUE" { } */
    SEC_LANG_TEXTS,    /* its texts { KEY = "..." } */
    SEC_LANG_MESSAGES, /* its messages { } */
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
    [SEC_INVITES] = {"invites", SEC_ROOT, "invites", true, CFGF_NONE, NULL},
    [SEC_MESSAGES] = {"messages", SEC_ROOT, "messages", true, CFGF_NONE,
                      check_messages},
    [SEC_CHALLENGE] = {"challenge", SEC_ROOT, "challenge", true, CFGF_NONE,
                       check_challenge},
    [SEC_METRICS] = {"metrics", SEC_ROOT, "metrics", false, CFGF_NONE, NULL},
    [SEC_LOG] = {"log", SEC_ROOT, "log", false, CFGF_NONE, NULL},
    /* several per service: copied by copy_langs, not into struct conf */
    [SEC_LANG] = {"lang", SEC_ROOT, "lang", true,
                  CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES, check_lang},
    [SEC_LANG_FIELD] = {"field", SEC_LANG, "lang|field", true,
                        CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES, NULL},
    [SEC_LANG_OPTION] = {"option", SEC_LANG_FIELD, "lang|field|option", true,
                         CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES, NULL},
    [SEC_LANG_TEXTS] = {"texts", SEC_LANG, "lang|texts", true, CFGF_NONE, NULL},
    [SEC_LANG_MESSAGES] = {"messages", SEC_LANG, "lang|messages", true,
                           CFGF_NONE, check_lang_messages},
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
#define LANG(member) offsetof(struct conf_lang, member)
#define LANG_FIELD(member) offsetof(struct conf_lang_field, member)
#define LANG_OPTION(member) offsetof(struct conf_lang_option, member)
#define LANG_TEXT_ROW(key, en)                                                 \
    ROW_STR(LANG_TEXTS, #key, LANG(texts[LANG_TEXT_##key]), NULL, RELOAD),
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
    ROW_UINT(DATABASE, "read_connections", CONF(database.read_connections), 0,
             RANGE(0, 8), RESTART),

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
    /* the language of the untranslated texts (lang.h) */
    ROW_STR(REGISTRATION, "default_lang", CONF(registration.default_lang), "en",
            RELOAD, .check = check_lang_tag),

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
    /* XEP-0122 validation (form_rules.c checks them together) */
    ROW_STR(FIELD, "datatype", FIELD(datatype), NULL, RELOAD),
    ROW_STR(FIELD, "range_min", FIELD(range_min), NULL, RELOAD),
    ROW_STR(FIELD, "range_max", FIELD(range_max), NULL, RELOAD),
    ROW_STR(FIELD, "regex", FIELD(regex), NULL, RELOAD),
    ROW_SIZE(FIELD, "list_min", FIELD(list_min), 0, RANGE(0, FORM_MAX_VALUES),
             RELOAD),
    ROW_SIZE(FIELD, "list_max", FIELD(list_max), 0, RANGE(0, FORM_MAX_VALUES),
             RELOAD),

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
    ROW_UINT(LIMITS, "cache_entries", CONF(limits.cache_entries), 10000,
             RANGE(0, 10000000), RESTART),

    /* invitations (sql/013); the durations also in seconds (copy_conf) */
    ROW_ENUM(INVITES, "mode", CONF(invites.mode), "off", RELOAD,
             .choices = invites_mode_names),
    ROW_STR(INVITES, "default_ttl", CONF(invites.default_ttl), "7d", RELOAD,
            .check = check_duration),
    ROW_STR(INVITES, "landing_url", CONF(invites.landing_url), NULL, RELOAD,
            .check = check_landing_url),
    ROW_STR(INVITES, "preauth_ttl", CONF(invites.preauth_ttl), "1h", RELOAD,
            .check = check_duration),
    /* challenges (XEP-0158; challenge.h, sql/015) */
    ROW_ENUM(CHALLENGE, "mode", CONF(challenge.mode), "off", RELOAD,
             .choices = challenge_mode_names),
    ROW_STR(CHALLENGE, "ttl", CONF(challenge.ttl), "120s", RELOAD,
            .check = check_duration),
    ROW_UINT(CHALLENGE, "max_failures", CONF(challenge.max_failures), 3,
             RANGE(0, 1000), RELOAD),
    ROW_STR(CHALLENGE, "lockout", CONF(challenge.lockout), "15m", RELOAD,
            .check = check_duration),
    ROW_STR(CHALLENGE, "qa_file", CONF(challenge.qa_file), NULL, RELOAD),
    ROW_STR(CHALLENGE, "image_cmd", CONF(challenge.image_cmd), NULL, RELOAD,
            .check = check_image_cmd),
    ROW_STR(CHALLENGE, "image_timeout", CONF(challenge.image_timeout), "5s",
            RELOAD, .check = check_duration),
    ROW_STR(CHALLENGE, "fallback_url", CONF(challenge.fallback_url), NULL,
            RELOAD, .check = check_fallback_url),
    ROW_LIST(CHALLENGE, "trusted_domains", CONF(challenge.trusted_domains),
             RELOAD),
    ROW_UINT(CHALLENGE, "signups_per_minute",
             CONF(challenge.signups_per_minute), 0, LIMIT, RELOAD),
    /* messages to users: templates (template.h), none by default */
    ROW_STR(MESSAGES, "welcome", CONF(messages.welcome), NULL, RELOAD),
    ROW_STR(MESSAGES, "activated", CONF(messages.activated), NULL, RELOAD),
    ROW_STR(MESSAGES, "disabled", CONF(messages.disabled), NULL, RELOAD),
    ROW_STR(MESSAGES, "admin_notice", CONF(messages.admin_notice), NULL,
            RELOAD),

    /* the endpoint of metrics.c: none by default */
    ROW_STR(METRICS, "listen", CONF(metrics.listen), NULL, RESTART,
            .check = check_listen),

    ROW_ENUM(LOG, "level", CONF(log_level), "info", RELOAD,
             .parse = parse_level, .check = check_level),
    ROW_UINT(LOG, "stats_interval_s", CONF(log_stats_interval_s), 60,
             RANGE(0, 86400), RELOAD, .unit = "s"),

    /* lang "TAG" { }: a translation; none given, none used */
    ROW_STR(LANG, "title", LANG(title), NULL, RELOAD),
    ROW_STR(LANG, "instructions", LANG(instructions), NULL, RELOAD),
    ROW_STR(LANG_FIELD, "label", LANG_FIELD(label), NULL, RELOAD),
    ROW_STR(LANG_FIELD, "desc", LANG_FIELD(desc), NULL, RELOAD),
    ROW_STR(LANG_OPTION, "label", LANG_OPTION(label), NULL, RELOAD),
    /* texts { }: one row per key of lang.h's catalog */
    /* clang-format off */
    LANG_TEXTS(LANG_TEXT_ROW)
    /* clang-format on */
    ROW_STR(LANG_MESSAGES, "welcome", LANG(messages.welcome), NULL, RELOAD),
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
            report(opt_line(sec, o->name), "%s: %s '%s' is not one of %s",
                   sections[s].name, o->name, v ? v : "",
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

/* "HOST:PORT", "[V6]:PORT" (a port 1 to 65535) or an absolute path that
 * fits a unix socket's address; metrics.c resolves and binds it. */
static int check_listen(cfg_t *cfg, cfg_opt_t *opt)
{
    const char *v = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);
    const char *colon = v ? strrchr(v, ':') : NULL;
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    bool ok;

    if (v && v[0] == '/')
        ok = strlen(v) < 108; /* sizeof(sun_path) */
    else
        ok = colon && colon > v && colon[1] && !*end && port >= 1 &&
             port <= 65535 &&
             (v[0] != '[' || (colon[-1] == ']' && colon - v > 2));
    if (!ok)
        report(cfg->line,
               "listen: '%s' is not HOST:PORT, [IPV6]:PORT or the absolute "
               "path of a unix socket (under 108 bytes)",
               v ? v : "");
    return 0;
}

static int check_duration(cfg_t *cfg, cfg_opt_t *opt)
{
    const char *v = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);
    unsigned long s;

    if (!text_duration_parse(v, &s))
        report(cfg->line,
               "%s: '%s' is not a duration (a number and s, m, h, d or w; "
               "1s to 10 years)",
               cfg_opt_name(opt), v ? v : "");
    return 0;
}

/* An https:// (or http://) URL with {token} where the token goes. */
static int check_landing_url(cfg_t *cfg, cfg_opt_t *opt)
{
    const char *v = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);

    if (!v ||
        (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0) ||
        !strstr(v, "{token}"))
        report(cfg->line,
               "landing_url: '%s' is not an http(s) URL with {token} in it",
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
    int line;

    (void)cfg;

    if (load.titled) {
        char quoted[TEXT_EXCERPT_SIZE(64)];

        snprintf(what, sizeof(what), "component \"%s\"",
                 text_excerpt(quoted, sizeof(quoted), jid, 64));
        if (cfg_getstr(sec, "jid"))
            report(opt_line(sec, "jid"),
                   "%s: 'jid' is the section's title here: remove it", what);
    }
    /* the JID: the untitled section's option, the titled one's title */
    line = load.titled ? sec_line(sec) : opt_line(sec, "jid");
    if (str_blank(jid))
        report(line, "%s: 'jid' is required", what);
    else if (strchr(jid, '@') || strchr(jid, '/') || !form_jid_valid(jid))
        report(line, "%s: jid '%s' is not a domain JID", what, jid);
    if (str_blank(cfg_getstr(sec, "server")))
        report(opt_line(sec, "server"), "%s: 'server' must not be empty", what);
    if (str_blank(cfg_getstr(sec, "secret")) ==
        str_blank(cfg_getstr(sec, "secret_file")))
        report(pair_line(sec, "secret", "secret_file"),
               "%s: give exactly one of 'secret' and 'secret_file'", what);
    if (cfg_getint(sec, "reconnect_min_ms") >
        cfg_getint(sec, "reconnect_max_ms"))
        report(pair_line(sec, "reconnect_min_ms", "reconnect_max_ms"),
               "%s: reconnect_min_ms is larger than reconnect_max_ms", what);
    return 0;
}

/* In the titled form, registration, limits and disco belong to a
 * service: one at the top level is a mistake, not a default. */
static int refuse_top_section(cfg_t *cfg, cfg_opt_t *opt)
{
    (void)cfg;
    report(sec_line(cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1)),
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

static void check_field_rules(cfg_t *field, enum form_field_type type);

static void check_field(cfg_t *field)
{
    const char *var = cfg_title(field);
    const char *type_name = cfg_getstr(field, "type");
    enum form_field_type type = FORM_TEXT_SINGLE;
    unsigned noptions = cfg_size(field, "option");
    int line = sec_line(field), type_line = opt_line(field, "type");

    if (!var_ok(var)) {
        report(line,
               "field \"%s\": a var must be 1-64 characters "
               "without spaces, quotes or <>&",
               var ? var : "");
        return;
    }
    if (strcmp(var, "FORM_TYPE") == 0) {
        report(line, "field \"FORM_TYPE\" is reserved");
        return;
    }
    if (!type_name || !form_type_parse(type_name, &type))
        return; /* already reported by check_field_type */
    if ((type == FORM_LIST_SINGLE || type == FORM_LIST_MULTI) && noptions == 0)
        report(type_line, "field \"%s\": a %s field needs options", var,
               type_name);
    if (noptions && type != FORM_LIST_SINGLE && type != FORM_LIST_MULTI)
        report(type_line, "field \"%s\": only list fields take options", var);
    if ((type == FORM_FIXED || type == FORM_HIDDEN) &&
        str_blank(cfg_getstr(field, "value")))
        report(opt_line(field, "value"),
               "field \"%s\": a %s field needs a value", var, type_name);
    if (strcmp(var, "username") == 0 && type != FORM_TEXT_SINGLE)
        report(type_line, "field \"username\" must be text-single");
    if (strcmp(var, "password") == 0 && type != FORM_TEXT_PRIVATE)
        report(type_line, "field \"password\" must be text-private");
    if (cfg_getstr(field, "consent")) {
        if (type != FORM_BOOLEAN)
            report(pair_line(field, "type", "consent"),
                   "field \"%s\": a consent must be a boolean field", var);
        if (str_blank(cfg_getstr(field, "consent")) ||
            strlen(cfg_getstr(field, "consent")) > 64)
            report(opt_line(field, "consent"),
                   "field \"%s\": consent must name a version (1-64 "
                   "characters)",
                   var);
    }
    check_field_rules(field, type);
}

/* A problem of form_rules_check(), on the line of the key it is about. */
static void report_rule(void *arg, enum form_rules_key key, size_t index,
                        const char *text)
{
    static const char *const keys[] = {
        [FORM_RULES_TYPE] = "type",
        [FORM_RULES_DATATYPE] = "datatype",
        [FORM_RULES_RANGE_MIN] = "range_min",
        [FORM_RULES_RANGE_MAX] = "range_max",
        [FORM_RULES_REGEX] = "regex",
        [FORM_RULES_LIST_MIN] = "list_min",
        [FORM_RULES_LIST_MAX] = "list_max",
        [FORM_RULES_OPTION] = NULL,
    };
    cfg_t *field = arg;
    int line = key == FORM_RULES_OPTION
                   ? sec_line(cfg_getnsec(field, "option", (unsigned)index))
                   : opt_line(field, keys[key]);

    report(line, "field \"%s\": %s", cfg_title(field), text);
}

/* The XEP-0122 keys of a field, together (form_rules.c). */
static void check_field_rules(cfg_t *field, enum form_field_type type)
{
    unsigned n = cfg_size(field, "option");
    struct form_option *opts = calloc(n ? n : 1, sizeof(*opts));
    long lmin = cfg_getint(field, "list_min"),
         lmax = cfg_getint(field, "list_max");
    struct form_field_def f = {
        .var = (char *)cfg_title(field),
        .type = type,
        .datatype = cfg_getstr(field, "datatype"),
        .range_min = cfg_getstr(field, "range_min"),
        .range_max = cfg_getstr(field, "range_max"),
        .regex = cfg_getstr(field, "regex"),
        .list_min = lmin > 0 ? (size_t)lmin : 0,
        .list_max = lmax > 0 ? (size_t)lmax : 0,
        .options = opts,
    };

    if (!opts) {
        report(sec_line(field), "out of memory");
        return;
    }
    for (unsigned i = 0; i < n; i++)
        opts[f.noptions++] = (struct form_option){
            .value = (char *)cfg_title(cfg_getnsec(field, "option", i))};
    (void)form_rules_check(&f, report_rule, field);
    free(opts);
}

/* Each entry of opt must be a bare JID (user@domain). */
static void check_bare_jids(cfg_t *sec, const char *opt)
{
    for (unsigned i = 0; i < cfg_size(sec, opt); i++) {
        const char *j = cfg_getnstr(sec, opt, i);
        if (!strchr(j, '@') || strchr(j, '/') || !form_jid_valid(j))
            report(value_line(sec, opt, i),
                   "registration: %s: '%s' is not a bare JID", opt, j);
    }
}

/* Each proof var must name a registration field, once. */
static void check_proof(cfg_t *sec, const char *opt, bool password_ok)
{
    unsigned n = cfg_size(sec, opt);

    if (n > FORM_MAX_FIELDS)
        report(opt_line(sec, opt), "registration: %s names more than %d fields",
               opt, FORM_MAX_FIELDS);
    for (unsigned i = 0; i < n; i++) {
        const char *var = cfg_getnstr(sec, opt, i);
        bool dup = false;

        for (unsigned k = 0; k < i && !dup; k++)
            dup = strcmp(var, cfg_getnstr(sec, opt, k)) == 0;
        if (dup)
            report(value_line(sec, opt, i), "registration: %s names '%s' twice",
                   opt, var);
        else if (!cfg_gettsec(sec, "field", var))
            report(value_line(sec, opt, i),
                   "registration: %s names '%s', which is not "
                   "a registration field",
                   opt, var);
        else if (!password_ok && strcmp(var, "password") == 0)
            report(value_line(sec, opt, i),
                   "registration: %s cannot name 'password' "
                   "(the old password is always asked)",
                   opt);
    }
}

static bool domain_ok(const char *d)
{
    return d && *d && !strchr(d, '@') && !strchr(d, '/') && form_jid_valid(d);
}

static void check_policy(cfg_t *sec)
{
    const char *url = cfg_getstr(sec, "url");

    check_choices(sec, SEC_REGISTRATION);
    check_bare_jids(sec, "admins");
    check_bare_jids(sec, "notify_jids");
    if (url && strncmp(url, "https://", 8) != 0 &&
        strncmp(url, "http://", 7) != 0)
        report(opt_line(sec, "url"),
               "registration: url '%s' is not an http(s) URL", url);
    if (choice(cfg_getstr(sec, "mode"), mode_names) == CONF_MODE_REDIRECT &&
        !url)
        report(opt_line(sec, "mode"),
               "registration: mode \"redirect\" needs a url");
    check_proof(sec, "password_change_proof", false);
    check_proof(sec, "remove_proof", true);
    if (choice(cfg_getstr(sec, "remove"), remove_names) == CONF_REMOVE_FORM &&
        !cfg_gettsec(sec, "field", "username") &&
        !cfg_gettsec(sec, "field", "password") &&
        cfg_size(sec, "remove_proof") == 0)
        report(opt_line(sec, "remove"),
               "registration: remove = \"form\" needs a proof: "
               "a username or password field, or remove_proof");
    for (unsigned i = 0; i < cfg_size(sec, "allowed_domains"); i++) {
        const char *d = cfg_getnstr(sec, "allowed_domains", i);
        if (strcmp(d, "*") != 0 && !domain_ok(d))
            report(value_line(sec, "allowed_domains", i),
                   "registration: allowed_domains: '%s' is not "
                   "a domain (or \"*\")",
                   d);
    }
    for (unsigned i = 0; i < cfg_size(sec, "local_domains"); i++)
        if (!domain_ok(cfg_getnstr(sec, "local_domains", i)))
            report(value_line(sec, "local_domains", i),
                   "registration: local_domains: '%s' is not a "
                   "domain",
                   cfg_getnstr(sec, "local_domains", i));
    for (unsigned i = 0; i < cfg_size(sec, "blocked_jids"); i++)
        if (str_blank(cfg_getnstr(sec, "blocked_jids", i)))
            report(value_line(sec, "blocked_jids", i),
                   "registration: blocked_jids: empty pattern");
}

static int check_registration(cfg_t *cfg, cfg_opt_t *opt)
{
    cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
    unsigned n = cfg_size(sec, "field");

    (void)cfg;
    if (n == 0)
        report(sec_line(sec), "registration: at least one field is required");
    if (n > FORM_MAX_FIELDS)
        report(sec_line(sec), "registration: more than %d fields",
               FORM_MAX_FIELDS);
    for (unsigned i = 0; i < n; i++)
        check_field(cfg_getnsec(sec, "field", i));
    check_policy(sec);
    return 0;
}

static int check_limits(cfg_t *cfg, cfg_opt_t *opt)
{
    cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);

    long per_jid = cfg_getint(sec, "inflight_per_jid");
    long total = cfg_getint(sec, "inflight_total");

    (void)cfg;
    if (per_jid && total && per_jid > total)
        report(pair_line(sec, "inflight_per_jid", "inflight_total"),
               "limits: inflight_per_jid is larger than inflight_total");
    return 0;
}

/* Every template of messages: not empty, text XML allows, placeholders
 * template.h knows; each problem at its option's line. */
/* The templates of a messages section (s: SEC_MESSAGES or
 * SEC_LANG_MESSAGES). */
static void messages_check(cfg_t *sec, enum section s)
{
    for (size_t i = 0; i < NOPTIONS; i++) {
        const char *name = options[i].name;
        const char *v;
        char why[256];

        if (options[i].section != s || !(v = cfg_getstr(sec, name)))
            continue;
        if (str_blank(v))
            report(opt_line(sec, name),
                   "messages: %s is empty (leave it out to send none)", name);
        else if (!text_xml_chars_ok(v))
            report(opt_line(sec, name),
                   "messages: %s holds a character XML does not allow (or "
                   "is not UTF-8)",
                   name);
        else if (!template_check(v, why, sizeof(why)))
            report(opt_line(sec, name), "messages: %s: %s", name, why);
    }
}

static int check_messages(cfg_t *cfg, cfg_opt_t *opt)
{
    (void)cfg;
    messages_check(cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1), SEC_MESSAGES);
    return 0;
}

static int check_lang_messages(cfg_t *cfg, cfg_opt_t *opt)
{
    (void)cfg;
    messages_check(cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1),
                   SEC_LANG_MESSAGES);
    return 0;
}

static int check_lang_tag(cfg_t *cfg, cfg_opt_t *opt)
{
    const char *v = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);

    if (!lang_tag_valid(v))
        report(cfg->line, "%s: '%s' is not a BCP 47 language tag (RFC 5646)",
               cfg_opt_name(opt), v ? v : "");
    return 0;
}

/* A text of a translation: not empty, characters XML allows. */
static void lang_string_check(cfg_t *sec, const char *what, const char *name)
{
    const char *v = cfg_getstr(sec, name);

    if (!v)
        return;
    if (str_blank(v))
        report(opt_line(sec, name),
               "%s: %s is empty (leave it out to keep "
               "the untranslated one)",
               what, name);
    else if (!text_xml_chars_ok(v))
        report(opt_line(sec, name),
               "%s: %s holds a character XML does not allow (or is not "
               "UTF-8)",
               what, name);
}

/* As a lang "TAG" { } closes: its tag, its texts' placeholders.  Whether
 * its fields and options exist is checked once the file is read
 * (check_langs): the registration section may come after it. */
static int check_lang(cfg_t *cfg, cfg_opt_t *opt)
{
    cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
    const char *tag = cfg_title(sec);
    char what[128];

    (void)cfg;
    snprintf(what, sizeof(what), "lang \"%.64s\"", tag ? tag : "");
    if (!lang_tag_valid(tag)) {
        report(sec_line(sec),
               "%s: not a BCP 47 language tag (RFC 5646: 'fr', 'pt-BR', "
               "'zh-Hant-TW', ...)",
               what);
        return 0;
    }
    lang_string_check(sec, what, "title");
    lang_string_check(sec, what, "instructions");
    for (unsigned i = 0; i < cfg_size(sec, "field"); i++) {
        cfg_t *f = cfg_getnsec(sec, "field", i);

        lang_string_check(f, what, "label");
        lang_string_check(f, what, "desc");
        for (unsigned k = 0; k < cfg_size(f, "option"); k++)
            lang_string_check(cfg_getnsec(f, "option", k), what, "label");
    }
    if (cfg_size(sec, "texts")) {
        cfg_t *t = cfg_getsec(sec, "texts");

        for (int k = 0; k < LANG_NTEXTS; k++) {
            const char *key = lang_text_key((enum lang_text)k);
            const char *v = cfg_getstr(t, key);
            char bad[64];

            lang_string_check(t, what, key);
            if (v && !lang_placeholders_ok(lang_text_english((enum lang_text)k),
                                           v, bad, sizeof(bad)))
                report(opt_line(t, key),
                       "%s: texts: %s: %s is not a placeholder of its "
                       "English text '%s'",
                       what, key, bad, lang_text_english((enum lang_text)k));
        }
    }
    return 0;
}

/* A challenge mode other than off needs something to ask: qa_file (read
 * and checked, line by line, by copy_conf). */
static int check_challenge(cfg_t *cfg, cfg_opt_t *opt)
{
    cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
    const char *mode = cfg_getstr(sec, "mode");

    (void)cfg;
    if (mode && strcmp(mode, "off") != 0 && !cfg_getstr(sec, "qa_file") &&
        !cfg_getstr(sec, "image_cmd"))
        report(opt_line(sec, "mode"),
               "challenge: mode '%s' needs something to ask: set qa_file or "
               "image_cmd",
               mode);
    return 0;
}

/* An absolute path to a file registrar may run. */
static int check_image_cmd(cfg_t *cfg, cfg_opt_t *opt)
{
    const char *v = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);

    if (!v || v[0] != '/')
        report(cfg->line, "image_cmd: '%s' is not an absolute path",
               v ? v : "");
    else if (access(v, X_OK) != 0)
        report(cfg->line, "image_cmd: cannot run %s: %s", v, strerror(errno));
    return 0;
}

/* An https:// (or http://) URL with {cid} where the image's cid goes. */
static int check_fallback_url(cfg_t *cfg, cfg_opt_t *opt)
{
    const char *v = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);

    if (!v ||
        (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0) ||
        !strstr(v, "{cid}") || !text_xml_chars_ok(v))
        report(cfg->line,
               "fallback_url: '%s' is not an http(s) URL with {cid} in it",
               v ? v : "");
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
    if (f->regex) {         /* checked: only out of memory fails here */
        char why[256];
        size_t offset;
        if (!(f->pattern =
                  pattern_compile(f->regex, why, sizeof(why), &offset)))
            return false;
    }
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

static void langs_free(struct conf_lang *langs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct conf_lang *l = &langs[i];

        for (size_t f = 0; f < l->nfields; f++) {
            struct conf_lang_field *lf = &l->fields[f];

            for (size_t o = 0; o < lf->noptions; o++) {
                free(lf->options[o].value);
                free_section(SEC_LANG_OPTION, &lf->options[o]);
            }
            free(lf->options);
            free(lf->var);
            free_section(SEC_LANG_FIELD, lf);
        }
        free(l->fields);
        free(l->tag);
        free_section(SEC_LANG, l);
        free_section(SEC_LANG_TEXTS, l);
        free_section(SEC_LANG_MESSAGES, l);
    }
    free(langs);
}

/* The lang "TAG" { } sections of svc into c->langs.  False when out of
 * memory (what was copied is freed with c). */
static bool copy_langs(cfg_t *svc, struct conf *c)
{
    unsigned n = cfg_size(svc, "lang");
    bool oom = false;

    if (n == 0)
        return true;
    if (!(c->langs = calloc(n, sizeof(*c->langs))))
        return false;
    c->nlangs = n;
    for (unsigned i = 0; i < n && !oom; i++) {
        cfg_t *sec = cfg_getnsec(svc, "lang", i);
        struct conf_lang *l = &c->langs[i];
        unsigned nf = cfg_size(sec, "field");

        l->tag = dup_or_null(cfg_title(sec), &oom);
        oom |= !copy_section(sec, SEC_LANG, l);
        oom |= !copy_section(cfg_getsec(sec, "texts"), SEC_LANG_TEXTS, l);
        oom |= !copy_section(cfg_getsec(sec, "messages"), SEC_LANG_MESSAGES, l);
        if (oom || nf == 0)
            continue;
        if (!(l->fields = calloc(nf, sizeof(*l->fields))))
            return false;
        l->nfields = nf;
        for (unsigned k = 0; k < nf && !oom; k++) {
            cfg_t *f = cfg_getnsec(sec, "field", k);
            struct conf_lang_field *lf = &l->fields[k];
            unsigned no = cfg_size(f, "option");

            lf->var = dup_or_null(cfg_title(f), &oom);
            oom |= !copy_section(f, SEC_LANG_FIELD, lf);
            if (oom || no == 0)
                continue;
            if (!(lf->options = calloc(no, sizeof(*lf->options))))
                return false;
            lf->noptions = no;
            for (unsigned j = 0; j < no && !oom; j++) {
                cfg_t *o = cfg_getnsec(f, "option", j);

                lf->options[j].value = dup_or_null(cfg_title(o), &oom);
                oom |= !copy_section(o, SEC_LANG_OPTION, &lf->options[j]);
            }
        }
    }
    return !oom;
}

/* Once the file is read: each translation of a service names only its
 * registration fields and their options, and no two have one tag (case
 * ignored).  svc holds the service's registration and lang sections. */
static void check_langs(cfg_t *svc)
{
    cfg_t *reg =
        cfg_size(svc, "registration") ? cfg_getsec(svc, "registration") : NULL;
    unsigned n = cfg_size(svc, "lang");

    for (unsigned i = 0; i < n; i++) {
        cfg_t *sec = cfg_getnsec(svc, "lang", i);
        const char *tag = cfg_title(sec);

        for (unsigned k = 0; k < i; k++) {
            cfg_t *other = cfg_getnsec(svc, "lang", k);

            if (tag && cfg_title(other) &&
                strcasecmp(tag, cfg_title(other)) == 0) {
                report(sec_line(sec),
                       "lang \"%s\": a translation with this tag is already "
                       "defined at line %d",
                       tag, sec_line(other));
                break;
            }
        }
        for (unsigned k = 0; k < cfg_size(sec, "field"); k++) {
            cfg_t *f = cfg_getnsec(sec, "field", k);
            const char *var = cfg_title(f);
            cfg_t *def = reg && var ? cfg_gettsec(reg, "field", var) : NULL;

            if (!def) {
                report(sec_line(f),
                       "lang \"%s\": field \"%s\" is not a registration "
                       "field",
                       tag ? tag : "", var ? var : "");
                continue;
            }
            for (unsigned j = 0; j < cfg_size(f, "option"); j++) {
                cfg_t *o = cfg_getnsec(f, "option", j);
                const char *value = cfg_title(o);

                if (!value || !cfg_gettsec(def, "option", value))
                    report(sec_line(o),
                           "lang \"%s\": field \"%s\": option \"%s\" is "
                           "not one of the field's options",
                           tag ? tag : "", var, value ? value : "");
            }
        }
    }
}

/* One service: comp is its component section, svc the section holding its
 * disco, registration and limits (the top level in the untitled form, comp
 * itself in the titled one); database and log come from the top level, cfg. */
static bool copy_conf(cfg_t *cfg, cfg_t *comp, cfg_t *svc, struct conf *c)
{
    bool oom = false;
    cfg_t *reg = cfg_getsec(svc, "registration");
    unsigned nfields = cfg_size(reg, "field");

    for (enum section s = 0; s < NSECTIONS; s++) {
        cfg_t *sec =
            s == SEC_COMPONENT ? comp
            : sections[s].parent != SEC_ROOT || (sections[s].flags & CFGF_MULTI)
                ? NULL /* a field's, an option's, a lang's: below */
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
        c->component.secret = read_secret_file(cfg_getstr(comp, "secret_file"),
                                               opt_line(comp, "secret_file"));
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
                     load.path, opt_line(comp, "secret"),
                     (unsigned)(st.st_mode & 07777));
    }
    if (!text_duration_parse(c->invites.default_ttl, &c->invites.default_ttl_s))
        c->invites.default_ttl_s = 7 * 86400; /* reported: never used */
    if (!text_duration_parse(c->invites.preauth_ttl, &c->invites.preauth_ttl_s))
        c->invites.preauth_ttl_s = 3600;
    if (!text_duration_parse(c->challenge.ttl, &c->challenge.ttl_s))
        c->challenge.ttl_s = 120;
    if (!text_duration_parse(c->challenge.lockout, &c->challenge.lockout_s))
        c->challenge.lockout_s = 900;
    if (!text_duration_parse(c->challenge.image_timeout,
                             &c->challenge.image_timeout_s))
        c->challenge.image_timeout_s = 5;
    if (c->challenge.mode != CHALLENGE_OFF && c->challenge.qa_file) {
        char err[512];
        cfg_t *ch = cfg_getsec(svc, "challenge");

        if (!challenge_qa_load(c->challenge.qa_file, &c->challenge.qa, err,
                               sizeof(err))) {
            report(ch ? opt_line(ch, "qa_file") : 0, "challenge: qa_file: %s",
                   err);
            return false;
        }
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
    return copy_langs(svc, c);
}

/* ---- the two forms ---------------------------------------------------- */

/* Where the file's top-level 'component' sections are: the line of its
 * first titled one ('component "JID" {') and of its first untitled one
 * ('component {'), 0 when none; the lines of the titled ones, in order
 * (at most SCAN_MAX_TITLED kept).  From the statements, before libconfuse
 * parses: the form decides what it is given to parse. */
#define SCAN_MAX_TITLED 256
struct scan {
    int titled, untitled;
    int lines[SCAN_MAX_TITLED];
    size_t n;
};

static void scan_form(const struct layout *l, struct scan *scan)
{
    memset(scan, 0, sizeof(*scan));
    for (size_t i = 0; i < l->n; i++) {
        const struct stmt *st = &l->s[i];

        if (st->parent != -1 || !st->section ||
            !token_is(&st->name, true, "component"))
            continue;
        if (!st->has_title) {
            if (!scan->untitled)
                scan->untitled = st->line;
            continue;
        }
        if (!scan->titled)
            scan->titled = st->line;
        if (scan->n < SCAN_MAX_TITLED)
            scan->lines[scan->n++] = st->line;
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
    explicit_bzero(buf, sizeof(buf)); /* may hold an inline secret */
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
            report(i < scan->n ? scan->lines[i] : sec_line(sec),
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
                                   : sec_line(cfg_getnsec(cfg, "component", i)),
                       "component \"%s\": a service with this JID is "
                       "already defined at line %d",
                       jid, k < scan->n ? scan->lines[k] : sec_line(other));
                break;
            }
        }
    }
}

/* The services of the parsed file, in order, chained by next. */
static struct conf *copy_services(cfg_t *cfg, const char *path)
{
    unsigned n = load.titled ? cfg_size(cfg, "component") : 1;
    struct conf *first = NULL, **tail = &first;

    for (unsigned i = 0; i < n; i++) {
        cfg_t *comp = cfg_getnsec(cfg, "component", i);
        struct conf *c = calloc(1, sizeof(*c));

        if (c)
            *tail = c;
        if (!c || !(c->path = strdup(path)) ||
            !copy_conf(cfg, comp, load.titled ? comp : cfg, c)) {
            if (load.problems == 0)
                report(0, "out of memory");
            conf_free(first);
            return NULL;
        }
        tail = &c->next;
    }
    return first;
}

/* ---- reading a file: every mistake ------------------------------------- */

/* At most this many statements taken out (the mistakes reported beyond
 * are those of the last parse). */
#define MAX_TAKEN_OUT 100

/* The statement libconfuse's error msg (at line) is about: the innermost
 * one around line whose name or title is quoted in msg ("no such option
 * 'x'", "invalid integer value for option 'port'", "found duplicate
 * title 'x'"); -1 when there is none: a syntax error, or a mistake not
 * tied to one statement. */
static int faulty_stmt(const struct layout *l, int line, const char *msg)
{
    const char *q = strchr(msg, '\''), *r = q ? strrchr(msg, '\'') : NULL;
    char quoted[256], buf[256];
    int found = -1;

    if (!q || r == q || (size_t)(r - q - 1) >= sizeof(quoted))
        return -1;
    memcpy(quoted, q + 1, (size_t)(r - q - 1));
    quoted[r - q - 1] = '\0';
    for (size_t i = 0; i < l->n; i++) { /* a section before its own */
        const struct stmt *st = &l->s[i];
        const char *name = token_text(&st->name, buf, sizeof(buf));
        const char *title = NULL;

        if (!st->end_line || line < st->line || line > st->end_line)
            continue;
        if (name && strcmp(name, quoted) == 0)
            found = (int)i;
        else if (st->has_title &&
                 (title = token_text(&st->title, buf, sizeof(buf))) &&
                 strcmp(title, quoted) == 0)
            found = (int)i;
    }
    return found;
}

/* libconfuse's parse of text (comments blanked), with the checks. */
static cfg_t *parse(char *text, int *rc)
{
    cfg_t *cfg = cfg_init(confuse_options(load.titled), CFGF_NONE);
    FILE *fp;

    *rc = CFG_PARSE_ERROR;
    if (!cfg)
        return NULL;
    set_validators(cfg);
    free(cfg->filename);
    cfg->filename = strdup(load.path);
    cfg->line = 1;
    if (!(fp = fmemopen(text, strlen(text), "r")))
        return cfg;
    *rc = cfg_parse_fp(cfg, fp);
    fclose(fp);
    return cfg;
}

/*
 * Every mistake of the file, each at its line.  libconfuse reads a copy
 * whose comments are blanked (see "the file as libconfuse reads it").  It
 * stops at the first statement it cannot take: an unknown option or
 * section, a value that is not of its type, a title given twice.  That
 * statement is reported, overwritten with spaces (its lines kept) and the
 * copy parsed again, up to MAX_TAKEN_OUT times: of a parse that stopped,
 * only libconfuse's error is kept, and the last parse runs every check on
 * what is left.  A syntax error stops there: what follows it cannot be
 * read as written.
 */
static struct conf *load_file(const char *path, FILE *err, bool logged)
{
    cfg_t *cfg = NULL;
    struct conf *c = NULL;
    struct scan *scan = NULL;
    struct layout layout = {0};
    char *text = NULL;
    FILE *fp;
    int rc, taken_out = 0;

    load.err = err;
    load.logged = logged;
    load.path = path;
    load.problems = 0;
    load.titled = false;
    load.layout = &layout;
    load.attempt = 0;

    /* Open it ourselves: libconfuse reports a missing file without why. */
    if (!(fp = fopen(path, "r"))) {
        report(0, "cannot open: %s", strerror(errno));
        goto out;
    }
    text = read_text(fp);
    fclose(fp);
    if (!text)
        goto out;
    if (!(scan = calloc(1, sizeof(*scan))) ||
        !layout_read(&layout, text, true)) {
        report(0, "out of memory");
        goto out;
    }
    scan_form(&layout, scan);
    if (scan->titled && scan->untitled) {
        report(scan->titled > scan->untitled ? scan->titled : scan->untitled,
               "the untitled 'component { jid = ... }' (line %d) and titled "
               "'component \"JID\" { }' sections (line %d) cannot be mixed: "
               "give one untitled service, or only titled ones",
               scan->untitled, scan->titled);
        goto out;
    }
    load.titled = scan->titled > 0;
    for (;;) {
        int at;

        load.parse_line = 0;
        load.parse_msg[0] = '\0';
        if (!(cfg = parse(text, &rc))) {
            report(0, "out of memory");
            goto out;
        }
        if (rc == CFG_SUCCESS)
            break;
        if (!load.parse_msg[0]) { /* the lexer stopped without a word */
            report(layout.broken ? layout.broken : cfg->line, "syntax error");
            goto out;
        }
        if (layout.unclosed >= 0) {
            /* libconfuse takes the end of the file for the missing brace,
             * and what follows the section's end for its content: say so,
             * and take nothing out */
            char name[64];
            const char *t =
                token_text(&layout.s[layout.unclosed].name, name, sizeof(name));

            report(layout.s[layout.unclosed].line,
                   "section '%s' is never closed: a '}' is missing",
                   t ? t : "?");
            goto out;
        }
        at = faulty_stmt(&layout, load.parse_line, load.parse_msg);
        if (at < 0 || taken_out++ == MAX_TAKEN_OUT)
            goto out; /* what this parse found stays */
        forget_attempt(load.attempt++);
        for (char *p = layout.s[at].start; p < layout.s[at].end; p++)
            if (*p != '\n')
                *p = ' ';
        cfg_free(cfg);
        cfg = NULL;
        if (!layout_read(&layout, text, false)) {
            report(0, "out of memory");
            goto out;
        }
    }
    if (cfg_size(cfg, "component") == 0 || (!scan->titled && !scan->untitled))
        report(cfg->line, "missing section 'component'");
    if (!load.titled && cfg_size(cfg, "registration") == 0)
        report(cfg->line, "missing section 'registration'");
    if (load.titled)
        check_services(cfg, scan);
    for (unsigned i = 0; i < (load.titled ? cfg_size(cfg, "component") : 1);
         i++)
        check_langs(load.titled ? cfg_getnsec(cfg, "component", i) : cfg);
    if (load.problems)
        goto out;
    c = copy_services(cfg, path);
out:
    if (cfg)
        cfg_free(cfg);
    write_problems();
    load.layout = NULL;
    layout_free(&layout);
    free(scan);
    if (text)
        explicit_bzero(text, strlen(text)); /* holds an inline secret */
    free(text);
    return c;
}

struct conf *conf_load(const char *path, FILE *err)
{
    return load_file(path, err, false);
}

struct conf *conf_load_logged(const char *path)
{
    return load_file(path, NULL, true);
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
    pattern_free(f->pattern);
    free_section(SEC_FIELD, f);
}

/* One service of a chain. */
static void service_free(struct conf *c)
{
    for (enum section s = 0; s < NSECTIONS; s++)
        if (sections[s].parent == SEC_ROOT && !(sections[s].flags & CFGF_MULTI))
            free_section(s, c);
    langs_free(c->langs, c->nlangs);
    for (size_t i = 0; i < c->registration.nfields; i++)
        field_free(&c->registration.fields[i]);
    free(c->registration.fields);
    challenge_qa_free(&c->challenge.qa);
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
