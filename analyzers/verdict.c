/* The verdict: which side closed, how, in which phase, and the most likely
 * cause. The rules below are the whole policy, in priority order: the first
 * rule whose test holds names the cause. Each test adds the facts it used to
 * the evidence. Add a rule here, with its unit test, when the wire tells more. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "session.h"
#include "tls_record.h"
#include "x224.h"

/* A client that waits this long for the X.224 answer before giving up was
 * not cancelling: the server never answered. */
#define X224_PATIENCE_US (3ull * 1000000ull)
/* A TLS endpoint fed a TPKT header gives up at once; an RDP host answers. */
#define TLS_ENDPOINT_CLOSE_US (1000000ull)
/* A server side that stays silent this long and then closes timed out. */
#define SILENT_CLOSE_US (3ull * 1000000ull)
/* Connection Confirm sizes: TPKT 4 + X.224 CC 7, and + an 8-byte RDP_NEG_RSP
 * or RDP_NEG_FAILURE (MS-RDPBCGR 2.2.1.2). */
#define CC_BARE_LEN 11u
#define CC_NEG_LEN  19u
/* NTLM CredSSP: NEGOTIATE, AUTHENTICATE + pubKeyAuth, then the credentials. */
#define NLA_CLIENT_DONE_FLIGHTS 3

struct ctx {
	struct rw_record *r;
	struct rw_verdict *v;
	bool confidence_set;
	const char *remediation; /* a rule's own, when the default would not fit */
};

/* A rule that holds says how sure it is when that depends on the facts;
 * otherwise the table's confidence for its cause applies. */
static void sure(struct ctx *c, enum rw_confidence k)
{
	c->v->confidence = k;
	c->confidence_set = true;
}

/* Another cause the same wire fits, most likely first. */
static void maybe(struct ctx *c, enum rw_cause alt)
{
	struct rw_verdict *v = c->v;
	for (size_t i = 0; i < v->n_alternatives; i++)
		if (v->alternatives[i] == alt)
			return;
	if (v->n_alternatives < RW_MAX_ALTERNATIVES)
		v->alternatives[v->n_alternatives++] = alt;
}

static void tell(struct ctx *c, const char *how)
{
	c->v->tell_apart = how;
}

static void ev(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ev(struct ctx *c, const char *fmt, ...)
{
	struct rw_verdict *v = c->v;
	if (v->n_evidence >= RW_MAX_EVIDENCE)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->evidence[v->n_evidence++], RW_EVIDENCE_LEN, fmt, ap);
	va_end(ap);
}

static const char *side_of(enum rw_dir d)
{
	return d == RW_C2S ? "client" : "server";
}

static const char *alert_name(const struct rw_alert *a)
{
	if (a->encrypted)
		return "(encrypted)";
	const char *n = rw_tls_alert_name(a->description);
	return n ? n : "unknown";
}

static double ms(uint64_t a, uint64_t b)
{
	return b > a ? (double)(b - a) / 1000.0 : 0.0;
}

/* The first handshake-phase alert, from either side. */
static const struct rw_alert *handshake_alert(const struct rw_record *r, enum rw_dir *from)
{
	const struct rw_alert *best = NULL;
	for (int d = 0; d < 2; d++) {
		const struct rw_alert *a = &r->alert[d];
		if (!a->seen || a->phase > RW_PHASE_TLS_HANDSHAKE)
			continue;
		if (!a->encrypted && (a->description == 0 || a->description == 90))
			continue; /* close_notify, user_canceled: a goodbye, not a reason */
		if (!best || a->ts_us < best->ts_us) {
			best = a;
			*from = (enum rw_dir)d;
		}
	}
	return best;
}

static bool closed_by(const struct rw_record *r, enum rw_dir d)
{
	return r->closed && r->first_close_dir == d;
}

static bool in_phase(const struct rw_record *r, enum rw_phase p)
{
	return r->closed ? r->first_close_phase == p : r->timed_out && r->timeout_phase == p;
}

/* ---- rule tests --------------------------------------------------------- */

static bool refused(struct ctx *c)
{
	if (c->r->connect_failed != RW_CLOSE_REFUSED)
		return false;
	ev(c, "server answered SYN with RST");
	return true;
}

static bool unreachable(struct ctx *c)
{
	int k = c->r->connect_failed;
	if (k != RW_CLOSE_UNREACHABLE && k != RW_CLOSE_TIMEOUT)
		return false;
	ev(c, k == RW_CLOSE_TIMEOUT ? "SYN never answered before the connect timeout"
	                            : "SYN never answered (retransmitted, no SYN-ACK, no RST)");
	return true;
}

/* The inline proxy's facts about the side it waited on or lost. */
static const struct rw_peer_tcp *proxy_peer(const struct rw_record *r, enum rw_proxy_stop how)
{
	if (r->proxy_stop != how || !r->proxy_tcp[r->proxy_side].known)
		return NULL;
	return &r->proxy_tcp[r->proxy_side];
}

/* A side stopped acknowledging: the proxy's kernel gave up on its leg, after
 * TCP_USER_TIMEOUT with data outstanding or after unanswered keepalives. */
static bool peer_vanished(struct ctx *c)
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

static bool mtu_blackhole(struct ctx *c)
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

