/* The proxy's pcap writer, packet by packet: IPv4 and IPv6 conversations,
 * large writes and sequence wrap, RST, an open SYN and time order, each file
 * read back with libpcap, checked by pcapw_check.c's independent decoder and
 * replayed through the capture engine. Split from test_pcap_writer.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "pcapw_check.h"

/* ---- tests --------------------------------------------------------------- */

/* Handshake, small and multi-segment data both ways, a FIN from the client,
 * more data from the server after it (half-close), the server's FIN. */
static void test_ipv4_conversation(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	char err[256] = "x";
	struct rw_pcapw *w = rw_pcapw_open(dir, &cli4, &srv4, T0, err, sizeof(err));
	assert_non_null(w);
	assert_string_equal(err, "");
	static const size_t sizes[] = {19, 19, 5000, 3000, 1460, 1461};
	uint8_t *want[2] = {NULL, NULL};
	size_t wlen[2] = {0, 0};
	uint64_t ts = T0;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		enum rw_dir d = i % 2 ? RW_S2C : RW_C2S;
		uint8_t *p = pattern(sizes[i], (unsigned)i);
		ts += 1000;
		assert_int_equal(rw_pcapw_data(w, d, ts, p, sizes[i]), 0);
		want[d] = realloc(want[d], wlen[d] + sizes[i]);
		memcpy(want[d] + wlen[d], p, sizes[i]);
		wlen[d] += sizes[i];
		free(p);
	}
	assert_int_equal(rw_pcapw_data(w, RW_C2S, ts, NULL, 0), 0); /* nothing */
	assert_int_equal(rw_pcapw_fin(w, RW_C2S, ts += 1000), 0);
	uint8_t *tail = pattern(2000, 99);
	assert_int_equal(rw_pcapw_data(w, RW_S2C, ts += 1000, tail, 2000), 0);
	want[1] = realloc(want[1], wlen[1] + 2000);
	memcpy(want[1] + wlen[1], tail, 2000);
	wlen[1] += 2000;
	/* the client closed its side: refused, nothing written, not an error */
	errno = 0;
	assert_int_equal(rw_pcapw_data(w, RW_C2S, ts, tail, 10), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(rw_pcapw_fin(w, RW_S2C, ts += 1000), 0);
	assert_int_equal(rw_pcapw_fin(w, RW_S2C, ts), 0); /* repeated: no-op */
	char path[4096];
	snprintf(path, sizeof(path), "%s", rw_pcapw_path(w));
	assert_int_equal(rw_pcapw_close(w), 0);
	free(tail);

	struct conv c;
	conv_init(&c, &cli4, &srv4);
	size_t n;
	struct pkt *v = check_file(path, &c, &n);
	static const struct exp e[] = {
	        {C2S, S, 0},    {S2C, S | A, 0}, {C2S, A, 0},                    /* handshake */
	        {C2S, PA, 19},  {S2C, A, 0},     {S2C, PA, 19},  {C2S, A, 0},    /* CR / CC */
	        {C2S, A, 1460}, {C2S, A, 1460},  {C2S, A, 1460}, {C2S, PA, 620}, /* 5000 */
	        {S2C, A, 0},    {S2C, A, 1460},  {S2C, A, 1460}, {S2C, PA, 80},  /* 3000 */
	        {C2S, A, 0},    {C2S, PA, 1460}, {S2C, A, 0},                    /* 1460 */
	        {S2C, A, 1460}, {S2C, PA, 1},    {C2S, A, 0},                    /* 1461 */
	        {C2S, FA, 0},   {S2C, A, 0},                                     /* FIN */
	        {S2C, A, 1460}, {S2C, PA, 540},  {C2S, A, 0},                    /* half-close */
	        {S2C, FA, 0},   {C2S, A, 0},
	};
	expect_packets(v, n, e, sizeof(e) / sizeof(e[0]));
	/* deterministic ISNs, timestamps as given */
	assert_int_equal(v[0].seq, rw_pcapw_isn(&cli4, &srv4, T0, RW_C2S));
	assert_int_equal(v[1].seq, rw_pcapw_isn(&cli4, &srv4, T0, RW_S2C));
	assert_int_not_equal(v[0].seq, v[1].seq);
	assert_int_equal(v[0].ts, T0);
	assert_int_equal(v[2].ts, T0);
	assert_int_equal(v[3].ts, T0 + 1000);
	assert_int_equal(v[n - 1].ts, ts);
	assert_true(c.fin[0] && c.fin[1] && !c.rst);
	for (int d = 0; d < 2; d++) {
		assert_int_equal(c.slen[d], wlen[d]);
		assert_memory_equal(c.stream[d], want[d], wlen[d]);
		assert_int_equal(c.acked[d], c.nxt[d]); /* everything ACKed, FINs included */
		free(want[d]);
	}

	/* the capture engine sees one complete connection */
	struct recs rs;
	replay(path, &rs);
	assert_int_equal(rs.n, 1);
	struct rec *r = &rs.r[0];
	assert_endpoint(&r->client, &cli4);
	assert_endpoint(&r->server, &srv4);
	assert_true(r->saw_syn && r->saw_synack && !r->midstream);
	assert_int_equal(r->bytes[RW_C2S], c.slen[RW_C2S]);
	assert_int_equal(r->bytes[RW_S2C], c.slen[RW_S2C]);
	assert_true(r->fin_seen[0] && r->fin_seen[1]);
	assert_false(r->rst_seen[0] || r->rst_seen[1]);
	for (int d = 0; d < 2; d++) {
		assert_int_equal(r->retransmits[d], 0);
		assert_int_equal(r->gaps[d], 0);
	}
	assert_int_equal(r->ttl_lo[RW_C2S], 64);
	assert_int_equal(r->ttl_lo[RW_S2C], 128);
	assert_int_equal(r->closed_by, RW_SIDE_CLIENT);
	assert_int_equal(r->close_kind, RW_CLOSE_FIN);
	assert_int_equal(r->ts_open, T0);

	free(v);
	conv_free(&c);
	remove_tmpdir(dir);
}

