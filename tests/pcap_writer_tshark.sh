#!/usr/bin/env bash
# pcap_writer_tshark.sh TEST_BIN|--samples DIR DATA_DIR
#
# Checks with Wireshark's dissectors (tshark) the pcap files that rdpwhy's
# proxy pcap writer produces. test_pcap_writer (TEST_BIN, a cmocka program)
# rewrites every capture listed in DATA_DIR/index.tsv through the writer into
# RW_PCAPW_SAMPLE_DIR/<capture stem>/rdpwhy-*.pcap; this script runs it with a
# fresh directory (or takes an existing one with --samples DIR) and checks:
#
#   1. every packet of every rewrite: IP and TCP checksums verified Good
#      (ip.check_checksum / tcp.check_checksum on), no TCP analysis flag
#      (retransmission, out-of-order, previous segment lost, ACKed unseen
#      segment, window full, ...), no expert warning or error the original
#      capture does not raise too (a RST is a warning; so is an MCS PDU
#      after TLS, decoded as TLS), no more malformed frames than the
#      original (Wireshark 4.0 calls xrdp's ClientInfo PDU malformed) -
#      tls_ok must have none;
#   2. the protocol fields tshark decodes from the rewrite are those it
#      decodes from the original, in the same order per direction: X.224 and
#      RDP negotiation (port 3389 dissected as TPKT, Wireshark's default) and
#      TLS records, handshake messages, versions, cipher suites and alerts
#      (a second pass with port 3389 decoded as TLS: Wireshark 4.0's RDP
#      dissector does not hand the TLS that follows X.224 to the TLS
#      dissector);
#   3. the tls_ok rewrite shows the X.224 Connection Request, the RDP
#      Negotiation Request and the TLS ClientHello and ServerHello.
#
# Exit status: 0 all good, 1 a check failed (or TEST_BIN failed, or left a
# sanitizer report), 2 usage/tool error: tshark or python3 missing is a
# failure, not a skip (scripts/setup.sh --test installs them).
set -euo pipefail
# shellcheck source=lib/rdpwhy_run.sh
. "$(dirname "$0")/lib/rdpwhy_run.sh"

usage() {
    echo "usage: $0 TEST_BIN|--samples DIR DATA_DIR" >&2
    exit 2
}

