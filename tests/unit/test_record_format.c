/* The JSON line and the text report of a record: exact output for a fully
 * populated record and a minimal one, which keys appear when, hostile wire
 * strings, and all-or-nothing output on allocation failure. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "record.h"
#include "check.h"
#include "record_format.h"
#include "session.h"

#ifndef RDPWHY_VERSION
#define RDPWHY_VERSION "unknown"
#endif

#define T0 (1795539903ull * 1000000ull + 123456ull) /* 2026-11-24T17:05:03.123456Z */

static char cookie_storage[64];

static void fill_minimal(struct rw_record *r)
{
	memset(r, 0, sizeof(*r));
	r->id = 7;
	r->ts_open_us = T0;
	r->ts_close_us = T0 + 1000;
	r->client = (struct rw_endpoint){.family = 2, .addr = {10, 0, 0, 1}, .port = 50000};
	r->server = (struct rw_endpoint){.family = 2, .addr = {10, 0, 0, 2}, .port = 3389};
	r->rst_ttl[0] = r->rst_ttl[1] = -1;
	r->ttl_lo[0] = r->ttl_lo[1] = r->ttl_hi[0] = r->ttl_hi[1] = -1;
	r->connect_failed = RW_CLOSE_REFUSED;
	r->phase_reached[RW_PHASE_TCP_CONNECT] = true;
	r->phase_ts_us[RW_PHASE_TCP_CONNECT] = T0;
	r->verdict.cause = RW_CAUSE_UPSTREAM_REFUSED;
	r->verdict.closed_by = RW_SIDE_SERVER;
	r->verdict.close_kind = RW_CLOSE_REFUSED;
	r->verdict.phase = RW_PHASE_TCP_CONNECT;
	r->verdict.n_evidence = 1;
	strcpy(r->verdict.evidence[0], "SYN answered by RST");
	r->verdict.remediation = "Check that TermService listens on the port";
}

