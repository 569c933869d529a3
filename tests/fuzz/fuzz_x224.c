/* TPKT header and X.224 TPDU decoders (analyzers/x224.c).
 * Input: the bytes of one TPKT packet as they come off the wire. The TPDU is
 * decoded twice: as the payload of the TPKT header when its length fits the
 * input, and as the whole input (so that the fuzzer does not need a valid
 * TPKT header to reach every TPDU branch). Each is an exact-size copy. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "rw_types.h"
#include "x224.h"

static void check_names(uint32_t v)
{
	const char *names[8];
	size_t k = rw_proto_names(v, names);
	FUZZ_CHECK(k >= 1 && k <= 8);
	for (size_t i = 0; i < k; i++) {
		FUZZ_CHECK(names[i] != NULL);
		fuzz_touch(names[i], strlen(names[i]));
	}
	const char *s = rw_proto_name(v);
	if (s)
		fuzz_touch(s, strlen(s));
	s = rw_neg_failure_name(v);
	if (s)
		fuzz_touch(s, strlen(s));
}

static void parse_tpdu(const uint8_t *src, size_t n)
{
	uint8_t *p = fuzz_dup(src, n);
	struct rw_x224 x;
	int r = rw_x224_parse(p, n, &x);
	FUZZ_CHECK(r < 0 || (size_t)r == n);
	if (r >= 0) {
		const char *name = rw_x224_code_name(x.code);
		if (name)
			fuzz_touch(name, strlen(name));
		FUZZ_CHECK(x.li >= 1 && (size_t)x.li + 1 <= n);
		if (x.token_kind != RW_TOKEN_NONE) {
			/* The token points into the caller's buffer. */
			FUZZ_CHECK(x.token >= p && x.token <= p + n);
			FUZZ_CHECK(x.token_len <= (size_t)(p + n - x.token));
			fuzz_touch(x.token, x.token_len);
		}
		if (x.neg_present) {
			FUZZ_CHECK(x.neg_type >= 1 && x.neg_type <= 3);
			check_names(x.neg_value);
		}
		if (x.code == RW_X224_DT)
			FUZZ_CHECK(x.user_data_len <= n);
	} else {
		const char *st = rw_status_name(r);
		if (st)
			fuzz_touch(st, strlen(st));
	}
	free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int len = rw_tpkt_length(data, size);
	if (size < RW_TPKT_HEADER_LEN)
		FUZZ_CHECK(len == RW_E_NEED_MORE);
	else
		FUZZ_CHECK(len != RW_E_NEED_MORE);
	if (len >= 0) {
		FUZZ_CHECK(len >= RW_TPKT_HEADER_LEN && len <= 0xFFFF);
		if ((size_t)len <= size)
			parse_tpdu(data + RW_TPKT_HEADER_LEN, (size_t)len - RW_TPKT_HEADER_LEN);
	}
	parse_tpdu(data, size);
	if (size >= 4)
		check_names(rw_le32(data));
	return 0;
}
