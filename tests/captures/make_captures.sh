#!/usr/bin/env bash
# make_captures.sh — record real RDP connection failures on loopback.
#
# Runs xrdp (server) and xfreerdp (client, under Xvfb) on 127.0.0.1 while
# tcpdump records, one scenario at a time, and writes the captures plus an
# index (tests/data/index.tsv) whose labels are checked against each fresh
# capture (side and kind of the first FIN/RST).
#
# Usage (as root, Debian 12):  tests/captures/make_captures.sh [OUT_DIR]
#   OUT_DIR defaults to tests/data next to this script's tests/ directory.
# Environment:
#   PORT=3389        TCP port on 127.0.0.1 used by every scenario (one at a
#                    time).  3389 lets Wireshark/tshark dissect RDP without
#                    "Decode As"; change it only if 3389 is taken.
#   SKIP_APT=1       do not run apt-get (packages already installed).
#   KEEP_WORK=1      keep the scratch directory (xrdp/xfreerdp logs, configs).
#
# Nothing leaves 127.0.0.0/8: xrdp listens on 127.0.0.1 only, the client
# connects to 127.0.0.1, the only other socket (xrdp's session module) points
# at a closed port on 127.0.0.1.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)
OUT_DIR=${1:-$REPO_DIR/tests/data}
PORT=${PORT:-3389}
ADDR=127.0.0.1
# Port the xrdp session module (libvnc) is pointed at; nothing must listen
# there, so that an auto-logon fails fast without xrdp-sesman.
DEAD_PORT=${DEAD_PORT:-5959}
CLIENT_USER=rdpwhy
CLIENT_PASS=rdpwhy-test-pw

# certificates, xrdp.ini, Xvfb: rp_cert, rp_xrdp_ini, rp_xvfb_start
# shellcheck source=../lib/rdp_peers.sh
. "$SCRIPT_DIR/../lib/rdp_peers.sh"

