/* JA3, JA3S and JA4 against published vectors and against tshark.
 *
 * Sources of the expected values:
 * - JA3/JA3S: the salesforce/ja3 README examples (strings and MD5s), and
 *   tshark 4.0.17's tls.handshake.ja3_full / ja3 / ja3s_full / ja3s on the
 *   captures below.
 * - JA4: the example in FoxIO-LLC/ja4 technical_details/JA4.md (lists given in
 *   the spec, both the with- and without-signature-algorithms hashes); tshark
 *   4.0 has no JA4, so for the captures the expected JA4 was computed by an
 *   independent script written from the same spec (and checked to reproduce
 *   tshark's JA3 on the same bytes).
 * - Captures (tcpdump on lo, OpenSSL 3.0.22; each body is tshark's
 *   tcp.payload minus the 5-byte record and 4-byte handshake headers):
 *     ch/sh_tls13  s_client -servername example.test -alpn h2,http/1.1
 *                  against s_server -alpn h2
 *     ch/sh_tls12  the same client with -tls1_2 (server still allows 1.3, so
 *                  its random carries the DOWNGRD\1 sentinel)
 *     ch/sh_hrr    s_client -groups X25519:P-256 against s_server -groups P-256:
 *                  first ClientHello and the HelloRetryRequest
 *     ch/sh_tls11  s_client -tls1_1 -cipher ALL:@SECLEVEL=0 (no SNI: no
 *                  -servername), server answers with the DOWNGRD\0 sentinel */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"
#include "tls_hello.h"

#define SET16(ch, field, ...)                                                                      \
	do {                                                                                       \
		static const uint16_t v_[] = {__VA_ARGS__};                                        \
		memcpy((ch)->field, v_, sizeof(v_));                                               \
		(ch)->n_##field = sizeof(v_) / sizeof(v_[0]);                                      \
	} while (0)

/* Captured on loopback between OpenSSL 3.0.22 s_client and s_server (see the
 * header comment); each string is one handshake body. */
static const char ch_tls13[] = /* 327 bytes */
        "03 03 fb 28 e1 9a d0 37 94 e6 5c 61 a7 1d 0a 19 0b 1a ec 64 c4 88 63 c8 "
        "71 56 c5 7b 12 47 2c 5f df 22 20 d6 2f 3f 75 ad ef d7 57 fe a0 e4 26 3b "
        "3d 47 20 a0 c3 a9 75 1b 08 cf 70 37 f1 de b6 9e 89 8d 89 00 3e 13 02 13 "
        "03 13 01 c0 2c c0 30 00 9f cc a9 cc a8 cc aa c0 2b c0 2f 00 9e c0 24 c0 "
        "28 00 6b c0 23 c0 27 00 67 c0 0a c0 14 00 39 c0 09 c0 13 00 33 00 9d 00 "
        "9c 00 3d 00 3c 00 35 00 2f 00 ff 01 00 00 c0 00 00 00 11 00 0f 00 00 0c "
        "65 78 61 6d 70 6c 65 2e 74 65 73 74 00 0b 00 04 03 00 01 02 00 0a 00 16 "
        "00 14 00 1d 00 17 00 1e 00 19 00 18 01 00 01 01 01 02 01 03 01 04 00 23 "
        "00 00 00 10 00 0e 00 0c 02 68 32 08 68 74 74 70 2f 31 2e 31 00 16 00 00 "
        "00 17 00 00 00 0d 00 2a 00 28 04 03 05 03 06 03 08 07 08 08 08 09 08 0a "
        "08 0b 08 04 08 05 08 06 04 01 05 01 06 01 03 03 03 01 03 02 04 02 05 02 "
        "06 02 00 2b 00 09 08 03 04 03 03 03 02 03 01 00 2d 00 02 01 01 00 33 00 "
        "26 00 24 00 1d 00 20 d5 ea e5 67 53 71 24 12 2f b9 ee 80 33 f3 a9 6c 73 "
        "56 9b 43 9a 19 89 37 e7 f4 fe f0 ad 50 6e 3d";

static const char sh_tls13[] = /* 118 bytes */
        "03 03 55 14 46 6f b3 cf 67 42 8a f5 96 bc a7 e3 df c9 db be a3 c6 ae a0 "
        "95 63 19 f8 be c4 a1 8e 22 00 20 d6 2f 3f 75 ad ef d7 57 fe a0 e4 26 3b "
        "3d 47 20 a0 c3 a9 75 1b 08 cf 70 37 f1 de b6 9e 89 8d 89 13 02 00 00 2e "
        "00 2b 00 02 03 04 00 33 00 24 00 1d 00 20 d2 3a b9 75 83 52 85 e1 95 5c "
        "d2 56 71 bc c5 98 79 4e 8c d8 c9 cd 47 c6 5d 83 2f 8d f6 5e f5 0d";

