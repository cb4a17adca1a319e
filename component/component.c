/*
 * component.c - the libstrophe context, the XEP-0114 connections and the
 * event loop.
 *
 * The only file that drives libstrophe's connection lifecycle.  One
 * context holds one connection per service; one poll() loop serves every
 * connection's socket and the workers' wake-up fds.  Each connection
 * connects, survives a lost server by reconnecting with capped, jittered
 * back-off on its own, and sends what its router answers, always from its
 * own JID (the router's replies carry it).  The process stops for good
 * only when the server refuses a secret.  No protocol decisions here.
 *
 * Everything leaves through one check (component_outgoing): a stanza
 * that would not be well-formed XML makes the server close the stream,
 * and every answer in flight with it, so a bug upstream costs its own
 * request an internal-server-error, never the connection.
 */
#include "component.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "limiter.h"
#include "log.h"
#include "notify.h"
#include "stats.h"
#include "text.h"
#include "xml.h"

/* How long the event loop may sleep, in ms: bounds how late a stop or a
 * reconnect is noticed. */
#define LOOP_TICK_MS 200
/* How long a clean close may take before we give up on the server. */
#define CLOSE_TIMEOUT_MS 2000
/* How long a stop waits for the work in hand to be answered. */
#define DRAIN_TIMEOUT_MS 5000
/* Replies dropped while not attached: one line per connection and
 * interval at most (seconds). */
#define DROPPED_LOG_S 1.0

enum state { DISCONNECTED, CONNECTING, ONLINE, CLOSING };

/* One service's connection. */
struct conn {
    struct component *owner;
    const struct conf *conf; /* its service (borrowed) */
    struct router *router;   /* borrowed */
    xmpp_conn_t *conn;
    struct iq_sink sink;
    /* replies dropped while not attached: counted, logged once a second */
    struct limiter_tally dropped;
    int fd; /* the connection's socket, -1 when none */
    enum state state;
    bool refused;        /* the server refused our secret: stop */
    char status[200];    /* its part of STATUS= */
    uint64_t last_heard; /* monotonic ms of the last stanza received */
    uint64_t ping_sent;  /* when our keepalive ping left, 0: none out */
    unsigned ping_seq;
    char ping_token[33]; /* random per connection: see new_ping_token() */
    char ping_id[64];
    bool dropping;               /* we closed a silent connection ourselves */
    bool used;                   /* k->conn has made an attempt already */
    uint64_t attempt_started;    /* monotonic ms of the last connect */
    unsigned failures;           /* consecutive failed attempts */
    uint64_t next_attempt;       /* monotonic ms */
    struct stats_service *stats; /* its counters, or NULL */
    /* what this turn of the loop answered, serialised, sent as one write
     * at the turn's end (flush_out): a reply per send() cost the server
     * a read, and this process a system call, per stanza */
    char *out;
    size_t out_len, out_cap;
};

struct component {
    xmpp_ctx_t *ctx;
    xmpp_log_t logger;
    struct conn *conns;
    size_t nconns;
    struct component_wakeup wakeups[COMPONENT_MAX_WAKEUPS];
    size_t nwakeups;
    struct pollfd *pfds; /* room for every wake-up fd and socket */
    bool ready_sent;     /* systemd was told READY=1 */
    char note[200];      /* after the connections' part of STATUS= */
};

/* The JID a connection serves: every line about one connection names it. */
#define JID(k) ((k)->conf->component.jid)

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* libstrophe's own messages, in our format.  Its debug level prints raw
 * XML, passwords included, so it is never passed on. */
static void on_strophe_log(void *arg, xmpp_log_level_t level, const char *area,
                           const char *msg)
{
    (void)arg;
    switch (level) {
    case XMPP_LEVEL_ERROR:
        log_error("libstrophe", "%s: %s", area, msg);
        break;
    case XMPP_LEVEL_WARN:
        log_warn("libstrophe", "%s: %s", area, msg);
        break;
    case XMPP_LEVEL_INFO:
        log_debug("libstrophe", "%s: %s", area, msg);
        break;
    default:
        break;
    }
}

/* A minimal <iq type='error'/> of internal-server-error with the id, to
 * and from of iq; NULL when one of them is itself unfit to send (or out
 * of memory).  Caller owns the result. */
static xmpp_stanza_t *internal_error(xmpp_stanza_t *iq)
{
    xmpp_ctx_t *ctx = xmpp_stanza_get_context(iq);
    const char *id = xmpp_stanza_get_id(iq);
    const char *to = xmpp_stanza_get_to(iq);
    const char *from = xmpp_stanza_get_from(iq);
    xmpp_stanza_t *r, *err;

    if ((id && !text_xml_chars_ok(id)) || (to && !text_xml_chars_ok(to)) ||
        (from && !text_xml_chars_ok(from)))
        return NULL;
    if (!(r = xml_elem(ctx, "iq", NULL)))
        return NULL;
    if (!(err = xml_elem(ctx, "error", NULL))) {
        xmpp_stanza_release(r);
        return NULL;
    }
    xmpp_stanza_set_type(r, "error");
    if (id)
        xmpp_stanza_set_id(r, id);
    if (to)
        xmpp_stanza_set_to(r, to);
    if (from)
        xmpp_stanza_set_from(r, from);
    xmpp_stanza_set_type(err, "wait");
    xmpp_stanza_set_attribute(err, "code", "500");
    xml_add(err, xml_elem(ctx, "internal-server-error", IQ_NS_STANZAS));
    xml_add(r, err);
    return r;
}

