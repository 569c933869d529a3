#!/usr/bin/env bash
# probe_xrdp.sh RDPWHY — `rdpwhy probe` against real xrdp hosts (Debian 12
# xrdp 0.9.21) on 127.0.0.1, one configuration per case, each compared with
# what that configuration and the protocols say and with independent tools
# (sslscan, nmap) run against the same host:
#
#   a  security_layer=negotiate, TLS 1.2 + 1.3, tls_ciphers=HIGH, a certificate
#      for host.test signed by a test CA (--server-name host.test --ca CA):
#      rdp and ssl accepted (xrdp answers rdp to hybrid, hybrid_ex, rdstls:
#      it has no CredSSP), 128bit standard encryption (crypt_level=high),
#      TLS 1.0/1.1 refused, 1.2/1.3 accepted with exactly the suites OpenSSL
#      enables for HIGH and an RSA key (and its default TLS 1.3 suites),
#      certificate trusted, name matching, days_left from its notAfter, RSA
#      2048; every profile that shares a version and a suite connects.
#      sslscan --rdp, nmap rdp-enum-encryption / ssl-enum-ciphers /
#      rdp-ntlm-info.
#   b  ssl_protocols=TLSv1.3: profiles without 1.3 fail with
#      tls_protocol_version_mismatch, the others connect. sslscan.
#   c  ssl_protocols=TLSv1.2, tls_ciphers=ECDHE-RSA-AES128-GCM-SHA256: the
#      probe's suite list is exactly that suite; a profile fails with
#      tls_cipher_mismatch iff its suites lack it (windows2012r2_mstsc's do:
#      its Schannel list has no ECDHE_RSA GCM suite). sslscan.
#   d  an expired certificate (2020-01-01 to 2021-01-01): expired, not
#      trusted, days_left negative; profiles warn with certificate_expired.
#   e  a certificate for other.test: name_match false, trusted; profiles warn
#      with certificate_rejected_by_client.
#   f  a 1024-bit RSA key. Debian 12's OpenSSL runs at security level 2
#      (/etc/ssl/openssl.cnf CipherString DEFAULT:@SECLEVEL=2), which refuses
#      RSA keys under 2048 bits ("ee key too small"; checked here with
#      openssl s_server). xrdp starts all the same, selects PROTOCOL_SSL in
#      its Connection Confirm, and when the ClientHello comes it cannot set
#      up TLS: it answers an X.224 Data TPDU (MCS Disconnect Provider
#      Ultimatum, 03 00 00 09 02 f0 80 21 80) and resets (checked here with
#      a raw client before the probe runs). The probe must say what that is:
#      non-TLS bytes where the ServerHello belongs, tls_stream_altered
#      (docs/causes.md) for every version and every profile — not a version
#      mismatch (no version is to blame).
#   g  security_layer=rdp with crypt_level=low and =fips: every request is
#      answered with PROTOCOL_RDP, so only the rdp layer counts as accepted;
#      the one encryption method crypt_level names is accepted (40bit, fips);
#      TLS steps are not run; every profile warns (standard RDP security).
#      nmap rdp-enum-encryption (both), sslscan (low: no TLS at all).
#
# Where the expectations come from, and how the tools' known differences are
# asserted, is written in tests/probe/probe_expect.py, which reads each
# case's xrdp.ini, certificate and conf/profiles/*.conf. Known differences:
#   - nmap rdp-enum-encryption counts any RDP_NEG_RSP as SUCCESS, whatever
#     the host selected; against xrdp every layer is "SUCCESS" while the probe
#     accepts only those the host selected (the others say what it chose);
#     its "CredSSP (NLA)" request is SSL|HYBRID, which xrdp answers with SSL.
#   - nmap ssl-enum-ciphers cannot speak to RDP at all: nmap 7.93's
#     sslcert.lua has no RDP preamble, so it sends a bare ClientHello, which
#     xrdp answers with an X.224 TPDU (its first byte 0x03 is no TLS content
#     type): no output. The scripts' portrules want port 3389 or a service
#     detected as ms-wbt-server, so they are forced with "+".
#   - sslscan also tries SSLv2/SSLv3 (the probe does not): both off.
#
# Needs root (xrdp reads /etc/xrdp/rsakeys.ini); exits 77 otherwise. A
# missing tool fails the test naming its package. Every probe runs under
# `timeout 60`; the eight cases run concurrently, each with its own xrdp.
# KEEP_WORK=1 keeps the scratch directory. ~30 s (a loaded 2-core machine).
set -euo pipefail

