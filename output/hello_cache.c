#include "hello_cache.h"

#include <string.h>

#define HELLO_CACHE_ENTRIES 4

static _Thread_local struct {
	struct rw_hello_cached e[HELLO_CACHE_ENTRIES];
	unsigned used, next; /* entries filled; the next to replace */
} cache;

/* Alike in every field but random, session_id_len, sni and sni_len: the
 * struct's three runs around them, compared as bytes (a difference in
 * padding only costs a miss). */
static bool alike(const struct rw_tls_client_hello *a, const struct rw_tls_client_hello *b)
{
	const char *x = (const char *)a, *y = (const char *)b;
	size_t r1 = offsetof(struct rw_tls_client_hello, random);
	size_t r2 = offsetof(struct rw_tls_client_hello, n_ciphers);
	size_t r2_end = offsetof(struct rw_tls_client_hello, sni);
	size_t r3 = offsetof(struct rw_tls_client_hello, has_grease);
	return !memcmp(x, y, r1) && !memcmp(x + r2, y + r2, r2_end - r2) &&
	       !memcmp(x + r3, y + r3, sizeof(*a) - r3);
}
_Static_assert(offsetof(struct rw_tls_client_hello, random) <
                               offsetof(struct rw_tls_client_hello, session_id_len) &&
                       offsetof(struct rw_tls_client_hello, session_id_len) <
                               offsetof(struct rw_tls_client_hello, n_ciphers) &&
                       offsetof(struct rw_tls_client_hello, sni) <
                               offsetof(struct rw_tls_client_hello, sni_len) &&
                       offsetof(struct rw_tls_client_hello, sni_len) <
                               offsetof(struct rw_tls_client_hello, has_grease),
               "alike() skips random and session_id_len, then sni and sni_len, as runs");

struct rw_hello_cached *rw_hello_cache_get(const struct rw_tls_client_hello *ch)
{
	for (unsigned i = 0; i < cache.used; i++)
		if (alike(&cache.e[i].ch, ch))
			return &cache.e[i];
	struct rw_hello_cached *e = &cache.e[cache.next];
	cache.next = (cache.next + 1) % HELLO_CACHE_ENTRIES;
	if (cache.used < HELLO_CACHE_ENTRIES)
		cache.used++;
	memcpy(&e->ch, ch, sizeof(*ch));
	rw_ja3(ch, NULL, 0, e->ja3);
	rw_ja4(ch, 't', e->ja4);
	e->ciphers_len = 0;
	return e;
}