static const char ch_tls12[] = /* 218 bytes */
        "03 03 d2 26 64 3b c6 63 9e 8e 8b 3c 88 33 6f 98 c0 90 cd c8 06 00 d4 04 "
        "50 ee c8 ac 86 76 29 34 a1 e7 00 00 38 c0 2c c0 30 00 9f cc a9 cc a8 cc "
        "aa c0 2b c0 2f 00 9e c0 24 c0 28 00 6b c0 23 c0 27 00 67 c0 0a c0 14 00 "
        "39 c0 09 c0 13 00 33 00 9d 00 9c 00 3d 00 3c 00 35 00 2f 00 ff 01 00 00 "
        "79 00 00 00 11 00 0f 00 00 0c 65 78 61 6d 70 6c 65 2e 74 65 73 74 00 0b "
        "00 04 03 00 01 02 00 0a 00 0c 00 0a 00 1d 00 17 00 1e 00 19 00 18 00 23 "
        "00 00 00 10 00 0e 00 0c 02 68 32 08 68 74 74 70 2f 31 2e 31 00 16 00 00 "
        "00 17 00 00 00 0d 00 2a 00 28 04 03 05 03 06 03 08 07 08 08 08 09 08 0a "
        "08 0b 08 04 08 05 08 06 04 01 05 01 06 01 03 03 03 01 03 02 04 02 05 02 "
        "06 02";

static const char sh_tls12[] = /* 70 bytes */
        "03 03 f7 6f bb a2 f2 bf 08 09 b5 e5 19 a6 7e d9 91 05 d8 c7 1f 2b 7e c5 "
        "00 c0 44 4f 57 4e 47 52 44 01 00 c0 2c 00 00 1e ff 01 00 01 00 00 0b 00 "
        "04 03 00 01 02 00 23 00 00 00 10 00 05 00 03 02 68 32 00 17 00 00";

static const char ch_hrr[] = /* 293 bytes */
        "03 03 d1 35 d3 04 03 13 69 c5 d8 f5 8a 99 3b 4f c4 55 e0 38 df 9d 1d ac "
        "e9 b7 39 2c f0 00 ed 62 60 cf 20 ab 6c 4e d6 ca 4e 29 48 16 ca 01 08 54 "
        "2b ce b5 1a 8b a7 10 54 b9 bb ee 46 5f 4c 20 55 a3 6f c1 00 3e 13 02 13 "
        "03 13 01 c0 2c c0 30 00 9f cc a9 cc a8 cc aa c0 2b c0 2f 00 9e c0 24 c0 "
        "28 00 6b c0 23 c0 27 00 67 c0 0a c0 14 00 39 c0 09 c0 13 00 33 00 9d 00 "
        "9c 00 3d 00 3c 00 35 00 2f 00 ff 01 00 00 9e 00 00 00 11 00 0f 00 00 0c "
        "65 78 61 6d 70 6c 65 2e 74 65 73 74 00 0b 00 04 03 00 01 02 00 0a 00 06 "
        "00 04 00 1d 00 17 00 23 00 00 00 16 00 00 00 17 00 00 00 0d 00 2a 00 28 "
        "04 03 05 03 06 03 08 07 08 08 08 09 08 0a 08 0b 08 04 08 05 08 06 04 01 "
        "05 01 06 01 03 03 03 01 03 02 04 02 05 02 06 02 00 2b 00 09 08 03 04 03 "
        "03 03 02 03 01 00 2d 00 02 01 01 00 33 00 26 00 24 00 1d 00 20 c9 be 6e "
        "b7 89 78 df 78 6a a6 92 54 60 8d 8c 41 3c d7 9e be 26 6f 8b b1 0a bf 6e "
        "4c e3 6a b5 5e";

static const char sh_hrr[] = /* 84 bytes */
        "03 03 cf 21 ad 74 e5 9a 61 11 be 1d 8c 02 1e 65 b8 91 c2 a2 11 16 7a bb "
        "8c 5e 07 9e 09 e2 c8 a8 33 9c 20 ab 6c 4e d6 ca 4e 29 48 16 ca 01 08 54 "
        "2b ce b5 1a 8b a7 10 54 b9 bb ee 46 5f 4c 20 55 a3 6f c1 13 02 00 00 0c "
        "00 2b 00 02 03 04 00 33 00 02 00 17";

