/* One direction of a TCP connection turned back into a byte stream.
 *
 * Independent of sessions and flows: the owner feeds segments, FINs and the
 * peer's ACKs, and receives in-order data, gaps and the FIN through
 * callbacks. In-order data is passed straight from the packet (no copy);
 * only segments that arrive ahead of a hole are copied, up to a byte bound.
 *
 * Policies:
 * - overlaps: the bytes received first win; only the new part of a segment
 *   is used. Fully old segments count as retransmissions, partly old ones
 *   as overlaps.
 * - gaps: a hole is given up (reported as a gap, never invented) when the
 *   peer acknowledges bytes past it (they were received, so they will never
 *   be sent again: the capture lost them), when the buffered bytes exceed
 *   the bound, or at flush (end of the flow). The holes the peer
 *   acknowledged (even after they were given up) and the bytes the snapshot
 *   length cut are counted apart as capture gaps: the network delivered
 *   them. The others may be network loss (a capture on the receiver never
 *   sees what the network dropped).
 * - full size: a segment is full size when it carries the path MSS (the
 *   smaller MSS option of the SYN and SYN-ACK, less the timestamps option
 *   when offered; without a handshake, the largest retransmission). A
 *   super-segment (TSO/GSO on the sender, GRO on the receiver: payload
 *   larger than the MSS) counts as the MSS-sized segments it was cut into.
 * - FIN: reported once every byte before it was delivered or given up.
 */
#ifndef RW_REASSEMBLY_H
#define RW_REASSEMBLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../analyzers/record.h"

/* Sequence number arithmetic modulo 2^32 (RFC 793, 1982). */
static inline bool rw_seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}
static inline bool rw_seq_leq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}
static inline bool rw_seq_gt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}
static inline bool rw_seq_geq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) >= 0;
}

struct rw_reasm_ops {
	/* In-order bytes. p is NULL when the bytes were seen but their content
	 * was not kept (rw_reasm_keep_payload(false) while they waited). */
	void (*data)(void *arg, int side, uint64_t ts_us, const uint8_t *p, size_t n);
	/* missing bytes that will never be delivered. */
	void (*gap)(void *arg, int side, uint64_t ts_us, uint64_t missing);
	void (*fin)(void *arg, int side, uint64_t ts_us);
};

struct rw_reasm_stats {
	uint32_t segments;    /* segments occupying sequence space */
	uint32_t retransmits; /* segments with no new byte */
	uint32_t overlaps;    /* segments with old and new bytes */
	uint32_t ooo;         /* segments buffered ahead of a hole */
	uint32_t gaps;
	uint64_t gap_bytes;
	uint32_t capture_gaps; /* of them: acknowledged by the peer or cut by the snaplen */
	uint64_t capture_gap_bytes;
	uint64_t retransmitted_bytes; /* old bytes of retransmissions and overlaps */
	uint32_t max_retransmit;      /* largest retransmitted segment */
	uint64_t delivered;           /* bytes passed to ops->data */
	uint32_t max_segment;
	uint32_t alloc_failures; /* segments dropped (they become gaps) */
};

/* Full-size retransmissions remembered for the black-hole count. */
#define RW_REASM_RTX_SLOTS 16
/* Holes given up without an ACK past them, remembered in case one comes. */
#define RW_REASM_HOLE_SLOTS 8

struct rw_reasm_seg;

/* What only a lossy stream needs, allocated at its first retransmission or
 * given-up hole: a connection attempt or a clean stream carries a pointer,
 * not the slots (a SYN flood costs a flow per SYN). */
struct rw_reasm_extra {
	struct {
		uint32_t seq, len;
		uint32_t peer_at; /* peer_packets at its first retransmission */
	} rtx[RW_REASM_RTX_SLOTS];
	size_t n_rtx;
	struct {
		uint32_t seq, len;
	} holes[RW_REASM_HOLE_SLOTS];
	size_t n_holes;
};

