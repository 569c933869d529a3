#!/usr/bin/env bash
# Replay benchmark: rdpwhy against the tools an engineer would otherwise use.
#
#   bench/run.sh [--kind bulk|handshake] [--size-mb N] [--runs N] [--slow-runs N]
#                [--pcap FILE] [--out DIR] [--regen] [--crosscheck] [--no-install]
#
# Builds rdpwhy (Release, in a build directory of its own) and
# bench/pcap_loop.c, generates the capture with bench/make_pcap.py when it is
# missing (or was made with other arguments): --kind bulk (the default):
# 20,000 short connections and 8 long TLS sessions whose bulk data fills
# --size-mb; --kind handshake: the 20,000 short connections alone (about
# 70 MiB, thousands of short TLS sessions; --size-mb is ignored). Checks
# rdpwhy's records against what was generated, then times in the same run, on
# the same file, with a warm page cache:
#   rdpwhy replay -j 1 --format json FILE             (one thread)
#   rdpwhy replay -j 2 --format json FILE             (reader, analysis, formatting)
#   rdpwhy replay -j 1 --format json --max-flows 1000 FILE (bounded flow table)
#   pcap_loop FILE                                    (the floor: pcap_open_offline
#                                                      + a bare pcap_next_ex loop)
#   tcpdump -nn -r FILE -w /dev/null                  (libpcap reading and writing)
#   tshark ... -Y 'tls.handshake.type==1' ...         (the usual manual way)
#   suricata -r FILE (tls/eve only)                   (when installable)
# rdpwhy, the floor and tcpdump in --runs interleaved rounds, one run of each in
# turn (bench/alternate.py, which also takes each run's peak RSS), tshark and
# suricata after them with hyperfine (else a loop with /usr/bin/time; peak RSS
# with /usr/bin/time -f %M). Prints a markdown table, ratios from medians;
# everything is kept in --out (default /tmp/rdpwhy-bench-SIZEmb).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZE_MB=1024
KIND=bulk
RUNS=5
SLOW_RUNS=2
PCAP=
OUT=
REGEN=0
CROSSCHECK=0
INSTALL=1
BUILD=${RDPWHY_BENCH_BUILD:-/tmp/rdpwhy-bench-build}

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case "$1" in
	--size-mb) SIZE_MB=$2; shift 2 ;;
	--kind) KIND=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--slow-runs) SLOW_RUNS=$2; shift 2 ;;
	--pcap) PCAP=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--regen) REGEN=1; shift ;;
	--crosscheck) CROSSCHECK=1; shift ;;
	--no-install) INSTALL=0; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