xmpp_stanza_t *component_outgoing(const char *jid, xmpp_stanza_t *stanza)
{
    const char *why = xml_check(stanza);
    const char *name = xmpp_stanza_get_name(stanza);
    const char *type = xmpp_stanza_get_type(stanza);
    char qname[TEXT_EXCERPT_SIZE(16)], qtype[TEXT_EXCERPT_SIZE(16)];
    char qid[TEXT_EXCERPT_SIZE(TEXT_EXCERPT_CHARS)];
    char qto[TEXT_EXCERPT_SIZE(TEXT_EXCERPT_CHARS * 2)];
    xmpp_stanza_t *instead = NULL;

    if (!why)
        return xmpp_stanza_clone(stanza); /* a new reference */
    /* an answer to a get or set: the request still gets its one reply */
    if (name && !strcmp(name, "iq") && type &&
        (!strcmp(type, "result") || !strcmp(type, "error")) &&
        (instead = internal_error(stanza)) && xml_check(instead)) {
        xmpp_stanza_release(instead);
        instead = NULL;
    }
    /* never the content: the kind of part at fault, and quoted (the id or
     * to may be the part at fault) */
    log_error("component",
              "BUG: %s: <%s type='%s'> id=%s to %s is not well-formed XML "
              "(%s): %s",
              jid, text_excerpt(qname, sizeof(qname), name, 16),
              text_excerpt(qtype, sizeof(qtype), type, 16),
              text_excerpt(qid, sizeof(qid), xmpp_stanza_get_id(stanza),
                           TEXT_EXCERPT_CHARS),
              text_excerpt(qto, sizeof(qto), xmpp_stanza_get_to(stanza),
                           TEXT_EXCERPT_CHARS * 2),
              why,
              instead ? "answered internal-server-error instead" : "not sent");
    return instead;
}

/* Past this, what is held is sent at once. */
#define OUT_FLUSH_BYTES 65536

/* Hands what k holds to libstrophe as one write (its queue, written by
 * xmpp_run_once). */
static void flush_out(struct conn *k)
{
    if (k->out_len == 0)
        return;
    if (k->state == ONLINE || k->state == CLOSING)
        xmpp_send_raw(k->conn, k->out, k->out_len);
    k->out_len = 0;
}

/* Sends stanza (borrowed) as component_outgoing() lets it: serialised
 * into k->out, in order, sent at the end of the loop's turn. */
static void send_checked(struct conn *k, xmpp_stanza_t *stanza)
{
    xmpp_stanza_t *out = component_outgoing(JID(k), stanza);
    char *text = NULL;
    size_t len = 0;

    if (!out)
        return;
    if (xmpp_stanza_to_text(out, &text, &len) != XMPP_EOK || !text) {
        xmpp_send(k->conn, out); /* out of memory: as it comes */
        xmpp_stanza_release(out);
        return;
    }
    xmpp_stanza_release(out);
    /* and a NUL after: libstrophe reads the data as a string too (its
     * debug line of what it sends) */
    if (k->out_len + len + 1 > k->out_cap) {
        size_t cap = k->out_cap ? k->out_cap : 4096;
        char *grown;

        while (cap < k->out_len + len + 1)
            cap *= 2;
        if (!(grown = realloc(k->out, cap))) {
            flush_out(k); /* what is held first, then this one alone */
            xmpp_send_raw(k->conn, text, len);
            xmpp_free(k->owner->ctx, text);
            return;
        }
        k->out = grown;
        k->out_cap = cap;
    }
    memcpy(k->out + k->out_len, text, len);
    k->out_len += len;
    k->out[k->out_len] = '\0';
    xmpp_free(k->owner->ctx, text);
    if (k->out_len >= OUT_FLUSH_BYTES)
        flush_out(k);
}

static void flush_all(struct component *c)
{
    for (size_t i = 0; i < c->nconns; i++)
        flush_out(&c->conns[i]);
}

/* The sink of the router's replies and of what requests cause.  While
 * not attached, what the requests in hand answer is dropped: as many as
 * there are requests in flight (the caps of limits), so counted and
 * logged once a second, the first of a quiet spell at once. */
