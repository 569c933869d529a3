/* The values both record formatters (record_json.c, record_text.c) write
 * the same way: numbers, addresses, times, TLS names with their hex
 * fallbacks, the first alert. */
#include "record_format.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "json.h"
#include "tls_hello.h"

size_t rw_format_u64(char out[RW_U64_STR_MAX], uint64_t v)
{
	char d[20], *e = d + sizeof(d), *b = rw_u64_digits(v, e);
	size_t n = (size_t)(e - b);
	memcpy(out, b, n);
	out[n] = '\0';
	return n;
}

size_t rw_format_plus_ms(uint64_t us, bool frac, char out[RW_PLUS_MS_STR_MAX])
{
	out[0] = '+';
	size_t k = 1 + rw_format_u64(out + 1, us / 1000); /* at most 17 digits */
	if (frac) {
		unsigned f = (unsigned)(us % 1000);
		out[k++] = '.';
		out[k++] = (char)('0' + f / 100);
		out[k++] = (char)('0' + f / 10 % 10);
		out[k++] = (char)('0' + f % 10);
	}
	memcpy(out + k, " ms", 4);
	return k + 3;
}

bool rw_format_ip(const struct rw_endpoint *ep, char out[RW_IP_STR_MAX])
{
	/* The record stores Linux numbers so that it means the same on every
	 * platform that reads a saved record. */
	int af = ep->family == 2 ? AF_INET : ep->family == 10 ? AF_INET6 : -1;
	if (af == AF_INET) {
		/* Every record has two: inet_ntop formats IPv4 with sprintf. */
		char *o = out;
		for (int i = 0; i < 4; i++) {
			unsigned v = ep->addr[i];
			if (i)
				*o++ = '.';
			if (v >= 100)
				*o++ = (char)('0' + v / 100);
			if (v >= 10)
				*o++ = (char)('0' + v / 10 % 10);
			*o++ = (char)('0' + v % 10);
		}
		*o = '\0';
		return true;
	}
	if (af < 0 || !inet_ntop(af, ep->addr, out, RW_IP_STR_MAX)) {
		out[0] = '\0';
		return false;
	}
	return true;
}

bool rw_format_utc(int64_t sec, struct tm *tm)
{
	/* Years 0..9999 in seconds since 1970; also keeps time_t in range. */
	if (sec < -62167219200LL || sec > 253402300799LL)
		return false;
	time_t t = (time_t)sec;
	if ((int64_t)t != sec) /* 32-bit time_t */
		return false;
	/* What gmtime_r gives (the proleptic Gregorian calendar, UTC), without
	 * its lock and time zone work: H. Hinnant's civil_from_days
	 * (https://howardhinnant.github.io/date_algorithms.html). The unit
	 * tests compare it with gmtime_r over the whole range. */
	int64_t days = sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400);
	int64_t rem = sec - days * 86400; /* 0..86399 */
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;                                      /* [0, 146096] */
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
	int64_t mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
	int64_t d = doy - (153 * mp + 2) / 5 + 1;                            /* [1, 31] */
	int64_t m = mp < 10 ? mp + 3 : mp - 9;                               /* [1, 12] */
	int64_t y = yoe + era * 400 + (m <= 2);
	static const int before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	memset(tm, 0, sizeof(*tm));
	tm->tm_year = (int)(y - 1900);
	tm->tm_mon = (int)(m - 1);
	tm->tm_mday = (int)d;
	tm->tm_hour = (int)(rem / 3600);
	tm->tm_min = (int)(rem / 60 % 60);
	tm->tm_sec = (int)(rem % 60);
	tm->tm_yday = before[m - 1] + (int)d - 1 + (leap && m > 2);
	/* 1970-01-01 was a Thursday (4). */
	int64_t wd = (days % 7 + 7 + 4) % 7;
	tm->tm_wday = (int)wd;
	return true;
}
const char *rw_format_name_or_hex(const char *name, uint32_t v, int digits, char *tmp, size_t size)
{
	if (name)
		return name;
	snprintf(tmp, size, "0x%0*" PRIX32, digits, v);
	return tmp;
}

const char *rw_format_tls_version(uint16_t v, char tmp[8])
{
	return rw_format_name_or_hex(rw_tls_version_name(v), v, 4, tmp, 8);
}

const char *rw_format_cipher(uint16_t c, char tmp[8])
{
	return rw_format_name_or_hex(rw_tls_cipher_name(c), c, 4, tmp, 8);
}

const struct rw_alert *rw_format_first_alert(const struct rw_record *rec, enum rw_dir *from)
{
	const struct rw_alert *c = &rec->alert[RW_C2S], *s = &rec->alert[RW_S2C];
	if (c->seen && (!s->seen || c->ts_us < s->ts_us)) {
		*from = RW_C2S;
		return c;
	}
	if (s->seen) {
		*from = RW_S2C;
		return s;
	}
	return NULL;
}

bool rw_format_ip_port(const struct rw_endpoint *ep, char out[RW_IP_PORT_STR_MAX])
{
	size_t v6 = ep->family == 10;
	if (!rw_format_ip(ep, out + v6)) {
		out[0] = '\0';
		return false;
	}
	size_t k = v6 + strlen(out + v6);
	if (v6) {
		out[0] = '[';
		out[k++] = ']';
	}
	out[k++] = ':';
	rw_format_u64(out + k, ep->port);
	return true;
}

const char *rw_format_alert_desc(const struct rw_alert *a, char tmp[8])
{
	if (a->encrypted)
		return "encrypted";
	return rw_format_name_or_hex(rw_tls_alert_name(a->description), a->description, 2, tmp, 8);
}
