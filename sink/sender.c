/* Syslog senders: TCP/TLS with an on-disk spool, UDP best-effort. See
 * sender.h for the delivery rule. */
#include "sender.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "clock.h"
#include "config.h"
#include "syslog5424.h"

#define BACKOFF_MIN_S 1
#define BACKOFF_MAX_S 60
#define TICK_MS       100
/* A probing connection waits this long before it sends its one record: a
 * receiver that refuses the session itself (a client certificate it wants,
 * checked after a TLS 1.3 client's handshake is over) hangs up within it,
 * and that must not count against the record. */
#define PROBE_SETTLE_MS 300
#define DEFAULT_HOLD_MS 1000
#define OUT_HIGH        (256 * 1024)      /* bytes queued in the output buffer */
#define UNCONFIRMED_MAX (4 * 1024 * 1024) /* bytes written but not yet confirmed */
#define REJECT_STRIKES  3 /* connections lost on the same record alone: the receiver refuses it */
#define COMMIT_RETRY_S  1 /* after a failed spool commit (a full disk) */

struct inflight {
	uint64_t seq;
	uint64_t end;          /* bytes added to this connection up to the end of its frame */
	uint64_t size;         /* frame bytes */
	uint64_t confirmed_us; /* when the peer had acknowledged it; 0 = not yet */
};

struct rw_sender {
	struct event_base *base;
	struct rw_output_spec spec; /* resolved */
	const char *name;           /* spec.target */
	struct rw_log *log;
	struct evdns_base *dns;
	SSL_CTX *ctx;
	struct rw_spool *spool;
	struct bufferevent *bev;
	bool connected;
	uint64_t added, drained; /* output bytes on this connection */
	uint64_t sent_upto;      /* highest sequence written to this connection */
	struct inflight *q;
	size_t qhead, qn, qcap;
	uint64_t unconfirmed; /* bytes of q not yet confirmed */
	/* After a connection is lost with records unconfirmed, the next one
	 * sends a single record until it is confirmed: if the receiver drops
	 * the connection on that record alone, REJECT_STRIKES times running,
	 * it is a record the receiver will never take (too large for it, say)
	 * and it goes to the spool's rejected/ directory instead of blocking
	 * every record behind it. */
	bool probing;
	uint64_t connected_us;
	uint64_t suspect_seq;
	unsigned strikes;
	struct event *retry, *tick, *drop_timer;
	/* Group commit: records submitted while the loop is busy (the output
	 * thread hands over everything queued at once) go into one spool
	 * batch, made durable with one fsync when the loop is next idle. */
	struct event *commit_ev;
	bool commit_failing; /* logged; quiet until a commit works */
	unsigned backoff_s;
	bool failing; /* last attempt failed (logged; quiet until it works) */
	struct rw_buf msg, frame;
	struct rw_sender_stats st;
	uint64_t drops_logged;
	uint64_t drop_log_us;
	int udp_fd;
};

/* ---- TCP/TLS connection -------------------------------------------------------- */

static void connect_now(struct rw_sender *s);
static void pump(struct rw_sender *s);
static void on_drop_timer(evutil_socket_t fd, short what, void *arg);

static void schedule_retry(struct rw_sender *s)
{
	struct timeval tv = {(time_t)s->backoff_s, 0};
	evtimer_add(s->retry, &tv);
	s->backoff_s = s->backoff_s * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : s->backoff_s * 2;
}

/* Closes the connection; every message not yet confirmed stays spooled and is
 * sent again on the next connection. */
static void drop_connection(struct rw_sender *s)
{
	if (s->bev)
		bufferevent_free(s->bev);
	s->bev = NULL;
	s->connected = false;
	s->added = s->drained = 0;
	s->sent_upto = 0;
	s->qhead = s->qn = 0;
	s->unconfirmed = 0;
	evtimer_del(s->tick);
}

/* A connection was lost: what was unconfirmed is suspect (see probing) —
 * unless the receiver refused the TLS session itself with an alert (a client
 * certificate it requires, a protocol version): in TLS 1.3 that comes after
 * our handshake completed and the first record went out, and it says nothing
 * about the record. */