struct rw_reasm {
	const struct rw_reasm_ops *ops;
	void *arg;
	int side; /* passed back to the callbacks */
	size_t max_ooo;
	bool keep_payload;

	bool started;  /* next is known */
	uint32_t next; /* first sequence number not yet delivered */
	bool fin_seen, fin_done;
	uint32_t fin_seq;
	bool ack_seen; /* the peer acknowledged something */
	uint32_t ack;  /* highest acknowledgment from the peer */
	uint16_t mss;  /* smallest MSS option of the handshake, 0 = none seen */
	bool ts_opt;   /* every SYN seen with an MSS offered timestamps */

	struct rw_reasm_seg *head, *tail; /* ahead of next, sorted, disjoint */
	size_t ooo_bytes;                 /* buffered bytes plus per-segment overhead */

	struct rw_reasm_stats st;
	struct rw_reasm_extra *x; /* NULL until needed */
	uint32_t peer_packets;    /* packets the peer sent (the owner counts them) */
};

/* max_ooo: bytes buffered ahead of holes (0: nothing is buffered, every
 * out-of-order segment gives up the hole before it at once). */
void rw_reasm_init(struct rw_reasm *r, const struct rw_reasm_ops *ops, void *arg, int side,
                   size_t max_ooo);
/* Frees buffered segments (without delivering them) and the extra state.
 * r can be re-initialised. */
void rw_reasm_free(struct rw_reasm *r);

/* The SYN of this direction: data starts at isn + 1. */
void rw_reasm_syn(struct rw_reasm *r, uint32_t isn);
/* The options of a SYN or SYN-ACK of either side (mss 0: no MSS option):
 * both bound the segments of both directions. */
void rw_reasm_syn_options(struct rw_reasm *r, uint16_t mss, bool timestamps);
/* The payload of a full-size segment: the path MSS as the handshake set it,
 * else the largest retransmission (at least 512 bytes); 0 when unknown. */
uint32_t rw_reasm_full_size(const struct rw_reasm *r);
/* A segment whose first payload byte has sequence number seq: caplen bytes
 * captured at p, seglen bytes on the wire (seglen > caplen when the snapshot
 * length cut it: the rest is a gap). */
void rw_reasm_segment(struct rw_reasm *r, uint64_t ts_us, uint32_t seq, const uint8_t *p,
                      size_t caplen, size_t seglen);
/* A FIN occupying fin_seq (its segment's seq + payload length). */
void rw_reasm_fin(struct rw_reasm *r, uint64_t ts_us, uint32_t fin_seq);
/* An acknowledgment of this direction's bytes, sent by the peer. */
void rw_reasm_ack(struct rw_reasm *r, uint64_t ts_us, uint32_t ack);
/* End of the flow: every hole becomes a gap, a pending FIN is delivered. */
void rw_reasm_flush(struct rw_reasm *r, uint64_t ts_us);
/* false: out-of-order segments are remembered by range only (the owner no
 * longer looks at the content); sequence tracking stays exact. */
void rw_reasm_keep_payload(struct rw_reasm *r, bool keep);

/* Whether rw_reasm_segment with these arguments could buffer payload bytes
 * ahead of a hole (the only place rw_reasm_keep_payload matters): replay -j
 * settles its keep_payload state first. Never false when it could. */
bool rw_reasm_may_buffer(const struct rw_reasm *r, uint32_t seq, size_t caplen, size_t seglen);

/* The flow ends before the peer could answer this side's last packets (its
 * FIN completed the close; the peer's final ACK is not awaited): the
 * retransmissions sent since the peer's last packet are forgotten, as they
 * cannot be "never acknowledged" (the owner counts peer_packets). */
void rw_reasm_forget_unanswered(struct rw_reasm *r);

static inline bool rw_reasm_fin_delivered(const struct rw_reasm *r)
{
	return r->fin_done;
}
/* Fills the reassembly part of st (all but packets). */
void rw_reasm_tcp_stats(const struct rw_reasm *r, struct rw_tcp_stats *st);

#endif
