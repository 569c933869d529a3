/* Every cause code is an API (README "Cause codes"): each one is produced
 * here by a real rw_session fed the wire of that failure, and pinned as the
 * exact JSON strings of the four verdict fields. The name table is pinned in
 * enum order, and the README's cause table must list exactly these names.
 *
 * Wire: TPKT (RFC 1006), X.224 CR/CC with RDP_NEG_REQ/RSP/FAILURE
 * (MS-RDPBCGR 2.2.1.1-2.2.1.2), TLS records, hellos and alerts (RFC 5246,
 * RFC 8446), built by the testutil.h builders. Each scenario runs whole and
 * byte by byte: the verdict must not depend on the segmentation. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "record_format.h"
#include "inspect_wire.h"
#include "session.h"
#include "testutil.h"

typedef struct rw_test_bytes bytes;

/* The causes some test below produced (checked last). */
static bool produced[RW_CAUSE_COUNT];

/* Runs the steps whole and byte by byte (no SYN events when !syn: the
 * connection attempt itself failed) and checks the verdict's JSON fields. */
static void expect_run(const struct rw_step *steps, bool syn, const char *cause,
                       const char *closed_by, const char *close_kind, const char *phase)
{
	char want[256];
	snprintf(want, sizeof(want),
	         "\"rdpwhy.cause\":\"%s\",\"rdpwhy.closed_by\":\"%s\",\"rdpwhy.close_kind\":\"%s\","
	         "\"rdpwhy.phase\":\"%s\",",
	         cause, closed_by, close_kind, phase);
	for (int split = SPLIT_WHOLE; split <= SPLIT_BYTES; split++) {
		struct rw_session *s = rw_test_run_ex(steps, (enum rw_split)split, 1, !syn);
		struct rw_record *r = rw_session_record(s);
		struct rw_buf out;
		rw_buf_init(&out, 0);
		assert_int_equal(rw_record_json_style(r, NULL, NULL, RW_JSON_FLAT, &out), 0);
		if (!strstr(out.data, want)) {
			print_error("split %d: want %s\nin %s", split, want, out.data);
			fail();
		}
		/* The enum and its name agree (the name table is pinned below). */
		assert_string_equal(rw_cause_name(r->verdict.cause), cause);
		assert_true(r->verdict.n_evidence > 0);
		produced[r->verdict.cause] = true;
		rw_buf_free(&out);
		rw_session_free(s);
	}
}

#define expect(steps, ...) expect_run(steps, true, __VA_ARGS__)

/* The evidence names what was seen: want is in one of its lines. */
static void expect_evidence(const struct rw_step *steps, const char *want)
{
	struct rw_session *s = rw_test_run(steps, SPLIT_WHOLE, 0);
	const struct rw_verdict *v = &rw_session_record(s)->verdict;
	bool found = false;
	for (size_t i = 0; i < v->n_evidence; i++)
		found |= strstr(v->evidence[i], want) != NULL;
	if (!found) {
		for (size_t i = 0; i < v->n_evidence; i++)
			print_error("evidence: %s\n", v->evidence[i]);
		fail_msg("no evidence line says \"%s\"", want);
	}
	rw_session_free(s);
}

static const uint16_t v13[] = {0x0304, 0x0303};

/* Client: CR asking for proto; server: CC selecting it; client: ClientHello. */
static void tls_start(bytes *cr, bytes *cc, bytes *ch, int proto, const uint16_t *versions,
                      size_t nv)
{
	rw_test_cr(cr, "alice", proto);
	rw_test_cc(cc, 2, (uint32_t)proto);
	rw_test_put_client_hello(ch, versions, nv);
}

/* A full TLS 1.2 handshake: the server's flight (ServerHello, Certificate,
 * ServerHelloDone), the client's ClientKeyExchange, CCS, Finished, and the
 * server's CCS, Finished (encrypted handshake records of 40 bytes). */
static void tls12_full(bytes *sflight, bytes *cfin, bytes *sfin)
{
	rw_test_put_server_hello(sflight, 0xc02f, 0, false);
	rw_test_certificate(sflight, -10, 300);
	rw_test_put_server_hello_done(sflight);
	rw_test_client_key_exchange(cfin);
	rw_test_ccs(cfin);
	rw_test_opaque(cfin, 22, 40);
	rw_test_ccs(sfin);
	rw_test_opaque(sfin, 22, 40);
}

/* The bytes of a TLS 1.2 session up to both Finished messages, over the
 * security protocol proto (tls_start, then tls12_full). */
struct tls12 {
	bytes cr, cc, ch, sf, cf, sfin;
};
static void tls12_session(struct tls12 *t, int proto)
{
	tls_start(&t->cr, &t->cc, &t->ch, proto, NULL, 0);
	tls12_full(&t->sf, &t->cf, &t->sfin);
}
#define TLS12_STEPS(t)                                                                             \
	DATA(C, (t).cr), DATA(S, (t).cc), DATA(C, (t).ch), DATA(S, (t).sf), DATA(C, (t).cf),       \
	        DATA(S, (t).sfin)

/* ---- one test per cause ------------------------------------------------- */

