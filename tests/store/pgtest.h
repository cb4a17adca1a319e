/*
 * pgtest.h - what the store tests share to talk to the throwaway cluster
 * themselves (tests/store/run.sh starts it): connect, run a statement,
 * read one value, make a database of their own.  Every failure fails the
 * test.  Tests only.
 */
#ifndef REGISTRAR_PGTEST_H
#define REGISTRAR_PGTEST_H

#include <libpq-fe.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cmocka.h needs the headers above (stdarg, stddef, setjmp) */
#include <cmocka.h>

/* A connection on conninfo ci; caller owns it (PQfinish). */
static inline PGconn *pgtest_connect(const char *ci)
{
    PGconn *c = PQconnectdb(ci);

    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("cannot connect: %s", PQerrorMessage(c));
    return c;
}

static inline void pgtest_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);

    if (PQresultStatus(r) != PGRES_COMMAND_OK &&
        PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

/* First column of the first row of sql, "(null)" for NULL; caller frees. */
static inline char *pgtest_scalar(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    char *out;

    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    out = strdup(PQgetisnull(r, 0, 0) ? "(null)" : PQgetvalue(r, 0, 0));
    PQclear(r);
    return out;
}

/* Creates the UTF8 database name with locale on the cluster of admin (a
 * conninfo) and writes its conninfo to out (size outlen). */
static inline void pgtest_create_db(const char *admin, const char *name,
                                    const char *locale, char *out,
                                    size_t outlen)
{
    PGconn *a = pgtest_connect(admin);
    char sql[256];

    snprintf(sql, sizeof(sql),
             "CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8' "
             "LOCALE '%s'",
             name, locale);
    pgtest_exec(a, sql);
    PQfinish(a);
    snprintf(out, outlen, "%s dbname=%s", admin, name);
}

/* Drops the database name of the cluster of admin, even if connected. */
static inline void pgtest_drop_db(const char *admin, const char *name)
{
    PGconn *a = pgtest_connect(admin);
    char sql[256];

    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    pgtest_exec(a, sql);
    PQfinish(a);
}

#endif
