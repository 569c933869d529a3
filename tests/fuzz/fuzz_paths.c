/* The proxy path against the packet path: one connection, described by a
 * script of events, analysed the way proxy/relay.c feeds a session (reads of
 * relay-sized chunks) and the way the capture engine does (TCP/IP packets
 * with any segmentation, reordering within an event and retransmissions,
 * through capture/flow_table.c and reassembly.c). session.h promises that the
 * same bytes give the same record however they are cut, and DESIGN.md that
 * "the same bytes give the same verdict live or offline": the two records
 * must agree on every field but those only one front end can know.
 *
 * Input: a 6-byte header, then a script of events.
 *
 * Header:
 *   0      bit 0 IPv6; bits 1-2 connect time (SYN to SYN-ACK: 0, 300 us,
 *          20 ms, 3 s); bit 3 MSS option (1460) in the SYN and SYN-ACK;
 *          bit 4 the SYN retransmitted; bit 5 the SYN-ACK retransmitted;
 *          bit 6 an expected certificate SHA-256 is configured (it matches
 *          nothing); bit 7 unused
 *   1..4   time of the SYN, seconds since 1970 (u32 LE; 0 = 1700000000)
 *   5      unused (a seed for future choices)
 *
 * Event: one op byte = [dt:4][dir:1][kind:3]. The time first advances by
 * step[dt] (0, 1 us, 50 us, 1 ms, 20 ms, 100 ms, 0.5 s, 999999 us, 1 s,
 * 1000001 us, 2999999 us, 3 s, 3000001 us, 30 s, 61 s, 20 min: the
 * verdict's 1 s and 3 s limits, and the capture's 60 s clock-jump rule);
 * then, dir 0 client / 1 server:
 *   0 data, length u8        1 data, length u16 LE
 *   2 FIN                    3 RST
 *   4 data (u16) then FIN    5 nothing (time only)
 *   6 FIN, retransmitted     7 data (u8) then FIN
 * A data event then has three parameter bytes and its payload:
 *   rd  path A: bits 0-2 read size (the whole event, 1, 536, 1448, 2896,
 *       4096, 8192, 16384); bits 3-5 where a read is cut in two iovecs (0 =
 *       not; k = at k/8 of the read), as evbuffer_peek returns them
 *   sg  path B: segment sizes; bits 0-3 the usual size (1, 2, 3, 7, 16, 100,
 *       255, 512, 536, 1000, 1448, 1460, 2896, 4096, 16384, 65000), bits
 *       4-7 how often another size from that table is drawn (n/16)
 *   mx  path B: bits 0-1 reordering window (0, 1, 3, 7 segments); bits 2-3
 *       retransmissions (none, 1/8, 1/2 or after every segment: the same
 *       segment again, or older bytes of that side); bit 4 the FIN of kinds
 *       4 and 7 in a packet of its own rather than on the last segment
 * Lengths are cut to what the input holds. Events that TCP cannot carry are
 * dropped from the script before either path runs: a side's data or FIN
 * after its own FIN, anything after an RST or after both FINs.
 *
 * Path A, the proxy (proxy/relay.c): rw_session_open and the client's SYN
 * at accept, rec->proxy, proxy_connect_ms and the server's SYN-ACK at the
 * upstream's connect, then per read: rw_session_data on each iovec while
 * rw_session_inspecting() held before the read, rw_session_count(n) after;
 * rw_session_fin at EOF, rw_session_rst(ttl -1) and the end on a reset,
 * expected_cert_sha256 set on the record and rw_session_close at the end
 * (after both FINs, an RST, or else at the last event: the capture ends
 * there too). Upstream mode fixed (no original destination).
 *
 * Path B, the capture: Ethernet frames, a SYN / SYN-ACK / ACK handshake,
 * then per event its packets at the event's time (so reordering never
 * crosses an event, whose bytes the proxy saw at one time): data segments
 * carrying the peer's full acknowledgement, FIN and RST as flags at their
 * sequence numbers, and after each data or FIN event a pure ACK from the
 * peer (the receiver acknowledges what it got: retransmissions are then
 * never "unacknowledged", which is the MTU black-hole rule's business, a
 * capture-only cause). Each side has one TTL (64, 113), the RST included.
 * Capture idle timeout: 30 years (the capture's idle expiry, like the
 * proxy's phase timers, is a front end's policy this harness does not
 * model); a trailing ARP frame at the last event's time settles the
 * capture clock, so that a last frame after a 61 s or 20 min step is a
 * clock jump confirmed, not an outlier (a lone last frame far from the
 * others is genuinely ambiguous to a capture).
 *
 * Compared: the JSON lines (output/record_json.c) of both records, key by
 * key, every key present in either, with these exceptions (see excluded()):
 *   rdpwhy.tcp.*          TCP statistics (retransmits, retransmitted bytes,
 *                         largest retransmission, MSS): counted from the
 *                         packets; the proxy reads a byte stream
 *   rdpwhy.proxy.*        the proxy flag's connect time: the inline proxy's
 *                         own measurement
 *   rdpwhy.evidence_at    where each fact is: a frame in a capture, a byte
 *                         offset of the proxy's stream (the lines themselves,
 *                         rdpwhy.evidence, must be equal)
 *   rdpwhy.alternatives   reset_injected only, and rdpwhy.tell_apart with
 *                         it, when the first close was an RST: the proxy
 *                         cannot read an RST's TTL (ttl -1), so it cannot
 *                         rule out a forged reset that the capture's TTL
 *                         comparison with the side's own packets rules out
 * Everything else must be equal, among it rdpwhy.cause, closed_by,
 * close_kind, phase, evidence, confidence, timeline, source/destination
 * bytes, event times, rdp.* (requested and selected protocol, failure),
 * tls.* (versions, cipher, alert from and description, established) and
 * the certificate's fields; rdpwhy.capture.gaps must stay absent (nothing
 * is lost here). No evidence line is excluded: with one TTL per side, every
 * byte acknowledged and nothing lost, the capture-only lines (SYN proxy,
 * injected reset, capture gaps, MTU black hole) have no business in either
 * record. A difference prints both JSON lines and aborts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "capture.h"
#include "decode.h"
#include "fuzz_util.h"
#include "record.h"
#include "record_format.h"
#include "session.h"

#define HEADER_LEN  6
#define CLIENT_ISN  0xfffff000u /* wraps: sequence arithmetic modulo 2^32 */
#define SERVER_ISN  0x7ffffff0u /* crosses the signed boundary */
#define TTL_CLIENT  64
#define TTL_SERVER  113
#define CLIENT_PORT 50123
#define SERVER_PORT 3389

