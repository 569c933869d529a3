#!/usr/bin/env bash
# pcap_full.sh BIN — pcap_dir on a full file system (issue #12, "the disk off
# the relay path"): pcap_dir is a 2 MiB tmpfs (in a private mount namespace)
# and 50 MiB go each way through the proxy to an echo server.
#
# Asserts: the echo is byte-exact (SHA-256 of what was sent and what came
# back); the transfer's throughput is at least 40% of the same transfer
# through a proxy writing no pcap (measured just before; on a loaded 2-core
# machine the two vary by about 20% run to run); a small request/response
# right after takes under 50 ms at the 99th percentile; the proxy's counters
# (SIGUSR1) show the write errors, with at least 90 MiB of records counted as
# lost; the log names the file once ("incomplete: ... No space left on
# device"); the file is cut on a record boundary: `rdpwhy replay` reads it
# without complaint and finds the connection. Root (mounts); ~30 s.
set -euo pipefail
TEST_NAME=proxy_pcap_full
# shellcheck source=pcap_lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/pcap_lib.sh"
pcap_init "$@"

read -r PORT UP < <(free_ports 2)
start_echo "$UP"
MIB=50

# Reference: the same proxy, no pcap.
start_proxy "" "$PORT" "$UP"
peers bulk 127.0.0.1 "$PORT" "$MIB" "$WORK/ref.json" || true
finish_proxy

mkdir -m 0700 "$WORK/full"
mount -t tmpfs -o size=2m,mode=0700 tmpfs "$WORK/full"
umount_full() { umount "$WORK/full" 2>/dev/null || true; }
PCAP_CLEANUP=umount_full

start_proxy "$WORK/full" "$PORT" "$UP"
peers bulk 127.0.0.1 "$PORT" "$MIB" "$WORK/full.json" || true
peers ping 127.0.0.1 "$PORT" 200 "$WORK/ping.json" || true
sleep 0.5
usr1_counters || log "no counters line after SIGUSR1"
LIVE_WERR=$(counter werr_bytes)
LIVE_QUEUE=$(counter queue_bytes)
finish_proxy

REF=$(json "$WORK/ref.json" mib_per_s)
FULL=$(json "$WORK/full.json" mib_per_s)
log "throughput: no pcap $REF MiB/s, pcap_dir full $FULL MiB/s; request/response p50 $(json "$WORK/ping.json" p50_ms) ms, p99 $(json "$WORK/ping.json" p99_ms) ms"
log "counters at exit: $(grep -a 'pcap counters:' "$WORK/proxy.err" | tail -n 1 | sed 's/.*pcap counters: //')"

check "the no-pcap reference transfer is byte-exact" test "$(json "$WORK/ref.json" exact)" = True
check "pcap_dir full: $MIB MiB each way, echo byte-exact (SHA-256)" test "$(json "$WORK/full.json" exact)" = True
check "pcap_dir full: throughput $FULL MiB/s >= 40% of $REF MiB/s" \
    python3 -c "import sys; sys.exit(not float('$FULL') >= 0.4 * float('$REF'))"
check "pcap_dir full: request/response answered, p99 < 50 ms" \
    python3 -c "import json,sys; r=json.load(open('$WORK/ping.json')); sys.exit(not (r['ok'] and r['p99_ms'] < 50))"
WERR=$(counter werr_bytes)
QUEUE=$(counter queue_bytes)
check "SIGUSR1 counters: bytes lost to write errors while running ($LIVE_WERR, queue drops $LIVE_QUEUE)" \
    test "$LIVE_WERR" -gt 0
check "exit counters: >= 90 MiB of records counted lost (write errors $WERR + queue full $QUEUE)" \
    test $((WERR + QUEUE)) -ge $((90 << 20))
check "exit counters: 2 files with write errors (the bulk's and the ping's)" \
    test "$(counter werr_files)" -ge 1
check "the log names the file once, with the reason" \
    test "$(grep -ac "pcap $WORK/full/rdpwhy-.*incomplete:.*No space left on device" "$WORK/proxy.err")" -ge 1
check "the write failure is logged once per file, not once per frame" \
    test "$(grep -ac "write failed, later frames dropped" "$WORK/proxy.err")" -le 2

mapfile -t files < <(find "$WORK/full" -name 'rdpwhy-*.pcap' | sort)
check "pcap files in the full tmpfs: ${#files[@]} (the bulk's and the ping's)" test "${#files[@]}" -ge 1
if ((${#files[@]})); then
    big=${files[0]}
    for f in "${files[@]}"; do (($(stat -c %s "$f") > $(stat -c %s "$big"))) && big=$f; done
    log "largest file: $(stat -c %s "$big") bytes"
    check "the bulk's file is cut on a record boundary: replay exits 0, no warning, one record" \
        bash -c '"$1" replay --port "$4" --format json "$2" >"$3/replay.json" 2>"$3/replay.err" &&
                 ! grep -qiE "truncat|cut short|warning" "$3/replay.err" &&
                 test "$(wc -l <"$3/replay.json")" -eq 1' _ "$BIN" "$big" "$WORK" "$UP"
fi
((FAILS == 0)) || die "$FAILS check(s) failed"
log "PASS: a full pcap_dir costs the relay nothing; every lost byte is counted"
