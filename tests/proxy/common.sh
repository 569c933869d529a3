# common.sh — helpers shared by tests/proxy/*.sh (sourced, not run).
#
# The sourcing script sets TEST_NAME before sourcing, and owns the EXIT trap:
# it calls stop_all_pids (and remove_namespaces) from its own cleanup function.
#
#   log MSG... / die MSG...            [TEST_NAME] MSG on stderr; die exits 1
#   init_test REASON "$@"             the script's arguments must be one rdpwhy
#                                      binary: sets BIN (absolute); exit 2 with a
#                                      usage line otherwise; exit 77 (skip: needs
#                                      root (REASON)) when not root
#   need_tools CMD:PACKAGE...          fail (exit 1) naming what is missing:
#                                      scripts/setup.sh --test installs it, a
#                                      test does not (nor does it skip)
#   PIDS, stop_pid, forget_pid, stop_all_pids, stop_proxy, STOP_RC
#   rw_run, rw_check_end, rw_sanitizer_report, rw_wait_ready, rw_wait_line
#                                      from tests/lib/rdpwhy_run.sh
#   end_test RC                        the end of a cleanup function (see there)
#   wait_lines FILE N SECONDS, free_ports N [ADDR], show_file TITLE FILE [LINES]
#   port_listening PORT [NS]           something listens on tcp PORT (v4/v6)
#   wait_listening PORT PID [NS]       up to 5 s; 1 when PID exits first
#   nsx NS CMD...                      ip netns exec NS CMD...
#   gateway_topology FORWARD [ONFAIL]  three namespaces client—gateway—server
#                                      (see the function), remove_namespaces
#   write_rdp_peers DIR                fake_host.py, rdp_client.py, wait_close.py
# shellcheck shell=bash

# shellcheck source=../lib/rdpwhy_run.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../lib" && pwd)/rdpwhy_run.sh"

log() { printf '[%s] %s\n' "$TEST_NAME" "$*" >&2; }
die() {
    printf '[%s] FAIL: %s\n' "$TEST_NAME" "$*" >&2
    exit 1
}

