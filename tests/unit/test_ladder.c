/* The ladder: which events a record yields, in which order, from which side,
 * marked inferred or untimed; nothing the record does not hold; and the
 * text rendering (header, blank time for an untimed event, all or nothing). */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ladder.h"
#include "record.h"
#include "record_fixtures.h"

struct want {
	enum rw_ladder_arrow arrow;
	bool timed;
	uint64_t t_us;
	bool inferred;
	const char *label;
};

static void check(const struct rw_record *r, const struct want *w, size_t n)
{
	struct rw_ladder_event ev[RW_LADDER_MAX];
	size_t got = rw_ladder_build(r, ev);
	for (size_t i = 0; i < got && i < n; i++) {
		if (strcmp(ev[i].label, w[i].label) != 0 || ev[i].arrow != w[i].arrow ||
		    ev[i].timed != w[i].timed || ev[i].inferred != w[i].inferred ||
		    (w[i].timed && ev[i].t_us != w[i].t_us))
			fail_msg("event %zu: got '%s' arrow %d timed %d t %llu inferred %d, want "
			         "'%s' "
			         "arrow %d timed %d t %llu inferred %d",
			         i, ev[i].label, ev[i].arrow, ev[i].timed,
			         (unsigned long long)ev[i].t_us, ev[i].inferred, w[i].label,
			         w[i].arrow, w[i].timed, (unsigned long long)w[i].t_us,
			         w[i].inferred);
	}
	assert_int_equal(got, n);
}

#define C RW_LADDER_C2S
#define S RW_LADDER_S2C
#define N RW_LADDER_NOTE

/* The fixture's record times the SYN, the alert and the FIN only: the rest
 * is in wire order with no time. */
static void test_full_record(void **state)
{
	(void)state;
	struct rw_record r;
	fill_full(&r);
	const struct want w[] = {
	        {C, true, 0, false, "SYN"},
	        {S, false, 0, false, "SYN-ACK"},
	        {C, false, 0, false, "X.224 CR (ssl|hybrid)"},
	        {S, false, 0, false, "X.224 CC (ssl)"},
	        {C, false, 0, false, "ClientHello"},
	        {S, false, 0, false, "ServerHello 1.2, Certificate"},
	        {C, true, 3500, false, "TLS alert unknown_ca"},
	        {C, true, 1234000, false, "FIN"},
	};
	check(&r, w, sizeof(w) / sizeof(w[0]));
}

/* A timed handshake: every flight at its own time, sorted. */
static void test_timed_handshake(void **state)
{
	(void)state;
	struct rw_record r;
	fill_full(&r);
	r.cr_ts_us = T0 + 300;
	r.cc_ts_us = T0 + 900;
	r.ch_ts_us = T0 + 1200;
	r.cert_ts_us = T0 + 2000;
	r.requested_protocols = 0; /* standard RDP security asked for */
	r.neg_req_present = false;
	/* The server's RST before the client's alert arrives in the record. */
	r.rst_seen[RW_S2C] = true;
	r.rst_ts_us[RW_S2C] = T0 + 3000;
	r.rst_ttl[RW_S2C] = 128;
	const struct want w[] = {
	        {C, true, 0, false, "SYN"},
	        {S, false, 0, false, "SYN-ACK"},
	        {C, true, 300, false, "X.224 CR (rdp)"},
	        {S, true, 900, false, "X.224 CC (ssl)"},
	        {C, true, 1200, false, "ClientHello"},
	        {S, true, 2000, false, "ServerHello 1.2, Certificate"},
	        {S, true, 3000, false, "RST (ttl 128)"},
	        {C, true, 3500, false, "TLS alert unknown_ca"},
	        {C, true, 1234000, false, "FIN"},
	};
	check(&r, w, sizeof(w) / sizeof(w[0]));
}

/* Nothing the record does not hold: a refusal seen without its SYN has no
 * event at all; with the SYN and the RST, just those two. */
static void test_nothing_invented(void **state)
{
	(void)state;
	struct rw_record r;
	fill_minimal(&r);
	struct rw_ladder_event ev[RW_LADDER_MAX];
	assert_int_equal(rw_ladder_build(&r, ev), 0);
	struct rw_buf b = RW_BUF_INIT;
	assert_int_equal(rw_ladder_text(&r, &b), 0);
	assert_int_equal(b.len, 0);
	r.saw_syn = true;
	r.rst_seen[RW_S2C] = true;
	r.rst_ts_us[RW_S2C] = T0 + 15;
	const struct want w[] = {
	        {C, true, 0, false, "SYN"},
	        {S, true, 15, false, "RST"},
	};
	check(&r, w, 2);
	rw_buf_free(&b);
}

