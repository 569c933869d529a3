/* Verdict rules from inspection with the host's key (analyzers/inspect.c):
 * the host's own reason, read inside TLS. The CredSSP TSRequest.errorCode
 * (an NTSTATUS, MS-CSSP 2.2.1), a Kerberos KRB-ERROR in the host's SPNEGO
 * answer (RFC 4120 5.9.1), the Set Error Info PDU (MS-RDPBCGR 2.2.5.1.1),
 * the HYBRID_EX Early User Authorization Result (2.2.10.2), and, for hosts
 * that send no errorCode (FreeRDP 2), the client's NTLM AUTHENTICATE_MESSAGE
 * the host closed on without answering. Order: the table in verdict.c. */
#include <time.h>

#include "credssp.h"
#include "kerberos.h"
#include "rdp_pdu.h"
#include "verdict_rules.h"

/* Kerberos' default tolerance (RFC 4120 5.2.3's customary 5 minutes). */
#define SKEW_US (300LL * 1000000)

enum rw_cause rw_ntstatus_cause(uint32_t st)
{
	switch (st) {
	case 0xC000006D: /* STATUS_LOGON_FAILURE */
	case 0xC000006A: /* STATUS_WRONG_PASSWORD */
	case 0xC0000064: /* STATUS_NO_SUCH_USER */
	case 0x8009030C: /* SEC_E_LOGON_DENIED */
		return RW_CAUSE_NLA_LOGON_FAILURE;
	case 0xC0000071: /* STATUS_PASSWORD_EXPIRED */
	case 0xC0000224: /* STATUS_PASSWORD_MUST_CHANGE */
		return RW_CAUSE_NLA_PASSWORD_EXPIRED;
	case 0xC000006E: /* STATUS_ACCOUNT_RESTRICTION */
	case 0xC000006F: /* STATUS_INVALID_LOGON_HOURS */
	case 0xC0000070: /* STATUS_INVALID_WORKSTATION */
	case 0xC0000413: /* STATUS_AUTHENTICATION_FIREWALL_FAILED */
		return RW_CAUSE_NLA_ACCOUNT_RESTRICTED;
	case 0xC0000072: /* STATUS_ACCOUNT_DISABLED */
		return RW_CAUSE_NLA_ACCOUNT_DISABLED;
	case 0xC0000234: /* STATUS_ACCOUNT_LOCKED_OUT */
		return RW_CAUSE_NLA_ACCOUNT_LOCKED_OUT;
	case 0xC0000193: /* STATUS_ACCOUNT_EXPIRED */
		return RW_CAUSE_NLA_ACCOUNT_EXPIRED;
	case 0xC000015B: /* STATUS_LOGON_TYPE_NOT_GRANTED */
		return RW_CAUSE_NLA_LOGON_TYPE_NOT_GRANTED;
	case 0xC000005E: /* STATUS_NO_LOGON_SERVERS */
	case 0xC00000DF: /* STATUS_NO_SUCH_DOMAIN */
	case 0xC000018B: /* STATUS_NO_TRUST_SAM_ACCOUNT */
	case 0xC000018D: /* STATUS_TRUSTED_RELATIONSHIP_FAILURE */
	case 0xC0000190: /* STATUS_TRUST_FAILURE */
	case 0xC0000199: /* STATUS_NOLOGON_WORKSTATION_TRUST_ACCOUNT */
	case 0x80090311: /* SEC_E_NO_AUTHENTICATING_AUTHORITY */
		return RW_CAUSE_NLA_NO_AUTHORITY;
	case 0xC0000133: /* STATUS_TIME_DIFFERENCE_AT_DC */
	case 0x80090324: /* SEC_E_TIME_SKEW */
		return RW_CAUSE_CLOCK_SKEW;
	}
	return RW_CAUSE_NLA_FAILED;
}

static const char *or_unknown(const char *s)
{
	return s ? s : "not a documented value";
}

static void utc(int64_t us, char *out, size_t cap)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, cap, "%lld s", (long long)(us / 1000000));
}

