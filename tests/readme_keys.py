#!/usr/bin/env python3
"""readme_keys.py RDPWHY REPO [RW_RECORD_KEYS_MD] — the README's JSON key table is
the truth about the records (issue #13 item 6):

  1. the README's block between <!-- record-keys:begin --> and
     <!-- record-keys:end --> is exactly what the generator prints from the
     writer's own key table (output/record_keys.h); the generator is
     RW_RECORD_KEYS_MD, or rw_record_keys_md next to RDPWHY;
  2. every key of every record of the shipped captures (tests/data,
     tests/data/lab), replayed in the default (nested) style and flattened, is
     in the table, with a value of the table's type, and every key marked
     always is in every one of them;
  3. the flat style (--json-style flat) gives the same keys and values in the
     same order as the nested record flattened, and a nested record reads with
     jq-style paths (r["rdpwhy"]["cause"]).

The unit fixtures' records (tests/unit/record_fixtures.c) are held to the same
table by test_record_json_keys (test_keys_of_fixtures), which also checks the
table's order is the writer's.
"""
import glob
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from rdpwhy_run import run  # noqa: E402
from records import flatten  # noqa: E402

BIN, REPO = sys.argv[1], sys.argv[2]
GEN = sys.argv[3] if len(sys.argv) > 3 else os.path.join(os.path.dirname(BIN), "rw_record_keys_md")
fails = []


def fail(msg):
    fails.append(msg)
    print("FAIL " + msg)


# 1. The README's block against the generator.
if not os.access(GEN, os.X_OK):
    sys.exit("FAIL: no generator %s (the CMake target rw_record_keys_md)" % GEN)
table = subprocess.run([GEN], check=True, capture_output=True, text=True).stdout
readme = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
m = re.search(r"<!-- record-keys:begin -->\n(.*?)<!-- record-keys:end -->", readme, re.S)
if not m:
    sys.exit("FAIL: README.md has no <!-- record-keys:begin --> ... <!-- record-keys:end --> block")
if m.group(1) != table:
    have, want = m.group(1).splitlines(), table.splitlines()
    for i in range(max(len(have), len(want))):
        h = have[i] if i < len(have) else "(none)"
        w = want[i] if i < len(want) else "(none)"
        if h != w:
            fail("README key table line %d differs from the generator's:\n  README: %s\n  table:  %s\n"
                 "  (regenerate: %s --update README.md)" % (i + 1, h, w, GEN))
            break

# The table, parsed from the generator's output: key -> (type, present).
keys = {}
order = []
for line in table.splitlines()[2:]:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    k = re.fullmatch(r"`([^`]+)`", cells[0])
    if not k:
        sys.exit("FAIL: generator row without a key: %r" % line)
    keys[k.group(1)] = (cells[1], cells[2])
    order.append(k.group(1))
if len(keys) < 60:
    sys.exit("FAIL: the key table parsed to only %d keys" % len(keys))
always = {k for k, (_, present) in keys.items() if present == "always"}
# Keys the README must not call always: facts that depend on what was seen.
for k in ("event.end", "event.duration", "source.bytes", "destination.bytes",
          "rdpwhy.tcp.retransmits.client", "rdpwhy.tls.encrypted_records.server",
          "rdpwhy.timeline.tcp_connect", "tls.alert.description"):
    if k in always:
        fail("the table calls %s always present; it is not" % k)

TYPES = {
    "string": lambda v: isinstance(v, str),
    "date": lambda v: isinstance(v, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z", v),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array of strings": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
}
for k, (t, _) in keys.items():
    if t not in TYPES:
        fail("key %s: unknown type %r" % (k, t))


def check_record(where, r):
    for k, v in r.items():
        if k not in keys:
            fail("%s: key %s is not in the key table" % (where, k))
        elif not TYPES.get(keys[k][0], lambda v: True)(v):
            fail("%s: %s = %r is not a %s" % (where, k, v, keys[k][0]))
    for k in sorted(always - set(r)):
        fail("%s: 'always' key %s is missing" % (where, k))
    idx = [order.index(k) for k in r if k in keys]
    if idx != sorted(idx):
        fail("%s: keys out of the table's order" % where)


# 2. and 3. The shipped captures.
caps = sorted(glob.glob(os.path.join(REPO, "tests", "data", "*.pcap")) +
              glob.glob(os.path.join(REPO, "tests", "data", "lab", "*.pcap")))
if len(caps) < 10:
    sys.exit("FAIL: only %d shipped captures found" % len(caps))
n = 0
seen = set()
for cap in caps:
    name = os.path.basename(cap)
    nested = run([BIN, "replay", "--format", "json", cap], want=0).stdout.splitlines()
    flat = run([BIN, "replay", "--format", "json", "--json-style", "flat", cap], want=0).stdout.splitlines()
    if len(nested) != len(flat):
        fail("%s: %d nested records, %d flat" % (name, len(nested), len(flat)))
    for ln, lf in zip(nested, flat):
        rn, rf = json.loads(ln), json.loads(lf)
        n += 1
        # Nested: objects all the way down, no dotted name anywhere.
        if "rdpwhy.cause" in rn or not isinstance(rn.get("rdpwhy"), dict):
            fail("%s: the default record is not nested: %s" % (name, ln[:120]))
        if not isinstance(rn["rdpwhy"].get("cause"), str):
            fail("%s: no .rdpwhy.cause in the nested record" % name)
        stack = [rn]
        while stack:
            o = stack.pop()
            for k, v in o.items():
                if "." in k:
                    fail("%s: dotted key %s in the nested record" % (name, k))
                if isinstance(v, dict):
                    stack.append(v)
        # Flat: no object values at all.
        for k, v in rf.items():
            if isinstance(v, dict):
                fail("%s: flat record has an object at %s" % (name, k))
        fn = flatten(rn)
        if list(fn.items()) != list(rf.items()):
            fail("%s: the nested record flattened differs from the flat one:\n  %s\n  %s"
                 % (name, json.dumps(fn)[:300], lf[:300]))
        check_record(name, fn)
        seen |= set(fn)
print("%d keys in the table (%d always), %d records of %d captures checked, %d distinct keys seen"
      % (len(keys), len(always), n, len(caps), len(seen)))
if fails:
    print("%d failed" % len(fails))
    sys.exit(1)
print("ok")
