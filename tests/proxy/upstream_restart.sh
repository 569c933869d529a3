#!/usr/bin/env bash
# upstream_restart.sh BIN — an upstream that restarts again and again during
# many short connections (issue #12, "load and faults"). The upstream
# (load_peers.py upstream --reset-on-term) is stopped and started in a loop,
# up 0.15-0.5 s, down 0.05-0.25 s; on SIGTERM it resets every connection it
# holds (a host that crashes) and logs each. Meanwhile 4 clients make 1,000
# short RDP-ish connections through the proxy (request, confirm, a pause of
# up to 30 ms, a 512-byte echo, FIN).
#
# The right cause of each connection comes from what the test did, never
# from rdpwhy: the upstream's log says which requests it read ("cr NAME"),
# answered ("cc"), completed ("done") or reset ("reset NAME cr|cc"; "reset -
# nocr" for a connection reset before its request arrived); the restart loop
# says when nothing listened. Asserts:
#   - exactly 1,000 records, one per connection (by source port), and the
#     proxy is up throughout and exits 0 on SIGTERM;
#   - completed ("done"): the client got its echo and the upstream's FIN;
#     record closed_by client, close_kind fin;
#   - reset by the upstream after the client's FIN (it had its echo): the
#     client saw ECONNRESET; record normal_close, closed_by client, fin;
#   - reset by the upstream after the client sent its FIN but before the
#     upstream read it (both times from CLOCK_MONOTONIC): they crossed in the
#     proxy; ECONNRESET; normal_close client/fin or reset_by_server
#     server/rst;
#   - reset by the upstream after its answer: the client saw ECONNRESET;
#     record reset_by_server, closed_by server, close_kind rst;
#   - reset after the request, before the answer: ECONNRESET; closed_by
#     server, rst, x224_closed_by_server or, for a reset right after the
#     request, tls_terminating_middlebox (docs/causes.md: the wire of a crash
#     and of a TLS-first endpoint are the same);
#   - never reached the upstream: ECONNRESET (the proxy passes the refusal on
#     as an RST); upstream_refused, closed_by server, close_kind refused; and
#     every connection made while nothing listened is one of these.
#     Exceptions (closed_by server, rst, never seen by the upstream process):
#     at most the "reset - nocr" lines (reset before their request reached
#     it) plus one per restart (a handshake its kernel completed between the
#     last accept() and the listener's close(), reset unseen by the close);
#   - each kind happened (at least 20 refused, 5 reset, 150 completed).
# Loopback; ~20 s.
set -euo pipefail
TEST_NAME=upstream_restart
# shellcheck source=load_lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/load_lib.sh"
load_init "$@"
N=1000

read -r PORT UP < <(free_ports 2)
start_proxy "$PORT" "$UP" --set connect_timeout=5s
peers_py restart 127.0.0.1 "$PORT" 127.0.0.1 "$UP" "$WORK/upstream.log" "$N" 4 "$WORK/restart.json" || true
wait_lines "$WORK/records.json" "$N" 20 || true
finish_proxy
check "one record per connection, each with the cause of what happened" python3 - "$WORK" "$N" <<'PY'
import json, sys
from records import loads  # tests/lib: a record by dotted names, nested or flat
work, n = sys.argv[1], int(sys.argv[2])
res = json.load(open(work + "/restart.json"))
conns, down = res["conns"], res["down"]
# Records by the cookie each client sent (source ports come back in 1,000
# connections); a record without one (the proxy gave up before it read the
# request) goes to the client of its source port that has no record yet, in
# order.
recs, by_port = {}, {}
all_recs = [loads(l) for l in open(work + "/records.json")]
for r in all_recs:
    if "rdp.cookie" in r:
        recs.setdefault(r["rdp.cookie"].replace("mstshash=", ""), []).append(r)
    else:
        by_port.setdefault(r["source.port"], []).append(r)
for c in sorted(conns, key=lambda c: c["t0"]):
    if c["name"] not in recs and by_port.get(c["port"]):
        recs[c["name"]] = [by_port[c["port"]].pop(0)]
up, t_reset = {}, {}
nocr = 0
for line in open(work + "/upstream.log"):
    w = line.split()
    if w[:2] == ["reset", "-"]:
        nocr += 1
    elif len(w) >= 2:
        up.setdefault(w[1], []).append(w[0] if w[0] != "reset" else "reset-" + w[2])
        if w[0] == "reset":
            t_reset[w[1]] = float(w[3])
