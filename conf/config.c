/* The proxy's configuration: defaults, the "key = value" file format and the
 * checks that run before start-up. No globals, no printing, no exit(): every
 * error is a message in the caller's buffer. The address parsing is in
 * config_addr.c, the printout in config_format.c. */
#include "config.h"
#include "config_impl.h"
#include "output_spec.h"
#include "values.h"

#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>

#define LINE_MAX_CHARS 4096 /* longest line accepted, without its line ending */
#define KEY_MAX        32   /* longer keys are unknown anyway */

static int parse_sha256(const char *v, char out[65], char *err, size_t errlen)
{
	char hex[65];
	size_t n = 0;
	for (const char *p = v; *p; p++) {
		char ch = *p;
		if (ch == ':')
			continue;
		if (ch >= 'A' && ch <= 'F')
			ch = (char)(ch - 'A' + 'a');
		if (!rw_is_digit(ch) && !(ch >= 'a' && ch <= 'f'))
			return rw_conf_fail(
			        err, errlen,
			        "expected_cert_sha256: bad character '%c' (use 64 hex digits, "
			        "colons allowed)",
			        (ch >= 0x20 && ch < 0x7f) ? ch : '?');
		if (n < 64)
			hex[n] = ch;
		n++;
	}
	if (n != 64)
		return rw_conf_fail(
		        err, errlen,
		        "expected_cert_sha256: %zu hex digits, a SHA-256 fingerprint has 64", n);
	memcpy(out, hex, 64);
	out[64] = 0;
	return 0;
}

/* ---- the key table ----------------------------------------------------- */

/* Values of the K_CHOICE keys, in the order of their numbers. */
static const char *const choices[][4] = {
        {"drop-oldest", "drop-newest", NULL},
        {"json", "rfc5424", "cef", NULL},
        {"nested", "flat", NULL},
};

#define F(f) offsetof(struct rw_proxy_config, f)
#define S(f) sizeof(((struct rw_proxy_config *)0)->f)
static const struct key keys[] = {
        {"listen", K_LISTEN, 0, 0, 0},
        {"upstream", K_UPSTREAM, 0, 0, 0},
        {"transparent", K_MODE, 0, 0, RW_UPSTREAM_TRANSPARENT},
        {"tproxy", K_MODE, 0, 0, RW_UPSTREAM_TPROXY},
        {"output", K_OUTPUT, 0, 0, 0},
        {"format", K_FORMAT, 0, 0, 0},
        {"json_style", K_CHOICE, F(json_style), 0, 2},
        {"pcap_dir", K_STRING, F(pcap_dir), S(pcap_dir), 0},
        {"pcap_max_file", K_SIZE, F(pcap_max_file), 0, 0},
        {"pcap_max_total", K_SIZE, F(pcap_max_total), 0, 0},
        {"pcap_queue_max", K_SIZE, F(pcap_queue_max), 0, 65536},
        {"user", K_STRING, F(user), S(user), 0},
        {"syslog", K_BOOL, F(syslog), 0, 0},
        {"connect_timeout", K_DURATION, F(connect_timeout_ms), 0, 0},
        {"x224_timeout", K_DURATION, F(x224_timeout_ms), 0, 0},
        {"tls_timeout", K_DURATION, F(tls_timeout_ms), 0, 0},
        {"nla_timeout", K_DURATION, F(nla_timeout_ms), 0, 0},
        {"rdp_timeout", K_DURATION, F(rdp_timeout_ms), 0, 0},
        {"idle_timeout", K_DURATION, F(idle_timeout_ms), 0, 0},
        {"prompt_timeout", K_DURATION, F(prompt_timeout_ms), 0, 0},
        /* The kernel's limits: TCP_KEEPIDLE and TCP_KEEPINTVL 1-32767 s,
         * TCP_KEEPCNT 1-127, TCP_USER_TIMEOUT an int of ms. */
        {"keepalive_idle", K_SECONDS, F(keepalive_idle_ms), 0, 32767},
        {"keepalive_interval", K_SECONDS, F(keepalive_interval_ms), 1, 32767},
        {"keepalive_count", K_COUNT, F(keepalive_count), 1, 127},
        {"user_timeout", K_DURATION, F(user_timeout_ms), 0, INT_MAX},
        {"grace", K_DURATION, F(grace_ms), 0, 0},
        {"max_buffer", K_SIZE, F(max_buffer), 0, RW_CONF_MIN_BUFFER},
        {"max_connections", K_COUNT, F(max_connections), 0, 0},
        {"workers", K_COUNT, F(workers), 0, 1024},
        {"expected_cert_sha256", K_SHA256, F(expected_cert_sha256), 0, 0},
        {"inspect_cert", K_STRING, F(inspect_cert), S(inspect_cert), 0},
        {"inspect_key", K_STRING, F(inspect_key), S(inspect_key), 0},
        {"keylog", K_STRING, F(keylog), S(keylog), 0},
        {"siem_ca_file", K_STRING, F(siem_ca_file), S(siem_ca_file), 0},
        {"siem_cert_file", K_STRING, F(siem_cert_file), S(siem_cert_file), 0},
        {"siem_key_file", K_STRING, F(siem_key_file), S(siem_key_file), 0},
        {"siem_spool_dir", K_STRING, F(siem_spool_dir), S(siem_spool_dir), 0},
        {"siem_spool_max", K_SIZE, F(siem_spool_max), 0, 4096},
        {"siem_spool_policy", K_CHOICE, F(siem_spool_policy), 0, 0},
        {"siem_format", K_CHOICE, F(siem_format), 0, 1},
        {"siem_flush_timeout", K_DURATION, F(siem_flush_ms), 0, 0},
};
#undef F
#undef S
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

