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
#   Every proxy exits 0 on SIGTERM with no sanitizer report on stderr, and
#   is used once its ready line is out.
#
# Needs root; exits 77 (skip) otherwise. Fails when iptables (iptables-nft on
# Debian 12) is missing: scripts/setup.sh --test installs it. Traffic stays
# inside the namespaces.
# KEEP_WORK=1 keeps the scratch directory. Runs in ~10 s.
set -euo pipefail

TEST_NAME=netns
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$SCRIPT_DIR/common.sh"

init_test "network namespaces, iptables" "$@"
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
IPT_RULES=() # "NS|TABLE|CHAIN|rule args..." to delete on exit
FAILED=1

cleanup() {
    local rc=$? ns spec table chain rule
    # A signal can arrive inside a function called with redirections: log to
    # the script's own stderr again.
    exec 2>&9
    stop_all_pids
    for spec in "${IPT_RULES[@]}"; do
        IFS='|' read -r ns table chain rule <<<"$spec"
        # shellcheck disable=SC2086
        ip netns exec "$ns" iptables -t "$table" -D "$chain" $rule 2>/dev/null || true
    done
    remove_namespaces
    end_test "$rc"
}
exec 9>&2 # the script's stderr, for cleanup
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

ipt() { # ipt NS TABLE CHAIN RULE... : append a rule, remember it for cleanup
    local ns=$1 table=$2 chain=$3
    shift 3
    nsx "$ns" iptables -t "$table" -A "$chain" "$@" || die "iptables -t $table -A $chain $* failed in $ns"
    IPT_RULES+=("$ns|$table|$chain|$*")
}

# ------------------------------------------------------------------ topology
gateway_topology 1
ip -n "$NS_S" addr add "$DROP/24" dev s0
ipt "$NS_S" filter INPUT -d "$DROP" -p tcp --dport 3389 -j DROP
log "namespaces $NS_C/$NS_G/$NS_S up: client $CLI, gateway $GWC|$GWS, server $SRV (+$DROP, SYNs dropped)"

# ------------------------------------------------------------------ helpers
PROXY_PID=
start_proxy() { # start_proxy DIR PORT ARGS... (runs in the gateway namespace)
    local d=$1 port=$2
    shift 2
    mkdir -p "$d"
    # Not through nsx: a backgrounded function is a subshell, and $! must be
    # rdpwhy itself (ip netns exec execs it) so that SIGTERM reaches it.
    ip netns exec "$NS_G" "$BIN" proxy "$@" --format json --output "$d/records.json" -v -v \
        >"$d/proxy.stdout" 2>"$d/proxy.stderr" &
    PROXY_PID=$!
    PIDS+=("$PROXY_PID")
    rw_wait_ready "$d/proxy.stderr" "$PROXY_PID" && port_listening "$port" "$NS_G" && return 0
    show_file "proxy stderr" "$d/proxy.stderr"
    die "rdpwhy proxy $* did not get ready (listening on port $port in $NS_G)"
}
finish_proxy() { # finish_proxy DIR : wait for the record(s), SIGTERM, check exit 0 + stderr
    local d=$1 n=${2:-1}
    wait_lines "$d/records.json" "$n" 8 || log "$(basename "$d"): fewer than $n record(s) after 8 s; stopping the proxy"
    stop_proxy "$PROXY_PID" 15 "$d/proxy.stderr"
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
from records import loads  # tests/lib: a record by dotted names, nested or flat
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
    recs = [loads(l) for l in open(os.path.join(d, "records.json")) if l.strip()]
except (OSError, ValueError) as e:
    expect(False, "cannot read records.json: %s" % e)
rc = open(os.path.join(d, "proxy.rc")).read().strip()
expect(rc == "0", "rdpwhy proxy exits 0 after SIGTERM, no sanitizer report (got %s)" % rc)
r = recs[0] if len(recs) == 1 else {}
expect(len(recs) == 1, "exactly one record (got %d)" % len(recs))
def field(k, want):
    expect(r.get(k) == want, "record %s == %r (got %r)" % (k, want, r.get(k)))
exec(body)
sys.exit(1 if fails else 0)
PY
}

# The python peers (common.sh): fake_host.py, rdp_client.py, wait_close.py.
write_rdp_peers "$WORK"

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

ip netns exec "$NS_S" timeout 30 python3 "$WORK/fake_host.py" "$SRV" 3389 "$D/host.json" >"$D/host.out" 2>&1 &
HOST_PID=$!
PIDS+=("$HOST_PID")
wait_listening 3389 "$HOST_PID" "$NS_S" || { show_file host "$D/host.out"; die "fake RDP host did not start"; }
start_proxy "$D" "$TPORT" --listen "0.0.0.0:$TPORT" --transparent --set connect_timeout=2s
nsx "$NS_C" timeout 15 python3 "$WORK/rdp_client.py" "$SRV" 3389 "$D/client.json" nstest >"$D/client.out" 2>&1 ||
    { dump "$D"; die "c_transparent: the RDP client failed (see client.out)"; }
wait "$HOST_PID" || { dump "$D"; die "c_transparent: the fake RDP host failed"; }
forget_pid "$HOST_PID"
wait_lines "$D/records.json" 1 8 || log "c_transparent: no record 8 s after the client ended"

# Loop: straight to rdpwhy's own listener (same proxy).
nsx "$NS_C" timeout 15 python3 "$WORK/wait_close.py" "$GWC" "$TPORT" 5 >"$D/loop.json" 2>"$D/loop.out" ||
    { dump "$D"; die "c_transparent: loop client failed"; }
# The refusal is logged when the proxy closes the loop connection (checked below).
rw_wait_line "$D/proxy.stderr" "$CLI:[0-9]+.*loop" "$PROXY_PID" 10 "c_transparent: the loop refusal line" || true
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
