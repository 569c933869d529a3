/* Findings of tests/fuzz/fuzz_paths.c, reproduced from bytes: one connection
 * fed to a session the way the inline proxy does (proxy/relay.c: reads) and
 * as TCP/IP packets to the capture engine must give the same record. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "capture.h"
#include "decode.h"
#include "testutil.h"

#define T0 (1700000000ull * 1000000ull)

static struct rw_record rec;
static size_t n_recs;

static void on_record(const struct rw_record *r, void *arg)
{
	(void)arg;
	rec = *r;
	rec.token = NULL; /* owned by the session, freed after this call */
	n_recs++;
}

/* One side's view of the connection: its next sequence number. */
struct side {
	uint32_t isn, next;
	uint8_t ttl;
};

static struct rw_capture *cap;
static struct side cli = {0x10000000u, 0x10000001u, 64}, srv = {0x20000000u, 0x20000001u, 113};

/* Ethernet, IPv4 and a TCP header (with MSS 1460 on a SYN) from one side. */
static void packet(bool from_client, uint64_t ts, uint8_t flags, uint32_t seq, const uint8_t *p,
                   size_t n)
{
	static uint8_t f[14 + 20 + 24 + 1500];
	assert_true(n <= 1500);
	const struct side *me = from_client ? &cli : &srv, *peer = from_client ? &srv : &cli;
	size_t th = (flags & RW_TCP_SYN) ? 24 : 20;
	memset(f, 0, sizeof(f));
	rw_test_put16(f + 12, 0x0800);
	uint8_t *ip = f + 14, *tcp = ip + 20;
	ip[0] = 0x45;
	rw_test_put16(ip + 2, (uint16_t)(20 + th + n));
	ip[8] = me->ttl;
	ip[9] = 6;
	ip[12] = ip[16] = 10;
	ip[15] = from_client ? 1 : 2;
	ip[19] = from_client ? 2 : 1;
	rw_test_put16(tcp, from_client ? 50123 : 3389);
	rw_test_put16(tcp + 2, from_client ? 3389 : 50123);
	rw_test_put32(tcp + 4, seq);
	if (flags & RW_TCP_ACK)
		rw_test_put32(tcp + 8, peer->next);
	tcp[12] = (uint8_t)((th / 4) << 4);
	tcp[13] = flags;
	rw_test_put16(tcp + 14, 65535);
	if (th == 24) {
		tcp[20] = 2;
		tcp[21] = 4;
		rw_test_put16(tcp + 22, 1460);
	}
	if (n) /* p may be NULL for a bare ACK, FIN or RST */
		memcpy(tcp + th, p, n);
	rw_capture_packet(cap, RW_DLT_EN10MB, ts, f, 14 + 20 + th + n, 14 + 20 + th + n);
}

/* A data segment at the side's next sequence number. */
static void send_data(bool from_client, uint64_t ts, const uint8_t *p, size_t n)
{
	struct side *me = from_client ? &cli : &srv;
	packet(from_client, ts, RW_TCP_ACK | RW_TCP_PSH, me->next, p, n);
	me->next += (uint32_t)n;
}

static void send_fin(bool from_client, uint64_t ts)
{
	struct side *me = from_client ? &cli : &srv;
	packet(from_client, ts, RW_TCP_ACK | RW_TCP_FIN, me->next, NULL, 0);
	me->next++;
}

static void pure_ack(bool from_client, uint64_t ts)
{
	packet(from_client, ts, RW_TCP_ACK, (from_client ? &cli : &srv)->next, NULL, 0);
}

static int setup(void **state)
{
	(void)state;
	struct rw_capture_config cfg;
	rw_capture_config_defaults(&cfg);
	cap = rw_capture_new(&cfg, on_record, NULL);
	n_recs = 0;
	cli.next = cli.isn + 1;
	srv.next = srv.isn + 1;
	/* SYN, SYN-ACK (MSS 1460: full size is 1460), ACK. */
	packet(true, T0, RW_TCP_SYN, cli.isn, NULL, 0);
	packet(false, T0 + 300, RW_TCP_SYN | RW_TCP_ACK, srv.isn, NULL, 0);
	pure_ack(true, T0 + 300);
	return cap ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	rw_capture_free(cap);
	return 0;
}

