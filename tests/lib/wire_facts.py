#!/usr/bin/env python3
"""wire_facts.py — what a one-connection capture shows, from the packets alone
(tshark's dissectors; nothing of rdpwhy), so that the failure lab can check
that a scenario's stated verdict agrees with the wire before it judges rdpwhy.

    wire_facts.py [--server-port N] [--stream N] PCAP      -> JSON on stdout
    wire_facts.py --list PCAP     -> "stream client_ip client_port server_ip server_port"
                                     per TCP connection, in capture order

The client is the side that sent the SYN (without ACK); when the capture has no
SYN, the side that sent to the server port (--server-port, default 3389).
Reported:

  closed_by / close_kind   the side whose FIN or RST came first in the capture
                           and which one ("fin" or "rst"); a SYN answered by an
                           RST (no SYN-ACK) is closed_by "server", close_kind
                           "refused"; SYNs never answered (nothing at all from
                           the server side) are closed_by "client" (it gave up),
                           close_kind "unreachable"; no FIN or RST at all is
                           closed_by "none", close_kind "none".
  first_close              that packet: frame number, time, flags
  first_close_acked        whether the other side acknowledged it before
                           closing itself (a packet of the other side, up to
                           and including its own FIN or RST, whose ACK number
                           covers the FIN; an RST is never acknowledged). A
                           capture of the other side alone shows that the
                           first close was first only then: otherwise the
                           FINs crossed, or the close never reached it.
  tcp                      SYNs sent, SYN-ACK seen, handshake: established |
                           refused | unreachable | unknown (no SYN captured)
  x224                     cr / cc (X.224 Connection Request / Confirm seen),
                           neg_req (the CR carries RDP_NEG_REQ),
                           requested_protocols ("rdp" for a CR without
                           RDP_NEG_REQ: legacy standard RDP security),
                           neg_rsp / selected_protocol (RDP_NEG_RSP; "rdp"
                           for a CC without negotiation data, MS-RDPBCGR
                           2.2.1.2: standard RDP security only),
                           neg_failure (RDP_NEG_FAILURE code) + its name
  tls                      client_hello / server_hello (cleartext handshake
                           messages seen), alerts: every cleartext alert
                           {from, level, code, description, frame};
                           encrypted_alerts: alert records whose content is
                           encrypted (TLS 1.2 after ChangeCipherSpec) {from,
                           frame}; TLS 1.3 hides alerts in application data
                           records, so they are not seen at all.

TLS is decoded by forcing tshark's TLS dissector on the server port (-d
tcp.port==PORT,tls: its RDP dissector stops at the X.224 exchange), X.224 and
RDP negotiation by its default COTP/RDP dissectors. Exit status 0, or 2 with a
message on stderr when tshark fails or the capture holds more than one TCP
connection (pick one with --stream N, tshark's tcp.stream index).
"""
import argparse
import json
import subprocess
import sys

ALERTS = {
    0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac",
    21: "decryption_failed", 22: "record_overflow", 30: "decompression_failure",
    40: "handshake_failure", 41: "no_certificate", 42: "bad_certificate",
    43: "unsupported_certificate", 44: "certificate_revoked", 45: "certificate_expired",
    46: "certificate_unknown", 47: "illegal_parameter", 48: "unknown_ca",
    49: "access_denied", 50: "decode_error", 51: "decrypt_error",
    60: "export_restriction", 70: "protocol_version", 71: "insufficient_security",
    80: "internal_error", 86: "inappropriate_fallback", 90: "user_canceled",
    100: "no_renegotiation", 109: "missing_extension", 110: "unsupported_extension",
    112: "unrecognized_name", 113: "bad_certificate_status_response",
    115: "unknown_psk_identity", 116: "certificate_required",
    120: "no_application_protocol",
}
LEVELS = {1: "warning", 2: "fatal"}
NEG_FAILURES = {
    1: "SSL_REQUIRED_BY_SERVER", 2: "SSL_NOT_ALLOWED_BY_SERVER", 3: "SSL_CERT_NOT_ON_SERVER",
    4: "INCONSISTENT_FLAGS", 5: "HYBRID_REQUIRED_BY_SERVER",
    6: "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER",
}
# rdpwhy's spelling of the protocol bits (rdp.requested_protocols / selected_protocol)
PROTOCOLS = ((0x1, "ssl"), (0x2, "hybrid"), (0x4, "rdstls"), (0x8, "hybrid_ex"), (0x10, "rdsaad"))

