/* Every verdict rule, from byte streams built to the specifications and fed
 * whole, byte by byte and in random splits: the verdict must not change. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "session.h"
#include "testutil.h"
#include "tls_hello.h"
#include "x224.h"

/* ---- builders ------------------------------------------------------------ */

/* ---- scenario runner -------------------------------------------------------- */

struct expect {
	enum rw_cause cause;
	enum rw_side closed_by;
	enum rw_close_kind kind;
	enum rw_phase phase;
};

static void check_all_splits(const struct rw_step *steps, struct expect e, const char *name)
{
	static const enum rw_split first[] = {SPLIT_WHOLE, SPLIT_BYTES, SPLIT_SIX, SPLIT_HEADER};
	const int n_first = (int)(sizeof(first) / sizeof(first[0]));
	for (int mode = 0; mode < n_first + 20; mode++) {
		enum rw_split split = mode < n_first ? first[mode] : SPLIT_RANDOM;
		struct rw_session *s = rw_test_run(steps, split, (unsigned)mode * 7919u);
		struct rw_record *r = rw_session_record(s);
		const struct rw_verdict *v = &r->verdict;
		if (v->cause != e.cause || v->closed_by != e.closed_by || v->close_kind != e.kind ||
		    v->phase != e.phase) {
			print_error("%s (split mode %d): got %s/%s/%s/%s, want %s/%s/%s/%s\n", name,
			            mode, rw_cause_name(v->cause), rw_side_name(v->closed_by),
			            rw_close_kind_name(v->close_kind), rw_phase_name(v->phase),
			            rw_cause_name(e.cause), rw_side_name(e.closed_by),
			            rw_close_kind_name(e.kind), rw_phase_name(e.phase));
			for (size_t i = 0; i < v->n_evidence; i++)
				print_error("  evidence: %s\n", v->evidence[i]);
			rw_session_free(s);
			fail();
		}
		assert_true(v->n_evidence > 0);
		assert_non_null(v->remediation);
		rw_session_free(s);
	}
}

static const uint16_t v13[] = {0x0304, 0x0303};

static void test_upstream_refused(void **state)
{
	(void)state;
	struct rw_step st[] = {{STEP_CONNECT_FAILED, C, NULL, 0, RW_CLOSE_REFUSED}, END};
	check_all_splits(st,
	                 (struct expect){RW_CAUSE_UPSTREAM_REFUSED, RW_SIDE_SERVER,
	                                 RW_CLOSE_REFUSED, RW_PHASE_TCP_CONNECT},
	                 "refused");
}

static void test_upstream_unreachable(void **state)
{
	(void)state;
	struct rw_step st[] = {{STEP_CONNECT_FAILED, C, NULL, 0, RW_CLOSE_UNREACHABLE}, END};
	check_all_splits(st,
	                 (struct expect){RW_CAUSE_UPSTREAM_UNREACHABLE, RW_SIDE_CLIENT,
	                                 RW_CLOSE_UNREACHABLE, RW_PHASE_TCP_CONNECT},
	                 "unreachable");
}

static void test_neg_failure(void **state)
{
	(void)state;
	for (uint32_t code = 1; code <= 6; code++) {
		struct rw_test_bytes a = {.n = 0}, b = {.n = 0};
		rw_test_cr(&a, "alice", RW_PROTO_SSL);
		rw_test_cc(&b, 3, code);
		struct rw_step st[] = {DATA(C, a), DATA(S, b), FIN(S), FIN(C), END};
		check_all_splits(st,
		                 (struct expect){RW_CAUSE_SECURITY_NEGOTIATION_FAILURE,
		                                 RW_SIDE_SERVER, RW_CLOSE_FIN, RW_PHASE_X224},
		                 "neg_failure");
		struct rw_session *s = rw_test_run(st, SPLIT_WHOLE, 0);
		struct rw_record *r = rw_session_record(s);
		assert_true(r->neg_failure_present);
		assert_int_equal(r->neg_failure_code, code);
		assert_string_equal(r->token, "alice");
		rw_session_free(s);
	}
}

static void test_unrequested_protocol(void **state)
{
	(void)state;
	/* xrdp security_layer=rdp answering a TLS-only client. */
	struct rw_test_bytes a = {.n = 0}, b = {.n = 0};
	rw_test_cr(&a, "bob", RW_PROTO_SSL);
	rw_test_cc(&b, 2, RW_PROTO_RDP);
	struct rw_step st[] = {DATA(C, a), DATA(S, b), FIN(C), FIN(S), END};
	check_all_splits(st,
	                 (struct expect){RW_CAUSE_SECURITY_NEGOTIATION_FAILURE, RW_SIDE_CLIENT,
	                                 RW_CLOSE_FIN, RW_PHASE_X224},
	                 "unrequested");
}

