/* The on-disk spool of outgoing records. See spool.h. */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safe_path.h"

#define SEQ_DIGITS 20
#define TMP_PREFIX ".tmp-"

struct entry {
	uint64_t seq;
	uint64_t size;
};

struct rw_spool {
	char dir[PATH_MAX];
	int dirfd;
	uint64_t max_bytes;
	enum rw_spool_policy policy;
	struct entry *e; /* e[head..n) are on disk, in sequence order */
	size_t head, n, cap;
	uint64_t next_seq;
	struct rw_spool_stats st;
};

int rw_spool_policy_parse(const char *s)
{
	if (!strcmp(s, "drop-oldest") || !strcmp(s, "drop_oldest"))
		return RW_SPOOL_DROP_OLDEST;
	if (!strcmp(s, "drop-newest") || !strcmp(s, "drop_newest"))
		return RW_SPOOL_DROP_NEWEST;
	return -1;
}

static void name_of(uint64_t seq, char out[SEQ_DIGITS + 1])
{
	snprintf(out, SEQ_DIGITS + 1, "%0*" PRIu64, SEQ_DIGITS, seq);
}

static bool parse_name(const char *name, uint64_t *seq)
{
	if (strlen(name) != SEQ_DIGITS)
		return false;
	uint64_t v = 0;
	for (const char *p = name; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*seq = v;
	return v > 0;
}

static int push(struct rw_spool *s, uint64_t seq, uint64_t size)
{
	if (s->n == s->cap) {
		if (s->head > 0) {
			memmove(s->e, s->e + s->head, (s->n - s->head) * sizeof(*s->e));
			s->n -= s->head;
			s->head = 0;
		}
		if (s->n == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 64;
			struct entry *e = realloc(s->e, cap * sizeof(*e));
			if (!e)
				return -1;
			s->e = e;
			s->cap = cap;
		}
	}
	s->e[s->n++] = (struct entry){seq, size};
	s->st.count++;
	s->st.bytes += size;
	return 0;
}

static void remove_first(struct rw_spool *s)
{
	char name[SEQ_DIGITS + 1];
	name_of(s->e[s->head].seq, name);
	/* If this fails the file comes back after a restart: a duplicate, not a loss. */
	(void)unlinkat(s->dirfd, name, 0);
	s->st.count--;
	s->st.bytes -= s->e[s->head].size;
	s->head++;
	if (s->head == s->n)
		s->head = s->n = 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

struct rw_spool *rw_spool_open(const char *dir, uint64_t max_bytes, enum rw_spool_policy policy,
                               char *err, size_t errlen)
{
	struct rw_spool *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->dirfd = -1;
	if (strlen(dir) >= sizeof(s->dir)) {
		snprintf(err, errlen, "spool %s: path too long", dir);
		goto fail;
	}
	strcpy(s->dir, dir);
	s->max_bytes = max_bytes;
	s->policy = policy;
	s->next_seq = 1;
	/* Reached without following a link another user could have planted
	 * (safe_path.h); inside it nothing is ever followed (O_NOFOLLOW, O_EXCL,
	 * AT_SYMLINK_NOFOLLOW). */
	size_t whylen = errlen;
	char *why = rw_err_after(err, &whylen, "spool ");
	if (rw_safe_mkdir(dir, 0700, why, whylen) < 0 ||
	    (s->dirfd = rw_safe_open(dir, O_RDONLY | O_DIRECTORY, 0, why, whylen)) < 0)
		goto fail;
	int fd = dup(s->dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "spool %s: %s", dir, strerror(errno));
		goto fail;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		uint64_t seq;
		if (!strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX))) {
			/* A write that a crash interrupted: never renamed, never counted. */
			unlinkat(s->dirfd, de->d_name, 0);
			continue;
		}
		if (!parse_name(de->d_name, &seq))
			continue;
		struct stat st;
		if (fstatat(s->dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			/* Not rdpwhy's: someone who can write here planted it (to have
			 * a file of root's sent, chowned or removed). */
			snprintf(err, errlen,
			         "spool %s: %s is a symbolic link, not a spooled record; rdpwhy "
			         "follows no link in its spool: remove it",
			         dir, de->d_name);
			closedir(d); /* de is gone with it */
			goto fail;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		if (push(s, seq, (uint64_t)st.st_size) < 0) {
			closedir(d);
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	closedir(d);
	if (s->n)
		qsort(s->e, s->n, sizeof(*s->e), cmp_entry);
	if (s->n)
		s->next_seq = s->e[s->n - 1].seq + 1;
	return s;
fail:
	rw_spool_close(s);
	return NULL;
}

void rw_spool_close(struct rw_spool *s)
{
	if (!s)
		return;
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->e);
	free(s);
}

int rw_spool_chown(struct rw_spool *s, unsigned uid, unsigned gid)
{
	if (fchown(s->dirfd, (uid_t)uid, (gid_t)gid) < 0)
		return -1;
	char name[SEQ_DIGITS + 1];
	for (size_t i = s->head; i < s->n; i++) {
		name_of(s->e[i].seq, name);
		if (fchownat(s->dirfd, name, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW) < 0 &&
		    errno != ENOENT)
			return -1;
	}
	return 0;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int rw_spool_put(struct rw_spool *s, const void *p, size_t n, uint64_t *seq)
{
	if ((uint64_t)n > s->max_bytes) {
		s->st.dropped++;
		return 1;
	}
	while (s->st.bytes + n > s->max_bytes) {
		if (s->policy == RW_SPOOL_DROP_NEWEST || s->head == s->n) {
			s->st.dropped++;
			return 1;
		}
		remove_first(s);
		s->st.dropped++;
	}
	uint64_t q = s->next_seq;
	char tmp[sizeof(TMP_PREFIX) + SEQ_DIGITS], name[SEQ_DIGITS + 1];
	name_of(q, name);
	snprintf(tmp, sizeof(tmp), TMP_PREFIX "%s", name);
	/* A new file: O_EXCL never opens what is there (a planted link); what is
	 * there under our temporary name is removed (the link, not its target). */
	int fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST && unlinkat(s->dirfd, tmp, 0) == 0)
		fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		            0600);
	if (fd < 0)
		return -1;
	if (write_all(fd, p, n) < 0 || fsync(fd) < 0) {
		int e = errno;
		close(fd);
		unlinkat(s->dirfd, tmp, 0);
		errno = e;
		return -1;
	}
	close(fd);
	if (renameat(s->dirfd, tmp, s->dirfd, name) < 0) {
		int e = errno;
		unlinkat(s->dirfd, tmp, 0);
		errno = e;
		return -1;
	}
	fsync(s->dirfd);
	if (push(s, q, n) < 0) {
		unlinkat(s->dirfd, name, 0);
		errno = ENOMEM;
		return -1;
	}
	s->next_seq = q + 1;
	s->st.spooled++;
	*seq = q;
	return 0;
}

bool rw_spool_next(const struct rw_spool *s, uint64_t after, uint64_t *seq)
{
	/* Binary search for the first entry above `after`. */
	size_t lo = s->head, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->e[mid].seq <= after)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == s->n)
		return false;
	*seq = s->e[lo].seq;
	return true;
}

