#!/bin/sh
# The .deb installs and runs (issue #13 item 7). Root; a machine that may be
# changed and is put back (CI): the package is installed for real with apt-get
# and purged again on the way out, whatever happens.
#
#   1. configure DIR/deb-pkg from the source tree for /usr (the paths compiled
#      into the binary follow the prefix), build rdpwhy and the man pages, and
#      `cpack -G DEB` there;
#   2. check the package: Depends (dpkg-shlibdeps), Maintainer, Section, the
#      conffile, postinst, and its files (no /usr/local);
#   3. apt-get install -y ./rdpwhy_*.deb; then: the rdpwhy system user exists
#      and nothing was started or enabled, /usr/bin/rdpwhy replays every
#      capture of tests/data to its expected cause and the same records as the
#      build tree's binary, the installed configuration passes --check-config,
#      man finds rdpwhy(1) and rdpwhy.conf(5), the bash completion completes,
#      systemd-analyze verify accepts the unit;
#   4. apt-get purge -y rdpwhy (in the trap): nothing left in /usr/bin, /etc,
#      and the rdpwhy user removed again if this test created it.
# Other tests run the build tree's binary ($<TARGET_FILE:rdpwhy>), never one
# from PATH, and this test runs alone (RUN_SERIAL), so /usr/bin/rdpwhy exists
# only while it runs.
#
# usage: deb_install.sh RDPWHY SOURCE_DIR BUILD_DIR
# Exit 77 (skipped) without root; a missing tool (dpkg-dev, apt-get) fails.
set -eu
rdpwhy=$1
src=$(cd "$2" && pwd)
build=$3
pkgdir=$build/deb-pkg

say() { echo "deb_install: $*"; }
fail() {
	echo "deb_install: FAILED: $*" >&2
	failed=1
}
failed=0

if [ "$(id -u)" -ne 0 ]; then
	say "needs root (it installs and purges the package); skipped"
	exit 77
fi
for tool in cmake cpack dpkg-deb dpkg-shlibdeps apt-get man bash python3; do
	command -v "$tool" >/dev/null 2>&1 ||
		{ echo "deb_install: FAILED: $tool is missing (scripts/setup.sh --test installs it)" >&2; exit 1; }
done
if dpkg-query -W -f='${Status}' rdpwhy 2>/dev/null | grep -q installed; then
	echo "deb_install: FAILED: a package rdpwhy is installed already; this test would replace" \
		"and purge it (apt-get purge rdpwhy first)" >&2
	exit 1
fi

