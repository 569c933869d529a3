/* Would this client get in? From its own connection (security layer, TLS
 * handshake with its exact offer) and the host-wide findings (certificate,
 * clock), one verdict, one cause code and one setting to change. Pure. */
#include <stdio.h>
#include <string.h>

#include "probe.h"
#include "session.h"
#include "tls_hello.h"
#include "x224.h"

const char *rw_probe_outcome_name(enum rw_probe_outcome o)
{
	static const char *const names[] = {
	        [RW_PO_NOT_RUN] = "not_run",
	        [RW_PO_OK] = "ok",
	        [RW_PO_REFUSED] = "refused",
	        [RW_PO_DROPPED] = "dropped",
	        [RW_PO_UNREACHABLE] = "unreachable",
	        [RW_PO_CLOSED] = "closed",
	        [RW_PO_RESET] = "reset",
	        [RW_PO_TIMEOUT] = "timeout",
	        [RW_PO_REJECTED] = "rejected",
	        [RW_PO_NOT_RDP] = "not_rdp",
	        [RW_PO_ERROR] = "error",
	};
	return (unsigned)o < sizeof(names) / sizeof(names[0]) ? names[o] : "error";
}

const char *rw_probe_verdict_name(enum rw_probe_verdict v)
{
	switch (v) {
	case RW_PV_CONNECTS:
		return "connects";
	case RW_PV_WARNS:
		return "warns";
	case RW_PV_FAILS:
		return "fails";
	default:
		return "unknown";
	}
}

const char *rw_tls_version_label(uint16_t v)
{
	const char *n = rw_tls_version_name(v);
	return n ? n : "?";
}

static size_t version_list(char *out, size_t cap, const uint16_t *v, size_t n)
{
	size_t k = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		k += (size_t)snprintf(out + k, k < cap ? cap - k : 0, "%s%s", i ? ", " : "",
		                      rw_tls_version_label(v[i]));
	return k;
}

static void host_versions(const struct rw_probe_findings *f, char *out, size_t cap)
{
	uint16_t v[RW_PROBE_TLS_VERSIONS];
	size_t n = 0;
	for (int i = 0; i < RW_PROBE_TLS_VERSIONS; i++)
		if (f->versions[i].outcome == RW_PO_OK)
			v[n++] = f->versions[i].version;
	if (!n)
		snprintf(out, cap, "none");
	else
		version_list(out, cap, v, n);
}

static bool shares_version(const struct rw_probe_findings *f, const struct rw_profile *p)
{
	bool any_known = false;
	for (int i = 0; i < RW_PROBE_TLS_VERSIONS; i++) {
		const struct rw_probe_tls_version *v = &f->versions[i];
		/* A refusal says nothing about versions unless it was one (the
		 * analyzers' cause): a host that cannot do TLS at all refuses
		 * every version alike, with no version to blame. */
		if (v->outcome != RW_PO_OK && v->cause != RW_CAUSE_TLS_PROTOCOL_VERSION_MISMATCH)
			continue;
		any_known = true;
		for (size_t k = 0; k < p->n_tls_versions; k++)
			if (p->tls_versions[k] == v->version && v->outcome == RW_PO_OK)
				return true;
	}
	return !any_known; /* not measured: do not blame versions */
}

static void fail_fix_neg(struct rw_probe_profile *pp, const struct rw_profile *p)
{
	const char *code = rw_neg_failure_name(pp->failure_code);
	snprintf(pp->why, sizeof(pp->why), "the host answered RDP_NEG_FAILURE %s",
	         code ? code : "(unknown code)");
	switch (pp->failure_code) {
	case 1: /* SSL_REQUIRED_BY_SERVER */
		snprintf(pp->fix, sizeof(pp->fix),
		         "The host requires TLS: let %s request it (FreeRDP /sec:tls; mstsc always "
		         "does unless its security layer is forced to RDP), or set the host's "
		         "SecurityLayer to Negotiate (xrdp security_layer=negotiate).",
		         p->name);
		break;
	case 2: /* SSL_NOT_ALLOWED_BY_SERVER */
		snprintf(pp->fix, sizeof(pp->fix),
		         "The host allows only standard RDP security: set its SecurityLayer to "
		         "Negotiate or TLS (RDP-Tcp SecurityLayer=1/2; xrdp "
		         "security_layer=negotiate).");
		break;
	case 3: /* SSL_CERT_NOT_ON_SERVER */
		snprintf(pp->fix, sizeof(pp->fix),
		         "The host has no usable RDP certificate: let it create its self-signed "
		         "one or bind one (Remote Desktop certificate, xrdp "
		         "certificate=/key_file=).");
		break;
	case 5: /* HYBRID_REQUIRED_BY_SERVER */
		snprintf(pp->fix, sizeof(pp->fix),
		         "The host requires NLA: enable CredSSP on %s (FreeRDP /sec:nla; mstsc "
		         "'enablecredsspsupport:i:1'), or on the host allow connections without "
		         "NLA (UserAuthentication=0).",
		         p->name);
		break;
	default:
		snprintf(pp->fix, sizeof(pp->fix), "%s",
		         rw_cause_remediation(RW_CAUSE_SECURITY_NEGOTIATION_FAILURE));
	}
}

