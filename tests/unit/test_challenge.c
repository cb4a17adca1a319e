/*
 * test_challenge.c - challenges (issue 21.1, XEP-0158): the qa_file
 * (parsing, its mistakes with file, line and reason, the choice of a
 * question by language), the folding of answers, the rule (off, always,
 * risk), the configuration's checks; and, against the in-memory store,
 * the form a get answers (hidden challenge, from, sid and the qa field)
 * and the gate every path of a new registration passes: the form, the
 * legacy elements alone, the ad-hoc command; a wrong, replayed, expired
 * or another JID's answer (406), the lockout (resource-constraint), an
 * update without one.
 */
#include "testutil.h"

#include <sys/stat.h>
#include <time.h>

#include "adhoc.h"
#include "challenge.h"
#include "challenge_image.h"
#include "fake_store.h"
#include "fixture.h"
#include "log.h"
#include "router.h"
#include "sync_env.h"
#include "text.h"

#define SERVICE "accounts.example"

/* A file of text in a private temporary directory; path into out. */
static void write_file(char *out, size_t size, const char *text)
{
    char tmpl[] = "/tmp/registrar-qa.XXXXXX";
    int fd = mkstemp(tmpl);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    snprintf(out, size, "%s", tmpl);
}

#define QA_TEXT                                                                \
    "# questions\n"                                                            \
    "\n"                                                                       \
    "en|What is the capital of France?|Paris| Lutetia \n"                      \
    "fr|Quelle est la capitale de la France ?|Paris\n"                         \
    "pt-BR|Qual é a capital da França?|Paris\n"                              \
    "*|2 + 3 = ?|5|five\r\n"

static void test_qa_load(void **state)
{
    struct challenge_qa_set set = {0};
    char path[64], err[256];

    (void)state;
    write_file(path, sizeof(path), QA_TEXT);
    assert_true(challenge_qa_load(path, &set, err, sizeof(err)));
    assert_int_equal(set.n, 4);
    assert_string_equal(set.items[0].lang, "en");
    assert_string_equal(set.items[0].question,
                        "What is the capital of France?");
    assert_int_equal(set.items[0].nanswers, 2);
    /* kept folded */
    assert_string_equal(set.items[0].answers[0], "paris");
    assert_string_equal(set.items[0].answers[1], "lutetia");
    assert_string_equal(set.items[2].lang, "pt-br");
    assert_string_equal(set.items[3].answers[1], "five");
    challenge_qa_free(&set);
    unlink(path);
}

/* The message of loading text, which must fail. */
static void load_fails(const char *text, const char *line_reason)
{
    struct challenge_qa_set set = {0};
    char path[64], err[512], want[256];

    write_file(path, sizeof(path), text);
    assert_false(challenge_qa_load(path, &set, err, sizeof(err)));
    snprintf(want, sizeof(want), "%s:%s", path, line_reason);
    assert_string_equal(err, want);
    challenge_qa_free(&set);
    unlink(path);
}

static void test_qa_mistakes(void **state)
{
    char longline[1200];

    (void)state;
    load_fails("en|Q?|a\nen|Question without answer?\n",
               "2: expected LANG|QUESTION|ANSWER[|ANSWER...]");
    load_fails("# c\nen_US|Q?|a\n", "2: the language is not a language tag "
                                    "(such as en, pt-BR) nor *");
    load_fails("en| |a\n", "1: the question is empty");
    load_fails("en|Q?|a| \n", "1: an answer is empty");
    load_fails("en|Q?|1|2|3|4|5|6|7|8|9|10|11|12|13|14|15|16|17\n",
               "1: more than 16 answers");
    load_fails("en|Q?|\xff\n",
               "1: not UTF-8, or a character XML does not allow");
    memset(longline, 'a', sizeof(longline) - 1);
    longline[sizeof(longline) - 1] = '\0';
    memcpy(longline, "en|Q?|", 6);
    load_fails(longline, "1: longer than 1024 bytes");
    load_fails("# nothing\n\n", " no question in it");
}

