/* The JSON line of a record. Key names follow the Elastic Common Schema
 * (https://www.elastic.co/guide/en/ecs/current/) where it has one. Every key
 * is named through the table of record_keys.h, in the table's order, which
 * is the output's: fixed, so that two records diff cleanly, and grouped by
 * prefix, so that the nested form opens each object once. A key out of the
 * table's order is a bug: the record is not written (-1), and the unit tests
 * and fuzz targets, which format every kind of record, fail.
 *
 * A fact the front end could not see has no key, never a 0 (no nulls
 * either): the proxy reports no TCP retransmissions, a one-direction capture
 * no byte count for the side it never held. */
#include "record_format.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "credssp.h"
#include "hello_cache.h"
#include "json.h"
#include "kerberos.h"
#include "rdp_pdu.h"
#include "record_keys.h"
#include "rw_types.h"
#include "tls_hello.h"
#include "x224.h"

#ifndef RDPWHY_VERSION
#define RDPWHY_VERSION "unknown"
#endif

/* The decimal digits of v, zero-padded to width, at o: returns width. */
static size_t put_dec(char *o, unsigned v, size_t width)
{
	for (size_t i = width; i-- > 0; v /= 10)
		o[i] = (char)('0' + v % 10);
	return width;
}

/* "YYYY-MM-DDTHH:MM:SS" of a tm from rw_format_utc (years 0..9999): 19
 * bytes at o, as "%04d-%02d-%02dT%02d:%02d:%02d" would write them. */
static size_t put_datetime(char *o, const struct tm *tm)
{
	size_t k = put_dec(o, (unsigned)(tm->tm_year + 1900), 4);
	o[k++] = '-';
	k += put_dec(o + k, (unsigned)(tm->tm_mon + 1), 2);
	o[k++] = '-';
	k += put_dec(o + k, (unsigned)tm->tm_mday, 2);
	o[k++] = 'T';
	k += put_dec(o + k, (unsigned)tm->tm_hour, 2);
	o[k++] = ':';
	k += put_dec(o + k, (unsigned)tm->tm_min, 2);
	o[k++] = ':';
	k += put_dec(o + k, (unsigned)tm->tm_sec, 2);
	return k;
}

/* ---- the writer: rw_json, the dotted keys flat or nested, the table order ---- */
struct w {
	struct rw_json j;
	struct rw_json_path p;
	int last; /* the last key written, -1 before the first */
};

/* The table's keys split once, and for each of a key's leading segments
 * the first key with the same ones: two keys share their first d segments
 * when their groups agree up to d, with no string compared per record. */
_Static_assert(RW_K_COUNT <= UINT8_MAX + 1, "a group is a key's index in a uint8_t");
static struct split_key {
	struct rw_json_pkey k;
	uint8_t group[RW_JSON_PATH_SEGS];
} split_keys[RW_K_COUNT];
static bool keys_split;
static pthread_once_t split_once = PTHREAD_ONCE_INIT;

static bool same_segment(const struct rw_json_pkey *a, const struct rw_json_pkey *b, unsigned s)
{
	return s < a->nseg && s < b->nseg && a->end[s] == b->end[s] &&
	       !memcmp(a->name, b->name, a->end[s]);
}

static void split_table(void)
{
	for (size_t i = 0; i < RW_K_COUNT; i++) {
		struct split_key *x = &split_keys[i];
		if (!rw_json_pkey_split(&x->k, rw_record_keys[i].name))
			return; /* keys_split stays false: every key is split as written */
		for (unsigned s = 0; s < x->k.nseg; s++) {
			size_t g = 0;
			while (g < i && !same_segment(&split_keys[g].k, &x->k, s))
				g++;
			x->group[s] = (uint8_t)g;
		}
	}
	keys_split = true;
}

static struct rw_json *key(struct w *w, enum rw_key k)
{
	if ((int)k <= w->last) {
		w->j.error = true; /* out of order: a bug (see the top) */
		return &w->j;
	}
	pthread_once(&split_once, split_table);
	if (!keys_split) {
		w->last = (int)k;
		rw_json_path_key(&w->p, rw_record_keys[k].name);
		return &w->j;
	}
	const struct split_key *x = &split_keys[k];
	unsigned common = 0;
	if (w->last >= 0) {
		const struct split_key *prev = &split_keys[w->last];
		unsigned lim = (prev->k.nseg < x->k.nseg ? prev->k.nseg : x->k.nseg) - 1u;
		while (common < lim && prev->group[common] == x->group[common])
			common++;
	}
	w->last = (int)k;
	rw_json_path_key_split(&w->p, &x->k, common);
	return &w->j;
}

static void kv_cstr(struct w *w, enum rw_key k, const char *s)
{
	rw_json_cstr(key(w, k), s);
}

