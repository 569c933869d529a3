#!/usr/bin/env bash
# mutants.sh [NAME...] — shows that the test suite bites (issue #16): each mutant
# breaks one thing on purpose in a private copy of the tree (git worktree of HEAD
# plus the working tree's changes), builds it and runs the tests; a mutant that no
# test catches is a hole in the suite. Prints, per mutant, the tests that failed,
# and exits 1 if any mutant survived.
#
#   scripts/mutants.sh                      # all mutants (root: the lab and namespaces run)
#   scripts/mutants.sh verdict_rule         # one
#   MUTANT_TESTS='replay_golden|test_' scripts/mutants.sh text_field   # a ctest -R subset
#   MUTANT_EXCLUDE='siem_' scripts/mutants.sh                          # a ctest -E subset
#
# The mutants:
#   verdict_rule  analyzers/verdict_rules_tls.c: alert 40 (handshake_failure) no longer means a
#                 cipher mismatch
#   relay_close   proxy/relay.c: an RST from one peer is passed on as a FIN
#   text_field    output/record_text.c: the cause line names the phase of the TLS
#                 handshake whatever it was
#   exit_path     cli/cmd_replay.c: replay exits 0 when a record could not be written
#                 (it still says so on stderr)
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
declare -A FILE FROM TO
FILE[verdict_rule]=analyzers/verdict_rules_tls.c
FROM[verdict_rule]='(a->description != 40 && a->description != 71)'
TO[verdict_rule]='(a->description != 71)'
FILE[relay_close]=proxy/relay.c
FROM[relay_close]='struct linger lg = {1, 0};'
TO[relay_close]='struct linger lg = {0, 0};'
FILE[text_field]=output/record_text.c
FROM[text_field]='printf_(t, ", in %s)\n", rw_phase_name(v->phase));'
TO[text_field]='printf_(t, ", in %s)\n", rw_phase_name(RW_PHASE_TLS_HANDSHAKE));'
FILE[exit_path]=cli/cmd_replay.c
FROM[exit_path]=$'cannot write the output\\n");\n\t\treturn 1;'
TO[exit_path]=$'cannot write the output\\n");\n\t\treturn 0;'
names=("$@")
((${#names[@]})) || names=(verdict_rule relay_close text_field exit_path)

work=$(mktemp -d /tmp/rdpwhy-mutants.XXXXXX)
trap 'git -C "$repo" worktree remove --force "$work/tree" >/dev/null 2>&1; rm -rf "$work"' EXIT
git -C "$repo" worktree add --detach "$work/tree" HEAD >/dev/null 2>&1 || { echo "cannot make a worktree" >&2; exit 2; }
# The working tree's uncommitted changes too, so that what is tested is what is here.
git -C "$repo" diff HEAD | git -C "$work/tree" apply --allow-empty 2>/dev/null || true
survivors=0
for m in "${names[@]}"; do
    f=${FILE[$m]:-}
    [[ -n $f ]] || { echo "unknown mutant $m" >&2; exit 2; }
    git -C "$work/tree" checkout -q -- "$f" 2>/dev/null || true
    git -C "$repo" diff HEAD -- "$f" | git -C "$work/tree" apply 2>/dev/null || true
    python3 - "$work/tree/$f" "${FROM[$m]}" "${TO[$m]}" <<'PY' || { echo "$m: pattern not found in $f" >&2; exit 2; }
import sys
p, a, b = sys.argv[1:4]
s = open(p).read()
if a not in s:
    sys.exit(1)
open(p, "w").write(s.replace(a, b, 1))
PY
    b=$work/build-$m
    if ! { cmake -S "$work/tree" -B "$b" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
        cmake --build "$b" -j "$(nproc)" >"$b.log" 2>&1; }; then
        echo "$m: does not build (see $b.log)"; survivors=1; continue
    fi
    ctest --test-dir "$b" -j "$(nproc)" ${MUTANT_TESTS:+-R "$MUTANT_TESTS"} \
        ${MUTANT_EXCLUDE:+-E "$MUTANT_EXCLUDE"} >"$b.ctest" 2>&1
    failed=$(sed -n 's/^[[:space:]]*[0-9]* - \([A-Za-z0-9_]*\) (\(Failed\|Timeout\|Not Run\|Subprocess aborted\|SEGFAULT\)).*/\1/p' "$b.ctest" | tr '\n' ' ')
    if [[ -n $failed ]]; then
        echo "$m: caught by $failed"
    else
        echo "$m: SURVIVED (no test failed)"; survivors=1
    fi
    git -C "$work/tree" checkout -q -- "$f"
    git -C "$repo" diff HEAD -- "$f" | git -C "$work/tree" apply 2>/dev/null || true
done
exit $survivors
