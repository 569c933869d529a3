/* The output thread and its queue. See outputs.h.
 *
 * One mutex guards the queue; an eventfd wakes the output thread's loop.
 * Reloads and counter requests travel in the same queue as records, so they
 * apply in order. Only the output thread touches its event base and the
 * output set once the thread runs. */
#include "outputs.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "clock.h"
#include "outset.h"
#include "rw_types.h"
#include "session.h"
#include "summary.h"

#define COUNTERS_PERIOD_S  300
#define FLUSH_POLL_MS      100
#define BATCH_US           2000
#define DROP_LOG_PERIOD_US 10000000u
/* Record messages the output thread hands back, with their buffers, for the
 * next records: no malloc or free per record, and none across threads (the
 * allocator's lock, contended between the producer and the output thread,
 * was a visible part of a replay). Buffers larger than SPARE_BUF_MAX go. */
#define SPARE_MAX     256
#define SPARE_BUF_MAX (64 * 1024)
/* Sessions handed over whole (rw_outputs_write_session) while the output
 * thread keeps up; past this many waiting, the producer formats them itself
 * as before, so that a stuck output holds compact records, not sessions. */
#define SESSIONS_QUEUED_MAX 256

enum msg_kind { MSG_RECORD, MSG_SESSION, MSG_RELOAD, MSG_COUNTERS };

struct rw_outputs_msg {
	struct rw_outputs_msg *next;
	enum msg_kind kind;
	size_t bytes;            /* counted against the queue bound */
	unsigned slots;          /* MSG_RECORD: formatted for; MSG_RELOAD: to format for */
	struct rw_formatted rec; /* MSG_RECORD; MSG_SESSION: its buffer, for the output thread */
	struct rw_session *sess; /* MSG_SESSION (owned): formatted by the output thread */
	/* rw_outputs_format's: the record's id, to format it again. */
	char id[RW_RECORD_ID_HEX + 1];
	struct rw_proxy_config *cfg; /* MSG_RELOAD (owned) */
};

struct rw_outputs {
	struct rw_log *log;
	struct rw_outputs_opts opts;
	char host[256];

	/* The queue (mu). */
	pthread_mutex_t mu;
	pthread_cond_t room;
	struct rw_outputs_msg *head, **tail;
	size_t queued_bytes;
	unsigned queued_sessions;
	bool stop;
	struct rw_outputs_msg *spare; /* recycled record messages, n_spare of them */
	size_t n_spare;

	/* The producers' side (the proxy's workers: any number of threads). */
	atomic_uint slots; /* formats the current outputs need (set under mu) */
	long pid;
	unsigned char id_key[40]; /* 32 random bytes, then the counter */
	atomic_uint_fast64_t id_counter;
	atomic_uint_fast64_t drop_log_us;

	/* What the records so far add up to (rw_outputs_keep_summary), for
	 * the proxy's SIGUSR1 and stop; sum_mu: any producer thread. */
	pthread_mutex_t sum_mu;
	struct rw_summary *sum;

	/* Counters both sides read. */
	atomic_uint_fast64_t records, queue_drops;

	/* The output thread's side. */
	pthread_t thread;
	bool running;
	int wake_fd;
	struct event_base *base;
	struct event *wake_ev, *batch_ev, *counters_ev, *flush_ev;
	struct rw_outset *set;
	unsigned set_slots; /* the formats set needs */
	unsigned flush_ms;
	uint64_t flush_deadline_us;
	atomic_bool failed;
};

static void put_endpoint(unsigned char *p, const struct rw_endpoint *ep)
{
	p[0] = (unsigned char)ep->family;
	memcpy(p + 1, ep->addr, 16);
	p[17] = (unsigned char)(ep->port >> 8);
	p[18] = (unsigned char)ep->port;
}

