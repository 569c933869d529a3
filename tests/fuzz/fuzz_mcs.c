/* MCS Connect Response decoder and Connect Initial builder (analyzers/mcs.c).
 * Input: the bytes of one TPKT packet as they come off the wire (X.224 Data,
 * MCS Connect Response). Decoded from an exact-size copy; a packet that
 * decodes must decode the same from exactly its own bytes, and each of its
 * prefixes must be "need more". The first 8 bytes also choose the
 * encryptionMethods and serverSelectedProtocol of a Connect Initial built
 * into buffers of the exact size and one byte less. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "mcs.h"
#include "rw_types.h"
#include "x224.h"

static int parse_copy(const uint8_t *src, size_t n, struct rw_mcs_connect_response *out)
{
	uint8_t *p = fuzz_dup(src, n);
	int r = rw_mcs_connect_response_parse(p, n, out);
	free(p);
	return r;
}

static void touch_name(const char *s)
{
	if (s)
		fuzz_touch(s, strlen(s));
}

static void check_response(const uint8_t *data, size_t size)
{
	struct rw_mcs_connect_response rsp;
	int r = parse_copy(data, size, &rsp);
	if (r < 0) {
		touch_name(rw_status_name(r));
		return;
	}
	FUZZ_CHECK((size_t)r <= size && r >= RW_TPKT_HEADER_LEN);
	FUZZ_CHECK(r == rw_tpkt_length(data, size));
	if (rsp.has_sc_security) {
		FUZZ_CHECK(rw_encryption_method_name(rsp.encryption_method) != NULL);
		FUZZ_CHECK(rw_encryption_level_name(rsp.encryption_level) != NULL);
		FUZZ_CHECK((uint64_t)rsp.server_random_len + rsp.server_cert_len <= (size_t)r);
	} else {
		FUZZ_CHECK(rsp.encryption_method == 0 && rsp.encryption_level == 0);
	}
	FUZZ_CHECK(!rsp.has_client_requested || rsp.has_sc_core);

	/* The same from exactly its own bytes. */
	struct rw_mcs_connect_response again;
	FUZZ_CHECK(parse_copy(data, (size_t)r, &again) == r);
	FUZZ_CHECK(memcmp(&rsp, &again, sizeof(rsp)) == 0);
	/* Every prefix is a valid prefix: need more (all of them when short). */
	size_t step = (size_t)r <= 512 ? 1 : (size_t)r / 97 + 1;
	for (size_t k = 0; k < (size_t)r; k += step)
		FUZZ_CHECK(parse_copy(data, k, &again) == RW_E_NEED_MORE);
	FUZZ_CHECK(parse_copy(data, (size_t)r - 1, &again) == RW_E_NEED_MORE);
}

static void check_builder(uint32_t methods, uint32_t selected)
{
	uint8_t buf[1024];
	size_t n = rw_mcs_connect_initial(buf, sizeof(buf), methods, selected);
	FUZZ_CHECK(n > 0 && n <= sizeof(buf));
	FUZZ_CHECK(rw_tpkt_length(buf, n) == (int)n);
	struct rw_x224 x;
	FUZZ_CHECK(rw_x224_parse(buf + RW_TPKT_HEADER_LEN, n - RW_TPKT_HEADER_LEN, &x) >= 0);
	FUZZ_CHECK(x.code == RW_X224_DT);
	/* Exact-size buffers: fits in n, not in n - 1 (and never writes past). */
	uint8_t *exact = malloc(n);
	FUZZ_CHECK(exact != NULL);
	FUZZ_CHECK(rw_mcs_connect_initial(exact, n, methods, selected) == n);
	FUZZ_CHECK(memcmp(exact, buf, n) == 0);
	free(exact);
	uint8_t *small = malloc(n - 1);
	FUZZ_CHECK(small != NULL);
	FUZZ_CHECK(rw_mcs_connect_initial(small, n - 1, methods, selected) == 0);
	free(small);
	/* Our own Connect Initial is not a Connect Response. */
	struct rw_mcs_connect_response rsp;
	FUZZ_CHECK(parse_copy(buf, n, &rsp) == RW_E_TYPE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_response(data, size);
	if (size >= 8)
		check_builder(rw_le32(data), rw_le32(data + 4));
	if (size >= 4) {
		touch_name(rw_encryption_method_name(rw_le32(data)));
		touch_name(rw_encryption_level_name(rw_le32(data)));
	}
	return 0;
}
