/* Sharded analysis (replay -j N), and every call a flow makes on its
 * session: made at once, or sent to the worker that owns the session.
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

#include "flow_shard.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define SHARD_BATCH   (512 * 1024)
#define SHARD_BATCHES 4 /* per worker */

/* A worker's commands: rw_fs's calls (enum rw_fs_op), then these. */
enum shard_op {
	OP_NEW = RW_FS_TCP_STATS + 1,
	OP_DATA,
	OP_COUNT,
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

/* The rw_fs calls, made on a session. */
static void call_session(struct rw_session *s, const struct rw_fs_call *c)
{
	switch (c->op) {
	case RW_FS_AT:
		rw_session_at(s, c->ptr, c->a);
		break;
	case RW_FS_OPEN: {
		struct rw_endpoint ep[2];
		memcpy(ep, c->x, sizeof(ep));
		rw_session_open(s, c->ts, &ep[0], &ep[1]);
		break;
	}
	case RW_FS_SYN:
		rw_session_syn(s, c->dir, c->ts);
		break;
	case RW_FS_TTL:
		rw_session_ttl(s, c->dir, (int)c->a);
		break;
	case RW_FS_SYN_TTL:
		rw_session_syn_ttl(s, c->dir, (int)c->a);
		break;
	case RW_FS_DATA_TTL:
		rw_session_data_ttl(s, c->dir, (int)c->a);
		break;
	case RW_FS_INFERRED:
		rw_session_inferred(s, c->dir, c->ts, (enum rw_infer)c->kind, c->a);
		break;
	case RW_FS_INFERRED_RESET:
		rw_session_inferred_reset(s, c->dir, c->ts, c->a);
		break;
	case RW_FS_GAP:
		rw_session_gap(s, c->dir, c->ts, c->a);
		break;
	case RW_FS_FIN:
		rw_session_fin(s, c->dir, c->ts);
		break;
	case RW_FS_RST:
		rw_session_rst(s, c->dir, c->ts, (int)c->a);
		break;
	case RW_FS_CONNECT_FAILED:
		rw_session_connect_failed(s, c->ts, (enum rw_close_kind)c->kind);
		break;
	case RW_FS_DIRECTIONS:
		rw_session_set_directions(s, (enum rw_directions)c->kind);
		break;
	case RW_FS_TCP_STATS: {
		struct rw_tcp_stats st;
		memcpy(&st, c->x, sizeof(st));
		rw_session_tcp_stats(s, c->dir, &st);
		break;
	}
	}
}

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
	switch (cm->op) {
	case OP_DATA:
		/* As rw_fs_deliver does in -j 1. */
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
	default: {
		struct rw_fs_call c = {
		        (enum rw_fs_op)cm->op, d, cm->kind, cm->ts, cm->a, cm->ptr, x, cm->n};
		call_session(s, &c);
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

static void fs_cmd(struct flow *f, int op, int dir, uint64_t ts, uint64_t a, int kind,
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

void rw_fs_settle(struct flow *f)
{
	shard_sync(f->sh->w);
	if (f->sh->counting)
		learn_counting(f);
}

void rw_fs(struct flow *f, const struct rw_fs_call *call)
{
	if (f->sh)
		fs_cmd(f, call->op, call->dir, call->ts, call->a, call->kind, call->ptr, call->x,
		       call->n);
	else
		call_session(f->s, call);
}

enum rw_phase rw_fs_phase(struct flow *f)
{
	if (!f->sh)
		return rw_session_phase(f->s);
	shard_sync(f->sh->w);
	return f->sh->s ? rw_session_phase(f->sh->s) : RW_PHASE_ESTABLISHED;
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
		char name[32]; /* a thread's name: 15 bytes at most */
		snprintf(name, sizeof(name), "rdpwhy-w%d", i);
		name[15] = '\0';
		pthread_setname_np(sh->w[i].th, name);
		sh->w[i].started = true;
	}
	return 0;
}

bool rw_fs_new(struct rw_capture *c, struct flow *f)
{
	if (c->shard) {
		/* The worker allocates the session (OP_NEW). */
		if (!(f->sh = shard_sess_new(c->shard, f)))
			return false;
		fs_cmd(f, OP_NEW, 0, 0, 0, 0, &c->cfg.session, NULL, 0);
		return true;
	}
	return (f->s = rw_session_new(&c->cfg.session)) != NULL;
}

void rw_fs_deliver(struct flow *f, enum rw_dir d, uint64_t ts, const uint8_t *p, size_t n)
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
	if (!f->counting && !rw_session_inspecting(f->s))
		/* From here on only byte counts matter: stop copying payload. */
		learn_counting(f);
}

bool rw_fs_end(struct rw_capture *c, struct flow *f, uint64_t ts, enum rw_end_reason reason)
{
	if (!f->sh)
		return false;
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
	return true;
}

void rw_fs_summary(struct rw_capture *c, struct rw_record *rec)
{
	c->shard->out(seq_next(c), rec, NULL, c->shard->arg);
}

bool rw_fs_pack(struct flow *f)
{
	if (!f->s || f->sh)
		return false;
	size_t len;
	void *img = rw_session_pack(f->s, &len);
	if (!img)
		return false; /* no memory: it stays unpacked */
	f->img = img;
	f->img_len = len;
	f->s = NULL;
	return true;
}

bool rw_fs_unpack(struct flow *f)
{
	if (!f->img)
		return true;
	if (!(f->s = rw_session_unpack(f->img, f->img_len)))
		return false;
	free(f->img);
	f->img = NULL;
	return true;
}

void rw_fs_free(struct flow *f)
{
	free(f->img);
	f->img = NULL;
	if (f->sh) { /* the workers stopped */
		rw_session_free(f->sh->s);
		free(f->sh);
		f->sh = NULL;
	}
	rw_session_free(f->s);
	f->s = NULL;
}
