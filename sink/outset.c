/* The open outputs of the output thread. See outset.h. */
#include "outset.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "kafka.h"
#include "output_spec.h"
#include "record_format.h"
#include "safe_path.h"
#include "sender.h"

_Static_assert(RW_CONF_DROP_OLDEST == (int)RW_SPOOL_DROP_OLDEST &&
                       RW_CONF_DROP_NEWEST == (int)RW_SPOOL_DROP_NEWEST,
               "config and spool policy numbers");

struct output {
	struct rw_output_spec spec; /* resolved */
	FILE *f;                    /* files and stdout */
	struct rw_sender *sender;   /* streams */
	struct rw_kafka *kafka;     /* kafka:// */
	uint64_t written;           /* files and syslog */
	uint64_t failures;
	uint64_t unflushed; /* written to the FILE since the last flush */
	bool failing;       /* last write failed (logged once until it works again) */
	/* When a batch fails, a regular file is cut back to the end of its last
	 * whole record (it was good_end before the batch, -1 when the output is
	 * not seekable), so a shipper tailing it never reads half a record. */
	off_t good_end;
	bool batch_failed;
	/* The file's stdio buffer: a batch is flushed as a whole
	 * (rw_outset_flush), and with stdio's 4 KiB a busy proxy made a
	 * write(2) per 4 KiB of records. NULL: stdio's own. */
	char *iobuf;
};

#define FILE_BUFFER (64 * 1024)

/* Gives a newly opened file its buffer (before any I/O on it). */
static void file_buffer(struct output *o)
{
	if (!o->iobuf)
		o->iobuf = malloc(FILE_BUFFER);
	if (o->iobuf)
		setvbuf(o->f, o->iobuf, _IOFBF, FILE_BUFFER);
}

/* stdout into a pipe or a file gets the same: replay's records to stdout
 * were a write(2) per 4 KiB. Once per process, before its first byte (a
 * reload opens stdout again, after I/O); a terminal keeps its line
 * buffering. The buffer is static: stdout outlives every output. */
static void stdout_buffer(void)
{
	static bool done;
	static char buf[FILE_BUFFER];
	if (done)
		return;
	done = true;
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, buf, _IOFBF, sizeof(buf));
}

struct rw_outset {
	struct output *out[RW_CONF_MAX_OUTPUTS];
	size_t n;
	struct event_base *base;
	struct rw_log *log;
	char user[64];
	bool failed;
};

static bool colour_stdout;

void rw_outset_set_colour(bool on)
{
	colour_stdout = on;
}

static enum rw_slot slot_of(const struct rw_output_spec *s)
{
	switch (s->format) {
	case RW_OUTF_TEXT:
		return colour_stdout && s->kind == RW_OUT_STDOUT ? RW_SLOT_TEXT_TTY : RW_SLOT_TEXT;
	case RW_OUTF_JSON: {
		bool flat = s->json_style == RW_OUTJ_FLAT;
		/* Kafka carries the record itself, as files do: no syslog header. */
		if (s->kind == RW_OUT_FILE || s->kind == RW_OUT_STDOUT || s->kind == RW_OUT_KAFKA)
			return flat ? RW_SLOT_JSON_FLAT : RW_SLOT_JSON;
		return flat ? RW_SLOT_SIEM_JSON_FLAT : RW_SLOT_SIEM_JSON;
	}
	case RW_OUTF_RFC5424:
		return RW_SLOT_SIEM_RFC5424;
	case RW_OUTF_CEF:
		return RW_SLOT_SIEM_CEF;
	case RW_OUTF_DEFAULT:
		break;
	}
	return RW_SLOT_TEXT;
}

/* The outputs of cfg, parsed and resolved (validated before: an error here
 * is a bug, reported as such). "-" when there are none. */
static int specs_of(const struct rw_proxy_config *cfg, struct rw_output_spec *specs, size_t *n,
                    char *err, size_t errlen)
{
	/* "output " and the parser's message written in place after it: no
	 * copy into a buffer of the same size to cut. */
	char *e = rw_err_after(err, &errlen, "output ");
	*n = cfg->n_outputs ? cfg->n_outputs : 1;
	for (size_t i = 0; i < *n; i++) {
		if (rw_output_spec_parse(cfg->n_outputs ? cfg->outputs[i] : "-", &specs[i], e,
		                         errlen) < 0 ||
		    rw_output_spec_resolve(&specs[i], cfg, e, errlen) < 0)
			return -1;
	}
	return 0;
}

