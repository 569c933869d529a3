/* The probe's steps, in the order an engineer would ask: is it there, which
 * security layers, which standard RDP encryption, which TLS versions and
 * suites, which certificate, who is it and what time does it think it is,
 * and would each known client get in. Each step is one paced connection
 * (suites: one per accepted suite, removing the host's pick each time). */
#include "probe.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "conn.h"
#include "credssp.h"
#include "mcs.h"
#include "x224.h"

struct run {
	const struct rw_probe_opts *o;
	struct rw_probe_findings *f;
	struct sockaddr_storage sa;
	socklen_t salen;
	struct timespec last;
	bool started;
};

static const uint32_t layer_protocols[RW_PROBE_LAYERS] = {
        RW_PROTO_RDP, RW_PROTO_SSL, RW_PROTO_HYBRID, RW_PROTO_HYBRID_EX, RW_PROTO_RDSTLS};
static const uint32_t enc_methods[RW_PROBE_ENC_METHODS] = {RW_ENC_40BIT, RW_ENC_56BIT,
                                                           RW_ENC_128BIT, RW_ENC_FIPS};
static const uint16_t tls_versions[RW_PROBE_TLS_VERSIONS] = {0x0301, 0x0302, 0x0303, 0x0304};

/* A budget, and a pause between connections: a probe must never look like
 * (or be) a flood to the host or the IDS in front of it. */
static bool next_connection(struct run *r)
{
	if (r->f->connections >= r->o->max_connections) {
		r->f->budget_hit = true;
		return false;
	}
	if (r->started && r->o->pace_ms) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		int64_t el = (now.tv_sec - r->last.tv_sec) * 1000 +
		             (now.tv_nsec - r->last.tv_nsec) / 1000000;
		if (el < (int64_t)r->o->pace_ms) {
			int64_t w = (int64_t)r->o->pace_ms - el;
			struct timespec d = {.tv_sec = w / 1000, .tv_nsec = (w % 1000) * 1000000};
			nanosleep(&d, NULL);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &r->last);
	r->started = true;
	r->f->connections++;
	return true;
}

static enum rw_probe_outcome open_conn(struct run *r, struct pconn *pc)
{
	unsigned ms;
	return pc_open(pc, (const struct sockaddr *)&r->sa, r->salen, r->o->timeout_ms,
	               r->o->clock_offset_us, &ms);
}

/* TPKT + X.224 Connection Request with a cookie and RDP_NEG_REQ
 * (MS-RDPBCGR 2.2.1.1): what every client sends first. */
static size_t build_cr(uint8_t *b, uint32_t requested)
{
	static const char cookie[] = "Cookie: mstshash=rdpwhy\r\n";
	size_t ck = sizeof(cookie) - 1;
	size_t len = 4 + 7 + ck + 8;
	b[0] = 3;
	b[1] = 0;
	b[2] = (uint8_t)(len >> 8);
	b[3] = (uint8_t)len;
	b[4] = (uint8_t)(len - 5); /* length indicator: the TPDU after itself */
	b[5] = RW_X224_CR;
	memset(b + 6, 0, 5); /* dst-ref, src-ref, class 0 */
	memcpy(b + 11, cookie, ck);
	uint8_t *n = b + 11 + ck;
	n[0] = 1; /* TYPE_RDP_NEG_REQ */
	n[1] = 0;
	n[2] = 8;
	n[3] = 0;
	n[4] = (uint8_t)requested;
	n[5] = (uint8_t)(requested >> 8);
	n[6] = (uint8_t)(requested >> 16);
	n[7] = (uint8_t)(requested >> 24);
	return len;
}

