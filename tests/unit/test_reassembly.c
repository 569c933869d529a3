#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "reassembly.h"

/* What the callbacks saw: the stream (gaps written as '?' so positions stay
 * comparable), and the order of events. */
struct sink {
	uint8_t buf[1 << 16];
	size_t len;
	uint64_t gap_bytes;
	unsigned gaps, fins, nulls;
	size_t fin_at;                  /* stream length when the FIN came */
	const uint8_t *src_lo, *src_hi; /* caller's packets: in-order data must point here */
	unsigned copied;                /* deliveries from outside the packets */
};

static void on_data(void *arg, int side, uint64_t ts, const uint8_t *p, size_t n)
{
	struct sink *k = arg;
	(void)side;
	(void)ts;
	assert_int_equal(k->fins, 0);
	assert_true(k->len + n <= sizeof(k->buf));
	if (p) {
		memcpy(k->buf + k->len, p, n);
		if (k->src_lo && (p < k->src_lo || p + n > k->src_hi))
			k->copied++;
	} else {
		memset(k->buf + k->len, '#', n);
		k->nulls++;
	}
	k->len += n;
}

static void on_gap(void *arg, int side, uint64_t ts, uint64_t missing)
{
	struct sink *k = arg;
	(void)side;
	(void)ts;
	assert_int_equal(k->fins, 0);
	assert_true(k->len + missing <= sizeof(k->buf));
	memset(k->buf + k->len, '?', missing);
	k->len += missing;
	k->gap_bytes += missing;
	k->gaps++;
}

static void on_fin(void *arg, int side, uint64_t ts)
{
	struct sink *k = arg;
	(void)side;
	(void)ts;
	k->fins++;
	k->fin_at = k->len;
}

static const struct rw_reasm_ops ops = {on_data, on_gap, on_fin};

static unsigned rnd(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return (*s >> 16) & 0x7fff;
}

/* The bytes every test sends, filled once before the tests run. */
static uint8_t stream[20000];

static int fill_stream(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(stream); i++)
		stream[i] = (uint8_t)('A' + (i * 7 + i / 251) % 26);
	return 0;
}

/* A reassembler delivering into k, after a SYN with this ISN. */
static void start(struct rw_reasm *r, struct sink *k, size_t max_ooo, uint32_t isn)
{
	rw_reasm_init(r, &ops, k, 0, max_ooo);
	rw_reasm_syn(r, isn);
}

/* Stream bytes [off, off + len) in one segment, captured whole. */
static void send_stream(struct rw_reasm *r, uint64_t ts, uint32_t isn, uint32_t off, uint32_t len)
{
	rw_reasm_segment(r, ts, isn + 1 + off, stream + off, len, len);
}

struct seg {
	uint32_t off, len;
};

/* Cuts [0, total) into segments of 1..maxlen bytes. */
static size_t cut(struct seg *v, size_t cap, uint32_t total, unsigned maxlen, unsigned *seed)
{
	size_t n = 0;
	for (uint32_t off = 0; off < total;) {
		uint32_t len = 1 + rnd(seed) % maxlen;
		if (len > total - off)
			len = total - off;
		assert_true(n < cap);
		v[n].off = off;
		v[n].len = len;
		n++;
		off += len;
	}
	return n;
}

static void shuffle(struct seg *v, size_t n, unsigned *seed)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = rnd(seed) % i;
		struct seg t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

static void feed(struct rw_reasm *r, uint32_t isn, const struct seg *s)
{
	send_stream(r, 1, isn, s->off, s->len);
}

static void test_in_order_no_copy(void **state)
{
	(void)state;
	struct sink k = {.src_lo = stream, .src_hi = stream + sizeof(stream)};
	struct rw_reasm r;
	start(&r, &k, 1 << 18, 1000);
	unsigned seed = 1;
	struct seg v[4096];
	size_t n = cut(v, 4096, sizeof(stream), 1460, &seed);
	for (size_t i = 0; i < n; i++)
		feed(&r, 1000, &v[i]);
	rw_reasm_fin(&r, 2, 1001 + sizeof(stream));
	assert_int_equal(k.len, sizeof(stream));
	assert_memory_equal(k.buf, stream, sizeof(stream));
	assert_int_equal(k.copied, 0);
	assert_int_equal(k.fins, 1);
	assert_int_equal(k.fin_at, sizeof(stream));
	assert_int_equal(r.st.retransmits, 0);
	assert_int_equal(r.st.ooo, 0);
	assert_null(r.head);
	rw_reasm_free(&r);
}