/* SHA-256 fetched once: SHA256() makes OpenSSL 3 look it up in its locked
 * method store on every call. Lives as long as the process. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static void sha256(const unsigned char *p, size_t n, unsigned char out[SHA256_DIGEST_LENGTH])
{
	pthread_once(&sha256_once, sha256_fetch);
	if (!sha256_md || !EVP_Digest(p, n, out, NULL, sha256_md, NULL))
		SHA256(p, n, out);
}

static void record_id(struct rw_outputs *o, const struct rw_record *rec,
                      char out[RW_RECORD_ID_HEX + 1])
{
	unsigned char r[SHA256_DIGEST_LENGTH];
	if (o->opts.flow_ids) {
		/* The connection itself: both endpoints and its first timestamp. */
		unsigned char key[2 * 19 + 8];
		put_endpoint(key, &rec->client);
		put_endpoint(key + 19, &rec->server);
		for (int i = 0; i < 8; i++)
			key[38 + i] = (unsigned char)(rec->ts_open_us >> (8 * i));
		sha256(key, sizeof(key), r);
	} else {
		/* A secret drawn once and a counter: unique, unpredictable, and no
		 * system call per record (RAND_bytes checks the pid every time). */
		uint64_t n = atomic_fetch_add_explicit(&o->id_counter, 1, memory_order_relaxed);
		unsigned char key[sizeof(o->id_key)];
		memcpy(key, o->id_key, sizeof(key) - 8);
		memcpy(key + sizeof(key) - 8, &n, 8);
		sha256(key, sizeof(key), r);
	}
	rw_hex(r, RW_RECORD_ID_HEX / 2, out, RW_RECORD_ID_HEX + 1);
}

/* ---- the output thread ------------------------------------------------------ */

static void msg_free(struct rw_outputs_msg *m)
{
	if (m->kind == MSG_RECORD || m->kind == MSG_SESSION)
		rw_buf_free(&m->rec.buf);
	rw_session_free(m->sess);
	free(m->cfg);
	free(m);
}

static uint64_t msg_conn_id(const struct rw_outputs_msg *m)
{
	return m->sess ? rw_session_record(m->sess)->id : m->rec.conn_id;
}

/* A record lost for want of memory to format it: counted as a drop. */
static void drop_unformatted(struct rw_outputs *o, const struct rw_record *rec)
{
	atomic_fetch_add(&o->queue_drops, 1);
	atomic_store(&o->failed, true);
	rw_logx(o->log, LOG_ERR, "conn %llu: out of memory formatting the record (dropped)",
	        (unsigned long long)rec->id);
}

/* A session's record formatted here and the session freed (the event loop
 * that handed it over did neither): m becomes a record message. false: out
 * of memory (the record is lost, counted; m's buffer is gone). */
static bool format_session(struct rw_outputs *o, struct rw_outputs_msg *m)
{
	const struct rw_record *rec = rw_session_record(m->sess);
	char id[RW_RECORD_ID_HEX + 1];
	record_id(o, rec, id);
	bool ok = rw_format_record(rec, o->set_slots, o->host[0] ? o->host : NULL, o->pid, id,
	                           &m->rec) == 0;
	if (!ok)
		drop_unformatted(o, rec);
	rw_session_free(m->sess);
	m->sess = NULL;
	m->kind = MSG_RECORD;
	return ok;
}

/* The written record messages of a batch (linked by next) go back to the
 * spare list, up to SPARE_MAX; the rest are freed. */
static void spare_put(struct rw_outputs *o, struct rw_outputs_msg *list)
{
	pthread_mutex_lock(&o->mu);
	while (list && o->n_spare < SPARE_MAX) {
		struct rw_outputs_msg *m = list;
		list = m->next;
		m->next = o->spare;
		o->spare = m;
		o->n_spare++;
	}
	pthread_mutex_unlock(&o->mu);
	while (list) {
		struct rw_outputs_msg *next = list->next;
		msg_free(list);
		list = next;
	}
}

/* A record message with an empty buffer: a spare one, else a new one. */
static struct rw_outputs_msg *spare_get(struct rw_outputs *o)
{
	pthread_mutex_lock(&o->mu);
	struct rw_outputs_msg *m = o->spare;
	if (m) {
		o->spare = m->next;
		o->n_spare--;
	}
	pthread_mutex_unlock(&o->mu);
	if (!m) {
		m = calloc(1, sizeof(*m));
		if (m)
			rw_buf_init(&m->rec.buf, 0);
	}
	if (m) {
		m->next = NULL;
		m->kind = MSG_RECORD;
		m->sess = NULL;
	}
	return m;
}

