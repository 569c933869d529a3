/* Inspection with the host's key (issue #15): the decoders of the plaintext
 * inside TLS (SPNEGO/Kerberos, NTLM message types, the RDP PDUs after
 * CredSSP), the session's inspection decoder and the causes it gives, and
 * that no credential, hash or ticket reaches a record. Every byte sequence
 * is built from the specs by inspect_wire.c. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "credssp.h"
#include "inspect.h"
#include "inspect_wire.h"
#include "kerberos.h"
#include "mstsc_codes.h"
#include "rdp_pdu.h"
#include "record_format.h"
#include "session.h"
#include "testutil.h"

typedef struct rw_test_bytes bytes;

/* 2023-11-14T22:13:20Z: the test clock's start (testutil.c). */
#define T0_S 1700000000LL

static bool contains(const void *hay, size_t n, const void *needle, size_t k)
{
	const uint8_t *h = hay;
	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(h + i, needle, k) == 0)
			return true;
	return false;
}

/* ---- decoders ------------------------------------------------------------ */

static void test_krb_error(void **state)
{
	(void)state;
	bytes b = {.n = 0};
	iw_spnego_krb_error(&b, 37, "20231114222320Z", 123456);
	struct rw_auth_token_info t;
	assert_int_equal(rw_auth_token_parse(b.p, b.n, &t), 0);
	assert_int_equal(t.kind, RW_AUTH_KRB_ERROR);
	assert_true(t.spnego && t.mech_kerberos && t.has_neg_state);
	assert_int_equal(t.neg_state, 2); /* reject */
	assert_int_equal(t.krb_error, 37);
	assert_string_equal(rw_krb_error_name(t.krb_error), "KRB_AP_ERR_SKEW");
	assert_true(t.has_stime);
	assert_int_equal(t.stime_unix_us, (T0_S + 600) * 1000000LL + 123456);
	assert_false(t.truncated);
	/* Every prefix: never a crash, never another code. */
	for (size_t k = 0; k < b.n; k++) {
		struct rw_auth_token_info u;
		int r = rw_auth_token_parse(b.p, k, &u);
		assert_true(r == 0 || r < 0);
		if (u.kind == RW_AUTH_KRB_ERROR)
			assert_true(u.krb_error == 37 || u.krb_error == -1 || u.krb_error == 0);
	}
	b.n = 0;
	iw_spnego_krb_error(&b, 41, "20231114221320Z", 0);
	assert_int_equal(rw_auth_token_parse(b.p, b.n, &t), 0);
	assert_int_equal(t.krb_error, 41);
	assert_string_equal(rw_krb_error_name(41), "KRB_AP_ERR_MODIFIED");
	assert_null(rw_krb_error_name(30));
	assert_null(rw_krb_error_name(-1));
	int64_t s;
	assert_true(rw_krb_time_parse((const uint8_t *)"19700101000000Z", 15, &s) && s == 0);
	assert_false(rw_krb_time_parse((const uint8_t *)"19701301000000Z", 15, &s));
	assert_false(rw_krb_time_parse((const uint8_t *)"1970010100000Z", 14, &s));
}

static void test_krb_ap_req(void **state)
{
	(void)state;
	uint8_t ticket[300];
	memset(ticket, 0x42, sizeof(ticket));
	bytes b = {.n = 0};
	iw_spnego_krb_ap_req(&b, ticket, sizeof(ticket));
	struct rw_auth_token_info t;
	assert_int_equal(rw_auth_token_parse(b.p, b.n, &t), 0);
	assert_int_equal(t.kind, RW_AUTH_KRB_AP_REQ);
	assert_true(t.spnego && t.mech_kerberos);
	/* The head alone names it (a TSRequest longer than the decoder keeps). */
	assert_int_equal(rw_auth_token_parse(b.p, 70, &t), 0);
	assert_int_equal(t.kind, RW_AUTH_KRB_AP_REQ);
	assert_true(t.truncated);
	/* Not a token. */
	assert_true(rw_auth_token_parse((const uint8_t *)"\x30\x00", 2, &t) < 0);
}

static void test_ntlm_types(void **state)
{
	(void)state;
	bytes n = {.n = 0}, c = {.n = 0}, a = {.n = 0};
	iw_ntlm_negotiate(&n);
	iw_ntlm_challenge(&c, 0);
	iw_ntlm_authenticate(&a, (const uint8_t *)"0123456789abcdef", 16);
	assert_int_equal(rw_ntlm_message_type(n.p, n.n), 1);
	assert_int_equal(rw_ntlm_message_type(c.p, c.n), 2);
	assert_int_equal(rw_ntlm_message_type(a.p, a.n), 3);
	assert_int_equal(rw_ntlm_message_type(a.p, 11), RW_E_NEED_MORE);
	assert_int_equal(rw_ntlm_message_type((const uint8_t *)"NTLMSSQ", 7), RW_E_TYPE);
	uint8_t four[12] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0, 4, 0, 0, 0};
	assert_int_equal(rw_ntlm_message_type(four, 12), RW_E_TYPE);
	struct rw_auth_token_info t;
	assert_int_equal(rw_auth_token_parse(a.p, a.n, &t), 0);
	assert_int_equal(t.kind, RW_AUTH_NTLM);
	assert_int_equal(t.ntlm_type, 3);
	assert_string_equal(rw_ntlm_type_name(3), "AUTHENTICATE");
}