static void send_stanza(void *arg, xmpp_stanza_t *stanza)
{
    struct conn *k = arg;
    const char *id = xmpp_stanza_get_id(stanza);
    const char *to = xmpp_stanza_get_to(stanza);
    unsigned long n;

    if (k->state == ONLINE) {
        send_checked(k, stanza);
        return;
    }
    if (!limiter_tally_add(&k->dropped, (double)now_ms() / 1000.0,
                           DROPPED_LOG_S, &n))
        log_debug("component", "%s: not attached: reply id=%s to %s dropped",
                  JID(k), id ? id : "", to ? to : "");
    else if (n == 1)
        log_warn("component", "%s: not attached: reply id=%s to %s dropped",
                 JID(k), id ? id : "", to ? to : "");
    else
        log_warn("component",
                 "%s: not attached: %lu replies dropped since the last "
                 "report, latest id=%s to %s (%lu in all)",
                 JID(k), n, id ? id : "", to ? to : "", k->dropped.total);
}

/* Writes the count of dropped replies held back, once it is due. */
static void dropped_flush(struct conn *k)
{
    unsigned long n;

    if (k->dropped.pending &&
        limiter_tally_due(&k->dropped, (double)now_ms() / 1000.0, DROPPED_LOG_S,
                          &n))
        log_warn("component",
                 "%s: not attached: %lu replies dropped since the last "
                 "report (%lu in all)",
                 JID(k), n, k->dropped.total);
}

xmpp_ctx_t *component_ctx(struct component *c)
{
    return c->ctx;
}

const struct iq_sink *component_sink(struct component *c, size_t i)
{
    return i < c->nconns ? &c->conns[i].sink : NULL;
}

static int on_stanza(xmpp_conn_t *conn, xmpp_stanza_t *stanza, void *arg)
{
    struct conn *k = arg;
    const char *id = xmpp_stanza_get_id(stanza);

    (void)conn;
    k->last_heard = now_ms();
    if (component_is_ping_reply(k->ping_sent ? k->ping_id : NULL,
                                xmpp_stanza_get_name(stanza),
                                xmpp_stanza_get_type(stanza), id)) {
        k->ping_sent = 0; /* the server answered our keepalive */
        return 1;
    }
    router_stanza(k->router, stanza, &k->sink);
    return 1; /* keep the handler */
}

bool component_is_ping_reply(const char *ping_id, const char *name,
                             const char *type, const char *id)
{
    return ping_id && name && strcmp(name, "iq") == 0 && type &&
           (strcmp(type, "result") == 0 || strcmp(type, "error") == 0) && id &&
           strcmp(id, ping_id) == 0;
}

bool component_ping_token(char *out, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char r[16];
    size_t i;

    ssize_t got;

    if (size < 2 * sizeof(r) + 1)
        return false;
    do
        got = getrandom(r, sizeof(r), 0);
    while (got < 0 && errno == EINTR);
    if (got != (ssize_t)sizeof(r))
        return false;
    for (i = 0; i < sizeof(r); i++) {
        out[2 * i] = hex[r[i] >> 4];
        out[2 * i + 1] = hex[r[i] & 15];
    }
    out[2 * i] = '\0';
    return true;
}

/* Appends to buf (size bytes, *len of them used) as text_format() does:
 * once something is cut (between two characters), *len is size and
 * nothing more goes in. */
static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
    va_list ap;
    bool whole;

    if (*len >= size)
        return;
    va_start(ap, fmt);
    whole = text_vformat(buf + *len, size - *len, fmt, ap);
    va_end(ap);
    *len = whole ? *len + strlen(buf + *len) : size;
}

/* STATUS= for systemd, from every connection's part.  With one service,
 * its own words ("attached to ...", "not attached: reconnecting to ...",
 * "refused by ..."); with several, which are not attached and why, then
 * which are. */
static void update_status(const struct component *c)
{
    char buf[1024];
    size_t len = 0, down = 0;
    const char *sep = c->note[0] ? "; " : "";

    if (c->nconns == 1) {
        notify_status("%s%s%s", c->conns[0].status, sep, c->note);
        return;
    }
    for (size_t i = 0; i < c->nconns; i++)
        down += c->conns[i].state != ONLINE;
    buf[0] = '\0';
    if (down) {
        append(buf, sizeof(buf), &len, "not attached (%zu of %zu):", down,
               c->nconns);
        for (size_t i = 0; i < c->nconns; i++)
            if (c->conns[i].state != ONLINE)
                append(buf, sizeof(buf), &len, " %s (%s);", JID(&c->conns[i]),
                       c->conns[i].status);
    }
    append(buf, sizeof(buf), &len, "%sattached:", down ? " " : "");
    for (size_t i = 0; i < c->nconns; i++)
        if (c->conns[i].state == ONLINE)
            append(buf, sizeof(buf), &len, " %s", JID(&c->conns[i]));
    notify_status("%s%s%s", buf, sep, c->note);
}

void component_status_note(struct component *c, const char *note)
{
    text_format(c->note, sizeof(c->note), "%s", note ? note : "");
    update_status(c);
}

