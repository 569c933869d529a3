#!/usr/bin/env bash
# 12_hung_host — the host accepts TCP and never answers the X.224 request.
#
# The host runs `socat TCP-LISTEN:3389,fork,reuseaddr EXEC:'sleep 60'`: every
# connection is accepted and its bytes go to a `sleep` that never reads nor
# writes (a hung TermService, a port forwarded to the wrong thing). xfreerdp
# /sec:tls sends its Connection Request and waits (FreeRDP has no timeout for
# the Connection Confirm). rdpwhy runs with --set x224_timeout=4s (clearly past
# rdpwhy's 3 s X.224 patience, so the capture verdicts do not straddle it).
#
#   Inline: no Connection Confirm before the 4 s timeout -> x224_no_response,
#   closed_by proxy, close_kind timeout, phase x224. rdpwhy then closes both
#   legs with FIN.
#   Client-side capture (12_hung_host): the client's request, the gateway's
#   ACK, 4 s of silence, then a FIN "from the host" (rdpwhy's, on its
#   timeout): x224_no_response, closed_by server, with the evidence "then the
#   server side closed: a proxy or load balancer timeout".
#   Gateway—middlebox capture (12_hung_host_path, interface gm): rdpwhy's own
#   request to the host, the host's ACK, silence, then rdpwhy's FIN after 4 s
#   (and socat's FIN 0.5 s later) -> x224_no_response, closed_by client.
# The path captures: lab_path_capture_start / lab_path_expect (lib.sh).
# The fault, checked first: socat (-d -d) logs that it accepted the proxy's
# connection (so the host did accept TCP and then said nothing); xfreerdp
# exits 147 (XF_EXIT_CONNECT_TRANSPORT_FAILED) when rdpwhy's FIN comes.
# Timing: the 4 s timer never fires early, but late by up to hundreds of ms on
# a loaded 2-core machine or under ASan: the evidence may say 3900-4999 ms
# (the lower margin: timestamps of the capture vs the proxy's clock).
# One-direction captures of the client's veth (tcpdump -Q; lib.sh), as the
# client-side capture: client_only: the request, 4 s later the client's ACK of
# the server side's FIN (no byte before it); server_only: the request
# acknowledged (the client's first bytes), 4 s of silence, the server side's
# FIN -> x224_no_response, server, fin, x224, not high.
#
# 12_hung_host_fixed — the fix page's change (issue #17): x224_no_response's
# "Change it" restarts the RDP service (`systemctl restart xrdp`, read from
# docs/causes.md; Windows: Restart-Service TermService). The lab's hung service
# is socat; the restart is emulated as what it does on a real host: the hung
# process ends and the RDP service starts again (xrdp, security_layer=tls). The
# page's command itself cannot be wrong here, only missing (the test then
# fails): this re-run checks that the lab's verdict clears once the service
# answers. Then the same client -> normal_close, client, fin, established; the
# halves (LAB_FIXED_HALVES=1) as in 01_healthy. The fix, checked first: xfreerdp exits 0, xrdp logs
# the TLS connection.
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lab_init 12_hung_host
lab_need socat:socat

lab_daemon socat "$LAB_NS_HOST" 3389 socat -d -d TCP-LISTEN:3389,fork,reuseaddr "EXEC:sleep 60"
lab_begin 12_hung_host --set x224_timeout=4s
lab_path_capture_start "$LAB_NS_GW" "$LAB_IF_GW_M"
lab_xfreerdp 8 /sec:tls /cert:ignore +auth-only
lab_log_expect socat "$LAB_WORK/socat.log" "accepting connection from AF=2 ${LAB_IP_GW_M//./\\.}:"
lab_client_expect 147 ERRCONNECT_CONNECT_TRANSPORT_FAILED
lab_expect 12_hung_host x224_no_response \
    rdpwhy.phase=x224 rdp.requested_protocols=ssl destination.bytes=0 !rdp.selected_protocol \
    inline:rdpwhy.closed_by=proxy inline:rdpwhy.close_kind=timeout \
    "inline:rdpwhy.evidence~no X.224 Connection Confirm before the timeout \\((39[0-9]{2}|4[0-9]{3}) ms\\)" \
    capture:rdpwhy.closed_by=server capture:rdpwhy.close_kind=fin \
    "capture:rdpwhy.evidence~no X.224 Connection Confirm (39[0-9]{2}|4[0-9]{3}) ms after the request,then the server side closed" \
    client_only:verdict=x224_no_response/server/fin/x224 server_only:verdict=x224_no_response/server/fin/x224 \
    --note "the host's port 3389 is socat TCP-LISTEN EXEC:'sleep 60' (accepts, never answers); xfreerdp /sec:tls; rdpwhy x224_timeout=4s; capture on the client's veth: the request, 4 s of silence, then rdpwhy's FIN on its timeout, which on this wire is the server side's FIN"
lab_path_expect 12_hung_host_path x224_no_response \
    rdpwhy.phase=x224 inline:rdpwhy.closed_by=proxy inline:rdpwhy.close_kind=timeout \
    capture:rdpwhy.closed_by=client capture:rdpwhy.close_kind=fin \
    "capture:rdpwhy.evidence~no X.224 Connection Confirm (39[0-9]{2}|4[0-9]{3}) ms after the request" \
    --note "as 12_hung_host.pcap, captured between gateway and middlebox (gm): rdpwhy's request to the host is ACKed and never answered; rdpwhy closes with FIN after its 4 s x224_timeout, socat's FIN follows"

# fixed: the hung service restarted (the page's `systemctl restart xrdp`)
# shellcheck disable=SC2016 # the page's backquotes, verbatim
lab_fix_has x224_no_response xrdp: '`systemctl restart xrdp`'
lab_log "fix page: systemctl restart xrdp (the lab's hung service, socat, ends; xrdp starts)"
lab_daemon_stop socat
lab_xrdp_start security_layer=tls
lab_begin_fixed 12_hung_host_fixed --set x224_timeout=4s
lab_xfreerdp 15 /sec:tls /cert:ignore +auth-only
lab_fixed_client_ok
lab_log_expect xrdp "$LAB_WORK/xrdp/xrdp.log" 'TLS connection established from'
lab_expect_fixed 12_hung_host_fixed \
    rdp.requested_protocols=ssl rdp.selected_protocol=ssl tls.established=true \
    --note "as 12_hung_host after the restart docs/causes.md gives (the hung listener replaced by xrdp)"
lab_finish
