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
# certificate_expired, inline and from the capture.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lab_init 04_cert_expired

lab_cert expired --ca --expired
lab_xrdp_start security_layer=tls ssl_protocols=TLSv1.2 \
    certificate="$LAB_CERTS/expired.pem" key_file="$LAB_CERTS/expired.key"
lab_begin 04_cert_expired
lab_xfreerdp 15 SSL_CERT_FILE="$LAB_CERTS/ca.pem" /sec:tls /cert:deny +auth-only
grep -iE 'expired|verif|certificate' "$LAB_CASE_DIR/xfreerdp.log" | head -n 5 >&2 || true
lab_expect 04_cert_expired certificate_expired \
    rdpwhy.phase=tls_handshake rdpwhy.closed_by=client tls.version=1.2 \
    tls.server.x509.not_after=2021-01-01T00:00:00Z tls.server.x509.issuer.common_name="rdpwhy lab CA" \
    tls.server.hash.sha256="$(tr a-f A-F <"$LAB_CERTS/expired.sha256")" \
    --note "xrdp ssl_protocols=TLSv1.2 with a certificate signed by a CA the client trusts (SSL_CERT_FILE) but expired (notAfter 2021-01-01); xfreerdp /sec:tls /cert:deny, empty HOME; full TLS 1.2 handshake, certificate in cleartext, then the client's encrypted alert and FIN"
lab_xrdp_stop

lab_cert expired_ss --expired
lab_xrdp_start security_layer=tls ssl_protocols=TLSv1.2 \
    certificate="$LAB_CERTS/expired_ss.pem" key_file="$LAB_CERTS/expired_ss.key"
lab_begin 04_cert_expired_selfsigned
lab_xfreerdp 15 /sec:tls /cert:deny +auth-only
lab_expect 04_cert_expired_selfsigned certificate_expired \
    rdpwhy.phase=tls_handshake rdpwhy.closed_by=client tls.version=1.2 \
    tls.server.x509.not_after=2021-01-01T00:00:00Z rdpwhy.tls.cert_self_signed=true \
    --note "xrdp ssl_protocols=TLSv1.2 with an expired self-signed certificate (notAfter 2021-01-01); xfreerdp /sec:tls /cert:deny, empty HOME, nothing trusted; the client's encrypted alert and FIN follow the handshake"
lab_finish
