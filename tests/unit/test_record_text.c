/* The text report of a record: exact output for a fully populated record and a
 * minimal one, the cause lines of every cause, variants, hostile and deceptive
 * strings, and all-or-nothing output on allocation failure. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "record.h"
#include "record_format.h"
#include "record_fixtures.h"
#include "session.h"

/* ---- text ---- */

static const char full_text[] =
        "10.0.0.1:50000 -> 10.0.0.2:3389  2026-11-24 17:05:03.123 UTC  duration 1.234 s\n"
        "  cause      certificate_rejected_by_client   (closed by client, fin, in "
        "tls_handshake)\n"
        "  fix        Make the client trust the host's certificate issuer\n"
        "  confidence high\n"
        "  timeline   +0.000 ms tcp_connect, +1.000 ms x224, +3.250 ms tls_handshake\n"
        "  rdp        cookie \"alice\", requested ssl,hybrid, selected ssl\n"
        "  tls        1.2 TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, sni \"rdp.example.com\", "
        "alert from client: unknown_ca\n"
        "  cert       CN=rdp.example.com (issuer CN=Example CA) valid 2026-01-01 .. 2027-01-01\n"
        "             names DNS:rdp.example.com, IP:10.0.0.2\n"
        "             sha1 00112233445566778899AABBCCDDEEFF00112233\n"
        "             sha256 00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF\n"
        "  evidence   - client sent alert unknown_ca after the Certificate\n"
        "             - certificate issued by Example CA\n"
        "  ladder                client                                 server\n"
        "             +0.000 ms  SYN -------------------------------------->\n"
        "                        <---------------------------------- SYN-ACK\n"
        "                        X.224 CR (ssl|hybrid) -------------------->\n"
        "                        <--------------------------- X.224 CC (ssl)\n"
        "                        ClientHello ------------------------------>\n"
        "                        <------------- ServerHello 1.2, Certificate\n"
        "             +3.500 ms  TLS alert unknown_ca --------------------->\n"
        "             +1234 ms   FIN -------------------------------------->\n"
        "  bytes      client 1234, server 5678; retransmits client 1, server 2\n"
        "  proxy      original destination 10.0.0.9:3389, upstream connect 3 ms\n";

static const char minimal_text[] =
        "10.0.0.1:50000 -> 10.0.0.2:3389  2026-11-24 17:05:03.123 UTC  duration 0.001 s\n"
        "  cause      upstream_refused                 (closed by server, refused, in "
        "tcp_connect)\n"
        "  fix        Check that TermService listens on the port\n"
        "  confidence high\n"
        "  timeline   +0.000 ms tcp_connect\n"
        "  evidence   - SYN answered by RST\n"
        "  bytes      client 0, server 0\n";

static void assert_text_equal(const struct rw_buf *b, const char *want)
{
	if (strcmp(rw_buf_str(b), want) != 0)
		fail_msg("text differs:\n--- got\n%s--- want\n%s", rw_buf_str(b), want);
}

static void test_text_full_record(void **state)
{
	(void)state;
	struct rw_record r;
	fill_full(&r);
	struct rw_buf b = RW_BUF_INIT;
	assert_int_equal(rw_record_text(&r, &b), 0);
	assert_text_equal(&b, full_text);
	rw_buf_free(&b);
}

static void test_text_minimal_record(void **state)
{
	(void)state;
	struct rw_record r;
	fill_minimal(&r);
	struct rw_buf b = RW_BUF_INIT;
	assert_int_equal(rw_record_text(&r, &b), 0);
	assert_text_equal(&b, minimal_text);
	rw_buf_free(&b);
}

/* The cause line and the fix line of every cause code, closed or not: the
 * name padded to the 30-column field (the longest fits, so the "(" stays in
 * one column), the close facts in the parentheses, and the cause's own
 * remediation as the fix, the line right after. */
static void test_text_cause_lines(void **state)
{
	(void)state;
	for (int c = 0; c < RW_CAUSE_COUNT; c++) {
		const char *name = rw_cause_name((enum rw_cause)c);
		assert_true(strlen(name) <= 30);
		for (int open = 0; open < 2; open++) {
			struct rw_record r;
			fill_minimal(&r);
			r.verdict.cause = (enum rw_cause)c;
			r.verdict.remediation = rw_cause_remediation((enum rw_cause)c);
			if (open) {
				r.connect_failed = 0;
				r.verdict.closed_by = RW_SIDE_NONE;
				r.verdict.close_kind = RW_CLOSE_NONE;
				r.verdict.phase = RW_PHASE_NLA;
			}
			char want[512];
			snprintf(want, sizeof(want),
			         "\n  cause      %-30s   (%s, in %s)\n  fix        %s\n", name,
			         open ? "not closed" : "closed by server, refused",
			         open ? "nla" : "tcp_connect", r.verdict.remediation);
			struct rw_buf b = RW_BUF_INIT;
			assert_int_equal(rw_record_text(&r, &b), 0);
			const char *nl = strchr(rw_buf_str(&b), '\n');
			assert_non_null(nl);
			if (strncmp(nl, want, strlen(want)) != 0)
				fail_msg("cause %s:\n--- got\n%s--- want (after line 1)\n%s", name,
				         rw_buf_str(&b), want + 1);
			rw_buf_free(&b);
		}
	}
}