TEST_NAME=probe_xrdp
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../proxy/common.sh
. "$SCRIPT_DIR/../proxy/common.sh"
# shellcheck source=../lib/rdp_peers.sh
. "$SCRIPT_DIR/../lib/rdp_peers.sh"

init_test "xrdp reads /etc/xrdp/rsakeys.ini" "$@"
need_tools xrdp:xrdp xrdp-keygen:xrdp openssl:openssl python3:python3 nmap:nmap sslscan:sslscan \
    timeout:coreutils

# The interpreter itself, not a version manager's shim (pyenv's costs ~1 s a
# start; this script and common.sh's free_ports start python3 ~40 times).
PYTHON3=$(python3 -c 'import sys; print(sys.executable)') || die "python3 does not run"
python3() { "$PYTHON3" "$@"; }

PROFILES=$(cd "$SCRIPT_DIR/../../conf/profiles" && pwd)
EXPECT=$SCRIPT_DIR/probe_expect.py
ADDR=127.0.0.1
WORK=$(mktemp -d /tmp/rdpwhy-probe-xrdp.XXXXXX)
FAILED=1
T0=$SECONDS

cleanup() {
    local rc=$? p
    exec 2>&9
    stop_all_pids
    # the cases' xrdp (started in subshells), if a case did not stop its own
    if [[ -f $WORK/xrdp.pids ]]; then
        while read -r p; do
            if ps -o args= -p "$p" 2>/dev/null | grep -q "^xrdp .*$WORK/"; then kill -KILL "$p" 2>/dev/null || true; fi
        done <"$WORK/xrdp.pids"
    fi
    end_test "$rc"
}
exec 9>&2
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

rp_xrdp_keys || die "xrdp-keygen failed"
rp_ca "$WORK" ca "rdpwhy probe test CA" || die "cannot make the CA"
rp_cert "$WORK" host host.test DNS:host.test --ca ca || die "cannot make host.pem"
rp_cert "$WORK" expired host.test DNS:host.test --ca ca --expired || die "cannot make expired.pem"
rp_cert "$WORK" other other.test DNS:other.test --ca ca || die "cannot make other.pem"
openssl req -x509 -newkey rsa:1024 -nodes -sha256 -days 3650 -keyout "$WORK/weak.key" -out "$WORK/weak.pem" \
    -subj /CN=host.test -addext subjectAltName=DNS:host.test 2>/dev/null || die "cannot make weak.pem"
chmod 644 "$WORK/weak.key"

ERRORS=0
bad() {
    log "FAIL: $*"
    ERRORS=$((ERRORS + 1))
}

# The cases run concurrently (each its own xrdp; most of a case is waiting
# on xrdp, nmap's pauses and sslscan), in subshells: a case's failures make
# its subshell exit 1, and the xrdp pids go to $WORK/xrdp.pids for cleanup.
# Ports: two per case (xrdp's and its dead session's), taken in one
# free_ports call so that no two cases can get the same one.
CASES=(a b c d e f g_low g_fips)
read -r -a PORTS <<<"$(free_ports $((2 * ${#CASES[@]})))"
declare -A PORT_OF DEAD_OF
for i in "${!CASES[@]}"; do
    PORT_OF[${CASES[i]}]=${PORTS[2 * i]}
    DEAD_OF[${CASES[i]}]=${PORTS[2 * i + 1]}
done

PORT=
XRDP_PID=
start_xrdp() { # CASE CERT KEY=VALUE... (rp_xrdp_ini keys)
    local c=$1 cert=$2 dead=${DEAD_OF[$1]}
    shift 2
    mkdir -p "$WORK/$c"
    PORT=${PORT_OF[$c]}
    port_listening "$PORT" && die "port $PORT taken before xrdp starts"
    rp_xrdp_ini "$WORK/$c/xrdp.ini" "listen=$ADDR:$PORT" "certificate=$WORK/$cert.pem" \
        "key_file=$WORK/$cert.key" "log=$WORK/$c/xrdp.log" "dead_ip=$ADDR" "dead_port=$dead" "$@" ||
        die "cannot write $WORK/$c/xrdp.ini"
    # rp_xrdp_ini's LogLevel=DEBUG logs every ini item for every connection:
    # ~0.2 s per connection; WARNING makes it ~10 ms (nothing here reads the log)
    sed -i 's/^LogLevel=DEBUG$/LogLevel=WARNING/' "$WORK/$c/xrdp.ini"
    xrdp --nodaemon --config "$WORK/$c/xrdp.ini" >"$WORK/$c/xrdp.out" 2>&1 &
    XRDP_PID=$!
    PIDS+=("$XRDP_PID")
    echo "$XRDP_PID" >>"$WORK/xrdp.pids"
    wait_listening "$PORT" "$XRDP_PID" ||
        die "xrdp ($c) did not start: $(tail -5 "$WORK/$c/xrdp.out" "$WORK/$c/xrdp.log" 2>/dev/null)"
}
stop_xrdp() {
    # still the process that listened: nothing else answered the tools
    kill -0 "$XRDP_PID" 2>/dev/null || bad "xrdp (pid $XRDP_PID) exited during the case"
    stop_pid "$XRDP_PID"
    forget_pid "$XRDP_PID"
}

