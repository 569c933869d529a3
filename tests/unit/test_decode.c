#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "decode.h"
#include "testutil.h"

/* Frame builder: link header + IP header (+ options / extension headers) +
 * TCP header (+ options) + payload. */
struct frame {
	uint8_t b[512];
	size_t n;
	size_t headers; /* bytes before the TCP payload */
};

static const uint8_t payload[] = "\x03\x00\x00\x13\x0e\xe0\x00\x00\x00\x00\x00\x01\x00\x08\x00"
                                 "\x03\x00\x00\x00";
#define PAYLOAD_LEN (sizeof(payload) - 1)

static size_t tcp_header(uint8_t *p, size_t optlen)
{
	size_t hl = 20 + optlen;
	memset(p, 0, hl);
	rw_test_put16(p, 50000);
	rw_test_put16(p + 2, 3389);
	rw_test_put32(p + 4, 0x11223344);
	rw_test_put32(p + 8, 0xAABBCCDD);
	p[12] = (uint8_t)((hl / 4) << 4);
	p[13] = RW_TCP_ACK | RW_TCP_PSH;
	rw_test_put16(p + 14, 64240);
	for (size_t i = 20; i < hl; i++)
		p[i] = 1; /* NOP options */
	return hl;
}

/* IPv4 at p: ihl_words 5..15; returns IP datagram length. */
static size_t ipv4(uint8_t *p, unsigned ihl_words, size_t tcpopt, size_t *headers)
{
	size_t ihl = ihl_words * 4;
	memset(p, 0, ihl);
	p[0] = (uint8_t)(0x40 | ihl_words);
	p[6] = 0x40; /* DF */
	p[8] = 117;  /* TTL */
	p[9] = 6;
	uint8_t src[4] = {192, 0, 2, 1}, dst[4] = {198, 51, 100, 7};
	memcpy(p + 12, src, 4);
	memcpy(p + 16, dst, 4);
	for (size_t i = 20; i < ihl; i++)
		p[i] = 1; /* NOP options */
	size_t th = tcp_header(p + ihl, tcpopt);
	memcpy(p + ihl + th, payload, PAYLOAD_LEN);
	size_t total = ihl + th + PAYLOAD_LEN;
	rw_test_put16(p + 2, (uint16_t)total);
	*headers = ihl + th;
	return total;
}

/* IPv6 with the given extension header chain (types), then TCP. */
static size_t ipv6(uint8_t *p, const uint8_t *ext, size_t n_ext, size_t *headers)
{
	memset(p, 0, 40);
	p[0] = 0x60;
	p[7] = 63; /* hop limit */
	p[8] = 0x20;
	p[9] = 0x01;
	p[23] = 1;
	p[24] = 0x20;
	p[25] = 0x01;
	p[39] = 2;
	size_t off = 40;
	uint8_t *nh = p + 6;
	for (size_t i = 0; i < n_ext; i++) {
		*nh = ext[i];
		uint8_t *h = p + off;
		size_t len;
		if (ext[i] == 44) {
			len = 8;
			memset(h, 0, 8);
			rw_test_put32(h + 4, 0x1234);
		} else if (ext[i] == 51) {
			len = 16; /* (2 + 2) * 4 */
			memset(h, 0, len);
			h[1] = 2;
		} else {
			len = 16; /* (1 + 1) * 8 */
			memset(h, 0, len);
			h[1] = 1;
			h[2] = 1; /* PadN */
			h[3] = 12;
		}
		nh = h;
		off += len;
	}
	*nh = 6;
	size_t th = tcp_header(p + off, 12);
	memcpy(p + off + th, payload, PAYLOAD_LEN);
	rw_test_put16(p + 4, (uint16_t)(off - 40 + th + PAYLOAD_LEN));
	*headers = off + th;
	return off + th + PAYLOAD_LEN;
}

static void eth(struct frame *f, const uint16_t *tags, size_t n_tags, uint16_t type)
{
	memset(f->b, 0, 12);
	f->b[0] = 0x02;
	f->b[6] = 0x02;
	f->b[11] = 1;
	size_t off = 12;
	for (size_t i = 0; i < n_tags; i++) {
		rw_test_put16(f->b + off, tags[i]);
		rw_test_put16(f->b + off + 2, (uint16_t)(100 + i));
		off += 4;
	}
	rw_test_put16(f->b + off, type);
	f->n = off + 2;
}

static void add_ipv4(struct frame *f)
{
	size_t h;
	size_t n = ipv4(f->b + f->n, 5, 0, &h);
	f->headers = f->n + h;
	f->n += n;
}

