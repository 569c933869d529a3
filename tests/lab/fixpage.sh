# shellcheck shell=bash
# fixpage.sh — the lab's "fixed" re-runs (issue #17, sourced by lib.sh): a
# fault scenario re-runs its client after the change that docs/causes.md's
# fix page gives for its cause, and the connection must then complete
# (normal_close). The change is taken FROM THE PAGE: each command is read out
# of the cause's "#### Fix" section, "Change it" list, the bullet for the
# platform (e.g. "xrdp:", "Linux (iptables):", "HAProxy:"), so a page that
# changes changes the test, and a page that no longer gives the command makes
# the scenario fail (lab_die: "the fix page of CAUSE no longer gives ...").
# The lab runs the command where the real machine would (the host's xrdp, the
# middlebox's iptables or HAProxy), with the real machine's paths mapped to the
# lab's files (lab_fix_local); a service restart is the lab daemon's restart.
#
#   lab_fix_bullet CAUSE PREFIX      the text of that "Change it" bullet (dies if none)
#   lab_fix_code CAUSE PREFIX REGEX  the first `code` of the bullet matching REGEX
#                                    (Python re.search); dies if none
#   lab_fix_has CAUSE PREFIX TEXT... each TEXT is in the bullet, verbatim (lab_fail if not)
#   lab_fix_local CMD                CMD with the real machine's paths replaced by the lab's:
#                                    /etc/xrdp/xrdp.ini, /etc/xrdp/cert.pem and key.pem (the
#                                    files the lab's xrdp.ini names), /etc/haproxy/haproxy.cfg
#   lab_fix_run NS CMD               runs the page's CMD (mapped) with bash -c in namespace NS
#                                    ("-": here); dies when it fails
#   lab_fix_service CMD              the page's `systemctl restart|start xrdp` or
#                                    `systemctl reload haproxy`: the lab's daemon restarted
#                                    with its (changed) configuration
#   lab_xrdp_ini_set KEY=VALUE...    the page's xrdp.ini line(s) written over the key's line of
#                                    the lab's xrdp.ini (the key must be there once)
#   lab_fix_ipt_page NS CAUSE PREFIX CHAIN   the page's "find the REJECT rule ... with
#                                    `iptables -L CHAIN -n --line-numbers`, delete each by its
#                                    number, `iptables -D CHAIN N`", run in NS (see below)
#   lab_fix_skip CASE REASON         a fixed re-run not made, with the reason (log + summary)
#   lab_begin_fixed CASE [ARGS...]   lab_begin without the one-direction captures (01_healthy
#                                    judges a completed connection's halves; LAB_FIXED_HALVES=1
#                                    keeps them, and the statement below then judges them)
#   lab_fixed_client_ok              xfreerdp connected: exit status 0, "Authentication only,
#                                    exit status 0"
#   lab_expect_fixed NAME [EXPECTATION...] [--note T]   lab_expect NAME normal_close with the
#                                    statement of a completed connection (closed_by client, fin,
#                                    established, as 01_healthy; the halves likewise, when
#                                    captured) plus the
#                                    case's own facts; never written to tests/data/lab (the
#                                    fixed cases are 01's healthy wire again)

LAB_CAUSES_MD=${LAB_CAUSES_MD:-$LAB_REPO/docs/causes.md}

lab_fix_bullet() { # CAUSE PREFIX
    local out
    out=$(python3 - "$LAB_CAUSES_MD" "$1" "$2" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
cause, prefix = sys.argv[2], sys.argv[3]
m = re.search(r"^### `%s`[^\n]*\n(.*?)(?=^### |^## |\Z)" % re.escape(cause), text, re.M | re.S)
if not m:
    sys.exit("docs/causes.md has no section for `%s`" % cause)
sec = m.group(1)
f = sec.find("\n#### Fix\n")
if f < 0:
    sys.exit("docs/causes.md: `%s` has no #### Fix page" % cause)
c = sec.find("- **Change it**", f)
if c < 0:
    sys.exit("docs/causes.md: the fix page of `%s` has no Change it list" % cause)
for line in sec[c:].split("\n")[1:]:
    if not line.startswith("  - "):
        break
    if line[4:].startswith(prefix):
        print(line[4:])
        sys.exit(0)
sys.exit("docs/causes.md: the fix page of `%s` has no Change it bullet for '%s'" % (cause, prefix))
PY
) || lab_die "$out"
    printf '%s\n' "$out"
}

