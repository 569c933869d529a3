/* The capture engine: packets in (from a pcap file or a live interface),
 * flow events out to one rw_session per TCP connection, records out through
 * a callback when a connection ends, expires or the input ends. */
#ifndef RW_CAPTURE_H
#define RW_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "port_tally.h"
#include "progress.h"

#include "../analyzers/record.h"
#include "../analyzers/session.h"

#define RW_CAPTURE_MAX_PORTS 32

struct rw_capture_config {
	uint16_t ports[RW_CAPTURE_MAX_PORTS]; /* server ports always analysed (default 3389) */
	size_t n_ports;
	bool detect_any_port; /* also any flow whose first bytes are an X.224 CR (default on) */
	size_t max_flows;     /* flow table bound; oldest idle flow is evicted (default 65536) */
	uint64_t idle_timeout_us; /* flow expiry without packets (default 300 s) */
	size_t max_ooo_bytes;     /* out-of-order bytes buffered per direction (default 256 KiB) */
	struct rw_session_config session; /* passed to every session (zero: defaults) */
	/* Flows from 2 MiB regions faulted in at once (rw_map_prefaulted)
	 * instead of calloc'd (replay: tens of thousands of flows, a page
	 * fault per 4 KiB of new heap otherwise). Default off. */
	bool flow_regions;
};

struct rw_capture_stats {
	uint64_t packets, bytes;
	uint64_t non_ip, non_tcp;
	uint64_t decode_errors; /* dropped: bad or cut-short headers, unknown link type */
	uint64_t truncated;     /* cut by the snapshot length (headers or payload) */
	uint64_t fragments;     /* non-first IP fragments (not reassembled) */
	uint64_t flows;         /* connections analysed */
	uint64_t records;
	uint64_t expired;       /* analysed connections reported after idle_timeout */
	uint64_t evicted;       /* analysed connections reported early: table full */
	uint64_t ignored_flows; /* detect_any_port flows whose first bytes were not a CR */
	uint64_t nomem;         /* flows or segments dropped for lack of memory */
	uint64_t packed;        /* quiet connections whose session was packed (10 s) */
	uint64_t kernel_drops;  /* live: packets the kernel dropped before we read them */
	uint64_t tcp_packets;   /* every decoded TCP packet, analysed or not */
	/* Where the TCP went, for "no RDP found: try --port N": server ports of
	 * connection attempts (SYN's destination, SYN-ACK's source) and, for
	 * flows caught mid-stream, the lower port of data packets. */
	struct rw_port_tally syn_ports, data_ports;
	/* The capture clock: frames whose timestamp was far (> 60 s) from their
	 * neighbours' and taken as at the capture clock's time (the first one's
	 * frame number and own timestamp); confirmed jumps forward (a quiet gap
	 * or a step: older flows are not expired for one idle_timeout after
	 * it) and steps back. */
	uint64_t clock_outliers, first_outlier_frame, first_outlier_ts_us;
	uint64_t clock_jumps, clock_steps_back;
	/* Connection attempts counted into scan_or_flood summaries, and those
	 * summary records (also counted in records). */
	uint64_t scan_attempts, scan_records;
};

typedef void (*rw_record_cb)(const struct rw_record *rec, void *arg);
/* A record handed over with its session: the callback owns s from then on
 * and frees it with rw_session_free when done with rec (which lives in
 * it), possibly in another thread. Such a record comes without its
 * verdict: the callback's side decides it (rw_verdict_decide) first, which
 * takes that work off the capture's thread too. s is NULL for a record
 * that is not a session's (a scan_or_flood summary, verdict included): rec
 * is then valid only during the call. */
typedef void (*rw_record_take_cb)(struct rw_record *rec, struct rw_session *s, void *arg);

struct rw_capture;

/* Sharded analysis (replay -j N): see rw_capture_shard. */
typedef void (*rw_record_seq_cb)(uint64_t seq, struct rw_record *rec, struct rw_session *s,
                                 void *arg);
typedef bool (*rw_seq_room_cb)(uint64_t seq, bool wait, void *arg);

void rw_capture_config_defaults(struct rw_capture_config *cfg);
struct rw_capture *rw_capture_new(const struct rw_capture_config *cfg, rw_record_cb cb, void *arg);
/* Records go to take (with their sessions) instead of the callback given to
 * rw_capture_new: replay -j formats them in another thread. */
void rw_capture_set_take(struct rw_capture *c, rw_record_take_cb take, void *arg);
/* Sessions analysed by n worker threads (a flow's always by the same one):
 * everything capture-wide (decoding, the flow table, its bound, expiry,
 * reassembly, scan tallies, record ids) stays in the calling thread, which
 * sends each session's calls to its worker in batches. Every record gets
 * the sequence number of its place in the -j 1 order (summary records and
 * rw_capture_seq's too): out receives it, from a worker thread (s set: out
 * owns s, as with take) or from the calling thread (s NULL: rec valid only
 * during the call), in any order; the caller puts them back in order. rec
 * NULL: nothing at that place (a worker found no memory for the session,
 * which -j 1 would have found before giving the flow a record id).
 * room(seq, wait) says whether seq may be handed out yet (false: the
 * consumer is too far behind); with wait, it blocks until it may, and is
 * only called after every worker got everything sent so far. 0, or -1 when
 * the threads could not be started (nothing changed). */
int rw_capture_shard(struct rw_capture *c, int n, rw_record_seq_cb out, rw_seq_room_cb room,
                     void *arg);
/* The next sequence number, for an item of the caller's (a new file). */
uint64_t rw_capture_seq(struct rw_capture *c);
/* After rw_capture_finish: waits for the workers to hand over every record,
 * then stops them. Also done by rw_capture_free. */
