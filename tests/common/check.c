/* Checkers shared by the unit tests and the fuzz targets: a strict UTF-8
 * decoder written independently of output/json.c (so each can check the
 * other) and a JSON line validator that also lists the top-level keys. */
#include "check.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* ---- UTF-8 ------------------------------------------------------------- */

size_t check_utf8(const uint8_t *p, size_t n, uint32_t *cp)
{
	if (n == 0)
		return 0;
	uint8_t c = p[0];
	size_t len;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xE0) == 0xC0) {
		len = 2, v = c & 0x1F, min = 0x80;
	} else if ((c & 0xF0) == 0xE0) {
		len = 3, v = c & 0x0F, min = 0x800;
	} else if ((c & 0xF8) == 0xF0) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		v = v << 6 | (p[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return len;
}

/* ---- JSON line checker ------------------------------------------------- */

#define MAX_DEPTH 64

struct jp {
	const uint8_t *p;
	size_t n, i;
	const char *why;
	size_t n_keys;
	size_t key_off[CHECK_JSON_MAX_KEYS], key_len[CHECK_JSON_MAX_KEYS];
};

static bool jfail(struct jp *j, const char *why)
{
	if (!j->why)
		j->why = why;
	return false;
}

static void jws(struct jp *j)
{
	while (j->i < j->n && (j->p[j->i] == ' ' || j->p[j->i] == '\t' || j->p[j->i] == '\r'))
		j->i++;
}

static bool jhex(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool jstring(struct jp *j, size_t *start, size_t *len)
{
	if (j->i >= j->n || j->p[j->i] != '"')
		return jfail(j, "string expected");
	j->i++;
	*start = j->i;
	while (j->i < j->n) {
		uint8_t c = j->p[j->i];
		if (c == '"') {
			*len = j->i - *start;
			j->i++;
			return true;
		}
		if (c == '\\') {
			if (j->i + 1 >= j->n)
				return jfail(j, "string ends in a backslash");
			uint8_t e = j->p[j->i + 1];
			if (e == 'u') {
				if (j->i + 6 > j->n || !jhex(j->p[j->i + 2]) ||
				    !jhex(j->p[j->i + 3]) || !jhex(j->p[j->i + 4]) ||
				    !jhex(j->p[j->i + 5]))
					return jfail(j, "bad \\u escape");
				j->i += 6;
			} else if (e && strchr("\"\\/bfnrt", e)) {
				j->i += 2;
			} else {
				return jfail(j, "bad escape");
			}
			continue;
		}
		if (c < 0x20)
			return jfail(j, "raw control character in a string");
		if (c == 0x7F)
			return jfail(j, "raw DEL in a string");
		uint32_t cp;
		size_t k = check_utf8(j->p + j->i, j->n - j->i, &cp);
		if (k == 0)
			return jfail(j, "invalid UTF-8 in a string");
		if (cp >= 0x80 && cp <= 0x9F)
			return jfail(j, "raw C1 control in a string");
		j->i += k;
	}
	return jfail(j, "unterminated string");
}

static bool jdigits(struct jp *j)
{
	size_t s = j->i;
	while (j->i < j->n && j->p[j->i] >= '0' && j->p[j->i] <= '9')
		j->i++;
	return j->i > s;
}

static bool jnumber(struct jp *j)
{
	if (j->i < j->n && j->p[j->i] == '-')
		j->i++;
	if (j->i < j->n && j->p[j->i] == '0')
		j->i++;
	else if (!jdigits(j))
		return jfail(j, "bad number");
	if (j->i < j->n && j->p[j->i] == '.') {
		j->i++;
		if (!jdigits(j))
			return jfail(j, "bad fraction");
	}
	if (j->i < j->n && (j->p[j->i] == 'e' || j->p[j->i] == 'E')) {
		j->i++;
		if (j->i < j->n && (j->p[j->i] == '+' || j->p[j->i] == '-'))
			j->i++;
		if (!jdigits(j))
			return jfail(j, "bad exponent");
	}
	return true;
}

static bool jliteral(struct jp *j, const char *lit)
{
	size_t k = strlen(lit);
	if (j->n - j->i < k || memcmp(j->p + j->i, lit, k) != 0)
		return jfail(j, "bad literal");
	j->i += k;
	return true;
}

static bool jvalue(struct jp *j, int depth);

static bool jobject(struct jp *j, int depth)
{
	j->i++; /* '{' */
	jws(j);
	if (j->i < j->n && j->p[j->i] == '}') {
		j->i++;
		return true;
	}
	for (;;) {
		size_t ks, kl;
		jws(j);
		if (!jstring(j, &ks, &kl))
			return false;
		if (depth == 1) {
			for (size_t k = 0; k < j->n_keys; k++) {
				if (j->key_len[k] == kl &&
				    memcmp(j->p + j->key_off[k], j->p + ks, kl) == 0)
					return jfail(j, "duplicate top-level key");
			}
			if (j->n_keys < CHECK_JSON_MAX_KEYS) {
				j->key_off[j->n_keys] = ks;
				j->key_len[j->n_keys] = kl;
				j->n_keys++;
			}
		}
		jws(j);
		if (j->i >= j->n || j->p[j->i] != ':')
			return jfail(j, "':' expected");
		j->i++;
		if (!jvalue(j, depth))
			return false;
		jws(j);
		if (j->i < j->n && j->p[j->i] == ',') {
			j->i++;
			continue;
		}
		if (j->i < j->n && j->p[j->i] == '}') {
			j->i++;
			return true;
		}
		return jfail(j, "',' or '}' expected");
	}
}

static bool jarray(struct jp *j, int depth)
{
	j->i++; /* '[' */
	jws(j);
	if (j->i < j->n && j->p[j->i] == ']') {
		j->i++;
		return true;
	}
	for (;;) {
		if (!jvalue(j, depth))
			return false;
		jws(j);
		if (j->i < j->n && j->p[j->i] == ',') {
			j->i++;
			continue;
		}
		if (j->i < j->n && j->p[j->i] == ']') {
			j->i++;
			return true;
		}
		return jfail(j, "',' or ']' expected");
	}
}

static bool jvalue(struct jp *j, int depth)
{
	jws(j);
	if (j->i >= j->n)
		return jfail(j, "value expected");
	if (depth >= MAX_DEPTH)
		return jfail(j, "nesting too deep");
	switch (j->p[j->i]) {
	case '{':
		return jobject(j, depth + 1);
	case '[':
		return jarray(j, depth + 1);
	case '"': {
		size_t s, l;
		return jstring(j, &s, &l);
	}
	case 't':
		return jliteral(j, "true");
	case 'f':
		return jliteral(j, "false");
	case 'n':
		return jliteral(j, "null");
	default:
		return jnumber(j);
	}
}

bool check_json_line(const char *s, size_t n, struct check_json *out, const char **why)
{
	static struct jp j; /* large: keep it off the stack */
	memset(&j, 0, sizeof(j));
	if (out)
		memset(out, 0, sizeof(*out));
	j.p = (const uint8_t *)s;
	*why = NULL;
	if (n == 0 || s[n - 1] != '\n') {
		*why = "not newline-terminated";
		return false;
	}
	if (memchr(s, '\n', n - 1)) {
		*why = "more than one line";
		return false;
	}
	j.n = n - 1;
	jws(&j);
	if (j.i >= j.n || j.p[j.i] != '{') {
		*why = "not an object";
		return false;
	}
	if (!jvalue(&j, 0)) {
		*why = j.why;
		return false;
	}
	jws(&j);
	if (j.i != j.n) {
		*why = "bytes after the object";
		return false;
	}
	if (out) {
		out->line = s;
		out->n_keys = j.n_keys;
		memcpy(out->key_off, j.key_off, sizeof(out->key_off));
		memcpy(out->key_len, j.key_len, sizeof(out->key_len));
	}
	return true;
}

bool check_json_has_key(const struct check_json *c, const char *key, bool prefix)
{
	size_t kl = strlen(key);
	for (size_t i = 0; i < c->n_keys; i++) {
		bool len_ok = prefix ? c->key_len[i] >= kl : c->key_len[i] == kl;
		if (len_ok && memcmp(c->line + c->key_off[i], key, kl) == 0)
			return true;
	}
	return false;
}
