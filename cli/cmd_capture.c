/* rdpwhy capture: diagnose connections live, one record as each ends. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static volatile int stop_requested;

/* The line tests and supervisors wait for (README: "ready lines"). */
static void say_ready(const char *iface)
{
	fprintf(stderr, "rdpwhy capture: ready: capturing on %s\n", iface);
	fflush(stderr);
}

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void help(FILE *f)
{
	fprintf(f, "usage: rdpwhy capture -i IFACE [OPTIONS]\n"
	           "\n"
	           "Captures live (needs CAP_NET_RAW or root) and prints each connection's\n"
	           "diagnosis when it ends or goes idle. SIGINT/SIGTERM stop the capture and\n"
	           "report the connections still open.\n"
	           "\n"
	           "options:\n"
	           "  -i, --interface IFACE   interface to capture on ('any' for all)\n"
	           "  -s, --snaplen N         bytes kept per packet: 128-262144 (default 65535)\n"
	           "      --no-promisc        do not put the interface in promiscuous mode\n");
	rw_capture_opts_help(f);
	fprintf(f, "  -h, --help              this help\n");
}

int cmd_capture(int argc, char **argv)
{
	struct rw_capture_opts o;
	rw_capture_opts_init(&o);
	const char *iface = NULL;
	int snaplen = 65535;
	bool promisc = true;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			help(stdout);
			return 0;
		}
		if (!strcmp(a, "-i") || !strcmp(a, "--interface")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "rdpwhy capture: %s needs an interface\n", a);
				return 2;
			}
			iface = argv[++i];
			continue;
		}
		if (!strcmp(a, "-s") || !strcmp(a, "--snaplen")) {
			/* 262144: libpcap's largest snapshot length. Parsed as a long
			 * and range-checked before the cast, so 4294967424 is refused
			 * instead of becoming 128. */
			char *end = NULL;
			long v = -1;
			if (i + 1 < argc) {
				errno = 0;
				v = strtol(argv[++i], &end, 10);
			}
			if (!end || end == argv[i] || *end || errno || v < 128 || v > 262144) {
				fprintf(stderr, "rdpwhy capture: --snaplen needs 128 to 262144\n");
				return 2;
			}
			snaplen = (int)v;
			continue;
		}
		if (!strcmp(a, "--no-promisc")) {
			promisc = false;
			continue;
		}
		int r = rw_capture_opt(&o, argc, argv, &i);
		if (r < 0)
			return 2;
		if (r == 0) {
			fprintf(stderr, "rdpwhy capture: unknown option '%s'\n", a);
			help(stderr);
			return 2;
		}
	}
	if (!iface) {
		fprintf(stderr, "rdpwhy capture: -i IFACE is required\n");
		help(stderr);
		return 2;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	struct rw_log log = {0};
	rw_log_open(&log, false, 0);
	struct rw_outputs *out = rw_capture_outputs_open(&o, false, &log);
	if (!out)
		return 1;
	struct rw_capture *c = rw_capture_new(&o.cfg, rw_capture_on_record, out);
	if (!c) {
		fprintf(stderr, "rdpwhy capture: out of memory\n");
		rw_outputs_close(out);
		return 1;
	}
	char err[512];
	int rc = rw_pcap_live(iface, o.bpf, snaplen, promisc, c, &stop_requested, say_ready, err,
	                      sizeof(err));
	if (rc < 0)
		fprintf(stderr, "rdpwhy capture: %s\n", err);
	const struct rw_capture_stats *st = rw_capture_stats(c);
	rw_capture_warn_cut("capture", st);
	if (st->kernel_drops)
		fprintf(stderr,
		        "rdpwhy capture: warning: the kernel dropped %llu packets (capture too "
		        "slow or its buffer too small): connections may be reported "
		        "incompletely\n",
		        (unsigned long long)st->kernel_drops);
	rw_capture_free(c);
	int written = rw_outputs_close(out);
	return rc < 0 || written < 0 ? 1 : 0;
}