static void kv_string(struct w *w, enum rw_key k, const void *p, size_t n)
{
	rw_json_string(key(w, k), p, n);
}

static void kv_uint(struct w *w, enum rw_key k, uint64_t v)
{
	rw_json_uint(key(w, k), v);
}

static void kv_bool(struct w *w, enum rw_key k, bool v)
{
	rw_json_bool(key(w, k), v);
}

/* "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ": digits only, nothing to escape. */
static void kv_time(struct w *w, enum rw_key k, uint64_t ts_us)
{
	struct tm tm;
	if (!rw_format_utc((int64_t)(ts_us / 1000000), &tm))
		return;
	char s[32];
	size_t n = put_datetime(s, &tm);
	s[n++] = '.';
	n += put_dec(s + n, (unsigned)(ts_us % 1000000), 6);
	s[n++] = 'Z';
	kv_string(w, k, s, n);
}

static void kv_date(struct w *w, enum rw_key k, int64_t sec)
{
	struct tm tm;
	if (!rw_format_utc(sec, &tm))
		return;
	char s[32];
	size_t n = put_datetime(s, &tm);
	s[n++] = 'Z';
	kv_string(w, k, s, n);
}

/* A fixed-size char field the analyzers filled: bounded, possibly empty. */
static void kv_field(struct w *w, enum rw_key k, const char *s, size_t size)
{
	size_t n = strnlen(s, size);
	if (n)
		kv_string(w, k, s, n);
}

/* ECS keeps hashes and serials in upper-case hex. */
static void kv_upper_hex(struct w *w, enum rw_key k, const char *s, size_t size)
{
	char up[160];
	size_t n = strnlen(s, size);
	if (n == 0 || n >= sizeof(up))
		return;
	for (size_t i = 0; i < n; i++)
		up[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 'a' + 'A') : s[i];
	kv_string(w, k, up, n);
}

/* A wire string: the value and, when it is not plain, its raw bytes in hex
 * (json.h). */
static void kv_wire(struct w *w, enum rw_key k, enum rw_key k_hex, const void *p, size_t n)
{
	kv_string(w, k, p, n);
	if (!rw_json_plain(p, n))
		rw_json_hex(key(w, k_hex), p, n);
}

/* ip, port (keys k, k + 1) of an endpoint whose family is known. */
static void endpoint(struct w *w, enum rw_key k, const struct rw_endpoint *ep)
{
	char ip[RW_IP_STR_MAX];
	if (!rw_format_ip(ep, ip))
		return;
	kv_cstr(w, k, ip);
	kv_uint(w, (enum rw_key)(k + 1), ep->port);
}

/* Whether the front end saw that side's packets: the proxy always; a
 * capture of one direction only the side it held. */
static bool side_seen(const struct rw_record *rec, enum rw_dir d)
{
	if (rec->directions == RW_DIRS_CLIENT_ONLY)
		return d == RW_C2S;
	if (rec->directions == RW_DIRS_SERVER_ONLY)
		return d == RW_S2C;
	return true;
}

static void event_fields(struct w *w, const struct rw_record *rec, const char *host,
                         const char *record_id)
{
	kv_time(w, RW_K_TIMESTAMP, rec->ts_open_us);
	kv_cstr(w, RW_K_EVENT_KIND, "event");
	struct rw_json *j = key(w, RW_K_EVENT_CATEGORY);
	rw_json_begin_array(j);
	rw_json_cstr(j, "network");
	rw_json_end_array(j);
	j = key(w, RW_K_EVENT_TYPE);
	rw_json_begin_array(j);
	rw_json_cstr(j, "connection");
	rw_json_end_array(j);
	kv_time(w, RW_K_EVENT_START, rec->ts_open_us);
	if (rec->ts_close_us >= rec->ts_open_us && rec->ts_close_us != 0) {
		kv_time(w, RW_K_EVENT_END, rec->ts_close_us);
		uint64_t d = rec->ts_close_us - rec->ts_open_us;
		if (d <= UINT64_MAX / 1000)
			kv_uint(w, RW_K_EVENT_DURATION, d * 1000);
	}
	/* The record id where the output gave one: stable across runs of the
	 * same capture, unlike a per-run counter (which only standalone uses,
	 * such as the tests, fall back to). */
	char id[RW_U64_STR_MAX];
	rw_format_u64(id, rec->id);
	kv_cstr(w, RW_K_EVENT_ID, record_id ? record_id : id);
	if (host)
		kv_cstr(w, RW_K_HOST_NAME, host);
}

