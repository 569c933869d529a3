/* Record -> ladder events. Every event comes from a field of the record; the
 * sort key of an event without a time is the time of the one it follows, so
 * that a stable sort keeps it in its place. */
#include "ladder.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "record_format.h"
#include "rw_types.h"
#include "x224.h"

struct builder {
	const struct rw_record *rec;
	struct rw_ladder_event *ev;
	size_t n;
};

static uint64_t rel(const struct rw_record *rec, uint64_t ts)
{
	return ts > rec->ts_open_us ? ts - rec->ts_open_us : 0;
}

/* ts 0 means the record has no time for it: sorted at `after` (absolute). */
static struct rw_ladder_event *add(struct builder *b, enum rw_ladder_arrow arrow, uint64_t ts,
                                   uint64_t after, bool inferred, const char *label)
{
	if (b->n >= RW_LADDER_MAX)
		return NULL;
	struct rw_ladder_event *e = &b->ev[b->n++];
	memset(e, 0, sizeof(*e));
	e->arrow = arrow;
	e->timed = ts != 0;
	e->t_us = rel(b->rec, ts ? ts : after);
	e->inferred = inferred;
	/* Labels are short by construction; one cut short is still a label. */
	int n = snprintf(e->label, sizeof(e->label), "%s%s", label, inferred ? " (inferred)" : "");
	if (n < 0)
		e->label[0] = '\0';
	return e;
}

static void tcp_open(struct builder *b)
{
	const struct rw_record *r = b->rec;
	uint64_t t0 = r->phase_reached[RW_PHASE_TCP_CONNECT] ? r->phase_ts_us[RW_PHASE_TCP_CONNECT]
	                                                     : r->ts_open_us;
	if (r->saw_syn)
		add(b, RW_LADDER_C2S, t0 ? t0 : r->ts_open_us, 0, false, "SYN");
	else if (r->inferred_syn[RW_C2S])
		add(b, RW_LADDER_C2S, 0, t0, true, "SYN");
	/* The record keeps no SYN-ACK time: shown after the SYN, untimed. */
	if (r->saw_synack)
		add(b, RW_LADDER_S2C, 0, t0, false, "SYN-ACK");
	else if (r->inferred_syn[RW_S2C])
		add(b, RW_LADDER_S2C, 0, t0, true, "SYN-ACK");
}

static void x224(struct builder *b)
{
	const struct rw_record *r = b->rec;
	char l[RW_LADDER_LABEL];
	if (r->cr_seen) {
		const char *names[8];
		size_t n = rw_proto_names(r->requested_protocols, names);
		int k = snprintf(l, sizeof(l), "X.224 CR (");
		for (size_t i = 0; i < n && i < 8 && k > 0 && (size_t)k < sizeof(l); i++)
			k += snprintf(l + k, sizeof(l) - (size_t)k, "%s%s", i ? "|" : "",
			              names[i] ? names[i] : "?");
		if (k > 0 && (size_t)k < sizeof(l))
			snprintf(l + k, sizeof(l) - (size_t)k, "%s)", n ? "" : "rdp");
		if (r->cr_inferred)
			snprintf(l, sizeof(l), "client's first bytes, taken as X.224 CR");
		add(b, RW_LADDER_C2S, r->cr_ts_us, r->ts_open_us, r->cr_inferred, l);
	}
	if (r->cc_seen) {
		if (r->neg_failure_present) {
			const char *f = rw_neg_failure_name(r->neg_failure_code);
			if (f)
				snprintf(l, sizeof(l), "X.224 CC failure %s", f);
			else
				snprintf(l, sizeof(l), "X.224 CC failure 0x%08" PRIX32,
				         r->neg_failure_code);
		} else if (r->neg_rsp_present) {
			const char *p = rw_proto_name(r->selected_protocol);
			if (p)
				snprintf(l, sizeof(l), "X.224 CC (%s)", p);
			else
				snprintf(l, sizeof(l), "X.224 CC (0x%08" PRIX32 ")",
				         r->selected_protocol);
		} else {
			snprintf(l, sizeof(l), "X.224 CC (rdp)");
		}
		add(b, RW_LADDER_S2C, r->cc_ts_us, r->cr_ts_us, false, l);
	} else if (r->cc_inferred) {
		add(b, RW_LADDER_S2C, r->cc_inferred_ts_us, r->cr_ts_us, true, "answer to the CR");
	} else if (r->cr_seen) {
		add(b, RW_LADDER_NOTE, 0, r->cr_ts_us, false, "no confirm");
	}
}

