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

/* The keys go through a path writer: dotted as they are (flat) or as nested
 * objects; each prefix's keys come in one run (ECS, rdp, tls, rdpwhy), as
 * in the connection records. */
struct pj {
	struct rw_json j;
	struct rw_json_path p;
};

static void key(struct pj *w, const char *k)
{
	rw_json_path_key(&w->p, k);
}
static void kv_cstr(struct pj *w, const char *k, const char *v)
{
	key(w, k);
	rw_json_cstr(&w->j, v);
}
static void kv_uint(struct pj *w, const char *k, uint64_t v)
{
	key(w, k);
	rw_json_uint(&w->j, v);
}
static void kv_int(struct pj *w, const char *k, int64_t v)
{
	key(w, k);
	rw_json_int(&w->j, v);
}
static void kv_bool(struct pj *w, const char *k, bool v)
{
	key(w, k);
	rw_json_bool(&w->j, v);
}

static void begin(struct pj *w, struct rw_buf *out, bool nested)
{
	rw_json_init(&w->j, out);
	rw_json_path_init(&w->p, &w->j, nested);
	rw_json_begin_object(&w->j);
}
static int end(struct pj *w, struct rw_buf *out)
{
	kv_cstr(w, "rdpwhy.version", RDPWHY_VERSION);
	rw_json_path_end(&w->p);
	rw_json_end_object(&w->j);
	rw_buf_putc(out, '\n');
	return rw_json_finish(&w->j);
}

static void common(struct pj *w, const struct rw_probe_findings *f, const char *kind)
{
	char t[32];
	when(f->started_us, t, sizeof(t));
	kv_cstr(w, "@timestamp", t);
	kv_cstr(w, "event.kind", "state");
	kv_cstr(w, "event.category", "network");
	kv_cstr(w, "event.type", "info");
	kv_cstr(w, "event.dataset", kind);
	kv_cstr(w, "destination.address", f->opts.host);
	kv_cstr(w, "destination.ip", f->address);
	kv_uint(w, "destination.port", f->opts.port);
}

