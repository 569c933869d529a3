/* The ladder in the text report:
 *
 *   ladder     client                                        server
 *              +0.000 ms  SYN ------------------------------------->
 *                         <------------------------------------ SYN-ACK
 *              +0.310 ms  X.224 CR (ssl|hybrid) ------------------->
 *              +9.800 ms  <---------------------------------------- RST
 *              +5000 ms               [ proxy timeout in x224 ]
 *
 * A blank time is an event the record holds without its time. Labels are
 * built from names in rdpwhy's own tables, never from wire strings. */
#include "ladder.h"

#include <string.h>

#define WIDTH    44 /* the arrow column, between the client and the server */
#define TIME_COL 11

static int pad(struct rw_buf *b, char c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (rw_buf_putc(b, c) < 0)
			return -1;
	return 0;
}

static int line(struct rw_buf *b, const struct rw_ladder_event *e)
{
	char t[24] = "";
	if (e->timed)
		rw_ladder_time(e->t_us, t);
	size_t len = strlen(e->label);
	size_t dashes = len + 3 < WIDTH ? WIDTH - len - 3 : 3;
	if (rw_buf_printf(b, "             %-*s", TIME_COL, t) < 0)
		return -1;
	switch (e->arrow) {
	case RW_LADDER_C2S:
		if (rw_buf_printf(b, "%s ", e->label) < 0 || pad(b, '-', dashes) < 0 ||
		    rw_buf_puts(b, ">\n") < 0)
			return -1;
		break;
	case RW_LADDER_S2C:
		if (rw_buf_putc(b, '<') < 0 || pad(b, '-', dashes) < 0 ||
		    rw_buf_printf(b, " %s\n", e->label) < 0)
			return -1;
		break;
	default:
		if (pad(b, ' ', len + 4 < WIDTH ? (WIDTH - len - 4) / 2 : 0) < 0 ||
		    rw_buf_printf(b, "[ %s ]\n", e->label) < 0)
			return -1;
		break;
	}
	return 0;
}

int rw_ladder_text(const struct rw_record *rec, struct rw_buf *out)
{
	struct rw_ladder_event ev[RW_LADDER_MAX];
	size_t n = rw_ladder_build(rec, ev);
	if (n == 0)
		return 0;
	size_t mark = out->len;
	int r = rw_buf_printf(out, "  ladder     %-*sclient%*s\n", TIME_COL, "", WIDTH - 6 + 1,
	                      "server");
	for (size_t i = 0; i < n && r == 0; i++)
		r = line(out, &ev[i]);
	if (r < 0)
		rw_buf_truncate(out, mark);
	return r;
}
