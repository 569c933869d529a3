/* The proxy's life: listeners, accepting (paused when out of descriptors),
 * signals (TERM/INT: drain then stop; HUP: reload; USR1: counters), and the
 * grace period. Listeners and accepting are in listeners.c, connections in
 * relay.c. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>

#include "pcap_queue.h"
#include "inspect_tls.h"
#include "listeners.h"
#include "proxy.h"

static void finish_if_done(struct rw_proxy *px);

uint64_t rw_proxy_next_id(struct rw_proxy *px)
{
	struct rw_proxy *m = px->main ? px->main : px;
	return atomic_fetch_add_explicit(&m->next_id, 1, memory_order_relaxed) + 1;
}

void rw_proxy_conn_closed(struct rw_proxy *px)
{
	if (px->at_limit && !px->stopping) {
		px->at_limit = false;
		rw_listeners_accepting(px, true);
	}
	if (px->accept_paused && !px->stopping) {
		if (px->reserve_fd < 0)
			px->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (px->reserve_fd >= 0) {
			px->accept_paused = false;
			rw_listeners_accepting(px, true);
		}
	}
	if (px->stopping && px->stats.active == 0)
		finish_if_done(px);
}

/* The workers' counters added up (px's own with one worker). */
struct stats_sum {
	unsigned long long accepted, refused_loop, upstream_failed, closed, active, fast, spliced;
};

static void stats_add(struct stats_sum *t, const struct rw_stats *s)
{
	t->accepted += atomic_load_explicit(&s->accepted, memory_order_relaxed);
	t->refused_loop += atomic_load_explicit(&s->refused_loop, memory_order_relaxed);
	t->upstream_failed += atomic_load_explicit(&s->upstream_failed, memory_order_relaxed);
	t->closed += atomic_load_explicit(&s->closed, memory_order_relaxed);
	t->active += atomic_load_explicit(&s->active, memory_order_relaxed);
	t->fast += atomic_load_explicit(&s->fast, memory_order_relaxed);
	t->spliced += atomic_load_explicit(&s->spliced, memory_order_relaxed);
}

static struct stats_sum stats_total(const struct rw_proxy *px)
{
	struct stats_sum t = {0};
	if (!px->team) {
		stats_add(&t, &px->stats);
		return t;
	}
	for (unsigned i = 0; i < px->team->n; i++)
		stats_add(&t, &px->team->w[i]->stats);
	return t;
}

static void log_counters(struct rw_proxy *px)
{
	struct stats_sum t = stats_total(px);
	rw_logx(&px->log, LOG_NOTICE,
	        "counters: accepted %llu, active %llu, closed %llu, upstream failures %llu, "
	        "loops refused %llu",
	        t.accepted, t.active, t.closed, t.upstream_failed, t.refused_loop);
	for (unsigned i = 0; px->team && i < px->team->n; i++) {
		struct stats_sum w = {0};
		stats_add(&w, &px->team->w[i]->stats);
		rw_logx(&px->log, LOG_NOTICE,
		        "worker %u: accepted %llu, active %llu, closed %llu, upstream failures "
		        "%llu, loops refused %llu",
		        i, w.accepted, w.active, w.closed, w.upstream_failed, w.refused_loop);
	}
	rw_logx(&px->log, LOG_NOTICE, "fast relay: %llu connections, %llu bytes spliced", t.fast,
	        t.spliced);
	rw_outputs_log_counters(px->outputs);
	rw_pcapq_log_counters(px->pcapq, &px->log);
}

/* ---- workers ---------------------------------------------------------------
 * The main thread (worker 0) handles the signals and tells the others over
 * a pipe each: 'T' stop accepting and drain, 'G' close everything now, 'H'
 * apply the configuration in team->next_cfg. A worker whose loop ended
 * (drained or closed) writes 'D' to the main's pipe; the main's loop ends
 * once its own connections and every worker are done. A worker that applied
 * (or refused) a reload writes 'R'. */

static bool tell(struct rw_proxy *w, char cmd)
{
	if (w->cmd[1] >= 0 && write(w->cmd[1], &cmd, 1) == 1)
		return true;
	rw_logerr(&w->log, LOG_ERR, "worker %u: command '%c' lost", w->worker, cmd);
	return false;
}