/* The host refused the logon in CredSSP: its errorCode, of this cause. */
static bool ntstatus_is(struct ctx *c, enum rw_cause want)
{
	const struct rw_inspect_facts *f = &c->r->inspect;
	if (!f->has_ntstatus || f->logon_seen || rw_ntstatus_cause(f->ntstatus) != want)
		return false;
	ev(c, "host's CredSSP TSRequest.errorCode 0x%08X %s (inside TLS, read with the host's key)",
	   f->ntstatus, or_unknown(rw_ntstatus_name(f->ntstatus)));
	if (f->ntlm_seen[RW_C2S] & (1u << 3))
		ev(c, "after the client's NTLM AUTHENTICATE_MESSAGE");
	else if (f->kerberos)
		ev(c, "after the client's Kerberos token");
	tell(c, "the host's Security log: event 4625 with this status (or its sub-status) for "
	        "the user at that time");
	return true;
}

bool rw_rule_insp_logon_failure(struct ctx *c)
{
	if (ntstatus_is(c, RW_CAUSE_NLA_LOGON_FAILURE))
		return true;
	/* A host that sends no errorCode (FreeRDP 2's server): the client's NTLM
	 * AUTHENTICATE_MESSAGE, then the host's close with no TSRequest after it. */
	const struct rw_record *r = c->r;
	const struct rw_inspect_facts *f = &r->inspect;
	if (!f->auth_then_silence || f->has_ntstatus || f->has_krb_error || f->rdp_seen[RW_S2C] ||
	    !closed_by(r, RW_S2C))
		return false;
	ev(c, "client sent its NTLM AUTHENTICATE_MESSAGE (CredSSP, read with the host's key); the "
	      "host closed without a further TSRequest and without an errorCode");
	sure(c, RW_CONFIDENCE_MEDIUM);
	maybe(c, RW_CAUSE_NLA_FAILED);
	tell(c, "Windows hosts name the reason (TSRequest.errorCode); this host closed without "
	        "one, as FreeRDP's server does on a wrong password: its log, or Security 4625 on "
	        "Windows, says whether the account or the password was refused");
	return true;
}

bool rw_rule_insp_password_expired(struct ctx *c)
{
	return ntstatus_is(c, RW_CAUSE_NLA_PASSWORD_EXPIRED);
}

bool rw_rule_insp_account_restricted(struct ctx *c)
{
	return ntstatus_is(c, RW_CAUSE_NLA_ACCOUNT_RESTRICTED);
}

bool rw_rule_insp_account_disabled(struct ctx *c)
{
	return ntstatus_is(c, RW_CAUSE_NLA_ACCOUNT_DISABLED);
}

bool rw_rule_insp_account_locked_out(struct ctx *c)
{
	return ntstatus_is(c, RW_CAUSE_NLA_ACCOUNT_LOCKED_OUT);
}

bool rw_rule_insp_account_expired(struct ctx *c)
{
	return ntstatus_is(c, RW_CAUSE_NLA_ACCOUNT_EXPIRED);
}

bool rw_rule_insp_logon_type(struct ctx *c)
{
	return ntstatus_is(c, RW_CAUSE_NLA_LOGON_TYPE_NOT_GRANTED);
}

bool rw_rule_insp_no_authority(struct ctx *c)
{
	return ntstatus_is(c, RW_CAUSE_NLA_NO_AUTHORITY);
}

