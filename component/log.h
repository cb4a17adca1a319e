/*
 * log.h - levelled logging to stderr, one line per event.
 *
 * Every line carries a level and the module that wrote it; callers add the
 * JID and stanza id they are about.  Must never be handed a password or the
 * value of a text-private field.
 */
#ifndef REGISTRAR_LOG_H
#define REGISTRAR_LOG_H

#include <stdbool.h>

enum log_level {
    LOG_LEVEL_ERROR = 0,
    LOG_LEVEL_WARN,
    LOG_LEVEL_INFO,
    LOG_LEVEL_DEBUG
};

/* Sets the threshold; lines above it are dropped. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Parses "error", "warn", "info" or "debug"; false when unknown. */
bool log_level_parse(const char *name, enum log_level *out);

/* Writes one line: "<time> <LEVEL> <module>: <message>"; under journald
 * (log_detect_journal) "<PRIORITY><LEVEL> <module>: <message>". */
void log_msg(enum log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Whether stderr is the journal: $JOURNAL_STREAM ("DEV:INODE", set by
 * systemd) names stderr's device and inode (sd-daemon(3)); a stderr
 * redirected elsewhere by the unit or a shell keeps the plain format.
 * Sets the format of every line that follows and returns it.  Called
 * once at start-up, before any thread logs. */
bool log_detect_journal(void);
bool log_to_journal(void);

/* Writes text (one line, no newline) as it is, whatever the threshold:
 * a tool's output (--check-config's problems) rather than an event.
 * Under journald, with level's priority prefix. */
void log_plain(enum log_level level, const char *text);

#define log_error(mod, ...) log_msg(LOG_LEVEL_ERROR, mod, __VA_ARGS__)
#define log_warn(mod, ...) log_msg(LOG_LEVEL_WARN, mod, __VA_ARGS__)
#define log_info(mod, ...) log_msg(LOG_LEVEL_INFO, mod, __VA_ARGS__)
#define log_debug(mod, ...) log_msg(LOG_LEVEL_DEBUG, mod, __VA_ARGS__)

#endif