static void network_fields(struct w *w, const struct rw_record *rec)
{
	kv_cstr(w, RW_K_NETWORK_TRANSPORT, "tcp");
	if (rec->client.family == 2 || rec->client.family == 10)
		kv_cstr(w, RW_K_NETWORK_TYPE, rec->client.family == 2 ? "ipv4" : "ipv6");
	endpoint(w, RW_K_SOURCE_IP, &rec->client);
	if (side_seen(rec, RW_C2S))
		kv_uint(w, RW_K_SOURCE_BYTES, rec->bytes[RW_C2S]);
	endpoint(w, RW_K_DESTINATION_IP, &rec->server);
	if (side_seen(rec, RW_S2C))
		kv_uint(w, RW_K_DESTINATION_BYTES, rec->bytes[RW_S2C]);
}

static bool any_tls(const struct rw_record *rec)
{
	return rec->tls_seen[RW_C2S] || rec->tls_seen[RW_S2C] || rec->client_hello_seen ||
	       rec->server_hello_seen || rec->sslv2_client_hello;
}

static void tls_server_hello(struct w *w, const struct rw_record *rec)
{
	const struct rw_tls_server_hello *sh = &rec->sh;
	if (!rec->server_hello_seen)
		return;
	char tmp[8];
	const char *v = rw_format_tls_version(sh->version, tmp);
	/* ECS splits "SSLv3" into protocol "ssl" and version "3.0". */
	if (strcmp(v, "ssl3") == 0 || strcmp(v, "ssl2") == 0) {
		kv_cstr(w, RW_K_TLS_VERSION, v[3] == '3' ? "3.0" : "2.0");
		kv_cstr(w, RW_K_TLS_VERSION_PROTOCOL, "ssl");
	} else {
		kv_cstr(w, RW_K_TLS_VERSION, v);
		kv_cstr(w, RW_K_TLS_VERSION_PROTOCOL, "tls");
	}
	kv_cstr(w, RW_K_TLS_CIPHER, rw_format_cipher(sh->cipher, tmp));
	if (sh->n_alpn)
		kv_field(w, RW_K_TLS_NEXT_PROTOCOL, sh->alpn, sizeof(sh->alpn));
}

static void tls_client_fields(struct w *w, const struct rw_record *rec)
{
	const struct rw_tls_client_hello *ch = &rec->ch;
	if (!rec->client_hello_seen)
		return;
	if (ch->has_sni) {
		size_t n = ch->sni_len < sizeof(ch->sni) ? ch->sni_len : sizeof(ch->sni);
		kv_string(w, RW_K_TLS_CLIENT_SERVER_NAME, ch->sni, n);
	}
	/* Hashed here rather than when the hello was parsed: the formatter runs
	 * on the output or formatting thread, the parser on the busiest one. */
	struct rw_hello_cached *hc = rw_hello_cache_get(ch);
	kv_field(w, RW_K_TLS_CLIENT_JA3, hc->ja3, sizeof(hc->ja3));
	kv_field(w, RW_K_TLS_CLIENT_JA4, hc->ja4, sizeof(hc->ja4));
	struct rw_json *j = key(w, RW_K_TLS_CLIENT_SUPPORTED_CIPHERS);
	if (hc->ciphers_len) {
		rw_json_raw(j, hc->ciphers, hc->ciphers_len);
		return;
	}
	size_t mark = j->out->len; /* the array's first byte: a key's value has no comma */
	size_t n = ch->n_ciphers < RW_TLS_MAX_CIPHERS ? ch->n_ciphers : RW_TLS_MAX_CIPHERS;
	rw_json_begin_array(j);
	for (size_t i = 0; i < n; i++) {
		char tmp[8];
		if (!rw_tls_is_grease(ch->ciphers[i]))
			rw_json_cstr(j, rw_format_cipher(ch->ciphers[i], tmp));
	}
	if (rw_json_end_array(j) == 0 && j->out->len - mark <= sizeof(hc->ciphers)) {
		hc->ciphers_len = j->out->len - mark;
		memcpy(hc->ciphers, j->out->data + mark, hc->ciphers_len);
	}
}

