/* rw_probe_judge: one verdict per client profile from what its own
 * connection showed and what the host-wide steps found. The findings are
 * built by hand as a host would produce them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "probe.h"
#include "x224.h"

static struct rw_profile mstsc(void)
{
	struct rw_profile p;
	memset(&p, 0, sizeof(p));
	snprintf(p.id, sizeof(p.id), "mstsc");
	snprintf(p.name, sizeof(p.name), "mstsc");
	p.requested_protocols = RW_PROTO_SSL | RW_PROTO_HYBRID | RW_PROTO_HYBRID_EX;
	p.tls_versions[0] = 0x0303;
	p.n_tls_versions = 1;
	p.suites[0] = 0xC030;
	p.n_suites = 1;
	p.kerberos = true;
	p.cert_policy = RW_CERT_PROMPT;
	return p;
}

/* A healthy NLA host: TLS 1.2 only, a trusted certificate, clock in time. */
static void healthy(struct rw_probe_findings *f)
{
	memset(f, 0, sizeof(*f));
	f->tcp = RW_PO_OK;
	for (int i = 0; i < RW_PROBE_TLS_VERSIONS; i++) {
		f->versions[i].version = (uint16_t)(0x0301 + i);
		f->versions[i].outcome = i == 2 ? RW_PO_OK : RW_PO_REJECTED;
	}
	f->cert.seen = true;
	f->cert.trusted = true;
	f->cert.name_match = 1;
	f->cert.days_left = 300;
	f->nla.outcome = RW_PO_OK;
	f->nla.has_offset = true;
	f->nla.offset_us = 2 * 1000000;
}

