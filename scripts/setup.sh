#!/bin/sh
# Installs what rdpwhy needs to build (and, with --test, to run its tests)
# from Debian's archive. Idempotent; needs root (or sudo).
set -eu

BUILD_PKGS="cmake make gcc pkg-config libevent-dev libssl-dev libpcap-dev libcmocka-dev"
TEST_PKGS="tshark tcpdump python3 openssl xrdp freerdp2-x11 xvfb xauth iptables iproute2 clang haproxy stunnel4 sslsplit freerdp2-shadow-x11 winpr-utils socat ethtool rsyslog rsyslog-gnutls"
CAPTURE_PKGS="xrdp freerdp2-x11 xvfb xauth"

pkgs="$BUILD_PKGS"
for arg in "$@"; do
	case "$arg" in
	--test) pkgs="$pkgs $TEST_PKGS" ;;
	--captures) pkgs="$pkgs $TEST_PKGS $CAPTURE_PKGS" ;;
	*) echo "usage: $0 [--test] [--captures]" >&2; exit 2 ;;
	esac
done

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	echo "setup: installing$missing" >&2
	# tshark asks whether non-root users may capture; the default answer is fine.
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
