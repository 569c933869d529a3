/* CredSSP TSRequest (MS-CSSP 2.2.1) in DER. The reader works on a prefix of
 * a TLS stream: every header it can see is checked against the structure
 * around it, so that RW_E_NEED_MORE means "a TSRequest could still follow"
 * and never hides garbage the caller would wait on forever. */
#include "credssp.h"

#include <limits.h>
#include <string.h>

#include "rw_types.h"

#define TAG_INTEGER      0x02
#define TAG_OCTET_STRING 0x04
#define TAG_SEQUENCE     0x30
#define TAG_CONTEXT(k)   (0xA0 | (k)) /* [k] EXPLICIT, constructed */

enum { F_VERSION, F_NEGO_TOKENS, F_AUTH_INFO, F_PUB_KEY_AUTH, F_ERROR_CODE, F_CLIENT_NONCE };

/* ---------------------------------------------------------------- writing */

static size_t len_size(size_t len)
{
	size_t k = 1;
	for (size_t v = len; len >= 0x80 && v; v >>= 8)
		k++;
	return k;
}

static size_t put_hdr(uint8_t *out, uint8_t tag, size_t len)
{
	size_t k = len_size(len);
	out[0] = tag;
	if (k == 1) {
		out[1] = (uint8_t)len;
		return 2;
	}
	out[1] = (uint8_t)(0x80 | (k - 1));
	for (size_t i = 0; i < k - 1; i++)
		out[2 + i] = (uint8_t)(len >> 8 * (k - 2 - i));
	return 1 + k;
}

/* Bytes of an INTEGER's contents: two's complement, shortest form, so a
 * value with the top bit set gets a leading zero. */
static size_t uint_size(uint32_t v)
{
	size_t k = 1;
	while (k < 4 && v >> 8 * k)
		k++;
	return k + (v >> (8 * k - 1) & 1);
}

static size_t tlv_size(size_t len)
{
	return 1 + len_size(len) + len;
}

size_t rw_tsrequest_build(uint8_t *out, size_t cap, uint32_t version, const uint8_t *token,
                          size_t token_len)
{
	/* Keeps every size below INT_MAX, which the reader returns in an int. */
	if (token_len > INT_MAX / 2)
		return 0;
	bool has_token = token != NULL || token_len > 0;
	if (!token && token_len > 0)
		return 0;
	size_t vlen = uint_size(version);
	size_t ver = tlv_size(tlv_size(vlen));
	size_t oct = tlv_size(token_len), ctx0 = tlv_size(oct), item = tlv_size(ctx0),
	       seq = tlv_size(item);
	size_t body = ver + (has_token ? tlv_size(seq) : 0);
	size_t total = tlv_size(body);
	if (total > cap)
		return 0;

	size_t o = put_hdr(out, TAG_SEQUENCE, body);
	o += put_hdr(out + o, TAG_CONTEXT(F_VERSION), tlv_size(vlen));
	o += put_hdr(out + o, TAG_INTEGER, vlen);
	for (size_t i = 0; i < vlen; i++)
		out[o + i] = i + 4 < vlen ? 0 : (uint8_t)((uint64_t)version >> 8 * (vlen - 1 - i));
	o += vlen;
	if (has_token) {
		o += put_hdr(out + o, TAG_CONTEXT(F_NEGO_TOKENS), seq);
		o += put_hdr(out + o, TAG_SEQUENCE, item);
		o += put_hdr(out + o, TAG_SEQUENCE, ctx0);
		o += put_hdr(out + o, TAG_CONTEXT(0), oct);
		o += put_hdr(out + o, TAG_OCTET_STRING, token_len);
		if (token_len)
			memcpy(out + o, token, token_len);
		o += token_len;
	}
	return o;
}

/* ---------------------------------------------------------------- reading */

/* Positions are offsets into p[0..n); lim is how many bytes the enclosing
 * structure leaves from the position (the TLV must fit in them). */
struct tlv {
	size_t hdr, len;
};

/* want < 0: any tag (the caller checked it). */
static int read_tlv(const uint8_t *p, size_t n, size_t at, size_t lim, int want, struct tlv *t)
{
	if (lim < 2)
		return RW_E_LENGTH;
	if (at >= n)
		return RW_E_NEED_MORE;
	if (want >= 0 && p[at] != want)
		return RW_E_TYPE;
	if (n - at < 2)
		return RW_E_NEED_MORE;
	uint8_t b = p[at + 1];
	size_t hdr = 2, len = b;
	if (b >= 0x80) {
		/* 0x80 is BER's indefinite length, never DER; more than four
		 * length bytes is more than a TSRequest can hold. Non-minimal
		 * long forms are accepted: they are unambiguous, and a
		 * diagnosis must not fail on an encoder's style. */
		size_t k = b & 0x7F;
		if (k == 0 || k > 4)
			return RW_E_LENGTH;
		hdr += k;
		if (lim < hdr)
			return RW_E_LENGTH;
		if (n - at < hdr)
			return RW_E_NEED_MORE;
		len = 0;
		for (size_t i = 0; i < k; i++)
			len = len << 8 | p[at + 2 + i];
	}
	if (len > lim - hdr)
		return RW_E_LENGTH;
	t->hdr = hdr;
	t->len = len;
	return RW_OK;
}

