/*
 * store.h - registrations in PostgreSQL.
 *
 * The store's files (store.c, store_sql.c, store_conn.c, store_migrate.c;
 * store_internal.h says which does what) are the only ones that include
 * libpq-fe.h; this header includes neither it nor libstrophe's.  Every
 * operation completes through a callback that carries the caller's
 * request, called only after the change is committed.
 *
 * Two ways to run.  Attached to the daemon's event loop (store_attach),
 * operations are queued and sent from the loop without blocking: the
 * operations queued together go out in one pipeline and one transaction
 * (one round trip, one commit), their callbacks run from store_on_ready()
 * once that commit is known.  Until attached (tests, --migrate), each
 * operation runs at once and waits for its answer: the callback runs
 * before the call returns.  Callers must not rely on either.  A callback
 * may submit another operation, never store_close().
 */
#ifndef REGISTRAR_STORE_H
#define REGISTRAR_STORE_H

#include <stdbool.h>
#include <stddef.h>

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
    STORE_BANNED,      /* the JID may not register with the service again
                        * (its user removed a disabled registration): nothing
                        * written */
    STORE_DENIED,      /* the database role lacks a right the operation
                        * needs (SQLSTATE 42501): a grant, not a retry */
    STORE_BAD_INVITE,  /* a put's invitation token is unknown, expired,
                        * revoked, used up or bound to another JID or
                        * domain (nothing written) */
    STORE_NO_INVITE,   /* a put that would create a registration has no
                        * invitation, and one is required */
    STORE_ERROR,       /* anything else; logged with the SQL state */
};

const char *store_status_name(enum store_status st);

/* The state of a registration (registrations.state). */
enum store_state {
    STORE_STATE_ACTIVE = 0,
    STORE_STATE_PENDING,  /* waits for the backend or an admin */
    STORE_STATE_DISABLED, /* kept, but no updates or password changes */
};
/* How many states there are (an array indexed by enum store_state). */
#define STORE_NSTATES (STORE_STATE_DISABLED + 1)

/* "active", "pending", "disabled". */
const char *store_state_name(enum store_state state);

/* Who asked for a change: it goes into the event the change writes
 * (registration_events), never a secret.  Borrowed for the call. */
struct store_origin {
    const char *iq_id;  /* the stanza id, NULL: none */
    const char *actor;  /* the admin's bare JID, NULL: the user */
    const char *reason; /* a disable's reason, shown to the user (at most
                         * 1024 characters), NULL: none; ignored by every
                         * other write */
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
    char *disabled_reason; /* while disabled: why, NULL when no reason */
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
    /* An update keeps, from the row on file, the value (a hash) of every
     * text-private field of def other than "password" that fields does
     * not hold: an update without secrets needs no read first. */
    enum store_state initial_state; /* for a new registration only */
    /* Where the state a new registration starts in is written before the
     * callback (initial_state, or an invitation's: sql/013), when the put
     * created one; NULL: not wanted.  Borrowed until the callback. */
    enum store_state *started;
    const struct store_consent *consents;
    size_t nconsents;
    struct store_origin origin;
    /* Invitations (sql/013).  invite false: none looked for (the
     * service's invites are off).  Else invite_token (NULL: the one bound
     * to the JID by store_invite_bind, if any) is checked, and a creation
     * uses it, in the same transaction; invite_required: a creation
     * without one is STORE_NO_INVITE.  An update uses none. */
    bool invite;
    const char *invite_token;
    bool invite_required;
};

struct store;

/* rec is NULL unless STORE_OK.  The callback may take what rec holds
 * (moving it out and leaving *rec zeroed, no copy needed); whatever is
 * left in it is freed when the callback returns. */
typedef void (*store_get_cb)(void *arg, enum store_status st,
                             struct store_record *rec);
typedef void (*store_done_cb)(void *arg, enum store_status st, bool created);
/* For put: created tells a new row from an update; reason (borrowed for
 * the call, NULL: none) is the admin's reason of STORE_NOT_ALLOWED (a
 * disabled registration) and STORE_BANNED. */
