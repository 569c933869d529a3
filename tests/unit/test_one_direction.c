/* One-direction captures in the flow table: what the side never captured
 * sent, its FIN and its RST, inferred from the other side's packets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include <pcap/pcap.h>

#include "flow_frames.h"
#include "session.h" /* rw_session_* for test_inferred_fin_in_the_fin_packet */
#include "testutil.h"

/* Only the client's packets (a SPAN of its side): the server's SYN-ACK, its
 * Confirm and its FIN are known from the client's ACKs alone. */
static void test_one_direction_client_only(void **state)
{
	(void)state;
	struct conn c = conn4(40, 61000, 3389);
	seg(&c, true, RW_TCP_SYN, NULL, 0);
	c.sseq += 1; /* the SYN-ACK, not captured */
	seg(&c, true, RW_TCP_ACK, NULL, 0);
	seg(&c, true, RW_TCP_PSH, cr, sizeof(cr));
	c.sseq += sizeof(cc_ssl); /* the Confirm: acknowledged, not captured */
	seg(&c, true, RW_TCP_ACK, NULL, 0);
	uint64_t fin_ts = now_us + 1000;
	c.sseq += 1; /* the server's FIN: the client's ACK moves one past its last byte */
	seg(&c, true, RW_TCP_ACK, NULL, 0);
	seg(&c, true, RW_TCP_FIN, NULL, 0);
	assert_int_equal(n_recs, 1); /* FIN both ways: reported at once */
	const struct rw_record *r = &recs[0];
	check_endpoints(r, &c);
	assert_int_equal(r->directions, RW_DIRS_CLIENT_ONLY);
	assert_true(r->inferred_syn[RW_S2C]);
	assert_true(r->saw_syn);
	assert_true(r->saw_synack);
	assert_false(r->midstream);
	assert_int_equal(r->bytes[RW_S2C], sizeof(cc_ssl));
	assert_int_equal(r->inferred_bytes[RW_S2C], sizeof(cc_ssl));
	assert_int_equal(r->tcp[RW_S2C].gaps, 0); /* inferred, not lost by the capture */
	assert_true(r->cc_inferred);
	assert_false(r->cc_seen);
	assert_true(r->inferred_fin[RW_S2C]);
	assert_true(r->fin_seen[RW_S2C]);
	assert_int_equal(r->fin_ts_us[RW_S2C], fin_ts);
	assert_true(r->closed);
	assert_int_equal(r->first_close_dir, RW_S2C);
	assert_int_equal(r->first_close_kind, RW_CLOSE_FIN);
	assert_int_equal(r->first_close_phase, RW_PHASE_X224);
	assert_int_equal(r->verdict.closed_by, RW_SIDE_SERVER);
	assert_int_not_equal(r->verdict.confidence, RW_CONFIDENCE_HIGH);
	assert_true(has_evidence(r, "inferred from the client's acknowledgements"));
}

/* Only the server's packets: the client's SYN (from the SYN-ACK), its
 * request and its FIN are known from the server's ACKs alone. */
static void test_one_direction_server_only(void **state)
{
	(void)state;
	struct conn c = conn4(41, 61001, 3389);
	c.cseq += 1; /* the client's SYN, not captured */
	seg(&c, false, RW_TCP_SYN | RW_TCP_ACK, NULL, 0);
	c.cseq += sizeof(cr); /* the request: acknowledged, not captured */
	seg(&c, false, RW_TCP_PSH, cc_ssl, sizeof(cc_ssl));
	c.cseq += 1; /* the client hangs up on the Confirm */
	seg(&c, false, RW_TCP_ACK, NULL, 0);
	seg(&c, false, RW_TCP_FIN, NULL, 0);
	assert_int_equal(n_recs, 1);
	const struct rw_record *r = &recs[0];
	check_endpoints(r, &c);
	assert_int_equal(r->directions, RW_DIRS_SERVER_ONLY);
	assert_true(r->inferred_syn[RW_C2S]);
	assert_true(r->saw_syn);
	assert_true(r->cr_inferred);
	assert_true(r->cr_seen);
	assert_true(r->cc_seen);
	assert_int_equal(r->inferred_bytes[RW_C2S], sizeof(cr));
	assert_int_equal(r->tcp[RW_C2S].gaps, 0);
	assert_true(r->inferred_fin[RW_C2S]);
	assert_int_equal(r->first_close_dir, RW_C2S);
	assert_int_equal(r->first_close_phase, RW_PHASE_X224);
	assert_int_equal(r->verdict.closed_by, RW_SIDE_CLIENT);
	/* The request's content is unknown: the Confirm's choice cannot be
	 * called one the client never asked for. */
	assert_int_equal(r->verdict.cause, RW_CAUSE_SECURITY_NEGOTIATION_FAILURE);
	assert_int_equal(r->verdict.confidence, RW_CONFIDENCE_MEDIUM);
	assert_true(has_evidence(r, "inferred from the server's acknowledgements"));
}

