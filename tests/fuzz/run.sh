#!/bin/sh
# Build the libFuzzer targets with clang (ASan + UBSan) and run each one.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 60); TARGET names like fuzz_session (default:
# all). The build goes to $RDPWHY_FUZZ_BUILD (default /tmp/rdpwhy-fuzz); each
# target's growing corpus is kept there (corpus/<target>), the committed seeds
# in tests/fuzz/corpus/<target> are only read. Crashes, leaks, timeouts and
# out-of-memory inputs are copied to tests/fuzz/crashes/<target>-<kind>-<hash>.
# Exit status 1 if any target found something.
set -eu

secs=${1:-60}
if [ $# -gt 0 ]; then shift; fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${RDPWHY_FUZZ_BUILD:-/tmp/rdpwhy-fuzz}
# Every target CMakeLists.txt builds: a list of its own here had fallen
# behind (fuzz_auth_token, fuzz_rdp_pdu, fuzz_inspect and fuzz_pcapraw were
# never run by default).
all=$(sed -n '/^set(RW_FUZZ_TARGETS/,/^)/p' "$here/CMakeLists.txt" | grep -o 'fuzz_[a-z0-9_]*')
[ -n "$all" ] || { echo "run.sh: no targets in $here/CMakeLists.txt" >&2; exit 2; }
targets=${*:-$all}

command -v clang >/dev/null || { echo "run.sh: clang not found" >&2; exit 2; }
# -Werror off: a clang-only warning elsewhere must not stop the fuzzing.
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DRDPWHY_FUZZ=ON -DRDPWHY_SANITIZE=ON -DRDPWHY_WERROR=OFF >/dev/null
# shellcheck disable=SC2086
cmake --build "$build" -j "${RDPWHY_FUZZ_JOBS:-2}" --target $targets

mkdir -p "$here/crashes"
found=0
summary=""
for t in $targets; do
	bin="$build/tests/fuzz/$t"
	work="$build/corpus/$t"
	art="$build/artifacts/$t"
	mkdir -p "$work" "$art"
	# An earlier run's findings were copied to crashes/ then (and may have
	# been renamed there since): only this run's are reported as new.
	rm -f "$art"/crash-* "$art"/leak-* "$art"/timeout-* "$art"/oom-*
	echo "=== $t: ${secs}s"
	log="$build/$t.log"
	set +e
	"$bin" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$art/" "$work" "$here/corpus/$t" >"$log" 2>&1
	rc=$?
	set -e
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\).*/cov \1 ft \2/p')
	new=0
	for a in "$art"/crash-* "$art"/leak-* "$art"/timeout-* "$art"/oom-*; do
		[ -f "$a" ] || continue
		base=$(basename "$a")
		dest="$here/crashes/$t-$base"
		if [ ! -f "$dest" ]; then
			cp "$a" "$dest"
			new=$((new + 1))
			echo "    new finding: tests/fuzz/crashes/$t-$base"
		fi
	done
	if [ "$rc" -ne 0 ]; then
		found=1
		echo "    exit $rc: see $log"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|==FUZZ CHECK FAILED==)|runtime error' "$log" | head -n 5 | sed 's/^/    /'
	fi
	line=$(printf '%-16s %10s execs  %-18s exit %s  new findings %s' "$t" "${execs:-?}" "${cov:-}" "$rc" "$new")
	echo "    $line"
	summary="$summary$line
"
done
echo
printf '%s' "$summary"
exit $found
