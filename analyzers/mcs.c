/* MCS Connect Initial / Connect Response of standard RDP security
 * (MS-RDPBCGR 2.2.1.3, 2.2.1.4): T.125 BER around T.124 PER around the
 * client and server data blocks. The byte layouts are those of the spec's
 * examples (4.1.3, 4.1.4) and of what real xfreerdp and xrdp put on the wire. */
#include "mcs.h"

#include <string.h>

#include "rw_types.h"
#include "x224.h"

/* T.125 BER tags. */
#define BER_CONNECT_INITIAL  0x65 /* [APPLICATION 101], after 0x7f */
#define BER_CONNECT_RESPONSE 0x66 /* [APPLICATION 102], after 0x7f */
#define BER_BOOLEAN          0x01
#define BER_INTEGER          0x02
#define BER_OCTET_STRING     0x04
#define BER_ENUMERATED       0x0a
#define BER_SEQUENCE         0x30

/* TS_UD_HEADER types (MS-RDPBCGR 2.2.1.3.1). */
#define CS_CORE     0xC001
#define CS_SECURITY 0xC002
#define CS_NET      0xC003
#define SC_CORE     0x0C01
#define SC_SECURITY 0x0C02
#define SC_NET      0x0C03

#define CS_CORE_LEN     216 /* up to and with serverSelectedProtocol */
#define CS_SECURITY_LEN 12
#define CS_NET_LEN      8

/* ConnectData::key, object identifier t124-02-98 (0.0.20.124.0.1), as a
 * PER length byte and the five contents bytes. */
static const uint8_t t124_oid[] = {0x05, 0x00, 0x14, 0x7c, 0x00, 0x01};
static const uint8_t h221_server_key[4] = {'M', 'c', 'D', 'n'};

/* ---- builder ----------------------------------------------------------- */

struct wbuf {
	uint8_t *p;
	size_t n, cap;
	bool overflow;
};

static void put(struct wbuf *w, const void *src, size_t n)
{
	if (w->overflow || w->cap - w->n < n) {
		w->overflow = true;
		return;
	}
	memcpy(w->p + w->n, src, n);
	w->n += n;
}

static void put8(struct wbuf *w, unsigned v)
{
	uint8_t b = (uint8_t)v;
	put(w, &b, 1);
}

static void put16le(struct wbuf *w, unsigned v)
{
	uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
	put(w, b, 2);
}

static void put32le(struct wbuf *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	put(w, b, 4);
}

static void put16be(struct wbuf *w, unsigned v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	put(w, b, 2);
}

static void put_zeros(struct wbuf *w, size_t n)
{
	static const uint8_t z[64];
	while (n > 0) {
		size_t k = n < sizeof(z) ? n : sizeof(z);
		put(w, z, k);
		n -= k;
	}
}

/* BER length: short form below 128, else 0x81 x or 0x82 xx xx. */
static void put_ber_len(struct wbuf *w, size_t len)
{
	if (len < 0x80) {
		put8(w, (unsigned)len);
	} else if (len <= 0xFF) {
		put8(w, 0x81);
		put8(w, (unsigned)len);
	} else {
		put8(w, 0x82);
		put16be(w, (unsigned)len);
	}
}

static size_t ber_len_size(size_t len)
{
	return len < 0x80 ? 1 : len <= 0xFF ? 2 : 3;
}

/* BER INTEGER, shortest two's complement form of a non-negative value
 * (65535 is 02 03 00 ff ff). */
static void put_ber_int(struct wbuf *w, uint32_t v)
{
	uint8_t b[5];
	size_t k = 0;
	do {
		b[4 - k++] = (uint8_t)v;
		v >>= 8;
	} while (v);
	if (b[5 - k] & 0x80)
		b[4 - k++] = 0;
	put8(w, BER_INTEGER);
	put8(w, (unsigned)k);
	put(w, b + 5 - k, k);
}

/* DomainParameters (T.125 7, part 2): the three sets every client sends. */
static void put_domain_params(struct wbuf *w, const uint32_t v[8])
{
	uint8_t tmp[64];
	struct wbuf body = {.p = tmp, .cap = sizeof(tmp)};
	for (int i = 0; i < 8; i++)
		put_ber_int(&body, v[i]);
	put8(w, BER_SEQUENCE);
	put_ber_len(w, body.n);
	put(w, tmp, body.n);
}

/* PER length of T.124: always the two-byte form (0x80 | hi, lo). xrdp skips
 * the 23 bytes of ConferenceCreateRequest before the user data without
 * reading them, so both lengths must take two bytes; all our lengths are
 * between 128 and 16383, where that is also the canonical form. */
