/* JA3, JA3S (salesforce/ja3) and JA4 (FoxIO JA4 technical_details/JA4.md)
 * client and server fingerprints, computed from the decoded hellos.
 *
 * The decoders keep only the first RW_TLS_MAX_x values of each list, so a
 * hello that overflows an array is fingerprinted from what was kept; the JA4
 * counts still use the true totals. No real client comes near the limits. */
#include "tls_hello.h"

#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>

/* The buffers below are sized for the longest possible output; these keep
 * that true if the header's limits grow. */
_Static_assert(5 + 6 * (RW_TLS_MAX_CIPHERS + RW_TLS_MAX_EXTS + RW_TLS_MAX_GROUPS) +
                               4 * RW_TLS_MAX_POINT_FORMATS + 4 <
                       RW_JA3_STR_MAX,
               "JA3 string buffer too small");
_Static_assert(RW_TLS_MAX_CIPHERS >= RW_TLS_MAX_EXTS && RW_TLS_MAX_CIPHERS >= RW_TLS_MAX_SIGALGS,
               "JA4 scratch array too small");
_Static_assert(5 * RW_TLS_MAX_CIPHERS >= 5 * (RW_TLS_MAX_EXTS + RW_TLS_MAX_SIGALGS) + 1,
               "JA4 string buffer too small");

/* A NUL-terminated string in a fixed buffer (cap >= 1); what does not fit
 * is dropped. */
struct sb {
	char *p;
	size_t cap, len;
};

static void sb_init(struct sb *b, char *buf, size_t cap)
{
	b->p = buf;
	b->cap = cap;
	b->len = 0;
	buf[0] = '\0';
}