static void test_standard_security_refused(void **state)
{
	(void)state;
	/* No RDP_NEG_REQ: the host can only confirm, then disconnects (xrdp
	 * security_layer=tls: MCS Disconnect Provider Ultimatum, then RST). */
	struct rw_test_bytes a = {.n = 0}, b = {.n = 0}, mcs = {.n = 0};
	rw_test_cr(&a, "gina", -1);
	uint8_t bare_cc[] = {3, 0, 0, 11, 6, 0xd0, 0, 0, 0x12, 0x34, 0};
	uint8_t dpu[] = {3, 0, 0, 9, 2, 0xf0, 0x80, 0x21, 0x80};
	rw_test_put(&b, bare_cc, sizeof(bare_cc));
	rw_test_put(&b, dpu, sizeof(dpu));
	rw_test_put(&mcs, dpu, sizeof(dpu));
	struct rw_step st[] = {DATA(C, a), DATA(S, b), DATA(C, mcs), RST(S), END};
	check_all_splits(st,
	                 (struct expect){RW_CAUSE_SECURITY_NEGOTIATION_FAILURE, RW_SIDE_SERVER,
	                                 RW_CLOSE_RST, RW_PHASE_RDP},
	                 "std_security_refused");
	struct rw_step fin[] = {DATA(C, a), DATA(S, b), FIN(S), END};
	check_all_splits(fin,
	                 (struct expect){RW_CAUSE_SECURITY_NEGOTIATION_FAILURE, RW_SIDE_SERVER,
	                                 RW_CLOSE_FIN, RW_PHASE_RDP},
	                 "std_security_refused_fin");
	/* The other race: the client reads the Ultimatum and its FIN goes
	 * first (its MCS Connect Initial already on its way): the same cause,
	 * closed by the client, as its packets show. */
	struct rw_step client_first[] = {DATA(C, a), DATA(S, b), DATA(C, mcs), FIN(C), FIN(S), END};
	check_all_splits(client_first,
	                 (struct expect){RW_CAUSE_SECURITY_NEGOTIATION_FAILURE, RW_SIDE_CLIENT,
	                                 RW_CLOSE_FIN, RW_PHASE_RDP},
	                 "std_security_refused_client_first");
	/* Without the host's goodbye, a client that hangs up on a bare Confirm
	 * answering its own request is not refused by the host. */
	struct rw_test_bytes cc_only = {.n = 0};
	rw_test_put(&cc_only, bare_cc, sizeof(bare_cc));
	struct rw_step no_goodbye[] = {DATA(C, a), DATA(S, cc_only), DATA(C, mcs),
	                               FIN(C),     FIN(S),           END};
	check_all_splits(
	        no_goodbye,
	        (struct expect){RW_CAUSE_NORMAL_CLOSE, RW_SIDE_CLIENT, RW_CLOSE_FIN, RW_PHASE_RDP},
	        "std_security_client_hangs_up");
}

static void test_x224_closed_and_no_response(void **state)
{
	(void)state;
	struct rw_test_bytes a = {.n = 0};
	rw_test_cr(&a, "carol", RW_PROTO_SSL | RW_PROTO_HYBRID);
	/* An RDP host that closes after a while without answering. */
	struct rw_step closed[] = {DATA(C, a), SLEEP(1500), FIN(S), FIN(C), END};
	check_all_splits(closed,
	                 (struct expect){RW_CAUSE_X224_CLOSED_BY_SERVER, RW_SIDE_SERVER,
	                                 RW_CLOSE_FIN, RW_PHASE_X224},
	                 "x224_closed");
	struct rw_step reset[] = {DATA(C, a), SLEEP(1200), RST(S), END};
	check_all_splits(reset,
	                 (struct expect){RW_CAUSE_X224_CLOSED_BY_SERVER, RW_SIDE_SERVER,
	                                 RW_CLOSE_RST, RW_PHASE_X224},
	                 "x224_reset");
	/* Closed at once without a byte: a TLS endpoint fed a TPKT header. */
	struct rw_step tls_end[] = {DATA(C, a), RST(S), END};
	check_all_splits(tls_end,
	                 (struct expect){RW_CAUSE_TLS_TERMINATING_MIDDLEBOX, RW_SIDE_SERVER,
	                                 RW_CLOSE_RST, RW_PHASE_X224},
	                 "tls_endpoint_close");
	/* Silent, then closed by the server side (an inline proxy's timeout). */
	struct rw_step silent[] = {DATA(C, a), SLEEP(5000), FIN(S), END};
	check_all_splits(silent,
	                 (struct expect){RW_CAUSE_X224_NO_RESPONSE, RW_SIDE_SERVER, RW_CLOSE_FIN,
	                                 RW_PHASE_X224},
	                 "x224_silent_close");
	struct rw_step timeout[] = {DATA(C, a), {STEP_TIMEOUT, C, NULL, 0, 0}, END};
	check_all_splits(timeout,
	                 (struct expect){RW_CAUSE_X224_NO_RESPONSE, RW_SIDE_PROXY, RW_CLOSE_TIMEOUT,
	                                 RW_PHASE_X224},
	                 "x224_timeout");
	struct rw_step cancel[] = {DATA(C, a), FIN(C), END};
	check_all_splits(cancel,
	                 (struct expect){RW_CAUSE_CLIENT_CANCELLED, RW_SIDE_CLIENT, RW_CLOSE_FIN,
	                                 RW_PHASE_X224},
	                 "cancel");
}

