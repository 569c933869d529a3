/* One proxied connection: two legs relayed byte for byte, close propagated
 * as it happened (a FIN becomes a half-close once everything before it was
 * written, an RST becomes an RST), set-up phases watched by idle timers,
 * every event handed to the session analyzer. rw_conn_end() is the single exit:
 * it closes the verdict, writes the record and frees everything.
 *
 * Peers that vanish: both legs get TCP keepalive and TCP_USER_TIMEOUT, so the
 * kernel gives up on a side that stops acknowledging (ETIMEDOUT), and the
 * record names that side. When a timer fires, the socket of the side waited
 * on says whether it is the network (data sent to it not acknowledged) or the
 * side itself (everything acknowledged, nothing said): a client silent that
 * way during TLS or NLA is a person at a prompt and is waited for longer. */
#include <errno.h>
#include <malloc.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/event_struct.h>

#include "inspect_tls.h"
#include "pcap_writer.h"
#include "clock.h"
#include "conn_timer.h"
#include "relay_conn.h"

/* ---- idle connections --------------------------------------------------------
 * A connection that handled no event for IDLE_PACK_MS is made small by the
 * sweep (rw_relay_sweep, every second): its session, about 17 KiB and
 * mostly zeros until TLS is parsed, is packed (rw_session_pack), it moves
 * to the fast relay if it can (smaller than two bufferevents) and the fast
 * relay's drained buffers are released; the first event after that unpacks
 * it. The same bytes, so the same verdict. */
#define IDLE_PACK_MS 2000
/* Freed memory goes back to the kernel (malloc_trim) once this much was
 * released by packing. */
#define TRIM_AFTER (1024 * 1024)
/* The server leg gets its keepalive and TCP_USER_TIMEOUT once the
 * connection is this old (the sweep sets them, so within a second more):
 * the kernel applies a TCP_USER_TIMEOUT set late to data already in
 * flight, and keepalive counts from the leg's last segment either way. */
#define TUNE_AFTER_MS 1000

void rw_conn_wake(struct rw_conn *c)
{
	c->t_event_us = now_us();
	if (c->session)
		return;
	struct rw_session *s = rw_session_unpack(c->packed, c->packed_len);
	if (!s) {
		/* Nothing to go on without it: the record is its only state. */
		rw_logx(&c->px->log, LOG_CRIT, "conn %llu: out of memory unpacking its session",
		        (unsigned long long)c->id);
		abort();
	}
	c->session = s;
	free(c->packed);
	c->packed = NULL;
	c->packed_len = 0;
}

/* ---- timers ---------------------------------------------------------------- */

/* Idle timers restart on every byte: a slow but moving set-up is fine. */
static void arm_timer(struct rw_conn *c)
{
	const struct rw_proxy_config *cfg = &c->px->cfg;
	rw_conn_timer_arm_ms(&c->timer,
	                     c->state == CONNECTING
	                             ? cfg->connect_timeout_ms
	                             : rw_phase_timeout_ms(cfg, rw_session_phase(c->session)));
}

/* The client began a TPKT (its X.224 request) and has not finished it. */
static bool request_incomplete(struct rw_conn *c)
{
	const struct rw_record *r = rw_session_record(c->session);
	return c->t_data_us[RW_C2S] && !r->cr_seen && !r->not_tpkt[RW_C2S] &&
	       !r->client_tls_without_x224 && rw_session_phase(c->session) <= RW_PHASE_X224;
}

/* After bytes from `from` (inspected). A request that trickles in does not
 * restart the timer: a client that sends its X.224 request one byte every
 * few seconds (slowloris) gets x224_timeout for all of it, counted from its
 * first byte, as a silent one does. Any other byte restarts it. */
static void arm_timer_after(struct rw_conn *c, enum rw_dir from)
{
	bool trickle = from == RW_C2S && request_incomplete(c);
	if (trickle && c->request_armed)
		return;
	c->request_armed = trickle;
	arm_timer(c);
}

/* ---- what TCP says of a leg ------------------------------------------------ */

static const char *errno_name(int err)
{
	switch (err) {
	case ETIMEDOUT:
		return "ETIMEDOUT";
	case EHOSTUNREACH:
		return "EHOSTUNREACH";
	case ENETUNREACH:
		return "ENETUNREACH";
	case EHOSTDOWN:
		return "EHOSTDOWN";
	case ECONNRESET:
		return "ECONNRESET";
	case EPIPE:
		return "EPIPE";
	case ECONNABORTED:
		return "ECONNABORTED";
	default:
		return "";
	}
}

