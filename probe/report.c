/* The probe's findings as text (a compact matrix for a terminal) and as
 * JSON lines (one for the host, one per client profile, with the same
 * cause codes and remediation as replay's records). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "json.h"
#include "mcs.h"
#include "probe.h"
#include "session.h"
#include "x224.h"

static const char *const layer_names[RW_PROBE_LAYERS] = {"rdp", "ssl", "hybrid", "hybrid_ex",
                                                         "rdstls"};

static void when(int64_t us, char *out, size_t cap)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *proto_or(uint32_t v)
{
	const char *n = rw_proto_name(v);
	return n ? n : "?";
}

/* "ok", "ok -> ssl" (host chose another), "failure hybrid_required_by_server", "closed" */
static void layer_text(const struct rw_probe_layer *l, char *out, size_t cap)
{
	if (l->outcome == RW_PO_OK) {
		if (l->bare_cc || l->selected == l->requested)
			snprintf(out, cap, "yes");
		else
			snprintf(out, cap, "no (chose %s)", proto_or(l->selected));
	} else if (l->neg_failure) {
		const char *c = rw_neg_failure_name(l->failure_code);
		snprintf(out, cap, "no (%s)", c ? c : "failure");
	} else {
		snprintf(out, cap, "%s", rw_probe_outcome_name(l->outcome));
	}
}

static void text_host(const struct rw_probe_findings *f, struct rw_buf *o)
{
	char t[32];
	when(f->started_us, t, sizeof(t));
	rw_buf_printf(o, "rdpwhy probe %s:%u (%s)  %s  %u connections%s\n", f->opts.host,
	              f->opts.port, f->address, t, f->connections,
	              f->budget_hit ? " (budget reached: some steps not run)" : "");
	rw_buf_printf(o, "  tcp          %s", rw_probe_outcome_name(f->tcp));
	if (f->tcp == RW_PO_OK || f->tcp == RW_PO_REFUSED)
		rw_buf_printf(o, " in %u ms", f->tcp_ms);
	rw_buf_puts(o, "\n");
	if (f->tcp != RW_PO_OK)
		return;
	rw_buf_puts(o, "  security    ");
	for (int i = 0; i < RW_PROBE_LAYERS; i++) {
		char s[80];
		layer_text(&f->layers[i], s, sizeof(s));
		rw_buf_printf(o, " %s: %s%s", layer_names[i], s,
		              i + 1 < RW_PROBE_LAYERS ? "," : "\n");
	}
	if (f->tls_first)
		rw_buf_puts(
		        o,
		        "  tls first    the port answers a bare ClientHello with TLS: something in "
		        "front of the host terminates TLS (an RDP host wants X.224 first)\n");
	bool any_enc = false;
	for (int i = 0; i < RW_PROBE_ENC_METHODS; i++)
		any_enc |= f->enc[i].outcome != RW_PO_NOT_RUN;
	if (any_enc) {
		rw_buf_puts(o, "  rdp crypto  ");
		uint32_t level = 0;
		for (int i = 0; i < RW_PROBE_ENC_METHODS; i++) {
			const struct rw_probe_enc *e = &f->enc[i];
			const char *m = rw_encryption_method_name(e->method);
			rw_buf_printf(o, " %s: %s", m ? m : "?",
			              e->accepted                   ? "yes"
			              : e->outcome == RW_PO_NOT_RUN ? "not run"
			                                            : "no");
			if (e->accepted)
				level = e->level;
		}
		const char *ln = rw_encryption_level_name(level);
		rw_buf_printf(o, "  (level %s)\n", ln ? ln : "?");
	}
	rw_buf_puts(o, "  tls         ");
	if (!f->enc_via) {
		rw_buf_puts(o, " not tried: the host accepts no TLS-based security layer\n");
	} else {
		for (int i = 0; i < RW_PROBE_TLS_VERSIONS; i++) {
			const struct rw_probe_tls_version *v = &f->versions[i];
			rw_buf_printf(o, " %s: ", rw_tls_version_label(v->version));
			if (v->outcome == RW_PO_OK)
				rw_buf_puts(o, "yes");
			else if (v->outcome == RW_PO_NOT_RUN)
				rw_buf_puts(o, "not run");
			else
				rw_buf_printf(o, "no (%s)",
				              v->detail[0] ? v->detail
				                           : rw_probe_outcome_name(v->outcome));
			rw_buf_puts(o, i + 1 < RW_PROBE_TLS_VERSIONS ? "," : "\n");
		}
	}
	uint16_t shown = 0;
	for (size_t i = 0; i < f->n_suites; i++) {
		const struct rw_probe_suite *s = &f->suites[i];
		if (s->version != shown) {
			rw_buf_printf(o, "%s  suites %s  ", shown ? "\n" : "",
			              rw_tls_version_label(s->version));
			shown = s->version;
		} else {
			rw_buf_puts(o, ", ");
		}
		rw_buf_puts(o, s->name);
	}
	if (shown)
		rw_buf_printf(o, "%s\n", f->suites_cut ? " (cut: budget)" : "");
	const struct rw_probe_cert *c = &f->cert;
	if (c->seen) {
		char na[32];
		when(c->leaf.not_after * 1000000, na, sizeof(na));
		rw_buf_printf(o, "  certificate  %s; issuer %s; %s %d; %s; until %s (%s%ld days)\n",
		              c->leaf.subject, c->leaf.issuer, c->leaf.key_type, c->leaf.key_bits,
		              c->sig_alg, na, c->expired ? "EXPIRED " : "", c->days_left);
		rw_buf_printf(o, "               name %s: %s; chain %zu; %s%s\n",
		              f->opts.server_name ? f->opts.server_name : f->opts.host,
		              c->name_match == 1   ? "matches"
		              : c->name_match == 0 ? "DOES NOT MATCH"
		                                   : "not checked",
		              c->chain_len, c->trusted ? "trusted" : "not trusted: ",
		              c->trusted ? "" : c->verify_error);
	}
	const struct rw_probe_nla *n = &f->nla;
	if (n->outcome != RW_PO_NOT_RUN) {
		rw_buf_puts(o, "  nla          ");
		if (n->challenge) {
			const struct rw_ntlm_challenge *ch = &n->ch;
			rw_buf_printf(o, "NTLM %s\\%s (DNS %s, domain %s)", ch->nb_domain,
			              ch->nb_computer, ch->dns_computer[0] ? ch->dns_computer : "-",
			              ch->dns_domain[0] ? ch->dns_domain : "-");
			if (ch->has_version)
				rw_buf_printf(o, ", Windows %u.%u build %u", ch->os_major,
				              ch->os_minor, ch->os_build);
			if (n->has_offset) {
				long long s = (long long)(n->offset_us / 1000000);
				rw_buf_printf(o, ", clock %+lld s%s", s,
				              s > 300 || s < -300
				                      ? " (SKEW: Kerberos refuses > 300 s)"
				                      : "");
			}
			rw_buf_puts(o, "\n");
		} else if (n->error_reply) {
			rw_buf_printf(o, "TSRequest errorCode 0x%08x\n", n->error_code);
		} else {
			rw_buf_printf(o, "%s (%s)\n", rw_probe_outcome_name(n->outcome), n->detail);
		}
	}
}