static void put_per_len2(struct wbuf *w, size_t len)
{
	put16be(w, (unsigned)(0x8000 | len));
}

static void put_client_blocks(struct wbuf *w, uint32_t methods, uint32_t selected_protocol)
{
	/* CS_CORE (2.2.1.3.2) */
	put16le(w, CS_CORE);
	put16le(w, CS_CORE_LEN);
	put32le(w, 0x00080004); /* version: RDP 5.0 and later */
	put16le(w, 1024);       /* desktopWidth */
	put16le(w, 768);        /* desktopHeight */
	put16le(w, 0xCA01);     /* colorDepth RNS_UD_COLOR_8BPP */
	put16le(w, 0xAA03);     /* SASSequence RNS_UD_SAS_DEL */
	put32le(w, 0x0409);     /* keyboardLayout en-US */
	put32le(w, 2600);       /* clientBuild */
	static const char name[] = "rdpwhy";
	for (size_t i = 0; i < 16; i++) /* clientName, UTF-16LE, 32 bytes */
		put16le(w, i < sizeof(name) - 1 ? (unsigned)name[i] : 0);
	put32le(w, 4);      /* keyboardType IBM enhanced (101/102 keys) */
	put32le(w, 0);      /* keyboardSubType */
	put32le(w, 12);     /* keyboardFunctionKey */
	put_zeros(w, 64);   /* imeFileName */
	put16le(w, 0xCA01); /* postBeta2ColorDepth RNS_UD_COLOR_8BPP */
	put16le(w, 1);      /* clientProductId */
	put32le(w, 0);      /* serialNumber */
	put16le(w, 16);     /* highColorDepth HIGH_COLOR_16BPP */
	put16le(w, 0x000F); /* supportedColorDepths 24, 16, 15 bpp and 32 bpp */
	put16le(w, 0x0001); /* earlyCapabilityFlags RNS_UD_CS_SUPPORT_ERRINFO_PDU */
	put_zeros(w, 64);   /* clientDigProductId */
	put8(w, 0);         /* connectionType (not valid without the flag) */
	put8(w, 0);         /* pad1octet */
	put32le(w, selected_protocol);
	/* CS_SECURITY (2.2.1.3.3) */
	put16le(w, CS_SECURITY);
	put16le(w, CS_SECURITY_LEN);
	put32le(w, methods);
	put32le(w, 0); /* extEncryptionMethods */
	/* CS_NET (2.2.1.3.4): no static virtual channel */
	put16le(w, CS_NET);
	put16le(w, CS_NET_LEN);
	put32le(w, 0);
}

