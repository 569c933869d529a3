/* The flow table: orientation, any-port detection, refused and unanswered
 * connections, resets, reordering, counting, MTU black holes, eviction,
 * expiry, IPv6, decode counters, and pcap / pcapng replay. One-direction
 * captures are in test_one_direction.c, TTL checks in test_flow_ttl.c. */
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
#include "testutil.h"
#include "tls_vectors.h"

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

/* The hash table starts small and doubles as flows come (flow_table.c's
 * grow_table): 3,000 connections open at once, across three doublings, and
 * every later packet must still find its own flow. A lost flow would start
 * a second one mid-stream (flows > 3,000) or give a connection the wrong
 * bytes. */
struct grow_tally {
	size_t records, whole;
};

static void count_whole(const struct rw_record *r, void *arg)
{
	struct grow_tally *t = arg;
	t->records++;
	if (r->saw_syn && r->cr_seen && r->cc_seen && r->fin_seen[RW_C2S] && r->fin_seen[RW_S2C] &&
	    r->bytes[RW_C2S] == sizeof(cr) && r->bytes[RW_S2C] == sizeof(cc_ssl) && !r->midstream)
		t->whole++;
}

static void test_table_growth(void **state)
{
	(void)state;
	enum { N = 3000 };
	struct grow_tally t = {0, 0};
	struct rw_capture_config cfg;
	rw_capture_config_defaults(&cfg);
	rw_capture_free(cap);
	cap = rw_capture_new(&cfg, count_whole, &t);
	assert_non_null(cap);
	static struct conn conns[N];
	for (size_t i = 0; i < N; i++) {
		conns[i] = conn4((uint8_t)(1 + i / 250), (uint16_t)(20000 + i), 3389);
		handshake(&conns[i]);
		seg(&conns[i], true, RW_TCP_PSH, cr, sizeof(cr));
	}
	assert_int_equal(rw_capture_stats(cap)->flows, N);
	for (size_t i = 0; i < N; i++) {
		seg(&conns[i], false, RW_TCP_PSH, cc_ssl, sizeof(cc_ssl));
		close_both(&conns[i]);
	}
	rw_capture_finish(cap);
	assert_int_equal(t.records, N);
	assert_int_equal(t.whole, N);
	assert_int_equal(rw_capture_stats(cap)->flows, N);
}

/* A connection over leaves a tombstone (flow_table.c): its late packets
 * are swallowed for as long as they keep coming (the idle timeout counts
 * from the last one), a SYN on its 4-tuple starts a new connection with a
 * record of its own, and once quiet for the idle timeout it is gone, so
 * that a stray segment then is a connection seen mid-stream. Run with
 * flows from the heap and from replay's regions. */
static void tombstone_scenario(bool regions)
{
	struct rw_capture_config cfg;
	rw_capture_config_defaults(&cfg);
	cfg.idle_timeout_us = 10 * 1000000ull;
	cfg.flow_regions = regions;
	new_capture(&cfg);
	n_recs = 0;
	struct conn c = conn4(32, 42000, 3389);
	handshake(&c);
	seg(&c, true, RW_TCP_PSH, cr, sizeof(cr));
	seg(&c, false, RW_TCP_PSH, cc_ssl, sizeof(cc_ssl));
	close_both(&c);
	assert_int_equal(n_recs, 1);

	/* Late: a retransmitted FIN at 8 s, data at 16 s (8 s after it). */
	now_us += 8 * 1000000ull;
	seg_at(&c, false, RW_TCP_FIN | RW_TCP_ACK, c.sseq - 1, c.cseq, NULL, 0, 64);
	now_us += 8 * 1000000ull;
	seg_at(&c, true, RW_TCP_PSH | RW_TCP_ACK, c.cseq, c.sseq, cr, sizeof(cr), 128);
	assert_int_equal(n_recs, 1);

	/* The client connects again from the same port. */
	c.cseq += 100000;
	c.sseq += 200000;
	handshake(&c);
	seg(&c, true, RW_TCP_PSH, cr, sizeof(cr));
	seg(&c, false, RW_TCP_PSH, cc_rdp, sizeof(cc_rdp));
	close_both(&c);
	assert_int_equal(n_recs, 2);
	const struct rw_record *r = &recs[1];
	check_endpoints(r, &c);
	assert_int_equal(r->id, 2);
	assert_true(r->saw_syn && r->saw_synack);
	assert_false(r->midstream);
	assert_int_equal(r->tcp[RW_C2S].packets, 4); /* SYN, ACK, CR, FIN */
	assert_int_equal(r->tcp[RW_S2C].packets, 3);
	assert_int_equal(r->bytes[RW_S2C], sizeof(cc_rdp));
	assert_true(r->fin_seen[RW_C2S] && r->fin_seen[RW_S2C]);

	/* Quiet for 11 s, with another connection keeping the clock: the
	 * tombstone expires, and a segment on the 4-tuple is a new flow. */
	struct conn other = conn4(33, 42001, 3389);
	now_us += 11 * 1000000ull;
	handshake(&other);
	seg_at(&c, true, RW_TCP_PSH | RW_TCP_ACK, c.cseq, c.sseq, cr, sizeof(cr), 128);
	assert_int_equal(n_recs, 2);
	rw_capture_finish(cap);
	assert_int_equal(n_recs, 4);
	/* Least recently active first. */
	check_endpoints(&recs[2], &other);
	check_endpoints(&recs[3], &c);
	assert_true(recs[3].midstream);
	assert_false(recs[3].saw_syn);
	const struct rw_capture_stats *st = rw_capture_stats(cap);
	assert_int_equal(st->flows, 4);
	assert_int_equal(st->expired, 0);
}