done
case "$KIND" in
bulk) GEN_ARGS=(--size-mb "$SIZE_MB"); TAG=${SIZE_MB}mb ;;
handshake) SIZE_MB=1; GEN_ARGS=(--short 20000 --long 0 --size-mb 1); TAG=handshake ;;
*) echo "run.sh: --kind is bulk or handshake" >&2; exit 2 ;;
esac
PCAP=${PCAP:-/tmp/rdpwhy-bench-${TAG}.pcap}
OUT=${OUT:-/tmp/rdpwhy-bench-${TAG}}
mkdir -p "$OUT"
rm -f "$OUT"/*.rss "$OUT"/*.hf.json "$OUT"/*.status "$OUT"/*.name "$OUT"/*.cmd "$OUT"/*.times "$OUT"/*.stderr "$OUT"/apt-*.log
. "$ROOT/bench/lib.sh" # log, apt_install

# ---- tools ----------------------------------------------------------------
# Each tool is installed when missing; one that is still missing is skipped
# (its row says so), unlike lib.sh's need.
want() { # command package
	command -v "$1" >/dev/null 2>&1 || apt_install "$2" || true
}
want cmake cmake
want pkg-config pkg-config
[ -x /usr/bin/time ] || apt_install time || true
want hyperfine hyperfine
want tcpdump tcpdump
want tshark tshark
want suricata suricata
if [ ! -x /usr/bin/time ]; then
	echo "run.sh: /usr/bin/time (Debian package 'time') is needed" >&2
	exit 1
fi

# ---- build ------------------------------------------------------------------
log "building rdpwhy (Release) in $BUILD"
build() {
	cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DRDPWHY_WERROR=OFF >"$OUT/build.log" 2>&1 &&
		cmake --build "$BUILD" -j"$(nproc)" --target rdpwhy >>"$OUT/build.log" 2>&1
}
if ! build; then
	# Someone may be in the middle of an edit: try again once.
	log "build failed (see $OUT/build.log); retrying in 60 s"
	sleep 60
	build || { tail -30 "$OUT/build.log" >&2; exit 1; }
fi
RDPWHY="$BUILD/rdpwhy"
PCAP_LOOP="$BUILD/pcap_loop"
cc -O2 -o "$PCAP_LOOP" "$ROOT/bench/pcap_loop.c" -lpcap

# ---- the capture ----------------------------------------------------------------
gen_ok() {
	[ -f "$PCAP" ] && [ -f "$PCAP.info.json" ] && [ -f "$PCAP.expected.tsv" ] &&
		python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if float(d["size_mb"])==float(sys.argv[2]) and d["long"]==(0 if sys.argv[3]=="handshake" else 8) else 1)' \
			"$PCAP.info.json" "$SIZE_MB" "$KIND"
}
if [ "$REGEN" = 1 ] || ! gen_ok; then
	log "generating $PCAP ($KIND, ${GEN_ARGS[*]})"
	python3 "$ROOT/bench/make_pcap.py" "${GEN_ARGS[@]}" -o "$PCAP"
else
	log "using existing $PCAP"
fi
info() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$PCAP.info.json" "$1"; }
PACKETS=$(info packets)
BYTES=$(stat -c %s "$PCAP")
CONNS=$(info connections)
TLS_CONNS=$(info tls_connections)
cat "$PCAP" >/dev/null # warm the page cache: every tool reads from memory

# ---- correctness first ------------------------------------------------------------
log "checking rdpwhy's records against the generated connections"
CHECK=OK
"$RDPWHY" replay -j 1 --format json "$PCAP" >"$OUT/rdpwhy.json" 2>"$OUT/rdpwhy.stderr" || CHECK=FAILED
python3 "$ROOT/bench/check_records.py" "$PCAP.expected.tsv" "$OUT/rdpwhy.json" \
	>"$OUT/check.txt" || CHECK=FAILED
"$RDPWHY" replay -j 2 --format json "$PCAP" >"$OUT/rdpwhy-j2.json" 2>>"$OUT/rdpwhy.stderr" || CHECK=FAILED
cmp -s "$OUT/rdpwhy.json" "$OUT/rdpwhy-j2.json" || { echo "-j 2's records differ from -j 1's" >&2; CHECK=FAILED; }
"$RDPWHY" replay --format json --max-flows 1000 "$PCAP" >"$OUT/rdpwhy-1000.json" \
	2>"$OUT/rdpwhy-1000.stderr" || CHECK=FAILED
python3 "$ROOT/bench/check_records.py" "$PCAP.expected.tsv" "$OUT/rdpwhy-1000.json" --flow-limit \
	>"$OUT/check-1000.txt" || CHECK=FAILED
cat "$OUT/check.txt" >&2
echo "--max-flows 1000: $(tail -1 "$OUT/check-1000.txt"); $(cat "$OUT/rdpwhy-1000.stderr")" >&2
rm -f "$OUT/rdpwhy.json" "$OUT/rdpwhy-j2.json" "$OUT/rdpwhy-1000.json"

# ---- suricata: only if it runs offline with a minimal config -----------------------------
SURICATA_NOTE=
SURI_CONF="$OUT/suricata.yaml"
SURI_LOG="$OUT/suricata-log"
if command -v suricata >/dev/null 2>&1; then
	mkdir -p "$SURI_LOG"
	cat >"$SURI_CONF" <<EOF
%YAML 1.1
---
vars:
  address-groups:
    HOME_NET: "any"
    EXTERNAL_NET: "any"
  port-groups:
    HTTP_PORTS: "80"
default-log-dir: $SURI_LOG
stats:
  enabled: no
outputs:
  - eve-log:
      enabled: yes
      filetype: regular
      filename: eve.json
      types:
        - tls:
            extended: yes
logging:
  default-log-level: warning
  outputs:
    - console:
        enabled: yes
app-layer:
  protocols:
    tls:
      enabled: yes
      detection-ports:
        dp: 3389
    rdp:
      enabled: yes
stream:
  memcap: 256mb
  reassembly:
    memcap: 512mb
    depth: 1mb
EOF
	SURI_CMD="suricata -r $PCAP -c $SURI_CONF -l $SURI_LOG -k none --runmode single -S /dev/null"
	if ! suricata -r "$ROOT/tests/data/tls_ok.pcap" -c "$SURI_CONF" -l "$SURI_LOG" -k none \
		--runmode single -S /dev/null >"$OUT/suricata-trial.log" 2>&1; then
		SURICATA_NOTE="suricata is installed but failed on a trial run (see $OUT/suricata-trial.log)"
		SURI_CMD=
	fi
else
	SURI_CMD=
	SURICATA_NOTE="suricata: not installable here (apt-get install suricata: $(grep -m1 -E '^E:' "$OUT/apt-suricata.log" 2>/dev/null || echo 'not attempted'))"
fi

# ---- timing ---------------------------------------------------------------------------------
# name|runs|command  (stdout to /dev/null; stderr kept per tool)
CMDS=(
	"rdpwhy -j 1|$RUNS|$RDPWHY replay -j 1 --format json $PCAP"
	"rdpwhy -j 2|$RUNS|$RDPWHY replay -j 2 --format json $PCAP"
	"rdpwhy -j 1 --max-flows 1000|$RUNS|$RDPWHY replay -j 1 --format json --max-flows 1000 $PCAP"
	"pcap_next_ex loop (floor)|$RUNS|$PCAP_LOOP $PCAP"
	"tcpdump (read and write)|$RUNS|tcpdump -nn -r $PCAP -w /dev/null"
	"tshark ClientHello filter|$SLOW_RUNS|tshark -n -r $PCAP -d tcp.port==3389,tls -Y 'tls.handshake.type==1' -T fields -e tcp.stream"
)
[ -n "$SURI_CMD" ] && CMDS+=("suricata (tls eve)|$SLOW_RUNS|$SURI_CMD")

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
# The tools that take well under a second (rdpwhy, the floor, tcpdump) are
# timed in interleaved rounds, one run of each in turn (bench/alternate.py):
# this machine's speed drifts by half within a minute, and ratios taken from
# blocks of runs minutes apart measured the drift (33 % then 52 % of the
# floor, a minute apart). tshark and suricata take seconds a run; they are
# timed after, with hyperfine when it is there.
FAST=()
i=0
for entry in "${CMDS[@]}"; do
	i=$((i + 1))
	name=${entry%%|*}
	rest=${entry#*|}
	runs=${rest%%|*}
	cmd=${rest#*|}
	if ! command -v "${cmd%% *}" >/dev/null 2>&1; then
		log "skipping $name: ${cmd%% *} not found"
		continue
	fi
	echo "$name" >"$OUT/$i.name"
	echo "$cmd" >"$OUT/$i.cmd"
	if [ "$runs" = "$RUNS" ] && [ "$runs" -ge 2 ]; then
		FAST+=("$i" "$cmd 2>>$OUT/$i.stderr")
		continue
	fi
	# /usr/bin/time records each run's peak RSS (KiB); its own cost is a fork.
	timed="/usr/bin/time -f %M -a -o $OUT/$i.rss $cmd >/dev/null 2>>$OUT/$i.stderr"
	log "timing $name ($runs runs): $cmd"
	if [ -z "${RDPWHY_BENCH_NO_HYPERFINE:-}" ] && command -v hyperfine >/dev/null 2>&1; then
		warm=1
		[ "$runs" -lt 3 ] && warm=0
		hyperfine --style basic --runs "$runs" --warmup "$warm" -i \
			--export-json "$OUT/$i.hf.json" "$timed" >"$OUT/$i.hyperfine.txt" 2>&1 ||
			echo "hyperfine failed" >"$OUT/$i.status"
		# The warm-up run appended an RSS line too: fine, same command.
	else
		: >"$OUT/$i.times"
		for _ in $(seq "$runs"); do
			/usr/bin/time -f '%e %U %S %M' -a -o "$OUT/$i.times" sh -c "$cmd >/dev/null 2>>$OUT/$i.stderr" || true
		done
	fi
done
if [ ${#FAST[@]} -gt 0 ]; then
	log "timing the fast tools in $RUNS interleaved rounds (after one untimed round)"
	python3 "$ROOT/bench/alternate.py" --warmup 1 --export "$OUT" "$RUNS" "${FAST[@]}" |
		tee "$OUT/interleaved.txt"
fi

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report -----------------------------------------------------------------------------------
python3 "$ROOT/bench/report.py" "$OUT" "$BYTES" "$PACKETS" "$CONNS" "$CHECK" "$SURICATA_NOTE" \
	"$LOAD_BEFORE" "$LOAD_AFTER" | tee "$OUT/report.md"
if [ "$CROSSCHECK" = 1 ] && command -v tshark >/dev/null 2>&1; then
	n=$(tshark -n -r "$PCAP" -d tcp.port==3389,tls -Y 'tls.handshake.type==1' -T fields -e tcp.stream 2>/dev/null | sort -u | wc -l)
	echo
	echo "tshark cross-check: $n TCP streams with a ClientHello; $TLS_CONNS generated connections send one"
fi
[ "$CHECK" = OK ]
