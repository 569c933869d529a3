#!/usr/bin/env bash
# Inline-proxy benchmark: rdpwhy proxy next to HAProxy, socat and a direct
# connection, on loopback, in the same run.
#
#   bench/proxy_bench.sh [--runs N] [--bulk-mib N] [--conns N] [--concurrency N]
#                        [--tests bulk,rate] [--proxies KEY,...] [--out DIR]
#                        [--no-pcap] [--profile] [--no-install]
#
# Installs haproxy and socat with apt when missing (root, Debian), builds
# rdpwhy as Release in its own directory (default /tmp/rw-pbench, never
# build/), compiles bench/loadgen.c with gcc, then bench/proxy_load.py runs:
#   bulk   one connection, 2 GiB client->server, then server->client, then
#          both at once; MiB/s and the proxy's CPU seconds (/proc/PID/stat)
#   rate   5000 short connections, 50 at a time: X.224 CR, CC back, close;
#          conn/s, p50/p99 latency, the proxy's peak RSS
# for: direct (no proxy), rdpwhy proxy (and with --pcap-dir on tmpfs for
# rate, and with a client whose bytes rdpwhy keeps inspecting for bulk),
# HAProxy mode tcp with nbthread 1 and with its default threads, socat fork
# (and socat with backlog=1024 for rate). Every measurement runs --runs
# times (default 3), interleaved; the tables show medians with ratios
# relative to rdpwhy. --profile adds perf profiles of rdpwhy (bulk, rate)
# and strace -c system-call counts of rdpwhy, HAProxy and socat.
# Everything is kept in --out (default /tmp/rdpwhy-proxy-bench).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# log, apt_install, need
. "$ROOT/bench/lib.sh"
RUNS=3
BULK_MIB=2048
CONNS=5000
CONC=50
TESTS=bulk,rate
PROXIES=
OUT=/tmp/rdpwhy-proxy-bench
PCAP_DIR=/dev/shm/rdpwhy-proxy-bench-pcap
PROFILE=0
INSTALL=1
BUILD=${RDPWHY_PBENCH_BUILD:-/tmp/rw-pbench}

usage() { sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=$2; shift 2 ;;
	--bulk-mib) BULK_MIB=$2; shift 2 ;;
	--conns) CONNS=$2; shift 2 ;;
	--concurrency) CONC=$2; shift 2 ;;
	--tests) TESTS=$2; shift 2 ;;
	--proxies) PROXIES=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--no-pcap) PCAP_DIR=; shift ;;
	--profile) PROFILE=1; shift ;;
	--no-install) INSTALL=0; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "proxy_bench.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
done
mkdir -p "$OUT"

# ---- tools ------------------------------------------------------------------
need cmake cmake
need gcc gcc
need python3 python3
need haproxy haproxy
need socat socat
if [ -n "$PCAP_DIR" ] && ! stat -f -c %T "$(dirname "$PCAP_DIR")" 2>/dev/null | grep -q tmpfs; then
	log "$(dirname "$PCAP_DIR") is not a tmpfs: skipping the --pcap-dir row"
	PCAP_DIR=
fi

# ---- build ------------------------------------------------------------------
log "building rdpwhy (Release) in $BUILD"
if ! { cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DRDPWHY_WERROR=OFF &&
	cmake --build "$BUILD" -j2 --target rdpwhy; } >"$OUT/build.log" 2>&1; then
	tail -30 "$OUT/build.log" >&2
	echo "proxy_bench.sh: build failed (log: $OUT/build.log)" >&2
	exit 1
fi
RDPWHY=$BUILD/rdpwhy
LOADGEN=$BUILD/proxy-loadgen
gcc -O2 -Wall -Wextra -o "$LOADGEN" "$ROOT/bench/loadgen.c"

# ---- versions ------------------------------------------------------------------
{
	echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r), $(. /etc/os-release; echo "$PRETTY_NAME")"
	echo "- rdpwhy: $("$RDPWHY" --version 2>&1 | head -1) at commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -q . && echo ' + uncommitted changes in the tree'), Release (-O3), libevent $(dpkg-query -W -f '${Version}' libevent-2.1-7 2>/dev/null || echo '?')"
	echo "- HAProxy: $(haproxy -v 2>&1 | head -1)"
	echo "- socat: $(socat -V 2>&1 | grep -m1 'socat version')"
	echo "- loadgen: gcc $(gcc -dumpfullversion) -O2"
} >"$OUT/versions.md"
cat "$OUT/versions.md" >&2

