/* ClientHello / ServerHello decoding and the TLS name tables.
 *
 * Real hellos are the captures of tls_vectors.h (OpenSSL 3.0.22 on loopback).
 * Malformed and oversized hellos are built with the small writer below. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rw_types.h"
#include "testutil.h"
#include "tls_hello.h"
#include "tls_vectors.h"

/* ---- a byte writer for synthetic hellos ---- */

struct w {
	uint8_t b[16384];
	size_t n;
};

static void w8(struct w *w, unsigned v)
{
	assert_true(w->n < sizeof(w->b));
	w->b[w->n++] = (uint8_t)v;
}

static void w16(struct w *w, unsigned v)
{
	w8(w, v >> 8);
	w8(w, v & 0xff);
}

static void wmem(struct w *w, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		w8(w, ((const uint8_t *)p)[i]);
}

/* Length prefixes are written as 0 and patched when the vector closes. */
static size_t open16(struct w *w)
{
	w16(w, 0);
	return w->n;
}

static void close16(struct w *w, size_t at)
{
	size_t len = w->n - at;
	w->b[at - 2] = (uint8_t)(len >> 8);
	w->b[at - 1] = (uint8_t)len;
}

static size_t open8(struct w *w)
{
	w8(w, 0);
	return w->n;
}

static void close8(struct w *w, size_t at)
{
	w->b[at - 1] = (uint8_t)(w->n - at);
}

/* ClientHello up to and including compression_methods. */
static void ch_head(struct w *w, uint16_t version, const uint16_t *ciphers, size_t nc)
{
	w->n = 0;
	w16(w, version);
	for (int i = 0; i < 32; i++)
		w8(w, 0x11);
	w8(w, 32);
	for (int i = 0; i < 32; i++)
		w8(w, 0x22);
	size_t at = open16(w);
	for (size_t i = 0; i < nc; i++)
		w16(w, ciphers[i]);
	close16(w, at);
	w8(w, 1);
	w8(w, 0);
}

static const uint16_t two_ciphers[] = {0x1301, 0xc02f};

static void ext_u16s(struct w *w, uint16_t type, int len_bytes, const uint16_t *v, size_t n)
{
	w16(w, type);
	size_t e = open16(w);
	size_t l = len_bytes == 1 ? open8(w) : open16(w);
	for (size_t i = 0; i < n; i++)
		w16(w, v[i]);
	if (len_bytes == 1)
		close8(w, l);
	else
		close16(w, l);
	close16(w, e);
}

static void ext_sni(struct w *w, const char *name, size_t len)
{
	w16(w, 0);
	size_t e = open16(w);
	size_t l = open16(w);
	w8(w, 0);
	w16(w, (unsigned)len);
	wmem(w, name, len);
	close16(w, l);
	close16(w, e);
}

static void ext_alpn(struct w *w, const char *const *names, size_t n)
{
	w16(w, 16);
	size_t e = open16(w);
	size_t l = open16(w);
	for (size_t i = 0; i < n; i++) {
		w8(w, (unsigned)strlen(names[i]));
		wmem(w, names[i], strlen(names[i]));
	}
	close16(w, l);
	close16(w, e);
}

static void ext_raw(struct w *w, uint16_t type, const void *p, size_t n)
{
	w16(w, type);
	w16(w, (unsigned)n);
	wmem(w, p, n);
}

static int parse_w(const struct w *w, struct rw_tls_client_hello *ch)
{
	return rw_tls_client_hello_parse(w->b, w->n, ch);
}

#define ASSERT_U16S(arr, n, ...)                                                                   \
	do {                                                                                       \
		static const uint16_t want_[] = {__VA_ARGS__};                                     \
		assert_int_equal((n), sizeof(want_) / sizeof(want_[0]));                           \
		for (size_t i_ = 0; i_ < sizeof(want_) / sizeof(want_[0]); i_++)                   \
			assert_int_equal((arr)[i_], want_[i_]);                                    \
	} while (0)

/* ---- real hellos ---- */

