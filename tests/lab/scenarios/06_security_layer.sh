#!/usr/bin/env bash
# 06_security_layer — the host refuses the security layer the client asks for.
#
# xrdp 0.9 never answers with RDP_NEG_FAILURE here; what it does instead:
#   a. 06_sec_tls_only: xrdp security_layer=tls, xfreerdp /sec:rdp. FreeRDP
#      asks for standard RDP security the legacy way: its Connection Request
#      carries the mstshash cookie and NO RDP_NEG_REQ. xrdp logs "Server
#      requires TLS for security, but the client did not request TLS" but, with
#      no RDP_NEG_REQ to answer, it cannot send RDP_NEG_FAILURE: it sends a bare
#      Connection Confirm (no negotiation data, i.e. legacy PROTOCOL_RDP), the
#      client sends its MCS Connect Initial, and xrdp, within a millisecond of
#      the CC and without reading anything, sends an MCS Disconnect Provider
#      Ultimatum and closes. A race decides how the close looks: when the
#      Connect Initial reached xrdp's socket before the close, the kernel sends
#      an RST (unread data), otherwise a FIN. Either way closed_by server,
#      phase rdp; rdpwhy reads "no RDP_NEG_REQ, bare CC, server gone within a
#      second with at most a Disconnect Ultimatum" as
#      security_negotiation_failure.
#      A second race decides who closes first on the client's wire: FreeRDP
#      reads the Ultimatum and closes at once, and its FIN can leave before
#      the host's FIN reaches it (the proxy relays the Ultimatum and the FIN
#      apart; seen in CI): the client's close then answers the host's
#      goodbye, and the capture names the closer its packets show (as
#      11_nla_failure does).
#      Stated: cause security_negotiation_failure in every race; closed_by
#      server, or client when its FIN came first on the wire (inline, the
#      proxy sees the host's FIN first); close_kind rst|fin (the race above; the proxy passes an RST on
#      as an RST and a FIN as a FIN, so the client's wire shows the same kind,
#      and the wire oracle says which one this capture holds); phase rdp (the
#      CC was sent, no MCS Connect Response); requested rdp (no RDP_NEG_REQ)
#      and selected rdp (a CC without negotiation data: standard RDP security,
#      MS-RDPBCGR 2.2.1.2).
#      The fault, checked first: xrdp logs "Server requires TLS for security,
#      but the client did not request TLS" and selected no protocol; xfreerdp
#      loses the connection before any MCS Connect Response (its log says
#      "mcs_recv_connect_response failure" or "Connection reset by peer",
#      depending on the race) and exits 147 (XF_EXIT_CONNECT_TRANSPORT_FAILED).
#   b. 06_sec_rdp_only: xrdp security_layer=rdp, xfreerdp /sec:tls. The CR
#      requests SSL only; xrdp's Connection Confirm carries RDP_NEG_RSP with
#      selectedProtocol PROTOCOL_RDP (0), which the client did not request;
#      FreeRDP logs "Protocol Security Negotiation Failure" and sends FIN.
#      rdpwhy: security_negotiation_failure, phase x224, selected rdp,
#      closed_by client, close_kind fin, inline and from the capture.
#      The fault, checked first: xrdp logs "Security protocol: configured
#      [RDP], requested [SSL|RDP], selected [RDP]"; xfreerdp logs "Protocol
#      Security Negotiation Failure" and exits 133 (XF_EXIT_NEGO_FAILURE).
# One-direction captures (tcpdump -Q on the client's veth; lib.sh):
#   a. server_only: the bare CC, the Ultimatum and the server side's close are
#      all in this half; the client's request is its unseen first bytes. A
#      server answers without negotiation data only to a request without
#      RDP_NEG_REQ (MS-RDPBCGR 3.3.5.3.2), so the bare CC itself says the
#      client asked for standard RDP security -> security_negotiation_failure,
#      server, rst|fin (as on the wire), rdp.
#      client_only: the request without RDP_NEG_REQ and the MCS Connect
#      Initial; the server's bytes only as the client's ACKs. When the server
#      side reset (@rst), nothing acknowledges an RST and FreeRDP, reset,
#      sends nothing more: the half just stops after the Connect Initial:
#      still_open, none, rdp. When it closed with FIN (@fin), the client
#      acknowledged 11 bytes (a bare CC: 4 TPKT + 7 X.224, no negotiation
#      data), the Ultimatum and the FIN within a second of the CC:
#      security_negotiation_failure, server, fin, rdp, not high; when the
#      client's FIN went first (after acknowledging the Ultimatum), the same
#      with closed_by client.
#   b. server_only: the CC selecting PROTOCOL_RDP, then the client's FIN as
#      the server side's ACK; the request is unseen, so whether the client
#      asked for RDP is not in this half, only that it closed at once without
#      starting the selected protocol: security_negotiation_failure, client,
#      fin, x224, not high (a client FIN the server side never acknowledged,
#      @unacked, is not in this half: still_open, none, x224).
#      client_only: the request for SSL, then 19 acknowledged bytes (a CC with
#      an 8-byte RDP_NEG_RSP or RDP_NEG_FAILURE) and the client's FIN within
#      milliseconds, no ClientHello: had the CC selected SSL, TLS would have
#      followed; a client that drops its connection on the server's answer is
#      refused by it or refuses its choice -> security_negotiation_failure,
#      client, fin, x224, low (the CC is not seen), client_cancelled the
#      alternative.
#
# The fixed re-runs (issue #17), the changes of security_negotiation_failure's
# "Change it", read from docs/causes.md:
#   06_sec_tls_only_fixed, after a: the FreeRDP bullet (`/sec:tls`, to match
#   the host) in place of a's /sec:rdp, a's host unchanged (security_layer=tls):
#   TLS, the connection completes, +auth-only disconnects -> normal_close,
#   client, fin, established, requested and selected ssl; the halves (LAB_FIXED_HALVES=1) as in
#   01_healthy. (The xrdp bullet's security_layer=negotiate does not fix a:
#   xrdp then accepts a's standard RDP security, but xrdp 0.9.21 and FreeRDP
#   2.11 fail right after the MCS exchange on it, "MAC checksum error for
#   non-FIPS PDU", with or without rdpwhy between them: the record becomes
#   rdp_closed_by_server in phase rdp. The page now says a client asking for
#   standard RDP security is fixed on the client.)
#   06_sec_rdp_only_fixed, after b: the xrdp bullet (`security_layer=negotiate`)
#   written over the host's security_layer line, xrdp restarted, b's client
#   (/sec:tls): the host now selects SSL -> the same statement as above.
# The fix, checked first: xfreerdp exits 0; xrdp's "Security protocol" line
# says selected [SSL], and it logs the TLS connection.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lab_init 06_security_layer

