/* The verdict rules' shared context and helpers (private to analyzers/verdict*.c).
 * verdict.c holds the ordered rule table; each verdict_rules_*.c holds the
 * tests of one phase. A test adds the facts it used to the evidence (ev),
 * may say how sure it is (sure), name other causes the wire fits (maybe) and
 * what would tell them apart (tell). */
#ifndef RW_VERDICT_RULES_H
#define RW_VERDICT_RULES_H

#include <stdarg.h>
#include <stdio.h>

#include "session.h"
#include "tls_record.h"

/* A server side that stays silent this long and then closes timed out. */
#define SILENT_CLOSE_US (3ull * 1000000ull)

struct ctx {
	struct rw_record *r;
	struct rw_verdict *v;
	bool confidence_set;
	const char *remediation; /* a rule's own, when the default would not fit */
};

/* A rule that holds says how sure it is when that depends on the facts;
 * otherwise the table's confidence for its cause applies. */
static inline void sure(struct ctx *c, enum rw_confidence k)
{
	c->v->confidence = k;
	c->confidence_set = true;
}

/* Another cause the same wire fits, most likely first. */
static inline void maybe(struct ctx *c, enum rw_cause alt)
{
	struct rw_verdict *v = c->v;
	for (size_t i = 0; i < v->n_alternatives; i++)
		if (v->alternatives[i] == alt)
			return;
	if (v->n_alternatives < RW_MAX_ALTERNATIVES)
		v->alternatives[v->n_alternatives++] = alt;
}

static inline void tell(struct ctx *c, const char *how)
{
	c->v->tell_apart = how;
}

static inline void ev_v(struct ctx *c, int mark, const char *fmt, va_list ap)
        __attribute__((format(printf, 3, 0)));
static inline void ev_v(struct ctx *c, int mark, const char *fmt, va_list ap)
{
	struct rw_verdict *v = c->v;
	if (v->n_evidence >= RW_MAX_EVIDENCE)
		return;
	v->evidence_mark[v->n_evidence] = (int8_t)mark;
	vsnprintf(v->evidence[v->n_evidence++], RW_EVIDENCE_LEN, fmt, ap);
}