static void test_rdp_pdus(void **state)
{
	(void)state;
	struct rw_rdp_pdu pdu;
	bytes b = {.n = 0};
	iw_set_error_info(&b, 0x7);
	assert_int_equal(rw_rdp_pdu_parse(b.p, b.n, b.n, &pdu), 0);
	assert_int_equal(pdu.kind, RW_RDP_PDU_SET_ERROR_INFO);
	assert_int_equal(pdu.error_info, 7);
	assert_int_equal(pdu.channel, 1003);
	assert_string_equal(rw_errinfo_name(7), "ERRINFO_SERVER_DENIED_CONNECTION");
	/* A head too short for the field asks for more. */
	assert_int_equal(rw_rdp_pdu_parse(b.p, b.n - 1, b.n, &pdu), RW_E_NEED_MORE);

	/* The ultimatum T.125 encodes as 21 80 for rn-user-requested (3). */
	b.n = 0;
	iw_ultimatum(&b, 3);
	assert_int_equal(b.n, 9);
	assert_memory_equal(b.p + 7, "\x21\x80", 2);
	assert_int_equal(rw_rdp_pdu_parse(b.p, b.n, b.n, &pdu), 0);
	assert_int_equal(pdu.kind, RW_RDP_PDU_ULTIMATUM);
	assert_int_equal(pdu.reason, 3);
	assert_string_equal(rw_mcs_reason_name(3), "rn-user-requested");

	b.n = 0;
	iw_save_session_info(&b, 1, false, 0, 0);
	assert_int_equal(rw_rdp_pdu_parse(b.p, 128, b.n, &pdu), 0);
	assert_int_equal(pdu.kind, RW_RDP_PDU_SAVE_SESSION_INFO);
	assert_int_equal(pdu.info_type, 1);
	assert_false(pdu.has_logon_error);

	b.n = 0;
	iw_save_session_info(&b, 3, true, 0xFFFFFFFA, 2);
	assert_int_equal(rw_rdp_pdu_parse(b.p, 128, b.n, &pdu), 0);
	assert_true(pdu.has_logon_error);
	assert_int_equal(pdu.logon_error_type, 0xFFFFFFFA);
	assert_int_equal(pdu.logon_error_data, 2);
	assert_string_equal(rw_logon_error_type_name(0xFFFFFFFA), "LOGON_MSG_NO_PERMISSION");
	assert_string_equal(rw_logon_error_data_name(2), "LOGON_FAILED_OTHER");

	b.n = 0;
	iw_mcs_connect_initial(&b, 200);
	assert_int_equal(rw_rdp_pdu_parse(b.p, 20, b.n, &pdu), 0);
	assert_int_equal(pdu.kind, RW_RDP_PDU_MCS_CONNECT);

	b.n = 0;
	iw_fastpath(&b, 300);
	assert_int_equal(rw_fastpath_length(b.p, b.n), 300);
	assert_int_equal(rw_fastpath_length((const uint8_t *)"\x00\x05", 2), 5);
	assert_int_equal(rw_fastpath_length((const uint8_t *)"\x01\x05", 2), RW_E_TYPE);
	assert_int_equal(rw_fastpath_length((const uint8_t *)"\x00\x02", 2), RW_E_LENGTH);

	/* Not X.224 Data. */
	uint8_t cc[11] = {3, 0, 0, 11, 6, 0xD0, 0, 0, 0, 0, 0};
	assert_int_equal(rw_rdp_pdu_parse(cc, 11, 11, &pdu), RW_E_TYPE);
}

static void test_errinfo_causes(void **state)
{
	(void)state;
	assert_int_equal(rw_errinfo_cause(0), RW_CAUSE_UNKNOWN);
	assert_int_equal(rw_errinfo_cause(0x7), RW_CAUSE_SERVER_DENIED_CONNECTION);
	assert_int_equal(rw_errinfo_cause(0x9), RW_CAUSE_SERVER_DENIED_CONNECTION);
	assert_int_equal(rw_errinfo_cause(0x1), RW_CAUSE_SESSION_ENDED_BY_HOST);
	assert_int_equal(rw_errinfo_cause(0x5), RW_CAUSE_SESSION_ENDED_BY_HOST);
	assert_int_equal(rw_errinfo_cause(0x3), RW_CAUSE_SESSION_TIME_LIMIT);
	assert_int_equal(rw_errinfo_cause(0x6), RW_CAUSE_HOST_SESSION_FAILURE);
	assert_int_equal(rw_errinfo_cause(0x1A), RW_CAUSE_HOST_SESSION_FAILURE);
	assert_int_equal(rw_errinfo_cause(0x102), RW_CAUSE_RDP_LICENSING_FAILED);
	assert_int_equal(rw_errinfo_cause(0x400), RW_CAUSE_CONNECTION_BROKER_FAILED);
	assert_int_equal(rw_errinfo_cause(0x10C9), RW_CAUSE_RDP_PROTOCOL_ERROR);
	assert_int_equal(rw_errinfo_cause(0x1192), RW_CAUSE_RDP_PROTOCOL_ERROR);
	/* Every documented code maps to a cause, and has a name. */
	size_t n;
	const struct rw_mstsc_code *t = rw_mstsc_ext_table(&n);
	assert_true(n > 100);
	for (size_t i = 0; i < n; i++) {
		enum rw_cause c = rw_errinfo_cause(t[i].code);
		assert_true(c < RW_CAUSE_COUNT);
		assert_true(t[i].code == 0 ||
		            (c != RW_CAUSE_UNKNOWN && c != RW_CAUSE_RDP_CLOSED_BY_SERVER));
		assert_non_null(rw_errinfo_name(t[i].code));
	}
	assert_string_equal(rw_errinfo_name(0x102), "ERRINFO_LICENSE_NO_LICENSE");
}

