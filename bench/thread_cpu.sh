#!/usr/bin/env bash
# CPU time of each thread of a command, in milliseconds, in thread-id order,
# with the thread's name (for rdpwhy replay -j 1: rdpwhy, the capture
# thread; rdpwhy-out, the output thread; rdpwhy-fmt, the formatting thread),
# from the scheduler's sched_stat_runtime events: exact, where sampling
# profiles only estimate, and cheap enough not to change it.
#
#   bench/thread_cpu.sh rdpwhy replay -j 1 --format json capture.pcap
#
# Needs perf and root (tracepoints). The command's output goes to /dev/null.
set -euo pipefail
[ $# -ge 1 ] || { sed -n '2,9p' "$0"; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
perf record -q -e sched:sched_stat_runtime -o "$tmp/p.data" -- "$@" >/dev/null 2>"$tmp/err" ||
	{ cat "$tmp/err" >&2; exit 1; }
perf script -i "$tmp/p.data" -F tid,trace 2>/dev/null |
	awk '{ r = 0; c = ""
	       for (i = 1; i <= NF; i++) {
		       if ($i ~ /^runtime=/) { split($i, a, "="); r = a[2] + 0 }
		       if ($i ~ /^comm=/) c = substr($i, 6)
	       }
	       t[$1] += r; if (c != "") n[$1] = c }
	     END { for (k in t) printf "%s %.1f %s\n", k, t[k] / 1e6, n[k] }' |
	sort -n | awk '{ printf "thread %s (%s): %s ms\n", $1, $3, $2 }'