static void cert_fields(struct w *w, const struct rw_record *rec)
{
	const struct rw_cert *c = &rec->cert;
	if (rec->server_hello_seen) {
		char ja3s[33];
		rw_ja3s(&rec->sh, NULL, 0, ja3s);
		kv_field(w, RW_K_TLS_SERVER_JA3S, ja3s, sizeof(ja3s));
	}
	if (!rec->certificate_seen)
		return;
	kv_field(w, RW_K_TLS_SERVER_X509_SUBJECT_CN, c->subject_cn, sizeof(c->subject_cn));
	kv_field(w, RW_K_TLS_SERVER_X509_SUBJECT_DN, c->subject, sizeof(c->subject));
	kv_field(w, RW_K_TLS_SERVER_X509_ISSUER_CN, c->issuer_cn, sizeof(c->issuer_cn));
	kv_field(w, RW_K_TLS_SERVER_X509_ISSUER_DN, c->issuer, sizeof(c->issuer));
	kv_upper_hex(w, RW_K_TLS_SERVER_X509_SERIAL, c->serial_hex, sizeof(c->serial_hex));
	kv_date(w, RW_K_TLS_SERVER_X509_NOT_BEFORE, c->not_before);
	kv_date(w, RW_K_TLS_SERVER_X509_NOT_AFTER, c->not_after);
	size_t n = c->n_san < RW_CERT_MAX_SAN ? c->n_san : RW_CERT_MAX_SAN;
	if (n) {
		struct rw_json *j = key(w, RW_K_TLS_SERVER_X509_SAN);
		rw_json_begin_array(j);
		for (size_t i = 0; i < n; i++)
			rw_json_string(j, c->san[i], strnlen(c->san[i], sizeof(c->san[i])));
		rw_json_end_array(j);
	}
	kv_field(w, RW_K_TLS_SERVER_X509_KEY_ALG, c->key_type, sizeof(c->key_type));
	if (c->key_bits > 0)
		kv_uint(w, RW_K_TLS_SERVER_X509_KEY_SIZE, (uint64_t)c->key_bits);
	kv_upper_hex(w, RW_K_TLS_SERVER_HASH_SHA1, c->sha1_hex, sizeof(c->sha1_hex));
	kv_upper_hex(w, RW_K_TLS_SERVER_HASH_SHA256, c->sha256_hex, sizeof(c->sha256_hex));
}

static void tls_fields(struct w *w, const struct rw_record *rec)
{
	if (!any_tls(rec))
		return;
	kv_bool(w, RW_K_TLS_ESTABLISHED, rw_record_tls_established(rec));
	tls_server_hello(w, rec);
	tls_client_fields(w, rec);
	cert_fields(w, rec);
	enum rw_dir from;
	const struct rw_alert *a = rw_format_first_alert(rec, &from);
	if (a) {
		/* A name, or no description: "encrypted" is not an alert. */
		if (a->encrypted) {
			kv_bool(w, RW_K_TLS_ALERT_ENCRYPTED, true);
		} else {
			const char *name = rw_tls_alert_name(a->description);
			if (name)
				kv_cstr(w, RW_K_TLS_ALERT_DESCRIPTION, name);
			kv_uint(w, RW_K_TLS_ALERT_CODE, a->description);
		}
		kv_cstr(w, RW_K_TLS_ALERT_FROM, from == RW_C2S ? "client" : "server");
	}
}

static void flag_names(struct w *w, enum rw_key k, uint8_t flags, const char *const names[8])
{
	if (!flags)
		return;
	struct rw_json *j = key(w, k);
	rw_json_begin_array(j);
	for (unsigned bit = 0; bit < 8; bit++) {
		if (!(flags & (1u << bit)))
			continue;
		char tmp[8];
		if (names[bit]) {
			rw_json_cstr(j, names[bit]);
		} else {
			snprintf(tmp, sizeof(tmp), "0x%02X", 1u << bit);
			rw_json_cstr(j, tmp);
		}
	}
	rw_json_end_array(j);
}

/* The name of a 32-bit code, or "0x0000000A" when it has none. */
static void kv_name_or_hex32(struct w *w, enum rw_key k, const char *name, uint32_t v)
{
	char tmp[16];
	kv_cstr(w, k, rw_format_name_or_hex(name, v, 8, tmp, sizeof(tmp)));
}