static void test_text_variants(void **state)
{
	(void)state;
	struct rw_record r;
	struct rw_buf b = RW_BUF_INIT;

	/* No ServerHello: the client's offer; an open connection; IPv6; an
	 * expired self-signed certificate; a midstream capture. */
	fill_full(&r);
	r.server_hello_seen = false;
	r.alert[RW_C2S].seen = false;
	r.alert[RW_S2C] = (struct rw_alert){.seen = true, .description = 70, .ts_us = T0};
	r.client.family = 10;
	memset(r.client.addr, 0, 16);
	r.client.addr[15] = 1;
	r.cert.not_after = 1748779200; /* 2025-06-01 */
	r.cert.self_signed = true;
	r.cert.issuer_cn[0] = '\0';
	r.midstream = true;
	r.proxy = false;
	r.has_original_dst = false;
	r.cc_seen = false;
	r.neg_rsp_present = false;
	r.verdict.closed_by = RW_SIDE_NONE;
	r.verdict.phase = RW_PHASE_TLS_HANDSHAKE;
	assert_int_equal(rw_record_text(&r, &b), 0);
	assert_contains(&b, "[::1]:50000 -> 10.0.0.2:3389");
	assert_contains(&b, "(not closed, in tls_handshake)\n");
	assert_contains(&b, "  rdp        cookie \"alice\", requested ssl,hybrid, no confirm\n");
	assert_contains(&b, "  tls        client offered 1.3,1.2 with 5 cipher suites, sni "
	                    "\"rdp.example.com\", alert from server: protocol_version\n");
	assert_contains(&b, "  cert       CN=rdp.example.com (issuer CN=Example CA,O=Example) "
	                    "valid 2026-01-01 .. 2025-06-01, EXPIRED at connection time, "
	                    "self-signed\n");
	assert_contains(&b, "  note       capture began mid-connection");
	assert_false(strstr(b.data, "  proxy"));
	rw_buf_free(&b);

	/* Not yet valid; no SNI; negotiation failure; long timeline. */
	fill_full(&r);
	r.cert.not_before = 1798761600;
	r.ch.has_sni = false;
	r.neg_rsp_present = false;
	r.neg_failure_present = true;
	r.neg_failure_code = 1;
	r.tls_established = true;
	r.phase_reached[RW_PHASE_NLA] = true;
	r.phase_ts_us[RW_PHASE_NLA] = T0 + 25000;
	r.verdict.cause = RW_CAUSE_NLA_FAILED;
	r.verdict.phase = RW_PHASE_NLA;
	assert_int_equal(rw_record_text(&r, &b), 0);
	assert_contains(&b, "NOT YET VALID at connection time\n");
	assert_contains(&b, "failure ssl_required_by_server\n");
	assert_contains(&b, "+3.250 ms tls_handshake, +25 ms nla\n");
	assert_contains(&b, "alert from client: unknown_ca, established\n");
	assert_false(strstr(b.data, "sni"));
	rw_buf_free(&b);
}

static void test_text_hostile_strings(void **state)
{
	(void)state;
	struct rw_record r;
	make_hostile(&r);
	struct rw_buf b = RW_BUF_INIT;
	assert_int_equal(rw_record_text(&r, &b), 0);
	/* Same number of lines as the clean record: nothing forged a line. */
	size_t lines = 0;
	for (size_t i = 0; i < b.len; i++) {
		unsigned char c = (unsigned char)b.data[i];
		if (c == '\n')
			lines++;
		else if (c < 0x20 || c == 0x7f)
			fail_msg("raw control byte 0x%02x in text output", c);
	}
	size_t clean_lines = 0;
	for (const char *p = full_text; *p; p++)
		clean_lines += *p == '\n';
	assert_int_equal(lines, clean_lines);
	assert_contains(&b, "  rdp        cookie \"x\\x0d\\x0a\\\"},{\\\"rdpwhy.cause\\\":\\\""
	                    "normal_close\\\\\\x1b[2J\\x00\\xff\\xc0\\x80\", requested");
	/* Unquoted fields do not escape '"' but do escape the rest. */
	assert_contains(&b, "  cert       CN=x\\x0d\\x0a\"},{\"rdpwhy.cause\":\"normal_close"
	                    "\\\\\\x1b[2J (issuer");
	assert_contains(&b, "  evidence   - x\\x0d\\x0a\"},");
	rw_buf_free(&b);
}

static void test_text_deceptive_unicode(void **state)
{
	(void)state;
	/* Harmless UTF-8 passes; bidi overrides, line separators and C1
	 * controls are shown as bytes. */
	struct rw_record r;
	fill_full(&r);
	static const char s[] = "caf\xc3\xa9 \xe2\x80\xae"
	                        "evil\xe2\x80\xa8\xc2\x9b";
	memcpy(cookie_storage, s, sizeof(s));
	r.token_len = sizeof(s) - 1;
	struct rw_buf b = RW_BUF_INIT;
	assert_int_equal(rw_record_text(&r, &b), 0);
	assert_contains(&b, "cookie \"caf\xc3\xa9 \\xe2\\x80\\xae"
	                    "evil\\xe2\\x80\\xa8\\xc2\\x9b\"");
	rw_buf_free(&b);
}

static void test_text_all_or_nothing(void **state)
{
	(void)state;
	check_all_or_nothing(rw_record_text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_text_full_record),
	        cmocka_unit_test(test_text_minimal_record),
	        cmocka_unit_test(test_text_cause_lines),
	        cmocka_unit_test(test_text_variants),
	        cmocka_unit_test(test_text_hostile_strings),
	        cmocka_unit_test(test_text_deceptive_unicode),
	        cmocka_unit_test(test_text_all_or_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
