#include "reassembly.h"

#include <stdlib.h>
#include <string.h>

/* An acknowledgment further ahead than the largest TCP window (2^30 with
 * scaling) cannot be about bytes this direction sent: it is ignored rather
 * than turned into an enormous gap. */
#define ACK_GAP_MAX (1u << 30)

/* Large retransmissions: below this a segment is not "full size". */
#define RTX_MIN_LEN 512
/* The timestamps option in every segment once both SYNs offered it
 * (RFC 7323: 10 bytes, padded to 12). */
#define TS_OPT_LEN 12
/* A segment within this much of the MSS is still full size: SACK blocks in
 * its options (up to 4 blocks, 36 bytes with padding) take payload room. */
#define FULL_SLACK 36
/* A super-segment is cut into at most this many MSS-sized pieces for the
 * black-hole count (a 64 KiB GSO segment at MSS 1448 is 45). */
#define MAX_PIECES 48

enum seg_kind {
	SEG_DATA,    /* bytes kept in data[] */
	SEG_SEEN,    /* bytes seen, content not kept */
	SEG_MISSING, /* bytes on the wire past the snapshot length */
};

struct rw_reasm_seg {
	struct rw_reasm_seg *next;
	uint32_t seq, len;
	enum seg_kind kind;
	uint8_t data[];
};

/* Old and new bytes of the segment being added. */
struct tally {
	uint64_t old, fresh;
};

static size_t seg_cost(enum seg_kind kind, uint32_t len)
{
	return sizeof(struct rw_reasm_seg) + (kind == SEG_DATA ? len : 0);
}

void rw_reasm_init(struct rw_reasm *r, const struct rw_reasm_ops *ops, void *arg, int side,
                   size_t max_ooo)
{
	memset(r, 0, sizeof(*r));
	r->ops = ops;
	r->arg = arg;
	r->side = side;
	r->max_ooo = max_ooo;
	r->keep_payload = true;
}

static void free_segs(struct rw_reasm *r)
{
	struct rw_reasm_seg *s = r->head;
	while (s) {
		struct rw_reasm_seg *n = s->next;
		free(s);
		s = n;
	}
	r->head = r->tail = NULL;
	r->ooo_bytes = 0;
}

void rw_reasm_free(struct rw_reasm *r)
{
	free_segs(r);
	free(r->x);
	r->x = NULL;
}

/* The slots for retransmissions and holes; NULL (counted) without memory:
 * the stream is still followed, only those facts are lost. */
static struct rw_reasm_extra *extra(struct rw_reasm *r)
{
	if (!r->x && !(r->x = calloc(1, sizeof(*r->x))))
		r->st.alloc_failures++;
	return r->x;
}

void rw_reasm_keep_payload(struct rw_reasm *r, bool keep)
{
	r->keep_payload = keep;
}

/* capture: the capture lost the bytes for certain (acknowledged by the
 * peer, or cut by the snapshot length). */
static void emit_gap(struct rw_reasm *r, uint64_t ts, uint64_t n, bool capture)
{
	if (n == 0)
		return;
	r->st.gaps++;
	r->st.gap_bytes += n;
	if (capture) {
		r->st.capture_gaps++;
		r->st.capture_gap_bytes += n;
	}
	r->ops->gap(r->arg, r->side, ts, n);
}

/* A hole given up with no ACK past it (the buffer bound, the end of the
 * flow): network loss or capture loss, until an ACK tells. */
static void remember_hole(struct rw_reasm *r, uint32_t seq, uint32_t len)
{
	struct rw_reasm_extra *x;
	if (len == 0 || !(x = extra(r)))
		return;
	if (x->n_holes == RW_REASM_HOLE_SLOTS) {
		memmove(&x->holes[0], &x->holes[1],
		        sizeof(x->holes[0]) * (RW_REASM_HOLE_SLOTS - 1));
		x->n_holes--;
	}
	x->holes[x->n_holes].seq = seq;
	x->holes[x->n_holes].len = len;
	x->n_holes++;
}

