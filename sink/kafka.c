/* The kafka:// output through librdkafka. See kafka.h for the delivery
 * rule and the threads. */
#include "kafka.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "config.h"
#include "kafka_lib.h"

#define TICK_MS        1000
#define BACKOFF_MIN_S  1
#define BACKOFF_MAX_S  60
#define COMMIT_RETRY_S 1 /* after a failed spool commit (a full disk) */
/* Records handed to librdkafka and not yet reported: bounds its memory
 * (well under its own queue.buffering.max.messages) while the brokers are
 * down; the rest wait in the spool. */
#define INFLIGHT_MAX 10000
/* A spooled record is KEY '\n' VALUE: the key survives a restart with the
 * record, and a JSON line holds no raw newline. */
#define KEY_SEP '\n'

enum state { PENDING, DONE, REJECT, RETRY };

struct inflight {
	uint64_t seq;
	enum state state;
};

struct rw_kafka {
	struct event_base *base;
	struct rw_output_spec spec; /* resolved */
	const char *name;           /* spec.target */
	struct rw_log *log;
	struct rw_spool *spool;
	rd_kafka_t *rk;
	rd_kafka_queue_t *mainq;
	int wake_fd[2]; /* librdkafka writes [1] when its main queue stops being empty */
	struct event *wake_ev, *tick, *commit_ev;
	/* Records produced, in spool order; [qhead, qn) still matter. Those
	 * delivered behind one still pending stay here until it is: bounded by
	 * the spool, which cannot let them go either. */
	struct inflight *q;
	size_t qhead, qn, qcap;
	size_t pending;     /* of q: no delivery report yet */
	uint64_t sent_upto; /* highest sequence handed to librdkafka */
	/* A delivery failed for a reason not the record's own: once every
	 * record out has been reported, send again from the oldest one not
	 * delivered, after the back-off. */
	bool resend;
	uint64_t resend_at_us;
	unsigned backoff_s;
	bool fatal;           /* the idempotent producer cannot go on: make a new one */
	bool failing;         /* brokers unreachable (logged; quiet until one works) */
	char last_error[256]; /* librdkafka's last error, for the outage's line */
	bool commit_failing;
	struct rw_buf rec;
	struct rw_sender_stats st;
	uint64_t drops_logged;
};

static void pump(struct rw_kafka *k);

/* ---- delivery reports ---------------------------------------------------------- */

