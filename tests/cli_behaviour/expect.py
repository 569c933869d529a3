"""Shared checks for the Python parts of tests/cli_behaviour.sh.

Each check prints 'ok NAME' or 'FAIL NAME -- detail'; done() exits 1 when any
failed. Expectations are computed from the test inputs (the slicing plan,
tshark, openssl), never from rdpwhy's own answers."""
import datetime
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import pcaptool  # noqa: E402
from records import flatten  # noqa: E402

failed = 0


def check(name, cond, detail=""):
    global failed
    if cond:
        print("ok", name)
    else:
        failed += 1
        print("FAIL", name, "--", detail)
    return bool(cond)


def done():
    sys.exit(1 if failed else 0)


def load(path):
    """The JSON records of a run, one object per line (a bad line fails),
    by dotted key names whatever the json_style (tests/lib/records.py)."""
    recs = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                recs.append(flatten(json.loads(line)))
            except ValueError as e:
                check(f"{path}:{n} is JSON", False, str(e))
    return recs


def iso(us):
    """rdpwhy's ECS timestamp form for a pcap time in microseconds."""
    t = datetime.datetime.fromtimestamp(us // 1000000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%06dZ" % (us % 1000000)


def frames(path):
    """[(ts_us, wire_len, bytes)] of a classic pcap."""
    return pcaptool.read(path)[2]


def tshark(path, fields, filt=None, extra=()):
    """Rows of tshark -T fields (lists of strings)."""
    cmd = ["tshark", "-n", "-r", path, *extra]
    if filt:
        cmd += ["-Y", filt]
    cmd += ["-T", "fields", "-E", "separator=\t"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line.strip()]


def payload_bytes(path, src_port):
    """TCP payload bytes a port sent in a capture (no retransmissions)."""
    rows = tshark(path, ["tcp.len"], f"tcp.srcport=={src_port} && !tcp.analysis.retransmission")
    return sum(int(r[0] or 0) for r in rows)


def evidence_has(rec, text):
    return any(text in e for e in rec.get("rdpwhy.evidence", []))
