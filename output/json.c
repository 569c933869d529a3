#include "json.h"

#include "rw_types.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rw_json_init(struct rw_json *j, struct rw_buf *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
}

int rw_json_finish(const struct rw_json *j)
{
	if (j->error || j->depth != 0 || j->want_value || !(j->has_items & 1u))
		return -1;
	return 0;
}

static int fail(struct rw_json *j)
{
	j->error = true;
	return -1;
}

static int put(struct rw_json *j, const void *p, size_t n)
{
	if (rw_buf_add(j->out, p, n) < 0)
		return fail(j);
	return 0;
}

/* Everything that precedes a value: the comma in an array, the check that a
 * key came first in an object, the single-value rule at top level. */
static int before_value(struct rw_json *j)
{
	if (j->error)
		return -1;
	uint32_t bit = 1u << j->depth;
	if (j->depth == 0) {
		if (j->has_items & bit)
			return fail(j);
	} else if (j->is_array & bit) {
		if ((j->has_items & bit) && put(j, ",", 1) < 0)
			return -1;
	} else if (!j->want_value) {
		return fail(j);
	}
	j->has_items |= bit;
	j->want_value = false;
	return 0;
}

static int begin(struct rw_json *j, bool array)
{
	if (j->depth + 1 >= RW_JSON_MAX_DEPTH) {
		if (!j->error)
			fail(j);
		return -1;
	}
	if (before_value(j) < 0 || put(j, array ? "[" : "{", 1) < 0)
		return -1;
	j->depth++;
	uint32_t bit = 1u << j->depth;
	j->has_items &= ~bit;
	if (array)
		j->is_array |= bit;
	else
		j->is_array &= ~bit;
	return 0;
}

static int end(struct rw_json *j, bool array)
{
	if (j->error)
		return -1;
	uint32_t bit = 1u << j->depth;
	if (j->depth == 0 || j->want_value || !!(j->is_array & bit) != array)
		return fail(j);
	if (put(j, array ? "]" : "}", 1) < 0)
		return -1;
	j->depth--;
	return 0;
}

int rw_json_begin_object(struct rw_json *j)
{
	return begin(j, false);
}

int rw_json_end_object(struct rw_json *j)
{
	return end(j, false);
}

int rw_json_begin_array(struct rw_json *j)
{
	return begin(j, true);
}

int rw_json_end_array(struct rw_json *j)
{
	return end(j, true);
}

static inline size_t pass_run(const uint8_t *p, size_t i, size_t n);

static int quoted(struct rw_json *j, const void *p, size_t n)
{
	/* Most strings need no escape: one copy between the quotes. */
	if (n && n < SIZE_MAX - 2 && pass_run(p, 0, n) == n && rw_buf_room(j->out, n + 2) == 0) {
		char *o = j->out->data + j->out->len;
		o[0] = '"';
		memcpy(o + 1, p, n);
		o[n + 1] = '"';
		rw_buf_commit(j->out, n + 2);
		return 0;
	}
	size_t mark = j->out->len;
	if (put(j, "\"", 1) < 0)
		return -1;
	if (rw_json_escape(j->out, p, n) < 0 || put(j, "\"", 1) < 0) {
		rw_buf_truncate(j->out, mark);
		return fail(j);
	}
	return 0;
}

int rw_json_key(struct rw_json *j, const char *key)
{
	return rw_json_key_n(j, key, strlen(key));
}

int rw_json_key_n(struct rw_json *j, const char *key, size_t n)
{
	if (j->error)
		return -1;
	uint32_t bit = 1u << j->depth;
	if (j->depth == 0 || (j->is_array & bit) || j->want_value)
		return fail(j);
	size_t mark = j->out->len;
	if ((j->has_items & bit) && put(j, ",", 1) < 0)
		return -1;
	if (quoted(j, key, n) < 0 || put(j, ":", 1) < 0) {
		rw_buf_truncate(j->out, mark);
		return -1;
	}
	j->has_items |= bit;
	j->want_value = true;
	return 0;
}

int rw_json_string(struct rw_json *j, const void *p, size_t n)
{
	if (before_value(j) < 0)
		return -1;
	return quoted(j, p, n);
}

int rw_json_cstr(struct rw_json *j, const char *s)
{
	return rw_json_string(j, s, strlen(s));
}

int rw_json_raw(struct rw_json *j, const char *v, size_t n)
{
	if (before_value(j) < 0)
		return -1;
	return put(j, v, n);
}

static int number(struct rw_json *j, const char *s)
{
	if (before_value(j) < 0)
		return -1;
	return put(j, s, strlen(s));
}