static void add_ipv6(struct frame *f, const uint8_t *ext, size_t n_ext)
{
	size_t h;
	size_t n = ipv6(f->b + f->n, ext, n_ext, &h);
	f->headers = f->n + h;
	f->n += n;
}

/* Off for random frames, whose payload is anything. */
static bool check_payload = true;

static int decode(int dlt, const struct frame *f, size_t len, struct rw_packet *pkt)
{
	/* Exactly len bytes on the heap: reading past them trips ASan. */
	uint8_t *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, f->b, len);
	pkt->ts_us = 42;
	int rc = rw_decode_packet(dlt, copy, len, pkt);
	if (rc == 0 && check_payload) {
		assert_true(pkt->payload >= copy && pkt->payload + pkt->payload_len <= copy + len);
		/* The payload pointer must survive the copy: check it now. */
		assert_memory_equal(pkt->payload, payload, pkt->payload_len);
		pkt->payload = NULL;
	}
	free(copy);
	return rc;
}

static void check_v4(const struct rw_packet *p)
{
	static const uint8_t src[4] = {192, 0, 2, 1}, dst[4] = {198, 51, 100, 7};
	assert_int_equal(p->family, AF_INET);
	assert_memory_equal(p->src, src, 4);
	assert_memory_equal(p->dst, dst, 4);
	assert_int_equal(p->ttl, 117);
}

static void check_v6(const struct rw_packet *p)
{
	assert_int_equal(p->family, AF_INET6);
	assert_int_equal(p->src[0], 0x20);
	assert_int_equal(p->src[15], 1);
	assert_int_equal(p->dst[15], 2);
	assert_int_equal(p->ttl, 63);
}

static void check_tcp(const struct rw_packet *p)
{
	assert_int_equal(p->ts_us, 42);
	assert_int_equal(p->sport, 50000);
	assert_int_equal(p->dport, 3389);
	assert_int_equal(p->seq, 0x11223344);
	assert_int_equal(p->ack, 0xAABBCCDD);
	assert_int_equal(p->flags, RW_TCP_ACK | RW_TCP_PSH);
	assert_int_equal(p->window, 64240);
}

/* Full frame decodes; every prefix shorter than the headers is an error;
 * longer prefixes decode with the payload marked truncated. */
static void check_frame(int dlt, const struct frame *f, int family)
{
	struct rw_packet p;
	assert_int_equal(decode(dlt, f, f->n, &p), RW_DECODE_OK);
	check_tcp(&p);
	if (family == AF_INET)
		check_v4(&p);
	else
		check_v6(&p);
	assert_int_equal(p.payload_len, PAYLOAD_LEN);
	assert_int_equal(p.seg_len, PAYLOAD_LEN);
	assert_false(p.payload_truncated);
	for (size_t len = 0; len < f->n; len++) {
		int rc = decode(dlt, f, len, &p);
		if (len < f->headers) {
			assert_true(rc < 0);
			assert_int_equal(rc, RW_DECODE_TRUNCATED);
		} else {
			assert_int_equal(rc, RW_DECODE_OK);
			assert_int_equal(p.payload_len, len - f->headers);
			assert_int_equal(p.seg_len, PAYLOAD_LEN);
			assert_true(p.payload_truncated);
		}
	}
}

static void test_ethernet(void **state)
{
	(void)state;
	struct frame f;
	eth(&f, NULL, 0, 0x0800);
	add_ipv4(&f);
	check_frame(1, &f, AF_INET);
	eth(&f, NULL, 0, 0x86DD);
	add_ipv6(&f, NULL, 0);
	check_frame(1, &f, AF_INET6);
}

static void test_ethernet_padding(void **state)
{
	(void)state;
	/* A short segment padded to the Ethernet minimum: the IP length, not
	 * the frame, bounds the payload. */
	struct frame f;
	eth(&f, NULL, 0, 0x0800);
	size_t h;
	uint8_t *ip = f.b + f.n;
	ipv4(ip, 5, 0, &h);
	rw_test_put16(ip + 2, 40 + 2); /* 2 payload bytes */
	f.n = 14 + 42;
	memset(f.b + f.n, 0xEE, 60 - f.n);
	f.n = 60;
	struct rw_packet p;
	assert_int_equal(decode(1, &f, f.n, &p), RW_DECODE_OK);
	assert_int_equal(p.payload_len, 2);
	assert_int_equal(p.seg_len, 2);
	assert_false(p.payload_truncated);
}