static void test_reversed(void **state)
{
	(void)state;
	struct sink k = {0};
	struct rw_reasm r;
	start(&r, &k, 1 << 20, 5);
	struct seg v[64];
	size_t n = 0;
	for (uint32_t off = 0; off < 6400; off += 100, n++)
		v[n] = (struct seg){off, 100};
	for (size_t i = n; i-- > 0;) {
		feed(&r, 5, &v[i]);
		assert_int_equal(k.len, i == 0 ? 6400 : 0);
	}
	assert_memory_equal(k.buf, stream, 6400);
	assert_int_equal(r.st.ooo, n - 1);
	assert_int_equal(r.ooo_bytes, 0);
	assert_int_equal(k.gaps, 0);
	rw_reasm_free(&r);
}

/* Random cuts, random order, random duplicates and re-cut retransmissions
 * (overlaps) give the same stream, whatever the ISN (wraparound included). */
static void test_permutations(void **state)
{
	(void)state;
	static const uint32_t isns[] = {0, 12345, 0xFFFFFFFFu, 0xFFFFF000u, 0x7FFFFFF0u};
	for (unsigned round = 0; round < 200; round++) {
		unsigned seed = round * 7919 + 1;
		uint32_t isn = isns[round % 5];
		uint32_t total = 1 + rnd(&seed) % 8000;
		struct seg v[8192 + 256];
		size_t n = cut(v, 8192, total, 1 + rnd(&seed) % 1500, &seed);
		/* Retransmissions with other boundaries. */
		size_t extra = rnd(&seed) % 40;
		for (size_t i = 0; i < extra; i++) {
			uint32_t off = rnd(&seed) % total;
			uint32_t len = 1 + rnd(&seed) % 2000;
			if (len > total - off)
				len = total - off;
			v[n++] = (struct seg){off, len};
		}
		shuffle(v, n, &seed);
		struct sink k = {0};
		struct rw_reasm r;
		start(&r, &k, 1 << 20, isn);
		/* The FIN may come before the data it follows. */
		size_t fin_pos = rnd(&seed) % (n + 1);
		for (size_t i = 0; i <= n; i++) {
			if (i == fin_pos)
				rw_reasm_fin(&r, 1, isn + 1 + total);
			if (i < n)
				feed(&r, isn, &v[i]);
		}
		assert_int_equal(k.len, total);
		assert_memory_equal(k.buf, stream, total);
		assert_int_equal(k.gaps, 0);
		assert_int_equal(k.fins, 1);
		assert_int_equal(k.fin_at, total);
		assert_null(r.head);
		assert_int_equal(r.ooo_bytes, 0);
		if (extra == 0)
			assert_int_equal(r.st.retransmits + r.st.overlaps, 0);
		rw_reasm_free(&r);
	}
}

/* With a small bound, holes are given up, but every delivered byte is at
 * its place and nothing is invented: data + gaps = the stream. */
