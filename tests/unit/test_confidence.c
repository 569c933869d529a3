/* How sure a verdict is, and what else the same wire fits (issue #10 item 6):
 * rdpwhy.confidence, rdpwhy.alternatives, rdpwhy.tell_apart, and a fix that
 * never contradicts the evidence. Wire built from MS-RDPBCGR 2.2.1 and
 * RFC 5246/8446 with testutil's builders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "record_format.h"
#include "testutil.h"

static bool has_alt(const struct rw_verdict *v, enum rw_cause c)
{
	for (size_t i = 0; i < v->n_alternatives; i++)
		if (v->alternatives[i] == c)
			return true;
	return false;
}

/* The verdict of a scripted connection, the same under every split. */
static struct rw_session *run(const struct rw_step *st, bool midstream)
{
	struct rw_session *whole = rw_test_run_ex(st, SPLIT_WHOLE, 0, midstream);
	struct rw_session *bytes = rw_test_run_ex(st, SPLIT_BYTES, 0, midstream);
	const struct rw_verdict *a = &rw_session_record(whole)->verdict;
	const struct rw_verdict *b = &rw_session_record(bytes)->verdict;
	assert_int_equal(a->confidence, b->confidence);
	assert_int_equal(a->n_alternatives, b->n_alternatives);
	for (size_t i = 0; i < a->n_alternatives; i++)
		assert_int_equal(a->alternatives[i], b->alternatives[i]);
	rw_session_free(bytes);
	return whole;
}

static void check_invariants(const struct rw_verdict *v)
{
	assert_true(v->confidence <= RW_CONFIDENCE_LOW);
	assert_true(v->n_alternatives <= RW_MAX_ALTERNATIVES);
	for (size_t i = 0; i < v->n_alternatives; i++) {
		assert_int_not_equal(v->alternatives[i], v->cause);
		for (size_t k = 0; k < i; k++)
			assert_int_not_equal(v->alternatives[i], v->alternatives[k]);
	}
	/* Alternatives come with a way to tell them apart. */
	if (v->n_alternatives)
		assert_non_null(v->tell_apart);
	assert_non_null(v->remediation);
}

static void test_quick_close_is_low_with_alternatives(void **state)
{
	(void)state;
	struct rw_test_bytes cr = {.n = 0};
	rw_test_cr(&cr, "alice", RW_PROTO_SSL);
	/* Closed at once, without a byte: a TLS-first balancer, an RDP-aware
	 * firewall or a host at its connection limit. */
	struct rw_step st[] = {DATA(C, cr), RST(S), END};
	struct rw_session *s = run(st, false);
	const struct rw_verdict *v = &rw_session_record(s)->verdict;
	check_invariants(v);
	assert_int_equal(v->cause, RW_CAUSE_TLS_TERMINATING_MIDDLEBOX);
	assert_int_equal(v->confidence, RW_CONFIDENCE_LOW);
	assert_true(has_alt(v, RW_CAUSE_X224_CLOSED_BY_SERVER));
	assert_true(has_alt(v, RW_CAUSE_RESET_INJECTED));
	assert_true(has_alt(v, RW_CAUSE_UPSTREAM_REFUSED)); /* a proxy whose host refused */
	assert_non_null(strstr(v->tell_apart, "capture next to the host"));
	/* The fix covers the alternatives instead of asserting one of them. */
	assert_non_null(strstr(v->remediation, "otherwise"));
	assert_non_null(strstr(v->remediation, "connection limits"));
	rw_session_free(s);

	/* With a FIN, no forged-reset alternative. */
	struct rw_step fin[] = {DATA(C, cr), FIN(S), END};
	s = run(fin, false);
	v = &rw_session_record(s)->verdict;
	check_invariants(v);
	assert_false(has_alt(v, RW_CAUSE_RESET_INJECTED));
	rw_session_free(s);
}

static void test_tls_bytes_to_the_request_is_high(void **state)
{
	(void)state;
	struct rw_test_bytes cr = {.n = 0}, al = {.n = 0};
	rw_test_cr(&cr, "bob", RW_PROTO_SSL);
	rw_test_alert(&al, 2, 10); /* a TLS server's answer to a TPKT header */
	struct rw_step st[] = {DATA(C, cr), DATA(S, al), FIN(S), END};
	struct rw_session *s = run(st, false);
	const struct rw_verdict *v = &rw_session_record(s)->verdict;
	check_invariants(v);
	assert_int_equal(v->cause, RW_CAUSE_TLS_TERMINATING_MIDDLEBOX);
	assert_int_equal(v->confidence, RW_CONFIDENCE_HIGH);
	assert_int_equal(v->n_alternatives, 0);
	rw_session_free(s);
}

