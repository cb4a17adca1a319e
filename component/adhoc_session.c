/*
 * adhoc_session.c - the machinery of the ad-hoc commands: sessions
 * (bounded per JID and, for non-admins, in total, shared by max-min
 * fairness, expired when unused), the floods counted and logged once a
 * second, one command request running in a session (struct run), and the
 * command's answer.  No command of its own: adhoc_register.c and
 * adhoc_admin.c run them, adhoc.c dispatches (adhoc.h).
 */
#include "adhoc_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "adhoc_defs.h"
#include "log.h"
#include "reg.h"
#include "xml.h"

/* Refusals and evictions: one log line per kind and interval at most. */
#define TALLY_INTERVAL_S 1.0

/* ---- floods ------------------------------------------------------------ */

static const char *const tally_what[NTALLIES] = {
    [TALLY_RATE] = "command execute(s) refused over a rate limit",
    [TALLY_FULL] = "command execute(s) refused with every session slot "
                   "taken",
    [TALLY_EVICTED] = "idle session(s) ended to make room for another "
                      "JID's",
};

void adhoc_tally(struct adhoc *a, enum tally k, const char *bare)
{
    unsigned long n;

    if (k == TALLY_RATE || k == TALLY_FULL)
        stats_refused(reg_stats(a->reg), k == TALLY_RATE
                                             ? STATS_REFUSED_COMMAND_RATE
                                             : STATS_REFUSED_COMMAND_SESSIONS);
    if (limiter_tally_add(&a->tallies[k], a->now(), TALLY_INTERVAL_S, &n))
        log_warn("adhoc",
                 "%s: %lu %s since the last report, latest %s (%lu in all)",
                 a->conf->component.jid, n, tally_what[k], bare,
                 a->tallies[k].total);
}

void adhoc_tally_flush(struct adhoc *a)
{
    unsigned long n;

    for (int k = 0; k < NTALLIES; k++) {
        if (!a->tallies[k].pending ||
            !limiter_tally_due(&a->tallies[k], a->now(), TALLY_INTERVAL_S, &n))
            continue;
        log_warn("adhoc", "%s: %lu %s since the last report (%lu in all)",
                 a->conf->component.jid, n, tally_what[k], a->tallies[k].total);
    }
}

/* ---- sessions ---------------------------------------------------------- */

static void session_free(struct session *s)
{
    free(s->owner);
    free(s->bare);
    free(s);
}

/* Takes s out of the counts (the caller unlinks and frees it). */
static void session_uncount(struct adhoc *a, const struct session *s)
{
    a->nsessions--;
    if (!s->admin)
        a->nusers--;
    stats_set_sessions(reg_stats(a->reg), a->nsessions);
}

void adhoc_session_end(struct adhoc *a, struct session *s)
{
    for (struct session **l = &a->sessions; *l; l = &(*l)->next) {
        if (*l == s) {
            *l = s->next;
            session_uncount(a, s);
            session_free(s);
            return;
        }
    }
}

void adhoc_sessions_sweep(struct adhoc *a)
{
    double now = a->now();
    struct session **l = &a->sessions;

    while (*l) {
        struct session *s = *l;
        if (!s->busy && s->expires <= now) {
            *l = s->next;
            session_uncount(a, s);
            log_debug("adhoc", "session %s of %s expired", s->id, s->owner);
            session_free(s);
        } else {
            l = &s->next;
        }
    }
}

struct session *adhoc_session_find(struct adhoc *a, const char *id)
{
    for (struct session *s = a->sessions; s; s = s->next)
        if (strcmp(s->id, id) == 0)
            return s;
    return NULL;
}

static int by_bare(const void *x, const void *y)
{
    const struct session *const *p = x, *const *q = y;

    return strcmp((*p)->bare, (*q)->bare);
}

/* The session a JID holding mine sessions may take the place of, when the
 * non-admins' total is reached (adhoc.h: max-min fairness): the least
 * recently used idle one among the JIDs that hold the most, if they hold
 * more than mine; NULL when there is none. */
