/* Names of the shared enums. These strings are the JSON values users grep
 * and alert on: never rename one. */
#include "rw_types.h"

#include <stddef.h>

#define NAME_OR(tab, i, dflt)                                                                      \
	((size_t)(i) < sizeof(tab) / sizeof(tab[0]) && tab[i] ? tab[i] : (dflt))

const char *rw_status_name(int status)
{
	switch (status) {
	case RW_OK:
		return "ok";
	case RW_E_NEED_MORE:
		return "need_more";
	case RW_E_VERSION:
		return "bad_version";
	case RW_E_LENGTH:
		return "bad_length";
	case RW_E_TYPE:
		return "bad_type";
	case RW_E_TRAILING:
		return "trailing_bytes";
	case RW_E_TOO_MANY:
		return "too_many_items";
	case RW_E_CERT:
		return "bad_certificate";
	case RW_E_VALUE:
		return "bad_value";
	}
	return status > 0 ? "ok" : "unknown_error";
}

const char *rw_dir_name(enum rw_dir d)
{
	return d == RW_C2S ? "client_to_server" : "server_to_client";
}

const char *rw_side_name(enum rw_side s)
{
	static const char *const t[] = {"none", "client", "server", "proxy"};
	return NAME_OR(t, s, "none");
}

const char *rw_close_kind_name(enum rw_close_kind k)
{
	static const char *const t[] = {"none", "fin", "rst", "timeout", "refused", "unreachable"};
	return NAME_OR(t, k, "none");
}

const char *rw_phase_name(enum rw_phase p)
{
	static const char *const t[] = {"tcp_connect", "x224", "tls_handshake",
	                                "nla",         "rdp",  "established"};
	return NAME_OR(t, p, "tcp_connect");
}

const char *rw_confidence_name(enum rw_confidence c)
{
	static const char *const t[] = {"high", "medium", "low"};
	return NAME_OR(t, c, "low");
}

const char *rw_cause_name(enum rw_cause c)
{
	static const char *const t[] = {
	        [RW_CAUSE_UNKNOWN] = "unknown",
	        [RW_CAUSE_NORMAL_CLOSE] = "normal_close",
	        [RW_CAUSE_CLIENT_CANCELLED] = "client_cancelled",
	        [RW_CAUSE_UPSTREAM_REFUSED] = "upstream_refused",
	        [RW_CAUSE_UPSTREAM_UNREACHABLE] = "upstream_unreachable",
	        [RW_CAUSE_X224_NO_RESPONSE] = "x224_no_response",
	        [RW_CAUSE_X224_CLOSED_BY_SERVER] = "x224_closed_by_server",
	        [RW_CAUSE_TLS_TERMINATING_MIDDLEBOX] = "tls_terminating_middlebox",
	        [RW_CAUSE_SECURITY_NEGOTIATION_FAILURE] = "security_negotiation_failure",
	        [RW_CAUSE_TLS_PROTOCOL_VERSION_MISMATCH] = "tls_protocol_version_mismatch",
	        [RW_CAUSE_TLS_CIPHER_MISMATCH] = "tls_cipher_mismatch",
	        [RW_CAUSE_TLS_REJECTED_WITHOUT_ALERT] = "tls_rejected_without_alert",
	        [RW_CAUSE_CERTIFICATE_EXPIRED] = "certificate_expired",
	        [RW_CAUSE_CERTIFICATE_REJECTED_BY_CLIENT] = "certificate_rejected_by_client",
	        [RW_CAUSE_TLS_STREAM_ALTERED] = "tls_stream_altered",
	        [RW_CAUSE_RESET_INJECTED] = "reset_injected",
	        [RW_CAUSE_RESET_BY_SERVER] = "reset_by_server",
	        [RW_CAUSE_RESET_BY_CLIENT] = "reset_by_client",
	        [RW_CAUSE_NLA_FAILED] = "nla_failed",
	        [RW_CAUSE_HANDSHAKE_TIMEOUT] = "handshake_timeout",
	        [RW_CAUSE_MTU_BLACKHOLE] = "mtu_blackhole",
	        [RW_CAUSE_TLS_ALERT] = "tls_alert",
	        [RW_CAUSE_NOT_RDP] = "not_rdp",
	        [RW_CAUSE_STILL_OPEN] = "still_open",
	        [RW_CAUSE_RDP_CLOSED_BY_SERVER] = "rdp_closed_by_server",
	        [RW_CAUSE_CLOCK_SKEW] = "clock_skew",
	        [RW_CAUSE_PEER_VANISHED] = "peer_vanished",
	        [RW_CAUSE_IDLE_TIMEOUT] = "idle_timeout",
	        [RW_CAUSE_SCAN_OR_FLOOD] = "scan_or_flood",
	        [RW_CAUSE_NLA_LOGON_FAILURE] = "nla_logon_failure",
	        [RW_CAUSE_NLA_PASSWORD_EXPIRED] = "nla_password_expired",
	        [RW_CAUSE_NLA_ACCOUNT_RESTRICTED] = "nla_account_restricted",
	        [RW_CAUSE_NLA_ACCOUNT_DISABLED] = "nla_account_disabled",
	        [RW_CAUSE_NLA_ACCOUNT_LOCKED_OUT] = "nla_account_locked_out",
	        [RW_CAUSE_NLA_ACCOUNT_EXPIRED] = "nla_account_expired",
	        [RW_CAUSE_NLA_LOGON_TYPE_NOT_GRANTED] = "nla_logon_type_not_granted",
	        [RW_CAUSE_NLA_NO_AUTHORITY] = "nla_no_authority",
	        [RW_CAUSE_SERVER_DENIED_CONNECTION] = "server_denied_connection",
	        [RW_CAUSE_SESSION_ENDED_BY_HOST] = "session_ended_by_host",
	        [RW_CAUSE_SESSION_TIME_LIMIT] = "session_time_limit",
	        [RW_CAUSE_RDP_LICENSING_FAILED] = "rdp_licensing_failed",
	        [RW_CAUSE_CONNECTION_BROKER_FAILED] = "connection_broker_failed",
	        [RW_CAUSE_HOST_SESSION_FAILURE] = "host_session_failure",
	        [RW_CAUSE_RDP_PROTOCOL_ERROR] = "rdp_protocol_error",
	};
	return NAME_OR(t, c, "unknown");
}