static void tls_start(struct rw_test_bytes *cr, struct rw_test_bytes *cc, struct rw_test_bytes *ch)
{
	rw_test_cr(cr, "carol", RW_PROTO_SSL);
	rw_test_cc(cc, 2, RW_PROTO_SSL);
	rw_test_put_client_hello(ch, NULL, 0);
}

static void test_cleartext_alert_is_high_partial_capture_medium(void **state)
{
	(void)state;
	struct rw_test_bytes cr = {.n = 0}, cc = {.n = 0}, ch = {.n = 0}, al = {.n = 0};
	tls_start(&cr, &cc, &ch);
	rw_test_alert(&al, 2, 40); /* handshake_failure: no common suite */
	struct rw_step st[] = {DATA(C, cr), DATA(S, cc), DATA(C, ch), DATA(S, al), FIN(C), END};
	struct rw_session *s = run(st, false);
	const struct rw_verdict *v = &rw_session_record(s)->verdict;
	check_invariants(v);
	assert_int_equal(v->cause, RW_CAUSE_TLS_CIPHER_MISMATCH);
	assert_int_equal(v->confidence, RW_CONFIDENCE_HIGH);
	assert_int_equal(v->n_alternatives, 0);
	rw_session_free(s);
	/* The same wire caught mid-connection: what came before is unknown. */
	s = run(st, true);
	v = &rw_session_record(s)->verdict;
	check_invariants(v);
	assert_int_equal(v->cause, RW_CAUSE_TLS_CIPHER_MISMATCH);
	assert_int_equal(v->confidence, RW_CONFIDENCE_MEDIUM);
	rw_session_free(s);
}

static void test_tls13_rejection_is_low(void **state)
{
	(void)state;
	static const uint16_t v13[] = {0x0304, 0x0303};
	struct rw_test_bytes cr = {.n = 0}, cc = {.n = 0}, ch = {.n = 0}, sh = {.n = 0},
	                     rej = {.n = 0};
	rw_test_cr(&cr, "dave", RW_PROTO_SSL);
	rw_test_cc(&cc, 2, RW_PROTO_SSL);
	rw_test_put_client_hello(&ch, v13, 2);
	rw_test_put_server_hello(&sh, 0x1302, 0x0304, false);
	rw_test_ccs(&sh);
	rw_test_opaque(&sh, 23, 1200); /* encrypted flight: the certificate is hidden */
	rw_test_ccs(&rej);
	rw_test_opaque(&rej, 23, 19); /* an alert-sized encrypted record */
	struct rw_step st[] = {DATA(C, cr),  DATA(S, cc), DATA(C, ch), DATA(S, sh),
	                       DATA(C, rej), FIN(C),      END};
	struct rw_session *s = run(st, false);
	const struct rw_verdict *v = &rw_session_record(s)->verdict;
	check_invariants(v);
	assert_int_equal(v->cause, RW_CAUSE_CERTIFICATE_REJECTED_BY_CLIENT);
	assert_int_equal(v->confidence, RW_CONFIDENCE_LOW);
	assert_true(has_alt(v, RW_CAUSE_CERTIFICATE_EXPIRED));
	assert_non_null(strstr(v->tell_apart, "TLS 1.3 hides the certificate"));
	rw_session_free(s);
}

static void test_silent_server_side_names_the_proxy(void **state)
{
	(void)state;
	struct rw_test_bytes cr = {.n = 0};
	rw_test_cr(&cr, "erin", RW_PROTO_SSL);
	/* Seen from the client of a proxy whose upstream never answered. */
	struct rw_step st[] = {DATA(C, cr), SLEEP(5000), FIN(S), END};
	struct rw_session *s = run(st, false);
	const struct rw_verdict *v = &rw_session_record(s)->verdict;
	check_invariants(v);
	assert_int_equal(v->cause, RW_CAUSE_X224_NO_RESPONSE);
	assert_int_equal(v->confidence, RW_CONFIDENCE_MEDIUM);
	assert_true(has_alt(v, RW_CAUSE_UPSTREAM_UNREACHABLE));
	/* The evidence says a proxy timed out: the fix starts there, not with
	 * restarting the host's TermService. */
	assert_non_null(strstr(v->remediation, "proxy or load balancer"));
	assert_null(strstr(v->remediation, "restart TermService"));
	rw_session_free(s);
}

