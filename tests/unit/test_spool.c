/* The spool through its interface: order, acknowledgement, group commit
 * (batch boundaries, nothing handed out before it is durable, a failed
 * commit), the byte bound under both policies with batches, restart (the
 * sequence continues, records come back), rejects. The on-disk side (torn
 * tails, crashes, the old format) is in test_spool_disk.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "spool.h"
#include "spool_seg.h"

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

static void commit(struct rw_spool *s, int want)
{
	assert_int_equal(rw_spool_commit(s), want);
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
	/* Not durable yet: not handed out. */
	assert_false(rw_spool_next(s, 0, &seq));
	assert_false(exists("00000000000000000001.seg"));
	struct rw_buf b;
	rw_buf_init(&b, 0);
	assert_int_equal(rw_spool_read(s, 1, &b), -1);
	rw_buf_free(&b);
	commit(s, 3);
	commit(s, 0);
	assert_true(exists("00000000000000000001.seg"));
	expect_next(s, 0, 1, "one");
	expect_next(s, 1, 2, "two");
	expect_next(s, 2, 3, "three");
	assert_false(rw_spool_next(s, 3, &seq));
	rw_spool_ack(s, 2);
	assert_true(exists("00000000000000000001.seg")); /* "three" is in it */
	expect_next(s, 0, 3, "three");
	struct rw_spool_stats st;
	rw_spool_stats(s, &st);
	assert_int_equal(st.spooled, 3);
	assert_int_equal(st.commits, 1);
	assert_int_equal(st.acked, 2);
	assert_int_equal(st.count, 1);
	assert_int_equal(st.bytes, 5);
	assert_int_equal(st.dropped, 0);
	rw_spool_ack(s, 3);
	assert_false(exists("00000000000000000001.seg")); /* all its records left */
	assert_false(rw_spool_next(s, 0, &seq));
	put(s, "four", 4); /* the sequence goes on after the spool emptied */
	commit(s, 1);
	assert_true(exists("00000000000000000004.seg"));
	rw_spool_close(s);
}

static void test_restart(void **state)
{
	(void)state;
	struct rw_spool *s = open_spool(1 << 20, RW_SPOOL_DROP_OLDEST);
	put(s, "a", 1);
	put(s, "b", 2);
	put(s, "c", 3);
	commit(s, 3);
	rw_spool_ack(s, 1);
	put(s, "never committed", 4);
	rw_spool_close(s); /* as if killed: the batch was never written */

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
	assert_int_equal(st.torn, 0);
	put(s, "d", 4); /* continues from the highest record */
	rw_spool_close(s);
}

static void test_drop_oldest(void **state)
{
	(void)state;
	struct rw_spool *s = open_spool(10, RW_SPOOL_DROP_OLDEST);
	put(s, "aaaa", 1);
	put(s, "bbbb", 2);
	commit(s, 2);
	put(s, "cccc", 3); /* 12 > 10: "aaaa" goes */
	commit(s, 1);
	expect_next(s, 0, 2, "bbbb");
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
	commit(s, 1);
	rw_spool_close(s);
	/* The drops hold after a restart: the "removed" mark. */
	s = open_spool(10, RW_SPOOL_DROP_OLDEST);
	expect_next(s, 0, 4, "0123456789");
	rw_spool_stats(s, &st);
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
	commit(s, 2);
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
		if (i % 5 == 0)
			commit(s, 5);
		if (i % 7 == 0)
			rw_spool_ack(s, i - 3);
	}
	rw_spool_close(s);
	s = open_spool(1 << 24, RW_SPOOL_DROP_OLDEST);
	/* The last ack, at i = 294, asked for up to 291 and took up to 290:
	 * an ack reaches only durable records (291 was in the batch). */
	uint64_t after = 0, seq, want = 291;
	while (rw_spool_next(s, after, &seq)) {
		snprintf(text, sizeof(text), "record %u", (unsigned)seq);
		expect_next(s, after, want, text);
		after = seq;
		want++;
	}
	assert_int_equal(want, 301);
	rw_spool_close(s);
}

/* A batch commits itself at RW_SPOOL_BATCH_RECORDS records or
 * RW_SPOOL_BATCH_BYTES bytes; a full segment takes no more batches. */
