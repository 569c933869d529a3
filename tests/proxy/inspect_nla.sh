#!/usr/bin/env bash
# inspect_nla.sh RDPWHY — inspection with the host's own key (issue #15), for
# real: FreeRDP's client (xfreerdp +auth-only /sec:nla) → `rdpwhy proxy`
# → FreeRDP's shadow server with NLA only (/sec:nla, an NTLM SAM file made by
# winpr-hash; freerdp2-shadow-x11 on an Xvfb), all on 127.0.0.1. The shadow
# server makes its certificate and key at its first start under
# $HOME/.config/freerdp/shadow/ (shadow.crt, shadow.key): the host's own.
#
#   direct       right and wrong password straight to the host: the
#                reference exit statuses (the right one must be 0, the wrong
#                one not).
#   inspect      the proxy with --inspect-cert/--inspect-key (the host's) and
#                --keylog, --pcap-dir: the right password gives xfreerdp's
#                direct exit status and a record with rdpwhy.inspected true
#                and no failure cause; the wrong one the direct (failing)
#                status and rdpwhy.cause nla_logon_failure, inspected true
#                (FreeRDP 2's server sends no TSRequest errorCode: it closes
#                after the client's NTLM AUTHENTICATE_MESSAGE). The key log
#                (mode 0600) holds secrets of 4 distinct TLS sessions (two
#                legs × two connections: CLIENT_RANDOM or TLS 1.3 labels),
#                and tshark with it decrypts the pcap rdpwhy wrote: the
#                client's leg's application data reads as CredSSP (a DER
#                SEQUENCE, TSRequest, 0x30) — tshark without it does not.
#   blind        the same two connections without the key: relayed as before
#                (same exit statuses), records without rdpwhy.inspected.
#   other_host   a consistent certificate and key that are not the host's:
#                the proxy starts; the first connection finds the host's key
#                is another ("INSPECTION OFF" logged) and goes on blind over a
#                second connection to the host (its X.224 request rebuilt, the
#                client's ClientHello passed on): it connects as directly
#                (exit 0, the blind run's cause, not inspected); the next one
#                is relayed blind from the start.
#   refusals     the proxy refuses to start (exit 2, nothing listening) and
#                --check-config fails the same way when: the key is not the
#                certificate's ("inspect_key does not match inspect_cert"),
#                the key file is group-readable (its path and mode 0640 are
#                said), only one of the two is set, a file does not load,
#                the key log is world-readable.
#
# The passwords appear in no record, log line or key log (grep). The proxy
# must exit 0 on SIGTERM with no sanitizer report on stderr.
#
# Needs root (the CI runs it so); exits 77 otherwise. A missing tool fails the
# test naming its package. KEEP_WORK=1 keeps the scratch directory. ~40 s.
set -euo pipefail

TEST_NAME=inspect_nla
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$SCRIPT_DIR/common.sh"
# shellcheck source=../lib/rdp_peers.sh
. "$SCRIPT_DIR/../lib/rdp_peers.sh"

init_test "the CI runs the proxy tests as root" "$@"
need_tools freerdp-shadow-cli:freerdp2-shadow-x11 xfreerdp:freerdp2-x11 winpr-hash:winpr-utils \
    Xvfb:xvfb openssl:openssl tshark:tshark python3:python3 timeout:coreutils

PYTHON3=$(python3 -c 'import sys; print(sys.executable)') || die "python3 does not run"
python3() { "$PYTHON3" "$@"; }

ADDR=127.0.0.1
USER_NAME=rdpwhy
GOOD_PW=Inspect-Good-pw-4711
BAD_PW=Inspect-Wrong-pw-0815
WORK=$(mktemp -d /tmp/rdpwhy-inspect.XXXXXX)
FAILED=1
T0=$SECONDS

on_exit_stop_all

# ------------------------------------------------------------- the host
winpr-hash -u "$USER_NAME" -p "$GOOD_PW" -f sam >"$WORK/sam" || die "winpr-hash failed"