/* A cleartext client alert that is not about the certificate names another
 * reason, even right after the certificate flight (decrypt_error: a bad
 * ServerKeyExchange signature); user_canceled is a goodbye, not a reason. */
static void test_alerts_that_are_not_about_the_certificate(void **state)
{
	(void)state;
	struct rw_test_bytes cr = {.n = 0}, cc = {.n = 0}, ch = {.n = 0}, sf = {.n = 0},
	                     al = {.n = 0};
	tls_start(&cr, &cc, &ch);
	rw_test_put_server_hello(&sf, 0xc02f, 0, false);
	rw_test_certificate(&sf, -30, 300);
	rw_test_put_server_hello_done(&sf);
	rw_test_alert(&al, 2, 51); /* decrypt_error */
	struct rw_step st[] = {DATA(C, cr), DATA(S, cc), DATA(C, ch), DATA(S, sf),
	                       DATA(C, al), FIN(C),      END};
	struct rw_session *s = run(st, false);
	const struct rw_verdict *v = &rw_session_record(s)->verdict;
	check_invariants(v);
	assert_true(rw_session_record(s)->certificate_seen);
	assert_string_equal(rw_cause_name(v->cause), "tls_alert");
	rw_session_free(s);
	/* The same alert with an expired certificate: still the alert's reason. */
	struct rw_test_bytes sf2 = {.n = 0};
	rw_test_put_server_hello(&sf2, 0xc02f, 0, false);
	rw_test_certificate(&sf2, -400, -30);
	rw_test_put_server_hello_done(&sf2);
	struct rw_step st2[] = {DATA(C, cr), DATA(S, cc), DATA(C, ch), DATA(S, sf2),
	                        DATA(C, al), FIN(C),      END};
	s = run(st2, false);
	v = &rw_session_record(s)->verdict;
	assert_true(rw_session_record(s)->certificate_seen);
	assert_string_equal(rw_cause_name(v->cause), "tls_alert");
	rw_session_free(s);
	/* A warning user_canceled before any ServerHello, then FIN. */
	struct rw_test_bytes uc = {.n = 0};
	rw_test_alert(&uc, 1, 90);
	struct rw_step st3[] = {DATA(C, cr), DATA(S, cc), DATA(C, ch), DATA(C, uc), FIN(C), END};
	s = run(st3, false);
	v = &rw_session_record(s)->verdict;
	assert_string_equal(rw_cause_name(v->cause), "client_cancelled");
	rw_session_free(s);
}

static void test_text_and_json_show_it(void **state)
{
	(void)state;
	struct rw_test_bytes cr = {.n = 0};
	rw_test_cr(&cr, "frank", RW_PROTO_SSL);
	struct rw_step st[] = {DATA(C, cr), RST(S), END};
	struct rw_session *s = run(st, false);
	const struct rw_record *r = rw_session_record(s);
	struct rw_buf b = RW_BUF_INIT;
	assert_int_equal(rw_record_text(r, &b), 0);
	const char *t = rw_buf_str(&b);
	assert_non_null(strstr(t, "\n  confidence low\n"));
	assert_non_null(strstr(t, "\n  could be   x224_closed_by_server, reset_injected, "
	                          "upstream_refused; to tell: "));
	rw_buf_reset(&b);
	assert_int_equal(rw_record_json_style(r, NULL, NULL, RW_JSON_FLAT, &b), 0);
	t = rw_buf_str(&b);
	assert_non_null(strstr(t, "\"rdpwhy.confidence\":\"low\""));
	assert_non_null(strstr(t, "\"rdpwhy.alternatives\":[\"x224_closed_by_server\","
	                          "\"reset_injected\",\"upstream_refused\"]"));
	assert_non_null(strstr(t, "\"rdpwhy.tell_apart\":\""));
	rw_buf_free(&b);
	rw_session_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_quick_close_is_low_with_alternatives),
	        cmocka_unit_test(test_tls_bytes_to_the_request_is_high),
	        cmocka_unit_test(test_cleartext_alert_is_high_partial_capture_medium),
	        cmocka_unit_test(test_tls13_rejection_is_low),
	        cmocka_unit_test(test_silent_server_side_names_the_proxy),
	        cmocka_unit_test(test_alerts_that_are_not_about_the_certificate),
	        cmocka_unit_test(test_text_and_json_show_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