static void test_tls_terminating_middlebox(void **state)
{
	(void)state;
	struct rw_test_bytes a = {.n = 0}, b = {.n = 0};
	rw_test_cr(&a, "dave", RW_PROTO_SSL);
	rw_test_alert(&b, 2, 10); /* what a TLS server says to a TPKT header */
	struct rw_step st[] = {DATA(C, a), DATA(S, b), FIN(S), END};
	check_all_splits(st,
	                 (struct expect){RW_CAUSE_TLS_TERMINATING_MIDDLEBOX, RW_SIDE_SERVER,
	                                 RW_CLOSE_FIN, RW_PHASE_X224},
	                 "middlebox");
}

static void test_not_rdp(void **state)
{
	(void)state;
	struct rw_test_bytes a = {.n = 0};
	rw_test_put(&a, "GET / HTTP/1.1\r\n\r\n", 18);
	struct rw_step st[] = {DATA(C, a), FIN(C), END};
	check_all_splits(
	        st, (struct expect){RW_CAUSE_NOT_RDP, RW_SIDE_CLIENT, RW_CLOSE_FIN, RW_PHASE_X224},
	        "not_rdp");
}

/* CR + CC(selected) + ClientHello as the common start of the TLS scenarios. */
static void tls_start(struct rw_test_bytes *c1, struct rw_test_bytes *s1, struct rw_test_bytes *c2,
                      int proto, const uint16_t *versions, size_t nv)
{
	rw_test_cr(c1, "erin", proto);
	rw_test_cc(s1, 2, (uint32_t)proto);
	rw_test_put_client_hello(c2, versions, nv);
}

static void test_tls_version_and_cipher_alerts(void **state)
{
	(void)state;
	struct rw_test_bytes c1 = {.n = 0}, s1 = {.n = 0}, c2 = {.n = 0}, s2 = {.n = 0},
	                     s3 = {.n = 0};
	tls_start(&c1, &s1, &c2, RW_PROTO_SSL, v13, 2);
	rw_test_alert(&s2, 2, 70);
	struct rw_step st[] = {DATA(C, c1), DATA(S, s1), DATA(C, c2), DATA(S, s2), FIN(S), END};
	check_all_splits(st,
	                 (struct expect){RW_CAUSE_TLS_PROTOCOL_VERSION_MISMATCH, RW_SIDE_SERVER,
	                                 RW_CLOSE_FIN, RW_PHASE_TLS_HANDSHAKE},
	                 "version");
	rw_test_alert(&s3, 2, 40);
	struct rw_step st2[] = {DATA(C, c1), DATA(S, s1), DATA(C, c2), DATA(S, s3), FIN(S), END};
	check_all_splits(st2,
	                 (struct expect){RW_CAUSE_TLS_CIPHER_MISMATCH, RW_SIDE_SERVER, RW_CLOSE_FIN,
	                                 RW_PHASE_TLS_HANDSHAKE},
	                 "cipher");
}