lab_fix_code() { # CAUSE PREFIX REGEX
    local bullet code
    bullet=$(lab_fix_bullet "$1" "$2") || exit 1
    # shellcheck disable=SC2016 # Python, not shell
    code=$(python3 -c '
import re, sys
for c in re.findall(r"`([^`]+)`", sys.argv[1]):
    if re.search(sys.argv[2], c):
        print(c)
        break
else:
    sys.exit(1)' "$bullet" "$3") || lab_die "the fix page of $1 no longer gives a command matching /$3/ for '$2': $bullet"
    printf '%s\n' "$code"
}

lab_fix_has() { # CAUSE PREFIX TEXT...
    local bullet t
    bullet=$(lab_fix_bullet "$1" "$2") || exit 1
    shift 2
    for t in "$@"; do
        LAB_CHECKS=$((LAB_CHECKS + 1))
        if [[ $bullet == *"$t"* ]]; then
            lab_log "fix page: '$t' is on the page"
        else
            lab_fail "the fix page's bullet no longer says '$t': $bullet"
        fi
    done
}

lab_xrdp_ini_get() { # KEY: its value in the lab's xrdp.ini
    sed -n "s/^$1=//p" "$LAB_WORK/xrdp/xrdp.ini" | head -n 1
}

lab_fix_local() { # CMD
    local c=$1
    c=${c//\/etc\/xrdp\/xrdp.ini/$LAB_WORK/xrdp/xrdp.ini}
    if [[ -f $LAB_WORK/xrdp/xrdp.ini ]]; then
        c=${c//\/etc\/xrdp\/cert.pem/$(lab_xrdp_ini_get certificate)}
        c=${c//\/etc\/xrdp\/key.pem/$(lab_xrdp_ini_get key_file)}
    fi
    c=${c//\/etc\/haproxy\/haproxy.cfg/$LAB_WORK/haproxy.cfg}
    printf '%s\n' "$c"
}

lab_fix_run() { # NS CMD
    local ns=$1 c rc=0
    [[ -n $2 ]] || lab_die "lab_fix_run: no command (the fix page no longer gives it)"
    c=$(lab_fix_local "$2")
    lab_log "fix page: $2"
    [[ $c == "$2" ]] || lab_log "   in the lab: $c"
    if [[ $ns == - ]]; then
        bash -c "$c" >"$LAB_WORK/fix.out" 2>&1 || rc=$?
    else
        lab_ns "$ns" bash -c "$c" >"$LAB_WORK/fix.out" 2>&1 || rc=$?
    fi
    ((rc == 0)) || { tail -n 5 "$LAB_WORK/fix.out" >&2; lab_die "the fix page's command failed (exit $rc): $2"; }
}

lab_fix_service() { # CMD
    lab_log "fix page: $1 (the lab's daemon restarted)"
    case $1 in
    "systemctl restart xrdp" | "systemctl start xrdp") lab_xrdp_restart ;;
    "systemctl reload haproxy") lab_haproxy_stop; lab_haproxy_start "$LAB_WORK/haproxy.cfg" ;;
    *) lab_die "lab_fix_service: no lab equivalent of '$1'" ;;
    esac
}

lab_xrdp_ini_set() { # KEY=VALUE...
    local ini=$LAB_WORK/xrdp/xrdp.ini kv k
    for kv in "$@"; do
        [[ $kv =~ ^([a-z_]+)=(.*)$ ]] || lab_die "lab_xrdp_ini_set: not an xrdp.ini line: $kv"
        k=${BASH_REMATCH[1]}
        (($(grep -c "^$k=" "$ini") == 1)) || lab_die "lab_xrdp_ini_set: $k= is not in $ini once"
        KV=$kv awk -v k="$k" 'index($0, k "=") == 1 { print ENVIRON["KV"]; next } { print }' "$ini" >"$ini.new" ||
            lab_die "cannot rewrite $ini"
        mv "$ini.new" "$ini" || lab_die "cannot rewrite $ini"
        lab_log "fix page: xrdp.ini: $kv"
    done
}

# lab_fix_ipt_page NS CAUSE PREFIX CHAIN: the page's "find the REJECT rule
# (and any DROP rule ...) with `iptables -L CHAIN -n --line-numbers`, and
# delete each by its number, highest first, `iptables -D CHAIN N`": those
# commands must be on the bullet; the rules deleted are those for TCP 3389
# jumping to a target the bullet names ("REJECT rule", "DROP rule"), so a page
# that stops naming one stops deleting it. Fails (lab_fail) when none was
# found or one is left.
lab_fix_ipt_page() {
    local ns=$1 cause=$2 prefix=$3 chain=$4 bullet t n targets=() nums=()
    lab_fix_has "$cause" "$prefix" "\`iptables -L $chain -n --line-numbers\`" "\`iptables -D $chain N\`" 'highest first'
    bullet=$(lab_fix_bullet "$cause" "$prefix") || exit 1
    for t in REJECT DROP; do
        [[ $bullet == *"$t rule"* ]] && targets+=("$t")
    done
    ((${#targets[@]})) || lab_die "the fix page of $cause names no rule to delete: $bullet"
    lab_log "fix page: the rules for TCP 3389 of $chain jumping to ${targets[*]}, deleted by number"
    lab_ns "$ns" iptables -w -S "$chain" >"$LAB_WORK/fix-$chain.rules"
    mapfile -t nums < <(lab_fix_ipt_numbers "$ns" "$chain" "${targets[@]}" | sort -rn)
    LAB_CHECKS=$((LAB_CHECKS + 1))
    ((${#nums[@]})) || { lab_fail "no rule for TCP 3389 of $chain jumps to ${targets[*]}: nothing to delete"; return 0; }
    for n in "${nums[@]}"; do
        lab_log "fix page: iptables -D $chain $n"
        lab_ns "$ns" iptables -w -D "$chain" "$n" || lab_die "iptables -D $chain $n failed in $ns"
    done
    if [[ -n $(lab_fix_ipt_numbers "$ns" "$chain" "${targets[@]}") ]]; then
        lab_fail "a rule for TCP 3389 of $chain jumping to ${targets[*]} is still there"
    else
        lab_log "fix check ok: ${#nums[@]} rule(s) deleted; $chain: $(lab_ns "$ns" iptables -w -S "$chain" | paste -sd ';')"
    fi
}
# lab_fix_ipt_numbers NS CHAIN TARGET...: the numbers (iptables -L --line-numbers)
# of the rules of CHAIN for TCP port 3389 that jump to one of TARGET.
lab_fix_ipt_numbers() {
    local ns=$1 chain=$2
    shift 2
    lab_ns "$ns" iptables -w -L "$chain" -n --line-numbers |
        awk -v t=" $* " 'NR > 2 && index(t, " " $2 " ") && / dpt:3389( |$)/ { print $1 }'
}

# lab_fix_skip CASE REASON: a fixed re-run the lab cannot make (the page's
# change is for something the lab does not run, or has no command for it):
# said on the log and in run.sh's summary, never silently.
lab_fix_skip() {
    lab_log "SKIP $1: $2"
    [[ -z ${LAB_RESULTS:-} ]] || printf '%s\t%s\t%s\n' "$LAB_SCENARIO" "$1" "$2" >>"$LAB_RESULTS.skips"
}

# lab_begin_fixed CASE [RDPWHY_ARGS...]: lab_begin for a fixed re-run, without
# the one-direction captures unless LAB_FIXED_HALVES=1: a completed connection's
# halves are 01_healthy's, judged there; the re-runs keep the lab's added time
# small.
lab_begin_fixed() {
    LAB_CAPTURE_HALVES=${LAB_FIXED_HALVES:-0} lab_begin "$@"
}

lab_fixed_client_ok() {
    lab_client_expect 0 'Authentication only, exit status 0'
}

lab_expect_fixed() { # NAME [EXPECTATION...] [--note T]
    local name=$1
    shift
    LAB_UPDATE='' lab_expect "$name" normal_close \
        rdpwhy.closed_by=client rdpwhy.close_kind=fin rdpwhy.phase=established '!tls.alert.description' \
        client_only:verdict=normal_close/client/fin/established \
        server_only:verdict=normal_close/client/fin/established \
        server_only@unacked:verdict=still_open/none/none/established "$@"
    lab_log "fixed re-run $name: $(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$LAB_CASE_T0" "$(date +%s.%N)") s from lab_begin to its verdict"
}
