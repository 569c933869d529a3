/* The hand-written formatters on every record's path (evidence positions,
 * numbers, IPv4 addresses, the proxy's address:port) against what the printf family
 * and inet_ntop they replaced say, over edge values and a sweep. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proxy.h"
#include "record_format.h"

static void mark_as_printf(const struct rw_record *rec, const struct rw_mark *m, char *out,
                           size_t n)
{
	uint64_t since = m->ts_us > rec->ts_open_us ? m->ts_us - rec->ts_open_us : 0;
	if (m->frame)
		snprintf(out, n, "frame %" PRIu64, m->frame);
	else
		snprintf(out, n, "%s byte %" PRIu64 ", +%" PRIu64 ".%03u ms",
		         m->dir == RW_C2S ? "client" : "server", m->offset, since / 1000,
		         (unsigned)(since % 1000));
}

static void test_mark_matches_printf(void **state)
{
	(void)state;
	static const uint64_t vals[] = {0,
	                                1,
	                                9,
	                                10,
	                                99,
	                                100,
	                                999,
	                                1000,
	                                1001,
	                                65535,
	                                1234567,
	                                4294967296ull,
	                                UINT64_MAX / 1000,
	                                UINT64_MAX};
	struct rw_record rec;
	memset(&rec, 0, sizeof(rec));
	rec.ts_open_us = 1000;
	char got[160], want[160];
	size_t nv = sizeof(vals) / sizeof(vals[0]);
	for (size_t i = 0; i < nv; i++)
		for (size_t j = 0; j < nv; j++) {
			for (int d = 0; d < 2; d++) {
				struct rw_mark m = {
				        .ts_us = vals[j], .offset = vals[i], .dir = (uint8_t)d};
				assert_int_equal(rw_format_mark(&rec, &m, got, sizeof(got)), 0);
				mark_as_printf(&rec, &m, want, sizeof(want));
				assert_string_equal(got, want);
			}
			struct rw_mark f = {.frame = vals[i] ? vals[i] : 1};
			assert_int_equal(rw_format_mark(&rec, &f, got, sizeof(got)), 0);
			mark_as_printf(&rec, &f, want, sizeof(want));
			assert_string_equal(got, want);
		}
}

static void test_mark_examples_and_room(void **state)
{
	(void)state;
	struct rw_record rec;
	memset(&rec, 0, sizeof(rec));
	rec.ts_open_us = 5000000;
	char out[64];
	struct rw_mark m = {.ts_us = 5012345, .offset = 19, .dir = RW_S2C};
	assert_int_equal(rw_format_mark(&rec, &m, out, sizeof(out)), 0);
	assert_string_equal(out, "server byte 19, +12.345 ms");
	/* Before the connection opened (clock stepped back): +0.000. */
	m.ts_us = 1;
	m.dir = RW_C2S;
	assert_int_equal(rw_format_mark(&rec, &m, out, sizeof(out)), 0);
	assert_string_equal(out, "client byte 19, +0.000 ms");
	/* Exactly the room for the text and its NUL, then one byte less. */
	size_t len = strlen("client byte 19, +0.000 ms");
	assert_int_equal(rw_format_mark(&rec, &m, out, len + 1), 0);
	assert_int_equal(rw_format_mark(&rec, &m, out, len), -1);
	struct rw_mark f = {.frame = 12};
	assert_int_equal(rw_format_mark(&rec, &f, out, 9), 0);
	assert_string_equal(out, "frame 12");
	assert_int_equal(rw_format_mark(&rec, &f, out, 8), -1);
	/* Another file of a multi-file connection keeps printf's path. */
	rec.file_first = "a.pcap";
	f.file = "/x/b.pcap";
	assert_int_equal(rw_format_mark(&rec, &f, out, sizeof(out)), 0);
	assert_string_equal(out, "b.pcap frame 12");
}

static void test_u64_matches_printf(void **state)
{
	(void)state;
	char got[RW_U64_STR_MAX], want[32];
	uint64_t v = 0;
	/* 0, then every power of ten and its neighbours, then the top. */
	for (int i = 0; i < 20; i++) {
		for (int d = -1; d <= 1; d++) {
			uint64_t x = v + (uint64_t)d;
			if (v == 0 && d < 0)
				continue;
			size_t n = rw_format_u64(got, x);
			snprintf(want, sizeof(want), "%" PRIu64, x);
			assert_string_equal(got, want);
			assert_int_equal(n, strlen(want));
		}
		v = v ? v * 10 : 1;
	}
	assert_int_equal(rw_format_u64(got, UINT64_MAX), 20);
	assert_string_equal(got, "18446744073709551615");
}

