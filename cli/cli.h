/* Subcommands of the rdpwhy binary and what they share. */
#ifndef RW_CLI_H
#define RW_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "capture.h"

enum rw_format { RW_FMT_TEXT, RW_FMT_JSON };

/* Options common to replay and capture. */
struct rw_capture_opts {
	enum rw_format format;
	const char *bpf;
	struct rw_capture_config cfg;
	bool ports_given;
};

/* Record sink: prints each record to stdout in the chosen format. */
struct rw_printer {
	enum rw_format format;
	FILE *out;
	unsigned long long next_id;
	unsigned long long printed;
	bool write_error;
};

void rw_printer_record(const struct rw_record *rec, void *arg);

/* Parses one shared option at argv[*i]; returns 1 if consumed, 0 if not one
 * of ours, -1 on a bad value (message printed). */
int rw_capture_opt(struct rw_capture_opts *o, int argc, char **argv, int *i);
void rw_capture_opts_init(struct rw_capture_opts *o);
void rw_capture_opts_help(FILE *f);

int cmd_replay(int argc, char **argv);
int cmd_capture(int argc, char **argv);
int cmd_proxy(int argc, char **argv);

#endif
