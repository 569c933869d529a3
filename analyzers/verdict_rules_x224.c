/* Verdict rule tests of the X.224 phase: security negotiation refused, a TLS
 * endpoint or non-RDP client where X.224 belongs, a request closed or never
 * answered, a client that gave up early. Order: the table in verdict.c. */
#include <stdio.h>
#include <string.h>

#include "verdict_rules.h"
#include "x224.h"

/* A client that waits this long for the X.224 answer before giving up was
 * not cancelling: the server never answered. */
#define X224_PATIENCE_US (3ull * 1000000ull)
/* A TLS endpoint fed a TPKT header gives up at once; an RDP host answers. */
#define TLS_ENDPOINT_CLOSE_US (1000000ull)
/* Connection Confirm sizes: TPKT 4 + X.224 CC 7, and + an 8-byte RDP_NEG_RSP
 * or RDP_NEG_FAILURE (MS-RDPBCGR 2.2.1.2). */
#define CC_BARE_LEN 11u
#define CC_NEG_LEN  19u

bool rw_rule_neg_failure(struct ctx *c)
{
	const struct rw_record *r = c->r;
	if (r->neg_failure_present) {
		const char *n = rw_neg_failure_name(r->neg_failure_code);
		ev_at(c, RW_S2C, r->cc_ts_us, "X.224 Connection Confirm carries RDP_NEG_FAILURE %s",
		      n ? n : "unknown code");
		return true;
	}
	/* A client asking for standard RDP security only (no RDP_NEG_REQ) cannot
	 * be sent RDP_NEG_FAILURE: a host that requires TLS or NLA answers with a
	 * bare Confirm and hangs up at once (xrdp sends a 9-byte MCS Disconnect
	 * Provider Ultimatum first). */
	/* From the client's packets alone the Confirm is a count of bytes: 11 is
	 * a bare one (TPKT 4 + X.224 CC 7), 19 one with an 8-byte RDP_NEG_RSP or
	 * RDP_NEG_FAILURE (MS-RDPBCGR 2.2.1.2). */
	bool bare_cc = r->cc_seen ? !r->neg_rsp_present
	                          : r->cc_inferred && r->cc_inferred_len == CC_BARE_LEN;
	uint64_t cc_ts = r->cc_seen ? r->cc_ts_us : r->cc_inferred_ts_us;
	uint64_t after_cc = r->cc_seen ? r->bytes_after_cc[RW_S2C]
	                               : r->inferred_bytes[RW_S2C] - r->cc_inferred_len;
	/* Which FIN comes first is a race when the host says goodbye before it
	 * closes: a client that reads the Ultimatum may close before the host's
	 * FIN reaches it (or the capture point: a proxy between them relays the
	 * bytes and the FIN apart). The host's short PDU, all it sent, came
	 * before the client's close. */
	bool server_first = closed_by(r, RW_S2C);
	bool client_after_goodbye = closed_by(r, RW_C2S) && after_cc > 0 &&
	                            r->last_data_ts_us[RW_S2C] <= r->first_close_ts_us;
	if (r->cr_seen && bare_cc && !r->neg_req_present &&
	    (server_first || client_after_goodbye) && after_cc <= 16 &&
	    r->first_close_ts_us - cc_ts < 1000000) {
		ev_at(c, RW_C2S, r->cr_ts_us,
		      r->cr_inferred
		              ? "client requested standard RDP security only (its request was "
		                "not captured, but a Confirm without negotiation data answers "
		                "only a request without RDP_NEG_REQ)"
		              : "client requested standard RDP security only (no RDP_NEG_REQ)");
		if (!r->cc_seen)
			ev_at(c, RW_S2C, r->cc_inferred_ts_us,
			      "the server's answer (not captured) was %u bytes, a Connection "
			      "Confirm "
			      "without negotiation data",
			      (unsigned)r->cc_inferred_len);
		if (server_first)
			ev_close(c,
			         "server closed %.0f ms after its Connection Confirm, sending %u "
			         "bytes",
			         ms(cc_ts, r->first_close_ts_us), (unsigned)after_cc);
		else
			ev_close(
			        c,
			        "client closed %.0f ms after the server's Confirm, on the %u bytes "
			        "the server sent after it (an MCS Disconnect Provider Ultimatum is "
			        "9)",
			        ms(cc_ts, r->first_close_ts_us), (unsigned)after_cc);
		sure(c, RW_CONFIDENCE_MEDIUM);
		maybe(c, RW_CAUSE_RDP_CLOSED_BY_SERVER);
		tell(c, "the host's log says why it disconnected (xrdp: 'requires TLS'; Windows: "
		        "RemoteDesktopServices-RdpCoreTS); retry with /sec:tls to confirm");
		return true;
	}
	/* Client-only: a client that asked for a security protocol got 19 bytes
	 * (a Confirm with RDP_NEG_RSP or RDP_NEG_FAILURE) and hung up within a
	 * second without starting TLS: had the Confirm selected what it asked
	 * for, its ClientHello would follow. Refused, or given a protocol it
	 * would not use; a user's cancel at that instant is the alternative. */
	if (!r->cc_seen && r->cc_inferred && r->cc_inferred_len == CC_NEG_LEN && r->cr_seen &&
	    !r->cr_inferred && r->neg_req_present && r->requested_protocols != RW_PROTO_RDP &&
	    closed_by(r, RW_C2S) && r->first_close_phase <= RW_PHASE_X224 && !r->tls_seen[RW_C2S] &&
	    r->first_close_ts_us - r->cc_inferred_ts_us < 1000000) {
		ev_at(c, RW_S2C, r->cc_inferred_ts_us,
		      "the server's answer (not captured) was %u bytes, a Connection Confirm with "
		      "RDP_NEG_RSP or RDP_NEG_FAILURE",
		      (unsigned)r->cc_inferred_len);
		ev_close(c, "client closed %.0f ms after it without starting TLS",
		         ms(r->cc_inferred_ts_us, r->first_close_ts_us));
		sure(c, RW_CONFIDENCE_LOW);
		maybe(c, RW_CAUSE_CLIENT_CANCELLED);
		tell(c,
		     "the server's Connection Confirm was not captured: a capture of the server's "
		     "packets shows RDP_NEG_FAILURE or the protocol it selected; the client's log "
		     "names a security negotiation failure");
		return true;
	}
	/* The server chose a protocol the client did not ask for (xrdp does this
	 * instead of sending RDP_NEG_FAILURE) and the client hung up at once. */
	if (!r->cc_seen || !r->cr_seen || r->bytes_after_cc[RW_C2S] > 0 || !closed_by(r, RW_C2S))
		return false;
	uint32_t sel = r->selected_protocol, req = r->requested_protocols;
	/* (a request inferred from a server-only capture names no protocol) */
	bool unrequested = !r->cr_inferred && (sel == RW_PROTO_RDP ? req != 0 : (sel & ~req) != 0);
	const char *names[8];
	size_t k = rw_proto_names(req, names);
	char reqs[64] = "";
	for (size_t i = 0; i < k; i++)
		snprintf(reqs + strlen(reqs), sizeof(reqs) - strlen(reqs), "%s%s", i ? "," : "",
		         names[i]);
	const char *sn = rw_proto_name(sel);
	ev_at(c, RW_S2C, r->cc_ts_us, "server selected %s, client requested %s",
	      sn ? sn : "an unknown protocol", r->cr_inferred ? "(not captured)" : reqs);
	ev_close(c, unrequested
	                    ? "client closed right after the Connection Confirm"
	                    : "client closed without starting the selected protocol (it insists on "
	                      "another, e.g. NLA)");
	if (!unrequested) {
		sure(c, RW_CONFIDENCE_MEDIUM);
		maybe(c, RW_CAUSE_CLIENT_CANCELLED);
		tell(c, "the client's log names a security negotiation failure (mstsc: an "
		        "authentication error; FreeRDP: 'Protocol Security Negotiation Failure')");
	}
	return true;
}