static void test_client_hello_openssl_tls13(void **state)
{
	(void)state;
	struct rw_tls_client_hello ch = rw_test_client_hello(ch_tls13);

	assert_int_equal(ch.legacy_version, 0x0303);
	assert_int_equal(ch.random[0], 0xfb);
	assert_int_equal(ch.session_id_len, 32);
	assert_int_equal(ch.n_ciphers, 31);
	assert_int_equal(ch.ciphers[0], 0x1302);
	assert_int_equal(ch.ciphers[30], 0x00ff);
	assert_int_equal(ch.n_compression, 1);
	ASSERT_U16S(ch.exts, ch.n_exts, 0, 11, 10, 35, 16, 22, 23, 13, 43, 45, 51);
	assert_true(ch.has_sni);
	assert_string_equal(ch.sni, "example.test");
	assert_int_equal(ch.sni_len, 12);
	assert_int_equal(ch.n_alpn, 2);
	assert_string_equal(ch.alpn[0], "h2");
	assert_int_equal(ch.alpn_len[0], 2);
	assert_string_equal(ch.alpn[1], "http/1.1");
	assert_int_equal(ch.alpn_len[1], 8);
	ASSERT_U16S(ch.groups, ch.n_groups, 0x001d, 0x0017, 0x001e, 0x0019, 0x0018, 0x0100, 0x0101,
	            0x0102, 0x0103, 0x0104);
	assert_int_equal(ch.n_point_formats, 3);
	assert_int_equal(ch.point_formats[2], 2);
	assert_int_equal(ch.n_sigalgs, 20);
	assert_int_equal(ch.sigalgs[0], 0x0403);
	assert_int_equal(ch.sigalgs[19], 0x0602);
	ASSERT_U16S(ch.versions, ch.n_versions, 0x0304, 0x0303, 0x0302, 0x0301);
	assert_false(ch.has_grease);

	assert_int_equal(rw_tls_client_max_version(&ch), 0x0304);
	assert_true(rw_tls_client_offered_version(&ch, 0x0304));
	assert_true(rw_tls_client_offered_version(&ch, 0x0301));
	assert_false(rw_tls_client_offered_version(&ch, 0x0300));
	assert_true(rw_tls_client_offered_cipher(&ch, 0x1301));
	assert_true(rw_tls_client_offered_cipher(&ch, 0xc030));
	assert_false(rw_tls_client_offered_cipher(&ch, 0x000a));
}

static void test_client_hello_openssl_tls12_only(void **state)
{
	(void)state;
	struct rw_tls_client_hello ch = rw_test_client_hello(ch_tls12);

	assert_int_equal(ch.n_ciphers, 28);
	assert_int_equal(ch.ciphers[0], 0xc02c);
	ASSERT_U16S(ch.exts, ch.n_exts, 0, 11, 10, 35, 16, 22, 23, 13);
	assert_int_equal(ch.n_versions, 0);
	assert_string_equal(ch.sni, "example.test");
	/* No supported_versions: legacy_version and everything down to 1.0. */
	assert_int_equal(rw_tls_client_max_version(&ch), 0x0303);
	assert_true(rw_tls_client_offered_version(&ch, 0x0303));
	assert_true(rw_tls_client_offered_version(&ch, 0x0302));
	assert_true(rw_tls_client_offered_version(&ch, 0x0301));
	assert_false(rw_tls_client_offered_version(&ch, 0x0304));
	assert_false(rw_tls_client_offered_version(&ch, 0x0300));
	assert_false(rw_tls_client_offered_cipher(&ch, 0x1301));
}

static void test_client_hello_tls11_no_sni(void **state)
{
	(void)state;
	struct rw_tls_client_hello ch = rw_test_client_hello(ch_tls11);

	assert_int_equal(ch.legacy_version, 0x0302);
	assert_false(ch.has_sni);
	assert_int_equal(ch.sni_len, 0);
	assert_int_equal(ch.n_alpn, 0);
	assert_int_equal(ch.n_sigalgs, 0);
	ASSERT_U16S(ch.exts, ch.n_exts, 11, 10, 35, 22, 23);
	assert_int_equal(ch.n_ciphers, 23);
	assert_int_equal(rw_tls_client_max_version(&ch), 0x0302);
	assert_false(rw_tls_client_offered_version(&ch, 0x0303));
	assert_true(rw_tls_client_offered_version(&ch, 0x0301));
}

