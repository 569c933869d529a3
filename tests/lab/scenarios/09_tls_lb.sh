#!/usr/bin/env bash
# 09_tls_lb — a load balancer that terminates TLS from the first byte.
#
# The middlebox runs a TLS-offloading front end on its own address (the VIP the
# client connects to), forwarding the cleartext in TCP mode to xrdp on the host:
#   a. 09_haproxy_ssl: HAProxy 2.6, `bind VIP:3389 ssl crt lb.pem`, mode tcp,
#      `server host1 HOST:3389`.
#   b. 09_stunnel: stunnel4 (server mode), accept VIP:3389, connect HOST:3389.
# xfreerdp /sec:tls sends its X.224 Connection Request in cleartext; the front
# end's OpenSSL reads it as a TLS record header (03 00 00 2c: type 3, version
# 0x002c) and fails (HAProxy logs "SSL handshake failure", stunnel
# "wrong version number").
#
# What the wire shows, inline and on the client's veth alike: the server side
# closes within a few ms of the Connection Request and sends NO byte — OpenSSL
# sends no alert when the first record does not look like TLS at all
# (ssl/record/ssl3_record.c: "Doesn't look like TLS - don't send an alert").
# HAProxy closes with FIN, stunnel with RST. So the "TLS bytes instead of a
# Connection Confirm" fact never appears with OpenSSL-based terminators;
# rdpwhy's tls_middlebox rule also takes a close without a byte less than 1 s
# after the request for a TLS endpoint -> tls_terminating_middlebox (evidence
# "server side closed N ms after the X.224 Connection Request without a byte,
# as a TLS endpoint does with non-TLS input"). The same wire would come from a
# host that drops connections at once (a connection limit): the timing is the
# only clue.
# Stated, inline and from the capture: tls_terminating_middlebox, closed_by
# server (the front end closes first), close_kind fin (HAProxy) / rst
# (stunnel), phase x224 (a Connection Request, no Confirm), no byte from the
# server side.
# The fault, checked first: a) HAProxy logs "SSL handshake failure" and xrdp
# never sees a connection (HAProxy never connects to it); b) stunnel logs
# "SSL_accept: ... wrong version number" and "Connection reset: 0 byte(s)
# sent to TLS"; xfreerdp exits 147 (XF_EXIT_CONNECT_TRANSPORT_FAILED) in both.
# One-direction captures of the client's veth (tcpdump -Q; lib.sh):
#   server_only: the handshake, the request acknowledged (the client's first
#   bytes: its CR, unseen), then the front end's close without a byte, within
#   ms -> tls_terminating_middlebox, server, a) fin b) rst, x224, low, as from
#   both directions (the same quick silent close).
#   client_only: a) the request, then the client's ACK of the server side's
#   FIN with no byte before it -> the same, low. b) stunnel's RST is never
#   acknowledged and FreeRDP, reset, sends nothing: the half just stops after
#   the request: still_open, none, x224.
#
# 09_haproxy_ssl_fixed — the fix page's change (issue #17): the HAProxy
# bullet of tls_terminating_middlebox's "Change it", read from docs/causes.md:
# `mode tcp` (the lab's configuration has it) and the bind line without
# `ssl crt ...` (removed from the lab's bind line, its address kept), checked
# with the page's `haproxy -c -f /etc/haproxy/haproxy.cfg` (the lab's file) and
# HAProxy reloaded (`systemctl reload haproxy`: the lab's HAProxy restarted).
# Then the same client to the VIP: HAProxy passes the bytes to xrdp, the TLS
# handshake is xrdp's, the connection completes, +auth-only disconnects ->
# normal_close, client, fin, established, inline destination the VIP; the
# halves (LAB_FIXED_HALVES=1) as in 01_healthy. The fix, checked first: xfreerdp exits 0, xrdp logs
# the TLS connection from the middlebox, HAProxy logs no SSL handshake failure.
# b (stunnel) has no fixed re-run: the page gives no stunnel change (a TLS
# terminator's own configuration; the lab says so with a SKIP line).
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lab_init 09_tls_lb
lab_need stunnel4:stunnel4

lab_xrdp_start security_layer=tls "ssl_protocols=TLSv1.2, TLSv1.3"

# a. HAProxy: bind ... ssl crt, mode tcp (lab_haproxy_tls_start also makes lb.pem/.key)
# shellcheck disable=SC2119 # no server options: plain TCP to xrdp
lab_haproxy_tls_start
lab_begin 09_haproxy_ssl
lab_xfreerdp 15 /v:"$LAB_IP_MB_G" /sec:tls /cert:ignore +auth-only
lab_log_expect HAProxy "$LAB_WORK/haproxy.log" 'rdp_tls/1: SSL handshake failure'
lab_log_absent xrdp "$LAB_WORK/xrdp/xrdp.log" 'connection received'
lab_client_expect 147 ERRCONNECT_CONNECT_TRANSPORT_FAILED
lab_expect 09_haproxy_ssl tls_terminating_middlebox \
    rdpwhy.closed_by=server rdpwhy.close_kind=fin rdpwhy.phase=x224 \
    rdp.requested_protocols=ssl destination.bytes=0 !rdp.selected_protocol \
    "rdpwhy.evidence~server side closed [0-9]+ ms after the X.224 Connection Request without a byte" \
    inline:destination.ip="$LAB_IP_MB_G" \
    client_only:verdict=tls_terminating_middlebox/server/fin/x224 client_only:rdpwhy.confidence=low \
    server_only:verdict=tls_terminating_middlebox/server/fin/x224 server_only:rdpwhy.confidence=low \
    --note "HAProxy 2.6 in the middlebox, bind VIP:3389 ssl crt (TLS from the first byte), mode tcp to xrdp; xfreerdp /sec:tls to the VIP: its cleartext X.224 request fails HAProxy's TLS handshake (log: SSL handshake failure); OpenSSL sends no alert for a record that does not look like TLS, HAProxy closes with FIN at once: no TLS byte on the wire; rdpwhy reads the quick silent close as a TLS endpoint"