# ---- run ----------------------------------------------------------------------
rc=0
python3 "$ROOT/bench/proxy_load.py" --rdpwhy "$RDPWHY" --loadgen "$LOADGEN" --out "$OUT" \
	--runs "$RUNS" --bulk-bytes $((BULK_MIB * 1024 * 1024)) --conns "$CONNS" \
	--concurrency "$CONC" --tests "$TESTS" --proxies "$PROXIES" --pcap-dir "$PCAP_DIR" \
	>"$OUT/tables.md" || rc=$?
{
	echo "### Versions"
	echo
	cat "$OUT/versions.md"
	echo
	echo "### Results"
	echo
	cat "$OUT/tables.md"
} >"$OUT/report.md"

# ---- optional profile ------------------------------------------------------------
# perf on rdpwhy while it relays 1 GiB client->server, from a Release build
# with -g (the same -O3 code, with line tables), DWARF call graphs; then
# strace -c on rdpwhy, HAProxy (nbthread 1) and socat for 256 MiB
# client->server: the system calls each one makes per MiB.
if [ "$PROFILE" = 1 ]; then
	need perf linux-perf
	need strace strace
	PBUILD=$BUILD-prof
	log "profiling: building Release + -g in $PBUILD"
	{ cmake -S "$ROOT" -B "$PBUILD" -DCMAKE_BUILD_TYPE=Release -DRDPWHY_WERROR=OFF \
		-DCMAKE_C_FLAGS="-g -fno-omit-frame-pointer" &&
		cmake --build "$PBUILD" -j2 --target rdpwhy; } >"$OUT/build-prof.log" 2>&1
	UP=21489 PX=21490
	"$LOADGEN" server --listen 127.0.0.1:$UP >/dev/null 2>"$OUT/prof-upstream.stderr" &
	SRV=$!
	wait_port() { for _ in $(seq 100); do ss -ltn "sport = :$1" | grep -q LISTEN && return 0; sleep 0.05; done; return 1; }
	wait_port $UP
	"$PBUILD/rdpwhy" proxy --listen 127.0.0.1:$PX --upstream 127.0.0.1:$UP --format json \
		--output "$OUT/prof.records.json" 2>"$OUT/prof.stderr" &
	RW=$!
	wait_port $PX
	perf record -g --call-graph dwarf,16384 -F 2000 -p "$RW" -o "$OUT/perf-bulk.data" \
		2>"$OUT/perf-record.log" &
	PERF=$!
	sleep 1
	"$LOADGEN" bulk --connect 127.0.0.1:$PX --dir c2s --bytes $((1024 * 1024 * 1024)) \
		>"$OUT/prof-bulk.json"
	kill -INT "$PERF"; wait "$PERF" || true
	kill "$RW"; wait "$RW" 2>/dev/null || true
	# the same for 20000 short connections (the rate test, 50 at a time)
	"$PBUILD/rdpwhy" proxy --listen 127.0.0.1:$PX --upstream 127.0.0.1:$UP --format json \
		--output "$OUT/prof-rate.records.json" 2>"$OUT/prof-rate.stderr" &
	RW=$!
	wait_port $PX
	perf record -g --call-graph dwarf,16384 -F 2000 -p "$RW" -o "$OUT/perf-rate.data" \
		2>"$OUT/perf-record-rate.log" &
	PERF=$!
	sleep 1
	"$LOADGEN" rate --connect 127.0.0.1:$PX --conns 20000 --concurrency "$CONC" \
		>"$OUT/prof-rate.json"
	sleep 1
	kill -INT "$PERF"; wait "$PERF" || true
	kill "$RW"; wait "$RW" 2>/dev/null || true
	perf report -i "$OUT/perf-rate.data" --no-children --sort dso --stdio -g none \
		2>/dev/null | grep -v '^#' | grep -v '^$' >"$OUT/perf-rate-dso.txt" || true
	perf report -i "$OUT/perf-rate.data" --children --sort sym --stdio -g none \
		--percent-limit 1.5 2>/dev/null | grep -v '^#' | grep -v '^$' | grep -v '\[k\]' \
		>"$OUT/perf-rate-children.txt" || true
	perf report -i "$OUT/perf-bulk.data" --no-children --sort dso --stdio -g none \
		2>/dev/null | grep -v '^#' | grep -v '^$' >"$OUT/perf-bulk-dso.txt" || true
	perf report -i "$OUT/perf-bulk.data" --children --sort sym --stdio -g none \
		--percent-limit 3 2>/dev/null | grep -v '^#' | grep -v '^$' >"$OUT/perf-bulk-children.txt" || true
	perf report -i "$OUT/perf-bulk.data" --no-children --dsos rdpwhy --sort sym,srcline --stdio \
		-g none 2>/dev/null | grep -v '^#' | grep -v '^$' >"$OUT/perf-bulk-rdpwhy.txt" || true

	# system calls per MiB relayed
	strace_run() { # name port command...
		local name=$1 port=$2; shift 2
		"$@" >/dev/null 2>"$OUT/strace-$name.stderr" &
		local pid=$!
		wait_port "$port"
		strace -c -f -p "$pid" -o "$OUT/strace-$name.txt" 2>/dev/null &
		local st=$!
		sleep 1
		"$LOADGEN" bulk --connect 127.0.0.1:"$port" --dir c2s --bytes $((256 * 1024 * 1024)) \
			>"$OUT/strace-$name.json"
		sleep 0.5
		kill -INT "$st"; wait "$st" 2>/dev/null || true
		kill "$pid"; wait "$pid" 2>/dev/null || true
	}
	cat >"$OUT/strace-haproxy.cfg" <<-EOF
	global
	    nbthread 1
	    maxconn 4096
	defaults
	    mode tcp
	    timeout connect 10s
	    timeout client 60s
	    timeout server 60s
	frontend fe
	    bind 127.0.0.1:$((PX + 1))
	    default_backend be
	backend be
	    server up 127.0.0.1:$UP
	EOF
	strace_run rdpwhy $PX "$RDPWHY" proxy --listen 127.0.0.1:$PX --upstream 127.0.0.1:$UP \
		--format json --output "$OUT/strace.records.json"
	strace_run haproxy-1t $((PX + 1)) haproxy -db -f "$OUT/strace-haproxy.cfg"
	strace_run socat $((PX + 2)) socat TCP-LISTEN:$((PX + 2)),fork,reuseaddr TCP:127.0.0.1:$UP
	kill "$SRV"; wait "$SRV" 2>/dev/null || true
	{
		echo
		echo "### perf: rdpwhy relaying 1 GiB client->server"
		echo
		echo "$(cat "$OUT/prof-bulk.json")"
		echo
		echo '```'
		echo "# self time by object"
		cat "$OUT/perf-bulk-dso.txt"
		echo "# inclusive, >= 3%"
		head -45 "$OUT/perf-bulk-children.txt"
		echo "# rdpwhy's own code, self time by source line"
		head -12 "$OUT/perf-bulk-rdpwhy.txt"
		echo '```'
		echo
		echo "### perf: rdpwhy, 20000 short connections"
		echo
		echo "$(cat "$OUT/prof-rate.json")"
		echo
		echo '```'
		echo "# self time by object"
		cat "$OUT/perf-rate-dso.txt"
		echo "# inclusive, user-space symbols >= 1.5%"
		head -45 "$OUT/perf-rate-children.txt"
		echo '```'
		echo
		echo "### system calls while relaying 256 MiB client->server (strace -c -f)"
		echo
		echo "| proxy | calls | calls per MiB | top calls |"
		echo "|---|---:|---:|---|"
		for n in rdpwhy haproxy-1t socat; do
			f=$OUT/strace-$n.txt
			[ -s "$f" ] || continue
			total=$(awk '$NF == "total" {print $4}' "$f")
			top=$(awk '/^ *[0-9]/ && $NF != "total" {print $4, $NF}' "$f" | sort -nr | head -5 | awk '{print $2 " " $1}' | paste -sd ',' | sed 's/,/, /g')
			echo "| $n | $total | $(( total / 256 )) | $top |"
		done
	} >>"$OUT/report.md"
fi

cat "$OUT/report.md"
log "everything is in $OUT (report.md, results.jsonl, per-run stderr and records)"
exit "$rc"
