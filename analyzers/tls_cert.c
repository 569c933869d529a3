/* Certificate facts through OpenSSL: X.509 is not something to parse by hand. */
#include "tls_cert.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "rw_types.h"

static void name_oneline(const X509_NAME *name, char *out, size_t cap)
{
	out[0] = 0;
	BIO *b = BIO_new(BIO_s_mem());
	if (!b)
		return;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		int k = BIO_read(b, out, (int)cap - 1);
		out[k > 0 ? k : 0] = 0;
	}
	BIO_free(b);
}

static void name_cn(const X509_NAME *name, char *out, size_t cap)
{
	out[0] = 0;
	int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	if (i < 0)
		return;
	const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
	unsigned char *utf8 = NULL;
	int k = ASN1_STRING_to_UTF8(&utf8, s);
	if (k < 0)
		return;
	size_t len = (size_t)k < cap - 1 ? (size_t)k : cap - 1;
	memcpy(out, utf8, len);
	out[len] = 0;
	OPENSSL_free(utf8);
}

static int64_t asn1_time_epoch(const ASN1_TIME *t)
{
	struct tm tm;
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	/* timegm is the inverse of the UTC tm OpenSSL filled; no clock is read. */
	return (int64_t)timegm(&tm);
}

static void sans(X509 *x, struct rw_cert *out)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	if (!gens)
		return;
	int num = sk_GENERAL_NAME_num(gens);
	out->n_san = num > 0 ? (size_t)num : 0;
	for (int i = 0; i < num && i < RW_CERT_MAX_SAN; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		char *dst = out->san[i];
		if (g->type == GEN_DNS || g->type == GEN_EMAIL || g->type == GEN_URI) {
			const ASN1_IA5STRING *s = g->d.ia5;
			const char *pfx = g->type == GEN_DNS     ? "DNS:"
			                  : g->type == GEN_EMAIL ? "email:"
			                                         : "URI:";
			int len = ASN1_STRING_length(s);
			if (len > RW_CERT_STR - 8)
				len = RW_CERT_STR - 8;
			size_t pl = strlen(pfx);
			memcpy(dst, pfx, pl);
			memcpy(dst + pl, ASN1_STRING_get0_data(s), (size_t)len);
			dst[pl + (size_t)len] = 0;
		} else if (g->type == GEN_IPADD) {
			const ASN1_OCTET_STRING *s = g->d.ip;
			const unsigned char *a = ASN1_STRING_get0_data(s);
			int len = ASN1_STRING_length(s);
			if (len == 4) {
				snprintf(dst, RW_CERT_STR, "IP:%u.%u.%u.%u", a[0], a[1], a[2],
				         a[3]);
			} else if (len == 16) {
				int k = snprintf(dst, RW_CERT_STR, "IP:");
				for (int j = 0; j < 16; j += 2)
					k += snprintf(dst + k, (size_t)(RW_CERT_STR - k), "%s%x",
					              j ? ":" : "", a[j] << 8 | a[j + 1]);
			} else {
				snprintf(dst, RW_CERT_STR, "IP:?");
			}
		} else {
			snprintf(dst, RW_CERT_STR, "other:%d", g->type);
		}
	}
	GENERAL_NAMES_free(gens);
}

static int parse_der(const uint8_t *der, size_t n, struct rw_cert *out)
{
	const unsigned char *q = der;
	X509 *x = d2i_X509(NULL, &q, (long)n);
	if (!x)
		return RW_E_CERT;
	name_oneline(X509_get_subject_name(x), out->subject, sizeof(out->subject));
	name_oneline(X509_get_issuer_name(x), out->issuer, sizeof(out->issuer));
	name_cn(X509_get_subject_name(x), out->subject_cn, sizeof(out->subject_cn));
	name_cn(X509_get_issuer_name(x), out->issuer_cn, sizeof(out->issuer_cn));
	out->self_signed = X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0;

	const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
	rw_hex(serial->data, (size_t)serial->length, out->serial_hex, sizeof(out->serial_hex));
	out->not_before = asn1_time_epoch(X509_get0_notBefore(x));
	out->not_after = asn1_time_epoch(X509_get0_notAfter(x));

	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (X509_digest(x, EVP_sha1(), md, &mdlen))
		rw_hex(md, mdlen, out->sha1_hex, sizeof(out->sha1_hex));
	if (X509_digest(x, EVP_sha256(), md, &mdlen))
		rw_hex(md, mdlen, out->sha256_hex, sizeof(out->sha256_hex));

	EVP_PKEY *pk = X509_get0_pubkey(x);
	if (pk) {
		const char *t = "unknown";
		switch (EVP_PKEY_get_base_id(pk)) {
		case EVP_PKEY_RSA:
		case EVP_PKEY_RSA_PSS:
			t = "rsa";
			break;
		case EVP_PKEY_EC:
			t = "ec";
			break;
		case EVP_PKEY_DSA:
			t = "dsa";
			break;
		case EVP_PKEY_ED25519:
			t = "ed25519";
			break;
		case EVP_PKEY_ED448:
			t = "ed448";
			break;
		}
		snprintf(out->key_type, sizeof(out->key_type), "%s", t);
		out->key_bits = EVP_PKEY_get_bits(pk);
	}
	sans(x, out);
	X509_free(x);
	/* d2i may stop early inside a longer buffer: the entry length is the truth. */
	return (size_t)(q - der) == n ? (int)n : RW_E_TRAILING;
}