/* A segment brought bytes of remembered holes after all (a retransmission
 * after the hole was given up): the capture saw them, they are not its loss. */
static void holes_seen(struct rw_reasm *r, uint32_t seq, uint32_t len)
{
	struct rw_reasm_extra *x = r->x;
	size_t k = 0;
	for (size_t i = 0; x && i < x->n_holes; i++) {
		uint32_t hs = x->holes[i].seq, he = hs + x->holes[i].len;
		if (!(rw_seq_lt(seq, he) && rw_seq_lt(hs, seq + len)))
			x->holes[k++] = x->holes[i];
	}
	if (x)
		x->n_holes = k;
}

/* The peer acknowledged past remembered holes: the capture lost them. */
static void holes_acked(struct rw_reasm *r)
{
	struct rw_reasm_extra *x = r->x;
	if (!x)
		return;
	size_t k = 0;
	for (size_t i = 0; i < x->n_holes; i++) {
		uint32_t end = x->holes[i].seq + x->holes[i].len;
		if (rw_seq_geq(r->ack, end) && r->ack - end <= ACK_GAP_MAX) {
			r->st.capture_gaps++;
			r->st.capture_gap_bytes += x->holes[i].len;
		} else {
			x->holes[k++] = x->holes[i];
		}
	}
	x->n_holes = k;
}

static void emit(struct rw_reasm *r, uint64_t ts, enum seg_kind kind, const uint8_t *p, size_t n)
{
	if (n == 0)
		return;
	if (kind == SEG_MISSING) {
		emit_gap(r, ts, n, true);
		return;
	}
	r->st.delivered += n;
	r->ops->data(r->arg, r->side, ts, kind == SEG_DATA ? p : NULL, n);
}

/* Delivers the buffered segments that next has reached, then the FIN when
 * its turn comes. */
static void advance(struct rw_reasm *r, uint64_t ts)
{
	for (;;) {
		if (r->fin_seen && !r->fin_done && r->next == r->fin_seq) {
			r->fin_done = true;
			free_segs(r);
			r->ops->fin(r->arg, r->side, ts);
			return;
		}
		struct rw_reasm_seg *s = r->head;
		if (!s || s->seq != r->next)
			return;
		r->head = s->next;
		if (!r->head)
			r->tail = NULL;
		r->ooo_bytes -= seg_cost(s->kind, s->len);
		uint32_t len = s->len;
		/* Bytes past the FIN cannot belong to the stream. */
		if (r->fin_seen && rw_seq_gt(s->seq + len, r->fin_seq))
			len = r->fin_seq - s->seq;
		r->next += len;
		emit(r, ts, s->kind, s->data, len);
		free(s);
	}
}

/* Gives up the hole in front of the first buffered segment. */
static void skip_first_hole(struct rw_reasm *r, uint64_t ts)
{
	remember_hole(r, r->next, r->head->seq - r->next);
	emit_gap(r, ts, r->head->seq - r->next, false);
	r->next = r->head->seq;
	advance(r, ts);
}

static struct rw_reasm_seg *new_seg(struct rw_reasm *r, uint32_t seq, const uint8_t *p,
                                    uint32_t len, enum seg_kind kind)
{
	if (kind == SEG_DATA && !r->keep_payload)
		kind = SEG_SEEN;
	struct rw_reasm_seg *s = malloc(seg_cost(kind, len));
	if (!s) {
		r->st.alloc_failures++;
		return NULL;
	}
	s->next = NULL;
	s->seq = seq;
	s->len = len;
	s->kind = kind;
	if (kind == SEG_DATA)
		memcpy(s->data, p, len);
	r->ooo_bytes += seg_cost(kind, len);
	return s;
}

static void link_after(struct rw_reasm *r, struct rw_reasm_seg *prev, struct rw_reasm_seg *s)
{
	if (prev) {
		s->next = prev->next;
		prev->next = s;
	} else {
		s->next = r->head;
		r->head = s;
	}
	if (!s->next)
		r->tail = s;
}

