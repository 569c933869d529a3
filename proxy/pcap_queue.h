/* The disk off the relay path: pcap records go from the event loop into one
 * bounded ring (memcpy, never a system call, never a wait) and a writer
 * thread puts them into their files. A full ring drops the frame (counted);
 * the writer enforces pcap_max_total on the directory by removing the oldest
 * closed files first. One producer (the event loop), one consumer. */
#ifndef RW_PCAP_QUEUE_H
#define RW_PCAP_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "record.h"

struct rw_pcapq;
struct rw_pcapq_file;

/* What went where; every byte the relay offered is in exactly one place. */
struct rw_pcapq_stats {
	uint64_t files;             /* files handed to the queue */
	uint64_t files_not_created; /* their file could not be created */
	uint64_t queue_drop_frames; /* the ring was full (pcap_queue_max) */
	uint64_t queue_drop_bytes;  /* record bytes of those frames */
	uint64_t truncated_files;   /* reached pcap_max_file */
	uint64_t truncated_bytes;   /* record bytes past it, not written */
	uint64_t removed_files;     /* removed for pcap_max_total, oldest first */
	uint64_t removed_bytes;     /* their sizes */
	uint64_t over_total_bytes;  /* not written: pcap_max_total reached and no
	                               closed file left to remove */
	uint64_t write_error_files; /* a write failed (ENOSPC, EIO...) */
	uint64_t write_error_bytes; /* record bytes lost to failed writes and
	                               to files that could not be created */
	uint64_t queued_bytes;      /* in the ring now */
};

/* A ring of queue_max bytes (rounded down to 8; at least 64 KiB) and its
 * writer thread; log gets the writer's lines. NULL with err set. */
struct rw_pcapq *rw_pcapq_new(size_t queue_max, struct rw_log *log, char *err, size_t errlen);
/* Stops the writer once everything queued is written and every file closed,
 * waiting up to wait_ms for a disk that stalls (then the thread is left to
 * finish, or not, as the process exits: nothing blocks shutdown forever);
 * logs the final counters; frees. NULL is a no-op. */
void rw_pcapq_free(struct rw_pcapq *q, unsigned wait_ms);

/* A file to come: created by the writer at its first record, in dir, named
 * from ep (as the file shows them, indexed by rw_dir) and ts_us. max_total
 * is the cap on the directory when the writer writes this file's records (0
 * = none). NULL when out of memory. */
struct rw_pcapq_file *rw_pcapq_file_new(struct rw_pcapq *q, const char *dir,
                                        const struct rw_endpoint ep[2], uint64_t ts_us,
                                        uint64_t max_total);
/* Queues one record (16-byte pcap record header + frame, contiguous) of f:
 * 0, or -1 when the ring has no room (the frame is dropped and counted). */
int rw_pcapq_put(struct rw_pcapq *q, struct rw_pcapq_file *f, const void *rec, size_t n);
/* Whether a record of n bytes would be dropped now, the ring being full:
 * counted as rw_pcapq_put counts it, so that the producer need not build
 * (copy, checksum) a frame that would be thrown away. */
bool rw_pcapq_full(struct rw_pcapq *q, struct rw_pcapq_file *f, size_t n);
/* Whether f's file failed in the writer (could not be created, a write
 * error): its later records would only be thrown away, so the producer
 * need not build them. */
bool rw_pcapq_file_dead(const struct rw_pcapq_file *f);
/* A record of f not built because the file is dead (counted as lost to
 * write errors when f is closed). */
void rw_pcapq_lost(struct rw_pcapq_file *f, size_t n);
/* A record of f not queued because the file reached pcap_max_file. */
void rw_pcapq_truncated(struct rw_pcapq *q, struct rw_pcapq_file *f, size_t n);
/* The producer is done with f: the writer closes the file after its last
 * queued record, logs once what the file is missing, and frees f. */
void rw_pcapq_file_close(struct rw_pcapq *q, struct rw_pcapq_file *f);

void rw_pcapq_stats(struct rw_pcapq *q, struct rw_pcapq_stats *out);
/* One "pcap: ..." counters line (SIGUSR1, exit). NULL q: nothing. */
void rw_pcapq_log_counters(struct rw_pcapq *q, struct rw_log *log);

#endif
