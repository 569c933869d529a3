/* Verdict rule tests of how a connection ended when no phase rule named a
 * cause: the proxy's timeouts, a silent client, resets, FIN closes, and a
 * connection still open. Order: the table in verdict.c. */
#include "verdict_rules.h"

/* The inline proxy's idle timeout once established: nothing either way. */
bool rw_rule_idle_closed(struct ctx *c)
{
	const struct rw_record *r = c->r;
	if (!r->timed_out || r->timeout_phase != RW_PHASE_ESTABLISHED ||
	    (r->closed && r->first_close_ts_us < r->timeout_ts_us))
		return false;
	ev(c, "established session idle until the timeout: no byte either way");
	return true;
}

/* A client that acknowledged everything the server sent and stayed silent
 * during TLS or NLA: mstsc shows its certificate prompt after the TLS
 * handshake and asks for credentials or a smart-card PIN during CredSSP. The
 * network delivered everything; the client did not go on. */
bool rw_rule_client_silent(struct ctx *c)
{
	const struct rw_record *r = c->r;
	const struct rw_peer_tcp *p = proxy_peer(r, RW_PROXY_STOP_WAITED);
	if (!p || r->proxy_side != RW_C2S || p->unacked_bytes || !r->timed_out ||
	    (r->closed && r->first_close_ts_us < r->timeout_ts_us) ||
	    (r->timeout_phase != RW_PHASE_TLS_HANDSHAKE && r->timeout_phase != RW_PHASE_NLA))
		return false;
	ev(c,
	   "all data acknowledged; the client was silent for %.0f s in phase %s (waiting on "
	   "the user?)",
	   p->silent_ms / 1000.0, rw_phase_name(r->timeout_phase));
	/* CredSSP tokens (Kerberos) can span several full-size segments that an
	 * MTU black hole between the client and the proxy would swallow. */
	sure(c, r->timeout_phase == RW_PHASE_NLA ? RW_CONFIDENCE_LOW : RW_CONFIDENCE_MEDIUM);
	maybe(c, RW_CAUSE_HANDSHAKE_TIMEOUT);
	if (r->timeout_phase == RW_PHASE_NLA)
		maybe(c, RW_CAUSE_MTU_BLACKHOLE);
	tell(c, "the user's screen (a certificate warning, credential or PIN prompt left open) or "
	        "the client's log; a capture next to the client shows whether it sent an answer "
	        "that was lost");
	c->remediation = "The client acknowledged everything and did not go on: a user at a "
	                 "certificate, credential or smart-card PIN prompt, or a stalled client. "
	                 "Give the host a certificate the clients trust (no prompt), or raise "
	                 "prompt_timeout if users need longer.";
	return true;
}

/* A handshake that stalls after the ClientHello: the host's big flight may be
 * lost on the way (MTU), which only a vantage point before the loss shows. */
static void timeout_alternatives(struct ctx *c)
{
	const struct rw_record *r = c->r;
	if (hello_sent(r) && !r->server_hello_seen) {
		maybe(c, RW_CAUSE_MTU_BLACKHOLE);
		tell(c, "a capture next to the host shows its certificate flight retransmitted "
		        "(an MTU black hole) or nothing sent (a stalled host); 'ping -M do -s 1472 "
		        "HOST' tests the path MTU");
	}
}