static void test_ntstatus_causes(void **state)
{
	(void)state;
	static const struct {
		uint32_t st;
		const char *name;
		enum rw_cause cause;
	} t[] = {
	        {0xC000006D, "STATUS_LOGON_FAILURE", RW_CAUSE_NLA_LOGON_FAILURE},
	        {0xC000006A, "STATUS_WRONG_PASSWORD", RW_CAUSE_NLA_LOGON_FAILURE},
	        {0xC0000064, "STATUS_NO_SUCH_USER", RW_CAUSE_NLA_LOGON_FAILURE},
	        {0xC0000071, "STATUS_PASSWORD_EXPIRED", RW_CAUSE_NLA_PASSWORD_EXPIRED},
	        {0xC0000224, "STATUS_PASSWORD_MUST_CHANGE", RW_CAUSE_NLA_PASSWORD_EXPIRED},
	        {0xC000006E, "STATUS_ACCOUNT_RESTRICTION", RW_CAUSE_NLA_ACCOUNT_RESTRICTED},
	        {0xC000006F, "STATUS_INVALID_LOGON_HOURS", RW_CAUSE_NLA_ACCOUNT_RESTRICTED},
	        {0xC0000070, "STATUS_INVALID_WORKSTATION", RW_CAUSE_NLA_ACCOUNT_RESTRICTED},
	        {0xC0000072, "STATUS_ACCOUNT_DISABLED", RW_CAUSE_NLA_ACCOUNT_DISABLED},
	        {0xC0000234, "STATUS_ACCOUNT_LOCKED_OUT", RW_CAUSE_NLA_ACCOUNT_LOCKED_OUT},
	        {0xC0000193, "STATUS_ACCOUNT_EXPIRED", RW_CAUSE_NLA_ACCOUNT_EXPIRED},
	        {0xC000015B, "STATUS_LOGON_TYPE_NOT_GRANTED", RW_CAUSE_NLA_LOGON_TYPE_NOT_GRANTED},
	        {0xC000005E, "STATUS_NO_LOGON_SERVERS", RW_CAUSE_NLA_NO_AUTHORITY},
	        {0xC0000133, "STATUS_TIME_DIFFERENCE_AT_DC", RW_CAUSE_CLOCK_SKEW},
	        {0xC0000022, "STATUS_ACCESS_DENIED", RW_CAUSE_NLA_FAILED},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_string_equal(rw_ntstatus_name(t[i].st), t[i].name);
		assert_int_equal(rw_ntstatus_cause(t[i].st), t[i].cause);
	}
}

/* ---- sessions ------------------------------------------------------------ */

static const uint8_t secret[] = "\x88\x46\xf7\xea\xee\x8f\xb1\x17\xad\x06\xbd\xd8\x30\xb7\x58\x6c"
                                "PASSWORD-HASH-PATTERN";
#define SECRET_LEN (sizeof(secret) - 1)

/* The connection up to TLS (HYBRID) and the CredSSP ciphertext records. */
struct wire {
	bytes cr, cc, ch, sf, cf, sfin, c_rec, s_rec;
	/* plaintext */
	bytes neg, chal, auth, ts_neg, ts_chal, ts_auth, ts_err, ts_creds;
};

