/* conf/source.c: the configuration built from its sources — defaults, the
 * file, the command-line flags — as at start and again on every SIGHUP
 * (issue #12: the proxy reloads through conf/, not through cli/). */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"

static struct rw_proxy_config cfg; /* large: not on the stack */
static char err[RW_CONF_ERR];
static char path[64];

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(path, sizeof(path), "/tmp/rw_test_source.XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static void test_file_then_flags(void **state)
{
	(void)state;
	struct rw_config_source src = {.path = path};
	write_file("listen = 127.0.0.1:3389\nlisten = 127.0.0.1:3390\n"
	           "upstream = 10.0.0.1:3389\nconnect_timeout = 5s\n");
	assert_int_equal(rw_config_build(&src, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.n_listen, 2);
	assert_int_equal(cfg.connect_timeout_ms, 5000);
	assert_int_equal(cfg.tls_timeout_ms, 30000); /* a default */
	/* Flags win; a listen flag replaces the file's list. */
	assert_int_equal(rw_config_source_add(&src, "listen", "127.0.0.1:4000"), 0);
	assert_int_equal(rw_config_source_add(&src, "connect_timeout", "7s"), 0);
	assert_int_equal(rw_config_build(&src, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.n_listen, 1);
	assert_string_equal(cfg.listen[0].text, "127.0.0.1:4000");
	assert_int_equal(cfg.connect_timeout_ms, 7000);
	/* The file read again: its changes show, the flags still win. */
	write_file("listen = 127.0.0.1:3389\nupstream = 10.0.0.2:3389\nconnect_timeout = 9s\n"
	           "grace = 3s\n");
	assert_int_equal(rw_config_build(&src, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.upstream_host, "10.0.0.2");
	assert_int_equal(cfg.grace_ms, 3000);
	assert_int_equal(cfg.connect_timeout_ms, 7000);
	assert_int_equal(cfg.n_listen, 1);
	assert_string_equal(cfg.listen[0].text, "127.0.0.1:4000");
}

static void test_flags_only(void **state)
{
	(void)state;
	struct rw_config_source src = {0};
	assert_int_equal(rw_config_source_add(&src, "listen", ":3389"), 0);
	assert_int_equal(rw_config_source_add(&src, "upstream", "10.0.0.1:3389"), 0);
	assert_int_equal(rw_config_build(&src, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.mode, RW_UPSTREAM_FIXED);
	assert_true(cfg.listen[0].dual_stack);
}

static void test_errors(void **state)
{
	(void)state;
	struct rw_config_source src = {.path = path};
	write_file("listen = 127.0.0.1:3389\nupstream = 10.0.0.1:3389\nconnect_timeout = ten\n");
	assert_int_equal(rw_config_build(&src, &cfg, err, sizeof(err)), -1);
	char want[128];
	snprintf(want, sizeof(want), "%s:3: ", path);
	assert_memory_equal(err, want, strlen(want));
	/* Validation runs too: no upstream mode. */
	write_file("listen = 127.0.0.1:3389\n");
	assert_int_equal(rw_config_build(&src, &cfg, err, sizeof(err)), -1);
	assert_true(strlen(err) > 0);
	/* A bad flag names its key. */
	write_file("listen = 127.0.0.1:3389\nupstream = 10.0.0.1:3389\n");
	assert_int_equal(rw_config_source_add(&src, "grace", "soon"), 0);
	assert_int_equal(rw_config_build(&src, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "grace"));
	/* A missing file. */
	struct rw_config_source gone = {.path = "/nonexistent/rdpwhy.conf"};
	assert_int_equal(rw_config_build(&gone, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/rdpwhy.conf"));
}

static void test_flag_limit(void **state)
{
	(void)state;
	struct rw_config_source src = {0};
	for (int i = 0; i < RW_CONF_MAX_FLAGS; i++)
		assert_int_equal(rw_config_source_add(&src, "grace", "1s"), 0);
	assert_int_equal(rw_config_source_add(&src, "grace", "1s"), -1);
	assert_int_equal(src.n, RW_CONF_MAX_FLAGS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_file_then_flags, setup, teardown),
	        cmocka_unit_test(test_flags_only),
	        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	        cmocka_unit_test(test_flag_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
