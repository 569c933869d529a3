#!/usr/bin/env bash
# never_read.sh BIN — a peer that never reads (issue #12, "load and faults"):
# the upstream answers the X.224 request, then stops reading; the client
# sends 256 MiB as fast as it can with non-blocking writes.
#
# Asserts (load_peers.py never_read): the client's writes block (it could
# hand over less than the 256 MiB, and nothing more for 2 s): the proxy
# stopped reading it; the proxy's resident memory grew by less than 16 MiB
# meanwhile (max_buffer, 256 KiB by default, bounds what it holds); once the
# upstream reads again every byte arrives (count and SHA-256 equal) and the
# FINs pass both ways. The record: closed_by client, close_kind fin,
# source.bytes = what the client sent. The proxy exits 0 on SIGTERM.
# Loopback; ~10 s.
set -euo pipefail
TEST_NAME=never_read
# shellcheck source=load_lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/load_lib.sh"
load_init "$@"

read -r PORT UP < <(free_ports 2)
start_proxy "$PORT" "$UP"
peers_py never_read 127.0.0.1 "$PORT" 127.0.0.1 "$UP" "$PROXY_PID" 256 "$WORK/never_read.json" || true
wait_lines "$WORK/records.json" 1 10 || true
finish_proxy
check "the record: closed_by client, fin, source.bytes = what the client sent" python3 - "$WORK" <<'PY'
import json, sys
from records import loads  # tests/lib: a record by dotted names, nested or flat
work = sys.argv[1]
res = json.load(open(work + "/never_read.json"))
recs = [loads(l) for l in open(work + "/records.json")]
r = recs[0] if len(recs) == 1 else {}
print("  ..   stalled after %.1f MiB; proxy RSS %d KiB before, %d KiB stalled; drained in %.1f s"
      % (res["stalled_after_bytes"] / 2**20, res["rss_before_kib"], res["rss_stalled_kib"], res["drain_s"]), file=sys.stderr)
ok = (len(recs) == 1 and r.get("rdpwhy.closed_by") == "client" and r.get("rdpwhy.close_kind") == "fin"
      and r.get("source.bytes") == res["client_bytes"])
if not ok:
    print("    %d records; %s" % (len(recs), {k: r.get(k) for k in ("rdpwhy.closed_by", "rdpwhy.close_kind", "source.bytes")}), file=sys.stderr)
sys.exit(0 if ok else 1)
PY
((FAILS == 0)) || die "$FAILS check(s) failed"
log "PASS: a peer that never reads: memory bounded, the sender throttled, nothing lost"