/* KRB_AP_ERR_SKEW in the host's answer, or a time-skew errorCode. */
bool rw_rule_insp_clock_skew(struct ctx *c)
{
	const struct rw_inspect_facts *f = &c->r->inspect;
	if (f->logon_seen)
		return false;
	/* A Kerberos client corrects its clock from the KRB-ERROR's stime and
	 * tries again: the skew ended this connection only if CredSSP never
	 * completed after it. */
	if (f->has_krb_error && f->krb_error == RW_KRB_AP_ERR_SKEW && !f->credentials_sent &&
	    !f->rdp_seen[RW_S2C]) {
		ev(c, "host answered the client's Kerberos AP-REQ with KRB-ERROR KRB_AP_ERR_SKEW "
		      "(37): the client's authenticator is more than the allowed skew (5 min by "
		      "default) from the host's clock");
		if (f->has_krb_stime) {
			char when[40];
			utc(f->krb_stime_us, when, sizeof(when));
			int64_t off = f->krb_stime_us - (int64_t)f->krb_error_ts_us;
			int64_t a = off < 0 ? -off : off;
			ev(c,
			   "the KRB-ERROR carries the host's time %s: %lld s %s rdpwhy's clock%s",
			   when, (long long)(a / 1000000), off < 0 ? "behind" : "ahead of",
			   a <= SKEW_US
			           ? " (the host agrees with rdpwhy: the client's clock is off)"
			           : " (the host's clock is off)");
		}
		tell(c, "w32tm /stripchart against the DC from the client and from the host: the "
		        "one off by more than 5 minutes is to fix");
		return true;
	}
	if (f->has_ntstatus && rw_ntstatus_cause(f->ntstatus) == RW_CAUSE_CLOCK_SKEW) {
		ev(c, "host's CredSSP TSRequest.errorCode 0x%08X %s", f->ntstatus,
		   or_unknown(rw_ntstatus_name(f->ntstatus)));
		tell(c, "w32tm /query /status on the host and the DC shows the offset");
		return true;
	}
	return false;
}

/* Another errorCode, or a KRB-ERROR other than the skew, that the
 * connection did not get past. */
bool rw_rule_insp_nla_other(struct ctx *c)
{
	const struct rw_inspect_facts *f = &c->r->inspect;
	if (f->logon_seen)
		return false;
	if (f->has_ntstatus && rw_ntstatus_cause(f->ntstatus) == RW_CAUSE_NLA_FAILED) {
		ev(c, "host's CredSSP TSRequest.errorCode 0x%08X %s", f->ntstatus,
		   or_unknown(rw_ntstatus_name(f->ntstatus)));
		tell(c, "the host's Security log (4625) and System log at that time");
		return true;
	}
	if (f->has_krb_error && !f->rdp_seen[RW_S2C] && !f->credentials_sent) {
		const char *n = rw_krb_error_name(f->krb_error);
		if (f->krb_error < 0)
			ev(c, "host answered with a Kerberos KRB-ERROR (its error-code cut off)");
		else
			ev(c, "host answered the client's Kerberos token with KRB-ERROR %s (%d)",
			   or_unknown(n), (int)f->krb_error);
		if (f->krb_error == RW_KRB_AP_ERR_MODIFIED)
			ev(c,
			   "KRB_AP_ERR_MODIFIED: the ticket was not encrypted with the host's key "
			   "(a duplicate or wrong SPN, a stale computer account password, or a "
			   "name that points at another host)");
		tell(c, "setspn -Q TERMSRV/host finds duplicate SPNs; the DC's Security log "
		        "(4769/4771) names the failure");
		return true;
	}
	return false;
}

/* The Set Error Info PDU: the cause its group stands for. */
static bool errinfo_is(struct ctx *c, enum rw_cause want)
{
	const struct rw_inspect_facts *f = &c->r->inspect;
	if (!f->has_error_info || rw_errinfo_cause(f->error_info) != want)
		return false;
	ev(c,
	   "host's Set Error Info PDU: errorInfo 0x%X %s (read with the host's key; mstsc "
	   "reports it as extended error 0x%X)",
	   f->error_info, or_unknown(rw_errinfo_name(f->error_info)), f->error_info);
	if (f->ultimatum[RW_S2C])
		ev(c, "then the host's MCS Disconnect Provider Ultimatum (%s)",
		   or_unknown(rw_mcs_reason_name(f->ultimatum_reason[RW_S2C])));
	return true;
}

