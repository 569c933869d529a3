/* Records for the formatter tests (test_record_json_*.c, test_record_text.c):
 * a minimal one, a fully populated one, one full of hostile wire strings,
 * and the checks both formats share. */
#ifndef RW_TEST_RECORD_FIXTURES_H
#define RW_TEST_RECORD_FIXTURES_H

#include "buf.h"
#include "record.h"

#define T0 (1795539903ull * 1000000ull + 123456ull) /* 2026-11-24T17:05:03.123456Z */

/* The cookie a record's token points at. */
extern char cookie_storage[64];

void fill_minimal(struct rw_record *r);
void fill_full(struct rw_record *r);
void assert_contains(const struct rw_buf *b, const char *needle);
/* fill_full with hostile bytes in every string taken from the wire. */
void make_hostile(struct rw_record *r);

typedef int (*format_fn)(const struct rw_record *r, struct rw_buf *out);
/* Every output limit short of the whole record fails and leaves the buffer
 * as it was. */
void check_all_or_nothing(format_fn fn);

#endif
