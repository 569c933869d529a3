/* pcap_max_total: the bytes of rdpwhy's pcap files in pcap_dir, kept under a
 * cap by removing the oldest closed files first. Used by the pcap writer
 * thread only (pcap_queue.c), never from the event loop: it reads the
 * directory and unlinks files. */
#ifndef RW_PCAP_DIRCAP_H
#define RW_PCAP_DIRCAP_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "log.h"

struct rw_pcapdir {
	char dir[PATH_MAX];
	bool known;     /* total reflects a scan of dir */
	uint64_t total; /* rdpwhy-*.pcap bytes in dir, and bytes promised to them */
	bool stuck;     /* nothing removable was left at the last attempt */
	uint64_t removed_files, removed_bytes;
};

/* Whether a file of the directory (its name) is still being written. */
typedef bool (*rw_pcapdir_open_fn)(const char *name, void *arg);

/* Makes room for n more bytes in dir under max (0 = no cap), removing the
 * oldest rdpwhy-*.pcap files that is_open does not claim: 0 when the bytes
 * fit (they are then counted as promised), -1 when they do not. The first
 * call for a directory scans it (files written before this start count). */
int rw_pcapdir_reserve(struct rw_pcapdir *d, const char *dir, uint64_t n, uint64_t max,
                       rw_pcapdir_open_fn is_open, void *arg, struct rw_log *log);
/* Bytes promised that never reached the disk (a failed write). */
void rw_pcapdir_unwritten(struct rw_pcapdir *d, const char *dir, uint64_t n);
/* A file was closed: it may be removed now, so try again. */
void rw_pcapdir_released(struct rw_pcapdir *d);

#endif
