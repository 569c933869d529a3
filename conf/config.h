/* The proxy's configuration: one struct filled from defaults, then the
 * config file, then the command-line flags (the same keys). A bad file stops
 * start-up with "FILE:LINE: message". */
#ifndef RW_CONFIG_H
#define RW_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define RW_CONF_MAX_LISTEN  16
#define RW_CONF_MAX_OUTPUTS 8
#define RW_CONF_ERR         512
#define RW_CONF_MIN_BUFFER  4096 /* smallest max_buffer accepted */

enum rw_upstream_mode {
	RW_UPSTREAM_NONE = 0,    /* not set: start-up refuses */
	RW_UPSTREAM_FIXED,       /* upstream = host:port */
	RW_UPSTREAM_TRANSPARENT, /* iptables/nft REDIRECT or DNAT: SO_ORIGINAL_DST */
	RW_UPSTREAM_TPROXY,      /* TPROXY: the accepted socket's local address */
};

struct rw_listen {
	struct sockaddr_storage addr;
	socklen_t addr_len;
	char text[80];   /* as written, for logs */
	bool dual_stack; /* ":PORT"/"PORT": [::] that takes IPv4 too (IPV6_V6ONLY 0); an
	                    explicit "[::]:PORT" is false (IPv6 only, IPV6_V6ONLY 1) */
};

struct rw_proxy_config {
	struct rw_listen listen[RW_CONF_MAX_LISTEN];
	size_t n_listen;
	enum rw_upstream_mode mode;
	char upstream_host[256]; /* fixed mode: name or address, resolved at start and reload */
	char upstream_port[16];
	/* "TARGET [KEY=VALUE]..." as written (conf/output_spec.h) */
	char outputs[RW_CONF_MAX_OUTPUTS][PATH_MAX];
	size_t n_outputs;
	bool json;               /* format = json (else text) */
	unsigned json_style;     /* RW_CONF_JSON_NESTED (default) or RW_CONF_JSON_FLAT */
	char pcap_dir[PATH_MAX]; /* "" = off */
	char user[64];           /* drop privileges to this user after binding ("" = stay) */
	bool syslog;             /* also log rdpwhy's own events to syslog */
	/* pcap_dir's bounds (proxy/pcap_queue.h): bytes per file, bytes of
	 * rdpwhy's pcaps in the directory (oldest removed first), and the
	 * writer's queue in memory (read at start); 0 = no cap for the first two. */
	size_t pcap_max_file;  /* default 256M */
	size_t pcap_max_total; /* default 4G */
	size_t pcap_queue_max; /* default 64M */
	/* Timeouts in milliseconds; 0 disables. */
	unsigned connect_timeout_ms; /* upstream connect (default 10000) */
	unsigned x224_timeout_ms;    /* idle in tcp_connect/x224 (default 30000) */
	unsigned tls_timeout_ms;     /* idle in tls_handshake (default 30000) */
	unsigned nla_timeout_ms;     /* idle in nla (default 60000) */
	unsigned rdp_timeout_ms;     /* idle in rdp before established (default 60000) */
	unsigned idle_timeout_ms;    /* idle once established (default 2h) */
	/* tls_handshake and nla: a client that acknowledged everything and stays
	 * silent (a person at a certificate, credential or PIN prompt) is waited
	 * for this long in all before the phase timeout fires (default 5m). */
	unsigned prompt_timeout_ms;
	/* TCP on both legs: keepalive probes after keepalive_idle of silence,
	 * every keepalive_interval, keepalive_count unanswered = dead (whole
	 * seconds; idle 0 = no keepalive); TCP_USER_TIMEOUT: how long sent data
	 * may stay unacknowledged (0 = the kernel's, about 15 minutes). */
	unsigned keepalive_idle_ms;     /* default 60000 */
	unsigned keepalive_interval_ms; /* default 10000 */
	unsigned keepalive_count;       /* default 6 */
	unsigned user_timeout_ms;       /* default 120000 */
	unsigned grace_ms;        /* SIGTERM: open connections get this long (default 10000) */
	size_t max_buffer;        /* per-direction high-water mark in bytes (default 256 KiB) */
	unsigned max_connections; /* 0 = unlimited */
	unsigned workers;         /* event loops, one thread each (default 1; 0 = one per CPU) */
	char expected_cert_sha256[65]; /* lower-case hex; "" = no expectation */
	/* Inspection with the host's own certificate and key (PEM files; both
	 * set = on; proxy/inspect_tls.c loads and checks them at start), and
	 * where both TLS legs' secrets go (NSS key log format; "" = nowhere). */
	char inspect_cert[PATH_MAX];
	char inspect_key[PATH_MAX];
	char keylog[PATH_MAX];
	/* Defaults of the outputs' options (conf/output_spec.h). */
	char siem_ca_file[PATH_MAX];   /* tls://: CAs the receiver's certificate must chain to */
	char siem_cert_file[PATH_MAX]; /* tls://: client certificate ("" = none) */
	char siem_key_file[PATH_MAX];  /* tls://: its key ("" = in the certificate file) */
	char siem_spool_dir[PATH_MAX]; /* tcp:// and tls://: spool directory (required) */
	size_t siem_spool_max;         /* bytes per output (default 64M) */
	unsigned siem_spool_policy;    /* RW_CONF_DROP_OLDEST or RW_CONF_DROP_NEWEST */
	unsigned siem_format;          /* RW_CONF_SIEM_JSON, _RFC5424 or _CEF */
	unsigned siem_flush_ms;        /* at exit, how long streams may take to deliver
	                                  what is spooled (default 5000; the rest stays
	                                  spooled for the next start) */
};

