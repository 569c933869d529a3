/* The pcap ring and its writer thread (pcap_queue.h).
 *
 * The ring holds entries [file pointer, length, record] back to back, each
 * padded to 8 bytes; an entry never wraps: at the end of the ring a marker
 * (or fewer than a header's bytes, skipped implicitly) sends the reader back
 * to the start. head and tail count bytes since the start, so head - tail is
 * the fill. One mutex guards head, tail and the close list; the producer
 * holds it for one memcpy of at most a frame, the writer only to read head,
 * move tail and take the files to close - never across a system call, so a
 * writer stuck in write(2) on a frozen file system cannot stall the relay.
 *
 * Closing: a file's last entry is before the head at the time the producer
 * closes it, so the producer notes that position (close_at) and the writer
 * closes the file once tail has passed it. Closing never needs ring space:
 * a full ring cannot leak a descriptor. */
#include "pcap_queue.h"
#include "pcap_dircap.h"
#include "pcap_file.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <syslog.h>
#include <time.h>

#define ENTRY_HDR      16 /* file pointer, length, padding */
#define MIN_RING       (64 * 1024)
#define BATCH_MAX      (1024 * 1024) /* tail moves at least this often */
#define FULL_LOG_EVERY 10            /* seconds between "queue full" lines */

struct entry_hdr {
	struct rw_pcapq_file *f; /* NULL: wrap marker */
	uint32_t len;            /* record bytes that follow */
	uint32_t pad;
};

struct rw_pcapq_file {
	/* Set by the producer before the file is first queued or closed. */
	char *dir;
	struct rw_endpoint ep[2];
	uint64_t ts_us;
	uint64_t max_total;
	uint64_t close_at; /* head when the producer closed it */
	/* Producer's counts, read by the writer after the close (mutex). */
	uint64_t queue_frames, queue_bytes, trunc_bytes, dead_bytes;
	atomic_bool dead; /* set by the writer: the file failed */
	/* The writer's. */
	bool tried;   /* creation attempted */
	bool created; /* file open */
	bool write_failed_logged;
	uint64_t over_total_bytes, uncreated_bytes;
	struct rw_pcapf file;
	TAILQ_ENTRY(rw_pcapq_file) closing; /* producer -> writer */
	LIST_ENTRY(rw_pcapq_file) open;     /* writer: files with a descriptor */
	LIST_ENTRY(rw_pcapq_file) dirty;    /* writer: bytes buffered */
	bool is_dirty;
};

struct rw_pcapq {
	uint8_t *ring;
	size_t cap;
	/* A copy: a writer left blocked at exit (rw_pcapq_free) may still log
	 * after the caller's log is gone. */
	struct rw_log logcopy;
	struct rw_log *log;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t wake; /* the writer: something to do */
	pthread_cond_t done; /* rw_pcapq_free: the writer finished */
	/* Under mu. */
	uint64_t head, tail;
	bool waiting, stop, finished;
	TAILQ_HEAD(, rw_pcapq_file) to_close;
	struct rw_pcapq_stats st;
	time_t last_full_log;
	uint64_t full_since_log;
	/* The writer's alone. */
	LIST_HEAD(, rw_pcapq_file) open_files;
	LIST_HEAD(, rw_pcapq_file) dirty_files;
	struct rw_pcapdir dircap;
};

static size_t entry_size(size_t n)
{
	return (ENTRY_HDR + n + 7) & ~(size_t)7;
}

static time_t mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* ---- producer ------------------------------------------------------------ */

struct rw_pcapq_file *rw_pcapq_file_new(struct rw_pcapq *q, const char *dir,
                                        const struct rw_endpoint ep[2], uint64_t ts_us,
                                        uint64_t max_total)
{
	struct rw_pcapq_file *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->dir = strdup(dir);
	if (!f->dir) {
		free(f);
		return NULL;
	}
	f->ep[0] = ep[0];
	f->ep[1] = ep[1];
	f->ts_us = ts_us;
	f->max_total = max_total;
	f->file.fd = -1;
	atomic_init(&f->dead, false);
	pthread_mutex_lock(&q->mu);
	q->st.files++;
	pthread_mutex_unlock(&q->mu);
	return f;
}

