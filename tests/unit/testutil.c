#include "testutil.h"

#include "inspect.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

static unsigned next_rand(unsigned *state)
{
	*state = *state * 1103515245u + 12345u;
	return (*state >> 16) & 0x7fff;
}

/* The length of the next piece of n bytes, off of them delivered. */
static size_t piece(enum rw_split split, unsigned *seed, size_t off, size_t n)
{
	size_t len = n - off;
	switch (split) {
	case SPLIT_BYTES:
		return 1;
	case SPLIT_RANDOM:
		return 1 + next_rand(seed) % (len < 97 ? len : 97);
	case SPLIT_SIX:
		return off == 0 && n > 6 ? 6 : len;
	case SPLIT_HEADER:
		return off == 0 && n > 5 ? 4 + n % 2 : len;
	default:
		return len;
	}
}

struct rw_session *rw_test_run_ex(const struct rw_step *steps, enum rw_split split, unsigned seed,
                                  bool midstream)
{
	struct rw_session *s = rw_session_new(NULL);
	assert_non_null(s);
	struct rw_endpoint c = {.family = 2, .addr = {10, 0, 0, 1}, .port = 50000};
	struct rw_endpoint v = {.family = 2, .addr = {10, 0, 0, 2}, .port = 3389};
	uint64_t ts = 1700000000ull * 1000000ull;
	rw_session_open(s, ts, &c, &v);
	if (!midstream) {
		rw_session_syn(s, RW_C2S, ts);
		rw_session_syn(s, RW_S2C, ts + 100);
	}
	for (const struct rw_step *st = steps; st->kind != STEP_END; st++) {
		ts += 1000;
		switch (st->kind) {
		case STEP_DATA: {
			size_t off = 0;
			while (off < st->n) {
				size_t len = piece(split, &seed, off, st->n);
				uint8_t *copy = malloc(len);
				assert_non_null(copy);
				memcpy(copy, st->p + off, len);
				rw_session_data(s, st->dir, ts, copy, len);
				free(copy);
				off += len;
			}
			break;
		}
		case STEP_FIN:
			rw_session_fin(s, st->dir, ts);
			break;
		case STEP_RST:
			rw_session_rst(s, st->dir, ts, st->arg);
			break;
		case STEP_TIMEOUT:
			rw_session_timeout(s, ts);
			break;
		case STEP_SLEEP:
			ts += (uint64_t)st->arg * 1000u;
			break;
		case STEP_CONNECT_FAILED:
			rw_session_connect_failed(s, ts, (enum rw_close_kind)st->arg);
			break;
		case STEP_TTL:
			rw_session_ttl(s, st->dir, st->arg);
			break;
		case STEP_HOST_CLOCK:
			rw_session_host_clock(s, ts, (int64_t)ts + (int64_t)st->arg * 1000000);
			break;
		case STEP_TCP_STATS: {
			struct rw_tcp_stats t;
			assert_int_equal(st->n, sizeof(t));
			memcpy(&t, st->p, sizeof(t));
			rw_session_tcp_stats(s, st->dir, &t);
			break;
		}
		case STEP_PROXY_STOP: {
			struct rw_test_proxy_stop ps;
			assert_int_equal(st->n, sizeof(ps));
			memcpy(&ps, st->p, sizeof(ps));
			struct rw_record *r = rw_session_record(s);
			r->proxy = true;
			r->proxy_stop = ps.how;
			r->proxy_side = st->dir;
			r->proxy_tcp[st->dir] = ps.tcp;
			r->proxy_prompt_wait_ms = ps.prompt_wait_ms;
			rw_session_timeout(s, ts);
			break;
		}
		case STEP_PLAIN: {
			rw_session_set_inspected(s, true);
			size_t off = 0;
			while (off < st->n) {
				size_t len = piece(split, &seed, off, st->n);
				rw_session_plaintext(s, st->dir, ts, st->p + off, len);
				off += len;
			}
			break;
		}
		case STEP_END:
			break;
		}
	}
	rw_session_close(s, ts + 1000);
	return s;
}

uint8_t *rw_test_read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
	assert_non_null(buf);
	*n = fread(buf, 1, (size_t)len, f);
	fclose(f);
	return buf;
}

