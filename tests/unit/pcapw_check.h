/* The independent pcap checker the test_pcap_writer*.c files share: scratch
 * directories, a decoder that recomputes checksums, a receiver that follows
 * each TCP conversation (sequence/acknowledgement continuity, payload bytes),
 * and a replay through the capture engine that keeps what the records say. */
#ifndef RW_TEST_PCAPW_CHECK_H
#define RW_TEST_PCAPW_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture.h"
#include "decode.h"
#include "pcap_writer.h"

#ifndef RW_TEST_DATA
#define RW_TEST_DATA "tests/data"
#endif

#define T0          1700000000123456ull /* 2023-11-14T22:13:20.123456Z */
#define MAX_PAYLOAD 1600

struct pkt {
	uint64_t ts;
	size_t caplen, wirelen;
	uint8_t dst_mac[6], src_mac[6];
	int family;
	uint8_t src[16], dst[16];
	int ttl;
	uint16_t ip_id;
	bool df;
	bool ip_csum_ok, tcp_csum_ok;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	int mss; /* -1: no option */
	size_t len;
	uint8_t data[MAX_PAYLOAD];
};

struct conv {
	struct rw_endpoint ep[2]; /* as expected in the packets */
	size_t mss;
	bool syn[2], fin[2], rst, refused;
	uint32_t isn[2], nxt[2], acked[2]; /* acked[d]: highest ACK of d's bytes */
	uint16_t next_id[2];
	uint64_t last_ts;
	uint8_t *stream[2];
	size_t slen[2];
};

struct exp {
	int dir;
	uint8_t flags;
	size_t len;
};

#define S   RW_TCP_SYN
#define A   RW_TCP_ACK
#define PA  (RW_TCP_PSH | RW_TCP_ACK)
#define FA  (RW_TCP_FIN | RW_TCP_ACK)
#define RA  (RW_TCP_RST | RW_TCP_ACK)
#define C2S RW_C2S
#define S2C RW_S2C

struct rec {
	struct rw_endpoint client, server;
	enum rw_cause cause;
	enum rw_side closed_by;
	enum rw_close_kind close_kind;
	enum rw_phase phase;
	size_t n_evidence;
	char evidence[RW_MAX_EVIDENCE][RW_EVIDENCE_LEN];
	uint64_t bytes[2];
	bool fin_seen[2], rst_seen[2];
	bool saw_syn, saw_synack, midstream;
	int connect_failed;
	bool cr_seen, cc_seen;
	uint32_t requested_protocols, selected_protocol;
	bool tls13, tls_established, client_hello_seen, server_hello_seen;
	char ja3_md5[33], ja3s_md5[33], ja4[40];
	uint32_t retransmits[2], gaps[2];
	int ttl_lo[2];
	uint64_t ts_open, ts_close;
};

struct recs {
	size_t n;
	struct rec r[4];
};

extern const struct rw_endpoint cli4, srv4, cli6, srv6;

void remove_files(const char *dir, const char *prefix);
char *make_tmpdir(void);
void remove_tmpdir(char *dir);
void conv_init(struct conv *c, const struct rw_endpoint *client, const struct rw_endpoint *server);
void conv_free(struct conv *c);
struct pkt *check_file(const char *path, struct conv *c, size_t *count);
void expect_packets(const struct pkt *v, size_t n, const struct exp *e, size_t ne);
uint8_t *pattern(size_t n, unsigned seed);
void replay(const char *path, struct recs *rs);
void assert_endpoint(const struct rw_endpoint *a, const struct rw_endpoint *b);

#endif