static void test_tls_rejected_without_alert(void **state)
{
	(void)state;
	struct rw_test_bytes c1 = {.n = 0}, s1 = {.n = 0}, c2 = {.n = 0};
	tls_start(&c1, &s1, &c2, RW_PROTO_SSL, NULL, 0);
	struct rw_step st[] = {DATA(C, c1), DATA(S, s1), DATA(C, c2), RST(S), END};
	check_all_splits(st,
	                 (struct expect){RW_CAUSE_TLS_REJECTED_WITHOUT_ALERT, RW_SIDE_SERVER,
	                                 RW_CLOSE_RST, RW_PHASE_TLS_HANDSHAKE},
	                 "no_alert");
	/* Silence after the ClientHello, then the server side closes: a timeout. */
	struct rw_step slow[] = {DATA(C, c1), DATA(S, s1), DATA(C, c2), SLEEP(5000), FIN(S), END};
	check_all_splits(slow,
	                 (struct expect){RW_CAUSE_HANDSHAKE_TIMEOUT, RW_SIDE_SERVER, RW_CLOSE_FIN,
	                                 RW_PHASE_TLS_HANDSHAKE},
	                 "silent_after_hello");
	/* Later in the handshake: the client's key exchange and Finished met by
	 * silence, then the server side's close (the lab's 14_synproxy, where the
	 * host's RST never reached the proxy's socket in window). */
	struct rw_test_bytes s2 = {.n = 0}, c3 = {.n = 0};
	rw_test_put_server_hello(&s2, 0xc02f, 0, false);
	rw_test_certificate(&s2, -10, 300);
	rw_test_put_server_hello_done(&s2);
	rw_test_client_key_exchange(&c3);
	rw_test_ccs(&c3);
	rw_test_opaque(&c3, 22, 40);
	struct rw_step stalled[] = {DATA(C, c1), DATA(S, s1), DATA(C, c2), DATA(S, s2),
	                            DATA(C, c3), SLEEP(5000), FIN(S),      END};
	check_all_splits(stalled,
	                 (struct expect){RW_CAUSE_HANDSHAKE_TIMEOUT, RW_SIDE_SERVER, RW_CLOSE_FIN,
	                                 RW_PHASE_TLS_HANDSHAKE},
	                 "silent_after_key_exchange");
}

/* Full TLS 1.2 handshake, then `flights` alternating encrypted exchanges. */
static void tls12_session(struct rw_test_bytes *c3, struct rw_test_bytes *s3)
{
	rw_test_ccs(c3);
	rw_test_opaque(c3, 22, 40);
	rw_test_ccs(s3);
	rw_test_opaque(s3, 22, 40);
}

static void test_certificates(void **state)
{
	(void)state;
	struct rw_test_bytes c1 = {.n = 0}, s1 = {.n = 0}, c2 = {.n = 0};
	tls_start(&c1, &s1, &c2, RW_PROTO_SSL, NULL, 0);
	struct rw_test_bytes good = {.n = 0}, expired = {.n = 0}, ca = {.n = 0};
	rw_test_put_server_hello(&good, 0xc02f, 0, false);
	rw_test_certificate(&good, -10, 300);
	rw_test_put_server_hello_done(&good);
	rw_test_put_server_hello(&expired, 0xc02f, 0, false);
	rw_test_certificate(&expired, -400, -30);
	rw_test_put_server_hello_done(&expired);
	rw_test_alert(&ca, 2, 48);
	struct rw_step rejected[] = {DATA(C, c1), DATA(S, s1), DATA(C, c2), DATA(S, good),
	                             DATA(C, ca), FIN(C),      FIN(S),      END};
	check_all_splits(rejected,
	                 (struct expect){RW_CAUSE_CERTIFICATE_REJECTED_BY_CLIENT, RW_SIDE_CLIENT,
	                                 RW_CLOSE_FIN, RW_PHASE_TLS_HANDSHAKE},
	                 "cert_rejected");
	struct rw_step exp[] = {DATA(C, c1), DATA(S, s1), DATA(C, c2), DATA(S, expired),
	                        DATA(C, ca), FIN(C),      END};
	check_all_splits(exp,
	                 (struct expect){RW_CAUSE_CERTIFICATE_EXPIRED, RW_SIDE_CLIENT, RW_CLOSE_FIN,
	                                 RW_PHASE_TLS_HANDSHAKE},
	                 "cert_expired");
	/* A client that just closes after an expired certificate, no alert. */
	struct rw_step exp2[] = {DATA(C, c1),      DATA(S, s1), DATA(C, c2),
	                         DATA(S, expired), RST(C),      END};
	check_all_splits(exp2,
	                 (struct expect){RW_CAUSE_CERTIFICATE_EXPIRED, RW_SIDE_CLIENT, RW_CLOSE_RST,
	                                 RW_PHASE_TLS_HANDSHAKE},
	                 "cert_expired_rst");
	/* FreeRDP with TLS 1.2: the handshake completes, then an encrypted alert. */
	struct rw_test_bytes c3 = {.n = 0}, s3 = {.n = 0}, enc_alert = {.n = 0};
	rw_test_client_key_exchange(&c3);
	tls12_session(&c3, &s3);
	rw_test_opaque(&enc_alert, 21, 26);
	struct rw_step late[] = {DATA(C, c1),        DATA(S, s1), DATA(C, c2),
	                         DATA(S, good),      DATA(C, c3), DATA(S, s3),
	                         DATA(C, enc_alert), FIN(C),      END};
	check_all_splits(late,
	                 (struct expect){RW_CAUSE_CERTIFICATE_REJECTED_BY_CLIENT, RW_SIDE_CLIENT,
	                                 RW_CLOSE_FIN, RW_PHASE_TLS_HANDSHAKE},
	                 "cert_rejected_after_handshake");
	late[3] = (struct rw_step)DATA(S, expired);
	check_all_splits(late,
	                 (struct expect){RW_CAUSE_CERTIFICATE_EXPIRED, RW_SIDE_CLIENT, RW_CLOSE_FIN,
	                                 RW_PHASE_TLS_HANDSHAKE},
	                 "cert_expired_after_handshake");
	struct rw_session *s = rw_test_run(rejected, SPLIT_BYTES, 0);
	struct rw_record *r = rw_session_record(s);
	assert_true(r->certificate_seen);
	assert_string_equal(r->cert.subject_cn, "rdphost");
	assert_string_equal(r->cert.serial_hex, "1092");
	assert_string_equal(r->cert.key_type, "ec");
	assert_int_equal(r->cert.key_bits, 256);
	assert_int_equal(strlen(r->cert.sha256_hex), 64);
	assert_true(r->cert.self_signed);
	assert_true(r->alert[RW_C2S].seen);
	assert_int_equal(r->alert[RW_C2S].description, 48);
	rw_session_free(s);
}

