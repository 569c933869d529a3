/* rdpwhy: why did this RDP connection die? Subcommand dispatch and the
 * option handling that replay and capture share. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "record_format.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: rdpwhy [--version] [--help] COMMAND [ARGS]\n"
		   "\n"
		   "Tells why RDP connections died: who closed, how (FIN, RST, timeout),\n"
		   "in which phase (tcp_connect, x224, tls_handshake, nla, rdp, established),\n"
		   "the likely cause, the evidence and the fix.\n"
		   "\n"
		   "commands:\n"
		   "  replay FILE...     diagnose the RDP connections in pcap/pcapng files\n"
		   "  capture -i IFACE   diagnose RDP connections live from an interface\n"
		   "  proxy              relay RDP inline and diagnose every connection\n"
		   "\n"
		   "'rdpwhy COMMAND --help' explains each command's options.\n");
}

void rw_capture_opts_init(struct rw_capture_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->format = RW_FMT_TEXT;
	rw_capture_config_defaults(&o->cfg);
}

void rw_capture_opts_help(FILE *f)
{
	fprintf(f,
		"  -f, --format text|json  text: a report per connection (default);\n"
		"                          json: one ECS JSON object per line\n"
		"  -p, --port PORT         server port to analyse (repeatable; default 3389);\n"
		"                          connections on other ports are analysed too when\n"
		"                          their first client bytes are an X.224 Connection\n"
		"                          Request, unless --only-ports is given\n"
		"      --only-ports        analyse only the --port ports\n"
		"  -F, --filter BPF        libpcap filter applied first (e.g. 'host 10.0.0.5')\n"
		"      --max-flows N       flow table bound (default 65536); when full the\n"
		"                          least recently active connection is reported early\n"
		"      --idle-timeout SEC  report a connection idle this long (default 300)\n"
		"      --expected-cert SHA256  the host certificate's SHA-256 (hex, colons\n"
		"                          allowed); another certificate on the wire is\n"
		"                          reported as tls_stream_altered\n");
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
		if (!strcmp(v, "text"))
			o->format = RW_FMT_TEXT;
		else if (!strcmp(v, "json"))
			o->format = RW_FMT_JSON;
		else {
			fprintf(stderr, "rdpwhy: unknown format '%s' (text or json)\n", v);
			return -1;
		}
		return 1;
	}
	if (!strcmp(a, "-p") || !strcmp(a, "--port")) {
		if (!(v = opt_value(argc, argv, i, a)))
			return -1;
		if (!parse_ulong(v, 1, 65535, &n)) {
			fprintf(stderr, "rdpwhy: bad port '%s'\n", v);
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

void rw_printer_record(const struct rw_record *rec, void *arg)
{
	struct rw_printer *p = arg;
	struct rw_record copy = *rec;
	copy.id = ++p->next_id;
	struct rw_buf b;
	rw_buf_init(&b, 0);
	int rc = p->format == RW_FMT_JSON ? rw_record_json(&copy, NULL, &b)
					  : rw_record_text(&copy, &b);
	if (rc < 0) {
		fprintf(stderr, "rdpwhy: out of memory formatting record %llu\n",
			(unsigned long long)copy.id);
		p->write_error = true;
	} else {
		if (p->format == RW_FMT_TEXT && p->printed > 0)
			fputc('\n', p->out);
		if (fwrite(b.data, 1, b.len, p->out) != b.len)
			p->write_error = true;
		p->printed++;
	}
	rw_buf_free(&b);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("rdpwhy %s\n", RDPWHY_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "replay"))
		return cmd_replay(argc - 1, argv + 1);
	if (!strcmp(cmd, "capture"))
		return cmd_capture(argc - 1, argv + 1);
	if (!strcmp(cmd, "proxy"))
		return cmd_proxy(argc - 1, argv + 1);
	fprintf(stderr, "rdpwhy: unknown command '%s'\n\n", cmd);
	usage(stderr);
	return 2;
}