/* Under mu: one warning every FULL_LOG_EVERY seconds at most, whatever the
 * number of connections; each file's own line comes when it is closed. */
static void note_full(struct rw_pcapq *q)
{
	q->full_since_log++;
	time_t now = mono_s();
	if (q->last_full_log && now - q->last_full_log < FULL_LOG_EVERY)
		return;
	rw_logx(q->log, LOG_WARNING,
	        "pcap: queue full (pcap_queue_max %zu bytes, the disk is slower than the relay): "
	        "%llu frames dropped since the last such line, %llu in all",
	        q->cap, (unsigned long long)q->full_since_log,
	        (unsigned long long)q->st.queue_drop_frames);
	q->last_full_log = now;
	q->full_since_log = 0;
}

/* Under mu: whether a record of n bytes has no room now; if so it is
 * counted as dropped. *waste: the ring's tail end skipped to fit it. */
static bool no_room(struct rw_pcapq *q, struct rw_pcapq_file *f, size_t n, size_t *waste)
{
	size_t need = entry_size(n);
	size_t idx = (size_t)(q->head % q->cap), to_end = q->cap - idx;
	*waste = to_end < need ? to_end : 0;
	if (n <= UINT32_MAX && q->head - q->tail + *waste + need <= q->cap)
		return false;
	q->st.queue_drop_frames++;
	q->st.queue_drop_bytes += n;
	f->queue_frames++;
	f->queue_bytes += n;
	note_full(q);
	return true;
}

bool rw_pcapq_full(struct rw_pcapq *q, struct rw_pcapq_file *f, size_t n)
{
	size_t waste;
	pthread_mutex_lock(&q->mu);
	bool full = no_room(q, f, n, &waste);
	pthread_mutex_unlock(&q->mu);
	return full;
}

int rw_pcapq_put(struct rw_pcapq *q, struct rw_pcapq_file *f, const void *rec, size_t n)
{
	size_t need = entry_size(n), waste;
	pthread_mutex_lock(&q->mu);
	size_t idx = (size_t)(q->head % q->cap);
	if (no_room(q, f, n, &waste)) {
		pthread_mutex_unlock(&q->mu);
		return -1;
	}
	if (waste) {
		if (waste >= ENTRY_HDR) {
			struct entry_hdr m = {NULL, 0, 0};
			memcpy(q->ring + idx, &m, sizeof(m));
		}
		q->head += waste;
		idx = 0;
	}
	struct entry_hdr h = {f, (uint32_t)n, 0};
	memcpy(q->ring + idx, &h, sizeof(h));
	memcpy(q->ring + idx + ENTRY_HDR, rec, n);
	q->head += need;
	if (q->waiting)
		pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

void rw_pcapq_truncated(struct rw_pcapq *q, struct rw_pcapq_file *f, size_t n)
{
	pthread_mutex_lock(&q->mu);
	if (!f->trunc_bytes)
		q->st.truncated_files++;
	q->st.truncated_bytes += n;
	f->trunc_bytes += n;
	pthread_mutex_unlock(&q->mu);
}

bool rw_pcapq_file_dead(const struct rw_pcapq_file *f)
{
	return atomic_load_explicit(&f->dead, memory_order_relaxed);
}

void rw_pcapq_lost(struct rw_pcapq_file *f, size_t n)
{
	f->dead_bytes += n;
}

void rw_pcapq_file_close(struct rw_pcapq *q, struct rw_pcapq_file *f)
{
	pthread_mutex_lock(&q->mu);
	f->close_at = q->head;
	TAILQ_INSERT_TAIL(&q->to_close, f, closing);
	if (q->waiting)
		pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->mu);
}

