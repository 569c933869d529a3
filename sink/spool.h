/* An on-disk spool of outgoing records: one file per record in a directory,
 * named by a zero-padded sequence number, bounded in bytes. A record is
 * written to a temporary name, fsync'ed and renamed (then the directory is
 * fsync'ed), so after a crash a record file is either complete or absent; a
 * temporary file left behind is removed when the spool is opened. The
 * sequence continues from the highest file after a restart. */
#ifndef RW_SPOOL_H
#define RW_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

enum rw_spool_policy {
	RW_SPOOL_DROP_OLDEST = 0, /* make room by deleting the oldest records */
	RW_SPOOL_DROP_NEWEST,     /* refuse the new record */
};

struct rw_spool_stats {
	uint64_t spooled;  /* records written */
	uint64_t dropped;  /* records lost to the bound (either policy) */
	uint64_t acked;    /* records removed after delivery */
	uint64_t rejected; /* moved to RW_SPOOL_REJECTED/: the receiver refused them */
	uint64_t count;    /* records on disk now */
	uint64_t bytes;    /* their size */
};

struct rw_spool;

/* Opens (creating it 0700 if missing) and indexes dir. max_bytes bounds the
 * sum of record sizes. NULL with a message on error. */
struct rw_spool *rw_spool_open(const char *dir, uint64_t max_bytes, enum rw_spool_policy policy,
                               char *err, size_t errlen);
void rw_spool_close(struct rw_spool *s);
/* Gives the directory and the records in it to uid:gid (before a privilege
 * drop, so that the spool stays writable). 0 or -1 (errno). */
int rw_spool_chown(struct rw_spool *s, unsigned uid, unsigned gid);

/* Stores one record. Returns 0 (stored; *seq set, oldest records may have
 * been dropped to make room), 1 (dropped under drop-newest, or larger than
 * the bound) or -1 (I/O error, errno set; nothing stored). */
int rw_spool_put(struct rw_spool *s, const void *p, size_t n, uint64_t *seq);

/* The oldest record with a sequence number above `after` (0 = from the
 * start): true with *seq set, false when there is none. */
bool rw_spool_next(const struct rw_spool *s, uint64_t after, uint64_t *seq);
/* Reads record seq into out (replacing its contents). 0, or -1 (errno). */
int rw_spool_read(const struct rw_spool *s, uint64_t seq, struct rw_buf *out);
/* Delivered: removes every record up to and including seq. */
void rw_spool_ack(struct rw_spool *s, uint64_t seq);

/* A record the receiver will not take (it drops the connection on it, every
 * time): moves the oldest record to the subdirectory RW_SPOOL_REJECTED for
 * an operator, out of the way of the records behind it. 0 (*seq = its
 * number) or -1 (errno). */
#define RW_SPOOL_REJECTED "rejected"
int rw_spool_reject_first(struct rw_spool *s, uint64_t *seq);

void rw_spool_stats(const struct rw_spool *s, struct rw_spool_stats *out);
const char *rw_spool_dir(const struct rw_spool *s);
/* "drop-oldest" / "drop-newest"; -1 when unknown. */
int rw_spool_policy_parse(const char *s);

#endif
