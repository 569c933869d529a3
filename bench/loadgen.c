/* Load generator for bench/proxy_bench.sh: the upstream server and the two
 * clients that drive a TCP proxy (rdpwhy proxy, HAProxy, socat) on loopback.
 * Built by the bench script with gcc, not by CMake.
 *
 *   loadgen server --listen 127.0.0.1:PORT
 *   loadgen bulk   --connect 127.0.0.1:PORT --dir c2s|s2c|both --bytes N [--tls]
 *   loadgen rate   --connect 127.0.0.1:PORT --conns N --concurrency C
 *   loadgen idle   --connect 127.0.0.1:PORT --conns N
 *
 * Every connection starts like RDP: the client sends an X.224 Connection
 * Request (TPKT), the server answers a Connection Confirm.
 *   - rate: the 19-byte CR with RDP_NEG_REQ (SSL|HYBRID), answered by the
 *     19-byte CC selecting SSL; the client checks the CC byte for byte, then
 *     closes. Latency = connect() to the last CC byte.
 *   - bulk: by default an 11-byte CR without RDP_NEG_REQ, answered by an
 *     11-byte CC without RDP_NEG_RSP (standard RDP security): rdpwhy leaves
 *     inspection at once and only counts. With --tls, the rate CR/CC pair:
 *     rdpwhy then expects a TLS handshake, never sees one, and keeps feeding
 *     every byte to its TLS record parser (the worst case: inspection that
 *     never ends).
 *     After the CC the client sends a 21-byte command framed as a TLS
 *     application-data record (17 03 03 00 10, "RWLB", u32 dir, u64 c2s
 *     bytes), then streams TLS-shaped records (5-byte header + 16 KiB of
 *     random bytes) client->server and/or the server streams them back, both
 *     at once for "both". When the server has read the client's EOF and sent
 *     its own bytes, it sends an 8-byte trailer (bytes it received) and
 *     closes. The client's clock runs from the CC to that close, so every
 *     byte has reached the far end. Both sides check the byte counts.
 *   - idle: N connections, one after the other, each sends the rate CR and
 *     checks the CC; then one JSON line ("ready": connections open) and
 *     they stay open, silent, until SIGTERM/SIGINT, when they are closed
 *     (for resident memory per idle connection; run several processes for
 *     more connections than one process may hold descriptors).
 *
 * Output: one JSON line on stdout. Single-threaded, epoll / poll, non-blocking. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const uint8_t CR_NEG[19] = {0x03, 0x00, 0x00, 0x13, 0x0e, 0xe0, 0x00, 0x00, 0x00, 0x00,
                                   0x00, 0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00};
static const uint8_t CC_SSL[19] = {0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00, 0x00, 0x12, 0x34,
                                   0x00, 0x02, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00};
static const uint8_t CR_LEGACY[11] = {0x03, 0x00, 0x00, 0x0b, 0x06, 0xe0,
                                      0x00, 0x00, 0x00, 0x00, 0x00};
static const uint8_t CC_LEGACY[11] = {0x03, 0x00, 0x00, 0x0b, 0x06, 0xd0,
                                      0x00, 0x00, 0x12, 0x34, 0x00};

#define CMD_LEN     21
#define DIR_C2S     1u
#define DIR_S2C     2u
#define REC_PAYLOAD 16384
#define REC_LEN     (5 + REC_PAYLOAD)
#define PAT_RECS    64
#define PAT_LEN     ((size_t)REC_LEN * PAT_RECS)
#define IO_CHUNK    (256 * 1024)

static uint8_t *pattern; /* TLS-shaped application-data records, cyclic */
static uint8_t iobuf[IO_CHUNK];

static void die(const char *what)
{
	fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void make_pattern(void)
{
	pattern = malloc(PAT_LEN);
	if (!pattern)
		die("malloc");
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t r = 0; r < PAT_RECS; r++) {
		uint8_t *p = pattern + r * REC_LEN;
		p[0] = 0x17;
		p[1] = 0x03;
		p[2] = 0x03;
		p[3] = REC_PAYLOAD >> 8;
		p[4] = REC_PAYLOAD & 0xff;
		for (size_t i = 5; i < REC_LEN; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			p[i] = (uint8_t)x;
		}
	}
}