/* The table as config_format.c sees it (config_impl.h). */
const struct key *const rw_conf_keys = keys;
const size_t rw_conf_n_keys = N_KEYS;
const char *const (*const rw_conf_choices)[4] = choices;

const char *rw_config_key(size_t i)
{
	return i < N_KEYS ? keys[i].name : NULL;
}

const char *rw_upstream_mode_name(enum rw_upstream_mode m)
{
	switch (m) {
	case RW_UPSTREAM_NONE:
		return "none";
	case RW_UPSTREAM_FIXED:
		return "fixed";
	case RW_UPSTREAM_TRANSPARENT:
		return "transparent";
	case RW_UPSTREAM_TPROXY:
		return "tproxy";
	}
	return "?";
}

/* The key that selects a mode, for "A and B are exclusive". */
static const char *mode_key(enum rw_upstream_mode m)
{
	return m == RW_UPSTREAM_FIXED ? "upstream" : rw_upstream_mode_name(m);
}

static unsigned edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned row[KEY_MAX + 1];
	if (la > KEY_MAX || lb > KEY_MAX)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];
		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static int unknown_key(const char *key, char *err, size_t errlen)
{
	const char *best = NULL;
	unsigned best_d = 3; /* suggest only close matches */
	for (size_t i = 0; i < N_KEYS; i++) {
		unsigned d = edit_distance(key, keys[i].name);
		if (d < best_d) {
			best_d = d;
			best = keys[i].name;
		}
	}
	if (best)
		return rw_conf_fail(err, errlen, "unknown key '%s' (did you mean '%s'?)",
		                    rw_show(key).s, best);
	return rw_conf_fail(err, errlen, "unknown key '%s'", rw_show(key).s);
}

static int set_mode(struct rw_proxy_config *c, enum rw_upstream_mode m, char *err, size_t errlen)
{
	if (c->mode != RW_UPSTREAM_NONE && c->mode != m)
		return rw_conf_fail(err, errlen, "%s and %s are exclusive", mode_key(c->mode),
		                    mode_key(m));
	c->mode = m;
	return 0;
}

/* The number of v among the values of the K_CHOICE key k, or -1. */
static int choice_index(const struct key *k, const char *v)
{
	for (int i = 0; choices[k->arg][i]; i++)
		if (!strcmp(v, choices[k->arg][i]))
			return i;
	return -1;
}

/* Whether `key = "v"` as rw_config_format writes it back (a quote or a
 * backslash escaped) fits in a line this parser reads: what --check-config
 * -v prints must load again. */
