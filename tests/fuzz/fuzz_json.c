/* JSON string escaping (output/json.c), which every wire string in a record
 * goes through. Input: arbitrary bytes. Checks the json.h contract: the
 * escaped text, quoted, is a valid JSON string in valid UTF-8 without raw
 * controls, and decoding it gives back the input exactly, except that each
 * byte outside a valid UTF-8 sequence reads "\xhh"; rw_json_kv_wire's _hex
 * member gives the raw bytes back. Also: rw_utf8_seq agrees with an
 * independent strict decoder, and a failed escape under a limit leaves the
 * buffer as it was. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz_util.h"
#include "json.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Standard JSON string decoding of s[0..n) (no quotes) into out; the escaper
 * only produces \u00xx, so \u values become one UTF-8 encoded code point
 * below U+0100. Returns the decoded length. */
static size_t json_decode(const char *s, size_t n, uint8_t *out)
{
	size_t k = 0;
	for (size_t i = 0; i < n;) {
		if (s[i] != '\\') {
			out[k++] = (uint8_t)s[i++];
			continue;
		}
		FUZZ_CHECK(i + 1 < n);
		char e = s[i + 1];
		switch (e) {
		case '"':
			out[k++] = '"';
			i += 2;
			break;
		case '\\':
			out[k++] = '\\';
			i += 2;
			break;
		case '/':
			out[k++] = '/';
			i += 2;
			break;
		case 'b':
			out[k++] = '\b';
			i += 2;
			break;
		case 'f':
			out[k++] = '\f';
			i += 2;
			break;
		case 'n':
			out[k++] = '\n';
			i += 2;
			break;
		case 'r':
			out[k++] = '\r';
			i += 2;
			break;
		case 't':
			out[k++] = '\t';
			i += 2;
			break;
		case 'u': {
			FUZZ_CHECK(i + 6 <= n);
			int v = 0;
			for (int d = 2; d < 6; d++) {
				int h = hexval(s[i + d]);
				FUZZ_CHECK(h >= 0);
				v = v << 4 | h;
			}
			FUZZ_CHECK(v < 0x100); /* the escaper writes \u00xx only */
			if (v < 0x80) {
				out[k++] = (uint8_t)v;
			} else {
				out[k++] = (uint8_t)(0xC0 | v >> 6);
				out[k++] = (uint8_t)(0x80 | (v & 0x3F));
			}
			i += 6;
			break;
		}
		default:
			FUZZ_CHECK(!"bad JSON escape");
		}
	}
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = fuzz_dup(data, size);

	/* rw_utf8_seq against the independent decoder, at every offset. */
	for (size_t i = 0; i < size; i++) {
		uint32_t a = 0xFFFFFFFF, b = 0xEEEEEEEE;
		size_t la = rw_utf8_seq(p + i, size - i, &a);
		size_t lb = check_utf8(p + i, size - i, &b);
		FUZZ_CHECK(la == lb);
		if (la)
			FUZZ_CHECK(a == b);
		else
			FUZZ_CHECK(a == 0xFFFFFFFF); /* left alone */
	}

	struct rw_buf b = RW_BUF_INIT;
	FUZZ_CHECK(rw_buf_puts(&b, "{\"k\":\"") == 0);
	size_t mark = b.len;
	FUZZ_CHECK(rw_json_escape(&b, p, size) == 0);
	size_t esc_len = b.len - mark;
	FUZZ_CHECK(rw_buf_puts(&b, "\"}\n") == 0);
	const char *why;
	if (!check_json_line(b.data, b.len, NULL, &why)) {
		fprintf(stderr, "escaped text is not a valid JSON string: %s\n", why);
		FUZZ_CHECK(!"valid JSON");
	}

	/* Round trip. */
	uint8_t *dec = malloc(esc_len + 1);
	uint8_t *orig = malloc(size + 1);
	FUZZ_CHECK(dec && orig);
	size_t dn = json_decode(b.data + mark, esc_len, dec);
	static const char hx[] = "0123456789abcdef";
	uint8_t *want = malloc(4 * size + 1);
	FUZZ_CHECK(want != NULL);
	size_t wn = 0;
	bool plain = true;
	for (size_t i = 0; i < size;) {
		uint32_t cp;
		size_t len = check_utf8(p + i, size - i, &cp);
		if (len == 0) {
			want[wn++] = '\\';
			want[wn++] = 'x';
			want[wn++] = (uint8_t)hx[p[i] >> 4];
			want[wn++] = (uint8_t)hx[p[i] & 0xF];
			plain = false;
			i++;
			continue;
		}
		if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
			plain = false;
		memcpy(want + wn, p + i, len);
		wn += len;
		i += len;
	}
	FUZZ_CHECK(dn == wn && memcmp(dec, want, wn) == 0);
	FUZZ_CHECK(rw_json_plain(p, size) == plain);
	free(want);
	/* The wire form: KEY_hex exactly when not plain, and it is the input. */
	struct rw_buf wb = RW_BUF_INIT;
	struct rw_json wj;
	rw_json_init(&wj, &wb);
	rw_json_begin_object(&wj);
	rw_json_kv_wire(&wj, "k", p, size);
	rw_json_end_object(&wj);
	FUZZ_CHECK(rw_json_finish(&wj) == 0);
	const char *hk = strstr(rw_buf_str(&wb), "\",\"k_hex\":\"");
	FUZZ_CHECK((hk != NULL) == !plain);
	if (hk) {
		hk += strlen("\",\"k_hex\":\"");
		for (size_t i = 0; i < size; i++) {
			int hi = hexval(hk[2 * i]), lo = hexval(hk[2 * i + 1]);
			FUZZ_CHECK(hi >= 0 && lo >= 0);
			orig[i] = (uint8_t)(hi << 4 | lo);
		}
		FUZZ_CHECK(hk[2 * size] == '"' && memcmp(orig, p, size) == 0);
	}
	rw_buf_free(&wb);

	free(dec);
	free(orig);

	/* Under a limit that does not fit: -1, buffer unchanged. */
	if (esc_len > 0) {
		struct rw_buf lb;
		rw_buf_init(&lb, 3 + (size % esc_len));
		FUZZ_CHECK(rw_buf_puts(&lb, "abc") == 0);
		FUZZ_CHECK(rw_json_escape(&lb, p, size) == -1);
		FUZZ_CHECK(lb.len == 3 && memcmp(lb.data, "abc", 4) == 0);
		rw_buf_free(&lb);
	}
	rw_buf_free(&b);
	free(p);
	return 0;
}