static void test_permutations_bounded(void **state)
{
	(void)state;
	unsigned total_gaps = 0;
	for (unsigned round = 0; round < 200; round++) {
		unsigned seed = round * 104729 + 3;
		uint32_t isn = 0xFFFFFFFFu - rnd(&seed) * 3;
		uint32_t total = 1000 + rnd(&seed) % 15000;
		struct seg v[8192];
		size_t n = cut(v, 8192, total, 1 + rnd(&seed) % 1500, &seed);
		shuffle(v, n, &seed);
		struct sink k = {0};
		struct rw_reasm r;
		size_t bound = rnd(&seed) % 4000;
		start(&r, &k, bound, isn);
		for (size_t i = 0; i < n; i++) {
			feed(&r, isn, &v[i]);
			assert_true(r.ooo_bytes <= bound + sizeof(stream));
			if (rnd(&seed) % 8 == 0) /* some ACKs, never past what was sent */
				rw_reasm_ack(&r, 1, isn + 1 + v[i].off);
		}
		rw_reasm_fin(&r, 2, isn + 1 + total);
		rw_reasm_flush(&r, 3);
		assert_int_equal(k.fins, 1);
		assert_int_equal(k.len, total);
		assert_int_equal(k.fin_at, total);
		for (size_t i = 0; i < total; i++)
			if (k.buf[i] != '?')
				assert_int_equal(k.buf[i], stream[i]);
		assert_int_equal(k.len - k.gap_bytes, r.st.delivered);
		total_gaps += k.gaps;
		rw_reasm_free(&r);
	}
	assert_true(total_gaps > 0);
}

static void test_first_received_wins(void **state)
{
	(void)state;
	struct sink k = {0};
	struct rw_reasm r;
	start(&r, &k, 1 << 16, 99); /* data starts at 100 */
	uint8_t a[10], b[15], c[10];
	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	memset(c, 'c', sizeof(c));
	rw_reasm_segment(&r, 1, 110, a, 10, 10);
	assert_int_equal(k.len, 0);
	rw_reasm_segment(&r, 2, 100, b, 15, 15); /* overlaps the buffered 'a's */
	assert_int_equal(k.len, 20);
	assert_memory_equal(k.buf, "bbbbbbbbbbaaaaaaaaaa", 20);
	assert_int_equal(r.st.overlaps, 1);
	rw_reasm_segment(&r, 3, 115, c, 10, 10); /* half old, half new */
	assert_int_equal(k.len, 25);
	assert_memory_equal(k.buf + 20, "ccccc", 5);
	assert_int_equal(r.st.overlaps, 2);
	rw_reasm_segment(&r, 4, 100, b, 15, 15); /* all old */
	assert_int_equal(r.st.retransmits, 1);
	assert_int_equal(k.len, 25);

	/* A segment spanning two buffered ones fills only the holes around them. */
	uint8_t x[4] = {'x', 'x', 'x', 'x'}, y[4] = {'y', 'y', 'y', 'y'}, z[30];
	memset(z, 'z', sizeof(z));
	rw_reasm_segment(&r, 5, 130, x, 4, 4);
	rw_reasm_segment(&r, 5, 140, y, 4, 4);
	rw_reasm_segment(&r, 5, 128, z, 20, 20); /* 128..148 */
	assert_int_equal(k.len, 25);
	assert_int_equal(r.st.overlaps, 3);
	rw_reasm_segment(&r, 6, 125, z, 3, 3);
	assert_int_equal(k.len, 48);
	assert_memory_equal(k.buf + 25, "zzzzzxxxxzzzzzzyyyyzzzz", 23);
	assert_int_equal(k.gaps, 0);
	rw_reasm_free(&r);
}

static void test_wraparound(void **state)
{
	(void)state;
	struct sink k = {0};
	struct rw_reasm r;
	uint32_t isn = 0xFFFFFFFFu - 300; /* the stream crosses 2^32 at byte 300 */
	start(&r, &k, 1 << 16, isn);
	/* Out of order across the wrap, then the filler. */
	send_stream(&r, 1, isn, 600, 400);
	send_stream(&r, 1, isn, 250, 350);
	assert_int_equal(k.len, 0);
	send_stream(&r, 1, isn, 0, 250);
	assert_int_equal(k.len, 1000);
	assert_memory_equal(k.buf, stream, 1000);
	/* Old data from before the wrap is a retransmission, not new data. */
	send_stream(&r, 1, isn, 100, 100);
	assert_int_equal(r.st.retransmits, 1);
	rw_reasm_fin(&r, 2, isn + 1 + 1000);
	assert_int_equal(k.fins, 1);
	assert_int_equal(r.next, (uint32_t)(isn + 1 + 1000));
	rw_reasm_free(&r);
}

