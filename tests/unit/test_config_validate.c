/* conf/config.c's whole-config checks (rw_config_validate): what may not
 * start, and an upstream that loops back to a listener. Split from
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_validate),
	        cmocka_unit_test(test_validate_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
