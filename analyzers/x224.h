/* TPKT (RFC 1006) and X.224 (ITU-T X.224 class 0, as profiled by MS-RDPBCGR
 * 2.2.1.1 / 2.2.1.2) decoders with the RDP negotiation structures. */
#ifndef RW_X224_H
#define RW_X224_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RW_TPKT_HEADER_LEN 4

/* TPDU codes (upper nibble of the X.224 code byte). */
enum {
	RW_X224_CR = 0xE0, /* Connection Request */
	RW_X224_CC = 0xD0, /* Connection Confirm */
	RW_X224_DR = 0x80, /* Disconnect Request */
	RW_X224_DT = 0xF0, /* Data */
	RW_X224_ER = 0x70, /* TPDU Error */
};

/* RDP_NEG_REQ requestedProtocols / RDP_NEG_RSP selectedProtocol bits. */
enum {
	RW_PROTO_RDP = 0x0,
	RW_PROTO_SSL = 0x1,
	RW_PROTO_HYBRID = 0x2,
	RW_PROTO_RDSTLS = 0x4,
	RW_PROTO_HYBRID_EX = 0x8,
	RW_PROTO_RDSAAD = 0x10,
};

/* RDP_NEG_REQ flags (MS-RDPBCGR 2.2.1.1.1). */
enum {
	RW_NEGREQ_RESTRICTED_ADMIN_MODE_REQUIRED = 0x01,
	RW_NEGREQ_REDIRECTED_AUTHENTICATION_MODE_REQUIRED = 0x02,
	RW_NEGREQ_CORRELATION_INFO_PRESENT = 0x08,
};
/* RDP_NEG_RSP flags (MS-RDPBCGR 2.2.1.2.1). */
enum {
	RW_NEGRSP_EXTENDED_CLIENT_DATA_SUPPORTED = 0x01,
	RW_NEGRSP_DYNVC_GFX_PROTOCOL_SUPPORTED = 0x02,
	RW_NEGRSP_RESERVED = 0x04,
	RW_NEGRSP_RESTRICTED_ADMIN_MODE_SUPPORTED = 0x08,
	RW_NEGRSP_REDIRECTED_AUTHENTICATION_MODE_SUPPORTED = 0x10,
};

enum rw_x224_token_kind { RW_TOKEN_NONE = 0, RW_TOKEN_COOKIE, RW_TOKEN_ROUTING };

struct rw_x224 {
	uint8_t code; /* RW_X224_CR, CC, DR, DT, ER */
	uint8_t li;   /* length indicator */
	uint16_t dst_ref, src_ref;
	uint8_t class_opt;
	uint8_t dr_reason; /* DR only */
	/* CR user data: the cookie value (after "Cookie: mstshash=") or the whole
	 * routing token line, without CR LF. Points into the caller's buffer. */
	enum rw_x224_token_kind token_kind;
	const uint8_t *token;
	size_t token_len;
	bool neg_present; /* RDP_NEG_REQ / RSP / FAILURE present */
	uint8_t neg_type; /* 1 REQ, 2 RSP, 3 FAILURE */
	uint8_t neg_flags;
	uint32_t neg_value;       /* requestedProtocols, selectedProtocol or failureCode */
	bool correlation_present; /* RDP_NEG_CORRELATION_INFO after RDP_NEG_REQ */
	uint8_t correlation_id[16];
	size_t user_data_len; /* DT: payload length (MCS etc.) */
};

/* TPKT header: returns the total packet length (header included, >= 4) or an
 * rw_status < 0. RW_E_NEED_MORE when n < 4. */
int rw_tpkt_length(const uint8_t *p, size_t n);

/* Decode the X.224 TPDU that forms a TPKT payload (p, n = TPKT length - 4).
 * Returns n or an rw_status < 0. */
int rw_x224_parse(const uint8_t *p, size_t n, struct rw_x224 *out);

/* Names for the JSON output. */
const char *rw_proto_name(uint32_t single_bit); /* "rdp","ssl","hybrid",... */
const char *rw_neg_failure_name(uint32_t code); /* "ssl_required_by_server",... */
const char *rw_x224_code_name(uint8_t code);    /* "connection_request",... */
/* Writes names of the set bits of requestedProtocols; 0 means "rdp".
 * Returns how many names were stored (max 8). Unknown bits give "0x...". */
size_t rw_proto_names(uint32_t protocols, const char *names[8]);

#endif
