/*
 * reg_op.c - the life of one XEP-0077 request: admission against the
 * in-flight caps, the record on file, bcrypt steps on the hashing worker,
 * errors, and the end (which wipes what the request carried).
 *
 * No protocol decisions here: the flows (reg_update.c, reg_account.c)
 * make them.  Never logs a value the request carried.
 *
 * Refusals come in floods (a client retrying at once): each is answered,
 * and logged at debug level by iq.c; here they are counted per kind
 * (enum reg_refusal) and each kind gets one line a second at most: the
 * first refusal of a quiet spell at once, with its JID and id; those of
 * the following second together, with their count, when the next
 * refusal or the next request of the service comes a second or more
 * later (so a count is held back only while the service sees no request
 * at all, and is never dropped).
 */
#include "reg_op.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jid.h"
#include "limiter.h"
#include "log.h"
#include "xml.h"

/* ---- refusals, counted and logged once a second per kind --------------- */

#define REFUSAL_INTERVAL_S 1.0

static const struct {
    const char *what;
    enum log_level level;
} refusals[REG_REFUSED_KINDS] = {
    [REG_REFUSED_PER_JID] = {"over the in-flight cap per JID", LOG_LEVEL_WARN},
    [REG_REFUSED_SERVICE] = {"over the in-flight cap of the service",
                             LOG_LEVEL_WARN},
    [REG_REFUSED_MEMORY] = {"out of memory", LOG_LEVEL_WARN},
    [REG_REFUSED_RATE] = {"over a rate limit", LOG_LEVEL_INFO},
    [REG_REFUSED_HASHING] = {"with the service's share of the hashing "
                             "queue full",
                             LOG_LEVEL_WARN},
};

/* Writes the line of every kind whose held-back count is due. */
static void refusals_flush(struct reg *reg, double now)
{
    unsigned long n;

    for (int k = 0; k < REG_REFUSED_KINDS; k++) {
        if (!limiter_tally_due(&reg->refused[k], now, REFUSAL_INTERVAL_S, &n))
            continue;
        log_msg(refusals[k].level, "reg",
                "%s: %lu request(s) refused %s since the last report (%lu "
                "in all)",
                reg->conf->component.jid, n, refusals[k].what,
                reg->refused[k].total);
    }
}

/* Counts a refusal of kind k (its answer is the caller's). */
static void refusal_count(struct reg *reg, enum reg_refusal k, const char *bare,
                          const char *id)
{
    static const enum stats_refusal why[REG_REFUSED_KINDS] = {
        [REG_REFUSED_PER_JID] = STATS_REFUSED_JID_INFLIGHT,
        [REG_REFUSED_SERVICE] = STATS_REFUSED_SERVICE_INFLIGHT,
        [REG_REFUSED_MEMORY] = STATS_REFUSED_MEMORY,
        [REG_REFUSED_RATE] = STATS_NREFUSALS, /* reg.c: by bucket */
        [REG_REFUSED_HASHING] = STATS_REFUSED_HASHING_QUEUE,
    };
    double now = reg->now();
    unsigned long n;

    stats_refused(reg->stats, why[k]); /* STATS_NREFUSALS: not counted */
    if (limiter_tally_add(&reg->refused[k], now, REFUSAL_INTERVAL_S, &n))
        log_msg(refusals[k].level, "reg",
                "%s: %lu request(s) refused %s since the last report, "
                "latest from %s (id=%s) (%lu in all)",
                reg->conf->component.jid, n, refusals[k].what,
                bare ? bare : "(no sender)", id ? id : "",
                reg->refused[k].total);
    refusals_flush(reg, now);
}

/* ---- requests in flight ------------------------------------------------ */

static unsigned jid_hash(const char *s)
{
    unsigned h = 2166136261u; /* FNV-1a */

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % REG_INFLIGHT_SLOTS;
}

/* The link that holds jid's entry, or the NULL link at its chain's end. */
static struct reg_jid_count **jid_link(struct reg *reg, const char *jid)
{
    struct reg_jid_count **l = &reg->by_jid[jid_hash(jid)];

