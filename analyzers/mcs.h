/* The first MCS exchange of standard RDP security (MS-RDPBCGR 2.2.1.3 MCS
 * Connect Initial PDU with GCC Conference Create Request, 2.2.1.4 MCS Connect
 * Response PDU with GCC Conference Create Response): enough to ask a host
 * which encryption methods it accepts, one method per request, and to read
 * its answer. T.125 BER around T.124 PER around the client/server data
 * blocks. Pure: no I/O, no allocation. */
#ifndef RW_MCS_H
#define RW_MCS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* encryptionMethods (MS-RDPBCGR 2.2.1.3.3 / 2.2.1.4.3). */
enum {
	RW_ENC_NONE = 0x00,
	RW_ENC_40BIT = 0x01,
	RW_ENC_128BIT = 0x02,
	RW_ENC_56BIT = 0x08,
	RW_ENC_FIPS = 0x10,
};
/* encryptionLevel (MS-RDPBCGR 2.2.1.4.3). */
enum {
	RW_ENC_LEVEL_NONE = 0,
	RW_ENC_LEVEL_LOW = 1,
	RW_ENC_LEVEL_CLIENT_COMPATIBLE = 2,
	RW_ENC_LEVEL_HIGH = 3,
	RW_ENC_LEVEL_FIPS = 4,
};

/* Writes a whole TPKT packet (TPKT + X.224 Data + MCS Connect Initial) whose
 * client data holds CS_CORE (serverSelectedProtocol = selected_protocol, the
 * value of the host's RDP_NEG_RSP, 0 without one), CS_SECURITY
 * (encryptionMethods = methods, extEncryptionMethods 0) and CS_NET (no
 * channels), as a plain client would send them. Returns its length, or 0
 * when cap is too small. */
size_t rw_mcs_connect_initial(uint8_t *out, size_t cap, uint32_t methods,
                              uint32_t selected_protocol);

struct rw_mcs_connect_response {
	uint8_t result; /* T.125 Result: 0 rt-successful */
	bool has_sc_core;
	uint32_t version;          /* SC_CORE version (0x00080004 = RDP 5.0 ...) */
	bool has_client_requested; /* SC_CORE clientRequestedProtocols present */
	uint32_t client_requested_protocols;
	bool has_sc_security;
	uint32_t encryption_method; /* one RW_ENC_* (0 with level none) */
	uint32_t encryption_level;  /* RW_ENC_LEVEL_* */
	uint32_t server_random_len;
	uint32_t server_cert_len;
	bool has_sc_net;
	uint16_t io_channel;
};

/* Decodes a whole TPKT packet holding X.224 Data + MCS Connect Response.
 * Returns the TPKT length consumed, RW_E_NEED_MORE when p[0..n) is a valid
 * prefix of a longer packet, or another rw_status < 0. */
int rw_mcs_connect_response_parse(const uint8_t *p, size_t n, struct rw_mcs_connect_response *out);

const char *
rw_encryption_method_name(uint32_t m); /* "40bit","56bit","128bit","fips","none"; NULL */
const char *
rw_encryption_level_name(uint32_t l); /* "none","low","client_compatible","high","fips"; NULL */

#endif
