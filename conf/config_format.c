/* rw_config_format: the effective configuration printed back as a config file
 * (--check-config -v, and the round trip the tests read back). Apart from
 * config.c because printing is not parsing: only the put_* helpers live here. */
#include "config.h"
#include "config_impl.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* ---- writing a config back ------------------------------------------------ */

struct out {
	char *buf;
	size_t cap, len;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t room = o->len < o->cap ? o->cap - o->len : 0;
	int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

static void put_quoted(struct out *o, const char *key, const char *v)
{
	put(o, "%s = \"", key);
	for (; *v; v++)
		put(o, "%s%c", (*v == '"' || *v == '\\') ? "\\" : "", *v);
	put(o, "\"\n");
}

size_t rw_conf_quoted_len(const char *key, const char *v)
{
	struct out o = {NULL, 0, 0}; /* put counts what it would write */
	put_quoted(&o, key, v);
	return o.len - 1; /* without the newline */
}

static void put_duration(struct out *o, const char *key, unsigned ms)
{
	if (ms == 0)
		put(o, "%s = 0\n", key);
	else if (ms % 3600000 == 0)
		put(o, "%s = %uh\n", key, ms / 3600000);
	else if (ms % 60000 == 0)
		put(o, "%s = %um\n", key, ms / 60000);
	else if (ms % 1000 == 0)
		put(o, "%s = %us\n", key, ms / 1000);
	else
		put(o, "%s = %ums\n", key, ms);
}

/* Sizes the way a person writes them: 256M, 4G, 100k, 1000. */
static void put_size(struct out *o, const char *key, size_t v)
{
	static const char unit[] = "GMk";
	for (int i = 0; i < 3 && v; i++) {
		size_t m = (size_t)1 << (10 * (3 - i));
		if (v % m == 0) {
			put(o, "%s = %zu%c\n", key, v / m, unit[i]);
			return;
		}
	}
	put(o, "%s = %zu\n", key, v);
}

size_t rw_config_format(const struct rw_proxy_config *c, char *buf, size_t len)
{
	struct out o = {buf, len, 0};
	if (len)
		buf[0] = 0;
	for (size_t i = 0; i < c->n_listen; i++)
		put(&o, "listen = %s\n", c->listen[i].text);
	if (c->mode == RW_UPSTREAM_FIXED)
		put(&o,
		    strchr(c->upstream_host, ':') ? "upstream = [%s]:%s\n" : "upstream = %s:%s\n",
		    c->upstream_host, c->upstream_port);
	else if (c->mode != RW_UPSTREAM_NONE)
		put(&o, "%s = yes\n", rw_upstream_mode_name(c->mode));
	for (size_t i = 0; i < c->n_outputs; i++)
		put_quoted(&o, "output", c->outputs[i]);
	put(&o, "format = %s\n", c->json ? "json" : "text");
	put(&o, "json_style = %s\n", rw_conf_choices[2][c->json_style < 2 ? c->json_style : 0]);
	put_quoted(&o, "pcap_dir", c->pcap_dir);
	put_size(&o, "pcap_max_file", c->pcap_max_file);
	put_size(&o, "pcap_max_total", c->pcap_max_total);
	put_size(&o, "pcap_queue_max", c->pcap_queue_max);
	put_quoted(&o, "user", c->user);
	put(&o, "syslog = %s\n", c->syslog ? "yes" : "no");
	for (size_t i = 0; i < rw_conf_n_keys; i++)
		if (rw_conf_keys[i].kind == K_DURATION || rw_conf_keys[i].kind == K_SECONDS)
			put_duration(&o, rw_conf_keys[i].name,
			             *(const unsigned *)(const void *)((const char *)c +
			                                               rw_conf_keys[i].off));
	if (c->max_buffer % (1024 * 1024) == 0)
		put(&o, "max_buffer = %zuM\n", c->max_buffer / (1024 * 1024));
	else if (c->max_buffer % 1024 == 0)
		put(&o, "max_buffer = %zuk\n", c->max_buffer / 1024);
	else
		put(&o, "max_buffer = %zu\n", c->max_buffer);
	put(&o, "max_connections = %u\n", c->max_connections);
	put(&o, "workers = %u\n", c->workers);
	put(&o, "keepalive_count = %u\n", c->keepalive_count);
	put(&o, "expected_cert_sha256 = \"%s\"\n", c->expected_cert_sha256);
	put_quoted(&o, "inspect_cert", c->inspect_cert);
	put_quoted(&o, "inspect_key", c->inspect_key);
	put_quoted(&o, "keylog", c->keylog);
	put_quoted(&o, "siem_ca_file", c->siem_ca_file);
	put_quoted(&o, "siem_cert_file", c->siem_cert_file);
	put_quoted(&o, "siem_key_file", c->siem_key_file);
	put_quoted(&o, "siem_spool_dir", c->siem_spool_dir);
	if (c->siem_spool_max % (1024 * 1024) == 0)
		put(&o, "siem_spool_max = %zuM\n", c->siem_spool_max / (1024 * 1024));
	else if (c->siem_spool_max % 1024 == 0)
		put(&o, "siem_spool_max = %zuk\n", c->siem_spool_max / 1024);
	else
		put(&o, "siem_spool_max = %zu\n", c->siem_spool_max);
	put(&o, "siem_spool_policy = %s\n",
	    rw_conf_choices[0][c->siem_spool_policy < 2 ? c->siem_spool_policy : 0]);
	put(&o, "siem_format = %s\n", rw_conf_choices[1][c->siem_format < 3 ? c->siem_format : 0]);
	put_duration(&o, "siem_flush_timeout", c->siem_flush_ms);
	return o.len;
}
