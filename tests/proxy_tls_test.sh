#!/bin/bash
# openssl s_client -> rdpwhy proxy -> openssl s_server on loopback: a TLS
# version mismatch, a cipher-suite mismatch and an expired certificate
# rejected by a verifying client each give their cause code; a good handshake
# gives the version and suite both peers agreed on. Each proxy must exit 0 on
# SIGTERM with no sanitizer report on stderr; servers and the proxy are used
# once their ready lines are out (s_server's ACCEPT, rdpwhy's "ready:").
set -euo pipefail
bin=$(readlink -f "$1")
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
pids=()
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
fail=0

# shellcheck source=lib/rdpwhy_run.sh
. "$(dirname "$0")/lib/rdpwhy_run.sh"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# shellcheck source=lib/rdp_peers.sh
. "$(dirname "$0")/lib/rdp_peers.sh"
# A CA, a server certificate it signed (valid), and one that expired in 2021.
rp_ca "$tmp" ca "rdpwhy test CA"
rp_cert "$tmp" host 127.0.0.1 IP:127.0.0.1 --ca ca
rp_cert "$tmp" expired 127.0.0.1 IP:127.0.0.1 --ca ca --expired

# run_case NAME EXPECTED_CAUSE "SERVER ARGS" "CLIENT ARGS"|python [FULL_EXPECTED]
# FULL_EXPECTED is "cause phase tls.version tls.cipher".
run_case() {
	local name=$1 want=$2 sargs=$3 cargs=$4
	local sport pport spid ppid infd crc=0 prc=0
	sport=$(free_port)
	pport=$(free_port)
	# Ready when it printed ACCEPT (it listens): a probe connection would use
	# its one accept. Not -quiet, which hides that line. Its stdin stays
	# open: at EOF s_server would end the session on its own.
	# stdin: a FIFO this shell holds open read-write (no EOF, no extra process).
	mkfifo "$tmp/$name.stdin"
	exec {infd}<>"$tmp/$name.stdin"
	# shellcheck disable=SC2086
	openssl s_server -accept "127.0.0.1:$sport" -naccept 1 $sargs \
		<&"$infd" >"$tmp/$name.server" 2>&1 &
	exec {infd}>&-
	spid=$!
	pids+=("$spid")
	if ! rw_wait_line "$tmp/$name.server" '^ACCEPT' "$spid" 20 "openssl s_server ($name)"; then
		echo "FAIL $name: openssl s_server did not start"
		fail=1
		return
	fi
	mkdir -p "$tmp/$name.pcaps"
	"$bin" proxy --listen "127.0.0.1:$pport" --upstream "127.0.0.1:$sport" \
		--format json --output "$tmp/$name.json" --pcap-dir "$tmp/$name.pcaps" \
		2>"$tmp/$name.proxy" &
	ppid=$!
	pids+=("$ppid")
	if ! rw_wait_ready "$tmp/$name.proxy" "$ppid"; then
		echo "FAIL $name: rdpwhy proxy did not get ready"
		fail=1
		return
	fi
	# shellcheck disable=SC2086
	if [ "$cargs" = python ]; then
		# A client that sends application data and then closes first, as an
		# RDP client would (s_client's close_notify exchange races the FINs).
		timeout 10 python3 - "$pport" "$tmp/ca.pem" >"$tmp/$name.client" 2>&1 <<'PY' || crc=$?
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
s.sendall(b"hello rdp host\n")
# A FIN without close_notify. Not raw.shutdown(): wrap_socket took raw's
# descriptor (EBADF, which the test ignored until it checked this exit status).
s.shutdown(socket.SHUT_WR)
print("sent, closed")
PY
		# This client must succeed: the handshake through the proxy works.
		[ "$crc" -eq 0 ] || { echo "FAIL $name: the TLS client failed (exit $crc)"; fail=1; }
	else
		timeout 10 openssl s_client -connect "127.0.0.1:$pport" $cargs \
			</dev/null >"$tmp/$name.client" 2>&1 || crc=$?
		# These handshakes fail on purpose; a client that hung does not count.
		[ "$crc" -ne 124 ] || { echo "FAIL $name: s_client timed out"; fail=1; }
	fi
	# The record is written once both legs are closed: wait for it (bounded;
	# a missing record fails the check below), then stop the proxy.
	for _ in $(seq 200); do
		[ -s "$tmp/$name.json" ] && break
		kill -0 "$ppid" 2>/dev/null || break
		sleep 0.05
	done
	if ! kill -TERM "$ppid" 2>/dev/null; then
		echo "FAIL $name: the proxy exited before SIGTERM"
		fail=1
	fi
	wait "$ppid" || prc=$?
	rw_check_end "rdpwhy proxy ($name, SIGTERM)" "$prc" 0 "$tmp/$name.proxy" || fail=1
	kill "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true # s_server, killed: its status says nothing
	local got
	got=$(python3 - "$tmp/$name.json" "$want" "${5:-}" <<'PY'
import sys
from records import load  # tests/lib: dotted names, nested or flat
try:
    recs = load(sys.argv[1])
except FileNotFoundError:
    recs = []
if len(recs) != 1:
    print("records=%d" % len(recs)); sys.exit()
r = recs[0]
print(r["rdpwhy.cause"], r["rdpwhy.phase"], r.get("tls.version", "-"), r.get("tls.cipher", "-"))
PY
)
	if [ "${got%% *}" = "$want" ] && [ -z "${5:-}" ] || { [ -n "${5:-}" ] && [ "$got" = "$5" ]; }; then
		echo "ok   $name: $got"
	else
		echo "FAIL $name: got [$got], want $want ${5:-}"
		sed 's/^/    client: /' "$tmp/$name.client" | tail -5
		sed 's/^/    proxy: /' "$tmp/$name.proxy" | tail -5
		fail=1
	fi
	# Evidence you can click, from the proxy: each line's "[SIDE byte N, +T ms]"
	# against the connection's own capture (pcap_dir).
	if python3 "$here/evidence_frames.py" --proxy "$tmp/$name.json" "$tmp/$name.pcaps" \
		>"$tmp/$name.at" 2>&1; then
		echo "ok   $name: evidence offsets match the capture ($(grep -c '^ok' "$tmp/$name.at") lines)"
	else
		echo "FAIL $name: evidence offsets"; sed 's/^/    /' "$tmp/$name.at"; fail=1
	fi
}

cd "$tmp"
# A client that sends application data, then closes: an RDP client would
# send MCS or CredSSP there; one that closes without is rejecting the host.
run_case good normal_close \
	"-cert host.pem -key host.key -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256" \
	python "normal_close rdp 1.2 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
run_case version tls_protocol_version_mismatch \
	"-cert host.pem -key host.key -tls1_3" "-tls1_2"
run_case cipher tls_cipher_mismatch \
	"-cert host.pem -key host.key -tls1_2 -cipher ECDHE-RSA-AES256-GCM-SHA384" \
	"-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256"
run_case expired certificate_expired \
	"-cert expired.pem -key expired.key -tls1_2" "-tls1_2 -CAfile ca.pem -verify_return_error" \
	"certificate_expired tls_handshake 1.2 TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
run_case untrusted certificate_rejected_by_client \
	"-cert host.pem -key host.key -tls1_2" "-tls1_2 -verify_return_error"
exit $fail
