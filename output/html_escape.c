/* Escaping for the HTML report. Cookies, SNI and certificate names come off
 * the wire and are chosen by whoever connects: they must not become markup,
 * break out of an attribute, or reorder the text a reader sees. */
#include "html.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "json.h"

static bool hidden(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) ||
	       (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202E) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
}

int rw_html_escape(struct rw_buf *out, const void *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = s;
	size_t mark = out->len;
	int r = 0;
	for (size_t i = 0; i < n && r == 0;) {
		uint32_t cp = 0;
		size_t len = rw_utf8_seq(p + i, n - i, &cp);
		if (len == 0 || hidden(cp)) {
			if (len == 0)
				len = 1;
			for (size_t k = 0; k < len && r == 0; k++) {
				char e[4] = {'\\', 'x', hex[p[i + k] >> 4], hex[p[i + k] & 0xF]};
				r = rw_buf_append(out, e, 4);
			}
		} else if (cp == '&') {
			r = rw_buf_puts(out, "&amp;");
		} else if (cp == '<') {
			r = rw_buf_puts(out, "&lt;");
		} else if (cp == '>') {
			r = rw_buf_puts(out, "&gt;");
		} else if (cp == '"') {
			r = rw_buf_puts(out, "&quot;");
		} else if (cp == '\'') {
			r = rw_buf_puts(out, "&#39;");
		} else if (cp == '\\') {
			r = rw_buf_puts(out, "\\\\");
		} else {
			r = rw_buf_append(out, p + i, len);
		}
		i += len;
	}
	if (r < 0)
		rw_buf_truncate(out, mark);
	return r;
}
