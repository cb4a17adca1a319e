/*
 * loadgen.c - the benchmark's load generator: N authenticated c2s
 * sessions (raw sockets, SASL PLAIN on plaintext loopback) keep W iqs each
 * outstanding against a component, for a fixed time, and print one JSON
 * line: round trips/s, p50/p99, errors, and per kind the mean bytes and
 * elements of a successful reply as it arrived.  Or, in direct mode, it plays
 * the server side of XEP-0114 itself (listen, handshake) and sends the stanzas
 * straight to the component, so that only the component and its database are
 * measured.
 *
 *   loadgen --port C2S_PORT --to COMPONENT_JID [options]
 *   loadgen --direct PORT SECRET COMPONENT_JID [options]
 *
 * Options (defaults in brackets):
 *   --host ADDR          server address [127.0.0.1]
 *   --domain DOMAIN      the virtual host; accounts are USER<i>@DOMAIN
 *                        [localhost]
 *   --user PREFIX        account names PREFIX1..PREFIXN [bench]
 *   --password PW        every account's password [bench-pw]
 *   --sessions N         sessions (direct: simulated users) [20]
 *   --window W           iqs outstanding per session [1]
 *   --workload NAME      get | register | update | password | remove | mix
 *                        | getupdate | unregister [get]
 *   --duration S         measured seconds [5]
 *   --warmup S           seconds run first and not measured [1]
 *   --rate R             cap on iqs sent per second, all sessions (0: none)
 *   --ping-to JID        an extra session (account PREFIXping) pings JID
 *   --ping-ms MS         ... every MS ms, one at a time [20]
 *   --register-accounts  create the accounts in band first (conflict = ok)
 *   --setup-only         log every session in, then stop (no load)
 *   --tag STR            direct mode, register and unregister: fresh JIDs
 *                        STR-<n>@DOMAIN, n = 1, 2, 3 ... in the order sent
 *   --label STR          copied into the JSON line
 *   --max-iq N           never send more than N iqs in all [20000000];
 *                        once all N are answered the run ends there (its
 *                        rates over the time measured until then)
 *
 * Workloads, per session (a bare JID holds one registration per service):
 *   get       the registration form (XEP-0077 get)
 *   register  a registration without password (legacy first/last/email);
 *             over c2s the JID's first set creates the row and the same
 *             set again re-registers it; in direct mode every set comes
 *             from a fresh JID, so every one creates a row
 *   update    a set changing a value (<last/> carries a counter)
 *   password  username/password/email: the first set registers (one
 *             bcrypt hash), the same password again is checked (one bcrypt
 *             check): one bcrypt operation per request either way
 *   remove    <remove/> and a registration alternately, W in flight
 *   mix       get 50%, update 25%, remove 12.5%, register 12.5%
 *   getupdate a get and an update alternately (per session): the reads and
 *             writes of a registered user
 *   unregister  direct mode only: <remove/> from the fresh JIDs a register
 *             run with the same --tag created, in the same order, one each
 *             (bound it with --max-iq to the rows that run registered:
 *             beyond them a removal finds nothing and is an error)
 *
 * Bounded: setup 60 s, the run --warmup + --duration (at most 3600 s),
 * then at most 10 s draining; --max-iq.  A benchmark tool: it prints
 * figures and asserts nothing (exit 1 only when it could not run).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "benchxml.h"

enum kind { K_GET, K_REG, K_UPD, K_PASS, K_REM, K_PING, K_COUNT };
static const char *const kind_name[K_COUNT] = {"get",      "register", "update",
                                               "password", "remove",   "ping"};

enum workload {
    W_GET,
    W_REGISTER,
    W_UPDATE,
    W_PASSWORD,
    W_REMOVE,
    W_MIX,
    W_GETUPDATE,
    W_UNREGISTER
};
static const char *const workload_name[] = {"get",       "register",  "update",
                                            "password",  "remove",    "mix",
                                            "getupdate", "unregister"};

static const enum kind mix_cycle[8] = {K_GET, K_UPD, K_GET, K_REM,
                                       K_GET, K_REG, K_GET, K_UPD};

/* ---- options ------------------------------------------------------------ */

