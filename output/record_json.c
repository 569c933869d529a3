/* The JSON line of a record. Key names follow the Elastic Common Schema
 * (https://www.elastic.co/guide/en/ecs/current/) where it has one; order is
 * fixed so that two records diff cleanly. Keys, in output order, and when
 * they appear (users build dashboards on these: add, never rename):
 *
 *   always        @timestamp event.kind event.category event.type event.start
 *                 event.id network.transport source.bytes destination.bytes
 *   close >= open event.end event.duration (ns)
 *   host given    host.name
 *   known family  network.type source.ip source.port destination.ip destination.port
 *   any TLS seen  tls.established
 *   ServerHello   tls.version tls.version_protocol tls.cipher tls.next_protocol
 *                 tls.server.ja3s
 *   ClientHello   tls.client.server_name tls.client.ja3 tls.client.ja4
 *                 tls.client.supported_ciphers
 *   Certificate   tls.server.x509.{subject,issuer}.{common_name,distinguished_name}
 *                 tls.server.x509.serial_number .not_before .not_after
 *                 .alternative_names .public_key_algorithm .public_key_size
 *                 tls.server.hash.sha1 tls.server.hash.sha256
 *   an alert      tls.alert.description tls.alert.from
 *   X.224         rdp.cookie | rdp.routing_token, rdp.requested_protocols,
 *                 rdp.neg_req_flags, rdp.selected_protocol, rdp.neg_rsp_flags,
 *                 rdp.neg_failure
 *   always        rdpwhy.cause .closed_by .close_kind .phase .evidence
 *                 .remediation .timeline .midstream .capture.directions
 *                 .tcp.retransmits.{client,server}
 *                 .tls.encrypted_records.{client,server}
 *   when known    rdpwhy.tls.sslv2_client_hello rdpwhy.tls.client_versions
 *                 rdpwhy.tls.client_alpn rdpwhy.tls.cert_chain_length
 *                 rdpwhy.tls.cert_self_signed rdpwhy.proxy.connect_ms
 *                 rdpwhy.original_destination.{ip,port}
 *                 rdpwhy.proxy.{waited_on,waiting_for,lost,socket_error,
 *                 unacked_bytes,last_ack_ms,silent_ms,prompt_wait_ms}
 *                 rdpwhy.tcp.{retransmitted_bytes,largest_retransmit,mss}.{client,server}
 *                 rdpwhy.capture.{gaps,gap_bytes}.{client,server}
 *   always        rdpwhy.version
 *   id given      rdpwhy.record_id (unique per record, for de-duplication)
 */
#include "record_format.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "json.h"
#include "rw_types.h"
#include "tls_hello.h"
#include "x224.h"

#ifndef RDPWHY_VERSION
#define RDPWHY_VERSION "unknown"
#endif

bool rw_format_ip(const struct rw_endpoint *ep, char out[RW_IP_STR_MAX])
{
	/* The record stores Linux numbers so that it means the same on every
	 * platform that reads a saved record. */
	int af = ep->family == 2 ? AF_INET : ep->family == 10 ? AF_INET6 : -1;
	if (af < 0 || !inet_ntop(af, ep->addr, out, RW_IP_STR_MAX)) {
		out[0] = '\0';
		return false;
	}
	return true;
}

bool rw_format_utc(int64_t sec, struct tm *tm)
{
	/* Years 0..9999 in seconds since 1970; also keeps time_t in range. */
	if (sec < -62167219200LL || sec > 253402300799LL)
		return false;
	time_t t = (time_t)sec;
	if ((int64_t)t != sec) /* 32-bit time_t */
		return false;
	return gmtime_r(&t, tm) != NULL;
}

/* name, or else v as "0x" and `digits` hex digits, written into tmp. */
static const char *name_or_hex(const char *name, uint32_t v, int digits, char *tmp, size_t size)
{
	if (name)
		return name;
	snprintf(tmp, size, "0x%0*" PRIX32, digits, v);
	return tmp;
}

const char *rw_format_tls_version(uint16_t v, char tmp[8])
{
	return name_or_hex(rw_tls_version_name(v), v, 4, tmp, 8);
}

const char *rw_format_cipher(uint16_t c, char tmp[8])
{
	return name_or_hex(rw_tls_cipher_name(c), c, 4, tmp, 8);
}

