/* The proxy's listening sockets and accepting: private to proxy/ (proxy.c
 * runs them; listeners.c opens, reloads, pauses and closes them). */
#ifndef RDPWHY_LISTENERS_H
#define RDPWHY_LISTENERS_H

#include <stdbool.h>

#include <event2/event.h>

#include "proxy.h"

/* A listener set being applied: what it keeps, opens and has closed. */
struct rw_listen_plan {
	const struct rw_proxy_config *cfg;
	bool transparent;
	struct rw_listener next[RW_CONF_MAX_LISTEN];
	int from[RW_CONF_MAX_LISTEN];          /* kept: index in px->listeners; -1: new */
	bool opened[RW_CONF_MAX_LISTEN];       /* next[j] opened here */
	bool toggled[RW_CONF_MAX_LISTEN];      /* kept, IP_TRANSPARENT switched */
	bool keep[RW_CONF_MAX_LISTEN];         /* px->listeners[i] is kept */
	bool closed_early[RW_CONF_MAX_LISTEN]; /* px->listeners[i] closed to free its port */
	unsigned n_kept, n_opened, n_closed;
};

/* Opens and switches what cfg needs (all or nothing): 0, or -1 with ERR and
 * the running set unchanged. */
int rw_listen_plan_prepare(struct rw_proxy *px, struct rw_listen_plan *p,
                           const struct rw_proxy_config *cfg, char *err, size_t errlen);
/* The new set in place: removed listeners drained and closed. */
void rw_listen_plan_commit(struct rw_proxy *px, struct rw_listen_plan *p);
void rw_listeners_close(struct rw_proxy *px);
/* Accepting on (off: new clients wait in the kernel's backlog). */
void rw_listeners_accepting(struct rw_proxy *px, bool on);
/* px->accept_retry's callback: accepting again after running out of
 * descriptors. */
void rw_listeners_on_retry(evutil_socket_t fd, short what, void *arg);

#endif