/* Stores [s, e) ahead of next, in the holes between buffered segments only:
 * bytes already buffered win. */
static void insert(struct rw_reasm *r, uint32_t s, uint32_t e, const uint8_t *p, enum seg_kind kind,
                   struct tally *t)
{
	struct rw_reasm_seg *prev = NULL, *cur = r->head;
	/* Most out-of-order segments extend the last buffered one. */
	if (r->tail && rw_seq_geq(s, r->tail->seq + r->tail->len)) {
		prev = r->tail;
		cur = NULL;
	}
	bool stored = false;
	while (rw_seq_lt(s, e)) {
		while (cur && rw_seq_leq(cur->seq + cur->len, s)) {
			prev = cur;
			cur = cur->next;
		}
		uint32_t end = e;
		if (cur && rw_seq_lt(cur->seq, end))
			end = rw_seq_gt(cur->seq, s) ? cur->seq : s;
		if (end != s) {
			struct rw_reasm_seg *n = new_seg(r, s, p, end - s, kind);
			if (n) {
				link_after(r, prev, n);
				prev = n;
				stored = true;
			}
			t->fresh += end - s;
			if (p)
				p += end - s;
			s = end;
			continue;
		}
		/* s lies inside cur: those bytes are already buffered. */
		uint32_t ov_end = rw_seq_lt(cur->seq + cur->len, e) ? cur->seq + cur->len : e;
		t->old += ov_end - s;
		if (p)
			p += ov_end - s;
		s = ov_end;
	}
	if (stored)
		r->st.ooo++;
}

/* Adds [s, s + len) of one kind: delivers what is in order, buffers what
 * is ahead, counts what is old. */
static void add_piece(struct rw_reasm *r, uint64_t ts, uint32_t s, const uint8_t *p, size_t len,
                      enum seg_kind kind, struct tally *t)
{
	uint32_t e = s + (uint32_t)len;
	if (r->fin_seen && rw_seq_gt(e, r->fin_seq))
		e = rw_seq_gt(s, r->fin_seq) ? s : r->fin_seq;
	while (rw_seq_lt(s, e)) {
		if (rw_seq_lt(s, r->next)) {
			uint32_t old_end = rw_seq_lt(r->next, e) ? r->next : e;
			t->old += old_end - s;
			if (p)
				p += old_end - s;
			s = old_end;
			continue;
		}
		if (s != r->next) {
			insert(r, s, e, p, kind, t);
			return;
		}
		uint32_t lim = e;
		if (r->head && rw_seq_lt(r->head->seq, lim))
			lim = r->head->seq;
		uint32_t n = lim - s;
		t->fresh += n;
		r->next = lim;
		emit(r, ts, kind, p, n);
		if (p)
			p += n;
		s = lim;
		advance(r, ts);
	}
}

static void remember_rtx(struct rw_reasm *r, uint32_t seq, uint32_t len)
{
	struct rw_reasm_extra *x = extra(r);
	if (!x)
		return;
	size_t smallest = 0;
	for (size_t i = 0; i < x->n_rtx; i++) {
		if (x->rtx[i].seq == seq && x->rtx[i].len == len)
			return;
		if (x->rtx[i].len < x->rtx[smallest].len)
			smallest = i;
	}
	if (x->n_rtx < RW_REASM_RTX_SLOTS) {
		x->rtx[x->n_rtx].seq = seq;
		x->rtx[x->n_rtx].len = len;
		x->rtx[x->n_rtx].peer_at = r->peer_packets;
		x->n_rtx++;
	} else if (x->rtx[smallest].len < len) {
		/* Only the largest segments can be full size in the end. */
		x->rtx[smallest].seq = seq;
		x->rtx[smallest].len = len;
		x->rtx[smallest].peer_at = r->peer_packets;
	}
}

void rw_reasm_syn(struct rw_reasm *r, uint32_t isn)
{
	if (r->started)
		return;
	r->started = true;
	r->next = isn + 1;
}

