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

#include "capture.h"
#include "decode.h"
#include "session.h" /* rw_session_* for test_inferred_fin_in_the_fin_packet */
#include "testutil.h"
#include "tls_vectors.h"

/* ---- records the capture reports ----------------------------------------- */

#define MAX_RECS 16

static struct rw_record recs[MAX_RECS];
static size_t n_recs;

static void on_record(const struct rw_record *rec, void *arg)
{
	(void)arg;
	assert_true(n_recs < MAX_RECS);
	recs[n_recs] = *rec;
	recs[n_recs].token = NULL; /* owned by the session, freed after this call */
	n_recs++;
}

/* ---- synthetic packets ----------------------------------------------------- */

/* One TCP connection as the test script drives it. */
struct conn {
	int family;
	uint8_t caddr[16], saddr[16];
	uint16_t cport, sport;
	uint32_t cseq, sseq; /* next sequence number of each side */
	int cttl, sttl;
};

static uint64_t now_us = 1700000000ull * 1000000ull;

/* Where packets go: straight into the capture, or into a pcap file. */
static struct rw_capture *cap;
static pcap_dumper_t *dumper;

static void emit(const uint8_t *frame, size_t n)
{
	now_us += 1000;
	if (dumper) {
		struct pcap_pkthdr h = {.caplen = (bpf_u_int32)n, .len = (bpf_u_int32)n};
		h.ts.tv_sec = (time_t)(now_us / 1000000);
		h.ts.tv_usec = (suseconds_t)(now_us % 1000000);
		pcap_dump((u_char *)dumper, &h, frame);
	} else {
		rw_capture_packet(cap, RW_DLT_EN10MB, now_us, frame, n, n);
	}
}

/* A segment with explicit sequence numbers (for retransmissions and holes). */
static void seg_at(struct conn *c, bool from_client, uint8_t flags, uint32_t seq, uint32_t ack,
                   const void *data, size_t len, int ttl)
{
	static uint8_t f[2048];
	assert_true(len <= 1500);
	memset(f, 0, 14);
	f[0] = 2;
	f[6] = 2;
	size_t ip = 14, th;
	const uint8_t *src = from_client ? c->caddr : c->saddr;
	const uint8_t *dst = from_client ? c->saddr : c->caddr;
	if (c->family == AF_INET) {
		rw_test_put16(f + 12, 0x0800);
		memset(f + ip, 0, 20);
		f[ip] = 0x45;
		rw_test_put16(f + ip + 2, (uint16_t)(20 + 20 + len));
		f[ip + 8] = (uint8_t)ttl;
		f[ip + 9] = 6;
		memcpy(f + ip + 12, src, 4);
		memcpy(f + ip + 16, dst, 4);
		th = ip + 20;
	} else {
		rw_test_put16(f + 12, 0x86DD);
		memset(f + ip, 0, 40);
		f[ip] = 0x60;
		rw_test_put16(f + ip + 4, (uint16_t)(20 + len));
		f[ip + 6] = 6;
		f[ip + 7] = (uint8_t)ttl;
		memcpy(f + ip + 8, src, 16);
		memcpy(f + ip + 24, dst, 16);
		th = ip + 40;
	}
	memset(f + th, 0, 20);
	rw_test_put16(f + th, from_client ? c->cport : c->sport);
	rw_test_put16(f + th + 2, from_client ? c->sport : c->cport);
	rw_test_put32(f + th + 4, seq);
	rw_test_put32(f + th + 8, ack);
	f[th + 12] = 5 << 4;
	f[th + 13] = flags;
	rw_test_put16(f + th + 14, 65535);
	if (len)
		memcpy(f + th + 20, data, len);
	emit(f, th + 20 + len);
}

/* A segment in sequence, acknowledging everything the peer sent. */
static void seg(struct conn *c, bool from_client, uint8_t flags, const void *data, size_t len)
{
	uint32_t *mine = from_client ? &c->cseq : &c->sseq;
	uint32_t peer = from_client ? c->sseq : c->cseq;
	uint8_t fl = flags;
	if (!(flags & RW_TCP_SYN))
		fl |= RW_TCP_ACK; /* only a SYN acknowledges nothing */
	seg_at(c, from_client, fl, *mine, (fl & RW_TCP_ACK) ? peer : 0, data, len,
	       from_client ? c->cttl : c->sttl);
	*mine += (uint32_t)len + ((flags & RW_TCP_SYN) ? 1 : 0) + ((flags & RW_TCP_FIN) ? 1 : 0);
}

static struct conn conn4(uint8_t client_last, uint16_t cport, uint16_t sport)
{
	struct conn c = {.family = AF_INET, .cport = cport, .sport = sport};
	uint8_t ca[4] = {10, 0, 0, client_last}, sa[4] = {10, 0, 1, 2};
	memcpy(c.caddr, ca, 4);
	memcpy(c.saddr, sa, 4);
	c.cseq = 0x10000000u + cport;
	c.sseq = 0xFFFFFF00u; /* the server's stream wraps 2^32 */
	c.cttl = 128;
	c.sttl = 64;
	return c;
}

