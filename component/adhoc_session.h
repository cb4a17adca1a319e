/*
 * adhoc_session.h - what the files of the ad-hoc commands share, and only
 * they: the service (struct adhoc), a command (struct cmd), a session
 * (struct session) and one command request in progress in it (struct
 * run), with the machinery of adhoc_session.c: sessions bounded per JID
 * and in total (shared by max-min fairness) and expired, floods counted
 * and logged once a second, a run's life, and the command's answer.  Not
 * for use outside adhoc*.c (see adhoc.h for the files).
 *
 * Ownership: a command's stage takes its run and ends it exactly once,
 * with adhoc_run_done(), after answering it (or releasing its session
 * first with adhoc_run_release() to keep the session open).
 */
#ifndef REGISTRAR_ADHOC_SESSION_H
#define REGISTRAR_ADHOC_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <strophe.h>

#include "conf.h"
#include "form_values.h"
#include "iq.h"
#include "limiter.h"
#include "store.h"

struct reg;

/* ---- the commands -------------------------------------------------------- */

enum kind {
    KIND_REGISTER, /* jabber:iq:register through reg */
    KIND_COUNT,    /* one stage: a number */
    KIND_LIST,     /* max_items, then the JIDs */
    KIND_ACCOUNTS, /* accountjids, then a change to each */
    KIND_INVITE,   /* invitations (adhoc_invite.c): see invite */
};

enum act { ACT_NONE, ACT_DISABLE, ACT_REENABLE, ACT_DELETE, ACT_ACTIVATE };

enum invite_act { INVITE_NONE, INVITE_CREATE, INVITE_LIST, INVITE_REVOKE };

/* One command: its node and name (disco) and what it does.  The table is
 * its files': adhoc_register.c's and adhoc_admin.c's. */
struct cmd {
    const char *node, *name;
    enum kind kind;
    bool admin;
    bool by_state; /* count/list: only registrations in state */
    bool bans;     /* list: the JIDs banned (registration_bans), not the
                    * registrations */
    enum store_state state;
    const char *var, *label;          /* count/list: the result field */
    const char *title, *instructions; /* the form of the first stage */
    const char *jids_label;           /* accounts: the accountjids label */
    enum act act;
    const char *done; /* accounts: what was done, for the note */
    /* invite: which; run only while the service's invitations are on */
    enum invite_act invite;
};

/* ---- the service and its sessions -------------------------------------- */

struct run;

struct session {
    struct session *next;
    const struct cmd *cmd;
    char id[48];
    char *owner; /* the full JID that started it */
    char *bare;
    double expires;
    double ttl; /* how long it lives unused */
    bool admin; /* started by an admin: not under ADHOC_SESSIONS_MAX */
    bool busy;  /* a request of it is in flight: run */
    struct run *run;
};

/* What comes in floods (adhoc.h), counted and logged once a second. */
enum tally {
    TALLY_RATE,    /* an execute over a rate limit */
    TALLY_FULL,    /* an execute refused: no session could be freed */
    TALLY_EVICTED, /* a session ended to make room for another JID's */
    NTALLIES
};

struct adhoc {
    const struct conf *conf;
    struct reg *reg;
    struct store *store;
    double (*now)(void);     /* adhoc.h's struct adhoc_env, copied */
    struct limiter *limiter; /* executes (adhoc.h) */
    struct session *sessions;
    unsigned nsessions; /* all of them */
    unsigned nusers;    /* those of non-admins, capped */
    unsigned long counter;
    struct limiter_tally tallies[NTALLIES];
};

/* Counts one event of kind k (bare: the JID it is about); see adhoc.h. */
void adhoc_tally(struct adhoc *a, enum tally k, const char *bare);
/* Writes the counts held back that are due. */
void adhoc_tally_flush(struct adhoc *a);

/* A new session of cmd for owner (a full JID; bare is its bare JID), or
 * NULL with *why set (a cap) or NULL (out of memory).  An admin's sessions
 * are not under the total cap, which anyone can fill with made-up JIDs;
 * they are bounded by the per-JID cap and the list of admins.  A
 * non-admin's at the total may take the place of another JID's idle
 * session (adhoc.h: max-min fairness). */
struct session *adhoc_session_new(struct adhoc *a, const struct cmd *cmd,
                                  const char *owner, const char *bare,
                                  bool admin, const char **why);
struct session *adhoc_session_find(struct adhoc *a, const char *id);
/* Unlinks and frees s. */
void adhoc_session_end(struct adhoc *a, struct session *s);
/* Drops the sessions unused for their ttl (never one in flight). */
void adhoc_sessions_sweep(struct adhoc *a);
/* Frees every session (nothing may be in flight). */
void adhoc_sessions_free(struct adhoc *a);

/* ---- one command request in progress ----------------------------------- */

/* OUT_UNBANNED: a re-enable that found no registration but a ban, and
 * lifted it. */
enum outcome {
    OUT_OK,
    OUT_NOT_FOUND,
    OUT_WRONG_STATE,
    OUT_FAILED,
    OUT_UNBANNED
};

struct run {
    struct adhoc *adhoc;
    struct iq_req *req;
    const struct cmd *cmd;
    struct session *s; /* NULL once released, or canceled under us */
    char sid[48];      /* its id, for the replies */
    bool canceled;     /* the session was canceled while this was in flight */
    char *bare;        /* the requester's */
    char *service;     /* the component JID, copied (a reload may free the
                        * conf while the store works) */
    bool submit;       /* register: the stage that submits */
    /* accounts: the JIDs, and what happened to each */
    char **jids;
    enum outcome *out;
    size_t n, i;
    char *reason; /* disable: the reason given, NULL: none */
    unsigned max; /* list: at most this many */
    /* list: the JIDs shown, how many the store gave, and whether the
     * reply's size cut them; create-invite and list-invites: the values
     * of the result form */
    struct form_data list;
    size_t shown, fetched;
    bool cut_by_size;
};

/* Frees run (not its request). */
void adhoc_run_free(struct run *run);
/* The session s runs run's request from now on. */
void adhoc_run_attach(struct run *run, struct session *s);
/* Ends the session (end: the command is over) or lets it be used
 * again. */
void adhoc_run_release(struct run *run, bool end);
/* Ends a command request: wipes what its payload carried (a password
 * submitted to the registration command; nothing reads it once answered)
 * and ends it. */
void adhoc_req_end(struct iq_req *req);
/* Ends the request and run (ending the session if still held). */
void adhoc_run_done(struct run *run);

/* ---- answers ------------------------------------------------------------- */

/* <command xmlns node sessionid status/>; caller owns it. */
xmpp_stanza_t *adhoc_command_elem(struct run *run, const char *sessionid,
                                  const char *status);
void adhoc_add_note(xmpp_stanza_t *c, const char *type, const char *text);
/* <actions execute='complete'><complete/></actions>: the one next step. */
void adhoc_add_actions_complete(xmpp_stanza_t *c);
/* Answers with c (taken) as the result. */
void adhoc_reply_command(struct run *run, xmpp_stanza_t *c);
/* An XEP-0050 error: condition, its usual type (NULL) or the one given,
 * and the specific <cmd:NAME/> (NULL: none). */
void adhoc_fail_cmd(struct run *run, enum iq_error e, const char *type,
                    const char *specific, const char *text);
/* internal-server-error: the database is unavailable. */
void adhoc_fail_unavailable(struct run *run);
/* The first element child of el named name in ns (NULL: any), or NULL. */
xmpp_stanza_t *adhoc_child_ns(xmpp_stanza_t *el, const char *name,
                              const char *ns);

#endif
