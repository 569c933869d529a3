/* Records as SIEM messages: RFC 5424 (JSON or structured-data body), CEF,
 * and the RFC 6587 octet-counting frame. See syslog5424.h. */
#include "syslog5424.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "record_format.h"
#include "rw_types.h"

#ifndef RDPWHY_VERSION
#define RDPWHY_VERSION "unknown"
#endif

static const char hexdig[] = "0123456789abcdef";

int rw_siem_format_parse(const char *s)
{
	if (!strcmp(s, "json"))
		return RW_SIEM_JSON;
	if (!strcmp(s, "rfc5424"))
		return RW_SIEM_RFC5424;
	if (!strcmp(s, "cef"))
		return RW_SIEM_CEF;
	return -1;
}

const char *rw_siem_format_name(enum rw_siem_format f)
{
	switch (f) {
	case RW_SIEM_JSON:
		return "json";
	case RW_SIEM_RFC5424:
		return "rfc5424";
	case RW_SIEM_CEF:
		return "cef";
	}
	return "?";
}

/* ---- escaping ------------------------------------------------------------- */

/* Which bytes get a backslash, and whether newline/CR have letter escapes. */
struct escaping {
	const char *special;
	bool nl_letters;
};

/* Appends s[0..n) escaped in two layers, as the JSON formatter does: the
 * value's text has its backslashes doubled and control bytes and invalid
 * UTF-8 as \xhh; then the format's own escaping applies to that text. */
static int escape(const char *s, size_t n, const struct escaping *e, struct rw_buf *out)
{
	size_t mark = out->len;
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;
	while (i < n) {
		uint32_t cp = 0;
		size_t len = rw_utf8_seq(p + i, n - i, &cp);
		int rc;
		if (len == 0 || cp < 0x20 || cp == 0x7f) {
			if (e->nl_letters && (cp == '\n' || cp == '\r') && len == 1)
				rc = rw_buf_append(out, cp == '\n' ? "\\n" : "\\r", 2);
			else {
				char esc[6] = {
				        '\\', '\\', 'x', hexdig[p[i] >> 4], hexdig[p[i] & 15], 0};
				rc = rw_buf_append(out, esc, 5);
			}
			len = 1;
		} else if (cp == '\\') {
			/* The value's own backslash is doubled first (as in the JSON
			 * record), so that \xhh above stays unambiguous. */
			rc = rw_buf_append(out, "\\\\\\\\", 4);
		} else if (len == 1 && strchr(e->special, (int)cp)) {
			char esc[2] = {'\\', (char)cp};
			rc = rw_buf_append(out, esc, 2);
		} else {
			rc = rw_buf_append(out, p + i, len);
		}
		if (rc < 0) {
			rw_buf_truncate(out, mark);
			return -1;
		}
		i += len;
	}
	return 0;
}

int rw_sd_value(const char *s, size_t n, struct rw_buf *out)
{
	static const struct escaping e = {"\"\\]", false};
	return escape(s, n, &e, out);
}

int rw_cef_header(const char *s, size_t n, struct rw_buf *out)
{
	static const struct escaping e = {"|\\", false};
	return escape(s, n, &e, out);
}

int rw_cef_value(const char *s, size_t n, struct rw_buf *out)
{
	static const struct escaping e = {"=\\", true};
	return escape(s, n, &e, out);
}

int rw_syslog_header_field(const char *s, size_t max, struct rw_buf *out)
{
	size_t n = s ? strlen(s) : 0;
	if (n > max)
		n = max;
	if (n == 0)
		return rw_buf_putc(out, '-');
	size_t mark = out->len;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (rw_buf_putc(out, (ch >= 33 && ch <= 126) ? (char)ch : '_') < 0) {
			rw_buf_truncate(out, mark);
			return -1;
		}
	}
	return 0;
}

