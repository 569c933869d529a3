/* Slow-path RDP PDUs after the security layer (MS-RDPBCGR 2.2.8.1.1.1,
 * 2.2.8.1.1.1.2 Share Data Header), the T.125 DomainMCSPDU around them (PER,
 * ALIGNED: the choice in the first byte's top six bits), and the fast-path
 * framing, read from the head of each packet only. */
#include "rdp_pdu.h"

#include <string.h>

#include "mstsc_codes.h"
#include "x224.h"

/* T.125 DomainMCSPDU choices. */
#define MCS_DPUM 8  /* disconnectProviderUltimatum */
#define MCS_SDRQ 25 /* sendDataRequest */
#define MCS_SDIN 26 /* sendDataIndication */

/* Share Control Header pduType (low 4 bits; TS_PROTOCOL_VERSION 0x10 above). */
#define PDUTYPE_DEMANDACTIVEPDU  0x1
#define PDUTYPE_CONFIRMACTIVEPDU 0x3
#define PDUTYPE_DEACTIVATEALLPDU 0x6
#define PDUTYPE_DATAPDU          0x7
#define PDUTYPE_SERVER_REDIR_PKT 0xA

#define PDUTYPE2_SAVE_SESSION_INFO  0x26
#define PDUTYPE2_SET_ERROR_INFO_PDU 0x2F

#define PACKET_COMPRESSED 0x20

#define INFOTYPE_LOGON_EXTENDED_INFO 3
#define LOGON_EX_AUTORECONNECTCOOKIE 0x1
#define LOGON_EX_LOGONERRORS         0x2

int rw_fastpath_length(const uint8_t *p, size_t n)
{
	if (n < 1)
		return RW_E_NEED_MORE;
	if ((p[0] & 0x3) != 0)
		return RW_E_TYPE;
	if (n < 2)
		return RW_E_NEED_MORE;
	size_t hdr = 2, len = p[1];
	if (p[1] & 0x80) {
		if (n < 3)
			return RW_E_NEED_MORE;
		hdr = 3;
		len = (size_t)(p[1] & 0x7F) << 8 | p[2];
	}
	return len <= hdr ? RW_E_LENGTH : (int)len;
}

/* The Share Control Header's pduType: version 1 (0x10) and a known type. */
static bool share_control_type(uint16_t t)
{
	uint16_t k = t & 0xF;
	return (t & 0xFFF0) == 0x0010 &&
	       (k == PDUTYPE_DEMANDACTIVEPDU || k == PDUTYPE_CONFIRMACTIVEPDU ||
	        k == PDUTYPE_DEACTIVATEALLPDU || k == PDUTYPE_DATAPDU ||
	        k == PDUTYPE_SERVER_REDIR_PKT);
}

static int save_session_info(const uint8_t *p, size_t n, struct rw_rdp_pdu *out)
{
	if (n < 4)
		return RW_E_NEED_MORE;
	out->info_type = rw_le32(p);
	if (out->info_type != INFOTYPE_LOGON_EXTENDED_INFO)
		return RW_OK;
	/* TS_LOGON_INFO_EXTENDED: Length, FieldsPresent, then each field
	 * present as cbFieldData + data, cookie first. */
	if (n < 10)
		return RW_E_NEED_MORE;
	uint32_t fields = rw_le32(p + 6);
	size_t at = 10;
	if (fields & LOGON_EX_AUTORECONNECTCOOKIE) {
		if (n < at + 4)
			return RW_E_NEED_MORE;
		uint32_t cb = rw_le32(p + at);
		if (cb > 0xFFFF)
			return RW_E_LENGTH;
		at += 4 + cb;
	}
	if (fields & LOGON_EX_LOGONERRORS) {
		if (n < at + 12)
			return RW_E_NEED_MORE;
		if (rw_le32(p + at) < 8)
			return RW_E_LENGTH;
		out->has_logon_error = true;
		out->logon_error_type = rw_le32(p + at + 4);
		out->logon_error_data = rw_le32(p + at + 8);
	}
	return RW_OK;
}

/* userData of a Send Data Request/Indication: Share Control Header, and for
 * a Data PDU the Share Data Header. Anything else (a security header:
 * licensing, auto-detect, multitransport; a flow PDU) is OTHER. */