/* Values of siem_spool_policy and siem_format (the same numbers as
 * enum rw_spool_policy and enum rw_siem_format). */
#define RW_CONF_DROP_OLDEST  0
#define RW_CONF_DROP_NEWEST  1
#define RW_CONF_SIEM_JSON    0
#define RW_CONF_SIEM_RFC5424 1
#define RW_CONF_SIEM_CEF     2
/* Values of json_style (the same numbers as enum rw_json_style). */
#define RW_CONF_JSON_NESTED 0
#define RW_CONF_JSON_FLAT   1

void rw_config_defaults(struct rw_proxy_config *c);
/* Parses the file; on error returns -1 with "FILE:LINE: message" in err. */
int rw_config_load(const char *path, struct rw_proxy_config *c, char *err, size_t errlen);
/* Applies one key = value (file line or flag). Returns -1 with a message. */
int rw_config_set(struct rw_proxy_config *c, const char *key, const char *value, char *err,
                  size_t errlen);
/* Applies key = value settings given as command-line flags, in order, over
 * what the file set. Flags win: a list given as flags (listen, output)
 * replaces the file's list, an upstream mode given as a flag replaces the
 * file's mode. -1 with "--KEY: message". */
int rw_config_apply_flags(struct rw_proxy_config *c, const char *const *keys,
                          const char *const *values, size_t n, char *err, size_t errlen);
/* The number of v among the values of a choice key ("siem_spool_policy":
 * RW_CONF_DROP_*, "siem_format": RW_CONF_SIEM_*), or -1. */
int rw_config_choice(const char *key, const char *v);
/* Checks the whole config is usable (listeners, upstream mode, outputs...). */
int rw_config_validate(const struct rw_proxy_config *c, char *err, size_t errlen);
/* Only the outputs (each spec with the global keys it inherits): what
 * capture and replay use of a config file. */
int rw_config_validate_outputs(const struct rw_proxy_config *c, char *err, size_t errlen);
/* Parses "ADDR:PORT", "[V6]:PORT" or ":PORT"/"PORT" (all addresses, IPv6 dual-stack). */
int rw_parse_listen(const char *text, struct rw_listen *out, char *err, size_t errlen);

/* conf/source.c: where a configuration comes from — a file (NULL: flags
 * only) and key = value settings from the command line, applied over it in
 * order (strings not copied: they must outlive the source). The proxy keeps
 * its source and builds the configuration again from it on SIGHUP. */
#define RW_CONF_MAX_FLAGS 64
struct rw_config_source {
	const char *path;
	const char *keys[RW_CONF_MAX_FLAGS];
	const char *values[RW_CONF_MAX_FLAGS];
	size_t n;
};
/* Adds one flag; -1 when there are RW_CONF_MAX_FLAGS already. */
int rw_config_source_add(struct rw_config_source *src, const char *key, const char *value);
/* Defaults, the file, the flags, then rw_config_validate: 0, or -1 with
 * "FILE:LINE: message" / "--KEY: message" / the validation's in err. */
int rw_config_build(const struct rw_config_source *src, struct rw_proxy_config *c, char *err,
                    size_t errlen);

/* Added by conf/config.c: */
/* rw_config_load on text in memory; name stands for the file in messages. */
int rw_config_parse(const char *name, const char *text, size_t len, struct rw_proxy_config *c,
                    char *err, size_t errlen);
/* Writes c in the file format (every key, so defaults show), snprintf-style:
 * returns the length it needs; loading the text gives c back. */
size_t rw_config_format(const struct rw_proxy_config *c, char *buf, size_t len);
/* The i-th key name ("listen", "upstream", ...), NULL past the last. */
const char *rw_config_key(size_t i);
/* "none", "fixed", "transparent", "tproxy". */
const char *rw_upstream_mode_name(enum rw_upstream_mode m);

#endif