static void json_layers(struct pj *w, const struct rw_probe_findings *f)
{
	struct rw_json *j = &w->j;
	key(w, "rdpwhy.probe.security_layers");
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

static void json_encryption(struct pj *w, const struct rw_probe_findings *f)
{
	key(w, "rdpwhy.probe.rdp_encryption");
	rw_json_begin_object(&w->j);
	for (int i = 0; i < RW_PROBE_ENC_METHODS; i++) {
		const struct rw_probe_enc *e = &f->enc[i];
		const char *m = rw_encryption_method_name(e->method);
		rw_json_kv_cstr(&w->j, m ? m : "?",
		                e->accepted                   ? "accepted"
		                : e->outcome == RW_PO_NOT_RUN ? "not_run"
		                                              : "refused");
	}
	rw_json_end_object(&w->j);
}

static void json_tls(struct pj *w, const struct rw_probe_findings *f)
{
	struct rw_json *j = &w->j;
	key(w, "rdpwhy.probe.tls_versions");
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
	key(w, "rdpwhy.probe.tls_suites");
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
		kv_bool(w, "rdpwhy.probe.tls_suites_cut", true);
}

/* The certificate as in the connection records (tls.server.*). */
static void json_cert_tls(struct pj *w, const struct rw_probe_cert *c)
{
	char t[32];
	kv_cstr(w, "tls.server.x509.subject.distinguished_name", c->leaf.subject);
	kv_cstr(w, "tls.server.x509.issuer.distinguished_name", c->leaf.issuer);
	when(c->leaf.not_before * 1000000, t, sizeof(t));
	kv_cstr(w, "tls.server.x509.not_before", t);
	when(c->leaf.not_after * 1000000, t, sizeof(t));
	kv_cstr(w, "tls.server.x509.not_after", t);
	kv_cstr(w, "tls.server.x509.public_key_algorithm", c->leaf.key_type);
	kv_int(w, "tls.server.x509.public_key_size", c->leaf.key_bits);
	kv_cstr(w, "tls.server.x509.signature_algorithm", c->sig_alg);
	kv_cstr(w, "tls.server.hash.sha256", c->leaf.sha256_hex);
}

/* What the probe judged of it (rdpwhy.probe.cert.*). */
static void json_cert_judged(struct pj *w, const struct rw_probe_cert *c)
{
	kv_int(w, "rdpwhy.probe.cert.days_left", c->days_left);
	kv_bool(w, "rdpwhy.probe.cert.expired", c->expired || c->not_yet_valid);
	if (c->name_match >= 0)
		kv_bool(w, "rdpwhy.probe.cert.name_match", c->name_match == 1);
	kv_bool(w, "rdpwhy.probe.cert.trusted", c->trusted);
	if (!c->trusted)
		kv_cstr(w, "rdpwhy.probe.cert.verify_error", c->verify_error);
}

/* The host's NTLM identity and clock (rdp.nla.*). */
static void json_nla_rdp(struct pj *w, const struct rw_probe_nla *n)
{
	if (n->challenge) {
		const struct rw_ntlm_challenge *ch = &n->ch;
		static const char *const keys[] = {"rdp.nla.netbios_computer",
		                                   "rdp.nla.netbios_domain", "rdp.nla.dns_computer",
		                                   "rdp.nla.dns_domain", "rdp.nla.dns_tree"};
		const char *vals[] = {ch->nb_computer, ch->nb_domain, ch->dns_computer,
		                      ch->dns_domain, ch->dns_tree};
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (vals[i][0])
				kv_cstr(w, keys[i], vals[i]);
		if (ch->has_version) {
			char v[32];
			snprintf(v, sizeof(v), "%u.%u.%u", ch->os_major, ch->os_minor,
			         ch->os_build);
			kv_cstr(w, "rdp.nla.os_version", v);
		}
		if (n->has_offset)
			kv_int(w, "rdp.nla.host_clock_offset_s", n->offset_us / 1000000);
	}
	if (n->error_reply)
		kv_uint(w, "rdp.nla.error_code", n->error_code);
}

static int json_host(const struct rw_probe_findings *f, bool nested, struct rw_buf *out)
{
	struct pj w;
	begin(&w, out, nested);
	common(&w, f, "rdpwhy.probe.host");
	bool up = f->tcp == RW_PO_OK;
	if (up)
		json_nla_rdp(&w, &f->nla);
	if (up && f->cert.seen)
		json_cert_tls(&w, &f->cert);
	kv_cstr(&w, "rdpwhy.probe.tcp", rw_probe_outcome_name(f->tcp));
	kv_uint(&w, "rdpwhy.probe.tcp_ms", f->tcp_ms);
	kv_uint(&w, "rdpwhy.probe.connections", f->connections);
	kv_bool(&w, "rdpwhy.probe.budget_reached", f->budget_hit);
	if (up) {
		json_layers(&w, f);
		kv_bool(&w, "rdpwhy.probe.tls_first", f->tls_first);
		json_encryption(&w, f);
		json_tls(&w, f);
		if (f->cert.seen)
			json_cert_judged(&w, &f->cert);
		const struct rw_probe_nla *n = &f->nla;
		kv_cstr(&w, "rdpwhy.probe.nla", rw_probe_outcome_name(n->outcome));
		if (n->outcome != RW_PO_OK && n->outcome != RW_PO_NOT_RUN)
			kv_cstr(&w, "rdpwhy.probe.nla_detail", n->detail);
		if (f->cert.seen)
			kv_uint(&w, "rdpwhy.tls.cert_chain_length", f->cert.chain_len);
	}
	return end(&w, out);
}

static int json_profile(const struct rw_probe_findings *f, const struct rw_probe_profile *pp,
                        bool nested, struct rw_buf *out)
{
	struct pj w;
	begin(&w, out, nested);
	common(&w, f, "rdpwhy.probe.profile");
	if (pp->x224 == RW_PO_OK)
		kv_cstr(&w, "rdp.selected_protocol", proto_or(pp->selected));
	if (pp->tls == RW_PO_OK) {
		kv_cstr(&w, "tls.version", rw_tls_version_label(pp->version));
		kv_cstr(&w, "tls.cipher", pp->cipher);
	}
	kv_cstr(&w, "rdpwhy.probe.profile", pp->profile->id);
	kv_cstr(&w, "rdpwhy.probe.profile_name", pp->profile->name);
	kv_cstr(&w, "rdpwhy.probe.result", rw_probe_verdict_name(pp->verdict));
	if (pp->not_offered)
		kv_uint(&w, "rdpwhy.probe.suites_not_offered", pp->not_offered);
	/* A warning without a failure cause (the host chose standard RDP
	 * security) is "none": the evidence says why it warns. */
	bool no_cause = pp->verdict == RW_PV_CONNECTS ||
	                (pp->verdict == RW_PV_WARNS && pp->cause == RW_CAUSE_UNKNOWN);
	kv_cstr(&w, "rdpwhy.cause", no_cause ? "none" : rw_cause_name(pp->cause));
	key(&w, "rdpwhy.evidence");
	rw_json_begin_array(&w.j);
	if (pp->why[0])
		rw_json_cstr(&w.j, pp->why);
	rw_json_end_array(&w.j);
	kv_cstr(&w, "rdpwhy.remediation", pp->verdict == RW_PV_CONNECTS ? "" : pp->fix);
	return end(&w, out);
}

int rw_probe_json(const struct rw_probe_findings *f, bool nested, struct rw_buf *out)
{
	int rc = json_host(f, nested, out);
	for (size_t i = 0; i < f->n_profiles; i++)
		rc |= json_profile(f, &f->profiles[i], nested, out);
	return rc;
}