/* How many workers were told. */
static unsigned tell_workers(struct rw_proxy *px, char cmd)
{
	unsigned told = 0;
	for (unsigned i = 1; px->team && i < px->team->n; i++)
		told += tell(px->team->w[i], cmd);
	return told;
}

/* Stopping and no connection left: this worker's loop ends (the main's
 * once every worker's did). */
static void finish_if_done(struct rw_proxy *px)
{
	if (px->worker == 0 && px->team && px->team->done + 1 < px->team->n)
		return;
	event_base_loopexit(px->base, NULL);
}

static void on_grace_over(evutil_socket_t fd, short what, void *arg)
{
	struct rw_proxy *px = arg;
	(void)fd;
	(void)what;
	if (px->worker == 0)
		tell_workers(px, 'G');
	rw_logx(&px->log, LOG_NOTICE, "grace period over: closing %llu connections",
	        (unsigned long long)px->stats.active);
	rw_conn_abort_all(px);
	rw_inspect_abort_all(px);
	/* The main's loop ends here: the workers, told, end theirs at once. */
	event_base_loopexit(px->base, NULL);
}

/* Not accepting any more; the loop ends when the last connection does, or
 * when the grace period is over. */
static void stop_accepting(struct rw_proxy *px)
{
	px->stopping = true;
	rw_listeners_close(px);
	if (px->stats.active == 0) {
		finish_if_done(px);
		return;
	}
	struct timeval tv = {px->cfg.grace_ms / 1000, (px->cfg.grace_ms % 1000) * 1000};
	evtimer_add(px->grace_timer, &tv);
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
	tell_workers(px, 'T');
	rw_logx(&px->log, LOG_NOTICE,
	        "signal %d: not accepting; %llu connections open, grace %u ms", (int)sig,
	        stats_total(px).active, px->cfg.grace_ms);
	stop_accepting(px);
}

