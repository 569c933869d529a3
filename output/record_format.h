/* Formatters of a connection record: one JSON line (Elastic Common Schema
 * names where they exist, rdp.* and rdpwhy.* for the rest) and a short text
 * report for a person. Both append to `out` and, on failure, leave it as it
 * was: a sink never sees half a record. */
#ifndef RW_RECORD_FORMAT_H
#define RW_RECORD_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "record.h"

/* The shape of the JSON record: nested objects (ECS's own form, what jq and
 * Elasticsearch expect: {"event":{"kind":...},"rdpwhy":{"cause":...}}), or
 * one flat object with dotted keys ({"event.kind":...,"rdpwhy.cause":...}).
 * The config key json_style and the outputs' json_style= option. */
enum rw_json_style {
	RW_JSON_NESTED = 0,
	RW_JSON_FLAT = 1,
};
/* "nested", "flat". */
const char *rw_json_style_name(enum rw_json_style s);
/* An enum rw_json_style, or -1 when s is neither name. */
int rw_json_style_parse(const char *s);

/* One JSON object on one line, newline-terminated. The keys are those of
 * record_keys.h, in its order; a fact that is unknown, absent or that the
 * front end could not see has no key (no nulls, no stand-in 0). host: the
 * observer's name for host.name, or NULL. record_id, when not NULL, is
 * event.id and "rdpwhy.record_id" (the record's unique id), the last key.
 * Returns 0, or -1 on allocation failure (errno set by rw_buf). */
int rw_record_json_style(const struct rw_record *rec, const char *host, const char *record_id,
                         enum rw_json_style style, struct rw_buf *out);
/* The same, nested. */
int rw_record_json(const struct rw_record *rec, const char *host, struct rw_buf *out);
int rw_record_json_ex(const struct rw_record *rec, const char *host, const char *record_id,
                      struct rw_buf *out);

/* evidence_at.c: the mark evidence line i rests on, NULL when none; and
 * how it is written ("frame 12", "x.pcap frame 3", "client byte 517, +1.250
 * ms"); 0, or -1 when out is too small. */
const struct rw_mark *rw_evidence_mark(const struct rw_record *rec, size_t i);
int rw_format_mark(const struct rw_record *rec, const struct rw_mark *m, char *out, size_t n);

/* A few lines for a person (see record_text.c), each newline-terminated. Wire
 * strings are escaped (\xhh) so that they cannot forge lines or drive the
 * terminal. Returns 0 or -1 as above. */
int rw_record_text(const struct rw_record *rec, struct rw_buf *out);
/* The same, with the cause (and a low confidence) coloured by SGR codes
 * when colour is set: for a terminal only, never a file. */
int rw_record_text_ex(const struct rw_record *rec, struct rw_buf *out, bool colour);

/* Helpers shared by the two formatters. */
#define RW_IP_STR_MAX 46 /* INET6_ADDRSTRLEN */

/* Numeric address of an endpoint; false when the family is neither 2 nor 10. */
bool rw_format_ip(const struct rw_endpoint *ep, char out[RW_IP_STR_MAX]);
/* "ip:port", or "[ip]:port" for IPv6; false (and "") as rw_format_ip. */
#define RW_IP_PORT_STR_MAX (RW_IP_STR_MAX + 8)
bool rw_format_ip_port(const struct rw_endpoint *ep, char out[RW_IP_PORT_STR_MAX]);
/* "+<ms> ms" of a time in µs since the connection opened, with the µs as
 * ".ddd" after the ms when frac ("+12.345 ms"): its length. */
#define RW_PLUS_MS_STR_MAX 26
size_t rw_format_plus_ms(uint64_t us, bool frac, char out[RW_PLUS_MS_STR_MAX]);
/* v in decimal, NUL-terminated (printf's PRIu64 without printf: the record
 * paths call it several times a record): its length. */
#define RW_U64_STR_MAX 21
size_t rw_format_u64(char out[RW_U64_STR_MAX], uint64_t v);
/* UTC calendar time of seconds since the epoch; false when the year is not
 * within 0..9999 (RFC 3339 has four-digit years). */
bool rw_format_utc(int64_t sec, struct tm *tm);
/* name, or else v as "0x" and `digits` hex digits, written into tmp (size
 * bytes): the fallback of every name below. */
const char *rw_format_name_or_hex(const char *name, uint32_t v, int digits, char *tmp, size_t size);
/* Display string of a TLS version: "1.2", "ssl3", or "0x7F17" when unknown. */
const char *rw_format_tls_version(uint16_t v, char tmp[8]);
/* IANA cipher suite name, or "0xC02F" when unknown. */
const char *rw_format_cipher(uint16_t c, char tmp[8]);
/* The first alert seen (earlier timestamp; the server's on a tie), or NULL;
 * *from gets its sender. */
const struct rw_alert *rw_format_first_alert(const struct rw_record *rec, enum rw_dir *from);
/* Alert description name, "encrypted" when it could not be read, or "0x2A"
 * (for the text report; the JSON record has tls.alert.encrypted instead). */
const char *rw_format_alert_desc(const struct rw_alert *a, char tmp[8]);

#endif
