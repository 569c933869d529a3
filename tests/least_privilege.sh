#!/bin/bash
# Least privilege and file safety (issue #12), as an operator would meet them.
# Needs root (a user to own directories, namespaces, live capture); exits 77
# (skipped) without it.
#
#   1. outputs: a symbolic link planted at the output path in a directory
#      another user owns (or a sticky /tmp-like one), or in place of a
#      directory of the path, is refused with a message naming it, exit 1, and
#      the file it points to is untouched; a hard link there too; a link only
#      root could have made is followed; a new file is 0640.
#   2. the spool (tcp:// spool_dir=): a link planted among the spooled records
#      is refused (it would be sent, chowned to the -Z user, removed), and a
#      spool directory reached through a planted link too; its target keeps
#      its content, owner and mode.
#   3. the proxy's pcap_dir reached through a planted link: the connection is
#      relayed and recorded, the pcap refused with a log line, nothing written
#      where the link points.
#   4. rdpwhy capture -Z nobody on the loopback of a network namespace of our
#      own: once ready it runs as nobody (/proc/PID/status: Uid, Gid, Groups,
#      no capabilities, NoNewPrivs), still writes records to the output file
#      it opened as root, and spools records as nobody into the directory it
#      gave nobody; -Z with a missing user exits 2 with a clear message;
#      without -Z it becomes 'rdpwhy' when that user exists and keeps root with
#      a note when not (passwd/group swapped in a private mount namespace).
#   5. rdpwhy replay as nobody: nothing in it needs root.
#
# Every rdpwhy run goes through tests/lib/rdpwhy_run.sh (exit status and
# sanitizer reports).
set -u
bin=$1
data=$2
# shellcheck source=lib/rdpwhy_run.sh
. "$(dirname "$0")/lib/rdpwhy_run.sh"
[ "$(id -u)" -eq 0 ] || { echo "skip: least_privilege needs root"; exit 77; }
for tool in setpriv ip python3; do
	command -v "$tool" >/dev/null || { echo "FAIL: $tool missing"; exit 1; }
done
id nobody >/dev/null 2>&1 || { echo "FAIL: no user nobody"; exit 1; }
nobody_uid=$(id -u nobody)
nobody_gid=$(id -g nobody)

fails=0
ok() { echo "ok   $*"; }
fail() {
	echo "FAIL $*"
	fails=$((fails + 1))
}
check() { # NAME CMD...: ok when CMD succeeds
	local name=$1
	shift
	if "$@"; then ok "$name"; else fail "$name"; fi
}
has() { grep -aqF -- "$2" "$1"; } # FILE TEXT

tmp=$(mktemp -d)
chmod 0755 "$tmp" # nobody reaches its own directories below
ns=rwlp$$
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# A file only root may change, and how it looks: content, owner, mode, inode.
victim=$tmp/victim
printf 'precious\n' >"$victim"
chmod 0600 "$victim"
victim_id() { stat -c '%i %U:%G %a %s' "$victim" && cat "$victim"; }
victim_before=$(victim_id)
victim_intact() { [ "$(victim_id)" = "$victim_before" ]; }

# A directory the unprivileged user owns (where it could plant links), and a
# sticky world-writable one (as /tmp).
mkdir "$tmp/userdir" "$tmp/sticky" "$tmp/rootdir"
chown nobody "$tmp/userdir"
chmod 1777 "$tmp/sticky"
pcap=$data/tls_ok.pcap

echo "# 1. output files"
for d in userdir sticky; do
	ln -s "$victim" "$tmp/$d/out.json"
	if rw_run 1 "$tmp/o" "$tmp/e" "$bin" replay "$pcap" --format json -o "$tmp/$d/out.json"; then
		ok "$d: a planted link at the output path: exit 1"
	else
		fail "$d: a planted link at the output path: exit status"
	fi
	check "$d: the message names the link and why" \
		has "$tmp/e" "output $tmp/$d/out.json: refusing to follow the symbolic link 'out.json'"
	check "$d: the link's target is untouched" victim_intact