/* A close right after the Connection Request, without a byte: a balancer
 * that expects TLS first, a firewall that stops RDP, a host at its
 * connection limit, or a proxy whose host refused it leave the same wire. */
static void quick_close_alternatives(struct ctx *c)
{
	sure(c, RW_CONFIDENCE_LOW);
	maybe(c, RW_CAUSE_TLS_TERMINATING_MIDDLEBOX);
	maybe(c, RW_CAUSE_X224_CLOSED_BY_SERVER);
	if (c->r->first_close_kind == RW_CLOSE_RST)
		maybe(c, RW_CAUSE_RESET_INJECTED);
	/* A proxy or balancer in between that accepted the client and could not
	 * connect to the host hangs up the same way. */
	maybe(c, RW_CAUSE_UPSTREAM_REFUSED);
	tell(c, "'openssl s_client -connect HOST:3389' gets a certificate only where TLS is "
	        "terminated from the first byte (an RDP host wants X.224 first); a capture next "
	        "to the host shows whether the request reached it (a firewall stops it on the "
	        "way, a proxy's connection to the host is refused); the host's "
	        "TerminalServices-RemoteConnectionManager log shows a connection limit");
}

bool rw_rule_tls_middlebox(struct ctx *c)
{
	const struct rw_record *r = c->r;
	if (r->server_tls_before_cc && r->cr_seen) {
		ev(c, "server side answered the X.224 Connection Request with TLS bytes");
		return true;
	}
	/* Closed without a byte right after the request: what HAProxy 'bind ssl'
	 * or stunnel do with a TPKT header where a ClientHello should be. */
	if (r->cr_seen && !r->cc_seen && closed_by(r, RW_S2C) && r->bytes[RW_S2C] == 0 &&
	    r->first_close_ts_us - r->cr_ts_us < TLS_ENDPOINT_CLOSE_US) {
		ev_close(
		        c,
		        "server side %s %.0f ms after the X.224 Connection Request without a byte, "
		        "as a TLS endpoint does with non-TLS input",
		        r->first_close_kind == RW_CLOSE_RST ? "reset" : "closed",
		        ms(r->cr_ts_us, r->first_close_ts_us));
		quick_close_alternatives(c);
		c->remediation =
		        "Something closed the connection right after the RDP request: if a load "
		        "balancer terminates TLS there, set it to TCP mode for RDP (HAProxy 'mode "
		        "tcp', no 'ssl' on bind); otherwise check firewalls with RDP application "
		        "control and the host's connection limits.";
		return true;
	}
	return false;
}

