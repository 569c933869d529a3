/* ClientHello / ServerHello decoders (analyzers/tls_hello.c) and the JA3,
 * JA3S and JA4 fingerprints (analyzers/fingerprint.c).
 * Input: one handshake message body (after the 4-byte handshake header), as
 * the TLS stream layer hands it over; decoded as both hello kinds. The
 * fingerprints are also written into exact-size buffers smaller than the
 * result, to check truncation. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "rw_types.h"
#include "tls_hello.h"

static bool is_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static void touch_name(const char *s)
{
	if (s)
		fuzz_touch(s, strlen(s));
}

static size_t kept(size_t n, size_t cap)
{
	return n < cap ? n : cap;
}

static void client(const uint8_t *p, size_t n, size_t small)
{
	static struct rw_tls_client_hello ch;
	int r = rw_tls_client_hello_parse(p, n, &ch);
	FUZZ_CHECK(r < 0 || (size_t)r == n);
	if (r < 0)
		return;
	FUZZ_CHECK(ch.session_id_len <= 32);
	FUZZ_CHECK(ch.n_ciphers >= 1);
	if (ch.has_sni) {
		FUZZ_CHECK(ch.sni_len < RW_TLS_MAX_NAME);
		FUZZ_CHECK(ch.sni[ch.sni_len] == 0);
	}
	for (size_t i = 0; i < kept(ch.n_alpn, RW_TLS_MAX_ALPN); i++)
		FUZZ_CHECK(ch.alpn[i][ch.alpn_len[i]] == 0);

	/* JA3 into the record-sized buffer, then into a tiny exact-size one:
	 * what fits is a prefix of the full string. */
	static char full[RW_JA3_STR_MAX];
	char md5[33];
	rw_ja3(&ch, full, sizeof(full), md5);
	FUZZ_CHECK(fuzz_cstr_in(full, sizeof(full)));
	FUZZ_CHECK(is_hex(md5, 32));
	char *tiny = calloc(1, small);
	FUZZ_CHECK(tiny != NULL);
	rw_ja3(&ch, tiny, small, md5);
	FUZZ_CHECK(fuzz_cstr_in(tiny, small));
	FUZZ_CHECK(strncmp(tiny, full, strlen(tiny)) == 0);
	free(tiny);

	char ja4[40];
	rw_ja4(&ch, 't', ja4);
	FUZZ_CHECK(fuzz_cstr_in(ja4, sizeof(ja4)));
	FUZZ_CHECK(ja4[0] == 't');
	rw_ja4(&ch, 'q', ja4);
	FUZZ_CHECK(fuzz_cstr_in(ja4, sizeof(ja4)));
	FUZZ_CHECK(ja4[0] == 'q');

	/* offered_* agree with the lists that were kept. */
	for (size_t i = 0; i < kept(ch.n_ciphers, RW_TLS_MAX_CIPHERS); i++) {
		FUZZ_CHECK(rw_tls_client_offered_cipher(&ch, ch.ciphers[i]));
		touch_name(rw_tls_cipher_name(ch.ciphers[i]));
	}
	uint16_t max = rw_tls_client_max_version(&ch);
	FUZZ_CHECK(!rw_tls_is_grease(max) || max == ch.legacy_version);
	for (size_t i = 0; i < kept(ch.n_versions, RW_TLS_MAX_VERSIONS); i++) {
		uint16_t v = ch.versions[i];
		FUZZ_CHECK(rw_tls_client_offered_version(&ch, v));
		if (!rw_tls_is_grease(v))
			FUZZ_CHECK(v <= max);
		touch_name(rw_tls_version_name(v));
	}
	if (ch.n_versions == 0)
		FUZZ_CHECK(rw_tls_client_offered_version(&ch, ch.legacy_version));
	(void)rw_tls_client_offered_version(&ch, 0x0304);
	(void)rw_tls_client_offered_version(&ch, 0x0301);
	(void)rw_tls_client_offered_cipher(&ch, 0x1301);
	touch_name(rw_tls_version_name(ch.legacy_version));
	touch_name(rw_tls_version_name(max));
}

static void server(const uint8_t *p, size_t n, size_t small)
{
	struct rw_tls_server_hello sh;
	int r = rw_tls_server_hello_parse(p, n, &sh);
	FUZZ_CHECK(r < 0 || (size_t)r == n);
	if (r < 0)
		return;
	FUZZ_CHECK(sh.downgrade_sentinel == 0 || sh.downgrade_sentinel == 11 ||
	           sh.downgrade_sentinel == 12);
	FUZZ_CHECK(fuzz_cstr_in(sh.alpn, sizeof(sh.alpn)));

	/* 256 bytes: the size of rw_record.ja3s. */
	char full[256], md5[33];
	rw_ja3s(&sh, full, sizeof(full), md5);
	FUZZ_CHECK(fuzz_cstr_in(full, sizeof(full)));
	FUZZ_CHECK(is_hex(md5, 32));
	char *tiny = calloc(1, small);
	FUZZ_CHECK(tiny != NULL);
	rw_ja3s(&sh, tiny, small, md5);
	FUZZ_CHECK(fuzz_cstr_in(tiny, small));
	FUZZ_CHECK(strncmp(tiny, full, strlen(tiny)) == 0);
	free(tiny);

	touch_name(rw_tls_cipher_name(sh.cipher));
	touch_name(rw_tls_version_name(sh.version));
	touch_name(rw_tls_version_name(sh.legacy_version));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t small = 1 + size % 48;
	client(data, size, small);
	server(data, size, small);
	if (size > 0)
		touch_name(rw_tls_alert_name(data[0]));
	return 0;
}
