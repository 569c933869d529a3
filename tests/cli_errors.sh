#!/bin/bash
# Command-line behaviour: help, version, usage errors, unreadable and
# truncated inputs. Each check must see the documented exit status and message,
# and no sanitizer report on stderr (tests/lib/rdpwhy_run.sh).
set -u
bin=$1
dir=$2
# shellcheck source=lib/rdpwhy_run.sh
. "$(dirname "$0")/lib/rdpwhy_run.sh"
rw_checks_begin

# jq_out FILE FILTER: the JSON records (nested, the default) answer FILTER true.
jq_out() { jq -e "$2" "$tmp/$1" >/dev/null || { echo "FAIL: jq '$2' not true on $1"; cat "$tmp/$1"; fail=1; }; }
# Python reads records by dotted names, nested or flat (tests/lib/records.py).
export PYTHONPATH="$(cd "$(dirname "$0")" && pwd)/lib${PYTHONPATH:+:$PYTHONPATH}"

rw_expect 0 "--help" -- "$bin" --help
rw_has out "replay FILE"
rw_expect 0 "--version" -- "$bin" --version
rw_has out "^rdpwhy [0-9]"
rw_expect 0 "replay --help" -- "$bin" replay --help
rw_has out "--format"
rw_has out "--filter"
rw_has out "--port"
rw_expect 0 "capture --help" -- "$bin" capture --help
rw_has out "--interface"
rw_expect 2 "no command" -- "$bin"
rw_expect 2 "unknown command" -- "$bin" frobnicate
rw_has err "unknown command"
rw_expect 2 "replay without file" -- "$bin" replay
rw_expect 2 "bad format" -- "$bin" replay --format xml x.pcap
rw_has err "unknown format"
rw_expect 2 "bad port" -- "$bin" replay --port 70000 x.pcap
rw_expect 2 "capture without -i" -- "$bin" capture
rw_expect 1 "missing file" -- "$bin" replay "$tmp/nope.pcap"
rw_has err "nope.pcap"
printf 'this is not a capture file at all\n' >"$tmp/junk.pcap"
rw_expect 1 "not a pcap" -- "$bin" replay "$tmp/junk.pcap"
rw_has err "junk.pcap"
rw_expect 2 "bad BPF filter: a usage error, named once" -- "$bin" replay --filter "tcp port" "$dir/port_closed.pcap"
rw_has err "^rdpwhy replay: --filter 'tcp port': .*pcap-filter"
grep -q "port_closed.pcap" "$tmp/err" && { echo "FAIL: the bad filter blamed the capture file"; fail=1; }
rw_expect 2 "bad BPF filter in capture" -- "$bin" capture -i lo --filter "tcp port"
rw_has err "^rdpwhy capture: --filter 'tcp port'"

# --opt=value wherever --opt value works; a flag given a value is a usage error.
rw_expect 0 "--format=json" -- "$bin" replay --format=json "$dir/tls_ok.pcap"
# Nested by default: jq paths as ECS writes them.
jq_out out '.rdpwhy.cause == "normal_close" and .event.kind == "event" and (.source.port | type) == "number"'
grep -q '"rdpwhy\.' "$tmp/out" && { echo "FAIL: a dotted rdpwhy. key in the default (nested) record"; fail=1; }
# --json-style flat: the dotted keys, same values; --json-style=nested as the default.
rw_expect 0 "--json-style flat" -- "$bin" replay --format json --json-style flat "$dir/tls_ok.pcap"
rw_has out '^{"@timestamp":"[^"]*","event.kind":"event",'
rw_has out '"rdpwhy.cause":"normal_close","rdpwhy.closed_by":"'
cp "$tmp/out" "$tmp/flat.json"
rw_expect 0 "--json-style=nested" -- "$bin" replay --format json --json-style=nested "$dir/tls_ok.pcap"
python3 -c 'import json, sys
from records import flatten
a, b = (json.loads(open(f).readline()) for f in sys.argv[1:])
sys.exit(list(flatten(a).items()) != list(b.items()))' "$tmp/out" "$tmp/flat.json" ||
	{ echo "FAIL: the nested record flattened is not the flat one"; fail=1; }
