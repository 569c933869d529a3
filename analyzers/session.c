/* One connection's analysis: routes each direction's bytes to the decoder its
 * phase calls for (TPKT/X.224, then TLS), tracks the phase, collects facts in
 * the record. The verdict is decided once, at close, by verdict.c. What a
 * one-direction capture infers is in session_infer.c, closes and TTLs in
 * session_tcp.c, the sessions' memory in session_pool.c. */
#include "session.h"

#include <stdlib.h>
#include <string.h>

#include "tls_record.h"
#include "x224.h"

#include "session_pool.h"
#include "session_state.h"

/* A server flight count that ends NLA: CredSSP (NTLM or Kerberos) needs two
 * server answers; the third server flight is MCS (HYBRID) or the Early User
 * Authorization Result (HYBRID_EX). */
#define NLA_SERVER_FLIGHTS 2
/* RDP is "established" once the server has sent this many flights or bytes
 * after the security layer: MCS connect, attach user and a handful of channel
 * joins take 8 or 9 server flights, licensing and Demand Active follow. */
#define RDP_ESTABLISHED_FLIGHTS 10
#define RDP_ESTABLISHED_BYTES   (64 * 1024)
/* TLS 1.3 encrypted alert: 2 bytes + content type + 16-byte AEAD tag, with a
 * little room for padding; a Finished is at least 4 + 32 + 1 + 16. */
#define TLS13_ALERT_MAX_LEN 24

static bool tls_protocol(uint32_t selected)
{
	return selected & (RW_PROTO_SSL | RW_PROTO_HYBRID | RW_PROTO_HYBRID_EX | RW_PROTO_RDSTLS |
	                   RW_PROTO_RDSAAD);
}

static bool nla_protocol(uint32_t selected)
{
	return selected & (RW_PROTO_HYBRID | RW_PROTO_HYBRID_EX);
}

/* One-direction capture, client side: the server's bytes are known only from
 * the client's acknowledgements, so its TLS is never parsed. */
static bool server_unseen(const struct rw_record *r)
{
	return r->inferred_bytes[RW_S2C] > 0 && !r->tls_seen[RW_S2C];
}

/* The protocol the first application data runs: the Confirm's, or (its bytes
 * unseen) NLA when the client asked for it. */
static bool nla_selected(const struct rw_record *r)
{
	if (r->cc_seen)
		return nla_protocol(r->selected_protocol);
	return r->cc_inferred && nla_protocol(r->requested_protocols);
}

/* ---- TLS callbacks ---------------------------------------------------- */

void sess_count_flight(struct rw_session *s, enum rw_dir dir, size_t len)
{
	struct rw_record *r = &s->rec;
	bool new_flight = s->last_record_dir != (int)dir;
	s->last_record_dir = (int)dir;
	/* Flights are counted from the client's first application record on
	 * (on_record), so TLS 1.3 session tickets never count as CredSSP. */
	if (s->phase == RW_PHASE_NLA) {
		if (new_flight)
			r->nla_flights[dir]++;
		if (dir == RW_S2C) {
			r->server_last_flight_records =
			        new_flight ? 1 : r->server_last_flight_records + 1;
			r->server_last_record_len = (uint32_t)len;
		}
		if (dir == RW_S2C && new_flight && r->nla_flights[RW_S2C] > NLA_SERVER_FLIGHTS)
			enter_phase(s, RW_PHASE_RDP);
	}
	if (s->phase == RW_PHASE_RDP) {
		if (new_flight)
			r->rdp_flights[dir]++;
		r->rdp_bytes[dir] += len;
		if (dir == RW_S2C) {
			if (new_flight)
				r->server_last_flight_records = 0;
			r->server_last_flight_records++;
			r->server_last_record_len = (uint32_t)len;
		}
		if (r->rdp_flights[RW_S2C] >= RDP_ESTABLISHED_FLIGHTS ||
		    r->rdp_bytes[RW_S2C] >= RDP_ESTABLISHED_BYTES)
			enter_phase(s, RW_PHASE_ESTABLISHED);
	}
}

/* The security layer is done: what follows is CredSSP or RDP, counted in
 * flights. */
void sess_start_app(struct rw_session *s)
{
	s->app_started = true;
	s->last_record_dir = -1;
	enter_phase(s, nla_selected(&s->rec) ? RW_PHASE_NLA : RW_PHASE_RDP);
}