static void test_qa_pick(void **state)
{
    struct challenge_qa_set set = {0};
    char path[64], err[256];

    (void)state;
    write_file(path, sizeof(path), QA_TEXT);
    assert_true(challenge_qa_load(path, &set, err, sizeof(err)));
    assert_string_equal(challenge_qa_pick(&set, "fr", 7)->lang, "fr");
    assert_string_equal(challenge_qa_pick(&set, "FR-ca", 7)->lang, "fr");
    assert_string_equal(challenge_qa_pick(&set, "pt-BR", 0)->lang, "pt-br");
    assert_string_equal(challenge_qa_pick(&set, "de", 3)->lang, "*");
    challenge_qa_free(&set);
    unlink(path);
    /* no "*": the first question's language */
    write_file(path, sizeof(path), "fr|Q1|a\nen|Q2|b\nfr|Q3|c\n");
    assert_true(challenge_qa_load(path, &set, err, sizeof(err)));
    assert_string_equal(challenge_qa_pick(&set, "de", 1)->question, "Q3");
    assert_string_equal(challenge_qa_pick(&set, NULL, 0)->question, "Q1");
    challenge_qa_free(&set);
    unlink(path);
}

static void test_fold(void **state)
{
    char out[64];

    (void)state;
    assert_true(challenge_fold("  PaRiS \t", out, sizeof(out)));
    assert_string_equal(out, "paris");
    /* NFKC: full-width letters */
    assert_true(
        challenge_fold("\xef\xbc\xb0\xef\xbd\x81ris", out, sizeof(out)));
    assert_string_equal(out, "paris");
    assert_true(challenge_fold("New \xc2\xa0  York", out, sizeof(out)));
    assert_string_equal(out, "new york");
    assert_true(challenge_fold("\xc3\x89"
                               "COLE",
                               out, sizeof(out)));
    assert_string_equal(out, "\xc3\xa9"
                             "cole");
    /* too long for out, or not UTF-8: refused, out empty */
    assert_false(challenge_fold("abcdefgh", out, 4));
    assert_string_equal(out, "");
    assert_false(challenge_fold("\xff", out, sizeof(out)));
}

static void test_rule(void **state)
{
    const char *local[] = {"example"}, *trusted[] = {"partner.example"};
    struct challenge_risk r = {.domain = "example",
                               .local_domains = local,
                               .nlocal = 1,
                               .trusted_domains = trusted,
                               .ntrusted = 1,
                               .signups_per_minute = 10};
    const char *why = NULL;

    (void)state;
    assert_false(challenge_required(CHALLENGE_OFF, &r, &why));
    assert_true(challenge_required(CHALLENGE_ALWAYS, &r, &why));
    assert_string_equal(why, "always");
    assert_false(challenge_required(CHALLENGE_RISK, &r, &why));
    r.domain = "PARTNER.example";
    assert_false(challenge_required(CHALLENGE_RISK, &r, &why));
    r.domain = "elsewhere.example";
    assert_true(challenge_required(CHALLENGE_RISK, &r, &why));
    assert_string_equal(why, "a domain neither local nor trusted");
    r.domain = "example";
    r.failed_recently = true;
    assert_true(challenge_required(CHALLENGE_RISK, &r, &why));
    assert_string_equal(why, "a failed answer recently");
    r.failed_recently = false;
    r.signups_last_minute = 10;
    assert_false(challenge_required(CHALLENGE_RISK, &r, &why));
    r.signups_last_minute = 11;
    assert_true(challenge_required(CHALLENGE_RISK, &r, &why));
    assert_string_equal(why, "sign-ups over the rate");
    r.signups_per_minute = 0; /* no threshold */
    assert_false(challenge_required(CHALLENGE_RISK, &r, &why));
}

/* ---- image commands ------------------------------------------------------ */

/* A PNG's first 24 bytes (signature, IHDR of 200 x 70), in printf's
 * octal escapes. */
#define PNG_HEAD                                                               \
    "\\211PNG\\r\\n\\032\\n\\000\\000\\000\\rIHDR\\000\\000\\000\\310"         \
    "\\000\\000\\000F"

static char script_dir[] = "/tmp/registrar-img.XXXXXX";