size_t rw_test_hex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;
	for (; *hex; hex++) {
		int v;
		if (*hex >= '0' && *hex <= '9')
			v = *hex - '0';
		else if (*hex >= 'a' && *hex <= 'f')
			v = *hex - 'a' + 10;
		else if (*hex >= 'A' && *hex <= 'F')
			v = *hex - 'A' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			assert_true(n < cap);
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return n;
}

struct rw_session *rw_test_run(const struct rw_step *steps, enum rw_split split, unsigned seed)
{
	return rw_test_run_ex(steps, split, seed, false);
}

void rw_test_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void rw_test_put32(uint8_t *p, uint32_t v)
{
	rw_test_put16(p, (uint16_t)(v >> 16));
	rw_test_put16(p + 2, (uint16_t)v);
}

/* ---- wire builders ------------------------------------------------------- */

void rw_test_put(struct rw_test_bytes *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof(b->p));
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

void rw_test_put8(struct rw_test_bytes *b, unsigned v)
{
	uint8_t c = (uint8_t)v;
	rw_test_put(b, &c, 1);
}

void rw_test_put16be(struct rw_test_bytes *b, unsigned v)
{
	rw_test_put8(b, v >> 8);
	rw_test_put8(b, v);
}

void rw_test_put24be(struct rw_test_bytes *b, unsigned v)
{
	rw_test_put8(b, v >> 16);
	rw_test_put16be(b, v & 0xffff);
}

void rw_test_cr(struct rw_test_bytes *b, const char *cookie, int requested)
{
	struct rw_test_bytes body = {.n = 0};
	rw_test_put8(&body, 0xe0); /* CR, CDT 0 */
	rw_test_put16be(&body, 0); /* DST-REF */
	rw_test_put16be(&body, 0); /* SRC-REF */
	rw_test_put8(&body, 0);    /* class 0 */
	if (cookie) {
		rw_test_put(&body, "Cookie: mstshash=", 17);
		rw_test_put(&body, cookie, strlen(cookie));
		rw_test_put(&body, "\r\n", 2);
	}
	if (requested >= 0) {
		uint8_t neg[8] = {1, 0, 8, 0, (uint8_t)requested, 0, 0, 0};
		rw_test_put(&body, neg, 8);
	}
	rw_test_put8(b, 3); /* TPKT version 3, reserved 0, length */
	rw_test_put8(b, 0);
	rw_test_put16be(b, (unsigned)(body.n + 5));
	rw_test_put8(b, (unsigned)body.n); /* X.224 length indicator */
	rw_test_put(b, body.p, body.n);
}

void rw_test_cc(struct rw_test_bytes *b, int type, uint32_t value)
{
	uint8_t p[19] = {3,
	                 0,
	                 0,
	                 19,
	                 14,
	                 0xd0,
	                 0,
	                 0,
	                 0x12,
	                 0x34,
	                 0,
	                 (uint8_t)type,
	                 0,
	                 8,
	                 0,
	                 (uint8_t)value,
	                 (uint8_t)(value >> 8),
	                 (uint8_t)(value >> 16),
	                 (uint8_t)(value >> 24)};
	rw_test_put(b, p, sizeof(p));
}

void rw_test_record(struct rw_test_bytes *b, uint8_t type, const struct rw_test_bytes *body)
{
	rw_test_put8(b, type);
	rw_test_put16be(b, 0x0303);
	rw_test_put16be(b, (unsigned)body->n);
	rw_test_put(b, body->p, body->n);
}

void rw_test_handshake(struct rw_test_bytes *b, uint8_t type, const struct rw_test_bytes *body)
{
	struct rw_test_bytes m = {.n = 0};
	rw_test_put8(&m, type);
	rw_test_put24be(&m, (unsigned)body->n);
	rw_test_put(&m, body->p, body->n);
	rw_test_record(b, 22, &m);
}

static const uint16_t client_ciphers[] = {0x1301, 0x1302, 0xc02f, 0xc030};

