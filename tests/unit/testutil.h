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
	STEP_END
};
struct rw_step {
	enum rw_step_kind kind;
	enum rw_dir dir;
	const uint8_t *p;
	size_t n;
	int arg; /* RST: ttl; CONNECT_FAILED: close kind */
};

/* Segmentation modes for the data steps. */
enum rw_split { SPLIT_WHOLE, SPLIT_BYTES, SPLIT_RANDOM };

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

#endif