size_t rw_mcs_connect_initial(uint8_t *out, size_t cap, uint32_t methods,
                              uint32_t selected_protocol)
{
	static const uint32_t target[8] = {34, 2, 0, 1, 0, 1, 65535, 2};
	static const uint32_t minimum[8] = {1, 1, 1, 1, 0, 1, 1056, 2};
	static const uint32_t maximum[8] = {65535, 64535, 65535, 1, 0, 1, 65535, 2};
	const size_t blocks = CS_CORE_LEN + CS_SECURITY_LEN + CS_NET_LEN;
	/* T.124 ConnectData: key (choice + OID), connectPDU length, then
	 * ConferenceCreateRequest up to and with the user data length. */
	const size_t gcc = 1 + sizeof(t124_oid) + 2 + 12 + 2 + blocks;

	uint8_t domain[3][40];
	size_t domain_len[3];
	const uint32_t *sets[3] = {target, minimum, maximum};
	for (int i = 0; i < 3; i++) {
		struct wbuf d = {.p = domain[i], .cap = sizeof(domain[i])};
		put_domain_params(&d, sets[i]);
		domain_len[i] = d.n;
	}
	size_t body = 3 + 3 + 3 + domain_len[0] + domain_len[1] + domain_len[2] + 1 +
	              ber_len_size(gcc) + gcc;
	size_t total = RW_TPKT_HEADER_LEN + 3 + 2 + ber_len_size(body) + body;
	if (total > cap || total > 0xFFFF)
		return 0;

	struct wbuf w = {.p = out, .cap = cap};
	/* TPKT, X.224 Data TPDU (LI 2, DT, EOT) */
	put8(&w, 3);
	put8(&w, 0);
	put16be(&w, (unsigned)total);
	put8(&w, 2);
	put8(&w, RW_X224_DT);
	put8(&w, 0x80);
	/* T.125 Connect-Initial */
	put8(&w, 0x7f);
	put8(&w, BER_CONNECT_INITIAL);
	put_ber_len(&w, body);
	static const uint8_t selectors_flag[] = {
	        BER_OCTET_STRING, 1, 1,    /* callingDomainSelector */
	        BER_OCTET_STRING, 1, 1,    /* calledDomainSelector */
	        BER_BOOLEAN,      1, 0xff, /* upwardFlag TRUE */
	};
	put(&w, selectors_flag, sizeof(selectors_flag));
	for (int i = 0; i < 3; i++)
		put(&w, domain[i], domain_len[i]);
	put8(&w, BER_OCTET_STRING); /* userData */
	put_ber_len(&w, gcc);
	/* T.124 ConnectData */
	put8(&w, 0x00); /* key: object choice */
	put(&w, t124_oid, sizeof(t124_oid));
	put_per_len2(&w, gcc - 1 - sizeof(t124_oid) - 2); /* connectPDU */
	static const uint8_t ccr[] = {
	        0x00,       /* ConnectGCCPDU choice conferenceCreateRequest, no options */
	        0x08, 0x00, /* ... bitmask and conferenceName length */
	        0x10,       /* conferenceName "1" */
	        0x00,       /* lockedConference etc. FALSE */
	        0x01,       /* one UserData set */
	        0xc0,       /* value present, key choice h221NonStandard */
	        0x00,       /* key length 4 (minus the lower bound 4) */
	        'D',  'u',  'c', 'a',
	};
	_Static_assert(sizeof(ccr) == 12, "ConferenceCreateRequest up to the user data length");
	put(&w, ccr, sizeof(ccr));
	put_per_len2(&w, blocks);
	put_client_blocks(&w, methods, selected_protocol);
	if (w.overflow || w.n != total)
		return 0;
	return total;
}

/* ---- parser ------------------------------------------------------------ */

/* A structure being read: bytes [pos, end) belong to it, bytes [0, n) are
 * in the caller's buffer. Reading past end is a length error; reading past n
 * (within end) means the input stops inside the packet. */
struct cur {
	const uint8_t *p;
	size_t pos, end, n;
};

static int need(const struct cur *c, size_t k)
{
	if (k > c->end - c->pos)
		return RW_E_LENGTH;
	if (c->pos + k > c->n)
		return RW_E_NEED_MORE;
	return RW_OK;
}

static int get8(struct cur *c, uint8_t *v)
{
	int r = need(c, 1);
	if (r < 0)
		return r;
	*v = c->p[c->pos++];
	return RW_OK;
}

static int skip(struct cur *c, size_t k)
{
	int r = need(c, k);
	if (r < 0)
		return r;
	c->pos += k;
	return RW_OK;
}

/* A child structure of len bytes starting at c's position. */
static int sub(struct cur *c, size_t len, struct cur *child)
{
	if (len > c->end - c->pos)
		return RW_E_LENGTH;
	*child = *c;
	child->end = c->pos + len;
	return RW_OK;
}

#define TRY(x)                                                                                     \
	do {                                                                                       \
		int r_ = (x);                                                                      \
		if (r_ < 0)                                                                        \
			return r_;                                                                 \
	} while (0)

/* BER length: short form, or long form with 1 to 4 length bytes. */
static int ber_len(struct cur *c, size_t *len)
{
	uint8_t b;
	TRY(get8(c, &b));
	if (b < 0x80) {
		*len = b;
		return RW_OK;
	}
	unsigned k = b & 0x7f;
	if (k == 0 || k > 4) /* indefinite form, or longer than any TPKT */
		return RW_E_LENGTH;
	uint32_t v = 0;
	for (unsigned i = 0; i < k; i++) {
		TRY(get8(c, &b));
		v = v << 8 | b;
	}
	*len = v;
	return RW_OK;
}

/* A universal-class BER element with this tag: the contents as a child. */
static int ber_element(struct cur *c, uint8_t tag, struct cur *contents)
{
	uint8_t t;
	size_t len;
	TRY(get8(c, &t));
	if (t != tag)
		return RW_E_TYPE;
	TRY(ber_len(c, &len));
	TRY(sub(c, len, contents));
	return skip(c, len);
}

/* PER length (X.691 10.9, as T.124 uses it): one byte below 128, else two
 * bytes 10xxxxxx xxxxxxxx; fragmented lengths (11xxxxxx) do not occur here. */
