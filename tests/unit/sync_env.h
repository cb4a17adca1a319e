/*
 * sync_env.h - a reg_env for unit tests: "offloaded" work runs at once on
 * the caller's thread, and the clock is a variable the test moves.
 */
#ifndef REGISTRAR_SYNC_ENV_H
#define REGISTRAR_SYNC_ENV_H

#include "reg.h"

static double sync_clock = 1000.0;

static inline bool sync_offload(void *ctx, void (*work)(void *),
                                void (*done)(void *), void *arg)
{
    (void)ctx;
    work(arg);
    done(arg);
    return true;
}

static inline double sync_now(void)
{
    return sync_clock;
}

static const struct reg_env sync_env = {
    .offload = sync_offload,
    .now = sync_now,
};

#endif
