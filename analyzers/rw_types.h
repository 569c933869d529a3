/* Shared vocabulary of the analyzers: directions, phases, sides, close kinds,
 * cause codes and parser status codes. Names are an API (JSON values). */
#ifndef RW_TYPES_H
#define RW_TYPES_H

#include <stddef.h>
#include <stdint.h>

/* Direction of bytes on the connection. */
enum rw_dir { RW_C2S = 0, RW_S2C = 1 };

enum rw_side { RW_SIDE_NONE = 0, RW_SIDE_CLIENT, RW_SIDE_SERVER, RW_SIDE_PROXY };

enum rw_close_kind {
	RW_CLOSE_NONE = 0,
	RW_CLOSE_FIN,
	RW_CLOSE_RST,
	RW_CLOSE_TIMEOUT,
	RW_CLOSE_REFUSED,
	RW_CLOSE_UNREACHABLE,
};

/* Phases, in the order a healthy connection goes through them. */
enum rw_phase {
	RW_PHASE_TCP_CONNECT = 0,
	RW_PHASE_X224,
	RW_PHASE_TLS_HANDSHAKE,
	RW_PHASE_NLA,
	RW_PHASE_RDP,
	RW_PHASE_ESTABLISHED,
	RW_PHASE_COUNT
};

/* Cause codes. Stable API: never renumber the strings, only append. */
enum rw_cause {
	RW_CAUSE_UNKNOWN = 0,
	RW_CAUSE_NORMAL_CLOSE,
	RW_CAUSE_CLIENT_CANCELLED,
	RW_CAUSE_UPSTREAM_REFUSED,
	RW_CAUSE_UPSTREAM_UNREACHABLE,
	RW_CAUSE_X224_NO_RESPONSE,
	RW_CAUSE_X224_CLOSED_BY_SERVER,
	RW_CAUSE_TLS_TERMINATING_MIDDLEBOX,
	RW_CAUSE_SECURITY_NEGOTIATION_FAILURE,
	RW_CAUSE_TLS_PROTOCOL_VERSION_MISMATCH,
	RW_CAUSE_TLS_CIPHER_MISMATCH,
	RW_CAUSE_TLS_REJECTED_WITHOUT_ALERT,
	RW_CAUSE_CERTIFICATE_EXPIRED,
	RW_CAUSE_CERTIFICATE_REJECTED_BY_CLIENT,
	RW_CAUSE_TLS_STREAM_ALTERED,
	RW_CAUSE_RESET_INJECTED,
	RW_CAUSE_RESET_BY_SERVER,
	RW_CAUSE_RESET_BY_CLIENT,
	RW_CAUSE_NLA_FAILED,
	RW_CAUSE_HANDSHAKE_TIMEOUT,
	RW_CAUSE_MTU_BLACKHOLE,
	RW_CAUSE_TLS_ALERT,
	RW_CAUSE_NOT_RDP,
	RW_CAUSE_STILL_OPEN,
	RW_CAUSE_RDP_CLOSED_BY_SERVER,
	RW_CAUSE_CLOCK_SKEW,
	RW_CAUSE_PEER_VANISHED,
	RW_CAUSE_IDLE_TIMEOUT,
	RW_CAUSE_SCAN_OR_FLOOD,
	/* Inspection with the host's key (analyzers/inspect.c): the host's own
	 * reason, read inside TLS. */
	RW_CAUSE_NLA_LOGON_FAILURE,
	RW_CAUSE_NLA_PASSWORD_EXPIRED,
	RW_CAUSE_NLA_ACCOUNT_RESTRICTED,
	RW_CAUSE_NLA_ACCOUNT_DISABLED,
	RW_CAUSE_NLA_ACCOUNT_LOCKED_OUT,
	RW_CAUSE_NLA_ACCOUNT_EXPIRED,
	RW_CAUSE_NLA_LOGON_TYPE_NOT_GRANTED,
	RW_CAUSE_NLA_NO_AUTHORITY,
	RW_CAUSE_SERVER_DENIED_CONNECTION,
	RW_CAUSE_SESSION_ENDED_BY_HOST,
	RW_CAUSE_SESSION_TIME_LIMIT,
	RW_CAUSE_RDP_LICENSING_FAILED,
	RW_CAUSE_CONNECTION_BROKER_FAILED,
	RW_CAUSE_HOST_SESSION_FAILURE,
	RW_CAUSE_RDP_PROTOCOL_ERROR,
	RW_CAUSE_COUNT
};

/* How sure the verdict is: high when the wire names the cause itself (an
 * alert, RDP_NEG_FAILURE, a refused SYN), medium when it is inferred from a
 * pattern that one other cause could also leave, low when several fit and
 * only another vantage point or the host's logs can tell. */
enum rw_confidence {
	RW_CONFIDENCE_HIGH = 0,
	RW_CONFIDENCE_MEDIUM,
	RW_CONFIDENCE_LOW,
};
/* Parser results: >= 0 is the number of bytes consumed; < 0 one of these. */
enum rw_status {
	RW_OK = 0,
	RW_E_NEED_MORE = -1, /* valid so far, the input ends too early */
	RW_E_VERSION = -2,   /* wrong protocol version field */
	RW_E_LENGTH = -3,    /* a length field is impossible */
	RW_E_TYPE = -4,      /* unknown or unexpected type/code */
	RW_E_TRAILING = -5,  /* bytes left over inside a bounded structure */
	RW_E_TOO_MANY = -6,  /* more items than the analyzer keeps */
	RW_E_CERT = -7,      /* OpenSSL could not decode a certificate */
	RW_E_VALUE = -8,     /* a field holds a value the spec forbids */
};

const char *rw_status_name(int status);
const char *rw_dir_name(enum rw_dir d);
const char *rw_side_name(enum rw_side s);
const char *rw_close_kind_name(enum rw_close_kind k);
const char *rw_phase_name(enum rw_phase p);
const char *rw_cause_name(enum rw_cause c);
const char *rw_confidence_name(enum rw_confidence c);

/* Big-endian and little-endian loads; callers check bounds first. */
static inline uint16_t rw_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t rw_be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}
static inline uint32_t rw_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint16_t rw_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t rw_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Lower-case hex of p[0..n), NUL-terminated, cut to fit cap (cap >= 1). */
static inline void rw_hex(const uint8_t *p, size_t n, char *out, size_t cap)
{
	static const char digits[] = "0123456789abcdef";
	size_t k = 0;
	for (size_t i = 0; i < n && k + 2 < cap; i++) {
		out[k++] = digits[p[i] >> 4];
		out[k++] = digits[p[i] & 15];
	}
	out[k] = 0;
}

#endif
