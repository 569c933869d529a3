/* The JSON record's key table (record_keys.h) against itself and against
 * what the writer emits for every fixture, its markdown form, key names
 * that need no escaping, and the fast paths of output/json.c's escaping and
 * rw_format_utc against plain references. Whole-record renderings:
 * test_record_json_records.c. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "buf.h"
#include "json.h"
#include "record.h"
#include "check.h"
#include "record_format.h"
#include "record_keys.h"
#include "record_fixtures.h"
#include "record_json_check.h"

/* ---- the key table ---- */

/* Segment i (from 0) of a dotted name: its start and length; false past
 * the last. */
static bool segment(const char *name, size_t i, const char **p, size_t *n)
{
	const char *s = name;
	for (; i > 0; i--) {
		s = strchr(s, '.');
		if (!s)
			return false;
		s++;
	}
	const char *d = strchr(s, '.');
	*p = s;
	*n = d ? (size_t)(d - s) : strlen(s);
	return true;
}

/* The prefix of name up to (not including) its k-th dot; 0 when it has
 * fewer dots. */
static size_t prefix_len(const char *name, size_t k)
{
	const char *s = name;
	for (size_t i = 0; i <= k; i++) {
		s = strchr(s, '.');
		if (!s)
			return 0;
		if (i < k)
			s++;
	}
	return (size_t)(s - name);
}

static void test_keys_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < RW_K_COUNT; i++) {
		const struct rw_record_key *k = &rw_record_keys[i];
		assert_non_null(k->name);
		assert_non_null(k->when);
		assert_non_null(k->unit);
		assert_non_null(k->meaning);
		/* Lower-case names, dot-separated, nothing JSON would escape. */
		for (const char *c = k->name; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' ||
			      *c == '.' || (*c == '@' && c == k->name)))
				fail_msg("key %s: character '%c'", k->name, *c);
		const char *p;
		size_t n;
		for (size_t s = 0; segment(k->name, s, &p, &n); s++)
			if (n == 0)
				fail_msg("key %s: an empty segment", k->name);
		if ((k->presence == RW_KP_WHEN) != (k->when[0] != 0))
			fail_msg("key %s: 'when' is for the keys present only sometimes", k->name);
		if (i == 0 && !k->meaning[0])
			fail_msg("the first key needs a meaning");
		for (size_t j = 0; j < i; j++) {
			const char *o = rw_record_keys[j].name;
			if (!strcmp(o, k->name))
				fail_msg("key %s twice", k->name);
			/* No key is also another's object. */
			size_t lo = strlen(o), lk = strlen(k->name);
			if ((lo < lk && !strncmp(o, k->name, lo) && k->name[lo] == '.') ||
			    (lk < lo && !strncmp(o, k->name, lk) && o[lk] == '.'))
				fail_msg("%s is both a key and an object (%s)",
				         lo < lk ? o : k->name, lo < lk ? k->name : o);
		}
		/* Each object's keys in one run: from the first key with a prefix
		 * to this one, every key has it (the nested form would repeat
		 * the object otherwise). */
		for (size_t d = 0; prefix_len(k->name, d); d++) {
			size_t pl = prefix_len(k->name, d);
			size_t j = 0;
			while (j < i && !(!strncmp(rw_record_keys[j].name, k->name, pl) &&
			                  rw_record_keys[j].name[pl] == '.'))
				j++;
			for (; j < i; j++)
				if (strncmp(rw_record_keys[j].name, k->name, pl) ||
				    rw_record_keys[j].name[pl] != '.')
					fail_msg("%.*s.* is not contiguous: %s comes between",
					         (int)pl, k->name, rw_record_keys[j].name);
		}
	}
}

/* The value's JSON type agrees with the table's. */
static void check_type(const char *name, enum rw_key_type t, char c)
{
	bool ok = t == RW_KT_STRING || t == RW_KT_DATE ? c == '"'
	          : t == RW_KT_INT                     ? (c == '-' || (c >= '0' && c <= '9'))
	          : t == RW_KT_BOOL                    ? (c == 't' || c == 'f')
	                                               : c == '[';
	if (!ok)
		fail_msg("%s: a value starting '%c' is not a %s", name, c, rw_key_type_name(t));
}

