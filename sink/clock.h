/* The monotonic clock in microseconds, for timers, back-off and rate limits
 * (never for record timestamps, which are wall-clock time). */
#ifndef RW_CLOCK_H
#define RW_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t rw_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

#endif
