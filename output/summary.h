/* What a run of records adds up to: counts per cause, per server, per client
 * and per cookie, the worst offenders first, and the time span — so that a
 * day of captures ends with an answer, not hundreds of records. */
#ifndef RW_SUMMARY_H
#define RW_SUMMARY_H

#include <stdbool.h>
#include <stdio.h>

#include "../analyzers/record.h"
#include "buf.h"

struct rw_summary;

struct rw_summary *rw_summary_new(void);
void rw_summary_free(struct rw_summary *s);
/* Counts one record (a scan summary record counts as one, apart). 0, or -1
 * when out of memory (the record is then counted in the totals only). */
int rw_summary_add(struct rw_summary *s, const struct rw_record *rec);
/* A source the summary names (a capture file, an interface); not copied. */
void rw_summary_source(struct rw_summary *s, const char *name);
/* Whether a cause is a failure to count against its server, client and
 * cookie: everything but a normal close and a connection still open. */
bool rw_summary_is_failure(enum rw_cause c);
/* The summary as a text report (top N rows per table) or as one JSON line
 * (every row): {"event":{"kind":"metric"},"rdpwhy":{"summary":{...}}}, or
 * with flat the dotted keys of json_style = flat. 0, or -1 when out of memory. */
int rw_summary_text(const struct rw_summary *s, struct rw_buf *out, size_t top);
int rw_summary_json(const struct rw_summary *s, struct rw_buf *out, bool flat);

#endif