void rw_probe_text(const struct rw_probe_findings *f, struct rw_buf *o)
{
	text_host(f, o);
	if (!f->n_profiles)
		return;
	rw_buf_puts(o, "\n  profile                   result    cause\n");
	for (size_t i = 0; i < f->n_profiles; i++) {
		const struct rw_probe_profile *pp = &f->profiles[i];
		rw_buf_printf(o, "  %-25s %-9s %s\n", pp->profile->id,
		              rw_probe_verdict_name(pp->verdict),
		              pp->verdict == RW_PV_CONNECTS || (pp->verdict == RW_PV_WARNS &&
		                                                pp->cause == RW_CAUSE_UNKNOWN)
		                      ? "-"
		                      : rw_cause_name(pp->cause));
		if (pp->why[0])
			rw_buf_printf(o, "      %s\n", pp->why);
		if (pp->not_offered)
			rw_buf_printf(
			        o, "      (%zu of its suites cannot be offered by this OpenSSL)\n",
			        pp->not_offered);
		if (pp->verdict != RW_PV_CONNECTS && pp->fix[0])
			rw_buf_printf(o, "      fix: %s\n", pp->fix);
	}
}

/* ---- JSON ---------------------------------------------------------------- */

static void common(struct rw_json *j, const struct rw_probe_findings *f, const char *kind)
{
	char t[32];
	when(f->started_us, t, sizeof(t));
	rw_json_kv_cstr(j, "@timestamp", t);
	rw_json_kv_cstr(j, "event.kind", "state");
	rw_json_kv_cstr(j, "event.category", "network");
	rw_json_kv_cstr(j, "event.type", "info");
	rw_json_kv_cstr(j, "event.dataset", kind);
	rw_json_kv_cstr(j, "destination.address", f->opts.host);
	rw_json_kv_cstr(j, "destination.ip", f->address);
	rw_json_kv_uint(j, "destination.port", f->opts.port);
}

