/*
 * monitor.h - what the event loop tells of itself, from the loop: the
 * periodic stats line (log.stats_interval_s, as PgBouncer's "stats: ..."),
 * the database's state for systemd's STATUS= (handed to a callback when
 * it changes), and, while the metrics endpoint is on, the registrations
 * of each service by state, read from the store every MONITOR_STATES_S
 * seconds (never per scrape) into stats.h.
 *
 * Reads the counters of stats.h and asks the store without blocking; no
 * XMPP, no libpq.
 */
#ifndef REGISTRAR_MONITOR_H
#define REGISTRAR_MONITOR_H

#include <stdbool.h>

#include "conf.h"
#include "stats.h"
#include "store.h"

/* How often the registrations by state are read (one count per service,
 * the next only once all have answered). */
#define MONITOR_STATES_S 5.0

struct monitor_env {
    struct stats *stats;         /* borrowed */
    struct store *store;         /* borrowed */
    const struct conf *services; /* the chain whose JIDs are read; borrowed
                                  * (the boot chain: it lives as long) */
    double (*now)(void);         /* monotonic seconds */
    /* The database's part of STATUS= ("database up", ...), each time it
     * changes (the first turn included); text borrowed for the call. */
    void (*db_status)(void *arg, const char *text);
    void *arg;
};

struct monitor;

/* env is copied; what it points to must outlive the monitor.  Caller
 * owns the result (monitor_free).  NULL when out of memory. */
struct monitor *monitor_new(const struct monitor_env *env);
/* Frees m.  No count of the store's may still be pending: after the
 * store has answered everything (store_turn after store_interrupt). */
void monitor_free(struct monitor *m);

/* The stats line every seconds (0: none); from now on (a reload). */
void monitor_set_interval(struct monitor *m, unsigned seconds);
/* Whether the registrations are read (the metrics endpoint is on). */
void monitor_read_states(struct monitor *m, bool on);

/* At the end of every turn of the loop: whatever is due. */
void monitor_turn(struct monitor *m);

#endif
