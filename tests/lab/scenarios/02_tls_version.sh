#!/usr/bin/env bash
# 02_tls_version — TLS protocol version mismatch.
#
# xrdp ssl_protocols=TLSv1.3 only (security_layer=tls); xfreerdp /sec:tls
# +enforce-tlsv1_2 (its ClientHello offers TLS 1.2 at most). The host answers
# the ClientHello with a cleartext fatal alert 70 protocol_version and no
# ServerHello. Expect tls_protocol_version_mismatch, alert from the server,
# phase tls_handshake, inline and from the capture.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lab_init 02_tls_version

lab_xrdp_start security_layer=tls ssl_protocols=TLSv1.3
lab_begin 02_tls_version
lab_xfreerdp 15 /sec:tls /cert:ignore +auth-only +enforce-tlsv1_2
lab_expect 02_tls_version tls_protocol_version_mismatch \
    rdpwhy.phase=tls_handshake rdp.selected_protocol=ssl \
    tls.alert.from=server tls.alert.description=protocol_version tls.established=false \
    --note "xrdp ssl_protocols=TLSv1.3 only, xfreerdp /sec:tls +enforce-tlsv1_2 (ClientHello up to TLS 1.2); the host answers with a cleartext fatal alert 70 protocol_version, no ServerHello"
lab_finish
