/* SIEM messages: RFC 5424 header and structured data, the JSON body with
 * its record id, CEF escaping, RFC 6587 framing, and a hostile cookie that
 * must come out as exactly one well-formed message in every format. The
 * checks parse the output back (a small RFC 5424, CEF and JSON reader). */
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
#include "record.h"
#include "record_format.h"
#include "syslog5424.h"

#define T0 (1795539903ull * 1000000ull + 123456ull) /* 2026-11-24T17:05:03.123456Z */
#define ID "0123456789abcdef0123456789abcdef"

static void fill(struct rw_record *r, char *cookie, size_t cookie_len)
{
	memset(r, 0, sizeof(*r));
	r->id = 7;
	r->ts_open_us = T0;
	r->ts_close_us = T0 + 2000;
	r->client = (struct rw_endpoint){.family = 2, .addr = {10, 0, 0, 1}, .port = 50000};
	r->server = (struct rw_endpoint){.family = 2, .addr = {10, 0, 0, 2}, .port = 3389};
	r->rst_ttl[0] = r->rst_ttl[1] = -1;
	r->ttl_lo[0] = r->ttl_lo[1] = r->ttl_hi[0] = r->ttl_hi[1] = -1;
	r->verdict.cause = RW_CAUSE_UPSTREAM_REFUSED;
	r->verdict.closed_by = RW_SIDE_SERVER;
	r->verdict.close_kind = RW_CLOSE_REFUSED;
	r->verdict.phase = RW_PHASE_TCP_CONNECT;
	r->verdict.n_evidence = 1;
	strcpy(r->verdict.evidence[0], "SYN answered by RST");
	r->verdict.remediation = "Check that TermService listens on the port";
	if (cookie) {
		r->cr_seen = true;
		r->token_kind = RW_TOKEN_COOKIE;
		r->token = cookie;
		r->token_len = cookie_len;
	}
}

static const struct rw_siem_meta meta = {"gw-1", 4242, ID, 16, RW_JSON_NESTED};

/* ---- readers ---------------------------------------------------------------- */

/* A minimal JSON validator (RFC 8259 syntax, strings must be valid escapes
 * and contain no raw control bytes). Returns the position after the value. */
static const char *json_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static const char *json_value(const char *p);

static const char *json_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	for (;;) {
		unsigned char c = (unsigned char)*p++;
		if (c == '"')
			return p;
		if (c < 0x20)
			return NULL;
		if (c == '\\') {
			c = (unsigned char)*p++;
			if (c == 'u') {
				for (int i = 0; i < 4; i++)
					if (!strchr("0123456789abcdefABCDEF", *p++) || !p[-1])
						return NULL;
			} else if (!c || !strchr("\"\\/bfnrt", c)) {
				return NULL;
			}
		}
	}
}

static const char *json_value(const char *p)
{
	p = json_ws(p);
	if (*p == '"')
		return json_string(p);
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';
		bool obj = *p == '{';
		p = json_ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (obj) {
				p = json_string(json_ws(p));
				if (!p)
					return NULL;
				p = json_ws(p);
				if (*p++ != ':')
					return NULL;
			}
			p = json_value(p);
			if (!p)
				return NULL;
			p = json_ws(p);
			if (*p == close)
				return p + 1;
			if (*p++ != ',')
				return NULL;
		}
	}
	if (!strncmp(p, "true", 4))
		return p + 4;
	if (!strncmp(p, "false", 5))
		return p + 5;
	if (!strncmp(p, "null", 4))
		return p + 4;
	const char *s = p;
	if (*p == '-')
		p++;
	while ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' || *p == '+' ||
	       *p == '-')
		p++;
	return p > s ? p : NULL;
}

static bool json_ok(const char *s)
{
	const char *end = json_value(s);
	return end && *json_ws(end) == 0;
}

/* One message: no raw control bytes at all (so one line, one frame). */
static void assert_one_line(const struct rw_buf *b)
{
	for (size_t i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];
		if (c < 0x20 || c == 0x7f)
			fail_msg("raw control byte 0x%02x at %zu", c, i);
	}
}

/* Parses an RFC 5424 message: checks the header fields and returns the
 * position of MSG; collects the unescaped value of param `want`. */
