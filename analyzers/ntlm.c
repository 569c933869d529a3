/* NTLM NEGOTIATE_MESSAGE and CHALLENGE_MESSAGE (MS-NLMP 2.2.1.1, 2.2.1.2,
 * 2.2.2.1 AV_PAIR, 2.2.2.5 NEGOTIATE flags, 2.2.2.10 VERSION). The challenge
 * is what tells rdpwhy the host's names and its clock (MsvAvTimestamp). */
#include "ntlm.h"

#include <limits.h>
#include <string.h>

#include "rw_types.h"

#define NEGOTIATE_UNICODE                  0x00000001u
#define NEGOTIATE_OEM                      0x00000002u
#define REQUEST_TARGET                     0x00000004u
#define NEGOTIATE_SIGN                     0x00000010u
#define NEGOTIATE_SEAL                     0x00000020u
#define NEGOTIATE_NTLM                     0x00000200u
#define NEGOTIATE_ALWAYS_SIGN              0x00008000u
#define NEGOTIATE_EXTENDED_SESSIONSECURITY 0x00080000u
#define NEGOTIATE_VERSION                  0x02000000u
#define NEGOTIATE_128                      0x20000000u
#define NEGOTIATE_KEY_EXCH                 0x40000000u
#define NEGOTIATE_56                       0x80000000u

#define MSG_NEGOTIATE 1
#define MSG_CHALLENGE 2

#define NEGOTIATE_LEN       40 /* header 32 + VERSION 8, empty payload */
#define CHALLENGE_FIXED     48 /* up to and including TargetInfoFields */
#define CHALLENGE_VERSIONED 56 /* ... and VERSION */

#define AV_EOL          0
#define AV_NB_COMPUTER  1
#define AV_NB_DOMAIN    2
#define AV_DNS_COMPUTER 3
#define AV_DNS_DOMAIN   4
#define AV_DNS_TREE     5
#define AV_TIMESTAMP    7

/* 1970-01-01 as a FILETIME (100 ns ticks since 1601-01-01). */
#define FILETIME_UNIX_EPOCH 116444736000000000ull