/* An executable script NAME of body in script_dir; its path into out. */
static void script(char *out, size_t size, const char *name, const char *body)
{
    FILE *f;

    snprintf(out, size, "%s/%s", script_dir, name);
    f = fopen(out, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n%s\n", body);
    fclose(f);
    assert_int_equal(chmod(out, 0755), 0);
}

/* the answer the drawing script was given (it writes it to a file) */
static char drawn_answer[64];

static void read_drawn_answer(void)
{
    char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/answer", script_dir);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(drawn_answer, sizeof(drawn_answer), f));
    fclose(f);
}

static char draw_cmd[128], fail_cmd[128];

static void make_scripts(void)
{
    char body[512];

    assert_non_null(mkdtemp(script_dir));
    snprintf(body, sizeof(body),
             "printf %%s \"$1\" >%s/answer\nprintf '" PNG_HEAD "'\n"
             "printf 'rest of the image'",
             script_dir);
    script(draw_cmd, sizeof(draw_cmd), "draw", body);
    script(fail_cmd, sizeof(fail_cmd), "fail", "echo oops >&2; exit 3");
}

static void test_image_answer(void **state)
{
    char a[CHALLENGE_IMAGE_ANSWER_LEN + 1], b[CHALLENGE_IMAGE_ANSWER_LEN + 1];

    (void)state;
    assert_true(challenge_image_answer(a));
    assert_true(challenge_image_answer(b));
    assert_int_equal(strlen(a), CHALLENGE_IMAGE_ANSWER_LEN);
    assert_int_equal(strspn(a, "abcdefghjkmnpqrstuvwxyz23456789"),
                     CHALLENGE_IMAGE_ANSWER_LEN);
    assert_string_not_equal(a, b); /* 1 in 31^6 */
}

/* Runs cmd; its result, the reason in why. */
static bool run(const char *cmd, unsigned timeout_ms, size_t max, char *why,
                size_t *len)
{
    unsigned char *png = NULL;
    bool ok = challenge_image_run(cmd, "abc234", timeout_ms, max, &png, len,
                                  why, 256);

    if (ok) {
        unsigned w, h;
        challenge_image_size(png, *len, &w, &h);
        assert_int_equal(w, 200);
        assert_int_equal(h, 70);
    }
    free(png);
    return ok;
}

static void test_image_run(void **state)
{
    char why[256], cmd[128];
    size_t len = 0;
    struct timespec t0, t1;

    (void)state;
    assert_true(run(draw_cmd, 2000, 4096, why, &len));
    assert_int_equal(len, 24 + strlen("rest of the image"));
    read_drawn_answer();
    assert_string_equal(drawn_answer, "abc234");
    assert_false(run(fail_cmd, 2000, 4096, why, &len));
    assert_contains(why, "exited with a failure");
    script(cmd, sizeof(cmd), "text", "echo not a picture");
    assert_false(run(cmd, 2000, 4096, why, &len));
    assert_contains(why, "printed no PNG");
    script(cmd, sizeof(cmd), "big", "head -c 100000 /dev/zero");
    assert_false(run(cmd, 2000, 1000, why, &len));
    assert_contains(why, "printed more than the bound (killed)");
    /* killed at the deadline, its children with it (process group) */
    script(cmd, sizeof(cmd), "slow", "sleep 30 & sleep 30");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_false(run(cmd, 300, 4096, why, &len));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_contains(why, "did not finish in time (killed)");
    assert_true(t1.tv_sec - t0.tv_sec < 3);
    assert_false(run("/nonexistent/cmd", 300, 4096, why, &len));
    assert_contains(why, "cannot run /nonexistent/cmd");
}

/* ---- the configuration -------------------------------------------------- */

/* Loads component.conf + accounts.conf + section; the problems in err. */
static struct conf *load(const char *section, char *err, size_t size)
{
    char tmp[] = "/tmp/registrar-conf.XXXXXX";
    const char *vals[] = {"JID",
                          "accounts.example",
                          "XMPP_PORT",
                          "5347",
                          "SECRET",
                          "s3cret",
                          "COMPONENT",
                          "",
                          "CONNINFO",
                          "",
                          "LOG_LEVEL",
                          "info",
                          "REGISTRATION",
                          "",
                          NULL};
    int fd = mkstemp(tmp);
    FILE *f = fdopen(fd, "w"), *e = fmemopen(err, size, "w");
    struct conf *c;

    assert_true(fixture_copy("component.conf", f, vals));
    assert_true(fixture_copy("accounts.conf", f, vals));
    fputs(section, f);
    fclose(f);
    c = conf_load(tmp, e);
    fclose(e);
    unlink(tmp);
    return c;
}

static void test_conf(void **state)
{
    char err[1024] = "", qa[64], section[512];
    struct conf *c;

    (void)state;
    c = load("", err, sizeof(err));
    assert_non_null(c);
    assert_int_equal(c->challenge.mode, CHALLENGE_OFF);
    assert_int_equal(c->challenge.ttl_s, 120);
    assert_int_equal(c->challenge.lockout_s, 900);
    assert_int_equal(c->challenge.max_failures, 3);
    conf_free(c);
    memset(err, 0, sizeof(err));
    assert_null(load("challenge {\n mode = \"always\"\n}\n", err, sizeof(err)));
    assert_contains(err, "challenge: mode 'always' needs something to ask: "
                         "set qa_file");
    write_file(qa, sizeof(qa), "en|Q?|a\nen|Q2?\n");
    snprintf(section, sizeof(section),
             "challenge {\n mode = \"risk\"\n qa_file = \"%s\"\n}\n", qa);
    memset(err, 0, sizeof(err));
    assert_null(load(section, err, sizeof(err)));
    assert_contains(err, "qa_file: ");
    assert_contains(err, ":2: expected LANG|QUESTION|ANSWER");
    unlink(qa);
    write_file(qa, sizeof(qa), QA_TEXT);
    snprintf(section, sizeof(section),
             "challenge {\n mode = \"risk\"\n qa_file = \"%s\"\n ttl = \"5m\"\n"
             " trusted_domains = {\"partner.example\"}\n"
             " signups_per_minute = 20\n}\n",
             qa);
    c = load(section, err, sizeof(err));
    assert_non_null(c);
    assert_int_equal(c->challenge.mode, CHALLENGE_RISK);
    assert_int_equal(c->challenge.ttl_s, 300);
    assert_int_equal(c->challenge.qa.n, 4);
    assert_int_equal(c->challenge.trusted_domains.n, 1);
    assert_int_equal(c->challenge.signups_per_minute, 20);
    conf_free(c);
    unlink(qa);
}

/* ---- the flows, against the in-memory store ----------------------------- */

static struct conf base, conf;
static char qa_path[64];
static xmpp_ctx_t *ctx;
static struct tu_sink sink;
static struct reg *reg;
static struct adhoc *adhoc;
static struct router *router;

static double test_now(void)
{
    return 100.0;
}

/* the next start's rate limit per JID (burst, per minute; 0: none) */
static unsigned jid_burst, jid_per_minute;

static void start(enum challenge_mode mode)
{
    const struct adhoc_env env = {.now = test_now};

    conf = base;
    conf.challenge.mode = mode;
    conf.limits.jid_burst = jid_burst;
    conf.limits.jid_per_minute = jid_per_minute;
    reg = reg_new(&conf, fake_store(), &sync_env);
    adhoc = adhoc_new(&conf, reg, fake_store(), &env);
    router = router_new(&conf, reg);
    assert_non_null(router);
}

static int setup_mode(enum challenge_mode mode)
{
    ctx = xmpp_ctx_new(NULL, NULL);
    fake_store_reset();
    tu_sink_init(&sink);
    start(mode);
    return 0;
}

static int setup_always(void **state)
{
    (void)state;
    return setup_mode(CHALLENGE_ALWAYS);
}

static int setup_limited(void **state)
{
    (void)state;
    jid_burst = 2;
    jid_per_minute = 1;
    setup_mode(CHALLENGE_ALWAYS);
    jid_burst = jid_per_minute = 0;
    return 0;
}

static int setup_image(void **state)
{
    (void)state;
    setup_mode(CHALLENGE_ALWAYS);
    conf.challenge.image_cmd = draw_cmd;
    conf.challenge.image_timeout_s = 2;
    conf.challenge.fallback_url = (char *)"https://img.example/c/{cid}.png";
    return 0;
}

static int setup_image_failing(void **state)
{
    (void)state;
    setup_mode(CHALLENGE_ALWAYS);
    conf.challenge.image_cmd = fail_cmd;
    conf.challenge.image_timeout_s = 2;
    return 0;
}

static int setup_risk(void **state)
{
    (void)state;
    setup_mode(CHALLENGE_RISK);
    conf.challenge.signups_per_minute = 50;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_sink_clear(&sink);
    router_free(router);
    adhoc_free(adhoc);
    reg_free(reg);
    fake_store_reset();
    xmpp_ctx_free(ctx);
    return 0;
}

static const char *route(const char *xml)
{
    xmpp_stanza_t *st = tu_parse(ctx, xml);

    tu_sink_clear(&sink);
    router_stanza(router, st, &sink.sink);
    xmpp_stanza_release(st);
    return tu_only_reply(&sink);
}

/* A get from jid (lang: its xml:lang, NULL: none); the challenge's id
 * into id (size 40; "" when the form has none). */
static const char *get_form(const char *from, const char *lang, char *id)
{
    char xml[512];
    const char *r, *p;

    snprintf(xml, sizeof(xml),
             "<iq type='get' id='g1' from='%s' to='" SERVICE "'%s%s%s>"
             "<query xmlns='jabber:iq:register'/></iq>",
             from, lang ? " xml:lang='" : "", lang ? lang : "",
             lang ? "'" : "");
    r = route(xml);
    id[0] = '\0';
    if ((p = strstr(r, "var=\"challenge\"><value>"))) {
        p += strlen("var=\"challenge\"><value>");
        snprintf(id, 40, "%.*s", (int)strcspn(p, "<"), p);
    }
    return r;
}

/* The form submitted by from: username user; the challenge id and answer
 * when given. */
static const char *submit(const char *from, const char *user, const char *id,
                          const char *answer)
{
    char xml[4096], ch[512] = "";

    if (id)
        snprintf(ch, sizeof(ch),
                 "<field var='challenge'><value>%s</value></field>"
                 "<field var='from'><value>" SERVICE "</value></field>"
                 "<field var='sid'><value>g1</value></field>"
                 "<field var='qa'><value>%s</value></field>",
                 id, answer);
    snprintf(xml, sizeof(xml),
             "<iq type='set' id='r1' from='%s' to='" SERVICE "'>"
             "<query xmlns='jabber:iq:register'>"
             "<x xmlns='jabber:x:data' type='submit'>"
             "<field var='FORM_TYPE'><value>jabber:iq:register</value></field>"
             "%s<field var='username'><value>%s</value></field>"
             "<field var='password'><value>secret-pw</value></field>"
             "<field var='email'><value>%s@mail.example</value></field>"
             "</x></query></iq>",
             from, ch, user, user);
    return route(xml);
}

#define NOT_ACCEPTABLE                                                         \
    "<error code=\"406\" type=\"modify\"><not-acceptable "                     \
    "xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/>"
#define RESOURCE_CONSTRAINT                                                    \
    "<error code=\"500\" type=\"wait\"><resource-constraint "                  \
    "xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/>"

static void test_form_carries_challenge(void **state)
{
    char id[40];
    const char *r;

    (void)state;
    r = get_form("a@x.example/r", "fr", id);
    assert_true(strlen(id) > 0);
    assert_contains(r, "<field type=\"hidden\" var=\"FORM_TYPE\"><value>"
                       "jabber:iq:register</value></field>");
    assert_contains(r, "<field type=\"hidden\" var=\"from\"><value>" SERVICE
                       "</value></field>");
    assert_contains(r, "<field type=\"hidden\" var=\"sid\"><value>g1</value>"
                       "</field>");
    assert_contains(r, "<field label=\"Quelle est la capitale de la France "
                       "?\" type=\"text-single\" var=\"qa\"><required/>"
                       "</field>");
    /* never the answer */
    assert_not_contains(r, "aris");
    /* the legacy clients' instructions say that the form is needed */
    assert_contains(r, "<instructions>This service asks a challenge before a "
                       "registration: answer it in the data form (the "
                       "fields alone are not enough). Choose a username");
    r = get_form("a@x.example/r", "en", id);
    assert_contains(r, "label=\"What is the capital of France?\"");
}

static void test_right_answer_registers(void **state)
{
    char id[40];
    const char *r;

    (void)state;
    get_form("a@x.example/r", "en", id);
    r = submit("a@x.example/r", "alice", id, "  PARIS ");
    assert_contains(r, "type=\"result\"");
    assert_non_null(fake_store_username(SERVICE, "a@x.example"));
    /* the challenge's fields are no registration data */
    assert_not_contains(fake_store_fields(SERVICE, "a@x.example"), "qa=");
    assert_not_contains(fake_store_fields(SERVICE, "a@x.example"),
                        "challenge=");
    /* registered: its get has no challenge, its update needs none */
    r = get_form("a@x.example/r", "en", id);
    assert_string_equal(id, "");
    r = submit("a@x.example/r", "alice", NULL, NULL);
    assert_contains(r, "type=\"result\"");
}

/* An update passes no challenge, so it must never create: were the
 * registration removed between the set's read and its write, the write
 * refuses to create it (sql/013's rule, in the write's transaction). */
static void test_update_never_creates(void **state)
{
    char id[40];
    const char *r;

    (void)state;
    get_form("a@x.example/r", "en", id);
    r = submit("a@x.example/r", "alice", id, "Paris");
    assert_contains(r, "type=\"result\"");
    fake_store_remove_before_put();
    r = submit("a@x.example/r", "alice", NULL, NULL);
    assert_contains(r, NOT_ACCEPTABLE);
    assert_contains(r, "needs the answer to a challenge");
    assert_null(fake_store_username(SERVICE, "a@x.example"));
    /* a challenge answered: registered again */
    get_form("a@x.example/r", "en", id);
    r = submit("a@x.example/r", "alice", id, "Paris");
    assert_contains(r, "type=\"result\"");
}

static void test_refusals(void **state)
{
    char id[40], other[40];
    const char *r;

    (void)state;
    /* none */
    r = submit("a@x.example/r", "alice", NULL, NULL);
    assert_contains(r, NOT_ACCEPTABLE);
    assert_contains(r, "needs the answer to a challenge");
    /* wrong */
    get_form("a@x.example/r", "en", id);
    r = submit("a@x.example/r", "alice", id, "Rome");
    assert_contains(r, NOT_ACCEPTABLE);
    assert_contains(r, "is wrong");
    /* replayed (the right answer, too late: used) */
    r = submit("a@x.example/r", "alice", id, "Paris");
    assert_contains(r, NOT_ACCEPTABLE);
    assert_contains(r, "answered already");
    /* another JID's */
    get_form("b@x.example/r", "en", other);
    r = submit("c@x.example/r", "carol", other, "Paris");
    assert_contains(r, NOT_ACCEPTABLE);
    assert_contains(r, "issued to another JID");
    /* unknown */
    r = submit("e@x.example/r", "eve", "nope", "Paris");
    assert_contains(r, "No such challenge");
    assert_int_equal(fake_store_count(), 0);
    /* the other JID's challenge still works for it */
    r = submit("b@x.example/r", "bob", other, "lutetia");
    assert_contains(r, "type=\"result\"");
    /* expired */
    get_form("d@x.example/r", "en", id);
    fake_store_challenges_expire();
    r = submit("d@x.example/r", "dan", id, "Paris");
    assert_contains(r, NOT_ACCEPTABLE);
    assert_contains(r, "has expired");
    assert_int_equal(fake_store_count(), 1);
}

static void test_legacy_and_adhoc_refused(void **state)
{
    char inner[2048], id[40];
    const char *r, *p;

    (void)state;
    r = route("<iq type='set' id='r1' from='a@x.example/r' to='" SERVICE "'>"
              "<query xmlns='jabber:iq:register'><username>alice</username>"
              "<password>pw-alice-1</password><email>a@m.example</email>"
              "</query></iq>");
    assert_contains(r, NOT_ACCEPTABLE);
    assert_contains(r, "needs the answer to a challenge");
    r = route("<iq type='set' id='c1' from='f@x.example/r' to='" SERVICE "'>"
              "<command xmlns='http://jabber.org/protocol/commands' "
              "node='jabber:iq:register' action='execute'/></iq>");
    /* no xml:lang: the question for any language */
    assert_contains(r, "label=\"2 + 3 = ?\" type=\"text-single\" var=\"qa\"");
    p = strstr(r, "var=\"challenge\"><value>");
    assert_non_null(p);
    p += strlen("var=\"challenge\"><value>");
    snprintf(id, sizeof(id), "%.*s", (int)strcspn(p, "<"), p);
    r = route("<iq type='set' id='c1' from='f@x.example/r' to='" SERVICE "'>"
              "<command xmlns='http://jabber.org/protocol/commands' "
              "node='jabber:iq:register' action='execute'>"
              "<x xmlns='jabber:x:data' type='submit'>"
              "<field var='username'><value>fay</value></field>"
              "<field var='password'><value>pw-fay-1</value></field>"
              "<field var='email'><value>f@mail.example</value></field>"
              "</x></command></iq>");
    assert_contains(r, NOT_ACCEPTABLE);
    snprintf(inner, sizeof(inner),
             "<iq type='set' id='c1' from='f@x.example/r' to='" SERVICE "'>"
             "<command xmlns='http://jabber.org/protocol/commands' "
             "node='jabber:iq:register' action='execute'>"
             "<x xmlns='jabber:x:data' type='submit'>"
             "<field var='username'><value>fay</value></field>"
             "<field var='password'><value>pw-fay-1</value></field>"
             "<field var='email'><value>f@mail.example</value></field>"
             "<field var='challenge'><value>%s</value></field>"
             "<field var='qa'><value>Five</value></field>"
             "</x></command></iq>",
             id);
    r = route(inner);
    assert_contains(r, "status=\"completed\"");
    assert_int_equal(fake_store_count(), 1);
}

static void test_lockout(void **state)
{
    char id[40];
    const char *r;

    (void)state;
    for (int i = 0; i < 2; i++) {
        get_form("a@x.example/r", "en", id);
        r = submit("a@x.example/r", "alice", id, "Rome");
        assert_contains(r, NOT_ACCEPTABLE);
    }
    get_form("a@x.example/r", "en", id);
    r = submit("a@x.example/r", "alice", id, "Rome");
    assert_contains(r, RESOURCE_CONSTRAINT);
    assert_contains(r, "Too many wrong answers");
    r = get_form("a@x.example/r", "en", id);
    assert_contains(r, RESOURCE_CONSTRAINT);
    /* another JID is not locked out */
    r = get_form("b@x.example/r", "en", id);
    assert_contains(r, "var=\"qa\"");
}

static void test_risk(void **state)
{
    char id[40];
    const char *r;

    (void)state;
    /* a local domain ("example", the component's parent): none asked */
    r = get_form("a@example/r", "en", id);
    assert_string_equal(id, "");
    assert_not_contains(r, "var=\"qa\"");
    r = submit("a@example/r", "alice", NULL, NULL);
    assert_contains(r, "type=\"result\"");
    /* a foreign one: asked */
    r = get_form("b@elsewhere.example/r", "en", id);
    assert_true(strlen(id) > 0);
    r = submit("b@elsewhere.example/r", "bob", NULL, NULL);
    assert_contains(r, NOT_ACCEPTABLE);
    /* sign-ups over the rate: everyone */
    fake_store_set_signups(1000);
    r = submit("c@example/r", "carol", NULL, NULL);
    assert_contains(r, NOT_ACCEPTABLE);
}

static void test_gets_take_from_the_rate_limit(void **state)
{
    char id[40];
    const char *r;

    (void)state;
    get_form("a@x.example/r", "en", id);
    assert_true(strlen(id) > 0);
    get_form("a@x.example/r", "en", id);
    r = get_form("a@x.example/r", "en", id);
    assert_contains(r, "<policy-violation");
    assert_contains(r, "Too many registration requests (jid limit)");
    r = submit("a@x.example/r", "alice", id, "paris");
    assert_contains(r, "<policy-violation");
    /* another JID has its own */
    get_form("b@x.example/r", "en", id);
    assert_true(strlen(id) > 0);
}

static void test_image_challenge(void **state)
{
    char id[40], cid[96], xml[512];
    const char *r, *p;

    (void)state;
    r = get_form("a@x.example/r", "en", id);
    assert_true(strlen(id) > 0);
    /* XEP-0158's ocr field with XEP-0221's media, the image by cid */
    assert_contains(r, "<field label=\"Enter the text you see\" "
                       "type=\"text-single\" var=\"ocr\"><required/><media "
                       "height=\"70\" width=\"200\" "
                       "xmlns=\"urn:xmpp:media-element\"><uri "
                       "type=\"image/png\">cid:sha1+");
    p = strstr(r, "<uri type=\"image/png\">cid:") +
        strlen("<uri type=\"image/png\">cid:");
    snprintf(cid, sizeof(cid), "%.*s", (int)strcspn(p, "<"), p);
    assert_int_equal(strlen(cid), strlen("sha1+@bob.xmpp.org") + 40);
    assert_contains(r, "@bob.xmpp.org</uri><uri type=\"image/png\">"
                       "https://img.example/c/sha1+");
    /* XEP-0231's data in the query, XEP-0066's URL */
    assert_contains(r, "<data cid=\"");
    assert_contains(r, "max-age=\"0\" type=\"image/png\" "
                       "xmlns=\"urn:xmpp:bob\">iVBORw0KGgo");
    assert_contains(r, "<x xmlns=\"jabber:x:oob\"><url>https://img.example/c/");
    read_drawn_answer();
    assert_not_contains(r, drawn_answer);
    /* the image by a BoB get */
    snprintf(xml, sizeof(xml),
             "<iq type='get' id='b1' from='z@y.example/r' to='" SERVICE "'>"
             "<data xmlns='urn:xmpp:bob' cid='%s'/></iq>",
             cid);
    r = route(xml);
    assert_contains(r, "type=\"result\"");
    assert_contains(r, "xmlns=\"urn:xmpp:bob\">iVBORw0KGgo");
    r = route("<iq type='get' id='b2' from='z@y.example/r' to='" SERVICE "'>"
              "<data xmlns='urn:xmpp:bob' cid='sha1+00@bob.xmpp.org'/></iq>");
    assert_contains(r, "<item-not-found");
    r = route("<iq type='get' id='d1' from='z@y.example/r' to='" SERVICE "'>"
              "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
    assert_contains(r, "<feature var=\"urn:xmpp:bob\"/>");
    /* a wrong answer, then the right one (upper case) to a new one */
    snprintf(xml, sizeof(xml), "%s", id);
    r = submit("a@x.example/r", "alice", xml, "zzzzzz");
    assert_contains(r, NOT_ACCEPTABLE);
    get_form("a@x.example/r", "en", id);
    read_drawn_answer();
    for (char *c = drawn_answer; *c; c++)
        *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
    /* the answer goes in 'ocr' */
    snprintf(xml, sizeof(xml),
             "<iq type='set' id='r1' from='a@x.example/r' to='" SERVICE "'>"
             "<query xmlns='jabber:iq:register'>"
             "<x xmlns='jabber:x:data' type='submit'>"
             "<field var='challenge'><value>%s</value></field>"
             "<field var='ocr'><value>%s</value></field>"
             "<field var='username'><value>alice</value></field>"
             "<field var='password'><value>secret-pw</value></field>"
             "<field var='email'><value>a@mail.example</value></field>"
             "</x></query></iq>",
             id, drawn_answer);
    r = route(xml);
    assert_contains(r, "type=\"result\"");
}

static void test_image_command_fails_closed(void **state)
{
    char id[40];
    const char *r;

    (void)state;
    r = get_form("a@x.example/r", "en", id);
    assert_contains(r, "<error code=\"500\" type=\"wait\"><internal-server-"
                       "error");
    assert_contains(r, "The challenge cannot be made now");
    /* and no registration without one */
    r = submit("a@x.example/r", "alice", NULL, NULL);
    assert_contains(r, NOT_ACCEPTABLE);
    assert_int_equal(fake_store_count(), 0);
}

static void test_store_down(void **state)
{
    char id[40];
    const char *r;

    (void)state;
    fake_store_set_down(true);
    r = get_form("a@x.example/r", "en", id);
    assert_contains(r, "type=\"error\"");
    assert_contains(r, "wait");
    fake_store_set_down(false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qa_load),
        cmocka_unit_test(test_qa_mistakes),
        cmocka_unit_test(test_qa_pick),
        cmocka_unit_test(test_fold),
        cmocka_unit_test(test_rule),
        cmocka_unit_test(test_conf),
        cmocka_unit_test(test_image_answer),
        cmocka_unit_test(test_image_run),
        cmocka_unit_test_setup_teardown(test_form_carries_challenge,
                                        setup_always, teardown),
        cmocka_unit_test_setup_teardown(test_right_answer_registers,
                                        setup_always, teardown),
        cmocka_unit_test_setup_teardown(test_update_never_creates, setup_always,
                                        teardown),

        cmocka_unit_test_setup_teardown(test_refusals, setup_always, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_and_adhoc_refused,
                                        setup_always, teardown),
        cmocka_unit_test_setup_teardown(test_lockout, setup_always, teardown),
        cmocka_unit_test_setup_teardown(test_risk, setup_risk, teardown),
        cmocka_unit_test_setup_teardown(test_gets_take_from_the_rate_limit,
                                        setup_limited, teardown),
        cmocka_unit_test_setup_teardown(test_image_challenge, setup_image,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_image_command_fails_closed,
                                        setup_image_failing, teardown),
        cmocka_unit_test_setup_teardown(test_store_down, setup_always,
                                        teardown),
    };
    char err[256];
    int rc;

    log_set_level(LOG_LEVEL_ERROR);
    base = fixture_conf("accounts", NULL);
    write_file(qa_path, sizeof(qa_path), QA_TEXT);
    if (!challenge_qa_load(qa_path, &base.challenge.qa, err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    base.challenge.ttl_s = 120;
    base.challenge.lockout_s = 900;
    base.challenge.max_failures = 3;
    make_scripts();
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(qa_path);
    for (const char *const *n =
             (const char *const[]){"draw", "fail", "text", "big", "slow",
                                   "answer", NULL};
         *n; n++) {
        char path[128];
        snprintf(path, sizeof(path), "%s/%s", script_dir, *n);
        unlink(path);
    }
    rmdir(script_dir);
    return rc;
}
