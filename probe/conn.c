#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "x224.h"

uint64_t pc_now_us(const struct pconn *pc)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	return (uint64_t)(us + (pc ? pc->clock_offset_us : 0));
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void endpoint(const struct sockaddr_storage *ss, struct rw_endpoint *e)
{
	memset(e, 0, sizeof(*e));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		e->family = AF_INET;
		memcpy(e->addr, &in->sin_addr, 4);
		e->port = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		e->family = AF_INET6;
		memcpy(e->addr, &in6->sin6_addr, 16);
		e->port = ntohs(in6->sin6_port);
	}
}

enum rw_probe_outcome pc_open(struct pconn *pc, const struct sockaddr *sa, socklen_t salen,
                              unsigned timeout_ms, int64_t clock_offset_us, unsigned *ms)
{
	memset(pc, 0, sizeof(*pc));
	pc->fd = -1;
	pc->timeout_ms = timeout_ms;
	pc->clock_offset_us = clock_offset_us;
	*ms = 0;
	struct rw_session_config cfg = {0};
	pc->s = rw_session_new(&cfg);
	if (!pc->s) {
		snprintf(pc->err, sizeof(pc->err), "out of memory");
		return RW_PO_ERROR;
	}
	struct sockaddr_storage peer = {0}, local = {0};
	memcpy(&peer, sa, salen < sizeof(peer) ? salen : sizeof(peer));
	struct rw_endpoint c, s;
	endpoint(&local, &c);
	endpoint(&peer, &s);

	pc->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (pc->fd < 0) {
		snprintf(pc->err, sizeof(pc->err), "socket: %s", strerror(errno));
		rw_session_open(pc->s, pc_now_us(pc), &c, &s);
		return RW_PO_ERROR;
	}
	uint64_t t0 = mono_ms();
	uint64_t ts0 = pc_now_us(pc);
	int rc = connect(pc->fd, sa, salen);
	int err = rc == 0 ? 0 : errno;
	if (rc < 0 && errno == EINPROGRESS) {
		struct pollfd p = {.fd = pc->fd, .events = POLLOUT};
		int pr;
		do
			pr = poll(&p, 1, (int)timeout_ms);
		while (pr < 0 && errno == EINTR);
		if (pr == 0) {
			err = ETIMEDOUT;
		} else {
			socklen_t l = sizeof(err);
			if (getsockopt(pc->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
				err = errno;
		}
	}
	*ms = (unsigned)(mono_ms() - t0);
	socklen_t ll = sizeof(local);
	if (getsockname(pc->fd, (struct sockaddr *)&local, &ll) == 0)
		endpoint(&local, &c);
	rw_session_open(pc->s, ts0, &c, &s);
	rw_session_syn(pc->s, RW_C2S, ts0);
	if (err == 0) {
		rw_session_syn(pc->s, RW_S2C, pc_now_us(pc));
		return RW_PO_OK;
	}
	snprintf(pc->err, sizeof(pc->err), "connect: %s", strerror(err));
	switch (err) {
	case ECONNREFUSED:
		rw_session_connect_failed(pc->s, pc_now_us(pc), RW_CLOSE_REFUSED);
		return RW_PO_REFUSED;
	case ETIMEDOUT:
		rw_session_connect_failed(pc->s, pc_now_us(pc), RW_CLOSE_TIMEOUT);
		return RW_PO_DROPPED;
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EHOSTDOWN:
	case ENETDOWN:
		rw_session_connect_failed(pc->s, pc_now_us(pc), RW_CLOSE_UNREACHABLE);
		return RW_PO_UNREACHABLE;
	default:
		return RW_PO_ERROR;
	}
}

static int remaining_ms(uint64_t deadline)
{
	uint64_t now = mono_ms();
	return now >= deadline ? 0 : (int)(deadline - now);
}

enum rw_probe_outcome pc_send(struct pconn *pc, const uint8_t *p, size_t n)
{
	uint64_t deadline = mono_ms() + pc->timeout_ms;
	size_t off = 0;
	while (off < n) {
		ssize_t w = send(pc->fd, p + off, n - off, MSG_NOSIGNAL);
		if (w > 0) {
			rw_session_data(pc->s, RW_C2S, pc_now_us(pc), p + off, (size_t)w);
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pf = {.fd = pc->fd, .events = POLLOUT};
			int t = remaining_ms(deadline);
			if (t == 0 || poll(&pf, 1, t) == 0) {
				snprintf(pc->err, sizeof(pc->err), "send: no room for %u ms",
				         pc->timeout_ms);
				return RW_PO_TIMEOUT;
			}
			continue;
		}
		snprintf(pc->err, sizeof(pc->err), "send: %s", strerror(errno));
		if (errno == ECONNRESET || errno == EPIPE) {
			if (!pc->peer_rst && errno == ECONNRESET) {
				pc->peer_rst = true;
				rw_session_rst(pc->s, RW_S2C, pc_now_us(pc), -1);
			}
			return RW_PO_RESET;
		}
		return RW_PO_ERROR;
	}
	return RW_PO_OK;
}

/* Reads what is there (waiting until the deadline for the first byte),
 * feeding the tap. */
static enum rw_probe_outcome read_some(struct pconn *pc, uint8_t *buf, size_t cap, size_t *got,
                                       uint64_t deadline)
{
	*got = 0;
	if (pc->peer_fin)
		return RW_PO_CLOSED;
	if (pc->peer_rst)
		return RW_PO_RESET;
	for (;;) {
		ssize_t r = recv(pc->fd, buf, cap, 0);
		if (r > 0) {
			rw_session_data(pc->s, RW_S2C, pc_now_us(pc), buf, (size_t)r);
			*got = (size_t)r;
			return RW_PO_OK;
		}
		if (r == 0) {
			pc->peer_fin = true;
			rw_session_fin(pc->s, RW_S2C, pc_now_us(pc));
			snprintf(pc->err, sizeof(pc->err), "the host closed the connection");
			return RW_PO_CLOSED;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			struct pollfd pf = {.fd = pc->fd, .events = POLLIN};
			int t = remaining_ms(deadline);
			int pr = t ? poll(&pf, 1, t) : 0;
			if (pr == 0) {
				snprintf(pc->err, sizeof(pc->err), "no answer within %u ms",
				         pc->timeout_ms);
				return RW_PO_TIMEOUT;
			}
			continue;
		}
		if (errno == ECONNRESET) {
			pc->peer_rst = true;
			rw_session_rst(pc->s, RW_S2C, pc_now_us(pc), -1);
			snprintf(pc->err, sizeof(pc->err), "the host reset the connection");
			return RW_PO_RESET;
		}
		snprintf(pc->err, sizeof(pc->err), "recv: %s", strerror(errno));
		return RW_PO_ERROR;
	}
}

enum rw_probe_outcome pc_read_tpkt(struct pconn *pc, uint8_t *buf, size_t cap, size_t *len)
{
	uint64_t deadline = mono_ms() + pc->timeout_ms;
	*len = 0;
	for (;;) {
		int want = rw_tpkt_length(buf, *len);
		if (want >= 0 && (size_t)want <= *len)
			return RW_PO_OK;
		if (want < 0 && want != RW_E_NEED_MORE) {
			snprintf(pc->err, sizeof(pc->err),
			         "the answer is not TPKT (first byte 0x%02x)", buf[0]);
			return RW_PO_NOT_RDP;
		}
		/* Never read past this packet: what follows belongs to TLS. */
		size_t need = want >= 0 ? (size_t)want - *len : RW_TPKT_HEADER_LEN - *len;
		if (*len + need > cap) {
			snprintf(pc->err, sizeof(pc->err), "a %d-byte TPKT does not fit", want);
			return RW_PO_NOT_RDP;
		}
		size_t got;
		enum rw_probe_outcome o = read_some(pc, buf + *len, need, &got, deadline);
		if (o != RW_PO_OK)
			return o;
		*len += got;
	}
}

static enum rw_probe_outcome flush_tls(struct pconn *pc)
{
	uint8_t out[16384];
	while (BIO_ctrl_pending(pc->wb) > 0) {
		int n = BIO_read(pc->wb, out, sizeof(out));
		if (n <= 0)
			break;
		enum rw_probe_outcome o = pc_send(pc, out, (size_t)n);
		if (o != RW_PO_OK)
			return o;
	}
	return RW_PO_OK;
}

static enum rw_probe_outcome feed_tls(struct pconn *pc, uint64_t deadline)
{
	uint8_t in[16384];
	size_t got;
	enum rw_probe_outcome o = read_some(pc, in, sizeof(in), &got, deadline);
	if (o != RW_PO_OK)
		return o;
	if (BIO_write(pc->rb, in, (int)got) != (int)got) {
		snprintf(pc->err, sizeof(pc->err), "out of memory");
		return RW_PO_ERROR;
	}
	return RW_PO_OK;
}

static bool is_address(const char *s)
{
	struct in6_addr a;
	return inet_pton(AF_INET, s, &a) == 1 || inet_pton(AF_INET6, s, &a) == 1;
}

static void ssl_reason(struct pconn *pc)
{
	unsigned long e = ERR_peek_last_error();
	if (e) {
		const char *r = ERR_reason_error_string(e);
		snprintf(pc->err, sizeof(pc->err), "%s", r ? r : "TLS error");
	} else if (!pc->err[0]) {
		snprintf(pc->err, sizeof(pc->err), "TLS error");
	}
	ERR_clear_error();
}

enum rw_probe_outcome pc_tls_handshake(struct pconn *pc, SSL_CTX *ctx, const char *sni)
{
	ERR_clear_error();
	pc->ssl = SSL_new(ctx);
	pc->rb = BIO_new(BIO_s_mem());
	pc->wb = BIO_new(BIO_s_mem());
	if (!pc->ssl || !pc->rb || !pc->wb) {
		BIO_free(pc->rb);
		BIO_free(pc->wb);
		pc->rb = pc->wb = NULL;
		snprintf(pc->err, sizeof(pc->err), "out of memory");
		return RW_PO_ERROR;
	}
	BIO_set_mem_eof_return(pc->rb, -1);
	SSL_set_bio(pc->ssl, pc->rb, pc->wb); /* the SSL owns both now */
	if (sni && *sni && !is_address(sni))
		SSL_set_tlsext_host_name(pc->ssl, sni);
	SSL_set_connect_state(pc->ssl);
	uint64_t deadline = mono_ms() + pc->timeout_ms;
	for (;;) {
		int r = SSL_do_handshake(pc->ssl);
		enum rw_probe_outcome o = flush_tls(pc);
		if (r == 1)
			return o;
		if (o != RW_PO_OK)
			return o;
		int e = SSL_get_error(pc->ssl, r);
		if (e == SSL_ERROR_WANT_READ) {
			o = feed_tls(pc, deadline);
			if (o != RW_PO_OK)
				return o;
			continue;
		}
		ssl_reason(pc);
		return RW_PO_REJECTED;
	}
}

enum rw_probe_outcome pc_tls_write(struct pconn *pc, const uint8_t *p, size_t n)
{
	ERR_clear_error();
	if (SSL_write(pc->ssl, p, (int)n) != (int)n) {
		ssl_reason(pc);
		return RW_PO_ERROR;
	}
	return flush_tls(pc);
}

enum rw_probe_outcome pc_tls_read(struct pconn *pc, uint8_t *buf, size_t cap, size_t *len)
{
	uint64_t deadline = mono_ms() + pc->timeout_ms;
	if (*len >= cap) {
		snprintf(pc->err, sizeof(pc->err), "the answer is larger than %zu bytes", cap);
		return RW_PO_NOT_RDP;
	}
	for (;;) {
		ERR_clear_error();
		int r = SSL_read(pc->ssl, buf + *len, (int)(cap - *len));
		if (r > 0) {
			*len += (size_t)r;
			return RW_PO_OK;
		}
		int e = SSL_get_error(pc->ssl, r);
		enum rw_probe_outcome o = flush_tls(pc);
		if (o != RW_PO_OK)
			return o;
		if (e == SSL_ERROR_WANT_READ) {
			o = feed_tls(pc, deadline);
			if (o != RW_PO_OK)
				return o;
			continue;
		}
		if (e == SSL_ERROR_ZERO_RETURN) {
			snprintf(pc->err, sizeof(pc->err), "the host sent close_notify");
			return RW_PO_CLOSED;
		}
		ssl_reason(pc);
		return RW_PO_REJECTED;
	}
}

void pc_drain(struct pconn *pc, unsigned ms)
{
	uint64_t deadline = mono_ms() + ms;
	uint8_t buf[4096];
	size_t got;
	while (!pc->peer_fin && !pc->peer_rst && remaining_ms(deadline) > 0)
		if (read_some(pc, buf, sizeof(buf), &got, deadline) != RW_PO_OK)
			break;
}

struct rw_record *pc_finish(struct pconn *pc)
{
	if (pc->fd >= 0) {
		if (!pc->peer_rst) {
			if (pc->ssl && !pc->peer_fin) {
				SSL_shutdown(pc->ssl);
				(void)flush_tls(pc);
			}
			shutdown(pc->fd, SHUT_WR);
			rw_session_fin(pc->s, RW_C2S, pc_now_us(pc));
		}
		close(pc->fd);
		pc->fd = -1;
	}
	rw_session_close(pc->s, pc_now_us(pc));
	return rw_session_record(pc->s);
}

void pc_free(struct pconn *pc)
{
	if (pc->fd >= 0)
		close(pc->fd);
	pc->fd = -1;
	SSL_free(pc->ssl); /* frees rb and wb */
	pc->ssl = NULL;
	rw_session_free(pc->s);
	pc->s = NULL;
}
