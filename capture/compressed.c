/* Decompressing FILEs for libpcap. See compressed.h. */
/* fopencookie needs _GNU_SOURCE, which the build defines for every file. */
#include "compressed.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define IN_CHUNK (128 * 1024)

struct zreader {
	enum rw_compression kind;
	int fd;
	gzFile gz;
	ZSTD_DStream *zs;
	uint8_t *in;
	ZSTD_inBuffer zin;
	size_t pending; /* ZSTD_decompressStream's last hint: 0 at a frame's end */
	bool eof;
	char error[160];
};

/* One list of open readers keyed by FILE, so rw_compressed_error can find
 * the cookie (glibc does not hand it back); a handful at most. */
struct open_reader {
	FILE *fp;
	struct zreader *z;
	struct open_reader *next;
};
static struct open_reader *readers;

static ssize_t gz_read(struct zreader *z, char *buf, size_t n)
{
	unsigned want = n > (1u << 30) ? 1u << 30 : (unsigned)n;
	int got = gzread(z->gz, buf, want);
	if (got < 0) {
		int e;
		const char *m = gzerror(z->gz, &e);
		if (m && !strncmp(m, "<fd:", 4) && strstr(m, ": "))
			m = strstr(m, ": ") + 2;
		snprintf(z->error, sizeof(z->error), "gzip: %s", m ? m : "damaged stream");
		return 0; /* an early end: libpcap reports a truncated file */
	}
	if (got == 0 && !gzeof(z->gz))
		snprintf(z->error, sizeof(z->error), "gzip: unexpected end");
	if (got == 0 && !z->error[0] && gzdirect(z->gz) == 0) {
		/* zlib ends a cut stream quietly: its error state still says so. */
		int e;
		const char *m = gzerror(z->gz, &e);
		if (m && !strncmp(m, "<fd:", 4) && strstr(m, ": "))
			m = strstr(m, ": ") + 2; /* zlib names the descriptor, not the file */
		if (e != Z_OK && e != Z_STREAM_END)
			snprintf(z->error, sizeof(z->error), "gzip: %s", m ? m : "damaged stream");
	}
	return got;
}

static ssize_t zstd_read(struct zreader *z, char *buf, size_t n)
{
	ZSTD_outBuffer out = {buf, n, 0};
	while (out.pos == 0) {
		if (z->zin.pos == z->zin.size) {
			if (z->eof) {
				if (z->pending && !z->error[0])
					snprintf(z->error, sizeof(z->error),
					         "zstd: unexpected end (the file was cut short)");
				return 0;
			}
			ssize_t r = read(z->fd, z->in, IN_CHUNK);
			if (r < 0) {
				if (errno == EINTR)
					continue;
				snprintf(z->error, sizeof(z->error), "zstd: read: %s",
				         strerror(errno));
				return 0;
			}
			if (r == 0) {
				z->eof = true;
				continue;
			}
			z->zin.src = z->in;
			z->zin.size = (size_t)r;
			z->zin.pos = 0;
		}
		size_t rc = ZSTD_decompressStream(z->zs, &out, &z->zin);
		if (ZSTD_isError(rc)) {
			snprintf(z->error, sizeof(z->error), "zstd: %s", ZSTD_getErrorName(rc));
			return (ssize_t)out.pos;
		}
		z->pending = rc;
	}
	return (ssize_t)out.pos;
}

static ssize_t cookie_read(void *c, char *buf, size_t n)
{
	struct zreader *z = c;
	return z->kind == RW_COMP_GZIP ? gz_read(z, buf, n) : zstd_read(z, buf, n);
}

static int cookie_close(void *c)
{
	struct zreader *z = c;
	for (struct open_reader **p = &readers; *p; p = &(*p)->next) {
		if ((*p)->z == z) {
			struct open_reader *o = *p;
			*p = o->next;
			free(o);
			break;
		}
	}
	int rc = 0;
	if (z->gz)
		rc = gzclose(z->gz) == Z_OK ? 0 : -1; /* closes fd */
	else if (z->fd >= 0)
		rc = close(z->fd);
	ZSTD_freeDStream(z->zs);
	free(z->in);
	free(z);
	return rc;
}

const char *rw_compression_name(enum rw_compression k)
{
	return k == RW_COMP_GZIP ? "gzip" : k == RW_COMP_ZSTD ? "zstd" : "none";
}

const char *rw_compressed_error(FILE *fp)
{
	for (struct open_reader *o = readers; o; o = o->next)
		if (o->fp == fp)
			return o->z->error;
	return "";
}

FILE *rw_compressed_open(const char *path, enum rw_compression *kind, char *err, size_t errlen)
{
	*kind = RW_COMP_NONE;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL; /* the plain open says why */
	uint8_t m[4];
	ssize_t got = pread(fd, m, sizeof(m), 0);
	enum rw_compression k = RW_COMP_NONE;
	if (got >= 2 && m[0] == 0x1f && m[1] == 0x8b)
		k = RW_COMP_GZIP;
	else if (got == 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
		k = RW_COMP_ZSTD;
	if (k == RW_COMP_NONE) {
		close(fd);
		return NULL;
	}
	*kind = k;
	struct zreader *z = calloc(1, sizeof(*z));
	struct open_reader *o = malloc(sizeof(*o));
	if (!z || !o)
		goto nomem;
	z->kind = k;
	z->fd = fd;
	if (k == RW_COMP_GZIP) {
		z->gz = gzdopen(fd, "rb");
		if (!z->gz)
			goto nomem;
		gzbuffer(z->gz, IN_CHUNK);
	} else {
		z->zs = ZSTD_createDStream();
		z->in = malloc(IN_CHUNK);
		if (!z->zs || !z->in || ZSTD_isError(ZSTD_initDStream(z->zs)))
			goto nomem;
	}
	cookie_io_functions_t io = {.read = cookie_read, .close = cookie_close};
	FILE *fp = fopencookie(z, "r", io);
	if (!fp)
		goto nomem;
	o->fp = fp;
	o->z = z;
	o->next = readers;
	readers = o;
	return fp;
nomem:
	snprintf(err, errlen, "%s: out of memory for %s decompression", path,
	         rw_compression_name(k));
	free(o);
	if (z) {
		if (z->gz)
			gzclose(z->gz);
		else
			close(fd);
		ZSTD_freeDStream(z->zs);
		free(z->in);
		free(z);
	} else {
		close(fd);
	}
	return NULL;
}