/* Sends the CR and reads the Connection Confirm. OK only for a CC. */
static enum rw_probe_outcome x224_exchange(struct pconn *pc, uint32_t requested,
                                           struct rw_probe_layer *out)
{
	uint8_t buf[512];
	size_t n = build_cr(buf, requested), len;
	memset(out, 0, sizeof(*out));
	out->requested = requested;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	enum rw_probe_outcome o = pc_send(pc, buf, n);
	if (o == RW_PO_OK)
		o = pc_read_tpkt(pc, buf, sizeof(buf), &len);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	out->ms = (unsigned)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
	if (o != RW_PO_OK)
		return out->outcome = o;
	struct rw_x224 x;
	if (rw_x224_parse(buf + 4, len - 4, &x) < 0 || x.code != RW_X224_CC) {
		snprintf(pc->err, sizeof(pc->err), "the answer is not an X.224 Connection Confirm");
		return out->outcome = RW_PO_NOT_RDP;
	}
	if (!x.neg_present) {
		out->bare_cc = true;
	} else if (x.neg_type == 2) {
		out->neg_rsp = true;
		out->selected = x.neg_value;
		out->rsp_flags = x.neg_flags;
	} else if (x.neg_type == 3) {
		out->neg_failure = true;
		out->failure_code = x.neg_value;
		return out->outcome = RW_PO_REJECTED;
	}
	return out->outcome = RW_PO_OK;
}

static bool layer_accepted(const struct rw_probe_layer *l)
{
	if (l->outcome != RW_PO_OK)
		return false;
	if (l->requested == RW_PROTO_RDP)
		return l->bare_cc || (l->neg_rsp && l->selected == RW_PROTO_RDP);
	return l->neg_rsp && l->selected == l->requested;
}

static enum rw_cause finish_cause(struct pconn *pc)
{
	pc_drain(pc, 300);
	struct rw_record *rec = pc_finish(pc);
	return rec->verdict.cause;
}

static void step_layers(struct run *r)
{
	for (int i = 0; i < RW_PROBE_LAYERS; i++) {
		struct rw_probe_layer *l = &r->f->layers[i];
		l->requested = layer_protocols[i];
		if (!next_connection(r))
			return;
		struct pconn pc;
		enum rw_probe_outcome o = open_conn(r, &pc);
		if (o != RW_PO_OK) {
			l->outcome = o;
			pc_free(&pc);
			continue;
		}
		x224_exchange(&pc, layer_protocols[i], l);
		l->cause = l->outcome == RW_PO_OK ? RW_CAUSE_UNKNOWN : finish_cause(&pc);
		if (l->outcome == RW_PO_REJECTED)
			l->cause = RW_CAUSE_SECURITY_NEGOTIATION_FAILURE;
		else if (l->outcome == RW_PO_TIMEOUT) /* the probe gave up, not a client */
			l->cause = RW_CAUSE_X224_NO_RESPONSE;
		else if (l->outcome == RW_PO_NOT_RDP)
			l->cause = RW_CAUSE_NOT_RDP;
		pc_free(&pc);
	}
}

/* Standard RDP security: which encryption methods the host's SC_SECURITY
 * picks when the client offers only one. */
static void step_encryption(struct run *r)
{
	const struct rw_probe_layer *l = &r->f->layers[0];
	for (int i = 0; i < RW_PROBE_ENC_METHODS; i++)
		r->f->enc[i].method = enc_methods[i];
	if (!layer_accepted(l))
		return;
	for (int i = 0; i < RW_PROBE_ENC_METHODS; i++) {
		struct rw_probe_enc *e = &r->f->enc[i];
		if (!next_connection(r))
			return;
		struct pconn pc;
		struct rw_probe_layer cc = {0};
		enum rw_probe_outcome o = open_conn(r, &pc);
		if (o == RW_PO_OK)
			o = x224_exchange(&pc, RW_PROTO_RDP, &cc);
		uint8_t buf[8192];
		size_t n = 0;
		if (o == RW_PO_OK) {
			n = rw_mcs_connect_initial(buf, sizeof(buf), e->method, RW_PROTO_RDP);
			o = n ? pc_send(&pc, buf, n) : RW_PO_ERROR;
		}
		if (o == RW_PO_OK)
			o = pc_read_tpkt(&pc, buf, sizeof(buf), &n);
		if (o == RW_PO_OK) {
			struct rw_mcs_connect_response rsp;
			if (rw_mcs_connect_response_parse(buf, n, &rsp) < 0) {
				o = RW_PO_NOT_RDP;
			} else if (rsp.has_sc_security) {
				e->accepted = rsp.encryption_method == e->method;
				e->level = rsp.encryption_level;
			}
		}
		/* A host that refuses a method closes or resets: that is an answer. */
		e->outcome = o;
		pc_drain(&pc, 50);
		pc_finish(&pc);
		pc_free(&pc);
	}
}