static void test_ipv6_conversation(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	char err[256];
	struct rw_pcapw *w = rw_pcapw_open(dir, &cli6, &srv6, T0, err, sizeof(err));
	assert_non_null(w);
	const char *base = strrchr(rw_pcapw_path(w), '/') + 1;
	assert_string_equal(
	        base, "rdpwhy-20231114T221320.123456Z-2001-db8--10_50000-2001-db8--7_3389.pcap");
	uint8_t *a = pattern(3000, 1), *b = pattern(2881, 2);
	assert_int_equal(rw_pcapw_data(w, RW_C2S, T0 + 10, a, 3000), 0);
	assert_int_equal(rw_pcapw_data(w, RW_S2C, T0 + 20, b, 2881), 0);
	assert_int_equal(rw_pcapw_fin(w, RW_S2C, T0 + 30), 0);
	assert_int_equal(rw_pcapw_fin(w, RW_C2S, T0 + 40), 0);
	char path[4096];
	snprintf(path, sizeof(path), "%s", rw_pcapw_path(w));
	assert_int_equal(rw_pcapw_close(w), 0);

	struct conv c;
	conv_init(&c, &cli6, &srv6);
	size_t n;
	struct pkt *v = check_file(path, &c, &n);
	static const struct exp e[] = {
	        {C2S, S, 0},    {S2C, S | A, 0}, {C2S, A, 0},                 /* handshake */
	        {C2S, A, 1440}, {C2S, A, 1440},  {C2S, PA, 120}, {S2C, A, 0}, /* 3000 */
	        {S2C, A, 1440}, {S2C, A, 1440},  {S2C, PA, 1},   {C2S, A, 0}, /* 2881 */
	        {S2C, FA, 0},   {C2S, A, 0},     {C2S, FA, 0},   {S2C, A, 0},
	};
	expect_packets(v, n, e, sizeof(e) / sizeof(e[0]));
	assert_int_equal(c.slen[0], 3000);
	assert_memory_equal(c.stream[0], a, 3000);
	assert_int_equal(c.slen[1], 2881);
	assert_memory_equal(c.stream[1], b, 2881);

	struct recs rs;
	replay(path, &rs);
	assert_int_equal(rs.n, 1);
	assert_endpoint(&rs.r[0].client, &cli6);
	assert_endpoint(&rs.r[0].server, &srv6);
	assert_int_equal(rs.r[0].bytes[0], 3000);
	assert_int_equal(rs.r[0].bytes[1], 2881);
	assert_true(rs.r[0].fin_seen[0] && rs.r[0].fin_seen[1]);
	assert_int_equal(rs.r[0].closed_by, RW_SIDE_SERVER);
	assert_int_equal(rs.r[0].ttl_lo[RW_S2C], 128);

	free(a);
	free(b);
	free(v);
	conv_free(&c);
	remove_tmpdir(dir);
}

