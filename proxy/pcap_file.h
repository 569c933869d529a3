/* One pcap file on disk, written record by record: created safely (never an
 * existing file, never through a link), buffered, and always ending on a
 * record boundary, even after a failed write. The proxy's pcap writer
 * (pcap_writer.c) builds the records; the writer thread (pcap_queue.c), or
 * the caller itself in synchronous mode, writes them here. */
#ifndef RW_PCAP_FILE_H
#define RW_PCAP_FILE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

#define RW_PCAPF_HEADER     24 /* the pcap global header */
#define RW_PCAPF_REC_HEADER 16 /* the per-packet header */

struct rw_pcapf {
	int fd;
	uint64_t size; /* bytes on disk: the header and whole records */
	uint8_t *buf;  /* whole records not yet written */
	size_t len;    /* bytes in buf */
	int error;     /* errno of the first failure; 0 = none (sticky) */
	uint64_t lost; /* bytes of records a failed write threw away */
	char path[PATH_MAX];
};

/* Creates DIR/rdpwhy-YYYYmmddTHHMMSS.uuuuuuZ-CLIENT-SERVER[-N].pcap (ep as
 * the file will show them, indexed by rw_dir), mode 0600, and buffers the
 * pcap header (Ethernet, snaplen 65535). 0, or -1 with errno and err set. */
int rw_pcapf_create(struct rw_pcapf *f, const char *dir, const struct rw_endpoint ep[2],
                    uint64_t ts_us, char *err, size_t errlen);
/* Appends one record (per-packet header and frame). Buffered: a write error
 * may show on a later call. 0, or -1 with errno (sticky). */
int rw_pcapf_write(struct rw_pcapf *f, const void *rec, size_t n);
/* Writes what is buffered. On a failure the file is cut back to its last
 * whole record, the buffered bytes are counted in f->lost, and the error
 * sticks. 0, or -1 with errno. */
int rw_pcapf_flush(struct rw_pcapf *f);
/* Flushes and closes; -1 if anything failed to be written (the file stays
 * valid up to its last whole record). Safe on a file never created. */
int rw_pcapf_close(struct rw_pcapf *f);
/* Drops what is buffered without writing it (counted in f->lost). */
void rw_pcapf_discard(struct rw_pcapf *f);

/* Bytes the record header says follow it. */
static inline size_t rw_pcapf_rec_len(size_t frame_len)
{
	return RW_PCAPF_REC_HEADER + frame_len;
}

#endif
