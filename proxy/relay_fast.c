/* The fast relay (see below): a connection's legs with plain events, bytes
 * moved by splice(2) or by large reads of ours, written in the same loop
 * turn. relay.c sets connections up and ends them. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
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
 * X.224 exchange once it carried FAST_AFTER bytes (rw_fast_try). The legs are
 * watched by an epoll set of the worker's (see "events" below), and each
 * direction moves its bytes one of two ways:
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

/* ---- events ----------------------------------------------------------------
 * libevent's epoll removes a descriptor with epoll_ctl before or after its
 * close(2), and every pause and resume of a direction is one more: five
 * epoll_ctl for a short connection, each a system call, where the two that
 * add its legs are enough. So the legs are in an epoll set of the worker's,
 * edge-triggered, which the loop watches as one descriptor (fast_ev):
 *  - a leg is added once (EPOLLIN; EPOLLOUT with it the first time a write
 *    has to wait, or from the start for the server's connect) and close(2)
 *    removes it: the proxy never dup()s one;
 *  - its events set rd_ok/wr_ok, and a call that would block clears them
 *    (a short recv(2) or send(2) too: more bytes or room make a new edge);
 *  - rd_on/wr_on say what the relay wants, which costs no system call; a
 *    connection that wants what is ready is queued (fast_run) and run once
 *    per round (fast_step). The events of a round are all read before any
 *    connection runs, so none of them can point to one that ended.
 * One that is still ready after its turn (a read that filled the buffer)
 * waits for the next loop turn (fast_later, fast_kick), so that a bulk
 * transfer does not starve the loop's other events. */

static const struct timeval next_turn = {0, 0};

static bool wants(const struct rw_fast *f)
{
	for (int d = 0; d < 2; d++)
		if ((f->rd_on[d] && f->rd_ok[d]) || (f->wr_on[d] && f->wr_ok[d]))
			return true;
	return f->connecting && (f->rd_ok[RW_S2C] || f->wr_ok[RW_S2C]);
}

static void fast_queue(struct rw_conn *c)
{
	struct rw_proxy *px = c->px;
	struct rw_fast *f = c->fast;
	/* The one running is queued again, if it must be, when its turn ends. */
	if (f->queued || f == px->fast_current)
		return;
	if (px->fast_running && f->ran == px->fast_round) {
		f->queued = 2;
		TAILQ_INSERT_TAIL(&px->fast_later, f, run);
	} else {
		f->queued = 1;
		TAILQ_INSERT_TAIL(&px->fast_run, f, run);
	}
	if (!px->fast_running && !evtimer_pending(px->fast_kick, NULL))
		evtimer_add(px->fast_kick, &next_turn);
}

static void fast_unqueue(struct rw_proxy *px, struct rw_fast *f)
{
	if (f->queued == 1)
		TAILQ_REMOVE(&px->fast_run, f, run);
	else if (f->queued == 2)
		TAILQ_REMOVE(&px->fast_later, f, run);
	f->queued = 0;
}

/* Watches leg l (EPOLLOUT too when out). false: errno set. */
static bool leg_poll(struct rw_conn *c, struct rw_leg *l, bool out)
{
	struct rw_fast *f = c->fast;
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET | (out ? EPOLLOUT : 0u),
	                         .data.ptr = l};
	if (epoll_ctl(c->px->fast_ep, f->polled[l->rx] ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, l->fd,
	              &ev) < 0)
		return false;
	f->polled[l->rx] = true;
	f->out_polled[l->rx] = out;
	return true;
}

void rw_fast_event(struct rw_conn *c, bool write, enum rw_dir d, bool on)
{
	struct rw_fast *f = c->fast;
	if (write)
		f->wr_on[d] = on;
	else
		f->rd_on[d] = on;
	if (!on)
		return;
	if (write && !f->out_polled[d]) {
		struct rw_leg *to = d == RW_C2S ? &c->client : &c->server;
		/* On failure the leg's next read or write, or the timers, end the
		 * connection: nothing else can be done here. */
		if (!leg_poll(c, to, true))
			rw_logerr(&c->px->log, LOG_WARNING, "conn %llu: epoll_ctl",
			          (unsigned long long)c->id);
	}
	if (write ? f->wr_ok[d] : f->rd_ok[d])
		fast_queue(c);
}

