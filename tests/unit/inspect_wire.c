/* Wire builders for the inspection tests (inspect_wire.h). Every byte here
 * follows the cited spec section, not rdpwhy's own reader. */
#include "inspect_wire.h"

#include <string.h>

static void put_len(struct rw_test_bytes *b, size_t n)
{
	if (n < 0x80) {
		rw_test_put8(b, (unsigned)n);
	} else if (n < 0x100) {
		rw_test_put8(b, 0x81);
		rw_test_put8(b, (unsigned)n);
	} else {
		rw_test_put8(b, 0x82);
		rw_test_put16be(b, (unsigned)n);
	}
}

void iw_tlv(struct rw_test_bytes *b, uint8_t tag, const void *c, size_t n)
{
	rw_test_put8(b, tag);
	put_len(b, n);
	rw_test_put(b, c, n);
}

static void wrap(struct rw_test_bytes *b, uint8_t tag, const struct rw_test_bytes *in)
{
	iw_tlv(b, tag, in->p, in->n);
}

void iw_le32(struct rw_test_bytes *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		rw_test_put8(b, (v >> (8 * i)) & 0xFF);
}

static void le16(struct rw_test_bytes *b, unsigned v)
{
	rw_test_put8(b, v & 0xFF);
	rw_test_put8(b, (v >> 8) & 0xFF);
}

void iw_tsreq(struct rw_test_bytes *b, uint32_t version, const struct rw_test_bytes *tok,
              const struct rw_test_bytes *auth, const struct rw_test_bytes *pka, bool has_err,
              uint32_t err)
{
	static struct rw_test_bytes body, t1, t2, t3;
	body.n = 0;
	uint8_t v[3] = {0x02, 0x01, (uint8_t)version};
	iw_tlv(&body, 0xA0, v, 3);
	if (tok) {
		t1.n = t2.n = t3.n = 0;
		wrap(&t1, 0x04, tok); /* OCTET STRING */
		wrap(&t2, 0xA0, &t1); /* negoToken [0] */
		wrap(&t3, 0x30, &t2); /* SEQUENCE */
		t1.n = 0;
		wrap(&t1, 0x30, &t3);   /* SEQUENCE OF */
		wrap(&body, 0xA1, &t1); /* negoTokens [1] */
	}
	if (auth) {
		t1.n = 0;
		wrap(&t1, 0x04, auth);
		wrap(&body, 0xA2, &t1);
	}
	if (pka) {
		t1.n = 0;
		wrap(&t1, 0x04, pka);
		wrap(&body, 0xA3, &t1);
	}
	if (has_err) {
		uint8_t e[6] = {0x02,
		                0x04,
		                (uint8_t)(err >> 24),
		                (uint8_t)(err >> 16),
		                (uint8_t)(err >> 8),
		                (uint8_t)err};
		iw_tlv(&body, 0xA4, e, 6);
	}
	wrap(b, 0x30, &body);
}

static const uint8_t ntlmssp[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};

void iw_ntlm_negotiate(struct rw_test_bytes *b)
{
	rw_test_put(b, ntlmssp, 8);
	iw_le32(b, 1);
	iw_le32(b, 0xE2088297); /* NegotiateFlags */
	for (int i = 0; i < 4; i++)
		iw_le32(b, 0); /* DomainNameFields, WorkstationFields */
}