static bool fits_written_back(const char *key, const char *v)
{
	return rw_conf_quoted_len(key, v) <= LINE_MAX_CHARS;
}

static int too_long_written_back(const struct key *k, const char *v, char *err, size_t errlen)
{
	return rw_conf_fail(err, errlen,
	                    "%s: '%s' is too long to be written back on one line (max %d "
	                    "characters with the key, a quote or backslash counting twice)",
	                    k->name, rw_show(v).s, LINE_MAX_CHARS);
}

static int set_key(struct rw_proxy_config *c, const struct key *k, const char *v, char *err,
                   size_t errlen)
{
	char *field = (char *)c + k->off;
	int r;
	switch (k->kind) {
	case K_LISTEN: {
		if (c->n_listen >= RW_CONF_MAX_LISTEN)
			return rw_conf_fail(err, errlen, "listen: too many addresses (max %d)",
			                    RW_CONF_MAX_LISTEN);
		struct rw_listen l;
		char msg[RW_CONF_ERR];
		if (rw_parse_listen(v, &l, msg, sizeof(msg)) < 0)
			return rw_conf_fail(err, errlen, "listen: %s", msg);
		for (size_t i = 0; i < c->n_listen; i++)
			if (c->listen[i].addr_len == l.addr_len &&
			    !memcmp(&c->listen[i].addr, &l.addr, l.addr_len))
				return rw_conf_fail(err, errlen,
				                    "listen: '%s' is already listed as '%s'",
				                    l.text, c->listen[i].text);
		c->listen[c->n_listen++] = l;
		return 0;
	}
	case K_UPSTREAM: {
		_Static_assert(sizeof(c->upstream_host) == 256 && sizeof(c->upstream_port) == 16,
		               "rw_conf_parse_upstream's buffers");
		char host[256] = "", port[16] = "";
		if (c->mode != RW_UPSTREAM_NONE && c->mode != RW_UPSTREAM_FIXED)
			return set_mode(c, RW_UPSTREAM_FIXED, err, errlen);
		if (rw_conf_parse_upstream(v, host, port, err, errlen) < 0)
			return -1;
		memcpy(c->upstream_host, host, sizeof(host));
		memcpy(c->upstream_port, port, sizeof(port));
		return set_mode(c, RW_UPSTREAM_FIXED, err, errlen);
	}
	case K_MODE: {
		bool on;
		if (rw_parse_bool(v, &on) < 0)
			return rw_conf_fail(err, errlen, "%s: expected yes or no, not '%s'",
			                    k->name, rw_show(v).s);
		if (on)
			return set_mode(c, (enum rw_upstream_mode)k->arg, err, errlen);
		if (c->mode == (enum rw_upstream_mode)k->arg)
			c->mode = RW_UPSTREAM_NONE;
		return 0;
	}
	case K_OUTPUT: {
		struct rw_output_spec spec, other;
		char e[RW_CONF_ERR];
		if (rw_output_spec_parse(v, &spec, e, sizeof(e)) < 0)
			return rw_conf_fail(err, errlen, "output: %s", e);
		if (strlen(v) >= sizeof(c->outputs[0]))
			return rw_conf_fail(err, errlen, "output: '%s' is too long", rw_show(v).s);
		if (!fits_written_back(k->name, v))
			return too_long_written_back(k, v, err, errlen);
		if (c->n_outputs >= RW_CONF_MAX_OUTPUTS)
			return rw_conf_fail(err, errlen, "output: too many outputs (max %d)",
			                    RW_CONF_MAX_OUTPUTS);
		for (size_t i = 0; i < c->n_outputs; i++)
			if (rw_output_spec_parse(c->outputs[i], &other, NULL, 0) == 0 &&
			    !strcmp(other.target, spec.target))
				return rw_conf_fail(err, errlen, "output: '%s' is already listed",
				                    rw_show(spec.target).s);
		memcpy(c->outputs[c->n_outputs++], v, strlen(v) + 1);
		return 0;
	}
	case K_FORMAT:
		if (!strcmp(v, "text"))
			c->json = false;
		else if (!strcmp(v, "json"))
			c->json = true;
		else
			return rw_conf_fail(err, errlen, "format: expected text or json, not '%s'",
			                    rw_show(v).s);
		return 0;
	case K_STRING:
		if (strlen(v) >= k->cap)
			return rw_conf_fail(err, errlen,
			                    "%s: '%s' is too long (max %zu characters)", k->name,
			                    rw_show(v).s, k->cap - 1);
		if (!fits_written_back(k->name, v))
			return too_long_written_back(k, v, err, errlen);
		memset(field, 0, k->cap);
		memcpy(field, v, strlen(v));
		return 0;
	case K_BOOL:
		if (rw_parse_bool(v, (bool *)(void *)field) < 0)
			return rw_conf_fail(err, errlen, "%s: expected yes or no, not '%s'",
			                    k->name, rw_show(v).s);
		return 0;
	case K_DURATION:
	case K_SECONDS: {
		unsigned ms;
		r = rw_parse_duration_ms(v, &ms);
		if (r == -2)
			return rw_conf_fail(err, errlen,
			                    "%s: duration '%s' is too long (max 1193h)", k->name,
			                    rw_show(v).s);
		if (r < 0)
			return rw_conf_fail(err, errlen,
			                    "%s: bad duration '%s' (use e.g. 10s, 500ms)", k->name,
			                    rw_show(v).s);
		if (k->kind == K_DURATION && k->arg && ms > k->arg)
			return rw_conf_fail(
			        err, errlen,
			        "%s: duration '%s' is too long (max %uh, the kernel's limit)",
			        k->name, rw_show(v).s, k->arg / 3600000u);
		if (k->kind == K_SECONDS && ms % 1000)
			return rw_conf_fail(err, errlen,
			                    "%s: '%s' is not a whole number of seconds (TCP counts "
			                    "these in seconds)",
			                    k->name, rw_show(v).s);
		if (k->kind == K_SECONDS &&
		    (ms / 1000 > k->arg || (ms && ms / 1000 < k->cap) || (!ms && k->cap)))
			return rw_conf_fail(err, errlen, "%s: '%s' is out of range (%s%zus-%us)",
			                    k->name, rw_show(v).s, k->cap ? "" : "0 or ",
			                    k->cap ? k->cap : 1, k->arg);
		*(unsigned *)(void *)field = ms;
		return 0;
	}
	case K_SIZE: {
		size_t n;
		r = rw_parse_size(v, &n);
		if (r == -2)
			return rw_conf_fail(err, errlen, "%s: size '%s' is too large", k->name,
			                    rw_show(v).s);
		if (r < 0)
			return rw_conf_fail(err, errlen,
			                    "%s: bad size '%s' (use e.g. 262144, 256k, 1M)",
			                    k->name, rw_show(v).s);
		if (n < k->arg)
			return rw_conf_fail(err, errlen, "%s: %s is below the minimum of %u bytes",
			                    k->name, rw_show(v).s, k->arg);
		*(size_t *)(void *)field = n;
		return 0;
	}
	case K_COUNT: {
		uint64_t n;
		r = rw_parse_uint(v, strlen(v), UINT_MAX, &n);
		if (r == -2)
			return rw_conf_fail(err, errlen, "%s: '%s' is too large (max %u)", k->name,
			                    rw_show(v).s, UINT_MAX);
		if (r < 0)
			return rw_conf_fail(err, errlen, "%s: expected a number, not '%s'", k->name,
			                    rw_show(v).s);
		if (n < k->cap || (k->arg && n > k->arg))
			return rw_conf_fail(err, errlen, "%s: %s is out of range (%zu-%u)", k->name,
			                    rw_show(v).s, k->cap, k->arg);
		*(unsigned *)(void *)field = (unsigned)n;
		return 0;
	}
	case K_CHOICE: {
		int i = choice_index(k, v);
		if (i >= 0) {
			*(unsigned *)(void *)field = (unsigned)i;
			return 0;
		}
		if (choices[k->arg][2])
			return rw_conf_fail(err, errlen, "%s: expected %s, %s or %s, not '%s'",
			                    k->name, choices[k->arg][0], choices[k->arg][1],
			                    choices[k->arg][2], rw_show(v).s);
		return rw_conf_fail(err, errlen, "%s: expected %s or %s, not '%s'", k->name,
		                    choices[k->arg][0], choices[k->arg][1], rw_show(v).s);
	}
	case K_SHA256:
		if (!*v) {
			memset(field, 0, sizeof(c->expected_cert_sha256));
			return 0;
		}
		return parse_sha256(v, field, err, errlen);
	}
	return rw_conf_fail(err, errlen, "%s: internal error", k->name);
}

