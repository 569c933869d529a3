/* The RDP PDUs after CredSSP that say why a connection ends, as inspection
 * sees them in the plaintext inside TLS (MS-RDPBCGR): TPKT + X.224 Data +
 * MCS (T.125) Send Data Indication carrying a Share Control Header and a
 * Share Data Header: the Set Error Info PDU (2.2.5.1.1, errorInfo) and the
 * Save Session Info PDU (2.2.10.1, the logon notification and its Logon
 * Errors Info), and the MCS Disconnect Provider Ultimatum (T.125, reason).
 * Also the Early User Authorization Result (2.2.10.2, HYBRID_EX) and the
 * fast-path framing (2.2.9.1.2), skipped by its length. Pure: no I/O, no
 * allocation. */
#ifndef RW_RDP_PDU_H
#define RW_RDP_PDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rw_types.h"

enum rw_rdp_pdu_kind {
	RW_RDP_PDU_OTHER = 0,         /* a well-formed PDU of no interest here */
	RW_RDP_PDU_MCS_CONNECT,       /* MCS Connect Initial / Response (BER) */
	RW_RDP_PDU_ULTIMATUM,         /* MCS Disconnect Provider Ultimatum: reason */
	RW_RDP_PDU_DEMAND_ACTIVE,     /* Share Control pduType 1: capabilities follow */
	RW_RDP_PDU_DEACTIVATE_ALL,    /* Share Control pduType 6 */
	RW_RDP_PDU_SET_ERROR_INFO,    /* error_info */
	RW_RDP_PDU_SAVE_SESSION_INFO, /* info_type, logon errors */
	RW_RDP_PDU_DATA,              /* another Share Data PDU: pdu_type2 */
};

struct rw_rdp_pdu {
	enum rw_rdp_pdu_kind kind;
	uint8_t mcs_type;    /* DomainMCSPDU choice (T.125: 26 SDrq, 27 SDin, 8 DPum...) */
	uint16_t channel;    /* Send Data channelId */
	uint8_t pdu_type2;   /* Share Data Header pduType2 */
	uint8_t reason;      /* Ultimatum: 0 domain-disconnected ... 4 channel-purged */
	uint32_t error_info; /* Set Error Info */
	uint32_t
	        info_type; /* Save Session Info: 0 LOGON, 1 LOGON_LONG, 2 PLAINNOTIFY, 3 EXTENDED */
	bool has_logon_error;      /* LOGON_EXTENDED_INFO with LOGON_EX_LOGONERRORS */
	uint32_t logon_error_type; /* ErrorNotificationType: LOGON_MSG_* or an NTSTATUS */
	uint32_t logon_error_data; /* ErrorNotificationData: LOGON_FAILED_* or a session id */
};

/* TPKT framing: rw_tpkt_length (x224.h). */

/* Length of the fast-path PDU at p (MS-RDPBCGR 2.2.9.1.2 / 2.2.8.1.2: an
 * action byte whose two low bits are 0, then a 1- or 2-byte PER length
 * including the header), RW_E_NEED_MORE, or RW_E_TYPE/RW_E_LENGTH. */
int rw_fastpath_length(const uint8_t *p, size_t n);

/* Decodes a slow-path PDU from the first n bytes of a TPKT packet of
 * `total` bytes (n <= total: the decoder may see only its head). Returns 0,
 * RW_E_NEED_MORE when the fields it needs lie past n, or another rw_status
 * when the bytes are not X.224 Data + MCS. Never reads past n. */
int rw_rdp_pdu_parse(const uint8_t *p, size_t n, size_t total, struct rw_rdp_pdu *out);

/* Early User Authorization Result (4 bytes LE): 0 AUTHZ_SUCCESS,
 * 5 AUTHZ_ACCESS_DENIED. */
#define RW_AUTHZ_SUCCESS       0x00000000u
#define RW_AUTHZ_ACCESS_DENIED 0x00000005u

/* Names, NULL when unknown. */
const char *rw_mcs_reason_name(uint8_t reason);   /* "rn-user-requested", ... */
const char *rw_errinfo_name(uint32_t code);       /* "ERRINFO_SERVER_DENIED_CONNECTION", ... */
const char *rw_save_info_type_name(uint32_t t);   /* "INFOTYPE_LOGON", ... */
const char *rw_logon_error_type_name(uint32_t t); /* "LOGON_MSG_NO_PERMISSION", ... */
const char *rw_logon_error_data_name(uint32_t d); /* "LOGON_FAILED_BAD_PASSWORD", ... */

/* The cause an errorInfo stands for (grouped: the code itself goes in the
 * evidence); RW_CAUSE_UNKNOWN for ERRINFO_NONE. Every code of MS-RDPBCGR
 * 2.2.5.1.1 maps to a cause. */
enum rw_cause rw_errinfo_cause(uint32_t code);

#endif
