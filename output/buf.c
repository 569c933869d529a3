#include "buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RW_BUF_MIN_CAP 256

void rw_buf_init(struct rw_buf *b, size_t limit)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->limit = limit;
}

void rw_buf_free(struct rw_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void rw_buf_reset(struct rw_buf *b)
{
	rw_buf_truncate(b, 0);
}

void rw_buf_truncate(struct rw_buf *b, size_t len)
{
	if (len >= b->len)
		return;
	b->len = len;
	b->data[len] = '\0';
}

int rw_buf_reserve(struct rw_buf *b, size_t extra)
{
	size_t max = b->limit ? b->limit : SIZE_MAX - 1;
	if (extra > max || b->len > max - extra) {
		errno = EMSGSIZE;
		return -1;
	}
	size_t need = b->len + extra + 1; /* room for the NUL */
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : RW_BUF_MIN_CAP;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	char *p = realloc(b->data, cap);
	if (!p) {
		errno = ENOMEM;
		return -1;
	}
	if (!b->data)
		p[0] = '\0';
	b->data = p;
	b->cap = cap;
	return 0;
}

int rw_buf_append(struct rw_buf *b, const void *p, size_t n)
{
	if (rw_buf_room(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int rw_buf_putc(struct rw_buf *b, char c)
{
	if (rw_buf_room(b, 1) < 0)
		return -1;
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
	return 0;
}

int rw_buf_puts(struct rw_buf *b, const char *s)
{
	return rw_buf_append(b, s, strlen(s));
}

int rw_buf_printf(struct rw_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = rw_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

int rw_buf_vprintf(struct rw_buf *b, const char *fmt, va_list ap)
{
	/* Format once into the spare room; only a too-small buffer pays for a
	 * second pass. */
	char dummy;
	char *dst = b->data ? b->data + b->len : &dummy;
	size_t room = b->data ? b->cap - b->len : 1;
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(dst, room, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		if (b->data)
			b->data[b->len] = '\0';
		return -1;
	}
	if ((size_t)n >= room) {
		if (b->data)
			b->data[b->len] = '\0';
		if (rw_buf_reserve(b, (size_t)n) < 0)
			return -1;
		va_copy(ap2, ap);
		n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
		va_end(ap2);
		if (n < 0) {
			b->data[b->len] = '\0';
			return -1;
		}
	} else if (b->limit && b->len + (size_t)n > b->limit) {
		b->data[b->len] = '\0';
		errno = EMSGSIZE;
		return -1;
	}
	b->len += (size_t)n;
	return 0;
}

const char *rw_buf_str(const struct rw_buf *b)
{
	return b->data ? b->data : "";
}
