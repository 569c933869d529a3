/* A connection's idle timer (conn_timer.h says why it is lazy). */
#include <sys/time.h>

#include "clock.h"
#include "conn_timer.h"

bool rw_conn_timer_new(struct rw_conn_timer *t, struct event_base *base, event_callback_fn cb,
                       void *arg)
{
	t->deadline_us = t->due_us = 0;
	t->ev = evtimer_new(base, cb, arg);
	return t->ev != NULL;
}

void rw_conn_timer_free(struct rw_conn_timer *t)
{
	if (t->ev)
		event_free(t->ev);
	t->ev = NULL;
}

static void set(struct rw_conn_timer *t, uint64_t now, uint64_t us)
{
	struct timeval tv = {(time_t)(us / 1000000), (suseconds_t)(us % 1000000)};
	/* libevent counts from the time it cached when this loop turn began,
	 * which can be milliseconds before the accept or the byte this timer
	 * follows (stamped with the clock): a timeout must never fire early. */
	event_base_update_cache_time(event_get_base(t->ev));
	evtimer_add(t->ev, &tv);
	t->due_us = now + us;
}

void rw_conn_timer_arm_ms(struct rw_conn_timer *t, unsigned ms)
{
	if (ms == 0) {
		evtimer_del(t->ev);
		t->deadline_us = 0;
		return;
	}
	uint64_t now = rw_mono_us();
	t->deadline_us = now + (uint64_t)ms * 1000;
	if (evtimer_pending(t->ev, NULL) && t->due_us <= t->deadline_us)
		return;
	set(t, now, (uint64_t)ms * 1000);
}

bool rw_conn_timer_due(struct rw_conn_timer *t)
{
	uint64_t now = rw_mono_us();
	if (t->deadline_us > now) {
		set(t, now, t->deadline_us - now);
		return false;
	}
	return true;
}

unsigned rw_phase_timeout_ms(const struct rw_proxy_config *cfg, enum rw_phase ph)
{
	switch (ph) {
	case RW_PHASE_TCP_CONNECT:
	case RW_PHASE_X224:
		return cfg->x224_timeout_ms;
	case RW_PHASE_TLS_HANDSHAKE:
		return cfg->tls_timeout_ms;
	case RW_PHASE_NLA:
		return cfg->nla_timeout_ms;
	case RW_PHASE_RDP:
		return cfg->rdp_timeout_ms;
	default:
		return cfg->idle_timeout_ms;
	}
}