/* ---- TLS ------------------------------------------------------------------ */

static SSL_CTX *make_ctx(uint16_t min, uint16_t max, const char *ciphers, const char *suites13,
                         const char *groups, const char *sigalgs)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return NULL;
	/* The probe must be able to speak what old hosts and old clients speak
	 * (TLS 1.0, SHA-1, RSA key exchange, short keys), for itself alone. */
	SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_options(ctx, SSL_OP_LEGACY_SERVER_CONNECT | SSL_OP_NO_TICKET);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	bool ok =
	        SSL_CTX_set_min_proto_version(ctx, min) && SSL_CTX_set_max_proto_version(ctx, max);
	if (ok && ciphers) {
		char list[8192];
		snprintf(list, sizeof(list), "%s:@SECLEVEL=0", ciphers[0] ? ciphers : "-ALL");
		/* An empty ≤1.2 list is legal when only TLS 1.3 is offered. */
		ok = SSL_CTX_set_cipher_list(ctx, list) || max >= TLS1_3_VERSION;
		ERR_clear_error();
	}
	if (ok && suites13)
		ok = SSL_CTX_set_ciphersuites(ctx, suites13);
	if (ok && groups && groups[0])
		ok = SSL_CTX_set1_groups_list(ctx, groups);
	if (ok && sigalgs && sigalgs[0])
		ok = SSL_CTX_set1_sigalgs_list(ctx, sigalgs);
	if (!ok) {
		SSL_CTX_free(ctx);
		ERR_clear_error();
		return NULL;
	}
	return ctx;
}

static const char *sni_of(const struct run *r)
{
	return r->o->server_name ? r->o->server_name : r->o->host;
}

/* Connect, ask for `via`, and when the host selects a TLS-based protocol run
 * the handshake. *x224 and the returned outcome tell where it stopped. */
static enum rw_probe_outcome tls_conn(struct run *r, struct pconn *pc, uint32_t via, SSL_CTX *ctx,
                                      struct rw_probe_layer *cc)
{
	enum rw_probe_outcome o = open_conn(r, pc);
	memset(cc, 0, sizeof(*cc));
	if (o != RW_PO_OK)
		return cc->outcome = o;
	o = x224_exchange(pc, via, cc);
	if (o != RW_PO_OK)
		return o;
	if (!cc->neg_rsp || cc->selected == RW_PROTO_RDP) {
		snprintf(pc->err, sizeof(pc->err), "the host chose standard RDP security");
		return RW_PO_NOT_RUN;
	}
	return pc_tls_handshake(pc, ctx, sni_of(r));
}

