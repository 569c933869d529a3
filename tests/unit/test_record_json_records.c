/* The JSON line of a record: exact output for a fully populated record and a
 * minimal one, flat and nested, which keys appear when (and that a fact the
 * front end could not see has no key), hostile wire strings, and
 * all-or-nothing output on allocation failure. Most checks read the flat
 * form, whose top-level keys are the dotted names. The records and what
 * their lines must hold are one table (json_cases) run by run_json_case.
 * The key table itself, escaping and time formatting:
 * test_record_json_keys.c. */
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
#include "record_keys.h"
#include "record_fixtures.h"
#include "record_json_check.h"

#ifndef RDPWHY_VERSION
#define RDPWHY_VERSION "unknown"
#endif

/* ---- JSON: exact output ---- */

/* The fingerprints are those of fill_full's hellos, computed outside rdpwhy
 * (Python's hashlib): JA3 = MD5("771,4865-49200-49199-4660,,,"), JA3S =
 * MD5("771,49200,"), JA4 = "t13d040000_" + SHA-256("1234,1301,c02f,c030")[:12]
 * + "_000000000000" (TLS 1.3 offered, SNI, 4 ciphers, no extensions, no
 * ALPN). */

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
        "\"tls.client.server_name\":\"rdp.example.com\","
        "\"tls.client.ja3\":\"171ad9ee567d8d0b87f0c45d890ec380\","
        "\"tls.client.ja4\":\"t13d040000_b7c849f854c5_000000000000\","
        "\"tls.client.supported_ciphers\":[\"TLS_AES_128_GCM_SHA256\","
        "\"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\",\"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\","
        "\"0x1234\"],"
        "\"tls.server.ja3s\":\"7770094a92b1cbfa5a6de2017cfb682a\","
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
        "\"tls.alert.code\":48,"
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
        "\"rdpwhy.timeline.tcp_connect\":0,"
        "\"rdpwhy.timeline.x224\":1000,"
        "\"rdpwhy.timeline.tls_handshake\":3250,"
        "\"rdpwhy.midstream\":false,"
        "\"rdpwhy.capture.directions\":\"both\","
        /* the proxy: no rdpwhy.tcp.retransmits.* (it cannot see segments) */
        "\"rdpwhy.tls.encrypted_records.client\":0,"
        "\"rdpwhy.tls.encrypted_records.server\":0,"
        "\"rdpwhy.tls.client_versions\":[\"1.3\",\"1.2\"],"
        "\"rdpwhy.tls.cert_chain_length\":2,"
        "\"rdpwhy.tls.cert_self_signed\":false,"
        "\"rdpwhy.proxy.connect_ms\":3,"
        "\"rdpwhy.original_destination.ip\":\"10.0.0.9\","
        "\"rdpwhy.original_destination.port\":3389,"
        "\"rdpwhy.version\":\"" RDPWHY_VERSION "\"}\n";

