/* The pcap queue and its writer thread (proxy/pcap_queue.c), the file layer
 * (proxy/pcap_file.c) and the queued mode of the pcap writer: the queued file
 * is byte for byte the synchronous one; with a queue too small to keep up,
 * every record offered is either in the file or counted as dropped, and the
 * file is still whole records to its end; pcap_max_file keeps the close;
 * pcap_max_total removes the oldest closed files, never a file still open
 * nor someone else's; a write error cuts the file back to a record boundary. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "pcap_dircap.h"
#include "pcap_file.h"
#include "pcap_queue.h"
#include "pcap_writer.h"
#include "testutil.h"

#define T0 1700000000123456ull

static const struct rw_endpoint cli4 = {.family = AF_INET, .addr = {192, 0, 2, 10}, .port = 50000};
static const struct rw_endpoint srv4 = {.family = AF_INET, .addr = {198, 51, 100, 7}, .port = 3389};

static struct rw_log quiet;

static char *make_tmpdir(void)
{
	char *t = strdup("/tmp/rw-pcapq-XXXXXX");
	assert_non_null(t);
	assert_non_null(mkdtemp(t));
	return t;
}

static void remove_tmpdir(char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	assert_int_equal(rmdir(dir), 0);
	free(dir);
}

/* The one file in dir whose name starts with prefix, read whole. */
static uint8_t *read_only_file(const char *dir, const char *prefix, size_t *n, char *path,
                               size_t pathlen)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	int found = 0;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
			continue;
		snprintf(path, pathlen, "%s/%s", dir, e->d_name);
		found++;
	}
	closedir(d);
	assert_int_equal(found, 1);
	uint8_t *b = rw_test_read_file(path, n);
	assert_non_null(b);
	return b;
}

/* Whole records to the end: the number of records, or -1. Each record's
 * TCP flags into flags[] (up to cap). */
static long count_records(const uint8_t *b, size_t n, uint8_t *flags, size_t cap)
{
	if (n < RW_PCAPF_HEADER)
		return -1;
	size_t off = RW_PCAPF_HEADER;
	long k = 0;
	while (off < n) {
		uint32_t caplen;
		if (n - off < RW_PCAPF_REC_HEADER)
			return -1;
		memcpy(&caplen, b + off + 8, 4);
		if (n - off - RW_PCAPF_REC_HEADER < caplen)
			return -1;
		const uint8_t *f = b + off + RW_PCAPF_REC_HEADER;
		if ((size_t)k < cap && caplen >= 14 + 20 + 14)
			flags[k] = f[14 + 20 + 13];
		off += RW_PCAPF_REC_HEADER + caplen;
		k++;
	}
	return k;
}

static uint8_t *pattern(size_t n)
{
	uint8_t *p = malloc(n);
	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + (i >> 8));
	return p;
}

/* The same calls on either writer. */
static void conversation(struct rw_pcapw *w, const uint8_t *p, size_t n, size_t chunk)
{
	assert_int_equal(rw_pcapw_synack(w, T0 + 10), 0);
	for (size_t off = 0; off < n; off += chunk) {
		size_t k = n - off < chunk ? n - off : chunk;
		assert_int_equal(rw_pcapw_data(w, RW_C2S, T0 + 20 + off, p + off, k), 0);
		assert_int_equal(rw_pcapw_data(w, RW_S2C, T0 + 21 + off, p + off, k), 0);
	}
	assert_int_equal(rw_pcapw_fin(w, RW_C2S, T0 + 20 + n), 0);
	assert_int_equal(rw_pcapw_fin(w, RW_S2C, T0 + 21 + n), 0);
}

static void test_queued_equals_sync(void **state)
{
	(void)state;
	char *da = make_tmpdir(), *db = make_tmpdir(), err[512], pa[4096], pb[4096];
	uint8_t *p = pattern(300000);
	struct rw_pcapw *w = rw_pcapw_open_syn(da, &cli4, &srv4, T0, err, sizeof(err));
	assert_non_null(w);
	conversation(w, p, 300000, 70000);
	assert_int_equal(rw_pcapw_close(w), 0);

	struct rw_pcapq *q = rw_pcapq_new(8 << 20, &quiet, err, sizeof(err));
	assert_non_null(q);
	struct rw_pcapw_caps caps = {0, 0};
	w = rw_pcapw_open_queued(q, &caps, db, &cli4, &srv4, T0, err, sizeof(err));
	assert_non_null(w);
	assert_null(rw_pcapw_path(w)); /* the writer names the file */
	conversation(w, p, 300000, 70000);
	assert_int_equal(rw_pcapw_close(w), 0);
	rw_pcapq_free(q, 5000);

	size_t na, nb;
	uint8_t *a = read_only_file(da, "rdpwhy-", &na, pa, sizeof(pa));
	uint8_t *b = read_only_file(db, "rdpwhy-", &nb, pb, sizeof(pb));
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na);
	assert_string_equal(strrchr(pa, '/'), strrchr(pb, '/'));
	struct stat s;
	assert_int_equal(stat(pb, &s), 0);
	assert_int_equal(s.st_mode & 0777, 0600);
	free(a);
	free(b);
	free(p);
	remove_tmpdir(da);
	remove_tmpdir(db);
}