static void fail_fix_tls(const struct rw_probe_findings *f, struct rw_probe_profile *pp,
                         const struct rw_profile *p)
{
	char hv[48], pv[48];
	host_versions(f, hv, sizeof(hv));
	version_list(pv, sizeof(pv), p->tls_versions, p->n_tls_versions);
	if (!shares_version(f, p)) {
		pp->cause = RW_CAUSE_TLS_PROTOCOL_VERSION_MISMATCH;
		snprintf(pp->fix, sizeof(pp->fix),
		         "No common TLS version: the host accepts %s, %s offers %s. Enable TLS 1.2 "
		         "on "
		         "the host (Schannel SCHANNEL\\Protocols\\TLS 1.2\\Server Enabled=1; xrdp "
		         "ssl_protocols=TLSv1.2, TLSv1.3) or allow the host's version on the "
		         "client.",
		         hv, p->name, pv);
		return;
	}
	if (pp->wire_cause == RW_CAUSE_TLS_CIPHER_MISMATCH ||
	    (pp->wire_cause != RW_CAUSE_TLS_PROTOCOL_VERSION_MISMATCH && f->n_suites > 0)) {
		/* Versions agree; the suites do not (the host's alert, or a close
		 * without one, which Schannel does). */
		pp->cause = RW_CAUSE_TLS_CIPHER_MISMATCH;
		const char *hs = f->n_suites ? f->suites[0].name : "?";
		snprintf(pp->fix, sizeof(pp->fix),
		         "No common cipher suite: the host picks e.g. %s, which %s does not offer. "
		         "Enable a suite %s offers on the host (Windows: SSL Cipher Suite Order "
		         "policy; xrdp: tls_ciphers), or on the client.",
		         hs, p->name, p->name);
		return;
	}
	pp->cause = pp->wire_cause != RW_CAUSE_UNKNOWN ? pp->wire_cause : RW_CAUSE_TLS_ALERT;
	snprintf(pp->fix, sizeof(pp->fix), "%s", rw_cause_remediation(pp->cause));
}

