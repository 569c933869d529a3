#!/usr/bin/env python3
"""Compare rdpwhy's JSON records with what bench/make_pcap.py generated.

usage: check_records.py FILE.expected.tsv RECORDS.json [--flow-limit]

Checks that there is exactly one record per generated connection (matched by
4-tuple), that each record's verdict (cause, closed_by, close_kind, phase) is
the one tests/data/index.tsv gives for the connection's template, and that
the payload byte counts (source.bytes, destination.bytes) are what was
generated. Prints a summary; exits 1 on any mismatch.

Scan summaries: connection attempts that never became connections (a SYN
refused, never answered, ...) get their own record only up to a rate (README:
the first 5 of a source in each minute, 100 in all); the rest are counted
into `scan_or_flood` records, one per scanning source and minute
(rdpwhy.scan.targets) or per target and minute when many sources try it
(rdpwhy.scan.sources). A generated connection with no record of its own is
accounted for by the summaries of its target (else of its source) when its
expected verdict is such an attempt; per target (source), the summaries'
rdpwhy.scan.attempts and each kind's count (rdpwhy.scan.refused, ...) must
equal the number of such connections with no record, exactly. Anything else
without a record is missing.

--flow-limit: the replay ran with a flow table too small for the capture
(--max-flows), so connections were reported early. A connection evicted while
half-open is tallied as an attempt, and when its later packets come it goes
on as a flow of its own with its own record: the summaries may then count
more than the connections without a record, by at most the connections with
a record to that target (source), never fewer.
"""
import collections
import json
import os
import sys

# Records by dotted names, nested (json_style's default) or flat.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
from records import flatten  # noqa: E402

# The expected verdict of a connection attempt that a scan summary counts,
# (phase, close_kind), and the summary's field for its kind (capture/scan_tally.h:
# enum rw_attempt). make_pcap.py's templates hold only refused ones
# (port_closed.pcap); a half-open or client-reset attempt has no template.
ATTEMPT_KINDS = {("tcp_connect", "refused"): "rdpwhy.scan.refused",
                 ("tcp_connect", "timeout"): "rdpwhy.scan.unanswered"}
SCAN_KIND_FIELDS = ["rdpwhy.scan.refused", "rdpwhy.scan.unanswered", "rdpwhy.scan.half_open",
                    "rdpwhy.scan.client_reset"]

FIELDS = [("cause", "rdpwhy.cause"), ("closed_by", "rdpwhy.closed_by"),
          ("close_kind", "rdpwhy.close_kind"), ("phase", "rdpwhy.phase"),
          ("client_bytes", "source.bytes"), ("server_bytes", "destination.bytes")]


def account_summaries(summaries, unrecorded, expected, recorded=(), flow_limit=False):
    """Matches the generated connections that have no record of their own
    (unrecorded: 4-tuples) with the scan summaries, from the summaries' own
    fields. Returns (the connections still missing, how many the summaries
    account for, a list of mismatches)."""
    bad = []
    tallies = {}  # ("target", ip) / ("source", ip) -> field -> sum
    for r in summaries:
        if "rdpwhy.scan.sources" in r:
            key = ("target", r.get("destination.ip"))
        elif "rdpwhy.scan.targets" in r:
            key = ("source", r.get("source.ip"))
        else:
            bad.append("a summary with neither rdpwhy.scan.sources nor rdpwhy.scan.targets "
                       "(record %s)" % r.get("rdpwhy.record_id", r.get("event.id")))
            continue
        attempts = r.get("rdpwhy.scan.attempts", 0)
        kinds = sum(r.get(f, 0) for f in SCAN_KIND_FIELDS)
        if kinds != attempts:
            bad.append("%s %s: rdpwhy.scan.attempts %d but its kinds add up to %d"
                       % (key[0], key[1], attempts, kinds))
        t = tallies.setdefault(key, collections.Counter())
        t["rdpwhy.scan.attempts"] += attempts
        for f in SCAN_KIND_FIELDS:
            t[f] += r.get(f, 0)
    missing = []
    counted = {}  # key -> Counter of the connections it should count
    for k in unrecorded:
        row = expected[k]
        kind = ATTEMPT_KINDS.get((row["phase"], row["close_kind"]))
        key = None
        if kind is not None:
            key = next((c for c in (("target", row["server_ip"]), ("source", row["client_ip"]))
                        if c in tallies), None)
        if key is None:
            missing.append(k)
            continue
        c = counted.setdefault(key, collections.Counter())
        c["rdpwhy.scan.attempts"] += 1
        c[kind] += 1
    slack = collections.Counter()  # key -> connections with a record through it
    for k in recorded if flow_limit else ():
        row = expected[k]
        for key in (("target", row["server_ip"]), ("source", row["client_ip"])):
            slack[key] += 1
    for key in sorted(set(tallies) | set(counted), key=str):
        want = counted.get(key, collections.Counter())
        got = tallies.get(key, collections.Counter())
        for f in ["rdpwhy.scan.attempts"] + SCAN_KIND_FIELDS:
            if not want[f] <= got[f] <= want[f] + slack[key]:
                bad.append("%s %s: %s %d in the summaries, %d generated attempts without a "
                           "record" % (key[0], key[1], f, got[f], want[f]))
    accounted = len(unrecorded) - len(missing)
    return missing, accounted, bad


