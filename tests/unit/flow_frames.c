/* The flow-table tests' harness: synthetic segments (flow_frames.h). */
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

/* ---- records the capture reports ----------------------------------------- */

struct rw_record recs[MAX_RECS];
size_t n_recs;

void on_record(const struct rw_record *rec, void *arg)
{
	(void)arg;
	assert_true(n_recs < MAX_RECS);
	recs[n_recs] = *rec;
	recs[n_recs].token = NULL; /* owned by the session, freed after this call */
	n_recs++;
}

/* ---- synthetic packets ----------------------------------------------------- */

uint64_t now_us = 1700000000ull * 1000000ull;

/* Where packets go: straight into the capture, or into a pcap file. */
struct rw_capture *cap;
pcap_dumper_t *dumper;

void emit(const uint8_t *frame, size_t n)
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
void seg_at(struct conn *c, bool from_client, uint8_t flags, uint32_t seq, uint32_t ack,
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
void seg(struct conn *c, bool from_client, uint8_t flags, const void *data, size_t len)
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

struct conn conn4(uint8_t client_last, uint16_t cport, uint16_t sport)
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

void handshake(struct conn *c)
{
	seg(c, true, RW_TCP_SYN, NULL, 0);
	seg(c, false, RW_TCP_SYN | RW_TCP_ACK, NULL, 0);
	seg(c, true, RW_TCP_ACK, NULL, 0);
}

/* The client's SYN and handshake ACK; the SYN-ACK is not captured. */
void handshake_client_only(struct conn *c)
{
	seg(c, true, RW_TCP_SYN, NULL, 0);
	c->sseq += 1;
	seg(c, true, RW_TCP_ACK, NULL, 0);
}

void close_both(struct conn *c)
{
	seg(c, true, RW_TCP_FIN, NULL, 0);
	seg(c, false, RW_TCP_FIN, NULL, 0);
	seg(c, true, RW_TCP_ACK, NULL, 0);
}

int setup(void **state)
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

int teardown(void **state)
{
	(void)state;
	rw_capture_free(cap);
	cap = NULL;
	return 0;
}

void new_capture(const struct rw_capture_config *cfg)
{
	rw_capture_free(cap);
	cap = rw_capture_new(cfg, on_record, NULL);
	assert_non_null(cap);
}

void check_endpoints(const struct rw_record *r, const struct conn *c)
{
	assert_int_equal(r->client.family, c->family);
	assert_int_equal(r->client.port, c->cport);
	assert_int_equal(r->server.port, c->sport);
	assert_memory_equal(r->client.addr, c->caddr, c->family == AF_INET ? 4 : 16);
	assert_memory_equal(r->server.addr, c->saddr, c->family == AF_INET ? 4 : 16);
}

bool has_evidence(const struct rw_record *r, const char *needle)
{
	for (size_t i = 0; i < r->verdict.n_evidence; i++)
		if (strstr(r->verdict.evidence[i], needle))
			return true;
	return false;
}

size_t client_hello_record(uint8_t *out, size_t room)
{
	assert_true(room > 9);
	size_t n = rw_test_hex(ch_tls12, out + 9, room - 9);
	assert_true(n > 0);
	const uint8_t head[9] = {0x16,
	                         0x03,
	                         0x01,
	                         (uint8_t)((n + 4) >> 8),
	                         (uint8_t)(n + 4),
	                         0x01,
	                         0x00,
	                         (uint8_t)(n >> 8),
	                         (uint8_t)n};
	memcpy(out, head, sizeof(head));
	return n + 9;
}
