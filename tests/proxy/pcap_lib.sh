# pcap_lib.sh — helpers of the pcap_dir disk tests (pcap_full.sh,
# pcap_stall.sh, pcap_caps.sh; sourced, not run). The sourcing script sets
# TEST_NAME, then calls pcap_init "$@".
#
#   pcap_init "$@"            root (77 = skip) in a private mount namespace (the
#                             script runs again under unshare -m, so whatever
#                             it mounts disappears with it), WORK, the EXIT trap
#                             (stop every process, then PCAP_CLEANUP if set)
#   start_echo PORT           the echo server (pcap_peers.py server)
#   start_proxy PCAPDIR PORT UP [--set K=V]...   PROXY_PID, $WORK/proxy.err
#   finish_proxy              SIGTERM; checks exit 0 and no sanitizer report
#   peers ARGS...             pcap_peers.py ARGS...
#   check NAME CMD...         ok/FAIL line; FAILS counts failures
#   counter NAME              from the proxy's last "pcap counters" line: the
#                             number before NAME ("frames", "files removed"...)
# shellcheck shell=bash

# shellcheck source=common.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PEERS=$SCRIPT_DIR/pcap_peers.py
FAILS=0
PCAP_CLEANUP=

pcap_init() {
    init_test "mounts a tmpfs / a loop file system" "$@"
    need_tools python3:python3 unshare:util-linux mount:mount
    if [[ -z ${RW_PCAP_MNTNS:-} ]]; then
        RW_PCAP_MNTNS=1 exec unshare -m --propagation private "$0" "$@"
    fi
    WORK=$(mktemp -d "/tmp/rdpwhy-$TEST_NAME.XXXXXX")
    FAILED=1
    exec 9>&2
    trap pcap_cleanup EXIT
    trap 'exit 130' INT TERM HUP
}

pcap_cleanup() {
    local rc=$?
    exec 2>&9
    [[ -n $PCAP_CLEANUP ]] && $PCAP_CLEANUP
    stop_all_pids
    ((rc == 0 && FAILS == 0)) && FAILED=0
    end_test "$rc"
}

start_echo() {
    python3 "$PEERS" server "$1" &
    PIDS+=("$!")
    wait_listening "$1" "$!" || die "echo server did not listen on $1"
}

PROXY_PID=
start_proxy() { # start_proxy PCAPDIR PORT UP [ARGS...]
    local dir=$1 port=$2 up=$3
    shift 3
    : >"$WORK/records.json"
    "$BIN" proxy --listen "127.0.0.1:$port" --upstream "127.0.0.1:$up" --format json \
        --output "$WORK/records.json" --pcap-dir "$dir" -v "$@" 2>"$WORK/proxy.err" &
    PROXY_PID=$!
    PIDS+=("$PROXY_PID")
    rw_wait_ready "$WORK/proxy.err" "$PROXY_PID" || {
        show_file "proxy stderr" "$WORK/proxy.err"
        die "the proxy did not get ready"
    }
}

finish_proxy() {
    stop_proxy "$PROXY_PID" 20 "$WORK/proxy.err"
    check "proxy: SIGTERM, exit 0, no sanitizer report (got $STOP_RC)" test "$STOP_RC" = 0
}

peers() { python3 "$PEERS" "$@"; }

check() { # check NAME CMD...
    local name=$1
    shift
    if "$@"; then
        printf '  ok   %s\n' "$name" >&2
    else
        printf '  FAIL %s\n' "$name" >&2
        FAILS=$((FAILS + 1))
    fi
}

# counter NAME: a number of the last "pcap counters" line: files,
# queue_frames, queue_bytes, truncated_files, removed_files, not_written,
# werr_files, werr_bytes.
counter() {
    python3 - "$WORK/proxy.err" "$1" <<'PY'
import re, sys
pat = {"files": r"counters: files (\d+)", "queue_frames": r"queue full: (\d+) frames",
       "queue_bytes": r"queue full: \d+ frames \((\d+) bytes", "truncated_files": r"(\d+) files truncated",
       "removed_files": r"(\d+) files removed", "not_written": r"(\d+) bytes not written",
       "werr_files": r"write errors: (\d+) files", "werr_bytes": r"write errors: \d+ files \((\d+) bytes"}[sys.argv[2]]
lines = [l for l in open(sys.argv[1], errors="replace") if "pcap counters:" in l]
m = re.search(pat, lines[-1]) if lines else None
print(m.group(1) if m else -1)
PY
}

# usr1_counters: SIGUSR1, then wait for one more counters line.
usr1_counters() {
    local n
    n=$(grep -ac "pcap counters:" "$WORK/proxy.err" || true)
    kill -USR1 "$PROXY_PID"
    for ((i = 0; i < 50; i++)); do
        (($(grep -ac "pcap counters:" "$WORK/proxy.err" || true) > n)) && return 0
        sleep 0.1
    done
    return 1
}

# json FILE KEY: one value of a pcap_peers.py result
json() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
