/* Real TLS hellos shared by the unit tests, and helpers that parse them.
 *
 * Captured with tcpdump on lo between OpenSSL 3.0.22 s_client and s_server.
 * Each string is one handshake body in hex: tshark's tcp.payload minus the
 * 5-byte record and 4-byte handshake headers.
 *   ch/sh_tls13  s_client -servername example.test -alpn h2,http/1.1
 *                against s_server -alpn h2
 *   ch/sh_tls12  the same client with -tls1_2 (server still allows 1.3, so
 *                its random carries the DOWNGRD\1 sentinel)
 *   ch/sh_hrr    s_client -groups X25519:P-256 against s_server -groups P-256:
 *                first ClientHello and the HelloRetryRequest
 *   ch/sh_tls11  s_client -tls1_1 -cipher ALL:@SECLEVEL=0 (no SNI: no
 *                -servername), server answers with the DOWNGRD\0 sentinel */
#ifndef RW_TLS_VECTORS_H
#define RW_TLS_VECTORS_H

#include "tls_hello.h"

extern const char ch_tls13[], sh_tls13[];
extern const char ch_tls12[], sh_tls12[];
extern const char ch_hrr[], sh_hrr[];
extern const char ch_tls11[], sh_tls11[];

/* Parse a hex ClientHello / ServerHello body; the test fails unless the
 * whole body parses. */
struct rw_tls_client_hello rw_test_client_hello(const char *hex);
struct rw_tls_server_hello rw_test_server_hello(const char *hex);

#endif
