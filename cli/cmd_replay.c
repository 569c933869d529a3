/* rdpwhy replay: diagnose the connections in capture files. */
#include <string.h>

#include "cli.h"

static void help(FILE *f)
{
	fprintf(f, "usage: rdpwhy replay [OPTIONS] FILE...\n"
	           "\n"
	           "Reads pcap or pcapng files (Ethernet, Linux cooked SLL/SLL2, raw IP,\n"
	           "BSD loopback; IPv4, IPv6, VLAN) and prints one diagnosis per RDP\n"
	           "connection. Files are read in order as one capture.\n"
	           "\n"
	           "options:\n");
	rw_capture_opts_help(f);
	fprintf(f, "  -h, --help              this help\n"
	           "\n"
	           "exit status: 0 when every file was read (whatever the verdicts; a\n"
	           "truncated file gives its records and a warning), 1 when a file could\n"
	           "not be read or a record not written, 2 on a usage error. Records for\n"
	           "tcp:// and tls:// outputs that are not delivered within\n"
	           "siem_flush_timeout stay spooled and go first on the next run.\n");
}

int cmd_replay(int argc, char **argv)
{
	struct rw_capture_opts o;
	rw_capture_opts_init(&o);
	const char *files[argc > 0 ? argc : 1];
	int n_files = 0;
	bool opts_done = false;
	for (int i = 1; i < argc; i++) {
		if (!opts_done && argv[i][0] == '-' && argv[i][1]) {
			if (!strcmp(argv[i], "--")) {
				opts_done = true;
				continue;
			}
			if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
				help(stdout);
				return 0;
			}
			int r = rw_capture_opt(&o, argc, argv, &i);
			if (r < 0)
				return 2;
			if (r == 0) {
				fprintf(stderr, "rdpwhy replay: unknown option '%s'\n", argv[i]);
				help(stderr);
				return 2;
			}
			continue;
		}
		files[n_files++] = argv[i];
	}
	if (n_files == 0) {
		fprintf(stderr, "rdpwhy replay: no capture file given\n");
		help(stderr);
		return 2;
	}

	struct rw_log log = {0};
	rw_log_open(&log, false, 0);
	struct rw_outputs *out = rw_capture_outputs_open(&o, true, &log);
	if (!out)
		return 1;
	struct rw_capture *c = rw_capture_new(&o.cfg, rw_capture_on_record, out);
	if (!c) {
		fprintf(stderr, "rdpwhy replay: out of memory\n");
		rw_outputs_close(out);
		return 1;
	}
	int status = 0;
	for (int f = 0; f < n_files; f++) {
		char err[512];
		bool truncated = false;
		if (rw_pcap_replay(files[f], o.bpf, c, &truncated, err, sizeof(err)) < 0) {
			fprintf(stderr, "rdpwhy replay: %s\n", err);
			status = 1;
			continue;
		}
		if (truncated)
			fprintf(stderr,
			        "rdpwhy replay: warning: %s is truncated (%s); the connections "
			        "it holds are reported\n",
			        files[f], err[0] ? err : "last packet incomplete");
	}
	rw_capture_finish(c);
	const struct rw_capture_stats *st = rw_capture_stats(c);
	if (st->decode_errors || st->evicted)
		fprintf(stderr,
		        "rdpwhy replay: %llu packets, %llu undecodable, %llu connections "
		        "reported early (flow table full)\n",
		        (unsigned long long)st->packets, (unsigned long long)st->decode_errors,
		        (unsigned long long)st->evicted);
	rw_capture_free(c);
	if (rw_outputs_close(out) < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "rdpwhy replay: cannot write the output\n");
		return 1;
	}
	return status;
}
