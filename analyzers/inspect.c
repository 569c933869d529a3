/* Inspection: the per-session decoder of the plaintext an inspecting proxy
 * relays inside TLS. Each direction is a stream of messages told apart by
 * their first byte: CredSSP TSRequests (DER SEQUENCE, 0x30), slow-path RDP
 * PDUs (TPKT, 0x03), fast-path PDUs (action bits 0) and, from a HYBRID_EX
 * host right after CredSSP, the 4-byte Early User Authorization Result.
 * Every message is framed by its own length; only its head is kept (a
 * TSRequest whole, up to TSREQ_CAP) and wiped once read, so credentials
 * (TSCredentials, NTLM responses, the Client Info PDU) are never held past
 * the call that delivered them, and never reach the record. */
#include "inspect.h"

#include <stdlib.h>
#include <string.h>

#include "credssp.h"
#include "kerberos.h"
#include "ntlm.h"
#include "rdp_pdu.h"
#include "session_state.h"
#include "x224.h"

/* Largest TSRequest kept whole; a longer one (a Kerberos AP-REQ with a big
 * PAC) is read from its head only: the token's kind, never its contents. */
#define TSREQ_CAP (16 * 1024)
/* Head kept of an RDP PDU: enough for the Share Data Header and a Save
 * Session Info's Logon Errors Info after an auto-reconnect cookie. */
#define PDU_HEAD 128
/* A TSRequest longer than this is not CredSSP. */
#define TSREQ_MAX (1u << 20)

enum imode {
	I_START, /* at a message boundary */
	I_MSG,   /* inside a message: kind, total (once known), kept, seen */
	I_DEAD,  /* undecodable: the direction is no longer read */
};

enum ikind { K_TSREQ, K_TPKT, K_FASTPATH, K_EUAR };

struct idir {
	enum imode mode;
	enum ikind kind;
	size_t total; /* 0 until the header gave it */
	size_t seen;  /* bytes of the message consumed */
	size_t kept;  /* bytes of it in buf */
	size_t keep;  /* how many to keep */
	uint8_t head[PDU_HEAD];
	uint8_t *big; /* a TSRequest longer than PDU_HEAD (freed once read) */
};

struct rw_inspect {
	struct idir d[2];
};

static void wipe(void *p, size_t n)
{
	volatile uint8_t *v = p;
	while (n--)
		*v++ = 0;
}

void sess_inspect_free(struct rw_inspect *in)
{
	if (!in)
		return;
	for (int d = 0; d < 2; d++) {
		if (in->d[d].big) {
			wipe(in->d[d].big, in->d[d].kept);
			free(in->d[d].big);
		}
		wipe(in->d[d].head, sizeof(in->d[d].head));
	}
	free(in);
}

void rw_session_set_inspected(struct rw_session *s, bool on)
{
	s->rec.inspect.inspected = on;
	if (on && !s->insp)
		s->insp = calloc(1, sizeof(*s->insp));
	if (!on) {
		sess_inspect_free(s->insp);
		s->insp = NULL;
	}
}

static uint8_t *buf_of(struct idir *d)
{
	return d->big ? d->big : d->head;
}

/* DER SEQUENCE header: the whole TLV's size, RW_E_NEED_MORE, or an error. */
static long der_total(const uint8_t *p, size_t n)
{
	if (n < 2)
		return RW_E_NEED_MORE;
	size_t h = 2, len = p[1];
	if (len >= 0x80) {
		size_t k = len & 0x7F;
		if (k == 0 || k > 4)
			return RW_E_LENGTH;
		if (n < 2 + k)
			return RW_E_NEED_MORE;
		h += k;
		len = 0;
		for (size_t i = 0; i < k; i++)
			len = len << 8 | p[2 + i];
	}
	if (len > TSREQ_MAX)
		return RW_E_LENGTH;
	return (long)(h + len);
}

static long msg_total(struct idir *d, const uint8_t *p, size_t n)
{
	switch (d->kind) {
	case K_TSREQ:
		return der_total(p, n);
	case K_TPKT:
		return rw_tpkt_length(p, n);
	case K_FASTPATH:
		return rw_fastpath_length(p, n);
	case K_EUAR:
		return 4;
	}
	return RW_E_TYPE;
}

/* A TSRequest kept only in part: its negoToken's head, found by walking the
 * headers of version [0] and negoTokens [1] SEQUENCE OF SEQUENCE { [0]
 * OCTET STRING }. NULL when the head does not reach it. */
