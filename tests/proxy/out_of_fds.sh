#!/usr/bin/env bash
# out_of_fds.sh BIN — out of descriptors (issue #12, "load and faults"): the
# proxy runs under `prlimit --nofile=128:128` (two descriptors a connection:
# about 58 connections fit) and 150 clients connect at once, each sending
# its X.224 request; the upstream answers every one.
#
# Asserts (load_peers.py fds): some but not all clients are served at the
# limit; "out of file descriptors ... accepting paused" is logged once and
# not repeated while the proxy sits at the limit; accepting is paused, not
# spinning (under 0.5 s of CPU in 3 s at the limit); no waiting client is
# dropped, reset or closed (they wait in the kernel's accept queue). The
# served clients then finish (echo, FIN) wave after wave: every one of the
# 150 is served in the end, relays its echo and closes normally;
# "accepting connections again" is logged; afterwards 20 new connections are
# all served at once. 170 records, each closed_by client, close_kind fin.
# The proxy exits 0 on SIGTERM. (tests/proxy/daemon.sh case d covers 40
# clients at 32/33 descriptors, both parities.) Loopback; ~15 s.
set -euo pipefail
TEST_NAME=out_of_fds
# shellcheck source=load_lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/load_lib.sh"
load_init "$@"

LIMIT=128
N=150
read -r PORT UP < <(free_ports 2)
start_upstream "$UP"
start_proxy "$PORT" "$UP" prlimit "--nofile=$LIMIT:$LIMIT" --
grep -Eq "^Max open files +$LIMIT +$LIMIT " "/proc/$PROXY_PID/limits" || die "the proxy does not run with nofile $LIMIT"
peers_py fds 127.0.0.1 "$PORT" "$PROXY_PID" "$WORK/proxy.stderr" "$LIMIT" "$N" "$WORK/fds.json" || true
wait_lines "$WORK/records.json" $((N + 20)) 20 || true
finish_proxy
check "$((N + 20)) records, each closed_by client, close_kind fin" python3 - "$WORK" $((N + 20)) <<'PY'
import json, sys
from records import loads  # tests/lib: a record by dotted names, nested or flat
work, n = sys.argv[1], int(sys.argv[2])
ports = json.load(open(work + "/fds.json"))["ports"]
recs = {r["source.port"]: r for r in map(loads, open(work + "/records.json"))}
bad = [p for p in ports if (recs.get(p, {}).get("rdpwhy.closed_by"), recs.get(p, {}).get("rdpwhy.close_kind")) != ("client", "fin")]
if bad or len(recs) != n:
    print("    %d records; %d clients without a client/fin record" % (len(recs), len(bad)), file=sys.stderr)
sys.exit(1 if bad or len(recs) != n else 0)
PY
((FAILS == 0)) || die "$FAILS check(s) failed"
log "PASS: out of descriptors: accepting paused and resumed, logged, nobody dropped"