enum ev_kind { EV_DATA, EV_FIN, EV_RST };

struct event {
	enum ev_kind kind;
	enum rw_dir dir;
	uint64_t ts;
	const uint8_t *p; /* EV_DATA: the bytes, n of them, at off in the side's stream */
	size_t n;
	uint64_t off;
	uint8_t rd, sg, mx;
	bool fin_after; /* EV_DATA: the side's FIN follows at the same time */
	bool fin_twice; /* EV_FIN: the FIN packet is retransmitted */
};

struct script {
	bool v6, mss, syn_twice, synack_twice, expect_cert;
	uint64_t t_syn, t_synack, t_last;
	struct event *ev;
	size_t n_ev, cap_ev;
	uint64_t stream_len[2];
	uint8_t *stream[2]; /* each side's bytes, for retransmissions */
};

static const uint64_t step_us[16] = {
        0,       1,       50,      1000,    20000,   100000,   500000,   999999,
        1000000, 1000001, 2999999, 3000000, 3000001, 30000000, 61000000, 1200000000,
};
static const uint64_t connect_us[4] = {0, 300, 20000, 3000000};
static const size_t read_size[8] = {0, 1, 536, 1448, 2896, 4096, 8192, 16384};
static const size_t seg_size[16] = {1,   2,    3,    7,    16,   100,  255,   512,
                                    536, 1000, 1448, 1460, 2896, 4096, 16384, 65000};
static const char expected_sha[65] =
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/* ---- the script ------------------------------------------------------- */

