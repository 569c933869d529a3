#!/usr/bin/env bash
# 14_synproxy — a SYN proxy in the path, and the host resetting on its own.
#
# The middlebox answers every SYN to port 3389 itself with iptables' SYNPROXY
# target (SYN cookies; what a firewall or load balancer with SYN-flood
# protection does):
#   iptables -t raw -A PREROUTING -i mg -p tcp --dport 3389 --syn -j CT --notrack
#   iptables -A FORWARD -i mg -p tcp --dport 3389 -m conntrack --ctstate INVALID,UNTRACKED
#            -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460
#   iptables -A FORWARD -m conntrack --ctstate INVALID -j DROP
#   sysctl net.netfilter.nf_conntrack_tcp_loose=0
# The middlebox's kernel sends the SYN-ACK (TTL 64, its own) and, only once the
# connecting side's ACK proves the cookie, opens the connection to the host
# itself; from then on it forwards the host's packets, which reach the gateway
# with TTL 63 (one router). So on the gateway—middlebox link the SYN-ACK has
# another TTL than every packet the host sends: exactly what a forged packet
# looks like, though nothing was forged.
#
# The host resets on its own: xrdp (ssl_protocols=TLSv1.2, the handshake in
# cleartext) is killed with unread data in its socket, and its kernel resets
# the connection (RST from the host's own TCP stack, through the SYN proxy's
# sequence translation like every packet of the host). To have it die at a
# known point: the host's own firewall holds the client's ChangeCipherSpec
# back (iptables -A INPUT ... --hex-string '|14 03 03 00 01 01|' -j DROP)
# until xrdp has sent its whole TLS 1.2 flight and waits; then xrdp is
# stopped (SIGSTOP), the rule removed, the client's retransmission lands
# unread in xrdp's socket (the host's kernel acknowledges it), and xrdp is
# killed (SIGKILL): the kernel closes a socket with unread data with an RST.
# The wire: X.224 exchange, ClientHello, the host's ServerHello ...
# ServerHelloDone, the client's ClientKeyExchange + ChangeCipherSpec +
# Finished (retransmitted), the host's ACK, then the host's RST. No alert, TLS
# not established, a ServerHello seen: the host reset in the TLS handshake.
#
# What reaches the gateway is not what a host's RST should be: the SYN proxy
# translates the sequence numbers of the host's packets (its cookie ISN is not
# the host's), but the host's RST leaves the middlebox untranslated here
# (Linux 6.x nf_synproxy/seqadj), so its sequence number is outside the
# gateway's receive window and rdpwhy's socket drops it (RFC 793/5961), like
# any stray segment. The connection stays open until rdpwhy's tls_timeout.
#   Inline (14_synproxy): no progress in the TLS handshake until the 5 s
#   timeout -> handshake_timeout, proxy, timeout, tls_handshake.
#   Client-side capture (14_synproxy): the client's key exchange and
#   Finished, then 5 s of silence and rdpwhy's FIN: the server side gave up
#   after the client's last handshake message -> handshake_timeout, server,
#   fin, tls_handshake.
#   Capture between gateway and middlebox (14_synproxy_path, interface gm): the
#   SYN-ACK with TTL 64, the host's data and its RST with TTL 63. The RST's TTL
#   is the host's own: reset_by_server (NOT reset_injected), server, rst,
#   tls_handshake, and the evidence says that a SYN proxy answered the
#   handshake (the SYN-ACK's TTL differs from the server's data packets; the
#   proxy's bare window-update ACK has its TTL too, and is not the host's).
#   (07_firewall_reset is the real injected reset: TTL 64 among the host's 63.)
#   The fault check reads the RST's sequence number against the host's next
#   one on that wire (tshark): outside, as said.
# One-direction captures of the client's veth (tcpdump -Q; lib.sh):
#   server_only: the server side's TLS 1.2 flight, its ACK of the client's
#   key exchange, 5 s of silence, its FIN -> handshake_timeout, server, fin,
#   tls_handshake. client_only: the client's handshake messages (acknowledging
#   the server's flight), 5 s later its ACK of the server side's FIN -> the
#   same.
# The fault, checked first: the SYNPROXY rule counted the SYN (its packet
# counter), the host's DROP rule held the ChangeCipherSpec back at least once,
# xrdp's socket held the retransmission unread when it was killed (ss
# Recv-Q), xrdp selected SSL and never completed TLS; xfreerdp exits 143
# (XF_EXIT_TLS_CONNECT_FAILED) or 147 (transport failed: the reset came while
# it waited to read).
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lab_init 14_synproxy

lab_ipt "$LAB_NS_MB" raw PREROUTING -i "$LAB_IF_MB_G" -p tcp --dport 3389 --syn -j CT --notrack
lab_ipt "$LAB_NS_MB" filter FORWARD -i "$LAB_IF_MB_G" -p tcp --dport 3389 -m conntrack --ctstate INVALID,UNTRACKED \
    -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460
lab_ipt "$LAB_NS_MB" filter FORWARD -m conntrack --ctstate INVALID -j DROP
lab_ns "$LAB_NS_MB" sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 || lab_die "nf_conntrack_tcp_loose in $LAB_NS_MB"
CCS_RULE=(-p tcp --dport 3389 -m string --algo bm --hex-string '|14 03 03 00 01 01|' -j DROP)
lab_ipt "$LAB_NS_HOST" filter INPUT "${CCS_RULE[@]}"

