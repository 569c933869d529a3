/* TLS record layer for one direction of a TCP stream (RFC 5246 6.2, RFC 8446
 * 5.1): frames records across any segmentation, reassembles handshake
 * messages across records, and reports what it sees through callbacks.
 * Only the 5-byte record header and cleartext handshake/alert/CCS payloads
 * are buffered; application data is skipped without copying. */
#ifndef RW_TLS_RECORD_H
#define RW_TLS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	RW_TLS_CCS = 20,
	RW_TLS_ALERT = 21,
	RW_TLS_HANDSHAKE = 22,
	RW_TLS_APPDATA = 23,
	RW_TLS_HEARTBEAT = 24,
};

/* Largest record body allowed: 2^14 plaintext + 2048 expansion (RFC 5246). */
#define RW_TLS_MAX_RECORD (16384 + 2048)

struct rw_tls_callbacks {
	/* Every record header (before its body), with the running count. */
	void (*record)(void *arg, uint8_t type, uint16_t version, size_t len, bool encrypted);
	/* A complete cleartext handshake message (body without its 4-byte header).
	 * oversized: the body exceeded the buffer and was skipped (p = NULL). */
	void (*handshake)(void *arg, uint8_t type, const uint8_t *p, size_t n, bool oversized);
	void (*alert)(void *arg, uint8_t level, uint8_t description, bool encrypted);
	void (*ccs)(void *arg);
	/* An SSLv2-compatible ClientHello (RFC 5246 E.2). version from its header. */
	void (*sslv2_hello)(void *arg, uint16_t version, size_t len);
	/* The stream is not (or no longer) TLS: status is an rw_status. Parsing
	 * stops for good; later bytes are ignored. */
	void (*error)(void *arg, int status, const char *what);
};

struct rw_tls_stream {
	const struct rw_tls_callbacks *cb;
	void *arg;
	bool failed;
	bool encrypted;    /* a CCS was seen: later handshake/alert bodies are opaque */
	bool ccs_encrypts; /* a CCS sets `encrypted` itself (default); false: the
	                    * ccs callback decides (TLS 1.3 compatibility CCS) */
	/* Bytes consumed in all. A failure stops the stream at the byte that
	 * showed it (a header byte) or at the end of the message whose callback
	 * stopped it, the same byte however the stream was cut: what follows
	 * is the caller's. */
	uint64_t consumed;
	bool first;     /* nothing consumed yet (SSLv2 hello check) */
	size_t v2_skip; /* rest of an SSLv2 ClientHello still to skip */
	uint8_t hdr[5];
	size_t hdr_have;
	uint8_t type;
	size_t rec_left;  /* body bytes still to come in the current record */
	uint8_t small[2]; /* alert / CCS body */
	size_t small_have;
	/* Handshake message reassembly (may span records). */
	uint8_t hs_hdr[4];
	size_t hs_hdr_have;
	size_t hs_need; /* body length of the current message */
	size_t hs_have;
	bool hs_oversized;
	uint8_t *hs_buf; /* owned, hs_cap bytes, allocated on first use */
	size_t hs_cap;
	size_t max_msg;
	uint64_t records;
};

void rw_tls_stream_init(struct rw_tls_stream *t, const struct rw_tls_callbacks *cb, void *arg,
                        size_t max_msg);
void rw_tls_stream_free(struct rw_tls_stream *t);
/* Feed bytes; returns 0, or the rw_status that stopped parsing. */
int rw_tls_stream_feed(struct rw_tls_stream *t, const uint8_t *p, size_t n);
/* Stop decoding for good (no callbacks; later bytes ignored). */
void rw_tls_stream_stop(struct rw_tls_stream *t);
/* Treat following handshake/alert records as encrypted (TLS 1.3 after ServerHello). */
void rw_tls_stream_set_encrypted(struct rw_tls_stream *t);

/* True if p looks like the start of a TLS record (content type 20..24, major 3). */
bool rw_tls_looks_like_record(const uint8_t *p, size_t n);
/* True if p looks like an SSLv2-compatible ClientHello. */
bool rw_tls_looks_like_sslv2_hello(const uint8_t *p, size_t n);

#endif
