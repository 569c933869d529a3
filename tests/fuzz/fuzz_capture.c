/* The capture engine (capture/flow_table.c + decode.c + reassembly.c + the
 * session): packets in, records out through the callback, which checks and
 * formats each record as JSON and text.
 *
 * Input: a 2-byte header, then packets.
 *   byte 0  config: bit 0 detect_any_port; bits 1-2 max_flows (default, 1, 2,
 *           4); bits 3-4 idle_timeout (default, 1 s, 1 ms, 60 s); bits 5-6
 *           max_ooo_bytes (default, 1, 100, 4096); bit 7 ports {3389, 443}
 *           instead of the defaults
 *   byte 1  link type of raw packets (same list as fuzz_decode)
 * Each packet starts with an op byte; op >> 6 says what follows:
 *   0, 1  a TCP segment the harness builds (Ethernet, IPv4 or IPv6, TCP):
 *         op bits 0-1 flow (4 client ports/addresses), bit 2 direction
 *         (1 = server to client), bits 3-5 time step (8^k - 1 us), bit 6 IPv6;
 *         then flags u8 (TCP flags; 0x20 another TTL, 0x40 IP "more
 *         fragments", 0x80 cut the capture to half the payload), seq u16 and
 *         ack u16 (offsets from each side's initial sequence number), payload
 *         length u16 and the payload
 *   2     a raw frame: length u16, time step u8 (us), then the frame
 *   3     rw_capture_expire at the current time + u16 ms
 * Each frame is an exact-size heap copy. */
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "decode.h"
#include "fuzz_util.h"
#include "record.h"

#define CLIENT_ISN 0x10000000u
#define SERVER_ISN 0xfffff000u /* wraps: sequence arithmetic modulo 2^32 */

struct state {
	uint64_t records;
	uint32_t sel;
};

static void on_record(const struct rw_record *rec, void *arg)
{
	struct state *st = arg;
	st->records++;
	FUZZ_CHECK(rec != NULL);
	fuzz_check_record(rec, st->sel++);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* Ethernet + IP + 20-byte TCP header + payload; returns the frame length. */
static size_t build(uint8_t *f, unsigned flow, bool s2c, bool v6, uint8_t flags, uint32_t seq,
                    uint32_t ack, const uint8_t *pl, size_t n)
{
	uint8_t cli[16] = {0}, srv[16] = {0};
	uint16_t cport = (uint16_t)(50000 + flow), sport = flow == 3 ? 443 : 3389;
	if (v6) {
		cli[0] = srv[0] = 0x20;
		cli[1] = srv[1] = 0x01;
		cli[15] = (uint8_t)(1 + flow);
		srv[15] = 100;
	} else {
		cli[0] = srv[0] = 10;
		cli[3] = (uint8_t)(1 + flow);
		srv[3] = 100;
	}
	memset(f, 0, 14);
	f[5] = s2c ? 2 : 1;
	f[11] = s2c ? 1 : 2;
	put16(f + 12, v6 ? 0x86DD : 0x0800);
	uint8_t *ip = f + 14;
	size_t iplen;
	const uint8_t *src = s2c ? srv : cli, *dst = s2c ? cli : srv;
	uint8_t ttl = (flags & 0x20) ? 50 : s2c ? 128 : 64;
	if (v6) {
		iplen = 40;
		memset(ip, 0, 40);
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)(20 + n));
		ip[6] = 6;
		ip[7] = ttl;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
	} else {
		iplen = 20;
		memset(ip, 0, 20);
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(20 + 20 + n));
		if (flags & 0x40)
			ip[6] = 0x20; /* more fragments */
		ip[8] = ttl;
		ip[9] = 6;
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, dst, 4);
	}
	uint8_t *tcp = ip + iplen;
	memset(tcp, 0, 20);
	put16(tcp, s2c ? sport : cport);
	put16(tcp + 2, s2c ? cport : sport);
	put32(tcp + 4, seq);
	put32(tcp + 8, ack);
	tcp[12] = 5 << 4;
	tcp[13] = flags & 0x1F;
	put16(tcp + 14, 65535);
	memcpy(tcp + 20, pl, n);
	return 14 + iplen + 20 + n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	uint8_t c = fuzz_u8(&in);
	int raw_dlt = fuzz_dlts[fuzz_u8(&in) % FUZZ_N_DLTS];

	struct rw_capture_config cfg;
	rw_capture_config_defaults(&cfg);
	cfg.detect_any_port = c & 1;
	static const size_t flows[4] = {0, 1, 2, 4};
	static const uint64_t idle[4] = {0, 1000000, 1000, 60000000};
	static const size_t ooo[4] = {0, 1, 100, 4096};
	if (flows[(c >> 1) & 3])
		cfg.max_flows = flows[(c >> 1) & 3];
	if (idle[(c >> 3) & 3])
		cfg.idle_timeout_us = idle[(c >> 3) & 3];
	if ((c >> 5) & 3)
		cfg.max_ooo_bytes = ooo[(c >> 5) & 3];
	if (c & 128) {
		cfg.n_ports = 2;
		cfg.ports[0] = 3389;
		cfg.ports[1] = 443;
	}

	struct state st = {0, (uint32_t)size};
	struct rw_capture *cap = rw_capture_new(&cfg, on_record, &st);
	FUZZ_CHECK(cap != NULL);
	uint64_t ts = 1700000000ull * 1000000;
	uint64_t packets = 0;
	static uint8_t frame[14 + 40 + 20 + 65535];

	while (in.n > 0) {
		uint8_t op = fuzz_u8(&in);
		switch (op >> 6) {
		case 0:
		case 1: {
			unsigned flow = op & 3;
			bool s2c = op & 4;
			unsigned step = (op >> 3) & 7;
			bool v6 = op & 64;
			uint8_t flags = fuzz_u8(&in);
			uint32_t seq = (s2c ? SERVER_ISN : CLIENT_ISN) + fuzz_u16(&in);
			uint32_t ack = (s2c ? CLIENT_ISN : SERVER_ISN) + fuzz_u16(&in);
			size_t want = fuzz_u16(&in), got;
			const uint8_t *pl = fuzz_bytes(&in, want, &got);
			ts += (1ull << (3 * step)) - 1;
			size_t len = build(frame, flow, s2c, v6, flags, seq, ack, pl, got);
			size_t caplen = (flags & 0x80) ? len - got / 2 : len;
			uint8_t *f = fuzz_dup(frame, caplen);
			rw_capture_packet(cap, RW_DLT_EN10MB, ts, f, caplen, len);
			free(f);
			packets++;
			break;
		}
		case 2: {
			size_t want = fuzz_u16(&in), got;
			ts += fuzz_u8(&in);
			const uint8_t *p = fuzz_bytes(&in, want, &got);
			uint8_t *f = fuzz_dup(p, got);
			rw_capture_packet(cap, raw_dlt, ts, f, got, got + (op & 0x3F));
			free(f);
			packets++;
			break;
		}
		default:
			rw_capture_expire(cap, ts + (uint64_t)fuzz_u16(&in) * 1000);
			break;
		}
	}
	rw_capture_finish(cap);
	const struct rw_capture_stats *stats = rw_capture_stats(cap);
	FUZZ_CHECK(stats != NULL);
	FUZZ_CHECK(stats->packets == packets);
	FUZZ_CHECK(stats->records == st.records);
	rw_capture_free(cap);
	return 0;
}
