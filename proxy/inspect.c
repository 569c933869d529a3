/* Connections whose TLS rdpwhy terminates with the host's own certificate
 * and key (proxy/inspect_tls.h). relay.c hands a connection over right
 * after relaying a Connection Confirm that selected TLS; from then on:
 *
 *   client socket ── TLS (rdpwhy as server, the host's certificate) ──┐
 *                                                     plaintext, both ways,
 *                                          shown to rw_session_plaintext
 *   host socket ──── TLS (rdpwhy as client, nothing verified) ───────┘
 *
 * Once the client's ClientHello is in, rdpwhy shakes hands with the host
 * (the client's server name, no version above the client's highest) while
 * that ClientHello waits: the host's certificate must carry inspect_cert's
 * public key (else NLA's public-key binding would fail through rdpwhy: the
 * destination is relayed blind from then on, and this connection goes on
 * blind over a second connection to the host), and the client is then shown
 * that very certificate.
 *
 * The TLS engines are OpenSSL objects over memory BIOs driven here, not
 * libevent's bufferevent_openssl: the ciphertext of the client's leg must be
 * seen as it crosses the socket (the session's TLS analyzers, the pcap file,
 * in order with its FIN and RST), and a FIN must follow exactly the bytes
 * that preceded it; a filter bufferevent hides the first and passes the
 * underlying EOF up as an event of its own.
 *
 * The session (and the pcap file) see the client's leg as the client saw it:
 * its ClientHello, rdpwhy's ServerHello with the host's certificate, the
 * encrypted records; the FINs and RSTs are each side's own (the host's FIN
 * is the server's). Back-pressure: a leg is not read while the other one
 * has max_buffer bytes to write. Close: a close_notify becomes a
 * close_notify on the other leg, a FIN a FIN once everything before it was
 * written, an RST an RST. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "inspect.h"
#include "tls_hello.h"
#include "x224.h"
#include "inspect_priv.h"
#include "inspect_tls.h"
#include "conn_timer.h"
#include "pcap_writer.h"
#include "proxy.h"

struct rw_ileg {
	struct rw_iconn *c;
	struct bufferevent *bev;
	int fd;
	enum rw_dir rx; /* direction of the bytes read from this leg */
	SSL *ssl;
	BIO *rbio, *wbio; /* owned by ssl */
	bool hs_done;
	bool dead;        /* its TLS failed: bytes from it are counted, not relayed */
	bool notify_in;   /* close_notify received from it */
	bool notify_out;  /* close_notify sent to it */
	bool eof;         /* its peer sent FIN */
	bool shut;        /* FIN sent towards it */
	bool read_paused; /* the other leg has max_buffer bytes to write */
	bool blocked;     /* plaintext waits in its TLS for the other leg's room */
	bool bios_owned;  /* rbio and wbio belong to ssl */
};

struct rw_iconn {
	struct rw_proxy *px;
	struct rw_inspect_tls *t;
	uint64_t id, t_accept_us, t_last_us;
	enum rw_dir last_rx;
	struct rw_session *session;
	struct rw_pcapw *pcap;
	struct rw_conn_timer timer;
	struct rw_ileg client, server;
	struct sockaddr_storage dst;
	/* Ended (conn_end): freed on the next loop turn, so that the callers
	 * up the stack may look at this flag. */
	bool ended;
	/* The host's key is not inspect_cert's: relayed blind over a second
	 * connection to the host (reconnecting: its X.224 exchange is on). */
	bool blind, reconnecting;
	bool host_started;  /* our ClientHello went to the host */
	uint64_t client_in; /* bytes from the client since the hand-over */
	char peer_text[80], dst_text[80];
	LIST_ENTRY(rw_iconn) link;
};

static uint64_t now_us(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

static struct rw_ileg *other(struct rw_ileg *l)
{
	return l == &l->c->client ? &l->c->server : &l->c->client;
}

static const char *leg_name(const struct rw_ileg *l)
{
	return l->rx == RW_C2S ? "client" : "host";
}

static size_t out_len(const struct rw_ileg *l)
{
	return evbuffer_get_length(bufferevent_get_output(l->bev));
}

/* OpenSSL's reason for the last failure on this thread, and clears it. */
static const char *tls_reason(char *buf, size_t n)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	snprintf(buf, n, "%s", r ? r : "connection closed");
	ERR_clear_error();
	return buf;
}

