/* mstsc's disconnect codes, from Microsoft's tables, mapped to rdpwhy causes.
 *
 * Sources (names, values and meanings are taken from these, never guessed):
 * - disconnect reasons: IMsTscAxEvents::OnDisconnected, discReason
 *   https://learn.microsoft.com/en-us/windows/win32/termserv/imstscaxevents-ondisconnected
 * - extended reasons: the ExtendedDisconnectReasonCode enumeration
 *   https://learn.microsoft.com/en-us/windows/win32/termserv/extendeddisconnectreasoncode
 *   whose values are the errorInfo of the server's Set Error Info PDU,
 *   MS-RDPBCGR 2.2.5.1.1 (TS_SET_ERROR_INFO_PDU): protocol-independent,
 *   licensing, Connection Broker and RDP-specific codes
 *   https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-rdpbcgr/a21a1bd9-2303-49c1-90ec-3932435c248c
 *
 * The readings (which causes, in which order, how to tell them apart) are
 * rdpwhy's own reasoning from the protocol: what each code implies about how
 * far the connection got and who closed it. */
#include "mstsc_codes.h"

#define CAUSES(...)                                                                                \
	.n_causes = sizeof((enum rw_cause[]){__VA_ARGS__}) / sizeof(enum rw_cause),                \
	.causes = {__VA_ARGS__}

/* --- Readings of the disconnect reasons ---------------------------------- */

static const struct rw_mstsc_reading d_none = {
        .wire = "mstsc recorded no reason. Nothing is known from the code; the wire must say.",
        .tell = "Replay a capture of the attempt (rdpwhy replay) or run it through rdpwhy proxy, "
                "and read rdpwhy.cause.",
};

static const struct rw_mstsc_reading d_user = {
        .wire = "Not an error: the user or the application ended the session, on the client "
                "(0x1) or inside the remote session (0x2).",
        .tell = "normal_close when rdpwhy.phase is established; client_cancelled when the "
                "client left during set-up.",
        CAUSES(RW_CAUSE_NORMAL_CLOSE, RW_CAUSE_CLIENT_CANCELLED),
};

static const struct rw_mstsc_reading d_server = {
        .wire = "The server ended the session (not an error code): an administrator, a session "
                "time limit, a logoff, another connection taking the session over. The extended "
                "code says which: it is the errorInfo of the server's Set Error Info PDU, sent "
                "inside the encrypted channel.",
        .tell = "rdpwhy sees the server's FIN: normal_close once established, "
                "rdp_closed_by_server during the connection sequence (rdpwhy.phase rdp). The "
                "errorInfo itself is encrypted: rdpwhy reads it only with inspection with the "
                "host's key (rdpwhy proxy --inspect-cert/--inspect-key), which names the "
                "errorInfo's cause (session_ended_by_host, session_time_limit...).",
        CAUSES(RW_CAUSE_NORMAL_CLOSE, RW_CAUSE_RDP_CLOSED_BY_SERVER, RW_CAUSE_SESSION_ENDED_BY_HOST,
               RW_CAUSE_SESSION_TIME_LIMIT),
};

static const struct rw_mstsc_reading d_name = {
        .wire = "The client could not resolve the host name: no packet went to the RDP port, so "
                "neither a capture of it nor the proxy sees anything.",
        .tell = "Check the name the client uses (nslookup NAME on the client); rdpwhy probe NAME "
                "resolves it too and exits 2 when it does not resolve.",
};

static const struct rw_mstsc_reading d_addr = {
        .wire = "The address given to the client is not valid: nothing went on the wire.",
        .tell = "Check the address in the client's connection settings (or the .rdp file).",
};

static const struct rw_mstsc_reading d_local = {
        .wire = "A failure inside the client (memory, an internal or timer error, decompressing "
                "what the server sent): not a network cause.",
        .tell = "If it repeats, a capture shows whether the connection itself was healthy "
                "(rdpwhy.cause normal_close, or still_open when the capture ended first); "
                "update or restart the client.",
};

static const struct rw_mstsc_reading d_connect = {
        .wire = "The TCP connection was never made: the SYN was refused or never answered.",
        .tell = "rdpwhy.phase tcp_connect; rdpwhy.close_kind refused (an RST answered the SYN: "
                "nothing listens, or a firewall rejects) or unreachable (SYN retransmitted, never "
                "answered: a firewall drops, or the route is wrong). rdpwhy probe HOST tries the "
                "same from where it runs (rdpwhy.probe.tcp).",
        CAUSES(RW_CAUSE_UPSTREAM_REFUSED, RW_CAUSE_UPSTREAM_UNREACHABLE),
};

static const struct rw_mstsc_reading d_timeout = {
        .wire = "The client gave up waiting: for the TCP connection, or for an answer during "
                "connection set-up.",
        .tell = "rdpwhy.phase says where it stopped: tcp_connect (upstream_unreachable), x224 "
                "(x224_no_response: the host never answered the Connection Request), "
                "tls_handshake or nla (handshake_timeout; mtu_blackhole when a capture shows "
                "full-size segments retransmitted, rdpwhy.tcp.largest_retransmit.*). Through "
                "the proxy, rdpwhy.proxy.waiting_for says whether the network (data "
                "unacknowledged) or the peer was silent; peer_vanished when the kernel gave up "
                "on a leg.",
        CAUSES(RW_CAUSE_UPSTREAM_UNREACHABLE, RW_CAUSE_X224_NO_RESPONSE, RW_CAUSE_HANDSHAKE_TIMEOUT,
               RW_CAUSE_MTU_BLACKHOLE, RW_CAUSE_PEER_VANISHED),
};

static const struct rw_mstsc_reading d_sockerr = {
        .wire = "A send or receive on the client's socket failed: the connection was reset, or "
                "the network stopped delivering.",
        .tell = "An RST from the server (rdpwhy.close_kind rst, rdpwhy.closed_by server): the "
                "phase names the cause (tls_rejected_without_alert in tls_handshake, "
                "x224_closed_by_server in x224, reset_by_server later); reset_injected when a "
                "capture shows the RST's IP TTL differing from the server's own packets. No "
                "RST: peer_vanished (proxy: rdpwhy.proxy.lost) or mtu_blackhole (capture: "
                "rdpwhy.tcp.retransmits.*).",
        CAUSES(RW_CAUSE_RESET_BY_SERVER, RW_CAUSE_RESET_INJECTED,
               RW_CAUSE_TLS_REJECTED_WITHOUT_ALERT, RW_CAUSE_X224_CLOSED_BY_SERVER,
               RW_CAUSE_PEER_VANISHED, RW_CAUSE_MTU_BLACKHOLE),
};