rp_xvfb_start 160 199 "$WORK/xvfb.log" || die "Xvfb did not start: $(cat "$WORK/xvfb.log")"
PIDS+=("$RP_XVFB_PID")
# One X client stays connected for the whole test (tests/lib/x_hold.py says why).
"$PYTHON3" "$SCRIPT_DIR/../lib/x_hold.py" "$RP_DISPLAY" --hold >"$WORK/xhold.out" 2>&1 &
PIDS+=("$!")
rw_wait_line "$WORK/xhold.out" '^connected' "$!" 10 "an X client of Xvfb :$RP_DISPLAY" ||
    die "Xvfb :$RP_DISPLAY does not accept X clients"

read -r HOST_PORT PROXY_PORT <<<"$(free_ports 2)"
mkdir -p "$WORK/home"
env HOME="$WORK/home" DISPLAY=":$RP_DISPLAY" freerdp-shadow-cli "/bind-address:$ADDR" \
    "/port:$HOST_PORT" /sec:nla "/sam-file:$WORK/sam" >"$WORK/shadow.log" 2>&1 &
SHADOW_PID=$!
PIDS+=("$SHADOW_PID")
wait_listening "$HOST_PORT" "$SHADOW_PID" || die "the shadow server did not start: $(tail -5 "$WORK/shadow.log")"
HOST_CRT=$WORK/home/.config/freerdp/shadow/shadow.crt
HOST_KEY_SRC=$WORK/home/.config/freerdp/shadow/shadow.key
[[ -s $HOST_CRT && -s $HOST_KEY_SRC ]] || die "the shadow server wrote no certificate and key under $WORK/home/.config/freerdp/shadow"
mkdir -p "$WORK/keys"
chmod 700 "$WORK/keys"
HOST_KEY=$WORK/keys/host.key
install -m 600 "$HOST_KEY_SRC" "$HOST_KEY"
# Another consistent pair, not the host's.
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=not-the-host" \
    -keyout "$WORK/keys/other.key" -out "$WORK/keys/other.crt" >/dev/null 2>&1 || die "openssl req failed"
chmod 600 "$WORK/keys/other.key"

# ------------------------------------------------------------- helpers
# client DIR PORT PASSWORD: xfreerdp, empty private HOME; status in DIR/rc.
client() {
    local dir=$1 port=$2 pw=$3 rc=0
    mkdir -p "$dir/home"
    HOME=$dir/home XDG_CONFIG_HOME=$dir/home/.config DISPLAY=":$RP_DISPLAY" \
        timeout -k 2 30 xfreerdp "/v:$ADDR:$port" "/u:$USER_NAME" "/p:$pw" /cert:ignore \
        +auth-only /sec:nla </dev/null >"$dir/xfreerdp.log" 2>&1 || rc=$?
    echo "$rc" >"$dir/rc"
}

PROXY_PID=
# start_proxy DIR ARGS...: JSON records in DIR/records.json, pcaps in DIR/pcap.
start_proxy() {
    local d=$1
    shift
    mkdir -p "$d/pcap"
    port_listening "$PROXY_PORT" && die "port $PROXY_PORT taken before the proxy starts"
    "$BIN" proxy --listen "$ADDR:$PROXY_PORT" --upstream "$ADDR:$HOST_PORT" --format json \
        --output "$d/records.json" --pcap-dir "$d/pcap" -v -v "$@" \
        >"$d/proxy.stdout" 2>"$d/proxy.stderr" &
    PROXY_PID=$!
    PIDS+=("$PROXY_PID")
    rw_wait_ready "$d/proxy.stderr" "$PROXY_PID" || die "rdpwhy proxy did not get ready ($d)"
}
end_proxy() { # end_proxy DIR
    stop_proxy "$PROXY_PID" 20 "$1/proxy.stderr"
    [[ $STOP_RC == 0 ]] || bad "$(basename "$1"): the proxy ended with $STOP_RC"
    PROXY_PID=
}
# field DIR N KEY: the dotted KEY (rdpwhy.cause) of the N-th record (from 1)
# of DIR/records.json ("" = absent)
field() {
    python3 - "$1/records.json" "$2" "$3" <<'PY'
import json, sys
try:
    recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
except OSError:
    recs = []
n, key = int(sys.argv[2]), sys.argv[3]
if len(recs) < n:
    print("<no record %d>" % n)
    sys.exit(0)
v = recs[n - 1]
for k in key.split("."):
    v = v.get(k) if isinstance(v, dict) else None
print("" if v is None else (json.dumps(v) if not isinstance(v, str) else v))
PY
}
expect_eq() { # WHAT GOT WANT
    if [[ $2 == "$3" ]]; then ok "$1: $2"; else bad "$1: got '$2', want '$3'"; fi
}
not_inspected() { # WHAT GOT: rdpwhy.inspected absent or false
    case $2 in "" | false) ok "$1: not inspected" ;; *) bad "$1: rdpwhy.inspected '$2'" ;; esac
}

