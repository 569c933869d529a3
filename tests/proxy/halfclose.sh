#!/usr/bin/env bash
# halfclose.sh BIN [NCONN MIB] — 1 GiB each way over many connections, with
# random half-closes and resets (issue #12, "load and faults"): NCONN (64)
# connections through the proxy at once, each offering MIB (26) MiB each way
# at the same time: at least 1 GiB delivered each way (asserted with the
# defaults; a side that resets stops sending, so 1.6 GiB is offered). Each
# connection's plan (seeded, SEED=1): both sides send all then FIN; the
# client or the server half-closes (shutdown SHUT_WR) after a random share of
# its bytes while the other keeps sending all of its own; or the client or
# the server resets (SO_LINGER 0 close) at a random point.
#
# Asserts (load_peers.py halfclose): every byte sent before a FIN arrives
# (count and SHA-256, each direction of each connection); what arrived from a
# side that reset is a prefix of what that side sent (bytes in flight at an
# RST may be lost: TCP drops them); every FIN arrives as EOF, every RST as
# ECONNRESET. The records (by source port): one per connection; a reset
# connection is close_kind rst, closed_by the side that reset; a half-closed
# one is close_kind fin, closed_by the side that half-closed; source.bytes /
# destination.bytes = what the client / server sent where no side reset. The
# proxy exits 0 on SIGTERM. Loopback; 25-70 s on 2 cores. The ASan build runs
# 16 x 4 MiB (the same paths; the sanitizer makes the proxy ~5x slower).
set -euo pipefail
TEST_NAME=halfclose
# shellcheck source=load_lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/load_lib.sh"
NCONN=${2:-64}
MIB=${3:-26}
load_init "$1"
FULL=full
if ((ASAN && $# == 1)); then NCONN=16 MIB=4; fi
if ((NCONN != 64 || MIB != 26)); then FULL=part; fi

read -r PORT UP < <(free_ports 2)
start_proxy "$PORT" "$UP"
log "$NCONN connections x $MIB MiB each way ($((NCONN * MIB)) MiB offered each way)"
peers_py halfclose 127.0.0.1 "$PORT" 127.0.0.1 "$UP" "$NCONN" "$MIB" "${SEED:-1}" "$WORK/halfclose.json" || true
wait_lines "$WORK/records.json" "$NCONN" 30 || true
finish_proxy
check "one record per connection, saying who closed and how" python3 - "$WORK" "$NCONN" "$FULL" <<'PY'
import json, sys
from records import loads  # tests/lib: a record by dotted names, nested or flat
work, n = sys.argv[1], int(sys.argv[2])
res = json.load(open(work + "/halfclose.json"))["conns"]
recs = {r["source.port"]: r for r in map(loads, open(work + "/records.json"))}
bad = []
for p in res:
    r = recs.get(p["client_port"], {})
    got = (r.get("rdpwhy.closed_by"), r.get("rdpwhy.close_kind"))
    k = p["kind"]
    want = {"client_reset": ("client", "rst"), "server_reset": ("server", "rst"),
            "client_halfclose": ("client", "fin"), "server_halfclose": ("server", "fin")}.get(k)
    if want and got != want:
        bad.append("%s (port %d): record %s, expected %s" % (k, p["client_port"], got, want))
    if k == "both_fin" and got[1] != "fin":
        bad.append("both_fin (port %d): record %s" % (p["client_port"], got))
    if "reset" not in k and (r.get("source.bytes"), r.get("destination.bytes")) != (p["client_sent"] + 4, p["server_sent"]):
        bad.append("%s (port %d): record bytes %s/%s, sent %d/%d" % (k, p["client_port"], r.get("source.bytes"),
                   r.get("destination.bytes"), p["client_sent"] + 4, p["server_sent"]))
d = json.load(open(work + "/halfclose.json"))
if sys.argv[3] == "full" and min(d["delivered_c2s"], d["delivered_s2c"]) < 2**30:
    bad.append("less than 1 GiB delivered one way: %d / %d bytes" % (d["delivered_c2s"], d["delivered_s2c"]))
if len(recs) != n:
    bad.append("%d records for %d connections" % (len(recs), n))
for b in bad[:15]:
    print("    " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
((FAILS == 0)) || die "$FAILS check(s) failed"
log "PASS: $NCONN connections x $MIB MiB each way, half-closes and resets: byte-exact, every close propagated"
