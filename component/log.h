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

/* Writes one line: "<time> <LEVEL> <module>: <message>". */
void log_msg(enum log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(mod, ...) log_msg(LOG_LEVEL_ERROR, mod, __VA_ARGS__)
#define log_warn(mod, ...) log_msg(LOG_LEVEL_WARN, mod, __VA_ARGS__)
#define log_info(mod, ...) log_msg(LOG_LEVEL_INFO, mod, __VA_ARGS__)
#define log_debug(mod, ...) log_msg(LOG_LEVEL_DEBUG, mod, __VA_ARGS__)

#endif