static void cert_facts(struct run *r, SSL *ssl)
{
	struct rw_probe_cert *c = &r->f->cert;
	X509 *leaf = SSL_get1_peer_certificate(ssl);
	if (!leaf)
		return;
	unsigned char *der = NULL;
	int n = i2d_X509(leaf, &der);
	if (n > 0 && rw_cert_parse_der(der, (size_t)n, &c->leaf) >= 0) {
		c->seen = true;
		STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
		c->chain_len = chain ? (size_t)sk_X509_num(chain) : 1;
		int nid = X509_get_signature_nid(leaf);
		snprintf(c->sig_alg, sizeof(c->sig_alg), "%s",
		         nid != NID_undef ? OBJ_nid2ln(nid) : "unknown");
		int64_t now = (int64_t)(time(NULL) + r->o->clock_offset_us / 1000000);
		int64_t left = c->leaf.not_after - now;
		c->days_left = (long)(left >= 0 ? left / 86400 : -((-left + 86399) / 86400));
		c->expired = c->leaf.not_after < now;
		c->not_yet_valid = c->leaf.not_before > now;
		const char *name = sni_of(r);
		int m = X509_check_ip_asc(leaf, name, 0);
		if (m == -2) /* not an address: a host name */
			m = X509_check_host(leaf, name, 0, 0, NULL);
		c->name_match = m == 1 ? 1 : m == 0 ? 0 : -1;
		X509_STORE *store = X509_STORE_new();
		X509_STORE_CTX *vctx = X509_STORE_CTX_new();
		if (store && vctx &&
		    (r->o->ca_file ? X509_STORE_load_file(store, r->o->ca_file)
		                   : X509_STORE_set_default_paths(store)) &&
		    X509_STORE_CTX_init(vctx, store, leaf, chain)) {
			if (r->o->clock_offset_us)
				X509_STORE_CTX_set_time(vctx, 0, (time_t)now);
			c->trusted = X509_verify_cert(vctx) == 1;
			if (!c->trusted)
				snprintf(c->verify_error, sizeof(c->verify_error), "%s",
				         X509_verify_cert_error_string(
				                 X509_STORE_CTX_get_error(vctx)));
		} else {
			snprintf(c->verify_error, sizeof(c->verify_error),
			         "cannot load trust anchors");
		}
		X509_STORE_CTX_free(vctx);
		X509_STORE_free(store);
		ERR_clear_error();
	}
	OPENSSL_free(der);
	X509_free(leaf);
}

static void cipher_name(SSL *ssl, char *out, size_t cap)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	const char *n = c ? SSL_CIPHER_standard_name(c) : NULL;
	snprintf(out, cap, "%s", n ? n : (c ? SSL_CIPHER_get_name(c) : "?"));
}

/* The request TLS steps use: the plainest TLS-based protocol the host accepts. */
static uint32_t tls_via(const struct rw_probe_findings *f)
{
	static const int order[] = {1, 2, 3};
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (layer_accepted(&f->layers[order[i]]))
			return f->layers[order[i]].requested;
	return 0;
}

static void step_versions(struct run *r)
{
	struct rw_probe_findings *f = r->f;
	for (int i = 0; i < RW_PROBE_TLS_VERSIONS; i++)
		f->versions[i].version = tls_versions[i];
	f->enc_via = tls_via(f);
	if (!f->enc_via)
		return;
	for (int i = 0; i < RW_PROBE_TLS_VERSIONS; i++) {
		struct rw_probe_tls_version *v = &f->versions[i];
		if (!next_connection(r))
			return;
		SSL_CTX *ctx =
		        make_ctx(v->version, v->version, "ALL:COMPLEMENTOFALL", NULL, NULL, NULL);
		if (!ctx) {
			v->outcome = RW_PO_ERROR;
			snprintf(v->detail, sizeof(v->detail), "OpenSSL cannot offer TLS %s here",
			         rw_tls_version_label(v->version));
			continue;
		}
		struct pconn pc;
		struct rw_probe_layer cc = {0};
		v->outcome = tls_conn(r, &pc, f->enc_via, ctx, &cc);
		if (v->outcome == RW_PO_OK) {
			cipher_name(pc.ssl, v->cipher, sizeof(v->cipher));
			if (!f->cert.seen)
				cert_facts(r, pc.ssl);
			pc_finish(&pc);
		} else {
			snprintf(v->detail, sizeof(v->detail), "%s", pc.err);
			v->cause = finish_cause(&pc);
		}
		pc_free(&pc);
		SSL_CTX_free(ctx);
	}
}