static void wire_init(struct wire *w, int proto)
{
	memset(w, 0, sizeof(*w));
	rw_test_cr(&w->cr, "alice", proto);
	rw_test_cc(&w->cc, 2, (uint32_t)proto);
	rw_test_put_client_hello(&w->ch, NULL, 0);
	rw_test_put_server_hello(&w->sf, 0xc02f, 0, false);
	rw_test_certificate(&w->sf, -10, 300);
	rw_test_put_server_hello_done(&w->sf);
	rw_test_client_key_exchange(&w->cf);
	rw_test_ccs(&w->cf);
	rw_test_opaque(&w->cf, 22, 40);
	rw_test_ccs(&w->sfin);
	rw_test_opaque(&w->sfin, 22, 40);
	rw_test_opaque(&w->c_rec, 23, 90);
	rw_test_opaque(&w->s_rec, 23, 200);
	iw_ntlm_negotiate(&w->neg);
	/* the host's clock: the test clock (no skew) */
	uint64_t ft = (uint64_t)(T0_S + 11644473600LL) * 10000000ULL;
	iw_ntlm_challenge(&w->chal, ft);
	iw_ntlm_authenticate(&w->auth, secret, SECRET_LEN);
	iw_tsreq(&w->ts_neg, 6, &w->neg, NULL, NULL, false, 0);
	iw_tsreq(&w->ts_chal, 6, &w->chal, NULL, NULL, false, 0);
	bytes pka = {.n = 0};
	rw_test_put(&pka, "pubkeyauth-pubkeyauth-pubkeyauth", 32);
	iw_tsreq(&w->ts_auth, 6, &w->auth, NULL, &pka, false, 0);
	bytes creds = {.n = 0};
	rw_test_put(&creds, secret, SECRET_LEN);
	iw_tsreq(&w->ts_creds, 6, NULL, &creds, NULL, false, 0);
}

static struct rw_session *run(const struct rw_step *st, enum rw_split split)
{
	return rw_test_run(st, split, 7);
}

static void want_cause(const struct rw_step *st, enum rw_cause want, enum rw_confidence conf,
                       const char *evidence)
{
	for (int split = SPLIT_WHOLE; split <= SPLIT_RANDOM; split++) {
		struct rw_session *s = run(st, (enum rw_split)split);
		const struct rw_verdict *v = &rw_session_record(s)->verdict;
		if (v->cause != want || v->confidence != conf) {
			for (size_t i = 0; i < v->n_evidence; i++)
				print_error("evidence: %s\n", v->evidence[i]);
			fail_msg("split %d: cause %s (%s), want %s (%s)", split,
			         rw_cause_name(v->cause), rw_confidence_name(v->confidence),
			         rw_cause_name(want), rw_confidence_name(conf));
		}
		bool found = !evidence;
		for (size_t i = 0; i < v->n_evidence && !found; i++)
			found = strstr(v->evidence[i], evidence) != NULL;
		if (!found) {
			for (size_t i = 0; i < v->n_evidence; i++)
				print_error("evidence: %s\n", v->evidence[i]);
			fail_msg("no evidence says \"%s\"", evidence);
		}
		assert_true(rw_session_record(s)->inspect.inspected);
		rw_session_free(s);
	}
}

/* FreeRDP 2's server: no errorCode, it closes after the AUTHENTICATE. */
static void test_freerdp_wrong_password(void **state)
{
	(void)state;
	struct wire w;
	wire_init(&w, RW_PROTO_HYBRID);
	struct rw_step st[] = {DATA(C, w.cr),
	                       DATA(S, w.cc),
	                       DATA(C, w.ch),
	                       DATA(S, w.sf),
	                       DATA(C, w.cf),
	                       DATA(S, w.sfin),
	                       DATA(C, w.c_rec),
	                       PLAIN(C, w.ts_neg),
	                       DATA(S, w.s_rec),
	                       PLAIN(S, w.ts_chal),
	                       DATA(C, w.c_rec),
	                       PLAIN(C, w.ts_auth),
	                       FIN(S),
	                       FIN(C),
	                       END};
	want_cause(st, RW_CAUSE_NLA_LOGON_FAILURE, RW_CONFIDENCE_MEDIUM, "AUTHENTICATE_MESSAGE");
	struct rw_session *s = run(st, SPLIT_WHOLE);
	const struct rw_inspect_facts *f = &rw_session_record(s)->inspect;
	assert_int_equal(f->ntlm_seen[RW_C2S], (1 << 1) | (1 << 3));
	assert_int_equal(f->ntlm_seen[RW_S2C], 1 << 2);
	assert_int_equal(f->tsrequests[RW_C2S], 2);
	assert_int_equal(f->tsrequests[RW_S2C], 1);
	/* the CHALLENGE's MsvAvTimestamp gave the host's clock: no offset */
	assert_true(rw_session_record(s)->host_clock_seen);
	int64_t off = rw_session_record(s)->host_clock_offset_us;
	assert_true(off > -5000000 && off < 5000000);
	rw_session_free(s);

	/* The right password: the server's pubKeyAuth answer, then RDP. */
	bytes ts_pka = {.n = 0}, pka = {.n = 0}, ci = {.n = 0}, logon = {.n = 0};
	rw_test_put(&pka, "server-pubkeyauth-server-pubkey", 31);
	iw_tsreq(&ts_pka, 6, NULL, NULL, &pka, false, 0);
	iw_mcs_connect_initial(&ci, 300);
	iw_save_session_info(&logon, 1, false, 0, 0);
	struct rw_step ok[] = {DATA(C, w.cr),
	                       DATA(S, w.cc),
	                       DATA(C, w.ch),
	                       DATA(S, w.sf),
	                       DATA(C, w.cf),
	                       DATA(S, w.sfin),
	                       DATA(C, w.c_rec),
	                       PLAIN(C, w.ts_neg),
	                       DATA(S, w.s_rec),
	                       PLAIN(S, w.ts_chal),
	                       DATA(C, w.c_rec),
	                       PLAIN(C, w.ts_auth),
	                       DATA(S, w.s_rec),
	                       PLAIN(S, ts_pka),
	                       DATA(C, w.c_rec),
	                       PLAIN(C, w.ts_creds),
	                       DATA(C, w.c_rec),
	                       PLAIN(C, ci),
	                       DATA(S, w.s_rec),
	                       PLAIN(S, logon),
	                       FIN(C),
	                       FIN(S),
	                       END};
	s = run(ok, SPLIT_BYTES);
	const struct rw_record *r = rw_session_record(s);
	assert_true(r->inspect.credentials_sent);
	assert_true(r->inspect.logon_seen);
	assert_true(r->phase_reached[RW_PHASE_ESTABLISHED]);
	assert_int_equal(r->verdict.cause, RW_CAUSE_NORMAL_CLOSE);
	rw_session_free(s);
}

