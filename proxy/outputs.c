/* Where records go: stdout or files, in text or JSON lines; the local
 * syslog(3); and syslog streams to a SIEM (tcp://, tls://, udp://, see
 * sender.h) as RFC 5424 messages with a JSON, structured-data or CEF payload
 * (syslog5424.h). Files are opened 0640 in append mode and reopened on SIGHUP
 * for logrotate. Every record sent to syslog or a stream gets a random
 * 128-bit id, the same in every output, for de-duplication. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "proxy.h"
#include "record_format.h"
#include "sender.h"
#include "syslog5424.h"

_Static_assert(RW_CONF_DROP_OLDEST == (int)RW_SPOOL_DROP_OLDEST &&
		       RW_CONF_DROP_NEWEST == (int)RW_SPOOL_DROP_NEWEST,
	       "config and spool policy numbers");
_Static_assert(RW_CONF_SIEM_JSON == (int)RW_SIEM_JSON &&
		       RW_CONF_SIEM_RFC5424 == (int)RW_SIEM_RFC5424 &&
		       RW_CONF_SIEM_CEF == (int)RW_SIEM_CEF,
	       "config and SIEM format numbers");

#define COUNTERS_PERIOD_S 300

enum rw_output_kind { OUT_FILE, OUT_SYSLOG, OUT_STREAM };

struct rw_output {
	char path[PATH_MAX]; /* "-" = stdout */
	enum rw_output_kind kind;
	FILE *f;
	struct rw_sender *sender;
	bool failed;         /* last write failed (logged once until it works again) */
};

struct rw_outputs {
	struct rw_output out[RW_CONF_MAX_OUTPUTS];
	size_t n;
	bool json;
	enum rw_siem_format siem_format;
	bool siem;           /* some output is syslog or a stream */
	struct rw_log *log;
	char host[256];
	struct event *counters_timer;
	uint64_t syslog_emitted;
};

static FILE *open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "a");
	if (!f)
		close(fd);
	return f;
}

/* The spool of one stream output: a subdirectory of siem_spool_dir named
 * after the output ("tcp_siem.example.net_6514"). */
static void spool_path(const struct rw_proxy_config *cfg, const char *spec, char *out,
		       size_t outlen)
{
	char name[300];
	size_t k = 0;
	for (const char *p = spec; *p && k < sizeof(name) - 1; p++) {
		if (p[0] == ':' && p[1] == '/' && p[2] == '/') {
			p += 2;
			name[k++] = '_';
			continue;
		}
		char ch = *p;
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '.' || ch == '-';
		name[k++] = ok ? ch : '_';
	}
	name[k] = 0;
	snprintf(out, outlen, "%s/%s", cfg->siem_spool_dir, name);
}

static int open_stream(struct rw_outputs *o, struct rw_output *out, struct event_base *base,
		       const struct rw_proxy_config *cfg, char *err, size_t errlen)
{
	struct rw_sender_config sc = {0};
	int rc = rw_sender_parse_url(out->path, &sc, err, errlen);
	if (rc != 0)
		return rc; /* 1: not a stream URL */
	if (!base) {
		snprintf(err, errlen, "output %s: streams need the proxy's event loop", out->path);
		return -1;
	}
	char spool[PATH_MAX + 320];
	if (cfg->siem_spool_dir[0]) {
		int made = mkdir(cfg->siem_spool_dir, 0700);
		if (made < 0 && errno != EEXIST) {
			snprintf(err, errlen, "siem_spool_dir %s: %s", cfg->siem_spool_dir,
				 strerror(errno));
			return -1;
		}
		if (made == 0 && cfg->user[0]) {
			/* Created by us before the privilege drop: the user needs it. */
			struct passwd *pw = getpwnam(cfg->user);
			if (!pw || chown(cfg->siem_spool_dir, pw->pw_uid, pw->pw_gid) < 0) {
				snprintf(err, errlen, "siem_spool_dir %s: cannot give it to %s",
					 cfg->siem_spool_dir, cfg->user);
				return -1;
			}
		}
		spool_path(cfg, out->path, spool, sizeof(spool));
		sc.spool_dir = spool;
	}
	sc.ca_file = cfg->siem_ca_file;
	sc.cert_file = cfg->siem_cert_file;
	sc.key_file = cfg->siem_key_file;
	sc.spool_max = cfg->siem_spool_max;
	sc.spool_policy = (enum rw_spool_policy)cfg->siem_spool_policy;
	sc.user = cfg->user;
	out->sender = rw_sender_new(base, &sc, out->path, o->log, err, errlen);
	if (!out->sender)
		return -1;
	out->kind = OUT_STREAM;
	return 0;
}