static const uint8_t signature[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

size_t rw_ntlm_negotiate(uint8_t *out, size_t cap)
{
	if (cap < NEGOTIATE_LEN)
		return 0;
	uint32_t flags = NEGOTIATE_UNICODE | NEGOTIATE_OEM | REQUEST_TARGET | NEGOTIATE_NTLM |
	                 NEGOTIATE_ALWAYS_SIGN | NEGOTIATE_EXTENDED_SESSIONSECURITY |
	                 NEGOTIATE_VERSION | NEGOTIATE_128 | NEGOTIATE_56 | NEGOTIATE_KEY_EXCH |
	                 NEGOTIATE_SIGN | NEGOTIATE_SEAL;
	memset(out, 0, NEGOTIATE_LEN);
	memcpy(out, signature, sizeof(signature));
	put_le32(out + 8, MSG_NEGOTIATE);
	put_le32(out + 12, flags);
	/* Empty DomainName and Workstation: length 0, but the offset says where
	 * they would start, as 2.2.1.1 asks (some servers check it). */
	put_le32(out + 20, NEGOTIATE_LEN);
	put_le32(out + 28, NEGOTIATE_LEN);
	/* VERSION is for debugging only (2.2.2.10); 6.1.7601 is what FreeRDP
	 * clients on Linux send, so the probe looks like a client hosts already
	 * see rather than claiming a Windows build it is not. */
	out[32] = 6;
	out[33] = 1;
	put_le16(out + 34, 7601);
	out[39] = 0x0F; /* NTLMSSP_REVISION_W2K3 */
	return NEGOTIATE_LEN;
}

int64_t rw_filetime_to_unix_us(uint64_t filetime)
{
	/* Floor division, so that times before 1970 round the same way as after. */
	if (filetime >= FILETIME_UNIX_EPOCH)
		return (int64_t)((filetime - FILETIME_UNIX_EPOCH) / 10);
	return -(int64_t)((FILETIME_UNIX_EPOCH - filetime + 9) / 10);
}

static size_t utf8_put(uint32_t cp, uint8_t b[4])
{
	if (cp < 0x80) {
		b[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (uint8_t)(0xC0 | cp >> 6);
		b[1] = (uint8_t)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (uint8_t)(0xE0 | cp >> 12);
		b[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
		b[2] = (uint8_t)(0x80 | (cp & 0x3F));
		return 3;
	}
	b[0] = (uint8_t)(0xF0 | cp >> 18);
	b[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
	b[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
	b[3] = (uint8_t)(0x80 | (cp & 0x3F));
	return 4;
}

#define REPLACEMENT 0xFFFDu

/* Next code point of a UTF-16LE string at p[*i..n). A lone surrogate, an odd
 * last byte and U+0000 become U+FFFD: the name is shown to people and goes
 * into JSON, where a NUL would silently end it. */
static uint32_t utf16_next(const uint8_t *p, size_t n, size_t *i)
{
	if (n - *i < 2) {
		*i = n;
		return REPLACEMENT;
	}
	uint32_t u = rw_le16(p + *i);
	*i += 2;
	if (u >= 0xD800 && u < 0xDC00) {
		if (n - *i >= 2) {
			uint32_t v = rw_le16(p + *i);
			if (v >= 0xDC00 && v < 0xE000) {
				*i += 2;
				return 0x10000 + ((u - 0xD800) << 10) + (v - 0xDC00);
			}
		}
		return REPLACEMENT;
	}
	if ((u >= 0xDC00 && u < 0xE000) || u == 0)
		return REPLACEMENT;
	return u;
}

/* OEM strings are in the host's code page, which the wire does not name:
 * keep ASCII, replace the rest rather than guess. */
static uint32_t oem_next(const uint8_t *p, size_t n, size_t *i)
{
	(void)n;
	uint8_t c = p[(*i)++];
	return c == 0 || c >= 0x80 ? REPLACEMENT : c;
}

/* Converts to NUL-terminated UTF-8 in out[RW_NTLM_NAME_MAX], stopping before
 * a character that does not fit whole. Returns true when it was cut. */
static bool name_to_utf8(const uint8_t *p, size_t n, bool unicode, char *out)
{
	size_t k = 0, i = 0;
	bool cut = false;
	while (i < n) {
		uint32_t cp = unicode ? utf16_next(p, n, &i) : oem_next(p, n, &i);
		uint8_t b[4];
		size_t len = utf8_put(cp, b);
		if (len > RW_NTLM_NAME_MAX - 1 - k) {
			cut = true;
			break;
		}
		memcpy(out + k, b, len);
		k += len;
	}
	out[k] = 0;
	return cut;
}

/* A Len/MaxLen/BufferOffset triple at p[at]. Empty fields are not looked at,
 * whatever their offset: Windows leaves stale offsets in them. */
static int payload_field(const uint8_t *p, size_t n, size_t at, const uint8_t **f, size_t *len,
                         size_t *lowest)
{
	size_t l = rw_le16(p + at);
	size_t off = rw_le32(p + at + 4);
	*f = NULL;
	*len = 0;
	if (l == 0)
		return RW_OK;
	/* Payload overlapping the fixed fields is not a payload. */
	if (off < CHALLENGE_FIXED || off > n || l > n - off)
		return RW_E_LENGTH;
	*f = p + off;
	*len = l;
	if (off < *lowest)
		*lowest = off;
	return RW_OK;
}

static int parse_av_pairs(const uint8_t *p, size_t n, struct rw_ntlm_challenge *out)
{
	char *names[] = {
	        NULL,         out->nb_computer, out->nb_domain, out->dns_computer, out->dns_domain,
	        out->dns_tree};
	size_t off = 0;
	for (;;) {
		/* The list must end with MsvAvEOL: without it the rest of the
		 * buffer cannot be told from pairs. */
		if (n - off < 4)
			return RW_E_VALUE;
		uint16_t id = rw_le16(p + off);
		size_t len = rw_le16(p + off + 2);
		off += 4;
		if (len > n - off)
			return RW_E_VALUE;
		const uint8_t *v = p + off;
		off += len;
		switch (id) {
		case AV_EOL:
			return len == 0 ? RW_OK : RW_E_VALUE;
		case AV_NB_COMPUTER:
		case AV_NB_DOMAIN:
		case AV_DNS_COMPUTER:
		case AV_DNS_DOMAIN:
		case AV_DNS_TREE:
			if (name_to_utf8(v, len, true, names[id]))
				out->names_cut = true;
			break;
		case AV_TIMESTAMP:
			if (len != 8)
				return RW_E_VALUE;
			out->has_timestamp = true;
			out->timestamp = (uint64_t)rw_le32(v) | (uint64_t)rw_le32(v + 4) << 32;
			break;
		default:
			/* Flags, single host, target name, channel bindings and
			 * ids of later versions: not needed for a diagnosis. */
			break;
		}
	}
}

int rw_ntlm_challenge_parse(const uint8_t *p, size_t n, struct rw_ntlm_challenge *out)
{
	memset(out, 0, sizeof(*out));
	if (n > 0 && memcmp(p, signature, n < sizeof(signature) ? n : sizeof(signature)) != 0)
		return RW_E_TYPE;
	if (n < 12)
		return RW_E_LENGTH;
	if (rw_le32(p + 8) != MSG_CHALLENGE)
		return RW_E_TYPE;
	if (n < CHALLENGE_FIXED)
		return RW_E_LENGTH;
	if (n > INT_MAX)
		return RW_E_LENGTH;
	out->flags = rw_le32(p + 20);
	memcpy(out->server_challenge, p + 24, sizeof(out->server_challenge));

	const uint8_t *name, *info;
	size_t name_len, info_len, lowest = n;
	int r = payload_field(p, n, 12, &name, &name_len, &lowest);
	if (r < 0)
		return r;
	r = payload_field(p, n, 40, &info, &info_len, &lowest);
	if (r < 0)
		return r;
	/* Version 5 servers (and some embedded stacks) end the header at 48
	 * and start the payload there: only trust VERSION when it is clear of
	 * the payload. */
	if ((out->flags & NEGOTIATE_VERSION) && n >= CHALLENGE_VERSIONED &&
	    lowest >= CHALLENGE_VERSIONED) {
		out->has_version = true;
		out->os_major = p[48];
		out->os_minor = p[49];
		out->os_build = rw_le16(p + 50);
		out->ntlm_revision = p[55];
	}
	if (name &&
	    name_to_utf8(name, name_len, (out->flags & NEGOTIATE_UNICODE) != 0, out->target_name))
		out->names_cut = true;
	if (info) {
		r = parse_av_pairs(info, info_len, out);
		if (r < 0)
			return r;
	}
	return (int)n;
}