# fixed: the fix page's HAProxy change, then the same client
# shellcheck disable=SC2016 # the page's backquotes, verbatim
lab_fix_has tls_terminating_middlebox HAProxy: '`mode tcp`' '`bind :3389` without `ssl crt ...`' '`systemctl reload haproxy`'
LAB_CHECKS=$((LAB_CHECKS + 1))
if grep -qE '^[[:space:]]*mode tcp$' "$LAB_WORK/haproxy.cfg"; then
    lab_log "fix page: haproxy.cfg has mode tcp"
else
    lab_fail "09_haproxy_ssl_fixed: the lab's haproxy.cfg has no 'mode tcp'"
fi
nossl=$(lab_fix_code tls_terminating_middlebox HAProxy: '^ssl crt')
nossl=${nossl%...}
sed -i -E "s/^([[:space:]]*bind[[:space:]]+[^[:space:]]+)[[:space:]]+${nossl% }.*/\1/" "$LAB_WORK/haproxy.cfg"
lab_log "fix page: bind without '$nossl...': $(grep -E '^[[:space:]]*bind' "$LAB_WORK/haproxy.cfg")"
grep -qE '^[[:space:]]*bind .* ssl' "$LAB_WORK/haproxy.cfg" && lab_die "the bind line still has ssl"
lab_fix_run "$LAB_NS_MB" "$(lab_fix_code tls_terminating_middlebox HAProxy: '^haproxy -c -f ')"
lab_fix_service 'systemctl reload haproxy'
lab_begin_fixed 09_haproxy_ssl_fixed
lab_xfreerdp 15 /v:"$LAB_IP_MB_G" /sec:tls /cert:ignore +auth-only
lab_fixed_client_ok
lab_log_expect xrdp "$LAB_WORK/xrdp/xrdp.log" "TLS connection established from ${LAB_IP_MB_H//./\\.} "
lab_log_absent HAProxy "$LAB_WORK/haproxy.log" 'SSL handshake failure'
lab_expect_fixed 09_haproxy_ssl_fixed \
    rdp.requested_protocols=ssl rdp.selected_protocol=ssl tls.established=true inline:destination.ip="$LAB_IP_MB_G" \
    --note "as 09_haproxy_ssl after docs/causes.md's change (HAProxy mode tcp, bind without ssl crt, checked with haproxy -c and reloaded): TCP pass-through to xrdp"
lab_haproxy_stop

# b. stunnel4 in server mode
cat >"$LAB_WORK/stunnel.conf" <<CFG
foreground = yes
pid =
debug = 5
[rdp]
accept = $LAB_IP_MB_G:3389
connect = $LAB_IP_HOST:3389
cert = $LAB_CERTS/lb.pem
key = $LAB_CERTS/lb.key
CFG
lab_daemon stunnel "$LAB_NS_MB" 3389 stunnel4 "$LAB_WORK/stunnel.conf"
lab_begin 09_stunnel
lab_xfreerdp 15 /v:"$LAB_IP_MB_G" /sec:tls /cert:ignore +auth-only
lab_log_expect stunnel "$LAB_WORK/stunnel.log" 'SSL_accept: .*wrong version number' \
    'Connection reset: 0 byte\(s\) sent to TLS'
lab_client_expect 147 ERRCONNECT_CONNECT_TRANSPORT_FAILED
lab_expect 09_stunnel tls_terminating_middlebox \
    rdpwhy.closed_by=server rdpwhy.close_kind=rst rdpwhy.phase=x224 \
    rdp.requested_protocols=ssl destination.bytes=0 !rdp.selected_protocol \
    "rdpwhy.evidence~server side reset [0-9]+ ms after the X.224 Connection Request without a byte" \
    client_only:verdict=still_open/none/none/x224 \
    server_only:verdict=tls_terminating_middlebox/server/rst/x224 server_only:rdpwhy.confidence=low \
    --note "stunnel4 (server mode) in the middlebox on the VIP, connect = xrdp; xfreerdp /sec:tls to the VIP: stunnel's SSL_accept fails on the cleartext X.224 request (wrong version number), no alert, stunnel resets the connection"
lab_daemon_stop stunnel
lab_fix_skip 09_stunnel_fixed "the fix page of tls_terminating_middlebox gives HAProxy's change and an RD Gateway, nothing for stunnel (a TLS terminator whose fix is its own configuration)"
lab_finish