/* Bytes counted as they come (RDP phase, outside TLS framing), once each:
 * the rest of a record already counted by its declared length is skipped. */
static void count_bytes(struct rw_session *s, enum rw_dir dir, size_t n)
{
	size_t k = s->owed[dir] < n ? (size_t)s->owed[dir] : n;
	s->owed[dir] -= k;
	if (n > k)
		sess_count_flight(s, dir, n - k);
}

/* TLS 1.2 and earlier: both sides sent ChangeCipherSpec and a Finished. */
static void check_tls12_done(struct rw_session *s)
{
	struct rw_record *r = &s->rec;
	if (!r->tls_established && !r->tls13 && r->ccs_seen[0] && r->ccs_seen[1] &&
	    r->encrypted_records[0] > 0 && r->encrypted_records[1] > 0) {
		r->tls_established = true;
		r->tls_done_ts_us = s->now_us;
		sess_mark(s, RW_C2S);
	}
}

static void infer_client_alert(struct rw_session *s)
{
	struct rw_alert *a = &s->rec.alert[RW_C2S];
	if (a->seen)
		return;
	*a = (struct rw_alert){.seen = true,
	                       .encrypted = true,
	                       .inferred = true,
	                       .phase = s->phase,
	                       .ts_us = s->now_us};
	sess_mark(s, RW_C2S);
}

/* The RDP phase is reached at this record's header: the session no longer
 * inspects, and its callers count what follows (rw_session_count) from
 * their next read or segment on. So does this feed, from the byte after
 * the header, so that the record is the same however the bytes were cut
 * (the rest of this record is owed to the count: dispatch). */
static void stop_if_counting(struct rw_session *s, enum rw_dir dir)
{
	if (s->phase < RW_PHASE_RDP)
		return;
	rw_tls_stream_stop(&s->tls[dir]);
	s->mode[dir] = M_OPAQUE;
}

static void on_record(void *arg, uint8_t type, uint16_t version, size_t len, bool encrypted)
{
	struct dir_ctx *c = arg;
	struct rw_session *s = c->s;
	struct rw_record *r = &s->rec;
	(void)version;
	r->tls_seen[c->dir] = true;
	s->rec_counted[c->dir] = false;
	/* TLS before the Connection Confirm is a middlebox answering: the
	 * connection is still in X.224 as far as RDP goes. */
	if (s->phase < RW_PHASE_TLS_HANDSHAKE &&
	    (r->cc_seen || r->client_tls_without_x224 || r->cc_inferred))
		enter_phase(s, RW_PHASE_TLS_HANDSHAKE);
	check_tls12_done(s); /* the records before this one are complete */
	if (encrypted && type != RW_TLS_CCS)
		r->encrypted_records[c->dir]++;
	else if (type == RW_TLS_HANDSHAKE)
		r->handshake_records[c->dir]++;
	if (c->dir == RW_C2S && encrypted && type == RW_TLS_HANDSHAKE)
		s->client_enc_hs = true;

	if (s->app_started) {
		sess_count_flight(s, c->dir, len);
		s->rec_counted[c->dir] = true;
		stop_if_counting(s, c->dir);
		return;
	}
	if (c->dir != RW_C2S || type != RW_TLS_APPDATA)
		return;
	/* TLS 1.3 hides alerts in application_data records; their size gives
	 * them away (a Finished or any RDP/CredSSP message is larger). */
	bool alert_sized =
	        (r->tls13 || (server_unseen(r) && !r->server_hello_seen && !s->client_enc_hs)) &&
	        len <= TLS13_ALERT_MAX_LEN;
	if (!r->tls_established && server_unseen(r) && !r->server_hello_seen) {
		/* The server's flight is known only by its size: the client's
		 * first application_data record is its TLS 1.3 Finished (or an
		 * alert, by its size), or after an encrypted TLS 1.2 Finished its
		 * first data. */
		r->tls_established = !(len <= TLS13_ALERT_MAX_LEN && !s->client_enc_hs);
		if (!r->tls_established) {
			infer_client_alert(s);
			return;
		}
		r->tls_done_ts_us = s->now_us;
		sess_mark(s, RW_C2S);
		if (!s->client_enc_hs)
			return;
	} else if (!r->tls_established) {
		if (!r->tls13 || r->client_first_encrypted_len != 0)
			return;
		r->client_first_encrypted_len = (uint32_t)len;
		if (alert_sized) {
			infer_client_alert(s);
			return;
		}
		r->tls_established = true; /* the client's Finished */
		r->tls_done_ts_us = s->now_us;
		sess_mark(s, RW_C2S);
		return;
	}
	if (alert_sized) {
		infer_client_alert(s);
		return;
	}
	/* The client's first application record ends the TLS phase: clients such
	 * as FreeRDP check the certificate after the handshake and hang up
	 * before sending any. */
	sess_start_app(s);
	sess_count_flight(s, c->dir, len);
	s->rec_counted[c->dir] = true;
	stop_if_counting(s, c->dir);
}

