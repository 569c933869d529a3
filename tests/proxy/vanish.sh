#!/usr/bin/env bash
# vanish.sh BIN — peers that vanish, and set-up timeouts that tell the network
# from a person (issue #12), with real peers through rdpwhy proxy on a gateway.
#
# Topology (namespaces created here, names carry this shell's pid; X random,
# Y = X+1): rvc$$ client 10.97.X.2 — rvg$$ gateway 10.97.X.1 | 10.97.Y.1
# (rdpwhy, fixed upstream) — rvs$$ server 10.97.Y.2 (gateway_topology).
# Peers: tests/proxy/vanish_peers.py.
#
# Cases and what they assert (each proxy exits 0 on SIGTERM with no
# sanitizer report and writes exactly one record):
#   a. client vanishes mid-session (keepalive): keepalive_idle=2s,
#      keepalive_interval=1s, keepalive_count=3, user_timeout=5s. The client
#      and server exchange 70 KB (the session is established), then the
#      client's link goes down (ip link set c0 down in its namespace). The
#      server sees its connection reset between 3 and 9 s later (keepalive:
#      2 s + 3 x 1 s); the record: cause peer_vanished, closed_by proxy,
#      close_kind timeout, phase established, rdpwhy.proxy.lost client,
#      socket_error ETIMEDOUT (or EHOSTUNREACH), last_ack_ms >= 3000, and
#      evidence "no ACK from the client for N s".
#   b. server vanishes with data outstanding (TCP_USER_TIMEOUT): the same
#      settings; after the exchange the server's namespace drops all TCP
#      (iptables INPUT and OUTPUT DROP) and the client sends 1,000 bytes
#      that are never acknowledged. The client sees its connection reset
#      between 3 and 9 s after sending (user_timeout 5 s); the record:
#      peer_vanished, lost server, unacked_bytes >= 1000, evidence "data
#      outstanding: TCP_USER_TIMEOUT".
#   c. a person at a prompt: tls_timeout=2s, prompt_timeout=5s. The client
#      sends a Connection Request for SSL, gets the Confirm, sends a real TLS
#      ClientHello and then never answers the server's flight (its kernel
#      acknowledges it). The proxy does not blame the network: it waits past
#      tls_timeout and closes the client between 4.5 and 8 s after the
#      ClientHello; the record: client_cancelled, closed_by proxy, timeout,
#      tls_handshake, waited_on client, waiting_for peer, unacked_bytes 0,
#      prompt_wait_ms >= 2000, evidence "all data acknowledged; the client was
#      silent ... (waiting on the user?)", alternatives handshake_timeout, a
#      remediation that does not mention packet loss.
#   d. the network: the same, but the client's namespace drops its pure ACKs
#      (iptables OUTPUT, no SYN/FIN/RST/PSH, length <= 80): the server's
#      flight is never acknowledged. The proxy closes at tls_timeout: the
#      server sees its leg closed 1.5-4 s after the ClientHello (the client
#      cannot: the proxy's FIN waits behind the unacknowledged flight, with
#      the congestion window collapsed); the record: handshake_timeout,
#      waited_on client, waiting_for network, unacked_bytes > 0, evidence
#      "waiting on the network".
#   e. idle: idle_timeout=3s, the session of a. stays quiet: both peers see
#      the connection closed 2.5-6 s after the exchange; the record:
#      idle_timeout, closed_by proxy, timeout, established.
#
# Needs root; exits 77 (skip) otherwise. Needs iproute2, iptables, openssl,
# python3 (scripts/setup.sh --test). Traffic stays inside the namespaces.
# KEEP_WORK=1 keeps the scratch directory. Runs in ~45 s.
set -euo pipefail

TEST_NAME=vanish
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$SCRIPT_DIR/common.sh"

init_test "network namespaces, iptables" "$@"
need_tools ip:iproute2 iptables:iptables python3:python3 openssl:openssl timeout:coreutils

NS_C=rvc$$
NS_G=rvg$$
NS_S=rvs$$
X=$((RANDOM % 200 + 20))
Y=$((X + 1))
CLI=10.97.$X.2
GWC=10.97.$X.1
GWS=10.97.$Y.1
SRV=10.97.$Y.2
PEERS=$SCRIPT_DIR/vanish_peers.py

WORK=$(mktemp -d /tmp/rdpwhy-proxy-vanish.XXXXXX)
FAILED=1

on_exit_stop_all remove_namespaces