def main():
    flow_limit = sys.argv[3:] == ["--flow-limit"]
    if len(sys.argv) != 3 and not flow_limit:
        raise SystemExit(__doc__.strip().splitlines()[2])
    expected = {}
    with open(sys.argv[1]) as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            row = dict(zip(header, line.rstrip("\n").split("\t")))
            key = (row["client_ip"], int(row["client_port"]), row["server_ip"],
                   int(row["server_port"]))
            expected[key] = row
    seen = collections.Counter()
    extra = 0
    bad = collections.Counter()  # (template, field, expected, got) -> count
    examples = {}
    summaries = []
    n = 0
    with open(sys.argv[2]) as f:
        for line in f:
            if not line.strip():
                continue
            n += 1
            r = flatten(json.loads(line))
            if r.get("rdpwhy.cause") == "scan_or_flood":
                summaries.append(r)
                continue
            key = (r.get("source.ip"), r.get("source.port"), r.get("destination.ip"),
                   r.get("destination.port"))
            row = expected.get(key)
            if row is None:
                extra += 1
                continue
            seen[key] += 1
            for name, jkey in FIELDS:
                want = row[name]
                got = r.get(jkey)
                if name.endswith("bytes"):
                    want, got = int(want), (got if got is not None else 0)
                if want != got:
                    tag = "perturbed" if row["perturbed"] == "1" else row["kind"]
                    k = (row["template"], tag, name, str(want), str(got))
                    bad[k] += 1
                    examples.setdefault(k, "%s:%d" % (key[0], key[1]))
    unrecorded = [k for k in expected if k not in seen]
    missing, accounted, scan_bad = account_summaries(summaries, unrecorded, expected,
                                                     list(seen), flow_limit)
    dup = sum(c - 1 for c in seen.values() if c > 1)
    print(f"records: {n}; generated connections: {len(expected)}; matched: {len(seen)}; "
          f"missing: {len(missing)}; duplicates: {dup}; unexpected: {extra}")
    print(f"scan_or_flood summaries: {len(summaries)}, counting "
          f"{sum(r.get('rdpwhy.scan.attempts', 0) for r in summaries)} attempts; "
          f"connections without a record of their own they account for: {accounted}")
    for line in scan_bad:
        print("  summary mismatch: " + line)
    for k in missing[:5]:
        row = expected[k]
        print(f"  missing: {k[0]}:{k[1]} -> {k[2]}:{k[3]} ({row['template']}, {row['cause']})")
    by_tpl = collections.Counter(row["template"] for row in expected.values())
    print("connections per template: " + ", ".join(f"{k} {v}" for k, v in sorted(by_tpl.items())))
    if bad:
        print("mismatches (template, connection kind, field, expected, got: count, example client):")
        for k, c in sorted(bad.items()):
            print(f"  {k[0]} [{k[1]}] {k[2]}: expected {k[3]}, got {k[4]}: {c} (e.g. {examples[k]})")
    else:
        print("every matched record has the expected verdict and byte counts")
    ok = (not bad and not missing and not scan_bad and not dup and not extra and
          n == len(expected) - accounted + len(summaries))
    print("CHECK " + ("OK" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
