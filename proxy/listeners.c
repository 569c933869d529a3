/* Listening sockets: opened all or none at start, replaced by a reload
 * plan (kept, opened, drained and closed) at SIGHUP, and accepting paused at
 * max_connections or when out of descriptors. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "listeners.h"
#include "proxy.h"

/* How long accepting stays paused after EMFILE/ENFILE if no connection
 * closes in the meantime. */
#define ACCEPT_RETRY_MS 250

/* The accept queue of a listener (the kernel caps it at net.core.somaxconn):
 * room for a burst of connects while the loop is busy or out of descriptors. */
#define LISTEN_BACKLOG 4096

/* max_connections is split evenly across the workers (each pauses its own
 * listeners at its share): the whole limit with one. */
static uint64_t conn_limit(const struct rw_proxy *px)
{
	unsigned n = px->team ? px->team->n : 1;
	return px->cfg.max_connections ? (px->cfg.max_connections + n - 1) / n : 0;
}

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
	if (conn_limit(px) && px->stats.active >= conn_limit(px) && !px->at_limit) {
		px->at_limit = true;
		rw_listeners_accepting(px, false);
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

void rw_listeners_accepting(struct rw_proxy *px, bool on)
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

void rw_listeners_on_retry(evutil_socket_t fd, short what, void *arg)
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
	rw_listeners_accepting(px, true);
}

/* Out of descriptors: stop accepting (the kernel queues new clients), keep
 * relaying, try again when a connection closes or after a short delay. */
void rw_proxy_accept_pause(struct rw_proxy *px)
{
	if (px->accept_paused)
		return;
	px->accept_paused = true;
	rw_listeners_accepting(px, false);
	if (!px->fd_episode)
		rw_logx(&px->log, LOG_WARNING,
		        "out of file descriptors with %llu connections open: accepting paused",
		        (unsigned long long)px->stats.active);
	px->fd_episode = true;
	struct timeval tv = {0, ACCEPT_RETRY_MS * 1000};
	evtimer_add(px->accept_retry, &tv);
}

/* ---- listeners ------------------------------------------------------------
 * A reload keeps every listener whose address, port, scope and IPv6-only
 * setting are unchanged (the same socket: nothing waiting in its accept
 * queue is lost; IP_TRANSPARENT is switched on the socket when the mode
 * changed), opens the new ones before the removed ones close, and drains a
 * removed listener's accept queue before closing it. Anything that fails
 * undoes what was done: the running listeners stay as they were. */

static int set_transparent(int fd, int fam, bool on)
{
	int v = on;
	int level = fam == AF_INET6 ? SOL_IPV6 : SOL_IP;
	int opt = fam == AF_INET6 ? IPV6_TRANSPARENT : IP_TRANSPARENT;
	return setsockopt(fd, level, opt, &v, sizeof(v));
}

/* Opens a listening socket for `where` into *l (not yet in px->listeners;
 * the caller raises privileges around it). */
static int open_listener(struct rw_proxy *px, struct rw_listener *l, const struct rw_listen *where,
                         bool transparent, char *err, size_t errlen)
{
	int fam = where->addr.ss_family;
	const char *step = "socket";
	int one = 1;
	int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Every worker listens on the same address: the kernel spreads the
	 * connections over their sockets. */
	step = "SO_REUSEPORT";
	if (px->team && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto fail;
	if (fam == AF_INET6) {
		/* "[::]:P" is IPv6 only, so that "0.0.0.0:P" can sit beside it;
		 * ":P" / "P" take both. */
		int v6only = !where->dual_stack;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
	}
	/* TPROXY delivers connections for addresses that are not local. */
	step = fam == AF_INET6 ? "IPV6_TRANSPARENT" : "IP_TRANSPARENT";
	if (transparent && set_transparent(fd, fam, true) < 0)
		goto fail;
	step = "bind";
	if (bind(fd, (const struct sockaddr *)&where->addr, where->addr_len) < 0)
		goto fail;
	step = "listen";
	if (listen(fd, LISTEN_BACKLOG) < 0)
		goto fail;
	l->px = px;
	l->where = *where;
	l->transparent = transparent;
	/* Backlog 0: listen() was called above. -1 would call it again with
	 * libevent's 128, and a burst of clients would overflow the queue (their
	 * handshakes then complete only as SYN-ACKs are retransmitted, seconds
	 * later). */
	l->tuned = rw_relay_tune_listener(&px->cfg, fd) == 0;
	l->lev = evconnlistener_new(px->base, on_accept, l,
	                            LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (!l->lev) {
		snprintf(err, errlen, "listen %s: out of memory", where->text);
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	evconnlistener_set_error_cb(l->lev, on_accept_error);
	if (px->worker == 0)
		rw_logx(&px->log, LOG_NOTICE, "listening on %s", where->text);
	else
		rw_logx(&px->log, LOG_DEBUG, "worker %u: listening on %s", px->worker, where->text);
	return 0;
fail:;
	int e = errno;
	snprintf(err, errlen, "listen %s: %s: %s%s", where->text, step, strerror(e),
	         rw_privs_hint(&px->privs, where, transparent, e));
	if (fd >= 0)
		close(fd);
	errno = e;
	return -1;
}

void rw_listeners_close(struct rw_proxy *px)
{
	for (size_t i = 0; i < px->n_listeners; i++) {
		if (px->listeners[i].lev)
			evconnlistener_free(px->listeners[i].lev);
		px->listeners[i].lev = NULL;
	}
	px->n_listeners = 0;
}

/* The same socket can serve both: address, port, scope, IPv6-only. */
static bool same_listen(const struct rw_listen *a, const struct rw_listen *b)
{
	if (a->addr.ss_family != b->addr.ss_family || a->dual_stack != b->dual_stack)
		return false;
	if (a->addr.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)&a->addr, *y = (const void *)&b->addr;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)&a->addr, *y = (const void *)&b->addr;
	return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
	       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
}

static uint16_t listen_port(const struct rw_listen *l)
{
	if (l->addr.ss_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)&l->addr)->sin_port;
	return ((const struct sockaddr_in6 *)(const void *)&l->addr)->sin6_port;
}

/* Accepts what waits in a listener about to close (a removed address), as
 * far as the limits allow, so that those clients are served, not reset. */
static void drain_listener(struct rw_proxy *px, struct rw_listener *l)
{
	int fd = evconnlistener_get_fd(l->lev);
	unsigned n = 0;
	while (!px->accept_paused && !(conn_limit(px) && px->stats.active >= conn_limit(px))) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int c = accept4(fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0)
			break;
		rw_conn_accept(px, c, (struct sockaddr *)&peer, len, l);
		n++;
	}
	if (n)
		rw_logx(&px->log, LOG_INFO, "%s: %u waiting connections accepted before closing",
		        l->where.text, n);
}