/* The socket gave up on its peer: no ACK within TCP_USER_TIMEOUT or the
 * keepalive probes (an ICMP unreachable seen meanwhile replaces ETIMEDOUT). */
static bool peer_lost_errno(int err)
{
	return err == ETIMEDOUT || err == EHOSTUNREACH || err == ENETUNREACH || err == EHOSTDOWN;
}

/* The facts of the leg to one side: bytes sent and not acknowledged (SIOCOUTQ
 * less SIOCOUTQNSD), bytes not sent (the kernel's and ours: the side's window
 * is closed), the time since its last ACK and last data. */
static void leg_tcp(const struct rw_leg *l, uint64_t t, struct rw_peer_tcp *out)
{
	const struct rw_conn *c = l->conn;
	memset(out, 0, sizeof(*out));
	if (l->fd < 0)
		return;
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(l->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return;
	int queued = 0, unsent = 0;
	if (ioctl(l->fd, SIOCOUTQ, &queued) < 0 || ioctl(l->fd, SIOCOUTQNSD, &unsent) < 0)
		queued = unsent = 0;
	out->known = true;
	/* write_seq - snd_una: still right after the socket failed (ETIMEDOUT). */
	out->unacked_bytes = queued > unsent ? (uint64_t)(queued - unsent) : 0;
	out->unsent_bytes = unsent > 0 ? (uint64_t)unsent : 0;
	if (l->bev)
		out->unsent_bytes += evbuffer_get_length(bufferevent_get_output(l->bev));
	if (c->fast) {
		/* The fast relay's bytes for this side: the other direction's. */
		const struct rw_pump *p = &c->fast->pump[l->rx == RW_C2S ? RW_S2C : RW_C2S];
		out->unsent_bytes += p->in_pipe + p->len;
	}
	out->last_ack_ms = ti.tcpi_last_ack_recv;
	uint64_t since = c->t_data_us[l->rx] ? c->t_data_us[l->rx] : c->t_accept_us;
	out->silent_ms = t > since ? (uint32_t)((t - since) / 1000) : 0;
	out->retransmits = ti.tcpi_retransmits;
	out->probes = ti.tcpi_probes;
}

/* The side expected to speak next: the one that did not speak last (the
 * client before anything was said). */
static struct rw_leg *waited_on(struct rw_conn *c)
{
	if (!c->any_data)
		return &c->client;
	/* The rest of the client's own request is awaited, not an answer. */
	if (c->last_rx == RW_C2S && request_incomplete(c))
		return &c->client;
	return c->last_rx == RW_C2S ? &c->server : &c->client;
}

/* The sockets' view when a timer fires or a leg fails, into the record. */
static void note_stop(struct rw_conn *c, enum rw_proxy_stop how, const struct rw_leg *l, int err,
                      uint64_t t)
{
	struct rw_record *rec = rw_session_record(c->session);
	leg_tcp(&c->client, t, &rec->proxy_tcp[RW_C2S]);
	leg_tcp(&c->server, t, &rec->proxy_tcp[RW_S2C]);
	rec->proxy_stop = how;
	rec->proxy_side = l->rx;
	rec->proxy_prompt_wait_ms =
	        c->t_prompt_us && t > c->t_prompt_us ? (t - c->t_prompt_us) / 1000 : 0;
	struct rw_peer_tcp *p = &rec->proxy_tcp[l->rx];
	p->error = err;
	snprintf(p->error_name, sizeof(p->error_name), "%s", errno_name(err));
}

/* TCP keepalive and TCP_USER_TIMEOUT (conf/rdpwhy.conf says why these
 * defaults). Best effort: a leg without them is still relayed. */
static int tune_keepalive(const struct rw_proxy_config *cfg, int fd)
{
	int on = cfg->keepalive_idle_ms > 0;
	int idle = (int)(cfg->keepalive_idle_ms / 1000);
	int intvl = (int)(cfg->keepalive_interval_ms / 1000);
	int cnt = (int)cfg->keepalive_count;
	unsigned uto = cfg->user_timeout_ms;
	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) < 0 ||
	    (on && (setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) < 0 ||
	            setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)) < 0 ||
	            setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) < 0)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &uto, sizeof(uto)) < 0)
		return -1;
	return 0;
}

int rw_relay_tune_listener(const struct rw_proxy_config *cfg, int fd)
{
	int one = 1;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		return -1;
	return tune_keepalive(cfg, fd);
}

