/* The output URLs of the syslog senders (tcp://, tls://, udp://). The
 * senders themselves run against a real rsyslog in tests/siem_rsyslog.sh. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sender.h"

static void url_ok(const char *spec, enum rw_sender_proto proto, const char *host,
		   const char *port)
{
	struct rw_sender_config c = {0};
	char err[256] = "";
	if (rw_sender_parse_url(spec, &c, err, sizeof(err)) != 0)
		fail_msg("%s: %s", spec, err);
	assert_int_equal(c.proto, proto);
	assert_string_equal(c.host, host);
	assert_string_equal(c.port, port);
}

static void url_bad(const char *spec)
{
	struct rw_sender_config c = {0};
	char err[256] = "";
	if (rw_sender_parse_url(spec, &c, err, sizeof(err)) != -1)
		fail_msg("%s should be refused", spec);
	assert_non_null(strstr(err, "expected SCHEME://HOST:PORT"));
}

static void test_urls(void **state)
{
	(void)state;
	url_ok("tcp://siem.example.net:514", RW_SEND_TCP, "siem.example.net", "514");
	url_ok("tls://10.0.0.5:6514", RW_SEND_TLS, "10.0.0.5", "6514");
	url_ok("udp://[2001:db8::1]:514", RW_SEND_UDP, "2001:db8::1", "514");
	url_ok("tcp://h:0065535", RW_SEND_TCP, "h", "65535");
	url_bad("tcp://h");
	url_bad("tcp://h:");
	url_bad("tcp://:514");
	url_bad("tcp://h:0");
	url_bad("tcp://h:65536");
	url_bad("tcp://h:51x");
	url_bad("tcp://h:-1");
	url_bad("tcp://2001:db8::1:514");
	url_bad("tcp://[2001:db8::1]514");
	url_bad("tcp://h h:514");
	url_bad("tcp://h/x:514");
	/* Not a stream URL: a file, stdout, syslog. */
	struct rw_sender_config c = {0};
	char err[64];
	assert_int_equal(rw_sender_parse_url("/var/log/x.json", &c, err, sizeof(err)), 1);
	assert_int_equal(rw_sender_parse_url("-", &c, err, sizeof(err)), 1);
	assert_int_equal(rw_sender_parse_url("syslog", &c, err, sizeof(err)), 1);
	assert_int_equal(rw_sender_parse_url("http://h:80", &c, err, sizeof(err)), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_urls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