/* Server-only, the server resets right after the client's next bytes: after
 * a Confirm that selected SSL those are the ClientHello (MS-RDPBCGR 5.4.5),
 * so the phase is tls_handshake and the host refused TLS without an alert
 * (the lab's 07_firewall_reset seen from the server side's packets: the
 * proxy's kernel acknowledged the ClientHello before the proxy's RST). */
static void test_one_direction_server_only_hello_reset(void **state)
{
	(void)state;
	struct conn c = conn4(44, 61004, 3389);
	c.cseq += 1; /* the client's SYN, not captured */
	seg(&c, false, RW_TCP_SYN | RW_TCP_ACK, NULL, 0);
	c.cseq += sizeof(cr); /* the request: acknowledged, not captured */
	seg(&c, false, RW_TCP_PSH, cc_ssl, sizeof(cc_ssl));
	c.cseq += 317; /* the ClientHello, acknowledged (an RST's ACK is not used) */
	seg(&c, false, RW_TCP_ACK, NULL, 0);
	seg(&c, false, RW_TCP_RST, NULL, 0);
	rw_capture_finish(cap);
	assert_int_equal(n_recs, 1);
	const struct rw_record *r = &recs[0];
	assert_int_equal(r->directions, RW_DIRS_SERVER_ONLY);
	assert_true(r->client_hello_inferred);
	assert_false(r->client_hello_seen);
	assert_int_equal(r->first_close_phase, RW_PHASE_TLS_HANDSHAKE);
	assert_int_equal(r->verdict.cause, RW_CAUSE_TLS_REJECTED_WITHOUT_ALERT);
	assert_int_equal(r->verdict.closed_by, RW_SIDE_SERVER);
	assert_int_equal(r->verdict.close_kind, RW_CLOSE_RST);
	assert_int_not_equal(r->verdict.confidence, RW_CONFIDENCE_HIGH);
	assert_true(has_evidence(r, "taken as its ClientHello"));
	assert_false(has_evidence(r, "cipher suites")); /* nothing known of its content */
}

/* The same when the RST itself is what acknowledges the ClientHello (the
 * lab's 07: a firewall's REJECT answers the ClientHello segment with an RST
 * whose ACK covers it; no pure ACK came before it). In a one-direction
 * capture the RST's ACK is the last word on the unseen side. */
static void test_one_direction_server_only_rst_acks_hello(void **state)
{
	(void)state;
	struct conn c = conn4(45, 61005, 3389);
	c.cseq += 1; /* the client's SYN, not captured */
	seg(&c, false, RW_TCP_SYN | RW_TCP_ACK, NULL, 0);
	c.cseq += sizeof(cr); /* the request: acknowledged, not captured */
	seg(&c, false, RW_TCP_PSH, cc_ssl, sizeof(cc_ssl));
	c.cseq += 317; /* the ClientHello: only the RST acknowledges it */
	seg(&c, false, RW_TCP_RST, NULL, 0);
	rw_capture_finish(cap);
	assert_int_equal(n_recs, 1);
	const struct rw_record *r = &recs[0];
	assert_int_equal(r->directions, RW_DIRS_SERVER_ONLY);
	assert_true(r->client_hello_inferred);
	assert_int_equal(r->first_close_phase, RW_PHASE_TLS_HANDSHAKE);
	assert_int_equal(r->verdict.cause, RW_CAUSE_TLS_REJECTED_WITHOUT_ALERT);
	assert_int_equal(r->verdict.close_kind, RW_CLOSE_RST);
}

/* Server-only, the server side stays silent after the client's ClientHello
 * and closes 5 s later: a handshake timeout (the lab's 13_mtu_blackhole on
 * the client's side of the black hole, from the proxy's packets). */