/* One large write: ACKs from the receiver keep at most 32 KiB in flight, and
 * the sequence numbers wrap around 2^32 in the middle of it. */
static void test_large_write_and_seq_wrap(void **state)
{
	(void)state;
	uint64_t ts = T0;
	while (rw_pcapw_isn(&cli4, &srv4, ts, RW_C2S) < 0xffffffffu - 40000)
		ts++;
	char *dir = make_tmpdir();
	char err[256];
	struct rw_pcapw *w = rw_pcapw_open(dir, &cli4, &srv4, ts, err, sizeof(err));
	assert_non_null(w);
	size_t big = 100000;
	uint8_t *p = pattern(big, 5);
	assert_int_equal(rw_pcapw_data(w, RW_C2S, ts + 1, p, big), 0);
	assert_int_equal(rw_pcapw_rst(w, RW_C2S, ts + 2), 0);
	char path[4096];
	snprintf(path, sizeof(path), "%s", rw_pcapw_path(w));
	assert_int_equal(rw_pcapw_close(w), 0);

	struct conv c;
	conv_init(&c, &cli4, &srv4);
	size_t n;
	struct pkt *v = check_file(path, &c, &n);
	assert_true(c.isn[0] > c.nxt[0]); /* wrapped */
	assert_int_equal(c.slen[0], big);
	assert_memory_equal(c.stream[0], p, big);
	/* 68 full segments + 720 bytes; an ACK after every 22 full segments
	 * (32120 bytes) and one at the end */
	size_t segs = 0, acks = 0, psh = 0;
	for (size_t i = 3; i < n - 1; i++) {
		if (v[i].len) {
			segs++;
			psh += (v[i].flags & RW_TCP_PSH) != 0;
		} else {
			acks++;
			assert_int_equal(v[i].dport, 50000);
		}
	}
	assert_int_equal(segs, 69);
	assert_int_equal(psh, 1);
	assert_true(v[n - 3].flags & RW_TCP_PSH);
	assert_int_equal(acks, 4);
	assert_int_equal(v[n - 1].flags, RA);

	struct recs rs;
	replay(path, &rs);
	assert_int_equal(rs.n, 1);
	assert_int_equal(rs.r[0].bytes[0], big);
	assert_int_equal(rs.r[0].gaps[0], 0);

	free(p);
	free(v);
	conv_free(&c);
	remove_tmpdir(dir);
}

/* The server resets; nothing can be written afterwards. The client's RST
 * after its own FIN (and server data after that FIN) carries the sequence
 * number past the FIN. */
