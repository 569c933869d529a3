/* ClientHello and ServerHello decoders (RFC 5246 7.4.1, RFC 8446 4.1) and the
 * TLS name tables. Input is one complete handshake message body (after the
 * 4-byte handshake header); the tls_stream layer reassembles it. Decoders
 * never allocate: lists are copied into bounded arrays and the true count is
 * kept, so an overflow is visible (n_x > RW_TLS_MAX_x). */
#ifndef RW_TLS_HELLO_H
#define RW_TLS_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RW_TLS_MAX_CIPHERS       256
#define RW_TLS_MAX_EXTS          64
#define RW_TLS_MAX_GROUPS        64
#define RW_TLS_MAX_SIGALGS       64
#define RW_TLS_MAX_VERSIONS      16
#define RW_TLS_MAX_POINT_FORMATS 16
#define RW_TLS_MAX_ALPN          8
#define RW_TLS_MAX_NAME          256 /* SNI host name and one ALPN protocol */

/* Handshake message types we care about (RFC 8446 4). */
enum {
	RW_HS_CLIENT_HELLO = 1,
	RW_HS_SERVER_HELLO = 2,
	RW_HS_NEW_SESSION_TICKET = 4,
	RW_HS_ENCRYPTED_EXTENSIONS = 8,
	RW_HS_CERTIFICATE = 11,
	RW_HS_SERVER_KEY_EXCHANGE = 12,
	RW_HS_CERTIFICATE_REQUEST = 13,
	RW_HS_SERVER_HELLO_DONE = 14,
	RW_HS_CERTIFICATE_VERIFY = 15,
	RW_HS_CLIENT_KEY_EXCHANGE = 16,
	RW_HS_FINISHED = 20,
};

struct rw_tls_client_hello {
	uint16_t legacy_version;
	uint8_t random[32];
	uint8_t session_id_len;
	size_t n_ciphers; /* true count; first RW_TLS_MAX_CIPHERS kept, in wire order */
	uint16_t ciphers[RW_TLS_MAX_CIPHERS];
	size_t n_compression;
	size_t n_exts; /* extension types in wire order */
	uint16_t exts[RW_TLS_MAX_EXTS];
	size_t n_versions; /* supported_versions (43), wire order */
	uint16_t versions[RW_TLS_MAX_VERSIONS];
	size_t n_groups; /* supported_groups (10) */
	uint16_t groups[RW_TLS_MAX_GROUPS];
	size_t n_point_formats; /* ec_point_formats (11) */
	uint8_t point_formats[RW_TLS_MAX_POINT_FORMATS];
	size_t n_sigalgs; /* signature_algorithms (13) */
	uint16_t sigalgs[RW_TLS_MAX_SIGALGS];
	size_t n_alpn; /* application_layer_protocol_negotiation (16) */
	char alpn[RW_TLS_MAX_ALPN][RW_TLS_MAX_NAME]; /* raw bytes, NUL-terminated;
	                                                 escape before printing */
	uint8_t alpn_len[RW_TLS_MAX_ALPN];
	bool has_sni;
	char sni[RW_TLS_MAX_NAME]; /* server_name host_name, NUL-terminated (raw) */
	size_t sni_len;  /* bytes kept in sni: a longer name is cut to RW_TLS_MAX_NAME - 1 */
	bool has_grease; /* at least one GREASE value seen anywhere */
};

struct rw_tls_server_hello {
	uint16_t legacy_version;
	uint16_t version; /* negotiated: supported_versions (43) if present, else legacy */
	uint8_t random[32];
	uint16_t cipher;
	uint8_t compression;
	size_t n_exts;
	uint16_t exts[RW_TLS_MAX_EXTS];
	bool is_hello_retry_request; /* random == SHA-256("HelloRetryRequest") */
	/* Last 8 bytes of random are the RFC 8446 4.1.3 downgrade sentinel:
	 * 0 = none, 12 = "DOWNGRD\1" (TLS 1.2), 11 = "DOWNGRD\0" (<= 1.1). */
	int downgrade_sentinel;
	size_t n_alpn;
	char alpn[RW_TLS_MAX_NAME];
};

/* Parse a ClientHello body. Returns bytes consumed (== n) or an rw_status < 0
 * (on error *out holds what was decoded before the fault). */
int rw_tls_client_hello_parse(const uint8_t *p, size_t n, struct rw_tls_client_hello *out);
/* Parse a ServerHello body (also recognises HelloRetryRequest). */
int rw_tls_server_hello_parse(const uint8_t *p, size_t n, struct rw_tls_server_hello *out);

/* RFC 8701 GREASE: 0x0A0A, 0x1A1A, ... 0xFAFA. */
static inline bool rw_tls_is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* True if the ClientHello offered this cipher suite / protocol version
 * (versions: supported_versions if present, else legacy_version and below). */
bool rw_tls_client_offered_cipher(const struct rw_tls_client_hello *ch, uint16_t cipher);
bool rw_tls_client_offered_version(const struct rw_tls_client_hello *ch, uint16_t version);
/* Highest non-GREASE version the client offers. */
uint16_t rw_tls_client_max_version(const struct rw_tls_client_hello *ch);

/* Names. Unknown values give NULL (callers print the number). */
const char *rw_tls_cipher_name(uint16_t cipher);    /* IANA name, e.g. TLS_AES_128_GCM_SHA256 */
const char *rw_tls_version_name(uint16_t version);  /* "1.2", "1.3", "1.0", "1.1", "ssl3", "ssl2" */
const char *rw_tls_alert_name(uint8_t description); /* "handshake_failure", ... (RFC 8446 6) */

/* Fingerprints (fingerprint.c). Output buffers are NUL-terminated strings.
 * JA3: the string  "ver,ciphers,exts,groups,pointfmts" and its MD5 hex.
 * JA3S: "ver,cipher,exts" and its MD5 hex. JA4: "t13d1516h2_8daaf6152771_e5627efa2ab1".
 * GREASE values are excluded everywhere, as the published definitions say. */
#define RW_JA3_STR_MAX 4096
void rw_ja3(const struct rw_tls_client_hello *ch, char *str, size_t str_size, char md5hex[33]);
void rw_ja3s(const struct rw_tls_server_hello *sh, char *str, size_t str_size, char md5hex[33]);
/* transport: 't' (TCP) or 'q' (QUIC). */
void rw_ja4(const struct rw_tls_client_hello *ch, char transport, char out[40]);

#endif
