/* rdpwhy probe: connect to a host as a client, a few dozen paced
 * connections, and find what it accepts — security layers, standard RDP
 * encryption, TLS versions and suites, its certificate, its NTLM identity
 * and clock — then replay each client profile's offer and say which would
 * connect. Every connection's bytes go through the analyzers' own session,
 * so a refusal gets the same cause code as a failed user connection. */
#ifndef RW_PROBE_H
#define RW_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntlm.h"
#include "profile.h"
#include "rw_types.h"
#include "tls_cert.h"

/* What one probe connection (or one step of it) ended with. */
enum rw_probe_outcome {
	RW_PO_NOT_RUN = 0, /* not tried: nothing to try it on, or the budget ran out */
	RW_PO_OK,          /* the step completed as a client would want */
	RW_PO_REFUSED,     /* RST to the SYN */
	RW_PO_DROPPED,     /* SYN never answered within the timeout */
	RW_PO_UNREACHABLE, /* ICMP unreachable / no route */
	RW_PO_CLOSED,      /* the host closed (FIN) before answering */
	RW_PO_RESET,       /* the host reset */
	RW_PO_TIMEOUT,     /* connected, but no answer within the timeout */
	RW_PO_REJECTED,    /* a protocol refusal: RDP_NEG_FAILURE, a TLS alert */
	RW_PO_NOT_RDP,     /* the answer was not what the protocol allows */
	RW_PO_ERROR,       /* a local failure (resources, OpenSSL) */
};

#define RW_PROBE_LAYERS       5 /* rdp, ssl, hybrid, hybrid_ex, rdstls */
#define RW_PROBE_ENC_METHODS  4 /* 40-bit, 56-bit, 128-bit, FIPS */
#define RW_PROBE_TLS_VERSIONS 4 /* 1.0 .. 1.3 */
#define RW_PROBE_MAX_SUITES   96
#define RW_PROBE_MAX_PROFILES 16

struct rw_probe_opts {
	const char *host; /* name or address as given */
	uint16_t port;
	const char *server_name; /* name the certificate must match (default host) */
	const char *ca_file;     /* trust anchors for the chain check (default: system) */
	unsigned timeout_ms;     /* per step */
	unsigned pace_ms;        /* pause between connections */
	unsigned max_connections;
	const char *profiles_dir;
	int64_t clock_offset_us; /* tests: added to our clock (0) */
};

/* One X.224 Connection Request with one requestedProtocols value. */
struct rw_probe_layer {
	uint32_t requested;
	enum rw_probe_outcome outcome;
	bool neg_rsp; /* RDP_NEG_RSP: selected is valid */
	uint32_t selected;
	uint8_t rsp_flags;
	bool neg_failure;
	uint32_t failure_code;
	bool bare_cc;        /* Connection Confirm without negotiation data: rdp */
	enum rw_cause cause; /* from the analyzers when the host refused */
	unsigned ms;         /* request to answer */
};

/* Standard RDP security: one MCS Connect Initial per encryption method. */
struct rw_probe_enc {
	uint32_t method; /* RW_ENC_* asked for */
	enum rw_probe_outcome outcome;
	bool accepted;  /* the host's SC_SECURITY chose that method */
	uint32_t level; /* its encryptionLevel */
};

struct rw_probe_tls_version {
	uint16_t version; /* 0x0301 .. 0x0304 */
	enum rw_probe_outcome outcome;
	char cipher[64];     /* suite the host chose (IANA name), when OK */
	enum rw_cause cause; /* from the analyzers when refused */
	char detail[128];    /* the alert, or how it ended */
};

struct rw_probe_suite {
	uint16_t id;      /* IANA code point */
	char name[64];    /* IANA name */
	uint16_t version; /* the version it was accepted with */
};

struct rw_probe_cert {
	bool seen;
	struct rw_cert leaf;
	size_t chain_len;
	char sig_alg[48]; /* "sha256WithRSAEncryption" */
	long days_left;   /* until notAfter (negative: expired that long ago) */
	bool expired, not_yet_valid;
	int name_match;        /* 1 matches server_name, 0 does not, -1 not checked */
	bool trusted;          /* chain verifies against the trust anchors */
	char verify_error[96]; /* OpenSSL's reason when not trusted */
};

