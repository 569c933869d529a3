/* Inspection's TLS contexts, the checks of the host's key made before
 * anything starts, and the NSS key log (proxy/inspect_tls.h). */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "inspect_tls.h"
#include "inspect_priv.h"

#define RW_BLIND_MAX 32

static int fail(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* OpenSSL's last error, for messages ("" when none). */
static const char *ssl_reason(void)
{
	static char buf[160];
	unsigned long e = ERR_peek_last_error();
	buf[0] = '\0';
	if (e) {
		snprintf(buf, sizeof(buf), " (%s)",
		         ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "?");
	}
	ERR_clear_error();
	return buf;
}

/* NSS key log: one line per secret, written whole (O_APPEND). */
static void keylog_cb(const SSL *ssl, const char *line)
{
	struct rw_inspect_tls *t = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	if (!t || t->keylog_fd < 0)
		return;
	size_t n = strlen(line);
	char buf[1024];
	if (n + 1 > sizeof(buf))
		return;
	memcpy(buf, line, n);
	buf[n] = '\n';
	ssize_t w = write(t->keylog_fd, buf, n + 1);
	(void)w; /* nothing to do about a full disk here; the relay goes on */
}

/* A file that holds secrets: not for its group or others. */
static int check_private(const char *key, const char *path, struct stat *st, char *err,
                         size_t errlen)
{
	if (st->st_mode & (S_IRWXG | S_IRWXO))
		return fail(err, errlen,
		            "%s: '%s' has mode %04o: its group or others may read it; it holds "
		            "secrets (chmod 600 '%s')",
		            key, path, (unsigned)(st->st_mode & 07777), path);
	return 0;
}

static int open_keylog(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return fail(err, errlen, "keylog: '%s': %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, errlen, "keylog: '%s' is not a regular file", path);
	}
	if (check_private("keylog", path, &st, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int rw_inspect_tls_open(const struct rw_proxy_config *cfg, struct rw_inspect_tls **out, char *err,
                        size_t errlen)
{
	*out = NULL;
	bool has_cert = cfg->inspect_cert[0] != '\0', has_key = cfg->inspect_key[0] != '\0';
	if (!has_cert && !has_key) {
		if (cfg->keylog[0])
			return fail(err, errlen,
			            "keylog: needs inspect_cert and inspect_key (rdpwhy holds TLS "
			            "secrets only of the connections it inspects)");
		return 0;
	}
	if (!has_cert || !has_key)
		return fail(err, errlen, "%s is set but %s is not: inspection needs both",
		            has_cert ? "inspect_cert" : "inspect_key",
		            has_cert ? "inspect_key" : "inspect_cert");
	struct stat st;
	if (stat(cfg->inspect_key, &st) < 0)
		return fail(err, errlen, "inspect_key: '%s': %s", cfg->inspect_key,
		            strerror(errno));
	if (check_private("inspect_key", cfg->inspect_key, &st, err, errlen) < 0)
		return -1;
	if (stat(cfg->inspect_cert, &st) < 0)
		return fail(err, errlen, "inspect_cert: '%s': %s", cfg->inspect_cert,
		            strerror(errno));

	struct rw_inspect_tls *t = calloc(1, sizeof(*t));
	if (!t)
		return fail(err, errlen, "out of memory");
	t->keylog_fd = -1;
	LIST_INIT(&t->conns);
	LIST_INIT(&t->ended);
	ERR_clear_error();
	t->server_ctx = SSL_CTX_new(TLS_server_method());
	t->client_ctx = SSL_CTX_new(TLS_client_method());
	if (!t->server_ctx || !t->client_ctx) {
		rw_inspect_tls_free(t);
		return fail(err, errlen, "cannot create the TLS contexts%s", ssl_reason());
	}
	if (SSL_CTX_use_certificate_chain_file(t->server_ctx, cfg->inspect_cert) != 1) {
		const char *why = ssl_reason();
		rw_inspect_tls_free(t);
		return fail(err, errlen, "inspect_cert: '%s': not a PEM certificate%s",
		            cfg->inspect_cert, why);
	}
	if (SSL_CTX_use_PrivateKey_file(t->server_ctx, cfg->inspect_key, SSL_FILETYPE_PEM) != 1) {
		unsigned long e = ERR_peek_last_error();
		const char *why = ssl_reason();
		rw_inspect_tls_free(t);
		if (ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH)
			return fail(err, errlen,
			            "inspect_key does not match inspect_cert ('%s' is not the key "
			            "of '%s')",
			            cfg->inspect_key, cfg->inspect_cert);
		return fail(err, errlen, "inspect_key: '%s': not a PEM private key%s",
		            cfg->inspect_key, why);
	}
	if (SSL_CTX_check_private_key(t->server_ctx) != 1) {
		ERR_clear_error();
		rw_inspect_tls_free(t);
		return fail(err, errlen,
		            "inspect_key does not match inspect_cert ('%s' is not the key of '%s')",
		            cfg->inspect_key, cfg->inspect_cert);
	}
	X509 *cert = SSL_CTX_get0_certificate(t->server_ctx);
	t->key = SSL_CTX_get0_privatekey(t->server_ctx);
	t->cert_pubkey = cert ? X509_get0_pubkey(cert) : NULL;
	if (!t->cert_pubkey || !t->key) {
		rw_inspect_tls_free(t);
		return fail(err, errlen, "inspect_cert: '%s': no public key", cfg->inspect_cert);
	}
	EVP_PKEY_up_ref(t->key);
	EVP_PKEY_up_ref(t->cert_pubkey);
	/* Clients as old as the host allows: what the client may negotiate
	 * is capped per connection at the version the host chose (and the
	 * host leg offers nothing above the client's highest), so the client
	 * gets what it would directly; OpenSSL's default security level would
	 * refuse TLS 1.0/1.1 that an old host and client agree on. */
	SSL_CTX_set_min_proto_version(t->server_ctx, TLS1_VERSION);
	SSL_CTX_set_security_level(t->server_ctx, 0);
	SSL_CTX_set_cipher_list(t->server_ctx, "DEFAULT:@SECLEVEL=0");
	SSL_CTX_set_min_proto_version(t->client_ctx, TLS1_VERSION);
	/* Towards the operator's own host: nothing verified (its key is
	 * compared instead), whatever it offers accepted. */
	SSL_CTX_set_verify(t->client_ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_security_level(t->client_ctx, 0);
	SSL_CTX_set_cipher_list(t->client_ctx, "ALL:@SECLEVEL=0");
	/* No session resumption across connections: each leg is its own. */
	SSL_CTX_set_session_cache_mode(t->server_ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_session_cache_mode(t->client_ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(t->server_ctx, 0);
	SSL_CTX_set_options(t->server_ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_options(t->client_ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_app_data(t->server_ctx, t);
	SSL_CTX_set_app_data(t->client_ctx, t);
	if (cfg->keylog[0]) {
		t->keylog_fd = open_keylog(cfg->keylog, err, errlen);
		if (t->keylog_fd < 0) {
			rw_inspect_tls_free(t);
			return -1;
		}
		SSL_CTX_set_keylog_callback(t->server_ctx, keylog_cb);
		SSL_CTX_set_keylog_callback(t->client_ctx, keylog_cb);
	}
	snprintf(t->cert_path, sizeof(t->cert_path), "%s", cfg->inspect_cert);
	*out = t;
	return 0;
}

void rw_inspect_tls_free(struct rw_inspect_tls *t)
{
	if (!t)
		return;
	rw_inspect_free_ended(t);
	SSL_CTX_free(t->server_ctx);
	SSL_CTX_free(t->client_ctx);
	EVP_PKEY_free(t->key);
	EVP_PKEY_free(t->cert_pubkey);
	if (t->keylog_fd >= 0)
		close(t->keylog_fd);
	free(t->blind);
	free(t);
}

SSL *rw_inspect_tls_host_ssl(struct rw_inspect_tls *t)
{
	SSL *ssl = SSL_new(t->client_ctx);
	if (ssl)
		SSL_set_connect_state(ssl);
	return ssl;
}

SSL *rw_inspect_tls_client_ssl(struct rw_inspect_tls *t, X509 *host_cert, STACK_OF(X509) * chain,
                               int max_version)
{
	SSL *ssl = SSL_new(t->server_ctx);
	if (!ssl)
		return NULL;
	/* The host's own certificate (same key as inspect_cert, checked): the
	 * client sees what it would see directly. */
	if (host_cert &&
	    (SSL_use_certificate(ssl, host_cert) != 1 || SSL_use_PrivateKey(ssl, t->key) != 1)) {
		ERR_clear_error();
		SSL_free(ssl);
		return NULL;
	}
	/* The chain the host sent after its own certificate. */
	for (int i = 1; chain && i < sk_X509_num(chain); i++)
		SSL_add1_chain_cert(ssl, sk_X509_value(chain, i));
	if (max_version > 0)
		SSL_set_max_proto_version(ssl, max_version);
	SSL_set_accept_state(ssl);
	return ssl;
}

bool rw_inspect_tls_host_key_ok(const struct rw_inspect_tls *t, X509 *host_cert)
{
	EVP_PKEY *k = host_cert ? X509_get0_pubkey(host_cert) : NULL;
	return k && EVP_PKEY_eq(k, t->cert_pubkey) == 1;
}

void rw_inspect_tls_key_text(X509 *cert, char *out, size_t outlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	out[0] = '\0';
	if (!cert || X509_pubkey_digest(cert, EVP_sha256(), md, &n) != 1)
		return;
	size_t off = 0;
	for (unsigned i = 0; i < n && off + 3 < outlen; i++)
		off += (size_t)snprintf(out + off, outlen - off, "%02x", md[i]);
}

static bool same_dst(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	if (a->ss_family != b->sa_family)
		return false;
	if (b->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (b->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return x->sin6_port == y->sin6_port &&
		       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
	}
	return false;
}

void rw_inspect_tls_mark_blind(struct rw_inspect_tls *t, const struct sockaddr *dst)
{
	if (rw_inspect_tls_is_blind(t, dst))
		return;
	if (!t->blind) {
		t->blind = calloc(RW_BLIND_MAX, sizeof(*t->blind));
		if (!t->blind)
			return;
	}
	/* A ring: the oldest forgotten first. */
	size_t len = dst->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                        : sizeof(struct sockaddr_in);
	memset(&t->blind[t->next_blind], 0, sizeof(t->blind[0]));
	memcpy(&t->blind[t->next_blind], dst, len);
	t->next_blind = (t->next_blind + 1) % RW_BLIND_MAX;
	if (t->n_blind < RW_BLIND_MAX)
		t->n_blind++;
}

bool rw_inspect_tls_is_blind(const struct rw_inspect_tls *t, const struct sockaddr *dst)
{
	for (size_t i = 0; t->blind && i < t->n_blind; i++)
		if (same_dst(&t->blind[i], dst))
			return true;
	return false;
}