bool rw_rule_insp_server_denied(struct ctx *c)
{
	const struct rw_inspect_facts *f = &c->r->inspect;
	if (errinfo_is(c, RW_CAUSE_SERVER_DENIED_CONNECTION)) {
		tell(c, "the host's RemoteDesktopServices-RdpCoreTS and "
		        "TerminalServices-RemoteConnectionManager logs name the refusal");
		return true;
	}
	if (f->has_early_auth && f->early_auth == RW_AUTHZ_ACCESS_DENIED) {
		ev(c, "host's Early User Authorization Result (HYBRID_EX, after CredSSP): "
		      "AUTHZ_ACCESS_DENIED: the user may not log on to this host remotely");
		return true;
	}
	if (f->has_logon_error && f->logon_error_type == 0xFFFFFFFA) {
		ev(c,
		   "host's Save Session Info PDU: Logon Errors Info LOGON_MSG_NO_PERMISSION (%s)",
		   or_unknown(rw_logon_error_data_name(f->logon_error_data)));
		return true;
	}
	return false;
}

bool rw_rule_insp_session_ended(struct ctx *c)
{
	return errinfo_is(c, RW_CAUSE_SESSION_ENDED_BY_HOST);
}

bool rw_rule_insp_time_limit(struct ctx *c)
{
	return errinfo_is(c, RW_CAUSE_SESSION_TIME_LIMIT);
}

bool rw_rule_insp_licensing(struct ctx *c)
{
	return errinfo_is(c, RW_CAUSE_RDP_LICENSING_FAILED);
}

bool rw_rule_insp_broker(struct ctx *c)
{
	return errinfo_is(c, RW_CAUSE_CONNECTION_BROKER_FAILED);
}

bool rw_rule_insp_host_failure(struct ctx *c)
{
	return errinfo_is(c, RW_CAUSE_HOST_SESSION_FAILURE);
}

bool rw_rule_insp_protocol_error(struct ctx *c)
{
	return errinfo_is(c, RW_CAUSE_RDP_PROTOCOL_ERROR);
}

/* errorInfo 0x300 (exDiscReasonRdpEncInvalidCredentials): a logon failure. */
bool rw_rule_insp_errinfo_logon(struct ctx *c)
{
	return errinfo_is(c, RW_CAUSE_NLA_LOGON_FAILURE);
}

/* An errorInfo no table documents: the host closed, the code named. */
bool rw_rule_insp_errinfo_other(struct ctx *c)
{
	return errinfo_is(c, RW_CAUSE_RDP_CLOSED_BY_SERVER);
}

/* After the rules: what inspection saw, whatever the cause. */
void rw_inspect_evidence(struct ctx *c)
{
	const struct rw_inspect_facts *f = &c->r->inspect;
	if (!f->inspected)
		return;
	char ntlm[2][64];
	for (int d = 0; d < 2; d++) {
		ntlm[d][0] = 0;
		size_t k = 0;
		for (unsigned t = 1; t <= 3; t++)
			if (f->ntlm_seen[d] & (1u << t))
				k += (size_t)snprintf(ntlm[d] + k, sizeof(ntlm[d]) - k, "%s%s",
				                      k ? "+" : "", rw_ntlm_type_name(t));
	}
	ev(c, "TLS inspected with the host's key: %u client and %u server TSRequests%s%s%s%s%s%s%s",
	   f->tsrequests[RW_C2S], f->tsrequests[RW_S2C], ntlm[0][0] ? ", client NTLM " : "",
	   ntlm[0], ntlm[1][0] ? ", server NTLM " : "", ntlm[1], f->kerberos ? ", Kerberos" : "",
	   f->logon_seen ? ", logon notification" : "",
	   f->demand_active && !f->logon_seen ? ", Demand Active" : "");
	if (f->ultimatum[RW_C2S] || f->ultimatum[RW_S2C]) {
		enum rw_dir d = f->ultimatum[RW_S2C] ? RW_S2C : RW_C2S;
		ev(c, "%s sent MCS Disconnect Provider Ultimatum (%s)", side_of(d),
		   or_unknown(rw_mcs_reason_name(f->ultimatum_reason[d])));
	}
	if (f->has_logon_error && f->logon_error_type != 0xFFFFFFFA)
		ev(c, "host's Logon Errors Info: %s, %s",
		   or_unknown(rw_logon_error_type_name(f->logon_error_type)),
		   or_unknown(rw_logon_error_data_name(f->logon_error_data)));
}
