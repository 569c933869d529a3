/* The sessions' allocator (analyzers/session.c, issue #14): sessions live in
 * page-aligned slots that are reused, zeroed, from one connection to the
 * next, and a packed session's slot goes back to the kernel. What must hold:
 * - a session made in a reused slot (zeroed, dirty or given back) starts
 *   exactly as the first session ever made: the same record, byte for byte;
 * - packing idle sessions gives their pages back: after packing many, the
 *   pool keeps at most its bounded cache resident (mincore on the slots);
 * - sessions made in one thread and freed (or packed) in another, as replay
 *   -j and the proxy's event loops do, are all accounted for, and in
 *   replay's pool, where the next session's thread zeroes a slot, start as
 *   new all the same. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "session.h"
#include "testutil.h"

#define MANY 300

static struct rw_test_bytes cr, cc, ch;
static struct rw_record fresh_rec; /* a first session's record, before any event */

static void setup_bytes(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	rw_test_cr(&cr, "carol", RW_PROTO_SSL | RW_PROTO_HYBRID);
	rw_test_cc(&cc, 2, RW_PROTO_SSL);
	rw_test_put_client_hello(&ch, NULL, 0);
}

/* Writes all over a session's record: cookie, negotiation, ClientHello
 * (cipher lists), close and verdict. */
static void dirty(struct rw_session *s, uint64_t ts)
{
	struct rw_endpoint c = {.family = 2, .addr = {10, 0, 0, 1}, .port = 50000};
	struct rw_endpoint v = {.family = 2, .addr = {10, 0, 0, 2}, .port = 3389};
	rw_session_open(s, ts, &c, &v);
	rw_session_syn(s, RW_C2S, ts);
	rw_session_syn(s, RW_S2C, ts + 1);
	rw_session_data(s, RW_C2S, ts + 2, cr.p, cr.n);
	rw_session_data(s, RW_S2C, ts + 3, cc.p, cc.n);
	rw_session_data(s, RW_C2S, ts + 4, ch.p, ch.n);
	rw_session_rst(s, RW_S2C, ts + 5, 64);
	rw_session_close(s, ts + 6);
	assert_true(rw_session_record(s)->client_hello_seen);
}

static void assert_fresh(struct rw_session *s)
{
	assert_non_null(s);
	if (memcmp(rw_session_record(s), &fresh_rec, sizeof(fresh_rec)) != 0)
		fail_msg("a session in a reused slot does not start as a new one");
	assert_int_equal(rw_session_phase(s), RW_PHASE_TCP_CONNECT);
}

static int group_setup(void **state)
{
	(void)state;
	setup_bytes();
	/* The first session of the process: its slot was never used. */
	struct rw_session *s = rw_session_new(NULL);
	if (!s)
		return -1;
	fresh_rec = *rw_session_record(s);
	rw_session_free(s);
	return 0;
}

/* Warm slots (zeroed when freed), dirty ones (zeroed when taken) and clean
 * ones (pages given back) all give a session as new. */
static void test_reuse_is_zeroed(void **state)
{
	(void)state;
	static struct rw_session *v[MANY];
	static void *img[MANY];
	static size_t len[MANY];
	struct rw_session_pool_stats st0, st;
	rw_session_pool_stats(&st0);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < MANY; i++) {
			v[i] = rw_session_new(NULL);
			assert_fresh(v[i]);
			dirty(v[i], 1700000000ull * 1000000ull + (uint64_t)i);
		}
		if (round < 2) {
			/* Freed: warm, then dirty slots. */
			for (int i = 0; i < MANY; i++)
				rw_session_free(v[i]);
		} else {
			/* Packed: their slots are given back (clean). */
			for (int i = 0; i < MANY; i++) {
				img[i] = rw_session_pack(v[i], &len[i]);
				assert_non_null(img[i]);
			}
		}
	}
	rw_session_pool_stats(&st);
	/* The second and third rounds were made in the first round's slots. */
	assert_true(st.reused - st0.reused >= 2 * MANY);
	assert_true(st.released > st0.released);
	for (int i = 0; i < MANY; i++) {
		v[i] = rw_session_new(NULL);
		assert_fresh(v[i]);
	}
	for (int i = 0; i < MANY; i++)
		rw_session_free(v[i]);
	/* The packed ones back (what they point to is still theirs), then gone. */
	for (int i = 0; i < MANY; i++) {
		struct rw_session *s = rw_session_unpack(img[i], len[i]);
		assert_non_null(s);
		free(img[i]);
		assert_true(rw_session_record(s)->client_hello_seen);
		rw_session_free(s);
	}
	rw_session_pool_stats(&st);
	assert_int_equal(st.live, 0);
}

