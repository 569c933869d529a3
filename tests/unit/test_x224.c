/* TPKT / X.224 / RDP negotiation decoders against MS-RDPBCGR vectors. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rw_types.h"
#include "testutil.h"
#include "x224.h"

/* MS-RDPBCGR 4.1.1: Client X.224 Connection Request PDU. */
static const char *cr_spec = "03 00 00 2c 27 e0 00 00 00 00 00 43 6f 6f 6b 69 65 3a 20 6d 73 74 73"
                             "68 61 73 68 3d 65 6c 74 6f 6e 73 0d 0a 01 00 08 00 00 00 00 00";
/* MS-RDPBCGR 4.1.2: Server X.224 Connection Confirm PDU. */
static const char *cc_spec = "03 00 00 13 0e d0 00 00 12 34 00 02 00 08 00 00 00 00 00";

/* Decodes a whole TPKT packet from an exact-size heap copy (ASan catches overreads). */
static int parse_packet(const uint8_t *p, size_t n, struct rw_x224 *x)
{
	uint8_t *copy = malloc(n ? n : 1);
	memcpy(copy, p, n);
	int len = rw_tpkt_length(copy, n);
	int r = len;
	if (len >= 0) {
		if ((size_t)len > n)
			r = RW_E_NEED_MORE;
		else
			r = rw_x224_parse(copy + 4, (size_t)len - 4, x);
	}
	/* Results must not point into the freed copy: re-point into p. */
	if (r >= 0 && x->token)
		x->token = p + (x->token - copy);
	free(copy);
	return r;
}

static void test_cr_spec(void **state)
{
	(void)state;
	uint8_t b[64];
	size_t n = rw_test_hex(cr_spec, b, sizeof(b));
	assert_int_equal(rw_tpkt_length(b, n), 44);
	struct rw_x224 x;
	assert_int_equal(parse_packet(b, n, &x), 40);
	assert_int_equal(x.code, RW_X224_CR);
	assert_int_equal(x.li, 0x27);
	assert_int_equal(x.token_kind, RW_TOKEN_COOKIE);
	assert_int_equal(x.token_len, 6);
	assert_memory_equal(x.token, "eltons", 6);
	assert_true(x.neg_present);
	assert_int_equal(x.neg_type, 1);
	assert_int_equal(x.neg_value, RW_PROTO_RDP);
}

static void test_cc_spec(void **state)
{
	(void)state;
	uint8_t b[64];
	size_t n = rw_test_hex(cc_spec, b, sizeof(b));
	struct rw_x224 x;
	assert_int_equal(parse_packet(b, n, &x), 15);
	assert_int_equal(x.code, RW_X224_CC);
	assert_int_equal(x.src_ref, 0x1234);
	assert_true(x.neg_present);
	assert_int_equal(x.neg_type, 2);
	assert_int_equal(x.neg_value, 0);
}

static void test_every_truncation_fails(void **state)
{
	(void)state;
	const char *vectors[] = {cr_spec, cc_spec};
	for (size_t v = 0; v < 2; v++) {
		uint8_t b[64];
		size_t n = rw_test_hex(vectors[v], b, sizeof(b));
		for (size_t k = 0; k < n; k++) {
			struct rw_x224 x;
			assert_true(parse_packet(b, k, &x) < 0);
		}
	}
}

static void test_neg_failure_codes(void **state)
{
	(void)state;
	const char *names[] = {NULL,
	                       "ssl_required_by_server",
	                       "ssl_not_allowed_by_server",
	                       "ssl_cert_not_on_server",
	                       "inconsistent_flags",
	                       "hybrid_required_by_server",
	                       "ssl_with_user_auth_required_by_server"};
	for (uint8_t code = 1; code <= 6; code++) {
		uint8_t b[] = {3, 0, 0, 19, 14, 0xd0, 0, 0, 0x12, 0x34,
		               0, 3, 0, 8,  0,  code, 0, 0, 0};
		struct rw_x224 x;
		assert_int_equal(parse_packet(b, sizeof(b), &x), 15);
		assert_int_equal(x.neg_type, 3);
		assert_int_equal(x.neg_value, code);
		assert_string_equal(rw_neg_failure_name(x.neg_value), names[code]);
	}
	assert_null(rw_neg_failure_name(0));
	assert_null(rw_neg_failure_name(7));
}

