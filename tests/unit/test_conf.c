/*
 * test_conf.c - configuration loading: the seed's services (tests/fixtures'
 * contests and accounts, with the seed's connection values) are accepted
 * as written, and bad files (tests/unit/data) are refused with FILE:LINE:
 * reason for every problem.
 */
#include "testutil.h"

#include "conf.h"
#include "fixture.h"

#include <sys/stat.h>
#include <unistd.h>

/* Loads TEST_DATA_DIR/name; the problems printed go to *out (caller
 * frees). */
static struct conf *load(const char *name, char **out)
{
    char path[512];
    size_t len = 0;
    FILE *err = open_memstream(out, &len);
    struct conf *c;

    snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR, name);
    c = conf_load(path, err);
    fclose(err);
    return c;
}

/* Writes text to a new temporary file (mode given); returns its path. */
static char *temp_file(const char *text, mode_t mode)
{
    char *path = strdup("/tmp/registrar-test-conf.XXXXXX");
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    chmod(path, mode);
    return path;
}

static struct conf *load_text(const char *text, char **msgs)
{
    char *path = temp_file(text, 0600);
    size_t len = 0;
    FILE *err = open_memstream(msgs, &len);
    struct conf *c = conf_load(path, err);

    fclose(err);
    unlink(path);
    free(path);
    return c;
}

/* tests/fixtures' component.conf and NAME.conf as one file, with the
 * seed's values: JID NAME.localhost, secret s3cret, its conninfo. */
static struct conf *load_fixture(const char *name, char **msgs)
{
    char jid[64], file[64], *text = NULL;
    size_t len = 0;
    const char *vals[] = {
        "JID",
        jid,
        "XMPP_PORT",
        "5347",
        "SECRET",
        "s3cret",
        "COMPONENT",
        "",
        "CONNINFO",
        "host=127.0.0.1 port=5432 dbname=registrar "
        "user=registrar",
        "LOG_LEVEL",
        "info",
        "REGISTRATION",
        "",
        NULL,
    };
    FILE *f = open_memstream(&text, &len);
    struct conf *c;

    snprintf(jid, sizeof(jid), "%s.localhost", name);
    snprintf(file, sizeof(file), "%s.conf", name);
    assert_true(fixture_copy("component.conf", f, vals) &&
                fixture_copy(file, f, vals));
    fclose(f);
    c = load_text(text, msgs);
    free(text);
    return c;
}

static void test_seed_contests(void **state)
{
    char *msgs;
    struct conf *c = load_fixture("contests", &msgs);
    const struct form_field_def *g;

    (void)state;
    if (!c)
        fail_msg("refused: %s", msgs);
    assert_string_equal(msgs, "");
    assert_string_equal(c->component.jid, "contests.localhost");
    assert_string_equal(c->component.server, "127.0.0.1");
    assert_int_equal(c->component.port, 5347);
    assert_string_equal(c->component.secret, "s3cret");
    assert_string_equal(c->database.conninfo,
                        "host=127.0.0.1 port=5432 dbname=registrar "
                        "user=registrar");
    assert_string_equal(c->registration.title, "Contest Registration");
    assert_int_equal(c->registration.nfields, 4);
    assert_string_equal(c->registration.fields[0].var, "first");
    assert_string_equal(c->registration.fields[0].label, "Given Name");
    assert_true(c->registration.fields[0].required);
    g = &c->registration.fields[3];
    assert_string_equal(g->var, "x-gender");
    assert_int_equal(g->type, FORM_LIST_SINGLE);
    assert_false(g->required);
    assert_int_equal(g->noptions, 2);
    assert_string_equal(g->options[0].value, "M");
    assert_string_equal(g->options[0].label, "Male");
    assert_int_equal(c->log_level, LOG_LEVEL_INFO);
    /* defaults */
    assert_string_equal(c->disco.category, "component");
    assert_string_equal(c->disco.name, "Contest Registration");
    assert_int_equal(c->component.reconnect_max_ms, 30000);
    assert_null(c->next); /* the untitled form: one service */
    assert_int_equal(conf_services(c), 1);
    conf_free(c);
    free(msgs);
}

static void test_seed_accounts(void **state)
{
    char *msgs;
    struct conf *c = load_fixture("accounts", &msgs);

    (void)state;
    if (!c)
        fail_msg("refused: %s", msgs);
    assert_int_equal(c->registration.nfields, 3);
    assert_int_equal(c->registration.fields[1].type, FORM_TEXT_PRIVATE);
    conf_free(c);
    free(msgs);
}

static void test_bad_reports_every_problem(void **state)
{
    char *msgs;
    struct conf *c = load("bad.conf", &msgs);

    (void)state;
    assert_null(c);
    assert_contains(msgs, "/bad.conf:3: port: 99999 is not a TCP port");
    /* neither is given: the section's line (was its closing brace's) */
    assert_contains(msgs, "/bad.conf:1: component: give exactly one of "
                          "'secret' and 'secret_file'");
    assert_contains(msgs, "/bad.conf:6: type: 'text-singel' is not a "
                          "XEP-0004 field type");
    assert_contains(msgs, "field \"x-gender\": a list-single field needs "
                          "options");
    assert_contains(msgs, "field \"password\" must be text-private");
    assert_contains(msgs, "/bad.conf:13: level: 'loud' is not one of");
    free(msgs);
}

static void test_syntax_and_missing(void **state)
{
    char *msgs;
    struct conf *c = load("syntax.conf", &msgs);

    (void)state;
    assert_null(c);
    assert_contains(msgs, "/syntax.conf:4: no such option 'colour'");
    free(msgs);
    c = load("does-not-exist.conf", &msgs);
    assert_null(c);
    assert_contains(msgs, "does-not-exist.conf: cannot open: No such file");
    free(msgs);
}

#define MINIMAL_REG "registration { field \"email\" { } }\n"