/* ---- the cache ----------------------------------------------------------
 *
 * A server presents the same certificate on every connection, and decoding
 * one with OpenSSL 3 costs tens of microseconds (it builds the public key
 * through its provider machinery): a capture of thousands of short TLS
 * sessions spent about half of its time there. Results are kept by the
 * DER's hash, in a set-associative table (CACHE_SETS sets of CACHE_WAYS
 * entries, least recently used replaced within a set), so memory is bounded:
 * CACHE_SETS * CACHE_WAYS entries of a struct rw_cert and a copy of the DER
 * (at most CACHE_MAX_DER bytes; larger ones are not cached). A hit compares
 * the whole DER, so a hash collision can never give another certificate's
 * facts: the result is the one parse_der gives, byte for byte. One lock
 * (replay workers and proxy threads share the table); OpenSSL runs outside
 * it. */
#define CACHE_SETS    64
#define CACHE_WAYS    4
#define CACHE_MAX_DER (16 * 1024)

struct cache_entry {
	uint64_t hash, used;
	uint8_t *der; /* NULL: empty */
	size_t len;
	int status;
	struct rw_cert cert;
};

static struct cache_entry cache[CACHE_SETS][CACHE_WAYS];
static uint64_t cache_clock;
static atomic_flag cache_lock = ATOMIC_FLAG_INIT;
static atomic_bool cache_off;

static void lock(void)
{
	while (atomic_flag_test_and_set_explicit(&cache_lock, memory_order_acquire))
		;
}

static void unlock(void)
{
	atomic_flag_clear_explicit(&cache_lock, memory_order_release);
}

static uint64_t der_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	for (; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	h ^= h >> 29;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 32);
}

void rw_cert_cache_enable(bool on)
{
	atomic_store(&cache_off, !on);
}

static uint64_t cache_hits, cache_misses;

void rw_cert_cache_stats(uint64_t *hits, uint64_t *misses)
{
	lock();
	*hits = cache_hits;
	*misses = cache_misses;
	unlock();
}

void rw_cert_cache_clear(void)
{
	lock();
	for (size_t s = 0; s < CACHE_SETS; s++)
		for (size_t w = 0; w < CACHE_WAYS; w++) {
			free(cache[s][w].der);
			cache[s][w].der = NULL;
		}
	cache_hits = cache_misses = 0;
	unlock();
}

int rw_cert_parse_der(const uint8_t *der, size_t n, struct rw_cert *out)
{
	memset(out, 0, sizeof(*out));
	if (n > (size_t)INT32_MAX)
		return RW_E_LENGTH;
	if (n > CACHE_MAX_DER || atomic_load_explicit(&cache_off, memory_order_relaxed))
		return parse_der(der, n, out);
	uint64_t h = der_hash(der, n);
	struct cache_entry *set = cache[h % CACHE_SETS];
	lock();
	for (size_t w = 0; w < CACHE_WAYS; w++) {
		struct cache_entry *e = &set[w];
		if (e->der && e->hash == h && e->len == n && !memcmp(e->der, der, n)) {
			e->used = ++cache_clock;
			cache_hits++;
			*out = e->cert;
			int status = e->status;
			unlock();
			return status;
		}
	}
	cache_misses++;
	unlock();
	int status = parse_der(der, n, out);
	uint8_t *copy = malloc(n ? n : 1);
	if (!copy)
		return status;
	memcpy(copy, der, n);
	lock();
	struct cache_entry *victim = &set[0];
	for (size_t w = 0; w < CACHE_WAYS; w++) {
		struct cache_entry *e = &set[w];
		if (e->der && e->hash == h && e->len == n && !memcmp(e->der, der, n)) {
			victim = NULL; /* another thread put it there meanwhile */
			break;
		}
		if (!e->der || (victim->der && e->used < victim->used))
			victim = e;
	}
	if (victim) {
		free(victim->der);
		victim->der = copy;
		copy = NULL;
		victim->hash = h;
		victim->len = n;
		victim->status = status;
		victim->cert = *out;
		victim->used = ++cache_clock;
	}
	unlock();
	free(copy);
	return status;
}

int rw_cert_parse_message(const uint8_t *p, size_t n, struct rw_cert *leaf, size_t *chain_len)
{
	*chain_len = 0;
	if (n < 3)
		return RW_E_LENGTH;
	size_t list = rw_be24(p);
	if (list != n - 3)
		return RW_E_LENGTH;
	size_t off = 3;
	int leaf_status = RW_E_LENGTH;
	while (off < n) {
		if (n - off < 3)
			return RW_E_LENGTH;
		size_t len = rw_be24(p + off);
		off += 3;
		if (len > n - off)
			return RW_E_LENGTH;
		if (*chain_len == 0)
			leaf_status = rw_cert_parse_der(p + off, len, leaf);
		(*chain_len)++;
		off += len;
	}
	return leaf_status < 0 ? leaf_status : (int)n;
}