/* ---- timers -------------------------------------------------------------- */

static unsigned timeout_ms(const struct rw_iconn *c)
{
	const struct rw_proxy_config *cfg = &c->px->cfg;
	enum rw_phase ph = rw_session_phase(c->session);
	unsigned ms = rw_phase_timeout_ms(cfg, ph);
	/* Waiting on the client during TLS or NLA: a person at a prompt may
	 * be reading it (relay.c waits the same way, there from its socket's
	 * facts). */
	if (ms && c->last_rx == RW_S2C && (ph == RW_PHASE_TLS_HANDSHAKE || ph == RW_PHASE_NLA) &&
	    cfg->prompt_timeout_ms > ms)
		ms = cfg->prompt_timeout_ms;
	return ms;
}

static void arm_timer(struct rw_iconn *c)
{
	rw_conn_timer_arm_ms(&c->timer, timeout_ms(c));
}

/* ---- teardown ------------------------------------------------------------ */

static void leg_free(struct rw_ileg *l, bool reset)
{
	if (l->ssl) {
		SSL_free(l->ssl);
		l->ssl = NULL;
	}
	if (!l->bios_owned) {
		BIO_free(l->rbio);
		BIO_free(l->wbio);
	}
	l->rbio = l->wbio = NULL;
	l->bios_owned = true;
	if (l->bev) {
		/* Inside one of its callbacks libevent frees it only on return:
		 * its events go now, while the descriptor is still open. */
		bufferevent_disable(l->bev, EV_READ | EV_WRITE);
		bufferevent_setcb(l->bev, NULL, NULL, NULL, NULL);
		bufferevent_free(l->bev);
		l->bev = NULL;
	}
	if (l->fd >= 0) {
		if (reset) {
			struct linger lg = {1, 0};
			setsockopt(l->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		} else {
			char sink[4096];
			while (recv(l->fd, sink, sizeof(sink), MSG_DONTWAIT) > 0)
				;
		}
		close(l->fd);
		l->fd = -1;
	}
}

static void free_later(evutil_socket_t fd, short what, void *arg)
{
	struct rw_iconn *c = arg;
	(void)fd;
	(void)what;
	LIST_REMOVE(c, link);
	free(c);
}

void rw_inspect_free_ended(struct rw_inspect_tls *t)
{
	struct rw_iconn *c;
	while ((c = LIST_FIRST(&t->ended)) != NULL) {
		LIST_REMOVE(c, link);
		free(c);
	}
}

/* The single exit, as relay.c's conn_end: the record is written here. c is
 * freed now (free_now: not inside one of its callbacks) or on the next loop
 * turn. */
static void conn_end_ex(struct rw_iconn *c, bool reset_client, bool reset_server, const char *why,
                        bool free_now)
{
	struct rw_proxy *px = c->px;
	uint64_t t = now_us();
	if (c->ended)
		return;
	c->ended = true;
	leg_free(&c->client, reset_client);
	leg_free(&c->server, reset_server);
	rw_conn_timer_free(&c->timer);
	rw_proxy_conn_report(px, &(struct rw_conn_end){.id = c->id,
	                                               .t = t,
	                                               .session = c->session,
	                                               .pcap = &c->pcap,
	                                               .reset_client = reset_client,
	                                               .reset_server = reset_server,
	                                               .inspected = true,
	                                               .peer = c->peer_text,
	                                               .dst = c->dst_text,
	                                               .why = why});
	c->session = NULL; /* the outputs' now */
	LIST_REMOVE(c, link);
	static const struct timeval now = {0, 0};
	if (free_now) {
		free(c);
	} else {
		LIST_INSERT_HEAD(&c->t->ended, c, link);
		if (event_base_once(px->base, -1, EV_TIMEOUT, free_later, c, &now) < 0)
			rw_logx(&px->log, LOG_WARNING, "conn %llu: freed at exit",
			        (unsigned long long)c->id);
	}
	px->stats.closed++;
	px->stats.active--;
	rw_proxy_conn_closed(px);
}

static void conn_end(struct rw_iconn *c, bool reset_client, bool reset_server, const char *why)
{
	conn_end_ex(c, reset_client, reset_server, why, false);
}

static void maybe_done(struct rw_iconn *c)
{
	if (c->client.eof && c->server.shut && c->server.eof && c->client.shut)
		conn_end(c, false, false, "both sides closed");
}

/* ---- the client's leg on the wire ------------------------------------------ */

/* Bytes that crossed the client's socket: the session and the pcap see them. */
static void tap(struct rw_iconn *c, enum rw_dir dir, uint64_t t, const uint8_t *p, size_t n)
{
	if (n == 0)
		return;
	if (rw_session_inspecting(c->session))
		rw_session_data(c->session, dir, t, p, n);
	else
		rw_session_count(c->session, dir, t, n);
	if (c->pcap)
		rw_pcapw_data(c->pcap, dir, t, p, n);
}

/* What the TLS engine of l wrote goes to l's socket. */
static void flush(struct rw_ileg *l)
{
	uint8_t buf[16384];
	int n;
	uint64_t t = 0;
	while ((n = BIO_read(l->wbio, buf, sizeof(buf))) > 0) {
		if (l == &l->c->client) {
			if (!t)
				t = now_us();
			tap(l->c, RW_S2C, t, buf, (size_t)n);
		}
		bufferevent_write(l->bev, buf, (size_t)n);
	}
}

/* ---- relaying ------------------------------------------------------------- */

static void pump(struct rw_ileg *l);

/* FIN towards `to` once its peer's FIN came and everything before it went. */
static void propagate_fin(struct rw_ileg *to)
{
	struct rw_ileg *from = other(to);
	if (!from->eof || from->blocked || to->shut || !to->bev || out_len(to) > 0 ||
	    to->c->reconnecting)
		return;
	if (shutdown(to->fd, SHUT_WR) < 0 && errno != ENOTCONN)
		rw_logerr(&to->c->px->log, LOG_DEBUG, "conn %llu: shutdown towards %s",
		          (unsigned long long)to->c->id, leg_name(to));
	to->shut = true;
	if (to == &to->c->client && to->c->pcap)
		rw_pcapw_fin(to->c->pcap, RW_S2C, now_us());
	maybe_done(to->c);
}

static void go_blind(struct rw_iconn *c);

/* The host's certificate, once its leg's handshake is done: the client's
 * leg may begin with it (true), or the destination is relayed blind. */
static bool host_ready(struct rw_iconn *c)
{
	SSL *h = c->server.ssl;
	X509 *cert = SSL_get1_peer_certificate(h);
	char have[72], want[72];
	if (!rw_inspect_tls_host_key_ok(c->t, cert)) {
		rw_inspect_tls_key_text(cert, have, sizeof(have));
		rw_logx(&c->px->log, LOG_ERR,
		        "conn %llu: INSPECTION OFF for %s: the host's certificate key (SHA-256 %s) "
		        "is not inspect_cert's (%s): NLA would fail through rdpwhy (CredSSP binds "
		        "the host's public key); connections to it are relayed blind from now on, "
		        "this one over a new connection to the host. Give rdpwhy the host's own "
		        "certificate and key.",
		        (unsigned long long)c->id, c->dst_text, have[0] ? have : "none",
		        c->t->cert_path);
		X509_free(cert);
		rw_inspect_tls_mark_blind(c->t, (struct sockaddr *)&c->dst);
		go_blind(c);
		return false;
	}
	rw_inspect_tls_key_text(cert, want, sizeof(want));
	rw_logx(&c->px->log, LOG_DEBUG, "conn %llu: host TLS %s %s, key SHA-256 %s",
	        (unsigned long long)c->id, SSL_get_version(h), SSL_get_cipher_name(h), want);
	c->client.ssl =
	        rw_inspect_tls_client_ssl(c->t, cert, SSL_get_peer_cert_chain(h), SSL_version(h));
	X509_free(cert);
	if (!c->client.ssl) {
		rw_logx(&c->px->log, LOG_ERR, "conn %llu: cannot set up the client's TLS",
		        (unsigned long long)c->id);
		conn_end(c, true, true, "local error");
		return false;
	}
	/* The ciphertext read from the client meanwhile waits in rbio. */
	SSL_set_bio(c->client.ssl, c->client.rbio, c->client.wbio);
	c->client.bios_owned = true;
	rw_session_set_inspected(c->session, true);
	return true;
}

/* A leg's TLS failed (a handshake refused, a bad record): its bytes are
 * from now on counted, not relayed; the TCP closes pass on as they come. */
static void tls_failed(struct rw_ileg *l, const char *what)
{
	char why[160];
	l->dead = true;
	l->blocked = false;
	flush(l); /* the alert OpenSSL sent, if any */
	rw_logx(&l->c->px->log, LOG_INFO, "conn %llu: %s leg: TLS %s: %s",
	        (unsigned long long)l->c->id, leg_name(l), what, tls_reason(why, sizeof(why)));
	propagate_fin(other(l));
}

/* Runs l's TLS on what it holds: the handshake, then plaintext to the
 * other leg while that one has room. The connection may end inside. */
static void pump(struct rw_ileg *l)
{
	struct rw_iconn *c = l->c;
	struct rw_ileg *o = other(l);
	if (c->ended || c->blind || l->dead || !l->ssl)
		return;
	if (!l->hs_done) {
		ERR_clear_error();
		int r = SSL_do_handshake(l->ssl);
		flush(l);
		if (r != 1) {
			int e = SSL_get_error(l->ssl, r);
			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
				tls_failed(l, "handshake failed");
			return;
		}
		l->hs_done = true;
		if (l == &c->server) {
			if (host_ready(c))
				pump(&c->client); /* the client's ClientHello, held until now */
			return;
		}
		rw_logx(&c->px->log, LOG_DEBUG, "conn %llu: inspecting: client TLS %s %s",
		        (unsigned long long)c->id, SSL_get_version(l->ssl),
		        SSL_get_cipher_name(l->ssl));
		/* What the host said meanwhile goes now. */
		pump(o);
		if (c->ended)
			return;
	}
	l->blocked = false;
	if (!o->hs_done || o->dead || !o->ssl)
		return; /* plaintext stays in l's TLS until o is ready */
	uint8_t buf[16384];
	uint64_t t = 0;
	for (;;) {
		/* o's TLS closed: nothing can carry more; it is dropped. */
		bool sink = o->notify_out || o->shut;
		if (!sink && out_len(o) >= c->px->cfg.max_buffer) {
			l->blocked = true;
			break;
		}
		ERR_clear_error();
		int r = SSL_read(l->ssl, buf, sizeof(buf));
		if (r > 0) {
			if (!t)
				t = now_us();
			rw_session_plaintext(c->session, l->rx, t, buf, (size_t)r);
			if (sink)
				continue;
			if (SSL_write(o->ssl, buf, r) != r) {
				/* Memory BIOs take everything: only a failed
				 * TLS gets here. */
				tls_failed(o, "write failed");
				return;
			}
			flush(o);
			continue;
		}
		int e = SSL_get_error(l->ssl, r);
		if (e == SSL_ERROR_ZERO_RETURN) {
			/* close_notify: the same towards the other side. */
			l->notify_in = true;
			if (!sink) {
				o->notify_out = true;
				SSL_shutdown(o->ssl);
				flush(o);
			}
		} else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			tls_failed(l, "record refused");
			return;
		}
		break;
	}
	flush(l); /* post-handshake messages, key updates */
	if (l->blocked && !l->read_paused && l->bev) {
		bufferevent_disable(l->bev, EV_READ);
		l->read_paused = true;
	}
}

