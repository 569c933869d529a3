#!/usr/bin/env bash
# inspect_relay.sh RDPWHY — the inspecting proxy's plaintext relay, between
# Python ssl (OpenSSL) peers on 127.0.0.1 (tests/proxy/inspect_peers.py): an
# RDP host that answers the X.224 request with a Confirm selecting ssl, then
# TLS with its own certificate and key (made here with openssl), given to the
# proxy as --inspect-cert/--inspect-key; a client that checks it is shown that
# very certificate (DER equal). The host checks it sees the client's server
# name (rdp-host.inspect.test) and no TLS version above the client's highest
# (1.2 in "up", 1.3 otherwise), as it would directly.
#
#   down     24 MiB host → client while the client reads nothing for 2 s:
#            every byte arrives (SHA-256), and meanwhile the proxy's resident
#            memory grows by less than 16 MiB (back-pressure: max_buffer
#            256k; without it the 24 MiB would be in the proxy); the host's
#            close_notify reaches the client as a close_notify (no ragged
#            EOF).
#   up       the same client → host.
#   old      TLS 1.0 only on both sides (security level 0, as an old host and
#            client need directly): it works through the proxy too.
#   ragged   the host's FIN without close_notify reaches the client as a FIN
#            without close_notify (Python: SSLEOFError), as directly.
#   reset    the host's RST reaches the client as an RST (ECONNRESET).
#   down-w2, reset-w2  down and reset with workers = 2 (each worker has its
#            own inspection contexts).
#   idle     the phases' timeouts at 2 s; the client sends a byte every
#            0.5 s for 4 s, then nothing: every byte reaches the host, the
#            proxy closes the connection 1.9-4.5 s after the last byte (the
#            timeout restarts on each byte, and never fires early), and the
#            record says closed_by proxy, close_kind timeout, waited on the
#            server (the client spoke last; the host never answered).
#
# Each case: one record, rdp.selected_protocol ssl, closed_by server for
# ragged and reset (close_kind fin / rst), proxy for idle (timeout), and the proxy exits 0 on SIGTERM
# with no sanitizer report. Root only because the CI runs the proxy tests so
# (nothing here needs it); exits 77 otherwise. KEEP_WORK=1 keeps the scratch
# directory. ~30 s.
set -euo pipefail

TEST_NAME=inspect_relay
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$SCRIPT_DIR/common.sh"

init_test "the CI runs the proxy tests as root" "$@"
need_tools openssl:openssl python3:python3 timeout:coreutils

PYTHON3=$(python3 -c 'import sys; print(sys.executable)') || die "python3 does not run"
PEERS=$SCRIPT_DIR/inspect_peers.py
ADDR=127.0.0.1
WORK=$(mktemp -d /tmp/rdpwhy-inspect-relay.XXXXXX)
FAILED=1
T0=$SECONDS

on_exit_stop_all

openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=inspect-host" \
    -keyout "$WORK/host.key" -out "$WORK/host.crt" >/dev/null 2>&1 || die "openssl req failed"