# kill_xrdp_unread: in the background while the client runs: once the host's
# DROP rule held the client's ChangeCipherSpec back (xrdp has sent its flight
# and waits), stop xrdp, let the retransmission in, wait until it lies unread
# in xrdp's socket, kill xrdp. Writes what it saw to $LAB_CASE_DIR/kill.log.
kill_xrdp_unread() {
    local pid=${LAB_PID[xrdp]} i q=0 n
    for ((i = 0; i < 200; i++)); do
        n=$(lab_ipt_packets "$LAB_NS_HOST" filter INPUT 'DROP .*STRING')
        ((${n:-0} >= 1)) && break
        sleep 0.05
    done
    kill -STOP "$pid"
    lab_ns "$LAB_NS_HOST" iptables -w -D INPUT "${CCS_RULE[@]}"
    for ((i = 0; i < 100; i++)); do
        q=$(lab_ns "$LAB_NS_HOST" ss -Htn state established '( sport = :3389 )' | awk '{ s += $1 } END { print s + 0 }')
        ((q > 0)) && break
        sleep 0.05
    done
    echo "unread bytes in xrdp's socket when killed: $q" >"$LAB_CASE_DIR/kill.log"
    kill -KILL "$pid"
}

lab_xrdp_start security_layer=tls ssl_protocols=TLSv1.2
lab_begin 14_synproxy
lab_path_capture_start "$LAB_NS_GW" "$LAB_IF_GW_M"
kill_xrdp_unread &
killer=$!
lab_xfreerdp 12 /sec:tls /cert:ignore +auth-only
wait "$killer" || lab_fail "14_synproxy: could not stop and kill xrdp"
lab_ipt_expect "$LAB_NS_MB" filter FORWARD 'SYNPROXY' 1 "the middlebox's SYNPROXY answered the SYN"
lab_log_expect "xrdp killed" "$LAB_CASE_DIR/kill.log" 'unread bytes in xrdp.s socket when killed: [1-9]'
lab_client_expect '143|147' 'ERRCONNECT_(TLS_CONNECT|CONNECT_TRANSPORT)_FAILED'
lab_log_expect xrdp "$LAB_WORK/xrdp/xrdp.log" 'selected \[SSL\]'
lab_log_absent xrdp "$LAB_WORK/xrdp/xrdp.log" 'TLS connection established'
# The host's RST on the gateway—middlebox link against the host's next
# sequence number there (its last data packet's end): outside, so dropped.
rst_check=$(tshark -r "$LAB_CASE_DIR/path.pcap" -T fields -e tcp.flags.reset -e tcp.seq_raw -e tcp.len \
    -Y "ip.src == $LAB_IP_HOST" 2>/dev/null | python3 -c '
import sys
nxt = None
for line in sys.stdin:
    rst, seq, n = line.split("\t")
    seq, n = int(seq), int(n)
    if rst in ("True", "1"):
        print("RST seq %d, the host'"'"'s next %s: %s" % (seq, nxt, "outside" if seq != nxt else "in window"))
        break
    if n:
        nxt = (seq + n) % 2**32
')
echo "$rst_check" >"$LAB_CASE_DIR/rst_check.log"
lab_log_expect "the host's RST on gm" "$LAB_CASE_DIR/rst_check.log" 'outside$'
lab_expect 14_synproxy handshake_timeout \
    rdpwhy.phase=tls_handshake rdp.requested_protocols=ssl rdp.selected_protocol=ssl tls.version=1.2 \
    tls.established=false '!tls.alert.description' \
    inline:rdpwhy.closed_by=proxy inline:rdpwhy.close_kind=timeout \
    capture:rdpwhy.closed_by=server capture:rdpwhy.close_kind=fin \
    "capture:rdpwhy.evidence~server side silent for (49[0-9]{2}|5[0-9]{3}) ms after the client's last handshake message" \
    server_only:verdict=handshake_timeout/server/fin/tls_handshake \
    client_only:verdict=handshake_timeout/server/fin/tls_handshake \
    --note "the middlebox answers SYNs with iptables SYNPROXY (SYN cookies); xrdp TLSv1.2, stopped and killed with the client's key exchange unread in its socket: its kernel resets, but the RST leaves the SYN proxy with an untranslated sequence number and the gateway drops it; capture on the client's veth: the client's key exchange and Finished, 5 s of silence, rdpwhy's FIN at its tls_timeout"
lab_path_expect 14_synproxy_path handshake_timeout/reset_by_server \
    rdpwhy.phase=tls_handshake inline:rdpwhy.closed_by=proxy inline:rdpwhy.close_kind=timeout \
    capture:rdpwhy.closed_by=server capture:rdpwhy.close_kind=rst \
    "capture:rdpwhy.evidence~SYN-ACK has TTL 64, the server's other packets TTL 63: a SYN proxy" \
    --note "as 14_synproxy.pcap, captured between gateway and middlebox (gm): the SYN-ACK and a window-update ACK are the middlebox's SYNPROXY (TTL 64), the host's data and its own RST (xrdp killed with unread data) arrive with TTL 63; the RST's sequence number was not translated by the SYN proxy (outside the window): the gateway ignored it, rdpwhy timed out inline"
lab_finish
