/* A small streaming JSON writer over an rw_buf.
 *
 * Strings are (pointer, length) byte runs that may come straight off the wire:
 * they may hold NULs, control characters or bytes that are not UTF-8. The
 * output is always valid JSON in valid UTF-8, and the original bytes can be
 * recovered. After ordinary JSON decoding, a string value reads:
 *
 *   - valid UTF-8 (strictly: no overlong forms, no surrogates, nothing above
 *     U+10FFFF) as itself, a backslash included: a mstsc cookie
 *     "CORP\alice" decodes to exactly that, so a SIEM search for it matches;
 *   - '"' and control characters as the usual JSON escapes: \" \n \r \t \b \f,
 *     other C0 controls, DEL and the C1 controls U+0080..U+009F as \u00xx
 *     (C1 too, so that a log viewer's terminal never receives them raw);
 *   - every byte that is not part of a valid UTF-8 sequence as the four
 *     characters \xhh (lower-case hex; JSON text "\\xhh").
 *
 * Rendering an invalid byte as \u00hh instead would turn it into a valid
 * Latin-1 character indistinguishable from a genuine one. "\xhh" in the
 * decoded text can also be what the input said literally: where the exact
 * bytes matter (wire strings: cookie, routing token), rw_json_kv_wire adds a
 * KEY_hex member with the raw bytes whenever the string was not plain.
 *
 * Errors are sticky: after an allocation failure or a misuse (a value where a
 * key is due, unbalanced end, nesting deeper than RW_JSON_MAX_DEPTH) every
 * call returns -1 and writes nothing, so a caller can check once at the end
 * with rw_json_finish.
 */
#ifndef RW_JSON_H
#define RW_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define RW_JSON_MAX_DEPTH 32

struct rw_json {
	struct rw_buf *out;
	unsigned depth;     /* open containers */
	uint32_t is_array;  /* bit d: container at depth d is an array */
	uint32_t has_items; /* bit d: depth d already holds a member (bit 0: top level) */
	bool want_value;    /* a key was written; its value is next */
	bool error;
};

void rw_json_init(struct rw_json *j, struct rw_buf *out);
/* 0 when exactly one complete value was written and nothing failed. */
int rw_json_finish(const struct rw_json *j);

int rw_json_begin_object(struct rw_json *j);
int rw_json_end_object(struct rw_json *j);
int rw_json_begin_array(struct rw_json *j);
int rw_json_end_array(struct rw_json *j);
int rw_json_key(struct rw_json *j, const char *key);
/* A key of n bytes (need not be NUL-terminated). */
int rw_json_key_n(struct rw_json *j, const char *key, size_t n);

int rw_json_string(struct rw_json *j, const void *p, size_t n);
int rw_json_cstr(struct rw_json *j, const char *s);
int rw_json_uint(struct rw_json *j, uint64_t v);
/* The decimal digits of v (at most 20) written right-aligned to end, with
 * no NUL: the first. The formatters' one digit writer (no printf). */
char *rw_u64_digits(uint64_t v, char *end);
int rw_json_int(struct rw_json *j, int64_t v);
/* value / 10^scale written exactly with `scale` decimals (scale <= 18):
 * (1234, 3) gives 1.234. Avoids binary floating point in the output. */
int rw_json_decimal(struct rw_json *j, int64_t value, unsigned scale);
int rw_json_bool(struct rw_json *j, bool v);
/* p[0..n) as a string of lower-case hex digits (no allocation). */
int rw_json_hex(struct rw_json *j, const void *p, size_t n);
int rw_json_null(struct rw_json *j);
/* v[0..n): one whole JSON value this writer made before (a cached array,
 * say), copied as the next value; it is not checked again. */
int rw_json_raw(struct rw_json *j, const char *v, size_t n);

/* key + value in one call. */
int rw_json_kv_string(struct rw_json *j, const char *key, const void *p, size_t n);
int rw_json_kv_cstr(struct rw_json *j, const char *key, const char *s);
int rw_json_kv_uint(struct rw_json *j, const char *key, uint64_t v);
int rw_json_kv_int(struct rw_json *j, const char *key, int64_t v);
int rw_json_kv_bool(struct rw_json *j, const char *key, bool v);

/* Dotted key names ("tls.client.ja3") written flat, as they are, or nested
 * ({"tls":{"client":{"ja3":...}}}). rw_json_path_key writes the key of the
 * next member (its value follows with the calls above): nested, it closes
 * the objects the previous key opened that this one does not share and
 * opens the ones it adds. The caller gives each prefix's keys in one run
 * (a prefix closed is never reopened: that would repeat a key) and never a
 * key that is also another's prefix; key names are written unescaped and
 * must stay valid until the next call. rw_json_path_end closes what is
 * open (before the enclosing object's end). */
struct rw_json_path {
	struct rw_json *j;
	bool nested;
	const char *prev; /* the previous key, NULL before the first */
	unsigned depth;   /* the objects prev opened (nested) */
};
void rw_json_path_init(struct rw_json_path *p, struct rw_json *j, bool nested);
int rw_json_path_key(struct rw_json_path *p, const char *key);
int rw_json_path_end(struct rw_json_path *p);

/* A dotted key split once, for a writer that writes the same keys record
 * after record (record_json.c's table): rw_json_path_key_split then needs
 * no string scans. At most RW_JSON_PATH_SEGS segments and 255 bytes
 * (rw_json_pkey_split: false beyond; rw_json_path_key fails the same). */
#define RW_JSON_PATH_SEGS 16
#define RW_JSON_PATH_OPEN (UINT8_MAX + 4 * RW_JSON_PATH_SEGS)
struct rw_json_pkey {
	const char *name;
	uint8_t len;                    /* strlen(name) */
	uint8_t nseg;                   /* its dots, plus one */
	uint8_t end[RW_JSON_PATH_SEGS]; /* where each segment ends: its dot, or len */
	/* Nested, what the key writes from each segment on: "a":{"b":{"c": */
	char open[RW_JSON_PATH_OPEN];
	uint16_t open_len;
	uint16_t start[RW_JSON_PATH_SEGS]; /* where segment s begins in open */
};
bool rw_json_pkey_split(struct rw_json_pkey *k, const char *name);
/* common: the leading segments k shares with the previous key, which the
 * caller knows (at most one less than either's nseg). */
int rw_json_path_key_split(struct rw_json_path *p, const struct rw_json_pkey *k, unsigned common);

/* A wire string: KEY as a string and, when it is not plain (rw_json_plain),
 * KEY_hex with its raw bytes in lower-case hex, so nothing is lost. */
int rw_json_kv_wire(struct rw_json *j, const char *key, const void *p, size_t n);
/* True when p[0..n) is valid UTF-8 with no control character (C0, DEL, C1):
 * its JSON string decodes to exactly these bytes and nothing needed escaping
 * but '"' or '\\'. */
bool rw_json_plain(const void *p, size_t n);

/* Appends the escaped form of p[0..n) (no surrounding quotes) as described
 * above. 0 or -1 (buffer unchanged). */
int rw_json_escape(struct rw_buf *out, const void *p, size_t n);

/* Length (1..4) of the valid UTF-8 sequence at p[0..n), or 0 when p[0] does
 * not start one (strict RFC 3629 rules). *cp receives the code point, and is
 * left alone when the result is 0. */
size_t rw_utf8_seq(const uint8_t *p, size_t n, uint32_t *cp);

#endif
