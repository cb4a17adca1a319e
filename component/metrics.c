/*
 * metrics.c - the metrics endpoint (metrics.h) on libmicrohttpd: the only
 * file that includes microhttpd.h.
 *
 * We make the listening socket ourselves (an address, or a unix socket's
 * path, with the reason of a failure in our log) and hand it to
 * libmicrohttpd, which serves it from one internal thread: at most
 * CONN_MAX connections, each dropped after CONN_TIMEOUT_S of silence.
 * Every scrape is rendered anew from stats.h's atomics on that thread;
 * nothing here touches the loop's state.
 */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

#define CONN_MAX 16
#define CONN_TIMEOUT_S 10
#define BACKLOG 16

/* Prometheus' text exposition format, version 0.0.4. */
#define TYPE_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define TYPE_TEXT "text/plain; charset=utf-8"

struct metrics {
    struct MHD_Daemon *daemon;
    const struct stats *stats;
    char *unix_path; /* the socket file we made, or NULL */
};

/* ---- the answers --------------------------------------------------------- */

static char *text(const char *s, size_t *len)
{
    char *d = strdup(s);

    *len = d ? strlen(d) : 0;
    return d;
}

unsigned metrics_answer(const struct stats *stats, const char *method,
                        const char *url, char **body, size_t *len,
                        const char **type)
{
    *type = TYPE_TEXT;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        *body = text("Only GET and HEAD.\n", len);
        return MHD_HTTP_METHOD_NOT_ALLOWED;
    }
    if (strcmp(url, "/metrics") == 0) {
        if (!(*body = stats_render(stats, len))) {
            *body = text("Out of memory.\n", len);
            return MHD_HTTP_INTERNAL_SERVER_ERROR;
        }
        *type = TYPE_METRICS;
        return MHD_HTTP_OK;
    }
    if (strcmp(url, "/") == 0) {
        *body = text("registrar: the metrics are at /metrics\n", len);
        return MHD_HTTP_OK;
    }
    *body = text("Not found: the metrics are at /metrics\n", len);
    return MHD_HTTP_NOT_FOUND;
}

/* libmicrohttpd's handler, on its thread: answered on the first call (a
 * GET or HEAD carries no body; another method's body is not read). */
static enum MHD_Result on_request(void *arg, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
    struct metrics *m = arg;
    struct MHD_Response *resp;
    const char *type;
    char *body = NULL;
    size_t len = 0;
    unsigned status;
    enum MHD_Result ret;

    (void)version;
    (void)upload;
    (void)upload_size;
    (void)state;
    status = metrics_answer(m->stats, method, url, &body, &len, &type);
    resp =
        body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* libmicrohttpd's own messages, in our log. */
static void on_mhd_log(void *arg, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void on_mhd_log(void *arg, const char *fmt, va_list ap)
{
    char msg[256];
    size_t n;

    (void)arg;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_warn("metrics", "libmicrohttpd: %s", msg);
}

/* ---- the socket ---------------------------------------------------------- */

/* A listening socket on the unix path, or -1 with why. */
static int listen_unix(const char *path, char *why, size_t whylen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(why, whylen, "the path is too long for a unix socket");
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    /* a socket left by an earlier run is replaced; anything else stays */
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(fd, BACKLOG) != 0) {
        snprintf(why, whylen, "%s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* A listening socket on HOST:PORT or [V6]:PORT, the first address of
 * HOST that can be had, or -1 with why. */
static int listen_inet(const char *where, char *why, size_t whylen)
{
    const char *colon = strrchr(where, ':');
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char host[256];
    size_t hl;
    int fd = -1, on = 1, rc;

    if (!colon || colon == where) {
        snprintf(why, whylen, "not HOST:PORT");
        return -1;
    }
    hl = (size_t)(colon - where);
    if (where[0] == '[' && hl > 2 && where[hl - 1] == ']') {
        where++; /* [V6] */
        hl -= 2;
    }
    if (hl >= sizeof(host)) {
        snprintf(why, whylen, "the host name is too long");
        return -1;
    }
    memcpy(host, where, hl);
    host[hl] = '\0';
    if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
        snprintf(why, whylen, "%s", gai_strerror(rc));
        return -1;
    }
    snprintf(why, whylen, "no address");
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    a->ai_protocol);
        if (fd < 0) {
            snprintf(why, whylen, "%s", strerror(errno));
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
        if (a->ai_family == AF_INET6) /* [::]: IPv6 only, as written */
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
        if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 ||
            listen(fd, BACKLOG) != 0) {
            snprintf(why, whylen, "%s", strerror(errno));
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

struct metrics *metrics_start(const char *where, const struct stats *stats)
{
    struct metrics *m = calloc(1, sizeof(*m));
    sigset_t all, old;
    char why[256] = "out of memory";
    int fd = -1;

    if (!m)
        goto fail;
    m->stats = stats;
    if (where[0] == '/') {
        if (!(m->unix_path = strdup(where)))
            goto fail;
        fd = listen_unix(where, why, sizeof(why));
    } else {
        fd = listen_inet(where, why, sizeof(why));
    }
    if (fd < 0)
        goto fail;
    /* the server's thread inherits a mask that blocks every signal: they
     * go to the loop's thread, where they cut poll() short */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    m->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, on_request, m, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)CONN_MAX, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)CONN_TIMEOUT_S, MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!m->daemon) {
        snprintf(why, sizeof(why), "libmicrohttpd did not start");
        goto fail;
    }
    if (where[0] == '/')
        log_info("metrics", "serving GET /metrics on the unix socket %s",
                 where);
    else
        log_info("metrics", "serving the metrics at http://%s/metrics", where);
    return m;
fail:
    log_error("metrics", "cannot listen on %s for the metrics: %s", where, why);
    if (fd >= 0)
        close(fd);
    if (m && m->unix_path && fd >= 0)
        unlink(m->unix_path);
    if (m)
        free(m->unix_path);
    free(m);
    return NULL;
}

void metrics_stop(struct metrics *m)
{
    if (!m)
        return;
    MHD_stop_daemon(m->daemon); /* joins its thread, closes the socket */
    if (m->unix_path)
        unlink(m->unix_path);
    free(m->unix_path);
    free(m);
}