static void test_server_hello_tls13(void **state)
{
	(void)state;
	struct rw_tls_server_hello sh = rw_test_server_hello(sh_tls13);

	assert_int_equal(sh.legacy_version, 0x0303);
	assert_int_equal(sh.version, 0x0304);
	assert_int_equal(sh.cipher, 0x1302);
	assert_int_equal(sh.compression, 0);
	ASSERT_U16S(sh.exts, sh.n_exts, 43, 51);
	assert_false(sh.is_hello_retry_request);
	assert_int_equal(sh.downgrade_sentinel, 0);
	assert_int_equal(sh.n_alpn, 0);
}

static void test_server_hello_tls12_downgrade_sentinel(void **state)
{
	(void)state;
	struct rw_tls_server_hello sh = rw_test_server_hello(sh_tls12);

	assert_int_equal(sh.version, 0x0303);
	assert_int_equal(sh.cipher, 0xc02c);
	ASSERT_U16S(sh.exts, sh.n_exts, 0xff01, 11, 35, 16, 23);
	assert_int_equal(sh.n_alpn, 1);
	assert_string_equal(sh.alpn, "h2");
	/* The server speaks 1.3 but the client asked for 1.2 only. */
	assert_int_equal(sh.downgrade_sentinel, 12);
	assert_false(sh.is_hello_retry_request);
}

static void test_server_hello_tls11_downgrade_sentinel(void **state)
{
	(void)state;
	struct rw_tls_server_hello sh = rw_test_server_hello(sh_tls11);

	assert_int_equal(sh.version, 0x0302);
	assert_int_equal(sh.cipher, 0xc00a);
	assert_int_equal(sh.downgrade_sentinel, 11);
}

static void test_hello_retry_request(void **state)
{
	(void)state;
	struct rw_tls_server_hello sh = rw_test_server_hello(sh_hrr);

	assert_true(sh.is_hello_retry_request);
	assert_int_equal(sh.version, 0x0304);
	assert_int_equal(sh.cipher, 0x1302);
	ASSERT_U16S(sh.exts, sh.n_exts, 43, 51);
	assert_int_equal(sh.downgrade_sentinel, 0);

	/* The ClientHello it answers offered only an X25519 key share. */
	struct rw_tls_client_hello ch = rw_test_client_hello(ch_hrr);
	ASSERT_U16S(ch.groups, ch.n_groups, 0x001d, 0x0017);
	assert_int_equal(ch.n_alpn, 0);
}

/* Where a body may legitimately end: right after compression_methods (no
 * extensions block, RFC 5246 7.4.1.2). */
static size_t client_no_ext_end(const uint8_t *b)
{
	size_t o = 2 + 32;
	o += 1 + b[o];
	o += 2 + rw_be16(b + o);
	o += 1 + b[o];
	return o;
}

static size_t server_no_ext_end(const uint8_t *b)
{
	return 2 + 32 + 1 + b[34] + 2 + 1;
}

/* Every proper prefix of a valid body is an error, parsed from a heap copy
 * of exactly that size so that ASan catches a read one byte too far. */
static void test_every_truncation(void **state)
{
	(void)state;
	static const struct {
		const char *hex;
		bool client;
	} v[] = {
	        {ch_tls13, true},  {ch_tls12, true},  {ch_hrr, true},  {ch_tls11, true},
	        {sh_tls13, false}, {sh_tls12, false}, {sh_hrr, false}, {sh_tls11, false},
	};
	for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
		uint8_t full[1024];
		size_t len = rw_test_hex(v[k].hex, full, sizeof(full));
		size_t ok_at = v[k].client ? client_no_ext_end(full) : server_no_ext_end(full);
		for (size_t n = 0; n <= len; n++) {
			uint8_t *p = malloc(n ? n : 1);
			assert_non_null(p);
			memcpy(p, full, n);
			struct rw_tls_client_hello ch;
			struct rw_tls_server_hello sh;
			int rc = v[k].client ? rw_tls_client_hello_parse(p, n, &ch)
			                     : rw_tls_server_hello_parse(p, n, &sh);
			if (n == len || n == ok_at)
				assert_int_equal(rc, (int)n);
			else
				assert_int_equal(rc, RW_E_LENGTH);
			free(p);
		}
	}
}

