/*
 * component.c - the libstrophe context, the XEP-0114 connection and the
 * event loop.
 *
 * The only file that drives libstrophe's connection lifecycle.  It
 * connects, survives a lost server by reconnecting with capped, jittered
 * back-off, stops for good only when the server refuses the secret, and
 * sends what the router answers, always from our own JID (the router's
 * replies carry it).  No protocol decisions here.
 */
#include "component.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

/* How long the event loop may sleep, in ms: bounds how late a stop or a
 * reconnect is noticed. */
#define LOOP_TICK_MS 200
/* How long a clean close may take before we give up on the server. */
#define CLOSE_TIMEOUT_MS 2000
/* How long a stop waits for the work in hand to be answered. */
#define DRAIN_TIMEOUT_MS 5000

enum state { DISCONNECTED, CONNECTING, ONLINE, CLOSING };

struct component {
    const struct conf *conf;
    struct router *router;
    xmpp_ctx_t *ctx;
    xmpp_conn_t *conn;
    xmpp_log_t logger;
    struct iq_sink sink;
    struct component_wakeup wakeups[COMPONENT_MAX_WAKEUPS];
    size_t nwakeups;
    int fd; /* the connection's socket, -1 when none */
    enum state state;
    bool refused;        /* the server refused our secret: stop */
    bool ready_sent;     /* systemd was told READY=1 */
    uint64_t last_heard; /* monotonic ms of the last stanza received */
    uint64_t ping_sent;  /* when our keepalive ping left, 0: none out */
    unsigned ping_seq;
    char ping_token[33]; /* random per connection: see new_ping_token() */
    char ping_id[64];
    bool dropping;            /* we closed a silent connection ourselves */
    uint64_t attempt_started; /* monotonic ms of the last connect */
    unsigned failures;        /* consecutive failed attempts */
    uint64_t next_attempt;    /* monotonic ms */
};

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

static void send_stanza(void *arg, xmpp_stanza_t *stanza)
{
    struct component *c = arg;

    if (c->state != ONLINE) {
        log_warn("component", "not attached: reply id=%s to %s dropped",
                 xmpp_stanza_get_id(stanza) ? xmpp_stanza_get_id(stanza) : "",
                 xmpp_stanza_get_to(stanza) ? xmpp_stanza_get_to(stanza) : "");
        return;
    }
    xmpp_send(c->conn, stanza);
}

