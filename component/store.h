/*
 * store.h - registrations in PostgreSQL.
 *
 * store.c is the only file that includes libpq-fe.h.  Every operation
 * completes through a callback that carries the caller's request.  The
 * statements run on a worker: the daemon's (store_set_worker), one at a
 * time on its thread, the callback later on the loop thread; or, until
 * one is set, an inline worker of the store's own, the callback before
 * the call returns (tests, --migrate).  Callers must not rely on either.
 * A callback runs only after the change is committed.
 */
#ifndef REGISTRAR_STORE_H
#define REGISTRAR_STORE_H

#include <stdbool.h>

#include "form_values.h"
#include "worker.h"

enum store_status {
    STORE_OK = 0,
    STORE_NOT_FOUND,   /* no registration for that (service, jid) */
    STORE_CONFLICT,    /* the username is taken in that service */
    STORE_UNAVAILABLE, /* database down or timed out: try again later */
    STORE_INVALID,     /* the database refused a value: a CHECK constraint
                        * (e.g. a username its rule refuses) */
    STORE_NOT_ALLOWED, /* the registration's state refused the write: an
                        * update or password change of a disabled one, or
                        * a state change from another state than asked */
    STORE_ERROR,       /* anything else; logged with the SQL state */
};

const char *store_status_name(enum store_status st);

/* The state of a registration (registrations.state). */
enum store_state {
    STORE_STATE_ACTIVE = 0,
    STORE_STATE_PENDING,  /* waits for the backend or an admin */
    STORE_STATE_DISABLED, /* kept, but no updates or password changes */
};

/* "active", "pending", "disabled". */
const char *store_state_name(enum store_state state);

/* Who asked for a change: it goes into the event the change writes
 * (registration_events), never a secret.  Borrowed for the call. */
struct store_origin {
    const char *iq_id; /* the stanza id, NULL: none */
    const char *actor; /* the admin's bare JID, NULL: the user */
};

/* A consent field given as true: recorded with its version and the time
 * of the commit (registrations.consents) unless that version is on file. */
struct store_consent {
    const char *var;
    const char *version;
};

/* One registration as stored.  All strings owned by the record. */
struct store_record {
    char *service;
    char *jid;
    char *username;      /* NULL when none */
    char *password_hash; /* NULL when none */
    struct form_data fields;
    /* The claim given to store_get names this registration (under the
     * database's one username rule); false when no claim was given. */
    bool claim_matches;
    enum store_state state;
};

/* What to write.  Everything borrowed for the duration of the call. */
struct store_put {
    const char *service;
    const char *jid;                /* bare JID */
    const char *username;           /* NULL: none */
    const struct form_def *def;     /* which fields are lists (may be NULL:
                                     * a field with one value is a string) */
    const struct form_data *fields; /* stored as a jsonb object: var ->
                                     * value, or an array for -multi */
    const char *password_hash;      /* NULL: keep the stored one */
    enum store_state initial_state; /* for a new registration only */
    const struct store_consent *consents;
    size_t nconsents;
    struct store_origin origin;
};

struct store;

/* rec is NULL unless STORE_OK.  The callback may take what rec holds
 * (moving it out and leaving *rec zeroed, no copy needed); whatever is
 * left in it is freed when the callback returns. */
typedef void (*store_get_cb)(void *arg, enum store_status st,
                             struct store_record *rec);
/* For put: created tells a new row from an update. */
typedef void (*store_done_cb)(void *arg, enum store_status st, bool created);

/* A store on conninfo (borrowed; copied).  Connects lazily and again after
 * any failure.  Caller owns the result (store_close). */
struct store *store_new(const char *conninfo);
void store_close(struct store *store);

/* From now on, runs every operation on w (borrowed; one thread: the
 * connection is not shared; NULL: the store's inline worker again), with
 * at most queue_max of them submitted and
 * not answered (0: a default of 256).  Over that bound, or when w refuses
 * work (closed), operations answer STORE_UNAVAILABLE at once.  Jobs that
 * w drops when it is closed answer STORE_UNAVAILABLE too. */
void store_set_worker(struct store *store, struct worker *w,
                      unsigned queue_max);

/* Connects now (whatever the back-off says).  STORE_OK or
 * STORE_UNAVAILABLE (reason logged once per outage).  Never waits past the
 * connect timeout (the conninfo's connect_timeout, default 5 s).
 *
 * While the database is unreachable, operations do not connect: after a
 * failed attempt (or a statement the server did not answer within
 * statement_timeout + 2 s), they answer STORE_UNAVAILABLE at once until a
 * delay has passed, 250 ms doubling up to 10 s, each half fixed and half
 * random; then one operation tries again. */
enum store_status store_connect(struct store *store);

/* Cuts short the wait in hand (connect or statement) and every later one:
 * they answer STORE_UNAVAILABLE at once.  For shutdown; any thread may
 * call it; there is no way back. */
void store_interrupt(struct store *store);

/* Brings the schema up to date under an advisory lock (one migrator at a
 * time).  STORE_ERROR when the database is newer than this binary or a
 * migration fails (nothing of that migration is kept). */
enum store_status store_migrate(struct store *store);

/* The highest migration this binary carries. */
int store_schema_version(void);

/* claim (may be NULL) is a username the requester gives as its own: the
 * database decides whether it names this registration (the stored
 * username, or the bare JID, or with no username on file the JID's local
 * part, all compared by the username rule of sql/) and says so in
 * rec->claim_matches.  Usernames are never compared in C. */
void store_get(struct store *store, const char *service, const char *jid,
               const char *claim, store_get_cb cb, void *arg);
/* Inserts, or updates the row of (service, jid).  STORE_CONFLICT when the
 * username belongs to another JID of the service; STORE_NOT_ALLOWED when
 * the row is disabled (nothing written). */
void store_put(struct store *store, const struct store_put *put,
               store_done_cb cb, void *arg);
/* Replaces the password hash (hash borrowed) of (service, jid) and
 * nothing else.  STORE_NOT_FOUND when there is no such registration,
 * STORE_NOT_ALLOWED when it is disabled (nothing written). */
void store_set_password(struct store *store, const char *service,
                        const char *jid, const char *hash,
                        const struct store_origin *origin, store_done_cb cb,
                        void *arg);
/* STORE_NOT_FOUND when there was nothing to remove. */
void store_remove(struct store *store, const char *service, const char *jid,
                  const struct store_origin *origin, store_done_cb cb,
                  void *arg);

/* ---- for admins (XEP-0133 commands) -------------------------------------- */

/* Sets the state of (service, jid), only from the state *from (NULL: from
 * any); STORE_NOT_FOUND when there is no such registration,
 * STORE_NOT_ALLOWED when it is in another state than *from. */
void store_set_state(struct store *store, const char *service, const char *jid,
                     enum store_state state, const enum store_state *from,
                     const struct store_origin *origin, store_done_cb cb,
                     void *arg);

typedef void (*store_count_cb)(void *arg, enum store_status st,
                               unsigned long n);
/* How many registrations the service has (state NULL: whatever their
 * state). */
void store_count(struct store *store, const char *service,
                 const enum store_state *state, store_count_cb cb, void *arg);

/* jids[0..n) borrowed for the duration of the callback. */
typedef void (*store_list_cb)(void *arg, enum store_status st,
                              char *const *jids, size_t n);
/* The bare JIDs registered with the service (state NULL: whatever their
 * state), in JID order, at most max (0: no limit). */
void store_list(struct store *store, const char *service,
                const enum store_state *state, unsigned max, store_list_cb cb,
                void *arg);

void store_record_clear(struct store_record *rec);

#endif
