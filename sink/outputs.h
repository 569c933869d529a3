/* Where records go, off the caller's path: rw_outputs_write formats the
 * record and queues it; an output thread with its own event loop writes the
 * files, calls syslog(3), and runs the syslog streams with their spools
 * (outset.h, sender.h). A slow disk or a dead receiver never holds up the
 * relay or the capture loop.
 *
 * The queue is bounded (RW_OUTPUTS_QUEUE_MAX bytes). When it is full the
 * proxy and live capture drop the new record — counted and logged, never
 * silent — while replay (block_when_full) waits: a file can be read again
 * at the writer's pace, live traffic cannot.
 *
 * Every record gets a 128-bit id, the same in every output, for
 * de-duplication: random for the proxy; derived from the connection (its
 * addresses, ports and first timestamp) with flow_ids, so that replaying a
 * capture twice gives the same ids and a SIEM keeps one copy. */
#ifndef RW_OUTPUTS_H
#define RW_OUTPUTS_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "log.h"
#include "record.h"

#define RW_OUTPUTS_QUEUE_MAX (64u * 1024 * 1024)

struct rw_outputs_opts {
	bool flow_ids;        /* ids derived from the connection (capture, replay) */
	bool block_when_full; /* wait for room instead of dropping (replay) */
};

struct rw_outputs;
/* Opens cfg's outputs (all errors show here, before anything runs) and
 * starts the output thread. NULL with a message. */
struct rw_outputs *rw_outputs_open(const struct rw_proxy_config *cfg,
                                   const struct rw_outputs_opts *opts, struct rw_log *log,
                                   char *err, size_t errlen);
/* Never blocks on I/O (unless block_when_full). */
void rw_outputs_write(struct rw_outputs *o, const struct rw_record *rec);
/* The same for a closed session's record, and the session goes with it: the
 * output thread formats the record and frees the session, off the caller's
 * event loop (the proxy's: a short connection's JSON and its session's
 * zeroing are a few percent of its loop). When that thread is behind, the
 * record is formatted here as rw_outputs_write does, so that a stuck output
 * holds compact records, not sessions. */
struct rw_session;
void rw_outputs_write_session(struct rw_outputs *o, struct rw_session *s);
/* rw_outputs_write in two halves, for a caller whose records are written
 * in order by one thread while another has time to spare (replay's capture
 * thread when its formatting thread is behind): rw_outputs_format formats
 * the record now, in any thread (NULL when out of memory: the record is
 * then formatted at its turn); rw_outputs_write_formatted, at the record's
 * turn in the writing thread, counts it and queues that message (formatted
 * again if a reload changed the outputs in between). Every message
 * rw_outputs_format gives must go to rw_outputs_write_formatted. */
struct rw_outputs_msg;
struct rw_outputs_msg *rw_outputs_format(struct rw_outputs *o, const struct rw_record *rec);
void rw_outputs_write_formatted(struct rw_outputs *o, const struct rw_record *rec,
                                struct rw_outputs_msg *m);
/* SIGHUP: reopen files, and switch to cfg's outputs (outset.h for what
 * carries over). Applies in order: records queued before go to the old
 * outputs. */
void rw_outputs_reload(struct rw_outputs *o, const struct rw_proxy_config *cfg);
struct rw_outputs_stats {
	uint64_t records; /* given to rw_outputs_write */
	uint64_t dropped; /* lost: queue full, or out of memory */
	uint64_t queued;  /* records waiting for the output thread now */
	uint64_t queued_bytes;
};
void rw_outputs_stats(struct rw_outputs *o, struct rw_outputs_stats *st);
/* Logs the counters: the queue's at once, then each output's, in order
 * with the records (also every 5 minutes). */
void rw_outputs_log_counters(struct rw_outputs *o);
/* From now on, count every record written into a summary (per cause,
 * server, client, cookie; output/summary.h), which rw_outputs_log_summary
 * logs as text, one line per line, after "summary (WHEN) follows". */
void rw_outputs_keep_summary(struct rw_outputs *o);
void rw_outputs_log_summary(struct rw_outputs *o, const char *when);
/* Writes what is queued, gives streams up to siem_flush_timeout to deliver
 * their spools (what is left stays spooled for the next start), stops the
 * thread. Returns 0, or -1 when a record could not be written to a file or
 * stdout, or was dropped. NULL is a no-op. */
int rw_outputs_close(struct rw_outputs *o);

#endif
