/* Verdict rule tests of CredSSP (NLA) and the RDP connection sequence after
 * it, judged from record sizes: errors, clock skew, auth-only clients, a host
 * that closes during the sequence. Order: the table in verdict.c. */
#include <string.h>

#include "verdict_rules.h"

/* NTLM CredSSP: NEGOTIATE, AUTHENTICATE + pubKeyAuth, then the credentials. */
#define NLA_CLIENT_DONE_FLIGHTS 3

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

/* Kerberos refuses an authenticator more than 5 minutes from the KDC's
 * clock (RFC 4120 5.2.3's customary skew, Windows' default "Maximum
 * tolerance for computer clock synchronization"): a host that far off fails
 * NLA for domain accounts before any password is checked, unless the client
 * falls back to NTLM. Only a front end that decrypts CredSSP (probe,
 * inspection) knows the host's clock. */
#define CLOCK_SKEW_MAX_US (300LL * 1000000)

bool rw_rule_clock_skew(struct ctx *c)
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

bool rw_rule_nla_failed(struct ctx *c)
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

bool rw_rule_nla_auth_only(struct ctx *c)
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

bool rw_rule_rdp_closed_by_server(struct ctx *c)
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
