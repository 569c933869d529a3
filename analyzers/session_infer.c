/* One-direction captures: what the front end inferred of the side never
 * captured (its SYN, bytes, alert, FIN or RST) entered into the session,
 * and what those bytes stand for in the connection sequence. */
#include "session_state.h"

/* The phase the connection was in at ts (phases only move forward). */
static enum rw_phase phase_at(const struct rw_session *s, uint64_t ts)
{
	enum rw_phase p = RW_PHASE_TCP_CONNECT;
	for (int i = 0; i < RW_PHASE_COUNT; i++)
		if (s->rec.phase_reached[i] && s->rec.phase_ts_us[i] <= ts)
			p = (enum rw_phase)i;
	return p;
}

/* Server-only capture: the client's acknowledged bytes after the server's
 * handshake flight end the handshake (its Finished), then start the data. */
static void infer_client_progress(struct rw_session *s)
{
	struct rw_record *r = &s->rec;
	if (s->app_started || !r->tls_seen[RW_S2C] || r->tls_seen[RW_C2S])
		return;
	bool server_done = r->tls13 ? r->encrypted_records[RW_S2C] > 0
	                            : r->ccs_seen[RW_S2C] && r->encrypted_records[RW_S2C] > 0;
	if (!server_done)
		return;
	if (!r->tls_established) {
		r->tls_established = true;
		r->tls_done_ts_us = s->now_us;
		if (r->tls13)
			return; /* these bytes were the client's Finished */
	}
	sess_start_app(s);
}

void rw_session_inferred(struct rw_session *s, enum rw_dir dir, uint64_t ts_us, enum rw_infer what,
                         uint64_t n)
{
	struct rw_record *r = &s->rec;
	switch (what) {
	case RW_INFER_SYN:
		r->inferred_syn[dir] = true;
		if (dir == RW_C2S) {
			touch(s, ts_us);
			r->saw_syn = true;
		} else {
			rw_session_syn(s, RW_S2C, ts_us);
		}
		return;
	case RW_INFER_FIN:
		if (r->fin_seen[dir])
			return;
		r->inferred_fin[dir] = true;
		if (r->closed && ts_us <= r->first_close_ts_us) {
			/* Found at the end of the flow: it came before the close recorded
			 * (at the same time: the seen side's FIN packet acknowledged it,
			 * so it had arrived before that FIN was sent). */
			r->fin_seen[dir] = true;
			r->fin_ts_us[dir] = ts_us;
			uint64_t now = s->now_us; /* the mark is stamped with the FIN's time */
			s->now_us = ts_us;
			s->chunk_off[dir] = r->bytes[dir];
			sess_mark(s, dir);
			s->now_us = now;
			r->first_close_dir = dir;
			r->first_close_kind = RW_CLOSE_FIN;
			r->first_close_ts_us = ts_us;
			r->first_close_phase = phase_at(s, ts_us);
			return;
		}
		rw_session_fin(s, dir, ts_us);
		return;
	case RW_INFER_DATA:
	case RW_INFER_ALERT:
		break;
	}
	if (n == 0)
		return;
	bool notable = what == RW_INFER_ALERT; /* a fact evidence may point at */
	if (dir == RW_S2C && r->cr_seen && !r->cc_seen && !r->cc_inferred &&
	    s->phase == RW_PHASE_X224 && what == RW_INFER_DATA) {
		/* The server answered the request: a Confirm or a refusal, unseen. */
		r->cc_inferred = true;
		notable = true;
		r->cc_inferred_ts_us = ts_us;
		r->cc_inferred_len = n;
		if (!r->neg_req_present) {
			/* Standard RDP security: MCS follows in TPKT, not inspected. */
			s->std_rdp = true;
			s->mode[RW_C2S] = M_OPAQUE;
			s->last_record_dir = -1;
		}
	}
	if (dir == RW_C2S && !r->cr_seen && r->bytes[RW_S2C] == 0 && s->phase <= RW_PHASE_X224 &&
	    what == RW_INFER_DATA) {
		/* The client's first bytes, unseen: its Connection Request. */
		r->cr_seen = true;
		r->cr_inferred = true;
		notable = true;
		r->cr_ts_us = ts_us;
	}
	if (dir == RW_C2S && r->cc_seen && r->neg_rsp_present &&
	    r->selected_protocol != RW_PROTO_RDP && !r->tls_seen[RW_C2S] &&
	    !r->client_hello_inferred && s->phase == RW_PHASE_X224 && what == RW_INFER_DATA) {
		/* After a Confirm that selects SSL, HYBRID, RDSTLS or HYBRID_EX the
		 * client's next bytes are its TLS ClientHello (MS-RDPBCGR 5.4.5). */
		r->client_hello_inferred = true;
		notable = true;
		r->ch_ts_us = ts_us;
		enter_phase(s, RW_PHASE_TLS_HANDSHAKE);
	}
	if (dir == RW_S2C && r->client_hello_seen && !r->inferred_answer_len &&
	    r->ch_ts_us <= ts_us)
		r->inferred_answer_len = n;
	sess_data_common(s, dir, ts_us, n);
	if (notable)
		sess_mark(s, dir);
	r->inferred_bytes[dir] += n;
	s->mode[dir] = M_OPAQUE;
	if (what == RW_INFER_ALERT) {
		r->inferred_alert[dir] = true;
		return;
	}
	if (dir == RW_C2S)
		infer_client_progress(s);
	if (s->std_rdp && s->phase < RW_PHASE_RDP)
		enter_phase(s, RW_PHASE_RDP);
	if (s->app_started || s->phase >= RW_PHASE_RDP)
		sess_count_flight(s, dir, (size_t)n);
}

void rw_session_inferred_reset(struct rw_session *s, enum rw_dir dir, uint64_t ts_us,
                               uint64_t quiet_us)
{
	struct rw_record *r = &s->rec;
	if (r->closed || r->rst_seen[dir])
		return; /* a close already recorded came first */
	r->inferred_rst[dir] = true;
	r->inferred_rst_quiet_us = quiet_us;
	uint64_t now = s->now_us;
	rw_session_rst(s, dir, ts_us, -1);
	if (now > s->now_us)
		s->now_us = now;
}

void rw_session_set_directions(struct rw_session *s, enum rw_directions d)
{
	s->rec.directions = d;
}
