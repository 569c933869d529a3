/* An on-disk spool of outgoing records, bounded in bytes, committed in
 * groups.
 *
 * rw_spool_put takes a record into the current batch in memory and gives it
 * the next sequence number; rw_spool_commit makes the whole batch durable
 * with one write(2) and one fsync(2) (plus one of the directory when it
 * starts a new segment file). Only durable records are handed out by
 * rw_spool_next, so a record is sent only once it would survive a crash,
 * and it leaves the spool only when rw_spool_ack says the peer took it:
 * at-least-once, duplicates possible, losses not.
 *
 * On disk (spool_seg.h for the bytes): segment files of many records, each
 * with a CRC-32; a torn tail left by a crash mid-write is detected when the
 * spool is opened, cut off and counted (stats.torn), never handed out. A
 * segment is deleted once all its records have left the spool; the file
 * "removed" remembers how far that got within segments still on disk.
 * Records spooled by older versions (one file per record, named by a
 * zero-padded sequence number) are still read, sent and removed; new ones
 * always go into segments. Leftover temporary files are removed on open.
 * The sequence continues from the highest number seen after a restart. */
#ifndef RW_SPOOL_H
#define RW_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

/* For callers built against either version of this API (bench/). */
#define RW_SPOOL_GROUP_COMMIT 1
/* A batch commits itself when it reaches either bound. */
#define RW_SPOOL_BATCH_RECORDS 1024
#define RW_SPOOL_BATCH_BYTES   (1024 * 1024)

enum rw_spool_policy {
	RW_SPOOL_DROP_OLDEST = 0, /* make room by deleting the oldest records */
	RW_SPOOL_DROP_NEWEST,     /* refuse the new record */
};

struct rw_spool_stats {
	uint64_t spooled;  /* records made durable */
	uint64_t dropped;  /* records lost to the bound (either policy) */
	uint64_t acked;    /* records removed after delivery */
	uint64_t rejected; /* moved to RW_SPOOL_REJECTED/: the receiver refused them */
	uint64_t count;    /* records in the spool now, durable or not */
	uint64_t bytes;    /* their size (payload bytes) */
	uint64_t pending;  /* of count: in the batch, not durable yet */
	uint64_t commits;  /* batches made durable (one fsync each) */
	uint64_t torn;     /* torn tails cut off at open: a crash in mid-write */
	uint64_t legacy;   /* of count: files of the one-file-per-record format */
};

struct rw_spool;

/* Opens (creating it 0700 if missing) and indexes dir. max_bytes bounds the
 * sum of record sizes. NULL with a message on error. */
struct rw_spool *rw_spool_open(const char *dir, uint64_t max_bytes, enum rw_spool_policy policy,
                               char *err, size_t errlen);
/* Closes without committing: records still in the batch are lost (call
 * rw_spool_commit first on a clean shutdown). */
void rw_spool_close(struct rw_spool *s);
/* Gives the directory and the files in it to uid:gid (before a privilege
 * drop, so that the spool stays writable). 0 or -1 (errno). */
int rw_spool_chown(struct rw_spool *s, unsigned uid, unsigned gid);

/* Takes one record into the batch. Returns 0 (taken, *seq set, not durable
 * until the next commit; oldest records may have been dropped to make
 * room), 1 (dropped under drop-newest, or larger than the bound or
 * RW_SEG_RECORD_MAX) or -1 (errno set; the record is not taken): a full
 * batch had to be committed first and that failed (ENOSPC, EIO...). */
int rw_spool_put(struct rw_spool *s, const void *p, size_t n, uint64_t *seq);
/* Makes the batch durable. Returns the number of records committed (0 when
 * the batch is empty) or -1 (errno): then nothing of the batch is durable
 * or handed out, the segment is cut back to its durable length, and the
 * batch stays in memory for the next commit to try again (a full disk
 * frees up as delivered segments are deleted); rw_spool_put refuses new
 * records while the full batch cannot be committed. */
int rw_spool_commit(struct rw_spool *s);

/* The oldest durable record with a sequence number above `after` (0 = from
 * the start): true with *seq set, false when there is none. */
bool rw_spool_next(const struct rw_spool *s, uint64_t after, uint64_t *seq);
/* Reads durable record seq into out (replacing its contents). 0, or -1
 * (errno; EIO when its checksum no longer matches). */
int rw_spool_read(struct rw_spool *s, uint64_t seq, struct rw_buf *out);
/* Delivered: removes every durable record up to and including seq. */
void rw_spool_ack(struct rw_spool *s, uint64_t seq);

/* A record the receiver will not take (it drops the connection on it, every
 * time): moves the oldest record into the subdirectory RW_SPOOL_REJECTED,
 * as a file of its own named by its sequence number, for an operator, out
 * of the way of the records behind it. 0 (*seq = its number) or -1 (errno). */
#define RW_SPOOL_REJECTED "rejected"
int rw_spool_reject_first(struct rw_spool *s, uint64_t *seq);

void rw_spool_stats(const struct rw_spool *s, struct rw_spool_stats *out);
const char *rw_spool_dir(const struct rw_spool *s);
/* "drop-oldest" / "drop-newest"; -1 when unknown. */
int rw_spool_policy_parse(const char *s);

#endif