static void json_layers(struct rw_json *j, const struct rw_probe_findings *f)
{
	rw_json_key(j, "rdpwhy.probe.security_layers");
	rw_json_begin_object(j);
	for (int i = 0; i < RW_PROBE_LAYERS; i++) {
		const struct rw_probe_layer *l = &f->layers[i];
		rw_json_key(j, layer_names[i]);
		rw_json_begin_object(j);
		rw_json_kv_cstr(j, "outcome", rw_probe_outcome_name(l->outcome));
		if (l->outcome == RW_PO_OK)
			rw_json_kv_cstr(j, "selected", l->bare_cc ? "rdp" : proto_or(l->selected));
		if (l->neg_failure) {
			const char *c = rw_neg_failure_name(l->failure_code);
			rw_json_kv_cstr(j, "neg_failure", c ? c : "unknown");
		}
		if (l->outcome != RW_PO_OK && l->outcome != RW_PO_NOT_RUN)
			rw_json_kv_cstr(j, "cause", rw_cause_name(l->cause));
		rw_json_end_object(j);
	}
	rw_json_end_object(j);
}

static void json_tls(struct rw_json *j, const struct rw_probe_findings *f)
{
	rw_json_key(j, "rdpwhy.probe.tls_versions");
	rw_json_begin_object(j);
	for (int i = 0; i < RW_PROBE_TLS_VERSIONS; i++) {
		const struct rw_probe_tls_version *v = &f->versions[i];
		rw_json_key(j, rw_tls_version_label(v->version));
		rw_json_begin_object(j);
		rw_json_kv_cstr(j, "outcome", rw_probe_outcome_name(v->outcome));
		if (v->outcome == RW_PO_OK)
			rw_json_kv_cstr(j, "cipher", v->cipher);
		else if (v->outcome != RW_PO_NOT_RUN) {
			rw_json_kv_cstr(j, "cause", rw_cause_name(v->cause));
			rw_json_kv_cstr(j, "detail", v->detail);
		}
		rw_json_end_object(j);
	}
	rw_json_end_object(j);
	rw_json_key(j, "rdpwhy.probe.tls_suites");
	rw_json_begin_array(j);
	for (size_t i = 0; i < f->n_suites; i++) {
		rw_json_begin_object(j);
		rw_json_kv_cstr(j, "name", f->suites[i].name);
		rw_json_kv_uint(j, "id", f->suites[i].id);
		rw_json_kv_cstr(j, "version", rw_tls_version_label(f->suites[i].version));
		rw_json_end_object(j);
	}
	rw_json_end_array(j);
	if (f->suites_cut)
		rw_json_kv_bool(j, "rdpwhy.probe.tls_suites_cut", true);
	const struct rw_probe_cert *c = &f->cert;
	if (!c->seen)
		return;
	char t[32];
	rw_json_kv_cstr(j, "tls.server.x509.subject.distinguished_name", c->leaf.subject);
	rw_json_kv_cstr(j, "tls.server.x509.issuer.distinguished_name", c->leaf.issuer);
	when(c->leaf.not_before * 1000000, t, sizeof(t));
	rw_json_kv_cstr(j, "tls.server.x509.not_before", t);
	when(c->leaf.not_after * 1000000, t, sizeof(t));
	rw_json_kv_cstr(j, "tls.server.x509.not_after", t);
	rw_json_kv_cstr(j, "tls.server.x509.public_key_algorithm", c->leaf.key_type);
	rw_json_kv_int(j, "tls.server.x509.public_key_size", c->leaf.key_bits);
	rw_json_kv_cstr(j, "tls.server.x509.signature_algorithm", c->sig_alg);
	rw_json_kv_cstr(j, "tls.server.hash.sha256", c->leaf.sha256_hex);
	rw_json_kv_int(j, "rdpwhy.probe.cert.days_left", c->days_left);
	rw_json_kv_bool(j, "rdpwhy.probe.cert.expired", c->expired || c->not_yet_valid);
	if (c->name_match >= 0)
		rw_json_kv_bool(j, "rdpwhy.probe.cert.name_match", c->name_match == 1);
	rw_json_kv_bool(j, "rdpwhy.probe.cert.trusted", c->trusted);
	if (!c->trusted)
		rw_json_kv_cstr(j, "rdpwhy.probe.cert.verify_error", c->verify_error);
	rw_json_kv_uint(j, "rdpwhy.tls.cert_chain_length", c->chain_len);
}

static void json_nla(struct rw_json *j, const struct rw_probe_findings *f)
{
	const struct rw_probe_nla *n = &f->nla;
	rw_json_kv_cstr(j, "rdpwhy.probe.nla", rw_probe_outcome_name(n->outcome));
	if (n->challenge) {
		const struct rw_ntlm_challenge *ch = &n->ch;
		static const char *const keys[] = {"rdp.nla.netbios_computer",
		                                   "rdp.nla.netbios_domain", "rdp.nla.dns_computer",
		                                   "rdp.nla.dns_domain", "rdp.nla.dns_tree"};
		const char *vals[] = {ch->nb_computer, ch->nb_domain, ch->dns_computer,
		                      ch->dns_domain, ch->dns_tree};
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (vals[i][0])
				rw_json_kv_cstr(j, keys[i], vals[i]);
		if (ch->has_version) {
			char v[32];
			snprintf(v, sizeof(v), "%u.%u.%u", ch->os_major, ch->os_minor,
			         ch->os_build);
			rw_json_kv_cstr(j, "rdp.nla.os_version", v);
		}
		if (n->has_offset)
			rw_json_kv_int(j, "rdp.nla.host_clock_offset_s", n->offset_us / 1000000);
	}
	if (n->error_reply)
		rw_json_kv_uint(j, "rdp.nla.error_code", n->error_code);
	if (n->outcome != RW_PO_OK && n->outcome != RW_PO_NOT_RUN)
		rw_json_kv_cstr(j, "rdpwhy.probe.nla_detail", n->detail);
}

