/* A progress line on stderr while a large capture is read: for a person
 * watching a terminal, never for a pipe or a log (stderr must be a terminal
 * and the file large enough that the wait is noticeable). */
#include "progress.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* "A few hundred MB": about a second of reading or more. */
#define DEFAULT_MIN_BYTES (256ull << 20)
#define EVERY_US          250000ull

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000;
}

/* Tests set both knobs to see the line on a small file without a race. */
static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *e = getenv(name);
	if (e && *e) {
		char *end;
		unsigned long long v = strtoull(e, &end, 10);
		if (*end == '\0')
			return v;
	}
	return dflt;
}

void rw_progress_start(struct rw_progress *p, const char *name, uint64_t total)
{
	memset(p, 0, sizeof(*p));
	p->every_us = env_u64("RDPWHY_PROGRESS_EVERY_MS", EVERY_US / 1000) * 1000;
	p->on = total > 0 && total >= env_u64("RDPWHY_PROGRESS_MIN_BYTES", DEFAULT_MIN_BYTES) &&
	        isatty(STDERR_FILENO);
	p->name = name;
	p->total = total;
	p->t0 = p->last = now_us();
}

static void fmt_bytes(char *out, size_t n, uint64_t b)
{
	if (b >= (1ull << 30))
		snprintf(out, n, "%.2f GiB", (double)b / (double)(1ull << 30));
	else
		snprintf(out, n, "%.0f MiB", (double)b / (double)(1ull << 20));
}

void rw_progress_update(struct rw_progress *p, uint64_t done)
{
	if (!p->on)
		return;
	uint64_t t = now_us();
	if (t - p->last < p->every_us)
		return;
	p->last = t;
	if (done > p->total)
		done = p->total;
	char a[32], b[32];
	fmt_bytes(a, sizeof(a), done);
	fmt_bytes(b, sizeof(b), p->total);
	double secs = (double)(t - p->t0) / 1e6;
	double rate = secs > 0 ? (double)done / secs / (double)(1 << 20) : 0;
	/* \r and erase-to-end: one line rewritten in place. */
	fprintf(stderr, "\r%s: %3u%% (%s of %s, %.0f MiB/s)\033[K", p->name,
	        (unsigned)(done * 100 / p->total), a, b, rate);
	p->shown = true;
}

void rw_progress_end(struct rw_progress *p)
{
	if (p->on && p->shown)
		fputs("\r\033[K", stderr); /* leave the terminal as it was */
	p->on = false;
}
