/*
 * log.c - levelled logging to stderr (journald picks stderr up).
 *
 * Formats and writes; it does not decide what is secret: callers must not
 * pass secrets in.  The threshold is read by every thread (workers log
 * too) and set by the loop on a reload: an atomic, relaxed order (no other
 * memory hangs on it).
 */
#include "log.h"
#include "text.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static atomic_int threshold = LOG_LEVEL_INFO;

static const char *const names[] = {"error", "warn", "info", "debug"};

void log_set_level(enum log_level level)
{
    atomic_store_explicit(&threshold, (int)level, memory_order_relaxed);
}

enum log_level log_get_level(void)
{
    return (enum log_level)atomic_load_explicit(&threshold,
                                                memory_order_relaxed);
}

bool log_level_parse(const char *name, enum log_level *out)
{
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (enum log_level)i;
            return true;
        }
    }
    return false;
}

static const char *level_name(enum log_level level)
{
    return (unsigned)level < sizeof(names) / sizeof(names[0]) ? names[level]
                                                              : "?";
}

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
    char stamp[32];
    struct timespec ts;
    struct tm tm;
    char line[2048];
    va_list ap;

    if ((int)level > atomic_load_explicit(&threshold, memory_order_relaxed))
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

    va_start(ap, fmt);
    text_vformat(line, sizeof(line), fmt, ap); /* cut between characters */
    va_end(ap);
    /* One event, one line: fold any newline the message carries. */
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    fprintf(stderr, "%s.%03ldZ %-5s %s: %s\n", stamp, ts.tv_nsec / 1000000,
            level_name(level), module, line);
}
