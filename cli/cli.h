/* Subcommands of the rdpwhy binary and what they share. */
#ifndef RW_CLI_H
#define RW_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "capture.h"
#include "config.h"
#include "log.h"
#include "outputs.h"

/* Options common to replay and capture. */
struct rw_capture_opts {
	const char *bpf;
	struct rw_capture_config cfg;
	bool ports_given;
	const char *config_path;    /* -c: output and siem_* keys from this file */
	const char *set_keys[32];   /* config keys from flags, in order: format, */
	const char *set_values[32]; /*   output, --set KEY=VALUE (argv strings) */
	size_t n_sets;
};

/* The outputs the options name (stdout in text when none), with ids
 * derived from each connection; replay waits when the output queue is full,
 * capture drops. NULL after printing why. */
struct rw_outputs *rw_capture_outputs_open(const struct rw_capture_opts *o, bool replay,
                                           struct rw_log *log);
/* The capture's record callback: arg is the rw_outputs. */
void rw_capture_on_record(const struct rw_record *rec, void *arg);

/* Parses one shared option at argv[*i]; returns 1 if consumed, 0 if not one
 * of ours, -1 on a bad value (message printed). */
int rw_capture_opt(struct rw_capture_opts *o, int argc, char **argv, int *i);
void rw_capture_opts_init(struct rw_capture_opts *o);
void rw_capture_opts_help(FILE *f);
/* After a capture or replay: a warning on stderr when packets were cut by the
 * snapshot length (WHO: "replay", "capture"), since the facts inside them
 * are missing from the records. */
void rw_capture_warn_cut(const char *who, const struct rw_capture_stats *st);

int cmd_replay(int argc, char **argv);
int cmd_capture(int argc, char **argv);
int cmd_proxy(int argc, char **argv);
int cmd_probe(int argc, char **argv);

#endif
