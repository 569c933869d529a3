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
# Helper added here (lib.sh captures on the client's veth only): path_capture_*,
# path_expect — a second capture of the same case on another interface,
# asserted with lab_expect; see their comment.
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lab_init 07_firewall_reset

# ---- helpers: a capture on another link of the path, asserted with lab_expect
# path_capture_start NS IFACE: tcpdump on IFACE in NS -> $LAB_CASE_DIR/path.pcap
path_capture_start() {
    local i
    lab_daemon pathcap "$1" "" tcpdump -i "$2" -n -s 0 -U --immediate-mode -Z root \
        -w "$LAB_CASE_DIR/path.pcap" 'tcp port 3389'
    for ((i = 0; i < 100; i++)); do
        grep -q 'listening on' "$LAB_WORK/pathcap.log" 2>/dev/null && return 0
        sleep 0.05
    done
    lab_die "tcpdump on $2 in $1 did not start"
}
# path_expect NAME CAUSE [EXPECTATION...] [--note TEXT]: after the case's own
# lab_end/lab_expect, lab_expect again with the path capture as the case's
# capture. The proxy re-originates the connection, so on the path the client
# is the gateway (its address, an ephemeral port): the case's only inline
# record is paired with the path's only connection (its source.port is set to
# that port in the copy given to lab_expect; lab.client.port keeps the client's).
path_expect() {
    local name=$1 src=$LAB_CASE_DIR d=$LAB_WORK/$1 port
    shift
    lab_end
    lab_daemon_stop pathcap INT 3
    mkdir -p "$d"
    cp "$src/path.pcap" "$d/client.pcap"
    port=$("$RDPWHY" replay --format json "$d/client.pcap" 2>/dev/null |
        python3 -c 'import json, sys; r = [json.loads(l) for l in sys.stdin if l.strip()]; print(r[0]["source.port"] if len(r) == 1 else "")')
    python3 - "$src/records.json" "$port" >"$d/records.json" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
if len(recs) == 1 and sys.argv[2]:
    recs[0]["lab.client.port"] = recs[0].get("source.port")
    recs[0]["source.port"] = int(sys.argv[2])
for r in recs:
    print(json.dumps(r))
PY
    LAB_CASE_DIR=$d lab_expect "$name" "$@"
}

lab_xrdp_start security_layer=tls "ssl_protocols=TLSv1.2, TLSv1.3"
# Data packets (>= 100 bytes) whose payload starts with a TLS handshake record
# header: the ClientHello (the X.224 request does not contain 16 03 01; --from
# 40 skips the IP and TCP headers up to the options).
lab_ipt "$LAB_NS_MB" filter FORWARD -p tcp --dport 3389 -m length --length 100:65535 \
    -m string --algo bm --hex-string '|16 03 01|' --from 40 -j REJECT --reject-with tcp-reset

lab_begin 07_fw_reset
path_capture_start "$LAB_NS_GW" "$LAB_IF_GW_M"
lab_xfreerdp 15 /sec:tls /cert:ignore +auth-only
grep -E 'ERRCONNECT|reset|BIO' "$LAB_CASE_DIR/xfreerdp.log" | head -n 3 >&2 || true
lab_expect 07_fw_reset tls_rejected_without_alert \
    rdpwhy.closed_by=server rdpwhy.close_kind=rst rdpwhy.phase=tls_handshake \
    rdp.selected_protocol=ssl tls.established=false !tls.alert.description \
    --note "xrdp security_layer=tls; the middlebox rejects the ClientHello with iptables REJECT --reject-with tcp-reset (string match 16 03 01); capture on the client's veth: the RST there is rdpwhy's own (the gateway re-originates the connection), same TTL 64 as every packet from the host side, so no injection is visible: ClientHello then server RST, no ServerHello, no alert"
path_expect 07_fw_reset_path tls_rejected_without_alert/reset_injected \
    rdpwhy.closed_by=server rdpwhy.close_kind=rst rdpwhy.phase=tls_handshake \
    "capture:rdpwhy.evidence~RST claiming to be from the server has TTL 64, its other packets TTL 63" \
    --note "as 07_fw_reset.pcap, captured between gateway and middlebox (gm): the host's packets arrive with TTL 63 (routed by the middlebox), the RST forged by the middlebox's REJECT with TTL 64; inline the proxy sees only ECONNRESET"
lab_finish
