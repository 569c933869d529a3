#include "decode.h"

#include <string.h>
#include <sys/socket.h>

#include "../analyzers/rw_types.h"

/* More nested VLAN tags / MPLS labels / IPv6 extension headers than any
 * real network uses: beyond it the frame is treated as malformed, which
 * also bounds the work a crafted frame can cause. */
#define MAX_TAGS        8
#define MAX_EXT_HEADERS 16

enum {
	ETH_IPV4 = 0x0800,
	ETH_IPV6 = 0x86DD,
	ETH_VLAN = 0x8100,
	ETH_QINQ = 0x88A8,
	ETH_QINQ_OLD = 0x9100,
	ETH_PPPOE = 0x8864,
	ETH_MPLS = 0x8847,
	ETH_MPLS_MC = 0x8848,
};

enum {
	PROTO_HOPOPTS = 0,
	PROTO_TCP = 6,
	PROTO_ROUTING = 43,
	PROTO_FRAGMENT = 44,
	PROTO_AH = 51,
	PROTO_DSTOPTS = 60,
};

static size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* The MSS and timestamps options of a SYN or SYN-ACK (RFC 9293 3.1, 3.7.1;
 * RFC 7323). A malformed option list ends the walk: what came before stands. */
static void syn_options(const uint8_t *o, size_t n, struct rw_packet *out)
{
	size_t i = 0;
	while (i < n) {
		uint8_t kind = o[i];
		if (kind == 0) /* end of option list */
			return;
		if (kind == 1) { /* no-operation */
			i++;
			continue;
		}
		if (i + 1 >= n || o[i + 1] < 2 || o[i + 1] > n - i)
			return;
		uint8_t len = o[i + 1];
		if (kind == 2 && len == 4)
			out->mss = rw_be16(o + i + 2);
		else if (kind == 8 && len == 10)
			out->tcp_timestamps = true;
		i += len;
	}
}

/* p/cap: captured bytes of the IP payload; wire: its length per the IP header. */
static int decode_tcp(const uint8_t *p, size_t cap, size_t wire, struct rw_packet *out)
{
	if (wire < 20)
		return RW_DECODE_BAD_HEADER;
	if (cap < 20)
		return RW_DECODE_TRUNCATED;
	size_t doff = (size_t)(p[12] >> 4) * 4;
	if (doff < 20 || doff > wire)
		return RW_DECODE_BAD_HEADER;
	if (cap < doff)
		return RW_DECODE_TRUNCATED;
	out->sport = rw_be16(p);
	out->dport = rw_be16(p + 2);
	out->seq = rw_be32(p + 4);
	out->ack = rw_be32(p + 8);
	out->flags = p[13] & (RW_TCP_FIN | RW_TCP_SYN | RW_TCP_RST | RW_TCP_PSH | RW_TCP_ACK);
	out->window = rw_be16(p + 14);
	if (out->flags & RW_TCP_SYN)
		syn_options(p + 20, doff - 20, out);
	out->payload = p + doff;
	out->payload_len = cap - doff;
	out->seg_len = wire - doff;
	out->payload_truncated = out->payload_len < out->seg_len;
	return RW_DECODE_OK;
}

static int decode_ipv4(const uint8_t *p, size_t n, struct rw_packet *out)
{
	if (n < 20)
		return RW_DECODE_TRUNCATED;
	if (p[0] >> 4 != 4)
		return RW_DECODE_BAD_HEADER;
	size_t ihl = (size_t)(p[0] & 0x0f) * 4;
	if (ihl < 20)
		return RW_DECODE_BAD_HEADER;
	if (n < ihl)
		return RW_DECODE_TRUNCATED;
	size_t total = rw_be16(p + 2);
	/* Segmentation offload on the capturing host can leave 0 here (packets
	 * over 64 KiB): the captured length is then the best knowledge. */
	if (total == 0)
		total = n;
	if (total < ihl)
		return RW_DECODE_BAD_HEADER;
	if (p[9] != PROTO_TCP)
		return RW_DECODE_NOT_TCP;
	uint16_t frag = rw_be16(p + 6);
	if (frag & 0x1fff)
		return RW_DECODE_FRAGMENT;
	out->ip_fragment = (frag & 0x2000) != 0;
	out->family = AF_INET;
	memcpy(out->src, p + 12, 4);
	memcpy(out->dst, p + 16, 4);
	out->ttl = p[8];
	size_t cap_end = min_sz(n, total);
	return decode_tcp(p + ihl, cap_end - ihl, total - ihl, out);
}