    while (*l && strcmp((*l)->jid, jid) != 0)
        l = &(*l)->next;
    return l;
}

/* Counts a request of bare in flight.  False when a cap is reached (or
 * out of memory); *which names the cap. */
static bool inflight_take(struct reg *reg, const char *bare,
                          enum reg_refusal *which)
{
    const struct conf_limits *l = &reg->conf->limits;
    struct reg_jid_count **link = jid_link(reg, bare), *e = *link;
    size_t len;

    if (l->inflight_total && reg->inflight >= l->inflight_total) {
        *which = REG_REFUSED_SERVICE;
        return false;
    }
    if (e && l->inflight_per_jid && e->n >= l->inflight_per_jid) {
        *which = REG_REFUSED_PER_JID;
        return false;
    }
    if (!e) {
        len = strlen(bare) + 1;
        if (!(e = malloc(sizeof(*e) + len))) {
            *which = REG_REFUSED_MEMORY;
            return false;
        }
        memcpy(e->jid, bare, len);
        e->n = 0;
        e->next = NULL;
        *link = e;
    }
    e->n++;
    reg->inflight++;
    stats_inflight(reg->stats, 1);
    return true;
}

static void inflight_release(struct reg *reg, const char *bare)
{
    struct reg_jid_count **link = jid_link(reg, bare), *e = *link;

    reg->inflight--;
    stats_inflight(reg->stats, -1);
    if (e && --e->n == 0) {
        *link = e->next;
        free(e);
    }
}

/* Answers a request over a cap at once: resource-constraint, type wait;
 * the refusal is counted (see the top of the file). */
static void refuse_over_cap(struct reg *reg, struct iq_req *req,
                            const char *bare, enum reg_refusal which)
{
    char text[160];

    refusal_count(reg, which, bare, iq_req_id(req));
    snprintf(text, sizeof(text),
             "Too many requests in progress (%s limit); wait for the "
             "answers and try again.",
             which == REG_REFUSED_PER_JID   ? "per-JID"
             : which == REG_REFUSED_SERVICE ? "service"
                                            : "memory");
    iq_req_error(req, IQ_RESOURCE_CONSTRAINT, text, NULL);
    iq_req_done(req);
}

/* ---- start and end ----------------------------------------------------- */

/* The bare JID of the request's sender, prepared as the servers prepare
 * it (jid.h: what a server sends comes back unchanged, so this only makes
 * sure); a JID stringprep refuses is kept as the server sent it, never
 * refused here.  NULL without a sender.  Caller frees. */
static char *bare_of(struct iq_req *req)
{
    const char *from = iq_req_from(req);
    char *bare, *copy;

    if (!from)
        return NULL;
    if (jid_normal_bare(from, &copy) == JID_OK)
        return copy;
    if (!(bare = xmpp_jid_bare(iq_req_ctx(req), from)))
        return NULL;
    copy = strdup(bare);
    xmpp_free(iq_req_ctx(req), bare);
    return copy;
}

const struct conf_lang **reg_op_lang(const struct reg *reg, struct iq_req *req,
                                     const struct conf_lang **tr)
{
    const char *tag;

    *tr = lang_select(reg->conf, iq_req_lang(req), &tag);
    if (tag) /* the service has translations: replies say their language */
        iq_req_set_lang(req, tag,
                        *tr ? (const char *const *)(*tr)->texts : NULL);
    return tr;
}

struct op *reg_op_start(struct reg *reg, struct iq_req *req)
{
    char *bare = bare_of(req);
    enum reg_refusal which;
    struct op *op;