static struct session *room_for(struct adhoc *a, unsigned mine)
{
    struct session *v[ADHOC_SESSIONS_MAX], *best = NULL;
    size_t n = 0, i, j;
    unsigned most = 0;

    for (struct session *s = a->sessions; s && n < ADHOC_SESSIONS_MAX;
         s = s->next)
        if (!s->admin)
            v[n++] = s;
    qsort(v, n, sizeof(v[0]), by_bare);
    for (i = 0; i < n; i = j) {
        struct session *lru = NULL;
        unsigned held;

        for (j = i; j < n && strcmp(v[j]->bare, v[i]->bare) == 0; j++)
            if (!v[j]->busy && (!lru || v[j]->expires < lru->expires))
                lru = v[j]; /* expires: last use + the ttl, alike */
        held = (unsigned)(j - i);
        if (!lru || held <= mine)
            continue;
        if (held > most || (held == most && lru->expires < best->expires)) {
            most = held;
            best = lru;
        }
    }
    return best;
}

/* adhoc_session.h; the place a non-admin's may take: room_for. */
struct session *adhoc_session_new(struct adhoc *a, const struct cmd *cmd,
                                  const char *owner, const char *bare,
                                  bool admin, const char **why)
{
    unsigned mine = 0, rnd[2] = {0, 0};
    struct session *s;

    for (s = a->sessions; s; s = s->next)
        mine += strcmp(s->bare, bare) == 0;
    if (mine >= ADHOC_SESSIONS_PER_JID) {
        stats_refused(reg_stats(a->reg), STATS_REFUSED_COMMAND_SESSIONS);
        *why = "You have too many command sessions open: complete or "
               "cancel one.";
        return NULL;
    }
    if (!admin && a->nusers >= ADHOC_SESSIONS_MAX) {
        struct session *victim = room_for(a, mine);

        if (!victim) {
            adhoc_tally(a, TALLY_FULL, bare);
            *why = "Too many command sessions are open on this service; "
                   "try again later.";
            return NULL;
        }
        log_debug("adhoc", "session %s of %s ended to make room for %s",
                  victim->id, victim->owner, owner);
        adhoc_tally(a, TALLY_EVICTED, victim->bare);
        adhoc_session_end(a, victim);
    }
    *why = NULL;
    if (!(s = calloc(1, sizeof(*s))) || !(s->owner = strdup(owner)) ||
        !(s->bare = strdup(bare))) {
        if (s)
            session_free(s);
        return NULL;
    }
    /* unique (the counter) and not guessable (the random part); a
     * session is bound to its owner's full JID anyway */
    if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
        rnd[0] = rnd[1] = 0;
    snprintf(s->id, sizeof(s->id), "%lx-%08x%08x", ++a->counter, rnd[0],
             rnd[1]);
    s->cmd = cmd;
    s->admin = admin;
    /* a registration takes a minute or two; an admin may take longer */
    s->ttl =
        cmd->kind == KIND_REGISTER ? ADHOC_REGISTER_TTL_S : ADHOC_SESSION_TTL_S;
    s->expires = a->now() + s->ttl;
    s->next = a->sessions;
    a->sessions = s;
    a->nsessions++;
    if (!admin)
        a->nusers++;
    stats_set_sessions(reg_stats(a->reg), a->nsessions);
    return s;
}

void adhoc_sessions_free(struct adhoc *a)
{
    while (a->sessions) {
        struct session *next = a->sessions->next;
        session_free(a->sessions);
        a->sessions = next;
    }
}

/* ---- one command request in progress ----------------------------------- */

void adhoc_run_free(struct run *run)
{
    form_data_clear(&run->list);
    for (size_t i = 0; i < run->n; i++)
        free(run->jids[i]);
    free(run->jids);
    free(run->out);
    free(run->bare);
    free(run->service);
    free(run->reason);
    free(run);
}

