/* Link, IP and TCP header decoding of one captured frame (capture/decode.c).
 * Input: byte 0 chooses the link type, the rest is the frame (an exact-size
 * copy, so any read past the captured length is an ASan error). */
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int dlt = fuzz_dlts[data[0] % FUZZ_N_DLTS];
	size_t n = size - 1;
	uint8_t *p = fuzz_dup(data + 1, n);
	struct rw_packet pkt;
	memset(&pkt, 0xA5, sizeof(pkt)); /* the decoder must not rely on a clean struct */
	pkt.ts_us = 0x123456789ull;
	int r = rw_decode_packet(dlt, p, n, &pkt);
	const char *name = rw_decode_status_name(r);
	FUZZ_CHECK(name != NULL && strcmp(name, "unknown") != 0);
	FUZZ_CHECK(r <= 0 && r >= RW_DECODE_UNSUPPORTED);
	FUZZ_CHECK(pkt.ts_us == 0x123456789ull); /* kept: the caller sets it */
	if (r == RW_DECODE_OK) {
		FUZZ_CHECK(pkt.family == 2 || pkt.family == 10);
		FUZZ_CHECK(pkt.ttl >= 0 && pkt.ttl <= 255);
		FUZZ_CHECK(pkt.payload != NULL);
		FUZZ_CHECK(pkt.payload >= p && pkt.payload <= p + n);
		FUZZ_CHECK(pkt.payload_len <= (size_t)(p + n - pkt.payload));
		FUZZ_CHECK(pkt.payload_len <= pkt.seg_len);
		FUZZ_CHECK(pkt.payload_truncated == (pkt.payload_len < pkt.seg_len));
		FUZZ_CHECK(pkt.seg_len <= 0xFFFF || n > 0xFFFF); /* from a 16-bit IP length */
		FUZZ_CHECK((pkt.flags & ~0x1F) == 0);
		fuzz_touch(pkt.payload, pkt.payload_len);
	}
	if (dlt == 147)
		FUZZ_CHECK(r == RW_DECODE_UNSUPPORTED);
	free(p);
	return 0;
}
