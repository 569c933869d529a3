/* rdpwhy probe HOST[:PORT]: ask a host what it accepts, as a client would. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "probe.h"
#include "profile.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: rdpwhy probe [OPTIONS] HOST[:PORT]\n"
	           "\n"
	           "Connects to an RDP host as a client (a few dozen paced connections) and\n"
	           "reports what it accepts: TCP, the RDP security layers (rdp, ssl, hybrid,\n"
	           "hybrid_ex, rdstls), standard RDP encryption methods, TLS versions and\n"
	           "suites, its certificate, its NTLM identity and clock (clock_skew beyond\n"
	           "5 minutes), then replays each client profile's offer and says which\n"
	           "clients would connect, and why not.\n"
	           "\n"
	           "options:\n"
	           "  --format text|json      text matrix (default) or JSON lines: one for the\n"
	           "                          host, one per profile\n"
	           "  --json-style nested|flat  JSON keys as nested objects (default) or\n"
	           "                          dotted names (\"rdpwhy.probe.tcp\")\n"
	           "  --timeout SECONDS       per step (default 5)\n"
	           "  --pace MS               pause between connections (default 100)\n"
	           "  --max-connections N     at most N connections in all (default 64); the\n"
	           "                          cipher suite list comes last and stops there\n"
	           "  --profiles DIR          client profiles (default: the installed ones)\n"
	           "  --server-name NAME      name the certificate must match (default HOST)\n"
	           "  --ca FILE               trust anchors for the certificate (default: system)\n"
	           "\n"
	           "HOST is a name or an address ([v6] with a port); PORT defaults to 3389.\n"
	           "Exit status: 0 every profile would connect, 1 some would not (or would\n"
	           "warn, or the host is unreachable), 2 the probe itself failed (usage, a\n"
	           "name that does not resolve, profiles that do not load).\n");
}

static int parse_target(const char *arg, char *host, size_t cap, uint16_t *port)
{
	*port = 3389;
	const char *p = arg, *end, *colon = NULL;
	if (*p == '[') {
		end = strchr(p, ']');
		if (!end)
			return -1;
		p++;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] && !colon)
			return -1;
	} else {
		colon = strrchr(p, ':');
		if (colon && strchr(p, ':') != colon)
			colon = NULL; /* a bare IPv6 address: no port */
		end = colon ? colon : p + strlen(p);
	}
	size_t n = (size_t)(end - p);
	if (n == 0 || n >= cap)
		return -1;
	memcpy(host, p, n);
	host[n] = '\0';
	if (colon) {
		char *e;
		errno = 0;
		long v = strtol(colon + 1, &e, 10);
		if (errno || *e || e == colon + 1 || v < 1 || v > 65535)
			return -1;
		*port = (uint16_t)v;
	}
	return 0;
}

static int uint_arg(const char *name, const char *v, unsigned long lo, unsigned long hi,
                    unsigned *out)
{
	char *e;
	errno = 0;
	unsigned long x = strtoul(v ? v : "", &e, 10);
	if (!v || errno || *e || e == v || x < lo || x > hi) {
		fprintf(stderr, "rdpwhy probe: %s wants a number from %lu to %lu, not '%s'\n", name,
		        lo, hi, v ? v : "");
		return -1;
	}
	*out = (unsigned)x;
	return 0;
}

static const char *default_profiles(void)
{
	const char *env = getenv("RDPWHY_PROFILES");
	if (env && *env)
		return env;
	static const char *const dirs[] = {RDPWHY_PROFILES_INSTALLED, RDPWHY_PROFILES_SOURCE};
	struct stat st;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (stat(dirs[i], &st) == 0 && S_ISDIR(st.st_mode))
			return dirs[i];
	return RDPWHY_PROFILES_INSTALLED;
}

