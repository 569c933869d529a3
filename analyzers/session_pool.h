/* The sessions' memory, private to analyzers/session*.c (session_pool.c):
 * page-aligned slots in mmap'd regions. rw_session_pool_stats and
 * rw_session_pool_trim (session.h) are its public side. */
#ifndef RW_SESSION_POOL_H
#define RW_SESSION_POOL_H

#include <stdbool.h>

struct rw_session;

/* A zeroed session's memory, NULL when out of memory. */
struct rw_session *rw_session_slot_get(void);
/* A slot back: packed says its connection went idle (rw_session_pack). */
void rw_session_slot_put(struct rw_session *s, bool packed);

#endif
