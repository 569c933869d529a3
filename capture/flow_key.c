/* A flow's key and its place in the hash table: the canonical key of a
 * packet's endpoints (rw_flow_make_key), its seeded hash, the table's
 * buckets (sized, grown) and the lookup (the flow table's lists and a
 * flow's life are flow_table.c's). */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "flow.h"

uint32_t rw_flow_key_hash(const struct rw_capture *c, const struct flow_key *k)
{
	/* Seeded per table so crafted traffic cannot aim at a chain known in
	 * advance (it runs for every packet). */
	uint64_t h = 0x9e3779b97f4a7c15ull ^ c->seed;
	for (size_t i = 0; i < 4; i++) {
		h = (h ^ k->w[i]) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	h = (h ^ k->w[4]) * 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	h *= 0xff51afd7ed558ccdull;
	return (uint32_t)(h ^ (h >> 32));
}

static bool same_key(const struct flow_key *a, const struct flow_key *b)
{
	uint64_t d = 0;
	for (size_t i = 0; i < 5; i++)
		d |= a->w[i] ^ b->w[i];
	return d == 0;
}

struct flow *rw_flow_lookup(const struct rw_capture *c, const struct flow_key *k, uint32_t h)
{
	for (struct flow *f = c->buckets[h & c->mask]; f; f = f->hnext)
		if (f->hash == h && same_key(&f->key, k))
			return f;
	return NULL;
}

bool rw_flow_hash_init(struct rw_capture *c)
{
	/* One bucket per flow at most; beyond 2^22 chains just get longer. */
	c->max_buckets = 64;
	while (c->max_buckets < c->cfg.max_flows && c->max_buckets < (1u << 22))
		c->max_buckets <<= 1;
	size_t n = c->max_buckets < 1024 ? c->max_buckets : 1024;
	c->buckets = calloc(n, sizeof(*c->buckets));
	c->mask = n - 1;
	return c->buckets != NULL;
}

/* Twice the buckets, each chain's flows moved to their new ones. The table
 * starts small and grows with the flows it holds, up to one bucket per
 * flow of the limit: a capture of a few thousand concurrent flows then
 * looks them up in a table that stays in the cache (with the limit's 65,536
 * buckets from the start, the bucket's load missed it and was 4 % of a
 * replay of short connections). No memory: the chains just get longer. */
static void grow_table(struct rw_capture *c)
{
	size_t n = (c->mask + 1) * 2;
	struct flow **b = calloc(n, sizeof(*b));
	if (!b)
		return;
	for (size_t i = 0; i <= c->mask; i++) {
		struct flow *f = c->buckets[i];
		while (f) {
			struct flow *next = f->hnext;
			f->hnext = b[f->hash & (n - 1)];
			b[f->hash & (n - 1)] = f;
			f = next;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->mask = n - 1;
}

void rw_flow_hash_insert(struct rw_capture *c, struct flow *f)
{
	f->hnext = c->buckets[f->hash & c->mask];
	c->buckets[f->hash & c->mask] = f;
	if (c->n_flows > c->mask + 1 && c->mask + 1 < c->max_buckets)
		grow_table(c);
}

struct flow **rw_flow_chain_link(struct rw_capture *c, const struct flow *f)
{
	struct flow **pp = &c->buckets[f->hash & c->mask];
	while (*pp != f)
		pp = &(*pp)->hnext;
	return pp;
}

void rw_flow_unhash(struct rw_capture *c, struct flow *f)
{
	*rw_flow_chain_link(c, f) = f->hnext;
}

/* An address as two words: IPv4's in the first, the second zero. */
static void addr_words(const uint8_t *a, int family, uint64_t w[2])
{
	if (family == AF_INET) {
		uint32_t v4;
		memcpy(&v4, a, 4);
		w[0] = v4;
		w[1] = 0;
	} else {
		memcpy(&w[0], a, 8);
		memcpy(&w[1], a + 8, 8);
	}
}

void rw_flow_make_key(const struct rw_packet *p, struct flow_key *k)
{
	/* IPv4's 4 bytes compared as one big-endian word: a call to memcmp for
	 * them was 2 % of a replay of short connections. */
	int cmp;
	if (p->family == AF_INET) {
		uint32_t a = (uint32_t)p->src[0] << 24 | (uint32_t)p->src[1] << 16 |
		             (uint32_t)p->src[2] << 8 | p->src[3];
		uint32_t b = (uint32_t)p->dst[0] << 24 | (uint32_t)p->dst[1] << 16 |
		             (uint32_t)p->dst[2] << 8 | p->dst[3];
		cmp = (a > b) - (a < b);
	} else {
		cmp = memcmp(p->src, p->dst, 16);
	}
	bool fwd = cmp < 0 || (cmp == 0 && p->sport <= p->dport);
	addr_words(fwd ? p->src : p->dst, p->family, &k->w[0]);
	addr_words(fwd ? p->dst : p->src, p->family, &k->w[2]);
	uint64_t plo = fwd ? p->sport : p->dport, phi = fwd ? p->dport : p->sport;
	k->w[4] = plo | phi << 16 | (uint64_t)(uint8_t)p->family << 32;
}