static void test_unknown(void **state)
{
	(void)state;
	/* The server sends its whole flight and closes at once, before the client
	 * answers: no rule explains a server FIN in the middle of the handshake
	 * without an alert. */
	bytes cr = {0}, cc = {0}, ch = {0}, sf = {0};
	tls_start(&cr, &cc, &ch, RW_PROTO_SSL, NULL, 0);
	rw_test_put_server_hello(&sf, 0xc02f, 0, false);
	rw_test_certificate(&sf, -10, 300);
	rw_test_put_server_hello_done(&sf);
	struct rw_step st[] = {DATA(C, cr), DATA(S, cc), DATA(C, ch), DATA(S, sf), FIN(S), END};
	expect(st, "unknown", "server", "fin", "tls_handshake");
}

static void test_normal_close(void **state)
{
	(void)state;
	struct tls12 t = {0};
	bytes app_c = {0}, app_s = {0};
	tls12_session(&t, RW_PROTO_SSL);
	rw_test_opaque(&app_c, 23, 120); /* MCS Connect Initial */
	rw_test_opaque(&app_s, 23, 90);  /* MCS Connect Response */
	struct rw_step st[] = {TLS12_STEPS(t),
	                       DATA(C, app_c),
	                       DATA(S, app_s),
	                       DATA(C, app_c),
	                       FIN(C),
	                       FIN(S),
	                       END};
	expect(st, "normal_close", "client", "fin", "rdp");
	/* FreeRDP +auth-only: CredSSP completes (three client messages), the
	 * client leaves. */
	bytes hcr = {0}, hcc = {0}, hch = {0}, tsreq = {0}, tsrsp = {0};
	tls_start(&hcr, &hcc, &hch, RW_PROTO_HYBRID, NULL, 0);
	rw_test_opaque(&tsreq, 23, 90);
	rw_test_opaque(&tsrsp, 23, 200);
	struct rw_step nla[] = {DATA(C, hcr),
	                        DATA(S, hcc),
	                        DATA(C, hch),
	                        DATA(S, t.sf),
	                        DATA(C, t.cf),
	                        DATA(S, t.sfin),
	                        DATA(C, tsreq),
	                        DATA(S, tsrsp),
	                        DATA(C, tsreq),
	                        DATA(S, tsrsp),
	                        DATA(C, tsreq),
	                        FIN(C),
	                        END};
	expect(nla, "normal_close", "client", "fin", "nla");
}

static void test_client_cancelled(void **state)
{
	(void)state;
	bytes cr = {0}, cc = {0}, ch = {0};
	tls_start(&cr, &cc, &ch, RW_PROTO_SSL, NULL, 0);
	/* The user closes mstsc before the host answers the request. */
	struct rw_step early[] = {DATA(C, cr), SLEEP(800), FIN(C), END};
	expect(early, "client_cancelled", "client", "fin", "x224");
	/* ... or while waiting for the ServerHello. */
	struct rw_step late[] = {DATA(C, cr), DATA(S, cc), DATA(C, ch), SLEEP(1500), FIN(C), END};
	expect(late, "client_cancelled", "client", "fin", "tls_handshake");
}

static void test_upstream_refused(void **state)
{
	(void)state;
	/* RST in answer to SYN: no SYN-ACK, no data. */
	struct rw_step st[] = {CONNECT_FAILED(RW_CLOSE_REFUSED), END};
	expect_run(st, false, "upstream_refused", "server", "refused", "tcp_connect");
}

static void test_upstream_unreachable(void **state)
{
	(void)state;
	struct rw_step st[] = {CONNECT_FAILED(RW_CLOSE_UNREACHABLE), END};
	expect_run(st, false, "upstream_unreachable", "client", "unreachable", "tcp_connect");
	/* The proxy's connect timeout. */
	struct rw_step to[] = {CONNECT_FAILED(RW_CLOSE_TIMEOUT), END};
	expect_run(to, false, "upstream_unreachable", "client", "timeout", "tcp_connect");
}

static void test_x224_no_response(void **state)
{
	(void)state;
	bytes cr = {0};
	rw_test_cr(&cr, "alice", RW_PROTO_SSL | RW_PROTO_HYBRID);
	struct rw_step st[] = {DATA(C, cr), SLEEP(30000), TIMEOUT, END};
	expect(st, "x224_no_response", "proxy", "timeout", "x224");
}

static void test_x224_closed_by_server(void **state)
{
	(void)state;
	bytes cr = {0};
	rw_test_cr(&cr, "alice", RW_PROTO_SSL | RW_PROTO_HYBRID);
	/* An RDP host at its connection limit: closes after a moment, no answer. */
	struct rw_step st[] = {DATA(C, cr), SLEEP(1500), FIN(S), FIN(C), END};
	expect(st, "x224_closed_by_server", "server", "fin", "x224");
}

static void test_tls_terminating_middlebox(void **state)
{
	(void)state;
	/* HAProxy 'bind ssl' reads the TPKT header as a TLS record header and
	 * answers with a fatal alert (unexpected_message). */
	bytes cr = {0}, al = {0};
	rw_test_cr(&cr, "alice", RW_PROTO_SSL);
	rw_test_alert(&al, 2, 10);
	struct rw_step st[] = {DATA(C, cr), DATA(S, al), FIN(S), END};
	expect(st, "tls_terminating_middlebox", "server", "fin", "x224");
}

