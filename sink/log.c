/* rdpwhy's own log: stderr, and syslog when asked. Two calls, with and
 * without errno (relayd's log_warn / log_warnx); debug gated by verbosity. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

void rw_log_open(struct rw_log *l, bool use_syslog, int verbosity)
{
	l->verbosity = verbosity;
	l->use_syslog = use_syslog;
	if (!l->err)
		l->err = stderr;
	if (use_syslog)
		openlog("rdpwhy", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void rw_log_close(struct rw_log *l)
{
	if (l->use_syslog)
		closelog();
	l->use_syslog = false;
}

static void vlog(struct rw_log *l, int prio, int err, const char *fmt, va_list ap)
        __attribute__((format(printf, 4, 0)));

static void vlog(struct rw_log *l, int prio, int err, const char *fmt, va_list ap)
{
	if ((prio == LOG_INFO && l->verbosity < 1) || (prio == LOG_DEBUG && l->verbosity < 2))
		return;
	char msg[1024];
	int k = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (err && k >= 0 && (size_t)k < sizeof(msg))
		snprintf(msg + k, sizeof(msg) - (size_t)k, ": %s", strerror(err));
	if (l->use_syslog)
		syslog(prio, "%s", msg);
	static const char *const names[] = {"emerg",   "alert",  "crit", "error",
	                                    "warning", "notice", "info", "debug"};
	struct timespec ts;
	struct tm tm;
	char when[32] = "";
	clock_gettime(CLOCK_REALTIME, &ts);
	if (gmtime_r(&ts.tv_sec, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(l->err, "%s rdpwhy[%s]: %s\n", when, names[prio & 7], msg);
	fflush(l->err);
}

void rw_logx(struct rw_log *l, int prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(l, prio, 0, fmt, ap);
	va_end(ap);
}

void rw_logerr(struct rw_log *l, int prio, const char *fmt, ...)
{
	int err = errno;
	va_list ap;
	va_start(ap, fmt);
	vlog(l, prio, err, fmt, ap);
	va_end(ap);
}
