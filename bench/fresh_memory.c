/* What memory a process touches for the first time costs on this machine,
 * and whether that depends on how long ago it was freed.
 *
 *   cc -O2 -o /tmp/fresh_memory bench/fresh_memory.c && /tmp/fresh_memory [MIB] [PAUSE_S]
 *
 * Maps MIB MiB (default 256) of anonymous memory in 2 MiB regions and
 * faults every page in, with small pages (a write per 4 KiB) and with huge
 * pages (MADV_HUGEPAGE, then MADV_POPULATE_WRITE where the kernel has it,
 * else a write per 4 KiB); each kind twice: after a pause of PAUSE_S
 * seconds (default 10) with nothing touched, and again at once (the pages
 * just unmapped, taken again). On bare metal all four cost about the same:
 * zeroing the memory. On a virtual machine a small page's fault is a trap
 * to the hypervisor (on the 2-CPU VM of docs/benchmarks.md, 10 us a page,
 * pause or not); and where the guest reports its free pages to the host
 * (virtio-balloon free page reporting), memory freed a few seconds ago must
 * be backed by the host again (there, huge pages: 1.6 ms a MiB after a
 * pause, 0.07 at once). Either way a replay that touches 20 MiB more than
 * a bare read loop pays for it in time, not only in memory. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define REGION (2u << 20)

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Faults n regions in and unmaps them; returns ms per MiB. */
static double touch(size_t n, int huge)
{
	double spent = 0;
	void **maps = calloc(n, sizeof(*maps));
	if (!maps)
		return -1;
	for (size_t i = 0; i < n; i++) {
		/* Twice the size, so that an aligned region fits: a huge page must be. */
		uint8_t *m = mmap(NULL, 2 * REGION, PROT_READ | PROT_WRITE,
		                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED) {
			perror("mmap");
			exit(1);
		}
		maps[i] = m;
		uint8_t *b = (uint8_t *)(((uintptr_t)m + REGION - 1) & ~(uintptr_t)(REGION - 1));
		(void)madvise(b, REGION, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
		double t = now_ms();
		int done = 0;
#ifdef MADV_POPULATE_WRITE
		done = huge && madvise(b, REGION, MADV_POPULATE_WRITE) == 0;
#endif
		for (size_t k = 0; !done && k < REGION; k += 4096)
			((volatile uint8_t *)b)[k] = 1;
		spent += now_ms() - t;
	}
	for (size_t i = 0; i < n; i++)
		munmap(maps[i], 2 * REGION);
	free(maps);
	return spent / (double)(n * (REGION >> 20));
}

int main(int argc, char **argv)
{
	long mib = argc > 1 ? atol(argv[1]) : 256;
	long pause_s = argc > 2 ? atol(argv[2]) : 10;
	if (mib < 2 || pause_s < 0) {
		fprintf(stderr, "usage: fresh_memory [MIB >= 2] [PAUSE_S]\n");
		return 2;
	}
	size_t n = (size_t)mib / 2;
	printf("# ms per MiB faulted in, %zu MiB at a time\n", n * 2);
	printf("%-6s %16s %10s\n", "pages", "after a pause", "at once");
	for (int huge = 0; huge < 2; huge++) {
		sleep((unsigned)pause_s);
		double cold = touch(n, huge);
		double warm = touch(n, huge);
		printf("%-6s %16.3f %10.3f\n", huge ? "2 MiB" : "4 KiB", cold, warm);
	}
	return 0;
}
