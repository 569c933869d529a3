#!/usr/bin/env python3
"""record_consistency.py RDPWHY DATA_DIR... — one record never contradicts
itself (issue #10 item 7), checked on every record of the shipped captures:

  - the timeline holds only phases up to rdpwhy.phase, in order, and that phase;
  - tls.established is never true when the cause is a TLS handshake failure,
    nor when the connection closed during the TLS handshake;
  - rdpwhy.confidence is high|medium|low; alternatives are other causes, listed
    once, and come with rdpwhy.tell_apart;
  - the fix does not ask to read an alert that was only seen encrypted.
"""
import glob
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from rdpwhy_run import run  # noqa: E402
from records import loads  # noqa: E402

PHASES = ["tcp_connect", "x224", "tls_handshake", "nla", "rdp", "established"]
HANDSHAKE_FAILURES = {"tls_protocol_version_mismatch", "tls_cipher_mismatch",
                      "tls_rejected_without_alert", "certificate_expired",
                      "certificate_rejected_by_client", "tls_alert"}
BIN = sys.argv[1]
caps = sorted(c for d in sys.argv[2:] for c in glob.glob(os.path.join(d, "*.pcap")))
fails, n = [], 0


def check(cond, name, msg):
    if not cond:
        fails.append("%s: %s" % (name, msg))
        print("FAIL %s: %s" % (name, msg))


for cap in caps:
    name = os.path.basename(cap)
    for line in run([BIN, "replay", "--format", "json", cap], want=0).stdout.splitlines():
        r = loads(line)  # dotted names (tests/lib/records.py)
        n += 1
        phase, cause = r["rdpwhy.phase"], r["rdpwhy.cause"]
        # rdpwhy.timeline.PHASE: integer microseconds since event.start.
        tl = [k[len("rdpwhy.timeline."):] for k in r if k.startswith("rdpwhy.timeline.")]
        check(all(isinstance(r["rdpwhy.timeline." + p], int) and r["rdpwhy.timeline." + p] >= 0
                  for p in tl), name, "timeline values not whole microseconds: %s"
              % {p: r["rdpwhy.timeline." + p] for p in tl})
        check(all(p in PHASES for p in tl), name, "unknown phase in timeline %s" % tl)
        idx = [PHASES.index(p) for p in tl if p in PHASES]
        check(idx == sorted(idx), name, "timeline out of order: %s" % tl)
        check(all(i <= PHASES.index(phase) for i in idx), name,
              "timeline %s goes past rdpwhy.phase %s" % (tl, phase))
        check(phase in tl, name, "rdpwhy.phase %s not in the timeline %s" % (phase, tl))
        if r.get("tls.established") is True:
            check(cause not in HANDSHAKE_FAILURES, name,
                  "tls.established true with cause %s" % cause)
            check(PHASES.index(phase) > PHASES.index("tls_handshake"), name,
                  "tls.established true but closed in %s" % phase)
        check(r["rdpwhy.confidence"] in ("high", "medium", "low"), name,
              "confidence %r" % r["rdpwhy.confidence"])
        alts = r.get("rdpwhy.alternatives", [])
        check(cause not in alts and len(alts) == len(set(alts)), name,
              "alternatives %s with cause %s" % (alts, cause))
        check(not alts or r.get("rdpwhy.tell_apart"), name, "alternatives without tell_apart")
        if r.get("tls.alert.description") == "encrypted":
            check("alert named in the evidence" not in r["rdpwhy.remediation"], name,
                  "the fix asks to read an encrypted alert")
if len(caps) < 10 or n < len(caps):
    print("FAIL: only %d records from %d captures" % (n, len(caps)))
    sys.exit(1)
print("%d records of %d captures checked, %d failed" % (n, len(caps), len(fails)))
sys.exit(1 if fails else 0)
