/* Test helpers: feed a stream to a session under many segmentations. */
#ifndef RW_TESTUTIL_H
#define RW_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session.h"

/* A scripted connection: a list of steps replayed into a fresh session. */
/* STEP_SLEEP: arg milliseconds pass before the next step. */
enum rw_step_kind {
	STEP_DATA,
	STEP_FIN,
	STEP_RST,
	STEP_TIMEOUT,
	STEP_CONNECT_FAILED,
	STEP_SLEEP,
	STEP_TTL,        /* IP TTL of the direction's packets (capture): arg */
	STEP_TCP_STATS,  /* the direction's TCP statistics (capture): p points to a
	                  * struct rw_tcp_stats, n is its size */
	STEP_HOST_CLOCK, /* the host's clock read from CredSSP: arg seconds from ours */
	STEP_PROXY_STOP, /* the inline proxy's timer fired or a leg failed: p points to a
	                  * struct rw_test_proxy_stop, n is its size; dir is the side */
	STEP_PLAIN, /* plaintext inside TLS an inspecting proxy relayed (turns inspection on) */
	STEP_END
};
/* What the proxy's socket to the side showed (relay.c writes the same record
 * fields, then reports a timeout). */
struct rw_test_proxy_stop {
	enum rw_proxy_stop how;
	struct rw_peer_tcp tcp;
	uint64_t prompt_wait_ms;
};
struct rw_step {
	enum rw_step_kind kind;
	enum rw_dir dir;
	const uint8_t *p;
	size_t n;
	int arg; /* RST, TTL: ttl; CONNECT_FAILED: close kind */
};

/* Shorthands for steps (C, S: the directions). */
#define C RW_C2S
#define S RW_S2C
#define DATA(d, b)                                                                                 \
	{                                                                                          \
		STEP_DATA, d, (b).p, (b).n, 0                                                      \
	}
#define FIN(d)                                                                                     \
	{                                                                                          \
		STEP_FIN, d, NULL, 0, 0                                                            \
	}
#define RST(d)                                                                                     \
	{                                                                                          \
		STEP_RST, d, NULL, 0, -1                                                           \
	}
#define RST_TTL(d, ttl)                                                                            \
	{                                                                                          \
		STEP_RST, d, NULL, 0, ttl                                                          \
	}
#define TTL(d, ttl)                                                                                \
	{                                                                                          \
		STEP_TTL, d, NULL, 0, ttl                                                          \
	}
#define STATS(d, st)                                                                               \
	{                                                                                          \
		STEP_TCP_STATS, d, (const uint8_t *)(st), sizeof(*(st)), 0                         \
	}
#define SLEEP(ms)                                                                                  \
	{                                                                                          \
		STEP_SLEEP, C, NULL, 0, ms                                                         \
	}
#define TIMEOUT                                                                                    \
	{                                                                                          \
		STEP_TIMEOUT, C, NULL, 0, 0                                                        \
	}
#define CONNECT_FAILED(kind)                                                                       \
	{                                                                                          \
		STEP_CONNECT_FAILED, C, NULL, 0, kind                                              \
	}
#define HOST_CLOCK(offset_s)                                                                       \
	{                                                                                          \
		STEP_HOST_CLOCK, S, NULL, 0, offset_s                                              \
	}
#define PROXY_STOP(d, ps)                                                                          \
	{                                                                                          \
		STEP_PROXY_STOP, d, (const uint8_t *)(ps), sizeof(*(ps)), 0                        \
	}
#define PLAIN(d, b)                                                                                \
	{                                                                                          \
		STEP_PLAIN, d, (b).p, (b).n, 0                                                     \
	}
#define END                                                                                        \
	{                                                                                          \
		STEP_END, C, NULL, 0, 0                                                            \
	}

/* Segmentation modes for the data steps: whole, byte by byte, at random;
 * SIX: the six bytes that classify a direction (session.c), then the rest;
 * HEADER: a TPKT or TLS record header alone (4 or 5 bytes), then the rest.
 * Each piece is an exact-size heap copy: a read past it shows under ASan. */