char *rw_u64_digits(uint64_t v, char *end)
{
	char *s = end;
	do {
		*--s = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return s;
}

static int number_n(struct rw_json *j, const char *s, size_t n)
{
	if (before_value(j) < 0)
		return -1;
	return put(j, s, n);
}

int rw_json_uint(struct rw_json *j, uint64_t v)
{
	char s[24];
	char *b = rw_u64_digits(v, s + sizeof(s));
	return number_n(j, b, (size_t)(s + sizeof(s) - b));
}

int rw_json_int(struct rw_json *j, int64_t v)
{
	char s[24];
	/* The magnitude, so INT64_MIN does not overflow. */
	uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	char *b = rw_u64_digits(mag, s + sizeof(s));
	if (v < 0)
		*--b = '-';
	return number_n(j, b, (size_t)(s + sizeof(s) - b));
}

int rw_json_decimal(struct rw_json *j, int64_t value, unsigned scale)
{
	if (scale > 18) {
		if (!j->error)
			fail(j);
		return -1;
	}
	if (scale == 0)
		return rw_json_int(j, value);
	uint64_t div = 1;
	for (unsigned i = 0; i < scale; i++)
		div *= 10;
	/* Work on the magnitude so INT64_MIN does not overflow. */
	uint64_t mag = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
	char s[48];
	snprintf(s, sizeof(s), "%s%" PRIu64 ".%0*" PRIu64, value < 0 ? "-" : "", mag / div,
	         (int)scale, mag % div);
	return number(j, s);
}

int rw_json_bool(struct rw_json *j, bool v)
{
	return number(j, v ? "true" : "false");
}

int rw_json_null(struct rw_json *j)
{
	return number(j, "null");
}

int rw_json_hex(struct rw_json *j, const void *src, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	if (before_value(j) < 0)
		return -1;
	const uint8_t *p = src;
	size_t mark = j->out->len;
	char chunk[128];
	size_t k = 0;
	chunk[k++] = '"';
	for (size_t i = 0; i < n; i++) {
		chunk[k++] = hex[p[i] >> 4];
		chunk[k++] = hex[p[i] & 0xF];
		if (k >= sizeof(chunk) - 2) {
			if (rw_buf_append(j->out, chunk, k) < 0)
				goto oom;
			k = 0;
		}
	}
	chunk[k++] = '"';
	if (rw_buf_append(j->out, chunk, k) < 0)
		goto oom;
	return 0;
oom:
	rw_buf_truncate(j->out, mark);
	return fail(j);
}

/* ---- dotted keys, flat or nested ---- */

void rw_json_path_init(struct rw_json_path *p, struct rw_json *j, bool nested)
{
	p->j = j;
	p->nested = nested;
	p->prev = NULL;
	p->depth = 0;
}

/* A key known to need no escaping (json.h: path keys): the same checks and
 * bytes as rw_json_key_n, written in one piece. */
static int key_raw(struct rw_json *j, const char *key, size_t n)
{
	if (j->error)
		return -1;
	uint32_t bit = 1u << j->depth;
	if (j->depth == 0 || (j->is_array & bit) || j->want_value)
		return fail(j);
	size_t need = n + 4; /* , " " : */
	if (need < n || rw_buf_room(j->out, need) < 0)
		return fail(j);
	char *o = j->out->data + j->out->len;
	size_t k = 0;
	if (j->has_items & bit)
		o[k++] = ',';
	o[k++] = '"';
	memcpy(o + k, key, n);
	k += n;
	o[k++] = '"';
	o[k++] = ':';
	rw_buf_commit(j->out, k);
	j->has_items |= bit;
	j->want_value = true;
	return 0;
}

bool rw_json_pkey_split(struct rw_json_pkey *k, const char *name)
{
	size_t n = strlen(name);
	if (n > UINT8_MAX)
		return false;
	k->name = name;
	k->len = (uint8_t)n;
	k->nseg = 0;
	for (size_t i = 0; i <= n; i++) {
		if (name[i] != '.' && name[i] != '\0')
			continue;
		if (k->nseg == RW_JSON_PATH_SEGS)
			return false;
		k->end[k->nseg++] = (uint8_t)i;
	}
	size_t o = 0;
	for (unsigned s = 0; s < k->nseg; s++) {
		unsigned from = s ? k->end[s - 1] + 1u : 0;
		k->start[s] = (uint16_t)o;
		k->open[o++] = '"';
		memcpy(k->open + o, name + from, k->end[s] - from);
		o += k->end[s] - from;
		memcpy(k->open + o, s + 1u < k->nseg ? "\":{" : "\":", s + 1u < k->nseg ? 3 : 2);
		o += s + 1u < k->nseg ? 3 : 2;
	}
	k->open_len = (uint16_t)o;
	return true;
}

/* Closes n objects at once: the checks and bytes of n rw_json_end_object. */
static int close_objects(struct rw_json *j, unsigned n)
{
	if (j->error)
		return -1;
	if (n > j->depth || j->want_value)
		return fail(j);
	for (unsigned d = j->depth; d > j->depth - n; d--)
		if (j->is_array & (1u << d))
			return fail(j);
	if (rw_buf_room(j->out, n) < 0)
		return fail(j);
	memset(j->out->data + j->out->len, '}', n);
	rw_buf_commit(j->out, n);
	j->depth -= n;
	return 0;
}

int rw_json_path_key_split(struct rw_json_path *p, const struct rw_json_pkey *k, unsigned common)
{
	struct rw_json *j = p->j;
	p->prev = k->name;
	if (!p->nested)
		return key_raw(j, k->name, k->len);
	if (p->depth > common && close_objects(j, p->depth - common) < 0)
		return -1;
	/* The objects this key opens and its member's key, in one piece: the
	 * checks, bytes and state of key_raw and rw_json_begin_object in
	 * turn. */
	unsigned last = k->nseg - 1u;
	if (j->error)
		return -1;
	uint32_t bit = 1u << j->depth;
	if (j->depth == 0 || (j->is_array & bit) || j->want_value ||
	    j->depth + (last - common) >= RW_JSON_MAX_DEPTH)
		return fail(j);
	size_t n = (size_t)(k->open_len - k->start[common]);
	if (rw_buf_room(j->out, n + 1) < 0)
		return fail(j);
	char *o = j->out->data + j->out->len;
	size_t w = 0;
	if (j->has_items & bit)
		o[w++] = ',';
	memcpy(o + w, k->open + k->start[common], n);
	rw_buf_commit(j->out, w + n);
	j->has_items |= bit;
	for (unsigned s = common; s < last; s++) {
		j->depth++;
		bit = 1u << j->depth;
		j->has_items |= bit; /* the next segment's key, written above */
		j->is_array &= ~bit;
	}
	j->want_value = true;
	p->depth = last;
	return 0;
}

int rw_json_path_key(struct rw_json_path *p, const char *key)
{
	struct rw_json_pkey k;
	if (!rw_json_pkey_split(&k, key))
		return fail(p->j);
	/* The objects both keys are in: their leading segments alike (a
	 * segment that ends in one key only differs). */
	unsigned common = 0;
	if (p->nested && p->prev) {
		const char *a = p->prev;
		size_t i = 0;
		for (; a[i] && a[i] == key[i]; i++)
			if (key[i] == '.')
				common++;
		if (common > p->depth)
			common = p->depth;
	}
	return rw_json_path_key_split(p, &k, common);
}

int rw_json_path_end(struct rw_json_path *p)
{
	if (p->nested && p->prev)
		for (unsigned n = p->depth; n > 0; n--)
			if (rw_json_end_object(p->j) < 0)
				return -1;
	p->prev = NULL;
	p->depth = 0;
	return p->j->error ? -1 : 0;
}

int rw_json_kv_string(struct rw_json *j, const char *key, const void *p, size_t n)
{
	if (rw_json_key(j, key) < 0)
		return -1;
	return rw_json_string(j, p, n);
}

/* C0 controls, DEL and the C1 controls: escaped, never written raw. */
static bool is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

/* 1: a byte that is written as it is, in a string and in a plain one
 * (printable ASCII but '"' and '\\'); 2: '"' and '\\' (plain, but
 * escaped); 0: the rest (controls, DEL, bytes of 0x80 and above), looked at
 * one by one. */
static const uint8_t byte_class[256] = {
#define R4(c)  c, c, c, c
#define R16(c) R4(c), R4(c), R4(c), R4(c)
        R16(0), R16(0),                                        /* 0x00..0x1F */
        1,      1,      2,      1,      R4(1),  R4(1),  R4(1), /* 0x20..0x2F: '"' */
        R16(1),                                                /* 0x30..0x3F */
        R16(1),                                                /* 0x40..0x4F */
        R4(1),  R4(1),  R4(1),  2,      1,      1,      1,     /* 0x50..0x5F: backslash */
        R16(1),                                                /* 0x60..0x6F */
        R4(1),  R4(1),  R4(1),  1,      1,      1,      0,     /* 0x70..0x7F: DEL */
        R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0),
#undef R16
#undef R4
};