static void test_vlan(void **state)
{
	(void)state;
	static const uint16_t one[] = {0x8100};
	static const uint16_t qinq[] = {0x88A8, 0x8100};
	static const uint16_t three[] = {0x9100, 0x88A8, 0x8100};
	struct frame f;
	eth(&f, one, 1, 0x0800);
	add_ipv4(&f);
	check_frame(1, &f, AF_INET);
	eth(&f, qinq, 2, 0x86DD);
	add_ipv6(&f, NULL, 0);
	check_frame(1, &f, AF_INET6);
	eth(&f, three, 3, 0x0800);
	add_ipv4(&f);
	check_frame(1, &f, AF_INET);
	/* Endless tags are malformed, not a loop. */
	uint16_t many[20];
	for (size_t i = 0; i < 20; i++)
		many[i] = 0x8100;
	eth(&f, many, 20, 0x0800);
	add_ipv4(&f);
	struct rw_packet p;
	assert_int_equal(decode(1, &f, f.n, &p), RW_DECODE_BAD_HEADER);
}

static void test_pppoe_mpls(void **state)
{
	(void)state;
	struct frame f;
	eth(&f, NULL, 0, 0x8864);
	uint8_t *h = f.b + f.n;
	h[0] = 0x11;
	h[1] = 0;
	rw_test_put16(h + 2, 0x1234);
	rw_test_put16(h + 4, 0); /* length: not relied on */
	rw_test_put16(h + 6, 0x0021);
	f.n += 8;
	add_ipv4(&f);
	check_frame(1, &f, AF_INET);

	eth(&f, NULL, 0, 0x8847);
	h = f.b + f.n;
	rw_test_put32(h, (100u << 12) | 64);             /* label 100, not bottom */
	rw_test_put32(h + 4, (200u << 12) | 0x100 | 64); /* label 200, bottom of stack */
	f.n += 8;
	add_ipv6(&f, NULL, 0);
	check_frame(1, &f, AF_INET6);
}

static void test_linux_cooked(void **state)
{
	(void)state;
	struct frame f;
	memset(f.b, 0, 16);
	rw_test_put16(f.b, 4);     /* sent by us */
	rw_test_put16(f.b + 2, 1); /* ARPHRD_ETHER */
	rw_test_put16(f.b + 4, 6);
	rw_test_put16(f.b + 14, 0x0800);
	f.n = 16;
	add_ipv4(&f);
	check_frame(113, &f, AF_INET);

	memset(f.b, 0, 20);
	rw_test_put16(f.b, 0x86DD);
	rw_test_put32(f.b + 4, 3); /* ifindex */
	rw_test_put16(f.b + 8, 1);
	f.b[10] = 0;
	f.b[11] = 6;
	f.n = 20;
	add_ipv6(&f, NULL, 0);
	check_frame(276, &f, AF_INET6);

	/* VLAN tag re-inserted by libpcap in cooked mode. */
	memset(f.b, 0, 16);
	rw_test_put16(f.b + 14, 0x8100);
	rw_test_put16(f.b + 16, 5);
	rw_test_put16(f.b + 18, 0x0800);
	f.n = 20;
	add_ipv4(&f);
	check_frame(113, &f, AF_INET);
}

static void test_raw(void **state)
{
	(void)state;
	static const int raw[] = {12, 14, 101};
	struct frame f;
	for (size_t i = 0; i < 3; i++) {
		f.n = 0;
		add_ipv4(&f);
		check_frame(raw[i], &f, AF_INET);
		f.n = 0;
		add_ipv6(&f, NULL, 0);
		check_frame(raw[i], &f, AF_INET6);
	}
	f.n = 0;
	add_ipv4(&f);
	check_frame(228, &f, AF_INET);
	struct rw_packet p;
	assert_int_equal(decode(229, &f, f.n, &p), RW_DECODE_BAD_HEADER);
	f.n = 0;
	add_ipv6(&f, NULL, 0);
	check_frame(229, &f, AF_INET6);
	assert_int_equal(decode(228, &f, f.n, &p), RW_DECODE_BAD_HEADER);
	/* Neither 4 nor 6. */
	f.b[0] = 0x50;
	assert_int_equal(decode(12, &f, f.n, &p), RW_DECODE_NOT_IP);
}

