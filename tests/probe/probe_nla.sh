#!/usr/bin/env bash
# probe_nla.sh RDPWHY — `rdpwhy probe`'s NLA step against a real CredSSP host:
# FreeRDP's shadow server (freerdp2-shadow-x11 2.11, sharing an Xvfb) with NLA
# only (/sec:nla) and an NTLM SAM file (winpr-hash), on 127.0.0.1, run in a
# UTS namespace whose host name this test sets (Nla-Host.probe.test), twice:
#
#   plain    the host's clock is ours: rdp.nla.host_clock_offset_s within ±30;
#            the NTLM CHALLENGE's names and version are what winpr makes of
#            the host name (NetBIOS NLA-HOST, DNS Nla-Host: winpr 2.11
#            ntlm_get_target_computer_name() uses the NetBIOS form — up to the
#            first dot, at most 15 characters — for every name, upper-cased
#            for the NetBIOS ones) and of its fixed version (winpr sysinfo.c
#            GetVersionExA: 6.1 build 7601); every profile connects (hybrid;
#            the shadow server's own certificate, generated at its first
#            start, given as --ca with its CN as --server-name): exit 0.
#   skewed   the same server under `faketime -f +10m` (libfaketime: its
#            time() and clock_gettime() run 600 s ahead; its certificate is
#            the one of the plain run, reused from its HOME): offset 570..630;
#            profiles with `kerberos = yes` (conf/profiles) fail with
#            clock_skew (> 300 s: Kerberos refuses it), the others connect:
#            exit 1.
#
# Both times the expectations come from probe_expect.py (layers: FreeRDP's
# nego.c with NLA only — HYBRID_REQUIRED_BY_SERVER unless the HYBRID bit is
# requested; TLS: FreeRDP 2.11's server TLS on OpenSSL 3, see there) and the
# same host is asked by:
#   - nmap rdp-ntlm-info: its own TSRequest (version 96) with an NTLM
#     NEGOTIATE: the same names, Product_Version, and a System_Time whose
#     offset from nmap's run agrees with the probe's (within 30 s);
#   - nmap rdp-enum-encryption (-d, forced with + off port 3389): "CredSSP
#     (NLA)" SUCCESS (nmap requests SSL|HYBRID), the other layers FAILED
#     (HYBRID_REQUIRED_BY_SERVER) as the probe's RDP_NEG_FAILUREs, every RDP
#     encryption method FAILURE where the probe does not run that step (the
#     rdp layer is refused);
#   - sslscan --rdp: TLS versions and suites equal to the probe's.
#
# Needs root (UTS namespace); exits 77 otherwise. A missing tool fails the
# test naming its package. Every probe runs under `timeout 60`. KEEP_WORK=1
# keeps the scratch directory. ~50 s (a loaded 2-core machine).
set -euo pipefail

TEST_NAME=probe_nla
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../proxy/common.sh
. "$SCRIPT_DIR/../proxy/common.sh"
# shellcheck source=../lib/rdp_peers.sh
. "$SCRIPT_DIR/../lib/rdp_peers.sh"

init_test "a UTS namespace for the shadow server's host name" "$@"
need_tools freerdp-shadow-cli:freerdp2-shadow-x11 winpr-hash:winpr-utils Xvfb:xvfb faketime:faketime \
    unshare:util-linux nmap:nmap sslscan:sslscan openssl:openssl python3:python3 timeout:coreutils

# The interpreter itself, not a version manager's shim (see probe_xrdp.sh).
PYTHON3=$(python3 -c 'import sys; print(sys.executable)') || die "python3 does not run"
python3() { "$PYTHON3" "$@"; }

PROFILES=$(cd "$SCRIPT_DIR/../../conf/profiles" && pwd)
EXPECT=$SCRIPT_DIR/probe_expect.py
ADDR=127.0.0.1
HOSTNAME_NLA=Nla-Host.probe.test
SKEW_S=600
WORK=$(mktemp -d /tmp/rdpwhy-probe-nla.XXXXXX)
FAILED=1
T0=$SECONDS

on_exit_stop_all

winpr-hash -u rdpwhy -p rdpwhy-test-pw -f sam >"$WORK/sam" || die "winpr-hash failed"
grep -Eq '^rdpwhy:::[0-9a-f]{32}:::$' "$WORK/sam" || die "unexpected SAM line: $(cat "$WORK/sam")"

rp_xvfb_start 160 199 "$WORK/xvfb.log" || die "Xvfb did not start: $(cat "$WORK/xvfb.log")"
PIDS+=("$RP_XVFB_PID")
# One X client stays connected for the whole test (tests/lib/x_hold.py says why).
"$PYTHON3" "$SCRIPT_DIR/../lib/x_hold.py" "$RP_DISPLAY" --hold >"$WORK/xhold.out" 2>&1 &
PIDS+=("$!")
rw_wait_line "$WORK/xhold.out" '^connected' "$!" 10 "an X client of Xvfb :$RP_DISPLAY" ||
    die "Xvfb :$RP_DISPLAY does not accept X clients"
mkdir -p "$WORK/home"