static void on_ccs(void *arg)
{
	struct dir_ctx *c = arg;
	struct rw_record *r = &c->s->rec;
	r->ccs_seen[c->dir] = true;
	/* Encryption starts at a CCS only up to TLS 1.2. A CCS before the
	 * ServerHello is TLS 1.3's compatibility CCS (after a HelloRetryRequest,
	 * the second ClientHello still comes in clear); after a 1.3 ServerHello
	 * the records are application_data anyway. */
	if ((r->server_hello_seen && !r->tls13) || (c->dir == RW_C2S && server_unseen(r)))
		rw_tls_stream_set_encrypted(&c->s->tls[c->dir]);
}

static void on_alert(void *arg, uint8_t level, uint8_t desc, bool encrypted)
{
	struct dir_ctx *c = arg;
	struct rw_alert *a = &c->s->rec.alert[c->dir];
	if (a->seen)
		return;
	*a = (struct rw_alert){.seen = true,
	                       .encrypted = encrypted,
	                       .level = level,
	                       .description = desc,
	                       .phase = c->s->phase,
	                       .ts_us = c->s->now_us};
	sess_mark(c->s, c->dir);
}

static void on_sslv2(void *arg, uint16_t version, size_t len)
{
	struct dir_ctx *c = arg;
	(void)version;
	(void)len;
	if (c->dir == RW_C2S)
		c->s->rec.sslv2_client_hello = true;
}

static void on_tls_error(void *arg, int status, const char *what)
{
	struct dir_ctx *c = arg;
	struct rw_record *r = &c->s->rec;
	(void)what;
	if (!r->tls_framing_error[c->dir]) {
		r->tls_framing_error[c->dir] = true;
		r->tls_framing_status[c->dir] = status;
		r->tls_framing_ts_us[c->dir] = c->s->now_us;
		sess_mark(c->s, c->dir);
	}
	c->s->mode[c->dir] = M_OPAQUE;
	rw_tls_stream_stop(&c->s->tls[c->dir]);
}

static void client_hello(struct rw_session *s, const uint8_t *p, size_t n)
{
	struct rw_record *r = &s->rec;
	r->client_hellos++;
	if (r->client_hello_seen)
		return; /* the second hello after a HelloRetryRequest */
	struct rw_tls_client_hello ch;
	if (rw_tls_client_hello_parse(p, n, &ch) < 0) {
		on_tls_error(&s->ctx[RW_C2S], RW_E_VALUE, "ClientHello");
		return;
	}
	r->ch = ch;
	r->client_hello_seen = true;
	r->ch_ts_us = s->now_us;
	sess_mark(s, RW_C2S);
}

static void server_hello(struct rw_session *s, const uint8_t *p, size_t n)
{
	struct rw_record *r = &s->rec;
	struct rw_tls_server_hello sh;
	if (rw_tls_server_hello_parse(p, n, &sh) < 0) {
		on_tls_error(&s->ctx[RW_S2C], RW_E_VALUE, "ServerHello");
		return;
	}
	if (sh.is_hello_retry_request) {
		r->hrr_seen = true;
		return;
	}
	r->sh = sh;
	r->server_hello_seen = true;
	r->sh_ts_us = s->now_us;
	sess_mark(s, RW_S2C);
	if (sh.version == 0x0304) {
		/* Everything after a TLS 1.3 ServerHello is encrypted (RFC 8446 2). */
		r->tls13 = true;
		rw_tls_stream_set_encrypted(&s->tls[RW_S2C]);
	}
}

