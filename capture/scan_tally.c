#include "scan_tally.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

/* Distinct addresses, estimated by linear counting over a 256-bit map: a few
 * bytes per tally, exact enough (±5 %) up to about a thousand. */
#define DISTINCT_BITS 256

struct slot {
	bool by_target; /* key is the target (many sources), else the source */
	uint8_t family;
	uint8_t addr[16];
	uint64_t window_start, first_ts, last_ts;
	uint32_t individual;               /* reported one by one in this window */
	uint32_t counts[4];                /* by enum rw_attempt */
	uint32_t ports;                    /* bit per listed-port index */
	struct rw_endpoint client, server; /* the first of the window */
	uint8_t others[DISTINCT_BITS / 8]; /* the other side's addresses */
};

struct rw_scan_tally {
	void (*emit)(struct rw_record *rec, void *arg);
	void *arg;
	uint64_t window_start; /* the global window */
	uint32_t individual;   /* reported one by one in it, all sources */
	uint64_t counted, records;
	uint32_t n_used; /* slots ever used since the last reset: none, nothing to flush */
	/* No slot's window ends before this: until then a flush has nothing to
	 * do, and the slots in use are walked about once a window rather than
	 * every second of capture. */
	uint64_t due;
	/* Which slots are in use, a bit each: a probe and a flush skip the
	 * others without touching them, so that the pages of a table that
	 * mostly stays empty are never faulted in (each fresh page costs more
	 * than the walk). */
	uint64_t used[RW_SCAN_SLOTS / 64];
	struct slot slots[RW_SCAN_SLOTS];
};

static bool slot_used(const struct rw_scan_tally *t, uint32_t i)
{
	return t->used[i / 64] >> (i % 64) & 1u;
}

struct rw_scan_tally *rw_scan_tally_new(void (*emit)(struct rw_record *rec, void *arg), void *arg)
{
	struct rw_scan_tally *t = calloc(1, sizeof(*t));
	if (t) {
		t->emit = emit;
		t->arg = arg;
		t->due = UINT64_MAX;
	}
	return t;
}

void rw_scan_tally_free(struct rw_scan_tally *t)
{
	free(t);
}

static uint32_t hash_addr(bool by_target, const struct rw_endpoint *e)
{
	uint32_t h = 2166136261u ^ (by_target ? 0x9e3779b9u : 0);
	for (int i = 0; i < 16; i++) {
		h ^= e->addr[i];
		h *= 16777619u;
	}
	return h ^ (uint32_t)e->family;
}

static unsigned distinct(const uint8_t *bits)
{
	unsigned zero = 0;
	for (unsigned i = 0; i < DISTINCT_BITS; i++)
		zero += !(bits[i / 8] & (1u << (i % 8)));
	if (zero == 0)
		return 1000; /* saturated: "about a thousand or more" */
	return (unsigned)lround(-(double)DISTINCT_BITS * log((double)zero / DISTINCT_BITS));
}

static void ip_text(const struct rw_endpoint *e, char *out, size_t cap)
{
	if (e->family == 2)
		snprintf(out, cap, "%u.%u.%u.%u", e->addr[0], e->addr[1], e->addr[2], e->addr[3]);
	else /* compact enough for evidence; the record's fields have the full form */
		snprintf(out, cap, "%x:%x:..:%x", e->addr[0] << 8 | e->addr[1],
		         e->addr[2] << 8 | e->addr[3], e->addr[14] << 8 | e->addr[15]);
}