static void test_security_negotiation_failure(void **state)
{
	(void)state;
	/* Client asks for TLS only, the host requires NLA:
	 * RDP_NEG_FAILURE HYBRID_REQUIRED_BY_SERVER (5). */
	bytes cr = {0}, cc = {0};
	rw_test_cr(&cr, "alice", RW_PROTO_SSL);
	rw_test_cc(&cc, 3, 5);
	struct rw_step st[] = {DATA(C, cr), DATA(S, cc), FIN(S), FIN(C), END};
	expect(st, "security_negotiation_failure", "server", "fin", "x224");
}

static void test_tls_protocol_version_mismatch(void **state)
{
	(void)state;
	bytes cr = {0}, cc = {0}, ch = {0}, al = {0};
	tls_start(&cr, &cc, &ch, RW_PROTO_SSL, v13, 2);
	rw_test_alert(&al, 2, 70); /* fatal protocol_version */
	struct rw_step st[] = {DATA(C, cr), DATA(S, cc), DATA(C, ch), DATA(S, al), FIN(S), END};
	expect(st, "tls_protocol_version_mismatch", "server", "fin", "tls_handshake");
}

static void test_tls_cipher_mismatch(void **state)
{
	(void)state;
	bytes cr = {0}, cc = {0}, ch = {0}, al = {0};
	tls_start(&cr, &cc, &ch, RW_PROTO_SSL, v13, 2);
	rw_test_alert(&al, 2, 40); /* fatal handshake_failure */
	struct rw_step st[] = {DATA(C, cr), DATA(S, cc), DATA(C, ch), DATA(S, al), FIN(S), END};
	expect(st, "tls_cipher_mismatch", "server", "fin", "tls_handshake");
}

static void test_tls_rejected_without_alert(void **state)
{
	(void)state;
	/* Schannel with no common suite: reset right after the ClientHello. */
	bytes cr = {0}, cc = {0}, ch = {0};
	tls_start(&cr, &cc, &ch, RW_PROTO_SSL, NULL, 0);
	struct rw_step st[] = {DATA(C, cr), DATA(S, cc), DATA(C, ch), RST(S), END};
	expect(st, "tls_rejected_without_alert", "server", "rst", "tls_handshake");
}

static void test_certificate_expired(void **state)
{
	(void)state;
	bytes cr = {0}, cc = {0}, ch = {0}, sf = {0}, al = {0};
	tls_start(&cr, &cc, &ch, RW_PROTO_SSL, NULL, 0);
	rw_test_put_server_hello(&sf, 0xc02f, 0, false);
	rw_test_certificate(&sf, -400, -30); /* expired a month ago */
	rw_test_put_server_hello_done(&sf);
	rw_test_alert(&al, 2, 45); /* fatal certificate_expired */
	struct rw_step st[] = {DATA(C, cr), DATA(S, cc), DATA(C, ch), DATA(S, sf),
	                       DATA(C, al), FIN(C),      END};
	expect(st, "certificate_expired", "client", "fin", "tls_handshake");
}

static void test_certificate_rejected_by_client(void **state)
{
	(void)state;
	bytes cr = {0}, cc = {0}, ch = {0}, sf = {0}, al = {0};
	tls_start(&cr, &cc, &ch, RW_PROTO_SSL, NULL, 0);
	rw_test_put_server_hello(&sf, 0xc02f, 0, false);
	rw_test_certificate(&sf, -10, 300); /* valid, self-signed */
	rw_test_put_server_hello_done(&sf);
	rw_test_alert(&al, 2, 48); /* fatal unknown_ca */
	struct rw_step st[] = {DATA(C, cr), DATA(S, cc), DATA(C, ch), DATA(S, sf),
	                       DATA(C, al), FIN(C),      END};
	expect(st, "certificate_rejected_by_client", "client", "fin", "tls_handshake");
}

static void test_tls_stream_altered(void **state)
{
	(void)state;
	/* The ServerHello picks TLS_RSA_WITH_AES_128_GCM_SHA256 (0x009c), which
	 * the client never offered: a TLS-inspecting box answers for the host.
	 * The client says illegal_parameter (47) and leaves. */
	bytes cr = {0}, cc = {0}, ch = {0}, sh = {0}, al = {0};
	tls_start(&cr, &cc, &ch, RW_PROTO_SSL, v13, 2);
	rw_test_put_server_hello(&sh, 0x009c, 0, false);
	rw_test_alert(&al, 2, 47);
	struct rw_step st[] = {DATA(C, cr), DATA(S, cc), DATA(C, ch), DATA(S, sh),
	                       DATA(C, al), FIN(C),      END};
	expect(st, "tls_stream_altered", "client", "fin", "tls_handshake");
}

static void test_reset_injected(void **state)
{
	(void)state;
	/* The host's packets arrive with TTL 118 (Windows, 10 hops); the RST
	 * "from the host" with TTL 61: a firewall 3 hops away forged it. */
	bytes cr = {0}, cc = {0}, ch = {0};
	tls_start(&cr, &cc, &ch, RW_PROTO_SSL, NULL, 0);
	struct rw_step st[] = {TTL(C, 64),  TTL(S, 118),    DATA(C, cr), DATA(S, cc),
	                       DATA(C, ch), RST_TTL(S, 61), END};
	expect(st, "reset_injected", "server", "rst", "tls_handshake");
}

