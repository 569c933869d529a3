/* CredSSP TSRequest reader and writer (analyzers/credssp.c).
 * Input: bytes read from the TLS stream after the handshake, starting with
 * a TSRequest. Besides the sanitizers, checks the stream contract the probe
 * relies on: a result never depends on bytes past what it consumed, every
 * prefix of a TSRequest (or of a valid prefix) asks for more, more bytes never
 * undo an error, and what rw_tsrequest_build writes reads back the same. Each
 * parse gets an exact-size copy. */
#include <stdlib.h>
#include <string.h>

#include "credssp.h"
#include "fuzz_util.h"
#include "ntlm.h"
#include "rw_types.h"

static int parse(const uint8_t *src, size_t n, struct rw_tsrequest *t, size_t *tok_off)
{
	uint8_t *p = fuzz_dup(src, n);
	int r = rw_tsrequest_parse(p, n, t);
	FUZZ_CHECK(r == RW_E_NEED_MORE || r == RW_E_LENGTH || r == RW_E_TYPE ||
	           r == RW_E_TRAILING || r == RW_E_VALUE || (r >= 2 && (size_t)r <= n));
	*tok_off = 0;
	if (r >= 0 && t->nego_token) {
		/* Inside the TSRequest, which is inside the input. */
		FUZZ_CHECK(t->nego_token >= p && t->nego_token <= p + r);
		FUZZ_CHECK(t->nego_token_len <= (size_t)(p + r - t->nego_token));
		fuzz_touch(t->nego_token, t->nego_token_len);
		*tok_off = (size_t)(t->nego_token - p);
	}
	if (r >= 0) {
		const char *name = rw_ntstatus_name(t->error_code);
		if (name)
			fuzz_touch(name, strlen(name));
	}
	free(p);
	return r;
}

static bool same(const struct rw_tsrequest *a, size_t ao, const struct rw_tsrequest *b, size_t bo)
{
	return a->version == b->version && a->nego_token_len == b->nego_token_len &&
	       (a->nego_token == NULL) == (b->nego_token == NULL) && ao == bo &&
	       a->has_auth_info == b->has_auth_info && a->has_pub_key_auth == b->has_pub_key_auth &&
	       a->has_error_code == b->has_error_code && a->error_code == b->error_code &&
	       a->has_client_nonce == b->has_client_nonce;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rw_tsrequest t, u;
	size_t off, uoff;
	int r = parse(data, size, &t, &off);

	if (r >= 0) {
		/* The bytes it occupies alone give the same answer; one fewer
		 * is a prefix. */
		FUZZ_CHECK(parse(data, (size_t)r, &u, &uoff) == r && same(&t, off, &u, uoff));
		FUZZ_CHECK(parse(data, (size_t)r - 1, &u, &uoff) == RW_E_NEED_MORE);
		FUZZ_CHECK(parse(data, (size_t)r / 2, &u, &uoff) == RW_E_NEED_MORE);
		if (t.nego_token && t.nego_token_len >= 12 &&
		    memcmp(data + off, "NTLMSSP\0\x02\0\0\0", 12) == 0) {
			uint8_t *tok = fuzz_dup(data + off, t.nego_token_len);
			struct rw_ntlm_challenge c;
			int cr = rw_ntlm_challenge_parse(tok, t.nego_token_len, &c);
			FUZZ_CHECK(cr < 0 || (size_t)cr == t.nego_token_len);
			free(tok);
		}
	} else if (r == RW_E_NEED_MORE) {
		if (size > 0) {
			FUZZ_CHECK(parse(data, size - 1, &u, &uoff) == RW_E_NEED_MORE);
			FUZZ_CHECK(parse(data, size / 2, &u, &uoff) == RW_E_NEED_MORE);
		}
	} else if (size < 4096) {
		/* More bytes do not make garbage a TSRequest or a wait. */
		uint8_t *longer = malloc(size + 64);
		if (longer) {
			memcpy(longer, data, size);
			memset(longer + size, size ? data[0] : 0, 64);
			FUZZ_CHECK(parse(longer, size + 64, &u, &uoff) == r);
			free(longer);
		}
	}

	/* Round trip: version from the first bytes, the rest as the token. */
	if (size >= 4) {
		uint32_t version = rw_le32(data);
		size_t tl = size - 4;
		size_t cap = tl + 64; /* 6 headers of up to 5 bytes, version 9 */
		uint8_t *out = malloc(cap);
		if (!out)
			return 0;
		size_t w = rw_tsrequest_build(out, cap, version, data + 4, tl);
		FUZZ_CHECK(w > tl && w <= cap);
		FUZZ_CHECK(rw_tsrequest_build(out, w - 1, version, data + 4, tl) == 0);
		int pr = parse(out, w, &u, &uoff);
		FUZZ_CHECK(pr >= 0 && (size_t)pr == w);
		FUZZ_CHECK(u.version == version && u.nego_token && u.nego_token_len == tl);
		FUZZ_CHECK(memcmp(out + uoff, data + 4, tl) == 0);
		FUZZ_CHECK(!u.has_error_code && !u.has_auth_info && !u.has_pub_key_auth);
		free(out);
	}
	return 0;
}
