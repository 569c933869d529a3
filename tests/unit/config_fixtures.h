/* The fixtures the test_config_*.c files share: a config and an error buffer
 * (too large for the stack), parse/set helpers that fail the test with the
 * text, and scratch files. */
#ifndef RW_TEST_CONFIG_FIXTURES_H
#define RW_TEST_CONFIG_FIXTURES_H

#include <stddef.h>

#include "config.h"

/* CMake gives the absolute tests/data directory; a direct build runs from the
 * repository root. */
#ifdef RW_TEST_DATA
#define REPO_DIR RW_TEST_DATA "/../.."
#else
#define REPO_DIR "."
#endif
#define EXAMPLE_CONF REPO_DIR "/conf/rdpwhy.conf"
#define CONF_README  REPO_DIR "/conf/README.md"

extern struct rw_proxy_config cfg; /* large: not on the stack */
extern char err[RW_CONF_ERR];

/* Parses text as file "t.conf" over the defaults. */
int parse(const char *text);
void expect_ok(const char *text);
void expect_err(const char *text, const char *msg);
/* One key through rw_config_set on fresh defaults. */
int set1(const char *key, const char *value);
void set_ok(const char *key, const char *value);
void set_err(const char *key, const char *value, const char *msg);
char *tmp_path(const char *name);
void write_file(const char *path, const char *text, size_t n);
char *read_text(const char *path);

#endif