void iw_ntlm_challenge(struct rw_test_bytes *b, uint64_t filetime)
{
	/* TargetInfo: NbComputerName "HOST" (UTF-16LE), Timestamp, EOL */
	struct rw_test_bytes ti = {.n = 0};
	le16(&ti, 1);
	le16(&ti, 8);
	rw_test_put(&ti, "H\0O\0S\0T\0", 8);
	le16(&ti, 7);
	le16(&ti, 8);
	iw_le32(&ti, (uint32_t)filetime);
	iw_le32(&ti, (uint32_t)(filetime >> 32));
	le16(&ti, 0);
	le16(&ti, 0);
	rw_test_put(b, ntlmssp, 8);
	iw_le32(b, 2);
	le16(b, 0); /* TargetNameFields: empty, at 48 */
	le16(b, 0);
	iw_le32(b, 48);
	iw_le32(b, 0x00808205); /* UNICODE, REQUEST_TARGET, NTLM, TARGET_INFO */
	rw_test_put(b, "\x01\x23\x45\x67\x89\xab\xcd\xef", 8); /* ServerChallenge */
	rw_test_put(b, "\0\0\0\0\0\0\0\0", 8);                 /* Reserved */
	le16(b, (unsigned)ti.n);                               /* TargetInfoFields */
	le16(b, (unsigned)ti.n);
	iw_le32(b, 48);
	rw_test_put(b, ti.p, ti.n);
}

void iw_ntlm_authenticate(struct rw_test_bytes *b, const uint8_t *secret, size_t n)
{
	/* header 64 bytes (no VERSION, no MIC), then the NtChallengeResponse,
	 * domain "D", user "u" (UTF-16LE) */
	size_t off = 64;
	rw_test_put(b, ntlmssp, 8);
	iw_le32(b, 3);
	le16(b, 0); /* LmChallengeResponseFields */
	le16(b, 0);
	iw_le32(b, (uint32_t)off);
	le16(b, (unsigned)n); /* NtChallengeResponseFields */
	le16(b, (unsigned)n);
	iw_le32(b, (uint32_t)off);
	le16(b, 2); /* DomainNameFields */
	le16(b, 2);
	iw_le32(b, (uint32_t)(off + n));
	le16(b, 2); /* UserNameFields */
	le16(b, 2);
	iw_le32(b, (uint32_t)(off + n + 2));
	le16(b, 0); /* WorkstationFields */
	le16(b, 0);
	iw_le32(b, (uint32_t)(off + n + 4));
	le16(b, 0); /* EncryptedRandomSessionKeyFields */
	le16(b, 0);
	iw_le32(b, (uint32_t)(off + n + 4));
	iw_le32(b, 0xE2888215); /* NegotiateFlags */
	rw_test_put(b, secret, n);
	rw_test_put(b, "D\0u\0", 4);
}

static const uint8_t OID_SPNEGO[] = {0x2B, 0x06, 0x01, 0x05, 0x05, 0x02};
static const uint8_t OID_KRB5[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x12, 0x01, 0x02, 0x02};

/* [APPLICATION 0] { krb5 OID, TOK_ID, message } (RFC 1964 1.1) */
static void gss_krb5(struct rw_test_bytes *b, uint8_t tok_id, const struct rw_test_bytes *msg)
{
	static struct rw_test_bytes in;
	in.n = 0;
	iw_tlv(&in, 0x06, OID_KRB5, sizeof(OID_KRB5));
	rw_test_put8(&in, tok_id);
	rw_test_put8(&in, 0x00);
	rw_test_put(&in, msg->p, msg->n);
	wrap(b, 0x60, &in);
}

static void ctx_int(struct rw_test_bytes *b, uint8_t tag, int v)
{
	struct rw_test_bytes i = {.n = 0};
	uint8_t c[4];
	size_t k = 0;
	if (v >= 0 && v < 0x80) {
		c[k++] = (uint8_t)v;
	} else if (v >= 0 && v < 0x8000) {
		c[k++] = (uint8_t)(v >> 8);
		c[k++] = (uint8_t)v;
	} else {
		c[k++] = (uint8_t)(v >> 16);
		c[k++] = (uint8_t)(v >> 8);
		c[k++] = (uint8_t)v;
	}
	iw_tlv(&i, 0x02, c, k);
	wrap(b, tag, &i);
}