static int on_stanza(xmpp_conn_t *conn, xmpp_stanza_t *stanza, void *arg)
{
    struct component *c = arg;
    const char *id = xmpp_stanza_get_id(stanza);

    (void)conn;
    c->last_heard = now_ms();
    if (component_is_ping_reply(c->ping_sent ? c->ping_id : NULL,
                                xmpp_stanza_get_name(stanza),
                                xmpp_stanza_get_type(stanza), id)) {
        c->ping_sent = 0; /* the server answered our keepalive */
        return 1;
    }
    router_stanza(c->router, stanza, &c->sink);
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

/* Delay before the next attempt: doubles per failure up to the cap, then
 * "equal jitter" (half fixed, half random) so that many components
 * restarted together do not reconnect in lockstep. */
static unsigned backoff_ms(const struct component *c)
{
    unsigned lo = c->conf->component.reconnect_min_ms;
    unsigned hi = c->conf->component.reconnect_max_ms;
    unsigned d = lo;

    for (unsigned i = 1; i < c->failures && d < hi; i++)
        d = d > hi / 2 ? hi : d * 2;
    if (d > hi)
        d = hi;
    return d / 2 + (unsigned)(random() % (d / 2 + 1));
}

static void schedule_retry(struct component *c)
{
    unsigned delay;

    c->failures++;
    delay = backoff_ms(c);
    c->next_attempt = now_ms() + delay;
    log_info("component", "reconnecting to %s:%u in %u ms (attempt %u)",
             c->conf->component.server, c->conf->component.port, delay,
             c->failures + 1);
    notify_status("not attached: reconnecting to %s:%u in %u ms (attempt %u)",
                  c->conf->component.server, c->conf->component.port, delay,
                  c->failures + 1);
}

static void on_conn_event(xmpp_conn_t *conn, xmpp_conn_event_t event, int error,
                          xmpp_stream_error_t *stream_error, void *arg)
{
    struct component *c = arg;
    enum state was = c->state;

    (void)conn;
    if (event == XMPP_CONN_CONNECT) {
        c->state = ONLINE;
        c->failures = 0;
        c->last_heard = now_ms();
        c->ping_sent = 0;
        c->ping_seq = 0;
        if (!component_ping_token(c->ping_token, sizeof(c->ping_token)))
            /* getrandom(2) does not fail once urandom is seeded; should it,
             * the type check still keeps every get and set out */
            snprintf(c->ping_token, sizeof(c->ping_token), "%08lx%08lx",
                     random(), random());
        log_info("component", "attached to %s:%u as %s",
                 c->conf->component.server, c->conf->component.port,
                 c->conf->component.jid);
        notify_status("attached to %s:%u as %s", c->conf->component.server,
                      c->conf->component.port, c->conf->component.jid);
        if (!c->ready_sent) {
            notify_send("READY=1");
            c->ready_sent = true;
        }
        return;
    }
    if (event != XMPP_CONN_DISCONNECT && event != XMPP_CONN_FAIL)
        return;
    c->state = DISCONNECTED;
    c->fd = -1;
    bool dropping = c->dropping;
    c->dropping = false;
    if (was == CLOSING) {
        log_info("component", "stream closed");
        return;
    }
    if (stream_error && stream_error->type == XMPP_SE_NOT_AUTHORIZED) {
        log_error("component",
                  "%s:%u refused the handshake for %s: the secret does not "
                  "match the server's component secret",
                  c->conf->component.server, c->conf->component.port,
                  c->conf->component.jid);
        c->refused = true;
        notify_status("refused by %s:%u: wrong component secret",
                      c->conf->component.server, c->conf->component.port);
        return;
    }
    if (stream_error && stream_error->type == XMPP_SE_CONFLICT)
        log_warn("component", "%s:%u says another component is attached as %s",
                 c->conf->component.server, c->conf->component.port,
                 c->conf->component.jid);
    else if (stream_error)
        log_warn("component", "stream error from %s:%u: %s",
                 c->conf->component.server, c->conf->component.port,
                 stream_error->text ? stream_error->text : "(no text)");
    else if (dropping)
        log_info("component", "dropped the silent connection to %s:%u",
                 c->conf->component.server, c->conf->component.port);
    else if (was == ONLINE)
        log_warn("component", "lost the connection to %s:%u (%s)",
                 c->conf->component.server, c->conf->component.port,
                 error ? strerror(error) : "closed by the server");
    else
        log_warn("component", "cannot attach to %s:%u (%s)",
                 c->conf->component.server, c->conf->component.port,
                 error ? strerror(error) : "closed before the handshake");
    schedule_retry(c);
}

/* The socket libstrophe opened during the last xmpp_connect_component():
 * the sockopt callback is the only place 0.12 shows it, and it carries no
 * user pointer. */
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
 * callback refuses it), then connect as a component.  Harmless on
 * versions that have the bug fixed.
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