static void fill_full(struct rw_record *r)
{
	fill_minimal(r);
	r->id = 42;
	r->ts_close_us = T0 + 1234567;
	r->connect_failed = 0;
	r->saw_syn = r->saw_synack = true;
	r->bytes[RW_C2S] = 1234;
	r->bytes[RW_S2C] = 5678;
	r->phase_reached[RW_PHASE_X224] = true;
	r->phase_ts_us[RW_PHASE_X224] = T0 + 1000;
	r->phase_reached[RW_PHASE_TLS_HANDSHAKE] = true;
	r->phase_ts_us[RW_PHASE_TLS_HANDSHAKE] = T0 + 3250;
	r->fin_seen[RW_C2S] = true;
	r->fin_ts_us[RW_C2S] = T0 + 1234000;
	r->tcp[RW_C2S].retransmits = 1;
	r->tcp[RW_S2C].retransmits = 2;

	r->cr_seen = r->cc_seen = true;
	r->token_kind = RW_TOKEN_COOKIE;
	strcpy(cookie_storage, "alice");
	r->token = cookie_storage;
	r->token_len = 5;
	r->neg_req_present = true;
	r->neg_req_flags = 0x08;
	r->requested_protocols = 0x3;
	r->neg_rsp_present = true;
	r->neg_rsp_flags = 0x03;
	r->selected_protocol = 0x1;

	r->tls_seen[RW_C2S] = r->tls_seen[RW_S2C] = true;
	r->client_hello_seen = r->server_hello_seen = r->certificate_seen = true;
	static const uint16_t ciphers[] = {0x0A0A, 0x1301, 0xC030, 0xC02F, 0x1234};
	memcpy(r->ch.ciphers, ciphers, sizeof(ciphers));
	r->ch.n_ciphers = 5;
	static const uint16_t versions[] = {0x3A3A, 0x0304, 0x0303};
	memcpy(r->ch.versions, versions, sizeof(versions));
	r->ch.n_versions = 3;
	r->ch.legacy_version = 0x0303;
	r->ch.has_sni = true;
	strcpy(r->ch.sni, "rdp.example.com");
	r->ch.sni_len = 15;
	r->sh.legacy_version = r->sh.version = 0x0303;
	r->sh.cipher = 0xC030;
	strcpy(r->ja3_md5, "0123456789abcdef0123456789abcdef");
	strcpy(r->ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1");
	strcpy(r->ja3s_md5, "fedcba9876543210fedcba9876543210");

	struct rw_cert *c = &r->cert;
	strcpy(c->subject, "CN=rdp.example.com");
	strcpy(c->subject_cn, "rdp.example.com");
	strcpy(c->issuer, "CN=Example CA,O=Example");
	strcpy(c->issuer_cn, "Example CA");
	strcpy(c->serial_hex, "0a1b2c");
	c->not_before = 1767225600; /* 2026-01-01 */
	c->not_after = 1798761600;  /* 2027-01-01 */
	strcpy(c->sha1_hex, "00112233445566778899aabbccddeeff00112233");
	strcpy(c->sha256_hex, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
	strcpy(c->key_type, "rsa");
	c->key_bits = 2048;
	c->n_san = 2;
	strcpy(c->san[0], "DNS:rdp.example.com");
	strcpy(c->san[1], "IP:10.0.0.2");
	r->cert_chain_len = 2;

	r->alert[RW_C2S] =
	        (struct rw_alert){.seen = true, .level = 2, .description = 48, .ts_us = T0 + 3500};
	r->encrypted_records[RW_C2S] = 0;

	r->proxy = true;
	r->proxy_connect_ms = 3;
	r->has_original_dst = true;
	r->original_dst = (struct rw_endpoint){.family = 2, .addr = {10, 0, 0, 9}, .port = 3389};

	r->verdict.cause = RW_CAUSE_CERTIFICATE_REJECTED_BY_CLIENT;
	r->verdict.closed_by = RW_SIDE_CLIENT;
	r->verdict.close_kind = RW_CLOSE_FIN;
	r->verdict.phase = RW_PHASE_TLS_HANDSHAKE;
	r->verdict.n_evidence = 2;
	strcpy(r->verdict.evidence[0], "client sent alert unknown_ca after the Certificate");
	strcpy(r->verdict.evidence[1], "certificate issued by Example CA");
	r->verdict.remediation = "Make the client trust the host's certificate issuer";
}

/* The JSON checks (strict syntax and UTF-8, no raw controls, no duplicate
 * top-level key) are tests/common/check.c, shared with the fuzz targets. */
static bool has_key(const struct check_json *l, const char *key)
{
	return check_json_has_key(l, key, false);
}

static bool has_key_prefix(const struct check_json *l, const char *prefix)
{
	return check_json_has_key(l, prefix, true);
}

/* Formats rec as JSON, checks it is valid, returns it (caller frees b). */
static void json_of(const struct rw_record *r, const char *host, struct rw_buf *b,
                    struct check_json *l)
{
	rw_buf_init(b, 0);
	assert_int_equal(rw_record_json(r, host, b), 0);
	const char *why = NULL;
	if (!check_json_line(b->data, b->len, l, &why))
		fail_msg("invalid JSON line (%s): %s", why, b->data);
}

static void assert_contains(const struct rw_buf *b, const char *needle)
{
	if (!strstr(rw_buf_str(b), needle))
		fail_msg("missing %s in %s", needle, rw_buf_str(b));
}

/* ---- JSON: exact output ---- */

static const char full_json[] =
        "{\"@timestamp\":\"2026-11-24T17:05:03.123456Z\","
        "\"event.kind\":\"event\","
        "\"event.category\":[\"network\"],"
        "\"event.type\":[\"connection\"],"
        "\"event.start\":\"2026-11-24T17:05:03.123456Z\","
        "\"event.end\":\"2026-11-24T17:05:04.358023Z\","
        "\"event.duration\":1234567000,"
        "\"event.id\":\"42\","
        "\"host.name\":\"sensor-1\","
        "\"network.transport\":\"tcp\","
        "\"network.type\":\"ipv4\","
        "\"source.ip\":\"10.0.0.1\","
        "\"source.port\":50000,"
        "\"source.bytes\":1234,"
        "\"destination.ip\":\"10.0.0.2\","
        "\"destination.port\":3389,"
        "\"destination.bytes\":5678,"
        "\"tls.established\":false,"
        "\"tls.version\":\"1.2\","
        "\"tls.version_protocol\":\"tls\","
        "\"tls.cipher\":\"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\","
        "\"tls.server.ja3s\":\"fedcba9876543210fedcba9876543210\","
        "\"tls.client.server_name\":\"rdp.example.com\","
        "\"tls.client.ja3\":\"0123456789abcdef0123456789abcdef\","
        "\"tls.client.ja4\":\"t13d1516h2_8daaf6152771_e5627efa2ab1\","
        "\"tls.client.supported_ciphers\":[\"TLS_AES_128_GCM_SHA256\","
        "\"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\",\"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\","
        "\"0x1234\"],"
        "\"tls.server.x509.subject.common_name\":\"rdp.example.com\","
        "\"tls.server.x509.subject.distinguished_name\":\"CN=rdp.example.com\","
        "\"tls.server.x509.issuer.common_name\":\"Example CA\","
        "\"tls.server.x509.issuer.distinguished_name\":\"CN=Example CA,O=Example\","
        "\"tls.server.x509.serial_number\":\"0A1B2C\","
        "\"tls.server.x509.not_before\":\"2026-01-01T00:00:00Z\","
        "\"tls.server.x509.not_after\":\"2027-01-01T00:00:00Z\","
        "\"tls.server.x509.alternative_names\":[\"DNS:rdp.example.com\",\"IP:10.0.0.2\"],"
        "\"tls.server.x509.public_key_algorithm\":\"rsa\","
        "\"tls.server.x509.public_key_size\":2048,"
        "\"tls.server.hash.sha1\":\"00112233445566778899AABBCCDDEEFF00112233\","
        "\"tls.server.hash.sha256\":"
        "\"00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF\","
        "\"tls.alert.description\":\"unknown_ca\","
        "\"tls.alert.from\":\"client\","
        "\"rdp.cookie\":\"alice\","
        "\"rdp.requested_protocols\":[\"ssl\",\"hybrid\"],"
        "\"rdp.neg_req_flags\":[\"correlation_info_present\"],"
        "\"rdp.selected_protocol\":\"ssl\","
        "\"rdp.neg_rsp_flags\":[\"extended_client_data_supported\","
        "\"dynvc_gfx_protocol_supported\"],"
        "\"rdpwhy.cause\":\"certificate_rejected_by_client\","
        "\"rdpwhy.closed_by\":\"client\","
        "\"rdpwhy.close_kind\":\"fin\","
        "\"rdpwhy.phase\":\"tls_handshake\","
        "\"rdpwhy.evidence\":[\"client sent alert unknown_ca after the Certificate\","
        "\"certificate issued by Example CA\"],"
        "\"rdpwhy.remediation\":\"Make the client trust the host's certificate issuer\","
        "\"rdpwhy.confidence\":\"high\","
        "\"rdpwhy.timeline\":{\"tcp_connect\":0.000,\"x224\":1.000,\"tls_handshake\":3.250},"
        "\"rdpwhy.midstream\":false,"
        "\"rdpwhy.capture.directions\":\"both\","
        "\"rdpwhy.tcp.retransmits.client\":1,"
        "\"rdpwhy.tcp.retransmits.server\":2,"
        "\"rdpwhy.tls.encrypted_records.client\":0,"
        "\"rdpwhy.tls.encrypted_records.server\":0,"
        "\"rdpwhy.tls.client_versions\":[\"1.3\",\"1.2\"],"
        "\"rdpwhy.tls.cert_chain_length\":2,"
        "\"rdpwhy.tls.cert_self_signed\":false,"
        "\"rdpwhy.proxy.connect_ms\":3,"
        "\"rdpwhy.original_destination.ip\":\"10.0.0.9\","
        "\"rdpwhy.original_destination.port\":3389,"
        "\"rdpwhy.version\":\"" RDPWHY_VERSION "\"}\n";

static const char minimal_json[] = "{\"@timestamp\":\"2026-11-24T17:05:03.123456Z\","
                                   "\"event.kind\":\"event\","
                                   "\"event.category\":[\"network\"],"
                                   "\"event.type\":[\"connection\"],"
                                   "\"event.start\":\"2026-11-24T17:05:03.123456Z\","
                                   "\"event.end\":\"2026-11-24T17:05:03.124456Z\","
                                   "\"event.duration\":1000000,"
                                   "\"event.id\":\"7\","
                                   "\"network.transport\":\"tcp\","
                                   "\"network.type\":\"ipv4\","
                                   "\"source.ip\":\"10.0.0.1\","
                                   "\"source.port\":50000,"
                                   "\"source.bytes\":0,"
                                   "\"destination.ip\":\"10.0.0.2\","
                                   "\"destination.port\":3389,"
                                   "\"destination.bytes\":0,"
                                   "\"rdpwhy.cause\":\"upstream_refused\","
                                   "\"rdpwhy.closed_by\":\"server\","
                                   "\"rdpwhy.close_kind\":\"refused\","
                                   "\"rdpwhy.phase\":\"tcp_connect\","
                                   "\"rdpwhy.evidence\":[\"SYN answered by RST\"],"
                                   "\"rdpwhy.remediation\":"
                                   "\"Check that TermService listens on the port\","
                                   "\"rdpwhy.confidence\":\"high\","
                                   "\"rdpwhy.timeline\":{\"tcp_connect\":0.000},"
                                   "\"rdpwhy.midstream\":false,"
                                   "\"rdpwhy.capture.directions\":\"both\","
                                   "\"rdpwhy.tcp.retransmits.client\":0,"
                                   "\"rdpwhy.tcp.retransmits.server\":0,"
                                   "\"rdpwhy.tls.encrypted_records.client\":0,"
                                   "\"rdpwhy.tls.encrypted_records.server\":0,"
                                   "\"rdpwhy.version\":\"" RDPWHY_VERSION "\"}\n";

static void assert_json_equal(const struct rw_buf *b, const char *want)
{
	if (strcmp(rw_buf_str(b), want) != 0) {
		/* Point at the first difference: the lines are long. */
		size_t i = 0;
		while (b->data[i] && b->data[i] == want[i])
			i++;
		fail_msg("JSON differs at %zu:\n got: %.80s\nwant: %.80s", i, b->data + i,
		         want + i);
	}
}

static void test_json_full_record(void **state)
{
	(void)state;
	struct rw_record r;
	fill_full(&r);
	struct rw_buf b;
	struct check_json l;
	json_of(&r, "sensor-1", &b, &l);
	assert_json_equal(&b, full_json);
	rw_buf_free(&b);
}

static void test_json_minimal_record(void **state)
{
	(void)state;
	struct rw_record r;
	fill_minimal(&r);
	struct rw_buf b;
	struct check_json l;
	json_of(&r, NULL, &b, &l);
	assert_json_equal(&b, minimal_json);
	rw_buf_free(&b);
}

static void test_json_appends(void **state)
{
	(void)state;
	/* Records append: a caller can batch lines in one buffer. */
	struct rw_record r;
	fill_minimal(&r);
	struct rw_buf b = RW_BUF_INIT;
	assert_int_equal(rw_record_json(&r, NULL, &b), 0);
	assert_int_equal(rw_record_json(&r, NULL, &b), 0);
	assert_int_equal(b.len, 2 * strlen(minimal_json));
	assert_memory_equal(b.data + strlen(minimal_json), minimal_json, strlen(minimal_json));
	rw_buf_free(&b);
}

/* ---- JSON: which keys appear when ---- */

static const char *const always_keys[] = {
        "@timestamp",
        "event.kind",
        "event.category",
        "event.id",
        "network.transport",
        "source.bytes",
        "destination.bytes",
        "rdpwhy.cause",
        "rdpwhy.closed_by",
        "rdpwhy.close_kind",
        "rdpwhy.phase",
        "rdpwhy.evidence",
        "rdpwhy.remediation",
        "rdpwhy.timeline",
        "rdpwhy.midstream",
        "rdpwhy.tcp.retransmits.client",
        "rdpwhy.tcp.retransmits.server",
        "rdpwhy.tls.encrypted_records.client",
        "rdpwhy.tls.encrypted_records.server",
        "rdpwhy.version",
};

static void test_json_minimal_omits_unknown_facts(void **state)
{
	(void)state;
	struct rw_record r;
	fill_minimal(&r);
	r.verdict.n_evidence = 0;
	r.verdict.remediation = NULL;
	struct rw_buf b;
	struct check_json l;
	json_of(&r, NULL, &b, &l);
	for (size_t i = 0; i < sizeof(always_keys) / sizeof(always_keys[0]); i++)
		if (!has_key(&l, always_keys[i]))
			fail_msg("missing %s", always_keys[i]);
	assert_false(has_key(&l, "host.name"));
	assert_false(has_key_prefix(&l, "tls."));
	assert_false(has_key_prefix(&l, "rdp."));
	assert_false(has_key(&l, "rdpwhy.proxy.connect_ms"));
	assert_false(has_key_prefix(&l, "rdpwhy.original_destination."));
	assert_false(has_key(&l, "rdpwhy.tls.sslv2_client_hello"));
	assert_contains(&b, "\"rdpwhy.evidence\":[]");
	assert_contains(&b, "\"rdpwhy.remediation\":\"\"");
	assert_false(strstr(b.data, "null"));
	rw_buf_free(&b);
}

static void test_json_cert_facts_need_certificate(void **state)
{
	(void)state;
	/* The struct may hold stale bytes: only the *_seen flags count. */
	struct rw_record r;
	fill_full(&r);
	r.certificate_seen = false;
	r.server_hello_seen = false;
	r.client_hello_seen = false;
	struct rw_buf b;
	struct check_json l;
	json_of(&r, NULL, &b, &l);
	assert_true(has_key(&l, "tls.established")); /* TLS records were seen */
	assert_false(has_key_prefix(&l, "tls.server."));
	assert_false(has_key_prefix(&l, "tls.client."));
	assert_false(has_key(&l, "tls.version"));
	assert_false(has_key(&l, "tls.cipher"));
	assert_false(has_key(&l, "rdpwhy.tls.client_versions"));
	assert_false(has_key(&l, "rdpwhy.tls.cert_chain_length"));
	assert_true(has_key(&l, "tls.alert.description"));
	rw_buf_free(&b);
}

static void test_json_rdp_keys(void **state)
{
	(void)state;
	struct rw_record r;
	struct rw_buf b;
	struct check_json l;

	/* CR without RDP_NEG_REQ: standard RDP security. */
	fill_minimal(&r);
	r.cr_seen = true;
	json_of(&r, NULL, &b, &l);
	assert_contains(&b, "\"rdp.requested_protocols\":[\"rdp\"]");
	assert_false(has_key(&l, "rdp.neg_req_flags"));
	assert_false(has_key(&l, "rdp.selected_protocol"));
	assert_false(has_key(&l, "rdp.cookie"));
	rw_buf_free(&b);

	/* Routing token instead of a cookie; negotiation failure. */
	fill_minimal(&r);
	r.cr_seen = r.cc_seen = true;
	r.neg_req_present = true;
	r.requested_protocols = 0x0B; /* ssl, hybrid, hybrid_ex */
	strcpy(cookie_storage, "Cookie: msts=3640205228.15629.0000");
	r.token = cookie_storage;
	r.token_len = strlen(cookie_storage);
	r.token_kind = RW_TOKEN_ROUTING;
	r.neg_failure_present = true;
	r.neg_failure_code = 5;
	json_of(&r, NULL, &b, &l);
	assert_contains(&b, "\"rdp.routing_token\":\"Cookie: msts=3640205228.15629.0000\"");
	assert_false(has_key(&l, "rdp.cookie"));
	assert_contains(&b, "\"rdp.requested_protocols\":[\"ssl\",\"hybrid\",\"hybrid_ex\"]");
	assert_false(has_key(&l, "rdp.neg_req_flags")); /* no flags set */
	assert_contains(&b, "\"rdp.neg_failure\":\"hybrid_required_by_server\"");
	rw_buf_free(&b);

	/* Unknown failure code and unknown request flag bits. */
	fill_minimal(&r);
	r.cr_seen = true;
	r.neg_req_present = true;
	r.neg_req_flags = 0x81;
	r.neg_failure_present = true;
	r.neg_failure_code = 99;
	json_of(&r, NULL, &b, &l);
	assert_contains(&b, "\"rdp.neg_req_flags\":[\"restricted_admin_mode_required\",\"0x80\"]");
	assert_contains(&b, "\"rdp.neg_failure\":\"0x00000063\"");
	rw_buf_free(&b);

	/* A token of kind NONE is never printed; no CR means no requested list. */
	fill_minimal(&r);
	r.token = cookie_storage;
	r.token_len = 3;
	r.token_kind = RW_TOKEN_NONE;
	json_of(&r, NULL, &b, &l);
	assert_false(has_key_prefix(&l, "rdp."));
	rw_buf_free(&b);
}

static void alert_case(struct rw_alert c, struct rw_alert s, const char *want)
{
	struct rw_record r;
	fill_minimal(&r);
	r.tls_seen[RW_C2S] = true;
	r.alert[RW_C2S] = c;
	r.alert[RW_S2C] = s;
	struct rw_buf b;
	struct check_json l;
	json_of(&r, NULL, &b, &l);
	if (want) {
		assert_contains(&b, want);
	} else {
		assert_false(has_key(&l, "tls.alert.description"));
		assert_false(has_key(&l, "tls.alert.from"));
	}
	rw_buf_free(&b);
}

static void test_json_first_alert(void **state)
{
	(void)state;
	struct rw_alert none = {0};
	struct rw_alert c40 = {.seen = true, .level = 2, .description = 40, .ts_us = T0 + 10};
	struct rw_alert s70 = {.seen = true, .level = 2, .description = 70, .ts_us = T0 + 20};
	struct rw_alert s70_early = s70;
	s70_early.ts_us = T0 + 5;
	struct rw_alert s70_tie = s70;
	s70_tie.ts_us = c40.ts_us;
	struct rw_alert enc = {.seen = true, .encrypted = true, .description = 0, .ts_us = T0};
	struct rw_alert odd = {.seen = true, .level = 2, .description = 250, .ts_us = T0};

	alert_case(none, none, NULL);
	alert_case(c40, s70,
	           "\"tls.alert.description\":\"handshake_failure\",\"tls.alert.from\":\"client\"");
	alert_case(c40, s70_early,
	           "\"tls.alert.description\":\"protocol_version\",\"tls.alert.from\":\"server\"");
	alert_case(c40, s70_tie, "\"tls.alert.from\":\"server\"");
	alert_case(none, s70, "\"tls.alert.from\":\"server\"");
	alert_case(enc, none,
	           "\"tls.alert.description\":\"encrypted\",\"tls.alert.from\":\"client\"");
	alert_case(odd, none, "\"tls.alert.description\":\"0xFA\"");
}

static void test_json_tls_variants(void **state)
{
	(void)state;
	struct rw_record r;
	struct rw_buf b;
	struct check_json l;

	/* SSL 3.0 as ECS spells it; unknown cipher and version as hex. */
	fill_full(&r);
	r.sh.version = 0x0300;
	r.sh.cipher = 0x5678; /* unassigned */
	r.ch.n_versions = 0;
	strcpy(r.sh.alpn, "h2");
	r.sh.n_alpn = 1;
	r.sslv2_client_hello = true;
	json_of(&r, NULL, &b, &l);
	assert_contains(&b, "\"tls.version\":\"3.0\",\"tls.version_protocol\":\"ssl\"");
	assert_contains(&b, "\"tls.cipher\":\"0x5678\"");
	assert_contains(&b, "\"tls.next_protocol\":\"h2\"");
	assert_contains(&b, "\"rdpwhy.tls.sslv2_client_hello\":true");
	assert_false(has_key(&l, "rdpwhy.tls.client_versions"));
	rw_buf_free(&b);

	fill_full(&r);
	r.sh.version = 0x7F17;
	/* A finished handshake is established once the connection went on past
	 * it (a record's facts agree with its verdict). */
	r.tls_established = true;
	r.verdict.cause = RW_CAUSE_NLA_FAILED;
	r.verdict.phase = RW_PHASE_NLA;
	r.ch.n_alpn = 2;
	memcpy(r.ch.alpn[0], "h2", 3);
	r.ch.alpn_len[0] = 2;
	memcpy(r.ch.alpn[1], "x\0\n", 4);
	r.ch.alpn_len[1] = 3;
	r.cert.key_bits = 0;
	r.cert.n_san = 0;
	r.cert.serial_hex[0] = '\0';
	r.ja4[0] = '\0';
	json_of(&r, NULL, &b, &l);
	assert_contains(&b, "\"tls.established\":true");
	assert_contains(&b, "\"tls.version\":\"0x7F17\",\"tls.version_protocol\":\"tls\"");
	assert_contains(&b, "\"rdpwhy.tls.client_alpn\":[\"h2\",\"x\\u0000\\n\"]");
	assert_false(has_key(&l, "tls.server.x509.public_key_size"));
	assert_false(has_key(&l, "tls.server.x509.alternative_names"));
	assert_false(has_key(&l, "tls.server.x509.serial_number"));
	assert_false(has_key(&l, "tls.client.ja4"));
	assert_true(has_key(&l, "tls.client.ja3"));
	rw_buf_free(&b);

	/* More SANs than kept: the kept ones only, no overrun. */
	fill_full(&r);
	r.cert.n_san = 1000;
	for (int i = 0; i < RW_CERT_MAX_SAN; i++)
		snprintf(r.cert.san[i], sizeof(r.cert.san[i]), "DNS:h%d", i);
	json_of(&r, NULL, &b, &l);
	assert_contains(&b, "\"DNS:h15\"]");
	rw_buf_free(&b);
}

static void test_json_endpoints(void **state)
{
	(void)state;
	struct rw_record r;
	struct rw_buf b;
	struct check_json l;

	fill_minimal(&r);
	r.client.family = 10;
	memcpy(r.client.addr, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	r.server.family = 10;
	memset(r.server.addr, 0, 16);
	r.server.addr[15] = 1;
	json_of(&r, NULL, &b, &l);
	assert_contains(&b, "\"network.type\":\"ipv6\",\"source.ip\":\"2001:db8::1\","
	                    "\"source.port\":50000");
	assert_contains(&b, "\"destination.ip\":\"::1\"");
	rw_buf_free(&b);

	/* An unknown family: no address, no port, no network.type. */
	fill_minimal(&r);
	r.client.family = 0;
	r.server.family = 99;
	json_of(&r, NULL, &b, &l);
	assert_false(has_key(&l, "network.type"));
	assert_false(has_key(&l, "source.ip"));
	assert_false(has_key(&l, "source.port"));
	assert_false(has_key(&l, "destination.ip"));
	assert_true(has_key(&l, "source.bytes"));
	rw_buf_free(&b);
}

static void test_json_times(void **state)
{
	(void)state;
	struct rw_record r;
	struct rw_buf b;
	struct check_json l;

	/* A close before the open (clock step in a capture): no duration. */
	fill_minimal(&r);
	r.ts_close_us = T0 - 1;
	r.phase_ts_us[RW_PHASE_TCP_CONNECT] = T0 - 5; /* clamped to 0 */
	json_of(&r, NULL, &b, &l);
	assert_false(has_key(&l, "event.duration"));
	assert_false(has_key(&l, "event.end"));
	assert_contains(&b, "\"rdpwhy.timeline\":{\"tcp_connect\":0.000}");
	rw_buf_free(&b);

	/* The epoch, and certificate dates outside what RFC 3339 can write. */
	fill_full(&r);
	r.ts_open_us = 0;
	r.ts_close_us = 0;
	r.cert.not_before = -62167219201LL; /* year -1 */
	r.cert.not_after = 253402300800LL;  /* year 10000 */
	memset(r.phase_reached, 0, sizeof(r.phase_reached));
	json_of(&r, NULL, &b, &l);
	assert_contains(&b, "\"@timestamp\":\"1970-01-01T00:00:00.000000Z\"");
	assert_false(has_key(&l, "tls.server.x509.not_before"));
	assert_false(has_key(&l, "tls.server.x509.not_after"));
	assert_contains(&b, "\"rdpwhy.timeline\":{}");
	rw_buf_free(&b);

	/* Long phases in ms with microseconds. */
	fill_minimal(&r);
	r.phase_reached[RW_PHASE_ESTABLISHED] = true;
	r.phase_ts_us[RW_PHASE_ESTABLISHED] = T0 + 61234567;
	r.verdict.phase = RW_PHASE_ESTABLISHED;
	json_of(&r, NULL, &b, &l);
	assert_contains(&b, "\"established\":61234.567}");
	rw_buf_free(&b);
	/* The timeline holds the phases entered before the close: a phase the
	 * record reached after it (the peer's bytes after a FIN) is left out. */
	rw_buf_free(&b);
	r.verdict.phase = RW_PHASE_TCP_CONNECT;
	json_of(&r, NULL, &b, &l);
	assert_contains(&b, "\"rdpwhy.timeline\":{\"tcp_connect\":0.000}");
	rw_buf_free(&b);
}

/* ---- hostile wire strings ---- */

static const char hostile[] = "x\r\n\"},{\"rdpwhy.cause\":\"normal_close\\\x1b[2J\x00\xff\xc0\x80";

static void make_hostile(struct rw_record *r)
{
	fill_full(r);
	memcpy(cookie_storage, hostile, sizeof(hostile));
	r->token = cookie_storage;
	r->token_len = sizeof(hostile) - 1;
	memcpy(r->ch.sni, hostile, sizeof(hostile));
	r->ch.sni_len = sizeof(hostile) - 1;
	/* Fixed-size fields end at the first NUL: keep the bytes before it. */
	snprintf(r->cert.subject_cn, sizeof(r->cert.subject_cn), "%s", hostile);
	snprintf(r->cert.san[0], sizeof(r->cert.san[0]), "%s", hostile);
	snprintf(r->verdict.evidence[0], RW_EVIDENCE_LEN, "%s", hostile);
}

static void test_json_hostile_strings(void **state)
{
	(void)state;
	struct rw_record r;
	make_hostile(&r);
	struct rw_buf b;
	struct check_json l;
	json_of(&r, "host\n\"name", &b, &l);
	/* A backslash in the input is one backslash once the JSON is decoded. */
	static const char esc_full[] = "x\\r\\n\\\"},{\\\"rdpwhy.cause\\\":\\\"normal_close"
	                               "\\\\\\u001b[2J\\u0000\\\\xff\\\\xc0\\\\x80";
	static const char esc_cstr[] = "x\\r\\n\\\"},{\\\"rdpwhy.cause\\\":\\\"normal_close"
	                               "\\\\\\u001b[2J";
	char want[512];
	snprintf(want, sizeof(want), "\"rdp.cookie\":\"%s\"", esc_full);
	assert_contains(&b, want);
	/* Not plain: the cookie's raw bytes too. */
	assert_contains(
	        &b, "\"rdp.cookie_hex\":\"780d0a227d2c7b227264707768792e6361757365223a226e6f726d"
	            "616c5f636c6f73655c1b5b324a00ffc080\"");
	snprintf(want, sizeof(want), "\"tls.client.server_name\":\"%s\"", esc_full);
	assert_contains(&b, want);
	snprintf(want, sizeof(want), "\"tls.server.x509.subject.common_name\":\"%s\"", esc_cstr);
	assert_contains(&b, want);
	snprintf(want, sizeof(want), "\"tls.server.x509.alternative_names\":[\"%s\"", esc_cstr);
	assert_contains(&b, want);
	snprintf(want, sizeof(want), "\"rdpwhy.evidence\":[\"%s\"", esc_cstr);
	assert_contains(&b, want);
	assert_contains(&b, "\"host.name\":\"host\\n\\\"name\"");
	/* The injected key stayed inside strings: the real cause is intact. */
	assert_contains(&b, "\"rdpwhy.cause\":\"certificate_rejected_by_client\"");
	rw_buf_free(&b);
}

/* ---- all or nothing ---- */

typedef int (*format_fn)(const struct rw_record *r, struct rw_buf *out);

static int json_fmt(const struct rw_record *r, struct rw_buf *out)
{
	return rw_record_json(r, "h", out);
}

static void check_all_or_nothing(format_fn fn)
{
	struct rw_record r;
	fill_full(&r);
	struct rw_buf whole = RW_BUF_INIT;
	assert_int_equal(fn(&r, &whole), 0);
	/* Every limit short of the full output fails and leaves the buffer as
	 * it was; the exact size succeeds. */
	for (size_t extra = 0; extra <= whole.len; extra++) {
		struct rw_buf b;
		rw_buf_init(&b, 6 + extra);
		assert_int_equal(rw_buf_puts(&b, "prior\n"), 0);
		int rc = fn(&r, &b);
		if (extra < whole.len) {
			assert_int_equal(rc, -1);
			assert_string_equal(rw_buf_str(&b), "prior\n");
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal(b.len, 6 + whole.len);
			assert_memory_equal(b.data + 6, whole.data, whole.len);
		}
		rw_buf_free(&b);
	}
	rw_buf_free(&whole);
}

static void test_json_all_or_nothing(void **state)
{
	(void)state;
	check_all_or_nothing(json_fmt);
}

static void test_text_all_or_nothing(void **state)
{
	(void)state;
	check_all_or_nothing(rw_record_text);
}

/* ---- text ---- */

static const char full_text[] =
        "10.0.0.1:50000 -> 10.0.0.2:3389  2026-11-24 17:05:03.123 UTC  duration 1.234 s\n"
        "  cause      certificate_rejected_by_client   (closed by client, fin, in "
        "tls_handshake)\n"
        "  fix        Make the client trust the host's certificate issuer\n"
        "  confidence high\n"
        "  timeline   +0.000 ms tcp_connect, +1.000 ms x224, +3.250 ms tls_handshake\n"
        "  rdp        cookie \"alice\", requested ssl,hybrid, selected ssl\n"
        "  tls        1.2 TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, sni \"rdp.example.com\", "
        "alert from client: unknown_ca\n"
        "  cert       CN=rdp.example.com (issuer CN=Example CA) valid 2026-01-01 .. 2027-01-01\n"
        "             names DNS:rdp.example.com, IP:10.0.0.2\n"
        "             sha1 00112233445566778899AABBCCDDEEFF00112233\n"
        "             sha256 00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF\n"
        "  evidence   - client sent alert unknown_ca after the Certificate\n"
        "             - certificate issued by Example CA\n"
        "  bytes      client 1234, server 5678; retransmits client 1, server 2\n"
        "  proxy      original destination 10.0.0.9:3389, upstream connect 3 ms\n";

static const char minimal_text[] =
        "10.0.0.1:50000 -> 10.0.0.2:3389  2026-11-24 17:05:03.123 UTC  duration 0.001 s\n"
        "  cause      upstream_refused                 (closed by server, refused, in "
        "tcp_connect)\n"
        "  fix        Check that TermService listens on the port\n"
        "  confidence high\n"
        "  timeline   +0.000 ms tcp_connect\n"
        "  evidence   - SYN answered by RST\n"
        "  bytes      client 0, server 0\n";

static void assert_text_equal(const struct rw_buf *b, const char *want)
{
	if (strcmp(rw_buf_str(b), want) != 0)
		fail_msg("text differs:\n--- got\n%s--- want\n%s", rw_buf_str(b), want);
}

static void test_text_full_record(void **state)
{
	(void)state;
	struct rw_record r;
	fill_full(&r);
	struct rw_buf b = RW_BUF_INIT;
	assert_int_equal(rw_record_text(&r, &b), 0);
	assert_text_equal(&b, full_text);
	rw_buf_free(&b);
}

static void test_text_minimal_record(void **state)
{
	(void)state;
	struct rw_record r;
	fill_minimal(&r);
	struct rw_buf b = RW_BUF_INIT;
	assert_int_equal(rw_record_text(&r, &b), 0);
	assert_text_equal(&b, minimal_text);
	rw_buf_free(&b);
}

/* The cause line and the fix line of every cause code, closed or not: the
 * name padded to the 30-column field (the longest fits, so the "(" stays in
 * one column), the close facts in the parentheses, and the cause's own
 * remediation as the fix, the line right after. */
static void test_text_cause_lines(void **state)
{
	(void)state;
	for (int c = 0; c < RW_CAUSE_COUNT; c++) {
		const char *name = rw_cause_name((enum rw_cause)c);
		assert_true(strlen(name) <= 30);
		for (int open = 0; open < 2; open++) {
			struct rw_record r;
			fill_minimal(&r);
			r.verdict.cause = (enum rw_cause)c;
			r.verdict.remediation = rw_cause_remediation((enum rw_cause)c);
			if (open) {
				r.connect_failed = 0;
				r.verdict.closed_by = RW_SIDE_NONE;
				r.verdict.close_kind = RW_CLOSE_NONE;
				r.verdict.phase = RW_PHASE_NLA;
			}
			char want[512];
			snprintf(want, sizeof(want),
			         "\n  cause      %-30s   (%s, in %s)\n  fix        %s\n", name,
			         open ? "not closed" : "closed by server, refused",
			         open ? "nla" : "tcp_connect", r.verdict.remediation);
			struct rw_buf b = RW_BUF_INIT;
			assert_int_equal(rw_record_text(&r, &b), 0);
			const char *nl = strchr(rw_buf_str(&b), '\n');
			assert_non_null(nl);
			if (strncmp(nl, want, strlen(want)) != 0)
				fail_msg("cause %s:\n--- got\n%s--- want (after line 1)\n%s", name,
				         rw_buf_str(&b), want + 1);
			rw_buf_free(&b);
		}
	}
}

static void test_text_variants(void **state)
{
	(void)state;
	struct rw_record r;
	struct rw_buf b = RW_BUF_INIT;

	/* No ServerHello: the client's offer; an open connection; IPv6; an
	 * expired self-signed certificate; a midstream capture. */
	fill_full(&r);
	r.server_hello_seen = false;
	r.alert[RW_C2S].seen = false;
	r.alert[RW_S2C] = (struct rw_alert){.seen = true, .description = 70, .ts_us = T0};
	r.client.family = 10;
	memset(r.client.addr, 0, 16);
	r.client.addr[15] = 1;
	r.cert.not_after = 1748779200; /* 2025-06-01 */
	r.cert.self_signed = true;
	r.cert.issuer_cn[0] = '\0';
	r.midstream = true;
	r.proxy = false;
	r.has_original_dst = false;
	r.cc_seen = false;
	r.neg_rsp_present = false;
	r.verdict.closed_by = RW_SIDE_NONE;
	r.verdict.phase = RW_PHASE_TLS_HANDSHAKE;
	assert_int_equal(rw_record_text(&r, &b), 0);
	assert_contains(&b, "[::1]:50000 -> 10.0.0.2:3389");
	assert_contains(&b, "(not closed, in tls_handshake)\n");
	assert_contains(&b, "  rdp        cookie \"alice\", requested ssl,hybrid, no confirm\n");
	assert_contains(&b, "  tls        client offered 1.3,1.2 with 5 cipher suites, sni "
	                    "\"rdp.example.com\", alert from server: protocol_version\n");
	assert_contains(&b, "  cert       CN=rdp.example.com (issuer CN=Example CA,O=Example) "
	                    "valid 2026-01-01 .. 2025-06-01, EXPIRED at connection time, "
	                    "self-signed\n");
	assert_contains(&b, "  note       capture began mid-connection");
	assert_false(strstr(b.data, "  proxy"));
	rw_buf_free(&b);

	/* Not yet valid; no SNI; negotiation failure; long timeline. */
	fill_full(&r);
	r.cert.not_before = 1798761600;
	r.ch.has_sni = false;
	r.neg_rsp_present = false;
	r.neg_failure_present = true;
	r.neg_failure_code = 1;
	r.tls_established = true;
	r.phase_reached[RW_PHASE_NLA] = true;
	r.phase_ts_us[RW_PHASE_NLA] = T0 + 25000;
	r.verdict.cause = RW_CAUSE_NLA_FAILED;
	r.verdict.phase = RW_PHASE_NLA;
	assert_int_equal(rw_record_text(&r, &b), 0);
	assert_contains(&b, "NOT YET VALID at connection time\n");
	assert_contains(&b, "failure ssl_required_by_server\n");
	assert_contains(&b, "+3.250 ms tls_handshake, +25 ms nla\n");
	assert_contains(&b, "alert from client: unknown_ca, established\n");
	assert_false(strstr(b.data, "sni"));
	rw_buf_free(&b);
}

static void test_text_hostile_strings(void **state)
{
	(void)state;
	struct rw_record r;
	make_hostile(&r);
	struct rw_buf b = RW_BUF_INIT;
	assert_int_equal(rw_record_text(&r, &b), 0);
	/* Same number of lines as the clean record: nothing forged a line. */
	size_t lines = 0;
	for (size_t i = 0; i < b.len; i++) {
		unsigned char c = (unsigned char)b.data[i];
		if (c == '\n')
			lines++;
		else if (c < 0x20 || c == 0x7f)
			fail_msg("raw control byte 0x%02x in text output", c);
	}
	size_t clean_lines = 0;
	for (const char *p = full_text; *p; p++)
		clean_lines += *p == '\n';
	assert_int_equal(lines, clean_lines);
	assert_contains(&b, "  rdp        cookie \"x\\x0d\\x0a\\\"},{\\\"rdpwhy.cause\\\":\\\""
	                    "normal_close\\\\\\x1b[2J\\x00\\xff\\xc0\\x80\", requested");
	/* Unquoted fields do not escape '"' but do escape the rest. */
	assert_contains(&b, "  cert       CN=x\\x0d\\x0a\"},{\"rdpwhy.cause\":\"normal_close"
	                    "\\\\\\x1b[2J (issuer");
	assert_contains(&b, "  evidence   - x\\x0d\\x0a\"},");
	rw_buf_free(&b);
}

static void test_text_deceptive_unicode(void **state)
{
	(void)state;
	/* Harmless UTF-8 passes; bidi overrides, line separators and C1
	 * controls are shown as bytes. */
	struct rw_record r;
	fill_full(&r);
	static const char s[] = "caf\xc3\xa9 \xe2\x80\xae"
	                        "evil\xe2\x80\xa8\xc2\x9b";
	memcpy(cookie_storage, s, sizeof(s));
	r.token_len = sizeof(s) - 1;
	struct rw_buf b = RW_BUF_INIT;
	assert_int_equal(rw_record_text(&r, &b), 0);
	assert_contains(&b, "cookie \"caf\xc3\xa9 \\xe2\\x80\\xae"
	                    "evil\\xe2\\x80\\xa8\\xc2\\x9b\"");
	rw_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_json_full_record),
	        cmocka_unit_test(test_json_minimal_record),
	        cmocka_unit_test(test_json_appends),
	        cmocka_unit_test(test_json_minimal_omits_unknown_facts),
	        cmocka_unit_test(test_json_cert_facts_need_certificate),
	        cmocka_unit_test(test_json_rdp_keys),
	        cmocka_unit_test(test_json_first_alert),
	        cmocka_unit_test(test_json_tls_variants),
	        cmocka_unit_test(test_json_endpoints),
	        cmocka_unit_test(test_json_times),
	        cmocka_unit_test(test_json_hostile_strings),
	        cmocka_unit_test(test_json_all_or_nothing),
	        cmocka_unit_test(test_text_full_record),
	        cmocka_unit_test(test_text_minimal_record),
	        cmocka_unit_test(test_text_cause_lines),
	        cmocka_unit_test(test_text_variants),
	        cmocka_unit_test(test_text_hostile_strings),
	        cmocka_unit_test(test_text_deceptive_unicode),
	        cmocka_unit_test(test_text_all_or_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
