/* rdpwhy: why did this RDP connection die? Subcommand dispatch. */
#include <string.h>

#include "cli.h"

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
	           "  probe HOST[:PORT]  ask a host what it accepts and which clients it refuses\n"
	           "  explain 0x904 0x7  what mstsc's codes mean; explain CAUSE: a cause's page\n"
	           "\n"
	           "'rdpwhy COMMAND --help' explains each command's options. Every command\n"
	           "takes --color=auto|always|never: auto colours the text report on a\n"
	           "terminal unless NO_COLOR is set.\n");
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
	if (rw_cli_take_colour(&argc, argv) < 0)
		return 2;
	if (!strcmp(cmd, "replay"))
		return cmd_replay(argc - 1, argv + 1);
	if (!strcmp(cmd, "capture"))
		return cmd_capture(argc - 1, argv + 1);
	if (!strcmp(cmd, "proxy"))
		return cmd_proxy(argc - 1, argv + 1);
	if (!strcmp(cmd, "probe"))
		return cmd_probe(argc - 1, argv + 1);
	if (!strcmp(cmd, "explain"))
		return cmd_explain(argc - 1, argv + 1);
	fprintf(stderr, "rdpwhy: unknown command '%s'\n\n", cmd);
	usage(stderr);
	return 2;
}
