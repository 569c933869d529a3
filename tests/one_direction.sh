#!/usr/bin/env bash
# one_direction.sh RDPWHY DATA_DIR — captures that hold one direction only
# (issue #10 item 1: a SPAN port mirroring one side, asymmetric routing,
# tcpdump on one leg). tests/captures/one_direction.py splits committed real
# captures into the client's packets and the server's packets; each half must
# give the verdict that follows from how the connection was made (the index's
# cause, closed_by and phase) as far as that half can show it, say which
# direction it held (rdpwhy.capture.directions), say in its evidence what was
# inferred from the acknowledgements of the side seen, and never be `high`.
# Where one direction genuinely cannot tell, the row says why and asserts the
# honest answer (lower confidence, the real cause among the alternatives).
set -euo pipefail
bin=$1
data=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/rdpwhy_run.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

# capture half cause closed_by close_kind phase confidence(medium|low|any-not-high) alternative(-)
# Each row's expectation comes from the scenario in the index (how the connection was
# made); the comment says what the half shows and, where it cannot tell, why.
cases=(
    # Issue acceptance 1: the client sent its CredSSP tokens, the server's last bytes (a
    # 24-byte TLS 1.3 alert) and FIN are acknowledged together (25 bytes): the server
    # closed in NLA, without a server packet captured.
    "lab/11_nla_wrong_password.pcap client_only nla_failed server fin nla medium -"
    # The server's own FIN is on its half; the client's CredSSP messages are its ACKs.
    "lab/11_nla_wrong_password.pcap server_only nla_failed server fin nla medium -"
    # Issue acceptance 2: the expired certificate went out in the server's half; the
    # client then sent a 31-byte TLS 1.2 alert and FIN (acknowledged together, 32 bytes).
    "cert_expired_tls12.pcap server_only certificate_expired client fin tls_handshake medium -"
    "lab/04_cert_expired.pcap server_only certificate_expired client fin tls_handshake medium -"
    # From the client alone the certificate is never seen (it travelled the other way):
    # the client's encrypted alert after the server's flight is a rejected certificate,
    # low, with certificate_expired among the alternatives.
    "cert_expired_tls12.pcap client_only certificate_rejected_by_client client fin tls_handshake low certificate_expired"
    # A healthy session: the client closes it once established, either half.
    "tls_ok.pcap client_only normal_close client fin established medium -"
    "tls_ok.pcap server_only normal_close client fin established medium -"
    "lab/11_nla_ok.pcap client_only normal_close client fin established medium -"
    # The server's cleartext alert 70 is in its half; the client's FIN is a 1-byte ACK.
    "tls_version_mismatch.pcap server_only tls_protocol_version_mismatch client fin tls_handshake medium -"
    "tls_cipher_mismatch.pcap server_only tls_cipher_mismatch client fin tls_handshake medium -"
    # From the client alone the alert's content is unseen: the server's answer to the
    # ClientHello is 7 acknowledged bytes, a cleartext alert's size, then the client
    # hangs up. Which alert only the server's packets show: tls_alert, low, with the
    # real cause among the alternatives.
    "tls_version_mismatch.pcap client_only tls_alert client fin tls_handshake low tls_protocol_version_mismatch"
    "tls_cipher_mismatch.pcap client_only tls_alert client fin tls_handshake low tls_cipher_mismatch"
    # xrdp's MCS Disconnect Provider Ultimatum (9 bytes) and FIN, acknowledged together.
    "rdp_std_security_high.pcap client_only rdp_closed_by_server server fin rdp medium -"
    "rdp_std_security_high.pcap server_only rdp_closed_by_server server fin rdp medium -"
    # The request (unseen) acknowledged, never answered; the proxy's FIN after 4 s.
    "lab/12_hung_host.pcap server_only x224_no_response server fin x224 medium -"
    "lab/12_hung_host.pcap client_only x224_no_response server fin x224 medium -"
    "x224_no_response.pcap client_only x224_no_response client fin x224 medium -"
    "x224_no_response.pcap server_only x224_no_response client fin x224 medium -"
    # The server's Confirm selects a protocol the client did not request: in its half.
    "sec_refused_tls_required.pcap server_only security_negotiation_failure client fin x224 medium -"
    # From the client alone the Confirm is 19 unseen bytes (a CC with an 8-byte RDP_NEG_RSP
    # or RDP_NEG_FAILURE) and the client hangs up at once without a ClientHello: had the
    # server selected the SSL it asked for, TLS would follow. Refused, or refusing the
    # server's choice: security_negotiation_failure, low (the CC is unseen), with
    # client_cancelled (a user's cancel at that instant) as the alternative.
    "sec_refused_tls_required.pcap client_only security_negotiation_failure client fin x224 low client_cancelled"
    # The forged RST (TTL 64 among the host's 63) is in the server's half.
    "lab/07_fw_reset_path.pcap server_only reset_injected server rst x224 medium -"
    # An RST is never acknowledged: from the client alone the connection only stops.
    # still_open, not high (the unseen side may have reset).
    "lab/07_fw_reset_path.pcap client_only still_open none none tls_handshake medium -"
)

