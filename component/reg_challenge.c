/*
 * reg_challenge.c - XEP-0158 challenges in In-Band Registration: the
 * form's challenge on a get, the check of the answer before a new
 * registration is written (reg_challenge.h).
 *
 * Whether a challenge is asked is challenge.h's rule, weighed with what
 * the store says of the JID and the service (store_challenge_status:
 * lockout, recent failures, the sign-ups of the last minute).  The
 * challenge itself is the database's (sql/015): issued per get, single
 * use, bound to the bare JID, expiring, its answers kept as salted
 * SHA-256 only; so any instance behind the server checks what another
 * issued.  Never logs an answer.
 */
#include "reg_challenge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "challenge.h"
#include "challenge_image.h"
#include "conf.h"
#include "form.h"
#include "log.h"
#include "reg_op.h"
#include "text.h"
#include "worker.h"
#include "xml.h"

bool reg_challenge_on(const struct reg *reg)
{
    return reg->conf->challenge.mode != CHALLENGE_OFF;
}

static xmpp_stanza_t *field(xmpp_ctx_t *ctx, const char *var, const char *type,
                            const char *label, const char *value)
{
    xmpp_stanza_t *f = xml_elem(ctx, "field", NULL);

    if (!f)
        return NULL;
    xmpp_stanza_set_attribute(f, "var", var);
    if (type)
        xmpp_stanza_set_attribute(f, "type", type);
    if (label)
        xmpp_stanza_set_attribute(f, "label", label);
    if (value)
        xml_add_text(f, "value", value);
    return f;
}

void reg_challenge_add_fields(xmpp_ctx_t *ctx, xmpp_stanza_t *x, const char *id,
                              const char *from, const char *sid,
                              const char *question)
{
    xmpp_stanza_t *qa;

    xml_add(x, field(ctx, REG_CHALLENGE_FIELD, "hidden", NULL, id));
    xml_add(x, field(ctx, "from", "hidden", NULL, from));
    if (sid)
        xml_add(x, field(ctx, "sid", "hidden", NULL, sid));
    if ((qa = field(ctx, REG_CHALLENGE_QA, "text-single", question, NULL))) {
        xml_add(qa, xml_elem(ctx, "required", NULL));
        xml_add(x, qa);
    }
}

bool reg_challenge_images(const struct reg *reg)
{
    return reg_challenge_on(reg) && reg->conf->challenge.image_cmd;
}

/* fallback_url with {cid} replaced, into out; false when too long. */
static bool fallback(const char *url, const char *cid, char *out, size_t size)
{
    const char *at = url ? strstr(url, "{cid}") : NULL;

    if (!at)
        return false;
    return snprintf(out, size, "%.*s%s%s", (int)(at - url), url, cid,
                    at + strlen("{cid}")) < (int)size;
}

/* <name xmlns=ns type=type>text</name>, or NULL. */
static xmpp_stanza_t *typed_text(xmpp_ctx_t *ctx, const char *name,
                                 const char *ns, const char *type,
                                 const char *text)
{
    xmpp_stanza_t *e = xml_elem(ctx, name, ns);
    xmpp_stanza_t *t = e ? xmpp_stanza_new(ctx) : NULL;

    if (!t) {
        if (e)
            xmpp_stanza_release(e);
        return NULL;
    }
    if (type)
        xmpp_stanza_set_attribute(e, "type", type);
    xmpp_stanza_set_text(t, text);
    xmpp_stanza_add_child(e, t);
    xmpp_stanza_release(t);
    return e;
}

