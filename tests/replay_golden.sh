#!/bin/bash
# Replays every capture listed in DIR/index.tsv (file, cause, closed_by,
# close_kind, phase, description; a cause may be a set a|b|c where the
# scenario states that the wire fits each) and checks both reports of each:
#   JSON  exactly one record, whose rdpwhy.cause, rdpwhy.closed_by,
#         rdpwhy.close_kind and rdpwhy.phase are the expected ones and whose
#         rdpwhy.remediation is not empty;
#   text  exactly one report (output/record_text.c): line 1 the connection
#         ("ADDR:PORT -> ADDR:PORT  ..."), line 2 the cause line
#         "  cause      <cause, padded to 30>   (closed by <side>, <kind>, in <phase>)"
#         ("(not closed, in <phase>)" when closed_by is none), line 3 the fix
#         line "  fix        <the JSON record's remediation>".
# rdpwhy runs through tests/lib/rdpwhy_run.sh: exit status 0 and no sanitizer
# report on stderr, for each run.
#
#   tests/replay_golden.sh RDPWHY DIR
set -euo pipefail
bin=$1
dir=$2
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib/rdpwhy_run.sh
. "$here/lib/rdpwhy_run.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# check JSON TEXT CAUSE CLOSED_BY CLOSE_KIND PHASE: prints what is wrong.
check() {
	PYTHONPATH="$here/lib" python3 - "$@" <<'EOF'
import sys
from records import load

jpath, tpath, cause, closed_by, kind, phase = sys.argv[1:7]
bad = []
recs = load(jpath)  # nested (the default) read by dotted names
fix = None
if len(recs) != 1:
    bad.append("json: %d records, want 1" % len(recs))
else:
    r = recs[0]
    for key, want in (("rdpwhy.cause", cause), ("rdpwhy.closed_by", closed_by),
                      ("rdpwhy.close_kind", kind), ("rdpwhy.phase", phase)):
        # a set (a|b): the scenario's wire fits each, and the index says so
        if r.get(key) not in want.split("|"):
            bad.append("json: %s = %r, want %r" % (key, r.get(key), want))
    if r.get("rdpwhy.cause") in cause.split("|"):
        cause = r["rdpwhy.cause"]
    fix = r.get("rdpwhy.remediation")
    if not isinstance(fix, str) or not fix.strip():
        bad.append("json: rdpwhy.remediation = %r, want a non-empty string" % (fix,))

with open(tpath, encoding="utf-8") as f:
    text = f.read().split("\n")
if closed_by == "none":
    how = "not closed"
else:
    how = "closed by %s, %s" % (closed_by, kind)
want_cause = "  cause      %-30s   (%s, in %s)" % (cause, how, phase)
causes = [l for l in text if l.startswith("  cause ")]
if len(causes) != 1:
    bad.append("text: %d cause lines, want 1" % len(causes))
if len(text) < 3:
    bad.append("text: %d lines, want at least 3" % len(text))
else:
    if " -> " not in text[0] or text[0].startswith(" "):
        bad.append("text: line 1 is not the connection line: %r" % text[0])
    if text[1] != want_cause:
        bad.append("text: line 2 is\n        %r\n    want %r" % (text[1], want_cause))
    if not text[2].startswith("  fix        ") or not text[2][13:].strip():
        bad.append("text: line 3 is not a non-empty fix line: %r" % text[2])
    elif fix is not None and text[2][13:] != fix:
        bad.append("text: fix %r, JSON remediation %r" % (text[2][13:], fix))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
}

fail=0
n=0
# The index is read on fd 3: rdpwhy and python3 keep their own stdin.
while IFS=$'\t' read -r -u 3 file cause closed_by close_kind phase _desc; do
	[[ $file == file || -z $file ]] && continue
	n=$((n + 1))
	json=$tmp/$n.json
	text=$tmp/$n.txt
	if ! rw_run 0 "$json" "$tmp/$n.json.err" "$bin" replay --format json "$dir/$file" ||
		! rw_run 0 "$text" "$tmp/$n.txt.err" "$bin" replay "$dir/$file"; then
		echo "FAIL $file: rdpwhy replay failed"
		fail=1
		continue
	fi
	if out=$(check "$json" "$text" "$cause" "$closed_by" "$close_kind" "$phase"); then
		echo "ok   $file: $cause ($closed_by, $close_kind, $phase)"
	else
		echo "FAIL $file:"
		while IFS= read -r line; do echo "    $line"; done <<<"$out"
		fail=1
	fi
done 3<"$dir/index.tsv"
if [[ $n -eq 0 ]]; then
	echo "FAIL: no captures in $dir/index.tsv"
	exit 1
fi
exit $fail
