/* The options replay and capture share, and their outputs: the same
 * output specifications and keys as the proxy's config file. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "cli.h"
#include "docs_embedded.h"

static int add_set(struct rw_capture_opts *o, const char *key, const char *value)
{
	if (o->n_sets >= sizeof(o->set_values) / sizeof(o->set_values[0])) {
		fprintf(stderr, "rdpwhy: too many options\n");
		return -1;
	}
	o->set_keys[o->n_sets] = key;
	o->set_values[o->n_sets++] = value;
	return 1;
}

void rw_capture_opts_init(struct rw_capture_opts *o)
{
	memset(o, 0, sizeof(*o));
	rw_capture_config_defaults(&o->cfg);
}

void rw_capture_opts_help(FILE *f)
{
	fprintf(f,
	        "  -f, --format text|json|html  text: a report per connection (default);\n"
	        "                          json: one ECS JSON object per line; html: one\n"
	        "                          page (summary, table, ladders) to stdout or -o FILE\n"
	        "      --json-style nested|flat  JSON records as nested objects (default;\n"
	        "                          jq '.rdpwhy.cause') or flat dotted keys\n"
	        "  -o, --output SPEC       '-' (stdout, the default), a file, 'syslog', or\n"
	        "                          tcp://H:P, tls://H:P, udp://H:P, then options\n"
	        "                          ('tcp://siem:514 format=cef spool_dir=/var/spool/x');\n"
	        "                          repeatable\n"
	        "  -c, --config FILE       the proxy's config file: its output and siem_* keys\n"
	        "      --set KEY=VALUE     one such key (e.g. --set "
	        "siem_spool_dir=/var/spool/rdpwhy)\n"
	        "  -p, --port PORT         server port to analyse (repeatable; default 3389);\n"
	        "                          connections on other ports are analysed too when\n"
	        "                          their first client bytes are an X.224 Connection\n"
	        "                          Request, unless --only-ports is given\n"
	        "      --only-ports        analyse only the --port ports\n"
	        "      --summary           at the end, counts per cause, server, client and\n"
	        "                          cookie, worst first (in --format); the records\n"
	        "                          then go only to the -o outputs given\n"
	        "  -F, --filter BPF        libpcap filter applied first (e.g. 'host 10.0.0.5')\n"
	        "      --max-flows N       flow table bound (default 65536); when full the\n"
	        "                          least recently active connection is reported early\n"
	        "      --idle-timeout SEC  report a connection idle this long (default 300)\n"
	        "      --expected-cert SHA256  the host certificate's SHA-256 (hex, colons\n"
	        "                          allowed); another certificate on the wire is\n"
	        "                          reported as tls_stream_altered\n"
	        "      --fix               after the records, the fix page (docs/causes.md's\n"
	        "                          Fix: confirm, change, check) of each cause found\n");
}

static bool parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max || s[0] == '-')
		return false;
	*out = v;
	return true;
}

static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
	if (*i + 1 >= argc) {
		fprintf(stderr, "rdpwhy: option %s needs a value\n", name);
		return NULL;
	}
	return argv[++*i];
}

int rw_capture_opt(struct rw_capture_opts *o, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	const char *v;
	unsigned long n;
	if (!strcmp(a, "-f") || !strcmp(a, "--format")) {
		if (!(v = opt_value(argc, argv, i, a)))
			return -1;
		if (strcmp(v, "text") != 0 && strcmp(v, "json") != 0 && strcmp(v, "html") != 0) {
			fprintf(stderr, "rdpwhy: unknown format '%s' (text, json or html)\n", v);
			return -1;
		}
		o->format = v;
		/* html is one page at the end (capture_html.c), not an output's format. */
		return strcmp(v, "html") != 0 ? add_set(o, "format", v) : 1;
	}
	if (!strcmp(a, "--json-style")) {
		if (!(v = opt_value(argc, argv, i, a)))
			return -1;
		if (strcmp(v, "nested") != 0 && strcmp(v, "flat") != 0) {
			fprintf(stderr, "rdpwhy: unknown JSON style '%s' (nested or flat)\n", v);
			return -1;
		}
		return add_set(o, "json_style", v);
	}
	if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
		if (!(v = opt_value(argc, argv, i, a)))
			return -1;
		o->output_given = true;
		o->output = v;
		return add_set(o, "output", v);
	}
	if (!strcmp(a, "-c") || !strcmp(a, "--config")) {
		if (!(v = opt_value(argc, argv, i, a)))
			return -1;
		o->config_path = v;
		return 1;
	}
	if (!strcmp(a, "--set")) {
		if (!(v = opt_value(argc, argv, i, a)))
			return -1;
		char *eq = strchr(argv[*i], '=');
		if (!eq || eq == argv[*i]) {
			fprintf(stderr, "rdpwhy: --set needs KEY=VALUE\n");
			return -1;
		}
		*eq = '\0'; /* as the proxy's --set: the key ends here */
		return add_set(o, argv[*i], eq + 1);
	}
	if (!strcmp(a, "-p") || !strcmp(a, "--port")) {
		if (!(v = opt_value(argc, argv, i, a)))
			return -1;
		if (!parse_ulong(v, 1, 65535, &n)) {
			fprintf(stderr, "rdpwhy: %s: '%s' is not a port number (1-65535)\n", a, v);
			return -1;
		}
		if (!o->ports_given) {
			o->cfg.n_ports = 0;
			o->ports_given = true;
		}
		if (o->cfg.n_ports >= RW_CAPTURE_MAX_PORTS) {
			fprintf(stderr, "rdpwhy: at most %d ports\n", RW_CAPTURE_MAX_PORTS);
			return -1;
		}
		o->cfg.ports[o->cfg.n_ports++] = (uint16_t)n;
		return 1;
	}
	if (!strcmp(a, "--summary")) {
		o->summary = true;
		return 1;
	}
	if (!strcmp(a, "--fix")) {
		o->fix = true;
		return 1;
	}
	if (!strcmp(a, "--only-ports")) {
		o->cfg.detect_any_port = false;
		return 1;
	}
	if (!strcmp(a, "-F") || !strcmp(a, "--filter")) {
		if (!(v = opt_value(argc, argv, i, a)))
			return -1;
		o->bpf = v;
		return 1;
	}
	if (!strcmp(a, "--max-flows")) {
		if (!(v = opt_value(argc, argv, i, a)))
			return -1;
		if (!parse_ulong(v, 1, 100000000, &n)) {
			fprintf(stderr, "rdpwhy: bad --max-flows '%s'\n", v);
			return -1;
		}
		o->cfg.max_flows = n;
		return 1;
	}
	if (!strcmp(a, "--expected-cert")) {
		if (!(v = opt_value(argc, argv, i, a)))
			return -1;
		size_t k = 0;
		for (; *v; v++) {
			if (*v == ':')
				continue;
			if (!strchr("0123456789abcdefABCDEF", *v) || k >= 64) {
				k = 0;
				break;
			}
			o->cfg.session.expected_cert_sha256[k++] = (char)(*v | 0x20);
		}
		if (k != 64) {
			fprintf(stderr, "rdpwhy: --expected-cert needs 64 hex digits\n");
			return -1;
		}
		o->cfg.session.expected_cert_sha256[64] = 0;
		return 1;
	}
	if (!strcmp(a, "--idle-timeout")) {
		if (!(v = opt_value(argc, argv, i, a)))
			return -1;
		if (!parse_ulong(v, 1, 86400 * 7, &n)) {
			fprintf(stderr, "rdpwhy: bad --idle-timeout '%s'\n", v);
			return -1;
		}
		o->cfg.idle_timeout_us = (uint64_t)n * 1000000ull;
		return 1;
	}
	return 0;
}

