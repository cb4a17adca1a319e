/*
 * sync_env.h - a reg_env for unit tests: bcrypt runs on an inline worker
 * (worker.h: at once, on the caller's thread), and the clock is a variable
 * the test moves.
 */
#ifndef REGISTRAR_SYNC_ENV_H
#define REGISTRAR_SYNC_ENV_H

#include "reg.h"
#include "worker.h"

static double sync_clock = 1000.0;

static inline double sync_now(void)
{
    return sync_clock;
}

/* One inline worker for the test program (reachable until exit). */
static inline const struct reg_env *sync_env_get(void)
{
    static struct reg_env env;

    if (!env.hasher)
        env = (struct reg_env){.hasher = worker_new(0, 0),
                               .imager = worker_new(0, 0),
                               .now = sync_now};
    return &env;
}

#define sync_env (*sync_env_get())

#endif