/* Whether all 8 bytes of x are of class 1 (none below 0x20, none of 0x80
 * and above, no '"', '\\' or DEL): the word-at-a-time tests of
 * https://graphics.stanford.edu/~seander/bithacks.html#HasLessInWord and
 * #ValueInWord, exact as a yes/no answer. */
static inline bool word_passes(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
	uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\'), d = x ^ (ones * 0x7F);
	uint64_t bad = (x & high) | ((x - ones * 0x20) & ~x & high) | ((q - ones) & ~q & high) |
	               ((b - ones) & ~b & high) | ((d - ones) & ~d & high);
	return bad == 0;
}

/* The end of the run of class-1 bytes from p[i]. */
static inline size_t pass_run(const uint8_t *p, size_t i, size_t n)
{
	for (; n - i >= 8; i += 8) {
		uint64_t x;
		memcpy(&x, p + i, 8);
		if (!word_passes(x))
			break;
	}
	while (i < n && byte_class[p[i]] == 1)
		i++;
	return i;
}

bool rw_json_plain(const void *src, size_t n)
{
	const uint8_t *p = src;
	for (size_t i = 0; i < n;) {
		i = pass_run(p, i, n);
		if (i == n)
			break;
		if (byte_class[p[i]]) {
			i++;
			continue;
		}
		uint32_t cp;
		size_t len = rw_utf8_seq(p + i, n - i, &cp);
		if (len == 0 || is_control(cp))
			return false;
		i += len;
	}
	return true;
}

