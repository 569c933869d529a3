/* The text report: a handful of lines someone woken at 3 a.m. can read at a
 * glance. Layout:
 *
 *   10.0.0.1:50000 -> 10.0.0.2:3389  2026-11-24 17:05:03.123 UTC  duration 1.234 s
 *     cause      certificate_rejected_by_client   (closed by client, fin, in tls_handshake)
 *     fix        <remediation>
 *     confidence high|medium|low
 *     could be   <other causes>; to tell: <how>   (when the wire fits more than one)
 *     timeline   +0.000 ms tcp_connect, +0.412 ms x224, +1.300 ms tls_handshake
 *     rdp        cookie "alice", requested ssl,hybrid, selected ssl
 *     tls        1.2 TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, sni "x", alert from client: unknown_ca
 *     cert       CN=host (issuer CN=host) valid 2026-01-01 .. 2027-01-01, self-signed
 *                sha1 <hex>
 *                sha256 <hex>
 *     evidence   - fact one
 *                - fact two
 *     ladder     client                 server   (ladder_text.c: one line per flight)
 *     bytes      client 1234, server 5678
 *
 * Lines without facts are left out. */
#include "record_format.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "credssp.h"
#include "json.h"
#include "kerberos.h"
#include "ladder.h"
#include "rdp_pdu.h"
#include "rw_types.h"
#include "tls_hello.h"
#include "x224.h"

#define INDENT "  "
#define CONT   "             " /* continuation: under the value column */

/* Code points that would let a hostile string forge a line or reorder the
 * text on screen (Unicode line separators and bidirectional controls). */
static bool deceptive(uint32_t cp)
{
	return (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202E) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
}

/* Wire bytes for a terminal: printable ASCII and harmless UTF-8 as they are,
 * everything else as \xhh per byte, a backslash doubled so that \xhh is never
 * ambiguous, and '"' escaped inside a quoted string. */
static int esc(struct rw_buf *b, const void *src, size_t n, bool quoted)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = src;
	size_t mark = b->len;
	size_t i = 0;
	while (i < n) {
		/* The fast path: a run of printable ASCII that stays as it is,
		 * copied at once. */
		size_t run = i;
		while (i < n && p[i] >= 0x20 && p[i] < 0x7F && p[i] != '\\' &&
		       !(quoted && p[i] == '"'))
			i++;
		if (i > run && rw_buf_add(b, p + run, i - run) < 0) {
			rw_buf_truncate(b, mark);
			return -1;
		}
		if (i == n)
			break;
		uint32_t cp;
		size_t len = rw_utf8_seq(p + i, n - i, &cp);
		bool plain = len > 0 && cp >= 0x20 && cp != 0x7F && !(cp >= 0x80 && cp < 0xA0) &&
		             !deceptive(cp) && cp != '\\' && !(quoted && cp == '"');
		int r;
		if (plain) {
			r = rw_buf_add(b, p + i, len);
		} else if (len > 0 && (cp == '\\' || cp == '"')) {
			char e[2] = {'\\', (char)cp};
			r = rw_buf_add(b, e, 2);
		} else {
			if (len == 0)
				len = 1;
			r = 0;
			for (size_t k = 0; k < len && r == 0; k++) {
				char e[4] = {'\\', 'x', hex[p[i + k] >> 4], hex[p[i + k] & 0xF]};
				r = rw_buf_add(b, e, 4);
			}
		}
		if (r < 0) {
			rw_buf_truncate(b, mark);
			return -1;
		}
		i += len;
	}
	return 0;
}

/* Output state: the first failure sticks and stops all later writes. */
struct text {
	struct rw_buf *b;
	int err;
	bool colour; /* ECMA-48 SGR codes: a terminal that asked for them */
};

#define SGR_BAD   "\033[1;31m" /* bold red */
#define SGR_GOOD  "\033[32m"   /* green */
#define SGR_WARN  "\033[33m"   /* yellow */
#define SGR_RESET "\033[0m"

static void puts_(struct text *t, const char *s)
{
	if (!t->err)
		t->err = rw_buf_add(t->b, s, strlen(s));
}

static void put_n(struct text *t, const char *s, size_t n)
{
	if (!t->err)
		t->err = rw_buf_add(t->b, s, n);
}

