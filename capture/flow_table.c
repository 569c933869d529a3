/* The flow table: packets to TCP connections, connections to sessions.
 *
 * A flow is keyed by its canonical 4-tuple. Its two sides are numbered by
 * who sent the flow's first packet (side 0); which side is the client is
 * learnt from the SYN, the SYN-ACK, the server port or, for flows on other
 * ports, from who sends an X.224 Connection Request first. Sides map to
 * rw_dir only when a session exists, so a flow never has to be re-oriented.
 *
 * Memory is bounded: at most max_flows flows, each with at most
 * max_ooo_bytes buffered per direction, and whatever a session keeps.
 * Flows that ended or were found not to be RDP stay as small tombstones so
 * their late packets are not taken for new connections; they are the first
 * to go when the table is full.
 *
 * What one-direction captures tell of the side never captured is in
 * flow_infer.c; frames come in along the capture clock in flow_clock.c;
 * a flow's calls on its session, and replay -j's workers, are in
 * flow_shard.c; the memory of flows and tombstones in flow_mem.c.
 */
#include "flow_shard.h"

#include <stdlib.h>
#include <string.h>

void rw_capture_config_defaults(struct rw_capture_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ports[0] = 3389;
	cfg->n_ports = 1;
	cfg->detect_any_port = true;
	cfg->max_flows = 65536;
	cfg->idle_timeout_us = 300 * US_PER_S;
	cfg->max_ooo_bytes = 256 * 1024;
}

/* ---- LRU lists and the hash table -------------------------------------- */

static void lru_unlink(struct flow *f)
{
	struct lru *l = f->list;
	if (!l)
		return;
	if (f->cap->pack_from == f)
		f->cap->pack_from = f->next;
	if (f->prev)
		f->prev->next = f->next;
	else
		l->head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		l->tail = f->prev;
	f->prev = f->next = NULL;
	f->list = NULL;
}

static void lru_append(struct lru *l, struct flow *f)
{
	if (l == &f->cap->live && !f->cap->pack_from)
		f->cap->pack_from = f; /* the sweep had passed them all */
	f->list = l;
	f->next = NULL;
	f->prev = l->tail;
	if (l->tail)
		l->tail->next = f;
	else
		l->head = f;
	l->tail = f;
}

static struct lru *list_for(struct rw_capture *c, enum flow_state st)
{
	if (st == FLOW_PENDING)
		return &c->pending;
	return st == FLOW_CANDIDATE || st == FLOW_ACTIVE ? &c->live : &c->dead;
}

static void set_state(struct flow *f, enum flow_state st)
{
	f->state = st;
	lru_unlink(f);
	lru_append(list_for(f->cap, st), f);
}

static void touch(struct flow *f)
{
	struct lru *l = f->list;
	if (l->tail != f) {
		lru_unlink(f);
		lru_append(l, f);
	}
}

/* ---- session plumbing -------------------------------------------------- */

static bool start_session(struct rw_capture *c, struct flow *f)
{
	if (!rw_fs_new(c, f)) {
		c->st.nomem++;
		set_state(f, FLOW_IGNORED);
		return false;
	}
	f->id = ++c->next_id;
	c->st.flows++;
	set_state(f, FLOW_ACTIVE);
	/* Started by the frame being handled: what it makes the session note
	 * points at it (rw_flow_packet tells the session each later frame). */
	RW_FS(f, .op = RW_FS_AT, .ptr = c->cur_file, .a = c->cur_frame);
	/* A candidate's handshake happened before the session existed. */
	struct rw_endpoint ep[2] = {f->ep[f->client], f->ep[1 - f->client]};
	RW_FS(f, .op = RW_FS_OPEN, .ts = f->first_ts, .x = ep, .n = sizeof(ep));
	if (f->syn_seen)
		RW_FS(f, .op = RW_FS_SYN, .dir = RW_C2S, .ts = f->syn_ts);
	if (f->synack_seen)
		RW_FS(f, .op = RW_FS_SYN, .dir = RW_S2C, .ts = f->synack_ts);
	for (int side = 0; side < 2; side++) {
		if (f->first_ttl[side] >= 0)
			RW_FS(f, .op = RW_FS_TTL, .dir = dir_of(f, side),
			      .a = (uint64_t)f->first_ttl[side]);
		if (f->syn_ttl[side] >= 0)
			RW_FS(f, .op = RW_FS_SYN_TTL, .dir = dir_of(f, side),
			      .a = (uint64_t)f->syn_ttl[side]);
	}
	return true;
}

