/* A growable byte buffer for building output records. Every append either
 * succeeds completely or fails and leaves the buffer as it was, so a caller
 * never emits half a record after running out of memory. */
#ifndef RW_BUF_H
#define RW_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#if defined(__GNUC__)
#define RW_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define RW_PRINTF(fmt, args)
#endif

struct rw_buf {
	char *data;   /* NUL-terminated once anything was appended; NULL before */
	size_t len;   /* bytes stored, NUL excluded */
	size_t cap;   /* bytes allocated, NUL included */
	size_t limit; /* largest len allowed; 0 = only memory limits it */
};

#define RW_BUF_INIT                                                                                \
	{                                                                                          \
		NULL, 0, 0, 0                                                                      \
	}

/* limit lets a sink bound one message (a syslog frame, a datagram) and lets
 * tests exercise the failure path without starving the allocator. */
void rw_buf_init(struct rw_buf *b, size_t limit);
void rw_buf_free(struct rw_buf *b);
/* Empties the buffer and keeps the allocation for the next record. */
void rw_buf_reset(struct rw_buf *b);
/* Shrinks to len bytes (no-op if len >= b->len): undoes a partial record. */
void rw_buf_truncate(struct rw_buf *b, size_t len);

/* All return 0, or -1 with errno ENOMEM (allocation failed) or EMSGSIZE
 * (limit exceeded, or the size does not fit in size_t); on -1 the buffer is
 * unchanged. */
int rw_buf_reserve(struct rw_buf *b, size_t extra);
int rw_buf_append(struct rw_buf *b, const void *p, size_t n);
/* rw_buf_append for the hot paths (the formatters): when the spare room and
 * the limit already allow n more bytes, copies them inline; otherwise calls
 * rw_buf_append. Same result, same errors. */
static inline int rw_buf_add(struct rw_buf *b, const void *p, size_t n)
{
	if (b->cap - b->len > n && (!b->limit || (b->len <= b->limit && n <= b->limit - b->len))) {
		if (n)
			memcpy(b->data + b->len, p, n);
		b->len += n;
		b->data[b->len] = '\0';
		return 0;
	}
	return rw_buf_append(b, p, n);
}
/* Room for n more bytes (and the NUL) is allocated and within the limit:
 * the caller may then write up to n bytes at b->data + b->len directly and
 * commit them with rw_buf_commit. */
static inline int rw_buf_room(struct rw_buf *b, size_t n)
{
	if (b->cap - b->len > n && (!b->limit || (b->len <= b->limit && n <= b->limit - b->len)))
		return 0;
	return rw_buf_reserve(b, n);
}
static inline void rw_buf_commit(struct rw_buf *b, size_t n)
{
	b->len += n;
	b->data[b->len] = '\0';
}
int rw_buf_putc(struct rw_buf *b, char c);
int rw_buf_puts(struct rw_buf *b, const char *s);
int rw_buf_printf(struct rw_buf *b, const char *fmt, ...) RW_PRINTF(2, 3);
int rw_buf_vprintf(struct rw_buf *b, const char *fmt, va_list ap) RW_PRINTF(2, 0);

/* The contents as a C string; "" when nothing was appended. Bytes appended
 * with rw_buf_append may include NULs: use len for those. */
const char *rw_buf_str(const struct rw_buf *b);

#endif