void iw_spnego_krb_error(struct rw_test_bytes *b, int code, const char *stime, int susec)
{
	static struct rw_test_bytes f, t, e, g, r, seq;
	f.n = t.n = e.n = g.n = r.n = seq.n = 0;
	ctx_int(&f, 0xA0, 5);  /* pvno */
	ctx_int(&f, 0xA1, 30); /* msg-type KRB_ERROR */
	t.n = 0;
	iw_tlv(&t, 0x18, stime, strlen(stime)); /* GeneralizedTime */
	wrap(&f, 0xA4, &t);
	ctx_int(&f, 0xA5, susec);
	ctx_int(&f, 0xA6, code);
	t.n = 0;
	iw_tlv(&t, 0x1B, "EXAMPLE.COM", 11); /* realm */
	wrap(&f, 0xA9, &t);
	/* sname PrincipalName { name-type 2, name-string { "TERMSRV", "host" } } */
	struct rw_test_bytes ns = {.n = 0}, sq = {.n = 0}, pn = {.n = 0};
	iw_tlv(&ns, 0x1B, "TERMSRV", 7);
	iw_tlv(&ns, 0x1B, "host", 4);
	wrap(&sq, 0x30, &ns);
	ctx_int(&pn, 0xA0, 2);
	wrap(&pn, 0xA1, &sq);
	t.n = 0;
	wrap(&t, 0x30, &pn);
	wrap(&f, 0xAA, &t);
	wrap(&seq, 0x30, &f);
	wrap(&e, 0x7E, &seq); /* [APPLICATION 30] */
	gss_krb5(&g, 0x03, &e);
	/* NegTokenResp { negState [0] reject (2), responseToken [2] } */
	struct rw_test_bytes nr = {.n = 0}, en = {.n = 0}, os = {.n = 0};
	uint8_t reject[3] = {0x0A, 0x01, 0x02};
	iw_tlv(&nr, 0xA0, reject, 3);
	wrap(&os, 0x04, &g);
	wrap(&nr, 0xA2, &os);
	wrap(&en, 0x30, &nr);
	wrap(b, 0xA1, &en);
}

void iw_spnego_krb_ap_req(struct rw_test_bytes *b, const uint8_t *ticket, size_t n)
{
	static struct rw_test_bytes ap, msg, g, init, os, mt, oid, seq, inner;
	ap.n = msg.n = g.n = init.n = os.n = mt.n = oid.n = seq.n = inner.n = 0;
	rw_test_put(&ap, ticket, n);
	wrap(&msg, 0x6E, &ap); /* [APPLICATION 14] AP-REQ, body opaque here */
	gss_krb5(&g, 0x01, &msg);
	iw_tlv(&oid, 0x06, OID_KRB5, sizeof(OID_KRB5));
	wrap(&mt, 0x30, &oid);
	wrap(&init, 0xA0, &mt); /* mechTypes */
	wrap(&os, 0x04, &g);
	wrap(&init, 0xA2, &os); /* mechToken */
	wrap(&seq, 0x30, &init);
	iw_tlv(&inner, 0x06, OID_SPNEGO, sizeof(OID_SPNEGO));
	wrap(&inner, 0xA0, &seq); /* NegTokenInit */
	wrap(b, 0x60, &inner);
}

static void x224_mcs(struct rw_test_bytes *b, const struct rw_test_bytes *mcs)
{
	rw_test_put8(b, 0x03);
	rw_test_put8(b, 0x00);
	rw_test_put16be(b, (unsigned)(4 + 3 + mcs->n));
	rw_test_put(b, "\x02\xF0\x80", 3);
	rw_test_put(b, mcs->p, mcs->n);
}