static void ignore_flow(struct rw_capture *c, struct flow *f)
{
	c->st.ignored_flows++;
	set_state(f, FLOW_IGNORED);
}

static bool alive(const struct flow *f)
{
	return f->state == FLOW_CANDIDATE || f->state == FLOW_PENDING || f->state == FLOW_ACTIVE;
}

static unsigned port_index(const struct rw_capture *c, uint16_t port)
{
	for (size_t i = 0; i < c->cfg.n_ports; i++)
		if (c->cfg.ports[i] == port)
			return (unsigned)i;
	return 32;
}

/* An attempt ended before it became a connection: reported on its own (its
 * session starts now, from the facts the flow kept) or counted for a
 * scan_or_flood summary. True when the flow now has a session. */
static bool attempt_ended(struct rw_capture *c, struct flow *f, uint64_t ts, enum rw_attempt how)
{
	int server = 1 - f->client;
	if (c->scan &&
	    !rw_scan_tally_attempt(c->scan, &f->ep[f->client], &f->ep[server],
	                           (uint16_t)port_index(c, f->ep[server].port), ts, how)) {
		c->st.scan_attempts++;
		return false;
	}
	return start_session(c, f);
}

static void emit_summary(struct rw_record *rec, void *arg)
{
	struct rw_capture *c = arg;
	rec->id = ++c->next_id;
	c->st.records++;
	c->st.scan_records++;
	if (c->shard)
		rw_fs_summary(c, rec);
	else if (c->take)
		c->take(rec, NULL, c->take_arg);
	else
		c->cb(rec, c->arg);
}

/* The first bytes of an X.224 Connection Request in TPKT: 03 00 LL LL,
 * then LI (>= 6: the CR's fixed part) and the CR code. 1 when the probe is
 * one, 0 when more bytes are needed, -1 when it cannot be one. */
static int check_cr(const uint8_t *b, size_t n)
{
	if (n >= 1 && b[0] != 3)
		return -1;
	if (n >= 2 && b[1] != 0)
		return -1;
	if (n >= 4 && rw_be16(b + 2) < 11)
		return -1;
	if (n >= 5 && (b[4] < 6 || (size_t)b[4] + 5 > rw_be16(b + 2)))
		return -1;
	if (n >= 6 && (b[5] & 0xF0) != 0xE0)
		return -1;
	return n >= 6 ? 1 : 0;
}

static void probe(struct rw_capture *c, struct flow *f, int side, uint64_t ts, const uint8_t *p,
                  size_t n)
{
	if (!p || (f->probe_len && side != f->probe_side)) {
		ignore_flow(c, f);
		return;
	}
	f->probe_side = side;
	size_t take = sizeof(f->probe) - f->probe_len;
	if (take > n)
		take = n;
	memcpy(f->probe + f->probe_len, p, take);
	f->probe_len = (uint8_t)(f->probe_len + take);
	int r = check_cr(f->probe, f->probe_len);
	if (r == 0)
		return;
	/* A CR from the side that answered the SYN is not an RDP client. */
	if (r < 0 || (f->client >= 0 && f->client != side)) {
		ignore_flow(c, f);
		return;
	}
	f->client = side;
	if (!start_session(c, f))
		return;
	rw_fs_deliver(f, RW_C2S, ts, f->probe, f->probe_len);
	if (n > take)
		rw_fs_deliver(f, RW_C2S, ts, p + take, n - take);
}

static void on_data(void *arg, int side, uint64_t ts, const uint8_t *p, size_t n)
{
	struct flow *f = arg;
	f->payload_seen = true;
	if (f->state == FLOW_ACTIVE)
		rw_fs_deliver(f, dir_of(f, side), ts, p, n);
	else if (f->state == FLOW_CANDIDATE)
		probe(f->cap, f, side, ts, p, n);
}

static void on_gap(void *arg, int side, uint64_t ts, uint64_t missing)
{
	struct flow *f = arg;
	f->payload_seen = true;
	if (f->state == FLOW_ACTIVE && f->packets[side] == 0)
		/* Never captured, only acknowledged: inferred, not a capture gap. */
		RW_FS(f, .op = RW_FS_INFERRED, .dir = dir_of(f, side), .ts = ts,
		      .kind = f->infer_alert ? RW_INFER_ALERT : RW_INFER_DATA, .a = missing);
	else if (f->state == FLOW_ACTIVE)
		RW_FS(f, .op = RW_FS_GAP, .dir = dir_of(f, side), .ts = ts, .a = missing);
	else if (f->state == FLOW_CANDIDATE)
		ignore_flow(f->cap, f); /* the first bytes are lost: cannot tell */
}

