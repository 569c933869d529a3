/* The output thread (sink/outputs.c) with real files and pipes: a blocked
 * output never holds up the caller and every record is either written or
 * counted as dropped; replay waits instead of dropping; ids; reloads. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "outputs.h"
#include "record.h"
#include "session.h"

static char dir[64];
static struct rw_log lg;

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/rw_outputs_XXXXXX");
	assert_non_null(mkdtemp(dir));
	lg.err = tmpfile();
	assert_non_null(lg.err);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	fclose(lg.err);
	return 0;
}

static void fill(struct rw_record *r, uint16_t port)
{
	memset(r, 0, sizeof(*r));
	r->id = port;
	r->ts_open_us = 1795539903000000ull + port;
	r->ts_close_us = r->ts_open_us + 2000;
	r->client = (struct rw_endpoint){.family = 2, .addr = {10, 0, 0, 1}, .port = port};
	r->server = (struct rw_endpoint){.family = 2, .addr = {10, 0, 0, 2}, .port = 3389};
	r->rst_ttl[0] = r->rst_ttl[1] = -1;
	r->ttl_lo[0] = r->ttl_lo[1] = r->ttl_hi[0] = r->ttl_hi[1] = -1;
	r->verdict.cause = RW_CAUSE_UPSTREAM_REFUSED;
	r->verdict.closed_by = RW_SIDE_SERVER;
	r->verdict.close_kind = RW_CLOSE_REFUSED;
	r->verdict.phase = RW_PHASE_TCP_CONNECT;
	r->verdict.remediation = "Check that TermService listens on the port";
}

static struct rw_outputs *open_outputs(const char *const *specs, size_t n, bool flow_ids,
                                       bool block)
{
	struct rw_proxy_config c;
	rw_config_defaults(&c);
	char err[RW_CONF_ERR];
	for (size_t i = 0; i < n; i++)
		if (rw_config_set(&c, "output", specs[i], err, sizeof(err)) < 0)
			fail_msg("%s: %s", specs[i], err);
	if (rw_config_validate_outputs(&c, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	struct rw_outputs_opts o = {.flow_ids = flow_ids, .block_when_full = block};
	struct rw_outputs *out = rw_outputs_open(&c, &o, &lg, err, sizeof(err));
	if (!out)
		fail_msg("%s", err);
	return out;
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A JSON output to a new FIFO `name` in dir; the FIFO's read end, opened
 * non-blocking (so that the open does not wait for a writer) and never read
 * yet, in *rfd. */
static struct rw_outputs *fifo_output(const char *name, int *rfd, bool flow_ids, bool block)
{
	char fifo[128], spec[160];
	snprintf(fifo, sizeof(fifo), "%s/%s", dir, name);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	*rfd = open(fifo, O_RDONLY | O_NONBLOCK);
	assert_true(*rfd >= 0);
	snprintf(spec, sizeof(spec), "%s format=json", fifo);
	const char *specs[] = {spec};
	return open_outputs(specs, 1, flow_ids, block);
}

/* Reads a FIFO to its end, counting lines; slow = pauses now and then. */
struct reader {
	int fd;
	bool slow;
	uint64_t lines;
};

static void *read_all(void *arg)
{
	struct reader *r = arg;
	char buf[65536];
	for (unsigned k = 0;; k++) {
		ssize_t n = read(r->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			r->lines += buf[i] == '\n';
		if (r->slow && k % 64 == 0)
			usleep(1000);
	}
	return NULL;
}

static bool log_has(const char *needle)
{
	fflush(lg.err);
	rewind(lg.err);
	char line[1024];
	bool found = false;
	while (fgets(line, sizeof(line), lg.err))
		found |= strstr(line, needle) != NULL;
	fseek(lg.err, 0, SEEK_END);
	return found;
}

/* test_blocked_output's bounds on the caller's write time (see there). */
#define SLOW_WRITE_US   100000u
#define MAX_SLOW_WRITES 10u
#define MAX_WRITE_US    2000000u

/* The proxy's case: the output blocks (a pipe nobody reads); writing
 * records stays fast, the queue fills, then records are dropped — counted
 * and logged — and once the pipe is read again every record that was not
 * dropped comes out. */
static void test_blocked_output(void **state)
{
	(void)state;
	int rfd;
	struct rw_outputs *o = fifo_output("fifo", &rfd, false, false);
	struct rw_record rec;
	struct rw_outputs_stats st = {0};
	uint64_t worst = 0, n = 0, slow = 0;
	for (; n < 400000 && st.dropped < 100; n++) {
		fill(&rec, (uint16_t)n);
		uint64_t t = now_us();
		rw_outputs_write(o, &rec);
		t = now_us() - t;
		worst = t > worst ? t : worst;
		slow += t > SLOW_WRITE_US;
		if (n % 1000 == 0)
			rw_outputs_stats(o, &st);
	}
	rw_outputs_stats(o, &st);
	assert_true(st.dropped >= 100);
	assert_int_equal(st.records, n);
	/* A blocked output costs the caller nothing: no call waited on it. A write
	 * takes microseconds; on a loaded machine (parallel ASan tests on two
	 * cores, a CI VM's steal time) the thread can still be descheduled in the
	 * middle of one for a few hundred ms, so one slow sample proves nothing.
	 * A write that waits on the output is slow every time the queue is full
	 * (at least the 100 dropped records here: a timed wait for room, however
	 * short), or stuck for good (this FIFO is never read: the test hangs
	 * until ctest's timeout). Hence: a handful of slow writes at most, and
	 * none as long as the seconds a real wait for the output would take. */
	if (slow > MAX_SLOW_WRITES || worst > MAX_WRITE_US)
		fail_msg("%llu writes over %u us, the longest %llu us, with the output blocked",
		         (unsigned long long)slow, SLOW_WRITE_US, (unsigned long long)worst);
	assert_true(log_has("the output queue is full"));
	rw_outputs_log_counters(o);
	assert_true(log_has("waiting in the output queue"));

	/* Read again: everything not dropped arrives, nothing more. */
	fcntl(rfd, F_SETFL, 0);
	struct reader r = {rfd, false, 0};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, read_all, &r), 0);
	assert_int_equal(rw_outputs_close(o), -1); /* drops are a failure to report */
	pthread_join(t, NULL);
	close(rfd);
	assert_int_equal(r.lines, st.records - st.dropped);
}