static void plan_undo(struct rw_proxy *px, struct rw_listen_plan *p)
{
	char err[RW_CONF_ERR];
	for (size_t j = 0; j < p->cfg->n_listen; j++) {
		if (p->opened[j] && p->next[j].lev) {
			evconnlistener_free(p->next[j].lev);
			p->next[j].lev = NULL;
		}
		if (p->toggled[j]) {
			struct rw_listener *old = &px->listeners[p->from[j]];
			set_transparent(evconnlistener_get_fd(old->lev), old->where.addr.ss_family,
			                old->transparent);
		}
	}
	for (size_t i = 0; i < px->n_listeners; i++) {
		if (!p->closed_early[i])
			continue;
		struct rw_listener *old = &px->listeners[i];
		struct rw_listen where = old->where;
		if (open_listener(px, old, &where, old->transparent, err, sizeof(err)) < 0) {
			old->lev = NULL;
			rw_logx(&px->log, LOG_CRIT, "reload: cannot listen again: %s", err);
		}
	}
}

/* Opens and switches what cfg needs; nothing is closed except a removed
 * listener whose port a new one needs (an address or IPv6-only change on
 * the same port). -1 with the message in err, everything undone. */
int rw_listen_plan_prepare(struct rw_proxy *px, struct rw_listen_plan *p,
                           const struct rw_proxy_config *cfg, char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	p->transparent = cfg->mode == RW_UPSTREAM_TPROXY;
	for (size_t j = 0; j < cfg->n_listen; j++) {
		p->from[j] = -1;
		for (size_t i = 0; i < px->n_listeners; i++) {
			if (p->keep[i] || !px->listeners[i].lev ||
			    !same_listen(&px->listeners[i].where, &cfg->listen[j]))
				continue;
			p->from[j] = (int)i;
			p->keep[i] = true;
			p->n_kept++;
			break;
		}
	}
	bool deferred[RW_CONF_MAX_LISTEN] = {false};
	int rc = 0;
	rw_privs_raise(&px->privs);
	for (size_t j = 0; j < cfg->n_listen && rc == 0; j++) {
		if (p->from[j] >= 0) {
			struct rw_listener *old = &px->listeners[p->from[j]];
			if (old->transparent == p->transparent)
				continue;
			if (set_transparent(evconnlistener_get_fd(old->lev),
			                    old->where.addr.ss_family, p->transparent) < 0) {
				int e = errno;
				snprintf(err, errlen, "listen %s: %s %s: %s%s", cfg->listen[j].text,
				         old->where.addr.ss_family == AF_INET6 ? "IPV6_TRANSPARENT"
				                                               : "IP_TRANSPARENT",
				         p->transparent ? "on" : "off", strerror(e),
				         rw_privs_hint(&px->privs, &cfg->listen[j], p->transparent,
				                       e));
				rc = -1;
				break;
			}
			p->toggled[j] = true;
			continue;
		}
		if (open_listener(px, &p->next[j], &cfg->listen[j], p->transparent, err, errlen) ==
		    0) {
			p->opened[j] = true;
			continue;
		}
		if (errno == EADDRINUSE)
			for (size_t i = 0; i < px->n_listeners; i++)
				if (!p->keep[i] && px->listeners[i].lev &&
				    listen_port(&px->listeners[i].where) ==
				            listen_port(&cfg->listen[j]))
					deferred[j] = true;
		if (!deferred[j])
			rc = -1;
	}
	/* A new listener that collides with a removed one on the same port: the
	 * removed one closes first (its queue drained), then the new one opens. */
	for (size_t j = 0; j < cfg->n_listen && rc == 0; j++) {
		if (!deferred[j])
			continue;
		for (size_t i = 0; i < px->n_listeners; i++) {
			struct rw_listener *old = &px->listeners[i];
			if (p->keep[i] || !old->lev ||
			    listen_port(&old->where) != listen_port(&cfg->listen[j]))
				continue;
			rw_logx(&px->log, LOG_WARNING,
			        "reload: %s replaces %s on the same port: closing the old socket "
			        "first",
			        cfg->listen[j].text, old->where.text);
			drain_listener(px, old);
			evconnlistener_free(old->lev);
			old->lev = NULL;
			p->closed_early[i] = true;
		}
		if (open_listener(px, &p->next[j], &cfg->listen[j], p->transparent, err, errlen) <
		    0)
			rc = -1;
		else
			p->opened[j] = true;
	}
	if (rc < 0)
		plan_undo(px, p);
	rw_privs_lower(&px->privs);
	for (size_t j = 0; j < cfg->n_listen; j++)
		p->n_opened += p->opened[j];
	return rc;
}

