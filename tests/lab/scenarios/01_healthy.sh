#!/usr/bin/env bash
# 01_healthy — a healthy RDP connection, direct and through HAProxy.
#
#   a. 01_healthy_tls: xrdp security_layer=tls (TLS 1.2 + 1.3) on the host;
#      xfreerdp /sec:tls /cert:ignore +auth-only to the host's address, through
#      rdpwhy on the gateway (REDIRECT). Expect normal_close, selected protocol
#      ssl, TLS established, phase established, both inline and from the capture.
#   b. 01_healthy_haproxy: HAProxy in the middlebox namespace, mode tcp,
#      balance rdp-cookie, tcp-request inspect-delay 5s, content accept if
#      RDP_COOKIE, one server (the host's xrdp). The client connects to the
#      middlebox's address; rdpwhy sees it on the way. Expect normal_close with
#      the mstshash cookie (the /u: user name) recorded.
# Expected verdict, both cases, inline and from the capture: normal_close,
# closed_by client, close_kind fin, phase established: +auth-only makes
# xfreerdp disconnect by itself once the connection sequence is done, with a
# FIN (xrdp only learns of it when its next write fails: "xrdp_iso_send:
# trans_write_copy_s failed"). The client is the first to close on every leg,
# so the proxy and the client's wire agree.
# The fault (none) is checked first: xfreerdp exits 0 ("Authentication only,
# exit status 0"), xrdp logs the TLS connection and selected SSL; b) HAProxy's
# log names the cookie it balanced on and the server.
# One-direction captures (tcpdump -Q on the client's veth; lib.sh), both cases:
#   client_only: the client's side of the whole connection sequence and its
#   own FIN, first -> normal_close, client, fin, established.
#   server_only: the server side's TLS and RDP PDUs up to the active state; the
#   client's FIN shows only as the server side's ACK one past the client's last
#   byte. When the client resets right after its FIN (unread bytes in its
#   socket) before that ACK (@unacked: the wire oracle finds no ACK of the
#   FIN), this half holds no close at all: still_open, none, in established.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lab_init 01_healthy

lab_xrdp_start security_layer=tls "ssl_protocols=TLSv1.2, TLSv1.3"

# a. direct
lab_begin 01_healthy_tls
lab_xfreerdp 15 /sec:tls /cert:ignore +auth-only
lab_client_expect 0 'Authentication only, exit status 0'
lab_log_expect xrdp "$LAB_WORK/xrdp/xrdp.log" \
    'Security protocol: configured \[SSL\], requested \[SSL\|RDP\], selected \[SSL\]' 'TLS connection established from'
lab_expect 01_healthy_tls normal_close \
    rdpwhy.closed_by=client rdpwhy.close_kind=fin rdpwhy.phase=established \
    rdp.cookie="$LAB_USER" rdp.requested_protocols=ssl rdp.selected_protocol=ssl \
    tls.established=true '!tls.alert.description' \
    client_only:verdict=normal_close/client/fin/established \
    server_only:verdict=normal_close/client/fin/established \
    server_only@unacked:verdict=still_open/none/none/established \
    inline:destination.ip="$LAB_IP_HOST" inline:rdpwhy.original_destination.ip="$LAB_IP_HOST" \
    --note "xrdp 0.9 security_layer=tls (TLSv1.2+1.3, self-signed cert), xfreerdp 2 /sec:tls /cert:ignore +auth-only to the host's address through the transparent rdpwhy; full TLS handshake and RDP connection sequence, then the client closes"

# b. through HAProxy (mode tcp, balance rdp-cookie)
cat >"$LAB_WORK/haproxy.cfg" <<CFG
global
    log stdout format raw local0 info
    maxconn 100
defaults
    mode tcp
    log global
    log-format "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts cookie=%[var(sess.rdp_cookie)]"
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend rdp_in
    bind $LAB_IP_MB_G:3389
    tcp-request inspect-delay 5s
    tcp-request content set-var(sess.rdp_cookie) rdp_cookie(mstshash) if RDP_COOKIE
    tcp-request content accept if RDP_COOKIE
    default_backend rdp_hosts
backend rdp_hosts
    balance rdp-cookie
    persist rdp-cookie
    server host1 $LAB_IP_HOST:3389 check inter 10s
CFG
lab_haproxy_start "$LAB_WORK/haproxy.cfg"
lab_begin 01_healthy_haproxy
lab_xfreerdp 15 /v:"$LAB_IP_MB_G" /sec:tls /cert:ignore +auth-only
lab_client_expect 0 'Authentication only, exit status 0'
lab_log_expect xrdp "$LAB_WORK/xrdp/xrdp.log" "TLS connection established from ${LAB_IP_MB_H//./\\.} "
# HAProxy logs a session when both its sides have closed; it balanced on the
# cookie: its log line names it and the server.
lab_log_expect HAProxy "$LAB_WORK/haproxy.log" "rdp_in rdp_hosts/host1 .* cookie=$LAB_USER\$"
lab_expect 01_healthy_haproxy normal_close \
    rdpwhy.closed_by=client rdpwhy.close_kind=fin rdpwhy.phase=established \
    rdp.cookie="$LAB_USER" rdp.requested_protocols=ssl rdp.selected_protocol=ssl \
    tls.established=true '!tls.alert.description' \
    client_only:verdict=normal_close/client/fin/established \
    server_only:verdict=normal_close/client/fin/established \
    server_only@unacked:verdict=still_open/none/none/established \
    inline:destination.ip="$LAB_IP_MB_G" \
    --note "HAProxy 2.6 in the middlebox ns, mode tcp, balance rdp-cookie, tcp-request inspect-delay 5s + content accept if RDP_COOKIE, one server = xrdp (security_layer=tls); xfreerdp /sec:tls /cert:ignore +auth-only /u:$LAB_USER to the HAProxy address; the mstshash cookie is what HAProxy balances on"
lab_haproxy_stop

lab_finish
