/* The proxy's pcap writer: files are read back with libpcap and every packet
 * is checked by an independent decoder here (headers, checksums recomputed,
 * sequence/acknowledgement continuity, payload bytes); then replayed through
 * the capture engine. Every committed golden capture is rewritten through the
 * writer (its payload stream, FINs and RSTs at the original times) and must
 * give the same verdict. The rewrites are left in RW_PCAPW_SAMPLE_DIR
 * (default /tmp/rdpwhy-pcapw-test) for tests/pcap_writer_tshark.sh. */
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

#include "capture.h"
#include "decode.h"
#include "pcap_writer.h"

#ifndef RW_TEST_DATA
#define RW_TEST_DATA "tests/data"
#endif

#define T0          1700000000123456ull /* 2023-11-14T22:13:20.123456Z */
#define MAX_PAYLOAD 1600

static const struct rw_endpoint cli4 = {.family = AF_INET, .addr = {192, 0, 2, 10}, .port = 50000};
static const struct rw_endpoint srv4 = {.family = AF_INET, .addr = {198, 51, 100, 7}, .port = 3389};
static const struct rw_endpoint cli6 = {
        .family = AF_INET6, .addr = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x10}, .port = 50000};
static const struct rw_endpoint srv6 = {
        .family = AF_INET6, .addr = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x07}, .port = 3389};

/* ---- scratch directories ------------------------------------------------- */

static void remove_files(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (!strncmp(e->d_name, prefix, strlen(prefix)))
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

static char *make_tmpdir(void)
{
	char *t = strdup("/tmp/rw-pcapw-XXXXXX");
	assert_non_null(t);
	assert_non_null(mkdtemp(t));
	return t;
}

static void remove_tmpdir(char *dir)
{
	remove_files(dir, "");
	assert_int_equal(rmdir(dir), 0);
	free(dir);
}

/* ---- an independent decoder ---------------------------------------------- */

struct pkt {
	uint64_t ts;
	size_t caplen, wirelen;
	uint8_t dst_mac[6], src_mac[6];
	int family;
	uint8_t src[16], dst[16];
	int ttl;
	uint16_t ip_id;
	bool df;
	bool ip_csum_ok, tcp_csum_ok;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	int mss; /* -1: no option */
	size_t len;
	uint8_t data[MAX_PAYLOAD];
};

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)be16(p) << 16 | be16(p + 2);
}