int rw_config_set(struct rw_proxy_config *c, const char *key, const char *value, char *err,
                  size_t errlen)
{
	char name[KEY_MAX + 1];
	size_t n = strlen(key);
	if (n > KEY_MAX)
		return unknown_key(key, err, errlen);
	/* "pcap-dir" (a flag's spelling) is "pcap_dir". */
	for (size_t i = 0; i <= n; i++)
		name[i] = key[i] == '-' ? '_' : key[i];
	for (size_t i = 0; i < N_KEYS; i++)
		if (!strcmp(name, keys[i].name))
			return set_key(c, &keys[i], value, err, errlen);
	return unknown_key(name, err, errlen);
}

int rw_config_choice(const char *key, const char *v)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (keys[i].kind == K_CHOICE && !strcmp(key, keys[i].name))
			return choice_index(&keys[i], v);
	return -1;
}

int rw_config_apply_flags(struct rw_proxy_config *c, const char *const *flag_keys,
                          const char *const *values, size_t n, char *err, size_t errlen)
{
	bool cleared_listen = false, cleared_output = false, cleared_mode = false;
	for (size_t i = 0; i < n; i++) {
		char e[RW_CONF_ERR];
		const char *k = flag_keys[i];
		if (!strcmp(k, "listen") && !cleared_listen) {
			c->n_listen = 0;
			cleared_listen = true;
		} else if (!strcmp(k, "output") && !cleared_output) {
			c->n_outputs = 0;
			cleared_output = true;
		} else if ((!strcmp(k, "upstream") || !strcmp(k, "transparent") ||
		            !strcmp(k, "tproxy")) &&
		           !cleared_mode) {
			c->mode = RW_UPSTREAM_NONE;
			cleared_mode = true;
		}
		if (rw_config_set(c, k, values[i], e, sizeof(e)) < 0) {
			/* The setter names its key; the flag is named once. */
			size_t kl = strlen(k);
			const char *msg = !strncmp(e, k, kl) && e[kl] == ':' && e[kl + 1] == ' '
			                          ? e + kl + 2
			                          : e;
			snprintf(err, errlen, "--%s: %s", k, msg);
			return -1;
		}
	}
	return 0;
}