static void test_tls_stream_altered(void **state)
{
	(void)state;
	struct rw_test_bytes c1 = {.n = 0}, s1 = {.n = 0}, c2 = {.n = 0}, bad = {.n = 0},
	                     dg = {.n = 0};
	tls_start(&c1, &s1, &c2, RW_PROTO_SSL, v13, 2);
	rw_test_put_server_hello(&bad, 0x009c, 0, false); /* never offered */
	struct rw_step st[] = {DATA(C, c1), DATA(S, s1), DATA(C, c2), DATA(S, bad), FIN(C), END};
	check_all_splits(st,
	                 (struct expect){RW_CAUSE_TLS_STREAM_ALTERED, RW_SIDE_CLIENT, RW_CLOSE_FIN,
	                                 RW_PHASE_TLS_HANDSHAKE},
	                 "altered_cipher");
	rw_test_put_server_hello(&dg, 0xc02f, 0, true);
	struct rw_step st2[] = {DATA(C, c1), DATA(S, s1), DATA(C, c2), DATA(S, dg), FIN(C), END};
	check_all_splits(st2,
	                 (struct expect){RW_CAUSE_TLS_STREAM_ALTERED, RW_SIDE_CLIENT, RW_CLOSE_FIN,
	                                 RW_PHASE_TLS_HANDSHAKE},
	                 "downgrade");
	/* Non-TLS bytes from the server inside the TLS phase. */
	struct rw_test_bytes junk = {.n = 0};
	rw_test_put(&junk, "HTTP/1.1 400 Bad Request\r\n", 26);
	struct rw_step st3[] = {DATA(C, c1), DATA(S, s1), DATA(C, c2), DATA(S, junk), FIN(S), END};
	check_all_splits(st3,
	                 (struct expect){RW_CAUSE_TLS_STREAM_ALTERED, RW_SIDE_SERVER, RW_CLOSE_FIN,
	                                 RW_PHASE_TLS_HANDSHAKE},
	                 "junk");
}

static void test_nla(void **state)
{
	(void)state;
	struct rw_test_bytes c1 = {.n = 0}, s1 = {.n = 0}, c2 = {.n = 0}, s2 = {.n = 0},
	                     c3 = {.n = 0}, s3 = {.n = 0}, nla_c = {.n = 0}, nla_s = {.n = 0};
	tls_start(&c1, &s1, &c2, RW_PROTO_HYBRID, NULL, 0);
	rw_test_put_server_hello(&s2, 0xc02f, 0, false);
	rw_test_certificate(&s2, -1, 100);
	rw_test_put_server_hello_done(&s2);
	rw_test_client_key_exchange(&c3);
	tls12_session(&c3, &s3);
	rw_test_opaque(&nla_c, 23, 90);
	rw_test_opaque(&nla_s, 23, 200);
	struct rw_step fail_[] = {
	        DATA(C, c1), DATA(S, s1),    DATA(C, c2),    DATA(S, s2),    DATA(C, c3),
	        DATA(S, s3), DATA(C, nla_c), DATA(S, nla_s), DATA(C, nla_c), FIN(S),
	        END};
	check_all_splits(
	        fail_,
	        (struct expect){RW_CAUSE_NLA_FAILED, RW_SIDE_SERVER, RW_CLOSE_FIN, RW_PHASE_NLA},
	        "nla_failed");
	/* +auth-only: CredSSP completes, the client leaves. */
	struct rw_step auth_only[] = {DATA(C, c1),
	                              DATA(S, s1),
	                              DATA(C, c2),
	                              DATA(S, s2),
	                              DATA(C, c3),
	                              DATA(S, s3),
	                              DATA(C, nla_c),
	                              DATA(S, nla_s),
	                              DATA(C, nla_c),
	                              DATA(S, nla_s),
	                              DATA(C, nla_c),
	                              FIN(C),
	                              END};
	check_all_splits(
	        auth_only,
	        (struct expect){RW_CAUSE_NORMAL_CLOSE, RW_SIDE_CLIENT, RW_CLOSE_FIN, RW_PHASE_NLA},
	        "auth_only");
}

