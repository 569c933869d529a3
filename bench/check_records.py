#!/usr/bin/env python3
"""Compare rdpwhy's JSON records with what bench/make_pcap.py generated.

usage: check_records.py FILE.expected.tsv RECORDS.json

Checks that there is exactly one record per generated connection (matched by
4-tuple), that each record's verdict (cause, closed_by, close_kind, phase) is
the one tests/data/index.tsv gives for the connection's template, and that
the payload byte counts (source.bytes, destination.bytes) are what was
generated. Prints a summary; exits 1 on any mismatch.
"""
import collections
import json
import os
import sys

# Records by dotted names, nested (json_style's default) or flat.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
from records import flatten  # noqa: E402

FIELDS = [("cause", "rdpwhy.cause"), ("closed_by", "rdpwhy.closed_by"),
          ("close_kind", "rdpwhy.close_kind"), ("phase", "rdpwhy.phase"),
          ("client_bytes", "source.bytes"), ("server_bytes", "destination.bytes")]


def main():
    if len(sys.argv) != 3:
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
    n = 0
    with open(sys.argv[2]) as f:
        for line in f:
            if not line.strip():
                continue
            n += 1
            r = flatten(json.loads(line))
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
    missing = [k for k in expected if k not in seen]
    dup = sum(c - 1 for c in seen.values() if c > 1)
    print(f"records: {n}; generated connections: {len(expected)}; matched: {len(seen)}; "
          f"missing: {len(missing)}; duplicates: {dup}; unexpected: {extra}")
    by_tpl = collections.Counter(row["template"] for row in expected.values())
    print("connections per template: " + ", ".join(f"{k} {v}" for k, v in sorted(by_tpl.items())))
    if bad:
        print("mismatches (template, connection kind, field, expected, got: count, example client):")
        for k, c in sorted(bad.items()):
            print(f"  {k[0]} [{k[1]}] {k[2]}: expected {k[3]}, got {k[4]}: {c} (e.g. {examples[k]})")
    else:
        print("every matched record has the expected verdict and byte counts")
    ok = not bad and not missing and not dup and not extra and n == len(expected)
    print("CHECK " + ("OK" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
