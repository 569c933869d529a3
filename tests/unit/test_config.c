/* conf/config.c: every key, value syntax, the file format, FILE:LINE messages,
 * whole-config checks, and the shipped example conf/rdpwhy.conf. */
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

/* CMake gives the absolute tests/data directory; a direct build runs from the
 * repository root. */
#ifdef RW_TEST_DATA
#define REPO_DIR RW_TEST_DATA "/../.."
#else
#define REPO_DIR "."
#endif
#define EXAMPLE_CONF REPO_DIR "/conf/rdpwhy.conf"
#define CONF_README  REPO_DIR "/conf/README.md"

static struct rw_proxy_config cfg; /* large: not on the stack */
static char err[RW_CONF_ERR];

/* Parses text as file "t.conf" over the defaults. */
static int parse(const char *text)
{
	rw_config_defaults(&cfg);
	err[0] = 0;
	return rw_config_parse("t.conf", text, strlen(text), &cfg, err, sizeof(err));
}

static void expect_ok(const char *text)
{
	if (parse(text) != 0)
		fail_msg("'%s' should parse: %s", text, err);
}

static void expect_err(const char *text, const char *msg)
{
	if (parse(text) == 0)
		fail_msg("'%s' should fail with: %s", text, msg);
	assert_string_equal(err, msg);
}

/* One key through rw_config_set on fresh defaults. */
static int set1(const char *key, const char *value)
{
	rw_config_defaults(&cfg);
	err[0] = 0;
	return rw_config_set(&cfg, key, value, err, sizeof(err));
}

static void set_ok(const char *key, const char *value)
{
	if (set1(key, value) != 0)
		fail_msg("%s = '%s' should be accepted: %s", key, value, err);
}

static void set_err(const char *key, const char *value, const char *msg)
{
	if (set1(key, value) == 0)
		fail_msg("%s = '%s' should fail with: %s", key, value, msg);
	assert_string_equal(err, msg);
}

static char *tmp_path(const char *name)
{
	static char path[PATH_MAX];
	const char *dir = getenv("TMPDIR");
	snprintf(path, sizeof(path), "%s/rdpwhy_test_config_%ld_%s", dir && *dir ? dir : "/tmp",
	         (long)getpid(), name);
	return path;
}

static void write_file(const char *path, const char *text, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	assert_true(n < sizeof(buf) - 1);
	buf[n] = 0;
	fclose(f);
	return buf;
}

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
	longv[PATH_MAX - 1] = 0;
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

/* ---- listen ---------------------------------------------------------------- */

static void check_v4(const struct rw_listen *l, const char *addr, unsigned port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&l->addr;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(l->addr_len, sizeof(struct sockaddr_in));
	assert_int_equal(ntohs(sin->sin_port), port);
	char text[INET_ADDRSTRLEN];
	assert_non_null(inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text)));
	assert_string_equal(text, addr);
	assert_false(l->dual_stack);
}

static void check_v6(const struct rw_listen *l, const char *addr, unsigned port, bool dual)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&l->addr;
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(l->addr_len, sizeof(struct sockaddr_in6));
	assert_int_equal(ntohs(sin6->sin6_port), port);
	char text[INET6_ADDRSTRLEN];
	assert_non_null(inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text)));
	assert_string_equal(text, addr);
	assert_int_equal(l->dual_stack, dual);
}

static void test_listen_valid(void **state)
{
	(void)state;
	struct rw_listen l;
	assert_int_equal(rw_parse_listen("127.0.0.1:3389", &l, err, sizeof(err)), 0);
	check_v4(&l, "127.0.0.1", 3389);
	assert_string_equal(l.text, "127.0.0.1:3389");
	assert_int_equal(rw_parse_listen("0.0.0.0:1", &l, err, sizeof(err)), 0);
	check_v4(&l, "0.0.0.0", 1);
	assert_int_equal(rw_parse_listen("192.0.2.10:65535", &l, err, sizeof(err)), 0);
	check_v4(&l, "192.0.2.10", 65535);
	assert_int_equal(rw_parse_listen("[::1]:3389", &l, err, sizeof(err)), 0);
	check_v6(&l, "::1", 3389, false);
	assert_string_equal(l.text, "[::1]:3389");
	assert_int_equal(rw_parse_listen("[::]:3389", &l, err, sizeof(err)), 0);
	check_v6(&l, "::", 3389, false); /* explicit: IPv6 only */
	assert_int_equal(rw_parse_listen("[2001:db8::10]:443", &l, err, sizeof(err)), 0);
	check_v6(&l, "2001:db8::10", 443, false);
	assert_int_equal(rw_parse_listen("[::ffff:10.0.0.1]:3389", &l, err, sizeof(err)), 0);
	check_v6(&l, "::ffff:10.0.0.1", 3389, false);
	/* All addresses, dual-stack. */
	assert_int_equal(rw_parse_listen(":3389", &l, err, sizeof(err)), 0);
	check_v6(&l, "::", 3389, true);
	assert_string_equal(l.text, ":3389");
	assert_int_equal(rw_parse_listen("3389", &l, err, sizeof(err)), 0);
	check_v6(&l, "::", 3389, true);
	assert_string_equal(l.text, "3389");
	assert_int_equal(rw_parse_listen("03389", &l, err, sizeof(err)), 0);
	check_v6(&l, "::", 3389, true);
	/* Link-local with a zone: an interface index or the name of one. */
	assert_int_equal(rw_parse_listen("[fe80::1%7]:3389", &l, err, sizeof(err)), 0);
	check_v6(&l, "fe80::1", 3389, false);
	assert_int_equal(((struct sockaddr_in6 *)&l.addr)->sin6_scope_id, 7);
	unsigned lo = if_nametoindex("lo");
	if (lo) {
		assert_int_equal(rw_parse_listen("[fe80::1%lo]:3389", &l, err, sizeof(err)), 0);
		assert_int_equal(((struct sockaddr_in6 *)&l.addr)->sin6_scope_id, lo);
	}
}