static void handshake(struct conn *c)
{
	seg(c, true, RW_TCP_SYN, NULL, 0);
	seg(c, false, RW_TCP_SYN | RW_TCP_ACK, NULL, 0);
	seg(c, true, RW_TCP_ACK, NULL, 0);
}

/* The client's SYN and handshake ACK; the SYN-ACK is not captured. */
static void handshake_client_only(struct conn *c)
{
	seg(c, true, RW_TCP_SYN, NULL, 0);
	c->sseq += 1;
	seg(c, true, RW_TCP_ACK, NULL, 0);
}

static void close_both(struct conn *c)
{
	seg(c, true, RW_TCP_FIN, NULL, 0);
	seg(c, false, RW_TCP_FIN, NULL, 0);
	seg(c, true, RW_TCP_ACK, NULL, 0);
}

/* X.224 Connection Request with RDP_NEG_REQ (SSL | HYBRID) and Connection
 * Confirms selecting SSL or standard RDP security. */
static const uint8_t cr[] = {0x03, 0x00, 0x00, 0x13, 0x0e, 0xe0, 0x00, 0x00, 0x00, 0x00,
                             0x00, 0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00};
static const uint8_t cc_ssl[] = {0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00, 0x00, 0x12, 0x34,
                                 0x00, 0x02, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00};
static const uint8_t cc_rdp[] = {0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00, 0x00, 0x12, 0x34,
                                 0x00, 0x02, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00};

static int setup(void **state)
{
	(void)state;
	n_recs = 0;
	dumper = NULL;
	struct rw_capture_config cfg;
	rw_capture_config_defaults(&cfg);
	cap = rw_capture_new(&cfg, on_record, NULL);
	assert_non_null(cap);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rw_capture_free(cap);
	cap = NULL;
	return 0;
}

static void new_capture(const struct rw_capture_config *cfg)
{
	rw_capture_free(cap);
	cap = rw_capture_new(cfg, on_record, NULL);
	assert_non_null(cap);
}

static void check_endpoints(const struct rw_record *r, const struct conn *c)
{
	assert_int_equal(r->client.family, c->family);
	assert_int_equal(r->client.port, c->cport);
	assert_int_equal(r->server.port, c->sport);
	assert_memory_equal(r->client.addr, c->caddr, c->family == AF_INET ? 4 : 16);
	assert_memory_equal(r->server.addr, c->saddr, c->family == AF_INET ? 4 : 16);
}

/* ---- tests -------------------------------------------------------------------- */

static void test_full_connection(void **state)
{
	(void)state;
	struct conn c = conn4(1, 50000, 3389);
	handshake(&c);
	seg(&c, true, RW_TCP_PSH, cr, sizeof(cr));
	seg(&c, false, RW_TCP_PSH, cc_ssl, sizeof(cc_ssl));
	close_both(&c);
	/* Reported at the second FIN, before the input ends. */
	assert_int_equal(n_recs, 1);
	rw_capture_finish(cap);
	assert_int_equal(n_recs, 1);
	const struct rw_record *r = &recs[0];
	check_endpoints(r, &c);
	assert_true(r->saw_syn);
	assert_true(r->saw_synack);
	assert_false(r->midstream);
	assert_true(r->cr_seen);
	assert_true(r->cc_seen);
	assert_int_equal(r->bytes[RW_C2S], sizeof(cr));
	assert_int_equal(r->bytes[RW_S2C], sizeof(cc_ssl));
	assert_true(r->fin_seen[RW_C2S]);
	assert_true(r->fin_seen[RW_S2C]);
	assert_false(r->rst_seen[RW_C2S] || r->rst_seen[RW_S2C]);
	assert_true(r->fin_ts_us[RW_C2S] < r->fin_ts_us[RW_S2C]);
	assert_int_equal(r->connect_failed, 0);
	assert_int_equal(r->tcp[RW_C2S].packets, 4); /* SYN, ACK, CR, FIN */
	assert_int_equal(r->tcp[RW_S2C].packets, 3);
	assert_int_equal(r->tcp[RW_C2S].retransmits, 0);
	assert_int_equal(r->tcp[RW_S2C].gaps, 0);
	assert_int_equal(r->ttl_lo[RW_C2S], 128);
	assert_int_equal(r->ttl_lo[RW_S2C], 64);
	assert_int_equal(r->id, 1);
	const struct rw_capture_stats *st = rw_capture_stats(cap);
	assert_int_equal(st->flows, 1);
	assert_int_equal(st->records, 1);

	/* The final ACK came after the report: it must not start a flow. */
	assert_int_equal(st->packets, 8);
}

static void test_synack_orientation(void **state)
{
	(void)state;
	/* Server on a listed port that is not 3389, SYN not captured. */
	struct rw_capture_config cfg;
	rw_capture_config_defaults(&cfg);
	cfg.ports[0] = 40000;
	cfg.detect_any_port = false;
	new_capture(&cfg);
	struct conn c = conn4(3, 40001, 40000); /* both ports look alike */
	seg(&c, false, RW_TCP_SYN | RW_TCP_ACK, NULL, 0);
	seg(&c, true, RW_TCP_ACK, NULL, 0);
	seg(&c, true, RW_TCP_PSH, cr, sizeof(cr));
	rw_capture_finish(cap);
	assert_int_equal(n_recs, 1);
	check_endpoints(&recs[0], &c);
	assert_false(recs[0].saw_syn);
	assert_true(recs[0].saw_synack);
	assert_int_equal(recs[0].bytes[RW_C2S], sizeof(cr));
}