static void parse_hostport(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof(host)) {
		fprintf(stderr, "loadgen: bad address '%s' (want IPv4:PORT)\n", s);
		exit(2);
	}
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
		fprintf(stderr, "loadgen: bad IPv4 address '%s'\n", host);
		exit(2);
	}
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		die("fcntl");
}

static void nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Writes from the cyclic pattern at stream offset `off`. */
static ssize_t write_pattern(int fd, uint64_t off, uint64_t left)
{
	size_t po = (size_t)(off % PAT_LEN);
	size_t k = PAT_LEN - po;
	if (k > IO_CHUNK)
		k = IO_CHUNK;
	if (k > left)
		k = (size_t)left;
	return write(fd, pattern + po, k);
}

/* ---- server ------------------------------------------------------------------ */

enum sstate { S_CR, S_CMD, S_BULK };

struct sconn {
	int fd;
	enum sstate st;
	uint8_t hdr[64];
	size_t have, need;
	uint32_t dir;
	uint64_t expect_in, received, to_send, sent;
	bool rd_eof, trailer_queued;
	uint8_t out[CMD_LEN + 8]; /* small writes: CC, trailer */
	size_t out_len, out_off;
	uint32_t events;
};

static int ep;
static unsigned long long s_conns, s_errors;

static void s_close(struct sconn *c)
{
	close(c->fd);
	free(c);
}

static void s_update(struct sconn *c)
{
	uint32_t ev = 0;
	if (!c->rd_eof)
		ev |= EPOLLIN;
	if (c->out_off < c->out_len || (c->st == S_BULK && c->sent < c->to_send))
		ev |= EPOLLOUT;
	if (ev != c->events) {
		struct epoll_event e = {.events = ev, .data.ptr = c};
		if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e) < 0)
			die("epoll_ctl");
		c->events = ev;
	}
}

static void s_queue(struct sconn *c, const uint8_t *p, size_t n)
{
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
}

/* Returns false when the connection is gone. */
static bool s_flush_small(struct sconn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t k = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		if (k <= 0) {
			s_errors++;
			s_close(c);
			return false;
		}
		c->out_off += (size_t)k;
	}
	return true;
}

static void s_bulk_check_done(struct sconn *c)
{
	if (!c->rd_eof || c->sent < c->to_send || c->trailer_queued)
		return;
	if (c->received != c->expect_in) {
		fprintf(stderr, "loadgen server: received %llu bytes, expected %llu\n",
		        (unsigned long long)c->received, (unsigned long long)c->expect_in);
		s_errors++;
	}
	uint8_t t[8];
	put_u64(t, c->received);
	c->out_len = c->out_off = 0;
	s_queue(c, t, 8);
	c->trailer_queued = true;
}