/* The configuration the outputs and the summary follow: the file (-c),
 * then the flags. 0, or -1 with err set. */
static int build_config(const struct rw_capture_opts *o, struct rw_proxy_config *cfg, char *err,
                        size_t errlen)
{
	rw_config_defaults(cfg);
	if (o->config_path && rw_config_load(o->config_path, cfg, err, errlen) < 0)
		return -1;
	return rw_config_apply_flags(cfg, o->set_keys, o->set_values, o->n_sets, err, errlen);
}

struct rw_outputs *rw_capture_outputs_open(const struct rw_capture_opts *o, bool replay,
                                           struct rw_log *log, int *status)
{
	*status = 2; /* the configuration is wrong: nothing was started */
	struct rw_proxy_config *cfg = malloc(sizeof(*cfg));
	if (!cfg) {
		fprintf(stderr, "rdpwhy: out of memory\n");
		return NULL;
	}
	char err[RW_CONF_ERR];
	struct rw_outputs *out = NULL;
	if (build_config(o, cfg, err, sizeof(err)) < 0)
		goto fail;
	if (rw_config_validate_outputs(cfg, err, sizeof(err)) < 0)
		goto fail;
	/* Spools are written after capture has dropped root: give them to its user. */
	if (o->run_as)
		snprintf(cfg->user, sizeof(cfg->user), "%s", o->run_as);
	struct rw_outputs_opts oo = {.flow_ids = true, .block_when_full = replay};
	out = rw_outputs_open(cfg, &oo, log, err, sizeof(err));
	if (!out) {
		*status = 1; /* right, but it cannot be done here and now */
		goto fail;
	}
	free(cfg);
	*status = 0;
	return out;
fail:
	fprintf(stderr, "rdpwhy: %s\n", err);
	free(cfg);
	return NULL;
}