static void test_resets(void **state)
{
	(void)state;
	struct tls12 t = {0};
	bytes app_c = {0}, app_s = {0};
	tls12_session(&t, RW_PROTO_SSL);
	rw_test_opaque(&app_c, 23, 120);
	rw_test_opaque(&app_s, 23, 90);
	struct rw_step st[] = {TLS12_STEPS(t), DATA(C, app_c), DATA(S, app_s), RST(S), END};
	expect(st, "reset_by_server", "server", "rst", "rdp");
	st[8] = (struct rw_step)RST(C);
	expect(st, "reset_by_client", "client", "rst", "rdp");
}

static void test_nla_failed(void **state)
{
	(void)state;
	/* CredSSP with a wrong password: NEGOTIATE, CHALLENGE, AUTHENTICATE,
	 * then the host closes. */
	struct tls12 t = {0};
	bytes tsreq = {0}, tsrsp = {0};
	tls12_session(&t, RW_PROTO_HYBRID);
	rw_test_opaque(&tsreq, 23, 90);
	rw_test_opaque(&tsrsp, 23, 200);
	struct rw_step st[] = {TLS12_STEPS(t),
	                       DATA(C, tsreq),
	                       DATA(S, tsrsp),
	                       DATA(C, tsreq),
	                       FIN(S),
	                       FIN(C),
	                       END};
	expect(st, "nla_failed", "server", "fin", "nla");
}

static void test_clock_skew(void **state)
{
	(void)state;
	/* The same NLA failure, but the host's CHALLENGE said its clock is 10
	 * minutes ahead (a front end that decrypts CredSSP reports it): Kerberos
	 * refused before any password was checked. */
	struct tls12 t = {0};
	bytes tsreq = {0}, tsrsp = {0};
	tls12_session(&t, RW_PROTO_HYBRID);
	rw_test_opaque(&tsreq, 23, 90);
	rw_test_opaque(&tsrsp, 23, 200);
	struct rw_step st[] = {TLS12_STEPS(t), DATA(C, tsreq), DATA(S, tsrsp), HOST_CLOCK(600),
	                       DATA(C, tsreq), FIN(S),         FIN(C),         END};
	expect(st, "clock_skew", "server", "fin", "nla");
	/* 4 minutes off is within Kerberos' tolerance: the plain NLA failure. */
	struct rw_step near[] = {TLS12_STEPS(t), DATA(C, tsreq), DATA(S, tsrsp), HOST_CLOCK(-240),
	                         DATA(C, tsreq), FIN(S),         FIN(C),         END};
	expect(near, "nla_failed", "server", "fin", "nla");
	/* Behind by 10 minutes counts the same as ahead. */
	struct rw_step behind[] = {TLS12_STEPS(t), DATA(C, tsreq), DATA(S, tsrsp), HOST_CLOCK(-600),
	                           DATA(C, tsreq), FIN(S),         FIN(C),         END};
	expect(behind, "clock_skew", "server", "fin", "nla");
}

static void test_handshake_timeout(void **state)
{
	(void)state;
	bytes cr = {0}, cc = {0}, ch = {0};
	tls_start(&cr, &cc, &ch, RW_PROTO_SSL, NULL, 0);
	struct rw_step st[] = {DATA(C, cr), DATA(S, cc), DATA(C, ch), SLEEP(30000), TIMEOUT, END};
	expect(st, "handshake_timeout", "proxy", "timeout", "tls_handshake");
}

/* The inline proxy's sockets (relay.c): who it waited on and what TCP said. */
static const struct rw_test_proxy_stop client_acked = {
        .how = RW_PROXY_STOP_WAITED,
        .tcp = {.known = true, .last_ack_ms = 200, .silent_ms = 30000}};
static const struct rw_test_proxy_stop client_unacked = {.how = RW_PROXY_STOP_WAITED,
                                                         .tcp = {.known = true,
                                                                 .unacked_bytes = 2896,
                                                                 .last_ack_ms = 30000,
                                                                 .silent_ms = 30000,
                                                                 .retransmits = 5}};

