# shellcheck shell=bash
# rdpwhy_run.sh — one way for shell tests to run rdpwhy and judge how it ended
# (sourced). The Python twin is tests/lib/rdpwhy_run.py; both apply the same rules:
#   - the exit status is compared with the one the caller expects (never ignored);
#   - stderr must hold no sanitizer report (AddressSanitizer, LeakSanitizer,
#     UndefinedBehaviorSanitizer "runtime error:", ThreadSanitizer), which the
#     ASan build prints at exit even when the exit status looks right.
#
#   rw_run WANT_RC STDOUT STDERR CMD...
#       runs CMD (usually "$BIN" replay ...) with stdout to STDOUT and stderr to
#       STDERR (files; /dev/null allowed for stdout only), then rw_check_end.
#       WANT_RC is a number, a list "0|1", or "any" (for a run that is judged by
#       its output alone; the sanitizer check still applies).
#       Returns 0 when both hold; otherwise prints why (with the end of stderr)
#       and returns 1.
#   rw_check_end NAME RC WANT_RC STDERR
#       the same judgement for a process the caller ran itself (a daemon it
#       started in the background and waited for).
#   rw_sanitizer_report FILE
#       0 when FILE holds a sanitizer report (and prints its first lines).
#
# Sourcing it also puts tests/lib on PYTHONPATH, so that a test's Python reads
# JSON records by dotted names whatever their json_style:
#   python3 - FILE <<'EOF'  ...  from records import load; r = load(FILE)[0]; r["rdpwhy.cause"]
export PYTHONPATH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)${PYTHONPATH:+:$PYTHONPATH}"

rw_sanitizer_report() {
    [[ -f $1 ]] || return 1
    local pat='ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|WARNING: ThreadSanitizer|SUMMARY: (Address|Leak|UndefinedBehavior|Thread)Sanitizer'
    grep -aqE "$pat" "$1" || return 1
    grep -aE -m 5 "$pat" "$1" >&2
    return 0
}

rw_rc_ok() { # RC WANT
    local rc=$1 want=$2 w
    [[ $want == any ]] && return 0
    local IFS='|'
    for w in $want; do
        [[ $rc == "$w" ]] && return 0
    done
    return 1
}

rw_check_end() { # NAME RC WANT_RC STDERR
    local name=$1 rc=$2 want=$3 errf=$4 ok=0
    if ! rw_rc_ok "$rc" "$want"; then
        printf 'FAIL %s: exit status %s, expected %s\n' "$name" "$rc" "$want" >&2
        [[ -f $errf ]] && tail -n 15 "$errf" | sed 's/^/    stderr: /' >&2
        ok=1
    fi
    if rw_sanitizer_report "$errf"; then
        printf 'FAIL %s: sanitizer report on stderr (%s)\n' "$name" "$errf" >&2
        ok=1
    fi
    return $ok
}

rw_run() { # WANT_RC STDOUT STDERR CMD...
    local want=$1 out=$2 errf=$3 rc=0
    shift 3
    "$@" >"$out" 2>"$errf" || rc=$?
    rw_check_end "$(basename "$1") ${2:-}" "$rc" "$want" "$errf"
}

# Readiness: wait for a line a process prints once it is ready, never sleep
# for it. Bounded; on failure prints why (and the end of FILE) and returns 1.
#
#   rw_wait_line FILE ERE PID SECONDS WHAT
#       until a line of FILE matches ERE (grep -E); 1 when PID (if not empty)
#       exits first or SECONDS pass. WHAT names the wait in the message.
#   rw_wait_ready FILE PID [SECONDS]
#       rdpwhy's ready line in its stderr FILE: the proxy's
#       "rdpwhy[notice]: ready: listening on ADDR[, ADDR]" or capture's
#       "rdpwhy capture: ready: capturing on IFACE". SECONDS defaults to
#       RW_READY_TIMEOUT or 30 (ASan start-up on a loaded 2-core machine).
#   RW_READY_RE
#       the ERE both ready lines match.
# shellcheck disable=SC2034 # used by the sourcing scripts
RW_READY_RE='(rdpwhy\[notice\]: ready: listening on |rdpwhy capture: ready: capturing on )'

rw_wait_line() { # FILE ERE PID SECONDS WHAT
    local f=$1 re=$2 pid=$3 secs=$4 what=$5 i n
    n=$((secs * 20))
    for ((i = 0; i < n; i++)); do
        grep -aqE -- "$re" "$f" 2>/dev/null && return 0
        if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
            grep -aqE -- "$re" "$f" 2>/dev/null && return 0
            printf 'FAIL: %s: the process (pid %s) exited before printing /%s/ in %s\n' \
                "$what" "$pid" "$re" "$f" >&2
            [[ -f $f ]] && tail -n 15 "$f" | sed 's/^/    /' >&2
            return 1
        fi
        sleep 0.05
    done
    printf 'FAIL: %s: no line /%s/ in %s after %s s\n' "$what" "$re" "$f" "$secs" >&2
    [[ -f $f ]] && tail -n 15 "$f" | sed 's/^/    /' >&2
    return 1
}

rw_wait_ready() { # FILE PID [SECONDS]
    rw_wait_line "$1" "$RW_READY_RE" "$2" "${3:-${RW_READY_TIMEOUT:-30}}" "rdpwhy ready line"
}

# Checks on one rdpwhy run at a time (cli_errors.sh, explain.sh):
#   rw_checks_begin      makes $tmp (a scratch directory removed at exit) and
#                        sets fail=0; the script ends with `exit $fail`.
#   rw_expect STATUS DESC -- CMD...
#                        runs CMD into $tmp/out and $tmp/err (rw_run) and prints
#                        "ok" or "FAIL" with DESC; a failure sets fail=1.
#   rw_has FILE PATTERN / rw_hasnt FILE PATTERN
#                        $tmp/FILE holds (does not hold) the grep PATTERN;
#                        otherwise FAIL, the file shown, fail=1.
rw_checks_begin() {
    tmp=$(mktemp -d)
    # shellcheck disable=SC2064 # $tmp is fixed now
    trap "rm -rf '$tmp'" EXIT
    fail=0
}
rw_expect() {
    local want=$1 desc=$2
    shift 3
    if rw_run "$want" "$tmp/out" "$tmp/err" "$@"; then
        echo "ok   $desc"
    else
        echo "FAIL $desc"
        fail=1
    fi
}
rw_has() {
    grep -q -- "$2" "$tmp/$1" && return 0
    echo "FAIL: '$2' not in $1"
    cat "$tmp/$1"
    fail=1
}
rw_hasnt() {
    ! grep -q -- "$2" "$tmp/$1" && return 0
    echo "FAIL: '$2' in $1"
    cat "$tmp/$1"
    fail=1
}
