/* The HTML report: the escaper against hostile wire strings, the page's
 * structure (no script, no external reference, one row per record, details
 * for failures only), its limits, and all-or-nothing output. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "html.h"
#include "record.h"
#include "record_fixtures.h"
#include "summary.h"

static void escaped(const char *in, size_t n, const char *want)
{
	struct rw_buf b = RW_BUF_INIT;
	assert_int_equal(rw_html_escape(&b, in, n), 0);
	assert_string_equal(rw_buf_str(&b), want);
	rw_buf_free(&b);
}
#define ESC(lit, want) escaped(lit, sizeof(lit) - 1, want)

static void test_escape(void **state)
{
	(void)state;
	ESC("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;");
	ESC("a\"b'c&d", "a&quot;b&#39;c&amp;d");
	ESC("\" onmouseover=\"x", "&quot; onmouseover=&quot;x");
	/* Invalid UTF-8 (a lone 0xff, an overlong NUL, a truncated sequence):
	 * each byte shown, none passed through. */
	ESC("\xff\xc0\x80z\xe2\x82", "\\xff\\xc0\\x80z\\xe2\\x82");
	/* Control characters, NUL, DEL, a C1 control. */
	ESC("a\r\nb\x1b[2J\x00\x7f\xc2\x85", "a\\x0d\\x0ab\\x1b[2J\\x00\\x7f\\xc2\\x85");
	/* Text reordering and hiding: RLO, zero-width space, line separator. */
	ESC("\xe2\x80\xae"
	    "abc\xe2\x80\x8b\xe2\x80\xa8",
	    "\\xe2\\x80\\xaeabc\\xe2\\x80\\x8b\\xe2\\x80\\xa8");
	/* A backslash is doubled so that \xhh is never ambiguous. */
	ESC("a\\x41", "a\\\\x41");
	/* Valid UTF-8 stays readable. */
	ESC("caf\xc3\xa9 \xe6\x97\xa5\xf0\x9f\x98\x80", "caf\xc3\xa9 \xe6\x97\xa5\xf0\x9f\x98\x80");
	ESC("", "");
}

