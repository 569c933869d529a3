#!/usr/bin/env bash
# tshark_crosscheck.sh BIN DATA_DIR
#
# For every capture listed in DATA_DIR/index.tsv, run
#     BIN replay --format json FILE
# (one JSON object per line and per connection, flat dotted keys) and compare
# the protocol facts it decoded with what Wireshark's dissectors (tshark) say
# about the same capture:
#
#   rdp.cookie              <- rdp.rt_cookie ("Cookie: mstshash=NAME" -> NAME;
#                              rdpwhy's value is normalised the same way)
#   rdp.requested_protocols <- rdp.negReq.requestedProtocols (RDP_NEG_REQ), as a
#                              set of names; "rdp" (value 0) may accompany others
#   rdp.selected_protocol   <- rdp.negReq.selectedProtocol (RDP_NEG_RSP)
#   tls.version             <- ServerHello supported_versions, else ServerHello.version
#   tls.cipher              <- ServerHello cipher suite (IANA name as tshark shows it)
#   rdpwhy.frames.first     <- frame.number of the stream's first packet
#   rdpwhy.frames.last      <- frame.number of its last packet (or up to two
#                              before: the final ACKs after the close)
#
# A value tshark reports that rdpwhy lacks or disagrees with is a mismatch.
# A value rdpwhy reports where tshark has none is a mismatch too, except the
# legacy reading of a negotiation without RDP_NEG_REQ / RDP_NEG_RSP
# (requested ["rdp"], selected "rdp"); set CROSSCHECK_ALLOW_EXTRA=1 to turn
# the other extras into notes.
#
# rdpwhy must exit 0 on every capture, with no sanitizer report on stderr
# (tests/lib/rdpwhy_run.py): anything else is a failure, records or not.
#
# BIN may be "--tshark-only" to print what tshark sees without comparing.
# Exit status: 0 all agree, 1 mismatch or rdpwhy failed, 2 usage/tool error
# (tshark missing: scripts/setup.sh --test installs it).
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 BIN|--tshark-only DATA_DIR" >&2
    exit 2
fi
command -v tshark >/dev/null || { echo "tshark_crosscheck: FAIL: tshark not found (scripts/setup.sh --test installs it)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "tshark_crosscheck: python3 not found" >&2; exit 2; }

exec python3 - "$1" "$2" "$(cd "$(dirname "$0")/lib" && pwd)" <<'PY'
import json, os, re, subprocess, sys
import xml.etree.ElementTree as ET

BIN, DATA, LIB = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, LIB)
from rdpwhy_run import RunFailed, check_end  # noqa: E402
from records import flatten  # noqa: E402  (records by dotted names, nested or flat)
TSHARK_ONLY = BIN == "--tshark-only"
ALLOW_EXTRA = os.environ.get("CROSSCHECK_ALLOW_EXTRA") == "1"

PROTO_BITS = [(0x1, "ssl"), (0x2, "hybrid"), (0x4, "rdstls"), (0x8, "hybrid_ex"), (0x10, "rdsaad")]
PROTO_VALUE = {0: "rdp", 0x1: "ssl", 0x2: "hybrid", 0x4: "rdstls", 0x8: "hybrid_ex", 0x10: "rdsaad"}
TLS_VERSIONS = {0x0300: "3.0", 0x0301: "1.0", 0x0302: "1.1", 0x0303: "1.2", 0x0304: "1.3"}
# rdpwhy keys that may be present although tshark shows nothing, and the
# only value they may then have (legacy negotiation: no RDP_NEG_REQ/RSP).
LEGACY_OK = {"rdp.requested_protocols": ["rdp"], "rdp.selected_protocol": "rdp"}
COMPARED_KEYS = ["rdp.cookie", "rdp.requested_protocols", "rdp.selected_protocol", "tls.version", "tls.cipher",
                 "rdpwhy.frames.first", "rdpwhy.frames.last"]


def die(msg, code=2):
    print("tshark_crosscheck: " + msg, file=sys.stderr)
    sys.exit(code)