static struct {
    const char *host, *domain, *user, *password, *to, *ping_to, *tag, *label;
    int port, sessions, window, ping_ms;
    double duration, warmup, rate;
    enum workload workload;
    bool register_accounts, setup_only, direct;
    const char *direct_secret;
    long long max_iq;
} opt = {
    .host = "127.0.0.1",
    .domain = "localhost",
    .user = "bench",
    .password = "bench-pw",
    .tag = "fresh",
    .label = "",
    .sessions = 20,
    .window = 1,
    .ping_ms = 20,
    .duration = 5,
    .warmup = 1,
    .max_iq = 20000000,
};

/* ---- connections and sessions ------------------------------------------- */

enum state { ST_FEAT1, ST_IBR, ST_SASL, ST_FEAT2, ST_BIND, ST_READY, ST_DEAD };

struct sess;

struct conn {
    int fd;
    struct sess *owner; /* c2s: its session; direct: NULL */
    struct bx_stream in;
    struct bx_buf out;
    bool dirty, want_out;
};

struct slot {
    uint64_t sent_us;
    uint32_t gen;
    uint8_t kind;
    bool busy;
};

struct sess {
    struct conn *c; /* its own (c2s) or the shared one (direct) */
    int idx;        /* 0..N-1; N is the ping session */
    char user[64];
    char jid[160]; /* full JID (direct mode: the from we forge) */
    enum state st;
    struct slot *slots;
    unsigned step, ctr;
    bool ping;
    uint64_t next_ping;
};

static struct sess *sessions;
static int nsess; /* with the ping session */
static struct conn direct_conn = {.fd = -1};
static int epfd;

/* ---- results ------------------------------------------------------------ */

struct sample {
    uint32_t us;
    uint8_t kind;
};

static struct {
    struct sample *v;
    size_t n, cap;
    long long sent, replies[K_COUNT], errors[K_COUNT];
    long long sent_total, lost, all, ok_all; /* every reply, warm-up too */
    /* the successful replies of the window: their bytes and elements */
    long long bytes[K_COUNT], elements[K_COUNT], sized[K_COUNT];
    bool printed_error[K_COUNT];
} res;

static uint64_t t_meas0, t_meas1, t_run0;
static bool measuring_over;
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* The elements of the stanza t[0..tl) (its start tags). */
static long long elements_of(const char *t, size_t tl)
{
    long long n = 0;

    for (size_t i = 0; i + 1 < tl; i++)
        if (t[i] == '<' && t[i + 1] != '/' && t[i + 1] != '!' &&
            t[i + 1] != '?')
            n++;
    return n;
}

static void record(enum kind k, uint64_t sent, uint64_t now, bool error,
                   const char *t, size_t tl)
{
    /* every reply received in the measured window counts (with a deep
     * queue, those sent in the window may not come back within it) */
    if (now < t_meas0 || now > t_meas1)
        return;
    res.replies[k]++;
    if (error)
        res.errors[k]++;
    else if (t) {
        res.bytes[k] += (long long)tl;
        res.elements[k] += elements_of(t, tl);
        res.sized[k]++;
    }
    if (res.n == res.cap) {
        size_t cap = res.cap ? res.cap * 2 : 65536;
        struct sample *v = realloc(res.v, cap * sizeof(*v));
        if (!v)
            return;
        res.v = v;
        res.cap = cap;
    }
    res.v[res.n].us =
        (uint32_t)(now - sent > UINT32_MAX ? UINT32_MAX : now - sent);
    res.v[res.n].kind = (uint8_t)k;
    res.n++;
}

/* ---- sockets ------------------------------------------------------------ */

static void die(const char *what)
{
    fprintf(stderr, "loadgen: %s\n", what);
    exit(1);
}

static void conn_init(struct conn *c, int fd)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    int one = 1;

    memset(c, 0, sizeof(*c));
    c->fd = fd;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        die("epoll_ctl");
}

static void conn_flush(struct conn *c)
{
    while (c->out.len > 0) {
        ssize_t w = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            c->out.len = 0; /* dead: the reader sees it */
            break;
        }
        bx_buf_consume(&c->out, (size_t)w);
    }
    bool want = c->out.len > 0;
    if (want != c->want_out) {
        struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0),
                                 .data.ptr = c};
        epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
        c->want_out = want;
    }
    c->dirty = false;
}

static struct conn **dirty_list;
static int ndirty;

static void conn_mark(struct conn *c)
{
    if (!c->dirty) {
        c->dirty = true;
        dirty_list[ndirty++] = c;
    }
}

