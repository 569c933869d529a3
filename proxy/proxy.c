/* The proxy's life: listeners, accepting (paused when out of descriptors),
 * signals (TERM/INT: drain then stop; HUP: reload; USR1: counters), and the
 * grace period. Connections themselves live in relay.c. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "proxy.h"

/* How long accepting stays paused after EMFILE/ENFILE if no connection
 * closes in the meantime. */
#define ACCEPT_RETRY_MS 250

static void set_accepting(struct rw_proxy *px, bool on);

static void on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
	struct rw_listener *l = arg;
	struct rw_proxy *px = l->px;
	(void)lev;
	if (px->fd_episode) {
		px->fd_episode = false;
		rw_logx(&px->log, LOG_NOTICE, "accepting connections again");
	}
	rw_conn_accept(px, fd, sa, (socklen_t)salen, l);
	/* At the limit, new clients wait in the kernel's backlog. */
	if (px->cfg.max_connections && px->stats.active >= px->cfg.max_connections &&
	    !px->at_limit) {
		px->at_limit = true;
		set_accepting(px, false);
		rw_logx(&px->log, LOG_NOTICE, "max_connections (%u) reached: accepting paused",
		        px->cfg.max_connections);
	}
}

static void on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct rw_listener *l = arg;
	int err = EVUTIL_SOCKET_ERROR();
	(void)lev;
	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		rw_proxy_accept_pause(l->px);
		return;
	}
	errno = err;
	rw_logerr(&l->px->log, LOG_WARNING, "accept on %s", l->where.text);
}

static void set_accepting(struct rw_proxy *px, bool on)
{
	for (size_t i = 0; i < px->n_listeners; i++) {
		if (!px->listeners[i].lev)
			continue;
		if (on)
			evconnlistener_enable(px->listeners[i].lev);
		else
			evconnlistener_disable(px->listeners[i].lev);
	}
}

static void on_accept_retry(evutil_socket_t fd, short what, void *arg)
{
	struct rw_proxy *px = arg;
	(void)fd;
	(void)what;
	if (!px->accept_paused || px->stopping)
		return;
	if (px->reserve_fd < 0)
		px->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (px->reserve_fd < 0) {
		struct timeval tv = {0, ACCEPT_RETRY_MS * 1000};
		evtimer_add(px->accept_retry, &tv);
		return;
	}
	px->accept_paused = false;
	set_accepting(px, true);
}

/* Out of descriptors: stop accepting (the kernel queues new clients), keep
 * relaying, try again when a connection closes or after a short delay. */
void rw_proxy_accept_pause(struct rw_proxy *px)
{
	if (px->accept_paused)
		return;
	px->accept_paused = true;
	set_accepting(px, false);
	if (!px->fd_episode)
		rw_logx(&px->log, LOG_WARNING,
		        "out of file descriptors with %llu connections open: accepting paused",
		        (unsigned long long)px->stats.active);
	px->fd_episode = true;
	struct timeval tv = {0, ACCEPT_RETRY_MS * 1000};
	evtimer_add(px->accept_retry, &tv);
}

void rw_proxy_conn_closed(struct rw_proxy *px)
{
	if (px->at_limit && !px->stopping) {
		px->at_limit = false;
		set_accepting(px, true);
	}
	if (px->accept_paused && !px->stopping) {
		if (px->reserve_fd < 0)
			px->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (px->reserve_fd >= 0) {
			px->accept_paused = false;
			set_accepting(px, true);
		}
	}
	if (px->stopping && px->stats.active == 0)
		event_base_loopexit(px->base, NULL);
}

static int open_listener(struct rw_proxy *px, const struct rw_listen *where, char *err,
                         size_t errlen)
{
	int fam = where->addr.ss_family;
	int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "listen %s: socket: %s", where->text, strerror(errno));
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fam == AF_INET6) {
		/* "[::]:P" is IPv6 only, so that "0.0.0.0:P" can sit beside it;
		 * ":P" / "P" take both. */
		int v6only = !where->dual_stack;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
	}
	if (px->cfg.mode == RW_UPSTREAM_TPROXY) {
		/* TPROXY delivers connections for addresses that are not local. */
		int level = fam == AF_INET6 ? SOL_IPV6 : SOL_IP;
		int opt = fam == AF_INET6 ? IPV6_TRANSPARENT : IP_TRANSPARENT;
		if (setsockopt(fd, level, opt, &one, sizeof(one)) < 0) {
			snprintf(err, errlen, "listen %s: IP_TRANSPARENT: %s (needs CAP_NET_ADMIN)",
			         where->text, strerror(errno));
			close(fd);
			return -1;
		}
	}
	if (bind(fd, (const struct sockaddr *)&where->addr, where->addr_len) < 0 ||
	    listen(fd, 511) < 0) {
		snprintf(err, errlen, "listen %s: %s", where->text, strerror(errno));
		close(fd);
		return -1;
	}
	struct rw_listener *l = &px->listeners[px->n_listeners];
	l->px = px;
	l->where = *where;
	l->lev = evconnlistener_new(px->base, on_accept, l, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (!l->lev) {
		snprintf(err, errlen, "listen %s: out of memory", where->text);
		close(fd);
		return -1;
	}
	evconnlistener_set_error_cb(l->lev, on_accept_error);
	px->n_listeners++;
	rw_logx(&px->log, LOG_NOTICE, "listening on %s", where->text);
	return 0;
}

static void close_listeners(struct rw_proxy *px)
{
	for (size_t i = 0; i < px->n_listeners; i++) {
		if (px->listeners[i].lev)
			evconnlistener_free(px->listeners[i].lev);
		px->listeners[i].lev = NULL;
	}
	px->n_listeners = 0;
}