/* Every ≤ 1.2 suite OpenSSL can offer at security level 0, by OpenSSL name. */
static size_t candidate_suites(char names[][64], uint16_t *ids, size_t cap, bool tls13)
{
	size_t k = 0;
	if (tls13) {
		static const struct {
			uint16_t id;
			const char *name;
		} s13[] = {{0x1301, "TLS_AES_128_GCM_SHA256"},
		           {0x1302, "TLS_AES_256_GCM_SHA384"},
		           {0x1303, "TLS_CHACHA20_POLY1305_SHA256"},
		           {0x1304, "TLS_AES_128_CCM_SHA256"},
		           {0x1305, "TLS_AES_128_CCM_8_SHA256"}};
		for (size_t i = 0; i < sizeof(s13) / sizeof(s13[0]) && k < cap; i++, k++) {
			snprintf(names[k], 64, "%s", s13[i].name);
			ids[k] = s13[i].id;
		}
		return k;
	}
	SSL_CTX *ctx =
	        make_ctx(TLS1_VERSION, TLS1_2_VERSION, "ALL:COMPLEMENTOFALL", NULL, NULL, NULL);
	if (!ctx)
		return 0;
	SSL *ssl = SSL_new(ctx);
	STACK_OF(SSL_CIPHER) *sk = ssl ? SSL_get1_supported_ciphers(ssl) : NULL;
	for (int i = 0; sk && i < sk_SSL_CIPHER_num(sk) && k < cap; i++) {
		const SSL_CIPHER *c = sk_SSL_CIPHER_value(sk, i);
		uint16_t id = (uint16_t)SSL_CIPHER_get_protocol_id(c);
		if ((id >> 8) == 0x13)
			continue;
		snprintf(names[k], 64, "%s", SSL_CIPHER_get_name(c));
		ids[k++] = id;
	}
	sk_SSL_CIPHER_free(sk);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return k;
}

static void enumerate_suites(struct run *r, uint16_t version)
{
	struct rw_probe_findings *f = r->f;
	bool t13 = version == TLS1_3_VERSION;
	char names[RW_PROBE_MAX_SUITES][64];
	uint16_t ids[RW_PROBE_MAX_SUITES];
	size_t n = candidate_suites(names, ids, RW_PROBE_MAX_SUITES, t13);
	while (n > 0 && f->n_suites < RW_PROBE_MAX_SUITES) {
		char list[8192] = "";
		size_t used = 0;
		for (size_t i = 0; i < n; i++)
			used += (size_t)snprintf(list + used,
			                         used < sizeof(list) ? sizeof(list) - used : 0,
			                         "%s%s", i ? ":" : "", names[i]);
		if (!next_connection(r)) {
			f->suites_cut = true;
			return;
		}
		SSL_CTX *ctx = t13 ? make_ctx(version, version, NULL, list, NULL, NULL)
		                   : make_ctx(version, version, list, NULL, NULL, NULL);
		if (!ctx)
			return;
		struct pconn pc;
		struct rw_probe_layer cc = {0};
		enum rw_probe_outcome o = tls_conn(r, &pc, f->enc_via, ctx, &cc);
		uint16_t got = 0;
		if (o == RW_PO_OK) {
			const SSL_CIPHER *c = SSL_get_current_cipher(pc.ssl);
			got = c ? (uint16_t)SSL_CIPHER_get_protocol_id(c) : 0;
			struct rw_probe_suite *s = &f->suites[f->n_suites++];
			s->id = got;
			s->version = version;
			cipher_name(pc.ssl, s->name, sizeof(s->name));
			pc_finish(&pc);
		} else {
			pc_drain(&pc, 50);
			pc_finish(&pc);
		}
		pc_free(&pc);
		SSL_CTX_free(ctx);
		if (o != RW_PO_OK)
			return;
		size_t j = 0;
		for (size_t i = 0; i < n; i++)
			if (ids[i] != got) {
				memmove(names[j], names[i], 64);
				ids[j++] = ids[i];
			}
		if (j == n)
			return; /* the host chose something we did not offer: stop */
		n = j;
	}
}

static void step_suites(struct run *r)
{
	uint16_t best12 = 0;
	bool has13 = false;
	for (int i = 0; i < RW_PROBE_TLS_VERSIONS; i++) {
		const struct rw_probe_tls_version *v = &r->f->versions[i];
		if (v->outcome != RW_PO_OK)
			continue;
		if (v->version == 0x0304)
			has13 = true;
		else
			best12 = v->version;
	}
	if (has13)
		enumerate_suites(r, TLS1_3_VERSION);
	if (best12)
		enumerate_suites(r, best12);
}