/* 0x904 with no extended reason: the far side (or something on the path)
 * closed the connection, mostly during set-up, without an RDP-level reason. */
static const struct rw_mstsc_reading d_closed = {
        .wire = "The connection was closed from the other end (a FIN, or a reset) when mstsc did "
                "not expect it, mostly during connection set-up. Without an extended code the "
                "server gave no reason on the RDP level: the wire must say which.",
        .tell = "rdpwhy.phase and the record's facts: x224 with rdp.neg_failure "
                "(security_negotiation_failure), TLS bytes answering the request "
                "(tls_terminating_middlebox) or no answer (x224_closed_by_server); tls_handshake "
                "with the server's alert in tls.alert.description (70: "
                "tls_protocol_version_mismatch, 40/71: tls_cipher_mismatch), no alert "
                "(tls_rejected_without_alert), or a ServerHello contradicting the ClientHello "
                "(tls_stream_altered); nla (nla_failed); rdp (rdp_closed_by_server). An RST whose "
                "TTL differs from the host's packets is reset_injected (captures only). rdpwhy "
                "probe HOST lists the security layers, TLS versions and suites the host accepts "
                "and which clients it refuses.",
        CAUSES(RW_CAUSE_TLS_REJECTED_WITHOUT_ALERT, RW_CAUSE_TLS_PROTOCOL_VERSION_MISMATCH,
               RW_CAUSE_TLS_CIPHER_MISMATCH, RW_CAUSE_SECURITY_NEGOTIATION_FAILURE,
               RW_CAUSE_TLS_TERMINATING_MIDDLEBOX, RW_CAUSE_X224_CLOSED_BY_SERVER,
               RW_CAUSE_RESET_INJECTED, RW_CAUSE_TLS_STREAM_ALTERED, RW_CAUSE_NLA_FAILED,
               RW_CAUSE_HANDSHAKE_TIMEOUT, RW_CAUSE_RDP_CLOSED_BY_SERVER, RW_CAUSE_RESET_BY_SERVER),
};

static const struct rw_mstsc_reading d_security = {
        .wire = "The client's security layer failed on what the server sent: Standard RDP "
                "Security data or its certificate (0x406, 0x506, 0x606, 0x706), or an internal "
                "error of the security layer (0x906, 0xA06). The client closes.",
        .tell = "rdpwhy.closed_by client; rdp.selected_protocol says which layer was chosen. "
                "TLS (ssl, hybrid): tls.alert.from client with tls.alert.description, "
                "tls.version and tls.cipher. Standard RDP Security (rdp): the client's close "
                "in phase rdp reads as normal_close or reset_by_client, since the data it "
                "refused is not decoded; rdpwhy probe HOST lists the encryption methods the host "
                "accepts (rdpwhy.probe.rdp_encryption).",
        CAUSES(RW_CAUSE_SECURITY_NEGOTIATION_FAILURE, RW_CAUSE_TLS_PROTOCOL_VERSION_MISMATCH,
               RW_CAUSE_TLS_CIPHER_MISMATCH, RW_CAUSE_TLS_STREAM_ALTERED,
               RW_CAUSE_CERTIFICATE_REJECTED_BY_CLIENT, RW_CAUSE_TLS_ALERT,
               RW_CAUSE_RESET_BY_CLIENT),
};

static const struct rw_mstsc_reading d_crypto = {
        .wire = "Encrypting or decrypting session data failed at the client.",
        .tell = "The client closes in rdp or established (reset_by_client, normal_close). With "
                "TLS, bytes changed on the way fail TLS's own integrity check: a device that "
                "rewrites RDP (tls_stream_altered when it shows in the handshake). "
                "rdp.selected_protocol says which layer was in use.",
        CAUSES(RW_CAUSE_TLS_STREAM_ALTERED, RW_CAUSE_RESET_BY_CLIENT, RW_CAUSE_NORMAL_CLOSE),
};

static const struct rw_mstsc_reading d_licensing = {
        .wire = "Licensing failed or timed out: a step of the RDP connection sequence after the "
                "security layer, inside the encrypted channel.",
        .tell = "rdpwhy.phase rdp and the server's close: rdp_closed_by_server (a proxy phase "
                "timeout there: handshake_timeout). The licensing messages are encrypted; the "
                "host's RD Licensing configuration and log say why.",
        CAUSES(RW_CAUSE_RDP_CLOSED_BY_SERVER, RW_CAUSE_HANDSHAKE_TIMEOUT),
};

static const struct rw_mstsc_reading d_logon = {
        .wire = "NLA (CredSSP, inside TLS) failed: the logon was refused, or no authority could "
                "check it.",
        .tell = "rdpwhy.phase nla: nla_failed. The reason (an NTSTATUS) is inside TLS: "
                "inspection with the host's key reads it (nla_logon_failure, "
                "nla_no_authority...); the host's Security log (event 4625) names it too. rdpwhy "
                "probe HOST reads the host's clock "
                "from NTLM (rdp.nla.host_clock_offset_s): beyond 5 minutes Kerberos logons fail "
                "(clock_skew).",
        CAUSES(RW_CAUSE_NLA_FAILED, RW_CAUSE_CLOCK_SKEW, RW_CAUSE_NLA_LOGON_FAILURE,
               RW_CAUSE_NLA_NO_AUTHORITY),
};

static const struct rw_mstsc_reading d_account = {
        .wire = "NLA (CredSSP, inside TLS) refused the account: disabled, expired, locked out, "
                "restricted, unknown, its password expired or to be changed, fresh credentials "
                "required, or the smart card blocked or its PIN wrong.",
        .tell = "rdpwhy.phase nla: nla_failed (the client may hang up first, right after the "
                "host's error-sized answer). The account's state is on the domain controller or "
                "the host (Security log, event 4625), not on the network; inspection with the "
                "host's key reads the NTSTATUS (nla_account_disabled, nla_account_locked_out, "
                "nla_password_expired...).",
        CAUSES(RW_CAUSE_NLA_FAILED, RW_CAUSE_CLIENT_CANCELLED, RW_CAUSE_NLA_LOGON_FAILURE,
               RW_CAUSE_NLA_ACCOUNT_DISABLED, RW_CAUSE_NLA_ACCOUNT_RESTRICTED,
               RW_CAUSE_NLA_ACCOUNT_LOCKED_OUT, RW_CAUSE_NLA_ACCOUNT_EXPIRED,
               RW_CAUSE_NLA_PASSWORD_EXPIRED),
};

