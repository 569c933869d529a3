#!/usr/bin/env bash
# tproxy.sh BIN — rdpwhy proxy --tproxy on a gateway between network namespaces.
#
# Topology (all namespaces created here, names carry this shell's pid; X is
# random, Y = X+1):
#
#   rtc$$ (client)            rtg$$ (gateway, rdpwhy)             rts$$ (server)
#   c0 10.98.X.2/24  <veth>  gc 10.98.X.1/24 | gs 10.98.Y.1/24  <veth>  s0 10.98.Y.2/24
#   default via 10.98.X.1    ip_forward=0 (nothing is routed      default via 10.98.Y.1
#                            around rdpwhy)
#   gateway: iptables -t mangle -A PREROUTING -p tcp --dport 3389 -j TPROXY
#              --on-port 13390 --tproxy-mark 0x1/0x1
#            ip rule add fwmark 0x1 lookup 100
#            ip route add local 0.0.0.0/0 dev lo table 100
#
# Before rdpwhy runs, two probes: the client reaches a plain listener on the
# gateway (else the topology is broken: FAIL), and a python listener with
# IP_TRANSPARENT on the gateway's 0.0.0.0:13390 receives the client's
# connection to 10.98.Y.2:3389 with that address as its local address (else
# TPROXY does not work here: skip, exit 77, with the reason).
#
# Then rdpwhy proxy --listen 0.0.0.0:13390 --tproxy runs on the gateway and a
# fake RDP host (python) on 10.98.Y.2:3389 answers an X.224 Connection Request
# with a Connection Confirm (03 00 00 13 0e d0 00 00 12 34 00 02 00 08 00 00
# 00 00 00), echoes the next bytes and closes. The client connects to
# 10.98.Y.2:3389, sends a CR (cookie "tproxytest", RDP_NEG_REQ PROTOCOL_RDP),
# reads the CC, sends 600 random bytes, reads the echo, sees the host's FIN.
# Asserts: the client received exactly the CC and the echo, then a FIN; the
# host received exactly the CR from the gateway's 10.98.Y.1 (through rdpwhy);
# one record with rdpwhy.original_destination.ip/.port = 10.98.Y.2/3389,
# destination.ip/.port the same, source.ip 10.98.X.2, rdp.cookie "tproxytest",
# requested ["rdp"], selected "rdp", closed_by server, close_kind fin.
# Loop: a client connecting straight to the gateway's 10.98.X.1:13390
# (rdpwhy's own listener, not diverted by the rule) is closed within 3 s and
# rdpwhy logs a "loop" line naming it. rdpwhy exits 0 on SIGTERM.
#
# Needs root; exits 77 (skip) otherwise, or when namespaces, the TPROXY
# target or policy routing are not available (after trying modprobe). Traffic
# stays inside the namespaces. KEEP_WORK=1 keeps the scratch directory.
# Runs in ~5 s.
set -euo pipefail

TEST_NAME=tproxy
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$SCRIPT_DIR/common.sh"

init_test "network namespaces, iptables, IP_TRANSPARENT" "$@"
need_tools ip:iproute2 iptables:iptables python3:python3 timeout:coreutils

skip() {
    printf '[%s] skip: %s\n' "$TEST_NAME" "$*" >&2
    FAILED=0
    exit 77
}

NS_C=rtc$$
NS_G=rtg$$
NS_S=rts$$
X=$((RANDOM % 200 + 20))
Y=$((X + 1))
CLI=10.98.$X.2
GWC=10.98.$X.1
GWS=10.98.$Y.1
SRV=10.98.$Y.2
TPORT=13390 # rdpwhy's TPROXY listener on the gateway
MARK=0x1
TABLE=100

WORK=$(mktemp -d /tmp/rdpwhy-proxy-tproxy.XXXXXX)
FAILED=1

# The iptables rule, ip rule and route live in the gateway namespace:
# removing the namespaces removes them.
on_exit_stop_all remove_namespaces

