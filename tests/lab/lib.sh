# shellcheck shell=bash disable=SC2034
# lib.sh — the failure lab's shared helpers (sourced by tests/lab/scenarios/*.sh).
# (SC2034: the LAB_* variables set here are the API, read by the scenarios.)
#
# A scenario script looks like this:
#
#   #!/usr/bin/env bash
#   set -euo pipefail
#   . "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
#   lab_init 03_cipher_mismatch                 # root, tools, topology, traps
#   lab_cert host                               # self-signed cert for the host
#   lab_xrdp_start ssl_protocols=TLSv1.2 tls_ciphers=ECDHE-RSA-CHACHA20-POLY1305
#   lab_begin 03_cipher_mismatch                # rdpwhy on the gateway + tcpdump on the client
#   lab_xfreerdp 10 /sec:tls /cert:ignore /tls-ciphers:ECDHE-RSA-AES128-GCM-SHA256
#   # the fault happened (from the real programs), then the statement judges rdpwhy;
#   # the closer is a race here (the scenario's header says why)
#   lab_client_expect 143 ERRCONNECT_TLS_CONNECT_FAILED
#   lab_log_expect xrdp "$LAB_WORK/xrdp/xrdp.log" 'no shared cipher'
#   lab_expect 03_cipher_mismatch tls_cipher_mismatch \
#       'rdpwhy.closed_by=client|server' 'rdpwhy.close_kind=fin|rst' rdpwhy.phase=tls_handshake \
#       tls.alert.from=server tls.alert.description=handshake_failure \
#       --note "xrdp TLSv1.2 CHACHA20 only, xfreerdp AES128-GCM only"
#   lab_finish                                  # exit status: 0 = every check passed
#
# Where expectations come from: the scenario states them, reasoned from how it
# is built (cause, closed_by, close_kind and phase, inline and capture, plus the
# protocol facts). tests/lib/wire_facts.py (tshark, nothing of rdpwhy) checks
# that the stated capture close and alert are what the packets show; rdpwhy is
# then compared with the statement. Nothing here copies rdpwhy's answer into an
# expectation, and tests/data/lab/index.tsv is written from the statements.
#
# Topology (made by lab_init; names carry the scenario's pid, R = 100 + pid % 100):
#
#   client ns            gateway ns (rdpwhy)                 middlebox ns                 host ns
#   $LAB_NS_CLIENT       $LAB_NS_GW                          $LAB_NS_MB                   $LAB_NS_HOST
#   c0 10.R.1.2 <veth> gc 10.R.1.1 | gm 10.R.2.1 <veth> mg 10.R.2.2 | mh 10.R.3.1 <veth> h0 10.R.3.2
#   default via .1.1     default via 10.R.2.2                default via 10.R.2.1         default via .3.1
#                        ip_forward=1                        ip_forward=1
#   iptables on the gateway: nat PREROUTING -i gc -p tcp --dport 3389 -j REDIRECT --to-ports 13389
#   (only while rdpwhy runs), so the client connects to the host's (or the middlebox's) real
#   address and rdpwhy relays it with --transparent from 10.R.2.1.
#   Addresses: LAB_IP_CLIENT LAB_IP_GW_C LAB_IP_GW_M LAB_IP_MB_G LAB_IP_MB_H LAB_IP_HOST
#   Interfaces: LAB_IF_CLIENT=c0 LAB_IF_GW_C=gc LAB_IF_GW_M=gm LAB_IF_MB_G=mg LAB_IF_MB_H=mh LAB_IF_HOST=h0
#   Nothing leaves these namespaces (no link to the root namespace, no default route out).
#
# Functions (stable API; all return 0 unless said, and die = exit 1 of the scenario, with cleanup):
#
#   lab_init SCENARIO         needs root (exit 77 = skip otherwise); installs missing packages
#                             with apt-get; makes $LAB_WORK (scratch dir), the topology above,
#                             the EXIT/INT/TERM trap that removes everything. Sets $RDPWHY (the
#                             binary: $RDPWHY if set, else builds the repository into
#                             ${LAB_BUILD_DIR:-/tmp/rdpwhy-lab-build}).
#   lab_log MSG... / lab_die MSG...
#   lab_ns NS CMD...          run CMD in namespace NS (ip netns exec)
#   lab_ipt NS TABLE CHAIN RULE...   iptables -t TABLE -A CHAIN RULE in NS (gone with the ns)
#   lab_wait_listen NS PORT [SECONDS=5]   wait until something listens on tcp PORT in NS (1 = no)
#   lab_daemon NAME NS PORT CMD...   start CMD in the background in NS, logs in
#                             $LAB_WORK/NAME.log; if PORT is not empty, wait until it listens
#                             there (die otherwise). Its pid is ${LAB_PID[NAME]}.
#   lab_daemon_wait_line NAME ERE SECONDS   wait until NAME's log has a line matching ERE
#                             (1 = it died or SECONDS passed first)
#   lab_daemon_stop NAME [SIGNAL=TERM] [SECONDS=3]  SIGNAL, then SIGKILL after SECONDS; reaps
#                             it; its exit status in ${LAB_RC[NAME]}. No-op if not running.
#   lab_cert NAME [--cn CN] [--san SAN] [--expired] [--ca]
#                             writes $LAB_CERTS/NAME.pem, NAME.key (RSA 2048) and NAME.sha256
#                             (SHA-256 of the DER certificate, lower-case hex, no colons).
#                             Defaults: CN = $LAB_IP_HOST, SAN = IP:$LAB_IP_HOST, self-signed,
#                             valid 2025-01-01 to 2045-12-31. --expired: notBefore 2020-01-01, notAfter
#                             2021-01-01. --ca: signed by the lab CA ($LAB_CERTS/ca.pem, made
#                             on first use) instead of self-signed.
#   lab_xrdp_start [KEY=VALUE...]    xrdp --nodaemon in the host ns on 0.0.0.0:3389 with a
#                             fresh xrdp.ini built from /etc/xrdp/xrdp.ini. Keys (defaults):
#                             security_layer (tls), ssl_protocols ("TLSv1.2, TLSv1.3"),
#                             tls_ciphers (HIGH), certificate / key_file ($LAB_CERTS/host.pem
#                             /.key, made with lab_cert host if missing), crypt_level (high),
#                             port (3389), ns ($LAB_NS_HOST). The session module points at a
#                             closed port, so a logon fails fast and no xrdp-sesman is needed.
#                             Daemon name: xrdp. Log: $LAB_WORK/xrdp/xrdp.log.
#   lab_xrdp_stop
#   lab_xrdp_restart          xrdp stopped and started again with the same xrdp.ini (after an
#                             edit: `systemctl restart xrdp`).
#   lab_haproxy_start CFGFILE  haproxy -db -f CFGFILE in the middlebox ns; waits for port 3389
#                             there. Daemon name: haproxy.
#   lab_haproxy_stop
#   lab_haproxy_tls_start [SERVER_OPTION...]  HAProxy as a TLS-terminating load balancer on the
#                             middlebox's address: makes $LAB_CERTS/lb.pem/.key (lab_cert lb, CN
#                             and SAN $LAB_IP_MB_G) if missing, writes $LAB_WORK/haproxy.cfg
#                             (mode tcp, `bind $LAB_IP_MB_G:3389 ssl crt` lb.pem + lb.key,
#                             `server host1 $LAB_IP_HOST:3389 SERVER_OPTION...`) and starts it
#                             with lab_haproxy_start.
#   lab_rdpwhy_start [ARGS...] rdpwhy proxy --listen 0.0.0.0:13389 --transparent --format json
#                             --output $LAB_CASE_DIR/records.json --set connect_timeout=3s
#                             --set tls_timeout=5s --set grace=3s -v ARGS... in the gateway ns
#                             (ARGS come last, so they override), plus the REDIRECT rule;
#                             returns once its log says "ready: listening on" (dies if it never
#                             does). Daemon name: rdpwhy; its log: $LAB_CASE_DIR/rdpwhy.log.
#   lab_rdpwhy_stop            SIGTERM: rdpwhy gives connections still open `grace` (3 s) to end,
#                             then closes them itself (their records then say closed_by proxy:
#                             let the client finish first, see lab_wait_records); waits up to
#                             8 s; removes the REDIRECT rule. lab_fail unless it exited 0 with
#                             no sanitizer report in its log (rw_check_end, tests/lib/rdpwhy_run.sh).
#   lab_wait_records N [SECONDS=10]  wait until rdpwhy has written N records (1 = timed out).
#   lab_fail MSG              count a failed check (other than lab_expect's) without stopping.
#
#   Did the fault happen? Each scenario checks it from the real programs before lab_expect,
#   with these (each failed check is a lab_fail; the case is still judged):
#   lab_client_expect RC [ERE...]   xfreerdp's exit status is RC (a|b allowed; FreeRDP 2's
#                             XF_EXIT_*: 0 ok, 132 auth, 133 nego, 143 TLS connect, 147
#                             transport) and its log has every ERE.
#   lab_log_expect WHAT FILE ERE...  every ERE is in FILE's lines written since lab_begin (waits
#                             up to 3 s); lab_log_absent WHAT FILE ERE...: none is.
#   lab_ipt_expect NS TABLE CHAIN ERE MIN WHAT   the first rule of CHAIN whose `iptables -nvx -L`
#                             line matches ERE counted at least MIN packets (lab_ipt_packets
#                             NS TABLE CHAIN ERE prints the counter).
#   lab_cert_expect NAME expired|valid   $LAB_CERTS/NAME.pem is expired / in date now.
#   lab_capture_start          tcpdump -i c0 -s 0 'tcp port 3389' in the client ns →
#                             $LAB_CASE_DIR/client.pcap (daemon tcpdump), and the two
#                             one-direction captures of the same interface: -Q out →
#                             client_only.pcap (only the client's packets; daemon tcpdump_co),
#                             -Q in → server_only.pcap (only the server side's; tcpdump_so);
#                             with LAB_CAPTURE_HALVES=0, client.pcap only.
#   lab_tcpdump NAME NS IFACE FILE [TCPDUMP_OPTION...]  one such tcpdump daemon, started once
#                             it says it listens.
#   lab_capture_stop
#   lab_path_capture_start [--tag T] NS IFACE [TCPDUMP_OPTION...]  a further capture of the
#                             open case on another link of the path: tcpdump -i IFACE -s 0
#                             'tcp port 3389' in NS → $LAB_CASE_DIR/path.pcap (path-T.pcap with
#                             --tag, so a case can have several). Daemon name: pathcap(_T).
#   lab_path_expect NAME [--capture T] CAUSE [EXPECTATION...] [--note TEXT]  after the case's
#                             own lab_expect (--capture T: judge path-T.pcap):
#                             ends the case (lab_end), stops the path capture and runs lab_expect
#                             NAME with the path capture as the case's capture (in
#                             $LAB_WORK/NAME). rdpwhy re-originates the connection, so on the
#                             path the client is the gateway (its address, an ephemeral port):
#                             the case's only inline record is paired with the path's only
#                             connection (found by wire_facts.py --list; its source.port is set
#                             to that port in the copy given to lab_expect; lab.client.port keeps
#                             the client's).
#   lab_begin CASE [RDPWHY_ARGS...]  start a case: $LAB_CASE=CASE, $LAB_CASE_DIR (made),
#                             rdpwhy (lab_rdpwhy_start RDPWHY_ARGS) and the capture.
#   lab_end                   end the case: 0.5 s for the last packets, stop the capture and
#                             rdpwhy. lab_expect calls it when the case is still open.
#   lab_xfreerdp SECONDS [VAR=VALUE...] [ARGS...]  xfreerdp in the client ns under Xvfb (started
#                             on first use, in the client ns), with the leading VAR=VALUE words
#                             in its environment (e.g. SSL_CERT_FILE=$LAB_CERTS/ca.pem to trust
#                             the lab CA), HOME and XDG_CONFIG_HOME a fresh empty dir
#                             (nothing trusted or remembered), stdin /dev/null, killed after
#                             SECONDS. Adds /v:$LAB_IP_HOST unless ARGS has /v:, and
#                             /u:rdpwhy /p:rdpwhy-test-pw unless ARGS has /u:. Exit status
#                             in $LAB_CLIENT_RC (124 = timed out) and $LAB_CASE_DIR/xfreerdp.rc;
#                             output in $LAB_CASE_DIR/xfreerdp.log.
#   lab_expect NAME CAUSE [EXPECTATION...] [--conn N|last] [--note TEXT]
#                             the scenario's statement about one connection (connection N of
#                             the client capture in capture order, default 1), checked against
#                             the wire, then against rdpwhy twice: `rdpwhy replay` of the client
#                             capture and the proxy's record with the same client port.
#                             CAUSE is the cause for both, or INLINE_CAUSE/CAPTURE_CAUSE when
#                             they differ by design. The statement must give rdpwhy.closed_by,
#                             rdpwhy.close_kind and rdpwhy.phase with '=' for both sides
#                             (unprefixed, or inline: and capture:), or lab_expect refuses
#                             (lab_fail "the scenario does not state ..."). Those four may list
#                             alternatives a|b where a race on the wire decides (say which race
#                             and why in the scenario); the capture record must then name the
#                             one its packets show.
#                             EXPECTATION: FIELD=VALUE (exact; lists compare as "a,b"; numbers
#                             and booleans as JSON spells them), FIELD~REGEX (re.search), or
#                             "!FIELD" (absent); each may be prefixed with inline: or capture:
#                             to check one side only (e.g. capture:rdpwhy.closed_by=client).
#                             The wire (tests/lib/wire_facts.py on the trimmed capture) must agree
#                             with the capture side's closed_by/close_kind, phase, a named
#                             tls.alert.description (+ tls.alert.from) or "!tls.alert.description",
#                             rdp.requested_protocols and rdp.selected_protocol.
#                             Every rdpwhy replay must exit 0 with no sanitizer report (rw_run).
#                             Prints a table row (rdpwhy's inline and capture: closed_by,
#                             close_kind, phase, cause), appends it to $LAB_RESULTS (TSV) when set,
#                             writes the connection alone to $LAB_CASE_DIR/NAME.pcap (wire facts
#                             in NAME.wire.json) and checks that its replay gives the same capture
#                             verdict. With LAB_UPDATE=1, once every check passed, it copies that
#                             file to tests/data/lab/NAME.pcap and puts its line into
#                             tests/data/lab/index.tsv (the format of tests/replay_golden.sh) from
#                             the statement: the capture side's cause, closed_by, close_kind,
#                             phase (where the statement allows two, the one on this capture's
#                             wire), description "lab SCENARIO: NOTE; inline (stated): ...".
#                             A failed expectation does not stop the script: it is counted, and
#                             lab_finish fails.
#                             One-direction captures: when the case has client_only.pcap and
#                             server_only.pcap (lab_capture_start), the statement must also say
#                             what rdpwhy gives from each (expect.py refuses it otherwise):
#                             HALF:verdict=CAUSE/CLOSED_BY/CLOSE_KIND/PHASE, HALF:FIELD=VALUE,
#                             HALF:FIELD~REGEX, HALF:!FIELD or HALF:none (no record), HALF =
#                             client_only|server_only, optionally HALF@COND (COND: the
#                             two-direction wire's first close client|server|fin|rst, or
#                             acked|unacked: whether the other side acknowledged it before it
#                             closed; several joined with +) for what a race decides; see
#                             lab_half_expect. FIELD lab.causes: the cause then the alternatives.
#   lab_record_field SIDE FIELD   after lab_expect: the value of FIELD in the last checked
#                             inline or capture record (SIDE = inline|capture), as lab_expect
#                             formats it ("" when absent).
#   The fixed re-runs (issue #17; fixpage.sh, sourced here, documents them): lab_fix_bullet,
#   lab_fix_code, lab_fix_has (the change read from docs/causes.md's fix page), lab_fix_run,
#   lab_fix_service, lab_xrdp_ini_set, lab_fix_ipt_delete (applied in the lab),
#   lab_fixed_client_ok, lab_expect_fixed (the connection then completes: normal_close).
#   lab_finish                 prints the scenario's verdict and exits 0 (all passed) or 1.
#
# Environment: RDPWHY (binary), LAB_UPDATE=1 (rewrite tests/data/lab), LAB_KEEP=1 (keep
# $LAB_WORK; it is also kept when a check fails), LAB_RESULTS (TSV file run.sh collects),
# LAB_SKIP_APT=1 (never run apt-get). tshark (the wire oracle) is a required tool.

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_REPO=$(cd "$LAB_DIR/../.." && pwd)
# certificates, xrdp.ini, Xvfb: rp_cert, rp_ca, rp_xrdp_ini, rp_xvfb_start
# shellcheck source=../lib/rdp_peers.sh
. "$LAB_DIR/../lib/rdp_peers.sh"
# rw_run / rw_check_end: every rdpwhy run's exit status and stderr (no sanitizer report)
# shellcheck source=../lib/rdpwhy_run.sh
. "$LAB_DIR/../lib/rdpwhy_run.sh"
LAB_EXPECT_PY=$LAB_DIR/expect.py
LAB_WIRE_FACTS=$(cd "$LAB_DIR/../lib" && pwd)/wire_facts.py
LAB_DATA=$LAB_REPO/tests/data/lab
LAB_RDPWHY_PORT=13389
LAB_USER=rdpwhy
LAB_PASS=rdpwhy-test-pw
LAB_DEAD_PORT=5959 # in the host ns; nothing listens there
declare -gA LAB_PID=()
declare -gA LAB_RC=()
declare -gA LAB_LOG_OFF=()
LAB_FAILS=0
LAB_CHECKS=0
LAB_KNOWN=0
LAB_CASE=
LAB_CASE_DIR=
LAB_CASE_OPEN=0
LAB_CLIENT_RC=
LAB_XVFB_DISPLAY=
LAB_LAST_VERDICT=
LAB_NSES=()
LAB_SCENARIO=
LAB_XRDP_NS=
LAB_XRDP_PORT=
LAB_T0=$(date +%s.%N)

