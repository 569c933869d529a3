#!/bin/bash
# replay -j N gives exactly what -j 1 gives: the same records, byte for byte,
# in the same order, and the same stderr. With -j N the sessions of one
# capture are analysed by N worker threads (flows sharded by hash) while the
# flow table, reassembly, scan tallies and record ids stay sequential; the
# records are put back in -j 1's order. So the comparisons below are between
# a sequential run and sharded runs of 2, 3 and 4 workers:
#
#   tests/replay_jobs.sh RDPWHY DATA_DIR
#
# Compared with -j 1:
#   - every capture in DATA_DIR and DATA_DIR/lab, one by one, in JSON (-j 2,
#     3 and 4);
#   - all of them in one run (files read in order as one capture), in JSON,
#     text, HTML and with --summary (-j 2, 3 and 4);
#   - the client-only and server-only halves of all of them
#     (tests/captures/one_direction.py), as one capture: one-direction
#     inference asks the session's phase, which a worker holds, so the
#     capture thread waits for it;
#   - a generated capture (bench/make_pcap.py: 3,000 short connections made
#     from the committed ones, 2 long TLS sessions with bulk data, reordered
#     and retransmitted segments), with the default flow table and with
#     --max-flows 200 (connections reported early: the table's bookkeeping
#     is capture-wide); its records are also checked against what the
#     generator made (bench/check_records.py), so the run is not merely
#     consistent but right. More connections than the reorder window holds
#     (1,024), so the capture thread is held back by the output;
#   - a bulk capture with out-of-order and retransmitted segments in the
#     long sessions, also with RDPWHY_SHARD_NO_HINT=1 (the capture thread
#     then learns that a session stopped inspecting only by waiting for its
#     worker before a segment it could buffer: the path that decides how
#     out-of-order bytes are kept);
#   - scans and floods (tests/scan_flood.py's capture: a port scan, a SYN
#     scan, a spoofed flood around a healthy session; and a flood of 20,000
#     never-answered SYNs, with the default table and --max-flows 2000):
#     which attempts get a record of their own is decided across flows;
#   - the generated capture compressed (gzip) and from stdin;
#   - a capture whose clock jumps (tests/captures/clock_variants.py's
#     outliers and steps, when it can write them).
# And with -j 1, the records the capture thread decides and formats itself
# (RDPWHY_FORMAT_AHEAD=1: every one) against the usual run, which formats
# them on the writer's thread. -j 0 / -j x are usage errors (exit 2).
set -euo pipefail
bin=$1
data=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=tests/lib/rdpwhy_run.sh
. "$here/lib/rdpwhy_run.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
runs=0

# same NAME ARGS...: rdpwhy replay ARGS with -j 1 and each of $JOBS; outputs
# compared.
JOBS="2 3 4"
same() {
	local name=$1
	shift
	local j
	for j in 1 $JOBS; do
		if ! rw_run 0 "$tmp/out.$j" "$tmp/err.$j" "$bin" replay -j "$j" "$@"; then
			echo "FAIL: $name: -j $j did not end well"
			fails=$((fails + 1))
			return
		fi
	done
	runs=$((runs + 1))
	for j in $JOBS; do
		if ! cmp -s "$tmp/out.1" "$tmp/out.$j"; then
			echo "FAIL: $name: -j $j's output differs from -j 1's:"
			diff "$tmp/out.1" "$tmp/out.$j" | head -5
			fails=$((fails + 1))
		fi
		if ! cmp -s "$tmp/err.1" "$tmp/err.$j"; then
			echo "FAIL: $name: -j $j's stderr differs from -j 1's:"
			diff "$tmp/err.1" "$tmp/err.$j" | head -5
			fails=$((fails + 1))
		fi
	done
}