static const uint8_t *token_head(const uint8_t *p, size_t n, size_t *len)
{
	static const uint8_t path[] = {0x30, 0xA1, 0x30, 0x30, 0xA0, 0x04};
	size_t at = 0;
	for (size_t step = 0; step < sizeof(path) + 1; step++) {
		if (at + 2 > n)
			return NULL;
		uint8_t tag = p[at];
		size_t h = 2, l = p[at + 1];
		if (l >= 0x80) {
			size_t k = l & 0x7F;
			if (k == 0 || k > 4 || at + 2 + k > n)
				return NULL;
			h += k;
			l = 0;
			for (size_t i = 0; i < k; i++)
				l = l << 8 | p[at + 2 + i];
		}
		if (step == 1 && tag == 0xA0) { /* version: skip it, stay at step 1 */
			at += h + l;
			if (at >= n || p[at] != 0xA1)
				return NULL;
			tag = p[at];
			h = 2;
			l = p[at + 1];
			if (at + 2 > n)
				return NULL;
			if (l >= 0x80) {
				size_t k = l & 0x7F;
				if (k == 0 || k > 4 || at + 2 + k > n)
					return NULL;
				h += k;
			}
		}
		if (step == sizeof(path))
			break;
		if (tag != path[step])
			return NULL;
		at += h;
		if (step == sizeof(path) - 1) {
			*len = n - at < l ? n - at : l;
			return p + at;
		}
	}
	return NULL;
}

static void on_token(struct rw_session *s, enum rw_dir dir, uint64_t ts, const uint8_t *tok,
                     size_t len)
{
	struct rw_inspect_facts *f = &s->rec.inspect;
	struct rw_auth_token_info info;
	if (rw_auth_token_parse(tok, len, &info) < 0 && info.kind == RW_AUTH_UNKNOWN)
		return;
	if (info.kind == RW_AUTH_NTLM && info.ntlm_type) {
		f->ntlm_seen[dir] |= (uint8_t)(1u << info.ntlm_type);
		if (dir == RW_C2S && info.ntlm_type == 3)
			f->auth_then_silence = true;
		if (dir == RW_S2C && info.ntlm_type == 2 && info.ntlm) {
			struct rw_ntlm_challenge ch;
			if (rw_ntlm_challenge_parse(info.ntlm, info.ntlm_len, &ch) >= 0 &&
			    ch.has_timestamp)
				rw_session_host_clock(s, ts, rw_filetime_to_unix_us(ch.timestamp));
		}
	}
	if (info.mech_kerberos || info.kind == RW_AUTH_KRB_AP_REQ ||
	    info.kind == RW_AUTH_KRB_AP_REP || info.kind == RW_AUTH_KRB_ERROR)
		f->kerberos = true;
	if (dir == RW_S2C && info.kind == RW_AUTH_KRB_ERROR) {
		f->has_krb_error = true;
		f->krb_error = info.krb_error;
		f->krb_error_ts_us = ts;
		f->has_krb_stime = info.has_stime;
		f->krb_stime_us = info.has_stime ? info.stime_unix_us : 0;
	}
}

static void on_tsrequest(struct rw_session *s, enum rw_dir dir, uint64_t ts, const uint8_t *p,
                         size_t kept, size_t total)
{
	struct rw_inspect_facts *f = &s->rec.inspect;
	f->credssp = true;
	f->tsrequests[dir]++;
	enter_phase(s, RW_PHASE_NLA);
	if (dir == RW_S2C)
		f->auth_then_silence = false; /* the server answered */
	if (kept < total) {
		size_t tl;
		const uint8_t *tok = token_head(p, kept, &tl);
		if (tok)
			on_token(s, dir, ts, tok, tl);
		return;
	}
	struct rw_tsrequest t;
	int r = rw_tsrequest_parse(p, total, &t);
	if (r < 0) {
		if (!f->decode_error[dir])
			f->decode_error[dir] = r;
		return;
	}
	if (dir == RW_S2C) {
		f->credssp_version = t.version;
		if (t.has_error_code && t.error_code != 0) {
			f->has_ntstatus = true;
			f->ntstatus = t.error_code;
			f->ntstatus_ts_us = ts;
		}
	} else if (t.has_auth_info) {
		f->credentials_sent = true; /* the TSCredentials themselves are not read */
		f->auth_then_silence = false;
	}
	if (t.nego_token)
		on_token(s, dir, ts, t.nego_token, t.nego_token_len);
}

static void on_pdu(struct rw_session *s, enum rw_dir dir, uint64_t ts, const uint8_t *p,
                   size_t kept, size_t total)
{
	struct rw_inspect_facts *f = &s->rec.inspect;
	struct rw_rdp_pdu pdu;
	f->rdp_seen[dir] = true;
	enter_phase(s, RW_PHASE_RDP);
	int r = rw_rdp_pdu_parse(p, kept, total, &pdu);
	if (r < 0) {
		if (r != RW_E_NEED_MORE && !f->decode_error[dir])
			f->decode_error[dir] = r;
		return;
	}
	switch (pdu.kind) {
	case RW_RDP_PDU_ULTIMATUM:
		if (!f->ultimatum[dir]) {
			f->ultimatum[dir] = true;
			f->ultimatum_reason[dir] = pdu.reason;
		}
		break;
	case RW_RDP_PDU_DEMAND_ACTIVE:
		if (dir == RW_S2C)
			f->demand_active = true;
		break;
	case RW_RDP_PDU_SET_ERROR_INFO:
		if (dir == RW_S2C && pdu.error_info != 0) {
			f->has_error_info = true;
			f->error_info = pdu.error_info;
			f->error_info_ts_us = ts;
		}
		break;
	case RW_RDP_PDU_SAVE_SESSION_INFO:
		if (dir != RW_S2C)
			break;
		f->logon_info_type = pdu.info_type;
		if (pdu.has_logon_error) {
			f->has_logon_error = true;
			f->logon_error_type = pdu.logon_error_type;
			f->logon_error_data = pdu.logon_error_data;
		}
		if (!pdu.has_logon_error || pdu.logon_error_data > 2) {
			f->logon_seen = true;
			enter_phase(s, RW_PHASE_ESTABLISHED);
		}
		break;
	default:
		break;
	}
}