static void test_proxy_waits(void **state)
{
	(void)state;
	struct tls12 t = {0};
	tls12_session(&t, RW_PROTO_HYBRID);
	/* The server's flight reached the client (acknowledged), the client says
	 * nothing: a person at mstsc's prompt, not the network. */
	struct rw_test_proxy_stop prompt = client_acked;
	prompt.prompt_wait_ms = 270000;
	struct rw_step person[] = {DATA(C, t.cr),
	                           DATA(S, t.cc),
	                           DATA(C, t.ch),
	                           DATA(S, t.sf),
	                           SLEEP(300000),
	                           PROXY_STOP(C, &prompt),
	                           END};
	expect(person, "client_cancelled", "proxy", "timeout", "tls_handshake");
	expect_evidence(person, "all data acknowledged; the client was silent for 30 s in phase "
	                        "tls_handshake (waiting on the user?)");
	expect_evidence(person, "waited 270 s past the phase timeout");
	struct rw_session *s = rw_test_run(person, SPLIT_WHOLE, 0);
	const struct rw_verdict *v = &rw_session_record(s)->verdict;
	assert_int_equal(v->confidence, RW_CONFIDENCE_MEDIUM);
	assert_int_equal(v->n_alternatives, 1);
	assert_int_equal(v->alternatives[0], RW_CAUSE_HANDSHAKE_TIMEOUT);
	assert_null(strstr(v->remediation, "loss"));
	rw_session_free(s);
	/* In NLA (a smart-card PIN): low, a lost Kerberos token fits too. */
	bytes tsreq = {0}, tsrsp = {0};
	rw_test_opaque(&tsreq, 23, 90);
	rw_test_opaque(&tsrsp, 23, 200);
	struct rw_step pin[] = {TLS12_STEPS(t), DATA(C, tsreq), DATA(S, tsrsp),
	                        PROXY_STOP(C, &client_acked), END};
	expect(pin, "client_cancelled", "proxy", "timeout", "nla");
	s = rw_test_run(pin, SPLIT_WHOLE, 0);
	v = &rw_session_record(s)->verdict;
	assert_int_equal(v->confidence, RW_CONFIDENCE_LOW);
	assert_int_equal(v->n_alternatives, 2);
	assert_int_equal(v->alternatives[1], RW_CAUSE_MTU_BLACKHOLE);
	rw_session_free(s);
	/* The server's flight never acknowledged by the client: the network. */
	struct rw_step net[] = {DATA(C, t.cr),
	                        DATA(S, t.cc),
	                        DATA(C, t.ch),
	                        DATA(S, t.sf),
	                        SLEEP(30000),
	                        PROXY_STOP(C, &client_unacked),
	                        END};
	expect(net, "handshake_timeout", "proxy", "timeout", "tls_handshake");
	expect_evidence(net,
	                "waiting on the network: 2896 bytes sent to the client not "
	                "acknowledged (last ACK 30.0 s before the timeout, 5 retransmissions)");
	/* The request never acknowledged by the host's TCP: not a hung
	 * TermService (x224_no_response) but the network. */
	struct rw_test_proxy_stop server_unacked = client_unacked;
	struct rw_step x224[] = {DATA(C, t.cr), SLEEP(30000), PROXY_STOP(S, &server_unacked), END};
	expect(x224, "handshake_timeout", "proxy", "timeout", "x224");
	/* Acknowledged by the host, never answered: x224_no_response as before,
	 * with what the socket showed. */
	struct rw_test_proxy_stop server_acked = client_acked;
	struct rw_step hung[] = {DATA(C, t.cr), SLEEP(30000), PROXY_STOP(S, &server_acked), END};
	expect(hung, "x224_no_response", "proxy", "timeout", "x224");
	expect_evidence(hung, "waiting on the server: all data sent to it acknowledged, the server "
	                      "silent for 30 s");
}

static void test_peer_vanished(void **state)
{
	(void)state;
	struct tls12 t = {0};
	bytes app_c = {0}, app_s = {0};
	tls12_session(&t, RW_PROTO_SSL);
	rw_test_opaque(&app_c, 23, 120);
	rw_test_opaque(&app_s, 23, 8000);
	/* The laptop sleeps: keepalive probes go unanswered for 2 minutes. */
	static const struct rw_test_proxy_stop gone = {.how = RW_PROXY_STOP_LOST,
	                                               .tcp = {.known = true,
	                                                       .last_ack_ms = 120000,
	                                                       .silent_ms = 125000,
	                                                       .probes = 6,
	                                                       .error = 110,
	                                                       .error_name = "ETIMEDOUT"}};
	/* Past 64 KiB from the server after the security layer: established. */
#define SESSION                                                                                    \
	TLS12_STEPS(t), DATA(C, app_c), DATA(S, app_s), DATA(S, app_s), DATA(S, app_s),            \
	        DATA(S, app_s), DATA(S, app_s), DATA(S, app_s), DATA(S, app_s), DATA(S, app_s),    \
	        DATA(S, app_s)
	struct rw_step st[] = {SESSION, SLEEP(120000), PROXY_STOP(C, &gone), END};
	expect(st, "peer_vanished", "proxy", "timeout", "established");
	expect_evidence(st, "the client vanished: the proxy's socket to it failed with ETIMEDOUT");
	expect_evidence(st, "no ACK from the client for 120 s (idle: keepalive probes unanswered)");
	/* The host goes away with the client's input outstanding. */
	struct rw_test_proxy_stop host = gone;
	host.tcp.unacked_bytes = 310;
	struct rw_step srv[] = {DATA(C, t.cr),
	                        DATA(S, t.cc),
	                        DATA(C, t.ch),
	                        DATA(S, t.sf),
	                        DATA(C, t.cf),
	                        PROXY_STOP(S, &host),
	                        END};
	expect(srv, "peer_vanished", "proxy", "timeout", "tls_handshake");
	expect_evidence(srv,
	                "no ACK from the server for 120 s (data outstanding: TCP_USER_TIMEOUT)");
	expect_evidence(srv, "310 bytes sent to the server never acknowledged");

	/* Established, nothing either way until idle_timeout. */
	static const struct rw_test_proxy_stop idle = {
	        .how = RW_PROXY_STOP_WAITED,
	        .tcp = {.known = true, .last_ack_ms = 50000, .silent_ms = 7200000}};
	struct rw_step quiet[] = {SESSION, SLEEP(7200000), PROXY_STOP(C, &idle), END};
#undef SESSION
	expect(quiet, "idle_timeout", "proxy", "timeout", "established");
	expect_evidence(quiet, "both sides idle");
}