static struct event *add_event(struct script *sc)
{
	if (sc->n_ev == sc->cap_ev) {
		size_t cap = sc->cap_ev ? sc->cap_ev * 2 : 64;
		struct event *e = realloc(sc->ev, cap * sizeof(*e));
		FUZZ_CHECK(e != NULL);
		sc->ev = e;
		sc->cap_ev = cap;
	}
	struct event *e = &sc->ev[sc->n_ev++];
	memset(e, 0, sizeof(*e));
	return e;
}

static void parse(const uint8_t *data, size_t size, struct script *sc)
{
	struct fuzz_in in = {data, size};
	memset(sc, 0, sizeof(*sc));
	uint8_t h = fuzz_u8(&in);
	uint32_t sec = fuzz_u32(&in);
	fuzz_u8(&in);
	sc->v6 = h & 1;
	sc->mss = h & 8;
	sc->syn_twice = h & 16;
	sc->synack_twice = h & 32;
	sc->expect_cert = h & 64;
	sc->t_syn = (uint64_t)(sec ? sec : 1700000000u) * 1000000u;
	sc->t_synack = sc->t_syn + connect_us[(h >> 1) & 3];
	sc->t_last = sc->t_synack;

	uint64_t ts = sc->t_synack;
	bool fin[2] = {false, false};
	while (in.n > 0) {
		uint8_t op = fuzz_u8(&in);
		unsigned kind = op & 7;
		enum rw_dir dir = (op & 8) ? RW_S2C : RW_C2S;
		ts += step_us[op >> 4];
		bool has_data = kind == 0 || kind == 1 || kind == 4 || kind == 7;
		size_t want = 0, got = 0;
		uint8_t rd = 0, sg = 0, mx = 0;
		const uint8_t *p = NULL;
		if (has_data) {
			want = (kind == 0 || kind == 7) ? fuzz_u8(&in) : fuzz_u16(&in);
			rd = fuzz_u8(&in);
			sg = fuzz_u8(&in);
			mx = fuzz_u8(&in);
			p = fuzz_bytes(&in, want, &got);
		}
		if (kind == 5)
			continue;
		/* What TCP cannot carry: a side's bytes after its own FIN. */
		if (fin[dir])
			continue;
		if (has_data && got > 0) {
			struct event *e = add_event(sc);
			e->kind = EV_DATA;
			e->dir = dir;
			e->ts = ts;
			e->p = p;
			e->n = got;
			e->off = sc->stream_len[dir];
			e->rd = rd;
			e->sg = sg;
			e->mx = mx;
			e->fin_after = kind == 4 || kind == 7;
			sc->stream_len[dir] += got;
			sc->t_last = ts;
			if (e->fin_after)
				fin[dir] = true;
		} else if (has_data) {
			if (kind == 4 || kind == 7) {
				struct event *e = add_event(sc);
				e->kind = EV_FIN;
				e->dir = dir;
				e->ts = ts;
				fin[dir] = true;
				sc->t_last = ts;
			}
		} else if (kind == 2 || kind == 6) {
			struct event *e = add_event(sc);
			e->kind = EV_FIN;
			e->dir = dir;
			e->ts = ts;
			e->fin_twice = kind == 6;
			fin[dir] = true;
			sc->t_last = ts;
		} else {
			struct event *e = add_event(sc);
			e->kind = EV_RST;
			e->dir = dir;
			e->ts = ts;
			sc->t_last = ts;
			break;
		}
		if (fin[0] && fin[1])
			break;
	}
	for (int d = 0; d < 2; d++) {
		sc->stream[d] = malloc(sc->stream_len[d] ? sc->stream_len[d] : 1);
		FUZZ_CHECK(sc->stream[d] != NULL);
	}
	for (size_t i = 0; i < sc->n_ev; i++) {
		const struct event *e = &sc->ev[i];
		if (e->kind == EV_DATA)
			memcpy(sc->stream[e->dir] + e->off, e->p, e->n);
	}
}

static void script_free(struct script *sc)
{
	free(sc->ev);
	free(sc->stream[0]);
	free(sc->stream[1]);
}

