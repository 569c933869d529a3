#!/usr/bin/env bash
# reload_tproxy.sh BIN — SIGHUP without a gap for `tproxy = yes` with
# `user = nobody` (issue #12), on a gateway between network namespaces.
#
# Topology as tests/proxy/tproxy.sh (rpc$$ client 10.96.X.2 — rpg$$ gateway
# 10.96.X.1 | 10.96.Y.1 — rps$$ server 10.96.Y.2, no forwarding): on the
# gateway, TPROXY sends tcp/3389 to :13390 and tcp/3390 to :13391 (mark 0x1,
# table 100 routes it locally). Echo servers (tests/proxy/reload_peers.py) on
# the server's 3389 and 3390.
#
# Asserts: rdpwhy proxy (listen 0.0.0.0:13390, tproxy = yes, user = nobody)
# logs "running as nobody; kept for opening listeners on reload:
# CAP_NET_BIND_SERVICE CAP_NET_RAW (none effective)", runs with CapEff 0 and
# CapPrm exactly NET_BIND_SERVICE + NET_RAW. Clients in the client namespace
# (4 short-connection workers, 2 long connections) reach 10.96.Y.2:3389
# through it while 5 SIGHUPs are sent: zero connections refused, reset, timed
# out or altered (SHA-256), each reload "(1 kept, 0 opened, 0 closed)", the
# listener the same socket. Then a reload adds 0.0.0.0:13391 — IP_TRANSPARENT
# set on a new socket after the drop, with the kept CAP_NET_RAW — and a
# client reaches 10.96.Y.2:3390 through it; still no effective capability.
# rdpwhy exits 0 on SIGTERM with no sanitizer report.
#
# Needs root; exits 77 (skip), like tproxy.sh, when namespaces, the TPROXY
# target, policy routing or delivery to an IP_TRANSPARENT listener are not
# available here. KEEP_WORK=1 keeps the scratch directory. ~20 s.
set -euo pipefail

TEST_NAME=reload_tproxy
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$SCRIPT_DIR/common.sh"

init_test "network namespaces, iptables, IP_TRANSPARENT, user = nobody" "$@"
need_tools ip:iproute2 iptables:iptables python3:python3 timeout:coreutils
id nobody >/dev/null 2>&1 || die "no user 'nobody' on this system"
PEERS=$SCRIPT_DIR/reload_peers.py

skip() {
    printf '[%s] skip: %s\n' "$TEST_NAME" "$*" >&2
    FAILED=0
    exit 77
}

NS_C=rpc$$
NS_G=rpg$$
NS_S=rps$$
X=$((RANDOM % 200 + 20))
Y=$((X + 1))
CLI=10.96.$X.2
GWC=10.96.$X.1
GWS=10.96.$Y.1
SRV=10.96.$Y.2
MARK=0x1
TABLE=100

WORK=$(mktemp -d /tmp/rdpwhy-proxy-reload-tproxy.XXXXXX)
chmod 0755 "$WORK"
FAILED=1
FAILS=0

cleanup() {
    local rc=$?
    exec 2>&9
    stop_all_pids
    remove_namespaces
    end_test "$rc"
}
exec 9>&2
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

expect() { # expect MSG CMD...
    local msg=$1
    shift
    if "$@"; then
        log "ok   $msg"
    else
        log "FAIL $msg"
        FAILS=$((FAILS + 1))
    fi
}
count() { grep -cE -- "$2" "$1" 2>/dev/null || true; }
capline() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
inode_of() { # the socket listening on 0.0.0.0:PORT in the gateway namespace
    local h
    h=$(printf '00000000:%04X' "$1")
    nsx "$NS_G" awk -v h="$h" '$2 == h && $4 == "0A" { print $10 }' /proc/net/tcp
}