unsigned rw_outset_slots(const struct rw_proxy_config *cfg)
{
	struct rw_output_spec specs[RW_CONF_MAX_OUTPUTS];
	size_t n;
	char e[RW_CONF_ERR];
	if (specs_of(cfg, specs, &n, e, sizeof(e)) < 0)
		return 0;
	unsigned mask = 0;
	for (size_t i = 0; i < n; i++)
		mask |= 1u << slot_of(&specs[i]);
	return mask;
}

int rw_format_record(const struct rw_record *rec, unsigned mask, const char *host, long pid,
                     const char *id, struct rw_formatted *f)
{
	/* The buffer may be one kept from an earlier record: emptied, its
	 * allocation reused. */
	struct rw_buf keep = f->buf;
	memset(f, 0, sizeof(*f));
	f->buf = keep;
	rw_buf_reset(&f->buf);
	f->conn_id = rec->id;
	snprintf(f->id, sizeof(f->id), "%s", id ? id : "");
	f->warning = rec->verdict.cause != RW_CAUSE_NORMAL_CLOSE;
	struct rw_siem_meta m = {host, pid, id, LOG_LOCAL0 >> 3, RW_JSON_NESTED};
	for (int s = 0; s < RW_SLOT_COUNT; s++) {
		if (!(mask & (1u << s)))
			continue;
		size_t start = f->buf.len, sd = 0, msg = 0;
		int rc;
		switch ((enum rw_slot)s) {
		case RW_SLOT_TEXT:
		case RW_SLOT_TEXT_TTY:
			rc = rw_record_text_ex(rec, &f->buf, s == RW_SLOT_TEXT_TTY);
			if (rc == 0)
				rc = rw_buf_putc(&f->buf, '\n'); /* a blank line between reports */
			break;
		case RW_SLOT_JSON:
		case RW_SLOT_JSON_FLAT:
			rc = rw_record_json_style(
			        rec, host, id,
			        s == RW_SLOT_JSON_FLAT ? RW_JSON_FLAT : RW_JSON_NESTED, &f->buf);
			break;
		default:
			m.json_style = s == RW_SLOT_SIEM_JSON_FLAT ? RW_JSON_FLAT : RW_JSON_NESTED;
			rc = rw_siem_message_parts(
			        s == RW_SLOT_SIEM_JSON || s == RW_SLOT_SIEM_JSON_FLAT ? RW_SIEM_JSON
			        : s == RW_SLOT_SIEM_RFC5424 ? RW_SIEM_RFC5424
			                                    : RW_SIEM_CEF,
			        rec, &m, &f->buf, &sd, &msg);
			/* NUL-terminated for syslog(3); not part of the message */
			if (rc == 0)
				rc = rw_buf_putc(&f->buf, '\0');
			break;
		}
		if (rc < 0) {
			rw_buf_free(&f->buf);
			return -1;
		}
		f->off[s] = start;
		f->len[s] = f->buf.len - start - (s >= RW_SLOT_SIEM_JSON);
		f->sd_off[s] = sd - start;
		f->msg_off[s] = msg - start;
	}
	return 0;
}

/* ---- opening and closing ------------------------------------------------- */

/* mode: the output's mode= (set on every open, whatever the umask or the
 * file had), or 0: 0640 for a new file, an existing one as it is. A new file
 * is created with O_EXCL, an existing one opened with O_NOFOLLOW, and no
 * link that another user could have planted on the way is followed
 * (safe_path.h). NULL with errno and WHY set. */
