/* NTLM CHALLENGE_MESSAGE decoder and NEGOTIATE builder (analyzers/ntlm.c).
 * Input: the bytes of one CHALLENGE_MESSAGE as it comes out of a negoToken.
 * It is decoded as is and, so that the fuzzer need not find the 12-byte
 * signature and type by itself, once more behind a valid signature and type
 * (the input then starts at TargetNameFields). Each is an exact-size copy. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "ntlm.h"
#include "rw_types.h"

static void check_name(const char *s)
{
	FUZZ_CHECK(fuzz_cstr_in(s, RW_NTLM_NAME_MAX));
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t k = check_utf8((const uint8_t *)s + i, n - i, &cp);
		FUZZ_CHECK(k > 0);
		/* NUL was replaced: it would cut the name silently. */
		FUZZ_CHECK(cp != 0);
		i += k;
	}
}

static void parse(const uint8_t *src, size_t n)
{
	uint8_t *p = fuzz_dup(src, n);
	struct rw_ntlm_challenge c;
	int r = rw_ntlm_challenge_parse(p, n, &c);
	FUZZ_CHECK(r < 0 || (size_t)r == n);
	FUZZ_CHECK(r != RW_E_NEED_MORE);
	if (r >= 0) {
		FUZZ_CHECK(n >= 48);
		check_name(c.target_name);
		check_name(c.nb_computer);
		check_name(c.nb_domain);
		check_name(c.dns_computer);
		check_name(c.dns_domain);
		check_name(c.dns_tree);
		if (c.has_version)
			FUZZ_CHECK(n >= 56 && (c.flags & 0x02000000u));
		int64_t us = rw_filetime_to_unix_us(c.timestamp);
		/* Monotone around the epoch, and one tick is 0.1 us. */
		if (c.timestamp > 0)
			FUZZ_CHECK(rw_filetime_to_unix_us(c.timestamp - 1) <= us);
		fuzz_touch(c.server_challenge, sizeof(c.server_challenge));
	} else {
		const char *st = rw_status_name(r);
		if (st)
			fuzz_touch(st, strlen(st));
	}
	free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse(data, size);
	uint8_t *framed = malloc(size + 12);
	if (!framed)
		return 0;
	memcpy(framed, "NTLMSSP\0\x02\0\0\0", 12);
	if (size)
		memcpy(framed + 12, data, size);
	parse(framed, size + 12);
	free(framed);

	/* The builder never writes past cap and is never a CHALLENGE. */
	size_t cap = size ? data[0] : 0;
	uint8_t *out = fuzz_dup(data, cap <= size ? cap : size);
	size_t w = rw_ntlm_negotiate(out, cap <= size ? cap : size);
	FUZZ_CHECK(w == 0 || w == 40);
	if (w) {
		struct rw_ntlm_challenge c;
		FUZZ_CHECK(rw_ntlm_challenge_parse(out, w, &c) == RW_E_TYPE);
	}
	free(out);
	return 0;
}
