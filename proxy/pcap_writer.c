/* One proxied connection written as a pcap file: the proxy sees two
 * sockets, Wireshark and `rdpwhy replay` want one TCP connection, so every
 * packet is synthesized: Ethernet, IPv4 or IPv6, TCP with sequence and
 * acknowledgement numbers kept per side, checksums computed.
 *
 * Packet pattern (all at the caller's timestamps):
 *   open      SYN (MSS option), SYN|ACK (MSS option), ACK
 *   data      ACK segments of at most MSS bytes, PSH|ACK on the last one;
 *             the receiver ACKs every 32 KiB and at the end
 *   fin       FIN|ACK from the side, the peer's ACK
 *   rst       RST|ACK from the side (RST|ACK seq 0 = refused, before the
 *             SYN-ACK; a bare RST from the client before it)
 * The client sends with TTL / hop limit 64, the server with 128, so the
 * two sides are told apart at a glance and a RST never looks injected.
 *
 * Where the records go: synchronously into the file (pcap_file.c), or, for
 * the proxy, into the pcap queue (pcap_queue.c) that a writer thread empties,
 * so that the event loop never waits on the disk. Either way the sequence
 * numbers advance as if every frame was written: a frame dropped (queue
 * full, pcap_max_file) shows as a hole the receiver acknowledged, which
 * readers take for capture loss, not for the network's. */
#include "pcap_file.h"
#include "pcap_queue.h"
#include "pcap_writer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define US_PER_S    1000000ull
#define MSS_V4      1460 /* Ethernet MTU 1500 - 20 IPv4 - 20 TCP */
#define MSS_V6      1440 /* 1500 - 40 IPv6 - 20 TCP */
#define WINDOW      65535
#define ACK_EVERY   32768 /* half the window: never "window full" */
#define ETH_LEN     14
#define IPV4_LEN    20
#define IPV6_LEN    40
#define TCP_LEN     20
#define TCP_OPT_MSS 4
#define FRAME_MAX   (ETH_LEN + IPV6_LEN + TCP_LEN + TCP_OPT_MSS + MSS_V4)
/* pcap_max_file: data stops this far below the cap, so that the closes
 * (FIN, RST and their ACKs, a few 90-byte records) still fit and the file
 * shows how the connection ended. */
#define CLOSE_RESERVE 1024
#define TTL_CLIENT    64
#define TTL_SERVER    128

enum { TH_FIN = 0x01, TH_SYN = 0x02, TH_RST = 0x04, TH_PSH = 0x08, TH_ACK = 0x10 };

struct rw_pcapw {
	struct rw_pcapf file;     /* synchronous mode */
	struct rw_pcapq *q;       /* queued mode: the queue, and */
	struct rw_pcapq_file *qf; /* the file in it */
	uint64_t max_file;        /* pcap_max_file (0 = none) */
	uint64_t size;            /* the file's size if nothing is lost downstream */
	bool truncated;           /* data reached pcap_max_file: no more data */
	bool in_data;             /* emitting for rw_pcapw_data */
	int family;
	struct rw_endpoint ep[2]; /* indexed by the rw_dir the side sends in */
	uint32_t nxt[2];          /* next sequence number each side sends */
	uint16_t ip_id[2];
	bool fin[2];
	bool established; /* SYN-ACK written */
	bool reset;       /* a RST was written: nothing may follow */
	bool failed;      /* a write failed: sticky */
	int error;        /* errno of the first failure */
	size_t mss;
	uint64_t last_ts;
	uint64_t syn_us; /* when the client's SYN was written */
	/* One pcap record: the per-packet header, then the frame. */
	uint8_t rec[RW_PCAPF_REC_HEADER + FRAME_MAX];
};

/* ---- byte helpers -------------------------------------------------------- */

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

