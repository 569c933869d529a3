#!/usr/bin/env bash
# 12_hung_host — the host accepts TCP and never answers the X.224 request.
#
# The host runs `socat TCP-LISTEN:3389,fork,reuseaddr EXEC:'sleep 60'`: every
# connection is accepted and its bytes go to a `sleep` that never reads nor
# writes (a hung TermService, a port forwarded to the wrong thing). xfreerdp
# /sec:tls sends its Connection Request and waits (FreeRDP has no timeout for
# the Connection Confirm). rdpwhy runs with --set x224_timeout=4s (clearly past
# rdpwhy's 3 s X.224 patience, so the capture verdicts do not straddle it).
#
#   Inline: no Connection Confirm before the 4 s timeout -> x224_no_response,
#   closed_by proxy, close_kind timeout, phase x224. rdpwhy then closes both
#   legs with FIN.
#   Client-side capture (12_hung_host): the client's request, the gateway's
#   ACK, 4 s of silence, then a FIN "from the host" (rdpwhy's, on its
#   timeout): x224_no_response, closed_by server, with the evidence "then the
#   server side closed: a proxy or load balancer timeout".
#   Gateway—middlebox capture (12_hung_host_path, interface gm): rdpwhy's own
#   request to the host, the host's ACK, silence, then rdpwhy's FIN after 4 s
#   (and socat's FIN 0.5 s later) -> x224_no_response, closed_by client.
# Helper added here (lib.sh captures on the client's veth only): path_capture_*,
# path_expect, as in 07_firewall_reset.sh.
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lab_init 12_hung_host
lab_need socat:socat

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

lab_daemon socat "$LAB_NS_HOST" 3389 socat TCP-LISTEN:3389,fork,reuseaddr "EXEC:sleep 60"
lab_begin 12_hung_host --set x224_timeout=4s
path_capture_start "$LAB_NS_GW" "$LAB_IF_GW_M"
lab_xfreerdp 8 /sec:tls /cert:ignore +auth-only
lab_expect 12_hung_host x224_no_response \
    rdpwhy.phase=x224 rdp.requested_protocols=ssl destination.bytes=0 !rdp.selected_protocol \
    inline:rdpwhy.closed_by=proxy inline:rdpwhy.close_kind=timeout \
    "inline:rdpwhy.evidence~no X.224 Connection Confirm before the timeout \\((39|40|41)[0-9]{2} ms\\)" \
    capture:rdpwhy.closed_by=server capture:rdpwhy.close_kind=fin \
    "capture:rdpwhy.evidence~no X.224 Connection Confirm (39|40|41)[0-9]{2} ms after the request,then the server side closed" \
    --note "the host's port 3389 is socat TCP-LISTEN EXEC:'sleep 60' (accepts, never answers); xfreerdp /sec:tls; rdpwhy x224_timeout=4s; capture on the client's veth: the request, 4 s of silence, then rdpwhy's FIN on its timeout, which on this wire is the server side's FIN"
path_expect 12_hung_host_path x224_no_response \
    rdpwhy.phase=x224 inline:rdpwhy.closed_by=proxy inline:rdpwhy.close_kind=timeout \
    capture:rdpwhy.closed_by=client capture:rdpwhy.close_kind=fin \
    "capture:rdpwhy.evidence~no X.224 Connection Confirm (39|40|41)[0-9]{2} ms after the request" \
    --note "as 12_hung_host.pcap, captured between gateway and middlebox (gm): rdpwhy's request to the host is ACKed and never answered; rdpwhy closes with FIN after its 4 s x224_timeout, socat's FIN follows"
lab_finish