void component_set_stats(struct component *c, struct stats *stats)
{
    for (size_t i = 0; i < c->nconns; i++)
        c->conns[i].stats = stats_service(stats, JID(&c->conns[i]));
}

/* Delay before the next attempt: doubles per failure up to the cap, then
 * "equal jitter" (half fixed, half random) so that many components
 * restarted together do not reconnect in lockstep. */
static unsigned backoff_ms(const struct conn *k)
{
    unsigned lo = k->conf->component.reconnect_min_ms;
    unsigned hi = k->conf->component.reconnect_max_ms;
    unsigned d = lo;

    for (unsigned i = 1; i < k->failures && d < hi; i++)
        d = d > hi / 2 ? hi : d * 2;
    if (d > hi)
        d = hi;
    return d / 2 + (unsigned)(random() % (d / 2 + 1));
}

static void schedule_retry(struct conn *k)
{
    unsigned delay;

    k->failures++;
    delay = backoff_ms(k);
    k->next_attempt = now_ms() + delay;
    log_info("component", "%s: reconnecting to %s:%u in %u ms (attempt %u)",
             JID(k), k->conf->component.server, k->conf->component.port, delay,
             k->failures + 1);
    text_format(k->status, sizeof(k->status),
                "%sreconnecting to %s:%u in %u ms (attempt %u)",
                k->owner->nconns == 1 ? "not attached: " : "",
                k->conf->component.server, k->conf->component.port, delay,
                k->failures + 1);
    update_status(k->owner);
}

static bool all_online(const struct component *c)
{
    for (size_t i = 0; i < c->nconns; i++)
        if (c->conns[i].state != ONLINE)
            return false;
    return true;
}

static void on_conn_event(xmpp_conn_t *conn, xmpp_conn_event_t event, int error,
                          xmpp_stream_error_t *stream_error, void *arg)
{
    struct conn *k = arg;
    const struct conf_component *cc = &k->conf->component;
    enum state was = k->state;

    (void)conn;
    if (event == XMPP_CONN_CONNECT) {
        k->state = ONLINE;
        k->failures = 0;
        k->last_heard = now_ms();
        k->ping_sent = 0;
        k->ping_seq = 0;
        if (!component_ping_token(k->ping_token, sizeof(k->ping_token)))
            /* getrandom(2) does not fail once urandom is seeded; should it,
             * the type check still keeps every get and set out */
            snprintf(k->ping_token, sizeof(k->ping_token), "%08lx%08lx",
                     random(), random());
        log_info("component", "attached to %s:%u as %s", cc->server, cc->port,
                 cc->jid);
        stats_xmpp_attached(k->stats);
        text_format(k->status, sizeof(k->status), "attached to %s:%u as %s",
                    cc->server, cc->port, cc->jid);
        update_status(k->owner);
        /* READY=1 once every service is attached (the first time) */
        if (!k->owner->ready_sent && all_online(k->owner)) {
            notify_send("READY=1");
            k->owner->ready_sent = true;
        }
        return;
    }
    if (event != XMPP_CONN_DISCONNECT && event != XMPP_CONN_FAIL)
        return;
    k->state = DISCONNECTED;
    k->fd = -1;
    k->out_len = 0; /* for a stream that is gone */
    stats_xmpp_detached(k->stats);
    bool dropping = k->dropping;
    k->dropping = false;
    if (was == CLOSING) {
        log_info("component", "%s: stream closed", cc->jid);
        return;
    }
    if (stream_error && stream_error->type == XMPP_SE_NOT_AUTHORIZED) {
        log_error("component",
                  "%s:%u refused the handshake for %s: the secret does not "
                  "match the server's component secret",
                  cc->server, cc->port, cc->jid);
        k->refused = true;
        text_format(k->status, sizeof(k->status),
                    "refused by %s:%u: wrong component secret", cc->server,
                    cc->port);
        update_status(k->owner);
        return;
    }
    if (stream_error && stream_error->type == XMPP_SE_CONFLICT)
        log_warn("component", "%s:%u says another component is attached as %s",
                 cc->server, cc->port, cc->jid);
    else if (stream_error)
        log_warn("component", "%s: stream error from %s:%u: %s", cc->jid,
                 cc->server, cc->port,
                 stream_error->text ? stream_error->text : "(no text)");
    else if (dropping)
        log_info("component", "%s: dropped the silent connection to %s:%u",
                 cc->jid, cc->server, cc->port);
    else if (was == ONLINE)
        log_warn("component", "%s: lost the connection to %s:%u (%s)", cc->jid,
                 cc->server, cc->port,
                 error ? strerror(error) : "closed by the server");
    else
        log_warn("component", "%s: cannot attach to %s:%u (%s)", cc->jid,
                 cc->server, cc->port,
                 error ? strerror(error) : "closed before the handshake");
    schedule_retry(k);
}

/* The socket libstrophe opened during the last xmpp_connect_component():
 * the sockopt callback is the only place 0.12 shows it, and it carries no
 * user pointer.  Connections are attempted one at a time. */
