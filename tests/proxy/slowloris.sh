#!/usr/bin/env bash
# slowloris.sh BIN — slowloris during set-up (issue #12, "load and faults"):
# 200 connections send their X.224 Connection Request one byte a second
# (never the last byte) while 200 normal RDP-ish exchanges (8 at a time) go
# through the same proxy, run with --set x224_timeout=3s.
#
# Asserts: every slow connection is closed by the proxy 2.5-6 s after it
# connected (x224_timeout counts the whole request: bytes that trickle in do
# not restart it), with a FIN, after it had sent at least 3 bytes; its record
# (matched by source port) says handshake_timeout, closed_by proxy,
# close_kind timeout, phase x224, rdpwhy.proxy.waited_on client (the rest of
# the client's own request was awaited, not the host). Every normal exchange
# completes byte-exact, its record closed_by client / fin, the slowest under
# 2 s (8 s under ASan). A client that sends bytes that are not TPKT one
# every 0.5 s for 5 s is not cut (only a request that trickles is held to
# x224_timeout in all). 401 records in all; the proxy exits 0 on SIGTERM.
# Loopback; ~15 s.
set -euo pipefail
TEST_NAME=slowloris
# shellcheck source=load_lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/load_lib.sh"
load_init "$@"

read -r PORT UP < <(free_ports 2)
start_upstream "$UP"
start_proxy "$PORT" "$UP" --set x224_timeout=3s

python3 "$PEERS" slowloris 127.0.0.1 "$PORT" 200 1.0 20 "$WORK/slow.json" >"$WORK/slow.out" 2>&1 9>&- &
SLOW=$!
PIDS+=("$SLOW")
rw_wait_line "$WORK/slow.out" '^connected' "$SLOW" 30 "slowloris clients connected"
peers_py normal 127.0.0.1 "$PORT" 200 8 "$WORK/normal.json"
wait "$SLOW" || die "the slowloris clients failed: $(cat "$WORK/slow.out")"
forget_pid "$SLOW"
# Not a request that trickles: bytes that are not TPKT, one every 0.5 s for
# 5 s, still restart the timer every time (a slow non-RDP stream is not cut).
check "a slow stream that is not an X.224 request is not cut at x224_timeout" python3 - "$PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.setblocking(False)
for i in range(10):
    s.send(b"\xff")
    time.sleep(0.5)
    try:
        d = s.recv(1)
        sys.exit("closed after %.1f s (%r)" % ((i + 1) * 0.5, d))
    except BlockingIOError:
        pass
PY
wait_lines "$WORK/records.json" 401 20 || true
finish_proxy

check "slow and normal connections: the clients' and the records' view" python3 - "$WORK" "$ASAN" <<'PY'
import json, sys
from records import loads  # tests/lib: a record by dotted names, nested or flat
work, asan = sys.argv[1], sys.argv[2] == "1"
slow = json.load(open(work + "/slow.json"))["conns"]
norm = json.load(open(work + "/normal.json"))
recs = {r["source.port"]: r for r in map(loads, open(work + "/records.json"))}
bad = []
def want(cond, msg):
    if not cond:
        bad.append(msg)
    return cond
for c in slow:
    want(c["end"] == "eof", "slow %d ended %s, not closed with a FIN" % (c["port"], c["end"]))
    want(c["after"] is not None and 2.5 <= c["after"] <= 6.0, "slow %d closed after %s s, not 2.5-6" % (c["port"], c["after"]))
    want(c["sent"] >= 3, "slow %d sent only %d bytes: the timeout came before it could trickle" % (c["port"], c["sent"]))
    r = recs.get(c["port"], {})
    got = (r.get("rdpwhy.cause"), r.get("rdpwhy.closed_by"), r.get("rdpwhy.close_kind"), r.get("rdpwhy.phase"), r.get("rdpwhy.proxy.waited_on"))
    want(got == ("handshake_timeout", "proxy", "timeout", "x224", "client"), "slow %d: record %s" % (c["port"], got))
want(norm["ok"] == 200, "normal exchanges: %d of 200 ok (%s)" % (norm["ok"], norm["problems"]))
for p in norm["ports"]:
    r = recs.get(p, {})
    want((r.get("rdpwhy.closed_by"), r.get("rdpwhy.close_kind")) == ("client", "fin"),
         "normal %d: record %s/%s" % (p, r.get("rdpwhy.closed_by"), r.get("rdpwhy.close_kind")))
lat = sorted(norm["latency"])
limit = 8.0 if asan else 2.0
want(lat[-1] < limit, "the slowest normal exchange took %.2f s (limit %.0f s)" % (lat[-1], limit))
want(len(recs) == 401, "%d records, 401 connections" % len(recs))
afters = sorted(c["after"] or 0 for c in slow)
print("  ..   200 slow connections closed after %.2f-%.2f s (median %.2f), %d-%d bytes sent each; normal "
      "exchanges: median %.0f ms, max %.0f ms" % (afters[0], afters[-1], afters[100], min(c["sent"] for c in slow),
      max(c["sent"] for c in slow), lat[len(lat) // 2] * 1000, lat[-1] * 1000), file=sys.stderr)
for b in bad[:15]:
    print("    " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
((FAILS == 0)) || die "$FAILS check(s) failed"
log "PASS: slowloris in set-up timed out and recorded, normal connections unaffected"
