/* Inspection's per-session decoder (analyzers/inspect.c) inside a session:
 * the plaintext an inspecting proxy relays, in both directions, in any
 * chunking, then the verdict and both record formatters.
 *
 * Input: byte 0 = selected protocol (bits 0-1: ssl, hybrid, hybrid_ex, 0),
 * then events: one op byte [dir:1][len:7], then len bytes (cut to the
 * input) of plaintext from that direction; op 0xFF closes the server side.
 * The script runs twice, the second time every chunk delivered one byte at
 * a time: the records' JSON must be identical (the split never matters).
 * Also checks that a record's inspection facts name only known things. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz_util.h"
#include "inspect.h"
#include "record.h"
#include "record_format.h"
#include "session.h"
#include "x224.h"

static char *run(const uint8_t *data, size_t size, bool bytewise)
{
	static const uint32_t protos[4] = {RW_PROTO_SSL, RW_PROTO_HYBRID, RW_PROTO_HYBRID_EX, 0};
	struct rw_session *s = rw_session_new(NULL);
	FUZZ_CHECK(s);
	uint64_t ts = 1700000000ull * 1000000ull;
	rw_session_open(s, ts, NULL, NULL);
	rw_session_record(s)->selected_protocol = protos[data[0] & 3];
	rw_session_set_inspected(s, true);
	struct fuzz_in in = {data + 1, size - 1};
	while (in.n > 0) {
		uint8_t op = fuzz_u8(&in);
		ts += 1000;
		if (op == 0xFF) {
			rw_session_fin(s, RW_S2C, ts);
			continue;
		}
		size_t got;
		const uint8_t *p = fuzz_bytes(&in, op & 0x7F, &got);
		uint8_t *c = fuzz_dup(p, got);
		enum rw_dir d = op & 0x80 ? RW_S2C : RW_C2S;
		if (bytewise)
			for (size_t i = 0; i < got; i++)
				rw_session_plaintext(s, d, ts, c + i, 1);
		else
			rw_session_plaintext(s, d, ts, c, got);
		free(c);
	}
	rw_session_close(s, ts + 1000);
	const struct rw_record *r = rw_session_record(s);
	FUZZ_CHECK(r->inspect.inspected);
	FUZZ_CHECK(r->verdict.cause < RW_CAUSE_COUNT);
	FUZZ_CHECK(r->inspect.ntlm_seen[0] < 16 && r->inspect.ntlm_seen[1] < 16);
	struct rw_buf out;
	rw_buf_init(&out, 0);
	FUZZ_CHECK(rw_record_json(r, NULL, &out) == 0);
	char *json = strdup(out.data ? out.data : "");
	rw_buf_free(&out);
	rw_buf_init(&out, 0);
	FUZZ_CHECK(rw_record_text(r, &out) == 0);
	rw_buf_free(&out);
	rw_session_free(s);
	return json;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *a = run(data, size, false);
	char *b = run(data, size, true);
	FUZZ_CHECK(a && b && strcmp(a, b) == 0);
	free(a);
	free(b);
	return 0;
}
