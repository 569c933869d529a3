/* The independent pcap checker the test_pcap_writer*.c files share
 * (pcapw_check.h). */
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

const struct rw_endpoint cli4 = {.family = AF_INET, .addr = {192, 0, 2, 10}, .port = 50000};
const struct rw_endpoint srv4 = {.family = AF_INET, .addr = {198, 51, 100, 7}, .port = 3389};
const struct rw_endpoint cli6 = {
        .family = AF_INET6, .addr = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x10}, .port = 50000};
const struct rw_endpoint srv6 = {
        .family = AF_INET6, .addr = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x07}, .port = 3389};

/* ---- scratch directories ------------------------------------------------- */

void remove_files(const char *dir, const char *prefix)
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

char *make_tmpdir(void)
{
	char *t = strdup("/tmp/rw-pcapw-XXXXXX");
	assert_non_null(t);
	assert_non_null(mkdtemp(t));
	return t;
}

void remove_tmpdir(char *dir)
{
	remove_files(dir, "");
	assert_int_equal(rmdir(dir), 0);
	free(dir);
}

/* ---- an independent decoder ---------------------------------------------- */

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

static bool same_addr(const struct rw_endpoint *e, const uint8_t *a, uint16_t port)
{
	size_t alen = e->family == AF_INET ? 4 : 16;
	return e->port == port && !memcmp(e->addr, a, alen);
}

void conv_init(struct conv *c, const struct rw_endpoint *client, const struct rw_endpoint *server)
{
	memset(c, 0, sizeof(*c));
	c->ep[RW_C2S] = *client;
	c->ep[RW_S2C] = *server;
	c->mss = client->family == AF_INET ? 1460 : 1440;
	c->next_id[0] = c->next_id[1] = 1;
}

void conv_free(struct conv *c)
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
struct pkt *check_file(const char *path, struct conv *c, size_t *count)
{
	struct pkt *v = read_pcap(path, count);
	for (size_t i = 0; i < *count; i++)
		conv_packet(c, &v[i], i);
	return v;
}

void expect_packets(const struct pkt *v, size_t n, const struct exp *e, size_t ne)
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

uint8_t *pattern(size_t n, unsigned seed)
{
	uint8_t *p = malloc(n ? n : 1);
	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed + (i >> 8));
	return p;
}

/* ---- capture engine ------------------------------------------------------ */

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
	/* The fingerprints sum up the hellos both sides saw. */
	o->ja3_md5[0] = o->ja3s_md5[0] = o->ja4[0] = '\0';
	if (r->client_hello_seen) {
		rw_ja3(&r->ch, NULL, 0, o->ja3_md5);
		rw_ja4(&r->ch, 't', o->ja4);
	}
	if (r->server_hello_seen)
		rw_ja3s(&r->sh, NULL, 0, o->ja3s_md5);
	o->ts_open = r->ts_open_us;
	o->ts_close = r->ts_close_us;
}

void replay(const char *path, struct recs *rs)
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

void assert_endpoint(const struct rw_endpoint *a, const struct rw_endpoint *b)
{
	assert_int_equal(a->family, b->family);
	assert_memory_equal(a->addr, b->addr, a->family == AF_INET ? 4 : 16);
	assert_int_equal(a->port, b->port);
}
