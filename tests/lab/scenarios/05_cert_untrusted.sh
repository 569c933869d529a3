#!/usr/bin/env bash
# 05_cert_untrusted — a valid but untrusted (self-signed) host certificate;
# the client verifies (/cert:deny, empty HOME: nothing trusted or remembered).
#
#   a. 05_cert_untrusted: xrdp ssl_protocols "TLSv1.2, TLSv1.3": TLS 1.3, the
#      certificate is encrypted on the wire; the client completes the handshake,
#      refuses the certificate, sends an encrypted alert and FIN.
#   b. 05_cert_untrusted_tls12: ssl_protocols=TLSv1.2: the same with the
#      certificate in cleartext (self-signed, in date).
# Expect certificate_rejected_by_client, inline and from the capture.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lab_init 05_cert_untrusted

lab_cert host
lab_xrdp_start security_layer=tls "ssl_protocols=TLSv1.2, TLSv1.3"
lab_begin 05_cert_untrusted
lab_xfreerdp 15 /sec:tls /cert:deny +auth-only
grep -iE 'self.signed|denying|verif' "$LAB_CASE_DIR/xfreerdp.log" | head -n 3 >&2 || true
lab_expect 05_cert_untrusted certificate_rejected_by_client \
    rdpwhy.phase=tls_handshake rdpwhy.closed_by=client tls.version=1.3 tls.alert.from=client \
    --note "xrdp TLSv1.2+1.3 with a self-signed certificate (CN/SAN = host address, in date); xfreerdp /sec:tls /cert:deny, empty HOME; TLS 1.3 (certificate encrypted): the handshake completes, the client refuses the certificate, sends an encrypted alert and FIN"
lab_xrdp_stop

lab_xrdp_start security_layer=tls ssl_protocols=TLSv1.2
lab_begin 05_cert_untrusted_tls12
lab_xfreerdp 15 /sec:tls /cert:deny +auth-only
lab_expect 05_cert_untrusted_tls12 certificate_rejected_by_client \
    rdpwhy.phase=tls_handshake rdpwhy.closed_by=client tls.version=1.2 tls.alert.from=client \
    rdpwhy.tls.cert_self_signed=true tls.server.hash.sha256="$(tr a-f A-F <"$LAB_CERTS/host.sha256")" \
    --note "xrdp ssl_protocols=TLSv1.2 with a self-signed certificate (in date); xfreerdp /sec:tls /cert:deny, empty HOME; certificate in cleartext; full handshake, then the client's encrypted alert and FIN"
lab_finish
