#!/usr/bin/env bash
# 07_firewall_reset — a firewall in the path resets the connection after the
# X.224 exchange.
#
# The middlebox forwards between gateway and host and rejects the client's
# ClientHello (the first TLS record, right after the X.224 Connection Confirm)
# with a forged RST:
#   iptables -A FORWARD -p tcp --dport 3389 -m length --length 100:
#            -m string --algo bm --hex-string '|16 03 01|' --from 40
#            -j REJECT --reject-with tcp-reset
# The ClientHello is dropped and the middlebox's kernel sends an RST, with the
# host's address and port as source, to the sender. xrdp (security_layer=tls)
# never hears of it; xfreerdp /sec:tls.
#
# Where the RST can be told apart: rdpwhy on the gateway terminates the client's
# TCP connection and opens its own to the host, so the forged RST reaches
# rdpwhy's upstream socket, and rdpwhy passes an RST of its own to the client.
#   - Inline, a socket does not see the TTL of an RST: the record says the
#     server reset right after the ClientHello, with no ServerHello and no
#     alert. That is tls_rejected_without_alert (its rule comes before
#     reset_by_server: Schannel rejects a ClientHello the same way), closed_by
#     server, close_kind rst, phase tls_handshake.
#   - The client-side capture (07_fw_reset) shows rdpwhy's RST, sent by the
#     gateway with the same TTL (64) as every other packet the client gets
#     from "the host" (all of them come from rdpwhy's socket): the same
#     verdict, tls_rejected_without_alert. No TTL fact exists on that wire.
#   - The capture between gateway and middlebox (interface gm, 07_fw_reset_path)
#     is where the injection shows: the host's packets arrive there with TTL 63
#     (one router, the middlebox, between host and gm), the forged RST with TTL
#     64 (sent by the middlebox itself) -> reset_injected.
# closed_by server, close_kind rst, phase tls_handshake everywhere: the RST is
# the first close on every leg and the wire holds the ClientHello.
# The path capture: lab_path_capture_start / lab_path_expect (lib.sh), a second
# capture of the same case on another interface, asserted with lab_expect.
# The fault, checked first: the REJECT rule's packet counter (iptables -nvx)
# counted the ClientHello; xrdp selected SSL and never completed TLS (it got
# no ClientHello); xfreerdp exits 143 (XF_EXIT_TLS_CONNECT_FAILED).
# One-direction captures of the client's veth (tcpdump -Q; lib.sh):
#   server_only: the CC selecting SSL, then rdpwhy's RST, whose ACK number
#   covers the client's next bytes: after a CC selecting SSL those are the
#   ClientHello (MS-RDPBCGR 5.4.5), answered by an RST with no byte ->
#   tls_rejected_without_alert, server, rst, tls_handshake, not high.
#   client_only: the ClientHello, then nothing: an RST is never acknowledged
#   and FreeRDP, reset, sends nothing more. The close is not in this half:
#   still_open, none, none, tls_handshake (medium: the unseen side may have
#   reset, and the record says so by not being high).
#
# 07_fw_reset_fixed — the fix page's change (issue #17): the inline and client-side
# verdict is tls_rejected_without_alert, whose page sends "an RST from a device
# in the path" to reset_injected (the path capture's verdict); its Linux bullet,
# read from docs/causes.md: find the rule(s) the bullet names (REJECT) with
# `iptables -L FORWARD -n --line-numbers` and delete each by its number,
# `iptables -D FORWARD N`, in the middlebox.
# Then the same client: the ClientHello reaches xrdp, the
# connection completes, +auth-only disconnects -> normal_close, client, fin,
# established; the halves (LAB_FIXED_HALVES=1) as in 01_healthy. The fix, checked first: no such
# rule is left for TCP 3389, xfreerdp exits 0, xrdp logs the TLS connection.
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lab_init 07_firewall_reset

lab_xrdp_start security_layer=tls "ssl_protocols=TLSv1.2, TLSv1.3"
# Data packets (>= 100 bytes) whose payload starts with a TLS handshake record
# header: the ClientHello (the X.224 request does not contain 16 03 01; --from
# 40 skips the IP and TCP headers up to the options).
lab_ipt "$LAB_NS_MB" filter FORWARD -p tcp --dport 3389 -m length --length 100:65535 \
    -m string --algo bm --hex-string '|16 03 01|' --from 40 -j REJECT --reject-with tcp-reset

lab_begin 07_fw_reset
lab_path_capture_start "$LAB_NS_GW" "$LAB_IF_GW_M"
lab_xfreerdp 15 /sec:tls /cert:ignore +auth-only
lab_ipt_expect "$LAB_NS_MB" filter FORWARD 'REJECT .*reject-with tcp-reset' 1 "the middlebox's REJECT of the ClientHello"
lab_client_expect 143 ERRCONNECT_TLS_CONNECT_FAILED
lab_log_expect xrdp "$LAB_WORK/xrdp/xrdp.log" 'selected \[SSL\]'
lab_log_absent xrdp "$LAB_WORK/xrdp/xrdp.log" 'TLS connection established'
lab_expect 07_fw_reset tls_rejected_without_alert \
    rdpwhy.closed_by=server rdpwhy.close_kind=rst rdpwhy.phase=tls_handshake \
    rdp.requested_protocols=ssl rdp.selected_protocol=ssl tls.established=false !tls.alert.description \
    server_only:verdict=tls_rejected_without_alert/server/rst/tls_handshake \
    client_only:verdict=still_open/none/none/tls_handshake \
    --note "xrdp security_layer=tls; the middlebox rejects the ClientHello with iptables REJECT --reject-with tcp-reset (string match 16 03 01); capture on the client's veth: the RST there is rdpwhy's own (the gateway re-originates the connection), same TTL 64 as every packet from the host side, so no injection is visible: ClientHello then server RST, no ServerHello, no alert"
lab_path_expect 07_fw_reset_path tls_rejected_without_alert/reset_injected \
    rdpwhy.closed_by=server rdpwhy.close_kind=rst rdpwhy.phase=tls_handshake \
    "capture:rdpwhy.evidence~RST claiming to be from the server has TTL 64, its other packets TTL 63" \
    --note "as 07_fw_reset.pcap, captured between gateway and middlebox (gm): the host's packets arrive with TTL 63 (routed by the middlebox), the RST forged by the middlebox's REJECT with TTL 64; inline the proxy sees only ECONNRESET"

# fixed: the fix page's iptables change in the middlebox, then the same client
lab_fix_ipt_page "$LAB_NS_MB" reset_injected Linux: FORWARD
lab_begin_fixed 07_fw_reset_fixed
lab_xfreerdp 15 /sec:tls /cert:ignore +auth-only
lab_fixed_client_ok
lab_log_expect xrdp "$LAB_WORK/xrdp/xrdp.log" 'TLS connection established from'
lab_expect_fixed 07_fw_reset_fixed \
    rdp.requested_protocols=ssl rdp.selected_protocol=ssl tls.established=true \
    --note "as 07_fw_reset after docs/causes.md's change (the middlebox's REJECT rule deleted by number with iptables -D FORWARD N)"
lab_finish
