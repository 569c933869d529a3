/* Inspection with the host's own certificate and key (issue #15): the
 * proxy terminates the client's TLS with the host's certificate and key and
 * opens its own TLS to the host, relaying the plaintext between them and
 * showing it to the analyzers (analyzers/inspect.h). The client sees the
 * host's own certificate and public key, so CredSSP's public-key binding
 * (pubKeyAuth) holds and NLA works through the proxy.
 *
 * inspect_tls.c: the TLS contexts, the key checks made at start (and by
 * --check-config) and the NSS key log. inspect.c: the connections once
 * their TLS is terminated. */
#ifndef RW_INSPECT_TLS_H
#define RW_INSPECT_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "config.h"

struct rw_proxy;
struct rw_session;
struct rw_pcapw;
struct bufferevent;
struct rw_inspect_tls;

/* ---- inspect_tls.c ------------------------------------------------------ */

/* Reads cfg's inspect_cert, inspect_key and keylog. Off (both unset): 0 and
 * *out NULL. On: 0 and *out set. -1 with a message naming the key and the
 * file when only one of the two is set, a file does not load, the key file
 * is accessible to its group or others (its mode is said), the key does not
 * match the certificate, or the key log cannot be opened (created 0600,
 * appended to; refused when its group or others may read it). */
int rw_inspect_tls_open(const struct rw_proxy_config *cfg, struct rw_inspect_tls **out, char *err,
                        size_t errlen);
void rw_inspect_tls_free(struct rw_inspect_tls *t);

/* A new SSL towards the host (client side; the host's certificate is not
 * verified: it is compared by key, rw_inspect_tls_host_key_ok). */
SSL *rw_inspect_tls_host_ssl(struct rw_inspect_tls *t);
/* A new SSL towards the client (server side) that presents host_cert (the
 * certificate the host just sent: the client sees exactly what it would
 * see directly) and chain, with inspect_key; never a TLS version above
 * max_version (the one the host chose with rdpwhy). */
SSL *rw_inspect_tls_client_ssl(struct rw_inspect_tls *t, X509 *host_cert, STACK_OF(X509) * chain,
                               int max_version);
/* host_cert's public key is inspect_cert's. */
bool rw_inspect_tls_host_key_ok(const struct rw_inspect_tls *t, X509 *host_cert);
/* Destinations whose certificate did not match: relayed blind from then on
 * (until the next start). */
void rw_inspect_tls_mark_blind(struct rw_inspect_tls *t, const struct sockaddr *dst);
bool rw_inspect_tls_is_blind(const struct rw_inspect_tls *t, const struct sockaddr *dst);
/* "SHA256 fingerprint" of a certificate's public key, for logs. */
void rw_inspect_tls_key_text(X509 *cert, char *out, size_t outlen);

/* ---- inspect.c ---------------------------------------------------------- */

/* What relay.c hands over when it gives a connection up to inspection. */
struct rw_inspect_legs {
	uint64_t id, t_accept_us;
	struct rw_session *session;
	struct rw_pcapw *pcap;
	struct bufferevent *client_bev, *server_bev; /* socket bufferevents, not owning the fds */
	int client_fd, server_fd;
	const char *peer_text, *dst_text;
};

/* Called by relay.c after bytes from the host were relayed while the
 * X.224 exchange has just ended. True when the connection is taken over:
 * its Connection Confirm selected ssl, hybrid or hybrid_ex, nothing was
 * said after it, and its destination is not one relayed blind. From then
 * on inspect.c owns the legs, the session, the pcap writer and the record;
 * relay.c forgets the connection without closing anything. */
bool rw_inspect_take(struct rw_proxy *px, const struct rw_inspect_legs *legs);
/* Shutdown: closes every inspected connection now. */
void rw_inspect_abort_all(struct rw_proxy *px);

#endif