static void on_fin(void *arg, int side, uint64_t ts)
{
	struct flow *f = arg;
	if (f->state == FLOW_ACTIVE && f->packets[side] == 0)
		RW_FS(f, .op = RW_FS_INFERRED, .dir = dir_of(f, side), .ts = ts,
		      .kind = RW_INFER_FIN);
	else if (f->state == FLOW_ACTIVE)
		RW_FS(f, .op = RW_FS_FIN, .dir = dir_of(f, side), .ts = ts);
}

static const struct rw_reasm_ops reasm_ops = {on_data, on_gap, on_fin};

/* ---- flow life ---------------------------------------------------------- */

static void flow_setup(struct rw_capture *c, struct flow *f, const struct rw_packet *p)
{
	f->cap = c;
	f->ep[0].family = f->ep[1].family = p->family;
	memcpy(f->ep[0].addr, p->src, sizeof(f->ep[0].addr));
	memcpy(f->ep[1].addr, p->dst, sizeof(f->ep[1].addr));
	f->ep[0].port = p->sport;
	f->ep[1].port = p->dport;
	f->client = -1;
	f->syn_side = -1;
	f->first_ts = f->last_ts = p->ts_us;
	f->first_ttl[0] = f->first_ttl[1] = -1;
	f->syn_ttl[0] = f->syn_ttl[1] = -1;
	for (int side = 0; side < 2; side++)
		rw_reasm_init(&f->rs[side], &reasm_ops, f, side, c->cfg.max_ooo_bytes);

	bool syn = p->flags & RW_TCP_SYN, ack = p->flags & RW_TCP_ACK;
	if (syn)
		f->client = ack ? 1 : 0;
	else if (port_listed(c, p->dport))
		f->client = 0;
	else if (port_listed(c, p->sport))
		f->client = 1;
	if (port_listed(c, p->sport) || port_listed(c, p->dport)) {
		/* The default when nothing else tells: the listed port is the server's. */
		if (f->client < 0)
			f->client = 0;
		/* A bare SYN or SYN-ACK is an attempt until the handshake completes
		 * or a byte flows: its session waits, so that a scan or a SYN flood
		 * costs a flow each, not a session. */
		if (syn && p->seg_len == 0 && !(p->flags & RW_TCP_FIN))
			set_state(f, FLOW_PENDING);
		else
			start_session(c, f);
	} else {
		set_state(f, FLOW_CANDIDATE);
	}
}