# ------------------------------------------------------------- direct
for c in good bad; do
    pw=$GOOD_PW
    [[ $c == good ]] || pw=$BAD_PW
    client "$WORK/direct-$c" "$HOST_PORT" "$pw"
done
RC_GOOD=$(cat "$WORK/direct-good/rc")
RC_BAD=$(cat "$WORK/direct-bad/rc")
[[ $RC_GOOD == 0 ]] || die "direct, right password: xfreerdp exit $RC_GOOD: $(tail -3 "$WORK/direct-good/xfreerdp.log")"
[[ $RC_BAD != 0 ]] || die "direct, wrong password: xfreerdp exit 0"
log "direct: right password exit $RC_GOOD, wrong password exit $RC_BAD"

# ------------------------------------------------------------- inspect
D=$WORK/inspect
mkdir -p "$D"
start_proxy "$D" --inspect-cert "$HOST_CRT" --inspect-key "$HOST_KEY" --keylog "$D/keylog"
client "$D/good" "$PROXY_PORT" "$GOOD_PW"
wait_lines "$D/records.json" 1 15 || bad "inspect: no record for the right password"
client "$D/bad" "$PROXY_PORT" "$BAD_PW"
wait_lines "$D/records.json" 2 15 || bad "inspect: no record for the wrong password"
end_proxy "$D"
expect_eq "inspect, right password: xfreerdp exit status (direct: $RC_GOOD)" "$(cat "$D/good/rc")" "$RC_GOOD"
expect_eq "inspect, wrong password: xfreerdp exit status (direct: $RC_BAD)" "$(cat "$D/bad/rc")" "$RC_BAD"
expect_eq "inspect, right password: rdpwhy.inspected" "$(field "$D" 1 rdpwhy.inspected)" true
expect_eq "inspect, wrong password: rdpwhy.inspected" "$(field "$D" 2 rdpwhy.inspected)" true
expect_eq "inspect, wrong password: rdpwhy.cause" "$(field "$D" 2 rdpwhy.cause)" nla_logon_failure
cause1=$(field "$D" 1 rdpwhy.cause)
case $cause1 in
normal_close | "") ok "inspect, right password: rdpwhy.cause '$cause1'" ;;
*) bad "inspect, right password: rdpwhy.cause '$cause1' (a failure)" ;;
esac
expect_eq "inspect, right password: rdp.selected_protocol" "$(field "$D" 1 rdp.selected_protocol)" hybrid

# The key log: mode 0600, secrets of 4 TLS sessions (2 legs x 2 connections).
[[ -s $D/keylog ]] || bad "inspect: the key log is empty"
expect_eq "key log mode" "$(stat -c %a "$D/keylog")" 600
n_sessions=$(awk '$1 == "CLIENT_RANDOM" || $1 == "CLIENT_HANDSHAKE_TRAFFIC_SECRET" { print $2 }' "$D/keylog" | sort -u | wc -l)
expect_eq "key log: distinct TLS sessions (client randoms)" "$n_sessions" 4
bad_lines=$(grep -cvE '^(CLIENT_RANDOM|CLIENT_HANDSHAKE_TRAFFIC_SECRET|SERVER_HANDSHAKE_TRAFFIC_SECRET|CLIENT_TRAFFIC_SECRET_0|SERVER_TRAFFIC_SECRET_0|EXPORTER_SECRET|EARLY_EXPORTER_SECRET|CLIENT_EARLY_TRAFFIC_SECRET) [0-9a-f]{64} [0-9a-f]+$' "$D/keylog" || true)
expect_eq "key log: lines not in NSS key log format" "$bad_lines" 0

