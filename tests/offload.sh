#!/bin/bash
# offload.sh RDPWHY DATADIR — the verdict does not depend on where the capture
# was taken or what offloads were on there (issue #10 items 2 and 3).
#
# tests/captures/offload_variants.py rewrites two committed real captures:
# DATADIR/lab/13_mtu_blackhole_path.pcap (an MTU black hole, offloads off) as a
# sender with TSO/GSO, a receiver with GRO and a capture begun after the
# handshake would have taken it, and as the client saw it (the full-size
# segments lost on the network); DATADIR/tls_ok.pcap with one server segment
# the client acknowledged dropped from the capture. Each variant's expectations
# (OUTDIR/expect.tsv) follow from how it was built; the original verdict of
# tls_ok.pcap comes from DATADIR/index.tsv. Checked per variant:
#   - exactly one JSON record, rdpwhy exits 0 with no sanitizer report
#     (tests/lib/rdpwhy_run.sh);
#   - the cause (mtu_blackhole for the TSO, GRO and mid-stream variants, the
#     index's cause, closed_by, close_kind and phase for the capture-loss one),
#     and the black-hole evidence naming full-size segments of the path MSS;
#   - the record's fields: the MSS judged, the largest retransmission, the
#     capture gaps (rdpwhy.capture.gaps.*: a hole the receiver acknowledged is
#     capture loss; a hole it never acknowledged is not), the retransmission
#     counts (capture loss adds none);
#   - a capture-loss variant is never mtu_blackhole and its evidence mentions
#     no retransmission.
set -euo pipefail
bin=$1
data=$2
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib/rdpwhy_run.sh
. "$here/lib/rdpwhy_run.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 "$here/captures/offload_variants.py" "$data/lab/13_mtu_blackhole_path.pcap" \
    "$data/tls_ok.pcap" "$tmp/v"
orig=$(awk -F'\t' '$1 == "tls_ok.pcap" { print $2 "\t" $3 "\t" $4 "\t" $5 }' "$data/index.tsv")
if [[ -z $orig ]]; then
    echo "FAIL: tls_ok.pcap is not in $data/index.tsv" >&2
    exit 1
fi

fails=0
n=0
while IFS=$'\t' read -r file cause asserts; do
    n=$((n + 1))
    if ! rw_run 0 "$tmp/$file.json" "$tmp/$file.err" "$bin" replay --format json "$tmp/v/$file"; then
        fails=$((fails + 1))
        continue
    fi
    if ! python3 - "$tmp/$file.json" "$file" "$cause" "$asserts" "$orig" <<'EOF'; then
import sys
from records import load  # tests/lib: dotted names, nested or flat

path, name, cause, asserts, orig = sys.argv[1:6]
bad = []
recs = load(path)
if len(recs) != 1:
    print("FAIL %s: %d records, want 1" % (name, len(recs)))
    sys.exit(1)
r = recs[0]
ev = r.get("rdpwhy.evidence", [])
want = {}
if cause == "orig":
    o = orig.split("\t")
    want = dict(zip(("rdpwhy.cause", "rdpwhy.closed_by", "rdpwhy.close_kind", "rdpwhy.phase"), o))
elif cause != "-":
    want = {"rdpwhy.cause": cause}
for k, v in want.items():
    if r.get(k) != v:
        bad.append("%s = %r, want %r" % (k, r.get(k), v))
checks = [] if asserts == "-" else [a.split("=", 1) for a in asserts.split(",")]
for k, v in checks:
    got = r.get(k)
    if v == "absent":
        if got not in (None, 0):
            bad.append("%s = %r, want absent or 0" % (k, got))
    elif v in ("true", "false"):
        if got is not (v == "true"):
            bad.append("%s = %r, want %s" % (k, got, v))
    elif got != int(v):
        bad.append("%s = %r, want %s" % (k, got, v))
if cause == "mtu_blackhole":
    mss = dict(checks).get("rdpwhy.tcp.mss.server")
    line = "full-size server segments (%s bytes) retransmitted, never acknowledged" % mss
    if not any(line in e for e in ev):
        bad.append("no evidence %r" % line)
if cause == "orig":
    if r.get("rdpwhy.cause") == "mtu_blackhole":
        bad.append("capture loss read as mtu_blackhole")
    if any("retransmit" in e for e in ev):
        bad.append("capture loss read as retransmissions")
for b in bad:
    print("FAIL %s: %s" % (name, b))
if bad:
    print("    evidence: %r" % ev)
    sys.exit(1)
print("ok   %s: %s" % (name, r.get("rdpwhy.cause")))
EOF
        fails=$((fails + 1))
    fi
done <"$tmp/v/expect.tsv"

if ((n < 5)); then
    echo "FAIL: only $n variants were built" >&2
    exit 1
fi
if ((fails)); then
    echo "FAIL: $fails of $n variants" >&2
    exit 1
fi
echo "PASS: $n variants"