static const char ch_tls11[] = /* 123 bytes */
        "03 02 73 2f a7 a2 8c a8 3f d1 e8 47 01 67 64 c4 2d 0e 74 bc b8 d0 8b f3 "
        "06 c0 6a 23 b7 5c d2 9c 33 61 00 00 2e c0 0a c0 14 00 39 00 38 00 88 00 "
        "87 c0 19 00 3a 00 89 c0 09 c0 13 00 33 00 32 00 45 00 44 c0 18 00 34 00 "
        "46 00 35 00 84 00 2f 00 41 00 ff 01 00 00 24 00 0b 00 04 03 00 01 02 00 "
        "0a 00 0c 00 0a 00 1d 00 17 00 1e 00 19 00 18 00 23 00 00 00 16 00 00 00 "
        "17 00 00";

static const char sh_tls11[] = /* 65 bytes */
        "03 02 69 05 14 dc 2c 5b 12 09 1e 61 07 9c 18 57 6e 60 17 10 0a a7 fd 93 "
        "84 ed 44 4f 57 4e 47 52 44 00 00 c0 0a 00 00 19 ff 01 00 01 00 00 0b 00 "
        "04 03 00 01 02 00 23 00 00 00 16 00 00 00 17 00 00";

static struct rw_tls_client_hello parse_ch(const char *hex)
{
	uint8_t buf[1024];
	size_t n = rw_test_hex(hex, buf, sizeof(buf));
	struct rw_tls_client_hello ch;
	assert_int_equal(rw_tls_client_hello_parse(buf, n, &ch), (int)n);
	return ch;
}

static struct rw_tls_server_hello parse_sh(const char *hex)
{
	uint8_t buf[1024];
	size_t n = rw_test_hex(hex, buf, sizeof(buf));
	struct rw_tls_server_hello sh;
	assert_int_equal(rw_tls_server_hello_parse(buf, n, &sh), (int)n);
	return sh;
}

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

static void test_ja3_readme_vectors(void **state)
{
	(void)state;
	struct rw_tls_client_hello ch;
	char s[RW_JA3_STR_MAX], md5[33];

	memset(&ch, 0, sizeof(ch));
	ch.legacy_version = 769;
	SET16(&ch, ciphers, 47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4);
	SET16(&ch, exts, 0, 10, 11);
	SET16(&ch, groups, 23, 24, 25);
	ch.n_point_formats = 1;
	rw_ja3(&ch, s, sizeof(s), md5);
	assert_string_equal(s,
	                    "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0");
	assert_string_equal(md5, "ada70206e40642a3e4461f35503241d5");

	/* No extensions: the last three fields stay empty. */
	memset(&ch, 0, sizeof(ch));
	ch.legacy_version = 769;
	SET16(&ch, ciphers, 4, 5, 10, 9, 100, 98, 3, 6, 19, 18, 99);
	rw_ja3(&ch, s, sizeof(s), md5);
	assert_string_equal(s, "769,4-5-10-9-100-98-3-6-19-18-99,,,");
	assert_string_equal(md5, "de350869b8c85de67a350c8d186f11e6");
}

static void test_ja3s_readme_vector(void **state)
{
	(void)state;
	struct rw_tls_server_hello sh;
	char s[RW_JA3_STR_MAX], md5[33];
	memset(&sh, 0, sizeof(sh));
	sh.legacy_version = 769;
	sh.cipher = 47;
	SET16(&sh, exts, 65281, 0, 11, 35, 5, 16);
	rw_ja3s(&sh, s, sizeof(s), md5);
	assert_string_equal(s, "769,47,65281-0-11-35-5-16");
	assert_string_equal(md5, "836ce314215654b5b1f85f97c73e506f");
}

static void check_ja3(const char *hex, const char *full, const char *md5_want)
{
	struct rw_tls_client_hello ch = parse_ch(hex);
	char s[RW_JA3_STR_MAX], md5[33];
	rw_ja3(&ch, s, sizeof(s), md5);
	assert_string_equal(s, full);
	assert_string_equal(md5, md5_want);
}

static void check_ja3s(const char *hex, const char *full, const char *md5_want)
{
	struct rw_tls_server_hello sh = parse_sh(hex);
	char s[RW_JA3_STR_MAX], md5[33];
	rw_ja3s(&sh, s, sizeof(s), md5);
	assert_string_equal(s, full);
	assert_string_equal(md5, md5_want);
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
	struct rw_tls_client_hello ch = parse_ch(ch_tls12);
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
		struct rw_tls_client_hello ch = parse_ch(v[i].hex);
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
