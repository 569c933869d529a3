#!/usr/bin/env bash
# Relay benchmark (issue #14): rdpwhy proxy next to HAProxy (mode tcp,
# nbthread 1 and 2), socat and a direct connection, on loopback, interleaved.
#
#   bench/relay_bench.sh [--runs N] [--secs S] [--bulk-mib N] [--conns N] [--idle N]
#                        [--tests iperf1,iperf8,bulk,bulk-tls,rate,idle]
#                        [--baseline GITREV] [--out DIR] [--no-install]
#                        [--contenders direct,rdpwhy,rdpwhy-2w,rdpwhy-noan,haproxy-1t,haproxy-2t,socat]
#                        [--base-port P]  (ports P to P+8; default 22389)
#
# Installs iperf3, haproxy and socat with apt when missing (root, Debian),
# builds rdpwhy (Release) from this tree in /tmp/rw-rbench (never build/),
# and with --baseline also GITREV (git archive) in /tmp/rw-rbench-base, so
# that a change's effect is measured in the same run; compiles
# bench/loadgen.c; bench/relay_bench.py then runs every test --runs times
# (default 3), every contender once per round, and prints markdown tables of
# medians with ratios to HAProxy nbthread 1 (see relay_bench.py for what
# each test does). --idle defaults to 9,500 connections: the open-file cap
# here is 20,000 per process and the proxy holds 2 per connection.
# With bulk-tls, bench/analyzer_cost.c also measures the analyzers alone on
# that stream (CPU per GiB), built against the same analyzers library.
# Everything is kept in --out (default /tmp/rdpwhy-relay-bench): report.md,
# results.jsonl, each contender's stderr and rdpwhy's records.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# log, apt_install, need
. "$ROOT/bench/lib.sh"
RUNS=3 SECS=5 BULK_MIB=1024 CONNS=5000 IDLE=9500
TESTS=iperf1,iperf8,bulk,bulk-tls,rate,idle
BASELINE= OUT=/tmp/rdpwhy-relay-bench INSTALL=1 CONTENDERS= BASE_PORT=22389
BUILD=${RDPWHY_RBENCH_BUILD:-/tmp/rw-rbench}
# The tree to build (default: this one; another copy when this one is mid-edit).
SRC=${RDPWHY_RBENCH_SRC:-$ROOT}

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=$2; shift 2 ;;
	--secs) SECS=$2; shift 2 ;;
	--bulk-mib) BULK_MIB=$2; shift 2 ;;
	--conns) CONNS=$2; shift 2 ;;
	--idle) IDLE=$2; shift 2 ;;
	--tests) TESTS=$2; shift 2 ;;
	--baseline) BASELINE=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--no-install) INSTALL=0; shift ;;
	--contenders) CONTENDERS=$2; shift 2 ;;
	--base-port) BASE_PORT=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "relay_bench.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
done
mkdir -p "$OUT"
need cmake cmake
need gcc gcc
need python3 python3
need iperf3 iperf3
need haproxy haproxy
need socat socat
need ss iproute2

build() { # srcdir builddir
	log "building rdpwhy (Release) from $1 in $2"
	if ! { cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=Release -DRDPWHY_WERROR=OFF -DRDPWHY_LAB=OFF &&
		cmake --build "$2" -j2 --target rdpwhy; } >"$OUT/build-$(basename "$2").log" 2>&1; then
		tail -30 "$OUT/build-$(basename "$2").log" >&2
		echo "relay_bench.sh: build failed" >&2
		exit 1
	fi
}
build "$SRC" "$BUILD"
BASE_ARGS=()
if [ -n "$BASELINE" ]; then
	REV=$(git -C "$ROOT" rev-parse "$BASELINE")
	# Another revision than the last build's: start clean (CMake's state
	# from another source list does not link).
	if [ "$(cat "$BUILD-base/.rev" 2>/dev/null)" != "$REV" ]; then
		rm -rf "$BUILD-base-src" "$BUILD-base"
		mkdir -p "$BUILD-base-src" "$BUILD-base"
		git -C "$ROOT" archive "$REV" | tar -x -C "$BUILD-base-src"
		echo "$REV" >"$BUILD-base/.rev"
	fi
	build "$BUILD-base-src" "$BUILD-base"
	BASE_ARGS=(--rdpwhy-base "$BUILD-base/rdpwhy")
fi
LOADGEN=$BUILD/relay-loadgen
gcc -O2 -Wall -Wextra -o "$LOADGEN" "$ROOT/bench/loadgen.c"
# The analyzers alone on bulk-tls's stream, against the analyzers library of
# the proxy just built (bench/analyzer_cost.c).
ACOST=$BUILD/analyzer-cost
gcc -O2 -Wall -Wextra -I"$SRC/analyzers" -o "$ACOST" "$ROOT/bench/analyzer_cost.c" \
	"$BUILD/librdpwhy_analyzers.a" -lssl -lcrypto

{
	echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r), $(. /etc/os-release; echo "$PRETTY_NAME"), RLIMIT_NOFILE $(ulimit -n)"
	echo "- load before: $(uptime | sed 's/.*load average/load average/')"
	echo "- rdpwhy: $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -q . && echo ' + uncommitted changes in the tree'), built from $SRC, Release; baseline: ${BASELINE:-none}"
	echo "- HAProxy: $(haproxy -v 2>&1 | head -1); $(iperf3 --version 2>&1 | head -1); socat $(socat -V 2>&1 | grep -m1 'socat version' | awk '{print $3}')"
} >"$OUT/versions.md"
cat "$OUT/versions.md" >&2

rc=0
python3 "$ROOT/bench/relay_bench.py" --rdpwhy "$BUILD/rdpwhy" "${BASE_ARGS[@]}" \
	--loadgen "$LOADGEN" --out "$OUT" --runs "$RUNS" --secs "$SECS" --bulk-mib "$BULK_MIB" \
	--conns "$CONNS" --idle "$IDLE" --tests "$TESTS" ${CONTENDERS:+--contenders "$CONTENDERS"} --base-port "$BASE_PORT" \
	>"$OUT/tables.md" || rc=$?
case ",$TESTS," in
*,bulk-tls,*)
	# What the analyzers cost per GiB of the stream bulk-tls relays (16 KiB
	# records), and of the same stream cut in 1 KiB and 100-byte records
	# (more headers to parse); set beside the proxy's CPU per GiB above.
	{
		echo
		echo "#### the analyzers alone on bulk-tls's stream (bench/analyzer_cost.c)"
		echo
		echo "| TLS record payload | CPU s per GiB |"
		echo "|---:|---:|"
		for rec in 16384 1024 100; do
			"$ACOST" --mib "$BULK_MIB" --record "$rec" |
				python3 -c 'import json, sys; j = json.load(sys.stdin); print("| %d | %.4f |" % (j["record"], j["cpu_s_per_gib"]))'
		done
	} >>"$OUT/tables.md" || rc=$?
	;;
esac
echo "- load after: $(uptime | sed 's/.*load average/load average/')" >>"$OUT/versions.md"
{ cat "$OUT/versions.md"; echo; cat "$OUT/tables.md"; } >"$OUT/report.md"
cat "$OUT/report.md"
exit "$rc"
