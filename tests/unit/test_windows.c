/* Windows on the other end (issue #10 item 10, docs/windows.md): how Windows
 * hosts, Schannel and mstsc fail where the lab's xrdp and FreeRDP differ, each
 * replayed from the specifications' byte sequences and pinned to its cause.
 *
 * Sources: MS-RDPBCGR 2.2.1.2.2 (RDP_NEG_FAILURE), 3.3.5.3.2 (the server
 * closes after it), 2.2.10.2 (Early User Authorization Result); MS-CSSP 2.2.1
 * (TSRequest, errorCode from version 3), 3.1.5 (message order); RFC 5246 E.1
 * and RFC 8446 4.1.3 / appendix D (version negotiation with an older server).
 * CredSSP runs inside TLS: what a passive observer sees of it is the size and
 * direction of each record, so the CredSSP messages below are encrypted
 * records of the size their plaintext (given in DER) takes with the suite. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "record_format.h"
#include "testutil.h"

typedef struct rw_test_bytes bytes;

/* TLS 1.2 AES-GCM adds an 8-byte explicit nonce and a 16-byte tag to each
 * record's plaintext; TLS 1.3 the inner content type and the tag. */
#define GCM12 24
#define TLS13 17

/* MS-CSSP 2.2.1, DER. The server's answer to a failed logon (version 6,
 * errorCode STATUS_LOGON_FAILURE 0xC000006D as a 4-byte INTEGER):
 * 30 0d a0 03 02 01 06 a4 06 02 04 c0 00 00 6d. Only its length is on the
 * wire in the clear. */
#define TS_ERROR_LEN 15
/* The server's pubKeyAuth echo (version 5+): TSRequest {version 6,
 * pubKeyAuth OCTET STRING (16-byte NTLM signature + 32-byte SHA-256)}:
 * 30 39 a0 03 02 01 06 a3 32 04 30 <48 bytes>. */
#define TS_PUBKEYAUTH_LEN 59
/* Typical NTLM sizes (MS-NLMP 2.2.1): NEGOTIATE 40 bytes and a 32-byte
 * clientNonce in the first TSRequest; a CHALLENGE with target info; an
 * AUTHENTICATE with an NTLMv2 response, pubKeyAuth and clientNonce; the
 * TSCredentials (domain, user, password in UTF-16, encrypted). */
#define TS_NEGOTIATE_LEN     93
#define TS_CHALLENGE_LEN     162
#define TS_AUTHENTICATE_LEN  433
#define TS_CREDENTIALS_LEN   128
#define TLS_CLOSE_NOTIFY_LEN 2

/* The verdict's four fields, whole and byte by byte. */
static struct rw_verdict expect(const struct rw_step *st, enum rw_cause cause,
                                enum rw_side closed_by, enum rw_close_kind kind,
                                enum rw_phase phase)
{
	struct rw_verdict out;
	for (int split = SPLIT_WHOLE; split <= SPLIT_BYTES; split++) {
		struct rw_session *s = rw_test_run(st, (enum rw_split)split, 1);
		const struct rw_verdict *v = &rw_session_record(s)->verdict;
		if (v->cause != cause || v->closed_by != closed_by || v->close_kind != kind ||
		    v->phase != phase) {
			for (size_t i = 0; i < v->n_evidence; i++)
				print_error("evidence: %s\n", v->evidence[i]);
			fail_msg("split %d: got %s/%s/%s/%s, want %s/%s/%s/%s", split,
			         rw_cause_name(v->cause), rw_side_name(v->closed_by),
			         rw_close_kind_name(v->close_kind), rw_phase_name(v->phase),
			         rw_cause_name(cause), rw_side_name(closed_by),
			         rw_close_kind_name(kind), rw_phase_name(phase));
		}
		out = *v;
		rw_session_free(s);
	}
	return out;
}

static void expect_evidence(const struct rw_verdict *v, const char *want)
{
	for (size_t i = 0; i < v->n_evidence; i++)
		if (strstr(v->evidence[i], want))
			return;
	for (size_t i = 0; i < v->n_evidence; i++)
		print_error("evidence: %s\n", v->evidence[i]);
	fail_msg("no evidence line says \"%s\"", want);
}

static bool has_alt(const struct rw_verdict *v, enum rw_cause c)
{
	for (size_t i = 0; i < v->n_alternatives; i++)
		if (v->alternatives[i] == c)
			return true;
	return false;
}

/* An encrypted application_data record carrying n bytes of plaintext. */
static void enc(bytes *b, size_t plain, size_t overhead)
{
	rw_test_opaque(b, 23, plain + overhead);
}

/* ---- X.224: RDP_NEG_FAILURE ---------------------------------------------- */

/* Every failureCode of MS-RDPBCGR 2.2.1.2.2, with the request that draws it
 * from a Windows host: the server MUST close after sending it (3.3.5.3.2),
 * and mstsc hangs up as soon as it reads it, so either side may close first. */