static void flush_dirty(void)
{
    for (int i = 0; i < ndirty; i++)
        conn_flush(dirty_list[i]);
    ndirty = 0;
}

static int dial(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)opt.port)};
    int fd;

    if (inet_pton(AF_INET, opt.host, &sa.sin_addr) != 1)
        die("bad --host");
    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        die("socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("loadgen: connect");
        exit(1);
    }
    return fd;
}

/* ---- c2s log-in --------------------------------------------------------- */

static void send_header(struct sess *s)
{
    bx_buf_printf(&s->c->out,
                  "<?xml version='1.0'?><stream:stream to='%s' "
                  "xmlns='jabber:client' "
                  "xmlns:stream='http://etherx.jabber.org/streams' "
                  "version='1.0'>",
                  opt.domain);
    conn_mark(s->c);
}

static void send_auth(struct sess *s)
{
    char raw[256], b64[400];
    int n = snprintf(raw, sizeof(raw), "%c%s%c%s", 0, s->user, 0, opt.password);

    bx_base64(raw, (size_t)n, b64);
    bx_buf_printf(&s->c->out,
                  "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                  "mechanism='PLAIN'>%s</auth>",
                  b64);
    conn_mark(s->c);
    s->st = ST_SASL;
}

static bool attr_is(const char *t, size_t tl, const char *name,
                    const char *value)
{
    size_t vl;
    const char *v = bx_attr(t, tl, name, &vl);

    return v && vl == strlen(value) && memcmp(v, value, vl) == 0;
}

static void login_step(struct sess *s, const char *t, size_t tl)
{
    switch (s->st) {
    case ST_FEAT1:
        if (!bx_is(t, tl, "stream:features"))
            return;
        if (opt.register_accounts) {
            bx_buf_printf(&s->c->out,
                          "<iq type='set' id='ibr'><query "
                          "xmlns='jabber:iq:register'><username>%s</username>"
                          "<password>%s</password></query></iq>",
                          s->user, opt.password);
            conn_mark(s->c);
            s->st = ST_IBR;
        } else {
            send_auth(s);
        }
        return;
    case ST_IBR:
        if (!bx_is(t, tl, "iq"))
            return;
        if (attr_is(t, tl, "type", "error") && !memmem(t, tl, "conflict", 8))
            fprintf(stderr, "loadgen: in-band registration of %s: %.*s\n",
                    s->user, (int)(tl > 300 ? 300 : tl), t);
        send_auth(s);
        return;
    case ST_SASL:
        if (bx_is(t, tl, "success")) {
            bx_stream_reset(&s->c->in);
            send_header(s);
            s->st = ST_FEAT2;
        } else if (bx_is(t, tl, "failure")) {
            fprintf(stderr, "loadgen: %s: authentication failed: %.*s\n",
                    s->user, (int)tl, t);
            exit(1);
        }
        return;
    case ST_FEAT2:
        if (!bx_is(t, tl, "stream:features"))
            return;
        bx_buf_printf(&s->c->out,
                      "<iq type='set' id='bind'><bind "
                      "xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                      "<resource>bench%d</resource></bind></iq>",
                      s->idx);
        conn_mark(s->c);
        s->st = ST_BIND;
        return;
    case ST_BIND:
        if (bx_is(t, tl, "iq")) {
            if (!attr_is(t, tl, "type", "result")) {
                fprintf(stderr, "loadgen: %s: bind failed: %.*s\n", s->user,
                        (int)tl, t);
                exit(1);
            }
            s->st = ST_READY;
        }
        return;
    default:
        return;
    }
}

/* ---- the load ----------------------------------------------------------- */

static enum kind next_kind(struct sess *s)
{
    unsigned step = s->step++;

    switch (opt.workload) {
    case W_GET:
        return K_GET;
    case W_REGISTER:
        return K_REG;
    case W_UPDATE:
        return K_UPD;
    case W_PASSWORD:
        return K_PASS;
    case W_REMOVE:
        return step % 2 ? K_REG : K_REM;
    case W_GETUPDATE:
        return step % 2 ? K_UPD : K_GET;
    case W_UNREGISTER:
        return K_REM;
    case W_MIX:
    default:
        return mix_cycle[step % 8];
    }
}

