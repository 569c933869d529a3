/* TPKT and X.224 class-0 TPDUs as RDP uses them (RFC 1006, MS-RDPBCGR
 * 2.2.1.1 Client X.224 Connection Request, 2.2.1.2 Server X.224 Connection
 * Confirm). Results point into the caller's buffer. */
#include "x224.h"

#include <string.h>

#include "rw_types.h"

#define NEG_REQ         0x01
#define NEG_RSP         0x02
#define NEG_FAILURE     0x03
#define NEG_CORRELATION 0x06
#define NEG_LEN         8
#define CORRELATION_LEN 36

int rw_tpkt_length(const uint8_t *p, size_t n)
{
	if (n < RW_TPKT_HEADER_LEN)
		return RW_E_NEED_MORE;
	if (p[0] != 3)
		return RW_E_VERSION;
	/* The reserved byte is 0 in every implementation; a non-zero one means
	 * the stream is not TPKT, so do not trust its length either. */
	if (p[1] != 0)
		return RW_E_VALUE;
	uint16_t len = rw_be16(p + 2);
	/* 4-byte header + at least LI and the TPDU code. */
	if (len < RW_TPKT_HEADER_LEN + 2)
		return RW_E_LENGTH;
	return len;
}

static const uint8_t cookie_prefix[] = "Cookie: mstshash=";

/* CR user data: [routingToken | cookie] CRLF, then [RDP_NEG_REQ [CORRELATION]]. */
static int parse_cr_user_data(const uint8_t *p, size_t n, struct rw_x224 *out)
{
	size_t off = 0;
	/* A negotiation block is exactly 8 (+36) bytes starting with type 1; anything
	 * else before it is a token line ended by CR LF. */
	bool neg_first = n >= NEG_LEN && p[0] == NEG_REQ && rw_le16(p + 2) == NEG_LEN &&
	                 (n == NEG_LEN || n == NEG_LEN + CORRELATION_LEN);
	if (n > 0 && !neg_first) {
		const uint8_t *crlf = NULL;
		for (size_t i = 0; i + 1 < n; i++) {
			if (p[i] == '\r' && p[i + 1] == '\n') {
				crlf = p + i;
				break;
			}
		}
		if (!crlf)
			return RW_E_VALUE;
		size_t line = (size_t)(crlf - p);
		size_t plen = sizeof(cookie_prefix) - 1;
		if (line >= plen && memcmp(p, cookie_prefix, plen) == 0) {
			out->token_kind = RW_TOKEN_COOKIE;
			out->token = p + plen;
			out->token_len = line - plen;
		} else {
			out->token_kind = RW_TOKEN_ROUTING;
			out->token = p;
			out->token_len = line;
		}
		off = line + 2;
	}
	if (off == n)
		return (int)n;
	if (n - off < NEG_LEN)
		return RW_E_LENGTH;
	if (p[off] != NEG_REQ)
		return RW_E_TYPE;
	if (rw_le16(p + off + 2) != NEG_LEN)
		return RW_E_LENGTH;
	out->neg_present = true;
	out->neg_type = NEG_REQ;
	out->neg_flags = p[off + 1];
	out->neg_value = rw_le32(p + off + 4);
	off += NEG_LEN;
	if (off == n)
		return (int)n;
	if (n - off != CORRELATION_LEN || p[off] != NEG_CORRELATION ||
	    rw_le16(p + off + 2) != CORRELATION_LEN)
		return RW_E_TRAILING;
	out->correlation_present = true;
	memcpy(out->correlation_id, p + off + 4, sizeof(out->correlation_id));
	return (int)n;
}

static int parse_cc_user_data(const uint8_t *p, size_t n, struct rw_x224 *out)
{
	if (n == 0)
		return 0;
	if (n < NEG_LEN)
		return RW_E_LENGTH;
	if (p[0] != NEG_RSP && p[0] != NEG_FAILURE)
		return RW_E_TYPE;
	if (rw_le16(p + 2) != NEG_LEN)
		return RW_E_LENGTH;
	if (n != NEG_LEN)
		return RW_E_TRAILING;
	out->neg_present = true;
	out->neg_type = p[0];
	out->neg_flags = p[1];
	out->neg_value = rw_le32(p + 4);
	return (int)n;
}