lab_log() { printf '[lab %s] %s\n' "${LAB_SCENARIO:-?}" "$*" >&2; }
lab_die() {
    printf '[lab %s] FAIL: %s\n' "${LAB_SCENARIO:-?}" "$*" >&2
    LAB_FAILS=$((LAB_FAILS + 1))
    exit 1
}

lab_ns() {
    local ns=$1
    shift
    ip netns exec "$ns" "$@"
}

lab_ipt() {
    local ns=$1 table=$2 chain=$3
    shift 3
    lab_ns "$ns" iptables -w -t "$table" -A "$chain" "$@" || lab_die "iptables -t $table -A $chain $* failed in $ns"
}

lab_wait_listen() { # NS PORT [SECONDS]
    local ns=$1 h i n=$((${3:-5} * 20))
    h=$(printf '%04X' "$2")
    for ((i = 0; i <= n; i++)); do
        ((i == 0)) || sleep 0.05
        # shellcheck disable=SC2016
        lab_ns "$ns" awk -v h="$h" 'NR > 1 && $4 == "0A" { split($2, a, ":"); if (a[2] == h) f = 1 } END { exit !f }' \
            /proc/net/tcp /proc/net/tcp6 && return 0
    done
    return 1
}

lab_daemon() { # NAME NS PORT CMD...
    local name=$1 ns=$2 port=$3 pid i
    shift 3
    [[ -z ${LAB_PID[$name]:-} ]] || lab_die "daemon $name already running"
    # ip netns exec execs CMD: $! is CMD itself, so signals reach it.
    ip netns exec "$ns" "$@" >"$LAB_WORK/$name.log" 2>&1 </dev/null &
    pid=$!
    LAB_PID[$name]=$pid
    [[ -n $port ]] || return 0
    for ((i = 0; i < 200; i++)); do
        lab_wait_listen "$ns" "$port" 0 && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    tail -n 20 "$LAB_WORK/$name.log" >&2 || true
    lab_die "$name ($*) did not listen on port $port in $ns"
}