static void fast_on_connect_step(struct rw_conn *c)
{
	struct rw_fast *f = c->fast;
	short what = (short)((f->wr_ok[RW_S2C] ? EV_WRITE : 0) | (f->rd_ok[RW_S2C] ? EV_READ : 0));
	f->connecting = false;
	f->on_connect(c->server.fd, what, c);
}

static bool fast_write(struct rw_conn *c, struct rw_leg *to);

/* A connection's turn: the writes that wait, then the reads. */
static void fast_step(struct rw_conn *c)
{
	struct rw_proxy *px = c->px;
	struct rw_fast *f = c->fast;
	rw_conn_wake(c);
	px->fast_current = f;
	if (f->connecting) {
		fast_on_connect_step(c);
		if (px->fast_current != f)
			return; /* it ended (rw_fast_free) */
	}
	struct rw_leg *legs[2] = {&c->client, &c->server};
	for (int i = 0; i < 2; i++) {
		struct rw_leg *to = legs[i];
		if (f->wr_on[to->rx] && f->wr_ok[to->rx] && !fast_write(c, to))
			return;
	}
	for (int i = 0; i < 2; i++) {
		struct rw_leg *from = legs[i];
		/* Bytes and the FIN (or an error) behind them: both this turn. */
		for (int reads = f->hup[from->rx] ? 2 : 1;
		     reads-- > 0 && f->rd_on[from->rx] && f->rd_ok[from->rx];)
			if (!rw_fast_read(c, from))
				return;
	}
	px->fast_current = NULL;
	if (wants(f))
		fast_queue(c);
}

/* A round begins: what is queued from now on runs in it (no kick), unless
 * it ran in it already. */
static void fast_round_begin(struct rw_proxy *px)
{
	px->fast_running = true;
	px->fast_round++;
}

static void fast_run(struct rw_proxy *px)
{
	struct rw_fast *f;
	while ((f = TAILQ_FIRST(&px->fast_run)) != NULL) {
		fast_unqueue(px, f);
		f->ran = px->fast_round;
		fast_step(f->conn);
	}
	px->fast_running = false;
	if (!TAILQ_EMPTY(&px->fast_later)) {
		TAILQ_CONCAT(&px->fast_run, &px->fast_later, run);
		TAILQ_FOREACH(f, &px->fast_run, run)
		{
			f->queued = 1;
		}
		evtimer_add(px->fast_kick, &next_turn);
	}
}

static void fast_on_kick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	fast_round_begin(arg);
	fast_run(arg);
}

