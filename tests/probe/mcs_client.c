/* mcs_client HOST PORT METHOD: the standard-security start of an RDP
 * connection, as `rdpwhy probe` asks a host which encryption methods it
 * accepts. Sends an X.224 Connection Request (RDP_NEG_REQ, requestedProtocols
 * PROTOCOL_RDP), reads the Connection Confirm, sends the MCS Connect Initial
 * of analyzers/mcs.c offering METHOD (40bit, 56bit, 128bit, fips, none or a
 * number: the encryptionMethods bit mask), reads the MCS Connect Response and
 * prints it decoded as key=value lines on stdout:
 *
 *   cc_selected_protocol=0         (or cc_neg_failure=N, cc_neg=none)
 *   response_hex=0300...           the Connect Response packet as read
 *   status=ok                      or the rw_status name of the parse error
 *   result=0 version=0x00080004 encryption_method=128bit encryption_level=high
 *   server_random_len=32 server_cert_len=184 io_channel=1003   (one per line)
 *
 * Exits 0 when the Connect Response was read and parsed, 1 otherwise (the
 * reason on stderr), 2 on a usage error. Timeouts: 5 s per read. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "mcs.h"
#include "rw_types.h"
#include "x224.h"

static int dial(const char *host, const char *port)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
	int e = getaddrinfo(host, port, &hints, &res);
	if (e != 0) {
		fprintf(stderr, "mcs_client: %s:%s: %s\n", host, port, gai_strerror(e));
		return -1;
	}
	int fd = -1;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd < 0)
			continue;
		struct timeval tv = {.tv_sec = 5};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		fprintf(stderr, "mcs_client: connect %s:%s: %s\n", host, port, strerror(errno));
	freeaddrinfo(res);
	return fd;
}

static int send_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			fprintf(stderr, "mcs_client: send: %s\n", strerror(errno));
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int recv_all(int fd, uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = recv(fd, p, n, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k == 0) {
			fprintf(stderr, "mcs_client: the host closed the connection\n");
			return -1;
		}
		if (k < 0) {
			fprintf(stderr, "mcs_client: recv: %s\n", strerror(errno));
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* One whole TPKT packet into buf; returns its length or -1. */
static int recv_tpkt(int fd, uint8_t *buf, size_t cap)
{
	if (recv_all(fd, buf, RW_TPKT_HEADER_LEN) < 0)
		return -1;
	int len = rw_tpkt_length(buf, RW_TPKT_HEADER_LEN);
	if (len < 0 || (size_t)len > cap) {
		fprintf(stderr, "mcs_client: not a TPKT header: %02x %02x %02x %02x\n", buf[0],
		        buf[1], buf[2], buf[3]);
		return -1;
	}
	if (recv_all(fd, buf + RW_TPKT_HEADER_LEN, (size_t)len - RW_TPKT_HEADER_LEN) < 0)
		return -1;
	return len;
}

static int parse_method(const char *s, uint32_t *m)
{
	static const uint32_t all[] = {RW_ENC_NONE, RW_ENC_40BIT, RW_ENC_56BIT, RW_ENC_128BIT,
	                               RW_ENC_FIPS};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(s, rw_encryption_method_name(all[i])) == 0) {
			*m = all[i];
			return 0;
		}
	}
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (errno || *s == 0 || *end != 0 || v > 0xFFFFFFFFul)
		return -1;
	*m = (uint32_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	uint32_t methods;
	if (argc != 4 || parse_method(argv[3], &methods) < 0) {
		fprintf(stderr, "usage: mcs_client HOST PORT 40bit|56bit|128bit|fips|none|MASK\n");
		return 2;
	}
	int fd = dial(argv[1], argv[2]);
	if (fd < 0)
		return 1;

	/* TPKT, X.224 CR (LI 14, no cookie), RDP_NEG_REQ PROTOCOL_RDP */
	static const uint8_t cr[] = {3, 0, 0, 19, 14, 0xe0, 0, 0, 0, 0, 0, 1, 0, 8, 0, 0, 0, 0, 0};
	uint8_t buf[65536];
	if (send_all(fd, cr, sizeof(cr)) < 0)
		goto fail;
	int len = recv_tpkt(fd, buf, sizeof(buf));
	if (len < 0)
		goto fail;
	struct rw_x224 cc;
	int r = rw_x224_parse(buf + RW_TPKT_HEADER_LEN, (size_t)len - RW_TPKT_HEADER_LEN, &cc);
	if (r < 0 || cc.code != RW_X224_CC) {
		fprintf(stderr, "mcs_client: no Connection Confirm (%s)\n",
		        r < 0 ? rw_status_name(r) : rw_x224_code_name(cc.code));
		goto fail;
	}
	uint32_t selected = 0;
	if (!cc.neg_present) {
		printf("cc_neg=none\n");
	} else if (cc.neg_type == 2) {
		selected = cc.neg_value;
		printf("cc_selected_protocol=%u\n", (unsigned)selected);
	} else {
		printf("cc_neg_failure=%u\n", (unsigned)cc.neg_value);
		goto fail;
	}

	size_t n = rw_mcs_connect_initial(buf, sizeof(buf), methods, selected);
	if (n == 0 || send_all(fd, buf, n) < 0)
		goto fail;
	len = recv_tpkt(fd, buf, sizeof(buf));
	if (len < 0)
		goto fail;
	char hex[2 * 4096 + 1];
	rw_hex(buf, (size_t)len, hex, sizeof(hex));
	printf("response_hex=%s\n", hex);
	struct rw_mcs_connect_response rsp;
	r = rw_mcs_connect_response_parse(buf, (size_t)len, &rsp);
	printf("status=%s\n", r < 0 ? rw_status_name(r) : "ok");
	if (r < 0)
		goto fail;
	printf("result=%u\n", rsp.result);
	if (rsp.has_sc_core) {
		printf("version=0x%08x\n", (unsigned)rsp.version);
		if (rsp.has_client_requested)
			printf("client_requested_protocols=%u\n",
			       (unsigned)rsp.client_requested_protocols);
	}
	if (rsp.has_sc_security) {
		printf("encryption_method=%s\n", rw_encryption_method_name(rsp.encryption_method));
		printf("encryption_level=%s\n", rw_encryption_level_name(rsp.encryption_level));
		printf("server_random_len=%u\n", (unsigned)rsp.server_random_len);
		printf("server_cert_len=%u\n", (unsigned)rsp.server_cert_len);
	}
	if (rsp.has_sc_net)
		printf("io_channel=%u\n", (unsigned)rsp.io_channel);
	close(fd);
	return 0;
fail:
	close(fd);
	return 1;
}