/* ---- writer -------------------------------------------------------------- */

static void flush_dirty(struct rw_pcapq *q);

static bool file_is_open(const char *name, void *arg)
{
	struct rw_pcapq *q = arg;
	struct rw_pcapq_file *f;
	LIST_FOREACH(f, &q->open_files, open)
	{
		const char *slash = strrchr(f->file.path, '/');
		if (!strcmp(slash ? slash + 1 : f->file.path, name))
			return true;
	}
	return false;
}

static void count_locked(struct rw_pcapq *q, uint64_t *counter, uint64_t n)
{
	pthread_mutex_lock(&q->mu);
	*counter += n;
	pthread_mutex_unlock(&q->mu);
}

/* pcap_max_total for n more bytes of f; the removals it made, counted. */
static int reserve(struct rw_pcapq *q, struct rw_pcapq_file *f, uint64_t n)
{
	uint64_t removed = q->dircap.removed_files;
	/* Past the cap the directory is scanned again: what is buffered must
	 * be on disk for the scan to see it. */
	if (f->max_total && q->dircap.known && q->dircap.total + n > f->max_total &&
	    !q->dircap.stuck)
		flush_dirty(q);
	int rc = rw_pcapdir_reserve(&q->dircap, f->dir, n, f->max_total, file_is_open, q, q->log);
	if (q->dircap.removed_files != removed) {
		pthread_mutex_lock(&q->mu);
		q->st.removed_files = q->dircap.removed_files;
		q->st.removed_bytes = q->dircap.removed_bytes;
		pthread_mutex_unlock(&q->mu);
	}
	return rc;
}

/* The file's first record (or its close): create it. false if it could not
 * be, logged (the reason, e.g. a planted link, is in the message). */
static bool ensure_created(struct rw_pcapq *q, struct rw_pcapq_file *f)
{
	if (f->tried)
		return f->created;
	f->tried = true;
	char err[PATH_MAX + 512];
	if (reserve(q, f, RW_PCAPF_HEADER) < 0) {
		rw_logx(q->log, LOG_WARNING,
		        "pcap: not creating a file in %s: pcap_max_total (%llu bytes) reached by "
		        "files still open",
		        f->dir, (unsigned long long)f->max_total);
		count_locked(q, &q->st.files_not_created, 1);
		atomic_store_explicit(&f->dead, true, memory_order_relaxed);
		return false;
	}
	if (rw_pcapf_create(&f->file, f->dir, f->ep, f->ts_us, err, sizeof(err)) < 0) {
		rw_pcapdir_unwritten(&q->dircap, f->dir, RW_PCAPF_HEADER);
		rw_logx(q->log, LOG_WARNING, "pcap: %s", err);
		count_locked(q, &q->st.files_not_created, 1);
		atomic_store_explicit(&f->dead, true, memory_order_relaxed);
		return false;
	}
	f->created = true;
	LIST_INSERT_HEAD(&q->open_files, f, open);
	f->is_dirty = true; /* the header is buffered */
	LIST_INSERT_HEAD(&q->dirty_files, f, dirty);
	return true;
}

static void note_write_error(struct rw_pcapq *q, struct rw_pcapq_file *f)
{
	if (f->write_failed_logged)
		return;
	f->write_failed_logged = true;
	atomic_store_explicit(&f->dead, true, memory_order_relaxed);
	count_locked(q, &q->st.write_error_files, 1);
	errno = f->file.error;
	rw_logerr(q->log, LOG_WARNING, "pcap %s: write failed, later frames dropped", f->file.path);
}

static void flush_file(struct rw_pcapq *q, struct rw_pcapq_file *f)
{
	uint64_t lost = f->file.lost;
	if (rw_pcapf_flush(&f->file) < 0)
		note_write_error(q, f);
	if (f->file.lost > lost)
		rw_pcapdir_unwritten(&q->dircap, f->dir, f->file.lost - lost);
	if (f->is_dirty) {
		LIST_REMOVE(f, dirty);
		f->is_dirty = false;
	}
}

