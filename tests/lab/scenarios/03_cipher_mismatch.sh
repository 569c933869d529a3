#!/usr/bin/env bash
# 03_cipher_mismatch — no cipher suite in common.
#
# xrdp ssl_protocols=TLSv1.2 tls_ciphers=ECDHE-RSA-CHACHA20-POLY1305 (one
# suite); xfreerdp /sec:tls /tls-ciphers:ECDHE-RSA-AES128-GCM-SHA256 (its TLS
# 1.2 list has only that suite; TLS 1.3 suites are offered too, but the host
# does not speak 1.3). The host answers the ClientHello with a cleartext fatal
# alert 40 handshake_failure and no ServerHello. Expect tls_cipher_mismatch,
# inline and from the capture; phase tls_handshake; closed_by client|server,
# close_kind fin|rst: the race of 02 (xrdp sends an MCS Disconnect Provider
# Ultimatum after its alert and closes, FreeRDP closes on the alert; either can
# be first, an unread Ultimatum turns FreeRDP's FIN into an RST); the cause is
# the alert's either way.
# One-direction captures (tcpdump -Q on the client's veth; lib.sh):
#   server_only: the server's cleartext alert 40 (handshake_failure) is in this half -> tls_cipher_mismatch,
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
#   answer is tls_alert, low, with tls_cipher_mismatch among the alternatives;
#   closed_by/close_kind as on the wire (the client's own close is here, a
#   server FIN before it is covered by the client's ACK).
# The fault, checked first: xrdp's OpenSSL logs "no shared cipher"; xfreerdp
# exits 143 (XF_EXIT_TLS_CONNECT_FAILED) with ERRCONNECT_TLS_CONNECT_FAILED.
#
# 03_cipher_mismatch_fixed — the fix page's change (issue #17): the xrdp line of
# tls_cipher_mismatch's "Change it" (`tls_ciphers=HIGH`, read from
# docs/causes.md) written over the host's tls_ciphers line, xrdp restarted, then
# the same client (/tls-ciphers:ECDHE-RSA-AES128-GCM-SHA256). HIGH has that
# suite and the host still speaks TLS 1.2 only: the handshake completes with
# it -> normal_close, client, fin, established, tls.version 1.2,
# tls.cipher TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256; the halves (LAB_FIXED_HALVES=1) as in
# 01_healthy. The FreeRDP bullet's example (/tls-ciphers:ECDHE-RSA-AES256-GCM-SHA384,
# "a suite the host has") is not run: this host has only CHACHA20, so the
# example suite is not one it has; the page says to pick one it has.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lab_init 03_cipher_mismatch

lab_xrdp_start security_layer=tls ssl_protocols=TLSv1.2 tls_ciphers=ECDHE-RSA-CHACHA20-POLY1305
lab_begin 03_cipher_mismatch
lab_xfreerdp 15 /sec:tls /cert:ignore +auth-only /tls-ciphers:ECDHE-RSA-AES128-GCM-SHA256
lab_client_expect 143 ERRCONNECT_TLS_CONNECT_FAILED
lab_log_expect xrdp "$LAB_WORK/xrdp/xrdp.log" 'SSL: error:[0-9A-F]+:SSL routines::no shared cipher'
lab_expect 03_cipher_mismatch tls_cipher_mismatch \
    'rdpwhy.closed_by=client|server' 'rdpwhy.close_kind=fin|rst' rdpwhy.phase=tls_handshake \
    rdp.requested_protocols=ssl rdp.selected_protocol=ssl \
    tls.alert.from=server tls.alert.description=handshake_failure tls.established=false \
    'server_only:verdict=tls_cipher_mismatch/client|server/fin|rst/tls_handshake' \
    'client_only:verdict=tls_alert/client|server/fin|rst/tls_handshake' client_only:rdpwhy.confidence=low \
    client_only:rdpwhy.alternatives~tls_cipher_mismatch \
    --note "xrdp ssl_protocols=TLSv1.2 tls_ciphers=ECDHE-RSA-CHACHA20-POLY1305, xfreerdp /sec:tls /tls-ciphers:ECDHE-RSA-AES128-GCM-SHA256; the host answers the ClientHello with a cleartext fatal alert 40 handshake_failure, no ServerHello"

# fixed: the fix page's xrdp change, then the same client
lab_fix_has tls_cipher_mismatch xrdp: 'systemctl restart xrdp'
lab_xrdp_ini_set "$(lab_fix_code tls_cipher_mismatch xrdp: '^tls_ciphers=')"
lab_fix_service 'systemctl restart xrdp'
lab_begin_fixed 03_cipher_mismatch_fixed
lab_xfreerdp 15 /sec:tls /cert:ignore +auth-only /tls-ciphers:ECDHE-RSA-AES128-GCM-SHA256
lab_fixed_client_ok
lab_log_expect xrdp "$LAB_WORK/xrdp/xrdp.log" 'TLS connection established from'
lab_expect_fixed 03_cipher_mismatch_fixed \
    rdp.requested_protocols=ssl rdp.selected_protocol=ssl tls.established=true tls.version=1.2 \
    tls.cipher=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 \
    --note "as 03_cipher_mismatch after docs/causes.md's xrdp change (tls_ciphers=HIGH; xrdp restarted): the same client's only TLS 1.2 suite is now in common"
lab_finish