static void test_tombstone(void **state)
{
	(void)state;
	tombstone_scenario(false);
	tombstone_scenario(true);
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

/* A connection quiet for 30 s in the middle of its ClientHello, while
 * another one keeps the capture clock going: its session is packed after
 * 10 s and unpacked by its next packet, and the record is the one the
 * whole exchange makes: the hello parsed across the gap, the server's
 * alert, both byte counts, the FINs. */
static void test_quiet_flow_packed(void **state)
{
	(void)state;
	uint8_t hello[600];
	size_t hello_len = client_hello_record(hello, sizeof(hello)), cut = 40;
	static const uint8_t alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28};

	struct conn a = conn4(40, 42000, 3389), b = conn4(41, 42001, 3389);
	handshake(&a);
	seg(&a, true, RW_TCP_PSH, cr, sizeof(cr));
	seg(&a, false, RW_TCP_PSH, cc_ssl, sizeof(cc_ssl));
	seg(&a, true, RW_TCP_PSH, hello, cut);
	handshake(&b);
	for (int i = 0; i < 30; i++) {
		now_us += 1000000ull;
		seg(&b, true, RW_TCP_ACK, NULL, 0);
	}
	assert_int_equal(rw_capture_stats(cap)->packed, 1);
	seg(&a, true, RW_TCP_PSH, hello + cut, hello_len - cut);
	seg(&a, false, RW_TCP_PSH, alert, sizeof(alert));
	close_both(&a);
	assert_int_equal(n_recs, 1);
	const struct rw_record *r = &recs[0];
	check_endpoints(r, &a);
	assert_true(r->cr_seen && r->cc_seen);
	assert_true(r->client_hello_seen);
	assert_true(r->ch.has_sni);
	assert_string_equal(r->ch.sni, "example.test");
	assert_true(r->alert[RW_S2C].seen);
	assert_int_equal(r->alert[RW_S2C].level, 2);
	assert_int_equal(r->alert[RW_S2C].description, 40); /* handshake_failure */
	assert_int_equal(r->bytes[RW_C2S], sizeof(cr) + hello_len);
	assert_int_equal(r->bytes[RW_S2C], sizeof(cc_ssl) + sizeof(alert));
	assert_true(r->fin_seen[RW_C2S] && r->fin_seen[RW_S2C]);
	/* b, quiet since its last ACK 0 s ago, is still whole. */
	rw_capture_finish(cap);
	assert_int_equal(n_recs, 2);
	check_endpoints(&recs[1], &b);
	assert_int_equal(rw_capture_stats(cap)->packed, 1);
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
	        cmocka_unit_test_setup_teardown(test_reordered_and_retransmitted, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_counting_after_inspection, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_mtu_blackhole, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_eviction, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_table_growth, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_tombstone, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_quiet_flow_packed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_ipv6_flow, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_decode_stats, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_pcap_replay, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_pcapng_replay, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
