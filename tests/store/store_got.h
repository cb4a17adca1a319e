/*
 * store_got.h - what the store answered, recorded by the callbacks the
 * store tests share (store.h's callback types).  Tests only.
 */
#ifndef REGISTRAR_STORE_GOT_H
#define REGISTRAR_STORE_GOT_H

#include <stdio.h>
#include <string.h>

#include "store.h"

struct got {
    int calls;
    enum store_status st;
    bool created;
    char reason[1100]; /* put: the reason of disabled or banned */
    /* get: the record (fields as "var=value;" each value) */
    enum store_state state;
    char rec_reason[1100];
    char fields[1024];
    char username[128];
    char hash[128];
    /* count, list ("a,b,c") */
    unsigned long n;
    char list[512];
};

static inline void on_done(void *arg, enum store_status st, bool created)
{
    struct got *g = arg;

    g->calls++;
    g->st = st;
    g->created = created;
}

static inline void on_put(void *arg, enum store_status st, bool created,
                          const char *reason)
{
    struct got *g = arg;

    on_done(arg, st, created);
    snprintf(g->reason, sizeof(g->reason), "%s", reason ? reason : "");
}

static inline void on_get(void *arg, enum store_status st,
                          struct store_record *rec)
{
    struct got *g = arg;

    g->calls++;
    g->st = st;
    g->fields[0] = g->username[0] = g->hash[0] = g->rec_reason[0] = '\0';
    if (!rec)
        return;
    g->state = rec->state;
    snprintf(g->rec_reason, sizeof(g->rec_reason), "%s",
             rec->disabled_reason ? rec->disabled_reason : "");
    snprintf(g->username, sizeof(g->username), "%s",
             rec->username ? rec->username : "(null)");
    snprintf(g->hash, sizeof(g->hash), "%s",
             rec->password_hash ? rec->password_hash : "(null)");
    for (size_t i = 0; i < rec->fields.n; i++)
        for (size_t j = 0; j < rec->fields.items[i].nvalues; j++) {
            size_t len = strlen(g->fields);
            snprintf(g->fields + len, sizeof(g->fields) - len, "%s=%s;",
                     rec->fields.items[i].var, rec->fields.items[i].values[j]);
        }
}

static inline void on_count(void *arg, enum store_status st, unsigned long n)
{
    struct got *g = arg;

    g->calls++;
    g->st = st;
    g->n = n;
}

static inline void on_list(void *arg, enum store_status st, char *const *jids,
                           size_t n)
{
    struct got *g = arg;

    g->calls++;
    g->st = st;
    g->list[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(g->list);
        snprintf(g->list + len, sizeof(g->list) - len, "%s%s", i ? "," : "",
                 jids[i]);
    }
}

#endif