static void test_one_direction_server_only_hello_timeout(void **state)
{
	(void)state;
	struct conn c = conn4(45, 61005, 3389);
	c.cseq += 1;
	seg(&c, false, RW_TCP_SYN | RW_TCP_ACK, NULL, 0);
	c.cseq += sizeof(cr);
	seg(&c, false, RW_TCP_PSH, cc_ssl, sizeof(cc_ssl));
	c.cseq += 317;
	seg(&c, false, RW_TCP_ACK, NULL, 0);
	now_us += 5000000;
	seg(&c, false, RW_TCP_FIN, NULL, 0);
	c.cseq += 1;
	seg(&c, false, RW_TCP_ACK, NULL, 0);
	rw_capture_finish(cap);
	assert_int_equal(n_recs, 1);
	const struct rw_record *r = &recs[0];
	assert_true(r->client_hello_inferred);
	assert_int_equal(r->verdict.cause, RW_CAUSE_HANDSHAKE_TIMEOUT);
	assert_int_equal(r->verdict.closed_by, RW_SIDE_SERVER);
	assert_int_equal(r->verdict.phase, RW_PHASE_TLS_HANDSHAKE);
	assert_true(has_evidence(r, "silent for 500"));
}

/* Client-only, the client's ClientHello goes unanswered, is retransmitted,
 * and then the client falls silent while the capture goes on (another
 * connection's packets, seconds later): a stack stops retransmitting early
 * only when answered, and nothing it acknowledged came, so the server side
 * reset (an RST is never acknowledged). Inferred, low confidence. Without
 * the retransmission, or when the capture ends at once, nothing is
 * inferred: the client may simply be waiting. */
static uint8_t hello_min[600];
static size_t hello_len;

/* A real ClientHello (OpenSSL's, tls_vectors.c) in its record. */
static void build_hello(void)
{
	hello_len = client_hello_record(hello_min, sizeof(hello_min));
}

static void client_only_hello(struct conn *c, bool retransmit)
{
	build_hello();
	handshake_client_only(c);
	seg(c, true, RW_TCP_PSH, cr, sizeof(cr));
	c->sseq += sizeof(cc_ssl); /* the Confirm: acknowledged, not captured */
	seg(c, true, RW_TCP_ACK, NULL, 0);
	uint32_t ch_seq = c->cseq;
	seg(c, true, RW_TCP_PSH, hello_min, hello_len);
	if (retransmit) {
		now_us += 300000; /* the retransmission timer: 300 ms */
		seg_at(c, true, RW_TCP_PSH | RW_TCP_ACK, ch_seq, c->sseq, hello_min, hello_len,
		       c->cttl);
	}
}

static void later_traffic(uint64_t after_us)
{
	now_us += after_us;
	struct conn o = conn4(99, 61999, 3389);
	seg(&o, true, RW_TCP_SYN, NULL, 0);
}

static const struct rw_record *record_of(uint16_t cport)
{
	for (size_t i = 0; i < n_recs; i++)
		if (recs[i].client.port == cport)
			return &recs[i];
	fail_msg("no record for client port %u", cport);
	return NULL;
}

static void test_one_direction_unseen_reset(void **state)
{
	(void)state;
	struct conn c = conn4(47, 61007, 3389);
	client_only_hello(&c, true);
	later_traffic(5 * 1000000ull);
	rw_capture_finish(cap);
	const struct rw_record *r = record_of(61007);
	assert_int_equal(r->directions, RW_DIRS_CLIENT_ONLY);
	assert_true(r->inferred_rst[RW_S2C]);
	assert_int_equal(r->verdict.closed_by, RW_SIDE_SERVER);
	assert_int_equal(r->verdict.close_kind, RW_CLOSE_RST);
	assert_int_equal(r->verdict.phase, RW_PHASE_TLS_HANDSHAKE);
	assert_int_equal(r->verdict.cause, RW_CAUSE_TLS_REJECTED_WITHOUT_ALERT);
	assert_int_equal(r->verdict.confidence, RW_CONFIDENCE_LOW);
	assert_true(has_evidence(r, "retransmitted and then fell silent for 5.0 s"));
	bool still_open_alt = false, injected_alt = false;
	for (size_t i = 0; i < r->verdict.n_alternatives; i++) {
		still_open_alt |= r->verdict.alternatives[i] == RW_CAUSE_STILL_OPEN;
		injected_alt |= r->verdict.alternatives[i] == RW_CAUSE_RESET_INJECTED;
	}
	assert_true(still_open_alt && injected_alt);
}

