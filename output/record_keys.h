/* Every key of the JSON record, in one table (instantiated in record_keys.c): its name, JSON type,
 * when it is present, its unit and what it means. The writer (record_json.c) names keys only
 * through this table and in its order, which is the order of the output; the README's key table is
 * printed from it (tools/record_keys_md.c), and a test fails when the two differ. Keys are an API:
 * add, never rename.
 *
 * The order groups every dotted prefix in one run (all event.* together,
 * then host.*, ...), so the nested form (json_style = nested, the default)
 * opens each object once: {"event":{...},"rdpwhy":{"cause":...}}. */
#ifndef RW_RECORD_KEYS_H
#define RW_RECORD_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

enum rw_key_type {
	RW_KT_STRING,
	RW_KT_DATE, /* a string, RFC 3339 UTC */
	RW_KT_INT,
	RW_KT_BOOL,
	RW_KT_STRINGS, /* an array of strings */
};

enum rw_key_presence {
	RW_KP_ALWAYS, /* in every record */
	RW_KP_OUTPUT, /* in every record rdpwhy's outputs write (the caller gives it) */
	RW_KP_WHEN,   /* only when its fact is known: see `when` */
};

/* X(ID, name, type, presence, when, unit, meaning) */
#define RW_RECORD_KEYS(X)                                                                          \
	X(TIMESTAMP, "@timestamp", DATE, ALWAYS, "", "",                                           \
	  "when the connection began (its first packet, or the proxy's accept)")                   \
	X(EVENT_KIND, "event.kind", STRING, ALWAYS, "", "", "ECS constant `event`")                \
	X(EVENT_CATEGORY, "event.category", STRINGS, ALWAYS, "", "",                               \
	  "ECS constant `[\"network\"]`")                                                          \
	X(EVENT_TYPE, "event.type", STRINGS, ALWAYS, "", "", "ECS constant `[\"connection\"]`")    \
	X(EVENT_START, "event.start", DATE, ALWAYS, "", "",                                        \
	  "when the connection began (= `@timestamp`)")                                            \
	X(EVENT_END, "event.end", DATE, WHEN, "its end is known", "",                              \
	  "when the connection's last packet was seen (or the proxy closed it)")                   \
	X(EVENT_DURATION, "event.duration", INT, WHEN, "its end is known", "ns",                   \
	  "`event.end` minus `event.start`")                                                       \
	X(EVENT_ID, "event.id", STRING, ALWAYS, "", "",                                            \
	  "the record's id, the same as `rdpwhy.record_id`: in `replay` and `capture` derived "    \
	  "from the connection (its endpoints and first timestamp), so the same capture gives "    \
	  "the same ids on every run; in the proxy unique per record")                             \
	X(HOST_NAME, "host.name", STRING, OUTPUT, "", "", "the host rdpwhy ran on")                \
	X(NETWORK_TRANSPORT, "network.transport", STRING, ALWAYS, "", "", "`tcp`")                 \
	X(NETWORK_TYPE, "network.type", STRING, WHEN, "the address family is known", "",           \
	  "`ipv4` or `ipv6`")                                                                      \
	X(SOURCE_IP, "source.ip", STRING, WHEN, "the address family is known", "",                 \
	  "the client's address")                                                                  \
	X(SOURCE_PORT, "source.port", INT, WHEN, "the address family is known", "",                \
	  "the client's port")                                                                     \
	X(SOURCE_BYTES, "source.bytes", INT, WHEN, "the client's packets were seen", "bytes",      \
	  "TCP payload the client sent (absent when the capture held only the server's "           \
	  "packets: see `rdpwhy.inferred.bytes.client`)")                                          \
	X(DESTINATION_IP, "destination.ip", STRING, WHEN, "the address family is known", "",       \
	  "the server's address")                                                                  \
	X(DESTINATION_PORT, "destination.port", INT, WHEN, "the address family is known", "",      \
	  "the server's port")                                                                     \
	X(DESTINATION_BYTES, "destination.bytes", INT, WHEN, "the server's packets were seen",     \
	  "bytes",                                                                                 \
	  "TCP payload the server sent (absent when the capture held only the client's "           \
	  "packets: see `rdpwhy.inferred.bytes.server`)")                                          \
	X(TLS_ESTABLISHED, "tls.established", BOOL, WHEN, "any TLS was seen", "",                  \
	  "whether the TLS handshake completed and the client went on to send data in it")         \
	X(TLS_VERSION, "tls.version", STRING, WHEN, "ServerHello", "",                             \
	  "negotiated version: `1.2`, `1.3`, ... (`3.0` for SSLv3)")                               \
	X(TLS_VERSION_PROTOCOL, "tls.version_protocol", STRING, WHEN, "ServerHello", "",           \
	  "`tls`, or `ssl` for SSLv2/SSLv3")                                                       \
	X(TLS_CIPHER, "tls.cipher", STRING, WHEN, "ServerHello", "",                               \
	  "the suite the server chose (IANA name, or `0xC02F` when unknown)")                      \
	X(TLS_NEXT_PROTOCOL, "tls.next_protocol", STRING, WHEN, "ServerHello with ALPN", "",       \
	  "the ALPN protocol the server chose")                                                    \
	X(TLS_CLIENT_SERVER_NAME, "tls.client.server_name", STRING, WHEN, "ClientHello with SNI",  \
	  "", "the server name the client asked for (SNI)")                                        \
	X(TLS_CLIENT_JA3, "tls.client.ja3", STRING, WHEN, "ClientHello", "",                       \
	  "JA3 fingerprint of the ClientHello (MD5, hex)")                                         \
	X(TLS_CLIENT_JA4, "tls.client.ja4", STRING, WHEN, "ClientHello", "",                       \
	  "JA4 fingerprint of the ClientHello")                                                    \
	X(TLS_CLIENT_SUPPORTED_CIPHERS, "tls.client.supported_ciphers", STRINGS, WHEN,             \
	  "ClientHello", "", "the suites the client offered, in its order (GREASE left out)")      \
	X(TLS_SERVER_JA3S, "tls.server.ja3s", STRING, WHEN, "ServerHello", "",                     \
	  "JA3S fingerprint of the ServerHello (MD5, hex)")                                        \
	X(TLS_SERVER_X509_SUBJECT_CN, "tls.server.x509.subject.common_name", STRING, WHEN,         \
	  "a certificate was seen", "",                                                            \
	  "the server certificate's subject CN (certificates are visible up to TLS 1.2; TLS "      \
	  "1.3 encrypts them)")                                                                    \
	X(TLS_SERVER_X509_SUBJECT_DN, "tls.server.x509.subject.distinguished_name", STRING, WHEN,  \
	  "a certificate was seen", "", "its subject")                                             \
	X(TLS_SERVER_X509_ISSUER_CN, "tls.server.x509.issuer.common_name", STRING, WHEN,           \
	  "a certificate was seen", "", "its issuer's CN")                                         \
	X(TLS_SERVER_X509_ISSUER_DN, "tls.server.x509.issuer.distinguished_name", STRING, WHEN,    \
	  "a certificate was seen", "", "its issuer")                                              \
	X(TLS_SERVER_X509_SERIAL, "tls.server.x509.serial_number", STRING, WHEN,                   \
	  "a certificate was seen", "", "its serial number (upper-case hex)")                      \
	X(TLS_SERVER_X509_NOT_BEFORE, "tls.server.x509.not_before", DATE, WHEN,                    \
	  "a certificate was seen", "", "start of its validity")                                   \
	X(TLS_SERVER_X509_NOT_AFTER, "tls.server.x509.not_after", DATE, WHEN,                      \
	  "a certificate was seen", "", "end of its validity")                                     \
	X(TLS_SERVER_X509_SAN, "tls.server.x509.alternative_names", STRINGS, WHEN,                 \
	  "the certificate has any", "", "its subject alternative names (`DNS:...`, `IP:...`)")    \
	X(TLS_SERVER_X509_KEY_ALG, "tls.server.x509.public_key_algorithm", STRING, WHEN,           \
	  "a certificate was seen", "", "`rsa`, `ec`, ...")                                        \
	X(TLS_SERVER_X509_KEY_SIZE, "tls.server.x509.public_key_size", INT, WHEN,                  \
	  "a certificate was seen", "bits", "its key size")                                        \
	X(TLS_SERVER_HASH_SHA1, "tls.server.hash.sha1", STRING, WHEN, "a certificate was seen",    \
	  "", "SHA-1 of the certificate (upper-case hex)")                                         \
	X(TLS_SERVER_HASH_SHA256, "tls.server.hash.sha256", STRING, WHEN,                          \
	  "a certificate was seen", "", "SHA-256 of the certificate (upper-case hex)")             \
	X(TLS_ALERT_DESCRIPTION, "tls.alert.description", STRING, WHEN,                            \
	  "a cleartext alert with a registered code", "",                                          \
	  "the first TLS alert of the connection, by name (`handshake_failure`, "                  \
	  "`unknown_ca`, ...)")                                                                    \
	X(TLS_ALERT_CODE, "tls.alert.code", INT, WHEN, "a cleartext alert", "",                    \
	  "its AlertDescription number (RFC 8446 6)")                                              \
	X(TLS_ALERT_ENCRYPTED, "tls.alert.encrypted", BOOL, WHEN, "the alert was encrypted", "",   \
	  "`true`: the alert came after ChangeCipherSpec (or as a TLS 1.3 record of an alert's "   \
	  "size), so its description cannot be read")                                              \
	X(TLS_ALERT_FROM, "tls.alert.from", STRING, WHEN, "an alert", "",                          \
	  "who sent it: `client` or `server`")                                                     \
	X(RDP_COOKIE, "rdp.cookie", STRING, WHEN, "the X.224 request carried one", "",             \
	  "the `Cookie: mstshash=` value as sent: valid UTF-8 passes unchanged (`CORP\\alice` "    \
	  "stays one backslash once decoded); a byte that is not UTF-8 reads `\\xhh`, a control "  \
	  "character is JSON-escaped")                                                             \
	X(RDP_COOKIE_HEX, "rdp.cookie_hex", STRING, WHEN, "the cookie had to be escaped", "",      \
	  "its raw bytes in hex, so nothing is lost")                                              \
	X(RDP_ROUTING_TOKEN, "rdp.routing_token", STRING, WHEN, "the X.224 request carried one",   \
	  "", "the routing token line as sent, escaped as `rdp.cookie`")                           \
	X(RDP_ROUTING_TOKEN_HEX, "rdp.routing_token_hex", STRING, WHEN,                            \
	  "the token had to be escaped", "", "its raw bytes in hex")                               \
	X(RDP_REQUESTED_PROTOCOLS, "rdp.requested_protocols", STRINGS, WHEN,                       \
	  "an X.224 Connection Request was seen", "",                                              \
	  "`rdp`, `ssl`, `hybrid`, `rdstls`, `hybrid_ex`, `rdsaad` (`[\"rdp\"]`: no "              \
	  "RDP_NEG_REQ, standard RDP security)")                                                   \
	X(RDP_NEG_REQ_FLAGS, "rdp.neg_req_flags", STRINGS, WHEN, "RDP_NEG_REQ with flags", "",     \
	  "its flags by name")                                                                     \
	X(RDP_SELECTED_PROTOCOL, "rdp.selected_protocol", STRING, WHEN,                            \
	  "a Connection Confirm without RDP_NEG_FAILURE", "",                                      \
	  "the protocol in RDP_NEG_RSP; `rdp` when the Connection Confirm carries no "             \
	  "negotiation data (standard RDP security, MS-RDPBCGR 2.2.1.2)")                          \
	X(RDP_NEG_RSP_FLAGS, "rdp.neg_rsp_flags", STRINGS, WHEN, "RDP_NEG_RSP with flags", "",     \
	  "its flags by name")                                                                     \
	X(RDP_NEG_FAILURE, "rdp.neg_failure", STRING, WHEN, "RDP_NEG_FAILURE", "",                 \
	  "its code: `ssl_required_by_server`, `ssl_not_allowed_by_server`, "                      \
	  "`ssl_cert_not_on_server`, `inconsistent_flags`, `hybrid_required_by_server`, "          \
	  "`ssl_with_user_auth_required_by_server`")                                               \
	X(RDP_NLA_HOST_CLOCK_OFFSET, "rdp.nla.host_clock_offset_s", INT, WHEN,                     \
	  "the host's clock was read", "s",                                                        \
	  "the host's clock minus ours, from the NTLM CHALLENGE's MsvAvTimestamp (probe; "         \
	  "beyond 300 either way is `clock_skew`)")                                                \
	X(RDPWHY_CAUSE, "rdpwhy.cause", STRING, ALWAYS, "", "",                                    \
	  "the verdict: a cause code (docs/causes.md)")                                            \
	X(RDPWHY_CLOSED_BY, "rdpwhy.closed_by", STRING, ALWAYS, "", "",                            \
	  "whose FIN or RST came first: `client`, `server`, `proxy` (its own timeout), `none`")    \
	X(RDPWHY_CLOSE_KIND, "rdpwhy.close_kind", STRING, ALWAYS, "", "",                          \
	  "how: `fin`, `rst`, `timeout`, `refused`, ...")                                          \
	X(RDPWHY_PHASE, "rdpwhy.phase", STRING, ALWAYS, "", "",                                    \
	  "the phase it happened in: `tcp_connect`, `x224`, `tls_handshake`, `nla`, `rdp`, "       \
	  "`established`")                                                                         \
	X(RDPWHY_EVIDENCE, "rdpwhy.evidence", STRINGS, ALWAYS, "", "",                             \
	  "short facts the verdict rests on")                                                      \
	X(RDPWHY_EVIDENCE_AT, "rdpwhy.evidence_at", STRINGS, WHEN,                                 \
	  "an evidence line rests on one packet", "",                                              \
	  "beside each `rdpwhy.evidence` line, where its fact is: `frame 12` (Wireshark's number " \
	  "in `rdpwhy.file`), `other.pcap frame 3`, or from the proxy `server byte 517, +1.250 "   \
	  "ms`; `\"\"` for a line that rests on no one packet")                                    \
	X(RDPWHY_REMEDIATION, "rdpwhy.remediation", STRING, ALWAYS, "", "", "the fix, one line")   \
	X(RDPWHY_CONFIDENCE, "rdpwhy.confidence", STRING, ALWAYS, "", "",                          \
	  "`high` (the wire names the cause), `medium` (a pattern one other cause could also "     \
	  "leave, or a capture that missed part of the connection), `low` (several causes fit)")   \
	X(RDPWHY_ALTERNATIVES, "rdpwhy.alternatives", STRINGS, WHEN, "other causes fit", "",       \
	  "other cause codes the same wire fits, most likely first")                               \
	X(RDPWHY_TELL_APART, "rdpwhy.tell_apart", STRING, WHEN, "other causes fit", "",            \
	  "what would tell the cause from its alternatives, and how to get it")                    \
	X(RDPWHY_TIMELINE_TCP_CONNECT, "rdpwhy.timeline.tcp_connect", INT, WHEN,                   \
	  "the phase was reached", "µs", "when each phase began, since `event.start`")             \
	X(RDPWHY_TIMELINE_X224, "rdpwhy.timeline.x224", INT, WHEN, "the phase was reached", "µs",  \
	  "")                                                                                      \
	X(RDPWHY_TIMELINE_TLS_HANDSHAKE, "rdpwhy.timeline.tls_handshake", INT, WHEN,               \
	  "the phase was reached", "µs", "")                                                       \
	X(RDPWHY_TIMELINE_NLA, "rdpwhy.timeline.nla", INT, WHEN, "the phase was reached", "µs",    \
	  "")                                                                                      \
	X(RDPWHY_TIMELINE_RDP, "rdpwhy.timeline.rdp", INT, WHEN, "the phase was reached", "µs",    \
	  "")                                                                                      \
	X(RDPWHY_TIMELINE_ESTABLISHED, "rdpwhy.timeline.established", INT, WHEN,                   \
	  "the phase was reached", "µs", "")                                                       \
	X(RDPWHY_MIDSTREAM, "rdpwhy.midstream", BOOL, ALWAYS, "", "",                              \
	  "the capture started after the TCP handshake")                                           \
	X(RDPWHY_CAPTURE_DIRECTIONS, "rdpwhy.capture.directions", STRING, ALWAYS, "", "",          \
	  "which sides' packets were seen: `both` (always inline), `client_only` or "              \
	  "`server_only` (a SPAN of one side, asymmetric routing); the other side's bytes, SYN "   \
	  "and FIN are then inferred from the acknowledgements of the side seen")                  \
	X(RDPWHY_CAPTURE_GAPS_CLIENT, "rdpwhy.capture.gaps.client", INT, WHEN, "not 0", "",        \
	  "holes in that direction's stream that the capture lost: the receiver acknowledged "     \
	  "them (or the snapshot length cut them), so never counted as loss")                      \
	X(RDPWHY_CAPTURE_GAPS_SERVER, "rdpwhy.capture.gaps.server", INT, WHEN, "not 0", "", "")    \
	X(RDPWHY_CAPTURE_GAP_BYTES_CLIENT, "rdpwhy.capture.gap_bytes.client", INT, WHEN, "not 0",  \
	  "bytes", "their bytes")                                                                  \
	X(RDPWHY_CAPTURE_GAP_BYTES_SERVER, "rdpwhy.capture.gap_bytes.server", INT, WHEN, "not 0",  \
	  "bytes", "")                                                                             \
	X(RDPWHY_TCP_RETRANSMITS_CLIENT, "rdpwhy.tcp.retransmits.client", INT, WHEN,               \
	  "capture, that side's packets seen", "",                                                 \
	  "segments that side sent again (the proxy cannot see them: absent inline)")              \
	X(RDPWHY_TCP_RETRANSMITS_SERVER, "rdpwhy.tcp.retransmits.server", INT, WHEN,               \
	  "capture, that side's packets seen", "", "")                                             \
	X(RDPWHY_TCP_RETRANSMITTED_BYTES_CLIENT, "rdpwhy.tcp.retransmitted_bytes.client", INT,     \
	  WHEN, "not 0", "bytes", "bytes those segments repeated")                                 \
	X(RDPWHY_TCP_RETRANSMITTED_BYTES_SERVER, "rdpwhy.tcp.retransmitted_bytes.server", INT,     \
	  WHEN, "not 0", "bytes", "")                                                              \
	X(RDPWHY_TCP_LARGEST_RETRANSMIT_CLIENT, "rdpwhy.tcp.largest_retransmit.client", INT, WHEN, \
	  "not 0", "bytes", "the largest retransmitted segment's payload")                         \
	X(RDPWHY_TCP_LARGEST_RETRANSMIT_SERVER, "rdpwhy.tcp.largest_retransmit.server", INT, WHEN, \
	  "not 0", "bytes", "")                                                                    \
	X(RDPWHY_TCP_MSS_CLIENT, "rdpwhy.tcp.mss.client", INT, WHEN, "known", "bytes",             \
	  "the payload of a full-size segment of that direction, as the MTU rule judged it: "      \
	  "the smaller MSS option of the SYN and SYN-ACK, less the 12-byte timestamps option "     \
	  "when offered; without the handshake, the largest retransmission")                       \
	X(RDPWHY_TCP_MSS_SERVER, "rdpwhy.tcp.mss.server", INT, WHEN, "known", "bytes", "")         \
	X(RDPWHY_INFERRED_BYTES_CLIENT, "rdpwhy.inferred.bytes.client", INT, WHEN,                 \
	  "capture of the other side only", "bytes",                                               \
	  "bytes of the side never captured, from the acknowledgements of the side seen "          \
	  "(content unknown)")                                                                     \
	X(RDPWHY_INFERRED_BYTES_SERVER, "rdpwhy.inferred.bytes.server", INT, WHEN,                 \
	  "capture of the other side only", "bytes", "")                                           \
	X(RDPWHY_TLS_ENCRYPTED_RECORDS_CLIENT, "rdpwhy.tls.encrypted_records.client", INT, WHEN,   \
	  "that side's packets seen", "",                                                          \
	  "encrypted TLS records that side sent during set-up (NLA and early RDP)")                \
	X(RDPWHY_TLS_ENCRYPTED_RECORDS_SERVER, "rdpwhy.tls.encrypted_records.server", INT, WHEN,   \
	  "that side's packets seen", "", "")                                                      \
	X(RDPWHY_TLS_SSLV2_CLIENT_HELLO, "rdpwhy.tls.sslv2_client_hello", BOOL, WHEN,              \
	  "the client sent one", "", "`true`: the client opened with an SSLv2-format ClientHello") \
	X(RDPWHY_TLS_CLIENT_VERSIONS, "rdpwhy.tls.client_versions", STRINGS, WHEN,                 \
	  "ClientHello with supported_versions", "", "the TLS versions the client offered")        \
	X(RDPWHY_TLS_CLIENT_ALPN, "rdpwhy.tls.client_alpn", STRINGS, WHEN,                         \
	  "ClientHello with ALPN", "", "the ALPN protocols the client offered")                    \
	X(RDPWHY_TLS_CERT_CHAIN_LENGTH, "rdpwhy.tls.cert_chain_length", INT, WHEN,                 \
	  "a certificate was seen", "", "certificates in the chain the server sent")               \
	X(RDPWHY_TLS_CERT_SELF_SIGNED, "rdpwhy.tls.cert_self_signed", BOOL, WHEN,                  \
	  "a certificate was seen", "", "whether the server certificate is self-signed")           \
	X(RDPWHY_INSPECTED, "rdpwhy.inspected", BOOL, WHEN, "proxy with `inspect_cert`", "",       \
	  "`true`: the proxy terminated TLS with the host's own key and read what followed")       \
	X(RDPWHY_NLA_CREDSSP_VERSION, "rdpwhy.nla.credssp_version", INT, WHEN,                     \
	  "inspected, a server TSRequest", "", "the host's CredSSP TSRequest.version")             \
	X(RDPWHY_NLA_NTLM_CLIENT, "rdpwhy.nla.ntlm.client", STRINGS, WHEN, "inspected, NTLM seen", \
	  "",                                                                                      \
	  "the NTLM message types the client sent (never their "                                   \
	  "contents)")                                                                             \
	X(RDPWHY_NLA_NTLM_SERVER, "rdpwhy.nla.ntlm.server", STRINGS, WHEN, "inspected, NTLM seen", \
	  "", "the NTLM message types the host sent")                                              \
	X(RDPWHY_NLA_KERBEROS, "rdpwhy.nla.kerberos", BOOL, WHEN, "inspected, Kerberos seen", "",  \
	  "`true`: a Kerberos token was exchanged (never the tickets)")                            \
	X(RDPWHY_NLA_NTSTATUS, "rdpwhy.nla.ntstatus", STRING, WHEN,                                \
	  "inspected, TSRequest.errorCode", "", "the host's NTSTATUS, `0xC000006D`")               \
	X(RDPWHY_NLA_NTSTATUS_NAME, "rdpwhy.nla.ntstatus_name", STRING, WHEN,                      \
	  "inspected, a known errorCode", "", "its name, `STATUS_LOGON_FAILURE`")                  \
	X(RDPWHY_NLA_EARLY_AUTH, "rdpwhy.nla.early_auth", STRING, WHEN, "inspected, HYBRID_EX",    \
	  "", "the Early User Authorization Result: `AUTHZ_SUCCESS` or `AUTHZ_ACCESS_DENIED`")     \
	X(RDPWHY_KERBEROS_ERROR, "rdpwhy.kerberos.error", INT, WHEN, "inspected, a KRB-ERROR", "", \
	  "its error-code (RFC 4120 7.5.9): 37 is KRB_AP_ERR_SKEW")                                \
	X(RDPWHY_KERBEROS_ERROR_NAME, "rdpwhy.kerberos.error_name", STRING, WHEN,                  \
	  "inspected, a known KRB-ERROR", "", "its name, `KRB_AP_ERR_SKEW`")                       \
	X(RDPWHY_KERBEROS_SERVER_TIME, "rdpwhy.kerberos.server_time", DATE, WHEN,                  \
	  "inspected, a KRB-ERROR with stime", "", "the host's clock as the KRB-ERROR gave it")    \
	X(RDPWHY_RDP_ERROR_INFO, "rdpwhy.rdp.error_info", STRING, WHEN,                            \
	  "inspected, a Set Error Info PDU", "", "the host's errorInfo, `0x7`")                    \
	X(RDPWHY_RDP_ERROR_INFO_NAME, "rdpwhy.rdp.error_info_name", STRING, WHEN,                  \
	  "inspected, a known errorInfo", "", "its name, `ERRINFO_SERVER_DENIED_CONNECTION`")      \
	X(RDPWHY_RDP_LOGON, "rdpwhy.rdp.logon", BOOL, WHEN, "inspected", "",                       \
	  "whether the host sent a logon notification (Save Session Info)")                        \
	X(RDPWHY_RDP_ULTIMATUM_FROM, "rdpwhy.rdp.ultimatum.from", STRING, WHEN,                    \
	  "inspected, an MCS Disconnect Provider Ultimatum", "", "`client` or `server`")           \
	X(RDPWHY_RDP_ULTIMATUM_REASON, "rdpwhy.rdp.ultimatum.reason", STRING, WHEN,                \
	  "inspected, an MCS Disconnect Provider Ultimatum", "",                                   \
	  "its reason, `rn-user-requested`")                                                       \
	X(RDPWHY_SCAN_ATTEMPTS, "rdpwhy.scan.attempts", INT, WHEN, "`scan_or_flood` summaries",    \
	  "", "the connection attempts the record stands for (capture)")                           \
	X(RDPWHY_SCAN_REFUSED, "rdpwhy.scan.refused", INT, WHEN, "`scan_or_flood` summaries", "",  \
	  "of them, SYNs answered by RST")                                                         \
	X(RDPWHY_SCAN_UNANSWERED, "rdpwhy.scan.unanswered", INT, WHEN,                             \
	  "`scan_or_flood` summaries", "", "SYNs never answered")                                  \
	X(RDPWHY_SCAN_HALF_OPEN, "rdpwhy.scan.half_open", INT, WHEN, "`scan_or_flood` summaries",  \
	  "", "SYN-ACK, then nothing")                                                             \
	X(RDPWHY_SCAN_CLIENT_RESET, "rdpwhy.scan.client_reset", INT, WHEN,                         \
	  "`scan_or_flood` summaries", "", "SYN-ACK, then the client's RST")                       \
	X(RDPWHY_SCAN_TARGETS, "rdpwhy.scan.targets", INT, WHEN,                                   \
	  "`scan_or_flood` summaries per source", "",                                              \
	  "about how many distinct targets the source tried")                                      \
	X(RDPWHY_SCAN_SOURCES, "rdpwhy.scan.sources", INT, WHEN,                                   \
	  "`scan_or_flood` summaries per target", "",                                              \
	  "about how many sources a flood of one target came from")                                \
	X(RDPWHY_SCAN_PORTS, "rdpwhy.scan.ports", INT, WHEN, "`scan_or_flood` summaries", "",      \
	  "distinct analysed ports")                                                               \
	X(RDPWHY_PROXY_CONNECT_MS, "rdpwhy.proxy.connect_ms", INT, WHEN, "proxy", "ms",            \
	  "how long the upstream connect took")                                                    \
	X(RDPWHY_PROXY_WAITED_ON, "rdpwhy.proxy.waited_on", STRING, WHEN,                          \
	  "proxy, its timer closed the connection", "",                                            \
	  "the side it waited on: `client` or `server` (the one expected to speak next)")          \
	X(RDPWHY_PROXY_WAITING_FOR, "rdpwhy.proxy.waiting_for", STRING, WHEN,                      \
	  "proxy, its timer closed the connection", "",                                            \
	  "`network` (data sent to that side not acknowledged) or `peer` (everything "             \
	  "acknowledged, the side silent)")                                                        \
	X(RDPWHY_PROXY_LOST, "rdpwhy.proxy.lost", STRING, WHEN, "proxy, a leg failed", "",         \
	  "the side whose leg the kernel gave up on (keepalive or `TCP_USER_TIMEOUT`: "            \
	  "`peer_vanished`)")                                                                      \
	X(RDPWHY_PROXY_SOCKET_ERROR, "rdpwhy.proxy.socket_error", STRING, WHEN,                    \
	  "proxy, a leg failed", "",                                                               \
	  "the socket's error (`ETIMEDOUT`, or `EHOSTUNREACH` when an ICMP unreachable came "      \
	  "meanwhile)")                                                                            \
	X(RDPWHY_PROXY_UNACKED_BYTES, "rdpwhy.proxy.unacked_bytes", INT, WHEN,                     \
	  "proxy, with `waited_on` or `lost`", "bytes",                                            \
	  "bytes sent to that side and not acknowledged")                                          \
	X(RDPWHY_PROXY_LAST_ACK_MS, "rdpwhy.proxy.last_ack_ms", INT, WHEN,                         \
	  "proxy, with `waited_on` or `lost`", "ms",                                               \
	  "time since that side's last ACK (keepalive answers count)")                             \
	X(RDPWHY_PROXY_SILENT_MS, "rdpwhy.proxy.silent_ms", INT, WHEN,                             \
	  "proxy, with `waited_on` or `lost`", "ms", "time since that side's last byte of data")   \
	X(RDPWHY_PROXY_PROMPT_WAIT_MS, "rdpwhy.proxy.prompt_wait_ms", INT, WHEN,                   \
	  "proxy, it waited for a prompt", "ms",                                                   \
	  "how long past the phase timeout it waited for a silent client that had "                \
	  "acknowledged everything (`prompt_timeout`)")                                            \
	X(RDPWHY_ORIGINAL_DESTINATION_IP, "rdpwhy.original_destination.ip", STRING, WHEN,          \
	  "proxy, REDIRECT or TPROXY", "", "where the client meant to go")                         \
	X(RDPWHY_ORIGINAL_DESTINATION_PORT, "rdpwhy.original_destination.port", INT, WHEN,         \
	  "proxy, REDIRECT or TPROXY", "", "")                                                     \
	X(RDPWHY_FILE, "rdpwhy.file", STRING, WHEN, "replay", "",                                  \
	  "the capture file of the connection's first packet")                                     \
	X(RDPWHY_FILE_LAST, "rdpwhy.file_last", STRING, WHEN,                                      \
	  "replay, the connection spans two "                                                      \
	  "files",                                                                                 \
	  "", "the file of its last packet")                                                       \
	X(RDPWHY_FRAMES_FIRST, "rdpwhy.frames.first", INT, WHEN, "replay", "",                     \
	  "the frame number of the connection's first packet (from 1 in each file, as "            \
	  "Wireshark's \"Go to packet\")")                                                         \
	X(RDPWHY_FRAMES_LAST, "rdpwhy.frames.last", INT, WHEN, "replay", "",                       \
	  "the frame of the last packet before the record was written (the final ACKs of a "       \
	  "close may follow)")                                                                     \
	X(RDPWHY_VERSION, "rdpwhy.version", STRING, ALWAYS, "", "",                                \
	  "the rdpwhy version that wrote the record")                                              \
	X(RDPWHY_RECORD_ID, "rdpwhy.record_id", STRING, OUTPUT, "", "",                            \
	  "unique per record (de-duplication in a SIEM); for capture and replay derived from "     \
	  "the connection, so replaying a capture twice gives the same ids")

enum rw_key {
#define RW_KEY_ENUM(id, ...) RW_K_##id,
	RW_RECORD_KEYS(RW_KEY_ENUM)
#undef RW_KEY_ENUM
	        RW_K_COUNT
};

struct rw_record_key {
	const char *name; /* dotted: "rdpwhy.cause" */
	enum rw_key_type type;
	enum rw_key_presence presence;
	const char *when;    /* RW_KP_WHEN: the fact that brings it */
	const char *unit;    /* "" when none */
	const char *meaning; /* "" on a key that shares the row above's meaning */
};

extern const struct rw_record_key rw_record_keys[RW_K_COUNT];

/* "string", "date", "integer", "boolean", "array of strings". */
const char *rw_key_type_name(enum rw_key_type t);

/* The README's key table (markdown, one row per key), appended to out.
 * 0 or -1 (out of memory). */
int rw_record_keys_markdown(struct rw_buf *out);

#endif
