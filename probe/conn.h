/* One probe connection: a blocking-with-deadlines TCP client whose every
 * byte, close and reset is also fed to an analyzers session (the wire tap),
 * with TLS run by OpenSSL over memory BIOs so the tap sees the records
 * exactly as they cross the wire. */
#ifndef RW_PROBE_CONN_H
#define RW_PROBE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "probe.h"
#include "session.h"

struct pconn {
	int fd;
	struct rw_session *s;
	unsigned timeout_ms;
	int64_t clock_offset_us;
	bool peer_fin, peer_rst;
	SSL *ssl;
	BIO *rb, *wb; /* OpenSSL reads the host's bytes from rb, writes ours to wb */
	char err[128];
};

/* Wall clock (µs since 1970) plus the test offset: the session's
 * timestamps, so that certificate expiry and the host's clock compare with
 * real time. */
uint64_t pc_now_us(const struct pconn *pc);

/* Connects within timeout_ms. On RW_PO_OK the session is open and *ms is
 * the time to the SYN-ACK; on a failure the session records it too. */
enum rw_probe_outcome pc_open(struct pconn *pc, const struct sockaddr *sa, socklen_t salen,
                              unsigned timeout_ms, int64_t clock_offset_us, unsigned *ms);

/* Sends all of p (fed to the tap as the client's bytes). */
enum rw_probe_outcome pc_send(struct pconn *pc, const uint8_t *p, size_t n);

/* Reads one whole TPKT packet into buf (at most cap bytes). RW_PO_NOT_RDP
 * when the first byte cannot start a TPKT (*len then holds what came). */
enum rw_probe_outcome pc_read_tpkt(struct pconn *pc, uint8_t *buf, size_t cap, size_t *len);

/* The TLS handshake as a client of ctx (SNI = sni unless NULL or an
 * address). RW_PO_REJECTED when OpenSSL failed it (an alert either way),
 * with the reason in pc->err. */
enum rw_probe_outcome pc_tls_handshake(struct pconn *pc, SSL_CTX *ctx, const char *sni);
enum rw_probe_outcome pc_tls_write(struct pconn *pc, const uint8_t *p, size_t n);
/* Appends decrypted bytes to buf[*len..cap) until at least one more byte
 * came (or the deadline). */
enum rw_probe_outcome pc_tls_read(struct pconn *pc, uint8_t *buf, size_t cap, size_t *len);

/* Waits up to ms for the host to close or reset after a refusal, so the
 * tap sees who closed. */
void pc_drain(struct pconn *pc, unsigned ms);

/* Closes our side (FIN), ends the session and returns its record, which
 * lives until pc_free. */
struct rw_record *pc_finish(struct pconn *pc);
void pc_free(struct pconn *pc);

#endif