/* TLS from the first byte, no X.224, and a ClientHello asking for an HTTP
 * protocol (ALPN h2 or http/1.1): a browser, an HTTPS health check, or an RD
 * Gateway client on the wrong port. A Windows host even completes the TLS
 * handshake (it takes it for the Direct Approach, MS-RDPBCGR 5.4.2.2) before
 * it closes on what follows; no RDP client sends ALPN. */
static bool https_client(struct ctx *c)
{
	const struct rw_record *r = c->r;
	if (!r->client_tls_without_x224 || r->cr_seen || r->midstream || !r->client_hello_seen ||
	    r->phase_reached[RW_PHASE_ESTABLISHED])
		return false;
	for (size_t i = 0; i < r->ch.n_alpn && i < RW_TLS_MAX_ALPN; i++) {
		if (strcmp(r->ch.alpn[i], "http/1.1") != 0 && strcmp(r->ch.alpn[i], "h2") != 0)
			continue;
		ev_at(c, RW_C2S, r->ch_ts_us,
		      "client started with a TLS ClientHello offering ALPN %s and no X.224 request",
		      r->ch.alpn[i]);
		return true;
	}
	return false;
}

bool rw_rule_not_rdp(struct ctx *c)
{
	const struct rw_record *r = c->r;
	if (!r->not_tpkt[RW_C2S] || r->cr_seen)
		return https_client(c);
	ev(c, "client's first bytes are neither TPKT nor TLS (%02x %02x %02x)",
	   r->first_bytes[0][0], r->first_bytes[0][1], r->first_bytes[0][2]);
	return true;
}