/* Sends the next iq of session s in slot k. */
static void issue(struct sess *s, int k, uint64_t now)
{
    struct slot *sl = &s->slots[k];
    struct bx_buf *o = &s->c->out;
    enum kind kind = next_kind(s);
    char from[200] = "";
    const char *local = s->user;
    unsigned ctr = ++s->ctr;

    if (res.sent_total >= opt.max_iq)
        return;
    sl->busy = true;
    sl->gen++;
    sl->kind = (uint8_t)kind;
    sl->sent_us = now;
    res.sent_total++;
    if (opt.direct) {
        if ((kind == K_REG && opt.workload == W_REGISTER) ||
            opt.workload == W_UNREGISTER) {
            static unsigned long long fresh;
            snprintf(from, sizeof(from), " from='%s-%llu@%s/bench'", opt.tag,
                     ++fresh, opt.domain);
        } else {
            snprintf(from, sizeof(from), " from='%s'", s->jid);
        }
    }
    bx_buf_printf(o, "<iq type='%s' id='q%d-%d-%u' to='%s'%s>",
                  kind == K_GET ? "get" : "set", s->idx, k, sl->gen, opt.to,
                  from);
    switch (kind) {
    case K_GET:
        bx_buf_printf(o, "<query xmlns='jabber:iq:register'/>");
        break;
    case K_REG:
        bx_buf_printf(o,
                      "<query xmlns='jabber:iq:register'><first>Bench</first>"
                      "<last>User</last><email>%s@example.org</email>"
                      "</query>",
                      local);
        break;
    case K_UPD:
        bx_buf_printf(o,
                      "<query xmlns='jabber:iq:register'><first>Bench</first>"
                      "<last>User %u</last><email>%s@example.org</email>"
                      "</query>",
                      ctr, local);
        break;
    case K_PASS:
        bx_buf_printf(o,
                      "<query xmlns='jabber:iq:register'><username>%s"
                      "</username><password>pw-%s-correct-horse</password>"
                      "<email>%s+%u@example.org</email></query>",
                      local, local, local, ctr);
        break;
    case K_REM:
        bx_buf_printf(o, "<query xmlns='jabber:iq:register'><remove/></query>");
        break;
    default:
        break;
    }
    bx_buf_add(o, "</iq>", 5);
    conn_mark(s->c);
}

static void send_ping(struct sess *s, uint64_t now)
{
    struct slot *sl = &s->slots[0];

    sl->busy = true;
    sl->gen++;
    sl->kind = K_PING;
    sl->sent_us = now;
    bx_buf_printf(&s->c->out,
                  "<iq type='get' id='p%d-0-%u' to='%s'><ping "
                  "xmlns='urn:xmpp:ping'/></iq>",
                  s->idx, sl->gen, opt.ping_to);
    conn_mark(s->c);
}

/* Slots waiting for the rate cap, FIFO. */
static struct {
    int *sess, *slot;
    size_t head, tail, cap;
} waiting;

static void wait_push(int s, int k)
{
    waiting.sess[waiting.tail % waiting.cap] = s;
    waiting.slot[waiting.tail % waiting.cap] = k;
    waiting.tail++;
}

static long long issued_in_run;

static bool may_issue(uint64_t now)
{
    if (opt.rate <= 0)
        return true;
    return issued_in_run <
           (long long)((double)(now - t_run0) * opt.rate / 1e6) + 1;
}

static void want_issue(struct sess *s, int k, uint64_t now)
{
    s->slots[k].busy = false;
    if (measuring_over || interrupted)
        return;
    if (opt.rate > 0 && (waiting.tail != waiting.head || !may_issue(now))) {
        wait_push(s->idx, k);
        return;
    }
    issued_in_run++;
    issue(s, k, now);
}

static void drain_waiting(uint64_t now)
{
    while (waiting.head != waiting.tail && may_issue(now) && !measuring_over) {
        int si = waiting.sess[waiting.head % waiting.cap];
        int k = waiting.slot[waiting.head % waiting.cap];
        waiting.head++;
        issued_in_run++;
        issue(&sessions[si], k, now);
    }
}

