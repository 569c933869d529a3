# common.sh — helpers shared by tests/proxy/*.sh (sourced, not run).
#
# The sourcing script sets TEST_NAME before sourcing, and owns the EXIT trap:
# it calls stop_all_pids from its own cleanup function.
# shellcheck shell=bash

log() { printf '[%s] %s\n' "$TEST_NAME" "$*" >&2; }
die() {
    printf '[%s] FAIL: %s\n' "$TEST_NAME" "$*" >&2
    exit 1
}

# need_tools "cmd:package" ... : install (apt-get, no recommends) the packages
# of the missing commands; apt-get update only when something is missing.
need_tools() {
    local spec cmd pkg missing=()
    for spec in "$@"; do
        cmd=${spec%%:*}
        pkg=${spec#*:}
        command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
    done
    ((${#missing[@]})) || return 0
    log "installing missing packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2 || die "apt-get update failed"
    apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
        die "apt-get install ${missing[*]} failed"
    for spec in "$@"; do
        command -v "${spec%%:*}" >/dev/null 2>&1 || die "missing program after install: ${spec%%:*}"
    done
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

# stop_proxy PID SECONDS: SIGTERM, wait up to SECONDS for it to exit by
# itself; sets STOP_RC to its exit status ("timeout" if it had to be killed).
# Not to be called in a subshell (it reaps the child).
# shellcheck disable=SC2034 # read by the sourcing scripts
STOP_RC=
stop_proxy() {
    local pid=$1 secs=$2 i
    STOP_RC=0
    kill -TERM "$pid" 2>/dev/null || true
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
