#!/bin/bash
# replay -j N gives exactly what -j 1 gives: the same records, byte for byte,
# in the same order, and the same stderr.
#
#   tests/replay_jobs.sh RDPWHY DATA_DIR
#
# Compared with -j 1:
#   - every capture in DATA_DIR and DATA_DIR/lab, one by one, in JSON (-j 4);
#   - all of them in one run (files read in order as one capture), in JSON,
#     text, and with --summary (-j 2 and -j 4); the rest with -j 2 and -j 4:
#   - a generated capture (bench/make_pcap.py: 3,000 short connections made
#     from the committed ones, 2 long TLS sessions with bulk data, reordered
#     and retransmitted segments), with the default flow table and with
#     --max-flows 200 (connections reported early: the table's bookkeeping
#     is capture-wide); its records are also checked against what the
#     generator made (bench/check_records.py), so the run is not merely
#     consistent but right;
#   - the same capture compressed (gzip) and from stdin;
#   - a capture whose clock jumps (tests/captures/clock_variants.py's
#     outliers and steps, when it can write them).
# And -j 0 / -j x are usage errors (exit 2).
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
JOBS="2 4"
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
JOBS=4
for f in "${files[@]}"; do
	same "$(basename "$f") json" --format json "$f"
done
JOBS="2 4"
same "all files as one capture" --format json "${files[@]}"
same "all files as one capture, text" "${files[@]}"
same "all files, --summary" --summary "${files[@]}"
same "all files, json and --summary to a file" --format json --summary -o "$tmp/sum.json" "${files[@]}"

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

# Clock jumps: capture-wide state (outliers held, expiry held after a jump).
if python3 "$here/captures/clock_variants.py" "$data/tls_ok.pcap" "$tmp/clock" >/dev/null 2>&1; then
	same "clock jumps, all variants" --format json "$tmp"/clock/*.pcap
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
echo "replay_jobs: $runs comparisons of -j 1 with -j 2 and 4: identical"