static void test_midstream_orientation_by_port(void **state)
{
	(void)state;
	struct conn c = conn4(4, 51000, 3389);
	uint8_t data[100];
	memset(data, 0x17, sizeof(data));
	/* The server speaks first in the capture. */
	seg(&c, false, RW_TCP_PSH, data, sizeof(data));
	seg(&c, true, RW_TCP_PSH, data, 40);
	rw_capture_finish(cap);
	assert_int_equal(n_recs, 1);
	check_endpoints(&recs[0], &c);
	assert_true(recs[0].midstream);
	assert_false(recs[0].saw_syn);
	assert_int_equal(recs[0].bytes[RW_S2C], 100);
	assert_int_equal(recs[0].bytes[RW_C2S], 40);
	assert_false(recs[0].fin_seen[0] || recs[0].fin_seen[1]);
}

static void test_any_port_detection(void **state)
{
	(void)state;
	/* RDP on port 13389: found by its Connection Request, sent in two
	 * pieces; the sender is the client even though it spoke second in the
	 * capture's view of ports. */
	struct conn rdp = conn4(5, 52000, 13389);
	seg(&rdp, true, RW_TCP_PSH, cr, 3);
	seg(&rdp, true, RW_TCP_PSH, cr + 3, sizeof(cr) - 3);
	seg(&rdp, false, RW_TCP_PSH, cc_ssl, sizeof(cc_ssl));
	/* HTTP on 8080, with a handshake: dropped at its first payload. */
	struct conn web = conn4(6, 53000, 8080);
	handshake(&web);
	static const char get[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	seg(&web, true, RW_TCP_PSH, get, sizeof(get) - 1);
	seg(&web, false, RW_TCP_PSH, "HTTP/1.1 200 OK\r\n\r\n", 19);
	close_both(&web);
	/* A TPKT that is not a CR (X.224 Data) is not a new RDP connection. */
	struct conn dt = conn4(7, 54000, 23389);
	static const uint8_t tpkt_dt[] = {0x03, 0x00, 0x00, 0x0c, 0x02, 0xf0,
	                                  0x80, 0x7f, 0x65, 0x00, 0x00, 0x00};
	seg(&dt, true, RW_TCP_PSH, tpkt_dt, sizeof(tpkt_dt));
	/* The server side of a flow sending a CR-looking thing after a SYN from
	 * the other side is not an RDP client. */
	struct conn odd = conn4(8, 55000, 33389);
	handshake(&odd);
	seg(&odd, false, RW_TCP_PSH, cr, sizeof(cr));
	rw_capture_finish(cap);
	assert_int_equal(n_recs, 1);
	check_endpoints(&recs[0], &rdp);
	assert_true(recs[0].cr_seen);
	assert_true(recs[0].cc_seen);
	assert_int_equal(recs[0].bytes[RW_C2S], sizeof(cr));
	assert_int_equal(recs[0].bytes[RW_S2C], sizeof(cc_ssl));
	const struct rw_capture_stats *st = rw_capture_stats(cap);
	assert_int_equal(st->ignored_flows, 3);
	assert_int_equal(st->flows, 1);

	/* Without detect_any_port, only listed ports count. */
	struct rw_capture_config cfg;
	rw_capture_config_defaults(&cfg);
	cfg.detect_any_port = false;
	new_capture(&cfg);
	n_recs = 0;
	struct conn rdp2 = conn4(9, 52001, 13389);
	handshake(&rdp2);
	seg(&rdp2, true, RW_TCP_PSH, cr, sizeof(cr));
	rw_capture_finish(cap);
	assert_int_equal(n_recs, 0);
	assert_int_equal(rw_capture_stats(cap)->flows, 0);
}

static void test_any_port_with_handshake(void **state)
{
	(void)state;
	struct conn c = conn4(10, 56000, 3390);
	handshake(&c);
	seg(&c, true, RW_TCP_PSH, cr, sizeof(cr));
	seg(&c, false, RW_TCP_PSH, cc_ssl, sizeof(cc_ssl));
	close_both(&c);
	assert_int_equal(n_recs, 1);
	check_endpoints(&recs[0], &c);
	assert_true(recs[0].saw_syn);
	assert_true(recs[0].saw_synack);
	assert_int_equal(recs[0].ttl_lo[RW_C2S], 128);
	assert_int_equal(recs[0].ttl_lo[RW_S2C], 64);
	assert_true(recs[0].fin_seen[RW_C2S] && recs[0].fin_seen[RW_S2C]);
}

static void test_refused(void **state)
{
	(void)state;
	struct conn c = conn4(11, 57000, 3389);
	seg(&c, true, RW_TCP_SYN, NULL, 0);
	c.sttl = 250;
	seg(&c, false, RW_TCP_RST | RW_TCP_ACK, NULL, 0);
	assert_int_equal(n_recs, 1);
	const struct rw_record *r = &recs[0];
	check_endpoints(r, &c);
	assert_int_equal(r->connect_failed, RW_CLOSE_REFUSED);
	assert_true(r->rst_seen[RW_S2C]);
	assert_int_equal(r->rst_ttl[RW_S2C], 250);
	assert_false(r->saw_synack);
	/* The client tries again from the same port: a new connection. */
	c.cseq += 1000;
	seg(&c, true, RW_TCP_SYN, NULL, 0);
	seg(&c, false, RW_TCP_RST | RW_TCP_ACK, NULL, 0);
	assert_int_equal(n_recs, 2);
	assert_int_equal(recs[1].connect_failed, RW_CLOSE_REFUSED);
	assert_int_equal(recs[1].id, 2);
}

static void test_unanswered_syn(void **state)
{
	(void)state;
	struct conn c = conn4(12, 58000, 3389);
	for (int i = 0; i < 3; i++) {
		seg_at(&c, true, RW_TCP_SYN, c.cseq, 0, NULL, 0, 128);
		now_us += 1000000ull << i;
	}
	struct conn once = conn4(13, 58001, 3389);
	seg(&once, true, RW_TCP_SYN, NULL, 0);
	rw_capture_finish(cap);
	assert_int_equal(n_recs, 2);
	/* Least recently active first. */
	check_endpoints(&recs[0], &c);
	assert_int_equal(recs[0].connect_failed, RW_CLOSE_UNREACHABLE);
	assert_true(recs[0].saw_syn);
	check_endpoints(&recs[1], &once);
	assert_int_equal(recs[1].connect_failed, 0);
}

static bool has_evidence(const struct rw_record *r, const char *needle)
{
	for (size_t i = 0; i < r->verdict.n_evidence; i++)
		if (strstr(r->verdict.evidence[i], needle))
			return true;
	return false;
}

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
	size_t n = rw_test_hex(ch_tls12, hello_min + 9, sizeof(hello_min) - 9);
	assert_true(n > 0);
	const uint8_t head[9] = {0x16, 0x03, 0x01, (uint8_t)((n + 4) >> 8), (uint8_t)(n + 4),
	                         0x01, 0x00, (uint8_t)(n >> 8), (uint8_t)n};
	memcpy(hello_min, head, sizeof(head));
	hello_len = n + 9;
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
		seg_at(c, true, RW_TCP_PSH | RW_TCP_ACK, ch_seq, c->sseq, hello_min,
		       hello_len, c->cttl);
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
	seg_at(&c, true, RW_TCP_PSH | RW_TCP_ACK, ch_seq, c.sseq, hello_min, hello_len,
	       c.cttl);
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

/* A SYN proxy (iptables SYNPROXY, a balancer, SYN cookies on a firewall)
 * answers the SYN from its own hop distance; the host's own packets and its
 * own RST come from further away. That RST is the host's, not injected
 * (issue #10 item 4), and the record says a SYN proxy answered. */
static void test_syn_proxy_ttl(void **state)
{
	(void)state;
	struct conn c = conn4(15, 59100, 3389);
	seg(&c, true, RW_TCP_SYN, NULL, 0);
	c.sttl = 64; /* the proxy's SYN-ACK */
	seg(&c, false, RW_TCP_SYN | RW_TCP_ACK, NULL, 0);
	seg(&c, true, RW_TCP_ACK, NULL, 0);
	c.sttl = 61; /* the host, three hops further */
	seg(&c, true, RW_TCP_PSH, cr, sizeof(cr));
	seg(&c, false, RW_TCP_PSH, cc_ssl, sizeof(cc_ssl));
	seg(&c, true, RW_TCP_ACK, NULL, 0);
	seg_at(&c, false, RW_TCP_RST, c.sseq, 0, NULL, 0, 61);
	assert_int_equal(n_recs, 1);
	const struct rw_record *r = &recs[0];
	assert_int_equal(r->syn_ttl[RW_S2C], 64);
	assert_int_equal(r->ttl_lo[RW_S2C], 61);
	assert_int_equal(r->verdict.cause, RW_CAUSE_RESET_BY_SERVER);
	bool said = false;
	for (size_t i = 0; i < r->verdict.n_evidence; i++)
		said |= strstr(r->verdict.evidence[i], "SYN-ACK has TTL 64, the server's other "
		                                       "packets TTL 61: a SYN proxy") != NULL;
	assert_true(said);
	/* And a reset forged by a device nearer than the host is still one. */
	struct conn d = conn4(16, 59101, 3389);
	d.sttl = 61;
	handshake(&d);
	seg(&d, true, RW_TCP_PSH, cr, sizeof(cr));
	seg(&d, false, RW_TCP_PSH, cc_ssl, sizeof(cc_ssl));
	seg_at(&d, false, RW_TCP_RST, d.sseq, 0, NULL, 0, 63);
	assert_int_equal(n_recs, 2);
	assert_int_equal(recs[1].verdict.cause, RW_CAUSE_RESET_INJECTED);
}

/* iptables SYNPROXY also sends the window update that ends its handshake with
 * the host, a bare ACK from the host's address and its own hop distance. Bare
 * ACKs are not the baseline once the host sent data: its data and its own
 * RST share one TTL, and the SYN-ACK's differs (the lab's 14_synproxy_path). */
static void test_synproxy_window_update(void **state)
{
	(void)state;
	struct conn c = conn4(17, 59102, 3389);
	seg(&c, true, RW_TCP_SYN, NULL, 0);
	c.sttl = 64; /* the middlebox's SYN-ACK */
	seg(&c, false, RW_TCP_SYN | RW_TCP_ACK, NULL, 0);
	seg(&c, true, RW_TCP_ACK, NULL, 0);
	seg(&c, false, RW_TCP_ACK, NULL, 0); /* its window update */
	c.sttl = 63;                         /* the host, one router further */
	seg(&c, false, RW_TCP_ACK, NULL, 0);
	seg(&c, true, RW_TCP_PSH, cr, sizeof(cr));
	seg(&c, false, RW_TCP_PSH, cc_ssl, sizeof(cc_ssl));
	seg(&c, true, RW_TCP_ACK, NULL, 0);
	seg(&c, false, RW_TCP_RST, NULL, 0);
	assert_int_equal(n_recs, 1);
	const struct rw_record *r = &recs[0];
	assert_int_equal(r->ttl_lo[RW_S2C], 63);
	assert_int_equal(r->ttl_hi[RW_S2C], 63);
	assert_int_equal(r->verdict.cause, RW_CAUSE_RESET_BY_SERVER);
	assert_true(has_evidence(
	        r, "SYN-ACK has TTL 64, the server's other packets TTL 63: a SYN proxy"));
}

/* An RDP-aware firewall (iptables -m string "Cookie: mstshash" -j REJECT
 * --reject-with tcp-reset) resets right after the request: the host sent only
 * its SYN-ACK, from further away than the firewall's RST (the lab's
 * 15_rdp_firewall_path). Nearer than what answered the handshake: injected.
 * An RST from further away than the SYN-ACK is not (a SYN proxy answered). */
static void test_rst_nearer_than_synack(void **state)
{
	(void)state;
	struct conn c = conn4(18, 59103, 3389);
	c.sttl = 63;
	handshake(&c);
	seg(&c, true, RW_TCP_PSH, cr, sizeof(cr));
	seg_at(&c, false, RW_TCP_RST, c.sseq, 0, NULL, 0, 64);
	assert_int_equal(n_recs, 1);
	assert_int_equal(recs[0].ttl_lo[RW_S2C], -1);
	assert_int_equal(recs[0].verdict.cause, RW_CAUSE_RESET_INJECTED);
	assert_int_equal(recs[0].verdict.phase, RW_PHASE_X224);
	assert_true(has_evidence(&recs[0], "TTL 64, its SYN-ACK TTL 63: sent from nearer"));
	struct conn d = conn4(19, 59104, 3389);
	d.sttl = 64;
	handshake(&d);
	seg(&d, true, RW_TCP_PSH, cr, sizeof(cr));
	seg_at(&d, false, RW_TCP_RST, d.sseq, 0, NULL, 0, 61);
	assert_int_equal(n_recs, 2);
	assert_int_not_equal(recs[1].verdict.cause, RW_CAUSE_RESET_INJECTED);
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

static void test_rst_midway(void **state)
{
	(void)state;
	struct conn c = conn4(14, 59000, 3389);
	handshake(&c);
	seg(&c, true, RW_TCP_PSH, cr, sizeof(cr));
	/* The CC is lost to the capture, but the client's ACK shows the
	 * server sent it; then a reset from "the server" with another TTL. */
	c.sseq += sizeof(cc_ssl);
	seg(&c, true, RW_TCP_ACK, NULL, 0);
	seg_at(&c, false, RW_TCP_RST, c.sseq, 0, NULL, 0, 49);
	assert_int_equal(n_recs, 1);
	const struct rw_record *r = &recs[0];
	assert_true(r->rst_seen[RW_S2C]);
	assert_int_equal(r->rst_ttl[RW_S2C], 49);
	/* The server's only other packet was its SYN-ACK, which a SYN proxy may
	 * have sent: it is not a baseline for judging the RST. */
	assert_int_equal(r->syn_ttl[RW_S2C], 64);
	assert_int_equal(r->ttl_lo[RW_S2C], -1);
	assert_int_equal(r->ttl_hi[RW_S2C], -1);
	assert_int_equal(r->connect_failed, 0);
	assert_int_equal(r->tcp[RW_S2C].gaps, 1);
	assert_int_equal(r->tcp[RW_S2C].gap_bytes, sizeof(cc_ssl));
	/* Late packets of the reset connection are swallowed. */
	seg(&c, true, RW_TCP_PSH, cr, sizeof(cr));
	rw_capture_finish(cap);
	assert_int_equal(n_recs, 1);
}

static void test_reordered_and_retransmitted(void **state)
{
	(void)state;
	struct conn c = conn4(15, 60000, 3389);
	handshake(&c);
	/* The CR in three pieces, the last first, the first twice. */
	uint32_t s0 = c.cseq;
	seg_at(&c, true, RW_TCP_ACK, s0 + 12, c.sseq, cr + 12, sizeof(cr) - 12, 128);
	seg_at(&c, true, RW_TCP_ACK, s0, c.sseq, cr, 6, 128);
	seg_at(&c, true, RW_TCP_ACK, s0, c.sseq, cr, 6, 128);
	seg_at(&c, true, RW_TCP_ACK, s0 + 6, c.sseq, cr + 6, 6, 128);
	c.cseq += sizeof(cr);
	seg(&c, false, RW_TCP_PSH, cc_ssl, sizeof(cc_ssl));
	close_both(&c);
	assert_int_equal(n_recs, 1);
	const struct rw_record *r = &recs[0];
	assert_true(r->cr_seen);
	assert_true(r->cc_seen);
	assert_int_equal(r->bytes[RW_C2S], sizeof(cr));
	assert_int_equal(r->tcp[RW_C2S].retransmits, 1);
	assert_int_equal(r->tcp[RW_C2S].gaps, 0);
}

/* After standard RDP security is negotiated the session stops inspecting:
 * the capture only counts bytes, out of order ones included. */
static void test_counting_after_inspection(void **state)
{
	(void)state;
	struct conn c = conn4(16, 61000, 3389);
	handshake(&c);
	seg(&c, true, RW_TCP_PSH, cr, sizeof(cr));
	seg(&c, false, RW_TCP_PSH, cc_rdp, sizeof(cc_rdp));
	uint8_t mcs[1000];
	memset(mcs, 0x42, sizeof(mcs));
	seg(&c, true, RW_TCP_PSH, mcs, 500);
	uint32_t hole = c.cseq;
	c.cseq += 300;
	seg(&c, true, RW_TCP_PSH, mcs, 700); /* ahead of the hole */
	seg_at(&c, true, RW_TCP_ACK, hole, c.sseq, mcs, 300, 128);
	seg(&c, false, RW_TCP_PSH, mcs, 1000);
	close_both(&c);
	assert_int_equal(n_recs, 1);
	const struct rw_record *r = &recs[0];
	assert_int_equal(r->bytes[RW_C2S], sizeof(cr) + 1500);
	assert_int_equal(r->bytes[RW_S2C], sizeof(cc_rdp) + 1000);
	assert_int_equal(r->tcp[RW_C2S].gaps, 0);
	assert_true(r->fin_seen[RW_C2S] && r->fin_seen[RW_S2C]);
}

/* The certificate flight in full-size segments never reaches the client:
 * retransmitted, never acknowledged. */
static void test_mtu_blackhole(void **state)
{
	(void)state;
	struct conn c = conn4(17, 62000, 3389);
	handshake(&c);
	seg(&c, true, RW_TCP_PSH, cr, sizeof(cr));
	seg(&c, false, RW_TCP_PSH, cc_ssl, sizeof(cc_ssl));
	static const uint8_t hello[] = {0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00};
	seg(&c, true, RW_TCP_PSH, hello, sizeof(hello));
	uint8_t big[1400];
	memset(big, 0x16, sizeof(big));
	uint32_t s0 = c.sseq;
	for (int t = 0; t < 3; t++)
		for (uint32_t i = 0; i < 3; i++)
			seg_at(&c, false, RW_TCP_ACK, s0 + i * 1400, c.cseq, big, sizeof(big), 64);
	c.sseq = s0 + 3 * 1400;
	/* The client keeps acknowledging only what it got before. */
	seg_at(&c, true, RW_TCP_ACK, c.cseq, s0, NULL, 0, 128);
	seg_at(&c, true, RW_TCP_RST | RW_TCP_ACK, c.cseq, s0, NULL, 0, 128);
	assert_int_equal(n_recs, 1);
	const struct rw_record *r = &recs[0];
	assert_int_equal(r->tcp[RW_S2C].max_segment, 1400);
	assert_int_equal(r->tcp[RW_S2C].retransmits, 6);
	assert_int_equal(r->tcp[RW_S2C].large_unacked_retransmits, 3);
	assert_int_equal(r->tcp[RW_C2S].large_unacked_retransmits, 0);
	assert_true(r->rst_seen[RW_C2S]);
}

static void test_eviction(void **state)
{
	(void)state;
	struct rw_capture_config cfg;
	rw_capture_config_defaults(&cfg);
	cfg.max_flows = 2;
	new_capture(&cfg);
	struct conn a = conn4(20, 40000, 3389), b = conn4(21, 40001, 3389),
	            d = conn4(22, 40002, 3389);
	handshake(&a);
	seg(&a, true, RW_TCP_PSH, cr, sizeof(cr));
	handshake(&b);
	seg(&a, true, RW_TCP_PSH, cr, 5); /* a is now more recent than b */
	handshake(&d);
	assert_int_equal(n_recs, 1);
	check_endpoints(&recs[0], &b);
	assert_true(recs[0].saw_synack);
	assert_int_equal(rw_capture_stats(cap)->evicted, 1);
	/* Closed flows' tombstones go before live connections. */
	close_both(&a);
	assert_int_equal(n_recs, 2);
	struct conn e = conn4(23, 40003, 3389);
	handshake(&e);
	assert_int_equal(n_recs, 2);
	assert_int_equal(rw_capture_stats(cap)->evicted, 1);
	rw_capture_finish(cap);
	assert_int_equal(n_recs, 4);
	check_endpoints(&recs[2], &d);
	check_endpoints(&recs[3], &e);
}

static void test_expiry(void **state)
{
	(void)state;
	struct rw_capture_config cfg;
	rw_capture_config_defaults(&cfg);
	cfg.idle_timeout_us = 10 * 1000000ull;
	new_capture(&cfg);
	struct conn a = conn4(30, 41000, 3389), b = conn4(31, 41001, 3389);
	handshake(&a);
	seg(&a, true, RW_TCP_PSH, cr, sizeof(cr));
	now_us += 5 * 1000000ull;
	handshake(&b);
	assert_int_equal(n_recs, 0);
	now_us += 6 * 1000000ull;
	seg(&b, true, RW_TCP_PSH, cr, sizeof(cr)); /* a idle 11 s, b 6 s */
	assert_int_equal(n_recs, 1);
	check_endpoints(&recs[0], &a);
	assert_true(recs[0].cr_seen);
	assert_false(recs[0].fin_seen[0] || recs[0].fin_seen[1]);
	assert_int_equal(rw_capture_stats(cap)->expired, 1);
	/* Driven from outside (a live capture's clock). */
	rw_capture_expire(cap, now_us + 10 * 1000000ull);
	assert_int_equal(n_recs, 2);
	check_endpoints(&recs[1], &b);
	rw_capture_finish(cap);
	assert_int_equal(n_recs, 2);
}

static void test_ipv6_flow(void **state)
{
	(void)state;
	struct conn c = conn4(40, 42000, 3389);
	c.family = AF_INET6;
	memset(c.caddr, 0, 16);
	memset(c.saddr, 0, 16);
	c.caddr[0] = c.saddr[0] = 0x20;
	c.caddr[1] = c.saddr[1] = 0x01;
	c.caddr[15] = 9; /* the client has the higher address */
	c.saddr[15] = 1;
	handshake(&c);
	seg(&c, true, RW_TCP_PSH, cr, sizeof(cr));
	close_both(&c);
	assert_int_equal(n_recs, 1);
	check_endpoints(&recs[0], &c);
	assert_int_equal(recs[0].ttl_lo[RW_C2S], 128);
}

static void test_decode_stats(void **state)
{
	(void)state;
	uint8_t arp[42] = {0};
	arp[12] = 0x08;
	arp[13] = 0x06;
	rw_capture_packet(cap, RW_DLT_EN10MB, now_us, arp, sizeof(arp), sizeof(arp));
	rw_capture_packet(cap, RW_DLT_EN10MB, now_us, arp, 10, 60);
	rw_capture_packet(cap, 12345, now_us, arp, sizeof(arp), sizeof(arp));
	const struct rw_capture_stats *st = rw_capture_stats(cap);
	assert_int_equal(st->packets, 3);
	assert_int_equal(st->bytes, 42 + 60 + 42);
	assert_int_equal(st->non_ip, 1);
	assert_int_equal(st->truncated, 1);
	assert_int_equal(st->decode_errors, 2);
}

/* ---- pcap files ------------------------------------------------------------------ */

static char tmpdir[] = "/tmp/rw_test_flow_XXXXXX";

static void write_sample(const char *path)
{
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	assert_non_null(dead);
	dumper = pcap_dump_open(dead, path);
	assert_non_null(dumper);
	struct conn c = conn4(50, 43000, 3389);
	handshake(&c);
	seg(&c, true, RW_TCP_PSH, cr, sizeof(cr));
	seg(&c, false, RW_TCP_PSH, cc_ssl, sizeof(cc_ssl));
	close_both(&c);
	struct conn d = conn4(51, 43001, 3389);
	seg(&d, true, RW_TCP_SYN, NULL, 0);
	seg(&d, false, RW_TCP_RST | RW_TCP_ACK, NULL, 0);
	pcap_dump_close(dumper);
	pcap_close(dead);
	dumper = NULL;
}

static void replay(const char *path, const char *bpf, int want_rc, bool want_trunc, char *err)
{
	bool truncated = true;
	int rc = rw_pcap_replay(path, bpf, cap, &truncated, err, 512);
	assert_int_equal(rc, want_rc);
	if (rc == 0)
		assert_int_equal(truncated, want_trunc);
}

static void test_pcap_replay(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(tmpdir));
	char path[256], err[512];
	snprintf(path, sizeof(path), "%s/sample.pcap", tmpdir);
	write_sample(path);

	replay(path, NULL, 0, false, err);
	rw_capture_finish(cap);
	assert_int_equal(n_recs, 2);
	assert_true(recs[0].cr_seen && recs[0].cc_seen);
	assert_int_equal(recs[1].connect_failed, RW_CLOSE_REFUSED);

	/* A filter that keeps only the second connection. */
	n_recs = 0;
	replay(path, "tcp port 43001", 0, false, err);
	rw_capture_finish(cap);
	assert_int_equal(n_recs, 1);
	assert_int_equal(recs[0].client.port, 43001);
	replay(path, "this is not bpf", -1, false, err);
	assert_non_null(strstr(err, "this is not bpf"));

	/* Cut inside the last packet: the complete ones are delivered and the
	 * refused connection (its RST is the cut packet) still reported. */
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static uint8_t buf[8192];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	char cut[256];
	snprintf(cut, sizeof(cut), "%s/cut.pcap", tmpdir);
	f = fopen(cut, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, n - 10, f), n - 10);
	fclose(f);
	n_recs = 0;
	replay(cut, NULL, 0, true, err);
	assert_true(strlen(err) > 0);
	rw_capture_finish(cap);
	assert_int_equal(n_recs, 2);
	assert_int_equal(recs[1].client.port, 43001);
	assert_int_equal(recs[1].connect_failed, 0); /* the RST was cut off */

	/* Not a capture, and no file at all: errors naming the file. */
	char junk[256];
	snprintf(junk, sizeof(junk), "%s/junk.pcap", tmpdir);
	f = fopen(junk, "wb");
	assert_non_null(f);
	fputs("this is not a capture file at all\n", f);
	fclose(f);
	replay(junk, NULL, -1, false, err);
	assert_non_null(strstr(err, junk));
	char missing[256];
	snprintf(missing, sizeof(missing), "%s/missing.pcap", tmpdir);
	replay(missing, NULL, -1, false, err);
	assert_non_null(strstr(err, missing));

	unlink(path);
	unlink(cut);
	unlink(junk);
	rmdir(tmpdir);
}

