/*
 * notify.h - the systemd notification protocol (sd_notify(3)) without
 * libsystemd: READY=1, STATUS=..., STOPPING=1, WATCHDOG=1 sent as a
 * datagram to $NOTIFY_SOCKET.  Does nothing when not run by systemd.
 */
#ifndef REGISTRAR_NOTIFY_H
#define REGISTRAR_NOTIFY_H

#include <stdint.h>

/* Sends state ("READY=1", "STATUS=...", ...) if $NOTIFY_SOCKET is set. */
void notify_send(const char *state);

/* printf-style STATUS= line; one too long (over 500 bytes) is cut
 * between two UTF-8 characters. */
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Microseconds between watchdog pings systemd wants (half its
 * WatchdogSec), or 0 when it wants none. */
uint64_t notify_watchdog_usec(void);

#endif
