#!/bin/bash
# Colour in the text report: a terminal gets the cause coloured (failure red,
# normal_close green), anything else gets plain text; NO_COLOR and TERM=dumb
# turn it off, --color=always/never override, a bad WHEN is a usage error (2).
# A pseudo-terminal comes from script(1) (bsdutils, always on Debian).
set -u
bin=$1
dir=$2
# shellcheck source=lib/rdpwhy_run.sh
. "$(dirname "$0")/lib/rdpwhy_run.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
esc=$'\033'
bad="${esc}[1;31mcertificate_expired${esc}[0m"
good="${esc}[32mnormal_close${esc}[0m"

check() { # DESC FILE WANT(yes|no) PATTERN
	if grep -qF -- "$4" "$2"; then got=yes; else got=no; fi
	if [[ $got == "$3" ]]; then echo "ok   $1"; else
		echo "FAIL $1 (pattern present: $got, wanted $3)"; cat -v "$2" | head -5; fail=1
	fi
}
has_esc() { # DESC FILE WANT
	if grep -q "$esc" "$2"; then got=yes; else got=no; fi
	if [[ $got == "$3" ]]; then echo "ok   $1"; else
		echo "FAIL $1 (escape codes present: $got, wanted $3)"; fail=1
	fi
}
on_tty() { # OUT ENV... -- ARGS: run rdpwhy on a pseudo-terminal
	local out=$1; shift
	local envs=()
	while [[ $1 != -- ]]; do envs+=("$1"); shift; done
	shift
	env "${envs[@]}" script -qec "$(printf '%q ' "$bin" "$@")" /dev/null >"$out" 2>&1
}

pc=$dir/cert_expired_tls12.pcap
ok=$dir/tls_ok.pcap

rw_run 0 "$tmp/pipe" "$tmp/err" "$bin" replay "$pc" || fail=1
has_esc "a pipe gets no colour by default" "$tmp/pipe" no
check "a pipe still gets the cause" "$tmp/pipe" yes "certificate_expired"

rw_run 0 "$tmp/always" "$tmp/err" "$bin" replay --color=always "$pc" "$ok" || fail=1
check "--color=always: failure cause in bold red" "$tmp/always" yes "$bad"
check "--color=always: normal_close in green" "$tmp/always" yes "$good"
rw_run 0 "$tmp/always2" "$tmp/err" "$bin" replay --colour always "$pc" || fail=1
check "--colour always (two words)" "$tmp/always2" yes "$bad"

rw_run 0 "$tmp/file" "$tmp/err" "$bin" replay --color=always -o "$tmp/report.txt" "$pc" || fail=1
has_esc "a file output is never coloured, even with --color=always" "$tmp/report.txt" no
check "the file holds the report" "$tmp/report.txt" yes "certificate_expired"

rw_run 0 "$tmp/json" "$tmp/err" "$bin" replay --color=always --format json "$pc" || fail=1
has_esc "JSON is never coloured" "$tmp/json" no

on_tty "$tmp/tty" TERM=xterm -- replay "$pc"
check "a terminal gets colour" "$tmp/tty" yes "$bad"
on_tty "$tmp/tty_nc" TERM=xterm NO_COLOR=1 -- replay "$pc"
has_esc "NO_COLOR=1 on a terminal: no colour" "$tmp/tty_nc" no
check "NO_COLOR=1: the report is still there" "$tmp/tty_nc" yes "certificate_expired"
on_tty "$tmp/tty_nce" TERM=xterm NO_COLOR= -- replay "$pc"
check "NO_COLOR empty does not count (no-color.org)" "$tmp/tty_nce" yes "$bad"
on_tty "$tmp/tty_dumb" TERM=dumb -- replay "$pc"
has_esc "TERM=dumb: no colour" "$tmp/tty_dumb" no
on_tty "$tmp/tty_never" TERM=xterm -- replay --color=never "$pc"
has_esc "--color=never on a terminal: no colour" "$tmp/tty_never" no
on_tty "$tmp/tty_force" TERM=xterm NO_COLOR=1 -- replay --color=always "$pc"
check "--color=always wins over NO_COLOR" "$tmp/tty_force" yes "$bad"

rw_run 2 "$tmp/o" "$tmp/e" "$bin" replay --color=sometimes "$pc" || fail=1
check "a bad WHEN names the allowed values" "$tmp/e" yes "not auto, always or never"
rw_run 0 "$tmp/o" "$tmp/e" "$bin" replay -- "$pc" || fail=1
check "-- ends the options as before" "$tmp/o" yes "certificate_expired"

exit $fail
