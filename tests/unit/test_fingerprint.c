/* JA3, JA3S and JA4 against published vectors and against tshark.
 *
 * Sources of the expected values:
 * - JA3/JA3S: the salesforce/ja3 README examples (strings and MD5s), and
 *   tshark 4.0.17's tls.handshake.ja3_full / ja3 / ja3s_full / ja3s on the
 *   captured hellos of tls_vectors.h.
 * - JA4: the example in FoxIO-LLC/ja4 technical_details/JA4.md (lists given in
 *   the spec, both the with- and without-signature-algorithms hashes); tshark
 *   4.0 has no JA4, so for the captures the expected JA4 was computed by an
 *   independent script written from the same spec (and checked to reproduce
 *   tshark's JA3 on the same bytes). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tls_hello.h"
#include "tls_vectors.h"

#define SET16(ch, field, ...)                                                                      \
	do {                                                                                       \
		static const uint16_t v_[] = {__VA_ARGS__};                                        \
		memcpy((ch)->field, v_, sizeof(v_));                                               \
		(ch)->n_##field = sizeof(v_) / sizeof(v_[0]);                                      \
	} while (0)

/* The ClientHello of the JA4 spec example, from its lists. */
static void ja4_spec_hello(struct rw_tls_client_hello *ch)
{
	memset(ch, 0, sizeof(*ch));
	ch->legacy_version = 0x0303;
	SET16(ch, ciphers, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
	      0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035);
	SET16(ch, exts, 0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005,
	      0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015);
	SET16(ch, sigalgs, 0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601);
	SET16(ch, versions, 0x0304, 0x0303);
	SET16(ch, groups, 0x001d, 0x0017, 0x0018);
	ch->n_point_formats = 1;
	ch->has_sni = true;
	strcpy(ch->sni, "example.com");
	ch->sni_len = 11;
	ch->n_alpn = 2;
	strcpy(ch->alpn[0], "h2");
	ch->alpn_len[0] = 2;
	strcpy(ch->alpn[1], "http/1.1");
	ch->alpn_len[1] = 8;
}

/* The JA3 / JA3S string of a hello and its MD5. */
static void assert_ja3(const struct rw_tls_client_hello *ch, const char *full, const char *md5_want)
{
	char s[RW_JA3_STR_MAX], md5[33];
	rw_ja3(ch, s, sizeof(s), md5);
	assert_string_equal(s, full);
	assert_string_equal(md5, md5_want);
}

static void assert_ja3s(const struct rw_tls_server_hello *sh, const char *full,
                        const char *md5_want)
{
	char s[RW_JA3_STR_MAX], md5[33];
	rw_ja3s(sh, s, sizeof(s), md5);
	assert_string_equal(s, full);
	assert_string_equal(md5, md5_want);
}

static void test_ja3_readme_vectors(void **state)
{
	(void)state;
	struct rw_tls_client_hello ch;

	memset(&ch, 0, sizeof(ch));
	ch.legacy_version = 769;
	SET16(&ch, ciphers, 47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4);
	SET16(&ch, exts, 0, 10, 11);
	SET16(&ch, groups, 23, 24, 25);
	ch.n_point_formats = 1;
	assert_ja3(&ch, "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0",
	           "ada70206e40642a3e4461f35503241d5");

	/* No extensions: the last three fields stay empty. */
	memset(&ch, 0, sizeof(ch));
	ch.legacy_version = 769;
	SET16(&ch, ciphers, 4, 5, 10, 9, 100, 98, 3, 6, 19, 18, 99);
	assert_ja3(&ch, "769,4-5-10-9-100-98-3-6-19-18-99,,,", "de350869b8c85de67a350c8d186f11e6");
}

static void test_ja3s_readme_vector(void **state)
{
	(void)state;
	struct rw_tls_server_hello sh;
	memset(&sh, 0, sizeof(sh));
	sh.legacy_version = 769;
	sh.cipher = 47;
	SET16(&sh, exts, 65281, 0, 11, 35, 5, 16);
	assert_ja3s(&sh, "769,47,65281-0-11-35-5-16", "836ce314215654b5b1f85f97c73e506f");
}

static void check_ja3(const char *hex, const char *full, const char *md5_want)
{
	struct rw_tls_client_hello ch = rw_test_client_hello(hex);
	assert_ja3(&ch, full, md5_want);
}

static void check_ja3s(const char *hex, const char *full, const char *md5_want)
{
	struct rw_tls_server_hello sh = rw_test_server_hello(hex);
	assert_ja3s(&sh, full, md5_want);
}