typedef void (*store_put_cb)(void *arg, enum store_status st, bool created,
                             const char *reason);

/* A store on conninfo (borrowed; copied).  Connects lazily and again after
 * any failure.  Caller owns the result (store_close). */
struct store *store_new(const char *conninfo);
void store_close(struct store *store);

/* The session's statement_timeout, in seconds (0: the default, 5); the
 * client gives up on a server silent for 2 s more.  Before the first
 * operation: a connection made earlier keeps its own. */
void store_set_statement_timeout(struct store *store, unsigned seconds);

struct stats;
/* From now on, counts into stats (stats.h; borrowed, must outlive the
 * store; NULL: nothing counted): its transactions (how each ended, its
 * time and size), its queue and its refusals, the database's state and
 * the connections made after the first.  Before the first operation. */
void store_set_stats(struct store *store, struct stats *stats);

/* From now on, runs on the caller's event loop: operations are queued
 * (at most queue_max, 0: a default of 256, submitted and not answered;
 * over that, STORE_UNAVAILABLE at once) and sent by store_turn(); their
 * callbacks run from store_on_ready() and store_turn().  migrator
 * (borrowed, NULL: none) runs a schema migration that start-up could not
 * do, off the loop.  Never call a blocking function of this file (connect,
 * migrate) on the loop after this. */
void store_attach(struct store *store, struct worker *migrator,
                  unsigned queue_max);

/* The loop's side of an attached store.  store_watch: the socket to poll
 * now and its events (-1: none).  store_on_ready: that socket is ready
 * (reads what the server sent, answers what was committed).
 * store_turn: at the end of every turn of the loop, at least every 200
 * ms: sends what was queued, gives up on an overdue server, and after
 * store_interrupt() answers everything STORE_UNAVAILABLE.  store_busy:
 * operations submitted and not answered yet, or a migration running. */
int store_watch(struct store *store, short *events);
void store_on_ready(struct store *store);
void store_turn(struct store *store);
bool store_busy(const struct store *store);

/* Connects now (whatever the back-off says), and waits: not on the loop.
 * STORE_OK or STORE_UNAVAILABLE (reason logged once per outage).  Never
 * waits past the connect timeout (the conninfo's connect_timeout, default
 * 5 s).
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

/* --migrate: brings the schema up to date under an advisory lock (one
 * migrator at a time), on a connection of its own, and waits: not on the
 * loop.  Then, when its role may create roles (superuser, CREATEROLE),
 * applies sql/roles.sql: the tables go to the NOLOGIN role
 * registrar_owner and the group roles get their privileges.  STORE_ERROR
 * when the database is newer than this binary or a migration fails
 * (nothing of that migration is kept). */
enum store_status store_migrate(struct store *store);

/* The daemon's start: checks the schema as store_migrate does, but
 * migrates it only when its own role owns it (a deployment of before the
 * separated roles, with a warning that names the risk); a schema behind
 * this binary that it does not own is STORE_ERROR, logged with what to
 * run.  Never applies sql/roles.sql. */
enum store_status store_prepare(struct store *store);

/* The highest migration this binary carries. */
int store_schema_version(void);

/* What the database says of this registrar (--check-config --connect),
 * read on a connection of its own, changing nothing. */
struct store_check {
    char where[256]; /* once connected: "DB on HOST:PORT as ROLE" */
    char why[512];   /* STORE_UNAVAILABLE: why not */
    char user[128];  /* the role */
    int schema;      /* the schema's version; 0: none; -1: unread */
    /* the rights the daemon needs (those registrar_service gives, sql/
     * roles.sql) that the role lacks, "" when none; read only when the
     * schema is this binary's, or its version could not be read */
    bool rights_read;
    char missing[1536];
    bool owner;     /* the role owns registrar's tables or their schema, or
                     * is a superuser */
    bool separated; /* the tables belong to registrar_owner */
};