static int share_pdu(const uint8_t *p, size_t n, struct rw_rdp_pdu *out)
{
	if (n < 6)
		return RW_E_NEED_MORE;
	uint16_t type = rw_le16(p + 2);
	if (rw_le16(p) == 0x8000 || !share_control_type(type))
		return RW_OK;
	switch (type & 0xF) {
	case PDUTYPE_DEMANDACTIVEPDU:
		out->kind = RW_RDP_PDU_DEMAND_ACTIVE;
		return RW_OK;
	case PDUTYPE_DEACTIVATEALLPDU:
		out->kind = RW_RDP_PDU_DEACTIVATE_ALL;
		return RW_OK;
	case PDUTYPE_DATAPDU:
		break;
	default:
		return RW_OK;
	}
	if (n < 18)
		return RW_E_NEED_MORE;
	out->kind = RW_RDP_PDU_DATA;
	out->pdu_type2 = p[14];
	if (p[15] & PACKET_COMPRESSED)
		return RW_OK; /* bulk-compressed payload: not read */
	const uint8_t *d = p + 18;
	size_t dn = n - 18;
	switch (out->pdu_type2) {
	case PDUTYPE2_SET_ERROR_INFO_PDU:
		if (dn < 4)
			return RW_E_NEED_MORE;
		out->kind = RW_RDP_PDU_SET_ERROR_INFO;
		out->error_info = rw_le32(d);
		return RW_OK;
	case PDUTYPE2_SAVE_SESSION_INFO: {
		int r = save_session_info(d, dn, out);
		if (r == RW_OK)
			out->kind = RW_RDP_PDU_SAVE_SESSION_INFO;
		return r;
	}
	}
	return RW_OK;
}

int rw_rdp_pdu_parse(const uint8_t *p, size_t n, size_t total, struct rw_rdp_pdu *out)
{
	memset(out, 0, sizeof(*out));
	if (n > total)
		n = total;
	if (total < 7) /* TPKT header + X.224 Data header */
		return RW_E_LENGTH;
	int len = rw_tpkt_length(p, n);
	if (len < 0)
		return len;
	if ((size_t)len != total || total < 7)
		return RW_E_LENGTH;
	if (n < 7)
		return RW_E_NEED_MORE;
	/* X.224 Data TPDU: LI 2, code 0xF0, EOT 0x80. */
	if (p[4] != 0x02 || p[5] != 0xF0)
		return RW_E_TYPE;
	const uint8_t *m = p + 7;
	size_t mn = n - 7, mtotal = total - 7;
	if (mtotal == 0)
		return RW_E_LENGTH;
	if (mn == 0)
		return RW_E_NEED_MORE;
	if (m[0] == 0x7F) { /* BER [APPLICATION 101..104]: Connect-Initial ... */
		out->kind = RW_RDP_PDU_MCS_CONNECT;
		return RW_OK;
	}
	out->mcs_type = m[0] >> 2;
	switch (out->mcs_type) {
	case MCS_DPUM:
		/* reason: ENUMERATED 0..4 in 3 bits, after the 6-bit choice */
		if (mtotal < 2)
			return RW_E_LENGTH;
		if (mn < 2)
			return RW_E_NEED_MORE;
		out->reason = (uint8_t)((m[0] & 0x3) << 1 | m[1] >> 7);
		if (out->reason > 4)
			return RW_E_VALUE;
		out->kind = RW_RDP_PDU_ULTIMATUM;
		return RW_OK;
	case MCS_SDRQ:
	case MCS_SDIN: {
		/* initiator, channelId, dataPriority + segmentation, PER length */
		if (mn < 7)
			return mtotal < 7 ? RW_E_LENGTH : RW_E_NEED_MORE;
		out->channel = rw_be16(m + 3);
		size_t at = 7, ulen = m[6];
		if (m[6] & 0x80) {
			if (m[6] & 0x40)
				return RW_E_VALUE; /* fragmented PER length: not used by RDP */
			if (mn < 8)
				return RW_E_NEED_MORE;
			ulen = (size_t)(m[6] & 0x3F) << 8 | m[7];
			at = 8;
		}
		if (mtotal < at || ulen != mtotal - at)
			return RW_E_LENGTH;
		int r = share_pdu(m + at, mn - at, out);
		/* the whole packet seen: a field past its end is a bad length */
		return r == RW_E_NEED_MORE && n == total ? RW_E_LENGTH : r;
	}
	default:
		return RW_OK;
	}
}