# need_tools "cmd:package" ... : fail, naming the packages of the missing
# commands (scripts/setup.sh --test installs them all; a test run must not
# depend on a package archive being reachable, nor skip).
# init_test REASON "$@": see above.
init_test() {
    local why=$1
    shift
    [[ $# -eq 1 ]] || { echo "usage: $0 RDPWHY_BINARY" >&2; exit 2; }
    BIN=$(realpath "$1")
    [[ -x $BIN ]] || die "not an executable: $1"
    if [[ $(id -u) -ne 0 ]]; then
        echo "[$TEST_NAME] skip: needs root ($why)" >&2
        exit 77
    fi
}

need_tools() {
    local spec cmd pkg missing=()
    for spec in "$@"; do
        cmd=${spec%%:*}
        pkg=${spec#*:}
        command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
    done
    ((${#missing[@]})) || return 0
    die "missing packages: ${missing[*]} (scripts/setup.sh --test installs them)"
}

PIDS=()

stop_pid() { # stop_pid PID [SIGNAL]: SIGNAL (TERM), then KILL after 3 s; reap it
    local pid=$1 sig=${2:-TERM} i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill "-$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
}

forget_pid() { # remove a stopped pid from PIDS
    local p keep=()
    for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

stop_all_pids() {
    local pid
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
    PIDS=()
}

# end_test RC: the end of the sourcing script's cleanup function: keeps
# $WORK when KEEP_WORK is set (and says so), removes it otherwise; logs
# "FAILED (exit RC)" unless RC is 77 (skip) or 0 with FAILED=0 (the script
# sets FAILED=1 first and 0 when every check passed); exits RC.
end_test() {
    local rc=$1
    if [[ -n ${KEEP_WORK:-} ]]; then
        log "scratch directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
    ((rc == 77 || (rc == 0 && ${FAILED:-1} == 0))) || log "FAILED (exit $rc)"
    exit "$rc"
}

# on_exit_stop_all [FN]: the usual ending of a test that starts processes.
# On exit (and on INT/TERM/HUP, as 130) it logs to the script's own stderr
# again (a signal can arrive inside a function called with redirections),
# stops every process in PIDS, runs FN if given (remove_namespaces, say),
# then end_test.
on_exit_stop_all() {
    _ON_EXIT_FN=${1:-}
    exec 9>&2
    trap _stop_all_and_end EXIT
    trap 'exit 130' INT TERM HUP
}
_stop_all_and_end() {
    local rc=$?
    exec 2>&9
    stop_all_pids
    [[ -z $_ON_EXIT_FN ]] || "$_ON_EXIT_FN"
    end_test "$rc"
}

# bad WHAT / ok WHAT: a check that failed (counted in ERRORS, the test goes
# on and fails at its end) or passed.
ERRORS=0
bad() {
    log "FAIL: $*"
    ERRORS=$((ERRORS + 1))
}
ok() { log "ok: $*"; }

# stop_proxy PID SECONDS [STDERR]: SIGTERM, wait up to SECONDS for it to exit
# by itself; sets STOP_RC to its exit status ("timeout" if it had to be
# killed, "exited-before-SIGTERM" if it was gone already, "sanitizer-report"
# when it exited 0 but the file STDERR holds a sanitizer report). Not to be
# called in a subshell (it reaps the child).
# shellcheck disable=SC2034 # read by the sourcing scripts
STOP_RC=
stop_proxy() {
    local pid=$1 secs=$2 i
    STOP_RC=0
    if ! kill -TERM "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null || true
        STOP_RC=exited-before-SIGTERM
        forget_pid "$pid"
        return 0
    fi
    for ((i = 0; i < secs * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        STOP_RC=timeout
    else
        # shellcheck disable=SC2034
        wait "$pid" || STOP_RC=$?
    fi
    if [[ $STOP_RC == 0 && -n ${3:-} ]] && rw_sanitizer_report "$3"; then
        STOP_RC=sanitizer-report
    fi
    forget_pid "$pid"
}

# wait_lines FILE N SECONDS: wait until FILE has at least N complete lines.
wait_lines() {
    local f=$1 n=$2 secs=$3 i
    for ((i = 0; i < secs * 10; i++)); do
        if [[ -f $f ]] && (($(wc -l <"$f") >= n)); then return 0; fi
        sleep 0.1
    done
    return 1
}

# free_ports N [ADDR]: N currently unused TCP ports on ADDR (127.0.0.1)
free_ports() {
    python3 - "$1" "${2:-127.0.0.1}" <<'PY'
import socket, sys
n, addr = int(sys.argv[1]), sys.argv[2]
s = [socket.socket() for _ in range(n)]
for x in s:
    x.bind((addr, 0))
print(" ".join(str(x.getsockname()[1]) for x in s))
PY
}

# show_file TITLE FILE [LINES]: print the tail of a log file to stderr
show_file() {
    local title=$1 f=$2 n=${3:-60}
    [[ -e $f ]] || return 0
    printf -- '----- %s (%s, last %s lines) -----\n' "$title" "$f" "$n" >&2
    tail -n "$n" "$f" >&2 || true
}

nsx() { # nsx NS CMD... : run in a namespace
    local ns=$1
    shift
    ip netns exec "$ns" "$@"
}

# port_listening PORT [NS]: is anything listening on tcp PORT (IPv4 or IPv6),
# in namespace NS if given?
port_listening() {
    local h
    h=$(printf '%04X' "$1")
    # shellcheck disable=SC2016
    ${2:+ip netns exec "$2"} awk -v h="$h" 'NR > 1 && $4 == "0A" { split($2, a, ":"); if (a[2] == h) f = 1 } END { exit !f }' \
        /proc/net/tcp /proc/net/tcp6
}

# wait_listening PORT PID [NS]: wait up to 5 s for a listener on PORT (in NS);
# 1 when PID exits first or time runs out.
wait_listening() {
    local i
    for ((i = 0; i < 100; i++)); do
        port_listening "$1" "${3:-}" && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# gateway_topology FORWARD [ONFAIL]: namespaces $NS_C (client), $NS_G (gateway)
# and $NS_S (server), added to NSES; veths c0 $CLI/24 <-> gc $GWC/24 and
# gs $GWS/24 <-> s0 $SRV/24, links up; client and server route by default via
# the gateway, whose net.ipv4.ip_forward is FORWARD (0|1); waits up to 5 s for
# c0 and s0 to be up. ONFAIL (default die) is called with the reason when a
# namespace or the first veth pair cannot be made (errors in $WORK/*.err).
NSES=()
# shellcheck disable=SC2153 # NS_C NS_G NS_S CLI GWC GWS SRV WORK: set by the sourcing script
gateway_topology() {
    local fwd=$1 onfail=${2:-die} ns l dev i
    for ns in "$NS_C" "$NS_G" "$NS_S"; do
        ip netns list | awk '{ print $1 }' | grep -qx "$ns" && die "namespace $ns already exists"
        ip netns add "$ns" 2>"$WORK/netns.err" || "$onfail" "cannot create namespace $ns: $(cat "$WORK/netns.err")"
        NSES+=("$ns")
        nsx "$ns" ip link set lo up
    done
    ip -n "$NS_C" link add c0 type veth peer name gc netns "$NS_G" 2>"$WORK/veth.err" ||
        "$onfail" "cannot create veth pairs: $(cat "$WORK/veth.err")"
    ip -n "$NS_S" link add s0 type veth peer name gs netns "$NS_G" || die "cannot create veth s0/gs"
    ip -n "$NS_C" addr add "$CLI/24" dev c0
    ip -n "$NS_G" addr add "$GWC/24" dev gc
    ip -n "$NS_G" addr add "$GWS/24" dev gs
    ip -n "$NS_S" addr add "$SRV/24" dev s0
    for l in "$NS_C c0" "$NS_G gc" "$NS_G gs" "$NS_S s0"; do
        read -r ns dev <<<"$l"
        ip -n "$ns" link set "$dev" up
    done
    ip -n "$NS_C" route add default via "$GWC"
    ip -n "$NS_S" route add default via "$GWS"
    nsx "$NS_G" sysctl -qw "net.ipv4.ip_forward=$fwd"
    for ((i = 0; i < 50; i++)); do
        ip -n "$NS_C" -o link show dev c0 | grep -q 'state UP' &&
            ip -n "$NS_S" -o link show dev s0 | grep -q 'state UP' && break
        sleep 0.1
    done
}

# remove_namespaces: kill what still runs in the NSES namespaces (started by
# this script) and delete them (their iptables rules, ip rules and routes go
# with them). For the cleanup function.
remove_namespaces() {
    local ns pid
    for ns in "${NSES[@]}"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
}

# write_rdp_peers DIR: the python peers of netns.sh and tproxy.sh, in DIR.
#   fake_host.py ADDR PORT OUT: one connection (20 s at most); reads an X.224
#     Connection Request, answers with a Connection Confirm (03 00 00 13 0e d0
#     00 00 12 34 00 02 00 08 00 00 00 00 00: RDP_NEG_RSP PROTOCOL_RDP), echoes
#     the next length-prefixed bytes, closes (FIN: nothing unread); writes
#     {"peer", "cr" (hex), "echoed"} to OUT.
#   rdp_client.py HOST PORT OUT COOKIE: sends a CR (Cookie: mstshash=COOKIE,
#     RDP_NEG_REQ PROTOCOL_RDP), reads the 19-byte CC, sends 600 random bytes
#     (length-prefixed), reads the echo, then how the host closed; writes
#     {"cr", "cc" (hex), "echo_ok", "end": eof|data|reset} to OUT.
#   wait_close.py HOST PORT LIMIT: connects, sends nothing, prints JSON
#     {"outcome": eof|reset|data|timeout|refused, "elapsed" (s), "local"}.
write_rdp_peers() {
    cat >"$1/fake_host.py" <<'PY'
import json, socket, struct, sys
addr, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((addr, port))
srv.listen(1)
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
c.sendall(bytes.fromhex("03000013 0ed00000123400 0200080000000000".replace(" ", "")))
n = struct.unpack(">H", recv_exact(2))[0]
data = recv_exact(n)
c.sendall(data)
c.close()
json.dump({"peer": peer[0], "cr": cr.hex(), "echoed": len(data)}, open(out, "w"))
PY
    cat >"$1/rdp_client.py" <<'PY'
import json, os, socket, struct, sys
host, port, out, cookie = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
cookie = b"Cookie: mstshash=" + cookie.encode() + b"\r\n"
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
    cat >"$1/wait_close.py" <<'PY'
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
print(json.dumps({"outcome": outcome, "elapsed": round(time.monotonic() - t0, 3),
                  "local": list(s.getsockname())}))
PY
}
