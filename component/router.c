/*
 * router.c - routes stanzas addressed to the component.
 *
 * Every iq get/set gets exactly one reply (through iq_req); iq result and
 * error are never answered; messages and presence are ignored; a stanza
 * for another domain is dropped (router.h).  Knows the namespaces, not the
 * registration logic (reg.c), the ad-hoc commands (adhoc.c) nor the
 * connection (component.c).
 */
#include "router.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "adhoc.h"
#include "jid.h"
#include "limiter.h"
#include "log.h"
#include "version.h"
#include "xml.h"

/* Stanzas for another domain: one log line per interval at most. */
#define MISADDRESSED_LOG_S 1.0

struct router {
    const struct conf *conf;
    struct reg *reg;
    struct adhoc *adhoc;
    char *domain; /* the service JID, nameprep'd (NULL: as configured) */
    struct limiter_tally misaddressed;
};

static double monotonic_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The service's domain for comparisons: its JID prepared by nameprep
 * (NULL when it cannot be: then compared as configured). */
static void set_domain(struct router *r)
{
    char *d = NULL;

    free(r->domain);
    r->domain =
        jid_normal_domain(r->conf->component.jid, &d) == JID_OK ? d : NULL;
}

struct router *router_new(const struct conf *conf, struct reg *reg)
{
    struct router *r = calloc(1, sizeof(*r));
    const struct adhoc_env env = {.now = monotonic_now};

    if (!r)
        return NULL;
    r->conf = conf;
    r->reg = reg;
    if (!(r->adhoc = adhoc_new(conf, reg, reg_store(reg), &env))) {
        free(r);
        return NULL;
    }
    set_domain(r);
    return r;
}

void router_set(struct router *r, const struct conf *conf, struct reg *reg)
{
    r->conf = conf;
    r->reg = reg;
    adhoc_set(r->adhoc, conf, reg);
    set_domain(r);
}

void router_free(struct router *r)
{
    if (!r)
        return;
    adhoc_free(r->adhoc);
    free(r->domain);
    free(r);
}

unsigned long router_misaddressed(const struct router *r)
{
    return r->misaddressed.total;
}

/* ---- addressing (router.h) ---------------------------------------------- */

enum addressee {
    TO_SERVICE, /* the service JID, a resource of it, or no 'to' */
    TO_NODE,    /* node@service: no such entity */
    TO_OTHER,   /* another domain: never answered */
};

static bool ascii(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80)
            return false;
    return true;
}

/* True when the domain d[0..len) is the service's. */
static bool domain_is_ours(const struct router *r, const char *d, size_t len)
{
    const char *jid = r->conf->component.jid;
    size_t jlen = strlen(jid);
    char *copy, *prepped = NULL;
    bool ours;

    if (len == jlen + 1 && d[len - 1] == '.')
        len--; /* a trailing dot is not part of the name */
    if (len == jlen && strncasecmp(d, jid, len) == 0)
        return true;
    if (!r->domain || (ascii(d, len) && ascii(jid, jlen)))
        return false; /* ASCII: nameprep only lower-cases */
    if (!(copy = strndup(d, len)))
        return false;
    ours = jid_normal_domain(copy, &prepped) == JID_OK &&
           strcmp(prepped, r->domain) == 0;
    free(prepped);
    free(copy);
    return ours;
}

static enum addressee addressee(const struct router *r, const char *to)
{
    const char *slash, *at, *domain;
    size_t barelen;

    if (!to)
        return TO_SERVICE;
    slash = strchr(to, '/');
    barelen = slash ? (size_t)(slash - to) : strlen(to);
    at = memchr(to, '@', barelen);
    domain = at ? at + 1 : to;
    if (!domain_is_ours(r, domain, barelen - (size_t)(domain - to)))
        return TO_OTHER;
    return at ? TO_NODE : TO_SERVICE;
}