/* The new set in place: removed listeners drained and closed, the kept and
 * opened ones in px->listeners, accepting as the limits allow. */
void rw_listen_plan_commit(struct rw_proxy *px, struct rw_listen_plan *p)
{
	for (size_t i = 0; i < px->n_listeners; i++) {
		struct rw_listener *old = &px->listeners[i];
		if (p->keep[i] || p->closed_early[i] || !old->lev)
			continue;
		drain_listener(px, old);
		evconnlistener_free(old->lev);
		old->lev = NULL;
		/* Said once, as "listening on" is: every worker closes its own. */
		if (px->worker == 0)
			rw_logx(&px->log, LOG_NOTICE, "no longer listening on %s", old->where.text);
		else
			rw_logx(&px->log, LOG_DEBUG, "worker %u: no longer listening on %s",
			        px->worker, old->where.text);
		p->n_closed++;
	}
	for (size_t i = 0; i < px->n_listeners; i++)
		p->n_closed += p->closed_early[i];
	for (size_t j = 0; j < p->cfg->n_listen; j++) {
		if (p->from[j] < 0)
			continue;
		struct rw_listener *old = &px->listeners[p->from[j]];
		p->next[j].lev = old->lev;
		p->next[j].transparent = p->transparent;
		if (old->transparent != p->transparent && px->worker == 0)
			rw_logx(&px->log, LOG_NOTICE, "%s: IP_TRANSPARENT %s",
			        p->cfg->listen[j].text, p->transparent ? "on" : "off");
		if (px->worker == 0)
			rw_logx(&px->log, LOG_INFO, "still listening on %s (the same socket)",
			        p->cfg->listen[j].text);
	}
	px->n_listeners = p->cfg->n_listen;
	for (size_t j = 0; j < px->n_listeners; j++) {
		struct rw_listener *l = &px->listeners[j];
		*l = p->next[j];
		l->px = px;
		l->where = p->cfg->listen[j];
		/* The new keepalive and timeouts for the connections it accepts. */
		l->tuned = rw_relay_tune_listener(p->cfg, evconnlistener_get_fd(l->lev)) == 0;
		evconnlistener_set_cb(l->lev, on_accept, l);
	}
	bool full = conn_limit(px) && px->stats.active >= conn_limit(px);
	px->at_limit = full;
	rw_listeners_accepting(px, !full && !px->accept_paused);
}

int rw_proxy_listen(struct rw_proxy *px, char *err, size_t errlen)
{
	if (px->cfg.mode == RW_UPSTREAM_FIXED &&
	    rw_upstream_resolve(&px->cfg, &px->upstream, &px->upstream_len, err, errlen) < 0)
		return -1;
	struct rw_listen_plan *p = malloc(sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = rw_listen_plan_prepare(px, p, &px->cfg, err, errlen);
	if (rc == 0)
		rw_listen_plan_commit(px, p);
	/* The other workers: the same addresses, sockets of their own. */
	for (unsigned i = 1; rc == 0 && px->team && i < px->team->n; i++) {
		struct rw_proxy *w = px->team->w[i];
		w->upstream = px->upstream;
		w->upstream_len = px->upstream_len;
		rc = rw_listen_plan_prepare(w, p, &w->cfg, err, errlen);
		if (rc == 0)
			rw_listen_plan_commit(w, p);
	}
	free(p);
	return rc;
}
