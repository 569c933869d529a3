/* NTLM NEGOTIATE builder and CHALLENGE decoder against MS-NLMP 2.2.1.1,
 * 2.2.1.2, 2.2.2.1 and 2.2.2.10, with vectors written from the spec. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "check.h"
#include "ntlm.h"
#include "rw_types.h"

#define U(c) (c), 0 /* one UTF-16LE code unit of an ASCII character */

/* A CHALLENGE_MESSAGE as a domain-joined Windows Server 2019 host sends it
 * to an NLA client: host RDP-HOST in domain CORP (corp.example.com). */
static const uint8_t win2019[] = {
        /* 0: Signature "NTLMSSP\0", MessageType 2 */
        'N',
        'T',
        'L',
        'M',
        'S',
        'S',
        'P',
        0,
        0x02,
        0x00,
        0x00,
        0x00,
        /* 12: TargetNameFields: Len 8, MaxLen 8, BufferOffset 56 */
        0x08,
        0x00,
        0x08,
        0x00,
        0x38,
        0x00,
        0x00,
        0x00,
        /* 20: NegotiateFlags 0xE2898215: 56, KEY_EXCH, 128, VERSION, TARGET_INFO,
         * EXTENDED_SESSIONSECURITY, TARGET_TYPE_DOMAIN, ALWAYS_SIGN, NTLM, SIGN,
         * REQUEST_TARGET, UNICODE */
        0x15,
        0x82,
        0x89,
        0xE2,
        /* 24: ServerChallenge */
        0x01,
        0x23,
        0x45,
        0x67,
        0x89,
        0xAB,
        0xCD,
        0xEF,
        /* 32: Reserved */
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        /* 40: TargetInfoFields: Len 174, MaxLen 174, BufferOffset 64 */
        0xAE,
        0x00,
        0xAE,
        0x00,
        0x40,
        0x00,
        0x00,
        0x00,
        /* 48: VERSION 10.0 build 17763 (0x4563), reserved, NTLMSSP_REVISION_W2K3 */
        10,
        0,
        0x63,
        0x45,
        0,
        0,
        0,
        0x0F,
        /* 56: TargetName "CORP" */
        U('C'),
        U('O'),
        U('R'),
        U('P'),
        /* 64: TargetInfo. MsvAvNbDomainName (2), 8 bytes: "CORP" */
        0x02,
        0x00,
        0x08,
        0x00,
        U('C'),
        U('O'),
        U('R'),
        U('P'),
        /* MsvAvNbComputerName (1), 16 bytes: "RDP-HOST" */
        0x01,
        0x00,
        0x10,
        0x00,
        U('R'),
        U('D'),
        U('P'),
        U('-'),
        U('H'),
        U('O'),
        U('S'),
        U('T'),
        /* MsvAvDnsDomainName (4), 32 bytes: "corp.example.com" */
        0x04,
        0x00,
        0x20,
        0x00,
        U('c'),
        U('o'),
        U('r'),
        U('p'),
        U('.'),
        U('e'),
        U('x'),
        U('a'),
        U('m'),
        U('p'),
        U('l'),
        U('e'),
        U('.'),
        U('c'),
        U('o'),
        U('m'),
        /* MsvAvDnsComputerName (3), 50 bytes: "rdp-host.corp.example.com" */
        0x03,
        0x00,
        0x32,
        0x00,
        U('r'),
        U('d'),
        U('p'),
        U('-'),
        U('h'),
        U('o'),
        U('s'),
        U('t'),
        U('.'),
        U('c'),
        U('o'),
        U('r'),
        U('p'),
        U('.'),
        U('e'),
        U('x'),
        U('a'),
        U('m'),
        U('p'),
        U('l'),
        U('e'),
        U('.'),
        U('c'),
        U('o'),
        U('m'),
        /* MsvAvDnsTreeName (5), 32 bytes: "corp.example.com" */
        0x05,
        0x00,
        0x20,
        0x00,
        U('c'),
        U('o'),
        U('r'),
        U('p'),
        U('.'),
        U('e'),
        U('x'),
        U('a'),
        U('m'),
        U('p'),
        U('l'),
        U('e'),
        U('.'),
        U('c'),
        U('o'),
        U('m'),
        /* MsvAvTimestamp (7), 8 bytes: FILETIME 0x01DA3D285848C080,
         * 2024-01-02 03:04:05 UTC */
        0x07,
        0x00,
        0x08,
        0x00,
        0x80,
        0xC0,
        0x48,
        0x58,
        0x28,
        0x3D,
        0xDA,
        0x01,
        /* MsvAvEOL */
        0x00,
        0x00,
        0x00,
        0x00,
};