void rw_reasm_syn_options(struct rw_reasm *r, uint16_t mss, bool timestamps)
{
	if (mss == 0)
		return;
	r->ts_opt = r->mss ? r->ts_opt && timestamps : timestamps;
	if (r->mss == 0 || mss < r->mss)
		r->mss = mss;
}

uint32_t rw_reasm_full_size(const struct rw_reasm *r)
{
	if (r->mss) {
		uint32_t m = r->mss;
		if (r->ts_opt && m > 2 * TS_OPT_LEN)
			m -= TS_OPT_LEN;
		return m;
	}
	return r->st.max_retransmit >= RTX_MIN_LEN ? r->st.max_retransmit : 0;
}

void rw_reasm_segment(struct rw_reasm *r, uint64_t ts_us, uint32_t seq, const uint8_t *p,
                      size_t caplen, size_t seglen)
{
	/* A TCP segment never carries more than 2^16 bytes of IP payload, but
	 * offloaded captures can: anything past 2^30 is not a real segment. */
	if (seglen == 0 || seglen > ACK_GAP_MAX)
		return;
	if (caplen > seglen)
		caplen = seglen;
	r->st.segments++;
	if (seglen > r->st.max_segment)
		r->st.max_segment = (uint32_t)seglen;
	if (!r->started) {
		r->started = true;
		r->next = seq;
	}
	struct tally t = {0, 0};
	add_piece(r, ts_us, seq, p, caplen, SEG_DATA, &t);
	add_piece(r, ts_us, seq + (uint32_t)caplen, NULL, seglen - caplen, SEG_MISSING, &t);
	r->st.retransmitted_bytes += t.old;
	if (t.old && r->x && r->x->n_holes)
		holes_seen(r, seq, (uint32_t)seglen);
	if (t.old && !t.fresh) {
		r->st.retransmits++;
		if (seglen > r->st.max_retransmit)
			r->st.max_retransmit = (uint32_t)seglen;
		if (seglen >= RTX_MIN_LEN)
			remember_rtx(r, seq, (uint32_t)seglen);
	} else if (t.old) {
		r->st.overlaps++;
	}
	while (r->ooo_bytes > r->max_ooo && r->head)
		skip_first_hole(r, ts_us);
}

bool rw_reasm_may_buffer(const struct rw_reasm *r, uint32_t seq, size_t caplen, size_t seglen)
{
	/* add_piece inserts payload only when its first new byte is ahead of
	 * next: before it delivered anything in the call. */
	if (seglen == 0 || seglen > ACK_GAP_MAX || caplen == 0 || !r->started)
		return false;
	return rw_seq_gt(seq, r->next);
}

void rw_reasm_fin(struct rw_reasm *r, uint64_t ts_us, uint32_t fin_seq)
{
	if (r->fin_seen)
		return;
	if (!r->started) {
		r->started = true;
		r->next = fin_seq;
	}
	/* Bytes after the FIN were already delivered: it cannot come earlier. */
	if (rw_seq_lt(fin_seq, r->next))
		fin_seq = r->next;
	r->fin_seen = true;
	r->fin_seq = fin_seq;
	/* Buffered bytes wholly after the FIN cannot be part of the stream. */
	struct rw_reasm_seg **pp = &r->head, *prev = NULL;
	while (*pp && rw_seq_lt((*pp)->seq, fin_seq)) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	while (*pp) {
		struct rw_reasm_seg *s = *pp;
		*pp = s->next;
		r->ooo_bytes -= seg_cost(s->kind, s->len);
		free(s);
	}
	r->tail = prev;
	advance(r, ts_us);
}

