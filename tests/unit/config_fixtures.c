/* The fixtures the test_config_*.c files share (config_fixtures.h). */
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

#include "config_fixtures.h"

struct rw_proxy_config cfg; /* large: not on the stack */
char err[RW_CONF_ERR];

/* Parses text as file "t.conf" over the defaults. */
int parse(const char *text)
{
	rw_config_defaults(&cfg);
	err[0] = 0;
	return rw_config_parse("t.conf", text, strlen(text), &cfg, err, sizeof(err));
}

void expect_ok(const char *text)
{
	if (parse(text) != 0)
		fail_msg("'%s' should parse: %s", text, err);
}

void expect_err(const char *text, const char *msg)
{
	if (parse(text) == 0)
		fail_msg("'%s' should fail with: %s", text, msg);
	assert_string_equal(err, msg);
}

/* One key through rw_config_set on fresh defaults. */
int set1(const char *key, const char *value)
{
	rw_config_defaults(&cfg);
	err[0] = 0;
	return rw_config_set(&cfg, key, value, err, sizeof(err));
}

void set_ok(const char *key, const char *value)
{
	if (set1(key, value) != 0)
		fail_msg("%s = '%s' should be accepted: %s", key, value, err);
}

void set_err(const char *key, const char *value, const char *msg)
{
	if (set1(key, value) == 0)
		fail_msg("%s = '%s' should fail with: %s", key, value, msg);
	assert_string_equal(err, msg);
}

char *tmp_path(const char *name)
{
	static char path[PATH_MAX];
	const char *dir = getenv("TMPDIR");
	snprintf(path, sizeof(path), "%s/rdpwhy_test_config_%ld_%s", dir && *dir ? dir : "/tmp",
	         (long)getpid(), name);
	return path;
}

void write_file(const char *path, const char *text, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

char *read_text(const char *path)
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
