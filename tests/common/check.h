/* Output checkers shared by the unit tests and the fuzz targets. */
#ifndef RW_TEST_CHECK_H
#define RW_TEST_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHECK_JSON_MAX_KEYS 1024

/* One strict UTF-8 sequence at p (no overlongs, surrogates or > U+10FFFF):
 * its length, or 0 if invalid. */
size_t check_utf8(const uint8_t *p, size_t n, uint32_t *cp);

/* The top-level keys of a checked line, as offsets into it (escapes kept). */
struct check_json {
	const char *line;
	size_t n_keys;
	size_t key_off[CHECK_JSON_MAX_KEYS], key_len[CHECK_JSON_MAX_KEYS];
};

/* One newline-terminated JSON object: strict syntax, strict UTF-8, no raw
 * control characters (C0, DEL, C1), no duplicate top-level key. On failure
 * *why says what is wrong. out may be NULL. */
bool check_json_line(const char *s, size_t n, struct check_json *out, const char **why);
/* Whether the line has this top-level key (or, with prefix, one starting so). */
bool check_json_has_key(const struct check_json *c, const char *key, bool prefix);

#endif
