/* conf/config.c's file format: syntax, quoting, CRLF, line length, the error
 * buffer, FILE:LINE messages from files on disk, and the shipped example
 * conf/rdpwhy.conf and conf/README.md. Split from test_config.c: one job per
 * test file. */
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
	/* Exactly 4096 characters: fine, with or without CR. (Quoted: a value
	 * must also fit the line as it is written back, in quotes.) */
	memset(text, 0, sizeof(text));
	strcpy(text, "output = \"");
	memset(text + 10, 'a', 4096 - 11);
	strcat(text, "\"\r\nlisten = :1\n");
	expect_ok(text);
	assert_int_equal(strlen(cfg.outputs[0]), 4096 - 11);
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
	        cmocka_unit_test(test_syntax),
	        cmocka_unit_test(test_quoting),
	        cmocka_unit_test(test_crlf),
	        cmocka_unit_test(test_line_length),
	        cmocka_unit_test(test_error_buffer),
	        cmocka_unit_test(test_load_files),
	        cmocka_unit_test(test_example_conf),
	        cmocka_unit_test(test_readme_documents_every_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