# Waits until daemon NAME's log has a line matching ERE (0), or it died or
# SECONDS passed (1).
lab_daemon_wait_line() { # NAME ERE SECONDS
    local name=$1 re=$2 i
    for ((i = 0; i < $3 * 20; i++)); do
        grep -aqE "$re" "$LAB_WORK/$name.log" 2>/dev/null && return 0
        kill -0 "${LAB_PID[$name]}" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

lab_daemon_stop() { # NAME [SIGNAL] [SECONDS]
    local name=$1 sig=${2:-TERM} secs=${3:-3} pid i
    pid=${LAB_PID[$name]:-}
    [[ -n $pid ]] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill "-$sig" "$pid" 2>/dev/null || true
        for ((i = 0; i < secs * 20; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        if kill -0 "$pid" 2>/dev/null; then
            lab_log "$name (pid $pid) did not stop after SIG$sig in ${secs}s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    local rc=0
    wait "$pid" 2>/dev/null || rc=$?
    LAB_RC[$name]=$rc
    unset "LAB_PID[$name]"
}

# ---------------------------------------------------------------- setup
lab_need() { # lab_need cmd:package ...
    local spec missing=()
    for spec in "$@"; do
        command -v "${spec%%:*}" >/dev/null 2>&1 || missing+=("${spec#*:}")
    done
    ((${#missing[@]})) || return 0
    [[ -z ${LAB_SKIP_APT:-} ]] || lab_die "missing: ${missing[*]} (LAB_SKIP_APT is set)"
    lab_log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2 || lab_die "apt-get update failed"
    apt-get install -y --no-install-recommends "${missing[@]}" >&2 || lab_die "apt-get install ${missing[*]} failed"
}

lab_find_rdpwhy() {
    if [[ -n ${RDPWHY:-} ]]; then
        RDPWHY=$(realpath "$RDPWHY")
        [[ -x $RDPWHY ]] || lab_die "RDPWHY=$RDPWHY is not executable"
        return 0
    fi
    local b=${LAB_BUILD_DIR:-/tmp/rdpwhy-lab-build}
    lab_log "building rdpwhy into $b"
    { cmake -S "$LAB_REPO" -B "$b" -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build "$b" -j2 --target rdpwhy; } \
        >"$b.log" 2>&1 || { tail -n 30 "$b.log" >&2; lab_die "cannot build rdpwhy (log: $b.log)"; }
    RDPWHY=$b/rdpwhy
    export RDPWHY
}

lab_cleanup() {
    local rc=$? name ns pid
    exec 2>&8
    set +e
    for name in "${!LAB_PID[@]}"; do
        [[ $name == xvfb ]] && continue
        lab_daemon_stop "$name" TERM 2
    done
    [[ -z ${LAB_PID[xvfb]:-} ]] || lab_daemon_stop xvfb TERM 2
    for ns in "${LAB_NSES[@]}"; do
        # Anything still running in our namespaces was started by this scenario.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    if [[ -n $LAB_XVFB_DISPLAY ]]; then
        rm -f "/tmp/.X$LAB_XVFB_DISPLAY-lock" "/tmp/.X11-unix/X$LAB_XVFB_DISPLAY" 2>/dev/null
    fi
    if [[ -n ${LAB_WORK:-} && -d $LAB_WORK ]]; then
        if [[ -n ${LAB_KEEP:-} ]] || ((rc != 0 || LAB_FAILS > 0)); then
            lab_log "scratch directory kept: $LAB_WORK"
        else
            rm -rf "$LAB_WORK"
        fi
    fi
    ((rc == 0)) || [[ $rc == 77 ]] || lab_log "exit $rc"
    exit "$rc"
}

lab_init() { # SCENARIO
    LAB_SCENARIO=$1
    if [[ $(id -u) -ne 0 ]]; then
        lab_log "skip: needs root (network namespaces, iptables, tcpdump)"
        exit 77
    fi
    exec 8>&2
    trap lab_cleanup EXIT
    trap 'exit 130' INT TERM HUP
    lab_need ip:iproute2 iptables:iptables tcpdump:tcpdump python3:python3 openssl:openssl tshark:tshark \
        xrdp:xrdp xfreerdp:freerdp2-x11 Xvfb:xvfb xauth:xauth haproxy:haproxy timeout:coreutils
    lab_find_rdpwhy
    LAB_WORK=$(mktemp -d "/tmp/rdpwhy-lab-$LAB_SCENARIO.XXXXXX")
    chmod 755 "$LAB_WORK"
    LAB_CERTS=$LAB_WORK/certs
    mkdir -p "$LAB_CERTS"
    lab_topology
}

lab_topology() {
    local r=$((100 + $$ % 100)) ns l dev i
    LAB_NS_CLIENT=lab-c-$$
    LAB_NS_GW=lab-g-$$
    LAB_NS_MB=lab-m-$$
    LAB_NS_HOST=lab-h-$$
    LAB_IF_CLIENT=c0 LAB_IF_GW_C=gc LAB_IF_GW_M=gm LAB_IF_MB_G=mg LAB_IF_MB_H=mh LAB_IF_HOST=h0
    LAB_IP_CLIENT=10.$r.1.2 LAB_IP_GW_C=10.$r.1.1
    LAB_IP_GW_M=10.$r.2.1 LAB_IP_MB_G=10.$r.2.2
    LAB_IP_MB_H=10.$r.3.1 LAB_IP_HOST=10.$r.3.2
    for ns in "$LAB_NS_CLIENT" "$LAB_NS_GW" "$LAB_NS_MB" "$LAB_NS_HOST"; do
        ip netns list | awk '{ print $1 }' | grep -qx "$ns" && lab_die "namespace $ns already exists"
        ip netns add "$ns" || lab_die "cannot create namespace $ns"
        LAB_NSES+=("$ns")
        ip -n "$ns" link set lo up
    done
    ip -n "$LAB_NS_CLIENT" link add c0 type veth peer name gc netns "$LAB_NS_GW" || lab_die "veth c0/gc"
    ip -n "$LAB_NS_GW" link add gm type veth peer name mg netns "$LAB_NS_MB" || lab_die "veth gm/mg"
    ip -n "$LAB_NS_MB" link add mh type veth peer name h0 netns "$LAB_NS_HOST" || lab_die "veth mh/h0"
    for l in "$LAB_NS_CLIENT c0 $LAB_IP_CLIENT" "$LAB_NS_GW gc $LAB_IP_GW_C" "$LAB_NS_GW gm $LAB_IP_GW_M" \
        "$LAB_NS_MB mg $LAB_IP_MB_G" "$LAB_NS_MB mh $LAB_IP_MB_H" "$LAB_NS_HOST h0 $LAB_IP_HOST"; do
        read -r ns dev ip <<<"$l"
        ip -n "$ns" addr add "$ip/24" dev "$dev" || lab_die "addr $ip on $dev"
        ip -n "$ns" link set "$dev" up
    done
    ip -n "$LAB_NS_CLIENT" route add default via "$LAB_IP_GW_C"
    ip -n "$LAB_NS_GW" route add default via "$LAB_IP_MB_G"
    ip -n "$LAB_NS_MB" route add default via "$LAB_IP_GW_M"
    ip -n "$LAB_NS_HOST" route add default via "$LAB_IP_MB_H"
    lab_ns "$LAB_NS_GW" sysctl -qw net.ipv4.ip_forward=1
    lab_ns "$LAB_NS_MB" sysctl -qw net.ipv4.ip_forward=1
    # Reachability without ping: a TCP connect to a closed port of the host must
    # be refused (an RST came back through middlebox and gateway).
    local err=
    for ((i = 0; i < 50; i++)); do
        err=$(lab_ns "$LAB_NS_CLIENT" timeout 1 bash -c "exec 3<>/dev/tcp/$LAB_IP_HOST/9" 2>&1) || true
        [[ $err == *refused* ]] && break
        sleep 0.1
    done
    [[ $err == *refused* ]] || lab_die "client cannot reach the host $LAB_IP_HOST through gateway and middlebox ($err)"
    lab_log "topology up: client $LAB_IP_CLIENT — gw $LAB_IP_GW_C|$LAB_IP_GW_M — mb $LAB_IP_MB_G|$LAB_IP_MB_H — host $LAB_IP_HOST"
}

# ---------------------------------------------------------------- certificates
lab_cert() { # NAME [--cn CN] [--san SAN] [--expired] [--ca]
    local name=$1 cn=$LAB_IP_HOST san="IP:$LAB_IP_HOST" expired=0 ca=0
    shift
    while (($#)); do
        case $1 in
        --cn) cn=$2; shift 2 ;;
        --san) san=$2; shift 2 ;;
        --expired) expired=1; shift ;;
        --ca) ca=1; shift ;;
        *) lab_die "lab_cert: unknown option $1" ;;
        esac
    done
    if ((ca)) && [[ ! -s $LAB_CERTS/ca.pem ]]; then
        rp_ca "$LAB_CERTS" ca "rdpwhy lab CA" || lab_die "lab CA"
    fi
    local certopts=()
    ((ca)) && certopts+=(--ca ca)
    ((expired)) && certopts+=(--expired)
    rp_cert "$LAB_CERTS" "$name" "$cn" "$san" "${certopts[@]}" || lab_die "lab_cert $name failed"
}

# ---------------------------------------------------------------- xrdp, haproxy
lab_xrdp_start() { # [KEY=VALUE...]
    local -A o=([security_layer]=tls [ssl_protocols]="TLSv1.2, TLSv1.3" [tls_ciphers]=HIGH
        [certificate]="" [key_file]="" [crypt_level]=high [port]=3389 [ns]="$LAB_NS_HOST")
    local kv
    for kv in "$@"; do
        [[ $kv == *=* ]] || lab_die "lab_xrdp_start: not KEY=VALUE: $kv"
        o[${kv%%=*}]=${kv#*=}
    done
    if [[ -z ${o[certificate]} ]]; then
        [[ -s $LAB_CERTS/host.pem ]] || lab_cert host
        o[certificate]=$LAB_CERTS/host.pem
        o[key_file]=$LAB_CERTS/host.key
    fi
    rp_xrdp_keys || lab_die "xrdp-keygen"
    local d=$LAB_WORK/xrdp
    mkdir -p "$d"
    rp_xrdp_ini "$d/xrdp.ini" "listen=:${o[port]}" "security_layer=${o[security_layer]}" \
        "crypt_level=${o[crypt_level]}" "certificate=${o[certificate]}" "key_file=${o[key_file]}" \
        "ssl_protocols=${o[ssl_protocols]}" "tls_ciphers=${o[tls_ciphers]}" "log=$d/xrdp.log" \
        dead_ip=127.0.0.1 "dead_port=$LAB_DEAD_PORT" || lab_die "cannot write $d/xrdp.ini"
    LAB_XRDP_NS=${o[ns]} LAB_XRDP_PORT=${o[port]}
    lab_daemon xrdp "${o[ns]}" "${o[port]}" xrdp --nodaemon --config "$d/xrdp.ini"
}
lab_xrdp_stop() { lab_daemon_stop xrdp; }
# lab_xrdp_restart: xrdp stopped (if running) and started again with the same
# $LAB_WORK/xrdp/xrdp.ini (what `systemctl restart xrdp` does after an edit).
lab_xrdp_restart() {
    [[ -f $LAB_WORK/xrdp/xrdp.ini ]] || lab_die "lab_xrdp_restart: no xrdp.ini (lab_xrdp_start first)"
    lab_xrdp_stop
    lab_daemon xrdp "${LAB_XRDP_NS:-$LAB_NS_HOST}" "${LAB_XRDP_PORT:-3389}" xrdp --nodaemon --config "$LAB_WORK/xrdp/xrdp.ini"
}

lab_haproxy_start() { # CFGFILE
    haproxy -c -f "$1" >"$LAB_WORK/haproxy.check" 2>&1 || { cat "$LAB_WORK/haproxy.check" >&2; lab_die "haproxy config $1 is invalid"; }
    lab_daemon haproxy "$LAB_NS_MB" 3389 haproxy -db -f "$1"
}
lab_haproxy_stop() { lab_daemon_stop haproxy TERM 3; }

lab_haproxy_tls_start() { # [SERVER_OPTION...]
    [[ -s $LAB_CERTS/lb.pem ]] || lab_cert lb --cn "$LAB_IP_MB_G" --san "IP:$LAB_IP_MB_G"
    cat "$LAB_CERTS/lb.pem" "$LAB_CERTS/lb.key" >"$LAB_CERTS/lb-haproxy.pem"
    cat >"$LAB_WORK/haproxy.cfg" <<CFG
global
    log stdout format raw local0 info
    maxconn 100
defaults
    mode tcp
    log global
    option tcplog
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend rdp_tls
    bind $LAB_IP_MB_G:3389 ssl crt $LAB_CERTS/lb-haproxy.pem
    default_backend rdp_hosts
backend rdp_hosts
    server host1 $LAB_IP_HOST:3389${*:+ $*}
CFG
    lab_haproxy_start "$LAB_WORK/haproxy.cfg"
}

# ---------------------------------------------------------------- rdpwhy, capture
lab_rdpwhy_start() { # [ARGS...]
    [[ -n $LAB_CASE_DIR ]] || lab_die "lab_rdpwhy_start outside a case (use lab_begin)"
    lab_ipt "$LAB_NS_GW" nat PREROUTING -i gc -p tcp --dport 3389 -j REDIRECT --to-ports "$LAB_RDPWHY_PORT"
    lab_daemon rdpwhy "$LAB_NS_GW" "" "$RDPWHY" proxy --listen "0.0.0.0:$LAB_RDPWHY_PORT" \
        --transparent --format json --output "$LAB_CASE_DIR/records.json" \
        --set connect_timeout=3s --set tls_timeout=5s --set grace=3s -v "$@"
    # The proxy says when its listeners accept (and its signals are handled):
    # wait for that line (20 s: an ASan build on a loaded machine starts slowly).
    lab_daemon_wait_line rdpwhy 'ready: listening on' 20 && return 0
    tail -n 20 "$LAB_WORK/rdpwhy.log" >&2 || true
    lab_die "rdpwhy proxy did not log 'ready: listening on' (log: $LAB_WORK/rdpwhy.log)"
}
lab_rdpwhy_stop() {
    [[ -n ${LAB_PID[rdpwhy]:-} ]] || return 0
    lab_daemon_stop rdpwhy TERM 8
    lab_ns "$LAB_NS_GW" iptables -w -t nat -D PREROUTING -i gc -p tcp --dport 3389 -j REDIRECT \
        --to-ports "$LAB_RDPWHY_PORT" 2>/dev/null || true
    cp "$LAB_WORK/rdpwhy.log" "$LAB_CASE_DIR/rdpwhy.log" 2>/dev/null || true
    # SIGTERM is a clean stop: exit status 0, no sanitizer report in its log (stderr).
    rw_check_end "rdpwhy proxy (case ${LAB_CASE:-?})" "${LAB_RC[rdpwhy]}" 0 "$LAB_WORK/rdpwhy.log" ||
        lab_fail "the rdpwhy proxy of case ${LAB_CASE:-?} did not end cleanly on SIGTERM (exit status ${LAB_RC[rdpwhy]}; log $LAB_CASE_DIR/rdpwhy.log)"
}

lab_wait_records() { # N [SECONDS]
    local n=$1 i f=$LAB_CASE_DIR/records.json
    for ((i = 0; i < ${2:-10} * 10; i++)); do
        [[ -f $f ]] && (($(grep -c . "$f") >= n)) && return 0
        sleep 0.1
    done
    return 1
}

lab_fail() {
    LAB_FAILS=$((LAB_FAILS + 1))
    LAB_CHECKS=$((LAB_CHECKS + 1))
    printf '[lab %s] FAIL: %s\n' "${LAB_SCENARIO:-?}" "$*" >&2
}

# lab_tcpdump NAME NS IFACE FILE [TCPDUMP_OPTION...]: a tcpdump daemon NAME
# writing FILE ('tcp port 3389' only, whole packets, each written at once),
# started once it says it listens (so no packet of the case is missed).
lab_tcpdump() {
    local name=$1 ns=$2 ifc=$3 file=$4
    shift 4
    lab_daemon "$name" "$ns" "" tcpdump -i "$ifc" "$@" -n -s 0 -U --immediate-mode -Z root \
        -w "$file" 'tcp port 3389'
    lab_daemon_wait_line "$name" 'listening on' 5 && return 0
    cat "$LAB_WORK/$name.log" >&2
    lab_die "tcpdump $* on $ifc in $ns did not start"
}

# The client's interface, three times: both directions (client.pcap), and two
# real one-direction captures as a SPAN port of one direction or asymmetric
# routing gives them, made by tcpdump itself (-Q, the kernel's packet
# direction, not a split of client.pcap): -Q out on c0 holds only what the
# client sent (client_only.pcap), -Q in only what reached it from the server
# side (server_only.pcap).
lab_capture_start() {
    [[ -n $LAB_CASE_DIR ]] || lab_die "lab_capture_start outside a case (use lab_begin)"
    lab_tcpdump tcpdump "$LAB_NS_CLIENT" c0 "$LAB_CASE_DIR/client.pcap"
    # LAB_CAPTURE_HALVES=0: no one-direction captures (lab_begin_fixed)
    [[ ${LAB_CAPTURE_HALVES:-1} == 1 ]] || return 0
    lab_tcpdump tcpdump_co "$LAB_NS_CLIENT" c0 "$LAB_CASE_DIR/client_only.pcap" -Q out
    lab_tcpdump tcpdump_so "$LAB_NS_CLIENT" c0 "$LAB_CASE_DIR/server_only.pcap" -Q in
}
lab_capture_stop() {
    local n
    for n in tcpdump tcpdump_co tcpdump_so; do
        [[ -n ${LAB_PID[$n]:-} ]] || continue
        lab_daemon_stop "$n" INT 3
        cp "$LAB_WORK/$n.log" "$LAB_CASE_DIR/$n.log" 2>/dev/null || true
    done
}

lab_path_capture_start() { # [--tag TAG] NS IFACE [TCPDUMP_OPTION...]
    [[ -n $LAB_CASE_DIR ]] || lab_die "lab_path_capture_start outside a case (use lab_begin)"
    local tag=
    if [[ $1 == --tag ]]; then
        tag=$2
        shift 2
    fi
    local ns=$1 ifc=$2
    shift 2
    lab_tcpdump "pathcap${tag:+_$tag}" "$ns" "$ifc" "$LAB_CASE_DIR/path${tag:+-$tag}.pcap" "$@"
}
# Stop every path capture of the case (they all end with it).
lab_capture_stop_path() {
    local n
    for n in "${!LAB_PID[@]}"; do
        [[ $n == pathcap || $n == pathcap_* ]] && lab_daemon_stop "$n" INT 3
    done
    return 0
}

lab_begin() { # CASE [RDPWHY_ARGS...]
    ((LAB_CASE_OPEN == 0)) || lab_end
    LAB_CASE=$1
    shift
    LAB_CASE_DIR=$LAB_WORK/$LAB_CASE
    mkdir -p "$LAB_CASE_DIR"
    LAB_CASE_T0=$(date +%s.%N)
    lab_log_mark
    lab_rdpwhy_start "$@"
    lab_capture_start
    LAB_CASE_OPEN=1
    lab_log "case $LAB_CASE: rdpwhy and tcpdump running"
}

lab_end() {
    ((LAB_CASE_OPEN)) || return 0
    sleep 0.5
    lab_capture_stop
    lab_rdpwhy_stop
    LAB_CASE_OPEN=0
}

# ---------------------------------------------------------------- did the fault happen?
# A scenario checks that its fault really happened, from the real programs' own
# logs, exit statuses and counters, BEFORE it judges rdpwhy (lab_expect). A check
# that fails is counted with lab_fail (the case is still judged).

# lab_log_mark: remember how long every log in $LAB_WORK is (lab_begin calls it),
# so that lab_log_expect reads only what was written during the case.
lab_log_mark() {
    local f
    LAB_LOG_OFF=()
    for f in "$LAB_WORK"/*.log "$LAB_WORK"/xrdp/xrdp.log; do
        [[ -f $f ]] && LAB_LOG_OFF[$f]=$(stat -c %s "$f")
    done
    return 0
}
lab_log_since() { # FILE: what FILE got since lab_log_mark (all of it if it was rewritten)
    local f=$1 off=${LAB_LOG_OFF[$1]:-0}
    [[ -f $f ]] || return 0
    (($(stat -c %s "$f") >= off)) || off=0
    tail -c "+$((off + 1))" "$f"
}
# lab_log_expect WHAT FILE ERE...: every ERE appears in FILE's lines of this
# case (waits up to 3 s for a daemon to write them); prints the matching lines.
lab_log_expect() {
    local what=$1 f=$2 re i ok
    shift 2
    for re in "$@"; do
        ok=0
        for ((i = 0; i < 30; i++)); do
            lab_log_since "$f" | grep -aqE -- "$re" && { ok=1; break; }
            sleep 0.1
        done
        LAB_CHECKS=$((LAB_CHECKS + 1))
        if ((ok)); then
            lab_log "fault check ok: $what: $(lab_log_since "$f" | grep -aE -m 1 -- "$re" | cut -c 1-200)"
        else
            lab_fail "$LAB_CASE: $what has no line matching /$re/ (${f#"$LAB_WORK"/})"
        fi
    done
}
# lab_log_absent WHAT FILE ERE...: no ERE appears in FILE's lines of this case.
lab_log_absent() {
    local what=$1 f=$2 re
    shift 2
    for re in "$@"; do
        LAB_CHECKS=$((LAB_CHECKS + 1))
        if lab_log_since "$f" | grep -aqE -- "$re"; then
            lab_fail "$LAB_CASE: $what has a line matching /$re/, it should not: $(lab_log_since "$f" | grep -aE -m 1 -- "$re" | cut -c 1-200)"
        else
            lab_log "fault check ok: $what: no /$re/"
        fi
    done
}
# lab_client_expect RC ERE...: xfreerdp's exit status (FreeRDP 2's XF_EXIT_*
# codes: 0 success, 131 CONN_FAILED, 132 AUTH_FAILURE, 133 NEGO_FAILURE, 143
# TLS_CONNECT_FAILED, 147 CONNECT_TRANSPORT_FAILED; 124 = killed by lab_xfreerdp's
# timeout) is RC (a list a|b allowed), and its log has every ERE.
lab_client_expect() {
    local want=$1
    shift
    LAB_CHECKS=$((LAB_CHECKS + 1))
    if rw_rc_ok "$LAB_CLIENT_RC" "$want"; then
        lab_log "fault check ok: xfreerdp exit status $LAB_CLIENT_RC"
    else
        lab_fail "$LAB_CASE: xfreerdp exit status $LAB_CLIENT_RC, expected $want; its errors: $(grep -aE 'ERROR|WARN' "$LAB_CASE_DIR/xfreerdp.log" | grep -v DEBUG | tail -n 4 | cut -c 1-160 | tr '\n' ' ')"
    fi
    (($#)) || return 0
    local re
    for re in "$@"; do
        LAB_CHECKS=$((LAB_CHECKS + 1))
        if grep -aqE -- "$re" "$LAB_CASE_DIR/xfreerdp.log"; then
            lab_log "fault check ok: xfreerdp: $(grep -aE -m 1 -- "$re" "$LAB_CASE_DIR/xfreerdp.log" | cut -c 1-200)"
        else
            lab_fail "$LAB_CASE: xfreerdp's log has no line matching /$re/ ($LAB_CASE_DIR/xfreerdp.log)"
        fi
    done
}
# lab_ipt_packets NS TABLE CHAIN ERE: the packet counter of the first rule of
# CHAIN whose `iptables -nvx -L` line matches ERE (empty when none does).
lab_ipt_packets() {
    lab_ns "$1" iptables -w -t "$2" -nvx -L "$3" | awk -v re="$4" 'NR > 2 && $0 ~ re { print $1; exit }'
}
# lab_ipt_expect NS TABLE CHAIN ERE MIN WHAT: that rule counted at least MIN packets.
lab_ipt_expect() {
    local n
    n=$(lab_ipt_packets "$1" "$2" "$3" "$4")
    LAB_CHECKS=$((LAB_CHECKS + 1))
    if [[ -n $n ]] && ((n >= $5)); then
        lab_log "fault check ok: $6: $n packet(s) (iptables -t $2 $3 /$4/)"
    else
        lab_fail "$LAB_CASE: $6: ${n:-no such rule} packet(s) counted by iptables -t $2 $3 /$4/, expected at least $5"
    fi
}
# lab_cert_expect NAME expired|valid: the certificate file is what the scenario needs.
lab_cert_expect() {
    LAB_CHECKS=$((LAB_CHECKS + 1))
    local now=valid
    openssl x509 -checkend 0 -noout -in "$LAB_CERTS/$1.pem" >/dev/null 2>&1 || now=expired
    if [[ $now == "$2" ]]; then
        lab_log "fault check ok: certificate $1 is $2 ($(openssl x509 -noout -enddate -in "$LAB_CERTS/$1.pem"))"
    else
        lab_fail "$LAB_CASE: certificate $1 is $now, the scenario needs it $2"
    fi
}

# ---------------------------------------------------------------- client
lab_xvfb() {
    [[ -z ${LAB_PID[xvfb]:-} ]] || return 0
    local ok=0
    # In the client ns; $! is Xvfb itself (ip netns exec execs it), a daemon named xvfb.
    rp_xvfb_start 140 199 "$LAB_WORK/xvfb.log" ip netns exec "$LAB_NS_CLIENT" || ok=1
    LAB_XVFB_DISPLAY=$RP_DISPLAY
    [[ -z $RP_XVFB_PID ]] || LAB_PID[xvfb]=$RP_XVFB_PID
    if ((ok != 0)); then
        cat "$LAB_WORK/xvfb.log" >&2
        lab_die "Xvfb :$LAB_XVFB_DISPLAY did not start"
    fi
    # One X client stays connected for the scenario: an X server resets when
    # its last client leaves and refuses connections meanwhile, so a shadow
    # server or an xfreerdp started just after another client left would fail
    # to open the display (tests/lib/x_hold.py).
    lab_daemon xhold "$LAB_NS_CLIENT" "" python3 "$LAB_DIR/../lib/x_hold.py" "$LAB_XVFB_DISPLAY" --hold
    lab_daemon_wait_line xhold '^connected' 10 && return 0
    cat "$LAB_WORK/xvfb.log" >&2
    lab_die "Xvfb :$LAB_XVFB_DISPLAY does not accept X clients"
}

lab_xfreerdp() { # SECONDS [ARGS...]
    local secs=$1 a has_v=0 has_u=0 home rc=0 envs=()
    shift
    while (($#)) && [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
        envs+=("$1")
        shift
    done
    for a in "$@"; do
        [[ $a == /v:* ]] && has_v=1
        [[ $a == /u:* ]] && has_u=1
    done
    local args=()
    ((has_v)) || args+=("/v:$LAB_IP_HOST")
    ((has_u)) || args+=("/u:$LAB_USER" "/p:$LAB_PASS")
    args+=("$@")
    lab_xvfb
    local d=${LAB_CASE_DIR:-$LAB_WORK}
    home=$(mktemp -d "$d/home.XXXXXX")
    lab_log "xfreerdp ${args[*]}"
    ip netns exec "$LAB_NS_CLIENT" env HOME="$home" XDG_CONFIG_HOME="$home/.config" DISPLAY=":$LAB_XVFB_DISPLAY" \
        "${envs[@]}" timeout -k 2 "$secs" xfreerdp "${args[@]}" </dev/null >"$d/xfreerdp.log" 2>&1 || rc=$?
    LAB_CLIENT_RC=$rc
    echo "$rc" >"$d/xfreerdp.rc"
    lab_log "xfreerdp exit status $rc"
}

# ---------------------------------------------------------------- verdicts
# lab_expect, lab_half_expect, lab_path_expect, lab_record_field
# shellcheck source=verdicts.sh
. "$LAB_DIR/verdicts.sh"
# lab_fix_*, lab_expect_fixed: the fixed re-runs, with the change from docs/causes.md
# shellcheck source=fixpage.sh
. "$LAB_DIR/fixpage.sh"

lab_finish() {
    lab_end
    local t
    t=$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$LAB_T0" "$(date +%s.%N)")
    if ((LAB_FAILS)); then
        lab_log "FAILED: $LAB_FAILS of $LAB_CHECKS check(s) in ${t}s"
        exit 1
    fi
    ((LAB_CHECKS)) || lab_die "no lab_expect was run"
    ((LAB_KNOWN == 0)) || lab_log "KNOWN WRONG: $LAB_KNOWN one-direction verdict(s) listed in tests/lab/known_wrong.tsv (not passed)"
    lab_log "passed: $LAB_CHECKS check(s) in ${t}s"
    exit 0
}
