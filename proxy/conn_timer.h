/* A connection's idle timer, for relay.c and inspect.c: the timeout
 * restarts on every byte, but the libevent timer is set again only when it
 * would otherwise fire late. With precise timers each evtimer_add of the
 * earliest timer is a timerfd_settime(2): one per read of a busy
 * connection. A timer that fires before the deadline (it was set for an
 * earlier one) is set again for what is left, so a timeout never fires
 * early either. */
#ifndef RDPWHY_CONN_TIMER_H
#define RDPWHY_CONN_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "config.h"
#include "session.h"

struct rw_conn_timer {
	struct event *ev;     /* NULL: not made (out of memory) */
	uint64_t deadline_us; /* monotonic, 0 = no timeout */
	uint64_t due_us;      /* what ev is set for: the deadline or earlier */
};

/* false: out of memory (t->ev NULL). */
bool rw_conn_timer_new(struct rw_conn_timer *t, struct event_base *base, event_callback_fn cb,
                       void *arg);
void rw_conn_timer_free(struct rw_conn_timer *t);
/* The timeout is ms from now (0: none). */
void rw_conn_timer_arm_ms(struct rw_conn_timer *t, unsigned ms);
/* In the timer's callback: true when the deadline has come; false when
 * bytes moved it since, and the timer is set for what is left. */
bool rw_conn_timer_due(struct rw_conn_timer *t);

/* The idle timeout of a set-up phase (x224_timeout, tls_timeout, ...;
 * idle_timeout once established), in ms, 0 = none. */
unsigned rw_phase_timeout_ms(const struct rw_proxy_config *cfg, enum rw_phase ph);

#endif