/* A stanza for another domain: dropped, counted, logged once a second. */
static void misaddressed(struct router *r, xmpp_stanza_t *stanza)
{
    const char *from = xmpp_stanza_get_from(stanza);
    const char *name = xmpp_stanza_get_name(stanza);
    unsigned long n;

    if (!limiter_tally_add(&r->misaddressed, monotonic_now(),
                           MISADDRESSED_LOG_S, &n))
        return;
    log_warn("router",
             "%s: %lu stanza(s) for another domain dropped since the last "
             "report (the server delivered them on this service's stream), "
             "latest %s to %s from %s (%lu in all)",
             r->conf->component.jid, n, name ? name : "(unnamed)",
             xmpp_stanza_get_to(stanza), from ? from : "(no sender)",
             r->misaddressed.total);
}

/* Writes the count of misaddressed stanzas held back, once it is due. */
static void misaddressed_flush(struct router *r)
{
    unsigned long n;

    if (!r->misaddressed.pending ||
        !limiter_tally_due(&r->misaddressed, monotonic_now(),
                           MISADDRESSED_LOG_S, &n))
        return;
    log_warn("router",
             "%s: %lu stanza(s) for another domain dropped since the last "
             "report (%lu in all)",
             r->conf->component.jid, n, r->misaddressed.total);
}

static bool payload_is(xmpp_stanza_t *p, const char *name, const char *ns)
{
    const char *n = xmpp_stanza_get_name(p);
    const char *s = xmpp_stanza_get_ns(p);

    return n && s && strcmp(n, name) == 0 && strcmp(s, ns) == 0;
}

static void disco_info(struct router *r, struct iq_req *req,
                       xmpp_stanza_t *query)
{
    static const char *const features[] = {
        ROUTER_NS_DISCO_INFO, ADHOC_NS,          REG_NS,
        ROUTER_NS_PING,       ROUTER_NS_VERSION,
    };
    xmpp_ctx_t *ctx = iq_req_ctx(req);
    const char *node = xmpp_stanza_get_attribute(query, "node");
    xmpp_stanza_t *q, *id;

    if (node) {
        /* the command list and the commands (XEP-0050); nothing else */
        if (!adhoc_disco_info(r->adhoc, req, node))
            iq_req_error(req, IQ_ITEM_NOT_FOUND, NULL, NULL);
        return;
    }
    q = xml_elem(ctx, "query", ROUTER_NS_DISCO_INFO);
    id = xml_elem(ctx, "identity", NULL);
    xmpp_stanza_set_attribute(id, "category", r->conf->disco.category);
    xmpp_stanza_set_attribute(id, "type", r->conf->disco.type);
    xmpp_stanza_set_attribute(id, "name", r->conf->disco.name);
    xmpp_stanza_add_child(q, id);
    xmpp_stanza_release(id);
    for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
        xmpp_stanza_t *f = xml_elem(ctx, "feature", NULL);
        xmpp_stanza_set_attribute(f, "var", features[i]);
        xmpp_stanza_add_child(q, f);
        xmpp_stanza_release(f);
    }
    if (reg_bob_on(r->reg)) { /* XEP-0231: challenge images (reg.h) */
        xmpp_stanza_t *f = xml_elem(ctx, "feature", NULL);
        if (f)
            xmpp_stanza_set_attribute(f, "var", "urn:xmpp:bob");
        xml_add(q, f);
    }
    if (reg_invites_on(r->reg)) { /* XEP-0445's <preauth/> (reg.h) */
        xmpp_stanza_t *f = xml_elem(ctx, "feature", NULL);
        if (f)
            xmpp_stanza_set_attribute(f, "var", REG_NS_PARS);
        xml_add(q, f);
    }
    iq_req_result(req, q);
    xmpp_stanza_release(q);
}