gateway_topology 0
log "namespaces $NS_C/$NS_G/$NS_S up: client $CLI, gateway $GWC|$GWS, server $SRV"
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=rdp-host -days 2 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>"$WORK/openssl.err" ||
    { cat "$WORK/openssl.err" >&2; die "openssl could not make a certificate"; }

PROXY_PID=
start_proxy() { # start_proxy DIR PORT ARGS...: rdpwhy in the gateway, upstream SRV:PORT
    local d=$1 port=$2
    shift 2
    mkdir -p "$d"
    ip netns exec "$NS_G" "$BIN" proxy --listen "$GWC:$port" --upstream "$SRV:$port" "$@" \
        --format json --output "$d/records.json" -v -v >"$d/proxy.stdout" 2>"$d/proxy.stderr" &
    PROXY_PID=$!
    PIDS+=("$PROXY_PID")
    rw_wait_ready "$d/proxy.stderr" "$PROXY_PID" && port_listening "$port" "$NS_G" && return 0
    show_file "proxy stderr" "$d/proxy.stderr"
    die "rdpwhy proxy $* did not get ready"
}
finish_proxy() { # finish_proxy DIR: wait for the record, SIGTERM, exit status
    local d=$1
    wait_lines "$d/records.json" 1 15 || log "$(basename "$d"): no record after 15 s; stopping the proxy"
    stop_proxy "$PROXY_PID" 15 "$d/proxy.stderr"
    echo "$STOP_RC" >"$d/proxy.rc"
    PROXY_PID=
}
SERVER_PID=
start_server() { # start_server DIR PORT MODE [ARGS...]
    local d=$1 port=$2 mode=$3
    shift 3
    ip netns exec "$NS_S" timeout 60 python3 "$PEERS" server "$mode" "$SRV" "$port" "$d/server.json" "$@" \
        >"$d/server.out" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    wait_listening "$port" "$SERVER_PID" "$NS_S" || { show_file server "$d/server.out"; die "peer server did not start"; }
}
CLIENT_PID=
start_client() { # start_client DIR PORT MODE [ARGS...]: returns once it printed "ready"
    local d=$1 port=$2 mode=$3
    shift 3
    ip netns exec "$NS_C" timeout 60 python3 "$PEERS" client "$mode" "$GWC" "$port" "$d/client.json" "$@" \
        >"$d/client.out" 2>&1 &
    CLIENT_PID=$!
    PIDS+=("$CLIENT_PID")
    rw_wait_line "$d/client.out" '^ready$' "$CLIENT_PID" 15 "$(basename "$d"): client ready" ||
        { dump "$d"; die "$(basename "$d"): the client did not get through set-up"; }
}
reap() { # reap PID: wait for a peer (bounded by its own timeout)
    wait "$1" 2>/dev/null || true
    forget_pid "$1"
}
now() { date +%s.%N; }
dump() {
    show_file "$(basename "$1"): proxy stderr (-v -v)" "$1/proxy.stderr" 40
    show_file "$(basename "$1"): records" "$1/records.json" 3
    for f in "$1"/*.out "$1"/*.json; do show_file "$(basename "$1"): $(basename "$f")" "$f" 10; done
}

# check DIR PYTHON: r = the single record, c/s = client.json/server.json,
# t = the times file (key value lines), expect(cond, msg), field(key, want)
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
expect(len(recs) == 1, "exactly one record (got %d)" % len(recs))
r = recs[0] if recs else {}
t = {}
if os.path.exists(os.path.join(d, "times")):
    t = dict((k, float(v)) for k, v in (l.split() for l in open(os.path.join(d, "times")) if l.strip()))
def field(k, want):
    expect(r.get(k) == want, "record %s == %r (got %r)" % (k, want, r.get(k)))
def evidence(text):
    expect(any(text in e for e in r.get("rdpwhy.evidence", [])),
           "evidence says %r (got %r)" % (text, r.get("rdpwhy.evidence")))
# A peer cut off from the network is killed before it writes its file.
c = load("client.json") if os.path.exists(os.path.join(d, "client.json")) or "c." in body else {}
s = load("server.json") if os.path.exists(os.path.join(d, "server.json")) or "s." in body else {}
exec(body)
sys.exit(1 if fails else 0)
PY
}

KEEPALIVE=(--set keepalive_idle=2s --set keepalive_interval=1s --set keepalive_count=3 --set user_timeout=5s)

# ------------------------------------------------------------ a. client vanishes
D=$WORK/a_client_vanishes
P=13401
mkdir -p "$D"
start_server "$D" $P rdp
start_proxy "$D" $P "${KEEPALIVE[@]}"
start_client "$D" $P rdp
sleep 0.3 # the last ACKs of the exchange
echo "down $(now)" >"$D/times"
ip -n "$NS_C" link set c0 down
reap "$SERVER_PID"
finish_proxy "$D"
stop_pid "$CLIENT_PID" KILL
forget_pid "$CLIENT_PID"
check "$D" "
dt = s.get('t_end', 0) - t.get('down', 0)
expect(s.get('end') == 'reset', 'the server sees its connection reset (got %s)' % s.get('end'))
expect(3.0 <= dt <= 9.0, 'reset 3-9 s after the client vanished (keepalive 2 s + 3 x 1 s): %.2f s' % dt)
field('rdpwhy.cause', 'peer_vanished')
field('rdpwhy.closed_by', 'proxy')
field('rdpwhy.close_kind', 'timeout')
field('rdpwhy.phase', 'established')
field('rdpwhy.proxy.lost', 'client')
expect(r.get('rdpwhy.proxy.socket_error') in ('ETIMEDOUT', 'EHOSTUNREACH'),
       'socket_error ETIMEDOUT or EHOSTUNREACH (got %r)' % r.get('rdpwhy.proxy.socket_error'))
expect(r.get('rdpwhy.proxy.last_ack_ms', 0) >= 3000, 'no ACK from the client for >= 3 s (%r ms)' % r.get('rdpwhy.proxy.last_ack_ms'))
evidence('the client vanished: the proxy')
evidence('no ACK from the client for ')
"
log "a_client_vanishes: server reset $(python3 -c "import json;print(round(json.load(open('$D/server.json'))['t_end']-$(awk '/down/{print $2}' "$D/times"),2))") s after the link went down"
ip -n "$NS_C" link set c0 up
for ((i = 0; i < 50; i++)); do ip -n "$NS_C" -o link show dev c0 | grep -q 'state UP' && break; sleep 0.1; done
ip -n "$NS_C" route replace default via "$GWC"

# ------------------------------------------------------------ b. server vanishes
D=$WORK/b_server_vanishes
P=13402
mkdir -p "$D"
start_server "$D" $P rdp
start_proxy "$D" $P "${KEEPALIVE[@]}"
start_client "$D" $P rdp "$D/go"
sleep 0.3
nsx "$NS_S" iptables -A INPUT -p tcp -j DROP
nsx "$NS_S" iptables -A OUTPUT -p tcp -j DROP
touch "$D/go"
reap "$CLIENT_PID"
finish_proxy "$D"
stop_pid "$SERVER_PID" KILL
forget_pid "$SERVER_PID"
nsx "$NS_S" iptables -F
check "$D" "
dt = c.get('t_end', 0) - (c.get('t_go') or 0)
expect(c.get('end') == 'reset', 'the client sees its connection reset (got %s)' % c.get('end'))
expect(3.0 <= dt <= 9.0, 'reset 3-9 s after its data went unacknowledged (user_timeout 5 s): %.2f s' % dt)
field('rdpwhy.cause', 'peer_vanished')
field('rdpwhy.closed_by', 'proxy')
field('rdpwhy.close_kind', 'timeout')
field('rdpwhy.proxy.lost', 'server')
expect(r.get('rdpwhy.proxy.socket_error') in ('ETIMEDOUT', 'EHOSTUNREACH'),
       'socket_error ETIMEDOUT or EHOSTUNREACH (got %r)' % r.get('rdpwhy.proxy.socket_error'))
expect(r.get('rdpwhy.proxy.unacked_bytes', 0) >= 1000, 'the 1000 bytes never acknowledged (%r)' % r.get('rdpwhy.proxy.unacked_bytes'))
evidence('no ACK from the server for ')
evidence('data outstanding: TCP_USER_TIMEOUT')
"

# ------------------------------------------------------------ c. a person at a prompt
D=$WORK/c_person
P=13403
mkdir -p "$D"
start_server "$D" $P tls "$WORK/cert.pem" "$WORK/key.pem"
start_proxy "$D" $P --set tls_timeout=2s --set prompt_timeout=5s
start_client "$D" $P tls
reap "$CLIENT_PID"
finish_proxy "$D"
reap "$SERVER_PID"
check "$D" "
dt = c.get('t_end', 0) - c.get('t_hello', 0)
expect(c.get('flight', 0) > 0, 'the client read the server flight (%r bytes)' % c.get('flight'))
expect(c.get('end') in ('eof', 'reset'), 'the proxy closed the client (got %s)' % c.get('end'))
expect(4.5 <= dt <= 8.0, 'closed 4.5-8 s after the ClientHello (prompt_timeout 5 s, not tls_timeout 2 s): %.2f s' % dt)
field('rdpwhy.cause', 'client_cancelled')
field('rdpwhy.closed_by', 'proxy')
field('rdpwhy.close_kind', 'timeout')
field('rdpwhy.phase', 'tls_handshake')
field('rdpwhy.proxy.waited_on', 'client')
field('rdpwhy.proxy.waiting_for', 'peer')
field('rdpwhy.proxy.unacked_bytes', 0)
expect(r.get('rdpwhy.proxy.prompt_wait_ms', 0) >= 2000, 'waited >= 2 s past tls_timeout (%r ms)' % r.get('rdpwhy.proxy.prompt_wait_ms'))
expect(r.get('rdpwhy.confidence') in ('medium', 'low'), 'confidence medium or low (%r)' % r.get('rdpwhy.confidence'))
expect('handshake_timeout' in r.get('rdpwhy.alternatives', []), 'alternative handshake_timeout (%r)' % r.get('rdpwhy.alternatives'))
expect('loss' not in r.get('rdpwhy.remediation', 'loss'), 'remediation does not blame loss (%r)' % r.get('rdpwhy.remediation'))
evidence('all data acknowledged; the client was silent')
evidence('(waiting on the user?)')
"

# ------------------------------------------------------------ d. the network
D=$WORK/d_network
P=13404
mkdir -p "$D"
# The client's pure ACKs (no SYN, FIN, RST or PSH; no payload) never leave.
nsx "$NS_C" iptables -A OUTPUT -p tcp -d "$GWC" --dport $P --tcp-flags SYN,FIN,RST,PSH NONE \
    -m length --length 0:80 -j DROP
start_server "$D" $P tls "$WORK/cert.pem" "$WORK/key.pem"
start_proxy "$D" $P --set tls_timeout=2s --set prompt_timeout=5s
start_client "$D" $P tls
reap "$SERVER_PID"
finish_proxy "$D"
stop_pid "$CLIENT_PID"
forget_pid "$CLIENT_PID"
nsx "$NS_C" iptables -F
check "$D" "
# The client never sees the proxy's FIN: it waits behind the flight that
# the client's (dropped) ACKs never acknowledged. The server side does.
dt = s.get('t_end', 0) - c.get('t_hello', 0)
expect('EOF' in s.get('end', ''), 'the proxy closed the server leg (got %s)' % s.get('end'))
expect(1.5 <= dt <= 4.0, 'closed at tls_timeout, 1.5-4 s after the ClientHello: %.2f s' % dt)
field('rdpwhy.cause', 'handshake_timeout')
field('rdpwhy.closed_by', 'proxy')
field('rdpwhy.close_kind', 'timeout')
field('rdpwhy.phase', 'tls_handshake')
field('rdpwhy.proxy.waited_on', 'client')
field('rdpwhy.proxy.waiting_for', 'network')
expect(r.get('rdpwhy.proxy.unacked_bytes', 0) > 0, 'the server flight unacknowledged (%r bytes)' % r.get('rdpwhy.proxy.unacked_bytes'))
expect('rdpwhy.proxy.prompt_wait_ms' not in r, 'no extension for the network')
evidence('waiting on the network: ')
"

# ------------------------------------------------------------ e. idle
D=$WORK/e_idle
P=13405
mkdir -p "$D"
start_server "$D" $P rdp
start_proxy "$D" $P --set idle_timeout=3s
start_client "$D" $P rdp
echo "quiet $(now)" >"$D/times"
reap "$CLIENT_PID"
reap "$SERVER_PID"
finish_proxy "$D"
check "$D" "
for who, p in (('client', c), ('server', s)):
    dt = p.get('t_end', 0) - t.get('quiet', 0)
    expect(p.get('end') in ('eof', 'reset'), 'the %s sees the close (got %s)' % (who, p.get('end')))
    expect(2.5 <= dt <= 6.0, 'the %s closed 2.5-6 s after the exchange (idle_timeout 3 s): %.2f s' % (who, dt))
field('rdpwhy.cause', 'idle_timeout')
field('rdpwhy.closed_by', 'proxy')
field('rdpwhy.close_kind', 'timeout')
field('rdpwhy.phase', 'established')
"

FAILED=0
log "PASS: vanished client (keepalive) and server (user timeout), a person at a prompt, the network, idle"
