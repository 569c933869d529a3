/* A record's ladder as inline SVG: the client's and the server's lines, one
 * arrow per event pointing away from its sender (dashed when inferred),
 * notes centred between them. Plain shapes only (no marker ids), since a
 * page holds many of these and ids would have to be unique. */
#include "html.h"

#include <string.h>

#include "ladder.h"

#define W        620
#define CLIENT_X 150
#define SERVER_X 600
#define ROW      22
#define TOP      34

int rw_html_ladder_svg(const struct rw_record *rec, struct rw_buf *out)
{
	struct rw_ladder_event ev[RW_LADDER_MAX];
	size_t n = rw_ladder_build(rec, ev);
	if (n == 0)
		return 0;
	size_t mark = out->len;
	int h = TOP + (int)n * ROW + 8;
	int r = rw_buf_printf(out,
	                      "<svg class=\"ladder\" "
	                      "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">"
	                      "<text x=\"%d\" y=\"16\" text-anchor=\"middle\" class=\"side\">client"
	                      "</text><text x=\"%d\" y=\"16\" text-anchor=\"middle\" "
	                      "class=\"side\">server</text>"
	                      "<line x1=\"%d\" y1=\"22\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>"
	                      "<line x1=\"%d\" y1=\"22\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>",
	                      W, h, W, h, CLIENT_X, SERVER_X, CLIENT_X, CLIENT_X, h - 4, SERVER_X,
	                      SERVER_X, h - 4);
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct rw_ladder_event *e = &ev[i];
		int y = TOP + (int)i * ROW + 8;
		char t[RW_PLUS_MS_STR_MAX] = "";
		if (e->timed)
			rw_ladder_time(e->t_us, t);
		r = rw_buf_printf(out, "<text x=\"4\" y=\"%d\" class=\"t\">%s</text>", y + 4, t);
		if (r < 0)
			break;
		const char *dash = e->inferred ? " stroke-dasharray=\"5 3\"" : "";
		const char *cls = e->arrow == RW_LADDER_C2S ? "c" : "s";
		int mid = (CLIENT_X + SERVER_X) / 2;
		if (e->arrow == RW_LADDER_C2S)
			r = rw_buf_printf(
			        out,
			        "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"%s\"%s/>"
			        "<polygon points=\"%d,%d %d,%d %d,%d\" class=\"%s\"/>",
			        CLIENT_X, y, SERVER_X - 8, y, cls, dash, SERVER_X, y, SERVER_X - 9,
			        y - 4, SERVER_X - 9, y + 4, cls);
		else if (e->arrow == RW_LADDER_S2C)
			r = rw_buf_printf(
			        out,
			        "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"%s\"%s/>"
			        "<polygon points=\"%d,%d %d,%d %d,%d\" class=\"%s\"/>",
			        SERVER_X, y, CLIENT_X + 8, y, cls, dash, CLIENT_X, y, CLIENT_X + 9,
			        y - 4, CLIENT_X + 9, y + 4, cls);
		if (r == 0)
			r = rw_buf_printf(
			        out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" class=\"%s\">",
			        mid, e->arrow == RW_LADDER_NOTE ? y + 4 : y - 4,
			        e->arrow == RW_LADDER_NOTE ? "note" : "l");
		if (r == 0)
			r = rw_html_escape(out, e->label, strlen(e->label));
		if (r == 0)
			r = rw_buf_puts(out, "</text>");
	}
	if (r == 0)
		r = rw_buf_puts(out, "</svg>");
	if (r < 0)
		rw_buf_truncate(out, mark);
	return r;
}
