/* Certificate handshake message and X.509 DER decoding (analyzers/tls_cert.c).
 * Input: a Certificate handshake body (TLS <= 1.2: 24-bit list length, then
 * 24-bit length + DER per entry). The same bytes are also decoded as one DER
 * certificate, which lets the fuzzer work on X.509 directly. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "rw_types.h"
#include "tls_cert.h"

static void check_ok_cert(const struct rw_cert *c)
{
	fuzz_check_cert(c);
	/* Digests are computed for every certificate OpenSSL decoded. */
	FUZZ_CHECK(strlen(c->sha1_hex) == 40);
	FUZZ_CHECK(strlen(c->sha256_hex) == 64);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rw_cert leaf, one;
	memset(&leaf, 0, sizeof(leaf));
	size_t chain = 12345;
	int r = rw_cert_parse_message(data, size, &leaf, &chain);
	FUZZ_CHECK(r < 0 || (size_t)r == size);
	if (r >= 0) {
		FUZZ_CHECK(chain >= 1);
		check_ok_cert(&leaf);
	} else if (chain > 0) {
		/* The leaf was attempted: whatever it holds is still well formed. */
		fuzz_check_cert(&leaf);
	}

	r = rw_cert_parse_der(data, size, &one);
	FUZZ_CHECK(r < 0 || (size_t)r == size);
	fuzz_check_cert(&one);
	if (r >= 0)
		check_ok_cert(&one);
	return 0;
}