/* Ciphertext from l's socket into its TLS engine. */
static void take_input(struct rw_ileg *l)
{
	struct rw_iconn *c = l->c;
	struct evbuffer *in = bufferevent_get_input(l->bev);
	size_t n = evbuffer_get_length(in);
	if (n == 0)
		return;
	uint64_t t = now_us();
	int nvec = evbuffer_peek(in, (ev_ssize_t)n, NULL, NULL, 0);
	struct evbuffer_iovec stackvec[16];
	struct evbuffer_iovec *vec = nvec <= 16 ? stackvec : malloc(sizeof(*vec) * (size_t)nvec);
	if (vec) {
		nvec = evbuffer_peek(in, (ev_ssize_t)n, NULL, vec, nvec);
		for (int i = 0; i < nvec; i++) {
			if (l == &c->client)
				tap(c, RW_C2S, t, vec[i].iov_base, vec[i].iov_len);
			else if (c->blind)
				tap(c, RW_S2C, t, vec[i].iov_base, vec[i].iov_len);
			if (!l->dead && (!c->blind || c->reconnecting))
				BIO_write(l->rbio, vec[i].iov_base, (int)vec[i].iov_len);
		}
		if (vec != stackvec)
			free(vec);
	}
	struct rw_ileg *o = other(l);
	if (c->blind && !c->reconnecting && o->bev && !o->shut) {
		/* Blind: the bytes themselves, with back-pressure. */
		evbuffer_add_buffer(bufferevent_get_output(o->bev), in);
		if (out_len(o) >= c->px->cfg.max_buffer && !l->read_paused) {
			bufferevent_disable(l->bev, EV_READ);
			l->read_paused = true;
		}
	}
	evbuffer_drain(in, n);
	if (l == &c->client)
		c->client_in += n;
	c->t_last_us = t;
	c->last_rx = l->rx;
	arm_timer(c);
}