/* A fact that rests on no one packet (a count, a silence, a summary). */
static inline void ev(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void ev(struct ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ev_v(c, -1, fmt, ap);
	va_end(ap);
}

/* The mark of what `dir` sent at ts_us (any side's when none of dir's
 * matches); -1 when the session noted nothing then. */
static inline int mark_of(const struct rw_record *r, enum rw_dir dir, uint64_t ts_us)
{
	int any = -1;
	for (size_t i = 0; i < r->n_marks && i < RW_MAX_MARKS; i++) {
		if (r->marks[i].ts_us != ts_us)
			continue;
		if (r->marks[i].dir == (uint8_t)dir)
			return (int)i;
		if (any < 0)
			any = (int)i;
	}
	return any;
}

/* A fact seen in what `dir` sent at ts_us: the line points at that packet
 * (its frame, or the proxy's stream offset). */
static inline void ev_at(struct ctx *c, enum rw_dir dir, uint64_t ts_us, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static inline void ev_at(struct ctx *c, enum rw_dir dir, uint64_t ts_us, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ev_v(c, mark_of(c->r, dir, ts_us), fmt, ap);
	va_end(ap);
}

/* A fact about the connection's first close (FIN or RST): points at it. */
#define ev_close(c, ...) ev_at((c), (c)->r->first_close_dir, (c)->r->first_close_ts_us, __VA_ARGS__)

static inline const char *side_of(enum rw_dir d)
{
	return d == RW_C2S ? "client" : "server";
}

static inline const char *alert_name(const struct rw_alert *a)
{
	if (a->encrypted)
		return "(encrypted)";
	const char *n = rw_tls_alert_name(a->description);
	return n ? n : "unknown";
}

static inline double ms(uint64_t a, uint64_t b)
{
	return b > a ? (double)(b - a) / 1000.0 : 0.0;
}

/* The first handshake-phase alert, from either side. */
static inline const struct rw_alert *handshake_alert(const struct rw_record *r, enum rw_dir *from)
{
	const struct rw_alert *best = NULL;
	for (int d = 0; d < 2; d++) {
		const struct rw_alert *a = &r->alert[d];
		if (!a->seen || a->phase > RW_PHASE_TLS_HANDSHAKE)
			continue;
		if (!a->encrypted && (a->description == 0 || a->description == 90))
			continue; /* close_notify, user_canceled: a goodbye, not a reason */
		if (!best || a->ts_us < best->ts_us) {
			best = a;
			*from = (enum rw_dir)d;
		}
	}
	return best;
}

static inline bool closed_by(const struct rw_record *r, enum rw_dir d)
{
	return r->closed && r->first_close_dir == d;
}

static inline bool in_phase(const struct rw_record *r, enum rw_phase p)
{
	return r->closed ? r->first_close_phase == p : r->timed_out && r->timeout_phase == p;
}

/* The inline proxy's facts about the side it waited on or lost. */
static inline const struct rw_peer_tcp *proxy_peer(const struct rw_record *r,
                                                   enum rw_proxy_stop how)
{
	if (r->proxy_stop != how || !r->proxy_tcp[r->proxy_side].known)
		return NULL;
	return &r->proxy_tcp[r->proxy_side];
}

/* A ClientHello seen, or inferred in a server-only capture from the client's
 * bytes after a Confirm that selected TLS. */
static inline bool hello_sent(const struct rw_record *r)
{
	return r->client_hello_seen || r->client_hello_inferred;
}

/* ---- rule tests, in the files that hold them ---------------------------- */

/* verdict_rules_tcp.c: TCP connect, a vanished peer, MTU black holes, forged resets */
bool rw_rule_refused(struct ctx *c);
bool rw_rule_unreachable(struct ctx *c);
bool rw_rule_peer_vanished(struct ctx *c);
bool rw_rule_mtu_blackhole(struct ctx *c);
bool rw_rule_reset_injected(struct ctx *c);

/* verdict_rules_x224.c: the X.224 exchange and security negotiation */
bool rw_rule_neg_failure(struct ctx *c);
bool rw_rule_tls_middlebox(struct ctx *c);
bool rw_rule_not_rdp(struct ctx *c);
bool rw_rule_x224_closed(struct ctx *c);
bool rw_rule_x224_no_response(struct ctx *c);
bool rw_rule_client_cancelled_early(struct ctx *c);

/* verdict_rules_tls.c: the TLS handshake */
bool rw_rule_tls_altered(struct ctx *c);
bool rw_rule_alert_version(struct ctx *c);
bool rw_rule_alert_cipher(struct ctx *c);
bool rw_rule_cert_expired(struct ctx *c);
bool rw_rule_cert_rejected(struct ctx *c);
bool rw_rule_tls_rejected_no_alert(struct ctx *c);
bool rw_rule_other_alert(struct ctx *c);
bool rw_rule_alert_sized_answer(struct ctx *c);

/* verdict_rules_nla.c: CredSSP (NLA) and the RDP connection sequence */
bool rw_rule_clock_skew(struct ctx *c);
bool rw_rule_nla_failed(struct ctx *c);
bool rw_rule_nla_auth_only(struct ctx *c);
bool rw_rule_rdp_closed_by_server(struct ctx *c);

/* verdict_rules_inspect.c: inspection with the host's key (inside TLS) */
bool rw_rule_insp_clock_skew(struct ctx *c);
bool rw_rule_insp_logon_failure(struct ctx *c);
bool rw_rule_insp_password_expired(struct ctx *c);
bool rw_rule_insp_account_restricted(struct ctx *c);
bool rw_rule_insp_account_disabled(struct ctx *c);
bool rw_rule_insp_account_locked_out(struct ctx *c);
bool rw_rule_insp_account_expired(struct ctx *c);
bool rw_rule_insp_logon_type(struct ctx *c);
bool rw_rule_insp_no_authority(struct ctx *c);
bool rw_rule_insp_nla_other(struct ctx *c);
bool rw_rule_insp_server_denied(struct ctx *c);
bool rw_rule_insp_session_ended(struct ctx *c);
bool rw_rule_insp_time_limit(struct ctx *c);
bool rw_rule_insp_licensing(struct ctx *c);
bool rw_rule_insp_broker(struct ctx *c);
bool rw_rule_insp_host_failure(struct ctx *c);
bool rw_rule_insp_protocol_error(struct ctx *c);
bool rw_rule_insp_errinfo_logon(struct ctx *c);
bool rw_rule_insp_errinfo_other(struct ctx *c);
void rw_inspect_evidence(struct ctx *c);

/* verdict_rules_close.c: timeouts, resets and plain closes */
bool rw_rule_idle_closed(struct ctx *c);
bool rw_rule_client_silent(struct ctx *c);
bool rw_rule_timeout(struct ctx *c);
bool rw_rule_reset_by_server(struct ctx *c);
bool rw_rule_reset_by_client(struct ctx *c);
bool rw_rule_normal(struct ctx *c);
bool rw_rule_client_cancelled_late(struct ctx *c);
bool rw_rule_still_open(struct ctx *c);

#endif
