/* Scans and floods: connection attempts that never became connections
 * (a SYN refused, never answered, or answered and then abandoned before any
 * byte) are cheap to make and, one record each, would drown the real
 * failures and the memory. The first few per source and window are reported
 * one by one (a single refused mstsc attempt is a finding); beyond that they
 * are counted, per scanning source — or per target when they come from many
 * sources, as a spoofed SYN flood does — and reported as one summary record
 * (cause scan_or_flood) when the window closes. */
#ifndef RW_SCAN_TALLY_H
#define RW_SCAN_TALLY_H

#include <stdbool.h>
#include <stdint.h>

#include "record.h"

#define RW_SCAN_WINDOW_US (60ull * 1000000)
/* Attempts reported one by one per source and window, and in all per window. */
#define RW_SCAN_INDIVIDUAL_PER_SOURCE 5
#define RW_SCAN_INDIVIDUAL_PER_WINDOW 100
#define RW_SCAN_SLOTS                 4096

/* How an attempt ended. */
enum rw_attempt {
	RW_ATTEMPT_REFUSED,    /* the server's RST to the SYN */
	RW_ATTEMPT_UNANSWERED, /* no SYN-ACK */
	RW_ATTEMPT_HALF_OPEN,  /* SYN-ACK, then nothing from the client */
	RW_ATTEMPT_CLIENT_RST, /* SYN-ACK, then the client's RST (a SYN scan) */
};

struct rw_scan_tally;

/* emit receives each summary record (valid during the call). */
struct rw_scan_tally *rw_scan_tally_new(void (*emit)(struct rw_record *rec, void *arg), void *arg);
void rw_scan_tally_free(struct rw_scan_tally *t);

/* An attempt from client to server ended at ts: true when it should be
 * reported on its own (the caller then makes its record), false when it
 * was counted for a summary. */
bool rw_scan_tally_attempt(struct rw_scan_tally *t, const struct rw_endpoint *client,
                           const struct rw_endpoint *server, uint16_t port_index, uint64_t ts_us,
                           enum rw_attempt how);

/* Reports the summaries whose window closed before now (all with now = UINT64_MAX). */
void rw_scan_tally_flush(struct rw_scan_tally *t, uint64_t now_us);

/* Attempts counted into summaries so far, summaries emitted. */
uint64_t rw_scan_tally_counted(const struct rw_scan_tally *t);
uint64_t rw_scan_tally_records(const struct rw_scan_tally *t);

#endif
