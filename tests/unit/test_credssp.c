/* CredSSP TSRequest writer and reader (MS-CSSP 2.2.1) against DER written by
 * hand, and the NTSTATUS names of errorCode. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "credssp.h"
#include "ntlm.h"
#include "rw_types.h"

/* CredSSP v6 failure reply: the server's last TSRequest when the credentials
 * are refused (MS-CSSP 3.1.5: errorCode since version 3). Windows writes the
 * NTSTATUS as a signed INTEGER. */
static const uint8_t error_reply[] = {
        0x30, 0x0D,                         /* TSRequest SEQUENCE, 13 */
        0xA0, 0x03, 0x02, 0x01, 0x06,       /* [0] version INTEGER 6 */
        0xA4, 0x06, 0x02, 0x04, 0xC0, 0x00, /* [4] errorCode INTEGER */
        0x00, 0x6D,                         /* 0xC000006D STATUS_LOGON_FAILURE */
};

/* The server's pubKeyAuth with a clientNonce-era version and an unknown
 * field [9] a later version might add. */
static const uint8_t pub_key_reply[] = {
        0x30, 0x16,                                     /* SEQUENCE, 22 */
        0xA0, 0x03, 0x02, 0x01, 0x06,                   /* version 6 */
        0xA3, 0x06, 0x04, 0x04, 0xDE, 0xAD, 0xBE, 0xEF, /* [3] pubKeyAuth */
        0xA5, 0x03, 0x04, 0x01, 0x77,                   /* [5] clientNonce */
        0xA9, 0x02, 0x05, 0x00,                         /* [9] NULL: skipped */
};

static int parse(const uint8_t *p, size_t n, struct rw_tsrequest *t)
{
	uint8_t *copy = malloc(n ? n : 1);
	assert_non_null(copy);
	if (n)
		memcpy(copy, p, n);
	int r = rw_tsrequest_parse(copy, n, t);
	/* Re-point the token into p: the copy is freed. */
	if (t->nego_token) {
		assert_true(t->nego_token >= copy && t->nego_token + t->nego_token_len <= copy + n);
		t->nego_token = p + (t->nego_token - copy);
	}
	free(copy);
	return r;
}

static void every_prefix_needs_more(const uint8_t *p, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		struct rw_tsrequest t;
		int r = parse(p, k, &t);
		if (r != RW_E_NEED_MORE)
			fail_msg("prefix of %zu of %zu bytes: %d", k, n, r);
	}
}

static void test_error_reply(void **state)
{
	(void)state;
	struct rw_tsrequest t;
	assert_int_equal(parse(error_reply, sizeof(error_reply), &t), 15);
	assert_int_equal(t.version, 6);
	assert_true(t.has_error_code);
	assert_int_equal(t.error_code, 0xC000006D);
	assert_string_equal(rw_ntstatus_name(t.error_code), "STATUS_LOGON_FAILURE");
	assert_null(t.nego_token);
	assert_false(t.has_auth_info || t.has_pub_key_auth || t.has_client_nonce);
	every_prefix_needs_more(error_reply, sizeof(error_reply));

	/* FreeRDP writes the same status as an unsigned INTEGER (5 bytes). */
	static const uint8_t unsigned_form[] = {0x30, 0x0E, 0xA0, 0x03, 0x02, 0x01, 0x06, 0xA4,
	                                        0x07, 0x02, 0x05, 0x00, 0xC0, 0x00, 0x00, 0x6D};
	assert_int_equal(parse(unsigned_form, sizeof(unsigned_form), &t), 16);
	assert_int_equal(t.error_code, 0xC000006D);
	/* SEC_E_LOGON_DENIED, and a short negative INTEGER sign-extended. */
	static const uint8_t hresult[] = {0x30, 0x0D, 0xA0, 0x03, 0x02, 0x01, 0x06, 0xA4,
	                                  0x06, 0x02, 0x04, 0x80, 0x09, 0x03, 0x0C};
	assert_int_equal(parse(hresult, sizeof(hresult), &t), 15);
	assert_string_equal(rw_ntstatus_name(t.error_code), "SEC_E_LOGON_DENIED");
	static const uint8_t minus_one[] = {0x30, 0x0A, 0xA0, 0x03, 0x02, 0x01,
	                                    0x06, 0xA4, 0x03, 0x02, 0x01, 0xFF};
	assert_int_equal(parse(minus_one, sizeof(minus_one), &t), 12);
	assert_int_equal(t.error_code, 0xFFFFFFFF);
}

