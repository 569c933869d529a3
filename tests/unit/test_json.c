/* rw_buf and the JSON writer, above all the escaping of hostile wire strings:
 * exact output for each case, then a round-trip property over random bytes
 * with an independent decoder. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "json.h"

/* ---- rw_buf ---- */

static void test_buf_append_printf(void **state)
{
	(void)state;
	struct rw_buf b = RW_BUF_INIT;
	assert_string_equal(rw_buf_str(&b), "");
	assert_int_equal(rw_buf_append(&b, "ab", 2), 0);
	assert_int_equal(rw_buf_putc(&b, 'c'), 0);
	assert_int_equal(rw_buf_puts(&b, "de"), 0);
	assert_int_equal(rw_buf_printf(&b, "-%d-%s", 42, "x"), 0);
	assert_string_equal(rw_buf_str(&b), "abcde-42-x");
	assert_int_equal(b.len, 10);
	assert_int_equal(rw_buf_append(&b, "", 0), 0);
	assert_int_equal(rw_buf_printf(&b, "%s", ""), 0);
	assert_int_equal(b.len, 10);

	/* Growth through printf's second pass and through append. */
	char big[5000];
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(rw_buf_printf(&b, "[%s]", big), 0);
	assert_int_equal(b.len, 10 + 2 + 4999);
	assert_int_equal(b.data[b.len], '\0');
	assert_int_equal(b.data[10], '[');
	assert_int_equal(b.data[b.len - 1], ']');
	for (int i = 0; i < 1000; i++)
		assert_int_equal(rw_buf_append(&b, "0123456789", 10), 0);
	assert_int_equal(b.len, 15011);
	assert_true(b.cap > b.len);

	size_t cap = b.cap;
	rw_buf_truncate(&b, 3);
	assert_string_equal(rw_buf_str(&b), "abc");
	rw_buf_truncate(&b, 100); /* longer than len: no-op */
	assert_string_equal(rw_buf_str(&b), "abc");
	rw_buf_reset(&b);
	assert_string_equal(rw_buf_str(&b), "");
	assert_int_equal(b.cap, cap); /* the allocation is reused */
	rw_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

static void test_buf_binary(void **state)
{
	(void)state;
	struct rw_buf b;
	rw_buf_init(&b, 0);
	assert_int_equal(rw_buf_append(&b, "a\0b", 3), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "a\0b", 4);
	rw_buf_free(&b);
}

static void test_buf_limit_failure_leaves_buffer_unchanged(void **state)
{
	(void)state;
	struct rw_buf b;
	rw_buf_init(&b, 8);
	assert_int_equal(rw_buf_puts(&b, "12345"), 0);
	errno = 0;
	assert_int_equal(rw_buf_puts(&b, "6789"), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_string_equal(rw_buf_str(&b), "12345");
	/* printf that fits the allocation but not the limit. */
	assert_int_equal(rw_buf_printf(&b, "%s", "abcd"), -1);
	assert_string_equal(rw_buf_str(&b), "12345");
	assert_int_equal(b.len, 5);
	/* printf that needs more room than allocated and exceeds the limit. */
	char big[600];
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(rw_buf_printf(&b, "%s", big), -1);
	assert_string_equal(rw_buf_str(&b), "12345");
	/* Exactly up to the limit is fine. */
	assert_int_equal(rw_buf_printf(&b, "%s", "678"), 0);
	assert_string_equal(rw_buf_str(&b), "12345678");
	assert_int_equal(rw_buf_putc(&b, '9'), -1);
	assert_int_equal(rw_buf_reserve(&b, SIZE_MAX), -1);
	rw_buf_free(&b);

	/* Without a limit, a size that cannot be represented is refused. */
	rw_buf_init(&b, 0);
	assert_int_equal(rw_buf_puts(&b, "x"), 0);
	errno = 0;
	assert_int_equal(rw_buf_reserve(&b, SIZE_MAX), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_string_equal(rw_buf_str(&b), "x");
	rw_buf_free(&b);
}

/* ---- writer structure ---- */

static void test_json_structure(void **state)
{
	(void)state;
	struct rw_buf b = RW_BUF_INIT;
	struct rw_json j;
	rw_json_init(&j, &b);
	assert_int_equal(rw_json_finish(&j), -1); /* nothing written yet */
	rw_json_begin_object(&j);
	rw_json_kv_uint(&j, "a", 1);
	rw_json_key(&j, "b");
	rw_json_begin_array(&j);
	rw_json_uint(&j, 1);
	rw_json_int(&j, -2);
	rw_json_begin_object(&j);
	rw_json_key(&j, "c");
	rw_json_null(&j);
	rw_json_end_object(&j);
	rw_json_begin_array(&j);
	rw_json_end_array(&j);
	rw_json_end_array(&j);
	rw_json_key(&j, "d");
	rw_json_begin_object(&j);
	rw_json_end_object(&j);
	rw_json_kv_bool(&j, "e", true);
	rw_json_kv_bool(&j, "f", false);
	rw_json_kv_cstr(&j, "g", "x");
	rw_json_kv_string(&j, "h", "yz", 1);
	rw_json_kv_int(&j, "i", INT64_MIN);
	rw_json_kv_uint(&j, "u", UINT64_MAX);
	rw_json_key(&j, "k\"ey");
	rw_json_string(&j, NULL, 0);
	rw_json_end_object(&j);
	assert_int_equal(rw_json_finish(&j), 0);
	assert_string_equal(rw_buf_str(&b), "{\"a\":1,\"b\":[1,-2,{\"c\":null},[]],\"d\":{},"
	                                    "\"e\":true,\"f\":false,\"g\":\"x\",\"h\":\"y\","
	                                    "\"i\":-9223372036854775808,\"u\":18446744073709551615,"
	                                    "\"k\\\"ey\":\"\"}");
	rw_buf_free(&b);
}

static void test_json_top_level_scalars(void **state)
{
	(void)state;
	struct rw_buf b = RW_BUF_INIT;
	struct rw_json j;
	rw_json_init(&j, &b);
	assert_int_equal(rw_json_cstr(&j, "s"), 0);
	assert_int_equal(rw_json_finish(&j), 0);
	/* A second top-level value would not be one JSON text. */
	assert_int_equal(rw_json_uint(&j, 1), -1);
	assert_int_equal(rw_json_finish(&j), -1);
	assert_string_equal(rw_buf_str(&b), "\"s\"");
	rw_buf_free(&b);
}

static void test_json_decimal(void **state)
{
	(void)state;
	struct rw_buf b = RW_BUF_INIT;
	struct rw_json j;
	rw_json_init(&j, &b);
	rw_json_begin_array(&j);
	rw_json_decimal(&j, 1234, 3);
	rw_json_decimal(&j, 5, 3);
	rw_json_decimal(&j, -5, 3);
	rw_json_decimal(&j, 0, 3);
	rw_json_decimal(&j, 7, 0);
	rw_json_decimal(&j, INT64_MIN, 18);
	rw_json_end_array(&j);
	assert_int_equal(rw_json_finish(&j), 0);
	assert_string_equal(rw_buf_str(&b), "[1.234,0.005,-0.005,0.000,7,-9.223372036854775808]");
	assert_int_equal(rw_json_decimal(&j, 1, 19), -1);
	rw_buf_free(&b);
}

typedef void (*misuse_fn)(struct rw_json *j);

static void misuse_value_without_key(struct rw_json *j)
{
	rw_json_begin_object(j);
	rw_json_uint(j, 1);
}

static void misuse_key_in_array(struct rw_json *j)
{
	rw_json_begin_array(j);
	rw_json_key(j, "k");
}

static void misuse_key_at_top(struct rw_json *j)
{
	rw_json_key(j, "k");
}

static void misuse_two_keys(struct rw_json *j)
{
	rw_json_begin_object(j);
	rw_json_key(j, "a");
	rw_json_key(j, "b");
}

static void misuse_wrong_end(struct rw_json *j)
{
	rw_json_begin_object(j);
	rw_json_end_array(j);
}

static void misuse_end_after_key(struct rw_json *j)
{
	rw_json_begin_object(j);
	rw_json_key(j, "a");
	rw_json_end_object(j);
}

static void misuse_end_at_top(struct rw_json *j)
{
	rw_json_end_object(j);
}

static void misuse_unclosed(struct rw_json *j)
{
	rw_json_begin_array(j);
	rw_json_begin_object(j);
	rw_json_end_object(j);
}

static void misuse_too_deep(struct rw_json *j)
{
	for (int i = 0; i < RW_JSON_MAX_DEPTH + 1; i++)
		rw_json_begin_array(j);
	for (int i = 0; i < RW_JSON_MAX_DEPTH + 1; i++)
		rw_json_end_array(j);
}

static void test_json_misuse_is_an_error(void **state)
{
	(void)state;
	static const misuse_fn cases[] = {
	        misuse_value_without_key, misuse_key_in_array,  misuse_key_at_top, misuse_two_keys,
	        misuse_wrong_end,         misuse_end_after_key, misuse_end_at_top, misuse_too_deep,
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rw_buf b = RW_BUF_INIT;
		struct rw_json j;
		rw_json_init(&j, &b);
		cases[i](&j);
		assert_int_equal(rw_json_finish(&j), -1);
		/* Sticky: nothing more is written. */
		size_t len = b.len;
		assert_int_equal(rw_json_begin_array(&j), -1);
		assert_int_equal(rw_json_null(&j), -1);
		assert_int_equal(b.len, len);
		rw_buf_free(&b);
	}

	/* An unclosed container is only an error at the end: the writer cannot
	 * know earlier that nothing more is coming. */
	struct rw_buf b = RW_BUF_INIT;
	struct rw_json j;
	rw_json_init(&j, &b);
	misuse_unclosed(&j);
	assert_int_equal(rw_json_finish(&j), -1);
	assert_int_equal(rw_json_end_array(&j), 0);
	assert_int_equal(rw_json_finish(&j), 0);
	assert_string_equal(rw_buf_str(&b), "[{}]");
	rw_buf_free(&b);
}

static void test_json_max_depth_ok(void **state)
{
	(void)state;
	struct rw_buf b = RW_BUF_INIT;
	struct rw_json j;
	rw_json_init(&j, &b);
	for (int i = 0; i < RW_JSON_MAX_DEPTH - 1; i++)
		assert_int_equal(rw_json_begin_array(&j), 0);
	for (int i = 0; i < RW_JSON_MAX_DEPTH - 1; i++)
		assert_int_equal(rw_json_end_array(&j), 0);
	assert_int_equal(rw_json_finish(&j), 0);
	rw_buf_free(&b);
}

static void test_json_allocation_failure(void **state)
{
	(void)state;
	/* Every possible cut-off point: the writer reports it, never claims
	 * success, and the failing string leaves no half-escaped bytes. */
	for (size_t limit = 1; limit < 40; limit++) {
		struct rw_buf b;
		rw_buf_init(&b, limit);
		struct rw_json j;
		rw_json_init(&j, &b);
		rw_json_begin_object(&j);
		rw_json_kv_cstr(&j, "key", "va\"lue\n\xff");
		rw_json_kv_uint(&j, "n", 12345);
		rw_json_end_object(&j);
		const char *want = "{\"key\":\"va\\\"lue\\n\\\\xff\",\"n\":12345}";
		if (limit >= strlen(want)) {
			assert_int_equal(rw_json_finish(&j), 0);
			assert_string_equal(rw_buf_str(&b), want);
		} else {
			assert_int_equal(rw_json_finish(&j), -1);
			assert_true(b.len <= limit);
			/* What was written is a prefix of the real output. */
			assert_memory_equal(b.data ? b.data : "", want, b.len);
		}
		rw_buf_free(&b);
	}
}

/* ---- escaping ---- */

static void check_escape(const char *in, size_t n, const char *want)
{
	struct rw_buf b = RW_BUF_INIT;
	struct rw_json j;
	rw_json_init(&j, &b);
	assert_int_equal(rw_json_string(&j, in, n), 0);
	assert_int_equal(rw_json_finish(&j), 0);
	/* want is the inside of the JSON string literal. */
	assert_int_equal(b.len, strlen(want) + 2);
	assert_int_equal(b.data[0], '"');
	assert_int_equal(b.data[b.len - 1], '"');
	if (memcmp(b.data + 1, want, strlen(want)) != 0)
		fail_msg("escape mismatch: got %s want \"%s\"", b.data, want);
	rw_buf_free(&b);
}

#define ESC(lit, want) check_escape(lit, sizeof(lit) - 1, want)

static void test_escape_json_specials(void **state)
{
	(void)state;
	ESC("plain text 123", "plain text 123");
	ESC("", "");
	ESC("a\"b", "a\\\"b");
	ESC("/", "/");
	/* One backslash in, one after JSON decoding: what a SIEM searches for
	 * (mstsc's cookie for a domain account is "DOMAIN\\user"). */
	ESC("a\\b", "a\\\\b");
	ESC("CORP\\alice", "CORP\\\\alice");
	ESC("\n\r\t\b\f", "\\n\\r\\t\\b\\f");
	ESC("\x01\x1b\x1f", "\\u0001\\u001b\\u001f");
	ESC("\x7f", "\\u007f");
	ESC("x\r\nSet-Cookie: y", "x\\r\\nSet-Cookie: y");
}

static void test_escape_nul_inside(void **state)
{
	(void)state;
	/* Strings are (ptr, len): a NUL does not end them. */
	ESC("ab\0cd", "ab\\u0000cd");
	ESC("\0", "\\u0000");
	ESC("\0\0", "\\u0000\\u0000");
}

static void test_escape_valid_utf8_passes(void **state)
{
	(void)state;
	ESC("caf\xc3\xa9", "caf\xc3\xa9");           /* U+00E9 */
	ESC("\xc2\xa0", "\xc2\xa0");                 /* U+00A0, first non-C1 */
	ESC("\xdf\xbf", "\xdf\xbf");                 /* U+07FF */
	ESC("\xe0\xa0\x80", "\xe0\xa0\x80");         /* U+0800, smallest 3-byte */
	ESC("\xe2\x82\xac", "\xe2\x82\xac");         /* U+20AC */
	ESC("\xed\x9f\xbf", "\xed\x9f\xbf");         /* U+D7FF, below surrogates */
	ESC("\xee\x80\x80", "\xee\x80\x80");         /* U+E000, above surrogates */
	ESC("\xef\xbf\xbf", "\xef\xbf\xbf");         /* U+FFFF */
	ESC("\xf0\x90\x80\x80", "\xf0\x90\x80\x80"); /* U+10000 */
	ESC("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"); /* U+1F600 */
	ESC("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"); /* U+10FFFF */
	ESC("\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac");
}

static void test_escape_c1_controls(void **state)
{
	(void)state;
	/* Valid UTF-8 for U+0080..U+009F: escaped as the same code points. */
	ESC("\xc2\x80", "\\u0080");
	ESC("\xc2\x9b[2J", "\\u009b[2J");
	ESC("\xc2\x9f", "\\u009f");
}

static void test_escape_invalid_utf8(void **state)
{
	(void)state;
	/* Lone continuation bytes. */
	ESC("\x80", "\\\\x80");
	ESC("a\xbf"
	    "b",
	    "a\\\\xbfb");
	/* Truncated sequences at the end. */
	ESC("a\xc3", "a\\\\xc3");
	ESC("a\xe2\x82", "a\\\\xe2\\\\x82");
	ESC("a\xf0\x9f\x98", "a\\\\xf0\\\\x9f\\\\x98");
	/* Truncated in the middle: the following ASCII survives. */
	ESC("\xe2\x82"
	    "A",
	    "\\\\xe2\\\\x82A");
	/* Overlong forms. */
	ESC("\xc0\x80", "\\\\xc0\\\\x80");
	ESC("\xc1\xbf", "\\\\xc1\\\\xbf");
	ESC("\xe0\x80\x80", "\\\\xe0\\\\x80\\\\x80");
	ESC("\xe0\x9f\xbf", "\\\\xe0\\\\x9f\\\\xbf");
	ESC("\xf0\x80\x80\x80", "\\\\xf0\\\\x80\\\\x80\\\\x80");
	ESC("\xf0\x8f\xbf\xbf", "\\\\xf0\\\\x8f\\\\xbf\\\\xbf");
	/* UTF-16 surrogates encoded as UTF-8 (CESU-8). */
	ESC("\xed\xa0\x80", "\\\\xed\\\\xa0\\\\x80");
	ESC("\xed\xbf\xbf", "\\\\xed\\\\xbf\\\\xbf");
	/* Above U+10FFFF, and bytes that never appear in UTF-8. */
	ESC("\xf4\x90\x80\x80", "\\\\xf4\\\\x90\\\\x80\\\\x80");
	ESC("\xf5\x80\x80\x80", "\\\\xf5\\\\x80\\\\x80\\\\x80");
	ESC("\xf8\xfe\xff", "\\\\xf8\\\\xfe\\\\xff");
	/* A valid sequence right after an invalid byte passes through. */
	ESC("\xff\xc3\xa9", "\\\\xff\xc3\xa9");
	/* Latin-1 text is not UTF-8. */
	ESC("caf\xe9", "caf\\\\xe9");
}

static void test_escape_wire_hex(void **state)
{
	(void)state;
	/* The text "\xff" and the byte 0xff decode alike; rw_json_kv_wire keeps
	 * them apart with KEY_hex, present only when something was escaped. */
	ESC("\\xff", "\\\\xff");
	ESC("\xff", "\\\\xff");
	ESC("\xe9", "\\\\xe9");
	ESC("\xc3\xa9", "\xc3\xa9");
	static const struct {
		const char *in;
		size_t n;
		const char *want;
	} cases[] = {
	        {"CORP\\alice", 10, "{\"c\":\"CORP\\\\alice\"}"},
	        {"caf\xc3\xa9", 5, "{\"c\":\"caf\xc3\xa9\"}"},
	        {"\\xff", 4, "{\"c\":\"\\\\xff\"}"},
	        {"\xff", 1, "{\"c\":\"\\\\xff\",\"c_hex\":\"ff\"}"},
	        {"a\r\nb", 4, "{\"c\":\"a\\r\\nb\",\"c_hex\":\"610d0a62\"}"},
	        {"\xc2\x9b", 2, "{\"c\":\"\\u009b\",\"c_hex\":\"c29b\"}"},
	        {"a\0b", 3, "{\"c\":\"a\\u0000b\",\"c_hex\":\"610062\"}"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rw_buf b = RW_BUF_INIT;
		struct rw_json j;
		rw_json_init(&j, &b);
		rw_json_begin_object(&j);
		rw_json_kv_wire(&j, "c", cases[i].in, cases[i].n);
		rw_json_end_object(&j);
		assert_int_equal(rw_json_finish(&j), 0);
		assert_string_equal(rw_buf_str(&b), cases[i].want);
		rw_buf_free(&b);
	}
}

/* ---- round trip with an independent decoder ---- */

/* Decodes a JSON string literal at s[0..n) (quotes included), checking the
 * JSON rules strictly: no raw control characters, valid UTF-8, known escapes.
 * Returns the decoded length or -1. */
static long json_decode_string(const char *s, size_t n, uint8_t *out)
{
	const uint8_t *p = (const uint8_t *)s;
	if (n < 2 || p[0] != '"' || p[n - 1] != '"')
		return -1;
	size_t o = 0;
	for (size_t i = 1; i < n - 1;) {
		uint8_t c = p[i];
		if (c < 0x20)
			return -1;
		if (c == '"')
			return -1;
		if (c != '\\') {
			/* Validate UTF-8 independently of rw_utf8_seq. */
			size_t len = c < 0x80    ? 1
			             : c >= 0xF0 ? 4
			             : c >= 0xE0 ? 3
			             : c >= 0xC0 ? 2
			                         : 0;
			if (len == 0 || i + len > n - 1)
				return -1;
			uint32_t cp = len == 1 ? c : c & (0x7F >> len);
			for (size_t k = 1; k < len; k++) {
				if ((p[i + k] & 0xC0) != 0x80)
					return -1;
				cp = cp << 6 | (p[i + k] & 0x3F);
			}
			static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
			if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
				return -1;
			memcpy(out + o, p + i, len);
			o += len;
			i += len;
			continue;
		}
		if (i + 1 >= n - 1)
			return -1;
		char e = (char)p[i + 1];
		const char *m = strchr("\"\\/bfnrt", e);
		if (e && m) {
			static const char val[] = "\"\\/\b\f\n\r\t";
			out[o++] = (uint8_t)val[m - "\"\\/bfnrt"];
			i += 2;
		} else if (e == 'u') {
			if (i + 6 > n - 1)
				return -1;
			char hex[5] = {0};
			memcpy(hex, p + i + 2, 4);
			char *end;
			unsigned long cp = strtoul(hex, &end, 16);
			if (*end || (cp >= 0xD800 && cp <= 0xDFFF))
				return -1; /* the writer never needs surrogate pairs */
			if (cp < 0x80) {
				out[o++] = (uint8_t)cp;
			} else if (cp < 0x800) {
				out[o++] = (uint8_t)(0xC0 | cp >> 6);
				out[o++] = (uint8_t)(0x80 | (cp & 0x3F));
			} else {
				out[o++] = (uint8_t)(0xE0 | cp >> 12);
				out[o++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
				out[o++] = (uint8_t)(0x80 | (cp & 0x3F));
			}
			i += 6;
		} else {
			return -1;
		}
	}
	return (long)o;
}

/* What the decoded JSON text must be, computed independently of the writer:
 * the input, with every byte that does not belong to a valid UTF-8 sequence
 * (RFC 3629) replaced by the four characters \xhh. */
static size_t expected_text(const uint8_t *p, size_t n, uint8_t *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		uint8_t c = p[i];
		size_t len = c < 0x80    ? 1
		             : c >= 0xF8 ? 0
		             : c >= 0xF0 ? 4
		             : c >= 0xE0 ? 3
		             : c >= 0xC0 ? 2
		                         : 0;
		uint32_t cp = len <= 1 ? c : c & (0x7F >> len);
		if (len > 1 && i + len <= n) {
			for (size_t k = 1; k < len && len; k++) {
				if ((p[i + k] & 0xC0) != 0x80)
					len = 0;
				else
					cp = cp << 6 | (p[i + k] & 0x3F);
			}
			static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
			if (len &&
			    (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)))
				len = 0;
		} else if (len > 1) {
			len = 0;
		}
		if (len == 0) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = (uint8_t)hex[c >> 4];
			out[o++] = (uint8_t)hex[c & 0xF];
			i++;
		} else {
			memcpy(out + o, p + i, len);
			o += len;
			i += len;
		}
	}
	return o;
}

static void round_trip(const uint8_t *in, size_t n)
{
	struct rw_buf b = RW_BUF_INIT;
	struct rw_json j;
	rw_json_init(&j, &b);
	assert_int_equal(rw_json_string(&j, in, n), 0);
	assert_int_equal(rw_json_finish(&j), 0);
	uint8_t *dec = malloc(b.len + 1);
	assert_non_null(dec);
	long dn = json_decode_string(b.data, b.len, dec);
	if (dn < 0)
		fail_msg("not a valid JSON string: %s", b.data);
	uint8_t *want = malloc(4 * n + 1);
	assert_non_null(want);
	size_t wn = expected_text(in, n, want);
	assert_int_equal(dn, (long)wn);
	assert_memory_equal(dec, want, wn);
	free(want);
	free(dec);
	rw_buf_free(&b);
}

static void test_escape_round_trip_random(void **state)
{
	(void)state;
	/* Biased towards the bytes that matter: ASCII specials, UTF-8 lead and
	 * continuation bytes, NUL, DEL. */
	static const uint8_t pool[] = {'a',  '"',  '\\', 'x',  '0',  '\n', '\r', 0x00, 0x1f,
	                               0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3,
	                               0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff};
	unsigned seed = 12345;
	uint8_t in[64];
	for (int iter = 0; iter < 20000; iter++) {
		seed = seed * 1103515245u + 12345u;
		size_t n = (seed >> 16) % sizeof(in);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			unsigned r = seed >> 16;
			in[i] = (r & 1) ? (uint8_t)(r >> 8) : pool[(r >> 1) % sizeof(pool)];
		}
		round_trip(in, n);
	}
	/* Every single byte and every two-byte pair. */
	for (unsigned a = 0; a < 256; a++) {
		for (unsigned c = 0; c < 256; c++) {
			uint8_t two[2] = {(uint8_t)a, (uint8_t)c};
			round_trip(two, 2);
		}
	}
}

static void test_escape_long_strings(void **state)
{
	(void)state;
	size_t n = 10 * 1024;
	uint8_t *in = malloc(n);
	assert_non_null(in);
	/* All bytes, repeated: every kind of escape many times over. */
	for (size_t i = 0; i < n; i++)
		in[i] = (uint8_t)(i * 7 + 3);
	round_trip(in, n);
	/* Valid UTF-8 only: output equals input plus the quotes. */
	for (size_t i = 0; i + 3 <= n; i += 3)
		memcpy(in + i, "\xe2\x82\xac", 3);
	struct rw_buf b = RW_BUF_INIT;
	struct rw_json j;
	rw_json_init(&j, &b);
	assert_int_equal(rw_json_string(&j, in, n - n % 3), 0);
	assert_int_equal(b.len, n - n % 3 + 2);
	assert_memory_equal(b.data + 1, in, n - n % 3);
	rw_buf_free(&b);
	/* Worst case growth: every byte invalid, five output bytes each. */
	memset(in, 0xff, n);
	rw_buf_init(&b, 0);
	assert_int_equal(rw_json_escape(&b, in, n), 0);
	assert_int_equal(b.len, 5 * n);
	assert_memory_equal(b.data, "\\\\xff\\\\xff", 10);
	rw_buf_free(&b);
	round_trip(in, n);
	free(in);
}

static void test_utf8_seq(void **state)
{
	(void)state;
	uint32_t cp;
	assert_int_equal(rw_utf8_seq((const uint8_t *)"A", 1, &cp), 1);
	assert_int_equal(cp, 'A');
	assert_int_equal(rw_utf8_seq((const uint8_t *)"\xc3\xa9", 2, &cp), 2);
	assert_int_equal(cp, 0xE9);
	assert_int_equal(rw_utf8_seq((const uint8_t *)"\xf4\x8f\xbf\xbf", 4, &cp), 4);
	assert_int_equal(cp, 0x10FFFF);
	/* The length bound is respected even if more bytes follow in memory. */
	assert_int_equal(rw_utf8_seq((const uint8_t *)"\xc3\xa9", 1, &cp), 0);
	assert_int_equal(rw_utf8_seq((const uint8_t *)"\xe2\x82\xac", 2, &cp), 0);
	assert_int_equal(rw_utf8_seq((const uint8_t *)"\xed\xa0\x80", 3, &cp), 0);
	assert_int_equal(rw_utf8_seq((const uint8_t *)"\xc3"
	                                              "A",
	                             2, &cp),
	                 0);
}

/* ---- dotted keys (rw_json_path) ---- */

/* Writes keys[i] = i, by name or split (rw_json_pkey_split, with the common
 * segments counted here from the names), into one object. */
static void path_object(bool nested, bool split, const char *const *keys, size_t n,
                        struct rw_buf *b)
{
	struct rw_json j;
	struct rw_json_path p;
	rw_json_init(&j, b);
	rw_json_path_init(&p, &j, nested);
	assert_int_equal(rw_json_begin_object(&j), 0);
	struct rw_json_pkey prev = {0}, k;
	for (size_t i = 0; i < n; i++) {
		if (split) {
			assert_true(rw_json_pkey_split(&k, keys[i]));
			unsigned common = 0;
			while (i && common + 1 < prev.nseg && common + 1 < k.nseg &&
			       prev.end[common] == k.end[common] &&
			       !memcmp(prev.name, k.name, k.end[common]))
				common++;
			assert_int_equal(rw_json_path_key_split(&p, &k, common), 0);
			prev = k;
		} else {
			assert_int_equal(rw_json_path_key(&p, keys[i]), 0);
		}
		assert_int_equal(rw_json_uint(&j, i), 0);
	}
	assert_int_equal(rw_json_path_end(&p), 0);
	assert_int_equal(rw_json_end_object(&j), 0);
	assert_int_equal(rw_json_finish(&j), 0);
}

static void test_json_path_keys(void **state)
{
	(void)state;
	/* Objects opened several at a time, closed several at a time, a
	 * segment name shared by two keys at different places (b.x, c.b). */
	static const char *const keys[] = {"a",     "b.x.y.z", "b.x.y.w", "b.x.v", "b.u",
	                                   "c.b.x", "c.b.y",   "c.d",     "e"};
	static const char nested[] = "{\"a\":0,\"b\":{\"x\":{\"y\":{\"z\":1,\"w\":2},\"v\":3},"
	                             "\"u\":4},\"c\":{\"b\":{\"x\":5,\"y\":6},\"d\":7},\"e\":8}";
	static const char flat[] = "{\"a\":0,\"b.x.y.z\":1,\"b.x.y.w\":2,\"b.x.v\":3,\"b.u\":4,"
	                           "\"c.b.x\":5,\"c.b.y\":6,\"c.d\":7,\"e\":8}";
	size_t n = sizeof(keys) / sizeof(keys[0]);
	for (int split = 0; split < 2; split++) {
		struct rw_buf b = RW_BUF_INIT;
		path_object(true, split, keys, n, &b);
		assert_string_equal(rw_buf_str(&b), nested);
		rw_buf_reset(&b);
		path_object(false, split, keys, n, &b);
		assert_string_equal(rw_buf_str(&b), flat);
		rw_buf_free(&b);
	}
}

static void test_json_path_misuse(void **state)
{
	(void)state;
	struct rw_buf b = RW_BUF_INIT;
	struct rw_json j;
	struct rw_json_path p;
	/* A key while the previous key's value is still due. */
	rw_json_init(&j, &b);
	rw_json_path_init(&p, &j, true);
	rw_json_begin_object(&j);
	assert_int_equal(rw_json_path_key(&p, "a.b"), 0);
	assert_int_equal(rw_json_path_key(&p, "a.c"), -1);
	assert_int_not_equal(rw_json_finish(&j), 0);
	/* A key inside an array. */
	rw_buf_reset(&b);
	rw_json_init(&j, &b);
	rw_json_path_init(&p, &j, true);
	rw_json_begin_array(&j);
	assert_int_equal(rw_json_path_key(&p, "a.b"), -1);
	/* Deeper than RW_JSON_PATH_SEGS segments, or than the writer's depth. */
	struct rw_json_pkey k;
	assert_false(rw_json_pkey_split(&k, "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17"));
	rw_buf_reset(&b);
	rw_json_init(&j, &b);
	rw_json_path_init(&p, &j, true);
	rw_json_begin_object(&j);
	for (int i = 0; i < RW_JSON_MAX_DEPTH - 3; i++)
		rw_json_begin_array(&j);
	rw_json_begin_object(&j);
	assert_int_equal(rw_json_path_key(&p, "x.y.z"), -1);
	rw_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_buf_append_printf),
	        cmocka_unit_test(test_buf_binary),
	        cmocka_unit_test(test_buf_limit_failure_leaves_buffer_unchanged),
	        cmocka_unit_test(test_json_structure),
	        cmocka_unit_test(test_json_top_level_scalars),
	        cmocka_unit_test(test_json_decimal),
	        cmocka_unit_test(test_json_misuse_is_an_error),
	        cmocka_unit_test(test_json_max_depth_ok),
	        cmocka_unit_test(test_json_path_keys),
	        cmocka_unit_test(test_json_path_misuse),
	        cmocka_unit_test(test_json_allocation_failure),
	        cmocka_unit_test(test_escape_json_specials),
	        cmocka_unit_test(test_escape_nul_inside),
	        cmocka_unit_test(test_escape_valid_utf8_passes),
	        cmocka_unit_test(test_escape_c1_controls),
	        cmocka_unit_test(test_escape_invalid_utf8),
	        cmocka_unit_test(test_escape_wire_hex),
	        cmocka_unit_test(test_escape_round_trip_random),
	        cmocka_unit_test(test_escape_long_strings),
	        cmocka_unit_test(test_utf8_seq),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
