/* SPNEGO (RFC 4178 4.2), the GSS-API token framing (RFC 2743 3.1, RFC 1964
 * 1.1 / RFC 4121 4.1) and the Kerberos messages a CredSSP host answers with
 * (RFC 4120 5.5.1, 5.5.2, 5.9.1). The reader walks DER headers only as far
 * as the kind of message, and into a KRB-ERROR as far as its stime, susec
 * and error-code: tickets, authenticators and encrypted parts are never
 * read. It works on a prefix: a token cut short keeps what its visible
 * headers said. */
#include "kerberos.h"

#include <stdint.h>
#include <string.h>

#include "rw_types.h"

#define MAX_DEPTH 6

/* Bytes present (avail) and bytes the encoding declares (decl >= avail). */
struct region {
	const uint8_t *p;
	size_t avail, decl;
};

struct elem {
	uint8_t tag;
	struct region c; /* contents */
	size_t size;     /* header + declared contents */
};

/* One TLV at the start of r. RW_E_NEED_MORE when its header is cut off. */
static int next(struct region r, struct elem *e, bool *truncated)
{
	if (r.decl < 2)
		return RW_E_LENGTH;
	if (r.avail < 2) {
		*truncated = true;
		return RW_E_NEED_MORE;
	}
	if ((r.p[0] & 0x1F) == 0x1F)
		return RW_E_TYPE; /* high tag numbers: none in these messages */
	size_t h = 2, len = r.p[1];
	if (len >= 0x80) {
		size_t k = len & 0x7F;
		if (k == 0 || k > 4)
			return RW_E_LENGTH;
		h += k;
		if (r.decl < h)
			return RW_E_LENGTH;
		if (r.avail < h) {
			*truncated = true;
			return RW_E_NEED_MORE;
		}
		len = 0;
		for (size_t i = 0; i < k; i++)
			len = len << 8 | r.p[2 + i];
	}
	if (len > r.decl - h)
		return RW_E_LENGTH;
	e->tag = r.p[0];
	e->c.p = r.p + h;
	e->c.decl = len;
	e->c.avail = r.avail - h < len ? r.avail - h : len;
	if (e->c.avail < len)
		*truncated = true;
	e->size = h + len;
	return RW_OK;
}

static struct region after(struct region r, const struct elem *e)
{
	struct region n = {r.p + e->size, 0, r.decl - e->size};
	n.avail = r.avail > e->size ? r.avail - e->size : 0;
	if (r.avail <= e->size)
		n.p = r.p + r.avail; /* never dereferenced: avail is 0 */
	return n;
}

/* OIDs (contents only). */
static const uint8_t OID_SPNEGO[] = {0x2B, 0x06, 0x01, 0x05, 0x05, 0x02}; /* 1.3.6.1.5.5.2 */
static const uint8_t OID_KRB5[] = {0x2A, 0x86, 0x48, 0x86, 0xF7,
                                   0x12, 0x01, 0x02, 0x02}; /* 1.2.840.113554.1.2.2 */
static const uint8_t OID_MS_KRB5[] = {0x2A, 0x86, 0x48, 0x82, 0xF7,
                                      0x12, 0x01, 0x02, 0x02}; /* 1.2.840.48018.1.2.2 */
static const uint8_t OID_KRB5_U2U[] = {0x2A, 0x86, 0x48, 0x86, 0xF7,
                                       0x12, 0x01, 0x02, 0x02, 0x03}; /* 1.2.840.113554.1.2.2.3 */
static const uint8_t OID_NTLM[] = {0x2B, 0x06, 0x01, 0x04, 0x01,
                                   0x82, 0x37, 0x02, 0x02, 0x0A}; /* 1.3.6.1.4.1.311.2.2.10 */

static bool oid_is(const struct elem *e, const uint8_t *oid, size_t n)
{
	return e->tag == 0x06 && e->c.decl == n && e->c.avail == n && memcmp(e->c.p, oid, n) == 0;
}

enum mech { MECH_OTHER, MECH_SPNEGO, MECH_KRB5, MECH_NTLM };

