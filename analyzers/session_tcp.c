/* A session's TCP facts: the first close (FIN or RST), TTL baselines, a
 * failed connect, the proxy's timeout and the front end's TCP statistics. */
#include "session_state.h"

static void first_close(struct rw_session *s, enum rw_dir dir, enum rw_close_kind kind)
{
	struct rw_record *r = &s->rec;
	if (r->closed)
		return;
	r->closed = true;
	r->first_close_dir = dir;
	r->first_close_kind = kind;
	r->first_close_ts_us = s->now_us;
	r->first_close_phase = s->phase;
}

void rw_session_fin(struct rw_session *s, enum rw_dir dir, uint64_t ts_us)
{
	touch(s, ts_us);
	if (s->rec.fin_seen[dir])
		return;
	s->rec.fin_seen[dir] = true;
	s->rec.fin_ts_us[dir] = ts_us;
	s->chunk_off[dir] = s->rec.bytes[dir]; /* a FIN follows the side's last byte */
	sess_mark(s, dir);
	first_close(s, dir, RW_CLOSE_FIN);
}

void rw_session_rst(struct rw_session *s, enum rw_dir dir, uint64_t ts_us, int ttl)
{
	touch(s, ts_us);
	if (s->rec.rst_seen[dir])
		return;
	s->rec.rst_seen[dir] = true;
	s->rec.rst_ts_us[dir] = ts_us;
	s->rec.rst_ttl[dir] = ttl;
	s->chunk_off[dir] = s->rec.bytes[dir];
	sess_mark(s, dir);
	first_close(s, dir, RW_CLOSE_RST);
}

void rw_session_ttl(struct rw_session *s, enum rw_dir dir, int ttl)
{
	/* A side's own packets set its baseline and range: an injected RST
	 * comes from another hop distance, so its TTL falls outside. */
	struct rw_record *r = &s->rec;
	if (s->data_ttl[dir])
		return; /* its data-bearing packets are the baseline */
	if (r->ttl_lo[dir] < 0 || ttl < r->ttl_lo[dir])
		r->ttl_lo[dir] = ttl;
	if (ttl > r->ttl_hi[dir])
		r->ttl_hi[dir] = ttl;
}

void rw_session_data_ttl(struct rw_session *s, enum rw_dir dir, int ttl)
{
	/* Data comes from the side's own stack; a bare ACK may not: a SYN
	 * proxy (iptables SYNPROXY) sends the window update that ends its
	 * handshake with the host from its own hop distance. Once a side sent
	 * data, its data-bearing packets alone are its TTL baseline. */
	struct rw_record *r = &s->rec;
	if (!s->data_ttl[dir]) {
		s->data_ttl[dir] = true;
		r->ttl_lo[dir] = r->ttl_hi[dir] = ttl;
		return;
	}
	if (ttl < r->ttl_lo[dir])
		r->ttl_lo[dir] = ttl;
	if (ttl > r->ttl_hi[dir])
		r->ttl_hi[dir] = ttl;
}

void rw_session_syn_ttl(struct rw_session *s, enum rw_dir dir, int ttl)
{
	/* Not a baseline: a SYN proxy (a firewall, a balancer, SYN cookies on a
	 * middlebox) answers the handshake from its own hop distance. */
	if (s->rec.syn_ttl[dir] < 0)
		s->rec.syn_ttl[dir] = ttl;
}

void rw_session_connect_failed(struct rw_session *s, uint64_t ts_us, enum rw_close_kind kind)
{
	touch(s, ts_us);
	if (!s->rec.connect_failed)
		s->rec.connect_failed = (int)kind;
}

void rw_session_timeout(struct rw_session *s, uint64_t ts_us)
{
	touch(s, ts_us);
	if (s->rec.timed_out)
		return;
	s->rec.timed_out = true;
	s->rec.timeout_phase = s->phase;
	s->rec.timeout_ts_us = ts_us;
}

void rw_session_tcp_stats(struct rw_session *s, enum rw_dir dir, const struct rw_tcp_stats *st)
{
	uint32_t gaps = s->rec.tcp[dir].gaps;
	uint64_t gap_bytes = s->rec.tcp[dir].gap_bytes;
	s->rec.tcp[dir] = *st;
	if (st->gaps < gaps) {
		s->rec.tcp[dir].gaps = gaps;
		s->rec.tcp[dir].gap_bytes = gap_bytes;
	}
}