/* Reads JSON lines to the end; in_order counts the k-th whose client port
 * is k (mod 65536). */
struct line_reader {
	FILE *in;
	uint64_t lines, in_order;
};

static void *read_lines(void *arg)
{
	struct line_reader *r = arg;
	static const char key[] = "\"source\":{\"ip\":\"10.0.0.1\",\"port\":";
	char line[8192];
	while (fgets(line, sizeof(line), r->in)) {
		const char *p = strstr(line, key);
		if (p && strtoul(p + sizeof(key) - 1, NULL, 10) == (r->lines & 0xffff))
			r->in_order++;
		r->lines++;
	}
	return NULL;
}

/* The proxy hands its sessions over (rw_outputs_write_session): the output
 * thread formats their records and frees them. With the output blocked, the
 * sessions waiting stay few (the rest are formatted by the caller, compact),
 * the caller is never held up, and every record not dropped comes out, each
 * with its own connection's content. */
static void test_sessions_handed_over(void **state)
{
	(void)state;
	int rfd;
	struct rw_outputs *o = fifo_output("fifo-s", &rfd, false, false);
	struct rw_outputs_stats st = {0};
	struct rw_session_pool_stats ps;
	size_t most_live = 0;
	uint64_t n = 0, slow = 0;
	for (; n < 400000 && st.dropped < 100; n++) {
		struct rw_session *s = rw_session_new(NULL);
		assert_non_null(s);
		fill(rw_session_record(s), (uint16_t)n);
		uint64_t t = now_us();
		rw_outputs_write_session(o, s);
		slow += now_us() - t > SLOW_WRITE_US;
		if (n % 1000 == 0) {
			rw_outputs_stats(o, &st);
			rw_session_pool_stats(&ps);
			most_live = ps.live > most_live ? ps.live : most_live;
		}
	}
	rw_outputs_stats(o, &st);
	assert_true(st.dropped >= 100);
	assert_int_equal(st.records, n);
	assert_true(slow <= MAX_SLOW_WRITES);
	/* At most 256 queued and a batch of as many being written. */
	if (most_live > 2 * 256)
		fail_msg("%zu sessions alive with the output blocked", most_live);

	fcntl(rfd, F_SETFL, 0);
	struct line_reader rl = {fdopen(rfd, "r"), 0, 0};
	assert_non_null(rl.in);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, read_lines, &rl), 0);
	assert_int_equal(rw_outputs_close(o), -1);
	pthread_join(t, NULL);
	fclose(rl.in);
	assert_int_equal(rl.lines, st.records - st.dropped);
	/* Each line is its own connection's, in order (the drops were the last
	 * records: nothing left the blocked queue): the k-th has port k. */
	assert_int_equal(rl.in_order, rl.lines);
	rw_session_pool_stats(&ps);
	assert_int_equal(ps.live, 0);
}

/* Replay's case: a slow reader; the caller waits instead of dropping. */
static void test_replay_waits(void **state)
{
	(void)state;
	int rfd;
	struct rw_outputs *o = fifo_output("fifo2", &rfd, true, true);
	fcntl(rfd, F_SETFL, 0); /* the reader below blocks */
	struct reader r = {rfd, true, 0};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, read_all, &r), 0);
	const uint64_t n = 40000; /* more than the queue holds */
	struct rw_record rec;
	for (uint64_t i = 0; i < n; i++) {
		fill(&rec, (uint16_t)i);
		rw_outputs_write(o, &rec);
	}
	struct rw_outputs_stats st;
	rw_outputs_stats(o, &st);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(rw_outputs_close(o), 0);
	pthread_join(t, NULL);
	close(rfd);
	assert_int_equal(r.lines, n);
}

/* The record ids of a file: rdpwhy.record_id of each JSON line (nested:
 * "rdpwhy":{...,"record_id":"..."}). */