enum rw_split { SPLIT_WHOLE, SPLIT_BYTES, SPLIT_RANDOM, SPLIT_SIX, SPLIT_HEADER };

/* Runs steps into a new session with the given split (seed for RANDOM) and
 * returns it closed; the caller frees it. Timestamps advance 1 ms per step. */
struct rw_session *rw_test_run(const struct rw_step *steps, enum rw_split split, unsigned seed);
/* The same; midstream = the capture missed the TCP handshake (no SYN events). */
struct rw_session *rw_test_run_ex(const struct rw_step *steps, enum rw_split split, unsigned seed,
                                  bool midstream);

/* Read a whole file (test data). Aborts the test on failure. */
uint8_t *rw_test_read_file(const char *path, size_t *n);

/* Hex string ("16 03 01 ..." spaces allowed) to bytes; returns length. */
size_t rw_test_hex(const char *hex, uint8_t *out, size_t cap);

/* Big-endian (network order) stores. */
void rw_test_put16(uint8_t *p, uint16_t v);
void rw_test_put32(uint8_t *p, uint32_t v);

/* ---- wire builders (MS-RDPBCGR 2.2.1, RFC 1006, RFC 5246/8446) ------------ */

struct rw_test_bytes {
	uint8_t p[8192];
	size_t n;
};

void rw_test_put(struct rw_test_bytes *b, const void *p, size_t n);
void rw_test_put8(struct rw_test_bytes *b, unsigned v);
void rw_test_put16be(struct rw_test_bytes *b, unsigned v);
void rw_test_put24be(struct rw_test_bytes *b, unsigned v);
/* TPKT + X.224 Connection Request: "Cookie: mstshash=COOKIE\r\n" unless NULL,
 * then RDP_NEG_REQ with requestedProtocols unless requested < 0. */
void rw_test_cr(struct rw_test_bytes *b, const char *cookie, int requested);
/* TPKT + X.224 Connection Confirm with RDP_NEG_RSP (type 2: value = the
 * selected protocol) or RDP_NEG_FAILURE (type 3: value = failureCode). */
void rw_test_cc(struct rw_test_bytes *b, int type, uint32_t value);
/* A TLS record (version 3.3) of the given content type. */
void rw_test_record(struct rw_test_bytes *b, uint8_t type, const struct rw_test_bytes *body);
/* One handshake message in its own record. */
void rw_test_handshake(struct rw_test_bytes *b, uint8_t type, const struct rw_test_bytes *body);
/* ClientHello offering TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384,
 * ECDHE-RSA-AES128-GCM-SHA256 and ECDHE-RSA-AES256-GCM-SHA384 with SNI
 * "rdp.local"; versions: supported_versions (NULL: none, legacy 1.2). */
void rw_test_put_client_hello(struct rw_test_bytes *b, const uint16_t *versions, size_t nv);
/* ServerHello choosing cipher; sv: supported_versions (0: none); downgrade:
 * the TLS 1.3 DOWNGRD\1 sentinel at the end of the random. */
void rw_test_put_server_hello(struct rw_test_bytes *b, uint16_t cipher, uint16_t sv,
                              bool downgrade);
/* Certificate message with one self-signed P-256 certificate (CN=rdphost),
 * valid from_days .. to_days around the test sessions' clock (1700000000). */
void rw_test_certificate(struct rw_test_bytes *b, long from_days, long to_days);
void rw_test_put_server_hello_done(struct rw_test_bytes *b);
/* ECDHE ClientKeyExchange (a 65-byte point). */
void rw_test_client_key_exchange(struct rw_test_bytes *b);
void rw_test_alert(struct rw_test_bytes *b, uint8_t level, uint8_t desc);
void rw_test_ccs(struct rw_test_bytes *b);
/* A record of len opaque (encrypted-looking) bytes. */
void rw_test_opaque(struct rw_test_bytes *b, uint8_t type, size_t len);

#endif