/* ------------------------------------------------------------------ names */

const char *rw_mcs_reason_name(uint8_t reason)
{
	static const char *const t[] = {"rn-domain-disconnected", "rn-provider-initiated",
	                                "rn-token-purged", "rn-user-requested",
	                                "rn-channel-purged"};
	return reason < 5 ? t[reason] : NULL;
}

const char *rw_errinfo_name(uint32_t code)
{
	const struct rw_mstsc_code *c = rw_mstsc_ext_lookup(code);
	if (!c || c->code != code)
		return NULL;
	return c->name ? c->name : c->alt_name;
}

const char *rw_save_info_type_name(uint32_t t)
{
	static const char *const n[] = {"INFOTYPE_LOGON", "INFOTYPE_LOGON_LONG",
	                                "INFOTYPE_LOGON_PLAINNOTIFY",
	                                "INFOTYPE_LOGON_EXTENDED_INFO"};
	return t < 4 ? n[t] : NULL;
}

const char *rw_logon_error_type_name(uint32_t t)
{
	switch (t) {
	case 0xFFFFFFF8:
		return "LOGON_MSG_SESSION_BUSY_OPTIONS";
	case 0xFFFFFFF9:
		return "LOGON_MSG_DISCONNECT_REFUSED";
	case 0xFFFFFFFA:
		return "LOGON_MSG_NO_PERMISSION";
	case 0xFFFFFFFB:
		return "LOGON_MSG_BUMP_OPTIONS";
	case 0xFFFFFFFC:
		return "LOGON_MSG_RECONNECT_OPTIONS";
	case 0xFFFFFFFD:
		return "LOGON_MSG_SESSION_TERMINATE";
	case 0xFFFFFFFE:
		return "LOGON_MSG_SESSION_CONTINUE";
	}
	return NULL;
}

const char *rw_logon_error_data_name(uint32_t d)
{
	static const char *const n[] = {"LOGON_FAILED_BAD_PASSWORD", "LOGON_FAILED_UPDATE_PASSWORD",
	                                "LOGON_FAILED_OTHER", "LOGON_WARNING"};
	return d < 4 ? n[d] : NULL;
}

enum rw_cause rw_errinfo_cause(uint32_t code)
{
	switch (code) {
	case 0x0: /* ERRINFO_NONE */
		return RW_CAUSE_UNKNOWN;
	case 0x1: /* RPC_INITIATED_DISCONNECT */
	case 0x2: /* RPC_INITIATED_LOGOFF */
	case 0x5: /* DISCONNECTED_BY_OTHERCONNECTION */
	case 0xB: /* RPC_INITIATED_DISCONNECT_BYUSER */
	case 0xC: /* LOGOFF_BY_USER */
		return RW_CAUSE_SESSION_ENDED_BY_HOST;
	case 0x3: /* IDLE_TIMEOUT */
	case 0x4: /* LOGON_TIMEOUT */
		return RW_CAUSE_SESSION_TIME_LIMIT;
	case 0x7: /* SERVER_DENIED_CONNECTION */
	case 0x8: /* exDiscReasonServerDeniedConnectionFips */
	case 0x9: /* SERVER_INSUFFICIENT_PRIVILEGES */
	case 0xA: /* SERVER_FRESH_CREDENTIALS_REQUIRED */
		return RW_CAUSE_SERVER_DENIED_CONNECTION;
	case 0x300: /* exDiscReasonRdpEncInvalidCredentials */
		return RW_CAUSE_NLA_LOGON_FAILURE;
	}
	if (code == 0x6 || (code >= 0xF && code <= 0x1A)) /* OUT_OF_MEMORY, driver/DWM/... */
		return RW_CAUSE_HOST_SESSION_FAILURE;
	if (code >= 0x100 && code <= 0x1FF) /* ERRINFO_LICENSE_* */
		return RW_CAUSE_RDP_LICENSING_FAILED;
	if (code >= 0x400 && code <= 0x4FF) /* ERRINFO_CB_* */
		return RW_CAUSE_CONNECTION_BROKER_FAILED;
	if (code >= 0x1000 && code <= 0x7FFF) /* protocol errors, Standard RDP Security */
		return RW_CAUSE_RDP_PROTOCOL_ERROR;
	return RW_CAUSE_RDP_CLOSED_BY_SERVER; /* undocumented: the code is in the evidence */
}