static void test_one_direction_unseen_reset_not_inferred(void **state)
{
	(void)state;
	/* No retransmission: waiting for the server is as likely. */
	struct conn c = conn4(48, 61008, 3389);
	client_only_hello(&c, false);
	later_traffic(5 * 1000000ull);
	/* A retransmission, then the capture ends with it. */
	struct conn d = conn4(49, 61009, 3389);
	client_only_hello(&d, true);
	rw_capture_finish(cap);
	for (uint16_t port = 61008; port <= 61009; port++) {
		const struct rw_record *r = record_of(port);
		assert_false(r->inferred_rst[RW_S2C]);
		assert_int_equal(r->verdict.cause, RW_CAUSE_STILL_OPEN);
		assert_int_equal(r->verdict.close_kind, RW_CLOSE_NONE);
	}
}

/* Still retransmitting when the capture ends (the timer backs off: 0.3 s,
 * then 0.6 s; the next would come 1.2 s later and the capture ends 1 s
 * after the last): the network, not a reset. */
static void test_one_direction_still_retransmitting(void **state)
{
	(void)state;
	struct conn c = conn4(50, 61010, 3389);
	client_only_hello(&c, true);
	uint32_t ch_seq = c.cseq - hello_len;
	now_us += 600000;
	seg_at(&c, true, RW_TCP_PSH | RW_TCP_ACK, ch_seq, c.sseq, hello_min, hello_len, c.cttl);
	later_traffic(1000000);
	rw_capture_finish(cap);
	const struct rw_record *r = record_of(61010);
	assert_false(r->inferred_rst[RW_S2C]);
	assert_int_equal(r->verdict.cause, RW_CAUSE_STILL_OPEN);
}

/* Client-only, a client asking for SSL|HYBRID gets 19 bytes (a Confirm with
 * RDP_NEG_RSP or RDP_NEG_FAILURE, MS-RDPBCGR 2.2.1.2) and hangs up within
 * milliseconds without a ClientHello: refused by the server or refusing its
 * choice (the lab's 06_sec_rdp_only from the client's packets). */
static void test_one_direction_client_only_refused(void **state)
{
	(void)state;
	struct conn c = conn4(46, 61006, 3389);
	handshake_client_only(&c);
	seg(&c, true, RW_TCP_PSH, cr, sizeof(cr));
	c.sseq += sizeof(cc_rdp);
	seg(&c, true, RW_TCP_ACK, NULL, 0);
	seg(&c, true, RW_TCP_FIN, NULL, 0);
	c.sseq += 1;
	seg(&c, true, RW_TCP_ACK, NULL, 0);
	rw_capture_finish(cap);
	assert_int_equal(n_recs, 1);
	const struct rw_record *r = &recs[0];
	assert_int_equal(r->directions, RW_DIRS_CLIENT_ONLY);
	assert_int_equal(r->cc_inferred_len, 19);
	assert_int_equal(r->verdict.cause, RW_CAUSE_SECURITY_NEGOTIATION_FAILURE);
	assert_int_equal(r->verdict.closed_by, RW_SIDE_CLIENT);
	assert_int_equal(r->verdict.phase, RW_PHASE_X224);
	assert_int_equal(r->verdict.confidence, RW_CONFIDENCE_LOW);
	assert_int_equal(r->verdict.n_alternatives, 1);
	assert_int_equal(r->verdict.alternatives[0], RW_CAUSE_CLIENT_CANCELLED);
	assert_true(has_evidence(
	        r, "19 bytes, a Connection Confirm with RDP_NEG_RSP or RDP_NEG_FAILURE"));
}

/* Client-only, standard RDP security (no RDP_NEG_REQ): the server's 11-byte
 * answer is a bare Confirm, then 9 bytes (an MCS Disconnect Provider
 * Ultimatum) and its FIN: a host that requires TLS or NLA (the lab's
 * 06_sec_tls_only when xrdp closes with FIN). */
