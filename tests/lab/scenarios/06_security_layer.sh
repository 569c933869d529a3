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
#      Stated: cause security_negotiation_failure in both races; closed_by
#      server; close_kind rst|fin (the race above; the proxy passes an RST on
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
    rdpwhy.closed_by=server 'rdpwhy.close_kind=rst|fin' rdpwhy.phase=rdp '!tls.alert.description' \
    rdp.requested_protocols=rdp rdp.selected_protocol=rdp \
    --note "xrdp security_layer=tls, xfreerdp /sec:rdp: CR with cookie only (no RDP_NEG_REQ, legacy standard RDP security); xrdp logs 'Server requires TLS for security, but the client did not request TLS' yet sends a bare CC (no RDP_NEG_FAILURE: nothing to answer) and right after it an MCS Disconnect Provider Ultimatum and a close (RST if the client's MCS Connect Initial arrived first, else FIN: a race). Cause: security layer refused: security_negotiation_failure."
lab_xrdp_stop

lab_xrdp_start security_layer=rdp
lab_begin 06_sec_rdp_only
lab_xfreerdp 15 /sec:tls /cert:ignore +auth-only
lab_client_expect 133 'Protocol Security Negotiation Failure' ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED
lab_log_expect xrdp "$LAB_WORK/xrdp/xrdp.log" 'Security protocol: configured \[RDP\], requested \[SSL\|RDP\], selected \[RDP\]'
lab_expect 06_sec_rdp_only security_negotiation_failure \
    rdpwhy.closed_by=client rdpwhy.close_kind=fin rdpwhy.phase=x224 \
    rdp.requested_protocols=ssl rdp.selected_protocol=rdp \
    --note "xrdp security_layer=rdp, xfreerdp /sec:tls: CR requests SSL only, xrdp's CC selects PROTOCOL_RDP (no RDP_NEG_FAILURE); the client closes after the CC"
lab_finish
