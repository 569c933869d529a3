/* --format html for replay and capture: the records are rendered into the
 * page's collector as they come (with the summary it needs), and the page
 * is written once at the end, to -o FILE or stdout. Record outputs are not
 * opened: -o names the page's file. */
#include <errno.h>
#include <string.h>

#include "cli.h"

bool rw_capture_html_wanted(const struct rw_capture_opts *o)
{
	return o->format && !strcmp(o->format, "html");
}

int rw_capture_html_open(const struct rw_capture_opts *o, struct rw_capture_sink *k,
                         const char *who)
{
	const char *path = o->output && strcmp(o->output, "-") != 0 ? o->output : NULL;
	if (path && strstr(path, "://")) {
		fprintf(stderr,
		        "rdpwhy %s: --format html writes one page to a file or stdout, "
		        "not to '%s'\n",
		        who, path);
		return 2;
	}
	k->html_out = path ? fopen(path, "w") : stdout;
	if (!k->html_out) {
		fprintf(stderr, "rdpwhy %s: %s: %s\n", who, path, strerror(errno));
		return 1;
	}
	k->html = rw_html_new(RW_HTML_MAX_ROWS, RW_HTML_MAX_DETAILS);
	if (!k->sum)
		k->sum = rw_summary_new();
	if (!k->html || !k->sum) {
		fprintf(stderr, "rdpwhy %s: out of memory\n", who);
		rw_capture_html_close(k);
		return 1;
	}
	return 0;
}

int rw_capture_html_write(struct rw_capture_sink *k)
{
	struct rw_buf b;
	rw_buf_init(&b, 0);
	int rc = rw_html_page(k->html, k->sum, &b);
	if (rc == 0 &&
	    (fwrite(rw_buf_str(&b), 1, b.len, k->html_out) != b.len || fflush(k->html_out) != 0))
		rc = -1;
	rw_buf_free(&b);
	return rc;
}

void rw_capture_html_close(struct rw_capture_sink *k)
{
	if (k->html_out && k->html_out != stdout)
		fclose(k->html_out);
	k->html_out = NULL;
	rw_html_free(k->html);
	k->html = NULL;
}