/* The highest TLS version a ClientHello offers (GREASE values skipped). */
static int hello_max_version(const struct rw_tls_client_hello *ch)
{
	int v = ch->legacy_version;
	if (ch->n_versions) {
		v = 0;
		for (size_t i = 0; i < ch->n_versions && i < RW_TLS_MAX_VERSIONS; i++)
			if ((ch->versions[i] & 0x0f0f) != 0x0a0a && ch->versions[i] > v &&
			    ch->versions[i] <= TLS1_3_VERSION)
				v = ch->versions[i];
	}
	return v >= TLS1_VERSION && v <= TLS1_3_VERSION ? v : 0;
}

/* Our TLS to the host begins once the client's ClientHello is in (or what
 * it sent cannot be one), shaped by it: the same server name, no version
 * above the client's highest, so that the host chooses what it would
 * choose for the client. */
static void start_host(struct rw_iconn *c)
{
	const struct rw_record *r = rw_session_record(c->session);
	if (c->host_started || c->blind || c->ended)
		return;
	if (!r->client_hello_seen && !r->tls_framing_error[RW_C2S] && !r->sslv2_client_hello &&
	    c->client_in < 18 * 1024)
		return;
	c->host_started = true;
	SSL *h = c->server.ssl;
	int v = 0;
	bool sni = false;
	if (r->client_hello_seen) {
		sni = r->ch.has_sni && r->ch.sni[0] && SSL_set_tlsext_host_name(h, r->ch.sni) == 1;
		v = hello_max_version(&r->ch);
		if (v)
			SSL_set_max_proto_version(h, v);
	}
	rw_logx(&c->px->log, LOG_DEBUG,
	        "conn %llu: TLS to the host: server name %s%s%s, versions up to %s",
	        (unsigned long long)c->id, sni ? "'" : "", sni ? r->ch.sni : "none", sni ? "'" : "",
	        v == TLS1_3_VERSION   ? "1.3"
	        : v == TLS1_2_VERSION ? "1.2"
	        : v == TLS1_1_VERSION ? "1.1"
	        : v == TLS1_VERSION   ? "1.0"
	                              : "any");
	pump(&c->server);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct rw_ileg *l = arg;
	struct rw_iconn *c = l->c;
	(void)bev;
	take_input(l);
	if (l == &c->client && !c->host_started) {
		start_host(c);
		return;
	}
	/* The client's leg starts once the host's is done (host_ready). */
	pump(l);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct rw_ileg *to = arg;
	struct rw_ileg *from = other(to);
	(void)bev;
	if (from->read_paused && from->bev && !from->eof) {
		from->read_paused = false;
		bufferevent_enable(from->bev, EV_READ);
	}
	if (from->blocked) {
		pump(from);
		if (to->c->ended)
			return;
	}
	propagate_fin(to);
}

