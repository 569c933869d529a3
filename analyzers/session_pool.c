/* The sessions' memory (rw_session_new, rw_session_free, rw_session_pack,
 * rw_session_unpack; rw_session_pool_stats, rw_session_pool_trim).
 *
 * A session is a large struct, mostly zeros (about 18 KiB: the record's
 * ClientHello, certificate and evidence lines), made and dropped once per
 * connection. calloc/free of that size costs a memset of cold memory,
 * malloc's search of its large bins and page faults, and the freed chunks
 * leave holes in the heap that keep the proxy's idle connections (packed,
 * rw_session_pack) from being small. So sessions live in page-aligned slots
 * of large mmap'd regions instead, and a free slot is one of:
 * - warm: a freed session's slot, its pages kept; the next session takes
 *   the latest one. In the proxy an ended session's slot is zeroed by the
 *   thread that frees it (the output thread, once the record is written),
 *   which keeps the memset off the event loops. In replay
 *   (rw_session_pool_prefault) it is zeroed by the thread that takes it
 *   again: the formatting thread frees what the capture thread makes, and
 *   a slot zeroed there has every line of it in that core's cache, to be
 *   moved back line by line to the core that writes the next session
 *   (replay of short connections: 7 to 10 % faster and 8 % less CPU).
 *   A capture's sessions end in bursts (a flow table's expiry, replay -j's
 *   records handed over by the thousand, the end of the capture), and a
 *   page fault or a madvise call costs more than zeroing a whole slot
 *   (here 15 us a page, 100 us a call, 1.3 us a slot), so freed slots are
 *   kept, no more than there were live sessions at the peak (as a heap
 *   keeps them); but whenever a session is packed (its connection went
 *   idle) those beyond as many as there are live sessions (POOL_KEEP_MIN at
 *   least) go back, the oldest first, and rw_session_pool_trim gives them
 *   all back;
 * - clean: its pages given back to the kernel (or never touched); they read
 *   as zeros, so the slot needs no memset, but its first use faults them in.
 *   A packed session's slot goes there (it belongs to an idle connection,
 *   and few of those wake up) unless fewer than POOL_WARM_MAX are warm:
 *   then the packing thread zeroes it and keeps it. In replay
 *   (rw_session_pool_prefault) it is kept warm all the same: a capture's
 *   quiet flows are packed as new ones keep coming.
 * Pages go back in batches of POOL_RELEASE_BATCH slots or more, sorted, one
 * MADV_DONTNEED per run of adjacent slots: each call flushes the TLB, which
 * costs more than the pages. Regions are never unmapped (address space
 * only, once their slots are clean). One lock: sessions are made in one
 * thread and freed in another (replay -j hands records over with their
 * sessions; the proxy's event loops). Under AddressSanitizer free slots are
 * poisoned and the regions are LeakSanitizer roots (what a live session
 * points to is not a leak). */
#include "session_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "session_state.h"

#define POOL_REGION_BYTES  (2u << 20)
#define POOL_WARM_MAX      32
#define POOL_KEEP_MIN      64
#define POOL_RELEASE_BATCH 64
#define POOL_RELEASE_MAX   1024           /* slots released by one call */
#define WARM_DIRTY         ((uintptr_t)1) /* slots are page-aligned */

#if defined(__SANITIZE_ADDRESS__)
#define POOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_ASAN 1
#endif
#endif
#ifdef POOL_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/lsan_interface.h>
#define POOL_POISON(p, n)   ASAN_POISON_MEMORY_REGION(p, n)
#define POOL_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POOL_POISON(p, n)   ((void)(p), (void)(n))
#define POOL_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* In replay the capture thread takes a slot for each new connection while
 * the formatting thread gives one back for each record written, each under
 * the lock for a few instructions; with a plain mutex they met there about
 * 1,500 times on 20,000 connections, each meeting a futex wait on one side
 * and a wake on the other (on this virtual machine a wake that crosses
 * cores costs tens of microseconds). glibc's adaptive mutex spins a little
 * before it sleeps: futex calls went from about 3,200 to 430 a replay of
 * 20,000 connections, CPU down 2 to 7 %. */
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
#define POOL_MUTEX_INITIALIZER PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
#else
#define POOL_MUTEX_INITIALIZER PTHREAD_MUTEX_INITIALIZER
#endif

static struct {
	pthread_mutex_t lock;
	size_t slot;       /* sizeof(struct rw_session) rounded up to whole pages */
	size_t per_region; /* slots per mmap'd region */
	size_t cap;        /* slots mapped: the room in warm[] and clean[] */
	void **warm;       /* oldest first; WARM_DIRTY tags a slot not zeroed yet */
	size_t n_warm;
	size_t zeroing; /* packed sessions' slots being zeroed on their way there */
	void *packed[POOL_RELEASE_BATCH]; /* packed sessions' slots, to release */
	size_t n_packed;
	void **clean;
	size_t n_clean;
	size_t live;
	uint64_t reused, fresh, released, madvised;
} pool = {.lock = POOL_MUTEX_INITIALIZER};
/* rw_session_pool_prefault: replay's pool. Read without the lock by every
 * slot_put, which needs it before it takes the lock. */