static void test_gap_when_bound_exceeded(void **state)
{
	(void)state;
	struct sink k = {0};
	struct rw_reasm r;
	/* Room for about 5 segments of 100 bytes. */
	size_t bound = 5 * 100 + 5 * 64;
	start(&r, &k, bound, 0);
	send_stream(&r, 1, 0, 0, 100);
	/* 100..200 never comes. */
	uint32_t off;
	for (off = 200; off < 2000; off += 100) {
		send_stream(&r, 1, 0, off, 100);
		assert_true(r.ooo_bytes <= bound);
		if (k.gaps)
			break;
	}
	assert_int_equal(k.gaps, 1);
	assert_int_equal(k.gap_bytes, 100);
	assert_int_equal(k.len, off + 100);
	assert_memory_equal(k.buf, stream, 100);
	for (size_t i = 100; i < 200; i++)
		assert_int_equal(k.buf[i], '?');
	assert_memory_equal(k.buf + 200, stream + 200, off - 100);
	/* Delivery resumed: the next in-order segment goes straight through. */
	send_stream(&r, 1, 0, off + 100, 100);
	assert_int_equal(k.len, off + 200);
	/* The missing segment arriving late is old now. */
	send_stream(&r, 1, 0, 100, 100);
	assert_int_equal(r.st.retransmits, 1);
	assert_int_equal(k.len, off + 200);

	struct rw_tcp_stats st = {0};
	rw_reasm_tcp_stats(&r, &st);
	assert_int_equal(st.gaps, 1);
	assert_int_equal(st.gap_bytes, 100);
	rw_reasm_free(&r);
}

static void test_bound_zero(void **state)
{
	(void)state;
	struct sink k = {0};
	struct rw_reasm r;
	rw_reasm_init(&r, &ops, &k, 0, 0);
	rw_reasm_segment(&r, 1, 500, stream, 10, 10); /* mid-stream start */
	rw_reasm_segment(&r, 1, 520, stream + 20, 10, 10);
	assert_int_equal(k.len, 30);
	assert_int_equal(k.gap_bytes, 10);
	assert_null(r.head);
	rw_reasm_free(&r);
}

static void test_fin_waits_for_data(void **state)
{
	(void)state;
	struct sink k = {0};
	struct rw_reasm r;
	start(&r, &k, 1 << 16, 0);
	send_stream(&r, 1, 0, 0, 100);
	send_stream(&r, 1, 0, 200, 50);
	rw_reasm_fin(&r, 2, 251);
	assert_int_equal(k.fins, 0);
	assert_false(rw_reasm_fin_delivered(&r));
	send_stream(&r, 3, 0, 100, 100);
	assert_int_equal(k.fins, 1);
	assert_int_equal(k.fin_at, 250);
	assert_true(rw_reasm_fin_delivered(&r));
	assert_memory_equal(k.buf, stream, 250);
	/* Retransmitted FIN and data: nothing new. */
	rw_reasm_fin(&r, 4, 251);
	send_stream(&r, 4, 0, 200, 50);
	assert_int_equal(k.fins, 1);
	assert_int_equal(k.len, 250);
	rw_reasm_free(&r);
}

static void test_flush_declares_gaps_then_fin(void **state)
{
	(void)state;
	struct sink k = {0};
	struct rw_reasm r;
	start(&r, &k, 1 << 16, 0);
	send_stream(&r, 1, 0, 0, 100);
	send_stream(&r, 1, 0, 150, 50);
	rw_reasm_fin(&r, 2, 301); /* 200..300 missing too */
	rw_reasm_flush(&r, 3);
	assert_int_equal(k.gaps, 2);
	assert_int_equal(k.gap_bytes, 150);
	assert_int_equal(k.fins, 1);
	assert_int_equal(k.fin_at, 300);
	assert_memory_equal(k.buf + 150, stream + 150, 50);
	rw_reasm_free(&r);
}