static void on_eof(struct rw_ileg *l)
{
	struct rw_iconn *c = l->c;
	take_input(l);
	uint64_t t = now_us();
	l->eof = true;
	rw_session_fin(c->session, l->rx, t);
	if (l == &c->client && c->pcap)
		rw_pcapw_fin(c->pcap, RW_C2S, t);
	if (l == &c->client)
		start_host(c); /* a ClientHello that came with the FIN */
	pump(l);
	if (c->ended)
		return;
	/* A handshake that began and cannot finish now. */
	if (l->ssl && !l->hs_done && !l->dead)
		tls_failed(l, "handshake cut by the peer's FIN");
	else
		propagate_fin(other(l));
}

static bool peer_lost_errno(int err)
{
	return err == ETIMEDOUT || err == EHOSTUNREACH || err == ENETUNREACH || err == EHOSTDOWN;
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct rw_ileg *l = arg;
	struct rw_iconn *c = l->c;
	(void)bev;
	if (what & BEV_EVENT_EOF) {
		on_eof(l);
		return;
	}
	if (!(what & BEV_EVENT_ERROR))
		return;
	int err = EVUTIL_SOCKET_ERROR(), soerr = 0;
	socklen_t len = sizeof(soerr);
	if ((!err || !peer_lost_errno(err)) &&
	    getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr)
		err = soerr;
	uint64_t t = now_us();
	bool client = l->rx == RW_C2S;
	if (peer_lost_errno(err)) {
		struct rw_record *rec = rw_session_record(c->session);
		rec->proxy_stop = RW_PROXY_STOP_LOST;
		rec->proxy_side = l->rx;
		rec->proxy_tcp[l->rx].known = true;
		rec->proxy_tcp[l->rx].error = err;
		rw_session_timeout(c->session, t);
		rw_logx(&c->px->log, LOG_NOTICE, "conn %llu: %s vanished: %s",
		        (unsigned long long)c->id, leg_name(l), strerror(err));
		conn_end(c, !client, client,
		         client ? "client vanished, reset passed to server"
		                : "server vanished, reset passed to client");
		return;
	}
	rw_session_rst(c->session, l->rx, t, -1);
	if (client && c->pcap)
		rw_pcapw_rst(c->pcap, RW_C2S, t);
	rw_logx(&c->px->log, LOG_DEBUG, "conn %llu: %s: %s", (unsigned long long)c->id, leg_name(l),
	        strerror(err ? err : ECONNRESET));
	conn_end(c, !client, client,
	         client ? "client reset, reset passed to server"
	                : "server reset, reset passed to client");
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct rw_iconn *c = arg;
	(void)fd;
	(void)what;
	if (!rw_conn_timer_due(&c->timer))
		return; /* bytes came after it was set */
	uint64_t t = now_us();
	struct rw_record *rec = rw_session_record(c->session);
	enum rw_dir waited = c->last_rx == RW_C2S ? RW_S2C : RW_C2S;
	rec->proxy_stop = RW_PROXY_STOP_WAITED;
	rec->proxy_side = waited;
	rw_session_timeout(c->session, t);
	rw_logx(&c->px->log, LOG_INFO, "conn %llu: idle timeout in phase %s, waiting on the %s",
	        (unsigned long long)c->id, rw_phase_name(rw_session_phase(c->session)),
	        waited == RW_C2S ? "client" : "server");
	conn_end(c, false, false, "timeout");
}

