/* rdpwhy proxy: the inline proxy's command line. Flags use the config
 * file's keys: they become the proxy's configuration source (conf/), from
 * which the proxy itself builds its configuration again on SIGHUP. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>

#include "cli.h"
#include "inspect_tls.h"
#include "kafka.h"
#include "pcap_queue.h"
#include "proxy.h"

static void help(FILE *f)
{
	fprintf(f,
	        "usage: rdpwhy proxy [-c FILE] [--listen ADDR:PORT]...\n"
	        "                    [--upstream HOST:PORT | --transparent | --tproxy]\n"
	        "                    [--output SPEC]... [--format text|json] [--pcap-dir DIR]\n"
	        "\n"
	        "Relays RDP connections unchanged between clients and hosts, passing every FIN\n"
	        "and RST on as it happened, and writes one record per connection when it ends:\n"
	        "who closed it, how, in which phase, the likely cause, the evidence and the fix.\n"
	        "\n"
	        "options (each flag has a config file key of the same name; flags win):\n"
	        "  -c, --config FILE       read FILE (format: conf/README.md)\n"
	        "      --check-config      check the configuration and exit (0 = good)\n"
	        "  -l, --listen ADDR:PORT  listen here (repeatable; [::]:3389 for IPv6)\n"
	        "  -u, --upstream H:P      relay every connection to this host\n"
	        "      --transparent       relay to the original destination of an iptables/nft\n"
	        "                          REDIRECT or DNAT rule (SO_ORIGINAL_DST)\n"
	        "      --tproxy            relay to the original destination of a TPROXY rule\n"
	        "                          (needs CAP_NET_ADMIN)\n"
	        "  -o, --output SPEC       '-' (stdout, the default), a file, 'syslog', or\n"
	        "                          tcp://H:P, tls://H:P, udp://H:P, then options\n"
	        "                          ('tls://siem:6514 format=cef ca_file=/etc/ca.pem');\n"
	        "                          repeatable (conf/README.md)\n"
	        "  -f, --format text|json  record format (default text)\n"
	        "      --json-style nested|flat  JSON records as nested objects (default) or\n"
	        "                          flat dotted keys\n"
	        "      --pcap-dir DIR      write each connection as a pcap file (mode 0600)\n"
	        "      --user NAME         run as NAME once listening (keeping only the\n"
	        "                          capabilities a reload needs to open listeners)\n"
	        "      --syslog            also log rdpwhy's own events to syslog\n"
	        "      --idle-timeout D    close a connection idle this long once established\n"
	        "                          (default 2h; 0 = off)\n"
	        "      --prompt-timeout D  wait this long for a client that acknowledged\n"
	        "                          everything and is silent during TLS/NLA (a person at\n"
	        "                          a prompt; default 5m)\n"
	        "      --keepalive-idle D, --keepalive-interval D, --keepalive-count N\n"
	        "                          TCP keepalive on both legs (default 60s, 10s, 6;\n"
	        "                          --keepalive-idle 0 = off)\n"
	        "      --user-timeout D    TCP_USER_TIMEOUT on both legs (default 120s)\n"
	        "      --inspect-cert PEM, --inspect-key PEM\n"
	        "                          the host's own certificate and private key: rdpwhy\n"
	        "                          terminates TLS with them and reads the reason inside\n"
	        "                          (CredSSP, Set Error Info); the key file must be 0600\n"
	        "      --keylog FILE       append both TLS legs' secrets to FILE (NSS key log,\n"
	        "                          for Wireshark; secret material, created 0600)\n"
	        "      --workers N         N event loops, one thread each, on the same listeners\n"
	        "                          (SO_REUSEPORT; default 1, 0 = one per CPU)\n"
	        "      --set KEY=VALUE     any config key (e.g. --set tls_timeout=20s)\n"
	        "  -v, --verbose           more log lines (repeat for debug)\n"
	        "  -h, --help              this help\n"
	        "\n"
	        "signals: TERM/INT stop accepting and let connections finish (grace period),\n"
	        "a second one closes them at once; HUP reloads the config for new connections\n"
	        "and the outputs without a gap (unchanged listeners keep their socket, new ones\n"
	        "open before removed ones close; a change that fails leaves everything as it\n"
	        "was), and reopens output files; USR1 logs the counters.\n"
	        "\n"
	        "exit status: 0 after a clean stop (or a good --check-config), 1 when it could\n"
	        "not start or run (a port in use, an output that cannot be opened), 2 on a\n"
	        "usage or configuration error (nothing was started).\n");
}

static int add_flag(struct rw_proxy *px, const char *key, const char *value)
{
	if (rw_config_source_add(&px->src, key, value) < 0) {
		fprintf(stderr, "rdpwhy proxy: too many options\n");
		return -1;
	}
	return 0;
}

static const struct {
	const char *flag, *key;
	bool has_value;
} flag_map[] = {
        {"--listen", "listen", true},
        {"-l", "listen", true},
        {"--upstream", "upstream", true},
        {"-u", "upstream", true},
        {"--output", "output", true},
        {"-o", "output", true},
        {"--format", "format", true},
        {"-f", "format", true},
        {"--json-style", "json_style", true},
        {"--pcap-dir", "pcap_dir", true},
        {"--user", "user", true},
        {"--transparent", "transparent", false},
        {"--tproxy", "tproxy", false},
        {"--syslog", "syslog", false},
        {"--idle-timeout", "idle_timeout", true},
        {"--prompt-timeout", "prompt_timeout", true},
        {"--keepalive-idle", "keepalive_idle", true},
        {"--keepalive-interval", "keepalive_interval", true},
        {"--keepalive-count", "keepalive_count", true},
        {"--user-timeout", "user_timeout", true},
        {"--inspect-cert", "inspect_cert", true},
        {"--inspect-key", "inspect_key", true},
        {"--keylog", "keylog", true},
        {"--workers", "workers", true},
};

int cmd_proxy(int argc, char **argv)
{
	static const char *const flags[] = {"--transparent",  "--tproxy",  "--syslog", "--help",
	                                    "--check-config", "--verbose", NULL};
	if (rw_cli_expand_eq("proxy", &argc, &argv, flags) < 0)
		return 2;
	struct rw_proxy *px = calloc(1, sizeof(*px));
	if (!px) {
		fprintf(stderr, "rdpwhy proxy: out of memory\n");
		return 1;
	}
	px->reserve_fd = -1;
	bool check_only = false;
	int verbosity = 0;
	int status = 2;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			help(stdout);
			status = 0;
			goto out;
		}
		if (!strcmp(a, "--check-config")) {
			check_only = true;
			continue;
		}
		if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			verbosity++;
			continue;
		}
		if (!strcmp(a, "-c") || !strcmp(a, "--config")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "rdpwhy proxy: %s needs a file\n", a);
				goto out;
			}
			px->src.path = argv[++i];
			continue;
		}
		if (!strcmp(a, "--set")) {
			char *eq = i + 1 < argc ? strchr(argv[i + 1], '=') : NULL;
			if (!eq) {
				fprintf(stderr, "rdpwhy proxy: --set needs KEY=VALUE\n");
				goto out;
			}
			*eq = '\0';
			if (add_flag(px, argv[i + 1], eq + 1) < 0)
				goto out;
			i++;
			continue;
		}
		bool known = false;
		for (size_t k = 0; k < sizeof(flag_map) / sizeof(flag_map[0]); k++) {
			if (strcmp(a, flag_map[k].flag) != 0)
				continue;
			known = true;
			if (flag_map[k].has_value && i + 1 >= argc) {
				fprintf(stderr, "rdpwhy proxy: %s needs a value\n", a);
				goto out;
			}
			if (add_flag(px, flag_map[k].key,
			             flag_map[k].has_value ? argv[++i] : "yes") < 0)
				goto out;
			break;
		}
		if (!known) {
			fprintf(stderr, "rdpwhy proxy: unknown option '%s'\n", a);
			help(stderr);
			goto out;
		}
	}

	char err[RW_CONF_ERR];
	if (rw_config_build(&px->src, &px->cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "rdpwhy proxy: %s\n", err);
		status = 2; /* the configuration must change: nothing was started */
		goto out;
	}
	/* The host's certificate and key for inspection: loaded and checked
	 * before anything starts (and by --check-config). */
	if (rw_inspect_tls_open(&px->cfg, &px->inspect, err, sizeof(err)) < 0) {
		fprintf(stderr, "rdpwhy proxy: %s\n", err);
		status = 2;
		goto out;
	}
	if (check_only) {
		/* What start would do first: a fixed upstream's name must resolve
		 * (a shipped example with a placeholder host passes the syntax and
		 * fails here, as it would at start). */
		if (px->cfg.mode == RW_UPSTREAM_FIXED) {
			struct sockaddr_storage up;
			socklen_t up_len;
			if (rw_upstream_resolve(&px->cfg, &up, &up_len, err, sizeof(err)) < 0) {
				fprintf(stderr, "rdpwhy proxy: %s\n", err);
				status = 2;
				goto out;
			}
		}
		/* A kafka:// output needs librdkafka, loaded only at start. */
		for (size_t i = 0; i < px->cfg.n_outputs; i++) {
			struct rw_output_spec spec;
			if (rw_output_spec_parse(px->cfg.outputs[i], &spec, NULL, 0) == 0 &&
			    spec.kind == RW_OUT_KAFKA &&
			    rw_kafka_available(spec.target, err, sizeof(err)) < 0) {
				fprintf(stderr, "rdpwhy proxy: %s\n", err);
				status = 2;
				goto out;
			}
		}
		if (verbosity > 0) {
			/* The effective configuration: file, flags and defaults merged. */
			static char buf[64 * 1024];
			size_t n = rw_config_format(&px->cfg, buf, sizeof(buf));
			fwrite(buf, 1, n < sizeof(buf) ? n : sizeof(buf) - 1, stdout);
		}
		printf("%s: configuration ok\n", px->src.path ? px->src.path : "flags");
		status = 0;
		goto out;
	}
	/* A peer that vanishes must not kill us with SIGPIPE on write. */
	signal(SIGPIPE, SIG_IGN);
	rw_log_open(&px->log, px->cfg.syslog, verbosity);
	/* workers = 0: one per CPU. */
	unsigned n_workers = px->cfg.workers;
	if (n_workers == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		n_workers = cpus > 0 ? (unsigned)cpus : 1;
	}
	px->base = rw_proxy_base_new(n_workers == 1); /* proxy.c says what it sets */
	if (!px->base) {
		fprintf(stderr, "rdpwhy proxy: cannot create the event loop\n");
		status = 1;
		goto out;
	}
	LIST_INIT(&px->conns);
	struct rw_outputs_opts oo = {.flow_ids = false, .block_when_full = false};
	px->outputs = rw_outputs_open(&px->cfg, &oo, &px->log, err, sizeof(err));
	if (px->outputs) {
		rw_outputs_keep_summary(px->outputs); /* logged on SIGUSR1 and at the stop */
		px->pcapq = rw_pcapq_new(px->cfg.pcap_queue_max, &px->log, err, sizeof(err));
	}
	if (!px->outputs || !px->pcapq ||
	    rw_proxy_workers_new(px, n_workers, err, sizeof(err)) < 0 ||
	    rw_proxy_listen(px, err, sizeof(err)) < 0) {
		fprintf(stderr, "rdpwhy proxy: %s\n", err);
		status = 1;
		goto out;
	}
	px->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	char note[160];
	if (rw_privs_drop(&px->privs, px->cfg.user, px->cfg.mode == RW_UPSTREAM_TPROXY, note,
	                  sizeof(note), err, sizeof(err)) < 0) {
		fprintf(stderr, "rdpwhy proxy: %s\n", err);
		status = 1;
		goto out;
	}
	rw_proxy_workers_privs(px);
	if (px->cfg.user[0])
		rw_logx(&px->log, LOG_NOTICE, "running as %s%s%s", px->cfg.user,
		        note[0] ? "; " : "", note);
	else if (note[0])
		rw_logx(&px->log, LOG_NOTICE, "capabilities %s", note);
	status = rw_proxy_run(px) < 0 ? 1 : 0;
out:
	rw_proxy_workers_free(px);
	if (px->reserve_fd >= 0)
		close(px->reserve_fd);
	/* Every connection is closed: the pcaps are written out (a stalled
	 * disk gets 5 s, then the files are left as they are). */
	rw_pcapq_free(px->pcapq, 5000);
	rw_outputs_close(px->outputs);
	rw_inspect_tls_free(px->inspect);
	if (px->base)
		event_base_free(px->base);
	rw_log_close(&px->log);
	free(px);
	return status;
}
