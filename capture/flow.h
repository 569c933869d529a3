/* The flow table's types, private to capture/: a flow, its LRU lists, the
 * table (struct rw_capture), and the functions its files share: flow_key.c
 * (the key, its hash, the lookup), flow_mem.c (flows' and tombstones'
 * memory), flow_table.c (lists, a flow's life, per
 * packet), flow_infer.c (what a one-direction capture tells of the side
 * never captured), flow_clock.c (frames in along the capture clock) and flow_shard.c (a flow's
 * calls on its session, and replay -j's workers: flow_shard.h). */
#ifndef RW_FLOW_H
#define RW_FLOW_H

#include "capture.h"
#include "decode.h"
#include "reassembly.h"
#include "scan_tally.h"
#include <stddef.h>

#define US_PER_S 1000000ull

enum flow_state {
	FLOW_CANDIDATE, /* any-port flow waiting for its first payload */
	FLOW_PENDING,   /* analysed port, only SYN/SYN-ACK so far: an attempt, no session yet */
	FLOW_ACTIVE,    /* analysed: has a session */
	FLOW_IGNORED,   /* not RDP (or no memory): packets are dropped */
	FLOW_CLOSED,    /* reported: late packets are dropped until a new SYN */
};

/* Why a flow ends: decides the connect-failure and counter bookkeeping. */
enum flow_end {
	END_CLOSE,   /* FIN both ways or RST */
	END_EXPIRE,  /* idle timeout */
	END_EVICT,   /* table full */
	END_FINISH,  /* input ended */
	END_RESTART, /* a new connection reuses the 4-tuple */
};

/* A connection's endpoints in a canonical order (the lower address, or
 * port, first), in five words: the lower endpoint's address, the higher's,
 * then both ports and the family (rw_flow_make_key). Written and compared
 * a word at a time: hashing a key stored with narrower writes stalls on
 * store forwarding, once per packet. */
struct flow_key {
	uint64_t w[5];
};

/* An LRU list, least recently active first. */
struct lru {
	struct flow *head, *tail;
};

/* A flow, and a tombstone: once a flow is over (FLOW_CLOSED, FLOW_IGNORED)
 * all its late packets need is its key, its list and its last time, so it is
 * replaced by a tombstone (rw_flow_bury): the head of a flow alone, up to
 * FLOW_TOMB_BYTES, allocated that size. Nothing past the head may be read
 * or written on a flow with tomb set; under AddressSanitizer tombstones are
 * allocated exactly that size, so the tests catch it. */
struct flow {
	struct flow *hnext;
	struct flow *prev, *next; /* in c->live, c->pending or c->dead */
	struct lru *list;
	struct flow_key key;
	uint32_t hash;
	enum flow_state state;
	struct rw_capture *cap;
	uint64_t last_ts;
	bool in_region; /* from a 2 MiB region (flow_mem.c), not calloc'd */
	bool tomb;      /* the head alone (see above) */
	/* ---- the head ends here (FLOW_TOMB_BYTES) ---- */

	struct rw_endpoint ep[2]; /* ep[0] sent the first packet */
	int client;               /* side of the client, -1 not known yet */
	uint64_t id;
	uint64_t first_ts;

	bool syn_seen, synack_seen;
	int syn_side;
	uint32_t isn;
	uint32_t syns; /* SYNs sent, retransmissions included */
	uint64_t syn_ts, synack_ts;
	bool payload_seen;
	bool counting; /* the session stopped inspecting: count bytes only */
	uint32_t packets[2];
	int first_ttl[2]; /* kept for a candidate's session, -1 none */
	int syn_ttl[2];   /* its SYN / SYN-ACK's, the same way */

	/* A candidate's first payload bytes, until they prove to be a CR. */
	uint8_t probe[6];
	uint8_t probe_len;
	int probe_side;

	struct rw_session *s;
	struct shard_sess *sh; /* replay -j: s is analysed by a worker */
	/* A quiet flow's session, packed (rw_fs_pack): s is NULL until its
	 * next packet or its end unpacks it. */
	void *img;
	size_t img_len;
	struct rw_reasm rs[2]; /* rs[side]: the bytes that side sent */

	/* A side never captured (one-direction captures): its bytes are what
	 * the other side acknowledged. The last stretch acknowledged, and
	 * whether the one being delivered is a TLS alert before a FIN. */
	bool infer_alert;
	bool acked_unseen[2]; /* the peer acknowledged this side, never captured */
	uint32_t last_adv[2];
	uint64_t last_adv_ts[2];
	/* A side's latest retransmission, the data packet it repeated, and
	 * whether the side sent anything else since (see unseen_reset). */
	uint64_t last_data_ts[2];
	uint64_t rtx_ts[2], rtx_prev_ts[2];
	bool spoke_after_rtx[2];
	/* The files and frame numbers of its first and last packets. */
	const char *file_first, *file_last;
	uint64_t frame_first, frame_last;
};

