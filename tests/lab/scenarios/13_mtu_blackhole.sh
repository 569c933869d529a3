#!/usr/bin/env bash
# 13_mtu_blackhole — a narrow link in the path and ICMP "fragmentation needed"
# filtered: the host's full-size segments never arrive.
#
# Design (why the large segments really are lost):
#   - The narrow link is in the middle of the path: the middlebox's interface
#     towards the gateway (mg) has MTU 1000, as a tunnel would. Every other
#     interface keeps 1500, so both TCP ends advertise MSS 1460 (rdpwhy's
#     upstream socket on the gateway from gm, xrdp on the host from h0): MSS
#     comes from each end's own link, and nothing clamps it.
#   - Linux sets DF on TCP (PMTU discovery, ip_no_pmtu_disc=0); the middlebox
#     cannot forward the host's 1500-byte packets to mg, generates ICMP
#     fragmentation-needed and drops it itself (iptables -A OUTPUT, and -A
#     FORWARD for any that would transit): the host never learns the path MTU.
#     The host's tcp_mtu_probing is 0 (no black-hole detection).
#   - Offloads are off on every veth (ethtool -K tso/gso/gro off), so the
#     captures hold real MSS-sized segments, not 64 KiB super-packets.
#   - xrdp (TLS 1.2 + 1.3) sends a certificate chain (host certificate + the lab
#     CA): its TLS 1.3 flight (ServerHello ... Finished, ~2.3 KB) leaves the
#     host as one full 1448-byte segment plus the rest; the full one is dropped
#     at the middlebox and retransmitted with backoff (0.2, 0.4, 0.8, 1.6 s...),
#     never acknowledged. The small tail gets through but rdpwhy's socket
#     cannot deliver it without the missing bytes.
# rdpwhy runs with tls_timeout=5s (lib.sh's default); xfreerdp /sec:tls.
#
#   Inline (13_mtu_blackhole): handshake_timeout, closed_by proxy, timeout,
#   phase tls_handshake.
#   Client-side capture (13_mtu_blackhole): ClientHello, then nothing until
#   rdpwhy's FIN on its timeout: "server side silent for 5000 ms after the
#   ClientHello, then closed: a timeout" = handshake_timeout, closed_by
#   server, fin. The large segments never reach the gateway, so no capture
#   between client and middlebox can show them (on gm the verdict is
#   client_cancelled: rdpwhy's FIN).
#   Capture on the host side of the black hole (13_mtu_blackhole_path: the
#   middlebox's interface mh towards the host): the 1448-byte segment
#   retransmitted again and again, rdpwhy's ACKs never covering it ->
#   mtu_blackhole.
# The path captures: lab_path_capture_start / lab_path_expect (lib.sh).
# One-direction captures of the client's veth (tcpdump -Q; lib.sh):
#   client_only: the ClientHello, then 5 s later the client's ACK one past the
#   server side's last byte (the CC): its FIN -> handshake_timeout, server,
#   fin, tls_handshake, mtu_blackhole among the alternatives (the lost flight
#   never reached this link).
#   server_only: the CC selecting SSL, the client's next bytes acknowledged
#   (after such a CC, its ClientHello: MS-RDPBCGR 5.4.5), 5 s of silence, the
#   server side's FIN -> the same.
# The fault, checked first: the middlebox's iptables counter shows it dropped
# the ICMP fragmentation-needed it generated (the black hole happened as
# designed); xrdp's TLS accept failed (it never got the client's Finished);
# xfreerdp exits 143 (XF_EXIT_TLS_CONNECT_FAILED). The path capture's wire
# shows the retransmitted full-size segments (rdpwhy's mtu_blackhole rule is
# checked against that capture).
# Timing: the 5 s timer never fires early, but late on a loaded 2-core
# machine or under ASan: the evidence may say 4900-5999 ms.
#
# 13_mtu_blackhole_fixed — the fix page's change (issue #17): mtu_blackhole's "VPN
# gateway (iptables)" bullet, read from docs/causes.md (`iptables -t mangle -A
# FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu`), run as
# it is in the middlebox, the router with the narrow link; the narrow link
# and the ICMP filter stay. The clamp takes the smaller of the MTUs of the
# routes towards the SYN's destination and back to its source (xt_TCPMSS), so
# the gateway's SYN reaches the host with MSS 960 (MTU 1000 - 40) although it
# leaves by the 1500-byte link; the host's flight then fits. The same client
# -> normal_close, client, fin, established, TLS 1.3; the halves (LAB_FIXED_HALVES=1) as in
# 01_healthy. The fix, checked first: the TCPMSS rule counted the SYN and the
# SYN-ACK (2 packets), the link still has MTU 1000, xfreerdp exits 0, xrdp logs
# the TLS connection.
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lab_init 13_mtu_blackhole
lab_need ethtool:ethtool

for l in "$LAB_NS_CLIENT $LAB_IF_CLIENT" "$LAB_NS_GW $LAB_IF_GW_C" "$LAB_NS_GW $LAB_IF_GW_M" \
    "$LAB_NS_MB $LAB_IF_MB_G" "$LAB_NS_MB $LAB_IF_MB_H" "$LAB_NS_HOST $LAB_IF_HOST"; do
    read -r ns dev <<<"$l"
    lab_ns "$ns" ethtool -K "$dev" tso off gso off gro off >/dev/null 2>&1 || lab_die "ethtool -K $dev in $ns"