struct component *component_new(const struct conf *conf, struct router *router,
                                const struct component_wakeup *wakeups,
                                size_t n)
{
    struct component *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->conf = conf;
    c->router = router;
    c->fd = -1;
    for (size_t i = 0; i < n && i < COMPONENT_MAX_WAKEUPS; i++)
        c->wakeups[c->nwakeups++] = wakeups[i];
    c->logger = (xmpp_log_t){.handler = on_strophe_log, .userdata = c};
    c->sink = (struct iq_sink){.send = send_stanza, .arg = c};
    xmpp_initialize();
    c->ctx = xmpp_ctx_new(NULL, &c->logger);
    if (!c->ctx)
        goto fail;
    c->conn = xmpp_conn_new(c->ctx);
    if (!c->conn)
        goto fail;
    xmpp_conn_set_jid(c->conn, conf->component.jid);
    xmpp_conn_set_pass(c->conn, conf->component.secret);
    if (!allocate_sm_state(c->conn)) {
        log_error("component", "cannot prepare the libstrophe connection");
        goto fail;
    }
    xmpp_handler_add(c->conn, on_stanza, NULL, NULL, NULL, c);
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
    if (c->conn) {
        /* libstrophe keeps its own copy of the secret for the handshake
         * and frees it as it is: wipe it first. */
        const char *pass = xmpp_conn_get_pass(c->conn);
        if (pass)
            explicit_bzero((char *)pass, strlen(pass));
        xmpp_conn_release(c->conn);
    }
    if (c->ctx)
        xmpp_ctx_free(c->ctx);
    xmpp_shutdown();
    free(c);
}

static void attempt(struct component *c)
{
    int rc;

    log_info("component", "connecting to %s:%u as %s",
             c->conf->component.server, c->conf->component.port,
             c->conf->component.jid);
    c->state = CONNECTING;
    c->attempt_started = now_ms();
    last_socket = -1;
    rc = xmpp_connect_component(c->conn, c->conf->component.server,
                                (unsigned short)c->conf->component.port,
                                on_conn_event, c);
    c->fd = rc == XMPP_EOK ? last_socket : -1;
    if (rc != XMPP_EOK) {
        c->state = DISCONNECTED;
        log_warn("component", "cannot connect to %s:%u (libstrophe %d)",
                 c->conf->component.server, c->conf->component.port, rc);
        schedule_retry(c);
    }
}

/* Half-open connections: TCP keepalive takes minutes to notice a peer
 * that stopped answering, so after keepalive_s of silence we ping the
 * server (XEP-0199; any answer, even an error, proves it alive) and, with
 * no answer within keepalive_timeout_s, drop the connection and reconnect.
 * An attempt that has not completed the handshake within
 * keepalive_timeout_s is dropped the same way. */
static void keepalive(struct component *c)
{
    const struct conf_component *cc = &c->conf->component;
    uint64_t now = now_ms();
    xmpp_stanza_t *iq, *ping;
    const char *dot;

    if (c->state == CONNECTING && !c->dropping &&
        now - c->attempt_started > (uint64_t)cc->keepalive_timeout_s * 1000) {
        /* A server (or a proxy) that accepts the connection but never
         * opens the stream or answers the handshake: libstrophe times out
         * only the TCP connect and the handshake after a stream header. */
        log_warn("component",
                 "%s:%u did not complete the handshake in "
                 "%u s: giving up this attempt",
                 cc->server, cc->port, cc->keepalive_timeout_s);
        c->dropping = true;
        xmpp_disconnect(c->conn);
        return;
    }
    if (c->state != ONLINE)
        return;
    if (c->ping_sent) {
        if (now - c->ping_sent < (uint64_t)cc->keepalive_timeout_s * 1000)
            return;
        log_warn("component",
                 "%s:%u did not answer a ping in %u s: "
                 "reconnecting",
                 cc->server, cc->port, cc->keepalive_timeout_s);
        c->ping_sent = 0;
        c->dropping = true;
        xmpp_disconnect(c->conn);
        return;
    }
    if (now - c->last_heard < (uint64_t)cc->keepalive_s * 1000)
        return;
    /* the server's own domain: the component's parent (or itself) */
    dot = strchr(cc->jid, '.');
    snprintf(c->ping_id, sizeof(c->ping_id), "registrar-ping-%s-%u",
             c->ping_token, ++c->ping_seq);
    iq = xmpp_iq_new(c->ctx, "get", c->ping_id);
    ping = xmpp_stanza_new(c->ctx);
    if (!iq || !ping)
        goto out;
    xmpp_stanza_set_from(iq, cc->jid);
    xmpp_stanza_set_to(iq, dot ? dot + 1 : cc->jid);
    xmpp_stanza_set_name(ping, "ping");
    xmpp_stanza_set_ns(ping, "urn:xmpp:ping");
    xmpp_stanza_add_child(iq, ping);
    xmpp_send(c->conn, iq);
    c->ping_sent = now;
    log_debug("component", "keepalive ping %s", c->ping_id);
out:
    if (ping)
        xmpp_stanza_release(ping);
    if (iq)
        xmpp_stanza_release(iq);
}

