/* conf/config_addr.c and the modes: listen addresses (IPv4, IPv6, zones,
 * repeats), upstream HOST:PORT and the exclusive upstream modes. Split from
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_listen_valid),    cmocka_unit_test(test_listen_invalid),
	        cmocka_unit_test(test_listen_repeated), cmocka_unit_test(test_upstream),
	        cmocka_unit_test(test_modes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