mapfile -t files < <(ls "$data"/*.pcap "$data"/lab/*.pcap 2>/dev/null)
[ "${#files[@]}" -gt 10 ] || { echo "FAIL: too few captures in $data"; exit 1; }
for f in "${files[@]}"; do
	same "$(basename "$f") json" --format json "$f"
done
same "all files as one capture" --format json "${files[@]}"
same "all files as one capture, text" "${files[@]}"
same "all files as one capture, html" --format html "${files[@]}"
same "all files, --summary" --summary "${files[@]}"
same "all files, json and --summary to a file" --format json --summary -o "$tmp/sum.json" "${files[@]}"

# One-direction halves: the capture thread waits for the session's phase.
mkdir -p "$tmp/od"
for f in "${files[@]}"; do
	python3 "$here/captures/one_direction.py" "$f" "$tmp/od" >/dev/null
done
mapfile -t halves < <(ls "$tmp"/od/*.pcap)
[ "${#halves[@]}" -ge "${#files[@]}" ] || { echo "FAIL: one_direction.py wrote too few halves"; exit 1; }
same "one-direction halves as one capture" --format json "${halves[@]}"
same "one-direction halves as one capture, text" "${halves[@]}"

# A larger capture: thousands of connections.
big=$tmp/big.pcap
python3 "$root/bench/make_pcap.py" --short 3000 --long 2 --size-mb 30 --seed 14 -o "$big" \
	2>"$tmp/gen.log"
same "generated capture" --format json "$big"
if ! python3 "$root/bench/check_records.py" "$big.expected.tsv" "$tmp/out.4" >"$tmp/check.txt"; then
	echo "FAIL: the generated capture's records (-j 4) are not the generated connections:"
	tail -5 "$tmp/check.txt"
	fails=$((fails + 1))
fi
same "generated capture, --max-flows 200" --format json --max-flows 200 "$big"
if ! grep -q "reported early" "$tmp/err.4"; then
	echo "FAIL: --max-flows 200 reported no connection early: the eviction path was not run"
	fails=$((fails + 1))
fi
gzip -c "$big" >"$big.gz"
same "generated capture, gzip" --format json "$big.gz"
for j in 1 4; do
	if ! rw_run 0 "$tmp/stdin.$j" "$tmp/stdin.err.$j" "$bin" replay -j "$j" --format json - <"$big"; then
		fails=$((fails + 1))
	fi
done
if ! cmp -s "$tmp/stdin.1" "$tmp/stdin.4"; then
	echo "FAIL: from stdin, -j 4's output differs from -j 1's"
	fails=$((fails + 1))
fi

# Bulk with out-of-order segments: whether a buffered segment keeps its bytes
# depends on whether its session still inspects, which its worker knows.
ooo=$tmp/ooo.pcap
python3 "$root/bench/make_pcap.py" --short 300 --long 4 --size-mb 25 --ooo-every 7 --rtx-every 11 \
	--seed 5 -o "$ooo" 2>"$tmp/gen2.log"
same "bulk, out of order" --format json "$ooo"
export RDPWHY_SHARD_NO_HINT=1
same "bulk, out of order, no hint" --format json "$ooo"
same "generated capture, no hint" --format json "$big"
same "one-direction halves, no hint" --format json "${halves[@]}"
unset RDPWHY_SHARD_NO_HINT

# Scans and floods: scan tallies are capture-wide.
python3 - "$here" "$data/tls_ok.pcap" "$tmp/noisy.pcap" <<'PYEOF'
import random, sys
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/captures", sys.argv[1] + "/lib"]
import pcapfile
import scan_flood
hdr, healthy = pcapfile.read(sys.argv[2], ethernet=True)
t0 = healthy[0][0] * 1000000 + healthy[0][1] - 500000
noise = scan_flood.attempts(t0, random.Random(7))
merged = sorted(noise + healthy, key=lambda r: r[0] * 1000000 + r[1])
pcapfile.write(sys.argv[3], hdr, merged)
PYEOF
same "scans and a flood around a session" --format json "$tmp/noisy.pcap"
same "scans and a flood, --summary" --summary "$tmp/noisy.pcap"
if ! grep -q scan_or_flood "$tmp/out.1"; then
	echo "FAIL: the scan capture gave no scan_or_flood summary: the scan tally was not run"
	fails=$((fails + 1))
fi
python3 "$here/scan_flood.py" --write-flood "$tmp/flood.pcap" 20000 "$data/tls_ok.pcap"
same "SYN flood" --format json "$tmp/flood.pcap"
same "SYN flood, --max-flows 2000" --format json --max-flows 2000 "$tmp/flood.pcap"
same "SYN flood and the generated capture, --max-flows 500" --format json --max-flows 500 \
	"$tmp/flood.pcap" "$big"

# Clock jumps: capture-wide state (outliers held, expiry held after a jump).
if python3 "$here/captures/clock_variants.py" "$data/tls_ok.pcap" "$tmp/clock" >/dev/null 2>&1; then
	same "clock jumps, all variants" --format json "$tmp"/clock/*.pcap
fi

# -j 1 on two cores formats records on a thread of its own; when that thread
# is behind, the capture thread decides and formats a record itself, which
# keeps its place (rw_outputs_format). RDPWHY_FORMAT_AHEAD=1 has it do so
# for every record: the output must not change.
ahead() {
	local name=$1
	shift
	if ! rw_run 0 "$tmp/a.out" "$tmp/a.err" "$bin" replay -j 1 "$@" ||
		! RDPWHY_FORMAT_AHEAD=1 rw_run 0 "$tmp/b.out" "$tmp/b.err" "$bin" replay -j 1 "$@"; then
		echo "FAIL: $name: a run did not end well"
		fails=$((fails + 1))
		return
	fi
	runs=$((runs + 1))
	if ! cmp -s "$tmp/a.out" "$tmp/b.out" || ! cmp -s "$tmp/a.err" "$tmp/b.err"; then
		echo "FAIL: $name: records formatted ahead differ:"
		diff "$tmp/a.out" "$tmp/b.out" | head -5
		diff "$tmp/a.err" "$tmp/b.err" | head -5
		fails=$((fails + 1))
	fi
}
if [ "$(nproc)" -ge 2 ]; then
	ahead "formatted ahead, all files, json" --format json "${files[@]}"
	ahead "formatted ahead, all files, text and --summary" --summary "${files[@]}"
	ahead "formatted ahead, generated capture" --format json "$big"
	ahead "formatted ahead, SYN flood and the generated capture, --max-flows 500" \
		--format json --max-flows 500 "$tmp/flood.pcap" "$big"
else
	echo "replay_jobs: one core: no formatting thread, the formatted-ahead comparisons skipped"
fi

for bad in 0 x -3; do
	rc=0
	"$bin" replay -j "$bad" "${files[0]}" >/dev/null 2>"$tmp/bad.err" || rc=$?
	if [ "$rc" != 2 ]; then
		echo "FAIL: replay -j $bad: want exit 2 (usage), got $rc"
		fails=$((fails + 1))
	fi
done

if [ "$fails" -ne 0 ]; then
	echo "replay_jobs: $fails failures in $runs comparisons"
	exit 1
fi
echo "replay_jobs: $runs comparisons (-j 1 with -j 2, 3 and 4; records formatted ahead): identical"