done
# A directory of the path swapped for a link to root's.
mkdir -m 0700 "$tmp/rootonly"
ln -s "$tmp/rootonly" "$tmp/userdir/logs"
rw_run 1 "$tmp/o" "$tmp/e" "$bin" replay "$pcap" -o "$tmp/userdir/logs/out.json" &&
	has "$tmp/e" "refusing to follow the symbolic link 'logs'" &&
	[ -z "$(ls -A "$tmp/rootonly")" ] &&
	ok "a planted link in place of a directory of the path: refused, nothing written" ||
	fail "a planted link in place of a directory of the path"
# A hard link to root's file in the user's directory.
ln "$victim" "$tmp/userdir/hard.json"
rw_run 1 "$tmp/o" "$tmp/e" "$bin" replay "$pcap" -o "$tmp/userdir/hard.json" &&
	has "$tmp/e" "refusing to write to a file with 2 hard links" && victim_intact &&
	ok "a planted hard link: refused, the file untouched" || fail "a planted hard link"
rm -f "$tmp/userdir/hard.json"
# Links only root could have made are followed; a new file is 0640 (umask 022).
ln -s "$tmp/rootdir/real.json" "$tmp/rootdir/link.json"
(umask 022 && rw_run 0 "$tmp/o" "$tmp/e" "$bin" replay "$pcap" --format json -o "$tmp/rootdir/link.json") &&
	[ "$(wc -l <"$tmp/rootdir/real.json")" -ge 1 ] &&
	[ "$(stat -c %a "$tmp/rootdir/real.json")" = 640 ] &&
	ok "a link in root's own directory is followed; the new file is 0640" ||
	fail "a link in root's own directory"
# A new file in the user's directory (no link): written, root's, 0640.
rw_run 0 "$tmp/o" "$tmp/e" "$bin" replay "$pcap" --format json -o "$tmp/userdir/new.json" &&
	[ "$(stat -c '%U %a' "$tmp/userdir/new.json")" = "root 640" ] &&
	ok "a new output file in the user's directory: root's, 0640" || fail "a new output file"
# /dev/stdout is the kernel's link.
rw_run 0 "$tmp/o" "$tmp/e" "$bin" replay "$pcap" --format json -o /dev/stdout &&
	[ "$(wc -l <"$tmp/o")" -ge 1 ] && ok "-o /dev/stdout still works" || fail "-o /dev/stdout"

echo "# 2. spool"
mkdir -m 0700 "$tmp/spool"
ln -s "$victim" "$tmp/spool/00000000000000000001"
# Port 9 on loopback: nothing listens; the record would be spooled.
rw_run 1 "$tmp/o" "$tmp/e" "$bin" replay "$pcap" -o "tcp://127.0.0.1:9 spool_dir=$tmp/spool" &&
	has "$tmp/e" "00000000000000000001 is a symbolic link, not a spooled record" &&
	victim_intact && ok "a link planted among spooled records: refused, the target untouched" ||
	fail "a link planted among spooled records"
# The same with capture -Z, which would give the spool to nobody (chown).
if rw_run 1 "$tmp/o" "$tmp/e" timeout 20 "$bin" capture -i lo -Z nobody \
	-o "tcp://127.0.0.1:9 spool_dir=$tmp/spool" && has "$tmp/e" "is a symbolic link" && victim_intact; then
	ok "capture -Z nobody with a planted link in the spool: refused, target not chowned"
else
	fail "capture -Z nobody with a planted link in the spool"
fi
rm -f "$tmp/spool/00000000000000000001"
# The spool directory itself reached through a link the user planted.
ln -s "$tmp/spool" "$tmp/userdir/spool"
rw_run 1 "$tmp/o" "$tmp/e" "$bin" replay "$pcap" -o "tcp://127.0.0.1:9 spool_dir=$tmp/userdir/spool" &&
	has "$tmp/e" "refusing to follow the symbolic link 'spool'" && [ -z "$(ls -A "$tmp/spool")" ] &&
	ok "a spool directory reached through a planted link: refused" ||
	fail "a spool directory reached through a planted link"

