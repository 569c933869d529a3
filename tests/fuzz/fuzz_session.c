/* The whole analyzer: one rw_session driven by flow events, then the verdict
 * and both record formatters (analyzers/session.c, verdict.c, every decoder,
 * output/record_json.c, record_text.c, json.c).
 *
 * Input: a 16-byte header, then a script of events.
 *
 * Header:
 *   0      config: bits 0-2 max_handshake_msg selector; bit 3 now_override
 *          set; bit 4 data becomes rw_session_count once the session stops
 *          inspecting; bit 5 split check (below); bit 6 proxy facts; bit 7
 *          original destination
 *   1      bits 0-1 client address family (2, 10, 0, 99), bits 2-3 server's
 *   2..9   timestamp of the open event (us, little-endian)
 *   10..13 now_override (seconds)
 *   14     formatter selector (host name, output limit)
 *   15     split pattern for the split check
 *
 * Event: one op byte = [dt:4][kind:3][dir:1], time advancing by 4^dt - 1 us
 * (dt 0: same time, 15: about 18 minutes), then the kind's arguments:
 *   0 data, length u8            1 data, length u16 LE
 *   2 FIN                        3 RST, ttl u8 (255 = unknown)
 *   4 timeout                    5 gap, missing u16
 *   6 SYN (dir 0) / SYN-ACK      7 misc: sub u8, then per sub:
 *       0 connect_failed(kind u8)   1 ttl(dir, u8)   2 tcp_stats(dir, 9 bytes)
 *       3 count(dir, u16)           4 gap(dir, u64)  5 nothing (phase query)
 * Data lengths are cut to what the input holds; each data event is an
 * exact-size heap copy.
 *
 * Split check (header bit 5): the script runs a second time with every data
 * event delivered in several pieces at the same timestamp; session.h says
 * "Bytes may be split anywhere; the result does not depend on the split",
 * so the two JSON records must be identical. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "record.h"
#include "rw_types.h"
#include "session.h"
#include "x224.h"

#define HEADER_LEN 16

static const size_t max_msg_tab[8] = {0, 1, 16, 100, 1000, 4096, 65536, 1 << 24};
static const int family_tab[4] = {2, 10, 0, 99};

static void endpoint(struct rw_endpoint *ep, int family, uint8_t last, uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = family;
	if (family == 10) {
		static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8};
		memcpy(ep->addr, v6, 16);
		ep->addr[15] = last;
	} else {
		ep->addr[0] = 192;
		ep->addr[1] = 0;
		ep->addr[2] = 2;
		ep->addr[3] = last;
	}
	ep->port = port;
}

struct split {
	bool on;
	uint8_t pat;
	unsigned i;
};

static size_t piece(struct split *sp)
{
	/* 1..8 bytes, from the pattern bits in turn. */
	unsigned shift = (sp->i++ % 3) * 3;
	return 1 + ((sp->pat >> shift) & 7);
}

static void deliver(struct rw_session *s, enum rw_dir dir, uint64_t ts, const uint8_t *p, size_t n,
                    bool count, struct split *sp)
{
	size_t off = 0;
	while (off < n) {
		size_t k = sp->on ? piece(sp) : n;
		if (k > n - off)
			k = n - off;
		if (count) {
			rw_session_count(s, dir, ts, k);
		} else {
			uint8_t *c = fuzz_dup(p + off, k);
			rw_session_data(s, dir, ts, c, k);
			free(c);
		}
		off += k;
	}
}

static void check_phase(struct rw_session *s, enum rw_phase *last)
{
	enum rw_phase ph = rw_session_phase(s);
	FUZZ_CHECK((unsigned)ph < RW_PHASE_COUNT);
	FUZZ_CHECK(ph >= *last); /* phases only move forward */
	FUZZ_CHECK(rw_session_inspecting(s) == (ph < RW_PHASE_RDP));
	*last = ph;
}

struct result {
	uint64_t hash; /* of the JSON line */
};