/* "A, B, C" */
static void listener_list(const struct rw_proxy *px, char *out, size_t outlen)
{
	size_t off = 0;
	out[0] = '\0';
	for (size_t i = 0; i < px->n_listeners && off < outlen; i++) {
		if (!px->listeners[i].lev)
			continue;
		int n = snprintf(out + off, outlen - off, "%s%s", off ? ", " : "",
		                 px->listeners[i].where.text);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/* SIGHUP: the configuration built again from the file and the flags
 * (conf/), applied as a whole or not at all. Open connections keep their
 * legs, sessions and outputs; new ones get the new listeners, upstream and
 * timeouts. The outputs are reopened either way (logrotate). */
static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct rw_proxy *px = arg;
	(void)sig;
	(void)what;
	char err[RW_CONF_ERR];
	char where[512];
	struct rw_proxy_config *next = malloc(sizeof(*next));
	struct rw_listen_plan *plan = malloc(sizeof(*plan));
	struct sockaddr_storage up = px->upstream;
	socklen_t up_len = px->upstream_len;
	if (px->stopping)
		goto keep_outputs;
	if (!next || !plan) {
		rw_logx(&px->log, LOG_ERR,
		        "reload: out of memory; keeping the running configuration");
		goto keep_outputs;
	}
	if (rw_config_build(&px->src, next, err, sizeof(err)) < 0 ||
	    (next->mode == RW_UPSTREAM_FIXED &&
	     rw_upstream_resolve(next, &up, &up_len, err, sizeof(err)) < 0)) {
		rw_logx(&px->log, LOG_ERR, "reload: %s; keeping the running configuration", err);
		goto keep_outputs;
	}
	if (rw_listen_plan_prepare(px, plan, next, err, sizeof(err)) < 0) {
		listener_list(px, where, sizeof(where));
		rw_logx(&px->log, LOG_ERR,
		        "reload: %s; keeping the running configuration, still listening on %s", err,
		        where);
		goto keep_outputs;
	}
	if (strcmp(next->user, px->cfg.user) != 0)
		rw_logx(&px->log, LOG_WARNING,
		        "reload: user = '%s' takes effect at the next start (running as '%s')",
		        next->user, px->cfg.user);
	if (strcmp(next->inspect_cert, px->cfg.inspect_cert) ||
	    strcmp(next->inspect_key, px->cfg.inspect_key) || strcmp(next->keylog, px->cfg.keylog))
		rw_logx(&px->log, LOG_WARNING,
		        "reload: inspect_cert, inspect_key and keylog take effect at the next "
		        "start");
	px->cfg = *next;
	px->upstream = up;
	px->upstream_len = up_len;
	rw_listen_plan_commit(px, plan);
	if (px->team) {
		/* The other workers apply it to their own listeners. */
		pthread_mutex_lock(&px->team->mu);
		*px->team->next_cfg = *next;
		px->team->next_upstream = up;
		px->team->next_upstream_len = up_len;
		pthread_mutex_unlock(&px->team->mu);
	}
	rw_outputs_reload(px->outputs, &px->cfg);
	listener_list(px, where, sizeof(where));
	char said[RW_RELOAD_LINE];
	snprintf(said, sizeof(said),
	         "configuration reloaded: listening on %.500s (%u kept, %u opened, %u closed)",
	         where, plan->n_kept, plan->n_opened, plan->n_closed);
	/* With workers the line waits for each one's 'R' (a later reload's line
	 * replaces a waiting one: it is said once all have applied both). */
	if (px->team) {
		memcpy(px->team->reload_said, said, sizeof(said));
		px->team->reload_acks += tell_workers(px, 'H');
	}
	if (!px->team || px->team->reload_acks == 0)
		rw_logx(&px->log, LOG_NOTICE, "%s", said);
	free(next);
	free(plan);
	return;
keep_outputs:
	/* The same outputs: files are reopened all the same (logrotate). */
	rw_outputs_reload(px->outputs, &px->cfg);
	free(next);
	free(plan);
}

/* 'H' in a worker: the configuration the main thread applied, applied to
 * this worker's listeners (the main's succeeded: these open as it did). */
static void worker_reload(struct rw_proxy *px)
{
	struct rw_proxy_config *next = malloc(sizeof(*next));
	struct rw_listen_plan *plan = malloc(sizeof(*plan));
	char err[RW_CONF_ERR];
	if (!next || !plan || px->stopping) {
		if (!px->stopping)
			rw_logx(&px->log, LOG_ERR, "worker %u: reload: out of memory", px->worker);
		free(next);
		free(plan);
		tell(px->main, 'R');
		return;
	}
	pthread_mutex_lock(&px->team->mu);
	*next = *px->team->next_cfg;
	struct sockaddr_storage up = px->team->next_upstream;
	socklen_t up_len = px->team->next_upstream_len;
	pthread_mutex_unlock(&px->team->mu);
	if (rw_listen_plan_prepare(px, plan, next, err, sizeof(err)) < 0) {
		rw_logx(&px->log, LOG_ERR, "worker %u: reload: %s; its listeners unchanged",
		        px->worker, err);
	} else {
		px->cfg = *next;
		px->upstream = up;
		px->upstream_len = up_len;
		rw_listen_plan_commit(px, plan);
	}
	free(next);
	free(plan);
	tell(px->main, 'R');
}

static void on_cmd(evutil_socket_t fd, short what, void *arg)
{
	struct rw_proxy *px = arg;
	(void)what;
	char cmds[64];
	ssize_t n = read(fd, cmds, sizeof(cmds));
	for (ssize_t i = 0; i < n; i++) {
		switch (cmds[i]) {
		case 'T':
			if (!px->stopping)
				stop_accepting(px);
			break;
		case 'G':
			on_grace_over(-1, 0, px);
			break;
		case 'H':
			worker_reload(px);
			break;
		case 'R': /* the main's pipe: a worker applied the reload */
			if (px->team->reload_acks > 0 && --px->team->reload_acks == 0)
				rw_logx(&px->log, LOG_NOTICE, "%s", px->team->reload_said);
			break;
		case 'D': /* the main's pipe: a worker finished */
			px->team->done++;
			if (px->stopping && px->stats.active == 0)
				finish_if_done(px);
			break;
		default:
			break;
		}
	}
}

static void *worker_main(void *arg)
{
	struct rw_proxy *px = arg;
	event_base_dispatch(px->base);
	rw_listeners_close(px);
	rw_conn_abort_all(px);
	rw_inspect_abort_all(px);
	rw_relay_pools_free(px);
	tell(px->main, 'D');
	return NULL;
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	rw_relay_sweep(arg);
}

static void on_usr1(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	log_counters(arg);
	struct rw_proxy *px = arg;
	rw_outputs_log_summary(px->outputs, "SIGUSR1");
}

/* What every worker's loop runs besides its connections. */
static int loop_events_new(struct rw_proxy *px)
{
	px->grace_timer = evtimer_new(px->base, on_grace_over, px);
	px->accept_retry = evtimer_new(px->base, rw_listeners_on_retry, px);
	px->sweep = event_new(px->base, -1, EV_PERSIST, on_sweep, px);
	if (px->team && px->cmd[0] >= 0) {
		px->cmd_ev = event_new(px->base, px->cmd[0], EV_READ | EV_PERSIST, on_cmd, px);
		if (!px->cmd_ev || event_add(px->cmd_ev, NULL) < 0)
			return -1;
	}
	if (!px->grace_timer || !px->accept_retry || !px->sweep)
		return -1;
	struct timeval second = {1, 0};
	event_add(px->sweep, &second);
	return 0;
}

static void loop_events_free(struct rw_proxy *px)
{
	if (px->grace_timer)
		event_free(px->grace_timer);
	if (px->accept_retry)
		event_free(px->accept_retry);
	if (px->sweep)
		event_free(px->sweep);
	if (px->cmd_ev)
		event_free(px->cmd_ev);
	px->grace_timer = px->accept_retry = px->sweep = px->cmd_ev = NULL;
}

struct event_base *rw_proxy_base_new(bool changelist)
{
	/* Precise timers: libevent otherwise reads a coarse monotonic clock
	 * (ticks of several ms), and a phase timeout could end a connection a
	 * few milliseconds before its time by the records' own clock. */
	struct event_config *ec = event_config_new();
	if (ec)
		event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
	/* epoll changes made in one loop turn are applied together when it
	 * ends: an event enabled and disabled again (a bufferevent's write
	 * event, each time its output empties) costs no epoll_ctl. Safe here:
	 * the proxy never dup()s a descriptor it polls. One worker only: the
	 * removal of a closed descriptor comes after close(), when another
	 * worker's thread may already have that number. */
	if (ec && changelist)
		event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	struct event_base *b = ec ? event_base_new_with_config(ec) : NULL;
	if (ec)
		event_config_free(ec);
	return b;
}

int rw_proxy_workers_new(struct rw_proxy *px, unsigned n, char *err, size_t errlen)
{
	px->main = px;
	px->cmd[0] = px->cmd[1] = -1;
	if (n <= 1)
		return 0;
	struct rw_workers *t = calloc(1, sizeof(*t));
	if (!t || !(t->w = calloc(n, sizeof(*t->w))) ||
	    !(t->threads = calloc(n, sizeof(*t->threads))) ||
	    !(t->next_cfg = malloc(sizeof(*t->next_cfg)))) {
		if (t) {
			free(t->w);
			free(t->threads);
		}
		free(t);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&t->mu, NULL);
	t->n = 1;
	t->w[0] = px;
	px->team = t;
	if (pipe2(px->cmd, O_NONBLOCK | O_CLOEXEC) < 0) {
		snprintf(err, errlen, "workers: pipe: %s", strerror(errno));
		return -1;
	}
	for (unsigned i = 1; i < n; i++) {
		struct rw_proxy *w = calloc(1, sizeof(*w));
		if (!w) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		t->w[t->n++] = w;
		w->worker = i;
		w->main = px;
		w->team = t;
		w->cfg = px->cfg;
		w->log = px->log;
		w->outputs = px->outputs;
		w->pcapq = px->pcapq;
		w->cmd[0] = w->cmd[1] = -1;
		w->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		LIST_INIT(&w->conns);
		if (!(w->base = rw_proxy_base_new(false))) {
			snprintf(err, errlen, "cannot create worker %u's event loop", i);
			return -1;
		}
		if (pipe2(w->cmd, O_NONBLOCK | O_CLOEXEC) < 0) {
			snprintf(err, errlen, "workers: pipe: %s", strerror(errno));
			return -1;
		}
		/* Inspection: contexts of its own (the key log appended to by each). */
		if (px->inspect && rw_inspect_tls_open(&w->cfg, &w->inspect, err, errlen) < 0)
			return -1;
	}
	return 0;
}

void rw_proxy_workers_privs(struct rw_proxy *px)
{
	for (unsigned i = 1; px->team && i < px->team->n; i++)
		px->team->w[i]->privs = px->privs;
}

void rw_proxy_workers_free(struct rw_proxy *px)
{
	struct rw_workers *t = px->team;
	if (!t)
		return;
	for (unsigned i = 1; i < t->n; i++) {
		struct rw_proxy *w = t->w[i];
		rw_listeners_close(w);
		loop_events_free(w);
		if (w->base)
			event_base_free(w->base);
		rw_inspect_tls_free(w->inspect);
		if (w->reserve_fd >= 0)
			close(w->reserve_fd);
		for (int k = 0; k < 2; k++)
			if (w->cmd[k] >= 0)
				close(w->cmd[k]);
		free(w);
	}
	for (int k = 0; k < 2; k++)
		if (px->cmd[k] >= 0)
			close(px->cmd[k]);
	px->cmd[0] = px->cmd[1] = -1;
	pthread_mutex_destroy(&t->mu);
	free(t->next_cfg);
	free(t->w);
	free(t->threads);
	free(t);
	px->team = NULL;
}

int rw_proxy_run(struct rw_proxy *px)
{
	px->sig_term = evsignal_new(px->base, SIGTERM, on_stop, px);
	px->sig_int = evsignal_new(px->base, SIGINT, on_stop, px);
	px->sig_hup = evsignal_new(px->base, SIGHUP, on_hup, px);
	px->sig_usr1 = evsignal_new(px->base, SIGUSR1, on_usr1, px);
	int bad = !px->sig_term || !px->sig_int || !px->sig_hup || !px->sig_usr1;
	unsigned nw = px->team ? px->team->n : 1;
	for (unsigned i = 0; i < nw && !bad; i++)
		bad = loop_events_new(i ? px->team->w[i] : px) < 0;
	if (bad) {
		rw_logx(&px->log, LOG_ERR, "out of memory");
		for (unsigned i = 1; i < nw; i++)
			loop_events_free(px->team->w[i]);
		loop_events_free(px);
		return -1;
	}
	evsignal_add(px->sig_term, NULL);
	evsignal_add(px->sig_int, NULL);
	evsignal_add(px->sig_hup, NULL);
	evsignal_add(px->sig_usr1, NULL);
	/* The other workers' threads: signals are the main thread's alone. */
	unsigned started = 1;
	if (nw > 1) {
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		for (; started < nw; started++) {
			int e = pthread_create(&px->team->threads[started], NULL, worker_main,
			                       px->team->w[started]);
			if (e) {
				rw_logx(&px->log, LOG_ERR, "cannot start worker %u: %s", started,
				        strerror(e));
				break;
			}
			char name[32]; /* a thread's name: 15 bytes at most */
			snprintf(name, sizeof(name), "rdpwhy-px%u", started);
			name[15] = '\0';
			pthread_setname_np(px->team->threads[started], name);
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (started < nw) {
			/* Those started are told to stop; the loop ends with them. */
			for (unsigned i = 1; i < started; i++)
				tell(px->team->w[i], 'G');
			px->team->n = started;
			px->stopping = true;
		}
	}
	/* One line that says the listeners accept and the signals are handled:
	 * what tests and supervisors wait for instead of a sleep. */
	char where[512];
	listener_list(px, where, sizeof(where));
	int rc = -1;
	if (!px->stopping) {
		if (nw > 1)
			rw_logx(&px->log, LOG_NOTICE, "%u workers", nw);
		rw_logx(&px->log, LOG_NOTICE, "ready: listening on %s", where);
		rc = event_base_dispatch(px->base);
	}
	rw_listeners_close(px);
	rw_conn_abort_all(px);
	rw_inspect_abort_all(px);
	rw_relay_pools_free(px);
	/* Every worker ended or was told to end now: wait for them. */
	tell_workers(px, 'G');
	for (unsigned i = 1; i < started; i++)
		pthread_join(px->team->threads[i], NULL);
	log_counters(px);
	rw_outputs_log_summary(px->outputs, "stop");
	event_free(px->sig_term);
	event_free(px->sig_int);
	event_free(px->sig_hup);
	event_free(px->sig_usr1);
	for (unsigned i = 1; i < nw; i++)
		loop_events_free(px->team->w[i]);
	loop_events_free(px);
	return rc < 0 ? -1 : 0;
}