static void test_batch_boundaries(void **state)
{
	(void)state;
	struct rw_spool *s = open_spool(1 << 24, RW_SPOOL_DROP_OLDEST);
	uint64_t seq, last = 0;
	for (unsigned i = 1; i <= RW_SPOOL_BATCH_RECORDS; i++)
		put(s, "r", i);
	assert_false(rw_spool_next(s, 0, &seq)); /* one short of a commit */
	put(s, "r", RW_SPOOL_BATCH_RECORDS + 1); /* commits the full batch first */
	struct rw_spool_stats st;
	rw_spool_stats(s, &st);
	assert_int_equal(st.commits, 1);
	assert_int_equal(st.spooled, RW_SPOOL_BATCH_RECORDS);
	assert_int_equal(st.pending, 1);
	while (rw_spool_next(s, last, &seq))
		last = seq;
	assert_int_equal(last, RW_SPOOL_BATCH_RECORDS); /* the new one waits */
	commit(s, 1);
	/* By bytes: 100 KiB records, ten to a 1 MiB batch. */
	static char big[100 * 1024];
	memset(big, 'b', sizeof(big));
	uint64_t first = RW_SPOOL_BATCH_RECORDS + 2;
	for (uint64_t i = 0; i < 11; i++)
		assert_int_equal(rw_spool_put(s, big, sizeof(big), &seq), 0);
	rw_spool_stats(s, &st);
	assert_int_equal(st.commits, 3);
	assert_int_equal(st.pending, 1);
	assert_int_equal(st.spooled, first + 10 - 1);
	/* The segment passes its target (1 MiB for a 16 MiB bound): the next
	 * batch starts a new one, named by its first record. */
	commit(s, 1);
	put(s, "z", first + 11);
	commit(s, 1);
	char name[64];
	snprintf(name, sizeof(name), "%020llu.seg", (unsigned long long)first + 11);
	assert_true(exists("00000000000000000001.seg"));
	assert_true(exists(name));
	/* Everything reads back across the boundaries. */
	struct rw_buf b;
	rw_buf_init(&b, 0);
	for (seq = 1; seq <= first + 11; seq++) {
		assert_int_equal(rw_spool_read(s, seq, &b), 0);
		assert_int_equal(b.len, seq < first || seq == first + 11 ? 1 : sizeof(big));
	}
	rw_buf_free(&b);
	rw_spool_close(s);
}

static off_t file_size(const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* A commit that cannot write (here: the file-size limit, EFBIG, standing in
 * for ENOSPC): nothing of the batch is durable or handed out, the segment
 * is cut back, the batch waits in memory, new records are refused once it
 * is full, and a later commit writes it. */
static void test_commit_failure(void **state)
{
	(void)state;
	struct rw_spool *s = open_spool(1 << 24, RW_SPOOL_DROP_OLDEST);
	put(s, "durable 1", 1);
	put(s, "durable 2", 2);
	commit(s, 2);
	off_t durable = file_size("00000000000000000001.seg");
	struct rlimit old, lim;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)durable + 40; /* room for part of the batch */
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	static char rec[600];
	memset(rec, 'x', sizeof(rec));
	uint64_t seq;
	assert_int_equal(rw_spool_put(s, rec, sizeof(rec), &seq), 0);
	assert_int_equal(seq, 3);
	assert_int_equal(rw_spool_commit(s), -1);
	assert_int_equal(errno, EFBIG);
	assert_false(rw_spool_next(s, 2, &seq));
	/* Fill the batch: the put after it needs a commit, which fails. */
	unsigned taken = 1;
	int rc;
	while ((rc = rw_spool_put(s, rec, sizeof(rec), &seq)) == 0)
		taken++;
	assert_int_equal(rc, -1);
	assert_true(taken == RW_SPOOL_BATCH_RECORDS ||
	            taken * (sizeof(rec) + RW_SEG_HDR) + RW_SEG_HDR + sizeof(rec) >
	                    RW_SPOOL_BATCH_BYTES);
	struct rw_spool_stats st;
	rw_spool_stats(s, &st);
	assert_int_equal(st.spooled, 2);
	assert_int_equal(st.pending, taken);
	/* A restart now finds exactly the durable records: the failed
	 * segment (a new one) is gone, the first cut back. */
	struct rw_spool *peek = open_spool(1 << 24, RW_SPOOL_DROP_OLDEST);
	rw_spool_stats(peek, &st);
	assert_int_equal(st.count, 2);
	assert_int_equal(st.torn, 0);
	rw_spool_close(peek);
	assert_int_equal(file_size("00000000000000000001.seg"), durable);
	/* Room again. */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	commit(s, (int)taken);
	uint64_t last = 0;
	unsigned n = 0;
	while (rw_spool_next(s, last, &seq)) {
		last = seq;
		n++;
	}
	assert_int_equal(n, 2 + taken);
	assert_int_equal(last, 2 + taken);
	rw_spool_close(s);
	s = open_spool(1 << 24, RW_SPOOL_DROP_OLDEST);
	rw_spool_stats(s, &st);
	assert_int_equal(st.count, 2 + taken);
	expect_next(s, 0, 1, "durable 1");
	rw_spool_close(s);
}