static void emit_slot(struct rw_scan_tally *t, struct slot *s)
{
	uint32_t total = s->counts[0] + s->counts[1] + s->counts[2] + s->counts[3];
	if (total == 0)
		return;
	struct rw_record rec;
	memset(&rec, 0, sizeof(rec));
	rec.ts_open_us = s->first_ts;
	rec.ts_close_us = s->last_ts;
	rec.client = s->client;
	rec.server = s->server;
	rec.client.port = 0; /* many ports: none of them is the record's */
	if (s->by_target)
		memset(rec.client.addr, 0, sizeof(rec.client.addr));
	rec.rst_ttl[0] = rec.rst_ttl[1] = -1;
	rec.ttl_lo[0] = rec.ttl_lo[1] = rec.ttl_hi[0] = rec.ttl_hi[1] = -1;
	rec.syn_ttl[0] = rec.syn_ttl[1] = -1;
	rec.end_reason = RW_END_INPUT;
	rec.scan.on = true;
	rec.scan.by_target = s->by_target;
	rec.scan.attempts = total;
	rec.scan.refused = s->counts[RW_ATTEMPT_REFUSED];
	rec.scan.unanswered = s->counts[RW_ATTEMPT_UNANSWERED];
	rec.scan.half_open = s->counts[RW_ATTEMPT_HALF_OPEN];
	rec.scan.client_reset = s->counts[RW_ATTEMPT_CLIENT_RST];
	rec.scan.others = distinct(s->others);
	rec.scan.ports = (uint32_t)__builtin_popcount(s->ports);
	struct rw_verdict *v = &rec.verdict;
	v->cause = RW_CAUSE_SCAN_OR_FLOOD;
	v->closed_by = RW_SIDE_NONE;
	v->close_kind = RW_CLOSE_NONE;
	v->phase = RW_PHASE_TCP_CONNECT;
	v->confidence = RW_CONFIDENCE_MEDIUM;
	v->remediation = rw_cause_remediation(RW_CAUSE_SCAN_OR_FLOOD);
	char who[64];
	ip_text(s->by_target ? &s->server : &s->client, who, sizeof(who));
	unsigned secs = (unsigned)((s->last_ts - s->first_ts) / 1000000);
	snprintf(v->evidence[v->n_evidence++], RW_EVIDENCE_LEN,
	         s->by_target ? "%u connection attempts to %s from about %u sources in %u s, none "
	                        "of them became a connection"
	                      : "%u connection attempts from %s to about %u hosts in %u s, none of "
	                        "them became a connection",
	         total, who, rec.scan.others, secs);
	snprintf(v->evidence[v->n_evidence++], RW_EVIDENCE_LEN,
	         "refused (RST to the SYN) %u, never answered %u, answered then abandoned %u, "
	         "answered then reset by the client %u",
	         rec.scan.refused, rec.scan.unanswered, rec.scan.half_open, rec.scan.client_reset);
	snprintf(v->evidence[v->n_evidence++], RW_EVIDENCE_LEN,
	         "the first %d attempts of a source in each minute were reported one by one",
	         RW_SCAN_INDIVIDUAL_PER_SOURCE);
	/* A SYN scan resets what answered; a flood of spoofed sources leaves
	 * SYN-ACKs unanswered; a host that refuses everything is closed, not
	 * attacked. */
	v->n_alternatives = 1;
	v->alternatives[0] = RW_CAUSE_UPSTREAM_REFUSED;
	v->tell_apart = "a monitoring system or load-balancer health check also opens and "
	                "abandons connections: check the source; attempts refused by a host "
	                "that is down are upstream_refused";
	t->records++;
	t->emit(&rec, t->arg);
}

static void reset_slot(struct slot *s, uint64_t ts)
{
	memset(s->counts, 0, sizeof(s->counts));
	memset(s->others, 0, sizeof(s->others));
	s->ports = 0;
	s->individual = 0;
	s->window_start = s->first_ts = s->last_ts = ts;
}

/* The key's slot; a new one when insert (NULL when not found and not insert). */
static struct slot *find(struct rw_scan_tally *t, bool by_target, const struct rw_endpoint *key,
                         uint64_t ts, bool insert)
{
	uint32_t h = hash_addr(by_target, key);
	for (uint32_t i = 0; i < RW_SCAN_SLOTS; i++) {
		uint32_t k = (h + i) % RW_SCAN_SLOTS;
		struct slot *s = &t->slots[k];
		if (!slot_used(t, k)) {
			if (!insert)
				return NULL;
			memset(s, 0, sizeof(*s));
			t->used[k / 64] |= (uint64_t)1 << (k % 64);
			t->n_used++;
			s->by_target = by_target;
			s->family = (uint8_t)key->family;
			memcpy(s->addr, key->addr, 16);
			reset_slot(s, ts);
			if (ts + RW_SCAN_WINDOW_US < t->due)
				t->due = ts + RW_SCAN_WINDOW_US;
			return s;
		}
		if (s->by_target == by_target && s->family == key->family &&
		    !memcmp(s->addr, key->addr, 16))
			return s;
	}
	/* Full: report everything so far and start over (bounded memory). */
	if (!insert)
		return NULL;
	rw_scan_tally_flush(t, UINT64_MAX);
	memset(t->used, 0, sizeof(t->used));
	t->n_used = 0;
	t->due = UINT64_MAX;
	return find(t, by_target, key, ts, true);
}

