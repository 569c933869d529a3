/* rdpwhy replay: diagnose the connections in capture files. */
#include <string.h>
#include <time.h>

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

/* A clock that jumped is worth knowing: records around it rest on it. */
static void say_clock(const struct rw_capture_stats *st)
{
	if (st->clock_outliers) {
		time_t t = (time_t)(st->first_outlier_ts_us / 1000000u);
		struct tm tm;
		char when[32] = "?";
		if (gmtime_r(&t, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
		fprintf(stderr,
		        "rdpwhy replay: warning: %llu frame%s stamped more than 60 s away from "
		        "the frames around %s (first: frame %llu, %s): taken as at their "
		        "neighbours' time, so they expired nothing\n",
		        (unsigned long long)st->clock_outliers, st->clock_outliers == 1 ? "" : "s",
		        st->clock_outliers == 1 ? "it" : "them",
		        (unsigned long long)st->first_outlier_frame, when);
	}
	if (st->clock_steps_back)
		fprintf(stderr,
		        "rdpwhy replay: warning: the capture's clock went back more than 60 s %llu "
		        "time%s (frames after it stamped earlier): connections spanning it keep "
		        "one record, their times may be off by the step\n",
		        (unsigned long long)st->clock_steps_back,
		        st->clock_steps_back == 1 ? "" : "s");
}

/* A file with no RDP connection is a finding, not silence: say what it held
 * and which --port to try (a mid-stream capture on another port has no
 * Connection Request for the any-port detection to find). */
static void say_nothing_found(const struct rw_capture_opts *o, const struct rw_capture_stats *st,
                              const char **files, int n_files)
{
	char ports[128] = "";
	size_t off = 0;
	for (size_t i = 0; i < o->cfg.n_ports && off < sizeof(ports); i++) {
		int n = snprintf(ports + off, sizeof(ports) - off, "%s%u", i ? "," : "",
		                 (unsigned)o->cfg.ports[i]);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	fprintf(stderr,
	        "rdpwhy replay: no RDP connection found in %s%s: %llu packets, %llu of them "
	        "TCP%s%s\n",
	        files[0], n_files > 1 ? " and the other files" : "",
	        (unsigned long long)st->packets, (unsigned long long)st->tcp_packets,
	        o->bpf ? " after the filter " : "", o->bpf ? o->bpf : "");
	if (st->tcp_packets == 0 && st->decode_errors == st->packets && st->packets > 0) {
		fprintf(stderr, "rdpwhy replay: none of its packets could be decoded: a link "
		                "type rdpwhy does not read, or damaged frames\n");
		return;
	}
	if (st->tcp_packets == 0) {
		fprintf(stderr, "rdpwhy replay: the capture holds no TCP at all: was it taken on "
		                "the right interface, or with a filter that excluded RDP?\n");
		return;
	}
	const struct rw_port_tally *t = st->syn_ports.total ? &st->syn_ports : &st->data_ports;
	struct rw_port_count top[5];
	size_t n = rw_port_tally_top(t, top, 5);
	if (n == 0)
		return;
	fprintf(stderr, "rdpwhy replay: busiest TCP server ports (%s): ",
	        t == &st->syn_ports ? "connection set-up packets" : "data packets, by lower port");
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%s%u (%llu)", i ? ", " : "", (unsigned)top[i].port,
		        (unsigned long long)top[i].count);
	fprintf(stderr,
	        "\nrdpwhy replay: analysed: port%s %s, and any port whose first client bytes "
	        "are an X.224 Connection Request%s. If RDP runs on port %u, try: rdpwhy replay "
	        "--port %u %s\n",
	        o->cfg.n_ports == 1 ? "" : "s", ports,
	        o->cfg.detect_any_port ? "" : " (off: --only-ports)", (unsigned)top[0].port,
	        (unsigned)top[0].port, files[0]);
}

int cmd_replay(int argc, char **argv)
{
	static const char *const flags[] = {"--only-ports", "--help", "--summary", "--fix", NULL};
	if (rw_cli_expand_eq("replay", &argc, &argv, flags) < 0)
		return 2;
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

	if (o.bpf && rw_capture_check_filter("replay", o.bpf) < 0)
		return 2;

	struct rw_log log = {0};
	rw_log_open(&log, false, 0);
	struct rw_capture_sink sink = {0};
	int status = 0;
	/* --summary alone prints only the summary; -o (or a config file's
	 * outputs) still get every record. */
	bool html = rw_capture_html_wanted(&o);
	if (html && o.fix && !o.output_given) {
		/* The pages would follow the HTML on stdout: the page carries each
		 * failure's fix already; the full pages need their own stream. */
		fprintf(stderr,
		        "rdpwhy replay: --fix with --format html needs -o FILE for the page\n");
		return 2;
	}
	if (html && (status = rw_capture_html_open(&o, &sink, "replay")) != 0)
		return status;
	if (!html && (!o.summary || o.output_given || o.config_path)) {
		sink.out = rw_capture_outputs_open(&o, true, &log, &status);
		if (!sink.out)
			return status;
	}
	if (o.summary && !sink.sum && !(sink.sum = rw_summary_new())) {
		fprintf(stderr, "rdpwhy replay: out of memory\n");
		rw_outputs_close(sink.out);
		return 1;
	}
	struct rw_capture *c = rw_capture_new(&o.cfg, rw_capture_on_record, &sink);
	if (!c) {
		fprintf(stderr, "rdpwhy replay: out of memory\n");
		rw_outputs_close(sink.out);
		rw_summary_free(sink.sum);
		return 1;
	}
	for (int f = 0; f < n_files; f++) {
		if (sink.sum)
			rw_summary_source(sink.sum, files[f]);
		rw_capture_set_source(c, strcmp(files[f], "-") != 0 ? files[f] : "(stdin)");
		char err[512];
		bool truncated = false;
		if (rw_pcap_replay(files[f], o.bpf, c, &truncated, err, sizeof(err)) < 0) {
			fprintf(stderr, "rdpwhy replay: %s\n", err);
			status = 1;
			continue;
		}
		if (truncated)
			fprintf(stderr,
			        "rdpwhy replay: warning: %s is truncated or damaged (%s); the "
			        "connections in the packets before it are reported\n",
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
	say_clock(st);
	rw_capture_warn_cut("replay", st);
	if (st->records == 0 && status == 0)
		say_nothing_found(&o, st, files, n_files);
	rw_capture_free(c);
	if ((sink.out && rw_outputs_close(sink.out) < 0) || fflush(stdout) != 0) {
		fprintf(stderr, "rdpwhy replay: cannot write the output\n");
		status = 1;
	}
	if (o.fix && rw_capture_print_fixes(&sink) < 0) {
		fprintf(stderr, "rdpwhy replay: cannot write the fix pages\n");
		status = 1;
	}
	if (html && rw_capture_html_write(&sink) < 0) {
		fprintf(stderr, "rdpwhy replay: cannot write the HTML page\n");
		status = 1;
	}
	rw_capture_html_close(&sink);
	if (!html && sink.sum && rw_capture_print_summary(&o, sink.sum) < 0) {
		fprintf(stderr, "rdpwhy replay: cannot write the summary\n");
		status = 1;
	}
	rw_summary_free(sink.sum);
	return status;
}