static struct inflight *find(struct rw_kafka *k, uint64_t seq)
{
	size_t lo = k->qhead, hi = k->qn;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (k->q[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < k->qn && k->q[lo].seq == seq ? &k->q[lo] : NULL;
}

/* Moves the record refused for itself aside, if it is still the spool's
 * oldest (drop-oldest may have deleted it meanwhile). */
static void reject(struct rw_kafka *k, uint64_t seq)
{
	uint64_t first, moved;
	if (!rw_spool_next(k->spool, 0, &first) || first != seq)
		return;
	if (rw_spool_reject_first(k->spool, &moved) < 0) {
		rw_logerr(k->log, LOG_ERR, "output %s: cannot set aside record %llu", k->name,
		          (unsigned long long)seq);
		return;
	}
	rw_logx(k->log, LOG_ERR,
	        "output %s: the brokers refuse record %llu for itself; moved to "
	        "%s/" RW_SPOOL_REJECTED "/ and not sent again",
	        k->name, (unsigned long long)moved, k->spec.spool_dir);
}

/* Acknowledges the spool up to the oldest record not delivered: the spool
 * removes records in order only. */
static void advance(struct rw_kafka *k)
{
	uint64_t acked = 0;
	bool any = false;
	while (k->qhead < k->qn) {
		struct inflight *f = &k->q[k->qhead];
		if (f->state == DONE) {
			acked = f->seq;
			any = true;
			k->st.sent++;
		} else if (f->state == REJECT) {
			if (any)
				rw_spool_ack(k->spool, acked);
			any = false;
			reject(k, f->seq);
		} else {
			break;
		}
		k->qhead++;
	}
	if (any)
		rw_spool_ack(k->spool, acked);
	if (k->qhead == k->qn)
		k->qhead = k->qn = 0;
	if (k->resend && k->pending == 0) {
		/* Everything out is reported: start again from the spool's oldest
		 * record. Those delivered behind the failed one go twice. */
		k->qhead = k->qn = 0;
		k->sent_upto = 0;
	}
}

/* Errors that are the record's own: sending it again cannot help. */
static bool record_refused(rd_kafka_resp_err_t e)
{
	/* MSG_SIZE_TOO_LARGE is also librdkafka's own message.max.bytes check. */
	return e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
	       e == RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE || e == RD_KAFKA_RESP_ERR_INVALID_MSG ||
	       e == RD_KAFKA_RESP_ERR_INVALID_RECORD;
}

static bool purged(rd_kafka_resp_err_t e)
{
	return e == RD_KAFKA_RESP_ERR__PURGE_QUEUE || e == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT;
}

static void schedule_resend(struct rw_kafka *k)
{
	if (k->resend)
		return;
	k->resend = true;
	k->resend_at_us = rw_mono_us() + (uint64_t)k->backoff_s * 1000000u;
	k->backoff_s = k->backoff_s * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : k->backoff_s * 2;
}

/* Served by rd_kafka_poll, on the loop's thread. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct rw_kafka *k = opaque;
	(void)rk;
	struct inflight *f = find(k, (uint64_t)(uintptr_t)m->_private);
	if (!f || f->state != PENDING)
		return; /* from before a restart of the sequence: nothing to do */
	k->pending--;
	if (!m->err) {
		f->state = DONE;
		k->backoff_s = BACKOFF_MIN_S;
		if (k->failing)
			rw_logx(k->log, LOG_NOTICE, "output %s: the brokers take records again",
			        k->name);
		k->failing = false;
	} else if (record_refused(m->err)) {
		f->state = REJECT;
	} else if (purged(m->err)) {
		f->state = RETRY; /* ours, stopping the producer: it stays spooled */
	} else {
		f->state = RETRY;
		if (!k->resend) /* one line per round, not one per record of a batch */
			rw_logx(k->log, LOG_WARNING,
			        "output %s: record %llu not delivered: %s; sending again from "
			        "the spool in %u s",
			        k->name, (unsigned long long)f->seq, rd_kafka_err2str(m->err),
			        k->backoff_s);
		schedule_resend(k);
	}
	advance(k);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct rw_kafka *k = opaque;
	char fatal[256];
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
		rw_logx(k->log, LOG_ERR,
		        "output %s: the producer stopped (%s); starting a new one, records stay "
		        "spooled",
		        k->name, fatal);
		k->fatal = true;
		return;
	}
	if (err == RD_KAFKA_RESP_ERR__TRANSPORT)
		k->st.reconnects++;
	/* librdkafka retries by itself: one warning per outage, when the last
	 * broker goes, with the error before it (a refused connection, a TLS
	 * or SASL failure: what to fix); the rest on -v. */
	if (err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
		snprintf(k->last_error, sizeof(k->last_error), "%s", reason);
		rw_logx(k->log, LOG_INFO, "output %s: %s", k->name, reason);
		return;
	}
	struct rw_spool_stats st;
	rw_spool_stats(k->spool, &st);
	rw_logx(k->log, k->failing ? LOG_INFO : LOG_WARNING,
	        "output %s: %s%s%s%s; %llu records spooled, sent when a broker answers", k->name,
	        reason, k->last_error[0] ? " (last: " : "", k->last_error,
	        k->last_error[0] ? ")" : "", (unsigned long long)st.count);
	k->failing = true;
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	struct rw_kafka *k = rd_kafka_opaque(rk);
	(void)level; /* errors that matter come through on_error too */
	rw_logx(k->log, LOG_DEBUG, "output %s: librdkafka %s: %s", k->name, fac, buf);
}

