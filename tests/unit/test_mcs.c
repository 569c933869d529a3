/* MCS Connect Initial builder and Connect Response decoder (analyzers/mcs.c)
 * against the layouts of MS-RDPBCGR 2.2.1.3 / 2.2.1.4, a hand-written
 * response and one real xrdp answer. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mcs.h"
#include "rw_types.h"
#include "testutil.h"
#include "x224.h"

/* A Server MCS Connect Response written by hand after MS-RDPBCGR 4.1.4 and
 * what FreeRDP's gcc.c reads, with a short fake certificate. 153 bytes. */
static const char *rsp_hand =
        "03 00 00 99" /* TPKT, length 153 */
        "02 f0 80"    /* X.224 Data TPDU, EOT */
        "7f 66 81 8e" /* T.125 Connect-Response, BER length 142 (long form) */
        "0a 01 00"    /* result ENUMERATED rt-successful */
        "02 01 00"    /* calledConnectId INTEGER 0 */
        "30 1a"       /* domainParameters SEQUENCE, 26 bytes */
        "02 01 22 02 01 03 02 01 00 02 01 01 02 01 00 02 01 01 02 03 00 ff f8 02 01 02"
        "04 6a"                /* userData OCTET STRING, 106 bytes */
        "00 05 00 14 7c 00 01" /* T.124 ConnectData key: t124 0.0.20.124.0.1 */
        "2a"                   /* connectPDU length: 42, as Windows writes it */
        "14"                   /* ConnectGCCPDU conferenceCreateResponse */
        "76 0a"                /* nodeID */
        "01 01"                /* tag: INTEGER length 1, value 1 */
        "00"                   /* result success */
        "01"                   /* one UserData set */
        "c0"                   /* value present, key h221NonStandard */
        "00 4d 63 44 6e"       /* key length 4, "McDn" */
        "54"                   /* user data length 84 (PER, one byte) */
        "01 0c 0c 00"          /* SC_CORE, 12 bytes */
        "04 00 08 00"          /* version 0x00080004 */
        "03 00 00 00"          /* clientRequestedProtocols SSL | HYBRID */
        "02 0c 3c 00"          /* SC_SECURITY, 60 bytes */
        "02 00 00 00"          /* encryptionMethod 128BIT */
        "02 00 00 00"          /* encryptionLevel CLIENT_COMPATIBLE */
        "20 00 00 00"          /* serverRandomLen 32 */
        "08 00 00 00"          /* serverCertLen 8 */
        "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f" /* serverRandom */
        "10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f"
        "01 00 00 00 01 00 00 00" /* serverCertificate (fake) */
        "03 0c 0c 00"             /* SC_NET, 12 bytes */
        "eb 03"                   /* MCSChannelId 1003 */
        "01 00"                   /* channelCount 1 */
        "ec 03"                   /* channelIdArray: 1004 */
        "00 00";                  /* Pad (odd count) */

/* Offsets into rsp_hand. */
enum {
	HAND_LEN = 153,
	OFF_TPKT_LEN = 2,
	OFF_X224 = 4,
	OFF_MCS_TAG = 7,
	OFF_MCS_LEN = 9,
	OFF_RESULT = 11,
	OFF_USERDATA = 45,
	OFF_PER_CONNECT_PDU = 54,
	OFF_KEY = 64,
	OFF_PER_USERDATA = 68,
	OFF_SC_CORE = 69,
	OFF_SC_SECURITY = 81,
	OFF_SC_NET = 141,
};

/* Real xrdp 0.9.21.1 (Debian 12), security_layer=rdp crypt_level=none, to
 * the Connect Initial of rw_mcs_connect_initial(40bit): SC_CORE with
 * clientRequestedProtocols, SC_NET without channels, SC_SECURITY none/none
 * without random or certificate; PER lengths in the two-byte form. */
