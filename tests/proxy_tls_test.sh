#!/bin/bash
# openssl s_client -> rdpwhy proxy -> openssl s_server on loopback: a TLS
# version mismatch, a cipher-suite mismatch and an expired certificate
# rejected by a verifying client each give their cause code; a good handshake
# gives the version and suite both peers agreed on.
set -euo pipefail
bin=$(readlink -f "$1")
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
	local sport pport
	sport=$(free_port)
	pport=$(free_port)
	# shellcheck disable=SC2086
	openssl s_server -accept "127.0.0.1:$sport" -naccept 1 -quiet $sargs \
		</dev/null >"$tmp/$name.server" 2>&1 &
	local spid=$!
	pids+=("$spid")
	"$bin" proxy --listen "127.0.0.1:$pport" --upstream "127.0.0.1:$sport" \
		--format json --output "$tmp/$name.json" 2>"$tmp/$name.proxy" &
	local ppid=$!
	pids+=("$ppid")
	for _ in $(seq 50); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1', $sport)).close()" \
			2>/dev/null && break
		sleep 0.1
	done
	# That probe used the server's one accept: start it again for the real client.
	wait "$spid" 2>/dev/null || true
	# shellcheck disable=SC2086
	# stdin stays open: at EOF s_server would end the session on its own.
	openssl s_server -accept "127.0.0.1:$sport" -naccept 1 -quiet $sargs \
		< <(sleep 30) >"$tmp/$name.server" 2>&1 &
	spid=$!
	pids+=("$spid")
	sleep 0.3
	# shellcheck disable=SC2086
	if [ "$cargs" = python ]; then
		# A client that sends application data and then closes first, as an
		# RDP client would (s_client's close_notify exchange races the FINs).
		timeout 10 python3 - "$pport" "$tmp/ca.pem" >"$tmp/$name.client" 2>&1 <<'PY' || true
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
s.sendall(b"hello rdp host\n")
raw.shutdown(socket.SHUT_WR)
print("sent, closed")
PY
	else
		timeout 10 openssl s_client -connect "127.0.0.1:$pport" $cargs \
			</dev/null >"$tmp/$name.client" 2>&1 || true
	fi
	sleep 0.5
	kill -TERM "$ppid" 2>/dev/null || echo "proxy $name exited early: $(tail -3 "$tmp/$name.proxy")"
	wait "$ppid" || true
	kill "$spid" 2>/dev/null || true
	local got
	got=$(python3 - "$tmp/$name.json" "$want" "${5:-}" <<'PY'
import json, sys
try:
    recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
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
