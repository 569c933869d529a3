/* X.509 certificate facts from a TLS (<= 1.2) Certificate message, decoded
 * with OpenSSL. No I/O: the DER comes from the handshake bytes. */
#ifndef RW_TLS_CERT_H
#define RW_TLS_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define RW_CERT_MAX_SAN 16
#define RW_CERT_STR     256

struct rw_cert {
	char subject[RW_CERT_STR]; /* RFC 2253 one-line form */
	char subject_cn[RW_CERT_STR];
	char issuer[RW_CERT_STR];
	char issuer_cn[RW_CERT_STR];
	char serial_hex[128];
	int64_t not_before; /* seconds since the epoch, UTC */
	int64_t not_after;
	char sha1_hex[41];
	char sha256_hex[65];
	char key_type[16]; /* "rsa", "ec", "ed25519", ... */
	int key_bits;
	size_t n_san;                           /* true count */
	char san[RW_CERT_MAX_SAN][RW_CERT_STR]; /* "DNS:x", "IP:1.2.3.4" */
	bool self_signed;                       /* subject == issuer */
};

/* Parse one DER certificate. Returns n or RW_E_CERT. Results are cached
 * by the DER (a bounded table shared by all threads, compared byte for
 * byte): the same bytes always give the same result, parsed once. */
int rw_cert_parse_der(const uint8_t *der, size_t n, struct rw_cert *out);

/* The cache: off (every call parses; for measuring it) or on (the default);
 * emptied; hits and misses since the start or the last clear. */
void rw_cert_cache_enable(bool on);
void rw_cert_cache_clear(void);
void rw_cert_cache_stats(uint64_t *hits, uint64_t *misses);

/* Parse a Certificate handshake body (TLS <= 1.2: 24-bit list length, then
 * 24-bit length + DER per entry); fills the leaf and counts the chain.
 * Returns n or an rw_status < 0. */
int rw_cert_parse_message(const uint8_t *p, size_t n, struct rw_cert *leaf, size_t *chain_len);

#endif