static void on_handshake(void *arg, uint8_t type, const uint8_t *p, size_t n, bool oversized)
{
	struct dir_ctx *c = arg;
	struct rw_session *s = c->s;
	struct rw_record *r = &s->rec;
	if (oversized) {
		if (type == RW_HS_CERTIFICATE && c->dir == RW_S2C) {
			r->certificate_seen = true;
			r->cert_parse_failed = true;
			r->cert_ts_us = s->now_us;
			sess_mark(s, RW_S2C);
		}
		return;
	}
	if (type == RW_HS_CLIENT_HELLO && c->dir == RW_C2S) {
		client_hello(s, p, n);
	} else if (type == RW_HS_SERVER_HELLO && c->dir == RW_S2C) {
		server_hello(s, p, n);
	} else if (type == RW_HS_CERTIFICATE && c->dir == RW_S2C && !r->certificate_seen) {
		r->certificate_seen = true;
		r->cert_ts_us = s->now_us;
		sess_mark(s, RW_S2C);
		if (rw_cert_parse_message(p, n, &r->cert, &r->cert_chain_len) < 0)
			r->cert_parse_failed = true;
	}
}

static const struct rw_tls_callbacks tls_cb = {
        .record = on_record,
        .handshake = on_handshake,
        .alert = on_alert,
        .ccs = on_ccs,
        .sslv2_hello = on_sslv2,
        .error = on_tls_error,
};

/* ---- TPKT / X.224 ---------------------------------------------------- */

static void on_x224(struct rw_session *s, enum rw_dir dir, const uint8_t *p, size_t n)
{
	struct rw_record *r = &s->rec;
	struct rw_x224 x;
	int st = rw_x224_parse(p + RW_TPKT_HEADER_LEN, n - RW_TPKT_HEADER_LEN, &x);
	if (st < 0) {
		if (!r->x224_error[dir]) {
			r->x224_error[dir] = true;
			r->x224_status[dir] = st;
			sess_mark(s, dir);
		}
		return;
	}
	if (x.code == RW_X224_CR && dir == RW_C2S && !r->cr_seen) {
		r->cr_seen = true;
		r->cr_ts_us = s->now_us;
		sess_mark(s, dir);
		if (x.token_kind != RW_TOKEN_NONE) {
			r->token = malloc(x.token_len + 1);
			if (r->token) {
				memcpy(r->token, x.token, x.token_len);
				r->token[x.token_len] = 0;
				r->token_len = x.token_len;
				r->token_kind = x.token_kind;
			}
		}
		if (x.neg_present) {
			r->neg_req_present = true;
			r->neg_req_flags = x.neg_flags;
			r->requested_protocols = x.neg_value;
		}
	} else if (x.code == RW_X224_CC && dir == RW_S2C && !r->cc_seen) {
		r->cc_seen = true;
		r->cc_ts_us = s->now_us;
		sess_mark(s, dir);
		/* Where the CC ends in each stream, whatever the segmentation. */
		s->bytes_at_cc[RW_S2C] = s->tpkt_off[RW_S2C];
		s->bytes_at_cc[RW_C2S] = r->bytes[RW_C2S];
		if (x.neg_present && x.neg_type == 2) {
			r->neg_rsp_present = true;
			r->neg_rsp_flags = x.neg_flags;
			r->selected_protocol = x.neg_value;
		} else if (x.neg_present) {
			r->neg_failure_present = true;
			r->neg_failure_code = x.neg_value;
		}
		if (r->neg_failure_present)
			return;
		/* The next phase begins with its first byte, not with the CC: a
		 * client that hangs up on the CC is still negotiating. */
		if (tls_protocol(r->selected_protocol)) {
			s->mode[RW_S2C] = M_TLS;
			s->mode[RW_C2S] = M_TLS;
		} else {
			/* Standard RDP security: MCS follows in TPKT, not inspected. */
			s->std_rdp = true;
			s->mode[RW_S2C] = s->mode[RW_C2S] = M_OPAQUE;
			s->last_record_dir = -1;
		}
	} else if (x.code == RW_X224_DR) {
		r->dr_seen[dir] = true;
		sess_mark(s, dir);
	}
}

