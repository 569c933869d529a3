/* kafka://BROKERS/TOPIC output specifications: the URL, the TLS and SASL
 * options, what goes together, and what each inherits. The output itself
 * runs against librdkafka's mock cluster (tests/kafka_output.sh). */
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

static void test_url(void **state)
{
	(void)state;
	struct rw_output_spec s = parse_ok("kafka://k1.example.net:9092/rdpwhy");
	assert_int_equal(s.kind, RW_OUT_KAFKA);
	assert_string_equal(s.brokers, "k1.example.net:9092");
	assert_string_equal(s.topic, "rdpwhy");
	assert_string_equal(s.host, "");
	assert_int_equal(s.security, RW_KAFKA_SEC_PLAINTEXT);
	s = parse_ok("kafka://10.0.0.1:9092,10.0.0.2:9093,[2001:db8::3]:9094/rdp.records-v1_x");
	assert_string_equal(s.brokers, "10.0.0.1:9092,10.0.0.2:9093,[2001:db8::3]:9094");
	assert_string_equal(s.topic, "rdp.records-v1_x");

	const char *bad[] = {
	        "kafka://h:9092",             /* no topic */
	        "kafka:///t",                 /* no broker */
	        "kafka://h/t",                /* no port */
	        "kafka://h:0/t",              /* port 0 */
	        "kafka://h:65536/t",          /* port too large */
	        "kafka://h:9092,/t",          /* empty broker */
	        "kafka://,h:9092/t",          /* empty broker */
	        "kafka://h:9092,,k:1/t",      /* empty broker */
	        "kafka://:9092/t",            /* no host */
	        "kafka://2001:db8::1:9092/t", /* IPv6 without brackets */
	        "kafka://[2001:db8::1]9092/t",
	        "kafka://[]:9092/t",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_bad(bad[i], "expected kafka://HOST:PORT[,HOST:PORT...]/TOPIC");
	const char *bad_topic[] = {"kafka://h:9092/", "kafka://h:9092/.", "kafka://h:9092/..",
	                           "kafka://h:9092/a%20b", "kafka://h:9092/a:b"};
	for (size_t i = 0; i < sizeof(bad_topic) / sizeof(bad_topic[0]); i++)
		parse_bad(bad_topic[i], "the topic must be 1 to 249 of");
	char longer[300];
	snprintf(longer, sizeof(longer), "kafka://h:1/%0250d", 0);
	parse_bad(longer, "the topic must be 1 to 249 of");
	parse_bad("kafkas://h:9092/t", "unknown scheme (udp://, tcp://, tls:// or kafka://)");
}

static void test_options(void **state)
{
	(void)state;
	struct rw_output_spec s =
	        parse_ok("kafka://h:9093/t security_protocol=sasl_ssl sasl_mechanism=SCRAM-SHA-512 "
	                 "sasl_username=sensor7 sasl_password=s3cret ca_file=/etc/kafka-ca.pem "
	                 "spool_dir=/var/spool/k spool_max=64M format=json");
	assert_int_equal(s.security, RW_KAFKA_SEC_SASL_SSL);
	assert_string_equal(s.sasl_mechanism, "SCRAM-SHA-512");
	assert_string_equal(s.sasl_username, "sensor7");
	assert_string_equal(s.sasl_password, "s3cret");
	assert_string_equal(s.ca_file, "/etc/kafka-ca.pem");
	assert_string_equal(s.spool_dir, "/var/spool/k");
	assert_int_equal(s.format, RW_OUTF_JSON);
	/* Not given: what the other options imply, and never a password in clear. */
	assert_int_equal(parse_ok("kafka://h:1/t sasl_username=u sasl_password=p").security,
	                 RW_KAFKA_SEC_SASL_SSL);
	assert_int_equal(parse_ok("kafka://h:1/t cert_file=/c key_file=/k").security,
	                 RW_KAFKA_SEC_SSL);
	assert_int_equal(parse_ok("kafka://h:1/t security_protocol=sasl_plaintext "
	                          "sasl_username=u sasl_password=p")
	                         .security,
	                 RW_KAFKA_SEC_SASL_PLAINTEXT);

	/* Each value checked, with what is allowed. */
	parse_bad("kafka://h:1/t security_protocol=tls",
	          "security_protocol: expected plaintext, ssl, sasl_plaintext or sasl_ssl, not "
	          "'tls'");
	parse_bad("kafka://h:1/t sasl_mechanism=GSSAPI sasl_username=u sasl_password=p",
	          "sasl_mechanism: expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, not 'GSSAPI'");
	parse_bad("kafka://h:1/t sasl_user=u", "unknown option 'sasl_user'");
	parse_bad("kafka://h:1/t format=cef", "format: expected json (kafka:// sends the JSON");
	parse_bad("kafka://h:1/t format=text", "format: expected json");
	parse_bad("kafka://h:1/t mode=0600", "mode applies to file outputs only");
	parse_bad("kafka://h:1/t ca_file=", "ca_file: '' is empty");
	/* A password is never echoed back. */
	struct rw_output_spec x;
	char err[RW_CONF_ERR] = "";
	char pw[300];
	snprintf(pw, sizeof(pw), "kafka://h:1/t sasl_password=%0260d", 7);
	assert_int_equal(rw_output_spec_parse(pw, &x, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "sasl_password: empty or longer than 255 bytes"));
	assert_null(strstr(err, "0007"));

	/* What goes together. */
	parse_bad("kafka://h:1/t security_protocol=ssl sasl_username=u sasl_password=p",
	          "sasl_* options need security_protocol=sasl_ssl or sasl_plaintext, not ssl");
	parse_bad("kafka://h:1/t security_protocol=sasl_ssl sasl_username=u",
	          "security_protocol=sasl_ssl needs sasl_username= and sasl_password=");
	parse_bad("kafka://h:1/t security_protocol=sasl_plaintext",
	          "needs sasl_username= and sasl_password=");
	parse_bad("kafka://h:1/t sasl_password=p", "needs sasl_username= and sasl_password=");
	parse_bad("kafka://h:1/t security_protocol=plaintext ca_file=/ca",
	          "ca_file, cert_file and key_file need security_protocol=ssl or sasl_ssl, not "
	          "plaintext");
	parse_bad("kafka://h:1/t key_file=/k", "key_file without cert_file");

	/* kafka://'s options are refused elsewhere. */
	parse_bad("tcp://h:514 security_protocol=ssl",
	          "security_protocol applies to kafka:// outputs only");
	parse_bad("tls://h:6514 sasl_username=u", "sasl_username applies to kafka:// outputs only");
	parse_bad("- sasl_password=p", "sasl_password applies to kafka:// outputs only");
}

static void test_resolve(void **state)
{
	(void)state;
	struct rw_proxy_config c;
	rw_config_defaults(&c);
	char err[RW_CONF_ERR] = "";
	/* A spool it must have: with no base for a default, it is refused. */
	c.siem_spool_dir[0] = '\0';
	struct rw_output_spec s = parse_ok("kafka://h:9092/rdpwhy");
	assert_int_equal(rw_output_spec_resolve(&s, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "set spool_dir= or siem_spool_dir"));

	/* The spool as the syslog streams'; JSON whatever siem_format says; the
	 * syslog receiver's CA is not the brokers'. */
	snprintf(c.siem_spool_dir, sizeof(c.siem_spool_dir), "/var/spool/rdpwhy");
	snprintf(c.siem_ca_file, sizeof(c.siem_ca_file), "/etc/ca.pem");
	c.siem_format = RW_CONF_SIEM_CEF;
	c.siem_spool_policy = RW_CONF_DROP_NEWEST;
	s = parse_ok("kafka://k1:9092,k2:9092/rdpwhy security_protocol=ssl");
	assert_int_equal(rw_output_spec_resolve(&s, &c, err, sizeof(err)), 0);
	assert_string_equal(s.spool_dir, "/var/spool/rdpwhy/kafka_k1_9092_k2_9092_rdpwhy");
	assert_int_equal(s.format, RW_OUTF_JSON);
	assert_string_equal(s.ca_file, "");
	assert_int_equal(s.spool_max, c.siem_spool_max);
	assert_int_equal(s.spool_policy, RW_CONF_DROP_NEWEST);

	/* Reload compares resolved specs: alike equal, a password apart not. */
	struct rw_output_spec a = parse_ok("kafka://h:1/t sasl_username=u sasl_password=p"),
	                      b = parse_ok("kafka://h:1/t  sasl_username=u sasl_password=p ");
	assert_int_equal(rw_output_spec_resolve(&a, &c, err, sizeof(err)), 0);
	assert_int_equal(rw_output_spec_resolve(&b, &c, err, sizeof(err)), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	b = parse_ok("kafka://h:1/t sasl_username=u sasl_password=q");
	assert_int_equal(rw_output_spec_resolve(&b, &c, err, sizeof(err)), 0);
	assert_memory_not_equal(&a, &b, sizeof(a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_url),
	        cmocka_unit_test(test_options),
	        cmocka_unit_test(test_resolve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