/* Reports an analysed flow and leaves a tombstone. */
static void flow_end(struct rw_capture *c, struct flow *f, uint64_t ts, enum flow_end why)
{
	if (!rw_fs_unpack(f)) {
		/* No memory to report it: dropped, as a flow that found none
		 * (start_session); nothing below may call the session. */
		c->st.nomem++;
		rw_fs_free(f);
		set_state(f, FLOW_IGNORED);
	}
	if (f->state == FLOW_PENDING)
		attempt_ended(c, f, ts,
		              f->synack_seen ? RW_ATTEMPT_HALF_OPEN : RW_ATTEMPT_UNANSWERED);
	if (f->state == FLOW_ACTIVE) {
		for (int side = 0; side < 2; side++)
			rw_reasm_flush(&f->rs[side], ts);
		int server = 1 - f->client;
		for (int u = 0; u < 2; u++) {
			/* The last stretch a silent side's peer acknowledged was of a
			 * FIN's size (or an alert's and a FIN's): it closed then. */
			if (f->packets[u] == 0 && f->packets[1 - u] > 0 && !f->rs[u].fin_seen &&
			    rw_flow_fin_sized(f->last_adv[u]))
				RW_FS(f, .op = RW_FS_INFERRED, .dir = dir_of(f, u),
				      .ts = f->last_adv_ts[u], .kind = RW_INFER_FIN);
		}
		if (f->packets[f->client] == 0 && f->synack_seen)
			RW_FS(f, .op = RW_FS_INFERRED, .dir = RW_C2S, .ts = f->synack_ts,
			      .kind = RW_INFER_SYN);
		if (why != END_CLOSE)
			rw_flow_unseen_reset(c, f);
		/* One direction only: a side never captured that its peer
		 * acknowledged (a SYN never answered is not one). */
		bool seen_c = f->packets[f->client] > 0 || !f->acked_unseen[f->client];
		bool seen_s = f->packets[server] > 0 || !f->acked_unseen[server];
		RW_FS(f, .op = RW_FS_DIRECTIONS,
		      .kind = !seen_s   ? RW_DIRS_CLIENT_ONLY
		              : !seen_c ? RW_DIRS_SERVER_ONLY
		                        : RW_DIRS_BOTH);
		if (why != END_CLOSE && f->syn_seen && !f->synack_seen && f->packets[server] == 0 &&
		    f->syns > 1)
			/* The client retransmitted its SYN and nothing ever came back:
			 * it gave up waiting. One unanswered SYN proves nothing. */
			RW_FS(f, .op = RW_FS_CONNECT_FAILED, .ts = f->last_ts,
			      .kind = RW_CLOSE_UNREACHABLE);
		for (int side = 0; side < 2; side++) {
			struct rw_tcp_stats st = {0};
			rw_reasm_tcp_stats(&f->rs[side], &st);
			st.packets = f->packets[side];
			if (f->packets[side] == 0) {
				/* Never captured: its bytes were inferred, not lost. */
				st.gaps = st.capture_gaps = 0;
				st.gap_bytes = st.capture_gap_bytes = 0;
			}
			RW_FS(f, .op = RW_FS_TCP_STATS, .dir = dir_of(f, side), .x = &st,
			      .n = sizeof(st));
		}
		enum rw_end_reason reason = why == END_EXPIRE  ? RW_END_IDLE
		                            : why == END_EVICT ? RW_END_EVICTED
		                            : why == END_CLOSE ? RW_END_CLOSED
		                                               : RW_END_INPUT;
		c->st.records++;
		if (why == END_EXPIRE)
			c->st.expired++;
		else if (why == END_EVICT)
			c->st.evicted++;
		if (rw_fs_end(c, f, ts, reason))
			goto ended; /* by its worker */
		struct rw_record *rec = rw_session_record(f->s);
		rec->end_reason = reason;
		rw_session_close_undecided(f->s, ts);
		rec->id = f->id;
		rec->file_first = f->file_first;
		rec->file_last = f->file_last;
		rec->frame_first = f->file_first ? f->frame_first : 0;
		rec->frame_last = f->file_last ? f->frame_last : 0;
		if (c->take) {
			c->take(rec, f->s, c->take_arg);
			f->s = NULL;
		} else {
			rw_verdict_decide(rec);
			c->cb(rec, c->arg);
		}
	}
	rw_session_free(f->s);
	f->s = NULL;
ended:
	for (int side = 0; side < 2; side++)
		rw_reasm_free(&f->rs[side]);
	set_state(f, FLOW_CLOSED);
}

static void flow_remove(struct rw_capture *c, struct flow *f)
{
	rw_flow_unhash(c, f);
	lru_unlink(f);
	c->n_flows--;
	rw_flow_dealloc(c, f);
}

/* Makes room for one more flow: tombstones go first, then the connection
 * idle the longest, reported with what it has. */
static bool evict_one(struct rw_capture *c)
{
	struct flow *f = c->dead.head      ? c->dead.head
	                 : c->pending.head ? c->pending.head
	                                   : c->live.head;
	if (!f)
		return false;
	if (alive(f))
		flow_end(c, f, f->last_ts, END_EVICT);
	flow_remove(c, f);
	return true;
}

struct flow *rw_flow_new(struct rw_capture *c, const struct flow_key *k, uint32_t h,
                         const struct rw_packet *p)
{
	while (c->n_flows >= c->cfg.max_flows)
		if (!evict_one(c))
			break;
	struct flow *f = rw_flow_alloc(c, false);
	if (!f) {
		c->st.nomem++;
		return NULL;
	}
	f->key = *k;
	f->hash = h;
	c->n_flows++;
	rw_flow_hash_insert(c, f);
	flow_setup(c, f, p);
	return f;
}

