/* Prints the README's JSON key table (markdown) from output/record_keys.h,
 * the table the JSON writer names its keys through. The README holds the
 * same text between <!-- record-keys:begin --> and <!-- record-keys:end -->;
 * tests/readme_keys.py fails when they differ. To update the README:
 *
 *   rw_record_keys_md > /tmp/keys.md   (and paste it between the markers)
 *
 * or rw_record_keys_md --update README.md, which rewrites the block in place. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "record_keys.h"

#define BEGIN "<!-- record-keys:begin -->\n"
#define END   "<!-- record-keys:end -->"

static int update(const char *path, const struct rw_buf *table)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return 1;
	}
	struct rw_buf text = RW_BUF_INIT;
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (rw_buf_append(&text, chunk, n) < 0) {
			fclose(f);
			fprintf(stderr, "out of memory\n");
			return 1;
		}
	fclose(f);
	const char *s = rw_buf_str(&text);
	const char *b = strstr(s, BEGIN), *e = b ? strstr(b, END) : NULL;
	if (!b || !e) {
		fprintf(stderr, "%s: no %s ... %s block\n", path, "<!-- record-keys:begin -->",
		        END);
		rw_buf_free(&text);
		return 1;
	}
	b += strlen(BEGIN);
	f = fopen(path, "wb");
	int rc = !f || fwrite(s, 1, (size_t)(b - s), f) != (size_t)(b - s) ||
	         fwrite(table->data, 1, table->len, f) != table->len || fputs(e, f) == EOF;
	if (f && fclose(f) != 0)
		rc = 1;
	if (rc)
		perror(path);
	rw_buf_free(&text);
	return rc;
}

int main(int argc, char **argv)
{
	struct rw_buf b = RW_BUF_INIT;
	if (rw_record_keys_markdown(&b) < 0) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	int rc = 0;
	if (argc == 3 && !strcmp(argv[1], "--update"))
		rc = update(argv[2], &b);
	else if (argc == 1)
		rc = fwrite(b.data, 1, b.len, stdout) != b.len;
	else {
		fprintf(stderr, "usage: rw_record_keys_md [--update README.md]\n");
		rc = 2;
	}
	rw_buf_free(&b);
	return rc;
}