static void test_mtu_blackhole(void **state)
{
	(void)state;
	/* The certificate flight goes out in full-size segments that are
	 * retransmitted and never acknowledged (VPN MTU), until the proxy gives up. */
	bytes cr = {0}, cc = {0}, ch = {0}, sf = {0};
	tls_start(&cr, &cc, &ch, RW_PROTO_SSL, NULL, 0);
	rw_test_put_server_hello(&sf, 0xc02f, 0, false);
	rw_test_certificate(&sf, -10, 300);
	rw_test_put_server_hello_done(&sf);
	static const struct rw_tcp_stats lost = {.packets = 12,
	                                         .retransmits = 8,
	                                         .large_unacked_retransmits = 6,
	                                         .max_segment = 1448};
	struct rw_step st[] = {DATA(C, cr),     DATA(S, cc),  DATA(C, ch), DATA(S, sf),
	                       STATS(S, &lost), SLEEP(30000), TIMEOUT,     END};
	expect(st, "mtu_blackhole", "proxy", "timeout", "tls_handshake");
}

static void test_tls_alert(void **state)
{
	(void)state;
	/* TLS 1.2: the client sent ClientKeyExchange, CCS and Finished; the
	 * server cannot complete the key exchange and sends a fatal
	 * internal_error (80) instead of its CCS, then closes. */
	bytes cr = {0}, cc = {0}, ch = {0}, sf = {0}, cf = {0}, unused = {0}, al = {0};
	tls_start(&cr, &cc, &ch, RW_PROTO_SSL, NULL, 0);
	tls12_full(&sf, &cf, &unused);
	rw_test_alert(&al, 2, 80);
	struct rw_step st[] = {DATA(C, cr), DATA(S, cc), DATA(C, ch), DATA(S, sf),
	                       DATA(C, cf), DATA(S, al), FIN(S),      END};
	expect(st, "tls_alert", "server", "fin", "tls_handshake");
	expect_evidence(st, "server sent TLS alert internal_error during the handshake");
	/* An abbreviated (resumed) TLS 1.2 handshake: ServerHello, CCS and
	 * Finished; the client cannot verify the server's Finished and sends a
	 * fatal decrypt_error (51) in clear (it has not sent its CCS). */
	bytes sh = {0}, al2 = {0};
	rw_test_put_server_hello(&sh, 0xc02f, 0, false);
	rw_test_ccs(&sh);
	rw_test_opaque(&sh, 22, 40);
	rw_test_alert(&al2, 2, 51);
	struct rw_step resumed[] = {DATA(C, cr),  DATA(S, cc), DATA(C, ch), DATA(S, sh),
	                            DATA(C, al2), FIN(C),      END};
	expect(resumed, "tls_alert", "client", "fin", "tls_handshake");
	expect_evidence(resumed, "client sent TLS alert decrypt_error during the handshake");
}

static void test_not_rdp(void **state)
{
	(void)state;
	/* A browser pointed at the RDP port; the host resets. */
	bytes get = {0};
	rw_test_put(&get, "GET / HTTP/1.1\r\nHost: rdp.local\r\n\r\n", 35);
	struct rw_step st[] = {DATA(C, get), RST(S), END};
	expect(st, "not_rdp", "server", "rst", "x224");
}

static void test_still_open(void **state)
{
	(void)state;
	/* The capture ends in the middle of the handshake. */
	bytes cr = {0}, cc = {0}, ch = {0};
	tls_start(&cr, &cc, &ch, RW_PROTO_SSL, NULL, 0);
	struct rw_step st[] = {DATA(C, cr), DATA(S, cc), DATA(C, ch), END};
	expect(st, "still_open", "none", "none", "tls_handshake");
}

static void test_rdp_closed_by_server(void **state)
{
	(void)state;
	/* TLS security, MCS under way, then the host ends it (licensing). */
	struct tls12 t = {0};
	bytes app_c = {0}, app_s = {0};
	tls12_session(&t, RW_PROTO_SSL);
	rw_test_opaque(&app_c, 23, 120);
	rw_test_opaque(&app_s, 23, 90);
	struct rw_step st[] = {TLS12_STEPS(t), DATA(C, app_c), DATA(S, app_s), FIN(S), FIN(C), END};
	expect(st, "rdp_closed_by_server", "server", "fin", "rdp");
}

/* Inspection with the host's key (issue #15): the host's own reason read
 * inside TLS. The plaintext (inspect_wire.c, from MS-CSSP, MS-NLMP, RFC 4120
 * and MS-RDPBCGR) goes beside the TLS records that carry it. */
