/* The spool's state, shared by its two halves: spool_open.c (opening and
 * recovering a directory) and spool.c (everything after). Not for other
 * callers: spool.h is the interface. */
#ifndef RW_SPOOL_IMPL_H
#define RW_SPOOL_IMPL_H

#include <limits.h>
#include <stdint.h>

#include "buf.h"
#include "spool.h"
#include "spool_seg.h"

#define RW_SPOOL_SEQ_DIGITS 20
#define RW_SPOOL_TMP_PREFIX ".tmp-"
#define RW_SPOOL_REMOVED    "removed"
/* "<20 digits>.seg" and its NUL */
#define RW_SPOOL_NAME_MAX (RW_SPOOL_SEQ_DIGITS + sizeof(RW_SEG_SUFFIX))

struct rw_spool_entry {
	uint64_t seq;
	uint64_t seg; /* the segment's id (its first sequence number); 0: a file of its own */
	uint64_t off; /* segment: where its header starts; pending: where in the batch */
	uint64_t size;
};

struct rw_spool_seg {
	uint64_t id;
	uint64_t live; /* its records still in the spool */
};

struct rw_spool {
	char dir[PATH_MAX];
	int dirfd;
	uint64_t max_bytes;
	enum rw_spool_policy policy;
	/* Every record, in sequence order: e[head..n) are in the spool, and the
	 * last npending of them are the batch, not durable yet. */
	struct rw_spool_entry *e;
	size_t head, n, cap, npending;
	/* Segments on disk, by id. */
	struct rw_spool_seg *segs;
	size_t nsegs, segcap;
	uint64_t seg_target; /* a segment this long takes no more batches */
	/* The segment batches go to: fd -1 when none (the next commit starts one). */
	int afd;
	uint64_t aid, asize; /* its id, its durable length */
	struct rw_buf batch; /* the batch's headers and payloads, as they go to disk */
	/* One segment kept open for reading: records are read in order. */
	int rfd;
	uint64_t rid;
	int removed_fd;                      /* the "removed" file, opened when first written */
	uint64_t removed_upto, removed_disk; /* left the spool / as written to disk */
	uint64_t next_seq;
	struct rw_spool_stats st;
};

void rw_spool_name(uint64_t seq, bool seg, char out[RW_SPOOL_NAME_MAX]);
/* Appends an entry; 0 or -1 (out of memory). */
int rw_spool_push(struct rw_spool *s, struct rw_spool_entry en);
/* Appends a segment (ids must come in increasing order); 0 or -1. */
int rw_spool_seg_add(struct rw_spool *s, uint64_t id);
struct rw_spool_seg *rw_spool_seg_find(struct rw_spool *s, uint64_t id);
/* Deletes segment id's file and forgets it. */
void rw_spool_seg_delete(struct rw_spool *s, uint64_t id);

#endif
