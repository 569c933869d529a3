/* The inline proxy: listeners, connections (two legs each), upstream
 * selection, record outputs and daemon behaviour, on one libevent loop. */
#ifndef RW_PROXY_H
#define RW_PROXY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "config.h"
#include "log.h"
#include "outputs.h"
#include "session.h"

struct rw_proxy;
struct rw_conn;
struct rw_pcapq;
struct rw_inspect_tls;

/* ---- upstream destinations (upstream.c) --------------------------------- */
/* Fixed upstream, resolved once (start and SIGHUP). */
int rw_upstream_resolve(const struct rw_proxy_config *cfg, struct sockaddr_storage *out,
                        socklen_t *outlen, char *err, size_t errlen);
/* The destination the client meant: SO_ORIGINAL_DST (REDIRECT/DNAT) or the
 * accepted socket's local address (TPROXY). */
int rw_original_dst(enum rw_upstream_mode mode, int fd, struct sockaddr_storage *out,
                    socklen_t *outlen);
void rw_sockaddr_to_endpoint(const struct sockaddr *sa, struct rw_endpoint *ep);
/* "1.2.3.4:3389" / "[::1]:3389" */
void rw_sockaddr_text(const struct sockaddr *sa, char *out, size_t outlen);
bool rw_sockaddr_equal(const struct sockaddr *a, const struct sockaddr *b);

/* ---- the proxy (proxy.c) and its connections (relay.c) ------------------ */
struct rw_listener {
	struct evconnlistener *lev;
	struct rw_listen where;
	bool transparent; /* IP_TRANSPARENT set (tproxy) */
	bool tuned;       /* TCP_NODELAY, keepalive, TCP_USER_TIMEOUT set for accepted sockets
	                     to inherit (with accept4's O_NONBLOCK): none to set per connection */
	struct rw_proxy *px;
};

/* ---- privileges (privs.c) ------------------------------------------------ */
struct rw_privs {
	bool managed;  /* not root: capabilities trimmed to `kept`, none effective */
	uint64_t kept; /* CAP_* bits kept in the permitted set for opening listeners */
};
/* Becomes USER (when set and not that user already; needs root) and keeps,
 * in the permitted set only, what opening a listener on reload may need:
 * CAP_NET_BIND_SERVICE, and with TPROXY CAP_NET_RAW (else CAP_NET_ADMIN), as
 * far as the process holds them. Not root but holding capabilities (systemd
 * AmbientCapabilities, file capabilities): trims them the same way. Root
 * without USER stays root. 0 with what was kept in note (or ""), or -1. */
int rw_privs_drop(struct rw_privs *p, const char *user, bool tproxy, char *note, size_t notelen,
                  char *err, size_t errlen);
/* Around opening listeners: the kept capabilities effective, then none. */
void rw_privs_raise(const struct rw_privs *p);
void rw_privs_lower(const struct rw_privs *p);
/* For a listener that failed with errno err: " (which capability it needs
 * and that it is missing)", or "". */
const char *rw_privs_hint(const struct rw_privs *p, const struct rw_listen *where, bool transparent,
                          int err);

/* A worker's counters: written by its own thread only, read by the main
 * thread for SIGUSR1 and the stop (summed over the workers). */
struct rw_stats {
	_Atomic uint64_t accepted, refused_loop, upstream_failed, closed, active;
	_Atomic uint64_t fast, spliced; /* connections on the fast relay; bytes moved by splice */
};

/* Empty pipes kept for splice (relay.c): a connection holds one per direction
 * only while bytes are in it. */
#define RW_PIPE_POOL 64

/* workers = N: N threads, each a struct rw_proxy with its own event loop,
 * SO_REUSEPORT listeners, connections, timers, sweep and pipes. Worker 0
 * is the main thread: it alone handles the signals and tells the others
 * (a command pipe each: see proxy.c). The outputs, the pcap_dir queue, the
 * log and the record ids are shared (thread-safe). */
#define RW_RELOAD_LINE 640
struct rw_workers {
	unsigned n;
	struct rw_proxy **w; /* w[0] is the main one */
	pthread_t *threads;  /* [1..n-1] */
	unsigned done;       /* workers that finished (main thread only) */
	/* A reload is said done once every worker applied it ('R' on the
	 * main's pipe), so that the old port refuses when the log says so. */
	unsigned reload_acks;             /* outstanding (main thread only) */
	char reload_said[RW_RELOAD_LINE]; /* the line to log then */
	pthread_mutex_t mu;               /* guards what follows */
	struct rw_proxy_config *next_cfg; /* the configuration a reload applies */
	struct sockaddr_storage next_upstream;
	socklen_t next_upstream_len;
};