static FILE *open_file(const char *path, unsigned mode, char *err, size_t errlen)
{
	/* ERR: "output " and rw_safe_open's message ("PATH: why") after it. */
	err = rw_err_after(err, &errlen, "output ");
	/* Read too: a failed batch is cut back to its last whole record. */
	int fd = rw_safe_open(path, O_RDWR | O_APPEND | O_CREAT, mode ? mode : 0640, err, errlen);
	if (fd < 0)
		return NULL;
	FILE *f = NULL;
	if (!(mode && fchmod(fd, mode) < 0))
		f = fdopen(fd, "a");
	if (!f) {
		int e = errno;
		if (errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		close(fd);
		errno = e;
	}
	return f;
}

/* The parent of a default spool directory (siem_spool_dir), created 0700 if
 * missing and, when made by us before a privilege drop, given to the user. */
static int make_spool_parent(const char *spool_dir, const char *user, char *err, size_t errlen)
{
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", spool_dir);
	char *slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return 0;
	*slash = 0;
	char *why = rw_err_after(err, &errlen, "spool directory ");
	/* Its missing ancestors (the default /var/lib/rdpwhy/spool, or
	 * ~/.local/state/rdpwhy/spool, on a first run): traversable, owned by
	 * whoever made them; the parent itself is the private one. */
	for (char *p = strchr(parent + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = 0;
		int m = rw_safe_mkdir(parent, 0755, why, errlen);
		*p = '/';
		if (m < 0)
			return -1;
	}
	int made = rw_safe_mkdir(parent, 0700, why, errlen);
	if (made < 0)
		return -1;
	if (made == 1 && user[0]) {
		struct passwd *pw = getpwnam(user);
		int fd = pw ? rw_safe_open(parent, O_RDONLY | O_DIRECTORY, 0, why, errlen) : -1;
		int rc = fd >= 0 ? fchown(fd, pw->pw_uid, pw->pw_gid) : -1;
		if (fd >= 0)
			close(fd);
		if (rc < 0) {
			snprintf(why, errlen, "%s: cannot give it to %s", parent, user);
			return -1;
		}
	}
	return 0;
}

/* The counters of a syslog stream or Kafka; false for other outputs. */
static bool stream_stats(const struct output *o, struct rw_sender_stats *st)
{
	if (o->sender)
		rw_sender_stats(o->sender, st);
	else if (o->kafka)
		rw_kafka_stats(o->kafka, st);
	return o->sender || o->kafka;
}

static void output_free(struct output *o)
{
	if (!o)
		return;
	if (o->sender)
		rw_sender_free(o->sender);
	rw_kafka_free(o->kafka);
	if (o->f == stdout)
		fflush(stdout);
	else if (o->f)
		fclose(o->f);
	free(o->iobuf);
	free(o);
}

static struct output *output_open(struct rw_outset *set, const struct rw_output_spec *spec,
                                  char *err, size_t errlen)
{
	struct output *o = calloc(1, sizeof(*o));
	if (!o) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	o->spec = *spec;
	switch (spec->kind) {
	case RW_OUT_STDOUT:
		o->f = stdout; /* flushed after each batch (rw_outset_flush) */
		stdout_buffer();
		return o;
	case RW_OUT_SYSLOG:
		return o;
	case RW_OUT_FILE:
		if (!(o->f = open_file(spec->target, spec->mode, err, errlen)))
			break;
		file_buffer(o);
		return o;
	case RW_OUT_TCP:
	case RW_OUT_TLS:
		if (make_spool_parent(spec->spool_dir, set->user, err, errlen) < 0)
			break;
		/* fall through */
	case RW_OUT_UDP:
		if (!(o->sender = rw_sender_new(set->base, spec, set->user, set->log, err, errlen)))
			break;
		return o;
	case RW_OUT_KAFKA:
		if (make_spool_parent(spec->spool_dir, set->user, err, errlen) < 0 ||
		    !(o->kafka = rw_kafka_new(set->base, spec, set->user, set->log, err, errlen)))
			break;
		return o;
	}
	free(o);
	return NULL;
}

static struct rw_outset *set_new(const struct rw_proxy_config *cfg, struct event_base *base,
                                 struct rw_log *log)
{
	struct rw_outset *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->base = base;
	s->log = log;
	snprintf(s->user, sizeof(s->user), "%s", cfg->user);
	return s;
}

struct rw_outset *rw_outset_open(const struct rw_proxy_config *cfg, struct event_base *base,
                                 struct rw_log *log, char *err, size_t errlen)
{
	struct rw_output_spec specs[RW_CONF_MAX_OUTPUTS];
	size_t n;
	if (specs_of(cfg, specs, &n, err, errlen) < 0)
		return NULL;
	struct rw_outset *s = set_new(cfg, base, log);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (!(s->out[s->n] = output_open(s, &specs[i], err, errlen))) {
			rw_outset_close(s);
			return NULL;
		}
		s->n++;
	}
	return s;
}

static void reopen_file(struct rw_outset *s, struct output *o)
{
	if (o->spec.kind != RW_OUT_FILE)
		return;
	char why[RW_CONF_ERR];
	FILE *f = open_file(o->spec.target, o->spec.mode, why, sizeof(why));
	if (!f) {
		rw_logx(s->log, LOG_ERR, "%s; cannot reopen it, keeping the old file", why);
		return;
	}
	fclose(o->f);
	o->f = f;
	file_buffer(o);
}

struct rw_outset *rw_outset_reload(struct rw_outset *old, const struct rw_proxy_config *cfg)
{
	struct rw_output_spec specs[RW_CONF_MAX_OUTPUTS];
	size_t n;
	char err[RW_CONF_ERR] = "out of memory";
	struct rw_outset *s = NULL;
	rw_outset_flush(old);
	if (specs_of(cfg, specs, &n, err, sizeof(err)) < 0 ||
	    !(s = set_new(cfg, old->base, old->log)))
		goto keep;
	bool taken[RW_CONF_MAX_OUTPUTS] = {false};
	size_t added = 0, removed = 0;
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < old->n; k++) {
			if (!taken[k] && !memcmp(&old->out[k]->spec, &specs[i], sizeof(specs[i]))) {
				taken[k] = true;
				s->out[i] = old->out[k];
				break;
			}
		}
		if (!s->out[i]) {
			if (!(s->out[i] = output_open(s, &specs[i], err, sizeof(err))))
				goto undo;
			added++;
		}
		s->n = i + 1;
	}
	for (size_t k = 0; k < old->n; k++) {
		if (taken[k])
			continue;
		struct output *o = old->out[k];
		struct rw_sender_stats st;
		if (stream_stats(o, &st)) {
			if (st.queued)
				rw_logx(s->log, LOG_NOTICE,
				        "output %s removed; %llu records stay in %s for when it "
				        "comes back",
				        o->spec.target, (unsigned long long)st.queued,
				        o->spec.spool_dir);
		}
		output_free(o);
		removed++;
	}
	for (size_t i = 0; i < s->n; i++)
		reopen_file(s, s->out[i]);
	s->failed = old->failed;
	free(old);
	rw_logx(s->log, LOG_NOTICE,
	        "outputs reloaded: %zu open, %zu new, %zu removed; files reopened", s->n, added,
	        removed);
	return s;