/* The same record nested: each prefix one object, in the same order. */
static const char full_json_nested[] =
        "{\"@timestamp\":\"2026-11-24T17:05:03.123456Z\","
        "\"event\":{\"kind\":\"event\",\"category\":[\"network\"],\"type\":[\"connection\"],"
        "\"start\":\"2026-11-24T17:05:03.123456Z\",\"end\":\"2026-11-24T17:05:04.358023Z\","
        "\"duration\":1234567000,\"id\":\"42\"},"
        "\"host\":{\"name\":\"sensor-1\"},"
        "\"network\":{\"transport\":\"tcp\",\"type\":\"ipv4\"},"
        "\"source\":{\"ip\":\"10.0.0.1\",\"port\":50000,\"bytes\":1234},"
        "\"destination\":{\"ip\":\"10.0.0.2\",\"port\":3389,\"bytes\":5678},"
        "\"tls\":{\"established\":false,\"version\":\"1.2\",\"version_protocol\":\"tls\","
        "\"cipher\":\"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\","
        "\"client\":{\"server_name\":\"rdp.example.com\","
        "\"ja3\":\"171ad9ee567d8d0b87f0c45d890ec380\","
        "\"ja4\":\"t13d040000_b7c849f854c5_000000000000\","
        "\"supported_ciphers\":[\"TLS_AES_128_GCM_SHA256\","
        "\"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\",\"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\","
        "\"0x1234\"]},"
        "\"server\":{\"ja3s\":\"7770094a92b1cbfa5a6de2017cfb682a\","
        "\"x509\":{\"subject\":{\"common_name\":\"rdp.example.com\","
        "\"distinguished_name\":\"CN=rdp.example.com\"},"
        "\"issuer\":{\"common_name\":\"Example CA\","
        "\"distinguished_name\":\"CN=Example CA,O=Example\"},"
        "\"serial_number\":\"0A1B2C\",\"not_before\":\"2026-01-01T00:00:00Z\","
        "\"not_after\":\"2027-01-01T00:00:00Z\","
        "\"alternative_names\":[\"DNS:rdp.example.com\",\"IP:10.0.0.2\"],"
        "\"public_key_algorithm\":\"rsa\",\"public_key_size\":2048},"
        "\"hash\":{\"sha1\":\"00112233445566778899AABBCCDDEEFF00112233\","
        "\"sha256\":\"00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF\"}},"
        "\"alert\":{\"description\":\"unknown_ca\",\"code\":48,\"from\":\"client\"}},"
        "\"rdp\":{\"cookie\":\"alice\",\"requested_protocols\":[\"ssl\",\"hybrid\"],"
        "\"neg_req_flags\":[\"correlation_info_present\"],\"selected_protocol\":\"ssl\","
        "\"neg_rsp_flags\":[\"extended_client_data_supported\","
        "\"dynvc_gfx_protocol_supported\"]},"
        "\"rdpwhy\":{\"cause\":\"certificate_rejected_by_client\",\"closed_by\":\"client\","
        "\"close_kind\":\"fin\",\"phase\":\"tls_handshake\","
        "\"evidence\":[\"client sent alert unknown_ca after the Certificate\","
        "\"certificate issued by Example CA\"],"
        "\"remediation\":\"Make the client trust the host's certificate issuer\","
        "\"confidence\":\"high\","
        "\"timeline\":{\"tcp_connect\":0,\"x224\":1000,\"tls_handshake\":3250},"
        "\"midstream\":false,\"capture\":{\"directions\":\"both\"},"
        "\"tls\":{\"encrypted_records\":{\"client\":0,\"server\":0},"
        "\"client_versions\":[\"1.3\",\"1.2\"],\"cert_chain_length\":2,"
        "\"cert_self_signed\":false},"
        "\"proxy\":{\"connect_ms\":3},"
        "\"original_destination\":{\"ip\":\"10.0.0.9\",\"port\":3389},"
        "\"version\":\"" RDPWHY_VERSION "\"}}\n";

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
                                   "\"rdpwhy.timeline.tcp_connect\":0,"
                                   "\"rdpwhy.midstream\":false,"
                                   "\"rdpwhy.capture.directions\":\"both\","
                                   "\"rdpwhy.tcp.retransmits.client\":0,"
                                   "\"rdpwhy.tcp.retransmits.server\":0,"
                                   "\"rdpwhy.tls.encrypted_records.client\":0,"
                                   "\"rdpwhy.tls.encrypted_records.server\":0,"
                                   "\"rdpwhy.version\":\"" RDPWHY_VERSION "\"}\n";

static const char minimal_json_nested[] =
        "{\"@timestamp\":\"2026-11-24T17:05:03.123456Z\","
        "\"event\":{\"kind\":\"event\",\"category\":[\"network\"],\"type\":[\"connection\"],"
        "\"start\":\"2026-11-24T17:05:03.123456Z\",\"end\":\"2026-11-24T17:05:03.124456Z\","
        "\"duration\":1000000,\"id\":\"7\"},"
        "\"network\":{\"transport\":\"tcp\",\"type\":\"ipv4\"},"
        "\"source\":{\"ip\":\"10.0.0.1\",\"port\":50000,\"bytes\":0},"
        "\"destination\":{\"ip\":\"10.0.0.2\",\"port\":3389,\"bytes\":0},"
        "\"rdpwhy\":{\"cause\":\"upstream_refused\",\"closed_by\":\"server\","
        "\"close_kind\":\"refused\",\"phase\":\"tcp_connect\","
        "\"evidence\":[\"SYN answered by RST\"],"
        "\"remediation\":\"Check that TermService listens on the port\","
        "\"confidence\":\"high\",\"timeline\":{\"tcp_connect\":0},\"midstream\":false,"
        "\"capture\":{\"directions\":\"both\"},"
        "\"tcp\":{\"retransmits\":{\"client\":0,\"server\":0}},"
        "\"tls\":{\"encrypted_records\":{\"client\":0,\"server\":0}},"
        "\"version\":\"" RDPWHY_VERSION "\"}}\n";

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

static void test_json_appends(void **state)
{
	(void)state;
	/* Records append: a caller can batch lines in one buffer. */
	struct rw_record r;
	fill_minimal(&r);
	struct rw_buf b = RW_BUF_INIT;
	assert_int_equal(rw_record_json(&r, NULL, &b), 0);
	assert_int_equal(rw_record_json(&r, NULL, &b), 0);
	assert_int_equal(b.len, 2 * strlen(minimal_json_nested));
	assert_memory_equal(b.data + strlen(minimal_json_nested), minimal_json_nested,
	                    strlen(minimal_json_nested));
	rw_buf_free(&b);
}