/* Expected strings are tshark's, verbatim. */
static void test_ja3_matches_tshark(void **state)
{
	(void)state;
	check_ja3(ch_tls13,
	          "771,4866-4867-4865-49196-49200-159-52393-52392-52394-49195-49199-158-49188-"
	          "49192-107-49187-49191-103-49162-49172-57-49161-49171-51-157-156-61-60-53-47-"
	          "255,0-11-10-35-16-22-23-13-43-45-51,29-23-30-25-24-256-257-258-259-260,0-1-2",
	          "5a1edc7f170af1014fc65c994878e63c");
	check_ja3(ch_tls12,
	          "771,49196-49200-159-52393-52392-52394-49195-49199-158-49188-49192-107-49187-"
	          "49191-103-49162-49172-57-49161-49171-51-157-156-61-60-53-47-255,0-11-10-35-16-"
	          "22-23-13,29-23-30-25-24,0-1-2",
	          "22558766122974704364c9c75c5cce0a");
	check_ja3(ch_hrr,
	          "771,4866-4867-4865-49196-49200-159-52393-52392-52394-49195-49199-158-49188-"
	          "49192-107-49187-49191-103-49162-49172-57-49161-49171-51-157-156-61-60-53-47-"
	          "255,0-11-10-35-22-23-13-43-45-51,29-23,0-1-2",
	          "a766c0cb08b7143fcaf7ee210298ded8");
	check_ja3(ch_tls11,
	          "770,49162-49172-57-56-136-135-49177-58-137-49161-49171-51-50-69-68-49176-52-"
	          "70-53-132-47-65-255,11-10-35-22-23,29-23-30-25-24,0-1-2",
	          "1cc6e836247808b61d8e8dfbc48ad934");
}

static void test_ja3s_matches_tshark(void **state)
{
	(void)state;
	check_ja3s(sh_tls13, "771,4866,43-51", "15af977ce25de452b96affa2addb1036");
	check_ja3s(sh_hrr, "771,4866,43-51", "15af977ce25de452b96affa2addb1036");
	check_ja3s(sh_tls12, "771,49196,65281-11-35-16-23", "e195432758194ce2d482396b82e0d48e");
	check_ja3s(sh_tls11, "770,49162,65281-11-35-22-23", "19421187c5a923c7fc5cea82cf7f2602");
}

static void test_ja3_hash_covers_whole_string(void **state)
{
	(void)state;
	struct rw_tls_client_hello ch = rw_test_client_hello(ch_tls12);
	char s[10], md5[33];
	rw_ja3(&ch, s, sizeof(s), md5);
	assert_string_equal(s, "771,49196");
	assert_string_equal(md5, "22558766122974704364c9c75c5cce0a");
	rw_ja3(&ch, NULL, 0, md5);
	assert_string_equal(md5, "22558766122974704364c9c75c5cce0a");
}

