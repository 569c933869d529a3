#!/usr/bin/env bash
# mcs_xrdp.sh MCS_CLIENT — the MCS Connect Initial that `rdpwhy probe` sends
# (analyzers/mcs.c), against a real xrdp on 127.0.0.1 with standard RDP
# security (security_layer=rdp), once per crypt_level (none low medium high
# fips) and per offered encryption method (40bit 56bit 128bit fips none).
# MCS_CLIENT is tests/probe/mcs_client.c: X.224 CR, Connect Initial offering
# one method, the Connect Response decoded as key=value lines.
#
# What is expected comes from xrdp's own code and configuration semantics, not
# from our decoder (libxrdp/xrdp_sec.c in 0.9: xrdp_sec_init_rdp_security maps
# crypt_level to a method and level; xrdp_sec_process_mcs_data_CS_SECURITY
# keeps them when the client offers nothing in common: it logs a warning and
# answers all the same, it never refuses):
#
#   crypt_level  encryptionMethod  encryptionLevel     (whatever was offered)
#   none         none              none                no random, no certificate
#   low          40bit             low
#   medium       40bit             client_compatible   (not 128bit, even offered)
#   high         128bit            high
#   fips         fips              fips
#
# Observed with Debian 12 xrdp 0.9.21.1: exactly this table; serverRandomLen
# 32 and a proprietary certificate of 376 bytes with encryption (the length
# is not asserted: it depends on the key), I/O channel 1003, SC_CORE version
# 0x00080004. So against xrdp a method counts as accepted only when the
# answer names the method offered, as nmap's rdp-enum-encryption judges it.
#
# Besides the answer, xrdp's DEBUG log must show that it read our
# CS_SECURITY: "Client supports <N> encryption" for the method offered, and
# "Client and server both support ..." exactly when the offered method is
# the configured one ("do not both support the same encryption" otherwise).
#
# Needs root (xrdp reads /etc/xrdp/rsakeys.ini, mode 600); exits 77 (skip)
# otherwise. Fails when a tool is missing (xrdp openssl python3:
# scripts/setup.sh --test installs them). Creates /etc/xrdp/rsakeys.ini with
# xrdp-keygen only if it is missing (as the xrdp package does).
# KEEP_WORK=1 keeps the scratch directory (xrdp.ini and logs). 5 to 30 s.
set -euo pipefail

TEST_NAME=probe_mcs_xrdp
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../proxy/common.sh
. "$SCRIPT_DIR/../proxy/common.sh"
# shellcheck source=../lib/rdp_peers.sh
. "$SCRIPT_DIR/../lib/rdp_peers.sh"

init_test "xrdp reads /etc/xrdp/rsakeys.ini" "$@"
CLIENT=$BIN

need_tools xrdp:xrdp xrdp-keygen:xrdp openssl:openssl python3:python3

ADDR=127.0.0.1
read -r PORT DEAD_PORT <<<"$(free_ports 2)"
WORK=$(mktemp -d /tmp/rdpwhy-mcs-xrdp.XXXXXX)
FAILED=1

on_exit_stop_all

rp_xrdp_keys || die "xrdp-keygen failed"
# security_layer=rdp uses no certificate, but the ini wants one.
rp_cert "$WORK" host "$ADDR" "IP:$ADDR" || die "cannot make a certificate"

declare -A WANT_METHOD=([none]=none [low]=40bit [medium]=40bit [high]=128bit [fips]=fips)
declare -A WANT_LEVEL=([none]=none [low]=low [medium]=client_compatible [high]=high [fips]=fips)
# xrdp's DEBUG line for each method it reads in CS_SECURITY.
declare -A XRDP_SAYS=([40bit]="40 bit" [56bit]="56 bit" [128bit]="128 bit" [fips]="fips")