static const char *rsp_xrdp_none =
        "0300006502f0807f665b0a0100020100301a020116020103020100020101020100020101020300fff8"
        "0201020437000500147c00012a14760a01010001c0004d63446e8020010c0c000400080000000000"
        "030c0800eb030000020c0c000000000000000000";

/* Decodes from an exact-size heap copy (ASan catches overreads). */
static int parse(const uint8_t *p, size_t n, struct rw_mcs_connect_response *out)
{
	uint8_t *copy = malloc(n ? n : 1);
	memcpy(copy, p, n);
	int r = rw_mcs_connect_response_parse(copy, n, out);
	free(copy);
	return r;
}

static size_t hand(uint8_t *b, size_t cap)
{
	size_t n = rw_test_hex(rsp_hand, b, cap);
	assert_int_equal(n, HAND_LEN);
	assert_int_equal(b[OFF_SC_CORE], 0x01);
	assert_int_equal(b[OFF_SC_SECURITY], 0x02);
	assert_int_equal(b[OFF_SC_NET], 0x03);
	assert_int_equal(b[OFF_SC_NET + 1], 0x0c);
	return n;
}

static void test_response_hand(void **state)
{
	(void)state;
	uint8_t b[256];
	size_t n = hand(b, sizeof(b));
	struct rw_mcs_connect_response r;
	assert_int_equal(parse(b, n, &r), HAND_LEN);
	assert_int_equal(r.result, 0);
	assert_true(r.has_sc_core);
	assert_int_equal(r.version, 0x00080004);
	assert_true(r.has_client_requested);
	assert_int_equal(r.client_requested_protocols, 3);
	assert_true(r.has_sc_security);
	assert_int_equal(r.encryption_method, RW_ENC_128BIT);
	assert_int_equal(r.encryption_level, RW_ENC_LEVEL_CLIENT_COMPATIBLE);
	assert_int_equal(r.server_random_len, 32);
	assert_int_equal(r.server_cert_len, 8);
	assert_true(r.has_sc_net);
	assert_int_equal(r.io_channel, 1003);
	assert_string_equal(rw_encryption_method_name(r.encryption_method), "128bit");
	assert_string_equal(rw_encryption_level_name(r.encryption_level), "client_compatible");
	/* The next packet's bytes after it are not consumed. */
	uint8_t two[2 * HAND_LEN];
	memcpy(two, b, n);
	memcpy(two + n, b, n);
	assert_int_equal(parse(two, sizeof(two), &r), HAND_LEN);
}

static void test_response_xrdp(void **state)
{
	(void)state;
	uint8_t b[128];
	size_t n = rw_test_hex(rsp_xrdp_none, b, sizeof(b));
	assert_int_equal(n, 101);
	struct rw_mcs_connect_response r;
	assert_int_equal(parse(b, n, &r), 101);
	assert_int_equal(r.result, 0);
	assert_true(r.has_sc_core);
	assert_int_equal(r.version, 0x00080004);
	assert_true(r.has_client_requested);
	assert_int_equal(r.client_requested_protocols, 0);
	assert_true(r.has_sc_security);
	assert_int_equal(r.encryption_method, RW_ENC_NONE);
	assert_int_equal(r.encryption_level, RW_ENC_LEVEL_NONE);
	assert_int_equal(r.server_random_len, 0);
	assert_int_equal(r.server_cert_len, 0);
	assert_true(r.has_sc_net);
	assert_int_equal(r.io_channel, 1003);
}