static bool reset_injected(struct ctx *c)
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
			ev(c,
			   "RST claiming to be from the %s has TTL %d, its %s TTL %d: sent from "
			   "nearer "
			   "than what answered the handshake",
			   side_of((enum rw_dir)d), r->rst_ttl[d], d == RW_S2C ? "SYN-ACK" : "SYN",
			   r->syn_ttl[d]);
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
			ev(c, "RST claiming to be from the %s has TTL %d, its other packets TTL %d",
			   side_of((enum rw_dir)d), r->rst_ttl[d], r->ttl_lo[d]);
		else
			ev(c,
			   "RST claiming to be from the %s has TTL %d, its other packets TTL %d-%d",
			   side_of((enum rw_dir)d), r->rst_ttl[d], r->ttl_lo[d], r->ttl_hi[d]);
		maybe(c, d == RW_S2C ? RW_CAUSE_RESET_BY_SERVER : RW_CAUSE_RESET_BY_CLIENT);
		tell(c, "load-balanced or asymmetric paths also change TTLs: a capture next to the "
		        "host shows whether the host itself sent that RST");
		return true;
	}
	return false;
}

static bool neg_failure(struct ctx *c)
{
	const struct rw_record *r = c->r;
	if (r->neg_failure_present) {
		const char *n = rw_neg_failure_name(r->neg_failure_code);
		ev(c, "X.224 Connection Confirm carries RDP_NEG_FAILURE %s",
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
	if (r->cr_seen && bare_cc && !r->neg_req_present && closed_by(r, RW_S2C) &&
	    after_cc <= 16 && r->first_close_ts_us - cc_ts < 1000000) {
		ev(c, r->cr_inferred
		              ? "client requested standard RDP security only (its request was "
		                "not captured, but a Confirm without negotiation data answers "
		                "only a request without RDP_NEG_REQ)"
		              : "client requested standard RDP security only (no RDP_NEG_REQ)");
		if (!r->cc_seen)
			ev(c,
			   "the server's answer (not captured) was %u bytes, a Connection Confirm "
			   "without negotiation data",
			   (unsigned)r->cc_inferred_len);
		ev(c, "server closed %.0f ms after its Connection Confirm, sending %u bytes",
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
		ev(c,
		   "the server's answer (not captured) was %u bytes, a Connection Confirm with "
		   "RDP_NEG_RSP or RDP_NEG_FAILURE",
		   (unsigned)r->cc_inferred_len);
		ev(c, "client closed %.0f ms after it without starting TLS",
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
	ev(c, "server selected %s, client requested %s", sn ? sn : "an unknown protocol",
	   r->cr_inferred ? "(not captured)" : reqs);
	ev(c, unrequested ? "client closed right after the Connection Confirm"
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

static bool tls_middlebox(struct ctx *c)
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
		ev(c,
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
		ev(c, "client started with a TLS ClientHello offering ALPN %s and no X.224 request",
		   r->ch.alpn[i]);
		return true;
	}
	return false;
}

static bool not_rdp(struct ctx *c)
{
	const struct rw_record *r = c->r;
	if (!r->not_tpkt[RW_C2S] || r->cr_seen)
		return https_client(c);
	ev(c, "client's first bytes are neither TPKT nor TLS (%02x %02x %02x)",
	   r->first_bytes[0][0], r->first_bytes[0][1], r->first_bytes[0][2]);
	return true;
}

static bool x224_closed(struct ctx *c)
{
	const struct rw_record *r = c->r;
	if (!r->cr_seen || r->cc_seen || !closed_by(r, RW_S2C) || r->bytes[RW_S2C] > 0 ||
	    r->first_close_ts_us - r->cr_ts_us >= SILENT_CLOSE_US)
		return false;
	ev(c, "server %s %.0f ms after the X.224 Connection Request, with no answer",
	   r->first_close_kind == RW_CLOSE_RST ? "reset" : "closed",
	   ms(r->cr_ts_us, r->first_close_ts_us));
	quick_close_alternatives(c);
	sure(c, RW_CONFIDENCE_MEDIUM);
	return true;
}

static bool x224_no_response(struct ctx *c)
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
	ev(c, "no X.224 Connection Confirm %.0f ms after the request", ms(r->cr_ts_us, end));
	if (closed_by(r, RW_S2C)) {
		ev(c, "then the server side closed: a proxy or load balancer timeout");
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

static bool client_cancelled_early(struct ctx *c)
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

/* The configured host certificate and the one on the wire differ. */
static bool cert_not_expected(struct ctx *c)
{
	const struct rw_record *r = c->r;
	if (!r->expected_cert_sha256[0] || !r->certificate_seen || r->cert_parse_failed ||
	    strcasecmp(r->expected_cert_sha256, r->cert.sha256_hex) == 0)
		return false;
	ev(c, "server certificate sha256 %.16s... is not the host's expected %.16s...",
	   r->cert.sha256_hex, r->expected_cert_sha256);
	return true;
}

/* Framing broke while the handshake was still going: not the leftovers a
 * peer writes after a fatal alert or after the other side closed. */
static bool framing_broke(const struct rw_record *r, enum rw_dir d)
{
	if (!r->tls_framing_error[d] || r->tls_established)
		return false;
	uint64_t t = r->tls_framing_ts_us[d];
	if (r->closed && r->first_close_ts_us <= t)
		return false;
	const struct rw_alert *a = &r->alert[d];
	return !(a->seen && a->level == 2 && a->ts_us <= t);
}

/* The lowest version the client offers (supported_versions without GREASE;
 * without the list, TLS 1.0 and up to legacy_version, RFC 5246 E.1). */
static uint16_t client_min_version(const struct rw_tls_client_hello *ch)
{
	size_t k = ch->n_versions < RW_TLS_MAX_VERSIONS ? ch->n_versions : RW_TLS_MAX_VERSIONS;
	uint16_t low = 0;
	for (size_t i = 0; i < k; i++)
		if (!rw_tls_is_grease(ch->versions[i]) && (!low || ch->versions[i] < low))
			low = ch->versions[i];
	return low ? low : 0x0301;
}

/* An old host answers a ClientHello from a newer client with its own highest
 * version (RFC 5246 E.1, RFC 8446 4.1.3 and D: a TLS 1.0-only Schannel host
 * sends ServerHello 3.1 to a client offering only 1.2 and 1.3), and the client
 * must abort with protocol_version: a version mismatch, not an altered stream
 * -- as long as the client did not go on with the version it never offered. */
static bool host_version_too_old(const struct rw_record *r)
{
	return r->client_hello_seen && r->server_hello_seen && !r->sh.is_hello_retry_request &&
	       r->sh.version < client_min_version(&r->ch) && !r->ccs_seen[RW_C2S] &&
	       !r->tls_established;
}

static bool tls_altered(struct ctx *c)
{
	const struct rw_record *r = c->r;
	for (int d = 0; d < 2; d++) {
		if (framing_broke(r, (enum rw_dir)d)) {
			ev(c, "%s TLS stream broken: %s", side_of((enum rw_dir)d),
			   rw_status_name(r->tls_framing_status[d]));
			return true;
		}
	}
	if (!r->client_hello_seen || !r->server_hello_seen)
		return false;
	bool altered = cert_not_expected(c);
	if (!rw_tls_client_offered_cipher(&r->ch, r->sh.cipher)) {
		const char *n = rw_tls_cipher_name(r->sh.cipher);
		ev(c, "ServerHello picked %s (0x%04x), which the client never offered",
		   n ? n : "a suite", r->sh.cipher);
		altered = true;
	}
	if (!rw_tls_client_offered_version(&r->ch, r->sh.version) && !host_version_too_old(r)) {
		const char *n = rw_tls_version_name(r->sh.version);
		ev(c, "ServerHello picked TLS %s, which the client never offered", n ? n : "?");
		altered = true;
	}
	if (r->sh.downgrade_sentinel && rw_tls_client_max_version(&r->ch) >= 0x0304) {
		ev(c, "ServerHello.random carries the TLS 1.3 downgrade sentinel (%s)",
		   r->sh.downgrade_sentinel == 12 ? "DOWNGRD01" : "DOWNGRD00");
		altered = true;
	}
	return altered;
}

/* The host answered with a version below every one the client offers: say
 * so; and a client that then hangs up without an alert (the alert, 70, is
 * what RFC 5246 E.1 asks for; not every client sends it) left for the same
 * reason, not because of the certificate that came in the same flight. */
static bool host_version_refused(struct ctx *c, bool alerted)
{
	const struct rw_record *r = c->r;
	if (!host_version_too_old(r))
		return false;
	if (!alerted && (!closed_by(r, RW_C2S) || !in_phase(r, RW_PHASE_TLS_HANDSHAKE)))
		return false;
	const char *hv = rw_tls_version_name(r->sh.version);
	const char *lo = rw_tls_version_name(client_min_version(&r->ch));
	ev(c, "ServerHello picked TLS %s, below the lowest version the client offers (TLS %s)",
	   hv ? hv : "?", lo ? lo : "?");
	if (!alerted)
		ev(c, "client closed without continuing the handshake");
	return true;
}

static bool alert_version(struct ctx *c)
{
	enum rw_dir from = RW_S2C;
	const struct rw_alert *a = handshake_alert(c->r, &from);
	if (!a || a->encrypted || a->description != 70)
		return host_version_refused(c, false);
	ev(c, "%s sent TLS alert protocol_version", side_of(from));
	if (c->r->client_hello_seen) {
		const char *n = rw_tls_version_name(rw_tls_client_max_version(&c->r->ch));
		ev(c, "client offered up to TLS %s", n ? n : "?");
	}
	host_version_refused(c, true);
	return true;
}

static bool alert_cipher(struct ctx *c)
{
	enum rw_dir from = RW_S2C;
	const struct rw_alert *a = handshake_alert(c->r, &from);
	if (!a || a->encrypted || (a->description != 40 && a->description != 71))
		return false;
	ev(c, "%s sent TLS alert %s", side_of(from), alert_name(a));
	if (c->r->client_hello_seen)
		ev(c, "client offered %zu cipher suites", c->r->ch.n_ciphers);
	if (!c->r->server_hello_seen)
		ev(c, "no ServerHello");
	return true;
}

static bool cert_is_expired(const struct rw_record *r)
{
	return r->certificate_seen && !r->cert_parse_failed && r->cert.not_after > 0 &&
	       (int64_t)(r->cert_ts_us / 1000000) > r->cert.not_after;
}

/* Alerts a client sends about the server's certificate (RFC 8446 6.2). */
static bool is_cert_alert(uint8_t d)
{
	return d == 42 || d == 43 || d == 44 || d == 45 || d == 46 || d == 48 || d == 49 ||
	       d == 116;
}

static bool cert_expired(struct ctx *c)
{
	const struct rw_record *r = c->r;
	enum rw_dir from = RW_S2C;
	const struct rw_alert *a = handshake_alert(r, &from);
	bool client_alert = a && from == RW_C2S;
	if (client_alert && !a->encrypted && a->description == 45) {
		ev(c, "client sent TLS alert certificate_expired");
		return true;
	}
	/* The client gave up after the certificate, and the certificate was
	 * out of date when it crossed the wire; a cleartext client alert, if
	 * any, must be about the certificate (not, say, decrypt_error). */
	if (client_alert && !a->encrypted && !is_cert_alert(a->description))
		return false;
	if (cert_is_expired(r) && in_phase(r, RW_PHASE_TLS_HANDSHAKE) &&
	    (client_alert || closed_by(r, RW_C2S))) {
		ev(c, "server certificate expired (notAfter before the handshake time)");
		if (client_alert)
			ev(c, "client sent TLS alert %s", alert_name(a));
		return true;
	}
	return false;
}

/* The client gave up after the certificate without saying why on the wire. */
static void cert_rejected_alternatives(struct ctx *c)
{
	const struct rw_record *r = c->r;
	if (!r->certificate_seen) {
		/* TLS 1.3: the certificate itself was encrypted. */
		sure(c, RW_CONFIDENCE_LOW);
		maybe(c, RW_CAUSE_CERTIFICATE_EXPIRED);
		maybe(c, RW_CAUSE_TLS_STREAM_ALTERED);
		maybe(c, RW_CAUSE_CLIENT_CANCELLED);
		tell(c, "TLS 1.3 hides the certificate: the client's prompt or log names the check "
		        "that failed; the host's certificate (Windows: the 'Remote Desktop' store, "
		        "xrdp: xrdp.ini certificate=) shows its dates and issuer");
		return;
	}
	maybe(c, RW_CAUSE_CLIENT_CANCELLED);
	tell(c, "the client's prompt or log names the check that failed (untrusted issuer, "
	        "name mismatch, revocation)");
}

static bool cert_rejected(struct ctx *c)
{
	const struct rw_record *r = c->r;
	enum rw_dir from = RW_S2C;
	const struct rw_alert *a = handshake_alert(r, &from);
	if (a && from == RW_C2S) {
		/* TLS 1.3: an encrypted one after the server's flight. */
		bool cert_alert = a->encrypted || is_cert_alert(a->description);
		/* (client-only capture: the server's flight was acknowledged, unseen) */
		if (cert_alert && (r->server_hello_seen || r->directions == RW_DIRS_CLIENT_ONLY)) {
			ev(c,
			   a->inferred ? "client sent an encrypted record of alert size instead "
			                 "of Finished"
			               : "client sent TLS alert %s",
			   alert_name(a));
			if (a->encrypted)
				cert_rejected_alternatives(c);
			else
				sure(c, RW_CONFIDENCE_HIGH); /* a certificate alert names it */
			return true;
		}
	}
	/* Without an alert: the client closed once the server's certificate
	 * flight arrived and never finished the handshake. A cleartext alert
	 * of another kind names another reason (tls_alert). */
	if (a && from == RW_C2S && !a->encrypted)
		return false;
	if (r->server_hello_seen && !r->tls_established && closed_by(r, RW_C2S) &&
	    in_phase(r, RW_PHASE_TLS_HANDSHAKE) && (r->certificate_seen || r->tls13) &&
	    !r->ccs_seen[RW_C2S] && r->client_first_encrypted_len == 0) {
		ev(c, r->tls13
		              ? "client closed after the server's encrypted flight without Finished"
		              : "client closed after the server Certificate without continuing");
		cert_rejected_alternatives(c);
		return true;
	}
	return false;
}

/* A ClientHello seen, or inferred in a server-only capture from the client's
 * bytes after a Confirm that selected TLS. */
static bool hello_sent(const struct rw_record *r)
{
	return r->client_hello_seen || r->client_hello_inferred;
}

static bool tls_rejected_no_alert(struct ctx *c)
{
	const struct rw_record *r = c->r;
	if (!hello_sent(r) || r->server_hello_seen || r->tls_established || !closed_by(r, RW_S2C) ||
	    r->alert[RW_S2C].seen || r->first_close_ts_us - r->ch_ts_us >= SILENT_CLOSE_US)
		return false;
	const char *n = rw_tls_version_name(rw_tls_client_max_version(&r->ch));
	ev(c, "server %s after the ClientHello, no ServerHello, no alert",
	   r->first_close_kind == RW_CLOSE_RST ? "reset" : "closed");
	if (r->client_hello_seen)
		ev(c, "client offered up to TLS %s with %zu cipher suites", n ? n : "?",
		   r->ch.n_ciphers);
	if (r->first_close_kind == RW_CLOSE_RST && r->ttl_lo[RW_S2C] < 0)
		maybe(c, RW_CAUSE_RESET_INJECTED);
	maybe(c, RW_CAUSE_TLS_PROTOCOL_VERSION_MISMATCH);
	maybe(c, RW_CAUSE_TLS_CIPHER_MISMATCH);
	tell(c, "the host's System log has Schannel events 36874/36888 when it refused the "
	        "ClientHello; a capture where the RST's TTL can be compared with the host's "
	        "packets shows a firewall's forged reset");
	return true;
}

static bool other_alert(struct ctx *c)
{
	enum rw_dir from = RW_S2C;
	const struct rw_alert *a = handshake_alert(c->r, &from);
	if (!a)
		return false;
	ev(c, "%s sent TLS alert %s during the handshake", side_of(from), alert_name(a));
	if (a->encrypted) {
		sure(c, RW_CONFIDENCE_LOW);
		if (from == RW_C2S)
			maybe(c, RW_CAUSE_CERTIFICATE_REJECTED_BY_CLIENT);
		tell(c, "the alert is encrypted: that side's TLS log names it (Windows: Schannel "
		        "events in the System log; FreeRDP/xrdp: their log)");
		c->remediation =
		        from == RW_C2S
		                ? "The client ended the handshake with an encrypted alert: "
		                  "read the client's log for the TLS error it names."
		                : "The host ended the handshake with an encrypted alert: read "
		                  "the host's TLS log (Schannel events in the System log).";
	}
	return true;
}

/* CredSSP runs inside TLS: only the sizes of its records show. The most
 * plaintext a record body of len bytes can carry with the negotiated suite:
 * TLS 1.3 adds the inner content type and a 16-byte tag; TLS 1.2 AEAD suites
 * an 8-byte explicit nonce (GCM, CCM) and a 16-byte tag (8 for CCM_8); CBC
 * suites an explicit IV (TLS 1.1 and later), the MAC and at least one byte of
 * padding; RC4 the MAC. An unknown suite is taken at the smallest overhead. */
static uint32_t tls_plaintext_max(const struct rw_record *r, uint64_t len)
{
	uint32_t over = 16;
	const char *n = rw_tls_cipher_name(r->sh.cipher);
	if (r->tls13) {
		over = 17;
	} else if (n && (strstr(n, "CHACHA20") || strstr(n, "CCM_8"))) {
		over = 16;
	} else if (n && (strstr(n, "_GCM_") || strstr(n, "_CCM"))) {
		over = 24;
	} else if (n && strstr(n, "_WITH_")) {
		size_t k = strlen(n);
		uint32_t mac = k > 7 && !strcmp(n + k - 7, "_SHA384")   ? 48
		               : k > 7 && !strcmp(n + k - 7, "_SHA256") ? 32
		               : k > 4 && !strcmp(n + k - 4, "_MD5")    ? 16
		                                                        : 20;
		bool rc4 = strstr(n, "RC4") != NULL;
		uint32_t iv = rc4 || r->sh.version < 0x0302 ? 0 : strstr(n, "DES") ? 8 : 16;
		over = iv + mac + (rc4 ? 0 : 1);
	}
	return len > over ? (uint32_t)(len - over) : 0;
}

/* The largest CredSSP answer that is not a step forward. A server that
 * refuses sends TSRequest {version, errorCode} (MS-CSSP 2.2.1, versions 3, 4
 * and 6: 15 or 16 bytes of DER, a little more with a SPNEGO reject token) or
 * only a TLS alert (2 bytes: the FreeRDP 2 server's close_notify). Every
 * answer that moves CredSSP on is larger: the NTLM CHALLENGE (an NTLM message
 * of at least 56 bytes inside negoTokens, 150 and more with its target info),
 * the Kerberos AP-REP, and the pubKeyAuth echo (version 5 and later: a
 * 16-byte NTLM signature and a 32-byte SHA-256 hash, 59 bytes of TSRequest
 * at least; versions 2-4: the server's public key, hundreds of bytes). */
#define NLA_ERROR_REPLY_MAX 48
/* Early User Authorization Result (MS-RDPBCGR 2.2.10.2): 4 bytes. */
#define EARLY_AUTH_RESULT_MAX 8

/* The server's latest CredSSP flight is one or two records (an error
 * TSRequest, perhaps with a close_notify after it) and the last one has room
 * for no more than an error reply. */
static bool nla_server_refused(const struct rw_record *r)
{
	return r->nla_flights[RW_S2C] > 0 && r->server_last_flight_records >= 1 &&
	       r->server_last_flight_records <= 2 &&
	       tls_plaintext_max(r, r->server_last_record_len) <= NLA_ERROR_REPLY_MAX;
}

static void nla_tell(struct ctx *c)
{
	tell(c, "the host's Security log (event 4625, status and sub-status) names the "
	        "reason; compare the host's clock with the domain controller's (w32tm "
	        "/stripchart /computer:DC) for Kerberos skew");
}

/* The client leaves first, right after the server's error reply. Windows
 * (CredSSP 3, 4 and 6) answers a failed logon with TSRequest.errorCode (an
 * NTSTATUS such as STATUS_LOGON_FAILURE) instead of its next token; the
 * client reads it, gives up and closes (FreeRDP at once, with a close_notify
 * first), often before the host's own close. Counted in messages: CredSSP
 * alternates, the client first, so equal counts mean the server spoke last,
 * and one client message more is the client's close_notify. FreeRDP
 * +auth-only also closes first, after three messages (NEGOTIATE,
 * AUTHENTICATE + pubKeyAuth, TSCredentials), but the server's last answer
 * before its TSCredentials is the pubKeyAuth echo, never error-sized: the
 * size of the server's last record tells the two apart. */
static bool nla_error_reply(struct ctx *c)
{
	const struct rw_record *r = c->r;
	uint32_t cf = r->nla_flights[RW_C2S], sf = r->nla_flights[RW_S2C];
	if (!closed_by(r, RW_C2S) || !in_phase(r, RW_PHASE_NLA) || (cf != sf && cf != sf + 1) ||
	    !nla_server_refused(r))
		return false;
	ev(c,
	   "server's CredSSP answer %u was %s%u-byte record (room for %u bytes: an error "
	   "TSRequest or a TLS alert, not a CHALLENGE or a pubKeyAuth)",
	   sf, r->server_last_flight_records > 1 ? "two records, the last a " : "one ",
	   r->server_last_record_len, tls_plaintext_max(r, r->server_last_record_len));
	ev(c, "client closed right after it (%u client, %u server CredSSP messages)", cf, sf);
	nla_tell(c);
	return true;
}

/* Client-only capture: the server answered the ClientHello with exactly a
 * cleartext alert's size (5-byte header, level, description) and the client
 * hung up: an alert whose name only the server's packets show. */
#define TLS_CLEAR_ALERT_LEN 7
static bool alert_sized_answer(struct ctx *c)
{
	const struct rw_record *r = c->r;
	if (r->directions != RW_DIRS_CLIENT_ONLY || !r->client_hello_seen || r->tls_established ||
	    r->inferred_answer_len != TLS_CLEAR_ALERT_LEN || !closed_by(r, RW_C2S) ||
	    !in_phase(r, RW_PHASE_TLS_HANDSHAKE))
		return false;
	ev(c,
	   "server answered the ClientHello with %u bytes (not captured): the size of a "
	   "cleartext TLS alert; then the client closed",
	   TLS_CLEAR_ALERT_LEN);
	sure(c, RW_CONFIDENCE_LOW);
	maybe(c, RW_CAUSE_TLS_PROTOCOL_VERSION_MISMATCH);
	maybe(c, RW_CAUSE_TLS_CIPHER_MISMATCH);
	tell(c, "a capture of the server's packets names the alert (protocol_version: a TLS "
	        "version mismatch; handshake_failure: no common cipher suite); the host's System "
	        "log has the Schannel event");
	c->remediation = "The host refused the ClientHello with a TLS alert: compare the TLS "
	                 "versions and cipher suites enabled on the host and the client.";
	return true;
}

/* Kerberos refuses an authenticator more than 5 minutes from the KDC's
 * clock (RFC 4120 5.2.3's customary skew, Windows' default "Maximum
 * tolerance for computer clock synchronization"): a host that far off fails
 * NLA for domain accounts before any password is checked, unless the client
 * falls back to NTLM. Only a front end that decrypts CredSSP (probe,
 * inspection) knows the host's clock. */
#define CLOCK_SKEW_MAX_US (300LL * 1000000)

static bool clock_skew(struct ctx *c)
{
	const struct rw_record *r = c->r;
	int64_t off = r->host_clock_offset_us;
	if (!r->host_clock_seen || (off <= CLOCK_SKEW_MAX_US && off >= -CLOCK_SKEW_MAX_US))
		return false;
	if (r->phase_reached[RW_PHASE_RDP] || r->phase_reached[RW_PHASE_ESTABLISHED])
		return false; /* NLA went through: the skew did not stop this one */
	ev(c, "host clock %lld s %s ours (NTLM CHALLENGE MsvAvTimestamp); Kerberos allows 300 s",
	   (long long)((off < 0 ? -off : off) / 1000000), off < 0 ? "behind" : "ahead of");
	if (!(closed_by(r, RW_S2C) && in_phase(r, RW_PHASE_NLA))) {
		/* Nothing failed on this connection yet (a probe stops after the
		 * CHALLENGE): the skew is a finding, the failure a forecast. */
		sure(c, RW_CONFIDENCE_MEDIUM);
	}
	maybe(c, RW_CAUSE_NLA_FAILED);
	tell(c, "NTLM still works across a skew: a local account or FreeRDP (NTLM) "
	        "connecting while a domain mstsc fails points at Kerberos; w32tm /query "
	        "/status on the host and the DC shows the offset");
	return true;
}

static bool nla_failed(struct ctx *c)
{
	const struct rw_record *r = c->r;
	if (closed_by(r, RW_S2C) && in_phase(r, RW_PHASE_NLA)) {
		ev(c, "server closed during CredSSP after %u client and %u server messages",
		   r->nla_flights[RW_C2S], r->nla_flights[RW_S2C]);
		nla_tell(c);
		return true;
	}
	if (nla_error_reply(c))
		return true;
	/* HYBRID_EX: a lone small record (Early User Authorization Result) then close. */
	if (closed_by(r, RW_S2C) && in_phase(r, RW_PHASE_RDP) &&
	    r->selected_protocol == RW_PROTO_HYBRID_EX && r->rdp_flights[RW_S2C] <= 1 &&
	    r->server_last_flight_records == 1 && r->server_last_record_len <= 40) {
		ev(c, "server closed after a short record following CredSSP (HYBRID_EX "
		      "Early User Authorization Result: access denied)");
		return true;
	}
	/* HYBRID_EX, the client first: after AUTHZ_ACCESS_DENIED mstsc hangs up
	 * with at most a close_notify; after AUTHZ_SUCCESS it sends its MCS
	 * Connect Initial (hundreds of bytes). */
	if (closed_by(r, RW_C2S) && in_phase(r, RW_PHASE_RDP) &&
	    r->selected_protocol == RW_PROTO_HYBRID_EX && r->rdp_flights[RW_S2C] == 1 &&
	    r->server_last_flight_records == 1 &&
	    tls_plaintext_max(r, r->server_last_record_len) <= EARLY_AUTH_RESULT_MAX &&
	    tls_plaintext_max(r, r->rdp_bytes[RW_C2S]) <= EARLY_AUTH_RESULT_MAX) {
		ev(c,
		   "client closed after a %u-byte record following CredSSP (HYBRID_EX Early "
		   "User Authorization Result), without starting MCS",
		   r->server_last_record_len);
		sure(c, RW_CONFIDENCE_MEDIUM);
		maybe(c, RW_CAUSE_NORMAL_CLOSE);
		tell(c, "AUTHZ_SUCCESS and AUTHZ_ACCESS_DENIED are both 4 bytes: the client's "
		        "message (mstsc: the user has no right to sign in remotely) or the host's "
		        "Security log tells a denial from a client that only checked its "
		        "credentials");
		return true;
	}
	return false;
}

/* The inline proxy's idle timeout once established: nothing either way. */
static bool idle_closed(struct ctx *c)
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
static bool client_silent(struct ctx *c)
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

static bool timeout(struct ctx *c)
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
		ev(c,
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
		ev(c,
		   "server side silent for %.0f ms after the client's last handshake message, then "
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

static bool reset_by_server(struct ctx *c)
{
	if (!closed_by(c->r, RW_S2C) || c->r->first_close_kind != RW_CLOSE_RST)
		return false;
	ev(c, "server sent RST in phase %s", rw_phase_name(c->r->first_close_phase));
	unverified_reset(c, RW_S2C);
	return true;
}

static bool reset_by_client(struct ctx *c)
{
	if (!closed_by(c->r, RW_C2S) || c->r->first_close_kind != RW_CLOSE_RST)
		return false;
	ev(c, "client sent RST in phase %s", rw_phase_name(c->r->first_close_phase));
	unverified_reset(c, RW_C2S);
	return true;
}

static bool nla_auth_only(struct ctx *c)
{
	const struct rw_record *r = c->r;
	/* A client that completes CredSSP and leaves (FreeRDP +auth-only): its
	 * third message answered the server's pubKeyAuth echo. After an
	 * error-sized answer its last message is a close_notify (nla_failed). */
	if (!closed_by(r, RW_C2S) || !in_phase(r, RW_PHASE_NLA) ||
	    r->nla_flights[RW_C2S] < NLA_CLIENT_DONE_FLIGHTS || nla_server_refused(r))
		return false;
	ev(c, "client closed after completing CredSSP (%u messages)", r->nla_flights[RW_C2S]);
	return true;
}

static bool rdp_closed_by_server(struct ctx *c)
{
	const struct rw_record *r = c->r;
	/* Mid connection sequence: licensing, encryption or MCS errors end here. */
	if (!closed_by(r, RW_S2C) || r->first_close_kind != RW_CLOSE_FIN ||
	    !in_phase(r, RW_PHASE_RDP))
		return false;
	ev(c,
	   "server closed with FIN during the RDP connection sequence (%u server flights "
	   "after the security layer)",
	   r->rdp_flights[RW_S2C]);
	return true;
}

static bool normal(struct ctx *c)
{
	const struct rw_record *r = c->r;
	if (!r->closed || r->first_close_kind != RW_CLOSE_FIN)
		return false;
	if (r->first_close_phase < RW_PHASE_RDP && !(r->tls_established && !r->cc_seen))
		return false;
	ev(c, "%s closed with FIN in phase %s", side_of(r->first_close_dir),
	   rw_phase_name(r->first_close_phase));
	return true;
}

static bool client_cancelled_late(struct ctx *c)
{
	const struct rw_record *r = c->r;
	if (!closed_by(r, RW_C2S) || r->first_close_kind != RW_CLOSE_FIN)
		return false;
	ev(c, "client closed with FIN in phase %s", rw_phase_name(r->first_close_phase));
	return true;
}

static bool still_open(struct ctx *c)
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

/* ---- the table ---------------------------------------------------------- */

struct rule {
	enum rw_cause cause;
	bool (*test)(struct ctx *c);
	enum rw_confidence confidence; /* unless the test says otherwise */
};

static const struct rule rules[] = {
        {RW_CAUSE_UPSTREAM_REFUSED, refused, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_UPSTREAM_UNREACHABLE, unreachable, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_PEER_VANISHED, peer_vanished, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_MTU_BLACKHOLE, mtu_blackhole, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_RESET_INJECTED, reset_injected, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_SECURITY_NEGOTIATION_FAILURE, neg_failure, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_TLS_TERMINATING_MIDDLEBOX, tls_middlebox, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_NOT_RDP, not_rdp, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_X224_CLOSED_BY_SERVER, x224_closed, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_X224_NO_RESPONSE, x224_no_response, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_CLIENT_CANCELLED, client_cancelled_early, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_TLS_STREAM_ALTERED, tls_altered, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_TLS_PROTOCOL_VERSION_MISMATCH, alert_version, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_TLS_CIPHER_MISMATCH, alert_cipher, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_CERTIFICATE_EXPIRED, cert_expired, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_CERTIFICATE_REJECTED_BY_CLIENT, cert_rejected, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_TLS_REJECTED_WITHOUT_ALERT, tls_rejected_no_alert, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_TLS_ALERT, other_alert, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_TLS_ALERT, alert_sized_answer, RW_CONFIDENCE_LOW},
        {RW_CAUSE_CLOCK_SKEW, clock_skew, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_NLA_FAILED, nla_failed, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_IDLE_TIMEOUT, idle_closed, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_CLIENT_CANCELLED, client_silent, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_HANDSHAKE_TIMEOUT, timeout, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_RESET_BY_SERVER, reset_by_server, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_RESET_BY_CLIENT, reset_by_client, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_NORMAL_CLOSE, nla_auth_only, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_RDP_CLOSED_BY_SERVER, rdp_closed_by_server, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_NORMAL_CLOSE, normal, RW_CONFIDENCE_HIGH},
        {RW_CAUSE_CLIENT_CANCELLED, client_cancelled_late, RW_CONFIDENCE_MEDIUM},
        {RW_CAUSE_STILL_OPEN, still_open, RW_CONFIDENCE_HIGH},
};

static const char *const remediation[RW_CAUSE_COUNT] = {
        [RW_CAUSE_UNKNOWN] = "Not enough on the wire to decide; capture on both sides of "
                             "the path and check the host's RDP event logs.",
        [RW_CAUSE_NORMAL_CLOSE] = "Nothing to fix on the network: the session ended normally; "
                                  "if the user saw an error, check the host's session logs.",
        [RW_CAUSE_CLIENT_CANCELLED] = "The client gave up on its own: check the client's "
                                      "settings, proxy and local security software.",
        [RW_CAUSE_UPSTREAM_REFUSED] = "Nothing listens on the host's RDP port: start "
                                      "TermService/xrdp or fix the port (and NAT/firewall "
                                      "rules that send RST).",
        [RW_CAUSE_UPSTREAM_UNREACHABLE] = "SYN unanswered: open TCP 3389 on the firewalls in "
                                          "the path and check routing to the host.",
        [RW_CAUSE_X224_NO_RESPONSE] = "The host accepted TCP but never answered: restart "
                                      "TermService (hung session host) or check what listens "
                                      "on the port.",
        [RW_CAUSE_X224_CLOSED_BY_SERVER] = "The host closed before negotiating: check its "
                                           "connection limits, RDP listener state and any "
                                           "device filtering the X.224 request.",
        [RW_CAUSE_TLS_TERMINATING_MIDDLEBOX] = "A device in the path expects TLS from the first "
                                               "byte: set the load balancer to TCP mode "
                                               "(HAProxy 'mode tcp', no 'ssl' on bind) for RDP.",
        [RW_CAUSE_SECURITY_NEGOTIATION_FAILURE] = "Align the security layer: host "
                                                  "SecurityLayer/UserAuthentication (xrdp "
                                                  "security_layer) with what the client "
                                                  "requests (mstsc/FreeRDP /sec:).",
        [RW_CAUSE_TLS_PROTOCOL_VERSION_MISMATCH] = "Enable a common TLS version: TLS 1.2 on the "
                                                   "host (Schannel/xrdp ssl_protocols) or allow "
                                                   "the host's version on the client.",
        [RW_CAUSE_TLS_CIPHER_MISMATCH] = "Enable a common cipher suite: host cipher order "
                                         "(Schannel GPO/xrdp tls_ciphers) and the client's "
                                         "OpenSSL/Schannel settings.",
        [RW_CAUSE_TLS_REJECTED_WITHOUT_ALERT] = "The host dropped the ClientHello: compare its "
                                                "enabled TLS versions and suites with the "
                                                "client's (Schannel logs event 36874/36888).",
        [RW_CAUSE_CERTIFICATE_EXPIRED] = "Renew the host's RDP certificate (or let the host "
                                         "regenerate its self-signed one).",
        [RW_CAUSE_CERTIFICATE_REJECTED_BY_CLIENT] = "Install a certificate the client trusts on "
                                                    "the host (matching its name), or add the "
                                                    "issuing CA to the client's trust store.",
        [RW_CAUSE_TLS_STREAM_ALTERED] = "A middlebox alters TLS: exempt RDP from TLS "
                                        "inspection/re-encryption on the firewall or load "
                                        "balancer.",
        [RW_CAUSE_RESET_INJECTED] = "A firewall/IPS in the path resets the connection: find the "
                                    "device at the RST's hop distance and allow RDP there.",
        [RW_CAUSE_RESET_BY_SERVER] = "The host reset the connection: check the host's event "
                                     "logs (RemoteDesktopServices, Schannel) for that time.",
        [RW_CAUSE_RESET_BY_CLIENT] = "The client reset the connection: check the client's "
                                     "logs and local security software.",
        [RW_CAUSE_NLA_FAILED] = "NLA failed: check the credentials, account lockout, clock skew "
                                "(Kerberos) and the host's Security log (4625).",
        [RW_CAUSE_HANDSHAKE_TIMEOUT] = "The set-up stalled: check for packet loss, MTU/MSS on "
                                       "VPN links and an overloaded host.",
        [RW_CAUSE_MTU_BLACKHOLE] = "Large packets are lost: lower the MTU or clamp TCP MSS on "
                                   "the VPN/tunnel, and allow ICMP fragmentation-needed.",
        [RW_CAUSE_TLS_ALERT] = "Read the alert named in the evidence and check that side's TLS "
                               "configuration and logs.",
        [RW_CAUSE_NOT_RDP] = "This is not RDP: check the port and what the client connects to.",
        [RW_CAUSE_RDP_CLOSED_BY_SERVER] = "The host ended the connection during the RDP "
                                          "connection sequence: check its logs for licensing, "
                                          "encryption-level and session-limit errors.",
        [RW_CAUSE_CLOCK_SKEW] = "Set the host's clock right: sync it with the domain "
                                "hierarchy (w32tm /resync; check the Windows Time service "
                                "and the PDC emulator's source), then retry NLA.",
        [RW_CAUSE_PEER_VANISHED] = "A side stopped answering mid-connection (a machine that "
                                   "slept or lost its network, a VPN that dropped, or a NAT "
                                   "or firewall that forgot the connection): check that "
                                   "side's network; keep keepalive_idle below the idle timer "
                                   "of stateful devices in the path.",
        [RW_CAUSE_IDLE_TIMEOUT] = "Nothing to fix on the network: rdpwhy's idle_timeout closed "
                                  "a session in which neither side sent anything; raise it "
                                  "(0 = off) if such sessions are wanted, and leave idle policy "
                                  "to the host's session time limits.",
        [RW_CAUSE_SCAN_OR_FLOOD] = "Many connection attempts that never became connections: "
                                   "one source trying many (a port scan) or many sources "
                                   "one host (a SYN flood). Identify the source; block or "
                                   "rate-limit it at the edge, keep SYN cookies on; exclude "
                                   "known scanners and health checks from the capture.",
        [RW_CAUSE_STILL_OPEN] = "The connection was still open when rdpwhy stopped following "
                                "it: capture longer (or raise --max-flows / --idle-timeout).",
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

const char *rw_cause_remediation(enum rw_cause c)
{
	return (unsigned)c < RW_CAUSE_COUNT && remediation[c] ? remediation[c]
	                                                      : remediation[RW_CAUSE_UNKNOWN];
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
		ev(c,
		   "the %s's last bytes before its FIN have the size of a TLS alert (inferred "
		   "from the %s's acknowledgements)",
		   side_of(u), side_of(seen));
	if (r->inferred_rst[u])
		ev(c,
		   "the %s retransmitted and then fell silent for %.1f s while the capture went on, "
		   "without FIN: a stack stops retransmitting before its timer runs out only when "
		   "answered, so the %s's RST (never acknowledged, never captured) is inferred",
		   side_of(seen), r->inferred_rst_quiet_us / 1e6, side_of(u));
	if (r->cr_inferred)
		ev(c, "the client's first bytes (unseen) taken as its X.224 Connection Request");
	if (r->client_hello_inferred)
		ev(c,
		   "the client's bytes after the Confirm that selected TLS (unseen) taken as its "
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
	if (r->closed && r->first_close_kind == RW_CLOSE_RST && r->inferred_rst[r->first_close_dir]) {
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