/* Waits for an event: the socket (readable, or writable while connecting
 * or while libstrophe has output queued), the wake-up fd, or the tick.
 * Then lets libstrophe do its part without blocking. */
static void loop_once(struct component *c, int timeout_ms)
{
    struct pollfd fds[1 + COMPONENT_MAX_WAKEUPS];
    nfds_t n = 0, first_wake;

    if (c->fd >= 0 && c->state != DISCONNECTED) {
        short ev = c->state == CONNECTING ? POLLOUT : POLLIN;
        if (c->state != CONNECTING && xmpp_conn_send_queue_len(c->conn) > 0)
            ev |= POLLOUT;
        fds[n++] = (struct pollfd){.fd = c->fd, .events = ev};
    }
    first_wake = n;
    for (size_t i = 0; i < c->nwakeups; i++)
        fds[n++] = (struct pollfd){.fd = c->wakeups[i].fd, .events = POLLIN};
    if (poll(fds, n, timeout_ms) < 0 && errno != EINTR)
        log_warn("component", "poll: %s", strerror(errno));
    for (size_t i = 0; i < c->nwakeups; i++)
        if (fds[first_wake + i].revents & POLLIN)
            c->wakeups[i].on_ready(c->wakeups[i].arg);
    xmpp_run_once(c->ctx, 0);
}

static bool busy(const struct component *c)
{
    for (size_t i = 0; i < c->nwakeups; i++)
        if (c->wakeups[i].busy && c->wakeups[i].busy(c->wakeups[i].arg))
            return true;
    return false;
}

/* Closes the stream and waits, boundedly, for the server's close. */
static void close_stream(struct component *c)
{
    uint64_t deadline = now_ms() + CLOSE_TIMEOUT_MS;

    if (c->state == DISCONNECTED)
        return;
    log_info("component", "closing the stream to %s:%u",
             c->conf->component.server, c->conf->component.port);
    c->state = CLOSING;
    xmpp_disconnect(c->conn);
    while (c->state == CLOSING && now_ms() < deadline)
        loop_once(c, 50);
}

int component_run(struct component *c, const struct component_control *ctl)
{
    uint64_t deadline, wd_every = notify_watchdog_usec() / 1000, wd_next = 0;

    c->next_attempt = now_ms();
    while (!*ctl->stop && !c->refused) {
        if (ctl->reload && *ctl->reload) {
            *ctl->reload = 0;
            ctl->on_reload(ctl->arg);
        }
        if (c->state == DISCONNECTED && now_ms() >= c->next_attempt)
            attempt(c);
        if (c->refused)
            break;
        keepalive(c);
        if (wd_every && now_ms() >= wd_next) {
            notify_send("WATCHDOG=1");
            wd_next = now_ms() + wd_every;
        }
        loop_once(c, LOOP_TICK_MS);
    }
    if (c->refused)
        return COMPONENT_EXIT_REFUSED;
    notify_send("STOPPING=1");
    /* Finish what is in hand, so that nobody waits for an answer. */
    deadline = now_ms() + DRAIN_TIMEOUT_MS;
    if (busy(c))
        log_info("component", "stopping: finishing the requests in hand");
    while (busy(c) && c->state == ONLINE && now_ms() < deadline)
        loop_once(c, 50);
    close_stream(c);
    return 0;
}