/* No Connection Request was answered: does something on the port speak
 * TLS from the first byte, as a load balancer that terminates TLS does? */
static void step_tls_first(struct run *r)
{
	struct rw_probe_findings *f = r->f;
	for (int i = 0; i < RW_PROBE_LAYERS; i++)
		if (f->layers[i].outcome == RW_PO_OK || f->layers[i].outcome == RW_PO_REJECTED)
			return;
	if (!next_connection(r))
		return;
	SSL_CTX *ctx =
	        make_ctx(TLS1_VERSION, TLS1_3_VERSION, "ALL:COMPLEMENTOFALL", NULL, NULL, NULL);
	struct pconn pc = {.fd = -1};
	if (ctx && open_conn(r, &pc) == RW_PO_OK) {
		enum rw_probe_outcome o = pc_tls_handshake(&pc, ctx, sni_of(r));
		struct rw_record *rec = pc_finish(&pc);
		/* A ServerHello is enough: whatever came next, TLS answered. */
		f->tls_first = o == RW_PO_OK || rec->server_hello_seen;
		f->tls_first_tried = true;
		/* No TLS either: the tap's low-confidence reading of a quick close
		 * after a Connection Request (a TLS-first middlebox) is refuted. */
		for (int i = 0; i < RW_PROBE_LAYERS && !f->tls_first; i++)
			if (f->layers[i].cause == RW_CAUSE_TLS_TERMINATING_MIDDLEBOX)
				f->layers[i].cause = RW_CAUSE_X224_CLOSED_BY_SERVER;
		if (o == RW_PO_OK && !f->cert.seen)
			cert_facts(r, pc.ssl);
	}
	pc_free(&pc);
	SSL_CTX_free(ctx);
}

/* ---- NLA ------------------------------------------------------------------ */

static const uint8_t ntlmssp_sig[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};

static void step_nla(struct run *r)
{
	struct rw_probe_findings *f = r->f;
	struct rw_probe_nla *nla = &f->nla;
	uint32_t via = layer_accepted(&f->layers[2])   ? RW_PROTO_HYBRID
	               : layer_accepted(&f->layers[3]) ? RW_PROTO_HYBRID_EX
	                                               : 0;
	if (!via || !next_connection(r))
		return;
	SSL_CTX *ctx =
	        make_ctx(TLS1_VERSION, TLS1_3_VERSION, "ALL:COMPLEMENTOFALL", NULL, NULL, NULL);
	if (!ctx) {
		nla->outcome = RW_PO_ERROR;
		return;
	}
	struct pconn pc;
	struct rw_probe_layer cc = {0};
	enum rw_probe_outcome o = tls_conn(r, &pc, via, ctx, &cc);
	if (o == RW_PO_OK && !f->cert.seen)
		cert_facts(r, pc.ssl);
	uint8_t neg[64], req[256], in[16384];
	size_t nn = rw_ntlm_negotiate(neg, sizeof(neg)), rn = 0, len = 0;
	if (o == RW_PO_OK) {
		rn = rw_tsrequest_build(req, sizeof(req), 6, neg, nn);
		o = nn && rn ? pc_tls_write(&pc, req, rn) : RW_PO_ERROR;
	}
	struct rw_tsrequest ts;
	int pr = RW_E_NEED_MORE;
	while (o == RW_PO_OK && pr == RW_E_NEED_MORE) {
		o = pc_tls_read(&pc, in, sizeof(in), &len);
		if (o == RW_PO_OK)
			pr = rw_tsrequest_parse(in, len, &ts);
	}
	uint64_t at = pc_now_us(&pc);
	if (o == RW_PO_OK && pr < 0) {
		o = RW_PO_NOT_RDP;
		snprintf(nla->detail, sizeof(nla->detail), "the answer is not a TSRequest (%s)",
		         rw_status_name(pr));
	}
	if (o == RW_PO_OK) {
		nla->credssp_version = ts.version;
		if (ts.has_error_code) {
			nla->error_reply = true;
			nla->error_code = ts.error_code;
			o = RW_PO_REJECTED;
		} else if (ts.nego_token) {
			/* CredSSP carries raw NTLM; a host that wraps it in SPNEGO still
			 * holds the NTLMSSP message inside. */
			const uint8_t *t = ts.nego_token;
			size_t tn = ts.nego_token_len;
			const uint8_t *m = memmem(t, tn, ntlmssp_sig, sizeof(ntlmssp_sig));
			if (m && rw_ntlm_challenge_parse(m, tn - (size_t)(m - t), &nla->ch) >= 0) {
				nla->challenge = true;
				if (nla->ch.has_timestamp) {
					int64_t host = rw_filetime_to_unix_us(nla->ch.timestamp);
					nla->has_offset = true;
					nla->offset_us = host - (int64_t)at;
					rw_session_host_clock(pc.s, at, host);
				}
			} else {
				o = RW_PO_NOT_RDP;
				snprintf(nla->detail, sizeof(nla->detail),
				         "no NTLM CHALLENGE_MESSAGE in the host's TSRequest");
			}
		}
	}
	if (o != RW_PO_OK && !nla->detail[0])
		snprintf(nla->detail, sizeof(nla->detail), "%s", pc.err);
	nla->outcome = o;
	pc_finish(&pc);
	pc_free(&pc);
	SSL_CTX_free(ctx);
}