static int per_len(struct cur *c, size_t *len)
{
	uint8_t a, b;
	TRY(get8(c, &a));
	if (!(a & 0x80)) {
		*len = a;
		return RW_OK;
	}
	if (a & 0x40)
		return RW_E_LENGTH;
	TRY(get8(c, &b));
	*len = (size_t)(a & 0x3f) << 8 | b;
	return RW_OK;
}

static int expect_bytes(struct cur *c, const uint8_t *want, size_t k, int err)
{
	TRY(need(c, k));
	if (memcmp(c->p + c->pos, want, k) != 0)
		return err;
	c->pos += k;
	return RW_OK;
}

static int sc_core(const uint8_t *b, size_t len, struct rw_mcs_connect_response *out)
{
	/* version, then optional clientRequestedProtocols, earlyCapabilityFlags */
	if (len < 4)
		return RW_E_LENGTH;
	out->has_sc_core = true;
	out->version = rw_le32(b);
	if (len >= 8) {
		out->has_client_requested = true;
		out->client_requested_protocols = rw_le32(b + 4);
	}
	return RW_OK;
}

static int sc_security(const uint8_t *b, size_t len, struct rw_mcs_connect_response *out)
{
	if (len < 8)
		return RW_E_LENGTH;
	uint32_t method = rw_le32(b), level = rw_le32(b + 4);
	if (!rw_encryption_method_name(method) || !rw_encryption_level_name(level))
		return RW_E_VALUE;
	out->has_sc_security = true;
	out->encryption_method = method;
	out->encryption_level = level;
	/* Method and level 0: the block ends here (2.2.1.4.3). Otherwise
	 * serverRandomLen, serverCertLen, serverRandom, serverCertificate. */
	if (len == 8)
		return RW_OK;
	if (len < 16)
		return RW_E_LENGTH;
	uint32_t rl = rw_le32(b + 8), cl = rw_le32(b + 12);
	if ((uint64_t)rl + cl > len - 16)
		return RW_E_LENGTH;
	out->server_random_len = rl;
	out->server_cert_len = cl;
	return RW_OK;
}

static int sc_net(const uint8_t *b, size_t len, struct rw_mcs_connect_response *out)
{
	/* MCSChannelId, channelCount, channelIdArray, Pad when the count is odd */
	if (len < 4)
		return RW_E_LENGTH;
	uint16_t count = rw_le16(b + 2);
	if (4 + 2 * (size_t)count > len)
		return RW_E_LENGTH;
	out->has_sc_net = true;
	out->io_channel = rw_le16(b);
	return RW_OK;
}

/* The server data blocks (2.2.1.4): TS_UD_HEADER type, length (header
 * included), each block bounded by its length and the user data. */
static int server_blocks(struct cur *c, struct rw_mcs_connect_response *out)
{
	while (c->pos < c->end) {
		TRY(need(c, 4));
		uint16_t type = rw_le16(c->p + c->pos);
		uint16_t len = rw_le16(c->p + c->pos + 2);
		if (len < 4)
			return RW_E_LENGTH;
		TRY(need(c, len));
		const uint8_t *b = c->p + c->pos + 4;
		size_t bl = (size_t)len - 4;
		switch (type) {
		case SC_CORE:
			if (out->has_sc_core)
				return RW_E_VALUE;
			TRY(sc_core(b, bl, out));
			break;
		case SC_SECURITY:
			if (out->has_sc_security)
				return RW_E_VALUE;
			TRY(sc_security(b, bl, out));
			break;
		case SC_NET:
			if (out->has_sc_net)
				return RW_E_VALUE;
			TRY(sc_net(b, bl, out));
			break;
		default: /* SC_MCS_MSGCHANNEL, SC_MULTITRANSPORT, ... */
			break;
		}
		c->pos += len;
	}
	return RW_OK;
}

/* T.124 ConnectData with a ConferenceCreateResponse (2.2.1.4): key t124,
 * connectPDU length, choice, nodeID, tag, result, one user data set keyed
 * h221NonStandard "McDn", its length, the server data blocks. */
