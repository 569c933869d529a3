/* The flows' memory (rw_flow_alloc, rw_flow_dealloc, rw_flow_regions_free):
 * whole flows and tombstones (flow.h), from the heap or, with
 * cfg.flow_regions (replay), from regions of their own. */
#include "flow.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "session.h"

/* cfg.flow_regions: flows, and tombstones apart, live in 2 MiB regions
 * faulted in at once, the free ones on a list (one thread: the capture's),
 * instead of calloc'd: replay's flows take MiBs of fresh heap, a page fault
 * per 4 KiB, each a trap costing about 15 us on a virtual machine. Under
 * AddressSanitizer, calloc and free all the same (its checks), tombstones
 * exactly their size. */
#define FLOW_REGION_BYTES (2u << 20)
#if defined(__SANITIZE_ADDRESS__)
#define FLOW_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FLOW_ASAN 1
#endif
#endif

#ifndef FLOW_ASAN
/* One more region of slots of the given size on *free (linked by hnext). */
static bool region_grow(void **regions, struct flow **free_list, size_t slot)
{
	uint8_t *r = rw_map_prefaulted(FLOW_REGION_BYTES);
	if (!r)
		return false;
	memcpy(r, regions, sizeof(void *));
	*regions = r;
	size_t first = (sizeof(void *) + _Alignof(struct flow) - 1) & ~(_Alignof(struct flow) - 1);
	size_t n = (FLOW_REGION_BYTES - first) / slot;
	for (size_t i = n; i-- > 0;) {
		struct flow *f = (struct flow *)(r + first + i * slot);
		f->hnext = *free_list;
		*free_list = f;
	}
	return true;
}

static void regions_unmap(void **regions)
{
	while (*regions) {
		void *r = *regions;
		memcpy(regions, r, sizeof(void *));
		munmap(r, FLOW_REGION_BYTES);
	}
}
#endif

/* A tombstone's slot in a region: its head, rounded up so that the next
 * one is aligned as a flow. */
#define TOMB_SLOT ((FLOW_TOMB_BYTES + _Alignof(struct flow) - 1) & ~(_Alignof(struct flow) - 1))

/* A zeroed flow, or with tomb a zeroed head of one (FLOW_TOMB_BYTES). */
struct flow *rw_flow_alloc(struct rw_capture *c, bool tomb)
{
	size_t size = tomb ? FLOW_TOMB_BYTES : sizeof(struct flow);
#ifdef FLOW_ASAN
	(void)c;
#else
	void **regions = tomb ? &c->tomb_regions : &c->flow_regions;
	struct flow **free_list = tomb ? &c->tomb_free : &c->flow_free;
	size_t slot = tomb ? TOMB_SLOT : sizeof(struct flow);
	if (c->cfg.flow_regions && (*free_list || region_grow(regions, free_list, slot))) {
		struct flow *f = *free_list;
		*free_list = f->hnext;
		memset(f, 0, size);
		f->in_region = true;
		f->tomb = tomb;
		return f;
	}
#endif
	/* Through memcpy: a tombstone is no whole struct flow (the sanitizer
	 * checking object sizes would say so of a member write). */
	struct flow *f = calloc(1, size);
	if (f)
		memcpy((char *)f + offsetof(struct flow, tomb), &tomb, sizeof(tomb));
	return f;
}

void rw_flow_dealloc(struct rw_capture *c, struct flow *f)
{
	if (!f->in_region) {
		free(f);
		return;
	}
	struct flow **free_list = f->tomb ? &c->tomb_free : &c->flow_free;
	f->hnext = *free_list;
	*free_list = f;
}

void rw_flow_regions_free(struct rw_capture *c)
{
#ifdef FLOW_ASAN
	(void)c;
#else
	regions_unmap(&c->flow_regions);
	regions_unmap(&c->tomb_regions);
#endif
}