static const struct rw_mstsc_reading d_delegation = {
        .wire = "The client's own credential-delegation policy refused to hand its credentials "
                "to this host (CredSSP): a decision on the client, during NLA.",
        .tell = "The client closes first in phase nla without an error-sized answer from the "
                "host: client_cancelled. The change is on the client (Group Policy: System > "
                "Credentials Delegation), not on the network or the host.",
        CAUSES(RW_CAUSE_CLIENT_CANCELLED, RW_CAUSE_NLA_FAILED),
};

static const struct rw_mstsc_reading d_cert_expired = {
        .wire = "A certificate the client received is expired (the table does not say which: "
                "the host's TLS certificate or one used for the logon).",
        .tell = "certificate_expired when the host's TLS certificate is past its notAfter "
                "(cleartext up to TLS 1.2; rdpwhy probe HOST shows rdpwhy.probe.cert.days_left "
                "whatever the version); otherwise the logon certificate, in nla (nla_failed).",
        CAUSES(RW_CAUSE_CERTIFICATE_EXPIRED, RW_CAUSE_NLA_FAILED),
};

/* --- Readings of the extended reasons (errorInfo) ------------------------- */

static const struct rw_mstsc_reading e_none = {
        .wire = "No extended information: the server sent no errorInfo (or the connection ended "
                "before it could). The disconnect reason alone says what happened.",
        .tell = "See the disconnect reason.",
};

static const struct rw_mstsc_reading e_ended = {
        .wire = "The session was ended on the host on purpose (an administrative tool, a "
                "logoff, another connection taking the session over), announced in the server's "
                "Set Error Info PDU inside the encrypted channel.",
        .tell = "With inspection with the host's key: session_ended_by_host. Without, the "
                "server's FIN after established: normal_close (the errorInfo is encrypted); "
                "the host's TerminalServices-LocalSessionManager log says who.",
        CAUSES(RW_CAUSE_NORMAL_CLOSE, RW_CAUSE_RDP_CLOSED_BY_SERVER,
               RW_CAUSE_SESSION_ENDED_BY_HOST),
};

static const struct rw_mstsc_reading e_limit = {
        .wire = "A session time limit on the host elapsed (idle, or active session time), "
                "announced in the encrypted Set Error Info PDU.",
        .tell = "The server's FIN in established: normal_close. Not rdpwhy's own idle_timeout "
                "(rdpwhy.closed_by proxy, and the client gets no errorInfo). The host's limits: "
                "Group Policy Remote Desktop Session Host > Session Time Limits. With inspection "
                "with the host's key: session_time_limit.",
        CAUSES(RW_CAUSE_NORMAL_CLOSE, RW_CAUSE_SESSION_TIME_LIMIT),
};

/* 0x7 and its kin: a Set Error Info PDU only comes once the security layer is
 * up (MS-RDPBCGR 2.2.5.1: inside the MCS channel, encrypted), so the wire
 * shows the server's close in phase rdp and nothing more. */
static const struct rw_mstsc_reading e_denied = {
        .wire = "The host refused the connection on the RDP level, after the security layer "
                "(TLS, NLA) had completed. The Set Error Info PDU carrying the reason is "
                "encrypted: rdpwhy names the close rdp_closed_by_server; telling "
                "server_denied_connection (and the other errorInfo values) from the wire needs "
                "inspection with the host's key (issue #15: rdpwhy proxy "
                "--inspect-cert/--inspect-key), "
                "which reads it.",
        .tell = "rdpwhy.phase rdp, rdpwhy.closed_by server. If rdpwhy's record of the attempt "
                "ended earlier (x224, tls_handshake, nla), the server never got far enough to "
                "send errorInfo on that connection: the disconnect reason's causes (below) "
                "apply. The host's RemoteDesktopServices-RdpCoreTS and "
                "TerminalServices-RemoteConnectionManager logs name the refusal (the user's "
                "right to log on through Remote Desktop Services, the Remote Desktop Users "
                "group, a connection limit).",
        CAUSES(RW_CAUSE_RDP_CLOSED_BY_SERVER, RW_CAUSE_SERVER_DENIED_CONNECTION),
};

static const struct rw_mstsc_reading e_license = {
        .wire = "Licensing (MS-RDPELE) failed: a step of the RDP connection sequence after the "
                "security layer, inside the encrypted channel.",
        .tell = "rdpwhy.phase rdp, closed by the server: rdp_closed_by_server. The host's "
                "licensing mode, license server and CALs (RD Licensing Diagnoser, System log). "
                "With "
                "inspection with the host's key: rdp_licensing_failed.",
        CAUSES(RW_CAUSE_RDP_CLOSED_BY_SERVER, RW_CAUSE_RDP_LICENSING_FAILED),
};

static const struct rw_mstsc_reading e_broker = {
        .wire = "The Connection Broker could not place the connection on a target (not found, "
                "no free endpoint in the pool, a virtual machine that would not wake or start, "
                "routing-token settings it cannot validate).",
        .tell = "rdp.routing_token and rdp.cookie show what the client asked for in its X.224 "
                "Connection Request; the server's close follows (rdp_closed_by_server, or "
                "x224_closed_by_server when nothing answered the request). The Connection "
                "Broker's log says why.",
        CAUSES(RW_CAUSE_RDP_CLOSED_BY_SERVER, RW_CAUSE_X224_CLOSED_BY_SERVER,
               RW_CAUSE_CONNECTION_BROKER_FAILED),
};

static const struct rw_mstsc_reading e_hostfail = {
        .wire = "The session on the host failed (display driver, DWM, Winlogon, CSRSS) or the "
                "host is shutting down or rebooting: a host problem, not the network.",
        .tell = "The server's close in rdp (rdp_closed_by_server) or established (normal_close). "
                "The host's System and Application logs at that time.",
        CAUSES(RW_CAUSE_RDP_CLOSED_BY_SERVER, RW_CAUSE_NORMAL_CLOSE, RW_CAUSE_HOST_SESSION_FAILURE),
};

static const struct rw_mstsc_reading e_protocol = {
        .wire = "The host found an error in what the client sent in the RDP connection sequence "
                "or the session (a PDU it could not parse, capabilities, channels or a monitor "
                "layout it refused), inside the encrypted channel.",
        .tell = "The server's close in rdp (rdp_closed_by_server) or established (normal_close): "
                "client and host disagree on RDP itself, not the network. Update the client or "
                "leave out the feature concerned (monitors, RemoteApp, graphics mode); the "
                "host's RemoteDesktopServices-RdpCoreTS log.",
        CAUSES(RW_CAUSE_RDP_CLOSED_BY_SERVER, RW_CAUSE_NORMAL_CLOSE, RW_CAUSE_RDP_PROTOCOL_ERROR),
};

