/*
 * notify.c - sd_notify(3) by hand: one AF_UNIX datagram per state change.
 * Knows nothing of what the states mean; failures are ignored (systemd
 * may not be listening) but never block.  A STATUS= too long for a
 * datagram is cut between two characters (text_vformat), never inside
 * one: systemctl shows it as UTF-8.
 */
#include "notify.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "text.h"

void notify_send(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    socklen_t len;
    int fd;

    if (!path || !*path || strlen(path) >= sizeof(sa.sun_path))
        return;
    strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = '\0'; /* abstract namespace */
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return;
    (void)sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
                 len);
    close(fd);
}

void notify_status(const char *fmt, ...)
{
    char buf[512] = "STATUS=";
    va_list ap;

    if (!getenv("NOTIFY_SOCKET"))
        return;
    va_start(ap, fmt);
    (void)text_vformat(buf + 7, sizeof(buf) - 7, fmt, ap);
    va_end(ap);
    notify_send(buf);
}

uint64_t notify_watchdog_usec(void)
{
    const char *usec = getenv("WATCHDOG_USEC");
    const char *pid = getenv("WATCHDOG_PID");
    unsigned long long v;

    if (!usec || !getenv("NOTIFY_SOCKET"))
        return 0;
    if (pid && strtol(pid, NULL, 10) != (long)getpid())
        return 0;
    v = strtoull(usec, NULL, 10);
    return v / 2;
}
