/* Subcommands of the rdpwhy binary and what they share. */
#ifndef RW_CLI_H
#define RW_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "capture.h"
#include "config.h"
#include "html.h"
#include "log.h"
#include "outputs.h"
#include "summary.h"

/* Options common to replay and capture. */
struct rw_capture_opts {
	const char *bpf;
	struct rw_capture_config cfg;
	bool ports_given;
	const char *config_path;    /* -c: output and siem_* keys from this file */
	const char *set_keys[32];   /* config keys from flags, in order: format, */
	const char *set_values[32]; /*   output, --set KEY=VALUE (argv strings) */
	size_t n_sets;
	const char *run_as; /* capture -Z: the user the spool directories are given to */
	bool summary;       /* --summary: counts at the end (the records only to -o) */
	bool output_given;  /* -o on the command line */
	const char *format; /* --format's last value, NULL for the default (text) */
	const char *output; /* -o's last value (--format html: the page's file) */
	bool fix;           /* --fix: each cause's fix page after the records */
};

/* Where a capture's records go: the outputs (NULL: none, --summary alone)
 * and the summary (NULL: none). */
struct rw_capture_sink {
	struct rw_outputs *out;
	struct rw_summary *sum;
	struct rw_html *html; /* --format html: the page, written at the end */
	FILE *html_out;
	bool seen[RW_CAUSE_COUNT]; /* the causes of the records so far (--fix) */
};
/* --fix: the "#### Fix" subsection of docs/causes.md for each cause seen,
 * once each, to stdout; 0, or -1 when it could not be written. */
int rw_capture_print_fixes(const struct rw_capture_sink *k);
/* capture_html.c: --format html. open: the page's collector and its file
 * (-o FILE, or stdout), opened first so that a bad path fails before a long
 * run; 0, or an exit status after printing why. write: the page, at the end;
 * 0 or -1. close: frees both. */
bool rw_capture_html_wanted(const struct rw_capture_opts *o);
int rw_capture_html_open(const struct rw_capture_opts *o, struct rw_capture_sink *k,
                         const char *who);
int rw_capture_html_write(struct rw_capture_sink *k);
void rw_capture_html_close(struct rw_capture_sink *k);
/* Prints the summary to stdout in o's format; 0, or -1 when it could not. */
int rw_capture_print_summary(const struct rw_capture_opts *o, const struct rw_summary *sum);
/* Checks a BPF filter's syntax before any file or interface is opened: a
 * bad filter is a usage error. 0, or -1 after printing why (as WHO). */
int rw_capture_check_filter(const char *who, const char *bpf);

/* The outputs the options name (stdout in text when none), with ids
 * derived from each connection; replay waits when the output queue is full,
 * capture drops. NULL after printing why, with *status the exit status: 2
 * for a configuration the user must change, 1 when it cannot be opened. */
struct rw_outputs *rw_capture_outputs_open(const struct rw_capture_opts *o, bool replay,
                                           struct rw_log *log, int *status);
/* The capture's record callback: arg is a struct rw_capture_sink. */
void rw_capture_on_record(const struct rw_record *rec, void *arg);
/* The same with the record's message formatted ahead for arg's outputs
 * (rw_outputs_format; NULL: formatted here). */
struct rw_outputs_msg;
void rw_capture_on_formatted(const struct rw_record *rec, void *arg, struct rw_outputs_msg *m);

/* Parses one shared option at argv[*i]; returns 1 if consumed, 0 if not one
 * of ours, -1 on a bad value (message printed). */
int rw_capture_opt(struct rw_capture_opts *o, int argc, char **argv, int *i);
void rw_capture_opts_init(struct rw_capture_opts *o);
void rw_capture_opts_help(FILE *f);
/* After a capture or replay: a warning on stderr when packets were cut by the
 * snapshot length (WHO: "replay", "capture"), since the facts inside them
 * are missing from the records. */
void rw_capture_warn_cut(const char *who, const struct rw_capture_stats *st);

/* privdrop.c: the user rdpwhy capture runs as once the capture handle is
 * open (-Z USER; by default RW_RUNAS_DEFAULT when it exists). */
#define RW_RUNAS_DEFAULT "rdpwhy"
struct rw_runas {
	bool drop; /* root now: become uid/gid (name's groups) */
	uid_t uid;
	gid_t gid;
	char name[64];
	char note[192]; /* for stderr: root kept for want of the default user */
};
/* NAME: -Z's value, or NULL for the default. 0 (r filled), or -1 with a
 * message in err (a usage error: no such user, not root). */
int rw_runas_resolve(const char *name, struct rw_runas *r, char *err, size_t errlen);
/* Becomes r's user (initgroups, setresgid, setresuid) and checks that root
 * cannot be regained and no capability is left; when not dropping and not
 * root, gives up file capabilities. 0, or -1 with a message in err. */
int rw_runas_drop(const struct rw_runas *r, char *err, size_t errlen);

/* args.c: splits every `--opt=value` after argv[0] (up to `--`) into
 * `--opt` `value`, so parsers see one form; flags (NULL-terminated) are the
 * options that take no value: `--flag=x` is a usage error. 0, or -1 after
 * printing why. argv's strings are cut in place. */
int rw_cli_expand_eq(const char *cmd, int *argc, char ***argv, const char *const *flags);

int cmd_replay(int argc, char **argv);
int cmd_capture(int argc, char **argv);
int cmd_proxy(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_explain(int argc, char **argv);
/* colour.c: removes --color[=WHEN] / --no-color from argv[1..] and sets
 * the text outputs' colour; -1 (message printed) on a bad WHEN. */
int rw_cli_take_colour(int *argc, char **argv);

#endif