/* ---- synthetic hellos ---- */

static void test_client_hello_without_extensions(void **state)
{
	(void)state;
	struct w w;
	struct rw_tls_client_hello ch;
	ch_head(&w, 0x0301, two_ciphers, 2);
	assert_int_equal(parse_w(&w, &ch), (int)w.n);
	assert_int_equal(ch.n_exts, 0);
	assert_int_equal(ch.n_ciphers, 2);
	assert_false(ch.has_sni);
	assert_int_equal(rw_tls_client_max_version(&ch), 0x0301);

	/* An empty extensions block is also accepted. */
	w16(&w, 0);
	assert_int_equal(parse_w(&w, &ch), (int)w.n);
	assert_int_equal(ch.n_exts, 0);

	/* One byte where the block length should be: the length is cut. */
	w.n--;
	assert_int_equal(parse_w(&w, &ch), RW_E_LENGTH);
}

static void test_client_hello_header_errors(void **state)
{
	(void)state;
	struct w w;
	struct rw_tls_client_hello ch;
	static const uint16_t three[] = {0x1301, 0x1302, 0x1303};

	/* Odd cipher_suites length: patch 6 bytes into a 5-byte list. */
	ch_head(&w, 0x0303, three, 3);
	w.b[2 + 32 + 1 + 32 + 1] = 5;
	assert_int_equal(parse_w(&w, &ch), RW_E_LENGTH);

	ch_head(&w, 0x0303, NULL, 0);
	assert_int_equal(parse_w(&w, &ch), RW_E_LENGTH);

	/* Empty compression_methods. */
	ch_head(&w, 0x0303, three, 3);
	w.b[w.n - 2] = 0;
	w.n--;
	assert_int_equal(parse_w(&w, &ch), RW_E_LENGTH);

	/* Session id longer than 32. */
	ch_head(&w, 0x0303, three, 3);
	w.b[34] = 33;
	assert_int_equal(parse_w(&w, &ch), RW_E_LENGTH);

	assert_int_equal(rw_tls_client_hello_parse(w.b, 0, &ch), RW_E_LENGTH);
}

static void test_client_hello_extension_errors(void **state)
{
	(void)state;
	struct w w;
	struct rw_tls_client_hello ch;
	static const uint16_t groups[] = {0x001d, 0x0017};

	/* Baseline. */
	ch_head(&w, 0x0303, two_ciphers, 2);
	size_t blk = open16(&w);
	ext_u16s(&w, 10, 2, groups, 2);
	close16(&w, blk);
	assert_int_equal(parse_w(&w, &ch), (int)w.n);
	size_t end = w.n;

	/* Trailing byte after the extensions block. */
	w8(&w, 0);
	assert_int_equal(parse_w(&w, &ch), RW_E_TRAILING);
	w.n = end;

	/* Block length longer than the body. */
	w.b[blk - 1]++;
	assert_int_equal(parse_w(&w, &ch), RW_E_LENGTH);
	w.b[blk - 1]--;

	/* Extension length running past the block. */
	w.b[blk + 3]++;
	assert_int_equal(parse_w(&w, &ch), RW_E_LENGTH);
	w.b[blk + 3]--;

	/* Group list longer than its extension. */
	w.b[blk + 5]++;
	assert_int_equal(parse_w(&w, &ch), RW_E_LENGTH);
	w.b[blk + 5]--;

	/* Group list shorter than its extension: leftovers inside it. */
	w.b[blk + 5] -= 2;
	assert_int_equal(parse_w(&w, &ch), RW_E_TRAILING);
	w.b[blk + 5] += 2;

	/* Odd group list. */
	ch_head(&w, 0x0303, two_ciphers, 2);
	blk = open16(&w);
	ext_raw(&w, 10, "\x00\x03\x00\x1d\x00", 5);
	close16(&w, blk);
	assert_int_equal(parse_w(&w, &ch), RW_E_LENGTH);

	/* Extension header cut inside the block. */
	ch_head(&w, 0x0303, two_ciphers, 2);
	blk = open16(&w);
	w16(&w, 10);
	w8(&w, 0);
	close16(&w, blk);
	assert_int_equal(parse_w(&w, &ch), RW_E_LENGTH);

	/* Empty supported_versions means nothing and is refused. */
	ch_head(&w, 0x0303, two_ciphers, 2);
	blk = open16(&w);
	ext_u16s(&w, 43, 1, NULL, 0);
	close16(&w, blk);
	assert_int_equal(parse_w(&w, &ch), RW_E_LENGTH);

	/* SNI name running past its list. */
	ch_head(&w, 0x0303, two_ciphers, 2);
	blk = open16(&w);
	ext_raw(&w, 0, "\x00\x07\x00\x00\x09host", 9);
	close16(&w, blk);
	assert_int_equal(parse_w(&w, &ch), RW_E_LENGTH);

	/* ALPN name running past its list. */
	ch_head(&w, 0x0303, two_ciphers, 2);
	blk = open16(&w);
	ext_raw(&w, 16, "\x00\x03\x05h2", 5);
	close16(&w, blk);
	assert_int_equal(parse_w(&w, &ch), RW_E_LENGTH);

	/* Unknown extensions are skipped whatever they hold, empty included. */
	ch_head(&w, 0x0303, two_ciphers, 2);
	blk = open16(&w);
	ext_raw(&w, 0x4469, "\xff\xff\xff", 3);
	ext_raw(&w, 0x0017, NULL, 0);
	close16(&w, blk);
	assert_int_equal(parse_w(&w, &ch), (int)w.n);
	ASSERT_U16S(ch.exts, ch.n_exts, 0x4469, 0x0017);
}