rw_expect 0 "--set json_style=flat" -- "$bin" replay --format json --set json_style=flat "$dir/tls_ok.pcap"
cmp -s "$tmp/out" "$tmp/flat.json" || { echo "FAIL: --set json_style=flat differs from --json-style flat"; fail=1; }
rw_expect 0 "-o - json_style=flat" -- "$bin" replay --format json -o "- json_style=flat" "$dir/tls_ok.pcap"
cmp -s "$tmp/out" "$tmp/flat.json" || { echo "FAIL: the output's json_style=flat differs from --json-style flat"; fail=1; }
rw_expect 2 "--json-style bogus" -- "$bin" replay --format json --json-style bogus "$dir/tls_ok.pcap"
rw_has err "unknown JSON style 'bogus' (nested or flat)"
rw_expect 2 "-o - json_style=bogus" -- "$bin" replay --format json -o "- json_style=bogus" "$dir/tls_ok.pcap"
rw_has err "json_style: expected nested or flat, not 'bogus'"
rw_expect 0 "--port=3389 --filter=tcp" -- "$bin" replay --port=3389 --filter=tcp "$dir/tls_ok.pcap"
rw_has out "normal_close"
rw_expect 2 "--only-ports=yes" -- "$bin" replay --only-ports=yes "$dir/tls_ok.pcap"
rw_has err "only-ports takes no value"
rw_expect 2 "proxy --format=xml: usage error" -- "$bin" proxy --listen=127.0.0.1:1 --upstream=127.0.0.1:2 --format=xml
rw_has err "format"
rw_expect 2 "proxy --tproxy=1" -- "$bin" proxy --tproxy=1
rw_expect 2 "probe --help=x" -- "$bin" probe --help=x
rw_expect 0 "a file named after --: a path" -- "$bin" replay --format json -- "$dir/tls_ok.pcap"
rw_expect 2 "--port=0: the range" -- "$bin" replay --port=0 "$dir/tls_ok.pcap"
rw_has err "'0' is not a port number (1-65535)"
rw_expect 2 "-o with a bad option: named once" -- "$bin" replay -o "tcp://127.0.0.1:9 bogus=1" "$dir/tls_ok.pcap"
rw_has err "^rdpwhy: --output: unknown option 'bogus'"
grep -q "output: output" "$tmp/err" && { echo "FAIL: the message stutters"; fail=1; }
rw_expect 1 "missing file: its path once" -- "$bin" replay "$tmp/nope.pcap"
[[ $(grep -o "nope.pcap" "$tmp/err" | wc -l) == 1 ]] || { echo "FAIL: the path is not named exactly once"; cat "$tmp/err"; fail=1; }
rw_has err "No such file or directory"
: >"$tmp/empty.pcap"
rw_expect 1 "empty file" -- "$bin" replay "$tmp/empty.pcap"
rw_has err "empty.pcap: is empty (0 bytes), not a capture file"
rw_expect 0 "stdin" -- "$bin" replay --format json - <"$dir/tls_ok.pcap"
jq_out out '.rdpwhy.cause == "normal_close"'

# Compressed captures (tcpdump -z gzip, zstd archives): the same records; a
# cut stream is a truncated file (exit 0, a warning), garbage a clear error.
gzip -c "$dir/tls_ok.pcap" >"$tmp/t.pcap.gz"
zstd -q -c "$dir/tls_ok.pcap" >"$tmp/t.pcap.zst" || { echo "FAIL: zstd (scripts/setup.sh --test installs it)"; fail=1; }
rw_expect 0 "plain, for comparison" -- "$bin" replay --format json "$dir/tls_ok.pcap"
cp "$tmp/out" "$tmp/plain.json"
for z in gz zst; do
	rw_expect 0 "$z capture" -- "$bin" replay --format json "$tmp/t.pcap.$z"
	python3 -c 'import sys
from records import loads
a, b = ([{k: v for k, v in loads(l).items() if k != "rdpwhy.file"} for l in open(f)] for f in sys.argv[1:])
sys.exit(a != b)' "$tmp/out" "$tmp/plain.json" || { echo "FAIL: the .$z capture gives other records"; fail=1; }
done
head -c 3000 "$tmp/t.pcap.gz" >"$tmp/cut.pcap.gz"
rw_expect 0 "cut .gz: a truncated file" -- "$bin" replay "$tmp/cut.pcap.gz"
rw_has err "cut.pcap.gz is truncated or damaged (gzip: unexpected end of file"
head -c 3000 "$tmp/t.pcap.zst" >"$tmp/cut.zst"
rw_expect 1 "cut .zst before the first packet" -- "$bin" replay "$tmp/cut.zst"
rw_has err "cut.zst: zstd-compressed, zstd: unexpected end"
printf '\x1f\x8bnot gzip at all' >"$tmp/bad.gz"
rw_expect 1 "gzip magic, garbage after" -- "$bin" replay "$tmp/bad.gz"
rw_has err "bad.gz: gzip-compressed, gzip: "

# rdpwhy.file and rdpwhy.frames.*: Wireshark's frame numbers, per file.
n1=$(tcpdump -r "$dir/tls_ok.pcap" 2>/dev/null | grep -c .)
mergecap -a -F pcap -w "$tmp/two.pcap" "$dir/tls_ok.pcap" "$dir/cert_rejected.pcap"
rw_expect 0 "frames in a file of two connections" -- "$bin" replay --format json "$tmp/two.pcap" "$dir/port_closed.pcap"
python3 - "$tmp/out" "$n1" "$tmp/two.pcap" "$dir/port_closed.pcap" <<'PY' || fail=1
import sys
from records import load
recs = sorted(load(sys.argv[1]), key=lambda r: (r["rdpwhy.file"], r["rdpwhy.frames.first"]))
n1, two, third = int(sys.argv[2]), sys.argv[3], sys.argv[4]
got = [(r["rdpwhy.file"], r["rdpwhy.frames.first"]) for r in recs]
want = sorted([(two, 1), (two, n1 + 1), (third, 1)])
if got != want:
    print("FAIL frames: got %s, want %s" % (got, want)); sys.exit(1)
