#!/usr/bin/env bash
# rdp_e2e.sh BIN — FreeRDP (xfreerdp) → rdpwhy proxy → xrdp, for real, on
# 127.0.0.1 only.
#
#   1. tls_ok:   xrdp security_layer=tls (self-signed certificate), xfreerdp
#                /sec:tls /cert:ignore +auth-only, first directly (tcpdump on
#                lo records it), then through `BIN proxy --upstream`.
#                Asserts:
#                - xfreerdp's exit status through the proxy == direct (and the
#                  direct run succeeded: exit 0);
#                - exactly one JSON record: rdp.cookie == the cookie tshark
#                  sees in the direct capture (== the /u user name),
#                  rdp.requested_protocols ["ssl"], rdp.selected_protocol
#                  "ssl", tls.version and tls.cipher == the ServerHello of the
#                  direct capture (tshark), rdpwhy.cause normal_close,
#                  closed_by client, phase established, a numeric
#                  rdpwhy.proxy.connect_ms, no original destination (fixed
#                  mode), destination.port == xrdp's port;
#                - exactly one pcap file in --pcap-dir, mode 0600, its name
#                  carries the date and both ports; tshark dissects it as one
#                  TCP connection client → 127.0.0.1:PORT1 (the real server's
#                  port, not the proxy's) with SYN/SYN-ACK, the X.224
#                  Connection Request (cookie, RDP_NEG_REQ SSL) and Connection
#                  Confirm (RDP_NEG_RSP SSL), the TLS ClientHello and
#                  ServerHello with the same version and cipher, no TCP
#                  sequence anomalies (lost/out-of-order/retransmitted
#                  segments), and the first FIN/RST made by the same side and
#                  of the same kind as in the direct capture;
#                - `BIN replay --format json PCAP` gives one record with the
#                  same cause, closed_by, close_kind, phase, cookie,
#                  protocols, TLS version and cipher, and byte counts as the
#                  proxy's record.
#   2. cert_deny: xfreerdp /sec:tls /cert:deny with an empty HOME (nothing
#                trusted): exit status through the proxy == direct (non-zero);
#                record: certificate_rejected_by_client, phase tls_handshake,
#                closed_by client; replay of its pcap agrees.
#
# The proxy is used once its ready line is out and must exit 0 on SIGTERM
# with no sanitizer report on stderr; so must the replay of its pcap.
#
# Needs root (xrdp, tcpdump on lo); exits 77 (skip) otherwise. Fails when
# a tool is missing (xrdp freerdp2-x11 xvfb xauth tcpdump tshark openssl
# python3: scripts/setup.sh --test installs them). Environment: KEEP_WORK=1 keeps the scratch directory
# (logs, captures, records). Creates /etc/xrdp/rsakeys.ini with xrdp-keygen
# only if it is missing (as the xrdp package does). Runs in ~20 s.
set -euo pipefail

TEST_NAME=rdp_e2e
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$SCRIPT_DIR/common.sh"
# shellcheck source=../lib/rdp_peers.sh
. "$SCRIPT_DIR/../lib/rdp_peers.sh"

init_test "xrdp, tcpdump on lo" "$@"

need_tools xrdp:xrdp xfreerdp:freerdp2-x11 Xvfb:xvfb xauth:xauth tcpdump:tcpdump \
    tshark:tshark openssl:openssl python3:python3 timeout:coreutils

ADDR=127.0.0.1
read -r PORT1 PORT2 DEAD_PORT <<<"$(free_ports 3)"
CLIENT_USER=rdpwhy
CLIENT_PASS=rdpwhy-test-pw

WORK=$(mktemp -d /tmp/rdpwhy-proxy-e2e.XXXXXX)
chmod 755 "$WORK"
FAILED=1

on_exit_stop_all

# ------------------------------------------------------------------ X server
xvfb_ok=0
rp_xvfb_start 99 160 "$WORK/xvfb.log" || xvfb_ok=1
[[ -z $RP_XVFB_PID ]] || PIDS+=("$RP_XVFB_PID")
((xvfb_ok == 0)) || die "Xvfb failed: $(cat "$WORK/xvfb.log")"
export DISPLAY=:$RP_DISPLAY