    iq_req_count_as(req, reg->stats,
                    strcmp(iq_req_type(req), "set") == 0 ? STATS_REGISTER
                                                         : STATS_GET);
    if (bare && !inflight_take(reg, bare, &which)) {
        refuse_over_cap(reg, req, bare, which);
        free(bare);
        return NULL;
    }
    refusals_flush(reg, reg->now()); /* counts held back, if due */
    if (!(op = calloc(1, sizeof(*op)))) {
        if (bare)
            inflight_release(reg, bare);
        free(bare);
        iq_req_error(req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        iq_req_done(req);
        return NULL;
    }
    op->reg = reg;
    op->req = req;
    op->query = iq_req_payload(req);
    op->bare = bare; /* NULL: not counted in flight */
    op->cost = reg->conf->registration.hash_cost;
    if (!op->cost)
        op->cost = SECRET_DEFAULT_COST;
    reg_op_lang(reg, req, &op->tr);
    return op;
}

void reg_op_tasks_clear(struct op *op)
{
    if (op->tasks)
        explicit_bzero(op->tasks, op->ntasks * sizeof(*op->tasks));
    free(op->tasks);
    op->tasks = NULL;
    op->ntasks = 0;
    op->tasks_oom = false;
    op->tasks_dropped = false;
}

void reg_op_done(struct op *op)
{
    if (op->bare)
        inflight_release(op->reg, op->bare);
    if (op->query)
        xml_wipe_texts(op->query); /* before the request's reference goes */
    iq_req_done(op->req);
    form_data_clear(&op->data); /* wipes every value */
    store_record_clear(&op->rec);
    reg_op_tasks_clear(op);
    explicit_bzero(op->password_hash, sizeof(op->password_hash));
    free(op->claim);
    if (op->invite_token)
        explicit_bzero(op->invite_token, strlen(op->invite_token));
    free(op->invite_token);
    if (op->challenge_answer)
        explicit_bzero(op->challenge_answer, strlen(op->challenge_answer));
    free(op->challenge_answer);
    free(op->challenge_id);
    free(op->challenge_png);
    if (op->challenge_reply)
        xmpp_stanza_release(op->challenge_reply);
    free(op->bare);
    free(op);
}

const char *reg_op_id(const struct op *op)
{
    const char *id = iq_req_id(op->req);
    return id ? id : "";
}

void reg_op_kind(struct op *op, enum stats_kind kind)
{
    iq_req_count_as(op->req, op->reg->stats, kind);
}

const char *reg_op_service(const struct op *op)
{
    return op->reg->conf->component.jid;
}

void reg_op_fail_as(struct op *op, enum iq_error e, const char *type,
                    const char *text)
{
    /* reg.c answers policy-violation for a rate limit, and only then */
    if (e == IQ_POLICY_VIOLATION)
        refusal_count(op->reg, REG_REFUSED_RATE, op->bare, reg_op_id(op));
    iq_req_error_as(op->req, e, type, text, NULL);
    reg_op_done(op);
}

void reg_op_fail(struct op *op, enum iq_error e, const char *text)
{
    reg_op_fail_as(op, e, NULL, text);
}

void reg_op_fail_unavailable(struct op *op)
{
    reg_op_fail(op, IQ_INTERNAL_SERVER_ERROR, REG_TEXT_UNAVAILABLE);
}

void reg_op_keep_record(struct op *op, struct store_record *rec)
{
    store_record_clear(&op->rec);
    op->rec = *rec; /* taken, not copied */
    *rec = (struct store_record){0};
    op->registered = true;
}

bool reg_op_keep_registered(struct op *op, enum store_status st,
                            struct store_record *rec)
{
    if (st == STORE_NOT_FOUND) {
        reg_op_fail(op, IQ_REGISTRATION_REQUIRED, REG_TEXT_NOT_REGISTERED);
        return false;
    }
    if (st != STORE_OK) {
        reg_op_fail_unavailable(op);
        return false;
    }
    reg_op_keep_record(op, rec);
    return true;
}

/* ---- bcrypt on the hashing worker ---------------------------------------- */

void reg_op_add_task(struct op *op, const char *var, const char *plain,
                     const char *hash)
{
    struct reg_task *t = realloc(op->tasks, (op->ntasks + 1) * sizeof(*t));

    if (!t) {
        op->tasks_oom = true;
        return;
    }
    op->tasks = t;
    t[op->ntasks++] =
        (struct reg_task){.var = var, .plain = plain, .hash = hash};
}

/* On a worker thread: touches the op's tasks and cost only. */
static void tasks_work(void *arg)
{
    struct op *op = arg;

    for (size_t i = 0; i < op->ntasks; i++) {
        struct reg_task *t = &op->tasks[i];
        if (t->hash) {
            t->check = secret_check(t->plain, t->hash);
            t->ok = t->check == SECRET_MATCH;
        } else {
            t->ok = secret_hash(t->plain, op->cost, t->out);
        }
    }
}

/* The worker stopped before the tasks ran: touches the op's flag only. */
static void tasks_drop(void *arg)
{
    struct op *op = arg;

    op->tasks_dropped = true;
}

static void tasks_done(void *arg)
{
    struct op *op = arg;

    stats_hashing(op->reg->stats, -1);
    if (op->tasks_dropped) {
        reg_op_fail(op, IQ_INTERNAL_SERVER_ERROR,
                    "The service is stopping; please try again later.");
        return;
    }
    for (size_t i = 0; i < op->ntasks; i++) {
        if (op->tasks[i].hash && op->tasks[i].check == SECRET_BAD_HASH) {
            log_warn("reg",
                     "the stored %s of %s is not a $2a$ bcrypt hash "
                     "of cost %d-%d: treated as a mismatch (id=%s)",
                     op->tasks[i].var, op->bare, SECRET_MIN_COST,
                     SECRET_MAX_COST, reg_op_id(op));
            break;
        }
    }
    op->after(op);
}

void reg_op_run_tasks(struct op *op, void (*after)(struct op *))
{
    struct reg *reg = op->reg;

    op->after = after;
    if (op->tasks_oom) {
        reg_op_fail(op, IQ_INTERNAL_SERVER_ERROR, NULL);
        return;
    }
    if (op->ntasks == 0) {
        after(op);
        return;
    }
    /* counted before done() can run: an inline worker runs it at once */
    stats_hashing(reg->stats, 1);
    if (!worker_submit_for(reg->hasher, reg, tasks_work, tasks_done, tasks_drop,
                           op)) {
        stats_hashing(reg->stats, -1);
        refusal_count(reg, REG_REFUSED_HASHING, op->bare, reg_op_id(op));
        reg_op_fail(op, IQ_RESOURCE_CONSTRAINT,
                    "Too many requests in progress; please try again "
                    "later.");
    }
}

bool reg_op_hashing_refused(struct op *op)
{
    if (!worker_full_for(op->reg->hasher, op->reg))
        return false;
    refusal_count(op->reg, REG_REFUSED_HASHING, op->bare, reg_op_id(op));
    reg_op_fail(op, IQ_RESOURCE_CONSTRAINT,
                "Too many requests in progress; please try again later.");
    return true;
}

bool reg_op_tasks_ok(const struct op *op)
{
    bool ok = !op->proof_failed;

    for (size_t i = 0; i < op->ntasks; i++)
        ok &= op->tasks[i].ok;
    return ok;
}

const char *reg_op_task_hash(const struct op *op, const char *var)
{
    for (size_t i = 0; i < op->ntasks; i++)
        if (!op->tasks[i].hash && op->tasks[i].ok &&
            strcmp(op->tasks[i].var, var) == 0)
            return op->tasks[i].out;
    return NULL;
}

bool reg_op_rate_admitted(struct op *op)
{
    struct reg *reg = op->reg;
    const char *which;
    double retry;
    char text[160];

    if (limiter_take(reg->limiter, op->bare, reg->now(), &which, &retry))
        return true;
    stats_refused(reg->stats, !strcmp(which, "jid") ? STATS_REFUSED_JID_RATE
                              : !strcmp(which, "domain")
                                  ? STATS_REFUSED_DOMAIN_RATE
                                  : STATS_REFUSED_SERVICE_RATE);
    snprintf(text, sizeof(text),
             "Too many registration requests (%s limit); try again in "
             "%.0f seconds.",
             which, retry < 1 ? 1 : retry + 0.5);
    reg_op_fail(op, IQ_POLICY_VIOLATION, text);
    return false;
}
