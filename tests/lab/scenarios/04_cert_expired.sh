#!/usr/bin/env bash
# 04_cert_expired — the host's certificate has expired; the client verifies.
#
# The host's certificate is signed by the lab CA (CN/SAN = the host's address)
# and expired (notBefore 2020-01-01, notAfter 2021-01-01). xrdp
# ssl_protocols=TLSv1.2, so the Certificate message is in cleartext.
#   a. 04_cert_expired: xfreerdp trusts the lab CA (SSL_CERT_FILE), /cert:deny,
#      empty HOME: the only thing wrong with the certificate is its date.
#   b. 04_cert_expired_selfsigned: the same dates on a self-signed certificate,
#      nothing trusted (what an admin who let a self-signed cert lapse sees).
# FreeRDP checks the certificate after the TLS handshake and closes with an
# encrypted alert and FIN; notAfter is years before the capture time. Expect
# certificate_expired, inline and from the capture, closed_by client,
# close_kind fin (the client gives up; xrdp, waiting for the MCS Connect
# Initial, only answers after the client's FIN), phase tls_handshake (no
# application data after the handshake). No cleartext alert: FreeRDP's
# alert is encrypted (after ChangeCipherSpec).
# One-direction captures (tcpdump -Q on the client's veth; lib.sh):
#   server_only: the expired certificate went out in cleartext (TLS 1.2),
#   the client's key exchange, Finished, a few more bytes (its alert) and FIN
#   are acknowledged by the server side -> certificate_expired, closed_by
#   client, fin, tls_handshake (issue #10's acceptance case).
#   When the client resets right after its FIN (the server's unread bytes in
#   its socket) before the server side acknowledged the FIN (@unacked, from
#   the wire oracle), the client's alert and FIN are in no server packet: the
#   half just stops after the handshake: still_open, none, tls_handshake.
#   client_only: the client's ClientHello, its handshake messages, one
#   encrypted alert-sized record and FIN, before any application data; the
#   server's flight (the certificate) travelled the other way. A client that
#   completes the handshake and leaves at once rejected what the server
#   showed, and which flaw it found (expiry, an untrusted issuer, a name) is in the other direction:
#   certificate_rejected_by_client, closed_by client, fin, tls_handshake,
#   low, with certificate_expired among the alternatives.
# The fault, checked first: the certificate file is expired (openssl x509
# -checkend); xfreerdp exits 143 (XF_EXIT_TLS_CONNECT_FAILED) after
# "certificate not trusted, aborting": a) its verification names the expiry
# ("certificate has expired (10)"), b) OpenSSL stops at the first problem of
# a self-signed certificate ("self-signed certificate (18)"; the expiry is the
# certificate's own fact); xrdp selected SSL and lost the client before the
# MCS Connect Initial.
#
# 04_cert_expired_fixed — the fix page's change (issue #17), on the
# self-signed host of b: the xrdp bullet of certificate_expired's "Change it",
# read from docs/causes.md and run on the host's files (the page's
# /etc/xrdp/cert.pem and key.pem are the files the lab's xrdp.ini names): the
# backup (`cp -a ... .old`), the new self-signed pair (`openssl req -x509 ...
# -subj "/CN=NAME" -addext "subjectAltName=DNS:NAME"`, with the page's
# `IP:ADDRESS` form: the lab's clients connect by address), then xrdp
# restarted. A self-signed certificate must then be trusted by the clients
# (the page says so; certificate_rejected_by_client's page: add it to their
# trust store): the client is b's, /cert:deny with an empty HOME, trusting
# exactly the certificate file the host uses (SSL_CERT_FILE; the lab does not
# touch the machine's own store). Before the change that same client trusts
# the expired certificate and still fails on its date; after it the handshake
# completes (TLS 1.2, the new certificate in cleartext: its SHA-256 from the
# file) and +auth-only disconnects -> normal_close, client, fin, established;
# the halves (LAB_FIXED_HALVES=1) as in 01_healthy. The fix, checked first: the certificate file is
# now in date, xfreerdp exits 0, xrdp logs the TLS connection. (The page's
# earlier command had no -subj: run unattended openssl stops at its prompt
# after writing the new key, so key and certificate no longer match; answered
# with the defaults the certificate has no name for the client's check.)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lab_init 04_cert_expired

lab_cert expired --ca --expired
lab_xrdp_start security_layer=tls ssl_protocols=TLSv1.2 \
    certificate="$LAB_CERTS/expired.pem" key_file="$LAB_CERTS/expired.key"
lab_begin 04_cert_expired
lab_xfreerdp 15 SSL_CERT_FILE="$LAB_CERTS/ca.pem" /sec:tls /cert:deny +auth-only
lab_cert_expect expired expired
lab_client_expect 143 "Certificate verification failure 'certificate has expired \\(10\\)'" \
    'certificate not trusted, aborting' ERRCONNECT_TLS_CONNECT_FAILED