static int last_socket = -1;

/* TCP keepalive on every socket, so that a dead peer is noticed. */
static int on_sockopt(xmpp_conn_t *conn, void *sockp)
{
    int fd = *(int *)sockp;
    int on = 1, idle = 30, intvl = 10, cnt = 3;

    (void)conn;
    last_socket = fd; /* attempt() hands it to the loop */
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
    return 0;
}

static int refuse_socket(xmpp_conn_t *conn, void *sockp)
{
    (void)conn;
    (void)sockp;
    return -1;
}

/*
 * libstrophe 0.12.2 (Debian 12) never allocates the stream-management
 * state in xmpp_connect_component(), and dereferences it on the first
 * stanza sent and on every disconnect.  xmpp_connect_client() does
 * allocate it, and keeps it for the life of the connection object: so make
 * one client connect that fails before any socket is opened (the sockopt
 * callback refuses it), then connect as a component.  Done once for each
 * connection object.  Harmless on versions that have the bug fixed.
 */
static bool allocate_sm_state(xmpp_conn_t *conn)
{
    int rc;

    xmpp_conn_set_sockopt_callback(conn, refuse_socket);
    rc = xmpp_connect_client(conn, "127.0.0.1", 1, NULL, NULL);
    xmpp_conn_set_sockopt_callback(conn, on_sockopt);
    if (rc == XMPP_EOK) {
        /* Cannot happen with a refused socket; never leave it dangling. */
        xmpp_disconnect(conn);
        return false;
    }
    return true;
}

/* Releases a libstrophe connection object, wiping its copy of the
 * secret first (libstrophe frees it as it is). */
static void conn_release(xmpp_conn_t *conn)
{
    const char *pass;

    if (!conn)
        return;
    pass = xmpp_conn_get_pass(conn);
    if (pass)
        explicit_bzero((char *)pass, strlen(pass));
    xmpp_conn_release(conn);
}

/* A new libstrophe connection object for service k, ready to connect.
 *
 * A new one for every attempt, never one reused after a disconnect:
 * libstrophe 0.12 (up to its current source) resets the XML parser of a
 * reused object without clearing the length of the text it was reading,
 * so when a stream drops inside a text node the first text of the next
 * stream is read behind garbage (seen: a FORM_TYPE refused after a server
 * restart) or, when it is shorter than 3 bytes, written through a NULL
 * pointer.  A fresh object has a fresh parser. */
static xmpp_conn_t *conn_make(struct conn *k)
{
    xmpp_conn_t *conn = xmpp_conn_new(k->owner->ctx);

    if (!conn)
        return NULL;
    xmpp_conn_set_jid(conn, k->conf->component.jid);
    xmpp_conn_set_pass(conn, k->conf->component.secret);
    if (!allocate_sm_state(conn)) {
        log_error("component", "%s: cannot prepare the libstrophe connection",
                  JID(k));
        conn_release(conn);
        return NULL;
    }
    xmpp_handler_add(conn, on_stanza, NULL, NULL, NULL, k);
    return conn;
}

/* The connection of service k, in c's context. */
static bool conn_init(struct component *c, struct conn *k,
                      const struct conf *conf, struct router *router)
{
    k->owner = c;
    k->conf = conf;
    k->router = router;
    k->fd = -1;
    k->sink = (struct iq_sink){.send = send_stanza, .arg = k};
    snprintf(k->status, sizeof(k->status), "connecting");
    k->conn = conn_make(k);
    return k->conn != NULL;
}

struct component *component_new(const struct conf *services,
                                struct router *const *routers,
                                const struct component_wakeup *wakeups,
                                size_t n)
{
    struct component *c = calloc(1, sizeof(*c));
    size_t nconns = 0;
    const struct conf *s;

    for (s = services; s; s = s->next)
        nconns++;
    s = services;
    if (n > COMPONENT_MAX_WAKEUPS) {
        log_error("component",
                  "BUG: %zu wakeups, at most %d: raise "
                  "COMPONENT_MAX_WAKEUPS",
                  n, COMPONENT_MAX_WAKEUPS);
        free(c);
        return NULL;
    }
    if (!c)
        return NULL;
    for (size_t i = 0; i < n; i++)
        c->wakeups[c->nwakeups++] = wakeups[i];
    c->logger = (xmpp_log_t){.handler = on_strophe_log, .userdata = c};
    xmpp_initialize();
    c->ctx = xmpp_ctx_new(NULL, &c->logger);
    if (!c->ctx || nconns == 0 ||
        !(c->conns = calloc(nconns, sizeof(*c->conns))) ||
        !(c->pfds = calloc(COMPONENT_MAX_WAKEUPS + nconns, sizeof(*c->pfds))))
        goto fail;
    for (size_t i = 0; i < nconns; i++, s = s->next) {
        c->nconns++;
        if (!conn_init(c, &c->conns[i], s, routers[i]))
            goto fail;
    }
    srandom((unsigned)(time(NULL) ^ getpid()));
    return c;
fail:
    component_free(c);
    return NULL;
}

