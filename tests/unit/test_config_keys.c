/* conf/config.c: the defaults, every key and its value syntax (booleans,
 * strings, outputs, durations, sizes, counts, the certificate fingerprint)
 * and unknown keys. Split from test_config.c: one job per test file. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "config.h"
#include "config_fixtures.h"

/* ---- defaults ------------------------------------------------------------ */

static void test_defaults(void **state)
{
	(void)state;
	memset(&cfg, 0xa5, sizeof(cfg));
	rw_config_defaults(&cfg);
	assert_int_equal(cfg.n_listen, 0);
	assert_int_equal(cfg.mode, RW_UPSTREAM_NONE);
	assert_string_equal(cfg.upstream_host, "");
	assert_int_equal(cfg.n_outputs, 0);
	assert_false(cfg.json);
	assert_string_equal(cfg.pcap_dir, "");
	assert_string_equal(cfg.user, "");
	assert_false(cfg.syslog);
	assert_int_equal(cfg.connect_timeout_ms, 10000);
	assert_int_equal(cfg.x224_timeout_ms, 30000);
	assert_int_equal(cfg.tls_timeout_ms, 30000);
	assert_int_equal(cfg.nla_timeout_ms, 60000);
	assert_int_equal(cfg.rdp_timeout_ms, 60000);
	assert_int_equal(cfg.idle_timeout_ms, 2 * 3600000);
	assert_int_equal(cfg.grace_ms, 10000);
	assert_int_equal(cfg.max_buffer, 256 * 1024);
	assert_int_equal(cfg.max_connections, 0);
	assert_string_equal(cfg.expected_cert_sha256, "");
	/* An empty file changes nothing; defaults alone do not validate. */
	expect_ok("");
	assert_int_equal(rw_config_validate(&cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "no listen address: set listen = ADDR:PORT (e.g. :3389)");
}

/* ---- every key, valid ------------------------------------------------------ */

static void test_every_key_valid(void **state)
{
	(void)state;
	expect_ok(
	        "listen = 127.0.0.1:13389\n"
	        "listen = [::1]:13389\n"
	        "upstream = rdp-host.example.net:3390\n"
	        "output = -\n"
	        "output = /var/log/rdpwhy/records.json\n"
	        "format = json\n"
	        "pcap_dir = /var/lib/rdpwhy/pcap\n"
	        "user = rdpwhy\n"
	        "syslog = yes\n"
	        "connect_timeout = 5s\n"
	        "x224_timeout = 500ms\n"
	        "tls_timeout = 2m\n"
	        "nla_timeout = 1h\n"
	        "rdp_timeout = 45\n"
	        "idle_timeout = 8h\n"
	        "grace = 0\n"
	        "max_buffer = 1M\n"
	        "max_connections = 500\n"
	        "expected_cert_sha256 = "
	        "3A:5F:0C:9E:11:42:8B:D7:60:2A:4C:93:E8:1D:75:B0:C4:19:8E:2F:6D:A3:57:0B:91:EE:48:"
	        "3C:D2:7A:06:F5\n");
	assert_int_equal(cfg.n_listen, 2);
	assert_string_equal(cfg.listen[0].text, "127.0.0.1:13389");
	assert_string_equal(cfg.listen[1].text, "[::1]:13389");
	assert_int_equal(cfg.mode, RW_UPSTREAM_FIXED);
	assert_string_equal(cfg.upstream_host, "rdp-host.example.net");
	assert_string_equal(cfg.upstream_port, "3390");
	assert_int_equal(cfg.n_outputs, 2);
	assert_string_equal(cfg.outputs[0], "-");
	assert_string_equal(cfg.outputs[1], "/var/log/rdpwhy/records.json");
	assert_true(cfg.json);
	assert_string_equal(cfg.pcap_dir, "/var/lib/rdpwhy/pcap");
	assert_string_equal(cfg.user, "rdpwhy");
	assert_true(cfg.syslog);
	assert_int_equal(cfg.connect_timeout_ms, 5000);
	assert_int_equal(cfg.x224_timeout_ms, 500);
	assert_int_equal(cfg.tls_timeout_ms, 120000);
	assert_int_equal(cfg.nla_timeout_ms, 3600000);
	assert_int_equal(cfg.rdp_timeout_ms, 45000);
	assert_int_equal(cfg.idle_timeout_ms, 8 * 3600000);
	assert_int_equal(cfg.grace_ms, 0);
	assert_int_equal(cfg.max_buffer, 1024 * 1024);
	assert_int_equal(cfg.max_connections, 500);
	assert_string_equal(cfg.expected_cert_sha256,
	                    "3a5f0c9e11428bd7602a4c93e81d75b0c4198e2f6da3570b91ee483cd27a06f5");
}

static void test_bools_and_format(void **state)
{
	(void)state;
	const char *yes[] = {"yes", "true", "on", "1"};
	const char *no[] = {"no", "false", "off", "0"};
	for (size_t i = 0; i < 4; i++) {
		set_ok("syslog", yes[i]);
		assert_true(cfg.syslog);
		set_ok("syslog", no[i]);
		assert_false(cfg.syslog);
	}
	set_err("syslog", "maybe", "syslog: expected yes or no, not 'maybe'");
	set_err("syslog", "", "syslog: expected yes or no, not ''");
	set_err("syslog", "YES!", "syslog: expected yes or no, not 'YES!'");
	set_ok("format", "text");
	assert_false(cfg.json);
	set_ok("format", "json");
	assert_true(cfg.json);
	set_err("format", "xml", "format: expected text or json, not 'xml'");
	set_err("format", "JSON", "format: expected text or json, not 'JSON'");
	set_err("format", "", "format: expected text or json, not ''");
	/* The last line wins for keys that do not accumulate. */
	expect_ok("format = json\nformat = text\n");
	assert_false(cfg.json);
}

static void test_strings(void **state)
{
	(void)state;
	set_ok("pcap_dir", "relative/dir");
	assert_string_equal(cfg.pcap_dir, "relative/dir");
	expect_ok("pcap_dir = /x\npcap_dir = \"\"\n");
	assert_string_equal(cfg.pcap_dir, "");
	char longv[PATH_MAX + 1];
	memset(longv, 'a', PATH_MAX);
	longv[PATH_MAX] = 0;
	assert_int_equal(set1("pcap_dir", longv), -1);
	assert_non_null(strstr(err, "pcap_dir: 'aaaa"));
	assert_non_null(strstr(err, "...' is too long (max 4095 characters)"));
	/* Below the field's size, the line it is written back on is the
	 * bound: pcap_dir = "..." in 4096 characters. */
	longv[4096 - 13 + 1] = 0;
	assert_int_equal(set1("pcap_dir", longv), -1);
	assert_non_null(strstr(err, "is too long to be written back on one line"));
	longv[4096 - 13] = 0;
	set_ok("pcap_dir", longv);

	set_ok("user", "rdpwhy");
	assert_string_equal(cfg.user, "rdpwhy");
	char user[65];
	memset(user, 'u', 64);
	user[64] = 0;
	assert_int_equal(set1("user", user), -1);
	assert_non_null(strstr(err, "is too long (max 63 characters)"));
	user[63] = 0;
	set_ok("user", user);
}

static void test_output(void **state)
{
	(void)state;
	set_ok("output", "-");
	assert_int_equal(cfg.n_outputs, 1);
	/* Stored as written, options and all; a scheme we do not speak is refused. */
	set_ok("output", "tcp://siem.example.net:514  format=cef");
	assert_string_equal(cfg.outputs[0], "tcp://siem.example.net:514  format=cef");
	set_err("output", "syslog+tls://siem.example.net:6514",
	        "output: 'syslog+tls://siem.example.net:6514': unknown scheme (udp://, tcp://, "
	        "tls:// or kafka://)");
	set_ok("output", "records.json");
	set_err("output", "",
	        "output: empty (use - for stdout, a path, syslog, udp://, "
	        "tcp://, tls://HOST:PORT, or kafka://HOST:PORT/TOPIC)");
	expect_ok("output = a\noutput = b\noutput = c\n");
	assert_int_equal(cfg.n_outputs, 3);
	assert_string_equal(cfg.outputs[2], "c");
	expect_err("output = a\noutput = b\noutput = a\n",
	           "t.conf:3: output: 'a' is already listed");
	expect_err("output = 1\noutput = 2\noutput = 3\noutput = 4\noutput = 5\noutput = 6\n"
	           "output = 7\noutput = 8\noutput = 9\n",
	           "t.conf:9: output: too many outputs (max 8)");
}

/* ---- durations, sizes, counts --------------------------------------------- */

static void test_durations(void **state)
{
	(void)state;
	static const struct {
		const char *v;
		unsigned ms;
	} good[] = {
	        {"0", 0},
	        {"0ms", 0},
	        {"0s", 0},
	        {"0h", 0},
	        {"1ms", 1},
	        {"500ms", 500},
	        {"10s", 10000},
	        {"10", 10000},
	        {"007s", 7000},
	        {"2m", 120000},
	        {"1h", 3600000},
	        {"4294967295ms", 4294967295u},
	        {"4294967s", 4294967000u},
	        {"71582m", 4294920000u},
	        {"1193h", 4294800000u},
	        {"4294967", 4294967000u},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		set_ok("connect_timeout", good[i].v);
		assert_int_equal(cfg.connect_timeout_ms, good[i].ms);
	}
	static const char *const too_long[] = {
	        "4294967296ms",
	        "4294968s",
	        "4294968",
	        "71583m",
	        "1194h",
	        "18446744073709551615ms",
	        "18446744073709551616ms",
	        "99999999999999999999999999999999h",
	};
	for (size_t i = 0; i < sizeof(too_long) / sizeof(too_long[0]); i++) {
		char msg[200];
		snprintf(msg, sizeof(msg), "grace: duration '%s' is too long (max 1193h)",
		         too_long[i]);
		set_err("grace", too_long[i], msg);
		assert_int_equal(cfg.grace_ms, 10000); /* unchanged */
	}
	static const char *const bad[] = {
	        "",     "ten", "s",     "ms",    "-1s",  "+1s", "10 s",  " 10s",  "10s ",
	        "1.5s", "10S", "10sec", "10ms5", "0x10", "10d", "1e3ms", "10mss", "10sm",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char msg[200];
		snprintf(msg, sizeof(msg), "idle_timeout: bad duration '%s' (use e.g. 10s, 500ms)",
		         bad[i]);
		set_err("idle_timeout", bad[i], msg);
	}
	/* Every duration key takes the same syntax. */
	const char *keys[] = {"connect_timeout", "x224_timeout", "tls_timeout", "nla_timeout",
	                      "rdp_timeout",     "idle_timeout", "grace"};
	for (size_t i = 0; i < 7; i++) {
		set_ok(keys[i], "1500ms");
		char msg[200];
		snprintf(msg, sizeof(msg), "%s: bad duration 'soon' (use e.g. 10s, 500ms)",
		         keys[i]);
		set_err(keys[i], "soon", msg);
	}
	/* The example message from the brief, from a file. */
	expect_err("\n\n\n\n\n\n\n\n\n\n\nconnect_timeout = ten\n",
	           "t.conf:12: connect_timeout: bad duration 'ten' (use e.g. 10s, 500ms)");
}

static void test_sizes(void **state)
{
	(void)state;
	static const struct {
		const char *v;
		size_t n;
	} good[] = {
	        {"4096", 4096},   {"4k", 4096},    {"4K", 4096},    {"262144", 262144},
	        {"256k", 262144}, {"1m", 1048576}, {"1M", 1048576}, {"0004096", 4096},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		set_ok("max_buffer", good[i].v);
		assert_int_equal(cfg.max_buffer, good[i].n);
	}
	set_err("max_buffer", "4095", "max_buffer: 4095 is below the minimum of 4096 bytes");
	set_err("max_buffer", "3k", "max_buffer: 3k is below the minimum of 4096 bytes");
	set_err("max_buffer", "0", "max_buffer: 0 is below the minimum of 4096 bytes");
	set_err("max_buffer", "0M", "max_buffer: 0M is below the minimum of 4096 bytes");
	static const char *const bad[] = {"",     "k",  "M",  "-4096", "+4096", "4 k",    "4kb",
	                                  "4KiB", "1T", "1t", "1.5M",  "4096 ", "0x1000", "4kk"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char msg[200];
		snprintf(msg, sizeof(msg), "max_buffer: bad size '%s' (use e.g. 262144, 256k, 1M)",
		         bad[i]);
		set_err("max_buffer", bad[i], msg);
		assert_int_equal(cfg.max_buffer, 256 * 1024);
	}
	/* Overflow of size_t, of the multiplication and of the digits. */
	char big[64];
	snprintf(big, sizeof(big), "%zu", (size_t)SIZE_MAX);
	set_ok("max_buffer", big);
	assert_true(cfg.max_buffer == SIZE_MAX);
	const char *huge[] = {"18446744073709551616", "99999999999999999999999", "17592186044416M",
	                      "18014398509481984k"};
	if (SIZE_MAX == UINT64_MAX) {
		for (size_t i = 0; i < 4; i++) {
			char msg[200];
			snprintf(msg, sizeof(msg), "max_buffer: size '%s' is too large", huge[i]);
			set_err("max_buffer", huge[i], msg);
		}
		set_ok("max_buffer", "17592186044415M");
		assert_true(cfg.max_buffer == (size_t)17592186044415ull * 1048576u);
	}
}

static void test_max_connections(void **state)
{
	(void)state;
	set_ok("max_connections", "0");
	assert_int_equal(cfg.max_connections, 0);
	set_ok("max_connections", "1");
	assert_int_equal(cfg.max_connections, 1);
	set_ok("max_connections", "4294967295");
	assert_true(cfg.max_connections == 4294967295u);
	set_err("max_connections", "4294967296",
	        "max_connections: '4294967296' is too large (max 4294967295)");
	set_err("max_connections", "99999999999999999999999",
	        "max_connections: '99999999999999999999999' is too large (max 4294967295)");
	const char *bad[] = {"", "-1", "+1", "x", "1k", "1 ", "0x10", "1.0"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char msg[200];
		snprintf(msg, sizeof(msg), "max_connections: expected a number, not '%s'", bad[i]);
		set_err("max_connections", bad[i], msg);
	}
}

static void test_expected_cert(void **state)
{
	(void)state;
	const char *lower = "3a5f0c9e11428bd7602a4c93e81d75b0c4198e2f6da3570b91ee483cd27a06f5";
	set_ok("expected_cert_sha256", lower);
	assert_string_equal(cfg.expected_cert_sha256, lower);
	set_ok("expected_cert_sha256",
	       "3A5F0C9E11428BD7602A4C93E81D75B0C4198E2F6DA3570B91EE483CD27A06F5");
	assert_string_equal(cfg.expected_cert_sha256, lower);
	set_ok("expected_cert_sha256", "3a:5f:0c:9e:11:42:8b:d7:60:2a:4c:93:e8:1d:75:b0:c4:19:8e:"
	                               "2f:6d:a3:57:0b:91:ee:48:3c:d2:7a:06:f5");
	assert_string_equal(cfg.expected_cert_sha256, lower);
	/* "" clears an expectation set earlier. */
	expect_ok("expected_cert_sha256 = 3a5f0c9e11428bd7602a4c93e81d75b0c4198e2f6da3570b91ee483c"
	          "d27a06f5\nexpected_cert_sha256 = \"\"\n");
	assert_string_equal(cfg.expected_cert_sha256, "");

	set_err("expected_cert_sha256",
	        "3a5f0c9e11428bd7602a4c93e81d75b0c4198e2f6da3570b91ee483cd27a06f",
	        "expected_cert_sha256: 63 hex digits, a SHA-256 fingerprint has 64");
	set_err("expected_cert_sha256",
	        "3a5f0c9e11428bd7602a4c93e81d75b0c4198e2f6da3570b91ee483cd27a06f5aa",
	        "expected_cert_sha256: 66 hex digits, a SHA-256 fingerprint has 64");
	set_err("expected_cert_sha256", "da39a3ee5e6b4b0d3255bfef95601890afd80709",
	        "expected_cert_sha256: 40 hex digits, a SHA-256 fingerprint has 64");
	set_err("expected_cert_sha256",
	        ":::", "expected_cert_sha256: 0 hex digits, a SHA-256 fingerprint has 64");
	set_err("expected_cert_sha256",
	        "3g5f0c9e11428bd7602a4c93e81d75b0c4198e2f6da3570b91ee483cd27a06f5",
	        "expected_cert_sha256: bad character 'g' (use 64 hex digits, colons allowed)");
	set_err("expected_cert_sha256",
	        "3a 5f0c9e11428bd7602a4c93e81d75b0c4198e2f6da3570b91ee483cd27a06f5",
	        "expected_cert_sha256: bad character ' ' (use 64 hex digits, colons allowed)");
}

/* ---- keys ------------------------------------------------------------------ */

static void test_unknown_keys(void **state)
{
	(void)state;
	set_err("conect_timeout", "10s",
	        "unknown key 'conect_timeout' (did you mean 'connect_timeout'?)");
	set_err("listne", ":1", "unknown key 'listne' (did you mean 'listen'?)");
	set_err("Listen", ":1", "unknown key 'Listen' (did you mean 'listen'?)");
	set_err("frobnicate", "1", "unknown key 'frobnicate'");
	set_err("", "1", "unknown key ''");
	char longk[200];
	memset(longk, 'k', sizeof(longk) - 1);
	longk[sizeof(longk) - 1] = 0;
	assert_int_equal(set1(longk, "1"), -1);
	assert_non_null(strstr(err, "unknown key 'kkkk"));
	expect_err("listen = :1\nlisten_address = 1.2.3.4:1\n",
	           "t.conf:2: unknown key 'listen_address'");
	/* Flag spelling. */
	set_ok("pcap-dir", "/x");
	assert_string_equal(cfg.pcap_dir, "/x");
	set_ok("connect-timeout", "3s");
	assert_int_equal(cfg.connect_timeout_ms, 3000);
	expect_ok("max-buffer = 8k\n");
	assert_int_equal(cfg.max_buffer, 8192);
	/* The key list is complete and ends with NULL. */
	size_t n = 0;
	while (rw_config_key(n))
		n++;
	/* 35, json_style, inspect_cert, inspect_key, keylog, workers */
	assert_int_equal(n, 40);
	assert_string_equal(rw_config_key(0), "listen");
	assert_null(rw_config_key(1000));
	assert_string_equal(rw_upstream_mode_name(RW_UPSTREAM_NONE), "none");
	assert_string_equal(rw_upstream_mode_name(RW_UPSTREAM_FIXED), "fixed");
	assert_string_equal(rw_upstream_mode_name(RW_UPSTREAM_TRANSPARENT), "transparent");
	assert_string_equal(rw_upstream_mode_name(RW_UPSTREAM_TPROXY), "tproxy");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_defaults),
	        cmocka_unit_test(test_every_key_valid),
	        cmocka_unit_test(test_bools_and_format),
	        cmocka_unit_test(test_strings),
	        cmocka_unit_test(test_output),
	        cmocka_unit_test(test_durations),
	        cmocka_unit_test(test_sizes),
	        cmocka_unit_test(test_max_connections),
	        cmocka_unit_test(test_expected_cert),
	        cmocka_unit_test(test_unknown_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
