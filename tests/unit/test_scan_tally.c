/* capture/scan_tally.c: when a scanning source's summary comes out. The
 * expectations are the header's contract: attempts beyond the first
 * RW_SCAN_INDIVIDUAL_PER_SOURCE of a window are counted, and their summary
 * is emitted by the first flush at or after the window's end (60 s after its
 * first attempt), never before, and at the end with UINT64_MAX. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "scan_tally.h"

#define S (1000000ull)

struct got {
	unsigned n;
	uint32_t attempts[8];
	uint64_t close_us[8];
};

static void on_summary(struct rw_record *rec, void *arg)
{
	struct got *g = arg;
	assert_int_equal(rec->verdict.cause, RW_CAUSE_SCAN_OR_FLOOD);
	if (g->n < 8) {
		g->attempts[g->n] = rec->scan.attempts;
		g->close_us[g->n] = rec->ts_close_us;
	}
	g->n++;
}

static struct rw_endpoint ep(uint8_t last, uint16_t port)
{
	struct rw_endpoint e;
	memset(&e, 0, sizeof(e));
	e.family = 2;
	e.addr[0] = 10;
	e.addr[3] = last;
	e.port = port;
	return e;
}

/* One source, n attempts one second apart from t0 (to n hosts). Returns how
 * many were to be reported one by one. */
static unsigned scan(struct rw_scan_tally *t, uint8_t src, uint64_t t0, unsigned n)
{
	struct rw_endpoint c = ep(src, 40000);
	unsigned alone = 0;
	for (unsigned i = 0; i < n; i++) {
		struct rw_endpoint v = ep((uint8_t)(100 + i), 3389);
		alone += rw_scan_tally_attempt(t, &c, &v, 0, t0 + i * S, RW_ATTEMPT_REFUSED);
	}
	return alone;
}

/* Each test's tally and the summaries it emitted. */
struct fixture {
	struct got g;
	struct rw_scan_tally *t;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->t = rw_scan_tally_new(on_summary, &f->g);
	if (!f->t) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	rw_scan_tally_free(f->t);
	free(f);
	return 0;
}

/* Flushes once a capture second, as the flow table does, from..to. */
static void tick(struct rw_scan_tally *t, uint64_t from, uint64_t to)
{
	for (uint64_t now = from; now <= to; now += S)
		rw_scan_tally_flush(t, now);
}

/* Flushing every second from `from`, the next summary comes out at `at`,
 * not a second before. */
static void next_summary_at(struct fixture *f, uint64_t from, uint64_t at)
{
	unsigned before = f->g.n;
	tick(f->t, from, at - S);
	assert_int_equal(f->g.n, before);
	tick(f->t, at, at);
	assert_int_equal(f->g.n, before + 1);
}

static void test_summary_when_the_window_closes(void **state)
{
	struct fixture *f = *state;
	struct rw_scan_tally *t = f->t;
	struct got *g = &f->g;
	uint64_t t0 = 1000 * S;
	unsigned alone = scan(t, 1, t0, 20);
	assert_int_equal(alone, RW_SCAN_INDIVIDUAL_PER_SOURCE);
	next_summary_at(f, t0 + 20 * S, t0 + 60 * S);
	assert_int_equal(g->attempts[0], 20 - RW_SCAN_INDIVIDUAL_PER_SOURCE);
	assert_int_equal(g->close_us[0], t0 + 19 * S); /* its last attempt */
	/* Nothing more from that source: later flushes emit nothing new. */
	tick(t, t0 + 61 * S, t0 + 200 * S);
	rw_scan_tally_flush(t, UINT64_MAX);
	assert_int_equal(g->n, 1);
}

/* A second source that starts later closes its own window later: the first
 * flush after the first window must not hide the second one's. */
static void test_two_sources_two_windows(void **state)
{
	struct fixture *f = *state;
	struct rw_scan_tally *t = f->t;
	struct got *g = &f->g;
	uint64_t t0 = 1000 * S;
	scan(t, 1, t0, 10);
	tick(t, t0 + 10 * S, t0 + 29 * S);
	scan(t, 2, t0 + 30 * S, 10);
	next_summary_at(f, t0 + 40 * S, t0 + 60 * S);
	next_summary_at(f, t0 + 61 * S, t0 + 90 * S);
	assert_int_equal(g->attempts[1], 10 - RW_SCAN_INDIVIDUAL_PER_SOURCE);
}

