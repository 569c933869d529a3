#!/bin/bash
# rdpwhy capture on the loopback interface: a refused connection and an RDP
# host that answers with RDP_NEG_FAILURE (what Windows sends; xrdp never does)
# on a non-standard port, found by its X.224 Connection Request. Needs root
# (CAP_NET_RAW); exits 77 (skipped) without it.
#
# The traffic starts once capture printed its ready line ("rdpwhy capture:
# ready: capturing on lo": the kernel delivers packets), not after a sleep; on
# SIGINT capture reads what the kernel still holds, then must exit 0 with no
# sanitizer report on stderr.
set -eu
bin=$1
# shellcheck source=lib/rdpwhy_run.sh
. "$(dirname "$0")/lib/rdpwhy_run.sh"
[ "$(id -u)" -eq 0 ] || { echo "skip: live capture needs root"; exit 77; }
tmp=$(mktemp -d)
cap_pid=""
cleanup() {
	if [ -n "$cap_pid" ]; then
		kill "$cap_pid" 2>/dev/null || true
		wait "$cap_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# Two free ports on loopback: one left closed, one for the fake host.
ports=$(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))
')
closed=${ports% *}
host=${ports#* }

"$bin" capture -i lo --format json -p "$closed" \
	--filter "tcp port $closed or tcp port $host" >"$tmp/out" 2>"$tmp/err" &
cap_pid=$!
rw_wait_ready "$tmp/err" "$cap_pid" || { echo "FAIL: rdpwhy capture did not get ready"; exit 1; }

python3 - "$closed" "$host" <<'PY'
import socket, struct, sys, threading
closed, host = int(sys.argv[1]), int(sys.argv[2])

# 1. Nothing listens: the SYN is answered by RST.
try:
    socket.create_connection(("127.0.0.1", closed), timeout=2)
    sys.exit("connect to the closed port succeeded")
except ConnectionRefusedError:
    pass

# 2. A host that refuses the requested security protocol (MS-RDPBCGR 2.2.1.2.2).
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", host))
srv.listen(1)
def serve():
    c, _ = srv.accept()
    c.recv(4096)
    failure = struct.pack("<BBHI", 3, 0, 8, 5)  # HYBRID_REQUIRED_BY_SERVER
    cc = bytes([14, 0xD0, 0, 0, 0x12, 0x34, 0]) + failure
    c.sendall(struct.pack(">BBH", 3, 0, 4 + len(cc)) + cc)
    c.close()
t = threading.Thread(target=serve)
t.start()
cookie = b"Cookie: mstshash=live\r\n"
neg = struct.pack("<BBHI", 1, 0, 8, 1)  # RDP_NEG_REQ, PROTOCOL_SSL
x224 = bytes([6 + len(cookie) + len(neg), 0xE0, 0, 0, 0, 0, 0]) + cookie + neg
cl = socket.create_connection(("127.0.0.1", host))
cl.sendall(struct.pack(">BBH", 3, 0, 4 + len(x224)) + x224)
data = cl.recv(4096)
assert data[11] == 3, data
cl.recv(4096)  # the host's FIN
cl.close()
t.join()
PY

kill -INT "$cap_pid"
rc=0
wait "$cap_pid" || rc=$?
cap_pid=""
rw_check_end "rdpwhy capture (SIGINT)" "$rc" 0 "$tmp/err" || { echo "FAIL: rdpwhy capture"; exit 1; }

python3 - "$tmp/out" "$closed" "$host" <<'PY'
import sys
from records import load  # tests/lib: dotted names, nested or flat
recs = load(sys.argv[1])
by_port = {r["destination.port"]: r for r in recs}
closed, host = int(sys.argv[2]), int(sys.argv[3])
assert len(recs) == 2, recs
r = by_port[closed]
assert (r["rdpwhy.cause"], r["rdpwhy.closed_by"], r["rdpwhy.close_kind"]) == \
    ("upstream_refused", "server", "refused"), r
r = by_port[host]
assert r["rdpwhy.cause"] == "security_negotiation_failure", r
assert r["rdp.neg_failure"] == "hybrid_required_by_server", r
assert r["rdp.cookie"] == "live", r
assert r["rdp.requested_protocols"] == ["ssl"], r
assert r["rdpwhy.closed_by"] == "server" and r["rdpwhy.phase"] == "x224", r
print("ok: live capture gave", [x["rdpwhy.cause"] for x in recs])
PY

# Without --filter the kernel keeps only what the analysis can use: all TCP
# when any port may carry RDP, the analysed ports' TCP with --only-ports. The
# ready line names the filter in force.
for mode in default only; do
	args=(capture -i lo --format json -p "$closed")
	want="tcp"
	if [[ $mode == only ]]; then
		args+=(--only-ports -p "$host")
		want="tcp and (port $closed or port $host)"
	fi
	"$bin" "${args[@]}" >"$tmp/out.$mode" 2>"$tmp/err.$mode" &
	cap_pid=$!
	rw_wait_ready "$tmp/err.$mode" "$cap_pid" || { echo "FAIL: capture ($mode) did not get ready"; exit 1; }
	grep -qF "ready: capturing on lo (filter: $want)" "$tmp/err.$mode" ||
		{ echo "FAIL: capture ($mode): want the filter '$want' in the ready line:"; cat "$tmp/err.$mode"; exit 1; }
	kill -TERM "$cap_pid"
	rc=0
	wait "$cap_pid" || rc=$?
	cap_pid=""
	rw_check_end "rdpwhy capture ($mode, SIGTERM)" "$rc" 0 "$tmp/err.$mode" || { echo "FAIL: rdpwhy capture ($mode)"; exit 1; }
done
echo "ok: default capture filters"