if any(r["rdpwhy.frames.last"] < r["rdpwhy.frames.first"] for r in recs):
    print("FAIL frames: last before first"); sys.exit(1)
PY
rw_expect 0 "frames in the text report" -- "$bin" replay "$dir/tls_ok.pcap"
rw_has out "^  frames     1-[0-9]* of .*tls_ok.pcap$"

rw_expect 2 "--fix with --format html to stdout" -- "$bin" replay --format html --fix "$dir/tls_ok.pcap"
rw_has err "needs -o FILE"

# --summary: counts per cause, server, client and cookie; records only to -o.
rw_expect 0 "--summary" -- "$bin" replay --summary "$dir/tls_ok.pcap" "$dir/cert_rejected.pcap" "$dir/port_closed.pcap"
rw_has out "^summary    3 connections, 2 failed"
rw_has out "^           1  normal_close"
rw_has out "^           1  certificate_rejected_by_client"
rw_has out "^           1  upstream_refused"
grep -q "cause      " "$tmp/out" && { echo "FAIL: --summary alone printed records"; fail=1; }
rw_expect 0 "--summary --format json, records to -o" -- "$bin" replay --summary --format json -o "$tmp/recs.json" "$dir/tls_ok.pcap" "$dir/cert_rejected.pcap"
python3 - "$tmp/out" "$tmp/recs.json" <<'PY' || fail=1
import json, sys
from records import load
whole = json.loads(open(sys.argv[1]).read())
s = whole["rdpwhy"]["summary"]  # nested, as the records are by default
recs = load(sys.argv[2])
bad = []
if whole.get("event") != {"kind": "metric"}: bad.append("event %s" % whole.get("event"))
if s["connections"] != 2 or len(recs) != 2: bad.append("2 connections, 2 records: %s %d" % (s["connections"], len(recs)))
if s["causes"] != {"normal_close": 1, "certificate_rejected_by_client": 1}: bad.append("causes %s" % s["causes"])
if s["failed"] != 1: bad.append("failed %s" % s["failed"])
if [x["address"] for x in s["servers"]] != sorted({r["destination.ip"] + ":" + str(r["destination.port"]) for r in recs}): bad.append("servers %s" % s["servers"])
if len(s["sources"]) != 2: bad.append("sources %s" % s["sources"])
for b in bad: print("FAIL summary json:", b)
sys.exit(1 if bad else 0)
PY
rw_expect 0 "--summary --format json --json-style flat" -- "$bin" replay --summary --format json --json-style flat -o "$tmp/recs_flat.json" "$dir/tls_ok.pcap"
python3 - "$tmp/out" <<'PY' || fail=1
import json, sys
s = json.loads(open(sys.argv[1]).read())
ok = s.get("event.kind") == "metric" and s["rdpwhy.summary"]["connections"] == 1
print("ok   flat summary: dotted keys" if ok else "FAIL flat summary: %s" % s)
sys.exit(0 if ok else 1)
PY

# --expected-cert: the host's own certificate changes nothing, another one is
# a re-originating middlebox.
f="$dir/cert_rejected_tls12.pcap"
rw_expect 0 "replay for the certificate hash" -- "$bin" replay --format json "$f"
sha=$(jq -er '.tls.server.hash.sha256' "$tmp/out") ||
	{ echo "FAIL: no tls.server.hash.sha256 in the record"; fail=1; }
rw_expect 0 "expected cert matches" -- "$bin" replay --format json --expected-cert "$sha" "$f"
jq_out out '.rdpwhy.cause == "certificate_rejected_by_client"'
rw_expect 0 "expected cert differs" -- "$bin" replay --format json --expected-cert "$(printf 'ab%.0s' $(seq 32))" "$f"
jq_out out '.rdpwhy.cause == "tls_stream_altered"'
rw_expect 2 "bad expected cert" -- "$bin" replay --expected-cert 1234 "$f"

# A capture cut in the middle of a packet still yields its records.
src="$dir/tls_ok.pcap"
size=$(wc -c <"$src")
head -c $((size - 30)) "$src" >"$tmp/cut.pcap"
rw_expect 0 "truncated pcap" -- "$bin" replay --format json "$tmp/cut.pcap"
rw_has err "truncated"
jq_out out '.rdpwhy.cause | type == "string"'

# Several files in one run, and the JSON is one valid object per line.
rw_expect 0 "several files" -- "$bin" replay --format json "$dir/tls_ok.pcap" "$dir/port_closed.pcap"
python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 2, lines
for l in lines:
    json.loads(l)
' "$tmp/out" || { echo "FAIL: JSON lines"; fail=1; }
exit $fail