# ------------------------------------------------------------ keys, certs
rp_xrdp_keys || die "xrdp-keygen failed"
CERTDIR=$WORK/certs
mkdir -p "$CERTDIR"
rp_cert "$CERTDIR" host "$ADDR" "IP:$ADDR" || die "cannot make the host certificate"

# ------------------------------------------------------------------ xrdp
# write_xrdp_ini DIR : security_layer=tls, TLSv1.2+1.3, our cert, a single
# session section pointing at a closed loopback port (no xrdp-sesman needed).
write_xrdp_ini() {
    rp_xrdp_ini "$1/xrdp.ini" "listen=$ADDR:$PORT1" security_layer=tls crypt_level=high \
        "certificate=$CERTDIR/host.pem" "key_file=$CERTDIR/host.key" "ssl_protocols=TLSv1.2, TLSv1.3" \
        tls_ciphers=HIGH "log=$1/xrdp.log" "dead_ip=$ADDR" "dead_port=$DEAD_PORT" ||
        die "cannot write $1/xrdp.ini"
}

XRDP_PID=
start_xrdp() { # start_xrdp DIR
    port_listening "$PORT1" && die "port $PORT1 taken before xrdp starts"
    write_xrdp_ini "$1"
    xrdp --nodaemon --config "$1/xrdp.ini" >"$1/xrdp.out" 2>&1 &
    XRDP_PID=$!
    PIDS+=("$XRDP_PID")
    wait_listening "$PORT1" "$XRDP_PID" ||
        die "xrdp did not start: $(tail -5 "$1/xrdp.out" "$1/xrdp.log" 2>/dev/null)"
}
stop_xrdp() {
    [[ -n $XRDP_PID ]] || return 0
    stop_pid "$XRDP_PID"
    forget_pid "$XRDP_PID"
    XRDP_PID=
}

TCPDUMP_PID=
start_capture() { # start_capture FILE FILTER
    local i logf=$1.log
    tcpdump -i lo -n -s 0 -U --immediate-mode -Z root -w "$1" "$2" >"$logf" 2>&1 &
    TCPDUMP_PID=$!
    PIDS+=("$TCPDUMP_PID")
    for ((i = 0; i < 100; i++)); do
        grep -q 'listening on' "$logf" 2>/dev/null && return 0
        kill -0 "$TCPDUMP_PID" 2>/dev/null || break
        sleep 0.05
    done
    die "tcpdump did not start: $(cat "$logf")"
}
stop_capture() {
    sleep 0.3
    kill -INT "$TCPDUMP_PID" 2>/dev/null || true
    stop_pid "$TCPDUMP_PID"
    forget_pid "$TCPDUMP_PID"
    TCPDUMP_PID=
}

# run_client DIR PORT ARGS... : xfreerdp with an empty private HOME (nothing
# trusted, nothing remembered), stdin closed; exit status in DIR/xfreerdp.rc
run_client() {
    local dir=$1 port=$2 rc=0
    shift 2
    mkdir -p "$dir/home"
    HOME=$dir/home XDG_CONFIG_HOME=$dir/home/.config \
        timeout -k 2 15 xfreerdp "/v:$ADDR:$port" "$@" </dev/null \
        >"$dir/xfreerdp.log" 2>&1 || rc=$?
    echo "$rc" >"$dir/xfreerdp.rc"
}

PROXY_PID=
start_proxy() { # start_proxy DIR
    mkdir -p "$1/pcap"
    port_listening "$PORT2" && die "port $PORT2 taken before the proxy starts"
    "$BIN" proxy --listen "$ADDR:$PORT2" --upstream "$ADDR:$PORT1" \
        --format json --output "$1/records.json" --pcap-dir "$1/pcap" \
        --set connect_timeout=3s --set x224_timeout=5s -v -v \
        >"$1/proxy.stdout" 2>"$1/proxy.stderr" &
    PROXY_PID=$!
    PIDS+=("$PROXY_PID")
    rw_wait_ready "$1/proxy.stderr" "$PROXY_PID" || {
        show_file "proxy stderr" "$1/proxy.stderr"
        die "rdpwhy proxy did not get ready on $ADDR:$PORT2"
    }
}

