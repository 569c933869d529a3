/* The authentication token inside a CredSSP negoToken, as inspection sees it
 * (MS-CSSP 2.2.1.1: SPNEGO, or a raw NTLM message): SPNEGO (RFC 4178)
 * NegTokenInit / NegTokenResp, the GSS-API framing of Kerberos (RFC 1964
 * 1.1, RFC 4121 4.1: [APPLICATION 0] thisMech innerToken, TOK_ID) and the
 * Kerberos messages (RFC 4120 5.5.1 AP-REQ, 5.5.2 AP-REP, 5.9.1 KRB-ERROR).
 * Only the kind of message is kept, and of a KRB-ERROR its error-code and
 * the server's time: never a ticket, an authenticator or a key. Pure: no
 * I/O, no allocation. */
#ifndef RW_KERBEROS_H
#define RW_KERBEROS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rw_auth_token {
	RW_AUTH_UNKNOWN = 0,
	RW_AUTH_NTLM, /* an NTLM message: ntlm_type says which */
	RW_AUTH_KRB_AP_REQ,
	RW_AUTH_KRB_AP_REP,
	RW_AUTH_KRB_ERROR, /* krb_error, stime... */
	RW_AUTH_KRB_OTHER, /* Kerberos framing, another message (TGT request/reply...) */
	RW_AUTH_SPNEGO,    /* SPNEGO without an inner token (negState alone, mechListMIC) */
};

struct rw_auth_token_info {
	enum rw_auth_token kind;
	bool spnego;        /* wrapped in SPNEGO */
	bool has_neg_state; /* NegTokenResp negState */
	uint8_t neg_state;  /* 0 accept-completed, 1 accept-incomplete, 2 reject, 3 request-mic */
	bool mech_kerberos; /* SPNEGO/GSS named a Kerberos mechanism */
	bool mech_ntlm;     /* SPNEGO/GSS named NTLMSSP */
	uint8_t ntlm_type;  /* 1 NEGOTIATE, 2 CHALLENGE, 3 AUTHENTICATE; 0 unknown */
	int32_t krb_error;  /* KRB-ERROR error-code */
	bool has_stime;     /* KRB-ERROR stime/susec decoded */
	int64_t stime_unix_us; /* the server's time, microseconds since 1970 */
	bool truncated;        /* the token ended early: what was seen is kept */
	/* Where an inner NTLM message starts (into the caller's buffer) and how
	 * many of its bytes are there, for the CHALLENGE's MsvAvTimestamp. */
	const uint8_t *ntlm;
	size_t ntlm_len;
};

/* Reads the token in p[0..n): a possibly truncated prefix is fine (whatever
 * its visible headers tell is kept and `truncated` is set). Returns 0 when
 * the kind was found, RW_E_TYPE when the bytes are none of these tokens,
 * RW_E_LENGTH/RW_E_VALUE when a structure is malformed (what was read so far
 * is kept). Never reads past n. */
int rw_auth_token_parse(const uint8_t *p, size_t n, struct rw_auth_token_info *out);

/* NTLM message type (MS-NLMP 2.2.1: signature "NTLMSSP\0", MessageType):
 * 1, 2 or 3, or an rw_status < 0 (RW_E_NEED_MORE under 12 bytes of a
 * signature prefix, RW_E_TYPE otherwise). */
int rw_ntlm_message_type(const uint8_t *p, size_t n);

/* "KRB_AP_ERR_SKEW", ... (RFC 4120 7.5.9, and RFC 6113/6806 codes); NULL
 * when unknown. */
const char *rw_krb_error_name(int32_t code);
/* "NEGOTIATE", "CHALLENGE", "AUTHENTICATE" or NULL. */
const char *rw_ntlm_type_name(unsigned type);

/* KerberosTime "YYYYMMDDHHMMSSZ" (RFC 4120 5.2.3) to seconds since 1970;
 * false when the string is not of that form. */
bool rw_krb_time_parse(const uint8_t *s, size_t n, int64_t *unix_s);

/* KRB_AP_ERR_SKEW, KRB_AP_ERR_MODIFIED: the ones rules name. */
#define RW_KRB_AP_ERR_SKEW     37
#define RW_KRB_AP_ERR_MODIFIED 41

#endif