undo:
	/* Close what this reload opened; what it took from the old set stays there. */
	for (size_t i = 0; i < s->n; i++) {
		bool carried = false;
		for (size_t k = 0; k < old->n; k++)
			carried |= s->out[i] == old->out[k];
		if (!carried)
			output_free(s->out[i]);
	}
	free(s);
keep:
	rw_logx(old->log, LOG_ERR, "reload: %s; keeping the running outputs", err);
	for (size_t k = 0; k < old->n; k++)
		reopen_file(old, old->out[k]);
	return old;
}

void rw_outset_close(struct rw_outset *s)
{
	if (!s)
		return;
	rw_outset_flush(s);
	for (size_t i = 0; i < s->n; i++)
		output_free(s->out[i]);
	free(s);
}

/* ---- writing ----------------------------------------------------------------- */

void rw_outset_write(struct rw_outset *s, const struct rw_formatted *f)
{
	for (size_t i = 0; i < s->n; i++) {
		struct output *o = s->out[i];
		enum rw_slot slot = slot_of(&o->spec);
		if (!f->len[slot])
			continue; /* queued before a reload added this format */
		const char *p = f->buf.data + f->off[slot];
		size_t len = f->len[slot];
		if (o->sender) {
			rw_sender_submit(o->sender, p, len);
			continue;
		}
		if (o->kafka) {
			/* The JSON line without its newline: one record per message. */
			rw_kafka_submit(o->kafka, f->id, strlen(f->id), p,
			                len && p[len - 1] == '\n' ? len - 1 : len);
			continue;
		}
		if (o->spec.kind == RW_OUT_SYSLOG) {
			/* syslog(3) writes its own header; the structured data goes in
			 * front of the summary when the format is rfc5424. */
			size_t from =
			        slot == RW_SLOT_SIEM_RFC5424 ? f->sd_off[slot] : f->msg_off[slot];
			syslog(LOG_LOCAL0 | (f->warning ? LOG_WARNING : LOG_INFO), "%s", p + from);
			o->written++;
			continue;
		}
		if (!o->unflushed && !o->batch_failed)
			o->good_end = lseek(fileno(o->f), 0, SEEK_END);
		if (!o->batch_failed && fwrite(p, 1, len, o->f) == len) {
			o->unflushed++;
			continue;
		}
		o->batch_failed = true;
		o->failures++;
		s->failed = true;
		if (!o->failing)
			rw_logerr(s->log, LOG_ERR, "output %s: record of conn %llu not written",
			          o->spec.target, (unsigned long long)f->conn_id);
		o->failing = true;
		clearerr(o->f);
	}
}