/* Pages of a slot resident now. */
static size_t resident_pages(void *p, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n = (len + page - 1) / page, k = 0;
	unsigned char vec[64];
	assert_true(n <= sizeof(vec));
	assert_int_equal(mincore(p, len, vec), 0);
	for (size_t i = 0; i < n; i++)
		k += vec[i] & 1;
	return k;
}

/* Idle connections packed: their slots' pages are gone, but for the pool's
 * bounded cache, and a trim gives back even that. */
static void test_pack_gives_pages_back(void **state)
{
	(void)state;
	static struct rw_session *v[MANY];
	static void *img[MANY];
	static size_t len[MANY];
	rw_session_pool_trim();
	for (int i = 0; i < MANY; i++) {
		v[i] = rw_session_new(NULL);
		assert_non_null(v[i]);
		dirty(v[i], 1700000000ull * 1000000ull + (uint64_t)i);
	}
	struct rw_session_pool_stats st;
	rw_session_pool_stats(&st);
	assert_true(st.slot_bytes >= sizeof(struct rw_record));
	assert_int_equal(st.slot_bytes % (size_t)sysconf(_SC_PAGESIZE), 0);
	/* Each live session was written all over its slot's first page. */
	for (int i = 0; i < MANY; i++)
		assert_true(resident_pages(v[i], st.slot_bytes) >= 1);
	for (int i = 0; i < MANY; i++) {
		img[i] = rw_session_pack(v[i], &len[i]);
		assert_non_null(img[i]);
	}
	rw_session_pool_stats(&st);
	assert_int_equal(st.live, 0);
	size_t kept = 0;
	for (int i = 0; i < MANY; i++)
		kept += resident_pages(v[i], st.slot_bytes) > 0;
	/* At most the warm slots (32) and a batch not yet released (63). */
	if (kept > 32 + 63)
		fail_msg("%zu of %d packed sessions' slots still resident", kept, MANY);
	assert_true(st.warm + st.dirty <= 32 + 63);
	rw_session_pool_trim();
	kept = 0;
	for (int i = 0; i < MANY; i++)
		kept += resident_pages(v[i], st.slot_bytes);
	assert_int_equal(kept, 0);
	/* They come back from their images, in clean slots, as they were. */
	for (int i = 0; i < MANY; i++) {
		struct rw_session *s = rw_session_unpack(img[i], len[i]);
		assert_non_null(s);
		free(img[i]);
		assert_true(rw_session_record(s)->client_hello_seen);
		assert_int_equal(rw_session_record(s)->client.port, 50000);
		rw_session_free(s);
	}
	rw_session_pool_stats(&st);
	assert_int_equal(st.live, 0);
}

/* Made in one thread, freed or packed in another (replay -j's sink, the
 * proxy's loops): a queue between a producer and a consumer, and two pairs
 * at once. */
#define QN 64
struct queue {
	pthread_mutex_t m;
	pthread_cond_t c;
	struct rw_session *v[QN];
	size_t head, n;
	bool end;
};

struct pair {
	struct queue q;
	int count;
	int seed;
	bool ok;
};