void rw_capture_on_record(const struct rw_record *rec, void *arg)
{
	rw_capture_on_formatted(rec, arg, NULL);
}

void rw_capture_on_formatted(const struct rw_record *rec, void *arg, struct rw_outputs_msg *m)
{
	struct rw_capture_sink *k = arg;
	if (k->out)
		rw_outputs_write_formatted(k->out, rec, m);
	if (k->sum)
		rw_summary_add(k->sum, rec);
	if (k->html)
		rw_html_add(k->html, rec);
	if ((unsigned)rec->verdict.cause < RW_CAUSE_COUNT)
		k->seen[rec->verdict.cause] = true;
}

int rw_capture_print_fixes(const struct rw_capture_sink *k)
{
	const struct rw_doc *doc = rw_doc_find("causes");
	size_t printed[RW_CAUSE_COUNT]; /* section starts: a shared section once */
	size_t n = 0;
	for (int c = 0; c < RW_CAUSE_COUNT && doc; c++) {
		const char *name = rw_cause_name((enum rw_cause)c);
		size_t b, e, fb, fe, j = 0;
		if (!k->seen[c] || !rw_doc_section(doc, name, &b, &e))
			continue;
		while (j < n && printed[j] != b)
			j++;
		if (j < n || !rw_doc_subsection(doc, b, e, "Fix", &fb, &fe))
			continue;
		printed[n++] = b;
		printf("\n%s\n", doc->lines[b]);
		for (size_t i = fb; i < fe; i++)
			printf("%s\n", doc->lines[i]);
	}
	return fflush(stdout) == 0 ? 0 : -1;
}

int rw_capture_print_summary(const struct rw_capture_opts *o, const struct rw_summary *sum)
{
	struct rw_buf b;
	rw_buf_init(&b, 0);
	bool json = o->format && !strcmp(o->format, "json");
	bool flat = false;
	if (json) {
		/* The records' json_style (checked when the outputs opened). */
		struct rw_proxy_config *cfg = malloc(sizeof(*cfg));
		char err[RW_CONF_ERR];
		flat = cfg && build_config(o, cfg, err, sizeof(err)) == 0 &&
		       cfg->json_style == RW_CONF_JSON_FLAT;
		free(cfg);
	}
	int rc = json ? rw_summary_json(sum, &b, flat) : rw_summary_text(sum, &b, 10);
	if (rc == 0 && (fwrite(rw_buf_str(&b), 1, b.len, stdout) != b.len || fflush(stdout) != 0))
		rc = -1;
	rw_buf_free(&b);
	return rc;
}

int rw_capture_check_filter(const char *who, const char *bpf)
{
	/* Ethernet accepts every primitive the analysed link types do. */
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
	if (!p) {
		fprintf(stderr, "rdpwhy %s: out of memory\n", who);
		return -1;
	}
	struct bpf_program prog;
	int rc = pcap_compile(p, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN);
	if (rc < 0)
		fprintf(stderr,
		        "rdpwhy %s: --filter '%s': %s (a libpcap filter expression, as for "
		        "tcpdump: see pcap-filter(7))\n",
		        who, bpf, pcap_geterr(p));
	else
		pcap_freecode(&prog);
	pcap_close(p);
	return rc < 0 ? -1 : 0;
}

void rw_capture_warn_cut(const char *who, const struct rw_capture_stats *st)
{
	if (!st->truncated)
		return;
	fprintf(stderr,
	        "rdpwhy %s: warning: %llu packets were cut by the capture's snapshot length: "
	        "the bytes past it are missing (the evidence says so) and so may be facts "
	        "such as the certificate; capture with a larger snapshot length\n",
	        who, (unsigned long long)st->truncated);
}
