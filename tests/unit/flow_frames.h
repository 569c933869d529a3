/* Synthetic TCP connections for the flow-table tests (test_flow_table.c,
 * test_one_direction.c, test_flow_ttl.c): a script writes each segment with
 * the sequence numbers, flags and TTLs it wants, into a capture or a pcap
 * file, and the records the capture reports are collected in recs[]. */
#ifndef RW_TEST_FLOW_FRAMES_H
#define RW_TEST_FLOW_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pcap/pcap.h>

#include "capture.h"
#include "decode.h"

#define MAX_RECS 16

extern struct rw_record recs[MAX_RECS];
extern size_t n_recs;

/* One TCP connection as the test script drives it. */
struct conn {
	int family;
	uint8_t caddr[16], saddr[16];
	uint16_t cport, sport;
	uint32_t cseq, sseq; /* next sequence number of each side */
	int cttl, sttl;
};

extern uint64_t now_us;
/* Where packets go: straight into the capture, or into a pcap file. */
extern struct rw_capture *cap;
extern pcap_dumper_t *dumper;

void on_record(const struct rw_record *rec, void *arg);
void emit(const uint8_t *frame, size_t n);
void seg_at(struct conn *c, bool from_client, uint8_t flags, uint32_t seq, uint32_t ack,
            const void *data, size_t len, int ttl);
void seg(struct conn *c, bool from_client, uint8_t flags, const void *data, size_t len);
struct conn conn4(uint8_t client_last, uint16_t cport, uint16_t sport);
void handshake(struct conn *c);
void handshake_client_only(struct conn *c);
void close_both(struct conn *c);
int setup(void **state);
int teardown(void **state);
void new_capture(const struct rw_capture_config *cfg);
void check_endpoints(const struct rw_record *r, const struct conn *c);
bool has_evidence(const struct rw_record *r, const char *needle);
/* A real ClientHello (OpenSSL's TLS 1.2 one, tls_vectors.c) in its TLS
 * record: its length (the test fails when it does not fit in room). */
size_t client_hello_record(uint8_t *out, size_t room);

/* X.224 Connection Request with RDP_NEG_REQ (SSL | HYBRID) and Connection
 * Confirms selecting SSL or standard RDP security. */
static const uint8_t cr[] = {0x03, 0x00, 0x00, 0x13, 0x0e, 0xe0, 0x00, 0x00, 0x00, 0x00,
                             0x00, 0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00};
static const uint8_t cc_ssl[] = {0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00, 0x00, 0x12, 0x34,
                                 0x00, 0x02, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00};
static const uint8_t cc_rdp[] = {0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00, 0x00, 0x12, 0x34,
                                 0x00, 0x02, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00};

#endif
