/* fake_store.h - the in-memory store.h of the unit tests (see .c). */
#ifndef REGISTRAR_FAKE_STORE_H
#define REGISTRAR_FAKE_STORE_H

#include <stdbool.h>
#include <stdio.h>

#include "store.h"

struct store *fake_store(void);
void fake_store_reset(void);
void fake_store_set_down(bool down);
int fake_store_count(void);
/* Borrowed views of a row, NULL when absent; fields as "var=value;" for
 * each value, in stored order (valid until the next call). */
const char *fake_store_fields(const char *service, const char *jid);
const char *fake_store_password_hash(const char *service, const char *jid);
const char *fake_store_username(const char *service, const char *jid);

/* A ban on (service, jid): its user removed it while disabled. */
bool fake_store_banned(const char *service, const char *jid);
/* The state of a row (enum store_state), -1 when absent. */
int fake_store_state(const char *service, const char *jid);
/* The origin (iq id, actor) of the last change, "" when none. */
const char *fake_store_last_iq_id(void);
const char *fake_store_last_actor(void);
/* How many consents the last put recorded. */
size_t fake_store_last_nconsents(void);

/* Invitations: the one of token expires; how many times it was used. */
void fake_store_invite_expire(const char *token);
unsigned fake_store_invite_uses(const char *token);

/* Challenges (sql/015): every one issued so far expires; the service's
 * sign-ups of the last minute; the first accepted answer of challenge id
 * (folded), NULL when there is none. */
void fake_store_challenges_expire(void);
void fake_store_set_signups(unsigned long n);
const char *fake_store_challenge_answer(const char *id);

/* The next put first removes the registration it writes (as a removal
 * committed between a set's read and its write would have). */
void fake_store_remove_before_put(void);

#endif