static void test_rst(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	char err[256];
	uint8_t *p = pattern(4000, 3);
	for (int variant = 0; variant < 2; variant++) {
		struct rw_pcapw *w =
		        rw_pcapw_open(dir, &cli4, &srv4, T0 + (uint64_t)variant, err, sizeof(err));
		assert_non_null(w);
		assert_int_equal(rw_pcapw_data(w, RW_C2S, T0 + 10, p, 100), 0);
		enum rw_dir who = RW_S2C;
		if (variant == 1) {
			assert_int_equal(rw_pcapw_fin(w, RW_C2S, T0 + 20), 0);
			assert_int_equal(rw_pcapw_data(w, RW_S2C, T0 + 30, p, 437), 0);
			who = RW_C2S;
		}
		assert_int_equal(rw_pcapw_rst(w, who, T0 + 40), 0);
		errno = 0;
		assert_int_equal(rw_pcapw_data(w, RW_S2C, T0 + 50, p, 10), -1);
		assert_int_equal(errno, EINVAL);
		assert_int_equal(rw_pcapw_data(w, RW_C2S, T0 + 50, p, 10), -1);
		assert_int_equal(rw_pcapw_fin(w, RW_C2S, T0 + 50), -1);
		assert_int_equal(rw_pcapw_rst(w, RW_S2C, T0 + 50), -1);
		char path[4096];
		snprintf(path, sizeof(path), "%s", rw_pcapw_path(w));
		assert_int_equal(rw_pcapw_close(w), 0); /* misuse is not a write error */

		struct conv c;
		conv_init(&c, &cli4, &srv4);
		size_t n;
		struct pkt *v = check_file(path, &c, &n);
		assert_true(c.rst);
		assert_int_equal(v[n - 1].flags, RA);
		assert_int_equal(v[n - 1].ts, T0 + 40);
		if (variant == 0) {
			static const struct exp e[] = {
			        {C2S, S, 0},    {S2C, S | A, 0}, {C2S, A, 0},
			        {C2S, PA, 100}, {S2C, A, 0},     {S2C, RA, 0},
			};
			expect_packets(v, n, e, sizeof(e) / sizeof(e[0]));
		} else {
			static const struct exp e[] = {
			        {C2S, S, 0}, {S2C, S | A, 0}, {C2S, A, 0}, {C2S, PA, 100},
			        {S2C, A, 0}, {C2S, FA, 0},    {S2C, A, 0}, {S2C, PA, 437},
			        {C2S, A, 0}, {C2S, RA, 0},
			};
			expect_packets(v, n, e, sizeof(e) / sizeof(e[0]));
			assert_int_equal(v[n - 1].seq, c.isn[0] + 1 + 100 + 1);
			assert_int_equal(v[n - 1].ack, c.isn[1] + 1 + 437);
		}

		struct recs rs;
		replay(path, &rs);
		assert_int_equal(rs.n, 1);
		assert_true(rs.r[0].rst_seen[who]);
		assert_int_equal(rs.r[0].close_kind, variant == 0 ? RW_CLOSE_RST : RW_CLOSE_FIN);
		assert_int_equal(rs.r[0].bytes[RW_S2C], variant == 0 ? 0 : 437);
		assert_int_equal(rs.r[0].closed_by, variant == 0 ? RW_SIDE_SERVER : RW_SIDE_CLIENT);
		free(v);
		conv_free(&c);
	}
	free(p);
	remove_tmpdir(dir);
}

/* SYN first, the server's answer later: a refusal (RST|ACK seq 0), or a
 * SYN-ACK at its own time. */