void component_free(struct component *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nconns; i++) {
        conn_release(c->conns[i].conn);
        free(c->conns[i].out);
    }
    free(c->conns);
    free(c->pfds);
    if (c->ctx)
        xmpp_ctx_free(c->ctx);
    xmpp_shutdown();
    free(c);
}

static void attempt(struct conn *k)
{
    int rc;

    log_info("component", "connecting to %s:%u as %s",
             k->conf->component.server, k->conf->component.port, JID(k));
    if (k->used) { /* a fresh object, parser and all: see conn_make() */
        xmpp_conn_t *fresh = conn_make(k);
        if (!fresh) {
            k->state = DISCONNECTED;
            schedule_retry(k);
            return;
        }
        conn_release(k->conn);
        k->conn = fresh;
    }
    k->used = true;
    k->state = CONNECTING;
    k->attempt_started = now_ms();
    last_socket = -1;
    rc = xmpp_connect_component(k->conn, k->conf->component.server,
                                (unsigned short)k->conf->component.port,
                                on_conn_event, k);
    k->fd = rc == XMPP_EOK ? last_socket : -1;
    if (rc != XMPP_EOK) {
        k->state = DISCONNECTED;
        log_warn("component", "%s: cannot connect to %s:%u (libstrophe %d)",
                 JID(k), k->conf->component.server, k->conf->component.port,
                 rc);
        schedule_retry(k);
    }
}

/* Half-open connections: TCP keepalive takes minutes to notice a peer
 * that stopped answering, so after keepalive_s of silence we ping the
 * server (XEP-0199; any answer, even an error, proves it alive) and, with
 * no answer within keepalive_timeout_s, drop the connection and reconnect.
 * An attempt that has not completed the handshake within
 * keepalive_timeout_s is dropped the same way. */
static void keepalive(struct conn *k)
{
    const struct conf_component *cc = &k->conf->component;
    xmpp_ctx_t *ctx = k->owner->ctx;
    uint64_t now = now_ms();
    xmpp_stanza_t *iq, *ping;
    const char *dot;

    if (k->state == CONNECTING && !k->dropping &&
        now - k->attempt_started > (uint64_t)cc->keepalive_timeout_s * 1000) {
        /* A server (or a proxy) that accepts the connection but never
         * opens the stream or answers the handshake: libstrophe times out
         * only the TCP connect and the handshake after a stream header. */
        log_warn("component",
                 "%s: %s:%u did not complete the handshake in "
                 "%u s: giving up this attempt",
                 cc->jid, cc->server, cc->port, cc->keepalive_timeout_s);
        k->dropping = true;
        xmpp_disconnect(k->conn);
        return;
    }
    if (k->state != ONLINE)
        return;
    if (k->ping_sent) {
        if (now - k->ping_sent < (uint64_t)cc->keepalive_timeout_s * 1000)
            return;
        log_warn("component",
                 "%s: %s:%u did not answer a ping in %u s: "
                 "reconnecting",
                 cc->jid, cc->server, cc->port, cc->keepalive_timeout_s);
        k->ping_sent = 0;
        k->dropping = true;
        xmpp_disconnect(k->conn);
        return;
    }
    if (now - k->last_heard < (uint64_t)cc->keepalive_s * 1000)
        return;
    /* the server's own domain: the component's parent (or itself) */
    dot = strchr(cc->jid, '.');
    snprintf(k->ping_id, sizeof(k->ping_id), "registrar-ping-%s-%u",
             k->ping_token, ++k->ping_seq);
    iq = xmpp_iq_new(ctx, "get", k->ping_id);
    ping = xmpp_stanza_new(ctx);
    if (!iq || !ping)
        goto out;
    xmpp_stanza_set_from(iq, cc->jid);
    xmpp_stanza_set_to(iq, dot ? dot + 1 : cc->jid);
    xmpp_stanza_set_name(ping, "ping");
    xmpp_stanza_set_ns(ping, "urn:xmpp:ping");
    xmpp_stanza_add_child(iq, ping);
    send_checked(k, iq);
    k->ping_sent = now;
    log_debug("component", "%s: keepalive ping %s", cc->jid, k->ping_id);
out:
    if (ping)
        xmpp_stanza_release(ping);
    if (iq)
        xmpp_stanza_release(iq);
}

/* Waits for an event: a socket (readable, or writable while connecting
 * or while libstrophe has output queued), a wake-up fd, or the tick.
 * Then lets libstrophe do its part, for every connection, without
 * blocking. */