/* The writer keeps what it derives from a ClientHello for the last few
 * distinct ones (output/hello_cache.c). Six hellos that differ in their last
 * cipher, more than it keeps, twice over, with the random, session id and
 * server name changed on the second pass: each line holds its own hello's
 * fingerprints (computed outside rdpwhy, as above, for ciphers 1301, c030,
 * c02f and 0x1234 + k), cipher list and name. */
static void test_json_hello_cache(void **state)
{
	(void)state;
	static const char *const want[6][2] = {
	        {"171ad9ee567d8d0b87f0c45d890ec380", "t13d040000_b7c849f854c5_000000000000"},
	        {"5c11602fdfbf056139c4c84cc0ff5e38", "t13d040000_35aa6227206d_000000000000"},
	        {"626c71e8f3cf8684acd241aee46c0641", "t13d040000_3d247884fa3c_000000000000"},
	        {"a86a32a333b6b76546bd872b82cce17f", "t13d040000_9ce45237996a_000000000000"},
	        {"3fcaec5ea4799331949e25197ef80863", "t13d040000_9664547cd89a_000000000000"},
	        {"fe7c2727079d273742d9648b7ec3f9f1", "t13d040000_f80856c3fef1_000000000000"},
	};
	static struct rw_record r;
	for (int pass = 0; pass < 2; pass++) {
		for (int k = 0; k < 6; k++) {
			fill_full(&r);
			r.ch.ciphers[4] = (uint16_t)(0x1234 + k); /* after a GREASE value */
			if (pass) {
				memset(r.ch.random, 0xA5, sizeof(r.ch.random));
				r.ch.session_id_len = 32;
				strcpy(r.ch.sni, "other.example.org");
				r.ch.sni_len = 17;
			}
			struct rw_buf b = RW_BUF_INIT;
			assert_int_equal(rw_record_json_style(&r, NULL, NULL, RW_JSON_FLAT, &b), 0);
			char ja3[64], ja4[64], list[128];
			snprintf(ja3, sizeof(ja3), "\"tls.client.ja3\":\"%s\"", want[k][0]);
			snprintf(ja4, sizeof(ja4), "\"tls.client.ja4\":\"%s\"", want[k][1]);
			snprintf(list, sizeof(list),
			         "\"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\",\"0x%04X\"]",
			         0x1234 + k);
			assert_non_null(strstr(b.data, ja3));
			assert_non_null(strstr(b.data, ja4));
			assert_non_null(strstr(b.data, list));
			assert_non_null(strstr(b.data, pass ? "\"tls.client.server_name\":"
			                                      "\"other.example.org\""
			                                    : "\"tls.client.server_name\":"
			                                      "\"rdp.example.com\""));
			rw_buf_free(&b);
		}
	}
}

/* ---- JSON: the records and what their lines hold, one table ---- */

/* How a case renders its record. */
enum json_call {
	CALL_FLAT,    /* rw_record_json_style(r, host, NULL, RW_JSON_FLAT) */
	CALL_NESTED,  /* rw_record_json_style(r, host, NULL, RW_JSON_NESTED) */
	CALL_JSON,    /* rw_record_json(r, host): the nested form */
	CALL_JSON_EX, /* rw_record_json_ex(r, host, id) */
};

/* One record and the facts its JSON line must show. Every expectation is a
 * literal: the exact line, substrings, keys present or absent (whole flat
 * names or prefixes of them). */
struct json_case {
	const char *name;
	void (*setup)(struct rw_record *r);
	/* The TLS alerts of each side, set after setup (set_alerts). */
	bool set_alerts;
	struct rw_alert alert_c, alert_s;
	const char *host;
	enum json_call call;
	const char *id;     /* CALL_JSON_EX only */
	const char *equals; /* the whole line */
	bool always_keys;   /* every RW_KP_ALWAYS key of record_keys.h is there */
	const char *contains[8];
	const char *lacks[4]; /* substrings absent from the line */
	const char *keys[4];
	const char *no_keys[4];
	const char *no_prefixes[4];
};

/* The record setups: fill_full or fill_minimal, then what the case is about. */

static void set_minimal_no_evidence(struct rw_record *r)
{
	fill_minimal(r);
	r->verdict.n_evidence = 0;
	r->verdict.remediation = NULL;
}