/* One's complement sum folded; 0xffff over a block holding its checksum. */
static uint16_t ocsum(uint32_t sum, const uint8_t *p, size_t n)
{
	for (; n > 1; p += 2, n -= 2)
		sum += be16(p);
	if (n)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void parse_frame(const uint8_t *f, size_t n, struct pkt *k)
{
	assert_true(n >= 14 + 20 + 20);
	memcpy(k->dst_mac, f, 6);
	memcpy(k->src_mac, f + 6, 6);
	uint16_t et = be16(f + 12);
	const uint8_t *ip = f + 14, *tcp;
	size_t tcp_len;
	uint8_t ph[40];
	size_t phn;
	if (et == 0x0800) {
		k->family = AF_INET;
		assert_int_equal(ip[0], 0x45);
		assert_int_equal(be16(ip + 2), n - 14);
		k->ip_id = be16(ip + 4);
		k->df = be16(ip + 6) == 0x4000;
		k->ttl = ip[8];
		assert_int_equal(ip[9], 6);
		k->ip_csum_ok = ocsum(0, ip, 20) == 0xffff;
		memcpy(k->src, ip + 12, 4);
		memcpy(k->dst, ip + 16, 4);
		tcp = ip + 20;
		tcp_len = n - 34;
		memcpy(ph, ip + 12, 8);
		ph[8] = 0;
		ph[9] = 6;
		ph[10] = (uint8_t)(tcp_len >> 8);
		ph[11] = (uint8_t)tcp_len;
		phn = 12;
	} else {
		assert_int_equal(et, 0x86dd);
		k->family = AF_INET6;
		assert_int_equal(ip[0] >> 4, 6);
		assert_int_equal(be16(ip + 4), n - 54);
		assert_int_equal(ip[6], 6);
		k->ttl = ip[7];
		k->ip_csum_ok = true;
		memcpy(k->src, ip + 8, 16);
		memcpy(k->dst, ip + 24, 16);
		tcp = ip + 40;
		tcp_len = n - 54;
		memcpy(ph, ip + 8, 32);
		ph[32] = (uint8_t)(tcp_len >> 24);
		ph[33] = (uint8_t)(tcp_len >> 16);
		ph[34] = (uint8_t)(tcp_len >> 8);
		ph[35] = (uint8_t)tcp_len;
		ph[36] = ph[37] = ph[38] = 0;
		ph[39] = 6;
		phn = 40;
	}
	k->tcp_csum_ok = ocsum(ocsum(0, ph, phn), tcp, tcp_len) == 0xffff;
	k->sport = be16(tcp);
	k->dport = be16(tcp + 2);
	k->seq = be32(tcp + 4);
	k->ack = be32(tcp + 8);
	size_t hl = (size_t)(tcp[12] >> 4) * 4;
	assert_true(hl >= 20 && hl <= tcp_len);
	k->flags = tcp[13];
	k->win = be16(tcp + 14);
	assert_int_equal(be16(tcp + 18), 0); /* urgent pointer */
	k->mss = -1;
	for (size_t i = 20; i < hl;) {
		if (tcp[i] == 0)
			break;
		if (tcp[i] == 1) {
			i++;
			continue;
		}
		assert_true(i + 1 < hl && tcp[i + 1] >= 2 && i + tcp[i + 1] <= hl);
		if (tcp[i] == 2 && tcp[i + 1] == 4)
			k->mss = be16(tcp + i + 2);
		i += tcp[i + 1];
	}
	k->len = tcp_len - hl;
	assert_true(k->len <= MAX_PAYLOAD);
	memcpy(k->data, tcp + hl, k->len);
}

/* Every packet of a file; the caller frees. */
static struct pkt *read_pcap(const char *path, size_t *count)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, ebuf);
	if (!p)
		fail_msg("%s: %s", path, ebuf);
	assert_int_equal(pcap_datalink(p), DLT_EN10MB);
	assert_int_equal(pcap_snapshot(p), 65535);
	size_t n = 0, cap = 64;
	struct pkt *v = malloc(cap * sizeof(*v));
	assert_non_null(v);
	struct pcap_pkthdr *h;
	const u_char *d;
	int rc;
	while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
		if (n == cap) {
			cap *= 2;
			v = realloc(v, cap * sizeof(*v));
			assert_non_null(v);
		}
		struct pkt *k = &v[n++];
		memset(k, 0, sizeof(*k));
		k->ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
		k->caplen = h->caplen;
		k->wirelen = h->len;
		parse_frame(d, h->caplen, k);
	}
	assert_int_equal(rc, PCAP_ERROR_BREAK); /* clean end of file */
	pcap_close(p);
	*count = n;
	return v;
}

/* ---- the checker: a TCP conversation as a receiver would follow it ------- */

struct conv {
	struct rw_endpoint ep[2]; /* as expected in the packets */
	size_t mss;
	bool syn[2], fin[2], rst, refused;
	uint32_t isn[2], nxt[2], acked[2]; /* acked[d]: highest ACK of d's bytes */
	uint16_t next_id[2];
	uint64_t last_ts;
	uint8_t *stream[2];
	size_t slen[2];
};

static bool same_addr(const struct rw_endpoint *e, const uint8_t *a, uint16_t port)
{
	size_t alen = e->family == AF_INET ? 4 : 16;
	return e->port == port && !memcmp(e->addr, a, alen);
}

static void conv_init(struct conv *c, const struct rw_endpoint *client,
                      const struct rw_endpoint *server)
{
	memset(c, 0, sizeof(*c));
	c->ep[RW_C2S] = *client;
	c->ep[RW_S2C] = *server;
	c->mss = client->family == AF_INET ? 1460 : 1440;
	c->next_id[0] = c->next_id[1] = 1;
}

static void conv_free(struct conv *c)
{
	free(c->stream[0]);
	free(c->stream[1]);
}