static void roll(struct rw_scan_tally *t, struct slot *s, uint64_t ts)
{
	if (ts >= s->window_start + RW_SCAN_WINDOW_US || ts < s->window_start) {
		emit_slot(t, s);
		reset_slot(s, ts);
		/* Earlier than due when the capture's clock went back. */
		if (ts + RW_SCAN_WINDOW_US < t->due)
			t->due = ts + RW_SCAN_WINDOW_US;
	}
}

bool rw_scan_tally_attempt(struct rw_scan_tally *t, const struct rw_endpoint *client,
                           const struct rw_endpoint *server, uint16_t port_index, uint64_t ts_us,
                           enum rw_attempt how)
{
	if (ts_us >= t->window_start + RW_SCAN_WINDOW_US || ts_us < t->window_start) {
		t->window_start = ts_us;
		t->individual = 0;
	}
	/* Sources get a slot only while attempts are still reported one by
	 * one: a flood of spoofed sources must not fill the table. */
	bool room = t->individual < RW_SCAN_INDIVIDUAL_PER_WINDOW;
	struct slot *src = find(t, false, client, ts_us, room);
	if (src)
		roll(t, src, ts_us);
	if (src && room && src->individual < RW_SCAN_INDIVIDUAL_PER_SOURCE) {
		src->individual++;
		t->individual++;
		return true;
	}
	/* A busy source is a scanner; otherwise many sources at once: count the
	 * attempt against its target. */
	struct slot *s = src;
	if (!src || src->individual < RW_SCAN_INDIVIDUAL_PER_SOURCE) {
		s = find(t, true, server, ts_us, true);
		roll(t, s, ts_us);
	}
	uint32_t total = s->counts[0] + s->counts[1] + s->counts[2] + s->counts[3];
	if (total == 0) {
		s->client = *client;
		s->server = *server;
		s->first_ts = ts_us;
	}
	if (how <= RW_ATTEMPT_CLIENT_RST)
		s->counts[how]++;
	s->last_ts = ts_us;
	if (port_index < 32)
		s->ports |= 1u << port_index;
	uint32_t oh = hash_addr(false, s->by_target ? client : server) % DISTINCT_BITS;
	s->others[oh / 8] |= (uint8_t)(1u << (oh % 8));
	t->counted++;
	return false;
}

/* A slot whose window closed before now_us (every slot, UINT64_MAX) reported
 * and reset; *due lowered to when its window ends. */
static void flush_slot(struct rw_scan_tally *t, struct slot *s, uint64_t now_us, uint64_t *due)
{
	if (now_us == UINT64_MAX || now_us >= s->window_start + RW_SCAN_WINDOW_US) {
		emit_slot(t, s);
		reset_slot(s, now_us == UINT64_MAX ? s->window_start : now_us);
	}
	if (s->window_start + RW_SCAN_WINDOW_US < *due)
		*due = s->window_start + RW_SCAN_WINDOW_US;
}

void rw_scan_tally_flush(struct rw_scan_tally *t, uint64_t now_us)
{
	/* Called once a second of capture time: a capture without attempts
	 * (most) does not walk the 4096 slots each time. */
	if (t->n_used == 0 || (now_us != UINT64_MAX && now_us < t->due))
		return;
	uint64_t due = UINT64_MAX;
	for (size_t w = 0; w < RW_SCAN_SLOTS / 64; w++)
		for (uint64_t bits = t->used[w]; bits; bits &= bits - 1) {
			struct slot *s = &t->slots[w * 64 + (size_t)__builtin_ctzll(bits)];
			flush_slot(t, s, now_us, &due);
		}
	t->due = due;
}

uint64_t rw_scan_tally_counted(const struct rw_scan_tally *t)
{
	return t->counted;
}

uint64_t rw_scan_tally_records(const struct rw_scan_tally *t)
{
	return t->records;
}