static void s_event(struct sconn *c, uint32_t ev)
{
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		for (;;) {
			if (c->rd_eof)
				break;
			size_t want;
			uint8_t *dst;
			if (c->st == S_CR) {
				want = (c->have < 4 ? 4 : c->need) - c->have;
				dst = c->hdr + c->have;
			} else if (c->st == S_CMD) {
				want = CMD_LEN - c->have;
				dst = c->hdr + c->have;
			} else {
				want = sizeof(iobuf);
				dst = iobuf;
			}
			ssize_t k = read(c->fd, dst, want);
			if (k < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (k < 0) {
				/* A reset from the client or the proxy. */
				s_errors++;
				s_close(c);
				return;
			}
			if (k == 0) {
				if (c->st == S_CMD && c->have == 0) {
					/* rate client: CR, CC, close */
					s_close(c);
					return;
				}
				if (c->st != S_BULK) {
					s_errors++;
					s_close(c);
					return;
				}
				c->rd_eof = true;
				break;
			}
			if (c->st == S_BULK) {
				c->received += (uint64_t)k;
				continue;
			}
			c->have += (size_t)k;
			if (c->st == S_CR) {
				if (c->have == 4) {
					c->need = (size_t)c->hdr[2] << 8 | c->hdr[3];
					if (c->need < 7 || c->need > sizeof(c->hdr)) {
						s_errors++;
						s_close(c);
						return;
					}
				} else if (c->have == c->need) {
					if (c->need == sizeof(CR_LEGACY))
						s_queue(c, CC_LEGACY, sizeof(CC_LEGACY));
					else
						s_queue(c, CC_SSL, sizeof(CC_SSL));
					c->st = S_CMD;
					c->have = 0;
					if (!s_flush_small(c))
						return;
				}
			} else if (c->st == S_CMD && c->have == CMD_LEN) {
				const uint8_t *p = c->hdr + 5;
				if (memcmp(p, "RWLB", 4) != 0) {
					s_errors++;
					s_close(c);
					return;
				}
				c->dir = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
				         (uint32_t)p[6] << 8 | p[7];
				c->expect_in = get_u64(p + 8);
				c->to_send = (c->dir & DIR_S2C) ? c->expect_in : 0;
				if (!(c->dir & DIR_C2S)) {
					/* s2c only: the client sends nothing more; expect_in
					 * carries the amount for us to send. */
					c->expect_in = 0;
				}
				c->st = S_BULK;
			}
		}
	}
	if (c->st == S_BULK) {
		while (c->sent < c->to_send) {
			ssize_t k = write_pattern(c->fd, c->sent, c->to_send - c->sent);
			if (k < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (k <= 0) {
				fprintf(stderr, "loadgen server: write: %s\n", strerror(errno));
				s_errors++;
				s_close(c);
				return;
			}
			c->sent += (uint64_t)k;
		}
		s_bulk_check_done(c);
		if (!s_flush_small(c))
			return;
		if (c->trailer_queued && c->out_off == c->out_len) {
			s_close(c);
			return;
		}
	}
	s_update(c);
}

static volatile sig_atomic_t stop;
static void on_sig(int sig)
{
	(void)sig;
	stop = 1;
}

static int cmd_server(const char *listen_at)
{
	struct sockaddr_in sa;
	parse_hostport(listen_at, &sa);
	make_pattern();
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4096) < 0)
		die("bind/listen");
	ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event le = {.events = EPOLLIN, .data.ptr = NULL};
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &le);
	signal(SIGTERM, on_sig);
	signal(SIGINT, on_sig);
	signal(SIGPIPE, SIG_IGN);
	fprintf(stderr, "loadgen server: listening on %s\n", listen_at);
	struct epoll_event evs[256];
	while (!stop) {
		int n = epoll_wait(ep, evs, 256, 500);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			struct sconn *c = evs[i].data.ptr;
			if (!c) {
				for (;;) {
					int fd = accept4(lfd, NULL, NULL,
					                 SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (fd < 0)
						break;
					nodelay(fd);
					c = calloc(1, sizeof(*c));
					if (!c)
						die("calloc");
					c->fd = fd;
					c->events = EPOLLIN;
					struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
					if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0)
						die("epoll_ctl");
					s_conns++;
				}
				continue;
			}
			s_event(c, evs[i].events);
		}
	}
	printf("{\"server_connections\": %llu, \"server_errors\": %llu}\n", s_conns, s_errors);
	return 0;
}

/* ---- bulk client ------------------------------------------------------------ */

static void write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			die("write");
		p += k;
		n -= (size_t)k;
	}
}

static void read_all(int fd, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = read(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die("read");
		if (k == 0) {
			fprintf(stderr, "loadgen: EOF before the Connection Confirm\n");
			exit(1);
		}
		p += k;
		n -= (size_t)k;
	}
}