/* Cuts the file after its last newline at or past `from` (records are
 * lines), counting the lines kept past `from`. 0, or -1 (file unchanged). */
static int cut_to_whole_records(int fd, off_t from, uint64_t *kept)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return -1;
	off_t end = from, pos = from;
	*kept = 0;
	char buf[4096];
	while (pos < st.st_size) {
		ssize_t n = pread(fd, buf, sizeof(buf), pos);
		if (n < 0)
			return -1; /* cannot tell where the records end: leave it */
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				end = pos + i + 1;
				++*kept;
			}
		}
		pos += n;
	}
	return end < st.st_size ? ftruncate(fd, end) : 0;
}

void rw_outset_flush(struct rw_outset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct output *o = s->out[i];
		if (!o->f || (!o->unflushed && !o->batch_failed))
			continue;
		if (!o->batch_failed && fflush(o->f) == 0) {
			o->written += o->unflushed;
			o->failing = false;
		} else {
			int e = errno;
			__fpurge(o->f); /* what stdio still holds goes with the batch */
			uint64_t kept = 0;
			bool cut = o->good_end >= 0 &&
			           cut_to_whole_records(fileno(o->f), o->good_end, &kept) == 0;
			if (kept > o->unflushed)
				kept = o->unflushed;
			o->written += kept;
			o->unflushed -= kept;
			o->failures += o->unflushed;
			s->failed = true;
			if (!o->failing && o->unflushed) {
				errno = e;
				rw_logerr(s->log, LOG_ERR, "output %s: %llu records not written%s",
				          o->spec.target, (unsigned long long)o->unflushed,
				          cut ? " (the file keeps whole records only)" : "");
			}
			o->failing = true;
			clearerr(o->f);
		}
		o->unflushed = 0;
		o->batch_failed = false;
	}
}

void rw_outset_log_counters(const struct rw_outset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct output *o = s->out[i];
		if (o->spec.kind == RW_OUT_SYSLOG) {
			/* syslog(3) says nothing of delivery: calls, not arrivals */
			rw_logx(s->log, LOG_NOTICE, "output syslog: emitted %llu",
			        (unsigned long long)o->written);
			continue;
		}
		struct rw_sender_stats st;
		if (!stream_stats(o, &st)) {
			rw_logx(s->log, LOG_NOTICE, "output %s: written %llu, failed %llu",
			        o->spec.target, (unsigned long long)o->written,
			        (unsigned long long)o->failures);
			continue;
		}
		rw_logx(s->log, LOG_NOTICE,
		        "output %s: emitted %llu, sent %llu, spooled %llu, dropped %llu, "
		        "reconnects %llu, rejected %llu, in spool %llu",
		        o->spec.target, (unsigned long long)st.emitted, (unsigned long long)st.sent,
		        (unsigned long long)st.spooled, (unsigned long long)st.dropped,
		        (unsigned long long)st.reconnects, (unsigned long long)st.rejected,
		        (unsigned long long)st.queued);
	}
}

uint64_t rw_outset_pending(const struct rw_outset *s)
{
	uint64_t n = 0;
	for (size_t i = 0; i < s->n; i++) {
		struct rw_sender_stats st;
		if (stream_stats(s->out[i], &st))
			n += st.queued;
	}
	return n;
}

bool rw_outset_failed(const struct rw_outset *s)
{
	return s->failed;
}