/* Fills *c: STORE_OK (whatever the facts), STORE_UNAVAILABLE (c->why), or
 * STORE_ERROR when a query failed (logged).  Waits: not on the loop. */
enum store_status store_check(struct store *store, struct store_check *c);

/* claim (may be NULL) is a username the requester gives as its own: the
 * database decides whether it names this registration (the stored
 * username, or the bare JID, or with no username on file the JID's local
 * part, all compared by the username rule of sql/) and says so in
 * rec->claim_matches.  Usernames are never compared in C. */
void store_get(struct store *store, const char *service, const char *jid,
               const char *claim, store_get_cb cb, void *arg);

/* ---- the cache of registered gets (store_cache.h) ------------------------ */

/* From now on, store_get_cached() of service (copied) may answer from a
 * cache of at most entries (0: none; the default) registrations, the
 * least recently used out first; again for the same service: the new cap.
 * Before the store is attached, or its connection made: the connection
 * that serves a cache LISTENs on registrar.  Its counters go to the
 * service's of store_set_stats().  False when out of memory (no cache). */
bool store_set_cache(struct store *store, const char *service,
                     unsigned entries);

/* As store_get() without a claim, for a reply only: rec->password_hash is
 * always NULL.  Attached, with a cache for service, answered from it when
 * it can (the callback runs before this returns), else read (and kept).
 * Coherent: a write of this store is seen by the gets that follow its
 * callback; another's (another instance, an admin, plain SQL) by the gets
 * that follow its notification's arrival; a lost connection empties the
 * cache (store_cache.h). */
void store_get_cached(struct store *store, const char *service, const char *jid,
                      store_get_cb cb, void *arg);

/* From now on, the reads of store_get_cached() that no cache answers go
 * out on n connections of their own (at most 8; 0: the store's one, as
 * every other operation), each a pipeline of transactions as the store's,
 * to the one with the fewest in hand; the writes and every other
 * operation stay on the store's connection, one stream of transactions.
 * A get submitted after a write's callback sees that write, whichever
 * connection reads it.  Attached, before the first operation; once.
 * False when out of memory (none). */
bool store_set_readers(struct store *store, unsigned n);

/* Inserts, or updates the row of (service, jid).  STORE_CONFLICT when the
 * username belongs to another JID of the service; STORE_INVALID when the
 * username rule refuses it; STORE_NOT_ALLOWED when the row is disabled,
 * STORE_BANNED when the JID is banned from the service (nothing written;
 * the reason to the callback).  None of these fails another operation of
 * the same transaction. */
void store_put(struct store *store, const struct store_put *put,
               store_put_cb cb, void *arg);
/* Replaces the password hash (hash borrowed) of (service, jid) and
 * nothing else.  STORE_NOT_FOUND when there is no such registration,
 * STORE_NOT_ALLOWED when it is disabled (nothing written). */
void store_set_password(struct store *store, const char *service,
                        const char *jid, const char *hash,
                        const struct store_origin *origin, store_done_cb cb,
                        void *arg);
/* STORE_NOT_FOUND when there was nothing to remove.  The user's own
 * removal (origin without actor) of a disabled registration erases it but
 * bans the JID from the service (STORE_BANNED on a later put); an
 * admin's (with actor) deletes it and nothing more. */
void store_remove(struct store *store, const char *service, const char *jid,
                  const struct store_origin *origin, store_done_cb cb,
                  void *arg);

/* ---- for admins (XEP-0133 commands) -------------------------------------- */

/* Sets the state of (service, jid), only from the state *from (NULL: from
 * any), with origin->reason for a disable; STORE_NOT_FOUND when there is
 * no such registration, STORE_NOT_ALLOWED when it is in another state than
 * *from. */
void store_set_state(struct store *store, const char *service, const char *jid,
                     enum store_state state, const enum store_state *from,
                     const struct store_origin *origin, store_done_cb cb,
                     void *arg);