void rw_test_put_client_hello(struct rw_test_bytes *b, const uint16_t *versions, size_t nv)
{
	struct rw_test_bytes h = {.n = 0};
	rw_test_put16be(&h, 0x0303);
	for (int i = 0; i < 32; i++)
		rw_test_put8(&h, (unsigned)i);
	rw_test_put8(&h, 0); /* session id */
	rw_test_put16be(&h, sizeof(client_ciphers));
	for (size_t i = 0; i < sizeof(client_ciphers) / 2; i++)
		rw_test_put16be(&h, client_ciphers[i]);
	rw_test_put8(&h, 1); /* compression: null */
	rw_test_put8(&h, 0);
	struct rw_test_bytes ext = {.n = 0};
	rw_test_put16be(&ext, 0); /* server_name */
	rw_test_put16be(&ext, 14);
	rw_test_put16be(&ext, 12);
	rw_test_put8(&ext, 0);
	rw_test_put16be(&ext, 9);
	rw_test_put(&ext, "rdp.local", 9);
	if (versions) {
		rw_test_put16be(&ext, 43); /* supported_versions */
		rw_test_put16be(&ext, (unsigned)(1 + 2 * nv));
		rw_test_put8(&ext, (unsigned)(2 * nv));
		for (size_t i = 0; i < nv; i++)
			rw_test_put16be(&ext, versions[i]);
	}
	rw_test_put16be(&h, (unsigned)ext.n);
	rw_test_put(&h, ext.p, ext.n);
	rw_test_handshake(b, 1, &h);
}

void rw_test_put_server_hello(struct rw_test_bytes *b, uint16_t cipher, uint16_t sv, bool downgrade)
{
	struct rw_test_bytes h = {.n = 0};
	rw_test_put16be(&h, 0x0303);
	for (int i = 0; i < 24; i++)
		rw_test_put8(&h, (unsigned)(0x40 + i));
	if (downgrade)
		rw_test_put(&h, "DOWNGRD\1", 8);
	else
		for (int i = 0; i < 8; i++)
			rw_test_put8(&h, 0x77);
	rw_test_put8(&h, 0); /* session id */
	rw_test_put16be(&h, cipher);
	rw_test_put8(&h, 0); /* compression */
	if (sv) {
		rw_test_put16be(&h, 6);
		rw_test_put16be(&h, 43);
		rw_test_put16be(&h, 2);
		rw_test_put16be(&h, sv);
	}
	rw_test_handshake(b, 2, &h);
}

void rw_test_certificate(struct rw_test_bytes *b, long from_days, long to_days)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(k);
	X509 *x = X509_new();
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
	time_t base = 1700000000;
	X509_time_adj_ex(X509_getm_notBefore(x), (int)from_days, 0, &base);
	X509_time_adj_ex(X509_getm_notAfter(x), (int)to_days, 0, &base);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"rdphost", -1,
	                           -1, 0);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, k);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	unsigned char *der = NULL;
	int len = i2d_X509(x, &der);
	assert_true(len > 0);
	struct rw_test_bytes h = {.n = 0};
	rw_test_put24be(&h, (unsigned)len + 3);
	rw_test_put24be(&h, (unsigned)len);
	rw_test_put(&h, der, (size_t)len);
	rw_test_handshake(b, 11, &h);
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(k);
}

void rw_test_put_server_hello_done(struct rw_test_bytes *b)
{
	struct rw_test_bytes h = {.n = 0};
	rw_test_handshake(b, 14, &h);
}

void rw_test_client_key_exchange(struct rw_test_bytes *b)
{
	struct rw_test_bytes h = {.n = 0};
	rw_test_put8(&h, 65);
	for (int i = 0; i < 65; i++)
		rw_test_put8(&h, (unsigned)i);
	rw_test_handshake(b, 16, &h);
}

void rw_test_alert(struct rw_test_bytes *b, uint8_t level, uint8_t desc)
{
	struct rw_test_bytes a = {.n = 0};
	rw_test_put8(&a, level);
	rw_test_put8(&a, desc);
	rw_test_record(b, 21, &a);
}

void rw_test_ccs(struct rw_test_bytes *b)
{
	struct rw_test_bytes a = {.n = 0};
	rw_test_put8(&a, 1);
	rw_test_record(b, 20, &a);
}

void rw_test_opaque(struct rw_test_bytes *b, uint8_t type, size_t len)
{
	struct rw_test_bytes a = {.n = 0};
	for (size_t i = 0; i < len; i++)
		rw_test_put8(&a, (unsigned)(i * 7));
	rw_test_record(b, type, &a);
}