int rw_syslog_frame(const char *msg, size_t len, struct rw_buf *out)
{
	size_t mark = out->len;
	if (rw_buf_printf(out, "%zu ", len) < 0 || rw_buf_append(out, msg, len) < 0) {
		rw_buf_truncate(out, mark);
		return -1;
	}
	return 0;
}

/* ---- record facts ---------------------------------------------------------- */

static bool id_ok(const char *id)
{
	if (!id || strlen(id) != RW_RECORD_ID_HEX)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

static void utc_text(uint64_t ts_us, char out[96])
{
	struct tm tm;
	if (!rw_format_utc((int64_t)(ts_us / 1000000), &tm)) {
		strcpy(out, "-");
		return;
	}
	/* 96: sized for any int fields, as -Wformat-truncation assumes */
	snprintf(out, 96, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ts_us % 1000000));
}

static bool is_normal(const struct rw_record *rec)
{
	return rec->verdict.cause == RW_CAUSE_NORMAL_CLOSE;
}

/* The cookie or routing token, and its CEF/SD name; NULL when none. */
static const char *token_of(const struct rw_record *rec, const char **name)
{
	if (!rec->token || !rec->token_len)
		return NULL;
	if (rec->token_kind == RW_TOKEN_COOKIE)
		*name = "cookie";
	else if (rec->token_kind == RW_TOKEN_ROUTING)
		*name = "routing_token";
	else
		return NULL;
	return rec->token;
}

/* Each SD param or CEF extension pair, in order. */
struct fact {
	const char *sd, *cef; /* names; NULL = not in that format */
	const char *v;
	size_t n;
};

#define MAX_FACTS 24

struct facts {
	struct fact f[MAX_FACTS];
	size_t n;
	char ip[2][RW_IP_STR_MAX];
	char port[2][8], bytes[2][24], start[24], end[24],
	        evidence[RW_MAX_EVIDENCE * (RW_EVIDENCE_LEN + 2)];
};

static void add(struct facts *fs, const char *sd, const char *cef, const char *v, size_t n)
{
	if (fs->n < MAX_FACTS && v)
		fs->f[fs->n++] = (struct fact){sd, cef, v, n};
}

static void adds(struct facts *fs, const char *sd, const char *cef, const char *v)
{
	if (v)
		add(fs, sd, cef, v, strlen(v));
}

static void collect(const struct rw_record *rec, const struct rw_siem_meta *m, struct facts *fs)
{
	fs->n = 0;
	adds(fs, "id", "externalId", m->id);
	if (m->host && *m->host)
		adds(fs, NULL, "dvchost", m->host);
	const struct rw_endpoint *ep[2] = {&rec->client, &rec->server};
	static const char *const sd_ip[2] = {"src", "dst"}, *const sd_port[2] = {"spt", "dpt"};
	for (int i = 0; i < 2; i++) {
		if (!rw_format_ip(ep[i], fs->ip[i]))
			continue;
		snprintf(fs->port[i], sizeof(fs->port[i]), "%u", (unsigned)ep[i]->port);
		adds(fs, sd_ip[i], sd_ip[i], fs->ip[i]);
		adds(fs, sd_port[i], sd_port[i], fs->port[i]);
	}
	snprintf(fs->bytes[0], sizeof(fs->bytes[0]), "%" PRIu64, rec->bytes[RW_C2S]);
	snprintf(fs->bytes[1], sizeof(fs->bytes[1]), "%" PRIu64, rec->bytes[RW_S2C]);
	adds(fs, "bytes_out", "out", fs->bytes[0]);
	adds(fs, "bytes_in", "in", fs->bytes[1]);
	snprintf(fs->start, sizeof(fs->start), "%" PRIu64, rec->ts_open_us / 1000);
	snprintf(fs->end, sizeof(fs->end), "%" PRIu64, rec->ts_close_us / 1000);
	adds(fs, NULL, "start", fs->start);
	adds(fs, NULL, "end", fs->end);
	adds(fs, "cause", NULL, rw_cause_name(rec->verdict.cause));
	adds(fs, "closed_by", "cs2", rw_side_name(rec->verdict.closed_by));
	adds(fs, "close_kind", "cs3", rw_close_kind_name(rec->verdict.close_kind));
	adds(fs, "phase", "cs4", rw_phase_name(rec->verdict.phase));
	const char *tname = NULL;
	const char *tok = token_of(rec, &tname);
	if (tok)
		add(fs, tname, "cs1", tok, rec->token_len);
	if (rec->ch.has_sni && rec->client_hello_seen) {
		size_t n = rec->ch.sni_len < sizeof(rec->ch.sni) ? rec->ch.sni_len
		                                                 : sizeof(rec->ch.sni);
		add(fs, "sni", "cs5", rec->ch.sni, n);
	}
	size_t off = 0;
	fs->evidence[0] = 0;
	for (size_t i = 0; i < rec->verdict.n_evidence && i < RW_MAX_EVIDENCE; i++) {
		int w = snprintf(fs->evidence + off, sizeof(fs->evidence) - off, "%s%.*s",
		                 i ? "; " : "", RW_EVIDENCE_LEN, rec->verdict.evidence[i]);
		if (w < 0 || (size_t)w >= sizeof(fs->evidence) - off)
			break;
		off += (size_t)w;
	}
	if (off)
		adds(fs, "evidence", "msg", fs->evidence);
	if (rec->verdict.remediation)
		adds(fs, "remediation", "cs6", rec->verdict.remediation);
}