# ------------------------------------------------------------------ scenarios
# direct NAME ARGS... : xrdp + tcpdump + xfreerdp to xrdp's port
direct() {
    local d=$WORK/$1
    shift
    mkdir -p "$d"
    start_xrdp "$d"
    start_capture "$d/direct.pcap" "tcp port $PORT1 and host $ADDR"
    run_client "$d" "$PORT1" "$@"
    sleep 1.5 # the server's reaction to the client's close
    stop_capture
    stop_xrdp
    log "$(basename "$d") direct: xfreerdp exit status $(cat "$d/xfreerdp.rc")"
}

# proxied NAME ARGS... : xrdp + rdpwhy proxy + xfreerdp to the proxy's port.
# tcpdump records both legs on lo (for diagnosis only).
proxied() {
    local d=$WORK/$1 rc
    shift
    mkdir -p "$d"
    start_xrdp "$d"
    start_proxy "$d"
    start_capture "$d/wire.pcap" "host $ADDR and (tcp port $PORT1 or tcp port $PORT2)"
    run_client "$d" "$PORT2" "$@"
    # The record is written when both legs are closed.
    wait_lines "$d/records.json" 1 12 || log "$(basename "$d"): no record 12 s after the client exited; stopping the proxy"
    stop_capture
    stop_proxy "$PROXY_PID" 20 "$d/proxy.stderr"
    rc=$STOP_RC
    PROXY_PID=
    echo "$rc" >"$d/proxy.rc"
    stop_xrdp
    log "$(basename "$d") proxied: xfreerdp exit status $(cat "$d/xfreerdp.rc"), proxy exit status $rc"
}

dump_logs() { # dump_logs NAME
    local d=$WORK/$1
    show_file "$1: proxy stderr (-v -v)" "$d/proxy.stderr" 80
    show_file "$1: proxy records" "$d/records.json" 10
    show_file "$1: xfreerdp (through the proxy)" "$d/xfreerdp.log" 25
    show_file "$1: xrdp log (through the proxy)" "$d/xrdp.log" 25
}