/* One record into its file, within pcap_max_total. */
static void write_record(struct rw_pcapq *q, struct rw_pcapq_file *f, const uint8_t *rec, size_t n)
{
	if (!ensure_created(q, f)) {
		f->uncreated_bytes += n;
		count_locked(q, &q->st.write_error_bytes, n);
		return;
	}
	if (f->file.error) {
		f->file.lost += n;
		return;
	}
	if (reserve(q, f, n) < 0) {
		f->over_total_bytes += n;
		count_locked(q, &q->st.over_total_bytes, n);
		return;
	}
	uint64_t lost = f->file.lost;
	if (rw_pcapf_write(&f->file, rec, n) < 0)
		note_write_error(q, f);
	if (f->file.lost > lost)
		rw_pcapdir_unwritten(&q->dircap, f->dir, f->file.lost - lost);
	if (!f->is_dirty && f->file.len) {
		f->is_dirty = true;
		LIST_INSERT_HEAD(&q->dirty_files, f, dirty);
	}
}

/* The file is complete: close it and say, once, what it is missing. */
static void close_file(struct rw_pcapq *q, struct rw_pcapq_file *f)
{
	ensure_created(q, f); /* a file whose every frame was dropped still shows */
	if (f->created) {
		flush_file(q, f);
		uint64_t lost = f->file.lost;
		if (rw_pcapf_close(&f->file) < 0)
			note_write_error(q, f);
		if (f->file.lost > lost)
			rw_pcapdir_unwritten(&q->dircap, f->dir, f->file.lost - lost);
		LIST_REMOVE(f, open);
		rw_pcapdir_released(&q->dircap);
	}
	/* Records the producer did not build once the file had failed: lost
	 * to the same error. */
	if (f->created)
		f->file.lost += f->dead_bytes;
	else
		f->uncreated_bytes += f->dead_bytes;
	pthread_mutex_lock(&q->mu);
	q->st.write_error_bytes += f->created ? f->file.lost : f->dead_bytes;
	pthread_mutex_unlock(&q->mu);
	if (f->queue_frames || f->trunc_bytes || f->over_total_bytes || f->file.lost ||
	    f->uncreated_bytes) {
		char what[512];
		int k = snprintf(
		        what, sizeof(what),
		        "%llu frames (%llu bytes) dropped with the queue full, %llu bytes "
		        "past pcap_max_file, %llu bytes over pcap_max_total, %llu bytes "
		        "lost to write errors",
		        (unsigned long long)f->queue_frames, (unsigned long long)f->queue_bytes,
		        (unsigned long long)f->trunc_bytes, (unsigned long long)f->over_total_bytes,
		        (unsigned long long)(f->file.lost + f->uncreated_bytes));
		if (k > 0 && f->file.error && (size_t)k < sizeof(what))
			snprintf(what + k, sizeof(what) - (size_t)k, " (%s)",
			         strerror(f->file.error));
		rw_logx(q->log, LOG_NOTICE, "pcap %s: incomplete: %s",
		        f->created ? f->file.path : f->dir, what);
	}
	free(f->dir);
	free(f);
}

/* Writes the entries in [from, to) of the ring (no lock held). */
static void drain(struct rw_pcapq *q, uint64_t from, uint64_t to)
{
	while (from < to) {
		size_t idx = (size_t)(from % q->cap), to_end = q->cap - idx;
		if (to_end < ENTRY_HDR) {
			from += to_end;
			continue;
		}
		struct entry_hdr h;
		memcpy(&h, q->ring + idx, sizeof(h));
		if (!h.f) {
			from += to_end;
			continue;
		}
		write_record(q, h.f, q->ring + idx + ENTRY_HDR, h.len);
		from += entry_size(h.len);
	}
}