struct rw_probe_nla {
	enum rw_probe_outcome outcome;
	bool challenge; /* a CHALLENGE_MESSAGE was decoded */
	struct rw_ntlm_challenge ch;
	bool has_offset;
	int64_t offset_us; /* host clock minus ours */
	bool error_reply;  /* TSRequest.errorCode instead */
	uint32_t error_code;
	uint32_t credssp_version;
	char detail[128];
};

enum rw_probe_verdict {
	RW_PV_UNKNOWN = 0, /* the probe could not tell */
	RW_PV_CONNECTS,
	RW_PV_WARNS, /* connects after the user accepts a warning */
	RW_PV_FAILS,
};

struct rw_probe_profile {
	const struct rw_profile *profile;
	/* What its own connection showed (filled by the run). */
	enum rw_probe_outcome x224; /* Connection Request answered (OK) or not */
	enum rw_probe_outcome tls;  /* NOT_RUN when the host chose no TLS */
	bool neg_failure;
	uint32_t failure_code;
	enum rw_cause wire_cause; /* the analyzers' cause for a refusal */
	char detail[128];         /* the alert or how the step ended */
	/* The judgment (rw_probe_judge). */
	enum rw_probe_verdict verdict;
	enum rw_cause cause; /* RW_CAUSE_UNKNOWN when it connects */
	uint32_t selected;   /* the security protocol the host chose */
	uint16_t version;    /* TLS version negotiated */
	char cipher[64];
	size_t not_offered; /* suites of the profile OpenSSL cannot offer */
	char why[256];      /* one line: what happened */
	char fix[640];      /* the setting to change, host or client */
};

struct rw_probe_findings {
	struct rw_probe_opts opts;
	char address[64]; /* numeric address connected to */
	enum rw_probe_outcome tcp;
	unsigned tcp_ms; /* SYN to SYN-ACK (or to the refusal) */
	struct rw_probe_layer layers[RW_PROBE_LAYERS];
	bool tls_first;       /* something answered a bare ClientHello with TLS */
	bool tls_first_tried; /* that ClientHello was sent (and got no TLS unless tls_first) */
	struct rw_probe_enc enc[RW_PROBE_ENC_METHODS];
	uint32_t enc_via; /* the request used for TLS steps (ssl or hybrid) */
	struct rw_probe_tls_version versions[RW_PROBE_TLS_VERSIONS];
	struct rw_probe_suite suites[RW_PROBE_MAX_SUITES];
	size_t n_suites;
	bool suites_cut; /* budget ran out before the list ended */
	struct rw_probe_cert cert;
	struct rw_probe_nla nla;
	struct rw_probe_profile profiles[RW_PROBE_MAX_PROFILES];
	size_t n_profiles;
	unsigned connections; /* made so far */
	bool budget_hit;
	int64_t started_us; /* wall clock */
};

/* Runs every step against opts->host. Returns 0 when the probe ran (the
 * findings say what the host accepts), -1 when it could not (err says why:
 * the name does not resolve, the profiles do not load). */
int rw_probe_run(const struct rw_probe_opts *opts, const struct rw_profile *profiles,
                 size_t n_profiles, struct rw_probe_findings *f, char *err, size_t errlen);

/* 0 every profile connects cleanly, 1 some would not (or warn), as the
 * command's exit status. */
int rw_probe_exit_status(const struct rw_probe_findings *f);

const char *rw_probe_outcome_name(enum rw_probe_outcome o);
const char *rw_probe_verdict_name(enum rw_probe_verdict v);
const char *rw_tls_version_label(uint16_t v); /* "1.0" .. "1.3" */

/* Judges one profile from its own connection's outcome and the host-wide
 * findings (certificate, clock). Pure. */
void rw_probe_judge(const struct rw_probe_findings *f, struct rw_probe_profile *pp);

/* Outputs (probe/probe_report.c). */
struct rw_buf;
void rw_probe_text(const struct rw_probe_findings *f, struct rw_buf *out);
/* JSON lines (one for the host, one per profile), keys nested or flat. */
int rw_probe_json(const struct rw_probe_findings *f, bool nested, struct rw_buf *out);

#endif