struct rw_proxy {
	struct event_base *base;
	unsigned worker;         /* 0: the main thread */
	struct rw_proxy *main;   /* worker 0 (itself there) */
	struct rw_workers *team; /* NULL with one worker */
	int cmd[2];              /* commands from the main thread (workers > 1) */
	struct event *cmd_ev;
	_Atomic uint64_t next_id; /* record ids: the main's, for every worker */
	struct rw_proxy_config cfg;
	/* The config file and the command line's key = value settings (argv
	 * strings, not owned): SIGHUP builds the configuration again from them. */
	struct rw_config_source src;
	struct rw_privs privs;
	struct rw_log log;
	struct rw_outputs *outputs;
	struct rw_pcapq *pcapq;         /* pcap_dir's writer thread (pcap_queue.h) */
	struct rw_inspect_tls *inspect; /* inspection with the host's key, NULL = off
	                                   (inspect_tls.h) */
	struct rw_listener listeners[RW_CONF_MAX_LISTEN];
	size_t n_listeners;
	struct sockaddr_storage upstream;
	socklen_t upstream_len;
	struct event *sig_term, *sig_int, *sig_hup, *sig_usr1;
	struct event *grace_timer, *accept_retry;
	bool stopping;
	bool accept_paused;
	bool at_limit;   /* max_connections reached */
	int reserve_fd;  /* spare descriptor, given up to serve an accepted client */
	bool fd_episode; /* out of descriptors since the last successful accept */
	struct rw_stats stats;
	int pipes[RW_PIPE_POOL][2];
	size_t n_pipes;
	bool splice_broken; /* splice(2) failed in a way that says it never will work */
	uint8_t *scratch;   /* the fast relay's read buffer, shared (relay.c) */
	size_t scratch_len;
	/* The fast relay's legs: an edge-triggered epoll set of the worker's,
	 * watched by fast_ev (relay_fast.c); created with its first connection. */
	int fast_ep;
	struct event *fast_ev, *fast_kick;
	TAILQ_HEAD(rw_fast_runq, rw_fast) fast_run, fast_later;
	struct rw_fast *fast_current; /* the connection whose turn it is */
	unsigned fast_round;
	bool fast_running;
	struct event *sweep; /* every second: idle connections made small (relay.c) */
	size_t released;     /* bytes the sweep freed since it last trimmed the heap */
	LIST_HEAD(, rw_conn) conns;
};

/* relay.c */
void rw_conn_accept(struct rw_proxy *px, int fd, const struct sockaddr *peer, socklen_t peerlen,
                    const struct rw_listener *l);
/* Shutdown: close every connection now (after the grace period). */
void rw_conn_abort_all(struct rw_proxy *px);
/* TCP_NODELAY, keepalive and TCP_USER_TIMEOUT of cfg on a listening socket
 * (accepted sockets inherit them). 0, or -1 with errno. */
int rw_relay_tune_listener(const struct rw_proxy_config *cfg, int fd);
/* Closes the pipes kept for splice and frees the shared read buffer. */
void rw_relay_pools_free(struct rw_proxy *px);
/* Packs the sessions of connections idle for a while (every second). */
void rw_relay_sweep(struct rw_proxy *px);

/* proxy.c */
/* Start-up: resolves a fixed upstream and opens every listener of px->cfg
 * (all or none). */
int rw_proxy_listen(struct rw_proxy *px, char *err, size_t errlen);
/* Runs the loop until stopped (signals installed here). SIGHUP builds the
 * configuration again from px->src and applies it without a gap: listeners
 * whose address and options are unchanged are kept (the same socket, its
 * accept queue intact), new ones open before removed ones close, and a
 * change that cannot be applied leaves the running configuration as it was. */
int rw_proxy_run(struct rw_proxy *px);
void rw_proxy_accept_pause(struct rw_proxy *px);
/* An event loop for a worker (precise timers; epoll changes batched per
 * loop turn when changelist: with one worker). */
struct event_base *rw_proxy_base_new(bool changelist);
/* The next record id (unique across workers: 1, 2, 3... with one). */
uint64_t rw_proxy_next_id(struct rw_proxy *px);
/* workers = N: the N-1 other workers, set up beside px (worker 0, its
 * configuration built, outputs and pcap queue open, listeners not yet):
 * each gets its own event loop and inspection contexts. Then
 * rw_proxy_listen opens every worker's listeners (SO_REUSEPORT), and
 * rw_proxy_run starts their threads. -1 with a message. */
int rw_proxy_workers_new(struct rw_proxy *px, unsigned n, char *err, size_t errlen);
/* After the privileges were dropped: the workers get the same. */
void rw_proxy_workers_privs(struct rw_proxy *px);
void rw_proxy_workers_free(struct rw_proxy *px);
void rw_proxy_conn_closed(struct rw_proxy *px);

/* conn_report.c: how a connection ended, for rw_proxy_conn_report. */
struct rw_pcapw;
struct rw_conn_end {
	uint64_t id, t; /* t: when it ended (us) */
	struct rw_session *session;
	struct rw_pcapw **pcap;          /* its capture file or NULL; set to NULL once finished */
	bool reset_client, reset_server; /* how rdpwhy closed each leg */
	bool inspected;
	const char *peer, *dst, *why;
};
/* Finishes the capture file (with the closes rdpwhy made), closes the
 * record, logs it and writes it to the outputs, which take the session
 * (rw_outputs_write_session): the caller no longer has it. */
void rw_proxy_conn_report(struct rw_proxy *px, const struct rw_conn_end *e);

#endif