static void test_secret_file(void **state)
{
    char *secret = temp_file("t0p-secret\n", 0640);
    char *open_secret = temp_file("t0p-secret\n", 0644);
    char text[1024], *msgs;
    struct conf *c;

    (void)state;
    snprintf(
        text, sizeof(text),
        "component { jid = \"c.example\" secret_file = \"%s\" }\n" MINIMAL_REG,
        secret);
    c = load_text(text, &msgs);
    if (!c)
        fail_msg("refused: %s", msgs);
    assert_string_equal(c->component.secret, "t0p-secret");
    conf_free(c);
    free(msgs);
    snprintf(
        text, sizeof(text),
        "component { jid = \"c.example\" secret_file = \"%s\" }\n" MINIMAL_REG,
        open_secret);
    assert_null(load_text(text, &msgs));
    assert_contains(msgs, "is readable by every user (mode 0644)");
    assert_not_contains(msgs, "t0p-secret");
    free(msgs);
    assert_null(load_text("component { jid = \"c.example\" secret = \"a\" "
                          "secret_file = \"/x\" }\n" MINIMAL_REG,
                          &msgs));
    assert_contains(msgs, "exactly one of 'secret' and 'secret_file'");
    free(msgs);
    unlink(secret);
    unlink(open_secret);
    free(secret);
    free(open_secret);
}

static void test_policy_options(void **state)
{
    char *msgs;
    struct conf *c = load_text(
        "component { jid = \"contests.example.org\" secret = \"s\" }\n"
        "registration {\n"
        "  field \"email\" { required = true }\n"
        "  field \"x-mmn\" { }\n"
        "  url = \"https://example.org/signup\"\n"
        "  password_change = \"form\"\n"
        "  remove = \"form\"\n"
        "  remove_proof = {\"email\", \"x-mmn\"}\n"
        "  allowed_domains = {\"example.org\", \"partner.example\"}\n"
        "  blocked_jids = {\"*@spam.example\"}\n"
        "  hash_cost = 4\n"
        "}\n"
        "limits { jid_burst = 1 jid_per_minute = 0 }\n",
        &msgs);

    (void)state;
    if (!c)
        fail_msg("refused: %s", msgs);
    assert_string_equal(c->registration.url, "https://example.org/signup");
    assert_int_equal(c->registration.password_change, CONF_PWCHANGE_FORM);
    assert_int_equal(c->registration.remove, CONF_REMOVE_FORM);
    assert_int_equal(c->registration.remove_proof.n, 2);
    assert_int_equal(c->registration.allowed_domains.n, 2);
    assert_string_equal(c->registration.local_domains.items[0], "example.org");
    assert_int_equal(c->registration.hash_cost, 4);
    assert_int_equal(c->limits.jid_burst, 1);
    assert_int_equal(c->limits.jid_per_minute, 0);
    assert_int_equal(c->limits.domain_burst, 50); /* default */
    conf_free(c);
    free(msgs);

    assert_null(
        load_text("component { jid = \"c.example\" secret = \"s\" }\n"
                  "registration {\n field \"email\" { }\n mode = \"redirect\"\n"
                  " remove = \"form\"\n password_change = \"sometimes\"\n"
                  " remove_proof = {\"nope\"}\n hash_cost = 3\n"
                  " url = \"ftp://x\"\n allowed_domains = {\"a b\"}\n}\n",
                  &msgs));
    assert_contains(msgs, "hash_cost: 3 is out of range");
    assert_contains(msgs, "password_change 'sometimes' is not one of legacy, "
                          "form, off");
    assert_contains(msgs, "remove_proof names 'nope'");
    assert_contains(msgs, "url 'ftp://x' is not an http(s) URL");
    assert_contains(msgs, "allowed_domains: 'a b' is not a domain");
    free(msgs);
    assert_null(
        load_text("component { jid = \"c.example\" secret = \"s\" }\n"
                  "registration {\n field \"email\" { }\n mode = \"redirect\"\n"
                  " remove = \"form\"\n}\n",
                  &msgs));
    assert_contains(msgs, "mode \"redirect\" needs a url");
    assert_contains(msgs, "remove = \"form\" needs a proof");
    free(msgs);
}

/* A secret_file that its group or every user can write is refused with
 * FILE:LINE: whoever can write it chooses the secret. */
static void test_secret_file_writable(void **state)
{
    char *g = temp_file("t0p-secret\n", 0660);
    char *o = temp_file("t0p-secret\n", 0602);
    char text[512], *msgs;

    (void)state;
    snprintf(text, sizeof(text),
             "component {\n jid = \"c.example\"\n secret_file = "
             "\"%s\"\n}\n" MINIMAL_REG,
             g);
    assert_null(load_text(text, &msgs));
    assert_contains(msgs, ":3: secret_file "); /* was the brace's, 4 */
    assert_contains(msgs, "is writable by its group (mode 0660)");
    assert_not_contains(msgs, "t0p-secret");
    free(msgs);
    snprintf(text, sizeof(text),
             "component {\n jid = \"c.example\"\n secret_file = "
             "\"%s\"\n}\n" MINIMAL_REG,
             o);
    assert_null(load_text(text, &msgs));
    assert_contains(msgs, "is writable by every user (mode 0602)");
    free(msgs);
    unlink(g);
    unlink(o);
    free(g);
    free(o);
}

/* Loads path with the log (stderr) captured: *log gets what was logged,
 * *msgs the problems reported.  Caller frees both. */
static struct conf *load_logged(const char *path, char **msgs, char **log)
{
    char *cap = strdup("/tmp/registrar-test-log.XXXXXX");
    int fd = mkstemp(cap), saved = dup(2);
    size_t len = 0;
    FILE *err = open_memstream(msgs, &len);
    struct conf *c;
    FILE *f;
    long n;