static enum mech mech_of(const struct elem *e)
{
	if (oid_is(e, OID_SPNEGO, sizeof(OID_SPNEGO)))
		return MECH_SPNEGO;
	if (oid_is(e, OID_KRB5, sizeof(OID_KRB5)) || oid_is(e, OID_MS_KRB5, sizeof(OID_MS_KRB5)) ||
	    oid_is(e, OID_KRB5_U2U, sizeof(OID_KRB5_U2U)))
		return MECH_KRB5;
	if (oid_is(e, OID_NTLM, sizeof(OID_NTLM)))
		return MECH_NTLM;
	return MECH_OTHER;
}

static void note_mech(enum mech m, struct rw_auth_token_info *out)
{
	if (m == MECH_KRB5)
		out->mech_kerberos = true;
	else if (m == MECH_NTLM)
		out->mech_ntlm = true;
}

int rw_ntlm_message_type(const uint8_t *p, size_t n)
{
	static const uint8_t sig[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};
	size_t k = n < sizeof(sig) ? n : sizeof(sig);
	if (memcmp(p, sig, k) != 0)
		return RW_E_TYPE;
	if (n < 12)
		return RW_E_NEED_MORE;
	uint32_t t = rw_le32(p + 8);
	return t >= 1 && t <= 3 ? (int)t : RW_E_TYPE;
}

/* INTEGER contents as int32 (at most 4 bytes, sign-extended). */
static bool int32_of(const struct elem *e, int32_t *v)
{
	if (e->tag != 0x02 || e->c.decl == 0 || e->c.decl > 4 || e->c.avail != e->c.decl)
		return false;
	uint32_t x = (e->c.p[0] & 0x80) ? UINT32_MAX : 0;
	for (size_t i = 0; i < e->c.decl; i++)
		x = x << 8 | e->c.p[i];
	*v = (int32_t)x;
	return true;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

bool rw_krb_time_parse(const uint8_t *s, size_t n, int64_t *unix_s)
{
	if (n != 15 || s[14] != 'Z')
		return false;
	unsigned v[14];
	for (size_t i = 0; i < 14; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v[i] = s[i] - '0';
	}
	int64_t year = v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3];
	unsigned mon = v[4] * 10 + v[5], day = v[6] * 10 + v[7], hh = v[8] * 10 + v[9],
	         mm = v[10] * 10 + v[11], ss = v[12] * 10 + v[13];
	if (mon < 1 || mon > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60)
		return false;
	*unix_s = days_from_civil(year, mon, day) * 86400 + hh * 3600 + mm * 60 + ss;
	return true;
}

/* KRB-ERROR ::= [APPLICATION 30] SEQUENCE { pvno [0], msg-type [1],
 * ctime [2] OPT, cusec [3] OPT, stime [4] KerberosTime, susec [5],
 * error-code [6] Int32, ... } */
static int krb_error(struct region body, struct rw_auth_token_info *out)
{
	struct elem seq;
	int r = next(body, &seq, &out->truncated);
	if (r < 0)
		return r == RW_E_NEED_MORE ? RW_OK : r;
	if (seq.tag != 0x30)
		return RW_E_TYPE;
	struct region f = seq.c;
	int64_t stime = 0;
	int32_t susec = 0;
	bool have_stime = false, have_susec = false;
	int last = -1;
	while (f.decl > 0) {
		struct elem e, v;
		r = next(f, &e, &out->truncated);
		if (r == RW_E_NEED_MORE)
			break;
		if (r < 0)
			return r;
		int num = e.tag & 0x1F;
		if ((e.tag & 0xE0) != 0xA0 || num <= last)
			return RW_E_TYPE;
		last = num;
		if (num >= 4 && num <= 6) {
			r = next(e.c, &v, &out->truncated);
			if (r == RW_E_NEED_MORE)
				break;
			if (r < 0)
				return r;
			if (num == 4 && v.tag == 0x18 && v.c.avail == v.c.decl)
				have_stime = rw_krb_time_parse(v.c.p, v.c.avail, &stime);
			else if (num == 5)
				have_susec = int32_of(&v, &susec) && susec >= 0 && susec <= 999999;
			else if (num == 6 && !int32_of(&v, &out->krb_error))
				return RW_E_VALUE;
		}
		if (num == 6) {
			out->kind = RW_AUTH_KRB_ERROR;
			break; /* nothing after error-code is wanted (e-text, e-data) */
		}
		f = after(f, &e);
	}
	if (have_stime) {
		out->has_stime = true;
		out->stime_unix_us = stime * 1000000 + (have_susec ? susec : 0);
	}
	if (out->kind != RW_AUTH_KRB_ERROR) {
		out->kind = RW_AUTH_KRB_ERROR;
		out->krb_error = -1;
		out->truncated = true;
	}
	return RW_OK;
}

