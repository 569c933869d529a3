/* One-direction captures: what the side never captured sent, told by the
 * other side's ACKs (its bytes, its SYN, a FIN or an alert and a FIN), and its
 * RST, told by the seen side's retransmissions stopping. */
#include "flow_shard.h"

/* Stretches a side's ACK can close with, beyond its peer's last byte: a FIN
 * alone, a TLS alert record and its FIN (7 bytes in clear; 24 in TLS 1.3;
 * 31 in TLS 1.2 with AES-GCM), or an MCS Disconnect Provider Ultimatum (9
 * bytes in TPKT: what xrdp and Windows send before closing) and its FIN. */
bool rw_flow_fin_sized(uint32_t adv)
{
	return adv == 1 || adv == 8 || adv == 10 || adv == 25 || adv == 32;
}

/* One-direction captures: this side's ACK tells what its peer, never
 * captured, sent (the peer's stream starts at the first byte acknowledged;
 * the handshake's ACK or SYN-ACK stands for the peer's SYN). Before the
 * connection is established, a stretch of a FIN's or a TLS alert and FIN's
 * size is taken as the peer's close; later it is judged at the end of the
 * flow (flow_end), as small records are common in a running session. */
void rw_flow_infer_peer(struct flow *f, int side, const struct rw_packet *p)
{
	int u = 1 - side;
	if ((f->state != FLOW_ACTIVE && f->state != FLOW_PENDING) || f->packets[u] != 0)
		return;
	struct rw_reasm *r = &f->rs[u];
	if (!r->started) {
		rw_reasm_syn(r, p->ack - 1);
		f->acked_unseen[u] = true;
		bool syn = p->flags & RW_TCP_SYN;
		if (side == f->client && !syn && f->syn_seen && !f->synack_seen) {
			f->synack_seen = true;
			f->synack_ts = p->ts_us;
			RW_FS(f, .op = RW_FS_INFERRED, .dir = RW_S2C, .ts = p->ts_us,
			      .kind = RW_INFER_SYN);
		}
		/* The client's SYN, from the SYN-ACK, is inferred at the end
		 * (flow_end), once no packet of the client came. */
		return;
	}
	if (!f->s && !f->sh)
		return; /* an attempt: only its handshake so far */
	if (r->fin_seen || !rw_seq_gt(p->ack, r->next) || p->ack - r->next > (1u << 30))
		return;
	uint32_t adv = p->ack - r->next;
	f->last_adv[u] = adv;
	f->last_adv_ts[u] = p->ts_us;
	/* The phase only when it decides (replay -j waits for it). */
	enum rw_phase ph =
	        adv != 1 && rw_flow_fin_sized(adv) ? rw_fs_phase(f) : RW_PHASE_ESTABLISHED;
	if (adv == 1 ||
	    (rw_flow_fin_sized(adv) && ph >= RW_PHASE_TLS_HANDSHAKE && ph < RW_PHASE_ESTABLISHED)) {
		rw_reasm_fin(r, p->ts_us, p->ack - 1);
		f->infer_alert = adv > 1;
		rw_reasm_ack(r, p->ts_us, p->ack);
		f->infer_alert = false;
	}
}

/* Longest wait for a stack's next retransmission: Linux caps the timer at
 * 120 s (TCP_RTO_MAX), Windows at 60 s; past twice that, it gave up. */
#define RTO_WAIT_MAX_US (240 * US_PER_S)
#define RTO_WAIT_MIN_US (1 * US_PER_S)

/* One-direction captures: the unseen side's RST is never acknowledged, so
 * it shows only as the seen side falling silent. A side that retransmitted
 * (its peer did not acknowledge in time) and then stopped, while the
 * capture went on past the time its backed-off timer would fire again
 * (three times the last interval: the timer doubles), has stopped
 * retransmitting, and a stack stops early only when its peer answered: an
 * ACK alone (the peer then silent, which an unanswered retransmission makes
 * unlikely) or a RST. Taken as the peer's RST, low confidence. A side that
 * never retransmitted may simply be waiting: nothing is inferred. */
void rw_flow_unseen_reset(struct rw_capture *c, struct flow *f)
{
	for (int a = 0; a < 2; a++) {
		int u = 1 - a;
		if (f->packets[u] != 0 || f->packets[a] == 0 || !f->acked_unseen[u] ||
		    !f->rtx_ts[a] || f->spoke_after_rtx[a] || f->rs[a].fin_seen)
			continue;
		uint64_t interval = f->rtx_ts[a] - f->rtx_prev_ts[a];
		uint64_t wait = 3 * interval;
		if (wait < RTO_WAIT_MIN_US)
			wait = RTO_WAIT_MIN_US;
		if (wait > RTO_WAIT_MAX_US)
			wait = RTO_WAIT_MAX_US;
		if (c->now <= f->rtx_ts[a] || c->now - f->rtx_ts[a] < wait)
			continue;
		RW_FS(f, .op = RW_FS_INFERRED_RESET, .dir = dir_of(f, u), .ts = f->rtx_ts[a],
		      .a = c->now - f->rtx_ts[a]);
	}
}
