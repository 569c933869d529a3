/* Where a connection goes: a fixed upstream resolved with getaddrinfo, or
 * the original destination the kernel kept for a redirected connection. The
 * mode is chosen by name from the config, like sslsplit's NAT engines. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy.h"
#include "record_format.h"

/* From <linux/netfilter_ipv4.h> and <linux/netfilter_ipv6/ip6_tables.h>,
 * which do not mix with the libc headers. */
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

int rw_upstream_resolve(const struct rw_proxy_config *cfg, struct sockaddr_storage *out,
                        socklen_t *outlen, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG};
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(cfg->upstream_host, cfg->upstream_port, &hints, &res);
	if (rc != 0 || !res) {
		snprintf(err, errlen, "upstream %s:%s: %s", cfg->upstream_host, cfg->upstream_port,
		         rc ? gai_strerror(rc) : "no address");
		return -1;
	}
	memcpy(out, res->ai_addr, res->ai_addrlen);
	*outlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int rw_original_dst(enum rw_upstream_mode mode, int fd, struct sockaddr_storage *out,
                    socklen_t *outlen)
{
	*outlen = sizeof(*out);
	if (mode == RW_UPSTREAM_TPROXY)
		return getsockname(fd, (struct sockaddr *)out, outlen);
	struct sockaddr_storage local;
	socklen_t ll = sizeof(local);
	if (getsockname(fd, (struct sockaddr *)&local, &ll) < 0)
		return -1;
	if (local.ss_family == AF_INET6) {
		const struct sockaddr_in6 *l6 = (const struct sockaddr_in6 *)&local;
		/* An IPv4 client on a dual-stack listener: ask the IPv4 table. */
		if (!IN6_IS_ADDR_V4MAPPED(&l6->sin6_addr))
			return getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, out, outlen);
	}
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &sin, &sl) < 0)
		return -1;
	memcpy(out, &sin, sizeof(sin));
	*outlen = sizeof(sin);
	return 0;
}

void rw_sockaddr_to_endpoint(const struct sockaddr *sa, struct rw_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		ep->family = AF_INET;
		memcpy(ep->addr, &s4->sin_addr, 4);
		ep->port = ntohs(s4->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		ep->port = ntohs(s6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			/* Dual-stack listeners see IPv4 clients as ::ffff:a.b.c.d. */
			ep->family = AF_INET;
			memcpy(ep->addr, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			ep->family = AF_INET6;
			memcpy(ep->addr, &s6->sin6_addr, 16);
		}
	}
}

void rw_sockaddr_text(const struct sockaddr *sa, char *out, size_t outlen)
{
	struct rw_endpoint ep;
	rw_sockaddr_to_endpoint(sa, &ep);
	/* The record's family numbers (Linux's), which rw_format_ip_port reads:
	 * by hand, as each accepted connection formats two and snprintf cost
	 * more than the rest of its set-up in user space. */
	ep.family = ep.family == AF_INET ? 2 : ep.family == AF_INET6 ? 10 : 0;
	char t[RW_IP_PORT_STR_MAX];
	if (!rw_format_ip_port(&ep, t))
		snprintf(t, sizeof(t), "?:%u", ep.port);
	if (outlen == 0)
		return;
	size_t k = strnlen(t, outlen - 1); /* cut as snprintf would */
	memcpy(out, t, k);
	out[k] = '\0';
}

bool rw_sockaddr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	struct rw_endpoint ea, eb;
	rw_sockaddr_to_endpoint(a, &ea);
	rw_sockaddr_to_endpoint(b, &eb);
	if (ea.family != eb.family || ea.port != eb.port)
		return false;
	return memcmp(ea.addr, eb.addr, ea.family == AF_INET ? 4 : 16) == 0;
}