/* A new connection on a known 4-tuple: the old one is reported first. */
static void flow_restart(struct rw_capture *c, struct flow *f, const struct rw_packet *p)
{
	if (alive(f))
		flow_end(c, f, f->last_ts, END_RESTART);
	for (int side = 0; side < 2; side++)
		rw_reasm_free(&f->rs[side]);
	struct flow_key k = f->key;
	uint32_t h = f->hash;
	struct flow *hnext = f->hnext;
	bool in_region = f->in_region;
	lru_unlink(f);
	memset(f, 0, sizeof(*f));
	f->key = k;
	f->hash = h;
	f->hnext = hnext;
	f->in_region = in_region;
	flow_setup(c, f, p);
}

/* ---- tombstones ------------------------------------------------------------ */

/* to, with from's key and hash, takes from's place in its hash chain and its
 * list. */
static void flow_replace(struct rw_capture *c, struct flow *from, struct flow *to)
{
	*rw_flow_chain_link(c, from) = to;
	to->hnext = from->hnext;
	to->prev = from->prev;
	to->next = from->next;
	to->list = from->list;
	if (from->prev)
		from->prev->next = to;
	else
		from->list->head = to;
	if (from->next)
		from->next->prev = to;
	else
		from->list->tail = to;
	if (c->pack_from == from)
		c->pack_from = to;
}

/* A flow that is over takes a tombstone's place: the tombstone takes the
 * flow's in its hash chain and list, and the flow's memory goes back. A
 * capture of short connections keeps tens of thousands of flows over (until
 * they expire or the table is full) and only a few alive: the whole flows
 * were most of replay's fresh memory, each page a fault. Without memory
 * for the tombstone the flow stays whole, only bigger. */
static void flow_bury(struct rw_capture *c, struct flow *f)
{
	/* flow_end freed its session; should one ever remain, the flow stays
	 * whole rather than the session be freed here. */
	if (f->s || f->sh || f->img)
		return;
	struct flow *t = rw_flow_alloc(c, true);
	if (!t)
		return;
	for (int side = 0; side < 2; side++)
		rw_reasm_free(&f->rs[side]);
	/* The head up to its memory flags, which are t's own. */
	memcpy(t, f, offsetof(struct flow, in_region));
	flow_replace(c, f, t);
	rw_flow_dealloc(c, f);
}

/* A new connection on a tombstone's 4-tuple: a whole flow in its place, set
 * up from the packet, as flow_restart does for a flow still whole. */
static struct flow *flow_revive(struct rw_capture *c, struct flow *t, const struct rw_packet *p)
{
	struct flow *f = rw_flow_alloc(c, false);
	if (!f) {
		c->st.nomem++;
		return NULL;
	}
	f->key = t->key;
	f->hash = t->hash;
	flow_replace(c, t, f);
	rw_flow_dealloc(c, t);
	flow_setup(c, f, p); /* its state moves it to its list */
	return f;
}

static bool starts_new_connection(const struct flow *f, const struct rw_packet *p, int side)
{
	if ((p->flags & (RW_TCP_SYN | RW_TCP_ACK | RW_TCP_RST)) != RW_TCP_SYN)
		return false;
	if (f->state == FLOW_CLOSED || f->state == FLOW_IGNORED)
		return true;
	if (!f->syn_seen)
		return f->packets[0] + f->packets[1] > 0; /* mid-stream flow, now a SYN */
	return side == f->syn_side && p->seq != f->isn;
}

/* ---- per packet ---------------------------------------------------------- */

static void handle_rst(struct rw_capture *c, struct flow *f, int side, const struct rw_packet *p)
{
	if (f->state == FLOW_PENDING)
		attempt_ended(c, f, p->ts_us,
		              side == f->client ? RW_ATTEMPT_CLIENT_RST : RW_ATTEMPT_REFUSED);
	if (f->state != FLOW_ACTIVE) {
		set_state(f, FLOW_CLOSED);
		for (int s = 0; s < 2; s++)
			rw_reasm_free(&f->rs[s]);
		return;
	}
	enum rw_dir d = dir_of(f, side);
	if (f->syn_seen && !f->synack_seen && !f->payload_seen && side != f->client) {
		RW_FS(f, .op = RW_FS_RST, .dir = d, .ts = p->ts_us, .a = (uint64_t)p->ttl);
		RW_FS(f, .op = RW_FS_CONNECT_FAILED, .ts = p->ts_us, .kind = RW_CLOSE_REFUSED);
	} else {
		/* What was sent before the RST is delivered before it. */
		for (int s = 0; s < 2; s++)
			rw_reasm_flush(&f->rs[s], p->ts_us);
		RW_FS(f, .op = RW_FS_RST, .dir = d, .ts = p->ts_us, .a = (uint64_t)p->ttl);
	}
	flow_end(c, f, p->ts_us, END_CLOSE);
}