static int cmd_bulk(const char *to, const char *dirs, uint64_t bytes, bool tls)
{
	struct sockaddr_in sa;
	parse_hostport(to, &sa);
	uint32_t dir = !strcmp(dirs, "c2s")    ? DIR_C2S
	               : !strcmp(dirs, "s2c")  ? DIR_S2C
	               : !strcmp(dirs, "both") ? (DIR_C2S | DIR_S2C)
	                                       : 0;
	if (!dir) {
		fprintf(stderr, "loadgen: --dir c2s|s2c|both\n");
		return 2;
	}
	make_pattern();
	signal(SIGPIPE, SIG_IGN);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	nodelay(fd);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect");
	const uint8_t *cr = tls ? CR_NEG : CR_LEGACY;
	const uint8_t *cc = tls ? CC_SSL : CC_LEGACY;
	size_t crlen = tls ? sizeof(CR_NEG) : sizeof(CR_LEGACY);
	write_all(fd, cr, crlen);
	uint8_t got[32];
	read_all(fd, got, crlen);
	if (memcmp(got, cc, crlen) != 0) {
		fprintf(stderr, "loadgen: unexpected Connection Confirm\n");
		return 1;
	}
	double t0 = now_s();
	uint8_t cmd[CMD_LEN] = {0x17, 0x03, 0x03, 0x00, 0x10, 'R', 'W', 'L', 'B'};
	put_u32(cmd + 9, dir);
	put_u64(cmd + 13, bytes);
	write_all(fd, cmd, sizeof(cmd));
	set_nonblock(fd);
	uint64_t to_send = (dir & DIR_C2S) ? bytes : 0, sent = 0, received = 0;
	bool wr_done = false, rd_eof = false;
	uint8_t last8[8] = {0};
	if (to_send == 0) {
		shutdown(fd, SHUT_WR);
		wr_done = true;
	}
	while (!rd_eof) {
		struct pollfd p = {.fd = fd, .events = POLLIN | (wr_done ? 0 : POLLOUT)};
		if (poll(&p, 1, 60000) <= 0) {
			fprintf(stderr, "loadgen: stalled (sent %llu, received %llu)\n",
			        (unsigned long long)sent, (unsigned long long)received);
			return 1;
		}
		if (!wr_done && (p.revents & (POLLOUT | POLLERR | POLLHUP))) {
			while (sent < to_send) {
				ssize_t k = write_pattern(fd, sent, to_send - sent);
				if (k < 0 && (errno == EAGAIN || errno == EINTR))
					break;
				if (k <= 0)
					die("write");
				sent += (uint64_t)k;
			}
			if (sent == to_send) {
				shutdown(fd, SHUT_WR);
				wr_done = true;
			}
		}
		if (p.revents & (POLLIN | POLLERR | POLLHUP)) {
			for (;;) {
				ssize_t k = read(fd, iobuf, sizeof(iobuf));
				if (k < 0 && (errno == EAGAIN || errno == EINTR))
					break;
				if (k < 0)
					die("read");
				if (k == 0) {
					rd_eof = true;
					break;
				}
				/* keep the last 8 bytes seen: the trailer */
				if (k >= 8) {
					memcpy(last8, iobuf + k - 8, 8);
				} else {
					memmove(last8, last8 + k, 8 - (size_t)k);
					memcpy(last8 + 8 - k, iobuf, (size_t)k);
				}
				received += (uint64_t)k;
			}
		}
	}
	double t1 = now_s();
	close(fd);
	uint64_t expect_s2c = ((dir & DIR_S2C) ? bytes : 0) + 8;
	uint64_t trailer = get_u64(last8);
	bool ok = sent == to_send && received == expect_s2c && trailer == to_send;
	double secs = t1 - t0;
	double moved = (double)(to_send + received - 8);
	printf("{\"dir\": \"%s\", \"tls\": %s, \"bytes_c2s\": %llu, \"bytes_s2c\": %llu, "
	       "\"server_received\": %llu, \"seconds\": %.6f, \"mib_s\": %.1f, \"ok\": %s}\n",
	       dirs, tls ? "true" : "false", (unsigned long long)sent,
	       (unsigned long long)(received - 8), (unsigned long long)trailer, secs,
	       moved / secs / 1048576.0, ok ? "true" : "false");
	return ok ? 0 : 1;
}

