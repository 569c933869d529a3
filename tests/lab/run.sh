#!/usr/bin/env bash
# run.sh — run the failure lab: every scenario (or the ones named) one after
# the other, then a summary table. Exit status: 0 = all passed (skips allowed),
# 1 = a scenario failed, 77 = not root (nothing ran).
#
#   sudo tests/lab/run.sh                 # all of tests/lab/scenarios/[0-9]*.sh
#   sudo tests/lab/run.sh 01 06_security_layer scenarios/04_cert_expired.sh
#
# A scenario is named by its number ("04"), its file name with or without .sh,
# or a path. Environment:
#   RDPWHY=PATH          the rdpwhy binary (default: build the repository into
#                        ${LAB_BUILD_DIR:-/tmp/rdpwhy-lab-build})
#   LAB_UPDATE=1         rewrite tests/data/lab/<case>.pcap and their index lines
#   LAB_KEEP=1           keep every scenario's scratch directory (kept anyway on failure)
#   LAB_VERBOSE=1        stream each scenario's log instead of showing it on failure only
#   LAB_TIMEOUT=SECONDS  per-scenario limit (default 180)
#   LAB_SUMMARY=FILE     also write the summary table there (markdown)
set -uo pipefail

LAB_RUN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ $(id -u) -ne 0 ]]; then
    echo "[lab] skip: needs root (network namespaces, iptables, tcpdump): sudo $0 $*" >&2
    exit 77
fi
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$LAB_RUN_DIR/lib.sh"
# shellcheck disable=SC2034 # read by lib.sh's log lines
LAB_SCENARIO=run
lab_find_rdpwhy
export RDPWHY

scripts=()
if (($# == 0)); then
    for f in "$LAB_RUN_DIR"/scenarios/[0-9]*.sh; do [[ -e $f ]] && scripts+=("$f"); done
else
    for a in "$@"; do
        f=
        if [[ -f $a ]]; then
            f=$(realpath "$a")
        elif [[ -f $LAB_RUN_DIR/$a ]]; then
            f=$LAB_RUN_DIR/$a
        else
            for g in "$LAB_RUN_DIR/scenarios/${a%.sh}.sh" "$LAB_RUN_DIR"/scenarios/"${a%.sh}"_*.sh; do
                [[ -f $g ]] && { f=$g; break; }
            done
        fi
        [[ -n $f ]] || { echo "[lab] no scenario '$a' in $LAB_RUN_DIR/scenarios" >&2; exit 2; }
        scripts+=("$f")
    done
fi
((${#scripts[@]})) || { echo "[lab] no scenarios found" >&2; exit 2; }

RUN_WORK=$(mktemp -d /tmp/rdpwhy-lab-run.XXXXXX)
export LAB_RESULTS=$RUN_WORK/results.tsv
: >"$LAB_RESULTS"
: >"$LAB_RESULTS.halves"
: >"$LAB_RESULTS.skips"
trap 'rm -rf "$RUN_WORK"' EXIT
trap 'exit 130' INT TERM HUP

t_all=$(date +%s)
declare -A status secs
failed=0
known=0
for f in "${scripts[@]}"; do
    name=$(basename "$f" .sh)
    log=$RUN_WORK/$name.log
    t0=$(date +%s)
    rc=0
    echo "[lab] ---- $name" >&2
    if [[ -n ${LAB_VERBOSE:-} ]]; then
        timeout -k 10 "${LAB_TIMEOUT:-180}" bash "$f" 2>&1 | tee "$log" >&2
        rc=${PIPESTATUS[0]}
    else
        timeout -k 10 "${LAB_TIMEOUT:-180}" bash "$f" >"$log" 2>&1 || rc=$?
    fi
    secs[$name]=$(($(date +%s) - t0))
    case $rc in
    0) status[$name]=pass ;;
    77) status[$name]=skip ;;
    124 | 137) status[$name]="FAIL (timeout ${LAB_TIMEOUT:-180}s)"; failed=1 ;;
    *) status[$name]="FAIL (exit $rc)"; failed=1 ;;
    esac
    # The table rows this scenario printed, then the verdict.
    grep -E '^[0-9][0-9][a-z]?_[A-Za-z0-9_]+ +(inline:|client_only|server_only)' "$log" >&2 || true
    # A fixed re-run the scenario could not make (lab_fix_skip), with its reason.
    grep -E '^\[lab [^]]*\] SKIP ' "$log" >&2 || true
    # A one-direction verdict listed in known_wrong.tsv that is still wrong:
    # the scenario is not counted as passed.
    if [[ ${status[$name]} == pass ]] && grep -qE ' KNOWN WRONG$' "$log"; then
        status[$name]="KNOWN WRONG ($(grep -cE ' KNOWN WRONG$' "$log") one-direction verdicts)"
        known=1
    fi
    echo "[lab] $name: ${status[$name]} in ${secs[$name]}s" >&2
    if [[ ${status[$name]} == FAIL* && -z ${LAB_VERBOSE:-} ]]; then
        echo "----- $name: last 80 lines of its log -----" >&2
        tail -n 80 "$log" >&2
        echo "-----" >&2
    fi
done
total=$(($(date +%s) - t_all))

summary() {
    echo
    echo "| scenario | case | inline: closed_by | how | phase | cause | capture: closed_by | how | phase | cause | result |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 }' "$LAB_RESULTS"
    if [[ -s $LAB_RESULTS.halves ]]; then
        echo
        echo "One-direction captures (tcpdump -Q on the client's interface):"
        echo
        echo "| scenario | case | half | closed_by | how | phase | cause | confidence | result |"
        echo "|---|---|---|---|---|---|---|---|---|"
        awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }' "$LAB_RESULTS.halves"
    fi
    if [[ -s $LAB_RESULTS.skips ]]; then
        echo
        echo "Fixed re-runs not made (docs/causes.md's change has no lab equivalent):"
        echo
        echo "| scenario | case | why |"
        echo "|---|---|---|"
        awk -F'\t' '{ printf "| %s | %s | %s |\n", $1, $2, $3 }' "$LAB_RESULTS.skips"
    fi
    echo
    echo "| scenario | result | seconds |"
    echo "|---|---|---|"
    for f in "${scripts[@]}"; do
        name=$(basename "$f" .sh)
        echo "| $name | ${status[$name]} | ${secs[$name]} |"
    done
    echo
    echo "total: ${total}s for ${#scripts[@]} scenario(s)"
}
summary >&2
[[ -z ${LAB_SUMMARY:-} ]] || summary >"$LAB_SUMMARY"
((total < 600)) || echo "[lab] WARNING: the lab took ${total}s, over its 10-minute budget" >&2
((known == 0)) || echo "[lab] KNOWN WRONG: one-direction verdicts listed in tests/lab/known_wrong.tsv are still wrong (not counted as passed)" >&2
exit $failed
