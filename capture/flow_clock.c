/* Frames into the flow table along the capture clock: a frame whose time jumps
 * far from the clock is held until the next frame (or the wall clock) confirms
 * the jump or shows it an outlier; confirmed jumps and steps back are counted
 * and expiry follows capture time. Then the frame is decoded and handed to
 * its flow. */
#include <stdlib.h>
#include <string.h>

#include "flow.h"

static void account_decode(struct rw_capture *c, int rc)
{
	switch (rc) {
	case RW_DECODE_NOT_IP:
		c->st.non_ip++;
		break;
	case RW_DECODE_NOT_TCP:
		c->st.non_tcp++;
		break;
	case RW_DECODE_FRAGMENT:
		c->st.fragments++;
		break;
	case RW_DECODE_TRUNCATED:
		c->st.truncated++;
		c->st.decode_errors++;
		break;
	default:
		c->st.decode_errors++;
		break;
	}
}

static void process_frame(struct rw_capture *c, int dlt, uint64_t ts_us, const uint8_t *p,
                          size_t caplen)
{
	if (c->now && ts_us > c->now + CLOCK_JUMP_US) {
		/* Confirmed: the clock moved on (a quiet gap or a step forward). */
		c->st.clock_jumps++;
		c->expire_hold_until = ts_us + c->cfg.idle_timeout_us;
	} else if (c->now && ts_us + CLOCK_JUMP_US < c->now) {
		/* Confirmed: the clock was set back. Restart capture time there;
		 * flows stay monotonic on their own (flow_packet). */
		c->st.clock_steps_back++;
		c->now = ts_us;
		c->last_expire = ts_us;
	}
	if (ts_us > c->now)
		c->now = ts_us;
	/* Expiry follows capture time, so a replay expires what a live capture would. */
	if (c->now - c->last_expire >= US_PER_S) {
		rw_capture_expire(c, c->now);
		c->last_expire = c->now;
	}
	struct rw_packet pkt;
	pkt.ts_us = ts_us;
	int rc = rw_decode_packet(dlt, p, caplen, &pkt);
	if (rc != RW_DECODE_OK) {
		account_decode(c, rc);
		return;
	}
	if (pkt.payload_truncated)
		c->st.truncated++;
	c->st.tcp_packets++;
	if ((pkt.flags & (RW_TCP_SYN | RW_TCP_ACK)) == RW_TCP_SYN)
		rw_port_tally_add(&c->st.syn_ports, pkt.dport);
	else if ((pkt.flags & (RW_TCP_SYN | RW_TCP_ACK)) == (RW_TCP_SYN | RW_TCP_ACK))
		rw_port_tally_add(&c->st.syn_ports, pkt.sport);
	else if (pkt.seg_len > 0)
		rw_port_tally_add(&c->st.data_ports, pkt.sport < pkt.dport ? pkt.sport : pkt.dport);
	bool listed = port_listed(c, pkt.sport) || port_listed(c, pkt.dport);
	if (!listed && !c->cfg.detect_any_port)
		return;
	struct flow_key k;
	rw_flow_make_key(&pkt, &k);
	uint32_t h = rw_flow_key_hash(c, &k);
	struct flow *f = rw_flow_lookup(c, &k, h);
	if (!f) {
		/* Late ACKs, FINs and RSTs of connections never seen say nothing. */
		bool syn = pkt.flags & RW_TCP_SYN;
		if ((!syn && pkt.seg_len == 0) || (pkt.flags & RW_TCP_RST))
			return;
		f = rw_flow_new(c, &k, h, &pkt);
		if (!f)
			return;
	}
	rw_flow_packet(c, f, &pkt);
}

bool rw_flow_far(uint64_t a, uint64_t b)
{
	return a > b + CLOCK_JUMP_US || b > a + CLOCK_JUMP_US;
}

/* Decide on the held frame: with the clock confirmed (the next frame, or the
 * wall clock, agrees with it) it is processed as it is; otherwise it is an
 * outlier, processed at the capture clock's time so it moves nothing. */
void rw_flow_release_held(struct rw_capture *c, bool confirmed)
{
	struct held_frame *h = &c->held;
	if (!h->on)
		return;
	h->on = false;
	uint64_t ts = h->ts_us;
	if (!confirmed) {
		if (c->st.clock_outliers++ == 0) {
			c->st.first_outlier_frame = h->frame;
			c->st.first_outlier_ts_us = h->ts_us;
		}
		ts = c->now;
	}
	c->cur_file = h->file;
	c->cur_frame = h->file_frame;
	process_frame(c, h->dlt, ts, h->data, h->caplen);
}

void rw_capture_set_source(struct rw_capture *c, const char *file)
{
	c->file = file;
	c->file_frame = 0;
}

void rw_capture_packet(struct rw_capture *c, int dlt, uint64_t ts_us, const uint8_t *p,
                       size_t caplen, size_t wirelen)
{
	c->st.packets++;
	c->st.bytes += wirelen;
	c->file_frame++;
	if (c->held.on)
		rw_flow_release_held(c, !rw_flow_far(ts_us, c->held.ts_us));
	c->cur_file = c->file;
	c->cur_frame = c->file_frame;
	if (c->now && rw_flow_far(ts_us, c->now)) {
		struct held_frame *h = &c->held;
		if (caplen > h->cap) {
			uint8_t *d = realloc(h->data, caplen);
			if (!d) {
				c->st.nomem++;
				process_frame(c, dlt, ts_us, p, caplen);
				return;
			}
			h->data = d;
			h->cap = caplen;
		}
		if (caplen)
			memcpy(h->data, p, caplen);
		*h = (struct held_frame){true,          dlt,    ts_us,  c->st.packets, c->file,
		                         c->file_frame, caplen, h->cap, h->data};
		return;
	}
	process_frame(c, dlt, ts_us, p, caplen);
}