static void flush_dirty(struct rw_pcapq *q)
{
	struct rw_pcapq_file *f;
	while ((f = LIST_FIRST(&q->dirty_files)) != NULL)
		flush_file(q, f);
}

static void *writer_main(void *arg)
{
	struct rw_pcapq *q = arg;
	TAILQ_HEAD(, rw_pcapq_file) ready = TAILQ_HEAD_INITIALIZER(ready);
	time_t last_flush = mono_s();
	pthread_mutex_lock(&q->mu);
	for (;;) {
		/* Files whose last record is written: close them. */
		struct rw_pcapq_file *f;
		while ((f = TAILQ_FIRST(&q->to_close)) != NULL && f->close_at <= q->tail) {
			TAILQ_REMOVE(&q->to_close, f, closing);
			TAILQ_INSERT_TAIL(&ready, f, closing);
		}
		uint64_t from = q->tail, to = q->head;
		if (TAILQ_EMPTY(&ready) && from == to) {
			if (q->stop && TAILQ_EMPTY(&q->to_close))
				break;
			if (!LIST_EMPTY(&q->dirty_files)) {
				/* Idle: what is buffered goes to disk now, so a file
				 * is complete on disk soon after its bytes passed. */
				pthread_mutex_unlock(&q->mu);
				flush_dirty(q);
				pthread_mutex_lock(&q->mu);
				continue;
			}
			q->waiting = true;
			pthread_cond_wait(&q->wake, &q->mu);
			q->waiting = false;
			continue;
		}
		pthread_mutex_unlock(&q->mu);
		while ((f = TAILQ_FIRST(&ready)) != NULL) {
			TAILQ_REMOVE(&ready, f, closing);
			close_file(q, f);
		}
		if (to - from > BATCH_MAX) {
			/* Stop at an entry boundary past BATCH_MAX: walk to it. */
			uint64_t p = from;
			while (p < to && p - from < BATCH_MAX) {
				size_t idx = (size_t)(p % q->cap), to_end = q->cap - idx;
				struct entry_hdr h;
				if (to_end < ENTRY_HDR) {
					p += to_end;
					continue;
				}
				memcpy(&h, q->ring + idx, sizeof(h));
				p += h.f ? entry_size(h.len) : to_end;
			}
			to = p;
		}
		drain(q, from, to);
		/* A file that gets nothing more while others stream still
		 * reaches the disk within about a second. */
		time_t now = mono_s();
		if (now != last_flush) {
			flush_dirty(q);
			last_flush = now;
		}
		pthread_mutex_lock(&q->mu);
		q->tail = to;
	}
	pthread_mutex_unlock(&q->mu);
	/* Files the producer never closed (it closes all before stopping). */
	struct rw_pcapq_file *f;
	while ((f = LIST_FIRST(&q->open_files)) != NULL) {
		if (f->is_dirty) {
			LIST_REMOVE(f, dirty);
			f->is_dirty = false;
		}
		rw_pcapf_close(&f->file);
		LIST_REMOVE(f, open);
	}
	pthread_mutex_lock(&q->mu);
	q->finished = true;
	pthread_cond_broadcast(&q->done);
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* ---- life ---------------------------------------------------------------- */

struct rw_pcapq *rw_pcapq_new(size_t queue_max, struct rw_log *log, char *err, size_t errlen)
{
	struct rw_pcapq *q = calloc(1, sizeof(*q));
	if (!q) {
		snprintf(err, errlen, "pcap queue: out of memory");
		return NULL;
	}
	q->cap = (queue_max < MIN_RING ? MIN_RING : queue_max) & ~(size_t)7;
	/* Pages are touched only as the ring fills: a 64 MiB ring costs
	 * memory only while the disk falls behind. */
	q->ring = malloc(q->cap);
	q->logcopy = *log;
	q->log = &q->logcopy;
	TAILQ_INIT(&q->to_close);
	LIST_INIT(&q->open_files);
	LIST_INIT(&q->dirty_files);
	if (!q->ring) {
		snprintf(err, errlen, "pcap queue: cannot allocate %zu bytes (pcap_queue_max)",
		         q->cap);
		free(q);
		return NULL;
	}
	int e = pthread_mutex_init(&q->mu, NULL);
	if (e == 0 && (e = pthread_cond_init(&q->wake, NULL)) != 0)
		pthread_mutex_destroy(&q->mu);
	if (e == 0 && (e = pthread_cond_init(&q->done, NULL)) != 0) {
		pthread_cond_destroy(&q->wake);
		pthread_mutex_destroy(&q->mu);
	}
	if (e == 0 && (e = pthread_create(&q->thread, NULL, writer_main, q)) != 0) {
		pthread_cond_destroy(&q->done);
		pthread_cond_destroy(&q->wake);
		pthread_mutex_destroy(&q->mu);
	}
	if (e != 0) {
		snprintf(err, errlen, "pcap queue: cannot start the writer thread: %s",
		         strerror(e));
		free(q->ring);
		free(q);
		return NULL;
	}
	pthread_setname_np(q->thread, "rdpwhy-pcapw");
	return q;
}

void rw_pcapq_free(struct rw_pcapq *q, unsigned wait_ms)
{
	if (!q)
		return;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&q->mu);
	q->stop = true;
	pthread_cond_signal(&q->wake);
	int e = 0;
	while (!q->finished && e != ETIMEDOUT)
		e = pthread_cond_timedwait(&q->done, &q->mu, &until);
	bool finished = q->finished;
	uint64_t left = q->head - q->tail;
	pthread_mutex_unlock(&q->mu);
	if (!finished) {
		/* A frozen or hung file system: exiting matters more than the
		 * rest of the pcaps. The thread and the ring are left as they
		 * are; the process is about to end. */
		rw_logx(q->log, LOG_WARNING,
		        "pcap: the writer is still blocked after %u ms (disk stalled?): %llu "
		        "queued "
		        "bytes not written",
		        wait_ms, (unsigned long long)left);
		rw_pcapq_log_counters(q, q->log);
		return;
	}
	pthread_join(q->thread, NULL);
	rw_pcapq_log_counters(q, q->log);
	pthread_cond_destroy(&q->done);
	pthread_cond_destroy(&q->wake);
	pthread_mutex_destroy(&q->mu);
	free(q->ring);
	free(q);
}

