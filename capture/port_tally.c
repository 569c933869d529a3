#include "port_tally.h"

#include <string.h>

void rw_port_tally_add(struct rw_port_tally *t, uint16_t port)
{
	t->total++;
	size_t min = 0;
	for (size_t i = 0; i < t->used; i++) {
		if (t->slot[i].port == port) {
			t->slot[i].count++;
			return;
		}
		if (t->slot[i].count < t->slot[min].count)
			min = i;
	}
	if (t->used < RW_TALLY_SLOTS) {
		t->slot[t->used++] = (struct rw_port_count){port, 1};
		return;
	}
	t->slot[min].port = port;
	t->slot[min].count++;
}

size_t rw_port_tally_top(const struct rw_port_tally *t, struct rw_port_count *out, size_t max)
{
	struct rw_port_count s[RW_TALLY_SLOTS];
	size_t n = t->used;
	memcpy(s, t->slot, n * sizeof(s[0]));
	/* Insertion sort: at most 16 entries. */
	for (size_t i = 1; i < n; i++) {
		struct rw_port_count v = s[i];
		size_t j = i;
		while (j > 0 && (s[j - 1].count < v.count ||
		                 (s[j - 1].count == v.count && s[j - 1].port > v.port))) {
			s[j] = s[j - 1];
			j--;
		}
		s[j] = v;
	}
	if (n > max)
		n = max;
	memcpy(out, s, n * sizeof(s[0]));
	return n;
}