static void test_ja4_spec_example(void **state)
{
	(void)state;
	struct rw_tls_client_hello ch;
	char ja4[40];
	ja4_spec_hello(&ch);
	rw_ja4(&ch, 't', ja4);
	assert_string_equal(ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1");

	/* The spec's variant without signature algorithms: no '_' before the
	 * (empty) list, hash of the extensions alone. */
	ch.n_sigalgs = 0;
	rw_ja4(&ch, 't', ja4);
	assert_string_equal(ja4, "t13d1516h2_8daaf6152771_6d807ffa2a79");

	ja4_spec_hello(&ch);
	rw_ja4(&ch, 'q', ja4);
	assert_string_equal(ja4, "q13d1516h2_8daaf6152771_e5627efa2ab1");
}

static void test_ja4_captures(void **state)
{
	(void)state;
	static const struct {
		const char *hex, *ja4;
	} v[] = {
	        {ch_tls13, "t13d3111h2_e8f1e7e78f70_1f22a2ca17c4"},
	        {ch_tls12, "t12d2808h2_d943125447b4_e7e480e5a997"},
	        {ch_hrr, "t13d311000_e8f1e7e78f70_1f22a2ca17c4"},
	        {ch_tls11, "t11i230500_44099cda8a52_195413a0cc0f"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct rw_tls_client_hello ch = rw_test_client_hello(v[i].hex);
		char ja4[40];
		rw_ja4(&ch, 't', ja4);
		assert_string_equal(ja4, v[i].ja4);
	}
}

/* RFC 8701 values sprinkled everywhere must not change any fingerprint. */
static void test_grease_excluded(void **state)
{
	(void)state;
	struct rw_tls_client_hello clean, g;
	char s1[RW_JA3_STR_MAX], s2[RW_JA3_STR_MAX], m1[33], m2[33], j1[40], j2[40];

	ja4_spec_hello(&clean);
	ja4_spec_hello(&g);
	SET16(&g, ciphers, 0x0a0a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9,
	      0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035);
	SET16(&g, exts, 0x1a1a, 0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d,
	      0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015, 0xfafa);
	SET16(&g, sigalgs, 0x4a4a, 0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601);
	SET16(&g, versions, 0x3a3a, 0x0304, 0x0303);
	SET16(&g, groups, 0x2a2a, 0x001d, 0x0017, 0x0018);
	g.has_grease = true;

	rw_ja3(&clean, s1, sizeof(s1), m1);
	rw_ja3(&g, s2, sizeof(s2), m2);
	assert_string_equal(s1, s2);
	assert_string_equal(m1, m2);
	rw_ja4(&clean, 't', j1);
	rw_ja4(&g, 't', j2);
	assert_string_equal(j2, "t13d1516h2_8daaf6152771_e5627efa2ab1");
	assert_string_equal(j1, j2);
}

static void alpn_case(const uint8_t *name, size_t len, const char *want)
{
	struct rw_tls_client_hello ch;
	char ja4[40];
	ja4_spec_hello(&ch);
	memcpy(ch.alpn[0], name, len);
	ch.alpn[0][len] = '\0';
	ch.alpn_len[0] = (uint8_t)len;
	rw_ja4(&ch, 't', ja4);
	assert_memory_equal(ja4 + 8, want, 2);
}

/* The ALPN rules and examples of JA4.md "ALPN Extension Value". */
static void test_ja4_alpn(void **state)
{
	(void)state;
	alpn_case((const uint8_t *)"http/1.1", 8, "h1");
	alpn_case((const uint8_t *)"h2", 2, "h2");
	alpn_case((const uint8_t *)"h", 1, "hh");
	alpn_case((const uint8_t *)"", 0, "00");
	alpn_case((const uint8_t[]){0xab}, 1, "ab");
	alpn_case((const uint8_t[]){0xab, 0xcd}, 2, "ad");
	alpn_case((const uint8_t[]){0x30, 0xab}, 2, "3b");
	alpn_case((const uint8_t[]){0x30, 0x31, 0xab, 0xcd}, 4, "3d");
	alpn_case((const uint8_t[]){0x30, 0xab, 0xcd, 0x31}, 4, "01");

	struct rw_tls_client_hello ch;
	char ja4[40];
	ja4_spec_hello(&ch);
	ch.n_alpn = 0;
	rw_ja4(&ch, 't', ja4);
	assert_memory_equal(ja4 + 8, "00", 2);
}

static void test_ja4_edges(void **state)
{
	(void)state;
	struct rw_tls_client_hello ch;
	char ja4[40];

	/* Only GREASE ciphers and no extension at all: both hashes are zeros. */
	memset(&ch, 0, sizeof(ch));
	ch.legacy_version = 0x0301;
	SET16(&ch, ciphers, 0x0a0a);
	rw_ja4(&ch, 't', ja4);
	assert_string_equal(ja4, "t10i000000_000000000000_000000000000");

	/* SNI and ALPN alone leave ja4_c empty too, but they are counted. */
	SET16(&ch, exts, 0x0000, 0x0010);
	ch.has_sni = true;
	rw_ja4(&ch, 't', ja4);
	assert_string_equal(ja4, "t10d000200_000000000000_000000000000");

	ch.legacy_version = 0x0300;
	rw_ja4(&ch, 't', ja4);
	assert_memory_equal(ja4, "ts3", 3);
	ch.legacy_version = 0x0305;
	rw_ja4(&ch, 't', ja4);
	assert_memory_equal(ja4, "t00", 3);

	/* supported_versions wins over legacy_version; GREASE there is skipped. */
	ch.legacy_version = 0x0303;
	SET16(&ch, versions, 0x0303, 0x7a7a, 0x0304);
	rw_ja4(&ch, 't', ja4);
	assert_memory_equal(ja4, "t13", 3);

	/* Counts are capped at 99, including values past the kept arrays. */
	ch.n_ciphers = 150;
	for (size_t i = 0; i < RW_TLS_MAX_CIPHERS; i++)
		ch.ciphers[i] = (uint16_t)(0x0100 + i);
	ch.n_exts = 120;
	for (size_t i = 0; i < RW_TLS_MAX_EXTS; i++)
		ch.exts[i] = (uint16_t)(0x0100 + i);
	rw_ja4(&ch, 't', ja4);
	assert_memory_equal(ja4, "t13d9999", 8);
	ch.n_exts = RW_TLS_MAX_EXTS + 3;
	rw_ja4(&ch, 't', ja4);
	assert_memory_equal(ja4, "t13d9967", 8);
	assert_int_equal(strlen(ja4), 36);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_ja3_readme_vectors),
	        cmocka_unit_test(test_ja3s_readme_vector),
	        cmocka_unit_test(test_ja3_matches_tshark),
	        cmocka_unit_test(test_ja3s_matches_tshark),
	        cmocka_unit_test(test_ja3_hash_covers_whole_string),
	        cmocka_unit_test(test_ja4_spec_example),
	        cmocka_unit_test(test_ja4_captures),
	        cmocka_unit_test(test_grease_excluded),
	        cmocka_unit_test(test_ja4_alpn),
	        cmocka_unit_test(test_ja4_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