XRDP_PID=
start_xrdp() { # LEVEL
    local d=$WORK/$1
    mkdir -p "$d"
    port_listening "$PORT" && die "port $PORT taken before xrdp starts"
    rp_xrdp_ini "$d/xrdp.ini" "listen=$ADDR:$PORT" security_layer=rdp "crypt_level=$1" \
        "certificate=$WORK/host.pem" "key_file=$WORK/host.key" "log=$d/xrdp.log" \
        "dead_ip=$ADDR" "dead_port=$DEAD_PORT" || die "cannot write $d/xrdp.ini"
    xrdp --nodaemon --config "$d/xrdp.ini" >"$d/xrdp.out" 2>&1 &
    XRDP_PID=$!
    PIDS+=("$XRDP_PID")
    wait_listening "$PORT" "$XRDP_PID" ||
        die "xrdp (crypt_level=$1) did not start: $(tail -5 "$d/xrdp.out" "$d/xrdp.log" 2>/dev/null)"
}
stop_xrdp() {
    stop_pid "$XRDP_PID"
    forget_pid "$XRDP_PID"
    XRDP_PID=
}


# field FILE KEY: the value of KEY= in FILE (empty when absent)
field() { sed -n "s/^$2=//p" "$1" | head -1; }

# lines_after FILE N: FILE's lines after the first N
lines_after() { tail -n "+$(($2 + 1))" "$1"; }

for level in none low medium high fips; do
    start_xrdp "$level"
    xlog=$WORK/$level/xrdp.log
    for method in 40bit 56bit 128bit fips none; do
        out=$WORK/$level/$method.out
        before=$(wc -l <"$xlog" 2>/dev/null || echo 0)
        what="crypt_level=$level, offered $method"
        if ! "$CLIENT" "$ADDR" "$PORT" "$method" >"$out" 2>"$out.err"; then
            bad "$what: mcs_client failed: $(cat "$out.err") $(grep '^status=' "$out" || true)"
            continue
        fi
        [[ $(field "$out" cc_selected_protocol) == 0 ]] || bad "$what: X.224 CC did not select PROTOCOL_RDP"
        [[ $(field "$out" status) == ok ]] || bad "$what: status $(field "$out" status)"
        [[ $(field "$out" result) == 0 ]] || bad "$what: MCS result $(field "$out" result), want 0 (rt-successful)"
        [[ $(field "$out" version) == 0x00080004 ]] || bad "$what: SC_CORE version $(field "$out" version)"
        [[ $(field "$out" io_channel) == 1003 ]] || bad "$what: SC_NET MCSChannelId $(field "$out" io_channel), want 1003"
        got_m=$(field "$out" encryption_method)
        got_l=$(field "$out" encryption_level)
        [[ $got_m == "${WANT_METHOD[$level]}" ]] || bad "$what: encryptionMethod $got_m, want ${WANT_METHOD[$level]}"
        [[ $got_l == "${WANT_LEVEL[$level]}" ]] || bad "$what: encryptionLevel $got_l, want ${WANT_LEVEL[$level]}"
        rl=$(field "$out" server_random_len)
        cl=$(field "$out" server_cert_len)
        if [[ $level == none ]]; then
            [[ $rl == 0 && $cl == 0 ]] || bad "$what: serverRandomLen $rl, serverCertLen $cl, want none"
        else
            [[ $rl == 32 ]] || bad "$what: serverRandomLen $rl, want 32"
            if ! [[ $cl =~ ^[0-9]+$ ]] || ((cl == 0)); then
                bad "$what: serverCertLen $cl, want a certificate"
            fi
        fi
        # xrdp's own reading of our CS_SECURITY (its log is written before it answers).
        new=$(lines_after "$xlog" "$before")
        if [[ $method != none ]] && ! grep -qF "Client supports ${XRDP_SAYS[$method]} encryption" <<<"$new"; then
            bad "$what: xrdp's log does not say it read ${XRDP_SAYS[$method]} in CS_SECURITY"
        fi
        if [[ $method == "${WANT_METHOD[$level]}" ]]; then
            grep -qF "Client and server both support" <<<"$new" ||
                bad "$what: xrdp's log does not say both support the method"
        else
            grep -qF "Client and server do not both support the same encryption" <<<"$new" ||
                bad "$what: xrdp's log does not say the method is not shared"
        fi
        log "$what: $got_m/$got_l"
    done
    stop_xrdp
done

((ERRORS == 0)) || die "$ERRORS check(s) failed (KEEP_WORK=1 keeps $WORK)"
FAILED=0
log "ok: 25 Connect Initial / Connect Response exchanges as xrdp's crypt_level says"
