/* One record output as the user writes it, in the config file
 * ("output = SPEC") or on the command line ("--output SPEC"):
 *
 *   TARGET [KEY=VALUE]...
 *
 * TARGET is "-" (stdout), a file path, "syslog" (the local syslog(3)), or
 * udp://HOST:PORT, tcp://HOST:PORT, tls://HOST:PORT (IPv6 in brackets), or
 * kafka://HOST:PORT[,HOST:PORT...]/TOPIC (the bootstrap brokers).
 * The options, separated by blanks, override the global keys for this output:
 *
 *   format=text|json            files and stdout (default: format)
 *   format=json|rfc5424|cef     syslog and streams (default: siem_format)
 *   json_style=nested|flat      the JSON record's shape (default: json_style)
 *   mode=0640                   files: permissions (set on every open)
 *   ca_file= cert_file= key_file=       tls:// (default: siem_ca_file...)
 *   spool_dir= spool_max= spool_policy= tcp://, tls:// and kafka://
 *                               (default: a directory named after the
 *                               output under siem_spool_dir; siem_spool_max; ...)
 *   security_protocol=plaintext|ssl|sasl_plaintext|sasl_ssl   kafka://
 *   sasl_mechanism=PLAIN|SCRAM-SHA-256|SCRAM-SHA-512 sasl_username=
 *   sasl_password=                                   kafka:// (SASL)
 *   kafka:// takes ca_file= cert_file= key_file= too (TLS), and only
 *   format=json (the record as the message value).
 *
 * The target ends at the first NAME=VALUE word, so a path (quoted in the
 * config file) may hold blanks; option values cannot. Pure: no I/O. */
#ifndef RW_OUTPUT_SPEC_H
#define RW_OUTPUT_SPEC_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

struct rw_proxy_config;

enum rw_output_kind {
	RW_OUT_STDOUT,
	RW_OUT_FILE,
	RW_OUT_SYSLOG,
	RW_OUT_UDP,
	RW_OUT_TCP,
	RW_OUT_TLS,
	RW_OUT_KAFKA,
};

/* kafka:// security.protocol; NONE = not given (resolved from the other
 * options: sasl_ssl with a SASL user, ssl with TLS files, else plaintext). */
enum rw_kafka_security {
	RW_KAFKA_SEC_NONE = 0,
	RW_KAFKA_SEC_PLAINTEXT,
	RW_KAFKA_SEC_SSL,
	RW_KAFKA_SEC_SASL_PLAINTEXT,
	RW_KAFKA_SEC_SASL_SSL,
};

enum rw_out_format {
	RW_OUTF_DEFAULT = 0, /* not given: the global key decides */
	RW_OUTF_TEXT,
	RW_OUTF_JSON,    /* files: JSON lines; syslog/streams: RFC 5424 with the JSON record */
	RW_OUTF_RFC5424, /* syslog/streams: the facts as RFC 5424 structured data */
	RW_OUTF_CEF,     /* syslog/streams: ArcSight CEF */
};

/* json_style=: RW_OUTJ_DEFAULT until resolved from the global key. */
enum rw_out_json_style {
	RW_OUTJ_DEFAULT = 0,
	RW_OUTJ_NESTED,
	RW_OUTJ_FLAT,
};

struct rw_output_spec {
	enum rw_output_kind kind;
	char target[PATH_MAX]; /* as written: "-", the path, "syslog" or the URL */
	char host[256];        /* streams */
	char port[16];
	enum rw_out_format format;
	enum rw_out_json_style json_style;
	char ca_file[PATH_MAX];
	char cert_file[PATH_MAX];
	char key_file[PATH_MAX]; /* "" = in cert_file */
	char spool_dir[PATH_MAX];
	uint64_t spool_max; /* 0 = not given */
	int spool_policy;   /* -1 = not given; else RW_CONF_DROP_* */
	unsigned mode;      /* files: permissions; 0 = not given (0640) */
	/* kafka:// (host and port stay empty) */
	char brokers[1024]; /* "HOST:PORT,..." as librdkafka's bootstrap.servers */
	char topic[256];
	enum rw_kafka_security security;
	char sasl_mechanism[16]; /* "" = not given (PLAIN) */
	char sasl_username[256];
	char sasl_password[256];
};

/* Parses SPEC. 0, or -1 with a message (no "output:" prefix). */
int rw_output_spec_parse(const char *spec, struct rw_output_spec *out, char *err, size_t errlen);

/* Fills what the spec left open from the global keys of c (format,
 * siem_*), so that two outputs configured alike compare equal (memcmp),
 * and checks that a stream has what it needs (a spool directory, a CA).
 * 0, or -1 with a message. */
int rw_output_spec_resolve(struct rw_output_spec *s, const struct rw_proxy_config *c, char *err,
                           size_t errlen);

/* True for udp://, tcp:// and tls://. */
static inline int rw_output_is_stream(enum rw_output_kind k)
{
	return k == RW_OUT_UDP || k == RW_OUT_TCP || k == RW_OUT_TLS;
}
/* "plaintext", "ssl", "sasl_plaintext", "sasl_ssl" ("" for NONE). */
const char *rw_kafka_security_name(enum rw_kafka_security s);
/* "text", "json", "rfc5424", "cef" ("" for RW_OUTF_DEFAULT). */
const char *rw_out_format_name(enum rw_out_format f);

#endif