/* ---- connection-rate client ------------------------------------------------- */

struct rconn {
	int fd;
	bool connected;
	size_t have;
	double t0;
	uint8_t got[sizeof(CC_SSL)];
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int cmd_rate(const char *to, long n_total, int conc)
{
	struct sockaddr_in sa;
	parse_hostport(to, &sa);
	signal(SIGPIPE, SIG_IGN);
	int e = epoll_create1(EPOLL_CLOEXEC);
	struct rconn *slots = calloc((size_t)conc, sizeof(*slots));
	double *lat = calloc((size_t)n_total, sizeof(double));
	if (!slots || !lat)
		die("calloc");
	long started = 0, done = 0, ok = 0, errors = 0;
	char first_error[160] = "";
	double t_start = now_s();

#define FAIL(r, why)                                                                               \
	do {                                                                                       \
		if (!first_error[0])                                                               \
			snprintf(first_error, sizeof(first_error), "%s: %s", why,                  \
			         strerror(errno));                                                 \
		errors++;                                                                          \
		done++;                                                                            \
		close((r)->fd);                                                                    \
		(r)->fd = -1;                                                                      \
	} while (0)

	/* start() on a free slot */
	for (int i = 0; i < conc; i++)
		slots[i].fd = -1;
	for (;;) {
		for (int i = 0; i < conc && started < n_total; i++) {
			struct rconn *r = &slots[i];
			if (r->fd >= 0)
				continue;
			started++;
			r->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (r->fd < 0)
				die("socket");
			nodelay(r->fd);
			r->connected = false;
			r->have = 0;
			r->t0 = now_s();
			if (connect(r->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
			    errno != EINPROGRESS) {
				FAIL(r, "connect");
				continue;
			}
			struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)i};
			if (epoll_ctl(e, EPOLL_CTL_ADD, r->fd, &ev) < 0)
				die("epoll_ctl");
		}
		if (done >= n_total)
			break;
		struct epoll_event evs[128];
		int n = epoll_wait(e, evs, 128, 30000);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "loadgen rate: stalled with %ld of %ld done\n", done,
			        n_total);
			break;
		}
		for (int k = 0; k < n; k++) {
			struct rconn *r = &slots[evs[k].data.u32];
			if (r->fd < 0)
				continue;
			if (!r->connected) {
				int err = 0;
				socklen_t len = sizeof(err);
				getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &err, &len);
				if (err) {
					errno = err;
					FAIL(r, "connect");
					continue;
				}
				r->connected = true;
				if (write(r->fd, CR_NEG, sizeof(CR_NEG)) !=
				    (ssize_t)sizeof(CR_NEG)) {
					FAIL(r, "write CR");
					continue;
				}
				struct epoll_event ev = {.events = EPOLLIN,
				                         .data.u32 = evs[k].data.u32};
				epoll_ctl(e, EPOLL_CTL_MOD, r->fd, &ev);
				continue;
			}
			ssize_t got = read(r->fd, r->got + r->have, sizeof(r->got) - r->have);
			if (got < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (got <= 0) {
				if (got == 0)
					errno = ECONNRESET;
				FAIL(r, got == 0 ? "EOF before CC" : "read CC");
				continue;
			}
			r->have += (size_t)got;
			if (r->have < sizeof(CC_SSL))
				continue;
			if (memcmp(r->got, CC_SSL, sizeof(CC_SSL)) != 0) {
				errno = EPROTO;
				FAIL(r, "wrong CC");
				continue;
			}
			lat[ok++] = now_s() - r->t0;
			done++;
			close(r->fd); /* a FIN: nothing unread is left */
			r->fd = -1;
		}
	}
	double elapsed = now_s() - t_start;
	qsort(lat, (size_t)ok, sizeof(double), cmp_double);