/* A TLV that must fill its lim exactly (the contents of an EXPLICIT tag). */
static int read_whole(const uint8_t *p, size_t n, size_t at, size_t lim, int want, struct tlv *t)
{
	int r = read_tlv(p, n, at, lim, want, t);
	if (r < 0)
		return r;
	return t->hdr + t->len == lim ? RW_OK : RW_E_TRAILING;
}

/* INTEGER as a 32-bit value. Windows writes NTSTATUS codes as signed 32-bit
 * integers (C000006D is 02 04 C0 00 00 6D), FreeRDP as unsigned ones (02 05
 * 00 C0 00 00 6D): both mean the same status. */
static int read_int(const uint8_t *p, size_t n, size_t at, size_t lim, bool allow_negative,
                    uint32_t *v)
{
	struct tlv t;
	int r = read_whole(p, n, at, lim, TAG_INTEGER, &t);
	if (r < 0)
		return r;
	if (t.len == 0 || t.len > 5)
		return RW_E_VALUE;
	size_t c = at + t.hdr;
	if (n <= c)
		return RW_E_NEED_MORE;
	bool negative = p[c] & 0x80;
	if ((negative && !allow_negative) || (t.len == 5 && p[c] != 0))
		return RW_E_VALUE;
	if (n - c < t.len)
		return RW_E_NEED_MORE;
	uint32_t x = negative ? UINT32_MAX : 0;
	for (size_t i = 0; i < t.len; i++)
		x = x << 8 | p[c + i];
	*v = x;
	return RW_OK;
}

static int read_octets(const uint8_t *p, size_t n, size_t at, size_t lim, const uint8_t **s,
                       size_t *len)
{
	struct tlv t;
	int r = read_whole(p, n, at, lim, TAG_OCTET_STRING, &t);
	if (r < 0)
		return r;
	if (n - at < t.hdr + t.len)
		return RW_E_NEED_MORE;
	*s = p + at + t.hdr;
	*len = t.len;
	return RW_OK;
}

/* NegoData ::= SEQUENCE OF SEQUENCE { negoToken [0] OCTET STRING }. Every
 * item is checked; the first token is kept. */
static int read_nego_data(const uint8_t *p, size_t n, size_t at, size_t lim,
                          struct rw_tsrequest *out)
{
	struct tlv seq, item, ctx;
	int r = read_whole(p, n, at, lim, TAG_SEQUENCE, &seq);
	if (r < 0)
		return r;
	size_t pos = at + seq.hdr, end = pos + seq.len;
	while (pos < end) {
		r = read_tlv(p, n, pos, end - pos, TAG_SEQUENCE, &item);
		if (r < 0)
			return r;
		size_t c = pos + item.hdr;
		r = read_whole(p, n, c, item.len, TAG_CONTEXT(0), &ctx);
		if (r < 0)
			return r;
		const uint8_t *tok;
		size_t tok_len;
		r = read_octets(p, n, c + ctx.hdr, ctx.len, &tok, &tok_len);
		if (r < 0)
			return r;
		if (!out->nego_token) {
			out->nego_token = tok;
			out->nego_token_len = tok_len;
		}
		pos = c + item.len;
	}
	return RW_OK;
}

int rw_tsrequest_parse(const uint8_t *p, size_t n, struct rw_tsrequest *out)
{
	memset(out, 0, sizeof(*out));
	struct tlv outer;
	int r = read_tlv(p, n, 0, INT_MAX, TAG_SEQUENCE, &outer);
	if (r < 0)
		return r;
	size_t pos = outer.hdr, end = outer.hdr + outer.len;
	int last = -1;
	while (pos < end) {
		if (pos >= n)
			return RW_E_NEED_MORE;
		/* Fields are [k] EXPLICIT in definition order, version first;
		 * numbers past clientNonce are later versions' extensions. */
		uint8_t tag = p[pos];
		int num = tag & 0x1F;
		if ((tag & 0xE0) != 0xA0 || num == 0x1F || num <= last ||
		    (last < 0 && num != F_VERSION))
			return RW_E_TYPE;
		struct tlv f;
		r = read_tlv(p, n, pos, end - pos, -1, &f);
		if (r < 0)
			return r;
		size_t c = pos + f.hdr;
		const uint8_t *s;
		size_t len;
		switch (num) {
		case F_VERSION:
			r = read_int(p, n, c, f.len, false, &out->version);
			break;
		case F_NEGO_TOKENS:
			r = read_nego_data(p, n, c, f.len, out);
			break;
		case F_AUTH_INFO:
			r = read_octets(p, n, c, f.len, &s, &len);
			out->has_auth_info = r == RW_OK;
			break;
		case F_PUB_KEY_AUTH:
			r = read_octets(p, n, c, f.len, &s, &len);
			out->has_pub_key_auth = r == RW_OK;
			break;
		case F_ERROR_CODE:
			r = read_int(p, n, c, f.len, true, &out->error_code);
			out->has_error_code = r == RW_OK;
			break;
		case F_CLIENT_NONCE:
			r = read_octets(p, n, c, f.len, &s, &len);
			out->has_client_nonce = r == RW_OK;
			break;
		default:
			r = RW_OK;
			break;
		}
		if (r < 0)
			return r;
		last = num;
		pos = c + f.len;
	}
	if (last < 0)
		return RW_E_TYPE;
	if (n < end)
		return RW_E_NEED_MORE;
	return (int)end;
}