/* A queue of 64 KiB against 8 MiB offered as fast as possible: whatever the
 * thread's timing, offered = written + dropped, and the file is whole. */
static void test_small_queue_accounts_every_byte(void **state)
{
	(void)state;
	char *da = make_tmpdir(), *db = make_tmpdir(), err[512], path[4096];
	uint8_t *p = pattern(1 << 20);
	struct rw_pcapw *w = rw_pcapw_open_syn(da, &cli4, &srv4, T0, err, sizeof(err));
	assert_non_null(w);
	conversation(w, p, 1 << 20, 1 << 16);
	assert_int_equal(rw_pcapw_close(w), 0);
	size_t offered;
	free(read_only_file(da, "rdpwhy-", &offered, path, sizeof(path)));

	struct rw_pcapq *q = rw_pcapq_new(0, &quiet, err, sizeof(err)); /* 64 KiB */
	assert_non_null(q);
	struct rw_pcapw_caps caps = {0, 0};
	w = rw_pcapw_open_queued(q, &caps, db, &cli4, &srv4, T0, err, sizeof(err));
	assert_non_null(w);
	conversation(w, p, 1 << 20, 1 << 16);
	assert_int_equal(rw_pcapw_close(w), 0);
	struct rw_pcapq_stats st;
	rw_pcapq_stats(q, &st);
	assert_true(st.queued_bytes <= 64 * 1024);
	rw_pcapq_free(q, 5000);
	size_t n;
	uint8_t *b = read_only_file(db, "rdpwhy-", &n, path, sizeof(path));
	assert_true(count_records(b, n, NULL, 0) > 0);
	/* Drops are counted by the producer, all before rw_pcapw_close returned. */
	assert_int_equal(n + st.queue_drop_bytes, offered);
	assert_int_equal(st.write_error_bytes, 0);
	free(b);
	free(p);
	remove_tmpdir(da);
	remove_tmpdir(db);
}

static void test_max_file_keeps_the_close(void **state)
{
	(void)state;
	char *d = make_tmpdir(), err[512], path[4096];
	uint8_t *p = pattern(200000);
	struct rw_pcapq *q = rw_pcapq_new(8 << 20, &quiet, err, sizeof(err));
	assert_non_null(q);
	struct rw_pcapw_caps caps = {20000, 0};
	struct rw_pcapw *w = rw_pcapw_open_queued(q, &caps, d, &cli4, &srv4, T0, err, sizeof(err));
	assert_non_null(w);
	conversation(w, p, 200000, 50000);
	assert_int_equal(rw_pcapw_close(w), 0);
	rw_pcapq_free(q, 5000);
	size_t n;
	uint8_t *b = read_only_file(d, "rdpwhy-", &n, path, sizeof(path));
	assert_true(n <= 20000);
	assert_true(n > 20000 - 1024 - 2 * 1600); /* filled up to the reserve */
	uint8_t flags[64];
	long k = count_records(b, n, flags, 64);
	assert_true(k > 4);
	/* ends with FIN, ACK, FIN, ACK: how the connection closed */
	assert_true(flags[k - 4] & 0x01);
	assert_true(flags[k - 2] & 0x01);
	free(b);
	free(p);
	remove_tmpdir(d);
}

static bool never_open(const char *name, void *arg)
{
	(void)name;
	(void)arg;
	return false;
}

static bool open_b(const char *name, void *arg)
{
	(void)arg;
	return strstr(name, "-b.pcap") != NULL;
}

static void put_file(const char *dir, const char *name, size_t n)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (size_t i = 0; i < n; i++)
		fputc(0, f);
	assert_int_equal(fclose(f), 0);
}