int rw_proxy_listen(struct rw_proxy *px, char *err, size_t errlen)
{
	if (px->cfg.mode == RW_UPSTREAM_FIXED &&
	    rw_upstream_resolve(&px->cfg, &px->upstream, &px->upstream_len, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < px->cfg.n_listen; i++) {
		if (open_listener(px, &px->cfg.listen[i], err, errlen) < 0) {
			close_listeners(px);
			return -1;
		}
	}
	return 0;
}

static void log_counters(struct rw_proxy *px)
{
	rw_logx(&px->log, LOG_NOTICE,
	        "counters: accepted %llu, active %llu, closed %llu, upstream failures %llu, "
	        "loops refused %llu",
	        (unsigned long long)px->stats.accepted, (unsigned long long)px->stats.active,
	        (unsigned long long)px->stats.closed, (unsigned long long)px->stats.upstream_failed,
	        (unsigned long long)px->stats.refused_loop);
	rw_outputs_log_counters(px->outputs);
}

static void on_grace_over(evutil_socket_t fd, short what, void *arg)
{
	struct rw_proxy *px = arg;
	(void)fd;
	(void)what;
	rw_logx(&px->log, LOG_NOTICE, "grace period over: closing %llu connections",
	        (unsigned long long)px->stats.active);
	rw_conn_abort_all(px);
	event_base_loopexit(px->base, NULL);
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct rw_proxy *px = arg;
	(void)what;
	if (px->stopping) {
		rw_logx(&px->log, LOG_NOTICE, "second signal %d: closing now", (int)sig);
		on_grace_over(-1, 0, px);
		return;
	}
	px->stopping = true;
	close_listeners(px);
	rw_logx(&px->log, LOG_NOTICE,
	        "signal %d: not accepting; %llu connections open, grace %u ms", (int)sig,
	        (unsigned long long)px->stats.active, px->cfg.grace_ms);
	if (px->stats.active == 0) {
		event_base_loopexit(px->base, NULL);
		return;
	}
	struct timeval tv = {px->cfg.grace_ms / 1000, (px->cfg.grace_ms % 1000) * 1000};
	evtimer_add(px->grace_timer, &tv);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct rw_proxy *px = arg;
	(void)sig;
	(void)what;
	char err[RW_CONF_ERR];
	struct rw_proxy_config next;
	if (px->stopping || rw_proxy_reload_config(px, &next, err, sizeof(err)) < 0) {
		if (!px->stopping)
			rw_logx(&px->log, LOG_ERR, "reload: %s; keeping the running configuration",
			        err);
		/* The same outputs: files are reopened all the same (logrotate). */
		rw_outputs_reload(px->outputs, &px->cfg);
		return;
	}
	/* Open connections keep their legs, sessions and outputs; new ones get
	 * the new listeners, upstream and timeouts. */
	struct rw_proxy_config old = px->cfg;
	struct sockaddr_storage old_up = px->upstream;
	socklen_t old_up_len = px->upstream_len;
	close_listeners(px);
	px->cfg = next;
	if (rw_proxy_listen(px, err, sizeof(err)) < 0) {
		rw_logx(&px->log, LOG_ERR, "reload: %s; restoring the previous listeners", err);
		px->cfg = old;
		px->upstream = old_up;
		px->upstream_len = old_up_len;
		if (rw_proxy_listen(px, err, sizeof(err)) < 0)
			rw_logx(&px->log, LOG_CRIT, "reload: cannot listen again: %s", err);
		rw_outputs_reload(px->outputs, &px->cfg);
		return;
	}
	rw_outputs_reload(px->outputs, &px->cfg);
	rw_logx(&px->log, LOG_NOTICE, "configuration reloaded");
}

static void on_usr1(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	log_counters(arg);
}

int rw_proxy_run(struct rw_proxy *px)
{
	px->sig_term = evsignal_new(px->base, SIGTERM, on_stop, px);
	px->sig_int = evsignal_new(px->base, SIGINT, on_stop, px);
	px->sig_hup = evsignal_new(px->base, SIGHUP, on_hup, px);
	px->sig_usr1 = evsignal_new(px->base, SIGUSR1, on_usr1, px);
	px->grace_timer = evtimer_new(px->base, on_grace_over, px);
	px->accept_retry = evtimer_new(px->base, on_accept_retry, px);
	if (!px->sig_term || !px->sig_int || !px->sig_hup || !px->sig_usr1 || !px->grace_timer ||
	    !px->accept_retry) {
		rw_logx(&px->log, LOG_ERR, "out of memory");
		return -1;
	}
	evsignal_add(px->sig_term, NULL);
	evsignal_add(px->sig_int, NULL);
	evsignal_add(px->sig_hup, NULL);
	evsignal_add(px->sig_usr1, NULL);
	/* One line that says the listeners accept and the signals are handled:
	 * what tests and supervisors wait for instead of a sleep. */
	char where[512] = "";
	size_t off = 0;
	for (size_t i = 0; i < px->n_listeners && off < sizeof(where); i++) {
		int n = snprintf(where + off, sizeof(where) - off, "%s%s", i ? ", " : "",
		                 px->listeners[i].where.text);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	rw_logx(&px->log, LOG_NOTICE, "ready: listening on %s", where);
	int rc = event_base_dispatch(px->base);
	close_listeners(px);
	rw_conn_abort_all(px);
	log_counters(px);
	event_free(px->sig_term);
	event_free(px->sig_int);
	event_free(px->sig_hup);
	event_free(px->sig_usr1);
	event_free(px->grace_timer);
	event_free(px->accept_retry);
	return rc < 0 ? -1 : 0;
}