static void test_escape_all_or_nothing(void **state)
{
	(void)state;
	static const char in[] = "<a href=\"x\">\xff</a>";
	for (size_t limit = 0; limit < 64; limit++) {
		struct rw_buf b;
		rw_buf_init(&b, 2 + limit);
		assert_int_equal(rw_buf_puts(&b, "p:"), 0);
		int rc = rw_html_escape(&b, in, sizeof(in) - 1);
		if (rc < 0)
			assert_string_equal(rw_buf_str(&b), "p:");
		else
			assert_string_equal(rw_buf_str(&b),
			                    "p:&lt;a href=&quot;x&quot;&gt;\\xff&lt;/a&gt;");
		rw_buf_free(&b);
	}
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

static void page(struct rw_html *h, struct rw_summary *s, struct rw_buf *b)
{
	assert_int_equal(rw_html_page(h, s, b), 0);
	const char *p = rw_buf_str(b);
	assert_non_null(strstr(p, "<!DOCTYPE html>"));
	assert_non_null(strstr(p, "Content-Security-Policy"));
	assert_null(strstr(p, "<script"));
	assert_null(strstr(p, "http://"));
	assert_null(strstr(p, "https://"));
	assert_null(strstr(p, "url("));
	assert_null(strstr(p, "@import"));
	assert_non_null(strstr(p, "</html>\n"));
}

/* A hostile record (the fixtures' cookie, SNI, names and evidence) and its
 * cookie replaced by a script tag: nothing of it becomes markup. */
static void test_page_hostile(void **state)
{
	(void)state;
	struct rw_html *h = rw_html_new(RW_HTML_MAX_ROWS, RW_HTML_MAX_DETAILS);
	struct rw_summary *s = rw_summary_new();
	assert_non_null(h);
	assert_non_null(s);
	struct rw_record r;
	make_hostile(&r);
	assert_int_equal(rw_html_add(h, &r), 0);
	assert_int_equal(rw_summary_add(s, &r), 0);
	static const char script[] = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>";
	memcpy(cookie_storage, script, sizeof(script));
	r.token_len = sizeof(script) - 1;
	snprintf(r.verdict.evidence[1], RW_EVIDENCE_LEN, "%s", script);
	assert_int_equal(rw_html_add(h, &r), 0);
	assert_int_equal(rw_summary_add(s, &r), 0);
	struct rw_buf b = RW_BUF_INIT;
	page(h, s, &b);
	const char *p = rw_buf_str(&b);
	assert_null(strstr(p, "<img"));
	assert_non_null(strstr(p, "cookie <code>&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;"
	                          "&gt;&lt;img src=x onerror=alert(2)&gt;</code>"));
	/* The summary's cookie table escapes it as well. */
	assert_non_null(strstr(p, "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&gt;&lt;img"));
	assert_non_null(strstr(p, "cookie <code>x\\x0d\\x0a&quot;},{&quot;rdpwhy.cause"));
	for (size_t i = 0; i < b.len; i++)
		if (((unsigned char)p[i] < 0x20 && p[i] != '\n') || p[i] == 0x7f)
			fail_msg("raw control byte 0x%02x in the page", (unsigned char)p[i]);
	assert_int_equal(count(p, "<tr class=\"fail\">"), 2);
	assert_int_equal(count(p, "<section id=\"c"), 2);
	assert_int_equal(count(p, "<svg class=\"ladder\""), 2);
	assert_non_null(strstr(p, "<a href=\"#c2\">certificate_rejected_by_client</a>"));
	rw_buf_free(&b);
	rw_summary_free(s);
	rw_html_free(h);
}

/* A normal close gets a row and no detail; past the limits the page says
 * how many were left out. */
static void test_page_limits(void **state)
{
	(void)state;
	struct rw_html *h = rw_html_new(3, 1);
	assert_non_null(h);
	struct rw_record ok, bad;
	fill_full(&ok);
	ok.verdict.cause = RW_CAUSE_NORMAL_CLOSE;
	fill_full(&bad);
	assert_int_equal(rw_html_add(h, &ok), 0);
	assert_int_equal(rw_html_add(h, &bad), 0);
	assert_int_equal(rw_html_add(h, &bad), 0);
	assert_int_equal(rw_html_add(h, &bad), 0);
	struct rw_buf b = RW_BUF_INIT;
	page(h, NULL, &b);
	const char *p = rw_buf_str(&b);
	assert_non_null(strstr(p, "<p>4 connections, 3 failed.</p>"));
	assert_int_equal(count(p, "<tr class=\"fail\">") + count(p, "<tr><td>"), 3);
	assert_int_equal(count(p, "<section id="), 1);
	assert_non_null(strstr(p, "1 connection not listed: the page lists the first 3"));
	assert_non_null(strstr(p, "2 failed connections shown in the table without detail: "
	                          "the page details the first 1."));
	assert_null(strstr(p, "<h2>Summary</h2>"));
	rw_buf_free(&b);
	rw_html_free(h);
}

static void test_page_empty(void **state)
{
	(void)state;
	struct rw_html *h = rw_html_new(10, 10);
	struct rw_buf b = RW_BUF_INIT;
	page(h, NULL, &b);
	assert_non_null(strstr(rw_buf_str(&b), "<p>0 connections, 0 failed.</p>"));
	assert_non_null(strstr(rw_buf_str(&b), "<p>None.</p>"));
	rw_buf_free(&b);
	rw_html_free(h);
}

static void test_page_all_or_nothing(void **state)
{
	(void)state;
	struct rw_html *h = rw_html_new(10, 10);
	struct rw_record r;
	fill_full(&r);
	assert_int_equal(rw_html_add(h, &r), 0);
	struct rw_buf whole = RW_BUF_INIT;
	assert_int_equal(rw_html_page(h, NULL, &whole), 0);
	for (size_t extra = 0; extra < whole.len; extra += 97) {
		struct rw_buf b;
		rw_buf_init(&b, 1 + extra);
		assert_int_equal(rw_buf_puts(&b, "p"), 0);
		assert_int_equal(rw_html_page(h, NULL, &b), -1);
		assert_string_equal(rw_buf_str(&b), "p");
		rw_buf_free(&b);
	}
	rw_buf_free(&whole);
	rw_html_free(h);
}

static int svg_all(const struct rw_record *r, struct rw_buf *out)
{
	return rw_html_ladder_svg(r, out);
}

static void test_svg(void **state)
{
	(void)state;
	struct rw_record r;
	fill_full(&r);
	struct rw_buf b = RW_BUF_INIT;
	assert_int_equal(rw_html_ladder_svg(&r, &b), 0);
	const char *p = rw_buf_str(&b);
	/* Eight events: two axes and one line and arrowhead per arrow. */
	assert_int_equal(count(p, "<line "), 2 + 8);
	assert_int_equal(count(p, "<polygon "), 8);
	assert_int_equal(count(p, "class=\"c\"/>"), 5 * 2);
	assert_non_null(strstr(p, ">TLS alert unknown_ca</text>"));
	assert_non_null(strstr(p, ">+1234 ms</text>"));
	rw_buf_free(&b);
	/* Inferred: dashed. */
	fill_minimal(&r);
	r.inferred_fin[RW_S2C] = true;
	rw_buf_init(&b, 0);
	assert_int_equal(rw_html_ladder_svg(&r, &b), 0);
	assert_non_null(strstr(rw_buf_str(&b), "stroke-dasharray"));
	assert_non_null(strstr(rw_buf_str(&b), ">FIN (inferred)</text>"));
	rw_buf_free(&b);
	check_all_or_nothing(svg_all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_escape),       cmocka_unit_test(test_escape_all_or_nothing),
	        cmocka_unit_test(test_page_hostile), cmocka_unit_test(test_page_limits),
	        cmocka_unit_test(test_page_empty),   cmocka_unit_test(test_page_all_or_nothing),
	        cmocka_unit_test(test_svg),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
