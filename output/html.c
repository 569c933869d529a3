/* The HTML report page (see html.h). Each record is turned into markup when
 * it arrives; the page is assembled at the end: head, summary, table,
 * details. A Content-Security-Policy forbids every script and every fetch,
 * a second wall behind the escaping. */
#include "html.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "record_format.h"
#include "rw_types.h"

struct rw_html {
	size_t max_rows, max_details;
	uint64_t seen, failures, left_out; /* left_out: rows not rendered */
	size_t rows, details;
	struct rw_buf table, detail;
};

struct rw_html *rw_html_new(size_t max_rows, size_t max_details)
{
	struct rw_html *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->max_rows = max_rows;
	h->max_details = max_details;
	rw_buf_init(&h->table, 0);
	rw_buf_init(&h->detail, 0);
	return h;
}

void rw_html_free(struct rw_html *h)
{
	if (!h)
		return;
	rw_buf_free(&h->table);
	rw_buf_free(&h->detail);
	free(h);
}

/* Output state: the first failure sticks and stops all later writes. */
struct out {
	struct rw_buf *b;
	int err;
};

static void puts_(struct out *o, const char *s)
{
	if (!o->err)
		o->err = rw_buf_puts(o->b, s);
}

static void RW_PRINTF(2, 3) printf_(struct out *o, const char *fmt, ...)
{
	if (o->err)
		return;
	va_list ap;
	va_start(ap, fmt);
	o->err = rw_buf_vprintf(o->b, fmt, ap);
	va_end(ap);
}

static void esc(struct out *o, const char *s, size_t n)
{
	if (!o->err)
		o->err = rw_html_escape(o->b, s, n);
}

static void endpoint(struct out *o, const struct rw_endpoint *ep)
{
	char t[RW_IP_PORT_STR_MAX];
	puts_(o, rw_format_ip_port(ep, t) ? t : "?");
}

static void when(struct out *o, uint64_t us)
{
	struct tm tm;
	if (rw_format_utc((int64_t)(us / 1000000), &tm))
		printf_(o, "%04d-%02d-%02d %02d:%02d:%02d.%03u", tm.tm_year + 1900, tm.tm_mon + 1,
		        tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		        (unsigned)(us % 1000000 / 1000));
	else
		puts_(o, "?");
}

static void closed(struct out *o, const struct rw_verdict *v)
{
	if (v->closed_by == RW_SIDE_NONE)
		puts_(o, "not closed");
	else
		printf_(o, "%s / %s", rw_side_name(v->closed_by),
		        rw_close_kind_name(v->close_kind));
}

static void row(struct out *o, const struct rw_record *rec, bool fail, uint64_t anchor)
{
	const struct rw_verdict *v = &rec->verdict;
	puts_(o, fail ? "<tr class=\"fail\"><td>" : "<tr><td>");
	when(o, rec->ts_open_us);
	puts_(o, "</td><td>");
	endpoint(o, &rec->client);
	puts_(o, "</td><td>");
	endpoint(o, &rec->server);
	puts_(o, "</td><td>");
	if (anchor)
		printf_(o, "<a href=\"#c%" PRIu64 "\">%s</a>", anchor, rw_cause_name(v->cause));
	else
		puts_(o, rw_cause_name(v->cause));
	puts_(o, "</td><td>");
	closed(o, v);
	printf_(o, "</td><td>%s</td><td>%s</td></tr>\n", rw_phase_name(v->phase),
	        rw_confidence_name(v->confidence));
}

static void detail(struct out *o, const struct rw_record *rec, uint64_t anchor)
{
	const struct rw_verdict *v = &rec->verdict;
	printf_(o, "<section id=\"c%" PRIu64 "\"><h3>", anchor);
	endpoint(o, &rec->client);
	puts_(o, " &rarr; ");
	endpoint(o, &rec->server);
	printf_(o, " <span class=\"cause\">%s</span></h3>\n<p class=\"meta\">",
	        rw_cause_name(v->cause));
	when(o, rec->ts_open_us);
	puts_(o, " UTC, ");
	closed(o, v);
	printf_(o, " in %s, confidence %s", rw_phase_name(v->phase),
	        rw_confidence_name(v->confidence));
	if (rec->token && rec->token_len && rec->token_kind == RW_TOKEN_COOKIE) {
		puts_(o, ", cookie <code>");
		esc(o, rec->token, rec->token_len);
		puts_(o, "</code>");
	}
	if (rec->client_hello_seen && rec->ch.has_sni) {
		puts_(o, ", sni <code>");
		esc(o, rec->ch.sni,
		    rec->ch.sni_len < sizeof(rec->ch.sni) ? rec->ch.sni_len : sizeof(rec->ch.sni));
		puts_(o, "</code>");
	}
	if (rec->file_first) {
		printf_(o, ", frames %" PRIu64 "-%" PRIu64 " of <code>", rec->frame_first,
		        rec->frame_last);
		esc(o, rec->file_first, strlen(rec->file_first));
		puts_(o, "</code>");
	}
	puts_(o, "</p>\n<div class=\"d\"><div>");
	if (!o->err)
		o->err = rw_html_ladder_svg(rec, o->b);
	puts_(o, "</div><div class=\"ev\">");
	if (v->remediation && v->remediation[0]) {
		puts_(o, "<p class=\"fix\"><b>Fix:</b> ");
		esc(o, v->remediation, strlen(v->remediation));
		puts_(o, "</p>");
	}
	if (v->n_evidence) {
		puts_(o, "<p><b>Evidence</b></p><ul>");
		for (size_t i = 0; i < v->n_evidence && i < RW_MAX_EVIDENCE; i++) {
			puts_(o, "<li>");
			esc(o, v->evidence[i], strnlen(v->evidence[i], RW_EVIDENCE_LEN));
			puts_(o, "</li>");
		}
		puts_(o, "</ul>");
	}
	if (v->n_alternatives) {
		puts_(o, "<p><b>Could also be:</b> ");
		for (size_t i = 0; i < v->n_alternatives && i < RW_MAX_ALTERNATIVES; i++)
			printf_(o, "%s%s", i ? ", " : "", rw_cause_name(v->alternatives[i]));
		puts_(o, "</p>");
	}
	if (v->tell_apart) {
		puts_(o, "<p><b>To tell:</b> ");
		esc(o, v->tell_apart, strlen(v->tell_apart));
		puts_(o, "</p>");
	}
	puts_(o, "</div></div></section>\n");
}