static void flow_packet(struct rw_capture *c, struct flow *f, const struct rw_packet *p)
{
	if (!rw_fs_unpack(f)) {
		c->st.nomem++; /* the packet is lost to its session, not the flow */
		return;
	}
	int side = !(f->ep[0].port == p->sport && !memcmp(f->ep[0].addr, p->src, 16));
	if (starts_new_connection(f, p, side)) {
		flow_restart(c, f, p);
		side = 0;
	}
	f->packets[side]++;
	f->rs[1 - side].peer_packets++; /* a chance to acknowledge what it sent */
	if (f->packets[0] + f->packets[1] == 1) {
		f->file_first = c->cur_file;
		f->frame_first = c->cur_frame;
	}
	f->file_last = c->cur_file;
	f->frame_last = c->cur_frame;
	if (f->s || f->sh) /* what this frame makes the session note points at it */
		RW_FS(f, .op = RW_FS_AT, .ptr = c->cur_file, .a = c->cur_frame);
	/* Per-flow time never runs backwards: a frame stamped before its flow's
	 * last one (merged interfaces, a clock stepped back) counts as at the
	 * flow's last time, so durations and timers stay sane. */
	struct rw_packet pm;
	if (p->ts_us < f->last_ts) {
		pm = *p;
		pm.ts_us = f->last_ts;
		p = &pm;
	}
	f->last_ts = p->ts_us;
	touch(f);
	if (f->state == FLOW_CLOSED || f->state == FLOW_IGNORED)
		return;

	bool syn = p->flags & RW_TCP_SYN, ack = p->flags & RW_TCP_ACK;
	if (syn && !ack) {
		if (!f->syn_seen) {
			f->syn_seen = true;
			f->syn_side = side;
			f->isn = p->seq;
			f->syn_ts = p->ts_us;
			rw_reasm_syn(&f->rs[side], p->seq);
			if (f->state == FLOW_ACTIVE && side == f->client)
				RW_FS(f, .op = RW_FS_SYN, .dir = RW_C2S, .ts = p->ts_us);
		}
		if (side == f->syn_side)
			f->syns++;
	} else if (syn && !f->synack_seen && side != f->syn_side) {
		f->synack_seen = true;
		f->synack_ts = p->ts_us;
		if (f->client < 0)
			f->client = 1 - side;
		rw_reasm_syn(&f->rs[side], p->seq);
		if (f->state == FLOW_ACTIVE && side != f->client)
			RW_FS(f, .op = RW_FS_SYN, .dir = RW_S2C, .ts = p->ts_us);
	}

	/* The handshake completed or a byte flowed: a connection, not an attempt. */
	if (f->state == FLOW_PENDING && !(p->flags & RW_TCP_RST) &&
	    (!syn || p->seg_len || (p->flags & RW_TCP_FIN)))
		start_session(c, f);

	if (p->flags & RW_TCP_RST) {
		/* Its ACK is not used where the peer's own packets tell what it
		 * sent: an injected RST's acknowledgment number is whatever the
		 * injector chose. In a one-direction capture it is the last word
		 * on the unseen side, and a stack's RST (an abort, a firewall's
		 * REJECT answering a segment) acknowledges exactly what it got:
		 * the bytes it advances past are taken as sent, within a window. */
		if ((p->flags & RW_TCP_ACK) && f->state == FLOW_ACTIVE &&
		    f->packets[1 - side] == 0 && f->rs[1 - side].started &&
		    rw_seq_gt(p->ack, f->rs[1 - side].next) &&
		    p->ack - f->rs[1 - side].next <= 65535) {
			rw_flow_infer_peer(f, side, p);
			rw_reasm_ack(&f->rs[1 - side], p->ts_us, p->ack);
		}
		handle_rst(c, f, side, p);
		return;
	}
	if (syn) {
		if (f->state == FLOW_ACTIVE)
			RW_FS(f, .op = RW_FS_SYN_TTL, .dir = dir_of(f, side),
			      .a = (uint64_t)p->ttl);
		else if (f->syn_ttl[side] < 0)
			f->syn_ttl[side] = p->ttl;
	} else if (f->state == FLOW_ACTIVE) {
		RW_FS(f, .op = RW_FS_TTL, .dir = dir_of(f, side), .a = (uint64_t)p->ttl);
		if (p->seg_len) /* the baseline from data-bearing packets */
			RW_FS(f, .op = RW_FS_DATA_TTL, .dir = dir_of(f, side),
			      .a = (uint64_t)p->ttl);
	} else if (f->first_ttl[side] < 0) {
		f->first_ttl[side] = p->ttl;
	}

	/* A SYN's MSS option bounds the segments of both directions. */
	if (syn)
		for (int s = 0; s < 2; s++)
			rw_reasm_syn_options(&f->rs[s], p->mss, p->tcp_timestamps);
	/* The peer's ACK first: it is about bytes sent before this packet. */
	if (ack) {
		rw_flow_infer_peer(f, side, p);
		rw_reasm_ack(&f->rs[1 - side], p->ts_us, p->ack);
	}
	uint32_t seq = p->seq + (syn ? 1u : 0u);
	bool rtx = false;
	if (p->seg_len && alive(f)) {
		if (f->sh && !f->counting &&
		    rw_reasm_may_buffer(&f->rs[side], seq, p->payload_len, p->seg_len))
			rw_fs_settle(f);
		uint32_t before = f->rs[side].st.retransmits;
		rw_reasm_segment(&f->rs[side], p->ts_us, seq, p->payload, p->payload_len,
		                 p->seg_len);
		rtx = f->rs[side].st.retransmits != before;
	}
	if (rtx) {
		f->rtx_prev_ts[side] = f->last_data_ts[side];
		f->rtx_ts[side] = p->ts_us;
		f->spoke_after_rtx[side] = false;
	} else if (f->rtx_ts[side]) {
		f->spoke_after_rtx[side] = true;
	}
	if (p->seg_len)
		f->last_data_ts[side] = p->ts_us;
	if ((p->flags & RW_TCP_FIN) && alive(f))
		rw_reasm_fin(&f->rs[side], p->ts_us, seq + (uint32_t)p->seg_len);

	if (f->state == FLOW_IGNORED) {
		for (int s = 0; s < 2; s++)
			rw_reasm_free(&f->rs[s]);
		return;
	}
	if (rw_reasm_fin_delivered(&f->rs[0]) && rw_reasm_fin_delivered(&f->rs[1])) {
		/* The peer's final ACK is not awaited: what this side sent since
		 * the peer's last packet cannot count as never acknowledged. */
		rw_reasm_forget_unanswered(&f->rs[side]);
		if (f->state == FLOW_ACTIVE)
			flow_end(c, f, p->ts_us, END_CLOSE);
		else
			set_state(f, FLOW_CLOSED);
	}
}