static void test_every_truncation_needs_more(void **state)
{
	(void)state;
	uint8_t b[256];
	size_t n = hand(b, sizeof(b));
	struct rw_mcs_connect_response r;
	for (size_t k = 0; k < n; k++)
		assert_int_equal(parse(b, k, &r), RW_E_NEED_MORE);
	n = rw_test_hex(rsp_xrdp_none, b, sizeof(b));
	for (size_t k = 0; k < n; k++)
		assert_int_equal(parse(b, k, &r), RW_E_NEED_MORE);
	/* A prefix that is already wrong is not "need more". */
	uint8_t v4[] = {4};
	assert_int_equal(parse(v4, 1, &r), RW_E_VERSION);
	uint8_t res[] = {3, 1};
	assert_int_equal(parse(res, 2, &r), RW_E_VALUE);
	uint8_t not_dt[] = {3, 0, 0, 0x99, 2, 0x80};
	assert_int_equal(parse(not_dt, sizeof(not_dt), &r), RW_E_TYPE);
}

/* The hand vector with one byte changed gives status want. */
static void expect_mutation(size_t off, uint8_t value, int want)
{
	uint8_t b[256];
	size_t n = hand(b, sizeof(b));
	b[off] = value;
	struct rw_mcs_connect_response r;
	int got = parse(b, n, &r);
	if (got != want)
		fail_msg("byte %zu = 0x%02x: got %d (%s), want %d (%s)", off, value, got,
		         rw_status_name(got), want, rw_status_name(want));
}

static void test_bad_lengths(void **state)
{
	(void)state;
	/* TPKT shorter than the Connect-Response in it; longer: trailing bytes */
	expect_mutation(OFF_TPKT_LEN + 1, HAND_LEN - 1, RW_E_LENGTH);
	{
		uint8_t b[256];
		size_t n = hand(b, sizeof(b));
		b[OFF_TPKT_LEN + 1] = HAND_LEN + 1;
		b[n] = 0;
		struct rw_mcs_connect_response r;
		assert_int_equal(parse(b, n + 1, &r), RW_E_TRAILING);
		/* ... and its prefixes that end inside the Connect-Response still
		 * need more: nothing is wrong yet. */
		assert_int_equal(parse(b, n - 1, &r), RW_E_NEED_MORE);
	}
	/* TPKT below the minimum */
	expect_mutation(OFF_TPKT_LEN + 1, 5, RW_E_LENGTH);
	/* X.224 LI */
	expect_mutation(OFF_X224, 3, RW_E_LENGTH);
	/* BER length of Connect-Response: past the TPKT; short by one */
	expect_mutation(OFF_MCS_LEN + 1, 0x8f, RW_E_LENGTH);
	expect_mutation(OFF_MCS_LEN + 1, 0x8d, RW_E_LENGTH);
	/* BER indefinite length, five length bytes */
	expect_mutation(OFF_MCS_LEN, 0x80, RW_E_LENGTH);
	expect_mutation(OFF_MCS_LEN, 0x85, RW_E_LENGTH);
	/* result: length 2 */
	expect_mutation(OFF_RESULT + 1, 2, RW_E_LENGTH);
	/* userData OCTET STRING: one byte too long, one too short */
	expect_mutation(OFF_USERDATA + 1, 0x6b, RW_E_LENGTH);
	expect_mutation(OFF_USERDATA + 1, 0x69, RW_E_LENGTH);
	/* PER user data length: past the octet string; short of it */
	expect_mutation(OFF_PER_USERDATA, 0x55, RW_E_LENGTH);
	expect_mutation(OFF_PER_USERDATA, 0x53, RW_E_TRAILING);
	/* PER fragmented length form */
	expect_mutation(OFF_PER_USERDATA, 0xc1, RW_E_LENGTH);
	/* A block shorter than its header; past the user data */
	expect_mutation(OFF_SC_CORE + 2, 3, RW_E_LENGTH);
	expect_mutation(OFF_SC_NET + 2, 13, RW_E_LENGTH);
	/* SC_CORE too short for version */
	expect_mutation(OFF_SC_CORE + 2, 4, RW_E_LENGTH);
	/* serverCertLen past the block; serverRandomLen that would overflow */
	expect_mutation(OFF_SC_SECURITY + 16, 9, RW_E_LENGTH);
	expect_mutation(OFF_SC_SECURITY + 15, 0xff, RW_E_LENGTH);
	/* SC_NET channelCount past the block (4 + 2 * 5 > 8) */
	expect_mutation(OFF_SC_NET + 6, 5, RW_E_LENGTH);
}

