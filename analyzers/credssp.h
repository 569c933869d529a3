/* CredSSP TSRequest (MS-CSSP 2.2.1), DER-encoded ASN.1:
 *   TSRequest ::= SEQUENCE {
 *     version    [0] INTEGER,
 *     negoTokens [1] NegoData OPTIONAL,   -- SEQUENCE OF SEQUENCE { negoToken [0] OCTET STRING }
 *     authInfo   [2] OCTET STRING OPTIONAL,
 *     pubKeyAuth [3] OCTET STRING OPTIONAL,
 *     errorCode  [4] INTEGER OPTIONAL,    -- versions 3, 4, 6: an NTSTATUS
 *     clientNonce [5] OCTET STRING OPTIONAL }
 * Pure: no I/O, no allocation. */
#ifndef RW_CREDSSP_H
#define RW_CREDSSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rw_types.h"

struct rw_tsrequest {
	uint32_t version;
	/* The first negoToken (an SPNEGO or raw NTLM message); points into the
	 * caller's buffer. NULL/0 when absent. */
	const uint8_t *nego_token;
	size_t nego_token_len;
	bool has_auth_info;
	bool has_pub_key_auth;
	bool has_error_code;
	uint32_t error_code; /* NTSTATUS, e.g. 0xC000006D STATUS_LOGON_FAILURE */
	bool has_client_nonce;
};

/* Writes TSRequest { version, negoTokens { { negoToken = token } } } in DER
 * (negoTokens left out when token is NULL). Returns its length, or 0 when
 * cap is too small. */
size_t rw_tsrequest_build(uint8_t *out, size_t cap, uint32_t version, const uint8_t *token,
                          size_t token_len);

/* Decodes one TSRequest from the start of p. Returns the bytes it occupies
 * (the outer SEQUENCE; bytes after it are not read), RW_E_NEED_MORE when
 * p[0..n) is a valid prefix of a longer one (the caller reads more), or
 * another rw_status < 0 (RW_E_TYPE: not a TSRequest; RW_E_LENGTH: a length
 * that does not fit its container, an indefinite length, or a TSRequest
 * longer than INT_MAX). NTSTATUS errorCodes are read signed or unsigned. */
int rw_tsrequest_parse(const uint8_t *p, size_t n, struct rw_tsrequest *out);

/* "STATUS_LOGON_FAILURE", ... for the NTSTATUS values MS-CSSP and Windows
 * hosts use in errorCode; NULL when unknown. */
const char *rw_ntstatus_name(uint32_t status);

/* The cause an NTSTATUS errorCode stands for (verdict_rules_inspect.c):
 * grouped, the status itself goes in the evidence; RW_CAUSE_NLA_FAILED for
 * the ones no group takes. */
enum rw_cause rw_ntstatus_cause(uint32_t status);

#endif