PORT=
SHADOW_PID=
start_shadow() { # NAME [faketime ARGS...]
    local n=$1
    shift
    mkdir -p "$WORK/$n"
    read -r PORT <<<"$(free_ports 1)"
    port_listening "$PORT" && die "port $PORT taken before the shadow server starts"
    # The host name is the host's configuration the NTLM names come from.
    # shellcheck disable=SC2016 # expanded by that sh
    env HOME="$WORK/home" DISPLAY=":$RP_DISPLAY" unshare --uts sh -c 'hostname "$0" && exec "$@"' \
        "$HOSTNAME_NLA" "$@" freerdp-shadow-cli "/bind-address:$ADDR" "/port:$PORT" /sec:nla \
        "/sam-file:$WORK/sam" >"$WORK/$n/shadow.log" 2>&1 &
    SHADOW_PID=$!
    PIDS+=("$SHADOW_PID")
    wait_listening "$PORT" "$SHADOW_PID" || die "the shadow server ($n) did not start: $(tail -5 "$WORK/$n/shadow.log")"
}
stop_shadow() {
    kill -0 "$SHADOW_PID" 2>/dev/null || bad "the shadow server (pid $SHADOW_PID) exited during the run"
    stop_pid "$SHADOW_PID"
    forget_pid "$SHADOW_PID"
}

CERT=$WORK/home/.config/freerdp/shadow/shadow.crt
host_json() { # NAME SKEW FULL [NMAP_EPOCH]
    python3 -c 'import json, sys; a = sys.argv
json.dump({"hostname": a[2], "cert": a[3], "server_name": a[4], "skew_s": int(a[5]),
           "full": a[6] == "1", "nmap_epoch": float(a[7] or 0)}, open(a[1], "w"))' \
        "$WORK/$1/host.json" "$HOSTNAME_NLA" "$CERT" "$CN" "$2" "$3" "${4:-}"
}

# run_case NAME SKEW FULL: FULL=1 runs every step, sslscan and nmap's two
# scripts; FULL=0 (the skewed run: only the clock differs) stops the probe
# after the profiles (--max-connections 16: TCP, 5 layers, 4 versions, NLA,
# 5 profiles; the suite list is cut) and asks nmap's rdp-ntlm-info alone.
run_case() {
    local n=$1 skew=$2 full=$3 want epoch budget=200 scripts=+rdp-ntlm-info,+rdp-enum-encryption
    [[ -s $CERT ]] || die "the shadow server wrote no certificate at $CERT"
    CN=$(openssl x509 -in "$CERT" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= //p')
    [[ -n $CN ]] || die "no CN in $CERT"
    ((full)) || { budget=16; scripts=+rdp-ntlm-info; }
    host_json "$n" "$skew" "$full"
    want=$(python3 "$EXPECT" want-rc shadow "$WORK/$n" "$PROFILES") || die "$n: want-rc failed"
    rw_run "$want" "$WORK/$n/probe.json" "$WORK/$n/probe.err" timeout 60 "$BIN" probe --format json \
        --pace 0 --timeout 2 --max-connections "$budget" --profiles "$PROFILES" --server-name "$CN" --ca "$CERT" \
        "$ADDR:$PORT" || bad "$n: rdpwhy probe ended badly (want exit $want)"
    if ((full)); then
        rp_sslscan "$WORK/$n" "$ADDR:$PORT" ||
            bad "$n: sslscan failed twice: $(tail -3 "$WORK/$n/sslscan.out")"
    fi
    epoch=$(date +%s.%N)
    timeout 120 nmap -Pn -n -sT -p "$PORT" -d --script "$scripts" \
        -oX "$WORK/$n/nmap.xml" "$ADDR" >"$WORK/$n/nmap.out" 2>&1 || bad "$n: nmap failed: $(tail -3 "$WORK/$n/nmap.out")"
    host_json "$n" "$skew" "$full" "$epoch"
    if python3 "$EXPECT" shadow "$WORK/$n" "$PROFILES" >"$WORK/$n/checks.txt" 2>&1; then
        log "$n: $(grep -c '^ok:' "$WORK/$n/checks.txt") checks ok ($((SECONDS - T0)) s)"
    else
        grep -E '^(FAIL|Traceback|  )' "$WORK/$n/checks.txt" | head -40 | sed "s/^/[$n] /" >&2
        bad "$n: $(grep -c '^FAIL' "$WORK/$n/checks.txt") check(s) failed"
    fi
}

start_shadow plain
run_case plain 0 1
stop_shadow
sha_plain=$(openssl x509 -in "$CERT" -outform DER | sha256sum)

start_shadow skewed faketime -f "+$((SKEW_S / 60))m"
run_case skewed "$SKEW_S" 0
stop_shadow
[[ $(openssl x509 -in "$CERT" -outform DER | sha256sum) == "$sha_plain" ]] ||
    bad "the skewed server made a new certificate (not valid before its faked time)"
grep -q 'rdp.nla.host_clock_offset_s .* within 570..630' "$WORK/skewed/checks.txt" ||
    bad "skewed: no offset check passed"
grep -q 'cause = .clock_skew' "$WORK/skewed/checks.txt" || bad "skewed: no profile failed with clock_skew"

((ERRORS == 0)) || die "$ERRORS run(s) failed (KEEP_WORK=1 keeps $WORK)"
FAILED=0
log "ok: NLA findings of a real CredSSP host, with and without a 10-minute clock skew ($((SECONDS - T0)) s)"