/* v in decimal, at least `width` digits (zero-padded): "%0*" PRIu64. */
static void put_uint(struct text *t, uint64_t v, size_t width)
{
	char d[24], *e = d + sizeof(d), *b = rw_u64_digits(v, e);
	while ((size_t)(e - b) < width && b > d)
		*--b = '0';
	put_n(t, b, (size_t)(e - b));
}

static void RW_PRINTF(2, 3) printf_(struct text *t, const char *fmt, ...)
{
	if (t->err)
		return;
	va_list ap;
	va_start(ap, fmt);
	t->err = rw_buf_vprintf(t->b, fmt, ap);
	va_end(ap);
}

static void paint(struct text *t, const char *sgr)
{
	if (t->colour && sgr[0])
		puts_(t, sgr);
}

static void raw(struct text *t, const void *p, size_t n)
{
	if (!t->err)
		t->err = esc(t->b, p, n, false);
}

static void quoted(struct text *t, const void *p, size_t n)
{
	puts_(t, "\"");
	if (!t->err)
		t->err = esc(t->b, p, n, true);
	puts_(t, "\"");
}

/* Separator between the parts of one line: nothing before the first. */
static void sep(struct text *t, bool *first)
{
	if (!*first)
		puts_(t, ", ");
	*first = false;
}

static void endpoint(struct text *t, const struct rw_endpoint *ep)
{
	char ip[RW_IP_STR_MAX];
	if (!rw_format_ip(ep, ip))
		puts_(t, "?");
	else if (ep->family == 10) {
		put_n(t, "[", 1);
		puts_(t, ip);
		put_n(t, "]:", 2);
		put_uint(t, ep->port, 1);
	} else {
		puts_(t, ip);
		put_n(t, ":", 1);
		put_uint(t, ep->port, 1);
	}
}