/* The same events through a session as proxy/relay.c feeds it (its verdict). */
static enum rw_cause proxy_cause(const struct rw_test_bytes *cr, const struct rw_test_bytes *cc,
                                 const uint8_t *big, size_t n)
{
	struct rw_session_config scfg = {0};
	struct rw_session *s = rw_session_new(&scfg);
	struct rw_endpoint c = {2, {10, 0, 0, 1}, 50123}, v = {2, {10, 0, 0, 2}, 3389};
	rw_session_open(s, T0, &c, &v);
	rw_session_syn(s, RW_C2S, T0);
	rw_session_record(s)->proxy = true;
	rw_session_syn(s, RW_S2C, T0 + 300);
	rw_session_data(s, RW_C2S, T0 + 1000, cr->p, cr->n);
	rw_session_data(s, RW_S2C, T0 + 2000, cc->p, cc->n);
	rw_session_fin(s, RW_S2C, T0 + 1003000);
	rw_session_data(s, RW_C2S, T0 + 2003000, big, n);
	rw_session_fin(s, RW_C2S, T0 + 2003000);
	rw_session_close(s, T0 + 2003000);
	enum rw_cause cause = rw_session_record(s)->verdict.cause;
	rw_session_free(s);
	return cause;
}

/* fuzz_paths-rtx-before-last-fin: the server closed; the client's last
 * full-size segment went out twice (a spurious retransmission) and its FIN
 * completed the close. The flow ended there, before the server's final ACK
 * could acknowledge the segment, and the capture called it an MTU black
 * hole ("1 full-size client segments retransmitted, never acknowledged")
 * where the proxy, with the same bytes, said what the stream showed. A
 * retransmission the peer never had a chance to answer is not evidence. */
static void test_rtx_before_last_fin(void **state)
{
	(void)state;
	struct rw_test_bytes cr = {0}, cc = {0};
	rw_test_cr(&cr, "fuzz", RW_PROTO_SSL);
	rw_test_cc(&cc, 2, RW_PROTO_SSL);
	static uint8_t big[1460];
	memset(big, 0x17, sizeof(big)); /* not a TLS record: the stream is broken */
	send_data(true, T0 + 1000, cr.p, cr.n);
	pure_ack(false, T0 + 1000);
	send_data(false, T0 + 2000, cc.p, cc.n);
	pure_ack(true, T0 + 2000);
	send_fin(false, T0 + 1003000);
	pure_ack(true, T0 + 1003000);
	/* Sent twice, then the FIN: the server's final ACK would come next. */
	send_data(true, T0 + 2003000, big, sizeof(big));
	packet(true, T0 + 2003000, RW_TCP_ACK | RW_TCP_PSH, cli.next - sizeof(big), big,
	       sizeof(big));
	send_fin(true, T0 + 2003000);
	assert_int_equal(n_recs, 1);
	assert_int_equal(rec.tcp[RW_C2S].retransmits, 1);
	assert_int_equal(rec.tcp[RW_C2S].large_unacked_retransmits, 0);
	assert_int_not_equal(rec.verdict.cause, RW_CAUSE_MTU_BLACKHOLE);
	assert_int_equal(rec.verdict.cause, proxy_cause(&cr, &cc, big, sizeof(big)));
}

/* What still counts: the server's full-size segment retransmitted, then a
 * packet of the client that does not acknowledge it (the client gave up),
 * then both FINs. */
static void test_rtx_unanswered_still_black_hole(void **state)
{
	(void)state;
	struct rw_test_bytes cr = {0}, cc = {0};
	rw_test_cr(&cr, "fuzz", RW_PROTO_SSL);
	rw_test_cc(&cc, 2, RW_PROTO_SSL);
	static uint8_t big[1460];
	memset(big, 0x16, sizeof(big));
	send_data(true, T0 + 1000, cr.p, cr.n);
	pure_ack(false, T0 + 1000);
	send_data(false, T0 + 2000, cc.p, cc.n);
	pure_ack(true, T0 + 2000);
	uint32_t seq = srv.next;
	packet(false, T0 + 3000, RW_TCP_ACK, seq, big, sizeof(big));
	packet(false, T0 + 203000, RW_TCP_ACK, seq, big, sizeof(big));
	packet(false, T0 + 603000, RW_TCP_ACK, seq, big, sizeof(big));
	send_fin(true, T0 + 5003000); /* acknowledges up to the CC only */
	srv.next = seq + sizeof(big);
	send_fin(false, T0 + 5003100);
	assert_int_equal(n_recs, 1);
	assert_int_equal(rec.tcp[RW_S2C].large_unacked_retransmits, 1);
	assert_int_equal(rec.verdict.cause, RW_CAUSE_MTU_BLACKHOLE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_rtx_before_last_fin, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_rtx_unanswered_still_black_hole, setup,
	                                        teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
