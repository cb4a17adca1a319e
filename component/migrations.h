/*
 * migrations.h - the numbered SQL migrations of sql/, and sql/roles.sql
 * (the privileges, applied after them), compiled into the binary by CMake
 * (migrations.c is generated; do not edit it).  Their text may name the
 * schema as @schema@ (from 010 on): the store puts the quoted name of the
 * schema it migrates in its place.
 */
#ifndef REGISTRAR_MIGRATIONS_H
#define REGISTRAR_MIGRATIONS_H

#include <stddef.h>

struct migration {
    int version;      /* the file's number, 1, 2, ... without gaps */
    const char *name; /* the file name */
    const char *sql;
};

extern const struct migration migrations[];
extern const size_t nmigrations;
extern const char migration_roles[];

#endif
