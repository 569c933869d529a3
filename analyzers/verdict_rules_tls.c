/* Verdict rule tests of the TLS handshake: an altered stream, version and
 * cipher mismatches, certificates expired or rejected, a ClientHello refused
 * without an alert, other alerts. Order: the table in verdict.c. */
#include <string.h>
#include <strings.h>

#include "verdict_rules.h"

/* The configured host certificate and the one on the wire differ. */
static bool cert_not_expected(struct ctx *c)
{
	const struct rw_record *r = c->r;
	if (!r->expected_cert_sha256[0] || !r->certificate_seen || r->cert_parse_failed ||
	    strcasecmp(r->expected_cert_sha256, r->cert.sha256_hex) == 0)
		return false;
	ev_at(c, RW_S2C, r->cert_ts_us,
	      "server certificate sha256 %.16s... is not the host's expected %.16s...",
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

bool rw_rule_tls_altered(struct ctx *c)
{
	const struct rw_record *r = c->r;
	for (int d = 0; d < 2; d++) {
		if (framing_broke(r, (enum rw_dir)d)) {
			ev_at(c, (enum rw_dir)d, r->tls_framing_ts_us[d],
			      "%s TLS stream broken: %s", side_of((enum rw_dir)d),
			      rw_status_name(r->tls_framing_status[d]));
			return true;
		}
	}
	if (!r->client_hello_seen || !r->server_hello_seen)
		return false;
	bool altered = cert_not_expected(c);
	if (!rw_tls_client_offered_cipher(&r->ch, r->sh.cipher)) {
		const char *n = rw_tls_cipher_name(r->sh.cipher);
		ev_at(c, RW_S2C, r->sh_ts_us,
		      "ServerHello picked %s (0x%04x), which the client never offered",
		      n ? n : "a suite", r->sh.cipher);
		altered = true;
	}
	if (!rw_tls_client_offered_version(&r->ch, r->sh.version) && !host_version_too_old(r)) {
		const char *n = rw_tls_version_name(r->sh.version);
		ev_at(c, RW_S2C, r->sh_ts_us,
		      "ServerHello picked TLS %s, which the client never offered", n ? n : "?");
		altered = true;
	}
	if (r->sh.downgrade_sentinel && rw_tls_client_max_version(&r->ch) >= 0x0304) {
		ev_at(c, RW_S2C, r->sh_ts_us,
		      "ServerHello.random carries the TLS 1.3 downgrade sentinel (%s)",
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
	ev_at(c, RW_S2C, r->sh_ts_us,
	      "ServerHello picked TLS %s, below the lowest version the client offers (TLS %s)",
	      hv ? hv : "?", lo ? lo : "?");
	if (!alerted)
		ev_close(c, "client closed without continuing the handshake");
	return true;
}

bool rw_rule_alert_version(struct ctx *c)
{
	enum rw_dir from = RW_S2C;
	const struct rw_alert *a = handshake_alert(c->r, &from);
	if (!a || a->encrypted || a->description != 70)
		return host_version_refused(c, false);
	ev_at(c, from, a->ts_us, "%s sent TLS alert protocol_version", side_of(from));
	if (c->r->client_hello_seen) {
		const char *n = rw_tls_version_name(rw_tls_client_max_version(&c->r->ch));
		ev_at(c, RW_C2S, c->r->ch_ts_us, "client offered up to TLS %s", n ? n : "?");
	}
	host_version_refused(c, true);
	return true;
}

bool rw_rule_alert_cipher(struct ctx *c)
{
	enum rw_dir from = RW_S2C;
	const struct rw_alert *a = handshake_alert(c->r, &from);
	if (!a || a->encrypted || (a->description != 40 && a->description != 71))
		return false;
	ev_at(c, from, a->ts_us, "%s sent TLS alert %s", side_of(from), alert_name(a));
	if (c->r->client_hello_seen)
		ev_at(c, RW_C2S, c->r->ch_ts_us, "client offered %zu cipher suites",
		      c->r->ch.n_ciphers);
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

bool rw_rule_cert_expired(struct ctx *c)
{
	const struct rw_record *r = c->r;
	enum rw_dir from = RW_S2C;
	const struct rw_alert *a = handshake_alert(r, &from);
	bool client_alert = a && from == RW_C2S;
	if (client_alert && !a->encrypted && a->description == 45) {
		ev_at(c, RW_C2S, a->ts_us, "client sent TLS alert certificate_expired");
		return true;
	}
	/* The client gave up after the certificate, and the certificate was
	 * out of date when it crossed the wire; a cleartext client alert, if
	 * any, must be about the certificate (not, say, decrypt_error). */
	if (client_alert && !a->encrypted && !is_cert_alert(a->description))
		return false;
	if (cert_is_expired(r) && in_phase(r, RW_PHASE_TLS_HANDSHAKE) &&
	    (client_alert || closed_by(r, RW_C2S))) {
		ev_at(c, RW_S2C, r->cert_ts_us,
		      "server certificate expired (notAfter before the handshake time)");
		if (client_alert)
			ev_at(c, RW_C2S, a->ts_us, "client sent TLS alert %s", alert_name(a));
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

bool rw_rule_cert_rejected(struct ctx *c)
{
	const struct rw_record *r = c->r;
	enum rw_dir from = RW_S2C;
	const struct rw_alert *a = handshake_alert(r, &from);
	if (a && from == RW_C2S) {
		/* TLS 1.3: an encrypted one after the server's flight. */
		bool cert_alert = a->encrypted || is_cert_alert(a->description);
		/* (client-only capture: the server's flight was acknowledged, unseen) */
		if (cert_alert && (r->server_hello_seen || r->directions == RW_DIRS_CLIENT_ONLY)) {
			ev_at(c, RW_C2S, a->ts_us,
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
		ev_close(c,
		         r->tls13
		                 ? "client closed after the server's encrypted flight without "
		                   "Finished"
		                 : "client closed after the server Certificate without continuing");
		cert_rejected_alternatives(c);
		return true;
	}
	return false;
}

bool rw_rule_tls_rejected_no_alert(struct ctx *c)
{
	const struct rw_record *r = c->r;
	if (!hello_sent(r) || r->server_hello_seen || r->tls_established || !closed_by(r, RW_S2C) ||
	    r->alert[RW_S2C].seen || r->first_close_ts_us - r->ch_ts_us >= SILENT_CLOSE_US)
		return false;
	const char *n = rw_tls_version_name(rw_tls_client_max_version(&r->ch));
	ev_close(c, "server %s after the ClientHello, no ServerHello, no alert",
	         r->first_close_kind == RW_CLOSE_RST ? "reset" : "closed");
	if (r->client_hello_seen)
		ev_at(c, RW_C2S, r->ch_ts_us, "client offered up to TLS %s with %zu cipher suites",
		      n ? n : "?", r->ch.n_ciphers);
	if (r->first_close_kind == RW_CLOSE_RST && r->ttl_lo[RW_S2C] < 0)
		maybe(c, RW_CAUSE_RESET_INJECTED);
	maybe(c, RW_CAUSE_TLS_PROTOCOL_VERSION_MISMATCH);
	maybe(c, RW_CAUSE_TLS_CIPHER_MISMATCH);
	tell(c, "the host's System log has Schannel events 36874/36888 when it refused the "
	        "ClientHello; a capture where the RST's TTL can be compared with the host's "
	        "packets shows a firewall's forged reset");
	return true;
}

bool rw_rule_other_alert(struct ctx *c)
{
	enum rw_dir from = RW_S2C;
	const struct rw_alert *a = handshake_alert(c->r, &from);
	if (!a)
		return false;
	ev_at(c, from, a->ts_us, "%s sent TLS alert %s during the handshake", side_of(from),
	      alert_name(a));
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

/* Client-only capture: the server answered the ClientHello with exactly a
 * cleartext alert's size (5-byte header, level, description) and the client
 * hung up: an alert whose name only the server's packets show. */
#define TLS_CLEAR_ALERT_LEN 7
bool rw_rule_alert_sized_answer(struct ctx *c)
{
	const struct rw_record *r = c->r;
	if (r->directions != RW_DIRS_CLIENT_ONLY || !r->client_hello_seen || r->tls_established ||
	    r->inferred_answer_len != TLS_CLEAR_ALERT_LEN || !closed_by(r, RW_C2S) ||
	    !in_phase(r, RW_PHASE_TLS_HANDSHAKE))
		return false;
	ev_close(c,
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