const struct rw_alert *rw_format_first_alert(const struct rw_record *rec, enum rw_dir *from)
{
	const struct rw_alert *c = &rec->alert[RW_C2S], *s = &rec->alert[RW_S2C];
	if (c->seen && (!s->seen || c->ts_us < s->ts_us)) {
		*from = RW_C2S;
		return c;
	}
	if (s->seen) {
		*from = RW_S2C;
		return s;
	}
	return NULL;
}

const char *rw_format_alert_desc(const struct rw_alert *a, char tmp[8])
{
	if (a->encrypted)
		return "encrypted";
	return name_or_hex(rw_tls_alert_name(a->description), a->description, 2, tmp, 8);
}

static void kv_time(struct rw_json *j, const char *key, uint64_t ts_us)
{
	struct tm tm;
	if (!rw_format_utc((int64_t)(ts_us / 1000000), &tm))
		return;
	char s[96]; /* sized for any int fields, as -Wformat-truncation assumes */
	snprintf(s, sizeof(s), "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	         (unsigned)(ts_us % 1000000));
	rw_json_kv_cstr(j, key, s);
}

static void kv_date(struct rw_json *j, const char *key, int64_t sec)
{
	struct tm tm;
	if (!rw_format_utc(sec, &tm))
		return;
	char s[96];
	snprintf(s, sizeof(s), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	rw_json_kv_cstr(j, key, s);
}

/* A fixed-size char field the analyzers filled: bounded, possibly empty. */
static void kv_field(struct rw_json *j, const char *key, const char *s, size_t size)
{
	size_t n = strnlen(s, size);
	if (n)
		rw_json_kv_string(j, key, s, n);
}

/* ECS keeps hashes and serials in upper-case hex. */
static void kv_upper_hex(struct rw_json *j, const char *key, const char *s, size_t size)
{
	char up[160];
	size_t n = strnlen(s, size);
	if (n == 0 || n >= sizeof(up))
		return;
	for (size_t i = 0; i < n; i++)
		up[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 'a' + 'A') : s[i];
	rw_json_kv_string(j, key, up, n);
}

static void endpoint(struct rw_json *j, const char *ip_key, const char *port_key,
                     const struct rw_endpoint *ep)
{
	char ip[RW_IP_STR_MAX];
	if (!rw_format_ip(ep, ip))
		return;
	rw_json_kv_cstr(j, ip_key, ip);
	rw_json_kv_uint(j, port_key, ep->port);
}

static void event_fields(struct rw_json *j, const struct rw_record *rec, const char *host,
                         const char *record_id)
{
	kv_time(j, "@timestamp", rec->ts_open_us);
	rw_json_kv_cstr(j, "event.kind", "event");
	rw_json_key(j, "event.category");
	rw_json_begin_array(j);
	rw_json_cstr(j, "network");
	rw_json_end_array(j);
	rw_json_key(j, "event.type");
	rw_json_begin_array(j);
	rw_json_cstr(j, "connection");
	rw_json_end_array(j);
	kv_time(j, "event.start", rec->ts_open_us);
	if (rec->ts_close_us >= rec->ts_open_us && rec->ts_close_us != 0) {
		kv_time(j, "event.end", rec->ts_close_us);
		uint64_t d = rec->ts_close_us - rec->ts_open_us;
		if (d <= UINT64_MAX / 1000)
			rw_json_kv_uint(j, "event.duration", d * 1000);
	}
	/* The record id where the output gave one: stable across runs of the
	 * same capture, unlike a per-run counter (which only standalone uses,
	 * such as the tests, fall back to). */
	char id[24];
	snprintf(id, sizeof(id), "%" PRIu64, rec->id);
	rw_json_kv_cstr(j, "event.id", record_id ? record_id : id);
	if (host)
		rw_json_kv_cstr(j, "host.name", host);
}

static void network_fields(struct rw_json *j, const struct rw_record *rec)
{
	rw_json_kv_cstr(j, "network.transport", "tcp");
	if (rec->client.family == 2 || rec->client.family == 10)
		rw_json_kv_cstr(j, "network.type", rec->client.family == 2 ? "ipv4" : "ipv6");
	endpoint(j, "source.ip", "source.port", &rec->client);
	rw_json_kv_uint(j, "source.bytes", rec->bytes[RW_C2S]);
	endpoint(j, "destination.ip", "destination.port", &rec->server);
	rw_json_kv_uint(j, "destination.bytes", rec->bytes[RW_S2C]);
}

static bool any_tls(const struct rw_record *rec)
{
	return rec->tls_seen[RW_C2S] || rec->tls_seen[RW_S2C] || rec->client_hello_seen ||
	       rec->server_hello_seen || rec->sslv2_client_hello;
}

static void tls_client_fields(struct rw_json *j, const struct rw_record *rec)
{
	const struct rw_tls_client_hello *ch = &rec->ch;
	if (!rec->client_hello_seen)
		return;
	if (ch->has_sni) {
		size_t n = ch->sni_len < sizeof(ch->sni) ? ch->sni_len : sizeof(ch->sni);
		rw_json_kv_string(j, "tls.client.server_name", ch->sni, n);
	}
	kv_field(j, "tls.client.ja3", rec->ja3_md5, sizeof(rec->ja3_md5));
	kv_field(j, "tls.client.ja4", rec->ja4, sizeof(rec->ja4));
	size_t n = ch->n_ciphers < RW_TLS_MAX_CIPHERS ? ch->n_ciphers : RW_TLS_MAX_CIPHERS;
	rw_json_key(j, "tls.client.supported_ciphers");
	rw_json_begin_array(j);
	for (size_t i = 0; i < n; i++) {
		char tmp[8];
		if (!rw_tls_is_grease(ch->ciphers[i]))
			rw_json_cstr(j, rw_format_cipher(ch->ciphers[i], tmp));
	}
	rw_json_end_array(j);
}

static void tls_server_fields(struct rw_json *j, const struct rw_record *rec)
{
	const struct rw_tls_server_hello *sh = &rec->sh;
	if (!rec->server_hello_seen)
		return;
	char tmp[8];
	const char *v = rw_format_tls_version(sh->version, tmp);
	/* ECS splits "SSLv3" into protocol "ssl" and version "3.0". */
	if (strcmp(v, "ssl3") == 0 || strcmp(v, "ssl2") == 0) {
		rw_json_kv_cstr(j, "tls.version", v[3] == '3' ? "3.0" : "2.0");
		rw_json_kv_cstr(j, "tls.version_protocol", "ssl");
	} else {
		rw_json_kv_cstr(j, "tls.version", v);
		rw_json_kv_cstr(j, "tls.version_protocol", "tls");
	}
	rw_json_kv_cstr(j, "tls.cipher", rw_format_cipher(sh->cipher, tmp));
	if (sh->n_alpn)
		kv_field(j, "tls.next_protocol", sh->alpn, sizeof(sh->alpn));
	kv_field(j, "tls.server.ja3s", rec->ja3s_md5, sizeof(rec->ja3s_md5));
}

static void cert_fields(struct rw_json *j, const struct rw_record *rec)
{
	const struct rw_cert *c = &rec->cert;
	if (!rec->certificate_seen)
		return;
	kv_field(j, "tls.server.x509.subject.common_name", c->subject_cn, sizeof(c->subject_cn));
	kv_field(j, "tls.server.x509.subject.distinguished_name", c->subject, sizeof(c->subject));
	kv_field(j, "tls.server.x509.issuer.common_name", c->issuer_cn, sizeof(c->issuer_cn));
	kv_field(j, "tls.server.x509.issuer.distinguished_name", c->issuer, sizeof(c->issuer));
	kv_upper_hex(j, "tls.server.x509.serial_number", c->serial_hex, sizeof(c->serial_hex));
	kv_date(j, "tls.server.x509.not_before", c->not_before);
	kv_date(j, "tls.server.x509.not_after", c->not_after);
	size_t n = c->n_san < RW_CERT_MAX_SAN ? c->n_san : RW_CERT_MAX_SAN;
	if (n) {
		rw_json_key(j, "tls.server.x509.alternative_names");
		rw_json_begin_array(j);
		for (size_t i = 0; i < n; i++)
			rw_json_string(j, c->san[i], strnlen(c->san[i], sizeof(c->san[i])));
		rw_json_end_array(j);
	}
	kv_field(j, "tls.server.x509.public_key_algorithm", c->key_type, sizeof(c->key_type));
	if (c->key_bits > 0)
		rw_json_kv_uint(j, "tls.server.x509.public_key_size", (uint64_t)c->key_bits);
	kv_upper_hex(j, "tls.server.hash.sha1", c->sha1_hex, sizeof(c->sha1_hex));
	kv_upper_hex(j, "tls.server.hash.sha256", c->sha256_hex, sizeof(c->sha256_hex));
}

static void tls_fields(struct rw_json *j, const struct rw_record *rec)
{
	if (!any_tls(rec))
		return;
	rw_json_kv_bool(j, "tls.established", rw_record_tls_established(rec));
	tls_server_fields(j, rec);
	tls_client_fields(j, rec);
	cert_fields(j, rec);
	enum rw_dir from;
	const struct rw_alert *a = rw_format_first_alert(rec, &from);
	if (a) {
		char tmp[8];
		rw_json_kv_cstr(j, "tls.alert.description", rw_format_alert_desc(a, tmp));
		rw_json_kv_cstr(j, "tls.alert.from", from == RW_C2S ? "client" : "server");
	}
}

static void flag_names(struct rw_json *j, const char *key, uint8_t flags,
                       const char *const names[8])
{
	if (!flags)
		return;
	rw_json_key(j, key);
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
static void kv_name_or_hex32(struct rw_json *j, const char *key, const char *name, uint32_t v)
{
	char tmp[16];
	rw_json_kv_cstr(j, key, name_or_hex(name, v, 8, tmp, sizeof(tmp)));
}

static void rdp_fields(struct rw_json *j, const struct rw_record *rec)
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
			rw_json_kv_wire(j, "rdp.cookie", rec->token, rec->token_len);
		else if (rec->token_kind == RW_TOKEN_ROUTING)
			rw_json_kv_wire(j, "rdp.routing_token", rec->token, rec->token_len);
	}
	if (rec->cr_seen && !rec->cr_inferred) {
		const char *names[8];
		size_t n = rw_proto_names(rec->requested_protocols, names);
		rw_json_key(j, "rdp.requested_protocols");
		rw_json_begin_array(j);
		for (size_t i = 0; i < n && i < 8; i++)
			rw_json_cstr(j, names[i] ? names[i] : "unknown");
		rw_json_end_array(j);
		if (rec->neg_req_present)
			flag_names(j, "rdp.neg_req_flags", rec->neg_req_flags, req_flags);
	}
	if (rec->neg_rsp_present) {
		kv_name_or_hex32(j, "rdp.selected_protocol", rw_proto_name(rec->selected_protocol),
		                 rec->selected_protocol);
		flag_names(j, "rdp.neg_rsp_flags", rec->neg_rsp_flags, rsp_flags);
	} else if (rec->cc_seen && !rec->neg_failure_present) {
		/* A Connection Confirm without RDP_NEG_RSP selects standard RDP
		 * security (MS-RDPBCGR 2.2.1.2): the protocol is known. */
		rw_json_kv_cstr(j, "rdp.selected_protocol", "rdp");
	}
	if (rec->neg_failure_present)
		kv_name_or_hex32(j, "rdp.neg_failure", rw_neg_failure_name(rec->neg_failure_code),
		                 rec->neg_failure_code);
	if (rec->scan.on) {
		rw_json_kv_uint(j, "rdpwhy.scan.attempts", rec->scan.attempts);
		rw_json_kv_uint(j, "rdpwhy.scan.refused", rec->scan.refused);
		rw_json_kv_uint(j, "rdpwhy.scan.unanswered", rec->scan.unanswered);
		rw_json_kv_uint(j, "rdpwhy.scan.half_open", rec->scan.half_open);
		rw_json_kv_uint(j, "rdpwhy.scan.client_reset", rec->scan.client_reset);
		rw_json_kv_uint(j,
		                rec->scan.by_target ? "rdpwhy.scan.sources" : "rdpwhy.scan.targets",
		                rec->scan.others);
		rw_json_kv_uint(j, "rdpwhy.scan.ports", rec->scan.ports);
	}
	/* Seconds, signed (host minus local): what an admin compares with
	 * Kerberos' 300 s. */
	if (rec->host_clock_seen)
		rw_json_kv_int(j, "rdp.nla.host_clock_offset_s",
		               rec->host_clock_offset_us / 1000000);
}

/* Per direction, present when not zero: what was retransmitted, the
 * full-size payload the MSS rule judged by, and the holes the capture lost
 * (acknowledged by the receiver or cut by the snapshot length). */
static void tcp_fields(struct rw_json *j, const struct rw_record *rec)
{
	static const char *const keys[][5] = {
	        {"rdpwhy.tcp.retransmitted_bytes.client", "rdpwhy.tcp.largest_retransmit.client",
	         "rdpwhy.tcp.mss.client", "rdpwhy.capture.gaps.client",
	         "rdpwhy.capture.gap_bytes.client"},
	        {"rdpwhy.tcp.retransmitted_bytes.server", "rdpwhy.tcp.largest_retransmit.server",
	         "rdpwhy.tcp.mss.server", "rdpwhy.capture.gaps.server",
	         "rdpwhy.capture.gap_bytes.server"},
	};
	for (int d = 0; d < 2; d++) {
		const struct rw_tcp_stats *t = &rec->tcp[d];
		uint64_t v[5] = {t->retransmitted_bytes, t->max_retransmit, t->mss, t->capture_gaps,
		                 t->capture_gap_bytes};
		for (int k = 0; k < 5; k++)
			if (v[k])
				rw_json_kv_uint(j, keys[d][k], v[k]);
	}
}

/* The capture file and frame numbers (replay): what to open in Wireshark. */
static void source_fields(struct rw_json *j, const struct rw_record *rec)
{
	if (!rec->file_first)
		return;
	rw_json_kv_string(j, "rdpwhy.file", rec->file_first, strlen(rec->file_first));
	if (rec->file_last && strcmp(rec->file_last, rec->file_first) != 0)
		rw_json_kv_string(j, "rdpwhy.file_last", rec->file_last, strlen(rec->file_last));
	rw_json_kv_uint(j, "rdpwhy.frames.first", rec->frame_first);
	rw_json_kv_uint(j, "rdpwhy.frames.last", rec->frame_last);
}

static void rdpwhy_fields(struct rw_json *j, const struct rw_record *rec)
{
	const struct rw_verdict *v = &rec->verdict;
	rw_json_kv_cstr(j, "rdpwhy.cause", rw_cause_name(v->cause));
	rw_json_kv_cstr(j, "rdpwhy.closed_by", rw_side_name(v->closed_by));
	rw_json_kv_cstr(j, "rdpwhy.close_kind", rw_close_kind_name(v->close_kind));
	rw_json_kv_cstr(j, "rdpwhy.phase", rw_phase_name(v->phase));
	rw_json_key(j, "rdpwhy.evidence");
	rw_json_begin_array(j);
	for (size_t i = 0; i < v->n_evidence && i < RW_MAX_EVIDENCE; i++)
		rw_json_string(j, v->evidence[i], strnlen(v->evidence[i], RW_EVIDENCE_LEN));
	rw_json_end_array(j);
	rw_json_kv_cstr(j, "rdpwhy.remediation", v->remediation ? v->remediation : "");
	rw_json_kv_cstr(j, "rdpwhy.confidence", rw_confidence_name(v->confidence));
	if (v->n_alternatives) {
		rw_json_key(j, "rdpwhy.alternatives");
		rw_json_begin_array(j);
		for (size_t i = 0; i < v->n_alternatives && i < RW_MAX_ALTERNATIVES; i++)
			rw_json_cstr(j, rw_cause_name(v->alternatives[i]));
		rw_json_end_array(j);
	}
	if (v->tell_apart)
		rw_json_kv_cstr(j, "rdpwhy.tell_apart", v->tell_apart);

	/* Milliseconds with microsecond precision: on a LAN every phase starts
	 * within the first millisecond and whole milliseconds would all read 0. */
	rw_json_key(j, "rdpwhy.timeline");
	rw_json_begin_object(j);
	for (int p = 0; p < RW_PHASE_COUNT; p++) {
		if (!rw_record_shows_phase(rec, (enum rw_phase)p))
			continue;
		uint64_t ts = rec->phase_ts_us[p];
		uint64_t d = ts > rec->ts_open_us ? ts - rec->ts_open_us : 0;
		rw_json_key(j, rw_phase_name((enum rw_phase)p));
		rw_json_decimal(j, d > INT64_MAX ? INT64_MAX : (int64_t)d, 3);
	}
	rw_json_end_object(j);

	rw_json_kv_bool(j, "rdpwhy.midstream", rec->midstream);
	rw_json_kv_cstr(j, "rdpwhy.capture.directions",
	                rec->directions == RW_DIRS_CLIENT_ONLY   ? "client_only"
	                : rec->directions == RW_DIRS_SERVER_ONLY ? "server_only"
	                                                         : "both");
	rw_json_kv_uint(j, "rdpwhy.tcp.retransmits.client", rec->tcp[RW_C2S].retransmits);
	rw_json_kv_uint(j, "rdpwhy.tcp.retransmits.server", rec->tcp[RW_S2C].retransmits);
	tcp_fields(j, rec);
	rw_json_kv_uint(j, "rdpwhy.tls.encrypted_records.client", rec->encrypted_records[RW_C2S]);
	rw_json_kv_uint(j, "rdpwhy.tls.encrypted_records.server", rec->encrypted_records[RW_S2C]);
	if (rec->sslv2_client_hello)
		rw_json_kv_bool(j, "rdpwhy.tls.sslv2_client_hello", true);
	if (rec->client_hello_seen && rec->ch.n_versions) {
		size_t n = rec->ch.n_versions < RW_TLS_MAX_VERSIONS ? rec->ch.n_versions
		                                                    : RW_TLS_MAX_VERSIONS;
		rw_json_key(j, "rdpwhy.tls.client_versions");
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
		rw_json_key(j, "rdpwhy.tls.client_alpn");
		rw_json_begin_array(j);
		for (size_t i = 0; i < n; i++)
			rw_json_string(j, rec->ch.alpn[i], rec->ch.alpn_len[i]);
		rw_json_end_array(j);
	}
	if (rec->certificate_seen) {
		rw_json_kv_uint(j, "rdpwhy.tls.cert_chain_length", rec->cert_chain_len);
		rw_json_kv_bool(j, "rdpwhy.tls.cert_self_signed", rec->cert.self_signed);
	}
	if (rec->proxy)
		rw_json_kv_uint(j, "rdpwhy.proxy.connect_ms", rec->proxy_connect_ms);
	if (rec->proxy_stop != RW_PROXY_STOP_NONE) {
		/* The side the proxy waited on (its timer) or lost (its kernel
		 * gave up), and what the socket to it showed. */
		const struct rw_peer_tcp *p = &rec->proxy_tcp[rec->proxy_side];
		const char *side = rec->proxy_side == RW_C2S ? "client" : "server";
		if (rec->proxy_stop == RW_PROXY_STOP_LOST) {
			rw_json_kv_cstr(j, "rdpwhy.proxy.lost", side);
			if (p->error_name[0])
				rw_json_kv_cstr(j, "rdpwhy.proxy.socket_error", p->error_name);
		} else {
			rw_json_kv_cstr(j, "rdpwhy.proxy.waited_on", side);
			if (p->known)
				rw_json_kv_cstr(j, "rdpwhy.proxy.waiting_for",
				                p->unacked_bytes ? "network" : "peer");
		}
		if (p->known) {
			rw_json_kv_uint(j, "rdpwhy.proxy.unacked_bytes", p->unacked_bytes);
			rw_json_kv_uint(j, "rdpwhy.proxy.last_ack_ms", p->last_ack_ms);
			rw_json_kv_uint(j, "rdpwhy.proxy.silent_ms", p->silent_ms);
		}
		if (rec->proxy_prompt_wait_ms)
			rw_json_kv_uint(j, "rdpwhy.proxy.prompt_wait_ms",
			                rec->proxy_prompt_wait_ms);
	}
	if (rec->has_original_dst)
		endpoint(j, "rdpwhy.original_destination.ip", "rdpwhy.original_destination.port",
		         &rec->original_dst);
	rw_json_kv_cstr(j, "rdpwhy.version", RDPWHY_VERSION);
}

int rw_record_json(const struct rw_record *rec, const char *host, struct rw_buf *out)
{
	return rw_record_json_ex(rec, host, NULL, out);
}

int rw_record_json_ex(const struct rw_record *rec, const char *host, const char *record_id,
                      struct rw_buf *out)
{
	size_t mark = out->len;
	struct rw_json j;
	rw_json_init(&j, out);
	rw_json_begin_object(&j);
	event_fields(&j, rec, host, record_id);
	network_fields(&j, rec);
	tls_fields(&j, rec);
	rdp_fields(&j, rec);
	rdpwhy_fields(&j, rec);
	source_fields(&j, rec);
	if (record_id)
		rw_json_kv_cstr(&j, "rdpwhy.record_id", record_id);
	rw_json_end_object(&j);
	if (rw_json_finish(&j) < 0 || rw_buf_putc(out, '\n') < 0) {
		rw_buf_truncate(out, mark);
		return -1;
	}
	return 0;
}
