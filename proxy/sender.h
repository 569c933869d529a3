/* A syslog sender on the proxy's event loop: TCP (RFC 6587 octet counting)
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
 * (evdns) and writes are all asynchronous; only the spool's fsync touches
 * the disk.
 *
 * UDP: one datagram per message, sent without waiting; a message the socket
 * does not take at once (or larger than a datagram) is dropped and counted.
 * No spool: UDP cannot tell whether anything arrived. */
#ifndef RW_SENDER_H
#define RW_SENDER_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "proxy.h"
#include "spool.h"

enum rw_sender_proto { RW_SEND_TCP, RW_SEND_TLS, RW_SEND_UDP };

struct rw_sender_config {
	enum rw_sender_proto proto;
	char host[256];
	char port[16];
	const char *ca_file;   /* TLS: verify the server against these CAs (required) */
	const char *cert_file; /* TLS: optional client certificate */
	const char *key_file;  /*      and its key */
	const char *spool_dir; /* TCP/TLS: required */
	uint64_t spool_max;
	enum rw_spool_policy spool_policy;
	unsigned hold_ms;      /* 0 = default (1000) */
	const char *user;      /* "" or NULL, or the user rdpwhy drops to: the spool is given to it */
};

struct rw_sender_stats {
	uint64_t emitted;    /* messages submitted */
	uint64_t sent;       /* delivered (TCP/TLS: confirmed and removed from the spool) */
	uint64_t spooled;    /* written to the spool */
	uint64_t dropped;    /* lost to the spool bound, or UDP messages not sent */
	uint64_t reconnects; /* connection attempts after the first */
	uint64_t queued;     /* messages in the spool now */
};

/* Parses "tcp://HOST:PORT", "tls://HOST:PORT", "udp://HOST:PORT" (IPv6 in
 * brackets) into c->proto/host/port. 0, 1 when spec is not a URL of these
 * schemes, -1 with a message when it is one but malformed. */
int rw_sender_parse_url(const char *spec, struct rw_sender_config *c, char *err, size_t errlen);

struct rw_sender;
/* name: the output as written, for log lines. */
struct rw_sender *rw_sender_new(struct event_base *base, const struct rw_sender_config *c,
				const char *name, struct rw_log *log, char *err, size_t errlen);
/* One unframed syslog message. Never blocks on the network. */
void rw_sender_submit(struct rw_sender *s, const char *msg, size_t len);
void rw_sender_stats(const struct rw_sender *s, struct rw_sender_stats *out);
void rw_sender_free(struct rw_sender *s);

#endif