void reg_challenge_add_image(xmpp_ctx_t *ctx, xmpp_stanza_t *q,
                             xmpp_stanza_t *x, const char *id, const char *from,
                             const char *sid, const char *cid, unsigned width,
                             unsigned height, const unsigned char *png,
                             size_t len, const char *fallback_url,
                             const char *label)
{
    xmpp_stanza_t *ocr, *media, *data;
    char ref[128], num[16];
    char *b64;

    xml_add(x, field(ctx, REG_CHALLENGE_FIELD, "hidden", NULL, id));
    xml_add(x, field(ctx, "from", "hidden", NULL, from));
    if (sid)
        xml_add(x, field(ctx, "sid", "hidden", NULL, sid));
    if (!(ocr =
              field(ctx, REG_CHALLENGE_OCR, "text-single",
                    label ? label
                          : lang_text_english(LANG_TEXT_challenge_image_label),
                    NULL)))
        return;
    xml_add(ocr, xml_elem(ctx, "required", NULL));
    if ((media = xml_elem(ctx, "media", REG_NS_MEDIA))) {
        snprintf(num, sizeof(num), "%u", height);
        xmpp_stanza_set_attribute(media, "height", num);
        snprintf(num, sizeof(num), "%u", width);
        xmpp_stanza_set_attribute(media, "width", num);
        snprintf(ref, sizeof(ref), "cid:%s", cid);
        xml_add(media, typed_text(ctx, "uri", NULL, "image/png", ref));
        if (fallback_url)
            xml_add(media,
                    typed_text(ctx, "uri", NULL, "image/png", fallback_url));
        xml_add(ocr, media);
    }
    xml_add(x, ocr);
    if ((b64 = xmpp_base64_encode(ctx, png, len))) {
        if ((data = typed_text(ctx, "data", REG_NS_BOB, "image/png", b64))) {
            xmpp_stanza_set_attribute(data, "cid", cid);
            xmpp_stanza_set_attribute(data, "max-age", "0");
            xml_add(q, data);
        }
        xmpp_free(ctx, b64);
    }
    if (fallback_url) {
        xmpp_stanza_t *oob = xml_elem(ctx, "x", "jabber:x:oob");
        if (oob) {
            xml_add_text(oob, "url", fallback_url);
            xml_add(q, oob);
        }
    }
}

/* The rule for op's JID, given what the store says. */
static bool required(const struct op *op,
                     const struct store_challenge_status *cs, const char **why)
{
    const struct conf *conf = op->reg->conf;
    const char *at = strchr(op->bare, '@');
    struct challenge_risk r = {
        .domain = at ? at + 1 : op->bare,
        .local_domains =
            (const char *const *)conf->registration.local_domains.items,
        .nlocal = conf->registration.local_domains.n,
        .trusted_domains =
            (const char *const *)conf->challenge.trusted_domains.items,
        .ntrusted = conf->challenge.trusted_domains.n,
        .failed_recently = cs->failed_recently,
        .signups_last_minute = cs->signups_last_minute,
        .signups_per_minute = conf->challenge.signups_per_minute,
    };

    return challenge_required(conf->challenge.mode, &r, why);
}

static void fail_locked(struct op *op, unsigned long seconds)
{
    char text[200];

    log_debug("reg", "%s is locked out of %s's challenges for %lu s (id=%s)",
              op->bare, reg_op_service(op), seconds, reg_op_id(op));
    text_format(text, sizeof(text),
                "Too many wrong answers to the challenge: try again in %lu "
                "seconds.",
                seconds ? seconds : 1); /* challenge_locked's English */
    reg_op_fail(op, IQ_RESOURCE_CONSTRAINT, text);
}

/* ---- the get ------------------------------------------------------------ */

/* A text of lang.h's catalog in tr's language (NULL: English), in buf. */
static const char *tx(const struct conf_lang *tr, enum lang_text t, char *buf,
                      size_t size)
{
    return lang_translate(tr ? (const char *const *)tr->texts : NULL,
                          lang_text_english(t), buf, size);
}

/* The query's own <instructions/> (those for clients without data forms)
 * say that the form's question must be answered: such a client cannot
 * register here. */
static void tell_legacy_clients(xmpp_stanza_t *q, const struct conf_lang *tr)
{
    xmpp_stanza_t *in = xmpp_stanza_get_child_by_name(q, "instructions");
    xmpp_stanza_t *t = in ? xmpp_stanza_get_children(in) : NULL;
    const char *old = t ? xmpp_stanza_get_text_ptr(t) : NULL;
    char text[2048], said[512];

    if (!t || !old || !xmpp_stanza_is_text(t))
        return;
    text_format(text, sizeof(text), "%s %s",
                tx(tr, LANG_TEXT_challenge_form, said, sizeof(said)), old);
    xmpp_stanza_set_text(t, text);
}

static void send_reply(struct op *op)
{
    xmpp_stanza_t *q = op->challenge_reply;

    op->challenge_reply = NULL;
    iq_req_result(op->req, q);
    xmpp_stanza_release(q);
    reg_op_done(op);
}

