"""The lines of rdpwhy's text report (output/record_text.c's layout) rebuilt
from what tshark and openssl say about a single-connection capture, for
tests/cli_behaviour.sh. Only the evidence and fix texts come from the JSON
record (the same record in the other format)."""
import datetime
import hashlib
import re
import subprocess

from expect import frames, payload_bytes, tshark

CONT = " " * 13
PROTO = {0: "rdp", 1: "ssl", 2: "hybrid", 4: "rdstls", 8: "hybrid_ex", 0x10: "rdsaad"}
TLS_VERSIONS = {0x0301: "1.0", 0x0302: "1.1", 0x0303: "1.2", 0x0304: "1.3"}


def _syn(p):
    """(client ip, client port, server ip, server port, SYN time in us)."""
    row = tshark(p, ["ip.src", "tcp.srcport", "ip.dst", "tcp.dstport"],
                 "tcp.flags.syn==1 && tcp.flags.ack==0")[0]
    return row[0], int(row[1]), row[2], int(row[3]), frames(p)[0][0]


def _end_us(p):
    """When the connection ended on the wire: the FIN that completes the
    close (both sides sent one), else the first RST, else the last packet."""
    fr = frames(p)
    rows = tshark(p, ["frame.number", "tcp.srcport", "tcp.flags.fin", "tcp.flags.reset"])
    fin_sides, rst = set(), None
    for num, sport, fin, rst_flag in rows:
        if fin in ("1", "True"):
            fin_sides.add(sport)
            if len(fin_sides) == 2:
                return fr[int(num) - 1][0]
        if rst_flag in ("1", "True") and rst is None:
            rst = fr[int(num) - 1][0]
    return rst if rst is not None else fr[-1][0]


