/* The spool's on-disk format, pure: no I/O, no allocation (spool.h says
 * what the files are for). Kept apart so that the parser can be fuzzed and
 * unit-tested over plain buffers.
 *
 * A segment file, named by the 20-digit sequence number of its first record
 * and ".seg", holds many records:
 *
 *   "RWSPSEG1"                              8 bytes, once, at offset 0
 *   then per record, all integers little-endian:
 *     u32 len   payload bytes (at most RW_SEG_RECORD_MAX)
 *     u32 crc   CRC-32 (IEEE 802.3, as zlib's crc32) of len, seq, payload
 *     u64 seq   the record's sequence number, > the previous one's
 *     payload   len bytes: the unframed syslog message
 *
 * Records are appended in batches, each made durable by one fsync. A crash
 * in the middle of a write leaves a torn tail: a header cut short, a length
 * running past the end, or a checksum that does not match (including zeros
 * that a file system may show where data never reached the disk). Parsing
 * stops at the first such record: everything before it is intact, and it
 * and anything after it were never reported durable.
 *
 * The file "removed" holds the highest sequence number that left the spool
 * (delivered, dropped or set aside), so that records of a segment that is
 * still on disk for its later records are not sent again after a restart:
 *   "RWSPACK1", u64 seq, u32 CRC-32 of the 16 bytes before it. */
#ifndef RW_SPOOL_SEG_H
#define RW_SPOOL_SEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RW_SEG_MAGIC      "RWSPSEG1"
#define RW_SEG_MAGIC_LEN  8
#define RW_SEG_HDR        16 /* per record */
#define RW_SEG_RECORD_MAX (16u * 1024 * 1024)
#define RW_SEG_SUFFIX     ".seg"
#define RW_ACK_MAGIC      "RWSPACK1"
#define RW_ACK_LEN        20

uint32_t rw_crc32(uint32_t crc, const void *p, size_t n);

/* The header of a record of len bytes with sequence number seq and payload p. */
void rw_seg_header(uint8_t out[RW_SEG_HDR], uint64_t seq, const void *p, uint32_t len);

struct rw_seg_rec {
	uint64_t seq;
	uint64_t off; /* where its header starts in the segment */
	uint32_t len; /* payload bytes, which start at off + RW_SEG_HDR */
};

/* One record at p (n bytes from there to the end of the data), after a
 * record numbered prev_seq (0 for none). 1: *r set (r->off = 0); 0: a torn
 * or damaged record (see above). */
int rw_seg_record(const uint8_t *p, size_t n, uint64_t prev_seq, struct rw_seg_rec *r);

/* A whole segment of n bytes. Calls cb for each intact record (stop early
 * by returning false) and returns the length of the intact prefix: n when
 * the segment is whole, less when a torn tail follows, 0 when even the
 * magic is missing. *records counts the intact records. */
typedef bool (*rw_seg_cb)(const struct rw_seg_rec *r, void *arg);
size_t rw_seg_parse(const uint8_t *p, size_t n, rw_seg_cb cb, void *arg, uint64_t *records);

void rw_ack_encode(uint8_t out[RW_ACK_LEN], uint64_t seq);
/* true with *seq set when buf holds a well-formed "removed" file. */
bool rw_ack_decode(const uint8_t *p, size_t n, uint64_t *seq);

#endif