static void endpoints(const struct script *sc, struct rw_endpoint *cli, struct rw_endpoint *srv)
{
	memset(cli, 0, sizeof(*cli));
	memset(srv, 0, sizeof(*srv));
	if (sc->v6) {
		static const uint8_t pfx[4] = {0x20, 0x01, 0x0d, 0xb8};
		cli->family = srv->family = 10;
		memcpy(cli->addr, pfx, 4);
		memcpy(srv->addr, pfx, 4);
		cli->addr[15] = 1;
		srv->addr[15] = 2;
	} else {
		cli->family = srv->family = 2;
		cli->addr[0] = srv->addr[0] = 10;
		cli->addr[3] = 1;
		srv->addr[3] = 2;
	}
	cli->port = CLIENT_PORT;
	srv->port = SERVER_PORT;
}

/* ---- path A: the proxy's way ------------------------------------------ */

static void proxy_read(struct rw_session *s, enum rw_dir dir, uint64_t ts, const uint8_t *p,
                       size_t n, unsigned cut)
{
	/* relay.c inspect(): decided once per read. */
	if (!rw_session_inspecting(s)) {
		rw_session_count(s, dir, ts, n);
		return;
	}
	size_t first = cut ? n * cut / 8 : n;
	const size_t piece[2] = {first, n - first};
	for (int i = 0; i < 2; i++) {
		if (piece[i] == 0)
			continue;
		uint8_t *c = fuzz_dup(p, piece[i]);
		rw_session_data(s, dir, ts, c, piece[i]);
		free(c);
		p += piece[i];
	}
}

static void path_proxy(const struct script *sc, struct rw_buf *json)
{
	struct rw_session_config scfg = {0};
	struct rw_session *s = rw_session_new(&scfg);
	FUZZ_CHECK(s != NULL);
	struct rw_endpoint cli, srv;
	endpoints(sc, &cli, &srv);
	/* rw_conn_accept */
	rw_session_open(s, sc->t_syn, &cli, &srv);
	rw_session_syn(s, RW_C2S, sc->t_syn);
	struct rw_record *rec = rw_session_record(s);
	rec->proxy = true;
	/* on_connected */
	rec->proxy_connect_ms = (sc->t_synack - sc->t_syn) / 1000;
	rw_session_syn(s, RW_S2C, sc->t_synack);

	uint64_t t_end = sc->t_last;
	for (size_t i = 0; i < sc->n_ev; i++) {
		const struct event *e = &sc->ev[i];
		if (e->kind == EV_DATA) {
			size_t rs = read_size[e->rd & 7];
			for (size_t off = 0; off < e->n;) {
				size_t k = rs && rs < e->n - off ? rs : e->n - off;
				proxy_read(s, e->dir, e->ts, e->p + off, k, (e->rd >> 3) & 7);
				off += k;
			}
			if (e->fin_after)
				rw_session_fin(s, e->dir, e->ts); /* on_eof */
		} else if (e->kind == EV_FIN) {
			rw_session_fin(s, e->dir, e->ts);
		} else {
			rw_session_rst(s, e->dir, e->ts, -1); /* on_reset */
			t_end = e->ts;
		}
	}
	/* conn_end */
	if (sc->expect_cert)
		memcpy(rec->expected_cert_sha256, expected_sha, sizeof(expected_sha));
	rw_session_close(s, t_end);
	rec->id = 1;
	/* flat: the paths are compared key by top-level key */
	FUZZ_CHECK(rw_record_json_style(rec, NULL, NULL, RW_JSON_FLAT, json) == 0);
	rw_session_free(s);
}

/* ---- path B: the capture's way ---------------------------------------- */

struct rng {
	uint64_t x;
};

static uint32_t rnd(struct rng *r)
{
	/* splitmix64: deterministic, any seed is fine */
	uint64_t z = (r->x += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return (uint32_t)((z ^ (z >> 31)) >> 16);
}

struct wire {
	const struct script *sc;
	struct rw_capture *cap;
	uint8_t *frame;
	uint64_t next[2]; /* each side's next relative sequence number (SYN = 0) */
	bool fin_sent[2];
};

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xFFFF);
}

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

static uint32_t isn(enum rw_dir d)
{
	return d == RW_C2S ? CLIENT_ISN : SERVER_ISN;
}