void adhoc_run_attach(struct run *run, struct session *s)
{
    s->busy = true;
    s->run = run;
    run->s = s;
    snprintf(run->sid, sizeof(run->sid), "%s", s->id);
}

void adhoc_run_release(struct run *run, bool end)
{
    struct session *s = run->s;

    if (!s)
        return;
    s->run = NULL;
    if (end) {
        adhoc_session_end(run->adhoc, s);
    } else {
        s->busy = false;
        s->expires = run->adhoc->now() + s->ttl;
    }
    run->s = NULL;
}

void adhoc_req_end(struct iq_req *req)
{
    xml_wipe_texts(iq_req_payload(req));
    iq_req_done(req);
}

void adhoc_run_done(struct run *run)
{
    adhoc_run_release(run, true);
    adhoc_req_end(run->req);
    adhoc_run_free(run);
}

/* ---- answers ----------------------------------------------------------- */

xmpp_stanza_t *adhoc_command_elem(struct run *run, const char *sessionid,
                                  const char *status)
{
    xmpp_stanza_t *c = xml_elem(iq_req_ctx(run->req), "command", ADHOC_NS);

    if (!c)
        return NULL;
    xmpp_stanza_set_attribute(c, "node", run->cmd->node);
    if (sessionid)
        xmpp_stanza_set_attribute(c, "sessionid", sessionid);
    xmpp_stanza_set_attribute(c, "status", status);
    return c;
}

void adhoc_add_note(xmpp_stanza_t *c, const char *type, const char *text)
{
    xmpp_ctx_t *ctx = xmpp_stanza_get_context(c);
    xmpp_stanza_t *n = xml_elem(ctx, "note", NULL);
    xmpp_stanza_t *t = xmpp_stanza_new(ctx);

    if (n && t && xmpp_stanza_set_text(t, text) == XMPP_EOK) {
        xmpp_stanza_set_attribute(n, "type", type);
        xmpp_stanza_add_child(n, t);
        xmpp_stanza_add_child(c, n);
    }
    if (t)
        xmpp_stanza_release(t);
    if (n)
        xmpp_stanza_release(n);
}

void adhoc_add_actions_complete(xmpp_stanza_t *c)
{
    xmpp_ctx_t *ctx = xmpp_stanza_get_context(c);
    xmpp_stanza_t *act = xml_elem(ctx, "actions", NULL);

    if (!act)
        return;
    xmpp_stanza_set_attribute(act, "execute", "complete");
    xml_add(act, xml_elem(ctx, "complete", NULL));
    xml_add(c, act);
}

void adhoc_reply_command(struct run *run, xmpp_stanza_t *c)
{
    if (!c) {
        iq_req_error(run->req, IQ_INTERNAL_SERVER_ERROR, NULL, NULL);
        return;
    }
    iq_req_result(run->req, c);
    xmpp_stanza_release(c);
}

void adhoc_fail_cmd(struct run *run, enum iq_error e, const char *type,
                    const char *specific, const char *text)
{
    iq_req_error_app(run->req, e, type, text, NULL, specific ? ADHOC_NS : NULL,
                     specific);
}

void adhoc_fail_unavailable(struct run *run)
{
    iq_req_error(run->req, IQ_INTERNAL_SERVER_ERROR,
                 "The registration database is unavailable; please try "
                 "again later.",
                 NULL);
}

xmpp_stanza_t *adhoc_child_ns(xmpp_stanza_t *el, const char *name,
                              const char *ns)
{
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(el); c;
         c = xmpp_stanza_get_next(c)) {
        const char *n = xmpp_stanza_is_tag(c) ? xmpp_stanza_get_name(c) : NULL;
        const char *s = xmpp_stanza_get_ns(c);
        if (n && !strcmp(n, name) && (!ns || (s && !strcmp(s, ns))))
            return c;
    }
    return NULL;
}
