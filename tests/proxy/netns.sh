#!/usr/bin/env bash
# netns.sh BIN — rdpwhy proxy on a gateway between network namespaces.
#
# Topology (all namespaces created here, names carry this shell's pid; X is
# random, Y = X+1):
#
#   rwc$$ (client)            rwg$$ (gateway, rdpwhy)             rws$$ (server)
#   c0 10.99.X.2/24  <veth>  gc 10.99.X.1/24 | gs 10.99.Y.1/24  <veth>  s0 10.99.Y.2/24
#   default via 10.99.X.1    ip_forward=1                                 10.99.Y.50/24
#                                                                  default via 10.99.Y.1
#   The server namespace drops TCP SYNs to 10.99.Y.50:3389 (iptables INPUT DROP).
#
# Cases and what they assert:
#   a. upstream unreachable: rdpwhy --upstream 10.99.Y.50:3389
#      --set connect_timeout=2s; a client connects to the proxy and sends
#      nothing: its connection is closed (FIN or RST) between 1.5 and 3.5 s
#      after connecting; the record says upstream_unreachable, closed_by
#      proxy, close_kind timeout, phase tcp_connect, destination 10.99.Y.50:3389.
#   b. upstream refused: rdpwhy --upstream 10.99.Y.2:3390 (nothing listens);
#      the client, which sends nothing (so only an RST the proxy chose to send
#      can reset it), gets ConnectionResetError within 2 s, no data, no clean
#      EOF; the record says upstream_refused, closed_by server, close_kind
#      refused, phase tcp_connect.
#   c. transparent: on the gateway `iptables -t nat -A PREROUTING -i gc -p tcp
#      --dport 3389 -j REDIRECT --to-ports 13389`, rdpwhy --listen
#      0.0.0.0:13389 --transparent; a fake RDP host (python) on 10.99.Y.2:3389
#      answers an X.224 CR with a CC (RDP_NEG_RSP, PROTOCOL_RDP), echoes the
#      next bytes and closes. The client connects to 10.99.Y.2:3389, sends a CR
#      (cookie "nstest", RDP_NEG_REQ PROTOCOL_RDP), reads the CC, sends 600
#      random bytes, reads the echo, then sees the host's FIN and closes.
#      Asserts: the client received exactly the CC and the echo; the host
#      received exactly the CR and saw the connection come from the gateway
#      (10.99.Y.1, i.e. through rdpwhy, not routed around it); one record with
#      rdpwhy.original_destination.ip/.port == 10.99.Y.2/3389,
#      destination.ip/.port the same, source.ip 10.99.X.2, rdp.cookie
#      "nstest", requested ["rdp"], selected "rdp", closed_by server,
#      close_kind fin.
#      Loop: the client connects straight to the gateway's 10.99.X.1:13389
#      (rdpwhy's own listener): the connection is closed within 3 s and
#      rdpwhy's stderr has a line with "loop" naming the client.
#   Every proxy exits 0 on SIGTERM.
#
# Needs root; exits 77 (skip) otherwise. Installs iptables (iptables-nft on
# Debian 12) with apt-get when missing. Traffic stays inside the namespaces.
# KEEP_WORK=1 keeps the scratch directory. Runs in ~10 s.
set -euo pipefail

TEST_NAME=netns
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$SCRIPT_DIR/common.sh"

