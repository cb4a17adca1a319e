/*
 * conf.h - the configuration: one validated, immutable struct per service.
 *
 * conf.c is the only file that includes confuse.h.  A struct conf is built
 * once by conf_load() and never changed; a reload builds a new one.
 *
 * A file holds one service (the untitled form: 'component { jid = ... }'
 * with registration, limits and disco at the top level) or several (the
 * titled form: one 'component "JID" { ... registration { } limits { }
 * disco { } }' per service, JIDs unique); database and log are the file's.
 * Each service is a complete struct conf: its own component, disco,
 * registration, limits and messages, with path, database and log_level
 * copied from
 * the top level.  So reg, router and component take the struct conf of
 * their one service and know nothing of the others.  conf_load() returns
 * the first service; `next` chains the rest, in file order.
 *
 * Each option of the file is one row of conf.c's table, stored in its
 * field here by offsetof: a new option is a row there and a field here.
 */
#ifndef REGISTRAR_CONF_H
#define REGISTRAR_CONF_H

#include <stdbool.h>
#include <stdio.h>

#include "challenge.h"
#include "form_values.h"
#include "lang.h"
#include "log.h"

/* Exit code for an invalid configuration (sysexits.h EX_CONFIG). */
#define CONF_EXIT_INVALID 78

struct conf_component {
    char *jid;    /* the component's domain, e.g. "contests.example" */
    char *server; /* host of the XMPP server's component port */
    unsigned port;
    char *secret;
    unsigned reconnect_min_ms;    /* first back-off delay */
    unsigned reconnect_max_ms;    /* back-off cap */
    unsigned keepalive_s;         /* ping the server after this idle time */
    unsigned keepalive_timeout_s; /* no answer by then: reconnect */
};

struct conf_database {
    char *conninfo; /* libpq connection string; may be "" (PG* env) */
    unsigned statement_timeout_s; /* the session's statement_timeout */
    /* connections of their own for the registered gets' reads, besides
     * the one of every write (store_set_readers); 0: none */
    unsigned read_connections;
};

struct conf_disco {
    char *category; /* XEP-0030 identity */
    char *type;
    char *name;
};

enum conf_mode {
    CONF_MODE_FORM,     /* in-band registration */
    CONF_MODE_REDIRECT, /* instructions + URL only (XEP-0077 section 5) */
};

enum conf_password_change {
    CONF_PWCHANGE_LEGACY, /* <username/> + <password/> from the account */
    CONF_PWCHANGE_FORM,   /* jabber:iq:register:changepassword form */
    CONF_PWCHANGE_OFF,
};

/* The state a new registration starts in. */
enum conf_initial_state {
    CONF_STATE_ACTIVE,
    CONF_STATE_PENDING, /* the backend or an admin activates it */
};

enum conf_remove {
    CONF_REMOVE_PLAIN, /* a bare <remove/> cancels */
    CONF_REMOVE_FORM,  /* jabber:iq:register:cancel form with proof */
    CONF_REMOVE_OFF,
};

/* A list of strings; owned by the conf. */
struct conf_list {
    char **items;
    size_t n;
};

struct conf_registration {
    char *title;
    char *instructions;
    struct form_field_def *fields;
    size_t nfields;
    enum conf_mode mode;
    char *url; /* XEP-0066 URL beside the form, NULL when none */
    enum conf_password_change password_change;
    /* registration fields that must be repeated to prove who asks */
    struct conf_list password_change_proof;
    enum conf_remove remove;
    struct conf_list remove_proof;
    unsigned hash_cost; /* bcrypt cost, 4-15 */
    /* who may register: see registrar.conf(5), allowed_domains */
    struct conf_list allowed_domains; /* empty: the local domains; "*": any */
    struct conf_list local_domains;   /* default: the component's parent */
    struct conf_list blocked_jids;    /* fnmatch(3) patterns on bare JIDs */
    enum conf_initial_state initial_state;
    struct conf_list admins;      /* bare JIDs that may run admin commands */
    struct conf_list notify_jids; /* told by message of new registrations */
    char *default_lang;           /* the language of the untranslated texts */
};

/* Token buckets for registration sets (per_minute 0 disables a bucket),
 * and caps on requests in flight (gets and sets: taken and not yet
 * answered), per bare JID and for the whole service. */
struct conf_limits {
    unsigned jid_burst, jid_per_minute;
    unsigned domain_burst, domain_per_minute;
    unsigned global_burst, global_per_minute;
    unsigned inflight_per_jid, inflight_total;
    /* the cache of registered gets: at most this many registrations
     * (store_set_cache); 0: none */
    unsigned cache_entries;
};

/* Invitations (sql/013): whether a registration needs one. */
enum conf_invites_mode {
    CONF_INVITES_OFF,      /* no token looked for, none offered */
    CONF_INVITES_OPTIONAL, /* a token is used when given */
    CONF_INVITES_REQUIRED, /* a new registration needs one */
};

struct conf_invites {
    enum conf_invites_mode mode;
    char *default_ttl; /* a duration (text_duration_parse): "7d", "12h" */
    char *landing_url; /* "{token}" replaced by the token; NULL: none */
    char *preauth_ttl; /* how long a <preauth/> binds a token to a JID */
    /* the two durations in seconds (copy_conf) */
    unsigned long default_ttl_s, preauth_ttl_s;
};

