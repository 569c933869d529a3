/* The spool's on-disk format. See spool_seg.h. */
#include "spool_seg.h"

#include <string.h>

/* Four bits at a time: a table small enough to write out (no
 * initialisation, so no race between threads) and fast enough for the
 * spool (hundreds of MB/s against a few MB/s of records). */
static const uint32_t crc_nibble[16] = {
        0x00000000, 0x1DB71064, 0x3B6E20C8, 0x26D930AC, 0x76DC4190, 0x6B6B51F4,
        0x4DB26158, 0x5005713C, 0xEDB88320, 0xF00F9344, 0xD6D6A3E8, 0xCB61B38C,
        0x9B64C2B0, 0x86D3D2D4, 0xA00AE278, 0xBDBDF21C,
};

uint32_t rw_crc32(uint32_t crc, const void *p, size_t n)
{
	const uint8_t *b = p;
	crc = ~crc;
	while (n--) {
		crc = crc_nibble[(crc ^ *b) & 0xF] ^ (crc >> 4);
		crc = crc_nibble[(crc ^ (*b++ >> 4)) & 0xF] ^ (crc >> 4);
	}
	return ~crc;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* Over len and seq (the header without its crc field), then the payload. */
static uint32_t record_crc(const uint8_t hdr[RW_SEG_HDR], const void *payload, uint32_t len)
{
	uint32_t c = rw_crc32(0, hdr, 4);
	c = rw_crc32(c, hdr + 8, 8);
	return rw_crc32(c, payload, len);
}

void rw_seg_header(uint8_t out[RW_SEG_HDR], uint64_t seq, const void *p, uint32_t len)
{
	put32(out, len);
	put64(out + 8, seq);
	put32(out + 4, record_crc(out, p, len));
}

int rw_seg_record(const uint8_t *p, size_t n, uint64_t prev_seq, struct rw_seg_rec *r)
{
	if (n < RW_SEG_HDR)
		return 0;
	uint32_t len = get32(p);
	uint64_t seq = get64(p + 8);
	if (len > RW_SEG_RECORD_MAX || len > n - RW_SEG_HDR || seq == 0 || seq <= prev_seq)
		return 0;
	if (record_crc(p, p + RW_SEG_HDR, len) != get32(p + 4))
		return 0;
	*r = (struct rw_seg_rec){seq, 0, len};
	return 1;
}

size_t rw_seg_parse(const uint8_t *p, size_t n, rw_seg_cb cb, void *arg, uint64_t *records)
{
	*records = 0;
	if (n < RW_SEG_MAGIC_LEN || memcmp(p, RW_SEG_MAGIC, RW_SEG_MAGIC_LEN) != 0)
		return 0;
	size_t off = RW_SEG_MAGIC_LEN;
	uint64_t prev = 0;
	struct rw_seg_rec r;
	while (off < n && rw_seg_record(p + off, n - off, prev, &r)) {
		r.off = off;
		(*records)++;
		off += RW_SEG_HDR + (size_t)r.len;
		prev = r.seq;
		if (cb && !cb(&r, arg))
			break;
	}
	return off;
}

void rw_ack_encode(uint8_t out[RW_ACK_LEN], uint64_t seq)
{
	memcpy(out, RW_ACK_MAGIC, 8);
	put64(out + 8, seq);
	put32(out + 16, rw_crc32(0, out, 16));
}

bool rw_ack_decode(const uint8_t *p, size_t n, uint64_t *seq)
{
	if (n != RW_ACK_LEN || memcmp(p, RW_ACK_MAGIC, 8) != 0 ||
	    get32(p + 16) != rw_crc32(0, p, 16))
		return false;
	*seq = get64(p + 8);
	return true;
}