static void test_pub_key_reply_and_unknown_fields(void **state)
{
	(void)state;
	struct rw_tsrequest t;
	assert_int_equal(parse(pub_key_reply, sizeof(pub_key_reply), &t), 24);
	assert_int_equal(t.version, 6);
	assert_true(t.has_pub_key_auth);
	assert_true(t.has_client_nonce);
	assert_false(t.has_auth_info);
	assert_false(t.has_error_code);
	every_prefix_needs_more(pub_key_reply, sizeof(pub_key_reply));
	/* Bytes after the TSRequest (the next TLS record's data) are not read. */
	uint8_t more[sizeof(pub_key_reply) + 2];
	memcpy(more, pub_key_reply, sizeof(pub_key_reply));
	more[sizeof(pub_key_reply)] = 0xFF;
	more[sizeof(pub_key_reply) + 1] = 0xFF;
	assert_int_equal(parse(more, sizeof(more), &t), 24);
}

static void test_build_round_trip(void **state)
{
	(void)state;
	uint8_t nego[40];
	assert_int_equal(rw_ntlm_negotiate(nego, sizeof(nego)), 40);
	uint8_t b[128];
	size_t n = rw_tsrequest_build(b, sizeof(b), 6, nego, sizeof(nego));
	static const uint8_t head[] = {
	        0x30, 0x37,                   /* TSRequest SEQUENCE, 55 */
	        0xA0, 0x03, 0x02, 0x01, 0x06, /* [0] version 6 */
	        0xA1, 0x30,                   /* [1] negoTokens, 48 */
	        0x30, 0x2E,                   /* NegoData SEQUENCE OF, 46 */
	        0x30, 0x2C,                   /* SEQUENCE, 44 */
	        0xA0, 0x2A,                   /* [0] negoToken, 42 */
	        0x04, 0x28,                   /* OCTET STRING, 40 */
	};
	assert_int_equal(n, sizeof(head) + 40);
	assert_memory_equal(b, head, sizeof(head));
	assert_memory_equal(b + sizeof(head), nego, 40);
	struct rw_tsrequest t;
	assert_int_equal(parse(b, n, &t), (int)n);
	assert_int_equal(t.version, 6);
	assert_int_equal(t.nego_token_len, 40);
	assert_ptr_equal(t.nego_token, b + sizeof(head));
	assert_false(t.has_error_code);
	every_prefix_needs_more(b, n);
	/* Too small a buffer: nothing. */
	assert_int_equal(rw_tsrequest_build(b, n - 1, 6, nego, sizeof(nego)), 0);
	assert_int_equal(rw_tsrequest_build(b, n, 6, nego, sizeof(nego)), n);
	/* No token: no negoTokens field. */
	n = rw_tsrequest_build(b, sizeof(b), 2, NULL, 0);
	static const uint8_t bare[] = {0x30, 0x05, 0xA0, 0x03, 0x02, 0x01, 0x02};
	assert_int_equal(n, sizeof(bare));
	assert_memory_equal(b, bare, sizeof(bare));
}

static void test_long_form_lengths(void **state)
{
	(void)state;
	static uint8_t tok[70000], b[70100];
	for (size_t i = 0; i < sizeof(tok); i++)
		tok[i] = (uint8_t)(i * 7);
	/* 0x81 (one length byte), 0x82 (two), 0x83 (three) forms. */
	static const size_t lens[] = {0, 1, 120, 127, 128, 200, 255, 256, 300, 65535, 65536, 70000};
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t n =
		        rw_tsrequest_build(b, sizeof(b), 0x80000000u + (uint32_t)i, tok, lens[i]);
		assert_true(n > lens[i]);
		struct rw_tsrequest t;
		assert_int_equal(parse(b, n, &t), (int)n);
		assert_int_equal(t.version, 0x80000000u + i);
		assert_int_equal(t.nego_token_len, lens[i]);
		assert_memory_equal(t.nego_token, tok, lens[i]);
		if (lens[i] < 400)
			every_prefix_needs_more(b, n);
		else
			for (size_t k = 0; k < 64; k++)
				assert_int_equal(parse(b, k, &t), RW_E_NEED_MORE);
		assert_int_equal(parse(b, n - 1, &t), RW_E_NEED_MORE);
	}
	/* 300 bytes: 04 82 01 2C; version 0x80000000 takes 5 bytes (a leading 0). */
	size_t n = rw_tsrequest_build(b, sizeof(b), 0x80000000u, tok, 300);
	static const uint8_t head[] = {
	        0x30, 0x82, 0x01, 0x49,                               /* SEQUENCE, 329 */
	        0xA0, 0x07, 0x02, 0x05, 0x00, 0x80, 0x00, 0x00, 0x00, /* version */
	        0xA1, 0x82, 0x01, 0x3C,                               /* [1], 316 */
	        0x30, 0x82, 0x01, 0x38,                               /* NegoData, 312 */
	        0x30, 0x82, 0x01, 0x34,                               /* SEQUENCE, 308 */
	        0xA0, 0x82, 0x01, 0x30,                               /* [0], 304 */
	        0x04, 0x82, 0x01, 0x2C,                               /* OCTET STRING, 300 */
	};
	assert_int_equal(n, sizeof(head) + 300);
	assert_memory_equal(b, head, sizeof(head));
}