/* Challenges (XEP-0158: challenge.h, reg_challenge.c, sql/015): when a
 * new registration must answer one, and what it is asked. */
struct conf_challenge {
    enum challenge_mode mode;
    char *ttl;     /* a duration: how long a challenge may be answered */
    char *lockout; /* a duration: how long max_failures locks a JID out */
    unsigned max_failures; /* wrong answers before the lockout; 0: never */
    char *qa_file;         /* LANG|QUESTION|ANSWER[|ANSWER...] lines */
    /* an image ('ocr') challenge instead: run with the answer, prints a
     * PNG (challenge_image.h); NULL: questions of qa_file */
    char *image_cmd;
    char *image_timeout; /* a duration: image_cmd is killed after it */
    char *fallback_url;  /* "{cid}" replaced: the image on the web */
    /* risk: domains besides registration { local_domains } that need none */
    struct conf_list trusted_domains;
    unsigned signups_per_minute; /* risk: above it, everyone; 0: none */
    /* the durations (copy_conf) */
    unsigned long ttl_s, lockout_s, image_timeout_s;
    struct challenge_qa_set qa; /* qa_file, read (copy_conf) */
};

/* The messages to users (messages.c), each a template (template.h) of
 * {service}, {jid}, {username}, {state} and {reason}; NULL: not sent
 * (admin_notice: the fixed text of before). */
struct conf_messages {
    char *welcome;      /* to the user after a registration */
    char *activated;    /* to the user: the registration became active */
    char *disabled;     /* to the user: it became disabled */
    char *admin_notice; /* to each notify_jids entry: a new registration */
};

/* A translation of a service's texts: 'lang "TAG" { }' (lang.h).  Every
 * string NULL when not given (the untranslated one is used). */
struct conf_lang_option {
    char *value; /* the option's value (the section's title) */
    char *label;
};

struct conf_lang_field {
    char *var; /* a registration field's var (the section's title) */
    char *label;
    char *desc;
    struct conf_lang_option *options;
    size_t noptions;
};

struct conf_lang {
    char *tag; /* a BCP 47 tag (the section's title) */
    char *title;
    char *instructions;
    struct conf_lang_field *fields;
    size_t nfields;
    char *texts[LANG_NTEXTS]; /* texts { KEY = "..." } (lang.h) */
    /* welcome only: activated and disabled are told later, by whichever
     * instance claims the change, and a registration's language is not
     * stored (registrar.conf(5), LANG) */
    struct conf_messages messages;
};

/* The metrics endpoint (metrics.c): "HOST:PORT", "[V6]:PORT" or the
 * absolute path of a unix socket; NULL: off. */
struct conf_metrics {
    char *listen;
};

struct conf {
    /* The file's next service, NULL when none.  The first service owns
     * the chain: conf_free(first) frees every one; a service in the middle
     * is never freed alone. */
    struct conf *next;
    char *path;
    struct conf_component component;
    struct conf_database database;
    struct conf_disco disco;
    struct conf_registration registration;
    struct conf_limits limits;
    struct conf_invites invites;
    struct conf_messages messages;
    struct conf_challenge challenge;
    struct conf_metrics metrics;
    struct conf_lang *langs; /* the service's translations, file order */
    size_t nlangs;
    enum log_level log_level;
    unsigned log_stats_interval_s; /* the stats line's period; 0: none */
};

/* Reads and validates path.  Every problem is written to err (may be NULL)
 * as "FILE:LINE: reason", in the order of the lines: every mistake of the
 * file, each at its own line (an option's, a list value's, not its
 * section's closing brace; comments counted right: see conf.c).  Returns
 * the first service, chaining the others by next, which the caller owns
 * (conf_free), or NULL when the file is unreadable or invalid (mixing the
 * two forms, or two services with one JID, included). */
struct conf *conf_load(const char *path, FILE *err);

/* As conf_load, every problem logged at error level (log.h, module
 * "conf") instead: for the daemon (start-up, reload), whose every line
 * has its time and level. */
struct conf *conf_load_logged(const char *path);

/* Frees conf and every service chained after it. */
void conf_free(struct conf *conf);

/* The service of the chain from conf whose component JID is jid (compared
 * case-insensitively), NULL when none.  Borrowed from the chain. */
struct conf *conf_service(struct conf *conf, const char *jid);

/* How many services the chain from conf holds (0 for NULL). */
size_t conf_services(const struct conf *conf);

/* For a reload, one service: gives next the running values of the options
 * that take effect only at start-up (the rows of conf.c's option table
 * marked RESTART), logging each one the new file tried to change (by name
 * and the running service's JID, never its value).  Touches neither chain.
 * False when out of memory. */
bool conf_keep_restart_options(struct conf *next, const struct conf *running);

/* Writes conf.c's option table to out, one option a line, tab-separated:
 * section path ("registration.field"), name, type (string, integer,
 * boolean, list, choice), default as written in the file ("-": none),
 * range ("MIN to MAX", "-"), "restart" or "reload", choices ("a, b", "-").
 * tests/unit/conf_docs.sh checks registrar.conf(5) and the example
 * registrar.conf against it. */
void conf_options_print(FILE *out);

#endif