static void on_counters(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	rw_outputs_log_counters(arg);
}

struct rw_outputs *rw_outputs_open(const struct rw_proxy_config *cfg, struct event_base *base,
				   struct rw_log *log, char *err, size_t errlen)
{
	struct rw_outputs *o = calloc(1, sizeof(*o));
	if (!o) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	o->json = cfg->json;
	o->siem_format = (enum rw_siem_format)cfg->siem_format;
	o->log = log;
	if (gethostname(o->host, sizeof(o->host) - 1) < 0)
		o->host[0] = 0;
	size_t n = cfg->n_outputs ? cfg->n_outputs : 1;
	for (size_t i = 0; i < n; i++) {
		struct rw_output *out = &o->out[o->n++];
		snprintf(out->path, sizeof(out->path), "%s", cfg->n_outputs ? cfg->outputs[i] : "-");
		if (strcmp(out->path, "-") == 0) {
			out->f = stdout;
			continue;
		}
		if (strcmp(out->path, "syslog") == 0) {
			out->kind = OUT_SYSLOG;
			o->siem = true;
			continue;
		}
		int rc = open_stream(o, out, base, cfg, err, errlen);
		if (rc < 0) {
			rw_outputs_close(o);
			return NULL;
		}
		if (rc == 0) {
			o->siem = true;
			continue;
		}
		out->f = open_file(out->path);
		if (!out->f) {
			snprintf(err, errlen, "output %s: %s", out->path, strerror(errno));
			rw_outputs_close(o);
			return NULL;
		}
	}
	if (o->n && o->out[0].f == stdout)
		setvbuf(stdout, NULL, _IOLBF, 0);
	if (o->siem && base) {
		o->counters_timer = event_new(base, -1, EV_PERSIST, on_counters, o);
		struct timeval tv = {COUNTERS_PERIOD_S, 0};
		if (o->counters_timer)
			evtimer_add(o->counters_timer, &tv);
	}
	return o;
}