static atomic_bool pool_replay;

/* A region of small pages, so that one slot's pages can be given back
 * alone. */
static uint8_t *map_region(size_t bytes)
{
	void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
#ifdef MADV_NOHUGEPAGE
	(void)madvise(m, bytes, MADV_NOHUGEPAGE);
#endif
	return m;
}

/* rw_session_pool_prefault: a region whose pages are all there at once (one
 * huge page when the region is one, and the kernel gives it). */
void *rw_map_prefaulted(size_t bytes)
{
	size_t huge = POOL_REGION_BYTES;
	uint8_t *base = NULL;
	if (bytes == huge) {
		/* Aligned to its size, as a huge page must be. */
		uint8_t *m = mmap(NULL, 2 * huge, PROT_READ | PROT_WRITE,
		                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m != MAP_FAILED) {
			uintptr_t a = ((uintptr_t)m + huge - 1) & ~(uintptr_t)(huge - 1);
			base = (uint8_t *)a;
			if (base > m)
				munmap(m, (size_t)(base - m));
			if (base + huge < m + 2 * huge)
				munmap(base + huge, (size_t)(m + 2 * huge - (base + huge)));
#ifdef MADV_HUGEPAGE
			(void)madvise(base, huge, MADV_HUGEPAGE);
#endif
		}
	}
	if (!base) {
		void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		               0);
		if (m == MAP_FAILED)
			return NULL;
		base = m;
	}
#ifdef MADV_POPULATE_WRITE
	if (madvise(base, bytes, MADV_POPULATE_WRITE) == 0)
		return base;
#endif
	long pg = sysconf(_SC_PAGESIZE);
	size_t page = pg > 0 ? (size_t)pg : 4096;
	for (size_t i = 0; i < bytes; i += page)
		((volatile uint8_t *)base)[i] = 0;
	return base;
}

/* Maps one more region; its slots join the clean ones, the lowest on top.
 * Under the lock. */
static bool pool_grow(void)
{
	if (!pool.slot) {
		long pg = sysconf(_SC_PAGESIZE);
		size_t page = pg > 0 ? (size_t)pg : 4096;
		pool.slot = (sizeof(struct rw_session) + page - 1) / page * page;
		pool.per_region = POOL_REGION_BYTES / pool.slot ? POOL_REGION_BYTES / pool.slot : 1;
	}
	size_t n = pool.per_region;
	void **nz = realloc(pool.warm, (pool.cap + n) * sizeof(*nz));
	if (!nz)
		return false;
	pool.warm = nz;
	void **nc = realloc(pool.clean, (pool.cap + n) * sizeof(*nc));
	if (!nc)
		return false;
	pool.clean = nc;
	size_t bytes = n * pool.slot;
	uint8_t *base = atomic_load_explicit(&pool_replay, memory_order_relaxed)
	                        ? rw_map_prefaulted(bytes)
	                        : map_region(bytes);
	if (!base)
		return false;
#ifdef POOL_ASAN
	__lsan_register_root_region(base, bytes);
#endif
	POOL_POISON(base, bytes);
	for (size_t i = n; i-- > 0;)
		pool.clean[pool.n_clean++] = base + i * pool.slot;
	pool.cap += n;
	return true;
}

static int by_address(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
	return x < y ? -1 : x > y;
}

/* Gives the pages of n free slots (taken off the lists) back to the kernel,
 * one madvise per run of adjacent slots, and makes them clean. */
static void pool_release(void **v, size_t n, size_t slot)
{
	qsort(v, n, sizeof(*v), by_address);
	size_t calls = 0;
	for (size_t i = 0; i < n;) {
		size_t k = 1;
		while (i + k < n && (uint8_t *)v[i + k] == (uint8_t *)v[i] + k * slot)
			k++;
		calls++;
		if (madvise(v[i], k * slot, MADV_DONTNEED) != 0) {
			/* Cannot happen on a mapping of ours; zero them all the same. */
			for (size_t j = i; j < i + k; j++) {
				POOL_UNPOISON(v[j], sizeof(struct rw_session));
				memset(v[j], 0, sizeof(struct rw_session));
				POOL_POISON(v[j], sizeof(struct rw_session));
			}
		}
		i += k;
	}
	pthread_mutex_lock(&pool.lock);
	/* The lowest on top: a burst of new sessions takes adjacent slots,
	 * which are then likely to be released together again. */
	for (size_t i = n; i-- > 0;)
		pool.clean[pool.n_clean++] = v[i];
	pool.released += n;
	pool.madvised += calls;
	pthread_mutex_unlock(&pool.lock);
}

/* A warm slot's address, untagged. */
static void *warm_slot(void *tagged)
{
	return (void *)((uintptr_t)tagged & ~WARM_DIRTY);
}