static size_t feed_tpkt(struct rw_session *s, enum rw_dir dir, const uint8_t *p, size_t n)
{
	size_t used = 0;
	while (used < n && s->mode[dir] == M_TPKT) {
		/* A whole TPKT in these bytes (a CR or CC in one segment, as
		 * clients and servers send them) is parsed where it is, without
		 * the copy and the buffer a split one needs. Anything else (TLS
		 * where X.224 was expected, a bad header, a TPKT cut across
		 * segments) takes the way below. */
		if (s->tpkt_have[dir] == 0 && s->tpkt_need[dir] == 0 &&
		    n - used >= RW_TPKT_HEADER_LEN &&
		    !rw_tls_looks_like_record(p + used, RW_TPKT_HEADER_LEN)) {
			int len = rw_tpkt_length(p + used, n - used);
			if (len > 0 && (size_t)len <= n - used) {
				const uint8_t *tpkt = p + used;
				used += (size_t)len;
				s->tpkt_off[dir] += (size_t)len;
				on_x224(s, dir, tpkt, (size_t)len);
				continue;
			}
		}
		size_t want = s->tpkt_need[dir] ? s->tpkt_need[dir] : RW_TPKT_HEADER_LEN;
		if (s->tpkt_cap[dir] < want) {
			/* Grown to the largest TPKT seen: CR/CC are tens of bytes. */
			uint8_t *nb = realloc(s->tpkt[dir], want < 64 ? 64 : want);
			if (!nb) {
				s->mode[dir] = M_OPAQUE;
				return n;
			}
			s->tpkt[dir] = nb;
			s->tpkt_cap[dir] = want < 64 ? 64 : want;
		}
		uint8_t *buf = s->tpkt[dir];
		size_t have = s->tpkt_have[dir];
		size_t need = have < RW_TPKT_HEADER_LEN ? RW_TPKT_HEADER_LEN : s->tpkt_need[dir];
		size_t k = need - have < n - used ? need - have : n - used;
		memcpy(buf + have, p + used, k);
		used += k;
		s->tpkt_off[dir] += k;
		have += k;
		s->tpkt_have[dir] = have;
		if (have < need)
			break;
		if (have == RW_TPKT_HEADER_LEN && s->tpkt_need[dir] == 0) {
			if (rw_tls_looks_like_record(buf, have)) {
				/* TLS where X.224 was expected (decided on a whole header,
				 * so any split decides alike): the CC was lost to a capture
				 * gap, or something answered as a TLS endpoint. */
				if (dir == RW_S2C && !s->rec.cc_seen)
					s->rec.server_tls_before_cc = true;
				s->tpkt_have[dir] = 0;
				s->mode[dir] = M_TLS;
				rw_tls_stream_feed(&s->tls[dir], buf, have);
				return used;
			}
			int len = rw_tpkt_length(buf, have);
			if (len < 0) {
				s->rec.x224_error[dir] = true;
				s->rec.x224_status[dir] = len;
				sess_mark(s, dir);
				s->mode[dir] = M_OPAQUE;
				break;
			}
			s->tpkt_need[dir] = (size_t)len;
			continue;
		}
		s->tpkt_have[dir] = 0;
		s->tpkt_need[dir] = 0;
		on_x224(s, dir, buf, have);
	}
	return used;
}

/* ---- classification of a direction's first bytes ---------------------- */

static void classify(struct rw_session *s, enum rw_dir dir)
{
	struct rw_record *r = &s->rec;
	const uint8_t *h = s->head[dir];
	size_t n = s->head_have[dir];
	/* A capture that begins inside a running session: no negotiation to see,
	 * only what follows it. TPKT that is not a CR, or TLS application data. */
	bool mid_tpkt = n >= 6 && h[0] == 3 && h[1] == 0 && (h[5] & 0xF0) != RW_X224_CR &&
	                (h[5] & 0xF0) != RW_X224_CC;
	if (r->midstream && !r->cr_seen && s->phase < RW_PHASE_RDP &&
	    ((n >= 1 && h[0] == RW_TLS_APPDATA) || mid_tpkt)) {
		s->mode[RW_C2S] = s->mode[RW_S2C] = h[0] == RW_TLS_APPDATA ? M_TLS : M_OPAQUE;
		s->app_started = true;
		s->last_record_dir = -1;
		enter_phase(s, RW_PHASE_RDP);
		return;
	}
	if (n >= 2 && h[0] == 3 && h[1] == 0) {
		s->mode[dir] = M_TPKT;
	} else if (rw_tls_looks_like_record(h, n) || rw_tls_looks_like_sslv2_hello(h, n)) {
		s->mode[dir] = M_TLS;
		if (dir == RW_C2S && !r->cr_seen)
			r->client_tls_without_x224 = true;
		if (dir == RW_S2C && !r->cc_seen)
			r->server_tls_before_cc = true;
	} else {
		s->mode[dir] = M_OPAQUE;
		r->not_tpkt[dir] = true;
	}
}

