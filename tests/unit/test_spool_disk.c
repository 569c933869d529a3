/* The spool's files: the segment parser over plain buffers, a torn tail cut
 * at every byte of the last record, damaged and zero-filled tails, a
 * process killed while it commits (nothing reported durable is lost), the
 * "removed" mark, records written twice, the old one-file-per-record
 * format, planted links and modes. The interface is in test_spool.c. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "spool.h"
#include "spool_seg.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/rw_spool_disk_XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void path_of(const char *name, char out[256])
{
	snprintf(out, 256, "%s/%s", dir, name);
}

static bool exists(const char *name)
{
	char path[256];
	path_of(name, path);
	return access(path, F_OK) == 0;
}

static void write_file(const char *name, const void *p, size_t n)
{
	char path[256];
	path_of(name, path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
}

/* The whole file, malloc'ed; *n its size. */
static uint8_t *read_file(const char *name, size_t *n)
{
	char path[256];
	path_of(name, path);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *p = malloc((size_t)len + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	*n = (size_t)len;
	return p;
}

static struct rw_spool *open_spool(void)
{
	char err[256];
	struct rw_spool *s = rw_spool_open(dir, 1 << 24, RW_SPOOL_DROP_OLDEST, err, sizeof(err));
	if (!s)
		fail_msg("%s", err);
	return s;
}

static void text_of(uint64_t seq, char out[64])
{
	snprintf(out, 64, "record %llu, some text to make it longer", (unsigned long long)seq);
}

/* Records from..to are in the spool, in order, and nothing else. */
static void expect_records(struct rw_spool *s, uint64_t from, uint64_t to)
{
	struct rw_buf b;
	rw_buf_init(&b, 0);
	uint64_t after = 0, seq, want = from;
	char text[64];
	while (rw_spool_next(s, after, &seq)) {
		assert_int_equal(seq, want);
		assert_int_equal(rw_spool_read(s, seq, &b), 0);
		text_of(seq, text);
		assert_int_equal(b.len, strlen(text));
		assert_memory_equal(b.data, text, b.len);
		after = seq;
		want++;
	}
	assert_int_equal(want, to + 1);
	rw_buf_free(&b);
}

static void put_range(struct rw_spool *s, uint64_t from, uint64_t to)
{
	char text[64];
	for (uint64_t i = from; i <= to; i++) {
		uint64_t seq;
		text_of(i, text);
		assert_int_equal(rw_spool_put(s, text, strlen(text), &seq), 0);
		assert_int_equal(seq, i);
	}
	assert_int_equal(rw_spool_commit(s), (int)(to - from + 1));
}

static void stats(struct rw_spool *s, struct rw_spool_stats *st)
{
	rw_spool_stats(s, st);
}

/* ---- the format, pure ---------------------------------------------------- */

static bool count_cb(const struct rw_seg_rec *r, void *arg)
{
	(void)r;
	(*(unsigned *)arg)++;
	return true;
}

static size_t build(uint8_t *out, const uint64_t *seqs, size_t n)
{
	size_t off = 0;
	memcpy(out, RW_SEG_MAGIC, RW_SEG_MAGIC_LEN);
	off = RW_SEG_MAGIC_LEN;
	for (size_t i = 0; i < n; i++) {
		rw_seg_header(out + off, seqs[i], "abc", 3);
		memcpy(out + off + RW_SEG_HDR, "abc", 3);
		off += RW_SEG_HDR + 3;
	}
	return off;
}

static void test_format(void **state)
{
	(void)state;
	/* CRC-32 as zlib's crc32 (the check value of the IEEE polynomial). */
	assert_int_equal(rw_crc32(0, "123456789", 9), 0xCBF43926u);
	uint8_t b[256];
	uint64_t recs;
	unsigned calls = 0;
	assert_int_equal(rw_seg_parse(b, 0, NULL, NULL, &recs), 0);
	assert_int_equal(rw_seg_parse((const uint8_t *)"RWSPSEG0", 8, NULL, NULL, &recs), 0);
	uint64_t seqs[] = {5, 6, 9};
	size_t n = build(b, seqs, 3);
	assert_int_equal(rw_seg_parse(b, n, count_cb, &calls, &recs), n);
	assert_int_equal(recs, 3);
	assert_int_equal(calls, 3);
	assert_int_equal(rw_seg_parse(b, RW_SEG_MAGIC_LEN, NULL, NULL, &recs), RW_SEG_MAGIC_LEN);
	assert_int_equal(recs, 0);
	/* Sequence numbers must grow within a segment. */
	uint64_t bad[] = {5, 5};
	n = build(b, bad, 2);
	assert_int_equal(rw_seg_parse(b, n, NULL, NULL, &recs), RW_SEG_MAGIC_LEN + 19);
	uint64_t zero[] = {0};
	n = build(b, zero, 1);
	assert_int_equal(rw_seg_parse(b, n, NULL, NULL, &recs), RW_SEG_MAGIC_LEN);
	/* A flipped bit anywhere in a record: the record and the rest go. */
	n = build(b, seqs, 3);
	for (size_t i = RW_SEG_MAGIC_LEN + 19; i < RW_SEG_MAGIC_LEN + 38; i++)
		for (int bit = 0; bit < 8; bit++) {
			b[i] ^= (uint8_t)(1 << bit);
			assert_int_equal(rw_seg_parse(b, n, NULL, NULL, &recs),
			                 RW_SEG_MAGIC_LEN + 19);
			assert_int_equal(recs, 1);
			b[i] ^= (uint8_t)(1 << bit);
		}
	/* A length beyond the limit, even with the rest consistent. */
	struct rw_seg_rec r;
	uint8_t h[RW_SEG_HDR];
	rw_seg_header(h, 1, "", 0);
	h[3] = 0x7f;
	assert_int_equal(rw_seg_record(h, sizeof(h), 0, &r), 0);
	/* The mark. */
	uint8_t m[RW_ACK_LEN];
	uint64_t w = 0;
	rw_ack_encode(m, 1234);
	assert_true(rw_ack_decode(m, sizeof(m), &w));
	assert_int_equal(w, 1234);
	assert_false(rw_ack_decode(m, sizeof(m) - 1, &w));
	m[9] ^= 1;
	assert_false(rw_ack_decode(m, sizeof(m), &w));
}

/* ---- torn tails ------------------------------------------------------------ */

/* Records 1..4 in two batches; then the last record cut at every byte
 * offset: records 1..3 intact, 4 gone, counted once (a cut exactly at its
 * start leaves a whole segment: nothing torn), and the sequence goes on. */
static void test_torn_tail_every_offset(void **state)
{
	(void)state;
	struct rw_spool *s = open_spool();
	put_range(s, 1, 2);
	put_range(s, 3, 4);
	rw_spool_close(s);
	size_t n;
	uint8_t *whole = read_file("00000000000000000001.seg", &n);
	char text[64];
	text_of(4, text);
	size_t last = n - RW_SEG_HDR - strlen(text);
	for (size_t cut = last; cut < n; cut++) {
		write_file("00000000000000000001.seg", whole, cut);
		s = open_spool();
		struct rw_spool_stats st;
		stats(s, &st);
		assert_int_equal(st.torn, cut > last);
		assert_int_equal(st.count, 3);
		expect_records(s, 1, 3);
		rw_spool_close(s);
		size_t m;
		free(read_file("00000000000000000001.seg", &m));
		assert_int_equal(m, last); /* cut off: counted once */
		s = open_spool();
		stats(s, &st);
		assert_int_equal(st.torn, 0);
		uint64_t seq;
		text_of(4, text);
		assert_int_equal(rw_spool_put(s, text, strlen(text), &seq), 0);
		assert_int_equal(seq, 4);
		rw_spool_close(s); /* uncommitted: nothing written */
	}
	/* Damaged rather than short: a flipped byte, or zeros where a file
	 * system extended the file but the data never reached the disk. */
	whole[n - 1] ^= 0x20;
	write_file("00000000000000000001.seg", whole, n);
	s = open_spool();
	struct rw_spool_stats st;
	stats(s, &st);
	assert_int_equal(st.torn, 1);
	expect_records(s, 1, 3);
	rw_spool_close(s);
	whole[n - 1] ^= 0x20;
	uint8_t *z = calloc(1, n + 4096);
	memcpy(z, whole, n);
	write_file("00000000000000000001.seg", z, n + 4096);
	s = open_spool();
	stats(s, &st);
	assert_int_equal(st.torn, 1);
	expect_records(s, 1, 4);
	rw_spool_close(s);
	/* A segment whose first batch never became durable: not even the
	 * magic. It goes, torn. */
	write_file("00000000000000000009.seg", "RWSP", 4);
	write_file("00000000000000000010.seg", z + n, 100);
	s = open_spool();
	stats(s, &st);
	assert_int_equal(st.torn, 2);
	assert_false(exists("00000000000000000009.seg"));
	assert_false(exists("00000000000000000010.seg"));
	expect_records(s, 1, 4);
	rw_spool_close(s);
	free(z);
	free(whole);
}

/* ---- a crash while committing ----------------------------------------------- */

/* A child spools as fast as it can and reports each commit's last record
 * through a pipe once rw_spool_commit returned; it is killed (SIGKILL) at
 * some point. Every record it reported is there after a reopen, in order,
 * intact; at most the batch in flight is missing or torn. */
static void test_kill_while_committing(void **state)
{
	(void)state;
	for (int round = 0; round < 5; round++) {
		int p[2];
		assert_int_equal(pipe(p), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			char err[256], text[64];
			struct rw_spool *s = rw_spool_open(dir, 1ull << 30, RW_SPOOL_DROP_OLDEST,
			                                   err, sizeof(err));
			if (!s)
				_exit(2);
			struct rw_spool_stats st;
			rw_spool_stats(s, &st);
			uint64_t seq = 0;
			for (unsigned i = 0;; i++) {
				text_of(st.count + 1 + i, text);
				if (rw_spool_put(s, text, strlen(text), &seq) < 0)
					_exit(3);
				if (i % 37 == 36) {
					if (rw_spool_commit(s) < 0)
						_exit(4);
					if (write(p[1], &seq, sizeof(seq)) != sizeof(seq))
						_exit(5);
				}
			}
		}
		close(p[1]);
		uint64_t durable = 0, seq;
		for (int k = 0; k < 20 + 7 * round; k++)
			if (read(p[0], &seq, sizeof(seq)) == sizeof(seq))
				durable = seq;
		kill(pid, SIGKILL);
		while (read(p[0], &seq, sizeof(seq)) == sizeof(seq))
			durable = seq;
		int status;
		waitpid(pid, &status, 0);
		close(p[0]);
		assert_true(WIFSIGNALED(status));
		struct rw_spool *s = open_spool();
		struct rw_spool_stats st;
		stats(s, &st);
		assert_true(st.count >= durable);
		expect_records(s, 1, st.count);
		rw_spool_close(s);
	}
}

/* ---- the "removed" mark ---------------------------------------------------- */

static void test_removed_mark(void **state)
{
	(void)state;
	struct rw_spool *s = open_spool();
	put_range(s, 1, 10);
	rw_spool_ack(s, 6);
	assert_true(exists("removed"));
	rw_spool_close(s);
	s = open_spool();
	expect_records(s, 7, 10); /* not sent again */
	rw_spool_ack(s, 10);
	assert_false(exists("00000000000000000001.seg"));
	rw_spool_close(s);
	/* The sequence goes on above the mark even with nothing on disk. */
	s = open_spool();
	put_range(s, 11, 11);
	rw_spool_close(s);
	teardown(NULL);
	setup(NULL);
	/* A damaged mark (it is written without fsync): records come back —
	 * sent twice, never lost. */
	s = open_spool();
	put_range(s, 1, 4);
	rw_spool_ack(s, 2);
	rw_spool_close(s);
	write_file("removed", "garbage", 7);
	s = open_spool();
	expect_records(s, 1, 4);
	rw_spool_close(s);
}

/* The same record in two segments (a batch written again after a failed
 * commit whose segment could not be cut back): kept once. */
static void test_duplicates(void **state)
{
	(void)state;
	uint8_t b[512];
	char text[64];
	size_t off = RW_SEG_MAGIC_LEN;
	memcpy(b, RW_SEG_MAGIC, RW_SEG_MAGIC_LEN);
	for (uint64_t seq = 1; seq <= 3; seq++) {
		text_of(seq, text);
		size_t len = strlen(text);
		rw_seg_header(b + off, seq, text, (uint32_t)len);
		memcpy(b + off + RW_SEG_HDR, text, len);
		off += RW_SEG_HDR + len;
	}
	write_file("00000000000000000001.seg", b, off);
	size_t second = RW_SEG_MAGIC_LEN;
	uint8_t c[512];
	memcpy(c, RW_SEG_MAGIC, RW_SEG_MAGIC_LEN);
	for (uint64_t seq = 3; seq <= 4; seq++) {
		text_of(seq, text);
		size_t len = strlen(text);
		rw_seg_header(c + second, seq, text, (uint32_t)len);
		memcpy(c + second + RW_SEG_HDR, text, len);
		second += RW_SEG_HDR + len;
	}
	write_file("00000000000000000003.seg", c, second);
	struct rw_spool *s = open_spool();
	expect_records(s, 1, 4);
	rw_spool_ack(s, 4);
	rw_spool_close(s);
	assert_false(exists("00000000000000000001.seg"));
	assert_false(exists("00000000000000000003.seg"));
}

/* ---- the old format -------------------------------------------------------- */

/* A spool left by a version that wrote one file per record: read, sent,
 * acknowledged and set aside as before; new records go to segments after
 * them; a temporary file of the old writer is removed. */
static void test_old_format(void **state)
{
	(void)state;
	char text[64], name[32];
	for (uint64_t seq = 3; seq <= 6; seq++) {
		text_of(seq, text);
		snprintf(name, sizeof(name), "%020llu", (unsigned long long)seq);
		write_file(name, text, strlen(text));
	}
	write_file(".tmp-00000000000000000007", "half", 4);
	struct rw_spool *s = open_spool();
	assert_false(exists(".tmp-00000000000000000007"));
	struct rw_spool_stats st;
	stats(s, &st);
	assert_int_equal(st.count, 4);
	assert_int_equal(st.legacy, 4);
	uint64_t seq;
	text_of(7, text);
	assert_int_equal(rw_spool_put(s, text, strlen(text), &seq), 0);
	assert_int_equal(seq, 7);
	assert_int_equal(rw_spool_commit(s), 1);
	assert_true(exists("00000000000000000007.seg"));
	expect_records(s, 3, 7);
	rw_spool_ack(s, 4);
	assert_false(exists("00000000000000000003"));
	assert_false(exists("00000000000000000004"));
	assert_int_equal(rw_spool_reject_first(s, &seq), 0);
	assert_int_equal(seq, 5);
	assert_true(exists("rejected/00000000000000000005"));
	assert_false(exists("00000000000000000005"));
	rw_spool_close(s);
	s = open_spool();
	stats(s, &st);
	assert_int_equal(st.legacy, 1);
	expect_records(s, 6, 7);
	rw_spool_ack(s, 7);
	assert_false(exists("00000000000000000006"));
	assert_false(exists("00000000000000000007.seg"));
	rw_spool_close(s);
}

/* ---- links and modes ------------------------------------------------------- */

static void test_links_and_modes(void **state)
{
	(void)state;
	struct rw_spool *s = open_spool();
	put_range(s, 1, 2);
	rw_spool_ack(s, 1);
	rw_spool_close(s);
	struct stat st;
	char path[256];
	path_of("00000000000000000001.seg", path);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	path_of("removed", path);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	/* A link planted under a segment's name, or the mark's. */
	const char *names[] = {"00000000000000000009.seg", "removed"};
	for (size_t i = 0; i < 2; i++) {
		path_of(names[i], path);
		unlink(path);
		assert_int_equal(symlink("/etc/passwd", path), 0);
		char err[256];
		assert_null(rw_spool_open(dir, 1 << 20, RW_SPOOL_DROP_OLDEST, err, sizeof(err)));
		assert_non_null(strstr(err, "is a symbolic link, not a spooled record"));
		unlink(path);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_format),
	        cmocka_unit_test_setup_teardown(test_torn_tail_every_offset, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_kill_while_committing, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_removed_mark, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_old_format, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_links_and_modes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