echo "# 3. the proxy's pcap_dir"
read -r lport cport < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
mkdir -m 0700 "$tmp/pcaps"
ln -s "$tmp/pcaps" "$tmp/userdir/pcaps"
"$bin" proxy --listen "127.0.0.1:$lport" --upstream "127.0.0.1:$cport" \
	--pcap-dir "$tmp/userdir/pcaps" --format json -o "$tmp/proxy.json" 2>"$tmp/proxy.err" &
px=$!
pids+=("$px")
if rw_wait_ready "$tmp/proxy.err" "$px"; then
	# One client; the upstream port is closed: refused, recorded.
	python3 -c '
import socket, sys
try:  # the proxy passes the refusal on as a reset, maybe before connect returns
    c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    c.settimeout(10)
    c.recv(1)
except OSError:
    pass' "$lport"
	rw_wait_line "$tmp/proxy.json" '"rdpwhy":\{"cause"' "$px" 20 "the proxy's record" &&
		ok "pcap_dir through a planted link: the connection is still recorded" ||
		fail "pcap_dir through a planted link: no record"
	kill -TERM "$px"
	rc=0
	wait "$px" || rc=$?
	rw_check_end "rdpwhy proxy (SIGTERM)" "$rc" 0 "$tmp/proxy.err" && ok "proxy: exit 0" || fail "proxy: end"
	check "pcap_dir through a planted link: logged, naming the link" \
		has "$tmp/proxy.err" "pcap: cannot create $tmp/userdir/pcaps/rdpwhy-"
	check "pcap_dir through a planted link: the reason" \
		has "$tmp/proxy.err" "refusing to follow the symbolic link 'pcaps'"
	check "pcap_dir through a planted link: nothing written where it points" \
		test -z "$(ls -A "$tmp/pcaps")"
else
	fail "proxy did not start"
fi

echo "# 4. capture -Z"
rw_run 2 "$tmp/o" "$tmp/e" "$bin" capture -i lo -Z rdpwhy-no-such-user &&
	has "$tmp/e" "rdpwhy capture: -Z rdpwhy-no-such-user: no such user" &&
	ok "-Z with a missing user: exit 2, 'no such user'" || fail "-Z with a missing user"
rw_run 2 "$tmp/o" "$tmp/e" "$bin" capture -i lo -Z &&
	has "$tmp/e" "-Z needs a user name" && ok "-Z without a name: exit 2" || fail "-Z without a name"
rw_run 0 "$tmp/o" "$tmp/e" "$bin" capture --help &&
	has "$tmp/o" "-Z, --user USER" && has "$tmp/o" "O_NOFOLLOW" &&
	ok "capture --help documents -Z and the file rules" || fail "capture --help"

ip netns add "$ns" && ip -n "$ns" link set lo up || { echo "FAIL: cannot make a network namespace"; exit 1; }
mkdir -m 0700 "$tmp/zspool"
# stdout is ours (a file of root's, 0600, opened before the drop); spool_dir's
# parent is $tmp (root's): nobody can reach it by path, only through the
# descriptor rdpwhy opened as root.
ip netns exec "$ns" "$bin" capture -i lo -Z nobody --format json -p 3389 -p 3390 --only-ports \
	-o - -o "tcp://127.0.0.1:9 spool_dir=$tmp/zspool format=json" \
	>"$tmp/z.out" 2>"$tmp/z.err" &