static const char *parse_5424(const char *s, const char *want, struct rw_buf *value)
{
	const char *p = s;
	assert_int_equal(*p++, '<');
	int pri = 0;
	while (*p >= '0' && *p <= '9')
		pri = pri * 10 + (*p++ - '0');
	assert_true(pri >= 0 && pri <= 191);
	assert_int_equal(*p++, '>');
	assert_int_equal(*p++, '1');
	static const size_t max[] = {0, 255, 48, 128, 32}; /* TS HOST APP PROCID MSGID */
	for (int f = 0; f < 5; f++) {
		assert_int_equal(*p++, ' ');
		size_t n = 0;
		while (*p && *p != ' ') {
			assert_true(*p >= 33 && *p <= 126);
			p++;
			n++;
		}
		assert_true(n >= 1);
		if (max[f])
			assert_true(n <= max[f]);
	}
	assert_int_equal(*p++, ' ');
	assert_int_equal(*p++, '[');
	assert_memory_equal(p, RW_SD_ID, strlen(RW_SD_ID));
	p += strlen(RW_SD_ID);
	bool seen_id = false;
	while (*p == ' ') {
		p++;
		const char *name = p;
		while (*p && *p != '=' && *p != ' ' && *p != ']' && *p != '"')
			p++;
		size_t nlen = (size_t)(p - name);
		assert_true(nlen >= 1 && nlen <= 32);
		assert_int_equal(*p++, '=');
		assert_int_equal(*p++, '"');
		bool keep = want && strlen(want) == nlen && !memcmp(name, want, nlen);
		if (nlen == 2 && !memcmp(name, "id", 2)) {
			assert_memory_equal(p, ID "\"", 33);
			seen_id = true;
		}
		for (;;) {
			assert_true(*p != 0);
			if (*p == '"')
				break;
			assert_true(*p != ']'); /* must be escaped */
			if (*p == '\\') {
				assert_non_null(strchr("\"\\]", p[1])); /* we only emit these */
				p++;
			}
			if (keep)
				rw_buf_putc(value, *p);
			p++;
		}
		p++;
	}
	assert_true(seen_id);
	assert_int_equal(*p++, ']');
	assert_int_equal(*p++, ' ');
	return p;
}

/* The expected rendering of a wire string (what SD and CEF decode to, as in
 * the JSON record): backslash doubled, control bytes and invalid UTF-8 as
 * the text \xhh. */
static void expect_text(const char *s, size_t n, struct rw_buf *out, bool cef)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\')
			rw_buf_puts(out, "\\\\");
		else if (cef && (c == '\n' || c == '\r'))
			rw_buf_putc(out, (char)c);
		else if (c < 0x20 || c == 0x7f || c >= 0x80)
			rw_buf_printf(out, "\\x%02x", c);
		else
			rw_buf_putc(out, (char)c);
	}
}

/* CEF: 7 unescaped '|' in the header, then key=value pairs. Returns the
 * unescaped value of key `want`. */
static void parse_cef(const char *msg, const char *want, struct rw_buf *value)
{
	assert_memory_equal(msg, "CEF:0|", 6);
	const char *p = msg;
	int pipes = 0;
	while (*p && pipes < 7) {
		if (*p == '\\') {
			assert_non_null(strchr("|\\", p[1]));
			p += 2;
			continue;
		}
		if (*p == '|')
			pipes++;
		p++;
	}
	assert_int_equal(pipes, 7);
	/* Extension: keys are [A-Za-z0-9]+ followed by '='; an unescaped '='
	 * only ever follows a key. */
	bool seen_id = false;
	while (*p) {
		const char *key = p;
		while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		       (*p >= '0' && *p <= '9'))
			p++;
		assert_true(p > key);
		assert_int_equal(*p, '=');
		size_t klen = (size_t)(p - key);
		p++;
		bool keep = strlen(want) == klen && !memcmp(key, want, klen);
		if (klen == 10 && !memcmp(key, "externalId", 10)) {
			assert_memory_equal(p, ID, 32);
			seen_id = true;
		}
		for (;;) {
			if (!*p)
				break;
			if (*p == '\\') {
				char c = p[1];
				assert_non_null(strchr("=\\nr", c));
				if (keep)
					rw_buf_putc(value, c == 'n' ? '\n' : c == 'r' ? '\r' : c);
				p += 2;
				continue;
			}
			assert_true(*p != '=');
			if (*p == ' ') {
				/* a space then key= ends the value */
				const char *q = p + 1;
				while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
				       (*q >= '0' && *q <= '9'))
					q++;
				if (q > p + 1 && *q == '=') {
					p++;
					break;
				}
			}
			if (keep)
				rw_buf_putc(value, *p);
			p++;
		}
	}
	assert_true(seen_id);
}