static void conv_packet(struct conv *c, const struct pkt *k, size_t i)
{
	static const uint8_t mac[2][6] = {{2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}};
	assert_false(c->rst); /* nothing after a RST */
	assert_int_equal(k->caplen, k->wirelen);
	assert_true(k->ip_csum_ok);
	assert_true(k->tcp_csum_ok);
	assert_true(k->ts >= c->last_ts);
	c->last_ts = k->ts;
	assert_int_equal(k->family, c->ep[0].family);
	int d = same_addr(&c->ep[RW_C2S], k->src, k->sport) ? RW_C2S : RW_S2C;
	if (!same_addr(&c->ep[d], k->src, k->sport))
		fail_msg("packet %zu: unknown source", i);
	int o = 1 - d;
	assert_true(same_addr(&c->ep[o], k->dst, k->dport));
	assert_memory_equal(k->src_mac, mac[d], 6);
	assert_memory_equal(k->dst_mac, mac[o], 6);
	assert_int_equal(k->ttl, d == RW_C2S ? 64 : 128);
	if (k->family == AF_INET) {
		assert_true(k->df);
		assert_int_equal(k->ip_id, c->next_id[d]);
		c->next_id[d]++;
	}
	assert_int_equal(k->win, 65535);
	bool ack = k->flags & RW_TCP_ACK;
	assert_int_equal(
	        k->flags & ~(RW_TCP_FIN | RW_TCP_SYN | RW_TCP_RST | RW_TCP_PSH | RW_TCP_ACK), 0);
	if (!ack)
		assert_int_equal(k->ack, 0);

	if (k->flags & RW_TCP_SYN) {
		assert_false(c->syn[d]);
		assert_int_equal(k->mss, (int)c->mss);
		assert_int_equal(k->len, 0);
		assert_int_equal(k->flags & (RW_TCP_FIN | RW_TCP_RST | RW_TCP_PSH), 0);
		if (d == RW_C2S) {
			assert_false(ack);
		} else {
			assert_true(c->syn[RW_C2S]);
			assert_true(ack);
			assert_int_equal(k->ack, c->nxt[RW_C2S]);
		}
		c->syn[d] = true;
		c->isn[d] = k->seq;
		c->nxt[d] = c->acked[d] = k->seq + 1;
		return;
	}
	assert_int_equal(k->mss, -1);
	assert_true(c->syn[RW_C2S]);
	if (!c->syn[RW_S2C]) {
		/* Before the SYN-ACK only a RST: a refusal or the client's abort. */
		assert_true(k->flags & RW_TCP_RST);
		assert_int_equal(k->len, 0);
		if (d == RW_S2C) {
			assert_int_equal(k->flags, RW_TCP_RST | RW_TCP_ACK);
			assert_int_equal(k->seq, 0);
			assert_int_equal(k->ack, c->nxt[RW_C2S]);
			c->refused = true;
		} else {
			assert_int_equal(k->flags, RW_TCP_RST);
			assert_int_equal(k->seq, c->nxt[RW_C2S]);
		}
		c->rst = true;
		return;
	}
	assert_true(ack);
	assert_int_equal(k->seq, c->nxt[d]);
	assert_int_equal(k->ack, c->nxt[o]);
	/* the ACK covers what the peer sent: never past it, never backwards */
	assert_true((int32_t)(k->ack - c->acked[o]) >= 0);
	c->acked[o] = k->ack;
	if (k->len) {
		assert_false(c->fin[d]);
		assert_true(k->len <= c->mss);
		c->stream[d] = realloc(c->stream[d], c->slen[d] + k->len);
		assert_non_null(c->stream[d]);
		memcpy(c->stream[d] + c->slen[d], k->data, k->len);
		c->slen[d] += k->len;
		c->nxt[d] += (uint32_t)k->len;
		/* bytes in flight stay within half the window */
		assert_true(c->nxt[d] - c->acked[d] <= 32768);
	} else {
		assert_false(k->flags & RW_TCP_PSH);
	}
	if (k->flags & RW_TCP_FIN) {
		assert_false(c->fin[d]);
		assert_false(k->flags & RW_TCP_RST);
		c->fin[d] = true;
		c->nxt[d]++;
	}
	if (k->flags & RW_TCP_RST) {
		assert_int_equal(k->len, 0);
		c->rst = true;
	}
}

/* Reads a file and runs every packet through the checker. */
static struct pkt *check_file(const char *path, struct conv *c, size_t *count)
{
	struct pkt *v = read_pcap(path, count);
	for (size_t i = 0; i < *count; i++)
		conv_packet(c, &v[i], i);
	return v;
}

struct exp {
	int dir;
	uint8_t flags;
	size_t len;
};

#define S   RW_TCP_SYN
#define A   RW_TCP_ACK
#define PA  (RW_TCP_PSH | RW_TCP_ACK)
#define FA  (RW_TCP_FIN | RW_TCP_ACK)
#define RA  (RW_TCP_RST | RW_TCP_ACK)
#define C2S RW_C2S
#define S2C RW_S2C

