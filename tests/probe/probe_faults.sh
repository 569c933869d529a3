#!/usr/bin/env bash
# probe_faults.sh RDPWHY — `rdpwhy probe` against hosts that misbehave, each
# run bounded (`timeout 60` and an elapsed-time bound from --timeout), never
# a hang nor a crash (rw_run: exit status and no sanitizer report):
#
#   refused   a closed port on 127.0.0.1: TCP refused, every profile fails
#             with upstream_refused, exit 1.
#   dropped   in a network namespace this test creates (lo only), iptables
#             drops the probe's SYNs to the port (OUTPUT DROP): TCP dropped
#             after --timeout, every profile upstream_unreachable, exit 1.
#   silent    a listener (python3) that accepts and never answers: every
#             Connection Request times out (x224_no_response), the bare
#             ClientHello too, exit 1.
#   http      a listener that answers HTTP/1.1 400 to whatever comes: the
#             answer is not TPKT (not_rdp), exit 1.
#   reset     a listener that reads the whole Connection Request and resets
#             (SO_LINGER 0): x224_closed_by_server, exit 1.
#   usage     a bad HOST:PORT (port 99999, an empty port, an unclosed [v6]),
#             a name that does not resolve (no-such-host.invalid, RFC 6761,
#             looked up inside the namespace: no DNS query leaves this
#             machine), a bad --timeout, no host: exit 2 with a message that
#             says which, nothing on stdout.
#
# The listeners log each connection's first bytes: each Connection Request
# the probe sent must be one (TPKT 03 00, X.224 CR 0xE0), so "after the
# Connection Request" holds. Expectations: probe_expect.py (FAULTS), from
# docs/causes.md's wire descriptions. Needs root (network namespace,
# iptables); exits 77 otherwise. ~25 s.
set -euo pipefail

TEST_NAME=probe_faults
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../proxy/common.sh
. "$SCRIPT_DIR/../proxy/common.sh"

init_test "network namespaces and iptables" "$@"
need_tools ip:iproute2 iptables:iptables python3:python3 timeout:coreutils

# The interpreter itself, not a version manager's shim (see probe_xrdp.sh).
PYTHON3=$(python3 -c 'import sys; print(sys.executable)') || die "python3 does not run"
python3() { "$PYTHON3" "$@"; }

PROFILES=$(cd "$SCRIPT_DIR/../../conf/profiles" && pwd)
EXPECT=$SCRIPT_DIR/probe_expect.py
ADDR=127.0.0.1
NS=rdpwhy-probe-$$
WORK=$(mktemp -d /tmp/rdpwhy-probe-faults.XXXXXX)
FAILED=1
T0=$SECONDS
# --timeout 1: a silent host costs 1 s per connection (12 connections)
TIMEOUT_S=1

on_exit_stop_all remove_namespaces


cat >"$WORK/listener.py" <<'PY'
# listener.py MODE ADDR PORT LOG: accepts every connection; per connection,
# reads a whole TPKT (or whatever came first when it is not one), logs
# {"first": hex of its first 16 bytes, "len"} to LOG, then: silent: waits for
# the peer to close, never answers; http: answers HTTP/1.1 400 and closes;
# reset: closes with SO_LINGER 0 (RST).
import json, socket, struct, sys, threading
mode, addr, port, logf = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((addr, port))
srv.listen(16)
lock = threading.Lock()
def serve(c):
    c.settimeout(30)
    got = b""
    try:
        while len(got) < 4 or len(got) < struct.unpack(">H", got[2:4])[0]:
            x = c.recv(4096)
            if not x:
                break
            got += x
            if got[:1] != b"\x03":
                break
    except OSError:
        pass
    with lock, open(logf, "a") as f:
        f.write(json.dumps({"first": got[:16].hex(), "len": len(got)}) + "\n")
    if mode == "http":
        c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    elif mode == "reset":
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    else:
        try:
            while c.recv(4096):
                pass
        except OSError:
            pass
    c.close()
print("listening", flush=True)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY

# run_probe KIND BOUND_S PREFIX... -- ADDR:PORT: the probe, exit 1, within BOUND_S
# seconds, then probe_expect.py fault KIND. STYLE: the JSON style asked for,
# nested (the default) in every case but one, which checks flat keys.
STYLE=nested
run_probe() {
    local kind=$1 bound=$2 t0 el
    shift 2
    local pre=()
    while [[ $1 != -- ]]; do pre+=("$1"); shift; done
    shift
    mkdir -p "$WORK/$kind"
    t0=$(date +%s%N)
    rw_run 1 "$WORK/$kind/probe.json" "$WORK/$kind/probe.err" "${pre[@]}" timeout 60 "$BIN" probe --format json \
        --json-style "$STYLE" --pace 0 --timeout "$TIMEOUT_S" --profiles "$PROFILES" "$1" ||
        bad "$kind: rdpwhy probe ended badly"
    el=$((($(date +%s%N) - t0) / 1000000))
    ((el <= bound * 1000)) || bad "$kind: the probe took $el ms, more than $bound s"
    if PROBE_JSON_STYLE=$STYLE python3 "$EXPECT" fault "$kind" "$WORK/$kind" "$PROFILES" >"$WORK/$kind/checks.txt" 2>&1; then
        log "$kind: $(grep -c '^ok:' "$WORK/$kind/checks.txt") checks ok, $el ms"
    else
        grep -E '^(FAIL|Traceback|  )' "$WORK/$kind/checks.txt" | head -30 | sed "s/^/[$kind] /" >&2
        bad "$kind: $(grep -c '^FAIL' "$WORK/$kind/checks.txt") check(s) failed"
    fi
}