zp=$!
pids+=("$zp")
if rw_wait_ready "$tmp/z.err" "$zp"; then
	st=/proc/$zp/status
	field() { awk -v k="$1:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "$st"; }
	check "-Z nobody: the line says so" \
		has "$tmp/z.err" "rdpwhy capture: dropped root: running as nobody (uid $nobody_uid, gid $nobody_gid)"
	u=$(field Uid)
	g=$(field Gid)
	[ "$(echo "$u" | tr -s ' \t' ' ')" = "$nobody_uid $nobody_uid $nobody_uid $nobody_uid" ] &&
		ok "running as nobody: Uid $u" || fail "running as nobody: Uid '$u'"
	[ "$(echo "$g" | tr -s ' \t' ' ')" = "$nobody_gid $nobody_gid $nobody_gid $nobody_gid" ] &&
		ok "running as nobody: Gid $g" || fail "running as nobody: Gid '$g'"
	want_groups=$(id -G nobody | tr ' ' '\n' | sort -n | tr '\n' ' ' | sed 's/ $//')
	got_groups=$(field Groups | tr -s ' \t' '\n' | sed '/^$/d' | sort -n | tr '\n' ' ' | sed 's/ $//')
	[ "$got_groups" = "$want_groups" ] && ok "running as nobody: Groups '$got_groups' (nobody's own)" ||
		fail "running as nobody: Groups '$got_groups', expected '$want_groups'"
	[ "$(field CapEff)" = 0000000000000000 ] && [ "$(field CapPrm)" = 0000000000000000 ] &&
		ok "running as nobody: no capability left" || fail "capabilities: $(field CapPrm)"
	[ "$(field NoNewPrivs)" = 1 ] && ok "running as nobody: NoNewPrivs" || fail "NoNewPrivs $(field NoNewPrivs)"
	# Every thread (the output thread started before the drop too).
	tasks=0 rooted=0
	for t in /proc/"$zp"/task/*; do
		tasks=$((tasks + 1))
		awk '$1 == "Uid:" || $1 == "Gid:" { for (i = 2; i <= 5; i++) if ($i == 0) bad = 1 } END { exit !bad }' \
			"$t/status" && rooted=$((rooted + 1))
	done
	[ "$tasks" -ge 2 ] && [ "$rooted" -eq 0 ] && ok "all $tasks threads run as nobody" ||
		fail "threads: $rooted of $tasks still root"
	# Traffic in the namespace: a refused connection, and a host that
	# answers the Connection Request with RDP_NEG_FAILURE.
	ip netns exec "$ns" python3 - <<'PY' || fail "the namespace's traffic"
import socket, struct, threading
try:
    socket.create_connection(("127.0.0.1", 3389), timeout=2)
    raise SystemExit("connect to the closed port succeeded")
except ConnectionRefusedError:
    pass
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 3390))
srv.listen(1)
def serve():
    c, _ = srv.accept()
    c.recv(4096)
    failure = struct.pack("<BBHI", 3, 0, 8, 5)  # HYBRID_REQUIRED_BY_SERVER
    cc = bytes([14, 0xD0, 0, 0, 0x12, 0x34, 0]) + failure
    c.sendall(struct.pack(">BBH", 3, 0, 4 + len(cc)) + cc)
    c.close()
t = threading.Thread(target=serve)
t.start()
neg = struct.pack("<BBHI", 1, 0, 8, 1)
x224 = bytes([6 + len(neg), 0xE0, 0, 0, 0, 0, 0]) + neg
cl = socket.create_connection(("127.0.0.1", 3390))
cl.sendall(struct.pack(">BBH", 3, 0, 4 + len(x224)) + x224)
cl.recv(4096)
cl.recv(4096)
cl.close()
t.join()
PY
	# Records come as each connection ends: wait for both, then stop.
	for i in $(seq 1 100); do
		[ "$(grep -c '"rdpwhy":{"cause"' "$tmp/z.out" 2>/dev/null)" -ge 2 ] && break
		sleep 0.1
	done
	kill -INT "$zp"
	rc=0
	wait "$zp" || rc=$?
	rw_check_end "rdpwhy capture -Z nobody (SIGINT)" "$rc" 0 "$tmp/z.err" &&
		ok "capture -Z nobody: SIGINT, exit 0" || fail "capture -Z nobody: end"
	python3 - "$tmp/z.out" <<'PY' && ok "capture -Z nobody: both records, right causes" || fail "capture -Z nobody: records"
import sys
from records import load  # tests/lib: dotted names, nested or flat
recs = load(sys.argv[1])
causes = sorted(r["rdpwhy.cause"] for r in recs)
assert causes == ["security_negotiation_failure", "upstream_refused"], causes
PY
	# Records go into segment files, many to a file (sink/spool_seg.h).
	spooled=$(cat "$tmp"/zspool/[0-9]* 2>/dev/null | grep -a -o '"rdpwhy":{"cause"' | wc -l)
	owners=$(find "$tmp/zspool" -maxdepth 1 -type f \( -name '[0-9]*' -o -name removed \) -printf '%u %m\n' | sort -u | tr '\n' ';')
	[ "$spooled" -ge 2 ] && [ "$owners" = "nobody 600;" ] &&
		ok "capture -Z nobody: $spooled records spooled by nobody (mode 600), into the directory given to it" ||
		fail "capture -Z nobody: spool: $spooled files, owners '$owners'"
	[ "$(stat -c '%U %a' "$tmp/zspool")" = "nobody 700" ] && ok "the spool directory: nobody's, 0700" ||
		fail "the spool directory: $(stat -c '%U %a' "$tmp/zspool")"
else
	fail "capture -Z nobody did not get ready"
fi

# The default user: 'rdpwhy' when it exists, else root kept with a note. A
# private mount namespace gives rdpwhy a passwd/group with and without it.
grep -v '^rdpwhy:' /etc/passwd >"$tmp/passwd.without"
grep -v '^rdpwhy:' /etc/group >"$tmp/group.without"
{ cat "$tmp/passwd.without"; echo 'rdpwhy:x:64999:64999::/nonexistent:/usr/sbin/nologin'; } >"$tmp/passwd.with"
{ cat "$tmp/group.without"; echo 'rdpwhy:x:64999:'; } >"$tmp/group.with"
for variant in with without; do
	ip netns exec "$ns" unshare -m sh -c 'mount --bind "$1" /etc/passwd && mount --bind "$2" /etc/group &&
		shift 2 && exec "$@"' sh "$tmp/passwd.$variant" "$tmp/group.$variant" \
		"$bin" capture -i lo -p 3389 --only-ports >"$tmp/d.out" 2>"$tmp/d.err" &
	dp=$!
	pids+=("$dp")
	if rw_wait_ready "$tmp/d.err" "$dp"; then
		uid=$(awk '$1 == "Uid:" { print $3 }' "/proc/$dp/status")
		if [ "$variant" = with ]; then
			has "$tmp/d.err" "rdpwhy capture: dropped root: running as rdpwhy (uid 64999, gid 64999)" &&
				[ "$uid" = 64999 ] && ok "no -Z, a user rdpwhy exists: runs as rdpwhy (uid $uid)" ||
				fail "no -Z, a user rdpwhy exists: uid $uid"
		else
			has "$tmp/d.err" "rdpwhy capture: note: no user 'rdpwhy' to drop root to: capturing as root" &&
				[ "$uid" = 0 ] && ok "no -Z, no user rdpwhy: root kept, with a note" ||
				fail "no -Z, no user rdpwhy: uid $uid"
		fi
		kill -INT "$dp"
		rc=0
		wait "$dp" || rc=$?
		rw_check_end "rdpwhy capture (default user, $variant)" "$rc" 0 "$tmp/d.err" || fail "capture (default user, $variant): end"
	else
		fail "capture (default user, $variant) did not get ready"
	fi
done

echo "# 5. replay as nobody"
mkdir "$tmp/nobody"
chown nobody:"$(id -gn nobody)" "$tmp/nobody"
cp "$pcap" "$tmp/nobody/in.pcap"
chmod 0644 "$tmp/nobody/in.pcap"
rw_run 0 "$tmp/o" "$tmp/e" setpriv --reuid=nobody --regid="$nobody_gid" --clear-groups \
	"$bin" replay "$tmp/nobody/in.pcap" --format json -o "$tmp/nobody/out.json" &&
	[ "$(grep -c '"rdpwhy":{"cause"' "$tmp/nobody/out.json")" -ge 1 ] &&
	[ "$(stat -c %U "$tmp/nobody/out.json")" = nobody ] &&
	ok "replay as nobody: records written, no root needed" || fail "replay as nobody"

if [ "$fails" -ne 0 ]; then
	echo "FAIL least_privilege: $fails failed"
	exit 1
fi
echo "ok: least_privilege"