static void rdp_fields(struct w *w, const struct rw_record *rec)
{
	/* MS-RDPBCGR 2.2.1.1.1 and 2.2.1.2.1. */
	static const char *const req_flags[8] = {
	        "restricted_admin_mode_required",
	        "redirected_authentication_mode_required",
	        NULL,
	        "correlation_info_present",
	};
	static const char *const rsp_flags[8] = {
	        "extended_client_data_supported",
	        "dynvc_gfx_protocol_supported",
	        "reserved",
	        "restricted_admin_mode_supported",
	        "redirected_authentication_mode_supported",
	};
	if (rec->token && rec->token_len) {
		if (rec->token_kind == RW_TOKEN_COOKIE)
			kv_wire(w, RW_K_RDP_COOKIE, RW_K_RDP_COOKIE_HEX, rec->token,
			        rec->token_len);
		else if (rec->token_kind == RW_TOKEN_ROUTING)
			kv_wire(w, RW_K_RDP_ROUTING_TOKEN, RW_K_RDP_ROUTING_TOKEN_HEX, rec->token,
			        rec->token_len);
	}
	if (rec->cr_seen && !rec->cr_inferred) {
		const char *names[8];
		size_t n = rw_proto_names(rec->requested_protocols, names);
		struct rw_json *j = key(w, RW_K_RDP_REQUESTED_PROTOCOLS);
		rw_json_begin_array(j);
		for (size_t i = 0; i < n && i < 8; i++)
			rw_json_cstr(j, names[i] ? names[i] : "unknown");
		rw_json_end_array(j);
		if (rec->neg_req_present)
			flag_names(w, RW_K_RDP_NEG_REQ_FLAGS, rec->neg_req_flags, req_flags);
	}
	if (rec->neg_rsp_present) {
		kv_name_or_hex32(w, RW_K_RDP_SELECTED_PROTOCOL,
		                 rw_proto_name(rec->selected_protocol), rec->selected_protocol);
		flag_names(w, RW_K_RDP_NEG_RSP_FLAGS, rec->neg_rsp_flags, rsp_flags);
	} else if (rec->cc_seen && !rec->neg_failure_present) {
		/* A Connection Confirm without RDP_NEG_RSP selects standard RDP
		 * security (MS-RDPBCGR 2.2.1.2): the protocol is known. */
		kv_cstr(w, RW_K_RDP_SELECTED_PROTOCOL, "rdp");
	}
	if (rec->neg_failure_present)
		kv_name_or_hex32(w, RW_K_RDP_NEG_FAILURE,
		                 rw_neg_failure_name(rec->neg_failure_code), rec->neg_failure_code);
	/* Seconds, signed (host minus local): what an admin compares with
	 * Kerberos' 300 s. */
	if (rec->host_clock_seen)
		rw_json_int(key(w, RW_K_RDP_NLA_HOST_CLOCK_OFFSET),
		            rec->host_clock_offset_us / 1000000);
}

static void verdict_fields(struct w *w, const struct rw_record *rec)
{
	const struct rw_verdict *v = &rec->verdict;
	kv_cstr(w, RW_K_RDPWHY_CAUSE, rw_cause_name(v->cause));
	kv_cstr(w, RW_K_RDPWHY_CLOSED_BY, rw_side_name(v->closed_by));
	kv_cstr(w, RW_K_RDPWHY_CLOSE_KIND, rw_close_kind_name(v->close_kind));
	kv_cstr(w, RW_K_RDPWHY_PHASE, rw_phase_name(v->phase));
	struct rw_json *j = key(w, RW_K_RDPWHY_EVIDENCE);
	rw_json_begin_array(j);
	for (size_t i = 0; i < v->n_evidence && i < RW_MAX_EVIDENCE; i++)
		rw_json_string(j, v->evidence[i], strnlen(v->evidence[i], RW_EVIDENCE_LEN));
	rw_json_end_array(j);
	bool any_at = false;
	for (size_t i = 0; i < v->n_evidence && i < RW_MAX_EVIDENCE; i++)
		any_at = any_at || rw_evidence_mark(rec, i);
	if (any_at) {
		j = key(w, RW_K_RDPWHY_EVIDENCE_AT);
		rw_json_begin_array(j);
		for (size_t i = 0; i < v->n_evidence && i < RW_MAX_EVIDENCE; i++) {
			const struct rw_mark *m = rw_evidence_mark(rec, i);
			char at[320] = "";
			if (m && rw_format_mark(rec, m, at, sizeof(at)) < 0)
				at[0] = '\0';
			rw_json_string(j, at, strlen(at));
		}
		rw_json_end_array(j);
	}
	kv_cstr(w, RW_K_RDPWHY_REMEDIATION, v->remediation ? v->remediation : "");
	kv_cstr(w, RW_K_RDPWHY_CONFIDENCE, rw_confidence_name(v->confidence));
	if (v->n_alternatives) {
		j = key(w, RW_K_RDPWHY_ALTERNATIVES);
		rw_json_begin_array(j);
		for (size_t i = 0; i < v->n_alternatives && i < RW_MAX_ALTERNATIVES; i++)
			rw_json_cstr(j, rw_cause_name(v->alternatives[i]));
		rw_json_end_array(j);
	}
	if (v->tell_apart)
		kv_cstr(w, RW_K_RDPWHY_TELL_APART, v->tell_apart);

	/* Whole microseconds since event.start: on a LAN every phase starts
	 * within the first millisecond. */
	_Static_assert(RW_K_RDPWHY_TIMELINE_ESTABLISHED - RW_K_RDPWHY_TIMELINE_TCP_CONNECT ==
	                       RW_PHASE_COUNT - 1,
	               "one timeline key per phase, in phase order");
	for (int p = 0; p < RW_PHASE_COUNT; p++) {
		if (!rw_record_shows_phase(rec, (enum rw_phase)p))
			continue;
		uint64_t ts = rec->phase_ts_us[p];
		kv_uint(w, (enum rw_key)(RW_K_RDPWHY_TIMELINE_TCP_CONNECT + p),
		        ts > rec->ts_open_us ? ts - rec->ts_open_us : 0);
	}
	kv_bool(w, RW_K_RDPWHY_MIDSTREAM, rec->midstream);
}