int rw_spool_read(const struct rw_spool *s, uint64_t seq, struct rw_buf *out)
{
	char name[SEQ_DIGITS + 1];
	name_of(seq, name);
	rw_buf_reset(out);
	int fd = openat(s->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char chunk[8192];
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (r > 0 && rw_buf_append(out, chunk, (size_t)r) < 0)) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
	}
	close(fd);
	return 0;
}

void rw_spool_ack(struct rw_spool *s, uint64_t seq)
{
	while (s->head < s->n && s->e[s->head].seq <= seq) {
		remove_first(s);
		s->st.acked++;
	}
}

int rw_spool_reject_first(struct rw_spool *s, uint64_t *seq)
{
	if (s->head >= s->n) {
		errno = ENOENT;
		return -1;
	}
	char name[SEQ_DIGITS + 1];
	name_of(s->e[s->head].seq, name);
	if (mkdirat(s->dirfd, RW_SPOOL_REJECTED, 0700) < 0 && errno != EEXIST)
		return -1;
	/* Into the directory itself, never where a link in its place points. */
	int rej = openat(s->dirfd, RW_SPOOL_REJECTED,
	                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rej < 0)
		return -1;
	int rc = renameat(s->dirfd, name, rej, name);
	int e = errno;
	close(rej);
	if (rc < 0) {
		errno = e;
		return -1;
	}
	fsync(s->dirfd);
	*seq = s->e[s->head].seq;
	s->st.count--;
	s->st.bytes -= s->e[s->head].size;
	s->st.rejected++;
	s->head++;
	if (s->head == s->n)
		s->head = s->n = 0;
	return 0;
}

void rw_spool_stats(const struct rw_spool *s, struct rw_spool_stats *out)
{
	*out = s->st;
}

const char *rw_spool_dir(const struct rw_spool *s)
{
	return s->dir;
}
