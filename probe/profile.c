/* Client profiles: the "key = value" files of conf/profiles/ (the syntax of
 * rdpwhy.conf: '#' comments, quoted values) and the directory loader. Parsing
 * is pure; only rw_profiles_load touches files. Every error is a message in
 * the caller's buffer, "NAME:LINE: why". */
#include "profile.h"
#include "values.h"
#include "x224.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LINE_MAX_CHARS    4096        /* longest line, without its line ending */
#define PROFILE_MAX_BYTES (64 * 1024) /* a profile file is a few kilobytes */
#define PROFILES_MAX      256
#define MSG_MAX           512

/* ---- cipher suites: IANA names and code points ---------------------------- */

/* Every suite the Windows (Schannel) and FreeRDP (OpenSSL) lists of the shipped
 * profiles name, TLS 1.3's, and their near relatives. Names and numbers from the
 * IANA "TLS Cipher Suites" registry (RFC 5246, 4492, 5288, 5289, 7905, 8446). */
static const struct suite {
	uint16_t code;
	const char *name;
} suites[] = {
        /* TLS 1.3 (RFC 8446) */
        {0x1301, "TLS_AES_128_GCM_SHA256"},
        {0x1302, "TLS_AES_256_GCM_SHA384"},
        {0x1303, "TLS_CHACHA20_POLY1305_SHA256"},
        {0x1304, "TLS_AES_128_CCM_SHA256"},
        {0x1305, "TLS_AES_128_CCM_8_SHA256"},
        /* ECDHE_ECDSA */
        {0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
        {0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"},
        {0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"},
        {0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"},
        {0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"},
        {0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"},
        {0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
        {0xC008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"},
        {0xC007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"},
        {0xC006, "TLS_ECDHE_ECDSA_WITH_NULL_SHA"},
        /* ECDHE_RSA */
        {0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
        {0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
        {0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"},
        {0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"},
        {0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
        {0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"},
        {0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
        {0xC012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"},
        {0xC011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"},
        {0xC010, "TLS_ECDHE_RSA_WITH_NULL_SHA"},
        /* DHE_RSA */
        {0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"},
        {0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"},
        {0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256"},
        {0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256"},
        {0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"},
        {0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"},
        {0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
        {0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"},
        {0x0015, "TLS_DHE_RSA_WITH_DES_CBC_SHA"},
        /* DHE_DSS */
        {0x00A2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256"},
        {0x00A3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384"},
        {0x0040, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256"},
        {0x006A, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256"},
        {0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA"},
        {0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA"},
        {0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA"},
        {0x0012, "TLS_DHE_DSS_WITH_DES_CBC_SHA"},
        {0x0063, "TLS_DHE_DSS_EXPORT1024_WITH_DES_CBC_SHA"},
        /* RSA key exchange */
        {0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256"},
        {0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384"},
        {0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256"},
        {0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256"},
        {0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA"},
        {0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"},
        {0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"},
        {0x0005, "TLS_RSA_WITH_RC4_128_SHA"},
        {0x0004, "TLS_RSA_WITH_RC4_128_MD5"},
        {0x0009, "TLS_RSA_WITH_DES_CBC_SHA"},
        {0x003B, "TLS_RSA_WITH_NULL_SHA256"},
        {0x0002, "TLS_RSA_WITH_NULL_SHA"},
        {0x0001, "TLS_RSA_WITH_NULL_MD5"},
        {0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5"},
        {0x0062, "TLS_RSA_EXPORT1024_WITH_DES_CBC_SHA"},
        {0x0064, "TLS_RSA_EXPORT1024_WITH_RC4_56_SHA"},
        /* PSK (Schannel lists them; none is enabled by default) */
        {0x00A8, "TLS_PSK_WITH_AES_128_GCM_SHA256"},
        {0x00A9, "TLS_PSK_WITH_AES_256_GCM_SHA384"},
        {0x00AE, "TLS_PSK_WITH_AES_128_CBC_SHA256"},
        {0x00AF, "TLS_PSK_WITH_AES_256_CBC_SHA384"},
        {0x00B0, "TLS_PSK_WITH_NULL_SHA256"},
        {0x00B1, "TLS_PSK_WITH_NULL_SHA384"},
};
#define N_SUITES (sizeof(suites) / sizeof(suites[0]))

const char *rw_profile_suite_name(uint16_t code)
{
	for (size_t i = 0; i < N_SUITES; i++)
		if (suites[i].code == code)
			return suites[i].name;
	return NULL;
}

int rw_profile_suite_code(const char *name, uint16_t *code)
{
	for (size_t i = 0; i < N_SUITES; i++)
		if (!strcmp(suites[i].name, name)) {
			*code = suites[i].code;
			return 0;
		}
	return -1;
}

const char *rw_profile_suite_at(size_t i, uint16_t *code)
{
	if (i >= N_SUITES)
		return NULL;
	if (code)
		*code = suites[i].code;
	return suites[i].name;
}

/* ---- values ---------------------------------------------------------------- */

/* The next token of a list ("a, b c,d"): *p moves past it. Returns its length,
 * 0 at the end. An empty item ("a,,b") is reported as length 0 with *empty. */
static size_t next_token(const char **p, const char **tok, bool *empty)
{
	const char *s = *p;
	*empty = false;
	while (rw_is_space(*s))
		s++;
	if (*s == ',') {
		*empty = true;
		*p = s + 1;
		return 0;
	}
	const char *start = s;
	while (*s && *s != ',' && !rw_is_space(*s))
		s++;
	size_t n = (size_t)(s - start);
	while (rw_is_space(*s))
		s++;
	if (*s == ',') {
		s++;
		/* "a," at the end is an empty item too */
		const char *t = s;
		while (rw_is_space(*t))
			t++;
		if (!*t)
			*empty = true;
	}
	*tok = start;
	*p = s;
	return n;
}

static bool tok_is(const char *t, size_t n, const char *word)
{
	return strlen(word) == n && !memcmp(t, word, n);
}

static const struct {
	const char *name;
	uint32_t bit;
} protocols[] = {
        {"rdp", RW_PROTO_RDP},
        {"ssl", RW_PROTO_SSL},
        {"hybrid", RW_PROTO_HYBRID},
        {"rdstls", RW_PROTO_RDSTLS},
        {"hybrid_ex", RW_PROTO_HYBRID_EX},
        {"rdsaad", RW_PROTO_RDSAAD},
};

static int parse_protocols(const char *v, uint32_t *out, char *err, size_t errlen)
{
	uint32_t bits = 0;
	bool rdp = false, any = false, empty;
	const char *p = v, *t;
	size_t n;
	while ((n = next_token(&p, &t, &empty)) > 0 || empty) {
		if (empty)
			return rw_conf_fail(err, errlen, "requested_protocols: empty item in '%s'",
			                    rw_show(v).s);
		size_t i;
		for (i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++)
			if (tok_is(t, n, protocols[i].name))
				break;
		if (i == sizeof(protocols) / sizeof(protocols[0]))
			return rw_conf_fail(err, errlen,
			                    "requested_protocols: unknown protocol '%s' (use rdp, "
			                    "ssl, hybrid, hybrid_ex, rdstls, rdsaad)",
			                    rw_show_n(t, n).s);
		if ((protocols[i].bit == RW_PROTO_RDP && rdp) || (bits & protocols[i].bit))
			return rw_conf_fail(err, errlen, "requested_protocols: '%s' listed twice",
			                    protocols[i].name);
		if (protocols[i].bit == RW_PROTO_RDP)
			rdp = true;
		bits |= protocols[i].bit;
		any = true;
	}
	if (!any)
		return rw_conf_fail(err, errlen,
		                    "requested_protocols: empty (e.g. ssl, hybrid, hybrid_ex)");
	if (rdp && bits)
		return rw_conf_fail(err, errlen,
		                    "requested_protocols: 'rdp' is the value 0 (Standard RDP "
		                    "Security only) and cannot be combined with other protocols");
	*out = bits;
	return 0;
}

static int parse_versions(const char *v, struct rw_profile *pr, char *err, size_t errlen)
{
	static const char *const names[] = {"1.0", "1.1", "1.2", "1.3"};
	bool seen[4] = {false, false, false, false};
	bool empty;
	const char *p = v, *t;
	size_t n;
	while ((n = next_token(&p, &t, &empty)) > 0 || empty) {
		if (empty)
			return rw_conf_fail(err, errlen, "tls_versions: empty item in '%s'",
			                    rw_show(v).s);
		int k = -1;
		for (int i = 0; i < 4; i++)
			if (tok_is(t, n, names[i]))
				k = i;
		if (k < 0)
			return rw_conf_fail(
			        err, errlen,
			        "tls_versions: unknown version '%s' (use 1.0, 1.1, 1.2, "
			        "1.3)",
			        rw_show_n(t, n).s);
		if (seen[k])
			return rw_conf_fail(err, errlen, "tls_versions: '%s' listed twice",
			                    names[k]);
		seen[k] = true;
	}
	pr->n_tls_versions = 0;
	for (int i = 0; i < 4; i++)
		if (seen[i])
			pr->tls_versions[pr->n_tls_versions++] = (uint16_t)(0x0301 + i);
	if (pr->n_tls_versions == 0)
		return rw_conf_fail(err, errlen, "tls_versions: empty (e.g. 1.2, 1.3)");
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Appends the suites of one "suites" line to pr. */
static int parse_suites(const char *v, struct rw_profile *pr, char *err, size_t errlen)
{
	bool empty, any = false;
	const char *p = v, *t;
	size_t n;
	while ((n = next_token(&p, &t, &empty)) > 0 || empty) {
		if (empty)
			return rw_conf_fail(err, errlen, "suites: empty item in '%s'",
			                    rw_show(v).s);
		uint16_t code = 0;
		if (n > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
			if (n != 6)
				return rw_conf_fail(err, errlen,
				                    "suites: '%s' is not a code point (use 4 hex "
				                    "digits, e.g. 0xC02F)",
				                    rw_show_n(t, n).s);
			for (size_t i = 2; i < n; i++) {
				int d = hex_digit(t[i]);
				if (d < 0)
					return rw_conf_fail(err, errlen,
					                    "suites: '%s' is not a code point (use "
					                    "4 hex digits, e.g. 0xC02F)",
					                    rw_show_n(t, n).s);
				code = (uint16_t)(code << 4 | (unsigned)d);
			}
			if (code == 0x00FF || code == 0x5600)
				return rw_conf_fail(err, errlen,
				                    "suites: 0x%04X is a signalling value, not a "
				                    "cipher suite (OpenSSL adds it itself)",
				                    code);
		} else {
			char name[64];
			bool known = n < sizeof(name);
			if (known) {
				memcpy(name, t, n);
				name[n] = 0;
				known = rw_profile_suite_code(name, &code) == 0;
			}
			if (!known)
				return rw_conf_fail(
				        err, errlen,
				        "suites: unknown cipher suite '%s' (use its IANA "
				        "name, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "
				        "or its code point, e.g. 0xC02F)",
				        rw_show_n(t, n).s);
		}
		for (size_t i = 0; i < pr->n_suites; i++)
			if (pr->suites[i] == code) {
				const char *nm = rw_profile_suite_name(code);
				if (nm)
					return rw_conf_fail(err, errlen,
					                    "suites: %s (0x%04X) listed twice", nm,
					                    code);
				return rw_conf_fail(err, errlen, "suites: 0x%04X listed twice",
				                    code);
			}
		if (pr->n_suites >= RW_PROFILE_MAX_SUITES)
			return rw_conf_fail(err, errlen, "suites: too many (max %d)",
			                    RW_PROFILE_MAX_SUITES);
		pr->suites[pr->n_suites++] = code;
		any = true;
	}
	if (!any)
		return rw_conf_fail(err, errlen, "suites: empty line (name at least one suite)");
	return 0;
}

/* OpenSSL list syntax: names joined by ':' ("X25519:P-256", "RSA+SHA256:
 * rsa_pss_rsae_sha256"). Only the characters are checked here; OpenSSL
 * judges the names when the probe uses them. */
static int parse_openssl_list(const char *key, const char *v, const char *extra, char *field,
                              size_t cap, char *err, size_t errlen)
{
	size_t n = strlen(v);
	if (n >= cap)
		return rw_conf_fail(err, errlen, "%s: '%s' is too long (max %zu characters)", key,
		                    rw_show(v).s, cap - 1);
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || rw_is_digit(c) ||
		      c == ':' || c == '-' || c == '_' || strchr(extra, c)))
			return rw_conf_fail(
			        err, errlen,
			        "%s: bad character '%c' in '%s' (an OpenSSL list: names "
			        "joined by ':')",
			        key, (c > 0x20 && c < 0x7f) ? c : '?', rw_show(v).s);
	}
	if (n && (v[0] == ':' || v[n - 1] == ':' || strstr(v, "::")))
		return rw_conf_fail(err, errlen, "%s: empty item in '%s'", key, rw_show(v).s);
	memcpy(field, v, n + 1);
	return 0;
}

/* ---- keys -------------------------------------------------------------------- */

enum key_id {
	K_NAME,
	K_SOURCE,
	K_PROTOCOLS,
	K_VERSIONS,
	K_SUITES,
	K_GROUPS,
	K_SIGALGS,
	K_KERBEROS,
	K_CERT_POLICY,
	N_KEYS
};

static const char *const key_names[N_KEYS] = {
        "name",    "source",   "requested_protocols", "tls_versions", "suites", "groups",
        "sigalgs", "kerberos", "cert_policy",
};

/* The parse in progress: the line each key was first set on (0: not set). */
struct state {
	struct rw_profile *pr;
	unsigned set_on[N_KEYS];
};

static int set_key(struct state *st, enum key_id k, const char *v, unsigned lineno, char *err,
                   size_t errlen)
{
	struct rw_profile *pr = st->pr;
	bool repeatable = k == K_SOURCE || k == K_SUITES;
	if (st->set_on[k] && !repeatable)
		return rw_conf_fail(err, errlen, "%s: already set on line %u", key_names[k],
		                    st->set_on[k]);
	if (!st->set_on[k])
		st->set_on[k] = lineno;
	switch (k) {
	case K_NAME: {
		size_t n = strlen(v);
		if (n == 0)
			return rw_conf_fail(err, errlen, "name: empty");
		if (n >= sizeof(pr->name))
			return rw_conf_fail(err, errlen,
			                    "name: '%s' is too long (max %zu characters)",
			                    rw_show(v).s, sizeof(pr->name) - 1);
		memcpy(pr->name, v, n + 1);
		return 0;
	}
	case K_SOURCE: {
		size_t n = strlen(v), have = strlen(pr->source);
		if (n == 0)
			return rw_conf_fail(err, errlen,
			                    "source: empty (name a URL or a document)");
		size_t need = have + (have ? 2 : 0) + n;
		if (need >= sizeof(pr->source))
			return rw_conf_fail(err, errlen,
			                    "source: too long (max %zu characters for all source "
			                    "lines together)",
			                    sizeof(pr->source) - 1);
		if (have) {
			memcpy(pr->source + have, "; ", 2);
			have += 2;
		}
		memcpy(pr->source + have, v, n + 1);
		return 0;
	}
	case K_PROTOCOLS:
		return parse_protocols(v, &pr->requested_protocols, err, errlen);
	case K_VERSIONS:
		return parse_versions(v, pr, err, errlen);
	case K_SUITES:
		return parse_suites(v, pr, err, errlen);
	case K_GROUPS:
		return parse_openssl_list("groups", v, "", pr->groups, sizeof(pr->groups), err,
		                          errlen);
	case K_SIGALGS:
		return parse_openssl_list("sigalgs", v, "+.", pr->sigalgs, sizeof(pr->sigalgs), err,
		                          errlen);
	case K_KERBEROS:
		if (rw_parse_bool(v, &pr->kerberos) < 0)
			return rw_conf_fail(err, errlen, "kerberos: expected yes or no, not '%s'",
			                    rw_show(v).s);
		return 0;
	case K_CERT_POLICY:
		if (!strcmp(v, "prompt"))
			pr->cert_policy = RW_CERT_PROMPT;
		else if (!strcmp(v, "refuse"))
			pr->cert_policy = RW_CERT_REFUSE;
		else
			return rw_conf_fail(err, errlen,
			                    "cert_policy: expected prompt or refuse, not '%s'",
			                    rw_show(v).s);
		return 0;
	case N_KEYS:
		break;
	}
	return rw_conf_fail(err, errlen, "internal error");
}

static int set_named(struct state *st, const char *key, const char *v, unsigned lineno, char *err,
                     size_t errlen)
{
	for (int k = 0; k < N_KEYS; k++)
		if (!strcmp(key, key_names[k]))
			return set_key(st, (enum key_id)k, v, lineno, err, errlen);
	return rw_conf_fail(err, errlen,
	                    "unknown key '%s' (keys: name, source, requested_protocols, "
	                    "tls_versions, suites, groups, sigalgs, kerberos, cert_policy)",
	                    rw_show(key).s);
}

/* ---- the file format (that of conf/config.c) -------------------------------- */

/* One line, line ending removed: "key = value", a comment or blank. */
static int parse_line(struct state *st, char *line, unsigned lineno, char *err, size_t errlen)
{
	char *key, *value;
	if (rw_conf_split_line(line, &key, &value, err, errlen) < 0)
		return -1;
	if (!key)
		return 0;
	return set_named(st, key, value, lineno, err, errlen);
}

static int parse_text(const char *id, const char *label, const char *text, size_t len,
                      struct rw_profile *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	size_t idlen = strlen(id);
	if (idlen == 0 || idlen >= sizeof(out->id))
		return rw_conf_fail(err, errlen,
		                    "%s: the profile id '%s' must have 1 to %zu characters", label,
		                    rw_show(id).s, sizeof(out->id) - 1);
	memcpy(out->id, id, idlen + 1);
	out->cert_policy = RW_CERT_PROMPT;

	struct state st = {.pr = out};
	char line[LINE_MAX_CHARS + 2];
	char msg[MSG_MAX];
	size_t off = 0;
	unsigned lineno = 0;
	while (off < len) {
		lineno++;
		size_t start = off, n = 0;
		bool nul = false;
		while (off < len && text[off] != '\n') {
			if (text[off] == 0)
				nul = true;
			off++;
		}
		n = off - start;
		if (off < len)
			off++; /* the '\n' */
		if (n > 0 && text[start + n - 1] == '\r')
			n--;
		if (n > LINE_MAX_CHARS)
			return rw_conf_fail(err, errlen, "%s:%u: line too long (max %d characters)",
			                    label, lineno, LINE_MAX_CHARS);
		if (nul)
			return rw_conf_fail(err, errlen, "%s:%u: NUL byte in line", label, lineno);
		memcpy(line, text + start, n);
		line[n] = 0;
		char *l = line;
		if (lineno == 1 && !strncmp(l, "\xef\xbb\xbf", 3)) /* UTF-8 BOM */
			l += 3;
		for (char *q = l; *q; q++)
			if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f)
				return rw_conf_fail(err, errlen,
				                    "%s:%u: control character 0x%02x in line",
				                    label, lineno, (unsigned char)*q);
		if (parse_line(&st, l, lineno, msg, sizeof(msg)) < 0)
			return rw_conf_fail(err, errlen, "%s:%u: %s", label, lineno, msg);
	}

	static const struct {
		enum key_id k;
		const char *why;
	} required[] = {
	        {K_NAME, "the client's name, e.g. name = \"Windows 11 mstsc\""},
	        {K_SOURCE, "where the values come from: a URL or a document"},
	        {K_PROTOCOLS, "the RDP_NEG_REQ protocols, e.g. ssl, hybrid, hybrid_ex"},
	        {K_VERSIONS, "the TLS versions offered, e.g. 1.2, 1.3"},
	        {K_SUITES, "the cipher suites offered, in order"},
	};
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!st.set_on[required[i].k])
			return rw_conf_fail(err, errlen, "%s: missing key '%s' (%s)", label,
			                    key_names[required[i].k], required[i].why);
	return 0;
}

int rw_profile_parse(const char *id, const char *text, size_t len, struct rw_profile *out,
                     char *err, size_t errlen)
{
	return parse_text(id, id, text, len, out, err, errlen);
}

/* ---- the directory ------------------------------------------------------------ */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_profile_name(const char *n)
{
	size_t len = strlen(n);
	return n[0] != '.' && len > 5 && !strcmp(n + len - 5, ".conf");
}

/* Reads a whole regular file of at most PROFILE_MAX_BYTES into a malloc'd
 * buffer. */
static int read_profile(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return rw_conf_fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fileno(f), &st) < 0) {
		int e = errno;
		fclose(f);
		return rw_conf_fail(err, errlen, "%s: cannot stat: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		fclose(f);
		return rw_conf_fail(err, errlen, "%s: not a regular file", path);
	}
	if (st.st_size > PROFILE_MAX_BYTES) {
		fclose(f);
		return rw_conf_fail(err, errlen, "%s: too large (%lld bytes, max %d)", path,
		                    (long long)st.st_size, PROFILE_MAX_BYTES);
	}
	/* One byte more than the cap: a file that grew since fstat is caught. */
	char *b = malloc(PROFILE_MAX_BYTES + 1);
	if (!b) {
		fclose(f);
		return rw_conf_fail(err, errlen, "%s: out of memory", path);
	}
	size_t n = fread(b, 1, PROFILE_MAX_BYTES + 1, f);
	if (ferror(f)) {
		int e = errno;
		free(b);
		fclose(f);
		return rw_conf_fail(err, errlen, "%s: cannot read: %s", path, strerror(e));
	}
	fclose(f);
	if (n > PROFILE_MAX_BYTES) {
		free(b);
		return rw_conf_fail(err, errlen, "%s: too large (more than %d bytes)", path,
		                    PROFILE_MAX_BYTES);
	}
	*buf = b;
	*len = n;
	return 0;
}

int rw_profiles_load(const char *dir, struct rw_profile **out, size_t *n, char *err, size_t errlen)
{
	*out = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return rw_conf_fail(err, errlen, "%s: cannot open the profile directory: %s", dir,
		                    strerror(errno));
	char **names = NULL;
	size_t count = 0, cap = 0;
	int rc = 0;
	struct dirent *e;
	errno = 0;
	while ((e = readdir(d)) != NULL) {
		if (!is_profile_name(e->d_name))
			continue;
		if (count == PROFILES_MAX) {
			rc = rw_conf_fail(err, errlen, "%s: too many profiles (max %d)", dir,
			                  PROFILES_MAX);
			break;
		}
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			char **nn = realloc(names, cap * sizeof(*names));
			if (!nn) {
				rc = rw_conf_fail(err, errlen, "%s: out of memory", dir);
				break;
			}
			names = nn;
		}
		if (!(names[count] = strdup(e->d_name))) {
			rc = rw_conf_fail(err, errlen, "%s: out of memory", dir);
			break;
		}
		count++;
	}
	if (rc == 0 && errno != 0)
		rc = rw_conf_fail(err, errlen, "%s: cannot read the directory: %s", dir,
		                  strerror(errno));
	closedir(d);
	if (rc == 0 && count == 0)
		rc = rw_conf_fail(err, errlen, "%s: no profile (*.conf) in the directory", dir);

	struct rw_profile *profiles = NULL;
	if (rc == 0) {
		qsort(names, count, sizeof(*names), cmp_names);
		profiles = calloc(count, sizeof(*profiles));
		if (!profiles)
			rc = rw_conf_fail(err, errlen, "%s: out of memory", dir);
	}
	for (size_t i = 0; rc == 0 && i < count; i++) {
		size_t plen = strlen(dir) + strlen(names[i]) + 2;
		char *path = malloc(plen);
		char *text = NULL;
		size_t tlen = 0;
		if (!path) {
			rc = rw_conf_fail(err, errlen, "%s: out of memory", dir);
			break;
		}
		snprintf(path, plen, "%s/%s", dir, names[i]);
		names[i][strlen(names[i]) - 5] = 0; /* the id: without ".conf" */
		rc = read_profile(path, &text, &tlen, err, errlen);
		if (rc == 0)
			rc = parse_text(names[i], path, text, tlen, &profiles[i], err, errlen);
		for (size_t j = 0; rc == 0 && j < i; j++)
			if (!strcmp(profiles[j].name, profiles[i].name))
				rc = rw_conf_fail(err, errlen,
				                  "%s: name '%s' is already the name of profile %s",
				                  path, rw_show(profiles[i].name).s,
				                  profiles[j].id);
		free(text);
		free(path);
	}
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	if (rc < 0) {
		free(profiles);
		return -1;
	}
	*out = profiles;
	*n = count;
	return 0;
}