int rw_json_kv_wire(struct rw_json *j, const char *key, const void *p, size_t n)
{
	if (rw_json_kv_string(j, key, p, n) < 0)
		return -1;
	if (rw_json_plain(p, n))
		return 0;
	char hkey[64];
	int kl = snprintf(hkey, sizeof(hkey), "%s_hex", key);
	if (kl < 0 || (size_t)kl >= sizeof(hkey))
		return fail(j);
	if (rw_json_key(j, hkey) < 0)
		return -1;
	return rw_json_hex(j, p, n);
}

int rw_json_kv_cstr(struct rw_json *j, const char *key, const char *s)
{
	return rw_json_kv_string(j, key, s, strlen(s));
}

int rw_json_kv_uint(struct rw_json *j, const char *key, uint64_t v)
{
	if (rw_json_key(j, key) < 0)
		return -1;
	return rw_json_uint(j, v);
}

int rw_json_kv_int(struct rw_json *j, const char *key, int64_t v)
{
	if (rw_json_key(j, key) < 0)
		return -1;
	return rw_json_int(j, v);
}

int rw_json_kv_bool(struct rw_json *j, const char *key, bool v)
{
	if (rw_json_key(j, key) < 0)
		return -1;
	return rw_json_bool(j, v);
}

size_t rw_utf8_seq(const uint8_t *p, size_t n, uint32_t *cp)
{
	uint8_t c = p[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	/* Second-byte bounds per RFC 3629 section 4: they exclude overlong
	 * forms (E0, F0), surrogates (ED) and code points above U+10FFFF (F4). */
	size_t len;
	uint8_t lo = 0x80, hi = 0xBF;
	uint32_t v;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		v = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		v = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		v = v << 6 | (p[i] & 0x3F);
	}
	*cp = v;
	return len;
}

int rw_json_escape(struct rw_buf *out, const void *src, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	if (n == 0)
		return 0; /* src may be NULL then: no pointer arithmetic on it */
	const uint8_t *p = src;
	size_t mark = out->len;
	size_t run = 0; /* start of the pending run of bytes that pass through */
	size_t i = 0;
	for (;;) {
		/* The fast path: printable ASCII, copied later as one run. */
		i = pass_run(p, i, n);
		if (i == n)
			break;
		uint8_t c = p[i];
		char esc[8];
		size_t esc_len, len = 1;
		if (c >= 0x80) {
			uint32_t cp;
			len = rw_utf8_seq(p + i, n - i, &cp);
			if (len && cp > 0x9F) {
				i += len; /* valid UTF-8, not a C1 control */
				continue;
			}
			esc[0] = '\\';
			if (len == 0) {
				esc[1] = '\\';
				esc[2] = 'x';
				esc[3] = hex[c >> 4];
				esc[4] = hex[c & 0xF];
				esc_len = 5;
				len = 1;
			} else {
				memcpy(esc + 1, "u00", 3);
				esc[4] = hex[cp >> 4];
				esc[5] = hex[cp & 0xF];
				esc_len = 6;
			}
		} else if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			esc_len = 2;
		} else { /* C0 controls and DEL */
			static const char short_esc[0x20] = {['\b'] = 'b',
			                                     ['\f'] = 'f',
			                                     ['\n'] = 'n',
			                                     ['\r'] = 'r',
			                                     ['\t'] = 't'};
			esc[0] = '\\';
			if (c < 0x20 && short_esc[c]) {
				esc[1] = short_esc[c];
				esc_len = 2;
			} else {
				memcpy(esc + 1, "u00", 3);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 0xF];
				esc_len = 6;
			}
		}
		if (rw_buf_add(out, p + run, i - run) < 0 || rw_buf_add(out, esc, esc_len) < 0)
			goto oom;
		i += len;
		run = i;
	}
	if (rw_buf_add(out, p + run, n - run) < 0)
		goto oom;
	return 0;
oom:
	rw_buf_truncate(out, mark);
	return -1;
}