static void test_client_hello_grease(void **state)
{
	(void)state;
	struct w w;
	struct rw_tls_client_hello ch;
	static const uint16_t ciphers[] = {0x0a0a, 0x1301, 0x1302};
	static const uint16_t groups[] = {0x2a2a, 0x001d};
	static const uint16_t versions[] = {0x3a3a, 0x0304, 0x0303};
	static const uint16_t sigalgs[] = {0x0403, 0x0804};

	ch_head(&w, 0x0303, ciphers, 3);
	size_t blk = open16(&w);
	ext_raw(&w, 0x1a1a, NULL, 0);
	ext_sni(&w, "rdp.example", 11);
	ext_u16s(&w, 10, 2, groups, 2);
	ext_u16s(&w, 43, 1, versions, 3);
	ext_u16s(&w, 13, 2, sigalgs, 2);
	ext_raw(&w, 0xfafa, "\x00", 1);
	close16(&w, blk);
	assert_int_equal(parse_w(&w, &ch), (int)w.n);

	assert_true(ch.has_grease);
	/* GREASE stays in the arrays; only the fingerprints skip it. */
	ASSERT_U16S(ch.ciphers, ch.n_ciphers, 0x0a0a, 0x1301, 0x1302);
	ASSERT_U16S(ch.exts, ch.n_exts, 0x1a1a, 0, 10, 43, 13, 0xfafa);
	ASSERT_U16S(ch.groups, ch.n_groups, 0x2a2a, 0x001d);
	assert_int_equal(rw_tls_client_max_version(&ch), 0x0304);
	assert_true(rw_tls_client_offered_version(&ch, 0x0303));
	assert_false(rw_tls_client_offered_version(&ch, 0x0302));

	/* GREASE only among the signature algorithms still counts. */
	static const uint16_t gsig[] = {0x0403, 0xbaba};
	ch_head(&w, 0x0303, two_ciphers, 2);
	blk = open16(&w);
	ext_u16s(&w, 13, 2, gsig, 2);
	close16(&w, blk);
	assert_int_equal(parse_w(&w, &ch), (int)w.n);
	assert_true(ch.has_grease);

	/* A version list of GREASE alone: fall back to legacy_version. */
	static const uint16_t gver[] = {0x5a5a};
	ch_head(&w, 0x0302, two_ciphers, 2);
	blk = open16(&w);
	ext_u16s(&w, 43, 1, gver, 1);
	close16(&w, blk);
	assert_int_equal(parse_w(&w, &ch), (int)w.n);
	assert_int_equal(rw_tls_client_max_version(&ch), 0x0302);

	assert_true(rw_tls_is_grease(0x0a0a));
	assert_true(rw_tls_is_grease(0xfafa));
	assert_false(rw_tls_is_grease(0x0a1a));
	assert_false(rw_tls_is_grease(0x0b0b));
}

