#include "tls_record.h"

#include <stdlib.h>
#include <string.h>

#include "rw_types.h"

#define SSLV2_CLIENT_HELLO 1

void rw_tls_stream_init(struct rw_tls_stream *t, const struct rw_tls_callbacks *cb, void *arg,
                        size_t max_msg)
{
	memset(t, 0, sizeof(*t));
	t->cb = cb;
	t->arg = arg;
	t->first = true;
	t->ccs_encrypts = true;
	t->max_msg = max_msg ? max_msg : 65536;
}

void rw_tls_stream_free(struct rw_tls_stream *t)
{
	free(t->hs_buf);
	t->hs_buf = NULL;
	t->hs_cap = 0;
}

void rw_tls_stream_stop(struct rw_tls_stream *t)
{
	t->failed = true;
}

void rw_tls_stream_set_encrypted(struct rw_tls_stream *t)
{
	t->encrypted = true;
}

bool rw_tls_looks_like_record(const uint8_t *p, size_t n)
{
	if (n < 1 || p[0] < RW_TLS_CCS || p[0] > RW_TLS_HEARTBEAT)
		return false;
	return n < 2 || p[1] == 3;
}

bool rw_tls_looks_like_sslv2_hello(const uint8_t *p, size_t n)
{
	/* 2-byte header with the high bit set, msg type 1, version 0x0002 or 3.x. */
	if (n < 5 || !(p[0] & 0x80))
		return false;
	return p[2] == SSLV2_CLIENT_HELLO && (p[3] == 3 || (p[3] == 0 && p[4] == 2));
}

static int fail(struct rw_tls_stream *t, int status, const char *what)
{
	t->failed = true;
	if (t->cb->error)
		t->cb->error(t->arg, status, what);
	return status;
}

/* Moves up to `want - *have` bytes from (*p, *n) into dst; true once full. */
static bool fill(uint8_t *dst, size_t *have, size_t want, const uint8_t **p, size_t *n)
{
	size_t k = want - *have;
	if (k > *n)
		k = *n;
	memcpy(dst + *have, *p, k);
	*have += k;
	*p += k;
	*n -= k;
	return *have == want;
}

/* Handshake bytes of one record, split into messages. Returns the bytes
 * used: all n, or fewer when a callback stopped the stream (the bytes after
 * the message it stopped at are not TLS as far as this layer goes, whatever
 * the segmentation). */
static size_t handshake_bytes(struct rw_tls_stream *t, const uint8_t *p, size_t n)
{
	size_t n0 = n;
	while (n > 0) {
		/* A whole message in these bytes (the common case: a hello, or a
		 * certificate in one segment) goes to the callback where it is,
		 * without the copy and the buffer a message split across records
		 * or segments needs. */
		size_t whole = n >= 4 && t->hs_hdr_have == 0 ? rw_be24(p + 1) : SIZE_MAX;
		if (n >= 4 && whole <= n - 4 && whole <= t->max_msg) {
			const uint8_t *body = p + 4;
			memcpy(t->hs_hdr, p, 4);
			t->hs_need = t->hs_have = whole;
			t->hs_oversized = false;
			p += 4 + whole;
			n -= 4 + whole;
			if (t->cb->handshake)
				t->cb->handshake(t->arg, t->hs_hdr[0], body, whole, false);
			if (t->failed)
				return n0 - n;
			if (t->encrypted)
				return n0;
			continue;
		}
		if (t->hs_hdr_have < 4) {
			if (!fill(t->hs_hdr, &t->hs_hdr_have, 4, &p, &n))
				return n0;
			t->hs_need = rw_be24(t->hs_hdr + 1);
			t->hs_have = 0;
			t->hs_oversized = t->hs_need > t->max_msg;
			if (!t->hs_oversized && t->hs_cap < t->hs_need) {
				/* One allocation per session, grown to the largest message. */
				size_t cap = t->hs_need < 4096 ? 4096 : t->hs_need;
				uint8_t *nb = realloc(t->hs_buf, cap);
				if (!nb)
					t->hs_oversized = true;
				else {
					t->hs_buf = nb;
					t->hs_cap = cap;
				}
			}
		}
		size_t k = t->hs_need - t->hs_have;
		if (k > n)
			k = n;
		if (!t->hs_oversized && k > 0)
			memcpy(t->hs_buf + t->hs_have, p, k);
		t->hs_have += k;
		p += k;
		n -= k;
		if (t->hs_have == t->hs_need) {
			if (t->cb->handshake)
				t->cb->handshake(t->arg, t->hs_hdr[0],
				                 t->hs_oversized ? NULL : t->hs_buf, t->hs_need,
				                 t->hs_oversized);
			t->hs_hdr_have = 0;
			if (t->failed)
				return n0 - n;
			/* The callback may have switched to encrypted (TLS 1.3
			 * ServerHello): the rest of this record is opaque too, but
			 * still this record's. */
			if (t->encrypted)
				return n0;
		}
	}
	return n0;
}

/* Returns the bytes used: k, or fewer when a callback stopped the stream. */
static size_t record_body(struct rw_tls_stream *t, const uint8_t *p, size_t k)
{
	switch (t->type) {
	case RW_TLS_HANDSHAKE:
		if (!t->encrypted)
			return handshake_bytes(t, p, k);
		return k;
	case RW_TLS_ALERT:
	case RW_TLS_CCS:
		for (size_t i = 0; i < k && t->small_have < sizeof(t->small); i++)
			t->small[t->small_have++] = p[i];
		return k;
	default:
		return k;
	}
}

