/* The verdict: which side closed, how, in which phase, and the most likely
 * cause. The rule table below is the whole policy, in priority order: the
 * first rule whose test holds names the cause. Each test (verdict_rules_*.c,
 * one file a phase) adds the facts it used to the evidence. Add a rule here,
 * with its unit test, when the wire tells more. */
#include <string.h>

#include "verdict_rules.h"
#include "x224.h"

/* ---- the table ---------------------------------------------------------- */

struct rule {
	enum rw_cause cause;
	bool (*test)(struct ctx *c);
	enum rw_confidence confidence; /* unless the test says otherwise */
};

static const struct rule rules[] = {
        {RW_CAUSE_UPSTREAM_REFUSED, rw_rule_refused, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_UPSTREAM_UNREACHABLE, rw_rule_unreachable, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_PEER_VANISHED, rw_rule_peer_vanished, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_MTU_BLACKHOLE, rw_rule_mtu_blackhole, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_RESET_INJECTED, rw_rule_reset_injected, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_SECURITY_NEGOTIATION_FAILURE, rw_rule_neg_failure, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_TLS_TERMINATING_MIDDLEBOX, rw_rule_tls_middlebox, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_NOT_RDP, rw_rule_not_rdp, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_X224_CLOSED_BY_SERVER, rw_rule_x224_closed, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_X224_NO_RESPONSE, rw_rule_x224_no_response, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_CLIENT_CANCELLED, rw_rule_client_cancelled_early, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_TLS_STREAM_ALTERED, rw_rule_tls_altered, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_TLS_PROTOCOL_VERSION_MISMATCH, rw_rule_alert_version, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_TLS_CIPHER_MISMATCH, rw_rule_alert_cipher, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_CERTIFICATE_EXPIRED, rw_rule_cert_expired, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_CERTIFICATE_REJECTED_BY_CLIENT, rw_rule_cert_rejected, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_TLS_REJECTED_WITHOUT_ALERT, rw_rule_tls_rejected_no_alert, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_TLS_ALERT, rw_rule_other_alert, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_TLS_ALERT, rw_rule_alert_sized_answer, RW_CONFIDENCE_LOW},
        /* inspection with the host's key: the host's own reason */
        {RW_CAUSE_CLOCK_SKEW, rw_rule_insp_clock_skew, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_NLA_LOGON_FAILURE, rw_rule_insp_logon_failure, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_NLA_PASSWORD_EXPIRED, rw_rule_insp_password_expired, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_NLA_ACCOUNT_RESTRICTED, rw_rule_insp_account_restricted, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_NLA_ACCOUNT_DISABLED, rw_rule_insp_account_disabled, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_NLA_ACCOUNT_LOCKED_OUT, rw_rule_insp_account_locked_out, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_NLA_ACCOUNT_EXPIRED, rw_rule_insp_account_expired, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_NLA_LOGON_TYPE_NOT_GRANTED, rw_rule_insp_logon_type, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_NLA_NO_AUTHORITY, rw_rule_insp_no_authority, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_NLA_FAILED, rw_rule_insp_nla_other, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_SERVER_DENIED_CONNECTION, rw_rule_insp_server_denied, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_SESSION_ENDED_BY_HOST, rw_rule_insp_session_ended, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_SESSION_TIME_LIMIT, rw_rule_insp_time_limit, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_RDP_LICENSING_FAILED, rw_rule_insp_licensing, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_CONNECTION_BROKER_FAILED, rw_rule_insp_broker, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_HOST_SESSION_FAILURE, rw_rule_insp_host_failure, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_RDP_PROTOCOL_ERROR, rw_rule_insp_protocol_error, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_NLA_LOGON_FAILURE, rw_rule_insp_errinfo_logon, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_RDP_CLOSED_BY_SERVER, rw_rule_insp_errinfo_other, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_CLOCK_SKEW, rw_rule_clock_skew, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_NLA_FAILED, rw_rule_nla_failed, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_IDLE_TIMEOUT, rw_rule_idle_closed, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_CLIENT_CANCELLED, rw_rule_client_silent, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_HANDSHAKE_TIMEOUT, rw_rule_timeout, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_RESET_BY_SERVER, rw_rule_reset_by_server, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_RESET_BY_CLIENT, rw_rule_reset_by_client, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_NORMAL_CLOSE, rw_rule_nla_auth_only, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_RDP_CLOSED_BY_SERVER, rw_rule_rdp_closed_by_server, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_NORMAL_CLOSE, rw_rule_normal, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_CLIENT_CANCELLED, rw_rule_client_cancelled_late, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_STILL_OPEN, rw_rule_still_open, RW_CONFIDENCE_HIGH},
};

bool rw_record_shows_phase(const struct rw_record *rec, enum rw_phase p)
{
	return (unsigned)p < RW_PHASE_COUNT && rec->phase_reached[p] && p <= rec->verdict.phase;
}

