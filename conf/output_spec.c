/* Output specifications: "TARGET [KEY=VALUE]...". See output_spec.h. */
#include "output_spec.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "values.h"

#define fail rw_conf_fail

const char *rw_out_format_name(enum rw_out_format f)
{
	static const char *const names[] = {"", "text", "json", "rfc5424", "cef"};
	return (unsigned)f < sizeof(names) / sizeof(names[0]) ? names[f] : "";
}

static enum rw_out_format format_parse(const char *v)
{
	for (int f = RW_OUTF_TEXT; f <= RW_OUTF_CEF; f++)
		if (!strcmp(v, rw_out_format_name((enum rw_out_format)f)))
			return (enum rw_out_format)f;
	return RW_OUTF_DEFAULT;
}

const char *rw_kafka_security_name(enum rw_kafka_security v)
{
	static const char *const names[] = {"", "plaintext", "ssl", "sasl_plaintext", "sasl_ssl"};
	return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "";
}

/* One bootstrap broker, HOST:PORT or [V6]:PORT, as (p, n). */
static bool broker_ok(const char *p, size_t n)
{
	const char *end = p + n, *port;
	if (n && *p == '[') {
		const char *close = memchr(p, ']', n);
		if (!close || close == p + 1 || close + 1 >= end || close[1] != ':')
			return false;
		port = close + 2;
	} else {
		const char *colon = memchr(p, ':', n);
		if (!colon || colon == p || memchr(colon + 1, ':', (size_t)(end - colon - 1)))
			return false;
		port = colon + 1;
	}
	uint16_t v;
	if (rw_parse_port(port, (size_t)(end - port), &v) < 0)
		return false;
	for (const char *q = p; q < end; q++)
		if ((unsigned char)*q <= 0x20 || *q == '/' || *q == 0x7f)
			return false;
	return true;
}

/* "kafka://BROKER[,BROKER...]/TOPIC". A topic name is what Kafka accepts:
 * 1 to 249 of [A-Za-z0-9._-], not "." or "..". */
static int parse_kafka_url(const char *rest, struct rw_output_spec *s, char *err, size_t errlen)
{
	const char *slash = strrchr(rest, '/');
	if (!slash || slash == rest || (size_t)(slash - rest) >= sizeof(s->brokers))
		goto bad;
	for (const char *b = rest; b < slash;) {
		const char *comma = memchr(b, ',', (size_t)(slash - b));
		const char *e = comma ? comma : slash;
		if (!broker_ok(b, (size_t)(e - b)))
			goto bad;
		b = comma ? comma + 1 : slash;
		if (comma && b == slash)
			goto bad;
	}
	const char *topic = slash + 1;
	size_t tn = strlen(topic);
	bool topic_ok = tn > 0 && tn <= 249 && strcmp(topic, ".") != 0 && strcmp(topic, "..") != 0;
	for (size_t i = 0; topic_ok && i < tn; i++)
		topic_ok = (topic[i] >= 'a' && topic[i] <= 'z') ||
		           (topic[i] >= 'A' && topic[i] <= 'Z') || rw_is_digit(topic[i]) ||
		           topic[i] == '.' || topic[i] == '_' || topic[i] == '-';
	if (!topic_ok)
		return fail(err, errlen,
		            "'%s': the topic must be 1 to 249 of A-Z a-z 0-9 . _ - (not . or ..)",
		            rw_show(s->target).s);
	memcpy(s->brokers, rest, (size_t)(slash - rest));
	s->brokers[slash - rest] = 0;
	memcpy(s->topic, topic, tn + 1);
	return 0;
bad:
	return fail(err, errlen,
	            "'%s': expected kafka://HOST:PORT[,HOST:PORT...]/TOPIC ([V6]:PORT for IPv6)",
	            rw_show(s->target).s);
}