static void tune_tcp(const struct rw_conn *c, int fd, const char *leg)
{
	if (tune_keepalive(&c->px->cfg, fd) < 0)
		rw_logerr(&c->px->log, LOG_WARNING,
		          "conn %llu: %s leg: keepalive/TCP_USER_TIMEOUT not set",
		          (unsigned long long)c->id, leg);
}

/* ---- teardown ----------------------------------------------------------- */

static void leg_free(struct rw_leg *l, bool reset)
{
	if (l->bev) {
		bufferevent_free(l->bev);
		l->bev = NULL;
	}
	if (l->fd >= 0) {
		if (l->eof && !reset) {
			/* Its peer's FIN was read: nothing can be unread. */
		} else if (reset) {
			/* Zero linger: close() sends RST instead of FIN. */
			struct linger lg = {1, 0};
			setsockopt(l->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		} else {
			/* Unread bytes at close() make the kernel send RST: a client
			 * whose request we never relayed (upstream down, timeout)
			 * must see the FIN we mean. */
			char sink[4096];
			while (recv(l->fd, sink, sizeof(sink), MSG_DONTWAIT) > 0)
				;
		}
		close(l->fd);
		l->fd = -1;
	}
}

void rw_conn_end(struct rw_conn *c, bool reset_client, bool reset_server, const char *why)
{
	struct rw_proxy *px = c->px;
	uint64_t t = now_us();
	rw_fast_free(c);
	leg_free(&c->client, reset_client);
	leg_free(&c->server, reset_server);
	rw_conn_timer_free(&c->timer);
	rw_proxy_conn_report(px, &(struct rw_conn_end){.id = c->id,
	                                               .t = t,
	                                               .session = c->session,
	                                               .pcap = &c->pcap,
	                                               .reset_client = reset_client,
	                                               .reset_server = reset_server,
	                                               .peer = c->peer_text,
	                                               .dst = c->dst_text,
	                                               .why = why});
	c->session = NULL; /* the outputs' now */
	free(c->packed);
	LIST_REMOVE(c, link);
	free(c);
	px->stats.closed++;
	px->stats.active--;
	rw_proxy_conn_closed(px);
}

/* Both directions ended cleanly: free once nothing is left to write. */
static void maybe_done(struct rw_conn *c)
{
	if (c->client.eof && c->server.shut && c->server.eof && c->client.shut)
		rw_conn_end(c, false, false, "both sides closed");
}

/* ---- relaying --------------------------------------------------------------- */

static void inspect(struct rw_conn *c, enum rw_dir dir, struct evbuffer *in, size_t n, uint64_t t)
{
	bool inspecting = rw_session_inspecting(c->session);
	if (!inspecting && !c->pcap) {
		rw_session_count(c->session, dir, t, n);
		return;
	}
	/* Look at the bytes where libevent holds them: no copy. */
	int nvec = evbuffer_peek(in, (ev_ssize_t)n, NULL, NULL, 0);
	struct evbuffer_iovec stackvec[16];
	struct evbuffer_iovec *vec = nvec <= 16 ? stackvec : malloc(sizeof(*vec) * (size_t)nvec);
	if (!vec) {
		rw_session_count(c->session, dir, t, n);
		return;
	}
	nvec = evbuffer_peek(in, (ev_ssize_t)n, NULL, vec, nvec);
	size_t left = n;
	for (int i = 0; i < nvec && left > 0; i++) {
		size_t k = vec[i].iov_len < left ? vec[i].iov_len : left;
		if (inspecting)
			rw_session_data(c->session, dir, t, vec[i].iov_base, k);
		if (c->pcap)
			rw_pcapw_data(c->pcap, dir, t, vec[i].iov_base, k);
		left -= k;
	}
	if (!inspecting)
		rw_session_count(c->session, dir, t, n);
	if (vec != stackvec)
		free(vec);
}

/* Moves what `from` received to the other leg's output, with back-pressure. */
static void relay(struct rw_leg *from)
{
	struct rw_conn *c = from->conn;
	struct rw_leg *to = other(from);
	struct evbuffer *in = bufferevent_get_input(from->bev);
	size_t n = evbuffer_get_length(in);
	if (n == 0)
		return;
	uint64_t t = now_us();
	inspect(c, from->rx, in, n, t);
	rw_conn_took(c, from->rx, t);
	if (c->bev_bytes < FAST_AFTER)
		c->bev_bytes += n < FAST_AFTER ? (uint32_t)n : FAST_AFTER;
	if (to->bev && !to->shut) {
		evbuffer_add_buffer(bufferevent_get_output(to->bev), in);
	} else {
		/* The other side is gone (reset): nothing can carry these bytes. */
		evbuffer_drain(in, n);
	}
	if (to->bev &&
	    evbuffer_get_length(bufferevent_get_output(to->bev)) >= c->px->cfg.max_buffer) {
		bufferevent_disable(from->bev, EV_READ);
		from->read_paused = true;
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct rw_leg *l = arg;
	struct rw_conn *c = l->conn;
	rw_conn_wake(c);
	(void)bev;
	relay(l);
	/* Inspection with the host's key (inspect.c): after a Confirm that
	 * selected TLS, inspect.c takes the legs, session, pcap and record. */
	if (c->px->inspect && l->rx == RW_S2C && !c->client.eof && !c->client.shut) {
		struct rw_inspect_legs h = {
		        c->id,         c->t_accept_us, c->session,   c->pcap,      c->client.bev,
		        c->server.bev, c->client.fd,   c->server.fd, c->peer_text, c->dst_text};
		if (rw_inspect_take(c->px, &h)) {
			rw_conn_timer_free(&c->timer);
			LIST_REMOVE(c, link);
			free(c);
		}
	}
}

/* Half-close towards `to` once its output holds nothing that preceded the FIN. */
static void propagate_fin(struct rw_leg *to)
{
	struct rw_leg *from = other(to);
	if (!from->eof || to->shut || !to->bev)
		return;
	if (evbuffer_get_length(bufferevent_get_output(to->bev)) > 0)
		return; /* on_write will call us again when drained */
	if (shutdown(to->fd, SHUT_WR) < 0 && errno != ENOTCONN)
		rw_logerr(&to->conn->px->log, LOG_DEBUG, "conn %llu: shutdown towards %s",
		          (unsigned long long)to->conn->id, leg_name(to));
	to->shut = true;
	maybe_done(to->conn);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct rw_leg *to = arg;
	struct rw_leg *from = other(to);
	rw_conn_wake(to->conn);
	(void)bev;
	/* Output drained below the low-water mark: the reader may go on. */
	if (from->read_paused && from->bev && !from->eof) {
		from->read_paused = false;
		bufferevent_enable(from->bev, EV_READ);
	}
	if (from->eof) {
		propagate_fin(to); /* may end the connection */
		return;
	}
	/* Drained: the fast relay may take over. */
	if (evbuffer_get_length(bufferevent_get_output(to->bev)) == 0)
		rw_fast_try(to->conn, false);
}

static void on_eof(struct rw_leg *l)
{
	struct rw_conn *c = l->conn;
	/* Bytes read before the FIN still go first. */
	relay(l);
	uint64_t t = now_us();
	l->eof = true;
	rw_session_fin(c->session, l->rx, t);
	/* The pcap shows the FIN where the proxy saw it, as the record does. */
	if (c->pcap)
		rw_pcapw_fin(c->pcap, l->rx, t);
	propagate_fin(other(l));
}

/* The peer of `l` reset the connection (or its socket failed): pass the RST on. */
static void on_reset(struct rw_leg *l, int err)
{
	struct rw_conn *c = l->conn;
	uint64_t t = now_us();
	rw_session_rst(c->session, l->rx, t, -1);
	if (c->pcap)
		rw_pcapw_rst(c->pcap, l->rx, t);
	rw_logx(&c->px->log, LOG_DEBUG, "conn %llu: %s: %s", (unsigned long long)c->id, leg_name(l),
	        strerror(err));
	bool from_client = l->rx == RW_C2S;
	rw_conn_end(c, !from_client, from_client,
	            from_client ? "client reset, reset passed to server"
	                        : "server reset, reset passed to client");
}

/* The kernel gave up on the peer of `l` (no ACK to our data within
 * TCP_USER_TIMEOUT, or to the keepalive probes): the side vanished. The other
 * side gets an RST: the connection broke, it was not closed. */
static void on_lost(struct rw_leg *l, int err)
{
	struct rw_conn *c = l->conn;
	uint64_t t = now_us();
	note_stop(c, RW_PROXY_STOP_LOST, l, err, t);
	rw_session_timeout(c->session, t);
	const struct rw_peer_tcp *p = &rw_session_record(c->session)->proxy_tcp[l->rx];
	rw_logx(&c->px->log, LOG_NOTICE,
	        "conn %llu: %s vanished: %s, no ACK for %u ms (%llu bytes unacknowledged)",
	        (unsigned long long)c->id, leg_name(l), strerror(err), p->last_ack_ms,
	        (unsigned long long)p->unacked_bytes);
	bool client = l->rx == RW_C2S;
	rw_conn_end(c, !client, client,
	            client ? "client vanished, reset passed to server"
	                   : "server vanished, reset passed to client");
}

void rw_conn_took(struct rw_conn *c, enum rw_dir from, uint64_t t)
{
	c->t_data_us[from] = t;
	arm_timer_after(c, from);
	c->last_rx = from;
	c->any_data = true;
	c->t_prompt_us = 0;
}

void rw_leg_failed(struct rw_leg *l, int err)
{
	if (!err || !peer_lost_errno(err)) {
		/* The error the socket holds, if errno is not it. */
		int soerr = 0;
		socklen_t len = sizeof(soerr);
		if (getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr)
			err = soerr;
	}
	if (peer_lost_errno(err))
		on_lost(l, err);
	else
		on_reset(l, err ? err : ECONNRESET);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct rw_leg *l = arg;
	rw_conn_wake(l->conn);
	(void)bev;
	if (what & BEV_EVENT_EOF) {
		on_eof(l);
		return;
	}
	if (what & BEV_EVENT_ERROR)
		rw_leg_failed(l, EVUTIL_SOCKET_ERROR());
}

/* The original destination is one of our listeners: the client connected to
 * rdpwhy's port itself. A wildcard listener matches any local address on its
 * port (bind() succeeds only for local addresses). */
static bool rw_is_loop(const struct rw_listen *l, const struct sockaddr *dst)
{
	struct rw_endpoint le, de;
	rw_sockaddr_to_endpoint((const struct sockaddr *)&l->addr, &le);
	rw_sockaddr_to_endpoint(dst, &de);
	if (le.port != de.port)
		return false;
	static const uint8_t zero[16];
	if (memcmp(le.addr, zero, 16) != 0)
		return le.family == de.family && memcmp(le.addr, de.addr, 16) == 0;
	int fd = socket(dst->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_storage probe;
	socklen_t len = dst->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                           : sizeof(struct sockaddr_in);
	memcpy(&probe, dst, len);
	if (dst->sa_family == AF_INET6)
		((struct sockaddr_in6 *)&probe)->sin6_port = 0;
	else
		((struct sockaddr_in *)&probe)->sin_port = 0;
	bool local = bind(fd, (struct sockaddr *)&probe, len) == 0;
	close(fd);
	return local;
}

/* ---- set-up ----------------------------------------------------------------- */

static void leg_start(struct rw_leg *l)
{
	/* libevent's defaults (16 KiB per read/write call) cost a syscall pair
	 * per 16 KiB on bulk transfers; the high-water mark bounds memory. */
	bufferevent_set_max_single_read(l->bev, l->conn->px->cfg.max_buffer);
	bufferevent_set_max_single_write(l->bev, l->conn->px->cfg.max_buffer);
	bufferevent_setcb(l->bev, on_read, on_write, on_event, l);
	/* Writes below half the high-water mark wake the paused reader. */
	bufferevent_setwatermark(l->bev, EV_WRITE, l->conn->px->cfg.max_buffer / 2, 0);
	bufferevent_enable(l->bev, EV_READ | EV_WRITE);
}

static void on_connected(struct rw_conn *c)
{
	uint64_t t = now_us();
	struct rw_record *rec = rw_session_record(c->session);
	rec->proxy_connect_ms = (t - c->t_accept_us) / 1000;
	rw_session_syn(c->session, RW_S2C, t);
	if (c->pcap)
		rw_pcapw_synack(c->pcap, t);
	c->state = RELAYING;
	if (c->fast) {
		rw_fast_start(c);
	} else {
		leg_start(&c->client);
		leg_start(&c->server);
	}
	arm_timer(c);
	rw_logx(&c->px->log, LOG_DEBUG, "conn %llu: upstream %s connected in %llu ms",
	        (unsigned long long)c->id, c->dst_text, (unsigned long long)rec->proxy_connect_ms);
}

static void connect_failed(struct rw_conn *c, enum rw_close_kind kind, int err)
{
	uint64_t t = now_us();
	c->px->stats.upstream_failed++;
	rw_session_connect_failed(c->session, t, kind);
	if (c->pcap && kind == RW_CLOSE_REFUSED)
		rw_pcapw_rst(c->pcap, RW_S2C, t);
	else if (c->pcap)
		rw_pcapw_syn_unanswered(c->pcap, t);
	rw_logx(&c->px->log, LOG_NOTICE, "conn %llu: upstream %s: %s", (unsigned long long)c->id,
	        c->dst_text, err ? strerror(err) : "connect timeout");
	/* Refused: the client sees what a closed port would send, an RST. */
	rw_conn_end(c, kind == RW_CLOSE_REFUSED, false,
	            kind == RW_CLOSE_REFUSED ? "upstream refused" : "upstream unreachable");
}

/* The upstream's connect failed with err: a refusal, or unreachable. */
static void connect_error(struct rw_conn *c, int err)
{
	connect_failed(c, err == ECONNREFUSED ? RW_CLOSE_REFUSED : RW_CLOSE_UNREACHABLE, err);
}

/* The upstream's connect finished: connected, or failed with err (0 when
 * nothing says why). */
static void connect_result(struct rw_conn *c, bool connected, int err)
{
	if (connected) {
		on_connected(c);
		return;
	}
	if (err == ECONNRESET) {
		/* The host completed the handshake and reset the connection before
		 * the loop saw it connected (a listener closed with the connection
		 * in its queue, a host that crashed): it was reachable and reset
		 * it, so the client gets an RST after its connect, as it would
		 * directly, and the record a server reset, not unreachable. */
		on_connected(c);
		on_reset(&c->server, err);
		return;
	}
	connect_error(c, err);
}

/* The upstream's connect(2) finished, one way or the other. Watched for
 * reading too: a socket that is only writable is connected (no
 * getsockopt); a failed one is also readable (EPOLLERR, EPOLLHUP), and so
 * is one whose server spoke or closed at once, which SO_ERROR tells apart. */
static void fast_on_connect(evutil_socket_t fd, short what, void *arg)
{
	struct rw_conn *c = arg;
	rw_conn_wake(c);
	int err = 0;
	if (what & EV_READ) {
		socklen_t len = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
	}
	if (err) {
		connect_result(c, false, err);
		return;
	}
	on_connected(c);
	/* A client speaks first and at once (its X.224 request), and the
	 * upstream's handshake took a round trip: its bytes are almost always
	 * waiting. Reading them now saves a loop turn of latency; when they are
	 * not there it costs one recv(2) that says EAGAIN. */
	rw_fast_read(c, &c->client);
}

static void on_connect_event(struct bufferevent *bev, short what, void *arg)
{
	struct rw_conn *c = arg;
	rw_conn_wake(c);
	(void)bev;
	int err = 0;
	if (!(what & BEV_EVENT_CONNECTED)) {
		err = EVUTIL_SOCKET_ERROR();
		if (err == 0) {
			socklen_t len = sizeof(err);
			getsockopt(c->server.fd, SOL_SOCKET, SO_ERROR, &err, &len);
		}
	}
	connect_result(c, what & BEV_EVENT_CONNECTED, err);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct rw_conn *c = arg;
	rw_conn_wake(c);
	(void)fd;
	(void)what;
	if (!rw_conn_timer_due(&c->timer))
		return; /* bytes came after it was set */
	if (c->state == CONNECTING) {
		connect_failed(c, RW_CLOSE_TIMEOUT, 0);
		return;
	}
	uint64_t t = now_us();
	enum rw_phase phase = rw_session_phase(c->session);
	struct rw_leg *w = waited_on(c);
	struct rw_peer_tcp p;
	leg_tcp(w, t, &p);
	/* A client that acknowledged everything and stays silent during TLS or
	 * NLA: a person reading mstsc's certificate prompt or typing a PIN.
	 * Wait for it up to prompt_timeout in all, counted from its silence. */
	unsigned cap = c->px->cfg.prompt_timeout_ms;
	if (w == &c->client && p.known && p.unacked_bytes == 0 && p.unsent_bytes == 0 &&
	    (phase == RW_PHASE_TLS_HANDSHAKE || phase == RW_PHASE_NLA) && p.silent_ms < cap) {
		if (!c->t_prompt_us)
			c->t_prompt_us = t;
		rw_logx(&c->px->log, LOG_DEBUG,
		        "conn %llu: client silent %u ms in phase %s with everything acknowledged: "
		        "waiting up to prompt_timeout (%u ms)",
		        (unsigned long long)c->id, p.silent_ms, rw_phase_name(phase), cap);
		rw_conn_timer_arm_ms(&c->timer, cap - p.silent_ms);
		return;
	}
	note_stop(c, RW_PROXY_STOP_WAITED, w, 0, t);
	rw_session_timeout(c->session, t);
	rw_logx(&c->px->log, LOG_INFO,
	        "conn %llu: idle timeout in phase %s, waiting on the %s (%llu bytes sent to it "
	        "unacknowledged, silent %u ms)",
	        (unsigned long long)c->id, rw_phase_name(phase), leg_name(w),
	        (unsigned long long)p.unacked_bytes, p.silent_ms);
	rw_conn_end(c, false, false, "timeout");
}

static int set_nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

static int set_nonblock_nodelay(int fd)
{
	set_nodelay(fd);
	return evutil_make_socket_nonblocking(fd);
}

void rw_conn_accept(struct rw_proxy *px, int fd, const struct sockaddr *peer, socklen_t peerlen,
                    const struct rw_listener *l)
{
	(void)peerlen;
	struct sockaddr_storage dst;
	socklen_t dstlen = sizeof(dst);
	const struct rw_proxy_config *cfg = &px->cfg;
	char peer_text[80];
	rw_sockaddr_text(peer, peer_text, sizeof(peer_text));
	if (cfg->mode == RW_UPSTREAM_FIXED) {
		memcpy(&dst, &px->upstream, px->upstream_len);
		dstlen = px->upstream_len;
	} else if (rw_original_dst(cfg->mode, fd, &dst, &dstlen) < 0) {
		rw_logerr(&px->log, LOG_WARNING, "%s: no original destination", peer_text);
		close(fd);
		return;
	}
	/* A client that reached our own port directly would loop through us. */
	for (size_t i = 0; i < px->n_listeners && cfg->mode != RW_UPSTREAM_FIXED; i++) {
		if (rw_is_loop(&px->listeners[i].where, (struct sockaddr *)&dst)) {
			char d[80];
			rw_sockaddr_text((struct sockaddr *)&dst, d, sizeof(d));
			rw_logx(&px->log, LOG_WARNING,
			        "%s: refused: original destination %s is rdpwhy's own listener %s "
			        "(loop; connect through the redirect rule, not to rdpwhy's port)",
			        peer_text, d, l->where.text);
			px->stats.refused_loop++;
			close(fd);
			return;
		}
	}

	struct rw_conn *c = calloc(1, sizeof(*c));
	struct rw_session_config scfg = {0};
	struct rw_session *s = c ? rw_session_new(&scfg) : NULL;
	if (!s) {
		rw_logx(&px->log, LOG_ERR, "%s: out of memory, connection dropped", peer_text);
		free(c);
		close(fd);
		return;
	}
	c->px = px;
	c->id = rw_proxy_next_id(px);
	c->session = s;
	c->t_accept_us = now_us();
	c->t_event_us = c->t_accept_us;
	c->state = CONNECTING;
	snprintf(c->peer_text, sizeof(c->peer_text), "%s", peer_text);
	rw_sockaddr_text((struct sockaddr *)&dst, c->dst_text, sizeof(c->dst_text));
	c->client = (struct rw_leg){.conn = c, .fd = fd, .rx = RW_C2S};
	c->server = (struct rw_leg){.conn = c, .fd = -1, .rx = RW_S2C};
	LIST_INSERT_HEAD(&px->conns, c, link);
	px->stats.accepted++;
	px->stats.active++;

	struct rw_endpoint cep, sep;
	rw_sockaddr_to_endpoint(peer, &cep);
	rw_sockaddr_to_endpoint((struct sockaddr *)&dst, &sep);
	rw_session_open(s, c->t_accept_us, &cep, &sep);
	rw_session_syn(s, RW_C2S, c->t_accept_us);
	struct rw_record *rec = rw_session_record(s);
	rec->proxy = true;
	if (cfg->mode != RW_UPSTREAM_FIXED) {
		rec->has_original_dst = true;
		rec->original_dst = sep;
	}
	rw_conn_timer_new(&c->timer, px->base, on_timer, c);
	if (cfg->pcap_dir[0]) {
		char err[256];
		/* SYN now; the SYN-ACK (or the RST of a refusal) when the upstream answers. */
		struct rw_pcapw_caps caps = {cfg->pcap_max_file, cfg->pcap_max_total};
		c->pcap = rw_pcapw_open_queued(px->pcapq, &caps, cfg->pcap_dir, &cep, &sep,
		                               c->t_accept_us, err, sizeof(err));
		if (!c->pcap)
			rw_logx(&px->log, LOG_WARNING, "conn %llu: pcap: %s",
			        (unsigned long long)c->id, err);
	}

	int sfd = socket(dst.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (sfd < 0 && (errno == EMFILE || errno == ENFILE) && px->reserve_fd >= 0) {
		close(px->reserve_fd);
		px->reserve_fd = -1;
		sfd = socket(dst.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		rw_proxy_accept_pause(px);
	}
	/* A client accepted from a tuned listener is non-blocking (accept4) and
	 * has TCP_NODELAY, keepalive and TCP_USER_TIMEOUT already: Linux copies
	 * them from the listener. */
	if (sfd < 0 || (!l->tuned && set_nonblock_nodelay(fd) < 0) || set_nodelay(sfd) < 0 ||
	    !c->timer.ev) {
		int err = errno;
		if (sfd >= 0)
			close(sfd);
		if (err == EMFILE || err == ENFILE)
			rw_proxy_accept_pause(px);
		rw_logerr(&px->log, LOG_WARNING, "conn %llu: cannot set up upstream socket",
		          (unsigned long long)c->id);
		rw_conn_end(c, true, false, "local error");
		return;
	}
	c->server.fd = sfd;
	if (!l->tuned)
		tune_tcp(c, fd, "client");
	/* The server leg's keepalive and TCP_USER_TIMEOUT wait for the sweep
	 * (TUNE_AFTER_MS): most connections that end in their first second
	 * (an X.224 exchange and a refusal, a scan, a health check) would pay
	 * five system calls for timers of a minute or more. */
	if (!px->inspect) {
		/* Nothing may take the connection after its Confirm: it is on the
		 * fast relay from the start (see "fast relay"). */
		if (!rw_fast_new(c)) {
			rw_conn_end(c, true, false, "local error");
			return;
		}
		arm_timer(c);
		if (connect(sfd, (struct sockaddr *)&dst, dstlen) < 0 && errno != EINPROGRESS)
			connect_error(c, errno);
		else if (!rw_fast_connecting(c, fast_on_connect))
			rw_conn_end(c, true, false, "local error");
		return;
	}
	/* Inspection takes connections out of the sweep's reach: tuned now. */
	tune_tcp(c, sfd, "server");
	c->server_tuned = true;
	/* We own the fds (no BEV_OPT_CLOSE_ON_FREE): SO_LINGER must be set
	 * before close when an RST is to be passed on. */
	c->client.bev = bufferevent_socket_new(px->base, fd, 0);
	c->server.bev = bufferevent_socket_new(px->base, sfd, 0);
	if (!c->client.bev || !c->server.bev) {
		rw_logx(&px->log, LOG_ERR, "conn %llu: out of memory", (unsigned long long)c->id);
		rw_conn_end(c, true, false, "local error");
		return;
	}
	bufferevent_setcb(c->server.bev, NULL, NULL, on_connect_event, c);
	arm_timer(c);
	if (bufferevent_socket_connect(c->server.bev, (struct sockaddr *)&dst, (int)dstlen) < 0)
		connect_error(c, EVUTIL_SOCKET_ERROR());
}

void rw_conn_abort_all(struct rw_proxy *px)
{
	struct rw_conn *c;
	while ((c = LIST_FIRST(&px->conns)) != NULL) {
		rw_conn_wake(c);
		rw_session_timeout(c->session, now_us());
		rw_conn_end(c, false, false, "shutdown grace period over");
	}
}

void rw_relay_sweep(struct rw_proxy *px)
{
	size_t released = px->released;
	uint64_t t = now_us();
	struct rw_conn *c;
	LIST_FOREACH(c, &px->conns, link)
	{
		if (!c->server_tuned && c->server.fd >= 0 &&
		    t - c->t_accept_us >= TUNE_AFTER_MS * 1000u) {
			tune_tcp(c, c->server.fd, "server");
			c->server_tuned = true;
		}
		if (c->state != RELAYING || t - c->t_event_us < IDLE_PACK_MS * 1000u)
			continue;
		/* Quiet: its bufferevents (about 1.3 KiB) give way to the fast
		 * relay's events (0.6 KiB), as far as rw_fast_try allows. */
		if (c->session)
			rw_fast_try(c, true);
		released += rw_fast_release(c);
		if (c->session) {
			size_t len;
			void *img = rw_session_pack(c->session, &len);
			if (img) {
				c->session = NULL;
				c->packed = img;
				c->packed_len = len;
				released += 16384;
			}
		}
	}
	if (released >= TRIM_AFTER) {
		malloc_trim(0);
		released = 0;
	}
	px->released = released;
}