/* A Connection Request never answered: "no confirm", untimed, after it;
 * then the client's FIN. */
static void test_no_confirm(void **state)
{
	(void)state;
	struct rw_record r;
	fill_minimal(&r);
	r.connect_failed = 0;
	r.saw_syn = r.saw_synack = true;
	r.cr_seen = true;
	r.cr_ts_us = T0 + 222;
	r.requested_protocols = 0x1;
	r.fin_seen[RW_C2S] = true;
	r.fin_ts_us[RW_C2S] = T0 + 6664000;
	const struct want w[] = {
	        {C, true, 0, false, "SYN"},
	        {S, false, 0, false, "SYN-ACK"},
	        {C, true, 222, false, "X.224 CR (ssl)"},
	        {N, false, 222, false, "no confirm"},
	        {C, true, 6664000, false, "FIN"},
	};
	check(&r, w, sizeof(w) / sizeof(w[0]));
}

/* A refusal in the Connection Confirm, named; an unknown code in hex. */
static void test_negotiation_failure(void **state)
{
	(void)state;
	struct rw_record r;
	fill_minimal(&r);
	r.connect_failed = 0;
	r.cr_seen = r.cc_seen = true;
	r.cr_ts_us = T0 + 100;
	r.cc_ts_us = T0 + 200;
	r.requested_protocols = 0x1;
	r.neg_failure_present = true;
	r.neg_failure_code = 5;
	struct rw_ladder_event ev[RW_LADDER_MAX];
	assert_int_equal(rw_ladder_build(&r, ev), 2);
	assert_string_equal(ev[1].label, "X.224 CC failure hybrid_required_by_server");
	assert_int_equal(ev[1].arrow, S);
	r.neg_failure_code = 0x77;
	assert_int_equal(rw_ladder_build(&r, ev), 2);
	assert_string_equal(ev[1].label, "X.224 CC failure 0x00000077");
}

/* A capture of the client's packets only: what the server did is inferred
 * from the client's ACKs, and each such event says so. */
static void test_one_direction_inferred(void **state)
{
	(void)state;
	struct rw_record r;
	fill_minimal(&r);
	r.connect_failed = 0;
	r.directions = RW_DIRS_CLIENT_ONLY;
	r.saw_syn = true;
	r.inferred_syn[RW_S2C] = true;
	r.cr_seen = true;
	r.cr_ts_us = T0 + 100;
	r.requested_protocols = 0x3;
	r.cc_inferred = true;
	r.cc_inferred_ts_us = T0 + 400;
	r.inferred_alert[RW_S2C] = true;
	r.last_data_ts_us[RW_S2C] = T0 + 900;
	r.inferred_fin[RW_S2C] = true;
	r.fin_ts_us[RW_S2C] = T0 + 950;
	r.inferred_rst[RW_C2S] = false;
	const struct want w[] = {
	        {C, true, 0, false, "SYN"},
	        {S, false, 0, true, "SYN-ACK (inferred)"},
	        {C, true, 100, false, "X.224 CR (ssl|hybrid)"},
	        {S, true, 400, true, "answer to the CR (inferred)"},
	        {S, true, 900, true, "TLS alert (inferred)"},
	        {S, true, 950, true, "FIN (inferred)"},
	};
	check(&r, w, sizeof(w) / sizeof(w[0]));
}

/* An encrypted alert from the server, NLA flights after TLS, a proxy's
 * phase timer: notes between the columns. */