static void on_flush_poll(evutil_socket_t fd, short what, void *arg)
{
	struct rw_outputs *o = arg;
	(void)fd;
	(void)what;
	uint64_t left = rw_outset_pending(o->set);
	if (left == 0 || rw_mono_us() >= o->flush_deadline_us) {
		if (left)
			rw_logx(o->log, LOG_WARNING,
			        "outputs: %llu records not delivered yet; they stay spooled and "
			        "are sent first on the next start",
			        (unsigned long long)left);
		event_base_loopbreak(o->base);
		return;
	}
	struct timeval tv = {0, FLUSH_POLL_MS * 1000};
	evtimer_add(o->flush_ev, &tv);
}

/* Woken by the first message of a batch: collect for BATCH_US before
 * taking the queue, so that a busy proxy wakes this thread a few hundred
 * times a second, not once a record. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct rw_outputs *o = arg;
	(void)what;
	uint64_t n;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		rw_logerr(o->log, LOG_ERR, "outputs: wake-up");
	pthread_mutex_lock(&o->mu);
	bool stop = o->stop;
	pthread_mutex_unlock(&o->mu);
	if (stop) {
		/* Nothing more is coming: what is queued goes now, not after
		 * another batch's wait (every replay's last 2 ms). */
		event_del(o->batch_ev);
		event_active(o->batch_ev, EV_TIMEOUT, 0);
		return;
	}
	if (!evtimer_pending(o->batch_ev, NULL)) {
		struct timeval tv = {0, BATCH_US};
		evtimer_add(o->batch_ev, &tv);
	}
}

static void on_batch(evutil_socket_t fd, short what, void *arg)
{
	struct rw_outputs *o = arg;
	(void)fd;
	(void)what;
	pthread_mutex_lock(&o->mu);
	struct rw_outputs_msg *m = o->head;
	o->head = NULL;
	o->tail = &o->head;
	o->queued_bytes = 0;
	o->queued_sessions = 0;
	bool stop = o->stop;
	pthread_cond_broadcast(&o->room);
	pthread_mutex_unlock(&o->mu);
	struct rw_outputs_msg *done = NULL;
	while (m) {
		struct rw_outputs_msg *next = m->next;
		switch (m->kind) {
		case MSG_SESSION:
			/* Formatted, it is written as a record. */
			if (!format_session(o, m)) {
				free(m); /* its buffer went with the failure */
				m = next;
				continue;
			}
			/* fall through */
		case MSG_RECORD:
			rw_outset_write(o->set, &m->rec);
			if (m->rec.buf.cap <= SPARE_BUF_MAX) {
				m->next = done;
				done = m;
				m = next;
				continue;
			}
			break;
		case MSG_RELOAD:
			o->set = rw_outset_reload(o->set, m->cfg);
			o->set_slots = m->slots;
			o->flush_ms = m->cfg->siem_flush_ms;
			break;
		case MSG_COUNTERS:
			rw_outset_flush(o->set);
			rw_outset_log_counters(o->set);
			break;
		}
		msg_free(m);
		m = next;
	}
	spare_put(o, done);
	rw_outset_flush(o->set);
	if (stop && !evtimer_pending(o->flush_ev, NULL)) {
		event_del(o->wake_ev);
		o->flush_deadline_us = rw_mono_us() + (uint64_t)o->flush_ms * 1000;
		on_flush_poll(-1, 0, o);
	}
}

static void log_queue(struct rw_outputs *o);

static void on_counters(evutil_socket_t fd, short what, void *arg)
{
	struct rw_outputs *o = arg;
	(void)fd;
	(void)what;
	log_queue(o);
	rw_outset_log_counters(o->set);
}

static void *thread_main(void *arg)
{
	struct rw_outputs *o = arg;
	/* OpenSSL loads its providers at the first fetch, a few ms: here while
	 * the caller sets up and reads its first packets, not on its path at
	 * the first record or certificate. */
	pthread_once(&sha256_once, sha256_fetch);
	event_base_dispatch(o->base);
	return NULL;
}

/* ---- the caller's side ------------------------------------------------------- */

/* false: not queued, the caller formats it (again): a record formatted for
 * outputs a reload replaced meanwhile, or a session while the output
 * thread is behind. */
