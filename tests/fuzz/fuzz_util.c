#include "fuzz_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "decode.h"
#include "record.h"
#include "record_format.h"
#include "session.h"

void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "\n==FUZZ CHECK FAILED== %s:%d: %s\n", file, line, what);
	fflush(stderr);
	abort();
}

/* The link types the decoder knows, and one it does not. */
const int fuzz_dlts[] = {
        RW_DLT_EN10MB,
        RW_DLT_LINUX_SLL,
        RW_DLT_LINUX_SLL2,
        RW_DLT_RAW_12,
        RW_LINKTYPE_RAW,
        RW_DLT_IPV4,
        RW_DLT_IPV6,
        RW_DLT_NULL,
        RW_DLT_LOOP,
        RW_DLT_RAW_14,
        147 /* DLT_USER0: unsupported */,
};
const size_t FUZZ_N_DLTS = sizeof(fuzz_dlts) / sizeof(fuzz_dlts[0]);

/* ---- input reader ------------------------------------------------------ */

uint8_t fuzz_u8(struct fuzz_in *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint16_t lo = fuzz_u8(in);
	return (uint16_t)(lo | (uint16_t)fuzz_u8(in) << 8);
}

uint32_t fuzz_u32(struct fuzz_in *in)
{
	uint32_t lo = fuzz_u16(in);
	return lo | (uint32_t)fuzz_u16(in) << 16;
}

uint64_t fuzz_u64(struct fuzz_in *in)
{
	uint64_t lo = fuzz_u32(in);
	return lo | (uint64_t)fuzz_u32(in) << 32;
}

const uint8_t *fuzz_bytes(struct fuzz_in *in, size_t n, size_t *got)
{
	const uint8_t *p = in->p;
	if (n > in->n)
		n = in->n;
	in->p += n;
	in->n -= n;
	*got = n;
	return p;
}

bool fuzz_strict(void)
{
	static int strict = -1;
	if (strict < 0) {
		const char *e = getenv("FUZZ_STRICT");
		strict = e && *e && strcmp(e, "0") != 0;
	}
	return strict;
}

/* ---- memory helpers ---------------------------------------------------- */

void *fuzz_dup(const void *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	if (!d) {
		fprintf(stderr, "fuzz_dup: out of memory\n");
		abort();
	}
	if (n)
		memcpy(d, p, n);
	return d;
}

static volatile uint8_t touch_sink;

void fuzz_touch(const void *p, size_t n)
{
	const volatile uint8_t *q = p;
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc ^= q[i];
	touch_sink = acc;
}

bool fuzz_cstr_in(const char *s, size_t cap)
{
	return memchr(s, 0, cap) != NULL;
}

uint64_t fuzz_hash(uint64_t h, const void *p, size_t n)
{
	const uint8_t *q = p;
	if (h == 0)
		h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= q[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* ---- text report checker ----------------------------------------------- */

static bool deceptive(uint32_t cp)
{
	return (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202E) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
}

bool fuzz_text_ok(const char *s, size_t n, const char **why)
{
	const uint8_t *p = (const uint8_t *)s;
	*why = NULL;
	if (n == 0 || s[n - 1] != '\n') {
		*why = "not newline-terminated";
		return false;
	}
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t k = check_utf8(p + i, n - i, &cp);
		if (k == 0) {
			*why = "invalid UTF-8";
			return false;
		}
		if (cp != '\n' && (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F))) {
			*why = "raw control character";
			return false;
		}
		if (deceptive(cp)) {
			*why = "line separator or bidi control";
			return false;
		}
		i += k;
	}
	return true;
}

/* ---- records ----------------------------------------------------------- */

void fuzz_check_cert(const struct rw_cert *c)
{
	FUZZ_CHECK(fuzz_cstr_in(c->subject, sizeof(c->subject)));
	FUZZ_CHECK(fuzz_cstr_in(c->subject_cn, sizeof(c->subject_cn)));
	FUZZ_CHECK(fuzz_cstr_in(c->issuer, sizeof(c->issuer)));
	FUZZ_CHECK(fuzz_cstr_in(c->issuer_cn, sizeof(c->issuer_cn)));
	FUZZ_CHECK(fuzz_cstr_in(c->serial_hex, sizeof(c->serial_hex)));
	FUZZ_CHECK(fuzz_cstr_in(c->sha1_hex, sizeof(c->sha1_hex)));
	FUZZ_CHECK(fuzz_cstr_in(c->sha256_hex, sizeof(c->sha256_hex)));
	FUZZ_CHECK(fuzz_cstr_in(c->key_type, sizeof(c->key_type)));
	size_t k = c->n_san < RW_CERT_MAX_SAN ? c->n_san : RW_CERT_MAX_SAN;
	for (size_t i = 0; i < k; i++)
		FUZZ_CHECK(fuzz_cstr_in(c->san[i], sizeof(c->san[i])));
}

static void check_hellos(const struct rw_record *r)
{
	if (r->client_hello_seen) {
		const struct rw_tls_client_hello *ch = &r->ch;
		if (ch->has_sni) {
			FUZZ_CHECK(ch->sni_len < RW_TLS_MAX_NAME);
			FUZZ_CHECK(ch->sni[ch->sni_len] == 0);
		}
		size_t k = ch->n_alpn < RW_TLS_MAX_ALPN ? ch->n_alpn : RW_TLS_MAX_ALPN;
		for (size_t i = 0; i < k; i++)
			FUZZ_CHECK(ch->alpn[i][ch->alpn_len[i]] == 0);
	}
	if (r->server_hello_seen)
		FUZZ_CHECK(fuzz_cstr_in(r->sh.alpn, sizeof(r->sh.alpn)));
}