#define INFO_OFF 64
#define INFO_LEN 174

/* A challenge with no VERSION and only the names the test puts in:
 * header (48 bytes, TargetName empty), then TargetInfo at 48. */
static size_t challenge_with_info(uint8_t *out, size_t cap, const uint8_t *info, size_t info_len)
{
	assert_true(48 + info_len <= cap);
	memset(out, 0, 48);
	memcpy(out, "NTLMSSP", 8);
	out[8] = 2;
	out[16] = 48;                       /* TargetName: empty, offset 48 */
	out[20] = 0x01;                     /* NegotiateFlags: UNICODE */
	out[22] = 0x80;                     /* ... TARGET_INFO */
	out[40] = (uint8_t)info_len;        /* TargetInfoLen */
	out[41] = (uint8_t)(info_len >> 8); /* */
	out[42] = out[40];                  /* TargetInfoMaxLen */
	out[43] = out[41];
	out[44] = 48; /* TargetInfoBufferOffset */
	memcpy(out + 48, info, info_len);
	return 48 + info_len;
}

/* Parses an exact-size heap copy so that ASan sees any read past n. */
static int parse(const uint8_t *p, size_t n, struct rw_ntlm_challenge *c)
{
	uint8_t *copy = malloc(n ? n : 1);
	assert_non_null(copy);
	if (n)
		memcpy(copy, p, n);
	int r = rw_ntlm_challenge_parse(copy, n, c);
	free(copy);
	return r;
}

static void assert_utf8(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	assert_true(n < cap);
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t k = check_utf8((const uint8_t *)s + i, n - i, &cp);
		assert_true(k > 0);
		i += k;
	}
}

static void test_negotiate(void **state)
{
	(void)state;
	static const uint8_t want[40] = {
	        'N', 'T', 'L', 'M', 'S', 'S', 'P', 0, 0x01, 0x00, 0x00, 0x00, /* type 1 */
	        /* NegotiateFlags 0xE2088237: 56, KEY_EXCH, 128, VERSION,
	         * EXTENDED_SESSIONSECURITY, ALWAYS_SIGN, NTLM, SEAL, SIGN,
	         * REQUEST_TARGET, OEM, UNICODE */
	        0x37, 0x82, 0x08, 0xE2,
	        /* DomainNameFields, WorkstationFields: empty, offset 40 */
	        0x00, 0x00, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x28, 0x00,
	        0x00, 0x00,
	        /* VERSION 6.1 build 7601 (0x1DB1), NTLMSSP_REVISION_W2K3 */
	        6, 1, 0xB1, 0x1D, 0, 0, 0, 0x0F};
	uint8_t b[64];
	memset(b, 0xAA, sizeof(b));
	assert_int_equal(rw_ntlm_negotiate(b, sizeof(b)), 40);
	assert_memory_equal(b, want, sizeof(want));
	assert_int_equal(b[40], 0xAA);
	assert_int_equal(rw_ntlm_negotiate(b, 40), 40);
	assert_int_equal(rw_ntlm_negotiate(b, 39), 0);
	/* The requirements of a server reading it (MS-NLMP 3.2.5.1.1): a
	 * NEGOTIATE is never mistaken for a CHALLENGE. */
	struct rw_ntlm_challenge c;
	assert_int_equal(parse(b, 40, &c), RW_E_TYPE);
}

static void test_windows_2019_challenge(void **state)
{
	(void)state;
	assert_int_equal(sizeof(win2019), INFO_OFF + INFO_LEN);
	struct rw_ntlm_challenge c;
	assert_int_equal(parse(win2019, sizeof(win2019), &c), (int)sizeof(win2019));
	assert_int_equal(c.flags, 0xE2898215);
	static const uint8_t chal[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF};
	assert_memory_equal(c.server_challenge, chal, 8);
	assert_string_equal(c.target_name, "CORP");
	assert_string_equal(c.nb_computer, "RDP-HOST");
	assert_string_equal(c.nb_domain, "CORP");
	assert_string_equal(c.dns_computer, "rdp-host.corp.example.com");
	assert_string_equal(c.dns_domain, "corp.example.com");
	assert_string_equal(c.dns_tree, "corp.example.com");
	assert_false(c.names_cut);
	assert_true(c.has_timestamp);
	assert_true(c.timestamp == 0x01DA3D285848C080ull);
	assert_true(rw_filetime_to_unix_us(c.timestamp) == 1704164645000000ll);
	assert_true(c.has_version);
	assert_int_equal(c.os_major, 10);
	assert_int_equal(c.os_minor, 0);
	assert_int_equal(c.os_build, 17763);
	assert_int_equal(c.ntlm_revision, 15);

	/* Bytes after the message are the caller's: the parser takes n as the
	 * message (inside CredSSP the negoToken gives the length). */
	uint8_t longer[sizeof(win2019) + 3];
	memcpy(longer, win2019, sizeof(win2019));
	memset(longer + sizeof(win2019), 0x55, 3);
	assert_int_equal(parse(longer, sizeof(longer), &c), (int)sizeof(longer));
	assert_string_equal(c.dns_computer, "rdp-host.corp.example.com");
}

