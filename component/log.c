/*
 * log.c - levelled logging to stderr (journald picks stderr up).
 *
 * Formats and writes; it does not decide what is secret: callers must not
 * pass secrets in.  The threshold is read by every thread (workers log
 * too) and set by the loop on a reload: an atomic, relaxed order (no other
 * memory hangs on it); so is the journal mode, set once at start-up.
 *
 * Two formats.  Elsewhere: "<time> <level> <module>: <message>", time in
 * UTC to the millisecond.  When stderr is the journal (log_detect_journal:
 * $JOURNAL_STREAM names stderr's device and inode, as sd-daemon(3) and
 * systemd.exec(5) say), every line starts with its syslog priority, "<3>"
 * error, "<4>" warn, "<6>" info, "<7>" debug, which journald reads and
 * strips (journalctl -p warning), and leaves the time out (the journal
 * stamps each line): "<4>warn component: ...".
 */
#include "log.h"
#include "text.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static atomic_int threshold = LOG_LEVEL_INFO;
static atomic_bool journal;

static const char *const names[] = {"error", "warn", "info", "debug"};
/* syslog(3) priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
static const int priorities[] = {3, 4, 6, 7};

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

static int priority(enum log_level level)
{
    return (unsigned)level < sizeof(priorities) / sizeof(priorities[0])
               ? priorities[level]
               : 7;
}

bool log_detect_journal(void)
{
    const char *stream = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    int end = 0;
    bool on;

    /* "DEV:INODE" in decimal, nothing after */
    on = stream && sscanf(stream, "%llu:%llu%n", &dev, &ino, &end) == 2 &&
         stream[end] == '\0' && fstat(STDERR_FILENO, &st) == 0 &&
         (unsigned long long)st.st_dev == dev &&
         (unsigned long long)st.st_ino == ino;
    atomic_store_explicit(&journal, on, memory_order_relaxed);
    return on;
}

bool log_to_journal(void)
{
    return atomic_load_explicit(&journal, memory_order_relaxed);
}

void log_plain(enum log_level level, const char *text)
{
    if (log_to_journal())
        fprintf(stderr, "<%d>%s\n", priority(level), text);
    else
        fprintf(stderr, "%s\n", text);
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
    va_start(ap, fmt);
    text_vformat(line, sizeof(line), fmt, ap); /* cut between characters */
    va_end(ap);
    /* One event, one line: fold any newline the message carries. */
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    if (log_to_journal()) {
        fprintf(stderr, "<%d>%s %s: %s\n", priority(level), level_name(level),
                module, line);
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "%s.%03ldZ %-5s %s: %s\n", stamp, ts.tv_nsec / 1000000,
            level_name(level), module, line);
}
