#!/usr/bin/env bash
# 07b_firewall_reset_late — a firewall drops the ClientHello once, then resets
# its retransmission: the RST the unseen side sent, inferred from a
# one-direction capture (issue #10 item 1).
#
# The middlebox forwards between gateway and host. Its first rule resets a
# ClientHello (a data packet >= 100 bytes whose payload starts with a TLS
# handshake record header) from a source it has seen before; the second
# drops the first one and remembers the source (xt_recent):
#   ... --hex-string '|16 03 01|' -m recent --name ch --rcheck -j REJECT --reject-with tcp-reset
#   ... --hex-string '|16 03 01|' -m recent --name ch --set    -j DROP
# So the ClientHello rdpwhy sends upstream is lost, rdpwhy's kernel
# retransmits it after its retransmission timeout, and the retransmission is
# answered by an RST forged by the middlebox (TTL 64; the host's packets
# arrive at the gateway with TTL 63). xrdp (security_layer=tls) never sees a
# ClientHello; xfreerdp /sec:tls gets rdpwhy's RST and exits 143.
# Three seconds later a second client connects: its ClientHello is reset at
# once. It is there so that the captures go on after the first connection,
# as a real capture does: a one-direction capture that ends with its last
# packet cannot tell a side that stopped because it was reset from one the
# capture stopped watching.
#
#   Client-side capture (07b_fw_reset_late, connection 1): as 07_fw_reset:
#   the ClientHello, then rdpwhy's RST with no byte and no alert ->
#   tls_rejected_without_alert, server, rst, tls_handshake.
#   One-direction captures of the client's veth:
#     server_only: the CC selecting SSL, then rdpwhy's RST, whose ACK covers
#     the client's ClientHello -> tls_rejected_without_alert, server, rst,
#     tls_handshake.
#     client_only: the ClientHello sent once (rdpwhy's socket acknowledged it
#     at once: no loss on this leg), then nothing, though the capture goes on
#     for seconds: a side that never retransmitted may be waiting on its
#     peer, so no close is inferred -> still_open, none, none, tls_handshake.
#   Path capture between gateway and middlebox (07b_fw_reset_late_path,
#   interface gm, connection 1): the ClientHello, its retransmission, the
#   forged RST with TTL 64 against the host's 63 -> tls_rejected_without_alert
#   or reset_injected (the set: the RST answers the ClientHello, and its TTL
#   says the middlebox forged it), server, rst, tls_handshake.
#   One-direction captures of gm (tcpdump -Q out / -Q in on the gateway):
#     client_only (what rdpwhy sent upstream): the ClientHello, its
#     retransmission ~0.2-1 s later, then silence for seconds while the
#     capture goes on (the second connection), no FIN: rdpwhy's kernel
#     stopped retransmitting long before its timer gives up, which a stack
#     does only when answered; nothing it acknowledged came, so the host side
#     reset -> tls_rejected_without_alert, server, rst, tls_handshake, low
#     confidence (the RST itself is not in this half: reset_injected and a
#     host that acknowledged and went quiet remain possible).
#     server_only (what reached the gateway from the host side): the SYN-ACK
#     and the CC with TTL 63, then the forged RST with TTL 64 and no ACK
#     (Linux's REJECT answers a segment carrying an ACK with a bare RST,
#     sequence = that ACK): the ClientHello is not in this half -> the RST's
#     TTL differs from the server's data packets: reset_injected, server, rst,
#     x224 or tls_handshake (the Confirm selected TLS; whether the ClientHello
#     went out is not in this half).
# The fault, checked first: the DROP rule counted one packet, the REJECT rule
# at least two (the retransmission and the second connection's ClientHello);
# xrdp selected SSL and never completed TLS; xfreerdp exits 143 both times.
#
# 07b_fw_reset_late_fixed — the fix page's change (issue #17): the inline and client-side
# verdict is tls_rejected_without_alert, whose page sends "an RST from a device
# in the path" to reset_injected (the path capture's verdict); its Linux bullet,
# read from docs/causes.md: find the rule(s) the bullet names (REJECT, and any
# DROP rule for the same traffic: here the DROP rule drops the first
# ClientHello, so deleting the REJECT rule alone leaves every ClientHello
# dropped and the handshake times out) with `iptables -L FORWARD -n
# --line-numbers` and delete each by its number, `iptables -D FORWARD N`, in
# the middlebox (by number: the spec `iptables -S` prints for the xt_recent
# rules is not found again by this iptables-nft, "Bad rule"; the page's
# earlier "delete by spec, the REJECT rule" failed here on both counts).
# Then the same client: the ClientHello reaches xrdp, the
# connection completes, +auth-only disconnects -> normal_close, client, fin,
# established; the halves (LAB_FIXED_HALVES=1) as in 01_healthy. The fix, checked first: no such
# rule is left for TCP 3389, xfreerdp exits 0, xrdp logs the TLS connection.
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lab_init 07b_firewall_reset_late