static int gcc_response(struct cur *c, struct rw_mcs_connect_response *out)
{
	uint8_t b;
	size_t len;
	TRY(get8(c, &b));
	if (b != 0x00) /* key: object */
		return RW_E_TYPE;
	TRY(expect_bytes(c, t124_oid, sizeof(t124_oid), RW_E_VALUE));
	/* connectPDU length: Windows and xrdp always write 0x2a here whatever
	 * the real length (so does the spec's example, 4.1.4): read, not used. */
	TRY(per_len(c, &len));
	TRY(get8(c, &b));
	if (b != 0x14) /* ConnectGCCPDU choice conferenceCreateResponse */
		return RW_E_TYPE;
	TRY(skip(c, 2));  /* nodeID */
	TRY(get8(c, &b)); /* tag: INTEGER, length byte then value */
	if (b < 1 || b > 4)
		return RW_E_LENGTH;
	TRY(skip(c, b));
	TRY(skip(c, 1));  /* result (ENUMERATED) */
	TRY(get8(c, &b)); /* number of UserData sets */
	if (b < 1)
		return RW_E_VALUE;
	TRY(get8(c, &b)); /* value present, key choice h221NonStandard */
	if (b != 0xc0)
		return RW_E_TYPE;
	TRY(get8(c, &b)); /* H.221 key length - 4 */
	if (b != 0)
		return RW_E_VALUE;
	TRY(expect_bytes(c, h221_server_key, sizeof(h221_server_key), RW_E_VALUE));
	TRY(per_len(c, &len));
	/* The blocks fill the rest of the BER user data exactly. */
	if (len > c->end - c->pos)
		return RW_E_LENGTH;
	if (len < c->end - c->pos)
		return RW_E_TRAILING;
	return server_blocks(c, out);
}

/* TPKT header of a prefix: a packet length, or NEED_MORE when the bytes that
 * are there could still start one. */
static int tpkt(const uint8_t *p, size_t n)
{
	if (n >= RW_TPKT_HEADER_LEN)
		return rw_tpkt_length(p, n);
	if ((n >= 1 && p[0] != 3))
		return RW_E_VERSION;
	if (n >= 2 && p[1] != 0)
		return RW_E_VALUE;
	return RW_E_NEED_MORE;
}

int rw_mcs_connect_response_parse(const uint8_t *p, size_t n, struct rw_mcs_connect_response *out)
{
	memset(out, 0, sizeof(*out));
	int tl = tpkt(p, n);
	if (tl < 0)
		return tl;
	struct cur c = {.p = p, .pos = RW_TPKT_HEADER_LEN, .end = (size_t)tl, .n = n};
	uint8_t b;
	/* X.224 Data TPDU: LI 2, code DT, EOT */
	TRY(get8(&c, &b));
	if (b != 2)
		return RW_E_LENGTH;
	TRY(get8(&c, &b));
	if (b != RW_X224_DT)
		return RW_E_TYPE;
	TRY(get8(&c, &b));
	if (!(b & 0x80)) /* a fragment: one MCS PDU spread over several TPDUs */
		return RW_E_VALUE;
	/* T.125 Connect-Response [APPLICATION 102] */
	TRY(get8(&c, &b));
	if (b != 0x7f)
		return RW_E_TYPE;
	TRY(get8(&c, &b));
	if (b != BER_CONNECT_RESPONSE)
		return RW_E_TYPE;
	size_t len;
	TRY(ber_len(&c, &len));
	struct cur cr;
	TRY(sub(&c, len, &cr));
	struct cur e;
	TRY(ber_element(&cr, BER_ENUMERATED, &e)); /* result */
	if (e.end - e.pos != 1)
		return RW_E_LENGTH;
	TRY(get8(&e, &out->result));
	TRY(ber_element(&cr, BER_INTEGER, &e)); /* calledConnectId */
	if (e.end == e.pos || e.end - e.pos > 4)
		return RW_E_LENGTH;
	TRY(ber_element(&cr, BER_SEQUENCE, &e));     /* domainParameters */
	TRY(ber_element(&cr, BER_OCTET_STRING, &e)); /* userData */
	/* A refusal may come with empty user data. */
	if (!(out->result != 0 && e.end == e.pos))
		TRY(gcc_response(&e, out));
	/* Nothing after the userData in Connect-Response, nor after it in TPKT. */
	if (cr.pos != cr.end || cr.end != c.end)
		return RW_E_TRAILING;
	return tl;
}

const char *rw_encryption_method_name(uint32_t m)
{
	switch (m) {
	case RW_ENC_NONE:
		return "none";
	case RW_ENC_40BIT:
		return "40bit";
	case RW_ENC_56BIT:
		return "56bit";
	case RW_ENC_128BIT:
		return "128bit";
	case RW_ENC_FIPS:
		return "fips";
	}
	return NULL;
}

const char *rw_encryption_level_name(uint32_t l)
{
	static const char *const t[] = {"none", "low", "client_compatible", "high", "fips"};
	return l < sizeof(t) / sizeof(t[0]) ? t[l] : NULL;
}
