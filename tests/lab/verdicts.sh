# shellcheck shell=bash
# verdicts.sh — the failure lab's judging of rdpwhy (sourced by lib.sh): a case's
# records and replays against the scenario's statement (lab_expect), its
# one-direction halves (lab_half_expect), a second capture of the same case
# on another interface (lab_path_expect), and a field of the last verdict
# (lab_record_field). Kept apart from lib.sh, which sets up the namespaces,
# the daemons and the captures: this file is what decides pass or fail.

lab_path_expect() { # NAME [--capture TAG] CAUSE [EXPECTATION...] [--conn N] [--note TEXT]
    local name=$1 src=$LAB_CASE_DIR d=$LAB_WORK/$1 cap=path conn=1 a
    shift
    if [[ ${1:-} == --capture ]]; then
        cap=path-$2
        shift 2
    fi
    for ((a = 1; a < $#; a++)); do
        [[ ${!a} == --conn ]] && { local b=$((a + 1)); conn=${!b}; }
    done
    lab_end
    lab_capture_stop_path
    mkdir -p "$d"
    rm -f "$d/client_only.pcap" "$d/server_only.pcap"
    cp "$src/$cap.pcap" "$d/client.pcap"
    # One-direction captures of the same interface (lab_path_capture_start
    # --tag out|in ... -Q out|in): judged as halves, the side that opened the
    # path's connection being its client.
    [[ -f $src/$cap-out.pcap && -f $src/$cap-in.pcap ]] &&
        cp "$src/$cap-out.pcap" "$d/client_only.pcap" && cp "$src/$cap-in.pcap" "$d/server_only.pcap"
    # The path's connections (the gateway's ports), from the packets alone,
    # matched in order to the proxy's records of the case.
    local conns
    conns=$(python3 "$LAB_WIRE_FACTS" --list "$d/client.pcap") || lab_fail "$name: wire_facts.py --list $d/client.pcap failed"
    python3 - "$src/records.json" "$(awk '{ print $3 }' <<<"$conns" | paste -sd ,)" \
        "$(dirname "$LAB_EXPECT_PY")/../lib" >"$d/records.json" <<'PY' ||
import json, sys
sys.path.insert(0, sys.argv[3])
from records import load  # by dotted names, nested or flat: written back flat
recs = load(sys.argv[1])
ports = [int(p) for p in sys.argv[2].split(",") if p]
if len(recs) != len(ports):
    sys.exit("the path capture holds %d TCP connections, the proxy wrote %d records" % (len(ports), len(recs)))
recs.sort(key=lambda r: (r.get("event.start") or r.get("@timestamp") or ""))
for r, p in zip(recs, ports):
    r["lab.client.port"] = r.get("source.port")
    r["source.port"] = p
    print(json.dumps(r))
PY
        lab_fail "$name: cannot match the path's connections to the proxy's records"
    LAB_CASE_DIR=$d lab_expect "$name" "$@"
}

lab_expect() { # NAME CAUSE [EXPECTATION...] [--conn N|last] [--note TEXT]
    local name=$1 cause=$2 conn=1 note=""
    shift 2
    local exps=()
    while (($#)); do
        case $1 in
        --conn) conn=$2; shift 2 ;;
        --note) note=$2; shift 2 ;;
        *) exps+=("$1"); shift ;;
        esac
    done
    local d=${LAB_CASE_DIR:?lab_expect outside a case}
    LAB_CHECKS=$((LAB_CHECKS + 1))
    LAB_LAST_VERDICT=$d/$name.verdict.json
    rm -f "$LAB_LAST_VERDICT"
    # The scenario states the whole verdict, for both sides, or nothing is judged.
    local why halves=()
    # A case captured on the client's interface also has its two one-direction
    # captures (lab_capture_start): the statement must say what each gives.
    [[ -f $d/client_only.pcap && -f $d/server_only.pcap ]] && halves=(client_only server_only)
    if ! why=$(LAB_HALVES="${halves[*]}" python3 "$LAB_EXPECT_PY" statement "$name" "$cause" "${exps[@]}"); then
        lab_end
        lab_fail "$why"
        return 0
    fi
    lab_end
    local ok=0 cip cport conns nconn
    # The connection: the N-th of the client capture, from the packets alone.
    conns=$(python3 "$LAB_WIRE_FACTS" --list "$d/client.pcap" 2>"$d/wire.err") ||
        { lab_log "wire_facts.py --list failed: $(head -c 300 "$d/wire.err")"; ok=1; }
    nconn=$(grep -c . <<<"$conns")
    if [[ $conn == last ]]; then
        read -r _ cip cport _ <<<"$(tail -n 1 <<<"$conns")"
    else
        read -r _ cip cport _ <<<"$(sed -n "${conn}p" <<<"$conns")"
    fi
    if [[ -z ${cport:-} ]]; then
        lab_log "$name: no connection $conn in the client capture ($nconn connection(s))"
        ok=1
    else
        tcpdump -Z root -r "$d/client.pcap" -w "$d/$name.pcap" "tcp and host $cip and port $cport" 2>/dev/null ||
            { lab_log "cannot trim the capture"; ok=1; }
        python3 "$LAB_WIRE_FACTS" "$d/$name.pcap" >"$d/$name.wire.json" 2>"$d/wire.err" ||
            { lab_log "wire_facts.py $d/$name.pcap failed: $(head -c 300 "$d/wire.err")"; ok=1; }
    fi
    # rdpwhy's verdict from the capture: exit 0, no sanitizer report.
    rw_run 0 "$d/replay.json" "$d/replay.err" "$RDPWHY" replay --format json "$d/client.pcap" ||
        { lab_log "$name: rdpwhy replay of $d/client.pcap did not end cleanly"; ok=1; }
    if ((ok == 0)); then
        local out
        out=$(python3 "$LAB_EXPECT_PY" check "$name" "$cause" "$d/records.json" "$d/replay.json" \
            "$d/$name.wire.json" "$cport" "$LAB_LAST_VERDICT" "${exps[@]}") || ok=1
        printf '%s\n' "$out" >&2
        # The trimmed capture (what goes to tests/data/lab) replays to the same verdict.
        if rw_run 0 "$d/$name.replay.json" "$d/$name.replay.err" "$RDPWHY" replay --format json "$d/$name.pcap"; then
            python3 "$LAB_EXPECT_PY" same "$LAB_LAST_VERDICT" "$d/$name.replay.json" >&2 || ok=1
        else
            ok=1
        fi
    fi
    local half
    if [[ -n ${cport:-} && -f $d/$name.wire.json ]]; then
        for half in "${halves[@]}"; do
            lab_half_expect "$name" "$cause" "$half" "$cip" "$cport" "${exps[@]}" || ok=1
        done
    fi
    local row
    row=$(python3 "$LAB_EXPECT_PY" row "$LAB_LAST_VERDICT" "$LAB_SCENARIO" "$name" "$([[ $ok == 0 ]] && echo ok || echo FAIL)")
    printf '%s\n' "$row" | awk -F'\t' '{ printf "%-28s inline: %-7s %-8s %-14s %-32s | capture: %-7s %-8s %-14s %-32s %s\n", $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 }' >&2
    [[ -z ${LAB_RESULTS:-} ]] || printf '%s\n' "$row" >>"$LAB_RESULTS"
    if ((ok)); then
        LAB_FAILS=$((LAB_FAILS + 1))
        lab_log "$name: FAIL (details in $d)"
        return 0
    fi
    if [[ -n ${LAB_UPDATE:-} ]]; then
        mkdir -p "$LAB_DATA"
        install -m 644 "$d/$name.pcap" "$LAB_DATA/$name.pcap"
        python3 "$LAB_EXPECT_PY" index "$LAB_DATA/index.tsv" "$LAB_LAST_VERDICT" "$name.pcap" \
            "$LAB_SCENARIO" "$note" || lab_fail "$name: cannot update $LAB_DATA/index.tsv"
        lab_log "$name: wrote $LAB_DATA/$name.pcap ($(stat -c %s "$LAB_DATA/$name.pcap") bytes) and its index line"
    fi
    return 0
}

# lab_half_expect NAME CAUSE HALF CLIENT_IP CLIENT_PORT EXPECTATION...: the
# case's connection in the one-direction capture HALF (client_only: what the
# client sent; server_only: what reached it), judged against the statement's
# HALF: expectations (expect.py half). First the capture itself: it must hold
# exactly the packets of that side the two-direction capture holds (tcpdump -Q
# did what the scenario relies on). Then `rdpwhy replay` of the whole half
# (rw_run: exit 0, no sanitizer report) and its record for the client port.
# Prints a row; a row of a half listed in known_wrong.tsv is "KNOWN WRONG".
# Returns 1 when a check failed.
lab_half_expect() {
    local name=$1 cause=$2 half=$3 cip=$4 cport=$5 d=$LAB_CASE_DIR ok=0
    shift 5
    local hp=$d/$name-$half.pcap seen other n_half n_full
    if [[ $half == client_only ]]; then seen="src host $cip and src port $cport"; else seen="dst host $cip and dst port $cport"; fi
    tcpdump -Z root -r "$d/$half.pcap" -w "$hp" "tcp and host $cip and port $cport" 2>/dev/null ||
        { lab_log "$name: cannot trim $half.pcap"; return 1; }
    n_half=$(tcpdump -Z root -r "$hp" 2>/dev/null | grep -c .) || true
    n_full=$(tcpdump -Z root -r "$d/$name.pcap" "tcp and $seen" 2>/dev/null | grep -c .) || true
    other=$(tcpdump -Z root -r "$hp" "tcp and not ($seen)" 2>/dev/null | grep -c .) || true
    local capok=1
    [[ $n_half == "$n_full" && $other == 0 ]] || capok=0
    rw_run 0 "$d/$name-$half.replay.json" "$d/$name-$half.replay.err" "$RDPWHY" replay --format json "$d/$half.pcap" ||
        { lab_log "$name: rdpwhy replay of $d/$half.pcap did not end cleanly"; ok=1; }
    local out
    out=$(python3 "$LAB_EXPECT_PY" half "$name" "$cause" "$half" "$d/$name-$half.replay.json" \
        "$d/$name.wire.json" "$cport" "$capok:$n_half:$n_full:$other" "$d/$name-$half.verdict.json" \
        "$LAB_DIR/known_wrong.tsv" "$@") || ok=$?
    printf '%s\n' "$out" >&2
    # 3: wrong and listed in known_wrong.tsv: reported, not passed, not failed
    if ((ok == 3)); then
        LAB_KNOWN=$((LAB_KNOWN + 1))
        ok=0
    fi
    local row
    ((ok == 0)) || ok=1
    row=$(python3 "$LAB_EXPECT_PY" halfrow "$d/$name-$half.verdict.json" "$LAB_SCENARIO" "$name" "$half" "$ok")
    printf '%s\n' "$row" | awk -F'\t' '{ printf "%-28s %-11s %-7s %-8s %-14s %-30s %-6s %s\n", $2, $3, $4, $5, $6, $7, $8, $9 }' >&2
    [[ -z ${LAB_RESULTS:-} ]] || printf '%s\n' "$row" >>"$LAB_RESULTS.halves"
    return "$ok"
}

lab_record_field() { # SIDE FIELD
    [[ -n $LAB_LAST_VERDICT && -f $LAB_LAST_VERDICT ]] || return 0
    python3 "$LAB_EXPECT_PY" get "$LAB_LAST_VERDICT" "$1" "$2"
}