#define FLOW_TOMB_BYTES offsetof(struct flow, ep)

/* A frame whose timestamp jumped far from the capture clock waits here for
 * the next frame (or, live, the wall clock) to say whether the clock really
 * moved or the frame alone is wrong (a capture card glitch, a clock step
 * undone at once). */
#define CLOCK_JUMP_US (60 * US_PER_S)
struct held_frame {
	bool on;
	int dlt;
	uint64_t ts_us, frame;
	const char *file; /* its file and frame number there */
	uint64_t file_frame;
	size_t caplen, cap;
	uint8_t *data;
};

struct rw_capture {
	struct rw_capture_config cfg;
	rw_record_cb cb;
	rw_record_take_cb take; /* NULL: cb */
	void *take_arg;
	void *arg;
	uint8_t portmap[65536 / 8];
	struct flow **buckets;
	size_t mask;
	size_t max_buckets; /* the size the table grows to (flow_key.c) */
	size_t n_flows;
	struct lru live;    /* candidates and active flows */
	struct lru pending; /* attempts: first to go when the table is full, after tombstones */
	struct lru dead;    /* ignored and closed flows */
	/* The first flow of live that the packing sweep has not passed yet
	 * (NULL: all of them); see rw_flow_pack_quiet. */
	struct flow *pack_from;
	struct rw_scan_tally *scan;
	uint32_t seed;
	uint64_t next_id;
	uint64_t now, last_expire;
	/* After a forward jump of the capture clock, flows older than the jump
	 * are not expired before this time: a clock step and a quiet gap look
	 * alike, and connections spanning a step must keep one record. */
	uint64_t expire_hold_until;
	struct held_frame held;
	struct rw_capture_stats st;
	/* cfg.flow_regions: the regions (linked by their first bytes) and
	 * the free flows in them (linked by hnext); the same for tombstones. */
	void *flow_regions, *tomb_regions;
	struct flow *flow_free, *tomb_free;
	/* replay -j: the workers, and the next record's sequence number. */
	struct rw_shard *shard;
	uint64_t out_seq;
	/* The file being read (rw_capture_set_source) and the frame number in
	 * it; the file and number of the frame being processed (a held frame's
	 * own, when it is released). */
	const char *file;
	uint64_t file_frame;
	const char *cur_file;
	uint64_t cur_frame;
};

static inline bool port_listed(const struct rw_capture *c, uint16_t port)
{
	return c->portmap[port >> 3] & (1u << (port & 7));
}

static inline enum rw_dir dir_of(const struct flow *f, int side)
{
	return side == f->client ? RW_C2S : RW_S2C;
}

/* flow_key.c */
void rw_flow_make_key(const struct rw_packet *p, struct flow_key *k);
uint32_t rw_flow_key_hash(const struct rw_capture *c, const struct flow_key *k);
struct flow *rw_flow_lookup(const struct rw_capture *c, const struct flow_key *k, uint32_t h);
/* The buckets, sized for c->cfg.max_flows (false: no memory). */
bool rw_flow_hash_init(struct rw_capture *c);
/* f (its key and hash set) into its chain, after c->n_flows counted it:
 * the table doubles when the flows outnumber its buckets. */
void rw_flow_hash_insert(struct rw_capture *c, struct flow *f);
/* The link in f's hash chain that points at f; f out of its chain. */
struct flow **rw_flow_chain_link(struct rw_capture *c, const struct flow *f);
void rw_flow_unhash(struct rw_capture *c, struct flow *f);

/* flow_mem.c: a zeroed flow, or with tomb a zeroed tombstone (NULL without
 * memory); back to where it came from; the regions unmapped (the flows in
 * them gone). */
struct flow *rw_flow_alloc(struct rw_capture *c, bool tomb);
void rw_flow_dealloc(struct rw_capture *c, struct flow *f);
void rw_flow_regions_free(struct rw_capture *c);

/* flow_table.c */
struct flow *rw_flow_new(struct rw_capture *c, const struct flow_key *k, uint32_t h,
                         const struct rw_packet *p);
void rw_flow_packet(struct rw_capture *c, struct flow *f, const struct rw_packet *p);
void rw_flow_pack_quiet(struct rw_capture *c, uint64_t now_us);

/* flow_infer.c */
bool rw_flow_fin_sized(uint32_t adv);
void rw_flow_infer_peer(struct flow *f, int side, const struct rw_packet *p);
void rw_flow_unseen_reset(struct rw_capture *c, struct flow *f);

/* flow_clock.c */
bool rw_flow_far(uint64_t a, uint64_t b);
void rw_flow_release_held(struct rw_capture *c, bool confirmed);

#endif