static void dispatch(struct rw_session *s, enum rw_dir dir, const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t used;
		switch (s->mode[dir]) {
		case M_TPKT:
			used = feed_tpkt(s, dir, p, n);
			break;
		case M_TLS: {
			size_t before = s->tls[dir].consumed;
			rw_tls_stream_feed(&s->tls[dir], p, n);
			check_tls12_done(s);
			/* A framing error stops the stream mid-feed, at the byte that
			 * showed it (tls_record.c), and so does the header where
			 * inspecting ends (stop_if_counting): what follows is opaque,
			 * exactly as if it had come in a later event. */
			if (s->mode[dir] == M_TLS) {
				used = n;
				break;
			}
			used = (size_t)(s->tls[dir].consumed - before);
			if (s->rec_counted[dir])
				s->owed[dir] = s->tls[dir].rec_left;
			break;
		}
		default:
			/* Standard RDP security begins with the first byte after the CC. */
			if (s->std_rdp && s->phase < RW_PHASE_RDP)
				enter_phase(s, RW_PHASE_RDP);
			if (s->phase >= RW_PHASE_RDP)
				count_bytes(s, dir, n);
			used = n;
			break;
		}
		p += used;
		n -= used;
	}
}

/* ---- events ----------------------------------------------------------- */

struct rw_session *rw_session_new(const struct rw_session_config *cfg)
{
	struct rw_session *s = rw_session_slot_get();
	if (!s)
		return NULL;
	if (cfg)
		s->cfg = *cfg;
	for (int d = 0; d < 2; d++) {
		s->ctx[d] = (struct dir_ctx){s, (enum rw_dir)d};
		rw_tls_stream_init(&s->tls[d], &tls_cb, &s->ctx[d], s->cfg.max_handshake_msg);
		s->tls[d].ccs_encrypts = false; /* on_ccs decides */
		s->rec.rst_ttl[d] = -1;
		s->rec.ttl_lo[d] = s->rec.ttl_hi[d] = -1;
		s->rec.syn_ttl[d] = -1;
	}
	s->last_record_dir = -1;
	memcpy(s->rec.expected_cert_sha256, s->cfg.expected_cert_sha256,
	       sizeof(s->rec.expected_cert_sha256));
	s->rec.expected_cert_sha256[sizeof(s->rec.expected_cert_sha256) - 1] = 0;
	s->phase = RW_PHASE_TCP_CONNECT;
	s->rec.phase_reached[RW_PHASE_TCP_CONNECT] = true;
	return s;
}

void rw_session_free(struct rw_session *s)
{
	if (!s)
		return;
	for (int d = 0; d < 2; d++) {
		rw_tls_stream_free(&s->tls[d]);
		free(s->tpkt[d]);
	}
	free(s->rec.token);
	sess_inspect_free(s->insp);
	rw_session_slot_put(s, false);
}

/* The image is the struct's bytes with its runs of zeros left out (a
 * session's record is mostly zeros until TLS is parsed): pairs of u16 zero
 * run and u16 literal count, then the literal bytes. Runs are found a word
 * at a time (a quiet flow is packed in replay too, so this is on a hot
 * path): a literal ends at a zero word, which costs no more as a new pair.
 * Whatever the struct points to (buffers, the token) stays where it is; its
 * pointers into itself are set again by unpack. */
#define PACK_RUN_MAX 0xfff8 /* whole words */
#define PACK_WORD    sizeof(uint64_t)
_Static_assert(sizeof(struct rw_session) % PACK_WORD == 0, "a session is whole words");

static bool zero_word(const uint8_t *b)
{
	uint64_t w;
	memcpy(&w, b, PACK_WORD);
	return w == 0;
}

void *rw_session_pack(struct rw_session *s, size_t *len)
{
	const uint8_t *b = (const uint8_t *)s;
	const size_t n = sizeof(*s);
	/* The worst case: every other word a literal. */
	uint8_t tmp[sizeof(*s) + (sizeof(*s) / PACK_WORD + 2) * 2 * sizeof(uint16_t)];
	size_t i = 0, o = 0;
	while (i < n) {
		size_t z = 0, l = 0;
		while (i + z < n && z < PACK_RUN_MAX && zero_word(b + i + z))
			z += PACK_WORD;
		size_t j = i + z;
		while (j + l < n && l < PACK_RUN_MAX && !zero_word(b + j + l))
			l += PACK_WORD;
		uint16_t h[2] = {(uint16_t)z, (uint16_t)l};
		memcpy(tmp + o, h, sizeof(h));
		memcpy(tmp + o + sizeof(h), b + j, l);
		o += sizeof(h) + l;
		i = j + l;
	}
	uint8_t *img = malloc(o);
	if (!img)
		return NULL;
	memcpy(img, tmp, o);
	*len = o;
	rw_session_slot_put(s, true);
	return img;
}

