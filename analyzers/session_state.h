/* A session's state, private to analyzers/session*.c: struct rw_session and
 * the helpers session.c (decoding, phases), session_infer.c (one-direction
 * inference) and session_tcp.c (closes, TTLs, timeouts) share. */
#ifndef RW_SESSION_STATE_H
#define RW_SESSION_STATE_H

#include "session.h"
#include "tls_record.h"

enum mode { M_START, M_TPKT, M_TLS, M_OPAQUE };

struct dir_ctx {
	struct rw_session *s;
	enum rw_dir dir;
};

struct rw_session {
	struct rw_record rec;
	bool data_ttl[2]; /* rec.ttl_lo/hi hold only data-bearing packets' TTLs */
	struct rw_session_config cfg;
	enum rw_phase phase;
	enum mode mode[2];
	uint8_t head[2][6]; /* first bytes, until the direction is classified */
	size_t head_have[2];
	uint8_t *tpkt[2]; /* one TPKT packet being assembled */
	size_t tpkt_have[2];
	size_t tpkt_need[2];
	size_t tpkt_cap[2];
	uint64_t tpkt_off[2];    /* bytes of that direction consumed by the TPKT framer */
	uint64_t bytes_at_cc[2]; /* stream offsets of the end of the Connection Confirm */
	struct rw_tls_stream tls[2];
	struct dir_ctx ctx[2];
	int last_record_dir; /* for flight counting, -1 = none */
	bool std_rdp;        /* CC selected standard RDP security */
	bool app_started;    /* the client sent its first TLS application record */
	bool client_enc_hs;  /* an encrypted client handshake record: TLS <= 1.2 Finished */
	/* RDP phase: the current TLS record's declared length was counted at its
	 * header, and what is left of it once the TLS layer stopped inside it
	 * (those bytes come as opaque bytes, already counted). */
	bool rec_counted[2];
	uint64_t owed[2];
	uint64_t now_us; /* timestamp of the event being handled */
	/* Where the event being handled came from (rw_session_at), and the
	 * stream offset of the data being handled, per side. */
	const char *at_file;
	uint64_t at_frame;
	uint64_t chunk_off[2];
	struct rw_inspect *insp; /* inspection's decoder (inspect.c), NULL when off */
};

/* Notes where the fact just recorded (at now_us, sent by dir) was seen. */
void sess_mark(struct rw_session *s, enum rw_dir dir);

/* Phases only move forward; a skipped one (nla without NLA) stays unreached. */
static inline void enter_phase(struct rw_session *s, enum rw_phase p)
{
	if (p <= s->phase)
		return;
	s->phase = p;
	s->rec.phase_reached[p] = true;
	s->rec.phase_ts_us[p] = s->now_us;
}

static inline void touch(struct rw_session *s, uint64_t ts_us)
{
	s->now_us = ts_us;
	if (ts_us > s->rec.ts_close_us)
		s->rec.ts_close_us = ts_us;
}

/* session.c */
void sess_count_flight(struct rw_session *s, enum rw_dir dir, size_t len);
void sess_start_app(struct rw_session *s);
void sess_data_common(struct rw_session *s, enum rw_dir dir, uint64_t ts_us, size_t n);
/* inspect.c */
struct rw_inspect;
void sess_inspect_free(struct rw_inspect *in);

#endif