static void test_open_syn(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	char err[256];
	char path[4096];
	struct conv c;
	size_t n;
	struct recs rs;

	struct rw_pcapw *w = rw_pcapw_open_syn(dir, &cli4, &srv4, T0, err, sizeof(err));
	assert_non_null(w);
	uint8_t b = 0x03;
	errno = 0;
	assert_int_equal(rw_pcapw_data(w, RW_C2S, T0, &b, 1), -1); /* no handshake yet */
	assert_int_equal(errno, EINVAL);
	assert_int_equal(rw_pcapw_fin(w, RW_C2S, T0), -1);
	assert_int_equal(rw_pcapw_rst(w, RW_S2C, T0 + 300), 0);
	assert_int_equal(rw_pcapw_synack(w, T0 + 400), -1);
	snprintf(path, sizeof(path), "%s", rw_pcapw_path(w));
	assert_int_equal(rw_pcapw_close(w), 0);
	conv_init(&c, &cli4, &srv4);
	struct pkt *v = check_file(path, &c, &n);
	static const struct exp refused[] = {{C2S, S, 0}, {S2C, RA, 0}};
	expect_packets(v, n, refused, 2);
	assert_true(c.refused);
	assert_int_equal(v[1].ts, T0 + 300);
	replay(path, &rs);
	assert_int_equal(rs.n, 1);
	assert_int_equal(rs.r[0].cause, RW_CAUSE_UPSTREAM_REFUSED);
	assert_int_equal(rs.r[0].connect_failed, RW_CLOSE_REFUSED);
	free(v);
	conv_free(&c);

	/* the client gives up before the server answers: a bare RST */
	w = rw_pcapw_open_syn(dir, &cli4, &srv4, T0 + 1, err, sizeof(err));
	assert_non_null(w);
	assert_int_equal(rw_pcapw_rst(w, RW_C2S, T0 + 100), 0);
	snprintf(path, sizeof(path), "%s", rw_pcapw_path(w));
	assert_int_equal(rw_pcapw_close(w), 0);
	conv_init(&c, &cli4, &srv4);
	v = check_file(path, &c, &n);
	static const struct exp aborted[] = {{C2S, S, 0}, {C2S, RW_TCP_RST, 0}};
	expect_packets(v, n, aborted, 2);
	free(v);
	conv_free(&c);

	/* connected later */
	w = rw_pcapw_open_syn(dir, &cli4, &srv4, T0 + 2, err, sizeof(err));
	assert_non_null(w);
	assert_int_equal(rw_pcapw_synack(w, T0 + 5000), 0);
	assert_int_equal(rw_pcapw_synack(w, T0 + 5000), -1); /* once */
	assert_int_equal(rw_pcapw_data(w, RW_C2S, T0 + 6000, &b, 1), 0);
	snprintf(path, sizeof(path), "%s", rw_pcapw_path(w));
	assert_int_equal(rw_pcapw_close(w), 0);
	conv_init(&c, &cli4, &srv4);
	v = check_file(path, &c, &n);
	static const struct exp later[] = {
	        {C2S, S, 0}, {S2C, S | A, 0}, {C2S, A, 0}, {C2S, PA, 1}, {S2C, A, 0}};
	expect_packets(v, n, later, 5);
	assert_int_equal(v[0].ts, T0 + 2);
	assert_int_equal(v[1].ts, T0 + 5000);
	assert_int_equal(v[2].ts, T0 + 5000);
	free(v);
	conv_free(&c);
	remove_tmpdir(dir);
}

/* A timestamp from the past is raised to the last one written. */
static void test_time_order(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	char err[256];
	struct rw_pcapw *w = rw_pcapw_open(dir, &cli4, &srv4, T0, err, sizeof(err));
	assert_non_null(w);
	uint8_t b[3] = {1, 2, 3};
	assert_int_equal(rw_pcapw_data(w, RW_C2S, T0 + 500, b, 3), 0);
	assert_int_equal(rw_pcapw_data(w, RW_S2C, T0 - 7, b, 3), 0);
	char path[4096];
	snprintf(path, sizeof(path), "%s", rw_pcapw_path(w));
	assert_int_equal(rw_pcapw_close(w), 0);
	struct conv c;
	conv_init(&c, &cli4, &srv4);
	size_t n;
	struct pkt *v = check_file(path, &c, &n);
	assert_int_equal(n, 7);
	assert_int_equal(v[5].ts, T0 + 500);
	free(v);
	conv_free(&c);
	remove_tmpdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_ipv4_conversation),
	        cmocka_unit_test(test_ipv6_conversation),
	        cmocka_unit_test(test_large_write_and_seq_wrap),
	        cmocka_unit_test(test_rst),
	        cmocka_unit_test(test_open_syn),
	        cmocka_unit_test(test_time_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