/* Internet checksum (RFC 1071): add big-endian 16-bit words of an even
 * offset chunk (a trailing odd byte is padded with zero). */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (; n > 1; p += 2, n -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (n)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen, const char *fmt,
                                                          ...)
{
	if (!errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- endpoints, names, ISNs ---------------------------------------------- */

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* ::ffff:a.b.c.d becomes a.b.c.d; bytes past an IPv4 address are zeroed. */
static void ep_unmap(struct rw_endpoint *e)
{
	if (e->family == AF_INET6 && !memcmp(e->addr, v4mapped_prefix, 12)) {
		e->family = AF_INET;
		memmove(e->addr, e->addr + 12, 4);
	}
	if (e->family == AF_INET)
		memset(e->addr + 4, 0, 12);
}

static void ep_map(struct rw_endpoint *e)
{
	if (e->family != AF_INET)
		return;
	memmove(e->addr + 12, e->addr, 4);
	memcpy(e->addr, v4mapped_prefix, 12);
	e->family = AF_INET6;
}

/* Both endpoints in one family (see pcap_writer.h). -1 on a bad family. */
static int normalize_endpoints(const struct rw_endpoint *client, const struct rw_endpoint *server,
                               struct rw_endpoint ep[2])
{
	ep[RW_C2S] = *client;
	ep[RW_S2C] = *server;
	for (int i = 0; i < 2; i++) {
		if (ep[i].family != AF_INET && ep[i].family != AF_INET6)
			return -1;
		ep_unmap(&ep[i]);
	}
	if (ep[0].family != ep[1].family) {
		ep_map(&ep[0]);
		ep_map(&ep[1]);
	}
	return 0;
}

static uint32_t fnv1a(uint32_t h, const void *data, size_t n)
{
	const uint8_t *p = data;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

static uint32_t hash_endpoint(uint32_t h, const struct rw_endpoint *e)
{
	uint8_t b[1 + 16 + 2];
	size_t alen = e->family == AF_INET ? 4 : 16;
	b[0] = (uint8_t)e->family;
	memcpy(b + 1, e->addr, alen);
	put16(b + 1 + alen, e->port);
	return fnv1a(h, b, 1 + alen + 2);
}

uint32_t rw_pcapw_isn(const struct rw_endpoint *client, const struct rw_endpoint *server,
                      uint64_t ts_us, enum rw_dir dir)
{
	uint8_t tail[9];
	put32(tail, (uint32_t)(ts_us >> 32));
	put32(tail + 4, (uint32_t)ts_us);
	tail[8] = (uint8_t)dir;
	uint32_t h = hash_endpoint(2166136261u, client);
	h = hash_endpoint(h, server);
	h = fnv1a(h, tail, sizeof(tail));
	/* murmur3 finalizer: FNV's low bits alone mix poorly */
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* ---- frames -------------------------------------------------------------- */

static size_t put_ethernet(uint8_t *p, enum rw_dir dir, int family)
{
	static const uint8_t mac[2][6] = {{0x02, 0, 0, 0, 0, 0x01}, {0x02, 0, 0, 0, 0, 0x02}};
	memcpy(p, mac[1 - dir], 6); /* to the receiver */
	memcpy(p + 6, mac[dir], 6);
	put16(p + 12, family == AF_INET ? 0x0800 : 0x86dd);
	return ETH_LEN;
}

/* IP header for tcp_len bytes of TCP; returns its length. */
static size_t put_ip(struct rw_pcapw *w, uint8_t *p, enum rw_dir dir, size_t tcp_len)
{
	const struct rw_endpoint *src = &w->ep[dir], *dst = &w->ep[1 - dir];
	uint8_t ttl = dir == RW_C2S ? TTL_CLIENT : TTL_SERVER;
	if (w->family == AF_INET) {
		memset(p, 0, IPV4_LEN);
		p[0] = 0x45;
		put16(p + 2, (uint16_t)(IPV4_LEN + tcp_len));
		put16(p + 4, w->ip_id[dir]++);
		put16(p + 6, 0x4000); /* DF */
		p[8] = ttl;
		p[9] = IPPROTO_TCP;
		memcpy(p + 12, src->addr, 4);
		memcpy(p + 16, dst->addr, 4);
		put16(p + 10, csum_fold(csum_add(0, p, IPV4_LEN)));
		return IPV4_LEN;
	}
	memset(p, 0, IPV6_LEN);
	p[0] = 0x60;
	put16(p + 4, (uint16_t)tcp_len);
	p[6] = IPPROTO_TCP;
	p[7] = ttl;
	memcpy(p + 8, src->addr, 16);
	memcpy(p + 24, dst->addr, 16);
	return IPV6_LEN;
}

/* TCP checksum over the pseudo-header and the segment at tcp. */
static uint16_t tcp_checksum(const struct rw_pcapw *w, enum rw_dir dir, const uint8_t *tcp,
                             size_t tcp_len)
{
	uint8_t ph[40];
	size_t alen = w->family == AF_INET ? 4 : 16, n = 2 * alen;
	memcpy(ph, w->ep[dir].addr, alen);
	memcpy(ph + alen, w->ep[1 - dir].addr, alen);
	if (w->family == AF_INET) {
		ph[n] = 0;
		ph[n + 1] = IPPROTO_TCP;
		put16(ph + n + 2, (uint16_t)tcp_len);
		n += 4;
	} else {
		put32(ph + n, (uint32_t)tcp_len);
		memset(ph + n + 4, 0, 3);
		ph[n + 7] = IPPROTO_TCP;
		n += 8;
	}
	return csum_fold(csum_add(csum_add(0, ph, n), tcp, tcp_len));
}

/* TCP header (+ MSS option on SYNs) and payload; returns the segment length. */
static size_t put_tcp(const struct rw_pcapw *w, uint8_t *p, enum rw_dir dir, uint8_t flags,
                      uint32_t seq, uint32_t ack, const uint8_t *data, size_t n)
{
	size_t hl = TCP_LEN + ((flags & TH_SYN) ? TCP_OPT_MSS : 0);
	memset(p, 0, hl);
	put16(p, w->ep[dir].port);
	put16(p + 2, w->ep[1 - dir].port);
	put32(p + 4, seq);
	put32(p + 8, (flags & TH_ACK) ? ack : 0);
	p[12] = (uint8_t)((hl / 4) << 4);
	p[13] = flags;
	put16(p + 14, WINDOW);
	if (flags & TH_SYN) {
		p[20] = 2; /* MSS */
		p[21] = 4;
		put16(p + 22, (uint16_t)w->mss);
	}
	if (n)
		memcpy(p + hl, data, n);
	return hl + n;
}

/* Builds one frame after the record header in w->rec; returns its length. */
static size_t build_frame(struct rw_pcapw *w, enum rw_dir dir, uint8_t flags, uint32_t seq,
                          uint32_t ack, const uint8_t *data, size_t n)
{
	uint8_t *frame = w->rec + RW_PCAPF_REC_HEADER;
	size_t ip_off = put_ethernet(frame, dir, w->family);
	size_t ip_len = w->family == AF_INET ? IPV4_LEN : IPV6_LEN;
	uint8_t *tcp = frame + ip_off + ip_len;
	size_t tcp_len = put_tcp(w, tcp, dir, flags, seq, ack, data, n);
	put_ip(w, frame + ip_off, dir, tcp_len);
	put16(tcp + 16, tcp_checksum(w, dir, tcp, tcp_len));
	return ip_off + ip_len + tcp_len;
}

/* The per-packet header, in host byte order as the file header says. */
static void put_rec_header(uint8_t *p, uint64_t ts_us, size_t len)
{
	uint32_t v[4] = {(uint32_t)(ts_us / US_PER_S), (uint32_t)(ts_us % US_PER_S), (uint32_t)len,
	                 (uint32_t)len};
	memcpy(p, v, sizeof(v));
}

/* ---- writing ------------------------------------------------------------- */

static void fail(struct rw_pcapw *w, int e)
{
	if (!w->failed) {
		w->failed = true;
		w->error = e ? e : EIO;
	}
}

/* pcap_max_file: whether a record of n bytes still fits. Data stops
 * CLOSE_RESERVE short of the cap and does not resume; the frames of a
 * connection's set-up and close use the reserve. */
static bool fits(struct rw_pcapw *w, size_t n)
{
	if (!w->max_file)
		return true;
	if (w->in_data && w->truncated)
		return false;
	uint64_t limit = w->max_file;
	if (w->in_data)
		limit = limit > CLOSE_RESERVE ? limit - CLOSE_RESERVE : 0;
	if (w->size + n <= limit)
		return true;
	w->truncated = true;
	return false;
}

/* One record to the file or the queue. 0, or -1 with errno (synchronous
 * mode: the write error, sticky). A full queue is counted, not an error: the
 * connection's relay goes on. */
static int put_record(struct rw_pcapw *w, size_t n)
{
	if (w->qf) {
		if (rw_pcapq_put(w->q, w->qf, w->rec, n) == 0)
			w->size += n;
		return 0;
	}
	if (rw_pcapf_write(&w->file, w->rec, n) < 0) {
		fail(w, errno);
		errno = w->error;
		return -1;
	}
	w->size += n;
	return 0;
}

/* The frame's length, known before it is built. */
static size_t frame_len(const struct rw_pcapw *w, uint8_t flags, size_t n)
{
	return ETH_LEN + (w->family == AF_INET ? IPV4_LEN : IPV6_LEN) + TCP_LEN +
	       ((flags & TH_SYN) ? TCP_OPT_MSS : 0) + n;
}

/* A record that will not be written (past pcap_max_file, its file failed
 * in the writer thread: a full disk, or the queue is full) is counted and
 * never built: the event
 * loop does not checksum bytes nobody will read. */
static bool skip_record(struct rw_pcapw *w, size_t n)
{
	if (!fits(w, n)) {
		if (w->qf)
			rw_pcapq_truncated(w->q, w->qf, n);
		return true;
	}
	if (w->qf && rw_pcapq_file_dead(w->qf)) {
		rw_pcapq_lost(w->qf, n);
		return true;
	}
	/* The queue full (a frozen or slow disk): dropped and counted now,
	 * not built; the relay must not slow down for the disk. */
	return w->qf && rw_pcapq_full(w->q, w->qf, n);
}

/* Writes one packet from the side sending in dir: its sequence number is
 * that side's next one, which the payload (and SYN/FIN) then advance; its
 * acknowledgement number is the peer's next one. 0, or -1 with errno. */
static int emit(struct rw_pcapw *w, enum rw_dir dir, uint64_t ts_us, uint8_t flags,
                const uint8_t *data, size_t n)
{
	if (w->failed) {
		errno = w->error;
		return -1;
	}
	uint32_t seq = w->nxt[dir], ack = w->nxt[1 - dir];
	if (!w->established && dir == RW_S2C && (flags & TH_RST))
		seq = 0; /* a refusal answers a SYN: no sequence number of its own */
	if (ts_us < w->last_ts)
		ts_us = w->last_ts;
	w->last_ts = ts_us;
	if (skip_record(w, rw_pcapf_rec_len(frame_len(w, flags, n)))) {
		w->ip_id[dir]++; /* as if built: the next frames look the same */
	} else {
		size_t len = build_frame(w, dir, flags, seq, ack, data, n);
		put_rec_header(w->rec, ts_us, len);
		if (put_record(w, rw_pcapf_rec_len(len)) < 0)
			return -1;
	}
	w->nxt[dir] += (uint32_t)n + ((flags & (TH_SYN | TH_FIN)) ? 1u : 0u);
	return 0;
}

/* The usual precondition of a write call. 0, or -1 with errno. */
static int check_usable(const struct rw_pcapw *w, enum rw_dir dir)
{
	if (!w || (dir != RW_C2S && dir != RW_S2C) || w->reset) {
		errno = EINVAL;
		return -1;
	}
	if (w->failed) {
		errno = w->error;
		return -1;
	}
	return 0;
}

/* SYN (MSS option) from the client. */
static int write_syn(struct rw_pcapw *w, uint64_t ts_us)
{
	w->syn_us = ts_us;
	return emit(w, RW_C2S, ts_us, TH_SYN, NULL, 0);
}

static struct rw_pcapw *pcapw_new(const char *dir, const struct rw_endpoint *client,
                                  const struct rw_endpoint *server, uint64_t ts_us, char *err,
                                  size_t errlen)
{
	if (errlen)
		err[0] = '\0';
	if (!dir || !client || !server) {
		set_err(err, errlen, "pcap writer: missing directory or endpoint");
		return NULL;
	}
	struct rw_pcapw *w = calloc(1, sizeof(*w));
	if (!w) {
		set_err(err, errlen, "pcap writer: out of memory");
		return NULL;
	}
	w->file.fd = -1;
	if (normalize_endpoints(client, server, w->ep) < 0) {
		set_err(err, errlen, "pcap writer: endpoint family is not IPv4 or IPv6");
		free(w);
		return NULL;
	}
	w->family = w->ep[RW_C2S].family;
	w->mss = w->family == AF_INET ? MSS_V4 : MSS_V6;
	for (int d = 0; d < 2; d++) {
		w->nxt[d] = rw_pcapw_isn(&w->ep[RW_C2S], &w->ep[RW_S2C], ts_us, (enum rw_dir)d);
		w->ip_id[d] = 1;
	}
	w->last_ts = ts_us;
	w->size = RW_PCAPF_HEADER;
	return w;
}

/* Synchronous mode: a file that failed to be made complete is removed. */
static void discard(struct rw_pcapw *w)
{
	rw_pcapf_close(&w->file);
	unlink(w->file.path);
	free(w);
}

struct rw_pcapw *rw_pcapw_open_syn(const char *dir, const struct rw_endpoint *client,
                                   const struct rw_endpoint *server, uint64_t ts_us, char *err,
                                   size_t errlen)
{
	struct rw_pcapw *w = pcapw_new(dir, client, server, ts_us, err, errlen);
	if (!w)
		return NULL;
	if (rw_pcapf_create(&w->file, dir, w->ep, ts_us, err, errlen) < 0) {
		free(w);
		return NULL;
	}
	if (write_syn(w, ts_us) < 0) {
		set_err(err, errlen, "%s: %s", w->file.path, strerror(w->error));
		discard(w);
		return NULL;
	}
	return w;
}

struct rw_pcapw *rw_pcapw_open_queued(struct rw_pcapq *q, const struct rw_pcapw_caps *caps,
                                      const char *dir, const struct rw_endpoint *client,
                                      const struct rw_endpoint *server, uint64_t ts_us, char *err,
                                      size_t errlen)
{
	if (!q || !caps) {
		set_err(err, errlen, "pcap writer: no queue");
		return NULL;
	}
	struct rw_pcapw *w = pcapw_new(dir, client, server, ts_us, err, errlen);
	if (!w)
		return NULL;
	w->q = q;
	w->max_file = caps->max_file;
	w->qf = rw_pcapq_file_new(q, dir, w->ep, ts_us, caps->max_total);
	if (!w->qf) {
		set_err(err, errlen, "pcap writer: out of memory");
		free(w);
		return NULL;
	}
	write_syn(w, ts_us); /* queued: cannot fail (a drop is counted) */
	return w;
}

int rw_pcapw_syn_unanswered(struct rw_pcapw *w, uint64_t until_us)
{
	if (check_usable(w, RW_C2S) < 0)
		return -1;
	if (w->established) {
		errno = EINVAL;
		return -1;
	}
	/* Linux's SYN retransmissions: initial RTO 1 s, doubling (RFC 6298),
	 * each with the first SYN's sequence number. */
	uint64_t t = w->syn_us, rto = 1000000;
	for (int i = 0; i < 6 && t + rto < until_us; i++) {
		t += rto;
		rto *= 2;
		w->nxt[RW_C2S]--;
		if (emit(w, RW_C2S, t, TH_SYN, NULL, 0) < 0)
			return -1;
	}
	return 0;
}

int rw_pcapw_synack(struct rw_pcapw *w, uint64_t ts_us)
{
	if (check_usable(w, RW_S2C) < 0)
		return -1;
	if (w->established) {
		errno = EINVAL;
		return -1;
	}
	if (emit(w, RW_S2C, ts_us, TH_SYN | TH_ACK, NULL, 0) < 0)
		return -1;
	w->established = true;
	return emit(w, RW_C2S, ts_us, TH_ACK, NULL, 0);
}

struct rw_pcapw *rw_pcapw_open(const char *dir, const struct rw_endpoint *client,
                               const struct rw_endpoint *server, uint64_t ts_us, char *err,
                               size_t errlen)
{
	struct rw_pcapw *w = rw_pcapw_open_syn(dir, client, server, ts_us, err, errlen);
	if (!w)
		return NULL;
	if (rw_pcapw_synack(w, ts_us) < 0) {
		set_err(err, errlen, "%s: %s", w->file.path, strerror(errno));
		discard(w);
		return NULL;
	}
	return w;
}

static size_t segment_len(const struct rw_pcapw *w, size_t left)
{
	return left < w->mss ? left : w->mss;
}

/* Segments of at most MSS bytes, PSH on the last; the receiver's ACK when
 * the next segment would take more than ACK_EVERY bytes in flight, and at
 * the end. */
int rw_pcapw_data(struct rw_pcapw *w, enum rw_dir dir, uint64_t ts_us, const uint8_t *p, size_t n)
{
	if (check_usable(w, dir) < 0)
		return -1;
	if (!w->established || w->fin[dir] || (n && !p)) {
		errno = EINVAL;
		return -1;
	}
	size_t unacked = 0;
	int rc = 0;
	w->in_data = true; /* pcap_max_file: data, not the close reserve */
	for (size_t off = 0; off < n && rc == 0;) {
		size_t len = segment_len(w, n - off);
		bool last = off + len == n;
		rc = emit(w, dir, ts_us, TH_ACK | (last ? TH_PSH : 0), p + off, len);
		off += len;
		unacked += len;
		if (rc == 0 && !last && unacked + segment_len(w, n - off) > ACK_EVERY) {
			rc = emit(w, 1 - dir, ts_us, TH_ACK, NULL, 0);
			unacked = 0;
		}
	}
	if (rc == 0 && n)
		rc = emit(w, 1 - dir, ts_us, TH_ACK, NULL, 0);
	w->in_data = false;
	return rc;
}

int rw_pcapw_fin(struct rw_pcapw *w, enum rw_dir dir, uint64_t ts_us)
{
	if (check_usable(w, dir) < 0)
		return -1;
	if (!w->established) {
		errno = EINVAL;
		return -1;
	}
	if (w->fin[dir])
		return 0;
	if (emit(w, dir, ts_us, TH_FIN | TH_ACK, NULL, 0) < 0)
		return -1;
	w->fin[dir] = true;
	return emit(w, 1 - dir, ts_us, TH_ACK, NULL, 0);
}

int rw_pcapw_rst(struct rw_pcapw *w, enum rw_dir dir, uint64_t ts_us)
{
	if (check_usable(w, dir) < 0)
		return -1;
	/* Before the SYN-ACK the client has nothing to acknowledge. */
	uint8_t flags = !w->established && dir == RW_C2S ? TH_RST : TH_RST | TH_ACK;
	if (emit(w, dir, ts_us, flags, NULL, 0) < 0)
		return -1;
	w->reset = true;
	return 0;
}

int rw_pcapw_close(struct rw_pcapw *w)
{
	if (!w)
		return 0;
	int rc = 0;
	if (w->qf) {
		/* The writer thread closes the file after its last record and
		 * logs what it is missing. */
		rw_pcapq_file_close(w->q, w->qf);
	} else {
		rc = rw_pcapf_close(&w->file) < 0 || w->failed ? -1 : 0;
	}
	free(w);
	return rc;
}

const char *rw_pcapw_path(const struct rw_pcapw *w)
{
	return w && !w->qf ? w->file.path : NULL;
}
