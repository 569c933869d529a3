/* What inspect_tls.c and inspect.c share and nobody else. */
#ifndef RW_INSPECT_PRIV_H
#define RW_INSPECT_PRIV_H

#include <limits.h>
#include <stddef.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

struct rw_iconn;

struct rw_inspect_tls {
	SSL_CTX *server_ctx;   /* towards clients: inspect_cert and inspect_key */
	SSL_CTX *client_ctx;   /* towards the host */
	EVP_PKEY *key;         /* inspect_key */
	EVP_PKEY *cert_pubkey; /* inspect_cert's public key */
	int keylog_fd;         /* -1: no key log */
	char cert_path[PATH_MAX];
	/* Destinations whose certificate is not inspect_cert's: relayed blind. */
	struct sockaddr_storage *blind;
	size_t n_blind, next_blind;
	LIST_HEAD(, rw_iconn) conns; /* the connections inspect.c owns */
	/* Ended, freed on the next loop turn (or by rw_inspect_tls_free when
	 * the loop stopped first). */
	LIST_HEAD(, rw_iconn) ended;
};

/* inspect.c: frees the connections on t->ended. */
void rw_inspect_free_ended(struct rw_inspect_tls *t);

#endif