static void test_one_direction_client_only_bare_cc(void **state)
{
	(void)state;
	static const uint8_t cr_std[] = {0x03, 0x00, 0x00, 0x0b, 0x06, 0xe0,
	                                 0x00, 0x00, 0x00, 0x00, 0x00};
	static const uint8_t mcs_ci[64] = {0x03, 0x00, 0x00, 0x40, 0x02, 0xf0, 0x80, 0x7f, 0x65};
	struct conn c = conn4(47, 61007, 3389);
	handshake_client_only(&c);
	seg(&c, true, RW_TCP_PSH, cr_std, sizeof(cr_std));
	c.sseq += 11; /* a bare Confirm */
	seg(&c, true, RW_TCP_PSH, mcs_ci, sizeof(mcs_ci));
	c.sseq += 9 + 1; /* the Ultimatum and the FIN */
	seg(&c, true, RW_TCP_ACK, NULL, 0);
	seg(&c, true, RW_TCP_FIN, NULL, 0);
	rw_capture_finish(cap);
	assert_int_equal(n_recs, 1);
	const struct rw_record *r = &recs[0];
	assert_int_equal(r->cc_inferred_len, 11);
	assert_int_equal(r->verdict.cause, RW_CAUSE_SECURITY_NEGOTIATION_FAILURE);
	assert_int_equal(r->verdict.closed_by, RW_SIDE_SERVER);
	assert_int_equal(r->verdict.close_kind, RW_CLOSE_FIN);
	assert_int_equal(r->verdict.phase, RW_PHASE_RDP);
	assert_int_not_equal(r->verdict.confidence, RW_CONFIDENCE_HIGH);
	assert_true(has_evidence(r, "11 bytes, a Connection Confirm without negotiation data"));
}

/* Both directions with a stretch of one lost: still a capture gap, and a
 * SYN never answered is not a one-direction capture. */
static void test_one_direction_not_claimed(void **state)
{
	(void)state;
	struct conn c = conn4(42, 61002, 3389);
	handshake(&c);
	seg(&c, true, RW_TCP_PSH, cr, sizeof(cr));
	c.sseq += sizeof(cc_ssl); /* lost by the capture, acknowledged */
	seg(&c, true, RW_TCP_ACK, NULL, 0);
	close_both(&c);
	struct conn u = conn4(43, 61003, 3389);
	for (int i = 0; i < 3; i++)
		seg_at(&u, true, RW_TCP_SYN, u.cseq, 0, NULL, 0, 128);
	rw_capture_finish(cap);
	assert_int_equal(n_recs, 2);
	assert_int_equal(recs[0].directions, RW_DIRS_BOTH);
	assert_int_equal(recs[0].tcp[RW_S2C].gaps, 1);
	assert_int_equal(recs[0].inferred_bytes[RW_S2C], 0);
	assert_false(recs[0].inferred_fin[RW_S2C]);
	assert_int_equal(recs[1].directions, RW_DIRS_BOTH);
	assert_int_equal(recs[1].connect_failed, RW_CLOSE_UNREACHABLE);
}

/* Server-only, established: the FINs cross, and the server's FIN packet itself
 * acknowledges the client's last bytes and FIN (judged at the end of the
 * flow). The client's FIN had arrived before the server sent its own: the
 * client closed first (the lab's 10_sslsplit_tls13 from the server side). */
static void test_inferred_fin_in_the_fin_packet(void **state)
{
	(void)state;
	struct rw_session_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	struct rw_session *s = rw_session_new(&cfg);
	assert_non_null(s);
	struct rw_endpoint ce = {0}, se = {0};
	rw_session_open(s, 1000, &ce, &se);
	rw_session_data(s, RW_S2C, 2000, (const uint8_t *)"\x17\x03\x03\x00\x01\x00", 6);
	rw_session_fin(s, RW_S2C, 5000);
	rw_session_inferred(s, RW_C2S, 5000, RW_INFER_FIN, 0);
	rw_session_close(s, 6000);
	const struct rw_record *r = rw_session_record(s);
	assert_true(r->inferred_fin[RW_C2S]);
	assert_int_equal(r->first_close_dir, RW_C2S);
	rw_session_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_one_direction_client_only, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_one_direction_server_only, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_one_direction_not_claimed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_one_direction_server_only_hello_reset, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_one_direction_server_only_rst_acks_hello,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(test_one_direction_server_only_hello_timeout, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_one_direction_unseen_reset, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_one_direction_unseen_reset_not_inferred, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_one_direction_still_retransmitting, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_one_direction_client_only_refused, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_one_direction_client_only_bare_cc, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_inferred_fin_in_the_fin_packet, setup,
	                                        teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