static const struct rw_mstsc_reading e_stdsec = {
        .wire = "Standard RDP Security (the RDP layer's own encryption, not TLS) failed: no "
                "common encryption method, or a session key, encryption or decryption failed.",
        .tell = "rdp.selected_protocol rdp (Standard RDP Security) and the server's close in rdp: "
                "rdp_closed_by_server. rdpwhy probe HOST lists the encryption methods the host "
                "accepts (rdpwhy.probe.rdp_encryption); requesting TLS or NLA avoids them.",
        CAUSES(RW_CAUSE_RDP_CLOSED_BY_SERVER, RW_CAUSE_SECURITY_NEGOTIATION_FAILURE,
               RW_CAUSE_RDP_PROTOCOL_ERROR),
};

static const struct rw_mstsc_reading e_credentials = {
        .wire = "Invalid credentials were encountered.",
        .tell = "With NLA, in phase nla: nla_failed. Without NLA the logon happens inside the "
                "session and the host closes later (rdp_closed_by_server). The host's Security "
                "log, event 4625.",
        CAUSES(RW_CAUSE_NLA_FAILED, RW_CAUSE_RDP_CLOSED_BY_SERVER, RW_CAUSE_NLA_LOGON_FAILURE),
};

/* --- The disconnect reasons: IMsTscAxEvents::OnDisconnected --------------- */

static const struct rw_mstsc_code disc[] = {
        {0x0, "disconnectReasonNoInfo", NULL, "No information is available.", &d_none},
        {0x1, "disconnectReasonLocalNotError", NULL, "Local disconnection (not an error code).",
         &d_user},
        {0x2, "disconnectReasonRemoteByUser", NULL,
         "Remote disconnection by user (not an error code).", &d_user},
        {0x3, "disconnectReasonByServer", NULL,
         "Remote disconnection by server (not an error code).", &d_server},
        {0x104, "disconnectReasonDNSLookupFailed", NULL, "DNS name lookup failure.", &d_name},
        {0x106, "disconnectReasonOutOfMemory", NULL, "Out of memory.", &d_local},
        {0x108, "disconnectReasonConnectionTimedOut", NULL, "Connection timed out.", &d_timeout},
        {0x204, "disconnectReasonSocketConnectFailed", NULL, "Windows Sockets connect failed.",
         &d_connect},
        {0x206, "disconnectReasonOutOfMemory2", NULL, "Out of memory.", &d_local},
        {0x208, "disconnectReasonHostNotFound", NULL, "Host not found error.", &d_name},
        {0x304, "disconnectReasonWinsockSendFailed", NULL, "Windows Sockets send call failed.",
         &d_sockerr},
        {0x306, "disconnectReasonOutOfMemory3", NULL, "Out of memory.", &d_local},
        {0x308, "disconnectReasonInvalidIPAddr", NULL, "The IP address specified is not valid.",
         &d_addr},
        {0x404, "disconnectReasonSocketRecvFailed", NULL, "Windows Sockets recv call failed.",
         &d_sockerr},
        {0x406, "disconnectReasonInvalidSecurityData", NULL, "Security data is not valid.",
         &d_security},
        {0x408, "disconnectReasonInternalError", NULL, "Internal error.", &d_local},
        {0x506, "disconnectReasonInvalidEncryption", NULL,
         "The encryption method specified is not valid.", &d_security},
        {0x508, "disconnectReasonDNSLookupFailed2", NULL, "DNS lookup failed.", &d_name},
        {0x604, "disconnectReasonGetHostByNameFailed", NULL,
         "Windows Sockets gethostbyname call failed.", &d_name},
        {0x606, "disconnectReasonInvalidServerSecurityInfo", NULL,
         "Server security data is not valid.", &d_security},
        {0x608, "disconnectReasonTimerError", NULL, "Internal timer error.", &d_local},
        {0x704, "disconnectReasonTimeoutOccurred", NULL, "Time-out occurred.", &d_timeout},
        {0x706, "disconnectReasonServerCertificateUnpackErr", NULL,
         "Failed to unpack server certificate.", &d_security},
        {0x804, "disconnectReasonInvalidIP", NULL, "Bad IP address specified.", &d_addr},
        {0x807, "SSL_ERR_LOGON_FAILURE", NULL, "Login failed.", &d_logon},
        {0x808, "disconnectReasonLicensingFailed", NULL, "License negotiation failed.",
         &d_licensing},
        {0x904, "disconnectReasonAtClientWinsockFDCLOSE", NULL, "Socket closed.", &d_closed},
        {0x906, "disconnectReasonInternalSecurityError", NULL, "Internal security error.",
         &d_security},
        {0x908, "disconnectReasonLicensingTimeout", NULL, "Licensing time-out.", &d_licensing},
        {0xA06, "disconnectReasonInternalSecurityError2", NULL, "Internal security error.",
         &d_security},
        {0xA07, "SSL_ERR_NO_SUCH_USER", NULL, "The specified user has no account.", &d_account},
        {0xB06, "disconnectReasonEncryptionError", NULL, "Encryption error.", &d_crypto},
        {0xB07, "SSL_ERR_ACCOUNT_DISABLED", NULL, "The account is disabled.", &d_account},
        {0xC06, "disconnectReasonDecryptionError", NULL, "Decryption error.", &d_crypto},
        {0xC07, "SSL_ERR_ACCOUNT_RESTRICTION", NULL, "The account is restricted.", &d_account},
        {0xC08, "disconnectReasonClientDecompressionError", NULL, "Decompression error.", &d_local},
        {0xD07, "SSL_ERR_ACCOUNT_LOCKED_OUT", NULL, "The account is locked out.", &d_account},
        {0xE07, "SSL_ERR_ACCOUNT_EXPIRED", NULL, "The account is expired.", &d_account},
        {0xF07, "SSL_ERR_PASSWORD_EXPIRED", NULL, "The password is expired.", &d_account},
        {0x1207, "SSL_ERR_PASSWORD_MUST_CHANGE", NULL,
         "The user password must be changed before logging on for the first time.", &d_account},
        {0x1607, "SSL_ERR_DELEGATION_POLICY", NULL,
         "The policy does not support delegation of credentials to the target server.",
         &d_delegation},
        {0x1707, "SSL_ERR_POLICY_NTLM_ONLY", NULL,
         "Delegation of credentials to the target server is not allowed unless mutual "
         "authentication has been achieved.",
         &d_delegation},
        {0x1807, "SSL_ERR_NO_AUTHENTICATING_AUTHORITY", NULL,
         "No authority could be contacted for authentication (wrong domain name, domain "
         "unreachable, or a trust relationship failure).",
         &d_logon},
        {0x1B07, "SSL_ERR_CERT_EXPIRED", NULL, "The received certificate is expired.",
         &d_cert_expired},
        {0x1C07, "SSL_ERR_SMARTCARD_WRONG_PIN", NULL,
         "An incorrect PIN was presented to the smart card.", &d_account},
        {0x2107, "SSL_ERR_FRESH_CRED_REQUIRED_BY_SERVER", NULL,
         "The server authentication policy does not allow connection requests using saved "
         "credentials; the user must enter new credentials.",
         &d_account},
        {0x2207, "SSL_ERR_SMARTCARD_CARD_BLOCKED", NULL, "The smart card is blocked.", &d_account},
};

