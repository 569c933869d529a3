/* The libpcap floor for bench/run.sh: open a capture file and read every
 * packet with pcap_next_ex, touching nothing but the header (summed so the
 * loop cannot be optimised away). Prints the packet count and byte sum.
 *
 *   cc -O2 -o pcap_loop bench/pcap_loop.c -lpcap
 *   pcap_loop FILE
 */
#include <pcap/pcap.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: pcap_loop FILE\n");
		return 2;
	}
	char ebuf[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(argv[1], ebuf);
	if (!p) {
		fprintf(stderr, "pcap_loop: %s\n", ebuf);
		return 1;
	}
	struct pcap_pkthdr *h;
	const u_char *data;
	unsigned long long n = 0, bytes = 0;
	int rc;
	while ((rc = pcap_next_ex(p, &h, &data)) >= 0) {
		n++;
		bytes += h->caplen + (h->caplen ? data[0] : 0);
	}
	pcap_close(p);
	printf("%llu packets, %llu\n", n, bytes);
	return rc == PCAP_ERROR ? 1 : 0;
}
