#!/usr/bin/env bash
# clock_jumps.sh RDPWHY DATA_DIR — a capture clock that one frame cannot move
# (issue #10 item 5). tests/captures/clock_variants.py rewrites only the
# timestamps of tests/data/tls_ok.pcap (and adds one ARP frame), so every
# variant must give the source's own verdict, from tests/data/index.tsv
# (written by tests/captures/make_captures.sh from how the capture was made),
# as ONE record: a wild frame must not expire the connection (which used to
# give still_open plus a mid-stream duplicate), and neither must a clock step.
set -euo pipefail
bin=$1
data=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/rdpwhy_run.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

python3 "$here/captures/clock_variants.py" "$data/tls_ok.pcap" "$tmp"
want=$(awk -F'\t' '$1 == "tls_ok.pcap" { print $2 " " $3 " " $4 " " $5 }' "$data/index.tsv")
[[ -n $want ]] || { echo "FAIL: tls_ok.pcap is not in $data/index.tsv"; exit 1; }

verdicts() { # JSON file -> one line per record: cause closed_by close_kind phase duration_s
    python3 -c '
import sys
from records import load  # tests/lib: dotted names, nested or flat
for r in load(sys.argv[1]):
    print(r["rdpwhy.cause"], r["rdpwhy.closed_by"], r["rdpwhy.close_kind"], r["rdpwhy.phase"],
          r["event.duration"] // 10**9)' "$1"
}

for v in outlier_fwd outlier_back outlier_arp step_fwd step_back; do
    if ! rw_run 0 "$tmp/$v.json" "$tmp/$v.err" "$bin" replay --format json "$tmp/$v.pcap"; then
        bad "$v: rdpwhy replay"
        continue
    fi
    got=$(verdicts "$tmp/$v.json")
    n=$(grep -c . <<<"$got" || true)
    if [[ $n == 1 && ${got% *} == "$want" ]]; then
        ok "$v: one record, $want"
    else
        bad "$v: want one record '$want', got $n: $(tr '\n' '|' <<<"$got")"
    fi
    case $v in
    outlier_*)
        grep -q 'warning: 1 frame stamped more than 60 s away from the frames around it (first: frame [0-9]' "$tmp/$v.err" &&
            ok "$v: the outlier is reported once" || bad "$v: no outlier warning: $(cat "$tmp/$v.err")"
        ;;
    step_back)
        grep -q "clock went back more than 60 s 1 time" "$tmp/$v.err" &&
            ok "$v: the step back is reported" || bad "$v: no step-back warning: $(cat "$tmp/$v.err")"
        ;;
    step_fwd)
        # The connection spans the step: its duration includes the hour.
        [[ ${got##* } -ge 3600 ]] && ok "$v: duration spans the step (${got##* } s)" ||
            bad "$v: duration ${got##* } s, expected >= 3600"
        [[ ! -s $tmp/$v.err ]] && ok "$v: nothing to warn about (a gap and a step look alike)" ||
            bad "$v: unexpected stderr: $(cat "$tmp/$v.err")"
        ;;
    esac
done
# The source itself: no warning at all.
rw_run 0 "$tmp/src.json" "$tmp/src.err" "$bin" replay --format json "$data/tls_ok.pcap" || bad "source replay"
[[ ! -s $tmp/src.err ]] && ok "source: no clock warning" || bad "source: stderr: $(cat "$tmp/src.err")"
exit $fail
