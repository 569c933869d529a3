/* Value parsers shared by the config file (config.c) and the output
 * specifications (output_spec.c). Each returns 0, or -1 for bad syntax
 * (-2 where noted: the value does not fit). */
#ifndef RW_CONF_VALUES_H
#define RW_CONF_VALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Writes the message into err (when err is not NULL) and returns -1. */
int rw_conf_fail(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* A value quoted in a message: long values are cut (the message must stay
 * readable in a 512-byte buffer), bytes that are not printable become '?'. */
struct rw_shown {
	char s[68];
};
struct rw_shown rw_show(const char *v);
/* The same for the first n bytes of s (not NUL-terminated there). */
struct rw_shown rw_show_n(const char *s, size_t n);

static inline bool rw_is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static inline bool rw_is_space(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Unsigned decimal, digits only (no sign, no space); -2 above max. */
int rw_parse_uint(const char *s, size_t n, uint64_t max, uint64_t *out);
/* 1..65535. */
int rw_parse_port(const char *s, size_t n, uint16_t *out);
/* "10s", "500ms", "2m", "1h"; a bare integer is seconds; -2 when too long. */
int rw_parse_duration_ms(const char *v, unsigned *out);
/* "262144", "256k", "64M", "1G" (k = 1024); -2 when too big. */
int rw_parse_size(const char *v, size_t *out);
/* yes/true/on/1, no/false/off/0. */
int rw_parse_bool(const char *v, bool *out);

/* One line of a `key = value` file (rdpwhy.conf, client profiles), line
 * ending removed: 0 with key and value pointing into the line (the value
 * unquoted in place; '#' after a space starts a comment; quoted values take
 * \" and \\), 0 with *key NULL for a blank or comment line, -1 with the
 * message in err. */
int rw_conf_split_line(char *line, char **key, char **value, char *err, size_t errlen);

#endif
