/* ClientHello and ServerHello decoders (RFC 5246 7.4.1.2/7.4.1.3, RFC 8446
 * 4.1.2/4.1.3).
 *
 * The input is one complete handshake body, so running out of bytes is a
 * length error (RW_E_LENGTH), never "need more": the length that promised the
 * missing bytes is the impossible one.
 *
 * Strictness is chosen by what the verdict relies on: an odd u16 list, a
 * vector overrunning its parent, leftovers inside a bounded vector, and an
 * empty cipher list, compression list or supported_versions list (whose
 * presence changes the meaning of legacy_version) are errors, as a real
 * server would answer them with decode_error. Other empty lists are kept as
 * empty, so that odd but harmless clients still get a fingerprint. */
#include "tls_hello.h"

#include <string.h>

#include "rw_types.h"

enum {
	EXT_SERVER_NAME = 0,
	EXT_SUPPORTED_GROUPS = 10,
	EXT_EC_POINT_FORMATS = 11,
	EXT_SIGNATURE_ALGORITHMS = 13,
	EXT_ALPN = 16,
	EXT_SUPPORTED_VERSIONS = 43,
};

/* RFC 8446 4.1.3: a ServerHello with this random is a HelloRetryRequest. */
static const uint8_t hrr_random[32] = {
        0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
        0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
        0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

/* "DOWNGRD" + 01 (TLS 1.2) or 00 (TLS 1.1 and below). */
static const uint8_t downgrade_prefix[7] = {0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44};

/* A window on the input; every read checks the bound before touching p. */
struct rd {
	const uint8_t *p;
	size_t n;
};

static bool rd_u8(struct rd *r, uint8_t *v)
{
	if (r->n < 1)
		return false;
	*v = r->p[0];
	r->p++;
	r->n--;
	return true;
}

static bool rd_u16(struct rd *r, uint16_t *v)
{
	if (r->n < 2)
		return false;
	*v = rw_be16(r->p);
	r->p += 2;
	r->n -= 2;
	return true;
}

static bool rd_bytes(struct rd *r, size_t len, struct rd *out)
{
	if (r->n < len)
		return false;
	out->p = r->p;
	out->n = len;
	r->p += len;
	r->n -= len;
	return true;
}

/* Opens a vector with a 1- or 2-byte length prefix (TLS presentation
 * language "<floor..2^8-1>" / "<floor..2^16-1>"). */
static bool rd_vec(struct rd *r, int len_bytes, struct rd *out)
{
	size_t len;
	if (len_bytes == 1) {
		uint8_t l;
		if (!rd_u8(r, &l))
			return false;
		len = l;
	} else {
		uint16_t l;
		if (!rd_u16(r, &l))
			return false;
		len = l;
	}
	return rd_bytes(r, len, out);
}

/* Reads an extension body that is exactly one vector. */
static int ext_vec(struct rd *d, int len_bytes, struct rd *out)
{
	if (!rd_vec(d, len_bytes, out))
		return RW_E_LENGTH;
	return d->n ? RW_E_TRAILING : RW_OK;
}

/* Decodes a vector of u16 into a bounded array, counting every element. */
static int u16_list(struct rd v, uint16_t *arr, size_t cap, size_t *count, bool *grease)
{
	if (v.n % 2)
		return RW_E_LENGTH;
	size_t k = v.n / 2;
	for (size_t i = 0; i < k; i++) {
		uint16_t x = rw_be16(v.p + 2 * i);
		if (i < cap)
			arr[i] = x;
		if (grease && rw_tls_is_grease(x))
			*grease = true;
	}
	*count = k;
	return RW_OK;
}

static void copy_name(char *dst, const uint8_t *src, size_t len)
{
	if (len > RW_TLS_MAX_NAME - 1)
		len = RW_TLS_MAX_NAME - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* RFC 6066 3: a list of (type, name); only host_name (0) is defined and at
 * most one of each type may appear, so the first host_name is the name. */
static int parse_sni(struct rd d, struct rw_tls_client_hello *ch)
{
	struct rd list;
	int rc = ext_vec(&d, 2, &list);
	if (rc < 0)
		return rc;
	while (list.n) {
		uint8_t type;
		struct rd name;
		if (!rd_u8(&list, &type) || !rd_vec(&list, 2, &name))
			return RW_E_LENGTH;
		if (type == 0 && !ch->has_sni) {
			ch->has_sni = true;
			ch->sni_len = name.n < RW_TLS_MAX_NAME ? name.n : RW_TLS_MAX_NAME - 1;
			copy_name(ch->sni, name.p, name.n);
		}
	}
	return RW_OK;
}

/* RFC 7301 3.1. The client keeps several names and the server one, so the
 * caller says what to keep; every name is counted. */
static int alpn_list(struct rd d, size_t *count, void (*keep)(void *, struct rd, size_t), void *arg)
{
	struct rd list;
	int rc = ext_vec(&d, 2, &list);
	if (rc < 0)
		return rc;
	size_t k = 0;
	while (list.n) {
		struct rd name;
		if (!rd_vec(&list, 1, &name))
			return RW_E_LENGTH;
		keep(arg, name, k);
		k++;
	}
	*count = k;
	return RW_OK;
}

static void keep_client_alpn(void *arg, struct rd name, size_t i)
{
	struct rw_tls_client_hello *ch = arg;
	if (i >= RW_TLS_MAX_ALPN)
		return;
	copy_name(ch->alpn[i], name.p, name.n); /* name.n <= 255 fits */
	ch->alpn_len[i] = (uint8_t)name.n;
}

static void keep_server_alpn(void *arg, struct rd name, size_t i)
{
	struct rw_tls_server_hello *sh = arg;
	if (i == 0)
		copy_name(sh->alpn, name.p, name.n);
}

static int client_ext(void *hello, uint16_t type, struct rd d)
{
	struct rw_tls_client_hello *ch = hello;
	struct rd v;
	int rc;
	switch (type) {
	case EXT_SERVER_NAME:
		return parse_sni(d, ch);
	case EXT_SUPPORTED_GROUPS:
		if ((rc = ext_vec(&d, 2, &v)) < 0)
			return rc;
		return u16_list(v, ch->groups, RW_TLS_MAX_GROUPS, &ch->n_groups, &ch->has_grease);
	case EXT_EC_POINT_FORMATS:
		if ((rc = ext_vec(&d, 1, &v)) < 0)
			return rc;
		for (size_t i = 0; i < v.n && i < RW_TLS_MAX_POINT_FORMATS; i++)
			ch->point_formats[i] = v.p[i];
		ch->n_point_formats = v.n;
		return RW_OK;
	case EXT_SIGNATURE_ALGORITHMS:
		if ((rc = ext_vec(&d, 2, &v)) < 0)
			return rc;
		return u16_list(v, ch->sigalgs, RW_TLS_MAX_SIGALGS, &ch->n_sigalgs,
		                &ch->has_grease);
	case EXT_ALPN:
		return alpn_list(d, &ch->n_alpn, keep_client_alpn, ch);
	case EXT_SUPPORTED_VERSIONS:
		/* Empty would make the extension present yet say nothing, and
		 * n_versions == 0 is how callers tell "absent". */
		if ((rc = ext_vec(&d, 1, &v)) < 0)
			return rc;
		if (v.n == 0)
			return RW_E_LENGTH;
		return u16_list(v, ch->versions, RW_TLS_MAX_VERSIONS, &ch->n_versions,
		                &ch->has_grease);
	default:
		return RW_OK;
	}
}

/* Extension types whose contents we decode: a duplicate (which RFC 8446 4.2
 * forbids) is listed in exts but only its first body is decoded. */
static int known_bit(uint16_t type)
{
	switch (type) {
	case EXT_SERVER_NAME:
		return 0;
	case EXT_SUPPORTED_GROUPS:
		return 1;
	case EXT_EC_POINT_FORMATS:
		return 2;
	case EXT_SIGNATURE_ALGORITHMS:
		return 3;
	case EXT_ALPN:
		return 4;
	case EXT_SUPPORTED_VERSIONS:
		return 5;
	default:
		return -1;
	}
}

/* What follows the fixed fields of a hello: nothing (RFC 5246 7.4.1.2:
 * pre-extension peers simply end there), or an extensions block filling the
 * rest. Every type is listed (the first RW_TLS_MAX_EXTS kept, all counted)
 * and the first body of each known type goes to decode(). grease, if not
 * NULL, is set when a GREASE type is seen. */
static int parse_exts(struct rd r, uint16_t *exts, size_t *n_exts, bool *grease,
                      int (*decode)(void *, uint16_t, struct rd), void *hello)
{
	if (r.n == 0)
		return RW_OK;

	struct rd list;
	if (!rd_vec(&r, 2, &list))
		return RW_E_LENGTH;
	if (r.n)
		return RW_E_TRAILING;

	unsigned seen = 0;
	while (list.n) {
		uint16_t type;
		struct rd d;
		if (!rd_u16(&list, &type) || !rd_vec(&list, 2, &d))
			return RW_E_LENGTH;
		if (*n_exts < RW_TLS_MAX_EXTS)
			exts[*n_exts] = type;
		(*n_exts)++;
		if (grease && rw_tls_is_grease(type))
			*grease = true;
		int bit = known_bit(type);
		if (bit < 0 || (seen & 1u << bit))
			continue;
		seen |= 1u << bit;
		int rc = decode(hello, type, d);
		if (rc < 0)
			return rc;
	}
	return RW_OK;
}

int rw_tls_client_hello_parse(const uint8_t *p, size_t n, struct rw_tls_client_hello *ch)
{
	struct rd r = {p, n}, v;
	memset(ch, 0, sizeof(*ch));

	if (!rd_u16(&r, &ch->legacy_version) || !rd_bytes(&r, 32, &v))
		return RW_E_LENGTH;
	memcpy(ch->random, v.p, 32);

	if (!rd_vec(&r, 1, &v) || v.n > 32)
		return RW_E_LENGTH;
	ch->session_id_len = (uint8_t)v.n;

	if (!rd_vec(&r, 2, &v) || v.n == 0)
		return RW_E_LENGTH;
	int rc = u16_list(v, ch->ciphers, RW_TLS_MAX_CIPHERS, &ch->n_ciphers, &ch->has_grease);
	if (rc < 0)
		return rc;

	if (!rd_vec(&r, 1, &v) || v.n == 0)
		return RW_E_LENGTH;
	ch->n_compression = v.n;

	rc = parse_exts(r, ch->exts, &ch->n_exts, &ch->has_grease, client_ext, ch);
	return rc < 0 ? rc : (int)n;
}

static int server_ext(void *hello, uint16_t type, struct rd d)
{
	struct rw_tls_server_hello *sh = hello;
	switch (type) {
	case EXT_SUPPORTED_VERSIONS:
		/* RFC 8446 4.2.1: the server sends one selected_version. */
		if (!rd_u16(&d, &sh->version))
			return RW_E_LENGTH;
		return d.n ? RW_E_TRAILING : RW_OK;
	case EXT_ALPN:
		return alpn_list(d, &sh->n_alpn, keep_server_alpn, sh);
	default:
		return RW_OK;
	}
}

int rw_tls_server_hello_parse(const uint8_t *p, size_t n, struct rw_tls_server_hello *sh)
{
	struct rd r = {p, n}, v;
	memset(sh, 0, sizeof(*sh));

	if (!rd_u16(&r, &sh->legacy_version) || !rd_bytes(&r, 32, &v))
		return RW_E_LENGTH;
	sh->version = sh->legacy_version;
	memcpy(sh->random, v.p, 32);
	sh->is_hello_retry_request = memcmp(sh->random, hrr_random, 32) == 0;
	if (memcmp(sh->random + 24, downgrade_prefix, 7) == 0) {
		if (sh->random[31] == 1)
			sh->downgrade_sentinel = 12;
		else if (sh->random[31] == 0)
			sh->downgrade_sentinel = 11;
	}

	if (!rd_vec(&r, 1, &v) || v.n > 32)
		return RW_E_LENGTH;
	if (!rd_u16(&r, &sh->cipher) || !rd_u8(&r, &sh->compression))
		return RW_E_LENGTH;

	int rc = parse_exts(r, sh->exts, &sh->n_exts, NULL, server_ext, sh);
	return rc < 0 ? rc : (int)n;
}

bool rw_tls_client_offered_cipher(const struct rw_tls_client_hello *ch, uint16_t cipher)
{
	size_t k = ch->n_ciphers < RW_TLS_MAX_CIPHERS ? ch->n_ciphers : RW_TLS_MAX_CIPHERS;
	for (size_t i = 0; i < k; i++)
		if (ch->ciphers[i] == cipher)
			return true;
	return false;
}

bool rw_tls_client_offered_version(const struct rw_tls_client_hello *ch, uint16_t version)
{
	if (ch->n_versions) {
		size_t k =
		        ch->n_versions < RW_TLS_MAX_VERSIONS ? ch->n_versions : RW_TLS_MAX_VERSIONS;
		for (size_t i = 0; i < k; i++)
			if (ch->versions[i] == version)
				return true;
		return false;
	}
	/* RFC 5246 E.1: legacy_version is the highest the client supports; the
	 * clients that still matter accept anything from TLS 1.0 up to it. */
	if (version == ch->legacy_version)
		return true;
	return version >= 0x0301 && version <= ch->legacy_version;
}

uint16_t rw_tls_client_max_version(const struct rw_tls_client_hello *ch)
{
	size_t k = ch->n_versions < RW_TLS_MAX_VERSIONS ? ch->n_versions : RW_TLS_MAX_VERSIONS;
	uint16_t best = 0;
	for (size_t i = 0; i < k; i++)
		if (!rw_tls_is_grease(ch->versions[i]) && ch->versions[i] > best)
			best = ch->versions[i];
	/* No list, or one holding only GREASE: legacy_version is all we have. */
	return best ? best : ch->legacy_version;
}
