/* What a record's JSON derives from its ClientHello (its JA3 and JA4, its
 * cipher list as a JSON array), kept for the last few distinct hellos each
 * thread formatted. A farm's clients send the same hello connection after
 * connection, all but its random, session id and server name; hashing and
 * naming it again for each record was a sixth of formatting a short
 * connection's. */
#ifndef RW_HELLO_CACHE_H
#define RW_HELLO_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "tls_hello.h"

#define RW_HELLO_CIPHERS_ROOM 6144 /* a longer array is written, not kept */

struct rw_hello_cached {
	struct rw_tls_client_hello ch; /* what it was derived from */
	char ja3[33], ja4[40];
	size_t ciphers_len; /* the array's bytes in ciphers; 0 until the writer keeps them */
	char ciphers[RW_HELLO_CIPHERS_ROOM];
};

/* The entry for ch in this thread's cache: found (the hellos are alike in
 * everything but random, session id and server name, which no fingerprint
 * reads), or made in place of the oldest, fingerprints computed and no
 * array yet. Valid until this thread's next call. */
struct rw_hello_cached *rw_hello_cache_get(const struct rw_tls_client_hello *ch);

#endif