/* A reply: "q<sess>-<slot>-<gen>" or "p<sess>-0-<gen>". */
static void on_reply(const char *t, size_t tl, uint64_t now)
{
    size_t idl, tyl;
    const char *id = bx_attr(t, tl, "id", &idl);
    const char *type = bx_attr(t, tl, "type", &tyl);
    char buf[64];
    int si, k;
    unsigned gen;
    bool error;

    if (!id || !type || idl >= sizeof(buf) || (id[0] != 'q' && id[0] != 'p'))
        return;
    memcpy(buf, id, idl);
    buf[idl] = '\0';
    if (sscanf(buf + 1, "%d-%d-%u", &si, &k, &gen) != 3 || si < 0 ||
        si >= nsess)
        return;
    struct sess *s = &sessions[si];
    if (k < 0 || k >= (s->ping ? 1 : opt.window))
        return;
    struct slot *sl = &s->slots[k];
    if (!sl->busy || sl->gen != gen)
        return;
    error = tyl == 5 && memcmp(type, "error", 5) == 0;
    if (!s->ping) {
        res.all++;
        res.ok_all += !error;
    }
    record((enum kind)sl->kind, sl->sent_us, now, error, t, tl);
    if (error && !res.printed_error[sl->kind]) {
        res.printed_error[sl->kind] = true;
        fprintf(stderr, "loadgen: first error for %s: %.*s\n",
                kind_name[sl->kind], (int)(tl > 600 ? 600 : tl), t);
    }
    if (s->ping) {
        sl->busy = false;
        s->next_ping = now + (uint64_t)opt.ping_ms * 1000;
        return;
    }
    want_issue(s, k, now);
}

/* Reads what conn c has; returns false when it is closed. */
static bool conn_read(struct conn *c, struct sess *owner, uint64_t now)
{
    char buf[65536];

    for (;;) {
        ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
        const char *t;
        size_t tl;
        enum bx_event ev;

        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        bx_stream_feed(&c->in, buf, (size_t)r);
        while ((ev = bx_stream_next(&c->in, &t, &tl)) != BX_NONE) {
            if (ev == BX_END || ev == BX_ERROR)
                return false;
            if (ev != BX_STANZA)
                continue;
            if (owner && owner->st != ST_READY) {
                login_step(owner, t, tl);
                continue;
            }
            if (bx_is(t, tl, "iq"))
                on_reply(t, tl, now);
            else if (bx_is(t, tl, "stream:error")) {
                fprintf(stderr, "loadgen: stream error: %.*s\n", (int)tl, t);
                return false;
            }
        }
        if ((size_t)r < sizeof(buf))
            return true;
    }
}

/* One pass of the event loop, waiting at most timeout_ms. */
static void poll_once(int timeout_ms)
{
    struct epoll_event evs[128];
    int n = epoll_wait(epfd, evs, 128, timeout_ms);
    uint64_t now = bx_now_us();

    for (int i = 0; i < n; i++) {
        struct conn *c = evs[i].data.ptr;
        struct sess *owner = c->owner;
        if (evs[i].events & EPOLLOUT)
            conn_mark(c);
        if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
            if (!conn_read(c, owner, now)) {
                epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
                if (opt.direct)
                    die("the component went away");
                fprintf(stderr, "loadgen: connection closed for %s\n",
                        owner->user);
                owner->st = ST_DEAD;
            }
        }
    }
    flush_dirty();
}

/* ---- direct mode: the server side of XEP-0114 ---------------------------- */

