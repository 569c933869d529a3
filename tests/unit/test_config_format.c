/* conf/config_format.c: rw_config_format prints a config that parses back to
 * the same config, and sizes its output like snprintf. Split from
 * test_config.c: one job per test file. */
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

/* An unquoted value keeps its quotes and backslashes as they are, one
 * character each; written back quoted, each takes two. A value that would
 * not fit a line then is refused, from a file and from --set, so that what
 * --check-config -v prints always loads (found by fuzz_config). */
static void test_format_fits_a_line(void **state)
{
	(void)state;
	static struct rw_proxy_config first;
	static char text[1 << 14], back[1 << 16];
	const char *key = "pcap_dir = /";
	/* pcap_dir = "/ + n backslashes doubled + ": 14 + 2n characters. */
	for (size_t n = 2039; n <= 2042; n++) {
		memset(text, 0, sizeof(text));
		memcpy(text, key, strlen(key));
		memset(text + strlen(key), '\\', n);
		text[strlen(key) + n] = '\n';
		if (14 + 2 * n <= 4096) {
			expect_ok(text);
			first = cfg;
			rw_config_format(&first, back, sizeof(back));
			expect_ok(back);
			assert_memory_equal(&cfg, &first, sizeof(cfg));
		} else {
			assert_int_equal(parse(text), -1);
			assert_non_null(strstr(err, "pcap_dir: "));
			assert_non_null(strstr(err, "too long to be written back on one line"));
			text[strlen(key) + n] = '\0'; /* the value alone, for --set */
			assert_int_equal(set1("pcap_dir", text + strlen("pcap_dir = ")), -1);
			assert_non_null(strstr(err, "too long to be written back on one line"));
		}
	}
	/* An output spec the same way: quotes in a file name. */
	memset(text, 0, sizeof(text));
	strcpy(text, "output = /tmp/");
	memset(text + strlen(text), '"', 2100);
	strcat(text, "\n");
	assert_int_equal(parse(text), -1);
	assert_non_null(strstr(err, "output: "));
	assert_non_null(strstr(err, "too long to be written back on one line"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_format_round_trip),
	        cmocka_unit_test(test_format_fits_a_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
