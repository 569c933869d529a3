/* Verdict rule tests at the TCP level: a refused or unanswered connect, a peer
 * that vanished under the inline proxy, an MTU black hole and a reset forged
 * on the way (TTL). Their order of application is the table in verdict.c. */
#include "verdict_rules.h"

bool rw_rule_refused(struct ctx *c)
{
	if (c->r->connect_failed != RW_CLOSE_REFUSED)
		return false;
	ev(c, "server answered SYN with RST");
	return true;
}

bool rw_rule_unreachable(struct ctx *c)
{
	int k = c->r->connect_failed;
	if (k != RW_CLOSE_UNREACHABLE && k != RW_CLOSE_TIMEOUT)
		return false;
	ev(c, k == RW_CLOSE_TIMEOUT ? "SYN never answered before the connect timeout"
	                            : "SYN never answered (retransmitted, no SYN-ACK, no RST)");
	return true;
}

/* A side stopped acknowledging: the proxy's kernel gave up on its leg, after
 * TCP_USER_TIMEOUT with data outstanding or after unanswered keepalives. */
bool rw_rule_peer_vanished(struct ctx *c)
{
	const struct rw_record *r = c->r;
	if (r->proxy_stop != RW_PROXY_STOP_LOST)
		return false;
	const struct rw_peer_tcp *p = &r->proxy_tcp[r->proxy_side];
	const char *who = side_of(r->proxy_side);
	ev(c, "the %s vanished: the proxy's socket to it failed with %s", who,
	   p->error_name[0] ? p->error_name : "an error");
	if (p->known)
		ev(c, "no ACK from the %s for %.0f s (%s)", who, p->last_ack_ms / 1000.0,
		   p->unacked_bytes ? "data outstanding: TCP_USER_TIMEOUT"
		                    : "idle: keepalive probes unanswered");
	if (p->known && p->unacked_bytes)
		ev(c, "%llu bytes sent to the %s never acknowledged",
		   (unsigned long long)p->unacked_bytes, who);
	ev(c, "the proxy closed the %s's leg and reset the %s's", who,
	   side_of(r->proxy_side == RW_C2S ? RW_S2C : RW_C2S));
	tell(c, "the vanished side's own log or a capture next to it tells a machine that slept "
	        "or lost its network from a NAT or firewall that forgot the connection (its idle "
	        "timer shorter than keepalive_idle)");
	return true;
}

bool rw_rule_mtu_blackhole(struct ctx *c)
{
	const struct rw_record *r = c->r;
	for (int d = 0; d < 2; d++) {
		const struct rw_tcp_stats *t = &r->tcp[d];
		if (t->large_unacked_retransmits == 0 || r->phase_reached[RW_PHASE_ESTABLISHED])
			continue;
		/* Full size is the path MSS (reassembly.h), not the largest
		 * segment: a capture taken with TSO/GSO or GRO holds larger ones. */
		unsigned full = t->mss ? t->mss : t->max_segment;
		ev(c, "%u full-size %s segments (%u bytes) retransmitted, never acknowledged",
		   t->large_unacked_retransmits, side_of((enum rw_dir)d), full);
		if (t->mss)
			ev(c, "full size is %u bytes: %s", full,
			   t->mss_from_syn ? "the MSS the SYN and SYN-ACK set"
			                   : "the largest retransmission (handshake not captured)");
		if (t->mss && t->max_segment > t->mss)
			ev(c,
			   "%s segments of up to %u bytes were merged by TSO/GSO or GRO where the "
			   "capture was taken: judged as %u-byte segments",
			   side_of((enum rw_dir)d), t->max_segment, full);
		maybe(c, RW_CAUSE_HANDSHAKE_TIMEOUT);
		tell(c, "heavy loss retransmits small segments too: 'ping -M do -s 1472 HOST' or "
		        "tracepath from the client shows the path MTU");
		return true;
	}
	return false;
}

bool rw_rule_reset_injected(struct ctx *c)
{
	const struct rw_record *r = c->r;
	for (int d = 0; d < 2; d++) {
		/* No other packet of that side, only its SYN or SYN-ACK: an RST
		 * that arrives with a higher TTL came from fewer hops away than
		 * whatever answered the handshake (the host, or a SYN proxy in
		 * front of it, nearer still): not from the host. (A SYN proxy's
		 * SYN-ACK makes the host look further away, never nearer.) */
		if (r->rst_seen[d] && r->rst_ttl[d] >= 0 && r->ttl_lo[d] < 0 &&
		    r->syn_ttl[d] >= 0 && r->rst_ttl[d] > r->syn_ttl[d]) {
			ev_at(c, (enum rw_dir)d, r->rst_ts_us[d],
			      "RST claiming to be from the %s has TTL %d, its %s TTL %d: sent from "
			      "nearer "
			      "than what answered the handshake",
			      side_of((enum rw_dir)d), r->rst_ttl[d],
			      d == RW_S2C ? "SYN-ACK" : "SYN", r->syn_ttl[d]);
			maybe(c, d == RW_S2C ? RW_CAUSE_RESET_BY_SERVER : RW_CAUSE_RESET_BY_CLIENT);
			tell(c,
			     "an RDP-aware firewall resets a connection right after the request "
			     "from its own hop distance: a capture next to the host shows that the "
			     "request never reached it; the firewall's log names the rule");
			return true;
		}
		/* Against the side's own packets (not its SYN-ACK, which a SYN
		 * proxy may have sent), outside the range they showed. */
		if (!r->rst_seen[d] || r->rst_ttl[d] < 0 || r->ttl_lo[d] < 0 ||
		    (r->rst_ttl[d] >= r->ttl_lo[d] && r->rst_ttl[d] <= r->ttl_hi[d]))
			continue;
		if (r->ttl_lo[d] == r->ttl_hi[d])
			ev_at(c, (enum rw_dir)d, r->rst_ts_us[d],
			      "RST claiming to be from the %s has TTL %d, its other packets TTL %d",
			      side_of((enum rw_dir)d), r->rst_ttl[d], r->ttl_lo[d]);
		else
			ev_at(c, (enum rw_dir)d, r->rst_ts_us[d],
			      "RST claiming to be from the %s has TTL %d, its other packets TTL "
			      "%d-%d",
			      side_of((enum rw_dir)d), r->rst_ttl[d], r->ttl_lo[d], r->ttl_hi[d]);
		maybe(c, d == RW_S2C ? RW_CAUSE_RESET_BY_SERVER : RW_CAUSE_RESET_BY_CLIENT);
		tell(c, "load-balanced or asymmetric paths also change TTLs: a capture next to the "
		        "host shows whether the host itself sent that RST");
		return true;
	}
	return false;
}
