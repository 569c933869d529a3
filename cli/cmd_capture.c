/* rdpwhy capture: diagnose connections live, one record as each ends. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static volatile int stop_requested;
static struct rw_runas runas; /* -Z */
static const char *filter;    /* the BPF filter in force, for the ready line */

/* The capture handle is open and filtered, nothing read yet: root (or file
 * capabilities) is given up here, before a byte from the wire is parsed; then
 * the line tests and supervisors wait for (README: "ready lines"). */
static int on_ready(const char *iface)
{
	char err[256];
	if (rw_runas_drop(&runas, err, sizeof(err)) < 0) {
		fprintf(stderr, "rdpwhy capture: %s\n", err);
		return -1;
	}
	if (runas.drop)
		fprintf(stderr, "rdpwhy capture: dropped root: running as %s (uid %u, gid %u)\n",
		        runas.name, (unsigned)runas.uid, (unsigned)runas.gid);
	else if (runas.note[0])
		fprintf(stderr, "rdpwhy capture: %s\n", runas.note);
	fprintf(stderr, "rdpwhy capture: ready: capturing on %s (filter: %s)\n", iface, filter);
	fflush(stderr);
	return 0;
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
	           "report the connections still open. Started as root, it becomes an\n"
	           "unprivileged user once the capture is open, before it reads a packet.\n"
	           "\n"
	           "options:\n"
	           "  -i, --interface IFACE   interface to capture on ('any' for all)\n"
	           "  -s, --snaplen N         bytes kept per packet: 128-262144 (default 65535)\n"
	           "      --no-promisc        do not put the interface in promiscuous mode\n"
	           "  -Z, --user USER         run as USER (its groups) once the capture is open\n"
	           "                          (default: '" RW_RUNAS_DEFAULT "' if it exists, else\n"
	           "                          root is kept, with a note; -Z root keeps it\n"
	           "                          quietly). Output files are opened before, as\n"
	           "                          root; spool directories are given to USER\n");
	rw_capture_opts_help(f);
	fprintf(f, "  -h, --help              this help\n"
	           "\n"
	           "Files rdpwhy writes (outputs, spools) are opened without following a\n"
	           "symbolic link that another user could have planted: new files are created\n"
	           "with O_EXCL, mode 0640 (spools 0600), existing ones opened with O_NOFOLLOW;\n"
	           "a link is followed only if root (or the user running rdpwhy) owns it and\n"
	           "its directory, and nobody else can write there (README: file safety).\n");
}

int cmd_capture(int argc, char **argv)
{
	static const char *const flags[] = {"--only-ports", "--help", "--no-promisc",
	                                    "--summary",    "--fix",  NULL};
	if (rw_cli_expand_eq("capture", &argc, &argv, flags) < 0)
		return 2;
	struct rw_capture_opts o;
	rw_capture_opts_init(&o);
	const char *iface = NULL;
	int snaplen = 65535;
	bool promisc = true;
	const char *user = NULL;
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
		if (!strcmp(a, "-Z") || !strcmp(a, "--user")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "rdpwhy capture: %s needs a user name\n", a);
				return 2;
			}
			user = argv[++i];
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
	if (o.bpf && rw_capture_check_filter("capture", o.bpf) < 0)
		return 2;
	char err[512];
	if (rw_runas_resolve(user, &runas, err, sizeof(err)) < 0) {
		fprintf(stderr, "rdpwhy capture: %s\n", err);
		return 2;
	}
	if (runas.drop)
		o.run_as = runas.name;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	struct rw_log log = {0};
	rw_log_open(&log, false, 0);
	struct rw_capture_sink sink = {0};
	int status = 0;
	/* --summary alone prints only the summary (at the stop); -o (or a config
	 * file's outputs) still get every record. */
	bool html = rw_capture_html_wanted(&o);
	if (html && o.fix && !o.output_given) {
		/* The pages would follow the HTML on stdout: the page carries each
		 * failure's fix already; the full pages need their own stream. */
		fprintf(stderr,
		        "rdpwhy capture: --fix with --format html needs -o FILE for the page\n");
		return 2;
	}
	if (html && (status = rw_capture_html_open(&o, &sink, "capture")) != 0)
		return status;
	if (!html && (!o.summary || o.output_given || o.config_path)) {
		sink.out = rw_capture_outputs_open(&o, false, &log, &status);
		if (!sink.out)
			return status;
	}
	if (o.summary || html) {
		if (!sink.sum && !(sink.sum = rw_summary_new())) {
			fprintf(stderr, "rdpwhy capture: out of memory\n");
			rw_outputs_close(sink.out);
			return 1;
		}
		rw_summary_source(sink.sum, iface);
	}
	struct rw_capture *c = rw_capture_new(&o.cfg, rw_capture_on_record, &sink);
	if (!c) {
		fprintf(stderr, "rdpwhy capture: out of memory\n");
		rw_outputs_close(sink.out);
		rw_summary_free(sink.sum);
		return 1;
	}
	/* Without -F, the kernel keeps only what the analysis can use, so a busy
	 * interface costs little: TCP on the analysed ports, or all TCP when any
	 * port may carry RDP (finding an X.224 request on another port needs the
	 * whole flow, server replies included, which no stateless filter can
	 * pick out). */
	char def_bpf[32 + RW_CAPTURE_MAX_PORTS * 16];
	if (!o.bpf) {
		size_t k = (size_t)snprintf(def_bpf, sizeof(def_bpf), "tcp");
		for (size_t i = 0; !o.cfg.detect_any_port && i < o.cfg.n_ports; i++)
			k += (size_t)snprintf(def_bpf + k, sizeof(def_bpf) - k, "%sport %u",
			                      i ? " or " : " and (", o.cfg.ports[i]);
		if (!o.cfg.detect_any_port && o.cfg.n_ports)
			snprintf(def_bpf + k, sizeof(def_bpf) - k, ")");
		o.bpf = def_bpf;
	}
	filter = o.bpf;
	int rc = rw_pcap_live(iface, o.bpf, snaplen, promisc, c, &stop_requested, on_ready, err,
	                      sizeof(err));
	if (rc < 0 && err[0])
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
	int written = sink.out ? rw_outputs_close(sink.out) : 0;
	if (o.fix && rw_capture_print_fixes(&sink) < 0)
		written = -1;
	if (html && rw_capture_html_write(&sink) < 0)
		written = -1;
	rw_capture_html_close(&sink);
	if (!html && sink.sum && rw_capture_print_summary(&o, sink.sum) < 0)
		written = -1;
	rw_summary_free(sink.sum);
	return rc < 0 || written < 0 ? 1 : 0;
}