host_json() { # CASE SERVER_NAME CA|"" [KEY_REFUSED]
    python3 -c 'import json, sys; a = sys.argv
json.dump({"server_name": a[2], "ca": a[3] or None, "key_refused": a[4] == "1"}, open(a[1], "w"))' \
        "$WORK/$1/host.json" "$2" "$3" "${4:-0}"
}

# probe CASE ARGS...: the probe in JSON, its exit status as the configuration
# predicts (probe_expect.py want-rc), bounded by timeout 60.
probe() {
    local c=$1 want
    shift
    want=$(python3 "$EXPECT" want-rc xrdp "$WORK/$c" "$PROFILES") || die "$c: want-rc failed"
    rw_run "$want" "$WORK/$c/probe.json" "$WORK/$c/probe.err" timeout 60 "$BIN" probe --format json \
        --pace 0 --timeout 2 --max-connections 200 --profiles "$PROFILES" "$@" "$ADDR:$PORT" ||
        bad "$c: rdpwhy probe ended badly (want exit $want)"
}

sslscan_run() { # CASE
    rp_sslscan "$WORK/$1" "$ADDR:$PORT" || bad "$1: sslscan failed twice: $(tail -3 "$WORK/$1/sslscan.out")"
}

nmap_run() { # CASE
    # -d: rdp-enum-encryption lists the failures too
    timeout 120 nmap -Pn -n -sT -p "$PORT" -d \
        --script +rdp-enum-encryption,+ssl-enum-ciphers,+rdp-ntlm-info -oX "$WORK/$1/nmap.xml" "$ADDR" \
        >"$WORK/$1/nmap.out" 2>&1 || bad "$1: nmap failed: $(tail -3 "$WORK/$1/nmap.out")"
}

judge() { # CASE
    if python3 "$EXPECT" xrdp "$WORK/$1" "$PROFILES" >"$WORK/$1/checks.txt" 2>&1; then
        log "$1: $(grep -c '^ok:' "$WORK/$1/checks.txt") checks ok ($((SECONDS - T0)) s)"
    else
        grep -E '^(FAIL|Traceback|  )' "$WORK/$1/checks.txt" | head -40 | sed "s/^/[$1] /" >&2
        bad "$1: $(grep -c '^FAIL' "$WORK/$1/checks.txt") check(s) failed"
    fi
}

# a: negotiate, TLS 1.2 + 1.3, HIGH, a trusted certificate naming host.test
case_a() {
    start_xrdp a host security_layer=negotiate "ssl_protocols=TLSv1.2, TLSv1.3" tls_ciphers=HIGH
    host_json a host.test "$WORK/ca.pem"
    probe a --server-name host.test --ca "$WORK/ca.pem"
    sslscan_run a
    nmap_run a
    stop_xrdp
    judge a
}

# b: TLS 1.3 only
case_b() {
    start_xrdp b host security_layer=negotiate ssl_protocols=TLSv1.3
    host_json b host.test "$WORK/ca.pem"
    probe b --server-name host.test --ca "$WORK/ca.pem"
    sslscan_run b
    stop_xrdp
    judge b
}

# c: TLS 1.2 with one suite
case_c() {
    start_xrdp c host security_layer=negotiate ssl_protocols=TLSv1.2 tls_ciphers=ECDHE-RSA-AES128-GCM-SHA256
    host_json c host.test "$WORK/ca.pem"
    probe c --server-name host.test --ca "$WORK/ca.pem"
    sslscan_run c
    stop_xrdp
    judge c
    grep -q 'windows2012r2_mstsc cause = .tls_cipher_mismatch' "$WORK/c/checks.txt" ||
        bad "c: the case no longer has a profile failing with tls_cipher_mismatch (a profile changed?)"
}