/* ---- a host whose key is not inspect_cert's: blind again ------------------- */

/* The client's X.224 Connection Request again, from what the session kept
 * of it (cookie or routing token, RDP_NEG_REQ; not a correlation info): its
 * length, or 0 when it does not fit. */
static size_t build_cr(const struct rw_record *r, uint8_t *out, size_t cap)
{
	uint8_t ud[512];
	size_t u = 0;
	if (r->token && r->token_len + 24 < sizeof(ud)) {
		if (r->token_kind == RW_TOKEN_COOKIE) {
			memcpy(ud, "Cookie: mstshash=", 17);
			u = 17;
		}
		if (r->token_kind == RW_TOKEN_COOKIE || r->token_kind == RW_TOKEN_ROUTING) {
			memcpy(ud + u, r->token, r->token_len);
			u += r->token_len;
			ud[u++] = '\r';
			ud[u++] = '\n';
		}
	}
	if (r->neg_req_present) {
		uint8_t neg[8] = {0x01,
		                  r->neg_req_flags,
		                  8,
		                  0,
		                  (uint8_t)r->requested_protocols,
		                  (uint8_t)(r->requested_protocols >> 8),
		                  (uint8_t)(r->requested_protocols >> 16),
		                  (uint8_t)(r->requested_protocols >> 24)};
		memcpy(ud + u, neg, 8);
		u += 8;
	}
	size_t total = 11 + u;
	if (total > cap || total - 5 > 254)
		return 0;
	uint8_t hdr[11] = {
	        3, 0, (uint8_t)(total >> 8), (uint8_t)total, (uint8_t)(total - 5), 0xE0, 0, 0, 0,
	        0, 0};
	memcpy(out, hdr, 11);
	memcpy(out + 11, ud, u);
	return total;
}

static void blind_failed(struct rw_iconn *c, const char *what)
{
	rw_logx(&c->px->log, LOG_NOTICE,
	        "conn %llu: relaying blind: the second connection to %s: %s",
	        (unsigned long long)c->id, c->dst_text, what);
	conn_end(c, false, false, "no second connection to the host");
}

