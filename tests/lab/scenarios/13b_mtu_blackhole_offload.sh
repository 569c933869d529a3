#!/usr/bin/env bash
# 13b_mtu_blackhole_offload — 13_mtu_blackhole with offloads ON, captured where
# offloads change what a capture holds: on the sender, in the middle and on the
# receiver (issue #10 item 3).
#
# The same black hole as 13_mtu_blackhole (MTU 1000 on the middlebox's link
# towards the gateway, ICMP fragmentation-needed dropped there, MSS 1460 at
# both ends, xrdp TLS 1.3 with a 2-certificate chain, rdpwhy tls_timeout=5s),
# but every veth keeps TSO and GSO on (the kernel's default) and GRO is turned
# on too, as on a server's NIC. The sender is the host: its TLS flight leaves
# xrdp's socket as one GSO super-segment, cut into 1448-byte segments only
# below tcpdump (the host's own capture sees the super-segment), and GRO merges
# segments again on the receiving side of a link.
#
#   Client-side capture (13b_mtu_blackhole): as in 13 (the loss happens
#   between gateway and host): handshake_timeout, server, fin, tls_handshake.
#   One-direction captures of the client's veth: as in 13.
#   Sender, the host's own interface h0 (13b_mtu_blackhole_sender): the first
#   transmission of the flight is a super-segment (2,896 bytes or more), the
#   retransmissions of its first 1,448 bytes are 1,448 bytes: full size is
#   the path MSS from the SYN options (1460 less 12 for timestamps), so the
#   1,448-byte retransmissions never acknowledged are full-size and the
#   super-segment counts as the MSS-sized segments it was cut into ->
#   mtu_blackhole, closed_by client (rdpwhy's FIN at its timeout), fin,
#   tls_handshake.
#   Middle, the middlebox's interface towards the host mh
#   (13b_mtu_blackhole_middle): what the host's link delivered (GRO may merge
#   it) -> the same: mtu_blackhole, client, fin, tls_handshake.
#   Receiver, the gateway's interface gm (13b_mtu_blackhole_receiver): the
#   full-size segments never arrive; only the tail of the flight does (the
#   gateway SACKs it), then rdpwhy's FIN at its timeout. The missing bytes were
#   never acknowledged by the receiver: lost on the way, not by the capture
#   (no rdpwhy.capture.gaps.server: capture gaps are holes the receiver acknowledged;
#   "never captured nor acknowledged" in the evidence); the flight's start (the ServerHello) never came, so
#   nothing says TLS went on: the client side gave up waiting in the TLS
#   handshake: handshake_timeout or client_cancelled are what this vantage
#   point allows (the loss is before it); stated: closed_by client, fin,
#   tls_handshake, the cause one of handshake_timeout|client_cancelled|mtu_blackhole,
#   never high.
# The path captures: lab_path_capture_start --tag / lab_path_expect --capture.
# The fault, checked first: as 13 (the ICMP DROP counter, xrdp's failed TLS
# accept, xfreerdp 143), and TSO/GSO/GRO are on for every veth (ethtool -k).
#
# 13b_mtu_blackhole_fixed — the fix page's change (issue #17): mtu_blackhole's "VPN
# gateway (iptables)" bullet, read from docs/causes.md (`iptables -t mangle -A
# FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu`), run as
# it is in the middlebox, the router with the narrow link; the narrow link
# and the ICMP filter stay. The clamp takes the smaller of the MTUs of the
# routes towards the SYN's destination and back to its source (xt_TCPMSS), so
# the gateway's SYN reaches the host with MSS 960 (MTU 1000 - 40) although it
# leaves by the 1500-byte link; the host's flight then fits. The same client
# -> normal_close, client, fin, established, TLS 1.3; the halves (LAB_FIXED_HALVES=1) as in
# 01_healthy. Offloads stay on: the host's super-segments are cut
# to the clamped MSS. The fix, checked first: the TCPMSS rule counted the SYN and the
# SYN-ACK (2 packets), the link still has MTU 1000, xfreerdp exits 0, xrdp logs
# the TLS connection.
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lab_init 13b_mtu_blackhole_offload
lab_need ethtool:ethtool

