/*
 * time.h - monotonic and wall clocks.
 */
#ifndef SY_CORE_TIME_H
#define SY_CORE_TIME_H

#include <time.h>
#include "core/common.h"

/* Monotonic time in nanoseconds / milliseconds. */
static inline uint64_t sy_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
static inline uint64_t sy_now_ms(void) { return sy_now_ns() / 1000000ULL; }

/* Wall-clock Unix time in milliseconds. */
static inline uint64_t sy_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000ULL + (uint64_t)ts.tv_nsec / 1000000ULL;
}

#endif