static bool enqueue(struct rw_outputs *o, struct rw_outputs_msg *m)
{
	pthread_mutex_lock(&o->mu);
	if ((m->kind == MSG_RECORD && m->slots != atomic_load(&o->slots)) ||
	    (m->kind == MSG_SESSION && o->queued_sessions >= SESSIONS_QUEUED_MAX)) {
		pthread_mutex_unlock(&o->mu);
		return false;
	}
	/* From here on, records are formatted for the new outputs. */
	if (m->kind == MSG_RELOAD)
		atomic_store(&o->slots, m->slots);
	if (m->kind == MSG_RECORD || m->kind == MSG_SESSION) {
		while (o->opts.block_when_full && o->queued_bytes &&
		       o->queued_bytes + m->bytes > RW_OUTPUTS_QUEUE_MAX)
			pthread_cond_wait(&o->room, &o->mu);
		if (o->queued_bytes && o->queued_bytes + m->bytes > RW_OUTPUTS_QUEUE_MAX) {
			pthread_mutex_unlock(&o->mu);
			uint64_t drops = atomic_fetch_add(&o->queue_drops, 1) + 1;
			atomic_store(&o->failed, true);
			uint64_t now = rw_mono_us();
			if (drops == 1 ||
			    now - atomic_load(&o->drop_log_us) >= DROP_LOG_PERIOD_US) {
				rw_logx(o->log, LOG_ERR,
				        "outputs: the output queue is full (outputs slower than "
				        "connections end): record of conn %llu dropped, %llu so "
				        "far",
				        (unsigned long long)msg_conn_id(m),
				        (unsigned long long)drops);
				atomic_store(&o->drop_log_us, now);
			}
			msg_free(m);
			return true;
		}
	}
	/* The output thread takes the whole list when woken: only the first
	 * message of a batch needs to wake it (one write(2), not one a record). */
	bool wake = o->head == NULL;
	m->next = NULL;
	*o->tail = m;
	o->tail = &m->next;
	o->queued_bytes += m->bytes;
	o->queued_sessions += m->kind == MSG_SESSION;
	pthread_mutex_unlock(&o->mu);
	uint64_t one = 1;
	if (wake && write(o->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		rw_logerr(o->log, LOG_ERR, "outputs: cannot wake the output thread");
	return true;
}

/* Counted and summed once, in the order the connections ended. */
static void count_record(struct rw_outputs *o, const struct rw_record *rec)
{
	atomic_fetch_add(&o->records, 1);
	if (o->sum) {
		pthread_mutex_lock(&o->sum_mu);
		rw_summary_add(o->sum, rec); /* out of memory: counted in the totals */
		pthread_mutex_unlock(&o->sum_mu);
	}
}

/* A record message formatted for the outputs in use now; NULL when out of
 * memory (its buffer gone). */
static struct rw_outputs_msg *format_msg(struct rw_outputs *o, const struct rw_record *rec,
                                         const char *id)
{
	struct rw_outputs_msg *m = spare_get(o);
	unsigned slots = atomic_load(&o->slots);
	if (!m ||
	    rw_format_record(rec, slots, o->host[0] ? o->host : NULL, o->pid, id, &m->rec) < 0) {
		free(m); /* rw_format_record freed its buffer */
		return NULL;
	}
	m->kind = MSG_RECORD;
	m->slots = slots;
	m->bytes = m->rec.buf.cap + sizeof(*m);
	return m;
}

/* m: the record's message formatted ahead, or NULL to format it here. */
static void queue_record(struct rw_outputs *o, const struct rw_record *rec, const char *id,
                         struct rw_outputs_msg *m)
{
	for (;;) {
		if (!m && !(m = format_msg(o, rec, id))) {
			drop_unformatted(o, rec);
			return;
		}
		if (enqueue(o, m))
			return;
		/* Another thread's reload changed the outputs meanwhile. */
		msg_free(m);
		m = NULL;
	}
}

static void format_and_queue(struct rw_outputs *o, const struct rw_record *rec)
{
	char id[RW_RECORD_ID_HEX + 1];
	record_id(o, rec, id);
	queue_record(o, rec, id, NULL);
}

void rw_outputs_write(struct rw_outputs *o, const struct rw_record *rec)
{
	count_record(o, rec);
	format_and_queue(o, rec);
}

struct rw_outputs_msg *rw_outputs_format(struct rw_outputs *o, const struct rw_record *rec)
{
	char id[RW_RECORD_ID_HEX + 1];
	record_id(o, rec, id);
	struct rw_outputs_msg *m = format_msg(o, rec, id);
	if (m)
		memcpy(m->id, id, sizeof(m->id));
	return m;
}

void rw_outputs_write_formatted(struct rw_outputs *o, const struct rw_record *rec,
                                struct rw_outputs_msg *m)
{
	if (!m) {
		rw_outputs_write(o, rec);
		return;
	}
	count_record(o, rec);
	char id[RW_RECORD_ID_HEX + 1];
	memcpy(id, m->id, sizeof(id)); /* m may be freed and the record formatted again */
	queue_record(o, rec, id, m);
}

void rw_outputs_write_session(struct rw_outputs *o, struct rw_session *s)
{
	const struct rw_record *rec = rw_session_record(s);
	/* Counted before the hand-over: once queued, the session is the output
	 * thread's. */
	count_record(o, rec);
	struct rw_outputs_msg *m = spare_get(o);
	if (m) {
		m->kind = MSG_SESSION;
		m->sess = s;
		m->bytes = m->rec.buf.cap + sizeof(*m) + sizeof(struct rw_record);
		if (enqueue(o, m))
			return; /* queued, or dropped with the queue full (and freed) */
		m->sess = NULL;
		spare_put(o, m);
	}
	/* The output thread is behind (or no memory for a message): formatted
	 * here, as rw_outputs_write does. */
	format_and_queue(o, rec);
	rw_session_free(s);
}

void rw_outputs_reload(struct rw_outputs *o, const struct rw_proxy_config *cfg)
{
	struct rw_outputs_msg *m = calloc(1, sizeof(*m));
	if (m)
		m->cfg = malloc(sizeof(*cfg));
	if (!m || !m->cfg) {
		free(m);
		rw_logx(o->log, LOG_ERR, "reload: out of memory; outputs unchanged");
		return;
	}
	*m->cfg = *cfg;
	m->kind = MSG_RELOAD;
	m->slots = rw_outset_slots(cfg);
	enqueue(o, m);
}

void rw_outputs_stats(struct rw_outputs *o, struct rw_outputs_stats *st)
{
	st->records = atomic_load(&o->records);
	st->dropped = atomic_load(&o->queue_drops);
	pthread_mutex_lock(&o->mu);
	st->queued = 0;
	for (const struct rw_outputs_msg *m = o->head; m; m = m->next)
		st->queued += m->kind == MSG_RECORD || m->kind == MSG_SESSION;
	st->queued_bytes = o->queued_bytes;
	pthread_mutex_unlock(&o->mu);
}

static void log_queue(struct rw_outputs *o)
{
	struct rw_outputs_stats st;
	rw_outputs_stats(o, &st);
	rw_logx(o->log, LOG_NOTICE,
	        "outputs: records %llu, waiting in the output queue %llu (%llu bytes), dropped "
	        "with the queue full %llu",
	        (unsigned long long)st.records, (unsigned long long)st.queued,
	        (unsigned long long)st.queued_bytes, (unsigned long long)st.dropped);
}

void rw_outputs_log_counters(struct rw_outputs *o)
{
	/* The queue's line now, from here: if the output thread is stuck (a
	 * blocked disk or pipe), it still shows, as a queue that grows. */
	log_queue(o);
	struct rw_outputs_msg *m = calloc(1, sizeof(*m));
	if (!m) {
		rw_logx(o->log, LOG_ERR, "counters: out of memory");
		return;
	}
	m->kind = MSG_COUNTERS;
	enqueue(o, m);
}

void rw_outputs_keep_summary(struct rw_outputs *o)
{
	pthread_mutex_lock(&o->sum_mu);
	if (!o->sum)
		o->sum = rw_summary_new();
	pthread_mutex_unlock(&o->sum_mu);
}

void rw_outputs_log_summary(struct rw_outputs *o, const char *when)
{
	struct rw_buf b;
	rw_buf_init(&b, 0);
	pthread_mutex_lock(&o->sum_mu);
	int rc = o->sum ? rw_summary_text(o->sum, &b, 10) : -1;
	pthread_mutex_unlock(&o->sum_mu);
	if (rc < 0 || !b.data) {
		if (o->sum)
			rw_logx(o->log, LOG_ERR, "summary: out of memory");
		rw_buf_free(&b);
		return;
	}
	/* One log line per line of the text summary: syslog and journald keep
	 * lines, not blocks. */
	rw_logx(o->log, LOG_NOTICE, "summary (%s) follows", when);
	char *save = NULL;
	for (char *l = strtok_r(b.data, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		rw_logx(o->log, LOG_NOTICE, "summary: %s", l);
	rw_buf_free(&b);
}

static void teardown(struct rw_outputs *o)
{
	rw_outset_close(o->set);
	if (o->wake_ev)
		event_free(o->wake_ev);
	if (o->batch_ev)
		event_free(o->batch_ev);
	if (o->counters_ev)
		event_free(o->counters_ev);
	if (o->flush_ev)
		event_free(o->flush_ev);
	if (o->base)
		event_base_free(o->base);
	if (o->wake_fd >= 0)
		close(o->wake_fd);
	while (o->spare) {
		struct rw_outputs_msg *next = o->spare->next;
		msg_free(o->spare);
		o->spare = next;
	}
	pthread_cond_destroy(&o->room);
	pthread_mutex_destroy(&o->mu);
	pthread_mutex_destroy(&o->sum_mu);
	rw_summary_free(o->sum);
	free(o);
}

struct rw_outputs *rw_outputs_open(const struct rw_proxy_config *cfg,
                                   const struct rw_outputs_opts *opts, struct rw_log *log,
                                   char *err, size_t errlen)
{
	struct rw_outputs *o = calloc(1, sizeof(*o));
	if (!o) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	o->log = log;
	o->opts = *opts;
	o->tail = &o->head;
	o->flush_ms = cfg->siem_flush_ms;
	pthread_mutex_init(&o->mu, NULL);
	pthread_mutex_init(&o->sum_mu, NULL);
	pthread_cond_init(&o->room, NULL);
	if (gethostname(o->host, sizeof(o->host) - 1) < 0)
		o->host[0] = 0;
	o->pid = (long)getpid();
	/* The kernel's generator: OpenSSL's (RAND_bytes) would first set up
	 * its own, a millisecond more before the first packet. */
	if (getrandom(o->id_key, 32, 0) != 32 && RAND_bytes(o->id_key, 32) != 1) {
		/* No entropy: still unique on this host (time, pid). */
		uint64_t salt[2] = {rw_mono_us() ^ (uint64_t)time(NULL) << 20, (uint64_t)o->pid};
		SHA256((const unsigned char *)salt, sizeof(salt), o->id_key);
		rw_logx(log, LOG_WARNING,
		        "outputs: no random numbers for record ids; using time and pid");
	}
	o->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	o->base = event_base_new();
	if (o->wake_fd < 0 || !o->base) {
		snprintf(err, errlen, "outputs: cannot create the output thread's loop: %s",
		         strerror(errno));
		goto fail;
	}
	o->wake_ev = event_new(o->base, o->wake_fd, EV_READ | EV_PERSIST, on_wake, o);
	o->batch_ev = evtimer_new(o->base, on_batch, o);
	o->counters_ev = event_new(o->base, -1, EV_PERSIST, on_counters, o);
	o->flush_ev = evtimer_new(o->base, on_flush_poll, o);
	if (!o->wake_ev || !o->batch_ev || !o->counters_ev || !o->flush_ev) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (!(o->set = rw_outset_open(cfg, o->base, log, err, errlen)))
		goto fail;
	o->slots = rw_outset_slots(cfg);
	o->set_slots = o->slots;
	event_add(o->wake_ev, NULL);
	struct timeval period = {COUNTERS_PERIOD_S, 0};
	evtimer_add(o->counters_ev, &period);
	/* Signals are the main thread's business (its event loop, or the
	 * capture loop's flag): the output thread blocks them all. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&o->thread, NULL, thread_main, o);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "outputs: cannot start the output thread: %s", strerror(rc));
		goto fail;
	}
	pthread_setname_np(o->thread, "rdpwhy-out"); /* top -H, perf; cosmetic */
	o->running = true;
	return o;
fail:
	teardown(o);
	return NULL;
}

int rw_outputs_close(struct rw_outputs *o)
{
	if (!o)
		return 0;
	pthread_mutex_lock(&o->mu);
	o->stop = true;
	pthread_mutex_unlock(&o->mu);
	uint64_t one = 1;
	if (write(o->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		rw_logerr(o->log, LOG_ERR, "outputs: cannot wake the output thread");
	if (o->running)
		pthread_join(o->thread, NULL);
	bool failed = atomic_load(&o->failed) || rw_outset_failed(o->set);
	teardown(o);
	return failed ? -1 : 0;
}