struct rw_session *rw_session_unpack(const void *img, size_t len)
{
	struct rw_session *s = rw_session_slot_get();
	if (!s)
		return NULL;
	uint8_t *b = (uint8_t *)s;
	const uint8_t *p = img;
	size_t i = 0, o = 0;
	while (o + 2 * sizeof(uint16_t) <= len) {
		uint16_t h[2];
		memcpy(h, p + o, sizeof(h));
		o += sizeof(h);
		i += h[0];
		if (i + h[1] > sizeof(*s) || o + h[1] > len)
			break; /* cannot happen with rw_session_pack's image */
		memcpy(b + i, p + o, h[1]);
		i += h[1];
		o += h[1];
	}
	for (int d = 0; d < 2; d++) {
		s->ctx[d].s = s;
		s->tls[d].arg = &s->ctx[d];
	}
	return s;
}

void rw_session_open(struct rw_session *s, uint64_t ts_us, const struct rw_endpoint *client,
                     const struct rw_endpoint *server)
{
	s->now_us = ts_us;
	s->rec.ts_open_us = ts_us;
	s->rec.ts_close_us = ts_us;
	s->rec.phase_ts_us[RW_PHASE_TCP_CONNECT] = ts_us;
	if (client)
		s->rec.client = *client;
	if (server)
		s->rec.server = *server;
}

void rw_session_at(struct rw_session *s, const char *file, uint64_t frame)
{
	s->at_file = file;
	s->at_frame = frame;
}

void sess_mark(struct rw_session *s, enum rw_dir dir)
{
	struct rw_record *r = &s->rec;
	struct rw_mark m = {.ts_us = s->now_us,
	                    .file = s->at_file,
	                    .frame = s->at_frame,
	                    .offset = s->chunk_off[dir],
	                    .dir = (uint8_t)dir};
	/* Several facts of one packet share its mark. */
	if (r->n_marks) {
		const struct rw_mark *l = &r->marks[r->n_marks - 1];
		if (l->ts_us == m.ts_us && l->dir == m.dir && l->frame == m.frame &&
		    l->offset == m.offset)
			return;
	}
	if (r->n_marks < RW_MAX_MARKS)
		r->n_marks++;
	r->marks[r->n_marks - 1] = m;
}

void rw_session_syn(struct rw_session *s, enum rw_dir dir, uint64_t ts_us)
{
	touch(s, ts_us);
	if (dir == RW_C2S) {
		s->rec.saw_syn = true;
	} else {
		s->rec.saw_synack = true;
		enter_phase(s, RW_PHASE_X224);
	}
}

void sess_data_common(struct rw_session *s, enum rw_dir dir, uint64_t ts_us, size_t n)
{
	struct rw_record *r = &s->rec;
	touch(s, ts_us);
	s->chunk_off[dir] = r->bytes[dir];
	r->bytes[dir] += n;
	r->last_data_ts_us[dir] = ts_us;
	if (r->cc_seen)
		r->bytes_after_cc[dir] = r->bytes[dir] - s->bytes_at_cc[dir];
	if (s->phase == RW_PHASE_TCP_CONNECT) {
		if (!r->saw_syn)
			r->midstream = true;
		enter_phase(s, RW_PHASE_X224);
	}
}