static void loop_once(struct component *c, int timeout_ms)
{
    struct pollfd *fds = c->pfds;
    nfds_t n = 0;

    for (size_t i = 0; i < c->nwakeups; i++) {
        const struct component_wakeup *w = &c->wakeups[i];
        short ev = POLLIN;
        int fd = w->watch ? w->watch(w->arg, &ev) : w->fd;

        /* a negative fd is ignored by poll(): the indexes stay */
        fds[n++] = (struct pollfd){.fd = fd, .events = ev};
    }
    for (size_t i = 0; i < c->nconns; i++) {
        struct conn *k = &c->conns[i];
        short ev;

        if (k->fd < 0 || k->state == DISCONNECTED)
            continue;
        ev = k->state == CONNECTING ? POLLOUT : POLLIN;
        if (k->state != CONNECTING && xmpp_conn_send_queue_len(k->conn) > 0)
            ev |= POLLOUT;
        fds[n++] = (struct pollfd){.fd = k->fd, .events = ev};
    }
    if (poll(fds, n, timeout_ms) < 0 && errno != EINTR)
        log_warn("component", "poll: %s", strerror(errno));
    for (size_t i = 0; i < c->nwakeups; i++)
        if (fds[i].fd >= 0 && fds[i].revents)
            c->wakeups[i].on_ready(c->wakeups[i].arg);
    flush_all(c); /* the answers of the wake-ups, written by this run */
    xmpp_run_once(c->ctx, 0);
    for (size_t i = 0; i < c->nwakeups; i++)
        if (c->wakeups[i].after)
            c->wakeups[i].after(c->wakeups[i].arg);
    flush_all(c); /* the stanzas' answers: queued, POLLOUT next turn */
}

static bool busy(const struct component *c)
{
    for (size_t i = 0; i < c->nwakeups; i++)
        if (c->wakeups[i].busy && c->wakeups[i].busy(c->wakeups[i].arg))
            return true;
    return false;
}

static bool any_in(const struct component *c, enum state state)
{
    for (size_t i = 0; i < c->nconns; i++)
        if (c->conns[i].state == state)
            return true;
    return false;
}

static bool any_refused(const struct component *c)
{
    for (size_t i = 0; i < c->nconns; i++)
        if (c->conns[i].refused)
            return true;
    return false;
}

/* Closes every open stream and waits, boundedly, for the server's
 * closes. */
static void close_streams(struct component *c)
{
    uint64_t deadline = now_ms() + CLOSE_TIMEOUT_MS;

    for (size_t i = 0; i < c->nconns; i++) {
        struct conn *k = &c->conns[i];

        if (k->state == DISCONNECTED)
            continue;
        log_info("component", "%s: closing the stream to %s:%u", JID(k),
                 k->conf->component.server, k->conf->component.port);
        flush_out(k); /* before the stream's end */
        k->state = CLOSING;
        xmpp_disconnect(k->conn);
    }
    while (any_in(c, CLOSING) && now_ms() < deadline)
        loop_once(c, 50);
}

int component_run(struct component *c, const struct component_control *ctl)
{
    uint64_t deadline, wd_every = notify_watchdog_usec() / 1000, wd_next = 0;

    for (size_t i = 0; i < c->nconns; i++)
        c->conns[i].next_attempt = now_ms();
    while (!*ctl->stop && !any_refused(c)) {
        if (ctl->reload && *ctl->reload) {
            *ctl->reload = 0;
            ctl->on_reload(ctl->arg);
        }
        for (size_t i = 0; i < c->nconns && !any_refused(c); i++) {
            struct conn *k = &c->conns[i];

            if (k->state == DISCONNECTED && now_ms() >= k->next_attempt)
                attempt(k);
        }
        if (any_refused(c))
            break;
        for (size_t i = 0; i < c->nconns; i++) {
            keepalive(&c->conns[i]);
            dropped_flush(&c->conns[i]);
        }
        iq_log_flush(); /* the counts of errors answered, once due */
        if (wd_every && now_ms() >= wd_next) {
            notify_send("WATCHDOG=1");
            wd_next = now_ms() + wd_every;
        }
        loop_once(c, LOOP_TICK_MS);
    }
    if (any_refused(c)) {
        /* one refused secret stops the process: the other services'
         * streams are closed cleanly first (when there are others) */
        if (c->nconns > 1)
            close_streams(c);
        return COMPONENT_EXIT_REFUSED;
    }
    notify_send("STOPPING=1");
    /* Finish what is in hand, so that nobody waits for an answer. */
    deadline = now_ms() + DRAIN_TIMEOUT_MS;
    if (busy(c))
        log_info("component", "stopping: finishing the requests in hand");
    while (busy(c) && any_in(c, ONLINE) && now_ms() < deadline)
        loop_once(c, 50);
    close_streams(c);
    return 0;
}

/* ---- one handshake, for --check-config --connect ------------------------ */

struct probe {
    const struct conf_component *cc;
    bool tcp;          /* the TCP connection was made */
    int connect_error; /* why it was not (errno), 0: unknown */
    bool attached, closed;
    enum component_probe result;
    char *why;
    size_t whylen;
};

