#!/bin/bash
# shellcheck disable=SC2015,SC2016 # "A && B || fail" is meant; ${SDATA} is syslog-ng's
# SIEM output against a real syslog-ng on loopback, configured with the shipped
# example conf/siem/syslog-ng.conf (port, paths and, for some steps, the template
# substituted).
#
# usage: siem_syslog_ng.sh RDPWHY_BINARY [CACHE_DIR]
#   exit 1 when syslog-ng, python3 or openssl is missing: a skip is not a pass.
#
# Debian's syslog-ng-core conflicts with rsyslog, which the other SIEM test needs,
# so syslog-ng is not installed: scripts/setup.sh --test fetches its .deb and
# those of the libraries it needs that are not installed and unpacks them into
# CACHE_DIR/current/root (default ${RDPWHY_TEST_CACHE:-/var/cache/rdpwhy-test}/syslog-ng);
# this test only runs it from there (in the foreground, with its own pid,
# control and persist files), and downloads nothing.
#
# 1. The example config passes syslog-ng's syntax check.
# 2. TCP: 200 connections through `rdpwhy proxy --output tcp://`, each with its own
#    cookie; syslog-ng is stopped after the first 75, 50 are made while it is down
#    (they must be spooled, and not arrive), then it is started again and 75 more are
#    made. Every cookie must arrive; every line of the file syslog-ng writes must be
#    exactly one JSON record with rdpwhy.record_id and rdp.cookie; one record id per
#    cookie (duplicates, which at-least-once delivery allows, are the same record).
# 3. The largest record rdpwhy can make (a 64 KB cookie of control bytes, about
#    400 KB of JSON), then an ordinary one: both arrive (a frame over syslog-ng's
#    log-msg-size closes the connection, and rdpwhy would resend it forever).
# 4. Each siem_format (json, rfc5424, cef), with the example's alternative template
#    ${SDATA} ${MESSAGE}: a 10 KB hostile cookie (quotes, backslashes, ], =, |,
#    newline, control bytes, invalid UTF-8) arrives as exactly one well-formed line
#    and decodes back.
# 5. TLS, with the example's commented tls() source uncommented and a test CA.
#
# Every rdpwhy must exit 0 on SIGTERM with no sanitizer report on stderr
# (tests/lib/rdpwhy_run.sh), and is used once its ready line is out.
#
# Environment: SIEM_KEEP=1 keeps the work directory.
set -u