void rw_probe_judge(const struct rw_probe_findings *f, struct rw_probe_profile *pp)
{
	const struct rw_profile *p = pp->profile;
	pp->verdict = RW_PV_FAILS;
	pp->cause = RW_CAUSE_UNKNOWN;
	pp->why[0] = pp->fix[0] = '\0';
	if (f->tcp != RW_PO_OK) {
		pp->cause = f->tcp == RW_PO_REFUSED ? RW_CAUSE_UPSTREAM_REFUSED
		                                    : RW_CAUSE_UPSTREAM_UNREACHABLE;
		snprintf(pp->why, sizeof(pp->why), "TCP %s", rw_probe_outcome_name(f->tcp));
		snprintf(pp->fix, sizeof(pp->fix), "%s", rw_cause_remediation(pp->cause));
		if (f->tcp == RW_PO_ERROR)
			pp->verdict = RW_PV_UNKNOWN;
		return;
	}
	if (pp->x224 == RW_PO_NOT_RUN) {
		pp->verdict = RW_PV_UNKNOWN;
		snprintf(pp->why, sizeof(pp->why), "not tried: the connection budget ran out");
		return;
	}
	if (pp->x224 != RW_PO_OK) {
		if (pp->neg_failure) {
			pp->cause = RW_CAUSE_SECURITY_NEGOTIATION_FAILURE;
			fail_fix_neg(pp, p);
			return;
		}
		/* A timeout is the probe giving up on a silent host (which the tap,
		 * under 3 s, takes for a client that cancelled); an answer that is
		 * not TPKT is something else on the port; a quick close that the tap
		 * reads as a TLS-first middlebox is not one when the probe's own
		 * bare ClientHello got no TLS either. */
		if (f->tls_first)
			pp->cause = RW_CAUSE_TLS_TERMINATING_MIDDLEBOX;
		else if (pp->x224 == RW_PO_TIMEOUT)
			pp->cause = RW_CAUSE_X224_NO_RESPONSE;
		else if (pp->x224 == RW_PO_NOT_RDP)
			pp->cause = RW_CAUSE_NOT_RDP;
		else if (pp->wire_cause != RW_CAUSE_UNKNOWN &&
		         !(pp->wire_cause == RW_CAUSE_TLS_TERMINATING_MIDDLEBOX &&
		           f->tls_first_tried))
			pp->cause = pp->wire_cause;
		else
			pp->cause = RW_CAUSE_X224_CLOSED_BY_SERVER;
		snprintf(pp->why, sizeof(pp->why), "the Connection Request was not answered: %s",
		         pp->detail);
		snprintf(pp->fix, sizeof(pp->fix), "%s", rw_cause_remediation(pp->cause));
		return;
	}
	if (pp->selected != RW_PROTO_RDP && !(pp->selected & p->requested_protocols)) {
		pp->cause = RW_CAUSE_SECURITY_NEGOTIATION_FAILURE;
		snprintf(pp->why, sizeof(pp->why), "the host selected %s, which %s did not request",
		         rw_proto_name(pp->selected) ? rw_proto_name(pp->selected) : "?", p->name);
		snprintf(pp->fix, sizeof(pp->fix), "%s",
		         rw_cause_remediation(RW_CAUSE_SECURITY_NEGOTIATION_FAILURE));
		return;
	}
	if (pp->selected == RW_PROTO_RDP) {
		pp->verdict = RW_PV_WARNS;
		snprintf(pp->why, sizeof(pp->why),
		         "the host chose standard RDP security: no server authentication, the "
		         "client warns (or refuses when its policy requires TLS or NLA)");
		snprintf(
		        pp->fix, sizeof(pp->fix),
		        "Set the host's security layer to Negotiate or TLS (RDP-Tcp SecurityLayer; "
		        "xrdp security_layer=negotiate) so clients can authenticate it.");
		return;
	}
	if (pp->tls != RW_PO_OK) {
		snprintf(pp->why, sizeof(pp->why), "TLS handshake %s: %s",
		         rw_probe_outcome_name(pp->tls), pp->detail);
		fail_fix_tls(f, pp, p);
		return;
	}
	/* The handshake went through with this client's offer. A refusal
	 * (the clock) outranks a warning (the certificate). */
	bool nla = pp->selected == RW_PROTO_HYBRID || pp->selected == RW_PROTO_HYBRID_EX;
	const struct rw_probe_nla *n = &f->nla;
	if (nla && n->has_offset && p->kerberos &&
	    (n->offset_us > 300LL * 1000000 || n->offset_us < -300LL * 1000000)) {
		pp->cause = RW_CAUSE_CLOCK_SKEW;
		snprintf(pp->why, sizeof(pp->why),
		         "TLS %s %s, NLA; the host's clock is %lld s %s: Kerberos refuses it",
		         rw_tls_version_label(pp->version), pp->cipher,
		         (long long)((n->offset_us < 0 ? -n->offset_us : n->offset_us) / 1000000),
		         n->offset_us < 0 ? "behind" : "ahead");
		snprintf(pp->fix, sizeof(pp->fix), "%s", rw_cause_remediation(RW_CAUSE_CLOCK_SKEW));
		return;
	}
	const struct rw_probe_cert *c = &f->cert;
	if (c->seen && (c->expired || c->not_yet_valid || !c->trusted || c->name_match == 0)) {
		pp->cause = c->expired || c->not_yet_valid
		                    ? RW_CAUSE_CERTIFICATE_EXPIRED
		                    : RW_CAUSE_CERTIFICATE_REJECTED_BY_CLIENT;
		pp->verdict = p->cert_policy == RW_CERT_REFUSE ? RW_PV_FAILS : RW_PV_WARNS;
		snprintf(pp->why, sizeof(pp->why), "TLS %s %s; the certificate %s",
		         rw_tls_version_label(pp->version), pp->cipher,
		         c->expired           ? "has expired"
		         : c->not_yet_valid   ? "is not valid yet"
		         : c->name_match == 0 ? "does not name the host"
		                              : "is not trusted here");
		snprintf(pp->fix, sizeof(pp->fix), "%s", rw_cause_remediation(pp->cause));
		return;
	}
	pp->verdict = RW_PV_CONNECTS;
	snprintf(pp->why, sizeof(pp->why), "%s, TLS %s %s",
	         rw_proto_name(pp->selected) ? rw_proto_name(pp->selected) : "?",
	         rw_tls_version_label(pp->version), pp->cipher);
}
