/* Value parsers shared by the config file and the output specifications:
 * numbers, durations, sizes, booleans, and values quoted in messages. */
#include "values.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int rw_conf_fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

struct rw_shown rw_show(const char *v)
{
	struct rw_shown o;
	size_t i = 0;
	for (; v[i] && i < 60; i++)
		o.s[i] = (v[i] >= 0x20 && v[i] < 0x7f) ? v[i] : '?';
	if (v[i]) {
		memcpy(o.s + i, "...", 3);
		i += 3;
	}
	o.s[i] = 0;
	return o;
}

struct rw_shown rw_show_n(const char *s, size_t n)
{
	char buf[64];
	size_t k = n < sizeof(buf) - 1 ? n : sizeof(buf) - 1;
	memcpy(buf, s, k);
	buf[k] = 0;
	return rw_show(buf); /* cut at 60 with "..." like rw_show() */
}

/* Unsigned decimal, digits only (no sign, no space). Returns 0, -1 for bad
 * syntax, -2 when the value does not fit max. */
int rw_parse_uint(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	if (n == 0)
		return -1;
	uint64_t v = 0;
	bool big = false;
	for (size_t i = 0; i < n; i++) {
		if (!rw_is_digit(s[i]))
			return -1;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			big = true;
		else
			v = v * 10 + d;
	}
	if (big || v > max)
		return -2;
	*out = v;
	return 0;
}

int rw_parse_port(const char *s, size_t n, uint16_t *out)
{
	uint64_t v;
	if (rw_parse_uint(s, n, 65535, &v) < 0 || v == 0)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* "10s", "500ms", "2m", "1h"; a bare integer is seconds; 0 is 0. */
int rw_parse_duration_ms(const char *v, unsigned *out)
{
	size_t n = 0;
	while (rw_is_digit(v[n]))
		n++;
	uint64_t mult;
	const char *unit = v + n;
	if (!*unit || !strcmp(unit, "s"))
		mult = 1000;
	else if (!strcmp(unit, "ms"))
		mult = 1;
	else if (!strcmp(unit, "m"))
		mult = 60 * 1000;
	else if (!strcmp(unit, "h"))
		mult = 3600 * 1000;
	else
		return -1;
	uint64_t num;
	int r = rw_parse_uint(v, n, UINT_MAX, &num);
	if (r < 0)
		return r;
	if (num > UINT_MAX / mult)
		return -2;
	*out = (unsigned)(num * mult);
	return 0;
}

int rw_parse_size(const char *v, size_t *out)
{
	size_t n = 0;
	while (rw_is_digit(v[n]))
		n++;
	uint64_t mult = 1;
	if (v[n] == 'k' || v[n] == 'K')
		mult = 1024;
	else if (v[n] == 'm' || v[n] == 'M')
		mult = 1024 * 1024;
	else if (v[n] == 'g' || v[n] == 'G')
		mult = 1024ull * 1024 * 1024;
	else if (v[n])
		return -1;
	if (mult != 1 && v[n + 1])
		return -1;
	uint64_t num;
	int r = rw_parse_uint(v, n, SIZE_MAX, &num);
	if (r < 0)
		return r;
	if (num > SIZE_MAX / mult)
		return -2;
	*out = (size_t)(num * mult);
	return 0;
}

int rw_parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(v, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcmp(v, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* One line of the `key = value` files (rdpwhy.conf, the probe's client
 * profiles), line ending removed: 0 with *key and *value pointing into the
 * line (the value unquoted in place), 0 with *key NULL for a comment or a
 * blank line, -1 with the message. */
int rw_conf_split_line(char *line, char **key_out, char **value_out, char *err, size_t errlen)
{
	*key_out = *value_out = NULL;
	char *p = line;
	while (rw_is_space(*p))
		p++;
	if (!*p || *p == '#')
		return 0; /* *key stays NULL */
	char *key = p;
	while (*p && !rw_is_space(*p) && *p != '=')
		p++;
	char *key_end = p;
	while (rw_is_space(*p))
		p++;
	if (key == key_end)
		return rw_conf_fail(err, errlen, "missing key before '='");
	if (*p != '=') {
		*key_end = 0;
		return rw_conf_fail(err, errlen, "missing '=' after '%s' (lines are key = value)",
		                    rw_show(key).s);
	}
	*key_end = 0;
	p++;
	while (rw_is_space(*p))
		p++;

	char *value = p;
	if (*p == '"') {
		char *out = value;
		p++;
		for (;;) {
			if (!*p)
				return rw_conf_fail(err, errlen, "%s: missing closing quote",
				                    rw_show(key).s);
			if (*p == '"')
				break;
			if (*p == '\\') {
				if (!p[1])
					return rw_conf_fail(err, errlen,
					                    "%s: missing closing quote",
					                    rw_show(key).s);
				if (p[1] != '"' && p[1] != '\\')
					return rw_conf_fail(
					        err, errlen,
					        "%s: unknown escape '\\%c' in quoted value (only "
					        "\\\" and \\\\)",
					        rw_show(key).s, p[1]);
				p++;
			}
			*out++ = *p++;
		}
		p++;
		while (rw_is_space(*p))
			p++;
		if (*p && *p != '#')
			return rw_conf_fail(err, errlen, "%s: text after the closing quote",
			                    rw_show(key).s);
		*out = 0;
	} else {
		/* A '#' after a space starts a comment; "a#b" is a value. */
		char *end = p;
		while (*p && !(*p == '#' && p > value && rw_is_space(p[-1])))
			p++;
		end = p;
		while (end > value && rw_is_space(end[-1]))
			end--;
		*end = 0;
	}
	*key_out = key;
	*value_out = value;
	return 0;
}