had_user=0
getent passwd rdpwhy >/dev/null && had_user=1
had_group=0
getent group rdpwhy >/dev/null && had_group=1
tmp=$(mktemp -d)
installed=0
cleanup() {
	rc=$?
	if [ "$installed" -eq 1 ]; then
		say "apt-get purge -y rdpwhy"
		if ! DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 purge -y -q rdpwhy >"$tmp/purge.log" 2>&1; then
			cat "$tmp/purge.log" >&2
			echo "deb_install: FAILED: apt-get purge rdpwhy" >&2
			rc=1
		fi
		for f in /usr/bin/rdpwhy /etc/rdpwhy /lib/systemd/system/rdpwhy.service \
			/usr/share/man/man1/rdpwhy.1.gz /usr/share/bash-completion/completions/rdpwhy; do
			if [ -e "$f" ]; then
				echo "deb_install: FAILED: $f is still there after the purge" >&2
				rc=1
			fi
		done
	fi
	# A system user left behind would change what other tests see
	# (capture -Z defaults to rdpwhy when it exists).
	if [ "$had_user" -eq 0 ] && getent passwd rdpwhy >/dev/null; then
		userdel rdpwhy || { echo "deb_install: FAILED: userdel rdpwhy" >&2; rc=1; }
	fi
	if [ "$had_group" -eq 0 ] && getent group rdpwhy >/dev/null; then
		groupdel rdpwhy || { echo "deb_install: FAILED: groupdel rdpwhy" >&2; rc=1; }
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# ---- 1. build the package ---------------------------------------------------
# CMAKE_SKIP_INSTALL_ALL_DEPENDENCY: cpack's install step then builds nothing
# more than the two targets built here (not every unit test and fuzz replayer).
say "configuring $pkgdir for /usr"
cmake -S "$src" -B "$pkgdir" -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DRDPWHY_LAB=OFF -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON >"$tmp/configure.log" 2>&1 ||
	{ cat "$tmp/configure.log" >&2; fail "cmake configure"; exit 1; }
cmake --build "$pkgdir" -j "$(nproc)" --target rdpwhy rdpwhy_man >"$tmp/build.log" 2>&1 ||
	{ tail -50 "$tmp/build.log" >&2; fail "cmake --build"; exit 1; }
rm -f "$pkgdir"/rdpwhy_*.deb
(cd "$pkgdir" && cpack -G DEB) >"$tmp/cpack.log" 2>&1 ||
	{ cat "$tmp/cpack.log" >&2; fail "cpack -G DEB"; exit 1; }
set -- "$pkgdir"/rdpwhy_*.deb
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
	fail "cpack made no single rdpwhy_*.deb in $pkgdir"
	exit 1
fi
deb=$1
say "built $(basename "$deb") ($(wc -c <"$deb") bytes)"

# ---- 2. what is in it -------------------------------------------------------
field() { dpkg-deb -f "$deb" "$1"; }
depends=$(field Depends)
# librdkafka1 is named by hand (it is loaded with dlopen, unseen by dpkg-shlibdeps).
for d in adduser libc6 libssl3 libpcap0.8 libevent-2.1-7 libevent-openssl-2.1-7 librdkafka1; do
	printf '%s\n' "$depends" | tr ',' '\n' | grep -q "^ *$d\( \|$\)" ||
		fail "Depends lacks $d: $depends"
done
[ "$(field Section)" = net ] || fail "Section is '$(field Section)', not net"
printf '%s' "$(field Maintainer)" | grep -q '^[^<]\+ <[^@>]\+@[^>]\+>$' ||
	fail "Maintainer '$(field Maintainer)' is not 'Name <address>'"
[ "$(field Package)" = rdpwhy ] || fail "Package is '$(field Package)'"
[ "$(field Version)" = "$("$rdpwhy" --version | awk '{ print $2 }')-1" ] ||
	fail "Version '$(field Version)' is not the program's version (rdpwhy --version) -1"
field Description | sed -n 2p | grep -q . || fail "no extended Description"
dpkg-deb -e "$deb" "$tmp/control"
[ "$(cat "$tmp/control/conffiles")" = /etc/rdpwhy/rdpwhy.conf ] ||
	fail "conffiles is not /etc/rdpwhy/rdpwhy.conf: $(cat "$tmp/control/conffiles")"
grep -q 'adduser .*--system .*--group .*rdpwhy' "$tmp/control/postinst" || fail "postinst does not create the rdpwhy user"
if grep -Eq 'systemctl[^|]*(start|enable)|deb-systemd-invoke +start' "$tmp/control/postinst"; then
	fail "postinst starts or enables something"
fi
dpkg-deb -c "$deb" | awk '{ print $NF }' >"$tmp/files"
for f in ./usr/bin/rdpwhy ./usr/share/man/man1/rdpwhy.1.gz ./usr/share/man/man5/rdpwhy.conf.5.gz \
	./usr/share/bash-completion/completions/rdpwhy ./usr/share/zsh/vendor-completions/_rdpwhy \
	./lib/systemd/system/rdpwhy.service ./etc/rdpwhy/rdpwhy.conf \
	./usr/share/doc/rdpwhy/README.md ./usr/share/doc/rdpwhy/conf/README.md \
	./usr/share/doc/rdpwhy/docs/causes.md ./usr/share/doc/rdpwhy/examples/rdpwhy.conf \
	./usr/share/rdpwhy/profiles/windows11_mstsc.conf; do
	grep -qx "$f" "$tmp/files" || fail "the package lacks $f"
done
if grep -q '^\./usr/local' "$tmp/files"; then
	fail "the package installs under /usr/local: $(grep '^\./usr/local' "$tmp/files" | head -3)"
fi

# ---- 3. install it and use it -----------------------------------------------
cp "$deb" "$tmp/"
chmod 755 "$tmp"
chmod 644 "$tmp/$(basename "$deb")"
say "apt-get install -y ./$(basename "$deb")"
installed=1
(cd "$tmp" && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends \
	"./$(basename "$deb")") >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log" >&2; fail "apt-get install"; exit 1; }
dpkg-query -W -f='${Status}\n' rdpwhy | grep -q "install ok installed" || fail "dpkg does not list rdpwhy as installed"
dpkg-query -W -f='${Conffiles}\n' rdpwhy | grep -q "/etc/rdpwhy/rdpwhy.conf" || fail "dpkg lists no conffile /etc/rdpwhy/rdpwhy.conf"

# The user the unit runs as: a system user and group, no login, no home made.
if pw=$(getent passwd rdpwhy); then
	uid=$(printf '%s' "$pw" | cut -d: -f3)
	shell=$(printf '%s' "$pw" | cut -d: -f7)
	[ "$uid" -lt 1000 ] || fail "the rdpwhy user is not a system user (uid $uid)"
	case $shell in */nologin | */false) ;; *) fail "the rdpwhy user has a login shell ($shell)" ;; esac
	getent group rdpwhy >/dev/null || fail "postinst made no rdpwhy group"
	[ "$had_user" -eq 1 ] || [ ! -e /home/rdpwhy ] || fail "postinst made /home/rdpwhy"