BASE = ["frame.number", "frame.time_relative", "tcp.stream", "ip.src", "ipv6.src", "tcp.srcport",
        "ip.dst", "ipv6.dst", "tcp.dstport", "tcp.flags", "tcp.len", "tcp.seq_raw", "tcp.ack_raw"]
X224 = ["cotp.type", "rdp.neg_type", "rdp.negReq.requestedProtocols",
        "rdp.negReq.selectedProtocol", "rdp.negFailure.failureCode"]
TLS = ["tls.record.content_type", "tls.handshake.type", "tls.alert_message.level",
       "tls.alert_message.desc"]


def tshark(pcap, fields, extra=()):
    cmd = ["tshark", "-n", "-r", pcap, "-T", "fields", "-E", "separator=\t",
           "-E", "occurrence=a", "-E", "aggregator=,"] + list(extra)
    for f in fields:
        cmd += ["-e", f]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("wire_facts: tshark failed (%d): %s" % (p.returncode, p.stderr.strip()[-500:]))
    rows = []
    for line in p.stdout.splitlines():
        cols = line.split("\t")
        cols += [""] * (len(fields) - len(cols))
        rows.append(dict(zip(fields, cols)))
    return rows


def num(s):
    s = (s or "").split(",")[0].strip()
    if not s:
        return None
    return int(s, 16) if s.lower().startswith("0x") else int(s)


def nums(s):
    return [num(x) for x in (s or "").split(",") if x.strip()]


def protocols(mask):
    if mask is None:
        return None
    names = [n for bit, n in PROTOCOLS if mask & bit]
    return ",".join(names) if names else "rdp"


def endpoint(r, side):
    ip = r["ip." + side] or r["ipv6." + side]
    return "%s:%s" % (ip, r["tcp.%sport" % side])


def client_of(pkts, server_port):
    """The client's endpoint: the SYN's sender, else the sender to the server port."""
    for r in pkts:
        fl = num(r["tcp.flags"]) or 0
        if fl & 0x02 and not fl & 0x10:
            return endpoint(r, "src")
    for r in pkts:
        if r["tcp.dstport"] == str(server_port):
            return endpoint(r, "src")
    return endpoint(pkts[0], "src")


def connections(pcap, server_port=3389, base=None):
    """Every TCP connection in capture order: (stream, client, server, packets)."""
    base = base if base is not None else tshark(pcap, BASE + X224)
    by = {}
    for r in base:
        if r["tcp.stream"] != "":
            by.setdefault(int(r["tcp.stream"]), []).append(r)
    out = []
    for st in sorted(by, key=lambda k: int(by[k][0]["frame.number"])):
        pkts = by[st]
        c = client_of(pkts, server_port)
        first = pkts[0]
        srv = endpoint(first, "dst") if endpoint(first, "src") == c else endpoint(first, "src")
        out.append((st, c, srv, pkts))
    return out


