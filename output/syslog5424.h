/* Records as SIEM messages: syslog RFC 5424 with the ECS JSON record as
 * MSG (format json), with the record's facts as structured data (format
 * rfc5424), or with an ArcSight CEF line as MSG (format cef); and the
 * RFC 6587 octet-counting frame for TCP/TLS. Pure: no I/O, no clock, no
 * random numbers — the caller passes the host name, pid and the record's
 * unique id. Like the other formatters, each function appends to `out` and,
 * on failure, leaves it as it was. */
#ifndef RW_SYSLOG5424_H
#define RW_SYSLOG5424_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "record.h"

/* SD-ID of rdpwhy's structured data. 32473 is the private enterprise number
 * reserved for documentation (RFC 5612). */
#define RW_SD_ID         "rdpwhy@32473"
#define RW_RECORD_ID_HEX 32 /* 128-bit unique id as lower-case hex */

enum rw_siem_format {
	RW_SIEM_JSON = 0, /* MSG = the ECS JSON record, with rdpwhy.record_id */
	RW_SIEM_RFC5424,  /* the facts as SD params, MSG = a one-line summary */
	RW_SIEM_CEF,      /* MSG = CEF:0|rdpwhy|rdpwhy|VERSION|CAUSE|name|sev|ext */
};

/* "json", "rfc5424", "cef"; -1 when unknown. */
int rw_siem_format_parse(const char *s);
const char *rw_siem_format_name(enum rw_siem_format f);

struct rw_siem_meta {
	const char *host; /* HOSTNAME and host.name; NULL or "" = "-" */
	long pid;         /* PROCID; <= 0 = "-" */
	const char *id;   /* the record's unique id (RW_RECORD_ID_HEX hex digits) */
	int facility;     /* 0..23; LOG_LOCAL0 is 16 */
	int json_style;   /* format json: enum rw_json_style (0, nested, by default) */
};

/* One complete RFC 5424 message, no trailing newline, no frame:
 *   <PRI>1 TIMESTAMP HOSTNAME rdpwhy PROCID - [rdpwhy@32473 id="..." ...] MSG
 * TIMESTAMP is the record's start (@timestamp) in UTC with microseconds.
 * Severity: 6 (informational) for a normal close, 4 (warning) otherwise.
 * Returns 0 or -1 (errno from rw_buf; EINVAL for a bad id). */
int rw_siem_message(enum rw_siem_format fmt, const struct rw_record *rec,
                    const struct rw_siem_meta *m, struct rw_buf *out);
/* The same; *sd_off and *msg_off (either may be NULL) get the offsets in out
 * of the structured data ("[rdpwhy@...") and of MSG, e.g. for syslog(3),
 * which writes its own header. */
int rw_siem_message_parts(enum rw_siem_format fmt, const struct rw_record *rec,
                          const struct rw_siem_meta *m, struct rw_buf *out, size_t *sd_off,
                          size_t *msg_off);

/* RFC 6587 octet counting: "LEN SP MSG". */
int rw_syslog_frame(const char *msg, size_t len, struct rw_buf *out);

/* ---- building blocks (exposed for tests) ---------------------------------- */

/* A header field: PRINTUSASCII (33..126) only — other bytes become '_' —
 * cut at max characters; "-" when empty. */
int rw_syslog_header_field(const char *s, size_t max, struct rw_buf *out);
/* Wire strings are first made text as in the JSON record: a backslash is
 * doubled, control bytes and invalid UTF-8 become \xhh (valid UTF-8 passes);
 * then the format's escaping applies to that text. */
/* A PARAM-VALUE (RFC 5424 6.3.3): '"', '\' and ']' get a backslash. */
int rw_sd_value(const char *s, size_t n, struct rw_buf *out);
/* CEF header field: '|' and '\' get a backslash. */
int rw_cef_header(const char *s, size_t n, struct rw_buf *out);
/* CEF extension value: '=' and '\' get a backslash, newline is \n and
 * carriage return \r (CEF's own escapes, not \xhh). */
int rw_cef_value(const char *s, size_t n, struct rw_buf *out);

#endif