/* Per direction, present when not zero: what was retransmitted, the
 * full-size payload the MSS rule judged by, and the holes the capture lost
 * (acknowledged by the receiver or cut by the snapshot length). Keys come
 * in client/server pairs: k + d. */
static void per_side(struct w *w, enum rw_key k, uint64_t client, uint64_t server)
{
	if (client)
		kv_uint(w, k, client);
	if (server)
		kv_uint(w, (enum rw_key)(k + 1), server);
}

static void capture_fields(struct w *w, const struct rw_record *rec)
{
	const struct rw_tcp_stats *c = &rec->tcp[RW_C2S], *s = &rec->tcp[RW_S2C];
	kv_cstr(w, RW_K_RDPWHY_CAPTURE_DIRECTIONS,
	        rec->directions == RW_DIRS_CLIENT_ONLY   ? "client_only"
	        : rec->directions == RW_DIRS_SERVER_ONLY ? "server_only"
	                                                 : "both");
	per_side(w, RW_K_RDPWHY_CAPTURE_GAPS_CLIENT, c->capture_gaps, s->capture_gaps);
	per_side(w, RW_K_RDPWHY_CAPTURE_GAP_BYTES_CLIENT, c->capture_gap_bytes,
	         s->capture_gap_bytes);
	/* The proxy reads its sockets, not the segments: it cannot count
	 * retransmissions. */
	for (int d = 0; d < 2; d++)
		if (!rec->proxy && side_seen(rec, (enum rw_dir)d))
			kv_uint(w, (enum rw_key)(RW_K_RDPWHY_TCP_RETRANSMITS_CLIENT + d),
			        rec->tcp[d].retransmits);
	per_side(w, RW_K_RDPWHY_TCP_RETRANSMITTED_BYTES_CLIENT, c->retransmitted_bytes,
	         s->retransmitted_bytes);
	per_side(w, RW_K_RDPWHY_TCP_LARGEST_RETRANSMIT_CLIENT, c->max_retransmit,
	         s->max_retransmit);
	per_side(w, RW_K_RDPWHY_TCP_MSS_CLIENT, c->mss, s->mss);
	for (int d = 0; d < 2; d++)
		if (!side_seen(rec, (enum rw_dir)d))
			kv_uint(w, (enum rw_key)(RW_K_RDPWHY_INFERRED_BYTES_CLIENT + d),
			        rec->inferred_bytes[d]);
}

static void rdpwhy_tls_fields(struct w *w, const struct rw_record *rec)
{
	for (int d = 0; d < 2; d++)
		if (side_seen(rec, (enum rw_dir)d))
			kv_uint(w, (enum rw_key)(RW_K_RDPWHY_TLS_ENCRYPTED_RECORDS_CLIENT + d),
			        rec->encrypted_records[d]);
	if (rec->sslv2_client_hello)
		kv_bool(w, RW_K_RDPWHY_TLS_SSLV2_CLIENT_HELLO, true);
	if (rec->client_hello_seen && rec->ch.n_versions) {
		size_t n = rec->ch.n_versions < RW_TLS_MAX_VERSIONS ? rec->ch.n_versions
		                                                    : RW_TLS_MAX_VERSIONS;
		struct rw_json *j = key(w, RW_K_RDPWHY_TLS_CLIENT_VERSIONS);
		rw_json_begin_array(j);
		for (size_t i = 0; i < n; i++) {
			char tmp[8];
			if (!rw_tls_is_grease(rec->ch.versions[i]))
				rw_json_cstr(j, rw_format_tls_version(rec->ch.versions[i], tmp));
		}
		rw_json_end_array(j);
	}
	if (rec->client_hello_seen && rec->ch.n_alpn) {
		size_t n = rec->ch.n_alpn < RW_TLS_MAX_ALPN ? rec->ch.n_alpn : RW_TLS_MAX_ALPN;
		struct rw_json *j = key(w, RW_K_RDPWHY_TLS_CLIENT_ALPN);
		rw_json_begin_array(j);
		for (size_t i = 0; i < n; i++)
			rw_json_string(j, rec->ch.alpn[i], rec->ch.alpn_len[i]);
		rw_json_end_array(j);
	}
	if (rec->certificate_seen) {
		kv_uint(w, RW_K_RDPWHY_TLS_CERT_CHAIN_LENGTH, rec->cert_chain_len);
		kv_bool(w, RW_K_RDPWHY_TLS_CERT_SELF_SIGNED, rec->cert.self_signed);
	}
}