/* ---- profiles --------------------------------------------------------------- */

/* The profile's suites as OpenSSL lists (≤ 1.2 names, TLS 1.3 names); counts
 * the ones this OpenSSL cannot offer. */
static void profile_lists(const struct rw_profile *p, char *l12, size_t c12, char *l13, size_t c13,
                          size_t *missing)
{
	char names[RW_PROBE_MAX_SUITES][64];
	uint16_t ids[RW_PROBE_MAX_SUITES];
	size_t n = candidate_suites(names, ids, RW_PROBE_MAX_SUITES, false);
	size_t u12 = 0, u13 = 0;
	l12[0] = l13[0] = '\0';
	*missing = 0;
	for (size_t i = 0; i < p->n_suites; i++) {
		uint16_t id = p->suites[i];
		const char *name = NULL;
		bool t13 = (id >> 8) == 0x13;
		if (t13) {
			static const char *const n13[] = {NULL,
			                                  "TLS_AES_128_GCM_SHA256",
			                                  "TLS_AES_256_GCM_SHA384",
			                                  "TLS_CHACHA20_POLY1305_SHA256",
			                                  "TLS_AES_128_CCM_SHA256",
			                                  "TLS_AES_128_CCM_8_SHA256"};
			if ((id & 0xff) >= 1 && (id & 0xff) <= 5)
				name = n13[id & 0xff];
		} else {
			for (size_t k = 0; k < n && !name; k++)
				if (ids[k] == id)
					name = names[k];
		}
		if (!name) {
			(*missing)++;
			continue;
		}
		if (t13)
			u13 += (size_t)snprintf(l13 + u13, u13 < c13 ? c13 - u13 : 0, "%s%s",
			                        u13 ? ":" : "", name);
		else
			u12 += (size_t)snprintf(l12 + u12, u12 < c12 ? c12 - u12 : 0, "%s%s",
			                        u12 ? ":" : "", name);
	}
}