/* The host's Connection Confirm on the second connection: swallowed (the
 * client had the first one); then the two legs are relayed as they are. */
static void blind_cc_read(struct bufferevent *bev, void *arg)
{
	struct rw_iconn *c = arg;
	struct rw_ileg *s = &c->server;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t have = evbuffer_get_length(in);
	uint8_t *p = evbuffer_pullup(in, have < 4 ? (ev_ssize_t)have : 4);
	int len = rw_tpkt_length(p, have < 4 ? have : 4);
	if (len == RW_E_NEED_MORE)
		return;
	if (len < 11 || len > 4096) {
		blind_failed(c, "its answer is not a TPKT");
		return;
	}
	if (have < (size_t)len)
		return;
	p = evbuffer_pullup(in, len);
	struct rw_x224 x;
	const struct rw_record *r = rw_session_record(c->session);
	if (rw_x224_parse(p + 4, (size_t)len - 4, &x) < 0 || x.code != RW_X224_CC ||
	    !x.neg_present || x.neg_type != 2 || x.neg_value != r->selected_protocol) {
		blind_failed(c, "its Connection Confirm is not the first one's");
		return;
	}
	evbuffer_drain(in, (size_t)len);
	c->reconnecting = false;
	bufferevent_setcb(s->bev, on_read, on_write, on_event, s);
	bufferevent_setwatermark(s->bev, EV_WRITE, c->px->cfg.max_buffer / 2, 0);
	/* What the client sent meanwhile (its ClientHello), already seen. */
	uint8_t buf[16384];
	int n;
	while ((n = BIO_read(c->client.rbio, buf, sizeof(buf))) > 0)
		bufferevent_write(s->bev, buf, (size_t)n);
	rw_logx(&c->px->log, LOG_NOTICE, "conn %llu: relayed blind over a second connection to %s",
	        (unsigned long long)c->id, c->dst_text);
	take_input(s);
	propagate_fin(s);
}

static void blind_event(struct bufferevent *bev, short what, void *arg)
{
	struct rw_iconn *c = arg;
	if (what & BEV_EVENT_CONNECTED) {
		uint8_t cr[600];
		size_t n = build_cr(rw_session_record(c->session), cr, sizeof(cr));
		if (!n) {
			blind_failed(c, "the client's Connection Request cannot be rebuilt");
			return;
		}
		bufferevent_write(bev, cr, n);
		bufferevent_setcb(bev, blind_cc_read, NULL, blind_event, c);
		bufferevent_enable(bev, EV_READ | EV_WRITE);
		return;
	}
	int err = EVUTIL_SOCKET_ERROR();
	blind_failed(c, (what & BEV_EVENT_EOF) ? "closed before its Connection Confirm"
	                                       : (err ? strerror(err) : "failed"));
}

/* Our TLS with the host ends (FIN); a second connection to it carries the
 * client's bytes as they are, starting with its ClientHello, held so far. */
static void go_blind(struct rw_iconn *c)
{
	struct rw_ileg *s = &c->server;
	const struct rw_proxy_config *cfg = &c->px->cfg;
	leg_free(s, false);
	s->hs_done = s->dead = s->notify_in = s->notify_out = false;
	s->eof = s->shut = s->read_paused = s->blocked = false;
	c->blind = c->reconnecting = true;
	int one = 1;
	int fd = socket(c->dst.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || evutil_make_socket_nonblocking(fd) < 0) {
		if (fd >= 0)
			close(fd);
		blind_failed(c, strerror(errno));
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	unsigned uto = cfg->user_timeout_ms;
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &uto, sizeof(uto));
	if (cfg->keepalive_idle_ms) {
		int idle = (int)(cfg->keepalive_idle_ms / 1000);
		int intvl = (int)(cfg->keepalive_interval_ms / 1000),
		    cnt = (int)cfg->keepalive_count;
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	}
	s->fd = fd;
	s->bev = bufferevent_socket_new(c->px->base, fd, 0);
	if (!s->bev) {
		blind_failed(c, "out of memory");
		return;
	}
	bufferevent_setcb(s->bev, NULL, NULL, blind_event, c);
	socklen_t len = c->dst.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                             : sizeof(struct sockaddr_in);
	if (bufferevent_socket_connect(s->bev, (struct sockaddr *)&c->dst, (int)len) < 0)
		blind_failed(c, strerror(EVUTIL_SOCKET_ERROR()));
}

