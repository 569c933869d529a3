/* A flow's calls on its session, private to capture/ (flow_shard.c): made at
 * once, or, with replay -j N, sent to the worker thread that owns the
 * session and made there in the same order. */
#ifndef RW_FLOW_SHARD_H
#define RW_FLOW_SHARD_H

#include "flow.h"

/* The session calls a flow makes through rw_fs (the worker's own ones,
 * creating, feeding and ending a session, have functions of their own). */
enum rw_fs_op {
	RW_FS_AT,             /* rw_session_at(s, ptr, a) */
	RW_FS_OPEN,           /* rw_session_open(s, ts, x[0], x[1]): two rw_endpoint */
	RW_FS_SYN,            /* rw_session_syn(s, dir, ts) */
	RW_FS_TTL,            /* rw_session_ttl(s, dir, a) */
	RW_FS_SYN_TTL,        /* rw_session_syn_ttl(s, dir, a) */
	RW_FS_DATA_TTL,       /* rw_session_data_ttl(s, dir, a) */
	RW_FS_INFERRED,       /* rw_session_inferred(s, dir, ts, kind, a) */
	RW_FS_INFERRED_RESET, /* rw_session_inferred_reset(s, dir, ts, a) */
	RW_FS_GAP,            /* rw_session_gap(s, dir, ts, a) */
	RW_FS_FIN,            /* rw_session_fin(s, dir, ts) */
	RW_FS_RST,            /* rw_session_rst(s, dir, ts, a) */
	RW_FS_CONNECT_FAILED, /* rw_session_connect_failed(s, ts, kind) */
	RW_FS_DIRECTIONS,     /* rw_session_set_directions(s, kind) */
	RW_FS_TCP_STATS,      /* rw_session_tcp_stats(s, dir, x): one rw_tcp_stats */
};

/* One call: the arguments its operation uses (see above), the rest 0. */
struct rw_fs_call {
	enum rw_fs_op op;
	enum rw_dir dir;
	int kind;
	uint64_t ts, a;
	const void *ptr; /* kept by the session as it is */
	const void *x;   /* n bytes, copied when the call is sent */
	size_t n;
};

void rw_fs(struct flow *f, const struct rw_fs_call *call);
#define RW_FS(f, ...) rw_fs((f), &(const struct rw_fs_call){__VA_ARGS__})

/* The flow's session: created (false: no memory), fed (p NULL: bytes
 * counted, not seen) and ended with its record (false: the session is not a
 * worker's, the caller reports it). */
bool rw_fs_new(struct rw_capture *c, struct flow *f);
void rw_fs_deliver(struct flow *f, enum rw_dir d, uint64_t ts, const uint8_t *p, size_t n);
bool rw_fs_end(struct rw_capture *c, struct flow *f, uint64_t ts, enum rw_end_reason reason);
/* A scan summary's record, in its place among the others. */
void rw_fs_summary(struct rw_capture *c, struct rw_record *rec);
/* Before a segment that could be buffered: whether the worker's session
 * still inspects, exactly (f->sh set). */
void rw_fs_settle(struct flow *f);
/* The session's phase now (replay -j: once its worker caught up). */
enum rw_phase rw_fs_phase(struct flow *f);
/* A quiet flow's session packed into a small image, its slot freed for
 * the next session (true: packed; not a flow without a session, nor replay
 * -j's, f->sh); unpacked (false: no memory, the image kept) before the
 * flow's next packet or its end. */
bool rw_fs_pack(struct flow *f);
bool rw_fs_unpack(struct flow *f);
/* Frees the flow's session (the workers stopped). */
void rw_fs_free(struct flow *f);

#endif
