/* Writes one proxied connection as a pcap file Wireshark/tshark dissect:
 * synthesized Ethernet/IP/TCP headers with consistent sequence and
 * acknowledgement numbers, the TCP handshake, payload in MSS-sized segments
 * and FIN/RST exactly as they happened. */
#ifndef RW_PCAP_WRITER_H
#define RW_PCAP_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

struct rw_pcapw;
struct rw_pcapq;

/* Creates DIR/rdpwhy-YYYYmmddTHHMMSS.uuuuuuZ-CLIENTIP_PORT-SERVERIP_PORT.pcap,
 * mode 0600, and writes the SYN/SYN-ACK/ACK at ts_us. NULL with err set on
 * failure. */
struct rw_pcapw *rw_pcapw_open(const char *dir, const struct rw_endpoint *client,
                               const struct rw_endpoint *server, uint64_t ts_us, char *err,
                               size_t errlen);
/* Payload from one side, at ts_us, followed by the other side's ACK. */
int rw_pcapw_data(struct rw_pcapw *w, enum rw_dir dir, uint64_t ts_us, const uint8_t *p, size_t n);
int rw_pcapw_fin(struct rw_pcapw *w, enum rw_dir dir, uint64_t ts_us);
int rw_pcapw_rst(struct rw_pcapw *w, enum rw_dir dir, uint64_t ts_us);
/* Flushes and closes; returns -1 if anything failed to be written. */
int rw_pcapw_close(struct rw_pcapw *w);
const char *rw_pcapw_path(const struct rw_pcapw *w);

/* Additions (pcap_writer.c):
 *
 * Return values: the write functions return 0, or -1 with errno set:
 * EINVAL for a call the connection's state does not allow (nothing is
 * written and the file stays valid: data or FIN from a side after its own
 * FIN, data/FIN before the handshake, anything after a RST), else the write
 * error (EIO when stdio kept no errno). A write error is sticky: every later
 * call and rw_pcapw_close return -1. A repeated FIN from a side is a no-op.
 * Timestamps earlier than the last one written are raised to it, so the
 * file is always in time order.
 *
 * File names: when the name already exists (same endpoints, same
 * microsecond) "-1" ... "-99" is inserted before ".pcap"; O_EXCL never
 * follows or reuses an existing file or symlink.
 *
 * Addresses: an IPv4-mapped IPv6 endpoint (::ffff:a.b.c.d) is written as
 * IPv4; if the two sides still differ in family, the IPv4 side is written
 * as IPv4-mapped IPv6. */

/* Like rw_pcapw_open, but writes only the client's SYN at ts_us: the
 * server's answer comes later, rw_pcapw_synack when the upstream connection
 * is made, or rw_pcapw_rst(w, RW_S2C, ...) when it is refused (RST|ACK with
 * sequence number 0, as a closed port answers). */
struct rw_pcapw *rw_pcapw_open_syn(const char *dir, const struct rw_endpoint *client,
                                   const struct rw_endpoint *server, uint64_t ts_us, char *err,
                                   size_t errlen);
/* An upstream connect that timed out: the client's SYN retransmitted as the
 * kernel does (1 s, then doubling) until until_us, so that the file replays
 * as a SYN never answered. */
int rw_pcapw_syn_unanswered(struct rw_pcapw *w, uint64_t until_us);
/* The server's SYN-ACK and the client's ACK, at ts_us. */
int rw_pcapw_synack(struct rw_pcapw *w, uint64_t ts_us);
/* Initial sequence number of the side sending in direction dir: a hash of
 * both endpoints (as written, after the mapping above), the open time and
 * the side. Deterministic; a reused 4-tuple gets new numbers, so merged
 * files do not look like one connection. */
uint32_t rw_pcapw_isn(const struct rw_endpoint *client, const struct rw_endpoint *server,
                      uint64_t ts_us, enum rw_dir dir);

/* The proxy's way (pcap_queue.h): like rw_pcapw_open_syn, but every record
 * goes into the queue q and a writer thread creates and writes the file, so
 * no call touches the disk. NULL with err set only when out of memory (the
 * file's own problems, a refused path or a full disk, are the writer's to
 * log and count). The write calls then return 0 even when a record is
 * dropped (queue full, pcap_max_file reached): the drop is counted, the
 * sequence numbers go on as if it was written. rw_pcapw_close hands the file
 * to the writer and returns 0; rw_pcapw_path returns NULL (the name is
 * chosen by the writer, "-N" on a collision).
 *
 * pcap_max_file: a file never grows past max_file bytes. Data stops 1 KiB
 * short of it and does not resume, so that the set-up and the close (FIN,
 * RST) still fit: a truncated file shows how the connection ended. */
struct rw_pcapw_caps {
	uint64_t max_file;  /* pcap_max_file: bytes per file, 0 = none */
	uint64_t max_total; /* pcap_max_total: bytes in dir, 0 = none */
};
struct rw_pcapw *rw_pcapw_open_queued(struct rw_pcapq *q, const struct rw_pcapw_caps *caps,
                                      const char *dir, const struct rw_endpoint *client,
                                      const struct rw_endpoint *server, uint64_t ts_us, char *err,
                                      size_t errlen);

#endif