static int token(struct region r, struct rw_auth_token_info *out, int depth);

/* NegTokenInit [0] / NegTokenResp [1]: a SEQUENCE of [k] fields; [2] is the
 * mechanism's token in both (mechToken / responseToken). */
static int negotiation(const struct elem *nt, struct rw_auth_token_info *out, int depth)
{
	out->spnego = true;
	struct elem seq;
	int r = next(nt->c, &seq, &out->truncated);
	if (r == RW_E_NEED_MORE)
		goto done;
	if (r < 0)
		return r;
	if (seq.tag != 0x30)
		return RW_E_TYPE;
	struct region f = seq.c;
	while (f.decl > 0) {
		struct elem e, v;
		r = next(f, &e, &out->truncated);
		if (r == RW_E_NEED_MORE)
			break;
		if (r < 0)
			return r;
		if ((e.tag & 0xE0) != 0xA0)
			return RW_E_TYPE;
		int num = e.tag & 0x1F;
		r = next(e.c, &v, &out->truncated);
		if (r == RW_E_NEED_MORE)
			break;
		if (r < 0)
			return r;
		if (nt->tag == 0xA0 && num == 0 && v.tag == 0x30) {
			/* mechTypes: the first is the initiator's preferred one */
			struct elem oid;
			if (next(v.c, &oid, &out->truncated) == RW_OK)
				note_mech(mech_of(&oid), out);
		} else if (nt->tag == 0xA1 && num == 0 && v.tag == 0x0A && v.c.decl == 1 &&
		           v.c.avail == 1) {
			out->has_neg_state = true;
			out->neg_state = v.c.p[0];
		} else if (nt->tag == 0xA1 && num == 1) {
			note_mech(mech_of(&v), out);
		} else if (num == 2) {
			if (v.tag != 0x04)
				return RW_E_TYPE;
			return token(v.c, out, depth + 1);
		}
		f = after(f, &e);
	}
done:
	if (out->kind == RW_AUTH_UNKNOWN)
		out->kind = RW_AUTH_SPNEGO;
	return RW_OK;
}

static int kerberos_message(struct region r, struct rw_auth_token_info *out)
{
	out->mech_kerberos = true;
	if (r.avail == 0) {
		out->truncated = true;
		out->kind = RW_AUTH_KRB_OTHER;
		return RW_OK;
	}
	struct elem e;
	int x = next(r, &e, &out->truncated);
	switch (r.p[0]) {
	case 0x6E: /* [APPLICATION 14] AP-REQ: never read further */
		out->kind = RW_AUTH_KRB_AP_REQ;
		return x == RW_E_NEED_MORE || x == RW_OK ? RW_OK : x;
	case 0x6F: /* [APPLICATION 15] AP-REP */
		out->kind = RW_AUTH_KRB_AP_REP;
		return x == RW_E_NEED_MORE || x == RW_OK ? RW_OK : x;
	case 0x7E: /* [APPLICATION 30] KRB-ERROR */
		if (x == RW_E_NEED_MORE) {
			out->kind = RW_AUTH_KRB_ERROR;
			out->krb_error = -1;
			return RW_OK;
		}
		if (x < 0)
			return x;
		return krb_error(e.c, out);
	default:
		if ((r.p[0] & 0xE0) == 0x60) {
			out->kind = RW_AUTH_KRB_OTHER;
			return RW_OK;
		}
		return RW_E_TYPE;
	}
}