static void test_requested_protocols_and_flags(void **state)
{
	(void)state;
	/* No cookie; RDP_NEG_REQ with all protocols and the correlation info. */
	uint8_t b[4 + 7 + 8 + 36] = {3, 0,    0, sizeof(b), sizeof(b) - 5, 0xe0, 0, 0, 0, 0, 0,
	                             1, 0x0b, 8, 0,         0x1f,          0,    0, 0};
	b[19] = 6;
	b[21] = 36;
	for (int i = 0; i < 16; i++)
		b[23 + i] = (uint8_t)(0xa0 + i);
	struct rw_x224 x;
	assert_int_equal(parse_packet(b, sizeof(b), &x), (int)sizeof(b) - 4);
	assert_int_equal(x.token_kind, RW_TOKEN_NONE);
	assert_int_equal(x.neg_flags, 0x0b);
	assert_int_equal(x.neg_value, 0x1f);
	assert_true(x.correlation_present);
	assert_int_equal(x.correlation_id[0], 0xa0);
	const char *names[8];
	size_t k = rw_proto_names(x.neg_value, names);
	assert_int_equal(k, 5);
	assert_string_equal(names[0], "ssl");
	assert_string_equal(names[1], "hybrid");
	assert_string_equal(names[2], "rdstls");
	assert_string_equal(names[3], "hybrid_ex");
	assert_string_equal(names[4], "rdsaad");
	k = rw_proto_names(0, names);
	assert_int_equal(k, 1);
	assert_string_equal(names[0], "rdp");
	k = rw_proto_names(0x100, names);
	assert_int_equal(k, 1);
	assert_string_equal(names[0], "unknown");
}

static void test_routing_token_and_standard_security(void **state)
{
	(void)state;
	/* A routing token line and no RDP_NEG_REQ: standard RDP security. */
	const char tok[] = "Cookie: msts=3640205228.15629.0000\r\n";
	uint8_t b[128] = {3, 0, 0, 0, 0, 0xe0, 0, 0, 0, 0, 0};
	size_t tl = sizeof(tok) - 1;
	memcpy(b + 11, tok, tl);
	size_t n = 11 + tl;
	b[3] = (uint8_t)n;
	b[4] = (uint8_t)(n - 5);
	struct rw_x224 x;
	assert_int_equal(parse_packet(b, n, &x), (int)n - 4);
	assert_int_equal(x.token_kind, RW_TOKEN_ROUTING);
	assert_int_equal(x.token_len, tl - 2);
	assert_false(x.neg_present);
}

static void test_malformed(void **state)
{
	(void)state;
	struct rw_x224 x;
	uint8_t bad_version[] = {4, 0, 0, 11, 6, 0xe0, 0, 0, 0, 0, 0};
	assert_int_equal(rw_tpkt_length(bad_version, sizeof(bad_version)), RW_E_VERSION);
	uint8_t short_len[] = {3, 0, 0, 5};
	assert_int_equal(rw_tpkt_length(short_len, 4), RW_E_LENGTH);
	uint8_t li_too_big[] = {3, 0, 0, 11, 60, 0xe0, 0, 0, 0, 0, 0};
	assert_int_equal(parse_packet(li_too_big, sizeof(li_too_big), &x), RW_E_LENGTH);
	/* Cookie without CR LF. */
	uint8_t nocrlf[] = {3, 0, 0, 16, 11, 0xe0, 0, 0, 0, 0, 0, 'C', 'o', 'o', 'k', 'i'};
	assert_int_equal(parse_packet(nocrlf, sizeof(nocrlf), &x), RW_E_VALUE);
	/* Unknown TPDU code. */
	uint8_t code[] = {3, 0, 0, 7, 2, 0x10, 0};
	assert_int_equal(parse_packet(code, sizeof(code), &x), RW_E_TYPE);
	/* CC with a negotiation block of the wrong type. */
	uint8_t cc[] = {3, 0, 0, 19, 14, 0xd0, 0, 0, 0, 0, 0, 9, 0, 8, 0, 1, 0, 0, 0};
	assert_int_equal(parse_packet(cc, sizeof(cc), &x), RW_E_TYPE);
}

static void test_dt_and_dr(void **state)
{
	(void)state;
	struct rw_x224 x;
	uint8_t dt[] = {3, 0, 0, 9, 2, 0xf0, 0x80, 0x7f, 0x65};
	assert_int_equal(parse_packet(dt, sizeof(dt), &x), 5);
	assert_int_equal(x.code, RW_X224_DT);
	assert_int_equal(x.user_data_len, 2);
	uint8_t dr[] = {3, 0, 0, 11, 6, 0x80, 0, 0, 0, 0, 1};
	assert_int_equal(parse_packet(dr, sizeof(dr), &x), 7);
	assert_int_equal(x.code, RW_X224_DR);
	assert_int_equal(x.dr_reason, 1);
	assert_string_equal(rw_x224_code_name(x.code), "disconnect_request");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_cr_spec),
	        cmocka_unit_test(test_cc_spec),
	        cmocka_unit_test(test_every_truncation_fails),
	        cmocka_unit_test(test_neg_failure_codes),
	        cmocka_unit_test(test_requested_protocols_and_flags),
	        cmocka_unit_test(test_routing_token_and_standard_security),
	        cmocka_unit_test(test_malformed),
	        cmocka_unit_test(test_dt_and_dr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
