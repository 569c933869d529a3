#include "hello_cache.h"

#include <string.h>

#define HELLO_CACHE_ENTRIES 4

static _Thread_local struct {
	struct rw_hello_cached e[HELLO_CACHE_ENTRIES];
	unsigned used, next; /* entries filled; the next to replace */
} cache;

#define CH_OFF(f)  offsetof(struct rw_tls_client_hello, f)
#define CH_SIZE(f) sizeof(((struct rw_tls_client_hello *)0)->f)

/* Alike in every field but random, session_id_len, sni and sni_len: the
 * struct's three runs around them, compared as bytes (a difference in
 * padding only costs a miss). */
static bool alike(const struct rw_tls_client_hello *a, const struct rw_tls_client_hello *b)
{
	const char *x = (const char *)a, *y = (const char *)b;
	size_t mid = CH_OFF(n_ciphers), end = CH_OFF(has_grease);
	return !memcmp(x, y, CH_OFF(random)) && !memcmp(x + mid, y + mid, CH_OFF(sni) - mid) &&
	       !memcmp(x + end, y + end, sizeof(*a) - end);
}

/* The skipped runs hold those four fields and padding, nothing else: a field
 * added there would not be compared. */
_Static_assert(CH_OFF(session_id_len) == CH_OFF(random) + CH_SIZE(random) &&
                       CH_OFF(n_ciphers) - CH_OFF(session_id_len) - CH_SIZE(session_id_len) <
                               _Alignof(size_t),
               "alike() skips random and session_id_len as one run");
_Static_assert(CH_OFF(sni_len) >= CH_OFF(sni) + CH_SIZE(sni) &&
                       CH_OFF(sni_len) - CH_OFF(sni) - CH_SIZE(sni) < _Alignof(size_t) &&
                       CH_OFF(has_grease) == CH_OFF(sni_len) + CH_SIZE(sni_len),
               "alike() skips sni and sni_len as one run");

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
