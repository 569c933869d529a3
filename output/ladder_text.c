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

/* One line is composed in a local buffer and appended at once: the ladder
 * is a tenth of a text replay's time when built with a call per character. */
static int line(struct rw_buf *b, const struct rw_ladder_event *e)
{
	char l[32 + TIME_COL + WIDTH + sizeof(e->label)];
	size_t n = 13, len = strnlen(e->label, sizeof(e->label));
	size_t dashes = len + 3 < WIDTH ? WIDTH - len - 3 : 3;
	memset(l, ' ', n + TIME_COL);
	if (e->timed) {
		char t[RW_PLUS_MS_STR_MAX];
		rw_ladder_time(e->t_us, t);
		size_t tl = strlen(t);
		memcpy(l + n, t, tl);
		n += tl > TIME_COL ? tl : TIME_COL;
	} else {
		n += TIME_COL;
	}
	switch (e->arrow) {
	case RW_LADDER_C2S:
		memcpy(l + n, e->label, len);
		n += len;
		l[n++] = ' ';
		memset(l + n, '-', dashes);
		n += dashes;
		l[n++] = '>';
		break;
	case RW_LADDER_S2C:
		l[n++] = '<';
		memset(l + n, '-', dashes);
		n += dashes;
		l[n++] = ' ';
		memcpy(l + n, e->label, len);
		n += len;
		break;
	default: {
		size_t sp = len + 4 < WIDTH ? (WIDTH - len - 4) / 2 : 0;
		memset(l + n, ' ', sp);
		n += sp;
		memcpy(l + n, "[ ", 2);
		memcpy(l + n + 2, e->label, len);
		n += 2 + len;
		memcpy(l + n, " ]", 2);
		n += 2;
		break;
	}
	}
	l[n++] = '\n';
	return rw_buf_add(b, l, n);
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