static void on_message(struct rw_session *s, enum rw_dir dir, uint64_t ts, struct idir *d)
{
	uint8_t *p = buf_of(d);
	struct rw_inspect_facts *f = &s->rec.inspect;
	switch (d->kind) {
	case K_TSREQ:
		on_tsrequest(s, dir, ts, p, d->kept, d->total);
		break;
	case K_TPKT:
		on_pdu(s, dir, ts, p, d->kept, d->total);
		break;
	case K_EUAR:
		f->has_early_auth = true;
		f->early_auth = rw_le32(p);
		enter_phase(s, RW_PHASE_RDP);
		break;
	case K_FASTPATH:
		f->rdp_seen[dir] = true;
		break;
	}
	wipe(p, d->kept);
	if (d->big) {
		free(d->big);
		d->big = NULL;
	}
	d->mode = I_START;
	d->kept = d->seen = d->total = 0;
}

static void dead(struct rw_session *s, enum rw_dir dir, struct idir *d, int status)
{
	if (!s->rec.inspect.decode_error[dir])
		s->rec.inspect.decode_error[dir] = status;
	wipe(buf_of(d), d->kept);
	free(d->big);
	d->big = NULL;
	d->kept = 0;
	d->mode = I_DEAD;
}

/* The Early User Authorization Result comes from a HYBRID_EX host after its
 * last TSRequest, before any TPKT. */
static bool euar_expected(const struct rw_session *s, enum rw_dir dir)
{
	const struct rw_inspect_facts *f = &s->rec.inspect;
	return dir == RW_S2C && s->rec.selected_protocol == RW_PROTO_HYBRID_EX &&
	       f->tsrequests[RW_S2C] > 0 && !f->rdp_seen[RW_S2C] && !f->has_early_auth;
}

void rw_session_plaintext(struct rw_session *s, enum rw_dir dir, uint64_t ts_us, const uint8_t *p,
                          size_t n)
{
	if (!s->insp || n == 0 || (dir != RW_C2S && dir != RW_S2C))
		return;
	touch(s, ts_us);
	struct idir *d = &s->insp->d[dir];
	while (n > 0 && d->mode != I_DEAD) {
		if (d->mode == I_START) {
			if (p[0] == 0x30 && !s->rec.inspect.rdp_seen[dir])
				d->kind = K_TSREQ;
			else if (p[0] == 0x03)
				d->kind = K_TPKT;
			else if (euar_expected(s, dir))
				d->kind = K_EUAR;
			else if ((p[0] & 0x3) == 0 && s->rec.inspect.rdp_seen[dir])
				d->kind = K_FASTPATH;
			else {
				dead(s, dir, d, RW_E_TYPE);
				break;
			}
			d->mode = I_MSG;
			d->keep = d->kind == K_TSREQ      ? PDU_HEAD
			          : d->kind == K_FASTPATH ? 3
			                                  : PDU_HEAD;
		}
		/* Keep what is wanted of the message; skip the rest. Until its
		 * header gave the length, one byte at a time (at most 6). */
		size_t want = d->total ? d->total - d->seen : 1;
		size_t k = n < want ? n : want;
		size_t store = d->kept < d->keep ? d->keep - d->kept : 0;
		if (store > k)
			store = k;
		if (store) {
			memcpy(buf_of(d) + d->kept, p, store);
			d->kept += store;
		}
		d->seen += k;
		p += k;
		n -= k;
		if (!d->total) {
			long t = msg_total(d, buf_of(d), d->kept);
			if (t == RW_E_NEED_MORE && d->kept < d->keep)
				continue;
			if (t < 0) {
				dead(s, dir, d, t == RW_E_NEED_MORE ? RW_E_LENGTH : (int)t);
				break;
			}
			if ((size_t)t < d->seen) {
				dead(s, dir, d, RW_E_LENGTH);
				break;
			}
			d->total = (size_t)t;
			if (d->kind == K_TSREQ && d->total > PDU_HEAD) {
				/* the whole TSRequest, up to the cap */
				size_t cap = d->total < TSREQ_CAP ? d->total : TSREQ_CAP;
				uint8_t *b = malloc(cap);
				if (b) {
					memcpy(b, d->head, d->kept);
					wipe(d->head, d->kept);
					d->big = b;
					d->keep = cap;
				}
			} else if (d->keep > d->total) {
				d->keep = d->total;
			}
		}
		if (d->seen == d->total)
			on_message(s, dir, ts_us, d);
	}
}
