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
 * flow_infer.c; frames come in along the capture clock in flow_clock.c.
 */
#include "flow.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

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

uint32_t rw_flow_key_hash(const struct rw_capture *c, const struct flow_key *k)
{
	/* Seeded per table so crafted traffic cannot aim at a chain known in
	 * advance; eight bytes at a time (it runs for every packet). The key's
	 * padding is zeroed by rw_flow_make_key. */
	const uint8_t *p = (const uint8_t *)k;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ c->seed;
	size_t i = 0;
	for (; i + 8 <= sizeof(*k); i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	uint64_t w = 0;
	memcpy(&w, p + i, sizeof(*k) - i);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	h *= 0xff51afd7ed558ccdull;
	return (uint32_t)(h ^ (h >> 32));
}

struct flow *rw_flow_lookup(const struct rw_capture *c, const struct flow_key *k, uint32_t h)
{
	for (struct flow *f = c->buckets[h & c->mask]; f; f = f->hnext)
		if (f->hash == h && !memcmp(&f->key, k, sizeof(*k)))
			return f;
	return NULL;
}

static void unhash(struct rw_capture *c, struct flow *f)
{
	struct flow **pp = &c->buckets[f->hash & c->mask];
	while (*pp != f)
		pp = &(*pp)->hnext;
	*pp = f->hnext;
}

void rw_flow_make_key(const struct rw_packet *p, struct flow_key *k)
{
	size_t alen = p->family == AF_INET ? 4 : 16;
	memset(k, 0, sizeof(*k));
	k->family = (uint8_t)p->family;
	int cmp = memcmp(p->src, p->dst, alen);
	if (cmp < 0 || (cmp == 0 && p->sport <= p->dport)) {
		memcpy(k->lo, p->src, alen);
		memcpy(k->hi, p->dst, alen);
		k->plo = p->sport;
		k->phi = p->dport;
	} else {
		memcpy(k->lo, p->dst, alen);
		memcpy(k->hi, p->src, alen);
		k->plo = p->dport;
		k->phi = p->sport;
	}
}

/* ---- sharded analysis (replay -j) ------------------------------------------
 *
 * Everything that couples flows stays in the thread that feeds packets (the
 * dispatcher): decoding, the flow table and its bound, expiry, reassembly,
 * which flows get a session, scan tallies, record ids. Only the sessions'
 * own work (the analyzers, the verdict) runs in the workers: each call a
 * flow makes on its session becomes a command in its worker's batch, run
 * there in the same order. A record leaves the worker tagged with the
 * sequence number of its place among -j 1's records.
 *
 * Two facts flow the other way, from a session to the flow table:
 * - whether the session still inspects payload: once it does not, its
 *   flow's reassembly buffers out-of-order bytes by range only, which
 *   changes how soon the buffer bound gives up a hole. The worker publishes
 *   it (a hint: once true, true in -j 1 by then too); before a segment that
 *   could be buffered while the hint is still false, the dispatcher waits
 *   for the worker to catch up and reads the exact answer;
 * - the session's phase, for a one-direction capture's ACK of a FIN's or an
 *   alert's size: the dispatcher waits for the worker, then reads it.
 * Both waits are rare (a flow's out-of-order segments while it inspects;
 * one-direction captures). The worker also allocates the session (the
 * capture thread would otherwise spend a third of its time there); the sink
 * frees it. Only without memory does -j N differ: -j 1 finds it before the
 * flow gets an id and ignores the flow; -j N leaves its record out. */

#define SHARD_BATCH   (512 * 1024)
#define SHARD_BATCHES 4 /* per worker */

enum shard_op {
	OP_NEW,
	OP_AT,
	OP_OPEN,
	OP_SYN,
	OP_TTL,
	OP_SYN_TTL,
	OP_DATA_TTL,
	OP_DATA,
	OP_COUNT,
	OP_INFERRED,
	OP_INFERRED_RESET,
	OP_GAP,
	OP_FIN,
	OP_RST,
	OP_CONNECT_FAILED,
	OP_DIRECTIONS,
	OP_TCP_STATS,
	OP_END,
};

struct shard_worker;

struct shard_sess {
	struct rw_session *s;
	struct shard_worker *w;
	bool counting;             /* the worker's: the session stopped inspecting */
	atomic_bool counting_seen; /* published: a hint for the dispatcher */
};

/* In a batch, followed by n bytes padded to 8. */
struct cmd {
	struct shard_sess *h;
	const void *ptr;
	uint64_t ts, a;
	uint32_t n;
	uint8_t op, dir, kind, pad;
};

struct cmd_end {
	uint64_t seq, id, frame_first, frame_last;
	const char *file_first, *file_last;
	int reason;
};

struct shard_batch {
	size_t used;
	struct shard_batch *next;
	uint8_t data[SHARD_BATCH];
};

struct shard_worker {
	struct rw_shard *sh;
	pthread_t th;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct shard_batch *qhead, *qtail; /* to run, oldest first */
	struct shard_batch *free;
	uint64_t pushed, done;
	bool stop;
	struct shard_batch *cur; /* the dispatcher's, being filled */
};

struct rw_shard {
	int n;
	struct shard_worker *w;
	struct shard_batch *mem;
	rw_record_seq_cb out;
	rw_seq_room_cb room;
	void *arg;
	/* RDPWHY_SHARD_NO_HINT (tests): the dispatcher ignores the workers'
	 * counting hints, so that every buffered segment settles the exact
	 * answer by waiting. Slower, same output. */
	bool no_hint;
};

static void apply(struct rw_shard *sh, const struct cmd *cm, const uint8_t *x)
{
	struct shard_sess *h = cm->h;
	enum rw_dir d = (enum rw_dir)cm->dir;
	if (cm->op == OP_NEW) {
		/* Allocated here, not by the capture thread, which it would slow. */
		h->s = rw_session_new(cm->ptr);
		return;
	}
	struct rw_session *s = h->s;
	if (!s) {
		/* No memory for the session (which -j 1 would have found before
		 * giving the flow an id): its record is left out. */
		if (cm->op == OP_END) {
			struct cmd_end e;
			memcpy(&e, x, sizeof(e));
			free(h);
			sh->out(e.seq, NULL, NULL, sh->arg);
		}
		return;
	}
	switch ((enum shard_op)cm->op) {
	case OP_NEW:
		break;
	case OP_AT:
		rw_session_at(s, cm->ptr, cm->a);
		break;
	case OP_OPEN: {
		struct rw_endpoint ep[2];
		memcpy(ep, x, sizeof(ep));
		rw_session_open(s, cm->ts, &ep[0], &ep[1]);
		break;
	}
	case OP_SYN:
		rw_session_syn(s, d, cm->ts);
		break;
	case OP_TTL:
		rw_session_ttl(s, d, (int)cm->a);
		break;
	case OP_SYN_TTL:
		rw_session_syn_ttl(s, d, (int)cm->a);
		break;
	case OP_DATA_TTL:
		rw_session_data_ttl(s, d, (int)cm->a);
		break;
	case OP_DATA:
		/* As deliver does in -j 1. */
		if (h->counting) {
			rw_session_count(s, d, cm->ts, cm->n);
			break;
		}
		rw_session_data(s, d, cm->ts, x, cm->n);
		if (!rw_session_inspecting(s)) {
			h->counting = true;
			atomic_store_explicit(&h->counting_seen, true, memory_order_release);
		}
		break;
	case OP_COUNT:
		rw_session_count(s, d, cm->ts, (size_t)cm->a);
		break;
	case OP_INFERRED:
		rw_session_inferred(s, d, cm->ts, (enum rw_infer)cm->kind, cm->a);
		break;
	case OP_INFERRED_RESET:
		rw_session_inferred_reset(s, d, cm->ts, cm->a);
		break;
	case OP_GAP:
		rw_session_gap(s, d, cm->ts, cm->a);
		break;
	case OP_FIN:
		rw_session_fin(s, d, cm->ts);
		break;
	case OP_RST:
		rw_session_rst(s, d, cm->ts, (int)cm->a);
		break;
	case OP_CONNECT_FAILED:
		rw_session_connect_failed(s, cm->ts, (enum rw_close_kind)cm->kind);
		break;
	case OP_DIRECTIONS:
		rw_session_set_directions(s, (enum rw_directions)cm->kind);
		break;
	case OP_TCP_STATS: {
		struct rw_tcp_stats st;
		memcpy(&st, x, sizeof(st));
		rw_session_tcp_stats(s, d, &st);
		break;
	}
	case OP_END: {
		/* As flow_end does in -j 1. */
		struct cmd_end e;
		memcpy(&e, x, sizeof(e));
		struct rw_record *rec = rw_session_record(s);
		rec->end_reason = (enum rw_end_reason)e.reason;
		rw_session_close(s, cm->ts);
		rec->id = e.id;
		rec->file_first = e.file_first;
		rec->file_last = e.file_last;
		rec->frame_first = e.frame_first;
		rec->frame_last = e.frame_last;
		free(h);
		sh->out(e.seq, rec, s, sh->arg);
		break;
	}
	}
}

static void *worker_main(void *arg)
{
	struct shard_worker *w = arg;
	for (;;) {
		pthread_mutex_lock(&w->mu);
		while (!w->qhead && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		struct shard_batch *b = w->qhead;
		if (!b) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		w->qhead = b->next;
		if (!w->qhead)
			w->qtail = NULL;
		pthread_mutex_unlock(&w->mu);
		for (size_t off = 0; off < b->used;) {
			struct cmd cm;
			memcpy(&cm, b->data + off, sizeof(cm));
			apply(w->sh, &cm, b->data + off + sizeof(cm));
			off += sizeof(cm) + (((size_t)cm.n + 7) & ~(size_t)7);
		}
		pthread_mutex_lock(&w->mu);
		b->next = w->free;
		w->free = b;
		w->done++;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
	}
	return NULL;
}

/* Sends the batch being filled. */
static void shard_push(struct shard_worker *w)
{
	struct shard_batch *b = w->cur;
	if (!b || !b->used)
		return;
	w->cur = NULL;
	b->next = NULL;
	pthread_mutex_lock(&w->mu);
	if (w->qtail)
		w->qtail->next = b;
	else
		w->qhead = b;
	w->qtail = b;
	w->pushed++;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Until the worker ran everything sent to it. */
static void shard_sync(struct shard_worker *w)
{
	shard_push(w);
	pthread_mutex_lock(&w->mu);
	while (w->done != w->pushed)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

static void shard_flush_all(struct rw_shard *sh)
{
	for (int i = 0; i < sh->n; i++)
		shard_push(&sh->w[i]);
}

/* Room for need bytes in the worker's batch, NULL when no batch holds it. */
static uint8_t *cmd_space(struct shard_worker *w, size_t need)
{
	if (need > SHARD_BATCH)
		return NULL;
	if (w->cur && w->cur->used + need > SHARD_BATCH)
		shard_push(w);
	if (!w->cur) {
		pthread_mutex_lock(&w->mu);
		while (!w->free)
			pthread_cond_wait(&w->cv, &w->mu);
		w->cur = w->free;
		w->free = w->cur->next;
		pthread_mutex_unlock(&w->mu);
		w->cur->used = 0;
	}
	return w->cur->data + w->cur->used;
}

static void fs_cmd(struct flow *f, enum shard_op op, int dir, uint64_t ts, uint64_t a, int kind,
                   const void *ptr, const void *x, size_t n)
{
	struct shard_worker *w = f->sh->w;
	struct cmd cm = {f->sh,        ptr,           ts, a, (uint32_t)n, (uint8_t)op,
	                 (uint8_t)dir, (uint8_t)kind, 0};
	size_t need = sizeof(cm) + ((n + 7) & ~(size_t)7);
	uint8_t *p = cmd_space(w, need);
	if (!p) {
		/* Larger than a batch: run here, once the worker is idle. */
		shard_sync(w);
		apply(w->sh, &cm, x);
		return;
	}
	memcpy(p, &cm, sizeof(cm));
	if (n)
		memcpy(p + sizeof(cm), x, n);
	w->cur->used += need;
}

/* The next record's (or the caller's item's) place in the output. */
static uint64_t seq_next(struct rw_capture *c)
{
	uint64_t seq = c->out_seq++;
	struct rw_shard *sh = c->shard;
	if (sh && !sh->room(seq, false, sh->arg)) {
		/* The consumer waits for records still in the batches. */
		shard_flush_all(sh);
		sh->room(seq, true, sh->arg);
	}
	return seq;
}

uint64_t rw_capture_seq(struct rw_capture *c)
{
	return seq_next(c);
}

static void learn_counting(struct flow *f)
{
	f->counting = true;
	rw_reasm_keep_payload(&f->rs[0], false);
	rw_reasm_keep_payload(&f->rs[1], false);
}

/* Before a segment that could be buffered: whether the session still
 * inspects, exactly. */
static void settle_counting(struct flow *f)
{
	shard_sync(f->sh->w);
	if (f->sh->counting)
		learn_counting(f);
}

enum rw_phase rw_fs_phase(struct flow *f)
{
	if (!f->sh)
		return rw_session_phase(f->s);
	shard_sync(f->sh->w);
	return f->sh->s ? rw_session_phase(f->sh->s) : RW_PHASE_ESTABLISHED;
}

static void fs_at(struct flow *f, const char *file, uint64_t frame)
{
	if (f->sh)
		fs_cmd(f, OP_AT, 0, 0, frame, 0, file, NULL, 0);
	else
		rw_session_at(f->s, file, frame);
}

static void fs_open(struct flow *f, uint64_t ts, const struct rw_endpoint *client,
                    const struct rw_endpoint *server)
{
	if (f->sh) {
		struct rw_endpoint ep[2] = {*client, *server};
		fs_cmd(f, OP_OPEN, 0, ts, 0, 0, NULL, ep, sizeof(ep));
	} else {
		rw_session_open(f->s, ts, client, server);
	}
}

static void fs_syn(struct flow *f, enum rw_dir d, uint64_t ts)
{
	if (f->sh)
		fs_cmd(f, OP_SYN, d, ts, 0, 0, NULL, NULL, 0);
	else
		rw_session_syn(f->s, d, ts);
}

static void fs_ttl(struct flow *f, enum rw_dir d, int ttl)
{
	if (f->sh)
		fs_cmd(f, OP_TTL, d, 0, (uint64_t)ttl, 0, NULL, NULL, 0);
	else
		rw_session_ttl(f->s, d, ttl);
}

static void fs_syn_ttl(struct flow *f, enum rw_dir d, int ttl)
{
	if (f->sh)
		fs_cmd(f, OP_SYN_TTL, d, 0, (uint64_t)ttl, 0, NULL, NULL, 0);
	else
		rw_session_syn_ttl(f->s, d, ttl);
}

static void fs_data_ttl(struct flow *f, enum rw_dir d, int ttl)
{
	if (f->sh)
		fs_cmd(f, OP_DATA_TTL, d, 0, (uint64_t)ttl, 0, NULL, NULL, 0);
	else
		rw_session_data_ttl(f->s, d, ttl);
}

void rw_fs_inferred(struct flow *f, enum rw_dir d, uint64_t ts, enum rw_infer what, uint64_t n)
{
	if (f->sh)
		fs_cmd(f, OP_INFERRED, d, ts, n, what, NULL, NULL, 0);
	else
		rw_session_inferred(f->s, d, ts, what, n);
}

void rw_fs_inferred_reset(struct flow *f, enum rw_dir d, uint64_t ts, uint64_t dur)
{
	if (f->sh)
		fs_cmd(f, OP_INFERRED_RESET, d, ts, dur, 0, NULL, NULL, 0);
	else
		rw_session_inferred_reset(f->s, d, ts, dur);
}

static void fs_gap(struct flow *f, enum rw_dir d, uint64_t ts, uint64_t missing)
{
	if (f->sh)
		fs_cmd(f, OP_GAP, d, ts, missing, 0, NULL, NULL, 0);
	else
		rw_session_gap(f->s, d, ts, missing);
}

static void fs_fin(struct flow *f, enum rw_dir d, uint64_t ts)
{
	if (f->sh)
		fs_cmd(f, OP_FIN, d, ts, 0, 0, NULL, NULL, 0);
	else
		rw_session_fin(f->s, d, ts);
}

static void fs_rst(struct flow *f, enum rw_dir d, uint64_t ts, int ttl)
{
	if (f->sh)
		fs_cmd(f, OP_RST, d, ts, (uint64_t)ttl, 0, NULL, NULL, 0);
	else
		rw_session_rst(f->s, d, ts, ttl);
}

static void fs_connect_failed(struct flow *f, uint64_t ts, enum rw_close_kind kind)
{
	if (f->sh)
		fs_cmd(f, OP_CONNECT_FAILED, 0, ts, 0, kind, NULL, NULL, 0);
	else
		rw_session_connect_failed(f->s, ts, kind);
}

static void fs_set_directions(struct flow *f, enum rw_directions dirs)
{
	if (f->sh)
		fs_cmd(f, OP_DIRECTIONS, 0, 0, 0, dirs, NULL, NULL, 0);
	else
		rw_session_set_directions(f->s, dirs);
}

static void fs_tcp_stats(struct flow *f, enum rw_dir d, const struct rw_tcp_stats *st)
{
	if (f->sh)
		fs_cmd(f, OP_TCP_STATS, d, 0, 0, 0, NULL, st, sizeof(*st));
	else
		rw_session_tcp_stats(f->s, d, st);
}

/* The flow's session goes to its worker from now on. */
static struct shard_sess *shard_sess_new(struct rw_shard *sh, struct flow *f)
{
	struct shard_sess *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->w = &sh->w[f->hash % (uint32_t)sh->n];
	atomic_init(&h->counting_seen, false);
	return h;
}

static void shard_free(struct rw_shard *sh)
{
	for (int i = 0; i < sh->n; i++) {
		pthread_mutex_destroy(&sh->w[i].mu);
		pthread_cond_destroy(&sh->w[i].cv);
	}
	free(sh->w);
	free(sh->mem);
	free(sh);
}

void rw_capture_shard_stop(struct rw_capture *c)
{
	struct rw_shard *sh = c->shard;
	if (!sh)
		return;
	for (int i = 0; i < sh->n; i++) {
		struct shard_worker *w = &sh->w[i];
		if (!w->started)
			continue;
		shard_push(w);
		pthread_mutex_lock(&w->mu);
		w->stop = true;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->th, NULL);
	}
	c->shard = NULL;
	shard_free(sh);
}

int rw_capture_shard(struct rw_capture *c, int n, rw_record_seq_cb out, rw_seq_room_cb room,
                     void *arg)
{
	if (c->shard || n < 1)
		return -1;
	struct rw_shard *sh = calloc(1, sizeof(*sh));
	if (!sh)
		return -1;
	sh->n = n;
	sh->out = out;
	sh->room = room;
	sh->arg = arg;
	const char *nh = getenv("RDPWHY_SHARD_NO_HINT");
	sh->no_hint = nh && *nh && strcmp(nh, "0") != 0;
	sh->w = calloc((size_t)n, sizeof(*sh->w));
	sh->mem = malloc((size_t)n * SHARD_BATCHES * sizeof(*sh->mem));
	if (!sh->w || !sh->mem) {
		free(sh->w);
		free(sh->mem);
		free(sh);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		struct shard_worker *w = &sh->w[i];
		w->sh = sh;
		pthread_mutex_init(&w->mu, NULL);
		pthread_cond_init(&w->cv, NULL);
		for (int j = 0; j < SHARD_BATCHES; j++) {
			struct shard_batch *b = &sh->mem[i * SHARD_BATCHES + j];
			b->next = w->free;
			w->free = b;
		}
	}
	c->shard = sh;
	for (int i = 0; i < n; i++) {
		if (pthread_create(&sh->w[i].th, NULL, worker_main, &sh->w[i]) != 0) {
			rw_capture_shard_stop(c);
			return -1;
		}
		sh->w[i].started = true;
	}
	return 0;
}

/* ---- session plumbing -------------------------------------------------- */

static bool start_session(struct rw_capture *c, struct flow *f)
{
	if (c->shard) {
		/* The worker allocates the session (OP_NEW). */
		if (!(f->sh = shard_sess_new(c->shard, f))) {
			c->st.nomem++;
			set_state(f, FLOW_IGNORED);
			return false;
		}
		fs_cmd(f, OP_NEW, 0, 0, 0, 0, &c->cfg.session, NULL, 0);
	} else if (!(f->s = rw_session_new(&c->cfg.session))) {
		c->st.nomem++;
		set_state(f, FLOW_IGNORED);
		return false;
	}
	f->id = ++c->next_id;
	c->st.flows++;
	set_state(f, FLOW_ACTIVE);
	/* Started by the frame being handled: what it makes the session note
	 * points at it (rw_flow_packet tells the session each later frame). */
	fs_at(f, c->cur_file, c->cur_frame);
	/* A candidate's handshake happened before the session existed. */
	fs_open(f, f->first_ts, &f->ep[f->client], &f->ep[1 - f->client]);
	if (f->syn_seen)
		fs_syn(f, RW_C2S, f->syn_ts);
	if (f->synack_seen)
		fs_syn(f, RW_S2C, f->synack_ts);
	for (int side = 0; side < 2; side++) {
		if (f->first_ttl[side] >= 0)
			fs_ttl(f, dir_of(f, side), f->first_ttl[side]);
		if (f->syn_ttl[side] >= 0)
			fs_syn_ttl(f, dir_of(f, side), f->syn_ttl[side]);
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
		c->shard->out(seq_next(c), rec, NULL, c->shard->arg);
	else if (c->take)
		c->take(rec, NULL, c->take_arg);
	else
		c->cb(rec, c->arg);
}

static void deliver(struct flow *f, enum rw_dir d, uint64_t ts, const uint8_t *p, size_t n)
{
	if (f->sh) {
		/* The worker decides between data and count, as below. */
		if (!f->counting && !f->cap->shard->no_hint &&
		    atomic_load_explicit(&f->sh->counting_seen, memory_order_acquire))
			learn_counting(f);
		if (!p || f->counting)
			fs_cmd(f, OP_COUNT, d, ts, n, 0, NULL, NULL, 0);
		else
			fs_cmd(f, OP_DATA, d, ts, 0, 0, NULL, p, n);
		return;
	}
	if (!p || f->counting) {
		rw_session_count(f->s, d, ts, n);
		return;
	}
	rw_session_data(f->s, d, ts, p, n);
	if (!f->counting && !rw_session_inspecting(f->s)) {
		/* From here on only byte counts matter: stop copying payload. */
		f->counting = true;
		rw_reasm_keep_payload(&f->rs[0], false);
		rw_reasm_keep_payload(&f->rs[1], false);
	}
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
	deliver(f, RW_C2S, ts, f->probe, f->probe_len);
	if (n > take)
		deliver(f, RW_C2S, ts, p + take, n - take);
}

static void on_data(void *arg, int side, uint64_t ts, const uint8_t *p, size_t n)
{
	struct flow *f = arg;
	f->payload_seen = true;
	if (f->state == FLOW_ACTIVE)
		deliver(f, dir_of(f, side), ts, p, n);
	else if (f->state == FLOW_CANDIDATE)
		probe(f->cap, f, side, ts, p, n);
}

static void on_gap(void *arg, int side, uint64_t ts, uint64_t missing)
{
	struct flow *f = arg;
	f->payload_seen = true;
	if (f->state == FLOW_ACTIVE && f->packets[side] == 0)
		/* Never captured, only acknowledged: inferred, not a capture gap. */
		rw_fs_inferred(f, dir_of(f, side), ts,
		               f->infer_alert ? RW_INFER_ALERT : RW_INFER_DATA, missing);
	else if (f->state == FLOW_ACTIVE)
		fs_gap(f, dir_of(f, side), ts, missing);
	else if (f->state == FLOW_CANDIDATE)
		ignore_flow(f->cap, f); /* the first bytes are lost: cannot tell */
}

static void on_fin(void *arg, int side, uint64_t ts)
{
	struct flow *f = arg;
	if (f->state == FLOW_ACTIVE && f->packets[side] == 0)
		rw_fs_inferred(f, dir_of(f, side), ts, RW_INFER_FIN, 0);
	else if (f->state == FLOW_ACTIVE)
		fs_fin(f, dir_of(f, side), ts);
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
				rw_fs_inferred(f, dir_of(f, u), f->last_adv_ts[u], RW_INFER_FIN, 0);
		}
		if (f->packets[f->client] == 0 && f->synack_seen)
			rw_fs_inferred(f, RW_C2S, f->synack_ts, RW_INFER_SYN, 0);
		if (why != END_CLOSE)
			rw_flow_unseen_reset(c, f);
		/* One direction only: a side never captured that its peer
		 * acknowledged (a SYN never answered is not one). */
		bool seen_c = f->packets[f->client] > 0 || !f->acked_unseen[f->client];
		bool seen_s = f->packets[server] > 0 || !f->acked_unseen[server];
		fs_set_directions(f, !seen_s   ? RW_DIRS_CLIENT_ONLY
		                     : !seen_c ? RW_DIRS_SERVER_ONLY
		                               : RW_DIRS_BOTH);
		if (why != END_CLOSE && f->syn_seen && !f->synack_seen && f->packets[server] == 0 &&
		    f->syns > 1)
			/* The client retransmitted its SYN and nothing ever came back:
			 * it gave up waiting. One unanswered SYN proves nothing. */
			fs_connect_failed(f, f->last_ts, RW_CLOSE_UNREACHABLE);
		for (int side = 0; side < 2; side++) {
			struct rw_tcp_stats st = {0};
			rw_reasm_tcp_stats(&f->rs[side], &st);
			st.packets = f->packets[side];
			if (f->packets[side] == 0) {
				/* Never captured: its bytes were inferred, not lost. */
				st.gaps = st.capture_gaps = 0;
				st.gap_bytes = st.capture_gap_bytes = 0;
			}
			fs_tcp_stats(f, dir_of(f, side), &st);
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
		if (f->sh) {
			struct cmd_end e = {seq_next(c),
			                    f->id,
			                    f->file_first ? f->frame_first : 0,
			                    f->file_last ? f->frame_last : 0,
			                    f->file_first,
			                    f->file_last,
			                    (int)reason};
			fs_cmd(f, OP_END, 0, ts, 0, 0, NULL, &e, sizeof(e));
			f->sh = NULL; /* freed by the worker */
			f->s = NULL;
			goto ended;
		}
		struct rw_record *rec = rw_session_record(f->s);
		rec->end_reason = reason;
		rw_session_close(f->s, ts);
		rec->id = f->id;
		rec->file_first = f->file_first;
		rec->file_last = f->file_last;
		rec->frame_first = f->file_first ? f->frame_first : 0;
		rec->frame_last = f->file_last ? f->frame_last : 0;
		if (c->take) {
			c->take(rec, f->s, c->take_arg);
			f->s = NULL;
		} else {
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
	unhash(c, f);
	lru_unlink(f);
	c->n_flows--;
	free(f);
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
	struct flow *f = calloc(1, sizeof(*f));
	if (!f) {
		c->st.nomem++;
		return NULL;
	}
	f->key = *k;
	f->hash = h;
	f->hnext = c->buckets[h & c->mask];
	c->buckets[h & c->mask] = f;
	c->n_flows++;
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
	lru_unlink(f);
	memset(f, 0, sizeof(*f));
	f->key = k;
	f->hash = h;
	f->hnext = hnext;
	flow_setup(c, f, p);
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
		fs_rst(f, d, p->ts_us, p->ttl);
		fs_connect_failed(f, p->ts_us, RW_CLOSE_REFUSED);
	} else {
		/* What was sent before the RST is delivered before it. */
		for (int s = 0; s < 2; s++)
			rw_reasm_flush(&f->rs[s], p->ts_us);
		fs_rst(f, d, p->ts_us, p->ttl);
	}
	flow_end(c, f, p->ts_us, END_CLOSE);
}

void rw_flow_packet(struct rw_capture *c, struct flow *f, const struct rw_packet *p)
{
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
		fs_at(f, c->cur_file, c->cur_frame);
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
				fs_syn(f, RW_C2S, p->ts_us);
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
			fs_syn(f, RW_S2C, p->ts_us);
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
			fs_syn_ttl(f, dir_of(f, side), p->ttl);
		else if (f->syn_ttl[side] < 0)
			f->syn_ttl[side] = p->ttl;
	} else if (f->state == FLOW_ACTIVE) {
		fs_ttl(f, dir_of(f, side), p->ttl);
		if (p->seg_len) /* the baseline from data-bearing packets */
			fs_data_ttl(f, dir_of(f, side), p->ttl);
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
			settle_counting(f);
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
	/* One bucket per flow at most; beyond 2^22 chains just get longer. */
	size_t n = 64;
	while (n < c->cfg.max_flows && n < (1u << 22))
		n <<= 1;
	c->buckets = calloc(n, sizeof(*c->buckets));
	if (!c->buckets) {
		free(c);
		return NULL;
	}
	c->mask = n - 1;
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
			if (f->sh) { /* the workers stopped */
				rw_session_free(f->sh->s);
				free(f->sh);
			}
			rw_session_free(f->s);
			for (int side = 0; side < 2; side++)
				rw_reasm_free(&f->rs[side]);
			flow_remove(c, f);
		}
	}
	rw_scan_tally_free(c->scan);
	free(c->buckets);
	free(c);
}
