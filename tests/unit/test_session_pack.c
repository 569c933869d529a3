/* rw_session_pack / rw_session_unpack (issue #14: the proxy packs the
 * sessions of idle connections). A session packed and unpacked between any
 * two events must go on exactly as one that never was: the same record,
 * byte for byte in its JSON, whatever was half-parsed at the time (a TPKT
 * split in two, a handshake message spanning records, the cookie). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "record_format.h"
#include "session.h"
#include "testutil.h"

static struct rw_test_bytes cr, cc, ch, sh, cert, done, alert;

/* Other connections come and go while one is packed (the allocator hands
 * out the slots they leave, warm, dirty or given back). */
static int churn;

static void other_sessions(void)
{
	struct rw_session *o[200];
	for (int i = 0; i < churn; i++) {
		o[i] = rw_session_new(NULL);
		assert_non_null(o[i]);
		rw_session_open(o[i], 1, NULL, NULL);
		rw_session_data(o[i], RW_C2S, 2, cr.p, cr.n);
		rw_session_data(o[i], RW_S2C, 3, cc.p, cc.n);
		rw_session_data(o[i], RW_C2S, 4, ch.p, ch.n);
	}
	static void *img[200];
	static size_t len[200];
	for (int i = 0; i < churn; i++) {
		if (i % 2) {
			rw_session_free(o[i]);
			continue;
		}
		img[i] = rw_session_pack(o[i], &len[i]);
		assert_non_null(img[i]);
	}
	/* What a packed session points to is still its own. */
	for (int i = 0; i < churn; i += 2) {
		struct rw_session *s = rw_session_unpack(img[i], len[i]);
		assert_non_null(s);
		free(img[i]);
		rw_session_free(s);
	}
}

static struct rw_session *repack(struct rw_session *s, size_t *max_len)
{
	size_t len = 0;
	void *img = rw_session_pack(s, &len);
	assert_non_null(img);
	if (len > *max_len)
		*max_len = len;
	other_sessions();
	struct rw_session *t = rw_session_unpack(img, len);
	assert_non_null(t);
	free(img);
	return t;
}

static char *json_of(struct rw_session *s)
{
	struct rw_buf b;
	rw_buf_init(&b, 0);
	assert_int_equal(rw_record_json(rw_session_record(s), "h", &b), 0);
	char *out = strdup(rw_buf_str(&b));
	rw_buf_free(&b);
	return out;
}

/* The set-up of a TLS connection that fails on the certificate: CR with a
 * cookie, CC selecting TLS, ClientHello, ServerHello + Certificate + Done,
 * then the client's alert 48 and FIN (built once: the certificate's key is
 * new each time). */
static void build(void)
{
	rw_test_cr(&cr, "alice", RW_PROTO_SSL | RW_PROTO_HYBRID);
	rw_test_cc(&cc, 2, RW_PROTO_SSL);
	rw_test_put_client_hello(&ch, NULL, 0);
	rw_test_put_server_hello(&sh, 0xc02f, 0, false);
	rw_test_certificate(&cert, -10, 300);
	rw_test_put_server_hello_done(&done);
	rw_test_alert(&alert, 2, 48);
}

/* Those bytes in chunks of `chunk` bytes, packed and unpacked after every
 * event when `pack`. */
