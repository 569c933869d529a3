#!/bin/sh
# Installs what rdpwhy needs to build (and, with --test, to run its tests)
# from Debian's archive. Idempotent; needs root (or sudo).
#
# --test also fetches what a test needs that cannot be installed: syslog-ng
# (Debian's syslog-ng-core conflicts with rsyslog, which the other SIEM tests
# need). Its .deb, and those of the libraries it needs that are not installed,
# are fetched with `apt-get download` and unpacked (dpkg-deb -x) into
#     $RDPWHY_TEST_CACHE/syslog-ng/VERSION/root   (default /var/cache/rdpwhy-test)
# with $RDPWHY_TEST_CACHE/syslog-ng/current pointing at the version in use.
# tests/siem_syslog_ng.sh runs syslog-ng from there and fails when it is
# missing; it never downloads anything itself (a download at test time could
# run out the test's timeout). Kept between runs: fetched again only when
# apt's candidate version changes or the tree is incomplete.
set -eu

BUILD_PKGS="cmake make gcc pkg-config libevent-dev libssl-dev libpcap-dev libcmocka-dev zlib1g-dev libzstd-dev librdkafka-dev"
TEST_PKGS="zstd jq tshark tcpdump python3 openssl xrdp freerdp2-x11 xvfb xauth iptables iproute2 clang haproxy stunnel4 sslsplit freerdp2-shadow-x11 winpr-utils socat ethtool rsyslog rsyslog-gnutls nmap sslscan faketime kcat dpkg-dev man-db groff-base zsh chromium"
CAPTURE_PKGS="xrdp freerdp2-x11 xvfb xauth"

pkgs="$BUILD_PKGS"
want_syslog_ng=0
for arg in "$@"; do
	case "$arg" in
	--test) pkgs="$pkgs $TEST_PKGS"; want_syslog_ng=1 ;;
	--captures) pkgs="$pkgs $TEST_PKGS $CAPTURE_PKGS"; want_syslog_ng=1 ;;
	*) echo "usage: $0 [--test] [--captures]" >&2; exit 2 ;;
	esac
done

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }

missing=""
for p in $pkgs; do
	installed "$p" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "setup: installing$missing" >&2
	# tshark asks whether non-root users may capture; the default answer is fine.
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# ---- syslog-ng for tests/siem_syslog_ng.sh (see the top of this file) -------
syslog_ng_candidate() {
	apt-cache policy syslog-ng-core 2>/dev/null | awk '$1 == "Candidate:" && $2 != "(none)" { print $2 }'
}
# syslog_ng_runs DIR: the syslog-ng unpacked in DIR/root starts (-V) with its
# own libraries and the installed ones.
syslog_ng_runs() {
	ldp=$1/root/usr/lib/syslog-ng
	for d in "$1"/root/usr/lib/*-linux-gnu "$1"/root/lib/*-linux-gnu; do
		[ -d "$d" ] && ldp=$ldp:$d
	done
	[ -x "$1/root/usr/sbin/syslog-ng" ] &&
		LD_LIBRARY_PATH=$ldp "$1/root/usr/sbin/syslog-ng" -V >/dev/null 2>&1
}
fetch_syslog_ng() {
	cache=${RDPWHY_TEST_CACHE:-/var/cache/rdpwhy-test}/syslog-ng
	ver=$(syslog_ng_candidate)
	if [ -z "$ver" ]; then
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
		ver=$(syslog_ng_candidate)
	fi
	[ -n "$ver" ] || { echo "setup: FAILED: apt knows no syslog-ng-core (needed by tests/siem_syslog_ng.sh)" >&2; exit 1; }
	name=$(printf '%s' "$ver" | tr -c 'A-Za-z0-9.+~-' _)
	dir=$cache/$name
	if [ -f "$dir/packages" ] && syslog_ng_runs "$dir"; then
		[ "$(readlink "$cache/current" 2>/dev/null)" = "$name" ] || $SUDO ln -sfn "$name" "$cache/current"
		return 0
	fi
	# syslog-ng-core and the libraries it depends on that are not installed.
	debs=syslog-ng-core
	for d in $(apt-cache depends syslog-ng-core 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^lib/ { print $2 }' | sort -u); do
		installed "$d" || debs="$debs $d"
	done
	echo "setup: fetching $debs ($ver) into $dir" >&2
	$SUDO mkdir -p "$cache"
	new=$($SUDO mktemp -d "$cache/.new.XXXXXX")
	$SUDO chmod 755 "$new"
	# apt's _apt user may not be able to write there: download as root.
	# shellcheck disable=SC2086
	if ! (cd "$new" && $SUDO apt-get -q -o APT::Sandbox::User=root -o Acquire::Retries=3 \
		download $debs >/dev/null); then
		$SUDO rm -rf "$new"
		echo "setup: FAILED: apt-get download $debs" >&2
		exit 1
	fi
	for deb in "$new"/*.deb; do
		$SUDO dpkg-deb -x "$deb" "$new/root"
	done
	$SUDO rm -f "$new"/*.deb
	printf '%s\n' "$debs" | $SUDO tee "$new/packages" >/dev/null
	$SUDO rm -rf "$dir"
	$SUDO mv -T "$new" "$dir"
	syslog_ng_runs "$dir" || { echo "setup: FAILED: the syslog-ng unpacked in $dir does not run" >&2; exit 1; }
	$SUDO ln -sfn "$name" "$cache/current"
}
[ "$want_syslog_ng" -eq 0 ] || fetch_syslog_ng