def tshark(args):
    cmd = ["tshark", "-n"] + args
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        die("tshark failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr.strip()))
    return p.stdout


def proto_names(mask):
    if mask == 0:
        return ["rdp"]
    names = [n for bit, n in PROTO_BITS if mask & bit]
    rest = mask & ~sum(b for b, _ in PROTO_BITS)
    if rest:
        names.append("unknown_0x%x" % rest)
    return names


def norm_cookie(v):
    v = v.strip()
    if v.lower().startswith("cookie:"):
        v = v[len("cookie:"):].strip()
    if v.lower().startswith("mstshash="):
        v = v[len("mstshash="):]
    return v.strip()


def first_int(s):
    s = s.split(",")[0].strip()
    return int(s, 0) if s else None


def tshark_facts(path):
    """-> {stream: {"client_port", "server_port", facts...}}"""
    streams = {}
    out = tshark(["-r", path, "-Y", "tcp.flags.syn==1 && tcp.flags.ack==0",
                  "-T", "fields", "-e", "tcp.stream", "-e", "tcp.srcport", "-e", "tcp.dstport"])
    for line in out.splitlines():
        if not line.strip():
            continue
        st, sp, dp = line.split("\t")
        streams.setdefault(int(st), {"client_port": int(sp), "server_port": int(dp)})
    ports = sorted({s["server_port"] for s in streams.values()})

    # Pass 1: default dissection (RDP on 3389; other ports decoded as TPKT).
    dec = []
    for p in ports:
        if p != 3389:
            dec += ["-d", "tcp.port==%d,tpkt" % p]
    out = tshark(["-r", path] + dec + ["-Y", "rdp.neg_type || rdp.rt_cookie", "-T", "fields",
                  "-E", "occurrence=f", "-e", "tcp.stream", "-e", "tcp.srcport", "-e", "rdp.rt_cookie",
                  "-e", "rdp.negReq.requestedProtocols", "-e", "rdp.negReq.selectedProtocol",
                  "-e", "rdp.negFailure.failureCode"])
    for line in out.splitlines():
        if not line.strip():
            continue
        st, sport, cookie, req, sel, fail = (line.split("\t") + [""] * 6)[:6]
        s = streams.setdefault(int(st), {})
        if cookie and "rdp.cookie" not in s:
            s["rdp.cookie"] = norm_cookie(cookie)
        if req and "rdp.requested_protocols" not in s:
            s["rdp.requested_protocols"] = proto_names(first_int(req))
        if sel and "rdp.selected_protocol" not in s:
            v = first_int(sel)
            s["rdp.selected_protocol"] = PROTO_VALUE.get(v, "unknown_0x%x" % v)
        if fail and "_neg_failure" not in s:
            s["_neg_failure"] = first_int(fail)

    # Wireshark's frame numbers of each stream's first and last packets (what
    # rdpwhy.frames.* point at: "Go to packet" in Wireshark).
    out = tshark(["-r", path, "-Y", "tcp", "-T", "fields", "-e", "tcp.stream", "-e", "frame.number"])
    for line in out.splitlines():
        if not line.strip():
            continue
        st, num = line.split("\t")
        s = streams.setdefault(int(st), {})
        s.setdefault("rdpwhy.frames.first", int(num))
        s["rdpwhy.frames.last"] = int(num)

    # Pass 2: the same port decoded as TLS (Wireshark 4.0's RDP dissector does
    # not hand the stream to TLS after an RDP_NEG_RSP selecting SSL).
    if ports:
        dec = []
        for p in ports:
            dec += ["-d", "tcp.port==%d,tls" % p]
        xml = tshark(["-r", path] + dec + ["-Y", "tls.handshake.type==2", "-T", "pdml"])
        root = ET.fromstring(xml) if xml.strip() else ET.Element("pdml")
        for pkt in root.iter("packet"):
            st = None
            for f in pkt.iter("field"):
                if f.get("name") == "tcp.stream":
                    st = int(f.get("show"))
                    break
            if st is None:
                continue
            s = streams.setdefault(st, {})
            for hs in pkt.iter("field"):
                if hs.get("name") != "tls.handshake":
                    continue
                kids = {}
                for f in hs.iter("field"):
                    kids.setdefault(f.get("name"), f)
                t = kids.get("tls.handshake.type")
                if t is None or t.get("show") != "2" or "tls.version" in s:
                    continue
                ver = kids.get("tls.handshake.version")
                sv = kids.get("tls.handshake.extensions.supported_version")
                v = int((sv if sv is not None else ver).get("show"), 0)
                s["tls.version"] = TLS_VERSIONS.get(v, "0x%04x" % v)
                cs = kids.get("tls.handshake.ciphersuite")
                if cs is not None:
                    m = re.match(r"Cipher Suite:\s*(\S+)\s*\((0x[0-9a-fA-F]+)\)", cs.get("showname", ""))
                    s["tls.cipher"] = m.group(1) if m else cs.get("show")
    return streams


def rdpwhy_records(path):
    cmd = [BIN, "replay", "--format", "json", path]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    except FileNotFoundError:
        die("cannot run %s" % BIN)
    except subprocess.TimeoutExpired:
        return None, "timed out after 120 s: " + " ".join(cmd)
    recs = []
    for n, line in enumerate(p.stdout.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as e:
            return None, "line %d of '%s' is not JSON (%s): %r" % (n, " ".join(cmd), e, line[:200])
        if not isinstance(obj, dict):
            return None, "line %d of '%s' is not a JSON object" % (n, " ".join(cmd))
        recs.append(flatten(obj))
    # Every capture in index.tsv is a good one: rdpwhy must exit 0 on it, with
    # no sanitizer report on stderr, whatever records it printed.
    try:
        check_end(" ".join(cmd), p.returncode, 0, p.stderr)
    except RunFailed as e:
        return None, "%s (%d records on stdout)" % (e, len(recs))
    return recs, None


def rec_client_port(r):
    for k in ("client.port", "source.port"):
        if k in r:
            try:
                return int(r[k])
            except (TypeError, ValueError):
                pass
    return None


def pair(streams, recs):
    """-> list of (stream_id, facts, record) or error string"""
    ids = sorted(streams)
    if len(ids) == 1 and len(recs) == 1:
        return [(ids[0], streams[ids[0]], recs[0])], None
    by_port = {}
    for r in recs:
        cp = rec_client_port(r)
        if cp is None:
            return None, "%d connections in the capture, %d records, and a record without client.port/source.port to pair them" % (len(ids), len(recs))
        by_port[cp] = r
    out = []
    for i in ids:
        r = by_port.get(streams[i].get("client_port"))
        if r is None:
            return None, "no rdpwhy record for tcp.stream %d (client port %s)" % (i, streams[i].get("client_port"))
        out.append((i, streams[i], r))
    if len(recs) != len(ids):
        return None, "%d connections in the capture but %d rdpwhy records" % (len(ids), len(recs))
    return out, None


def same(key, t, r):
    if key == "rdpwhy.frames.last":
        # The record is written at the close (both FINs, or an RST): the
        # closing handshake's last ACKs may follow it in the file.
        return isinstance(r, int) and t - 2 <= r <= t
    if key == "rdp.cookie":
        # rdpwhy may keep the "mstshash=" prefix; compare the user names.
        return isinstance(r, str) and norm_cookie(r) == t
    if key == "rdp.requested_protocols":
        if not isinstance(r, list):
            return False
        tn, rn = set(t), set(r)
        if tn == {"rdp"}:
            return rn == {"rdp"}
        return rn - {"rdp"} == tn
    return t == r


def main():
    index = os.path.join(DATA, "index.tsv")
    if not os.path.isfile(index):
        die("no %s" % index)
    files = []
    with open(index) as fh:
        for n, line in enumerate(fh):
            line = line.rstrip("\n")
            if n == 0 or not line.strip():
                continue
            files.append(line.split("\t")[0])
    if not files:
        die("%s lists no captures" % index)

    mismatches, compared = [], 0
    for name in files:
        path = os.path.join(DATA, name)
        print("== %s" % name)
        if not os.path.isfile(path):
            mismatches.append("%s: file missing" % name)
            print("  MISSING FILE")
            continue
        streams = tshark_facts(path)
        if TSHARK_ONLY:
            for sid in sorted(streams):
                facts = {k: v for k, v in streams[sid].items()}
                print("  tcp.stream %d: %s" % (sid, json.dumps(facts, sort_keys=True)))
            continue
        recs, err = rdpwhy_records(path)
        if err:
            mismatches.append("%s: %s" % (name, err))
            print("  ERROR " + err)
            continue
        pairs, err = pair(streams, recs)
        if err:
            mismatches.append("%s: %s" % (name, err))
            print("  ERROR " + err)
            continue
        for sid, facts, rec in pairs:
            print("  tcp.stream %d (client port %s):" % (sid, facts.get("client_port")))
            for key in COMPARED_KEYS:
                t = facts.get(key)
                r = rec.get(key)
                if t is None and r is None:
                    print("    %-24s tshark: -            rdpwhy: -" % key)
                    continue
                if t is None:
                    if key in LEGACY_OK and r == LEGACY_OK[key]:
                        print("    %-24s tshark: -            rdpwhy: %s   ok (legacy, no negotiation PDU)" % (key, json.dumps(r)))
                    elif ALLOW_EXTRA:
                        print("    %-24s tshark: -            rdpwhy: %s   note (extra)" % (key, json.dumps(r)))
                    else:
                        print("    %-24s tshark: -            rdpwhy: %s   MISMATCH (tshark shows no such value)" % (key, json.dumps(r)))
                        mismatches.append("%s stream %d: %s: rdpwhy says %s, tshark shows nothing" % (name, sid, key, json.dumps(r)))
                    continue
                compared += 1
                if r is None:
                    print("    %-24s tshark: %-12s rdpwhy: (missing)   MISMATCH" % (key, json.dumps(t)))
                    mismatches.append("%s stream %d: %s: tshark %s, rdpwhy has no value" % (name, sid, key, json.dumps(t)))
                elif same(key, t, r):
                    print("    %-24s tshark: %-12s rdpwhy: %s   ok" % (key, json.dumps(t), json.dumps(r)))
                else:
                    print("    %-24s tshark: %-12s rdpwhy: %s   MISMATCH" % (key, json.dumps(t), json.dumps(r)))
                    mismatches.append("%s stream %d: %s: tshark %s, rdpwhy %s" % (name, sid, key, json.dumps(t), json.dumps(r)))
            if "_neg_failure" in facts:
                print("    (not compared) RDP_NEG_FAILURE failureCode=%d per tshark" % facts["_neg_failure"])

    if TSHARK_ONLY:
        return 0
    print()
    if mismatches:
        print("tshark_crosscheck: %d MISMATCH(ES):" % len(mismatches))
        for m in mismatches:
            print("  - " + m)
        return 1
    if compared == 0:
        print("tshark_crosscheck: FAILED: nothing was compared (tshark decoded no field in any capture)")
        return 1
    print("tshark_crosscheck: OK, %d values compared across %d captures" % (compared, len(files)))
    return 0


sys.exit(main())
PY
