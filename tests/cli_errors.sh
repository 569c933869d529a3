#!/bin/bash
# Command-line behaviour: help, version, usage errors, unreadable and
# truncated inputs. Each check must see the documented exit status and message,
# and no sanitizer report on stderr (tests/lib/rdpwhy_run.sh).
set -u
bin=$1
dir=$2
# shellcheck source=lib/rdpwhy_run.sh
. "$(dirname "$0")/lib/rdpwhy_run.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

expect() { # expect STATUS DESCRIPTION -- command...
	local want=$1 desc=$2
	shift 3
	if rw_run "$want" "$tmp/out" "$tmp/err" "$@"; then
		echo "ok   $desc"
	else
		echo "FAIL $desc"; fail=1
	fi
}
grep_out() { grep -q -- "$2" "$tmp/$1" || { echo "FAIL: '$2' not in $1"; cat "$tmp/$1"; fail=1; }; }

expect 0 "--help" -- "$bin" --help
grep_out out "replay FILE"
expect 0 "--version" -- "$bin" --version
grep_out out "^rdpwhy [0-9]"
expect 0 "replay --help" -- "$bin" replay --help
grep_out out "--format"
grep_out out "--filter"
grep_out out "--port"
expect 0 "capture --help" -- "$bin" capture --help
grep_out out "--interface"
expect 2 "no command" -- "$bin"
expect 2 "unknown command" -- "$bin" frobnicate
grep_out err "unknown command"
expect 2 "replay without file" -- "$bin" replay
expect 2 "bad format" -- "$bin" replay --format xml x.pcap
grep_out err "unknown format"
expect 2 "bad port" -- "$bin" replay --port 70000 x.pcap
expect 2 "capture without -i" -- "$bin" capture
expect 1 "missing file" -- "$bin" replay "$tmp/nope.pcap"
grep_out err "nope.pcap"
printf 'this is not a capture file at all\n' >"$tmp/junk.pcap"
expect 1 "not a pcap" -- "$bin" replay "$tmp/junk.pcap"
grep_out err "junk.pcap"
expect 1 "bad BPF filter" -- "$bin" replay --filter "tcp port" "$dir/port_closed.pcap"
grep_out err "filter"

# --expected-cert: the host's own certificate changes nothing, another one is
# a re-originating middlebox.
f="$dir/cert_rejected_tls12.pcap"
expect 0 "replay for the certificate hash" -- "$bin" replay --format json "$f"
sha=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["tls.server.hash.sha256"])' <"$tmp/out") ||
	{ echo "FAIL: no tls.server.hash.sha256 in the record"; fail=1; }
expect 0 "expected cert matches" -- "$bin" replay --format json --expected-cert "$sha" "$f"
grep_out out '"rdpwhy.cause":"certificate_rejected_by_client"'
expect 0 "expected cert differs" -- "$bin" replay --format json --expected-cert "$(printf 'ab%.0s' $(seq 32))" "$f"
grep_out out '"rdpwhy.cause":"tls_stream_altered"'
expect 2 "bad expected cert" -- "$bin" replay --expected-cert 1234 "$f"

# A capture cut in the middle of a packet still yields its records.
src="$dir/tls_ok.pcap"
size=$(wc -c <"$src")
head -c $((size - 30)) "$src" >"$tmp/cut.pcap"
expect 0 "truncated pcap" -- "$bin" replay --format json "$tmp/cut.pcap"
grep_out err "truncated"
grep_out out '"rdpwhy.cause"'

# Several files in one run, and the JSON is one valid object per line.
expect 0 "several files" -- "$bin" replay --format json "$dir/tls_ok.pcap" "$dir/port_closed.pcap"
python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 2, lines
for l in lines:
    json.loads(l)
' "$tmp/out" || { echo "FAIL: JSON lines"; fail=1; }
exit $fail