static void test_normal_close_established(void **state)
{
	(void)state;
	struct rw_test_bytes c1 = {.n = 0}, s1 = {.n = 0}, c2 = {.n = 0}, s2 = {.n = 0},
	                     c3 = {.n = 0}, s3 = {.n = 0}, app_c = {.n = 0}, app_s = {.n = 0};
	tls_start(&c1, &s1, &c2, RW_PROTO_SSL, NULL, 0);
	rw_test_put_server_hello(&s2, 0xc030, 0, false);
	rw_test_certificate(&s2, -1, 100);
	rw_test_put_server_hello_done(&s2);
	rw_test_client_key_exchange(&c3);
	tls12_session(&c3, &s3);
	rw_test_opaque(&app_c, 23, 100);
	rw_test_opaque(&app_s, 23, 3000);
	struct rw_step st[40];
	size_t k = 0;
	struct rw_step head[] = {DATA(C, c1), DATA(S, s1), DATA(C, c2),
	                         DATA(S, s2), DATA(C, c3), DATA(S, s3)};
	memcpy(st, head, sizeof(head));
	k = sizeof(head) / sizeof(head[0]);
	for (int i = 0; i < 10; i++) {
		st[k++] = (struct rw_step)DATA(C, app_c);
		st[k++] = (struct rw_step)DATA(S, app_s);
	}
	st[k++] = (struct rw_step)FIN(C);
	st[k++] = (struct rw_step)FIN(S);
	st[k++] = (struct rw_step)END;
	check_all_splits(st,
	                 (struct expect){RW_CAUSE_NORMAL_CLOSE, RW_SIDE_CLIENT, RW_CLOSE_FIN,
	                                 RW_PHASE_ESTABLISHED},
	                 "normal");
	/* The same session reset by the server mid-way. */
	st[k - 3] = (struct rw_step)RST(S);
	check_all_splits(st,
	                 (struct expect){RW_CAUSE_RESET_BY_SERVER, RW_SIDE_SERVER, RW_CLOSE_RST,
	                                 RW_PHASE_ESTABLISHED},
	                 "reset_by_server");
	st[k - 3] = (struct rw_step)RST(C);
	check_all_splits(st,
	                 (struct expect){RW_CAUSE_RESET_BY_CLIENT, RW_SIDE_CLIENT, RW_CLOSE_RST,
	                                 RW_PHASE_ESTABLISHED},
	                 "reset_by_client");
	struct rw_session *s = rw_test_run(st, SPLIT_RANDOM, 5);
	struct rw_record *r = rw_session_record(s);
	assert_true(r->tls_established);
	assert_int_equal(r->sh.cipher, 0xc030);
	assert_true(r->phase_reached[RW_PHASE_RDP]);
	assert_false(rw_session_inspecting(s));
	rw_session_free(s);
}