static void direct_accept(int port, const char *secret, const char *jid)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port)};
    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    uint64_t deadline = bx_now_us() + 60 * 1000000ull;
    static unsigned stream_no;

    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(lfd, 8) < 0) {
        perror("loadgen: listen");
        exit(1);
    }
    while (bx_now_us() < deadline && !interrupted) {
        struct pollfd p = {.fd = lfd, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0)
            continue;
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        struct bx_stream in = {0};
        struct bx_buf out = {0};
        char buf[4096], id[32], hex[41], cat[600];
        bool header = false, ok = false;
        uint64_t until = bx_now_us() + 10 * 1000000ull;

        snprintf(id, sizeof(id), "bench%u-%d", ++stream_no, (int)getpid());
        while (bx_now_us() < until) {
            struct pollfd q = {.fd = fd, .events = POLLIN};
            const char *t;
            size_t tl, vl;
            enum bx_event ev;
            if (poll(&q, 1, 200) <= 0)
                continue;
            ssize_t r = recv(fd, buf, sizeof(buf), 0);
            if (r <= 0)
                break;
            bx_stream_feed(&in, buf, (size_t)r);
            while ((ev = bx_stream_next(&in, &t, &tl)) != BX_NONE) {
                if (ev == BX_HEADER) {
                    const char *to = bx_attr(t, tl, "to", &vl);
                    if (!to || vl != strlen(jid) || memcmp(to, jid, vl) != 0) {
                        bx_buf_printf(
                            &out,
                            "<?xml version='1.0'?><stream:stream "
                            "xmlns:stream='http://etherx.jabber.org/streams' "
                            "xmlns='jabber:component:accept' id='%s'>"
                            "<stream:error><host-unknown "
                            "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
                            "</stream:error></stream:stream>",
                            id);
                        goto reply;
                    }
                    header = true;
                    bx_buf_printf(
                        &out,
                        "<?xml version='1.0'?><stream:stream "
                        "xmlns:stream='http://etherx.jabber.org/streams' "
                        "xmlns='jabber:component:accept' from='%s' id='%s'>",
                        jid, id);
                } else if (ev == BX_STANZA && header &&
                           bx_is(t, tl, "handshake")) {
                    size_t cl;
                    const char *h = bx_inner(t, tl, &cl);
                    int n = snprintf(cat, sizeof(cat), "%s%s", id, secret);
                    bx_sha1_hex(cat, (size_t)n, hex);
                    if (cl == 40 && strncasecmp(h, hex, 40) == 0) {
                        bx_buf_printf(&out, "<handshake/>");
                        ok = true;
                    } else {
                        bx_buf_printf(
                            &out, "<stream:error><not-authorized "
                                  "xmlns='urn:ietf:params:xml:ns:xmpp-streams'"
                                  "/></stream:error></stream:stream>");
                    }
                    goto reply;
                } else if (ev == BX_END || ev == BX_ERROR) {
                    goto reply;
                }
            }
            if (out.len) {
                if (send(fd, out.data, out.len, MSG_NOSIGNAL) < 0)
                    break;
                out.len = 0;
            }
        }
    reply:
        if (out.len)
            (void)!send(fd, out.data, out.len, MSG_NOSIGNAL);
        bx_stream_free(&in);
        bx_buf_free(&out);
        if (ok) {
            close(lfd);
            conn_init(&direct_conn, fd);
            direct_conn.in.depth = 1; /* its header is read */
            fprintf(stderr, "loadgen: %s attached on port %d\n", jid, port);
            return;
        }
        close(fd);
    }
    die("no component attached within 60 s");
}

/* ---- main --------------------------------------------------------------- */

/* The iqs sent and not answered yet, pings included. */
static long long outstanding(void)
{
    long long busy = 0;

    for (int i = 0; i < nsess; i++)
        for (int k = 0; k < (sessions[i].ping ? 1 : opt.window); k++)
            busy += sessions[i].slots[k].busy;
    return busy;
}

