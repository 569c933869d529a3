/* Where records go: stdout or files, in text or JSON lines. Files are
 * opened 0640 in append mode and reopened on SIGHUP for logrotate. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "proxy.h"
#include "record_format.h"

struct rw_output {
	char path[PATH_MAX]; /* "-" = stdout */
	FILE *f;
	bool failed;         /* last write failed (logged once until it works again) */
};

struct rw_outputs {
	struct rw_output out[RW_CONF_MAX_OUTPUTS];
	size_t n;
	bool json;
	struct rw_log *log;
	char host[256];
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

struct rw_outputs *rw_outputs_open(const struct rw_proxy_config *cfg, struct rw_log *log,
				   char *err, size_t errlen)
{
	struct rw_outputs *o = calloc(1, sizeof(*o));
	if (!o) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	o->json = cfg->json;
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
		out->f = open_file(out->path);
		if (!out->f) {
			snprintf(err, errlen, "output %s: %s", out->path, strerror(errno));
			rw_outputs_close(o);
			return NULL;
		}
	}
	if (o->n && o->out[0].f == stdout)
		setvbuf(stdout, NULL, _IOLBF, 0);
	return o;
}

void rw_outputs_write(struct rw_outputs *o, const struct rw_record *rec)
{
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
		if (out->f == stdout)
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
		if (o->out[i].f && o->out[i].f != stdout)
			fclose(o->out[i].f);
		else if (o->out[i].f)
			fflush(stdout);
	}
	free(o);
}