static void note_lost(struct rw_sender *s, unsigned long tls_err)
{
	if (!s->connected || s->qhead == s->qn)
		return;
	if (tls_err && ERR_GET_LIB(tls_err) == ERR_LIB_SSL &&
	    ERR_GET_REASON(tls_err) >= SSL_AD_REASON_OFFSET)
		return;
	if (!s->probing) {
		s->probing = true;
		return;
	}
	uint64_t seq = s->q[s->qhead].seq;
	if (s->qn - s->qhead != 1 || s->q[s->qhead].confirmed_us)
		return;
	s->strikes = seq == s->suspect_seq ? s->strikes + 1 : 1;
	s->suspect_seq = seq;
	if (s->strikes < REJECT_STRIKES)
		return;
	s->strikes = 0;
	uint64_t size = s->q[s->qhead].size, moved;
	if (rw_spool_reject_first(s->spool, &moved) < 0) {
		rw_logerr(s->log, LOG_ERR, "output %s: cannot set aside record %llu", s->name,
		          (unsigned long long)seq);
		return;
	}
	rw_logx(s->log, LOG_ERR,
	        "output %s: the receiver dropped the connection %d times on record %llu "
	        "(%llu bytes) alone; moved to %s/" RW_SPOOL_REJECTED "/ and not sent again (check "
	        "the receiver's message size limit)",
	        s->name, REJECT_STRIKES, (unsigned long long)moved, (unsigned long long)size,
	        s->spec.spool_dir);
	s->probing = false;
}

/* The TLS error that ended the connection (0 for none; read once: it is
 * taken off libevent's queue). */
static unsigned long tls_error(struct rw_sender *s)
{
	return s->bev && s->spec.kind == RW_OUT_TLS ? bufferevent_get_openssl_error(s->bev) : 0;
}

static void log_failure(struct rw_sender *s, short what, unsigned long e)
{
	char why[256] = "";
	if (s->bev && s->spec.kind == RW_OUT_TLS) {
		SSL *ssl = bufferevent_openssl_get_ssl(s->bev);
		long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
		if (v != X509_V_OK)
			snprintf(why, sizeof(why), "certificate: %s",
			         X509_verify_cert_error_string(v));
		else if (e)
			ERR_error_string_n(e, why, sizeof(why));
	}
	if (!why[0] && s->bev) {
		int dns_err = bufferevent_socket_get_dns_error(s->bev);
		if (dns_err)
			snprintf(why, sizeof(why), "%s", evutil_gai_strerror(dns_err));
	}
	int sock_err = EVUTIL_SOCKET_ERROR();
	if (!why[0])
		snprintf(why, sizeof(why), "%s",
		         (what & BEV_EVENT_EOF) ? "closed by the receiver"
		         : sock_err             ? evutil_socket_error_to_string(sock_err)
		                                : "connection error");
	struct rw_spool_stats st;
	rw_spool_stats(s->spool, &st);
	rw_logx(s->log, s->failing ? LOG_INFO : LOG_WARNING,
	        "output %s: %s%s; %llu records spooled, retry in %u s", s->name,
	        s->connected ? "disconnected: " : "cannot connect: ", why,
	        (unsigned long long)st.count, s->backoff_s);
	s->failing = true;
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct rw_sender *s = arg;
	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		s->connected = true;
		s->connected_us = rw_mono_us();
		s->backoff_s = BACKOFF_MIN_S;
		if (s->failing)
			rw_logx(s->log, LOG_NOTICE, "output %s: connected", s->name);
		else
			rw_logx(s->log, LOG_INFO, "output %s: connected", s->name);
		s->failing = false;
		struct timeval tv = {0, TICK_MS * 1000};
		evtimer_add(s->tick, &tv);
		pump(s);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		unsigned long e = tls_error(s);
		log_failure(s, what, e);
		note_lost(s, e);
		drop_connection(s);
		schedule_retry(s);
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	(void)arg;
	/* A syslog receiver does not talk back; discard whatever it sends. */
	struct evbuffer *in = bufferevent_get_input(bev);
	evbuffer_drain(in, evbuffer_get_length(in));
}

static void on_write(struct bufferevent *bev, void *arg)
{
	(void)bev;
	pump(arg); /* the output buffer emptied: more from the spool */
}