# ------------------------------------------------------------------ topology
# No forwarding: a connection to the server can only work through TPROXY.
gateway_topology 0 skip

# ------------------------------------------------------------------ TPROXY rule
tproxy_rule=(-t mangle -A PREROUTING -p tcp --dport 3389 -j TPROXY --on-port "$TPORT" --tproxy-mark "$MARK/$MARK")
if ! nsx "$NS_G" iptables "${tproxy_rule[@]}" 2>"$WORK/ipt.err"; then
    log "iptables TPROXY rule failed ($(tr '\n' ' ' <"$WORK/ipt.err")); trying modprobe"
    modprobe -q xt_TPROXY 2>/dev/null || true
    modprobe -q nf_tproxy_ipv4 2>/dev/null || true
    modprobe -q nft_compat 2>/dev/null || true
    nsx "$NS_G" iptables "${tproxy_rule[@]}" 2>"$WORK/ipt.err" ||
        skip "the TPROXY target is not available ($(iptables -V 2>&1)): $(tr '\n' ' ' <"$WORK/ipt.err")"
fi
nsx "$NS_G" ip rule add fwmark "$MARK" lookup "$TABLE" 2>"$WORK/rule.err" ||
    skip "policy routing is not available (ip rule add fwmark): $(cat "$WORK/rule.err")"
nsx "$NS_G" ip route add local 0.0.0.0/0 dev lo table "$TABLE" 2>"$WORK/route.err" ||
    skip "cannot add the local route in table $TABLE: $(cat "$WORK/route.err")"
log "namespaces $NS_C/$NS_G/$NS_S: client $CLI, gateway $GWC|$GWS, server $SRV; TPROXY :3389 -> :$TPORT on the gateway"

# ------------------------------------------------------------------ python peers
# probe_listen.py ADDR PORT TRANSPARENT OUT: accept one connection (10 s at
# most), write {"peer": ..., "local": ...}.
cat >"$WORK/probe_listen.py" <<'PY'
import json, socket, sys
addr, port, transparent, out = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
IP_TRANSPARENT = getattr(socket, "IP_TRANSPARENT", 19)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if transparent:
    s.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
s.bind((addr, port))
s.listen(4)
s.settimeout(10)
try:
    c, peer = s.accept()
    res = {"peer": list(peer), "local": list(c.getsockname())}
    c.close()
except socket.timeout:
    res = {"peer": None, "local": None}
json.dump(res, open(out, "w"))
PY

# probe_connect.py HOST PORT: connect within 3 s; prints ok|refused|timeout|error
cat >"$WORK/probe_connect.py" <<'PY'
import socket, sys
s = socket.socket()
s.settimeout(3)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print("ok")
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("timeout")
except OSError as e:
    print("error: %s" % e)
PY

# fake_host.py, rdp_client.py, wait_close.py (common.sh).
write_rdp_peers "$WORK"

# ------------------------------------------------------------------ probes
P=$WORK/probe
mkdir -p "$P"
# 1. plain connectivity client -> gateway (no TPROXY involved).
ip netns exec "$NS_G" timeout 15 python3 "$WORK/probe_listen.py" "$GWC" 13391 0 "$P/plain.json" \
    >"$P/plain.out" 2>&1 &
PPID_=$!
PIDS+=("$PPID_")
wait_listening 13391 "$PPID_" "$NS_G" || { show_file probe "$P/plain.out"; die "probe listener did not start"; }
r=$(nsx "$NS_C" timeout 10 python3 "$WORK/probe_connect.py" "$GWC" 13391)
wait "$PPID_" || true
forget_pid "$PPID_"
[[ $r == ok ]] || die "topology broken: the client cannot reach the gateway's $GWC:13391 ($r)"

# 2. TPROXY with a python IP_TRANSPARENT listener.
ip netns exec "$NS_G" timeout 15 python3 "$WORK/probe_listen.py" 0.0.0.0 "$TPORT" 1 "$P/tproxy.json" \
    >"$P/tproxy.out" 2>&1 &