static void tls(struct builder *b)
{
	const struct rw_record *r = b->rec;
	char l[RW_LADDER_LABEL], tmp[8];
	if (r->client_hello_seen || r->client_hello_inferred)
		add(b, RW_LADDER_C2S, r->ch_ts_us, r->cc_ts_us, r->client_hello_inferred,
		    r->client_hellos > 1 ? "ClientHello (x2, after HelloRetryRequest)"
		                         : "ClientHello");
	else if (r->sslv2_client_hello)
		add(b, RW_LADDER_C2S, r->ch_ts_us, r->cc_ts_us, false, "SSLv2 ClientHello");
	if (r->server_hello_seen) {
		snprintf(l, sizeof(l), "ServerHello %s%s",
		         rw_format_tls_version(r->sh.version, tmp),
		         r->certificate_seen ? ", Certificate" : "");
		/* The record times the Certificate, not the ServerHello before it. */
		add(b, RW_LADDER_S2C, r->certificate_seen ? r->cert_ts_us : 0, r->ch_ts_us, false,
		    l);
	}
	if (rw_record_tls_established(r) && r->tls_done_ts_us)
		add(b, RW_LADDER_NOTE, r->tls_done_ts_us, 0, false, "TLS established");
	for (int d = 0; d < 2; d++) {
		const struct rw_alert *a = &r->alert[d];
		enum rw_ladder_arrow arrow = d == RW_C2S ? RW_LADDER_C2S : RW_LADDER_S2C;
		if (a->seen) {
			snprintf(l, sizeof(l), "TLS alert %s", rw_format_alert_desc(a, tmp));
			add(b, arrow, a->ts_us, r->ch_ts_us, a->inferred, l);
		} else if (r->inferred_alert[d]) {
			add(b, arrow, r->last_data_ts_us[d], r->ch_ts_us, true, "TLS alert");
		}
	}
}

static void later_phases(struct builder *b)
{
	const struct rw_record *r = b->rec;
	char l[RW_LADDER_LABEL];
	if (rw_record_shows_phase(r, RW_PHASE_NLA)) {
		if (r->nla_flights[0] || r->nla_flights[1])
			snprintf(l, sizeof(l),
			         "NLA: client %" PRIu32 ", server %" PRIu32 " flights",
			         r->nla_flights[0], r->nla_flights[1]);
		else
			snprintf(l, sizeof(l), "NLA (CredSSP)");
		add(b, RW_LADDER_NOTE, r->phase_ts_us[RW_PHASE_NLA], r->tls_done_ts_us, false, l);
	}
	if (rw_record_shows_phase(r, RW_PHASE_RDP))
		add(b, RW_LADDER_NOTE, r->phase_ts_us[RW_PHASE_RDP], 0, false, "RDP (MCS) begins");
	if (rw_record_shows_phase(r, RW_PHASE_ESTABLISHED))
		add(b, RW_LADDER_NOTE, r->phase_ts_us[RW_PHASE_ESTABLISHED], 0, false,
		    "session established");
}

static void closes(struct builder *b)
{
	const struct rw_record *r = b->rec;
	bool shown[2][2] = {{false, false}, {false, false}}; /* [dir][rst] */
	for (int d = 0; d < 2; d++) {
		enum rw_ladder_arrow arrow = d == RW_C2S ? RW_LADDER_C2S : RW_LADDER_S2C;
		if (r->fin_seen[d] || r->inferred_fin[d]) {
			add(b, arrow, r->fin_ts_us[d], r->ts_close_us, !r->fin_seen[d], "FIN");
			shown[d][0] = true;
		}
		if (r->rst_seen[d] || r->inferred_rst[d]) {
			char l[RW_LADDER_LABEL];
			if (r->rst_seen[d] && r->rst_ttl[d] >= 0)
				snprintf(l, sizeof(l), "RST (ttl %d)", r->rst_ttl[d]);
			else
				snprintf(l, sizeof(l), "RST");
			add(b, arrow, r->rst_ts_us[d], r->ts_close_us, !r->rst_seen[d], l);
			shown[d][1] = true;
		}
	}
	/* A front end that reports the first close but not the per-side fields. */
	if (r->closed &&
	    (r->first_close_kind == RW_CLOSE_FIN || r->first_close_kind == RW_CLOSE_RST)) {
		int d = r->first_close_dir == RW_C2S ? 0 : 1;
		int k = r->first_close_kind == RW_CLOSE_RST;
		if (!shown[d][k])
			add(b, d == 0 ? RW_LADDER_C2S : RW_LADDER_S2C, r->first_close_ts_us,
			    r->ts_close_us, false, k ? "RST" : "FIN");
	}
	if (r->timed_out) {
		char l[RW_LADDER_LABEL];
		snprintf(l, sizeof(l), "%s timeout in %s",
		         r->proxy ? "proxy" : "no answer:", rw_phase_name(r->timeout_phase));
		add(b, RW_LADDER_NOTE, r->timeout_ts_us, r->ts_close_us, false, l);
	}
}

size_t rw_ladder_build(const struct rw_record *rec, struct rw_ladder_event ev[RW_LADDER_MAX])
{
	struct builder b = {rec, ev, 0};
	if (rec->scan.on)
		return 0; /* a summary of many attempts, not one connection */
	tcp_open(&b);
	x224(&b);
	tls(&b);
	later_phases(&b);
	closes(&b);
	/* Stable insertion sort: equal times keep the wire order above. */
	for (size_t i = 1; i < b.n; i++) {
		struct rw_ladder_event e = ev[i];
		size_t j = i;
		while (j > 0 && ev[j - 1].t_us > e.t_us) {
			ev[j] = ev[j - 1];
			j--;
		}
		ev[j] = e;
	}
	return b.n;
}

void rw_ladder_time(uint64_t us, char out[RW_PLUS_MS_STR_MAX])
{
	/* "+1.234 ms" below 10 ms, "+1234 ms" from there. */
	rw_format_plus_ms(us, us < 10000, out);
}
