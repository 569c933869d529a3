/* Link, IP and TCP header decoding of one captured frame. Pure: no I/O, no
 * allocation; the payload pointer points into the caller's frame. */
#ifndef RW_DECODE_H
#define RW_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Link types, as pcap_datalink() reports them (DLT_ values; the pcap file
 * LINKTYPE_ value where they differ). Spelled out so that decoding does not
 * depend on the platform's <pcap/dlt.h>, where DLT_RAW and DLT_LOOP move. */
enum {
	RW_DLT_NULL = 0,         /* BSD loopback: 4-byte address family, host order */
	RW_DLT_EN10MB = 1,       /* Ethernet */
	RW_DLT_RAW_12 = 12,      /* raw IP (DLT_RAW almost everywhere) */
	RW_DLT_RAW_14 = 14,      /* raw IP (DLT_RAW on BSD/OS) */
	RW_LINKTYPE_RAW = 101,   /* raw IP, pcap file value */
	RW_DLT_LOOP = 108,       /* OpenBSD loopback: address family, network order */
	RW_DLT_LINUX_SLL = 113,  /* Linux cooked capture v1 */
	RW_DLT_IPV4 = 228,       /* raw IPv4 only */
	RW_DLT_IPV6 = 229,       /* raw IPv6 only */
	RW_DLT_LINUX_SLL2 = 276, /* Linux cooked capture v2 ("any" since libpcap 1.10) */
};

/* TCP flags. */
enum {
	RW_TCP_FIN = 0x01,
	RW_TCP_SYN = 0x02,
	RW_TCP_RST = 0x04,
	RW_TCP_PSH = 0x08,
	RW_TCP_ACK = 0x10,
};

/* rw_decode_packet results: 0 or one of these. */
enum rw_decode_status {
	RW_DECODE_OK = 0,
	RW_DECODE_NOT_IP = -1,      /* link payload is not IPv4/IPv6 (ARP, LLC, ...) */
	RW_DECODE_NOT_TCP = -2,     /* IP, but another transport (or ESP, no next header) */
	RW_DECODE_TRUNCATED = -3,   /* a header is cut by the snapshot length */
	RW_DECODE_BAD_HEADER = -4,  /* a header field is impossible */
	RW_DECODE_FRAGMENT = -5,    /* non-first IP fragment: no TCP header in it */
	RW_DECODE_UNSUPPORTED = -6, /* link type not handled */
};

struct rw_packet {
	uint64_t ts_us;           /* set by the caller */
	int family;               /* AF_INET or AF_INET6 */
	uint8_t src[16], dst[16]; /* network order; IPv4 in the first 4 bytes */
	uint16_t sport, dport;
	int ttl; /* IPv4 TTL or IPv6 hop limit */
	uint32_t seq, ack;
	uint8_t flags; /* RW_TCP_* */
	uint16_t window;
	const uint8_t *payload;
	size_t payload_len; /* captured payload bytes at payload */
	/* Payload bytes the segment carried on the wire (from the IP length):
	 * the sequence space it occupies. Larger than payload_len when the
	 * snapshot length cut the frame; then payload_truncated is set. */
	size_t seg_len;
	bool payload_truncated;
	/* First fragment of a fragmented datagram: the TCP header is here but
	 * the rest of the payload travels in fragments that are not decoded. */
	bool ip_fragment;
	/* SYN and SYN-ACK options: the MSS (0 when absent) and whether the
	 * timestamps option was offered (data segments then carry 12 bytes of
	 * options, so a full-size payload is the MSS less 12). */
	uint16_t mss;
	bool tcp_timestamps;
};

int rw_decode_packet(int dlt, const uint8_t *p, size_t caplen, struct rw_packet *out);
const char *rw_decode_status_name(int status);

#endif