def facts(pcap, server_port=3389, stream=None):
    conns = connections(pcap, server_port)
    if stream is None:
        if len(conns) > 1:
            raise SystemExit("wire_facts: %s holds %d TCP connections; pick one with --stream" % (pcap, len(conns)))
        sel = conns[0] if conns else None
    else:
        sel = next((c for c in conns if c[0] == stream), None)
    tls = {r["frame.number"]: r for r in tshark(pcap, ["frame.number"] + TLS,
                                                ["-d", "tcp.port==%d,tls" % server_port])}
    out = {"pcap": pcap, "stream": None, "packets": 0, "client": None, "server": None,
           "closed_by": "none", "close_kind": "none", "first_close": None, "first_close_acked": False,
           "tcp": {"syn": 0, "syn_ack": False, "handshake": "unknown"},
           "x224": {"cr": False, "cc": False, "neg_req": False, "requested_protocols": None,
                    "neg_rsp": False, "selected_protocol": None, "neg_failure": None,
                    "neg_failure_name": None},
           "tls": {"client_hello": False, "server_hello": False, "alerts": [], "encrypted_alerts": []}}
    if sel is None:
        return out
    out["stream"], client, out["server"], pkts = sel
    out["client"], out["packets"] = client, len(pkts)
    ep = endpoint
    t = out["tcp"]
    from_server = 0
    other_closed = False  # the other side's own FIN or RST came (crossing the first close)
    for r in pkts:
        side = "client" if ep(r, "src") == client else "server"
        fl = num(r["tcp.flags"]) or 0
        if side == "client" and fl & 0x02 and not fl & 0x10:
            t["syn"] += 1
        if side == "server":
            from_server += 1
            if fl & 0x12 == 0x12:
                t["syn_ack"] = True
        fc = out["first_close"]
        if fc and side != fc["from"] and not other_closed:
            if (fc["flags"] == "FIN" and fl & 0x10 and
                    (num(r["tcp.ack_raw"]) - fc["end"]) % 2**32 < 2**31):
                out["first_close_acked"] = True
            other_closed = bool(fl & 0x05)
        if out["first_close"] is None and fl & 0x05:
            kind = "rst" if fl & 0x04 else "fin"
            out["first_close"] = {"frame": int(r["frame.number"]), "time": float(r["frame.time_relative"]),
                                  "from": side, "flags": "RST" if fl & 0x04 else "FIN",
                                  # the sequence number one past the FIN
                                  "end": (num(r["tcp.seq_raw"]) + (num(r["tcp.len"]) or 0) + 1) % 2**32}
            if kind == "rst" and side == "server" and t["syn"] and not t["syn_ack"]:
                out["closed_by"], out["close_kind"] = "server", "refused"
            else:
                out["closed_by"], out["close_kind"] = side, kind
        # X.224 (COTP) and the RDP negotiation structures
        ct = (r["cotp.type"] or "").split(",")
        if "0x0e" in ct and side == "client":
            x = out["x224"]
            x["cr"] = True
            if num(r["rdp.neg_type"]) == 1:
                x["neg_req"] = True
                x["requested_protocols"] = protocols(num(r["rdp.negReq.requestedProtocols"]))
            elif x["requested_protocols"] is None:
                x["requested_protocols"] = "rdp"
        if "0x0d" in ct and side == "server":
            x = out["x224"]
            x["cc"] = True
            nt = num(r["rdp.neg_type"])
            if nt == 2:
                x["neg_rsp"] = True
                x["selected_protocol"] = protocols(num(r["rdp.negReq.selectedProtocol"]))
            elif nt == 3:
                x["neg_failure"] = num(r["rdp.negFailure.failureCode"])
                x["neg_failure_name"] = NEG_FAILURES.get(x["neg_failure"], "unknown")
            else:
                # No negotiation data: the server speaks standard RDP security
                # only (MS-RDPBCGR 2.2.1.2), an implicit PROTOCOL_RDP.
                x["selected_protocol"] = "rdp"
        # TLS (cleartext parts)
        tr = tls.get(r["frame.number"])
        if tr:
            hs = nums(tr["tls.handshake.type"])
            if side == "client" and 1 in hs:
                out["tls"]["client_hello"] = True
            if side == "server" and 2 in hs:
                out["tls"]["server_hello"] = True
            cts = nums(tr["tls.record.content_type"])
            levels, descs = nums(tr["tls.alert_message.level"]), nums(tr["tls.alert_message.desc"])
            n_alert = cts.count(21)
            for i in range(n_alert):
                if i < len(descs):
                    lv = levels[i] if i < len(levels) else None
                    out["tls"]["alerts"].append({"from": side, "level": LEVELS.get(lv, str(lv)), "code": descs[i],
                                                 "description": ALERTS.get(descs[i], str(descs[i])),
                                                 "frame": int(r["frame.number"])})
                else:
                    out["tls"]["encrypted_alerts"].append({"from": side, "frame": int(r["frame.number"])})
    if t["syn"]:
        if t["syn_ack"]:
            t["handshake"] = "established"
        elif out["close_kind"] == "refused":
            t["handshake"] = "refused"
        elif from_server == 0:
            t["handshake"] = "unreachable"
            if out["first_close"] is None:
                out["closed_by"], out["close_kind"] = "client", "unreachable"
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server-port", type=int, default=3389)
    ap.add_argument("--stream", type=int)
    ap.add_argument("--list", action="store_true",
                    help="one line per TCP connection in capture order: stream client_ip client_port server_ip server_port")
    ap.add_argument("pcap")
    a = ap.parse_args()
    if a.list:
        for st, c, srv, _ in connections(a.pcap, a.server_port):
            print(st, *c.rsplit(":", 1), *srv.rsplit(":", 1))
        return 0
    json.dump(facts(a.pcap, a.server_port, a.stream), sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SystemExit as e:
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
            sys.exit(2)
        raise
