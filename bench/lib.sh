# Shell helpers sourced by bench/relay_bench.sh, bench/proxy_bench.sh and bench/run.sh
# (not run on its own). They read the script's INSTALL (1: apt-get may
# install what is missing) and OUT (where apt's logs and the .apt-updated
# stamp go) when called, so it is sourced before either is set.

log() { printf '== %s\n' "$*" >&2; }

# apt-get install PACKAGE...: only as root on Debian with INSTALL=1; the
# package lists are updated once per OUT.
apt_install() {
	[ "$INSTALL" = 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || return 1
	if [ ! -f "$OUT/.apt-updated" ]; then
		apt-get update -qq >/dev/null 2>&1 || true
		touch "$OUT/.apt-updated"
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >"$OUT/apt-$1.log" 2>&1
}

# need COMMAND PACKAGE: installs PACKAGE when COMMAND is missing; exits 1
# (naming the script) when it is still missing.
need() { # command package
	command -v "$1" >/dev/null 2>&1 || apt_install "$2" || true
	command -v "$1" >/dev/null 2>&1 || { echo "${0##*/}: $1 (Debian package $2) is needed" >&2; exit 1; }
}
