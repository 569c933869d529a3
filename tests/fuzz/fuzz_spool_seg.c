/* The spool's segment parser (sink/spool_seg.c): the input is the bytes of
 * a segment file as a crash, a full disk or a hostile user with access to
 * the spool directory could leave them.
 *
 * Checked: the intact prefix lies within the input; the records reported
 * lie within it, one after the other from the magic on, with growing
 * sequence numbers, each with a header the writer would have written
 * (rw_seg_header over its payload); parsing the prefix alone gives the
 * same prefix and records (cutting a torn tail off is stable, so a reopen
 * counts it once); a record appended after the prefix is found; the
 * "removed" mark's decoder agrees with its encoder. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "spool_seg.h"

struct walk {
	const uint8_t *p;
	size_t n;
	uint64_t next_off, prev_seq, count;
};

static bool on_record(const struct rw_seg_rec *r, void *arg)
{
	struct walk *w = arg;
	FUZZ_CHECK(r->off == w->next_off);
	FUZZ_CHECK(r->off + RW_SEG_HDR + (uint64_t)r->len <= w->n);
	FUZZ_CHECK(r->len <= RW_SEG_RECORD_MAX);
	FUZZ_CHECK(r->seq > w->prev_seq);
	uint8_t h[RW_SEG_HDR];
	rw_seg_header(h, r->seq, w->p + r->off + RW_SEG_HDR, r->len);
	FUZZ_CHECK(memcmp(h, w->p + r->off, RW_SEG_HDR) == 0);
	w->next_off = r->off + RW_SEG_HDR + r->len;
	w->prev_seq = r->seq;
	w->count++;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct walk w = {data, size, RW_SEG_MAGIC_LEN, 0, 0};
	uint64_t records;
	size_t valid = rw_seg_parse(data, size, on_record, &w, &records);
	FUZZ_CHECK(valid <= size);
	FUZZ_CHECK(records == w.count);
	if (valid == 0) {
		FUZZ_CHECK(records == 0);
	} else {
		FUZZ_CHECK(valid >= RW_SEG_MAGIC_LEN);
		FUZZ_CHECK(valid == w.next_off);
	}
	/* The prefix alone, in an exact-size copy (AddressSanitizer sees
	 * its end), then with one more record after it. */
	uint8_t *copy = malloc(valid + RW_SEG_HDR + 8 + 1);
	FUZZ_CHECK(copy != NULL);
	memcpy(copy, data, valid);
	uint64_t again;
	FUZZ_CHECK(rw_seg_parse(copy, valid, NULL, NULL, &again) == valid);
	FUZZ_CHECK(again == records);
	if (valid) {
		uint8_t *rec = copy + valid;
		memcpy(rec + RW_SEG_HDR, "appended", 8);
		rw_seg_header(rec, w.prev_seq + 1, rec + RW_SEG_HDR, 8);
		FUZZ_CHECK(w.prev_seq == UINT64_MAX ||
		           rw_seg_parse(copy, valid + RW_SEG_HDR + 8, NULL, NULL, &again) ==
		                   valid + RW_SEG_HDR + 8);
	}
	free(copy);
	/* The mark: whatever decodes, encodes back to the same bytes. */
	uint64_t seq;
	if (rw_ack_decode(data, size, &seq)) {
		uint8_t m[RW_ACK_LEN];
		rw_ack_encode(m, seq);
		FUZZ_CHECK(memcmp(m, data, RW_ACK_LEN) == 0);
	}
	return 0;
}