/* Every key a record emits is in the table, in the table's order, with its
 * type; the keys always present are there. */
static void check_keys(const struct rw_record *r, const char *host, const char *id)
{
	struct rw_buf b = RW_BUF_INIT;
	assert_int_equal(rw_record_json_style(r, host, id, RW_JSON_FLAT, &b), 0);
	struct check_json l;
	const char *why = NULL;
	if (!check_json_line(b.data, b.len, &l, &why))
		fail_msg("invalid JSON line (%s): %s", why, b.data);
	size_t next = 0;
	for (size_t i = 0; i < l.n_keys; i++) {
		const char *kp = l.line + l.key_off[i];
		size_t kl = l.key_len[i];
		size_t k = 0;
		while (k < RW_K_COUNT && !(strlen(rw_record_keys[k].name) == kl &&
		                           !memcmp(rw_record_keys[k].name, kp, kl)))
			k++;
		if (k == RW_K_COUNT)
			fail_msg("key %.*s is not in record_keys.h", (int)kl, kp);
		if (k < next)
			fail_msg("key %.*s out of the table's order", (int)kl, kp);
		next = k + 1;
		check_type(rw_record_keys[k].name, rw_record_keys[k].type, kp[kl + 2]);
	}
	for (size_t k = 0; k < RW_K_COUNT; k++)
		if ((rw_record_keys[k].presence == RW_KP_ALWAYS ||
		     (rw_record_keys[k].presence == RW_KP_OUTPUT && host && id)) &&
		    !has_key(&l, rw_record_keys[k].name))
			fail_msg("'always' key %s missing", rw_record_keys[k].name);
	rw_buf_free(&b);
}

static void test_keys_of_fixtures(void **state)
{
	(void)state;
	struct rw_record r;
	fill_minimal(&r);
	check_keys(&r, NULL, NULL);
	check_keys(&r, "h", "id");
	fill_full(&r);
	check_keys(&r, "h", "id");
	make_hostile(&r);
	check_keys(&r, "h", "id");
	/* The keys fill_full leaves out: the other branches. */
	fill_full(&r);
	r.proxy = false;
	r.token_kind = RW_TOKEN_ROUTING;
	r.alert[RW_C2S].encrypted = true;
	r.sh.n_alpn = 1;
	strcpy(r.sh.alpn, "h2");
	r.sslv2_client_hello = true;
	r.ch.n_alpn = 1;
	memcpy(r.ch.alpn[0], "h2", 3);
	r.ch.alpn_len[0] = 2;
	r.host_clock_seen = true;
	r.host_clock_offset_us = -400 * 1000000LL;
	r.neg_failure_present = true;
	r.neg_failure_code = 1;
	r.verdict.n_alternatives = 1;
	r.verdict.tell_apart = "a capture on the other side";
	r.phase_reached[RW_PHASE_NLA] = r.phase_reached[RW_PHASE_RDP] = true;
	r.phase_reached[RW_PHASE_ESTABLISHED] = true;
	r.phase_ts_us[RW_PHASE_NLA] = T0 + 5000;
	r.phase_ts_us[RW_PHASE_RDP] = T0 + 6000;
	r.phase_ts_us[RW_PHASE_ESTABLISHED] = T0 + 7000;
	r.verdict.phase = RW_PHASE_ESTABLISHED;
	for (int d = 0; d < 2; d++) {
		r.tcp[d].capture_gaps = 1;
		r.tcp[d].capture_gap_bytes = 100;
		r.tcp[d].retransmitted_bytes = 1460;
		r.tcp[d].max_retransmit = 1460;
		r.tcp[d].mss = 1448;
	}
	r.scan.on = true;
	r.scan.attempts = 10;
	r.proxy_stop = RW_PROXY_STOP_WAITED;
	r.proxy_side = RW_S2C;
	r.proxy_tcp[RW_S2C].known = true;
	r.proxy_prompt_wait_ms = 5;
	r.file_first = "a.pcap";
	r.file_last = "b.pcap";
	r.frame_first = 1;
	r.frame_last = 9;
	check_keys(&r, "h", "id");
	r.token_kind = RW_TOKEN_COOKIE;
	r.scan.by_target = true;
	r.proxy_stop = RW_PROXY_STOP_LOST;
	strcpy(r.proxy_tcp[RW_S2C].error_name, "ETIMEDOUT");
	r.directions = RW_DIRS_SERVER_ONLY;
	check_keys(&r, "h", "id");
	r.directions = RW_DIRS_CLIENT_ONLY;
	check_keys(&r, "h", "id");
}