static void on_issued(void *arg, enum store_status st, const char *id)
{
    struct op *op = arg;
    xmpp_stanza_t *x;

    if (st != STORE_OK) {
        log_error("reg", "cannot issue a challenge to %s for %s (id=%s): %s",
                  op->bare, reg_op_service(op), reg_op_id(op),
                  store_status_name(st));
        reg_op_fail_unavailable(op);
        return;
    }
    x = xmpp_stanza_get_child_by_name_and_ns(op->challenge_reply, "x", FORM_NS);
    if (!x) { /* a reply without a form: nothing to fill, no challenge */
        send_reply(op);
        return;
    }
    if (op->challenge_png) {
        const struct conf_challenge *c = &op->reg->conf->challenge;
        char url[1024], label[256];
        unsigned w, h;

        challenge_image_size(op->challenge_png, op->challenge_png_len, &w, &h);
        reg_challenge_add_image(
            iq_req_ctx(op->req), op->challenge_reply, x, id, iq_req_to(op->req),
            iq_req_id(op->req), op->challenge_cid, w, h, op->challenge_png,
            op->challenge_png_len,
            fallback(c->fallback_url, op->challenge_cid, url, sizeof(url))
                ? url
                : NULL,
            tx(op->tr, LANG_TEXT_challenge_image_label, label, sizeof(label)));
    } else {
        reg_challenge_add_fields(iq_req_ctx(op->req), x, id, iq_req_to(op->req),
                                 iq_req_id(op->req),
                                 op->challenge_qa->question);
    }
    tell_legacy_clients(op->challenge_reply, op->tr);
    log_debug("reg", "challenged %s for %s (id=%s)", op->bare,
              reg_op_service(op), reg_op_id(op));
    send_reply(op);
}

/* ---- an image challenge: image_cmd on the image worker ----------------- */

struct image_job {
    struct op *op;
    char *cmd;
    unsigned timeout_ms;
    char answer[CHALLENGE_IMAGE_ANSWER_LEN + 1];
    unsigned char *png;
    size_t len;
    bool ok;
    char why[256];
};

/* On the worker thread: touches nothing but the job. */
static void image_work(void *arg)
{
    struct image_job *j = arg;

    j->ok = challenge_image_run(j->cmd, j->answer, j->timeout_ms,
                                CHALLENGE_IMAGE_MAX, &j->png, &j->len, j->why,
                                sizeof(j->why));
}

static void image_drop(void *arg)
{
    struct image_job *j = arg;

    j->ok = false;
    snprintf(j->why, sizeof(j->why), "stopping");
}

static void image_job_free(struct image_job *j)
{
    explicit_bzero(j->answer, sizeof(j->answer));
    free(j->png);
    free(j->cmd);
    free(j);
}

/* A failed image command fails closed: no challenge, no registration.
 * One log line a minute per service, with the count since the last. */
static void image_failed(struct op *op, const char *why)
{
    struct reg *reg = op->reg;
    double now = reg->now();

    reg->image_failures++;
    if (reg->image_failure_logged == 0 ||
        now - reg->image_failure_logged >= 60) {
        log_error("reg",
                  "%s: the challenge image command failed %u time(s) since "
                  "the last line: %s; no registration without a challenge",
                  reg_op_service(op), reg->image_failures, why);
        reg->image_failures = 0;
        reg->image_failure_logged = now;
    }
    reg_op_fail(op, IQ_INTERNAL_SERVER_ERROR,
                lang_text_english(LANG_TEXT_challenge_failed));
}

/* On the loop: the image drawn (or not); issued with its answer. */
static void image_done(void *arg)
{
    struct image_job *j = arg;
    struct op *op = j->op;
    const char *answers[1] = {j->answer};
    struct store_challenge_image img;
    char *hex;

    if (!j->ok) {
        image_failed(op, j->why);
        image_job_free(j);
        return;
    }
    hex = xmpp_sha1(iq_req_ctx(op->req), j->png, j->len);
    if (!hex) {
        reg_op_fail(op, IQ_INTERNAL_SERVER_ERROR, NULL);
        image_job_free(j);
        return;
    }
    snprintf(op->challenge_cid, sizeof(op->challenge_cid),
             "sha1+%s@bob.xmpp.org", hex);
    xmpp_free(iq_req_ctx(op->req), hex);
    op->challenge_png = j->png;
    op->challenge_png_len = j->len;
    j->png = NULL;
    img = (struct store_challenge_image){.png = op->challenge_png,
                                         .len = op->challenge_png_len,
                                         .cid = op->challenge_cid};
    store_challenge_issue(op->reg->store, reg_op_service(op), op->bare,
                          op->reg->conf->challenge.ttl_s, answers, 1, &img,
                          on_issued, op);
    image_job_free(j);
}