    assert_true(fd >= 0 && saved >= 0);
    fflush(stderr);
    dup2(fd, 2);
    c = conf_load(path, err);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fclose(err);
    f = fdopen(fd, "r");
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    *log = calloc(1, (size_t)n + 1);
    assert_int_equal(fread(*log, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    unlink(cap);
    free(cap);
    return c;
}

/* An inline secret in a config file every user can read: a warning in
 * the log with FILE:LINE, and the file is still valid; none when others
 * cannot read it. */
static void test_inline_secret_readable_warns(void **state)
{
    const char *text = "component {\n jid = \"c.example\"\n"
                       " secret = \"inl1ne-s3cret\"\n}\n" MINIMAL_REG;
    char *open_conf = temp_file(text, 0644);
    char *closed_conf = temp_file(text, 0640);
    char *msgs, *log;
    struct conf *c = load_logged(open_conf, &msgs, &log);

    (void)state;
    assert_non_null(c);
    assert_string_equal(msgs, "");
    assert_string_equal(c->component.secret, "inl1ne-s3cret");
    /* the secret's line (was the closing brace's, 4) */
    assert_contains(log, ":3: the inline 'secret' is in a file readable "
                         "by every user (mode 0644)");
    assert_not_contains(log, "inl1ne-s3cret");
    conf_free(c);
    free(msgs);
    free(log);
    c = load_logged(closed_conf, &msgs, &log);
    assert_non_null(c);
    assert_string_equal(msgs, "");
    assert_not_contains(log, "inline");
    conf_free(c);
    free(msgs);
    free(log);
    unlink(open_conf);
    unlink(closed_conf);
    free(open_conf);
    free(closed_conf);
}

/* Proof lists name each field once; in-flight caps have defaults and are
 * checked against each other. */
static void test_proofs_and_inflight(void **state)
{
    char *msgs;
    struct conf *c;

    (void)state;
    assert_null(
        load_text("component { jid = \"c.example\" secret = \"s\" }\n"
                  "registration {\n field \"username\" { }\n"
                  " field \"password\" { type = \"text-private\" }\n"
                  " field \"x-mmn\" { }\n"
                  " password_change_proof = {\"x-mmn\", \"x-mmn\"}\n"
                  " remove_proof = {\"username\", \"x-mmn\", \"username\"}\n"
                  "}\n",
                  &msgs));
    /* the list's line (was the closing brace's, 8) */
    assert_contains(msgs, ":6: registration: password_change_proof names "
                          "'x-mmn' twice");
    assert_contains(msgs, "remove_proof names 'username' twice");
    free(msgs);
    c = load_text("component { jid = \"c.example\" secret = \"s\" }\n"
                  "registration { field \"email\" { } }\n",
                  &msgs);
    assert_non_null(c);
    assert_int_equal(c->limits.inflight_per_jid, 8);
    assert_int_equal(c->limits.inflight_total, 1024);
    conf_free(c);
    free(msgs);
    c = load_text("component { jid = \"c.example\" secret = \"s\" }\n"
                  "registration { field \"email\" { } }\n"
                  "limits { inflight_per_jid = 2 inflight_total = 0 }\n",
                  &msgs);
    assert_non_null(c);
    assert_int_equal(c->limits.inflight_per_jid, 2);
    assert_int_equal(c->limits.inflight_total, 0);
    conf_free(c);
    free(msgs);
    assert_null(
        load_text("component { jid = \"c.example\" secret = \"s\" }\n"
                  "registration { field \"email\" { } }\n"
                  "limits { inflight_per_jid = 20\n inflight_total = 10 }\n",
                  &msgs));
    assert_contains(msgs, ":4: limits: inflight_per_jid is larger than "
                          "inflight_total");
    free(msgs);
}

/* A reload keeps the options read once at start-up, and takes the rest. */
/* metrics { listen } and log { stats_interval_s }: defaults, values,
 * refusals at their line */
static void test_metrics_options(void **state)
{
    static const char *const good[] = {"127.0.0.1:9177", "[::1]:9177",
                                       "localhost:1", "/run/r/metrics.sock"};
    static const char *const bad[] = {
        "9177",         ":9177",           "127.0.0.1:",
        "127.0.0.1:0",  "127.0.0.1:65536", "127.0.0.1:9177x",
        "[::1:9177",    "[]:9177",         "",
        "relative.sock"};
    char *msgs, text[512];
    struct conf *c;

    (void)state;
    c = load_text("component { jid = \"c.example\" secret = \"s\" }\n"
                  "registration { field \"email\" { } }\n",
                  &msgs);
    assert_non_null(c);
    assert_null(c->metrics.listen); /* off by default */
    assert_int_equal(c->log_stats_interval_s, 60);
    conf_free(c);
    free(msgs);
    for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
        snprintf(text, sizeof(text),
                 "component { jid = \"c.example\" secret = \"s\" }\n"
                 "registration { field \"email\" { } }\n"
                 "metrics { listen = \"%s\" }\n"
                 "log { stats_interval_s = 0 }\n",
                 good[i]);
        c = load_text(text, &msgs);
        assert_non_null(c);
        assert_string_equal(c->metrics.listen, good[i]);
        assert_int_equal(c->log_stats_interval_s, 0);
        conf_free(c);
        free(msgs);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        char want[256];

        snprintf(text, sizeof(text),
                 "component { jid = \"c.example\" secret = \"s\" }\n"
                 "registration { field \"email\" { } }\n"
                 "metrics {\n listen = \"%s\"\n}\n",
                 bad[i]);
        assert_null(load_text(text, &msgs));
        snprintf(want, sizeof(want),
                 ":4: listen: '%s' is not HOST:PORT, [IPV6]:PORT or the "
                 "absolute path of a unix socket",
                 bad[i]);
        assert_contains(msgs, want);
        free(msgs);
    }
    assert_null(load_text("component { jid = \"c.example\" secret = \"s\" }\n"
                          "registration { field \"email\" { } }\n"
                          "log { stats_interval_s = 86401 }\n",
                          &msgs));
    assert_contains(msgs, ":3: stats_interval_s: 86401 is out of range "
                          "(0-86400 s)");
    free(msgs);
}

/* limits { cache_entries } and database { read_connections }: defaults,
 * values, refusals at their line, kept by a reload */
static void test_cache_options(void **state)
{
    char *msgs;
    struct conf *c, *next;

    (void)state;
    c = load_text("component { jid = \"c.example\" secret = \"s\" }\n"
                  "registration { field \"email\" { } }\n",
                  &msgs);
    assert_non_null(c);
    assert_int_equal(c->limits.cache_entries, 10000);
    assert_int_equal(c->database.read_connections, 0);
    conf_free(c);
    free(msgs);
    c = load_text("component { jid = \"c.example\" secret = \"s\" }\n"
                  "database { read_connections = 8 }\n"
                  "registration { field \"email\" { } }\n"
                  "limits { cache_entries = 0 }\n",
                  &msgs);
    assert_non_null(c);
    assert_int_equal(c->limits.cache_entries, 0);
    assert_int_equal(c->database.read_connections, 8);
    free(msgs);
    next = load_text("component { jid = \"c.example\" secret = \"s\" }\n"
                     "database { read_connections = 2 }\n"
                     "registration { field \"email\" { } }\n"
                     "limits { cache_entries = 50 }\n",
                     &msgs);
    assert_non_null(next);
    free(msgs);
    assert_true(conf_keep_restart_options(next, c));
    assert_int_equal(next->limits.cache_entries, 0);
    assert_int_equal(next->database.read_connections, 8);
    conf_free(next);
    conf_free(c);
    assert_null(load_text("component { jid = \"c.example\" secret = \"s\" }\n"
                          "database { read_connections = 9 }\n"
                          "registration { field \"email\" { } }\n"
                          "limits {\n cache_entries = 10000001 }\n",
                          &msgs));
    assert_contains(msgs, ":2: read_connections: 9 is out of range (0-8)");
    assert_contains(msgs,
                    ":5: cache_entries: 10000001 is out of range (0-10000000)");
    free(msgs);
}

/* messages { }: templates kept as written, none by default; an unknown
 * placeholder, an empty template or a character XML refuses is reported
 * at its line; in the titled form, per service */
static void test_messages_options(void **state)
{
    char *msgs;
    struct conf *c;

    (void)state;
    c = load_text("component { jid = \"c.example\" secret = \"s\" }\n"
                  "registration { field \"email\" { } }\n",
                  &msgs);
    assert_non_null(c);
    assert_null(c->messages.welcome);
    assert_null(c->messages.activated);
    assert_null(c->messages.disabled);
    assert_null(c->messages.admin_notice);
    conf_free(c);
    free(msgs);
    c = load_text("component { jid = \"c.example\" secret = \"s\" }\n"
                  "registration { field \"email\" { } }\n"
                  "messages {\n"
                  "  welcome = \"Welcome to {service}, {username} ({state})\"\n"
                  "  activated = \"{jid}: active {{ok}}\"\n"
                  "  disabled = \"Disabled: {reason}\"\n"
                  "  admin_notice = \"{jid} is {state}\"\n"
                  "}\n",
                  &msgs);
    assert_non_null(c);
    assert_string_equal(c->messages.welcome,
                        "Welcome to {service}, {username} ({state})");
    assert_string_equal(c->messages.activated, "{jid}: active {{ok}}");
    assert_string_equal(c->messages.disabled, "Disabled: {reason}");
    assert_string_equal(c->messages.admin_notice, "{jid} is {state}");
    conf_free(c);
    free(msgs);
    assert_null(load_text("component { jid = \"c.example\" secret = \"s\" }\n"
                          "registration { field \"email\" { } }\n"
                          "messages {\n"
                          "  welcome = \"Hi {password}\"\n"
                          "  activated = \"\"\n"
                          "  disabled = \"{reason\"\n"
                          "}\n",
                          &msgs));
    assert_contains(msgs, ":4: messages: welcome: unknown placeholder at "
                          "'{password}'");
    assert_contains(msgs, ":5: messages: activated is empty");
    assert_contains(msgs, ":6: messages: disabled: unknown placeholder at "
                          "'{reason'");
    free(msgs);
    c = load_text("component \"a.example\" {\n"
                  "  secret = \"s\"\n"
                  "  registration { field \"email\" { } }\n"
                  "  messages { activated = \"on\" }\n"
                  "}\n"
                  "component \"b.example\" {\n"
                  "  secret = \"s\"\n"
                  "  registration { field \"email\" { } }\n"
                  "}\n",
                  &msgs);
    assert_non_null(c);
    assert_string_equal(c->messages.activated, "on");
    assert_non_null(c->next);
    assert_null(c->next->messages.activated);
    conf_free(c);
    free(msgs);
}

/* invites { }: defaults, values (durations in seconds), the titled form,
 * refusals at their line */
static void test_invites_options(void **state)
{
    char *msgs;
    struct conf *c;

    (void)state;
    c = load_text("component { jid = \"c.example\" secret = \"s\" }\n"
                  "registration { field \"email\" { } }\n",
                  &msgs);
    assert_non_null(c);
    assert_int_equal(c->invites.mode, CONF_INVITES_OFF);
    assert_string_equal(c->invites.default_ttl, "7d");
    assert_int_equal(c->invites.default_ttl_s, 7 * 86400);
    assert_int_equal(c->invites.preauth_ttl_s, 3600);
    assert_null(c->invites.landing_url);
    conf_free(c);
    free(msgs);
    c = load_text("component { jid = \"c.example\" secret = \"s\" }\n"
                  "registration { field \"email\" { } }\n"
                  "invites { mode = \"required\" default_ttl = \"2w\"\n"
                  " landing_url = \"https://i.example/#{token}\"\n"
                  " preauth_ttl = \"90\" }\n",
                  &msgs);
    assert_non_null(c);
    assert_int_equal(c->invites.mode, CONF_INVITES_REQUIRED);
    assert_int_equal(c->invites.default_ttl_s, 14 * 86400);
    assert_int_equal(c->invites.preauth_ttl_s, 90);
    assert_string_equal(c->invites.landing_url, "https://i.example/#{token}");
    conf_free(c);
    free(msgs);
    /* per service in the titled form */
    c = load_text("component \"a.example\" { secret = \"s\"\n"
                  " registration { field \"email\" { } }\n"
                  " invites { mode = \"optional\" } }\n"
                  "component \"b.example\" { secret = \"s\"\n"
                  " registration { field \"email\" { } } }\n",
                  &msgs);
    assert_non_null(c);
    assert_int_equal(c->invites.mode, CONF_INVITES_OPTIONAL);
    assert_non_null(c->next);
    assert_int_equal(c->next->invites.mode, CONF_INVITES_OFF);
    conf_free(c);
    free(msgs);
    assert_null(load_text("component { jid = \"c.example\" secret = \"s\" }\n"
                          "registration { field \"email\" { } }\n"
                          "invites {\n mode = \"closed\"\n"
                          " default_ttl = \"7 days\"\n"
                          " landing_url = \"ftp://x/{token}\"\n"
                          " preauth_ttl = \"0s\" }\n",
                          &msgs));
    assert_contains(msgs, ":4: invites: mode 'closed' is not one of off, "
                          "optional, required");
    assert_contains(msgs, ":5: default_ttl: '7 days' is not a duration");
    assert_contains(msgs, ":6: landing_url: 'ftp://x/{token}' is not an "
                          "http(s) URL with {token} in it");
    assert_contains(msgs, ":7: preauth_ttl: '0s' is not a duration");
    free(msgs);
}

static void test_restart_only_options(void **state)
{
    char *msgs;
    struct conf *run = load_text(
        "component { jid = \"c.example\" secret = \"one\" port = 5347 }\n"
        "database { conninfo = \"dbname=a\" }\n"
        "registration { title = \"A\" field \"email\" { } }\n",
        &msgs);
    struct conf *next;

    (void)state;
    free(msgs);
    next = load_text(
        "component { jid = \"d.example\" secret = \"two\" port = 5348\n"
        " keepalive_s = 5 }\n"
        "database { conninfo = \"dbname=b\" }\n"
        "registration { title = \"B\" field \"email\" { } }\n",
        &msgs);
    free(msgs);
    assert_non_null(run);
    assert_non_null(next);
    assert_true(conf_keep_restart_options(next, run));
    assert_string_equal(next->component.jid, "c.example");
    assert_string_equal(next->component.secret, "one");
    assert_int_equal(next->component.port, 5347);
    assert_int_equal(next->component.keepalive_s, 60);
    assert_string_equal(next->database.conninfo, "dbname=a");
    assert_string_equal(next->registration.title, "B"); /* reloadable */
    conf_free(next);
    conf_free(run);
}

/* The titled form: several services in one file, each complete. */
#define TWO_SERVICES                                                           \
    "database { conninfo = \"dbname=shared\" }\n"                              \
    "log { level = \"debug\" }\n"                                              \
    "component \"contests.example\" {\n"                                       \
    "    secret = \"one\"\n"                                                   \
    "    registration {\n"                                                     \
    "        title = \"Contests\"\n"                                           \
    "        field \"first\" { required = true }\n"                            \
    "        field \"last\" { }\n"                                             \
    "    }\n"                                                                  \
    "    limits { jid_per_minute = 0 }\n"                                      \
    "}\n"                                                                      \
    "component \"accounts.example\" {\n"                                       \
    "    server = \"192.0.2.1\" port = 5348 secret = \"two\"\n"                \
    "    keepalive_s = 7\n"                                                    \
    "    registration {\n"                                                     \
    "        field \"username\" { }\n"                                         \
    "        field \"password\" { type = \"text-private\" }\n"                 \
    "        local_domains = {\"example.org\"}\n"                              \
    "    }\n"                                                                  \
    "    disco { name = \"Accounts\" }\n"                                      \
    "}\n"

static void test_titled_services(void **state)
{
    char *msgs;
    struct conf *c = load_text(TWO_SERVICES, &msgs);
    struct conf *b;

    (void)state;
    if (!c)
        fail_msg("refused: %s", msgs);
    assert_string_equal(msgs, "");
    assert_int_equal(conf_services(c), 2);
    assert_string_equal(c->component.jid, "contests.example");
    assert_string_equal(c->component.secret, "one");
    assert_string_equal(c->component.server, "127.0.0.1");
    assert_int_equal(c->component.port, 5347);
    assert_string_equal(c->registration.title, "Contests");
    assert_int_equal(c->registration.nfields, 2);
    assert_string_equal(c->registration.fields[0].var, "first");
    assert_int_equal(c->limits.jid_per_minute, 0);
    assert_string_equal(c->disco.name, "Contests");
    assert_string_equal(c->registration.local_domains.items[0], "example");
    b = c->next;
    assert_non_null(b);
    assert_null(b->next);
    assert_string_equal(b->component.jid, "accounts.example");
    assert_string_equal(b->component.server, "192.0.2.1");
    assert_int_equal(b->component.port, 5348);
    assert_string_equal(b->component.secret, "two");
    assert_int_equal(b->component.keepalive_s, 7);
    assert_int_equal(c->component.keepalive_s, 60);
    assert_int_equal(b->registration.nfields, 2);
    assert_int_equal(b->registration.fields[1].type, FORM_TEXT_PRIVATE);
    assert_null(b->registration.title);
    assert_int_equal(b->limits.jid_per_minute, 10); /* its own default */
    assert_string_equal(b->disco.name, "Accounts");
    assert_string_equal(b->registration.local_domains.items[0], "example.org");
    /* shared: database and log, copied into each */
    assert_string_equal(c->database.conninfo, "dbname=shared");
    assert_string_equal(b->database.conninfo, "dbname=shared");
    assert_int_equal(b->log_level, LOG_LEVEL_DEBUG);
    assert_ptr_equal(conf_service(c, "ACCOUNTS.example"), b);
    assert_ptr_equal(conf_service(c, "contests.example"), c);
    assert_null(conf_service(c, "other.example"));
    conf_free(c); /* frees the chain */
    free(msgs);
}

static void test_titled_duplicate_jid(void **state)
{
    char *msgs;
    struct conf *c = load_text("component \"contests.example\" {\n"     /* 1 */
                               "    secret = \"one\"\n"                 /* 2 */
                               "    registration { field \"a\" { } }\n" /* 3 */
                               "}\n"                                    /* 4 */
                               "# a comment\n"                          /* 5 */
                               "component \"Contests.Example\" {\n"     /* 6 */
                               "    secret = \"two\"\n"                 /* 7 */
                               "    registration { field \"b\" { } }\n" /* 8 */
                               "}\n",
                               &msgs);

    (void)state;
    assert_null(c);
    assert_contains(msgs, ":6: component \"Contests.Example\": a service "
                          "with this JID is already defined at line 1");
    free(msgs);
}

/* A titled service needs its registration section, as the untitled form
 * needs the top-level one. */
static void test_titled_needs_registration(void **state)
{
    char *msgs;
    struct conf *c = load_text("component \"a.example\" {\n" /* 1 */
                               "    secret = \"one\"\n"      /* 2 */
                               "    registration { field \"a\" { } }\n"
                               "}\n"
                               "component \"b.example\" {\n" /* 5 */
                               "    secret = \"two\"\n"
                               "}\n",
                               &msgs);

    (void)state;
    assert_null(c);
    assert_contains(msgs, ":5: component \"b.example\": missing section "
                          "'registration'");
    free(msgs);
}

static void test_forms_cannot_mix(void **state)
{
    char *msgs;
    struct conf *c =
        load_text("component { jid = \"a.example\" secret = \"one\" }\n" /* 1 */
                  "registration { field \"a\" { } }\n"                   /* 2 */
                  "component \"b.example\" {\n"                          /* 3 */
                  "    secret = \"two\"\n"
                  "    registration { field \"b\" { } }\n"
                  "}\n",
                  &msgs);

    (void)state;
    assert_null(c);
    assert_contains(msgs, ":3: the untitled 'component { jid = ... }' "
                          "(line 1) and titled 'component \"JID\" { }' "
                          "sections (line 3) cannot be mixed");
    free(msgs);
    /* a titled service with a top-level registration: mixed too */
    c = load_text("component \"b.example\" {\n"
                  "    secret = \"two\"\n"
                  "    registration { field \"b\" { } }\n"
                  "}\n"
                  "registration { field \"a\" { } }\n",
                  &msgs);
    assert_null(c);
    assert_contains(msgs, "registration: with titled 'component \"JID\" "
                          "{ }' sections, each service's registration "
                          "section goes inside its component section");
    free(msgs);
}

/* Each titled service is validated as the untitled one is, its messages
 * naming it. */
static void test_titled_validated(void **state)
{
    char *msgs;
    struct conf *c = load_text(
        "component \"a.example\" {\n"
        "    jid = \"a.example\"\n"
        "    port = 0\n"
        "    registration { field \"x\" { type = \"list-single\" } }\n"
        "}\n"
        "component \"b@example\" {\n"
        "    secret = \"s\"\n"
        "    registration { hash_cost = 99 field \"y\" { } }\n"
        "}\n",
        &msgs);

    (void)state;
    assert_null(c);
    assert_contains(msgs, "component \"a.example\": 'jid' is the "
                          "section's title here: remove it");
    assert_contains(msgs, "component \"a.example\": give exactly one of "
                          "'secret' and 'secret_file'");
    assert_contains(msgs, "port: 0 is not a TCP port");
    assert_contains(msgs, "field \"x\": a list-single field needs options");
    assert_contains(msgs, "component \"b@example\": jid 'b@example' is not "
                          "a domain JID");
    assert_contains(msgs, "hash_cost: 99 is out of range");
    free(msgs);
}

/* ---- lines and every mistake -------------------------------------------- */

/* msgs holds exactly n lines. */
static void assert_lines(const char *msgs, int n)
{
    int got = 0;

    for (const char *p = msgs; (p = strchr(p, '\n')); p++)
        got++;
    if (got != n)
        fail_msg("expected %d problem(s), got %d:\n%s", n, got, msgs);
}

/* "PATH:LINE: text" is among msgs. */
static void assert_at(const char *msgs, const char *path, int line,
                      const char *text)
{
    char want[1024];

    snprintf(want, sizeof(want), "%s:%d: %s", path, line, text);
    assert_contains(msgs, want);
}

/* Comments of every kind before each mistake: libconfuse 3.3 counted a
 * one-line comment three times and a block comment once too many, so
 * every line after one was wrong (test_every_mistake_of_the_example shows
 * it on the example configuration). */
static void test_lines_after_comments(void **state)
{
    const char *text = "# 1\n"
                       "// 2\n"
                       "/* 3\n"
                       "   4 */\n"
                       "component { # 5\n"
                       "    jid = \"c.example\" // 6\n"
                       "    secret = \"s#not a comment\" /* 7 */\n"
                       "    port = 0 ## 8\n"
                       "}\n"
                       "/* 10 */ registration { /* 10\n"
                       "  11 */ field \"a\" { type = \"text-singel\" }\n"
                       "}\n"
                       "log { level = \"loud\" } # 13\n";
    char *path = temp_file(text, 0600), *msgs;
    size_t len = 0;
    FILE *err = open_memstream(&msgs, &len);

    (void)state;
    assert_null(conf_load(path, err));
    fclose(err);
    assert_at(msgs, path, 8, "port: 0 is not a TCP port");
    assert_at(msgs, path, 11, "type: 'text-singel' is not a XEP-0004");
    assert_at(msgs, path, 13, "level: 'loud' is not one of");
    assert_lines(msgs, 3);
    free(msgs);
    unlink(path);
    free(path);
}

/* Writes deploy/registrar.conf, the example, with each line that starts
 * with find[i] (after its indentation) replaced by put[i], to a new
 * temporary file; line[i] gets its number.  Returns the path. */
static char *example_with(const char *const *find, const char *const *put,
                          int *line, size_t n)
{
    FILE *in = fopen(DEPLOY_DIR "/registrar.conf", "r");
    char *text = NULL, buf[1024], *path;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    int at = 0;

    assert_non_null(in);
    for (size_t i = 0; i < n; i++)
        line[i] = 0;
    while (fgets(buf, sizeof(buf), in)) {
        const char *p = buf + strspn(buf, " ");
        size_t i;

        at++;
        for (i = 0; i < n; i++)
            if (!line[i] && strncmp(p, find[i], strlen(find[i])) == 0)
                break;
        if (i < n) {
            line[i] = at;
            fprintf(out, "    %s\n", put[i]);
        } else {
            fputs(buf, out);
        }
    }
    fclose(in);
    fclose(out);
    for (size_t i = 0; i < n; i++)
        if (!line[i])
            fail_msg("no line starting '%s' in the example", find[i]);
    path = temp_file(text, 0600);
    free(text);
    return path;
}

/* Three mistakes in a copy of the example configuration (mostly
 * comments), the first an unknown option (where libconfuse stops): all
 * three reported, each at its own line.  Before, only the first was, at
 * line 107 for 39. */
static void test_every_mistake_of_the_example(void **state)
{
    static const char *const find[] = {"port = 5347", "# mode = \"form\"",
                                       "level = \"info\""};
    static const char *const put[] = {"prot = 5347", "mode = \"sideways\"",
                                      "level = \"loud\""};
    int line[3];
    char *path = example_with(find, put, line, 3), *msgs;
    size_t len = 0;
    FILE *err = open_memstream(&msgs, &len);

    (void)state;
    assert_null(conf_load(path, err));
    fclose(err);
    assert_at(msgs, path, line[0], "no such option 'prot'");
    assert_at(msgs, path, line[1],
              "registration: mode 'sideways' is not one of form, redirect");
    assert_at(msgs, path, line[2], "level: 'loud' is not one of");
    assert_lines(msgs, 3);
    free(msgs);
    unlink(path);
    free(path);
}

/* Mistakes libconfuse stops at, each taken out and reported: unknown
 * options and sections, a value not of its type, a title given twice;
 * the checks of the rest still run. */
static void test_every_mistake_reported(void **state)
{
    char *msgs;
    const char *text = "component {\n"                       /* 1 */
                       "    jid = \"c.example\"\n"           /* 2 */
                       "    port = abc\n"                    /* 3 */
                       "    secret = \"s\"\n"                /* 4 */
                       "    colour { shade = 1 }\n"          /* 5 */
                       "}\n"                                 /* 6 */
                       "registration {\n"                    /* 7 */
                       "    field \"a\" { required = 2 }\n"  /* 8 */
                       "    field \"a\" { }\n"               /* 9 */
                       "    hash_cost = 99\n"                /* 10 */
                       "}\n"                                 /* 11 */
                       "log { level = \"loud\" wat = 1 }\n"; /* 12 */

    (void)state;
    assert_null(load_text(text, &msgs));
    assert_contains(msgs, ":3: invalid integer value for option 'port'");
    assert_contains(msgs, ":5: no such option 'colour'");
    assert_contains(msgs, ":8: invalid boolean value for option 'required'");
    assert_contains(msgs, ":9: found duplicate title 'a'");
    assert_contains(msgs, ":10: hash_cost: 99 is out of range");
    assert_contains(msgs, ":12: level: 'loud' is not one of");
    assert_contains(msgs, ":12: no such option 'wat'");
    assert_lines(msgs, 7);
    free(msgs);
}

/* A syntax error ends the report: what follows cannot be read as
 * written.  A section left open says so. */
static void test_syntax_error_stops(void **state)
{
    char *msgs;

    (void)state;
    assert_null(load_text("component {\n"
                          "    jid = \"c.example\"\n"
                          "    colour = 1\n"
                          "    secret \"s\"\n"
                          "}\n" MINIMAL_REG "log { level = \"loud\" }\n",
                          &msgs));
    assert_contains(msgs, ":3: no such option 'colour'");
    assert_contains(msgs, ":4: missing equal sign after option 'secret'");
    assert_lines(msgs, 2);
    free(msgs);
    assert_null(load_text("component {\n"
                          "    jid = \"c.example\" secret = \"s\"\n" MINIMAL_REG
                          "log { level = \"info\" }\n",
                          &msgs));
    assert_contains(msgs, ":1: section 'component' is never closed: a '}' "
                          "is missing");
    free(msgs);
}

/* The checks run as a section closes name the option at fault (a list's
 * value, the later of two options), not the closing brace. */
static void test_section_mistakes_at_their_option(void **state)
{
    char *msgs;
    const char *text =
        "component {\n"                                   /* 1 */
        "    jid = \"c.example\"\n"                       /* 2 */
        "    reconnect_min_ms = 9000\n"                   /* 3 */
        "    secret = \"s\"\n"                            /* 4 */
        "    reconnect_max_ms = 1000\n"                   /* 5 */
        "}\n"                                             /* 6 */
        "registration {\n"                                /* 7 */
        "    field \"username\" {\n"                      /* 8 */
        "        label = \"User\"\n"                      /* 9 */
        "        type = \"text-multi\"\n"                 /* 10 */
        "    }\n"                                         /* 11 */
        "    field \"x\" { type = \"fixed\" }\n"          /* 12 */
        "    admins = {\n"                                /* 13 */
        "        \"ok@example\",\n"                       /* 14 */
        "        \"not a jid\"\n"                         /* 15 */
        "    }\n"                                         /* 16 */
        "    admins += {\"bad/jid\"}\n"                   /* 17 */
        "    url = \"ftp://x\"\n"                         /* 18 */
        "    remove = \"sometimes\"\n"                    /* 19 */
        "    blocked_jids = {\"*@spam.example\", \"\"}\n" /* 20 */
        "}\n"                                             /* 21 */
        "limits {\n"                                      /* 22 */
        "    inflight_total = 10\n"                       /* 23 */
        "    inflight_per_jid = 20\n"                     /* 24, the later */
        "}\n";                                            /* 24 */

    (void)state;
    assert_null(load_text(text, &msgs));
    assert_contains(msgs, ":5: component: reconnect_min_ms is larger than "
                          "reconnect_max_ms");
    assert_contains(msgs, ":10: field \"username\" must be text-single");
    assert_contains(msgs, ":12: field \"x\": a fixed field needs a value");
    assert_contains(msgs, ":15: registration: admins: 'not a jid' is not a "
                          "bare JID");
    assert_contains(msgs, ":17: registration: admins: 'bad/jid' is not a "
                          "bare JID");
    assert_contains(msgs, ":18: registration: url 'ftp://x' is not an "
                          "http(s) URL");
    assert_contains(msgs, ":19: registration: remove 'sometimes' is not one "
                          "of plain, form, off");
    assert_contains(msgs, ":20: registration: blocked_jids: empty pattern");
    assert_contains(msgs, ":24: limits: inflight_per_jid is larger than "
                          "inflight_total");
    assert_lines(msgs, 9);
    free(msgs);
}

/* For the daemon (start-up, reload): the same problems, each a log line
 * at error level with its time. */
static void test_problems_logged(void **state)
{
    char *path = temp_file("component {\n jid = \"c.example\"\n"
                           " secret = \"s\"\n colour = 1\n}\n" MINIMAL_REG,
                           0600);
    char *cap = strdup("/tmp/registrar-test-log.XXXXXX");
    int fd = mkstemp(cap), saved = dup(2);
    char log[4096] = "", want[600];
    ssize_t n;

    (void)state;
    assert_true(fd >= 0 && saved >= 0);
    fflush(stderr);
    dup2(fd, 2);
    assert_null(conf_load_logged(path));
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    n = pread(fd, log, sizeof(log) - 1, 0);
    assert_true(n > 0);
    log[n] = '\0';
    close(fd);
    snprintf(want, sizeof(want), "Z error conf: %s:4: no such option 'colour'",
             path);
    assert_contains(log, want);
    assert_true(log[0] >= '1' && log[0] <= '9'); /* a time first */
    unlink(cap);
    free(cap);
    unlink(path);
    free(path);
}

/* XEP-0122 keys (issue 21): read, the regex compiled; every problem
 * reported with its line, PCRE2's message and offset for a bad regex. */
static void test_validate_options(void **state)
{
    char *msgs;
    struct conf *c;
    const struct form_field_def *f;

    (void)state;
    c = load_text("component { jid = \"c.example\" secret = \"s\" }\n"
                  "registration {\n"
                  " field \"age\" { datatype = \"xs:integer\"\n"
                  "  range_min = \"13\" range_max = \"120\" }\n"
                  " field \"nick\" { regex = \"[a-z]{3,8}\" }\n"
                  " field \"tags\" { type = \"list-multi\" list_min = 1\n"
                  "  list_max = 2 option \"a\" { } option \"b\" { }\n"
                  "  option \"c\" { } }\n"
                  " field \"plain\" { }\n"
                  " field \"code\" { regex = '\\p{Lu}\\d{2}' } }\n",
                  &msgs);
    assert_non_null(c);
    /* single quotes keep a backslash (double quotes take it as an
     * escape) */
    f = &c->registration.fields[4];
    assert_string_equal(f->regex, "\\p{Lu}\\d{2}");
    assert_non_null(f->pattern);
    f = &c->registration.fields[0];
    assert_string_equal(f->datatype, "xs:integer");
    assert_string_equal(f->range_min, "13");
    assert_string_equal(f->range_max, "120");
    assert_null(f->pattern);
    f = &c->registration.fields[1];
    assert_string_equal(f->regex, "[a-z]{3,8}");
    assert_non_null(f->pattern);
    f = &c->registration.fields[2];
    assert_int_equal(f->list_min, 1);
    assert_int_equal(f->list_max, 2);
    f = &c->registration.fields[3];
    assert_null(f->datatype);
    assert_null(f->regex);
    assert_int_equal(f->list_min + f->list_max, 0);
    conf_free(c);
    free(msgs);
    assert_null(load_text("component { jid = \"c.example\" secret = \"s\" }\n"
                          "registration {\n"
                          " field \"a\" {\n datatype = \"xs:number\" }\n"
                          " field \"b\" { datatype = \"xs:byte\"\n"
                          "  range_min = \"-200\"\n  range_max = \"5\" }\n"
                          " field \"c\" {\n  regex = \"[z-a]\" }\n"
                          " field \"d\" {\n  regex = \"^x\" }\n"
                          " field \"e\" { type = \"text-single\"\n"
                          "  list_min = 2 }\n"
                          " field \"f\" { range_max = \"z\" }\n"
                          "}\n",
                          &msgs));
    assert_contains(msgs, ":4: field \"a\": datatype 'xs:number' is not one "
                          "of XEP-0122's");
    assert_contains(msgs, ":6: field \"b\": range_min '-200' is not an "
                          "integer from -128 to 127");
    assert_contains(msgs, ":9: field \"c\": regex: range out of order in "
                          "character class at offset 3");
    assert_contains(msgs, ":11: field \"d\": regex: '^' and '$' are literals "
                          "in XML Schema");
    assert_contains(msgs, ":13: field \"e\": a list range goes only on a "
                          "-multi field");
    assert_contains(msgs, ":14: field \"f\": a range needs an ordered "
                          "datatype");
    free(msgs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_contests),
        cmocka_unit_test(test_seed_accounts),
        cmocka_unit_test(test_bad_reports_every_problem),
        cmocka_unit_test(test_syntax_and_missing),
        cmocka_unit_test(test_secret_file),
        cmocka_unit_test(test_policy_options),
        cmocka_unit_test(test_proofs_and_inflight),
        cmocka_unit_test(test_metrics_options),
        cmocka_unit_test(test_cache_options),
        cmocka_unit_test(test_restart_only_options),
        cmocka_unit_test(test_secret_file_writable),
        cmocka_unit_test(test_inline_secret_readable_warns),
        cmocka_unit_test(test_titled_services),
        cmocka_unit_test(test_titled_duplicate_jid),
        cmocka_unit_test(test_titled_needs_registration),
        cmocka_unit_test(test_forms_cannot_mix),
        cmocka_unit_test(test_titled_validated),
        cmocka_unit_test(test_lines_after_comments),
        cmocka_unit_test(test_invites_options),
        cmocka_unit_test(test_validate_options),
        cmocka_unit_test(test_messages_options),
        cmocka_unit_test(test_every_mistake_of_the_example),
        cmocka_unit_test(test_every_mistake_reported),
        cmocka_unit_test(test_syntax_error_stops),
        cmocka_unit_test(test_section_mistakes_at_their_option),
        cmocka_unit_test(test_problems_logged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
