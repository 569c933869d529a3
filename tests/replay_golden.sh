#!/bin/sh
# Replays every committed capture and checks its verdict against the index
# (file, cause, closed_by, close_kind, phase). Both output formats must work.
set -eu
bin=$1
dir=$2
fail=0
n=0
while IFS='	' read -r file cause closed_by close_kind phase desc; do
	[ "$file" = file ] && continue
	n=$((n + 1))
	got=$("$bin" replay --format json "$dir/$file" | python3 -c '
import json, sys
recs = [json.loads(l) for l in sys.stdin]
if len(recs) != 1:
    print("records=%d" % len(recs)); sys.exit(0)
r = recs[0]
print("\t".join(r[k] for k in ("rdpwhy.cause", "rdpwhy.closed_by", "rdpwhy.close_kind", "rdpwhy.phase")))
')
	want=$(printf '%s\t%s\t%s\t%s' "$cause" "$closed_by" "$close_kind" "$phase")
	if [ "$got" != "$want" ]; then
		echo "FAIL $file: got [$got] want [$want]"
		fail=1
	else
		echo "ok   $file: $cause"
	fi
	"$bin" replay "$dir/$file" | grep -q "cause" || { echo "FAIL $file: text report has no cause line"; fail=1; }
done < "$dir/index.tsv"
[ "$n" -gt 0 ] || { echo "FAIL: no captures in $dir/index.tsv"; exit 1; }
exit $fail
