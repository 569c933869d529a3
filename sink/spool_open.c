/* Opening a spool directory: index what a previous run left, in either
 * format, and repair what a crash left (spool.h, spool_seg.h). */
#include "spool_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safe_path.h"

/* The smallest and largest segment: a segment is deleted only when all its
 * records have left, so disk use can pass spool_max by about one segment;
 * a sixteenth of the bound keeps that small, 4 MiB keeps deletions
 * frequent on a large spool, 64 KiB keeps a tiny one from a segment per
 * batch. */
#define SEG_TARGET_MIN (64u * 1024)
#define SEG_TARGET_MAX (4u * 1024 * 1024)

/* A name of digits only, SEQ_DIGITS of them, then suffix: its number. */
static bool parse_name(const char *name, const char *suffix, uint64_t *seq)
{
	size_t slen = strlen(suffix);
	if (strlen(name) != RW_SPOOL_SEQ_DIGITS + slen ||
	    strcmp(name + RW_SPOOL_SEQ_DIGITS, suffix))
		return false;
	uint64_t v = 0;
	for (const char *p = name; p < name + RW_SPOOL_SEQ_DIGITS; p++) {
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

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct rw_spool_entry *x = a, *y = b;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	/* The same record twice (a batch rewritten after a failed commit
	 * whose segment could not be cut back): either copy is whole. */
	return x->seg < y->seg ? -1 : x->seg > y->seg;
}

static void read_removed(struct rw_spool *s, uint64_t *w)
{
	int fd = openat(s->dirfd, RW_SPOOL_REMOVED, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	uint8_t b[RW_ACK_LEN + 1];
	ssize_t r = read(fd, b, sizeof(b));
	close(fd);
	/* Unreadable or damaged (it is written without fsync): records come
	 * back and are sent again, which is a duplicate, never a loss. */
	if (r > 0 && !rw_ack_decode(b, (size_t)r, w))
		*w = 0;
}

struct scan {
	struct rw_spool *s;
	uint64_t id;
	bool oom;
};

static bool on_seg_record(const struct rw_seg_rec *r, void *arg)
{
	struct scan *sc = arg;
	if (rw_spool_push(sc->s, (struct rw_spool_entry){r->seq, sc->id, r->off, r->len}) < 0) {
		sc->oom = true;
		return false;
	}
	return true;
}

/* Indexes one segment's intact records and cuts off a torn tail. -1 only
 * for what stops the open (out of memory); an unreadable segment is
 * reported in err and fails the open too, rather than being skipped and
 * its records forgotten. */
static int scan_segment(struct rw_spool *s, uint64_t id, char *err, size_t errlen)
{
	char name[RW_SPOOL_NAME_MAX];
	rw_spool_name(id, true, name);
	int fd = openat(s->dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "spool %s: %s: %s", s->dir, name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	size_t size = (size_t)st.st_size, valid = 0;
	uint64_t records = 0;
	struct scan sc = {s, id, false};
	if (size >= RW_SEG_MAGIC_LEN) {
		void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m == MAP_FAILED) {
			snprintf(err, errlen, "spool %s: %s: %s", s->dir, name, strerror(errno));
			close(fd);
			return -1;
		}
		valid = rw_seg_parse(m, size, on_seg_record, &sc, &records);
		munmap(m, size);
	}
	if (sc.oom) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (valid < size) {
		/* Bytes no commit ever reported durable. Cut off, so that they
		 * are counted once and the segment ends where its records do. */
		s->st.torn++;
		if (valid == 0) {
			/* Not even the magic: the crash hit the segment's first
			 * batch, before anything in it was durable. */
			close(fd);
			unlinkat(s->dirfd, name, 0);
			return 0;
		}
		if (ftruncate(fd, (off_t)valid) == 0)
			fsync(fd);
	}
	close(fd);
	return rw_spool_seg_add(s, id);
}

/* Reads the directory: records of the old format into the index, segment
 * ids into *ids, the "removed" mark into *w; temporary files removed. */
static int read_dir(struct rw_spool *s, uint64_t **ids, size_t *nids, uint64_t *w, char *err,
                    size_t errlen)
{
	int fd = dup(s->dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "spool %s: %s", s->dir, strerror(errno));
		return -1;
	}
	size_t cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		uint64_t seq = 0;
		bool legacy = false, seg = false, removed = !strcmp(de->d_name, RW_SPOOL_REMOVED);
		if (!strncmp(de->d_name, RW_SPOOL_TMP_PREFIX, strlen(RW_SPOOL_TMP_PREFIX))) {
			/* An old-format write that a crash interrupted: never
			 * renamed, never counted. */
			unlinkat(s->dirfd, de->d_name, 0);
			continue;
		}
		if (!removed && !(legacy = parse_name(de->d_name, "", &seq)) &&
		    !(seg = parse_name(de->d_name, RW_SEG_SUFFIX, &seq)))
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
			         s->dir, de->d_name);
			closedir(d); /* de is gone with it */
			return -1;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		int rc = 0;
		if (removed) {
			read_removed(s, w);
		} else if (legacy) {
			rc = rw_spool_push(
			        s, (struct rw_spool_entry){seq, 0, 0, (uint64_t)st.st_size});
		} else if (seg) {
			if (*nids == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				uint64_t *n = realloc(*ids, ncap * sizeof(*n));
				if (!n)
					rc = -1;
				else
					*ids = n, cap = ncap;
			}
			if (rc == 0)
				(*ids)[(*nids)++] = seq;
		}
		if (rc < 0) {
			closedir(d);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	closedir(d);
	return 0;
}

/* Sorts the index, keeps one copy of each record, forgets what the
 * "removed" mark says has left (deleting old-format files the previous run
 * could not), counts each segment's records and deletes empty segments. */
static void settle(struct rw_spool *s, uint64_t w)
{
	if (s->n)
		qsort(s->e, s->n, sizeof(*s->e), cmp_entry);
	size_t k = 0;
	for (size_t i = 0; i < s->n; i++) {
		struct rw_spool_entry *en = &s->e[i];
		if (k && s->e[k - 1].seq == en->seq)
			continue;
		if (en->seq <= w) {
			if (!en->seg) {
				char name[RW_SPOOL_NAME_MAX];
				rw_spool_name(en->seq, false, name);
				unlinkat(s->dirfd, name, 0);
			}
			continue;
		}
		s->e[k++] = *en;
	}
	s->n = k;
	for (size_t i = 0; i < s->n; i++) {
		struct rw_spool_entry *en = &s->e[i];
		s->st.count++;
		s->st.bytes += en->size;
		if (!en->seg) {
			s->st.legacy++;
			continue;
		}
		struct rw_spool_seg *g = rw_spool_seg_find(s, en->seg);
		if (g)
			g->live++;
	}
	for (size_t i = 0; i < s->nsegs;) {
		if (s->segs[i].live == 0)
			rw_spool_seg_delete(s, s->segs[i].id); /* shifts the rest down */
		else
			i++;
	}
}

struct rw_spool *rw_spool_open(const char *dir, uint64_t max_bytes, enum rw_spool_policy policy,
                               char *err, size_t errlen)
{
	struct rw_spool *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->dirfd = s->afd = s->rfd = s->removed_fd = -1;
	rw_buf_init(&s->batch, 0);
	uint64_t *ids = NULL;
	size_t nids = 0;
	if (strlen(dir) >= sizeof(s->dir)) {
		snprintf(err, errlen, "spool %s: path too long", dir);
		goto fail;
	}
	strcpy(s->dir, dir);
	s->max_bytes = max_bytes;
	s->policy = policy;
	s->seg_target = max_bytes / 16;
	if (s->seg_target < SEG_TARGET_MIN)
		s->seg_target = SEG_TARGET_MIN;
	if (s->seg_target > SEG_TARGET_MAX)
		s->seg_target = SEG_TARGET_MAX;
	/* Reached without following a link another user could have planted
	 * (safe_path.h); inside it nothing is ever followed (O_NOFOLLOW, O_EXCL,
	 * AT_SYMLINK_NOFOLLOW). */
	size_t whylen = errlen;
	char *why = rw_err_after(err, &whylen, "spool ");
	if (rw_safe_mkdir(dir, 0700, why, whylen) < 0 ||
	    (s->dirfd = rw_safe_open(dir, O_RDONLY | O_DIRECTORY, 0, why, whylen)) < 0)
		goto fail;
	uint64_t w = 0;
	if (read_dir(s, &ids, &nids, &w, err, errlen) < 0)
		goto fail;
	if (nids)
		qsort(ids, nids, sizeof(*ids), cmp_u64);
	for (size_t i = 0; i < nids; i++)
		if (scan_segment(s, ids[i], err, errlen) < 0)
			goto fail;
	free(ids);
	ids = NULL;
	settle(s, w);
	s->removed_upto = s->removed_disk = w;
	/* Above everything seen, the mark included: a number at or below it
	 * would be taken for a record that already left. */
	uint64_t top = w;
	if (s->n && s->e[s->n - 1].seq > top)
		top = s->e[s->n - 1].seq;
	if (s->nsegs && s->segs[s->nsegs - 1].id > top)
		top = s->segs[s->nsegs - 1].id;
	s->next_seq = top + 1;
	return s;
fail:
	free(ids);
	rw_spool_close(s);
	return NULL;
}