# d, e: certificate problems, on a TLS 1.2 host with one suite every profile
# offers (TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384), so every profile completes
# TLS and the certificate alone decides.
case_d() {
    start_xrdp d expired security_layer=negotiate ssl_protocols=TLSv1.2 tls_ciphers=ECDHE-RSA-AES256-SHA384
    host_json d host.test "$WORK/ca.pem"
    probe d --server-name host.test --ca "$WORK/ca.pem"
    stop_xrdp
    judge d
}

case_e() {
    start_xrdp e other security_layer=negotiate ssl_protocols=TLSv1.2 tls_ciphers=ECDHE-RSA-AES256-SHA384
    host_json e host.test "$WORK/ca.pem"
    probe e --server-name host.test --ca "$WORK/ca.pem"
    stop_xrdp
    judge e
}

# f: a 1024-bit key. First what OpenSSL's configuration does with it (on
# the dead-session port, which nothing uses)...
case_f() {
    if timeout 5 openssl s_server -accept "$ADDR:${DEAD_OF[f]}" -cert "$WORK/weak.pem" -key "$WORK/weak.key" \
        -naccept 1 </dev/null >"$WORK/s_server.out" 2>&1; then
        bad "f: openssl s_server accepted the 1024-bit key: the system's security level allows it; this case assumes it does not"
    elif ! grep -q 'ee key too small' "$WORK/s_server.out"; then
        bad "f: openssl s_server did not refuse the key as too small: $(tail -3 "$WORK/s_server.out")"
    fi
    start_xrdp f weak security_layer=negotiate "ssl_protocols=TLSv1.2, TLSv1.3"
    # ...then what xrdp does: CC selecting SSL, then no TLS record for a ClientHello.
    python3 - "$ADDR" "$PORT" >"$WORK/f/raw.json" <<'PY' || bad "f: raw client failed"
import json, socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
inb, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
obj = ctx.wrap_bio(inb, outb)
try:
    obj.do_handshake()
except ssl.SSLWantReadError:
    pass
hello = outb.read()
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
# TPKT, X.224 CR, RDP_NEG_REQ requestedProtocols = PROTOCOL_SSL
s.sendall(bytes.fromhex("030000130ee000000000000100080001000000"))
cc = s.recv(19)
s.sendall(hello)
got, end = b"", "timeout"
try:
    while True:
        x = s.recv(4096)
        if not x:
            end = "eof"
            break
        got += x
except ConnectionResetError:
    end = "reset"
except socket.timeout:
    pass
print(json.dumps({"cc": cc.hex(), "answer": got.hex(), "end": end}))
PY
    python3 - "$WORK/f/raw.json" <<'PY' || bad "f: xrdp did not behave as this case assumes: $(cat "$WORK/f/raw.json")"
import json, sys
r = json.load(open(sys.argv[1]))
# the CC selects PROTOCOL_SSL (RDP_NEG_RSP type 2, selectedProtocol 1)
assert r["cc"][22:24] == "02" and r["cc"][30:38] == "01000000", r
# no TLS record (content type 20..24) comes back: a TPKT (version 3)
assert r["answer"][:4] == "0300", r
assert r["end"] in ("eof", "reset"), r
PY
    host_json f host.test "" 1
    probe f --server-name host.test
    sslscan_run f
    stop_xrdp
    judge f
}

# g: standard RDP security only, two crypt_levels
case_g() { # LEVEL
    local c=g_$1
    start_xrdp "$c" host security_layer=rdp "crypt_level=$1"
    host_json "$c" host.test ""
    probe "$c"
    nmap_run "$c"
    [[ $1 == low ]] && sslscan_run "$c"
    stop_xrdp
    judge "$c"
}
case_g_low() { case_g low; }
case_g_fips() { case_g fips; }

declare -A CASE_PID
for c in "${CASES[@]}"; do
    (
        "case_$c"
        exit $((ERRORS > 0))
    ) &
    CASE_PID[$c]=$!
done
for c in "${CASES[@]}"; do
    wait "${CASE_PID[$c]}" || bad "case $c failed"
done

((ERRORS == 0)) || die "$ERRORS case(s) failed (KEEP_WORK=1 keeps $WORK)"
FAILED=0
log "ok: 8 xrdp configurations as their configuration, sslscan and nmap say ($((SECONDS - T0)) s)"