static int json_host(const struct rw_probe_findings *f, struct rw_buf *out)
{
	struct rw_json j;
	rw_json_init(&j, out);
	rw_json_begin_object(&j);
	common(&j, f, "rdpwhy.probe.host");
	rw_json_kv_cstr(&j, "rdpwhy.probe.tcp", rw_probe_outcome_name(f->tcp));
	rw_json_kv_uint(&j, "rdpwhy.probe.tcp_ms", f->tcp_ms);
	rw_json_kv_uint(&j, "rdpwhy.probe.connections", f->connections);
	rw_json_kv_bool(&j, "rdpwhy.probe.budget_reached", f->budget_hit);
	if (f->tcp == RW_PO_OK) {
		json_layers(&j, f);
		rw_json_kv_bool(&j, "rdpwhy.probe.tls_first", f->tls_first);
		rw_json_key(&j, "rdpwhy.probe.rdp_encryption");
		rw_json_begin_object(&j);
		for (int i = 0; i < RW_PROBE_ENC_METHODS; i++) {
			const struct rw_probe_enc *e = &f->enc[i];
			const char *m = rw_encryption_method_name(e->method);
			rw_json_kv_cstr(&j, m ? m : "?",
			                e->accepted                   ? "accepted"
			                : e->outcome == RW_PO_NOT_RUN ? "not_run"
			                                              : "refused");
		}
		rw_json_end_object(&j);
		json_tls(&j, f);
		json_nla(&j, f);
	}
	rw_json_kv_cstr(&j, "rdpwhy.version", RDPWHY_VERSION);
	rw_json_end_object(&j);
	rw_buf_putc(out, '\n');
	return rw_json_finish(&j);
}

static int json_profile(const struct rw_probe_findings *f, const struct rw_probe_profile *pp,
                        struct rw_buf *out)
{
	struct rw_json j;
	rw_json_init(&j, out);
	rw_json_begin_object(&j);
	common(&j, f, "rdpwhy.probe.profile");
	rw_json_kv_cstr(&j, "rdpwhy.probe.profile", pp->profile->id);
	rw_json_kv_cstr(&j, "rdpwhy.probe.profile_name", pp->profile->name);
	rw_json_kv_cstr(&j, "rdpwhy.probe.result", rw_probe_verdict_name(pp->verdict));
	/* A warning without a failure cause (the host chose standard RDP
	 * security) is "none": the evidence says why it warns. */
	bool no_cause = pp->verdict == RW_PV_CONNECTS ||
	                (pp->verdict == RW_PV_WARNS && pp->cause == RW_CAUSE_UNKNOWN);
	rw_json_kv_cstr(&j, "rdpwhy.cause", no_cause ? "none" : rw_cause_name(pp->cause));
	rw_json_key(&j, "rdpwhy.evidence");
	rw_json_begin_array(&j);
	if (pp->why[0])
		rw_json_cstr(&j, pp->why);
	rw_json_end_array(&j);
	rw_json_kv_cstr(&j, "rdpwhy.remediation", pp->verdict == RW_PV_CONNECTS ? "" : pp->fix);
	if (pp->x224 == RW_PO_OK)
		rw_json_kv_cstr(&j, "rdp.selected_protocol", proto_or(pp->selected));
	if (pp->tls == RW_PO_OK) {
		rw_json_kv_cstr(&j, "tls.version", rw_tls_version_label(pp->version));
		rw_json_kv_cstr(&j, "tls.cipher", pp->cipher);
	}
	if (pp->not_offered)
		rw_json_kv_uint(&j, "rdpwhy.probe.suites_not_offered", pp->not_offered);
	rw_json_kv_cstr(&j, "rdpwhy.version", RDPWHY_VERSION);
	rw_json_end_object(&j);
	rw_buf_putc(out, '\n');
	return rw_json_finish(&j);
}

int rw_probe_json(const struct rw_probe_findings *f, struct rw_buf *out)
{
	int rc = json_host(f, out);
	for (size_t i = 0; i < f->n_profiles; i++)
		rc |= json_profile(f, &f->profiles[i], out);
	return rc;
}