/* pcapng, written by hand: libpcap reads it but cannot write it. */
static size_t ng_block(uint8_t *out, uint32_t type, const uint8_t *body, size_t len)
{
	size_t padded = (len + 3) & ~(size_t)3;
	uint32_t total = (uint32_t)(12 + padded);
	memcpy(out, &type, 4);
	memcpy(out + 4, &total, 4);
	memcpy(out + 8, body, len);
	memset(out + 8 + len, 0, padded - len);
	memcpy(out + 8 + padded, &total, 4);
	return total;
}

static uint8_t ng_buf[16384];
static size_t ng_len;

static void ng_packet(const uint8_t *frame, size_t n)
{
	uint8_t body[2048];
	uint32_t v[5] = {0, (uint32_t)(now_us >> 32), (uint32_t)now_us, (uint32_t)n, (uint32_t)n};
	memcpy(body, v, 20);
	memcpy(body + 20, frame, n);
	ng_len += ng_block(ng_buf + ng_len, 6, body, 20 + n);
}

static void test_pcapng_replay(void **state)
{
	(void)state;
	char dir[] = "/tmp/rw_test_ng_XXXXXX";
	assert_non_null(mkdtemp(dir));
	ng_len = 0;
	/* Section header: byte-order magic, version 1.0, unknown length; all in
	 * host order, as the magic tells the reader. */
	uint8_t shb[16];
	uint32_t magic = 0x1A2B3C4D;
	uint16_t major = 1, minor = 0;
	memcpy(shb, &magic, 4);
	memcpy(shb + 4, &major, 2);
	memcpy(shb + 6, &minor, 2);
	memset(shb + 8, 0xff, 8);
	ng_len += ng_block(ng_buf, 0x0A0D0D0A, shb, sizeof(shb));
	uint8_t idb[8] = {0}; /* LINKTYPE_ETHERNET, reserved, snaplen 0 */
	uint16_t linktype = 1;
	memcpy(idb, &linktype, 2);
	ng_len += ng_block(ng_buf + ng_len, 1, idb, sizeof(idb));

	/* Record the frames instead of feeding them. */
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	char tmp[256];
	snprintf(tmp, sizeof(tmp), "%s/frames.pcap", dir);
	dumper = pcap_dump_open(dead, tmp);
	assert_non_null(dumper);
	struct conn c = conn4(60, 44000, 3389);
	handshake(&c);
	seg(&c, true, RW_TCP_PSH, cr, sizeof(cr));
	close_both(&c);
	pcap_dump_close(dumper);
	dumper = NULL;
	pcap_close(dead);
	char ebuf[PCAP_ERRBUF_SIZE];
	pcap_t *rd = pcap_open_offline(tmp, ebuf);
	assert_non_null(rd);
	struct pcap_pkthdr *h;
	const u_char *d;
	while (pcap_next_ex(rd, &h, &d) == 1) {
		now_us = (uint64_t)h->ts.tv_sec * 1000000 + (uint64_t)h->ts.tv_usec;
		ng_packet(d, h->caplen);
	}
	pcap_close(rd);

	char path[256];
	snprintf(path, sizeof(path), "%s/sample.pcapng", dir);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(ng_buf, 1, ng_len, f), ng_len);
	fclose(f);
	char err[512];
	replay(path, NULL, 0, false, err);
	rw_capture_finish(cap);
	assert_int_equal(n_recs, 1);
	check_endpoints(&recs[0], &c);
	assert_true(recs[0].cr_seen);
	assert_true(recs[0].fin_seen[RW_C2S] && recs[0].fin_seen[RW_S2C]);
	unlink(tmp);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_full_connection, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_synack_orientation, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_midstream_orientation_by_port, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_any_port_detection, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_any_port_with_handshake, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_unanswered_syn, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_rst_midway, setup, teardown),
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
	        cmocka_unit_test_setup_teardown(test_syn_proxy_ttl, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_synproxy_window_update, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_rst_nearer_than_synack, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_inferred_fin_in_the_fin_packet, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_reordered_and_retransmitted, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_counting_after_inspection, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_mtu_blackhole, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_eviction, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_ipv6_flow, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_decode_stats, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_pcap_replay, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_pcapng_replay, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