static struct rw_probe_profile connected(const struct rw_profile *p, uint32_t selected)
{
	struct rw_probe_profile pp;
	memset(&pp, 0, sizeof(pp));
	pp.profile = p;
	pp.x224 = RW_PO_OK;
	pp.selected = selected;
	pp.tls = RW_PO_OK;
	pp.version = 0x0303;
	snprintf(pp.cipher, sizeof(pp.cipher), "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
	return pp;
}

static void test_connects(void **state)
{
	(void)state;
	struct rw_profile p = mstsc();
	struct rw_probe_findings f;
	healthy(&f);
	struct rw_probe_profile pp = connected(&p, RW_PROTO_HYBRID);
	rw_probe_judge(&f, &pp);
	assert_int_equal(pp.verdict, RW_PV_CONNECTS);
	f.profiles[0] = pp;
	f.n_profiles = 1;
	assert_int_equal(rw_probe_exit_status(&f), 0);
}

static void test_tcp_refused(void **state)
{
	(void)state;
	struct rw_profile p = mstsc();
	struct rw_probe_findings f;
	healthy(&f);
	f.tcp = RW_PO_REFUSED;
	struct rw_probe_profile pp = {.profile = &p};
	rw_probe_judge(&f, &pp);
	assert_int_equal(pp.verdict, RW_PV_FAILS);
	assert_int_equal(pp.cause, RW_CAUSE_UPSTREAM_REFUSED);
	f.tcp = RW_PO_DROPPED;
	rw_probe_judge(&f, &pp);
	assert_int_equal(pp.cause, RW_CAUSE_UPSTREAM_UNREACHABLE);
}

static void test_neg_failure(void **state)
{
	(void)state;
	struct rw_profile p = mstsc();
	p.requested_protocols = RW_PROTO_SSL; /* NLA off on the client */
	struct rw_probe_findings f;
	healthy(&f);
	struct rw_probe_profile pp = {.profile = &p,
	                              .x224 = RW_PO_REJECTED,
	                              .neg_failure = true,
	                              .failure_code = 5 /* HYBRID_REQUIRED_BY_SERVER */};
	rw_probe_judge(&f, &pp);
	assert_int_equal(pp.verdict, RW_PV_FAILS);
	assert_int_equal(pp.cause, RW_CAUSE_SECURITY_NEGOTIATION_FAILURE);
	assert_non_null(strstr(pp.why, "hybrid_required_by_server"));
	assert_non_null(strstr(pp.fix, "NLA"));
}

static void test_version_mismatch(void **state)
{
	(void)state;
	struct rw_profile p = mstsc();
	p.tls_versions[0] = 0x0303; /* 1.2 only, the host 1.3 only */
	struct rw_probe_findings f;
	healthy(&f);
	for (int i = 0; i < RW_PROBE_TLS_VERSIONS; i++)
		f.versions[i].outcome = i == 3 ? RW_PO_OK : RW_PO_REJECTED;
	struct rw_probe_profile pp = connected(&p, RW_PROTO_HYBRID);
	pp.tls = RW_PO_REJECTED;
	pp.wire_cause = RW_CAUSE_TLS_PROTOCOL_VERSION_MISMATCH;
	rw_probe_judge(&f, &pp);
	assert_int_equal(pp.verdict, RW_PV_FAILS);
	assert_int_equal(pp.cause, RW_CAUSE_TLS_PROTOCOL_VERSION_MISMATCH);
	assert_non_null(strstr(pp.fix, "the host accepts 1.3"));
	/* Even when the host closed without an alert (Schannel): the versions
	 * measured say why. */
	pp.wire_cause = RW_CAUSE_TLS_REJECTED_WITHOUT_ALERT;
	rw_probe_judge(&f, &pp);
	assert_int_equal(pp.cause, RW_CAUSE_TLS_PROTOCOL_VERSION_MISMATCH);
}

/* A host that cannot do TLS at all (xrdp with a key its OpenSSL refuses
 * answers every ClientHello with an X.224 TPDU): no version is to blame. */
static void test_no_tls_at_all(void **state)
{
	(void)state;
	struct rw_profile p = mstsc();
	struct rw_probe_findings f;
	healthy(&f);
	f.cert.seen = false;
	for (int i = 0; i < RW_PROBE_TLS_VERSIONS; i++) {
		f.versions[i].outcome = RW_PO_REJECTED;
		f.versions[i].cause = RW_CAUSE_TLS_STREAM_ALTERED;
	}
	struct rw_probe_profile pp = connected(&p, RW_PROTO_SSL);
	pp.tls = RW_PO_REJECTED;
	pp.wire_cause = RW_CAUSE_TLS_STREAM_ALTERED;
	rw_probe_judge(&f, &pp);
	assert_int_equal(pp.verdict, RW_PV_FAILS);
	assert_int_equal(pp.cause, RW_CAUSE_TLS_STREAM_ALTERED);
}

/* A Connection Request not answered: the probe's own timeout, an answer that
 * is not TPKT, a reset that its bare ClientHello (reset too) shows is no
 * TLS-terminating middlebox. */
static void test_x224_unanswered(void **state)
{
	(void)state;
	struct rw_profile p = mstsc();
	struct rw_probe_findings f;
	healthy(&f);
	struct rw_probe_profile pp = {
	        .profile = &p, .x224 = RW_PO_TIMEOUT, .wire_cause = RW_CAUSE_CLIENT_CANCELLED};
	rw_probe_judge(&f, &pp);
	assert_int_equal(pp.verdict, RW_PV_FAILS);
	assert_int_equal(pp.cause, RW_CAUSE_X224_NO_RESPONSE);
	pp.x224 = RW_PO_NOT_RDP;
	pp.wire_cause = RW_CAUSE_UNKNOWN;
	rw_probe_judge(&f, &pp);
	assert_int_equal(pp.cause, RW_CAUSE_NOT_RDP);
	pp.x224 = RW_PO_RESET;
	pp.wire_cause = RW_CAUSE_TLS_TERMINATING_MIDDLEBOX;
	rw_probe_judge(&f, &pp);
	assert_int_equal(pp.cause, RW_CAUSE_TLS_TERMINATING_MIDDLEBOX); /* not tried */
	f.tls_first_tried = true;
	rw_probe_judge(&f, &pp);
	assert_int_equal(pp.cause, RW_CAUSE_X224_CLOSED_BY_SERVER);
	f.tls_first = true;
	rw_probe_judge(&f, &pp);
	assert_int_equal(pp.cause, RW_CAUSE_TLS_TERMINATING_MIDDLEBOX);
}

static void test_cipher_mismatch(void **state)
{
	(void)state;
	struct rw_profile p = mstsc();
	struct rw_probe_findings f;
	healthy(&f);
	f.n_suites = 1;
	f.suites[0].id = 0x009C;
	f.suites[0].version = 0x0303;
	snprintf(f.suites[0].name, sizeof(f.suites[0].name), "TLS_RSA_WITH_AES_128_GCM_SHA256");
	struct rw_probe_profile pp = connected(&p, RW_PROTO_HYBRID);
	pp.tls = RW_PO_REJECTED;
	pp.wire_cause = RW_CAUSE_TLS_CIPHER_MISMATCH;
	rw_probe_judge(&f, &pp);
	assert_int_equal(pp.verdict, RW_PV_FAILS);
	assert_int_equal(pp.cause, RW_CAUSE_TLS_CIPHER_MISMATCH);
	assert_non_null(strstr(pp.fix, "TLS_RSA_WITH_AES_128_GCM_SHA256"));
}

static void test_certificate(void **state)
{
	(void)state;
	struct rw_profile p = mstsc();
	struct rw_probe_findings f;
	healthy(&f);
	f.cert.expired = true;
	f.cert.trusted = false;
	struct rw_probe_profile pp = connected(&p, RW_PROTO_HYBRID);
	rw_probe_judge(&f, &pp);
	assert_int_equal(pp.verdict, RW_PV_WARNS);
	assert_int_equal(pp.cause, RW_CAUSE_CERTIFICATE_EXPIRED);
	p.cert_policy = RW_CERT_REFUSE;
	rw_probe_judge(&f, &pp);
	assert_int_equal(pp.verdict, RW_PV_FAILS);
	healthy(&f);
	f.cert.name_match = 0;
	rw_probe_judge(&f, &pp);
	assert_int_equal(pp.cause, RW_CAUSE_CERTIFICATE_REJECTED_BY_CLIENT);
	f.n_profiles = 1;
	f.profiles[0] = pp;
	assert_int_equal(rw_probe_exit_status(&f), 1);
}

static void test_clock_skew(void **state)
{
	(void)state;
	struct rw_profile p = mstsc();
	struct rw_probe_findings f;
	healthy(&f);
	f.nla.offset_us = -601LL * 1000000;
	f.cert.trusted = false; /* a warning does not hide the refusal */
	struct rw_probe_profile pp = connected(&p, RW_PROTO_HYBRID);
	rw_probe_judge(&f, &pp);
	assert_int_equal(pp.verdict, RW_PV_FAILS);
	assert_int_equal(pp.cause, RW_CAUSE_CLOCK_SKEW);
	assert_non_null(strstr(pp.why, "601 s behind"));
	/* NTLM clients do not care. */
	p.kerberos = false;
	rw_probe_judge(&f, &pp);
	assert_int_not_equal(pp.cause, RW_CAUSE_CLOCK_SKEW);
	/* Nor does a client that the host let in with TLS only. */
	p.kerberos = true;
	pp = connected(&p, RW_PROTO_SSL);
	f.cert.trusted = true;
	rw_probe_judge(&f, &pp);
	assert_int_equal(pp.verdict, RW_PV_CONNECTS);
	/* Within 300 s is in time. */
	f.nla.offset_us = 299LL * 1000000;
	pp = connected(&p, RW_PROTO_HYBRID);
	rw_probe_judge(&f, &pp);
	assert_int_equal(pp.verdict, RW_PV_CONNECTS);
}

static void test_standard_rdp_and_budget(void **state)
{
	(void)state;
	struct rw_profile p = mstsc();
	struct rw_probe_findings f;
	healthy(&f);
	struct rw_probe_profile pp = connected(&p, RW_PROTO_RDP);
	pp.tls = RW_PO_NOT_RUN;
	rw_probe_judge(&f, &pp);
	assert_int_equal(pp.verdict, RW_PV_WARNS);
	/* The host chose a protocol the client never asked for. */
	p.requested_protocols = RW_PROTO_SSL;
	pp = connected(&p, RW_PROTO_HYBRID);
	rw_probe_judge(&f, &pp);
	assert_int_equal(pp.cause, RW_CAUSE_SECURITY_NEGOTIATION_FAILURE);
	/* Not tried at all: unknown, never "connects". */
	struct rw_probe_profile none = {.profile = &p};
	rw_probe_judge(&f, &none);
	assert_int_equal(none.verdict, RW_PV_UNKNOWN);
	f.n_profiles = 1;
	f.profiles[0] = none;
	assert_int_equal(rw_probe_exit_status(&f), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_connects),
	        cmocka_unit_test(test_tcp_refused),
	        cmocka_unit_test(test_neg_failure),
	        cmocka_unit_test(test_version_mismatch),
	        cmocka_unit_test(test_no_tls_at_all),
	        cmocka_unit_test(test_x224_unanswered),
	        cmocka_unit_test(test_cipher_mismatch),
	        cmocka_unit_test(test_certificate),
	        cmocka_unit_test(test_clock_skew),
	        cmocka_unit_test(test_standard_rdp_and_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