static void run(size_t chunk, bool pack, char **json, size_t *max_len)
{
	struct {
		enum rw_dir d;
		const struct rw_test_bytes *b;
	} steps[] = {{RW_C2S, &cr},   {RW_S2C, &cc},   {RW_C2S, &ch},   {RW_S2C, &sh},
	             {RW_S2C, &cert}, {RW_S2C, &done}, {RW_C2S, &alert}};
	struct rw_session *s = rw_session_new(NULL);
	assert_non_null(s);
	struct rw_endpoint c = {.family = 2, .addr = {10, 0, 0, 1}, .port = 50000};
	struct rw_endpoint v = {.family = 2, .addr = {10, 0, 0, 2}, .port = 3389};
	uint64_t ts = 1700000000ull * 1000000ull;
	rw_session_open(s, ts, &c, &v);
	rw_session_syn(s, RW_C2S, ts);
	rw_session_syn(s, RW_S2C, ts + 100);
	if (pack)
		s = repack(s, max_len);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		for (size_t off = 0; off < steps[i].b->n; off += chunk) {
			size_t n = steps[i].b->n - off < chunk ? steps[i].b->n - off : chunk;
			ts += 1000;
			rw_session_data(s, steps[i].d, ts, steps[i].b->p + off, n);
			if (pack)
				s = repack(s, max_len);
		}
	}
	ts += 1000;
	rw_session_fin(s, RW_C2S, ts);
	if (pack)
		s = repack(s, max_len);
	rw_session_close(s, ts + 1000);
	*json = json_of(s);
	rw_session_free(s);
}

static void test_pack_is_invisible(void **state)
{
	(void)state;
	static const size_t chunks[] = {1, 3, 7, 64, 100000};
	build();
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		char *plain, *packed;
		size_t max_len = 0, unused = 0;
		run(chunks[i], false, &plain, &unused);
		run(chunks[i], true, &packed, &max_len);
		if (strcmp(plain, packed) != 0)
			fail_msg("chunk %zu: packed session's record differs:\n%s\n%s", chunks[i],
			         plain, packed);
		/* Something was parsed: the verdict names the certificate alert. */
		assert_non_null(strstr(plain, "\"cause\":"));
		assert_non_null(strstr(plain, "alice"));
		free(plain);
		free(packed);
	}
}

/* The same with other sessions made, packed and freed between every two
 * events: 1 (the packed session comes back in the slot just left), or 200
 * (beyond the allocator's warm slots and a release batch: slots given back
 * and dirty ones are handed out too). */
static void test_pack_cycles_reuse_slots(void **state)
{
	(void)state;
	static const struct {
		size_t chunk;
		int churn;
	} cases[] = {{1, 1}, {7, 1}, {100000, 1}, {100000, 200}, {300, 200}};
	build();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *plain, *packed;
		size_t max_len = 0, unused = 0;
		churn = 0;
		run(cases[i].chunk, false, &plain, &unused);
		churn = cases[i].churn;
		run(cases[i].chunk, true, &packed, &max_len);
		churn = 0;
		if (strcmp(plain, packed) != 0)
			fail_msg("chunk %zu, %d others: packed session's record differs:\n%s\n%s",
			         cases[i].chunk, cases[i].churn, plain, packed);
		free(plain);
		free(packed);
	}
	struct rw_session_pool_stats st;
	rw_session_pool_stats(&st);
	assert_int_equal(st.live, 0);
	assert_true(st.released > 0);
}

/* What makes it worth it: a session waiting after the Confirm packs to a
 * small fraction of its size. */
static void test_pack_is_small(void **state)
{
	(void)state;
	struct rw_test_bytes req = {.n = 0}, conf = {.n = 0};
	rw_test_cr(&req, "bob", RW_PROTO_SSL);
	rw_test_cc(&conf, 2, RW_PROTO_SSL);
	struct rw_session *s = rw_session_new(NULL);
	uint64_t ts = 1700000000ull * 1000000ull;
	rw_session_open(s, ts, NULL, NULL);
	rw_session_data(s, RW_C2S, ts + 1, req.p, req.n);
	rw_session_data(s, RW_S2C, ts + 2, conf.p, conf.n);
	size_t len = 0;
	void *img = rw_session_pack(s, &len);
	assert_non_null(img);
	assert_true(len < 1024);
	s = rw_session_unpack(img, len);
	free(img);
	assert_true(rw_session_record(s)->cc_seen);
	assert_int_equal(rw_session_record(s)->selected_protocol, RW_PROTO_SSL);
	rw_session_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_pack_is_invisible),
	        cmocka_unit_test(test_pack_cycles_reuse_slots),
	        cmocka_unit_test(test_pack_is_small),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