/* Where tcp://, tls:// and kafka:// outputs spool when nothing says: the
 * state directory of a daemon as root, the user's own otherwise (the XDG
 * base directory rules); none when neither can be told. */
static void default_spool_base(char *out, size_t n)
{
	out[0] = '\0';
	const char *x = getenv("XDG_STATE_HOME"), *h = getenv("HOME");
	if (geteuid() == 0)
		snprintf(out, n, "/var/lib/rdpwhy/spool");
	else if (x && x[0] == '/')
		snprintf(out, n, "%s/rdpwhy/spool", x);
	else if (h && h[0] == '/')
		snprintf(out, n, "%s/.local/state/rdpwhy/spool", h);
}

void rw_config_defaults(struct rw_proxy_config *c)
{
	memset(c, 0, sizeof(*c));
	default_spool_base(c->siem_spool_dir, sizeof(c->siem_spool_dir));
	c->mode = RW_UPSTREAM_NONE;
	c->json = false;
	c->connect_timeout_ms = 10000;
	c->x224_timeout_ms = 30000;
	c->tls_timeout_ms = 30000;
	c->nla_timeout_ms = 60000;
	c->rdp_timeout_ms = 60000;
	c->idle_timeout_ms = 2 * 3600 * 1000;
	c->prompt_timeout_ms = 5 * 60 * 1000;
	c->keepalive_idle_ms = 60 * 1000;
	c->keepalive_interval_ms = 10 * 1000;
	c->keepalive_count = 6;
	c->user_timeout_ms = 120 * 1000;
	c->grace_ms = 10000;
	c->max_buffer = 256 * 1024;
	c->max_connections = 0;
	c->workers = 1;
	c->siem_spool_max = 64 * 1024 * 1024;
	c->pcap_max_file = (size_t)256 * 1024 * 1024;
	c->pcap_max_total = (size_t)4 * 1024 * 1024 * 1024;
	c->pcap_queue_max = 64 * 1024 * 1024;
	c->siem_spool_policy = RW_CONF_DROP_OLDEST;
	c->siem_format = RW_CONF_SIEM_JSON;
	c->siem_flush_ms = 5000;
}