# refused: nothing listens there (checked)
read -r PORT <<<"$(free_ports 1)"
port_listening "$PORT" && die "port $PORT is taken"
STYLE=flat run_probe refused 10 -- "$ADDR:$PORT"

# dropped: a namespace of our own, lo up, the probe's SYNs dropped
ip netns add "$NS" 2>"$WORK/netns.err" || die "cannot create namespace $NS: $(cat "$WORK/netns.err")"
NSES+=("$NS")
nsx "$NS" ip link set lo up
nsx "$NS" iptables -A OUTPUT -o lo -p tcp --dport 3389 --syn -j DROP 2>"$WORK/ipt.err" ||
    die "iptables in $NS: $(cat "$WORK/ipt.err")"
# one connect(), dropped for --timeout seconds; nothing else is tried
run_probe dropped $((TIMEOUT_S + 8)) nsx "$NS" -- "$ADDR:3389"
# the rule did drop SYNs (the counter of the DROP rule moved)
pk=$(nsx "$NS" iptables -L OUTPUT -v -x -n | awk '$3 == "DROP" { print $1 }')
if ! [[ $pk =~ ^[0-9]+$ ]] || ((pk < 1)); then bad "dropped: the DROP rule counted no packet ($pk)"; fi

# listeners: silent, http, reset
for kind in silent http reset; do
    read -r PORT <<<"$(free_ports 1)"
    mkdir -p "$WORK/$kind"
    # the interpreter itself in the background, so that $! is its pid
    "$PYTHON3" "$WORK/listener.py" "$kind" "$ADDR" "$PORT" "$WORK/$kind/conns.jsonl" >"$WORK/$kind/listener.out" 2>&1 &
    LPID=$!
    PIDS+=("$LPID")
    rw_wait_line "$WORK/$kind/listener.out" '^listening' "$LPID" 10 "the $kind listener" || die "no $kind listener"
    # silent: 12 connections (TCP, 5 layers, a bare ClientHello, 5 profiles),
    # each waiting --timeout (+0.3 s drain): ~16 s; the others answer at once
    [[ $kind == silent ]] && bound=$((12 * (TIMEOUT_S + 1) + 10)) || bound=10
    run_probe "$kind" "$bound" -- "$ADDR:$PORT"
    stop_pid "$LPID"
    forget_pid "$LPID"
    # every connection that sent a TPKT sent an X.224 Connection Request:
    # 03 00 LEN LEN, LI, 0xE0 (CR); the probe's 10 (layers and profiles)
    python3 - "$WORK/$kind/conns.jsonl" <<'PY' || bad "$kind: the listener did not see 10 Connection Requests"
import json, sys
conns = [json.loads(l) for l in open(sys.argv[1])]
tpkt = [c for c in conns if c["first"].startswith("0300")]
assert len(tpkt) == 10, conns
assert all(c["first"][10:12] == "e0" and c["len"] >= 11 for c in tpkt), tpkt
PY
done

# usage errors: exit 2, a message naming the problem, no report
usage() { # NAME PATTERN PREFIX... -- ARGS...
    local name=$1 pat=$2
    shift 2
    local pre=()
    while [[ $1 != -- ]]; do pre+=("$1"); shift; done
    shift
    rw_run 2 "$WORK/usage-$name.out" "$WORK/usage-$name.err" "${pre[@]}" timeout 30 "$BIN" probe \
        --profiles "$PROFILES" "$@" || bad "usage $name: not exit 2"
    grep -q -- "$pat" "$WORK/usage-$name.err" || bad "usage $name: no /$pat/ in: $(head -3 "$WORK/usage-$name.err")"
    [[ ! -s $WORK/usage-$name.out ]] || bad "usage $name: something on stdout: $(head -3 "$WORK/usage-$name.out")"
}
usage port-range "'127.0.0.1:99999' is not HOST, HOST:PORT or \[V6\]:PORT" -- 127.0.0.1:99999
usage port-empty "'127.0.0.1:' is not HOST, HOST:PORT" -- 127.0.0.1:
usage v6-unclosed "'\[::1' is not HOST" -- "[::1"
usage port-word "is not HOST, HOST:PORT" -- "127.0.0.1:rdp"
usage unresolvable "cannot resolve no-such-host.invalid" nsx "$NS" -- no-such-host.invalid
usage timeout-zero "--timeout wants a number from 1 to 600, not '0'" -- --timeout 0 127.0.0.1
usage no-host "usage: rdpwhy probe" --
usage two-hosts "one host at a time" -- 127.0.0.1 127.0.0.2

((ERRORS == 0)) || die "$ERRORS check(s) failed (KEEP_WORK=1 keeps $WORK)"
FAILED=0
log "ok: refused, dropped, silent, http, reset and usage errors, each bounded ($((SECONDS - T0)) s)"