static void *producer(void *arg)
{
	struct pair *p = arg;
	for (int i = 0; i < p->count; i++) {
		struct rw_session *s = rw_session_new(NULL);
		if (!s || memcmp(rw_session_record(s), &fresh_rec, sizeof(fresh_rec)) != 0) {
			p->ok = false;
			if (!s)
				break;
		}
		dirty(s, 1700000000ull * 1000000ull + (uint64_t)i);
		pthread_mutex_lock(&p->q.m);
		while (p->q.n == QN)
			pthread_cond_wait(&p->q.c, &p->q.m);
		p->q.v[(p->q.head + p->q.n++) % QN] = s;
		pthread_cond_broadcast(&p->q.c);
		pthread_mutex_unlock(&p->q.m);
	}
	pthread_mutex_lock(&p->q.m);
	p->q.end = true;
	pthread_cond_broadcast(&p->q.c);
	pthread_mutex_unlock(&p->q.m);
	return NULL;
}

static void *consumer(void *arg)
{
	struct pair *p = arg;
	unsigned r = (unsigned)p->seed;
	for (;;) {
		pthread_mutex_lock(&p->q.m);
		while (p->q.n == 0 && !p->q.end)
			pthread_cond_wait(&p->q.c, &p->q.m);
		if (p->q.n == 0) {
			pthread_mutex_unlock(&p->q.m);
			break;
		}
		struct rw_session *s = p->q.v[p->q.head];
		p->q.head = (p->q.head + 1) % QN;
		p->q.n--;
		pthread_cond_broadcast(&p->q.c);
		pthread_mutex_unlock(&p->q.m);
		r = r * 1103515245u + 12345u;
		if ((r >> 16) % 3 == 0) {
			/* Packed and woken up here, then freed. */
			size_t len;
			void *img = rw_session_pack(s, &len);
			if (!img) {
				p->ok = false;
				continue;
			}
			s = rw_session_unpack(img, len);
			free(img);
			if (!s || !rw_session_record(s)->client_hello_seen) {
				p->ok = false;
				continue;
			}
		}
		rw_session_free(s);
	}
	return NULL;
}

static void cross_thread(void)
{
	struct pair p[2];
	pthread_t t[4];
	for (int i = 0; i < 2; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		pthread_mutex_init(&p[i].q.m, NULL);
		pthread_cond_init(&p[i].q.c, NULL);
		p[i].count = 3000;
		p[i].seed = i + 1;
		p[i].ok = true;
		assert_int_equal(pthread_create(&t[2 * i], NULL, producer, &p[i]), 0);
		assert_int_equal(pthread_create(&t[2 * i + 1], NULL, consumer, &p[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 2; i++) {
		assert_true(p[i].ok);
		pthread_mutex_destroy(&p[i].q.m);
		pthread_cond_destroy(&p[i].q.c);
	}
	struct rw_session_pool_stats st;
	rw_session_pool_stats(&st);
	assert_int_equal(st.live, 0);
	/* Never more slots than sessions alive at once: 2 queues of 64, the one
	 * each thread holds, and the free slots kept. */
	assert_true(st.mapped_bytes / st.slot_bytes < 2 * (QN + 2) + 32 + 64 + MANY + 256);
}

static void test_cross_thread(void **state)
{
	(void)state;
	cross_thread();
}

/* Replay's pool (rw_session_pool_prefault): freed and packed slots are kept
 * and zeroed by the thread that makes the next session in them, here the
 * producer; each new session must still start as the first one did. */
static void test_cross_thread_replay(void **state)
{
	(void)state;
	rw_session_pool_prefault(true);
	cross_thread();
	rw_session_pool_prefault(false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_reuse_is_zeroed),
	        cmocka_unit_test(test_pack_gives_pages_back),
	        cmocka_unit_test(test_cross_thread),
	        cmocka_unit_test(test_cross_thread_replay),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
