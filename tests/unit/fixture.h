/*
 * fixture.h - the service configurations of tests/fixtures, loaded through
 * conf_load() as registrar loads them, for the unit tests and the fuzzer.
 *
 * tests/fixtures/README.md: a configuration is component.conf followed by
 * NAME.conf, with its @PLACEHOLDERS@ filled in.  Here they get the unit
 * values below (JID: NAME.example), written to a private temporary file.
 * FIXTURE_DIR is set by CMake.
 */
#ifndef REGISTRAR_FIXTURE_H
#define REGISTRAR_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

#ifndef FIXTURE_DIR
#error "FIXTURE_DIR must name tests/fixtures"
#endif

/* Copies FIXTURE_DIR/file to out, each @KEY@ replaced by its value in
 * vals (pairs, NULL-terminated); false (with a message) on an unknown
 * key or a read error. */
static inline bool fixture_copy(const char *file, FILE *out,
                                const char *const *vals)
{
    char path[4096], line[4096];
    FILE *in;
    bool ok = true;

    snprintf(path, sizeof(path), "%s/%s", FIXTURE_DIR, file);
    if (!(in = fopen(path, "r"))) {
        perror(path);
        return false;
    }
    while (ok && fgets(line, sizeof(line), in)) {
        char *p = line, *at, *end;

        while ((at = strchr(p, '@')) && (end = strchr(at + 1, '@'))) {
            size_t klen = (size_t)(end - at - 1);
            const char *const *v = vals;

            /* not a placeholder (e.g. "blocked*@"): copy the '@' */
            if (klen == 0 ||
                strspn(at + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") < klen) {
                fwrite(p, 1, (size_t)(at - p) + 1, out);
                p = at + 1;
                continue;
            }
            while (*v && (strlen(*v) != klen || strncmp(*v, at + 1, klen)))
                v += 2;
            if (!*v) {
                fprintf(stderr, "%s: no unit value for @%.*s@\n", path,
                        (int)klen, at + 1);
                ok = false;
                break;
            }
            fwrite(p, 1, (size_t)(at - p), out);
            fputs(v[1], out);
            p = end + 1;
        }
        fputs(p, out);
    }
    fclose(in);
    return ok;
}

/* The configuration of tests/fixtures/NAME.conf with the unit values:
 * JID NAME.example, any domain may register, bcrypt cost 4; extra (may be
 * NULL) is added to its registration section.  Exits the test program
 * when it does not load.  The result is never freed: tests copy it and
 * change the copy (struct conf c = contests; c.registration.url = ...). */
static inline struct conf fixture_conf(const char *name, const char *extra)
{
    char tmp[] = "/tmp/registrar-fixture.XXXXXX", jid[256], file[256];
    char registration[4096];
    const char *vals[] = {
        "JID",         jid,       "XMPP_PORT",    "5347",
        "SECRET",      "s3cret",  "COMPONENT",    "",
        "CONNINFO",    "",        "LOG_LEVEL",    "info",
        "XMPP_DOMAIN", "example", "REGISTRATION", registration,
        NULL,
    };
    struct conf *c = NULL, out;
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

    snprintf(jid, sizeof(jid), "%s.example", name);
    snprintf(file, sizeof(file), "%s.conf", name);
    snprintf(registration, sizeof(registration),
             "    hash_cost = 4\n    allowed_domains = {\"*\"}\n%s\n",
             extra ? extra : "");
    if (f && fixture_copy("component.conf", f, vals) &&
        fixture_copy(file, f, vals) && fflush(f) == 0)
        c = conf_load(tmp, stderr);
    if (f)
        fclose(f);
    if (fd >= 0)
        unlink(tmp);
    if (!c) {
        fprintf(stderr, "fixture %s does not load\n", name);
        exit(1);
    }
    out = *c;
    free(c);
    return out;
}

#endif