void rw_reasm_ack(struct rw_reasm *r, uint64_t ts_us, uint32_t ack)
{
	if (!r->ack_seen || rw_seq_gt(ack, r->ack)) {
		r->ack = ack;
		r->ack_seen = true;
		holes_acked(r);
	}
	if (!r->started || r->fin_done)
		return;
	uint32_t limit = r->ack;
	if (r->fin_seen && rw_seq_gt(limit, r->fin_seq))
		limit = r->fin_seq;
	if (!rw_seq_gt(limit, r->next) || limit - r->next > ACK_GAP_MAX)
		return;
	while (!r->fin_done && rw_seq_lt(r->next, limit)) {
		uint32_t hole_end = limit;
		if (r->head && rw_seq_lt(r->head->seq, hole_end))
			hole_end = r->head->seq;
		emit_gap(r, ts_us, hole_end - r->next, true);
		r->next = hole_end;
		advance(r, ts_us);
	}
}

void rw_reasm_flush(struct rw_reasm *r, uint64_t ts_us)
{
	if (!r->started)
		return;
	while (r->head && !r->fin_done)
		skip_first_hole(r, ts_us);
	if (r->fin_seen && !r->fin_done) {
		remember_hole(r, r->next, r->fin_seq - r->next);
		emit_gap(r, ts_us, r->fin_seq - r->next, false);
		r->next = r->fin_seq;
		advance(r, ts_us);
	}
}

void rw_reasm_forget_unanswered(struct rw_reasm *r)
{
	struct rw_reasm_extra *x = r->x;
	if (!x)
		return;
	size_t k = 0;
	for (size_t i = 0; i < x->n_rtx; i++)
		if (x->rtx[i].peer_at != r->peer_packets)
			x->rtx[k++] = x->rtx[i];
	x->n_rtx = k;
}

/* Adds the full-size pieces of one retransmission that the peer never
 * acknowledged to starts[] (once each); returns the new count. */
static size_t unacked_pieces(const struct rw_reasm *r, uint32_t seq, uint32_t len, uint32_t full,
                             uint32_t *starts, size_t n)
{
	if (len + FULL_SLACK < full)
		return n;
	/* A super-segment is the MSS-sized segments the wire carried. */
	uint32_t pieces = len > full ? len / full : 1;
	if (pieces > MAX_PIECES)
		pieces = MAX_PIECES;
	for (uint32_t i = 0; i < pieces; i++) {
		uint32_t start = seq + i * full;
		uint32_t end = len > full ? start + full : seq + len;
		if (!rw_seq_lt(r->ack, end))
			continue;
		bool dup = false;
		for (size_t j = 0; j < n && !dup; j++)
			dup = starts[j] == start;
		if (!dup)
			starts[n++] = start;
	}
	return n;
}

void rw_reasm_tcp_stats(const struct rw_reasm *r, struct rw_tcp_stats *st)
{
	st->retransmits = r->st.retransmits + r->st.overlaps;
	st->retransmitted_bytes = r->st.retransmitted_bytes;
	st->max_retransmit = r->st.max_retransmit;
	st->max_segment = r->st.max_segment > UINT16_MAX ? UINT16_MAX : (uint16_t)r->st.max_segment;
	st->gaps = r->st.gaps;
	st->gap_bytes = r->st.gap_bytes;
	st->capture_gaps = r->st.capture_gaps;
	st->capture_gap_bytes = r->st.capture_gap_bytes;
	uint32_t full = rw_reasm_full_size(r);
	st->mss = full > UINT16_MAX ? UINT16_MAX : (uint16_t)full;
	st->mss_from_syn = r->mss != 0;
	st->large_unacked_retransmits = 0;
	/* Without any ACK from the peer (one-sided capture) "never
	 * acknowledged" cannot be told from "not captured". */
	if (!r->ack_seen || full < RTX_MIN_LEN)
		return;
	uint32_t starts[RW_REASM_RTX_SLOTS * MAX_PIECES];
	size_t n = 0;
	for (size_t i = 0; r->x && i < r->x->n_rtx; i++)
		n = unacked_pieces(r, r->x->rtx[i].seq, r->x->rtx[i].len, full, starts, n);
	st->large_unacked_retransmits = (uint32_t)n;
}
