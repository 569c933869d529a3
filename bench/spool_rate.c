/* How many records a second the syslog spool makes durable (issue #12).
 *
 *   spool_rate [-n RECORDS] [-s BYTES] [-b BATCH] DIR
 *
 * Appends RECORDS records (default 100,000) of BYTES bytes (default 600, a
 * JSON record's usual size) to a new spool in DIR, committing every BATCH
 * records (default 0: only when a batch fills, RW_SPOOL_BATCH_RECORDS or
 * RW_SPOOL_BATCH_BYTES), then reads every record back and checks it.
 * Prints records/s and MB/s of the spooling and the number of fsync'ed
 * batches. DIR must be on the disk under test (not a tmpfs: an fsync there
 * costs nothing) and must not exist yet.
 *
 * Built against the spool before group commit (one file and two fsyncs
 * per record) it measures the old rate: that spool.h has no
 * RW_SPOOL_GROUP_COMMIT, and -b is ignored. docs/benchmarks.md has the
 * commands for both. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "spool.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Record i: its number, then filler, so that a mix-up shows on reading. */
static void make_record(char *p, size_t n, unsigned long i)
{
	int k = snprintf(p, n, "{\"record\":%lu,\"pad\":\"", i);
	for (size_t j = (size_t)k; j < n; j++)
		p[j] = (char)('a' + (i + j) % 26);
}

int main(int argc, char **argv)
{
	unsigned long records = 100000, size = 600, batch = 0;
	int opt;
	while ((opt = getopt(argc, argv, "n:s:b:")) != -1) {
		switch (opt) {
		case 'n':
			records = strtoul(optarg, NULL, 10);
			break;
		case 's':
			size = strtoul(optarg, NULL, 10);
			break;
		case 'b':
			batch = strtoul(optarg, NULL, 10);
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1 || size < 32 || records == 0)
		goto usage;
	const char *dir = argv[optind];
	if (access(dir, F_OK) == 0) {
		fprintf(stderr, "spool_rate: %s exists; give a new directory\n", dir);
		return 2;
	}
	char err[512];
	struct rw_spool *s = rw_spool_open(dir, 1ull << 40, RW_SPOOL_DROP_NEWEST, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "spool_rate: %s\n", err);
		return 1;
	}
	char *rec = malloc(size);
	if (!rec)
		return 1;
	double t0 = now();
	for (unsigned long i = 1; i <= records; i++) {
		make_record(rec, size, i);
		uint64_t seq;
		if (rw_spool_put(s, rec, size, &seq) != 0) {
			fprintf(stderr, "spool_rate: record %lu: %s\n", i, strerror(errno));
			return 1;
		}
#ifdef RW_SPOOL_GROUP_COMMIT
		if (batch && i % batch == 0 && rw_spool_commit(s) < 0) {
			fprintf(stderr, "spool_rate: commit: %s\n", strerror(errno));
			return 1;
		}
#endif
	}
#ifdef RW_SPOOL_GROUP_COMMIT
	if (rw_spool_commit(s) < 0) {
		fprintf(stderr, "spool_rate: commit: %s\n", strerror(errno));
		return 1;
	}
#endif
	double t1 = now();
	struct rw_spool_stats st;
	rw_spool_stats(s, &st);
	/* Everything back, intact and in order. */
	struct rw_buf b;
	rw_buf_init(&b, 0);
	uint64_t after = 0, seq, n = 0;
	while (rw_spool_next(s, after, &seq)) {
		n++;
		make_record(rec, size, (unsigned long)n);
		if (seq != n || rw_spool_read(s, seq, &b) < 0 || b.len != size ||
		    memcmp(b.data, rec, size) != 0) {
			fprintf(stderr, "spool_rate: record %llu wrong on reading\n",
			        (unsigned long long)seq);
			return 1;
		}
		after = seq;
	}
	double t2 = now();
	if (n != records) {
		fprintf(stderr, "spool_rate: %llu records read back, want %lu\n",
		        (unsigned long long)n, records);
		return 1;
	}
	double secs = t1 - t0;
#ifdef RW_SPOOL_GROUP_COMMIT
	unsigned long long syncs = (unsigned long long)st.commits;
	const char *kind = "group commit";
#else
	unsigned long long syncs = (unsigned long long)st.spooled * 2;
	const char *kind = "one file per record";
#endif
	printf("%s: %lu records of %lu bytes in %.2f s: %.0f records/s, %.1f MB/s; %llu fsync'ed "
	       "batches (batch %lu); read back and checked in %.2f s\n",
	       kind, records, size, secs, (double)records / secs,
	       (double)records * (double)size / secs / 1e6, syncs, batch, t2 - t1);
	rw_buf_free(&b);
	free(rec);
	rw_spool_close(s);
	return 0;
usage:
	fprintf(stderr, "usage: spool_rate [-n RECORDS] [-s BYTES] [-b BATCH] DIR\n");
	return 2;
}
