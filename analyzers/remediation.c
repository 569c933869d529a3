/* The one-line remediation of each cause, apart from the rules: the texts
 * an operator reads, one per cause code (a rule may give its own instead). */
#include "session.h"

static const char *const remediation[RW_CAUSE_COUNT] = {
        [RW_CAUSE_UNKNOWN] = "Not enough on the wire to decide; capture on both sides of "
                             "the path and check the host's RDP event logs.",
        [RW_CAUSE_NORMAL_CLOSE] = "Nothing to fix on the network: the session ended normally; "
                                  "if the user saw an error, check the host's session logs.",
        [RW_CAUSE_CLIENT_CANCELLED] = "The client gave up on its own: check the client's "
                                      "settings, proxy and local security software.",
        [RW_CAUSE_UPSTREAM_REFUSED] = "Nothing listens on the host's RDP port: start "
                                      "TermService/xrdp or fix the port (and NAT/firewall "
                                      "rules that send RST).",
        [RW_CAUSE_UPSTREAM_UNREACHABLE] = "SYN unanswered: open TCP 3389 on the firewalls in "
                                          "the path and check routing to the host.",
        [RW_CAUSE_X224_NO_RESPONSE] = "The host accepted TCP but never answered: restart "
                                      "TermService (hung session host) or check what listens "
                                      "on the port.",
        [RW_CAUSE_X224_CLOSED_BY_SERVER] = "The host closed before negotiating: check its "
                                           "connection limits, RDP listener state and any "
                                           "device filtering the X.224 request.",
        [RW_CAUSE_TLS_TERMINATING_MIDDLEBOX] = "A device in the path expects TLS from the first "
                                               "byte: set the load balancer to TCP mode "
                                               "(HAProxy 'mode tcp', no 'ssl' on bind) for RDP.",
        [RW_CAUSE_SECURITY_NEGOTIATION_FAILURE] = "Align the security layer: host "
                                                  "SecurityLayer/UserAuthentication (xrdp "
                                                  "security_layer) with what the client "
                                                  "requests (mstsc/FreeRDP /sec:).",
        [RW_CAUSE_TLS_PROTOCOL_VERSION_MISMATCH] = "Enable a common TLS version: TLS 1.2 on the "
                                                   "host (Schannel/xrdp ssl_protocols) or allow "
                                                   "the host's version on the client.",
        [RW_CAUSE_TLS_CIPHER_MISMATCH] = "Enable a common cipher suite: host cipher order "
                                         "(Schannel GPO/xrdp tls_ciphers) and the client's "
                                         "OpenSSL/Schannel settings.",
        [RW_CAUSE_TLS_REJECTED_WITHOUT_ALERT] = "The host dropped the ClientHello: compare its "
                                                "enabled TLS versions and suites with the "
                                                "client's (Schannel logs event 36874/36888).",
        [RW_CAUSE_CERTIFICATE_EXPIRED] = "Renew the host's RDP certificate (or let the host "
                                         "regenerate its self-signed one).",
        [RW_CAUSE_CERTIFICATE_REJECTED_BY_CLIENT] = "Install a certificate the client trusts on "
                                                    "the host (matching its name), or add the "
                                                    "issuing CA to the client's trust store.",
        [RW_CAUSE_TLS_STREAM_ALTERED] = "A middlebox alters TLS: exempt RDP from TLS "
                                        "inspection/re-encryption on the firewall or load "
                                        "balancer.",
        [RW_CAUSE_RESET_INJECTED] = "A firewall/IPS in the path resets the connection: find the "
                                    "device at the RST's hop distance and allow RDP there.",
        [RW_CAUSE_RESET_BY_SERVER] = "The host reset the connection: check the host's event "
                                     "logs (RemoteDesktopServices, Schannel) for that time.",
        [RW_CAUSE_RESET_BY_CLIENT] = "The client reset the connection: check the client's "
                                     "logs and local security software.",
        [RW_CAUSE_NLA_FAILED] = "NLA failed: check the credentials, account lockout, clock skew "
                                "(Kerberos) and the host's Security log (4625).",
        [RW_CAUSE_HANDSHAKE_TIMEOUT] = "The set-up stalled: check for packet loss, MTU/MSS on "
                                       "VPN links and an overloaded host.",
        [RW_CAUSE_MTU_BLACKHOLE] = "Large packets are lost: lower the MTU or clamp TCP MSS on "
                                   "the VPN/tunnel, and allow ICMP fragmentation-needed.",
        [RW_CAUSE_TLS_ALERT] = "Read the alert named in the evidence and check that side's TLS "
                               "configuration and logs.",
        [RW_CAUSE_NOT_RDP] = "This is not RDP: check the port and what the client connects to.",
        [RW_CAUSE_RDP_CLOSED_BY_SERVER] = "The host ended the connection during the RDP "
                                          "connection sequence: check its logs for licensing, "
                                          "encryption-level and session-limit errors.",
        [RW_CAUSE_CLOCK_SKEW] = "Set the host's clock right: sync it with the domain "
                                "hierarchy (w32tm /resync; check the Windows Time service "
                                "and the PDC emulator's source), then retry NLA.",
        [RW_CAUSE_PEER_VANISHED] = "A side stopped answering mid-connection (a machine that "
                                   "slept or lost its network, a VPN that dropped, or a NAT "
                                   "or firewall that forgot the connection): check that "
                                   "side's network; keep keepalive_idle below the idle timer "
                                   "of stateful devices in the path.",
        [RW_CAUSE_IDLE_TIMEOUT] = "Nothing to fix on the network: rdpwhy's idle_timeout closed "
                                  "a session in which neither side sent anything; raise it "
                                  "(0 = off) if such sessions are wanted, and leave idle policy "
                                  "to the host's session time limits.",
        [RW_CAUSE_SCAN_OR_FLOOD] = "Many connection attempts that never became connections: "
                                   "one source trying many (a port scan) or many sources "
                                   "one host (a SYN flood). Identify the source; block or "
                                   "rate-limit it at the edge, keep SYN cookies on; exclude "
                                   "known scanners and health checks from the capture.",
        [RW_CAUSE_NLA_LOGON_FAILURE] = "The host refused the user name or password: check the "
                                       "account and domain the client sends, clear stale saved "
                                       "credentials (cmdkey), and read Security 4625 on the host.",
        [RW_CAUSE_NLA_PASSWORD_EXPIRED] = "The account's password expired or must be changed: "
                                          "change it (Ctrl+Alt+Del on a console, or the "
                                          "domain's password tools), then reconnect.",
        [RW_CAUSE_NLA_ACCOUNT_RESTRICTED] = "An account restriction refused the logon (a blank "
                                            "password, logon hours, allowed workstations, an "
                                            "authentication policy): adjust the account's "
                                            "restrictions in Active Directory or local policy.",
        [RW_CAUSE_NLA_ACCOUNT_DISABLED] = "The account is disabled: re-enable it (Active "
                                          "Directory or lusrmgr.msc), or use another account.",
        [RW_CAUSE_NLA_ACCOUNT_LOCKED_OUT] = "The account is locked out: unlock it, and find what "
                                            "keeps sending a wrong password (stale saved "
                                            "credentials, a mapped drive, a service).",
        [RW_CAUSE_NLA_ACCOUNT_EXPIRED] = "The account expired: extend its expiry date in Active "
                                         "Directory (or net user /expires).",
        [RW_CAUSE_NLA_LOGON_TYPE_NOT_GRANTED] = "The user lacks the right to log on through Remote "
                                                "Desktop Services: add it to the host's Remote "
                                                "Desktop Users group, and check the Deny log on "
                                                "through RDS policy.",
        [RW_CAUSE_NLA_NO_AUTHORITY] = "The host could not reach a domain controller "
                                      "or its trust is broken: check the host's DNS "
                                      "and DC connectivity (nltest /sc_verify) and "
                                      "its computer account.",
        [RW_CAUSE_SERVER_DENIED_CONNECTION] = "The host refused the session after authentication: "
                                              "the user's right to log on remotely (Remote Desktop "
                                              "Users), the host's connection policy and limits.",
        [RW_CAUSE_SESSION_ENDED_BY_HOST] =
                "Nothing to fix on the network: the session was ended on "
                "the host (an administrator, a logoff, another "
                "connection taking it over); the host's session logs "
                "say who.",
        [RW_CAUSE_SESSION_TIME_LIMIT] = "A session time limit on the host elapsed (idle or active "
                                        "time): review the host's Session Time Limits policy.",
        [RW_CAUSE_RDP_LICENSING_FAILED] = "RD Licensing failed: check the host's licensing mode, "
                                          "its license server and the CALs (RD Licensing "
                                          "Diagnoser).",
        [RW_CAUSE_CONNECTION_BROKER_FAILED] = "The Connection Broker could not place the "
                                              "connection: check the collection, its hosts or "
                                              "VMs and the broker's log.",
        [RW_CAUSE_HOST_SESSION_FAILURE] =
                "The session failed on the host (out of memory, a display "
                "driver, DWM, Winlogon or CSRSS failure, a shutdown): "
                "read the host's System and Application logs.",
        [RW_CAUSE_RDP_PROTOCOL_ERROR] = "The host refused something the client sent in RDP itself: "
                                        "update the client, or leave out the feature named by the "
                                        "errorInfo (monitors, RemoteApp, graphics mode).",
        [RW_CAUSE_STILL_OPEN] = "The connection was still open when rdpwhy stopped following "
                                "it: capture longer (or raise --max-flows / --idle-timeout).",
};

const char *rw_cause_remediation(enum rw_cause c)
{
	return (unsigned)c < RW_CAUSE_COUNT && remediation[c] ? remediation[c]
	                                                      : remediation[RW_CAUSE_UNKNOWN];
}