/* --- The extended reasons: errorInfo (MS-RDPBCGR 2.2.5.1.1) and
 *     ExtendedDisconnectReasonCode, merged by value -------------------------- */

static const struct rw_mstsc_code ext[] = {
        /* Protocol-independent codes. */
        {0x0, "ERRINFO_NONE", "exDiscReasonNoInfo", "No error has occurred.", &e_none},
        {0x1, "ERRINFO_RPC_INITIATED_DISCONNECT", "exDiscReasonAPIInitiatedDisconnect",
         "The disconnection was initiated by an administrative tool on the server in another "
         "session.",
         &e_ended},
        {0x2, "ERRINFO_RPC_INITIATED_LOGOFF", "exDiscReasonAPIInitiatedLogoff",
         "A forced logoff initiated by an administrative tool on the server in another session.",
         &e_ended},
        {0x3, "ERRINFO_IDLE_TIMEOUT", "exDiscReasonServerIdleTimeout",
         "The idle session limit timer on the server has elapsed.", &e_limit},
        {0x4, "ERRINFO_LOGON_TIMEOUT", "exDiscReasonServerLogonTimeout",
         "The active session limit timer on the server has elapsed.", &e_limit},
        {0x5, "ERRINFO_DISCONNECTED_BY_OTHERCONNECTION", "exDiscReasonReplacedByOtherConnection",
         "Another user connected to the server, forcing the disconnection of the current "
         "connection.",
         &e_ended},
        {0x6, "ERRINFO_OUT_OF_MEMORY", "exDiscReasonOutOfMemory",
         "The server ran out of available memory resources.", &e_denied},
        {0x7, "ERRINFO_SERVER_DENIED_CONNECTION", "exDiscReasonServerDeniedConnection",
         "The server denied the connection.", &e_denied},
        {0x8, NULL, "exDiscReasonServerDeniedConnectionFips",
         "The server denied the connection for security reasons.", &e_denied},
        {0x9, "ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES", "exDiscReasonServerInsufficientPrivileges",
         "The user cannot connect to the server due to insufficient access privileges.", &e_denied},
        {0xA, "ERRINFO_SERVER_FRESH_CREDENTIALS_REQUIRED", "exDiscReasonServerFreshCredsRequired",
         "The server does not accept saved user credentials and requires that the user enter "
         "their credentials for each connection.",
         &e_denied},
        {0xB, "ERRINFO_RPC_INITIATED_DISCONNECT_BYUSER", "exDiscReasonRpcInitiatedDisconnectByUser",
         "The disconnection was initiated by an administrative tool on the server running in the "
         "user's session.",
         &e_ended},
        {0xC, "ERRINFO_LOGOFF_BY_USER", "exDiscReasonLogoffByUser",
         "The user logged off his or her session on the server.", &e_ended},
        {0xF, "ERRINFO_CLOSE_STACK_ON_DRIVER_NOT_READY", NULL,
         "The display driver in the remote session did not report any status within the time "
         "allotted for startup.",
         &e_hostfail},
        {0x10, "ERRINFO_SERVER_DWM_CRASH", NULL,
         "The DWM process running in the remote session terminated unexpectedly.", &e_hostfail},
        {0x11, "ERRINFO_CLOSE_STACK_ON_DRIVER_FAILURE", NULL,
         "The display driver in the remote session was unable to complete all the tasks required "
         "for startup.",
         &e_hostfail},
        {0x12, "ERRINFO_CLOSE_STACK_ON_DRIVER_IFACE_FAILURE", NULL,
         "The display driver in the remote session started up but, due to internal failures, "
         "was not usable by the remoting stack.",
         &e_hostfail},
        {0x17, "ERRINFO_SERVER_WINLOGON_CRASH", NULL,
         "The Winlogon process running in the remote session terminated unexpectedly.",
         &e_hostfail},
        {0x18, "ERRINFO_SERVER_CSRSS_CRASH", NULL,
         "The CSRSS process running in the remote session terminated unexpectedly.", &e_hostfail},
        {0x19, "ERRINFO_SERVER_SHUTDOWN", NULL, "The remote server is busy shutting down.",
         &e_hostfail},
        {0x1A, "ERRINFO_SERVER_REBOOT", NULL, "The remote server is busy rebooting.", &e_hostfail},
        /* Protocol-independent licensing codes. */
        {0x100, "ERRINFO_LICENSE_INTERNAL", "exDiscReasonLicenseInternal",
         "An internal error has occurred in the Terminal Services licensing component.",
         &e_license},
        {0x101, "ERRINFO_LICENSE_NO_LICENSE_SERVER", "exDiscReasonLicenseNoLicenseServer",
         "A Remote Desktop License Server could not be found to provide a license.", &e_license},
        {0x102, "ERRINFO_LICENSE_NO_LICENSE", "exDiscReasonLicenseNoLicense",
         "There are no Client Access Licenses available for the target remote computer.",
         &e_license},
        {0x103, "ERRINFO_LICENSE_BAD_CLIENT_MSG", "exDiscReasonLicenseErrClientMsg",
         "The remote computer received an invalid licensing message from the client.", &e_license},
        {0x104, "ERRINFO_LICENSE_HWID_DOESNT_MATCH_LICENSE",
         "exDiscReasonLicenseHwidDoesntMatchLicense",
         "The Client Access License stored by the client has been modified.", &e_license},
        {0x105, "ERRINFO_LICENSE_BAD_CLIENT_LICENSE", "exDiscReasonLicenseErrClientLicense",
         "The Client Access License stored by the client is in an invalid format.", &e_license},
        {0x106, "ERRINFO_LICENSE_CANT_FINISH_PROTOCOL", "exDiscReasonLicenseCantFinishProtocol",
         "Network problems have caused the licensing protocol to be terminated.", &e_license},
        {0x107, "ERRINFO_LICENSE_CLIENT_ENDED_PROTOCOL", "exDiscReasonLicenseClientEndedProtocol",
         "The client prematurely ended the licensing protocol.", &e_license},
        {0x108, "ERRINFO_LICENSE_BAD_CLIENT_ENCRYPTION", "exDiscReasonLicenseErrClientEncryption",
         "A licensing message was incorrectly encrypted.", &e_license},
        {0x109, "ERRINFO_LICENSE_CANT_UPGRADE_LICENSE", "exDiscReasonLicenseCantUpgradeLicense",
         "The Client Access License stored by the client could not be upgraded or renewed.",
         &e_license},
        {0x10A, "ERRINFO_LICENSE_NO_REMOTE_CONNECTIONS", "exDiscReasonLicenseNoRemoteConnections",
         "The remote computer is not licensed to accept remote connections.", &e_license},
        {0x10B, NULL, "exDiscReasonLicenseCreatingLicStoreAccDenied",
         "An access denied error was received while creating a registry key for the license "
         "store.",
         &e_license},
        {0x300, NULL, "exDiscReasonRdpEncInvalidCredentials",
         "Invalid credentials were encountered.", &e_credentials},
        /* Protocol-independent codes generated by the Connection Broker. */
        {0x400, "ERRINFO_CB_DESTINATION_NOT_FOUND", NULL, "The target endpoint could not be found.",
         &e_broker},
        {0x402, "ERRINFO_CB_LOADING_DESTINATION", NULL,
         "The target endpoint to which the client is being redirected is disconnecting from the "
         "Connection Broker.",
         &e_broker},
        {0x404, "ERRINFO_CB_REDIRECTING_TO_DESTINATION", NULL,
         "An error occurred while the connection was being redirected to the target endpoint.",
         &e_broker},
        {0x405, "ERRINFO_CB_SESSION_ONLINE_VM_WAKE", NULL,
         "An error occurred while the target endpoint (a virtual machine) was being awakened.",
         &e_broker},
        {0x406, "ERRINFO_CB_SESSION_ONLINE_VM_BOOT", NULL,
         "An error occurred while the target endpoint (a virtual machine) was being started.",
         &e_broker},
        {0x407, "ERRINFO_CB_SESSION_ONLINE_VM_NO_DNS", NULL,
         "The IP address of the target endpoint (a virtual machine) cannot be determined.",
         &e_broker},
        {0x408, "ERRINFO_CB_DESTINATION_POOL_NOT_FREE", NULL,
         "There are no available endpoints in the pool managed by the Connection Broker.",
         &e_broker},
        {0x409, "ERRINFO_CB_CONNECTION_CANCELLED", NULL,
         "Processing of the connection has been canceled.", &e_broker},
        {0x410, "ERRINFO_CB_CONNECTION_ERROR_INVALID_SETTINGS", NULL,
         "The settings in the routingToken field of the X.224 Connection Request cannot be "
         "validated.",
         &e_broker},
        {0x411, "ERRINFO_CB_SESSION_ONLINE_VM_BOOT_TIMEOUT", NULL,
         "A time-out occurred while the target endpoint (a virtual machine) was being started.",
         &e_broker},
        {0x412, "ERRINFO_CB_SESSION_ONLINE_VM_SESSMON_FAILED", NULL,
         "A session monitoring error occurred while the target endpoint (a virtual machine) was "
         "being started.",
         &e_broker},
        /* RDP specific codes. */
        {0x10C9, "ERRINFO_UNKNOWNPDUTYPE2", NULL,
         "Unknown pduType2 field in a received Share Data Header.", &e_protocol},
        {0x10CA, "ERRINFO_UNKNOWNPDUTYPE", NULL,
         "Unknown pduType field in a received Share Control Header.", &e_protocol},
        {0x10CB, "ERRINFO_DATAPDUSEQUENCE", NULL,
         "An out-of-sequence Slow-Path Data PDU has been received.", &e_protocol},
        {0x10CD, "ERRINFO_CONTROLPDUSEQUENCE", NULL,
         "An out-of-sequence Demand Active, Confirm Active, Deactivate All or Enhanced Security "
         "Server Redirection PDU has been received.",
         &e_protocol},
        {0x10CE, "ERRINFO_INVALIDCONTROLPDUACTION", NULL,
         "A Control PDU has been received with an invalid action field.", &e_protocol},
        {0x10CF, "ERRINFO_INVALIDINPUTPDUTYPE", NULL,
         "A Slow-Path or Fast-Path Input Event has been received with an invalid messageType or "
         "eventCode field.",
         &e_protocol},
        {0x10D0, "ERRINFO_INVALIDINPUTPDUMOUSE", NULL,
         "A mouse event has been received with an invalid pointerFlags field.", &e_protocol},
        {0x10D1, "ERRINFO_INVALIDREFRESHRECTPDU", NULL,
         "An invalid Refresh Rect PDU has been received.", &e_protocol},
        {0x10D2, "ERRINFO_CREATEUSERDATAFAILED", NULL,
         "The server failed to construct the GCC Conference Create Response user data.",
         &e_protocol},
        {0x10D3, "ERRINFO_CONNECTFAILED", NULL,
         "Processing during the Channel Connection phase of the RDP Connection Sequence has "
         "failed.",
         &e_protocol},
        {0x10D4, "ERRINFO_CONFIRMACTIVEWRONGSHAREID", NULL,
         "A Confirm Active PDU was received from the client with an invalid shareID field.",
         &e_protocol},
        {0x10D5, "ERRINFO_CONFIRMACTIVEWRONGORIGINATOR", NULL,
         "A Confirm Active PDU was received from the client with an invalid originatorID field.",
         &e_protocol},
        {0x10DA, "ERRINFO_PERSISTENTKEYPDUBADLENGTH", NULL,
         "There is not enough data to process a Persistent Key List PDU.", &e_protocol},
        {0x10DB, "ERRINFO_PERSISTENTKEYPDUILLEGALFIRST", NULL,
         "A Persistent Key List PDU marked PERSIST_PDU_FIRST was received after a prior one "
         "also marked PERSIST_PDU_FIRST.",
         &e_protocol},
        {0x10DC, "ERRINFO_PERSISTENTKEYPDUTOOMANYTOTALKEYS", NULL,
         "A Persistent Key List PDU specified more than 262144 bitmap cache entries in total.",
         &e_protocol},
        {0x10DD, "ERRINFO_PERSISTENTKEYPDUTOOMANYCACHEKEYS", NULL,
         "A Persistent Key List PDU specified an invalid total number of keys for a bitmap "
         "cache.",
         &e_protocol},
        {0x10DE, "ERRINFO_INPUTPDUBADLENGTH", NULL,
         "There is not enough data to process Input Event PDU Data or a Fast-Path Input Event "
         "PDU.",
         &e_protocol},
        {0x10DF, "ERRINFO_BITMAPCACHEERRORPDUBADLENGTH", NULL,
         "There is not enough data to process the Bitmap Cache Error PDU Data.", &e_protocol},
        {0x10E0, "ERRINFO_SECURITYDATATOOSHORT", NULL,
         "The dataSignature (or fipsInformation) field of a Fast-Path Input Event PDU does not "
         "contain enough data.",
         &e_protocol},
        {0x10E1, "ERRINFO_VCHANNELDATATOOSHORT", NULL,
         "Not enough data to read the virtual channel configuration data or a complete Channel "
         "PDU Header.",
         &e_protocol},
        {0x10E2, "ERRINFO_SHAREDATATOOSHORT", NULL,
         "Not enough data to process Control PDU Data, a Share Control Header, a Share Data "
         "Header or Font List PDU Data.",
         &e_protocol},
        {0x10E3, "ERRINFO_BADSUPRESSOUTPUTPDU", NULL,
         "Not enough data to process Suppress Output PDU Data, or its allowDisplayUpdates field "
         "is invalid.",
         &e_protocol},
        {0x10E5, "ERRINFO_CONFIRMACTIVEPDUTOOSHORT", NULL,
         "Not enough data to read the fields of the Confirm Active PDU Data.", &e_protocol},
        {0x10E7, "ERRINFO_CAPABILITYSETTOOSMALL", NULL,
         "Not enough data to read the capabilitySetType and lengthCapability fields of a "
         "Capability Set.",
         &e_protocol},
        {0x10E8, "ERRINFO_CAPABILITYSETTOOLARGE", NULL,
         "A Capability Set's lengthCapability field is greater than the data received.",
         &e_protocol},
        {0x10E9, "ERRINFO_NOCURSORCACHE", NULL,
         "The Pointer Capability Set gives no pointer cache (its cache sizes are zero).",
         &e_protocol},
        {0x10EA, "ERRINFO_BADCAPABILITIES", NULL,
         "The capabilities received from the client in the Confirm Active PDU were not accepted "
         "by the server.",
         &e_protocol},
        {0x10EC, "ERRINFO_VIRTUALCHANNELDECOMPRESSIONERR", NULL,
         "An error occurred while using the bulk compressor to decompress a Virtual Channel PDU.",
         &e_protocol},
        {0x10ED, "ERRINFO_INVALIDVCCOMPRESSIONTYPE", NULL,
         "An invalid bulk compression package was specified in a Channel PDU Header.", &e_protocol},
        {0x10EF, "ERRINFO_INVALIDCHANNELID", NULL,
         "An invalid MCS channel ID was specified in a Virtual Channel PDU.", &e_protocol},
        {0x10F0, "ERRINFO_VCHANNELSTOOMANY", NULL,
         "The client requested more than the maximum allowed 31 static virtual channels.",
         &e_protocol},
        {0x10F3, "ERRINFO_REMOTEAPPSNOTENABLED", NULL,
         "The session on the remote server can only host remote applications: the INFO_RAIL "
         "flag must be set in the Info Packet.",
         &e_protocol},
        {0x10F4, "ERRINFO_CACHECAPNOTSET", NULL,
         "A Persistent Key List PDU was sent without the prerequisite Revision 2 Bitmap Cache "
         "Capability Set.",
         &e_protocol},
        {0x10F5, "ERRINFO_BITMAPCACHEERRORPDUBADLENGTH2", NULL,
         "The NumInfoBlocks field in the Bitmap Cache Error PDU Data is inconsistent with its "
         "Info field.",
         &e_protocol},
        {0x10F6, "ERRINFO_OFFSCRCACHEERRORPDUBADLENGTH", NULL,
         "Not enough data to process an Offscreen Bitmap Cache Error PDU.", &e_protocol},
        {0x10F7, "ERRINFO_DNGCACHEERRORPDUBADLENGTH", NULL,
         "Not enough data to process a DrawNineGrid Cache Error PDU.", &e_protocol},
        {0x10F8, "ERRINFO_GDIPLUSPDUBADLENGTH", NULL,
         "Not enough data to process a GDI+ Error PDU.", &e_protocol},
        {0x1111, "ERRINFO_SECURITYDATATOOSHORT2", NULL,
         "Not enough data to read a Basic Security Header.", &e_protocol},
        {0x1112, "ERRINFO_SECURITYDATATOOSHORT3", NULL,
         "Not enough data to read a Non-FIPS or FIPS Security Header.", &e_protocol},
        {0x1113, "ERRINFO_SECURITYDATATOOSHORT4", NULL,
         "Not enough data to read the basicSecurityHeader and length fields of the Security "
         "Exchange PDU Data.",
         &e_protocol},
        {0x1114, "ERRINFO_SECURITYDATATOOSHORT5", NULL,
         "Not enough data to read the fields of the Info Packet, up to WorkingDir.", &e_protocol},
        {0x1115, "ERRINFO_SECURITYDATATOOSHORT6", NULL,
         "Not enough data to read the fixed fields of the Info Packet (CodePage to "
         "cbWorkingDir).",
         &e_protocol},
        {0x1116, "ERRINFO_SECURITYDATATOOSHORT7", NULL,
         "Not enough data to read clientAddressFamily and cbClientAddress in the Extended Info "
         "Packet.",
         &e_protocol},
        {0x1117, "ERRINFO_SECURITYDATATOOSHORT8", NULL,
         "Not enough data to read clientAddress in the Extended Info Packet.", &e_protocol},
        {0x1118, "ERRINFO_SECURITYDATATOOSHORT9", NULL,
         "Not enough data to read cbClientDir in the Extended Info Packet.", &e_protocol},
        {0x1119, "ERRINFO_SECURITYDATATOOSHORT10", NULL,
         "Not enough data to read clientDir in the Extended Info Packet.", &e_protocol},
        {0x111A, "ERRINFO_SECURITYDATATOOSHORT11", NULL,
         "Not enough data to read clientTimeZone in the Extended Info Packet.", &e_protocol},
        {0x111B, "ERRINFO_SECURITYDATATOOSHORT12", NULL,
         "Not enough data to read clientSessionId in the Extended Info Packet.", &e_protocol},
        {0x111C, "ERRINFO_SECURITYDATATOOSHORT13", NULL,
         "Not enough data to read performanceFlags in the Extended Info Packet.", &e_protocol},
        {0x111D, "ERRINFO_SECURITYDATATOOSHORT14", NULL,
         "Not enough data to read cbAutoReconnectCookie in the Extended Info Packet.", &e_protocol},
        {0x111E, "ERRINFO_SECURITYDATATOOSHORT15", NULL,
         "Not enough data to read autoReconnectCookie in the Extended Info Packet.", &e_protocol},
        {0x111F, "ERRINFO_SECURITYDATATOOSHORT16", NULL,
         "cbAutoReconnectCookie in the Extended Info Packet is larger than the maximum of 128 "
         "bytes.",
         &e_protocol},
        {0x1120, "ERRINFO_SECURITYDATATOOSHORT17", NULL,
         "Not enough data to read clientAddressFamily and cbClientAddress in the Extended Info "
         "Packet.",
         &e_protocol},
        {0x1121, "ERRINFO_SECURITYDATATOOSHORT18", NULL,
         "Not enough data to read clientAddress in the Extended Info Packet.", &e_protocol},
        {0x1122, "ERRINFO_SECURITYDATATOOSHORT19", NULL,
         "Not enough data to read cbClientDir in the Extended Info Packet.", &e_protocol},
        {0x1123, "ERRINFO_SECURITYDATATOOSHORT20", NULL,
         "Not enough data to read clientDir in the Extended Info Packet.", &e_protocol},
        {0x1124, "ERRINFO_SECURITYDATATOOSHORT21", NULL,
         "Not enough data to read clientTimeZone in the Extended Info Packet.", &e_protocol},
        {0x1125, "ERRINFO_SECURITYDATATOOSHORT22", NULL,
         "Not enough data to read clientSessionId in the Extended Info Packet.", &e_protocol},
        {0x1126, "ERRINFO_SECURITYDATATOOSHORT23", NULL,
         "Not enough data to read the Client Info PDU Data.", &e_protocol},
        {0x1129, "ERRINFO_BADMONITORDATA", NULL,
         "The Client Monitor Data holds fewer TS_MONITOR_DEF structures than its monitorCount.",
         &e_protocol},
        {0x112A, "ERRINFO_VCDECOMPRESSEDREASSEMBLEFAILED", NULL,
         "The server-side decompression buffer is invalid, or decompressed virtual channel data "
         "exceeds the chunking size.",
         &e_protocol},
        {0x112B, "ERRINFO_VCDATATOOLONG", NULL,
         "A Virtual Channel PDU exceeds the chunking size of the Virtual Channel Capability Set.",
         &e_protocol},
        {0x112C, "ERRINFO_BAD_FRAME_ACK_DATA", NULL,
         "Not enough data to read a TS_FRAME_ACKNOWLEDGE_PDU.", &e_protocol},
        {0x112D, "ERRINFO_GRAPHICSMODENOTSUPPORTED", NULL,
         "The graphics mode requested by the client is not supported by the server.", &e_protocol},
        {0x112E, "ERRINFO_GRAPHICSSUBSYSTEMRESETFAILED", NULL,
         "The server-side graphics subsystem failed to reset.", &e_protocol},
        {0x112F, "ERRINFO_GRAPHICSSUBSYSTEMFAILED", NULL,
         "The server-side graphics subsystem is in an error state and unable to continue "
         "graphics encoding.",
         &e_protocol},
        {0x1130, "ERRINFO_TIMEZONEKEYNAMELENGTHTOOSHORT", NULL,
         "Not enough data to read cbDynamicDSTTimeZoneKeyName in the Extended Info Packet.",
         &e_protocol},
        {0x1131, "ERRINFO_TIMEZONEKEYNAMELENGTHTOOLONG", NULL,
         "cbDynamicDSTTimeZoneKeyName in the Extended Info Packet is too long.", &e_protocol},
        {0x1132, "ERRINFO_DYNAMICDSTDISABLEDFIELDMISSING", NULL,
         "The dynamicDaylightTimeDisabled field is not present in the Extended Info Packet.",
         &e_protocol},
        {0x1133, "ERRINFO_VCDECODINGERROR", NULL,
         "An error occurred when processing dynamic virtual channel data.", &e_protocol},
        {0x1134, "ERRINFO_VIRTUALDESKTOPTOOLARGE", NULL,
         "The virtual desktop defined by the monitor layout is wider or higher than 32,766.",
         &e_protocol},
        {0x1135, "ERRINFO_MONITORGEOMETRYVALIDATIONFAILED", NULL,
         "The monitor geometry defined by the Client Monitor Data is invalid.", &e_protocol},
        {0x1136, "ERRINFO_INVALIDMONITORCOUNT", NULL,
         "The monitorCount field in the Client Monitor Data is too large.", &e_protocol},
        {0x1191, "ERRINFO_UPDATESESSIONKEYFAILED", NULL,
         "Updating the session keys of Standard RDP Security failed.", &e_stdsec},
        {0x1192, "ERRINFO_DECRYPTFAILED", NULL,
         "Decryption, or session key creation, with Standard RDP Security failed.", &e_stdsec},
        {0x1193, "ERRINFO_ENCRYPTFAILED", NULL, "Encryption with Standard RDP Security failed.",
         &e_stdsec},
        {0x1194, "ERRINFO_ENCPKGMISMATCH", NULL,
         "No usable Encryption Method in the encryptionMethods field of the Client Security "
         "Data.",
         &e_stdsec},
        {0x1195, "ERRINFO_DECRYPTFAILED2", NULL,
         "Unencrypted data in a stream meant to be encrypted with Standard RDP Security.",
         &e_stdsec},
};

