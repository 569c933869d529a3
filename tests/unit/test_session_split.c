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

/* The record's JSON for the connection under `split` (testutil.c: each
 * piece an exact-size heap copy); *n_realloc: the reallocs made meanwhile. */
static char *run(enum rw_split split, unsigned seed, size_t *n_realloc)
{
	const struct rw_step steps[] = {DATA(C, cr),    DATA(S, cc),   DATA(C, ch),
	                                DATA(S, sh),    DATA(S, cert), DATA(S, done),
	                                DATA(C, alert), FIN(C),        END};
	reallocs = 0;
	struct rw_session *s = rw_test_run(steps, split, seed);
	*n_realloc = reallocs;
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
	char *want = run(SPLIT_WHOLE, 0, &n);
	/* What the wire says, from the bytes built above. */
	assert_non_null(strstr(want, "alice"));
	assert_non_null(strstr(want, "\"cause\":\"certificate_expired\""));
	assert_non_null(strstr(want, "\"phase\":\"tls_handshake\""));
	static const struct {
		const char *name;
		enum rw_split split;
		unsigned runs;
	} cuts[] = {{"byte by byte", SPLIT_BYTES, 1},
	            {"after six bytes", SPLIT_SIX, 1},
	            {"after a header", SPLIT_HEADER, 1},
	            {"at random", SPLIT_RANDOM, 20}};
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		for (unsigned seed = 1; seed <= cuts[i].runs; seed++) {
			char *got = run(cuts[i].split, seed, &n);
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
	/* The first session grows the session pool's lists (realloc): counted
	 * from the second on. */
	free(run(SPLIT_WHOLE, 0, &whole_reallocs));
	free(run(SPLIT_WHOLE, 0, &whole_reallocs));
	free(run(SPLIT_BYTES, 0, &split_reallocs));
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
