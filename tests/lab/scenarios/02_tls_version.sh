#!/usr/bin/env bash
# 02_tls_version — TLS protocol version mismatch.
#
# xrdp ssl_protocols=TLSv1.3 only (security_layer=tls); xfreerdp /sec:tls
# +enforce-tlsv1_2 (its ClientHello offers TLS 1.2 at most). The host answers
# the ClientHello with a cleartext fatal alert 70 protocol_version and no
# ServerHello. Expect tls_protocol_version_mismatch, alert from the server,
# phase tls_handshake, inline and from the capture.
# closed_by client|server, close_kind fin|rst: a race. After its alert xrdp
# sends a cleartext MCS Disconnect Provider Ultimatum and closes (FIN); FreeRDP's
# TLS connect fails on the alert and it closes too. Either FIN can come first
# (both seen, inline and on the client's wire); and when the Ultimatum is
# already in FreeRDP's socket, unread, when it closes, its kernel sends an RST
# instead of a FIN. The cause is the same whoever closes first: the alert
# decides it. The capture must name the closer its packets show.
# One-direction captures (tcpdump -Q on the client's veth; lib.sh):
#   server_only: the server's cleartext alert 70 (protocol_version) is in this half -> tls_protocol_version_mismatch,
#   phase tls_handshake. The closer is the race above as this half sees it: the
#   server side's own FIN, or the client's FIN where the server side
#   acknowledged it; a client RST is never acknowledged, and a client FIN the
#   server side never acknowledged is not in this half, so its first close may
#   be the server side's FIN: closed_by client|server, close_kind fin|rst,
#   named as on the two-direction wire wherever this half can see that close.
#   client_only: the ClientHello, then the server's answer only as the
#   client's ACKs of 7 bytes (a TLS alert record is exactly 5 + 2 bytes) or a
#   little more (the MCS Disconnect Provider Ultimatum that follows), then the
#   close. Which alert it was only the server's packets show: the honest
#   answer is tls_alert, low, with tls_protocol_version_mismatch among the alternatives;
#   closed_by/close_kind as on the wire (the client's own close is here, a
#   server FIN before it is covered by the client's ACK).
# The fault, checked first: xrdp's OpenSSL logs "unsupported protocol";
# xfreerdp exits 143 (XF_EXIT_TLS_CONNECT_FAILED) with ERRCONNECT_TLS_CONNECT_FAILED.
#
# 02_tls_version_fixed — the fix page's change (issue #17): the xrdp line of
# tls_protocol_version_mismatch's "Change it" (`ssl_protocols=TLSv1.2, TLSv1.3`,
# read from docs/causes.md) written over the host's ssl_protocols line, xrdp
# restarted (`systemctl restart xrdp` on the page), then the same client
# (+enforce-tlsv1_2). Both sides now have TLS 1.2: the handshake completes in
# TLS 1.2 and +auth-only disconnects once connected -> normal_close, client,
# fin, established, tls.version 1.2, inline and from the capture; the halves
# (LAB_FIXED_HALVES=1) as in 01_healthy. The fix, checked first: xfreerdp exits 0, xrdp logs the TLS
# connection. Were the page's line to leave TLS 1.2 off, the alert of the case
# above would come again and the statement would fail.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lab_init 02_tls_version

lab_xrdp_start security_layer=tls ssl_protocols=TLSv1.3
lab_begin 02_tls_version
lab_xfreerdp 15 /sec:tls /cert:ignore +auth-only +enforce-tlsv1_2
lab_client_expect 143 ERRCONNECT_TLS_CONNECT_FAILED
lab_log_expect xrdp "$LAB_WORK/xrdp/xrdp.log" 'SSL: error:[0-9A-F]+:SSL routines::unsupported protocol'
lab_expect 02_tls_version tls_protocol_version_mismatch \
    'rdpwhy.closed_by=client|server' 'rdpwhy.close_kind=fin|rst' rdpwhy.phase=tls_handshake \
    rdp.requested_protocols=ssl rdp.selected_protocol=ssl \
    tls.alert.from=server tls.alert.description=protocol_version tls.established=false \
    'server_only:verdict=tls_protocol_version_mismatch/client|server/fin|rst/tls_handshake' \
    'client_only:verdict=tls_alert/client|server/fin|rst/tls_handshake' client_only:rdpwhy.confidence=low \
    client_only:rdpwhy.alternatives~tls_protocol_version_mismatch \
    --note "xrdp ssl_protocols=TLSv1.3 only, xfreerdp /sec:tls +enforce-tlsv1_2 (ClientHello up to TLS 1.2); the host answers with a cleartext fatal alert 70 protocol_version, no ServerHello"

# fixed: the fix page's xrdp change, then the same client
lab_fix_has tls_protocol_version_mismatch xrdp: 'systemctl restart xrdp'
lab_xrdp_ini_set "$(lab_fix_code tls_protocol_version_mismatch xrdp: '^ssl_protocols=')"
lab_fix_service 'systemctl restart xrdp'
lab_begin_fixed 02_tls_version_fixed
lab_xfreerdp 15 /sec:tls /cert:ignore +auth-only +enforce-tlsv1_2
lab_fixed_client_ok
lab_log_expect xrdp "$LAB_WORK/xrdp/xrdp.log" 'TLS connection established from'
lab_expect_fixed 02_tls_version_fixed \
    rdp.requested_protocols=ssl rdp.selected_protocol=ssl tls.established=true tls.version=1.2 \
    --note "as 02_tls_version after docs/causes.md's xrdp change (ssl_protocols=TLSv1.2, TLSv1.3; xrdp restarted): the same +enforce-tlsv1_2 client connects in TLS 1.2"
lab_finish