/* Bytes buffered beyond a FIN that comes later are dropped, not delivered. */
static void test_data_after_fin(void **state)
{
	(void)state;
	struct sink k = {0};
	struct rw_reasm r;
	start(&r, &k, 1 << 16, 0);
	send_stream(&r, 1, 0, 0, 10);
	send_stream(&r, 1, 0, 30, 20); /* past the FIN */
	send_stream(&r, 1, 0, 15, 10); /* straddles it */
	rw_reasm_fin(&r, 2, 21);
	assert_true(r.head != NULL && r.head == r.tail); /* only the straddling one */
	rw_reasm_flush(&r, 3);
	assert_int_equal(k.fins, 1);
	assert_int_equal(k.fin_at, 20);
	assert_int_equal(k.gap_bytes, 5);
	assert_memory_equal(k.buf + 15, stream + 15, 5);
	assert_int_equal(r.ooo_bytes, 0);
	rw_reasm_free(&r);
}

/* The peer acknowledged bytes the capture never saw: they will not be sent
 * again, so the hole is given up at once. */
static void test_acked_hole_is_gap(void **state)
{
	(void)state;
	struct sink k = {0};
	struct rw_reasm r;
	start(&r, &k, 1 << 16, 0);
	send_stream(&r, 1, 0, 0, 100);
	send_stream(&r, 1, 0, 200, 100);
	rw_reasm_ack(&r, 2, 101); /* not past the hole */
	assert_int_equal(k.gaps, 0);
	rw_reasm_ack(&r, 2, 251);
	assert_int_equal(k.gaps, 1);
	assert_int_equal(k.gap_bytes, 100);
	assert_int_equal(k.len, 300);
	/* An ACK past everything seen, with a FIN pending: gap up to the FIN,
	 * then the FIN. */
	rw_reasm_fin(&r, 3, 401);
	assert_int_equal(k.fins, 0);
	rw_reasm_ack(&r, 4, 402);
	assert_int_equal(k.gap_bytes, 200);
	assert_int_equal(k.fins, 1);
	/* Absurd ACKs are ignored. */
	struct sink k2 = {0};
	struct rw_reasm r2;
	rw_reasm_init(&r2, &ops, &k2, 0, 1 << 16);
	rw_reasm_segment(&r2, 1, 1000, stream, 10, 10);
	rw_reasm_ack(&r2, 1, 1000 + (1u << 31) - 1);
	assert_int_equal(k2.gaps, 0);
	rw_reasm_free(&r);
	rw_reasm_free(&r2);
}

static void test_snaplen_cut_segment(void **state)
{
	(void)state;
	struct sink k = {0};
	struct rw_reasm r;
	start(&r, &k, 1 << 16, 0);
	/* Ahead of a hole, then in order: the cut tails are gaps in place. */
	rw_reasm_segment(&r, 1, 1 + 1000, stream + 1000, 60, 1000);
	rw_reasm_segment(&r, 1, 1, stream, 60, 1000);
	assert_int_equal(k.len, 2000);
	assert_int_equal(k.gap_bytes, 1880);
	assert_memory_equal(k.buf, stream, 60);
	assert_memory_equal(k.buf + 1000, stream + 1000, 60);
	assert_int_equal(k.buf[60], '?');
	assert_int_equal(k.buf[1999], '?');
	assert_int_equal(r.st.max_segment, 1000);
	rw_reasm_free(&r);
}

static void test_count_only(void **state)
{
	(void)state;
	struct sink k = {0};
	struct rw_reasm r;
	start(&r, &k, 1 << 16, 0);
	rw_reasm_keep_payload(&r, false);
	send_stream(&r, 1, 0, 100, 100);
	assert_true(r.ooo_bytes < 100); /* range only */
	send_stream(&r, 1, 0, 0, 100);
	assert_int_equal(k.len, 200);
	assert_int_equal(k.nulls, 1);
	assert_memory_equal(k.buf, stream, 100);
	assert_int_equal(k.buf[150], '#');
	rw_reasm_free(&r);
}

/* The MTU black-hole signal: full-size segments retransmitted and never
 * acknowledged; smaller or acknowledged ones do not count. */
