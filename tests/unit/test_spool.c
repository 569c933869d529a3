/* The on-disk spool: order, acknowledgement, the byte bound under both
 * policies, restart (the sequence continues, records come back) and crash
 * leftovers (a temporary file is removed, foreign files are ignored). */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "spool.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/rw_spool_XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static bool exists(const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void touch(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static struct rw_spool *open_spool(uint64_t max, enum rw_spool_policy p)
{
	char err[256];
	struct rw_spool *s = rw_spool_open(dir, max, p, err, sizeof(err));
	if (!s)
		fail_msg("%s", err);
	return s;
}

static void put(struct rw_spool *s, const char *text, uint64_t want_seq)
{
	uint64_t seq = 0;
	assert_int_equal(rw_spool_put(s, text, strlen(text), &seq), 0);
	assert_int_equal(seq, want_seq);
}

static void expect_next(struct rw_spool *s, uint64_t after, uint64_t want_seq, const char *text)
{
	uint64_t seq;
	assert_true(rw_spool_next(s, after, &seq));
	assert_int_equal(seq, want_seq);
	struct rw_buf b;
	rw_buf_init(&b, 0);
	assert_int_equal(rw_spool_read(s, seq, &b), 0);
	assert_string_equal(rw_buf_str(&b), text);
	rw_buf_free(&b);
}

static void test_order_and_ack(void **state)
{
	(void)state;
	struct rw_spool *s = open_spool(1 << 20, RW_SPOOL_DROP_OLDEST);
	uint64_t seq;
	assert_false(rw_spool_next(s, 0, &seq));
	put(s, "one", 1);
	put(s, "two", 2);
	put(s, "three", 3);
	assert_true(exists("00000000000000000001"));
	expect_next(s, 0, 1, "one");
	expect_next(s, 1, 2, "two");
	expect_next(s, 2, 3, "three");
	assert_false(rw_spool_next(s, 3, &seq));
	rw_spool_ack(s, 2);
	assert_false(exists("00000000000000000001"));
	assert_false(exists("00000000000000000002"));
	expect_next(s, 0, 3, "three");
	struct rw_spool_stats st;
	rw_spool_stats(s, &st);
	assert_int_equal(st.spooled, 3);
	assert_int_equal(st.acked, 2);
	assert_int_equal(st.count, 1);
	assert_int_equal(st.bytes, 5);
	assert_int_equal(st.dropped, 0);
	rw_spool_ack(s, 3);
	assert_false(rw_spool_next(s, 0, &seq));
	put(s, "four", 4); /* the sequence goes on after the spool emptied */
	rw_spool_close(s);
}

static void test_restart(void **state)
{
	(void)state;
	struct rw_spool *s = open_spool(1 << 20, RW_SPOOL_DROP_OLDEST);
	put(s, "a", 1);
	put(s, "b", 2);
	put(s, "c", 3);
	rw_spool_ack(s, 1);
	rw_spool_close(s); /* as if killed: no flush, nothing else written */

	/* A crash between create and rename left a temporary file; somebody's
	 * editor left a stray file. */
	touch(".tmp-00000000000000000004", "half");
	touch("notes.txt", "x");
	s = open_spool(1 << 20, RW_SPOOL_DROP_OLDEST);
	assert_false(exists(".tmp-00000000000000000004"));
	assert_true(exists("notes.txt"));
	expect_next(s, 0, 2, "b");
	expect_next(s, 2, 3, "c");
	uint64_t seq;
	assert_false(rw_spool_next(s, 3, &seq));
	struct rw_spool_stats st;
	rw_spool_stats(s, &st);
	assert_int_equal(st.count, 2);
	assert_int_equal(st.bytes, 2);
	put(s, "d", 4); /* continues from the highest file */
	rw_spool_close(s);
}

static void test_drop_oldest(void **state)
{
	(void)state;
	struct rw_spool *s = open_spool(10, RW_SPOOL_DROP_OLDEST);
	put(s, "aaaa", 1);
	put(s, "bbbb", 2);
	put(s, "cccc", 3); /* 12 > 10: "aaaa" goes */
	expect_next(s, 0, 2, "bbbb");
	assert_false(exists("00000000000000000001"));
	uint64_t seq;
	assert_int_equal(rw_spool_put(s, "0123456789x", 11, &seq), 1); /* never fits */
	struct rw_spool_stats st;
	rw_spool_stats(s, &st);
	assert_int_equal(st.dropped, 2);
	assert_int_equal(st.count, 2);
	assert_int_equal(st.bytes, 8);
	put(s, "0123456789", 4); /* fits alone: both others go */
	rw_spool_stats(s, &st);
	assert_int_equal(st.dropped, 4);
	assert_int_equal(st.count, 1);
	rw_spool_close(s);
}

static void test_drop_newest(void **state)
{
	(void)state;
	struct rw_spool *s = open_spool(10, RW_SPOOL_DROP_NEWEST);
	put(s, "aaaa", 1);
	put(s, "bbbb", 2);
	uint64_t seq = 0;
	assert_int_equal(rw_spool_put(s, "cccc", 4, &seq), 1);
	expect_next(s, 0, 1, "aaaa");
	struct rw_spool_stats st;
	rw_spool_stats(s, &st);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(st.count, 2);
	rw_spool_ack(s, 1);
	put(s, "cccc", 3); /* room again */
	rw_spool_close(s);
	assert_int_equal(rw_spool_policy_parse("drop-oldest"), RW_SPOOL_DROP_OLDEST);
	assert_int_equal(rw_spool_policy_parse("drop-newest"), RW_SPOOL_DROP_NEWEST);
	assert_int_equal(rw_spool_policy_parse("drop-random"), -1);
}

static void test_many(void **state)
{
	(void)state;
	struct rw_spool *s = open_spool(1 << 24, RW_SPOOL_DROP_OLDEST);
	char text[32];
	for (unsigned i = 1; i <= 300; i++) {
		snprintf(text, sizeof(text), "record %u", i);
		put(s, text, i);
		if (i % 7 == 0)
			rw_spool_ack(s, i - 3);
	}
	rw_spool_close(s);
	s = open_spool(1 << 24, RW_SPOOL_DROP_OLDEST);
	uint64_t after = 0, seq, want = 292; /* the last ack, at i = 294, took up to 291 */
	while (rw_spool_next(s, after, &seq)) {
		snprintf(text, sizeof(text), "record %u", (unsigned)seq);
		expect_next(s, after, want, text);
		after = seq;
		want++;
	}
	assert_int_equal(want, 301);
	rw_spool_close(s);
}

static void test_chown(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	struct rw_spool *s = open_spool(1 << 20, RW_SPOOL_DROP_OLDEST);
	put(s, "x", 1);
	assert_int_equal(rw_spool_chown(s, 65534, 65534), 0);
	struct stat st;
	char path[256];
	snprintf(path, sizeof(path), "%s/00000000000000000001", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 65534);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_uid, 65534);
	rw_spool_close(s);
}

static void test_bad_dir(void **state)
{
	(void)state;
	char err[256];
	touch("file", "x");
	char path[128];
	snprintf(path, sizeof(path), "%s/file/sub", dir);
	assert_null(rw_spool_open(path, 100, RW_SPOOL_DROP_OLDEST, err, sizeof(err)));
	assert_non_null(strstr(err, "spool"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_order_and_ack, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_drop_oldest, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_drop_newest, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_many, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_chown, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bad_dir, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