static void sb_putc(struct sb *b, char c)
{
	if (b->len + 1 >= b->cap)
		return;
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

static void sb_dec(struct sb *b, unsigned v)
{
	char tmp[8];
	int k = 0;
	do {
		tmp[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (k)
		sb_putc(b, tmp[--k]);
}

static const char hexdig[] = "0123456789abcdef";

static void sb_hex16(struct sb *b, uint16_t v)
{
	for (int s = 12; s >= 0; s -= 4)
		sb_putc(b, hexdig[(v >> s) & 0xf]);
}

/* Two digits, capped at 99 as JA4 says. */
static void sb_count99(struct sb *b, size_t n)
{
	if (n > 99)
		n = 99;
	sb_putc(b, (char)('0' + n / 10));
	sb_putc(b, (char)('0' + n % 10));
}

static size_t kept(size_t n, size_t cap)
{
	return n < cap ? n : cap;
}

/* Decimal, '-'-separated, GREASE dropped: the JA3 list format. */
static void ja3_list(struct sb *b, const uint16_t *v, size_t n)
{
	bool first = true;
	for (size_t i = 0; i < n; i++) {
		if (rw_tls_is_grease(v[i]))
			continue;
		if (!first)
			sb_putc(b, '-');
		sb_dec(b, v[i]);
		first = false;
	}
}

/* The digests are fetched once: EVP_md5() and EVP_sha256() make OpenSSL 3
 * look the algorithm up (a locked method store) on every EVP_Digest, which
 * was most of the fingerprints' cost on a replay of short sessions. They
 * live as long as the process. */
static EVP_MD *md5_md, *sha256_md;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_fetch(void)
{
	md5_md = EVP_MD_fetch(NULL, "MD5", NULL);
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static void hexdigest(EVP_MD **mdp, const char *s, size_t len, char *out, size_t hexlen)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;
	pthread_once(&md_once, md_fetch);
	/* A provider without the algorithm (MD5 under FIPS) gives an empty
	 * fingerprint rather than a wrong one. */
	if (!*mdp || !EVP_Digest(s, len, d, &dl, *mdp, NULL) || dl * 2 < hexlen) {
		out[0] = '\0';
		return;
	}
	for (size_t i = 0; i < hexlen; i++)
		out[i] = hexdig[(d[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
	out[hexlen] = '\0';
}

/* JA3 and JA3S strings both start with the version field. */
static void start_ja3(struct sb *b, char *buf, size_t cap, uint16_t version)
{
	sb_init(b, buf, cap);
	sb_dec(b, version);
	sb_putc(b, ',');
}

/* The hash always covers the whole string, even if the caller's copy is cut. */
static void finish_ja3(const struct sb *b, char *str, size_t str_size, char md5hex[33])
{
	hexdigest(&md5_md, b->p, b->len, md5hex, 32);
	if (str && str_size) {
		size_t k = b->len < str_size - 1 ? b->len : str_size - 1;
		memcpy(str, b->p, k);
		str[k] = '\0';
	}
}

void rw_ja3(const struct rw_tls_client_hello *ch, char *str, size_t str_size, char md5hex[33])
{
	char buf[RW_JA3_STR_MAX];
	struct sb b;
	start_ja3(&b, buf, sizeof(buf), ch->legacy_version);
	ja3_list(&b, ch->ciphers, kept(ch->n_ciphers, RW_TLS_MAX_CIPHERS));
	sb_putc(&b, ',');
	ja3_list(&b, ch->exts, kept(ch->n_exts, RW_TLS_MAX_EXTS));
	sb_putc(&b, ',');
	ja3_list(&b, ch->groups, kept(ch->n_groups, RW_TLS_MAX_GROUPS));
	sb_putc(&b, ',');
	for (size_t i = 0; i < kept(ch->n_point_formats, RW_TLS_MAX_POINT_FORMATS); i++) {
		if (i)
			sb_putc(&b, '-');
		sb_dec(&b, ch->point_formats[i]);
	}
	finish_ja3(&b, str, str_size, md5hex);
}

void rw_ja3s(const struct rw_tls_server_hello *sh, char *str, size_t str_size, char md5hex[33])
{
	char buf[RW_JA3_STR_MAX];
	struct sb b;
	start_ja3(&b, buf, sizeof(buf), sh->legacy_version);
	sb_dec(&b, sh->cipher);
	sb_putc(&b, ',');
	ja3_list(&b, sh->exts, kept(sh->n_exts, RW_TLS_MAX_EXTS));
	finish_ja3(&b, str, str_size, md5hex);
}

/* JA4 version codes; the spec's "00" covers everything else. 0x0200 and
 * 0x0100 are what the reference implementations map to s2/s1. */
static const char *ja4_version(uint16_t v)
{
	switch (v) {
	case 0x0304:
		return "13";
	case 0x0303:
		return "12";
	case 0x0302:
		return "11";
	case 0x0301:
		return "10";
	case 0x0300:
		return "s3";
	case 0x0002:
	case 0x0200:
		return "s2";
	case 0x0100:
		return "s1";
	case 0xfeff:
		return "d1";
	case 0xfefd:
		return "d2";
	case 0xfefc:
		return "d3";
	default:
		return "00";
	}
}

static bool is_alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* First and last character of the first ALPN value; if either is not
 * alphanumeric, the first and last hex digit of the value instead. */
static void ja4_alpn(const struct rw_tls_client_hello *ch, char out[2])
{
	if (ch->n_alpn == 0 || ch->alpn_len[0] == 0) {
		out[0] = out[1] = '0';
		return;
	}
	uint8_t first = (uint8_t)ch->alpn[0][0];
	uint8_t last = (uint8_t)ch->alpn[0][ch->alpn_len[0] - 1];
	if (is_alnum(first) && is_alnum(last)) {
		out[0] = (char)first;
		out[1] = (char)last;
	} else {
		out[0] = hexdig[first >> 4];
		out[1] = hexdig[last & 0xf];
	}
}

/* Non-GREASE values of the kept part, plus the ones past the array (which
 * the decoder counted but could not check for GREASE). */
static size_t count_non_grease(const uint16_t *v, size_t n, size_t cap)
{
	size_t c = n > cap ? n - cap : 0;
	for (size_t i = 0; i < kept(n, cap); i++)
		if (!rw_tls_is_grease(v[i]))
			c++;
	return c;
}

static void sort_u16(uint16_t *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		uint16_t x = v[i];
		size_t j = i;
		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

static void hex_list(struct sb *b, const uint16_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_putc(b, ',');
		sb_hex16(b, v[i]);
	}
}

static void put_hash12(struct sb *out, const struct sb *in, size_t n_items)
{
	char h[13];
	if (n_items == 0)
		memcpy(h, "000000000000", sizeof(h));
	else
		hexdigest(&sha256_md, in->p, in->len, h, 12);
	for (size_t i = 0; h[i]; i++)
		sb_putc(out, h[i]);
}

void rw_ja4(const struct rw_tls_client_hello *ch, char transport, char out[40])
{
	struct sb o;
	sb_init(&o, out, 40);

	bool sni = ch->has_sni;
	for (size_t i = 0; i < kept(ch->n_exts, RW_TLS_MAX_EXTS); i++)
		if (ch->exts[i] == 0x0000)
			sni = true;
	size_t nc = count_non_grease(ch->ciphers, ch->n_ciphers, RW_TLS_MAX_CIPHERS);
	size_t ne = count_non_grease(ch->exts, ch->n_exts, RW_TLS_MAX_EXTS);
	char alpn[2];
	ja4_alpn(ch, alpn);

	sb_putc(&o, transport);
	const char *ver = ja4_version(rw_tls_client_max_version(ch));
	sb_putc(&o, ver[0]);
	sb_putc(&o, ver[1]);
	sb_putc(&o, sni ? 'd' : 'i');
	sb_count99(&o, nc);
	sb_count99(&o, ne);
	sb_putc(&o, alpn[0]);
	sb_putc(&o, alpn[1]);
	sb_putc(&o, '_');

	/* ja4_b: sorted cipher list. */
	uint16_t v[RW_TLS_MAX_CIPHERS];
	size_t k = 0;
	for (size_t i = 0; i < kept(ch->n_ciphers, RW_TLS_MAX_CIPHERS); i++)
		if (!rw_tls_is_grease(ch->ciphers[i]))
			v[k++] = ch->ciphers[i];
	sort_u16(v, k);
	char buf[RW_TLS_MAX_CIPHERS * 5 + 1];
	struct sb b;
	sb_init(&b, buf, sizeof(buf));
	hex_list(&b, v, k);
	put_hash12(&o, &b, k);
	sb_putc(&o, '_');

	/* ja4_c: sorted extensions without SNI and ALPN (already in ja4_a),
	 * then the signature algorithms in wire order. */
	k = 0;
	for (size_t i = 0; i < kept(ch->n_exts, RW_TLS_MAX_EXTS); i++) {
		uint16_t e = ch->exts[i];
		if (!rw_tls_is_grease(e) && e != 0x0000 && e != 0x0010)
			v[k++] = e;
	}
	sort_u16(v, k);
	sb_init(&b, buf, sizeof(buf));
	hex_list(&b, v, k);
	/* JA4.md: "ignore GREASE values anywhere", signature algorithms
	 * included (as FoxIO's python implementation does). */
	size_t ns = 0;
	for (size_t i = 0; i < kept(ch->n_sigalgs, RW_TLS_MAX_SIGALGS); i++)
		if (!rw_tls_is_grease(ch->sigalgs[i]))
			v[ns++] = ch->sigalgs[i];
	if (ns) {
		sb_putc(&b, '_');
		hex_list(&b, v, ns);
	}
	put_hash12(&o, &b, k);
}
