/* The HTML report of a run: one self-contained page (inline style, no
 * script, no external resource) with the summary, a table of connections
 * and, for each failed one, its ladder as inline SVG beside the evidence and
 * the fix. Records are rendered as they come, so memory holds markup, not
 * records, and is bounded: past max_rows connections only the summary counts
 * them, past max_details failures they get a table row but no detail; the
 * page says so. */
#ifndef RW_HTML_H
#define RW_HTML_H

#include <stddef.h>

#include "buf.h"
#include "record.h"
#include "summary.h"

#define RW_HTML_MAX_ROWS    10000
#define RW_HTML_MAX_DETAILS 1000

struct rw_html;

struct rw_html *rw_html_new(size_t max_rows, size_t max_details);
void rw_html_free(struct rw_html *h);
/* Renders one record's table row and, for a failure, its detail. 0, or -1
 * when out of memory (the record is then counted as left out). */
int rw_html_add(struct rw_html *h, const struct rw_record *rec);
/* The whole page; sum may be NULL. 0, or -1 when out of memory. */
int rw_html_page(const struct rw_html *h, const struct rw_summary *sum, struct rw_buf *out);

/* Text for HTML element content or a quoted attribute value: & < > " '
 * as character references; valid UTF-8 as it is, except control characters,
 * C1 controls and the code points that reorder or hide text (bidi controls,
 * zero-width, line separators), which, like every byte of invalid UTF-8,
 * are shown as \xhh (and a backslash as \\) so nothing is lost or forged.
 * 0, or -1 on allocation failure with out as it was. */
int rw_html_escape(struct rw_buf *out, const void *s, size_t n);

/* The SVG ladder of one record (see html.c); nothing when it has no events. */
int rw_html_ladder_svg(const struct rw_record *rec, struct rw_buf *out);

#endif
