#!/bin/sh
# Prints one line per connection of every capture in DATA_DIR/index.tsv:
# capture, who closed, how, phase, cause.
set -eu
bin=$1
dir=$2
printf '%-34s %-8s %-11s %-14s %s\n' capture closed_by close_kind phase cause
tail -n +2 "$dir/index.tsv" | while IFS='	' read -r file _rest; do
	"$bin" replay --format json --json-style flat "$dir/$file" | python3 -c '
import json, sys
name = sys.argv[1]
for line in sys.stdin:
    r = json.loads(line)
    print("%-34s %-8s %-11s %-14s %s" % (name, r["rdpwhy.closed_by"], r["rdpwhy.close_kind"],
          r["rdpwhy.phase"], r["rdpwhy.cause"]))
' "$file"
done