/* ---- the producer -------------------------------------------------------------- */

static int conf_set(rd_kafka_conf_t *c, const char *key, const char *v, char *err, size_t errlen)
{
	char e[256];
	if (rd_kafka_conf_set(c, key, v, e, sizeof(e)) == RD_KAFKA_CONF_OK)
		return 0;
	snprintf(err, errlen, "%s", e);
	return -1;
}

static rd_kafka_conf_t *make_conf(struct rw_kafka *k, char *err, size_t errlen)
{
	const struct rw_output_spec *s = &k->spec;
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	const char *key = s->key_file[0] ? s->key_file : s->cert_file;
	/* librdkafka's own default is GSSAPI, which a user and a password
	 * cannot do. */
	bool sasl =
	        s->security == RW_KAFKA_SEC_SASL_PLAINTEXT || s->security == RW_KAFKA_SEC_SASL_SSL;
	const char *mechanism = s->sasl_mechanism[0] ? s->sasl_mechanism : sasl ? "PLAIN" : "";
	struct {
		const char *key, *value;
	} set[] = {
	        {"bootstrap.servers", s->brokers},
	        {"client.id", "rdpwhy"},
	        /* The delivery report then means every in-sync replica has it,
	         * and librdkafka's own retries neither lose nor reorder nor
	         * duplicate within a session. */
	        {"acks", "all"},
	        {"enable.idempotence", "true"},
	        /* Retry for as long as it takes: the spool bounds what waits. */
	        {"message.timeout.ms", "0"},
	        {"log.queue", "true"},
	        {"security.protocol", rw_kafka_security_name(s->security)},
	        {"ssl.ca.location", s->ca_file},
	        {"ssl.certificate.location", s->cert_file},
	        {"ssl.key.location", s->cert_file[0] ? key : ""},
	        {"sasl.mechanism", mechanism},
	        {"sasl.username", s->sasl_username},
	        {"sasl.password", s->sasl_password},
	};
	for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++) {
		if (!set[i].value[0])
			continue; /* librdkafka's default */
		if (conf_set(c, set[i].key, set[i].value, err, errlen) < 0) {
			rd_kafka_conf_destroy(c);
			return NULL;
		}
	}
	rd_kafka_conf_set_opaque(c, k);
	rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
	rd_kafka_conf_set_error_cb(c, on_error);
	rd_kafka_conf_set_log_cb(c, on_log);
	return c;
}

/* Drops what librdkafka holds (it is all still spooled) and frees it. */
static void stop_producer(struct rw_kafka *k)
{
	if (!k->rk)
		return;
	rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	if (k->mainq) {
		rd_kafka_queue_io_event_enable(k->mainq, -1, NULL, 0);
		rd_kafka_queue_destroy(k->mainq);
	}
	k->mainq = NULL;
	rd_kafka_poll(k->rk, 0); /* the purged records' reports: they stay spooled */
	rd_kafka_destroy(k->rk);
	k->rk = NULL;
	k->qhead = k->qn = 0;
	k->pending = 0;
	k->sent_upto = 0;
	k->resend = false;
}