void rw_flow_packet(struct rw_capture *c, struct flow *f, const struct rw_packet *p)
{
	if (f->tomb) {
		if ((p->flags & (RW_TCP_SYN | RW_TCP_ACK | RW_TCP_RST)) != RW_TCP_SYN) {
			/* A late packet of a connection over: as on a whole flow
			 * over, it only keeps the flow from expiring. */
			if (p->ts_us > f->last_ts)
				f->last_ts = p->ts_us;
			touch(f);
			return;
		}
		if (!(f = flow_revive(c, f, p)))
			return;
	}
	flow_packet(c, f, p);
	if (f->state == FLOW_CLOSED || f->state == FLOW_IGNORED)
		flow_bury(c, f);
}

/* ---- table ---------------------------------------------------------------- */

struct rw_capture *rw_capture_new(const struct rw_capture_config *cfg, rw_record_cb cb, void *arg)
{
	struct rw_capture *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (cfg)
		c->cfg = *cfg;
	else
		rw_capture_config_defaults(&c->cfg);
	struct rw_capture_config def;
	rw_capture_config_defaults(&def);
	if (c->cfg.max_flows == 0)
		c->cfg.max_flows = def.max_flows;
	if (c->cfg.idle_timeout_us == 0)
		c->cfg.idle_timeout_us = def.idle_timeout_us;
	if (c->cfg.n_ports > RW_CAPTURE_MAX_PORTS)
		c->cfg.n_ports = RW_CAPTURE_MAX_PORTS;
	for (size_t i = 0; i < c->cfg.n_ports; i++)
		c->portmap[c->cfg.ports[i] >> 3] |= (uint8_t)(1u << (c->cfg.ports[i] & 7));
	if (!rw_flow_hash_init(c)) {
		free(c);
		return NULL;
	}
	c->seed = (uint32_t)((uintptr_t)c >> 4) * 2654435761u;
	c->cb = cb;
	c->arg = arg;
	/* Without it (no memory) every attempt is simply reported on its own. */
	c->scan = rw_scan_tally_new(emit_summary, c);
	return c;
}