bool rw_rule_timeout(struct ctx *c)
{
	const struct rw_record *r = c->r;
	if (r->timed_out && !(r->closed && r->first_close_ts_us < r->timeout_ts_us)) {
		ev(c, "no progress in phase %s until the timeout", rw_phase_name(r->timeout_phase));
		timeout_alternatives(c);
		const struct rw_peer_tcp *p = proxy_peer(r, RW_PROXY_STOP_WAITED);
		if (p && p->unacked_bytes) {
			/* Data to that side not acknowledged: lost on the way (large
			 * segments: MTU) or the side itself gone. */
			maybe(c, RW_CAUSE_MTU_BLACKHOLE);
			maybe(c, RW_CAUSE_PEER_VANISHED);
			tell(c,
			     "a capture next to that side shows whether the data arrived; 'ping -M "
			     "do -s 1472' towards it tests the path MTU");
		}
		/* Everything reached the side waited on: not loss on the way to it
		 * (its answer may still be lost on the way back: the alternatives). */
		if (p && !p->unacked_bytes)
			c->remediation =
			        r->proxy_side == RW_C2S
			                ? "The client acknowledged everything and did not go on: "
			                  "check the client (a stalled or misconfigured client, "
			                  "local security software)."
			                : "The host acknowledged everything and did not answer: "
			                  "check its load and its RDP service (TermService, xrdp) "
			                  "and event logs at that time.";
		return true;
	}
	/* Seen from the client side of an inline proxy or balancer: the server
	 * side stays silent after the ClientHello, then gives up. */
	if (hello_sent(r) && !r->server_hello_seen && !r->inferred_answer_len &&
	    closed_by(r, RW_S2C) && !r->alert[RW_S2C].seen &&
	    r->first_close_ts_us - r->ch_ts_us >= SILENT_CLOSE_US) {
		ev_close(c,
		         "server side silent for %.0f ms after the ClientHello, then closed: a "
		         "timeout (a proxy, balancer or the host gave up)",
		         ms(r->ch_ts_us, r->first_close_ts_us));
		timeout_alternatives(c);
		return true;
	}
	/* The same later in the handshake: the client's last flight (its key
	 * exchange and Finished) answered by silence, then the server side's
	 * close. A proxy whose upstream went quiet (or whose host's RST a SYN
	 * proxy left out of the window) gives up this way. */
	/* (From the client alone the server's answer is only acknowledged bytes.) */
	if ((r->server_hello_seen || r->inferred_answer_len) && !r->tls_established &&
	    closed_by(r, RW_S2C) && in_phase(r, RW_PHASE_TLS_HANDSHAKE) && !r->alert[RW_S2C].seen &&
	    !r->alert[RW_C2S].seen && r->last_data_ts_us[RW_C2S] >= r->last_data_ts_us[RW_S2C] &&
	    r->first_close_ts_us - r->last_data_ts_us[RW_C2S] >= SILENT_CLOSE_US) {
		ev_close(c,
		         "server side silent for %.0f ms after the client's last handshake "
		         "message, then "
		         "closed: a timeout (a proxy, balancer or the host gave up)",
		         ms(r->last_data_ts_us[RW_C2S], r->first_close_ts_us));
		return true;
	}
	return false;
}

/* An RST whose TTL could not be compared with its side's packets (inline, or
 * too few packets) could have been forged on the way. */
static void unverified_reset(struct ctx *c, enum rw_dir d)
{
	if (c->r->ttl_lo[d] >= 0 && c->r->rst_ttl[d] >= 0)
		return;
	maybe(c, RW_CAUSE_RESET_INJECTED);
	tell(c, "a capture where the RST's TTL can be compared with that side's other packets "
	        "tells a reset forged by a firewall");
}

bool rw_rule_reset_by_server(struct ctx *c)
{
	if (!closed_by(c->r, RW_S2C) || c->r->first_close_kind != RW_CLOSE_RST)
		return false;
	ev_close(c, "server sent RST in phase %s", rw_phase_name(c->r->first_close_phase));
	unverified_reset(c, RW_S2C);
	return true;
}

bool rw_rule_reset_by_client(struct ctx *c)
{
	if (!closed_by(c->r, RW_C2S) || c->r->first_close_kind != RW_CLOSE_RST)
		return false;
	ev_close(c, "client sent RST in phase %s", rw_phase_name(c->r->first_close_phase));
	unverified_reset(c, RW_C2S);
	return true;
}

bool rw_rule_normal(struct ctx *c)
{
	const struct rw_record *r = c->r;
	if (!r->closed || r->first_close_kind != RW_CLOSE_FIN)
		return false;
	if (r->first_close_phase < RW_PHASE_RDP && !(r->tls_established && !r->cc_seen))
		return false;
	ev_close(c, "%s closed with FIN in phase %s", side_of(r->first_close_dir),
	         rw_phase_name(r->first_close_phase));
	return true;
}

bool rw_rule_client_cancelled_late(struct ctx *c)
{
	const struct rw_record *r = c->r;
	if (!closed_by(r, RW_C2S) || r->first_close_kind != RW_CLOSE_FIN)
		return false;
	ev_close(c, "client closed with FIN in phase %s", rw_phase_name(r->first_close_phase));
	return true;
}

bool rw_rule_still_open(struct ctx *c)
{
	if (c->r->closed)
		return false;
	switch (c->r->end_reason) {
	case RW_END_EVICTED:
		ev(c, "reported early: the flow table was full (raise --max-flows)");
		break;
	case RW_END_IDLE:
		ev(c, "no packet for the idle timeout; no FIN or RST seen");
		break;
	default:
		ev(c, "no FIN or RST before the end of the capture");
		break;
	}
	return true;
}
