/* One pcap file on disk (pcap_file.h). The file is written with write(2)
 * from a small buffer of whole records rather than with libpcap's stdio
 * dumper: after a short write (ENOSPC, EFBIG) the file is cut back to its
 * last whole record, so that a full disk leaves a file tshark and
 * `rdpwhy replay` still read to the end, and the bytes lost are known
 * exactly (they are counted as drops). */
#include "pcap_file.h"
#include "safe_path.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define US_PER_S          1000000ull
#define NAME_TRIES        100  /* the plain name, then -1 ... -99 */
#define BUF_SIZE          8192 /* per open file: as much as stdio's buffer was */
#define SNAPLEN           65535
#define LINKTYPE_ETHERNET 1

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen, const char *fmt,
                                                          ...)
{
	if (!errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* "192.0.2.1_50000" or "2001-db8--1_50000": no ':' in file names. */
static void format_endpoint(const struct rw_endpoint *e, char *out, size_t outlen)
{
	char a[INET6_ADDRSTRLEN];
	if (!inet_ntop(e->family, e->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "invalid");
	for (char *c = a; *c; c++)
		if (*c == ':')
			*c = '-';
	snprintf(out, outlen, "%s_%u", a, (unsigned)e->port);
}

/* DIR/rdpwhy-YYYYmmddTHHMMSS.uuuuuuZ-CLIENT-SERVER[-N].pcap; -1 if too long. */
static int format_path(char *out, size_t outlen, const char *dir, const struct rw_endpoint ep[2],
                       uint64_t ts_us, int try)
{
	time_t sec = (time_t)(ts_us / US_PER_S);
	struct tm tm;
	char when[32], c[64], s[64], suffix[16] = "";
	if (!gmtime_r(&sec, &tm) || !strftime(when, sizeof(when), "%Y%m%dT%H%M%S", &tm))
		return -1;
	format_endpoint(&ep[RW_C2S], c, sizeof(c));
	format_endpoint(&ep[RW_S2C], s, sizeof(s));
	if (try > 0)
		snprintf(suffix, sizeof(suffix), "-%d", try);
	int n = snprintf(out, outlen, "%s/rdpwhy-%s.%06uZ-%s-%s%s.pcap", dir, when,
	                 (unsigned)(ts_us % US_PER_S), c, s, suffix);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* Creates a new file (never an existing one, never through a link: O_EXCL,
 * and the directory reached without following a link another user could
 * have planted, safe_path.h), mode 0600 whatever the umask; fills f->path.
 * Returns the fd, or -1 with errno and, when the path was refused, WHY. */
static int create_file(struct rw_pcapf *f, const char *dir, const struct rw_endpoint ep[2],
                       uint64_t ts_us, char *why, size_t whylen)
{
	for (int try = 0; try < NAME_TRIES; try++) {
		if (format_path(f->path, sizeof(f->path), dir, ep, ts_us, try) < 0) {
			errno = ENAMETOOLONG;
			return -1;
		}
		int fd = rw_safe_open(f->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600, why,
		                      whylen);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd < 0)
			return -1;
		if (fchmod(fd, 0600) < 0) {
			int e = errno;
			close(fd);
			unlink(f->path);
			errno = e;
			return -1;
		}
		return fd;
	}
	errno = EEXIST;
	return -1;
}

/* The classic pcap header in host byte order, as libpcap writes it. */
static void put_header(uint8_t *p)
{
	const uint32_t magic = 0xa1b2c3d4u, snaplen = SNAPLEN, linktype = LINKTYPE_ETHERNET;
	const uint16_t major = 2, minor = 4;
	const int32_t thiszone = 0;
	const uint32_t sigfigs = 0;
	memcpy(p, &magic, 4);
	memcpy(p + 4, &major, 2);
	memcpy(p + 6, &minor, 2);
	memcpy(p + 8, &thiszone, 4);
	memcpy(p + 12, &sigfigs, 4);
	memcpy(p + 16, &snaplen, 4);
	memcpy(p + 20, &linktype, 4);
}

int rw_pcapf_create(struct rw_pcapf *f, const char *dir, const struct rw_endpoint ep[2],
                    uint64_t ts_us, char *err, size_t errlen)
{
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	char why[PATH_MAX + 256] = "";
	f->buf = malloc(BUF_SIZE);
	if (!f->buf) {
		set_err(err, errlen, "pcap file: out of memory");
		errno = ENOMEM;
		return -1;
	}
	f->fd = create_file(f, dir, ep, ts_us, why, sizeof(why));
	if (f->fd < 0) {
		int e = errno;
		if (e == EPERM && why[0]) /* a link refused: say which */
			set_err(err, errlen, "cannot create %s", why);
		else
			set_err(err, errlen, "cannot create %s: %s",
			        e == ENAMETOOLONG || !f->path[0] ? dir : f->path, strerror(e));
		free(f->buf);
		f->buf = NULL;
		errno = e;
		return -1;
	}
	put_header(f->buf);
	f->len = RW_PCAPF_HEADER;
	return 0;
}

/* write(2) all of p; 0, or -1 with errno and *done the bytes written. */
static int write_all(int fd, const uint8_t *p, size_t n, size_t *done)
{
	*done = 0;
	while (*done < n) {
		ssize_t k = write(fd, p + *done, n - *done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		if (k == 0) {
			errno = EIO;
			return -1;
		}
		*done += (size_t)k;
	}
	return 0;
}

int rw_pcapf_flush(struct rw_pcapf *f)
{
	if (f->error) {
		errno = f->error;
		return -1;
	}
	if (f->len == 0 || f->fd < 0)
		return 0;
	size_t done;
	if (write_all(f->fd, f->buf, f->len, &done) < 0) {
		f->error = errno ? errno : EIO;
		/* Part of a record on disk would end the file mid-packet: cut
		 * back to what was there before this write (best effort: a
		 * failed ftruncate leaves the partial record, the error stays). */
		if (done && ftruncate(f->fd, (off_t)f->size) < 0)
			f->size += done;
		f->lost += f->len;
		f->len = 0;
		errno = f->error;
		return -1;
	}
	f->size += f->len;
	f->len = 0;
	return 0;
}

int rw_pcapf_write(struct rw_pcapf *f, const void *rec, size_t n)
{
	if (f->error) {
		f->lost += n;
		errno = f->error;
		return -1;
	}
	if (f->len + n > BUF_SIZE && rw_pcapf_flush(f) < 0) {
		f->lost += n;
		return -1;
	}
	if (n > BUF_SIZE) { /* cannot happen with frames below 64 KiB; stay correct */
		size_t done;
		if (write_all(f->fd, rec, n, &done) < 0) {
			f->error = errno ? errno : EIO;
			if (done && ftruncate(f->fd, (off_t)f->size) < 0)
				f->size += done;
			f->lost += n;
			errno = f->error;
			return -1;
		}
		f->size += n;
		return 0;
	}
	memcpy(f->buf + f->len, rec, n);
	f->len += n;
	return 0;
}

void rw_pcapf_discard(struct rw_pcapf *f)
{
	f->lost += f->len;
	f->len = 0;
}

int rw_pcapf_close(struct rw_pcapf *f)
{
	int rc = 0;
	if (f->fd >= 0) {
		if (rw_pcapf_flush(f) < 0)
			rc = -1;
		/* close(2) can report a delayed write error (NFS). */
		if (close(f->fd) < 0 && rc == 0) {
			f->error = errno;
			rc = -1;
		}
		f->fd = -1;
	}
	if (f->error)
		rc = -1;
	free(f->buf);
	f->buf = NULL;
	return rc;
}
