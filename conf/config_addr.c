/* Address parsing for the config: "listen" values (IPv4, [IPv6%zone], port)
 * and "upstream" values (HOST:PORT, [V6]:PORT). Apart from config.c because
 * it is the one part that knows sockaddr, inet_pton and interface names. */
#include "config.h"
#include "config_impl.h"
#include "values.h"

#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

/* IPv6 text with an optional "%zone" (interface name or index). */
static int parse_ipv6(const char *s, size_t n, struct sockaddr_in6 *sin6, char *err, size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	if (n >= sizeof(buf))
		return rw_conf_fail(err, errlen, "'%s' is not an IPv6 address", rw_show_n(s, n).s);
	memcpy(buf, s, n);
	buf[n] = 0;
	char *zone = strchr(buf, '%');
	if (zone)
		*zone++ = 0;
	if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) != 1)
		return rw_conf_fail(err, errlen, "'%s' is not an IPv6 address", rw_show(buf).s);
	if (zone) {
		uint64_t idx;
		if (rw_parse_uint(zone, strlen(zone), UINT32_MAX, &idx) == 0 && idx > 0)
			sin6->sin6_scope_id = (uint32_t)idx;
		else if ((sin6->sin6_scope_id = if_nametoindex(zone)) == 0)
			return rw_conf_fail(err, errlen, "unknown interface '%s' after '%%'",
			                    rw_show(zone).s);
	}
	return 0;
}

int rw_parse_listen(const char *text, struct rw_listen *out, char *err, size_t errlen)
{
	size_t len = strlen(text);
	memset(out, 0, sizeof(*out));
	if (len == 0)
		return rw_conf_fail(err, errlen,
		                    "empty address (use ADDR:PORT, [V6]:PORT or :PORT)");
	if (len >= sizeof(out->text))
		return rw_conf_fail(err, errlen, "'%s' is too long", rw_show(text).s);

	const char *host = text, *port;
	size_t host_len;
	bool v6 = false;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (!close || close[1] != ':')
			return rw_conf_fail(err, errlen, "'%s': expected [V6]:PORT",
			                    rw_show(text).s);
		host = text + 1;
		host_len = (size_t)(close - host);
		port = close + 2;
		v6 = true;
	} else {
		const char *colon = strrchr(text, ':');
		if (colon && colon != strchr(text, ':'))
			return rw_conf_fail(err, errlen,
			                    "'%s': IPv6 addresses need brackets: [V6]:PORT",
			                    rw_show(text).s);
		if (!colon && strchr(text, '.'))
			return rw_conf_fail(err, errlen, "'%s': missing port (use ADDR:PORT)",
			                    rw_show(text).s);
		port = colon ? colon + 1 : text;
		host_len = colon ? (size_t)(colon - text) : 0;
	}

	uint16_t p;
	if (rw_parse_port(port, strlen(port), &p) < 0) {
		if (port == text)
			return rw_conf_fail(err, errlen, "bad port '%s' (use 1-65535)",
			                    rw_show(port).s);
		return rw_conf_fail(err, errlen, "bad port '%s' in '%s' (use 1-65535)",
		                    rw_show(port).s, rw_show(text).s);
	}

	if (host_len == 0 && !v6) {
		/* All addresses: one IPv6 socket that also takes IPv4. */
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->addr;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		sin6->sin6_port = htons(p);
		out->addr_len = sizeof(*sin6);
		out->dual_stack = true;
	} else if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->addr;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(p);
		if (parse_ipv6(host, host_len, sin6, err, errlen) < 0)
			return -1;
		out->addr_len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&out->addr;
		char buf[INET_ADDRSTRLEN];
		bool ok = host_len < sizeof(buf);
		if (ok) {
			memcpy(buf, host, host_len);
			buf[host_len] = 0;
			ok = inet_pton(AF_INET, buf, &sin->sin_addr) == 1;
		}
		if (!ok)
			return rw_conf_fail(err, errlen,
			                    "'%s' is not a numeric IPv4 address (names are not "
			                    "accepted; IPv6 goes in brackets: [V6]:PORT)",
			                    rw_show_n(host, host_len).s);
		sin->sin_family = AF_INET;
		sin->sin_port = htons(p);
		out->addr_len = sizeof(*sin);
	}
	memcpy(out->text, text, len + 1);
	return 0;
}

/* A host name: letters, digits, '-', '_' and dots (RFC 1123, plus '_'). */
static bool is_hostname(const char *s, size_t n)
{
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || rw_is_digit(ch) ||
		      ch == '-' || ch == '_' || ch == '.'))
			return false;
	}
	return s[0] != '.' && s[0] != '-';
}

/* "HOST:PORT" or "[V6]:PORT"; the host is stored without brackets and the
 * port as a plain decimal number. */
int rw_conf_parse_upstream(const char *v, char host_out[256], char port_out[16], char *err,
                           size_t errlen)
{
	const char *host = v, *port;
	size_t host_len;
	if (v[0] == '[') {
		const char *close = strchr(v, ']');
		if (!close || close[1] != ':')
			return rw_conf_fail(err, errlen, "upstream: '%s': expected [V6]:PORT",
			                    rw_show(v).s);
		host = v + 1;
		host_len = (size_t)(close - host);
		port = close + 2;
		struct sockaddr_in6 sin6;
		char msg[RW_CONF_ERR];
		if (parse_ipv6(host, host_len, &sin6, msg, sizeof(msg)) < 0)
			return rw_conf_fail(err, errlen, "upstream: %s", msg);
	} else {
		const char *colon = strrchr(v, ':');
		if (!colon)
			return rw_conf_fail(err, errlen,
			                    "upstream: '%s': missing port (use HOST:PORT)",
			                    rw_show(v).s);
		if (colon != strchr(v, ':'))
			return rw_conf_fail(
			        err, errlen,
			        "upstream: '%s': IPv6 addresses need brackets: [V6]:PORT",
			        rw_show(v).s);
		host_len = (size_t)(colon - v);
		port = colon + 1;
		if (!is_hostname(host, host_len))
			return rw_conf_fail(err, errlen,
			                    "upstream: bad host '%s' in '%s' (use HOST:PORT)",
			                    rw_show_n(host, host_len).s, rw_show(v).s);
	}
	uint16_t p;
	if (rw_parse_port(port, strlen(port), &p) < 0)
		return rw_conf_fail(err, errlen, "upstream: bad port '%s' in '%s' (use 1-65535)",
		                    rw_show(port).s, rw_show(v).s);
	if (host_len >= 256)
		return rw_conf_fail(err, errlen, "upstream: host name too long");
	memcpy(host_out, host, host_len);
	host_out[host_len] = 0;
	snprintf(port_out, 16, "%u", (unsigned)p);
	return 0;
}