# ------------------------------------------------------------------ topology
gateway_topology 0 skip
for rule in "3389 13390" "3390 13391"; do
    read -r dport lport <<<"$rule"
    rule_args=(-t mangle -A PREROUTING -p tcp --dport "$dport" -j TPROXY --on-port "$lport" --tproxy-mark "$MARK/$MARK")
    if ! nsx "$NS_G" iptables "${rule_args[@]}" 2>"$WORK/ipt.err"; then
        modprobe -q xt_TPROXY 2>/dev/null || true
        modprobe -q nf_tproxy_ipv4 2>/dev/null || true
        nsx "$NS_G" iptables "${rule_args[@]}" 2>"$WORK/ipt.err" ||
            skip "the TPROXY target is not available ($(iptables -V 2>&1)): $(tr '\n' ' ' <"$WORK/ipt.err")"
    fi
done
nsx "$NS_G" ip rule add fwmark "$MARK" lookup "$TABLE" 2>"$WORK/rule.err" ||
    skip "policy routing is not available (ip rule add fwmark): $(cat "$WORK/rule.err")"
nsx "$NS_G" ip route add local 0.0.0.0/0 dev lo table "$TABLE" 2>"$WORK/route.err" ||
    skip "cannot add the local route in table $TABLE: $(cat "$WORK/route.err")"