lab_log_expect xrdp "$LAB_WORK/xrdp/xrdp.log" 'selected \[SSL\]' 'Connect-Initial failed'
lab_expect 04_cert_expired certificate_expired \
    rdpwhy.closed_by=client rdpwhy.close_kind=fin rdpwhy.phase=tls_handshake \
    rdp.requested_protocols=ssl rdp.selected_protocol=ssl tls.version=1.2 tls.alert.from=client tls.alert.description=encrypted \
    tls.server.x509.not_after=2021-01-01T00:00:00Z tls.server.x509.issuer.common_name="rdpwhy lab CA" \
    tls.server.hash.sha256="$(tr a-f A-F <"$LAB_CERTS/expired.sha256")" \
    server_only:verdict=certificate_expired/client/fin/tls_handshake \
    server_only:tls.server.x509.not_after=2021-01-01T00:00:00Z \
    server_only@unacked:verdict=still_open/none/none/tls_handshake \
    client_only:verdict=certificate_rejected_by_client/client/fin/tls_handshake \
    client_only:rdpwhy.confidence=low client_only:rdpwhy.alternatives~certificate_expired \
    --note "xrdp ssl_protocols=TLSv1.2 with a certificate signed by a CA the client trusts (SSL_CERT_FILE) but expired (notAfter 2021-01-01); xfreerdp /sec:tls /cert:deny, empty HOME; full TLS 1.2 handshake, certificate in cleartext, then the client's encrypted alert and FIN"
lab_xrdp_stop

lab_cert expired_ss --expired
lab_xrdp_start security_layer=tls ssl_protocols=TLSv1.2 \
    certificate="$LAB_CERTS/expired_ss.pem" key_file="$LAB_CERTS/expired_ss.key"
lab_begin 04_cert_expired_selfsigned
lab_xfreerdp 15 /sec:tls /cert:deny +auth-only
lab_cert_expect expired_ss expired
lab_client_expect 143 "Certificate verification failure 'self-signed certificate \\(18\\)'" \
    'certificate not trusted, aborting' ERRCONNECT_TLS_CONNECT_FAILED
lab_log_expect xrdp "$LAB_WORK/xrdp/xrdp.log" 'selected \[SSL\]' 'Connect-Initial failed'
lab_expect 04_cert_expired_selfsigned certificate_expired \
    rdpwhy.closed_by=client rdpwhy.close_kind=fin rdpwhy.phase=tls_handshake \
    rdp.requested_protocols=ssl rdp.selected_protocol=ssl tls.version=1.2 tls.alert.from=client tls.alert.description=encrypted \
    tls.server.x509.not_after=2021-01-01T00:00:00Z rdpwhy.tls.cert_self_signed=true \
    server_only:verdict=certificate_expired/client/fin/tls_handshake \
    server_only@unacked:verdict=still_open/none/none/tls_handshake \
    client_only:verdict=certificate_rejected_by_client/client/fin/tls_handshake \
    client_only:rdpwhy.confidence=low client_only:rdpwhy.alternatives~certificate_expired \
    --note "xrdp ssl_protocols=TLSv1.2 with an expired self-signed certificate (notAfter 2021-01-01); xfreerdp /sec:tls /cert:deny, empty HOME, nothing trusted; the client's encrypted alert and FIN follow the handshake"

# fixed: the fix page's xrdp commands on the host's certificate files, then
# b's client trusting the certificate file the host uses
lab_fix_has certificate_expired xrdp: 'systemctl restart xrdp' 'IP:ADDRESS'
lab_fix_run - "$(lab_fix_code certificate_expired xrdp: '^cp -a /etc/xrdp/cert.pem ')"
newpair=$(lab_fix_code certificate_expired xrdp: '^openssl req ')
newpair=${newpair//DNS:NAME/IP:$LAB_IP_HOST}
lab_fix_run - "${newpair//NAME/$LAB_IP_HOST}"
lab_fix_service 'systemctl restart xrdp'
lab_begin_fixed 04_cert_expired_fixed
lab_xfreerdp 15 SSL_CERT_FILE="$(lab_xrdp_ini_get certificate)" /sec:tls /cert:deny +auth-only
lab_cert_expect expired_ss valid
lab_fixed_client_ok
lab_log_expect xrdp "$LAB_WORK/xrdp/xrdp.log" 'TLS connection established from'
lab_expect_fixed 04_cert_expired_fixed \
    rdp.requested_protocols=ssl rdp.selected_protocol=ssl tls.established=true tls.version=1.2 \
    tls.server.hash.sha256="$(openssl x509 -in "$(lab_xrdp_ini_get certificate)" -outform der | sha256sum | cut -c 1-64 | tr a-f A-F)" \
    --note "as 04_cert_expired_selfsigned after docs/causes.md's xrdp change (a new self-signed pair for the host's address, xrdp restarted), the client trusting that certificate: the handshake completes"
lab_finish