static void date(struct text *t, int64_t sec)
{
	struct tm tm;
	if (rw_format_utc(sec, &tm))
		printf_(t, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	else
		puts_(t, "?");
}

/* Sub-10 ms delays with microseconds (LAN), longer ones in whole ms. */
static void ms(struct text *t, uint64_t us)
{
	if (us < 10000) {
		put_uint(t, us / 1000, 1);
		put_n(t, ".", 1);
		put_uint(t, us % 1000, 3);
	} else {
		put_uint(t, us / 1000, 1);
	}
	put_n(t, " ms", 3);
}

static void head_line(struct text *t, const struct rw_record *rec)
{
	endpoint(t, &rec->client);
	puts_(t, " -> ");
	endpoint(t, &rec->server);
	struct tm tm;
	if (rw_format_utc((int64_t)(rec->ts_open_us / 1000000), &tm)) {
		/* "  %04d-%02d-%02d %02d:%02d:%02d.%03u UTC" (years 0..9999) */
		put_n(t, "  ", 2);
		put_uint(t, (uint64_t)(tm.tm_year + 1900), 4);
		put_n(t, "-", 1);
		put_uint(t, (uint64_t)(tm.tm_mon + 1), 2);
		put_n(t, "-", 1);
		put_uint(t, (uint64_t)tm.tm_mday, 2);
		put_n(t, " ", 1);
		put_uint(t, (uint64_t)tm.tm_hour, 2);
		put_n(t, ":", 1);
		put_uint(t, (uint64_t)tm.tm_min, 2);
		put_n(t, ":", 1);
		put_uint(t, (uint64_t)tm.tm_sec, 2);
		put_n(t, ".", 1);
		put_uint(t, rec->ts_open_us % 1000000 / 1000, 3);
		put_n(t, " UTC", 4);
	}
	if (rec->ts_close_us >= rec->ts_open_us && rec->ts_close_us != 0) {
		uint64_t d = rec->ts_close_us - rec->ts_open_us;
		put_n(t, "  duration ", 11);
		put_uint(t, d / 1000000, 1);
		put_n(t, ".", 1);
		put_uint(t, d % 1000000 / 1000, 3);
		put_n(t, " s", 2);
	}
	puts_(t, "\n");
}

static void verdict_lines(struct text *t, const struct rw_record *rec)
{
	const struct rw_verdict *v = &rec->verdict;
	/* Colour marks the one word a tired eye looks for; the padding stays
	 * outside the escape codes so that the columns line up either way. */
	const char *name = rw_cause_name(v->cause);
	int pad = 30 - (int)strlen(name);
	puts_(t, INDENT "cause      ");
	paint(t, v->cause == RW_CAUSE_NORMAL_CLOSE ? SGR_GOOD : SGR_BAD);
	puts_(t, name);
	paint(t, SGR_RESET);
	static const char spaces[] = "                              "; /* 30 */
	put_n(t, spaces, pad > 0 ? (size_t)pad : 0);
	put_n(t, "   (", 4);
	if (v->closed_by == RW_SIDE_NONE) {
		puts_(t, "not closed");
	} else {
		puts_(t, "closed by ");
		puts_(t, rw_side_name(v->closed_by));
		put_n(t, ", ", 2);
		puts_(t, rw_close_kind_name(v->close_kind));
	}
	puts_(t, ", in ");
	puts_(t, rw_phase_name(v->phase));
	put_n(t, ")\n", 2);
	if (v->remediation && v->remediation[0]) {
		puts_(t, INDENT "fix        ");
		raw(t, v->remediation, strlen(v->remediation));
		puts_(t, "\n");
	}
	puts_(t, INDENT "confidence ");
	paint(t, v->confidence == RW_CONFIDENCE_LOW ? SGR_WARN : "");
	puts_(t, rw_confidence_name(v->confidence));
	paint(t, v->confidence == RW_CONFIDENCE_LOW ? SGR_RESET : "");
	puts_(t, "\n");
	if (v->n_alternatives) {
		puts_(t, INDENT "could be   ");
		for (size_t i = 0; i < v->n_alternatives && i < RW_MAX_ALTERNATIVES; i++)
			printf_(t, "%s%s", i ? ", " : "", rw_cause_name(v->alternatives[i]));
		if (v->tell_apart) {
			puts_(t, "; to tell: ");
			raw(t, v->tell_apart, strlen(v->tell_apart));
		}
		puts_(t, "\n");
	} else if (v->tell_apart) {
		puts_(t, INDENT "to confirm ");
		raw(t, v->tell_apart, strlen(v->tell_apart));
		puts_(t, "\n");
	}
}

static void timeline_line(struct text *t, const struct rw_record *rec)
{
	bool first = true;
	for (int p = 0; p < RW_PHASE_COUNT; p++) {
		if (!rw_record_shows_phase(rec, (enum rw_phase)p))
			continue;
		if (first)
			puts_(t, INDENT "timeline   ");
		sep(t, &first);
		uint64_t ts = rec->phase_ts_us[p];
		puts_(t, "+");
		ms(t, ts > rec->ts_open_us ? ts - rec->ts_open_us : 0);
		put_n(t, " ", 1);
		puts_(t, rw_phase_name((enum rw_phase)p));
	}
	if (!first)
		puts_(t, "\n");
}

static void rdp_line(struct text *t, const struct rw_record *rec)
{
	if (!rec->cr_seen && !rec->cc_seen && !(rec->token && rec->token_len))
		return;
	bool first = true;
	puts_(t, INDENT "rdp        ");
	if (rec->token && rec->token_len &&
	    (rec->token_kind == RW_TOKEN_COOKIE || rec->token_kind == RW_TOKEN_ROUTING)) {
		sep(t, &first);
		puts_(t, rec->token_kind == RW_TOKEN_COOKIE ? "cookie " : "routing token ");
		quoted(t, rec->token, rec->token_len);
	}
	if (rec->cr_seen && !rec->cr_inferred) {
		const char *names[8];
		size_t n = rw_proto_names(rec->requested_protocols, names);
		sep(t, &first);
		puts_(t, "requested ");
		for (size_t i = 0; i < n && i < 8; i++)
			printf_(t, "%s%s", i ? "," : "", names[i] ? names[i] : "unknown");
	}
	if (rec->neg_rsp_present) {
		const char *name = rw_proto_name(rec->selected_protocol);
		sep(t, &first);
		if (name)
			printf_(t, "selected %s", name);
		else
			printf_(t, "selected 0x%08" PRIX32, rec->selected_protocol);
	} else if (rec->cc_seen && !rec->neg_failure_present) {
		sep(t, &first);
		puts_(t, "selected rdp (no RDP_NEG_RSP: standard RDP security)");
	}
	if (rec->neg_failure_present) {
		const char *name = rw_neg_failure_name(rec->neg_failure_code);
		sep(t, &first);
		if (name)
			printf_(t, "failure %s", name);
		else
			printf_(t, "failure 0x%08" PRIX32, rec->neg_failure_code);
	}
	if (rec->cr_seen && !rec->cc_seen) {
		sep(t, &first);
		puts_(t, rec->cc_inferred ? "confirm not captured" : "no confirm");
	}
	puts_(t, "\n");
}

static void tls_line(struct text *t, const struct rw_record *rec)
{
	enum rw_dir from;
	const struct rw_alert *a = rw_format_first_alert(rec, &from);
	if (!rec->client_hello_seen && !rec->server_hello_seen && !rec->sslv2_client_hello && !a)
		return;
	bool first = true;
	char tmp[8], tmp2[8];
	puts_(t, INDENT "tls        ");
	if (rec->server_hello_seen) {
		sep(t, &first);
		puts_(t, rw_format_tls_version(rec->sh.version, tmp));
		put_n(t, " ", 1);
		puts_(t, rw_format_cipher(rec->sh.cipher, tmp2));
	} else if (rec->client_hello_seen) {
		/* No answer: what the client offered is what the server refused. */
		const struct rw_tls_client_hello *ch = &rec->ch;
		sep(t, &first);
		puts_(t, "client offered ");
		size_t n =
		        ch->n_versions < RW_TLS_MAX_VERSIONS ? ch->n_versions : RW_TLS_MAX_VERSIONS;
		bool any = false;
		for (size_t i = 0; i < n; i++) {
			if (rw_tls_is_grease(ch->versions[i]))
				continue;
			if (any)
				put_n(t, ",", 1);
			puts_(t, rw_format_tls_version(ch->versions[i], tmp));
			any = true;
		}
		if (!any)
			puts_(t, rw_format_tls_version(ch->legacy_version, tmp));
		puts_(t, " with ");
		put_uint(t, ch->n_ciphers, 1);
		puts_(t, " cipher suites");
	}
	if (rec->sslv2_client_hello) {
		sep(t, &first);
		puts_(t, "SSLv2 ClientHello");
	}
	if (rec->client_hello_seen && rec->ch.has_sni) {
		size_t n = rec->ch.sni_len < sizeof(rec->ch.sni) ? rec->ch.sni_len
		                                                 : sizeof(rec->ch.sni);
		sep(t, &first);
		puts_(t, "sni ");
		quoted(t, rec->ch.sni, n);
	}
	if (a) {
		sep(t, &first);
		printf_(t, "alert from %s: %s", from == RW_C2S ? "client" : "server",
		        rw_format_alert_desc(a, tmp));
	}
	if (rw_record_tls_established(rec)) {
		sep(t, &first);
		puts_(t, "established");
	}
	puts_(t, "\n");
}

/* Inspection with the host's key: the host's own codes (never credentials). */
static void inspect_line(struct text *t, const struct rw_record *rec)
{
	const struct rw_inspect_facts *f = &rec->inspect;
	if (!f->inspected)
		return;
	bool first = true;
	puts_(t, INDENT "inspected  ");
	if (f->has_ntstatus) {
		const char *n = rw_ntstatus_name(f->ntstatus);
		sep(t, &first);
		printf_(t, "errorCode 0x%08" PRIX32 " %s", f->ntstatus, n ? n : "(undocumented)");
	}
	if (f->has_krb_error) {
		const char *n = rw_krb_error_name(f->krb_error);
		sep(t, &first);
		printf_(t, "KRB-ERROR %s", n ? n : "(undocumented)");
		struct tm tm;
		if (f->has_krb_stime && rw_format_utc(f->krb_stime_us / 1000000, &tm))
			printf_(t, " host time %04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
			        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	}
	if (f->has_error_info) {
		const char *n = rw_errinfo_name(f->error_info);
		sep(t, &first);
		printf_(t, "errorInfo 0x%" PRIX32 " %s", f->error_info, n ? n : "(undocumented)");
	}
	if (f->has_early_auth) {
		sep(t, &first);
		puts_(t,
		      f->early_auth == RW_AUTHZ_SUCCESS ? "AUTHZ_SUCCESS" : "AUTHZ_ACCESS_DENIED");
	}
	if (f->logon_seen) {
		sep(t, &first);
		puts_(t, "logon notified");
	}
	if (first)
		puts_(t, f->credssp ? "CredSSP seen, no error code" : "nothing decoded yet");
	puts_(t, "\n");
}

static void cert_lines(struct text *t, const struct rw_record *rec)
{
	const struct rw_cert *c = &rec->cert;
	if (!rec->certificate_seen)
		return;
	puts_(t, INDENT "cert       ");
	if (c->subject_cn[0]) {
		puts_(t, "CN=");
		raw(t, c->subject_cn, strnlen(c->subject_cn, sizeof(c->subject_cn)));
	} else {
		raw(t, c->subject, strnlen(c->subject, sizeof(c->subject)));
	}
	if (c->issuer_cn[0]) {
		puts_(t, " (issuer CN=");
		raw(t, c->issuer_cn, strnlen(c->issuer_cn, sizeof(c->issuer_cn)));
		puts_(t, ")");
	} else if (c->issuer[0]) {
		puts_(t, " (issuer ");
		raw(t, c->issuer, strnlen(c->issuer, sizeof(c->issuer)));
		puts_(t, ")");
	}
	puts_(t, " valid ");
	date(t, c->not_before);
	puts_(t, " .. ");
	date(t, c->not_after);
	int64_t now = (int64_t)(rec->ts_open_us / 1000000);
	if (c->not_after < now)
		puts_(t, ", EXPIRED at connection time");
	else if (c->not_before > now)
		puts_(t, ", NOT YET VALID at connection time");
	if (c->self_signed)
		puts_(t, ", self-signed");
	puts_(t, "\n");
	size_t n = c->n_san < RW_CERT_MAX_SAN ? c->n_san : RW_CERT_MAX_SAN;
	for (size_t i = 0; i < n; i++) {
		puts_(t, i ? ", " : CONT "names ");
		raw(t, c->san[i], strnlen(c->san[i], sizeof(c->san[i])));
	}
	if (n)
		puts_(t, c->n_san > n ? ", ...\n" : "\n");
	/* sha1 is what Windows calls the thumbprint (certlm, the RDP listener's
	 * SSLCertificateSHA1Hash): print it the same way, upper case. */
	const char *h[2] = {c->sha1_hex, c->sha256_hex};
	const char *label[2] = {"sha1 ", "sha256 "};
	size_t hsize[2] = {sizeof(c->sha1_hex), sizeof(c->sha256_hex)};
	for (int k = 0; k < 2; k++) {
		size_t len = strnlen(h[k], hsize[k]);
		if (!len)
			continue;
		char up[72];
		if (len >= sizeof(up))
			continue;
		for (size_t i = 0; i < len; i++) {
			char ch = h[k][i];
			up[i] = ch >= 'a' && ch <= 'f' ? (char)(ch - 'a' + 'A') : ch;
		}
		up[len] = '\0';
		puts_(t, CONT);
		puts_(t, label[k]);
		raw(t, up, len);
		puts_(t, "\n");
	}
}

static void evidence_lines(struct text *t, const struct rw_record *rec)
{
	const struct rw_verdict *v = &rec->verdict;
	for (size_t i = 0; i < v->n_evidence && i < RW_MAX_EVIDENCE; i++) {
		puts_(t, i ? CONT "- " : INDENT "evidence   - ");
		raw(t, v->evidence[i], strnlen(v->evidence[i], RW_EVIDENCE_LEN));
		const struct rw_mark *m = rw_evidence_mark(rec, i);
		char at[320];
		if (m && rw_format_mark(rec, m, at, sizeof(at)) == 0) {
			puts_(t, "  [");
			raw(t, at, strlen(at)); /* a file name is the user's bytes */
			puts_(t, "]");
		}
		puts_(t, "\n");
	}
}

static void tail_lines(struct text *t, const struct rw_record *rec)
{
	puts_(t, INDENT "bytes      client ");
	put_uint(t, rec->bytes[RW_C2S], 1);
	puts_(t, ", server ");
	put_uint(t, rec->bytes[RW_S2C], 1);
	if (rec->tcp[RW_C2S].retransmits || rec->tcp[RW_S2C].retransmits)
		printf_(t, "; retransmits client %" PRIu32 ", server %" PRIu32,
		        rec->tcp[RW_C2S].retransmits, rec->tcp[RW_S2C].retransmits);
	if (rec->tcp[RW_C2S].capture_gap_bytes || rec->tcp[RW_S2C].capture_gap_bytes)
		printf_(t, "; lost by the capture client %" PRIu64 ", server %" PRIu64,
		        rec->tcp[RW_C2S].capture_gap_bytes, rec->tcp[RW_S2C].capture_gap_bytes);
	puts_(t, "\n");
	if (rec->proxy || rec->has_original_dst) {
		bool first = true;
		puts_(t, INDENT "proxy      ");
		if (rec->has_original_dst) {
			sep(t, &first);
			puts_(t, "original destination ");
			endpoint(t, &rec->original_dst);
		}
		if (rec->proxy) {
			sep(t, &first);
			printf_(t, "upstream connect %" PRIu64 " ms", rec->proxy_connect_ms);
		}
		if (rec->proxy_stop != RW_PROXY_STOP_NONE) {
			const struct rw_peer_tcp *p = &rec->proxy_tcp[rec->proxy_side];
			const char *side = rec->proxy_side == RW_C2S ? "client" : "server";
			sep(t, &first);
			if (rec->proxy_stop == RW_PROXY_STOP_LOST)
				printf_(t, "lost the %s (%s)", side,
				        p->error_name[0] ? p->error_name : "socket error");
			else
				printf_(t, "waited on the %s (%s)", side,
				        !p->known          ? "socket facts unknown"
				        : p->unacked_bytes ? "network: data unacknowledged"
				                           : "peer: everything acknowledged");
			if (p->known)
				printf_(t,
				        ", %" PRIu64 " bytes unacknowledged, last ACK %" PRIu32
				        " ms ago, silent %" PRIu32 " ms",
				        p->unacked_bytes, p->last_ack_ms, p->silent_ms);
			if (rec->proxy_prompt_wait_ms)
				printf_(t, ", waited %" PRIu64 " ms more for a prompt",
				        rec->proxy_prompt_wait_ms);
		}
		puts_(t, "\n");
	}
	if (rec->file_first) {
		/* Where to look in Wireshark: "Go to packet" takes these numbers. */
		puts_(t, INDENT "frames     ");
		put_uint(t, rec->frame_first, 1);
		put_n(t, "-", 1);
		put_uint(t, rec->frame_last, 1);
		put_n(t, " of ", 4);
		raw(t, rec->file_first, strlen(rec->file_first));
		if (rec->file_last && strcmp(rec->file_last, rec->file_first) != 0) {
			puts_(t, " (the last in ");
			raw(t, rec->file_last, strlen(rec->file_last));
			puts_(t, ")");
		}
		puts_(t, "\n");
	}
	if (rec->midstream)
		puts_(t, INDENT "note       capture began mid-connection: early phases unseen\n");
	if (rec->directions != RW_DIRS_BOTH)
		puts_(t, rec->directions == RW_DIRS_CLIENT_ONLY
		                 ? INDENT "note       capture holds the client's packets only: the "
		                          "server's side is inferred from its acknowledgements\n"
		                 : INDENT "note       capture holds the server's packets only: the "
		                          "client's side is inferred from its acknowledgements\n");
}

int rw_record_text(const struct rw_record *rec, struct rw_buf *out)
{
	return rw_record_text_ex(rec, out, false);
}

int rw_record_text_ex(const struct rw_record *rec, struct rw_buf *out, bool colour)
{
	struct text t = {out, 0, colour};
	size_t mark = out->len;
	head_line(&t, rec);
	verdict_lines(&t, rec);
	timeline_line(&t, rec);
	rdp_line(&t, rec);
	tls_line(&t, rec);
	inspect_line(&t, rec);
	cert_lines(&t, rec);
	evidence_lines(&t, rec);
	if (!t.err)
		t.err = rw_ladder_text(rec, out);
	tail_lines(&t, rec);
	if (t.err) {
		rw_buf_truncate(out, mark);
		return -1;
	}
	return 0;
}