static void step_profile(struct run *r, struct rw_probe_profile *pp)
{
	const struct rw_profile *p = pp->profile;
	if (r->f->tcp != RW_PO_OK || !next_connection(r))
		return;
	struct pconn pc;
	struct rw_probe_layer cc = {0};
	enum rw_probe_outcome o = open_conn(r, &pc);
	if (o == RW_PO_OK)
		o = x224_exchange(&pc, p->requested_protocols, &cc);
	pp->x224 = o;
	pp->neg_failure = cc.neg_failure;
	pp->failure_code = cc.failure_code;
	pp->selected = cc.neg_rsp ? cc.selected : RW_PROTO_RDP;
	if (o == RW_PO_OK && cc.neg_rsp && cc.selected != RW_PROTO_RDP) {
		char l12[8192], l13[512];
		l12[0] = l13[0] = '\0';
		profile_lists(p, l12, sizeof(l12), l13, sizeof(l13), &pp->not_offered);
		uint16_t lo = p->n_tls_versions ? p->tls_versions[0] : TLS1_2_VERSION;
		uint16_t hi = p->n_tls_versions ? p->tls_versions[p->n_tls_versions - 1] : lo;
		SSL_CTX *ctx = make_ctx(lo, hi, l12, l13, p->groups, p->sigalgs);
		if (!ctx) {
			pp->tls = RW_PO_ERROR;
			snprintf(pp->detail, sizeof(pp->detail),
			         "OpenSSL cannot offer this profile's TLS settings");
		} else {
			pp->tls = pc_tls_handshake(&pc, ctx, sni_of(r));
			if (pp->tls == RW_PO_OK) {
				pp->version = (uint16_t)SSL_version(pc.ssl);
				cipher_name(pc.ssl, pp->cipher, sizeof(pp->cipher));
			} else {
				snprintf(pp->detail, sizeof(pp->detail), "%s", pc.err);
			}
			SSL_CTX_free(ctx);
		}
		o = pp->tls;
	} else if (o != RW_PO_OK) {
		snprintf(pp->detail, sizeof(pp->detail), "%s", pc.err);
	}
	pp->wire_cause = o == RW_PO_OK ? RW_CAUSE_UNKNOWN : finish_cause(&pc);
	if (o == RW_PO_OK)
		pc_finish(&pc);
	pc_free(&pc);
}

/* ---- the run ----------------------------------------------------------------- */

int rw_probe_run(const struct rw_probe_opts *opts, const struct rw_profile *profiles,
                 size_t n_profiles, struct rw_probe_findings *f, char *err, size_t errlen)
{
	memset(f, 0, sizeof(*f));
	f->opts = *opts;
	struct run r = {.o = &f->opts, .f = f};
	f->started_us = (int64_t)pc_now_us(NULL) + opts->clock_offset_us;

	char port[8];
	snprintf(port, sizeof(port), "%u", opts->port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC}, *ai = NULL;
	int g = getaddrinfo(opts->host, port, &hints, &ai);
	if (g != 0 || !ai) {
		snprintf(err, errlen, "cannot resolve %s: %s", opts->host, gai_strerror(g));
		return -1;
	}
	memcpy(&r.sa, ai->ai_addr, ai->ai_addrlen);
	r.salen = ai->ai_addrlen;
	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, f->address, sizeof(f->address), NULL, 0,
	                NI_NUMERICHOST) != 0)
		snprintf(f->address, sizeof(f->address), "?");
	freeaddrinfo(ai);

	/* TCP first: nothing else is worth trying against a closed port. */
	next_connection(&r);
	struct pconn pc;
	f->tcp = pc_open(&pc, (const struct sockaddr *)&r.sa, r.salen, opts->timeout_ms,
	                 opts->clock_offset_us, &f->tcp_ms);
	pc_finish(&pc);
	pc_free(&pc);

	/* The suite list is the only open-ended step (one connection per
	 * accepted suite): it runs last, on what the budget leaves. */
	f->n_profiles = n_profiles < RW_PROBE_MAX_PROFILES ? n_profiles : RW_PROBE_MAX_PROFILES;
	if (f->tcp == RW_PO_OK) {
		step_layers(&r);
		step_tls_first(&r);
		step_encryption(&r);
		step_versions(&r);
		step_nla(&r);
		for (size_t i = 0; i < f->n_profiles; i++) {
			f->profiles[i].profile = &profiles[i];
			step_profile(&r, &f->profiles[i]);
		}
		step_suites(&r);
	}
	for (size_t i = 0; i < f->n_profiles; i++) {
		f->profiles[i].profile = &profiles[i];
		rw_probe_judge(f, &f->profiles[i]);
	}
	return 0;
}

int rw_probe_exit_status(const struct rw_probe_findings *f)
{
	for (size_t i = 0; i < f->n_profiles; i++)
		if (f->profiles[i].verdict != RW_PV_CONNECTS)
			return 1;
	return f->tcp == RW_PO_OK ? 0 : 1;
}
