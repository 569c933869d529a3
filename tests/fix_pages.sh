#!/bin/bash
# replay --fix: after the records, the "#### Fix" subsection of docs/causes.md
# (as built into the binary) for each cause found, once per cause, cut at the
# next heading; nothing more without --fix. Every cause has such a page
# (tests/unit/test_explain.c); this checks what replay prints.
set -u
bin=$1 data=$2
# shellcheck source=lib/rdpwhy_run.sh
. "$(dirname "$0")/lib/rdpwhy_run.sh"
src=$(dirname "$0")/../docs/causes.md
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL $*"; fail=1; }

# The Fix subsection of CAUSE in docs/causes.md, as --fix prints it: the
# section's heading, then "#### Fix" up to the next heading of level 1-4
# (outside fenced code), without the blank lines before it.
want_fix() {
	awk -v c="$1" '
		/^ *```/ { fence = !fence }
		!fence && /^### / { insec = index($0, "`" c "`") > 0; if (insec) head = $0; infix = 0; next }
		!fence && match($0, /^#+ /) && RLENGTH <= 5 { if (infix) exit; if (insec && $0 == "#### Fix") { print "\n" head; infix = 1; print; next } }
		infix { print }
	' "$src" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'
}

# Two failures and a normal close in one run: three pages, in cause-code order.
files=("$data/tls_version_mismatch.pcap" "$data/port_closed.pcap" "$data/tls_ok.pcap" "$data/tls_cipher_mismatch.pcap")
rw_run 0 "$tmp/plain" "$tmp/err" "$bin" replay "${files[@]}" || bad "replay without --fix"
rw_run 0 "$tmp/fix" "$tmp/err" "$bin" replay --fix "${files[@]}" || bad "replay --fix"
grep -q '^#### Fix' "$tmp/plain" && bad "pages printed without --fix"
n=$(wc -l <"$tmp/plain")
head -n "$n" "$tmp/fix" | cmp -s - "$tmp/plain" || bad "--fix changed the records"
tail -n +"$((n + 1))" "$tmp/fix" >"$tmp/pages"
: >"$tmp/want"
for c in normal_close upstream_refused tls_protocol_version_mismatch tls_cipher_mismatch; do
	want_fix "$c" >>"$tmp/want"
done
cmp -s "$tmp/pages" "$tmp/want" || { bad "the pages differ from docs/causes.md"; diff "$tmp/want" "$tmp/pages" | head -40; }
[[ $(grep -c '^#### Fix' "$tmp/pages") == 4 ]] || bad "not one page per cause"
grep -q '^- \*\*Confirm it\*\*' "$tmp/pages" || bad "no Confirm it"
grep -q 'Enable-TlsCipherSuite' "$tmp/pages" || bad "tls_cipher_mismatch's change missing"
grep -q '^- \*\*Fix:\*\*' "$tmp/pages" && bad "the section's one-line Fix bullet is not the page"

# The same cause twice: its page once.
rw_run 0 "$tmp/twice" "$tmp/err" "$bin" replay --fix "$data/port_closed.pcap" "$data/port_closed.pcap" || bad "replay --fix twice"
[[ $(grep -c '^### `upstream_refused`' "$tmp/twice") == 1 ]] || bad "a page printed twice"

# JSON records, then the pages; --summary alone, then the pages too.
rw_run 0 "$tmp/json" "$tmp/err" "$bin" replay --fix -f json "$data/port_closed.pcap" || bad "--fix -f json"
head -n 1 "$tmp/json" | python3 -c 'import json,sys; json.loads(sys.stdin.readline())' || bad "the JSON record"
grep -q '^### `upstream_refused`' "$tmp/json" || bad "no page after JSON"
rw_run 0 "$tmp/sum" "$tmp/err" "$bin" replay --fix --summary "$data/port_closed.pcap" || bad "--fix --summary"
grep -q '^#### Fix' "$tmp/sum" || bad "no page with --summary"

# The text report's fix line stays one line.
[[ $(grep -c '^  fix ' "$tmp/plain") == 4 ]] || bad "the report's fix line"
exit $fail