static int ntlm(struct region r, struct rw_auth_token_info *out)
{
	int t = rw_ntlm_message_type(r.p, r.avail);
	if (t == RW_E_NEED_MORE && r.avail < r.decl) {
		out->truncated = true;
		out->kind = RW_AUTH_NTLM;
		out->mech_ntlm = true;
		return RW_OK;
	}
	if (t < 0)
		return RW_E_TYPE;
	out->kind = RW_AUTH_NTLM;
	out->mech_ntlm = true;
	out->ntlm_type = (uint8_t)t;
	out->ntlm = r.p;
	out->ntlm_len = r.avail;
	return RW_OK;
}

static int token(struct region r, struct rw_auth_token_info *out, int depth)
{
	if (depth > MAX_DEPTH)
		return RW_E_VALUE;
	if (r.avail == 0) {
		if (r.decl > 0)
			out->truncated = true;
		return RW_E_TYPE;
	}
	if (r.p[0] == 'N')
		return ntlm(r, out);
	struct elem e;
	int x;
	switch (r.p[0]) {
	case 0x60: { /* GSS-API InitialContextToken: thisMech, innerToken */
		x = next(r, &e, &out->truncated);
		if (x == RW_E_NEED_MORE)
			return RW_OK;
		if (x < 0)
			return x;
		struct elem oid;
		x = next(e.c, &oid, &out->truncated);
		if (x == RW_E_NEED_MORE)
			return RW_OK;
		if (x < 0)
			return x;
		if (oid.tag != 0x06)
			return RW_E_TYPE;
		struct region inner = after(e.c, &oid);
		switch (mech_of(&oid)) {
		case MECH_SPNEGO: {
			struct elem nt;
			x = next(inner, &nt, &out->truncated);
			out->spnego = true;
			if (x == RW_E_NEED_MORE) {
				out->kind = RW_AUTH_SPNEGO;
				return RW_OK;
			}
			if (x < 0)
				return x;
			if (nt.tag != 0xA0 && nt.tag != 0xA1)
				return RW_E_TYPE;
			return negotiation(&nt, out, depth);
		}
		case MECH_KRB5: {
			/* TOK_ID (2 bytes), then the Kerberos message */
			out->mech_kerberos = true;
			if (inner.decl < 2)
				return RW_E_LENGTH;
			if (inner.avail < 2) {
				out->truncated = true;
				out->kind = RW_AUTH_KRB_OTHER;
				return RW_OK;
			}
			struct region m = {inner.p + 2, inner.avail - 2, inner.decl - 2};
			return kerberos_message(m, out);
		}
		case MECH_NTLM:
			return ntlm(inner, out);
		default:
			return RW_E_TYPE;
		}
	}
	case 0xA0:
	case 0xA1: /* a bare NegotiationToken (RFC 4178 4.2: NegTokenResp is never framed) */
		x = next(r, &e, &out->truncated);
		if (x == RW_E_NEED_MORE) {
			out->spnego = true;
			out->kind = RW_AUTH_SPNEGO;
			return RW_OK;
		}
		if (x < 0)
			return x;
		return negotiation(&e, out, depth);
	default:
		if ((r.p[0] & 0xE0) == 0x60)
			return kerberos_message(r, out);
		return RW_E_TYPE;
	}
}

int rw_auth_token_parse(const uint8_t *p, size_t n, struct rw_auth_token_info *out)
{
	memset(out, 0, sizeof(*out));
	/* The caller's bytes may be a prefix: what encloses them is unknown. */
	struct region r = {p, n, SIZE_MAX};
	int x = token(r, out, 0);
	return x < 0 ? x : RW_OK;
}

/* ------------------------------------------------------------------ names */