# ------------------------------------------------------------------ checks
# check NAME KIND : compare the proxied run with the direct one (Python).
check() {
    local name=$1 kind=$2
    RW_TESTS_LIB=$SCRIPT_DIR/../lib python3 - "$WORK/$name" "$WORK/${name}_direct" "$kind" "$BIN" "$PORT1" "$CLIENT_USER" <<'PY' || { dump_logs "$name"; die "$name: see the failures above"; }
import glob, json, os, re, stat, subprocess, sys
sys.path.insert(0, os.environ["RW_TESTS_LIB"])
from records import loads  # tests/lib: a record by dotted names, nested or flat
import xml.etree.ElementTree as ET

d, dd, kind, BIN, PORT1, USER = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
name = os.path.basename(d)
fails = []

def fail(msg):
    fails.append(msg)
    print("  FAIL %s: %s" % (name, msg), file=sys.stderr)

def ok(msg):
    print("  ok   %s: %s" % (name, msg), file=sys.stderr)

def expect(cond, msg):
    (ok if cond else fail)(msg)
    return cond

def tshark(args):
    p = subprocess.run(["tshark", "-n"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        fail("tshark %s failed: %s" % (" ".join(args), p.stderr.strip()))
        return ""
    return p.stdout

TLS_VERSIONS = {0x0301: "1.0", 0x0302: "1.1", 0x0303: "1.2", 0x0304: "1.3"}

def facts(pcap):
    """What Wireshark's dissectors see in a capture of one RDP connection."""
    f = {}
    # TCP: handshake, endpoints, first FIN/RST, sequence anomalies.
    out = tshark(["-r", pcap, "-T", "fields", "-E", "separator=|", "-e", "frame.number",
                  "-e", "ip.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "tcp.dstport",
                  "-e", "tcp.flags.syn", "-e", "tcp.flags.ack", "-e", "tcp.flags.fin",
                  "-e", "tcp.flags.reset", "-e", "tcp.stream"])
    rows = [l.split("|") for l in out.splitlines() if l]
    f["frames"] = len(rows)
    f["streams"] = len({r[9] for r in rows})
    syn = [r for r in rows if r[5] in ("1", "True") and r[6] in ("0", "False")]
    synack = [r for r in rows if r[5] in ("1", "True") and r[6] in ("1", "True")]
    f["syn"] = len(syn)
    f["synack"] = len(synack)
    if syn:
        f["client"] = (syn[0][1], int(syn[0][2]))
        f["server"] = (syn[0][3], int(syn[0][4]))
    closes = [r for r in rows if r[7] in ("1", "True") or r[8] in ("1", "True")]
    if closes and syn:
        c = closes[0]
        side = "client" if (c[1], int(c[2])) == f["client"] else "server"
        f["first_close"] = side + " " + ("rst" if c[8] in ("1", "True") else "fin")
    else:
        f["first_close"] = "none"
    anomalies = tshark(["-r", pcap, "-Y",
                        "tcp.analysis.lost_segment or tcp.analysis.ack_lost_segment or "
                        "tcp.analysis.out_of_order or tcp.analysis.retransmission or "
                        "tcp.analysis.fast_retransmission or tcp.analysis.spurious_retransmission", "-T", "fields", "-e", "frame.number",
                        "-e", "_ws.expert.message"])
    f["tcp_anomalies"] = [l for l in anomalies.splitlines() if l]
    port = f.get("server", ("", PORT1))[1]
    # X.224 / RDP negotiation (TPKT on the server's port).
    out = tshark(["-r", pcap, "-d", "tcp.port==%d,tpkt" % port, "-Y", "cotp.type == 0x0e or cotp.type == 0x0d",
                  "-T", "fields", "-E", "separator=|", "-e", "cotp.type", "-e", "rdp.rt_cookie",
                  "-e", "rdp.neg_type", "-e", "rdp.negReq.requestedProtocols", "-e", "rdp.negReq.selectedProtocol"])
    f["cr"], f["cc"] = [], []
    for l in out.splitlines():
        t, cookie, neg, req, sel = (l.split("|") + [""] * 5)[:5]
        if int(t, 0) == 0x0e:
            ck = cookie.strip()
            ck = re.sub(r"(?i)^cookie:\s*", "", ck)
            ck = re.sub(r"(?i)^mstshash=", "", ck)
            f["cr"].append({"cookie": ck, "neg_type": int(neg, 0) if neg else None, "requested": int(req, 0) if req else None})
        else:
            f["cc"].append({"neg_type": int(neg, 0) if neg else None, "selected": int(sel, 0) if sel else None})
    # TLS handshake (TLS on the server's port).
    xml = tshark(["-r", pcap, "-d", "tcp.port==%d,tls" % port, "-Y", "tls.handshake.type == 1 or tls.handshake.type == 2",
                  "-T", "pdml"])
    f["client_hello"] = f["server_hello"] = 0
    f["tls_version"] = f["tls_cipher"] = None
    if xml:
        for pkt in ET.fromstring(xml).iter("packet"):
            for hs in pkt.iter("field"):
                if hs.get("name") != "tls.handshake":
                    continue
                types = [x.get("show") for x in hs.iter("field") if x.get("name") == "tls.handshake.type"]
                if "1" in types:
                    f["client_hello"] += 1
                if "2" in types:
                    f["server_hello"] += 1
                    ver = sup = None
                    for x in hs.iter("field"):
                        n = x.get("name")
                        if n == "tls.handshake.version" and ver is None:
                            ver = int(x.get("show"), 0)
                        elif n == "tls.handshake.extensions.supported_version":
                            sup = int(x.get("show"), 0)
                        elif n == "tls.handshake.ciphersuite" and f["tls_cipher"] is None:
                            m = re.search(r"Cipher Suite:\s*(\S+)\s*\(", x.get("showname") or "")
                            f["tls_cipher"] = m.group(1) if m else x.get("show")
                    f["tls_version"] = TLS_VERSIONS.get(sup or ver, hex(sup or ver or 0))
    return f

def records(path):
    try:
        with open(path) as fh:
            return [loads(l) for l in fh if l.strip()]
    except (OSError, ValueError) as e:
        fail("cannot read JSON records from %s: %s" % (path, e))
        return []

# ---- exit statuses
rc_direct = open(os.path.join(dd, "xfreerdp.rc")).read().strip()
rc_proxy = open(os.path.join(d, "xfreerdp.rc")).read().strip()
if kind == "tls_ok":
    if rc_direct != "0":
        fail("precondition: the direct xfreerdp run failed (exit %s): the environment, not the proxy, is broken; see %s/xfreerdp.log" % (rc_direct, dd))
else:
    if rc_direct == "0":
        fail("precondition: the direct /cert:deny run succeeded (exit 0); it must be refused")
if rc_direct in ("124", "137"):
    fail("precondition: the direct xfreerdp run was stopped by timeout(1) (exit %s) instead of exiting by itself" % rc_direct)
expect(rc_proxy == rc_direct, "xfreerdp exit status through the proxy (%s) == direct (%s)" % (rc_proxy, rc_direct))
prc = open(os.path.join(d, "proxy.rc")).read().strip()
expect(prc == "0", "rdpwhy proxy exits 0 after SIGTERM, no sanitizer report (got %s)" % prc)

# ---- ground truth: tshark on the direct capture
fd = facts(os.path.join(dd, "direct.pcap"))
if not (fd["cr"] and fd["server_hello"]):
    fail("precondition: tshark finds no X.224 CR / ServerHello in the direct capture %s" % fd)
want_cookie = fd["cr"][0]["cookie"] if fd["cr"] else None
want_version, want_cipher = fd["tls_version"], fd["tls_cipher"]
expect(want_cookie == USER, "direct capture: xfreerdp sent cookie mstshash=%r (the /u user name %r)" % (want_cookie, USER))
print("  info %s: direct connection negotiated TLS %s %s, first close %s" % (name, want_version, want_cipher, fd["first_close"]), file=sys.stderr)

# ---- the proxy's record
recs = records(os.path.join(d, "records.json"))
if not expect(len(recs) == 1, "exactly one record from the proxy (got %d)" % len(recs)) or not recs:
    sys.exit(1)
r = recs[0]
def field(k, want):
    expect(r.get(k) == want, "record %s == %r (got %r)" % (k, want, r.get(k)))
if kind == "tls_ok":
    field("rdpwhy.cause", "normal_close")
    field("rdpwhy.phase", "established")
else:
    field("rdpwhy.cause", "certificate_rejected_by_client")
    field("rdpwhy.phase", "tls_handshake")
field("rdpwhy.closed_by", "client")
field("rdp.cookie", want_cookie)
field("rdp.requested_protocols", ["ssl"])
field("rdp.selected_protocol", "ssl")
field("tls.version", want_version)
field("tls.cipher", want_cipher)
field("destination.port", PORT1)
field("destination.ip", "127.0.0.1")
field("source.ip", "127.0.0.1")
cm = r.get("rdpwhy.proxy.connect_ms")
expect(isinstance(cm, (int, float)) and 0 <= cm < 3000, "record rdpwhy.proxy.connect_ms is a number of ms (got %r)" % cm)
expect(not any(k.startswith("rdpwhy.original_destination") for k in r),
       "no rdpwhy.original_destination.* in fixed-upstream mode")

# ---- the pcap the proxy wrote
files = sorted(glob.glob(os.path.join(d, "pcap", "*")))
if not expect(len(files) == 1, "exactly one file in --pcap-dir (got %s)" % [os.path.basename(x) for x in files]):
    sys.exit(1)
pcap = files[0]
st = os.stat(pcap)
expect(stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600,
       "pcap is a regular file with mode 0600 (got %o)" % stat.S_IMODE(st.st_mode))
fp = facts(pcap)
base = os.path.basename(pcap)
expect(fp["streams"] == 1 and fp["syn"] == 1 and fp["synack"] == 1,
       "pcap holds one TCP connection with its SYN and SYN-ACK (streams %d, SYN %d, SYN-ACK %d)" % (fp["streams"], fp["syn"], fp["synack"]))
expect(fp.get("server") == ("127.0.0.1", PORT1),
       "pcap server endpoint is the real server 127.0.0.1:%d (got %s)" % (PORT1, fp.get("server")))
if "client" in fp:
    expect(fp["client"][0] == "127.0.0.1" and fp["client"][1] == r.get("source.port"),
           "pcap client endpoint 127.0.0.1:%s == record source.port %s" % (fp["client"][1], r.get("source.port")))
    expect(re.search(r"20\d\d[01]\d[0-3]\d", base) is not None and str(PORT1) in base and str(fp["client"][1]) in base,
           "pcap file name %r carries the date and both ports" % base)
expect(len(fp["cr"]) == 1 and fp["cr"][0]["neg_type"] == 1 and fp["cr"][0]["requested"] == 1 and fp["cr"][0]["cookie"] == want_cookie,
       "tshark -d tcp.port==%d,tpkt: X.224 Connection Request with RDP_NEG_REQ requestedProtocols=SSL, cookie %r (got %s)" % (PORT1, want_cookie, fp["cr"]))
expect(len(fp["cc"]) == 1 and fp["cc"][0]["neg_type"] == 2 and fp["cc"][0]["selected"] == 1,
       "tshark -d tcp.port==%d,tpkt: X.224 Connection Confirm with RDP_NEG_RSP selectedProtocol=SSL (got %s)" % (PORT1, fp["cc"]))
expect(fp["client_hello"] == 1 and fp["server_hello"] == 1,
       "tshark -d tcp.port==%d,tls: one ClientHello (type 1) and one ServerHello (type 2) (got %d, %d)" % (PORT1, fp["client_hello"], fp["server_hello"]))
expect((fp["tls_version"], fp["tls_cipher"]) == (want_version, want_cipher),
       "pcap ServerHello: TLS %s %s == direct (%s %s)" % (fp["tls_version"], fp["tls_cipher"], want_version, want_cipher))
expect(not fp["tcp_anomalies"], "tshark finds no TCP sequence anomalies in the pcap (got %s)" % fp["tcp_anomalies"][:5])
expect(fp["first_close"] == fd["first_close"],
       "pcap first FIN/RST is '%s', as on the wire in the direct run ('%s')" % (fp["first_close"], fd["first_close"]))

# ---- replay of the proxy's pcap
sys.path.insert(0, os.environ["RW_TESTS_LIB"])
from rdpwhy_run import sanitizer_report  # noqa: E402
p = subprocess.run([BIN, "replay", "--format", "json", pcap], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
if not expect(p.returncode == 0 and not sanitizer_report(p.stderr),
              "rdpwhy replay of the pcap exits 0, no sanitizer report (got %d: %s)" % (p.returncode, p.stderr.strip()[-2000:])):
    sys.exit(1)
rr = [loads(l) for l in p.stdout.splitlines() if l.strip()]
if expect(len(rr) == 1, "replay of the pcap gives one record (got %d)" % len(rr)):
    for k in ("rdpwhy.cause", "rdpwhy.closed_by", "rdpwhy.close_kind", "rdpwhy.phase", "rdp.cookie",
              "rdp.requested_protocols", "rdp.selected_protocol", "tls.version", "tls.cipher",
              "source.bytes", "destination.bytes", "source.port", "destination.port"):
        expect(rr[0].get(k) == r.get(k), "replay %s == proxy record (%r vs %r)" % (k, rr[0].get(k), r.get(k)))

if fails:
    print("%s: %d check(s) failed" % (name, len(fails)), file=sys.stderr)
    sys.exit(1)
print("%s: all checks passed" % name, file=sys.stderr)
PY
}

# ------------------------------------------------------------------ run
CLIENT_ARGS=("/u:$CLIENT_USER" "/p:$CLIENT_PASS" /sec:tls +auth-only)
direct tls_ok_direct "${CLIENT_ARGS[@]}" /cert:ignore
proxied tls_ok "${CLIENT_ARGS[@]}" /cert:ignore
check tls_ok tls_ok

direct cert_deny_direct "${CLIENT_ARGS[@]}" /cert:deny
proxied cert_deny "${CLIENT_ARGS[@]}" /cert:deny
check cert_deny cert_deny

FAILED=0
log "PASS: xfreerdp through rdpwhy proxy behaves as direct; records and pcaps check out"