static void test_every_truncation_fails(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(win2019); k++) {
		struct rw_ntlm_challenge c;
		int r = parse(win2019, k, &c);
		assert_true(r < 0);
		assert_true(r == RW_E_LENGTH || r == RW_E_VALUE);
		assert_utf8(c.target_name, sizeof(c.target_name));
	}
}

static void test_fields_outside_the_message(void **state)
{
	(void)state;
	uint8_t b[sizeof(win2019)];
	struct rw_ntlm_challenge c;
	/* TargetInfo one byte longer than what is left. */
	memcpy(b, win2019, sizeof(b));
	b[40] = INFO_LEN + 1;
	assert_int_equal(parse(b, sizeof(b), &c), RW_E_LENGTH);
	/* TargetInfo offset past the end. */
	memcpy(b, win2019, sizeof(b));
	b[44] = 0xF0;
	assert_int_equal(parse(b, sizeof(b), &c), RW_E_LENGTH);
	/* Offset near 2^32: offset + length must not wrap. */
	memcpy(b, win2019, sizeof(b));
	b[44] = 0xFF, b[45] = 0xFF, b[46] = 0xFF, b[47] = 0xFF;
	assert_int_equal(parse(b, sizeof(b), &c), RW_E_LENGTH);
	/* TargetName inside the fixed header is not a payload. */
	memcpy(b, win2019, sizeof(b));
	b[16] = 8;
	assert_int_equal(parse(b, sizeof(b), &c), RW_E_LENGTH);
	/* An empty field's offset is not looked at. */
	memcpy(b, win2019, sizeof(b));
	b[12] = 0, b[16] = 0xFF, b[19] = 0xFF;
	assert_int_equal(parse(b, sizeof(b), &c), (int)sizeof(b));
	assert_string_equal(c.target_name, "");
	assert_string_equal(c.nb_computer, "RDP-HOST");
}

static void test_malformed_av_pairs(void **state)
{
	(void)state;
	uint8_t b[512];
	struct rw_ntlm_challenge c;
	/* No MsvAvEOL: the list runs to the end of TargetInfo. */
	static const uint8_t no_eol[] = {0x01, 0x00, 0x04, 0x00, U('P'), U('C')};
	size_t n = challenge_with_info(b, sizeof(b), no_eol, sizeof(no_eol));
	assert_int_equal(parse(b, n, &c), RW_E_VALUE);
	/* An AV_PAIR longer than TargetInfo. */
	static const uint8_t too_long[] = {0x01, 0x00, 0x08, 0x00, U('P'), U('C'), 0, 0, 0, 0};
	n = challenge_with_info(b, sizeof(b), too_long, sizeof(too_long));
	assert_int_equal(parse(b, n, &c), RW_E_VALUE);
	/* Half an AV_PAIR header before the end. */
	static const uint8_t half[] = {0x01, 0x00};
	n = challenge_with_info(b, sizeof(b), half, sizeof(half));
	assert_int_equal(parse(b, n, &c), RW_E_VALUE);
	/* MsvAvTimestamp must be 8 bytes. */
	static const uint8_t short_ts[] = {0x07, 0x00, 0x04, 0x00, 1, 2, 3, 4, 0, 0, 0, 0};
	n = challenge_with_info(b, sizeof(b), short_ts, sizeof(short_ts));
	assert_int_equal(parse(b, n, &c), RW_E_VALUE);
	/* MsvAvEOL with a value. */
	static const uint8_t eol_value[] = {0x00, 0x00, 0x02, 0x00, 0, 0};
	n = challenge_with_info(b, sizeof(b), eol_value, sizeof(eol_value));
	assert_int_equal(parse(b, n, &c), RW_E_VALUE);
	/* Unknown ids and the ones not kept are skipped; what follows EOL too. */
	static const uint8_t skipped[] = {
	        0x06, 0x00, 0x04, 0x00, 2,      0,    0, 0, /* MsvAvFlags */
	        0x0A, 0x00, 0x02, 0x00, 0xAA,   0xBB,       /* MsvAvChannelBindings (cut) */
	        0x42, 0x42, 0x02, 0x00, U('Z'),             /* id 0x4242 */
	        0x02, 0x00, 0x02, 0x00, U('D'),             /* MsvAvNbDomainName "D" */
	        0x00, 0x00, 0x00, 0x00, 0x99,   0x99};      /* EOL, then padding */
	n = challenge_with_info(b, sizeof(b), skipped, sizeof(skipped));
	assert_int_equal(parse(b, n, &c), (int)n);
	assert_string_equal(c.nb_domain, "D");
	assert_false(c.has_timestamp);
	assert_false(c.has_version);
}

