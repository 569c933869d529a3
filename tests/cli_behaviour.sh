#!/bin/bash
# cli_behaviour.sh BIN DATA_DIR — the CLI behaviours no other test checks
# (issue #16), each assertion able to fail:
#   1. replay's exit status when a record cannot be written (/dev/full, a
#      directory that does not exist, a read-only one, a disk that fills up)
#      and when it can;
#   2. --max-flows: the least recently active connection is reported early;
#   3. --idle-timeout: an idle connection is reported and forgotten;
#   4. capture (live, loopback, root): --no-promisc, -s SNAPLEN, the stop
#      report on SIGINT/SIGTERM, --idle-timeout live, the kernel-drop warning;
#   5. --expected-cert on the SSLsplit capture, and bad values;
#   6. the text report's lines (head, cause, fix, timeline, rdp, tls, cert,
#      evidence, bytes) rebuilt from tshark and openssl, for each verdict the
#      other parts use.
# Captures for 2 and 3 are cut and moved from the committed ones with
# cli_behaviour/pcaptool.py and merged with mergecap; what rdpwhy must say
# follows from how they were built. Prints ok/FAIL per check; exit 1 when
# any failed. Without root the live part cannot run: exit 77 (skipped) when
# everything else passed.
set -euo pipefail

bin=${1:?usage: cli_behaviour.sh BIN DATA_DIR}
data=${2:?usage: cli_behaviour.sh BIN DATA_DIR}
here=$(cd "$(dirname "$0")" && pwd)
helpers=$here/cli_behaviour
# shellcheck source=tests/lib/rdpwhy_run.sh
source "$here/lib/rdpwhy_run.sh"
export PYTHONPATH=$helpers${PYTHONPATH:+:$PYTHONPATH}
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the source tree

for tool in python3 tshark mergecap openssl; do
    command -v "$tool" >/dev/null || { echo "FAIL cli_behaviour: $tool not found (scripts/setup.sh --test)"; exit 1; }
done