def head_line(p):
    cip, cport, sip, sport, t0 = _syn(p)
    t = datetime.datetime.fromtimestamp(t0 // 1000000, datetime.timezone.utc)
    d = _end_us(p) - t0
    return (f"{cip}:{cport} -> {sip}:{sport}  {t:%Y-%m-%d %H:%M:%S}.{t0 % 1000000 // 1000:03d} UTC"
            f"  duration {d // 1000000}.{d % 1000000 // 1000:03d} s")


def bytes_line(p):
    _, cport, _, sport, _ = _syn(p)
    return f"  bytes      client {payload_bytes(p, cport)}, server {payload_bytes(p, sport)}"


def evidence_lines(rec):
    """The evidence as the JSON gives it; the text ends a line with where its
    fact is (rdpwhy.evidence_at, checked against the packets by
    tests/evidence_frames.py) when there is one."""
    ev = rec["rdpwhy.evidence"]
    at = rec.get("rdpwhy.evidence_at") or [""] * len(ev)
    return [("  evidence   - " if i == 0 else CONT + "- ") + e + (f"  [{a}]" if a else "")
            for i, (e, a) in enumerate(zip(ev, at))]


def rdp_line(p, confirm):
    rows = tshark(p, ["rdp.rt_cookie", "rdp.negReq.requestedProtocols"], "rdp.rt_cookie",
                  extra=("-E", "occurrence=f"))
    cookie = re.sub(r"^cookie:\s*mstshash=", "", rows[0][0].strip(), flags=re.I)
    req = int(rows[0][1], 0)
    names = [PROTO[b] for b in sorted(PROTO) if b and req & b] or ["rdp"]
    line = f'  rdp        cookie "{cookie}", requested {",".join(names)}'
    if confirm:
        sel = tshark(p, ["rdp.negReq.selectedProtocol"], "rdp.neg_type == 2", extra=("-E", "occurrence=f"))
        line += f", selected {PROTO[int(sel[0][0], 0)]}"
    else:
        line += ", no confirm"
    return line


def tls_line(p):
    """ServerHello version and suite (tshark's names), SNI, established."""
    pdml = subprocess.run(["tshark", "-n", "-r", p, "-d", "tcp.port==3389,tls", "-Y", "tls.handshake.type==2", "-V"],
                          check=True, capture_output=True, text=True).stdout
    cipher = re.search(r"Cipher Suite: (\S+) \(0x", pdml).group(1)
    ver = re.search(r"Supported Version: .*\((0x[0-9a-f]+)\)", pdml)
    if not ver:
        ver = re.search(r"Handshake Protocol: Server Hello.*?Version: .*?\((0x[0-9a-f]+)\)", pdml, re.S)
    sni = tshark(p, ["tls.handshake.extensions_server_name"], "tls.handshake.type==1",
                 extra=("-d", "tcp.port==3389,tls"))[0][0]
    return f'  tls        {TLS_VERSIONS[int(ver.group(1), 16)]} {cipher}, sni "{sni}", established'


def cert_lines(der_path):
    """cert, names, sha1, sha256 lines for a DER certificate (openssl, hashlib);
    'EXPIRED'/'self-signed' are not expected (the caller's certificate is
    neither)."""
    out = subprocess.run(["openssl", "x509", "-inform", "DER", "-in", der_path, "-noout", "-subject",
                          "-issuer", "-startdate", "-enddate", "-ext", "subjectAltName", "-nameopt", "RFC2253"],
                         check=True, capture_output=True, text=True).stdout
    subj = re.search(r"^subject=CN=([^,\n]+)", out, re.M).group(1)
    issuer = re.search(r"^issuer=CN=([^,\n]+)", out, re.M).group(1)

    def day(key):
        v = re.search(rf"^{key}=(.*)$", out, re.M).group(1).replace("  ", " ")
        return datetime.datetime.strptime(v, "%b %d %H:%M:%S %Y GMT").strftime("%Y-%m-%d")

    san = re.search(r"Subject Alternative Name: *\n\s*(.*)", out).group(1).strip()
    names = [n.replace("IP Address:", "IP:") for n in san.split(", ")]
    der = open(der_path, "rb").read()
    return [f"  cert       CN={subj} (issuer CN={issuer}) valid {day('notBefore')} .. {day('notAfter')}",
            CONT + "names " + ", ".join(names),
            CONT + "sha1 " + hashlib.sha1(der).hexdigest().upper(),
            CONT + "sha256 " + hashlib.sha256(der).hexdigest().upper()]


def timeline_ok(lines, p, phases):
    """The timeline line names PHASES in order, times never decreasing, and
    x224 starts at the SYN-ACK (tshark)."""
    line = next((l for l in lines if l.startswith("  timeline   ")), "")
    items = line[len("  timeline   "):].split(", ")
    got = []
    for it in items:
        m = re.fullmatch(r"\+(\d+)(?:\.(\d{3}))? ms (\w+)", it)
        if not m:
            return False
        got.append((int(m.group(1)) * 1000 + int(m.group(2) or 0), m.group(3)))
    if [n for _, n in got] != phases or [t for t, _ in got] != sorted(t for t, _ in got) or got[0][0] != 0:
        return False
    if "x224" in phases:
        synack = float(tshark(p, ["frame.time_relative"], "tcp.flags.syn==1 && tcp.flags.ack==1")[0][0])
        want = round(synack * 1e6)
        t = dict((n, us) for us, n in got)["x224"]
        # sub-10 ms values are printed to the microsecond, longer ones in whole ms
        if not (t == want if want < 10000 else t // 1000 == want // 1000):
            return False
    return True


def parse_report(text):
    """A text report of one connection -> (head line, [(label, [lines])]):
    labels are what stands in columns 3-13 ('cause', 'could be'), lines that
    start with 13 spaces continue the label before them."""
    lines = text.split("\n")
    while lines and lines[-1] == "":
        lines.pop()
    head, parts = (lines[0] if lines else ""), []
    for line in lines[1:]:
        if line.startswith(CONT) and parts:
            parts[-1][1].append(line)
        else:
            parts.append((line[2:13].strip(), [line]))
    return head, parts


KNOWN = ["cause", "fix", "timeline", "rdp", "tls", "cert", "evidence", "bytes", "proxy", "note"]


def labelled(parts, label):
    """The lines of LABEL (None when absent)."""
    for lab, lines in parts:
        if lab == label:
            return lines
    return None


def known_order(parts):
    """The labels record_text.c is known to print, in the order printed
    (labels added since, such as a confidence line, are not judged here)."""
    return [lab for lab, _ in parts if lab in KNOWN]