# Does TPROXY deliver here? A python IP_TRANSPARENT listener on :13390.
nsx "$NS_G" timeout 15 python3 -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_IP, getattr(socket, "IP_TRANSPARENT", 19), 1)
s.bind(("0.0.0.0", 13390)); s.listen(4); s.settimeout(10)
c, _ = s.accept(); print("%s:%d" % c.getsockname())' >"$WORK/probe.out" 2>&1 &
pp=$!
PIDS+=("$pp")
wait_listening 13390 "$pp" "$NS_G" || skip "an IP_TRANSPARENT listener cannot be opened: $(tail -1 "$WORK/probe.out")"
r=$(nsx "$NS_C" python3 -c 'import socket, sys
try:
    socket.create_connection((sys.argv[1], 3389), timeout=3); print("ok")
except OSError as e:
    print(e)' "$SRV")
wait "$pp" 2>/dev/null || true
forget_pid "$pp"
[[ $r == ok && $(cat "$WORK/probe.out") == "$SRV:3389" ]] ||
    skip "TPROXY does not deliver here: connect gave '$r', the listener saw '$(cat "$WORK/probe.out")'"
log "TPROXY delivers $CLI -> $SRV:3389 to an IP_TRANSPARENT listener on the gateway"

# ------------------------------------------------------------------ peers, proxy
for p in 3389 3390; do
    nsx "$NS_S" python3 "$PEERS" echo "$SRV" "$p" "$WORK/echo-$p.log" >"$WORK/echo-$p.out" 2>&1 9>&- &
    PIDS+=("$!")
    wait_listening "$p" "$!" "$NS_S" || die "echo server on $p did not start"
done
conf=$WORK/rdpwhy.conf
write_conf() { # write_conf LISTEN... ; a changing connect_timeout makes each reload a change
    {
        local l
        for l in "$@"; do echo "listen = $l"; done
        printf 'tproxy = yes\nuser = nobody\nformat = json\noutput = -\nconnect_timeout = %ss\n' "$((RANDOM % 20 + 5))"
    } >"$conf.tmp"
    mv "$conf.tmp" "$conf"
}
write_conf 0.0.0.0:13390
ip netns exec "$NS_G" "$BIN" proxy -c "$conf" -v -v >"$WORK/records.json" 2>"$WORK/proxy.stderr" 9>&- &
PROXY_PID=$!
PIDS+=("$PROXY_PID")
rw_wait_ready "$WORK/proxy.stderr" "$PROXY_PID" || die "rdpwhy proxy did not get ready"

hup() {
    kill -HUP "$PROXY_PID"
    local i
    for ((i = 0; i < 100; i++)); do
        (($(count "$WORK/proxy.stderr" 'configuration reloaded|rdpwhy\[error\]: reload: ') >= $1)) && return 0
        sleep 0.05
    done
    log "FAIL no outcome for reload $1"
    FAILS=$((FAILS + 1))
}

expect "'running as nobody; kept for opening listeners on reload: CAP_NET_BIND_SERVICE CAP_NET_RAW (none effective)'" \
    grep -q 'running as nobody; kept for opening listeners on reload: CAP_NET_BIND_SERVICE CAP_NET_RAW (none effective)' "$WORK/proxy.stderr"
st="$(capline "$PROXY_PID" CapEff) $(capline "$PROXY_PID" CapPrm)"
expect "CapEff 0, CapPrm NET_BIND_SERVICE + NET_RAW (got $st)" test "$st" = "0000000000000000 0000000000002400"
ino=$(inode_of 13390)

nsx "$NS_C" python3 "$PEERS" load "$SRV" 3389 "$WORK/stop" "$WORK/load.json" 4 2 >"$WORK/load.out" 2>&1 9>&- &
lp=$!
PIDS+=("$lp")
rw_wait_line "$WORK/load.out" '^running' "$lp" 15 "load through TPROXY" || die "no load"
for ((k = 1; k <= 5; k++)); do
    write_conf 0.0.0.0:13390
    hup "$k"
    sleep 0.3
done
sleep 0.5
touch "$WORK/stop"
wait "$lp" || true
forget_pid "$lp"
declare -A L
eval "$(python3 -c 'import json, sys
for k, v in json.load(open(sys.argv[1])).items():
    print("L[%s]=%s" % (k, json.dumps(str(v))))' "$WORK/load.json")"
log "${L[connections]} connections through TPROXY during 5 reloads, ${L[ok]} byte-exact, ${L[bytes]} bytes each way"
expect "at least 20 connections (got ${L[connections]})" test "${L[connections]}" -ge 20
expect "every one relayed byte-exact (${L[ok]} of ${L[connections]})" test "${L[ok]}" = "${L[connections]}"
for k in refused reset timeout mismatch error; do
    expect "0 $k (got ${L[$k]})" test "${L[$k]}" = 0
done
expect "the 2 long connections relayed throughout" test "${L[long_ok]}" = 2
[[ ${L[problems]} == "[]" ]] || log "problems: ${L[problems]}"
expect "5 reloads, each '(1 kept, 0 opened, 0 closed)'" test "$(count "$WORK/proxy.stderr" '\(1 kept, 0 opened, 0 closed\)$')" = 5
expect "the TPROXY listener is the same socket" test "$(inode_of 13390)" = "$ino"

write_conf 0.0.0.0:13390 0.0.0.0:13391
hup 6
expect "a reload as nobody opens a second TPROXY listener ('(1 kept, 1 opened, 0 closed)')" \
    grep -q 'listening on 0.0.0.0:13390, 0.0.0.0:13391 (1 kept, 1 opened, 0 closed)' "$WORK/proxy.stderr"
r=$(nsx "$NS_C" python3 "$PEERS" connect "$SRV" 3390)
expect "a client reaches $SRV:3390 through it (got $r)" test "$r" = ok
expect "the server's 3390 saw the connection" test "$(count "$WORK/echo-3390.log" ^accept)" = 1
expect "no reload error" test "$(count "$WORK/proxy.stderr" 'rdpwhy\[error\]: reload: ')" = 0
expect "still no effective capability" test "$(capline "$PROXY_PID" CapEff)" = 0000000000000000
wait_lines "$WORK/records.json" "$((L[connections] + 3))" 5 || true
expect "a record for each connection ($((L[connections] + 3)), got $(wc -l <"$WORK/records.json"))" \
    test "$(wc -l <"$WORK/records.json")" = "$((L[connections] + 3))"
expect "the records carry the original destinations" \
    grep -qE '"original_destination":\{"ip":"[^"]*","port":3390\}' "$WORK/records.json"

stop_proxy "$PROXY_PID" 10 "$WORK/proxy.stderr"
expect "rdpwhy exits 0 on SIGTERM, no sanitizer report (got $STOP_RC)" test "$STOP_RC" = 0
if ((FAILS)); then
    show_file "proxy stderr" "$WORK/proxy.stderr" 40
    log "FAILED: $FAILS assertions"
    exit 1
fi
FAILED=0
log "PASS: TPROXY as nobody: 5 reloads under load without a refused, reset or altered connection; a TPROXY listener opened after the drop"