static void test_non_minimal_lengths_accepted(void **state)
{
	(void)state;
	/* The error reply with every length in a long form: unambiguous BER that
	 * some encoders write; the reader takes it rather than fail a diagnosis. */
	static const uint8_t p[] = {0x30, 0x84, 0x00, 0x00, 0x00, 0x10, 0xA0, 0x81,
	                            0x03, 0x02, 0x01, 0x06, 0xA4, 0x82, 0x00, 0x06,
	                            0x02, 0x04, 0xC0, 0x00, 0x00, 0x72};
	struct rw_tsrequest t;
	assert_int_equal(parse(p, sizeof(p), &t), (int)sizeof(p));
	assert_int_equal(t.error_code, 0xC0000072);
	assert_string_equal(rw_ntstatus_name(t.error_code), "STATUS_ACCOUNT_DISABLED");
	every_prefix_needs_more(p, sizeof(p));
}

static void test_malformed(void **state)
{
	(void)state;
	struct rw_tsrequest t;
	static const struct {
		const char *what;
		uint8_t b[24];
		size_t n;
		int want;
	} cases[] = {
	        {"not a SEQUENCE", {0x16, 0x03, 0x03}, 3, RW_E_TYPE},
	        {"indefinite length", {0x30, 0x80}, 2, RW_E_LENGTH},
	        {"five length bytes", {0x30, 0x85}, 2, RW_E_LENGTH},
	        {"longer than an int", {0x30, 0x84, 0x80, 0x00, 0x00, 0x00}, 6, RW_E_LENGTH},
	        {"empty", {0x30, 0x00}, 2, RW_E_TYPE},
	        {"no version first", {0x30, 0x05, 0xA4, 0x03, 0x02, 0x01, 0x01}, 7, RW_E_TYPE},
	        {"garbage after a long header, before the rest",
	         {0x30, 0x82, 0x01, 0x00, 0xFF},
	         5,
	         RW_E_TYPE},
	        {"field past the SEQUENCE", {0x30, 0x04, 0xA0, 0x03, 0x02, 0x01}, 6, RW_E_LENGTH},
	        {"field header past the SEQUENCE", {0x30, 0x01, 0xA0}, 3, RW_E_LENGTH},
	        {"trailing bytes in [0]",
	         {0x30, 0x06, 0xA0, 0x04, 0x02, 0x01, 0x06, 0x00},
	         8,
	         RW_E_TRAILING},
	        {"version not an INTEGER",
	         {0x30, 0x05, 0xA0, 0x03, 0x04, 0x01, 0x06},
	         7,
	         RW_E_TYPE},
	        {"negative version", {0x30, 0x05, 0xA0, 0x03, 0x02, 0x01, 0x86}, 7, RW_E_VALUE},
	        {"empty INTEGER", {0x30, 0x04, 0xA0, 0x02, 0x02, 0x00}, 6, RW_E_VALUE},
	        {"six-byte INTEGER", {0x30, 0x0A, 0xA0, 0x08, 0x02, 0x06}, 6, RW_E_VALUE},
	        {"five-byte INTEGER above 32 bits",
	         {0x30, 0x09, 0xA0, 0x07, 0x02, 0x05, 0x01},
	         7,
	         RW_E_VALUE},
	        {"fields out of order",
	         {0x30, 0x0D, 0xA0, 0x03, 0x02, 0x01, 0x06, 0xA3, 0x02, 0x04, 0x00, 0xA2, 0x02,
	          0x04, 0x00},
	         15,
	         RW_E_TYPE},
	        {"field twice",
	         {0x30, 0x0A, 0xA0, 0x03, 0x02, 0x01, 0x06, 0xA0, 0x03, 0x02, 0x01, 0x06},
	         12,
	         RW_E_TYPE},
	        {"primitive context tag", {0x30, 0x05, 0x80, 0x03, 0x02, 0x01, 0x06}, 7, RW_E_TYPE},
	        {"universal tag as a field",
	         {0x30, 0x08, 0xA0, 0x03, 0x02, 0x01, 0x06, 0x02, 0x01, 0x00},
	         10,
	         RW_E_TYPE},
	        {"negoToken not an OCTET STRING",
	         {0x30, 0x0F, 0xA0, 0x03, 0x02, 0x01, 0x06, 0xA1, 0x08, 0x30, 0x06, 0x30, 0x04,
	          0xA0, 0x02, 0x05, 0x00},
	         17,
	         RW_E_TYPE},
	        {"empty NegoData item",
	         {0x30, 0x0B, 0xA0, 0x03, 0x02, 0x01, 0x06, 0xA1, 0x04, 0x30, 0x02, 0x30, 0x00},
	         13,
	         RW_E_LENGTH},
	        {"authInfo not an OCTET STRING",
	         {0x30, 0x09, 0xA0, 0x03, 0x02, 0x01, 0x06, 0xA2, 0x02, 0x02, 0x00},
	         11,
	         RW_E_TYPE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = parse(cases[i].b, cases[i].n, &t);
		if (r != cases[i].want)
			fail_msg("%s: %d, want %d", cases[i].what, r, cases[i].want);
		/* More bytes do not turn an error into success or a wait. */
		uint8_t longer[64];
		memset(longer, 0, sizeof(longer));
		memcpy(longer, cases[i].b, cases[i].n);
		r = parse(longer, sizeof(longer), &t);
		if (r != cases[i].want)
			fail_msg("%s, extended: %d, want %d", cases[i].what, r, cases[i].want);
	}
}

static void test_two_nego_tokens_keep_the_first(void **state)
{
	(void)state;
	static const uint8_t p[] = {
	        0x30, 0x17, 0xA0, 0x03, 0x02, 0x01, 0x06, /* version 6 */
	        0xA1, 0x10, 0x30, 0x0E,                   /* negoTokens, NegoData */
	        0x30, 0x05, 0xA0, 0x03, 0x04, 0x01, 0x11, /* token 11 */
	        0x30, 0x05, 0xA0, 0x03, 0x04, 0x01, 0x22, /* token 22 */
	};
	struct rw_tsrequest t;
	assert_int_equal(parse(p, sizeof(p), &t), (int)sizeof(p));
	assert_int_equal(t.nego_token_len, 1);
	assert_int_equal(t.nego_token[0], 0x11);
	every_prefix_needs_more(p, sizeof(p));
	/* An empty NegoData is allowed (SEQUENCE OF): no token. */
	static const uint8_t empty[] = {0x30, 0x09, 0xA0, 0x03, 0x02, 0x01,
	                                0x06, 0xA1, 0x02, 0x30, 0x00};
	assert_int_equal(parse(empty, sizeof(empty), &t), (int)sizeof(empty));
	assert_null(t.nego_token);
}

static void test_ntstatus_names(void **state)
{
	(void)state;
	static const struct {
		uint32_t v;
		const char *name;
	} want[] = {
	        {0xC000006D, "STATUS_LOGON_FAILURE"},
	        {0xC000006E, "STATUS_ACCOUNT_RESTRICTION"},
	        {0xC000006F, "STATUS_INVALID_LOGON_HOURS"},
	        {0xC0000070, "STATUS_INVALID_WORKSTATION"},
	        {0xC0000071, "STATUS_PASSWORD_EXPIRED"},
	        {0xC0000072, "STATUS_ACCOUNT_DISABLED"},
	        {0xC0000064, "STATUS_NO_SUCH_USER"},
	        {0xC000006A, "STATUS_WRONG_PASSWORD"},
	        {0xC0000224, "STATUS_PASSWORD_MUST_CHANGE"},
	        {0xC0000234, "STATUS_ACCOUNT_LOCKED_OUT"},
	        {0xC0000193, "STATUS_ACCOUNT_EXPIRED"},
	        {0xC000015B, "STATUS_LOGON_TYPE_NOT_GRANTED"},
	        {0xC0000133, "STATUS_TIME_DIFFERENCE_AT_DC"},
	        {0xC0000022, "STATUS_ACCESS_DENIED"},
	        {0xC000005E, "STATUS_NO_LOGON_SERVERS"},
	        {0xC000018D, "STATUS_TRUSTED_RELATIONSHIP_FAILURE"},
	        {0x8009030C, "SEC_E_LOGON_DENIED"},
	        {0x80090324, "SEC_E_TIME_SKEW"},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_string_equal(rw_ntstatus_name(want[i].v), want[i].name);
	assert_null(rw_ntstatus_name(0xC0000001));
	assert_null(rw_ntstatus_name(0xFFFFFFFF));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_error_reply),
	        cmocka_unit_test(test_pub_key_reply_and_unknown_fields),
	        cmocka_unit_test(test_build_round_trip),
	        cmocka_unit_test(test_long_form_lengths),
	        cmocka_unit_test(test_non_minimal_lengths_accepted),
	        cmocka_unit_test(test_malformed),
	        cmocka_unit_test(test_two_nego_tokens_keep_the_first),
	        cmocka_unit_test(test_ntstatus_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