/* The capture's clock steps back (merged captures, a host's clock set):
 * the source's window restarts at the earlier time and closes 60 s after it,
 * not at the old window's end. */
static void test_clock_back_restarts_the_window(void **state)
{
	struct fixture *f = *state;
	struct rw_scan_tally *t = f->t;
	struct got *g = &f->g;
	uint64_t t0 = 5000 * S;
	scan(t, 1, t0, 10);
	tick(t, t0 + 10 * S, t0 + 20 * S);
	uint64_t back = t0 - 1000 * S;
	scan(t, 1, back, 10); /* the first of these closes the old window */
	assert_int_equal(g->n, 1);
	next_summary_at(f, back + 10 * S, back + 60 * S);
}

/* Whatever is still counted comes out at the end. */
static void test_end_of_capture_flushes_all(void **state)
{
	struct fixture *f = *state;
	struct rw_scan_tally *t = f->t;
	struct got *g = &f->g;
	scan(t, 1, 10 * S, 12);
	scan(t, 2, 15 * S, 30);
	tick(t, 20 * S, 40 * S);
	assert_int_equal(g->n, 0);
	rw_scan_tally_flush(t, UINT64_MAX);
	assert_int_equal(g->n, 2);
	assert_int_equal(g->attempts[0] + g->attempts[1],
	                 12 + 30 - 2 * RW_SCAN_INDIVIDUAL_PER_SOURCE);
	assert_int_equal(rw_scan_tally_counted(t), 12 + 30 - 2 * RW_SCAN_INDIVIDUAL_PER_SOURCE);
}

/* Source k's one attempt of its window, number i: reported alone (the
 * first RW_SCAN_INDIVIDUAL_PER_SOURCE) or counted in its slot. */
static bool source_attempt(struct rw_scan_tally *t, unsigned k, unsigned i, uint64_t ts)
{
	struct rw_endpoint c = ep(1, 40000), v = ep(200, 3389);
	c.addr[1] = (uint8_t)(k >> 8);
	c.addr[2] = (uint8_t)k;
	return rw_scan_tally_attempt(t, &c, &v, 0, ts + i, RW_ATTEMPT_REFUSED);
}

/* A table every slot of which is taken (sources that each scanned a little,
 * window after window, never flushed): the next source has every slot
 * reported and the table starts over with it, whose later attempts are
 * counted as in an empty table. */
static void test_full_table_reports_all_and_starts_over(void **state)
{
	struct fixture *f = *state;
	struct rw_scan_tally *t = f->t;
	struct got *g = &f->g;
	/* Sources get slots while the window's attempts reported alone are
	 * below RW_SCAN_INDIVIDUAL_PER_WINDOW: this many per window. */
	const unsigned per_window = RW_SCAN_INDIVIDUAL_PER_WINDOW / RW_SCAN_INDIVIDUAL_PER_SOURCE;
	const unsigned slots = RW_SCAN_SLOTS;
	unsigned k = 0;
	for (; k < slots; k++) {
		uint64_t ts = (k / per_window) * (RW_SCAN_WINDOW_US + S);
		for (unsigned i = 0; i < RW_SCAN_INDIVIDUAL_PER_SOURCE; i++)
			assert_true(source_attempt(t, k, i, ts));
		assert_false(source_attempt(t, k, RW_SCAN_INDIVIDUAL_PER_SOURCE, ts));
	}
	assert_int_equal(g->n, 0);
	/* The next source finds no free slot: all 4096 are reported. */
	uint64_t ts = (k / per_window) * (RW_SCAN_WINDOW_US + S);
	assert_true(source_attempt(t, k, 0, ts));
	assert_int_equal(g->n, slots);
	for (unsigned i = 1; i < RW_SCAN_INDIVIDUAL_PER_SOURCE; i++)
		assert_true(source_attempt(t, k, i, ts));
	assert_false(source_attempt(t, k, RW_SCAN_INDIVIDUAL_PER_SOURCE, ts));
	assert_false(source_attempt(t, k, RW_SCAN_INDIVIDUAL_PER_SOURCE + 1, ts));
	/* Nothing of the reported slots is left: only the new source's. */
	rw_scan_tally_flush(t, UINT64_MAX);
	assert_int_equal(g->n, slots + 1);
	assert_int_equal(rw_scan_tally_counted(t), slots + 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_summary_when_the_window_closes, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_two_sources_two_windows, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_clock_back_restarts_the_window, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_end_of_capture_flushes_all, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_full_table_reports_all_and_starts_over, setup,
	                                        teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
