#!/usr/bin/env bash
# pcap_caps.sh BIN — pcap_max_file and pcap_max_total (issue #12, "the disk
# off the relay path"). pcap_dir is a fresh tmpfs (private mount namespace)
# holding, before the proxy starts, a 300 KiB rdpwhy pcap of an earlier run
# and a 500 KiB file of someone else's; pcap_max_file = 256k,
# pcap_max_total = 1M; 10 connections, one after the other, each echo 200 KiB
# (400 KiB of payload per connection, so every file reaches the cap).
#
# Asserts: every echo byte-exact; every file at most 256 KiB and
# still ending with the connection's close (its replay finds closed_by and
# close_kind fin); the rdpwhy files together at most 1 MiB, the newest ones
# kept and the oldest removed first (the earlier run's file first); the other
# file untouched and not counted; the counters: 10 files truncated, removals
# as many as files are gone; one "incomplete" line per truncated file and one
# line per removal. Root (mounts); ~15 s.
set -euo pipefail
TEST_NAME=proxy_pcap_caps
# shellcheck source=pcap_lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/pcap_lib.sh"
pcap_init "$@"

D=$WORK/pcaps
mkdir -m 0700 "$D"
mount -t tmpfs -o size=16m,mode=0700 tmpfs "$D"
umount_d() { stop_all_pids; umount "$D" 2>/dev/null || true; }
PCAP_CLEANUP=umount_d
OLD=rdpwhy-20000101T000000.000000Z-192.0.2.1_50000-192.0.2.2_3389.pcap
head -c $((300 << 10)) /dev/zero >"$D/$OLD"
head -c $((500 << 10)) /dev/zero >"$D/notes.txt"

read -r PORT UP < <(free_ports 2)
start_echo "$UP"
start_proxy "$D" "$PORT" "$UP" --set pcap_max_file=256k --set pcap_max_total=1M
check "10 connections of 200 KiB each way, echoes byte-exact" peers conns 127.0.0.1 "$PORT" 10 200
wait_lines "$WORK/records.json" 10 10 || true
finish_proxy
log "counters at exit: $(grep -a 'pcap counters:' "$WORK/proxy.err" | tail -n 1 | sed 's/.*pcap counters: //')"

mapfile -t files < <(cd "$D" && ls rdpwhy-*.pcap | sort)
total=0 over=0
for f in "${files[@]}"; do
    s=$(stat -c %s "$D/$f")
    total=$((total + s))
    ((s <= 262144)) || { over=$((over + 1)); log "$f: $s bytes"; }
done
log "${#files[@]} rdpwhy files kept, $total bytes in all"
check "every file at most pcap_max_file (256 KiB)" test "$over" -eq 0
check "rdpwhy files at most pcap_max_total (1 MiB): $total bytes" test "$total" -le $((1 << 20))
check "the earlier run's file was removed (the oldest)" test ! -e "$D/$OLD"
check "someone else's file untouched" test "$(stat -c %s "$D/notes.txt")" -eq $((500 << 10))
newest=$(cd "$D" && ls rdpwhy-*.pcap | sort | tail -n 1)
check "the newest connections' files are kept (${#files[@]} >= 3)" test "${#files[@]}" -ge 3
# The kept files are the newest: each removed one is older than every kept one.
mapfile -t removed < <(grep -aoE 'removed [^ ]+/rdpwhy-[^ ]+\.pcap' "$WORK/proxy.err" | sed 's#.*/##')
older=0
for r in "${removed[@]}"; do [[ $r < ${files[0]} ]] && older=$((older + 1)); done
check "removed oldest first: ${#removed[@]} removals logged, all older than what is kept" \
    test "${#removed[@]}" -ge 1 -a "$older" -eq "${#removed[@]}"
check "removals: the counter (${removed[*]:+$(counter removed_files)}) equals the lines logged" \
    test "$(counter removed_files)" -eq "${#removed[@]}"
check "files created + earlier file = kept + removed (10 + 1 = ${#files[@]} + ${#removed[@]})" \
    test $((${#files[@]} + ${#removed[@]})) -eq 11
check "counters: 10 files truncated at pcap_max_file" test "$(counter truncated_files)" -eq 10
check "one 'incomplete' line per truncated file" \
    test "$(grep -ac 'incomplete: 0 frames (0 bytes) dropped with the queue full, [1-9][0-9]* bytes past pcap_max_file' "$WORK/proxy.err")" -eq 10
check "a truncated file still shows the close: replay finds one connection closed with a FIN" \
    python3 - "$BIN" "$D/$newest" "$UP" <<'PY'
import json, subprocess, sys
from records import loads  # tests/lib: a record by dotted names, nested or flat
p = subprocess.run([sys.argv[1], "replay", "--port", sys.argv[3], "--format", "json", sys.argv[2]],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
recs = [loads(l) for l in p.stdout.splitlines() if l.strip()]
r = recs[0] if len(recs) == 1 else {}
print("  ..   replay of the newest file: exit %d, %d record(s), closed_by %s, close_kind %s"
      % (p.returncode, len(recs), r.get("rdpwhy.closed_by"), r.get("rdpwhy.close_kind")), file=sys.stderr)
sys.exit(0 if p.returncode == 0 and len(recs) == 1 and r.get("rdpwhy.close_kind") == "fin"
         and r.get("rdpwhy.closed_by") in ("client", "server") else 1)
PY
((FAILS == 0)) || die "$FAILS check(s) failed"
log "PASS: pcap_max_file and pcap_max_total honoured, oldest removed first, all counted"