static void test_listen_invalid(void **state)
{
	(void)state;
	static const struct {
		const char *in, *msg;
	} bad[] = {
	        {"", "empty address (use ADDR:PORT, [V6]:PORT or :PORT)"},
	        {"0", "bad port '0' (use 1-65535)"},
	        {"65536", "bad port '65536' (use 1-65535)"},
	        {"x", "bad port 'x' (use 1-65535)"},
	        {"-1", "bad port '-1' (use 1-65535)"},
	        {"99999999999999999999999", "bad port '99999999999999999999999' (use 1-65535)"},
	        {":0", "bad port '0' in ':0' (use 1-65535)"},
	        {":65536", "bad port '65536' in ':65536' (use 1-65535)"},
	        {":x", "bad port 'x' in ':x' (use 1-65535)"},
	        {":", "bad port '' in ':' (use 1-65535)"},
	        {": 80", "bad port ' 80' in ': 80' (use 1-65535)"},
	        {":+80", "bad port '+80' in ':+80' (use 1-65535)"},
	        {"1.2.3.4:", "bad port '' in '1.2.3.4:' (use 1-65535)"},
	        {"1.2.3.4:0", "bad port '0' in '1.2.3.4:0' (use 1-65535)"},
	        {"[::1]:65536", "bad port '65536' in '[::1]:65536' (use 1-65535)"},
	        {"1.2.3.4", "'1.2.3.4': missing port (use ADDR:PORT)"},
	        {"::1:3389", "'::1:3389': IPv6 addresses need brackets: [V6]:PORT"},
	        {"::3389", "'::3389': IPv6 addresses need brackets: [V6]:PORT"},
	        {"[::1]3389", "'[::1]3389': expected [V6]:PORT"},
	        {"[::1]", "'[::1]': expected [V6]:PORT"},
	        {"[::1:3389", "'[::1:3389': expected [V6]:PORT"},
	        {"[1.2.3.4]:3389", "'1.2.3.4' is not an IPv6 address"},
	        {"[]:3389", "'' is not an IPv6 address"},
	        {"[fe80::1%no-such-if0]:3389", "unknown interface 'no-such-if0' after '%'"},
	        {"localhost:3389",
	         "'localhost' is not a numeric IPv4 address (names are not accepted; "
	         "IPv6 goes in brackets: [V6]:PORT)"},
	        {"1.2.3.256:3389", "'1.2.3.256' is not a numeric IPv4 address (names are not "
	                           "accepted; IPv6 goes in brackets: [V6]:PORT)"},
	        {"1.2.3:3389",
	         "'1.2.3' is not a numeric IPv4 address (names are not accepted; IPv6 "
	         "goes in brackets: [V6]:PORT)"},
	        {"*:3389",
	         "'*' is not a numeric IPv4 address (names are not accepted; IPv6 goes in "
	         "brackets: [V6]:PORT)"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rw_listen l;
		err[0] = 0;
		if (rw_parse_listen(bad[i].in, &l, err, sizeof(err)) == 0)
			fail_msg("listen '%s' should fail", bad[i].in);
		assert_string_equal(err, bad[i].msg);
		/* Through the key, the message names it. */
		char msg[RW_CONF_ERR];
		snprintf(msg, sizeof(msg), "listen: %s", bad[i].msg);
		set_err("listen", bad[i].in, msg);
		assert_int_equal(cfg.n_listen, 0);
	}
	/* Longer than the text field. */
	char longv[100];
	memset(longv, '1', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = 0;
	struct rw_listen l;
	assert_int_equal(rw_parse_listen(longv, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "...' is too long"));
}

static void test_listen_repeated(void **state)
{
	(void)state;
	expect_ok("listen = :3389\nlisten = 127.0.0.1:13389\nlisten = [::1]:13389\n");
	assert_int_equal(cfg.n_listen, 3);
	check_v6(&cfg.listen[0], "::", 3389, true);
	check_v4(&cfg.listen[1], "127.0.0.1", 13389);
	check_v6(&cfg.listen[2], "::1", 13389, false);
	/* ":3389" and "[::]:3389" differ (dual-stack or not) but bind the same
	 * socket address: rejected like any repeat. */
	expect_err("listen = 3389\nlisten = [::]:3389\n",
	           "t.conf:2: listen: '[::]:3389' is already listed as '3389'");
	expect_err("listen = 127.0.0.1:1\nlisten = 127.0.0.1:01\n",
	           "t.conf:2: listen: '127.0.0.1:01' is already listed as '127.0.0.1:1'");
	char text[RW_CONF_MAX_LISTEN * 32 + 64] = "";
	for (int i = 1; i <= RW_CONF_MAX_LISTEN; i++) {
		char line[32];
		snprintf(line, sizeof(line), "listen = %d\n", 1000 + i);
		strcat(text, line);
	}
	expect_ok(text);
	assert_int_equal(cfg.n_listen, RW_CONF_MAX_LISTEN);
	strcat(text, "listen = 2000\n");
	expect_err(text, "t.conf:17: listen: too many addresses (max 16)");
}

/* ---- upstream and modes ------------------------------------------------------ */

static void test_upstream(void **state)
{
	(void)state;
	set_ok("upstream", "rdp-host.example.net:3389");
	assert_int_equal(cfg.mode, RW_UPSTREAM_FIXED);
	assert_string_equal(cfg.upstream_host, "rdp-host.example.net");
	assert_string_equal(cfg.upstream_port, "3389");
	set_ok("upstream", "10.0.0.5:03389");
	assert_string_equal(cfg.upstream_host, "10.0.0.5");
	assert_string_equal(cfg.upstream_port, "3389");
	set_ok("upstream", "[2001:db8::5]:3390");
	assert_string_equal(cfg.upstream_host, "2001:db8::5");
	assert_string_equal(cfg.upstream_port, "3390");
	set_ok("upstream", "[fe80::1%7]:3389");
	assert_string_equal(cfg.upstream_host, "fe80::1%7");
	set_ok("upstream", "TS01:3389");
	assert_string_equal(cfg.upstream_host, "TS01");
	set_ok("upstream", "_rdp.corp.example:1");
	/* The last upstream wins. */
	expect_ok("upstream = a:1\nupstream = b:2\n");
	assert_string_equal(cfg.upstream_host, "b");
	assert_string_equal(cfg.upstream_port, "2");
	assert_int_equal(cfg.mode, RW_UPSTREAM_FIXED);

	set_err("upstream", "rdp-host", "upstream: 'rdp-host': missing port (use HOST:PORT)");
	set_err("upstream", "", "upstream: '': missing port (use HOST:PORT)");
	set_err("upstream", "host:0", "upstream: bad port '0' in 'host:0' (use 1-65535)");
	set_err("upstream", "host:65536",
	        "upstream: bad port '65536' in 'host:65536' (use 1-65535)");
	set_err("upstream", "host:x", "upstream: bad port 'x' in 'host:x' (use 1-65535)");
	set_err("upstream", "host:", "upstream: bad port '' in 'host:' (use 1-65535)");
	set_err("upstream", "host:rdp", "upstream: bad port 'rdp' in 'host:rdp' (use 1-65535)");
	set_err("upstream", ":3389", "upstream: bad host '' in ':3389' (use HOST:PORT)");
	set_err("upstream", "bad host:3389",
	        "upstream: bad host 'bad host' in 'bad host:3389' (use "
	        "HOST:PORT)");
	set_err("upstream", "-x:3389", "upstream: bad host '-x' in '-x:3389' (use HOST:PORT)");
	set_err("upstream", "a/b:3389", "upstream: bad host 'a/b' in 'a/b:3389' (use HOST:PORT)");
	set_err("upstream", "::1:3389",
	        "upstream: '::1:3389': IPv6 addresses need brackets: "
	        "[V6]:PORT");
	set_err("upstream", "[::1]", "upstream: '[::1]': expected [V6]:PORT");
	set_err("upstream", "[host]:3389", "upstream: 'host' is not an IPv6 address");
	assert_int_equal(cfg.mode, RW_UPSTREAM_NONE);
	char longv[300];
	memset(longv, 'a', 260);
	strcpy(longv + 260, ":3389");
	assert_int_equal(set1("upstream", longv), -1);
	assert_non_null(strstr(err, "upstream: bad host 'aaaa"));
}

static void test_modes(void **state)
{
	(void)state;
	set_ok("transparent", "yes");
	assert_int_equal(cfg.mode, RW_UPSTREAM_TRANSPARENT);
	set_ok("tproxy", "yes");
	assert_int_equal(cfg.mode, RW_UPSTREAM_TPROXY);
	set_ok("tproxy", "no");
	assert_int_equal(cfg.mode, RW_UPSTREAM_NONE);
	set_err("transparent", "sometimes", "transparent: expected yes or no, not 'sometimes'");

	expect_err("upstream = h:1\ntransparent = yes\n",
	           "t.conf:2: upstream and transparent are exclusive");
	expect_err("upstream = h:1\ntproxy = yes\n", "t.conf:2: upstream and tproxy are exclusive");
	expect_err("transparent = yes\ntproxy = yes\n",
	           "t.conf:2: transparent and tproxy are exclusive");
	expect_err("tproxy = yes\ntransparent = yes\n",
	           "t.conf:2: tproxy and transparent are exclusive");
	expect_err("# comment\ntransparent = yes\n\nupstream = h:1\n",
	           "t.conf:4: transparent and upstream are exclusive");
	expect_err("tproxy = on\nupstream = not a host\n",
	           "t.conf:2: tproxy and upstream are exclusive");
	/* Saying the same twice, or undoing first, is fine. */
	expect_ok("transparent = yes\ntransparent = yes\n");
	assert_int_equal(cfg.mode, RW_UPSTREAM_TRANSPARENT);
	expect_ok("transparent = yes\ntransparent = no\ntproxy = yes\n");
	assert_int_equal(cfg.mode, RW_UPSTREAM_TPROXY);
	/* "no" for a mode that is not the current one changes nothing. */
	expect_ok("upstream = h:1\ntransparent = no\ntproxy = off\n");
	assert_int_equal(cfg.mode, RW_UPSTREAM_FIXED);
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
	assert_int_equal(n, 35);
	assert_string_equal(rw_config_key(0), "listen");
	assert_null(rw_config_key(1000));
	assert_string_equal(rw_upstream_mode_name(RW_UPSTREAM_NONE), "none");
	assert_string_equal(rw_upstream_mode_name(RW_UPSTREAM_FIXED), "fixed");
	assert_string_equal(rw_upstream_mode_name(RW_UPSTREAM_TRANSPARENT), "transparent");
	assert_string_equal(rw_upstream_mode_name(RW_UPSTREAM_TPROXY), "tproxy");
}

/* ---- the file format --------------------------------------------------------- */

static void test_syntax(void **state)
{
	(void)state;
	/* Blanks, tabs and comments in every place. */
	expect_ok("# comment\n"
	          "\n"
	          "   \n"
	          "\t\n"
	          "   # indented comment\n"
	          "listen=:1\n"
	          "\tlisten\t=\t:2\t\n"
	          "listen = :3   # after a value\n"
	          "listen = :4\t# after a tab\n"
	          "output = a#b\n"
	          "output = c # d\n"
	          "output = e #\n"
	          "output = /path/with spaces inside\n"
	          "#listen = :5\n");
	assert_int_equal(cfg.n_listen, 4);
	assert_string_equal(cfg.listen[1].text, ":2");
	assert_string_equal(cfg.listen[2].text, ":3");
	assert_string_equal(cfg.listen[3].text, ":4");
	assert_int_equal(cfg.n_outputs, 4);
	assert_string_equal(cfg.outputs[0], "a#b");
	assert_string_equal(cfg.outputs[1], "c");
	assert_string_equal(cfg.outputs[2], "e");
	assert_string_equal(cfg.outputs[3], "/path/with spaces inside");
	/* No newline at the end of the file. */
	expect_ok("listen = :1");
	assert_int_equal(cfg.n_listen, 1);
	/* A value may contain '='. */
	expect_ok("output = a.b\n");
	assert_string_equal(cfg.outputs[0], "a.b");

	expect_err("listen :3389\n",
	           "t.conf:1: missing '=' after 'listen' (lines are key = value)");
	expect_err("\nlisten\n", "t.conf:2: missing '=' after 'listen' (lines are key = value)");
	expect_err("just some words\n",
	           "t.conf:1: missing '=' after 'just' (lines are key = value)");
	expect_err("= :3389\n", "t.conf:1: missing key before '='");
	expect_err("  =\n", "t.conf:1: missing key before '='");
	expect_err("listen =\n", "t.conf:1: listen: empty address (use ADDR:PORT, [V6]:PORT or "
	                         ":PORT)");
	expect_err("nope = 1\n", "t.conf:1: unknown key 'nope'");
	expect_err("a b = 1\n", "t.conf:1: missing '=' after 'a' (lines are key = value)");
	/* A UTF-8 BOM on the first line is skipped; elsewhere it is not. */
	expect_ok("\xef\xbb\xbflisten = :1\n");
	assert_int_equal(cfg.n_listen, 1);
	expect_err("listen = :1\n\xef\xbb\xbflisten = :2\n",
	           "t.conf:2: unknown key '\?\?\?listen'");
	/* Control characters and NUL bytes. */
	expect_err("listen = :1\x01\n", "t.conf:1: control character 0x01 in line");
	expect_err("output = a\x7f\n", "t.conf:1: control character 0x7f in line");
	assert_int_equal(
	        rw_config_parse("t.conf", "listen = :1\nx\0y = 1\n", 20, &cfg, err, sizeof(err)),
	        -1);
	assert_string_equal(err, "t.conf:2: NUL byte in line");
}

static void test_quoting(void **state)
{
	(void)state;
	expect_ok("output = \"/var/log/rdp why/a.json\"\n"
	          "output = \"with \\\"quotes\\\" and \\\\ backslash\"\n"
	          "output = \"a # not a comment\"   # a comment\n"
	          "output = \"  padded  \"\n"
	          "output = \"\\\\\"\n"
	          "output = un\"quoted\n"
	          "output = back\\slash\n"
	          "pcap_dir = \"\"\n");
	assert_int_equal(cfg.n_outputs, 7);
	assert_string_equal(cfg.outputs[0], "/var/log/rdp why/a.json");
	assert_string_equal(cfg.outputs[1], "with \"quotes\" and \\ backslash");
	assert_string_equal(cfg.outputs[2], "a # not a comment");
	assert_string_equal(cfg.outputs[3], "  padded  ");
	assert_string_equal(cfg.outputs[4], "\\");
	assert_string_equal(cfg.outputs[5], "un\"quoted");
	assert_string_equal(cfg.outputs[6], "back\\slash");
	assert_string_equal(cfg.pcap_dir, "");
	/* Quoted values go through the same checks as the rest. */
	expect_ok("connect_timeout = \"5s\"\nlisten = \"[::1]:3389\"\n");
	assert_int_equal(cfg.connect_timeout_ms, 5000);
	expect_err("connect_timeout = \"5 s\"\n",
	           "t.conf:1: connect_timeout: bad duration '5 s' (use e.g. 10s, 500ms)");

	expect_err("output = \"open\n", "t.conf:1: output: missing closing quote");
	expect_err("output = \"open\\\"\n", "t.conf:1: output: missing closing quote");
	expect_err("output = \"end\\\n", "t.conf:1: output: missing closing quote");
	expect_err("output = \"a\\nb\"\n", "t.conf:1: output: unknown escape '\\n' in quoted value "
	                                   "(only \\\" and \\\\)");
	expect_err("output = \"a\" b\n", "t.conf:1: output: text after the closing quote");
	expect_err("output = \"a\"\"b\"\n", "t.conf:1: output: text after the closing quote");
	expect_err("output = \"\"\n",
	           "t.conf:1: output: empty (use - for stdout, a path, syslog, udp://, "
	           "tcp://, tls://HOST:PORT, or kafka://HOST:PORT/TOPIC)");
}

static void test_crlf(void **state)
{
	(void)state;
	expect_ok("# windows\r\n"
	          "\r\n"
	          "listen = :3389\r\n"
	          "upstream = host:3389\r\n"
	          "output = \"quoted\"\r\n"
	          "output = plain   \r\n"
	          "connect_timeout = 5s # c\r\n"
	          "format = json");
	assert_int_equal(cfg.n_listen, 1);
	assert_string_equal(cfg.listen[0].text, ":3389");
	assert_string_equal(cfg.upstream_port, "3389");
	assert_string_equal(cfg.outputs[0], "quoted");
	assert_string_equal(cfg.outputs[1], "plain");
	assert_int_equal(cfg.connect_timeout_ms, 5000);
	assert_true(cfg.json);
	assert_int_equal(rw_config_validate(&cfg, err, sizeof(err)), 0);
	/* Line numbers count CR LF lines; a CR alone is not a line end. */
	expect_err("listen = :1\r\n\r\nformat = yaml\r\n",
	           "t.conf:3: format: expected text or json, not 'yaml'");
	expect_err("listen = :1\rformat = json\n", "t.conf:1: control character 0x0d in line");
	expect_ok("listen = :1\r");
	assert_int_equal(cfg.n_listen, 1);
}

static void test_line_length(void **state)
{
	(void)state;
	static char text[3 * 4200];
	/* Exactly 4096 characters: fine, with or without CR. */
	memset(text, 0, sizeof(text));
	strcpy(text, "output = ");
	memset(text + 9, 'a', 4096 - 9);
	strcat(text, "\r\nlisten = :1\n");
	expect_ok(text);
	assert_int_equal(strlen(cfg.outputs[0]), 4096 - 9);
	assert_int_equal(cfg.n_listen, 1);
	/* A comment line of 4096 characters. */
	memset(text, 0, sizeof(text));
	text[0] = '#';
	memset(text + 1, 'c', 4095);
	strcat(text, "\nlisten = :1\n");
	expect_ok(text);
	/* 4097: an error on the right line, however long the line is. */
	memset(text, 0, sizeof(text));
	strcpy(text, "listen = :1\n#");
	memset(text + 13, 'c', 4096);
	strcat(text, "\nlisten = :2\n");
	expect_err(text, "t.conf:2: line too long (max 4096 characters)");
	memset(text, 0, sizeof(text));
	strcpy(text, "\n\n");
	memset(text + 2, 'x', 3 * 4200 - 3);
	expect_err(text, "t.conf:3: line too long (max 4096 characters)");
}

static void test_error_buffer(void **state)
{
	(void)state;
	/* Messages are cut to the buffer; no buffer at all is fine. */
	char small[12];
	rw_config_defaults(&cfg);
	assert_int_equal(rw_config_parse("t.conf", "bogus = 1\n", 10, &cfg, small, sizeof(small)),
	                 -1);
	assert_string_equal(small, "t.conf:1: u");
	assert_int_equal(rw_config_parse("t.conf", "bogus = 1\n", 10, &cfg, NULL, 0), -1);
	assert_int_equal(rw_config_set(&cfg, "format", "x", NULL, 0), -1);
	assert_int_equal(rw_config_validate(&cfg, NULL, 0), -1);
	/* A long value is cut in the message, which stays readable. */
	char line[2000] = "format = ";
	memset(line + 9, 'z', 1500);
	assert_int_equal(parse(line), -1);
	assert_true(strlen(err) < 120);
	assert_non_null(strstr(err, "zzz...'"));
}

/* ---- files ------------------------------------------------------------------- */

static void test_load_files(void **state)
{
	(void)state;
	char *path = strdup(tmp_path("load.conf"));
	const char *text = "listen = :3389\n"
	                   "transparent = yes\n"
	                   "\n"
	                   "tls_timeout = fast\n";
	write_file(path, text, strlen(text));
	rw_config_defaults(&cfg);
	assert_int_equal(rw_config_load(path, &cfg, err, sizeof(err)), -1);
	char msg[RW_CONF_ERR + PATH_MAX];
	snprintf(msg, sizeof(msg), "%s:4: tls_timeout: bad duration 'fast' (use e.g. 10s, 500ms)",
	         path);
	assert_string_equal(err, msg);

	text = "listen = :3389\r\ntransparent = yes\r\n";
	write_file(path, text, strlen(text));
	rw_config_defaults(&cfg);
	assert_int_equal(rw_config_load(path, &cfg, err, sizeof(err)), 0);
	assert_int_equal(rw_config_validate(&cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.mode, RW_UPSTREAM_TRANSPARENT);

	/* A file without a line ending at the end, and an empty file. */
	write_file(path, "listen = 1", 10);
	rw_config_defaults(&cfg);
	assert_int_equal(rw_config_load(path, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.n_listen, 1);
	write_file(path, "", 0);
	assert_int_equal(rw_config_load(path, &cfg, err, sizeof(err)), 0);
	unlink(path);

	assert_int_equal(rw_config_load(path, &cfg, err, sizeof(err)), -1);
	snprintf(msg, sizeof(msg), "%s: cannot open: No such file or directory", path);
	assert_string_equal(err, msg);

	/* A directory opens but cannot be read. */
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", tmp_path("dir"));
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(rw_config_load(dir, &cfg, err, sizeof(err)), -1);
	snprintf(msg, sizeof(msg), "%s: cannot read: Is a directory", dir);
	assert_string_equal(err, msg);
	rmdir(dir);

	/* Unreadable (only meaningful when not root). */
	if (geteuid() != 0) {
		write_file(path, "listen = 1\n", 11);
		chmod(path, 0);
		assert_int_equal(rw_config_load(path, &cfg, err, sizeof(err)), -1);
		snprintf(msg, sizeof(msg), "%s: cannot open: Permission denied", path);
		assert_string_equal(err, msg);
		unlink(path);
	}
	free(path);
}

/* ---- whole-config checks ----------------------------------------------------- */

static void test_validate(void **state)
{
	(void)state;
	expect_ok("listen = :3389\n");
	assert_int_equal(rw_config_validate(&cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "no upstream: set upstream = HOST:PORT, transparent = yes or "
	                         "tproxy = yes");
	expect_ok("upstream = h:1\n");
	assert_int_equal(rw_config_validate(&cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "no listen address: set listen = ADDR:PORT (e.g. :3389)");

	const char *modes[] = {"upstream = h:1\n", "transparent = yes\n", "tproxy = yes\n"};
	for (size_t i = 0; i < 3; i++) {
		char text[100];
		snprintf(text, sizeof(text), "listen = 13389\n%s", modes[i]);
		expect_ok(text);
		if (rw_config_validate(&cfg, err, sizeof(err)) != 0)
			fail_msg("%s: %s", text, err);
	}

	/* pcap_dir must be an existing directory. */
	char dir[PATH_MAX], file[PATH_MAX], text[2 * PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", tmp_path("pcap"));
	snprintf(file, sizeof(file), "%s", tmp_path("pcap_file"));
	snprintf(text, sizeof(text), "listen = 1\ntransparent = yes\npcap_dir = %s\n", dir);
	expect_ok(text);
	assert_int_equal(rw_config_validate(&cfg, err, sizeof(err)), -1);
	char msg[RW_CONF_ERR + PATH_MAX];
	snprintf(msg, sizeof(msg), "pcap_dir: '%s': No such file or directory", dir);
	assert_string_equal(err, msg);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(rw_config_validate(&cfg, err, sizeof(err)), 0);
	rmdir(dir);
	write_file(file, "x", 1);
	snprintf(text, sizeof(text), "listen = 1\ntransparent = yes\npcap_dir = %s\n", file);
	expect_ok(text);
	assert_int_equal(rw_config_validate(&cfg, err, sizeof(err)), -1);
	snprintf(msg, sizeof(msg), "pcap_dir: '%s' is not a directory", file);
	assert_string_equal(err, msg);
	unlink(file);

	/* A struct filled by hand still gets the value checks. */
	expect_ok("listen = 1\ntransparent = yes\n");
	cfg.max_buffer = 100;
	assert_int_equal(rw_config_validate(&cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "max_buffer: 100 is below the minimum of 4096 bytes");

	/* Stream outputs need their spool (by default under /var/lib/rdpwhy/spool
	 * as root, the user's XDG state directory otherwise), TLS its CA. */
	expect_ok("listen = 1\ntransparent = yes\noutput = tcp://h:514\n");
	assert_int_equal(rw_config_validate(&cfg, err, sizeof(err)), 0);
	assert_non_null(strstr(cfg.siem_spool_dir, "rdpwhy/spool"));
	expect_ok("listen = 1\ntransparent = yes\noutput = tcp://h:514\nsiem_spool_dir = \"\"\n");
	assert_int_equal(rw_config_validate(&cfg, err, sizeof(err)), -1);
	assert_string_equal(
	        err,
	        "output tcp://h:514: set spool_dir= or siem_spool_dir (tcp://, tls:// and kafka:// "
	        "spool records on disk until they are delivered)");
	expect_ok("listen = 1\ntransparent = yes\noutput = tls://h:6514\nsiem_spool_dir = /s\n");
	assert_int_equal(rw_config_validate(&cfg, err, sizeof(err)), -1);
	assert_string_equal(err,
	                    "output tls://h:6514: set ca_file= or siem_ca_file (the receiver's "
	                    "certificate is verified against it)");
	expect_ok("listen = 1\ntransparent = yes\noutput = udp://h:514\noutput = syslog\n");
	assert_int_equal(rw_config_validate(&cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.siem_format, RW_CONF_SIEM_JSON);
	assert_int_equal(cfg.siem_spool_policy, RW_CONF_DROP_OLDEST);
	assert_int_equal(cfg.siem_spool_max, 64 * 1024 * 1024);
	set_err("siem_format", "xml", "siem_format: expected json, rfc5424 or cef, not 'xml'");
	set_err("siem_spool_policy", "random",
	        "siem_spool_policy: expected drop-oldest or drop-newest, not 'random'");
	set_err("siem_spool_max", "1k", "siem_spool_max: 1k is below the minimum of 4096 bytes");
}

static void test_validate_loop(void **state)
{
	(void)state;
	static const struct {
		const char *text, *msg;
	} loops[] = {
	        {"listen = 127.0.0.1:3389\nupstream = 127.0.0.1:3389\n",
	         "upstream: 127.0.0.1:3389 is rdpwhy's own listener 127.0.0.1:3389 (a loop)"},
	        {"listen = 0.0.0.0:3389\nupstream = 127.0.0.2:3389\n",
	         "upstream: 127.0.0.2:3389 is rdpwhy's own listener 0.0.0.0:3389 (a loop)"},
	        {"listen = 3389\nupstream = 127.0.0.1:3389\n",
	         "upstream: 127.0.0.1:3389 is rdpwhy's own listener 3389 (a loop)"},
	        {"listen = :3389\nupstream = [::1]:3389\n",
	         "upstream: [::1]:3389 is rdpwhy's own listener :3389 (a loop)"},
	        {"listen = [::1]:3389\nupstream = [::1]:3389\n",
	         "upstream: [::1]:3389 is rdpwhy's own listener [::1]:3389 (a loop)"},
	        {"listen = 10.0.0.1:3389\nupstream = 10.0.0.1:3389\n",
	         "upstream: 10.0.0.1:3389 is rdpwhy's own listener 10.0.0.1:3389 (a loop)"},
	};
	for (size_t i = 0; i < sizeof(loops) / sizeof(loops[0]); i++) {
		expect_ok(loops[i].text);
		assert_int_equal(rw_config_validate(&cfg, err, sizeof(err)), -1);
		assert_string_equal(err, loops[i].msg);
	}
	static const char *const fine[] = {
	        "listen = 127.0.0.1:3389\nupstream = 127.0.0.1:3390\n",
	        "listen = 127.0.0.1:3389\nupstream = 10.0.0.5:3389\n",
	        "listen = 0.0.0.0:3389\nupstream = [::1]:3389\n",
	        "listen = [::]:3389\nupstream = 127.0.0.1:3389\n",
	        "listen = 3389\nupstream = localhost:3389\n", /* a name: checked at runtime */
	        "listen = 3389\nupstream = 10.0.0.5:3389\n",
	};
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
		expect_ok(fine[i]);
		if (rw_config_validate(&cfg, err, sizeof(err)) != 0)
			fail_msg("%s: %s", fine[i], err);
	}
}

/* ---- writing back -------------------------------------------------------------- */

static void test_format_round_trip(void **state)
{
	(void)state;
	static struct rw_proxy_config first;
	static char text[1 << 16];
	expect_ok("listen = :3389\n"
	          "listen = [fe80::1%7]:1\n"
	          "upstream = [2001:db8::1]:3390\n"
	          "output = \"we#ird \\\"name\\\" \\\\ \"\n"
	          "output = -\n"
	          "format = json\n"
	          "pcap_dir = \"/tmp/a b\"\n"
	          "syslog = yes\n"
	          "connect_timeout = 1500ms\n"
	          "x224_timeout = 90s\n"
	          "nla_timeout = 2h\n"
	          "idle_timeout = 61m\n"
	          "grace = 0\n"
	          "max_buffer = 5000\n"
	          "max_connections = 7\n"
	          "expected_cert_sha256 = "
	          "3a5f0c9e11428bd7602a4c93e81d75b0c4198e2f6da3570b91ee483cd27a06f5\n"
	          "siem_ca_file = /etc/ca.pem\n"
	          "siem_cert_file = \"/etc/c d.pem\"\n"
	          "siem_key_file = /etc/k.pem\n"
	          "siem_spool_dir = /var/spool/rdpwhy\n"
	          "siem_spool_max = 3000k\n"
	          "siem_spool_policy = drop-newest\n"
	          "siem_format = cef\n");
	assert_int_equal(cfg.siem_spool_max, 3000 * 1024);
	assert_int_equal(cfg.siem_spool_policy, RW_CONF_DROP_NEWEST);
	assert_int_equal(cfg.siem_format, RW_CONF_SIEM_CEF);
	first = cfg;
	size_t n = rw_config_format(&first, text, sizeof(text));
	assert_int_equal(n, strlen(text));
	assert_non_null(strstr(text, "upstream = [2001:db8::1]:3390\n"));
	assert_non_null(strstr(text, "connect_timeout = 1500ms\n"));
	assert_non_null(strstr(text, "x224_timeout = 90s\n"));
	assert_non_null(strstr(text, "nla_timeout = 2h\n"));
	assert_non_null(strstr(text, "idle_timeout = 61m\n"));
	assert_non_null(strstr(text, "grace = 0\n"));
	assert_non_null(strstr(text, "max_buffer = 5000\n"));
	assert_non_null(strstr(text, "user = \"\"\n"));
	expect_ok(text);
	assert_memory_equal(&cfg, &first, sizeof(cfg));

	/* Every mode, and the defaults. */
	const char *modes[] = {"", "transparent = yes\n", "tproxy = yes\n", "upstream = h:1\n"};
	for (size_t i = 0; i < 4; i++) {
		expect_ok(modes[i]);
		first = cfg;
		rw_config_format(&first, text, sizeof(text));
		expect_ok(text);
		assert_memory_equal(&cfg, &first, sizeof(cfg));
	}
	assert_non_null(strstr(text, "max_buffer = 256k\n"));

	/* snprintf-style with a short buffer. */
	char small[10];
	size_t need = rw_config_format(&first, small, sizeof(small));
	assert_int_equal(need, strlen(text));
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(rw_config_format(&first, NULL, 0), need);
}

/* ---- the shipped example ------------------------------------------------------- */

static void test_example_conf(void **state)
{
	(void)state;
	rw_config_defaults(&cfg);
	if (rw_config_load(EXAMPLE_CONF, &cfg, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	if (rw_config_validate(&cfg, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_true(cfg.n_listen >= 1);
	assert_int_equal(cfg.mode, RW_UPSTREAM_FIXED);
	assert_string_equal(cfg.pcap_dir, ""); /* left commented out */

	/* Every key is shown, and every "#key = value" example is valid alone. */
	char *text = read_text(EXAMPLE_CONF);
	for (size_t i = 0; rw_config_key(i); i++) {
		char set[64], commented[64];
		snprintf(set, sizeof(set), "\n%s = ", rw_config_key(i));
		snprintf(commented, sizeof(commented), "\n#%s = ", rw_config_key(i));
		if (!strstr(text, set) && !strstr(text, commented))
			fail_msg("%s does not show key %s", EXAMPLE_CONF, rw_config_key(i));
	}
	size_t examples = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (line[0] != '#' || line[1] < 'a' || line[1] > 'z' || !strstr(line, " = "))
			continue;
		examples++;
		if (parse(line + 1) != 0)
			fail_msg("example '%s': %s", line, err);
	}
	assert_true(examples >= 19);
}

static void test_readme_documents_every_key(void **state)
{
	(void)state;
	char *text = read_text(CONF_README);
	for (size_t i = 0; rw_config_key(i); i++) {
		char row[64];
		snprintf(row, sizeof(row), "\n| `%s` |", rw_config_key(i));
		if (!strstr(text, row))
			fail_msg("%s has no table row for %s", CONF_README, rw_config_key(i));
	}
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
	        cmocka_unit_test(test_listen_valid),
	        cmocka_unit_test(test_listen_invalid),
	        cmocka_unit_test(test_listen_repeated),
	        cmocka_unit_test(test_upstream),
	        cmocka_unit_test(test_modes),
	        cmocka_unit_test(test_unknown_keys),
	        cmocka_unit_test(test_syntax),
	        cmocka_unit_test(test_quoting),
	        cmocka_unit_test(test_crlf),
	        cmocka_unit_test(test_line_length),
	        cmocka_unit_test(test_error_buffer),
	        cmocka_unit_test(test_load_files),
	        cmocka_unit_test(test_validate),
	        cmocka_unit_test(test_validate_loop),
	        cmocka_unit_test(test_format_round_trip),
	        cmocka_unit_test(test_example_conf),
	        cmocka_unit_test(test_readme_documents_every_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
