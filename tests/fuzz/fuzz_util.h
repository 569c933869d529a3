/* Shared helpers of the fuzz targets: an input reader, exact-size copies (so
 * that AddressSanitizer sees any read past a buffer the code under test was
 * given), and the checks of the documented output contracts (records, JSON
 * lines, text reports). A broken contract aborts with a message, which
 * libFuzzer reports as a crash like any sanitizer error. */
#ifndef RW_FUZZ_UTIL_H
#define RW_FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"

struct rw_record;
struct rw_cert;

/* The libFuzzer entry point every target defines. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

_Noreturn void fuzz_fail(const char *file, int line, const char *what);
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fuzz_fail(__FILE__, __LINE__, #cond);                                      \
	} while (0)

/* Consumes the input front to back; past the end every read gives 0. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};
uint8_t fuzz_u8(struct fuzz_in *in);
uint16_t fuzz_u16(struct fuzz_in *in); /* little-endian */
uint32_t fuzz_u32(struct fuzz_in *in);
uint64_t fuzz_u64(struct fuzz_in *in);
/* Up to n bytes (fewer at the end of the input); *got receives the count. */
const uint8_t *fuzz_bytes(struct fuzz_in *in, size_t n, size_t *got);

/* A heap copy of exactly n bytes (a 1-byte allocation when n == 0, so the
 * result is never NULL); free() it. */
void *fuzz_dup(const void *p, size_t n);
/* Reads every byte of p[0..n) so that a bad pointer or length faults here. */
void fuzz_touch(const void *p, size_t n);
/* True if s holds a NUL within its cap bytes (and reads up to it). */
bool fuzz_cstr_in(const char *s, size_t cap);

/* UTF-8 decoding and the JSON line check are in tests/common/check.h. */

/* Link types for the packet targets: every one the decoder knows, and one not. */
extern const int fuzz_dlts[];
extern const size_t FUZZ_N_DLTS;

/* The text report contract: valid UTF-8, newline-terminated lines, no control
 * characters but '\n', no Unicode line separators or bidi controls. */
bool fuzz_text_ok(const char *s, size_t n, const char **why);

/* Certificate strings are NUL-terminated within their arrays. */
void fuzz_check_cert(const struct rw_cert *c);
/* Record and verdict invariants, then rw_record_json and rw_record_text
 * (with and without a size limit) and their contracts. sel varies the host
 * name and the limit. Returns a hash of the JSON line (for differential
 * checks between two ways of producing the same record). */
uint64_t fuzz_check_record(const struct rw_record *rec, uint32_t sel);

uint64_t fuzz_hash(uint64_t h, const void *p, size_t n); /* FNV-1a, h = 0 to start */

/* FUZZ_DUMP=1 in the environment prints every formatted record to stderr.
 * Checks of known open issues (see README.md) are skipped so that fuzzing
 * goes on past them; FUZZ_STRICT=1 in the environment turns them back on,
 * to reproduce a saved input or to confirm a fix. */
bool fuzz_strict(void);

#endif
