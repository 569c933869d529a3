/* The client profile parser (probe/profile.c). Profiles are files an
 * operator adds to conf/profiles/, read by every `rdpwhy probe`: the parser
 * must refuse anything with a message, never crash or over-read.
 * Input: the text of one profile file. Contracts: a refused text leaves a
 * terminated message starting with the profile id; an accepted one has a
 * name, a source, 1..RW_PROFILE_MAX_SUITES distinct suites, TLS versions
 * strictly ascending within 1.0..1.3, only known requestedProtocols bits,
 * terminated strings; and parsing is deterministic (same text, same result). */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "profile.h"
#include "x224.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rw_profile p, again;
	char err[512], err2[512];
	char *text = (char *)fuzz_dup(data, size);
	memset(err, 0x55, sizeof(err));
	int rc = rw_profile_parse("fuzz", text, size, &p, err, sizeof(err));
	if (rc < 0) {
		FUZZ_CHECK(rc == -1);
		FUZZ_CHECK(fuzz_cstr_in(err, sizeof(err)));
		FUZZ_CHECK(!strncmp(err, "fuzz:", 5) || !strncmp(err, "fuzz: ", 6));
	} else {
		FUZZ_CHECK(rc == 0);
		FUZZ_CHECK(!strcmp(p.id, "fuzz"));
		FUZZ_CHECK(fuzz_cstr_in(p.name, sizeof(p.name)) && p.name[0]);
		FUZZ_CHECK(fuzz_cstr_in(p.source, sizeof(p.source)) && p.source[0]);
		FUZZ_CHECK(fuzz_cstr_in(p.groups, sizeof(p.groups)));
		FUZZ_CHECK(fuzz_cstr_in(p.sigalgs, sizeof(p.sigalgs)));
		FUZZ_CHECK((p.requested_protocols &
		            ~(uint32_t)(RW_PROTO_SSL | RW_PROTO_HYBRID | RW_PROTO_RDSTLS |
		                        RW_PROTO_HYBRID_EX | RW_PROTO_RDSAAD)) == 0);
		FUZZ_CHECK(p.n_tls_versions >= 1 && p.n_tls_versions <= 4);
		for (size_t i = 0; i < p.n_tls_versions; i++) {
			FUZZ_CHECK(p.tls_versions[i] >= 0x0301 && p.tls_versions[i] <= 0x0304);
			FUZZ_CHECK(i == 0 || p.tls_versions[i] > p.tls_versions[i - 1]);
		}
		FUZZ_CHECK(p.n_suites >= 1 && p.n_suites <= RW_PROFILE_MAX_SUITES);
		for (size_t i = 0; i < p.n_suites; i++) {
			FUZZ_CHECK(p.suites[i] != 0x00FF && p.suites[i] != 0x5600);
			for (size_t j = 0; j < i; j++)
				FUZZ_CHECK(p.suites[i] != p.suites[j]);
		}
		FUZZ_CHECK(p.cert_policy == RW_CERT_PROMPT || p.cert_policy == RW_CERT_REFUSE);
	}
	/* Deterministic, and the output does not depend on what was in it. */
	memset(&again, 0xAA, sizeof(again));
	int rc2 = rw_profile_parse("fuzz", text, size, &again, err2, sizeof(err2));
	FUZZ_CHECK(rc2 == rc);
	if (rc == 0)
		FUZZ_CHECK(!memcmp(&p, &again, sizeof(p)));
	else
		FUZZ_CHECK(!strcmp(err, err2));
	free(text);
	return 0;
}
