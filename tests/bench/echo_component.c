/*
 * echo_component.c - the ceiling of the benchmark: a XEP-0114 component
 * that answers every iq get or set at once with a result echoing its
 * query, and does nothing else.  No store, no validation, no library but
 * libc: what is left of a round trip through the server when the
 * component costs (almost) nothing.
 *
 *   echo_component HOST PORT JID SECRET [MAX_SECONDS=14400]
 *
 * Connects, handshakes, serves; after a lost connection (or none yet)
 * tries again every 100 ms.  Stops on SIGTERM/SIGINT, or by itself after
 * MAX_SECONDS.  A benchmark tool, not a product: it asserts nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "benchxml.h"

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

static bool send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static int dial(const char *host, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port)};
    int fd, one = 1;

    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -1;
    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Appends the reply to one iq get/set stanza to out. */
static void answer(struct bx_buf *out, const char *st, size_t len)
{
    size_t idl, froml, tol, typel, cl;
    const char *id = bx_attr(st, len, "id", &idl);
    const char *from = bx_attr(st, len, "from", &froml);
    const char *to = bx_attr(st, len, "to", &tol);
    const char *type = bx_attr(st, len, "type", &typel);
    const char *inner;

    if (!bx_is(st, len, "iq") || !type || !from || !id)
        return;
    if (!(typel == 3 && memcmp(type, "get", 3) == 0) &&
        !(typel == 3 && memcmp(type, "set", 3) == 0))
        return;
    inner = bx_inner(st, len, &cl);
    bx_buf_printf(out, "<iq type='result' id='%.*s' from='%.*s' to='%.*s'>",
                  (int)idl, id, (int)(to ? tol : 0), to ? to : "", (int)froml,
                  from);
    bx_buf_add(out, inner, cl);
    bx_buf_add(out, "</iq>", 5);
}

/* One connection's life: false when the secret was refused. */
static bool serve(int fd, const char *jid, const char *secret, time_t until)
{
    struct bx_stream in = {0};
    struct bx_buf out = {0};
    char buf[65536];
    bool ready = false, ok = true;

    bx_buf_printf(&out,
                  "<?xml version='1.0'?><stream:stream "
                  "xmlns:stream='http://etherx.jabber.org/streams' "
                  "xmlns='jabber:component:accept' to='%s'>",
                  jid);
    if (!send_all(fd, out.data, out.len))
        goto out;
    out.len = 0;
    while (!stopping && time(NULL) < until) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        const char *t;
        size_t tl;
        enum bx_event ev;
        ssize_t r;

        if (poll(&p, 1, 500) <= 0)
            continue;
        r = recv(fd, buf, sizeof(buf), 0);
        if (r <= 0)
            break;
        bx_stream_feed(&in, buf, (size_t)r);
        while ((ev = bx_stream_next(&in, &t, &tl)) != BX_NONE) {
            if (ev == BX_END || ev == BX_ERROR)
                goto out;
            if (ev == BX_HEADER) {
                size_t idl;
                const char *id = bx_attr(t, tl, "id", &idl);
                char cat[512], hex[41];
                int n = snprintf(cat, sizeof(cat), "%.*s%s",
                                 (int)(id ? idl : 0), id ? id : "", secret);
                bx_sha1_hex(cat, (size_t)n, hex);
                bx_buf_printf(&out, "<handshake>%s</handshake>", hex);
            } else if (!ready) {
                if (bx_is(t, tl, "handshake")) {
                    ready = true;
                    fprintf(stderr, "echo_component: attached as %s\n", jid);
                } else {
                    fprintf(stderr, "echo_component: refused: %.*s\n", (int)tl,
                            t);
                    ok = false;
                    goto out;
                }
            } else {
                answer(&out, t, tl);
            }
        }
        if (out.len && !send_all(fd, out.data, out.len))
            break;
        out.len = 0;
    }
out:
    bx_stream_free(&in);
    bx_buf_free(&out);
    return ok;
}

int main(int argc, char **argv)
{
    struct sigaction sa = {.sa_handler = on_signal};
    time_t until;

    if (argc < 5 || argc > 6) {
        fprintf(stderr,
                "usage: echo_component HOST PORT JID SECRET [MAX_SECONDS]\n");
        return 64;
    }
    until = time(NULL) + (argc > 5 ? atol(argv[5]) : 14400);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    while (!stopping && time(NULL) < until) {
        int fd = dial(argv[1], atoi(argv[2]));
        if (fd >= 0) {
            bool ok = serve(fd, argv[3], argv[4], until);
            close(fd);
            if (!ok)
                return 77;
        }
        if (!stopping)
            usleep(100000);
    }
    return 0;
}