int cmd_probe(int argc, char **argv)
{
	static const char *const flags[] = {"--help", NULL};
	if (rw_cli_expand_eq("probe", &argc, &argv, flags) < 0)
		return 2;
	struct rw_probe_opts o = {.timeout_ms = 5000, .pace_ms = 100, .max_connections = 64};
	const char *target = NULL, *format = "text";
	bool nested = true;
	unsigned timeout_s = 5;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--format")) {
			if (!v || (strcmp(v, "text") && strcmp(v, "json"))) {
				fprintf(stderr, "rdpwhy probe: --format wants text or json\n");
				return 2;
			}
			format = v;
			i++;
		} else if (!strcmp(a, "--json-style")) {
			if (!v || (strcmp(v, "nested") && strcmp(v, "flat"))) {
				fprintf(stderr,
				        "rdpwhy probe: --json-style wants nested or flat\n");
				return 2;
			}
			nested = !strcmp(v, "nested");
			i++;
		} else if (!strcmp(a, "--timeout")) {
			if (uint_arg(a, v, 1, 600, &timeout_s) < 0)
				return 2;
			i++;
		} else if (!strcmp(a, "--pace")) {
			if (uint_arg(a, v, 0, 60000, &o.pace_ms) < 0)
				return 2;
			i++;
		} else if (!strcmp(a, "--max-connections")) {
			if (uint_arg(a, v, 1, 200, &o.max_connections) < 0)
				return 2;
			i++;
		} else if (!strcmp(a, "--profiles") || !strcmp(a, "--server-name") ||
		           !strcmp(a, "--ca")) {
			if (!v || !*v) {
				fprintf(stderr, "rdpwhy probe: %s wants a value\n", a);
				return 2;
			}
			if (!strcmp(a, "--profiles"))
				o.profiles_dir = v;
			else if (!strcmp(a, "--server-name"))
				o.server_name = v;
			else
				o.ca_file = v;
			i++;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "rdpwhy probe: unknown option '%s'\n\n", a);
			usage(stderr);
			return 2;
		} else if (target) {
			fprintf(stderr, "rdpwhy probe: one host at a time ('%s' and '%s')\n",
			        target, a);
			return 2;
		} else {
			target = a;
		}
	}
	if (!target) {
		usage(stderr);
		return 2;
	}
	char host[256];
	if (parse_target(target, host, sizeof(host), &o.port) < 0) {
		fprintf(stderr, "rdpwhy probe: '%s' is not HOST, HOST:PORT or [V6]:PORT\n", target);
		return 2;
	}
	o.host = host;
	o.timeout_ms = timeout_s * 1000;
	if (!o.profiles_dir)
		o.profiles_dir = default_profiles();
	if (o.ca_file && access(o.ca_file, R_OK) != 0) {
		fprintf(stderr, "rdpwhy probe: --ca %s: %s\n", o.ca_file, strerror(errno));
		return 2;
	}

	char err[512];
	struct rw_profile *profiles = NULL;
	size_t n_profiles = 0;
	if (rw_profiles_load(o.profiles_dir, &profiles, &n_profiles, err, sizeof(err)) < 0) {
		fprintf(stderr, "rdpwhy probe: profiles: %s\n", err);
		return 2;
	}
	struct rw_probe_findings *f = calloc(1, sizeof(*f));
	if (!f) {
		free(profiles);
		fprintf(stderr, "rdpwhy probe: out of memory\n");
		return 2;
	}
	int rc = 2;
	if (rw_probe_run(&o, profiles, n_profiles, f, err, sizeof(err)) < 0) {
		fprintf(stderr, "rdpwhy probe: %s\n", err);
	} else {
		struct rw_buf out;
		rw_buf_init(&out, 0);
		int w = 0;
		if (!strcmp(format, "json"))
			w = rw_probe_json(f, nested, &out);
		else
			rw_probe_text(f, &out);
		if (w < 0 || fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout)) {
			fprintf(stderr, "rdpwhy probe: cannot write the report\n");
		} else {
			rc = rw_probe_exit_status(f);
		}
		rw_buf_free(&out);
	}
	free(f);
	free(profiles);
	return rc;
}