static void test_large_unacked_retransmits(void **state)
{
	(void)state;
	static uint8_t big[1448 * 6];
	memset(big, 'm', sizeof(big));
	struct sink k = {0};
	struct rw_reasm r;
	rw_reasm_init(&r, &ops, &k, 1, 1 << 16);
	rw_reasm_syn(&r, 0);
	rw_reasm_ack(&r, 0, 1); /* the peer ACKed the SYN */
	rw_reasm_segment(&r, 1, 1, big, 200, 200);
	uint32_t s0 = 201;
	for (int i = 0; i < 4; i++)
		rw_reasm_segment(&r, 1, s0 + 1448 * i, big, 1448, 1448);
	rw_reasm_ack(&r, 2, s0 + 1448); /* first full segment acknowledged */
	for (int t = 0; t < 3; t++)
		for (int i = 0; i < 4; i++)
			rw_reasm_segment(&r, 3 + t, s0 + 1448 * i, big, 1448, 1448);
	rw_reasm_segment(&r, 9, 1, big, 200, 200); /* small retransmission */
	struct rw_tcp_stats st = {0};
	rw_reasm_tcp_stats(&r, &st);
	assert_int_equal(st.max_segment, 1448);
	assert_int_equal(st.retransmits, 13);
	assert_int_equal(st.large_unacked_retransmits, 3);
	/* Without any ACK from the peer nothing can be claimed. */
	struct rw_reasm r2;
	rw_reasm_init(&r2, &ops, &k, 1, 1 << 16);
	rw_reasm_segment(&r2, 1, 1, big, 1448, 1448);
	rw_reasm_segment(&r2, 1, 1, big, 1448, 1448);
	rw_reasm_tcp_stats(&r2, &st);
	assert_int_equal(st.retransmits, 1);
	assert_int_equal(st.large_unacked_retransmits, 0);
	rw_reasm_free(&r);
	rw_reasm_free(&r2);
}

/* Capture loss against network loss: a hole the peer acknowledged (at once,
 * or after it was given up) and bytes the snapshot length cut are capture
 * gaps; a hole nobody acknowledged is a gap only. */
static void test_capture_gaps(void **state)
{
	(void)state;
	struct sink k = {0};
	struct rw_reasm r;
	start(&r, &k, 1 << 16, 0);
	send_stream(&r, 1, 0, 0, 100);
	send_stream(&r, 1, 0, 200, 100); /* [100, 200) missing */
	rw_reasm_ack(&r, 2, 301);        /* the receiver got it: the capture lost it */
	rw_reasm_segment(&r, 3, 1 + 300, stream + 300, 40, 100); /* cut at 40 bytes */
	send_stream(&r, 4, 0, 500, 100);                         /* [400, 500) missing */
	rw_reasm_flush(&r, 5); /* never acknowledged: maybe the network's */
	struct rw_tcp_stats st = {0};
	rw_reasm_tcp_stats(&r, &st);
	assert_int_equal(st.gaps, 3);
	assert_int_equal(st.gap_bytes, 100 + 60 + 100);
	assert_int_equal(st.capture_gaps, 2);
	assert_int_equal(st.capture_gap_bytes, 100 + 60);
	assert_int_equal(st.retransmits, 0);
	assert_int_equal(st.large_unacked_retransmits, 0);

	/* Given up by the buffer bound first, acknowledged later. */
	struct sink k2 = {0};
	struct rw_reasm r2;
	start(&r2, &k2, 0, 0);
	send_stream(&r2, 1, 0, 0, 100);
	send_stream(&r2, 1, 0, 150, 100); /* bound 0: [100, 150) given up at once */
	assert_int_equal(k2.gaps, 1);
	rw_reasm_tcp_stats(&r2, &st);
	assert_int_equal(st.capture_gaps, 0);
	rw_reasm_ack(&r2, 2, 120); /* not past it yet */
	rw_reasm_tcp_stats(&r2, &st);
	assert_int_equal(st.capture_gaps, 0);
	rw_reasm_ack(&r2, 2, 251);
	rw_reasm_tcp_stats(&r2, &st);
	assert_int_equal(st.capture_gaps, 1);
	assert_int_equal(st.capture_gap_bytes, 50);
	assert_int_equal(st.gaps, 1);

	/* Given up, then retransmitted into the capture: the capture saw the
	 * bytes (late), so the ACK past them is no capture loss. */
	struct sink k3 = {0};
	struct rw_reasm r3;
	start(&r3, &k3, 0, 0);
	send_stream(&r3, 1, 0, 0, 100);
	send_stream(&r3, 1, 0, 150, 100);
	send_stream(&r3, 2, 0, 100, 50); /* the retransmission, after the gap */
	rw_reasm_ack(&r3, 3, 251);
	rw_reasm_tcp_stats(&r3, &st);
	assert_int_equal(st.gaps, 1);
	assert_int_equal(st.capture_gaps, 0);
	assert_int_equal(st.retransmits, 1);
	rw_reasm_free(&r);
	rw_reasm_free(&r2);
	rw_reasm_free(&r3);
}