static void test_tls13(void **state)
{
	(void)state;
	struct rw_test_bytes c1 = {.n = 0}, s1 = {.n = 0}, c2 = {.n = 0}, s2 = {.n = 0},
	                     rej = {.n = 0}, fin = {.n = 0}, app_s = {.n = 0}, app_c = {.n = 0};
	tls_start(&c1, &s1, &c2, RW_PROTO_SSL, v13, 2);
	rw_test_put_server_hello(&s2, 0x1302, 0x0304, false);
	rw_test_ccs(&s2);
	rw_test_opaque(&s2, 23, 1200); /* EncryptedExtensions..Finished */
	rw_test_ccs(&rej);
	rw_test_opaque(&rej, 23, 19); /* encrypted alert */
	struct rw_step st[] = {DATA(C, c1),  DATA(S, s1), DATA(C, c2), DATA(S, s2),
	                       DATA(C, rej), FIN(C),      END};
	check_all_splits(st,
	                 (struct expect){RW_CAUSE_CERTIFICATE_REJECTED_BY_CLIENT, RW_SIDE_CLIENT,
	                                 RW_CLOSE_FIN, RW_PHASE_TLS_HANDSHAKE},
	                 "tls13_rejected");
	rw_test_ccs(&fin);
	rw_test_opaque(&fin, 23, 53);
	/* FreeRDP: Finished, then the certificate check fails, close_notify, FIN. */
	struct rw_test_bytes late = {.n = 0};
	rw_test_opaque(&late, 23, 19);
	struct rw_step st2[] = {DATA(C, c1),  DATA(S, s1),   DATA(C, c2), DATA(S, s2),
	                        DATA(C, fin), DATA(C, late), FIN(C),      END};
	check_all_splits(st2,
	                 (struct expect){RW_CAUSE_CERTIFICATE_REJECTED_BY_CLIENT, RW_SIDE_CLIENT,
	                                 RW_CLOSE_FIN, RW_PHASE_TLS_HANDSHAKE},
	                 "tls13_rejected_after_finished");
	rw_test_opaque(&app_c, 23, 300);
	rw_test_opaque(&app_s, 23, 3000);
	struct rw_step ok[] = {DATA(C, c1),    DATA(S, s1),    DATA(C, c2),    DATA(S, s2),
	                       DATA(C, fin),   DATA(C, app_c), DATA(S, app_s), DATA(C, app_c),
	                       DATA(S, app_s), FIN(S),         FIN(C),         END};
	check_all_splits(ok,
	                 (struct expect){RW_CAUSE_RDP_CLOSED_BY_SERVER, RW_SIDE_SERVER,
	                                 RW_CLOSE_FIN, RW_PHASE_RDP},
	                 "tls13_server_ends_sequence");
	ok[9] = (struct rw_step)FIN(C);
	ok[10] = (struct rw_step)FIN(S);
	check_all_splits(
	        ok,
	        (struct expect){RW_CAUSE_NORMAL_CLOSE, RW_SIDE_CLIENT, RW_CLOSE_FIN, RW_PHASE_RDP},
	        "tls13_ok");
	struct rw_session *s = rw_test_run(ok, SPLIT_BYTES, 0);
	struct rw_record *r = rw_session_record(s);
	assert_true(r->tls13);
	assert_int_equal(r->sh.version, 0x0304);
	assert_true(r->tls_established);
	assert_string_equal(r->ch.sni, "rdp.local");
	char ja3[33], ja4[40];
	rw_ja3(&r->ch, NULL, 0, ja3);
	rw_ja4(&r->ch, 't', ja4);
	assert_int_equal(strlen(ja3), 32);
	assert_true(ja4[0] == 't');
	rw_session_free(s);
}

static void test_handshake_timeout_and_still_open(void **state)
{
	(void)state;
	struct rw_test_bytes c1 = {.n = 0}, s1 = {.n = 0}, c2 = {.n = 0};
	tls_start(&c1, &s1, &c2, RW_PROTO_SSL, NULL, 0);
	struct rw_step st[] = {
	        DATA(C, c1), DATA(S, s1), DATA(C, c2), {STEP_TIMEOUT, C, NULL, 0, 0}, END};
	check_all_splits(st,
	                 (struct expect){RW_CAUSE_HANDSHAKE_TIMEOUT, RW_SIDE_PROXY,
	                                 RW_CLOSE_TIMEOUT, RW_PHASE_TLS_HANDSHAKE},
	                 "timeout");
	struct rw_step open_[] = {DATA(C, c1), DATA(S, s1), DATA(C, c2), END};
	check_all_splits(open_,
	                 (struct expect){RW_CAUSE_STILL_OPEN, RW_SIDE_NONE, RW_CLOSE_NONE,
	                                 RW_PHASE_TLS_HANDSHAKE},
	                 "still_open");
}

/* Capture-only facts: TTL of a RST and retransmission statistics. */
static void test_reset_injected_and_mtu(void **state)
{
	(void)state;
	struct rw_test_bytes a = {.n = 0}, b = {.n = 0};
	rw_test_cr(&a, "frank", RW_PROTO_SSL);
	rw_test_cc(&b, 2, RW_PROTO_SSL);
	struct rw_session *s = rw_session_new(NULL);
	struct rw_endpoint ce = {.family = 2, .addr = {10, 0, 0, 1}, .port = 50000};
	struct rw_endpoint se = {.family = 2, .addr = {10, 0, 0, 2}, .port = 3389};
	rw_session_open(s, 1000, &ce, &se);
	rw_session_syn(s, C, 1000);
	rw_session_ttl(s, C, 64);
	rw_session_syn(s, S, 1100);
	rw_session_ttl(s, S, 128);
	rw_session_data(s, C, 1200, a.p, a.n);
	rw_session_data(s, S, 1300, b.p, b.n);
	rw_session_rst(s, S, 1400, 62);
	rw_session_close(s, 1500);
	struct rw_record *r = rw_session_record(s);
	assert_int_equal(r->verdict.cause, RW_CAUSE_RESET_INJECTED);
	assert_int_equal(r->verdict.closed_by, RW_SIDE_SERVER);
	assert_int_equal(r->verdict.phase, RW_PHASE_X224);
	rw_session_free(s);

	s = rw_session_new(NULL);
	rw_session_open(s, 1000, &ce, &se);
	rw_session_syn(s, C, 1000);
	rw_session_syn(s, S, 1100);
	rw_session_data(s, C, 1200, a.p, a.n);
	rw_session_data(s, S, 1300, b.p, b.n);
	struct rw_tcp_stats t = {.packets = 9,
	                         .retransmits = 6,
	                         .large_unacked_retransmits = 5,
	                         .max_segment = 1448};
	rw_session_tcp_stats(s, S, &t);
	rw_session_fin(s, C, 90000000);
	rw_session_close(s, 90000001);
	r = rw_session_record(s);
	assert_int_equal(r->verdict.cause, RW_CAUSE_MTU_BLACKHOLE);
	rw_session_free(s);
}