void iw_data_pdu(struct rw_test_bytes *b, uint8_t pdu_type2, const struct rw_test_bytes *payload)
{
	static struct rw_test_bytes share, mcs;
	share.n = mcs.n = 0;
	size_t total = 6 + 12 + payload->n;
	le16(&share, (unsigned)total);            /* Share Control: totalLength */
	le16(&share, 0x17);                       /* pduType: DATAPDU | version 1 */
	le16(&share, 1002);                       /* pduSource */
	iw_le32(&share, 0x103EA);                 /* shareId */
	rw_test_put8(&share, 0);                  /* pad1 */
	rw_test_put8(&share, 1);                  /* streamId STREAM_LOW */
	le16(&share, (unsigned)(payload->n + 4)); /* uncompressedLength */
	rw_test_put8(&share, pdu_type2);
	rw_test_put8(&share, 0); /* generalCompressedType */
	le16(&share, 0);         /* generalCompressedLength */
	rw_test_put(&share, payload->p, payload->n);
	rw_test_put8(&mcs, 26 << 2); /* sendDataIndication */
	rw_test_put16be(&mcs, 1);    /* initiator (user 1002 - 1001) */
	rw_test_put16be(&mcs, 1003); /* channelId: the I/O channel */
	rw_test_put8(&mcs, 0x70);    /* dataPriority high, segmentation begin|end */
	if (share.n < 0x80) {
		rw_test_put8(&mcs, (unsigned)share.n);
	} else {
		rw_test_put8(&mcs, 0x80 | (unsigned)(share.n >> 8));
		rw_test_put8(&mcs, share.n & 0xFF);
	}
	rw_test_put(&mcs, share.p, share.n);
	x224_mcs(b, &mcs);
}

void iw_set_error_info(struct rw_test_bytes *b, uint32_t error_info)
{
	struct rw_test_bytes p = {.n = 0};
	iw_le32(&p, error_info);
	iw_data_pdu(b, 0x2F, &p);
}

void iw_save_session_info(struct rw_test_bytes *b, uint32_t info_type, bool logon_error,
                          uint32_t err_type, uint32_t err_data)
{
	static struct rw_test_bytes p;
	p.n = 0;
	iw_le32(&p, info_type);
	if (info_type == 3) {
		/* TS_LOGON_INFO_EXTENDED: Length, FieldsPresent, an
		 * auto-reconnect cookie (28 bytes) and the Logon Errors Info */
		le16(&p, (unsigned)(2 + 4 + 4 + 28 + (logon_error ? 12 : 0)));
		iw_le32(&p, 0x1 | (logon_error ? 0x2 : 0));
		iw_le32(&p, 28);
		for (int i = 0; i < 28; i++)
			rw_test_put8(&p, (unsigned)i);
		if (logon_error) {
			iw_le32(&p, 8);
			iw_le32(&p, err_type);
			iw_le32(&p, err_data);
		}
		for (int i = 0; i < 570; i++) /* Pad */
			rw_test_put8(&p, 0);
	} else {
		for (int i = 0; i < 576; i++) /* the logon info itself: not read */
			rw_test_put8(&p, 0);
	}
	iw_data_pdu(b, 0x26, &p);
}

void iw_ultimatum(struct rw_test_bytes *b, uint8_t reason)
{
	struct rw_test_bytes mcs = {.n = 0};
	rw_test_put8(&mcs, (8 << 2) | (reason >> 1));
	rw_test_put8(&mcs, (unsigned)(reason & 1) << 7);
	x224_mcs(b, &mcs);
}

static void mcs_connect(struct rw_test_bytes *b, uint8_t app, size_t len)
{
	static struct rw_test_bytes mcs;
	mcs.n = 0;
	rw_test_put8(&mcs, 0x7F); /* BER [APPLICATION app], high tag number form */
	rw_test_put8(&mcs, app);
	rw_test_put8(&mcs, 0x82);
	rw_test_put16be(&mcs, (unsigned)len);
	for (size_t i = 0; i < len; i++)
		rw_test_put8(&mcs, (unsigned)(i * 3));
	x224_mcs(b, &mcs);
}

void iw_mcs_connect_initial(struct rw_test_bytes *b, size_t len)
{
	mcs_connect(b, 101, len);
}

void iw_mcs_connect_response(struct rw_test_bytes *b, size_t len)
{
	mcs_connect(b, 102, len);
}

void iw_fastpath(struct rw_test_bytes *b, size_t len)
{
	rw_test_put8(b, 0x00);
	rw_test_put8(b, 0x80 | (unsigned)(len >> 8));
	rw_test_put8(b, len & 0xFF);
	for (size_t i = 3; i < len; i++)
		rw_test_put8(b, 0x5A);
}