/* CEF labels of the custom string fields above. */
static const char *cef_label(const char *key, const struct rw_record *rec)
{
	if (!strcmp(key, "cs1")) {
		const char *name = "cookie";
		token_of(rec, &name);
		return !strcmp(name, "cookie") ? "rdpCookie" : "rdpRoutingToken";
	}
	if (!strcmp(key, "cs2"))
		return "closedBy";
	if (!strcmp(key, "cs3"))
		return "closeKind";
	if (!strcmp(key, "cs4"))
		return "phase";
	if (!strcmp(key, "cs5"))
		return "tlsServerName";
	if (!strcmp(key, "cs6"))
		return "remediation";
	return NULL;
}

/* ---- message bodies ---------------------------------------------------------- */

static int header(const struct rw_record *rec, const struct rw_siem_meta *m, struct rw_buf *out)
{
	int facility = m->facility >= 0 && m->facility <= 23 ? m->facility : 16;
	int severity = is_normal(rec) ? 6 : 4;
	char ts[96], pid[24];
	utc_text(rec->ts_open_us, ts);
	if (m->pid > 0)
		snprintf(pid, sizeof(pid), "%ld", m->pid);
	else
		strcpy(pid, "-");
	if (rw_buf_printf(out, "<%d>1 %s ", facility * 8 + severity, ts) < 0 ||
	    rw_syslog_header_field(m->host, 255, out) < 0 || rw_buf_putc(out, ' ') < 0 ||
	    rw_buf_puts(out, "rdpwhy ") < 0 || rw_syslog_header_field(pid, 128, out) < 0 ||
	    rw_buf_puts(out, " - [" RW_SD_ID) < 0)
		return -1;
	return 0;
}

static int sd_param(const char *name, const char *v, size_t n, struct rw_buf *out)
{
	if (rw_buf_printf(out, " %s=\"", name) < 0 || rw_sd_value(v, n, out) < 0 ||
	    rw_buf_putc(out, '"') < 0)
		return -1;
	return 0;
}

static int json_body(const struct rw_record *rec, const struct rw_siem_meta *m, struct rw_buf *out)
{
	if (rw_record_json_style(rec, m->host && *m->host ? m->host : NULL, m->id,
	                         m->json_style == RW_JSON_FLAT ? RW_JSON_FLAT : RW_JSON_NESTED,
	                         out) < 0)
		return -1;
	rw_buf_truncate(out, out->len - 1); /* MSG has no newline */
	return 0;
}