/* ---- tests -------------------------------------------------------------------- */

static void test_header_and_json(void **state)
{
	(void)state;
	struct rw_record r;
	char cookie[] = "alice";
	fill(&r, cookie, 5);
	struct rw_buf b;
	rw_buf_init(&b, 0);
	assert_int_equal(rw_siem_message(RW_SIEM_JSON, &r, &meta, &b), 0);
	const char *want = "<132>1 2026-11-24T17:05:03.123456Z gw-1 rdpwhy 4242 - "
	                   "[rdpwhy@32473 id=\"" ID "\"] {";
	assert_memory_equal(b.data, want, strlen(want));
	const char *msg = parse_5424(b.data, NULL, NULL);
	assert_true(json_ok(msg));
	/* The record nested (json_style's default)... */
	assert_non_null(strstr(msg, ",\"record_id\":\"" ID "\"}}"));
	assert_non_null(strstr(msg, "\"host\":{\"name\":\"gw-1\"}"));
	assert_non_null(strstr(msg, "\"rdp\":{\"cookie\":\"alice\""));
	assert_int_equal(b.data[b.len - 1], '}');
	/* ... or flat, as the output's json_style says. */
	struct rw_siem_meta flat = meta;
	flat.json_style = RW_JSON_FLAT;
	rw_buf_reset(&b);
	assert_int_equal(rw_siem_message(RW_SIEM_JSON, &r, &flat, &b), 0);
	msg = parse_5424(b.data, NULL, NULL);
	assert_true(json_ok(msg));
	assert_non_null(strstr(msg, ",\"rdpwhy.record_id\":\"" ID "\"}"));
	assert_non_null(strstr(msg, "\"host.name\":\"gw-1\""));
	assert_non_null(strstr(msg, "\"rdp.cookie\":\"alice\""));
	assert_int_equal(b.data[b.len - 1], '}');
	size_t sd = 0, mo = 0;
	rw_buf_reset(&b);
	assert_int_equal(rw_siem_message_parts(RW_SIEM_JSON, &r, &meta, &b, &sd, &mo), 0);
	assert_memory_equal(b.data + sd, "[rdpwhy@32473 id=", 17);
	assert_memory_equal(b.data + mo, "{\"", 2);

	/* A normal close is informational; no host, no pid: "-". */
	rw_buf_reset(&b);
	r.verdict.cause = RW_CAUSE_NORMAL_CLOSE;
	struct rw_siem_meta m = {NULL, 0, ID, 3, RW_JSON_NESTED};
	assert_int_equal(rw_siem_message(RW_SIEM_JSON, &r, &m, &b), 0);
	want = "<30>1 2026-11-24T17:05:03.123456Z - rdpwhy - - [rdpwhy@32473 id=";
	assert_memory_equal(b.data, want, strlen(want));
	rw_buf_free(&b);
}