log() { printf '[make_captures] %s\n' "$*" >&2; }
die() { printf '[make_captures] ERROR: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (tcpdump on lo, xrdp)"

# ---------------------------------------------------------------- packages
PKGS=(xrdp freerdp2-x11 xvfb xauth tcpdump openssl python3)
if [[ -z ${SKIP_APT:-} ]]; then
    export DEBIAN_FRONTEND=noninteractive
    missing=()
    for p in "${PKGS[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if ((${#missing[@]})); then
        log "installing: ${missing[*]}"
        apt-get update
    fi
    apt-get install -y --no-install-recommends "${PKGS[@]}" >&2
fi
for b in xrdp xfreerdp Xvfb tcpdump openssl python3 timeout; do
    command -v "$b" >/dev/null || die "missing program: $b"
done

# ---------------------------------------------------------------- cleanup
WORK=$(mktemp -d /tmp/rdpwhy-captures.XXXXXX)
chmod 755 "$WORK"
PIDS=()

stop_pid() { # stop_pid PID : TERM, then KILL after 3 s; reap it
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$? pid
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
    PIDS=()
    if [[ -n ${KEEP_WORK:-} ]]; then
        log "scratch directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

forget_pid() { # remove a stopped pid from PIDS
    local p keep=()
    for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

port_hex() { printf '%04X' "$1"; }
is_listening() { # is anything listening on 127.0.0.1:$1 or *:$1 (IPv4/IPv6)?
    local h
    h=$(port_hex "$1")
    awk -v h="$h" 'NR > 1 && $4 == "0A" { split($2, a, ":"); if (a[2] == h) f = 1 } END { exit !f }' \
        /proc/net/tcp /proc/net/tcp6
}
wait_listening() { # wait_listening PORT PID
    local i
    for ((i = 0; i < 100; i++)); do
        is_listening "$1" && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

is_listening "$PORT" && die "something already listens on port $PORT (a system xrdp?); stop it or run with PORT=<free port>"
is_listening "$DEAD_PORT" && die "port $DEAD_PORT must be closed (used as a dead session target); set DEAD_PORT"

# ---------------------------------------------------------------- X server
xvfb_ok=0
rp_xvfb_start 99 130 "$WORK/xvfb.log" || xvfb_ok=1
[[ -z $RP_XVFB_PID ]] || PIDS+=("$RP_XVFB_PID")
((xvfb_ok == 0)) || die "Xvfb failed: $(cat "$WORK/xvfb.log")"
export DISPLAY=:$RP_DISPLAY

# ---------------------------------------------------------------- keys, certs
rp_xrdp_keys || die "xrdp-keygen failed"

CERTDIR=$WORK/certs
mkdir -p "$CERTDIR"
# Self-signed, name matches the address the client uses: the only thing a
# verifying client can object to is that nobody vouches for it.
rp_cert "$CERTDIR" host "$ADDR" "IP:$ADDR" || die "cannot make the host certificate"
# Expired: notBefore 2020-01-01, notAfter 2021-01-01.
rp_cert "$CERTDIR" expired "$ADDR" "IP:$ADDR" --expired || die "cannot make the expired certificate"

# ---------------------------------------------------------------- xrdp
# write_xrdp_ini NAME SECURITY_LAYER SSL_PROTOCOLS CERT KEY CRYPT_LEVEL TLS_CIPHERS
write_xrdp_ini() {
    local name=$1 sec=$2 protos=$3 cert=$4 key=$5 crypt=$6 ciphers=$7
    # Keep [Globals], [Logging], [LoggingPerLogger], [Channels] of the stock
    # file with our values; drop the stock session sections and add a single
    # one that points at a closed loopback port, so an auto-logon fails fast
    # and xrdp needs no xrdp-sesman.
    rp_xrdp_ini "$WORK/$name/xrdp.ini" "listen=$ADDR:$PORT" "security_layer=$sec" "crypt_level=$crypt" \
        "certificate=$cert" "key_file=$key" "ssl_protocols=$protos" "tls_ciphers=$ciphers" \
        "log=$WORK/$name/xrdp.log" "dead_ip=$ADDR" "dead_port=$DEAD_PORT" || die "cannot write $WORK/$name/xrdp.ini"
}

XRDP_PID=
start_xrdp() { # start_xrdp NAME SEC PROTOS CERT KEY CRYPT CIPHERS
    write_xrdp_ini "$@"
    xrdp --nodaemon --config "$WORK/$1/xrdp.ini" >"$WORK/$1/xrdp.out" 2>&1 &
    XRDP_PID=$!
    PIDS+=("$XRDP_PID")
    wait_listening "$PORT" "$XRDP_PID" || die "xrdp did not start: $(tail -5 "$WORK/$1/xrdp.out" "$WORK/$1/xrdp.log" 2>/dev/null)"
}
stop_xrdp() {
    [[ -n $XRDP_PID ]] || return 0
    stop_pid "$XRDP_PID"
    forget_pid "$XRDP_PID"
    XRDP_PID=
}

LISTENER_PID=
start_silent_listener() { # accepts connections, never reads nor writes
    python3 - "$ADDR" "$PORT" >"$WORK/$1/listener.log" 2>&1 <<'EOF' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(4)
held = []
while True:
    c, _ = s.accept()
    held.append(c)          # keep it open, say nothing
EOF
    LISTENER_PID=$!
    PIDS+=("$LISTENER_PID")
    wait_listening "$PORT" "$LISTENER_PID" || die "listener did not start"
}
stop_listener() {
    [[ -n $LISTENER_PID ]] || return 0
    stop_pid "$LISTENER_PID"
    forget_pid "$LISTENER_PID"
    LISTENER_PID=
}

# ---------------------------------------------------------------- capture
TCPDUMP_PID=
start_capture() { # start_capture NAME
    local i
    tcpdump -i lo -n -s 0 -U --immediate-mode -Z root -w "$WORK/$1/capture.pcap" \
        "tcp port $PORT and host $ADDR" >"$WORK/$1/tcpdump.log" 2>&1 &
    TCPDUMP_PID=$!
    PIDS+=("$TCPDUMP_PID")
    for ((i = 0; i < 100; i++)); do
        grep -q 'listening on' "$WORK/$1/tcpdump.log" 2>/dev/null && return 0
        kill -0 "$TCPDUMP_PID" 2>/dev/null || break
        sleep 0.05
    done
    die "tcpdump did not start: $(cat "$WORK/$1/tcpdump.log")"
}
stop_capture() {
    sleep 0.3
    kill -INT "$TCPDUMP_PID" 2>/dev/null || true
    stop_pid "$TCPDUMP_PID"
    forget_pid "$TCPDUMP_PID"
    TCPDUMP_PID=
}

# run_client NAME SECONDS ARGS... : xfreerdp with its own empty config dir
# (nothing trusted, nothing remembered), stdin closed so it can never prompt.
run_client() {
    local name=$1 secs=$2 rc=0
    shift 2
    mkdir -p "$WORK/$name/home"
    HOME=$WORK/$name/home XDG_CONFIG_HOME=$WORK/$name/home/.config \
        timeout -k 2 "$secs" xfreerdp "/v:$ADDR:$PORT" "$@" </dev/null \
        >"$WORK/$name/xfreerdp.log" 2>&1 || rc=$?
    echo "$rc" >"$WORK/$name/xfreerdp.rc"
}

# first_close FILE -> "client fin" | "server rst" | "server refused" | "none none"
first_close() {
    local f=$1 line src flags synack
    synack=$(tcpdump -nn -r "$f" 'tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack != 0' 2>/dev/null | wc -l)
    line=$(tcpdump -nn -r "$f" 'tcp[tcpflags] & (tcp-fin|tcp-rst) != 0' 2>/dev/null | head -1)
    [[ -n $line ]] || { echo "none none"; return; }
    src=$(awk '{ print $3 }' <<<"$line")
    flags=$(sed -E 's/.*Flags \[([^]]*)\].*/\1/' <<<"$line")
    local side=client kind=fin
    [[ ${src##*.} == "$PORT" ]] && side=server
    [[ $flags == *R* ]] && kind=rst
    [[ $kind == rst && $side == server && $synack -eq 0 ]] && kind=refused
    echo "$side $kind"
}

# ---------------------------------------------------------------- scenarios
# Each scenario: NAME|cause|closed_by|close_kind|phase|description
# The description is what these exact commands put on the wire (checked with
# tshark when the captures were made; see tests/data/README.md).
declare -A LABEL
INDEX_ORDER=()
label() {
    INDEX_ORDER+=("$1")
    LABEL[$1]="$2"
}

label tls_ok.pcap "normal_close	client	fin	established	xrdp security_layer=tls (TLSv1.2+1.3), xfreerdp /sec:tls /cert:ignore +auth-only /u /p: CR requestedProtocols=SSL, CC selects SSL; TLS 1.3 handshake (TLS_AES_256_GCM_SHA384); the encrypted RDP connection sequence runs to the active state (+auth-only returns once the connection is active; xrdp meanwhile starts the auto-logon, whose session module fails on a dead port); after ~1.1 s the client sends one 24-byte encrypted record (alert-sized: close_notify) and its FIN first; xrdp still writes one 437-byte encrypted record (log-window drawing) after that FIN and the client, whose socket is closed, answers RST. The server never sends a FIN."
label rdp_std_security.pcap "normal_close	client	fin	established	xrdp security_layer=rdp crypt_level=none, xfreerdp /sec:rdp +auth-only: CR carries only the mstshash cookie (no RDP_NEG_REQ), CC carries no RDP_NEG_RSP (legacy PROTOCOL_RDP); MCS Connect Initial/Response (server encryption method NONE), erect domain, attach user, channel joins, ClientInfo, licensing (Error Alert), Demand Active/Confirm Active, Synchronize/Control/FontList/FontMap, fast-path updates, all in cleartext; then the client sends FIN and, with unread data pending, an RST right after it. No server FIN."
label sec_refused_tls_required.pcap "security_negotiation_failure	client	fin	x224	xrdp security_layer=rdp, xfreerdp /sec:tls: CR requestedProtocols=SSL only; xrdp answers a CC with RDP_NEG_RSP selectedProtocol=PROTOCOL_RDP (0), a protocol the client did not request (no RDP_NEG_FAILURE); xfreerdp logs 'Protocol Security Negotiation Failure' and sends FIN 0.1 ms later; xrdp answers with its own FIN (clean four-way close, no RST)."
label sec_refused_nla_required.pcap "security_negotiation_failure	client	fin	x224	xrdp security_layer=negotiate (xrdp has no CredSSP), xfreerdp /sec:nla: CR requestedProtocols=SSL|HYBRID; xrdp's CC selects SSL (requested, but not what the client insists on); xfreerdp logs 'Protocol Security Negotiation Failure' and sends FIN before any ClientHello; xrdp, already in SSL_accept, reads EOF and writes a 7-byte cleartext TLS fatal alert 50 decode_error; the client answers RST."
label cert_rejected.pcap "certificate_rejected_by_client	client	fin	tls_handshake	xrdp security_layer=tls with a self-signed certificate (CN/SAN 127.0.0.1), TLSv1.2+1.3; xfreerdp /sec:tls /cert:deny with an empty certificate store: TLS 1.3 handshake completes (ServerHello, encrypted Certificate, client Finished; the server then sends session tickets); the client verifies the certificate after the handshake, refuses it ('self-signed certificate', 'No certificate stored, automatically denying'), sends one encrypted alert record (close_notify; the alert type is not visible in TLS 1.3) and FIN, then RST because unread data is pending. No cleartext certificate alert, no application data."
label cert_rejected_tls12.pcap "certificate_rejected_by_client	client	fin	tls_handshake	as cert_rejected.pcap but xrdp ssl_protocols=TLSv1.2: ServerHello, Certificate (self-signed, in cleartext), ServerKeyExchange, ServerHelloDone; client Key Exchange, CCS, Finished; server NewSessionTicket, CCS, Finished; the client then sends one encrypted alert (close_notify, not a cleartext alert 48) and FIN; xrdp replies with its own encrypted alert and the client answers RST. FreeRDP checks the certificate after the handshake, so no alert 42/48 appears on the wire."
label cert_expired_tls12.pcap "certificate_expired	client	fin	tls_handshake	xrdp with an expired self-signed certificate (notBefore 2020-01-01, notAfter 2021-01-01, CN/SAN 127.0.0.1), ssl_protocols=TLSv1.2; xfreerdp /sec:tls /cert:deny: same wire pattern as cert_rejected_tls12.pcap (full TLS 1.2 handshake, certificate in cleartext, client encrypted alert + FIN, server encrypted alert, client RST); the certificate's notAfter is years before the capture time. (FreeRDP's own log only names the first verification failure, 'self-signed certificate'.)"
label tls_version_mismatch.pcap "tls_protocol_version_mismatch	client	fin	tls_handshake	xrdp ssl_protocols=TLSv1.3 only, xfreerdp /sec:tls +enforce-tlsv1_2: CC selects SSL; ClientHello offers TLS 1.2 at most; the server answers with a cleartext fatal alert 70 protocol_version and no ServerHello; the client sends FIN; xrdp then writes a 9-byte non-TLS MCS Disconnect Provider Ultimatum (TPKT) and the client answers RST."
label tls_cipher_mismatch.pcap "tls_cipher_mismatch	client	fin	tls_handshake	xrdp ssl_protocols=TLSv1.2 tls_ciphers=ECDHE-RSA-CHACHA20-POLY1305, xfreerdp /sec:tls /tls-ciphers:ECDHE-RSA-AES128-GCM-SHA256: no common suite; the server answers the ClientHello with a cleartext fatal alert 40 handshake_failure and no ServerHello; the client sends FIN; xrdp then writes a 9-byte non-TLS MCS Disconnect Provider Ultimatum and the client answers RST."
label port_closed.pcap "upstream_refused	server	refused	tcp_connect	nothing listens on 127.0.0.1:PORT; xfreerdp /sec:tls: one SYN answered by RST,ACK from the port; the client does not retry."
label rdp_std_security_high.pcap "rdp_closed_by_server	server	fin	rdp	xrdp security_layer=rdp crypt_level=high, xfreerdp /sec:rdp +auth-only: standard RDP security with encryption; MCS connect, attach user and channel joins succeed, then xrdp rejects the Client Info PDU ("MAC checksum error": FreeRDP sets the salted-checksum flag) and sends a 9-byte MCS Disconnect Provider Ultimatum and FIN first, during the RDP connection sequence."
label x224_no_response.pcap "x224_no_response	client	fin	x224	a python3 listener accepts and never reads or writes; xfreerdp /sec:tls sends the X.224 Connection Request (cookie + RDP_NEG_REQ SSL), the server's kernel ACKs it, no Connection Confirm ever comes; after 5 s of silence the client's TCP keep-alive probe is ACKed; the client is stopped by 'timeout 7' (SIGTERM) and its FIN is ACKed; the listener never closes."

# scenario NAME : run one scenario, leave WORK/NAME/capture.pcap
scenario() {
    local name=$1 base=${1%.pcap}
    mkdir -p "$WORK/$base"
    case $base in
    tls_ok)
        start_xrdp "$base" tls "TLSv1.2, TLSv1.3" "$CERTDIR/host.pem" "$CERTDIR/host.key" high HIGH
        start_capture "$base"
        run_client "$base" 10 "/u:$CLIENT_USER" "/p:$CLIENT_PASS" /sec:tls /cert:ignore +auth-only
        sleep 1.5 ;;
    rdp_std_security)
        start_xrdp "$base" rdp "TLSv1.2, TLSv1.3" "$CERTDIR/host.pem" "$CERTDIR/host.key" none HIGH
        start_capture "$base"
        run_client "$base" 10 "/u:$CLIENT_USER" "/p:$CLIENT_PASS" /sec:rdp +auth-only
        sleep 1 ;;
    rdp_std_security_high)
        start_xrdp "$base" rdp "TLSv1.2, TLSv1.3" "$CERTDIR/host.pem" "$CERTDIR/host.key" high HIGH
        start_capture "$base"
        run_client "$base" 10 "/u:$CLIENT_USER" "/p:$CLIENT_PASS" /sec:rdp +auth-only
        sleep 1 ;;
    sec_refused_tls_required)
        start_xrdp "$base" rdp "TLSv1.2, TLSv1.3" "$CERTDIR/host.pem" "$CERTDIR/host.key" high HIGH
        start_capture "$base"
        run_client "$base" 10 "/u:$CLIENT_USER" "/p:$CLIENT_PASS" /sec:tls /cert:ignore +auth-only
        sleep 1 ;;
    sec_refused_nla_required)
        start_xrdp "$base" negotiate "TLSv1.2, TLSv1.3" "$CERTDIR/host.pem" "$CERTDIR/host.key" high HIGH
        start_capture "$base"
        run_client "$base" 10 "/u:$CLIENT_USER" "/p:$CLIENT_PASS" /sec:nla /cert:ignore +auth-only
        sleep 1 ;;
    cert_rejected)
        start_xrdp "$base" tls "TLSv1.2, TLSv1.3" "$CERTDIR/host.pem" "$CERTDIR/host.key" high HIGH
        start_capture "$base"
        run_client "$base" 10 "/u:$CLIENT_USER" "/p:$CLIENT_PASS" /sec:tls /cert:deny +auth-only
        sleep 1 ;;
    cert_rejected_tls12)
        start_xrdp "$base" tls "TLSv1.2" "$CERTDIR/host.pem" "$CERTDIR/host.key" high HIGH
        start_capture "$base"
        run_client "$base" 10 "/u:$CLIENT_USER" "/p:$CLIENT_PASS" /sec:tls /cert:deny +auth-only
        sleep 1 ;;
    cert_expired_tls12)
        start_xrdp "$base" tls "TLSv1.2" "$CERTDIR/expired.pem" "$CERTDIR/expired.key" high HIGH
        start_capture "$base"
        run_client "$base" 10 "/u:$CLIENT_USER" "/p:$CLIENT_PASS" /sec:tls /cert:deny +auth-only
        sleep 1 ;;
    tls_version_mismatch)
        start_xrdp "$base" tls "TLSv1.3" "$CERTDIR/host.pem" "$CERTDIR/host.key" high HIGH
        start_capture "$base"
        run_client "$base" 10 "/u:$CLIENT_USER" "/p:$CLIENT_PASS" /sec:tls /cert:ignore +auth-only +enforce-tlsv1_2
        sleep 1 ;;
    tls_cipher_mismatch)
        start_xrdp "$base" tls "TLSv1.2" "$CERTDIR/host.pem" "$CERTDIR/host.key" high ECDHE-RSA-CHACHA20-POLY1305
        start_capture "$base"
        run_client "$base" 10 "/u:$CLIENT_USER" "/p:$CLIENT_PASS" /sec:tls /cert:ignore +auth-only /tls-ciphers:ECDHE-RSA-AES128-GCM-SHA256
        sleep 1 ;;
    port_closed)
        start_capture "$base"
        run_client "$base" 10 "/u:$CLIENT_USER" "/p:$CLIENT_PASS" /sec:tls /cert:ignore +auth-only
        sleep 0.5 ;;
    x224_no_response)
        start_silent_listener "$base"
        start_capture "$base"
        run_client "$base" 7 "/u:$CLIENT_USER" "/p:$CLIENT_PASS" /sec:tls /cert:ignore +auth-only
        sleep 0.5 ;;
    *) die "unknown scenario $name" ;;
    esac
    # Stop the capture before the server goes away, so that killing the
    # server never shows up as a server FIN/RST on the wire.
    stop_capture
    stop_xrdp
    stop_listener
    log "$name: client exit status $(cat "$WORK/$base/xfreerdp.rc"), $(stat -c %s "$WORK/$base/capture.pcap") bytes"
}