lab_xrdp_start security_layer=tls "ssl_protocols=TLSv1.2, TLSv1.3"
hello=(-p tcp --dport 3389 -m length --length 100:65535 -m string --algo bm --hex-string '|16 03 01|' --from 40)
lab_ipt "$LAB_NS_MB" filter FORWARD "${hello[@]}" -m recent --name ch --rcheck -j REJECT --reject-with tcp-reset
lab_ipt "$LAB_NS_MB" filter FORWARD "${hello[@]}" -m recent --name ch --set -j DROP

lab_begin 07b_fw_reset_late
lab_path_capture_start "$LAB_NS_GW" "$LAB_IF_GW_M"
lab_path_capture_start --tag out "$LAB_NS_GW" "$LAB_IF_GW_M" -Q out
lab_path_capture_start --tag in "$LAB_NS_GW" "$LAB_IF_GW_M" -Q in
lab_xfreerdp 15 /sec:tls /cert:ignore +auth-only
lab_client_expect 143 ERRCONNECT_TLS_CONNECT_FAILED
sleep 3
lab_xfreerdp 15 /sec:tls /cert:ignore +auth-only
lab_client_expect 143 ERRCONNECT_TLS_CONNECT_FAILED
lab_ipt_expect "$LAB_NS_MB" filter FORWARD 'DROP .*recent: SET' 1 "the middlebox's DROP of the first ClientHello"
lab_ipt_expect "$LAB_NS_MB" filter FORWARD 'REJECT .*reject-with tcp-reset' 2 "the middlebox's REJECT of the retransmission and of the second ClientHello"
lab_log_expect xrdp "$LAB_WORK/xrdp/xrdp.log" 'selected \[SSL\]'
lab_log_absent xrdp "$LAB_WORK/xrdp/xrdp.log" 'TLS connection established'
lab_expect 07b_fw_reset_late tls_rejected_without_alert --conn 1 \
    rdpwhy.closed_by=server rdpwhy.close_kind=rst rdpwhy.phase=tls_handshake \
    rdp.requested_protocols=ssl rdp.selected_protocol=ssl tls.established=false !tls.alert.description \
    server_only:verdict=tls_rejected_without_alert/server/rst/tls_handshake \
    client_only:verdict=still_open/none/none/tls_handshake \
    --note "as 07_fw_reset, but the middlebox drops the first ClientHello and resets its retransmission (xt_recent); capture on the client's veth, connection 1 of 2 (the second, 3 s later, keeps the capture going)"
lab_path_expect 07b_fw_reset_late_path tls_rejected_without_alert/reset_injected --conn 1 \
    rdpwhy.closed_by=server rdpwhy.close_kind=rst rdpwhy.phase=tls_handshake \
    client_only:verdict=tls_rejected_without_alert/server/rst/tls_handshake \
    client_only:rdpwhy.confidence=low client_only:rdpwhy.alternatives~reset_injected \
    "client_only:rdpwhy.evidence~retransmitted and then fell silent" \
    'server_only:verdict=reset_injected/server/rst/x224|tls_handshake' \
    --note "as 07b_fw_reset_late.pcap, captured between gateway and middlebox (gm): rdpwhy's ClientHello dropped, its retransmission answered by the middlebox's forged RST (TTL 64, the host's packets TTL 63)"

# fixed: the fix page's iptables change in the middlebox, then the same client
lab_fix_ipt_page "$LAB_NS_MB" reset_injected Linux: FORWARD
lab_begin_fixed 07b_fw_reset_late_fixed
lab_xfreerdp 15 /sec:tls /cert:ignore +auth-only
lab_fixed_client_ok
lab_log_expect xrdp "$LAB_WORK/xrdp/xrdp.log" 'TLS connection established from'
lab_expect_fixed 07b_fw_reset_late_fixed \
    rdp.requested_protocols=ssl rdp.selected_protocol=ssl tls.established=true \
    --note "as 07b_fw_reset_late after docs/causes.md's change (the middlebox's REJECT and DROP rules deleted by number with iptables -D FORWARD N)"
lab_finish
