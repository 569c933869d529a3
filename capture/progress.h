/* A progress line on stderr for long reads (progress.c). */
#ifndef RW_PROGRESS_H
#define RW_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct rw_progress {
	bool on, shown;
	const char *name;
	uint64_t total;
	uint64_t t0, last, every_us;
};

/* Shown when total >= 256 MiB (RDPWHY_PROGRESS_MIN_BYTES) and stderr is a
 * terminal, redrawn every 250 ms (RDPWHY_PROGRESS_EVERY_MS);
 * otherwise every call is a no-op. name is kept, not copied. */
void rw_progress_start(struct rw_progress *p, const char *name, uint64_t total);
/* done: bytes read so far. */
void rw_progress_update(struct rw_progress *p, uint64_t done);
/* Erases the line. */
void rw_progress_end(struct rw_progress *p);

#endif
