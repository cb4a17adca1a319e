/*
 * store_values.c - the plain values of store.h: the names of statuses and
 * states, and a record's release.
 *
 * No libpq, no SQL, no I/O: the store's files use these, and so does the
 * unit tests' in-memory store (tests/unit/fake_store.c), instead of a copy.
 */
#include "store.h"

#include <stdlib.h>

const char *store_status_name(enum store_status st)
{
    switch (st) {
    case STORE_OK:
        return "ok";
    case STORE_NOT_FOUND:
        return "not-found";
    case STORE_CONFLICT:
        return "conflict";
    case STORE_UNAVAILABLE:
        return "unavailable";
    case STORE_INVALID:
        return "invalid";
    case STORE_NOT_ALLOWED:
        return "not-allowed";
    case STORE_BANNED:
        return "banned";
    case STORE_DENIED:
        return "denied";
    case STORE_BAD_INVITE:
        return "bad-invite";
    case STORE_NO_INVITE:
        return "no-invite";
    case STORE_ERROR:
        break;
    }
    return "error";
}

const char *store_state_name(enum store_state state)
{
    switch (state) {
    case STORE_STATE_PENDING:
        return "pending";
    case STORE_STATE_DISABLED:
        return "disabled";
    case STORE_STATE_ACTIVE:
        break;
    }
    return "active";
}

void store_record_clear(struct store_record *rec)
{
    free(rec->service);
    free(rec->jid);
    free(rec->username);
    free(rec->password_hash);
    free(rec->disabled_reason);
    form_data_clear(&rec->fields);
    *rec = (struct store_record){0};
}