static void test_keys_markdown(void **state)
{
	(void)state;
	struct rw_buf b = RW_BUF_INIT;
	assert_int_equal(rw_record_keys_markdown(&b), 0);
	/* A header, a rule, one row per key. */
	size_t lines = 0;
	for (size_t i = 0; i < b.len; i++)
		lines += b.data[i] == '\n';
	assert_int_equal(lines, 2 + RW_K_COUNT);
	assert_contains(&b, "\n| `rdpwhy.cause` | string | always |  | the verdict");
	assert_contains(&b, "\n| `event.duration` | integer | its end is known | ns | ");
	assert_contains(&b, "\n| `rdpwhy.timeline.x224` | integer | the phase was reached | µs | ");
	rw_buf_free(&b);
}

/* ---- the fast paths of output/json.c and rw_format_utc against references ---- */

/* json.h's escaping rules written the plain way, one code point at a time
 * (the writer before its fast path): the specification the fast path must
 * match byte for byte. */
static void ref_escape(struct rw_buf *out, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = rw_utf8_seq(p + i, n - i, &cp);
		char e[8];
		if (len == 0) {
			snprintf(e, sizeof(e), "\\\\x%c%c", hex[p[i] >> 4], hex[p[i] & 0xF]);
			len = 1;
		} else if (cp == '"' || cp == '\\') {
			snprintf(e, sizeof(e), "\\%c", (char)cp);
		} else if (cp == '\b' || cp == '\f' || cp == '\n' || cp == '\r' || cp == '\t') {
			snprintf(e, sizeof(e), "\\%c",
			         cp == '\b'   ? 'b'
			         : cp == '\f' ? 'f'
			         : cp == '\n' ? 'n'
			         : cp == '\r' ? 'r'
			                      : 't');
		} else if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
			snprintf(e, sizeof(e), "\\u00%c%c", hex[cp >> 4], hex[cp & 0xF]);
		} else {
			assert_int_equal(rw_buf_append(out, p + i, len), 0);
			i += len;
			continue;
		}
		assert_int_equal(rw_buf_puts(out, e), 0);
		i += len;
	}
}

static bool ref_plain(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = rw_utf8_seq(p + i, n - i, &cp);
		if (len == 0 || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
			return false;
		i += len;
	}
	return true;
}

static void check_escape(const uint8_t *p, size_t n)
{
	struct rw_buf got = RW_BUF_INIT, want = RW_BUF_INIT;
	assert_int_equal(rw_json_escape(&got, p, n), 0);
	ref_escape(&want, p, n);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(rw_buf_str(&got), rw_buf_str(&want), got.len);
	assert_int_equal(rw_json_plain(p, n), ref_plain(p, n));
	rw_buf_free(&got);
	rw_buf_free(&want);
}