static void ntlm_types(struct w *w, enum rw_key k, uint8_t seen)
{
	struct rw_json *j = key(w, k);
	rw_json_begin_array(j);
	for (unsigned t = 1; t <= 3; t++) {
		const char *n = rw_ntlm_type_name(t);
		if (seen & (1u << t))
			rw_json_string(j, n ? n : "?", strlen(n ? n : "?"));
	}
	rw_json_end_array(j);
}

/* Inspection with the host's key: codes and message types, never credentials. */
static void inspect_fields(struct w *w, const struct rw_record *rec)
{
	const struct rw_inspect_facts *f = &rec->inspect;
	if (!f->inspected)
		return;
	char hex[16];
	kv_bool(w, RW_K_RDPWHY_INSPECTED, true);
	if (f->tsrequests[RW_S2C])
		kv_uint(w, RW_K_RDPWHY_NLA_CREDSSP_VERSION, f->credssp_version);
	if (f->ntlm_seen[RW_C2S])
		ntlm_types(w, RW_K_RDPWHY_NLA_NTLM_CLIENT, f->ntlm_seen[RW_C2S]);
	if (f->ntlm_seen[RW_S2C])
		ntlm_types(w, RW_K_RDPWHY_NLA_NTLM_SERVER, f->ntlm_seen[RW_S2C]);
	if (f->kerberos)
		kv_bool(w, RW_K_RDPWHY_NLA_KERBEROS, true);
	if (f->has_ntstatus) {
		snprintf(hex, sizeof(hex), "0x%08" PRIX32, f->ntstatus);
		kv_cstr(w, RW_K_RDPWHY_NLA_NTSTATUS, hex);
		const char *n = rw_ntstatus_name(f->ntstatus);
		if (n)
			kv_cstr(w, RW_K_RDPWHY_NLA_NTSTATUS_NAME, n);
	}
	if (f->has_early_auth)
		kv_cstr(w, RW_K_RDPWHY_NLA_EARLY_AUTH,
		        f->early_auth == RW_AUTHZ_SUCCESS ? "AUTHZ_SUCCESS"
		                                          : "AUTHZ_ACCESS_DENIED");
	if (f->has_krb_error) {
		if (f->krb_error >= 0)
			kv_uint(w, RW_K_RDPWHY_KERBEROS_ERROR, (uint64_t)f->krb_error);
		const char *n = f->krb_error >= 0 ? rw_krb_error_name(f->krb_error) : NULL;
		if (n)
			kv_cstr(w, RW_K_RDPWHY_KERBEROS_ERROR_NAME, n);
		if (f->has_krb_stime && f->krb_stime_us >= 0)
			kv_time(w, RW_K_RDPWHY_KERBEROS_SERVER_TIME, (uint64_t)f->krb_stime_us);
	}
	if (f->has_error_info) {
		snprintf(hex, sizeof(hex), "0x%" PRIX32, f->error_info);
		kv_cstr(w, RW_K_RDPWHY_RDP_ERROR_INFO, hex);
		const char *n = rw_errinfo_name(f->error_info);
		if (n)
			kv_cstr(w, RW_K_RDPWHY_RDP_ERROR_INFO_NAME, n);
	}
	kv_bool(w, RW_K_RDPWHY_RDP_LOGON, f->logon_seen);
	for (int d = 0; d < 2; d++) {
		if (!f->ultimatum[d])
			continue;
		kv_cstr(w, RW_K_RDPWHY_RDP_ULTIMATUM_FROM, d == RW_C2S ? "client" : "server");
		const char *n = rw_mcs_reason_name(f->ultimatum_reason[d]);
		snprintf(hex, sizeof(hex), "%u", (unsigned)f->ultimatum_reason[d]);
		kv_cstr(w, RW_K_RDPWHY_RDP_ULTIMATUM_REASON, n ? n : hex);
		break; /* the first side's: the one that ended it */
	}
}

static void scan_fields(struct w *w, const struct rw_record *rec)
{
	if (!rec->scan.on)
		return;
	kv_uint(w, RW_K_RDPWHY_SCAN_ATTEMPTS, rec->scan.attempts);
	kv_uint(w, RW_K_RDPWHY_SCAN_REFUSED, rec->scan.refused);
	kv_uint(w, RW_K_RDPWHY_SCAN_UNANSWERED, rec->scan.unanswered);
	kv_uint(w, RW_K_RDPWHY_SCAN_HALF_OPEN, rec->scan.half_open);
	kv_uint(w, RW_K_RDPWHY_SCAN_CLIENT_RESET, rec->scan.client_reset);
	kv_uint(w, rec->scan.by_target ? RW_K_RDPWHY_SCAN_SOURCES : RW_K_RDPWHY_SCAN_TARGETS,
	        rec->scan.others);
	kv_uint(w, RW_K_RDPWHY_SCAN_PORTS, rec->scan.ports);
}

