/*
 * test_log_race.c - the log threshold is shared by every thread: a reload
 * sets it on the loop while workers log.  Built with ThreadSanitizer
 * (tests/unit/CMakeLists.txt), this fails on any data race on it.
 * A plain executable: exit 0 passes; TSan exits 66 on a report.
 */
#include <pthread.h>
#include <stdio.h>

#include "log.h"

#define ROUNDS 20000

static void *reader(void *arg)
{
    unsigned seen = 0;

    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        seen += (unsigned)log_get_level();
        log_debug("test", "dropped unless debug"); /* reads the level */
    }
    return (void *)(size_t)seen;
}

int main(void)
{
    pthread_t t[2];

    log_set_level(LOG_LEVEL_ERROR);
    for (int i = 0; i < 2; i++)
        if (pthread_create(&t[i], NULL, reader, NULL) != 0)
            return 1;
    for (int i = 0; i < ROUNDS; i++)
        log_set_level(i % 2 ? LOG_LEVEL_ERROR : LOG_LEVEL_WARN);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    puts("ok - log level read and set from three threads");
    return 0;
}