command -v tshark >/dev/null || { echo "pcap_writer_tshark: FAIL: tshark not found (scripts/setup.sh --test installs it)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "pcap_writer_tshark: FAIL: python3 not found (scripts/setup.sh --test installs it)" >&2; exit 2; }

if [[ $# -eq 3 && $1 == --samples ]]; then
    samples=$2
    data=$3
elif [[ $# -eq 2 ]]; then
    bin=$1
    data=$2
    [[ -x $bin ]] || { echo "pcap_writer_tshark: $bin is not executable" >&2; exit 2; }
    samples=$(mktemp -d /tmp/rdpwhy-pcapw-tshark.XXXXXX)
    trap 'rm -rf -- "$samples"' EXIT
    # Exit 0 and no sanitizer report (its stdout and stderr go to one log).
    if ! RW_PCAPW_SAMPLE_DIR=$samples rw_run 0 "$samples/test.out" "$samples/test.log" "$bin"; then
        cat "$samples/test.out" "$samples/test.log" >&2
        echo "pcap_writer_tshark: $bin failed" >&2
        exit 1
    fi
else
    usage
fi
[[ -d $samples && -f $data/index.tsv ]] || usage

python3 - "$samples" "$data" <<'PY'
import glob, os, subprocess, sys

SAMPLES, DATA = sys.argv[1], sys.argv[2]
PREFS = ["-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE"]
PASSES = {
    "tpkt": (["-d", "tcp.port==3389,tpkt"],
             ["cotp.type", "rdp.rt_cookie", "rdp.neg_type", "rdp.negReq.requestedProtocols",
              "rdp.negReq.selectedProtocol", "rdp.negFailure.failureCode"]),
    "tls": (["-d", "tcp.port==3389,tls"],
            ["tls.record.content_type", "tls.record.version", "tls.handshake.type",
             "tls.handshake.version", "tls.handshake.ciphersuite",
             "tls.handshake.extensions.supported_version", "tls.alert_message.level",
             "tls.alert_message.desc"]),
}
# Per frame: direction, checksum statuses, problems, expert items.
META = ["tcp.dstport", "tcp.checksum.status", "ip.checksum.status", "ipv6.src", "_ws.malformed",
        "tcp.analysis.flags", "_ws.expert.severity", "_ws.expert.message"]
PI_WARN = 0x00600000
failures = []


def die(msg):
    print("pcap_writer_tshark: " + msg, file=sys.stderr)
    sys.exit(2)


def dissect(path, pass_name):
    """One tshark run. Returns frames: dicts with dir (0 client->server,
    1 server->client), checksum flags, problems, warnings (expert messages of
    severity warning or worse) and the protocol values in order."""
    dec, names = PASSES[pass_name]
    args = ["tshark", "-n", "-r", path] + PREFS + dec + [
        "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|", "-E", "separator=/t"]
    for n in META + names:
        args += ["-e", n]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        die("%s: %s" % (" ".join(args), p.stderr.strip()))
    frames = []
    for line in p.stdout.splitlines():
        cols = line.split("\t")
        cols += [""] * (len(META) + len(names) - len(cols))
        m = dict(zip(META, cols))
        sev = [int(x) for x in m["_ws.expert.severity"].split("|") if x]
        msg = m["_ws.expert.message"].split("|") if m["_ws.expert.message"] else []
        frames.append({
            "dir": 0 if m["tcp.dstport"] == "3389" else 1,
            "csum_ok": m["tcp.checksum.status"] == "1" and
                       (m["ip.checksum.status"] == "1" or bool(m["ipv6.src"])),
            "malformed": bool(m["_ws.malformed"]),
            "analysis": bool(m["tcp.analysis.flags"]),
            "warnings": {t for s, t in zip(sev, msg) if s >= PI_WARN},
            "values": [(n, v) for n, vs in zip(names, cols[len(META):]) if vs
                       for v in vs.split("|")],
        })
    return frames


def per_dir(frames):
    seq = ([], [])
    for f in frames:
        seq[f["dir"]].extend(f["values"])
    return seq


def check(name, orig, path):
    result = {}
    for pass_name in PASSES:
        a, b = dissect(orig, pass_name), dissect(path, pass_name)
        result[pass_name] = b
        where = "%s (%s pass)" % (name, pass_name)
        if not b:
            failures.append("%s: no packets" % where)
            continue
        # 1. every packet of the rewrite
        allowed = set().union(*(f["warnings"] for f in a))
        for i, f in enumerate(b, 1):
            if not f["csum_ok"]:
                failures.append("%s: frame %d: IP/TCP checksum not verified Good" % (where, i))
            if f["analysis"]:
                failures.append("%s: frame %d: TCP analysis flag" % (where, i))
            extra = f["warnings"] - allowed
            if extra:
                failures.append("%s: frame %d: expert warning the original lacks: %s" %
                                (where, i, sorted(extra)))
        # Wireshark 4.0 calls some real ClientInfo PDUs malformed: only as
        # many malformed frames as the original has.
        ma, mb = sum(f["malformed"] for f in a), sum(f["malformed"] for f in b)
        if mb > ma:
            failures.append("%s: %d malformed frames, the original has %d: %s" %
                            (where, mb, ma, [i for i, f in enumerate(b, 1) if f["malformed"]]))
        # 2. same protocol fields, same order, per direction
        da, db = per_dir(a), per_dir(b)
        for d in (0, 1):
            if da[d] != db[d]:
                failures.append("%s %s: fields differ\n  original %s\n  rewrite  %s" %
                                (where, "c2s" if d == 0 else "s2c", da[d], db[d]))
    return result


def check_tls_ok(result):
    want = [("X.224 Connection Request", "tpkt", ("cotp.type", "0x0e")),
            ("X.224 Connection Confirm", "tpkt", ("cotp.type", "0x0d")),
            ("RDP Negotiation Request", "tpkt", ("rdp.neg_type", "0x01")),
            ("RDP Negotiation Response", "tpkt", ("rdp.neg_type", "0x02")),
            ("TLS ClientHello", "tls", ("tls.handshake.type", "1")),
            ("TLS ServerHello", "tls", ("tls.handshake.type", "2"))]
    for pass_name, frames in result.items():
        if any(f["malformed"] for f in frames):
            failures.append("tls_ok (%s pass): malformed frames" % pass_name)
    for what, pass_name, item in want:
        n = sum(f["values"].count(item) for f in result[pass_name])
        if n != 1:
            failures.append("tls_ok: tshark shows %d %s (%s == %s), expected 1" %
                            ((n, what) + item))


n = 0
seen_tls_ok = False
with open(os.path.join(DATA, "index.tsv")) as f:
    next(f)
    for line in f:
        if not line.strip():
            continue
        file = line.split("\t")[0]
        stem = os.path.splitext(file)[0]
        found = glob.glob(os.path.join(SAMPLES, stem, "rdpwhy-*.pcap"))
        if len(found) != 1:
            failures.append("%s: expected one rewrite in %s, found %d" %
                            (file, os.path.join(SAMPLES, stem), len(found)))
            continue
        result = check(stem, os.path.join(DATA, file), found[0])
        if stem == "tls_ok":
            seen_tls_ok = True
            check_tls_ok(result)
        n += 1

if not seen_tls_ok:
    failures.append("no tls_ok rewrite")
for msg in failures:
    print("FAIL " + msg)
print("pcap_writer_tshark: %d rewrites checked, %d failures" % (n, len(failures)))
sys.exit(1 if failures else 0)
PY
