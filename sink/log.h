/* rdpwhy's own log: one line per event on stderr ("TIME rdpwhy[LEVEL]:
 * MESSAGE"), and syslog(3) when asked. Safe to call from the output thread
 * and the main thread at once: each line is one write. */
#ifndef RW_LOG_H
#define RW_LOG_H

#include <stdbool.h>
#include <stdio.h>

struct rw_log {
	int verbosity; /* 0 = warnings and notices, 1 = info, 2 = debug */
	bool use_syslog;
	FILE *err; /* stderr, unless redirected by tests */
};
void rw_log_open(struct rw_log *l, bool use_syslog, int verbosity);
void rw_log_close(struct rw_log *l);
void rw_logx(struct rw_log *l, int prio, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* The same with ": strerror(errno)" appended. */
void rw_logerr(struct rw_log *l, int prio, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#endif
