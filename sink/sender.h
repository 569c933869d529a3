/* A syslog sender on the output thread's event loop: TCP (RFC 6587 octet counting)
 * or TLS (RFC 5425) with an on-disk spool, or UDP (RFC 5426) best-effort.
 *
 * TCP/TLS: every message is spooled first, then sent in spool order. A
 * message leaves the spool only when it has been written to the connection
 * and the peer's TCP has acknowledged every byte written so far (the
 * socket's send queue, SIOCOUTQ, was empty), and the connection then stayed
 * up for a short hold time — so a receiver that dies with unread data in its
 * socket makes us send again, not lose. On disconnect the sender reconnects
 * with exponential back-off (1 s .. 60 s) and resends the spool from its
 * oldest message: at-least-once, duplicates possible (the record id lets a
 * SIEM de-duplicate). Nothing here blocks: connects, name resolution
 * (evdns) and writes are all asynchronous; only the spool touches the
 * disk — one write and one fsync per batch of the records submitted while
 * the loop was busy (spool.h), sent once durable — and that runs on the
 * output thread (outputs.h), never on the relay's.
 *
 * UDP: one datagram per message, sent without waiting; a message the socket
 * does not take at once (or larger than a datagram) is dropped and counted.
 * No spool: UDP cannot tell whether anything arrived. */
#ifndef RW_SENDER_H
#define RW_SENDER_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "log.h"
#include "output_spec.h"
#include "spool.h"

struct rw_sender_stats {
	uint64_t emitted;    /* messages submitted */
	uint64_t sent;       /* delivered (TCP/TLS: confirmed and removed from the spool) */
	uint64_t spooled;    /* written to the spool */
	uint64_t dropped;    /* lost to the spool bound, or UDP messages not sent */
	uint64_t reconnects; /* connection attempts after the first */
	uint64_t rejected;   /* set aside: the receiver dropped the connection on them */
	uint64_t queued;     /* messages in the spool now */
};

struct rw_sender;
/* spec: a resolved udp://, tcp:// or tls:// output (rw_output_spec_resolve).
 * user: "" or NULL, or the user rdpwhy drops to: the spool is given to it.
 * Everything it does runs on base, from the thread that runs base. */
struct rw_sender *rw_sender_new(struct event_base *base, const struct rw_output_spec *spec,
                                const char *user, struct rw_log *log, char *err, size_t errlen);
/* One unframed syslog message. Never blocks on the network. */
void rw_sender_submit(struct rw_sender *s, const char *msg, size_t len);
void rw_sender_stats(const struct rw_sender *s, struct rw_sender_stats *out);
void rw_sender_free(struct rw_sender *s);

#endif