/* Lists longer than the arrays: the first N are kept, all are counted. */
static void test_client_hello_overflowing_lists(void **state)
{
	(void)state;
	struct w w;
	struct rw_tls_client_hello ch;
	uint16_t v[300];
	for (size_t i = 0; i < 300; i++)
		v[i] = (uint16_t)(0x0100 + i);

	ch_head(&w, 0x0303, v, 300);
	size_t blk = open16(&w);
	ext_u16s(&w, 10, 2, v, 70);
	ext_u16s(&w, 13, 2, v, 70);
	ext_u16s(&w, 43, 1, v, 20);
	w16(&w, 11);
	w16(&w, 21);
	w8(&w, 20);
	for (int i = 0; i < 20; i++)
		w8(&w, (unsigned)i);
	static const char *const names[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
	ext_alpn(&w, names, 10);
	char longname[300];
	memset(longname, 'x', sizeof(longname));
	ext_sni(&w, longname, sizeof(longname));
	for (unsigned i = 0; i < 64; i++)
		ext_raw(&w, (uint16_t)(0x7000 + i), NULL, 0);
	close16(&w, blk);
	assert_int_equal(parse_w(&w, &ch), (int)w.n);

	assert_int_equal(ch.n_ciphers, 300);
	assert_int_equal(ch.ciphers[RW_TLS_MAX_CIPHERS - 1], 0x0100 + RW_TLS_MAX_CIPHERS - 1);
	assert_true(rw_tls_client_offered_cipher(&ch, 0x0100));
	assert_int_equal(ch.n_groups, 70);
	assert_int_equal(ch.groups[RW_TLS_MAX_GROUPS - 1], 0x0100 + RW_TLS_MAX_GROUPS - 1);
	assert_int_equal(ch.n_sigalgs, 70);
	assert_int_equal(ch.sigalgs[RW_TLS_MAX_SIGALGS - 1], 0x0100 + RW_TLS_MAX_SIGALGS - 1);
	assert_int_equal(ch.n_versions, 20);
	assert_int_equal(ch.versions[RW_TLS_MAX_VERSIONS - 1], 0x0100 + RW_TLS_MAX_VERSIONS - 1);
	assert_int_equal(ch.n_point_formats, 20);
	assert_int_equal(ch.point_formats[RW_TLS_MAX_POINT_FORMATS - 1],
	                 RW_TLS_MAX_POINT_FORMATS - 1);
	assert_int_equal(ch.n_alpn, 10);
	assert_string_equal(ch.alpn[RW_TLS_MAX_ALPN - 1], "h");
	assert_true(ch.has_sni);
	assert_int_equal(ch.sni_len, RW_TLS_MAX_NAME - 1);
	assert_int_equal(strlen(ch.sni), RW_TLS_MAX_NAME - 1);
	assert_int_equal(ch.n_exts, 6 + 64);
	ASSERT_U16S(ch.exts, 6, 10, 13, 43, 11, 16, 0);
	assert_int_equal(ch.exts[RW_TLS_MAX_EXTS - 1], 0x7000 + RW_TLS_MAX_EXTS - 7);
}

/* RFC 8446 4.2 forbids repeats; the first body is the one decoded. */
static void test_client_hello_duplicate_extension(void **state)
{
	(void)state;
	struct w w;
	struct rw_tls_client_hello ch;
	ch_head(&w, 0x0303, two_ciphers, 2);
	size_t blk = open16(&w);
	ext_sni(&w, "first.example", 13);
	ext_sni(&w, "second.example", 14);
	close16(&w, blk);
	assert_int_equal(parse_w(&w, &ch), (int)w.n);
	assert_int_equal(ch.n_exts, 2);
	assert_string_equal(ch.sni, "first.example");
}

static void test_offered_version_ssl3_client(void **state)
{
	(void)state;
	struct rw_tls_client_hello ch;
	memset(&ch, 0, sizeof(ch));
	ch.legacy_version = 0x0300;
	assert_true(rw_tls_client_offered_version(&ch, 0x0300));
	assert_false(rw_tls_client_offered_version(&ch, 0x0301));
	assert_int_equal(rw_tls_client_max_version(&ch), 0x0300);
}

static void sh_head(struct w *w, uint16_t version)
{
	w->n = 0;
	w16(w, version);
	for (int i = 0; i < 32; i++)
		w8(w, 0x33);
	w8(w, 0);
	w16(w, 0xc030);
	w8(w, 0);
}

static void test_server_hello_errors(void **state)
{
	(void)state;
	struct w w;
	struct rw_tls_server_hello sh;

	/* No extensions at all (TLS 1.2 servers may do that). */
	sh_head(&w, 0x0303);
	assert_int_equal(rw_tls_server_hello_parse(w.b, w.n, &sh), (int)w.n);
	assert_int_equal(sh.version, 0x0303);
	assert_int_equal(sh.cipher, 0xc030);
	assert_int_equal(sh.n_exts, 0);

	/* supported_versions must hold exactly one version. */
	sh_head(&w, 0x0303);
	size_t blk = open16(&w);
	ext_raw(&w, 43, "\x03\x04\x00", 3);
	close16(&w, blk);
	assert_int_equal(rw_tls_server_hello_parse(w.b, w.n, &sh), RW_E_TRAILING);
	sh_head(&w, 0x0303);
	blk = open16(&w);
	ext_raw(&w, 43, "\x03", 1);
	close16(&w, blk);
	assert_int_equal(rw_tls_server_hello_parse(w.b, w.n, &sh), RW_E_LENGTH);

	/* Trailing bytes after the block. */
	sh_head(&w, 0x0303);
	blk = open16(&w);
	ext_raw(&w, 0xff01, "\x00", 1);
	close16(&w, blk);
	w8(&w, 0);
	assert_int_equal(rw_tls_server_hello_parse(w.b, w.n, &sh), RW_E_TRAILING);

	/* Session id longer than 32. */
	sh_head(&w, 0x0303);
	w.b[34] = 33;
	assert_int_equal(rw_tls_server_hello_parse(w.b, w.n, &sh), RW_E_LENGTH);

	/* A downgrade-like random with a last byte that is neither 0 nor 1. */
	sh_head(&w, 0x0303);
	memcpy(w.b + 2 + 24, "DOWNGRD\x02", 8);
	assert_int_equal(rw_tls_server_hello_parse(w.b, w.n, &sh), (int)w.n);
	assert_int_equal(sh.downgrade_sentinel, 0);
	memcpy(w.b + 2 + 24, "DOWNGRD\x01", 8);
	assert_int_equal(rw_tls_server_hello_parse(w.b, w.n, &sh), (int)w.n);
	assert_int_equal(sh.downgrade_sentinel, 12);
}

/* ---- names ---- */

static void test_cipher_names(void **state)
{
	(void)state;
	assert_string_equal(rw_tls_cipher_name(0x0000), "TLS_NULL_WITH_NULL_NULL");
	assert_string_equal(rw_tls_cipher_name(0x000a), "TLS_RSA_WITH_3DES_EDE_CBC_SHA");
	assert_string_equal(rw_tls_cipher_name(0x0005), "TLS_RSA_WITH_RC4_128_SHA");
	assert_string_equal(rw_tls_cipher_name(0x002f), "TLS_RSA_WITH_AES_128_CBC_SHA");
	assert_string_equal(rw_tls_cipher_name(0x003c), "TLS_RSA_WITH_AES_128_CBC_SHA256");
	assert_string_equal(rw_tls_cipher_name(0x009d), "TLS_RSA_WITH_AES_256_GCM_SHA384");
	assert_string_equal(rw_tls_cipher_name(0x00ff), "TLS_EMPTY_RENEGOTIATION_INFO_SCSV");
	assert_string_equal(rw_tls_cipher_name(0x1301), "TLS_AES_128_GCM_SHA256");
	assert_string_equal(rw_tls_cipher_name(0x1302), "TLS_AES_256_GCM_SHA384");
	assert_string_equal(rw_tls_cipher_name(0x1303), "TLS_CHACHA20_POLY1305_SHA256");
	assert_string_equal(rw_tls_cipher_name(0x1305), "TLS_AES_128_CCM_8_SHA256");
	assert_string_equal(rw_tls_cipher_name(0x5600), "TLS_FALLBACK_SCSV");
	assert_string_equal(rw_tls_cipher_name(0xc014), "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA");
	assert_string_equal(rw_tls_cipher_name(0xc028), "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384");
	assert_string_equal(rw_tls_cipher_name(0xc030), "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
	assert_string_equal(rw_tls_cipher_name(0xcca8),
	                    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
	assert_string_equal(rw_tls_cipher_name(0xccae),
	                    "TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256");
	assert_null(rw_tls_cipher_name(0x0a0a));
	assert_null(rw_tls_cipher_name(0xffff));
	assert_null(rw_tls_cipher_name(0x1300));
}

static void test_version_names(void **state)
{
	(void)state;
	assert_string_equal(rw_tls_version_name(0x0002), "ssl2");
	assert_string_equal(rw_tls_version_name(0x0300), "ssl3");
	assert_string_equal(rw_tls_version_name(0x0301), "1.0");
	assert_string_equal(rw_tls_version_name(0x0302), "1.1");
	assert_string_equal(rw_tls_version_name(0x0303), "1.2");
	assert_string_equal(rw_tls_version_name(0x0304), "1.3");
	assert_null(rw_tls_version_name(0x0305));
	assert_null(rw_tls_version_name(0x7f1c));
	assert_null(rw_tls_version_name(0x0a0a));
}

static void test_alert_names(void **state)
{
	(void)state;
	static const struct {
		uint8_t code;
		const char *name;
	} v[] = {
	        {0, "close_notify"},
	        {10, "unexpected_message"},
	        {20, "bad_record_mac"},
	        {21, "decryption_failed"},
	        {22, "record_overflow"},
	        {30, "decompression_failure"},
	        {40, "handshake_failure"},
	        {41, "no_certificate"},
	        {42, "bad_certificate"},
	        {43, "unsupported_certificate"},
	        {44, "certificate_revoked"},
	        {45, "certificate_expired"},
	        {46, "certificate_unknown"},
	        {47, "illegal_parameter"},
	        {48, "unknown_ca"},
	        {49, "access_denied"},
	        {50, "decode_error"},
	        {51, "decrypt_error"},
	        {60, "export_restriction"},
	        {70, "protocol_version"},
	        {71, "insufficient_security"},
	        {80, "internal_error"},
	        {86, "inappropriate_fallback"},
	        {90, "user_canceled"},
	        {100, "no_renegotiation"},
	        {109, "missing_extension"},
	        {110, "unsupported_extension"},
	        {111, "certificate_unobtainable"},
	        {112, "unrecognized_name"},
	        {113, "bad_certificate_status_response"},
	        {114, "bad_certificate_hash_value"},
	        {115, "unknown_psk_identity"},
	        {116, "certificate_required"},
	        {120, "no_application_protocol"},
	        {121, "ech_required"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		assert_string_equal(rw_tls_alert_name(v[i].code), v[i].name);
	assert_null(rw_tls_alert_name(1));
	assert_null(rw_tls_alert_name(255));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_client_hello_openssl_tls13),
	        cmocka_unit_test(test_client_hello_openssl_tls12_only),
	        cmocka_unit_test(test_client_hello_tls11_no_sni),
	        cmocka_unit_test(test_server_hello_tls13),
	        cmocka_unit_test(test_server_hello_tls12_downgrade_sentinel),
	        cmocka_unit_test(test_server_hello_tls11_downgrade_sentinel),
	        cmocka_unit_test(test_hello_retry_request),
	        cmocka_unit_test(test_every_truncation),
	        cmocka_unit_test(test_client_hello_without_extensions),
	        cmocka_unit_test(test_client_hello_header_errors),
	        cmocka_unit_test(test_client_hello_extension_errors),
	        cmocka_unit_test(test_client_hello_grease),
	        cmocka_unit_test(test_client_hello_overflowing_lists),
	        cmocka_unit_test(test_client_hello_duplicate_extension),
	        cmocka_unit_test(test_offered_version_ssl3_client),
	        cmocka_unit_test(test_server_hello_errors),
	        cmocka_unit_test(test_cipher_names),
	        cmocka_unit_test(test_version_names),
	        cmocka_unit_test(test_alert_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
