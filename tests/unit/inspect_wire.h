/* Plaintext inside TLS for the inspection tests, built from the specs:
 * CredSSP TSRequest (MS-CSSP 2.2.1), NTLM messages (MS-NLMP 2.2.1), SPNEGO
 * (RFC 4178 4.2) around a Kerberos KRB-ERROR (RFC 4120 5.9.1, GSS framing
 * RFC 1964 1.1), and the RDP PDUs after CredSSP (MS-RDPBCGR 2.2.5.1.1 Set
 * Error Info, 2.2.10.1 Save Session Info, T.125 Disconnect Provider
 * Ultimatum, 2.2.9.1.2 fast-path). */
#ifndef RW_TEST_INSPECT_WIRE_H
#define RW_TEST_INSPECT_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "testutil.h"

/* A DER TLV of contents c[0..n). */
void iw_tlv(struct rw_test_bytes *b, uint8_t tag, const void *c, size_t n);
/* TSRequest { version [0], negoTokens [1] (tok), authInfo [2], pubKeyAuth [3],
 * errorCode [4] }: NULL/absent fields left out; err written as Windows does
 * (a signed 4-byte INTEGER). */
void iw_tsreq(struct rw_test_bytes *b, uint32_t version, const struct rw_test_bytes *tok,
              const struct rw_test_bytes *auth, const struct rw_test_bytes *pka, bool has_err,
              uint32_t err);
void iw_ntlm_negotiate(struct rw_test_bytes *b);
/* CHALLENGE_MESSAGE with TargetInfo { MsvAvNbComputerName "HOST",
 * MsvAvTimestamp filetime, MsvAvEOL }. */
void iw_ntlm_challenge(struct rw_test_bytes *b, uint64_t filetime);
/* AUTHENTICATE_MESSAGE whose NtChallengeResponse is `secret` (a stand-in
 * for an NTLMv2 response derived from the password hash). */
void iw_ntlm_authenticate(struct rw_test_bytes *b, const uint8_t *secret, size_t n);
/* SPNEGO NegTokenResp { negState reject, responseToken = GSS krb5 framing,
 * TOK_ID 03 00, KRB-ERROR { pvno 5, msg-type 30, stime, susec, error-code,
 * realm, sname } }. */
void iw_spnego_krb_error(struct rw_test_bytes *b, int code, const char *stime, int susec);
/* SPNEGO NegTokenInit { mechTypes { krb5 }, mechToken = GSS krb5 AP-REQ
 * with `ticket` as its opaque body }. */
void iw_spnego_krb_ap_req(struct rw_test_bytes *b, const uint8_t *ticket, size_t n);
/* TPKT + X.224 Data + MCS Send Data Indication (channel 1003) + Share
 * Control (Data PDU) + Share Data Header (pduType2) + payload. */
void iw_data_pdu(struct rw_test_bytes *b, uint8_t pdu_type2, const struct rw_test_bytes *payload);
void iw_set_error_info(struct rw_test_bytes *b, uint32_t error_info);
void iw_save_session_info(struct rw_test_bytes *b, uint32_t info_type, bool logon_error,
                          uint32_t err_type, uint32_t err_data);
void iw_ultimatum(struct rw_test_bytes *b, uint8_t reason);
/* TPKT + X.224 Data + an MCS Connect-Initial (client) or Connect-Response
 * (server) header and `len` filler bytes. */
void iw_mcs_connect_initial(struct rw_test_bytes *b, size_t len);
void iw_mcs_connect_response(struct rw_test_bytes *b, size_t len);
/* A fast-path output PDU of len bytes in all (2-byte length form). */
void iw_fastpath(struct rw_test_bytes *b, size_t len);
void iw_le32(struct rw_test_bytes *b, uint32_t v);

#endif