static void test_inspected(void **state)
{
	(void)state;
	struct tls12 t = {0};
	bytes c_rec = {0}, s_rec = {0}, neg = {0}, chal = {0}, auth = {0}, ts_neg = {0},
	      ts_chal = {0}, ts_auth = {0}, ts_pka = {0}, pka = {0}, ts_creds = {0}, creds = {0},
	      ci = {0}, cresp = {0};
	tls12_session(&t, RW_PROTO_HYBRID);
	rw_test_opaque(&c_rec, 23, 90);
	rw_test_opaque(&s_rec, 23, 200);
	iw_ntlm_negotiate(&neg);
	iw_ntlm_challenge(&chal, 0);
	iw_ntlm_authenticate(&auth, (const uint8_t *)"ntlmv2-response-ntlmv2-response", 31);
	iw_tsreq(&ts_neg, 6, &neg, NULL, NULL, false, 0);
	iw_tsreq(&ts_chal, 6, &chal, NULL, NULL, false, 0);
	iw_tsreq(&ts_auth, 6, &auth, NULL, NULL, false, 0);
	rw_test_put(&pka, "server-pubkeyauth-server-pubkey", 31);
	iw_tsreq(&ts_pka, 6, NULL, NULL, &pka, false, 0);
	rw_test_put(&creds, "encrypted-tscredentials", 23);
	iw_tsreq(&ts_creds, 6, NULL, &creds, NULL, false, 0);
	iw_mcs_connect_initial(&ci, 300);
	iw_mcs_connect_response(&cresp, 100);

	/* FreeRDP 2's server: no errorCode, the close right after AUTHENTICATE. */
	struct rw_step freerdp[] = {TLS12_STEPS(t),
	                            DATA(C, c_rec),
	                            PLAIN(C, ts_neg),
	                            DATA(S, s_rec),
	                            PLAIN(S, ts_chal),
	                            DATA(C, c_rec),
	                            PLAIN(C, ts_auth),
	                            FIN(S),
	                            FIN(C),
	                            END};
	expect(freerdp, "nla_logon_failure", "server", "fin", "nla");

	/* Windows: TSRequest.errorCode; the client reads it and leaves first. */
	static const struct {
		uint32_t status;
		const char *cause;
	} nt[] = {
	        {0xC0000071, "nla_password_expired"}, {0xC000006E, "nla_account_restricted"},
	        {0xC0000072, "nla_account_disabled"}, {0xC0000234, "nla_account_locked_out"},
	        {0xC0000193, "nla_account_expired"},  {0xC000015B, "nla_logon_type_not_granted"},
	        {0xC000005E, "nla_no_authority"},
	};
	for (size_t i = 0; i < sizeof(nt) / sizeof(nt[0]); i++) {
		bytes err = {0};
		iw_tsreq(&err, 6, NULL, NULL, NULL, true, nt[i].status);
		struct rw_step st[] = {TLS12_STEPS(t),
		                       DATA(C, c_rec),
		                       PLAIN(C, ts_neg),
		                       DATA(S, s_rec),
		                       PLAIN(S, ts_chal),
		                       DATA(C, c_rec),
		                       PLAIN(C, ts_auth),
		                       DATA(S, s_rec),
		                       PLAIN(S, err),
		                       FIN(C),
		                       FIN(S),
		                       END};
		expect(st, nt[i].cause, "client", "fin", "nla");
	}

	/* The Set Error Info PDU after CredSSP, then the host's close. */
	static const struct {
		uint32_t code;
		const char *cause;
	} ei[] = {
	        {0x7, "server_denied_connection"},   {0x1, "session_ended_by_host"},
	        {0x3, "session_time_limit"},         {0x102, "rdp_licensing_failed"},
	        {0x400, "connection_broker_failed"}, {0x1A, "host_session_failure"},
	        {0x10D3, "rdp_protocol_error"},
	};
	for (size_t i = 0; i < sizeof(ei) / sizeof(ei[0]); i++) {
		bytes sei = {0};
		iw_set_error_info(&sei, ei[i].code);
		struct rw_step st[] = {TLS12_STEPS(t),
		                       DATA(C, c_rec),
		                       PLAIN(C, ts_neg),
		                       DATA(S, s_rec),
		                       PLAIN(S, ts_chal),
		                       DATA(C, c_rec),
		                       PLAIN(C, ts_auth),
		                       DATA(S, s_rec),
		                       PLAIN(S, ts_pka),
		                       DATA(C, c_rec),
		                       PLAIN(C, ts_creds),
		                       DATA(C, c_rec),
		                       PLAIN(C, ci),
		                       DATA(S, s_rec),
		                       PLAIN(S, cresp),
		                       DATA(S, s_rec),
		                       PLAIN(S, sei),
		                       FIN(S),
		                       FIN(C),
		                       END};
		expect(st, ei[i].cause, "server", "fin", "rdp");
	}
}

/* ---- the names ---------------------------------------------------------- */

/* In enum order: a rename, a removal or a reorder fails here. New codes are
 * appended (rw_types.h), with a test above and a row in the README. */
static const char *const cause_names[] = {
        "unknown",
        "normal_close",
        "client_cancelled",
        "upstream_refused",
        "upstream_unreachable",
        "x224_no_response",
        "x224_closed_by_server",
        "tls_terminating_middlebox",
        "security_negotiation_failure",
        "tls_protocol_version_mismatch",
        "tls_cipher_mismatch",
        "tls_rejected_without_alert",
        "certificate_expired",
        "certificate_rejected_by_client",
        "tls_stream_altered",
        "reset_injected",
        "reset_by_server",
        "reset_by_client",
        "nla_failed",
        "handshake_timeout",
        "mtu_blackhole",
        "tls_alert",
        "not_rdp",
        "still_open",
        "rdp_closed_by_server",
        "clock_skew",
        "peer_vanished",
        "idle_timeout",
        "scan_or_flood",
        "nla_logon_failure",
        "nla_password_expired",
        "nla_account_restricted",
        "nla_account_disabled",
        "nla_account_locked_out",
        "nla_account_expired",
        "nla_logon_type_not_granted",
        "nla_no_authority",
        "server_denied_connection",
        "session_ended_by_host",
        "session_time_limit",
        "rdp_licensing_failed",
        "connection_broker_failed",
        "host_session_failure",
        "rdp_protocol_error",
};
#define N_NAMES (sizeof(cause_names) / sizeof(cause_names[0]))

