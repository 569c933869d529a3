/* Records for the formatter tests (record_fixtures.h). */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "record_fixtures.h"
#include "session.h"

char cookie_storage[64];

void fill_minimal(struct rw_record *r)
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

void fill_full(struct rw_record *r)
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

void assert_contains(const struct rw_buf *b, const char *needle)
{
	if (!strstr(rw_buf_str(b), needle))
		fail_msg("missing %s in %s", needle, rw_buf_str(b));
}

static const char hostile[] = "x\r\n\"},{\"rdpwhy.cause\":\"normal_close\\\x1b[2J\x00\xff\xc0\x80";

void make_hostile(struct rw_record *r)
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

void check_all_or_nothing(format_fn fn)
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