bool rw_rule_x224_closed(struct ctx *c)
{
	const struct rw_record *r = c->r;
	if (!r->cr_seen || r->cc_seen || !closed_by(r, RW_S2C) || r->bytes[RW_S2C] > 0 ||
	    r->first_close_ts_us - r->cr_ts_us >= SILENT_CLOSE_US)
		return false;
	ev_close(c, "server %s %.0f ms after the X.224 Connection Request, with no answer",
	         r->first_close_kind == RW_CLOSE_RST ? "reset" : "closed",
	         ms(r->cr_ts_us, r->first_close_ts_us));
	quick_close_alternatives(c);
	sure(c, RW_CONFIDENCE_MEDIUM);
	return true;
}

bool rw_rule_x224_no_response(struct ctx *c)
{
	const struct rw_record *r = c->r;
	if (!r->cr_seen || r->cc_seen || r->bytes[RW_S2C] > 0)
		return false;
	uint64_t end = r->closed ? r->first_close_ts_us : r->ts_close_us;
	if (r->timed_out && (!r->closed || r->timeout_ts_us <= r->first_close_ts_us)) {
		/* The proxy's request never reached the host's TCP: the network
		 * (or the host's kernel), not TermService: handshake_timeout. */
		const struct rw_peer_tcp *p = proxy_peer(r, RW_PROXY_STOP_WAITED);
		if (p && r->proxy_side == RW_S2C && p->unacked_bytes)
			return false;
		ev(c, "no X.224 Connection Confirm before the timeout (%.0f ms)",
		   ms(r->cr_ts_us, r->timeout_ts_us));
		return true;
	}
	if (end - r->cr_ts_us < X224_PATIENCE_US)
		return false;
	ev_at(c, RW_C2S, r->cr_ts_us, "no X.224 Connection Confirm %.0f ms after the request",
	      ms(r->cr_ts_us, end));
	if (closed_by(r, RW_S2C)) {
		ev_close(c, "then the server side closed: a proxy or load balancer timeout");
		maybe(c, RW_CAUSE_UPSTREAM_UNREACHABLE);
		tell(c, "a capture between the proxy and the host shows whether the proxy's SYN "
		        "was answered (no: upstream_unreachable) or its request went unanswered "
		        "(a hung host)");
		c->remediation = "A proxy or load balancer in front of the host accepted the "
		                 "connection, never answered and gave up: check its log for the "
		                 "host it chose, then whether that host is reachable and its "
		                 "TermService responds.";
	}
	return true;
}

bool rw_rule_client_cancelled_early(struct ctx *c)
{
	const struct rw_record *r = c->r;
	if (!closed_by(r, RW_C2S) || r->first_close_phase > RW_PHASE_X224 || r->cc_seen)
		return false;
	ev(c,
	   r->cr_seen ? "client closed %.0f ms after its request, before any answer"
	              : "client closed before sending anything (%.0f ms)",
	   ms(r->cr_seen ? r->cr_ts_us : r->ts_open_us, r->first_close_ts_us));
	if (r->cc_inferred) {
		/* Client-only capture: the server did answer, with bytes unseen. */
		ev(c, "the server answered the request (acknowledged by the client, not captured)");
		sure(c, RW_CONFIDENCE_LOW);
		maybe(c, RW_CAUSE_SECURITY_NEGOTIATION_FAILURE);
		tell(c,
		     "the server's Connection Confirm was not captured: a capture of the "
		     "server's packets shows whether it refused the requested security protocol");
	}
	return true;
}
