/* One proxied connection, shared by relay.c (set-up, timers, the
 * bufferevent relay, teardown) and relay_fast.c (the fast relay). Private
 * to those two files. */
#ifndef RDPWHY_RELAY_CONN_H
#define RDPWHY_RELAY_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "conn_timer.h"
#include "proxy.h"

struct rw_leg {
	struct rw_conn *conn;
	struct bufferevent *bev;
	int fd;
	enum rw_dir rx;   /* direction of the bytes read from this leg */
	bool eof;         /* its peer sent FIN */
	bool shut;        /* we sent FIN towards it (shutdown SHUT_WR) */
	bool read_paused; /* back-pressure: the other leg's output is full */
};

enum conn_state { CONNECTING, RELAYING };

/* A connection moves to the fast relay only once it carried this much: a
 * short one (X.224 and a close, a TLS refusal) would pay more for the move
 * than it saves. */
#define FAST_AFTER (32 * 1024)

/* The fast relay (see "fast relay" below): one direction's bytes in flight,
 * in a pipe (splice, zero-copy) or in a buffer of ours (large reads). */
struct rw_pump {
	int pipe[2]; /* -1 -1: none */
	size_t in_pipe;
	uint8_t *buf;
	size_t buf_cap; /* what buf holds: max_buffer when it was allocated */
	size_t off, len;
};

struct rw_fast {
	struct rw_conn *conn;
	struct rw_pump pump[2]; /* by rw_dir of the bytes */
	/* By the leg's rx (the direction of the bytes read from it): */
	bool rd_on[2], wr_on[2]; /* wanted: read it, write to it */
	/* Ready as far as we know: set by its events, cleared by a call that
	 * would block (the events are edge-triggered). */
	bool rd_ok[2], wr_ok[2];
	bool hup[2]; /* its events said FIN, RST or error: read until recv(2) says */
	bool polled[2], out_polled[2]; /* in the worker's set; for EPOLLOUT too */
	bool connecting;               /* the server leg's first event is for on_connect */
	event_callback_fn on_connect;
	unsigned char queued; /* 0, or in fast_run (1) or fast_later (2) */
	unsigned ran;         /* the round it last ran in */
	TAILQ_ENTRY(rw_fast) run;
};

struct rw_conn {
	struct rw_proxy *px;
	uint64_t id;
	enum conn_state state;
	struct rw_leg client, server;
	/* NULL while the connection sleeps: its session packed (see "idle
	 * connections"); every event handler wakes it first. */
	struct rw_session *session;
	void *packed;
	size_t packed_len;
	uint64_t t_event_us; /* last event handled, for the sweep */
	struct rw_pcapw *pcap;
	/* Past the X.224 exchange the legs leave their bufferevents for the fast
	 * relay (NULL until then). */
	struct rw_fast *fast;
	struct rw_conn_timer timer;
	uint64_t t_accept_us;
	uint64_t t_data_us[2]; /* last bytes read from each side (rw_dir), 0 none yet */
	bool any_data;
	enum rw_dir last_rx;  /* the side that spoke last */
	uint64_t t_prompt_us; /* when a silent client's wait was extended, 0 = not */
	bool request_armed;   /* timer armed at the first byte of an unfinished request */
	uint32_t bev_bytes;   /* relayed by the bufferevents (capped), for fast_try */
	bool server_tuned;    /* keepalive and TCP_USER_TIMEOUT set on the server leg */
	char peer_text[80], dst_text[80];
	LIST_ENTRY(rw_conn) link;
};

static inline uint64_t now_us(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

static inline struct rw_leg *other(struct rw_leg *l)
{
	return l == &l->conn->client ? &l->conn->server : &l->conn->client;
}

static inline const char *leg_name(const struct rw_leg *l)
{
	return l->rx == RW_C2S ? "client" : "server";
}

/* relay.c */
/* Every event handler's first call: unpacks a sleeping connection. */
void rw_conn_wake(struct rw_conn *c);
/* The single exit: closes the verdict, writes the record, frees c. */
void rw_conn_end(struct rw_conn *c, bool reset_client, bool reset_server, const char *why);
/* Bytes from direction `from` were relayed at t: the idle timer and who
 * spoke last. */
void rw_conn_took(struct rw_conn *c, enum rw_dir from, uint64_t t);
/* The socket of `l` failed with err (read or write, 0 = unknown): the side
 * vanished (ETIMEDOUT) or reset. Ends the connection. */
void rw_leg_failed(struct rw_leg *l, int err);

/* relay_fast.c */
/* The fast relay's state for c, its client leg watched (not read until
 * rw_fast_start). false: out of memory or descriptors, logged. */
bool rw_fast_new(struct rw_conn *c);
/* The upstream's connect(2) is watched by the server leg's first event,
 * which calls cb(fd, what, c) once (what: EV_READ and/or EV_WRITE).
 * false: it cannot be watched, logged. */
bool rw_fast_connecting(struct rw_conn *c, event_callback_fn cb);
/* Both legs connected: read them. */
void rw_fast_start(struct rw_conn *c);
void rw_fast_free(struct rw_conn *c);
void rw_fast_event(struct rw_conn *c, bool write, enum rw_dir d, bool on);
/* One read from `from`, then the write. false: the connection ended. */
bool rw_fast_read(struct rw_conn *c, struct rw_leg *from);
/* Moves c from its bufferevents to the fast relay when it can (idle: the
 * sweep asks, whatever it carried). */
void rw_fast_try(struct rw_conn *c, bool idle);
/* Frees the drained per-connection buffers (the sweep): bytes released. */
size_t rw_fast_release(struct rw_conn *c);

#endif
