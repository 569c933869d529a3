/* The ladder diagram of a connection: its flights in time order, each with
 * who sent it, so that a person sees at a glance who spoke last and who hung
 * up. Built from the record's fields only: an event the record has no field
 * for is absent, and one the record inferred (a one-direction capture) says
 * so. Shared by the text report and the HTML page's SVG. */
#ifndef RW_LADDER_H
#define RW_LADDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "record.h"
#include "record_format.h"

enum rw_ladder_arrow {
	RW_LADDER_C2S = 0, /* sent by the client */
	RW_LADDER_S2C,     /* sent by the server */
	RW_LADDER_NOTE,    /* neither side's packet: a phase, a timeout, an absence */
};

#define RW_LADDER_MAX   24
#define RW_LADDER_LABEL 64

struct rw_ladder_event {
	bool timed;    /* false: the record has the event but not its time */
	uint64_t t_us; /* since the connection's first event (rec->ts_open_us) */
	enum rw_ladder_arrow arrow;
	bool inferred; /* from the other side's acknowledgements, not captured */
	char label[RW_LADDER_LABEL];
};

/* Fills ev with the record's events in time order (an untimed event right
 * after the one it follows on the wire) and returns how many. */
size_t rw_ladder_build(const struct rw_record *rec, struct rw_ladder_event ev[RW_LADDER_MAX]);

/* The time column: "+0.120 ms" (microseconds under 10 ms), "+9812 ms". */
void rw_ladder_time(uint64_t us, char out[RW_PLUS_MS_STR_MAX]);

/* The ladder as text lines under the report's "ladder" label (see
 * ladder_text.c); nothing when there are no events. 0, or -1 on allocation
 * failure with out as it was. */
int rw_ladder_text(const struct rw_record *rec, struct rw_buf *out);

#endif