/* Windows: TSRequest.errorCode. */
static void test_windows_error_code(void **state)
{
	(void)state;
	static const struct {
		uint32_t st;
		enum rw_cause cause;
		const char *name;
	} t[] = {
	        {0xC000006D, RW_CAUSE_NLA_LOGON_FAILURE, "STATUS_LOGON_FAILURE"},
	        {0xC0000071, RW_CAUSE_NLA_PASSWORD_EXPIRED, "STATUS_PASSWORD_EXPIRED"},
	        {0xC000006E, RW_CAUSE_NLA_ACCOUNT_RESTRICTED, "STATUS_ACCOUNT_RESTRICTION"},
	        {0xC0000072, RW_CAUSE_NLA_ACCOUNT_DISABLED, "STATUS_ACCOUNT_DISABLED"},
	        {0xC0000234, RW_CAUSE_NLA_ACCOUNT_LOCKED_OUT, "STATUS_ACCOUNT_LOCKED_OUT"},
	        {0xC0000193, RW_CAUSE_NLA_ACCOUNT_EXPIRED, "STATUS_ACCOUNT_EXPIRED"},
	        {0xC000015B, RW_CAUSE_NLA_LOGON_TYPE_NOT_GRANTED, "STATUS_LOGON_TYPE_NOT_GRANTED"},
	        {0xC000005E, RW_CAUSE_NLA_NO_AUTHORITY, "STATUS_NO_LOGON_SERVERS"},
	        {0xC0000133, RW_CAUSE_CLOCK_SKEW, "STATUS_TIME_DIFFERENCE_AT_DC"},
	        {0xC0000022, RW_CAUSE_NLA_FAILED, "STATUS_ACCESS_DENIED"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct wire w;
		wire_init(&w, RW_PROTO_HYBRID);
		iw_tsreq(&w.ts_err, 6, NULL, NULL, NULL, true, t[i].st);
		/* the client reads the error and closes first */
		struct rw_step st[] = {DATA(C, w.cr),
		                       DATA(S, w.cc),
		                       DATA(C, w.ch),
		                       DATA(S, w.sf),
		                       DATA(C, w.cf),
		                       DATA(S, w.sfin),
		                       DATA(C, w.c_rec),
		                       PLAIN(C, w.ts_neg),
		                       DATA(S, w.s_rec),
		                       PLAIN(S, w.ts_chal),
		                       DATA(C, w.c_rec),
		                       PLAIN(C, w.ts_auth),
		                       DATA(S, w.s_rec),
		                       PLAIN(S, w.ts_err),
		                       FIN(C),
		                       FIN(S),
		                       END};
		want_cause(st, t[i].cause, RW_CONFIDENCE_HIGH, t[i].name);
	}
}

static void test_kerberos_skew(void **state)
{
	(void)state;
	struct wire w;
	wire_init(&w, RW_PROTO_HYBRID);
	uint8_t ticket[200];
	memset(ticket, 0x61, sizeof(ticket));
	bytes apreq = {.n = 0}, kerr = {.n = 0}, ts_ap = {.n = 0}, ts_kerr = {.n = 0};
	iw_spnego_krb_ap_req(&apreq, ticket, sizeof(ticket));
	/* the host's time: 10 minutes after the test clock */
	iw_spnego_krb_error(&kerr, 37, "20231114222320Z", 0);
	iw_tsreq(&ts_ap, 6, &apreq, NULL, NULL, false, 0);
	iw_tsreq(&ts_kerr, 6, &kerr, NULL, NULL, false, 0);
	struct rw_step st[] = {DATA(C, w.cr),
	                       DATA(S, w.cc),
	                       DATA(C, w.ch),
	                       DATA(S, w.sf),
	                       DATA(C, w.cf),
	                       DATA(S, w.sfin),
	                       DATA(C, w.c_rec),
	                       PLAIN(C, ts_ap),
	                       DATA(S, w.s_rec),
	                       PLAIN(S, ts_kerr),
	                       FIN(C),
	                       FIN(S),
	                       END};
	want_cause(st, RW_CAUSE_CLOCK_SKEW, RW_CONFIDENCE_HIGH, "2023-11-14T22:23:20Z");
	want_cause(st, RW_CAUSE_CLOCK_SKEW, RW_CONFIDENCE_HIGH, "the host's clock is off");
	struct rw_session *s = run(st, SPLIT_WHOLE);
	const struct rw_inspect_facts *f = &rw_session_record(s)->inspect;
	assert_true(f->kerberos && f->has_krb_error && f->has_krb_stime);
	assert_int_equal(f->krb_error, 37);
	/* the text report's inspection line */
	struct rw_buf out;
	rw_buf_init(&out, 0);
	assert_int_equal(rw_record_text(rw_session_record(s), &out), 0);
	if (!strstr(out.data,
	            "inspected  KRB-ERROR KRB_AP_ERR_SKEW host time 2023-11-14T22:23:20Z"))
		fail_msg("text report: %s", out.data);
	rw_buf_free(&out);
	rw_session_free(s);

	/* The client corrects its clock from the stime and retries: CredSSP then
	 * completes, and the skew is not what ended the connection. */
	bytes ts_pka = {.n = 0}, pka = {.n = 0}, ci = {.n = 0};
	rw_test_put(&pka, "server-pubkeyauth-server-pubkey", 31);
	iw_tsreq(&ts_pka, 6, NULL, NULL, &pka, false, 0);
	iw_mcs_connect_initial(&ci, 300);
	struct rw_step retry[] = {DATA(C, w.cr),
	                          DATA(S, w.cc),
	                          DATA(C, w.ch),
	                          DATA(S, w.sf),
	                          DATA(C, w.cf),
	                          DATA(S, w.sfin),
	                          DATA(C, w.c_rec),
	                          PLAIN(C, ts_ap),
	                          DATA(S, w.s_rec),
	                          PLAIN(S, ts_kerr),
	                          DATA(C, w.c_rec),
	                          PLAIN(C, ts_ap),
	                          DATA(S, w.s_rec),
	                          PLAIN(S, ts_pka),
	                          DATA(C, w.c_rec),
	                          PLAIN(C, w.ts_creds),
	                          DATA(C, w.c_rec),
	                          PLAIN(C, ci),
	                          FIN(C),
	                          FIN(S),
	                          END};
	s = run(retry, SPLIT_WHOLE);
	assert_int_not_equal(rw_session_record(s)->verdict.cause, RW_CAUSE_CLOCK_SKEW);
	assert_true(rw_session_record(s)->inspect.has_krb_error);
	rw_session_free(s);

	/* KRB_AP_ERR_MODIFIED: named, nla_failed. */
	kerr.n = ts_kerr.n = 0;
	iw_spnego_krb_error(&kerr, 41, "20231114221320Z", 0);
	iw_tsreq(&ts_kerr, 6, &kerr, NULL, NULL, false, 0);
	struct rw_step mod[] = {DATA(C, w.cr),
	                        DATA(S, w.cc),
	                        DATA(C, w.ch),
	                        DATA(S, w.sf),
	                        DATA(C, w.cf),
	                        DATA(S, w.sfin),
	                        DATA(C, w.c_rec),
	                        PLAIN(C, ts_ap),
	                        DATA(S, w.s_rec),
	                        PLAIN(S, ts_kerr),
	                        FIN(C),
	                        FIN(S),
	                        END};
	want_cause(mod, RW_CAUSE_NLA_FAILED, RW_CONFIDENCE_HIGH, "KRB_AP_ERR_MODIFIED");
}

/* After CredSSP: the Set Error Info PDU, past fast-path output. */
static void errinfo_run(uint32_t code, enum rw_cause want, const char *name)
{
	struct wire w;
	wire_init(&w, RW_PROTO_HYBRID);
	bytes ts_pka = {.n = 0}, pka = {.n = 0}, ci = {.n = 0}, fp = {.n = 0}, sei = {.n = 0},
	      ult = {.n = 0};
	/* the server's first RDP bytes: the MCS Connect Response, then fast-path */
	iw_mcs_connect_response(&fp, 100);
	rw_test_put(&pka, "server-pubkeyauth-server-pubkey", 31);
	iw_tsreq(&ts_pka, 6, NULL, NULL, &pka, false, 0);
	iw_mcs_connect_initial(&ci, 300);
	iw_fastpath(&fp, 700);
	iw_fastpath(&fp, 20);
	iw_set_error_info(&sei, code);
	iw_ultimatum(&ult, 3);
	struct rw_step st[] = {DATA(C, w.cr),
	                       DATA(S, w.cc),
	                       DATA(C, w.ch),
	                       DATA(S, w.sf),
	                       DATA(C, w.cf),
	                       DATA(S, w.sfin),
	                       DATA(C, w.c_rec),
	                       PLAIN(C, w.ts_neg),
	                       DATA(S, w.s_rec),
	                       PLAIN(S, w.ts_chal),
	                       DATA(C, w.c_rec),
	                       PLAIN(C, w.ts_auth),
	                       DATA(S, w.s_rec),
	                       PLAIN(S, ts_pka),
	                       DATA(C, w.c_rec),
	                       PLAIN(C, w.ts_creds),
	                       DATA(C, w.c_rec),
	                       PLAIN(C, ci),
	                       DATA(S, w.s_rec),
	                       PLAIN(S, fp),
	                       PLAIN(S, sei),
	                       PLAIN(S, ult),
	                       FIN(S),
	                       FIN(C),
	                       END};
	want_cause(st, want,
	           want == RW_CAUSE_RDP_CLOSED_BY_SERVER ? RW_CONFIDENCE_MEDIUM
	                                                 : RW_CONFIDENCE_HIGH,
	           name);
}

static void test_error_info(void **state)
{
	(void)state;
	errinfo_run(0x7, RW_CAUSE_SERVER_DENIED_CONNECTION, "ERRINFO_SERVER_DENIED_CONNECTION");
	errinfo_run(0x7, RW_CAUSE_SERVER_DENIED_CONNECTION, "extended error 0x7");
	errinfo_run(0x1, RW_CAUSE_SESSION_ENDED_BY_HOST, "ERRINFO_RPC_INITIATED_DISCONNECT");
	errinfo_run(0x3, RW_CAUSE_SESSION_TIME_LIMIT, "ERRINFO_IDLE_TIMEOUT");
	errinfo_run(0x102, RW_CAUSE_RDP_LICENSING_FAILED, "ERRINFO_LICENSE_NO_LICENSE");
	errinfo_run(0x400, RW_CAUSE_CONNECTION_BROKER_FAILED, "ERRINFO_CB_DESTINATION_NOT_FOUND");
	errinfo_run(0x19, RW_CAUSE_HOST_SESSION_FAILURE, "ERRINFO_SERVER_SHUTDOWN");
	errinfo_run(0x10D3, RW_CAUSE_RDP_PROTOCOL_ERROR, "ERRINFO_CONNECTFAILED");
	errinfo_run(0x10D3, RW_CAUSE_RDP_PROTOCOL_ERROR, "rn-user-requested");
	errinfo_run(0x300, RW_CAUSE_NLA_LOGON_FAILURE, "0x300");
	errinfo_run(0x8FFF, RW_CAUSE_RDP_CLOSED_BY_SERVER, "not a documented value");
}

/* HYBRID_EX: the Early User Authorization Result after CredSSP. */
static void test_early_auth_denied(void **state)
{
	(void)state;
	struct wire w;
	wire_init(&w, RW_PROTO_HYBRID_EX);
	bytes ts_pka = {.n = 0}, pka = {.n = 0}, euar = {.n = 0};
	rw_test_put(&pka, "server-pubkeyauth-server-pubkey", 31);
	iw_tsreq(&ts_pka, 6, NULL, NULL, &pka, false, 0);
	iw_le32(&euar, RW_AUTHZ_ACCESS_DENIED);
	struct rw_step st[] = {DATA(C, w.cr),
	                       DATA(S, w.cc),
	                       DATA(C, w.ch),
	                       DATA(S, w.sf),
	                       DATA(C, w.cf),
	                       DATA(S, w.sfin),
	                       DATA(C, w.c_rec),
	                       PLAIN(C, w.ts_neg),
	                       DATA(S, w.s_rec),
	                       PLAIN(S, w.ts_chal),
	                       DATA(C, w.c_rec),
	                       PLAIN(C, w.ts_auth),
	                       DATA(S, w.s_rec),
	                       PLAIN(S, ts_pka),
	                       DATA(C, w.c_rec),
	                       PLAIN(C, w.ts_creds),
	                       DATA(S, w.s_rec),
	                       PLAIN(S, euar),
	                       FIN(S),
	                       FIN(C),
	                       END};
	want_cause(st, RW_CAUSE_SERVER_DENIED_CONNECTION, RW_CONFIDENCE_HIGH,
	           "AUTHZ_ACCESS_DENIED");
}

/* Without inspection the plaintext call does nothing and allocates nothing. */
static void test_off(void **state)
{
	(void)state;
	struct wire w;
	wire_init(&w, RW_PROTO_HYBRID);
	iw_tsreq(&w.ts_err, 6, NULL, NULL, NULL, true, 0xC000006D);
	struct rw_session *s = rw_session_new(NULL);
	rw_session_plaintext(s, RW_S2C, 1, w.ts_err.p, w.ts_err.n);
	assert_false(rw_session_record(s)->inspect.inspected);
	assert_false(rw_session_record(s)->inspect.has_ntstatus);
	rw_session_set_inspected(s, true);
	rw_session_plaintext(s, RW_S2C, 2, w.ts_err.p, w.ts_err.n);
	assert_true(rw_session_record(s)->inspect.has_ntstatus);
	rw_session_set_inspected(s, false);
	assert_false(rw_session_record(s)->inspect.inspected);
	rw_session_plaintext(s, RW_S2C, 3, w.ts_err.p, w.ts_err.n);
	rw_session_free(s);
	/* Garbage stops that direction's decoding, reported, nothing else. */
	s = rw_session_new(NULL);
	rw_session_set_inspected(s, true);
	rw_session_plaintext(s, RW_C2S, 1, (const uint8_t *)"\xff\xff\xff", 3);
	assert_int_equal(rw_session_record(s)->inspect.decode_error[RW_C2S], RW_E_TYPE);
	rw_session_plaintext(s, RW_C2S, 1, w.ts_neg.p, w.ts_neg.n);
	assert_int_equal(rw_session_record(s)->inspect.tsrequests[RW_C2S], 0);
	rw_session_free(s);
}

/* No password, hash, ticket or TSCredentials in any record field or output. */
static void test_no_secrets(void **state)
{
	(void)state;
	struct wire w;
	wire_init(&w, RW_PROTO_HYBRID);
	bytes ts_pka = {.n = 0}, pka = {.n = 0}, cinfo = {.n = 0}, ap = {.n = 0}, ts_ap = {.n = 0};
	rw_test_put(&pka, "server-pubkeyauth-server-pubkey", 31);
	iw_tsreq(&ts_pka, 6, NULL, NULL, &pka, false, 0);
	iw_spnego_krb_ap_req(&ap, secret, SECRET_LEN);
	iw_tsreq(&ts_ap, 6, &ap, NULL, NULL, false, 0);
	/* A Client Info PDU: TPKT, X.224, MCS Send Data Request, the basic
	 * security header SEC_INFO_PKT, then TS_INFO_PACKET with the password. */
	bytes ip = {.n = 0}, mcs = {.n = 0};
	rw_test_put(&ip, "\x40\x00\x00\x00", 4); /* SEC_INFO_PKT */
	rw_test_put(&ip, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 18);
	rw_test_put(&ip, secret, SECRET_LEN);
	rw_test_put8(&mcs, 25 << 2);
	rw_test_put16be(&mcs, 1);
	rw_test_put16be(&mcs, 1003);
	rw_test_put8(&mcs, 0x70);
	rw_test_put8(&mcs, (unsigned)ip.n);
	rw_test_put(&mcs, ip.p, ip.n);
	rw_test_put8(&cinfo, 3);
	rw_test_put8(&cinfo, 0);
	rw_test_put16be(&cinfo, (unsigned)(7 + mcs.n));
	rw_test_put(&cinfo, "\x02\xF0\x80", 3);
	rw_test_put(&cinfo, mcs.p, mcs.n);
	struct rw_step st[] = {DATA(C, w.cr),
	                       DATA(S, w.cc),
	                       DATA(C, w.ch),
	                       DATA(S, w.sf),
	                       DATA(C, w.cf),
	                       DATA(S, w.sfin),
	                       DATA(C, w.c_rec),
	                       PLAIN(C, ts_ap),
	                       PLAIN(C, w.ts_neg),
	                       DATA(S, w.s_rec),
	                       PLAIN(S, w.ts_chal),
	                       DATA(C, w.c_rec),
	                       PLAIN(C, w.ts_auth),
	                       DATA(S, w.s_rec),
	                       PLAIN(S, ts_pka),
	                       DATA(C, w.c_rec),
	                       PLAIN(C, w.ts_creds),
	                       DATA(C, w.c_rec),
	                       PLAIN(C, cinfo),
	                       FIN(S),
	                       FIN(C),
	                       END};
	char hex[2 * 16 + 1];
	for (size_t i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", secret[i]);
	for (int split = SPLIT_WHOLE; split <= SPLIT_RANDOM; split++) {
		struct rw_session *s = run(st, (enum rw_split)split);
		const struct rw_record *r = rw_session_record(s);
		/* the decoder saw them: the test is not vacuous */
		assert_true(r->inspect.credentials_sent);
		assert_true(r->inspect.ntlm_seen[RW_C2S] & (1 << 3));
		assert_true(r->inspect.kerberos);
		assert_true(r->inspect.rdp_seen[RW_C2S]);
		/* the record itself, byte for byte: neither the hash nor the text */
		assert_false(contains(r, sizeof(*r), secret, 16));
		assert_false(contains(r, sizeof(*r), "PASSWORD-HASH-PATTERN", 21));
		struct rw_buf out;
		rw_buf_init(&out, 0);
		assert_int_equal(rw_record_json(r, NULL, &out), 0);
		assert_int_equal(rw_record_text(r, &out), 0);
		assert_false(contains(out.data, out.len, secret, 16));
		assert_false(contains(out.data, out.len, "PASSWORD-HASH-PATTERN", 21));
		assert_null(strstr(out.data, hex));
		rw_buf_free(&out);
		rw_session_free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_krb_error),
	        cmocka_unit_test(test_krb_ap_req),
	        cmocka_unit_test(test_ntlm_types),
	        cmocka_unit_test(test_rdp_pdus),
	        cmocka_unit_test(test_errinfo_causes),
	        cmocka_unit_test(test_ntstatus_causes),
	        cmocka_unit_test(test_freerdp_wrong_password),
	        cmocka_unit_test(test_windows_error_code),
	        cmocka_unit_test(test_kerberos_skew),
	        cmocka_unit_test(test_error_info),
	        cmocka_unit_test(test_early_auth_denied),
	        cmocka_unit_test(test_off),
	        cmocka_unit_test(test_no_secrets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
