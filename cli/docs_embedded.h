/* Markdown pages compiled into the binary (tools/embed_docs.c writes the
 * tables at build time from docs/), and the pure helpers that cut them into
 * sections for `rdpwhy explain`. */
#ifndef RW_DOCS_EMBEDDED_H
#define RW_DOCS_EMBEDDED_H

#include <stdbool.h>
#include <stddef.h>

struct rw_doc {
	const char *name;         /* "causes" for docs/causes.md */
	const char *const *lines; /* without their newlines */
	size_t n_lines;
};

extern const struct rw_doc rw_docs[];
extern const size_t rw_docs_count;

/* The embedded page called NAME, or NULL. */
const struct rw_doc *rw_doc_find(const char *name);

/* The section whose `### ` heading names KEY in backticks (a heading may name
 * several: "### `reset_by_server` / `reset_by_client`"): lines [*begin, *end),
 * the heading first, up to the next heading of level 1 to 3. Deeper headings
 * (#### Fix, ...) stay inside the section. Fenced code is not searched for
 * headings. Returns false when no heading names KEY. */
bool rw_doc_section(const struct rw_doc *d, const char *key, size_t *begin, size_t *end);

/* The I-th name (from 0) in backticks on a `### ` heading LINE, copied into
 * buf; false when LINE is no such heading or has fewer names. */
bool rw_doc_heading_name(const char *line, size_t i, char *buf, size_t cap);

/* The first clause of the section's first bullet (up to ". ", "; ", ": " or
 * an em dash), without its bold label ("**Wire:**") or markdown backticks,
 * into buf; "" when there is none. */
void rw_doc_summary(const struct rw_doc *d, size_t begin, size_t end, char *buf, size_t cap);

/* Inside the section [begin, end): the subsection whose heading is
 * "#### TITLE" (exactly), lines [*sub_begin, *sub_end), the heading first, up
 * to the next heading of level 1 to 4 or the section's end, without the blank
 * lines before it. Fenced code is not searched. False when there is none. */
bool rw_doc_subsection(const struct rw_doc *d, size_t begin, size_t end, const char *title,
                       size_t *sub_begin, size_t *sub_end);

#endif