chmod 600 "$WORK/host.key"

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# run_case CASE: host, proxy, client; checks.
run_case() {
    local c=$1 d=$WORK/$1 hp pp rss0 rss1 peak
    mkdir -p "$d"
    read -r hp pp <<<"$(free_ports 2)"
    "$PYTHON3" "$PEERS" host "$hp" "$WORK/host.crt" "$WORK/host.key" "${c%-w2}" >"$d/host.out" 2>&1 &
    local host_pid=$!
    PIDS+=("$host_pid")
    rw_wait_line "$d/host.out" '^listening' "$host_pid" 10 "the host ($c)" || die "$c: the host did not start"
    local extra=()
    [[ $c == idle ]] && extra=(--set x224_timeout=2s --set tls_timeout=2s --set nla_timeout=2s
        --set rdp_timeout=2s --set prompt_timeout=2s)
    [[ $c == *-w2 ]] && extra=(--workers 2)
    # An ASan build keeps freed memory in quarantine (256 MiB): kept small
    # here, so that resident memory says what the proxy holds.
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1:thread_local_quarantine_size_kb=64" \
        "$BIN" proxy --listen "$ADDR:$pp" --upstream "$ADDR:$hp" --format json --output "$d/records.json" \
        --inspect-cert "$WORK/host.crt" --inspect-key "$WORK/host.key" -v -v "${extra[@]}" \
        >"$d/proxy.stdout" 2>"$d/proxy.stderr" &
    local proxy_pid=$!
    PIDS+=("$proxy_pid")
    rw_wait_ready "$d/proxy.stderr" "$proxy_pid" || die "$c: the proxy did not get ready"
    rss0=$(rss_kb "$proxy_pid")
    timeout 60 "$PYTHON3" "$PEERS" client "$pp" "${c%-w2}" "$WORK/host.crt" >"$d/client.out" 2>&1 &
    local client_pid=$!
    PIDS+=("$client_pid")
    peak=$rss0
    while kill -0 "$client_pid" 2>/dev/null; do
        rss1=$(rss_kb "$proxy_pid")
        ((rss1 > peak)) && peak=$rss1
        sleep 0.1
    done
    local crc=0 hrc=0
    wait "$client_pid" || crc=$?
    forget_pid "$client_pid"
    for ((i = 0; i < 50; i++)); do kill -0 "$host_pid" 2>/dev/null || break; sleep 0.1; done
    wait "$host_pid" || hrc=$?
    forget_pid "$host_pid"
    wait_lines "$d/records.json" 1 10 || bad "$c: no record"
    stop_proxy "$proxy_pid" 20 "$d/proxy.stderr"
    [[ $STOP_RC == 0 ]] || bad "$c: the proxy ended with $STOP_RC"
    ((crc == 0)) && ok "$c: client $(grep '^result' "$d/client.out")" || bad "$c: client (exit $crc): $(tail -3 "$d/client.out")"
    ((hrc == 0)) && ok "$c: host $(grep '^result' "$d/host.out")" || bad "$c: host (exit $hrc): $(tail -3 "$d/host.out")"
    if [[ $c == down* || $c == up ]]; then
        local grew=$(((peak - rss0) / 1024))
        ((grew < 16)) && ok "$c: the proxy's memory grew by $grew MiB (peak $((peak / 1024)) MiB)" ||
            bad "$c: the proxy's memory grew by $grew MiB (from $((rss0 / 1024)) to $((peak / 1024)) MiB): no back-pressure?"
    fi
    "$PYTHON3" - "$d/records.json" "${c%-w2}" <<'PY' || bad "$c: the record"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
case = sys.argv[2]
fails = []
if len(recs) != 1:
    sys.exit("%d records" % len(recs))
r = recs[0]
w = r.get("rdpwhy", {})
if r.get("rdp", {}).get("selected_protocol") != "ssl":
    fails.append("rdp.selected_protocol %r" % r.get("rdp", {}).get("selected_protocol"))
want = {"ragged": ("server", "fin"), "reset": ("server", "rst"), "idle": ("proxy", "timeout")}.get(case)
if want and (w.get("closed_by"), w.get("close_kind")) != want:
    fails.append("closed_by/close_kind %r/%r, want %r/%r" % (w.get("closed_by"), w.get("close_kind"), *want))
# The client spoke last and the host never answered: the side expected to
# speak next, the one waited on, is the server.
if case == "idle" and w.get("proxy", {}).get("waited_on") != "server":
    fails.append("rdpwhy.proxy.waited_on %r, want 'server'" % w.get("proxy", {}).get("waited_on"))
for f in fails:
    print("[inspect_relay]   %s: %s" % (case, f), file=sys.stderr)
sys.exit(1 if fails else 0)
PY
}

for c in down up old ragged reset idle down-w2 reset-w2; do
    run_case "$c"
done

if ((ERRORS)); then
    for c in down up old ragged reset idle down-w2 reset-w2; do show_file "$c: proxy stderr" "$WORK/$c/proxy.stderr" 20; done
    die "$ERRORS check(s) failed (KEEP_WORK=1 keeps $WORK)"
fi
FAILED=0
log "ok: inspected relay: bulk both ways under back-pressure, close_notify, ragged FIN, RST ($((SECONDS - T0)) s)"