/* One frame from side d: Ethernet, IPv4 or IPv6, TCP (with an MSS option
 * on a SYN when asked), payload. seq is relative to the side's ISN. */
static void packet(struct wire *w, enum rw_dir d, uint64_t ts, uint8_t flags, uint64_t seq,
                   const uint8_t *pl, size_t n)
{
	const struct script *sc = w->sc;
	struct rw_endpoint cli, srv;
	endpoints(sc, &cli, &srv);
	const struct rw_endpoint *src = d == RW_C2S ? &cli : &srv;
	const struct rw_endpoint *dst = d == RW_C2S ? &srv : &cli;
	size_t optlen = (flags & F_SYN) && sc->mss ? 4 : 0;
	size_t tcplen = 20 + optlen;
	uint8_t *f = w->frame;
	memset(f, 0, 14);
	f[5] = d == RW_C2S ? 1 : 2;
	f[11] = d == RW_C2S ? 2 : 1;
	put16(f + 12, sc->v6 ? 0x86DD : 0x0800);
	uint8_t *ip = f + 14;
	size_t iplen;
	uint8_t ttl = d == RW_C2S ? TTL_CLIENT : TTL_SERVER;
	if (sc->v6) {
		iplen = 40;
		memset(ip, 0, 40);
		ip[0] = 0x60;
		put16(ip + 4, (uint32_t)(tcplen + n));
		ip[6] = 6;
		ip[7] = ttl;
		memcpy(ip + 8, src->addr, 16);
		memcpy(ip + 24, dst->addr, 16);
	} else {
		iplen = 20;
		memset(ip, 0, 20);
		ip[0] = 0x45;
		put16(ip + 2, (uint32_t)(20 + tcplen + n));
		ip[8] = ttl;
		ip[9] = 6;
		memcpy(ip + 12, src->addr, 4);
		memcpy(ip + 16, dst->addr, 4);
	}
	uint8_t *tcp = ip + iplen;
	memset(tcp, 0, tcplen);
	put16(tcp, src->port);
	put16(tcp + 2, dst->port);
	put32(tcp + 4, isn(d) + (uint32_t)seq);
	enum rw_dir peer = d == RW_C2S ? RW_S2C : RW_C2S;
	if (flags & F_ACK)
		put32(tcp + 8, isn(peer) + (uint32_t)w->next[peer]);
	tcp[12] = (uint8_t)((tcplen / 4) << 4);
	tcp[13] = flags;
	put16(tcp + 14, 65535);
	if (optlen) {
		tcp[20] = 2;
		tcp[21] = 4;
		put16(tcp + 22, 1460);
	}
	if (n)
		memcpy(tcp + tcplen, pl, n);
	size_t len = 14 + iplen + tcplen + n;
	uint8_t *copy = fuzz_dup(f, len);
	rw_capture_packet(w->cap, RW_DLT_EN10MB, ts, copy, len, len);
	free(copy);
}

struct seg {
	uint64_t off; /* in the event */
	size_t len;
	bool fin;
};

/* A data event's packets: cut, reordered within the window, some sent
 * again, the FIN (kinds 4 and 7) on the last segment or alone. */
