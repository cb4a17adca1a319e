/*
 * challenge_image.c - an 'ocr' challenge's answer and image: image_cmd
 * run with a deadline and a bound on what it prints (challenge_image.h).
 */
#include "challenge_image.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const unsigned char png_sig[8] = {0x89, 'P',  'N',  'G',
                                         '\r', '\n', 0x1a, '\n'};

bool challenge_image_answer(char *out)
{
    static const char alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";
    unsigned char r[CHALLENGE_IMAGE_ANSWER_LEN];

    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
        return false;
    /* 31 symbols: the bias of % is below 1/8 per symbol, and an answer
     * has 29 bits of it anyway */
    for (size_t i = 0; i < sizeof(r); i++)
        out[i] = alphabet[r[i] % (sizeof(alphabet) - 1)];
    out[sizeof(r)] = '\0';
    explicit_bzero(r, sizeof(r));
    return true;
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void challenge_image_size(const unsigned char *png, size_t len, unsigned *width,
                          unsigned *height)
{
    *width = *height = 0;
    if (len < 24)
        return;
    *width = (unsigned)png[16] << 24 | (unsigned)png[17] << 16 |
             (unsigned)png[18] << 8 | png[19];
    *height = (unsigned)png[20] << 24 | (unsigned)png[21] << 16 |
              (unsigned)png[22] << 8 | png[23];
}

bool challenge_image_run(const char *cmd, const char *answer,
                         unsigned timeout_ms, size_t max, unsigned char **png,
                         size_t *len, char *why, size_t whylen)
{
    int fds[2] = {-1, -1}, status = 0, err;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    char *argv[] = {(char *)cmd, (char *)answer, NULL};
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    long long deadline = now_ms() + timeout_ms;
    pid_t pid = -1;
    bool ok = false, killed = false;
    const char *fail = NULL;

    *png = NULL;
    *len = 0;
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(why, whylen, "pipe: %s", strerror(errno));
        return false;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    err = posix_spawn(&pid, cmd, &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(fds[1]);
    if (err != 0) {
        close(fds[0]);
        snprintf(why, whylen, "cannot run %s: %s", cmd, strerror(err));
        return false;
    }
    for (;;) {
        long long left = deadline - now_ms();
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        ssize_t got;

        if (left <= 0) {
            fail = "did not finish in time";
            break;
        }
        if (poll(&p, 1, (int)(left > 60000 ? 60000 : left)) < 0) {
            if (errno == EINTR)
                continue;
            fail = "poll failed";
            break;
        }
        if (!p.revents)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16384;
            unsigned char *nb;
            if (ncap > max + 1)
                ncap = max + 1;
            if (ncap <= cap || !(nb = realloc(buf, ncap))) {
                fail = ncap <= cap ? "printed more than the bound"
                                   : "out of memory";
                break;
            }
            buf = nb;
            cap = ncap;
        }
        got = read(fds[0], buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            fail = "read failed";
            break;
        }
        if (got == 0)
            break; /* end of output */
        n += (size_t)got;
        if (n > max) {
            fail = "printed more than the bound";
            break;
        }
    }
    close(fds[0]);
    if (fail) {
        kill(-pid, SIGKILL);
        killed = true;
    }
    /* the output ended: the command exits now, or by the deadline */
    while (!killed) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            fail = "cannot wait for it";
            break;
        }
        if (now_ms() >= deadline) {
            fail = "did not exit in time";
            kill(-pid, SIGKILL);
            killed = true;
            break;
        }
        usleep(5000);
    }
    if (killed)
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    if (!fail && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        fail = "exited with a failure";
    if (!fail && (n < 24 || memcmp(buf, png_sig, sizeof(png_sig)) != 0 ||
                  memcmp(buf + 12, "IHDR", 4) != 0))
        fail = "printed no PNG";
    if (fail) {
        snprintf(why, whylen, "%s %s%s", cmd, fail, killed ? " (killed)" : "");
        free(buf);
        return false;
    }
    ok = true;
    *png = buf;
    *len = n;
    return ok;
}
