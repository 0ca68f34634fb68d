/*
 * vos_time.h - the monotonic clock, read the one way every part of the
 * project reads it (deadlines, timeouts, progress messages, benchmarks of
 * whole steps).  Header-only so that it costs nothing to link anywhere,
 * including the preload library.
 */
#ifndef VOS_TIME_H
#define VOS_TIME_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds of CLOCK_MONOTONIC. */
static inline uint64_t vos_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Milliseconds of CLOCK_MONOTONIC. */
static inline uint64_t vos_now_ms(void)
{
	return vos_now_ns() / 1000000u;
}

#endif