static void data_packets(struct wire *w, const struct event *e, size_t idx)
{
	struct rng r = {((uint64_t)e->sg << 16 | (uint64_t)e->mx << 8 | e->rd) ^
	                ((uint64_t)idx * 0x100000001B3ull)};
	size_t cap = 16, k = 0;
	struct seg *segs = malloc(cap * sizeof(*segs));
	FUZZ_CHECK(segs != NULL);
	size_t usual = seg_size[e->sg & 15];
	unsigned other = e->sg >> 4;
	for (uint64_t off = 0; off < e->n;) {
		size_t sz = other && rnd(&r) % 16 < other ? seg_size[rnd(&r) % 16] : usual;
		if (sz > e->n - off)
			sz = (size_t)(e->n - off);
		if (k + 2 > cap) {
			cap *= 2;
			struct seg *ns = realloc(segs, cap * sizeof(*segs));
			FUZZ_CHECK(ns != NULL);
			segs = ns;
		}
		segs[k++] = (struct seg){off, sz, false};
		off += sz;
	}
	if (e->fin_after) {
		if (e->mx & 16)
			segs[k++] = (struct seg){e->n, 0, true};
		else
			segs[k - 1].fin = true;
	}
	/* The order of the segments (originals in order: index i). */
	size_t *order = malloc(k * sizeof(*order));
	bool *sent = calloc(k, sizeof(*sent));
	FUZZ_CHECK(order != NULL && sent != NULL);
	for (size_t i = 0; i < k; i++)
		order[i] = i;
	static const unsigned window[4] = {0, 1, 3, 7};
	unsigned wnd = window[e->mx & 3];
	if (wnd)
		for (size_t i = 0; i + 1 < k; i++) {
			size_t j = i + rnd(&r) % (wnd + 1);
			if (j < k) {
				size_t t = order[i];
				order[i] = order[j];
				order[j] = t;
			}
		}
	static const unsigned dup_in8[4] = {0, 1, 4, 8};
	unsigned dups = dup_in8[(e->mx >> 2) & 3];
	enum rw_dir d = e->dir;
	const uint8_t *stream = w->sc->stream[d];
	uint64_t base = e->off;   /* stream offset of the event's first byte */
	uint64_t in_order = 0;    /* event bytes before it all sent */
	size_t prefix = 0;        /* originals sent in order */
	uint64_t seq0 = 1 + base; /* relative sequence number of the event's first byte */
	for (size_t i = 0; i < k; i++) {
		const struct seg *s = &segs[order[i]];
		uint8_t fl = F_ACK | (s->len ? F_PSH : 0) | (s->fin ? F_FIN : 0);
		packet(w, d, e->ts, fl, seq0 + s->off, stream + base + s->off, s->len);
		sent[order[i]] = true;
		while (prefix < k && sent[prefix])
			in_order += segs[prefix++].len;
		if (dups && rnd(&r) % 8 < dups) {
			/* A retransmission: this segment again, or bytes of this
			 * side sent before (in order: nothing after a hole). */
			uint64_t done = base + in_order;
			if (rnd(&r) % 2 || done == 0) {
				packet(w, d, e->ts, fl, seq0 + s->off, stream + base + s->off,
				       s->len);
			} else {
				uint64_t a = rnd(&r) % done;
				uint64_t len = 1 + rnd(&r) % seg_size[rnd(&r) % 16];
				if (len > done - a)
					len = done - a;
				packet(w, d, e->ts, F_ACK, 1 + a, stream + a, (size_t)len);
			}
		}
	}
	w->next[d] = seq0 + e->n + (e->fin_after ? 1 : 0);
	free(order);
	free(sent);
	free(segs);
}

static void on_record(const struct rw_record *rec, void *arg)
{
	struct rw_buf *json = arg;
	FUZZ_CHECK(rec != NULL);
	/* One connection, one record (a second would be a harness mistake). */
	FUZZ_CHECK(json->len == 0);
	/* flat: the paths are compared key by top-level key */
	FUZZ_CHECK(rw_record_json_style(rec, NULL, NULL, RW_JSON_FLAT, json) == 0);
}

