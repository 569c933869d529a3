/* Classic pcap files read as they are on disk (rw_pcap_read_fast, what
 * `rdpwhy replay` does with a regular file) against libpcap's reading
 * (rw_pcap_read): the input is written to a memfd, read both ways by its
 * /proc/self/fd path, and the two must hand over the same packets (link
 * type, time stamp, lengths, bytes), in the same order, with the same
 * return value, truncation flag and message. A file the raw reader does
 * not take (pcapng, another version, an odd link type) is read by libpcap
 * both times; a record libpcap would cut or find damaged, and the end of a
 * file cut short, are libpcap's from there on. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture.h"
#include "fuzz_util.h"

struct pkt {
	int dlt;
	uint64_t ts_us;
	size_t caplen, wirelen;
	uint64_t sum; /* FNV-1a of the bytes */
};

struct list {
	struct pkt *v;
	size_t n, cap;
};

static void on_packet(void *arg, int dlt, uint64_t ts_us, const uint8_t *p, size_t caplen,
                      size_t wirelen)
{
	struct list *l = arg;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		FUZZ_CHECK(l->v != NULL);
	}
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < caplen; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	l->v[l->n++] = (struct pkt){dlt, ts_us, caplen, wirelen, h};
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz.pcap", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0);
	for (size_t off = 0; off < size;) {
		ssize_t k = write(fd, data + off, size - off);
		FUZZ_CHECK(k > 0);
		off += (size_t)k;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

	struct list a = {0}, b = {0};
	char ea[512], eb[512];
	bool ta = false, tb = true;
	int ra = rw_pcap_read(path, NULL, on_packet, &a, &ta, ea, sizeof(ea));
	int rb = rw_pcap_read_fast(path, NULL, on_packet, &b, &tb, eb, sizeof(eb));
	FUZZ_CHECK(ra == rb);
	FUZZ_CHECK(ta == tb);
	FUZZ_CHECK(fuzz_cstr_in(ea, sizeof(ea)) && fuzz_cstr_in(eb, sizeof(eb)));
	/* The path is in the messages; it is the same path. */
	FUZZ_CHECK(strcmp(ea, eb) == 0);
	FUZZ_CHECK(a.n == b.n);
	for (size_t i = 0; i < a.n; i++) {
		FUZZ_CHECK(a.v[i].dlt == b.v[i].dlt);
		FUZZ_CHECK(a.v[i].ts_us == b.v[i].ts_us);
		FUZZ_CHECK(a.v[i].caplen == b.v[i].caplen);
		FUZZ_CHECK(a.v[i].wirelen == b.v[i].wirelen);
		FUZZ_CHECK(a.v[i].sum == b.v[i].sum);
	}
	free(a.v);
	free(b.v);
	close(fd);
	return 0;
}