static int decode_ipv6(const uint8_t *p, size_t n, struct rw_packet *out)
{
	if (n < 40)
		return RW_DECODE_TRUNCATED;
	if (p[0] >> 4 != 6)
		return RW_DECODE_BAD_HEADER;
	size_t plen = rw_be16(p + 4);
	/* 0 is a jumbogram (or offloaded super-packet): trust the capture. */
	size_t end = plen ? 40 + plen : n;
	size_t cap_end = min_sz(n, end);
	uint8_t nh = p[6];
	size_t off = 40;
	bool fragment = false;
	for (int i = 0; nh != PROTO_TCP; i++) {
		if (i >= MAX_EXT_HEADERS)
			return RW_DECODE_BAD_HEADER;
		size_t len;
		switch (nh) {
		case PROTO_HOPOPTS:
		case PROTO_ROUTING:
		case PROTO_DSTOPTS:
		case PROTO_AH:
		case PROTO_FRAGMENT:
			break;
		default:
			/* UDP, ICMPv6, ESP (opaque), no-next-header, ... */
			return RW_DECODE_NOT_TCP;
		}
		if (off + 2 > end)
			return RW_DECODE_BAD_HEADER;
		if (off + 2 > cap_end)
			return RW_DECODE_TRUNCATED;
		if (nh == PROTO_FRAGMENT)
			len = 8;
		else if (nh == PROTO_AH)
			len = ((size_t)p[off + 1] + 2) * 4;
		else
			len = ((size_t)p[off + 1] + 1) * 8;
		if (off + len > end)
			return RW_DECODE_BAD_HEADER;
		if (off + len > cap_end)
			return RW_DECODE_TRUNCATED;
		if (nh == PROTO_FRAGMENT) {
			if (rw_be16(p + off + 2) & 0xfff8)
				return RW_DECODE_FRAGMENT;
			fragment = (p[off + 3] & 1) != 0;
		}
		nh = p[off];
		off += len;
	}
	out->ip_fragment = fragment;
	out->family = AF_INET6;
	memcpy(out->src, p + 8, 16);
	memcpy(out->dst, p + 24, 16);
	out->ttl = p[7];
	return decode_tcp(p + off, cap_end - off, end - off, out);
}

/* version: 4 or 6 when the link layer says which, 0 to read it from the header. */
static int decode_ip(int version, const uint8_t *p, size_t n, struct rw_packet *out)
{
	if (n < 1)
		return RW_DECODE_TRUNCATED;
	int v = p[0] >> 4;
	if (version && v != version)
		return RW_DECODE_BAD_HEADER;
	if (v == 4)
		return decode_ipv4(p, n, out);
	if (v == 6)
		return decode_ipv6(p, n, out);
	return version ? RW_DECODE_BAD_HEADER : RW_DECODE_NOT_IP;
}

static int decode_mpls(const uint8_t *p, size_t n, struct rw_packet *out)
{
	for (int i = 0; i < MAX_TAGS; i++) {
		if (n < 4)
			return RW_DECODE_TRUNCATED;
		bool bottom = p[2] & 1;
		p += 4;
		n -= 4;
		if (bottom) {
			/* No protocol field after the stack: the IP version nibble
			 * tells, anything else (pseudowires) is not ours. */
			if (n < 1)
				return RW_DECODE_TRUNCATED;
			int v = p[0] >> 4;
			return v == 4 || v == 6 ? decode_ip(v, p, n, out) : RW_DECODE_NOT_IP;
		}
	}
	return RW_DECODE_BAD_HEADER;
}

static int decode_pppoe(const uint8_t *p, size_t n, struct rw_packet *out)
{
	if (n < 8)
		return RW_DECODE_TRUNCATED;
	if (p[0] != 0x11 || p[1] != 0x00)
		return RW_DECODE_BAD_HEADER;
	switch (rw_be16(p + 6)) {
	case 0x0021:
		return decode_ip(4, p + 8, n - 8, out);
	case 0x0057:
		return decode_ip(6, p + 8, n - 8, out);
	default:
		return RW_DECODE_NOT_IP;
	}
}