/* A zeroed session's memory, NULL when out of memory. */
struct rw_session *rw_session_slot_get(void)
{
	void *p = NULL;
	bool zero = true;
	pthread_mutex_lock(&pool.lock);
	if (pool.n_warm) {
		p = pool.warm[--pool.n_warm];
		zero = !((uintptr_t)p & WARM_DIRTY);
		p = warm_slot(p);
		pool.reused++;
	} else if (pool.n_packed) {
		p = pool.packed[--pool.n_packed];
		zero = false;
		pool.reused++;
	} else if (pool.n_clean || pool_grow()) {
		p = pool.clean[--pool.n_clean];
		pool.fresh++;
	}
	if (p)
		pool.live++;
	pthread_mutex_unlock(&pool.lock);
	if (p) {
		POOL_UNPOISON(p, sizeof(struct rw_session));
		if (!zero)
			memset(p, 0, sizeof(struct rw_session));
	}
	return p;
}

/* A slot back: packed says its connection went idle. */
void rw_session_slot_put(struct rw_session *s, bool packed)
{
	void *batch[POOL_RELEASE_MAX];
	size_t n_batch = 0, slot;
	bool replay = atomic_load_explicit(&pool_replay, memory_order_relaxed);
	/* Replay's: a quiet flow's slot is the next session's, as an ended
	 * one's; giving its pages back would only fault them in again. */
	if (packed && replay)
		packed = false;
	if (!packed) {
		/* In replay, zeroed by the thread that takes it (see the top);
		 * in the proxy here, off the event loop that takes it. */
		if (!replay)
			memset(s, 0, sizeof(*s));
		POOL_POISON(s, sizeof(*s));
		pthread_mutex_lock(&pool.lock);
		pool.warm[pool.n_warm++] = replay ? (void *)((uintptr_t)s | WARM_DIRTY) : s;
		pool.live--;
		pthread_mutex_unlock(&pool.lock);
		return;
	}
	pthread_mutex_lock(&pool.lock);
	slot = pool.slot;
	if (pool.n_warm + pool.zeroing < POOL_WARM_MAX) {
		pool.zeroing++;
		pthread_mutex_unlock(&pool.lock);
		memset(s, 0, sizeof(*s));
		POOL_POISON(s, sizeof(*s));
		pthread_mutex_lock(&pool.lock);
		pool.zeroing--;
		pool.warm[pool.n_warm++] = s;
		pool.live--;
		pthread_mutex_unlock(&pool.lock);
		return;
	}
	POOL_POISON(s, sizeof(*s));
	pool.live--;
	pool.packed[pool.n_packed++] = s;
	/* Released once there are enough for a batch, with the oldest warm
	 * slots beyond as many as there are live sessions. */
	size_t keep = pool.live > POOL_KEEP_MIN ? pool.live : POOL_KEEP_MIN;
	size_t excess = pool.n_warm > keep ? pool.n_warm - keep : 0;
	if (excess + pool.n_packed >= POOL_RELEASE_BATCH) {
		if (excess > POOL_RELEASE_MAX - POOL_RELEASE_BATCH)
			excess = POOL_RELEASE_MAX - POOL_RELEASE_BATCH;
		for (size_t i = 0; i < excess; i++)
			batch[i] = warm_slot(pool.warm[i]);
		pool.n_warm -= excess;
		memmove(pool.warm, pool.warm + excess, pool.n_warm * sizeof(*pool.warm));
		memcpy(batch + excess, pool.packed, pool.n_packed * sizeof(*batch));
		n_batch = excess + pool.n_packed;
		pool.n_packed = 0;
	}
	pthread_mutex_unlock(&pool.lock);
	if (n_batch)
		pool_release(batch, n_batch, slot);
}

void rw_session_pool_trim(void)
{
	for (;;) {
		void *v[POOL_RELEASE_MAX];
		size_t n = 0, slot;
		pthread_mutex_lock(&pool.lock);
		slot = pool.slot;
		while (pool.n_packed && n < POOL_RELEASE_MAX)
			v[n++] = pool.packed[--pool.n_packed];
		while (pool.n_warm && n < POOL_RELEASE_MAX)
			v[n++] = warm_slot(pool.warm[--pool.n_warm]);
		pthread_mutex_unlock(&pool.lock);
		if (!n)
			return;
		pool_release(v, n, slot);
	}
}

void rw_session_pool_stats(struct rw_session_pool_stats *st)
{
	pthread_mutex_lock(&pool.lock);
	*st = (struct rw_session_pool_stats){
	        .session_bytes = sizeof(struct rw_session),
	        .slot_bytes = pool.slot,
	        .live = pool.live,
	        .warm = pool.n_warm,
	        .dirty = pool.n_packed,
	        .clean = pool.n_clean,
	        .mapped_bytes = pool.cap * pool.slot,
	        .reused = pool.reused,
	        .fresh = pool.fresh,
	        .released = pool.released,
	        .release_calls = pool.madvised,
	};
	pthread_mutex_unlock(&pool.lock);
}

void rw_session_pool_prefault(bool on)
{
	atomic_store_explicit(&pool_replay, on, memory_order_relaxed);
}