/* The full-size payload: the smaller MSS option less the timestamps option
 * when every SYN seen offered it; else the largest retransmission. */
static void test_full_size(void **state)
{
	(void)state;
	struct sink k = {0};
	struct rw_reasm r;
	rw_reasm_init(&r, &ops, &k, 0, 1 << 16);
	assert_int_equal(rw_reasm_full_size(&r), 0);
	rw_reasm_syn_options(&r, 0, true); /* no MSS option: nothing learnt */
	assert_int_equal(rw_reasm_full_size(&r), 0);
	rw_reasm_syn_options(&r, 1460, true);
	assert_int_equal(rw_reasm_full_size(&r), 1448); /* one SYN seen, timestamps offered */
	rw_reasm_syn_options(&r, 1400, false);          /* the SYN-ACK: no timestamps */
	assert_int_equal(rw_reasm_full_size(&r), 1400);
	rw_reasm_free(&r);

	rw_reasm_init(&r, &ops, &k, 0, 1 << 16);
	rw_reasm_syn_options(&r, 1460, false);
	assert_int_equal(rw_reasm_full_size(&r), 1460);
	rw_reasm_syn_options(&r, 1460, true);
	assert_int_equal(rw_reasm_full_size(&r), 1460);
	rw_reasm_free(&r);

	/* No handshake: the largest retransmission, if large. */
	rw_reasm_init(&r, &ops, &k, 0, 1 << 16);
	rw_reasm_segment(&r, 1, 1000, stream, 300, 300);
	rw_reasm_segment(&r, 2, 1000, stream, 300, 300);
	assert_int_equal(rw_reasm_full_size(&r), 0);
	rw_reasm_segment(&r, 3, 1300, stream + 300, 1448, 1448);
	rw_reasm_segment(&r, 4, 1300, stream + 300, 1448, 1448);
	assert_int_equal(rw_reasm_full_size(&r), 1448);
	struct rw_tcp_stats st = {0};
	rw_reasm_tcp_stats(&r, &st);
	assert_int_equal(st.mss, 1448);
	assert_false(st.mss_from_syn);
	assert_int_equal(st.max_retransmit, 1448);
	assert_int_equal(st.retransmitted_bytes, 300 + 1448);
	rw_reasm_free(&r);
}

/* Captured on the sender with TSO: the first transmission is one
 * super-segment, the retransmissions are MSS-sized. Judged against the MSS,
 * not the largest segment, they are full size. */