log() { printf '[siem_syslog_ng] %s\n' "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

[ $# -ge 1 ] || { echo "usage: $0 RDPWHY_BINARY [CACHE_DIR]" >&2; exit 2; }
RDPWHY=$(readlink -f "$1")
[ -x "$RDPWHY" ] || fail "$1 is not an executable"
here=$(cd "$(dirname "$0")" && pwd)
EXAMPLE=$here/../conf/siem/syslog-ng.conf
[ -r "$EXAMPLE" ] || fail "$EXAMPLE missing"
export RW_TESTS_LIB=$here/lib # the embedded Python imports siem_formats.py from there
[ -r "$RW_TESTS_LIB/siem_formats.py" ] || fail "$RW_TESTS_LIB/siem_formats.py missing"
# shellcheck source=lib/rdpwhy_run.sh
. "$here/lib/rdpwhy_run.sh"
command -v python3 >/dev/null || fail "python3 missing (scripts/setup.sh --test installs it)"
command -v openssl >/dev/null || fail "openssl missing (scripts/setup.sh --test installs it)"
CACHE=${2:-${RDPWHY_TEST_CACHE:-/var/cache/rdpwhy-test}/syslog-ng}
T0=$(date +%s)

# ---- syslog-ng, as scripts/setup.sh --test unpacked it -------------------------

# use DIR: sets ROOT, NG, MODP, LDP for the tree unpacked in DIR; fails (1) unless
# its syslog-ng runs and finds the libraries of the modules the test uses.
use() {
	ROOT=$1/root
	NG=$ROOT/usr/sbin/syslog-ng
	MODP=
	for d in "$ROOT"/usr/lib/syslog-ng/[0-9]*; do
		[ -d "$d" ] && MODP=$d
	done
	LDP=$ROOT/usr/lib/syslog-ng
	for d in "$ROOT"/usr/lib/*-linux-gnu "$ROOT"/lib/*-linux-gnu; do
		[ -d "$d" ] && LDP=$LDP:$d
	done
	[ -x "$NG" ] && [ -d "$MODP" ] || { UNRESOLVED="no syslog-ng in $ROOT"; return 1; }
	UNRESOLVED=$(LD_LIBRARY_PATH=$LDP ldd "$NG" "$MODP"/libafsocket.so "$MODP"/libaffile.so \
		"$MODP"/libsyslogformat.so 2>&1 | grep -E 'not found|No such file')
	[ -z "$UNRESOLVED" ] && LD_LIBRARY_PATH=$LDP "$NG" -V >/dev/null 2>&1
}

use "$CACHE/current" ||
	fail "no usable syslog-ng in $CACHE/current ($UNRESOLVED): run scripts/setup.sh --test, which fetches and unpacks it there"
NGVER=${MODP##*/} # 3.38: what @version wants
log "syslog-ng $NGVER from $ROOT"

# ---- work directory, processes, cleanup ----------------------------------------

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rw_siem_ng.XXXXXX") || fail "mktemp"
PIDS=""
cleanup() {
	for p in $PIDS; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $PIDS; do
		for _ in $(seq 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ -n "${SIEM_KEEP:-}" ]; then
		log "kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
forget() { # drops a pid from PIDS
	local p out=""
	for p in $PIDS; do [ "$p" = "$1" ] || out="$out $p"; done
	PIDS=$out
}

cat >"$tmp/h.py" <<'PYEOF'
"""Helpers of tests/siem_syslog_ng.sh: the fake RDP host, the clients, the checks."""
import json
import os
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.environ["RW_TESTS_LIB"])
import siem_formats as F  # noqa: E402
from records import loads  # noqa: E402  (a record by dotted names, nested or flat)

F.PROG = "siem_syslog_ng"
fail = F.fail
CC = bytes.fromhex("030000130ed000001234000201080001000000")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cr(cookie):
    """X.224 Connection Request with a cookie (bytes) and an RDP_NEG_REQ."""
    body = b"Cookie: mstshash=" + cookie + b"\r\n" + bytes.fromhex("0100080003000000")
    x224 = bytes([6, 0xE0, 0, 0, 0, 0, 0]) + body
    return bytes([3, 0]) + (4 + len(x224)).to_bytes(2, "big") + x224


def host(port_file):
    """Reads a whole TPKT, answers the Connection Confirm, closes."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(512)
    with open(port_file + ".new", "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.rename(port_file + ".new", port_file)

    def serve(c):
        try:
            c.settimeout(10)
            buf = b""
            while len(buf) < 4 or len(buf) < int.from_bytes(buf[2:4], "big"):
                b = c.recv(65536)
                if not b:
                    return
                buf += b
            c.sendall(CC)
        except OSError:
            pass
        finally:
            c.close()

    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def connect_once(port, cookie):
    for attempt in range(20):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(cr(cookie))
                while s.recv(4096):
                    pass
            return
        except OSError:
            time.sleep(0.05 * (attempt + 1))
    fail(f"connection with cookie {cookie[:40]!r} failed")


def drive(port, prefix, count):
    with ThreadPoolExecutor(8) as pool:
        for f in [pool.submit(connect_once, int(port), f"{prefix}{i}".encode())
                  for i in range(int(count))]:
            f.result()


def wait_port(port, timeout):
    deadline = time.time() + float(timeout)
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", int(port)), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(1)


def spooled(spool, prefix, want, timeout):
    """Waits until at least WANT spooled records have a cookie starting with PREFIX."""
    needle = b'"rdp":{"cookie":"' + prefix.encode()  # nested JSON: the rdp object's first key
    deadline = time.time() + float(timeout)
    while True:
        n = 0
        for root, _, files in os.walk(spool):
            for f in files:
                try:
                    with open(os.path.join(root, f), "rb") as fh:
                        # a spool segment holds many records
                        n += fh.read().count(needle)
                except OSError:
                    pass
        if n >= int(want) or time.time() > deadline:
            print(n)
            return
        time.sleep(0.1)


def read_lines(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    if data and not data.endswith(b"\n"):
        data = data[:data.rfind(b"\n") + 1]  # a line still being written
    return data.split(b"\n")[:-1]


def check(path, timeout, *groups):
    """GROUPS are PREFIX:COUNT: cookies PREFIX0..PREFIX{COUNT-1} must all arrive.
    Every line must be one JSON object with rdpwhy.record_id and rdp.cookie."""
    want = set()
    for g in groups:
        prefix, count = g.rsplit(":", 1)
        want |= {f"{prefix}{i}" for i in range(int(count))}
    deadline = time.time() + float(timeout)
    while True:
        lines = read_lines(path)
        by_id, ids_of = {}, {}
        for ln in lines:
            rec = F.json_record(ln, path)
            rid, ck = rec.get("rdpwhy.record_id"), rec.get("rdp.cookie")
            if not F.is_record_id(rid):
                fail(f"{path}: no valid rdpwhy.record_id: {ln[:300]!r}")
            if not isinstance(ck, str):
                fail(f"{path}: no rdp.cookie: {ln[:300]!r}")
            if by_id.setdefault(rid, ck) != ck:
                fail(f"record id {rid} used for cookies {by_id[rid]!r} and {ck!r}")
            ids_of.setdefault(ck, set()).add(rid)
        extra = set(ids_of) - want
        if extra:
            fail(f"unexpected cookies {sorted(extra)[:5]}")
        two = [c for c, ids in ids_of.items() if len(ids) > 1]
        if two:
            fail(f"cookie {two[0]} arrived as {len(ids_of[two[0]])} different records")
        missing = want - set(ids_of)
        if not missing:
            print(f"{len(lines)} lines, {len(by_id)} records, "
                  f"{len(lines) - len(by_id)} duplicates")
            return
        if time.time() > deadline:
            size = os.path.getsize(path) if os.path.exists(path) else None
            fail(f"{len(missing)} of {len(want)} records never arrived, e.g. "
                 f"{sorted(missing)[:5]} ({path}: {len(lines)} lines, {size} bytes)")
        time.sleep(0.2)


# ---- one hostile record per siem_format --------------------------------------

def hostile(port, marker):
    try:
        connect_once(int(port), F.hostile_cookie(marker))
    except ConnectionResetError:
        pass


def largest(port, path, timeout):
    """The largest cookie a Connection Request can carry, all control bytes (the
    largest record rdpwhy can make), then an ordinary record: both must arrive."""
    raw = b"\x01" * (65535 - 4 - 7 - len(b"Cookie: mstshash=") - 2 - 8)
    connect_once(int(port), raw)
    connect_once(int(port), b"after0")
    deadline = time.time() + float(timeout)
    while True:
        cookies = []
        for ln in read_lines(path):
            try:
                cookies.append(loads(ln.decode("utf-8"))["rdp.cookie"])
            except (ValueError, KeyError):
                fail(f"not a JSON record with a cookie: {ln[:200]!r}")
        if "after0" in cookies or time.time() > deadline:
            break
        time.sleep(0.2)
    if "after0" not in cookies:
        fail("the record after the largest one never arrived "
             f"({len(cookies)} records arrived)")
    if F.as_text(raw, "json") not in cookies:
        fail("the largest record did not arrive whole")
    return print(f"{os.path.getsize(path)} bytes")


def refused(port, path, timeout):
    """The same largest record to a receiver whose limit is smaller (it drops the
    connection on it): the records behind it must still arrive, the large one
    not."""
    raw = b"\x01" * (65535 - 4 - 7 - len(b"Cookie: mstshash=") - 2 - 8)
    connect_once(int(port), raw)
    for i in range(5):
        connect_once(int(port), b"behind%d" % i)
    want = {"behind%d" % i for i in range(5)}
    deadline = time.time() + float(timeout)
    while True:
        cookies = set()
        for ln in read_lines(path):
            try:
                cookies.add(loads(ln.decode("utf-8"))["rdp.cookie"])
            except (ValueError, KeyError):
                fail(f"not a JSON record with a cookie: {ln[:200]!r}")
        if want <= cookies or time.time() > deadline:
            break
        time.sleep(0.2)
    if not want <= cookies:
        fail(f"records behind a refused record never arrived: {sorted(want - cookies)}")
    if F.as_text(raw, "json") in cookies:
        fail("the receiver took the record it should refuse: the test proves nothing")
    return print(f"{len(cookies)} records")


def format_check(path, fmt, marker, timeout):
    """Waits for the hostile record; every line of PATH must be that record,
    well-formed, whole, with the cookie decoding back."""
    raw = F.hostile_cookie(marker)
    want = F.as_text(raw, fmt)
    deadline = time.time() + float(timeout)
    while True:
        lines = read_lines(path)
        if lines or time.time() > deadline:
            break
        time.sleep(0.2)
    if not lines:
        fail(f"{fmt}: nothing arrived")
    time.sleep(1)  # a second line (a split record) would be written by now
    lines = read_lines(path)
    ids = set()
    for ln in lines:
        try:
            line = ln.decode("utf-8")  # strict: must be valid UTF-8
        except UnicodeDecodeError:
            fail(f"{fmt}: not UTF-8: {ln[:200]!r}")
        if len(line) < 10 * 1024:
            fail(f"{fmt}: a short line (a record cut or split?): {line[:300]!r}")
        sdtext, msg = F.split_sdata(line)
        sd = F.sd_elements(sdtext).get("rdpwhy@32473")
        if not sd or not F.is_record_id(sd.get("id")):
            fail(f"{fmt}: no rdpwhy@32473 id in the structured data: {sdtext[:200]!r}")
        rid = sd["id"]
        if fmt == "json":
            rec = F.json_record(msg)
            cookie = rec.get("rdp.cookie")
            if rec.get("rdpwhy.record_id") != rid:
                fail("json: rdpwhy.record_id is not the SD id")
        elif fmt == "rfc5424":
            cookie = sd.get("cookie")
            if not sd.get("cause") or not msg:
                fail(f"rfc5424: no cause or no summary: {msg[:200]!r}")
        else:
            _, pairs = F.cef_parse(msg)
            cookie = pairs.get("cs1")
            if pairs.get("cs1Label") != "rdpCookie" or pairs.get("externalId") != rid:
                fail("cef: cs1Label or externalId wrong")
        if cookie != want:
            fail(f"{fmt}: cookie decodes to {str(cookie)[:80]!r}, want {want[:80]!r}")
        ids.add(rid)
    if len(ids) != 1:
        fail(f"{fmt}: {len(ids)} different records, want 1")
    print(f"{len(lines)} line(s), {len(lines[0])} bytes")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"freeport": lambda: print(free_port()), "host": host, "drive": drive,
     "wait-port": wait_port, "spooled": spooled, "check": check, "hostile": hostile,
     "format-check": format_check, "largest": largest, "refused": refused}[cmd](*args)
PYEOF
H() { python3 "$tmp/h.py" "$@"; }

# syslog-ng with a config, in the foreground, its state files in directory $1.
# ng_start DIR CONF PORT
ng_start() {
	LD_LIBRARY_PATH=$LDP "$NG" -F -e --no-caps --module-path="$MODP" -f "$2" \
		-p "$1/syslog-ng.pid" -c "$1/syslog-ng.ctl" -R "$1/syslog-ng.persist" \
		>>"$1/syslog-ng.log" 2>&1 &
	NGPID=$!
	PIDS="$PIDS $NGPID"
	H wait-port "$3" 20 || { cat "$1/syslog-ng.log" >&2; fail "syslog-ng did not listen on $3"; }
	kill -0 "$NGPID" 2>/dev/null || { cat "$1/syslog-ng.log" >&2; fail "syslog-ng exited"; }
}
ng_stop() {
	kill -TERM "$NGPID"
	wait "$NGPID"
	local rc=$?
	forget "$NGPID"
	[ "$rc" -eq 0 ] || { tail -20 "$1/syslog-ng.log" >&2; fail "syslog-ng exited with $rc"; }
}
# The example with PORT, the output FILE and, optionally, the template replaced.
# ng_conf PORT FILE [TEMPLATE]
ng_conf() {
	printf '@version: %s\n' "$NGVER"
	sed -e "s|port(6514)|ip(\"127.0.0.1\") port($1)|" \
		-e "s|\"/var/log/rdpwhy/records.json\"|\"$2\"|" \
		${3:+-e "s|template(\"\${MESSAGE}\\\\n\")|template(\"$3\")|"} "$EXAMPLE"
}
# rdpwhy_start DIR UPSTREAM_PORT OUTPUT [ARGS...]; sets RWPID, RWPORT
rdpwhy_start() {
	local dir=$1 up=$2 out=$3
	shift 3
	RWPORT=$(H freeport)
	# rdpwhy.err is appended to: only this run's ready line counts.
	local n
	n=$(grep -c 'ready: listening on' "$dir/rdpwhy.err" 2>/dev/null) || n=0
	"$RDPWHY" proxy --listen "127.0.0.1:$RWPORT" --upstream "127.0.0.1:$up" --output "$out" \
		--set "siem_spool_dir=$dir/spool" --format json "$@" >"$dir/rdpwhy.out" 2>>"$dir/rdpwhy.err" &
	RWPID=$!
	PIDS="$PIDS $RWPID"
	# Its ready line rather than a probe connection, which would make a record.
	for _ in $(seq 600); do
		[ "$(grep -c 'ready: listening on' "$dir/rdpwhy.err")" -gt "$n" ] && return
		kill -0 "$RWPID" 2>/dev/null || { cat "$dir/rdpwhy.err" >&2; fail "rdpwhy exited"; }
		sleep 0.05
	done
	fail "rdpwhy printed no ready line in 30 s"
}
rdpwhy_stop() {
	kill -TERM "$RWPID" || fail "rdpwhy had exited before SIGTERM"
	local rc=0
	wait "$RWPID" || rc=$?
	forget "$RWPID"
	rw_check_end "rdpwhy proxy (SIGTERM)" "$rc" 0 "$1/rdpwhy.err" || {
		grep -E -A20 'Sanitizer|runtime error:' "$1/rdpwhy.err" | head -40 >&2
		fail "rdpwhy did not exit 0 with a clean stderr"
	}
}

# The fake RDP host, shared by every step.
python3 "$tmp/h.py" host "$tmp/host.port" & # not through H: $! must be python's pid
PIDS="$PIDS $!"
for _ in $(seq 100); do [ -s "$tmp/host.port" ] && break; sleep 0.05; done
HOSTPORT=$(cat "$tmp/host.port" 2>/dev/null) || fail "the fake RDP host did not start"

# ---- 1. syntax -----------------------------------------------------------------

mkdir -p "$tmp/syntax"
ng_conf 6514 "$tmp/syntax/out/records.json" >"$tmp/syntax/syslog-ng.conf"
LD_LIBRARY_PATH=$LDP "$NG" -s --module-path="$MODP" -f "$tmp/syntax/syslog-ng.conf" \
	>"$tmp/syntax/log" 2>&1 || { cat "$tmp/syntax/log" >&2; fail "the example config does not parse"; }
log "example config: syntax ok"

# ---- 2. TCP, with a restart of syslog-ng -----------------------------------------

W=$tmp/tcp
mkdir -p "$W"
NGPORT=$(H freeport)
OUT=$W/out/records.json # out/ does not exist: the config must create it
ng_conf "$NGPORT" "$OUT" >"$W/syslog-ng.conf"
grep -q "port($NGPORT)" "$W/syslog-ng.conf" && grep -q "\"$OUT\"" "$W/syslog-ng.conf" ||
	fail "could not substitute the port and path in the example"
ng_start "$W" "$W/syslog-ng.conf" "$NGPORT"
rdpwhy_start "$W" "$HOSTPORT" "tcp://127.0.0.1:$NGPORT"
H drive "$RWPORT" a 75 || exit 1
r=$(H check "$OUT" 30 a:75) || exit 1
log "TCP: 75 records before the restart: $r"
ng_stop "$W"
log "syslog-ng stopped"
H drive "$RWPORT" b 50 || exit 1
n=$(H spooled "$W/spool" b 50 10)
[ "$n" -ge 50 ] || fail "only $n of 50 records spooled while syslog-ng was down"
if grep -q '"rdp":{"cookie":"b' "$OUT"; then
	fail "records arrived while syslog-ng was stopped"
fi
log "TCP: 50 records made and spooled while syslog-ng was down"
ng_start "$W" "$W/syslog-ng.conf" "$NGPORT"
log "syslog-ng started again"
H drive "$RWPORT" c 75 || exit 1
r=$(H check "$OUT" 30 a:75 b:50 c:75) || exit 1
log "TCP: all 200 records arrived: $r"
rdpwhy_stop "$W"
ng_stop "$W"

# ---- 3. the largest record -----------------------------------------------------

W=$tmp/largest
mkdir -p "$W"
NGPORT=$(H freeport)
OUT=$W/records.json
ng_conf "$NGPORT" "$OUT" >"$W/syslog-ng.conf"
ng_start "$W" "$W/syslog-ng.conf" "$NGPORT"
rdpwhy_start "$W" "$HOSTPORT" "tcp://127.0.0.1:$NGPORT"
r=$(H largest "$RWPORT" "$OUT" 20) || exit 1
log "a 64 KB cookie of control bytes, and a record after it: both arrived ($r)"
rdpwhy_stop "$W"
ng_stop "$W"

# ---- 3b. a record the receiver refuses -----------------------------------------
# syslog-ng's default log-msg-size (64 KiB): it drops the connection on the large
# record. rdpwhy must set it aside (spool/.../rejected/) after a few tries, log it,
# and deliver the records behind it.

W=$tmp/refused
mkdir -p "$W"
NGPORT=$(H freeport)
OUT=$W/records.json
ng_conf "$NGPORT" "$OUT" | sed 's/log-msg-size(1048576)/log-msg-size(65536)/' >"$W/syslog-ng.conf"
grep -q 'log-msg-size(65536)' "$W/syslog-ng.conf" || fail "could not lower log-msg-size"
ng_start "$W" "$W/syslog-ng.conf" "$NGPORT"
rdpwhy_start "$W" "$HOSTPORT" "tcp://127.0.0.1:$NGPORT"
r=$(H refused "$RWPORT" "$OUT" 60) || exit 1
grep -q "not sent again" "$W/rdpwhy.err" || fail "no log line about the refused record"
n=$(find "$W/spool" -path '*/rejected/*' -type f | wc -l)
[ "$n" -eq 1 ] || fail "$n records in rejected/, want 1"
rdpwhy_stop "$W"
grep -q "rejected 1," "$W/rdpwhy.err" || fail "the counters do not show the rejected record"
log "a record the receiver refuses: set aside in rejected/ and logged; the records behind it arrived ($r)"
ng_stop "$W"

# ---- 4. every siem_format, a hostile cookie ------------------------------------

for fmt in json rfc5424 cef; do
	W=$tmp/fmt-$fmt
	mkdir -p "$W"
	NGPORT=$(H freeport)
	OUT=$W/records.log
	ng_conf "$NGPORT" "$OUT" '${SDATA} ${MESSAGE}\\n' >"$W/syslog-ng.conf"
	grep -q 'template("${SDATA} ${MESSAGE}\\n")' "$W/syslog-ng.conf" ||
		fail "could not substitute the template in the example"
	ng_start "$W" "$W/syslog-ng.conf" "$NGPORT"
	rdpwhy_start "$W" "$HOSTPORT" "tcp://127.0.0.1:$NGPORT" --set "siem_format=$fmt"
	H hostile "$RWPORT" "f$fmt-" || exit 1
	r=$(H format-check "$OUT" "$fmt" "f$fmt-" 20) || exit 1
	log "siem_format=$fmt: hostile 10 KB cookie as one well-formed line ($r)"
	rdpwhy_stop "$W"
	ng_stop "$W"
done

# ---- 5. TLS: the example's tls() source --------------------------------------------

{
	W=$tmp/tls
	mkdir -p "$W/pki"
	(
		cd "$W/pki" || exit 1
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=rdpwhy test ca" \
			-keyout ca.key -out ca.pem &&
			openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
				-keyout server.key -out server.csr &&
			printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >ext.cnf &&
			openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
				-days 2 -extfile ext.cnf -out server.pem
	) >"$W/pki/log" 2>&1 || { cat "$W/pki/log" >&2; fail "openssl"; }
	NGPORT=$(H freeport)
	OUT=$W/records.json
	# The tcp source line out, the commented tls() source in, the test's key and certificate.
	ng_conf "$NGPORT" "$OUT" | sed \
		-e '/^ *syslog(transport("tcp")/d' \
		-e '/# For tls:\/\/ instead/d' \
		-e '/^ *# syslog(transport("tls")/,/;$/ s/^\( *\)# /\1/' \
		-e "s|/etc/syslog-ng/server.key|$W/pki/server.key|" \
		-e "s|/etc/syslog-ng/server.pem|$W/pki/server.pem|" >"$W/syslog-ng.conf"
	grep -q '^ *syslog(transport("tls") ip("127.0.0.1")' "$W/syslog-ng.conf" &&
		grep -q "key-file(\"$W/pki/server.key\")" "$W/syslog-ng.conf" &&
		! grep -q 'transport("tcp")' "$W/syslog-ng.conf" ||
		{ cat "$W/syslog-ng.conf" >&2; fail "could not uncomment the tls() source of the example"; }
	ng_start "$W" "$W/syslog-ng.conf" "$NGPORT"
	rdpwhy_start "$W" "$HOSTPORT" "tls://127.0.0.1:$NGPORT" --set "siem_ca_file=$W/pki/ca.pem"
	H drive "$RWPORT" t 50 || exit 1
	r=$(H check "$OUT" 30 t:50) || exit 1
	log "TLS: all 50 records arrived: $r"
	rdpwhy_stop "$W"
	ng_stop "$W"
}

log "PASS in $(($(date +%s) - T0)) s"