static void test_ipv4_matches_inet_ntop(void **state)
{
	(void)state;
	struct rw_endpoint ep = {.family = 2};
	char got[RW_IP_STR_MAX], want[INET_ADDRSTRLEN];
	/* Every byte value in every position, with the others at edge values. */
	static const uint8_t fill[] = {0, 9, 10, 99, 100, 255};
	for (int pos = 0; pos < 4; pos++)
		for (size_t fi = 0; fi < sizeof(fill); fi++)
			for (unsigned v = 0; v < 256; v++) {
				memset(ep.addr, fill[fi], 4);
				ep.addr[pos] = (uint8_t)v;
				assert_true(rw_format_ip(&ep, got));
				assert_non_null(inet_ntop(AF_INET, ep.addr, want, sizeof(want)));
				assert_string_equal(got, want);
			}
}

static void test_ip_port(void **state)
{
	(void)state;
	char out[RW_IP_PORT_STR_MAX];
	struct rw_endpoint ep = {.family = 2, .port = 3389};
	inet_pton(AF_INET, "10.0.100.9", ep.addr);
	assert_true(rw_format_ip_port(&ep, out));
	assert_string_equal(out, "10.0.100.9:3389");
	/* The longest inet_ntop writes here; RW_IP_PORT_STR_MAX has room for
	 * INET6_ADDRSTRLEN's worst case and the port. */
	ep.family = 10;
	ep.port = 65535;
	inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ep.addr);
	assert_true(rw_format_ip_port(&ep, out));
	assert_string_equal(out, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	assert_int_equal(RW_IP_PORT_STR_MAX, INET6_ADDRSTRLEN + strlen("[]:65535"));
	ep.family = 0;
	assert_false(rw_format_ip_port(&ep, out));
	assert_string_equal(out, "");
}

static void test_sockaddr_text(void **state)
{
	(void)state;
	char out[80];
	struct sockaddr_in in4 = {.sin_family = AF_INET, .sin_port = htons(3389)};
	inet_pton(AF_INET, "192.168.10.255", &in4.sin_addr);
	rw_sockaddr_text((struct sockaddr *)&in4, out, sizeof(out));
	assert_string_equal(out, "192.168.10.255:3389");
	in4.sin_port = 0;
	rw_sockaddr_text((struct sockaddr *)&in4, out, sizeof(out));
	assert_string_equal(out, "192.168.10.255:0");
	in4.sin_port = htons(65535);
	inet_pton(AF_INET, "0.0.0.0", &in4.sin_addr);
	rw_sockaddr_text((struct sockaddr *)&in4, out, sizeof(out));
	assert_string_equal(out, "0.0.0.0:65535");
	/* An IPv4 client on a dual-stack listener reads as IPv4. */
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(443)};
	inet_pton(AF_INET6, "::ffff:10.0.0.1", &in6.sin6_addr);
	rw_sockaddr_text((struct sockaddr *)&in6, out, sizeof(out));
	assert_string_equal(out, "10.0.0.1:443");
	inet_pton(AF_INET6, "2001:db8::1", &in6.sin6_addr);
	rw_sockaddr_text((struct sockaddr *)&in6, out, sizeof(out));
	assert_string_equal(out, "[2001:db8::1]:443");
	/* Too small for the fast path: snprintf's truncation, as before. */
	char small[8];
	in4.sin_port = htons(3389);
	inet_pton(AF_INET, "10.1.2.3", &in4.sin_addr);
	rw_sockaddr_text((struct sockaddr *)&in4, small, sizeof(small));
	assert_string_equal(small, "10.1.2.");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_mark_matches_printf),
	        cmocka_unit_test(test_mark_examples_and_room),
	        cmocka_unit_test(test_u64_matches_printf),
	        cmocka_unit_test(test_ipv4_matches_inet_ntop),
	        cmocka_unit_test(test_ip_port),
	        cmocka_unit_test(test_sockaddr_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
