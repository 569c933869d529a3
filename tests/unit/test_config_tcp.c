/* conf/config.c, the keys of peers that vanish (issue #12): TCP keepalive,
 * TCP_USER_TIMEOUT, prompt_timeout and the idle timeout that is on by
 * default. Each key's default, range (the kernel's limits) and messages. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"

static struct rw_proxy_config cfg; /* large: not on the stack */
static char err[RW_CONF_ERR];

static void set_ok(const char *key, const char *value)
{
	rw_config_defaults(&cfg);
	if (rw_config_set(&cfg, key, value, err, sizeof(err)) != 0)
		fail_msg("%s = %s should be accepted: %s", key, value, err);
}

static void set_err(const char *key, const char *value, const char *msg)
{
	rw_config_defaults(&cfg);
	err[0] = 0;
	if (rw_config_set(&cfg, key, value, err, sizeof(err)) == 0)
		fail_msg("%s = %s should fail with: %s", key, value, msg);
	assert_string_equal(err, msg);
}

static void test_defaults(void **state)
{
	(void)state;
	rw_config_defaults(&cfg);
	assert_int_equal(cfg.idle_timeout_ms, 2 * 3600 * 1000);
	assert_int_equal(cfg.prompt_timeout_ms, 5 * 60 * 1000);
	assert_int_equal(cfg.keepalive_idle_ms, 60 * 1000);
	assert_int_equal(cfg.keepalive_interval_ms, 10 * 1000);
	assert_int_equal(cfg.keepalive_count, 6);
	assert_int_equal(cfg.user_timeout_ms, 120 * 1000);
}

static void test_keepalive(void **state)
{
	(void)state;
	set_ok("keepalive_idle", "0");
	assert_int_equal(cfg.keepalive_idle_ms, 0);
	set_ok("keepalive-idle", "1s");
	assert_int_equal(cfg.keepalive_idle_ms, 1000);
	set_ok("keepalive_idle", "2m");
	assert_int_equal(cfg.keepalive_idle_ms, 120000);
	set_ok("keepalive_idle", "32767s");
	assert_int_equal(cfg.keepalive_idle_ms, 32767000);
	set_err("keepalive_idle", "1500ms",
	        "keepalive_idle: '1500ms' is not a whole number of seconds (TCP counts these in "
	        "seconds)");
	set_err("keepalive_idle", "32768",
	        "keepalive_idle: '32768' is out of range (0 or 1s-32767s)");
	set_err("keepalive_idle", "10h", "keepalive_idle: '10h' is out of range (0 or 1s-32767s)");
	set_err("keepalive_idle", "soon",
	        "keepalive_idle: bad duration 'soon' (use e.g. 10s, 500ms)");
	set_ok("keepalive_interval", "1");
	assert_int_equal(cfg.keepalive_interval_ms, 1000);
	set_err("keepalive_interval", "0", "keepalive_interval: '0' is out of range (1s-32767s)");
	set_err("keepalive_interval", "500ms",
	        "keepalive_interval: '500ms' is not a whole number of seconds (TCP counts these in "
	        "seconds)");
	set_ok("keepalive_count", "1");
	assert_int_equal(cfg.keepalive_count, 1);
	set_ok("keepalive_count", "127");
	assert_int_equal(cfg.keepalive_count, 127);
	set_err("keepalive_count", "0", "keepalive_count: 0 is out of range (1-127)");
	set_err("keepalive_count", "128", "keepalive_count: 128 is out of range (1-127)");
	set_err("keepalive_count", "six", "keepalive_count: expected a number, not 'six'");
}

static void test_user_and_prompt_timeouts(void **state)
{
	(void)state;
	set_ok("user_timeout", "0");
	assert_int_equal(cfg.user_timeout_ms, 0);
	set_ok("user_timeout", "1500ms");
	assert_int_equal(cfg.user_timeout_ms, 1500);
	set_ok("user_timeout", "596h");
	set_err("user_timeout", "597h",
	        "user_timeout: duration '597h' is too long (max 596h, the kernel's limit)");
	set_ok("prompt_timeout", "0");
	set_ok("prompt_timeout", "10m");
	assert_int_equal(cfg.prompt_timeout_ms, 600000);
	set_ok("idle_timeout", "0");
	assert_int_equal(cfg.idle_timeout_ms, 0);
}

/* Written back and read again: the same values. */
static void test_round_trip(void **state)
{
	(void)state;
	static struct rw_proxy_config first;
	static char text[1 << 16];
	rw_config_defaults(&cfg);
	const char *in = "keepalive_idle = 7s\nkeepalive_interval = 3s\nkeepalive_count = 4\n"
	                 "user_timeout = 2500ms\nprompt_timeout = 90s\nidle_timeout = 0\n";
	assert_int_equal(rw_config_parse("t.conf", in, strlen(in), &cfg, err, sizeof(err)), 0);
	first = cfg;
	rw_config_format(&first, text, sizeof(text));
	assert_non_null(strstr(text, "keepalive_idle = 7s\n"));
	assert_non_null(strstr(text, "keepalive_count = 4\n"));
	assert_non_null(strstr(text, "user_timeout = 2500ms\n"));
	rw_config_defaults(&cfg);
	assert_int_equal(rw_config_parse("t.conf", text, strlen(text), &cfg, err, sizeof(err)), 0);
	assert_memory_equal(&cfg, &first, sizeof(cfg));
	/* From a file, with its line. */
	rw_config_defaults(&cfg);
	const char *bad = "\nkeepalive_count = 200\n";
	assert_int_equal(rw_config_parse("t.conf", bad, strlen(bad), &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf:2: keepalive_count: 200 is out of range (1-127)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_defaults),
	        cmocka_unit_test(test_keepalive),
	        cmocka_unit_test(test_user_and_prompt_timeouts),
	        cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