static int start_producer(struct rw_kafka *k, char *err, size_t errlen)
{
	char e[512];
	rd_kafka_conf_t *c = make_conf(k, e, sizeof(e));
	if (!c) {
		snprintf(err, errlen, "output %s: %s", k->name, e);
		return -1;
	}
	/* librdkafka's threads (this one starts them, and they start the rest)
	 * take no signals: those are the main thread's (its loop, or the
	 * capture loop's flag and EINTR). rd_kafka_new owns c from here on
	 * success, not on failure. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof(e));
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!k->rk) {
		rd_kafka_conf_destroy(c);
		snprintf(err, errlen, "output %s: %s", k->name, e);
		return -1;
	}
	k->mainq = rd_kafka_queue_get_main(k->rk);
	if (!k->mainq || rd_kafka_set_log_queue(k->rk, NULL) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, errlen, "output %s: cannot take librdkafka's queue", k->name);
		stop_producer(k);
		return -1;
	}
	rd_kafka_queue_io_event_enable(k->mainq, k->wake_fd[1], "1", 1);
	k->fatal = false;
	return 0;
}

/* ---- the loop's events --------------------------------------------------------- */

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct rw_kafka *k = arg;
	(void)what;
	char buf[64];
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	if (k->rk)
		rd_kafka_poll(k->rk, 0);
	pump(k);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct rw_kafka *k = arg;
	(void)fd;
	(void)what;
	if (k->fatal) {
		char err[RW_CONF_ERR];
		stop_producer(k);
		if (start_producer(k, err, sizeof(err)) < 0)
			rw_logx(k->log, LOG_ERR, "%s; trying again in %d ms", err, TICK_MS);
	}
	if (k->rk)
		rd_kafka_poll(k->rk, 0); /* in case a wake-up was missed */
	if (k->resend && k->pending == 0 && rw_mono_us() >= k->resend_at_us)
		k->resend = false;
	pump(k);
	struct timeval tv = {TICK_MS / 1000, (TICK_MS % 1000) * 1000};
	evtimer_add(k->tick, &tv);
}

static int push_inflight(struct rw_kafka *k, uint64_t seq, enum state st)
{
	if (k->qn == k->qcap) {
		if (k->qhead) {
			memmove(k->q, k->q + k->qhead, (k->qn - k->qhead) * sizeof(*k->q));
			k->qn -= k->qhead;
			k->qhead = 0;
		}
		if (k->qn == k->qcap) {
			size_t cap = k->qcap ? k->qcap * 2 : 256;
			struct inflight *q = realloc(k->q, cap * sizeof(*q));
			if (!q)
				return -1;
			k->q = q;
			k->qcap = cap;
		}
	}
	k->q[k->qn++] = (struct inflight){seq, st};
	if (st == PENDING)
		k->pending++;
	return 0;
}

/* Hands spooled records to librdkafka, oldest first, within bounds. */
static void pump(struct rw_kafka *k)
{
	uint64_t seq;
	while (k->rk && !k->resend && !k->fatal && k->pending < INFLIGHT_MAX &&
	       rw_spool_next(k->spool, k->sent_upto, &seq)) {
		const char *sep = NULL;
		if (rw_spool_read(k->spool, seq, &k->rec) == 0)
			sep = memchr(k->rec.data, KEY_SEP, k->rec.len);
		if (!sep) {
			/* Unreadable or not ours: set aside in its turn, not resent. */
			rw_logx(k->log, LOG_ERR, "output %s: spooled record %llu unreadable",
			        k->name, (unsigned long long)seq);
			if (push_inflight(k, seq, REJECT) < 0)
				goto nomem;
			k->sent_upto = seq;
			advance(k);
			continue;
		}
		size_t keylen = (size_t)(sep - k->rec.data);
		if (push_inflight(k, seq, PENDING) < 0)
			goto nomem;
		rd_kafka_resp_err_t e = rd_kafka_producev(
		        k->rk, RD_KAFKA_V_TOPIC(k->spec.topic), RD_KAFKA_V_KEY(k->rec.data, keylen),
		        RD_KAFKA_V_VALUE(k->rec.data + keylen + 1, k->rec.len - keylen - 1),
		        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		        RD_KAFKA_V_OPAQUE((void *)(uintptr_t)seq), RD_KAFKA_V_END);
		if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
			k->sent_upto = seq;
			continue;
		}
		/* Not taken: no report will come for it. */
		k->qn--;
		k->pending--;
		if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
			return; /* the next report or tick sends on */
		if (record_refused(e)) {
			if (push_inflight(k, seq, REJECT) < 0)
				goto nomem;
			k->sent_upto = seq;
			advance(k);
			continue;
		}
		rw_logx(k->log, LOG_WARNING, "output %s: cannot produce record %llu: %s", k->name,
		        (unsigned long long)seq, rd_kafka_err2str(e));
		if (e == RD_KAFKA_RESP_ERR__FATAL)
			k->fatal = true;
		else
			schedule_resend(k);
		return;
	}
	return;