static void test_loopback(void **state)
{
	(void)state;
	struct frame f;
	struct rw_packet p;
	static const uint32_t af6[] = {24, 28, 30};
	for (int dlt = 0; dlt <= 108; dlt += 108) {
		/* Host order (little-endian capturer) and network order. */
		f.n = 4;
		memset(f.b, 0, 4);
		f.b[0] = 2;
		add_ipv4(&f);
		check_frame(dlt, &f, AF_INET);
		f.n = 4;
		rw_test_put32(f.b, 2);
		add_ipv4(&f);
		check_frame(dlt, &f, AF_INET);
		for (size_t i = 0; i < 3; i++) {
			f.n = 4;
			rw_test_put32(f.b, af6[i]);
			add_ipv6(&f, NULL, 0);
			check_frame(dlt, &f, AF_INET6);
			f.n = 4;
			memset(f.b, 0, 4);
			f.b[0] = (uint8_t)af6[i];
			add_ipv6(&f, NULL, 0);
			check_frame(dlt, &f, AF_INET6);
		}
		rw_test_put32(f.b, 7);
		assert_int_equal(decode(dlt, &f, f.n, &p), RW_DECODE_NOT_IP);
	}
}

static void test_ipv4_options(void **state)
{
	(void)state;
	struct frame f;
	size_t h;
	f.n = ipv4(f.b, 15, 40, &h); /* 40 bytes of IP options, 40 of TCP options */
	f.headers = h;
	assert_int_equal(h, 60 + 60);
	check_frame(12, &f, AF_INET);
}

static void test_ipv6_extension_headers(void **state)
{
	(void)state;
	static const uint8_t chain[] = {0, 60, 43, 44, 51, 60};
	struct frame f;
	f.n = 0;
	add_ipv6(&f, chain, sizeof(chain));
	check_frame(101, &f, AF_INET6);

	/* First fragment: TCP header here, payload incomplete. */
	static const uint8_t frag[] = {44};
	f.n = 0;
	add_ipv6(&f, frag, 1);
	f.b[40 + 3] = 1; /* M */
	struct rw_packet p;
	assert_int_equal(decode(101, &f, f.n, &p), RW_DECODE_OK);
	assert_true(p.ip_fragment);
	/* Non-first fragment: no TCP header. */
	rw_test_put16(f.b + 40 + 2, 185 << 3);
	assert_int_equal(decode(101, &f, f.n, &p), RW_DECODE_FRAGMENT);

	/* ESP, UDP: not TCP. */
	f.n = 0;
	add_ipv6(&f, NULL, 0);
	f.b[6] = 50;
	assert_int_equal(decode(101, &f, f.n, &p), RW_DECODE_NOT_TCP);
	f.b[6] = 17;
	assert_int_equal(decode(101, &f, f.n, &p), RW_DECODE_NOT_TCP);

	/* An extension header longer than the payload length. */
	static const uint8_t hbh[] = {0};
	f.n = 0;
	add_ipv6(&f, hbh, 1);
	f.b[41] = 200;
	assert_int_equal(decode(101, &f, f.n, &p), RW_DECODE_BAD_HEADER);

	/* A chain longer than any real one. */
	uint8_t longchain[20];
	memset(longchain, 60, sizeof(longchain));
	f.n = 0;
	add_ipv6(&f, longchain, sizeof(longchain));
	assert_int_equal(decode(101, &f, f.n, &p), RW_DECODE_BAD_HEADER);
}

static void test_ipv4_fragments(void **state)
{
	(void)state;
	struct frame f;
	struct rw_packet p;
	f.n = 0;
	add_ipv4(&f);
	f.b[6] = 0x20; /* MF, offset 0 */
	assert_int_equal(decode(12, &f, f.n, &p), RW_DECODE_OK);
	assert_true(p.ip_fragment);
	rw_test_put16(f.b + 6, 0x2000 | 185);
	assert_int_equal(decode(12, &f, f.n, &p), RW_DECODE_FRAGMENT);
	rw_test_put16(f.b + 6, 185); /* last fragment */
	assert_int_equal(decode(12, &f, f.n, &p), RW_DECODE_FRAGMENT);
}