static void test_name_table(void **state)
{
	(void)state;
	assert_int_equal(N_NAMES, RW_CAUSE_COUNT);
	for (int i = 0; i < RW_CAUSE_COUNT; i++) {
		assert_string_equal(rw_cause_name((enum rw_cause)i), cause_names[i]);
		assert_non_null(rw_cause_remediation((enum rw_cause)i));
		assert_true(rw_cause_remediation((enum rw_cause)i)[0] != '\0');
	}
	/* Out of range: "unknown", never NULL. */
	assert_string_equal(rw_cause_name(RW_CAUSE_COUNT), "unknown");
	assert_string_equal(rw_cause_name((enum rw_cause) - 1), "unknown");
}

/* The README's "## Cause codes" table: the backquoted names in the first
 * cell of each row ("| `reset_by_server`, `reset_by_client` | ..."). */
static void test_readme_table(void **state)
{
	(void)state;
	size_t n;
	char *text = (char *)rw_test_read_file(RW_TEST_DATA "/../../README.md", &n);
	text = realloc(text, n + 1);
	assert_non_null(text);
	text[n] = '\0';
	char *sec = strstr(text, "\n## Cause codes\n");
	assert_non_null(sec);
	sec += 1;
	char *end = strstr(sec + 3, "\n#");
	if (end)
		end[1] = '\0';
	int count[N_NAMES] = {0};
	size_t rows = 0;
	for (char *line = sec; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (strncmp(line, "| `", 3) == 0) {
			rows++;
			char *cell_end = strchr(line + 1, '|');
			assert_non_null(cell_end);
			*cell_end = '\0';
			for (char *q = strchr(line, '`'); q; q = strchr(q, '`')) {
				char *close = strchr(q + 1, '`');
				assert_non_null(close);
				*close = '\0';
				size_t i = 0;
				while (i < N_NAMES && strcmp(cause_names[i], q + 1) != 0)
					i++;
				if (i == N_NAMES) {
					print_error("README lists `%s`, which is no cause code\n",
					            q + 1);
					fail();
				}
				count[i]++;
				q = close + 1;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	assert_true(rows > 0);
	for (size_t i = 0; i < N_NAMES; i++) {
		if (count[i] != 1) {
			print_error("README's cause table lists `%s` %d times (want once)\n",
			            cause_names[i], count[i]);
			fail();
		}
	}
	free(text);
}

/* Runs last: every cause code came out of some session above. The one
 * exception is not about one connection: scan_or_flood is the capture's
 * summary of many attempts (capture/scan_tally.c), made from packets by
 * tests/scan_flood.py. Otherwise none is exempt: each rule in verdict.c can
 * fire on some wire, and "unknown" is what a close no rule explains gives.
 * A new code needs a test here. */
static void test_every_cause_produced(void **state)
{
	(void)state;
	for (int i = 0; i < RW_CAUSE_COUNT; i++) {
		if (i == RW_CAUSE_SCAN_OR_FLOOD)
			continue;
		if (!produced[i]) {
			print_error("no test produces cause %s\n", rw_cause_name((enum rw_cause)i));
			fail();
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_unknown),
	        cmocka_unit_test(test_normal_close),
	        cmocka_unit_test(test_client_cancelled),
	        cmocka_unit_test(test_upstream_refused),
	        cmocka_unit_test(test_upstream_unreachable),
	        cmocka_unit_test(test_x224_no_response),
	        cmocka_unit_test(test_x224_closed_by_server),
	        cmocka_unit_test(test_tls_terminating_middlebox),
	        cmocka_unit_test(test_security_negotiation_failure),
	        cmocka_unit_test(test_tls_protocol_version_mismatch),
	        cmocka_unit_test(test_tls_cipher_mismatch),
	        cmocka_unit_test(test_tls_rejected_without_alert),
	        cmocka_unit_test(test_certificate_expired),
	        cmocka_unit_test(test_certificate_rejected_by_client),
	        cmocka_unit_test(test_tls_stream_altered),
	        cmocka_unit_test(test_reset_injected),
	        cmocka_unit_test(test_resets),
	        cmocka_unit_test(test_nla_failed),
	        cmocka_unit_test(test_handshake_timeout),
	        cmocka_unit_test(test_proxy_waits),
	        cmocka_unit_test(test_peer_vanished),
	        cmocka_unit_test(test_mtu_blackhole),
	        cmocka_unit_test(test_tls_alert),
	        cmocka_unit_test(test_not_rdp),
	        cmocka_unit_test(test_still_open),
	        cmocka_unit_test(test_rdp_closed_by_server),
	        cmocka_unit_test(test_clock_skew),
	        cmocka_unit_test(test_inspected),
	        cmocka_unit_test(test_name_table),
	        cmocka_unit_test(test_readme_table),
	        cmocka_unit_test(test_every_cause_produced),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
