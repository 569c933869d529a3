/* The fast relay (see below): a connection's legs with plain events, bytes
 * moved by splice(2) or by large reads of ours, written in the same loop
 * turn. relay.c sets connections up and ends them. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "pcap_writer.h"
#include "relay_conn.h"

/* ---- fast relay ----------------------------------------------------------
 * libevent 2.1's bufferevents cap a read at 4 KiB with an ioctl(FIONREAD)
 * each, and their writes wait for the next loop turn. Without inspection
 * with the host's key a connection never has them: it is on the fast relay
 * from its accept (the upstream's connect watched by fast_on_connect). With
 * inspection it starts on bufferevents, which inspect.c takes after a
 * Confirm selecting TLS (on_read); one it does not take moves here past the
 * X.224 exchange once it carried FAST_AFTER bytes (rw_fast_try). The legs have
 * plain events, and each direction moves its bytes one of two ways:
 *  - splice(2) through a pipe: zero-copy, when nothing needs the bytes
 *    (the analyzers only count once the set-up phases are over, and no
 *    pcap_dir capture): the counts come from splice's return values;
 *  - recv(2) of up to max_buffer into the worker's buffer (or the
 *    connection's own, while it holds bytes back), seen by the analyzers
 *    and the pcap writer there, then send(2) at once.
 * Either way the bytes are written in the same loop turn as they were read;
 * what the far side does not take stays in the pipe or buffer, and the near
 * side is not read again until it is gone (back-pressure: at most one read,
 * max_buffer, per direction). A FIN is passed on once everything before it
 * was written, an RST as one, as on the bufferevent path. */

static int fast_cap(const struct rw_conn *c)
{
	size_t cap = c->px->cfg.max_buffer;
	if (cap > 1024 * 1024)
		cap = 1024 * 1024;
	return (int)cap;
}

void rw_fast_event(struct rw_conn *c, bool write, enum rw_dir d, bool on)
{
	struct rw_fast *f = c->fast;
	bool *state = write ? &f->wr_on[d] : &f->rd_on[d];
	struct event *ev = write ? &f->wr[d] : &f->rd[d];
	if (*state == on)
		return;
	*state = on;
	if (on)
		event_add(ev, NULL);
	else
		event_del(ev);
}

static int pipe_get(struct rw_conn *c, int fds[2])
{
	struct rw_proxy *px = c->px;
	if (px->n_pipes > 0) {
		px->n_pipes--;
		fds[0] = px->pipes[px->n_pipes][0];
		fds[1] = px->pipes[px->n_pipes][1];
		return 0;
	}
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	/* A pipe holds 16 pages by default: one splice of up to max_buffer
	 * needs room for it (best effort: the pipe works either way). */
	fcntl(fds[0], F_SETPIPE_SZ, fast_cap(c));
	return 0;
}

static void pipe_put(struct rw_proxy *px, int fds[2], bool empty)
{
	if (fds[0] < 0)
		return;
	if (empty && px->n_pipes < RW_PIPE_POOL) {
		px->pipes[px->n_pipes][0] = fds[0];
		px->pipes[px->n_pipes][1] = fds[1];
		px->n_pipes++;
	} else {
		close(fds[0]);
		close(fds[1]);
	}
	fds[0] = fds[1] = -1;
}

void rw_relay_pools_free(struct rw_proxy *px)
{
	while (px->n_pipes > 0) {
		px->n_pipes--;
		close(px->pipes[px->n_pipes][0]);
		close(px->pipes[px->n_pipes][1]);
	}
	free(px->scratch);
	px->scratch = NULL;
	px->scratch_len = 0;
}

void rw_fast_free(struct rw_conn *c)
{
	struct rw_fast *f = c->fast;
	if (!f)
		return;
	for (int d = 0; d < 2; d++) {
		rw_fast_event(c, false, (enum rw_dir)d, false);
		rw_fast_event(c, true, (enum rw_dir)d, false);
		pipe_put(c->px, f->pump[d].pipe, f->pump[d].in_pipe == 0);
		free(f->pump[d].buf);
	}
	free(f);
	c->fast = NULL;
}