# Extra captures made for study but not labelled in index.tsv (none at present).
EXTRA=()

started=$(date +%s)
for name in "${INDEX_ORDER[@]}" "${EXTRA[@]}"; do
    is_listening "$PORT" && die "port $PORT still busy before $name"
    scenario "$name"
done

# ---------------------------------------------------------------- results
mkdir -p "$OUT_DIR"
bad=0
{
    printf 'file\tcause\tclosed_by\tclose_kind\tphase\tdescription\n'
    for name in "${INDEX_ORDER[@]}"; do
        printf '%s\t%s\n' "$name" "${LABEL[$name]//PORT/$PORT}"
    done
} >"$WORK/index.tsv"

for name in "${INDEX_ORDER[@]}" "${EXTRA[@]}"; do
    base=${name%.pcap}
    got=$(first_close "$WORK/$base/capture.pcap")
    if [[ -n ${LABEL[$name]:-} ]]; then
        IFS=$'\t' read -r _cause want_by want_kind _rest <<<"${LABEL[$name]}"
        if [[ $got != "$want_by $want_kind" ]]; then
            log "MISMATCH $name: first FIN/RST on the wire is '$got', index says '$want_by $want_kind' (see $WORK/$base)"
            bad=1
        fi
    fi
    install -m 644 "$WORK/$base/capture.pcap" "$OUT_DIR/$name"
    printf '%-32s %8s bytes  first close: %s\n' "$name" "$(stat -c %s "$OUT_DIR/$name")" "$got" >&2
done
install -m 644 "$WORK/index.tsv" "$OUT_DIR/index.tsv"
log "done in $(($(date +%s) - started)) s; captures in $OUT_DIR"
if ((bad)); then
    KEEP_WORK=1
    die "some captures no longer match their labels; review index.tsv"
fi
