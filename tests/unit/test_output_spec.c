/* Output specifications: "TARGET [KEY=VALUE]..." and the options each
 * inherits from the global keys. The outputs themselves run against real
 * receivers (tests/siem_*.sh). */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "output_spec.h"

static struct rw_output_spec parse_ok(const char *text)
{
	struct rw_output_spec s;
	char err[RW_CONF_ERR] = "";
	if (rw_output_spec_parse(text, &s, err, sizeof(err)) != 0)
		fail_msg("%s: %s", text, err);
	return s;
}

static void parse_bad(const char *text, const char *want)
{
	struct rw_output_spec s;
	char err[RW_CONF_ERR] = "";
	if (rw_output_spec_parse(text, &s, err, sizeof(err)) != -1)
		fail_msg("%s should be refused", text);
	if (!strstr(err, want))
		fail_msg("%s: message '%s' lacks '%s'", text, err, want);
}

static void url_ok(const char *text, enum rw_output_kind kind, const char *host, const char *port)
{
	struct rw_output_spec s = parse_ok(text);
	assert_int_equal(s.kind, kind);
	assert_string_equal(s.host, host);
	assert_string_equal(s.port, port);
	assert_string_equal(s.target, text);
}

static void test_targets(void **state)
{
	(void)state;
	url_ok("tcp://siem.example.net:514", RW_OUT_TCP, "siem.example.net", "514");
	url_ok("tls://10.0.0.5:6514", RW_OUT_TLS, "10.0.0.5", "6514");
	url_ok("udp://[2001:db8::1]:514", RW_OUT_UDP, "2001:db8::1", "514");
	url_ok("tcp://h:0065535", RW_OUT_TCP, "h", "65535");
	const char *bad[] = {"tcp://h",
	                     "tcp://h:",
	                     "tcp://:514",
	                     "tcp://h:0",
	                     "tcp://h:65536",
	                     "tcp://h:51x",
	                     "tcp://h:-1",
	                     "tcp://2001:db8::1:514",
	                     "tcp://[2001:db8::1]514",
	                     "tcp://h/x:514"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_bad(bad[i], "expected SCHEME://HOST:PORT");
	parse_bad("http://h:80", "unknown scheme");
	parse_bad("", "empty");
	parse_bad("   ", "empty");
	assert_int_equal(parse_ok("-").kind, RW_OUT_STDOUT);
	assert_int_equal(parse_ok("syslog").kind, RW_OUT_SYSLOG);
	struct rw_output_spec f = parse_ok("  /var/log/rdpwhy.json  ");
	assert_int_equal(f.kind, RW_OUT_FILE);
	assert_string_equal(f.target, "/var/log/rdpwhy.json");
}

static void test_options(void **state)
{
	(void)state;
	struct rw_output_spec s =
	        parse_ok("tls://siem:6514 format=cef ca_file=/etc/ca.pem\tcert_file=/etc/c.pem "
	                 "key_file=/etc/k.pem spool_dir=/var/spool/x spool_max=1G "
	                 "spool_policy=drop-newest");
	assert_int_equal(s.kind, RW_OUT_TLS);
	assert_string_equal(s.target, "tls://siem:6514");
	assert_int_equal(s.format, RW_OUTF_CEF);
	assert_string_equal(s.ca_file, "/etc/ca.pem");
	assert_string_equal(s.cert_file, "/etc/c.pem");
	assert_string_equal(s.key_file, "/etc/k.pem");
	assert_string_equal(s.spool_dir, "/var/spool/x");
	assert_int_equal(s.spool_max, 1024ull * 1024 * 1024);
	assert_int_equal(s.spool_policy, RW_CONF_DROP_NEWEST);
	assert_int_equal(parse_ok("/tmp/r.log format=json").format, RW_OUTF_JSON);
	assert_int_equal(parse_ok("- format=text").format, RW_OUTF_TEXT);
	assert_int_equal(parse_ok("syslog format=rfc5424").format, RW_OUTF_RFC5424);
	assert_int_equal(parse_ok("udp://h:514").format, RW_OUTF_DEFAULT);
	assert_int_equal(parse_ok("tcp://h:514").spool_policy, -1);

	/* Each option where it means something, and only there. */
	parse_bad("/tmp/r.log format=cef", "format: expected text or json, not 'cef'");
	parse_bad("syslog format=text", "format: expected json, rfc5424 or cef, not 'text'");
	parse_bad("tcp://h:514 ca_file=/x", "ca_file applies to tls:// and kafka:// outputs only");
	parse_bad("udp://h:514 spool_dir=/x", "spool_dir applies to tcp://, tls:// and kafka://");
	parse_bad("- spool_max=1M", "spool_max applies to tcp://, tls:// and kafka://");
	parse_bad("tcp://h:514 spool_max=1k", "spool_max: expected a size of at least 4k");
	parse_bad("tcp://h:514 spool_max=lots", "spool_max: expected a size");
	parse_bad("tcp://h:514 spool_policy=random", "expected drop-oldest or drop-newest");
	parse_bad("tcp://h:514 colour=blue", "unknown option 'colour'");
	assert_int_equal(parse_ok("/var/log/r.json mode=0600").mode, 0600);
	assert_int_equal(parse_ok("/var/log/r.json mode=644").mode, 0644);
	assert_int_equal(parse_ok("/var/log/r.json").mode, 0);
	parse_bad("- mode=0600", "mode applies to file outputs only");
	parse_bad("/x mode=0800", "mode: expected octal permissions");
	parse_bad("/x mode=0444", "mode: expected octal permissions");
	parse_bad("/x mode=1777", "mode: expected octal permissions");
	parse_bad("/x mode=64", "mode: expected octal permissions");
	parse_bad("/var/log/x.json format=json extra", "'extra': expected KEY=VALUE");
	parse_bad("format=json", "no target before the options");
	assert_string_equal(parse_ok("/var/log/my file.json format=json").target,
	                    "/var/log/my file.json");
	parse_bad("tcp://h:514 =x", "expected SCHEME://HOST:PORT");
	parse_bad("tls://h:1 ca_file=", "ca_file: '' is empty");
}

static void test_resolve(void **state)
{
	(void)state;
	struct rw_proxy_config c;
	rw_config_defaults(&c);
	char err[RW_CONF_ERR] = "";

	/* A stream needs a spool (the default base, or none when cleared); TLS
	 * needs a CA. */
	struct rw_output_spec s = parse_ok("tcp://siem.example.net:514");
	assert_int_equal(rw_output_spec_resolve(&s, &c, err, sizeof(err)), 0);
	assert_non_null(strstr(s.spool_dir, "rdpwhy/spool/tcp_siem.example.net_514"));
	c.siem_spool_dir[0] = '\0';
	s = parse_ok("tcp://siem.example.net:514");
	assert_int_equal(rw_output_spec_resolve(&s, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "set spool_dir= or siem_spool_dir"));
	s = parse_ok("tls://h:6514 spool_dir=/s");
	assert_int_equal(rw_output_spec_resolve(&s, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "set ca_file= or siem_ca_file"));
	s = parse_ok("tls://h:6514 spool_dir=/s ca_file=/ca key_file=/k");
	assert_int_equal(rw_output_spec_resolve(&s, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "key_file without cert_file"));

	/* Inherited: the global keys fill what the spec left open. */
	snprintf(c.siem_spool_dir, sizeof(c.siem_spool_dir), "/var/spool/rdpwhy");
	snprintf(c.siem_ca_file, sizeof(c.siem_ca_file), "/etc/ca.pem");
	snprintf(c.siem_cert_file, sizeof(c.siem_cert_file), "/etc/c.pem");
	c.siem_format = RW_CONF_SIEM_RFC5424;
	c.siem_spool_policy = RW_CONF_DROP_NEWEST;
	c.json = true;
	s = parse_ok("tls://[2001:db8::1]:6514");
	assert_int_equal(rw_output_spec_resolve(&s, &c, err, sizeof(err)), 0);
	assert_string_equal(s.spool_dir, "/var/spool/rdpwhy/tls__2001_db8__1__6514");
	assert_string_equal(s.ca_file, "/etc/ca.pem");
	assert_string_equal(s.cert_file, "/etc/c.pem");
	assert_int_equal(s.format, RW_OUTF_RFC5424);
	assert_int_equal(s.spool_max, c.siem_spool_max);
	assert_int_equal(s.spool_policy, RW_CONF_DROP_NEWEST);
	s = parse_ok("/tmp/x.log");
	assert_int_equal(rw_output_spec_resolve(&s, &c, err, sizeof(err)), 0);
	assert_int_equal(s.format, RW_OUTF_JSON);

	/* Given: the spec wins. */
	s = parse_ok("tls://h:6514 format=cef spool_dir=/mine ca_file=/ca2 spool_max=8M "
	             "spool_policy=drop-oldest");
	assert_int_equal(rw_output_spec_resolve(&s, &c, err, sizeof(err)), 0);
	assert_string_equal(s.spool_dir, "/mine");
	assert_string_equal(s.ca_file, "/ca2");
	assert_int_equal(s.format, RW_OUTF_CEF);
	assert_int_equal(s.spool_max, 8 * 1024 * 1024);
	assert_int_equal(s.spool_policy, RW_CONF_DROP_OLDEST);

	/* Two outputs written alike compare equal once resolved (reload keeps
	 * them); one option apart, they do not. */
	struct rw_output_spec a = parse_ok("tcp://h:514"), b = parse_ok("tcp://h:514   ");
	assert_int_equal(rw_output_spec_resolve(&a, &c, err, sizeof(err)), 0);
	assert_int_equal(rw_output_spec_resolve(&b, &c, err, sizeof(err)), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	b = parse_ok("tcp://h:514 format=json");
	assert_int_equal(rw_output_spec_resolve(&b, &c, err, sizeof(err)), 0);
	assert_memory_not_equal(&a, &b, sizeof(a));
}

static void test_config_file(void **state)
{
	(void)state;
	struct rw_proxy_config c;
	rw_config_defaults(&c);
	char err[RW_CONF_ERR] = "";
	const char *text = "listen = 3389\n"
	                   "upstream = 10.0.0.5:3389\n"
	                   "output = /var/log/rdpwhy.json format=json\n"
	                   "output = tls://siem:6514 format=cef ca_file=/etc/ca.pem spool_dir=/s\n";
	assert_int_equal(rw_config_parse("t.conf", text, strlen(text), &c, err, sizeof(err)), 0);
	assert_int_equal(c.n_outputs, 2);
	assert_int_equal(rw_config_validate(&c, err, sizeof(err)), 0);
	/* The same target twice, with other options: refused with its line. */
	const char *dup = "output = tcp://h:514 spool_dir=/a\noutput = tcp://h:514 spool_dir=/b\n";
	rw_config_defaults(&c);
	assert_int_equal(rw_config_parse("t.conf", dup, strlen(dup), &c, err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf:2: output: 'tcp://h:514' is already listed");
	const char *bad = "output = tcp://h:514 spool_dir=/a colour=red\n";
	rw_config_defaults(&c);
	assert_int_equal(rw_config_parse("t.conf", bad, strlen(bad), &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "t.conf:1: output: unknown option 'colour'"));
	/* Round trip through the file format keeps the options. */
	rw_config_defaults(&c);
	assert_int_equal(rw_config_parse("t.conf", text, strlen(text), &c, err, sizeof(err)), 0);
	char buf[16384];
	size_t n = rw_config_format(&c, buf, sizeof(buf));
	assert_true(n < sizeof(buf));
	struct rw_proxy_config back;
	rw_config_defaults(&back);
	if (rw_config_parse("round", buf, n, &back, err, sizeof(err)) != 0)
		fail_msg("%s\n%s", err, buf);
	assert_int_equal(back.n_outputs, 2);
	assert_string_equal(back.outputs[1], c.outputs[1]);
	assert_int_equal(back.siem_flush_ms, 5000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_targets),
	        cmocka_unit_test(test_options),
	        cmocka_unit_test(test_resolve),
	        cmocka_unit_test(test_config_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