static void on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct rw_sender *s = arg;
	(void)buf;
	s->drained += info->n_deleted;
}

static SSL *new_ssl(struct rw_sender *s)
{
	SSL *ssl = SSL_new(s->ctx);
	if (!ssl)
		return NULL;
	unsigned char addr[16];
	bool is_ip = inet_pton(AF_INET, s->spec.host, addr) == 1 ||
	             inet_pton(AF_INET6, s->spec.host, addr) == 1;
	int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), s->spec.host)
	               : (SSL_set_tlsext_host_name(ssl, s->spec.host) &&
	                  SSL_set1_host(ssl, s->spec.host));
	if (!ok) {
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

static void connect_now(struct rw_sender *s)
{
	drop_connection(s);
	if (s->spec.kind == RW_OUT_TLS) {
		SSL *ssl = new_ssl(s);
		if (ssl)
			s->bev = bufferevent_openssl_socket_new(s->base, -1, ssl,
			                                        BUFFEREVENT_SSL_CONNECTING,
			                                        BEV_OPT_CLOSE_ON_FREE);
		if (ssl && !s->bev)
			SSL_free(ssl);
	} else {
		s->bev = bufferevent_socket_new(s->base, -1, BEV_OPT_CLOSE_ON_FREE);
	}
	if (!s->bev) {
		rw_logx(s->log, LOG_ERR, "output %s: out of memory; retry in %u s", s->name,
		        s->backoff_s);
		schedule_retry(s);
		return;
	}
	bufferevent_setcb(s->bev, on_read, on_write, on_event, s);
	evbuffer_add_cb(bufferevent_get_output(s->bev), on_output, s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect_hostname(s->bev, s->dns, AF_UNSPEC, s->spec.host,
	                                        atoi(s->spec.port)) < 0) {
		/* on_event may already have run and freed the connection */
		if (s->bev && !s->connected) {
			log_failure(s, BEV_EVENT_ERROR, tls_error(s));
			drop_connection(s);
			schedule_retry(s);
		}
	}
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct rw_sender *s = arg;
	(void)fd;
	(void)what;
	s->st.reconnects++;
	connect_now(s);
}

static int push_inflight(struct rw_sender *s, struct inflight f)
{
	if (s->qn == s->qcap) {
		if (s->qhead) {
			memmove(s->q, s->q + s->qhead, (s->qn - s->qhead) * sizeof(*s->q));
			s->qn -= s->qhead;
			s->qhead = 0;
		}
		if (s->qn == s->qcap) {
			size_t cap = s->qcap ? s->qcap * 2 : 256;
			struct inflight *q = realloc(s->q, cap * sizeof(*q));
			if (!q)
				return -1;
			s->q = q;
			s->qcap = cap;
		}
	}
	s->q[s->qn++] = f;
	s->unconfirmed += f.size;
	return 0;
}

/* Writes spooled messages to the connection, oldest first, within bounds. */
static void pump(struct rw_sender *s)
{
	if (!s->connected || !s->bev)
		return;
	if (s->probing && rw_mono_us() - s->connected_us < (uint64_t)PROBE_SETTLE_MS * 1000)
		return; /* on_tick calls again */
	struct evbuffer *out = bufferevent_get_output(s->bev);
	uint64_t seq;
	while (s->unconfirmed < UNCONFIRMED_MAX && evbuffer_get_length(out) < OUT_HIGH &&
	       !(s->probing && s->qhead < s->qn) && rw_spool_next(s->spool, s->sent_upto, &seq)) {
		if (rw_spool_read(s->spool, seq, &s->msg) < 0) {
			rw_logerr(s->log, LOG_ERR, "output %s: spooled record %llu unreadable",
			          s->name, (unsigned long long)seq);
			s->sent_upto = seq; /* stays on disk for an operator; not resent */
			continue;
		}
		rw_buf_reset(&s->frame);
		if (rw_syslog_frame(rw_buf_str(&s->msg), s->msg.len, &s->frame) < 0 ||
		    push_inflight(s, (struct inflight){seq, s->added + s->frame.len, s->frame.len,
		                                       0}) < 0) {
			rw_logx(s->log, LOG_ERR, "output %s: out of memory", s->name);
			return;
		}
		if (bufferevent_write(s->bev, s->frame.data, s->frame.len) < 0) {
			s->qn--;
			s->unconfirmed -= s->frame.len;
			rw_logx(s->log, LOG_ERR, "output %s: out of memory", s->name);
			return;
		}
		s->added += s->frame.len;
		s->sent_upto = seq;
	}
}

/* Confirms what the peer has acknowledged and removes it from the spool
 * once the connection outlived the hold time. */
static void on_tick(evutil_socket_t fd_unused, short what, void *arg)
{
	struct rw_sender *s = arg;
	(void)fd_unused;
	(void)what;
	if (!s->connected || !s->bev)
		return;
	uint64_t now = rw_mono_us();
	int outq = -1;
	int fd = bufferevent_getfd(s->bev);
	if (fd >= 0 && ioctl(fd, SIOCOUTQ, &outq) < 0)
		outq = -1;
	/* Bytes the peer's TCP acknowledged, counted like `end`. Plain TCP: what
	 * left the output buffer went to the kernel as is, so it is what was
	 * written minus what the kernel still holds. TLS: the kernel holds
	 * ciphertext, which does not map onto our bytes: only an empty send
	 * queue confirms, and then everything written. */
	uint64_t peer_acked = 0;
	if (outq >= 0 && s->spec.kind == RW_OUT_TCP)
		peer_acked = s->drained > (uint64_t)outq ? s->drained - (uint64_t)outq : 0;
	else if (outq == 0)
		peer_acked = s->drained;
	for (size_t i = s->qhead; i < s->qn && s->q[i].end <= peer_acked; i++) {
		if (s->q[i].confirmed_us)
			continue;
		s->q[i].confirmed_us = now;
		s->unconfirmed -= s->q[i].size;
	}
	unsigned hold = DEFAULT_HOLD_MS;
	uint64_t acked = 0;
	bool any = false;
	while (s->qhead < s->qn && s->q[s->qhead].confirmed_us &&
	       now - s->q[s->qhead].confirmed_us >= (uint64_t)hold * 1000) {
		acked = s->q[s->qhead].seq;
		any = true;
		s->qhead++;
		s->st.sent++;
	}
	if (s->qhead == s->qn)
		s->qhead = s->qn = 0;
	if (any) {
		rw_spool_ack(s->spool, acked);
		s->probing = false; /* the receiver took a record alone: it is fine */
		s->strikes = 0;
	}
	pump(s);
	struct timeval tv = {0, TICK_MS * 1000};
	evtimer_add(s->tick, &tv);
}

/* Makes the spool's batch durable, then sends it: the spool hands out
 * durable records only, so nothing is sent that a crash could unsay. */
static void on_commit(evutil_socket_t fd, short what, void *arg)
{
	struct rw_sender *s = arg;
	(void)fd;
	(void)what;
	if (rw_spool_commit(s->spool) < 0) {
		struct rw_spool_stats st;
		rw_spool_stats(s->spool, &st);
		if (!s->commit_failing)
			rw_logerr(s->log, LOG_ERR,
			          "output %s: cannot write %llu records to the spool; they are "
			          "kept in memory, not sent, and tried again every %d s; new "
			          "records are dropped while that batch is full",
			          s->name, (unsigned long long)st.pending, COMMIT_RETRY_S);
		s->commit_failing = true;
		struct timeval tv = {COMMIT_RETRY_S, 0};
		evtimer_add(s->commit_ev, &tv);
		return;
	}
	if (s->commit_failing)
		rw_logx(s->log, LOG_NOTICE, "output %s: the spool takes records again", s->name);
	s->commit_failing = false;
	pump(s);
}

/* ---- set-up -------------------------------------------------------------------- */

static SSL_CTX *new_ctx(struct rw_sender *s, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		snprintf(err, errlen, "output %s: cannot create a TLS context", s->name);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	char e[256] = "";
	if (!s->spec.ca_file[0]) {
		snprintf(err, errlen, "output %s: TLS needs a CA file (ca_file=)", s->name);
		goto fail;
	}
	if (SSL_CTX_load_verify_locations(ctx, s->spec.ca_file, NULL) != 1) {
		ERR_error_string_n(ERR_get_error(), e, sizeof(e));
		snprintf(err, errlen, "output %s: CA file %s: %s", s->name, s->spec.ca_file, e);
		goto fail;
	}
	if (s->spec.cert_file[0]) {
		const char *key = s->spec.key_file[0] ? s->spec.key_file : s->spec.cert_file;
		if (SSL_CTX_use_certificate_chain_file(ctx, s->spec.cert_file) != 1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1) {
			ERR_error_string_n(ERR_get_error(), e, sizeof(e));
			snprintf(err, errlen, "output %s: client certificate %s / key %s: %s",
			         s->name, s->spec.cert_file, key, e);
			goto fail;
		}
	}
	ERR_clear_error();
	return ctx;
fail:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

static int open_udp(struct rw_sender *s, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_ADDRCONFIG};
	struct addrinfo *res = NULL;
	/* Once, at start-up: UDP has no reconnect on which to resolve again. */
	int rc = getaddrinfo(s->spec.host, s->spec.port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "output %s: %s", s->name, gai_strerror(rc));
		return -1;
	}
	int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
		snprintf(err, errlen, "output %s: %s", s->name, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	s->udp_fd = fd;
	return 0;
}

struct rw_sender *rw_sender_new(struct event_base *base, const struct rw_output_spec *spec,
                                const char *user, struct rw_log *log, char *err, size_t errlen)
{
	struct rw_sender *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->base = base;
	s->spec = *spec;
	s->name = s->spec.target;
	const char *name = s->name;
	s->log = log;
	s->udp_fd = -1;
	s->backoff_s = BACKOFF_MIN_S;
	rw_buf_init(&s->msg, 0);
	rw_buf_init(&s->frame, 0);
	s->drop_timer = evtimer_new(base, on_drop_timer, s);
	if (!s->drop_timer) {
		snprintf(err, errlen, "output %s: out of memory", name);
		goto fail;
	}
	if (spec->kind == RW_OUT_UDP) {
		if (open_udp(s, err, errlen) < 0)
			goto fail;
		return s;
	}
	if (!spec->spool_dir[0]) {
		snprintf(err, errlen, "output %s: needs a spool directory (spool_dir=)", name);
		goto fail;
	}
	char e[RW_CONF_ERR];
	s->spool = rw_spool_open(spec->spool_dir, spec->spool_max,
	                         (enum rw_spool_policy)spec->spool_policy, e, sizeof(e));
	if (!s->spool) {
		snprintf(err, errlen, "output %s: %s", name, e);
		goto fail;
	}
	if (user && *user) {
		errno = 0;
		struct passwd *pw = getpwnam(user);
		if (!pw || rw_spool_chown(s->spool, pw->pw_uid, pw->pw_gid) < 0) {
			snprintf(err, errlen, "output %s: cannot give the spool to %s: %s", name,
			         user, pw ? strerror(errno) : "no such user");
			goto fail;
		}
	}
	if (spec->kind == RW_OUT_TLS && !(s->ctx = new_ctx(s, err, errlen)))
		goto fail;
	s->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (!s->dns) /* no resolv.conf: numeric addresses and /etc/hosts still work */
		s->dns = evdns_base_new(base, 0);
	s->retry = evtimer_new(base, on_retry, s);
	s->tick = evtimer_new(base, on_tick, s);
	s->commit_ev = evtimer_new(base, on_commit, s);
	if (!s->dns || !s->retry || !s->tick || !s->commit_ev) {
		snprintf(err, errlen, "output %s: out of memory", name);
		goto fail;
	}
	struct rw_spool_stats st;
	rw_spool_stats(s->spool, &st);
	if (st.torn)
		rw_logx(log, LOG_WARNING,
		        "output %s: spool %s: %llu torn tails cut off (a crash in mid-write; "
		        "never reported spooled)",
		        name, spec->spool_dir, (unsigned long long)st.torn);
	if (st.count)
		rw_logx(log, LOG_NOTICE,
		        "output %s: %llu records left in the spool %s, sending first", name,
		        (unsigned long long)st.count, spec->spool_dir);
	connect_now(s);
	return s;
fail:
	rw_sender_free(s);
	return NULL;
}

/* ---- records ---------------------------------------------------------------------- */

static void note_drops(struct rw_sender *s, uint64_t dropped)
{
	if (dropped <= s->drops_logged)
		return;
	uint64_t now = rw_mono_us();
	if (s->drops_logged && now - s->drop_log_us < 1000000) {
		/* At most one line a second: the drops since are logged when it is over. */
		if (s->drop_timer && !evtimer_pending(s->drop_timer, NULL)) {
			uint64_t left = 1000000 - (now - s->drop_log_us);
			struct timeval tv = {(time_t)(left / 1000000),
			                     (suseconds_t)(left % 1000000)};
			evtimer_add(s->drop_timer, &tv);
		}
		return;
	}
	rw_logx(s->log, LOG_WARNING, "output %s: spool full (%s): %llu records dropped so far",
	        s->name,
	        s->spec.spool_policy == RW_SPOOL_DROP_OLDEST ? "drop-oldest" : "drop-newest",
	        (unsigned long long)dropped);
	s->drops_logged = dropped;
	s->drop_log_us = now;
}

static void on_drop_timer(evutil_socket_t fd, short what, void *arg)
{
	struct rw_sender *s = arg;
	(void)fd;
	(void)what;
	struct rw_sender_stats st;
	rw_sender_stats(s, &st);
	note_drops(s, st.dropped);
}

void rw_sender_submit(struct rw_sender *s, const char *msg, size_t len)
{
	s->st.emitted++;
	if (s->spec.kind == RW_OUT_UDP) {
		ssize_t w = len <= 65507 ? send(s->udp_fd, msg, len, MSG_DONTWAIT) : -1;
		if (w == (ssize_t)len) {
			s->st.sent++;
		} else {
			s->st.dropped++;
			note_drops(s, s->st.dropped);
		}
		return;
	}
	uint64_t seq;
	int rc = rw_spool_put(s->spool, msg, len, &seq);
	if (rc < 0) {
		/* Not taken: the full batch before it could not be written.
		 * Once on_commit has said so, the drops are counted and logged
		 * once a second (note_drops), not a line a record. */
		s->st.dropped++;
		if (!s->commit_failing)
			rw_logerr(s->log, LOG_ERR, "output %s: cannot spool a record (dropped)",
			          s->name);
	} else if (rc == 0 && !evtimer_pending(s->commit_ev, NULL)) {
		struct timeval now = {0, 0};
		evtimer_add(s->commit_ev, &now);
	}
	struct rw_sender_stats st;
	rw_sender_stats(s, &st);
	note_drops(s, st.dropped);
	pump(s);
}

void rw_sender_stats(const struct rw_sender *s, struct rw_sender_stats *out)
{
	*out = s->st;
	if (s->spool) {
		struct rw_spool_stats sp;
		rw_spool_stats(s->spool, &sp);
		out->spooled = sp.spooled;
		out->dropped += sp.dropped;
		out->rejected = sp.rejected;
		out->queued = sp.count;
	}
}

void rw_sender_free(struct rw_sender *s)
{
	if (!s)
		return;
	if (s->bev)
		bufferevent_free(s->bev);
	if (s->retry)
		event_free(s->retry);
	if (s->tick)
		event_free(s->tick);
	if (s->commit_ev)
		event_free(s->commit_ev);
	/* What is still in the batch: durable now, sent by the next start. */
	if (s->spool && rw_spool_commit(s->spool) < 0)
		rw_logerr(s->log, LOG_ERR,
		          "output %s: records lost: cannot write the spool's last batch", s->name);
	if (s->drop_timer) {
		/* Drops not logged yet still get their line. */
		struct rw_sender_stats st;
		rw_sender_stats(s, &st);
		if (st.dropped > s->drops_logged) {
			s->drops_logged = 0; /* now, whenever the last line was */
			note_drops(s, st.dropped);
		}
		event_free(s->drop_timer);
	}
	if (s->dns)
		evdns_base_free(s->dns, 0);
	if (s->ctx)
		SSL_CTX_free(s->ctx);
	if (s->udp_fd >= 0)
		close(s->udp_fd);
	rw_spool_close(s->spool);
	rw_buf_free(&s->msg);
	rw_buf_free(&s->frame);
	free(s->q);
	free(s);
}