void rw_pcapq_stats(struct rw_pcapq *q, struct rw_pcapq_stats *out)
{
	pthread_mutex_lock(&q->mu);
	*out = q->st;
	out->queued_bytes = q->head - q->tail;
	pthread_mutex_unlock(&q->mu);
}

void rw_pcapq_log_counters(struct rw_pcapq *q, struct rw_log *log)
{
	if (!q)
		return;
	struct rw_pcapq_stats s;
	rw_pcapq_stats(q, &s);
	rw_logx(log, LOG_NOTICE,
	        "pcap counters: files %llu (%llu not created), queue full: %llu frames "
	        "(%llu bytes) dropped, pcap_max_file: %llu files truncated (%llu bytes), "
	        "pcap_max_total: %llu files removed (%llu bytes), %llu bytes not written, "
	        "write errors: %llu files (%llu bytes), queued now %llu bytes",
	        (unsigned long long)s.files, (unsigned long long)s.files_not_created,
	        (unsigned long long)s.queue_drop_frames, (unsigned long long)s.queue_drop_bytes,
	        (unsigned long long)s.truncated_files, (unsigned long long)s.truncated_bytes,
	        (unsigned long long)s.removed_files, (unsigned long long)s.removed_bytes,
	        (unsigned long long)s.over_total_bytes, (unsigned long long)s.write_error_files,
	        (unsigned long long)s.write_error_bytes, (unsigned long long)s.queued_bytes);
}