else
	fail "postinst did not create the rdpwhy user"
fi
# Nothing started or enabled.
if [ -e /etc/systemd/system/multi-user.target.wants/rdpwhy.service ]; then
	fail "the package enabled rdpwhy.service"
fi
if command -v pgrep >/dev/null && pgrep -x -f '/usr/bin/rdpwhy proxy.*' >/dev/null; then
	fail "an rdpwhy proxy is running after the install"
fi

bin=/usr/bin/rdpwhy
[ -x $bin ] || { fail "$bin is not there"; exit 1; }
[ "$($bin --version)" = "$("$rdpwhy" --version)" ] ||
	fail "$bin --version says '$($bin --version)', the build tree's '$("$rdpwhy" --version)'"
grep -q /usr/share/rdpwhy/profiles $bin || fail "$bin does not look for its profiles in /usr/share/rdpwhy/profiles"

# Every shipped capture to its cause, and the same records as the build tree's binary.
n=0
while IFS="$(printf '\t')" read -r file cause _; do
	case $file in file | '' | \#*) continue ;; esac
	[ -f "$src/tests/data/$file" ] || continue
	n=$((n + 1))
	if ! $bin replay --format json "$src/tests/data/$file" >"$tmp/inst.json" 2>"$tmp/inst.err"; then
		fail "$bin replay $file exits non-zero: $(cat "$tmp/inst.err")"
		continue
	fi
	grep -q "\"$cause\"" "$tmp/inst.json" || fail "$bin replay $file: no record with cause $cause"
	"$rdpwhy" replay --format json "$src/tests/data/$file" >"$tmp/tree.json" 2>/dev/null || true
	# host.name is the same machine's; everything else must match byte for byte.
	cmp -s "$tmp/inst.json" "$tmp/tree.json" || fail "$file: the installed binary's records differ from the build tree's"
done <"$src/tests/data/index.tsv"
[ "$n" -ge 5 ] || fail "only $n captures of tests/data/index.tsv replayed"
say "$bin replayed $n shipped captures to their causes"

# The installed configuration parses (its example upstream replaced by an address).
$bin proxy --check-config -c /etc/rdpwhy/rdpwhy.conf --set upstream=192.0.2.1:3389 >"$tmp/check.out" 2>&1 ||
	fail "$bin proxy --check-config -c /etc/rdpwhy/rdpwhy.conf: $(cat "$tmp/check.out")"

# The man pages where man looks, and they render.
p=$(man -w rdpwhy 2>/dev/null) || true
[ "$p" = /usr/share/man/man1/rdpwhy.1.gz ] || fail "man -w rdpwhy gives '$p'"
p=$(man -w 5 rdpwhy.conf 2>/dev/null) || true
[ "$p" = /usr/share/man/man5/rdpwhy.conf.5.gz ] || fail "man -w 5 rdpwhy.conf gives '$p'"
MANWIDTH=80 man -P cat rdpwhy 2>/dev/null | grep -q "rdpwhy replay" || fail "man rdpwhy does not render"
MANWIDTH=80 man -P cat 5 rdpwhy.conf 2>/dev/null | grep -q "siem_spool_dir" || fail "man 5 rdpwhy.conf does not render"

# The bash completion as bash-completion loads it.
comp=/usr/share/bash-completion/completions/rdpwhy
got=$(bash -c '. "$1"; COMP_WORDS=(rdpwhy re); COMP_CWORD=1; _rdpwhy; echo "${COMPREPLY[*]}"' bash $comp 2>&1) || true
[ "$got" = replay ] || fail "$comp: 'rdpwhy re<TAB>' gives '$got'"
[ -f /usr/share/zsh/vendor-completions/_rdpwhy ] || fail "no zsh completion installed"

# The unit: installed paths, and systemd's own check where systemd-analyze exists.
unit=/lib/systemd/system/rdpwhy.service
grep -q '^ExecStart=/usr/bin/rdpwhy proxy -c /etc/rdpwhy/rdpwhy.conf$' $unit ||
	fail "$unit: ExecStart is not /usr/bin/rdpwhy proxy -c /etc/rdpwhy/rdpwhy.conf"
if grep -v '^#' $unit | grep -q /usr/local; then
	fail "$unit names /usr/local"
fi
if command -v systemd-analyze >/dev/null; then
	if ! systemd-analyze verify $unit >"$tmp/verify" 2>&1; then
		cat "$tmp/verify" >&2
		fail "systemd-analyze verify $unit"
	elif grep -i "rdpwhy.service" "$tmp/verify" >&2; then
		fail "systemd-analyze verify warns about $unit"
	fi
else
	say "systemd-analyze not installed: the unit was not verified"
fi

[ "$failed" -eq 0 ] || exit 1
say "ok: installed, used and (next) purged"