static void path_capture(const struct script *sc, struct rw_buf *json)
{
	struct rw_capture_config cfg;
	rw_capture_config_defaults(&cfg);
	cfg.idle_timeout_us = 30ull * 365 * 24 * 3600 * 1000000;
	if (sc->expect_cert)
		memcpy(cfg.session.expected_cert_sha256, expected_sha, sizeof(expected_sha));
	struct rw_capture *cap = rw_capture_new(&cfg, on_record, json);
	FUZZ_CHECK(cap != NULL);
	struct wire w = {.sc = sc, .cap = cap};
	w.frame = malloc(14 + 40 + 24 + 65536);
	FUZZ_CHECK(w.frame != NULL);

	/* The handshake: SYN, SYN-ACK, ACK; retransmitted SYN or SYN-ACK. */
	packet(&w, RW_C2S, sc->t_syn, F_SYN, 0, NULL, 0);
	if (sc->syn_twice)
		packet(&w, RW_C2S, sc->t_synack, F_SYN, 0, NULL, 0);
	w.next[RW_C2S] = 1;
	packet(&w, RW_S2C, sc->t_synack, F_SYN | F_ACK, 0, NULL, 0);
	w.next[RW_S2C] = 1;
	packet(&w, RW_C2S, sc->t_synack, F_ACK, 1, NULL, 0);
	if (sc->synack_twice)
		packet(&w, RW_S2C, sc->t_synack, F_SYN | F_ACK, 0, NULL, 0);

	for (size_t i = 0; i < sc->n_ev; i++) {
		const struct event *e = &sc->ev[i];
		enum rw_dir d = e->dir, peer = d == RW_C2S ? RW_S2C : RW_C2S;
		if (e->kind == EV_DATA) {
			data_packets(&w, e, i);
		} else if (e->kind == EV_FIN) {
			packet(&w, d, e->ts, F_FIN | F_ACK, w.next[d], NULL, 0);
			if (e->fin_twice)
				packet(&w, d, e->ts, F_FIN | F_ACK, w.next[d], NULL, 0);
			w.next[d]++;
		} else {
			packet(&w, d, e->ts, F_RST | F_ACK, w.next[d], NULL, 0);
			break;
		}
		/* The receiver acknowledges everything (and the FIN). */
		packet(&w, peer, e->ts, F_ACK, w.next[peer], NULL, 0);
	}
	/* A frame of something else settles the capture clock at the end. */
	uint8_t arp[14 + 28] = {0};
	put16(arp + 12, 0x0806);
	uint8_t *copy = fuzz_dup(arp, sizeof(arp));
	rw_capture_packet(cap, RW_DLT_EN10MB, sc->t_last, copy, sizeof(arp), sizeof(arp));
	free(copy);
	rw_capture_finish(cap);
	FUZZ_CHECK(rw_capture_stats(cap)->records == 1);
	rw_capture_free(cap);
	free(w.frame);
}

/* ---- the comparison ---------------------------------------------------- */

struct member {
	const char *key, *val;
	size_t key_len, val_len;
};

#define MAX_MEMBERS 256

/* The top-level members of one JSON object line (output/record_json.c
 * writes no whitespace); returns their number. */
static size_t members(const char *s, size_t n, struct member *m)
{
	size_t i = 0, k = 0;
	FUZZ_CHECK(n >= 2 && s[0] == '{');
	i = 1;
	while (i < n && s[i] != '}') {
		FUZZ_CHECK(s[i] == '"' && k < MAX_MEMBERS);
		size_t ks = ++i;
		while (i < n && s[i] != '"')
			i += s[i] == '\\' ? 2 : 1;
		m[k].key = s + ks;
		m[k].key_len = i - ks;
		i++;
		FUZZ_CHECK(i < n && s[i] == ':');
		size_t vs = ++i;
		int depth = 0;
		while (i < n) {
			char c = s[i];
			if (c == '"') {
				i++;
				while (i < n && s[i] != '"')
					i += s[i] == '\\' ? 2 : 1;
			} else if (c == '[' || c == '{') {
				depth++;
			} else if (c == ']' || (c == '}' && depth > 0)) {
				depth--;
			} else if (depth == 0 && (c == ',' || c == '}')) {
				break;
			}
			i++;
		}
		m[k].val = s + vs;
		m[k].val_len = i - vs;
		k++;
		if (i < n && s[i] == ',')
			i++;
	}
	return k;
}

static bool key_is(const struct member *m, const char *key)
{
	return m->key_len == strlen(key) && memcmp(m->key, key, m->key_len) == 0;
}

static bool key_starts(const struct member *m, const char *pfx)
{
	return m->key_len >= strlen(pfx) && memcmp(m->key, pfx, strlen(pfx)) == 0;
}

static const struct member *find(const struct member *m, size_t n, const struct member *like)
{
	for (size_t i = 0; i < n; i++)
		if (m[i].key_len == like->key_len && !memcmp(m[i].key, like->key, like->key_len))
			return &m[i];
	return NULL;
}