bad, kinds, exceptions = [], {}, []
# A host that resets right after the request: docs/causes.md gives
# x224_closed_by_server, or tls_terminating_middlebox when the reset follows
# the request within a moment (what a TLS-first endpoint does); the wire of a
# crash is the same.
QUICK_RESET = ("x224_closed_by_server", "tls_terminating_middlebox")
CROSS_S = 0.005
def rec_of(c):
    rs = [r for r in recs.get(c["name"], []) if r["source.port"] == c["port"]]
    return rs[0] if len(rs) == 1 and len(recs[c["name"]]) == 1 else None
for c in conns:
    ev = up.get(c["name"], [])
    r = rec_of(c)
    if r is None:
        bad.append("%s: %d records with its cookie" % (c["name"], len(recs.get(c["name"], []))))
        continue
    got = (r["rdpwhy.cause"], r["rdpwhy.closed_by"], r["rdpwhy.close_kind"])
    if "done" in ev:
        kind, want_client, want = "completed", "ok", None
        if got[1:] != ("client", "fin"):
            bad.append("%s completed: record %s" % (c["name"], got))
    elif "reset-eof" in ev:
        # the client had its echo and closed first; the host then crashed
        kind, want_client, want = "reset after the client's FIN", "reset", ("normal_close", "client", "fin")
    elif "reset-cc" in ev and c["t_fin"] and c["t_fin"] < t_reset[c["name"]] + CROSS_S:
        # the client's FIN and the host's RST crossed: either came first
        # (two processes' clocks, and the proxy may take both from one loop
        # turn: a FIN stamped within CROSS_S after the RST can still be first)
        kind, want_client, want = "reset as the client closed", "reset", None
        if got not in (("normal_close", "client", "fin"), ("reset_by_server", "server", "rst")):
            bad.append("%s (%s): record %s" % (c["name"], kind, got))
    elif "reset-cc" in ev:
        kind, want_client, want = "reset after the answer", "reset", ("reset_by_server", "server", "rst")
    elif "reset-cr" in ev:
        kind, want_client, want = "reset before the answer", "reset", ("x224_closed_by_server", "server", "rst")
    elif not ev:
        kind, want_client, want = "upstream refused", "reset", ("upstream_refused", "server", "refused")
    else:
        kind, want_client, want = "other", None, None
        bad.append("%s: the upstream logged %s" % (c["name"], ev))
    kinds[kind] = kinds.get(kind, 0) + 1
    if want_client and c["outcome"] != want_client:
        bad.append("%s (%s): the client saw %s; record %s" % (c["name"], kind, c["outcome"], got))
    if kind == "upstream refused" and got[1:] == ("server", "rst") and got[0] in QUICK_RESET + ("reset_by_server",):
        exceptions.append((c, got))   # reset by the upstream before its request arrived ("reset - nocr")
    elif kind == "reset before the answer" and got[1:] == want[1:] and got[0] in QUICK_RESET:
        pass
    elif want and got != want:
        bad.append("%s (%s): record %s, expected %s" % (c["name"], kind, got, want))
# connections made while nothing listened: refused, every one
for c in conns:
    if any(a + 0.005 <= c["t0"] and c["t1"] <= b for a, b in down):
        r = rec_of(c)
        if r and r["rdpwhy.cause"] != "upstream_refused":
            bad.append("%s made while the upstream was down: %s" % (c["name"], r["rdpwhy.cause"]))
# Each "reset - nocr" line is one; closing a listener also resets, unseen, a
# connection whose handshake its kernel completed after the last accept():
# at most one per restart (usually none).
if len(exceptions) > nocr + res["restarts"]:
    bad.append("%d never-seen connections reset by the upstream, but only %d 'reset - nocr' lines and %d restarts"
               % (len(exceptions), nocr, res["restarts"]))
total = len(all_recs)
if total != n or len(conns) != n:
    bad.append("%d records, %d connections made, %d intended" % (total, len(conns), n))
for k, least in (("upstream refused", 20), ("reset after the answer", 5), ("completed", 150)):
    if kinds.get(k, 0) < least:
        bad.append("only %d '%s' (the test wants at least %d to mean something)" % (kinds.get(k, 0), k, least))
print("  ..   %d connections in %.1f s, %d upstream restarts: %s; %d reset before their request reached the "
      "upstream" % (len(conns), res["run_s"], res["restarts"], kinds, len(exceptions)), file=sys.stderr)
for b in bad[:15]:
    print("    " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
((FAILS == 0)) || die "$FAILS check(s) failed"
log "PASS: an upstream restarting under short connections: one record each, with the right cause"