static void record_end(struct rw_tls_stream *t)
{
	if (t->type == RW_TLS_ALERT) {
		if (!t->encrypted && t->small_have != 2)
			fail(t, RW_E_LENGTH, "alert record is not 2 bytes");
		else if (t->cb->alert && t->encrypted)
			t->cb->alert(t->arg, 0, 0, true);
		else if (t->cb->alert)
			t->cb->alert(t->arg, t->small[0], t->small[1], false);
	} else if (t->type == RW_TLS_CCS) {
		if (t->cb->ccs)
			t->cb->ccs(t->arg);
		if (t->ccs_encrypts)
			t->encrypted = true;
	}
}

/* The parser proper; *pp and *pn tell the caller where it stopped. */
#define OUT(rc)                                                                                    \
	do {                                                                                       \
		*pp = p;                                                                           \
		*pn = n;                                                                           \
		return (rc);                                                                       \
	} while (0)
static int feed(struct rw_tls_stream *t, const uint8_t **pp, size_t *pn)
{
	const uint8_t *p = *pp;
	size_t n = *pn;
	if (t->failed)
		OUT(RW_E_VALUE);
	if (t->first && n > 0) {
		if (t->hdr_have == 0 && !(p[0] & 0x80)) {
			t->first = false;
		} else {
			/* SSLv2 framing (RFC 5246 E.2): 2-byte length with the high bit
			 * set, then msg type and version; 5 bytes decide. */
			if (!fill(t->hdr, &t->hdr_have, 5, &p, &n))
				OUT(0);
			t->first = false;
			t->hdr_have = 0;
			if (!rw_tls_looks_like_sslv2_hello(t->hdr, 5))
				OUT(fail(t, RW_E_TYPE, "SSLv2 header that is not a ClientHello"));
			size_t len = ((size_t)(t->hdr[0] & 0x7f) << 8 | t->hdr[1]) + 2;
			if (len < 5)
				OUT(fail(t, RW_E_LENGTH, "SSLv2 ClientHello too short"));
			if (t->cb->sslv2_hello)
				t->cb->sslv2_hello(t->arg, rw_be16(t->hdr + 3), len);
			t->v2_skip = len - 5;
		}
	}
	if (t->v2_skip > 0) {
		size_t k = t->v2_skip < n ? t->v2_skip : n;
		t->v2_skip -= k;
		p += k;
		n -= k;
	}
	while (n > 0) {
		if (t->rec_left == 0 && t->hdr_have < 5) {
			/* One header byte at a time, each judged as it comes: non-TLS
			 * bytes show even when fewer than five of them ever arrive, and
			 * the stream stops at the byte that shows it, so that what
			 * follows is the caller's however the bytes were cut (taking
			 * the rest of the header with it would drop bytes that a later
			 * feed would have handed back). */
			t->hdr[t->hdr_have++] = *p++;
			n--;
			if (t->hdr[0] < RW_TLS_CCS || t->hdr[0] > RW_TLS_HEARTBEAT)
				OUT(fail(t, RW_E_TYPE, "unknown TLS content type"));
			if (t->hdr_have >= 2 && t->hdr[1] != 3)
				OUT(fail(t, RW_E_VERSION, "record version is not 3.x"));
			if (t->hdr_have < 5)
				continue;
			t->type = t->hdr[0];
			uint16_t version = rw_be16(t->hdr + 1);
			size_t len = rw_be16(t->hdr + 3);
			if (t->type < RW_TLS_CCS || t->type > RW_TLS_HEARTBEAT)
				OUT(fail(t, RW_E_TYPE, "unknown TLS content type"));
			if (t->hdr[1] != 3)
				OUT(fail(t, RW_E_VERSION, "record version is not 3.x"));
			if (len == 0 && t->type != RW_TLS_APPDATA)
				OUT(fail(t, RW_E_LENGTH, "empty record"));
			/* Alerts are never fragmented or coalesced by real stacks. */
			if (t->type == RW_TLS_ALERT && !t->encrypted && len != 2)
				OUT(fail(t, RW_E_LENGTH, "alert record is not 2 bytes"));
			if (t->type == RW_TLS_CCS && len != 1)
				OUT(fail(t, RW_E_LENGTH, "ChangeCipherSpec record is not 1 byte"));
			if (len > RW_TLS_MAX_RECORD)
				OUT(fail(t, RW_E_LENGTH, "record longer than 2^14+2048"));
			t->records++;
			t->small_have = 0;
			bool enc = t->encrypted || t->type == RW_TLS_APPDATA;
			/* Set first: a callback that stops the stream at this header
			 * leaves the body to come in rec_left, as one that stops it
			 * within a body does. */
			t->rec_left = len;
			if (t->cb->record)
				t->cb->record(t->arg, t->type, version, len, enc);
			if (t->failed)
				OUT(RW_E_VALUE);
			if (len == 0) {
				t->hdr_have = 0;
				continue;
			}
		}
		size_t k = t->rec_left < n ? t->rec_left : n;
		k = record_body(t, p, k);
		t->rec_left -= k;
		p += k;
		n -= k;
		if (t->failed)
			OUT(RW_E_VALUE);
		if (t->rec_left == 0) {
			t->hdr_have = 0;
			record_end(t);
			if (t->failed)
				OUT(RW_E_VALUE);
		}
	}
	OUT(0);
}
#undef OUT

int rw_tls_stream_feed(struct rw_tls_stream *t, const uint8_t *p, size_t n)
{
	const uint8_t *q = p;
	size_t m = n;
	int rc = feed(t, &q, &m);
	t->consumed += (size_t)(q - p);
	return rc;
}