void rw_capture_shard_stop(struct rw_capture *c);
/* One packet as libpcap gives it: DLT link type, timestamp, captured bytes. */
void rw_capture_packet(struct rw_capture *c, int dlt, uint64_t ts_us, const uint8_t *p,
                       size_t caplen, size_t wirelen);
/* Expire flows idle since before now_us - idle_timeout. */
void rw_capture_expire(struct rw_capture *c, uint64_t now_us);
/* End of input: every open flow is closed and reported (closed_by none). */
void rw_capture_finish(struct rw_capture *c);
/* The capture file the next packets come from (not copied; NULL: none, as
 * live): records name the files and frame numbers of their first and last
 * packets. Frame numbers restart at 1 with each file. */
void rw_capture_set_source(struct rw_capture *c, const char *file);
const struct rw_capture_stats *rw_capture_stats(const struct rw_capture *c);
/* Live capture: the kernel's drop count (pcap_stats), kept in the stats. */
void rw_capture_note_drops(struct rw_capture *c, uint64_t n);
void rw_capture_free(struct rw_capture *c);

/* pcap_source.c: libpcap front ends. Return 0, or -1 with a message in err.
 * *truncated is set when the file ended in the middle of a packet (err then
 * holds libpcap's message). Replay does not call rw_capture_finish, so that
 * several files can be replayed as one capture; the caller does. */
int rw_pcap_replay(const char *path, const char *bpf, struct rw_capture *c, bool *truncated,
                   char *err, size_t errlen);
/* The same, each packet to fn instead of a capture (replay -j reads in a
 * thread of its own): data is valid only during the call. */
typedef void (*rw_packet_fn)(void *arg, int dlt, uint64_t ts_us, const uint8_t *p, size_t caplen,
                             size_t wirelen);
/* rw_capture_packet as an rw_packet_fn: arg is the struct rw_capture. */
void rw_capture_packet_cb(void *arg, int dlt, uint64_t ts_us, const uint8_t *p, size_t caplen,
                          size_t wirelen);
int rw_pcap_read(const char *path, const char *bpf, rw_packet_fn fn, void *arg, bool *truncated,
                 char *err, size_t errlen);
/* The same, the first skip packets read but not handed to fn. */
int rw_pcap_read_skip(const char *path, const char *bpf, uint64_t skip, rw_packet_fn fn, void *arg,
                      bool *truncated, char *err, size_t errlen);
/* A classic pcap file (version 2.4, microseconds or nanoseconds, either
 * byte order, a link type libpcap hands over as it is, no filter, not
 * compressed) read as it is on disk, a block at a time into the caller's
 * buffers, without libpcap's copy of every packet (rw_pcap_read_fast and
 * replay -j's reader). */
struct rw_pcap_raw {
	int dlt;
	uint32_t snap;
	bool swapped, nsec;
};
struct rw_pcap_raw_file {
	struct rw_pcap_raw fmt;
	int fd;
	uint64_t records; /* whole records handed over so far */
	uint64_t offset, next_progress;
	struct rw_progress pg;
	/* libpcap must read on from record `records` (rw_pcap_read_skip): one
	 * longer than the snapshot length (libpcap cuts it or finds it
	 * damaged), the end of a file cut short, a read error. */
	bool rest;
};
/* 0, or -1 when the file is not one to read so (nothing read, nothing
 * open: rw_pcap_read it). */
int rw_pcap_raw_begin(struct rw_pcap_raw_file *r, const char *path, const char *bpf);
/* Fills buf up to room after the n_carry bytes already at its start (the
 * beginning of a record the last block did not hold): *whole bytes from
 * buf on are whole records, *left bytes after them are the next block's
 * n_carry. false: nothing more to read (the end of the file, or r->rest). */
bool rw_pcap_raw_block(struct rw_pcap_raw_file *r, uint8_t *buf, size_t room, size_t n_carry,
                       size_t *whole, size_t *left);
void rw_pcap_raw_end(struct rw_pcap_raw_file *r);
/* Hands the whole records p[0..n) to fn as rw_pcap_read would. */
void rw_pcap_raw_each(const struct rw_pcap_raw *fmt, const uint8_t *p, size_t n, rw_packet_fn fn,
                      void *arg);
/* rw_pcap_read, through rw_pcap_raw_* when the file is one to read so (what
 * rw_pcap_replay does): the same packets, the same messages. */
int rw_pcap_read_fast(const char *path, const char *bpf, rw_packet_fn fn, void *arg,
                      bool *truncated, char *err, size_t errlen);
/* The same from an open stream (fmemopen, a pipe: the fuzz target of whole
 * files); the stream is closed in every case. NAME is for messages. */
int rw_pcap_replay_fp(FILE *fp, const char *name, const char *bpf, struct rw_capture *c,
                      bool *truncated, char *err, size_t errlen);
/* Runs until *stop becomes true (a signal handler sets it), then calls
 * rw_capture_finish. on_ready (may be NULL) is called once, when the kernel
 * delivers packets to the handle (filter set) and before the first packet is
 * read: scripts and supervisors wait for that instead of guessing with a
 * sleep, and rdpwhy capture drops root there (-Z). When it returns < 0 the
 * capture stops before reading anything and this returns -1 (err empty: the
 * callback said why). */
int rw_pcap_live(const char *iface, const char *bpf, int snaplen, bool promisc,
                 struct rw_capture *c, volatile int *stop, int (*on_ready)(const char *iface),
                 char *err, size_t errlen);

#endif