nomem:
	rw_logx(k->log, LOG_ERR, "output %s: out of memory; trying again in %d ms", k->name,
	        TICK_MS);
}

/* Makes the spool's batch durable, then sends it: only durable records are
 * handed out, so nothing is sent that a crash could unsay. */
static void on_commit(evutil_socket_t fd, short what, void *arg)
{
	struct rw_kafka *k = arg;
	(void)fd;
	(void)what;
	if (rw_spool_commit(k->spool) < 0) {
		if (!k->commit_failing)
			rw_logerr(k->log, LOG_ERR,
			          "output %s: cannot write to the spool; records are kept in "
			          "memory, not sent, and tried again every %d s",
			          k->name, COMMIT_RETRY_S);
		k->commit_failing = true;
		struct timeval tv = {COMMIT_RETRY_S, 0};
		evtimer_add(k->commit_ev, &tv);
		return;
	}
	if (k->commit_failing)
		rw_logx(k->log, LOG_NOTICE, "output %s: the spool takes records again", k->name);
	k->commit_failing = false;
	pump(k);
}

/* ---- the API ------------------------------------------------------------------- */

int rw_kafka_available(const char *target, char *err, size_t errlen)
{
	char e[RW_CONF_ERR];
	if (rw_kafka_lib_load(e, sizeof(e)) == 0)
		return 0;
	snprintf(err, errlen, "output %s: %s", target, e);
	return -1;
}

struct rw_kafka *rw_kafka_new(struct event_base *base, const struct rw_output_spec *spec,
                              const char *user, struct rw_log *log, char *err, size_t errlen)
{
	struct rw_kafka *k = calloc(1, sizeof(*k));
	if (!k) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	k->base = base;
	k->spec = *spec;
	k->name = k->spec.target;
	k->log = log;
	k->backoff_s = BACKOFF_MIN_S;
	k->wake_fd[0] = k->wake_fd[1] = -1;
	rw_buf_init(&k->rec, 0);
	if (!spec->spool_dir[0] || !spec->topic[0]) {
		snprintf(err, errlen, "output %s: needs a topic and a spool directory", k->name);
		goto fail;
	}
	char e[RW_CONF_ERR];
	if (rw_kafka_available(k->name, err, errlen) < 0)
		goto fail;
	k->spool = rw_spool_open(spec->spool_dir, spec->spool_max,
	                         (enum rw_spool_policy)spec->spool_policy, e, sizeof(e));
	if (!k->spool) {
		snprintf(err, errlen, "output %s: %s", k->name, e);
		goto fail;
	}
	if (user && *user) {
		errno = 0;
		struct passwd *pw = getpwnam(user);
		if (!pw || rw_spool_chown(k->spool, pw->pw_uid, pw->pw_gid) < 0) {
			snprintf(err, errlen, "output %s: cannot give the spool to %s: %s", k->name,
			         user, pw ? strerror(errno) : "no such user");
			goto fail;
		}
	}
	if (pipe2(k->wake_fd, O_NONBLOCK | O_CLOEXEC) < 0) {
		snprintf(err, errlen, "output %s: pipe: %s", k->name, strerror(errno));
		goto fail;
	}
	k->wake_ev = event_new(base, k->wake_fd[0], EV_READ | EV_PERSIST, on_wake, k);
	k->tick = evtimer_new(base, on_tick, k);
	k->commit_ev = evtimer_new(base, on_commit, k);
	if (!k->wake_ev || !k->tick || !k->commit_ev) {
		snprintf(err, errlen, "output %s: out of memory", k->name);
		goto fail;
	}
	if (start_producer(k, err, errlen) < 0)
		goto fail;
	event_add(k->wake_ev, NULL);
	struct timeval tv = {TICK_MS / 1000, (TICK_MS % 1000) * 1000};
	evtimer_add(k->tick, &tv);
	struct rw_spool_stats st;
	rw_spool_stats(k->spool, &st);
	if (st.torn)
		rw_logx(log, LOG_WARNING,
		        "output %s: spool %s: %llu torn tails cut off (a crash in mid-write; "
		        "never reported spooled)",
		        k->name, spec->spool_dir, (unsigned long long)st.torn);
	if (st.count)
		rw_logx(log, LOG_NOTICE,
		        "output %s: %llu records left in the spool %s, sending first", k->name,
		        (unsigned long long)st.count, spec->spool_dir);
	pump(k);
	return k;
fail:
	rw_kafka_free(k);
	return NULL;
}