/* ------------------------------------------------------------------ names */

static const struct {
	uint32_t status;
	const char *name;
} ntstatus_names[] = {
        {0x00000000, "STATUS_SUCCESS"},
        {0xC000000D, "STATUS_INVALID_PARAMETER"},
        {0xC0000022, "STATUS_ACCESS_DENIED"},
        {0xC0000044, "STATUS_QUOTA_EXCEEDED"},
        {0xC000005E, "STATUS_NO_LOGON_SERVERS"},
        {0xC0000064, "STATUS_NO_SUCH_USER"},
        {0xC000006A, "STATUS_WRONG_PASSWORD"},
        {0xC000006C, "STATUS_PASSWORD_RESTRICTION"},
        {0xC000006D, "STATUS_LOGON_FAILURE"},
        {0xC000006E, "STATUS_ACCOUNT_RESTRICTION"},
        {0xC000006F, "STATUS_INVALID_LOGON_HOURS"},
        {0xC0000070, "STATUS_INVALID_WORKSTATION"},
        {0xC0000071, "STATUS_PASSWORD_EXPIRED"},
        {0xC0000072, "STATUS_ACCOUNT_DISABLED"},
        {0xC00000A7, "STATUS_BAD_VALIDATION_CLASS"},
        {0xC00000BB, "STATUS_NOT_SUPPORTED"},
        {0xC00000DF, "STATUS_NO_SUCH_DOMAIN"},
        {0xC00000FE, "STATUS_NO_SUCH_PACKAGE"},
        {0xC0000133, "STATUS_TIME_DIFFERENCE_AT_DC"},
        {0xC000015B, "STATUS_LOGON_TYPE_NOT_GRANTED"},
        {0xC000018B, "STATUS_NO_TRUST_SAM_ACCOUNT"},
        {0xC000018D, "STATUS_TRUSTED_RELATIONSHIP_FAILURE"},
        {0xC0000190, "STATUS_TRUST_FAILURE"},
        {0xC0000193, "STATUS_ACCOUNT_EXPIRED"},
        {0xC0000199, "STATUS_NOLOGON_WORKSTATION_TRUST_ACCOUNT"},
        {0xC0000224, "STATUS_PASSWORD_MUST_CHANGE"},
        {0xC0000234, "STATUS_ACCOUNT_LOCKED_OUT"},
        {0xC0000388, "STATUS_DOWNGRADE_DETECTED"},
        {0xC0000413, "STATUS_AUTHENTICATION_FIREWALL_FAILED"},
        {0x80090301, "SEC_E_INVALID_HANDLE"},
        {0x80090302, "SEC_E_UNSUPPORTED_FUNCTION"},
        {0x80090303, "SEC_E_TARGET_UNKNOWN"},
        {0x80090304, "SEC_E_INTERNAL_ERROR"},
        {0x80090308, "SEC_E_INVALID_TOKEN"},
        {0x8009030C, "SEC_E_LOGON_DENIED"},
        {0x8009030E, "SEC_E_NO_CREDENTIALS"},
        {0x8009030F, "SEC_E_MESSAGE_ALTERED"},
        {0x80090311, "SEC_E_NO_AUTHENTICATING_AUTHORITY"},
        {0x80090322, "SEC_E_WRONG_PRINCIPAL"},
        {0x80090324, "SEC_E_TIME_SKEW"},
        {0x80090331, "SEC_E_ALGORITHM_MISMATCH"},
        {0x80090346, "SEC_E_BAD_BINDINGS"},
        {0x80090350, "SEC_E_DOWNGRADE_DETECTED"},
        {0x8009035E, "SEC_E_DELEGATION_POLICY"},
        {0x8009035F, "SEC_E_POLICY_NLTM_ONLY"},
};

const char *rw_ntstatus_name(uint32_t status)
{
	for (size_t i = 0; i < sizeof(ntstatus_names) / sizeof(ntstatus_names[0]); i++)
		if (ntstatus_names[i].status == status)
			return ntstatus_names[i].name;
	return NULL;
}