/* exDiscReasonProtocolRangeStart..End: a value there that neither table
 * names is still documented, as an internal protocol error. */
#define RANGE_START 0x1000u
#define RANGE_END   0x7FFFu
static const struct rw_mstsc_code protocol_range = {
        RANGE_START, NULL, "exDiscReasonProtocolRangeStart..exDiscReasonProtocolRangeEnd",
        "An internal protocol error (the range 0x1000-0x7FFF); check the server event log.",
        &e_protocol};

static const struct rw_mstsc_code *find(const struct rw_mstsc_code *t, size_t n, uint32_t code)
{
	size_t lo = 0, hi = n; /* binary search: the tables are in ascending order */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t[mid].code == code)
			return &t[mid];
		if (t[mid].code < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct rw_mstsc_code *rw_mstsc_disc_lookup(uint32_t code)
{
	return find(disc, sizeof(disc) / sizeof(disc[0]), code);
}

const struct rw_mstsc_code *rw_mstsc_ext_lookup(uint32_t code)
{
	const struct rw_mstsc_code *c = find(ext, sizeof(ext) / sizeof(ext[0]), code);
	if (!c && code >= RANGE_START && code <= RANGE_END)
		c = &protocol_range;
	return c;
}

const struct rw_mstsc_code *rw_mstsc_disc_table(size_t *n)
{
	*n = sizeof(disc) / sizeof(disc[0]);
	return disc;
}

const struct rw_mstsc_code *rw_mstsc_ext_table(size_t *n)
{
	*n = sizeof(ext) / sizeof(ext[0]);
	return ext;
}