[[ $# -eq 1 ]] || { echo "usage: $0 RDPWHY_BINARY" >&2; exit 2; }
BIN=$(realpath "$1")
[[ -x $BIN ]] || die "not an executable: $1"
if [[ $(id -u) -ne 0 ]]; then
    echo "[$TEST_NAME] skip: needs root (network namespaces, iptables)" >&2
    exit 77
fi
need_tools ip:iproute2 iptables:iptables python3:python3 timeout:coreutils

NS_C=rwc$$
NS_G=rwg$$
NS_S=rws$$
X=$((RANDOM % 200 + 20))
Y=$((X + 1))
CLI=10.99.$X.2
GWC=10.99.$X.1
GWS=10.99.$Y.1
SRV=10.99.$Y.2
DROP=10.99.$Y.50
TPORT=13389 # transparent listener on the gateway

WORK=$(mktemp -d /tmp/rdpwhy-proxy-netns.XXXXXX)
NSES=()
IPT_RULES=() # "NS|TABLE|CHAIN|rule args..." to delete on exit
FAILED=1

cleanup() {
    local rc=$? ns spec pid
    # A signal can arrive inside a function called with redirections: log to
    # the script's own stderr again.
    exec 2>&9
    stop_all_pids
    for spec in "${IPT_RULES[@]}"; do
        IFS='|' read -r ns table chain rule <<<"$spec"
        # shellcheck disable=SC2086
        ip netns exec "$ns" iptables -t "$table" -D "$chain" $rule 2>/dev/null || true
    done
    for ns in "${NSES[@]}"; do
        # Anything still running in our namespaces was started by us.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
    if [[ -n ${KEEP_WORK:-} ]]; then
        log "scratch directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
    ((rc == 0 && FAILED == 0)) || log "FAILED (exit $rc)"
    exit "$rc"
}
exec 9>&2 # the script's stderr, for cleanup
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

nsx() { # nsx NS CMD... : run in a namespace
    local ns=$1
    shift
    ip netns exec "$ns" "$@"
}
ipt() { # ipt NS TABLE CHAIN RULE... : append a rule, remember it for cleanup
    local ns=$1 table=$2 chain=$3
    shift 3
    nsx "$ns" iptables -t "$table" -A "$chain" "$@" || die "iptables -t $table -A $chain $* failed in $ns"
    IPT_RULES+=("$ns|$table|$chain|$*")
}

ns_listening() { # ns_listening NS PORT
    local h
    h=$(printf '%04X' "$2")
    # shellcheck disable=SC2016
    nsx "$1" awk -v h="$h" 'NR > 1 && $4 == "0A" { split($2, a, ":"); if (a[2] == h) f = 1 } END { exit !f }' \
        /proc/net/tcp /proc/net/tcp6
}

# ------------------------------------------------------------------ topology
for ns in "$NS_C" "$NS_G" "$NS_S"; do
    ip netns list | awk '{ print $1 }' | grep -qx "$ns" && die "namespace $ns already exists"
    ip netns add "$ns" || die "cannot create namespace $ns"
    NSES+=("$ns")
    nsx "$ns" ip link set lo up
done
ip -n "$NS_C" link add c0 type veth peer name gc netns "$NS_G" || die "cannot create veth c0/gc"
ip -n "$NS_S" link add s0 type veth peer name gs netns "$NS_G" || die "cannot create veth s0/gs"
ip -n "$NS_C" addr add "$CLI/24" dev c0
ip -n "$NS_G" addr add "$GWC/24" dev gc
ip -n "$NS_G" addr add "$GWS/24" dev gs
ip -n "$NS_S" addr add "$SRV/24" dev s0
ip -n "$NS_S" addr add "$DROP/24" dev s0
for l in "$NS_C c0" "$NS_G gc" "$NS_G gs" "$NS_S s0"; do
    read -r ns dev <<<"$l"
    ip -n "$ns" link set "$dev" up
done
ip -n "$NS_C" route add default via "$GWC"
ip -n "$NS_S" route add default via "$GWS"
nsx "$NS_G" sysctl -qw net.ipv4.ip_forward=1
ipt "$NS_S" filter INPUT -d "$DROP" -p tcp --dport 3389 -j DROP
# Wait for the veth links to be up on both ends.
for ((i = 0; i < 50; i++)); do
    ip -n "$NS_C" -o link show dev c0 | grep -q 'state UP' &&
        ip -n "$NS_S" -o link show dev s0 | grep -q 'state UP' && break
    sleep 0.1
done
log "namespaces $NS_C/$NS_G/$NS_S up: client $CLI, gateway $GWC|$GWS, server $SRV (+$DROP, SYNs dropped)"

# ------------------------------------------------------------------ helpers
PROXY_PID=
start_proxy() { # start_proxy DIR PORT ARGS... (runs in the gateway namespace)
    local d=$1 port=$2 i
    shift 2
    mkdir -p "$d"
    # Not through nsx: a backgrounded function is a subshell, and $! must be
    # rdpwhy itself (ip netns exec execs it) so that SIGTERM reaches it.
    ip netns exec "$NS_G" "$BIN" proxy "$@" --format json --output "$d/records.json" -v -v \
        >"$d/proxy.stdout" 2>"$d/proxy.stderr" &
    PROXY_PID=$!
    PIDS+=("$PROXY_PID")
    for ((i = 0; i < 100; i++)); do
        ns_listening "$NS_G" "$port" && return 0
        kill -0 "$PROXY_PID" 2>/dev/null || break
        sleep 0.05
    done
    show_file "proxy stderr" "$d/proxy.stderr"
    die "rdpwhy proxy $* did not start listening on port $port in $NS_G"
}
finish_proxy() { # finish_proxy DIR : wait for the record(s), SIGTERM, check exit 0
    local d=$1 n=${2:-1}
    wait_lines "$d/records.json" "$n" 8 || log "$(basename "$d"): fewer than $n record(s) after 8 s; stopping the proxy"
    stop_proxy "$PROXY_PID" 15
    echo "$STOP_RC" >"$d/proxy.rc"
    PROXY_PID=
}
dump() { # dump DIR
    show_file "$(basename "$1"): proxy stderr (-v -v)" "$1/proxy.stderr" 60
    show_file "$(basename "$1"): records" "$1/records.json" 5
    for f in "$1"/*.out; do show_file "$(basename "$1"): $(basename "$f")" "$f" 20; done
}

# check_record DIR PYTHON-ASSERTIONS: r = the single record, fail(msg), expect(cond, msg)
check() {
    local d=$1 body=$2
    python3 - "$d" "$body" <<'PY' || { dump "$1"; die "$(basename "$1"): see the failures above"; }
import json, os, sys
d, body = sys.argv[1], sys.argv[2]
name = os.path.basename(d)
fails = []
def expect(cond, msg):
    print("  %s %s: %s" % ("ok  " if cond else "FAIL", name, msg), file=sys.stderr)
    if not cond:
        fails.append(msg)
    return cond
def load(f):
    try:
        return json.load(open(os.path.join(d, f)))
    except (OSError, ValueError) as e:
        expect(False, "cannot read %s: %s" % (f, e))
        return {}
recs = []
try:
    recs = [json.loads(l) for l in open(os.path.join(d, "records.json")) if l.strip()]
except (OSError, ValueError) as e:
    expect(False, "cannot read records.json: %s" % e)
rc = open(os.path.join(d, "proxy.rc")).read().strip()
expect(rc == "0", "rdpwhy proxy exits 0 after SIGTERM (got %s)" % rc)
r = recs[0] if len(recs) == 1 else {}
expect(len(recs) == 1, "exactly one record (got %d)" % len(recs))
def field(k, want):
    expect(r.get(k) == want, "record %s == %r (got %r)" % (k, want, r.get(k)))
exec(body)
sys.exit(1 if fails else 0)
PY
}

# The client: connect, optionally send nothing, report how the connection
# ended. Writes JSON to stdout: outcome eof|reset|data|timeout|refused, elapsed.
cat >"$WORK/wait_close.py" <<'PY'
import json, socket, sys, time
host, port, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket()
s.settimeout(limit)
t0 = time.monotonic()
try:
    s.connect((host, port))
except ConnectionRefusedError:   # the SYN itself was refused
    print(json.dumps({"outcome": "refused", "elapsed": round(time.monotonic() - t0, 3)}))
    sys.exit(0)
except ConnectionResetError:     # handshake done, RST before connect() returned
    print(json.dumps({"outcome": "reset", "elapsed": round(time.monotonic() - t0, 3)}))
    sys.exit(0)
t0 = time.monotonic()
try:
    data = s.recv(4096)
    outcome = "data" if data else "eof"
except ConnectionResetError:
    outcome = "reset"
except socket.timeout:
    outcome = "timeout"
print(json.dumps({"outcome": outcome, "elapsed": round(time.monotonic() - t0, 3)}))
PY

# ------------------------------------------------------------------ a. unreachable
D=$WORK/a_unreachable
start_proxy "$D" 13390 --listen "$GWC:13390" --upstream "$DROP:3389" --set connect_timeout=2s
nsx "$NS_C" timeout 15 python3 "$WORK/wait_close.py" "$GWC" 13390 8 >"$D/client.json" 2>"$D/client.out" ||
    { dump "$D"; die "a_unreachable: client failed"; }
finish_proxy "$D"
log "a_unreachable: client saw $(cat "$D/client.json")"
check "$D" "
c = load('client.json')
expect(c.get('outcome') in ('eof', 'reset'), 'client connection closed by the proxy (FIN or RST), got %s' % c.get('outcome'))
expect(1.5 <= c.get('elapsed', 0) <= 3.5, 'closed ~2 s (connect_timeout) after connecting: %.3f s' % c.get('elapsed', 0))
field('rdpwhy.cause', 'upstream_unreachable')
field('rdpwhy.closed_by', 'proxy')
field('rdpwhy.close_kind', 'timeout')
field('rdpwhy.phase', 'tcp_connect')
field('destination.ip', '$DROP')
field('destination.port', 3389)
field('source.ip', '$CLI')
"

# ------------------------------------------------------------------ b. refused
D=$WORK/b_refused
start_proxy "$D" 13391 --listen "$GWC:13391" --upstream "$SRV:3390" --set connect_timeout=2s
nsx "$NS_C" timeout 15 python3 "$WORK/wait_close.py" "$GWC" 13391 5 >"$D/client.json" 2>"$D/client.out" ||
    { dump "$D"; die "b_refused: client failed"; }
finish_proxy "$D"
log "b_refused: client saw $(cat "$D/client.json")"
check "$D" "
c = load('client.json')
expect(c.get('outcome') == 'reset', 'client sees an RST (ConnectionResetError on recv), got %s' % c.get('outcome'))
expect(c.get('elapsed', 99) < 2.0, 'RST within 2 s: %.3f s' % c.get('elapsed', 99))
field('rdpwhy.cause', 'upstream_refused')
field('rdpwhy.closed_by', 'server')
field('rdpwhy.close_kind', 'refused')
field('rdpwhy.phase', 'tcp_connect')
field('destination.ip', '$SRV')
field('destination.port', 3390)
"

# ------------------------------------------------------------------ c. transparent
D=$WORK/c_transparent
mkdir -p "$D"
ipt "$NS_G" nat PREROUTING -i gc -p tcp --dport 3389 -j REDIRECT --to-ports "$TPORT"

# Fake RDP host: one connection; CR -> CC (RDP_NEG_RSP PROTOCOL_RDP), echo, close.
cat >"$WORK/fake_host.py" <<'PY'
import json, socket, struct, sys
addr, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((addr, port))
srv.listen(1)
print("listening", flush=True)
srv.settimeout(20)
c, peer = srv.accept()
c.settimeout(10)
def recv_exact(n):
    b = b""
    while len(b) < n:
        x = c.recv(n - len(b))
        if not x:
            raise EOFError("EOF after %d of %d bytes" % (len(b), n))
        b += x
    return b
hdr = recv_exact(4)
cr = hdr + recv_exact(struct.unpack(">H", hdr[2:4])[0] - 4)
# TPKT 03 00 00 13, X.224 CC 0e d0 00 00 12 34 00, RDP_NEG_RSP type 2 len 8 PROTOCOL_RDP
cc = bytes.fromhex("03000013" "0ed000001234 00".replace(" ", "") + "0200080000000000")
c.sendall(cc)
n = struct.unpack(">H", recv_exact(2))[0]
data = recv_exact(n)
c.sendall(data)
c.close()   # FIN: nothing unread
json.dump({"peer": peer[0], "cr": cr.hex(), "echoed": len(data)}, open(out, "w"))
PY

cat >"$WORK/rdp_client.py" <<'PY'
import json, os, socket, struct, sys
host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cookie = b"Cookie: mstshash=nstest\r\n"
neg = struct.pack("<BBHI", 1, 0, 8, 0)  # RDP_NEG_REQ, requestedProtocols = PROTOCOL_RDP
x224 = bytes([6 + len(cookie) + len(neg), 0xE0, 0, 0, 0, 0, 0]) + cookie + neg
cr = struct.pack(">BBH", 3, 0, 4 + len(x224)) + x224
s = socket.create_connection((host, port), timeout=10)
s.sendall(cr)
def recv_exact(n):
    b = b""
    while len(b) < n:
        x = s.recv(n - len(b))
        if not x:
            raise EOFError("EOF after %d of %d bytes" % (len(b), n))
        b += x
    return b
cc = recv_exact(19)
payload = os.urandom(600)
s.sendall(struct.pack(">H", len(payload)) + payload)
echo = recv_exact(len(payload))
try:
    tail = s.recv(4096)
    end = "eof" if not tail else "data"
except ConnectionResetError:
    end = "reset"
s.close()
json.dump({"cr": cr.hex(), "cc": cc.hex(), "echo_ok": echo == payload, "end": end}, open(out, "w"))
PY

ip netns exec "$NS_S" timeout 30 python3 "$WORK/fake_host.py" "$SRV" 3389 "$D/host.json" >"$D/host.out" 2>&1 &
HOST_PID=$!
PIDS+=("$HOST_PID")
for ((i = 0; i < 100; i++)); do
    ns_listening "$NS_S" 3389 && break
    kill -0 "$HOST_PID" 2>/dev/null || break
    sleep 0.05
done
ns_listening "$NS_S" 3389 || { show_file host "$D/host.out"; die "fake RDP host did not start"; }
start_proxy "$D" "$TPORT" --listen "0.0.0.0:$TPORT" --transparent --set connect_timeout=2s
nsx "$NS_C" timeout 15 python3 "$WORK/rdp_client.py" "$SRV" 3389 "$D/client.json" >"$D/client.out" 2>&1 ||
    { dump "$D"; die "c_transparent: the RDP client failed (see client.out)"; }
wait "$HOST_PID" || { dump "$D"; die "c_transparent: the fake RDP host failed"; }
forget_pid "$HOST_PID"
wait_lines "$D/records.json" 1 8 || true

# Loop: straight to rdpwhy's own listener (same proxy).
nsx "$NS_C" timeout 15 python3 "$WORK/wait_close.py" "$GWC" "$TPORT" 5 >"$D/loop.json" 2>"$D/loop.out" ||
    { dump "$D"; die "c_transparent: loop client failed"; }
sleep 0.3
finish_proxy "$D"
log "c_transparent: client $(cut -c1-60 "$D/client.json")...; loop client saw $(cat "$D/loop.json")"
check "$D" "
import re
c, h, lp = load('client.json'), load('host.json'), load('loop.json')
expect(c.get('cc') == '030000130ed00000123400' + '0200080000000000', 'client received exactly the Connection Confirm (%s)' % c.get('cc'))
expect(c.get('echo_ok') is True, 'client received exactly the 600 echoed bytes')
expect(c.get('end') == 'eof', 'client saw the host close with FIN (got %s)' % c.get('end'))
expect(h.get('cr') == c.get('cr'), 'host received exactly the Connection Request')
expect(h.get('peer') == '$GWS', 'host saw the connection come from the gateway $GWS, i.e. through rdpwhy (got %s)' % h.get('peer'))
field('rdpwhy.original_destination.ip', '$SRV')
field('rdpwhy.original_destination.port', 3389)
field('destination.ip', '$SRV')
field('destination.port', 3389)
field('source.ip', '$CLI')
field('rdp.cookie', 'nstest')
field('rdp.requested_protocols', ['rdp'])
field('rdp.selected_protocol', 'rdp')
field('rdpwhy.closed_by', 'server')
field('rdpwhy.close_kind', 'fin')
expect(lp.get('outcome') in ('eof', 'reset') and lp.get('elapsed', 99) < 3,
       'direct connection to rdpwhy\'s own port $GWC:$TPORT is closed within 3 s (got %s)' % lp)
loop_lines = [l for l in open(os.path.join(d, 'proxy.stderr')) if 'loop' in l.lower()]
expect(any(re.search(re.escape('$CLI') + r':[0-9]+.*loop', l) for l in loop_lines),
       'rdpwhy logs a line with \"loop\" for the client $CLI (got %r)' % loop_lines)
"

FAILED=0
log "PASS: unreachable, refused, transparent REDIRECT and loop refusal behave as specified"