static void fast_dispatch(evutil_socket_t fd, short what, void *arg)
{
	struct rw_proxy *px = arg;
	struct epoll_event evs[256];
	(void)what;
	fast_round_begin(px);
	int n = epoll_wait(fd, evs, (int)(sizeof(evs) / sizeof(evs[0])), 0);
	for (int i = 0; i < n; i++) {
		struct rw_leg *l = evs[i].data.ptr;
		struct rw_fast *f = l->conn->fast;
		uint32_t u = evs[i].events;
		if (!f)
			continue;
		if (u & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
			f->rd_ok[l->rx] = true;
		if (u & (EPOLLERR | EPOLLHUP | EPOLLRDHUP))
			f->hup[l->rx] = true;
		if (u & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			f->wr_ok[l->rx] = true;
		if (wants(f))
			fast_queue(l->conn);
	}
	fast_run(px);
}

/* The worker's epoll set for its fast relay, made with its first
 * connection. false: errno set. */
static bool fast_loop(struct rw_proxy *px)
{
	if (px->fast_ev)
		return true;
	TAILQ_INIT(&px->fast_run);
	TAILQ_INIT(&px->fast_later);
	px->fast_ep = epoll_create1(EPOLL_CLOEXEC);
	if (px->fast_ep < 0)
		return false;
	px->fast_ev = event_new(px->base, px->fast_ep, EV_READ | EV_PERSIST, fast_dispatch, px);
	px->fast_kick = evtimer_new(px->base, fast_on_kick, px);
	if (!px->fast_ev || !px->fast_kick || event_add(px->fast_ev, NULL) < 0) {
		if (px->fast_ev)
			event_free(px->fast_ev);
		if (px->fast_kick)
			event_free(px->fast_kick);
		px->fast_ev = px->fast_kick = NULL;
		close(px->fast_ep);
		errno = ENOMEM;
		return false;
	}
	return true;
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
	if (px->fast_ev) {
		event_free(px->fast_ev);
		event_free(px->fast_kick);
		px->fast_ev = px->fast_kick = NULL;
		close(px->fast_ep);
	}
}

void rw_fast_free(struct rw_conn *c)
{
	struct rw_fast *f = c->fast;
	if (!f)
		return;
	/* Its legs leave the epoll set with their close(2). */
	fast_unqueue(c->px, f);
	if (c->px->fast_current == f)
		c->px->fast_current = NULL;
	for (int d = 0; d < 2; d++) {
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
	/* Full (short or refused): its room will make an edge. */
	if (k > 0 ? (size_t)k < n : k < 0 && blocked(errno))
		to->conn->fast->wr_ok[to->rx] = false;
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
		if (n < 0 && blocked(errno)) {
			c->fast->wr_ok[to->rx] = false;
			break;
		}
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
		/* The pipe is empty (a direction is read only once what it read
		 * was written), so EAGAIN says the socket is: a short splice may
		 * have filled the pipe's slots, and leaves rd_ok set. */
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
		size_t want = direct ? cap : p->buf_cap - p->off - p->len;
		n = recv(from->fd, b, want, 0);
		err = n < 0 ? errno : 0;
		/* A short read emptied the socket: its next bytes make an edge.
		 * Not its FIN if that came with them (the edge was spent): a leg
		 * whose events said so is read until recv(2) says 0. */
		if (n > 0 && (size_t)n < want && !c->fast->hup[from->rx])
			c->fast->rd_ok[from->rx] = false;
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
		if (blocked(err)) {
			c->fast->rd_ok[from->rx] = false;
			return true;
		}
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

/* The fast relay's state for a connection whose legs have their fds (the
 * server's maybe connecting), its client leg watched. false: logged. */
bool rw_fast_new(struct rw_conn *c)
{
	struct rw_proxy *px = c->px;
	struct rw_fast *f = calloc(1, sizeof(*f));
	if (!f || !fast_loop(px)) {
		/* calloc's ENOMEM, or epoll_create1's (EMFILE...). */
		rw_logerr(&px->log, LOG_ERR, "conn %llu: fast relay", (unsigned long long)c->id);
		free(f);
		return false;
	}
	f->conn = c;
	for (int i = 0; i < 2; i++)
		f->pump[i].pipe[0] = f->pump[i].pipe[1] = -1;
	c->fast = f;
	if (!leg_poll(c, &c->client, false)) {
		rw_logerr(&px->log, LOG_ERR, "conn %llu: epoll_ctl", (unsigned long long)c->id);
		free(f);
		c->fast = NULL;
		return false;
	}
	return true;
}

bool rw_fast_connecting(struct rw_conn *c, event_callback_fn cb)
{
	struct rw_fast *f = c->fast;
	f->connecting = true;
	f->on_connect = cb;
	if (leg_poll(c, &c->server, true))
		return true;
	rw_logerr(&c->px->log, LOG_ERR, "conn %llu: epoll_ctl", (unsigned long long)c->id);
	return false;
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
	if (!leg_poll(c, &c->server, false)) {
		rw_logerr(&c->px->log, LOG_WARNING, "conn %llu: epoll_ctl",
		          (unsigned long long)c->id);
		/* Stays on the bufferevents: its client leg leaves the set. */
		epoll_ctl(c->px->fast_ep, EPOLL_CTL_DEL, c->client.fd, NULL);
		rw_fast_free(c);
		return;
	}
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
