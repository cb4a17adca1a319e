/*
 * metrics.h - the metrics endpoint: GET /metrics in Prometheus' text
 * format, served by libmicrohttpd (metrics.c is the only file that
 * includes microhttpd.h: tests/headers_free_of_xmpp.sh checks it).
 *
 * The server runs on a thread of its own and renders each scrape from
 * stats.h's atomics (stats_render): it never takes a lock the event loop
 * waits on, and the loop never waits for it.  Signals are blocked on its
 * thread, so that SIGTERM and SIGHUP still cut the loop's poll() short.
 */
#ifndef REGISTRAR_METRICS_H
#define REGISTRAR_METRICS_H

#include "stats.h"

struct metrics;

/* Listens on where ("HOST:PORT", "[V6]:PORT", or the absolute path of a
 * unix socket, made anew: a socket file left there is replaced) and
 * serves stats (borrowed: must outlive the server).  Caller owns the
 * result (metrics_stop).  NULL, with the reason logged, when the address
 * cannot be had. */
struct metrics *metrics_start(const char *where, const struct stats *stats);

/* Stops the server: its thread joined, the socket closed (a unix
 * socket's file removed).  NULL is allowed. */
void metrics_stop(struct metrics *m);

/* What a scrape of url by method (GET or HEAD) is answered: the HTTP
 * status, and the body in *body (caller frees; NULL for none) and its
 * type.  Pure but for stats_render's reads of /proc. */
unsigned metrics_answer(const struct stats *stats, const char *method,
                        const char *url, char **body, size_t *len,
                        const char **type);

#endif