static void expect_packets(const struct pkt *v, size_t n, const struct exp *e, size_t ne)
{
	assert_int_equal(n, ne);
	for (size_t i = 0; i < n; i++) {
		bool from_client = v[i].dport == 3389;
		if (from_client != (e[i].dir == RW_C2S) || v[i].flags != e[i].flags ||
		    v[i].len != e[i].len)
			fail_msg("packet %zu: dir %s flags 0x%02x len %zu, expected %s 0x%02x %zu",
			         i, from_client ? "c2s" : "s2c", v[i].flags, v[i].len,
			         e[i].dir == RW_C2S ? "c2s" : "s2c", e[i].flags, e[i].len);
	}
}

static uint8_t *pattern(size_t n, unsigned seed)
{
	uint8_t *p = malloc(n ? n : 1);
	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed + (i >> 8));
	return p;
}

/* ---- capture engine ------------------------------------------------------ */

struct rec {
	struct rw_endpoint client, server;
	enum rw_cause cause;
	enum rw_side closed_by;
	enum rw_close_kind close_kind;
	enum rw_phase phase;
	size_t n_evidence;
	char evidence[RW_MAX_EVIDENCE][RW_EVIDENCE_LEN];
	uint64_t bytes[2];
	bool fin_seen[2], rst_seen[2];
	bool saw_syn, saw_synack, midstream;
	int connect_failed;
	bool cr_seen, cc_seen;
	uint32_t requested_protocols, selected_protocol;
	bool tls13, tls_established, client_hello_seen, server_hello_seen;
	char ja3_md5[33], ja3s_md5[33], ja4[40];
	uint32_t retransmits[2], gaps[2];
	int ttl_lo[2];
	uint64_t ts_open, ts_close;
};

struct recs {
	size_t n;
	struct rec r[4];
};

static void on_record(const struct rw_record *r, void *arg)
{
	struct recs *rs = arg;
	assert_true(rs->n < 4);
	struct rec *o = &rs->r[rs->n++];
	o->client = r->client;
	o->server = r->server;
	o->cause = r->verdict.cause;
	o->closed_by = r->verdict.closed_by;
	o->close_kind = r->verdict.close_kind;
	o->phase = r->verdict.phase;
	o->n_evidence = r->verdict.n_evidence;
	memcpy(o->evidence, r->verdict.evidence, sizeof(o->evidence));
	for (int d = 0; d < 2; d++) {
		o->bytes[d] = r->bytes[d];
		o->fin_seen[d] = r->fin_seen[d];
		o->rst_seen[d] = r->rst_seen[d];
		o->retransmits[d] = r->tcp[d].retransmits;
		o->gaps[d] = r->tcp[d].gaps;
		o->ttl_lo[d] = r->ttl_lo[d];
	}
	o->saw_syn = r->saw_syn;
	o->saw_synack = r->saw_synack;
	o->midstream = r->midstream;
	o->connect_failed = r->connect_failed;
	o->cr_seen = r->cr_seen;
	o->cc_seen = r->cc_seen;
	o->requested_protocols = r->requested_protocols;
	o->selected_protocol = r->selected_protocol;
	o->tls13 = r->tls13;
	o->tls_established = r->tls_established;
	o->client_hello_seen = r->client_hello_seen;
	o->server_hello_seen = r->server_hello_seen;
	memcpy(o->ja3_md5, r->ja3_md5, sizeof(o->ja3_md5));
	memcpy(o->ja3s_md5, r->ja3s_md5, sizeof(o->ja3s_md5));
	memcpy(o->ja4, r->ja4, sizeof(o->ja4));
	o->ts_open = r->ts_open_us;
	o->ts_close = r->ts_close_us;
}

