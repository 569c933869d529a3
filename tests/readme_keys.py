#!/usr/bin/env python3
"""readme_keys.py RDPWHY REPO — the README's JSON key table is the truth about
the records (issue #10 item 7):

  1. every key the JSON writer (output/record_json.c) can emit is in the table;
  2. every key in the table is one the writer can emit (no stale entries);
  3. every key in the records of the shipped captures (tests/data, tests/data/lab)
     is in the table, and every key marked "always" is in every one of them.

The table is the one under '### The JSON record': rows '| `key`, `key` | always | ... |'.
"""
import glob
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from rdpwhy_run import run  # noqa: E402

BIN, REPO = sys.argv[1], sys.argv[2]
fails = []


def fail(msg):
    fails.append(msg)
    print("FAIL " + msg)


def readme_table():
    text = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    m = re.search(r"^### The JSON record\n(.*?)(?=^#)", text, re.S | re.M)
    if not m:
        sys.exit("FAIL: no '### The JSON record' section in README.md")
    documented, always = set(), set()
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        keys = re.findall(r"`([^`]+)`", cells[0])
        for k in keys:
            documented.add(k)
            if cells[1] == "always":
                always.add(k)
    if len(documented) < 20:
        sys.exit("FAIL: the README key table parsed to only %d keys" % len(documented))
    return documented, always


def writer_keys():
    src = open(os.path.join(REPO, "output", "record_json.c"), encoding="utf-8").read()
    # Drop comments: the header comment lists keys in shorthand.
    src = re.sub(r"/\*.*?\*/", "", src, flags=re.S)
    src = re.sub(r"//[^\n]*", "", src)
    keys = set(re.findall(r'"(@timestamp|[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)"', src))
    keys = {k for k in keys if not k.endswith(".h")}
    # rw_json_kv_wire adds KEY_hex when the value was not plain.
    for k in re.findall(r'rw_json_kv_wire\(j, "([^"]+)"', src):
        keys.add(k + "_hex")
    if len(keys) < 20:
        sys.exit("FAIL: found only %d keys in output/record_json.c" % len(keys))
    return keys


documented, always = readme_table()
emitted = writer_keys()
for k in sorted(emitted - documented):
    fail("key %s is written by output/record_json.c but not in the README's table" % k)
for k in sorted(documented - emitted):
    fail("README documents %s, which output/record_json.c never writes" % k)

caps = sorted(glob.glob(os.path.join(REPO, "tests", "data", "*.pcap")) +
              glob.glob(os.path.join(REPO, "tests", "data", "lab", "*.pcap")))
if len(caps) < 10:
    sys.exit("FAIL: only %d shipped captures found" % len(caps))
n = 0
for cap in caps:
    p = run([BIN, "replay", "--format", "json", cap], want=0)
    for line in p.stdout.splitlines():
        r = json.loads(line)
        n += 1
        for k in sorted(set(r) - documented):
            fail("%s: key %s is not in the README's table" % (os.path.basename(cap), k))
        for k in sorted(always - set(r)):
            fail("%s: 'always' key %s is missing" % (os.path.basename(cap), k))
print("%d keys documented (%d always), %d written by the code, %d records of %d captures checked"
      % (len(documented), len(always), len(emitted), n, len(caps)))
if fails:
    print("%d failed" % len(fails))
    sys.exit(1)
print("ok")