static void note_drops(struct rw_kafka *k)
{
	struct rw_sender_stats st;
	rw_kafka_stats(k, &st);
	if (st.dropped <= k->drops_logged)
		return;
	/* One line per tenfold: a full spool under load does not flood the log. */
	if (k->drops_logged == 0 || st.dropped >= k->drops_logged * 10) {
		rw_logx(k->log, LOG_WARNING, "output %s: spool full (%s): %llu records dropped",
		        k->name,
		        k->spec.spool_policy == RW_SPOOL_DROP_OLDEST ? "drop-oldest"
		                                                     : "drop-newest",
		        (unsigned long long)st.dropped);
		k->drops_logged = st.dropped;
	}
}

void rw_kafka_submit(struct rw_kafka *k, const char *key, size_t keylen, const char *value,
                     size_t len)
{
	k->st.emitted++;
	rw_buf_reset(&k->rec);
	uint64_t seq;
	int rc = -1;
	if (rw_buf_append(&k->rec, key, keylen) == 0 && rw_buf_putc(&k->rec, KEY_SEP) == 0 &&
	    rw_buf_append(&k->rec, value, len) == 0)
		rc = rw_spool_put(k->spool, k->rec.data, k->rec.len, &seq);
	if (rc < 0) {
		k->st.dropped++;
		rw_logerr(k->log, LOG_ERR, "output %s: cannot spool a record (dropped)", k->name);
	} else if (rc == 0 && !evtimer_pending(k->commit_ev, NULL)) {
		/* Commit when the loop is next idle: one fsync for the batch. */
		struct timeval now = {0, 0};
		evtimer_add(k->commit_ev, &now);
	}
	note_drops(k);
}

void rw_kafka_stats(const struct rw_kafka *k, struct rw_sender_stats *out)
{
	*out = k->st;
	if (k->spool) {
		struct rw_spool_stats sp;
		rw_spool_stats(k->spool, &sp);
		out->spooled = sp.spooled;
		out->dropped += sp.dropped;
		out->rejected = sp.rejected;
		out->queued = sp.count;
	}
}

void rw_kafka_free(struct rw_kafka *k)
{
	if (!k)
		return;
	stop_producer(k);
	if (k->wake_ev)
		event_free(k->wake_ev);
	if (k->tick)
		event_free(k->tick);
	if (k->commit_ev)
		event_free(k->commit_ev);
	/* What is still in the batch: durable now, sent by the next start. */
	if (k->spool && rw_spool_commit(k->spool) < 0)
		rw_logerr(k->log, LOG_ERR,
		          "output %s: records lost: cannot write the spool's last batch", k->name);
	if (k->spool)
		note_drops(k);
	for (int i = 0; i < 2; i++)
		if (k->wake_fd[i] >= 0)
			close(k->wake_fd[i]);
	rw_spool_close(k->spool);
	rw_buf_free(&k->rec);
	free(k->q);
	free(k);
}
