/* Client profiles (the *.conf files of conf/profiles): what a common RDP client offers
 * when it connects — requested security protocols, TLS versions, cipher
 * suites — with the public source of those values. The probe replays each
 * profile's offer against the host. Parsing is pure; loading a directory is
 * the only I/O here. */
#ifndef RW_PROFILE_H
#define RW_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RW_PROFILE_MAX_SUITES 96

enum rw_cert_policy {
	RW_CERT_PROMPT = 0, /* warns the user, who may go on (mstsc's default) */
	RW_CERT_REFUSE,     /* refuses a certificate it cannot verify */
};

struct rw_profile {
	char id[40];                  /* file name without .conf: "windows11_mstsc" */
	char name[96];                /* "Windows 11 mstsc (Remote Desktop Connection)" */
	char source[1024];            /* where the values come from (URLs, documents) */
	uint32_t requested_protocols; /* RDP_NEG_REQ bits (x224.h RW_PROTO_*) */
	uint16_t tls_versions[4];     /* 0x0301..0x0304, ascending */
	size_t n_tls_versions;
	uint16_t suites[RW_PROFILE_MAX_SUITES]; /* IANA code points, offer order */
	size_t n_suites;
	char groups[256];  /* OpenSSL groups list ("X25519:P-256:P-384"); "" = OpenSSL's */
	char sigalgs[512]; /* OpenSSL sigalgs list; "" = OpenSSL's */
	bool kerberos;     /* NLA tries Kerberos first (domain-joined Windows) */
	enum rw_cert_policy cert_policy;
};

/* Parses one profile file's text (`key = value` lines, `#` comments, the
 * same syntax as rdpwhy.conf). id is the profile's id (from the file name).
 * Returns 0, or -1 with "NAME:LINE: message" in err. */
int rw_profile_parse(const char *id, const char *text, size_t len, struct rw_profile *out,
                     char *err, size_t errlen);

/* Loads every *.conf in dir, sorted by file name, into a malloc'd array
 * (*out, *n; free() it). Returns 0, or -1 with the message in err (a bad
 * profile stops the load: its FILE:LINE and why). */
int rw_profiles_load(const char *dir, struct rw_profile **out, size_t *n, char *err, size_t errlen);

/* The cipher suite names the profiles accept (IANA names, e.g.
 * "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"): the name of a code point, or NULL
 * when the table does not know it; the code point of a name (0, or -1 when
 * unknown); the i-th entry of the table (NULL past its end). */
const char *rw_profile_suite_name(uint16_t code);
int rw_profile_suite_code(const char *name, uint16_t *code);
const char *rw_profile_suite_at(size_t i, uint16_t *code);

#endif