#define PCT(p) (ok ? lat[(size_t)((double)(ok - 1) * (p) + 0.5)] * 1e3 : 0.0)
	printf("{\"conns\": %ld, \"concurrency\": %d, \"ok\": %ld, \"errors\": %ld, "
	       "\"seconds\": %.6f, \"conn_s\": %.1f, \"p50_ms\": %.3f, \"p90_ms\": %.3f, "
	       "\"p99_ms\": %.3f, \"max_ms\": %.3f, \"first_error\": \"%s\"}\n",
	       n_total, conc, ok, errors, elapsed, (double)ok / elapsed, PCT(0.50), PCT(0.90),
	       PCT(0.99), ok ? lat[ok - 1] * 1e3 : 0.0, first_error);
	return errors || ok != n_total ? 1 : 0;
}

/* ---- main ------------------------------------------------------------------- */

static int cmd_idle(const char *to, long n)
{
	struct sockaddr_in sa;
	parse_hostport(to, &sa);
	int *fds = calloc((size_t)n, sizeof(int));
	if (!fds)
		die("calloc");
	signal(SIGTERM, on_sig);
	signal(SIGINT, on_sig);
	long ok = 0, errors = 0;
	char first_error[128] = "";
	for (long i = 0; i < n && !stop; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		uint8_t cc[sizeof(CC_SSL)];
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			if (!errors++)
				snprintf(first_error, sizeof(first_error), "connect: %s",
				         strerror(errno));
			if (fd >= 0)
				close(fd);
			continue;
		}
		write_all(fd, CR_NEG, sizeof(CR_NEG));
		read_all(fd, cc, sizeof(cc));
		if (memcmp(cc, CC_SSL, sizeof(cc)) != 0) {
			if (!errors++)
				snprintf(first_error, sizeof(first_error), "CC differs");
			close(fd);
			continue;
		}
		fds[ok++] = fd;
	}
	printf("{\"ready\": %ld, \"errors\": %ld, \"first_error\": \"%s\"}\n", ok, errors,
	       first_error);
	fflush(stdout);
	while (!stop)
		pause();
	for (long i = 0; i < ok; i++)
		close(fds[i]);
	free(fds);
	return errors ? 1 : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage:\n"
	                "  loadgen server --listen IP:PORT\n"
	                "  loadgen bulk --connect IP:PORT --dir c2s|s2c|both --bytes N [--tls]\n"
	                "  loadgen rate --connect IP:PORT --conns N --concurrency C\n"
	                "  loadgen idle --connect IP:PORT --conns N\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	const char *mode = argv[1], *addr = NULL, *dir = "c2s";
	uint64_t bytes = 1ull << 31;
	long conns = 5000;
	int conc = 50;
	bool tls = false;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if ((!strcmp(a, "--listen") || !strcmp(a, "--connect")) && v)
			addr = v, i++;
		else if (!strcmp(a, "--dir") && v)
			dir = v, i++;
		else if (!strcmp(a, "--bytes") && v)
			bytes = strtoull(v, NULL, 0), i++;
		else if (!strcmp(a, "--conns") && v)
			conns = strtol(v, NULL, 0), i++;
		else if (!strcmp(a, "--concurrency") && v)
			conc = atoi(v), i++;
		else if (!strcmp(a, "--tls"))
			tls = true;
		else
			usage();
	}
	if (!addr || conns <= 0 || conc <= 0)
		usage();
	if (!strcmp(mode, "server"))
		return cmd_server(addr);
	if (!strcmp(mode, "bulk"))
		return cmd_bulk(addr, dir, bytes, tls);
	if (!strcmp(mode, "rate"))
		return cmd_rate(addr, conns, conc);
	if (!strcmp(mode, "idle"))
		return cmd_idle(addr, conns);
	usage();
	return 2;
}