lab_xrdp_start security_layer=tls
lab_begin 06_sec_tls_only
lab_xfreerdp 15 /sec:rdp +auth-only
lab_client_expect 147 ERRCONNECT_CONNECT_TRANSPORT_FAILED
lab_log_expect xrdp "$LAB_WORK/xrdp/xrdp.log" 'Server requires TLS for security, but the client did not request TLS' \
    'Security protocol: configured \[SSL\], requested \[RDP\], selected \[\]'
lab_expect 06_sec_tls_only security_negotiation_failure \
    'rdpwhy.closed_by=server|client' 'rdpwhy.close_kind=rst|fin' rdpwhy.phase=rdp '!tls.alert.description' \
    rdp.requested_protocols=rdp rdp.selected_protocol=rdp \
    'server_only:verdict=security_negotiation_failure/server/rst|fin/rdp' \
    client_only@rst:verdict=still_open/none/none/rdp \
    'client_only@fin:verdict=security_negotiation_failure/server|client/fin/rdp' \
    --note "xrdp security_layer=tls, xfreerdp /sec:rdp: CR with cookie only (no RDP_NEG_REQ, legacy standard RDP security); xrdp logs 'Server requires TLS for security, but the client did not request TLS' yet sends a bare CC (no RDP_NEG_FAILURE: nothing to answer) and right after it an MCS Disconnect Provider Ultimatum and a close (RST if the client's MCS Connect Initial arrived first, else FIN: a race). Cause: security layer refused: security_negotiation_failure."

# fixed a: the fix page's FreeRDP change (/sec:tls to match the host), a's host unchanged
sec=$(lab_fix_code security_negotiation_failure FreeRDP: '^/sec:tls$')
lab_begin_fixed 06_sec_tls_only_fixed
lab_xfreerdp 15 "$sec" /cert:ignore +auth-only
lab_fixed_client_ok
lab_log_expect xrdp "$LAB_WORK/xrdp/xrdp.log" 'Security protocol: configured \[SSL\], requested \[SSL\|RDP\], selected \[SSL\]' \
    'TLS connection established from'
lab_expect_fixed 06_sec_tls_only_fixed \
    rdp.requested_protocols=ssl rdp.selected_protocol=ssl tls.established=true \
    --note "as 06_sec_tls_only after docs/causes.md's FreeRDP change (/sec:tls instead of /sec:rdp, to match the TLS host)"
lab_xrdp_stop

lab_xrdp_start security_layer=rdp
lab_begin 06_sec_rdp_only
lab_xfreerdp 15 /sec:tls /cert:ignore +auth-only
lab_client_expect 133 'Protocol Security Negotiation Failure' ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED
lab_log_expect xrdp "$LAB_WORK/xrdp/xrdp.log" 'Security protocol: configured \[RDP\], requested \[SSL\|RDP\], selected \[RDP\]'
lab_expect 06_sec_rdp_only security_negotiation_failure \
    rdpwhy.closed_by=client rdpwhy.close_kind=fin rdpwhy.phase=x224 \
    rdp.requested_protocols=ssl rdp.selected_protocol=rdp \
    server_only:verdict=security_negotiation_failure/client/fin/x224 server_only:rdp.selected_protocol=rdp \
    server_only@unacked:verdict=still_open/none/none/x224 \
    client_only:verdict=security_negotiation_failure/client/fin/x224 client_only:rdpwhy.confidence=low \
    client_only:rdpwhy.alternatives~client_cancelled client_only:rdp.requested_protocols=ssl \
    --note "xrdp security_layer=rdp, xfreerdp /sec:tls: CR requests SSL only, xrdp's CC selects PROTOCOL_RDP (no RDP_NEG_FAILURE); the client closes after the CC"

# fixed b: the fix page's xrdp change, then b's client
lab_fix_has security_negotiation_failure xrdp: 'systemctl restart xrdp'
lab_xrdp_ini_set "$(lab_fix_code security_negotiation_failure xrdp: '^security_layer=')"
lab_fix_service 'systemctl restart xrdp'
lab_begin_fixed 06_sec_rdp_only_fixed
lab_xfreerdp 15 /sec:tls /cert:ignore +auth-only
lab_fixed_client_ok
lab_log_expect xrdp "$LAB_WORK/xrdp/xrdp.log" 'Security protocol: configured \[SSL\|RDP\], requested \[SSL\|RDP\], selected \[SSL\]' \
    'TLS connection established from'
lab_expect_fixed 06_sec_rdp_only_fixed \
    rdp.requested_protocols=ssl rdp.selected_protocol=ssl tls.established=true \
    --note "as 06_sec_rdp_only after docs/causes.md's xrdp change (security_layer=negotiate, restarted): the /sec:tls client gets TLS"
lab_finish