static void test_bad_values(void **state)
{
	(void)state;
	expect_mutation(0, 4, RW_E_VERSION);                       /* TPKT version */
	expect_mutation(OFF_X224 + 1, 0xd0, RW_E_TYPE);            /* not a Data TPDU */
	expect_mutation(OFF_X224 + 2, 0x00, RW_E_VALUE);           /* not the last fragment */
	expect_mutation(OFF_MCS_TAG + 1, 0x65, RW_E_TYPE);         /* a Connect-Initial */
	expect_mutation(OFF_RESULT, 0x02, RW_E_TYPE);              /* result not ENUMERATED */
	expect_mutation(OFF_USERDATA, 0x03, RW_E_TYPE);            /* userData not OCTET STRING */
	expect_mutation(OFF_USERDATA + 2 + 3, 0x15, RW_E_VALUE);   /* not the t124 key */
	expect_mutation(OFF_PER_CONNECT_PDU + 1, 0x00, RW_E_TYPE); /* not a create response */
	expect_mutation(OFF_KEY + 3, 'x', RW_E_VALUE);             /* "McDx" */
	expect_mutation(OFF_SC_SECURITY + 4, 0x03, RW_E_VALUE);    /* method 40 | 128 */
	expect_mutation(OFF_SC_SECURITY + 8, 0x05, RW_E_VALUE);    /* level 5 */
	expect_mutation(OFF_SC_NET, 0x01, RW_E_VALUE);             /* a second SC_CORE */
	/* The connectPDU length is not used (always 0x2a on the wire). */
	expect_mutation(OFF_PER_CONNECT_PDU, 0x00, HAND_LEN);
	/* Unknown block types are skipped. */
	expect_mutation(OFF_SC_NET + 1, 0x0d, HAND_LEN);
}

static void test_refusal_without_user_data(void **state)
{
	(void)state;
	/* Connect-Response rt-domain-not-hierarchical (4) with empty userData */
	uint8_t b[] = {3,    0,    0, 0x2e, 2,    0xf0, 0x80, 0x7f, 0x66, 0x24, 0x0a, 1, 4, 2, 1, 0,
	               0x30, 0x1a, 2, 1,    0x22, 2,    1,    3,    2,    1,    0,    2, 1, 1, 2, 1,
	               0,    2,    1, 1,    2,    3,    0,    0xff, 0xf8, 2,    1,    2, 4, 0};
	assert_int_equal(sizeof(b), 0x2e);
	struct rw_mcs_connect_response r;
	assert_int_equal(parse(b, sizeof(b), &r), (int)sizeof(b));
	assert_int_equal(r.result, 4);
	assert_false(r.has_sc_core);
	assert_false(r.has_sc_security);
	assert_false(r.has_sc_net);
	/* A success needs its user data. */
	b[12] = 0;
	assert_int_equal(parse(b, sizeof(b), &r), RW_E_LENGTH);
}

/* ---- builder ------------------------------------------------------------ */

/* Everything before the client data blocks for a 236-byte block list:
 * MS-RDPBCGR 2.2.1.3 / 4.1.3 with FreeRDP's domain parameters (INTEGERs in
 * their shortest two's complement form: 65535 is 02 03 00 ff ff). */