done
ip -n "$LAB_NS_MB" link set "$LAB_IF_MB_G" mtu 1000 || lab_die "mtu 1000 on $LAB_IF_MB_G"
lab_ipt "$LAB_NS_MB" filter OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP
lab_ipt "$LAB_NS_MB" filter FORWARD -p icmp --icmp-type fragmentation-needed -j DROP
lab_ns "$LAB_NS_HOST" sysctl -qw net.ipv4.tcp_mtu_probing=0 net.ipv4.ip_no_pmtu_disc=0

lab_cert host --ca
cat "$LAB_CERTS/host.pem" "$LAB_CERTS/ca.pem" >"$LAB_CERTS/host-chain.pem"
lab_xrdp_start security_layer=tls "ssl_protocols=TLSv1.2, TLSv1.3" \
    certificate="$LAB_CERTS/host-chain.pem" key_file="$LAB_CERTS/host.key"

lab_begin 13_mtu_blackhole --set tls_timeout=5s
lab_path_capture_start "$LAB_NS_MB" "$LAB_IF_MB_H"
lab_xfreerdp 12 /sec:tls /cert:ignore +auth-only
lab_ipt_expect "$LAB_NS_MB" filter OUTPUT 'icmptype 3 code 4' 1 "ICMP fragmentation-needed dropped by the middlebox"
lab_log_expect xrdp "$LAB_WORK/xrdp/xrdp.log" 'ssl_tls_accept failed'
lab_client_expect 143 ERRCONNECT_TLS_CONNECT_FAILED
lab_expect 13_mtu_blackhole handshake_timeout \
    rdpwhy.phase=tls_handshake rdp.selected_protocol=ssl tls.established=false \
    inline:rdpwhy.closed_by=proxy inline:rdpwhy.close_kind=timeout \
    capture:rdpwhy.closed_by=server capture:rdpwhy.close_kind=fin \
    "capture:rdpwhy.evidence~server side silent for (49[0-9]{2}|5[0-9]{3}) ms after the ClientHello, then closed" \
    client_only:verdict=handshake_timeout/server/fin/tls_handshake client_only:rdpwhy.alternatives~mtu_blackhole \
    server_only:verdict=handshake_timeout/server/fin/tls_handshake server_only:rdpwhy.alternatives~mtu_blackhole \
    --note "MTU 1000 on the middlebox's link towards the gateway, ICMP fragmentation-needed dropped there (OUTPUT and FORWARD), offloads off, MSS 1460 at both ends; xrdp TLS 1.3 with a 2-certificate chain; rdpwhy tls_timeout=5s; capture on the client's veth: the ClientHello, then nothing from the host side until rdpwhy's FIN at its timeout"
lab_path_expect 13_mtu_blackhole_path handshake_timeout/mtu_blackhole \
    rdpwhy.phase=tls_handshake inline:rdpwhy.closed_by=proxy inline:rdpwhy.close_kind=timeout \
    capture:rdpwhy.closed_by=client capture:rdpwhy.close_kind=fin \
    "capture:rdpwhy.evidence~full-size server segments \\(1448 bytes\\) retransmitted, never acknowledged" \
    --note "as 13_mtu_blackhole.pcap, captured on the host side of the black hole (the middlebox's interface towards the host): xrdp's 1448-byte segment of its TLS 1.3 flight retransmitted with backoff and never acknowledged, the small tail segment acknowledged by SACK only; rdpwhy's FIN at its 5 s timeout"

# fixed: the fix page's MSS clamp in the middlebox (the narrow link and the ICMP filter stay)
lab_fix_run "$LAB_NS_MB" "$(lab_fix_code mtu_blackhole 'VPN gateway (iptables):' '^iptables -t mangle -A FORWARD ')"
lab_begin_fixed 13_mtu_blackhole_fixed --set tls_timeout=5s
lab_xfreerdp 12 /sec:tls /cert:ignore +auth-only
lab_ipt_expect "$LAB_NS_MB" mangle FORWARD 'TCPMSS' 2 "the fix page's TCPMSS clamp (SYN and SYN-ACK)"
LAB_CHECKS=$((LAB_CHECKS + 1))
if ip -n "$LAB_NS_MB" link show "$LAB_IF_MB_G" | grep -q ' mtu 1000 '; then
    lab_log "fix check ok: $LAB_IF_MB_G still has MTU 1000"
else
    lab_fail "13_mtu_blackhole_fixed: $LAB_IF_MB_G no longer has MTU 1000"
fi
lab_fixed_client_ok
lab_log_expect xrdp "$LAB_WORK/xrdp/xrdp.log" 'TLS connection established from'
lab_expect_fixed 13_mtu_blackhole_fixed \
    rdp.requested_protocols=ssl rdp.selected_protocol=ssl tls.established=true tls.version=1.3 \
    --note "as 13_mtu_blackhole after docs/causes.md's change (iptables -t mangle -A FORWARD ... -j TCPMSS --clamp-mss-to-pmtu in the middlebox)"
lab_finish