/* Lifts the ban of (service, jid) (an admin's re-enable of a JID whose
 * registration is gone); STORE_NOT_FOUND when there was none. */
void store_unban(struct store *store, const char *service, const char *jid,
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
/* The bare JIDs banned from the service (registration_bans), in JID
 * order, at most max (0: no limit); and how many there are. */
void store_list_bans(struct store *store, const char *service, unsigned max,
                     store_list_cb cb, void *arg);
void store_count_bans(struct store *store, const char *service,
                      store_count_cb cb, void *arg);

/* ---- messages to users (sql/014) ---------------------------------------- */

/* A state change to tell its user of: borrowed for the callback. */
struct store_state_change {
    long long event_id;     /* registration_events.id */
    const char *jid;        /* the bare JID */
    const char *username;   /* as the registration has it now; NULL: none */
    enum store_state state; /* STORE_STATE_ACTIVE or STORE_STATE_DISABLED */
    const char *reason;     /* a disable's reason, NULL: none */
};

/* changes[0..n) borrowed for the duration of the callback; n is 0 unless
 * STORE_OK. */
typedef void (*store_changes_cb)(void *arg, enum store_status st,
                                 const struct store_state_change *changes,
                                 size_t n);

/* Claims the state changes of the service still to be told, at most max
 * (registrar_claim_state_changes): once committed, no other claim (of
 * this store or another instance's) returns them.  The callback runs after
 * the commit: what it sends is sent at most once.  n == max: more may
 * follow.  None (n 0) when another claim of the service holds its cursor
 * now, and at the service's first claim (which starts at the log's end). */
void store_claim_state_changes(struct store *store, const char *service,
                               unsigned max, store_changes_cb cb, void *arg);

/* From now on, the store's connection LISTENs on registrar (as with a
 * cache) and cb(arg, payload) runs on the loop for each notification of
 * a commit that wrote events (any writer: this store, another instance,
 * plain SQL; payload borrowed for the call, the JSON of sql/005), and
 * cb(arg, NULL) each time a connection is made (what was notified while
 * there was none is lost).  cb only takes note: it must not call the
 * store.  Before the store is attached (the last call wins); NULL cb:
 * none. */
typedef void (*store_notify_cb)(void *arg, const char *payload);
void store_set_notify(struct store *store, store_notify_cb cb, void *arg);

/* ---- for the metrics -------------------------------------------------- */

/* counts[state] (indexed by enum store_state), borrowed for the call;
 * all 0 unless STORE_OK. */
typedef void (*store_states_cb)(void *arg, enum store_status st,
                                const unsigned long *counts);
/* How many registrations the service has in each state. */
void store_count_states(struct store *store, const char *service,
                        store_states_cb cb, void *arg);

/* ---- for the admin command line (admin.c) -------------------------------- */

/* Rows for people and for scripts: nrows rows of ncols columns named
 * names[0..ncols).  Each row is ncols cells, as PostgreSQL prints them
 * (NULL: SQL NULL), then the whole row as one JSON object (its columns
 * under their names, with their JSON types): read them with
 * store_table_cell() and store_table_json().  Everything borrowed for the
 * duration of the callback. */
struct store_table {
    size_t nrows, ncols;
    char *const *names;
    char *const *rows; /* nrows * (ncols + 1) */
};

static inline const char *store_table_cell(const struct store_table *t,
                                           size_t row, size_t col)
{
    return t->rows[row * (t->ncols + 1) + col];
}

static inline const char *store_table_json(const struct store_table *t,
                                           size_t row)
{
    return t->rows[row * (t->ncols + 1) + t->ncols];
}

/* t is NULL unless STORE_OK. */
typedef void (*store_table_cb)(void *arg, enum store_status st,
                               const struct store_table *t);

/* The registrations of the service (state NULL: whatever their state), in
 * JID order: jid, state, username, created_at, disabled_reason (times to
 * the second).  Reads the columns registrar_backend may read. */
void store_registrations(struct store *store, const char *service,
                         const enum store_state *state, store_table_cb cb,
                         void *arg);
/* The JIDs banned from the service, in JID order: jid, since, actor,
 * reason. */
void store_bans(struct store *store, const char *service, store_table_cb cb,
                void *arg);
/* One registration as registrations_admin shows it (no hash of any kind):
 * service, jid, username, state, fields, has_password, consents,
 * created_at, updated_at, disabled_at, disabled_by, disabled_reason.
 * STORE_NOT_FOUND when there is none. */
void store_registration(struct store *store, const char *service,
                        const char *jid, store_table_cb cb, void *arg);
/* The events of id above after_id, in id order, of the service and of
 * the bare JID jid (each NULL: any), at most max (0: no limit): id, at,
 * service, jid, event, iq_id, detail. */
void store_events_since(struct store *store, const char *service,
                        const char *jid, unsigned long long after_id,
                        unsigned max, store_table_cb cb, void *arg);
/* Everything stored about the bare JID in every service, as
 * sql/admin/export_jid.sql and its bans: one row of the counts
 * (registrations, bans, events) whose JSON is the document ({"jid",
 * "exported_at", "registrations", "bans", "events"}; no hash of any
 * kind).  STORE_NOT_FOUND when nothing is stored. */
void store_export(struct store *store, const char *jid, store_table_cb cb,
                  void *arg);
/* Erases the bare JID in every service: its registrations, bans and events
 * (registrar_forget_jid: a role granted registrar_admin, else
 * STORE_DENIED).  One row: registrations, bans, events (how many were
 * deleted).  STORE_NOT_FOUND when there was nothing. */
void store_forget(struct store *store, const char *jid, store_table_cb cb,
                  void *arg);
/* The service's figures, one row: service, registrations, active,
 * pending, disabled, banned, oldest_pending (the creation time of the
 * oldest pending registration, NULL: none). */
void store_stats(struct store *store, const char *service, store_table_cb cb,
                 void *arg);

/* ---- invitations (sql/013) ---------------------------------------------- */

/* A new invitation; everything borrowed for the call. */
struct store_invite {
    const char *service;
    const char *token;         /* >= 22 characters; NULL: made by the
                                * database */
    unsigned long ttl_s;       /* 0: never expires */
    unsigned max_uses;         /* 0: unlimited */
    const char *bound_to;      /* a bare JID or a domain; NULL: anyone */
    const char *initial_state; /* "active", "pending"; NULL: the
                                * service's */
    /* values for the fields a registration leaves out (a jsonb object,
     * as a put's fields); NULL: none */
    const struct form_data *fields;
    const char *label;          /* NULL: none */
    struct store_origin origin; /* actor: the creator */
};

/* One row: id, token, expires_at (UTC, "YYYY-MM-DDTHH:MM:SSZ"; NULL:
 * never), event_id. */
void store_invite_create(struct store *store, const struct store_invite *inv,
                         store_table_cb cb, void *arg);
/* The service's invitations, newest first, at most max (0: no limit):
 * id, label, creator, created_at, expires_at, max_uses, uses, bound_to,
 * initial_state, state (usable, expired, revoked, used), redemptions (a
 * JSON array of {jid, at, event_id}: the newest 10 only, uses counts them
 * all; the view registration_invites_admin has every one); never the token
 * or its hash. */
void store_invite_list(struct store *store, const char *service, unsigned max,
                       store_table_cb cb, void *arg);
/* Revokes invitation id of service; STORE_NOT_FOUND when there is none
 * (or it was revoked already). */
void store_invite_revoke(struct store *store, const char *service,
                         unsigned long long id,
                         const struct store_origin *origin, store_done_cb cb,
                         void *arg);
/* XEP-0445 <preauth/>: binds token to the bare JID for ttl_s seconds when
 * it is a usable invitation of service for that JID (STORE_OK), else
 * STORE_BAD_INVITE.  Uses nothing. */
void store_invite_bind(struct store *store, const char *service,
                       const char *token, const char *jid, unsigned long ttl_s,
                       store_done_cb cb, void *arg);

/* Whether a <preauth/> bound a usable invitation to the bare JID (the
 * binding not expired), for the form it gets: STORE_OK with the
 * invitation's field values in rec->fields (maybe none; nothing else of
 * rec is set), STORE_NOT_FOUND when there is none. */
void store_invite_prefill(struct store *store, const char *service,
                          const char *jid, store_get_cb cb, void *arg);

/* ---- challenges (sql/015, XEP-0158) ---------------------------------------
 */

/* A challenge check's outcome (registrar_challenge_check). */
enum store_challenge {
    STORE_CHALLENGE_OK = 0, /* right, in time, the JID's own: now used */
    STORE_CHALLENGE_WRONG,
    STORE_CHALLENGE_EXPIRED,
    STORE_CHALLENGE_USED,    /* answered before: a replay */
    STORE_CHALLENGE_UNKNOWN, /* no such challenge of the service */
    STORE_CHALLENGE_FOREIGN, /* issued to another JID */
    STORE_CHALLENGE_LOCKED,  /* the JID is locked out (maybe from now) */
};

/* For the 'risk' rule and the lockout (registrar_challenge_status). */
struct store_challenge_status {
    unsigned long locked_for_s;        /* 0: not locked out */
    bool failed_recently;              /* a failure within the window */
    unsigned long signups_last_minute; /* the service's 'registered' */
};

/* id: the challenge's (owned by the store, valid for the call); NULL
 * unless STORE_OK. */
typedef void (*store_challenge_issue_cb)(void *arg, enum store_status st,
                                         const char *id);
typedef void (*store_challenge_check_cb)(void *arg, enum store_status st,
                                         enum store_challenge outcome);
typedef void (*store_challenge_status_cb)(
    void *arg, enum store_status st, const struct store_challenge_status *cs);

/* An image challenge's PNG (XEP-0231's data) and its cid. */
struct store_challenge_image {
    const unsigned char *png;
    size_t len;
    const char *cid; /* "sha1+HEX@bob.xmpp.org" */
};

/* A new challenge of service for the bare JID, valid ttl_s seconds,
 * accepting each of the nanswers (1 to 16) normalised answers (stored only
 * as salted SHA-256); image: its PNG (NULL: a question).  Everything
 * borrowed for the call. */
void store_challenge_issue(struct store *store, const char *service,
                           const char *jid, unsigned long ttl_s,
                           const char *const *answers, size_t nanswers,
                           const struct store_challenge_image *image,
                           store_challenge_issue_cb cb, void *arg);

/* png (len bytes; owned by the store, valid for the call) and the seconds
 * its challenge stays live; NULL unless STORE_OK. */
typedef void (*store_challenge_image_cb)(void *arg, enum store_status st,
                                         const unsigned char *png, size_t len,
                                         unsigned long ttl_s);
/* XEP-0231: the PNG of service's live image challenge cid;
 * STORE_NOT_FOUND when there is none. */
void store_challenge_image(struct store *store, const char *service,
                           const char *cid, store_challenge_image_cb cb,
                           void *arg);
/* The normalised answer of the JID to challenge id: single use, bound to
 * the JID it was issued to; a failure counts, the max_failures-th locks
 * the JID out for lockout_s seconds. */
void store_challenge_check(struct store *store, const char *service,
                           const char *jid, const char *id, const char *answer,
                           unsigned max_failures, unsigned long lockout_s,
                           store_challenge_check_cb cb, void *arg);
/* The JID's lockout and recent failures (within recent_s seconds), and the
 * service's sign-ups in the last minute. */
void store_challenge_status(struct store *store, const char *service,
                            const char *jid, unsigned long recent_s,
                            store_challenge_status_cb cb, void *arg);

void store_record_clear(struct store_record *rec);

#endif