void rw_session_data(struct rw_session *s, enum rw_dir dir, uint64_t ts_us, const uint8_t *p,
                     size_t n)
{
	if (n == 0)
		return;
	struct rw_record *r = &s->rec;
	sess_data_common(s, dir, ts_us, n);
	if (r->first_bytes_len[dir] < sizeof(r->first_bytes[dir])) {
		size_t k = sizeof(r->first_bytes[dir]) - r->first_bytes_len[dir];
		if (k > n)
			k = n;
		memcpy(r->first_bytes[dir] + r->first_bytes_len[dir], p, k);
		r->first_bytes_len[dir] += k;
	}
	if (s->mode[dir] == M_START) {
		/* Hold the first bytes: enough to tell TPKT (and its TPDU code), TLS
		 * and SSLv2 apart. */
		const uint8_t *all = s->head_have[dir] == 0 ? p : NULL;
		size_t n_all = n;
		size_t k = sizeof(s->head[dir]) - s->head_have[dir];
		if (k > n)
			k = n;
		memcpy(s->head[dir] + s->head_have[dir], p, k);
		s->head_have[dir] += k;
		p += k;
		n -= k;
		if (s->head_have[dir] < sizeof(s->head[dir]))
			return;
		classify(s, dir);
		/* First bytes that came in one piece go on in one piece, so that
		 * a CR, CC or ClientHello in one segment is parsed where it is,
		 * not copied into a buffer for being split (feed_tpkt,
		 * tls_record.c). The same as the held bytes then the rest, but
		 * where the check below would count the rest of a TPKT stream
		 * without parsing it: six bytes complete no CC, so that is known
		 * now. */
		if (all && !(s->mode[dir] == M_TPKT && (s->std_rdp || s->phase >= RW_PHASE_RDP))) {
			dispatch(s, dir, all, n_all);
			return;
		}
		dispatch(s, dir, s->head[dir], s->head_have[dir]);
	}
	if (s->std_rdp && s->phase < RW_PHASE_RDP)
		enter_phase(s, RW_PHASE_RDP);
	if (s->phase >= RW_PHASE_RDP && s->mode[dir] != M_TLS) {
		count_bytes(s, dir, n);
		return;
	}
	dispatch(s, dir, p, n);
}

void rw_session_count(struct rw_session *s, enum rw_dir dir, uint64_t ts_us, size_t n)
{
	if (n == 0)
		return;
	sess_data_common(s, dir, ts_us, n);
	if (s->std_rdp && s->phase < RW_PHASE_RDP)
		enter_phase(s, RW_PHASE_RDP);
	count_bytes(s, dir, n);
}

bool rw_session_inspecting(const struct rw_session *s)
{
	return s->phase < RW_PHASE_RDP;
}

void rw_session_gap(struct rw_session *s, enum rw_dir dir, uint64_t ts_us, uint64_t missing)
{
	touch(s, ts_us);
	s->rec.tcp[dir].gaps++;
	s->rec.tcp[dir].gap_bytes += missing;
	/* Framing cannot survive a hole: stop decoding this direction. */
	if (s->mode[dir] == M_TPKT || s->mode[dir] == M_TLS || s->mode[dir] == M_START)
		s->mode[dir] = M_OPAQUE;
}

void rw_session_host_clock(struct rw_session *s, uint64_t ts_us, int64_t host_unix_us)
{
	touch(s, ts_us);
	s->rec.host_clock_seen = true;
	s->rec.host_clock_offset_us = host_unix_us - (int64_t)ts_us;
}

void rw_session_close(struct rw_session *s, uint64_t ts_us)
{
	rw_session_close_undecided(s, ts_us);
	rw_verdict_decide(&s->rec);
}

void rw_session_close_undecided(struct rw_session *s, uint64_t ts_us)
{
	touch(s, ts_us);
	for (int d = 0; d < 2; d++) {
		/* A direction that sent fewer bytes than the head in all was never classified. */
		if (s->mode[d] == M_START && s->head_have[d] > 0) {
			classify(s, (enum rw_dir)d);
			dispatch(s, (enum rw_dir)d, s->head[d], s->head_have[d]);
		}
	}
	if (s->rec.cc_seen)
		for (int d = 0; d < 2; d++)
			s->rec.bytes_after_cc[d] = s->rec.bytes[d] - s->bytes_at_cc[d];
	/* Nothing is parsed after the close: the parsers' buffers go now, in
	 * the thread that made them (replay hands the session to another
	 * thread, which writes the record and frees the rest). */
	for (int d = 0; d < 2; d++) {
		rw_tls_stream_free(&s->tls[d]);
		free(s->tpkt[d]);
		s->tpkt[d] = NULL;
		s->tpkt_cap[d] = s->tpkt_have[d] = s->tpkt_need[d] = 0;
	}
}

enum rw_phase rw_session_phase(const struct rw_session *s)
{
	return s->phase;
}

struct rw_record *rw_session_record(struct rw_session *s)
{
	return &s->rec;
}