static void test_neg_failure_every_code(void **state)
{
	(void)state;
	static const struct {
		uint32_t code;
		int requested;
		const char *name;
	} t[] = {
	        /* SecurityLayer 2 (TLS), a client asking for standard RDP security */
	        {1, RW_PROTO_RDP, "ssl_required_by_server"},
	        /* SecurityLayer 0 (RDP), a client that insists on TLS/CredSSP */
	        {2, RW_PROTO_SSL | RW_PROTO_HYBRID, "ssl_not_allowed_by_server"},
	        /* no usable certificate for the listener */
	        {3, RW_PROTO_SSL | RW_PROTO_HYBRID, "ssl_cert_not_on_server"},
	        /* the request contradicts the protocol already in effect */
	        {4, RW_PROTO_SSL, "inconsistent_flags"},
	        /* UserAuthentication 1 (NLA), a client asking for TLS only */
	        {5, RW_PROTO_SSL, "hybrid_required_by_server"},
	        /* TLS with client certificate authentication required */
	        {6, RW_PROTO_SSL | RW_PROTO_HYBRID, "ssl_with_user_auth_required_by_server"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bytes cr = {0}, cc = {0};
		rw_test_cr(&cr, "alice", t[i].requested);
		rw_test_cc(&cc, 3, t[i].code);
		char want[96];
		snprintf(want, sizeof(want), "RDP_NEG_FAILURE %s", t[i].name);
		struct rw_step host_first[] = {DATA(C, cr), DATA(S, cc), FIN(S), FIN(C), END};
		struct rw_verdict v = expect(host_first, RW_CAUSE_SECURITY_NEGOTIATION_FAILURE,
		                             RW_SIDE_SERVER, RW_CLOSE_FIN, RW_PHASE_X224);
		assert_int_equal(v.confidence, RW_CONFIDENCE_HIGH);
		expect_evidence(&v, want);
		struct rw_step client_first[] = {DATA(C, cr), DATA(S, cc), FIN(C), FIN(S), END};
		v = expect(client_first, RW_CAUSE_SECURITY_NEGOTIATION_FAILURE, RW_SIDE_CLIENT,
		           RW_CLOSE_FIN, RW_PHASE_X224);
		assert_int_equal(v.confidence, RW_CONFIDENCE_HIGH);
		expect_evidence(&v, want);
	}
}

/* ---- CredSSP ------------------------------------------------------------- */

/* X.224 selecting proto, then a full TLS 1.2 handshake with
 * TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 (Schannel's first choice). */
struct tls12 {
	bytes cr, cc, ch, sf, cf, sfin;
};

static void tls12_setup(struct tls12 *t, int proto)
{
	memset(t, 0, sizeof(*t));
	rw_test_cr(&t->cr, "alice", proto);
	rw_test_cc(&t->cc, 2, (uint32_t)proto);
	rw_test_put_client_hello(&t->ch, NULL, 0);
	rw_test_put_server_hello(&t->sf, 0xc030, 0, false);
	rw_test_certificate(&t->sf, -10, 300);
	rw_test_put_server_hello_done(&t->sf);
	rw_test_client_key_exchange(&t->cf);
	rw_test_ccs(&t->cf);
	rw_test_opaque(&t->cf, 22, 40);
	rw_test_ccs(&t->sfin);
	rw_test_opaque(&t->sfin, 22, 40);
}

/* NTLM wrong password against Windows (CredSSP 6): NEGOTIATE, CHALLENGE,
 * AUTHENTICATE + pubKeyAuth, then TSRequest.errorCode instead of the
 * pubKeyAuth echo; the client reads it and closes first (issue #10 item 10:
 * still nla_failed, not client_cancelled). */
static void test_error_reply_then_client_closes(void **state)
{
	(void)state;
	struct tls12 t;
	tls12_setup(&t, RW_PROTO_HYBRID);
	bytes c1 = {0}, s1 = {0}, c2 = {0}, s2 = {0}, bye = {0};
	enc(&c1, TS_NEGOTIATE_LEN, GCM12);
	enc(&s1, TS_CHALLENGE_LEN, GCM12);
	enc(&c2, TS_AUTHENTICATE_LEN, GCM12);
	enc(&s2, TS_ERROR_LEN, GCM12);
	/* close_notify: an encrypted alert record */
	rw_test_opaque(&bye, 21, TLS_CLOSE_NOTIFY_LEN + GCM12);
	struct rw_step st[] = {DATA(C, t.cr),
	                       DATA(S, t.cc),
	                       DATA(C, t.ch),
	                       DATA(S, t.sf),
	                       DATA(C, t.cf),
	                       DATA(S, t.sfin),
	                       DATA(C, c1),
	                       DATA(S, s1),
	                       DATA(C, c2),
	                       DATA(S, s2),
	                       FIN(C),
	                       FIN(S),
	                       END};
	struct rw_verdict v =
	        expect(st, RW_CAUSE_NLA_FAILED, RW_SIDE_CLIENT, RW_CLOSE_FIN, RW_PHASE_NLA);
	expect_evidence(&v, "an error TSRequest or a TLS alert");
	expect_evidence(&v, "client closed right after it (2 client, 2 server");
	assert_non_null(v.tell_apart);
	/* FreeRDP: a close_notify before its FIN (one client message more). */
	struct rw_step notify[] = {DATA(C, t.cr),
	                           DATA(S, t.cc),
	                           DATA(C, t.ch),
	                           DATA(S, t.sf),
	                           DATA(C, t.cf),
	                           DATA(S, t.sfin),
	                           DATA(C, c1),
	                           DATA(S, s1),
	                           DATA(C, c2),
	                           DATA(S, s2),
	                           DATA(C, bye),
	                           FIN(C),
	                           END};
	expect(notify, RW_CAUSE_NLA_FAILED, RW_SIDE_CLIENT, RW_CLOSE_FIN, RW_PHASE_NLA);
	/* A client that resets after reading the error. */
	struct rw_step reset[] = {DATA(C, t.cr), DATA(S, t.cc),   DATA(C, t.ch), DATA(S, t.sf),
	                          DATA(C, t.cf), DATA(S, t.sfin), DATA(C, c1),   DATA(S, s1),
	                          DATA(C, c2),   DATA(S, s2),     RST(C),        END};
	expect(reset, RW_CAUSE_NLA_FAILED, RW_SIDE_CLIENT, RW_CLOSE_RST, RW_PHASE_NLA);
	/* The host closes first after its error reply: the older rule. */
	struct rw_step host[] = {DATA(C, t.cr),
	                         DATA(S, t.cc),
	                         DATA(C, t.ch),
	                         DATA(S, t.sf),
	                         DATA(C, t.cf),
	                         DATA(S, t.sfin),
	                         DATA(C, c1),
	                         DATA(S, s1),
	                         DATA(C, c2),
	                         DATA(S, s2),
	                         FIN(S),
	                         FIN(C),
	                         END};
	expect(host, RW_CAUSE_NLA_FAILED, RW_SIDE_SERVER, RW_CLOSE_FIN, RW_PHASE_NLA);
}

/* The same in TLS 1.3 (Windows 11 / Server 2022 and later), and an error
 * after the first message (a Kerberos or account failure the host reports at
 * once, errorCode answering the client's first token). */
static void test_error_reply_tls13(void **state)
{
	(void)state;
	static const uint16_t v13[] = {0x0304, 0x0303};
	bytes cr = {0}, cc = {0}, ch = {0}, sh = {0}, sflight = {0}, cfin = {0};
	rw_test_cr(&cr, "alice", RW_PROTO_HYBRID | RW_PROTO_SSL);
	rw_test_cc(&cc, 2, RW_PROTO_HYBRID);
	rw_test_put_client_hello(&ch, v13, 2);
	rw_test_put_server_hello(&sh, 0x1302, 0x0304, false);
	rw_test_ccs(&sh);
	rw_test_opaque(&sflight, 23, 1100); /* EncryptedExtensions .. Finished */
	rw_test_opaque(&cfin, 23, 53);      /* client Finished */
	bytes c1 = {0}, s1 = {0}, c2 = {0}, s2 = {0}, bye = {0};
	enc(&c1, TS_NEGOTIATE_LEN, TLS13);
	enc(&s1, TS_CHALLENGE_LEN, TLS13);
	enc(&c2, TS_AUTHENTICATE_LEN, TLS13);
	enc(&s2, TS_ERROR_LEN, TLS13);
	enc(&bye, TLS_CLOSE_NOTIFY_LEN, TLS13);
	struct rw_step st[] = {
	        DATA(C, cr),   DATA(S, cc), DATA(C, ch), DATA(S, sh), DATA(S, sflight),
	        DATA(C, cfin), DATA(C, c1), DATA(S, s1), DATA(C, c2), DATA(S, s2),
	        DATA(C, bye),  FIN(C),      FIN(S),      END};
	expect(st, RW_CAUSE_NLA_FAILED, RW_SIDE_CLIENT, RW_CLOSE_FIN, RW_PHASE_NLA);
	/* errorCode in answer to the first message. */
	struct rw_step first[] = {DATA(C, cr),      DATA(S, cc),   DATA(C, ch), DATA(S, sh),
	                          DATA(S, sflight), DATA(C, cfin), DATA(C, c1), DATA(S, s2),
	                          DATA(C, bye),     FIN(C),        END};
	struct rw_verdict v =
	        expect(first, RW_CAUSE_NLA_FAILED, RW_SIDE_CLIENT, RW_CLOSE_FIN, RW_PHASE_NLA);
	expect_evidence(&v, "server's CredSSP answer 1");
}

/* FreeRDP +auth-only (and any client that only checks credentials) completes
 * CredSSP and leaves: the server's last answer is the pubKeyAuth echo (59
 * bytes of TSRequest at least), never error-sized. Still normal_close. */
static void test_auth_only_is_not_a_failure(void **state)
{
	(void)state;
	struct tls12 t;
	tls12_setup(&t, RW_PROTO_HYBRID);
	bytes c1 = {0}, s1 = {0}, c2 = {0}, s2 = {0}, c3 = {0};
	enc(&c1, TS_NEGOTIATE_LEN, GCM12);
	enc(&s1, TS_CHALLENGE_LEN, GCM12);
	enc(&c2, TS_AUTHENTICATE_LEN, GCM12);
	enc(&s2, TS_PUBKEYAUTH_LEN, GCM12);
	enc(&c3, TS_CREDENTIALS_LEN, GCM12);
	struct rw_step st[] = {DATA(C, t.cr),
	                       DATA(S, t.cc),
	                       DATA(C, t.ch),
	                       DATA(S, t.sf),
	                       DATA(C, t.cf),
	                       DATA(S, t.sfin),
	                       DATA(C, c1),
	                       DATA(S, s1),
	                       DATA(C, c2),
	                       DATA(S, s2),
	                       DATA(C, c3),
	                       FIN(C),
	                       END};
	struct rw_verdict v =
	        expect(st, RW_CAUSE_NORMAL_CLOSE, RW_SIDE_CLIENT, RW_CLOSE_FIN, RW_PHASE_NLA);
	expect_evidence(&v, "client closed after completing CredSSP (3 messages)");
	/* A client that leaves after the pubKeyAuth echo without sending its
	 * credentials (it could not verify the echo) is no NLA failure. */
	struct rw_step noverify[] = {DATA(C, t.cr), DATA(S, t.cc),   DATA(C, t.ch), DATA(S, t.sf),
	                             DATA(C, t.cf), DATA(S, t.sfin), DATA(C, c1),   DATA(S, s1),
	                             DATA(C, c2),   DATA(S, s2),     FIN(C),        END};
	expect(noverify, RW_CAUSE_CLIENT_CANCELLED, RW_SIDE_CLIENT, RW_CLOSE_FIN, RW_PHASE_NLA);
	/* Nor one that leaves after the CHALLENGE. */
	struct rw_step early[] = {
	        DATA(C, t.cr),   DATA(S, t.cc), DATA(C, t.ch), DATA(S, t.sf), DATA(C, t.cf),
	        DATA(S, t.sfin), DATA(C, c1),   DATA(S, s1),   FIN(C),        END};
	expect(early, RW_CAUSE_CLIENT_CANCELLED, RW_SIDE_CLIENT, RW_CLOSE_FIN, RW_PHASE_NLA);
}

/* The CBC suites of TLS 1.0 hosts hide sizes in padding: the same error
 * reply in TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384 (TLS 1.2: 16-byte IV,
 * 48-byte MAC, padding to 16; the 16-byte form of the errorCode) is a
 * 96-byte record, still told from the 128-byte pubKeyAuth echo. */
static void test_error_reply_cbc(void **state)
{
	(void)state;
	struct tls12 t;
	tls12_setup(&t, RW_PROTO_HYBRID);
	t.sf.n = 0;
	rw_test_put_server_hello(&t.sf, 0xc028, 0, false); /* ..._AES_256_CBC_SHA384 */
	rw_test_certificate(&t.sf, -10, 300);
	rw_test_put_server_hello_done(&t.sf);
	/* the client hello builder offers no CBC suite: offer 0xc028 too */
	bytes ch = {0};
	{
		bytes h = {0};
		static const uint16_t suites[] = {0xc030, 0xc02f, 0xc028};
		rw_test_put16be(&h, 0x0303);
		for (int i = 0; i < 32; i++)
			rw_test_put8(&h, (unsigned)i);
		rw_test_put8(&h, 0);
		rw_test_put16be(&h, sizeof(suites));
		for (size_t i = 0; i < 3; i++)
			rw_test_put16be(&h, suites[i]);
		rw_test_put8(&h, 1);
		rw_test_put8(&h, 0);
		rw_test_put16be(&h, 0);
		rw_test_handshake(&ch, 1, &h);
	}
	bytes c1 = {0}, s1 = {0}, c2 = {0}, s2 = {0}, s2ok = {0}, c3 = {0};
	rw_test_opaque(&c1, 23, 160);
	rw_test_opaque(&s1, 23, 240);
	rw_test_opaque(&c2, 23, 512);
	rw_test_opaque(&s2, 23, 16 + 80);    /* 16 + 48 + 1 -> 80 */
	rw_test_opaque(&s2ok, 23, 16 + 112); /* 59 + 48 + 1 -> 112 */
	rw_test_opaque(&c3, 23, 208);
	struct rw_step st[] = {DATA(C, t.cr), DATA(S, t.cc),   DATA(C, ch), DATA(S, t.sf),
	                       DATA(C, t.cf), DATA(S, t.sfin), DATA(C, c1), DATA(S, s1),
	                       DATA(C, c2),   DATA(S, s2),     FIN(C),      END};
	expect(st, RW_CAUSE_NLA_FAILED, RW_SIDE_CLIENT, RW_CLOSE_FIN, RW_PHASE_NLA);
	struct rw_step ok[] = {
	        DATA(C, t.cr),   DATA(S, t.cc), DATA(C, ch), DATA(S, t.sf), DATA(C, t.cf),
	        DATA(S, t.sfin), DATA(C, c1),   DATA(S, s1), DATA(C, c2),   DATA(S, s2ok),
	        DATA(C, c3),     FIN(C),        END};
	expect(ok, RW_CAUSE_NORMAL_CLOSE, RW_SIDE_CLIENT, RW_CLOSE_FIN, RW_PHASE_NLA);
}

/* HYBRID_EX (mstsc asks for it): after CredSSP the host sends the 4-byte
 * Early User Authorization Result; AUTHZ_ACCESS_DENIED when the user may not
 * log on remotely. Whoever closes first, it is the NLA step that failed. */
static void test_early_user_authorization_denied(void **state)
{
	(void)state;
	int proto = RW_PROTO_SSL | RW_PROTO_HYBRID | RW_PROTO_HYBRID_EX;
	bytes cr = {0}, cc = {0}, ch = {0}, sf = {0}, cf = {0}, sfin = {0};
	rw_test_cr(&cr, "alice", proto);
	rw_test_cc(&cc, 2, RW_PROTO_HYBRID_EX);
	rw_test_put_client_hello(&ch, NULL, 0);
	rw_test_put_server_hello(&sf, 0xc030, 0, false);
	rw_test_certificate(&sf, -10, 300);
	rw_test_put_server_hello_done(&sf);
	rw_test_client_key_exchange(&cf);
	rw_test_ccs(&cf);
	rw_test_opaque(&cf, 22, 40);
	rw_test_ccs(&sfin);
	rw_test_opaque(&sfin, 22, 40);
	bytes c1 = {0}, s1 = {0}, c2 = {0}, s2 = {0}, c3 = {0}, authz = {0}, bye = {0}, mcs = {0};
	enc(&c1, TS_NEGOTIATE_LEN, GCM12);
	enc(&s1, TS_CHALLENGE_LEN, GCM12);
	enc(&c2, TS_AUTHENTICATE_LEN, GCM12);
	enc(&s2, TS_PUBKEYAUTH_LEN, GCM12);
	enc(&c3, TS_CREDENTIALS_LEN, GCM12);
	enc(&authz, 4, GCM12); /* 05 00 00 00: AUTHZ_ACCESS_DENIED */
	rw_test_opaque(&bye, 21, TLS_CLOSE_NOTIFY_LEN + GCM12);
	enc(&mcs, 420, GCM12); /* MCS Connect Initial */
	struct rw_step client_first[] = {DATA(C, cr),  DATA(S, cc),   DATA(C, ch), DATA(S, sf),
	                                 DATA(C, cf),  DATA(S, sfin), DATA(C, c1), DATA(S, s1),
	                                 DATA(C, c2),  DATA(S, s2),   DATA(C, c3), DATA(S, authz),
	                                 DATA(C, bye), FIN(C),        END};
	struct rw_verdict v = expect(client_first, RW_CAUSE_NLA_FAILED, RW_SIDE_CLIENT,
	                             RW_CLOSE_FIN, RW_PHASE_RDP);
	assert_int_equal(v.confidence, RW_CONFIDENCE_MEDIUM);
	assert_true(has_alt(&v, RW_CAUSE_NORMAL_CLOSE));
	struct rw_step host_first[] = {DATA(C, cr), DATA(S, cc),   DATA(C, ch), DATA(S, sf),
	                               DATA(C, cf), DATA(S, sfin), DATA(C, c1), DATA(S, s1),
	                               DATA(C, c2), DATA(S, s2),   DATA(C, c3), DATA(S, authz),
	                               FIN(S),      FIN(C),        END};
	expect(host_first, RW_CAUSE_NLA_FAILED, RW_SIDE_SERVER, RW_CLOSE_FIN, RW_PHASE_RDP);
	/* AUTHZ_SUCCESS: the client goes on with MCS; leaving later is no NLA
	 * failure. */
	struct rw_step granted[] = {DATA(C, cr),  DATA(S, cc),   DATA(C, ch), DATA(S, sf),
	                            DATA(C, cf),  DATA(S, sfin), DATA(C, c1), DATA(S, s1),
	                            DATA(C, c2),  DATA(S, s2),   DATA(C, c3), DATA(S, authz),
	                            DATA(C, mcs), FIN(C),        END};
	expect(granted, RW_CAUSE_NORMAL_CLOSE, RW_SIDE_CLIENT, RW_CLOSE_FIN, RW_PHASE_RDP);
}

/* ---- Schannel: versions and suites -------------------------------------- */

/* A client offering only TLS 1.3 and 1.2 (supported_versions) with the CBC
 * suites a TLS 1.0 host can pick. */
static void modern_client_hello(bytes *b)
{
	bytes h = {0}, ext = {0};
	static const uint16_t suites[] = {0x1302, 0x1301, 0xc030, 0xc02f, 0xc014, 0xc013};
	rw_test_put16be(&h, 0x0303);
	for (int i = 0; i < 32; i++)
		rw_test_put8(&h, (unsigned)i);
	rw_test_put8(&h, 0);
	rw_test_put16be(&h, sizeof(suites));
	for (size_t i = 0; i < sizeof(suites) / 2; i++)
		rw_test_put16be(&h, suites[i]);
	rw_test_put8(&h, 1);
	rw_test_put8(&h, 0);
	rw_test_put16be(&ext, 43); /* supported_versions: 1.3, 1.2 */
	rw_test_put16be(&ext, 5);
	rw_test_put8(&ext, 4);
	rw_test_put16be(&ext, 0x0304);
	rw_test_put16be(&ext, 0x0303);
	rw_test_put16be(&h, (unsigned)ext.n);
	rw_test_put(&h, ext.p, ext.n);
	rw_test_handshake(b, 1, &h);
}

/* A TLS 1.0-only host (Schannel on Server 2008 R2 without the TLS 1.2
 * update) answers with its own highest version (RFC 5246 E.1): ServerHello
 * 3.1 choosing TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, in a 3.1 record. */
static void tls10_server_hello(bytes *b)
{
	bytes h = {0}, m = {0};
	rw_test_put16be(&h, 0x0301);
	for (int i = 0; i < 32; i++)
		rw_test_put8(&h, (unsigned)(0x40 + i));
	rw_test_put8(&h, 0);
	rw_test_put16be(&h, 0xc014);
	rw_test_put8(&h, 0);
	rw_test_put16be(&h, 5); /* renegotiation_info, empty */
	rw_test_put16be(&h, 0xff01);
	rw_test_put16be(&h, 1);
	rw_test_put8(&h, 0);
	rw_test_put8(&m, 2);
	rw_test_put24be(&m, (unsigned)h.n);
	rw_test_put(&m, h.p, h.n);
	rw_test_put8(b, 22);
	rw_test_put16be(b, 0x0301);
	rw_test_put16be(b, (unsigned)m.n);
	rw_test_put(b, m.p, m.n);
}

static void test_tls10_host_modern_client(void **state)
{
	(void)state;
	bytes cr = {0}, cc = {0}, ch = {0}, sf = {0}, al = {0};
	rw_test_cr(&cr, "alice", RW_PROTO_SSL | RW_PROTO_HYBRID);
	rw_test_cc(&cc, 2, RW_PROTO_HYBRID);
	modern_client_hello(&ch);
	tls10_server_hello(&sf);
	rw_test_certificate(&sf, -10, 300);
	rw_test_put_server_hello_done(&sf);
	rw_test_alert(&al, 2, 70); /* the client: protocol_version */
	/* OpenSSL (FreeRDP) answers with alert 70 and closes. */
	struct rw_step alerted[] = {DATA(C, cr), DATA(S, cc), DATA(C, ch), DATA(S, sf),
	                            DATA(C, al), FIN(C),      FIN(S),      END};
	struct rw_verdict v = expect(alerted, RW_CAUSE_TLS_PROTOCOL_VERSION_MISMATCH,
	                             RW_SIDE_CLIENT, RW_CLOSE_FIN, RW_PHASE_TLS_HANDSHAKE);
	assert_int_equal(v.confidence, RW_CONFIDENCE_HIGH);
	expect_evidence(&v, "client sent TLS alert protocol_version");
	expect_evidence(&v, "ServerHello picked TLS 1.0, below the lowest version the client "
	                    "offers (TLS 1.2)");
	/* A client that hangs up without the alert: the version, not the
	 * certificate that came in the same flight. */
	struct rw_step silent[] = {DATA(C, cr), DATA(S, cc), DATA(C, ch), DATA(S, sf), FIN(C), END};
	v = expect(silent, RW_CAUSE_TLS_PROTOCOL_VERSION_MISMATCH, RW_SIDE_CLIENT, RW_CLOSE_FIN,
	           RW_PHASE_TLS_HANDSHAKE);
	expect_evidence(&v, "client closed without continuing the handshake");
	/* ... or resets (Schannel clients often do). */
	struct rw_step reset[] = {DATA(C, cr), DATA(S, cc), DATA(C, ch), DATA(S, sf), RST(C), END};
	expect(reset, RW_CAUSE_TLS_PROTOCOL_VERSION_MISMATCH, RW_SIDE_CLIENT, RW_CLOSE_RST,
	       RW_PHASE_TLS_HANDSHAKE);
	/* A client that goes on in TLS 1.0 although it offered only 1.2 and
	 * 1.3 did not send that ClientHello: something rewrote it. */
	bytes cf = {0};
	rw_test_client_key_exchange(&cf);
	rw_test_ccs(&cf);
	rw_test_opaque(&cf, 22, 48);
	struct rw_step went_on[] = {DATA(C, cr), DATA(S, cc), DATA(C, ch), DATA(S, sf),
	                            DATA(C, cf), FIN(C),      END};
	expect(went_on, RW_CAUSE_TLS_STREAM_ALTERED, RW_SIDE_CLIENT, RW_CLOSE_FIN,
	       RW_PHASE_TLS_HANDSHAKE);
}

/* A TLS 1.2-only host (TLS 1.0/1.1 disabled under SCHANNEL\Protocols) and a
 * client that offers only TLS 1.0 (legacy_version 3.1, no supported_versions):
 * Schannel finds nothing to answer, logs event 36874 and the host resets the
 * connection with no ServerHello and no alert. */
static void test_schannel_resets_client_hello(void **state)
{
	(void)state;
	bytes cr = {0}, cc = {0}, ch = {0};
	rw_test_cr(&cr, "alice", RW_PROTO_SSL);
	rw_test_cc(&cc, 2, RW_PROTO_SSL);
	{
		bytes h = {0};
		static const uint16_t suites[] = {0xc014, 0xc013, 0x0035, 0x002f, 0x000a};
		rw_test_put16be(&h, 0x0301);
		for (int i = 0; i < 32; i++)
			rw_test_put8(&h, (unsigned)i);
		rw_test_put8(&h, 0);
		rw_test_put16be(&h, sizeof(suites));
		for (size_t i = 0; i < sizeof(suites) / 2; i++)
			rw_test_put16be(&h, suites[i]);
		rw_test_put8(&h, 1);
		rw_test_put8(&h, 0);
		rw_test_put16be(&h, 0);
		rw_test_handshake(&ch, 1, &h);
	}
	struct rw_step st[] = {DATA(C, cr), DATA(S, cc), DATA(C, ch), RST(S), END};
	struct rw_verdict v = expect(st, RW_CAUSE_TLS_REJECTED_WITHOUT_ALERT, RW_SIDE_SERVER,
	                             RW_CLOSE_RST, RW_PHASE_TLS_HANDSHAKE);
	assert_int_equal(v.confidence, RW_CONFIDENCE_MEDIUM);
	assert_true(has_alt(&v, RW_CAUSE_TLS_PROTOCOL_VERSION_MISMATCH));
	assert_true(has_alt(&v, RW_CAUSE_TLS_CIPHER_MISMATCH));
	expect_evidence(&v, "client offered up to TLS 1.0");
	/* When the alert Schannel generated (event 36888 names it) does reach
	 * the wire, it names the cause: 40 for suites, 70 for versions. */
	bytes a40 = {0}, a70 = {0};
	rw_test_alert(&a40, 2, 40);
	rw_test_alert(&a70, 2, 70);
	struct rw_step suites[] = {DATA(C, cr),  DATA(S, cc), DATA(C, ch),
	                           DATA(S, a40), RST(S),      END};
	expect(suites, RW_CAUSE_TLS_CIPHER_MISMATCH, RW_SIDE_SERVER, RW_CLOSE_RST,
	       RW_PHASE_TLS_HANDSHAKE);
	struct rw_step versions[] = {DATA(C, cr),  DATA(S, cc), DATA(C, ch),
	                             DATA(S, a70), RST(S),      END};
	expect(versions, RW_CAUSE_TLS_PROTOCOL_VERSION_MISMATCH, RW_SIDE_SERVER, RW_CLOSE_RST,
	       RW_PHASE_TLS_HANDSHAKE);
}

/* ---- RD Gateway, and TLS clients on 3389 ---------------------------------- */

/* mstsc (or FreeRDP without /g:) pointed at the RD Gateway's port 443: the
 * gateway is an HTTPS server (HTTP.sys + Schannel; MS-TSGU over HTTP or
 * RPC-over-HTTP, never X.224), so the TPKT header is read as a TLS record
 * header and refused. */
static void test_x224_to_rd_gateway(void **state)
{
	(void)state;
	bytes cr = {0}, al = {0};
	rw_test_cr(&cr, "alice", RW_PROTO_SSL | RW_PROTO_HYBRID | RW_PROTO_HYBRID_EX);
	rw_test_alert(&al, 2, 10); /* unexpected_message */
	struct rw_step alerted[] = {DATA(C, cr), DATA(S, al), RST(S), END};
	struct rw_verdict v = expect(alerted, RW_CAUSE_TLS_TERMINATING_MIDDLEBOX, RW_SIDE_SERVER,
	                             RW_CLOSE_RST, RW_PHASE_X224);
	assert_int_equal(v.confidence, RW_CONFIDENCE_HIGH);
	/* Without an alert: reset at once. */
	struct rw_step silent[] = {DATA(C, cr), SLEEP(2), RST(S), END};
	v = expect(silent, RW_CAUSE_TLS_TERMINATING_MIDDLEBOX, RW_SIDE_SERVER, RW_CLOSE_RST,
	           RW_PHASE_X224);
	assert_int_equal(v.confidence, RW_CONFIDENCE_LOW);
}

/* A browser's ClientHello: ALPN h2, http/1.1 (RFC 7301), TLS 1.3 and 1.2. */
static void browser_client_hello(bytes *b)
{
	bytes h = {0}, ext = {0};
	static const uint16_t suites[] = {0x1301, 0x1302, 0xc02f, 0xc030};
	rw_test_put16be(&h, 0x0303);
	for (int i = 0; i < 32; i++)
		rw_test_put8(&h, (unsigned)i);
	rw_test_put8(&h, 0);
	rw_test_put16be(&h, sizeof(suites));
	for (size_t i = 0; i < sizeof(suites) / 2; i++)
		rw_test_put16be(&h, suites[i]);
	rw_test_put8(&h, 1);
	rw_test_put8(&h, 0);
	rw_test_put16be(&ext, 16); /* application_layer_protocol_negotiation */
	rw_test_put16be(&ext, 14);
	rw_test_put16be(&ext, 12);
	rw_test_put8(&ext, 2);
	rw_test_put(&ext, "h2", 2);
	rw_test_put8(&ext, 8);
	rw_test_put(&ext, "http/1.1", 8);
	rw_test_put16be(&ext, 43); /* supported_versions: 1.3, 1.2 */
	rw_test_put16be(&ext, 5);
	rw_test_put8(&ext, 4);
	rw_test_put16be(&ext, 0x0304);
	rw_test_put16be(&ext, 0x0303);
	rw_test_put16be(&h, (unsigned)ext.n);
	rw_test_put(&h, ext.p, ext.n);
	rw_test_handshake(b, 1, &h);
}

/* A browser (https://host:3389) or an HTTPS health check on the RDP port:
 * TLS from the first byte, no X.224. A Windows host takes it for the Direct
 * Approach (MS-RDPBCGR 5.4.2.2) and completes the TLS handshake; what comes
 * inside is not a TSRequest and the host closes. The ClientHello's ALPN (h2,
 * http/1.1: no RDP client sends one) names it: not_rdp. */
static void test_tls_client_on_3389(void **state)
{
	(void)state;
	bytes ch = {0}, sf = {0}, cf = {0}, sfin = {0}, req = {0};
	browser_client_hello(&ch);
	rw_test_put_server_hello(&sf, 0xc030, 0x0303, false);
	rw_test_certificate(&sf, -10, 300);
	rw_test_put_server_hello_done(&sf);
	rw_test_client_key_exchange(&cf);
	rw_test_ccs(&cf);
	rw_test_opaque(&cf, 22, 40);
	rw_test_ccs(&sfin);
	rw_test_opaque(&sfin, 22, 40);
	enc(&req, 380, GCM12); /* GET / HTTP/1.1 ... */
	struct rw_step st[] = {DATA(C, ch),  DATA(S, sf), DATA(C, cf), DATA(S, sfin),
	                       DATA(C, req), FIN(S),      FIN(C),      END};
	struct rw_verdict v =
	        expect(st, RW_CAUSE_NOT_RDP, RW_SIDE_SERVER, RW_CLOSE_FIN, RW_PHASE_RDP);
	expect_evidence(&v, "offering ALPN h2 and no X.224 request");
	/* The browser refuses the host's self-signed certificate and leaves. */
	bytes al = {0};
	rw_test_alert(&al, 2, 48);
	struct rw_step refused[] = {DATA(C, ch), DATA(S, sf), DATA(C, al), FIN(C), END};
	expect(refused, RW_CAUSE_NOT_RDP, RW_SIDE_CLIENT, RW_CLOSE_FIN, RW_PHASE_TLS_HANDSHAKE);
	/* Without ALPN a TLS-first client is what a Direct Approach client
	 * sends: rdpwhy then follows it as RDP (here the host's close after the
	 * client's first data, rdp_closed_by_server). */
	bytes ch2 = {0};
	rw_test_put_client_hello(&ch2, NULL, 0);
	struct rw_step direct[] = {DATA(C, ch2), DATA(S, sf), DATA(C, cf), DATA(S, sfin),
	                           DATA(C, req), FIN(S),      FIN(C),      END};
	expect(direct, RW_CAUSE_RDP_CLOSED_BY_SERVER, RW_SIDE_SERVER, RW_CLOSE_FIN, RW_PHASE_RDP);
	/* Plain HTTP on 3389: not_rdp (test_causes). */
	bytes get = {0};
	rw_test_put(&get, "GET / HTTP/1.1\r\nHost: rdp.local\r\n\r\n", 35);
	struct rw_step http[] = {DATA(C, get), RST(S), END};
	expect(http, RW_CAUSE_NOT_RDP, RW_SIDE_SERVER, RW_CLOSE_RST, RW_PHASE_X224);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_neg_failure_every_code),
	        cmocka_unit_test(test_error_reply_then_client_closes),
	        cmocka_unit_test(test_error_reply_tls13),
	        cmocka_unit_test(test_auth_only_is_not_a_failure),
	        cmocka_unit_test(test_error_reply_cbc),
	        cmocka_unit_test(test_early_user_authorization_denied),
	        cmocka_unit_test(test_tls10_host_modern_client),
	        cmocka_unit_test(test_schannel_resets_client_hello),
	        cmocka_unit_test(test_x224_to_rd_gateway),
	        cmocka_unit_test(test_tls_client_on_3389),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