static void test_header_fields(void **state)
{
	(void)state;
	struct rw_buf b;
	rw_buf_init(&b, 0);
	assert_int_equal(rw_syslog_header_field("a b\n\xc3\xa9z", 255, &b), 0);
	assert_string_equal(rw_buf_str(&b), "a_b___z");
	rw_buf_reset(&b);
	assert_int_equal(rw_syslog_header_field("", 255, &b), 0);
	assert_string_equal(rw_buf_str(&b), "-");
	rw_buf_reset(&b);
	char longname[400];
	memset(longname, 'h', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	assert_int_equal(rw_syslog_header_field(longname, 255, &b), 0);
	assert_int_equal(b.len, 255);

	/* A hostile host name still gives a valid header. */
	struct rw_record r;
	fill(&r, NULL, 0);
	struct rw_siem_meta m = {"evil host\n[x]", 1, ID, 16, RW_JSON_NESTED};
	rw_buf_reset(&b);
	assert_int_equal(rw_siem_message(RW_SIEM_RFC5424, &r, &m, &b), 0);
	assert_one_line(&b);
	parse_5424(b.data, NULL, NULL);
	assert_non_null(strstr(b.data, " evil_host_[x] rdpwhy 1 - ["));

	/* A bad id is refused, and nothing is appended. */
	rw_buf_reset(&b);
	m.id = "xyz";
	assert_int_equal(rw_siem_message(RW_SIEM_JSON, &r, &m, &b), -1);
	assert_int_equal(b.len, 0);
	rw_buf_free(&b);
}

static void test_escapers(void **state)
{
	(void)state;
	struct rw_buf b;
	rw_buf_init(&b, 0);
	assert_int_equal(rw_sd_value("a\"b\\c]d\ne\xff\xc3\xa9", 12, &b), 0);
	assert_string_equal(rw_buf_str(&b), "a\\\"b\\\\\\\\c\\]d\\\\x0ae\\\\xff\xc3\xa9");
	rw_buf_reset(&b);
	assert_int_equal(rw_cef_header("a|b\\c=d", 7, &b), 0);
	assert_string_equal(rw_buf_str(&b), "a\\|b\\\\\\\\c=d");
	rw_buf_reset(&b);
	assert_int_equal(rw_cef_value("a|b\\c=d\ne\rf\tg", 13, &b), 0);
	assert_string_equal(rw_buf_str(&b), "a|b\\\\\\\\c\\=d\\ne\\rf\\\\x09g");
	rw_buf_reset(&b);
	assert_int_equal(rw_syslog_frame("hello", 5, &b), 0);
	assert_string_equal(rw_buf_str(&b), "5 hello");
	rw_buf_free(&b);
	assert_int_equal(rw_siem_format_parse("json"), RW_SIEM_JSON);
	assert_int_equal(rw_siem_format_parse("rfc5424"), RW_SIEM_RFC5424);
	assert_int_equal(rw_siem_format_parse("cef"), RW_SIEM_CEF);
	assert_int_equal(rw_siem_format_parse("xml"), -1);
}

static void test_structured_and_cef(void **state)
{
	(void)state;
	struct rw_record r;
	char cookie[] = "bob";
	fill(&r, cookie, 3);
	struct rw_buf b, v;
	rw_buf_init(&b, 0);
	rw_buf_init(&v, 0);
	assert_int_equal(rw_siem_message(RW_SIEM_RFC5424, &r, &meta, &b), 0);
	const char *msg = parse_5424(b.data, "cookie", &v);
	assert_string_equal(rw_buf_str(&v), "bob");
	assert_non_null(
	        strstr(b.data, " src=\"10.0.0.1\" spt=\"50000\" dst=\"10.0.0.2\" dpt=\"3389\""));
	assert_non_null(strstr(b.data, " cause=\"upstream_refused\""));
	assert_string_equal(msg, "rdp connection upstream_refused 10.0.0.1:50000 -> 10.0.0.2:3389 "
	                         "closed by server (refused) in tcp_connect");

	rw_buf_reset(&b);
	rw_buf_reset(&v);
	assert_int_equal(rw_siem_message(RW_SIEM_CEF, &r, &meta, &b), 0);
	msg = parse_5424(b.data, NULL, NULL);
	const char *want =
	        "CEF:0|rdpwhy|rdpwhy|" RDPWHY_VERSION
	        "|upstream_refused|RDP connection: upstream_refused|5|proto=TCP externalId=" ID
	        " dvchost=gw-1 src=10.0.0.1 spt=50000 dst=10.0.0.2 dpt=3389 ";
	assert_memory_equal(msg, want, strlen(want));
	parse_cef(msg, "cs1", &v);
	assert_string_equal(rw_buf_str(&v), "bob");
	assert_non_null(strstr(msg, " cs1Label=rdpCookie cs1=bob"));
	assert_non_null(strstr(msg, " msg=SYN answered by RST"));
	rw_buf_free(&b);
	rw_buf_free(&v);
}

static void test_hostile_cookie(void **state)
{
	(void)state;
	/* 10 KB of everything a cookie should not contain. */
	static const char piece[] = "a\nb\r\"q\"\\s]x|y=z\x01\x1f\x7f\xff\xc3(\xe2\x82\xac ";
	size_t n = 10 * 1024;
	char *cookie = malloc(n + 1);
	assert_non_null(cookie);
	for (size_t i = 0; i < n; i++)
		cookie[i] = piece[i % (sizeof(piece) - 1)];
	cookie[n] = 0;
	struct rw_record r;
	fill(&r, cookie, n);

	struct rw_buf b, v, want;
	rw_buf_init(&b, 0);
	rw_buf_init(&v, 0);
	rw_buf_init(&want, 0);

	/* JSON body. */
	assert_int_equal(rw_siem_message(RW_SIEM_JSON, &r, &meta, &b), 0);
	assert_one_line(&b);
	const char *msg = parse_5424(b.data, NULL, NULL);
	assert_true(json_ok(msg));
	assert_non_null(strstr(msg, "\"rdp\":{\"cookie\":\"a\\nb\\r\\\"q\\\"\\\\s]x|y=z\\u0001"));
	/* Not plain: the raw bytes too, so nothing is lost. */
	assert_non_null(
	        strstr(msg, "\"cookie_hex\":\"610a620d2271225c735d787c793d7a011f7fffc328e282ac20"));

	/* Structured data. */
	rw_buf_reset(&b);
	assert_int_equal(rw_siem_message(RW_SIEM_RFC5424, &r, &meta, &b), 0);
	assert_one_line(&b);
	parse_5424(b.data, "cookie", &v);
	/* Except for the euro sign, which is valid UTF-8 and passes through. */
	for (size_t i = 0; i < n;) {
		if (i + 3 <= n && !memcmp(cookie + i, "\xe2\x82\xac", 3)) {
			rw_buf_append(&want, cookie + i, 3);
			i += 3;
			continue;
		}
		expect_text(cookie + i, 1, &want, false);
		i++;
	}
	assert_int_equal(v.len, want.len);
	assert_memory_equal(v.data, want.data, want.len);

	/* CEF. */
	rw_buf_reset(&b);
	rw_buf_reset(&v);
	rw_buf_reset(&want);
	assert_int_equal(rw_siem_message(RW_SIEM_CEF, &r, &meta, &b), 0);
	assert_one_line(&b);
	msg = parse_5424(b.data, NULL, NULL);
	parse_cef(msg, "cs1", &v);
	for (size_t i = 0; i < n;) {
		if (i + 3 <= n && !memcmp(cookie + i, "\xe2\x82\xac", 3)) {
			rw_buf_append(&want, cookie + i, 3);
			i += 3;
			continue;
		}
		expect_text(cookie + i, 1, &want, true);
		i++;
	}
	assert_int_equal(v.len, want.len);
	assert_memory_equal(v.data, want.data, want.len);

	/* Framed: the length counts exactly the message. */
	struct rw_buf f;
	rw_buf_init(&f, 0);
	assert_int_equal(rw_syslog_frame(b.data, b.len, &f), 0);
	char *sp;
	unsigned long len = strtoul(f.data, &sp, 10);
	assert_int_equal(*sp, ' ');
	assert_int_equal(len, b.len);
	assert_int_equal(f.len, (size_t)(sp + 1 - f.data) + b.len);

	rw_buf_free(&f);
	rw_buf_free(&b);
	rw_buf_free(&v);
	rw_buf_free(&want);
	free(cookie);
}

static void test_all_or_nothing(void **state)
{
	(void)state;
	struct rw_record r;
	char cookie[] = "alice";
	fill(&r, cookie, 5);
	for (int fmt = RW_SIEM_JSON; fmt <= RW_SIEM_CEF; fmt++) {
		struct rw_buf full;
		rw_buf_init(&full, 0);
		assert_int_equal(rw_siem_message((enum rw_siem_format)fmt, &r, &meta, &full), 0);
		for (size_t limit = 3; limit < full.len + 3; limit += 7) {
			struct rw_buf b;
			rw_buf_init(&b, limit);
			rw_buf_puts(&b, "ab");
			int rc = rw_siem_message((enum rw_siem_format)fmt, &r, &meta, &b);
			if (rc < 0) {
				assert_int_equal(b.len, 2);
			} else {
				assert_int_equal(b.len, full.len + 2);
				assert_memory_equal(b.data + 2, full.data, full.len);
			}
			rw_buf_free(&b);
		}
		rw_buf_free(&full);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_header_and_json), cmocka_unit_test(test_header_fields),
	        cmocka_unit_test(test_escapers),        cmocka_unit_test(test_structured_and_cef),
	        cmocka_unit_test(test_hostile_cookie),  cmocka_unit_test(test_all_or_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
