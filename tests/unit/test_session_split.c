/* How the bytes of a connection were cut into segments changes nothing in
 * its record (session.h: "Bytes may be split anywhere"), and a message that
 * arrives whole is parsed where it is: a CR, a CC, a ClientHello or a
 * Certificate in one segment, as stacks send them, is never copied into a
 * reassembly buffer (issue #14: those buffers were a malloc, a copy and a
 * free on another thread for every connection of a replay). The buffers
 * are realloc'd (analyzers/session.c feed_tpkt, tls_record.c), so this
 * test wraps realloc (-Wl,--wrap=realloc, tests/CMakeLists.txt) and counts
 * the calls. */
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

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);
static size_t reallocs;
void *__wrap_realloc(void *p, size_t n)
{
	reallocs++;
	return __real_realloc(p, n);
}

static struct rw_test_bytes cr, cc, ch, sh, cert, done, alert;

/* CR with a cookie, CC selecting TLS, ClientHello, ServerHello, a
 * certificate that expired ten days ago, ServerHelloDone, then the client's
 * alert 45 (certificate_expired) and FIN. */
static void build(void)
{
	rw_test_cr(&cr, "alice", RW_PROTO_SSL | RW_PROTO_HYBRID);
	rw_test_cc(&cc, 2, RW_PROTO_SSL);
	rw_test_put_client_hello(&ch, NULL, 0);
	rw_test_put_server_hello(&sh, 0xc02f, 0, false);
	rw_test_certificate(&cert, -400, -10);
	rw_test_put_server_hello_done(&done);
	rw_test_alert(&alert, 2, 45);
}

/* cut(i, n): the length of the next piece of a message of n bytes, i of
 * them already delivered. */
typedef size_t (*cut_fn)(size_t i, size_t n);

static size_t whole(size_t i, size_t n)
{
	return n - i;
}
static size_t bytes(size_t i, size_t n)
{
	(void)i;
	(void)n;
	return 1;
}
/* Where the analyzer decides what a direction speaks (its first six
 * bytes), then the rest. */
static size_t at_six(size_t i, size_t n)
{
	return i == 0 && n > 6 ? 6 : n - i;
}
/* A TPKT or TLS record header alone, then the rest. */
static size_t at_header(size_t i, size_t n)
{
	return i == 0 && n > 5 ? 4 + (n % 2) : n - i;
}
static unsigned seed;
static size_t random_cut(size_t i, size_t n)
{
	seed = seed * 1103515245u + 12345u;
	size_t left = n - i;
	return 1 + (seed >> 16) % left;
}

/* The record's JSON for the connection delivered in pieces cut by `cut`
 * (each piece an exact-size heap copy, so that reading past it shows under
 * ASan); *n_realloc: the reallocs made meanwhile. */
static char *run(cut_fn cut, size_t *n_realloc)
{
	const struct {
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
	reallocs = 0;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		/* One timestamp per message, whatever its pieces: the times in
		 * the record are the message's. */
		ts += 1000;
		const struct rw_test_bytes *b = steps[i].b;
		for (size_t off = 0; off < b->n;) {
			size_t k = cut(off, b->n);
			uint8_t *piece = malloc(k);
			assert_non_null(piece);
			memcpy(piece, b->p + off, k);
			rw_session_data(s, steps[i].d, ts, piece, k);
			free(piece);
			off += k;
		}
	}
	*n_realloc = reallocs;
	ts += 1000;
	rw_session_fin(s, RW_C2S, ts);
	rw_session_close(s, ts + 1000);
	/* Marks name the stream offset of the read that carried a fact (its
	 * packet): by design the one thing that depends on the cut. */
	struct rw_record *rec = rw_session_record(s);
	for (size_t i = 0; i < rec->n_marks; i++)
		rec->marks[i].offset = 0;
	struct rw_buf out;
	rw_buf_init(&out, 0);
	assert_int_equal(rw_record_json(rec, "h", &out), 0);
	char *json = strdup(rw_buf_str(&out));
	rw_buf_free(&out);
	rw_session_free(s);
	return json;
}

static void test_same_record_however_cut(void **state)
{
	(void)state;
	build();
	size_t n;
	char *want = run(whole, &n);
	/* What the wire says, from the bytes built above. */
	assert_non_null(strstr(want, "alice"));
	assert_non_null(strstr(want, "\"cause\":\"certificate_expired\""));
	assert_non_null(strstr(want, "\"phase\":\"tls_handshake\""));
	static const struct {
		const char *name;
		cut_fn cut;
	} cuts[] = {{"byte by byte", bytes},
	            {"after six bytes", at_six},
	            {"after a header", at_header},
	            {"at random", random_cut}};
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		for (unsigned r = 0; r < (cuts[i].cut == random_cut ? 20u : 1u); r++) {
			seed = 7 + r;
			char *got = run(cuts[i].cut, &n);
			if (strcmp(got, want) != 0) {
				size_t at = 0;
				while (got[at] == want[at])
					at++;
				size_t from = at > 60 ? at - 60 : 0;
				fail_msg("cut %s (seed %u): the record differs at byte %zu:\n"
				         "whole: ...%.120s\ncut:   ...%.120s",
				         cuts[i].name, seed, at, want + from, got + from);
			}
			free(got);
		}
	}
	free(want);
}

static void test_whole_messages_are_not_copied(void **state)
{
	(void)state;
	build();
	size_t whole_reallocs, split_reallocs;
	free(run(whole, &whole_reallocs));
	free(run(bytes, &split_reallocs));
	/* Cut, each direction buffers its TPKT and its handshake messages
	 * (the counter counts); whole, nothing is. */
	if (split_reallocs < 2)
		fail_msg("%zu reallocs byte by byte", split_reallocs);
	assert_int_equal(whole_reallocs, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_same_record_however_cut),
	        cmocka_unit_test(test_whole_messages_are_not_copied),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