static void on_probe_event(xmpp_conn_t *conn, xmpp_conn_event_t event,
                           int error, xmpp_stream_error_t *stream_error,
                           void *arg)
{
    struct probe *p = arg;
    const struct conf_component *cc = p->cc;

    if (event == XMPP_CONN_CONNECT) {
        p->attached = true;
        p->result = COMPONENT_PROBE_OK;
        text_format(p->why, p->whylen, "%s:%u accepted the secret for %s",
                    cc->server, cc->port, cc->jid);
        xmpp_disconnect(conn); /* and nothing else: never routed */
        return;
    }
    if (event != XMPP_CONN_DISCONNECT && event != XMPP_CONN_FAIL)
        return;
    p->closed = true;
    if (p->attached)
        return; /* our own close */
    if (stream_error && stream_error->type == XMPP_SE_NOT_AUTHORIZED) {
        p->result = COMPONENT_PROBE_REFUSED;
        text_format(p->why, p->whylen,
                    "%s:%u refused the handshake for %s: the secret does not "
                    "match the server's component secret",
                    cc->server, cc->port, cc->jid);
    } else if (stream_error && stream_error->type == XMPP_SE_CONFLICT) {
        /* Prosody checks the secret first, then refuses a second
         * connection (component_conflict_resolve = "kick_new") */
        p->result = COMPONENT_PROBE_OK;
        text_format(p->why, p->whylen,
                    "%s:%u accepted the secret for %s, and says another "
                    "connection is attached as %s (a running registrar?)",
                    cc->server, cc->port, cc->jid, cc->jid);
    } else {
        p->result = COMPONENT_PROBE_UNREACHABLE;
        if (stream_error)
            text_format(p->why, p->whylen, "stream error from %s:%u: %s",
                        cc->server, cc->port,
                        stream_error->text ? stream_error->text : "(no text)");
        else
            text_format(p->why, p->whylen, "cannot attach to %s:%u: %s",
                        cc->server, cc->port,
                        error              ? strerror(error)
                        : p->connect_error ? strerror(p->connect_error)
                        : p->tcp           ? "closed before the handshake"
                                           : "no connection");
    }
}

/* libstrophe's messages as on_strophe_log passes them; of its debug
 * messages (raw XML among them, never passed on), only what the TCP
 * connect gave: libstrophe 0.12 hands the handler no error for it. */
static void on_probe_log(void *arg, xmpp_log_level_t level, const char *area,
                         const char *msg)
{
    struct probe *p = arg;
    static const char failed[] = "connection failed, error ";

    if (level == XMPP_LEVEL_DEBUG && strcmp(area, "xmpp") == 0) {
        if (strncmp(msg, failed, sizeof(failed) - 1) == 0)
            p->connect_error = atoi(msg + sizeof(failed) - 1);
        else if (strcmp(msg, "connection successful") == 0)
            p->tcp = true;
        return;
    }
    on_strophe_log(NULL, level, area, msg);
}

enum component_probe component_handshake(const struct conf *service, char *why,
                                         size_t whylen)
{
    const struct conf_component *cc = &service->component;
    struct probe p = {.cc = cc,
                      .result = COMPONENT_PROBE_UNREACHABLE,
                      .why = why,
                      .whylen = whylen};
    xmpp_log_t logger = {.handler = on_probe_log, .userdata = &p};
    xmpp_ctx_t *ctx;
    xmpp_conn_t *conn = NULL;
    uint64_t deadline = now_ms() + (uint64_t)cc->keepalive_timeout_s * 1000;
    int rc;

    text_format(why, whylen, "cannot start libstrophe");
    xmpp_initialize();
    if (!(ctx = xmpp_ctx_new(NULL, &logger)))
        goto out;
    if (!(conn = xmpp_conn_new(ctx)))
        goto out;
    xmpp_conn_set_jid(conn, cc->jid);
    xmpp_conn_set_pass(conn, cc->secret);
    if (!allocate_sm_state(conn)) /* see there: 0.12.2 needs it */
        goto out;
    rc = xmpp_connect_component(conn, cc->server, (unsigned short)cc->port,
                                on_probe_event, &p);
    if (rc != XMPP_EOK) {
        text_format(why, whylen, "cannot connect to %s:%u (libstrophe %d)",
                    cc->server, cc->port, rc);
        goto out;
    }
    text_format(why, whylen, "%s:%u did not complete the handshake in %u s",
                cc->server, cc->port, cc->keepalive_timeout_s);
    while (!p.closed && !p.attached && now_ms() < deadline)
        xmpp_run_once(ctx, 100);
    if (!p.closed) { /* attached and closing, or given up: close, boundedly */
        if (!p.attached)
            xmpp_disconnect(conn);
        deadline = now_ms() + CLOSE_TIMEOUT_MS;
        while (!p.closed && now_ms() < deadline)
            xmpp_run_once(ctx, 50);
    }
out:
    conn_release(conn);
    if (ctx)
        xmpp_ctx_free(ctx);
    xmpp_shutdown();
    return p.result;
}