OFFLOAD_IFS=("$LAB_NS_CLIENT $LAB_IF_CLIENT" "$LAB_NS_GW $LAB_IF_GW_C" "$LAB_NS_GW $LAB_IF_GW_M"
    "$LAB_NS_MB $LAB_IF_MB_G" "$LAB_NS_MB $LAB_IF_MB_H" "$LAB_NS_HOST $LAB_IF_HOST")
for l in "${OFFLOAD_IFS[@]}"; do
    read -r ns dev <<<"$l"
    lab_ns "$ns" ethtool -K "$dev" tso on gso on gro on >/dev/null 2>&1 || lab_die "ethtool -K $dev in $ns"
done
ip -n "$LAB_NS_MB" link set "$LAB_IF_MB_G" mtu 1000 || lab_die "mtu 1000 on $LAB_IF_MB_G"
lab_ipt "$LAB_NS_MB" filter OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP
lab_ipt "$LAB_NS_MB" filter FORWARD -p icmp --icmp-type fragmentation-needed -j DROP
lab_ns "$LAB_NS_HOST" sysctl -qw net.ipv4.tcp_mtu_probing=0 net.ipv4.ip_no_pmtu_disc=0

lab_cert host --ca
cat "$LAB_CERTS/host.pem" "$LAB_CERTS/ca.pem" >"$LAB_CERTS/host-chain.pem"
lab_xrdp_start security_layer=tls "ssl_protocols=TLSv1.2, TLSv1.3" \
    certificate="$LAB_CERTS/host-chain.pem" key_file="$LAB_CERTS/host.key"

lab_begin 13b_mtu_blackhole --set tls_timeout=5s
lab_path_capture_start --tag sender "$LAB_NS_HOST" "$LAB_IF_HOST"
lab_path_capture_start --tag middle "$LAB_NS_MB" "$LAB_IF_MB_H"
lab_path_capture_start --tag receiver "$LAB_NS_GW" "$LAB_IF_GW_M"
lab_xfreerdp 12 /sec:tls /cert:ignore +auth-only
for l in "${OFFLOAD_IFS[@]}"; do
    read -r ns dev <<<"$l"
    LAB_CHECKS=$((LAB_CHECKS + 1))
    if [[ $(lab_ns "$ns" ethtool -k "$dev" | grep -cE '^(tcp-segmentation|generic-segmentation|generic-receive)-offload: on') == 3 ]]; then
        lab_log "fault check ok: TSO, GSO and GRO on for $dev"
    else
        lab_fail "13b_mtu_blackhole: offloads not all on for $dev: $(lab_ns "$ns" ethtool -k "$dev" | grep -E 'segmentation-offload|receive-offload' | tr '\n' ' ')"
    fi
done
lab_ipt_expect "$LAB_NS_MB" filter OUTPUT 'icmptype 3 code 4' 1 "ICMP fragmentation-needed dropped by the middlebox"
lab_log_expect xrdp "$LAB_WORK/xrdp/xrdp.log" 'ssl_tls_accept failed'
lab_client_expect 143 ERRCONNECT_TLS_CONNECT_FAILED
lab_expect 13b_mtu_blackhole handshake_timeout \
    rdpwhy.phase=tls_handshake rdp.selected_protocol=ssl tls.established=false \
    inline:rdpwhy.closed_by=proxy inline:rdpwhy.close_kind=timeout \
    capture:rdpwhy.closed_by=server capture:rdpwhy.close_kind=fin \
    "capture:rdpwhy.evidence~server side silent for (49[0-9]{2}|5[0-9]{3}) ms after the ClientHello, then closed" \
    client_only:verdict=handshake_timeout/server/fin/tls_handshake client_only:rdpwhy.alternatives~mtu_blackhole \
    server_only:verdict=handshake_timeout/server/fin/tls_handshake server_only:rdpwhy.alternatives~mtu_blackhole \
    --note "as 13_mtu_blackhole with TSO/GSO/GRO on for every veth; capture on the client's veth"