static void replay(const char *path, struct recs *rs)
{
	memset(rs, 0, sizeof(*rs));
	struct rw_capture_config cfg;
	rw_capture_config_defaults(&cfg);
	struct rw_capture *c = rw_capture_new(&cfg, on_record, rs);
	assert_non_null(c);
	bool truncated;
	char err[256];
	if (rw_pcap_replay(path, NULL, c, &truncated, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_false(truncated);
	rw_capture_finish(c);
	const struct rw_capture_stats *st = rw_capture_stats(c);
	assert_int_equal(st->decode_errors, 0);
	rw_capture_free(c);
}

static void assert_endpoint(const struct rw_endpoint *a, const struct rw_endpoint *b)
{
	assert_int_equal(a->family, b->family);
	assert_memory_equal(a->addr, b->addr, a->family == AF_INET ? 4 : 16);
	assert_int_equal(a->port, b->port);
}

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

static void check_mode(mode_t mask)
{
	char *dir = make_tmpdir();
	char err[256];
	mode_t old = umask(mask);
	struct rw_pcapw *w = rw_pcapw_open(dir, &cli4, &srv4, T0, err, sizeof(err));
	umask(old);
	assert_non_null(w);
	struct stat st;
	assert_int_equal(stat(rw_pcapw_path(w), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(rw_pcapw_close(w), 0);
	remove_tmpdir(dir);
}

static void test_file_mode(void **state)
{
	(void)state;
	check_mode(0);
	check_mode(022);
	check_mode(0777);
}

static void test_names(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	char err[256], want[4096];
	struct rw_pcapw *w = rw_pcapw_open(dir, &cli4, &srv4, T0, err, sizeof(err));
	assert_non_null(w);
	snprintf(want, sizeof(want),
	         "%s/rdpwhy-20231114T221320.123456Z-192.0.2.10_50000-198.51.100.7_3389.pcap", dir);
	assert_string_equal(rw_pcapw_path(w), want);
	assert_int_equal(rw_pcapw_close(w), 0);

	/* a whole second, microseconds zero-padded */
	w = rw_pcapw_open(dir, &cli4, &srv4, 1700000000000042ull, err, sizeof(err));
	assert_non_null(w);
	assert_non_null(strstr(rw_pcapw_path(w), "/rdpwhy-20231114T221320.000042Z-192.0.2.10_"));
	assert_int_equal(rw_pcapw_close(w), 0);

	/* IPv4-mapped client, IPv4 server: written (and named) as IPv4 */
	struct rw_endpoint mapped = {
	        .family = AF_INET6,
	        .addr = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 10},
	        .port = 50001};
	w = rw_pcapw_open(dir, &mapped, &srv4, T0, err, sizeof(err));
	assert_non_null(w);
	assert_non_null(strstr(rw_pcapw_path(w), "Z-192.0.2.10_50001-198.51.100.7_3389.pcap"));
	char path[4096];
	snprintf(path, sizeof(path), "%s", rw_pcapw_path(w));
	assert_int_equal(rw_pcapw_close(w), 0);
	struct rw_endpoint c4 = cli4;
	c4.port = 50001;
	struct conv c;
	conv_init(&c, &c4, &srv4);
	size_t n;
	struct pkt *v = check_file(path, &c, &n);
	assert_int_equal(n, 3);
	free(v);
	conv_free(&c);

	/* IPv6 client, IPv4 server: the server becomes ::ffff:198.51.100.7 */
	w = rw_pcapw_open(dir, &cli6, &srv4, T0, err, sizeof(err));
	assert_non_null(w);
	assert_non_null(
	        strstr(rw_pcapw_path(w), "Z-2001-db8--10_50000---ffff-198.51.100.7_3389.pcap"));
	snprintf(path, sizeof(path), "%s", rw_pcapw_path(w));
	assert_int_equal(rw_pcapw_close(w), 0);
	struct rw_endpoint s6 = {
	        .family = AF_INET6, .addr = {[10] = 0xff, 0xff, 198, 51, 100, 7}, .port = 3389};
	conv_init(&c, &cli6, &s6);
	v = check_file(path, &c, &n);
	assert_int_equal(n, 3);
	free(v);
	conv_free(&c);
	remove_tmpdir(dir);
}

/* Same endpoints, same microsecond: "-1", "-2" ... before ".pcap"; an
 * existing file or symlink is never opened; after 100 names, a clean error. */
static void test_name_collisions(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	char err[256], base[1024], name[4096];
	snprintf(base, sizeof(base),
	         "%s/rdpwhy-20231114T221320.123456Z-192.0.2.10_50000-198.51.100.7_3389", dir);
	struct rw_pcapw *w[3];
	for (int i = 0; i < 3; i++) {
		w[i] = rw_pcapw_open(dir, &cli4, &srv4, T0, err, sizeof(err));
		assert_non_null(w[i]);
		if (i == 0)
			snprintf(name, sizeof(name), "%s.pcap", base);
		else
			snprintf(name, sizeof(name), "%s-%d.pcap", base, i);
		assert_string_equal(rw_pcapw_path(w[i]), name);
	}
	for (int i = 0; i < 3; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s", rw_pcapw_path(w[i]));
		assert_int_equal(rw_pcapw_close(w[i]), 0);
		struct conv c;
		conv_init(&c, &cli4, &srv4);
		size_t n;
		free(check_file(path, &c, &n));
		assert_int_equal(n, 3);
		conv_free(&c);
	}
	remove_files(dir, "rdpwhy-");

	/* a symlink planted at the name is left alone, and so is its target */
	char target[4096];
	snprintf(target, sizeof(target), "%s/target", dir);
	FILE *f = fopen(target, "w");
	assert_non_null(f);
	fputs("keep", f);
	fclose(f);
	snprintf(name, sizeof(name), "%s.pcap", base);
	assert_int_equal(symlink(target, name), 0);
	struct rw_pcapw *s = rw_pcapw_open(dir, &cli4, &srv4, T0, err, sizeof(err));
	assert_non_null(s);
	snprintf(name, sizeof(name), "%s-1.pcap", base);
	assert_string_equal(rw_pcapw_path(s), name);
	assert_int_equal(rw_pcapw_close(s), 0);
	struct stat st;
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_size, 4);
	remove_files(dir, "rdpwhy-");

	/* every name taken */
	for (int i = 0; i < 100; i++) {
		if (i == 0)
			snprintf(name, sizeof(name), "%s.pcap", base);
		else
			snprintf(name, sizeof(name), "%s-%d.pcap", base, i);
		int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
	err[0] = '\0';
	assert_null(rw_pcapw_open(dir, &cli4, &srv4, T0, err, sizeof(err)));
	assert_non_null(strstr(err, "File exists"));
	remove_tmpdir(dir);
}

static void test_errors(void **state)
{
	(void)state;
	char err[512];
	err[0] = '\0';
	assert_null(rw_pcapw_open("/nonexistent/rdpwhy-pcaps", &cli4, &srv4, T0, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/rdpwhy-pcaps/rdpwhy-"));
	assert_non_null(strstr(err, "No such file or directory"));

	char *dir = make_tmpdir();
	char file[4096];
	snprintf(file, sizeof(file), "%s/plain", dir);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	err[0] = '\0';
	assert_null(rw_pcapw_open(file, &cli4, &srv4, T0, err, sizeof(err)));
	assert_non_null(strstr(err, "Not a directory"));

	struct rw_endpoint bad = cli4;
	bad.family = 1;
	err[0] = '\0';
	assert_null(rw_pcapw_open(dir, &bad, &srv4, T0, err, sizeof(err)));
	assert_non_null(strstr(err, "family"));
	assert_null(rw_pcapw_open(NULL, &cli4, &srv4, T0, err, sizeof(err)));
	assert_null(rw_pcapw_open(dir, &cli4, NULL, T0, NULL, 0)); /* no message buffer */

	/* a name too long for the file system's limit */
	char deep[600];
	memset(deep, 'd', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = '\0';
	memcpy(deep, dir, strlen(dir));
	deep[strlen(dir)] = '/';
	assert_null(rw_pcapw_open(deep, &cli4, &srv4, T0, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot create"));

	/* nothing was left behind by the failures */
	remove_files(dir, "plain");
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		assert_true(e->d_name[0] == '.');
	closedir(d);

	struct rw_pcapw *w = rw_pcapw_open(dir, &cli4, &srv4, T0, err, sizeof(err));
	assert_non_null(w);
	uint8_t b = 0;
	assert_int_equal(rw_pcapw_data(w, (enum rw_dir)5, T0, &b, 1), -1);
	assert_int_equal(rw_pcapw_fin(w, (enum rw_dir) - 1, T0), -1);
	assert_int_equal(rw_pcapw_data(w, RW_C2S, T0, NULL, 1), -1);
	assert_int_equal(rw_pcapw_data(NULL, RW_C2S, T0, &b, 1), -1);
	assert_int_equal(rw_pcapw_close(w), 0);
	assert_int_equal(rw_pcapw_close(NULL), 0);
	assert_null(rw_pcapw_path(NULL));
	remove_tmpdir(dir);
}

/* A full disk, simulated with RLIMIT_FSIZE: the failing call returns -1
 * (EFBIG), every later one too, and close reports it. */
static void test_write_error(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	char err[256];
	struct rlimit old, lim;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
	struct rw_pcapw *w = rw_pcapw_open(dir, &cli4, &srv4, T0, err, sizeof(err));
	assert_non_null(w);
	lim = old;
	lim.rlim_cur = 64 * 1024;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	uint8_t *p = pattern(10000, 7);
	int rc = 0, i;
	for (i = 0; i < 40 && rc == 0; i++)
		rc = rw_pcapw_data(w, RW_C2S, T0 + (uint64_t)i, p, 10000);
	int e = errno;
	assert_int_equal(rc, -1);
	assert_int_equal(e, EFBIG);
	assert_true(i > 1);
	errno = 0;
	assert_int_equal(rw_pcapw_data(w, RW_S2C, T0 + 100, p, 10), -1);
	assert_int_equal(errno, EFBIG);
	assert_int_equal(rw_pcapw_fin(w, RW_C2S, T0 + 100), -1);
	assert_int_equal(rw_pcapw_close(w), -1);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_handler);
	free(p);
	remove_tmpdir(dir);
}

/* ---- golden captures rewritten ------------------------------------------- */

/* Turns one connection of a real capture into writer calls: the in-order
 * new bytes of each direction (retransmissions and keep-alive probes
 * dropped), each side's first FIN, the first RST, at the original times. */
struct rewrite {
	const char *dir;
	struct rw_pcapw *w;
	bool have_client, done;
	struct rw_endpoint client, server;
	uint32_t nxt[2];
	bool fin[2];
	char path[4096];
};

static void ep_from(struct rw_endpoint *e, int family, const uint8_t *a, uint16_t port)
{
	memset(e, 0, sizeof(*e));
	e->family = family;
	memcpy(e->addr, a, 16);
	e->port = port;
}

static void rewrite_packet(struct rewrite *rw, const struct rw_packet *k)
{
	if (rw->done)
		return;
	bool syn = k->flags & RW_TCP_SYN, ack = k->flags & RW_TCP_ACK;
	char err[256];
	if (syn && !ack && !rw->have_client) {
		ep_from(&rw->client, k->family, k->src, k->sport);
		ep_from(&rw->server, k->family, k->dst, k->dport);
		rw->have_client = true;
		rw->w = rw_pcapw_open_syn(rw->dir, &rw->client, &rw->server, k->ts_us, err,
		                          sizeof(err));
		if (!rw->w)
			fail_msg("%s", err);
		snprintf(rw->path, sizeof(rw->path), "%s", rw_pcapw_path(rw->w));
		rw->nxt[RW_C2S] = k->seq + 1;
		return;
	}
	assert_true(rw->have_client); /* the golden captures all begin with the SYN */
	enum rw_dir d = k->sport == rw->client.port ? RW_C2S : RW_S2C;
	if (syn) {
		if (d == RW_S2C && ack) {
			assert_int_equal(rw_pcapw_synack(rw->w, k->ts_us), 0);
			rw->nxt[RW_S2C] = k->seq + 1;
		}
		return;
	}
	if (k->flags & RW_TCP_RST) {
		assert_int_equal(rw_pcapw_rst(rw->w, d, k->ts_us), 0);
		rw->done = true;
		return;
	}
	uint32_t off = rw->nxt[d] - k->seq;
	if (k->seg_len) {
		assert_true((int32_t)off >= 0); /* no holes in these captures */
		if (off < k->seg_len) {
			assert_int_equal(k->payload_len, k->seg_len);
			assert_int_equal(rw_pcapw_data(rw->w, d, k->ts_us, k->payload + off,
			                               k->seg_len - off),
			                 0);
			rw->nxt[d] = k->seq + (uint32_t)k->seg_len;
		}
	}
	if ((k->flags & RW_TCP_FIN) && !rw->fin[d] && k->seq + (uint32_t)k->seg_len == rw->nxt[d]) {
		assert_int_equal(rw_pcapw_fin(rw->w, d, k->ts_us), 0);
		rw->fin[d] = true;
	}
}

static void rewrite_capture(const char *in, const char *outdir, char *out, size_t outlen)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(in, ebuf);
	if (!p)
		fail_msg("%s: %s", in, ebuf);
	int dlt = pcap_datalink(p);
	struct rewrite rw = {.dir = outdir};
	struct pcap_pkthdr *h;
	const u_char *d;
	while (pcap_next_ex(p, &h, &d) == 1) {
		struct rw_packet k;
		if (rw_decode_packet(dlt, d, h->caplen, &k) != RW_DECODE_OK)
			continue;
		k.ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
		rewrite_packet(&rw, &k);
	}
	pcap_close(p);
	assert_non_null(rw.w);
	assert_int_equal(rw_pcapw_close(rw.w), 0);
	snprintf(out, outlen, "%s", rw.path);

	/* the rewrite is a well-formed conversation by the checker's rules */
	struct conv c;
	conv_init(&c, &rw.client, &rw.server);
	size_t n;
	free(check_file(out, &c, &n));
	conv_free(&c);
}

static void assert_same_record(const char *name, const struct rec *a, const struct rec *b)
{
	if (a->cause != b->cause || a->closed_by != b->closed_by ||
	    a->close_kind != b->close_kind || a->phase != b->phase)
		fail_msg("%s: original %s/%s/%s/%s, rewrite %s/%s/%s/%s", name,
		         rw_cause_name(a->cause), rw_side_name(a->closed_by),
		         rw_close_kind_name(a->close_kind), rw_phase_name(a->phase),
		         rw_cause_name(b->cause), rw_side_name(b->closed_by),
		         rw_close_kind_name(b->close_kind), rw_phase_name(b->phase));
	assert_endpoint(&a->client, &b->client);
	assert_endpoint(&a->server, &b->server);
	assert_int_equal(a->n_evidence, b->n_evidence);
	for (size_t i = 0; i < a->n_evidence; i++)
		assert_string_equal(a->evidence[i], b->evidence[i]);
	for (int d = 0; d < 2; d++) {
		assert_int_equal(a->bytes[d], b->bytes[d]);
		assert_int_equal(a->fin_seen[d], b->fin_seen[d]);
		assert_int_equal(a->rst_seen[d], b->rst_seen[d]);
		assert_int_equal(b->retransmits[d], 0);
		assert_int_equal(b->gaps[d], 0);
	}
	assert_int_equal(a->saw_syn, b->saw_syn);
	assert_int_equal(a->saw_synack, b->saw_synack);
	assert_int_equal(a->connect_failed, b->connect_failed);
	assert_int_equal(a->cr_seen, b->cr_seen);
	assert_int_equal(a->cc_seen, b->cc_seen);
	assert_int_equal(a->requested_protocols, b->requested_protocols);
	assert_int_equal(a->selected_protocol, b->selected_protocol);
	assert_int_equal(a->tls13, b->tls13);
	assert_int_equal(a->tls_established, b->tls_established);
	assert_int_equal(a->client_hello_seen, b->client_hello_seen);
	assert_int_equal(a->server_hello_seen, b->server_hello_seen);
	assert_string_equal(a->ja3_md5, b->ja3_md5);
	assert_string_equal(a->ja3s_md5, b->ja3s_md5);
	assert_string_equal(a->ja4, b->ja4);
	assert_int_equal(a->ts_open, b->ts_open);
}

static void mkdir_ok(const char *path)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", path, strerror(errno));
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
}

static void test_golden_rewrites(void **state)
{
	(void)state;
	const char *sample = getenv("RW_PCAPW_SAMPLE_DIR");
	if (!sample || !*sample)
		sample = "/tmp/rdpwhy-pcapw-test";
	mkdir_ok(sample);
	char index[4096];
	snprintf(index, sizeof(index), "%s/index.tsv", RW_TEST_DATA);
	FILE *f = fopen(index, "r");
	if (!f)
		fail_msg("%s: %s", index, strerror(errno));
	char line[8192];
	size_t done = 0;
	assert_non_null(fgets(line, sizeof(line), f)); /* header */
	while (fgets(line, sizeof(line), f)) {
		char file[256], cause[64];
		if (sscanf(line, "%255[^\t]\t%63[^\t]", file, cause) != 2)
			continue;
		char in[4096], outdir[4096], out[4096];
		snprintf(in, sizeof(in), "%s/%s", RW_TEST_DATA, file);
		char stem[256];
		snprintf(stem, sizeof(stem), "%s", file);
		char *dot = strrchr(stem, '.');
		if (dot)
			*dot = '\0';
		snprintf(outdir, sizeof(outdir), "%s/%s", sample, stem);
		mkdir_ok(outdir);
		remove_files(outdir, "rdpwhy-");
		rewrite_capture(in, outdir, out, sizeof(out));

		struct recs a, b;
		replay(in, &a);
		replay(out, &b);
		assert_int_equal(a.n, 1);
		assert_int_equal(b.n, 1);
		assert_string_equal(rw_cause_name(a.r[0].cause), cause);
		assert_same_record(file, &a.r[0], &b.r[0]);
		done++;
	}
	fclose(f);
	assert_true(done >= 10);
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
	        cmocka_unit_test(test_file_mode),
	        cmocka_unit_test(test_names),
	        cmocka_unit_test(test_name_collisions),
	        cmocka_unit_test(test_errors),
	        cmocka_unit_test(test_write_error),
	        cmocka_unit_test(test_golden_rewrites),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
