/* The on-disk spool of outgoing records, after opening (spool_open.c):
 * the batch and its commit, reading, acknowledgement, the bound, rejects.
 * See spool.h and, for the bytes, spool_seg.h. */
#include "spool_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* The segment of a record still in the batch: none yet. */
#define SEG_PENDING UINT64_MAX

int rw_spool_policy_parse(const char *s)
{
	if (!strcmp(s, "drop-oldest") || !strcmp(s, "drop_oldest"))
		return RW_SPOOL_DROP_OLDEST;
	if (!strcmp(s, "drop-newest") || !strcmp(s, "drop_newest"))
		return RW_SPOOL_DROP_NEWEST;
	return -1;
}

void rw_spool_name(uint64_t seq, bool seg, char out[RW_SPOOL_NAME_MAX])
{
	snprintf(out, RW_SPOOL_NAME_MAX, "%0*" PRIu64 "%s", RW_SPOOL_SEQ_DIGITS, seq,
	         seg ? RW_SEG_SUFFIX : "");
}

int rw_spool_push(struct rw_spool *s, struct rw_spool_entry en)
{
	if (s->n == s->cap) {
		if (s->head > 0) {
			memmove(s->e, s->e + s->head, (s->n - s->head) * sizeof(*s->e));
			s->n -= s->head;
			s->head = 0;
		}
		if (s->n == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 64;
			struct rw_spool_entry *e = realloc(s->e, cap * sizeof(*e));
			if (!e)
				return -1;
			s->e = e;
			s->cap = cap;
		}
	}
	s->e[s->n++] = en;
	return 0;
}

int rw_spool_seg_add(struct rw_spool *s, uint64_t id)
{
	if (s->nsegs == s->segcap) {
		size_t cap = s->segcap ? s->segcap * 2 : 16;
		struct rw_spool_seg *g = realloc(s->segs, cap * sizeof(*g));
		if (!g)
			return -1;
		s->segs = g;
		s->segcap = cap;
	}
	s->segs[s->nsegs++] = (struct rw_spool_seg){id, 0};
	return 0;
}

