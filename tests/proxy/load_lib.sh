# load_lib.sh — what the load and fault tests (load_idle.sh, slowloris.sh,
# never_read.sh, out_of_fds.sh, upstream_restart.sh, halfclose.sh) share on
# top of common.sh (sourced, not run; the sourcing script sets TEST_NAME).
#
#   load_init "$@"           one argument, the rdpwhy binary: BIN (absolute),
#                            WORK (scratch), PEERS (load_peers.py), ASAN (1 in
#                            a sanitizer build: the binary's path says "asan",
#                            or RW_ASAN=1), the EXIT trap (stops every PID,
#                            end_test). Loopback only: no root needed.
#   start_upstream PORT [ARGS...]   load_peers.py upstream on 127.0.0.1:PORT,
#                            log $WORK/upstream.log -> UP_PID
#   start_proxy PORT UPPORT [PREFIX... --] [ARGS...]
#                            rdpwhy proxy on 127.0.0.1:PORT to 127.0.0.1:UPPORT,
#                            JSON records in $WORK/records.json, stderr (-v) in
#                            $WORK/proxy.stderr -> PROXY_PID
#   finish_proxy             SIGTERM, exit 0 in 30 s, no sanitizer report
#   check CMD... / FAILS     a failed check is counted, the script goes on
#   peers_py ROLE ARGS...    runs load_peers.py (its checks count as one)
# shellcheck shell=bash

# shellcheck source=common.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

FAILS=0
load_cleanup() {
    local rc=$?
    exec 2>&9
    stop_all_pids
    if ((rc == 0 && FAILS > 0)); then rc=1; fi
    ((rc != 0)) && [[ -f $WORK/proxy.stderr ]] && show_file "proxy stderr" "$WORK/proxy.stderr" 30
    ((rc == 0)) && FAILED=0
    end_test "$rc"
}

load_init() {
    [[ $# -eq 1 ]] || { echo "usage: $0 RDPWHY_BINARY" >&2; exit 2; }
    BIN=$(realpath "$1")
    [[ -x $BIN ]] || die "not an executable: $1"
    need_tools python3:python3 prlimit:util-linux
    PEERS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/load_peers.py
    # shellcheck disable=SC2034 # read by the sourcing scripts
    if [[ $BIN == *asan* || -n ${RW_ASAN:-} ]]; then ASAN=1; else ASAN=0; fi
    WORK=$(mktemp -d "/tmp/rdpwhy-$TEST_NAME.XXXXXX")
    FAILED=1
    exec 9>&2
    trap load_cleanup EXIT
    trap 'exit 130' INT TERM HUP
}

check() { # check MSG CMD...
    local msg=$1
    shift
    if "$@"; then
        log "ok   $msg"
    else
        log "FAIL $msg"
        FAILS=$((FAILS + 1))
    fi
}

peers_py() { # peers_py ROLE ARGS...: its own checks, counted as one
    if ! python3 "$PEERS" "$@" 9>&-; then
        log "FAIL load_peers.py $1"
        FAILS=$((FAILS + 1))
        return 1
    fi
}

start_upstream() { # start_upstream PORT [--reset-on-term]
    local port=$1
    shift
    python3 "$PEERS" upstream 127.0.0.1 "$port" "$WORK/upstream.log" "$@" \
        >"$WORK/upstream.out" 2>&1 9>&- &
    UP_PID=$!
    PIDS+=("$UP_PID")
    wait_listening "$port" "$UP_PID" || die "the upstream did not start on $port"
}

start_proxy() { # start_proxy PORT UPPORT [PREFIX... --] [ARGS...]
    local port=$1 up=$2 pre=()
    shift 2
    if [[ " $* " == *" -- "* ]]; then
        while [[ $1 != -- ]]; do pre+=("$1"); shift; done
        shift
    fi
    "${pre[@]}" "$BIN" proxy --listen "127.0.0.1:$port" --upstream "127.0.0.1:$up" \
        --format json --output "$WORK/records.json" "$@" -v \
        >"$WORK/proxy.stdout" 2>"$WORK/proxy.stderr" 9>&- &
    PROXY_PID=$!
    PIDS+=("$PROXY_PID")
    rw_wait_ready "$WORK/proxy.stderr" "$PROXY_PID" || die "rdpwhy proxy did not get ready"
}

finish_proxy() {
    check "the proxy is still running" kill -0 "$PROXY_PID"
    stop_proxy "$PROXY_PID" 30 "$WORK/proxy.stderr"
    check "the proxy exits 0 on SIGTERM with no sanitizer report (got $STOP_RC)" test "$STOP_RC" = 0
}