static int summary_body(const struct rw_record *rec, const struct facts *fs, struct rw_buf *out)
{
	/* ASCII only: names, addresses and numbers. */
	if (rw_buf_printf(out, "rdp connection %s", rw_cause_name(rec->verdict.cause)) < 0)
		return -1;
	if (fs->ip[0][0] && fs->ip[1][0] &&
	    rw_buf_printf(out, " %s:%u -> %s:%u", fs->ip[0], (unsigned)rec->client.port, fs->ip[1],
	                  (unsigned)rec->server.port) < 0)
		return -1;
	return rw_buf_printf(out, " closed by %s (%s) in %s", rw_side_name(rec->verdict.closed_by),
	                     rw_close_kind_name(rec->verdict.close_kind),
	                     rw_phase_name(rec->verdict.phase));
}

static int cef_body(const struct rw_record *rec, const struct facts *fs, struct rw_buf *out)
{
	const char *cause = rw_cause_name(rec->verdict.cause);
	char name[128];
	snprintf(name, sizeof(name), "RDP connection: %s", cause);
	if (rw_buf_puts(out, "CEF:0|rdpwhy|rdpwhy|") < 0 ||
	    rw_cef_header(RDPWHY_VERSION, strlen(RDPWHY_VERSION), out) < 0 ||
	    rw_buf_putc(out, '|') < 0 || rw_cef_header(cause, strlen(cause), out) < 0 ||
	    rw_buf_putc(out, '|') < 0 || rw_cef_header(name, strlen(name), out) < 0 ||
	    rw_buf_printf(out, "|%d|", is_normal(rec) ? 1 : 5) < 0)
		return -1;
	if (rw_buf_puts(out, "proto=TCP") < 0)
		return -1;
	for (size_t i = 0; i < fs->n; i++) {
		const struct fact *f = &fs->f[i];
		if (!f->cef)
			continue;
		const char *label = cef_label(f->cef, rec);
		if (label && rw_buf_printf(out, " %sLabel=%s", f->cef, label) < 0)
			return -1;
		if (rw_buf_printf(out, " %s=", f->cef) < 0 || rw_cef_value(f->v, f->n, out) < 0)
			return -1;
	}
	return 0;
}

int rw_siem_message(enum rw_siem_format fmt, const struct rw_record *rec,
                    const struct rw_siem_meta *m, struct rw_buf *out)
{
	return rw_siem_message_parts(fmt, rec, m, out, NULL, NULL);
}

int rw_siem_message_parts(enum rw_siem_format fmt, const struct rw_record *rec,
                          const struct rw_siem_meta *m, struct rw_buf *out, size_t *sd_off,
                          size_t *msg_off)
{
	if (!id_ok(m->id)) {
		errno = EINVAL;
		return -1;
	}
	struct facts fs;
	collect(rec, m, &fs);
	size_t mark = out->len;
	int rc = header(rec, m, out);
	size_t sd = out->len - strlen("[" RW_SD_ID);
	if (rc == 0 && fmt == RW_SIEM_RFC5424) {
		for (size_t i = 0; i < fs.n && rc == 0; i++)
			if (fs.f[i].sd)
				rc = sd_param(fs.f[i].sd, fs.f[i].v, fs.f[i].n, out);
	} else if (rc == 0) {
		rc = sd_param("id", m->id, strlen(m->id), out);
	}
	if (rc == 0)
		rc = rw_buf_puts(out, "] ");
	size_t msg = out->len;
	if (rc == 0) {
		if (fmt == RW_SIEM_JSON)
			rc = json_body(rec, m, out);
		else if (fmt == RW_SIEM_RFC5424)
			rc = summary_body(rec, &fs, out);
		else
			rc = cef_body(rec, &fs, out);
	}
	if (rc < 0) {
		int e = errno;
		rw_buf_truncate(out, mark);
		errno = e;
		return -1;
	}
	if (sd_off)
		*sd_off = sd;
	if (msg_off)
		*msg_off = msg;
	return 0;
}