int rw_html_add(struct rw_html *h, const struct rw_record *rec)
{
	h->seen++;
	bool fail = rw_summary_is_failure(rec->verdict.cause);
	if (fail)
		h->failures++;
	if (h->rows >= h->max_rows) {
		h->left_out++;
		return 0;
	}
	bool detailed = fail && h->details < h->max_details;
	uint64_t anchor = detailed ? h->details + 1 : 0;
	struct out t = {&h->table, 0}, d = {&h->detail, 0};
	size_t tmark = h->table.len, dmark = h->detail.len;
	row(&t, rec, fail, anchor);
	if (detailed && !t.err)
		detail(&d, rec, anchor);
	if (t.err || d.err) {
		rw_buf_truncate(&h->table, tmark);
		rw_buf_truncate(&h->detail, dmark);
		h->left_out++;
		return -1;
	}
	h->rows++;
	if (detailed)
		h->details++;
	return 0;
}

static const char style[] =
        "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}"
        "h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}"
        "h3{font-size:1em;margin:1.4em 0 .2em}"
        "pre{background:#f6f6f6;padding:.8em;overflow-x:auto}"
        "table{border-collapse:collapse}th,td{padding:2px 8px;border-bottom:1px solid #ddd;"
        "text-align:left;white-space:nowrap}"
        "tr.fail td{background:#fff1f0}.cause{color:#b00}.meta{color:#555;margin:0}"
        ".d{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start}.ev{max-width:40em}"
        ".fix{background:#eef7ee;padding:.4em}.note-limit{color:#a60}"
        "svg.ladder{font:12px monospace}svg .axis{stroke:#888;stroke-width:2}"
        "svg line.c{stroke:#1565c0;stroke-width:1.5}svg polygon.c{fill:#1565c0}"
        "svg line.s{stroke:#c62828;stroke-width:1.5}svg polygon.s{fill:#c62828}"
        "svg .side{font-weight:bold}svg .t{fill:#555}svg .note{fill:#6a1b9a;font-style:italic}";

int rw_html_page(const struct rw_html *h, const struct rw_summary *sum, struct rw_buf *out)
{
	struct out o = {out, 0};
	size_t mark = out->len;
	puts_(&o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	          "style-src 'unsafe-inline'\">"
	          "<title>rdpwhy report</title><style>");
	puts_(&o, style);
	puts_(&o, "</style></head><body>\n<h1>rdpwhy report</h1>\n");
	printf_(&o, "<p>%" PRIu64 " connection%s, %" PRIu64 " failed.</p>\n", h->seen,
	        h->seen == 1 ? "" : "s", h->failures);
	if (sum) {
		struct rw_buf s;
		rw_buf_init(&s, 0);
		if (rw_summary_text(sum, &s, 10) < 0)
			o.err = -1;
		puts_(&o, "<h2>Summary</h2>\n<pre>");
		/* Line by line: the escaper shows a newline as \x0a, as a cookie's should be. */
		const char *p = rw_buf_str(&s), *end = p + s.len;
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
			esc(&o, p, n);
			if (nl)
				puts_(&o, "\n");
			p += n + (nl != NULL);
		}
		puts_(&o, "</pre>\n");
		rw_buf_free(&s);
	}
	puts_(&o, "<h2>Connections</h2>\n");
	if (h->left_out)
		printf_(&o,
		        "<p class=\"note-limit\">%" PRIu64 " connection%s not listed: the page "
		        "lists the first %zu (the summary counts them all).</p>\n",
		        h->left_out, h->left_out == 1 ? "" : "s", h->max_rows);
	puts_(&o, "<table id=\"connections\"><thead><tr><th>time (UTC)</th><th>client</th>"
	          "<th>server</th><th>cause</th><th>closed by / how</th><th>phase</th>"
	          "<th>confidence</th></tr></thead><tbody>\n");
	if (!o.err)
		o.err = rw_buf_append(out, h->table.data ? h->table.data : "", h->table.len);
	puts_(&o, "</tbody></table>\n<h2>Failed connections</h2>\n");
	if (h->failures > h->details)
		printf_(&o,
		        "<p class=\"note-limit\">%" PRIu64
		        " failed connection%s shown in the table "
		        "without detail: the page details the first %zu.</p>\n",
		        h->failures - h->details, h->failures - h->details == 1 ? "" : "s",
		        h->max_details);
	if (!h->details)
		puts_(&o, "<p>None.</p>\n");
	if (!o.err)
		o.err = rw_buf_append(out, h->detail.data ? h->detail.data : "", h->detail.len);
	puts_(&o, "</body></html>\n");
	if (o.err) {
		rw_buf_truncate(out, mark);
		return -1;
	}
	return 0;
}