/* The struct may hold stale bytes: only the *_seen flags count. */
static void set_full_no_hellos(struct rw_record *r)
{
	fill_full(r);
	r->certificate_seen = false;
	r->server_hello_seen = false;
	r->client_hello_seen = false;
}

/* A capture of the client's packets only: nothing counted for the server's
 * side, which the acknowledgements tell about instead. */
static void set_client_only(struct rw_record *r)
{
	fill_minimal(r);
	r->directions = RW_DIRS_CLIENT_ONLY;
	r->bytes[RW_C2S] = 19;
	r->inferred_bytes[RW_S2C] = 1460;
	r->tcp[RW_C2S].retransmits = 2;
}

static void set_server_only(struct rw_record *r)
{
	fill_minimal(r);
	r->directions = RW_DIRS_SERVER_ONLY;
	r->inferred_bytes[RW_C2S] = 0; /* known: the server acknowledged nothing */
}

/* CR without RDP_NEG_REQ: standard RDP security. */
static void set_cr_no_neg_req(struct rw_record *r)
{
	fill_minimal(r);
	r->cr_seen = true;
}

/* Routing token instead of a cookie; negotiation failure. */
static void set_routing_token_neg_failure(struct rw_record *r)
{
	fill_minimal(r);
	r->cr_seen = r->cc_seen = true;
	r->neg_req_present = true;
	r->requested_protocols = 0x0B; /* ssl, hybrid, hybrid_ex */
	strcpy(cookie_storage, "Cookie: msts=3640205228.15629.0000");
	r->token = cookie_storage;
	r->token_len = strlen(cookie_storage);
	r->token_kind = RW_TOKEN_ROUTING;
	r->neg_failure_present = true;
	r->neg_failure_code = 5;
}

/* Unknown failure code and unknown request flag bits. */
static void set_unknown_neg_codes(struct rw_record *r)
{
	fill_minimal(r);
	r->cr_seen = true;
	r->neg_req_present = true;
	r->neg_req_flags = 0x81;
	r->neg_failure_present = true;
	r->neg_failure_code = 99;
}

/* A token of kind NONE is never printed; no CR means no requested list. */
static void set_token_kind_none(struct rw_record *r)
{
	fill_minimal(r);
	r->token = cookie_storage;
	r->token_len = 3;
	r->token_kind = RW_TOKEN_NONE;
}

static void set_minimal_tls(struct rw_record *r)
{
	fill_minimal(r);
	r->tls_seen[RW_C2S] = true;
}

/* SSL 3.0 as ECS spells it; unknown cipher and version as hex. */
static void set_ssl3_unknown_cipher(struct rw_record *r)
{
	fill_full(r);
	r->sh.version = 0x0300;
	r->sh.cipher = 0x5678; /* unassigned */
	r->ch.n_versions = 0;
	strcpy(r->sh.alpn, "h2");
	r->sh.n_alpn = 1;
	r->sslv2_client_hello = true;
}

static void set_unknown_version_established(struct rw_record *r)
{
	fill_full(r);
	r->sh.version = 0x7F17;
	/* A finished handshake is established once the connection went on past
	 * it (a record's facts agree with its verdict). */
	r->tls_established = true;
	r->verdict.cause = RW_CAUSE_NLA_FAILED;
	r->verdict.phase = RW_PHASE_NLA;
	r->ch.n_alpn = 2;
	memcpy(r->ch.alpn[0], "h2", 3);
	r->ch.alpn_len[0] = 2;
	memcpy(r->ch.alpn[1], "x\0\n", 4);
	r->ch.alpn_len[1] = 3;
	r->cert.key_bits = 0;
	r->cert.n_san = 0;
	r->cert.serial_hex[0] = '\0';
}

/* More SANs than kept: the kept ones only, no overrun. */
static void set_many_sans(struct rw_record *r)
{
	fill_full(r);
	r->cert.n_san = 1000;
	for (int i = 0; i < RW_CERT_MAX_SAN; i++)
		snprintf(r->cert.san[i], sizeof(r->cert.san[i]), "DNS:h%d", i);
}

