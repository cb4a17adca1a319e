/*
 * migrations.h - the numbered SQL migrations of sql/, compiled into the
 * binary by CMake (migrations.c is generated; do not edit it).
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

#endif