static int decode_ethertype(uint16_t type, const uint8_t *p, size_t n, struct rw_packet *out)
{
	for (int tags = 0;; tags++) {
		switch (type) {
		case ETH_IPV4:
			return decode_ip(4, p, n, out);
		case ETH_IPV6:
			return decode_ip(6, p, n, out);
		case ETH_VLAN:
		case ETH_QINQ:
		case ETH_QINQ_OLD:
			if (tags >= MAX_TAGS)
				return RW_DECODE_BAD_HEADER;
			if (n < 4)
				return RW_DECODE_TRUNCATED;
			type = rw_be16(p + 2);
			p += 4;
			n -= 4;
			break;
		case ETH_PPPOE:
			return decode_pppoe(p, n, out);
		case ETH_MPLS:
		case ETH_MPLS_MC:
			return decode_mpls(p, n, out);
		default:
			return RW_DECODE_NOT_IP;
		}
	}
}

/* BSD loopback header: an address family whose byte order is the capturing
 * host's (DLT_NULL) or network order (DLT_LOOP); files move between hosts,
 * so both orders are accepted for both types. AF_INET6 differs per BSD. */
static int decode_loopback(const uint8_t *p, size_t n, struct rw_packet *out)
{
	if (n < 4)
		return RW_DECODE_TRUNCATED;
	static const uint32_t af6[3] = {24, 28, 30}; /* NetBSD/OpenBSD, FreeBSD, Darwin */
	uint32_t be = rw_be32(p), le = rw_le32(p);
	if (be == 2 || le == 2)
		return decode_ip(4, p + 4, n - 4, out);
	for (size_t i = 0; i < 3; i++) {
		if (be == af6[i] || le == af6[i])
			return decode_ip(6, p + 4, n - 4, out);
	}
	return RW_DECODE_NOT_IP;
}

int rw_decode_packet(int dlt, const uint8_t *p, size_t caplen, struct rw_packet *out)
{
	uint64_t ts = out->ts_us;
	memset(out, 0, sizeof(*out));
	out->ts_us = ts;
	out->ttl = -1;
	switch (dlt) {
	case RW_DLT_EN10MB:
		if (caplen < 14)
			return RW_DECODE_TRUNCATED;
		/* Below 0x0600 the field is an 802.3 length: LLC, never IP here. */
		return decode_ethertype(rw_be16(p + 12), p + 14, caplen - 14, out);
	case RW_DLT_LINUX_SLL:
		if (caplen < 16)
			return RW_DECODE_TRUNCATED;
		return decode_ethertype(rw_be16(p + 14), p + 16, caplen - 16, out);
	case RW_DLT_LINUX_SLL2:
		if (caplen < 20)
			return RW_DECODE_TRUNCATED;
		return decode_ethertype(rw_be16(p), p + 20, caplen - 20, out);
	case RW_DLT_NULL:
	case RW_DLT_LOOP:
		return decode_loopback(p, caplen, out);
	case RW_DLT_RAW_12:
	case RW_DLT_RAW_14:
	case RW_LINKTYPE_RAW:
		return decode_ip(0, p, caplen, out);
	case RW_DLT_IPV4:
		return decode_ip(4, p, caplen, out);
	case RW_DLT_IPV6:
		return decode_ip(6, p, caplen, out);
	default:
		return RW_DECODE_UNSUPPORTED;
	}
}

const char *rw_decode_status_name(int status)
{
	switch (status) {
	case RW_DECODE_OK:
		return "ok";
	case RW_DECODE_NOT_IP:
		return "not_ip";
	case RW_DECODE_NOT_TCP:
		return "not_tcp";
	case RW_DECODE_TRUNCATED:
		return "truncated";
	case RW_DECODE_BAD_HEADER:
		return "bad_header";
	case RW_DECODE_FRAGMENT:
		return "fragment";
	case RW_DECODE_UNSUPPORTED:
		return "unsupported_link_type";
	default:
		return "unknown";
	}
}