static void set_ipv6(struct rw_record *r)
{
	fill_minimal(r);
	r->client.family = 10;
	memcpy(r->client.addr, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	r->server.family = 10;
	memset(r->server.addr, 0, 16);
	r->server.addr[15] = 1;
}

/* An unknown family: no address, no port, no network.type. */
static void set_unknown_family(struct rw_record *r)
{
	fill_minimal(r);
	r->client.family = 0;
	r->server.family = 99;
}

/* A close before the open (clock step in a capture): no duration. */
static void set_close_before_open(struct rw_record *r)
{
	fill_minimal(r);
	r->ts_close_us = T0 - 1;
	r->phase_ts_us[RW_PHASE_TCP_CONNECT] = T0 - 5; /* clamped to 0 */
}

/* The epoch, and certificate dates outside what RFC 3339 can write. */
static void set_epoch_and_cert_dates_out_of_range(struct rw_record *r)
{
	fill_full(r);
	r->ts_open_us = 0;
	r->ts_close_us = 0;
	r->cert.not_before = -62167219201LL; /* year -1 */
	r->cert.not_after = 253402300800LL;  /* year 10000 */
	memset(r->phase_reached, 0, sizeof(r->phase_reached));
}

/* Whole microseconds since event.start. */
static void set_established_late(struct rw_record *r)
{
	fill_minimal(r);
	r->phase_reached[RW_PHASE_ESTABLISHED] = true;
	r->phase_ts_us[RW_PHASE_ESTABLISHED] = T0 + 61234567;
	r->verdict.phase = RW_PHASE_ESTABLISHED;
}

/* The timeline holds the phases entered before the close: a phase the
 * record reached after it (the peer's bytes after a FIN) is left out. */
static void set_phase_reached_after_close(struct rw_record *r)
{
	set_established_late(r);
	r->verdict.phase = RW_PHASE_TCP_CONNECT;
}

/* The alerts of the alert cases (record.h: struct rw_alert). */
#define ALERT_NONE                                                                                 \
	{                                                                                          \
		0                                                                                  \
	}
#define ALERT_C40                                                                                  \
	{                                                                                          \
		.seen = true, .level = 2, .description = 40, .ts_us = T0 + 10                      \
	}
#define ALERT_S70                                                                                  \
	{                                                                                          \
		.seen = true, .level = 2, .description = 70, .ts_us = T0 + 20                      \
	}
#define ALERT_S70_EARLY                                                                            \
	{                                                                                          \
		.seen = true, .level = 2, .description = 70, .ts_us = T0 + 5                       \
	}
#define ALERT_S70_TIE                                                                              \
	{                                                                                          \
		.seen = true, .level = 2, .description = 70, .ts_us = T0 + 10                      \
	}
#define ALERT_ENC                                                                                  \
	{                                                                                          \
		.seen = true, .encrypted = true, .description = 0, .ts_us = T0                     \
	}
#define ALERT_ODD                                                                                  \
	{                                                                                          \
		.seen = true, .level = 2, .description = 250, .ts_us = T0                          \
	}

/* make_hostile's strings escaped. A backslash in the input is one backslash
 * once the JSON is decoded. */
#define ESC_FULL                                                                                   \
	"x\\r\\n\\\"},{\\\"rdpwhy.cause\\\":\\\"normal_close"                                      \
	"\\\\\\u001b[2J\\u0000\\\\xff\\\\xc0\\\\x80"
#define ESC_CSTR                                                                                   \
	"x\\r\\n\\\"},{\\\"rdpwhy.cause\\\":\\\"normal_close"                                      \
	"\\\\\\u001b[2J"

static const struct json_case json_cases[] = {
        /* ---- exact output ---- */
        {.name = "full record, flat", .setup = fill_full, .host = "sensor-1", .equals = full_json},
        {.name = "minimal record, flat", .setup = fill_minimal, .equals = minimal_json},
        {.name = "full record, nested",
         .setup = fill_full,
         .host = "sensor-1",
         .call = CALL_NESTED,
         .equals = full_json_nested},
        {.name = "rw_record_json is the nested form",
         .setup = fill_full,
         .host = "sensor-1",
         .call = CALL_JSON,
         .equals = full_json_nested},
        {.name = "minimal record, nested",
         .setup = fill_minimal,
         .call = CALL_NESTED,
         .equals = minimal_json_nested},
        /* The record id last, inside rdpwhy; event.id takes it too. */
        {.name = "record id, nested",
         .setup = fill_minimal,
         .call = CALL_JSON_EX,
         .id = "abc",
         .contains = {",\"id\":\"abc\"},",
                      ",\"version\":\"" RDPWHY_VERSION "\",\"record_id\":\"abc\"}}\n"}},

        /* ---- which keys appear when ---- */
        {.name = "minimal record omits unknown facts",
         .setup = set_minimal_no_evidence,
         .always_keys = true,
         .contains = {"\"rdpwhy.evidence\":[]", "\"rdpwhy.remediation\":\"\""},
         .lacks = {"null"},
         .no_keys = {"host.name", "rdpwhy.proxy.connect_ms", "rdpwhy.tls.sslv2_client_hello"},
         .no_prefixes = {"tls.", "rdp.", "rdpwhy.original_destination."}},
        {.name = "certificate facts need the certificate",
         .setup = set_full_no_hellos,
         .keys = {"tls.established" /* TLS records were seen */, "tls.alert.description"},
         .no_keys = {"tls.version", "tls.cipher", "rdpwhy.tls.client_versions",
                     "rdpwhy.tls.cert_chain_length"},
         .no_prefixes = {"tls.server.", "tls.client."}},
        /* A fact the front end could not see has no key, never a 0. The
         * proxy reads sockets, not segments: no retransmission counts
         * (fill_full is a proxy record with stale counts in the struct). */
        {.name = "unseen: the proxy counts no retransmissions",
         .setup = fill_full,
         .keys = {"source.bytes", "destination.bytes"},
         .no_prefixes = {"rdpwhy.tcp.retransmits."}},
        {.name = "unseen: client packets only",
         .setup = set_client_only,
         .contains = {"\"source.bytes\":19,", "\"rdpwhy.tcp.retransmits.client\":2,",
                      "\"rdpwhy.inferred.bytes.server\":1460,",
                      "\"rdpwhy.capture.directions\":\"client_only\""},
         .keys = {"rdpwhy.tls.encrypted_records.client"},
         .no_keys = {"destination.bytes", "rdpwhy.tcp.retransmits.server",
                     "rdpwhy.inferred.bytes.client", "rdpwhy.tls.encrypted_records.server"}},
        {.name = "unseen: server packets only",
         .setup = set_server_only,
         .contains = {"\"destination.bytes\":0,", "\"rdpwhy.tcp.retransmits.server\":0,",
                      "\"rdpwhy.inferred.bytes.client\":0,"},
         .no_keys = {"source.bytes", "rdpwhy.tcp.retransmits.client"}},

        /* ---- rdp.* ---- */
        {.name = "rdp: CR without RDP_NEG_REQ",
         .setup = set_cr_no_neg_req,
         .contains = {"\"rdp.requested_protocols\":[\"rdp\"]"},
         .no_keys = {"rdp.neg_req_flags", "rdp.selected_protocol", "rdp.cookie"}},
        {.name = "rdp: routing token, negotiation failure",
         .setup = set_routing_token_neg_failure,
         .contains = {"\"rdp.routing_token\":\"Cookie: msts=3640205228.15629.0000\"",
                      "\"rdp.requested_protocols\":[\"ssl\",\"hybrid\",\"hybrid_ex\"]",
                      "\"rdp.neg_failure\":\"hybrid_required_by_server\""},
         .no_keys = {"rdp.cookie", "rdp.neg_req_flags" /* no flags set */}},
        {.name = "rdp: unknown failure code and request flag bits",
         .setup = set_unknown_neg_codes,
         .contains = {"\"rdp.neg_req_flags\":[\"restricted_admin_mode_required\",\"0x80\"]",
                      "\"rdp.neg_failure\":\"0x00000063\""}},
        {.name = "rdp: token of kind NONE, no CR",
         .setup = set_token_kind_none,
         .no_prefixes = {"rdp."}},

        /* ---- tls.alert.*: the first alert ---- */
        {.name = "alert: none",
         .setup = set_minimal_tls,
         .set_alerts = true,
         .alert_c = ALERT_NONE,
         .alert_s = ALERT_NONE,
         .no_prefixes = {"tls.alert."}},
        {.name = "alert: client's first",
         .setup = set_minimal_tls,
         .set_alerts = true,
         .alert_c = ALERT_C40,
         .alert_s = ALERT_S70,
         .contains = {"\"tls.alert.description\":\"handshake_failure\",\"tls.alert.code\":40,"
                      "\"tls.alert.from\":\"client\""}},
        {.name = "alert: server's first",
         .setup = set_minimal_tls,
         .set_alerts = true,
         .alert_c = ALERT_C40,
         .alert_s = ALERT_S70_EARLY,
         .contains = {"\"tls.alert.description\":\"protocol_version\",\"tls.alert.code\":70,"
                      "\"tls.alert.from\":\"server\""}},
        {.name = "alert: a tie goes to the server",
         .setup = set_minimal_tls,
         .set_alerts = true,
         .alert_c = ALERT_C40,
         .alert_s = ALERT_S70_TIE,
         .contains = {"\"tls.alert.code\":70,\"tls.alert.from\":\"server\""}},
        {.name = "alert: server's only",
         .setup = set_minimal_tls,
         .set_alerts = true,
         .alert_c = ALERT_NONE,
         .alert_s = ALERT_S70,
         .contains = {"\"tls.alert.from\":\"server\""}},
        /* An encrypted alert has no description ("encrypted" is not an alert)
         * and no code: tls.alert.encrypted says so. */
        {.name = "alert: encrypted",
         .setup = set_minimal_tls,
         .set_alerts = true,
         .alert_c = ALERT_ENC,
         .alert_s = ALERT_NONE,
         .contains = {",\"tls.alert.encrypted\":true,\"tls.alert.from\":\"client\""}},
        {.name = "alert: encrypted, no description or code",
         .setup = set_minimal_tls,
         .set_alerts = true,
         .alert_c = ALERT_ENC,
         .alert_s = ALERT_NONE,
         .lacks = {"\"encrypted\""},
         .no_keys = {"tls.alert.description", "tls.alert.code"}},
        /* An unregistered code: no name, the number. */
        {.name = "alert: unregistered code",
         .setup = set_minimal_tls,
         .set_alerts = true,
         .alert_c = ALERT_ODD,
         .alert_s = ALERT_NONE,
         .contains = {",\"tls.alert.code\":250,\"tls.alert.from\":\"client\""}},
        {.name = "alert: unregistered code, no description, not encrypted",
         .setup = set_minimal_tls,
         .set_alerts = true,
         .alert_c = ALERT_ODD,
         .alert_s = ALERT_NONE,
         .no_keys = {"tls.alert.description", "tls.alert.encrypted"}},

        /* ---- tls.* variants ---- */
        {.name = "tls: SSL 3.0, unknown cipher, server ALPN, SSLv2 hello",
         .setup = set_ssl3_unknown_cipher,
         .contains = {"\"tls.version\":\"3.0\",\"tls.version_protocol\":\"ssl\"",
                      "\"tls.cipher\":\"0x5678\"", "\"tls.next_protocol\":\"h2\"",
                      "\"rdpwhy.tls.sslv2_client_hello\":true"},
         .no_keys = {"rdpwhy.tls.client_versions"}},
        {.name = "tls: unknown version, established, client ALPN, sparse certificate",
         .setup = set_unknown_version_established,
         .contains = {"\"tls.established\":true",
                      "\"tls.version\":\"0x7F17\",\"tls.version_protocol\":\"tls\"",
                      "\"rdpwhy.tls.client_alpn\":[\"h2\",\"x\\u0000\\n\"]"},
         .keys = {"tls.client.ja3", "tls.client.ja4"},
         .no_keys = {"tls.server.x509.public_key_size", "tls.server.x509.alternative_names",
                     "tls.server.x509.serial_number"}},
        {.name = "tls: more SANs than kept", .setup = set_many_sans, .contains = {"\"DNS:h15\"]"}},

        /* ---- endpoints ---- */
        {.name = "endpoints: IPv6",
         .setup = set_ipv6,
         .contains = {"\"network.type\":\"ipv6\",\"source.ip\":\"2001:db8::1\","
                      "\"source.port\":50000",
                      "\"destination.ip\":\"::1\""}},
        {.name = "endpoints: unknown family",
         .setup = set_unknown_family,
         .keys = {"source.bytes"},
         .no_keys = {"network.type", "source.ip", "source.port", "destination.ip"}},

        /* ---- times ---- */
        {.name = "times: close before open",
         .setup = set_close_before_open,
         .contains = {",\"rdpwhy.timeline.tcp_connect\":0,"},
         .no_keys = {"event.duration", "event.end"}},
        {.name = "times: the epoch, certificate dates out of range",
         .setup = set_epoch_and_cert_dates_out_of_range,
         .contains = {"\"@timestamp\":\"1970-01-01T00:00:00.000000Z\""},
         .no_keys = {"tls.server.x509.not_before", "tls.server.x509.not_after"},
         .no_prefixes = {"rdpwhy.timeline"}},
        {.name = "times: microseconds since event.start",
         .setup = set_established_late,
         .contains = {"\"rdpwhy.timeline.established\":61234567,"}},
        {.name = "times: a phase reached after the close",
         .setup = set_phase_reached_after_close,
         .contains = {",\"rdpwhy.timeline.tcp_connect\":0,"},
         .no_keys = {"rdpwhy.timeline.established"}},

        /* ---- hostile wire strings ---- */
        {.name = "hostile strings, flat",
         .setup = make_hostile,
         .host = "host\n\"name",
         .contains = {"\"rdp.cookie\":\"" ESC_FULL "\"",
                      /* Not plain: the cookie's raw bytes too. */
                      "\"rdp.cookie_hex\":\"780d0a227d2c7b227264707768792e6361757365223a226e6f726d"
                      "616c5f636c6f73655c1b5b324a00ffc080\"",
                      "\"tls.client.server_name\":\"" ESC_FULL "\"",
                      "\"tls.server.x509.subject.common_name\":\"" ESC_CSTR "\"",
                      "\"tls.server.x509.alternative_names\":[\"" ESC_CSTR "\"",
                      "\"rdpwhy.evidence\":[\"" ESC_CSTR "\"", "\"host.name\":\"host\\n\\\"name\"",
                      /* The injected key stayed inside strings: the real cause is intact. */
                      "\"rdpwhy.cause\":\"certificate_rejected_by_client\""}},
        {.name = "hostile strings, nested",
         .setup = make_hostile,
         .host = "host\n\"name",
         .call = CALL_NESTED,
         .contains = {",\"rdpwhy\":{\"cause\":\"certificate_rejected_by_client\","}},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Renders one case's record and checks every expectation it lists; returns
 * the number of expectations checked. */
static size_t run_json_case(const struct json_case *c)
{
	struct rw_record r;
	c->setup(&r);
	if (c->set_alerts) {
		r.alert[RW_C2S] = c->alert_c;
		r.alert[RW_S2C] = c->alert_s;
	}
	struct rw_buf b = RW_BUF_INIT;
	int rc = c->call == CALL_JSON ? rw_record_json(&r, c->host, &b)
	         : c->call == CALL_JSON_EX
	                 ? rw_record_json_ex(&r, c->host, c->id, &b)
	                 : rw_record_json_style(
	                           &r, c->host, NULL,
	                           c->call == CALL_NESTED ? RW_JSON_NESTED : RW_JSON_FLAT, &b);
	if (rc != 0)
		fail_msg("%s: the writer returned %d", c->name, rc);
	struct check_json l;
	const char *why = NULL;
	if (!check_json_line(b.data, b.len, &l, &why))
		fail_msg("%s: invalid JSON line (%s): %s", c->name, why, b.data);
	size_t n = 0;
	if (c->equals) {
		assert_json_equal(&b, c->equals);
		n++;
	}
	if (c->always_keys) {
		for (size_t i = 0; i < RW_K_COUNT; i++)
			if (rw_record_keys[i].presence == RW_KP_ALWAYS &&
			    !has_key(&l, rw_record_keys[i].name))
				fail_msg("%s: missing %s", c->name, rw_record_keys[i].name);
		n++;
	}
	for (size_t i = 0; i < N_OF(c->contains) && c->contains[i]; i++, n++)
		if (!strstr(rw_buf_str(&b), c->contains[i]))
			fail_msg("%s: no %s in %s", c->name, c->contains[i], b.data);
	for (size_t i = 0; i < N_OF(c->lacks) && c->lacks[i]; i++, n++)
		if (strstr(rw_buf_str(&b), c->lacks[i]))
			fail_msg("%s: %s in %s", c->name, c->lacks[i], b.data);
	for (size_t i = 0; i < N_OF(c->keys) && c->keys[i]; i++, n++)
		if (!has_key(&l, c->keys[i]))
			fail_msg("%s: no key %s in %s", c->name, c->keys[i], b.data);
	for (size_t i = 0; i < N_OF(c->no_keys) && c->no_keys[i]; i++, n++)
		if (has_key(&l, c->no_keys[i]))
			fail_msg("%s: key %s in %s", c->name, c->no_keys[i], b.data);
	for (size_t i = 0; i < N_OF(c->no_prefixes) && c->no_prefixes[i]; i++, n++)
		if (has_key_prefix(&l, c->no_prefixes[i]))
			fail_msg("%s: a key %s* in %s", c->name, c->no_prefixes[i], b.data);
	rw_buf_free(&b);
	return n;
}

static void test_json_cases(void **state)
{
	(void)state;
	size_t checks = 0;
	for (size_t i = 0; i < N_OF(json_cases); i++) {
		/* Every case expects something. */
		size_t n = run_json_case(&json_cases[i]);
		if (n == 0)
			fail_msg("%s: no expectation", json_cases[i].name);
		checks += n;
	}
	print_message("%zu records, %zu expectations\n", N_OF(json_cases), checks);
}

/* ---- all or nothing ---- */

static int json_fmt(const struct rw_record *r, struct rw_buf *out)
{
	return rw_record_json(r, "h", out);
}

static int json_flat_fmt(const struct rw_record *r, struct rw_buf *out)
{
	return rw_record_json_style(r, "h", "id", RW_JSON_FLAT, out);
}

static void test_json_all_or_nothing(void **state)
{
	(void)state;
	check_all_or_nothing(json_fmt);
	check_all_or_nothing(json_flat_fmt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_json_cases),
	        cmocka_unit_test(test_json_appends),
	        cmocka_unit_test(test_json_hello_cache),
	        cmocka_unit_test(test_json_all_or_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