static void disco_items(struct router *r, struct iq_req *req,
                        xmpp_stanza_t *query)
{
    const char *node = xmpp_stanza_get_attribute(query, "node");
    xmpp_stanza_t *q;

    if (node) {
        if (!adhoc_disco_items(r->adhoc, req, node))
            iq_req_error(req, IQ_ITEM_NOT_FOUND, NULL, NULL);
        return;
    }
    q = xml_elem(iq_req_ctx(req), "query", ROUTER_NS_DISCO_ITEMS);
    iq_req_result(req, q);
    xmpp_stanza_release(q);
}

static void version(struct iq_req *req)
{
    xmpp_stanza_t *q = xml_elem(iq_req_ctx(req), "query", ROUTER_NS_VERSION);

    xml_add_text(q, "name", "registrar");
    xml_add_text(q, "version", REGISTRAR_VERSION);
    iq_req_result(req, q);
    xmpp_stanza_release(q);
}

/* Routes a get/set; takes req. */
static void route_iq(struct router *r, struct iq_req *req, bool is_get)
{
    xmpp_stanza_t *p = iq_req_payload(req);

    if (!p) {
        iq_req_error(req, IQ_BAD_REQUEST,
                     "An iq get or set carries exactly one child element.",
                     NULL);
    } else if (payload_is(p, "query", REG_NS)) {
        reg_handle(r->reg, req); /* takes req */
        return;
    } else if (payload_is(p, "preauth", REG_NS_PARS)) {
        reg_preauth(r->reg, req); /* takes req */
        return;
    } else if (is_get && payload_is(p, "data", "urn:xmpp:bob")) {
        reg_bob(r->reg, req); /* takes req: a challenge's image */
        return;
    } else if (payload_is(p, "command", ADHOC_NS)) {
        adhoc_command(r->adhoc, req); /* takes req */
        return;
    } else if (is_get && payload_is(p, "query", ROUTER_NS_DISCO_INFO)) {
        disco_info(r, req, p);
    } else if (is_get && payload_is(p, "query", ROUTER_NS_DISCO_ITEMS)) {
        disco_items(r, req, p);
    } else if (is_get && payload_is(p, "ping", ROUTER_NS_PING)) {
        iq_req_result(req, NULL);
    } else if (is_get && payload_is(p, "query", ROUTER_NS_VERSION)) {
        version(req);
    } else {
        iq_req_error(req, IQ_SERVICE_UNAVAILABLE, NULL, NULL);
    }
    iq_req_done(req);
}

void router_stanza(struct router *r, xmpp_stanza_t *stanza,
                   const struct iq_sink *sink)
{
    const char *name = xmpp_stanza_get_name(stanza);
    const char *type = xmpp_stanza_get_type(stanza);
    const char *from = xmpp_stanza_get_from(stanza);
    enum addressee to = addressee(r, xmpp_stanza_get_to(stanza));
    struct iq_req *req;
    bool is_get;

    if (to == TO_OTHER) {
        misaddressed(r, stanza);
        return;
    }
    misaddressed_flush(r);
    if (!name || strcmp(name, "iq") != 0)
        return; /* message, presence: nothing to answer */
    if (type && (strcmp(type, "result") == 0 || strcmp(type, "error") == 0))
        return; /* never answer an answer */
    req = iq_req_new(stanza, r->conf->component.jid, sink);
    if (!req) {
        log_error("router", "out of memory for iq from %s", from ? from : "");
        return;
    }
    if (!type || (strcmp(type, "get") != 0 && strcmp(type, "set") != 0)) {
        iq_req_error(req, IQ_BAD_REQUEST, "Unknown iq type.", NULL);
        iq_req_done(req);
        return;
    }
    if (to == TO_NODE) {
        /* RFC 6120 section 8.5.2: no entity at that address */
        iq_req_error(req, IQ_SERVICE_UNAVAILABLE, NULL, NULL);
        iq_req_done(req);
        return;
    }
    is_get = strcmp(type, "get") == 0;
    log_debug("router", "iq %s id=%s from %s", type,
              xmpp_stanza_get_id(stanza) ? xmpp_stanza_get_id(stanza) : "",
              from ? from : "");
    route_iq(r, req, is_get);
}
