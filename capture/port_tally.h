/* The busiest TCP server ports of a capture, in bounded memory: what to tell
 * a user whose file holds no RDP on the ports rdpwhy looked at ("try --port
 * 3390"). A space-saving counter (Metwally et al.): RW_TALLY_SLOTS counters,
 * the least counted one replaced by a new port, so any port with more than
 * 1/RW_TALLY_SLOTS of the hits is certain to be listed; counts of replaced
 * ports are over-estimates by at most the evicted minimum. */
#ifndef RW_PORT_TALLY_H
#define RW_PORT_TALLY_H

#include <stddef.h>
#include <stdint.h>

#define RW_TALLY_SLOTS 16

struct rw_port_count {
	uint16_t port;
	uint64_t count;
};

struct rw_port_tally {
	struct rw_port_count slot[RW_TALLY_SLOTS];
	size_t used;
	uint64_t total;
};

void rw_port_tally_add(struct rw_port_tally *t, uint16_t port);
/* Up to max entries, busiest first (ties: lower port first). */
size_t rw_port_tally_top(const struct rw_port_tally *t, struct rw_port_count *out, size_t max);

#endif