static void test_bad_headers(void **state)
{
	(void)state;
	struct frame f;
	struct rw_packet p;
	f.n = 0;
	add_ipv4(&f);
	f.b[0] = 0x44; /* IHL 16 bytes */
	assert_int_equal(decode(12, &f, f.n, &p), RW_DECODE_BAD_HEADER);
	f.n = 0;
	add_ipv4(&f);
	rw_test_put16(f.b + 2, 10); /* total length shorter than the header */
	assert_int_equal(decode(12, &f, f.n, &p), RW_DECODE_BAD_HEADER);
	f.n = 0;
	add_ipv4(&f);
	rw_test_put16(f.b + 2, 30); /* room for half a TCP header */
	assert_int_equal(decode(12, &f, f.n, &p), RW_DECODE_BAD_HEADER);
	f.n = 0;
	add_ipv4(&f);
	f.b[20 + 12] = 0x40; /* TCP data offset 16 */
	assert_int_equal(decode(12, &f, f.n, &p), RW_DECODE_BAD_HEADER);
	f.n = 0;
	add_ipv4(&f);
	f.b[20 + 12] = 0xF0; /* TCP header longer than the datagram */
	assert_int_equal(decode(12, &f, f.n, &p), RW_DECODE_BAD_HEADER);
	f.n = 0;
	add_ipv4(&f);
	f.b[9] = 17;
	assert_int_equal(decode(12, &f, f.n, &p), RW_DECODE_NOT_TCP);
	/* Ethernet: ARP and 802.3 lengths are not IP; 0x0800 carrying v6 is bad. */
	eth(&f, NULL, 0, 0x0806);
	f.n += 28;
	assert_int_equal(decode(1, &f, f.n, &p), RW_DECODE_NOT_IP);
	eth(&f, NULL, 0, 0x0040);
	assert_int_equal(decode(1, &f, f.n, &p), RW_DECODE_NOT_IP);
	eth(&f, NULL, 0, 0x0800);
	add_ipv6(&f, NULL, 0);
	assert_int_equal(decode(1, &f, f.n, &p), RW_DECODE_BAD_HEADER);
	assert_int_equal(decode(147, &f, f.n, &p), RW_DECODE_UNSUPPORTED);
}

static void test_tso_zero_length(void **state)
{
	(void)state;
	struct frame f;
	struct rw_packet p;
	f.n = 0;
	add_ipv4(&f);
	rw_test_put16(f.b + 2, 0);
	assert_int_equal(decode(12, &f, f.n, &p), RW_DECODE_OK);
	assert_int_equal(p.payload_len, PAYLOAD_LEN);
	assert_false(p.payload_truncated);
}

/* Random bytes behind every link type: any result, never a crash. */
static void test_garbage(void **state)
{
	(void)state;
	static const int dlts[] = {0, 1, 12, 14, 101, 108, 113, 228, 229, 276};
	unsigned seed = 7;
	struct frame f;
	check_payload = false;
	for (int round = 0; round < 20000; round++) {
		size_t n = 0;
		for (size_t i = 0; i < 120; i++) {
			seed = seed * 1103515245u + 12345u;
			f.b[i] = (uint8_t)(seed >> 16);
		}
		seed = seed * 1103515245u + 12345u;
		n = (seed >> 16) % 121;
		/* Make the interesting paths likely. */
		if (round % 3 == 0 && n > 20) {
			f.b[12] = (round & 4) ? 0x86 : 0x08;
			f.b[13] = (round & 4) ? 0xDD : 0x00;
		}
		if (round % 5 == 0)
			f.b[0] = (round & 8) ? 0x45 : 0x60;
		struct rw_packet p;
		int rc = decode(dlts[round % 10], &f, n, &p);
		assert_true(rc <= 0 && rc >= RW_DECODE_UNSUPPORTED);
		if (rc == 0)
			assert_true(p.payload_len <= p.seg_len && p.payload_len <= n);
	}
	check_payload = true;
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(rw_decode_status_name(RW_DECODE_OK), "ok");
	assert_string_equal(rw_decode_status_name(RW_DECODE_NOT_IP), "not_ip");
	assert_string_equal(rw_decode_status_name(RW_DECODE_NOT_TCP), "not_tcp");
	assert_string_equal(rw_decode_status_name(RW_DECODE_TRUNCATED), "truncated");
	assert_string_equal(rw_decode_status_name(RW_DECODE_BAD_HEADER), "bad_header");
	assert_string_equal(rw_decode_status_name(RW_DECODE_FRAGMENT), "fragment");
	assert_string_equal(rw_decode_status_name(RW_DECODE_UNSUPPORTED), "unsupported_link_type");
	assert_string_equal(rw_decode_status_name(-99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_ethernet),
	        cmocka_unit_test(test_ethernet_padding),
	        cmocka_unit_test(test_vlan),
	        cmocka_unit_test(test_pppoe_mpls),
	        cmocka_unit_test(test_linux_cooked),
	        cmocka_unit_test(test_raw),
	        cmocka_unit_test(test_loopback),
	        cmocka_unit_test(test_ipv4_options),
	        cmocka_unit_test(test_ipv6_extension_headers),
	        cmocka_unit_test(test_ipv4_fragments),
	        cmocka_unit_test(test_bad_headers),
	        cmocka_unit_test(test_tso_zero_length),
	        cmocka_unit_test(test_garbage),
	        cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
