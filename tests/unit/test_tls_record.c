/* TLS record layer: framing across any segmentation, handshake messages split
 * over records and several per record, alerts, CCS, SSLv2 hellos, errors. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rw_types.h"
#include "testutil.h"
#include "tls_record.h"

struct seen {
	char log[1024]; /* one letter-coded line per callback, for exact comparison */
	size_t len;
	int error;
};

static void logf_(struct seen *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void logf_(struct seen *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(s->log + s->len, sizeof(s->log) - s->len, fmt, ap);
	va_end(ap);
	if (k > 0)
		s->len += (size_t)k;
	assert_true(s->len < sizeof(s->log));
}

static void cb_record(void *arg, uint8_t type, uint16_t version, size_t len, bool enc)
{
	logf_(arg, "R%u/%04x/%zu%s ", type, version, len, enc ? "e" : "");
}
static void cb_handshake(void *arg, uint8_t type, const uint8_t *p, size_t n, bool oversized)
{
	unsigned sum = 0;
	for (size_t i = 0; p && i < n; i++)
		sum += p[i];
	logf_(arg, "H%u/%zu/%u%s ", type, n, sum, oversized ? "o" : "");
}
static void cb_alert(void *arg, uint8_t level, uint8_t desc, bool enc)
{
	logf_(arg, "A%u/%u%s ", level, desc, enc ? "e" : "");
}
static void cb_ccs(void *arg)
{
	logf_(arg, "C ");
}
static void cb_sslv2(void *arg, uint16_t version, size_t len)
{
	logf_(arg, "V2/%04x/%zu ", version, len);
}
static void cb_error(void *arg, int status, const char *what)
{
	struct seen *s = arg;
	(void)what;
	s->error = status;
	logf_(arg, "E%d ", status);
}

static const struct rw_tls_callbacks cbs = {cb_record, cb_handshake, cb_alert,
                                            cb_ccs,    cb_sslv2,     cb_error};

/* Feeds `hex` whole, byte by byte and in 50 random splits (each piece from an
 * exact-size heap copy) and checks every run logs exactly `want`. */
static void check(const char *hex, size_t max_msg, const char *want)
{
	uint8_t buf[4096];
	size_t n = rw_test_hex(hex, buf, sizeof(buf));
	unsigned seed = 12345;
	for (int mode = 0; mode < 52; mode++) {
		struct seen s = {.len = 0};
		struct rw_tls_stream t;
		rw_tls_stream_init(&t, &cbs, &s, max_msg);
		size_t off = 0;
		while (off < n) {
			size_t k = n - off;
			if (mode == 1)
				k = 1;
			else if (mode > 1) {
				seed = seed * 1103515245u + 12345u;
				k = 1 + (seed >> 16) % (k < 13 ? k : 13);
			}
			uint8_t *piece = malloc(k);
			memcpy(piece, buf + off, k);
			rw_tls_stream_feed(&t, piece, k);
			free(piece);
			off += k;
		}
		rw_tls_stream_free(&t);
		if (strcmp(s.log, want) != 0)
			fail_msg("mode %d: got '%s' want '%s'", mode, s.log, want);
	}
}

static void test_handshake_split_over_records(void **state)
{
	(void)state;
	/* One 6-byte message (type 1) split over two records. */
	check("16 0303 0005 01 000006 aa"
	      "16 0303 0005 bb cc dd ee ff",
	      0, "R22/0303/5 R22/0303/5 H1/6/1275 ");
}

static void test_several_messages_per_record(void **state)
{
	(void)state;
	/* ServerHelloDone (empty) and a 2-byte message in one record. */
	check("16 0303 000a 0e 000000 0b 000002 0102", 0, "R22/0303/10 H14/0/0 H11/2/3 ");
}

static void test_alert_ccs_and_encryption(void **state)
{
	(void)state;
	check("15 0303 0002 02 28"       /* cleartext fatal handshake_failure */
	      "14 0303 0001 01"          /* CCS: what follows is encrypted */
	      "16 0303 0004 11 22 33 44" /* encrypted Finished: opaque */
	      "15 0303 0003 aa bb cc"    /* encrypted alert */
	      "17 0303 0000",            /* empty application data is legal */
	      0, "R21/0303/2 A2/40 R20/0303/1 C R22/0303/4e R21/0303/3e A0/0e R23/0303/0e ");
}

static void test_oversized_message(void **state)
{
	(void)state;
	/* A 300-byte Certificate with a 256-byte limit is skipped, not buffered. */
	char hex[2048] = "16 0303 0130 0b 00012c";
	for (int i = 0; i < 300; i++)
		strcat(hex, "01");
	strcat(hex, "16 0303 0004 0e 000000");
	check(hex, 256, "R22/0303/304 H11/300/0o R22/0303/4 H14/0/0 ");
}

static void test_sslv2_client_hello(void **state)
{
	(void)state;
	/* SSLv2-compatible ClientHello (RFC 5246 E.2) offering TLS 1.0, then a
	 * normal record from the same stream. */
	check("80 2e 01 0301 0015 0000 0010"
	      "000039 000038 000035 000016 000013 00000a 700080"
	      "0102030405060708090a0b0c0d0e0f10"
	      "15 0301 0002 01 00",
	      0, "V2/0301/48 R21/0301/2 A1/0 ");
	uint8_t v2[] = {0x80, 0x2e, 0x01, 0x03, 0x01};
	assert_true(rw_tls_looks_like_sslv2_hello(v2, sizeof(v2)));
	v2[2] = 2;
	assert_false(rw_tls_looks_like_sslv2_hello(v2, sizeof(v2)));
}

static void test_framing_errors(void **state)
{
	(void)state;
	check("63 0303 0002 0000", 0, "E-4 ");   /* content type 99 */
	check("16 0203 0002 0000", 0, "E-2 ");   /* major version 2 */
	check("17 0303 4801", 0, "E-3 ");        /* 18433 > 2^14+2048 */
	check("15 0303 0003 020a00", 0, "E-3 "); /* cleartext alert of 3 bytes */
	check("14 0303 0002 0101", 0, "E-3 ");   /* CCS of 2 bytes */
	check("16 0303 0000", 0, "E-3 ");        /* empty handshake record */
	check("16 0303 0004 0e000000 47 45 54 20", 0, "R22/0303/4 H14/0/0 E-4 "); /* then "GET " */
	uint8_t junk[] = {'G', 'E', 'T'};
	assert_false(rw_tls_looks_like_record(junk, sizeof(junk)));
	uint8_t rec[] = {0x16, 0x03};
	assert_true(rw_tls_looks_like_record(rec, sizeof(rec)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_handshake_split_over_records),
	        cmocka_unit_test(test_several_messages_per_record),
	        cmocka_unit_test(test_alert_ccs_and_encryption),
	        cmocka_unit_test(test_oversized_message),
	        cmocka_unit_test(test_sslv2_client_hello),
	        cmocka_unit_test(test_framing_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