declare -A split_done
for row in "${cases[@]}"; do
    read -r cap half cause closed kind phase conf alt <<<"$row"
    name=$(basename "$cap" .pcap)
    if [[ -z ${split_done[$cap]:-} ]]; then
        python3 "$here/captures/one_direction.py" "$data/$cap" "$tmp"
        split_done[$cap]=1
    fi
    f="$tmp/$name-$half.pcap"
    if ! rw_run 0 "$tmp/$name-$half.json" "$tmp/$name-$half.err" "$bin" replay --format json "$f"; then
        bad "$name-$half: rdpwhy replay"
        continue
    fi
    seen=${half%_only}
    other=$([[ $seen == client ]] && echo server || echo client)
    if msg=$(python3 - "$tmp/$name-$half.json" "$cause" "$closed" "$kind" "$phase" "$conf" \
        "$alt" "$half" "$seen" <<'EOF'
import sys
from records import load  # tests/lib: dotted names, nested or flat
path, cause, closed, kind, phase, conf, alt, half, seen = sys.argv[1:]
recs = load(path)
if len(recs) != 1:
    print("%d records, want 1" % len(recs))
    sys.exit(1)
r = recs[0]
got = (r["rdpwhy.cause"], r["rdpwhy.closed_by"], r["rdpwhy.close_kind"], r["rdpwhy.phase"])
errs = []
if got != (cause, closed, kind, phase):
    errs.append("got %s, want %s" % ("/".join(got), "/".join((cause, closed, kind, phase))))
if r.get("rdpwhy.capture.directions") != half:
    errs.append("rdpwhy.capture.directions %r, want %r" % (r.get("rdpwhy.capture.directions"), half))
if r["rdpwhy.confidence"] != conf:
    errs.append("confidence %s, want %s" % (r["rdpwhy.confidence"], conf))
if alt != "-" and alt not in r.get("rdpwhy.alternatives", []):
    errs.append("alternatives %s lack %s" % (r.get("rdpwhy.alternatives"), alt))
needle = "inferred from the %s's acknowledgements" % seen
if not any(needle in e for e in r["rdpwhy.evidence"]):
    errs.append("no evidence line says %r: %s" % (needle, r["rdpwhy.evidence"]))
if errs:
    print("; ".join(errs))
    sys.exit(1)
print("%s (%s), %s" % ("/".join(got), r["rdpwhy.confidence"], half))
EOF
    ); then
        ok "$name-$half: $msg"
    else
        bad "$name-$half: $msg"
    fi
done

# Both directions: every shipped capture still says so.
both_ok=1
for f in "$data"/*.pcap "$data"/lab/*.pcap; do
    n=$(basename "$f" .pcap)
    if ! rw_run 0 "$tmp/$n.json" "$tmp/$n.err" "$bin" replay --format json "$f"; then
        bad "$n: rdpwhy replay"
        continue
    fi
    if python3 -c '
import sys
from records import load
sys.exit(any(r.get("rdpwhy.capture.directions") != "both" for r in load(sys.argv[1])))' "$tmp/$n.json"; then
        :
    else
        bad "$n: a record of a two-direction capture is not rdpwhy.capture.directions both"
        both_ok=0
    fi
done
[[ $both_ok == 1 ]] && ok "every shipped capture's records say rdpwhy.capture.directions both"

exit $fail