static void start_image(struct op *op)
{
    const struct conf_challenge *c = &op->reg->conf->challenge;
    struct image_job *j = calloc(1, sizeof(*j));

    if (!j || !(j->cmd = strdup(c->image_cmd)) ||
        !challenge_image_answer(j->answer)) {
        if (j)
            image_job_free(j);
        reg_op_fail(op, IQ_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    j->op = op;
    j->timeout_ms = (unsigned)(c->image_timeout_s * 1000);
    if (!op->reg->imager ||
        !worker_submit_for(op->reg->imager, op->reg, image_work, image_done,
                           image_drop, j)) {
        image_job_free(j);
        log_debug("reg", "no room to draw a challenge for %s (id=%s)", op->bare,
                  reg_op_id(op));
        reg_op_fail(op, IQ_RESOURCE_CONSTRAINT,
                    lang_text_english(LANG_TEXT_challenge_busy));
        return;
    }
}

static void on_get_status(void *arg, enum store_status st,
                          const struct store_challenge_status *cs)
{
    struct op *op = arg;
    const struct conf_challenge *c = &op->reg->conf->challenge;
    const struct challenge_qa *qa;
    const char *why;
    unsigned rnd = 0;

    if (st != STORE_OK) {
        reg_op_fail_unavailable(op);
        return;
    }
    if (cs->locked_for_s) {
        fail_locked(op, cs->locked_for_s);
        return;
    }
    if (!required(op, cs, &why)) {
        send_reply(op);
        return;
    }
    /* issuing writes to the database: it takes from the rate limits as a
     * set does */
    if (!reg_op_rate_admitted(op))
        return;
    if (c->image_cmd) {
        start_image(op);
        return;
    }
    if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        rnd = (unsigned)op->reg->now();
    if (!(qa = challenge_qa_pick(&c->qa, iq_req_lang(op->req), rnd))) {
        reg_op_fail(op, IQ_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    op->challenge_qa = qa;
    store_challenge_issue(op->reg->store, reg_op_service(op), op->bare,
                          c->ttl_s, (const char *const *)qa->answers,
                          qa->nanswers, NULL, on_issued, op);
}

void reg_challenge_reply(struct op *op, xmpp_stanza_t *q)
{
    op->challenge_reply = q;
    if (!reg_challenge_on(op->reg)) {
        send_reply(op);
        return;
    }
    store_challenge_status(op->reg->store, reg_op_service(op), op->bare,
                           op->reg->conf->challenge.lockout_s, on_get_status,
                           op);
}

/* ---- the set ------------------------------------------------------------ */

/* The first value of var, taken out of op->data into *out (NULL: none). */
static bool take(struct op *op, const char *var, char **out)
{
    const char *v = form_data_first(&op->data, var);

    if (v && !*out && !(*out = strdup(v))) {
        reg_op_fail(op, IQ_INTERNAL_SERVER_ERROR, NULL);
        return false;
    }
    form_data_remove(&op->data, var);
    return true;
}

bool reg_challenge_take(struct op *op)
{
    if (!reg_challenge_on(op->reg))
        return true; /* unknown fields: validation drops them */
    if (!take(op, REG_CHALLENGE_FIELD, &op->challenge_id) ||
        !take(op, REG_CHALLENGE_QA, &op->challenge_answer) ||
        !take(op, REG_CHALLENGE_OCR, &op->challenge_answer))
        return false;
    /* echoes of the form's hidden fields: not registration data */
    form_data_remove(&op->data, "sid");
    form_data_remove(&op->data, "from");
    return true;
}

static void on_checked(void *arg, enum store_status st,
                       enum store_challenge outcome)
{
    struct op *op = arg;
    const char *text;

    if (st != STORE_OK) {
        reg_op_fail_unavailable(op);
        return;
    }
    switch (outcome) {
    case STORE_CHALLENGE_OK:
        log_info("reg", "%s answered %s's challenge (id=%s)", op->bare,
                 reg_op_service(op), reg_op_id(op));
        op->challenge_next(op);
        return;
    case STORE_CHALLENGE_LOCKED:
        log_info("reg",
                 "%s is locked out of %s's challenges for %lu s after "
                 "%u failures (id=%s)",
                 op->bare, reg_op_service(op),
                 op->reg->conf->challenge.lockout_s,
                 op->reg->conf->challenge.max_failures, reg_op_id(op));
        fail_locked(op, op->reg->conf->challenge.lockout_s);
        return;
    case STORE_CHALLENGE_WRONG:
        text = lang_text_english(LANG_TEXT_challenge_wrong);
        break;
    case STORE_CHALLENGE_EXPIRED:
        text = lang_text_english(LANG_TEXT_challenge_expired);
        break;
    case STORE_CHALLENGE_USED:
        text = lang_text_english(LANG_TEXT_challenge_used);
        break;
    case STORE_CHALLENGE_FOREIGN:
        text = lang_text_english(LANG_TEXT_challenge_foreign);
        break;
    default:
        text = lang_text_english(LANG_TEXT_challenge_unknown);
    }
    log_info("reg", "%s failed %s's challenge (%s; id=%s)", op->bare,
             reg_op_service(op),
             outcome == STORE_CHALLENGE_WRONG     ? "wrong answer"
             : outcome == STORE_CHALLENGE_EXPIRED ? "expired"
             : outcome == STORE_CHALLENGE_USED    ? "answered before"
             : outcome == STORE_CHALLENGE_FOREIGN ? "another JID's"
                                                  : "unknown",
             reg_op_id(op));
    reg_op_fail(op, IQ_NOT_ACCEPTABLE, text);
}

static void on_set_status(void *arg, enum store_status st,
                          const struct store_challenge_status *cs)
{
    struct op *op = arg;
    const struct conf_challenge *c = &op->reg->conf->challenge;
    char folded[CHALLENGE_ANSWER_MAX + 1];
    const char *why = NULL;

    if (st != STORE_OK) {
        reg_op_fail_unavailable(op);
        return;
    }
    if (cs->locked_for_s) {
        fail_locked(op, cs->locked_for_s);
        return;
    }
    if (!required(op, cs, &why)) {
        op->challenge_next(op);
        return;
    }
    if (!op->challenge_id || !op->challenge_answer) {
        log_debug("reg", "%s gave %s no challenge answer (asked: %s; id=%s)",
                  op->bare, reg_op_service(op), why, reg_op_id(op));
        reg_op_fail(op, IQ_NOT_ACCEPTABLE, REG_TEXT_CHALLENGE_REQUIRED);
        return;
    }
    /* an answer that cannot be folded is no answer: it matches none */
    if (!challenge_fold(op->challenge_answer, folded, sizeof(folded)))
        folded[0] = '\0';
    store_challenge_check(op->reg->store, reg_op_service(op), op->bare,
                          op->challenge_id, folded, c->max_failures,
                          c->lockout_s, on_checked, op);
    explicit_bzero(folded, sizeof(folded));
}

void reg_challenge_gate(struct op *op, void (*next)(struct op *op))
{
    if (!reg_challenge_on(op->reg)) {
        next(op);
        return;
    }
    op->challenge_next = next;
    store_challenge_status(op->reg->store, reg_op_service(op), op->bare,
                           op->reg->conf->challenge.lockout_s, on_set_status,
                           op);
}

/* ---- XEP-0231: the images, by cid ------------------------------------ */

static void on_bob(void *arg, enum store_status st, const unsigned char *png,
                   size_t len, unsigned long ttl_s)
{
    struct op *op = arg;
    xmpp_ctx_t *ctx = iq_req_ctx(op->req);
    xmpp_stanza_t *p = iq_req_payload(op->req), *data = NULL;
    const char *cid = p ? xmpp_stanza_get_attribute(p, "cid") : NULL;
    char *b64;

    (void)ttl_s;
    if (st == STORE_NOT_FOUND) {
        reg_op_fail(op, IQ_ITEM_NOT_FOUND, NULL);
        return;
    }
    if (st != STORE_OK) {
        reg_op_fail_unavailable(op);
        return;
    }
    if ((b64 = xmpp_base64_encode(ctx, png, len))) {
        data = typed_text(ctx, "data", REG_NS_BOB, "image/png", b64);
        xmpp_free(ctx, b64);
    }
    if (!data) {
        reg_op_fail(op, IQ_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    xmpp_stanza_set_attribute(data, "cid", cid);
    xmpp_stanza_set_attribute(data, "max-age", "0");
    iq_req_result(op->req, data);
    xmpp_stanza_release(data);
    reg_op_done(op);
}

void reg_challenge_bob(struct op *op)
{
    xmpp_stanza_t *p = iq_req_payload(op->req);
    const char *cid = p ? xmpp_stanza_get_attribute(p, "cid") : NULL;

    if (!reg_challenge_images(op->reg) || !cid || strlen(cid) > 128 ||
        strncmp(cid, "sha1+", 5) != 0) {
        reg_op_fail(op, IQ_ITEM_NOT_FOUND, NULL);
        return;
    }
    store_challenge_image(op->reg->store, reg_op_service(op), cid, on_bob, op);
}
