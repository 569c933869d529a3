/* The key checks shared by the JSON record tests (test_record_json_records.c,
 * test_record_json_keys.c): whether a JSON line read by check_json_line
 * (tests/common/check.c, shared with the fuzz targets: strict syntax and
 * UTF-8, no raw controls, no duplicate top-level key) has a top-level key. */
#ifndef RW_TEST_RECORD_JSON_CHECK_H
#define RW_TEST_RECORD_JSON_CHECK_H

#include <stdbool.h>

#include "check.h"

static inline bool has_key(const struct check_json *l, const char *key)
{
	return check_json_has_key(l, key, false);
}

/* A key starting with prefix. */
static inline bool has_key_prefix(const struct check_json *l, const char *prefix)
{
	return check_json_has_key(l, prefix, true);
}

#endif