/* "tcp://HOST:PORT" and friends; 1 when target is not a URL of ours. */
static int parse_url(const char *target, struct rw_output_spec *s, char *err, size_t errlen)
{
	static const struct {
		const char *scheme;
		enum rw_output_kind kind;
	} schemes[] = {{"tcp://", RW_OUT_TCP}, {"tls://", RW_OUT_TLS}, {"udp://", RW_OUT_UDP}};
	if (!strncmp(target, "kafka://", 8)) {
		s->kind = RW_OUT_KAFKA;
		return parse_kafka_url(target + 8, s, err, errlen);
	}
	const char *rest = NULL;
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t n = strlen(schemes[i].scheme);
		if (!strncmp(target, schemes[i].scheme, n)) {
			s->kind = schemes[i].kind;
			rest = target + n;
		}
	}
	if (!rest)
		return 1;
	const char *host = rest, *port;
	size_t host_len;
	if (*rest == '[') {
		const char *close = strchr(rest, ']');
		if (!close || close[1] != ':')
			goto bad;
		host = rest + 1;
		host_len = (size_t)(close - host);
		port = close + 2;
	} else {
		const char *colon = strchr(rest, ':');
		if (!colon || strchr(colon + 1, ':'))
			goto bad;
		host_len = (size_t)(colon - rest);
		port = colon + 1;
	}
	uint16_t p;
	if (host_len == 0 || host_len >= sizeof(s->host) ||
	    rw_parse_port(port, strlen(port), &p) < 0)
		goto bad;
	for (size_t i = 0; i < host_len; i++)
		if ((unsigned char)host[i] <= 0x20 || host[i] == '/' || host[i] == 0x7f)
			goto bad;
	memcpy(s->host, host, host_len);
	s->host[host_len] = 0;
	snprintf(s->port, sizeof(s->port), "%u", (unsigned)p);
	return 0;
bad:
	return fail(err, errlen, "'%s': expected SCHEME://HOST:PORT ([V6]:PORT for IPv6)",
	            rw_show(target).s);
}