bool rw_record_tls_established(const struct rw_record *rec)
{
	switch (rec->verdict.cause) {
	case RW_CAUSE_TLS_PROTOCOL_VERSION_MISMATCH:
	case RW_CAUSE_TLS_CIPHER_MISMATCH:
	case RW_CAUSE_TLS_REJECTED_WITHOUT_ALERT:
	case RW_CAUSE_CERTIFICATE_EXPIRED:
	case RW_CAUSE_CERTIFICATE_REJECTED_BY_CLIENT:
	case RW_CAUSE_TLS_ALERT:
		return false;
	default:
		return rec->tls_established && rec->verdict.phase > RW_PHASE_TLS_HANDSHAKE;
	}
}

static void close_facts(struct rw_record *r, struct rw_verdict *v)
{
	v->phase = r->phase_reached[RW_PHASE_ESTABLISHED] ? RW_PHASE_ESTABLISHED
	                                                  : RW_PHASE_TCP_CONNECT;
	for (int p = RW_PHASE_COUNT - 1; p >= 0; p--) {
		if (r->phase_reached[p]) {
			v->phase = (enum rw_phase)p;
			break;
		}
	}
	bool timeout_first =
	        r->timed_out && (!r->closed || r->timeout_ts_us < r->first_close_ts_us);
	if (r->connect_failed) {
		v->phase = RW_PHASE_TCP_CONNECT;
		v->close_kind = (enum rw_close_kind)r->connect_failed;
		v->closed_by = r->connect_failed == RW_CLOSE_REFUSED ? RW_SIDE_SERVER
		               : r->proxy                            ? RW_SIDE_PROXY
		                                                     : RW_SIDE_CLIENT;
	} else if (timeout_first) {
		v->phase = r->timeout_phase;
		v->close_kind = RW_CLOSE_TIMEOUT;
		v->closed_by = RW_SIDE_PROXY;
	} else if (r->closed) {
		v->phase = r->first_close_phase;
		v->close_kind = r->first_close_kind;
		v->closed_by = r->first_close_dir == RW_C2S ? RW_SIDE_CLIENT : RW_SIDE_SERVER;
	} else {
		v->close_kind = RW_CLOSE_NONE;
		v->closed_by = RW_SIDE_NONE;
	}
}

/* A capture of one direction: what was inferred of the other, and from what. */
static bool one_direction(struct ctx *c)
{
	const struct rw_record *r = c->r;
	if (r->directions == RW_DIRS_BOTH)
		return false;
	enum rw_dir seen = r->directions == RW_DIRS_CLIENT_ONLY ? RW_C2S : RW_S2C;
	enum rw_dir u = seen == RW_C2S ? RW_S2C : RW_C2S;
	ev(c,
	   "only the %s's packets were captured: the %s's %llu bytes%s%s are inferred from the "
	   "%s's acknowledgements",
	   side_of(seen), side_of(u), (unsigned long long)r->inferred_bytes[u],
	   r->inferred_syn[u] ? ", its SYN" : "", r->inferred_fin[u] ? " and its FIN" : "",
	   side_of(seen));
	if (r->inferred_fin[u] && r->inferred_alert[u])
		ev_at(c, u, r->fin_ts_us[u],
		      "the %s's last bytes before its FIN have the size of a TLS alert (inferred "
		      "from the %s's acknowledgements)",
		      side_of(u), side_of(seen));
	if (r->inferred_rst[u])
		ev_at(c, u, r->rst_ts_us[u],
		      "the %s retransmitted and then fell silent for %.1f s while the capture "
		      "went on, without FIN: a stack stops retransmitting before its timer runs "
		      "out "
		      "only when answered, so the %s's RST (never acknowledged, never captured) is "
		      "inferred",
		      side_of(seen), r->inferred_rst_quiet_us / 1e6, side_of(u));
	if (r->cr_inferred)
		ev_at(c, RW_C2S, r->cr_ts_us,
		      "the client's first bytes (unseen) taken as its X.224 Connection Request");
	if (r->client_hello_inferred)
		ev_at(c, RW_C2S, r->ch_ts_us,
		      "the client's bytes after the Confirm that selected TLS (unseen) taken as "
		      "its "
		      "ClientHello");
	if (seen == RW_C2S && r->cc_inferred && r->phase_reached[RW_PHASE_NLA])
		ev(c, "NLA assumed selected: the client requested it and the server's Confirm was "
		      "not captured");
	return true;
}

/* Whatever the cause, a record of the proxy's timeout says what the socket
 * of the side it waited on showed: data not acknowledged (the network, or
 * the side gone) or everything acknowledged and nothing said (the side). */