static const char *ci_head =
        "03 00 01 75"    /* TPKT, length 373 */
        "02 f0 80"       /* X.224 Data TPDU */
        "7f 65 82 01 69" /* Connect-Initial, BER length 361 */
        "04 01 01"       /* callingDomainSelector */
        "04 01 01"       /* calledDomainSelector */
        "01 01 ff"       /* upwardFlag TRUE */
        "30 1a"          /* targetParameters */
        "02 01 22 02 01 02 02 01 00 02 01 01 02 01 00 02 01 01 02 03 00 ff ff 02 01 02"
        "30 19" /* minimumParameters */
        "02 01 01 02 01 01 02 01 01 02 01 01 02 01 00 02 01 01 02 02 04 20 02 01 02"
        "30 20" /* maximumParameters */
        "02 03 00 ff ff 02 03 00 fc 17 02 03 00 ff ff 02 01 01 02 01 00 02 01 01"
        "02 03 00 ff ff 02 01 02"
        "04 82 01 03"             /* userData OCTET STRING, 259 bytes */
        "00 05 00 14 7c 00 01"    /* ConnectData key t124 */
        "80 fa"                   /* connectPDU length 250 (two-byte PER) */
        "00 08 00 10 00 01 c0 00" /* ConferenceCreateRequest, conferenceName "1", one set */
        "44 75 63 61"             /* h221NonStandard "Duca" */
        "80 ec";                  /* user data length 236 */

static void test_builder_layout(void **state)
{
	(void)state;
	uint8_t out[1024], want[256];
	size_t n = rw_mcs_connect_initial(out, sizeof(out), RW_ENC_128BIT, 0);
	size_t h = rw_test_hex(ci_head, want, sizeof(want));
	assert_int_equal(n, 373);
	assert_int_equal(n - h, 236);
	assert_memory_equal(out, want, h);
	/* X.224 agrees: a Data TPDU carrying the rest */
	struct rw_x224 x;
	assert_int_equal(rw_tpkt_length(out, n), 373);
	assert_int_equal(rw_x224_parse(out + 4, n - 4, &x), (int)n - 4);
	assert_int_equal(x.code, RW_X224_DT);
	assert_int_equal(x.user_data_len, n - 7);

	/* CS_CORE, 2.2.1.3.2 */
	const uint8_t *c = out + h;
	assert_int_equal(rw_le16(c), 0xC001);
	assert_int_equal(rw_le16(c + 2), 216);
	assert_int_equal(rw_le32(c + 4), 0x00080004);              /* version */
	assert_int_equal(rw_le16(c + 8), 1024);                    /* desktopWidth */
	assert_int_equal(rw_le16(c + 10), 768);                    /* desktopHeight */
	assert_int_equal(rw_le16(c + 12), 0xCA01);                 /* colorDepth 8 bpp */
	assert_int_equal(rw_le16(c + 14), 0xAA03);                 /* SASSequence */
	assert_int_equal(rw_le32(c + 16), 0x409);                  /* keyboardLayout */
	assert_memory_equal(c + 24, "r\0d\0p\0w\0h\0y\0\0\0", 14); /* clientName */
	assert_int_equal(rw_le32(c + 56), 4);                      /* keyboardType */
	assert_int_equal(rw_le32(c + 64), 12);                     /* keyboardFunctionKey */
	assert_int_equal(rw_le16(c + 132), 0xCA01);                /* postBeta2ColorDepth */
	assert_int_equal(rw_le16(c + 140), 16);                    /* highColorDepth */
	assert_int_equal(rw_le16(c + 144), 0x0001);                /* earlyCapabilityFlags */
	assert_int_equal(c[210], 0);                               /* connectionType */
	assert_int_equal(rw_le32(c + 212), 0);                     /* serverSelectedProtocol */
	/* CS_SECURITY, 2.2.1.3.3 */
	const uint8_t *s = c + 216;
	assert_int_equal(rw_le16(s), 0xC002);
	assert_int_equal(rw_le16(s + 2), 12);
	assert_int_equal(rw_le32(s + 4), RW_ENC_128BIT); /* encryptionMethods */
	assert_int_equal(rw_le32(s + 8), 0);             /* extEncryptionMethods */
	/* CS_NET, 2.2.1.3.4: no channels */
	const uint8_t *net = s + 12;
	assert_int_equal(rw_le16(net), 0xC003);
	assert_int_equal(rw_le16(net + 2), 8);
	assert_int_equal(rw_le32(net + 4), 0);
	assert_ptr_equal(net + 8, out + n);
}