static int set_path(char *dst, size_t cap, const char *key, const char *v, char *err, size_t errlen)
{
	if (!*v || strlen(v) >= cap)
		return fail(err, errlen, "%s: '%s' is empty or too long", key, rw_show(v).s);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* kafka://'s security_protocol and sasl_* options. */
static int set_kafka_option(struct rw_output_spec *s, const char *key, const char *v, char *err,
                            size_t errlen)
{
	if (!strcmp(key, "security_protocol")) {
		for (int p = RW_KAFKA_SEC_PLAINTEXT; p <= RW_KAFKA_SEC_SASL_SSL; p++) {
			if (!strcmp(v, rw_kafka_security_name((enum rw_kafka_security)p))) {
				s->security = (enum rw_kafka_security)p;
				return 0;
			}
		}
		return fail(err, errlen,
		            "security_protocol: expected plaintext, ssl, sasl_plaintext or "
		            "sasl_ssl, not '%s'",
		            rw_show(v).s);
	}
	if (!strcmp(key, "sasl_mechanism")) {
		/* GSSAPI and OAUTHBEARER need more than a user and a password. */
		static const char *const known[] = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
			if (!strcmp(v, known[i])) {
				memcpy(s->sasl_mechanism, v, strlen(v) + 1);
				return 0;
			}
		}
		return fail(err, errlen,
		            "sasl_mechanism: expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, not "
		            "'%s'",
		            rw_show(v).s);
	}
	char *dst = !strcmp(key, "sasl_username")   ? s->sasl_username
	            : !strcmp(key, "sasl_password") ? s->sasl_password
	                                            : NULL;
	if (!dst)
		return fail(err, errlen,
		            "unknown option '%s' (kafka:// knows sasl_mechanism, sasl_username, "
		            "sasl_password)",
		            rw_show(key).s);
	if (!*v || strlen(v) >= sizeof(s->sasl_username))
		/* The value is not shown: it may be a password. */
		return fail(err, errlen, "%s: empty or longer than %zu bytes", key,
		            sizeof(s->sasl_username) - 1);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* kafka:// options that only make sense together, checked once all are
 * read; fills in security_protocol when not given. */
static int check_kafka(struct rw_output_spec *s, char *err, size_t errlen)
{
	bool sasl = s->sasl_username[0] || s->sasl_password[0] || s->sasl_mechanism[0];
	bool files = s->ca_file[0] || s->cert_file[0] || s->key_file[0];
	if (s->security == RW_KAFKA_SEC_NONE)
		/* A password never goes out in clear unless asked for by name. */
		s->security = sasl    ? RW_KAFKA_SEC_SASL_SSL
		              : files ? RW_KAFKA_SEC_SSL
		                      : RW_KAFKA_SEC_PLAINTEXT;
	bool want_sasl =
	        s->security == RW_KAFKA_SEC_SASL_PLAINTEXT || s->security == RW_KAFKA_SEC_SASL_SSL;
	bool want_tls = s->security == RW_KAFKA_SEC_SSL || s->security == RW_KAFKA_SEC_SASL_SSL;
	const char *proto = rw_kafka_security_name(s->security);
	if (sasl && !want_sasl)
		return fail(err, errlen,
		            "%s: sasl_* options need security_protocol=sasl_ssl or "
		            "sasl_plaintext, not %s",
		            rw_show(s->target).s, proto);
	if (want_sasl && (!s->sasl_username[0] || !s->sasl_password[0]))
		return fail(err, errlen,
		            "%s: security_protocol=%s needs sasl_username= and "
		            "sasl_password=",
		            rw_show(s->target).s, proto);
	if (files && !want_tls)
		return fail(err, errlen,
		            "%s: ca_file, cert_file and key_file need security_protocol=ssl or "
		            "sasl_ssl, not %s",
		            rw_show(s->target).s, proto);
	if (s->key_file[0] && !s->cert_file[0])
		return fail(err, errlen, "%s: key_file without cert_file", rw_show(s->target).s);
	return 0;
}

static int set_option(struct rw_output_spec *s, const char *key, const char *v, char *err,
                      size_t errlen)
{
	bool spooled = s->kind == RW_OUT_TCP || s->kind == RW_OUT_TLS || s->kind == RW_OUT_KAFKA;
	bool kafka = s->kind == RW_OUT_KAFKA, tls = s->kind == RW_OUT_TLS || kafka;
	if (!strcmp(key, "mode")) {
		unsigned m = 0;
		size_t k = 0;
		for (; v[k] >= '0' && v[k] <= '7' && k < 4; k++)
			m = m * 8 + (unsigned)(v[k] - '0');
		if (s->kind != RW_OUT_FILE)
			return fail(err, errlen, "mode applies to file outputs only");
		if (k < 3 || v[k] || m > 0777 || !(m & 0200))
			return fail(
			        err, errlen,
			        "mode: expected octal permissions the owner can write, like 0640, "
			        "not '%s'",
			        rw_show(v).s);
		s->mode = m;
		return 0;
	}
	if (!strcmp(key, "format")) {
		enum rw_out_format f = format_parse(v);
		bool file = s->kind == RW_OUT_FILE || s->kind == RW_OUT_STDOUT;
		/* Kafka carries the JSON record as is: no syslog framing. */
		if (kafka  ? f != RW_OUTF_JSON
		    : file ? (f != RW_OUTF_TEXT && f != RW_OUTF_JSON)
		           : (f == RW_OUTF_DEFAULT || f == RW_OUTF_TEXT))
			return fail(err, errlen, "format: expected %s, not '%s'",
			            kafka  ? "json (kafka:// sends the JSON record)"
			            : file ? "text or json"
			                   : "json, rfc5424 or cef",
			            rw_show(v).s);
		s->format = f;
		return 0;
	}
	struct {
		const char *name;
		char *dst;
		bool allowed;
		const char *needs;
	} paths[] = {
	        {"ca_file", s->ca_file, tls, "tls:// and kafka://"},
	        {"cert_file", s->cert_file, tls, "tls:// and kafka://"},
	        {"key_file", s->key_file, tls, "tls:// and kafka://"},
	        {"spool_dir", s->spool_dir, spooled, "tcp://, tls:// and kafka://"},
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (strcmp(key, paths[i].name) != 0)
			continue;
		if (!paths[i].allowed)
			return fail(err, errlen, "%s applies to %s outputs only", key,
			            paths[i].needs);
		return set_path(paths[i].dst, PATH_MAX, key, v, err, errlen);
	}
	if (!strcmp(key, "spool_max") || !strcmp(key, "spool_policy")) {
		if (!spooled)
			return fail(err, errlen,
			            "%s applies to tcp://, tls:// and kafka:// outputs only", key);
		if (key[6] == 'm') {
			size_t n;
			if (rw_parse_size(v, &n) < 0 || n < 4096)
				return fail(err, errlen,
				            "spool_max: expected a size of at least 4k "
				            "(64M, 1G), not '%s'",
				            rw_show(v).s);
			s->spool_max = n;
		} else if ((s->spool_policy = rw_config_choice("siem_spool_policy", v)) < 0) {
			return fail(err, errlen,
			            "spool_policy: expected drop-oldest or drop-newest, not '%s'",
			            rw_show(v).s);
		}
		return 0;
	}
	if (!strcmp(key, "json_style")) {
		int st = rw_config_choice("json_style", v);
		if (st < 0)
			return fail(err, errlen, "json_style: expected nested or flat, not '%s'",
			            rw_show(v).s);
		s->json_style = st == RW_CONF_JSON_FLAT ? RW_OUTJ_FLAT : RW_OUTJ_NESTED;
		return 0;
	}
	if (!strncmp(key, "sasl_", 5) || !strcmp(key, "security_protocol"))
		return kafka ? set_kafka_option(s, key, v, err, errlen)
		             : fail(err, errlen, "%s applies to kafka:// outputs only", key);
	return fail(err, errlen,
	            "unknown option '%s' (known: format, json_style, mode, ca_file, cert_file, "
	            "key_file, spool_dir, spool_max, spool_policy, security_protocol, "
	            "sasl_mechanism, sasl_username, sasl_password; paths cannot contain blanks)",
	            rw_show(key).s);
}

/* A word that starts an option: NAME=... */
static bool is_option(const char *p, size_t n)
{
	size_t k = 0;
	while (k < n && ((p[k] >= 'a' && p[k] <= 'z') || p[k] == '_'))
		k++;
	return k > 0 && k < n && p[k] == '=';
}

int rw_output_spec_parse(const char *spec, struct rw_output_spec *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->spool_policy = -1;
	/* The target runs up to the first NAME=VALUE word, so that a quoted
	 * path may hold blanks. */
	const char *p = spec, *end = spec;
	while (rw_is_space(*p))
		p++;
	const char *q = p;
	for (;;) {
		while (rw_is_space(*q))
			q++;
		size_t n = strcspn(q, " \t");
		if (n == 0 || is_option(q, n))
			break;
		q += n;
		end = q;
	}
	size_t n = end > p ? (size_t)(end - p) : 0;
	if (n == 0)
		return fail(err, errlen,
		            "%s (use - for stdout, a path, syslog, "
		            "udp://, tcp://, tls://HOST:PORT, or kafka://HOST:PORT/TOPIC)",
		            *q ? "no target before the options" : "empty");
	if (n >= sizeof(s->target))
		return fail(err, errlen, "'%s' is too long", rw_show(p).s);
	memcpy(s->target, p, n);
	s->target[n] = 0;
	p = q;
	int url = parse_url(s->target, s, err, errlen);
	if (url < 0)
		return -1;
	if (url == 1) {
		if (strstr(s->target, "://"))
			return fail(err, errlen,
			            "'%s': unknown scheme (udp://, tcp://, tls:// or kafka://)",
			            rw_show(s->target).s);
		s->kind = !strcmp(s->target, "-")        ? RW_OUT_STDOUT
		          : !strcmp(s->target, "syslog") ? RW_OUT_SYSLOG
		                                         : RW_OUT_FILE;
	}
	for (;;) {
		while (rw_is_space(*p))
			p++;
		if (!*p)
			return s->kind == RW_OUT_KAFKA ? check_kafka(s, err, errlen) : 0;
		n = strcspn(p, " \t");
		const char *eq = memchr(p, '=', n);
		char key[32], val[PATH_MAX];
		if (!is_option(p, n) || (size_t)(eq - p) >= sizeof(key) ||
		    n - (size_t)(eq - p) - 1 >= sizeof(val))
			return fail(
			        err, errlen,
			        "'%s': expected KEY=VALUE after the options began (option values "
			        "cannot contain blanks)",
			        rw_show_n(p, n).s);
		memcpy(key, p, (size_t)(eq - p));
		key[eq - p] = 0;
		size_t vn = n - (size_t)(eq - p) - 1;
		memcpy(val, eq + 1, vn);
		val[vn] = 0;
		if (set_option(s, key, val, err, errlen) < 0)
			return -1;
		p += n;
	}
}

/* Under siem_spool_dir, a directory named after the target
 * ("tcp_siem.example.net_6514"). */
static int default_spool_dir(const struct rw_output_spec *s, const char *base, char *out,
                             size_t outlen)
{
	char name[300];
	size_t k = 0;
	for (const char *p = s->target; *p && k < sizeof(name) - 1; p++) {
		if (p[0] == ':' && p[1] == '/' && p[2] == '/') {
			p += 2;
			name[k++] = '_';
			continue;
		}
		char ch = *p;
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || rw_is_digit(ch) ||
		          ch == '.' || ch == '-';
		name[k++] = ok ? ch : '_';
	}
	name[k] = 0;
	int n = snprintf(out, outlen, "%s/%s", base, name);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int rw_output_spec_resolve(struct rw_output_spec *s, const struct rw_proxy_config *c, char *err,
                           size_t errlen)
{
	if (s->format == RW_OUTF_DEFAULT) {
		if (s->kind == RW_OUT_KAFKA)
			s->format = RW_OUTF_JSON;
		else if (s->kind == RW_OUT_FILE || s->kind == RW_OUT_STDOUT)
			s->format = c->json ? RW_OUTF_JSON : RW_OUTF_TEXT;
		else
			s->format = c->siem_format == RW_CONF_SIEM_CEF       ? RW_OUTF_CEF
			            : c->siem_format == RW_CONF_SIEM_RFC5424 ? RW_OUTF_RFC5424
			                                                     : RW_OUTF_JSON;
	}
	if (s->json_style == RW_OUTJ_DEFAULT)
		s->json_style = c->json_style == RW_CONF_JSON_FLAT ? RW_OUTJ_FLAT : RW_OUTJ_NESTED;
	if (s->kind == RW_OUT_TLS) {
		if (!s->ca_file[0])
			memcpy(s->ca_file, c->siem_ca_file, sizeof(s->ca_file));
		if (!s->cert_file[0] && !s->key_file[0]) {
			memcpy(s->cert_file, c->siem_cert_file, sizeof(s->cert_file));
			memcpy(s->key_file, c->siem_key_file, sizeof(s->key_file));
		}
		if (!s->ca_file[0])
			return fail(
			        err, errlen,
			        "%s: set ca_file= or siem_ca_file (the receiver's certificate is "
			        "verified against it)",
			        rw_show(s->target).s);
		if (s->key_file[0] && !s->cert_file[0])
			return fail(err, errlen, "%s: key_file without cert_file",
			            rw_show(s->target).s);
	}
	if (s->kind == RW_OUT_TCP || s->kind == RW_OUT_TLS || s->kind == RW_OUT_KAFKA) {
		if (!s->spool_dir[0]) {
			if (!c->siem_spool_dir[0])
				return fail(
				        err, errlen,
				        "%s: set spool_dir= or siem_spool_dir (tcp://, tls:// and "
				        "kafka:// spool records on disk until they are delivered)",
				        rw_show(s->target).s);
			if (default_spool_dir(s, c->siem_spool_dir, s->spool_dir,
			                      sizeof(s->spool_dir)) < 0)
				return fail(err, errlen, "%s: siem_spool_dir is too long",
				            rw_show(s->target).s);
		}
		if (!s->spool_max)
			s->spool_max = c->siem_spool_max;
		if (s->spool_policy < 0)
			s->spool_policy = (int)c->siem_spool_policy;
	}
	return 0;
}