int rw_x224_parse(const uint8_t *p, size_t n, struct rw_x224 *out)
{
	memset(out, 0, sizeof(*out));
	if (n < 2)
		return RW_E_LENGTH;
	out->li = p[0];
	if ((size_t)out->li + 1 > n || out->li < 1)
		return RW_E_LENGTH;
	uint8_t code = p[1];
	/* CR and CC carry a credit in the low nibble; DT/DR/ER do not. */
	uint8_t kind =
	        (code & 0xF0) == RW_X224_CR || (code & 0xF0) == RW_X224_CC ? code & 0xF0 : code;
	out->code = kind;
	switch (kind) {
	case RW_X224_CR:
	case RW_X224_CC: {
		if (out->li < 6)
			return RW_E_LENGTH;
		out->dst_ref = rw_be16(p + 2);
		out->src_ref = rw_be16(p + 4);
		out->class_opt = p[6];
		/* RDP counts the cookie and negotiation block inside LI; tolerate
		 * senders that put them after the header as user data, too. */
		const uint8_t *ud = p + 7;
		size_t udn = n - 7;
		int r = kind == RW_X224_CR ? parse_cr_user_data(ud, udn, out)
		                           : parse_cc_user_data(ud, udn, out);
		return r < 0 ? r : (int)n;
	}
	case RW_X224_DR:
		if (out->li < 6)
			return RW_E_LENGTH;
		out->dst_ref = rw_be16(p + 2);
		out->src_ref = rw_be16(p + 4);
		out->dr_reason = p[6];
		return (int)n;
	case RW_X224_DT:
		if (out->li != 2 || n < 3)
			return RW_E_LENGTH;
		out->user_data_len = n - 3;
		return (int)n;
	case RW_X224_ER:
		return (int)n;
	default:
		return RW_E_TYPE;
	}
}

const char *rw_proto_name(uint32_t bit)
{
	switch (bit) {
	case RW_PROTO_RDP:
		return "rdp";
	case RW_PROTO_SSL:
		return "ssl";
	case RW_PROTO_HYBRID:
		return "hybrid";
	case RW_PROTO_RDSTLS:
		return "rdstls";
	case RW_PROTO_HYBRID_EX:
		return "hybrid_ex";
	case RW_PROTO_RDSAAD:
		return "rdsaad";
	}
	return NULL;
}

size_t rw_proto_names(uint32_t protocols, const char *names[8])
{
	static const char *const unknown = "unknown";
	size_t k = 0;
	if (protocols == 0) {
		names[k++] = "rdp";
		return k;
	}
	for (uint32_t bit = 1; bit <= RW_PROTO_RDSAAD && k < 7; bit <<= 1)
		if (protocols & bit)
			names[k++] = rw_proto_name(bit);
	if (protocols & ~(uint32_t)0x1F)
		names[k++] = unknown;
	return k;
}

const char *rw_neg_failure_name(uint32_t code)
{
	static const char *const t[] = {
	        NULL,
	        "ssl_required_by_server",
	        "ssl_not_allowed_by_server",
	        "ssl_cert_not_on_server",
	        "inconsistent_flags",
	        "hybrid_required_by_server",
	        "ssl_with_user_auth_required_by_server",
	};
	return code < sizeof(t) / sizeof(t[0]) ? t[code] : NULL;
}

const char *rw_x224_code_name(uint8_t code)
{
	switch (code) {
	case RW_X224_CR:
		return "connection_request";
	case RW_X224_CC:
		return "connection_confirm";
	case RW_X224_DR:
		return "disconnect_request";
	case RW_X224_DT:
		return "data";
	case RW_X224_ER:
		return "error";
	}
	return NULL;
}