static bool blocked(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

/* Sends as much of b[0..n) as `to` takes now: the bytes sent, or -1 when
 * its socket failed (rw_leg_failed: the connection ended). One send: when
 * it takes less than n, the socket's buffer is full and another would be
 * refused (EAGAIN); the rest waits for EV_WRITE (fast_wait). */
static ssize_t send_some(struct rw_leg *to, const uint8_t *b, size_t n)
{
	if (n == 0)
		return 0;
	ssize_t k = send(to->fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (k > 0)
		return k;
	if (k < 0 && blocked(errno))
		return 0;
	rw_leg_failed(to, k < 0 ? errno : EPIPE);
	return -1;
}

/* `to` takes no more now (the far side's window is full): fast_write when
 * it is writable, and no read from the other leg until then. */
static void fast_wait(struct rw_conn *c, struct rw_leg *to)
{
	struct rw_leg *from = other(to);
	rw_fast_event(c, true, to->rx, true);
	rw_fast_event(c, false, from->rx, false);
	from->read_paused = true;
}

/* Out of memory for a connection's bytes: it ends (both sides reset). */
static void fast_oom(struct rw_conn *c)
{
	rw_logx(&c->px->log, LOG_ERR, "conn %llu: out of memory", (unsigned long long)c->id);
	rw_conn_end(c, true, true, "local error");
}

/* Writes what direction d holds to `to`. false: the connection ended. */
static bool fast_write(struct rw_conn *c, struct rw_leg *to)
{
	struct rw_leg *from = other(to);
	struct rw_pump *p = &c->fast->pump[from->rx];
	while (p->in_pipe > 0) {
		ssize_t n = splice(p->pipe[0], NULL, to->fd, NULL, p->in_pipe,
		                   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			p->in_pipe -= (size_t)n;
			c->px->stats.spliced += (uint64_t)n;
			continue;
		}
		if (n < 0 && blocked(errno))
			break;
		rw_leg_failed(to, n < 0 ? errno : EPIPE);
		return false;
	}
	if (p->len > 0) {
		ssize_t n = send_some(to, p->buf + p->off, p->len);
		if (n < 0)
			return false;
		p->off += (size_t)n;
		p->len -= (size_t)n;
	}
	if (p->in_pipe > 0 || p->len > 0) {
		fast_wait(c, to);
		return true;
	}
	p->off = 0;
	rw_fast_event(c, true, to->rx, false);
	pipe_put(c->px, p->pipe, true);
	if (from->read_paused && !from->eof) {
		from->read_paused = false;
		rw_fast_event(c, false, from->rx, true);
	}
	if (from->eof && !to->shut) {
		/* Everything before the FIN is written: pass the FIN on. */
		to->shut = true;
		if (to->eof && from->shut) {
			/* The last one: close(2) in rw_conn_end sends it (nothing is
			 * left unread on a leg whose FIN was read). */
			rw_conn_end(c, false, false, "both sides closed");
			return false;
		}
		if (shutdown(to->fd, SHUT_WR) < 0 && errno != ENOTCONN)
			rw_logerr(&c->px->log, LOG_DEBUG, "conn %llu: shutdown towards %s",
			          (unsigned long long)c->id, leg_name(to));
	}
	return true;
}

/* The worker's read buffer (max_buffer, up to 1 MiB), shared by its
 * connections: a connection owns a buffer only while the far side holds
 * bytes back. */
static uint8_t *scratch(struct rw_proxy *px, size_t cap)
{
	if (px->scratch_len < cap) {
		free(px->scratch);
		px->scratch = malloc(cap);
		px->scratch_len = px->scratch ? cap : 0;
	}
	return px->scratch;
}

/* Writes n bytes read into the worker's buffer to `to`; what it does not
 * take goes into the pump of their direction (which has no buffer: it
 * would have been read into), written by fast_write when `to` is writable
 * again (not at once: it just took all it could). false: the connection
 * ended. */
static bool fast_send(struct rw_conn *c, struct rw_leg *to, const uint8_t *b, size_t n)
{
	struct rw_pump *p = &c->fast->pump[other(to)->rx];
	ssize_t k = send_some(to, b, n);
	if (k < 0)
		return false;
	size_t sent = (size_t)k;
	if (sent < n) {
		/* n <= max_buffer, unless a reload made it smaller since the read. */
		p->buf_cap = (size_t)fast_cap(c) > n - sent ? (size_t)fast_cap(c) : n - sent;
		if (!(p->buf = malloc(p->buf_cap))) {
			fast_oom(c);
			return false;
		}
		memcpy(p->buf, b + sent, n - sent);
		p->off = 0;
		p->len = n - sent;
		fast_wait(c, to);
		return true;
	}
	return fast_write(c, to);
}

/* Splice, unless something needs the bytes or splice does not work here. */
static bool fast_splices(const struct rw_conn *c, const struct rw_pump *p)
{
	return !c->pcap && p->len == 0 && !c->px->splice_broken &&
	       !rw_session_inspecting(c->session);
}

/* One read from `from` into its (empty) pump, then the write. false: the
 * connection ended. */
/* RDPWHY_BENCH_ANALYZERS=off (bench/relay_bench.sh only, undocumented for
 * users): the fast relay's reads are not given to the analyzers, while the
 * path stays the one they would take (read/write, not splice), so that the
 * analyzers' own cost on a stream they read is measured apart. */
static bool bench_analyzers_off;
static pthread_once_t bench_once = PTHREAD_ONCE_INIT;

static void bench_read_env(void)
{
	const char *v = getenv("RDPWHY_BENCH_ANALYZERS");
	bench_analyzers_off = v && !strcmp(v, "off");
}

static bool analyzers_off(void)
{
	pthread_once(&bench_once, bench_read_env);
	return bench_analyzers_off;
}

bool rw_fast_read(struct rw_conn *c, struct rw_leg *from)
{
	struct rw_leg *to = other(from);
	struct rw_pump *p = &c->fast->pump[from->rx];
	size_t cap = (size_t)fast_cap(c);
	ssize_t n = -1;
	int err = 0;
	bool counted = false;
	const uint8_t *sent_from = NULL; /* read into the worker's buffer: sent from there */
	bool via_pipe = fast_splices(c, p) && (p->pipe[0] >= 0 || pipe_get(c, p->pipe) == 0);
	if (via_pipe) {
		n = splice(from->fd, NULL, p->pipe[1], NULL, cap - p->in_pipe,
		           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		err = n < 0 ? errno : 0;
		if (n < 0 && (err == EINVAL || err == ENOSYS)) {
			/* Not for these descriptors: say so once, read instead. */
			c->px->splice_broken = true;
			rw_logx(&c->px->log, LOG_WARNING, "splice: %s: relaying with read/write",
			        strerror(err));
			pipe_put(c->px, p->pipe, p->in_pipe == 0);
			via_pipe = false;
		} else if (n > 0) {
			p->in_pipe += (size_t)n;
		}
	}
	uint64_t t = 0;
	if (!via_pipe) {
		/* An empty pump reads into the loop's buffer and is written from
		 * there at once; only what the far side does not take is kept. */
		bool direct = !p->buf && p->len == 0;
		uint8_t *b = direct ? scratch(c->px, cap) : p->buf;
		if (!b) {
			fast_oom(c);
			return false;
		}
		if (!direct)
			b += p->off + p->len;
		n = recv(from->fd, b, direct ? cap : p->buf_cap - p->off - p->len, 0);
		err = n < 0 ? errno : 0;
		if (n > 0) {
			t = now_us();
			if (rw_session_inspecting(c->session) && !analyzers_off()) {
				rw_session_data(c->session, from->rx, t, b, (size_t)n);
				counted = true;
			}
			if (c->pcap)
				rw_pcapw_data(c->pcap, from->rx, t, b, (size_t)n);
			if (direct)
				sent_from = b;
			else
				p->len += (size_t)n;
		}
	}
	if (n < 0) {
		if (blocked(err))
			return true;
		rw_leg_failed(from, err);
		return false;
	}
	if (!t)
		t = now_us();
	if (n == 0) {
		/* FIN: read no more; pass it on once the pump is empty. */
		from->eof = true;
		rw_fast_event(c, false, from->rx, false);
		rw_session_fin(c->session, from->rx, t);
		if (c->pcap)
			rw_pcapw_fin(c->pcap, from->rx, t);
		return fast_write(c, to);
	}
	if (!counted)
		rw_session_count(c->session, from->rx, t, (size_t)n);
	rw_conn_took(c, from->rx, t);
	return sent_from ? fast_send(c, to, sent_from, (size_t)n) : fast_write(c, to);
}

static void fast_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct rw_leg *l = arg;
	rw_conn_wake(l->conn);
	(void)fd;
	(void)what;
	rw_fast_read(l->conn, l);
}

static void fast_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct rw_leg *to = arg;
	rw_conn_wake(to->conn);
	(void)fd;
	(void)what;
	fast_write(to->conn, to);
}

/* The fast relay's events for a connection whose legs have their fds
 * (the server's connecting). false: out of memory. */
bool rw_fast_new(struct rw_conn *c)
{
	struct rw_fast *f = calloc(1, sizeof(*f));
	if (!f)
		return false;
	struct rw_leg *legs[2] = {&c->client, &c->server};
	for (int i = 0; i < 2; i++) {
		struct rw_leg *l = legs[i];
		f->pump[i].pipe[0] = f->pump[i].pipe[1] = -1;
		event_assign(&f->rd[l->rx], c->px->base, l->fd, EV_READ | EV_PERSIST, fast_on_read,
		             l);
		event_assign(&f->wr[l->rx], c->px->base, l->fd, EV_WRITE | EV_PERSIST,
		             fast_on_write, l);
	}
	c->fast = f;
	return true;
}

void rw_fast_connecting(struct rw_conn *c, event_callback_fn cb)
{
	event_assign(&c->fast->wr[RW_S2C], c->px->base, c->server.fd, EV_READ | EV_WRITE, cb, c);
	rw_fast_event(c, true, RW_S2C, true);
}

void rw_fast_connected(struct rw_conn *c)
{
	struct rw_fast *f = c->fast;
	f->wr_on[RW_S2C] = false; /* not persistent: no longer pending */
	event_assign(&f->wr[RW_S2C], c->px->base, c->server.fd, EV_WRITE | EV_PERSIST,
	             fast_on_write, &c->server);
}

/* Both legs connected: read them. */
void rw_fast_start(struct rw_conn *c)
{
	c->px->stats.fast++;
	rw_fast_event(c, false, RW_C2S, true);
	rw_fast_event(c, false, RW_S2C, true);
}

/* Moves the connection to the fast relay when it can: past the X.224
 * exchange, FAST_AFTER bytes carried (or idle: called by the sweep),
 * nothing held in the bufferevents, neither side closed. */
void rw_fast_try(struct rw_conn *c, bool idle)
{
	if (c->fast || c->state != RELAYING || !c->client.bev || !c->server.bev ||
	    (c->bev_bytes < FAST_AFTER && !idle))
		return;
	/* Before a Confirm the hook in on_read may still take the connection,
	 * unless none can come: the client did not start with a TPKT. */
	const struct rw_record *r = rw_session_record(c->session);
	if (!r->cc_seen && rw_session_phase(c->session) <= RW_PHASE_X224 && !r->not_tpkt[RW_C2S] &&
	    !r->client_tls_without_x224)
		return;
	struct rw_leg *legs[2] = {&c->client, &c->server};
	for (int i = 0; i < 2; i++) {
		struct rw_leg *l = legs[i];
		if (l->eof || l->shut || evbuffer_get_length(bufferevent_get_input(l->bev)) ||
		    evbuffer_get_length(bufferevent_get_output(l->bev)))
			return;
	}
	if (!rw_fast_new(c))
		return; /* stays on the bufferevents */
	/* Inside a bufferevent callback: libevent frees it when that returns. */
	for (int i = 0; i < 2; i++) {
		bufferevent_free(legs[i]->bev);
		legs[i]->bev = NULL;
		legs[i]->read_paused = false;
	}
	rw_fast_start(c);
}

size_t rw_fast_release(struct rw_conn *c)
{
	size_t released = 0;
	for (int d = 0; c->fast && d < 2; d++) {
		struct rw_pump *p = &c->fast->pump[d];
		if (p->buf && p->len == 0) {
			free(p->buf);
			p->buf = NULL;
			p->off = 0;
			released += p->buf_cap;
		}
	}
	return released;
}