static const char *const krb_errors[] = {
        [0] = "KDC_ERR_NONE",
        [1] = "KDC_ERR_NAME_EXP",
        [2] = "KDC_ERR_SERVICE_EXP",
        [3] = "KDC_ERR_BAD_PVNO",
        [4] = "KDC_ERR_C_OLD_MAST_KVNO",
        [5] = "KDC_ERR_S_OLD_MAST_KVNO",
        [6] = "KDC_ERR_C_PRINCIPAL_UNKNOWN",
        [7] = "KDC_ERR_S_PRINCIPAL_UNKNOWN",
        [8] = "KDC_ERR_PRINCIPAL_NOT_UNIQUE",
        [9] = "KDC_ERR_NULL_KEY",
        [10] = "KDC_ERR_CANNOT_POSTDATE",
        [11] = "KDC_ERR_NEVER_VALID",
        [12] = "KDC_ERR_POLICY",
        [13] = "KDC_ERR_BADOPTION",
        [14] = "KDC_ERR_ETYPE_NOSUPP",
        [15] = "KDC_ERR_SUMTYPE_NOSUPP",
        [16] = "KDC_ERR_PADATA_TYPE_NOSUPP",
        [17] = "KDC_ERR_TRTYPE_NOSUPP",
        [18] = "KDC_ERR_CLIENT_REVOKED",
        [19] = "KDC_ERR_SERVICE_REVOKED",
        [20] = "KDC_ERR_TGT_REVOKED",
        [21] = "KDC_ERR_CLIENT_NOTYET",
        [22] = "KDC_ERR_SERVICE_NOTYET",
        [23] = "KDC_ERR_KEY_EXPIRED",
        [24] = "KDC_ERR_PREAUTH_FAILED",
        [25] = "KDC_ERR_PREAUTH_REQUIRED",
        [26] = "KDC_ERR_SERVER_NOMATCH",
        [27] = "KDC_ERR_MUST_USE_USER2USER",
        [28] = "KDC_ERR_PATH_NOT_ACCEPTED",
        [29] = "KDC_ERR_SVC_UNAVAILABLE",
        [31] = "KRB_AP_ERR_BAD_INTEGRITY",
        [32] = "KRB_AP_ERR_TKT_EXPIRED",
        [33] = "KRB_AP_ERR_TKT_NYV",
        [34] = "KRB_AP_ERR_REPEAT",
        [35] = "KRB_AP_ERR_NOT_US",
        [36] = "KRB_AP_ERR_BADMATCH",
        [37] = "KRB_AP_ERR_SKEW",
        [38] = "KRB_AP_ERR_BADADDR",
        [39] = "KRB_AP_ERR_BADVERSION",
        [40] = "KRB_AP_ERR_MSG_TYPE",
        [41] = "KRB_AP_ERR_MODIFIED",
        [42] = "KRB_AP_ERR_BADORDER",
        [44] = "KRB_AP_ERR_BADKEYVER",
        [45] = "KRB_AP_ERR_NOKEY",
        [46] = "KRB_AP_ERR_MUT_FAIL",
        [47] = "KRB_AP_ERR_BADDIRECTION",
        [48] = "KRB_AP_ERR_METHOD",
        [49] = "KRB_AP_ERR_BADSEQ",
        [50] = "KRB_AP_ERR_INAPP_CKSUM",
        [51] = "KRB_AP_PATH_NOT_ACCEPTED",
        [52] = "KRB_ERR_RESPONSE_TOO_BIG",
        [60] = "KRB_ERR_GENERIC",
        [61] = "KRB_ERR_FIELD_TOOLONG",
        [62] = "KDC_ERROR_CLIENT_NOT_TRUSTED",
        [63] = "KDC_ERROR_KDC_NOT_TRUSTED",
        [64] = "KDC_ERROR_INVALID_SIG",
        [65] = "KDC_ERR_KEY_TOO_WEAK",
        [66] = "KDC_ERR_CERTIFICATE_MISMATCH",
        [67] = "KRB_AP_ERR_NO_TGT",
        [68] = "KDC_ERR_WRONG_REALM",
        [69] = "KRB_AP_ERR_USER_TO_USER_REQUIRED",
};

const char *rw_krb_error_name(int32_t code)
{
	if (code < 0 || (size_t)code >= sizeof(krb_errors) / sizeof(krb_errors[0]))
		return NULL;
	return krb_errors[code];
}

const char *rw_ntlm_type_name(unsigned type)
{
	switch (type) {
	case 1:
		return "NEGOTIATE";
	case 2:
		return "CHALLENGE";
	case 3:
		return "AUTHENTICATE";
	}
	return NULL;
}
