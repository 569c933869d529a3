#!/usr/bin/env bash
# 15_rdp_firewall — an RDP-aware firewall resets RDP by its content.
#
# The middlebox forwards between gateway and host and rejects any packet that
# carries the X.224 Connection Request's cookie, as an application-control
# firewall that blocks RDP does (by signature, not by port):
#   iptables -A FORWARD -p tcp --dport 3389 -m string --string "Cookie: mstshash"
#            --algo bm -j REJECT --reject-with tcp-reset
# The TCP handshake passes (no payload), the request is dropped, and the
# middlebox's kernel answers it with an RST from the host's address and port.
# xrdp (security_layer=tls) never gets the request. Nothing here terminates TLS:
# the close right after the request is the firewall's.
#
# What each vantage point can tell (issue #10 item 6): a close within ms of the
# Connection Request, without a byte from the server side, fits a TLS-first
# load balancer, an RDP-aware firewall and a host at its connection limit alike.
#   Inline (15_rdp_firewall): rdpwhy's upstream socket is reset right after it
#   sent the request; a socket has no TTL. Client-side capture (15_rdp_firewall):
#   rdpwhy passes the RST on with its own TTL, like every packet from the
#   server side. Both: closed_by server, rst, phase x224, and the cause one of
#   tls_terminating_middlebox, x224_closed_by_server, reset_injected with
#   confidence low and the other two among the alternatives, with what tells
#   them apart naming the firewall (rdpwhy.tell_apart).
#   Capture between gateway and middlebox (15_rdp_firewall_path, interface gm):
#   the host's SYN-ACK arrives with TTL 63 (routed by the middlebox), the RST
#   with TTL 64 (sent by the middlebox itself): nearer than whatever answered
#   the handshake, so not the host's -> reset_injected, server, rst, x224,
#   evidence "RST claiming to be from the server has TTL 64, its SYN-ACK TTL
#   63". (No data packet of the host exists to compare with: the firewall
#   acted on the very first payload.)
# One-direction captures of the client's veth (tcpdump -Q; lib.sh):
#   server_only: the handshake, the request acknowledged (the client's first
#   bytes, its CR), the RST: the same set as the client-side capture, low.
#   client_only: the request, then nothing: an RST is never acknowledged and
#   FreeRDP, reset, sends nothing more: still_open, none, none, x224.
# The fault, checked first: the REJECT rule counted the request; xrdp never got
# an X.224 request (no "Security protocol" line); xfreerdp fails on the
# transport (147; 131, connect failed, when the RST beats its connect check).
#
# 15_rdp_firewall_fixed — the fix page's change (issue #17): the path
# capture names reset_injected; its Linux bullet, read from docs/causes.md:
# find the rule(s) the bullet names (REJECT) with `iptables -L FORWARD -n
# --line-numbers` and delete each by its number, `iptables -D FORWARD N`, in
# the middlebox. (The two other causes of
# the low-confidence set have no Linux change for this wire: the HAProxy bullet
# of tls_terminating_middlebox is 09's, a connection limit is Windows'.) Then
# the same client: the request reaches xrdp, the connection completes,
# +auth-only disconnects -> normal_close, client, fin, established; the
# halves (LAB_FIXED_HALVES=1) as in 01_healthy. The fix, checked first: no such rule is left for
# TCP 3389, xfreerdp exits 0, xrdp logs the TLS connection.
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lab_init 15_rdp_firewall

lab_xrdp_start security_layer=tls "ssl_protocols=TLSv1.2, TLSv1.3"
lab_ipt "$LAB_NS_MB" filter FORWARD -p tcp --dport 3389 -m string --string "Cookie: mstshash" --algo bm \
    -j REJECT --reject-with tcp-reset

QUICK_CLOSE=(tls_terminating_middlebox x224_closed_by_server reset_injected)
lab_begin 15_rdp_firewall
lab_path_capture_start "$LAB_NS_GW" "$LAB_IF_GW_M"
lab_xfreerdp 12 /sec:tls /cert:ignore +auth-only
lab_ipt_expect "$LAB_NS_MB" filter FORWARD 'REJECT .*STRING match' 1 "the middlebox's REJECT of the X.224 request"
lab_log_absent xrdp "$LAB_WORK/xrdp/xrdp.log" 'Security protocol'
lab_client_expect '147|131' 'ERRCONNECT_CONNECT_(TRANSPORT_)?FAILED'
lab_expect 15_rdp_firewall "$(IFS='|'; echo "${QUICK_CLOSE[*]}")" \
    rdpwhy.closed_by=server rdpwhy.close_kind=rst rdpwhy.phase=x224 \
    rdp.requested_protocols=ssl destination.bytes=0 '!rdp.selected_protocol' rdpwhy.confidence=low \
    "lab.causes~${QUICK_CLOSE[0]}" "lab.causes~${QUICK_CLOSE[1]}" "lab.causes~${QUICK_CLOSE[2]}" \
    'rdpwhy.tell_apart~firewall' \
    "server_only:verdict=$(IFS='|'; echo "${QUICK_CLOSE[*]}")/server/rst/x224" server_only:rdpwhy.confidence=low \
    "server_only:lab.causes~${QUICK_CLOSE[0]}" "server_only:lab.causes~${QUICK_CLOSE[1]}" \
    "server_only:lab.causes~${QUICK_CLOSE[2]}" \
    client_only:verdict=still_open/none/none/x224 \
    --note "the middlebox rejects the X.224 Connection Request by content (iptables -m string 'Cookie: mstshash' -j REJECT --reject-with tcp-reset), an RDP-aware firewall; capture on the client's veth: the request, then rdpwhy's RST (TTL 64 like every packet from the server side): the quick silent close that also fits a TLS-first balancer or a host at its connection limit"
lab_path_expect 15_rdp_firewall_path "$(IFS='|'; echo "${QUICK_CLOSE[*]}")/reset_injected" \
    rdpwhy.closed_by=server rdpwhy.close_kind=rst rdpwhy.phase=x224 inline:rdpwhy.confidence=low \
    "capture:rdpwhy.evidence~RST claiming to be from the server has TTL 64, its SYN-ACK TTL 63" \
    --note "as 15_rdp_firewall.pcap, captured between gateway and middlebox (gm): the host's SYN-ACK with TTL 63, the middlebox's RST with TTL 64 (nearer than what answered the handshake: not the host's)"

# fixed: the fix page's iptables change in the middlebox, then the same client
lab_fix_ipt_page "$LAB_NS_MB" reset_injected Linux: FORWARD
lab_begin_fixed 15_rdp_firewall_fixed
lab_xfreerdp 12 /sec:tls /cert:ignore +auth-only
lab_fixed_client_ok
lab_log_expect xrdp "$LAB_WORK/xrdp/xrdp.log" 'TLS connection established from'
lab_expect_fixed 15_rdp_firewall_fixed \
    rdp.requested_protocols=ssl rdp.selected_protocol=ssl tls.established=true \
    --note "as 15_rdp_firewall after docs/causes.md's change (the middlebox's REJECT rule deleted by number with iptables -D FORWARD N)"
lab_finish