void rw_capture_set_take(struct rw_capture *c, rw_record_take_cb take, void *arg)
{
	c->take = take;
	c->take_arg = arg;
}

static void expire_list(struct rw_capture *c, struct lru *l, uint64_t now_us)
{
	uint64_t idle = c->cfg.idle_timeout_us;
	struct flow *f = l->head;
	while (f && f->last_ts <= now_us && now_us - f->last_ts >= idle) {
		struct flow *next = f->next;
		if (alive(f))
			flow_end(c, f, f->last_ts, END_EXPIRE);
		flow_remove(c, f);
		f = next;
	}
}

/* A connection quiet this long (capture time) has its session packed: a
 * capture holds many such (hung or idle sessions, or simply open when the
 * capture ends), each a 14 KiB session that is mostly zeros and otherwise
 * fresh memory for the next one. A pack and an unpack cost a few us; a
 * busy RDP session is never quiet that long. */
#define PACK_AFTER_US (10 * US_PER_S)

/* The live list is in order of last activity (nearly: a clock stepped
 * back), so the sweep goes on from where it stopped; touch() and the
 * lists' moves keep c->pack_from right. */
void rw_flow_pack_quiet(struct rw_capture *c, uint64_t now_us)
{
	struct flow *f = c->pack_from;
	while (f && f->last_ts <= now_us && now_us - f->last_ts >= PACK_AFTER_US) {
		c->st.packed += rw_fs_pack(f);
		f = f->next;
	}
	c->pack_from = f;
}

void rw_capture_expire(struct rw_capture *c, uint64_t now_us)
{
	/* Live: the wall clock settles a held frame that no packet followed. */
	if (c->held.on && now_us != c->now)
		rw_flow_release_held(c, !rw_flow_far(now_us, c->held.ts_us));
	if (now_us < c->expire_hold_until)
		return;
	expire_list(c, &c->live, now_us);
	expire_list(c, &c->pending, now_us);
	expire_list(c, &c->dead, now_us);
	if (!c->shard)
		rw_flow_pack_quiet(c, now_us);
	if (c->scan)
		rw_scan_tally_flush(c->scan, now_us);
}

void rw_capture_finish(struct rw_capture *c)
{
	/* Nothing came after it to confirm the jump: an outlier. */
	rw_flow_release_held(c, false);
	/* Least recently active first: a deterministic order for the reports. */
	while (c->live.head || c->pending.head) {
		struct flow *f = !c->pending.head ? c->live.head
		                 : !c->live.head  ? c->pending.head
		                 : c->pending.head->last_ts < c->live.head->last_ts
		                         ? c->pending.head
		                         : c->live.head;
		flow_end(c, f, f->last_ts, END_FINISH);
		flow_remove(c, f);
	}
	if (c->scan)
		rw_scan_tally_flush(c->scan, UINT64_MAX);
	while (c->dead.head)
		flow_remove(c, c->dead.head);
}

const struct rw_capture_stats *rw_capture_stats(const struct rw_capture *c)
{
	return &c->st;
}

void rw_capture_note_drops(struct rw_capture *c, uint64_t n)
{
	c->st.kernel_drops = n;
}

void rw_capture_free(struct rw_capture *c)
{
	if (!c)
		return;
	rw_capture_shard_stop(c);
	free(c->held.data);
	struct lru *lists[3] = {&c->live, &c->pending, &c->dead};
	for (int i = 0; i < 3; i++) {
		while (lists[i]->head) {
			struct flow *f = lists[i]->head;
			if (!f->tomb) {
				rw_fs_free(f); /* the workers stopped */
				for (int side = 0; side < 2; side++)
					rw_reasm_free(&f->rs[side]);
			}
			flow_remove(c, f);
		}
	}
	rw_scan_tally_free(c->scan);
	free(c->buckets);
	rw_flow_regions_free(c);
	free(c);
}