# tshark decrypts each pcap rdpwhy wrote with the key log: records whose
# plaintext is a TSRequest (DER: 30 LEN a0 03 02 01 VERSION) carrying an NTLM
# message (NTLMSSP); without the key log, nothing is decrypted.
mapfile -t pcaps < <(ls "$D"/pcap/*.pcap 2>/dev/null | sort)
expect_eq "inspect: pcap files" "${#pcaps[@]}" 2
# tsreq PCAP [KEYLOG]: decrypted records that begin as a TSRequest, and those
# that hold "NTLMSSP" (tshark -x: a "Decrypted TLS" block per record).
tsreq() {
    tshark -n -r "$1" ${2:+-o "tls.keylog_file:$2"} -d "tcp.port==$HOST_PORT,tls" -Y tls.app_data -x 2>/dev/null |
        awk '/^Decrypted TLS/ { inblk = 1; first = 1; next }
             /^Frame|^Reassembled/ { inblk = 0 }
             inblk && first { first = 0; if ($2 == "30" && ($4 == "a0" || $5 == "a0" || $6 == "a0")) ts++ }
             inblk && /NTLMSSP/ { ntlm++ }
             END { printf "%d %d\n", ts, ntlm }'
}
for p in "${pcaps[@]}"; do
    read -r ts ntlm <<<"$(tsreq "$p" "$D/keylog")"
    read -r ts0 ntlm0 <<<"$(tsreq "$p")"
    if ((ts >= 2 && ntlm >= 2 && ts0 == 0 && ntlm0 == 0)); then
        ok "$(basename "$p"): with the key log tshark reads $ts TSRequests ($ntlm with NTLMSSP), none without"
    else
        bad "$(basename "$p"): with the key log $ts TSRequests ($ntlm NTLMSSP), without it $ts0 ($ntlm0)"
    fi
done

# ------------------------------------------------------------- blind
D=$WORK/blind
mkdir -p "$D"
start_proxy "$D"
client "$D/good" "$PROXY_PORT" "$GOOD_PW"
wait_lines "$D/records.json" 1 15 || bad "blind: no record for the right password"
client "$D/bad" "$PROXY_PORT" "$BAD_PW"
wait_lines "$D/records.json" 2 15 || bad "blind: no record for the wrong password"
end_proxy "$D"
expect_eq "blind, right password: xfreerdp exit status" "$(cat "$D/good/rc")" "$RC_GOOD"
expect_eq "blind, wrong password: xfreerdp exit status" "$(cat "$D/bad/rc")" "$RC_BAD"
not_inspected "blind, right password: rdpwhy.inspected" "$(field "$D" 1 rdpwhy.inspected)"
not_inspected "blind, wrong password: rdpwhy.inspected" "$(field "$D" 2 rdpwhy.inspected)"

# ------------------------------------------------------------- other_host
D=$WORK/other_host
mkdir -p "$D"
start_proxy "$D" --inspect-cert "$WORK/keys/other.crt" --inspect-key "$WORK/keys/other.key"
client "$D/first" "$PROXY_PORT" "$GOOD_PW"
wait_lines "$D/records.json" 1 15 || bad "other_host: no record for the first connection"
client "$D/second" "$PROXY_PORT" "$GOOD_PW"
wait_lines "$D/records.json" 2 15 || bad "other_host: no record for the second connection"
end_proxy "$D"
grep -q "INSPECTION OFF for $ADDR:$HOST_PORT" "$D/proxy.stderr" && ok "other_host: the key mismatch is logged" ||
    bad "other_host: no 'INSPECTION OFF' line in the log"
grep -q "conn 1: relayed blind over a second connection to $ADDR:$HOST_PORT" "$D/proxy.stderr" &&
    ok "other_host: the first connection went on blind over a second connection to the host" ||
    bad "other_host: the first connection was not relayed blind over a second connection"
expect_eq "other_host: the first connection: xfreerdp exit status" "$(cat "$D/first/rc")" "$RC_GOOD"
not_inspected "other_host: the first connection: rdpwhy.inspected" "$(field "$D" 1 rdpwhy.inspected)"
expect_eq "other_host: the first connection: rdpwhy.cause" "$(field "$D" 1 rdpwhy.cause)" "$(field "$WORK/blind" 1 rdpwhy.cause)"
grep -q "conn 2: TLS selected: inspecting" "$D/proxy.stderr" &&
    bad "other_host: the second connection was inspected again" || ok "other_host: the second connection was not inspected"
expect_eq "other_host: the second connection, relayed blind: xfreerdp exit status" "$(cat "$D/second/rc")" "$RC_GOOD"
not_inspected "other_host: the second connection: rdpwhy.inspected" "$(field "$D" 2 rdpwhy.inspected)"

# ------------------------------------------------------------- refusals
# refuse NAME PATTERN ARGS...: start and --check-config both exit 2 saying PATTERN.
refuse() {
    local name=$1 pat=$2 rc mode
    shift 2
    for mode in start check; do
        rc=0
        if [[ $mode == start ]]; then
            timeout 20 "$BIN" proxy --listen "$ADDR:$PROXY_PORT" --upstream "$ADDR:$HOST_PORT" "$@" \
                >"$WORK/refuse.out" 2>"$WORK/refuse.err" || rc=$?
        else
            timeout 20 "$BIN" proxy --check-config --listen "$ADDR:$PROXY_PORT" \
                --upstream "$ADDR:$HOST_PORT" "$@" >"$WORK/refuse.out" 2>"$WORK/refuse.err" || rc=$?
        fi
        if [[ $rc == 2 ]] && grep -qF -- "$pat" "$WORK/refuse.err"; then
            ok "refused ($name, $mode): $(head -1 "$WORK/refuse.err")"
        else
            bad "$name ($mode): exit $rc, stderr: $(head -3 "$WORK/refuse.err")"
        fi
        rw_sanitizer_report "$WORK/refuse.err" && bad "$name ($mode): sanitizer report"
        port_listening "$PROXY_PORT" && bad "$name ($mode): something listens on $PROXY_PORT"
    done
    return 0
}
refuse key_mismatch "inspect_key does not match inspect_cert" \
    --inspect-cert "$HOST_CRT" --inspect-key "$WORK/keys/other.key"
cp "$HOST_KEY" "$WORK/keys/group.key"
chmod 640 "$WORK/keys/group.key"
refuse group_readable "'$WORK/keys/group.key' has mode 0640" \
    --inspect-cert "$HOST_CRT" --inspect-key "$WORK/keys/group.key"
refuse cert_only "inspect_cert is set but inspect_key is not" --inspect-cert "$HOST_CRT"
refuse not_pem "inspect_cert: '$WORK/sam': not a PEM certificate" \
    --inspect-cert "$WORK/sam" --inspect-key "$HOST_KEY"
touch "$WORK/keys/open.keylog"
chmod 644 "$WORK/keys/open.keylog"
refuse keylog_readable "keylog: '$WORK/keys/open.keylog' has mode 0644" \
    --inspect-cert "$HOST_CRT" --inspect-key "$HOST_KEY" --keylog "$WORK/keys/open.keylog"

# ------------------------------------------------------------- secrets
# No password in any record, log or key log, in UTF-8 or UTF-16LE (hex).
for pw in "$GOOD_PW" "$BAD_PW"; do
    u16=$(printf '%s' "$pw" | iconv -t UTF-16LE | od -An -tx1 | tr -d ' \n')
    hits=$(grep -rlaF -e "$pw" -e "$u16" "$WORK"/inspect "$WORK"/blind "$WORK"/other_host \
        --include=records.json --include=proxy.stderr --include=proxy.stdout --include=keylog || true)
    [[ -z $hits ]] && ok "password ${pw:0:9}... in no record, log or key log" || bad "password found in: $hits"
done

kill -0 "$SHADOW_PID" 2>/dev/null || bad "the shadow server exited during the test"
if ((ERRORS)); then
    show_file "inspect: proxy stderr" "$WORK/inspect/proxy.stderr" 60
    show_file "inspect: records" "$WORK/inspect/records.json" 4
    die "$ERRORS check(s) failed (KEEP_WORK=1 keeps $WORK)"
fi
FAILED=0
log "ok: inspection with the host's key, NLA right and wrong, blind without the key, refusals ($((SECONDS - T0)) s)"