tmp=$(mktemp -d)
pids=()
veth=""
# The background processes this script started and has not waited for yet:
# only those are signalled on the way out (never by name).
cleanup() {
    local p
    for p in "${pids[@]}"; do
        [[ -n $p ]] || continue
        kill -CONT "$p" 2>/dev/null || true
        kill -TERM "$p" 2>/dev/null || true
    done
    [[ -n $veth ]] && ip link del "$veth" 2>/dev/null || true
    chmod -R u+w "$tmp" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
reaped() { # PID: waited for, no longer ours to signal
    local i
    for i in "${!pids[@]}"; do [[ ${pids[$i]} == "$1" ]] && unset "pids[$i]"; done
    return 0
}

fails=0
ok() { echo "ok $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
# expect_run NAME WANT_RC OUT ERR CMD...: rw_run, reported as ok/FAIL.
expect_run() {
    local name=$1
    shift
    if rw_run "$@"; then ok "$name: exit status $1"; else fail "$name"; return 1; fi
}
# grep_in NAME FILE ERE: FILE has a line matching ERE.
grep_in() {
    if grep -aqE -- "$3" "$2"; then ok "$1"; else
        fail "$1: no /$3/ in $(basename "$2")"
        sed 's/^/    /' "$2" | tail -n 5
    fi
}
# grep_not NAME FILE ERE: no line of FILE matches ERE.
grep_not() {
    if grep -aqE -- "$3" "$2"; then
        fail "$1: /$3/ in $(basename "$2")"
        grep -aE -- "$3" "$2" | sed 's/^/    /' | head -n 3
    else ok "$1"; fi
}
# py NAME SCRIPT-ON-STDIN ARGS...: a Python check block (expect.py).
py() {
    local name=$1
    shift
    if ! python3 - "$@"; then fail "$name (see the FAIL lines above)"; fi
}

root=0
[[ $(id -u) -eq 0 ]] && root=1
pcaptool() { python3 "$helpers/pcaptool.py" "$@"; }

# ---------------------------------------------------------------------------
# 1. replay: a record that cannot be written is exit 1 and a message.
echo "# 1. replay output errors"
f=$data/tls_ok.pcap
expect_run "replay -o /dev/full" 1 "$tmp/out" "$tmp/err" "$bin" replay -o /dev/full "$f" &&
    grep_in "replay -o /dev/full: stderr names the output and the error" "$tmp/err" \
        '/dev/full.*No space left on device'
expect_run "replay >/dev/full" 1 /dev/full "$tmp/err" "$bin" replay "$f" &&
    grep_in "replay >/dev/full: stderr says the output could not be written" "$tmp/err" \
        '^rdpwhy replay: cannot write the output$'
expect_run "replay -o DIR-THAT-DOES-NOT-EXIST/x" 1 "$tmp/out" "$tmp/err" \
    "$bin" replay -o "$tmp/no/such/dir/x.json" "$f" &&
    grep_in "replay -o missing dir: stderr names the path and the error" "$tmp/err" \
        "$tmp/no/such/dir/x.json.*No such file or directory"
[[ ! -e $tmp/no ]] && ok "replay -o missing dir: nothing created" || fail "replay -o missing dir: $tmp/no created"

# A capture taken with a small snapshot length: replay says packets were cut.
if editcap -s 128 "$data/cert_expired_tls12.pcap" "$tmp/cut128.pcap" 2>/dev/null; then
    expect_run "replay of a capture cut at 128 bytes" 0 "$tmp/out" "$tmp/err" "$bin" replay "$tmp/cut128.pcap" &&
        grep_in "replay of a cut capture: stderr warns that packets were cut" "$tmp/err" \
            "^rdpwhy replay: warning: [0-9]+ packets were cut by the capture's snapshot length"
    expect_run "replay of a whole capture" 0 "$tmp/out" "$tmp/err" "$bin" replay "$data/cert_expired_tls12.pcap" &&
        grep_not "replay of a whole capture: no snaplen warning" "$tmp/err" "snapshot length"
else
    fail "editcap (wireshark-common) is missing: scripts/setup.sh --test installs tshark with it"
fi

mkdir -p "$tmp/ro"
if ((root)); then
    # root writes through file modes: a read-only tmpfs in a private mount
    # namespace is a read-only directory for root too.
    if unshare -m true 2>/dev/null; then
        expect_run "replay -o READ-ONLY-DIR/x" 1 "$tmp/out" "$tmp/err" unshare -m sh -c \
            'mount -t tmpfs -o ro tmpfs "$1" && exec "$2" replay -o "$1/x.json" "$3"' \
            sh "$tmp/ro" "$bin" "$f" &&
            grep_in "replay -o read-only dir: stderr names the path and the error" "$tmp/err" \
                "$tmp/ro/x.json.*Read-only file system"
        # A disk that fills up in the middle: a 4 KiB tmpfs, ~25 KB of records.
        expect_run "replay -o FILE on a disk that fills up" 1 "$tmp/out" "$tmp/err" unshare -m sh -c \
            'mount -t tmpfs -o size=16k tmpfs "$1" && "$2" replay --format json -o "$1/x.json" "$3"/*.pcap; rc=$?; wc -c <"$1/x.json" >"$4"; cp "$1/x.json" "$4.json"; exit $rc' \
            sh "$tmp/ro" "$bin" "$data" "$tmp/full.size" &&
            grep_in "replay -o full disk: stderr says records were not written" "$tmp/err" \
                "$tmp/ro/x.json.*not written.*No space left on device"
        grep_in "replay -o full disk: stderr says the output could not be written" "$tmp/err" \
            'rdpwhy replay: cannot write the output'
        [[ $(cat "$tmp/full.size" 2>/dev/null) -le 16384 ]] && ok "replay -o full disk: the file is the disk's 16 KiB at most" ||
            fail "replay -o full disk: file size $(cat "$tmp/full.size" 2>/dev/null)"
        # What is in the file are whole records: a shipper tailing it never
        # reads half a line (a failed batch is cut back to its last newline).
        python3 -c '
import json, sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
assert lines[-1] == b"", "the file ends inside a record"
for l in lines[:-1]:
    json.loads(l)
assert len(lines) > 1, "no record kept at all"
' "$tmp/full.size.json" && ok "replay -o full disk: the file holds whole JSON records only" ||
            fail "replay -o full disk: a half-written record in the file"
    else
        fail "replay -o read-only dir: unshare -m does not work here (needed as root)"
    fi
else
    chmod 555 "$tmp/ro"
    expect_run "replay -o READ-ONLY-DIR/x" 1 "$tmp/out" "$tmp/err" "$bin" replay -o "$tmp/ro/x.json" "$f" &&
        grep_in "replay -o read-only dir: stderr names the path and the error" "$tmp/err" \
            "$tmp/ro/x.json.*Permission denied"
fi

# Writable outputs: exit 0, and the file holds exactly what stdout gets.
expect_run "replay --format json (stdout)" 0 "$tmp/stdout.json" "$tmp/err" \
    "$bin" replay --format json "$data"/*.pcap
expect_run "replay -o FILE" 0 "$tmp/out" "$tmp/err" \
    "$bin" replay --format json -o "$tmp/file.json" "$data"/*.pcap
[[ ! -s $tmp/out ]] && ok "replay -o FILE: nothing on stdout" || fail "replay -o FILE: stdout not empty"
grep_not "replay -o FILE: no error on stderr" "$tmp/err" 'error|not written|cannot'
cmp -s "$tmp/stdout.json" "$tmp/file.json" && ok "replay -o FILE: the file equals the stdout run" ||
    fail "replay -o FILE: the file differs from the stdout run"
expect_run "replay -o - -o FILE" 0 "$tmp/both.out" "$tmp/err" \
    "$bin" replay --format json -o - -o "$tmp/both.json" "$data"/*.pcap
cmp -s "$tmp/stdout.json" "$tmp/both.out" && cmp -s "$tmp/stdout.json" "$tmp/both.json" &&
    ok "replay -o - -o FILE: both get every record" || fail "replay -o - -o FILE: outputs differ"
[[ -s $tmp/stdout.json ]] && ok "replay: records on stdout" || fail "replay: no record on stdout"

# ---------------------------------------------------------------------------
# 2. --max-flows. The plan (seconds after T0; each piece keeps its own timing):
#   A1 tls_ok.pcap 1-5 (SYN .. X.224 request)          at 0.0
#   D  sec_refused_tls_required.pcap (whole, closed)  at 0.5  -> done by 0.012
#   B  cert_rejected_tls12.pcap 1-5 (SYN .. request)   at 1.0
#   A2 tls_ok.pcap 6-7 (Connection Confirm, ACK)       at 2.0
#   C  port_closed.pcap (SYN, RST)                      at 3.0
# At 3.0 A and B are open, D is over; B is the least recently active (A had
# packets at 2.0), A the oldest. --max-flows 2: D's finished entry goes when
# B arrives, B is reported early when C arrives (before C's own record); A is
# reported at the end. --max-flows 3: room for A, B and D's leftover: when C
# arrives D's finished entry goes (it is no connection), nothing is reported
# early.
echo "# 2. --max-flows"
T0=$(pcaptool first "$data/tls_ok.pcap")
T0=${T0%.*}
pcaptool slice "$data/tls_ok.pcap" "$tmp/A1.pcap" 1-5 "$T0.0"
pcaptool slice "$data/sec_refused_tls_required.pcap" "$tmp/D.pcap" '1-$' "$T0.5"
pcaptool slice "$data/cert_rejected_tls12.pcap" "$tmp/B.pcap" 1-5 "$((T0 + 1)).0"
pcaptool slice "$data/tls_ok.pcap" "$tmp/A2.pcap" 6-7 "$((T0 + 2)).0"
pcaptool slice "$data/port_closed.pcap" "$tmp/C.pcap" '1-$' "$((T0 + 3)).0"
mergecap -F pcap -w "$tmp/maxflows.pcap" "$tmp"/{A1,D,B,A2,C}.pcap
for n in 2 3; do
    expect_run "replay --max-flows $n" 0 "$tmp/mf$n.json" "$tmp/mf$n.err" \
        "$bin" replay --format json --max-flows "$n" "$tmp/maxflows.pcap" || true
done
grep_in "--max-flows 2: stderr counts 1 connection reported early" "$tmp/mf2.err" \
    ' 1 connections reported early \(flow table full\)'
grep_not "--max-flows 3: nothing reported early on stderr" "$tmp/mf3.err" 'reported early'
py "--max-flows records" "$tmp" <<'PY'
import sys
from expect import *
tmp = sys.argv[1]
port = {k: int(tshark(f"{tmp}/{k}.pcap", ["tcp.srcport"], "tcp.flags.syn==1 && tcp.flags.ack==0")[0][0])
        for k in ("A1", "B", "C", "D")}
last_b = iso(frames(f"{tmp}/B.pcap")[-1][0])
FULL = "flow table was full"
for n in (2, 3):
    recs = load(f"{tmp}/mf{n}.json")
    by = {r["source.port"]: r for r in recs}
    check(f"--max-flows {n}: 4 records, one per connection", len(recs) == 4 and
          sorted(by) == sorted(port.values()), [(r["source.port"], r["rdpwhy.cause"]) for r in recs])
    if len(by) != 4 or sorted(by) != sorted(port.values()):
        continue
    a, b, c, d = (by[port[k]] for k in ("A1", "B", "C", "D"))
    check(f"--max-flows {n}: D closed normally before the table filled",
          d["rdpwhy.cause"] == "security_negotiation_failure" and d["rdpwhy.closed_by"] == "client", d)
    check(f"--max-flows {n}: C refused", c["rdpwhy.cause"] == "upstream_refused", c)
    check(f"--max-flows {n}: A still open at the end of the capture, not evicted",
          a["rdpwhy.cause"] == "still_open" and a["rdpwhy.closed_by"] == "none"
          and evidence_has(a, "end of the capture") and not evidence_has(a, FULL)
          and a.get("rdp.cookie") == "rdpwhy", a.get("rdpwhy.evidence"))
    evicted = [r["source.port"] for r in recs if evidence_has(r, FULL)]
    if n == 2:
        check("--max-flows 2: exactly B (least recently active, not the oldest A) reported early",
              evicted == [port["B"]], f"evicted {evicted}, B={port['B']} A={port['A1']}")
        check("--max-flows 2: B's record is still_open, closed_by none, in x224",
              (b["rdpwhy.cause"], b["rdpwhy.closed_by"], b["rdpwhy.phase"]) == ("still_open", "none", "x224"),
              (b["rdpwhy.cause"], b["rdpwhy.closed_by"], b["rdpwhy.phase"]))
        check("--max-flows 2: B's record ends at B's last packet", b["event.end"] == last_b,
              (b["event.end"], last_b))
        order = [r["source.port"] for r in recs]
        check("--max-flows 2: B reported when C arrived (before C's record), A at the end",
              order.index(port["B"]) < order.index(port["C"]) < order.index(port["A1"]), order)
    else:
        check("--max-flows 3: nothing reported early (a finished connection's entry goes first)",
              evicted == [], evicted)
        check("--max-flows 3: B still open at the end of the capture",
              b["rdpwhy.cause"] == "still_open" and evidence_has(b, "end of the capture"), b.get("rdpwhy.evidence"))
done()
PY
expect_run "replay --max-flows 0 (usage error)" 2 "$tmp/out" "$tmp/err" "$bin" replay --max-flows 0 "$tmp/maxflows.pcap" &&
    grep_in "--max-flows 0: message" "$tmp/err" 'bad --max-flows'

# ---------------------------------------------------------------------------
# 3. --idle-timeout. tls_ok.pcap cut after frame 68 (the session established,
# before the client's close): frames 69-74 (client record, FINs, the server's
# last record, RST) moved 20 s later. A timeout of 10 s reports the connection
# idle with what it had and forgets it: the later packets, which carry
# payload on port 3389, are a new connection seen mid-stream. 60 s: one
# record, the normal close. x224_no_response.pcap has a 5.2 s silence after
# the request, then only a keep-alive, a FIN and ACKs (no payload): with 2 s
# the connection is reported idle and what follows is no connection at all.
echo "# 3. --idle-timeout"
pcaptool slice "$data/tls_ok.pcap" "$tmp/I1.pcap" 1-68 "$T0.0"
pcaptool slice "$data/tls_ok.pcap" "$tmp/I2.pcap" '69-$' "$((T0 + 20)).0"
mergecap -F pcap -w "$tmp/idle.pcap" "$tmp/I1.pcap" "$tmp/I2.pcap"
for t in 10 60; do
    expect_run "replay --idle-timeout $t (20 s silence)" 0 "$tmp/idle$t.json" "$tmp/err" \
        "$bin" replay --format json --idle-timeout "$t" "$tmp/idle.pcap" || true
done
expect_run "replay (default idle timeout, 20 s silence)" 0 "$tmp/idledef.json" "$tmp/err" \
    "$bin" replay --format json "$tmp/idle.pcap" || true
for t in 2 30; do
    expect_run "replay --idle-timeout $t x224_no_response.pcap" 0 "$tmp/x224_$t.json" "$tmp/err" \
        "$bin" replay --format json --idle-timeout "$t" "$data/x224_no_response.pcap" || true
done
py "--idle-timeout records" "$tmp" "$data" <<'PY'
import sys
from expect import *
tmp, data = sys.argv[1:3]
cport = int(tshark(f"{tmp}/I1.pcap", ["tcp.srcport"], "tcp.flags.syn==1 && tcp.flags.ack==0")[0][0])
i1, i2 = frames(f"{tmp}/I1.pcap"), frames(f"{tmp}/I2.pcap")
c1, s1 = payload_bytes(f"{tmp}/I1.pcap", cport), payload_bytes(f"{tmp}/I1.pcap", 3389)
c2, s2 = payload_bytes(f"{tmp}/I2.pcap", cport), payload_bytes(f"{tmp}/I2.pcap", 3389)
IDLE = "idle timeout"

recs = load(f"{tmp}/idle10.json")
if check("--idle-timeout 10: two records (idle one, then the later packets as a new one)",
         len(recs) == 2, [(r["rdpwhy.cause"], r["event.start"]) for r in recs]):
    r1, r2 = recs
    check("--idle-timeout 10: first record still_open, closed_by none, in established",
          (r1["rdpwhy.cause"], r1["rdpwhy.closed_by"], r1["rdpwhy.phase"]) == ("still_open", "none", "established"),
          (r1["rdpwhy.cause"], r1["rdpwhy.closed_by"], r1["rdpwhy.phase"]))
    check("--idle-timeout 10: its evidence says idle timeout", evidence_has(r1, IDLE), r1["rdpwhy.evidence"])
    check("--idle-timeout 10: it ends at the last packet before the silence",
          r1["event.end"] == iso(i1[-1][0]), (r1["event.end"], iso(i1[-1][0])))
    check("--idle-timeout 10: it holds the bytes before the silence only",
          (r1["source.bytes"], r1["destination.bytes"]) == (c1, s1),
          ((r1["source.bytes"], r1["destination.bytes"]), (c1, s1)))
    check("--idle-timeout 10: it has the cookie", r1.get("rdp.cookie") == "rdpwhy", r1.get("rdp.cookie"))
    check("--idle-timeout 10: the later packets are another record (other id, same 4-tuple)",
          r2["event.id"] != r1["event.id"] and r2["source.port"] == cport and r2["destination.port"] == 3389,
          (r1["event.id"], r2["event.id"], r2["source.port"]))
    check("--idle-timeout 10: the new record starts at the first later packet, mid-connection",
          r2["event.start"] == iso(i2[0][0]) and r2.get("rdpwhy.midstream") is True and "rdp.cookie" not in r2,
          (r2["event.start"], iso(i2[0][0]), r2.get("rdpwhy.midstream")))
    check("--idle-timeout 10: the new record holds the later bytes only",
          (r2["source.bytes"], r2["destination.bytes"]) == (c2, s2),
          ((r2["source.bytes"], r2["destination.bytes"]), (c2, s2)))
    check("--idle-timeout 10: the new record has the client's close",
          r2["rdpwhy.closed_by"] == "client" and r2["rdpwhy.close_kind"] == "fin", r2["rdpwhy.closed_by"])
for name in ("idle60", "idledef"):
    recs = load(f"{tmp}/{name}.json")
    if check(f"{name}: one record", len(recs) == 1, [(r["rdpwhy.cause"]) for r in recs]):
        r = recs[0]
        check(f"{name}: normal_close, client fin, established (as tls_ok.pcap)",
              (r["rdpwhy.cause"], r["rdpwhy.closed_by"], r["rdpwhy.close_kind"], r["rdpwhy.phase"]) ==
              ("normal_close", "client", "fin", "established"), r["rdpwhy.cause"])
        check(f"{name}: all the bytes", (r["source.bytes"], r["destination.bytes"]) == (c1 + c2, s1 + s2),
              ((r["source.bytes"], r["destination.bytes"]), (c1 + c2, s1 + s2)))
        check(f"{name}: no idle evidence", not evidence_has(r, IDLE), r["rdpwhy.evidence"])

x = frames(f"{data}/x224_no_response.pcap")
recs = load(f"{tmp}/x224_2.json")
if check("x224_no_response --idle-timeout 2: one record (later packets carry no payload: no new connection)",
         len(recs) == 1, [(r["rdpwhy.cause"], r["event.start"]) for r in recs]):
    r = recs[0]
    check("x224_no_response --idle-timeout 2: still_open, none, x224, idle evidence",
          (r["rdpwhy.cause"], r["rdpwhy.closed_by"], r["rdpwhy.phase"]) == ("still_open", "none", "x224")
          and evidence_has(r, IDLE), (r["rdpwhy.cause"], r["rdpwhy.closed_by"], r["rdpwhy.evidence"]))
    # frame 5 is the host's ACK of the request, the last packet before 5.2 s of silence
    check("x224_no_response --idle-timeout 2: ends before the silence (the client's later FIN forgotten)",
          r["event.end"] == iso(x[4][0]), (r["event.end"], iso(x[4][0])))
recs = load(f"{tmp}/x224_30.json")
if check("x224_no_response --idle-timeout 30: one record", len(recs) == 1, len(recs)):
    r = recs[0]
    check("x224_no_response --idle-timeout 30: x224_no_response, closed by client fin (index)",
          (r["rdpwhy.cause"], r["rdpwhy.closed_by"], r["rdpwhy.close_kind"]) == ("x224_no_response", "client", "fin"),
          (r["rdpwhy.cause"], r["rdpwhy.closed_by"]))
done()
PY

# ---------------------------------------------------------------------------
# 5. --expected-cert on lab/10_sslsplit_tls12.pcap: SSLsplit forged the host's
# certificate (TLS 1.2: in cleartext). Its fingerprint is computed here from
# the DER tshark extracts, with openssl.
echo "# 5. --expected-cert"
ss=$data/lab/10_sslsplit_tls12.pcap
tshark -n -r "$ss" -d tcp.port==3389,tls -Y tls.handshake.certificate -T fields \
    -e tls.handshake.certificate >"$tmp/chain.hex" 2>"$tmp/tshark.err"
[[ $(wc -l <"$tmp/chain.hex") -eq 1 ]] && ok "sslsplit: one Certificate message (tshark)" ||
    fail "sslsplit: $(wc -l <"$tmp/chain.hex") Certificate messages"
i=0
for c in $(head -n 1 "$tmp/chain.hex" | tr ',' ' '); do
    printf '%s' "$c" | python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.stdin.read().strip()))' >"$tmp/cert$i.der"
    i=$((i + 1))
done
leaf_fp=$(openssl x509 -inform DER -in "$tmp/cert0.der" -noout -fingerprint -sha256 | sed 's/.*=//')
leaf_hex=$(openssl dgst -sha256 -r "$tmp/cert0.der" | cut -d' ' -f1)
ca_hex=$(openssl dgst -sha256 -r "$tmp/cert1.der" | cut -d' ' -f1)
[[ ${#leaf_hex} -eq 64 && $leaf_hex != "$ca_hex" ]] && ok "sslsplit: leaf and CA fingerprints computed" ||
    fail "sslsplit: fingerprints '$leaf_hex' '$ca_hex'"
other=$(printf '%s' "$leaf_hex" | tr '0-9a-f' '1-9a-f0') # every digit changed
expect_run "replay sslsplit (no expected cert)" 0 "$tmp/ss0.json" "$tmp/err" "$bin" replay --format json "$ss" || true
expect_run "replay sslsplit --expected-cert CA's" 0 "$tmp/ss_ca.json" "$tmp/err" \
    "$bin" replay --format json --expected-cert "$ca_hex" "$ss" || true
expect_run "replay sslsplit --expected-cert other" 0 "$tmp/ss_other.json" "$tmp/err" \
    "$bin" replay --format json --expected-cert "$other" "$ss" || true
expect_run "replay sslsplit --expected-cert forged (openssl's AA:BB form)" 0 "$tmp/ss_leaf_colon.json" "$tmp/err" \
    "$bin" replay --format json --expected-cert "$leaf_fp" "$ss" || true
expect_run "replay sslsplit --expected-cert forged (lower-case hex)" 0 "$tmp/ss_leaf.json" "$tmp/err" \
    "$bin" replay --format json --expected-cert "$leaf_hex" "$ss" || true
py "--expected-cert records" "$tmp" "$leaf_hex" "$ca_hex" "$other" <<'PY'
import sys
from expect import *
tmp, leaf, ca, other = sys.argv[1:5]
def one(name):
    recs = load(f"{tmp}/{name}.json")
    check(f"{name}: one record", len(recs) == 1, len(recs))
    return recs[0] if recs else {}
r = one("ss0")
check("sslsplit without --expected-cert: normal_close (index)", r.get("rdpwhy.cause") == "normal_close", r.get("rdpwhy.cause"))
check("sslsplit: the record's certificate is the forged one (openssl)",
      r.get("tls.server.hash.sha256", "").lower() == leaf, r.get("tls.server.hash.sha256"))
for name, exp in (("ss_ca", ca), ("ss_other", other)):
    r = one(name)
    check(f"{name}: tls_stream_altered", r.get("rdpwhy.cause") == "tls_stream_altered", r.get("rdpwhy.cause"))
    check(f"{name}: closed_by/kind/phase unchanged (client fin established)",
          (r.get("rdpwhy.closed_by"), r.get("rdpwhy.close_kind"), r.get("rdpwhy.phase")) == ("client", "fin", "established"),
          (r.get("rdpwhy.closed_by"), r.get("rdpwhy.close_kind"), r.get("rdpwhy.phase")))
    check(f"{name}: evidence names both fingerprints",
          evidence_has(r, leaf[:16]) and evidence_has(r, exp[:16]), r.get("rdpwhy.evidence"))
for name in ("ss_leaf_colon", "ss_leaf"):
    r = one(name)
    check(f"{name}: the forged certificate's own fingerprint is no alteration (normal_close)",
          r.get("rdpwhy.cause") == "normal_close", (r.get("rdpwhy.cause"), r.get("rdpwhy.evidence")))
done()
PY
bad_values=("" "1234" "${leaf_hex:0:63}" "${leaf_hex}0" "g${leaf_hex:1}" "${leaf_hex:0:32} ${leaf_hex:32}" "sha256:$leaf_hex")
for v in "${bad_values[@]}"; do
    if expect_run "replay --expected-cert '${v:0:20}...' (${#v} chars)" 2 "$tmp/out" "$tmp/err" \
        "$bin" replay --expected-cert "$v" "$ss"; then
        grep_in "--expected-cert '${v:0:20}...': message" "$tmp/err" 'expected-cert needs 64 hex digits'
        [[ ! -s $tmp/out ]] && ok "--expected-cert '${v:0:20}...': no record" || fail "--expected-cert bad value: records written"
    fi
done
expect_run "replay --expected-cert (no value)" 2 "$tmp/out" "$tmp/err" "$bin" replay "$ss" --expected-cert &&
    grep_in "--expected-cert without value: message" "$tmp/err" 'expected-cert needs a value'
expect_run "capture --expected-cert bad" 2 "$tmp/out" "$tmp/err" timeout 10 "$bin" capture -i lo --expected-cert 12 &&
    grep_in "capture --expected-cert bad: message" "$tmp/err" 'expected-cert needs 64 hex digits'

# ---------------------------------------------------------------------------
# 6. The text report, line by line, for each verdict family the tests above
# use (upstream_refused, x224_no_response, still_open, tls_stream_altered,
# normal_close, security_negotiation_failure): every line record_text.c prints
# is rebuilt from tshark and openssl (the head line, cause, timeline, rdp,
# tls, cert, bytes); the fix and evidence texts must be the JSON record's.
# Lines are found by their label; labels not listed in expected_text.KNOWN
# (added later) are allowed between them.
echo "# 6. text report"
for c in port_closed x224_no_response tls_ok sec_refused_tls_required; do
    expect_run "text $c.pcap" 0 "$tmp/t_$c.txt" "$tmp/err" "$bin" replay "$data/$c.pcap" || true
    expect_run "json $c.pcap" 0 "$tmp/j_$c.json" "$tmp/err" "$bin" replay --format json "$data/$c.pcap" || true
done
expect_run "text x224_no_response.pcap --idle-timeout 2" 0 "$tmp/t_x224_idle.txt" "$tmp/err" \
    "$bin" replay --idle-timeout 2 "$data/x224_no_response.pcap" || true
expect_run "json x224_no_response.pcap --idle-timeout 2" 0 "$tmp/j_x224_idle.json" "$tmp/err" \
    "$bin" replay --format json --idle-timeout 2 "$data/x224_no_response.pcap" || true
expect_run "text sslsplit --expected-cert CA's" 0 "$tmp/t_ss.txt" "$tmp/err" \
    "$bin" replay --expected-cert "$ca_hex" "$ss" || true
expect_run "json sslsplit --expected-cert CA's" 0 "$tmp/j_ss.json" "$tmp/err" \
    "$bin" replay --format json --expected-cert "$ca_hex" "$ss" || true
py "text reports" "$tmp" "$data" <<'PY'
import re, sys
from expect import *
from expected_text import *
tmp, data = sys.argv[1:3]

def judge(name, pcap, cause, close, phase, order, phases, exact):
    """name: the t_/j_ files; close: 'closed by X, KIND' or 'not closed';
    order: the known labels in order; phases: the timeline's;
    exact: {label: [lines]} (None: absent)."""
    text = open(f"{tmp}/t_{name}.txt").read()
    recs = load(f"{tmp}/j_{name}.json")
    check(f"text {name}: one report, ends with a blank line",
          text.count(" -> ") == 1 and text.endswith("\n\n") and len(recs) == 1, text[-40:])
    if len(recs) != 1:
        return
    rec = recs[0]
    head, parts = parse_report(text)
    check(f"text {name}: head line", head == head_line(pcap), (head, head_line(pcap)))
    check(f"text {name}: the lines in record_text.c's order", known_order(parts) == order,
          (known_order(parts), order))
    want = {"cause": [f"  cause      {cause:<30}   ({close}, in {phase})"],
            "fix": ["  fix        " + rec["rdpwhy.remediation"]],
            "evidence": evidence_lines(rec),
            "bytes": [bytes_line(pcap)]}
    want.update(exact)
    for label, lines in want.items():
        got = labelled(parts, label)
        if label == "bytes" and got and lines:
            # "; retransmits client N, server M" follows when there were some
            ok_ = len(got) == 1 and (got[0] == lines[0] or got[0].startswith(lines[0] + "; retransmits "))
        else:
            ok_ = got == lines
        check(f"text {name}: {label} line{'s' if lines and len(lines) > 1 else ''}"
              + (" absent" if lines is None else ""), ok_, f"\n    got  {got}\n    want {lines}")
    if "timeline" in order:
        check(f"text {name}: timeline (phases in order, x224 at the SYN-ACK)",
              timeline_ok([l for _, ls in parts for l in ls], pcap, phases), labelled(parts, "timeline"))
    check(f"text {name}: fix is one sentence", len(rec["rdpwhy.remediation"]) > 20 and
          "\n" not in rec["rdpwhy.remediation"], rec["rdpwhy.remediation"])

d = data
judge("port_closed", f"{d}/port_closed.pcap", "upstream_refused", "closed by server, refused", "tcp_connect",
      ["cause", "fix", "timeline", "evidence", "bytes"], ["tcp_connect"],
      {"timeline": ["  timeline   +0.000 ms tcp_connect"], "rdp": None, "tls": None, "cert": None,
       "evidence": ["  evidence   - server answered SYN with RST"]})
p = f"{d}/x224_no_response.pcap"
cr_row = tshark(p, ["frame.time_relative", "frame.number"], "rdp.rt_cookie")[0]
cr = float(cr_row[0])
fin = float(tshark(p, ["frame.time_relative"], "tcp.flags.fin==1")[0][0])
judge("x224_no_response", p, "x224_no_response", "closed by client, fin", "x224",
      ["cause", "fix", "timeline", "rdp", "evidence", "bytes"], ["tcp_connect", "x224"],
      {"rdp": [rdp_line(p, confirm=False)], "tls": None, "cert": None,
       "evidence": [f"  evidence   - no X.224 Connection Confirm {int((fin - cr) * 1000)} ms after the request"
                    f"  [frame {cr_row[1]}]"]})
# still_open after the idle timeout: its head line ends at the last packet
# before the silence, so it is judged alone.
head, parts = parse_report(open(f"{tmp}/t_x224_idle.txt").read())
check("text still_open (idle): cause line", labelled(parts, "cause") ==
      ["  cause      still_open                       (not closed, in x224)"], labelled(parts, "cause"))
check("text still_open (idle): evidence line", labelled(parts, "evidence") ==
      ["  evidence   - no packet for the idle timeout; no FIN or RST seen"], labelled(parts, "evidence"))
check("text still_open (idle): fix line", labelled(parts, "fix") ==
      ["  fix        " + load(f"{tmp}/j_x224_idle.json")[0]["rdpwhy.remediation"]], labelled(parts, "fix"))
check("text still_open (idle): duration 0.000 s (the request and its ACK)", head.endswith("  duration 0.000 s"), head)
p = f"{d}/lab/10_sslsplit_tls12.pcap"
judge("ss", p, "tls_stream_altered", "closed by client, fin", "established",
      ["cause", "fix", "timeline", "rdp", "tls", "cert", "evidence", "bytes"],
      ["tcp_connect", "x224", "tls_handshake", "rdp", "established"],
      {"rdp": [rdp_line(p, confirm=True)], "tls": [tls_line(p)], "cert": cert_lines(f"{tmp}/cert0.der")})
p = f"{d}/tls_ok.pcap"
judge("tls_ok", p, "normal_close", "closed by client, fin", "established",
      ["cause", "fix", "timeline", "rdp", "tls", "evidence", "bytes"],
      ["tcp_connect", "x224", "tls_handshake", "rdp", "established"],
      {"rdp": [rdp_line(p, confirm=True)], "tls": [tls_line(p)], "cert": None})
p = f"{d}/sec_refused_tls_required.pcap"
judge("sec_refused_tls_required", p, "security_negotiation_failure", "closed by client, fin", "x224",
      ["cause", "fix", "timeline", "rdp", "evidence", "bytes"], ["tcp_connect", "x224"],
      {"rdp": [rdp_line(p, confirm=True)], "tls": None, "cert": None})
done()
PY

# ---------------------------------------------------------------------------
# 4. capture, live on loopback (root).
# Usage errors first: refused before any capture starts (no root needed). A
# value taken by mistake would start capturing: timeout makes that a FAIL
# (124) instead of a hang.
for v in 127 abc 262145 4294967424 ""; do
    expect_run "capture -s '$v'" 2 "$tmp/out" "$tmp/err" timeout 10 "$bin" capture -i lo -s "$v" &&
        grep_in "capture -s '$v': message" "$tmp/err" '^rdpwhy capture: --snaplen needs 128 to 262144$'
done
expect_run "capture -s (no value)" 2 "$tmp/out" "$tmp/err" timeout 10 "$bin" capture -i lo -s
if ((!root)); then
    echo "# 4. capture: skipped, live capture needs root (CAP_NET_RAW)"
    if ((fails)); then echo "FAIL cli_behaviour: $fails failed"; exit 1; fi
    echo "skip cli_behaviour: the live part needs root"
    exit 77
fi
echo "# 4. capture (live)"

free_ports() { # N: N free TCP ports on 127.0.0.1
    python3 -c '
import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))' "$1"
}

# start_capture NAME ARGS...: rdpwhy capture in the background, stdout to
# $tmp/NAME.out, stderr to $tmp/NAME.err; waits for its ready line. Sets cap_pid.
start_capture() {
    local name=$1
    shift
    "$bin" capture "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    cap_pid=$!
    pids+=("$cap_pid")
    if rw_wait_ready "$tmp/$name.err" "$cap_pid"; then ok "capture $name: ready"; else
        fail "capture $name: not ready"
        return 1
    fi
}
# stop_capture NAME SIGNAL: signal it, wait (bounded), judge exit 0 + sanitizer.
stop_capture() {
    local name=$1 sig=$2 rc=0 i
    kill "-$sig" "$cap_pid" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do kill -0 "$cap_pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$cap_pid" 2>/dev/null; then
        fail "capture $name: still running 30 s after SIG$sig"
        kill -KILL "$cap_pid" 2>/dev/null || true
    fi
    wait "$cap_pid" || rc=$?
    reaped "$cap_pid"
    if rw_check_end "capture $name" "$rc" 0 "$tmp/$name.err"; then ok "capture $name: SIG$sig, exit 0"; else fail "capture $name: end"; fi
}
promiscuity() { ip -d -o link show dev "$1" | grep -oE 'promiscuity [0-9]+' | cut -d' ' -f2 || true; }

# 4a. --no-promisc on a veth pair of our own (nothing else captures there).
veth=rwcb$$a
if ip link add "$veth" type veth peer name "rwcb$$b" && ip link set "$veth" up && ip link set "rwcb$$b" up; then
    base=$(promiscuity "$veth")
    if start_capture promisc -i "$veth" -p 3389; then
        p=$(promiscuity "$veth")
        [[ $p -eq $((base + 1)) ]] && ok "capture without --no-promisc: $veth promiscuous ($base -> $p)" ||
            fail "capture without --no-promisc: promiscuity $base -> $p"
        stop_capture promisc TERM
    fi
    if start_capture nopromisc -i "$veth" -p 3389 --no-promisc; then
        p=$(promiscuity "$veth")
        [[ $p -eq $base ]] && ok "capture --no-promisc: $veth not promiscuous ($base -> $p)" ||
            fail "capture --no-promisc: promiscuity $base -> $p"
        stop_capture nopromisc TERM
    fi
    p=$(promiscuity "$veth")
    [[ $p -eq $base ]] && ok "capture: promiscuity back to $base after stop" || fail "capture: promiscuity $p after stop"
    ip link del "$veth" && veth=""
else
    fail "capture --no-promisc: cannot create a veth pair"
fi

# 4b. -s SNAPLEN: a TLS 1.2 exchange (certificate in cleartext) in full, then
# with 128-byte snapshots: the short X.224 packets fit (cookie, selected
# protocol), the TLS flights are cut: no certificate facts, capture gaps.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 30 \
    -subj /CN=rdpwhy-cli-test -addext subjectAltName=DNS:rdpwhy-cli-test 2>/dev/null
cert_hex=$(openssl x509 -in "$tmp/cert.pem" -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
for snap in full 128; do
    read -r port < <(free_ports 1)
    args=(-i lo --format json -p "$port" --filter "tcp port $port")
    [[ $snap != full ]] && args+=(-s "$snap")
    start_capture "snap$snap" "${args[@]}" || continue
    if timeout 30 python3 "$helpers/rdp_peer.py" tls "$port" "snap$snap" "$tmp/cert.pem" "$tmp/key.pem" >"$tmp/peer.out" 2>&1; then
        ok "capture snap$snap: TLS peer done"
    else
        fail "capture snap$snap: TLS peer failed: $(tail -n 3 "$tmp/peer.out")"
    fi
    stop_capture "snap$snap" INT
done
py "capture -s records" "$tmp" "$cert_hex" <<'PY'
import sys
from expect import *
tmp, cert = sys.argv[1:3]
full, cut = load(f"{tmp}/snapfull.out"), load(f"{tmp}/snap128.out")
if check("capture (default snaplen): one record", len(full) == 1, [r.get("rdpwhy.cause") for r in full]):
    r = full[0]
    check("capture (default snaplen): cookie and selected protocol",
          r.get("rdp.cookie") == "snapfull" and r.get("rdp.selected_protocol") == "ssl", r.get("rdp.cookie"))
    check("capture (default snaplen): the certificate's sha256 (openssl)",
          r.get("tls.server.hash.sha256", "").lower() == cert, (r.get("tls.server.hash.sha256"), cert))
    check("capture (default snaplen): TLS 1.2", r.get("tls.version") == "1.2", r.get("tls.version"))
    check("capture (default snaplen): the client closed first, normal_close",
          (r.get("rdpwhy.cause"), r.get("rdpwhy.closed_by")) == ("normal_close", "client"),
          (r.get("rdpwhy.cause"), r.get("rdpwhy.closed_by"), r.get("rdpwhy.evidence")))
    check("capture (default snaplen): no capture gaps", not evidence_has(r, "capture gaps"), r.get("rdpwhy.evidence"))
if check("capture -s 128: one record", len(cut) == 1, [r.get("rdpwhy.cause") for r in cut]):
    r = cut[0]
    check("capture -s 128: the short X.224 packets whole (cookie, selected ssl)",
          r.get("rdp.cookie") == "snap128" and r.get("rdp.selected_protocol") == "ssl", r)
    check("capture -s 128: no certificate facts (cut)",
          not any(k.startswith("tls.server.x509") or k.startswith("tls.server.hash") for k in r), sorted(r))
    check("capture -s 128: evidence says bytes of both streams were lost by the capture",
          evidence_has(r, "missing from the server stream, lost by the capture") and
          evidence_has(r, "missing from the client stream, lost by the capture"), r.get("rdpwhy.evidence"))
done()
PY
# Packets cut by -s are said on stderr (and only then).
grep -q "^rdpwhy capture: warning: [0-9]* packets were cut by the capture's snapshot length" "$tmp/snap128.err" &&
    ok "capture -s 128: stderr warns that packets were cut" || fail "capture -s 128: no snaplen warning: $(cat "$tmp/snap128.err")"
grep -q "cut by the capture's snapshot length" "$tmp/snapfull.err" &&
    fail "capture (full snaplen): a snaplen warning" || ok "capture (full snaplen): no snaplen warning"

# 4c. The stop report: a connection left open (Connection Request and
# Confirm, then nothing) is reported as still open on SIGINT and on SIGTERM.
for sig in INT TERM; do
    read -r port < <(free_ports 1)
    fmt=json
    [[ $sig == TERM ]] && fmt=text
    start_capture "stop$sig" -i lo --format "$fmt" -p "$port" --filter "tcp port $port" || continue
    python3 "$helpers/rdp_peer.py" hold "$port" "stop$sig" >"$tmp/hold$sig.out" 2>&1 &
    peer=$!
    pids+=("$peer")
    if rw_wait_line "$tmp/hold$sig.out" '^exchanged [0-9]+' "$peer" 30 "peer exchange"; then
        ok "stop$sig: X.224 exchanged, connection held open"
        stop_capture "stop$sig" "$sig"
    else
        fail "stop$sig: peer did not exchange"
        stop_capture "stop$sig" "$sig"
    fi
    kill -TERM "$peer" 2>/dev/null || true
    wait "$peer" || true
    reaped "$peer"
    grep_not "capture stop$sig: no kernel-drop warning without drops" "$tmp/stop$sig.err" 'kernel dropped'
done
cport=$(awk '/^exchanged/ {print $2}' "$tmp/holdINT.out" 2>/dev/null || true)
py "capture stop report (SIGINT, json)" "$tmp" "$cport" <<'PY'
import sys
from expect import *
tmp, cport = sys.argv[1], int(sys.argv[2] or 0)
recs = load(f"{tmp}/stopINT.out")
if check("stop SIGINT: one record", len(recs) == 1, recs):
    r = recs[0]
    check("stop SIGINT: the held connection (client port, cookie)",
          r.get("source.port") == cport and r.get("rdp.cookie") == "stopINT", (r.get("source.port"), cport))
    check("stop SIGINT: still_open, closed_by none, close_kind none, in x224",
          (r.get("rdpwhy.cause"), r.get("rdpwhy.closed_by"), r.get("rdpwhy.close_kind"), r.get("rdpwhy.phase")) ==
          ("still_open", "none", "none", "x224"),
          (r.get("rdpwhy.cause"), r.get("rdpwhy.closed_by"), r.get("rdpwhy.close_kind"), r.get("rdpwhy.phase")))
    check("stop SIGINT: evidence: no FIN or RST before the end of the capture",
          evidence_has(r, "no FIN or RST before the end of the capture"), r.get("rdpwhy.evidence"))
    check("stop SIGINT: the Confirm was seen", r.get("rdp.selected_protocol") == "ssl", r.get("rdp.selected_protocol"))
done()
PY
grep_in "stop SIGTERM (text): cause line" "$tmp/stopTERM.out" \
    '^  cause      still_open                       \(not closed, in x224\)$'
grep_in "stop SIGTERM (text): rdp line" "$tmp/stopTERM.out" \
    '^  rdp        cookie "stopTERM", requested ssl, selected ssl$'
grep_in "stop SIGTERM (text): evidence" "$tmp/stopTERM.out" \
    '^  evidence   - no FIN or RST before the end of the capture$'
[[ $(grep -c ' -> 127.0.0.1:' "$tmp/stopTERM.out") -eq 1 ]] && ok "stop SIGTERM (text): one report" ||
    fail "stop SIGTERM (text): $(grep -c ' -> 127.0.0.1:' "$tmp/stopTERM.out") reports"

# 4c''. "On stop it reads what the kernel still holds": a stop right after a
# connection ended must report it whole (the kernel hands packets over in
# blocks, at the latest 200 ms later). Three times: a capture that drops the
# open block fails most of these.
for k in 1 2 3; do
    read -r port < <(free_ports 1)
    start_capture "stopnow$k" -i lo --format json -p "$port" --filter "tcp port $port" || continue
    timeout 30 python3 "$helpers/rdp_peer.py" tls "$port" "stopnow$k" "$tmp/cert.pem" "$tmp/key.pem" \
        >"$tmp/peer.out" 2>&1 || fail "stopnow$k: TLS peer failed: $(tail -n 3 "$tmp/peer.out")"
    stop_capture "stopnow$k" INT
done
py "capture stop right after a connection" "$tmp" <<'PY'
import sys
from expect import *
for k in (1, 2, 3):
    recs = load(f"{sys.argv[1]}/stopnow{k}.out")
    check(f"stop right after the connection ended ({k}/3): its whole record (normal_close, client FIN, TLS 1.2)",
          len(recs) == 1 and (recs[0].get("rdpwhy.cause"), recs[0].get("rdpwhy.closed_by"),
                              recs[0].get("rdp.cookie"), recs[0].get("tls.version")) ==
          ("normal_close", "client", f"stopnow{k}", "1.2"),
          [(r.get("rdpwhy.cause"), r.get("rdpwhy.closed_by"), r.get("source.bytes")) for r in recs])
done()
PY

# 4c'. --idle-timeout live: the clock, not packets, expires a silent
# connection: its record comes out while the capture runs. The peers' FINs
# afterwards carry no payload: the forgotten connection starts nothing new.
read -r port < <(free_ports 1)
# Flat JSON (--json-style flat): the record's line is matched as text.
if start_capture idlelive -i lo --format json --json-style flat --idle-timeout 1 -p "$port" --filter "tcp port $port"; then
    python3 "$helpers/rdp_peer.py" hold "$port" idlelive >"$tmp/holdidle.out" 2>&1 &
    peer=$!
    pids+=("$peer")
    if rw_wait_line "$tmp/holdidle.out" '^exchanged [0-9]+' "$peer" 30 "peer exchange"; then
        if rw_wait_line "$tmp/idlelive.out" '"rdpwhy.cause":"still_open"' "$cap_pid" 15 "idle record"; then
            ok "capture --idle-timeout 1: a record while the connection is silent and the capture runs"
        else
            fail "capture --idle-timeout 1: no record within 15 s of silence"
        fi
    else
        fail "capture --idle-timeout 1: peer did not exchange"
    fi
    kill -TERM "$peer" 2>/dev/null || true
    wait "$peer" || true
    reaped "$peer"
    stop_capture idlelive INT
    py "capture --idle-timeout records" "$tmp" <<'PY'
import sys
from expect import *
recs = load(f"{sys.argv[1]}/idlelive.out")
if check("capture --idle-timeout 1: one record (the later FINs start nothing)", len(recs) == 1,
         [(r.get("rdpwhy.cause"), r.get("rdpwhy.evidence")) for r in recs]):
    r = recs[0]
    check("capture --idle-timeout 1: still_open, closed_by none, idle evidence, the cookie",
          (r.get("rdpwhy.cause"), r.get("rdpwhy.closed_by"), r.get("rdp.cookie")) == ("still_open", "none", "idlelive")
          and evidence_has(r, "idle timeout"), r)
done()
PY
fi

# 4d. Kernel drops: the capture stopped (SIGSTOP) while 256 MiB cross
# loopback on a port its filter takes; its 32 MiB ring overflows.
read -r port bport < <(free_ports 2)
if start_capture drops -i lo --format json -p "$port" --filter "tcp port $port or tcp port $bport"; then
    kill -STOP "$cap_pid" 2>/dev/null || true
    if timeout 120 python3 "$helpers/rdp_peer.py" bulk "$bport" 256 >"$tmp/bulk.out" 2>&1 &&
        [[ $(awk '{print $2}' "$tmp/bulk.out") -eq $((256 * 1024 * 1024)) ]]; then
        ok "drops: 256 MiB sent and received on loopback"
    else
        fail "drops: bulk transfer: $(tail -n 3 "$tmp/bulk.out")"
    fi
    kill -CONT "$cap_pid" 2>/dev/null || true
    stop_capture drops INT
    grep_in "drops: the kernel-drop warning" "$tmp/drops.err" \
        '^rdpwhy capture: warning: the kernel dropped [1-9][0-9]* packets'
fi

if ((fails)); then
    echo "FAIL cli_behaviour: $fails failed"
    exit 1
fi
echo "ok cli_behaviour: all passed"