/* ---- hand-over from relay.c ------------------------------------------------- */

static bool selects_tls(uint32_t p)
{
	return p == 0x1 || p == 0x2 || p == 0x8; /* SSL, HYBRID, HYBRID_EX */
}

static void leg_init(struct rw_iconn *c, struct rw_ileg *l, struct bufferevent *bev, int fd,
                     enum rw_dir rx)
{
	l->c = c;
	l->bev = bev;
	l->fd = fd;
	l->rx = rx;
	l->rbio = BIO_new(BIO_s_mem());
	l->wbio = BIO_new(BIO_s_mem());
	if (l->rbio)
		BIO_set_mem_eof_return(l->rbio, -1);
}

bool rw_inspect_take(struct rw_proxy *px, const struct rw_inspect_legs *legs)
{
	struct rw_inspect_tls *t = px->inspect;
	if (!t)
		return false;
	const struct rw_record *r = rw_session_record(legs->session);
	if (!r->cc_seen || !r->neg_rsp_present || !selects_tls(r->selected_protocol) ||
	    r->bytes_after_cc[RW_C2S] || r->bytes_after_cc[RW_S2C])
		return false;
	struct sockaddr_storage dst;
	socklen_t dlen = sizeof(dst);
	if (getpeername(legs->server_fd, (struct sockaddr *)&dst, &dlen) < 0 ||
	    rw_inspect_tls_is_blind(t, (struct sockaddr *)&dst))
		return false;
	struct rw_iconn *c = calloc(1, sizeof(*c));
	if (!c)
		return false;
	c->px = px;
	c->t = t;
	c->dst = dst;
	leg_init(c, &c->client, legs->client_bev, legs->client_fd, RW_C2S);
	leg_init(c, &c->server, legs->server_bev, legs->server_fd, RW_S2C);
	c->server.ssl = rw_inspect_tls_host_ssl(t);
	rw_conn_timer_new(&c->timer, px->base, on_timer, c);
	if (!c->client.rbio || !c->client.wbio || !c->server.rbio || !c->server.wbio ||
	    !c->server.ssl || !c->timer.ev) {
		rw_logx(&px->log, LOG_ERR, "conn %llu: cannot set up inspection; relayed blind",
		        (unsigned long long)legs->id);
		BIO_free(c->client.rbio);
		BIO_free(c->client.wbio);
		BIO_free(c->server.rbio);
		BIO_free(c->server.wbio);
		SSL_free(c->server.ssl);
		rw_conn_timer_free(&c->timer);
		free(c);
		return false;
	}
	SSL_set_bio(c->server.ssl, c->server.rbio, c->server.wbio);
	c->server.bios_owned = true;
	c->id = legs->id;
	c->t_accept_us = legs->t_accept_us;
	c->session = legs->session;
	c->pcap = legs->pcap;
	c->last_rx = RW_S2C;
	snprintf(c->peer_text, sizeof(c->peer_text), "%s", legs->peer_text);
	snprintf(c->dst_text, sizeof(c->dst_text), "%s", legs->dst_text);
	LIST_INSERT_HEAD(&t->conns, c, link);
	struct rw_ileg *ls[2] = {&c->client, &c->server};
	for (int i = 0; i < 2; i++) {
		bufferevent_setcb(ls[i]->bev, on_read, on_write, on_event, ls[i]);
		bufferevent_setwatermark(ls[i]->bev, EV_WRITE, px->cfg.max_buffer / 2, 0);
		bufferevent_enable(ls[i]->bev, EV_READ | EV_WRITE);
	}
	rw_logx(&px->log, LOG_DEBUG, "conn %llu: TLS selected: inspecting with the host's key",
	        (unsigned long long)c->id);
	arm_timer(c);
	/* Our ClientHello goes to the host once the client's is in
	 * (start_host); the client's waits until the host answered. */
	return true;
}

void rw_inspect_abort_all(struct rw_proxy *px)
{
	struct rw_iconn *c;
	if (!px->inspect)
		return;
	while ((c = LIST_FIRST(&px->inspect->conns)) != NULL) {
		rw_session_timeout(c->session, now_us());
		conn_end_ex(c, false, false, "shutdown grace period over", true);
	}
}
