#!/bin/bash
# rdpwhy explain: the argument forms (hex, decimal, a pair, a cause), what each
# prints, and the documented exit statuses (0 explained, 2 usage error), with no
# sanitizer report on stderr (tests/lib/rdpwhy_run.sh).
set -u
bin=$1
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
has() { grep -q -- "$2" "$tmp/$1" || { echo "FAIL: '$2' not in $1"; cat "$tmp/$1"; fail=1; }; }
hasnt() { ! grep -q -- "$2" "$tmp/$1" || { echo "FAIL: '$2' in $1"; cat "$tmp/$1"; fail=1; }; }

# The symptom rdpwhy exists for: both codes, hex.
expect 0 "0x904 0x7" -- "$bin" explain 0x904 0x7
has out "disconnectReasonAtClientWinsockFDCLOSE"
has out "ERRINFO_SERVER_DENIED_CONNECTION (exDiscReasonServerDeniedConnection)"
has out "  1\. rdp_closed_by_server"            # the Set Error Info reading first
has out "  2\. server_denied_connection"       # what inspection reads from it
has out "  3\. tls_rejected_without_alert"      # then 0x904's set-up causes
has out "13\. reset_by_server"
has out "issue #15"                              # errorInfo needs inspection
has out "rdp.neg_failure"                        # how to tell them apart
has out "ms-rdpbcgr/a21a1bd9"                    # the tables' sources
has out "imstscaxevents-ondisconnected"
[[ $(grep -c 'rdp_closed_by_server:' "$tmp/out") == 1 ]] || { echo "FAIL: a cause listed twice"; fail=1; }
cp "$tmp/out" "$tmp/hex"

# The same in decimal, and upper-case hex.
expect 0 "2308 7" -- "$bin" explain 2308 7
cmp -s "$tmp/out" "$tmp/hex" || { echo "FAIL: 2308 7 differs from 0x904 0x7"; fail=1; }
expect 0 "0X904 0X7" -- "$bin" explain 0X904 0X7
cmp -s "$tmp/out" "$tmp/hex" || { echo "FAIL: 0X904 0X7 differs from 0x904 0x7"; fail=1; }

# A disconnect reason alone: the set-up causes, no extended reading.
expect 0 "2308 alone" -- "$bin" explain 2308
has out "mstsc disconnect reason 0x904 (2308)"
has out "  1\. tls_rejected_without_alert"
hasnt out "extended reason"
expect 0 "0x904 0x0" -- "$bin" explain 0x904 0x0
has out "ERRINFO_NONE"
has out "  1\. tls_rejected_without_alert"

# Other tables' rows.
expect 0 "0x204" -- "$bin" explain 0x204
has out "1\. upstream_refused"
has out "2\. upstream_unreachable"
expect 0 "0x104: nothing on the wire" -- "$bin" explain 0x104
has out "none follows from the code alone"
expect 0 "0x3 0x3" -- "$bin" explain 0x3 0x3
has out "ERRINFO_IDLE_TIMEOUT"
has out "1\. normal_close"
expect 0 "protocol range" -- "$bin" explain 0x904 0x1500
has out "exDiscReasonProtocolRangeStart"
expect 0 "an extended code alone" -- "$bin" explain 0x10C9
has out "is not a disconnect reason; it is an extended reason"
has out "ERRINFO_UNKNOWNPDUTYPE2"
expect 0 "SSL_ERR row" -- "$bin" explain 0x807
has out "SSL_ERR_LOGON_FAILURE"
has out "1\. nla_failed"

# A cause's page: docs/causes.md's own section, heading to the next heading.
expect 0 "a cause" -- "$bin" explain tls_cipher_mismatch
has out '^### `tls_cipher_mismatch`'
has out '^- \*\*Fix:\*\*'
hasnt out '^### `tls_rejected_without_alert`'
src=$(dirname "$0")/../docs/causes.md
awk '/^### `tls_cipher_mismatch`/{p=1;print;next} p&&/^(#|##|###) /{exit} p' "$src" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' >"$tmp/want"
cmp -s "$tmp/out" "$tmp/want" || { echo "FAIL: the page differs from docs/causes.md"; diff "$tmp/want" "$tmp/out"; fail=1; }
expect 0 "a cause in a shared heading" -- "$bin" explain reset_by_client
has out '^### `reset_by_server` / `reset_by_client`'

# Listing.
expect 0 "no argument" -- "$bin" explain
has out "usage: rdpwhy explain"
has out "certificate_expired"
has out "disconnect reasons"
expect 0 "--list-causes" -- "$bin" explain --list-causes
[[ $(wc -l <"$tmp/out") -ge 29 ]] || { echo "FAIL: too few causes"; fail=1; }
has out "^normal_close$"
expect 0 "--list-codes" -- "$bin" explain --list-codes
has out "0x904 .* 2308  disconnectReasonAtClientWinsockFDCLOSE"
has out "ERRINFO_DECRYPTFAILED2"
expect 0 "--help" -- "$bin" explain --help
has out "Exit status"
expect 0 "rdpwhy --help names explain" -- "$bin" --help
has out "explain 0x904 0x7"

# Usage errors: exit 2, the message says what is allowed.
expect 2 "unknown cause" -- "$bin" explain tls_mismatch
has err "closest causes: "
has err "tls_cipher_mismatch"
has err "tls_protocol_version_mismatch"
has err "list-causes"
expect 2 "unknown code" -- "$bin" explain 0x905
has err "0x905 is not a documented mstsc"
expect 2 "904 typed without 0x" -- "$bin" explain 904
has err "did you mean 0x904"
expect 2 "unknown extended code" -- "$bin" explain 0x904 0x8000
has err "0x8000 is not a documented mstsc extended reason"
expect 2 "malformed hex" -- "$bin" explain 0x9z4
has err "hex with 0x"
expect 2 "too large" -- "$bin" explain 4294967296
has err "below 2^32"
expect 2 "extended not a number" -- "$bin" explain 0x904 seven
expect 2 "three arguments" -- "$bin" explain 0x904 0x7 0x1
has err "at most two codes"
expect 2 "unknown option" -- "$bin" explain --frob
has err "allowed: --list-causes"
expect 2 "empty argument" -- "$bin" explain ""

exit $fail