static void run(const uint8_t *data, size_t size, bool split, struct result *res)
{
	struct fuzz_in in = {data, size};
	uint8_t cfgb = fuzz_u8(&in);
	uint8_t fam = fuzz_u8(&in);
	uint64_t ts = fuzz_u64(&in);
	uint32_t now = fuzz_u32(&in);
	uint8_t fmt = fuzz_u8(&in);
	struct split sp = {.on = split, .pat = fuzz_u8(&in)};

	struct rw_session_config cfg = {.max_handshake_msg = max_msg_tab[cfgb & 7],
	                                .now_override = (cfgb & 8) ? (int64_t)now : 0};
	struct rw_session *s = rw_session_new(&cfg);
	FUZZ_CHECK(s != NULL);
	struct rw_endpoint cli, srv;
	endpoint(&cli, family_tab[fam & 3], 1, 50000);
	endpoint(&srv, family_tab[(fam >> 2) & 3], 2, 3389);
	rw_session_open(s, ts, &cli, &srv);
	enum rw_phase last = rw_session_phase(s);

	while (in.n > 0) {
		uint8_t op = fuzz_u8(&in);
		enum rw_dir dir = (enum rw_dir)(op & 1);
		unsigned kind = (op >> 1) & 7;
		unsigned dt = op >> 4;
		ts += (1ull << (2 * dt)) - 1;
		switch (kind) {
		case 0:
		case 1: {
			size_t want = kind == 0 ? fuzz_u8(&in) : fuzz_u16(&in), got;
			const uint8_t *p = fuzz_bytes(&in, want, &got);
			bool count = (cfgb & 16) && !rw_session_inspecting(s);
			deliver(s, dir, ts, p, got, count, &sp);
			break;
		}
		case 2:
			rw_session_fin(s, dir, ts);
			break;
		case 3: {
			uint8_t ttl = fuzz_u8(&in);
			rw_session_rst(s, dir, ts, ttl == 255 ? -1 : ttl);
			break;
		}
		case 4:
			rw_session_timeout(s, ts);
			break;
		case 5:
			rw_session_gap(s, dir, ts, fuzz_u16(&in));
			break;
		case 6:
			rw_session_syn(s, dir, ts);
			break;
		default: {
			uint8_t sub = fuzz_u8(&in);
			switch (sub % 6) {
			case 0: {
				static const enum rw_close_kind k[3] = {
				        RW_CLOSE_REFUSED, RW_CLOSE_UNREACHABLE, RW_CLOSE_TIMEOUT};
				rw_session_connect_failed(s, ts, k[fuzz_u8(&in) % 3]);
				break;
			}
			case 1:
				rw_session_ttl(s, dir, fuzz_u8(&in));
				break;
			case 2: {
				struct rw_tcp_stats st = {0};
				st.packets = fuzz_u8(&in);
				st.retransmits = fuzz_u8(&in);
				st.large_unacked_retransmits = fuzz_u8(&in);
				st.max_segment = fuzz_u16(&in);
				st.gaps = fuzz_u8(&in);
				st.gap_bytes = fuzz_u16(&in);
				fuzz_u8(&in);
				rw_session_tcp_stats(s, dir, &st);
				break;
			}
			case 3: {
				size_t n = fuzz_u16(&in);
				deliver(s, dir, ts, NULL, n, true, &sp);
				break;
			}
			case 4:
				rw_session_gap(s, dir, ts, fuzz_u64(&in));
				break;
			default:
				break;
			}
			break;
		}
		}
		check_phase(s, &last);
	}

	/* Facts the front end adds, before the verdict is decided. */
	struct rw_record *rec = rw_session_record(s);
	FUZZ_CHECK(rec != NULL);
	rec->id = ts;
	if (cfgb & 64) {
		rec->proxy = true;
		rec->proxy_connect_ms = now;
	}
	if (cfgb & 128) {
		rec->has_original_dst = true;
		endpoint(&rec->original_dst, family_tab[(fam >> 4) & 3], 3, (uint16_t)now);
	}
	rw_session_close(s, ts);
	check_phase(s, &last);
	FUZZ_CHECK(rw_session_record(s) == rec);
	FUZZ_CHECK(rec->ts_close_us >= rec->ts_open_us);
	/* Marks name the stream offset of the read that carried a fact (the
	 * proxy's packet, rdpwhy.evidence_at): within what this side sent, and
	 * by design the one thing that depends on how the data was split; the
	 * rest of the record must not. */
	FUZZ_CHECK(rec->n_marks <= RW_MAX_MARKS);
	for (size_t i = 0; i < rec->n_marks; i++) {
		FUZZ_CHECK(rec->marks[i].dir <= RW_S2C);
		FUZZ_CHECK(rec->marks[i].offset <= rec->bytes[rec->marks[i].dir]);
		rec->marks[i].offset = 0;
	}
	res->hash = fuzz_check_record(rec, fmt | (uint32_t)now << 8);
	rw_session_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct result whole, split;
	run(data, size, false, &whole);
	if (size > 0 && (data[0] & 32)) {
		run(data, size, true, &split);
		if (split.hash != whole.hash) {
			fprintf(stderr, "the record differs when data events are split\n");
			FUZZ_CHECK(split.hash == whole.hash);
		}
	}
	return 0;
}
