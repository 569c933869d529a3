/* NTLM messages as the probe and inspection see them inside CredSSP
 * (MS-NLMP 2.2.1.1 NEGOTIATE_MESSAGE, 2.2.1.2 CHALLENGE_MESSAGE, 2.2.2.1
 * AV_PAIR, 2.2.2.10 VERSION). Pure: no I/O, no allocation. */
#ifndef RW_NTLM_H
#define RW_NTLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest name kept from an AV_PAIR (UTF-8, after conversion from UTF-16LE;
 * longer names are cut at a character boundary and flagged). Lone surrogates,
 * an odd last byte and U+0000 become U+FFFD. */
#define RW_NTLM_NAME_MAX 256

struct rw_ntlm_challenge {
	uint32_t flags; /* NegotiateFlags */
	uint8_t server_challenge[8];
	char target_name[RW_NTLM_NAME_MAX]; /* TargetName (UTF-8) */
	/* TargetInfo AV_PAIRs, UTF-8; "" when absent. */
	char nb_computer[RW_NTLM_NAME_MAX];  /* MsvAvNbComputerName (1) */
	char nb_domain[RW_NTLM_NAME_MAX];    /* MsvAvNbDomainName (2) */
	char dns_computer[RW_NTLM_NAME_MAX]; /* MsvAvDnsComputerName (3) */
	char dns_domain[RW_NTLM_NAME_MAX];   /* MsvAvDnsDomainName (4) */
	char dns_tree[RW_NTLM_NAME_MAX];     /* MsvAvDnsTreeName (5) */
	bool names_cut;                      /* a name was longer than kept */
	bool has_timestamp;                  /* MsvAvTimestamp (7) present */
	uint64_t timestamp;                  /* FILETIME: 100 ns since 1601-01-01 UTC */
	bool has_version;                    /* NTLMSSP_NEGOTIATE_VERSION and room for it */
	uint8_t os_major, os_minor;
	uint16_t os_build;
	uint8_t ntlm_revision;
};

/* Writes a NEGOTIATE_MESSAGE asking for the target info and the version
 * (flags as Windows clients send them: UNICODE, OEM, REQUEST_TARGET, NTLM,
 * ALWAYS_SIGN, EXTENDED_SESSIONSECURITY, VERSION, 128, 56, KEY_EXCH, SIGN,
 * SEAL) with empty domain and workstation. Returns its length, or 0 when cap
 * is too small. */
size_t rw_ntlm_negotiate(uint8_t *out, size_t cap);

/* Decodes a CHALLENGE_MESSAGE (signature "NTLMSSP\0", type 2). Returns n or
 * an rw_status < 0 (RW_E_TYPE: not a CHALLENGE_MESSAGE, RW_E_LENGTH: a field
 * points outside the message, RW_E_VALUE: malformed AV_PAIR list). Fields
 * that point outside p[0..n) are an error, never read. */
int rw_ntlm_challenge_parse(const uint8_t *p, size_t n, struct rw_ntlm_challenge *out);

/* FILETIME (100 ns ticks since 1601) to microseconds since 1970 (may be
 * negative for dates before 1970). */
int64_t rw_filetime_to_unix_us(uint64_t filetime);

#endif