static size_t ids_of(const char *path, char ids[][33], size_t max)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[8192];
	size_t n = 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, "\"record_id\":\"");
		assert_non_null(p);
		p += strlen("\"record_id\":\"");
		assert_non_null(strchr(p, '"'));
		assert_int_equal(strchr(p, '"') - p, 32);
		memcpy(ids[n], p, 32);
		ids[n][32] = 0;
		assert_non_null(strstr(line, "\"host\":{\"name\":\""));
		n++;
	}
	fclose(f);
	return n;
}

static void write_twice(const char *path, bool flow_ids)
{
	char spec[160];
	snprintf(spec, sizeof(spec), "%s format=json", path);
	const char *specs[] = {spec};
	struct rw_outputs *o = open_outputs(specs, 1, flow_ids, true);
	struct rw_record rec;
	fill(&rec, 1000);
	rw_outputs_write(o, &rec); /* the same connection twice */
	rw_outputs_write(o, &rec);
	fill(&rec, 1001);
	rw_outputs_write(o, &rec);
	assert_int_equal(rw_outputs_close(o), 0);
}

static void test_ids(void **state)
{
	(void)state;
	char a[128], b[128], ids[3][33];
	snprintf(a, sizeof(a), "%s/flow.json", dir);
	snprintf(b, sizeof(b), "%s/random.json", dir);
	/* Derived from the connection: the same connection, the same id (a SIEM
	 * keeps one copy of a capture replayed twice); another, another id. */
	write_twice(a, true);
	assert_int_equal(ids_of(a, ids, 3), 3);
	assert_string_equal(ids[0], ids[1]);
	assert_string_not_equal(ids[0], ids[2]);
	/* The proxy's: random, every record its own. */
	write_twice(b, false);
	assert_int_equal(ids_of(b, ids, 3), 3);
	assert_string_not_equal(ids[0], ids[1]);
	assert_string_not_equal(ids[1], ids[2]);
	struct stat st;
	assert_int_equal(stat(b, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	/* mode= wins over the umask and over what the file had. */
	char spec[160];
	snprintf(spec, sizeof(spec), "%s mode=0604", b);
	const char *specs[] = {spec};
	mode_t old = umask(077);
	struct rw_outputs *o = open_outputs(specs, 1, false, true);
	umask(old);
	assert_int_equal(rw_outputs_close(o), 0);
	assert_int_equal(stat(b, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0604);
}

static size_t lines_of(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = 0;
	int ch;
	while ((ch = fgetc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

/* SIGHUP: the same output is reopened (logrotate), a new one opened, a
 * removed one closed; a reload that cannot open its outputs keeps the old. */
static void test_reload(void **state)
{
	(void)state;
	char a[128], b[128], rotated[128], bad[160];
	snprintf(a, sizeof(a), "%s/a.json", dir);
	snprintf(b, sizeof(b), "%s/b.log", dir);
	snprintf(rotated, sizeof(rotated), "%s/a.json.1", dir);
	snprintf(bad, sizeof(bad), "%s/missing/dir/c.json", dir);
	char spec_a[160];
	snprintf(spec_a, sizeof(spec_a), "%s format=json", a);
	const char *specs[] = {spec_a};
	struct rw_outputs *o = open_outputs(specs, 1, false, true);
	struct rw_record rec;
	fill(&rec, 1);
	rw_outputs_write(o, &rec);

	struct rw_proxy_config c;
	rw_config_defaults(&c);
	char err[RW_CONF_ERR];
	assert_int_equal(rw_config_set(&c, "output", spec_a, err, sizeof(err)), 0);
	assert_int_equal(rename(a, rotated), 0);
	rw_outputs_reload(o, &c); /* logrotate */
	rw_outputs_write(o, &rec);

	rw_config_defaults(&c);
	assert_int_equal(rw_config_set(&c, "output", b, err, sizeof(err)), 0);
	rw_outputs_reload(o, &c); /* a.json out, b.log (text) in */
	rw_outputs_write(o, &rec);
	rw_outputs_write(o, &rec);

	assert_int_equal(rw_config_set(&c, "output", bad, err, sizeof(err)), 0);
	rw_outputs_reload(o, &c); /* cannot open c.json: b.log stays alone */
	rw_outputs_write(o, &rec);
	assert_int_equal(rw_outputs_close(o), 0);

	assert_int_equal(lines_of(rotated), 1);
	assert_int_equal(lines_of(a), 1);
	/* text reports: several lines each, a blank line after each */
	FILE *f = fopen(b, "r");
	assert_non_null(f);
	char line[1024];
	size_t reports = 0;
	while (fgets(line, sizeof(line), f))
		reports += !strcmp(line, "\n");
	fclose(f);
	assert_int_equal(reports, 3);
	assert_true(log_has("keeping the running outputs"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_blocked_output), cmocka_unit_test(test_sessions_handed_over),
	        cmocka_unit_test(test_replay_waits),   cmocka_unit_test(test_ids),
	        cmocka_unit_test(test_reload),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