static void test_tso_super_segment(void **state)
{
	(void)state;
	static uint8_t big[65536];
	memset(big, 't', sizeof(big));
	struct sink k = {0};
	struct rw_reasm r;
	rw_reasm_init(&r, &ops, &k, 1, 1 << 16);
	rw_reasm_syn(&r, 0);
	rw_reasm_syn_options(&r, 1460, true);
	rw_reasm_syn_options(&r, 1460, true);
	rw_reasm_ack(&r, 0, 1);
	uint32_t s0 = 1;
	rw_reasm_segment(&r, 1, s0, big, 2896, 2896);
	for (int t = 0; t < 3; t++)
		rw_reasm_segment(&r, 2 + t, s0, big, 1448, 1448);
	rw_reasm_segment(&r, 5, s0 + 1448, big, 1448, 1448);
	struct rw_tcp_stats st = {0};
	rw_reasm_tcp_stats(&r, &st);
	assert_int_equal(st.max_segment, 2896);
	assert_int_equal(st.mss, 1448);
	assert_true(st.mss_from_syn);
	assert_int_equal(st.retransmits, 4);
	assert_int_equal(st.max_retransmit, 1448);
	assert_int_equal(st.large_unacked_retransmits, 2);
	rw_reasm_free(&r);

	/* A 64 KiB GSO retransmission counts as the 45 segments it was; those
	 * the peer acknowledged (the first 10) do not. */
	struct sink k2 = {0};
	rw_reasm_init(&r, &ops, &k2, 1, 1 << 16);
	rw_reasm_syn(&r, 0);
	rw_reasm_syn_options(&r, 1460, true);
	rw_reasm_ack(&r, 0, 1);
	rw_reasm_segment(&r, 1, 1, big, 65160, 65160);
	rw_reasm_segment(&r, 2, 1, big, 65160, 65160);
	rw_reasm_ack(&r, 3, 1 + 10 * 1448);
	rw_reasm_tcp_stats(&r, &st);
	assert_int_equal(st.large_unacked_retransmits, 45 - 10);
	rw_reasm_free(&r);
}

/* With the MSS known, a small segment retransmitted and never acknowledged
 * is not full size, even when it is the largest one seen (heavy loss, not
 * an MTU black hole). */
static void test_small_rtx_not_full_size(void **state)
{
	(void)state;
	struct sink k = {0};
	struct rw_reasm r;
	rw_reasm_init(&r, &ops, &k, 1, 1 << 16);
	rw_reasm_syn(&r, 0);
	rw_reasm_syn_options(&r, 1460, false);
	rw_reasm_ack(&r, 0, 1);
	for (int t = 0; t < 4; t++)
		rw_reasm_segment(&r, 1 + t, 1, stream, 700, 700);
	struct rw_tcp_stats st = {0};
	rw_reasm_tcp_stats(&r, &st);
	assert_int_equal(st.max_segment, 700);
	assert_int_equal(st.retransmits, 3);
	assert_int_equal(st.large_unacked_retransmits, 0);
	/* Within the room SACK blocks take, a segment is still full size. */
	rw_reasm_segment(&r, 6, 701, stream, 1440, 1440);
	rw_reasm_segment(&r, 7, 701, stream, 1440, 1440);
	rw_reasm_tcp_stats(&r, &st);
	assert_int_equal(st.large_unacked_retransmits, 1);
	rw_reasm_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_in_order_no_copy),
	        cmocka_unit_test(test_reversed),
	        cmocka_unit_test(test_permutations),
	        cmocka_unit_test(test_permutations_bounded),
	        cmocka_unit_test(test_first_received_wins),
	        cmocka_unit_test(test_wraparound),
	        cmocka_unit_test(test_gap_when_bound_exceeded),
	        cmocka_unit_test(test_bound_zero),
	        cmocka_unit_test(test_fin_waits_for_data),
	        cmocka_unit_test(test_flush_declares_gaps_then_fin),
	        cmocka_unit_test(test_data_after_fin),
	        cmocka_unit_test(test_acked_hole_is_gap),
	        cmocka_unit_test(test_snaplen_cut_segment),
	        cmocka_unit_test(test_count_only),
	        cmocka_unit_test(test_large_unacked_retransmits),
	        cmocka_unit_test(test_capture_gaps),
	        cmocka_unit_test(test_full_size),
	        cmocka_unit_test(test_tso_super_segment),
	        cmocka_unit_test(test_small_rtx_not_full_size),
	};
	return cmocka_run_group_tests(tests, fill_stream, NULL);
}
