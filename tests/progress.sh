#!/bin/bash
# A progress line on stderr while a large capture is read, for a person at a
# terminal only: stderr a terminal (script(1) gives a pseudo-terminal), the
# file large enough (256 MiB by default; RDPWHY_PROGRESS_MIN_BYTES lowers it
# here and RDPWHY_PROGRESS_EVERY_MS=0 redraws without waiting, so that a
# small file shows it without a race), a regular file (a pipe or a compressed
# stream has no size to go by). The line is erased at the end.
set -u
bin=$1
# shellcheck source=lib/rdpwhy_run.sh
. "$(dirname "$0")/lib/rdpwhy_run.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fail=1; }

# 20,000 small UDP frames (classic pcap): enough for several redraws (one
# every 4,096 packets at most).
python3 - "$tmp/big.pcap" <<'PY'
import struct, sys
eth = b"\0" * 12 + b"\x08\x00"
ip = bytes.fromhex("4500002e000040004011" + "0000" + "7f000001" + "7f000002")
pkt = eth + ip + struct.pack(">HHHH", 1234, 5678, 26, 0) + b"x" * 18
rec = struct.pack("<IIII", 1700000000, 0, len(pkt), len(pkt)) + pkt
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1) + rec * 20000)
PY
size=$(stat -c %s "$tmp/big.pcap")
on_tty() { # OUT ENV... -- ARGS
	local out=$1; shift
	local envs=()
	while [[ $1 != -- ]]; do envs+=("$1"); shift; done
	shift
	env "${envs[@]}" script -qec "$(printf '%q ' "$bin" "$@")" /dev/null >"$out" 2>&1
}
fast=(RDPWHY_PROGRESS_MIN_BYTES=1 RDPWHY_PROGRESS_EVERY_MS=0)

on_tty "$tmp/tty" "${fast[@]}" -- replay "$tmp/big.pcap"
if grep -qaE $'\r'"$tmp/big.pcap: +[0-9]+% \\([0-9]+ MiB of [0-9]+ MiB, [0-9]+ MiB/s\\)" "$tmp/tty"; then
	ok "a terminal gets 'FILE: N% (X MiB of Y MiB, R MiB/s)'"
else
	bad "no progress line on a terminal"; cat -v "$tmp/tty" | head -3
fi
# Percentages never go down and stay within 0..100.
pcts=$(grep -ao "$tmp/big.pcap: *[0-9]*%" "$tmp/tty" | grep -o '[0-9]*%$' | tr -d %)
prev=0 mono=1
for p in $pcts; do { [ "$p" -ge "$prev" ] && [ "$p" -le 100 ]; } || mono=0; prev=$p; done
[ -n "$pcts" ] && [ $mono = 1 ] && ok "percentages rise, at most 100 ($(echo $pcts | wc -w) lines)" ||
	bad "percentages: $pcts"
if grep -qa $'\r\033\\[K' "$tmp/tty"; then ok "the line is erased at the end"; else bad "line not erased"; fi
# The erase comes after the last progress line and before rdpwhy's own
# message, so that the message starts on a clean line.
if python3 - "$tmp/tty" <<'PY'
import sys
t = open(sys.argv[1], "rb").read()
last = t.rfind(b"% (")
erase = t.find(b"\r\x1b[K", last)
msg = t.find(b"rdpwhy replay:", last)
sys.exit(0 if last >= 0 and 0 <= erase < msg else 1)
PY
then ok "erased after the last progress line, before the next message"; else bad "erase misplaced"; fi

on_tty "$tmp/small" RDPWHY_PROGRESS_EVERY_MS=0 -- replay "$tmp/big.pcap"
grep -qa '% (' "$tmp/small" && bad "a $size-byte file (under 256 MiB) shows progress" ||
	ok "a file under 256 MiB shows none by default"

env "${fast[@]}" "$bin" replay "$tmp/big.pcap" >"$tmp/pipe.out" 2>"$tmp/pipe.err"
grep -qa '% (' "$tmp/pipe.err" && bad "progress written to a non-terminal stderr" ||
	ok "stderr not a terminal: no progress"
grep -qa "1234\|no RDP connection found" "$tmp/pipe.err" && ok "the usual message is still there" ||
	bad "the usual stderr message is missing"

gzip -c "$tmp/big.pcap" >"$tmp/big.pcap.gz"
on_tty "$tmp/gz" "${fast[@]}" -- replay "$tmp/big.pcap.gz"
grep -qa '% (' "$tmp/gz" && bad "a compressed stream (no size to go by) shows progress" ||
	ok "a compressed capture shows none"
env "${fast[@]}" script -qec "cat $(printf '%q' "$tmp/big.pcap") | $(printf '%q ' "$bin" replay -)" /dev/null \
	>"$tmp/stdin" 2>&1
grep -qa '% (' "$tmp/stdin" && bad "a pipe on stdin shows progress" || ok "a pipe on stdin shows none"
grep -qa "20000 packets" "$tmp/stdin" && ok "stdin was read whole" || { bad "stdin not read"; cat -v "$tmp/stdin" | head -3; }

exit $fail