static void usage(void)
{
    fprintf(stderr, "usage: loadgen --port C2S_PORT --to JID [options]\n"
                    "       loadgen --direct PORT SECRET JID [options]\n"
                    "(options: see the comment at the top of loadgen.c)\n");
    exit(64);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

/* The q-quantile of the latencies of kind k (K_COUNT: all but pings), in
 * ms; -1 when none. */
static double quantile(int k, double q)
{
    uint32_t *v = malloc((res.n ? res.n : 1) * sizeof(*v));
    size_t n = 0;
    double r;

    for (size_t i = 0; i < res.n; i++)
        if (k == K_COUNT ? res.v[i].kind != K_PING : res.v[i].kind == k)
            v[n++] = res.v[i].us;
    if (n == 0) {
        free(v);
        return -1;
    }
    qsort(v, n, sizeof(*v), cmp_u32);
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    r = v[i] / 1000.0;
    free(v);
    return r;
}

static void report(double setup_s)
{
    double secs = (double)(t_meas1 - t_meas0) / 1e6;
    long long rt = 0, err = 0;

    for (int k = 0; k < K_COUNT; k++)
        if (k != K_PING) {
            rt += res.replies[k];
            err += res.errors[k];
        }
    printf(
        "{\"mode\":\"%s\",\"label\":\"%s\",\"to\":\"%s\",\"workload\":\"%s\","
        "\"sessions\":%d,\"window\":%d,\"rate_cap\":%.0f,"
        "\"duration_s\":%.3f,\"setup_s\":%.3f,\"rt\":%lld,"
        "\"rt_per_s\":%.1f,\"ok_per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
        "\"errors\":%lld,\"lost\":%lld,\"rt_all\":%lld,\"ok_all\":%lld,"
        "\"sent\":%lld",
        opt.direct ? "direct" : "c2s", opt.label, opt.to,
        workload_name[opt.workload], opt.sessions, opt.window, opt.rate, secs,
        setup_s, rt, secs > 0 ? (double)rt / secs : 0,
        secs > 0 ? (double)(rt - err) / secs : 0, quantile(K_COUNT, 0.5),
        quantile(K_COUNT, 0.99), err, res.lost, res.all, res.ok_all,
        res.sent_total);
    for (int k = 0; k < K_COUNT; k++) {
        if (!res.replies[k])
            continue;
        printf(",\"%s\":{\"n\":%lld,\"errors\":%lld,\"p50_ms\":%.3f,"
               "\"p99_ms\":%.3f",
               kind_name[k], res.replies[k], res.errors[k], quantile(k, 0.5),
               quantile(k, 0.99));
        /* a successful reply's mean size, as the server sent it */
        if (res.sized[k])
            printf(",\"reply_bytes\":%.1f,\"reply_elements\":%.1f",
                   (double)res.bytes[k] / (double)res.sized[k],
                   (double)res.elements[k] / (double)res.sized[k]);
        printf("}");
    }
    printf("}\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    struct sigaction sa = {.sa_handler = on_signal};
    int direct_port = 0;
    uint64_t t0, end;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
#define ARG() (i + 1 < argc ? argv[++i] : (usage(), ""))
        if (!strcmp(a, "--host"))
            opt.host = ARG();
        else if (!strcmp(a, "--port"))
            opt.port = atoi(ARG());
        else if (!strcmp(a, "--domain"))
            opt.domain = ARG();
        else if (!strcmp(a, "--user"))
            opt.user = ARG();
        else if (!strcmp(a, "--password"))
            opt.password = ARG();
        else if (!strcmp(a, "--to"))
            opt.to = ARG();
        else if (!strcmp(a, "--sessions"))
            opt.sessions = atoi(ARG());
        else if (!strcmp(a, "--window"))
            opt.window = atoi(ARG());
        else if (!strcmp(a, "--duration"))
            opt.duration = atof(ARG());
        else if (!strcmp(a, "--warmup"))
            opt.warmup = atof(ARG());
        else if (!strcmp(a, "--rate"))
            opt.rate = atof(ARG());
        else if (!strcmp(a, "--ping-to"))
            opt.ping_to = ARG();
        else if (!strcmp(a, "--ping-ms"))
            opt.ping_ms = atoi(ARG());
        else if (!strcmp(a, "--register-accounts"))
            opt.register_accounts = true;
        else if (!strcmp(a, "--setup-only"))
            opt.setup_only = true;
        else if (!strcmp(a, "--tag"))
            opt.tag = ARG();
        else if (!strcmp(a, "--label"))
            opt.label = ARG();
        else if (!strcmp(a, "--max-iq"))
            opt.max_iq = atoll(ARG());
        else if (!strcmp(a, "--direct")) {
            opt.direct = true;
            direct_port = atoi(ARG());
            opt.direct_secret = ARG();
            opt.to = ARG();
        } else if (!strcmp(a, "--workload")) {
            const char *w = ARG();
            size_t n = sizeof(workload_name) / sizeof(*workload_name), j;
            for (j = 0; j < n && strcmp(w, workload_name[j]); j++)
                ;
            if (j == n)
                usage();
            opt.workload = (enum workload)j;
        } else
            usage();
    }
    if (!opt.to || opt.sessions < 1 || opt.sessions > 10000 || opt.window < 1 ||
        opt.window > 1000 || opt.duration <= 0 || opt.duration > 3600 ||
        opt.warmup < 0 || opt.warmup > 600 || (!opt.direct && !opt.port) ||
        (opt.direct && opt.ping_to) ||
        (!opt.direct && opt.workload == W_UNREGISTER))
        usage();
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if ((epfd = epoll_create1(0)) < 0)
        die("epoll_create1");

    nsess = opt.sessions + (opt.ping_to ? 1 : 0);
    sessions = calloc((size_t)nsess, sizeof(*sessions));
    dirty_list = calloc((size_t)nsess + 1, sizeof(*dirty_list));
    waiting.cap = (size_t)opt.sessions * (size_t)opt.window + 1;
    waiting.sess = calloc(waiting.cap, sizeof(int));
    waiting.slot = calloc(waiting.cap, sizeof(int));
    if (!sessions || !dirty_list || !waiting.sess || !waiting.slot)
        die("out of memory");

    t0 = bx_now_us();
    if (opt.direct)
        direct_accept(direct_port, opt.direct_secret, opt.to);
    for (int i = 0; i < nsess; i++) {
        struct sess *s = &sessions[i];
        s->idx = i;
        s->ping = opt.ping_to && i == opt.sessions;
        if (s->ping)
            snprintf(s->user, sizeof(s->user), "%sping", opt.user);
        else
            snprintf(s->user, sizeof(s->user), "%s%d", opt.user, i + 1);
        snprintf(s->jid, sizeof(s->jid), "%s@%s/bench", s->user, opt.domain);
        s->slots = calloc((size_t)opt.window, sizeof(*s->slots));
        if (!s->slots)
            die("out of memory");
        if (opt.direct) {
            s->c = &direct_conn;
            s->st = ST_READY;
        } else {
            s->c = malloc(sizeof(*s->c));
            if (!s->c)
                die("out of memory");
            conn_init(s->c, dial());
            s->c->owner = s;
            s->st = ST_FEAT1;
            send_header(s);
        }
    }
    flush_dirty();

    /* every session logged in, within 60 s */
    for (;;) {
        int ready = 0;
        for (int i = 0; i < nsess; i++) {
            if (sessions[i].st == ST_DEAD)
                die("a session was closed while logging in");
            ready += sessions[i].st == ST_READY;
        }
        if (ready == nsess)
            break;
        if (bx_now_us() - t0 > 60 * 1000000ull || interrupted)
            die("sessions not logged in within 60 s");
        poll_once(100);
    }
    double setup_s = (double)(bx_now_us() - t0) / 1e6;
    if (opt.setup_only) {
        fprintf(stderr, "loadgen: %d sessions logged in (%.1f s)\n", nsess,
                setup_s);
        goto close;
    }

    t_run0 = bx_now_us();
    t_meas0 = t_run0 + (uint64_t)(opt.warmup * 1e6);
    t_meas1 = t_meas0 + (uint64_t)(opt.duration * 1e6);
    for (int k = 0; k < opt.window; k++)
        for (int i = 0; i < opt.sessions; i++)
            want_issue(&sessions[i], k, t_run0);
    if (opt.ping_to)
        sessions[opt.sessions].next_ping = t_run0;
    flush_dirty();

    while (!interrupted) {
        uint64_t now = bx_now_us();
        int timeout = 50;
        if (now >= t_meas1)
            break;
        if (res.sent_total >= opt.max_iq && outstanding() == 0) {
            /* --max-iq reached: the measured window ends now */
            t_meas1 = now > t_meas0 ? now : t_meas0;
            break;
        }
        drain_waiting(now);
        if (waiting.head != waiting.tail)
            timeout = 1;
        if (opt.ping_to) {
            struct sess *p = &sessions[opt.sessions];
            if (!p->slots[0].busy && now >= p->next_ping)
                send_ping(p, now);
            if (!p->slots[0].busy) {
                int64_t d = ((int64_t)p->next_ping - (int64_t)now) / 1000;
                if (d < timeout)
                    timeout = d < 1 ? 1 : (int)d;
            }
        }
        flush_dirty();
        poll_once(timeout);
    }
    measuring_over = true;
    /* drain what is outstanding, 10 s at most */
    end = bx_now_us() + 10 * 1000000ull;
    for (;;) {
        long long busy = outstanding();
        res.lost = busy;
        if (busy == 0 || bx_now_us() > end || interrupted)
            break;
        poll_once(50);
    }
    report(setup_s);

close:
    for (int i = 0; i < nsess; i++) {
        struct conn *c = sessions[i].c;
        if (opt.direct)
            break;
        bx_buf_printf(&c->out, "</stream:stream>");
        conn_flush(c);
        close(c->fd);
    }
    if (opt.direct) {
        bx_buf_printf(&direct_conn.out, "</stream:stream>");
        conn_flush(&direct_conn);
        close(direct_conn.fd);
    }
    return 0;
}
