#!/bin/bash
# rdpwhy explain: the argument forms (hex, decimal, a pair, a cause), what each
# prints, and the documented exit statuses (0 explained, 2 usage error), with no
# sanitizer report on stderr (tests/lib/rdpwhy_run.sh).
set -u
bin=$1
# shellcheck source=lib/rdpwhy_run.sh
. "$(dirname "$0")/lib/rdpwhy_run.sh"
rw_checks_begin

# The symptom rdpwhy exists for: both codes, hex.
rw_expect 0 "0x904 0x7" -- "$bin" explain 0x904 0x7
rw_has out "disconnectReasonAtClientWinsockFDCLOSE"
rw_has out "ERRINFO_SERVER_DENIED_CONNECTION (exDiscReasonServerDeniedConnection)"
rw_has out "  1\. rdp_closed_by_server"            # the Set Error Info reading first
rw_has out "  2\. server_denied_connection"       # what inspection reads from it
rw_has out "  3\. tls_rejected_without_alert"      # then 0x904's set-up causes
rw_has out "13\. reset_by_server"
rw_has out "issue #15"                              # errorInfo needs inspection
rw_has out "rdp.neg_failure"                        # how to tell them apart
rw_has out "ms-rdpbcgr/a21a1bd9"                    # the tables' sources
rw_has out "imstscaxevents-ondisconnected"
[[ $(grep -c 'rdp_closed_by_server:' "$tmp/out") == 1 ]] || { echo "FAIL: a cause listed twice"; fail=1; }
cp "$tmp/out" "$tmp/hex"

# The same in decimal, and upper-case hex.
rw_expect 0 "2308 7" -- "$bin" explain 2308 7
cmp -s "$tmp/out" "$tmp/hex" || { echo "FAIL: 2308 7 differs from 0x904 0x7"; fail=1; }
rw_expect 0 "0X904 0X7" -- "$bin" explain 0X904 0X7
cmp -s "$tmp/out" "$tmp/hex" || { echo "FAIL: 0X904 0X7 differs from 0x904 0x7"; fail=1; }

# A disconnect reason alone: the set-up causes, no extended reading.
rw_expect 0 "2308 alone" -- "$bin" explain 2308
rw_has out "mstsc disconnect reason 0x904 (2308)"
rw_has out "  1\. tls_rejected_without_alert"
rw_hasnt out "extended reason"
rw_expect 0 "0x904 0x0" -- "$bin" explain 0x904 0x0
rw_has out "ERRINFO_NONE"
rw_has out "  1\. tls_rejected_without_alert"

# Other tables' rows.
rw_expect 0 "0x204" -- "$bin" explain 0x204
rw_has out "1\. upstream_refused"
rw_has out "2\. upstream_unreachable"
rw_expect 0 "0x104: nothing on the wire" -- "$bin" explain 0x104
rw_has out "none follows from the code alone"
rw_expect 0 "0x3 0x3" -- "$bin" explain 0x3 0x3
rw_has out "ERRINFO_IDLE_TIMEOUT"
rw_has out "1\. normal_close"
rw_expect 0 "protocol range" -- "$bin" explain 0x904 0x1500
rw_has out "exDiscReasonProtocolRangeStart"
rw_expect 0 "an extended code alone" -- "$bin" explain 0x10C9
rw_has out "is not a disconnect reason; it is an extended reason"
rw_has out "ERRINFO_UNKNOWNPDUTYPE2"
rw_expect 0 "SSL_ERR row" -- "$bin" explain 0x807
rw_has out "SSL_ERR_LOGON_FAILURE"
rw_has out "1\. nla_failed"

# A cause's page: docs/causes.md's own section, heading to the next heading.
rw_expect 0 "a cause" -- "$bin" explain tls_cipher_mismatch
rw_has out '^### `tls_cipher_mismatch`'
rw_has out '^- \*\*Fix:\*\*'
rw_hasnt out '^### `tls_rejected_without_alert`'
src=$(dirname "$0")/../docs/causes.md
awk '/^### `tls_cipher_mismatch`/{p=1;print;next} p&&/^(#|##|###) /{exit} p' "$src" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' >"$tmp/want"
cmp -s "$tmp/out" "$tmp/want" || { echo "FAIL: the page differs from docs/causes.md"; diff "$tmp/want" "$tmp/out"; fail=1; }
rw_expect 0 "a cause in a shared heading" -- "$bin" explain reset_by_client
rw_has out '^### `reset_by_server` / `reset_by_client`'

# Listing.
rw_expect 0 "no argument" -- "$bin" explain
rw_has out "usage: rdpwhy explain"
rw_has out "certificate_expired"
rw_has out "disconnect reasons"
rw_expect 0 "--list-causes" -- "$bin" explain --list-causes
[[ $(wc -l <"$tmp/out") -ge 29 ]] || { echo "FAIL: too few causes"; fail=1; }
rw_has out "^normal_close$"
rw_expect 0 "--list-codes" -- "$bin" explain --list-codes
rw_has out "0x904 .* 2308  disconnectReasonAtClientWinsockFDCLOSE"
rw_has out "ERRINFO_DECRYPTFAILED2"
rw_expect 0 "--help" -- "$bin" explain --help
rw_has out "Exit status"
rw_expect 0 "rdpwhy --help names explain" -- "$bin" --help
rw_has out "explain 0x904 0x7"

# Usage errors: exit 2, the message says what is allowed.
rw_expect 2 "unknown cause" -- "$bin" explain tls_mismatch
rw_has err "closest causes: "
rw_has err "tls_cipher_mismatch"
rw_has err "tls_protocol_version_mismatch"
rw_has err "list-causes"
rw_expect 2 "unknown code" -- "$bin" explain 0x905
rw_has err "0x905 is not a documented mstsc"
rw_expect 2 "904 typed without 0x" -- "$bin" explain 904
rw_has err "did you mean 0x904"
rw_expect 2 "unknown extended code" -- "$bin" explain 0x904 0x8000
rw_has err "0x8000 is not a documented mstsc extended reason"
rw_expect 2 "malformed hex" -- "$bin" explain 0x9z4
rw_has err "hex with 0x"
rw_expect 2 "too large" -- "$bin" explain 4294967296
rw_has err "below 2^32"
rw_expect 2 "extended not a number" -- "$bin" explain 0x904 seven
rw_expect 2 "three arguments" -- "$bin" explain 0x904 0x7 0x1
rw_has err "at most two codes"
rw_expect 2 "unknown option" -- "$bin" explain --frob
rw_has err "allowed: --list-causes"
rw_expect 2 "empty argument" -- "$bin" explain ""

exit $fail