static void proxy_wait_evidence(struct ctx *c)
{
	const struct rw_record *r = c->r;
	const struct rw_peer_tcp *p = proxy_peer(r, RW_PROXY_STOP_WAITED);
	if (!p)
		return;
	const char *who = side_of(r->proxy_side);
	if (p->unacked_bytes)
		ev(c,
		   "waiting on the network: %llu bytes sent to the %s not acknowledged (last ACK "
		   "%.1f s before the timeout, %u retransmissions)",
		   (unsigned long long)p->unacked_bytes, who, p->last_ack_ms / 1000.0,
		   p->retransmits);
	else if (p->unsent_bytes)
		ev(c,
		   "waiting on the %s: it acknowledged everything but does not read (%llu bytes "
		   "wait for its window)",
		   who, (unsigned long long)p->unsent_bytes);
	else if (r->timeout_phase == RW_PHASE_ESTABLISHED)
		ev(c, "both sides idle: the %s acknowledged everything, silent for %.0f s", who,
		   p->silent_ms / 1000.0);
	else if (c->v->cause != RW_CAUSE_CLIENT_CANCELLED)
		ev(c,
		   "waiting on the %s: all data sent to it acknowledged, the %s silent for %.0f s",
		   who, who, p->silent_ms / 1000.0);
	if (r->proxy_prompt_wait_ms)
		ev(c, "waited %.0f s past the phase timeout for a silent client (prompt_timeout)",
		   r->proxy_prompt_wait_ms / 1000.0);
}

void rw_verdict_decide(struct rw_record *r)
{
	struct rw_verdict *v = &r->verdict;
	memset(v, 0, sizeof(*v));
	close_facts(r, v);
	struct ctx c = {r, v, false, NULL};
	v->cause = RW_CAUSE_UNKNOWN;
	v->confidence = RW_CONFIDENCE_LOW;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		size_t mark = v->n_evidence;
		if (rules[i].test(&c)) {
			v->cause = rules[i].cause;
			if (!c.confidence_set)
				v->confidence = rules[i].confidence;
			/* the rule's own cause is not an alternative to itself */
			size_t k = 0;
			for (size_t a = 0; a < v->n_alternatives; a++)
				if (v->alternatives[a] != v->cause)
					v->alternatives[k++] = v->alternatives[a];
			v->n_alternatives = k;
			break;
		}
		/* a rule that did not match leaves nothing behind */
		v->n_evidence = mark;
		v->n_alternatives = 0;
		v->tell_apart = NULL;
		v->confidence = RW_CONFIDENCE_LOW;
		c.confidence_set = false;
		c.remediation = NULL;
	}
	proxy_wait_evidence(&c);
	rw_inspect_evidence(&c);
	if (r->cc_seen && r->neg_rsp_present && v->cause != RW_CAUSE_SECURITY_NEGOTIATION_FAILURE) {
		const char *n = rw_proto_name(r->selected_protocol);
		ev(&c, "security protocol %s selected", n ? n : "unknown");
	}
	/* What the capture missed can hide the facts another cause rests on. */
	bool partial = r->midstream;
	/* The server's SYN-ACK from another hop distance than its own packets:
	 * something in the path answered the handshake for it. */
	int st = r->syn_ttl[RW_S2C];
	if (st >= 0 && r->ttl_lo[RW_S2C] >= 0 && (st < r->ttl_lo[RW_S2C] || st > r->ttl_hi[RW_S2C]))
		ev(&c,
		   "SYN-ACK has TTL %d, the server's other packets TTL %d: a SYN proxy "
		   "(firewall or load balancer) answered the handshake",
		   st, r->ttl_lo[RW_S2C]);
	if (r->midstream)
		ev(&c, "capture started mid-connection");
	for (int d = 0; d < 2; d++) {
		const struct rw_tcp_stats *t = &r->tcp[d];
		if (!t->gaps)
			continue;
		/* What the receiver acknowledged (or the snaplen cut) was lost by
		 * the capture; the rest the network may have lost. */
		uint64_t cap =
		        t->capture_gap_bytes < t->gap_bytes ? t->capture_gap_bytes : t->gap_bytes;
		if (cap)
			ev(&c,
			   "%llu bytes missing from the %s stream, lost by the capture "
			   "(acknowledged "
			   "by the receiver or cut by the snapshot length)",
			   (unsigned long long)cap, side_of((enum rw_dir)d));
		if (t->gap_bytes > cap)
			ev(&c,
			   "%llu bytes missing from the %s stream, never captured nor acknowledged "
			   "(lost on the network, or the capture missed them)",
			   (unsigned long long)(t->gap_bytes - cap), side_of((enum rw_dir)d));
		partial = true;
	}
	if (one_direction(&c))
		partial = true;
	if (r->closed && r->first_close_kind == RW_CLOSE_RST &&
	    r->inferred_rst[r->first_close_dir]) {
		/* The close itself is an inference: its peer may have been
		 * acknowledged and then gone quiet (hung) instead. */
		v->confidence = RW_CONFIDENCE_LOW;
		maybe(&c, RW_CAUSE_STILL_OPEN);
		if (!v->tell_apart)
			tell(&c, "a capture of the other side (or of both) shows the RST itself, "
			         "with its TTL, or the ACK after which that side went quiet");
	}
	if (partial && v->confidence == RW_CONFIDENCE_HIGH &&
	    (v->cause != RW_CAUSE_STILL_OPEN || r->directions != RW_DIRS_BOTH))
		v->confidence = RW_CONFIDENCE_MEDIUM;
	v->remediation = c.remediation ? c.remediation : rw_cause_remediation(v->cause);
}