/* What only one front end knows (the comment at the top says why). */
static bool excluded(const struct member *m)
{
	return key_starts(m, "rdpwhy.tcp.") || key_starts(m, "rdpwhy.proxy.") ||
	       key_starts(m, "rdpwhy.evidence_at");
}

/* The proxy's alternatives without the reset_injected that only its unknown
 * RST TTL adds. */
static void strip_reset_injected(const struct member *m, char *out, size_t cap)
{
	static const char tok[] = "\"reset_injected\"";
	size_t o = 0;
	for (size_t i = 0; i < m->val_len && o + 1 < cap;) {
		if (m->val_len - i >= sizeof(tok) - 1 &&
		    !memcmp(m->val + i, tok, sizeof(tok) - 1)) {
			i += sizeof(tok) - 1;
			if (i < m->val_len && m->val[i] == ',')
				i++;
			else if (o > 1 && out[o - 1] == ',')
				o--;
			continue;
		}
		out[o++] = m->val[i++];
	}
	out[o] = 0;
}

static bool value_is(const struct member *m, const char *v)
{
	return m && m->val_len == strlen(v) && !memcmp(m->val, v, m->val_len);
}

static void mismatch(const struct rw_buf *a, const struct rw_buf *b, const struct member *m)
{
	fprintf(stderr,
	        "fuzz_paths: the proxy path and the capture path disagree on \"%.*s\"\n"
	        "proxy:   %s"
	        "capture: %s",
	        (int)m->key_len, m->key, rw_buf_str(a), rw_buf_str(b));
	bool same_records = false;
	FUZZ_CHECK(same_records);
}

static bool same_value(const struct member *x, const struct member *y)
{
	if (!x || !y)
		return x == y;
	return x->val_len == y->val_len && !memcmp(x->val, y->val, x->val_len);
}

static void compare(const struct rw_buf *a, const struct rw_buf *b)
{
	static struct member ma[MAX_MEMBERS], mb[MAX_MEMBERS];
	size_t na = members(a->data, a->len, ma), nb = members(b->data, b->len, mb);
	/* The first close was an RST: the proxy cannot know its TTL. */
	struct member kind = {.key = "rdpwhy.close_kind", .key_len = 17};
	bool rst = value_is(find(ma, na, &kind), "\"rst\"");
	bool ttl_alternative = false;
	const struct member *tell = NULL;
	/* Every key of either record: those of a, then those only b has. */
	for (size_t i = 0; i < na + nb; i++) {
		const struct member *m = i < na ? &ma[i] : &mb[i - na];
		if (i >= na && find(ma, na, m))
			continue;
		if (excluded(m))
			continue;
		const struct member *x = find(ma, na, m), *y = find(mb, nb, m);
		if (key_is(m, "rdpwhy.tell_apart")) {
			tell = m;
			continue;
		}
		if (rst && key_is(m, "rdpwhy.alternatives")) {
			char sa[512] = "[]", sb[512] = "[]";
			if (x)
				strip_reset_injected(x, sa, sizeof(sa));
			if (y)
				strip_reset_injected(y, sb, sizeof(sb));
			if (strcmp(sa, sb) != 0)
				mismatch(a, b, m);
			ttl_alternative = !same_value(x, y);
			continue;
		}
		if (!same_value(x, y))
			mismatch(a, b, m);
	}
	/* The hint that tells the causes apart goes with the alternatives. */
	if (tell && !ttl_alternative && !same_value(find(ma, na, tell), find(mb, nb, tell)))
		mismatch(a, b, tell);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < HEADER_LEN)
		return 0;
	struct script sc;
	parse(data, size, &sc);
	struct rw_buf a, b;
	rw_buf_init(&a, 0);
	rw_buf_init(&b, 0);
	path_proxy(&sc, &a);
	path_capture(&sc, &b);
	FUZZ_CHECK(a.len > 0 && b.len > 0);
	if (getenv("FUZZ_DUMP"))
		fprintf(stderr, "proxy:   %scapture: %s", rw_buf_str(&a), rw_buf_str(&b));
	compare(&a, &b);
	rw_buf_free(&a);
	rw_buf_free(&b);
	script_free(&sc);
	return 0;
}
