/* TLS record layer of one direction (analyzers/tls_record.c): framing across
 * segments, handshake reassembly across records, alerts, CCS, SSLv2 hellos.
 *
 * Input layout:
 *   byte 0      max_msg selector (handshake buffer bound; small values reach
 *               the "oversized" path)
 *   byte 1      flags: bit 0 the stream is encrypted from the start; bit 1
 *               a ServerHello makes it encrypted (what the session does for
 *               TLS 1.3); bit 2 handshake callbacks check the message bytes
 *   bytes 2..5  split pattern: chunk sizes, cycled
 *   rest        the byte stream
 *
 * The stream is fed twice, in one piece and in chunks (each chunk an
 * exact-size heap copy, zero-length feeds included), and the two callback
 * traces must be identical: tls_record.h promises framing "across any
 * segmentation" (SSLv2 hellos included), and a failure must stop the
 * stream at the same byte (rw_tls_stream.consumed) however it was cut. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "rw_types.h"
#include "tls_hello.h"
#include "tls_record.h"

struct trace {
	struct rw_tls_stream *t;
	uint64_t h;
	size_t max_msg;
	uint8_t flags;
	unsigned events;
	bool errored;
};

static void ev(struct trace *tr, uint8_t tag, uint64_t a, uint64_t b)
{
	uint64_t v[3] = {tag, a, b};
	tr->h = fuzz_hash(tr->h, v, sizeof(v));
	tr->events++;
}

static void on_record(void *arg, uint8_t type, uint16_t version, size_t len, bool encrypted)
{
	struct trace *tr = arg;
	FUZZ_CHECK(!tr->errored);
	FUZZ_CHECK(type >= RW_TLS_CCS && type <= RW_TLS_HEARTBEAT);
	FUZZ_CHECK(version >> 8 == 3);
	FUZZ_CHECK(len <= RW_TLS_MAX_RECORD);
	ev(tr, 1, (uint64_t)type << 16 | version, (uint64_t)len << 1 | encrypted);
}

static void on_handshake(void *arg, uint8_t type, const uint8_t *p, size_t n, bool oversized)
{
	struct trace *tr = arg;
	FUZZ_CHECK(!tr->errored);
	if (oversized) {
		FUZZ_CHECK(p == NULL);
		FUZZ_CHECK(n > tr->max_msg);
	} else {
		FUZZ_CHECK(n <= tr->max_msg);
		FUZZ_CHECK(p != NULL || n == 0);
		if (n)
			fuzz_touch(p, n);
		tr->h = fuzz_hash(tr->h, p ? p : (const uint8_t *)"", n);
	}
	ev(tr, 2, type, (uint64_t)n << 1 | oversized);
	if ((tr->flags & 2) && type == RW_HS_SERVER_HELLO)
		rw_tls_stream_set_encrypted(tr->t);
	if ((tr->flags & 4) && !oversized) {
		/* What the session does with the messages it cares about. */
		if (type == RW_HS_CLIENT_HELLO) {
			static struct rw_tls_client_hello ch;
			(void)rw_tls_client_hello_parse(p, n, &ch);
		} else if (type == RW_HS_SERVER_HELLO) {
			struct rw_tls_server_hello sh;
			(void)rw_tls_server_hello_parse(p, n, &sh);
		}
	}
}

static void on_alert(void *arg, uint8_t level, uint8_t desc, bool encrypted)
{
	struct trace *tr = arg;
	FUZZ_CHECK(!tr->errored);
	ev(tr, 3, (uint64_t)level << 8 | desc, encrypted);
}

static void on_ccs(void *arg)
{
	struct trace *tr = arg;
	FUZZ_CHECK(!tr->errored);
	ev(tr, 4, 0, 0);
}

static void on_sslv2(void *arg, uint16_t version, size_t len)
{
	struct trace *tr = arg;
	FUZZ_CHECK(!tr->errored);
	FUZZ_CHECK(len >= 2 && len <= 0x7FFF + 2);
	ev(tr, 5, version, len);
}

static void on_error(void *arg, int status, const char *what)
{
	struct trace *tr = arg;
	FUZZ_CHECK(!tr->errored); /* reported once: parsing stops for good */
	FUZZ_CHECK(status < 0);
	FUZZ_CHECK(what != NULL);
	fuzz_touch(what, strlen(what));
	tr->errored = true;
	ev(tr, 6, (uint64_t)(int64_t)status, 0);
}

static const struct rw_tls_callbacks cbs = {
        .record = on_record,
        .handshake = on_handshake,
        .alert = on_alert,
        .ccs = on_ccs,
        .sslv2_hello = on_sslv2,
        .error = on_error,
};

static size_t max_msg_of(uint8_t sel)
{
	static const size_t tab[8] = {0, 1, 4, 16, 100, 1000, 16384, 1 << 20};
	return tab[sel & 7];
}

static size_t chunk_of(uint8_t pat)
{
	size_t n = pat & 0x3F;
	return (pat & 0x40) ? n * 97 : n;
}

static uint64_t run(const uint8_t *p, size_t n, uint8_t sel, uint8_t flags, const uint8_t pat[4],
                    bool split, unsigned *events)
{
	struct rw_tls_stream t;
	struct trace tr = {.t = &t, .flags = flags};
	rw_tls_stream_init(&t, &cbs, &tr, max_msg_of(sel));
	tr.max_msg = t.max_msg;
	if (flags & 1)
		rw_tls_stream_set_encrypted(&t);
	size_t off = 0;
	unsigned i = 0, zero_run = 0;
	while (off < n) {
		size_t k = split ? chunk_of(pat[i++ % 4]) : n;
		if (k == 0 && ++zero_run > 4)
			k = 1;
		if (k)
			zero_run = 0;
		if (k > n - off)
			k = n - off;
		uint8_t *c = fuzz_dup(p + off, k);
		int r = rw_tls_stream_feed(&t, c, k);
		free(c);
		FUZZ_CHECK(r <= 0);
		if (r < 0)
			FUZZ_CHECK(t.failed);
		if (t.failed)
			FUZZ_CHECK(tr.errored);
		off += k;
	}
	/* Once failed, stays failed and silent. */
	if (t.failed) {
		unsigned before = tr.events;
		FUZZ_CHECK(rw_tls_stream_feed(&t, (const uint8_t *)"\x16\x03\x01\x00\x01\x01", 6) <
		           0);
		FUZZ_CHECK(tr.events == before);
	}
	tr.h = fuzz_hash(tr.h, &t.failed, sizeof(t.failed));
	tr.h = fuzz_hash(tr.h, &t.records, sizeof(t.records));
	/* Where a failure stopped the stream: the session hands the bytes after
	 * it to the opaque path, so that point must not move with the split
	 * (crashes/fuzz_session-split-count-after-tls-error). */
	tr.h = fuzz_hash(tr.h, &t.consumed, sizeof(t.consumed));
	rw_tls_stream_free(&t);
	*events = tr.events;
	return tr.h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	uint8_t sel = fuzz_u8(&in);
	uint8_t flags = fuzz_u8(&in);
	uint8_t pat[4];
	for (int i = 0; i < 4; i++)
		pat[i] = fuzz_u8(&in);
	unsigned ev_whole, ev_split;
	uint64_t whole = run(in.p, in.n, sel, flags, pat, false, &ev_whole);
	uint64_t split = run(in.p, in.n, sel, flags, pat, true, &ev_split);
	if (whole != split) {
		fprintf(stderr, "trace differs: %u events in one piece, %u in chunks\n", ev_whole,
		        ev_split);
		FUZZ_CHECK(whole == split);
	}
	return 0;
}