static void proxy_fields(struct w *w, const struct rw_record *rec)
{
	if (rec->proxy)
		kv_uint(w, RW_K_RDPWHY_PROXY_CONNECT_MS, rec->proxy_connect_ms);
	if (rec->proxy_stop != RW_PROXY_STOP_NONE) {
		/* The side the proxy waited on (its timer) or lost (its kernel
		 * gave up), and what the socket to it showed. */
		const struct rw_peer_tcp *p = &rec->proxy_tcp[rec->proxy_side];
		const char *side = rec->proxy_side == RW_C2S ? "client" : "server";
		if (rec->proxy_stop == RW_PROXY_STOP_LOST) {
			kv_cstr(w, RW_K_RDPWHY_PROXY_LOST, side);
			if (p->error_name[0])
				kv_field(w, RW_K_RDPWHY_PROXY_SOCKET_ERROR, p->error_name,
				         sizeof(p->error_name));
		} else {
			kv_cstr(w, RW_K_RDPWHY_PROXY_WAITED_ON, side);
			if (p->known)
				kv_cstr(w, RW_K_RDPWHY_PROXY_WAITING_FOR,
				        p->unacked_bytes ? "network" : "peer");
		}
		if (p->known) {
			kv_uint(w, RW_K_RDPWHY_PROXY_UNACKED_BYTES, p->unacked_bytes);
			kv_uint(w, RW_K_RDPWHY_PROXY_LAST_ACK_MS, p->last_ack_ms);
			kv_uint(w, RW_K_RDPWHY_PROXY_SILENT_MS, p->silent_ms);
		}
		if (rec->proxy_prompt_wait_ms)
			kv_uint(w, RW_K_RDPWHY_PROXY_PROMPT_WAIT_MS, rec->proxy_prompt_wait_ms);
	}
	if (rec->has_original_dst)
		endpoint(w, RW_K_RDPWHY_ORIGINAL_DESTINATION_IP, &rec->original_dst);
}

/* The capture file and frame numbers (replay): what to open in Wireshark. */
static void source_fields(struct w *w, const struct rw_record *rec)
{
	if (!rec->file_first)
		return;
	kv_cstr(w, RW_K_RDPWHY_FILE, rec->file_first);
	if (rec->file_last && strcmp(rec->file_last, rec->file_first) != 0)
		kv_cstr(w, RW_K_RDPWHY_FILE_LAST, rec->file_last);
	kv_uint(w, RW_K_RDPWHY_FRAMES_FIRST, rec->frame_first);
	kv_uint(w, RW_K_RDPWHY_FRAMES_LAST, rec->frame_last);
}

int rw_record_json(const struct rw_record *rec, const char *host, struct rw_buf *out)
{
	return rw_record_json_style(rec, host, NULL, RW_JSON_NESTED, out);
}

int rw_record_json_ex(const struct rw_record *rec, const char *host, const char *record_id,
                      struct rw_buf *out)
{
	return rw_record_json_style(rec, host, record_id, RW_JSON_NESTED, out);
}

int rw_record_json_style(const struct rw_record *rec, const char *host, const char *record_id,
                         enum rw_json_style style, struct rw_buf *out)
{
	size_t mark = out->len;
	struct w w = {.last = -1};
	rw_json_init(&w.j, out);
	rw_json_path_init(&w.p, &w.j, style != RW_JSON_FLAT);
	rw_json_begin_object(&w.j);
	event_fields(&w, rec, host, record_id);
	network_fields(&w, rec);
	tls_fields(&w, rec);
	rdp_fields(&w, rec);
	verdict_fields(&w, rec);
	capture_fields(&w, rec);
	rdpwhy_tls_fields(&w, rec);
	inspect_fields(&w, rec);
	scan_fields(&w, rec);
	proxy_fields(&w, rec);
	source_fields(&w, rec);
	kv_cstr(&w, RW_K_RDPWHY_VERSION, RDPWHY_VERSION);
	if (record_id)
		kv_cstr(&w, RW_K_RDPWHY_RECORD_ID, record_id);
	rw_json_path_end(&w.p);
	rw_json_end_object(&w.j);
	if (rw_json_finish(&w.j) < 0 || rw_buf_putc(out, '\n') < 0) {
		rw_buf_truncate(out, mark);
		return -1;
	}
	return 0;
}

const char *rw_json_style_name(enum rw_json_style s)
{
	return s == RW_JSON_FLAT ? "flat" : "nested";
}

int rw_json_style_parse(const char *s)
{
	if (!strcmp(s, "nested"))
		return RW_JSON_NESTED;
	if (!strcmp(s, "flat"))
		return RW_JSON_FLAT;
	return -1;
}