static void fail_output(const char *what, const char *why, const struct rw_buf *b)
{
	fprintf(stderr, "\n%s: %s\n--- output (%zu bytes) ---\n", what, why, b->len);
	fwrite(b->data, 1, b->len, stderr);
	fprintf(stderr, "\n---\n");
	fuzz_fail(__FILE__, __LINE__, what);
}

typedef int (*format_fn)(const struct rw_record *rec, const char *host, struct rw_buf *out);

static int text_fn(const struct rw_record *rec, const char *host, struct rw_buf *out)
{
	(void)host;
	return rw_record_text(rec, out);
}

/* Formats rec after a prefix, checks the result and the all-or-nothing rule
 * under a limit; returns a hash of the output. */
static uint64_t check_format(const struct rw_record *rec, const char *host, format_fn fn, bool json,
                             uint32_t sel)
{
	static const char prefix[] = "PREFIX:";
	const size_t plen = sizeof(prefix) - 1;
	struct rw_buf b = RW_BUF_INIT;
	FUZZ_CHECK(rw_buf_puts(&b, prefix) == 0);
	FUZZ_CHECK(fn(rec, host, &b) == 0);
	FUZZ_CHECK(b.len > plen && memcmp(b.data, prefix, plen) == 0);
	FUZZ_CHECK(strlen(b.data) == b.len); /* no NUL in the output */
	const char *why;
	if (json ? !check_json_line(b.data + plen, b.len - plen, NULL, &why)
	         : !fuzz_text_ok(b.data + plen, b.len - plen, &why))
		fail_output(json ? "rw_record_json output breaks the JSON line contract"
		                 : "rw_record_text output breaks the text contract",
		            why, &b);
	uint64_t h = fuzz_hash(0, b.data + plen, b.len - plen);
	if (getenv("FUZZ_DUMP"))
		fwrite(b.data + plen, 1, b.len - plen, stderr);

	/* A limit below the record: -1 and the buffer exactly as it was. */
	size_t lim = plen + (sel % (b.len - plen));
	struct rw_buf lb;
	rw_buf_init(&lb, lim);
	FUZZ_CHECK(rw_buf_puts(&lb, prefix) == 0);
	errno = 0;
	FUZZ_CHECK(fn(rec, host, &lb) == -1);
	FUZZ_CHECK(lb.len == plen && memcmp(lb.data, prefix, plen) == 0 && lb.data[plen] == 0);
	rw_buf_free(&lb);

	/* A limit that fits exactly: the same bytes (same record, same output). */
	rw_buf_init(&lb, b.len);
	FUZZ_CHECK(rw_buf_puts(&lb, prefix) == 0);
	FUZZ_CHECK(fn(rec, host, &lb) == 0);
	FUZZ_CHECK(lb.len == b.len && memcmp(lb.data, b.data, b.len) == 0);
	rw_buf_free(&lb);

	rw_buf_free(&b);
	return h;
}

uint64_t fuzz_check_record(const struct rw_record *rec, uint32_t sel)
{
	const struct rw_verdict *v = &rec->verdict;
	FUZZ_CHECK((unsigned)v->cause < RW_CAUSE_COUNT);
	FUZZ_CHECK(rw_cause_name(v->cause) != NULL);
	FUZZ_CHECK((unsigned)v->closed_by <= RW_SIDE_PROXY);
	FUZZ_CHECK((unsigned)v->close_kind <= RW_CLOSE_UNREACHABLE);
	FUZZ_CHECK((unsigned)v->phase < RW_PHASE_COUNT);
	FUZZ_CHECK(v->n_evidence <= RW_MAX_EVIDENCE);
	for (size_t i = 0; i < v->n_evidence && i < RW_MAX_EVIDENCE; i++)
		FUZZ_CHECK(fuzz_cstr_in(v->evidence[i], RW_EVIDENCE_LEN));
	if (v->remediation)
		fuzz_touch(v->remediation, strlen(v->remediation));
	const char *rem = rw_cause_remediation(v->cause);
	if (rem)
		fuzz_touch(rem, strlen(rem));

	if (rec->token) {
		fuzz_touch(rec->token, rec->token_len + 1);
		FUZZ_CHECK(rec->token[rec->token_len] == 0);
	}
	fuzz_check_cert(&rec->cert);
	check_hellos(rec);
	for (int d = 0; d < 2; d++)
		FUZZ_CHECK(rec->first_bytes_len[d] <= sizeof(rec->first_bytes[d]));

	/* The verdict is a pure function of the facts: deciding again on a copy
	 * gives the same verdict. */
	struct rw_record *copy = fuzz_dup(rec, sizeof(*rec));
	rw_verdict_decide(copy);
	const struct rw_verdict *w = &copy->verdict;
	FUZZ_CHECK(w->cause == v->cause && w->closed_by == v->closed_by &&
	           w->close_kind == v->close_kind && w->phase == v->phase &&
	           w->n_evidence == v->n_evidence && w->remediation == v->remediation);
	for (size_t i = 0; i < v->n_evidence && i < RW_MAX_EVIDENCE; i++)
		FUZZ_CHECK(strcmp(w->evidence[i], v->evidence[i]) == 0);
	free(copy);

	static const char *const hosts[4] = {NULL, "fuzz-host", "h\"o\\st\x01\n\xff\xc2\x85", ""};
	const char *host = hosts[sel & 3];
	uint64_t h = check_format(rec, host, rw_record_json, true, sel >> 2);
	check_format(rec, NULL, text_fn, false, sel >> 2);
	return h;
}
