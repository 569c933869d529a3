#!/usr/bin/env python3
"""Judges what kcat consumed from a kafka:// output.

usage: check_records.py [--exact] CONSUMED EXPECTED...

CONSUMED: kcat -f '%k\\t%s\\n' output, one message a line. EXPECTED: files of
`rdpwhy replay --format json` lines, the records that may arrive; every
record of the first one must arrive (no losses by id). Each message must be
keyed by a record id (32 lower-case hex digits), its value valid JSON equal
to one of the expected lines, holding that same id. --exact: each record of
the first file exactly once and nothing else (no duplicates: no failure on
the way). Prints one line of counts; exit 1 with the reasons otherwise."""
import json
import re
import sys


def record_id(rec):
    # Nested objects by default, dotted keys with json_style = flat: accept both.
    if "rdpwhy.record_id" in rec:
        return rec["rdpwhy.record_id"]
    return rec.get("rdpwhy", {}).get("record_id")


def main(argv):
    exact = "--exact" in argv
    args = [a for a in argv if a != "--exact"]
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    consumed, expected_files = args[0], args[1:]
    expected = set()
    must = set()
    for i, name in enumerate(expected_files):
        with open(name, encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if not line:
                    continue
                expected.add(line)
                if i == 0:
                    must.add(record_id(json.loads(line)))
    errors = []
    seen = {}
    with open(consumed, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for n, line in enumerate(lines, 1):
        key, tab, value = line.partition("\t")
        if not tab or not re.fullmatch(r"[0-9a-f]{32}", key):
            errors.append(f"message {n}: key {key[:40]!r} is not a record id")
            continue
        try:
            rec = json.loads(value)
        except ValueError as e:
            errors.append(f"message {n}: value is not JSON ({e}): {value[:80]!r}")
            continue
        if record_id(rec) != key:
            errors.append(f"message {n}: key {key} but the record's id is {record_id(rec)}")
        if value not in expected:
            errors.append(f"message {n} ({key}): not equal to any --format json line")
        seen[key] = seen.get(key, 0) + 1
    lost = sorted(must - set(seen))
    if lost:
        errors.append(f"{len(lost)} of {len(must)} records lost: {', '.join(lost[:5])}")
    dups = sum(c - 1 for c in seen.values())
    if exact and (dups or set(seen) != must):
        errors.append(f"--exact: {dups} duplicates, {len(set(seen) - must)} unexpected ids")
    print(f"{len(lines)} messages, {len(seen)} record ids, {dups} duplicates, "
          f"{len(must)} expected, {len(lost)} lost")
    for e in errors[:20]:
        print("  " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