/* The bound with records still in the batch. */
static void test_policies_with_batches(void **state)
{
	(void)state;
	/* drop-oldest, the oldest still in the batch: committed, then dropped. */
	struct rw_spool *s = open_spool(10, RW_SPOOL_DROP_OLDEST);
	put(s, "aaaa", 1);
	put(s, "bbbb", 2);
	put(s, "cccc", 3);
	struct rw_spool_stats st;
	rw_spool_stats(s, &st);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(st.count, 2);
	assert_int_equal(st.pending, 1); /* "cccc": "bbbb" went out with the forced commit */
	commit(s, 1);
	expect_next(s, 0, 2, "bbbb");
	expect_next(s, 2, 3, "cccc");
	rw_spool_close(s);
	s = open_spool(10, RW_SPOOL_DROP_OLDEST);
	expect_next(s, 0, 2, "bbbb"); /* "aaaa" stays dropped */
	rw_spool_close(s);
	teardown(NULL);
	setup(NULL);
	/* drop-newest counts the batch against the bound. */
	s = open_spool(10, RW_SPOOL_DROP_NEWEST);
	put(s, "aaaa", 1);
	put(s, "bbbb", 2);
	uint64_t seq;
	assert_int_equal(rw_spool_put(s, "cc", 2, &seq), 0); /* exactly 10 */
	assert_int_equal(rw_spool_put(s, "d", 1, &seq), 1);
	rw_spool_stats(s, &st);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(st.commits, 0);
	commit(s, 3);
	rw_spool_ack(s, 1);
	put(s, "dddd", 4);
	rw_spool_close(s);
}

/* A record set aside: a file of its own in rejected/, gone from the spool,
 * also after a restart. */
static void test_reject(void **state)
{
	(void)state;
	struct rw_spool *s = open_spool(1 << 20, RW_SPOOL_DROP_OLDEST);
	uint64_t seq;
	assert_int_equal(rw_spool_reject_first(s, &seq), -1);
	put(s, "refused", 1);
	put(s, "fine", 2);
	assert_int_equal(rw_spool_reject_first(s, &seq), -1); /* nothing durable */
	commit(s, 2);
	assert_int_equal(rw_spool_reject_first(s, &seq), 0);
	assert_int_equal(seq, 1);
	char path[256];
	snprintf(path, sizeof(path), "%s/rejected/00000000000000000001", dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char text[32] = "";
	assert_non_null(fgets(text, sizeof(text), f));
	fclose(f);
	assert_string_equal(text, "refused");
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	expect_next(s, 0, 2, "fine");
	struct rw_spool_stats ss;
	rw_spool_stats(s, &ss);
	assert_int_equal(ss.rejected, 1);
	assert_int_equal(ss.count, 1);
	rw_spool_close(s);
	s = open_spool(1 << 20, RW_SPOOL_DROP_OLDEST);
	expect_next(s, 0, 2, "fine");
	rw_spool_close(s);
}

static void test_chown(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	struct rw_spool *s = open_spool(1 << 20, RW_SPOOL_DROP_OLDEST);
	put(s, "x", 1);
	commit(s, 1);
	rw_spool_close(s);
	s = open_spool(1 << 20, RW_SPOOL_DROP_OLDEST);
	assert_int_equal(rw_spool_chown(s, 65534, 65534), 0);
	struct stat st;
	char path[256];
	snprintf(path, sizeof(path), "%s/00000000000000000001.seg", dir);
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
	        cmocka_unit_test_setup_teardown(test_batch_boundaries, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_commit_failure, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_policies_with_batches, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_reject, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_chown, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bad_dir, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