static bool exists(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void test_dircap_oldest_first(void **state)
{
	(void)state;
	char *d = make_tmpdir();
	put_file(d, "rdpwhy-20200101T000000.000000Z-a.pcap", 1000);
	put_file(d, "rdpwhy-20200101T000001.000000Z-b.pcap", 1000); /* still open */
	put_file(d, "rdpwhy-20200101T000002.000000Z-c.pcap", 1000);
	put_file(d, "rdpwhy-20200101T000003.000000Z-d.pcap", 1000);
	put_file(d, "notes.txt", 5000);
	struct rw_pcapdir dc;
	memset(&dc, 0, sizeof(dc));
	/* 4000 there, 500 more under 4000: a (oldest, closed) goes; b is open. */
	assert_int_equal(rw_pcapdir_reserve(&dc, d, 500, 4000, open_b, NULL, &quiet), 0);
	assert_false(exists(d, "rdpwhy-20200101T000000.000000Z-a.pcap"));
	assert_true(exists(d, "rdpwhy-20200101T000001.000000Z-b.pcap"));
	assert_true(exists(d, "rdpwhy-20200101T000002.000000Z-c.pcap"));
	assert_true(exists(d, "notes.txt"));
	assert_int_equal(dc.removed_files, 1);
	assert_int_equal(dc.total, 3500);
	/* 3100 more (3000 on disk): c and d go, b stays, it still does not fit. */
	assert_int_equal(rw_pcapdir_reserve(&dc, d, 3100, 4000, open_b, NULL, &quiet), -1);
	assert_true(exists(d, "rdpwhy-20200101T000001.000000Z-b.pcap"));
	assert_false(exists(d, "rdpwhy-20200101T000003.000000Z-d.pcap"));
	assert_int_equal(dc.removed_files, 3);
	/* stuck: no rescan until a file closes */
	assert_int_equal(rw_pcapdir_reserve(&dc, d, 3100, 4000, never_open, NULL, &quiet), -1);
	assert_true(exists(d, "rdpwhy-20200101T000001.000000Z-b.pcap"));
	rw_pcapdir_released(&dc);
	assert_int_equal(rw_pcapdir_reserve(&dc, d, 3100, 4000, never_open, NULL, &quiet), 0);
	assert_false(exists(d, "rdpwhy-20200101T000001.000000Z-b.pcap"));
	assert_true(exists(d, "notes.txt"));
	/* no cap: nothing removed, nothing counted */
	put_file(d, "rdpwhy-20200101T000009.000000Z-e.pcap", 9000);
	assert_int_equal(rw_pcapdir_reserve(&dc, d, 1 << 30, 0, never_open, NULL, &quiet), 0);
	assert_true(exists(d, "rdpwhy-20200101T000009.000000Z-e.pcap"));
	remove_tmpdir(d);
}

/* EFBIG in the middle of a buffer: the file ends on a record boundary. */
static void test_write_error_cuts_to_a_record(void **state)
{
	(void)state;
	char *d = make_tmpdir(), err[512], path[4096];
	struct rlimit old, lim;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
	struct rw_pcapq *q = rw_pcapq_new(8 << 20, &quiet, err, sizeof(err));
	assert_non_null(q);
	struct rw_pcapw_caps caps = {0, 0};
	struct rw_pcapw *w = rw_pcapw_open_queued(q, &caps, d, &cli4, &srv4, T0, err, sizeof(err));
	assert_non_null(w);
	lim = old;
	lim.rlim_cur = 50000; /* not a multiple of anything the writer does */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	uint8_t *p = pattern(300000);
	conversation(w, p, 300000, 30000);
	assert_int_equal(rw_pcapw_close(w), 0);
	rw_pcapq_free(q, 5000);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_handler);
	size_t n;
	uint8_t *b = read_only_file(d, "rdpwhy-", &n, path, sizeof(path));
	assert_true(n <= 50000 && n > 30000);
	assert_true(count_records(b, n, NULL, 0) > 0);
	free(b);
	free(p);
	remove_tmpdir(d);
}

int main(void)
{
	rw_log_open(&quiet, false, 0);
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_queued_equals_sync),
	        cmocka_unit_test(test_small_queue_accounts_every_byte),
	        cmocka_unit_test(test_max_file_keeps_the_close),
	        cmocka_unit_test(test_dircap_oldest_first),
	        cmocka_unit_test(test_write_error_cuts_to_a_record),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	rw_log_close(&quiet);
	return rc;
}