lab_path_expect 13b_mtu_blackhole_sender --capture sender handshake_timeout/mtu_blackhole \
    rdpwhy.phase=tls_handshake inline:rdpwhy.closed_by=proxy inline:rdpwhy.close_kind=timeout \
    capture:rdpwhy.closed_by=client capture:rdpwhy.close_kind=fin \
    "capture:rdpwhy.evidence~full-size server segments \\(1448 bytes\\) retransmitted, never acknowledged" \
    --note "as 13b_mtu_blackhole.pcap, captured on the sender (the host's own interface, TSO/GSO on): the flight's first transmission is a super-segment, its 1448-byte retransmissions never acknowledged"
lab_path_expect 13b_mtu_blackhole_middle --capture middle handshake_timeout/mtu_blackhole \
    rdpwhy.phase=tls_handshake inline:rdpwhy.closed_by=proxy inline:rdpwhy.close_kind=timeout \
    capture:rdpwhy.closed_by=client capture:rdpwhy.close_kind=fin \
    "capture:rdpwhy.evidence~full-size server segments \\(1448 bytes\\) retransmitted, never acknowledged" \
    --note "as 13b_mtu_blackhole.pcap, captured in the middle (the middlebox's interface towards the host, GRO on)"
lab_path_expect 13b_mtu_blackhole_receiver --capture receiver 'handshake_timeout/handshake_timeout|client_cancelled|mtu_blackhole' \
    rdpwhy.phase=tls_handshake inline:rdpwhy.closed_by=proxy inline:rdpwhy.close_kind=timeout \
    capture:rdpwhy.closed_by=client capture:rdpwhy.close_kind=fin \
    'capture:rdpwhy.confidence~^(medium|low)$' '!capture:rdpwhy.capture.gaps.server' \
    'capture:rdpwhy.evidence~1448 bytes missing from the server stream, never captured nor acknowledged' \
    --note "as 13b_mtu_blackhole.pcap, captured on the receiving side of the black hole (the gateway's interface towards the middlebox, GRO on): the full-size segments never arrive, the tail does"

# fixed: the fix page's MSS clamp in the middlebox (the narrow link and the ICMP filter stay)
lab_fix_run "$LAB_NS_MB" "$(lab_fix_code mtu_blackhole 'VPN gateway (iptables):' '^iptables -t mangle -A FORWARD ')"
lab_begin_fixed 13b_mtu_blackhole_fixed --set tls_timeout=5s
lab_xfreerdp 12 /sec:tls /cert:ignore +auth-only
lab_ipt_expect "$LAB_NS_MB" mangle FORWARD 'TCPMSS' 2 "the fix page's TCPMSS clamp (SYN and SYN-ACK)"
LAB_CHECKS=$((LAB_CHECKS + 1))
if ip -n "$LAB_NS_MB" link show "$LAB_IF_MB_G" | grep -q ' mtu 1000 '; then
    lab_log "fix check ok: $LAB_IF_MB_G still has MTU 1000"
else
    lab_fail "13b_mtu_blackhole_fixed: $LAB_IF_MB_G no longer has MTU 1000"
fi
lab_fixed_client_ok
lab_log_expect xrdp "$LAB_WORK/xrdp/xrdp.log" 'TLS connection established from'
lab_expect_fixed 13b_mtu_blackhole_fixed \
    rdp.requested_protocols=ssl rdp.selected_protocol=ssl tls.established=true tls.version=1.3 \
    --note "as 13b_mtu_blackhole after docs/causes.md's change (iptables -t mangle -A FORWARD ... -j TCPMSS --clamp-mss-to-pmtu in the middlebox)"
lab_finish