/* ---- the file format ----------------------------------------------------- */

/* One line, line ending already removed: "key = value", a comment or blank. */
static int parse_line(struct rw_proxy_config *c, char *line, char *err, size_t errlen)
{
	char *key, *value;
	if (rw_conf_split_line(line, &key, &value, err, errlen) < 0)
		return -1;
	if (!key)
		return 0;
	return rw_config_set(c, key, value, err, errlen);
}

/* Lines come from a FILE or from memory. */
struct reader {
	FILE *f;
	const char *p;
	size_t n, off;
};

static int next_char(struct reader *r)
{
	if (r->f)
		return getc(r->f);
	return r->off < r->n ? (unsigned char)r->p[r->off++] : EOF;
}

static int parse_lines(struct reader *r, const char *name, struct rw_proxy_config *c, char *err,
                       size_t errlen)
{
	char line[LINE_MAX_CHARS + 2]; /* the longest line, its CR, the NUL */
	char msg[RW_CONF_ERR];
	for (unsigned lineno = 1;; lineno++) {
		size_t len = 0, total = 0;
		int ch;
		bool nul = false;
		while ((ch = next_char(r)) != EOF && ch != '\n') {
			if (len < sizeof(line) - 1)
				line[len++] = (char)ch;
			total++;
			if (ch == 0)
				nul = true;
		}
		if (ch == EOF && total == 0)
			return 0;
		if (len > 0 && line[len - 1] == '\r') {
			len--;
			total--;
		}
		line[len] = 0;
		if (total > LINE_MAX_CHARS)
			return rw_conf_fail(err, errlen, "%s:%u: line too long (max %d characters)",
			                    name, lineno, LINE_MAX_CHARS);
		if (nul)
			return rw_conf_fail(err, errlen, "%s:%u: NUL byte in line", name, lineno);
		char *text = line;
		if (lineno == 1 && !strncmp(text, "\xef\xbb\xbf", 3)) /* UTF-8 BOM */
			text += 3;
		for (char *q = text; *q; q++)
			if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f)
				return rw_conf_fail(err, errlen,
				                    "%s:%u: control character 0x%02x in line", name,
				                    lineno, (unsigned char)*q);
		if (parse_line(c, text, msg, sizeof(msg)) < 0)
			return rw_conf_fail(err, errlen, "%s:%u: %s", name, lineno, msg);
		if (ch == EOF)
			return 0;
	}
}

int rw_config_parse(const char *name, const char *text, size_t len, struct rw_proxy_config *c,
                    char *err, size_t errlen)
{
	struct reader r = {.p = text, .n = len};
	return parse_lines(&r, name, c, err, errlen);
}

int rw_config_load(const char *path, struct rw_proxy_config *c, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return rw_conf_fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
	struct reader r = {.f = f};
	int rc = parse_lines(&r, path, c, err, errlen);
	if (rc == 0 && ferror(f))
		rc = rw_conf_fail(err, errlen, "%s: cannot read: %s", path, strerror(errno));
	fclose(f);
	return rc;
}

/* ---- checks -------------------------------------------------------------- */