PPID_=$!
PIDS+=("$PPID_")
if ! wait_listening "$TPORT" "$PPID_" "$NS_G"; then
    wait "$PPID_" || true
    forget_pid "$PPID_"
    skip "a listener with IP_TRANSPARENT cannot be opened in the gateway namespace: $(tail -1 "$P/tproxy.out")"
fi
r=$(nsx "$NS_C" timeout 10 python3 "$WORK/probe_connect.py" "$SRV" 3389)
# The probe listener returns after one accept; kill it if nothing came.
kill "$PPID_" 2>/dev/null || true
wait "$PPID_" 2>/dev/null || true
forget_pid "$PPID_"
probe_local=$(python3 -c 'import json, sys
try:
    l = json.load(open(sys.argv[1]))["local"]
    print("%s:%s" % tuple(l) if l else "none")
except Exception:
    print("none")' "$P/tproxy.json")
if [[ $r != ok || $probe_local != "$SRV:3389" ]]; then
    log "iptables -t mangle -L PREROUTING -v -n in $NS_G:"
    nsx "$NS_G" iptables -t mangle -L PREROUTING -v -n >&2 || true
    skip "TPROXY does not deliver here: the client's connect to $SRV:3389 gave '$r', the IP_TRANSPARENT listener saw local address '$probe_local'"
fi
log "probe: TPROXY delivers $CLI -> $SRV:3389 to an IP_TRANSPARENT listener on :$TPORT"

# ------------------------------------------------------------------ rdpwhy --tproxy
D=$WORK/tproxy
mkdir -p "$D"
ip netns exec "$NS_S" timeout 30 python3 "$WORK/fake_host.py" "$SRV" 3389 "$D/host.json" >"$D/host.out" 2>&1 &
HOST_PID=$!
PIDS+=("$HOST_PID")
wait_listening 3389 "$HOST_PID" "$NS_S" || { show_file host "$D/host.out"; die "fake RDP host did not start"; }

ip netns exec "$NS_G" "$BIN" proxy --listen "0.0.0.0:$TPORT" --tproxy --set connect_timeout=2s \
    --format json --output "$D/records.json" -v -v >"$D/proxy.stdout" 2>"$D/proxy.stderr" &
PROXY_PID=$!
PIDS+=("$PROXY_PID")
if ! rw_wait_ready "$D/proxy.stderr" "$PROXY_PID" ||
    ! grep -q "ready: listening on 0.0.0.0:$TPORT\$" "$D/proxy.stderr"; then
    show_file "proxy stderr" "$D/proxy.stderr"
    die "rdpwhy proxy --tproxy did not get ready on 0.0.0.0:$TPORT"
fi

dump() {
    show_file "proxy stderr (-v -v)" "$D/proxy.stderr" 60
    show_file "records" "$D/records.json" 5
    local f
    for f in "$D"/*.out "$D"/*.json; do [[ -s $f ]] && show_file "$(basename "$f")" "$f" 20; done
    return 0
}

client_rc=0
nsx "$NS_C" timeout 15 python3 "$WORK/rdp_client.py" "$SRV" 3389 "$D/client.json" tproxytest >"$D/client.out" 2>&1 ||
    client_rc=$?
host_rc=0
if ((client_rc == 0)); then
    wait "$HOST_PID" || host_rc=$?
else
    kill "$HOST_PID" 2>/dev/null || true
    wait "$HOST_PID" 2>/dev/null || host_rc=$?
fi
forget_pid "$HOST_PID"
wait_lines "$D/records.json" 1 8 || log "no record 8 s after the client ended"

# Loop: straight to rdpwhy's own listener (not diverted: port 13390).
nsx "$NS_C" timeout 15 python3 "$WORK/wait_close.py" "$GWC" "$TPORT" 5 >"$D/loop.json" 2>"$D/loop.out" ||
    { dump; die "loop client failed"; }
# The refusal is logged when the proxy closes the loop connection (checked below).
rw_wait_line "$D/proxy.stderr" "refused: .*\(loop" "$PROXY_PID" 10 "the loop refusal line" || true
stop_proxy "$PROXY_PID" 15 "$D/proxy.stderr"
echo "$STOP_RC" >"$D/proxy.rc"
log "client exit $client_rc, host exit $host_rc; loop client saw $(cat "$D/loop.json")"

python3 - "$D" "$client_rc" "$host_rc" <<PY || { dump; die "see the failures above"; }
import json, os, re, sys
from records import loads  # tests/lib: a record by dotted names, nested or flat
d, client_rc, host_rc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fails = []
def expect(cond, msg):
    print("  %s tproxy: %s" % ("ok  " if cond else "FAIL", msg), file=sys.stderr)
    if not cond:
        fails.append(msg)
def load(f):
    try:
        return json.load(open(os.path.join(d, f)))
    except (OSError, ValueError) as e:
        expect(False, "cannot read %s: %s" % (f, e))
        return {}
rc = open(os.path.join(d, "proxy.rc")).read().strip()
expect(rc == "0", "rdpwhy proxy exits 0 after SIGTERM, no sanitizer report (got %s)" % rc)
expect(client_rc == 0, "the RDP client through the gateway completed (exit %d, see client.out)" % client_rc)
expect(host_rc == 0, "the fake RDP host completed (exit %d)" % host_rc)
c = load("client.json") if client_rc == 0 else {}
h = load("host.json") if host_rc == 0 else {}
lp = load("loop.json")
expect(c.get("cc") == "030000130ed000001234000200080000000000", "client received exactly the Connection Confirm (%s)" % c.get("cc"))
expect(c.get("echo_ok") is True, "client received exactly the 600 echoed bytes")
expect(c.get("end") == "eof", "client saw the host close with FIN (got %s)" % c.get("end"))
expect(h.get("cr") is not None and h.get("cr") == c.get("cr"), "host received exactly the Connection Request")
expect(h.get("peer") == "$GWS", "host saw the connection come from the gateway $GWS, i.e. through rdpwhy (got %s)" % h.get("peer"))
recs = []
try:
    recs = [loads(l) for l in open(os.path.join(d, "records.json")) if l.strip()]
except (OSError, ValueError) as e:
    expect(False, "cannot read records.json: %s" % e)
expect(len(recs) == 1, "exactly one record (got %d)" % len(recs))
r = recs[0] if len(recs) == 1 else {}
def field(k, want):
    expect(r.get(k) == want, "record %s == %r (got %r)" % (k, want, r.get(k)))
field("rdpwhy.original_destination.ip", "$SRV")
field("rdpwhy.original_destination.port", 3389)
field("destination.ip", "$SRV")
field("destination.port", 3389)
field("source.ip", "$CLI")
field("rdp.cookie", "tproxytest")
field("rdp.requested_protocols", ["rdp"])
field("rdp.selected_protocol", "rdp")
field("rdpwhy.closed_by", "server")
field("rdpwhy.close_kind", "fin")
expect(lp.get("outcome") in ("eof", "reset") and lp.get("elapsed", 99) < 3,
       "a direct connection to rdpwhy's own $GWC:$TPORT is closed within 3 s (got %s)" % lp)
loop_lines = [l for l in open(os.path.join(d, "proxy.stderr")) if re.search(r"refused: .*\\(loop", l)]
expect(any(re.search(re.escape("$CLI") + r":[0-9]+.*loop", l) for l in loop_lines),
       "rdpwhy logs a '(loop' refusal line for the direct client (got %r)" % loop_lines)
expect(len(loop_lines) == 1, "exactly one loop refusal: the direct connection, not the diverted one (got %d)" % len(loop_lines))
sys.exit(1 if fails else 0)
PY

FAILED=0
log "PASS: TPROXY: original destination and cookie recorded, relay exact, loop refused"