static size_t seg_index(const struct rw_spool *s, uint64_t id)
{
	size_t lo = 0, hi = s->nsegs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->segs[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct rw_spool_seg *rw_spool_seg_find(struct rw_spool *s, uint64_t id)
{
	size_t i = seg_index(s, id);
	return i < s->nsegs && s->segs[i].id == id ? &s->segs[i] : NULL;
}

void rw_spool_seg_delete(struct rw_spool *s, uint64_t id)
{
	if (s->rfd >= 0 && s->rid == id) {
		close(s->rfd);
		s->rfd = -1;
	}
	if (s->afd >= 0 && s->aid == id) {
		close(s->afd);
		s->afd = -1;
	}
	char name[RW_SPOOL_NAME_MAX];
	rw_spool_name(id, true, name);
	/* If this fails the segment comes back after a restart, its records
	 * above the "removed" mark sent again: duplicates, not a loss. */
	(void)unlinkat(s->dirfd, name, 0);
	size_t i = seg_index(s, id);
	if (i < s->nsegs && s->segs[i].id == id) {
		memmove(s->segs + i, s->segs + i + 1, (s->nsegs - i - 1) * sizeof(*s->segs));
		s->nsegs--;
	}
}

/* Writes how far records have left the spool, if that moved. Without
 * fsync, and a failure is ignored: a mark that is behind (or lost) only
 * makes records that already left come back after a crash, to be sent
 * again — a duplicate, never a loss. */
static void save_removed(struct rw_spool *s)
{
	if (s->removed_upto == s->removed_disk)
		return;
	if (s->removed_fd < 0)
		s->removed_fd = openat(s->dirfd, RW_SPOOL_REMOVED,
		                       O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (s->removed_fd < 0)
		return;
	uint8_t b[RW_ACK_LEN];
	rw_ack_encode(b, s->removed_upto);
	if (pwrite(s->removed_fd, b, sizeof(b), 0) == (ssize_t)sizeof(b))
		s->removed_disk = s->removed_upto;
}

/* The oldest record leaves the spool (delivered, dropped or set aside). */
static void forget_first(struct rw_spool *s, bool unlink_file)
{
	const struct rw_spool_entry en = s->e[s->head];
	if (!en.seg) {
		char name[RW_SPOOL_NAME_MAX];
		rw_spool_name(en.seq, false, name);
		/* If this fails the file comes back after a restart below the
		 * mark, and open removes it then. */
		if (unlink_file)
			(void)unlinkat(s->dirfd, name, 0);
		s->st.legacy--;
	} else {
		struct rw_spool_seg *g = rw_spool_seg_find(s, en.seg);
		/* The active segment too: the next commit starts a new one. */
		if (g && --g->live == 0)
			rw_spool_seg_delete(s, en.seg);
	}
	s->removed_upto = en.seq;
	s->st.count--;
	s->st.bytes -= en.size;
	s->head++;
	if (s->head == s->n)
		s->head = s->n = 0;
}

void rw_spool_close(struct rw_spool *s)
{
	if (!s)
		return;
	if (s->dirfd >= 0)
		save_removed(s);
	if (s->afd >= 0)
		close(s->afd);
	if (s->rfd >= 0)
		close(s->rfd);
	if (s->removed_fd >= 0)
		close(s->removed_fd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	rw_buf_free(&s->batch);
	free(s->segs);
	free(s->e);
	free(s);
}

static int chown_name(struct rw_spool *s, const char *name, unsigned uid, unsigned gid)
{
	if (fchownat(s->dirfd, name, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW) < 0 &&
	    errno != ENOENT)
		return -1;
	return 0;
}

int rw_spool_chown(struct rw_spool *s, unsigned uid, unsigned gid)
{
	if (fchown(s->dirfd, (uid_t)uid, (gid_t)gid) < 0)
		return -1;
	char name[RW_SPOOL_NAME_MAX];
	for (size_t i = s->head; i < s->n; i++) {
		if (s->e[i].seg)
			continue;
		rw_spool_name(s->e[i].seq, false, name);
		if (chown_name(s, name, uid, gid) < 0)
			return -1;
	}
	for (size_t i = 0; i < s->nsegs; i++) {
		rw_spool_name(s->segs[i].id, true, name);
		if (chown_name(s, name, uid, gid) < 0)
			return -1;
	}
	return chown_name(s, RW_SPOOL_REMOVED, uid, gid);
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

/* pwrite of the whole of iov at off (short writes continued). */
static int pwritev_all(int fd, struct iovec *iov, int cnt, uint64_t off)
{
	while (cnt > 0) {
		ssize_t w = pwritev(fd, iov, cnt, (off_t)off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += (uint64_t)w;
		while (cnt > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* A new segment for the batch, named by its first record. */
static int start_segment(struct rw_spool *s, uint64_t id)
{
	char name[RW_SPOOL_NAME_MAX];
	rw_spool_name(id, true, name);
	/* O_EXCL never opens what is there (a planted link). What can be
	 * there under this name holds nothing durable: ids only grow, and a
	 * segment whose first commit failed is deleted — or, if that failed,
	 * is this leftover, which is removed (the link, not its target). */
	int fd = openat(s->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST && unlinkat(s->dirfd, name, 0) == 0)
		fd = openat(s->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		            0600);
	if (fd < 0)
		return -1;
	if (rw_spool_seg_add(s, id) < 0) {
		close(fd);
		unlinkat(s->dirfd, name, 0);
		errno = ENOMEM;
		return -1;
	}
	s->afd = fd;
	s->aid = id;
	s->asize = 0;
	return 0;
}

/* A commit failed: nothing of the batch counts. A new segment goes (it
 * holds nothing durable); an older one is cut back to its durable length
 * and takes no more batches — after a failed fsync the kernel may have
 * dropped the pages it could not write, so the file's state past that
 * point is not to be trusted or appended to. */
static void abandon_segment(struct rw_spool *s, bool fresh)
{
	if (fresh) {
		rw_spool_seg_delete(s, s->aid);
		return;
	}
	/* If the cut fails, whole records of the batch may stay behind it:
	 * open keeps one copy of each number, and they come again in the
	 * next segment — a duplicate at worst. */
	(void)ftruncate(s->afd, (off_t)s->asize);
	close(s->afd);
	s->afd = -1;
}

int rw_spool_commit(struct rw_spool *s)
{
	if (!s->npending)
		return 0;
	size_t first = s->n - s->npending;
	bool fresh = s->afd < 0;
	if (fresh && start_segment(s, s->e[first].seq) < 0)
		return -1;
	struct iovec iov[2];
	int cnt = 0;
	if (fresh)
		iov[cnt++] = (struct iovec){(void *)RW_SEG_MAGIC, RW_SEG_MAGIC_LEN};
	iov[cnt++] = (struct iovec){s->batch.data, s->batch.len};
	/* fdatasync: the data and the file's new length, which is all an
	 * append changes. A new segment's name is durable only once the
	 * directory is synced too. */
	if (pwritev_all(s->afd, iov, cnt, s->asize) < 0 || fdatasync(s->afd) < 0 ||
	    (fresh && fsync(s->dirfd) < 0)) {
		int e = errno;
		abandon_segment(s, fresh);
		errno = e;
		return -1;
	}
	uint64_t base = s->asize + (fresh ? RW_SEG_MAGIC_LEN : 0);
	for (size_t i = first; i < s->n; i++) {
		s->e[i].seg = s->aid;
		s->e[i].off += base;
	}
	struct rw_spool_seg *g = rw_spool_seg_find(s, s->aid);
	if (g)
		g->live += s->npending;
	s->asize = base + s->batch.len;
	int done = (int)s->npending;
	s->st.spooled += s->npending;
	s->st.pending = 0;
	s->st.commits++;
	s->npending = 0;
	rw_buf_reset(&s->batch);
	if (s->asize >= s->seg_target) {
		/* Full: the next batch starts a new segment, so that this one
		 * can be deleted once its records are delivered. */
		close(s->afd);
		s->afd = -1;
	}
	save_removed(s);
	return done;
}

int rw_spool_put(struct rw_spool *s, const void *p, size_t n, uint64_t *seq)
{
	if ((uint64_t)n > s->max_bytes || n > RW_SEG_RECORD_MAX) {
		s->st.dropped++;
		return 1;
	}
	if (s->npending &&
	    (s->npending >= RW_SPOOL_BATCH_RECORDS ||
	     s->batch.len + RW_SEG_HDR + n > RW_SPOOL_BATCH_BYTES) &&
	    rw_spool_commit(s) < 0)
		return -1;
	while (s->st.bytes + n > s->max_bytes) {
		if (s->policy == RW_SPOOL_DROP_NEWEST || s->head == s->n) {
			s->st.dropped++;
			return 1;
		}
		/* The oldest record is still in the batch (a bound smaller than a
		 * batch): commit it, then remove it like any other. */
		if (s->head == s->n - s->npending && rw_spool_commit(s) < 0)
			return -1;
		forget_first(s, true);
		s->st.dropped++;
	}
	uint64_t q = s->next_seq;
	uint8_t hdr[RW_SEG_HDR];
	rw_seg_header(hdr, q, p, (uint32_t)n);
	size_t off = s->batch.len;
	if (rw_buf_reserve(&s->batch, sizeof(hdr) + n) < 0 ||
	    rw_buf_append(&s->batch, hdr, sizeof(hdr)) < 0 ||
	    (n && rw_buf_append(&s->batch, p, n) < 0) ||
	    rw_spool_push(s, (struct rw_spool_entry){q, SEG_PENDING, off, n}) < 0) {
		rw_buf_truncate(&s->batch, off);
		errno = ENOMEM;
		return -1;
	}
	s->npending++;
	s->st.pending++;
	s->st.count++;
	s->st.bytes += n;
	s->next_seq = q + 1;
	*seq = q;
	return 0;
}

/* The first durable entry above `after`. */
static size_t lower_bound(const struct rw_spool *s, uint64_t after)
{
	size_t lo = s->head, hi = s->n - s->npending;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->e[mid].seq <= after)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool rw_spool_next(const struct rw_spool *s, uint64_t after, uint64_t *seq)
{
	size_t i = lower_bound(s, after);
	if (i == s->n - s->npending)
		return false;
	*seq = s->e[i].seq;
	return true;
}

static ssize_t pread_all(int fd, void *p, size_t n, uint64_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, (char *)p + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Reads fd from off (n bytes, or to the end when n is SIZE_MAX) into out. */
static int read_into(int fd, uint64_t off, size_t n, struct rw_buf *out)
{
	char chunk[8192];
	while (n) {
		size_t want = n < sizeof(chunk) ? n : sizeof(chunk);
		ssize_t r = pread_all(fd, chunk, want, off);
		if (r < 0 || (r > 0 && rw_buf_append(out, chunk, (size_t)r) < 0))
			return -1;
		if (r == 0) {
			if (n == SIZE_MAX)
				return 0;
			errno = EIO; /* shorter than its index entry says */
			return -1;
		}
		off += (uint64_t)r;
		if (n != SIZE_MAX)
			n -= (size_t)r;
	}
	return 0;
}

static int read_segment(struct rw_spool *s, const struct rw_spool_entry *en, struct rw_buf *out)
{
	if (s->rfd < 0 || s->rid != en->seg) {
		if (s->rfd >= 0)
			close(s->rfd);
		char name[RW_SPOOL_NAME_MAX];
		rw_spool_name(en->seg, true, name);
		s->rfd = openat(s->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (s->rfd < 0)
			return -1;
		s->rid = en->seg;
	}
	uint8_t hdr[RW_SEG_HDR], want[RW_SEG_HDR];
	ssize_t r = pread_all(s->rfd, hdr, sizeof(hdr), en->off);
	if (r < 0)
		return -1;
	if (r != (ssize_t)sizeof(hdr) || read_into(s->rfd, en->off + RW_SEG_HDR, en->size, out) < 0)
		goto damaged;
	/* Checked again: the disk may have changed it since open. */
	rw_seg_header(want, en->seq, out->data, (uint32_t)en->size);
	if (memcmp(hdr, want, sizeof(hdr)) != 0)
		goto damaged;
	return 0;
damaged:
	if (errno != ENOMEM)
		errno = EIO;
	return -1;
}

int rw_spool_read(struct rw_spool *s, uint64_t seq, struct rw_buf *out)
{
	rw_buf_reset(out);
	size_t i = lower_bound(s, seq - 1);
	if (seq == 0 || i == s->n - s->npending || s->e[i].seq != seq) {
		errno = ENOENT;
		return -1;
	}
	if (s->e[i].seg)
		return read_segment(s, &s->e[i], out);
	char name[RW_SPOOL_NAME_MAX];
	rw_spool_name(seq, false, name);
	int fd = openat(s->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = read_into(fd, 0, SIZE_MAX, out);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

void rw_spool_ack(struct rw_spool *s, uint64_t seq)
{
	bool any = false;
	while (s->head < s->n - s->npending && s->e[s->head].seq <= seq) {
		forget_first(s, true);
		s->st.acked++;
		any = true;
	}
	if (any)
		save_removed(s);
}

/* A copy of a segment's record as a file of its own in rej, synced. */
static int copy_out(struct rw_spool *s, int rej, const struct rw_spool_entry *en)
{
	struct rw_buf b;
	rw_buf_init(&b, 0);
	char name[RW_SPOOL_NAME_MAX];
	rw_spool_name(en->seq, false, name);
	int fd = -1, rc = -1;
	if (read_segment(s, en, &b) < 0)
		goto out;
	/* Set aside once before (the mark was behind at a restart): the same
	 * record, replaced. */
	fd = openat(rej, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST && unlinkat(rej, name, 0) == 0)
		fd = openat(rej, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, b.data ? b.data : "", b.len) < 0 || fsync(fd) < 0 ||
	    fsync(rej) < 0) {
		if (fd >= 0)
			unlinkat(rej, name, 0);
		goto out;
	}
	rc = 0;
out:;
	int e = errno;
	if (fd >= 0)
		close(fd);
	rw_buf_free(&b);
	errno = e;
	return rc;
}

int rw_spool_reject_first(struct rw_spool *s, uint64_t *seq)
{
	if (s->head >= s->n - s->npending) {
		errno = ENOENT;
		return -1;
	}
	const struct rw_spool_entry en = s->e[s->head];
	if (mkdirat(s->dirfd, RW_SPOOL_REJECTED, 0700) < 0 && errno != EEXIST)
		return -1;
	/* Into the directory itself, never where a link in its place points. */
	int rej = openat(s->dirfd, RW_SPOOL_REJECTED,
	                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rej < 0)
		return -1;
	int rc;
	if (en.seg) {
		rc = copy_out(s, rej, &en);
	} else {
		char name[RW_SPOOL_NAME_MAX];
		rw_spool_name(en.seq, false, name);
		rc = renameat(s->dirfd, name, rej, name);
		if (rc == 0)
			fsync(rej);
	}
	int e = errno;
	close(rej);
	if (rc < 0) {
		errno = e;
		return -1;
	}
	fsync(s->dirfd);
	forget_first(s, false);
	s->st.rejected++;
	save_removed(s);
	*seq = en.seq;
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