static void test_json_escape_fast_path(void **state)
{
	(void)state;
	/* Every byte, and every pair of bytes, at every offset of a word
	 * (the fast path reads 8 bytes at a time). */
	uint8_t s[24];
	for (unsigned a = 0; a < 256; a++) {
		for (size_t off = 0; off < 16; off++) {
			memset(s, 'a', sizeof(s));
			s[off] = (uint8_t)a;
			check_escape(s, off + 1);
			check_escape(s, sizeof(s));
		}
		for (unsigned b = 0; b < 256; b++) {
			memset(s, 'x', sizeof(s));
			s[7] = (uint8_t)a;
			s[8] = (uint8_t)b;
			check_escape(s, sizeof(s));
			check_escape(s + 7, 2);
		}
	}
	/* Random strings mixing ASCII, controls, UTF-8 sequences (valid,
	 * cut short, overlong, surrogates, C1) and stray bytes. */
	static const uint8_t pieces[][4] = {
	        {1, 'A'},
	        {1, '"'},
	        {1, '\\'},
	        {1, 0x7F},
	        {1, 0x00},
	        {1, '\n'},
	        {1, 0x1F},
	        {1, 0x80},
	        {2, 0xC2, 0x85},
	        {2, 0xC3, 0xA9},
	        {2, 0xC0, 0xAF},
	        {3, 0xE2, 0x82, 0xAC},
	        {3, 0xED, 0xA0, 0x80},
	        {2, 0xE2, 0x82},
	        {1, 0xFF},
	        {1, ' '},
	};
	uint32_t rnd = 12345;
	for (int iter = 0; iter < 20000; iter++) {
		uint8_t buf[128];
		size_t n = 0;
		rnd = rnd * 1103515245u + 12345u;
		size_t want_len = (rnd >> 16) % 100;
		while (n + 4 <= want_len) {
			rnd = rnd * 1103515245u + 12345u;
			unsigned k = (rnd >> 16) % 40;
			if (k >= 16) { /* mostly printable ASCII runs */
				buf[n++] = (uint8_t)(0x20 + (rnd >> 8) % 95);
				continue;
			}
			memcpy(buf + n, pieces[k] + 1, pieces[k][0]);
			n += pieces[k][0];
		}
		check_escape(buf, n);
	}
}

static void test_format_utc_matches_gmtime(void **state)
{
	(void)state;
	const int64_t lo = -62167219200LL, hi = 253402300799LL;
	int64_t edges[] = {lo,
	                   lo + 1,
	                   -86401,
	                   -86400,
	                   -86399,
	                   -1,
	                   0,
	                   1,
	                   86399,
	                   86400,
	                   951782400 /* 2000-02-29 */,
	                   4107542400LL /* 2100-03-01 */,
	                   hi - 1,
	                   hi};
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]) + 4000000; i++) {
		int64_t sec =
		        i < sizeof(edges) / sizeof(edges[0])
		                ? edges[i]
		                : lo + (int64_t)(i - sizeof(edges) / sizeof(edges[0])) * 78914LL;
		if (sec > hi)
			break;
		struct tm got, want;
		time_t t = (time_t)sec;
		assert_true(rw_format_utc(sec, &got));
		assert_non_null(gmtime_r(&t, &want));
		assert_int_equal(got.tm_year, want.tm_year);
		assert_int_equal(got.tm_mon, want.tm_mon);
		assert_int_equal(got.tm_mday, want.tm_mday);
		assert_int_equal(got.tm_hour, want.tm_hour);
		assert_int_equal(got.tm_min, want.tm_min);
		assert_int_equal(got.tm_sec, want.tm_sec);
		assert_int_equal(got.tm_wday, want.tm_wday);
		assert_int_equal(got.tm_yday, want.tm_yday);
	}
	struct tm tm;
	assert_false(rw_format_utc(lo - 1, &tm));
	assert_false(rw_format_utc(hi + 1, &tm));
}

/* The writer copies key names as they are (json.h: path keys are written
 * unescaped): every name in the table must be one that needs no escaping. */
static void test_keys_need_no_escaping(void **state)
{
	(void)state;
	for (size_t i = 0; i < RW_K_COUNT; i++) {
		const char *k = rw_record_keys[i].name;
		assert_true(k[0] != '\0');
		for (const char *c = k; *c; c++)
			assert_true((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
			            *c == '_' || *c == '.' || *c == '@');
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_keys_table),
	        cmocka_unit_test(test_keys_of_fixtures),
	        cmocka_unit_test(test_keys_markdown),
	        cmocka_unit_test(test_json_escape_fast_path),
	        cmocka_unit_test(test_format_utc_matches_gmtime),
	        cmocka_unit_test(test_keys_need_no_escaping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
