/* Whole capture files: the input is the bytes of a pcap or pcapng file
 * (any byte order, micro- or nanosecond, any link type libpcap knows),
 * read by libpcap from memory (fmemopen) through rw_pcap_replay_fp, the
 * same reading loop as `rdpwhy replay`, into the capture engine with the
 * default configuration, then rw_capture_finish.
 *
 * Checked: every record through fuzz_check_record (record and verdict
 * invariants, JSON line and text report contracts); the statistics agree
 * with what came out (records counted once each, no more flows analysed
 * than packets, no more decode errors or cut packets than packets); a
 * damaged file is reported as damaged with a message (never an error return
 * once the header was read). The file header decides nothing else: libpcap
 * rejects what it cannot open, and that is a clean -1 with a message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "fuzz_util.h"
#include "record.h"

struct state {
	uint64_t records;
	uint32_t sel;
};

static void on_record(const struct rw_record *rec, void *arg)
{
	struct state *st = arg;
	st->records++;
	FUZZ_CHECK(rec != NULL);
	fuzz_check_record(rec, st->sel++);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0; /* fmemopen refuses a zero-size buffer */
	/* fmemopen's buffer must be writable; an exact-size copy keeps
	 * AddressSanitizer's view of the bounds. */
	uint8_t *buf = fuzz_dup(data, size);
	FILE *fp = fmemopen(buf, size, "rb");
	FUZZ_CHECK(fp != NULL);

	struct rw_capture_config cfg;
	rw_capture_config_defaults(&cfg);
	/* A table of 4 flows half the time (the first byte after the magic),
	 * so that eviction runs on short inputs too, else 1024 (no input of a
	 * fuzzing run holds more flows; the default's 512 KiB of buckets per
	 * input only slowed the fuzzer down). */
	cfg.max_flows = size > 4 && (data[4] & 1) ? 4 : 1024;
	struct state st = {0, (uint32_t)size};
	struct rw_capture *cap = rw_capture_new(&cfg, on_record, &st);
	FUZZ_CHECK(cap != NULL);

	char err[512];
	bool truncated = true;
	int rc = rw_pcap_replay_fp(fp, "fuzz.pcap", NULL, cap, &truncated, err, sizeof(err));
	FUZZ_CHECK(fuzz_cstr_in(err, sizeof(err)));
	if (rc < 0) {
		FUZZ_CHECK(err[0] != '\0');
	} else if (truncated) {
		FUZZ_CHECK(err[0] != '\0');
	}
	rw_capture_finish(cap);
	const struct rw_capture_stats *s = rw_capture_stats(cap);
	FUZZ_CHECK(s != NULL);
	FUZZ_CHECK(s->records == st.records);
	FUZZ_CHECK(rc == 0 || s->packets == 0);
	FUZZ_CHECK(s->decode_errors <= s->packets);
	FUZZ_CHECK(s->truncated <= s->packets);
	FUZZ_CHECK(s->tcp_packets <= s->packets);
	FUZZ_CHECK(s->flows <= s->tcp_packets);
	/* A packet holds one frame: the file's bytes bound what was read. */
	FUZZ_CHECK(s->packets <= size / 16 + 1);
	rw_capture_free(cap);
	free(buf);
	return 0;
}