static void test_builder_arguments(void **state)
{
	(void)state;
	uint8_t a[512], b[512];
	size_t n = rw_mcs_connect_initial(a, sizeof(a), RW_ENC_40BIT, 0);
	assert_int_equal(rw_mcs_connect_initial(b, sizeof(b), 0x1b, RW_PROTO_SSL), n);
	/* Only encryptionMethods and serverSelectedProtocol differ. */
	size_t sel = n - 20 - 4, meth = n - 20 + 4;
	assert_int_equal(rw_le32(a + sel), 0);
	assert_int_equal(rw_le32(b + sel), RW_PROTO_SSL);
	assert_int_equal(rw_le32(a + meth), RW_ENC_40BIT);
	assert_int_equal(rw_le32(b + meth), 0x1b);
	for (size_t i = 0; i < n; i++)
		if (i < sel || i >= meth + 4 || (i >= sel + 4 && i < meth))
			assert_int_equal(a[i], b[i]);
}

static void test_builder_capacity(void **state)
{
	(void)state;
	uint8_t ref[512];
	size_t n = rw_mcs_connect_initial(ref, sizeof(ref), RW_ENC_FIPS, 0);
	assert_true(n > 0);
	for (size_t cap = 0; cap < n; cap++) {
		uint8_t *p = malloc(cap ? cap : 1);
		assert_int_equal(rw_mcs_connect_initial(p, cap, RW_ENC_FIPS, 0), 0);
		free(p);
	}
	uint8_t *p = malloc(n);
	assert_int_equal(rw_mcs_connect_initial(p, n, RW_ENC_FIPS, 0), n);
	assert_memory_equal(p, ref, n);
	free(p);
	/* Our own request is not a response. */
	struct rw_mcs_connect_response r;
	assert_int_equal(parse(ref, n, &r), RW_E_TYPE);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(rw_encryption_method_name(RW_ENC_NONE), "none");
	assert_string_equal(rw_encryption_method_name(RW_ENC_40BIT), "40bit");
	assert_string_equal(rw_encryption_method_name(RW_ENC_56BIT), "56bit");
	assert_string_equal(rw_encryption_method_name(RW_ENC_128BIT), "128bit");
	assert_string_equal(rw_encryption_method_name(RW_ENC_FIPS), "fips");
	assert_null(rw_encryption_method_name(0x03));
	assert_null(rw_encryption_method_name(0x04));
	assert_null(rw_encryption_method_name(0x20));
	assert_string_equal(rw_encryption_level_name(RW_ENC_LEVEL_NONE), "none");
	assert_string_equal(rw_encryption_level_name(RW_ENC_LEVEL_LOW), "low");
	assert_string_equal(rw_encryption_level_name(RW_ENC_LEVEL_CLIENT_COMPATIBLE),
	                    "client_compatible");
	assert_string_equal(rw_encryption_level_name(RW_ENC_LEVEL_HIGH), "high");
	assert_string_equal(rw_encryption_level_name(RW_ENC_LEVEL_FIPS), "fips");
	assert_null(rw_encryption_level_name(5));
	assert_null(rw_encryption_level_name(0xFFFFFFFF));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_response_hand),
	        cmocka_unit_test(test_response_xrdp),
	        cmocka_unit_test(test_every_truncation_needs_more),
	        cmocka_unit_test(test_bad_lengths),
	        cmocka_unit_test(test_bad_values),
	        cmocka_unit_test(test_refusal_without_user_data),
	        cmocka_unit_test(test_builder_layout),
	        cmocka_unit_test(test_builder_arguments),
	        cmocka_unit_test(test_builder_capacity),
	        cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