static void test_alert_nla_timeout(void **state)
{
	(void)state;
	struct rw_record r;
	fill_minimal(&r);
	r.connect_failed = 0;
	r.verdict.cause = RW_CAUSE_NLA_FAILED;
	r.verdict.phase = RW_PHASE_NLA;
	r.client_hello_seen = true;
	r.ch_ts_us = T0 + 1000;
	r.tls_established = true;
	r.tls_done_ts_us = T0 + 2000;
	r.phase_reached[RW_PHASE_NLA] = true;
	r.phase_ts_us[RW_PHASE_NLA] = T0 + 2500;
	r.nla_flights[RW_C2S] = 3;
	r.nla_flights[RW_S2C] = 2;
	r.alert[RW_S2C] = (struct rw_alert){.seen = true, .encrypted = true, .ts_us = T0 + 4000};
	r.proxy = true;
	r.timed_out = true;
	r.timeout_phase = RW_PHASE_NLA;
	r.timeout_ts_us = T0 + 30000000;
	/* A phase the verdict does not show is not drawn. */
	r.phase_reached[RW_PHASE_RDP] = true;
	r.phase_ts_us[RW_PHASE_RDP] = T0 + 5000;
	const struct want w[] = {
	        {C, true, 1000, false, "ClientHello"},
	        {N, true, 2000, false, "TLS established"},
	        {N, true, 2500, false, "NLA: client 3, server 2 flights"},
	        {S, true, 4000, false, "TLS alert encrypted"},
	        {N, true, 30000000, false, "proxy timeout in nla"},
	};
	check(&r, w, sizeof(w) / sizeof(w[0]));
}

/* The first close from the record's summary fields when the per-side ones
 * are not filled; a scan summary has no ladder. */
static void test_first_close_and_scan(void **state)
{
	(void)state;
	struct rw_record r;
	fill_minimal(&r);
	r.connect_failed = 0;
	r.closed = true;
	r.first_close_dir = RW_S2C;
	r.first_close_kind = RW_CLOSE_RST;
	r.first_close_ts_us = T0 + 77;
	const struct want w[] = {{S, true, 77, false, "RST"}};
	check(&r, w, 1);
	r.scan.on = true;
	struct rw_ladder_event ev[RW_LADDER_MAX];
	assert_int_equal(rw_ladder_build(&r, ev), 0);
}

static void test_time_format(void **state)
{
	(void)state;
	char t[RW_PLUS_MS_STR_MAX];
	rw_ladder_time(0, t);
	assert_string_equal(t, "+0.000 ms");
	rw_ladder_time(9999, t);
	assert_string_equal(t, "+9.999 ms");
	rw_ladder_time(10000, t);
	assert_string_equal(t, "+10 ms");
	rw_ladder_time(123456789, t);
	assert_string_equal(t, "+123456 ms");
}

static const char full_ladder[] =
        "  ladder                client                                 server\n"
        "             +0.000 ms  SYN -------------------------------------->\n"
        "                        <---------------------------------- SYN-ACK\n"
        "                        X.224 CR (ssl|hybrid) -------------------->\n"
        "                        <--------------------------- X.224 CC (ssl)\n"
        "                        ClientHello ------------------------------>\n"
        "                        <------------- ServerHello 1.2, Certificate\n"
        "             +3.500 ms  TLS alert unknown_ca --------------------->\n"
        "             +1234 ms   FIN -------------------------------------->\n";

static void test_text(void **state)
{
	(void)state;
	struct rw_record r;
	fill_full(&r);
	struct rw_buf b = RW_BUF_INIT;
	assert_int_equal(rw_ladder_text(&r, &b), 0);
	assert_string_equal(rw_buf_str(&b), full_ladder);
	rw_buf_free(&b);
	/* A note is centred between the columns. */
	fill_minimal(&r);
	r.cr_seen = true;
	r.cr_ts_us = T0 + 5;
	rw_buf_init(&b, 0);
	assert_int_equal(rw_ladder_text(&r, &b), 0);
	assert_non_null(strstr(rw_buf_str(&b),
	                       "\n                                       [ no confirm ]\n"));
	rw_buf_free(&b);
}

static void test_text_all_or_nothing(void **state)
{
	(void)state;
	check_all_or_nothing(rw_ladder_text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_full_record),
	        cmocka_unit_test(test_timed_handshake),
	        cmocka_unit_test(test_nothing_invented),
	        cmocka_unit_test(test_no_confirm),
	        cmocka_unit_test(test_negotiation_failure),
	        cmocka_unit_test(test_one_direction_inferred),
	        cmocka_unit_test(test_alert_nla_timeout),
	        cmocka_unit_test(test_first_close_and_scan),
	        cmocka_unit_test(test_time_format),
	        cmocka_unit_test(test_text),
	        cmocka_unit_test(test_text_all_or_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