/* A random 128-bit id in hex. */
static void new_record_id(char out[RW_RECORD_ID_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[RW_RECORD_ID_HEX / 2];
	if (RAND_bytes(r, sizeof(r)) != 1) {
		/* No entropy: still unique within this host (time, pid, counter). */
		static uint64_t counter;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t a = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		uint64_t b = ((uint64_t)getpid() << 40) ^ ++counter;
		memcpy(r, &a, 8);
		memcpy(r + 8, &b, 8);
	}
	for (size_t i = 0; i < sizeof(r); i++) {
		out[2 * i] = hex[r[i] >> 4];
		out[2 * i + 1] = hex[r[i] & 15];
	}
	out[RW_RECORD_ID_HEX] = 0;
}

static void write_siem(struct rw_outputs *o, const struct rw_record *rec)
{
	char id[RW_RECORD_ID_HEX + 1];
	new_record_id(id);
	struct rw_siem_meta m = {o->host, (long)getpid(), id, LOG_LOCAL0 >> 3};
	struct rw_buf b;
	rw_buf_init(&b, 0);
	size_t sd_off = 0, msg_off = 0;
	if (rw_siem_message_parts(o->siem_format, rec, &m, &b, &sd_off, &msg_off) < 0) {
		rw_logerr(o->log, LOG_ERR, "conn %llu: cannot format the SIEM message",
			  (unsigned long long)rec->id);
		rw_buf_free(&b);
		return;
	}
	for (size_t i = 0; i < o->n; i++) {
		struct rw_output *out = &o->out[i];
		if (out->kind == OUT_STREAM) {
			rw_sender_submit(out->sender, b.data, b.len);
		} else if (out->kind == OUT_SYSLOG) {
			/* syslog(3) writes its own header; the structured data goes in
			 * front of the summary when the format is rfc5424. */
			size_t from = o->siem_format == RW_SIEM_RFC5424 ? sd_off : msg_off;
			int prio = rec->verdict.cause == RW_CAUSE_NORMAL_CLOSE ? LOG_INFO
									     : LOG_WARNING;
			syslog(LOG_LOCAL0 | prio, "%s", b.data + from);
			o->syslog_emitted++;
		}
	}
	rw_buf_free(&b);
}

void rw_outputs_log_counters(struct rw_outputs *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->n; i++) {
		struct rw_output *out = &o->out[i];
		if (out->kind == OUT_SYSLOG) {
			rw_logx(o->log, LOG_NOTICE, "output syslog: emitted %llu",
				(unsigned long long)o->syslog_emitted);
			continue;
		}
		if (out->kind != OUT_STREAM)
			continue;
		struct rw_sender_stats st;
		rw_sender_stats(out->sender, &st);
		rw_logx(o->log, LOG_NOTICE,
			"output %s: emitted %llu, sent %llu, spooled %llu, dropped %llu, "
			"reconnects %llu, in spool %llu",
			out->path, (unsigned long long)st.emitted, (unsigned long long)st.sent,
			(unsigned long long)st.spooled, (unsigned long long)st.dropped,
			(unsigned long long)st.reconnects, (unsigned long long)st.queued);
	}
}

void rw_outputs_write(struct rw_outputs *o, const struct rw_record *rec)
{
	if (o->siem)
		write_siem(o, rec);
	bool files = false;
	for (size_t i = 0; i < o->n; i++)
		files |= o->out[i].kind == OUT_FILE;
	if (!files)
		return;
	struct rw_buf b;
	rw_buf_init(&b, 0);
	int rc = o->json ? rw_record_json(rec, o->host[0] ? o->host : NULL, &b)
			 : rw_record_text(rec, &b);
	if (rc < 0) {
		rw_logx(o->log, LOG_ERR, "conn %llu: cannot format the record (out of memory)",
			(unsigned long long)rec->id);
		rw_buf_free(&b);
		return;
	}
	if (!o->json)
		rw_buf_putc(&b, '\n');
	for (size_t i = 0; i < o->n; i++) {
		struct rw_output *out = &o->out[i];
		if (!out->f)
			continue;
		bool ok = fwrite(b.data, 1, b.len, out->f) == b.len && fflush(out->f) == 0;
		if (!ok && !out->failed)
			rw_logerr(o->log, LOG_ERR, "output %s: record %llu not written", out->path,
				  (unsigned long long)rec->id);
		out->failed = !ok;
	}
	rw_buf_free(&b);
}

void rw_outputs_reopen(struct rw_outputs *o)
{
	for (size_t i = 0; i < o->n; i++) {
		struct rw_output *out = &o->out[i];
		if (out->f == stdout || out->kind != OUT_FILE)
			continue;
		FILE *f = open_file(out->path);
		if (!f) {
			rw_logerr(o->log, LOG_ERR, "output %s: cannot reopen, keeping the old file",
				  out->path);
			continue;
		}
		if (out->f)
			fclose(out->f);
		out->f = f;
	}
}

void rw_outputs_close(struct rw_outputs *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->n; i++) {
		if (o->out[i].sender)
			rw_sender_free(o->out[i].sender);
		if (o->out[i].f && o->out[i].f != stdout)
			fclose(o->out[i].f);
		else if (o->out[i].f)
			fflush(stdout);
	}
	if (o->counters_timer)
		event_free(o->counters_timer);
	free(o);
}