static void test_utf16_conversion(void **state)
{
	(void)state;
	uint8_t b[512];
	struct rw_ntlm_challenge c;
	static const uint8_t info[] = {
	        /* NbComputer, odd length 5: "AB" and one dangling byte */
	        0x01, 0x00, 0x05, 0x00, U('A'), U('B'), 'C',
	        /* NbDomain: U+00E9, U+20AC, U+1F600 (D83D DE00) */
	        0x02, 0x00, 0x08, 0x00, 0xE9, 0x00, 0xAC, 0x20, 0x3D, 0xD8, 0x00, 0xDE,
	        /* DnsComputer: lone high surrogate then 'x', lone low surrogate, NUL, 'y' */
	        0x03, 0x00, 0x0A, 0x00, 0x3D, 0xD8, U('x'), 0x00, 0xDE, 0x00, 0x00, U('y'),
	        /* DnsDomain: high surrogate as the last unit */
	        0x04, 0x00, 0x04, 0x00, U('q'), 0x3D, 0xD8,
	        /* EOL */
	        0x00, 0x00, 0x00, 0x00};
	size_t n = challenge_with_info(b, sizeof(b), info, sizeof(info));
	assert_int_equal(parse(b, n, &c), (int)n);
	assert_string_equal(c.nb_computer, "AB\xEF\xBF\xBD");
	assert_string_equal(c.nb_domain, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
	assert_string_equal(c.dns_computer, "\xEF\xBF\xBDx\xEF\xBF\xBD\xEF\xBF\xBDy");
	assert_string_equal(c.dns_domain, "q\xEF\xBF\xBD");
	assert_false(c.names_cut);
}

static void test_long_names_cut_at_a_character(void **state)
{
	(void)state;
	/* 200 x U+00E9 (2 UTF-8 bytes): 127 fit in 255 bytes. 100 x U+20AC (3
	 * bytes): 85 fit exactly. 128 x U+1F600 (4 bytes): 63 fit. */
	static uint8_t info[4 + 400 + 4 + 200 + 4 + 512 + 4];
	size_t o = 0;
	info[o++] = 0x01, info[o++] = 0, info[o++] = (uint8_t)400, info[o++] = 400 >> 8;
	for (int i = 0; i < 200; i++)
		info[o++] = 0xE9, info[o++] = 0x00;
	info[o++] = 0x02, info[o++] = 0, info[o++] = 200, info[o++] = 0;
	for (int i = 0; i < 100; i++)
		info[o++] = 0xAC, info[o++] = 0x20;
	info[o++] = 0x03, info[o++] = 0, info[o++] = 0, info[o++] = 2;
	for (int i = 0; i < 128; i++)
		info[o++] = 0x3D, info[o++] = 0xD8, info[o++] = 0x00, info[o++] = 0xDE;
	info[o++] = 0, info[o++] = 0, info[o++] = 0, info[o++] = 0;
	assert_int_equal(o, sizeof(info));
	static uint8_t b[48 + sizeof(info)];
	size_t n = challenge_with_info(b, sizeof(b), info, sizeof(info));
	struct rw_ntlm_challenge c;
	assert_int_equal(parse(b, n, &c), (int)n);
	assert_true(c.names_cut);
	assert_int_equal(strlen(c.nb_computer), 254);
	assert_int_equal(strlen(c.nb_domain), 255);
	assert_int_equal(strlen(c.dns_computer), 252);
	assert_utf8(c.nb_computer, RW_NTLM_NAME_MAX);
	assert_utf8(c.nb_domain, RW_NTLM_NAME_MAX);
	assert_utf8(c.dns_computer, RW_NTLM_NAME_MAX);
	/* 255 ASCII characters fit exactly; 256 do not. */
	static uint8_t info2[4 + 512 + 4];
	o = 0;
	info2[o++] = 0x05, info2[o++] = 0, info2[o++] = 0, info2[o++] = 2;
	for (int i = 0; i < 256; i++)
		info2[o++] = 'a', info2[o++] = 0;
	memset(info2 + o, 0, 4);
	n = challenge_with_info(b, sizeof(b), info2, sizeof(info2));
	assert_int_equal(parse(b, n, &c), (int)n);
	assert_int_equal(strlen(c.dns_tree), 255);
	assert_true(c.names_cut);
	info2[2] = 254, info2[3] = 1; /* 255 characters */
	memmove(info2 + 4 + 510, info2 + 4 + 512, 4);
	n = challenge_with_info(b, sizeof(b), info2, sizeof(info2) - 2);
	assert_int_equal(parse(b, n, &c), (int)n);
	assert_int_equal(strlen(c.dns_tree), 255);
	assert_false(c.names_cut);
}

static void test_type_and_version(void **state)
{
	(void)state;
	uint8_t b[sizeof(win2019)];
	struct rw_ntlm_challenge c;
	memcpy(b, win2019, sizeof(b));
	b[7] = 'X';
	assert_int_equal(parse(b, sizeof(b), &c), RW_E_TYPE);
	assert_int_equal(parse(b, 3, &c), RW_E_LENGTH); /* "NTL": a prefix, too short */
	assert_int_equal(parse((const uint8_t *)"NTLX", 4, &c), RW_E_TYPE);
	assert_int_equal(parse(b, 0, &c), RW_E_LENGTH);
	memcpy(b, win2019, sizeof(b));
	b[8] = 3; /* AUTHENTICATE_MESSAGE */
	assert_int_equal(parse(b, sizeof(b), &c), RW_E_TYPE);
	/* Without NTLMSSP_NEGOTIATE_VERSION the VERSION bytes are not read. */
	memcpy(b, win2019, sizeof(b));
	b[23] &= ~0x02;
	assert_int_equal(parse(b, sizeof(b), &c), (int)sizeof(b));
	assert_false(c.has_version);
	assert_int_equal(c.os_build, 0);
	/* A payload starting at 48 leaves no room for VERSION. */
	static const uint8_t eol[4] = {0};
	uint8_t s[64];
	size_t n = challenge_with_info(s, sizeof(s), eol, sizeof(eol));
	s[23] |= 0x02;
	memset(s + 52, 0, sizeof(s) - 52);
	n = 56;
	assert_int_equal(parse(s, n, &c), (int)n);
	assert_false(c.has_version);
	/* OEM TargetName (no UNICODE): ASCII kept, the rest replaced. */
	memcpy(b, win2019, sizeof(b));
	b[20] &= ~0x01;
	b[57] = 0xC9; /* "C\xC9O\0R\0P\0" */
	assert_int_equal(parse(b, sizeof(b), &c), (int)sizeof(b));
	assert_string_equal(c.target_name, "C\xEF\xBF\xBDO\xEF\xBF\xBDR\xEF\xBF\xBDP\xEF\xBF\xBD");
	assert_string_equal(c.nb_computer, "RDP-HOST"); /* AV_PAIRs are always Unicode */
}

static void test_filetime(void **state)
{
	(void)state;
	assert_true(rw_filetime_to_unix_us(116444736000000000ull) == 0);
	assert_true(rw_filetime_to_unix_us(116444736000000010ull) == 1);
	assert_true(rw_filetime_to_unix_us(116444736000000009ull) == 0);
	assert_true(rw_filetime_to_unix_us(116444735999999999ull) == -1);
	assert_true(rw_filetime_to_unix_us(116444735999999990ull) == -1);
	assert_true(rw_filetime_to_unix_us(116444735999999989ull) == -2);
	assert_true(rw_filetime_to_unix_us(0) == -11644473600000000ll);
	assert_true(rw_filetime_to_unix_us(UINT64_MAX) == 1833029933770955161ll);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_negotiate),
	        cmocka_unit_test(test_windows_2019_challenge),
	        cmocka_unit_test(test_every_truncation_fails),
	        cmocka_unit_test(test_fields_outside_the_message),
	        cmocka_unit_test(test_malformed_av_pairs),
	        cmocka_unit_test(test_utf16_conversion),
	        cmocka_unit_test(test_long_names_cut_at_a_character),
	        cmocka_unit_test(test_type_and_version),
	        cmocka_unit_test(test_filetime),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