static void test_midstream(void **state)
{
	(void)state;
	/* The capture starts inside a running TLS session. */
	struct rw_test_bytes c1 = {.n = 0}, s1 = {.n = 0};
	rw_test_opaque(&c1, 23, 300);
	rw_test_opaque(&s1, 23, 2000);
	struct rw_step st[] = {DATA(C, c1), DATA(S, s1), DATA(C, c1), DATA(S, s1), FIN(C), END};
	for (int split = 0; split < 3; split++) {
		struct rw_session *s = rw_test_run_ex(st, (enum rw_split)split, 3, true);
		struct rw_record *r = rw_session_record(s);
		assert_true(r->midstream);
		assert_int_equal(r->verdict.cause, RW_CAUSE_NORMAL_CLOSE);
		assert_int_equal(r->verdict.phase, RW_PHASE_RDP);
		bool noted = false;
		for (size_t i = 0; i < r->verdict.n_evidence; i++)
			noted |= strstr(r->verdict.evidence[i], "mid-connection") != NULL;
		assert_true(noted);
		rw_session_free(s);
	}
	/* Standard RDP security: MCS data (TPKT, X.224 Data) in both directions. */
	struct rw_test_bytes m1 = {.n = 0}, m2 = {.n = 0};
	uint8_t dt[] = {3, 0, 0, 12, 2, 0xf0, 0x80, 0x64, 0, 1, 3, 0xeb};
	rw_test_put(&m1, dt, sizeof(dt));
	rw_test_put(&m2, dt, sizeof(dt));
	struct rw_step st2[] = {DATA(C, m1), DATA(S, m2), RST(S), END};
	struct rw_session *s = rw_test_run_ex(st2, SPLIT_BYTES, 0, true);
	assert_int_equal(rw_session_record(s)->verdict.cause, RW_CAUSE_RESET_BY_SERVER);
	assert_int_equal(rw_session_record(s)->verdict.phase, RW_PHASE_RDP);
	rw_session_free(s);
}

static void test_names_stable(void **state)
{
	(void)state;
	/* Cause codes are an API: every code has a distinct name and a fix. */
	for (int i = 0; i < RW_CAUSE_COUNT; i++) {
		assert_non_null(rw_cause_name((enum rw_cause)i));
		assert_non_null(rw_cause_remediation((enum rw_cause)i));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(rw_cause_name((enum rw_cause)i),
			                        rw_cause_name((enum rw_cause)j));
	}
	assert_string_equal(rw_cause_name(RW_CAUSE_TLS_TERMINATING_MIDDLEBOX),
	                    "tls_terminating_middlebox");
	assert_string_equal(rw_phase_name(RW_PHASE_TLS_HANDSHAKE), "tls_handshake");
	assert_string_equal(rw_close_kind_name(RW_CLOSE_UNREACHABLE), "unreachable");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_upstream_refused),
	        cmocka_unit_test(test_upstream_unreachable),
	        cmocka_unit_test(test_neg_failure),
	        cmocka_unit_test(test_unrequested_protocol),
	        cmocka_unit_test(test_standard_security_refused),
	        cmocka_unit_test(test_x224_closed_and_no_response),
	        cmocka_unit_test(test_tls_terminating_middlebox),
	        cmocka_unit_test(test_not_rdp),
	        cmocka_unit_test(test_tls_version_and_cipher_alerts),
	        cmocka_unit_test(test_tls_rejected_without_alert),
	        cmocka_unit_test(test_certificates),
	        cmocka_unit_test(test_tls_stream_altered),
	        cmocka_unit_test(test_nla),
	        cmocka_unit_test(test_normal_close_established),
	        cmocka_unit_test(test_tls13),
	        cmocka_unit_test(test_handshake_timeout_and_still_open),
	        cmocka_unit_test(test_reset_injected_and_mtu),
	        cmocka_unit_test(test_midstream),
	        cmocka_unit_test(test_names_stable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