static bool is_any(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	return IN6_IS_ADDR_UNSPECIFIED(a);
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* A fixed upstream that is one of our own listeners would connect to itself
 * for ever. Only numeric upstreams can be checked before resolution. */
static const struct rw_listen *upstream_loop(const struct rw_proxy_config *c)
{
	struct rw_listen up;
	char text[300], ignored[RW_CONF_ERR];
	bool v6 = strchr(c->upstream_host, ':') != NULL;
	snprintf(text, sizeof(text), v6 ? "[%s]:%s" : "%s:%s", c->upstream_host, c->upstream_port);
	if (rw_parse_listen(text, &up, ignored, sizeof(ignored)) < 0)
		return NULL; /* a name */
	bool up_loopback =
	        up.addr.ss_family == AF_INET
	                ? (ntohl(((struct sockaddr_in *)&up.addr)->sin_addr.s_addr) >> 24) == 127
	                : IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&up.addr)->sin6_addr);
	for (size_t i = 0; i < c->n_listen; i++) {
		const struct rw_listen *l = &c->listen[i];
		if (port_of(&l->addr) != port_of(&up.addr))
			continue;
		bool same_family = l->addr.ss_family == up.addr.ss_family || l->dual_stack;
		if (is_any(&l->addr) && same_family && (up_loopback || is_any(&up.addr)))
			return l;
		if (l->addr.ss_family != up.addr.ss_family)
			continue;
		if (up.addr.ss_family == AF_INET
		            ? ((struct sockaddr_in *)&l->addr)->sin_addr.s_addr ==
		                      ((struct sockaddr_in *)&up.addr)->sin_addr.s_addr
		            : IN6_ARE_ADDR_EQUAL(&((struct sockaddr_in6 *)&l->addr)->sin6_addr,
		                                 &((struct sockaddr_in6 *)&up.addr)->sin6_addr))
			return l;
	}
	return NULL;
}

int rw_config_validate_outputs(const struct rw_proxy_config *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->n_outputs; i++) {
		struct rw_output_spec s;
		char e[RW_CONF_ERR];
		if (rw_output_spec_parse(c->outputs[i], &s, e, sizeof(e)) < 0 ||
		    rw_output_spec_resolve(&s, c, e, sizeof(e)) < 0)
			return rw_conf_fail(err, errlen, "output %s", e);
	}
	return 0;
}

int rw_config_validate(const struct rw_proxy_config *c, char *err, size_t errlen)
{
	if (c->n_listen == 0)
		return rw_conf_fail(err, errlen,
		                    "no listen address: set listen = ADDR:PORT (e.g. :3389)");
	switch (c->mode) {
	case RW_UPSTREAM_NONE:
		return rw_conf_fail(err, errlen,
		                    "no upstream: set upstream = HOST:PORT, transparent = yes or "
		                    "tproxy = yes");
	case RW_UPSTREAM_FIXED: {
		if (!c->upstream_host[0] || !c->upstream_port[0])
			return rw_conf_fail(err, errlen, "upstream: no host or port");
		const struct rw_listen *l = upstream_loop(c);
		if (l)
			return rw_conf_fail(
			        err, errlen,
			        strchr(c->upstream_host, ':')
			                ? "upstream: [%s]:%s is rdpwhy's own listener %s (a loop)"
			                : "upstream: %s:%s is rdpwhy's own listener %s (a loop)",
			        c->upstream_host, c->upstream_port, l->text);
		break;
	}
	case RW_UPSTREAM_TRANSPARENT:
	case RW_UPSTREAM_TPROXY:
		break;
	}
	if (c->max_buffer < RW_CONF_MIN_BUFFER)
		return rw_conf_fail(err, errlen, "max_buffer: %zu is below the minimum of %d bytes",
		                    c->max_buffer, RW_CONF_MIN_BUFFER);
	if (rw_config_validate_outputs(c, err, errlen) < 0)
		return -1;
	if (c->pcap_dir[0]) {
		struct stat st;
		if (stat(c->pcap_dir, &st) < 0)
			return rw_conf_fail(err, errlen, "pcap_dir: '%s': %s",
			                    rw_show(c->pcap_dir).s, strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return rw_conf_fail(err, errlen, "pcap_dir: '%s' is not a directory",
			                    rw_show(c->pcap_dir).s);
	}
	return 0;
}
